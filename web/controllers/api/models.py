"""Request and response shapes of the public API (camelCase in, snake_case out), as msgspec
Structs so the OpenAPI document at /schema describes exactly what the handlers accept and send."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

Name = Annotated[str, Meta(max_length=200)]
Phone = Annotated[str, Meta(max_length=64)]
Email = Annotated[str, Meta(max_length=254)]
TimeZone = Annotated[str, Meta(max_length=64)]
Notes = Annotated[str, Meta(max_length=5000)]
Reason = Annotated[str, Meta(max_length=500)]
AgentId = Annotated[str, Meta(max_length=18, pattern=r"^[0-9]+$", description="User id of an agent")]
Duration = Annotated[int, Meta(ge=5, le=480)]
Buffer = Annotated[int, Meta(ge=0, le=240)]
AssignmentMethod = Literal["manual", "self_selected", "round_robin", "pool"]
ReminderKind = Literal[
    "custom", "reminder_custom", "invitation", "reminder_24h", "reminder_1h", "reminder_15m", "cancellation"
]
Channel = Literal["whatsapp", "genesys"]


class _Request(Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    pass


# --- requests -----------------------------------------------------------------------------------------


class TokenRequest(Struct, forbid_unknown_fields=False, kw_only=True):
    grant_type: Annotated[str, Meta(max_length=100)]
    client_id: Annotated[str, Meta(max_length=200)]
    client_secret: Annotated[str, Meta(max_length=500)]


class CreateCallRequest(_Request):
    guest_name: Name
    scheduled_at_utc: Annotated[datetime, Meta(description="ISO-8601 start time with Z or an offset")]
    app_timezone: TimeZone
    guest_phone: Phone | None = None
    guest_email: Email | None = None
    guest_timezone: TimeZone | None = None
    guest_intake_notes: Notes | None = None
    assigned_agent_id: AgentId | None = None
    assignment_method: AssignmentMethod = "manual"
    duration_minutes: Duration | None = None
    buffer_before_minutes: Buffer | None = None
    buffer_after_minutes: Buffer | None = None
    require_confirmation: bool | None = None


class UpdateCallRequest(_Request):
    """At least one field other than `reason`."""

    scheduled_at_utc: datetime | UnsetType = UNSET
    assigned_agent_id: AgentId | UnsetType = UNSET
    guest_name: Name | UnsetType = UNSET
    guest_phone: Phone | UnsetType | None = UNSET
    guest_email: Email | UnsetType | None = UNSET
    guest_timezone: TimeZone | UnsetType | None = UNSET
    guest_intake_notes: Notes | UnsetType | None = UNSET
    reason: Reason | None = None


class CancelCallRequest(_Request):
    reason: Reason | None = None


class ReminderRequest(_Request):
    kind: ReminderKind = "reminder_custom"
    channel: Channel = "whatsapp"
    recipient: Annotated[str, Meta(min_length=1, max_length=254)] | None = None


# --- responses ----------------------------------------------------------------------------------------


class ResponseMeta(Struct):
    timestamp: str


class Call(Struct):
    id: str
    app_id: str
    assigned_agent_id: str | None
    booking_source: str
    assignment_method: str
    guest_name: str
    guest_phone: str | None
    guest_email: str | None
    guest_timezone: str | None
    guest_intake_notes: str
    scheduled_at: str
    duration_minutes: int
    buffer_before_minutes: int
    buffer_after_minutes: int
    app_timezone: str
    status: str
    created_at: str
    updated_at: str
    cancelled_at: str | None
    cancellation_reason: str | None
    host_join_url: str
    guest_join_url: str


class CallEvent(Struct):
    id: str
    event_type: str
    actor_type: str
    actor_id: str | None
    payload: dict[str, Any]
    created_at: str


class CallData(Struct):
    call: Call


class CallResponse(Struct):
    data: CallData
    meta: ResponseMeta


class CallDetailData(Struct):
    call: Call
    events: list[CallEvent]


class CallDetailResponse(Struct):
    data: CallDetailData
    meta: ResponseMeta


class CallListData(Struct):
    calls: list[Call]


class Pagination(Struct, rename="camel"):
    total: int
    limit: int
    offset: int
    has_more: bool


class CallListResponse(Struct):
    data: CallListData
    meta: ResponseMeta
    pagination: Pagination


class Reminder(Struct):
    id: str
    fire_at: str
    reminder_kind: str
    channel: str
    recipient: str | None
    status: str


class ReminderData(Struct):
    reminder: Reminder


class ReminderResponse(Struct):
    data: ReminderData
    meta: ResponseMeta


class AvailableSlot(Struct, rename="camel"):
    start_utc: str
    end_utc: str
    agent_id: str


class AvailabilityData(Struct):
    slots: list[AvailableSlot]


class AvailabilityResponse(Struct):
    data: AvailabilityData
    meta: ResponseMeta


class Token(Struct):
    access_token: str
    token_type: str
    expires_in: int
    scope: str


class TokenResponse(Struct):
    data: Token
    meta: ResponseMeta


class ErrorDetail(Struct):
    field: str
    message: str
    code: str


class ErrorBody(Struct):
    type: str
    message: str
    timestamp: str
    details: list[ErrorDetail]


class ErrorResponse(Struct):
    error: ErrorBody

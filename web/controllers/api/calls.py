"""`/api/v1/video/{appId}/scheduled-calls`: create, list, read, change, cancel, remind.

Thin handlers: parse the request, call the booking lifecycle, shape the answer."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from litestar import Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter
from msgspec import UNSET
from piccolo.query import WhereRaw

from web import clock
from web.controllers.api import models, shapes
from web.controllers.api.access import READ, WRITE, error_responses
from web.db.engine import is_sqlite
from web.db.ids import row_id
from web.db.tables import Booking, BookingStatus
from web.errors import ApiError
from web.scheduling import bookings, directory, reminders
from web.scheduling.api_clients import ApiCaller
from web.scheduling.hooks import Actor

STATUSES = tuple(s.value for s in BookingStatus)
SOURCES = bookings.SOURCES
CallId = Annotated[str, PathParameter(max_length=64)]


def _actor(caller: ApiCaller) -> Actor:
    return Actor("api", caller.client_id)


def _public_url(request: Request) -> str:
    return request.app.state.settings.public_url


YEARS = (1970, 9000)
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _aware(value: datetime, field: str, raw: object) -> datetime:
    """`value` as parsed, checked against `raw`, the text the client sent: the lax parsing of query
    strings and bodies would also read a bare number as Unix seconds, which the API does not take."""
    if not (isinstance(raw, str) and _ISO_TIME.match(raw)):
        raise shapes.invalid(field, "Give an ISO 8601 time, e.g. 2030-05-04T14:00:00Z.", "invalid_type")
    if value.tzinfo is None or value.utcoffset() is None:
        raise shapes.invalid(field, "Give the time with Z or an offset, e.g. 2030-05-04T14:00:00Z.")
    # Calendar arithmetic (local days, durations, buffers) must stay inside what datetime can hold.
    if not YEARS[0] <= value.year <= YEARS[1]:
        raise shapes.invalid(
            field, f"Give a time between the years {YEARS[0]} and {YEARS[1]}.", "out_of_range"
        )
    return value


async def _agent_of_app(caller: ApiCaller, agent_id: str, field: str = "assignedAgentId") -> int:
    user_id = int(agent_id)
    if not await directory.is_agent_of(caller.app_id, user_id):
        raise shapes.invalid(field, "No agent of this app has that id.", "unknown_agent")
    return user_id


async def _own_booking(caller: ApiCaller, call_id: str) -> Booking:
    booking = await bookings.get(call_id)
    if booking is None or booking.app != caller.app_id:
        raise ApiError(404, "No such scheduled call.", error_type="not_found")
    return booking


@post(
    "/scheduled-calls",
    opt={"scope": WRITE},
    status_code=201,
    summary="Create a scheduled call",
    responses=error_responses(400, 401, 403, 404, 409, 429),
)
async def create_call(
    request: Request, caller: NamedDependency[ApiCaller], data: JSONBody[models.CreateCallRequest]
) -> models.CallResponse:
    now = clock.now()
    body = await request.json()
    start = _aware(data.scheduled_at_utc, "scheduledAtUtc", body.get("scheduledAtUtc"))
    agent_id = None
    if data.assigned_agent_id is not None and data.assignment_method != "pool":
        agent_id = await _agent_of_app(caller, data.assigned_agent_id)
    new = bookings.NewBooking(
        guest_name=data.guest_name,
        scheduled_at=start,
        app_timezone=data.app_timezone,
        guest_phone=data.guest_phone,
        guest_email=data.guest_email,
        guest_timezone=data.guest_timezone,
        intake_notes=data.guest_intake_notes or "",
        duration_minutes=data.duration_minutes,
        buffer_before_minutes=data.buffer_before_minutes,
        buffer_after_minutes=data.buffer_after_minutes,
        assigned_agent_id=agent_id,
        assignment_method=data.assignment_method,
        require_confirmation=data.require_confirmation,
        source="api",
        agent_checked=agent_id is not None,  # just above, with the API's own error
    )
    try:
        booking = await bookings.create(caller.app_id, new, _actor(caller), now=now)
    except bookings.BookingError as exc:
        raise shapes.booking_error(exc, now) from None
    return shapes.call_response(booking, caller.app_public_id, _public_url(request))


def _choices(raw: str | None, allowed: tuple[str, ...], field: str) -> list[str] | None:
    if raw is None:
        return None
    values = [part.strip() for part in raw.split(",") if part.strip()]
    unknown = [v for v in values if v not in allowed]
    if unknown or not values:
        raise shapes.invalid(field, f"Use a comma-separated list of: {', '.join(allowed)}.", "invalid_choice")
    return values


def _search_clause(text: str) -> WhereRaw:
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    like = "LIKE" if is_sqlite() else "ILIKE"  # SQLite's LIKE already ignores ASCII case
    sql = " OR ".join(
        f"{column} {like} {{}} ESCAPE '\\'" for column in ("guest_name", "guest_email", "guest_phone")
    )
    return WhereRaw(f"({sql})", pattern, pattern, pattern)


@get(
    "/scheduled-calls",
    opt={"scope": READ},
    summary="List scheduled calls",
    responses=error_responses(400, 401, 403, 404, 429),
)
async def list_calls(
    request: Request,
    caller: NamedDependency[ApiCaller],
    agent_id: Annotated[
        str | None, QueryParameter(name="agentId", max_length=18, pattern=r"^[0-9]+$")
    ] = None,
    status: Annotated[str | None, QueryParameter(name="status", max_length=300)] = None,
    booking_source: Annotated[str | None, QueryParameter(name="bookingSource", max_length=300)] = None,
    date_from: Annotated[datetime | None, QueryParameter(name="dateFrom")] = None,
    date_to: Annotated[datetime | None, QueryParameter(name="dateTo")] = None,
    search: Annotated[str | None, QueryParameter(name="search", max_length=200)] = None,
    limit: Annotated[int, QueryParameter(name="limit", ge=1, le=200)] = 50,
    offset: Annotated[int, QueryParameter(name="offset", ge=0, le=1_000_000_000)] = 0,
) -> models.CallListResponse:
    where = Booking.app == caller.app_id
    if agent_id is not None:
        where &= Booking.assigned_agent == (row_id(agent_id) or 0)  # 0: no agent, so no calls
    if (statuses := _choices(status, STATUSES, "status")) is not None:
        where &= Booking.status.is_in(statuses)
    if (sources := _choices(booking_source, SOURCES, "bookingSource")) is not None:
        where &= Booking.booking_source.is_in(sources)
    if date_from is not None:
        where &= Booking.scheduled_at >= _aware(date_from, "dateFrom", request.query_params.get("dateFrom"))
    if date_to is not None:
        where &= Booking.scheduled_at < _aware(date_to, "dateTo", request.query_params.get("dateTo"))
    if search and search.strip():
        where &= _search_clause(search.strip())
    total = await Booking.count().where(where)
    rows = (
        await Booking.objects()
        .where(where)
        .order_by(Booking.scheduled_at)
        .order_by(Booking.id)
        .limit(limit)
        .offset(offset)
    )
    public_url = _public_url(request)
    return models.CallListResponse(
        data=models.CallListData(calls=[shapes.call(b, caller.app_public_id, public_url) for b in rows]),
        meta=shapes.meta(),
        pagination=models.Pagination(
            total=total, limit=limit, offset=offset, has_more=offset + len(rows) < total
        ),
    )


@get(
    "/scheduled-calls/{callId:str}",
    opt={"scope": READ},
    summary="Get a scheduled call with its timeline",
    responses=error_responses(400, 401, 403, 404, 429),
)
async def get_call(
    request: Request, caller: NamedDependency[ApiCaller], callId: CallId
) -> models.CallDetailResponse:
    booking = await _own_booking(caller, callId)
    events = await bookings.timeline(booking.id)
    return models.CallDetailResponse(
        data=models.CallDetailData(
            call=shapes.call(booking, caller.app_public_id, _public_url(request)),
            events=[shapes.event(e) for e in events],
        ),
        meta=shapes.meta(),
    )


def _guest_changes(data: models.UpdateCallRequest) -> dict:
    fields = {
        "guest_name": data.guest_name,
        "guest_phone": data.guest_phone,
        "guest_email": data.guest_email,
        "guest_timezone": data.guest_timezone,
        "intake_notes": data.guest_intake_notes,
    }
    changes = {name: value for name, value in fields.items() if value is not UNSET}
    if "intake_notes" in changes and changes["intake_notes"] is None:
        changes["intake_notes"] = ""
    return changes


@patch(
    "/scheduled-calls/{callId:str}",
    opt={"scope": WRITE},
    summary="Reschedule, reassign or edit the guest of a scheduled call",
    responses=error_responses(400, 401, 403, 404, 409, 429),
)
async def update_call(
    request: Request,
    caller: NamedDependency[ApiCaller],
    callId: CallId,
    data: JSONBody[models.UpdateCallRequest],
) -> models.CallResponse:
    now = clock.now()
    guest = _guest_changes(data)
    if data.scheduled_at_utc is UNSET and data.assigned_agent_id is UNSET and not guest:
        raise shapes.invalid("", "Give at least one field to change besides the reason.", "required")
    booking = await _own_booking(caller, callId)
    # Check everything that can be checked up front, so a bad field changes nothing.
    new_start = None
    if data.scheduled_at_utc is not UNSET:
        raw = (await request.json()).get("scheduledAtUtc")
        new_start = _aware(data.scheduled_at_utc, "scheduledAtUtc", raw)
    if new_start is not None and new_start <= now:
        raise shapes.invalid("scheduledAtUtc", "The start time must be in the future.")
    agent_id = None
    if data.assigned_agent_id is not UNSET:
        agent_id = await _agent_of_app(caller, data.assigned_agent_id)
    errors: dict[str, str] = {}
    bookings._clean_guest(guest, errors)
    if errors:
        raise shapes.booking_error(bookings.InvalidBooking("Please correct the fields.", errors), now)
    actor, reason = _actor(caller), data.reason
    try:
        if agent_id is not None:
            booking = await bookings.reassign(booking.id, agent_id, actor, now=now, reason=reason)
        if new_start is not None:
            booking = await bookings.reschedule(booking.id, new_start, actor, now=now, reason=reason)
        if guest:
            booking = await bookings.update_guest(booking.id, guest, actor, now=now, reason=reason)
    except bookings.BookingError as exc:
        raise shapes.booking_error(exc, now) from None
    return shapes.call_response(booking, caller.app_public_id, _public_url(request))


@delete(
    "/scheduled-calls/{callId:str}",
    opt={"scope": WRITE},
    status_code=200,
    summary="Cancel a scheduled call (idempotent; the row is kept)",
    responses=error_responses(400, 401, 403, 404, 409, 429),
)
async def cancel_call(
    request: Request,
    caller: NamedDependency[ApiCaller],
    callId: CallId,
    reason: Annotated[str | None, QueryParameter(name="reason", max_length=500)] = None,
    data: JSONBody[models.CancelCallRequest | None] = None,
) -> models.CallResponse:
    now = clock.now()
    booking = await _own_booking(caller, callId)
    why = (data.reason if data is not None and data.reason is not None else reason) or None
    try:
        booking = await bookings.cancel(booking.id, _actor(caller), now=now, reason=why)
    except bookings.BookingError as exc:
        raise shapes.booking_error(exc, now) from None
    return shapes.call_response(booking, caller.app_public_id, _public_url(request))


@post(
    "/scheduled-calls/{callId:str}/reminders",
    opt={"scope": WRITE},
    status_code=202,
    summary="Send a reminder now (queued as pending for the next reminder run)",
    responses=error_responses(400, 401, 403, 404, 409, 429),
)
async def remind_call(
    caller: NamedDependency[ApiCaller],
    callId: CallId,
    data: JSONBody[models.ReminderRequest | None] = None,
) -> models.ReminderResponse:
    now = clock.now()
    data = data or models.ReminderRequest()
    booking = await _own_booking(caller, callId)
    kind = "custom" if data.kind in ("custom", "reminder_custom") else data.kind
    recipient = data.recipient or booking.guest_phone or booking.guest_email
    try:
        row = await reminders.create_custom_reminder(
            booking.id, kind=kind, channel=data.channel, recipient=recipient, actor=_actor(caller), now=now
        )
    except bookings.BookingError as exc:
        raise shapes.booking_error(exc, now) from None
    return models.ReminderResponse(
        data=models.ReminderData(
            reminder=models.Reminder(
                id=str(row.id),
                fire_at=shapes.to_iso_z(row.fire_at),
                reminder_kind=row.kind,
                channel=row.channel,
                recipient=row.recipient,
                status=str(row.status),
            )
        ),
        meta=shapes.meta(),
    )


ROUTES = [create_call, list_calls, get_call, update_call, cancel_call, remind_call]

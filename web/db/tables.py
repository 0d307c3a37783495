"""Every table of the application. Times are stored as aware UTC; enums are plain strings.

Rows that schedule work (Reminder, Dispatch) carry a status and a version: saq jobs are only
triggers keyed by (row id, version) that re-read the row when they fire.
"""

from __future__ import annotations

import uuid
from enum import StrEnum

from piccolo.columns import (
    JSON,
    UUID,
    Boolean,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


def new_id() -> uuid.UUID:
    return uuid.uuid4()


# --- accounts -----------------------------------------------------------------------------------


class User(Table, tablename="account"):
    email = Varchar(length=254, unique=True)
    name = Varchar(length=200, default="")
    password_hash = Varchar(length=255, default="", secret=True)
    is_superuser = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())


# --- tenants --------------------------------------------------------------------------------------


class WhatsAppSender(Table):
    """A linked WhatsApp app: number, provider endpoint and approved templates."""

    name = Varchar(length=200, default="")
    base_url = Varchar(length=500, default="https://graph.facebook.com")
    api_version = Varchar(length=20, default="v21.0")
    phone_number_id = Varchar(length=100)
    access_token_encrypted = Text(default="", secret=True)
    # {kind: {"name": str, "language": str, "params": [variable names]}}
    templates = JSON(default={})
    created_at = Timestamptz(default=TimestamptzNow())


class VideoApp(Table):
    public_id = UUID(unique=True, index=True)
    name = Varchar(length=200)
    timezone = Varchar(length=64, default="UTC")
    whatsapp_sender = ForeignKey(WhatsAppSender, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class Role(StrEnum):
    admin = "admin"
    agent = "agent"


class Membership(Table):
    app = ForeignKey(VideoApp, index=True)
    user = ForeignKey(User, index=True)
    role = Varchar(length=16, choices=Role, default=Role.agent)
    genesys_user_id = Varchar(length=64, null=True, default=None, index=True)
    timezone = Varchar(length=64, default="UTC")
    # Round-robin fairness: the agent least recently assigned gets the next booking.
    last_assigned_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class Preset(Table):
    """The app's active scheduling preset (one per app)."""

    app = ForeignKey(VideoApp, unique=True)
    scheduling_enabled = Boolean(default=True)
    assignment_mode = Varchar(length=20, default="manual")
    default_duration_minutes = Integer(default=30)
    buffer_before_minutes = Integer(default=0)
    buffer_after_minutes = Integer(default=0)
    require_confirmation = Boolean(default=False)
    customer_may_reschedule = Boolean(default=True)
    customer_may_cancel = Boolean(default=True)
    no_show_grace_minutes = Integer(default=10)
    # Bookings per guest (phone or email) per rolling 24 h; 0 = no limit.
    booking_rate_limit = Integer(default=0)
    genesys_dispatch_enabled = Boolean(default=False)
    dispatch_minutes_before = Integer(default=5)
    dispatch_include_intake_notes = Boolean(default=False)
    # {kind: [channels]} for the reminder kinds this preset enables.
    reminders = JSON(default={})
    updated_at = Timestamptz(default=TimestamptzNow())


class GenesysSettings(Table):
    app = ForeignKey(VideoApp, unique=True)
    region = Varchar(length=64, default="mypurecloud.com")
    login_base_url = Varchar(length=500, default="")
    api_base_url = Varchar(length=500, default="")
    client_id = Varchar(length=200, default="")
    client_secret_encrypted = Text(default="", secret=True)
    organization_id = Varchar(length=64, default="")
    open_messaging_integration_id = Varchar(length=64, default="")
    # OAuth client (implicit/PKCE grant) the embedded pages use to identify the agent.
    browser_client_id = Varchar(length=200, default="")
    last_test_ok = Boolean(default=False)
    last_test_at = Timestamptz(null=True, default=None)
    last_test_report = JSON(default=[])
    my_schedules_enabled = Boolean(default=False)
    my_schedules_integration_id = Varchar(length=64, default="")
    widget_integration_id = Varchar(length=64, default="")
    widget_queue_ids = JSON(default=[])
    groups = JSON(default=[])
    # What Genesys last reported for our integrations: {"my_schedules": {...}, "widget": {...}}.
    integration_state = JSON(default={})
    # Pre-meeting sends per minute this org's Genesys may take from us (sends are spread to fit).
    dispatch_budget_per_minute = Integer(default=240)
    updated_at = Timestamptz(default=TimestamptzNow())


class ApiClient(Table):
    app = ForeignKey(VideoApp, index=True)
    name = Varchar(length=200, default="")
    client_id = Varchar(length=100, unique=True)
    secret_hash = Varchar(length=255, secret=True)
    scopes = JSON(default=["scheduling:read", "scheduling:write"])
    rate_limit_per_minute = Integer(default=60)
    revoked_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class ApiToken(Table):
    client = ForeignKey(ApiClient, index=True)
    token_hash = Varchar(length=128, unique=True, secret=True)
    expires_at = Timestamptz()


# --- availability ---------------------------------------------------------------------------------


class WorkingHours(Table):
    app = ForeignKey(VideoApp, index=True)
    user = ForeignKey(User, index=True)
    weekday = Integer()  # 0 = Monday
    start = Varchar(length=5)  # "09:00", local to `timezone`
    end = Varchar(length=5)
    timezone = Varchar(length=64, default="UTC")


class AvailabilityException(Table):
    app = ForeignKey(VideoApp, index=True)
    user = ForeignKey(User, index=True)
    kind = Varchar(length=20, default="blocked")  # blocked | available_extra
    starts_at = Timestamptz()
    ends_at = Timestamptz()
    note = Varchar(length=500, default="")


class DndWindow(Table):
    app = ForeignKey(VideoApp, index=True)
    user = ForeignKey(User, index=True)
    starts_at = Timestamptz()
    ends_at = Timestamptz()
    reason = Varchar(length=500, default="")
    created_at = Timestamptz(default=TimestamptzNow())


# --- bookings -------------------------------------------------------------------------------------


class BookingStatus(StrEnum):
    scheduled = "scheduled"
    pending_confirmation = "pending_confirmation"
    confirmed = "confirmed"
    started = "started"
    completed = "completed"
    cancelled = "cancelled"
    no_show = "no_show"


FINAL_STATUSES = frozenset({BookingStatus.cancelled, BookingStatus.completed, BookingStatus.no_show})


class Booking(Table):
    id = UUID(primary_key=True, default=new_id)
    app = ForeignKey(VideoApp, index=True)
    # Null while a `pool` booking waits to be claimed.
    assigned_agent = ForeignKey(User, null=True, default=None, index=True)
    booking_source = Varchar(length=20, default="admin")  # admin | agent | public_booking | api
    assignment_method = Varchar(length=20, default="manual")
    guest_name = Varchar(length=200)
    guest_phone = Varchar(length=32, null=True, default=None)
    guest_email = Varchar(length=254, null=True, default=None)
    guest_timezone = Varchar(length=64, null=True, default=None)
    intake_notes = Text(default="")
    scheduled_at = Timestamptz(index=True)
    duration_minutes = Integer(default=30)
    buffer_before_minutes = Integer(default=0)
    buffer_after_minutes = Integer(default=0)
    app_timezone = Varchar(length=64, default="UTC")
    status = Varchar(length=24, choices=BookingStatus, default=BookingStatus.scheduled, index=True)
    # Meeting room: unguessable tokens that never change for the booking's whole life.
    host_token = Varchar(length=64, unique=True, secret=True)
    guest_token = Varchar(length=64, unique=True, secret=True)
    confirm_token = Varchar(length=64, unique=True, secret=True)
    created_by = ForeignKey(User, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    cancelled_at = Timestamptz(null=True, default=None)
    cancellation_reason = Varchar(length=500, null=True, default=None)
    started_at = Timestamptz(null=True, default=None)
    ended_at = Timestamptz(null=True, default=None)
    host_joined_at = Timestamptz(null=True, default=None)
    guest_joined_at = Timestamptz(null=True, default=None)
    # Bumped on every change; used for optimistic checks and job keys.
    version = Integer(default=1)


class BookingEvent(Table):
    """Append-only timeline."""

    id = UUID(primary_key=True, default=new_id)
    booking = ForeignKey(Booking, index=True)
    event_type = Varchar(length=40)
    actor_type = Varchar(length=16, default="system")  # admin | agent | customer | api | system
    actor_id = Varchar(length=200, null=True, default=None)
    payload = JSON(default={})
    created_at = Timestamptz(default=TimestamptzNow(), index=True)


# --- scheduled work -------------------------------------------------------------------------------


class ReminderStatus(StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"
    cancelled = "cancelled"
    skipped = "skipped"


class Reminder(Table):
    id = UUID(primary_key=True, default=new_id)
    booking = ForeignKey(Booking, index=True)
    kind = Varchar(length=24)
    channel = Varchar(length=16, default="whatsapp")
    recipient = Varchar(length=254, null=True, default=None)
    fire_at = Timestamptz(index=True)
    status = Varchar(length=16, choices=ReminderStatus, default=ReminderStatus.pending, index=True)
    version = Integer(default=1)
    attempts = Integer(default=0)
    last_error = Text(default="")
    provider_message_id = Varchar(length=200, default="")
    sent_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class DispatchStatus(StrEnum):
    scheduled = "scheduled"
    sending = "sending"
    dispatched = "dispatched"
    failed = "failed"
    cleared = "cleared"


class Dispatch(Table):
    """A pre-meeting open message to Genesys. At most one live row per booking."""

    id = UUID(primary_key=True, default=new_id)
    booking = ForeignKey(Booking, index=True)
    # Equals the booking id while the row is live, NULL once cleared: a unique column that
    # enforces "one live dispatch per booking" on both engines without partial indexes.
    live_key = Varchar(length=64, null=True, default=None, unique=True)
    due_at = Timestamptz(index=True)
    status = Varchar(length=16, choices=DispatchStatus, default=DispatchStatus.scheduled, index=True)
    version = Integer(default=1)
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(null=True, default=None)
    last_error = Text(default="")
    # Stable across retries of this row so a resend can never become a second interaction.
    message_id = Varchar(length=100)
    conversation_id = Varchar(length=64, null=True, default=None, index=True)
    correlation_id = Varchar(length=100, default="")
    agent_user_id = Varchar(length=64, default="")
    dispatched_at = Timestamptz(null=True, default=None)
    failed_at = Timestamptz(null=True, default=None)
    # When the admins were told this row was overdue (once per row).
    overdue_notified_at = Timestamptz(null=True, default=None)
    # The follow-up this row's conversation still has to get ("cancelled", "moved", "reassigned")
    # and since when: kept here so that losing Redis cannot lose it; NULL once sent or given up.
    follow_up = Varchar(length=16, null=True, default=None)
    follow_up_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


# --- notifications --------------------------------------------------------------------------------


class Notification(Table):
    recipient = ForeignKey(User, index=True)
    app = ForeignKey(VideoApp, null=True, default=None)
    kind = Varchar(length=40)
    text = Varchar(length=1000)
    link = Varchar(length=500, default="")
    read_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)


# --- process health -------------------------------------------------------------------------------


class WorkerHeartbeat(Table):
    name = Varchar(length=100, unique=True)
    seen_at = Timestamptz()

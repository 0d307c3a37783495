"""The booking lifecycle: the one place that creates and changes bookings, for every surface.

Each change runs in one transaction that locks what it touches, re-checks the rules (availability
with buffers included), writes the booking and its timeline event, bumps `version` and lets the
planners (reminders, dispatch) write their rows in the same transaction. Their after-commit
callbacks (job enqueues) run once the transaction is committed.

Double booking: on PostgreSQL a create/reschedule/reassign takes advisory locks on the agent and on
(agent, start minute) before the overlap check, so concurrent writers for one agent run one after
the other. On SQLite the IMMEDIATE transaction already serializes writers.

Actors: admins and agents are `Actor("admin"|"agent", str(User.id))`, API clients
`Actor("api", client_id)`, customers `Actor("customer", None)`, jobs `Actor.system()`.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from web.db.engine import is_sqlite, transaction
from web.db.tables import FINAL_STATUSES, Booking, BookingEvent, BookingStatus, Membership, VideoApp
from web.scheduling import availability_data, directory, hooks, presets
from web.scheduling import timeline as events_log
from web.scheduling.assignment import pick_round_robin
from web.scheduling.availability import MAX_DURATION_MINUTES, MIN_DURATION_MINUTES
from web.scheduling.hooks import Actor, Change
from web.scheduling.timeutil import to_iso_z, valid_timezone

ASSIGNMENT_METHODS = ("manual", "self_selected", "round_robin", "pool")
SOURCES = ("admin", "agent", "public_booking", "api")
# The preset's booking rate limit guards the customer-facing surfaces, not the console.
RATE_LIMITED_SOURCES = ("public_booking", "api")
GUEST_FIELDS = ("guest_name", "guest_phone", "guest_email", "guest_timezone", "intake_notes")
MAX_NAME = 200
MAX_NOTES = 5000
MAX_BUFFER = 240
OPEN_STATUSES = (BookingStatus.scheduled, BookingStatus.pending_confirmation, BookingStatus.confirmed)

_PHONE_SEPARATORS = re.compile(r"[\s().\-]")
_PHONE = re.compile(r"\+[1-9]\d{6,14}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
# Advisory lock namespace for "this agent", far from anything else that might lock by number.
_AGENT_LOCK_BASE = 0x5055_4E00_0000_0000


# --- errors -----------------------------------------------------------------------------------------


class BookingError(Exception):
    code = "invalid"

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class InvalidBooking(BookingError):
    code = "invalid"


class SlotUnavailable(BookingError):
    code = "conflict"


class InvalidTransition(BookingError):
    """The change does not fit the booking's state (e.g. ending a meeting that never started)."""

    code = "conflict"


class FinalStateError(BookingError):
    code = "final_state"


class BookingNotFound(BookingError):
    code = "not_found"


class NotAllowed(BookingError):
    """The actor may not make this change (the permission matrix, or the preset's toggles)."""

    code = "forbidden"


class SchedulingDisabled(BookingError):
    code = "forbidden"


class BookingRateLimited(BookingError):
    code = "rate_limited"

    def __init__(self, message: str, next_allowed_at: datetime) -> None:
        super().__init__(message)
        self.next_allowed_at = next_allowed_at


@dataclass
class NewBooking:
    guest_name: str
    scheduled_at: datetime
    app_timezone: str | None = None
    guest_phone: str | None = None
    guest_email: str | None = None
    guest_timezone: str | None = None
    intake_notes: str = ""
    duration_minutes: int | None = None
    buffer_before_minutes: int | None = None
    buffer_after_minutes: int | None = None
    assigned_agent_id: int | None = None
    assignment_method: str = "manual"
    require_confirmation: bool | None = None
    source: str = "admin"
    respect_working_hours: bool = True
    agent_checked: bool = False  # the caller has already checked that the agent is one of the app's


# --- validation ---------------------------------------------------------------------------------------


def normalize_phone(phone: str) -> str | None:
    """`+57 300 123-4567` -> `+573001234567`; None when it is not an international number."""
    compact = _PHONE_SEPARATORS.sub("", phone)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    return compact if _PHONE.fullmatch(compact) else None


def _clean_guest(values: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    """Check and tidy the guest fields present in `values` (strings are stripped, not escaped)."""
    clean: dict[str, Any] = {}
    if "guest_name" in values:
        name = (values["guest_name"] or "").strip()
        if not name:
            errors["guest_name"] = "Enter the guest's name."
        elif len(name) > MAX_NAME:
            errors["guest_name"] = f"The name can be at most {MAX_NAME} characters."
        clean["guest_name"] = name
    if "guest_phone" in values:
        phone = (values["guest_phone"] or "").strip()
        normalized = normalize_phone(phone) if phone else None
        if phone and normalized is None:
            errors["guest_phone"] = "Enter the phone number in international format, e.g. +57 300 123 4567."
        clean["guest_phone"] = normalized
    if "guest_email" in values:
        email = (values["guest_email"] or "").strip()
        if email and (len(email) > 254 or not _EMAIL.fullmatch(email)):
            errors["guest_email"] = "Enter an email address like name@example.com."
        clean["guest_email"] = email or None
    if "guest_timezone" in values:
        tz = (values["guest_timezone"] or "").strip()
        if tz and not valid_timezone(tz):
            errors["guest_timezone"] = "Choose a time zone such as America/Bogota."
        clean["guest_timezone"] = tz or None
    if "intake_notes" in values:
        notes = values["intake_notes"] or ""
        if len(notes) > MAX_NOTES:
            errors["intake_notes"] = f"Notes can be at most {MAX_NOTES:,} characters."
        clean["intake_notes"] = notes
    return clean


def _require_contact(phone: str | None, email: str | None, errors: dict[str, str]) -> None:
    if not phone and not email and "guest_phone" not in errors and "guest_email" not in errors:
        message = "Give a phone number or an email address."
        errors["guest_phone"] = message
        errors["guest_email"] = message


def _check_start(start: Any, now: datetime, errors: dict[str, str], field: str = "scheduled_at") -> None:
    if not isinstance(start, datetime) or start.tzinfo is None:
        errors[field] = "Give the start time with its time zone."
    elif start <= now:
        errors[field] = "The start time must be in the future."


def _check_minutes(value: Any, low: int, high: int, field: str, what: str, errors: dict[str, str]) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        errors[field] = f"{what} must be between {low} and {high} minutes."


def _raise_if(errors: dict[str, str]) -> None:
    if errors:
        raise InvalidBooking("Please correct the highlighted fields.", errors)


# --- locking and loading --------------------------------------------------------------------------------


async def _lock_agent_slot(agent_id: int, start: datetime) -> None:
    """PostgreSQL: serialize writers for this agent (any overlapping time) and this start minute."""
    if is_sqlite():
        return
    minute = int(start.timestamp() // 60)
    # One round trip; the agent's lock is taken first, as everywhere.
    await Booking.raw(
        "SELECT pg_advisory_xact_lock({}), pg_advisory_xact_lock({}, {})",
        _AGENT_LOCK_BASE + agent_id,
        agent_id,
        minute % 2**31,
    )


async def _load_for_update(booking_id: Any) -> Booking:
    try:
        key = booking_id if isinstance(booking_id, uuid.UUID) else uuid.UUID(str(booking_id))
    except ValueError:
        raise BookingNotFound("No such booking.") from None
    query = Booking.objects().where(Booking.id == key)
    if not is_sqlite():
        query = query.lock_rows()
    booking = await query.first()
    if booking is None:
        raise BookingNotFound("No such booking.")
    return booking


async def get(booking_id: Any) -> Booking | None:
    try:
        key = booking_id if isinstance(booking_id, uuid.UUID) else uuid.UUID(str(booking_id))
    except ValueError:
        return None
    return await Booking.objects().get(Booking.id == key)


async def timeline(booking_id: Any) -> list[BookingEvent]:
    """The booking's events, oldest first, payloads as dicts."""
    return await events_log.events_of(booking_id)


async def _commit_change(
    booking: Booking, kind: str, actor: Actor, now: datetime, before: dict, preset
) -> list[hooks.AfterCommit]:
    """Save the booking with a new version and let the planners act in this transaction."""
    booking.version += 1
    booking.updated_at = now
    await booking.save()
    return await hooks.plan(Change(kind, booking, actor, now, before, preset))


def _refuse_final(booking: Booking, doing: str) -> None:
    if booking.status in FINAL_STATUSES:
        raise FinalStateError(f"The booking is {booking.status.replace('_', ' ')}; it cannot be {doing}.")


def _require_not_started(booking: Booking, doing: str) -> None:
    if booking.status == BookingStatus.started:
        raise InvalidTransition(f"The meeting has already started; it cannot be {doing}.")


def _require_own_booking(booking: Booking, actor: Actor) -> None:
    """Agents act on their own bookings only (admins and the API on every booking of the app)."""
    if actor.type == "agent" and actor.id is not None and str(booking.assigned_agent) != str(actor.id):
        raise NotAllowed("Agents can only change their own bookings.")


def _forbid(actor: Actor, *types: str, doing: str) -> None:
    if actor.type in types:
        raise NotAllowed(f"This booking cannot be {doing} by {actor.type}.")


# --- create -----------------------------------------------------------------------------------------


async def _rate_limit(app_id: int, preset, phone: str | None, email: str | None, now: datetime) -> None:
    limit = preset.booking_rate_limit
    if not limit or (not phone and not email):
        return
    if not is_sqlite():  # two concurrent bookings by one guest must not both slip under the limit
        for key in sorted(k.lower() for k in (phone, email) if k):
            digest = hashlib.sha256(f"{app_id}:{key}".encode()).digest()
            await Booking.raw(
                "SELECT pg_advisory_xact_lock({})", int.from_bytes(digest[:8], "big", signed=True)
            )
    since = now - timedelta(hours=24)
    who = None
    if phone:
        who = Booking.guest_phone == phone
    if email:
        same_email = Booking.guest_email.ilike(email.replace("%", r"\%").replace("_", r"\_"))
        who = same_email if who is None else (who | same_email)
    rows = (
        await Booking.select(Booking.created_at)
        .where(
            (Booking.app == app_id)
            & Booking.booking_source.is_in(list(RATE_LIMITED_SOURCES))
            & (Booking.created_at > since)
            & who
        )
        .order_by(Booking.created_at)
    )
    if len(rows) >= limit:
        # The oldest booking that must leave the 24 h window before one more fits.
        next_allowed_at = rows[len(rows) - limit]["created_at"] + timedelta(hours=24)
        raise BookingRateLimited(
            f"Too many bookings for this guest; try again after {to_iso_z(next_allowed_at)}.", next_allowed_at
        )


async def _choose_agent(
    app_id: int, data: NewBooking, start: datetime, duration: int, before: int, after: int
) -> tuple[int | None, str]:
    """The agent and the assignment method actually used; raises SlotUnavailable."""
    method = data.assignment_method
    if method == "pool":
        return None, method
    check = {
        "buffer_before": before,
        "buffer_after": after,
        "respect_working_hours": data.respect_working_hours,
    }
    if data.assigned_agent_id is not None:
        agent_id = data.assigned_agent_id
        await _lock_agent_slot(agent_id, start)
        reason = await availability_data.conflict_for(app_id, agent_id, start, duration, **check)
        if reason:
            raise SlotUnavailable(f"The agent is not available at that time: {reason}.")
        return agent_id, method
    # No agent given: the engine picks (Any available).
    agents = sorted(a["user_id"] for a in await directory.agents_of(app_id))
    for agent_id in agents:  # one order for every writer: no deadlocks between round robins
        await _lock_agent_slot(agent_id, start)
    reasons = await availability_data.conflicts(app_id, agents, start, duration, **check)
    free = [str(a) for a, reason in reasons.items() if reason is None]
    rows = await Membership.select(Membership.user, Membership.last_assigned_at).where(
        (Membership.app == app_id) & Membership.user.is_in(agents or [0])
    )
    chosen = pick_round_robin(free, {str(r["user"]): r["last_assigned_at"] for r in rows})
    if chosen is None:
        raise SlotUnavailable("No agent is available at that time.")
    return int(chosen), "round_robin"


async def create(app_id: int, data: NewBooking, actor: Actor, *, now: datetime) -> Booking:
    errors: dict[str, str] = {}
    guest = _clean_guest({f: getattr(data, f) for f in GUEST_FIELDS}, errors)
    _require_contact(guest.get("guest_phone"), guest.get("guest_email"), errors)
    _check_start(data.scheduled_at, now, errors)
    if data.app_timezone is not None and not valid_timezone(data.app_timezone):
        errors["app_timezone"] = "Choose a time zone such as America/Bogota."
    if data.assignment_method not in ASSIGNMENT_METHODS:
        errors["assignment_method"] = "Choose manual, self_selected, round_robin or pool."
    if data.source not in SOURCES:
        errors["source"] = "Unknown booking source."

    callbacks: list[hooks.AfterCommit] = []
    async with transaction():
        app = await VideoApp.select(VideoApp.timezone).where(VideoApp.id == app_id).first()
        if app is None:
            raise BookingNotFound("No such video app.")
        preset = await presets.get_preset(app_id)
        if not preset.scheduling_enabled:
            raise SchedulingDisabled("Scheduling is turned off for this app.")
        duration = preset.default_duration_minutes if data.duration_minutes is None else data.duration_minutes
        before = (
            preset.buffer_before_minutes if data.buffer_before_minutes is None else data.buffer_before_minutes
        )
        after = (
            preset.buffer_after_minutes if data.buffer_after_minutes is None else data.buffer_after_minutes
        )
        _check_minutes(
            duration, MIN_DURATION_MINUTES, MAX_DURATION_MINUTES, "duration_minutes", "Duration", errors
        )
        _check_minutes(before, 0, MAX_BUFFER, "buffer_before_minutes", "The buffer before", errors)
        _check_minutes(after, 0, MAX_BUFFER, "buffer_after_minutes", "The buffer after", errors)
        wants_agent = data.assigned_agent_id is not None and data.assignment_method != "pool"
        if (
            wants_agent
            and not data.agent_checked
            and not await directory.is_agent_of(app_id, data.assigned_agent_id)
        ):
            errors["assigned_agent_id"] = "Choose an agent of this app."
        _raise_if(errors)
        if data.source in RATE_LIMITED_SOURCES:
            await _rate_limit(app_id, preset, guest.get("guest_phone"), guest.get("guest_email"), now)

        start = data.scheduled_at
        agent_id, method = await _choose_agent(app_id, data, start, duration, before, after)
        needs_confirmation = (
            preset.require_confirmation if data.require_confirmation is None else data.require_confirmation
        )
        booking = Booking(
            app=app_id,
            assigned_agent=agent_id,
            booking_source=data.source,
            assignment_method=method,
            scheduled_at=start,
            duration_minutes=duration,
            buffer_before_minutes=before,
            buffer_after_minutes=after,
            app_timezone=data.app_timezone or app["timezone"],
            status=BookingStatus.pending_confirmation if needs_confirmation else BookingStatus.scheduled,
            host_token=secrets.token_urlsafe(24),
            guest_token=secrets.token_urlsafe(24),
            confirm_token=secrets.token_urlsafe(24),
            created_by=int(actor.id)
            if actor.type in ("admin", "agent") and str(actor.id).isdigit()
            else None,
            created_at=now,
            updated_at=now,
            version=1,
            **guest,
        )
        await booking.save()
        if agent_id is not None:
            await Membership.update({Membership.last_assigned_at: now}).where(
                (Membership.app == app_id) & (Membership.user == agent_id)
            )
        await events_log.record(
            booking.id,
            "created",
            actor,
            {
                "scheduled_at": to_iso_z(start),
                "duration_minutes": duration,
                "assigned_agent_id": agent_id,
                "assignment_method": method,
                "booking_source": data.source,
                "status": booking.status,
            },
            now,
            first=True,
        )
        callbacks = await hooks.plan(Change("created", booking, actor, now, {}, preset))
    await hooks.run_after_commit(callbacks)
    return booking


# --- changes ---------------------------------------------------------------------------------------


async def reschedule(
    booking_id: Any,
    new_start: datetime,
    actor: Actor,
    *,
    now: datetime,
    reason: str | None = None,
    respect_working_hours: bool = True,
) -> Booking:
    errors: dict[str, str] = {}
    _check_start(new_start, now, errors)
    async with transaction():
        booking = await _load_for_update(booking_id)
        preset = await presets.get_preset(booking.app)
        _refuse_final(booking, "rescheduled")
        _require_not_started(booking, "rescheduled")
        _require_own_booking(booking, actor)
        if actor.type == "customer" and not preset.customer_may_reschedule:
            raise NotAllowed("Please contact us to move this meeting.")
        _raise_if(errors)
        old_start = booking.scheduled_at
        if new_start == old_start:
            return booking
        if booking.assigned_agent is not None:
            await _lock_agent_slot(booking.assigned_agent, new_start)
            problem = await availability_data.conflict_for(
                booking.app,
                booking.assigned_agent,
                new_start,
                booking.duration_minutes,
                buffer_before=booking.buffer_before_minutes,
                buffer_after=booking.buffer_after_minutes,
                respect_working_hours=respect_working_hours,
                exclude_booking_id=booking.id,
            )
            if problem:
                raise SlotUnavailable(f"The agent is not available at that time: {problem}.")
        booking.scheduled_at = new_start
        payload = {"from": to_iso_z(old_start), "to": to_iso_z(new_start), "reason": reason}
        await events_log.record(booking.id, "rescheduled", actor, payload, now)
        callbacks = await _commit_change(
            booking, "rescheduled", actor, now, {"scheduled_at": old_start}, preset
        )
    await hooks.run_after_commit(callbacks)
    return booking


async def reassign(
    booking_id: Any,
    agent_user_id: int,
    actor: Actor,
    *,
    now: datetime,
    reason: str | None = None,
    respect_working_hours: bool = True,
) -> Booking:
    async with transaction():
        booking = await _load_for_update(booking_id)
        preset = await presets.get_preset(booking.app)
        _refuse_final(booking, "reassigned")
        _require_not_started(booking, "reassigned")
        _forbid(actor, "customer", doing="reassigned")
        _require_own_booking(booking, actor)
        label = await directory.agent_label(booking.app, agent_user_id)
        if label is None:
            raise InvalidBooking(
                "Choose an agent of this app.", {"assigned_agent_id": "Choose an agent of this app."}
            )
        previous = booking.assigned_agent
        if previous == agent_user_id:
            return booking
        await _lock_agent_slot(agent_user_id, booking.scheduled_at)
        problem = await availability_data.conflict_for(
            booking.app,
            agent_user_id,
            booking.scheduled_at,
            booking.duration_minutes,
            buffer_before=booking.buffer_before_minutes,
            buffer_after=booking.buffer_after_minutes,
            respect_working_hours=respect_working_hours,
            exclude_booking_id=booking.id,
        )
        if problem:
            raise SlotUnavailable(f"That agent is not available at that time: {problem}.")
        booking.assigned_agent = agent_user_id
        await events_log.record(
            booking.id,
            "assigned",
            actor,
            {"from": previous, "to": agent_user_id, "to_name": label, "reason": reason},
            now,
        )
        callbacks = await _commit_change(
            booking, "reassigned", actor, now, {"assigned_agent": previous}, preset
        )
    await hooks.run_after_commit(callbacks)
    return booking


async def update_guest(
    booking_id: Any, changes: dict[str, Any], actor: Actor, *, now: datetime, reason: str | None = None
) -> Booking:
    unknown = set(changes) - set(GUEST_FIELDS)
    if unknown:
        raise InvalidBooking(
            "Only the guest's details can be changed here.",
            {name: "This field cannot be changed here." for name in sorted(unknown)},
        )
    errors: dict[str, str] = {}
    clean = _clean_guest(changes, errors)
    async with transaction():
        booking = await _load_for_update(booking_id)
        preset = await presets.get_preset(booking.app)
        _refuse_final(booking, "changed")
        _require_own_booking(booking, actor)
        phone = (
            clean.get("guest_phone", booking.guest_phone) if "guest_phone" in clean else booking.guest_phone
        )
        email = (
            clean.get("guest_email", booking.guest_email) if "guest_email" in clean else booking.guest_email
        )
        _require_contact(phone, email, errors)
        _raise_if(errors)
        before = {
            name: getattr(booking, name) for name, value in clean.items() if getattr(booking, name) != value
        }
        if not before:
            return booking
        for name in before:
            setattr(booking, name, clean[name])
        await events_log.record(
            booking.id, "updated", actor, {"fields": sorted(before), "reason": reason}, now
        )
        callbacks = await _commit_change(booking, "updated", actor, now, before, preset)
    await hooks.run_after_commit(callbacks)
    return booking


async def _set_status(
    booking_id: Any,
    actor: Actor,
    now: datetime,
    *,
    check,
    status: BookingStatus,
    event: str,
    change_kind: str,
    payload: dict | None = None,
    fields: dict[str, Any] | None = None,
) -> Booking:
    """A status change: `check(booking, preset)` raises or returns False for 'nothing to do'."""
    async with transaction():
        booking = await _load_for_update(booking_id)
        preset = await presets.get_preset(booking.app)
        if check(booking, preset) is False:
            return booking
        before = {"status": booking.status}
        booking.status = status
        for name, value in (fields or {}).items():
            setattr(booking, name, value)
        await events_log.record(booking.id, event, actor, payload or {}, now)
        callbacks = await _commit_change(booking, change_kind, actor, now, before, preset)
    await hooks.run_after_commit(callbacks)
    return booking


async def confirm(booking_id: Any, actor: Actor, *, now: datetime) -> Booking:
    def check(booking: Booking, preset) -> bool:
        _refuse_final(booking, "confirmed")
        # Already confirmed, or never needed confirming: nothing to do.
        return booking.status == BookingStatus.pending_confirmation

    return await _set_status(
        booking_id,
        actor,
        now,
        check=check,
        status=BookingStatus.confirmed,
        event="confirmed",
        change_kind="confirmed",
    )


async def cancel(booking_id: Any, actor: Actor, *, now: datetime, reason: str | None = None) -> Booking:
    def check(booking: Booking, preset) -> bool:
        if booking.status == BookingStatus.cancelled:
            return False  # idempotent: unchanged, no second event
        _refuse_final(booking, "cancelled")
        _require_not_started(booking, "cancelled")
        _require_own_booking(booking, actor)
        if actor.type == "customer" and not preset.customer_may_cancel:
            raise NotAllowed("Please contact us to cancel this meeting.")
        return True

    return await _set_status(
        booking_id,
        actor,
        now,
        check=check,
        status=BookingStatus.cancelled,
        event="cancelled",
        change_kind="cancelled",
        payload={"reason": reason},
        fields={"cancelled_at": now, "cancellation_reason": reason},
    )


async def mark_no_show(booking_id: Any, actor: Actor, *, now: datetime) -> Booking:
    def check(booking: Booking, preset) -> bool:
        if booking.status == BookingStatus.no_show:
            return False
        _refuse_final(booking, "marked as a no-show")
        _forbid(actor, "customer", "api", doing="marked as a no-show")
        _require_own_booking(booking, actor)
        if booking.guest_joined_at is not None:
            raise InvalidTransition("The customer joined this meeting; it is not a no-show.")
        if now < booking.scheduled_at:
            raise InvalidTransition("The meeting has not started yet.")
        return True

    return await _set_status(
        booking_id,
        actor,
        now,
        check=check,
        status=BookingStatus.no_show,
        event="no_show",
        change_kind="no_show",
    )


async def complete(booking_id: Any, actor: Actor, *, now: datetime) -> Booking:
    def check(booking: Booking, preset) -> bool:
        if booking.status == BookingStatus.completed:
            return False
        _refuse_final(booking, "completed")
        _forbid(actor, "customer", doing="ended")
        if booking.status != BookingStatus.started:
            raise InvalidTransition("The meeting has not started yet.")
        return True

    return await _set_status(
        booking_id,
        actor,
        now,
        check=check,
        status=BookingStatus.completed,
        event="completed",
        change_kind="completed",
        fields={"ended_at": now},
    )


async def record_join(booking_id: Any, role: str, *, now: datetime) -> Booking:
    """Someone opened the room and joined: the first join of each side is recorded, and the
    first join of all starts the meeting."""
    if role not in ("host", "guest"):
        raise ValueError(f"role must be 'host' or 'guest', got {role!r}")
    async with transaction():
        booking = await _load_for_update(booking_id)
        preset = await presets.get_preset(booking.app)
        _refuse_final(booking, "joined")
        joined_field = "host_joined_at" if role == "host" else "guest_joined_at"
        actor = _room_actor(booking, role)
        if getattr(booking, joined_field) is not None:
            if role not in await in_room(booking.id):  # back after leaving
                await events_log.record(booking.id, "joined", actor, {"role": role, "again": True}, now)
            return booking
        setattr(booking, joined_field, now)
        await events_log.record(booking.id, "joined", actor, {"role": role}, now)
        before: dict[str, Any] = {joined_field: None}
        kind = "joined"
        if booking.status != BookingStatus.started:
            before["status"] = booking.status
            booking.status = BookingStatus.started
            booking.started_at = now
            await events_log.record(booking.id, "started", actor, {"first": role}, now)
            kind = "started"
        callbacks = await _commit_change(booking, kind, actor, now, before, preset)
    await hooks.run_after_commit(callbacks)
    return booking


def _room_actor(booking: Booking, role: str) -> Actor:
    return Actor("agent", str(booking.assigned_agent)) if role == "host" else Actor("customer", None)


async def in_room(booking_id: Any) -> set[str]:
    """The sides ("host", "guest") in the room now: those with more joins than departures."""
    rows = await BookingEvent.select(BookingEvent.event_type, BookingEvent.payload).where(
        (BookingEvent.booking == booking_id) & BookingEvent.event_type.is_in(["joined", "left"])
    )
    balance: dict[str, int] = {}
    for row in rows:
        payload = row["payload"] if isinstance(row["payload"], dict) else json.loads(row["payload"] or "{}")
        side = payload.get("role")
        balance[side] = balance.get(side, 0) + (1 if row["event_type"] == "joined" else -1)
    return {side for side, count in balance.items() if count > 0}


async def record_leave(booking_id: Any, role: str, *, now: datetime) -> Booking:
    """Someone left the room. Once both sides have met and everyone has left, the meeting has
    ended: it becomes `completed`. (A meeting the customer never joined is left to the no-show
    rule instead.)"""
    if role not in ("host", "guest"):
        raise ValueError(f"role must be 'host' or 'guest', got {role!r}")
    async with transaction():
        booking = await _load_for_update(booking_id)
        present = await in_room(booking.id)
        if booking.status in FINAL_STATUSES or role not in present:
            return booking
        actor = _room_actor(booking, role)
        await events_log.record(booking.id, "left", actor, {"role": role}, now)
        met = booking.host_joined_at is not None and booking.guest_joined_at is not None
        if booking.status != BookingStatus.started or not met or present - {role}:
            return booking
        preset = await presets.get_preset(booking.app)
        before = {"status": booking.status}
        booking.status = BookingStatus.completed
        booking.ended_at = now
        await events_log.record(booking.id, "completed", Actor.system(), {"reason": "everyone_left"}, now)
        callbacks = await _commit_change(booking, "completed", Actor.system(), now, before, preset)
    await hooks.run_after_commit(callbacks)
    return booking


async def claim(booking_id: Any, agent_user_id: int, actor: Actor, *, now: datetime) -> Booking:
    """The first agent to claim an unassigned pool booking gets it."""
    async with transaction():
        booking = await _load_for_update(booking_id)
        preset = await presets.get_preset(booking.app)
        _refuse_final(booking, "claimed")
        _forbid(actor, "customer", doing="claimed")
        if booking.assigned_agent is not None:
            if booking.assigned_agent == agent_user_id:
                return booking
            raise SlotUnavailable("Another agent has already claimed this booking.")
        if not await directory.is_agent_of(booking.app, agent_user_id):
            raise NotAllowed("Only agents of this app can claim its bookings.")
        await _lock_agent_slot(agent_user_id, booking.scheduled_at)
        # Claiming is a deliberate choice to take the meeting: only real clashes stop it.
        problem = await availability_data.conflict_for(
            booking.app,
            agent_user_id,
            booking.scheduled_at,
            booking.duration_minutes,
            buffer_before=booking.buffer_before_minutes,
            buffer_after=booking.buffer_after_minutes,
            respect_working_hours=False,
            exclude_booking_id=booking.id,
        )
        if problem:
            raise SlotUnavailable(f"You are not free at that time: {problem}.")
        booking.assigned_agent = agent_user_id
        await Membership.update({Membership.last_assigned_at: now}).where(
            (Membership.app == booking.app) & (Membership.user == agent_user_id)
        )
        await events_log.record(
            booking.id, "assigned", actor, {"from": None, "to": agent_user_id, "claimed": True}, now
        )
        callbacks = await _commit_change(booking, "reassigned", actor, now, {"assigned_agent": None}, preset)
    await hooks.run_after_commit(callbacks)
    return booking

"""Customer reminders: rows planned with the booking, re-planned or cancelled with its changes.

Each reminder is one row (kind, channel, recipient, `fire_at`, status, version). The planner below
writes rows inside the lifecycle transaction for every kind the app's preset enables; the saq job
`send_reminder` (`tasks/reminders.py`) is only a trigger keyed by row id and version that re-reads
the row when it fires. Only `whatsapp` rows are sent: Genesys has its own pre-meeting dispatch.

Statuses: pending -> sending -> sent | failed (| pending again for a retry); pending rows become
`cancelled` when the booking moves or ends; a row that cannot go out at all (time already past,
no phone number, a channel we do not send) is `skipped` with a `reminder_skipped` event.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from web.db.engine import is_sqlite, transaction
from web.db.tables import FINAL_STATUSES, Booking, Reminder, ReminderStatus
from web.scheduling import jobs, presets
from web.scheduling import timeline as events_log
from web.scheduling.bookings import (
    OPEN_STATUSES,
    BookingNotFound,
    FinalStateError,
    InvalidBooking,
    normalize_phone,
)
from web.scheduling.hooks import Actor, AfterCommit, Change, register_planner
from web.scheduling.timeutil import to_iso_z

SEND_JOB = "send_reminder"
JOB_TIMEOUT_SECONDS = 30
SENT_CHANNEL = "whatsapp"

# Kinds planned from the booking's time, and how long before the start each one fires.
BEFORE_START = {
    "reminder_24h": timedelta(hours=24),
    "reminder_1h": timedelta(hours=1),
    "reminder_15m": timedelta(minutes=15),
}
PLANNED_KINDS = ("invitation", *BEFORE_START)
# What the public API may ask for (`reminder_custom` is the API's name for `custom`).
API_KINDS = {
    "custom": "custom",
    "reminder_custom": "custom",
    "invitation": "invitation",
    "reminder_24h": "reminder_24h",
    "reminder_1h": "reminder_1h",
    "reminder_15m": "reminder_15m",
    "cancellation": "cancellation",
}

NO_PHONE = "no phone number"
TIME_PASSED = "its time had already passed when it was planned"
NOT_SENT_CHANNEL = "only WhatsApp reminders are sent (Genesys gets the pre-meeting dispatch)"

ENQUEUE_AHEAD = timedelta(hours=1)
STUCK_SENDING_AFTER = timedelta(seconds=60)
# Past its time by this much, a pending row's trigger is taken as late or lost.
LOST_TRIGGER_AFTER = timedelta(seconds=5)


def send_key(row_id: Any, version: int) -> str:
    return jobs.job_key("reminder", row_id, version)


async def enqueue_send(row_id: Any, version: int, at: datetime | None, suffix: str = "") -> bool:
    return await jobs.enqueue_at(
        SEND_JOB,
        key=send_key(row_id, version) + suffix,
        at=at,
        job_timeout=JOB_TIMEOUT_SECONDS,
        reminder_id=str(row_id),
        version=version,
    )


def _enqueue_callback(row_id: Any, version: int, at: datetime) -> AfterCommit:
    async def callback() -> None:
        await enqueue_send(row_id, version, at)

    return callback


def enabled_channels(preset: Any, kind: str) -> list[str]:
    config = preset.reminders if preset is not None else {}
    if isinstance(config, str):
        config = json.loads(config or "{}")
    return list((config or {}).get(kind) or [])


def fire_time(kind: str, start: datetime, now: datetime) -> datetime:
    offset = BEFORE_START.get(kind)
    return start - offset if offset is not None else now


# --- writing rows -------------------------------------------------------------------------------------


def _new_row(
    booking: Booking, kind: str, channel: str, fire_at: datetime, now: datetime, recipient: str | None
) -> tuple[Reminder, str | None]:
    """One unsaved row: pending, or skipped with the reason why."""
    reason = None
    if channel != SENT_CHANNEL:
        reason = NOT_SENT_CHANNEL
    elif not recipient:
        reason = NO_PHONE
    elif fire_at < now:
        reason = TIME_PASSED
    row = Reminder(
        booking=booking.id,
        kind=kind,
        channel=channel,
        recipient=recipient,
        fire_at=fire_at,
        status=ReminderStatus.skipped if reason else ReminderStatus.pending,
        version=1,
        last_error=reason or "",
        created_at=now,
        updated_at=now,
    )
    return row, reason


async def _after_insert(
    booking: Booking, row: Reminder, reason: str | None, now: datetime
) -> list[AfterCommit]:
    """A saved row's consequence: the trigger of a pending one due within the hour (the reconciler
    lays the others' an hour ahead), the `reminder_skipped` event of a skipped one."""
    if reason:
        payload = {"reminder_id": str(row.id), "kind": row.kind, "channel": row.channel, "reason": reason}
        payload["fire_at"] = to_iso_z(row.fire_at)
        await events_log.record(booking.id, "reminder_skipped", Actor.system(), payload, now)
        return []
    if row.fire_at > now + ENQUEUE_AHEAD:
        return []
    return [_enqueue_callback(row.id, row.version, row.fire_at)]


async def _add_row(
    booking: Booking,
    kind: str,
    channel: str,
    fire_at: datetime,
    actor: Actor,
    now: datetime,
    recipient: str | None,
) -> tuple[Reminder, list[AfterCommit]]:
    """Insert one row (inside the caller's transaction): pending with its trigger, or skipped
    with a `reminder_skipped` event saying why."""
    row, reason = _new_row(booking, kind, channel, fire_at, now, recipient)
    await row.save()
    return row, await _after_insert(booking, row, reason, now)


async def _plan_kinds(booking: Booking, preset: Any, kinds: tuple[str, ...], actor: Actor, now: datetime):
    """Rows for each of `kinds` the preset enables on WhatsApp, in one insert. Other channels get
    no row here: a `genesys` tick in the preset is the pre-meeting dispatch, planned by its own module."""
    start, phone = booking.scheduled_at, booking.guest_phone
    planned = [
        _new_row(booking, kind, SENT_CHANNEL, fire_time(kind, start, now), now, phone)
        for kind in kinds
        if SENT_CHANNEL in enabled_channels(preset, kind)  # not enabled: no row, nothing sent or logged
    ]
    if not planned:
        return []
    await Reminder.insert(*(row for row, _ in planned))
    callbacks: list[AfterCommit] = []
    for row, reason in planned:
        callbacks += await _after_insert(booking, row, reason, now)
    return callbacks


async def cancel_pending(booking_id: Any, now: datetime, *, kinds: tuple[str, ...] | None = None) -> int:
    """Cancel the booking's pending rows (of `kinds`, or all); their triggers find a new version."""
    where = (Reminder.booking == booking_id) & (Reminder.status == ReminderStatus.pending)
    if kinds is not None:
        where &= Reminder.kind.is_in(list(kinds))
    rows = await Reminder.select(Reminder.id, Reminder.version).where(where)
    for row in rows:
        await Reminder.update(
            {
                Reminder.status: ReminderStatus.cancelled,
                Reminder.version: row["version"] + 1,
                Reminder.updated_at: now,
            }
        ).where((Reminder.id == row["id"]) & (Reminder.version == row["version"]))
    return len(rows)


async def _retarget(booking: Booking, old_phone: str | None, now: datetime) -> None:
    """The guest's phone changed: pending rows addressed to the old number follow the new one."""
    where = (Reminder.booking == booking.id) & (Reminder.status == ReminderStatus.pending)
    where &= Reminder.recipient.is_null() if old_phone is None else (Reminder.recipient == old_phone)
    if booking.guest_phone:
        await Reminder.update({Reminder.recipient: booking.guest_phone, Reminder.updated_at: now}).where(
            where
        )
    else:
        await Reminder.update(
            {
                Reminder.status: ReminderStatus.cancelled,
                Reminder.last_error: NO_PHONE,
                Reminder.updated_at: now,
            }
        ).where(where)


@register_planner
async def plan_reminders(change: Change) -> list[AfterCommit]:
    booking, actor, now = change.booking, change.actor, change.now
    preset = change.preset or await presets.get_preset(booking.app)
    kind = change.kind
    if kind == "created":
        return await _plan_kinds(booking, preset, PLANNED_KINDS, actor, now)
    if kind == "rescheduled":
        # Reminders for the old time go; the new time gets its own (a fresh invitation tells the
        # customer the new time). On-demand custom reminders read the time when they go out.
        await cancel_pending(booking.id, now, kinds=(*PLANNED_KINDS, "conflict_notice"))
        return await _plan_kinds(booking, preset, PLANNED_KINDS, actor, now)
    if kind == "cancelled":
        await cancel_pending(booking.id, now)
        return await _plan_kinds(booking, preset, ("cancellation",), actor, now)
    if kind in ("completed", "no_show"):
        await cancel_pending(booking.id, now)
    elif kind == "started":
        await cancel_pending(booking.id, now, kinds=tuple(BEFORE_START))
    elif kind == "updated" and "guest_phone" in change.before:
        await _retarget(booking, change.before["guest_phone"], now)
    return []


def _whatsapp_kinds(config: Any, kinds: tuple[str, ...]) -> set[str]:
    if isinstance(config, str):
        config = json.loads(config or "{}")
    return {kind for kind in kinds if SENT_CHANNEL in ((config or {}).get(kind) or [])}


@presets.register_preset_listener
async def replan_on_preset_change(change: presets.PresetChange) -> list[AfterCommit]:
    """Timed reminders of upcoming meetings follow the preset: a kind turned off is cancelled
    where it has not been tried yet, a kind turned on is planned where its time is still ahead.
    The invitation belongs to the moment of booking and is not sent afterwards."""
    if "reminders" not in change.before:
        return []
    timed = tuple(BEFORE_START)
    was_on = _whatsapp_kinds(change.before["reminders"], timed)
    is_on = _whatsapp_kinds(change.preset.reminders, timed)
    turned_off, turned_on = was_on - is_on, sorted(is_on - was_on)
    if not turned_off and not turned_on:
        return []
    now = change.now
    upcoming = await Booking.objects().where(
        (Booking.app == change.app_id)
        & Booking.status.is_in(list(OPEN_STATUSES))
        & (Booking.scheduled_at > now)
    )
    if turned_off and upcoming:
        # Untried rows still ahead are the planned ones (an on-demand reminder is due at once).
        await Reminder.update(
            {
                Reminder.status: ReminderStatus.cancelled,
                Reminder.version: Reminder.version + 1,
                Reminder.updated_at: now,
            }
        ).where(
            Reminder.booking.is_in([b.id for b in upcoming])
            & (Reminder.status == ReminderStatus.pending)
            & Reminder.kind.is_in(sorted(turned_off))
            & (Reminder.attempts == 0)
            & (Reminder.fire_at > now)
        )
    callbacks: list[AfterCommit] = []
    for booking in upcoming:
        for kind in turned_on:
            at = fire_time(kind, booking.scheduled_at, now)
            if at <= now or await Reminder.exists().where(
                (Reminder.booking == booking.id)
                & (Reminder.kind == kind)
                & (Reminder.status == ReminderStatus.pending)
            ):
                continue  # its moment has passed, or the booking already has it
            _, more = await _add_row(booking, kind, SENT_CHANNEL, at, change.actor, now, booking.guest_phone)
            callbacks += more
    return callbacks


# --- on demand: the API, the booking page, the DND prompt -----------------------------------------------


async def _booking_for_new_reminder(booking_id: Any) -> Booking:
    try:
        key = booking_id if isinstance(booking_id, uuid.UUID) else uuid.UUID(str(booking_id))
    except ValueError:
        raise BookingNotFound("No such booking.") from None
    query = Booking.objects().where(Booking.id == key)
    if not is_sqlite():
        query = query.lock_rows()  # a cancel in flight waits for us (or we see it cancelled)
    booking = await query.first()
    if booking is None:
        raise BookingNotFound("No such booking.")
    if booking.status in FINAL_STATUSES:
        raise FinalStateError(
            f"The booking is {booking.status.replace('_', ' ')}; it cannot take new reminders."
        )
    return booking


async def create_custom_reminder(
    booking_id: Any,
    *,
    kind: str = "custom",
    channel: str = "whatsapp",
    recipient: str | None = None,
    actor: Actor,
    now: datetime,
) -> Reminder:
    """A reminder asked for explicitly; it fires at once. Raises InvalidBooking (unknown kind,
    channel or recipient), BookingNotFound, or FinalStateError for a finished booking."""
    errors: dict[str, str] = {}
    stored_kind = API_KINDS.get(str(kind or "custom"))
    if stored_kind is None:
        errors["kind"] = f"Unknown reminder kind. Use one of: {', '.join(API_KINDS)}."
    if channel not in presets.REMINDER_CHANNELS:
        errors["channel"] = f"Unknown channel. Use one of: {', '.join(presets.REMINDER_CHANNELS)}."
    phone = None
    if recipient not in (None, "") and "@" not in str(recipient):
        phone = normalize_phone(str(recipient))
        if phone is None:
            errors["recipient"] = (
                "Enter the recipient's phone number in international format, like +573001234567."
            )
    if errors:
        raise InvalidBooking("The reminder request is not valid.", errors)
    async with transaction():
        booking = await _booking_for_new_reminder(booking_id)
        # An email address (the API's fallback when the guest has no phone) leaves no number:
        # WhatsApp cannot use it, so the row is recorded as skipped rather than refused.
        to = phone if recipient else booking.guest_phone
        row, callbacks = await _add_row(booking, stored_kind, channel, now, actor, now, to)
    await _run(callbacks)
    return row


async def create_conflict_notices(booking_ids: list[Any], actor: Actor, now: datetime) -> int:
    """`conflict_notice` reminders for the customers of these bookings (the DND prompt), when the
    app's preset enables that kind; finished bookings are left alone. Returns how many went out
    (rows pending at once)."""
    created = 0
    callbacks: list[AfterCommit] = []
    async with transaction():
        for booking_id in booking_ids:
            try:
                booking = await _booking_for_new_reminder(booking_id)
            except (BookingNotFound, FinalStateError):
                continue
            preset = await presets.get_preset(booking.app)
            if SENT_CHANNEL not in enabled_channels(preset, "conflict_notice"):
                continue
            row, more = await _add_row(
                booking, "conflict_notice", SENT_CHANNEL, now, actor, now, booking.guest_phone
            )
            callbacks += more
            created += row.status == ReminderStatus.pending
    await _run(callbacks)
    return created


async def _run(callbacks: list[AfterCommit]) -> None:
    for callback in callbacks:
        await callback()


# --- reading ------------------------------------------------------------------------------------------


async def reminders_of(booking_id: Any) -> list[Reminder]:
    """The booking's reminders in firing order (what the booking page lists)."""
    return (
        await Reminder.objects()
        .where(Reminder.booking == booking_id)
        .order_by(Reminder.fire_at)
        .order_by(Reminder.created_at)
    )


STATUS_LABELS = {
    ReminderStatus.pending: "planned",
    ReminderStatus.sending: "sending",
    ReminderStatus.sent: "sent",
    ReminderStatus.failed: "failed",
    ReminderStatus.cancelled: "cancelled",
    ReminderStatus.skipped: "skipped",
}


# --- repair (run by the reconciler) ---------------------------------------------------------------------


async def repair_reminders(now: datetime) -> dict[str, int]:
    """Re-create what a lost Redis took with it, from the rows:

    - pending WhatsApp rows due within the next hour, or overdue, are enqueued again (saq ignores
      a key it still holds, so a healthy trigger is not doubled; an overdue row gets a trigger
      of its own, as the one it holds may be set for a later time);
    - rows stuck in `sending` for over a minute (their runner died) go back to pending under a new
      version and are sent again. WhatsApp has no idempotency key: if the runner died exactly
      between the provider's answer and our write, the customer gets that message twice. We accept
      this at-least-once edge over losing a reminder.
    """
    report = {"enqueued": 0, "resumed": 0}
    due = await Reminder.select(Reminder.id, Reminder.version, Reminder.fire_at).where(
        (Reminder.status == ReminderStatus.pending)
        & (Reminder.channel == SENT_CHANNEL)
        & (Reminder.fire_at <= now + ENQUEUE_AHEAD)
    )
    for row in due:
        if await enqueue_send(row["id"], row["version"], row["fire_at"]):
            report["enqueued"] += 1
        if row["fire_at"] <= now - LOST_TRIGGER_AFTER:
            # The trigger saq holds may be set for a later wall-clock time (the clock jumped
            # forward): one more under its own key. The claim lets only one of them send.
            await enqueue_send(row["id"], row["version"], None, ":overdue")
    stuck = await Reminder.select(Reminder.id, Reminder.version).where(
        (Reminder.status == ReminderStatus.sending) & (Reminder.updated_at <= now - STUCK_SENDING_AFTER)
    )
    for row in stuck:
        version = row["version"] + 1
        resumed = (
            await Reminder.update(
                {Reminder.status: ReminderStatus.pending, Reminder.version: version, Reminder.updated_at: now}
            )
            .where(
                (Reminder.id == row["id"])
                & (Reminder.status == ReminderStatus.sending)
                & (Reminder.version == row["version"])
            )
            .returning(Reminder.id)
        )
        if resumed:
            await enqueue_send(row["id"], version, None)
            report["resumed"] += 1
    return report

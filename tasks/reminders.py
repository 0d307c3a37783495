"""Sending one reminder over WhatsApp: the saq job `send_reminder` and the logic it runs.

The job is a trigger: it re-reads the row and sends only a `pending` row of the version it was
enqueued for, and only for a booking still open (a `cancellation` goes out for a cancelled one).
It claims the row with a conditional UPDATE to `sending`, so two triggers never both send.

Retries are ours and live in the row (one HTTP attempt per run): a transient failure (429 with
its `Retry-After`, 5xx, timeouts, a refused connection) puts the row back to `pending` for a later
run, up to `MAX_ATTEMPTS` in all; then, or at once for a permanent error (bad token, unknown
template, bad recipient), the row is `failed` with a `reminder_failed` event in plain words.
Nothing here touches Genesys: a broken Genesys set-up never holds back a customer's reminder.

Importing this module registers the reminders planner and the reconciler's reminder repair.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tasks import reconcile
from web import clock
from web.db.engine import transaction
from web.db.tables import FINAL_STATUSES, Booking, BookingStatus, Reminder, ReminderStatus, User, VideoApp
from web.scheduling import reminders
from web.scheduling import timeline as events_log
from web.scheduling.hooks import Actor
from web.settings import Settings
from web.whatsapp import senders
from web.whatsapp.client import WhatsAppClient
from web.whatsapp.errors import WhatsAppError
from web.whatsapp.messages import facts_for, template_parameters

log = logging.getLogger("punctual.reminders")

MAX_ATTEMPTS = 3
BACKOFF_BASE_SECONDS = 5.0
BACKOFF_CAP_SECONDS = 300.0
# A trigger that fires earlier than this before the row's time is put back for later.
EARLY_TOLERANCE = timedelta(seconds=2)


@dataclass(frozen=True)
class Deps:
    """What sending needs from the process: the shared WhatsApp client and the settings."""

    whatsapp: WhatsAppClient
    settings: Settings

    @classmethod
    def from_ctx(cls, ctx: dict) -> Deps:
        return cls(whatsapp=ctx["whatsapp"], settings=ctx["settings"])


class Outcome:
    STALE = "stale"  # another version, another runner, or nothing left to send
    EARLY = "early"
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"


def backoff_seconds(attempts: int, retry_after: float | None) -> float:
    """5 s, 10 s, ... (capped), never sooner than the provider's `Retry-After`."""
    delay = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1))
    return min(BACKOFF_CAP_SECONDS, max(delay, retry_after or 0.0))


class _NotSendable(Exception):
    """Something on our side makes the send impossible (no sender, no template): fail at once."""


async def send_reminder(ctx: dict, *, reminder_id: str, version: int) -> str:
    return await attempt(Deps.from_ctx(ctx), reminder_id, version)


async def attempt(deps: Deps, reminder_id: Any, version: int) -> str:
    """One run for the row `reminder_id` as of `version`."""
    row = await Reminder.objects().get(Reminder.id == reminder_id)
    if row is None or row.status != ReminderStatus.pending or row.version != version:
        return Outcome.STALE
    booking = await Booking.objects().get(Booking.id == row.booking)
    if booking is None:
        return Outcome.STALE
    if booking.status in FINAL_STATUSES and not (
        row.kind == "cancellation" and booking.status == BookingStatus.cancelled
    ):
        await _set(row.id, row.version, ReminderStatus.pending, {Reminder.status: ReminderStatus.cancelled})
        return Outcome.STALE
    now = clock.now()
    if row.fire_at - now > EARLY_TOLERANCE:
        await reminders.enqueue_send(row.id, row.version, row.fire_at, ":early")
        return Outcome.EARLY
    claimed = row.version + 1
    attempts = row.attempts + 1
    if not await _set(
        row.id,
        row.version,
        ReminderStatus.pending,
        {Reminder.status: ReminderStatus.sending, Reminder.attempts: attempts, Reminder.updated_at: now},
    ):
        return Outcome.STALE
    try:
        sender, spec, parameters = await _message(deps, booking, row)
        sent = await deps.whatsapp.send_template(
            sender, row.recipient, spec.name, spec.language, parameters, attempts=1
        )
    except _NotSendable as exc:
        _log_send("not sent", booking, row, attempts, error=str(exc))
        return await _fail(row, booking, claimed, attempts, str(exc))
    except WhatsAppError as exc:
        _log_send("rejected", booking, row, attempts, error=exc.plain_words())
        if exc.permanent or attempts >= MAX_ATTEMPTS:
            return await _fail(row, booking, claimed, attempts, exc.plain_words())
        return await _retry(row, claimed, attempts, exc)
    _log_send("accepted", booking, row, attempts, provider_message_id=sent.message_id)
    return await _sent(row, booking, claimed, attempts, sent.message_id)


def _log_send(outcome: str, booking: Booking, row: Reminder, attempt_number: int, **more: Any) -> None:
    """One structured line per send to WhatsApp, keyed by booking (no phone number, no token)."""
    log.log(
        logging.INFO if outcome == "accepted" else logging.WARNING,
        "reminder send %s",
        outcome,
        extra={
            "event": "reminder_send",
            "outcome": outcome,
            "booking_id": str(booking.id),
            "reminder_id": str(row.id),
            "kind": row.kind,
            "attempt": attempt_number,
            **more,
        },
    )


async def _set(row_id: Any, version: int, status: str, values: dict) -> bool:
    """Conditional UPDATE: only if the row is still `status` at `version`; bumps the version."""
    changed = (
        await Reminder.update({**values, Reminder.version: version + 1})
        .where((Reminder.id == row_id) & (Reminder.status == status) & (Reminder.version == version))
        .returning(Reminder.id)
    )
    return bool(changed)


async def _message(deps: Deps, booking: Booking, row: Reminder):
    sender = await senders.load_sender(booking.app, deps.settings.secret_key)
    if sender is None:
        raise _NotSendable("No WhatsApp sender is linked to this video app.")
    spec = sender.templates.get(row.kind)
    if spec is None:
        raise _NotSendable(
            f"The WhatsApp sender has no template for '{row.kind.replace('_', ' ')}' reminders."
        )
    if not sender.access_token:
        raise _NotSendable("The WhatsApp access token cannot be read; enter it again on the WhatsApp page.")
    app = await VideoApp.objects().get(VideoApp.id == booking.app)
    agent = await User.objects().get(User.id == booking.assigned_agent) if booking.assigned_agent else None
    facts = facts_for(
        booking,
        public_url=deps.settings.public_url,
        agent_name=(agent.name or "") if agent else "",
        app_name=app.name if app else "",
    )
    return sender, spec, template_parameters(spec.params, facts)


async def _sent(row: Reminder, booking: Booking, version: int, attempts: int, message_id: str) -> str:
    now = clock.now()
    async with transaction():
        if not await _set(
            row.id,
            version,
            ReminderStatus.sending,
            {
                Reminder.status: ReminderStatus.sent,
                Reminder.provider_message_id: message_id,
                Reminder.sent_at: now,
                Reminder.last_error: "",
                Reminder.updated_at: now,
            },
        ):
            return Outcome.STALE
        payload = _payload(row, attempts, message_id=message_id)
        await events_log.record(booking.id, "reminder_sent", Actor.system(), payload, now)
    return Outcome.SENT


async def _retry(row: Reminder, version: int, attempts: int, exc: WhatsAppError) -> str:
    now = clock.now()
    next_at = now + timedelta(seconds=backoff_seconds(attempts, exc.retry_after))
    words = exc.plain_words()
    if not await _set(
        row.id,
        version,
        ReminderStatus.sending,
        {
            Reminder.status: ReminderStatus.pending,
            Reminder.fire_at: next_at,
            Reminder.last_error: words,
            Reminder.updated_at: now,
        },
    ):
        return Outcome.STALE
    log.info("reminder %s attempt %d failed (%s); retry at %s", row.id, attempts, words, next_at)
    await reminders.enqueue_send(row.id, version + 1, next_at)
    return Outcome.RETRY


async def _fail(row: Reminder, booking: Booking, version: int, attempts: int, words: str) -> str:
    now = clock.now()
    async with transaction():
        if not await _set(
            row.id,
            version,
            ReminderStatus.sending,
            {Reminder.status: ReminderStatus.failed, Reminder.last_error: words, Reminder.updated_at: now},
        ):
            return Outcome.STALE
        payload = _payload(row, attempts, error=words)
        await events_log.record(booking.id, "reminder_failed", Actor.system(), payload, now)
    log.warning(
        "reminder %s (%s) of booking %s failed after %d attempts: %s",
        row.id,
        row.kind,
        booking.id,
        attempts,
        words,
    )
    return Outcome.FAILED


def _payload(row: Reminder, attempts: int, **extra: Any) -> dict[str, Any]:
    return {
        "reminder_id": str(row.id),
        "kind": row.kind,
        "channel": row.channel,
        "attempts": attempts,
        **extra,
    }


async def repair(now: datetime) -> None:
    report = await reminders.repair_reminders(now)
    if any(report.values()):
        log.info("reconciled reminders: %s", report)


if repair not in reconcile.REPAIRS:
    reconcile.REPAIRS.append(repair)

JOBS = [send_reminder]

"""The booking timeline: an append-only list of events, each with who did it and the details.

`record` writes inside the caller's transaction; `describe` turns an event into one plain sentence
for the timeline UI."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from piccolo.query.functions.aggregate import Max

from web import clock
from web.db.tables import BookingEvent
from web.scheduling.hooks import Actor
from web.scheduling.timeutil import local_time_label, parse_utc

EVENT_TYPES = (
    "created",
    "confirmed",
    "updated",
    "assigned",
    "rescheduled",
    "cancelled",
    "started",
    "completed",
    "no_show",
    "joined",
    "left",
    "reminder_sent",
    "reminder_failed",
    "reminder_skipped",
    "pre_meeting_scheduled",
    "pre_meeting_dispatched",
    "pre_meeting_failed",
    "pre_meeting_cleared",
)

ACTOR_TYPES = ("admin", "agent", "customer", "api", "system")


_LAST_EVENT_AT = "SELECT created_at FROM booking_event WHERE booking = {} ORDER BY created_at DESC LIMIT 1"


async def record(
    booking_id: Any,
    event_type: str,
    actor: Actor,
    payload: dict | None = None,
    now: datetime | None = None,
    *,
    first: bool = False,
) -> BookingEvent:
    """Append one event. Call inside the transaction that made the change it describes. `first`:
    the booking was made in this transaction, so there is no earlier event to come after."""
    _check(event_type, actor)
    # Plain SQL: every booking change runs this, and Piccolo's builder costs more than the query.
    last = [] if first else await BookingEvent.raw(_LAST_EVENT_AT, str(booking_id))
    at = _after(last[0]["created_at"] if last else None, now or clock.now())
    event = _event(booking_id, event_type, actor, payload or {}, at)
    await event.save()
    return event


async def record_many(entries: list[tuple[Any, str, Actor, dict]], now: datetime) -> None:
    """Append one event to each of several bookings (booking id, type, actor, payload) with two
    statements, each event after its booking's last one as `record` does. Inside the caller's
    transaction."""
    if not entries:
        return
    for _, event_type, actor, _ in entries:
        _check(event_type, actor)
    last = {
        # SQLite hands an aggregate of a timestamp back as its stored text.
        str(row["booking"]): parse_utc(row["last"]) if isinstance(row["last"], str) else row["last"]
        for row in await BookingEvent.select(BookingEvent.booking, Max(BookingEvent.created_at, alias="last"))
        .where(BookingEvent.booking.is_in(list({booking for booking, *_ in entries})))
        .group_by(BookingEvent.booking)
    }
    rows = []
    for booking_id, event_type, actor, payload in entries:
        at = last[str(booking_id)] = _after(last.get(str(booking_id)), now)
        rows.append(_event(booking_id, event_type, actor, payload, at))
    await BookingEvent.insert(*rows)


def _check(event_type: str, actor: Actor) -> None:
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown timeline event type {event_type!r}")
    if actor.type not in ACTOR_TYPES:
        raise ValueError(f"unknown actor type {actor.type!r}")


def _after(last: datetime | None, now: datetime) -> datetime:
    """When the next event of a booking happens: `now`, or just after its last event, so events
    stay strictly increasing per booking and the order of those made at one instant is kept."""
    return last + timedelta(microseconds=1) if last is not None and last >= now else now


def _event(booking_id: Any, event_type: str, actor: Actor, payload: dict, at: datetime) -> BookingEvent:
    return BookingEvent(
        booking=booking_id,
        event_type=event_type,
        actor_type=actor.type,
        actor_id=actor.id,
        payload=payload,
        created_at=at,
    )


async def events_of(booking_id: Any) -> list[BookingEvent]:
    """Oldest first, with `payload` as a dict."""
    events = (
        await BookingEvent.objects()
        .where(BookingEvent.booking == booking_id)
        .order_by(BookingEvent.created_at)
    )
    for event in events:
        if isinstance(event.payload, str):
            event.payload = json.loads(event.payload or "{}")
    return events


def _who(event: BookingEvent) -> str:
    names = {
        "admin": "An admin",
        "agent": "The agent",
        "customer": "The customer",
        "api": "The API",
        "system": "Punctual",
    }
    who = names.get(event.actor_type, "Someone")
    if event.actor_type == "api" and event.actor_id:
        who = f"API client {event.actor_id}"
    return who


def _when(value: Any, tz: str) -> str:
    if not value:
        return "?"
    try:
        return local_time_label(parse_utc(value), tz)
    except ValueError:
        return str(value)


def describe(event: BookingEvent, tz: str = "UTC") -> str:
    """One sentence about the event, times shown in `tz`."""
    p = event.payload if isinstance(event.payload, dict) else json.loads(event.payload or "{}")
    who = _who(event)
    reason = f" Reason: {p['reason']}" if p.get("reason") else ""
    kind = event.event_type
    if kind == "created":
        return f"{who} booked the meeting for {_when(p.get('scheduled_at'), tz)}."
    if kind == "confirmed":
        return f"{who} confirmed the meeting."
    if kind == "updated":
        fields = ", ".join(f.replace("_", " ") for f in p.get("fields", [])) or "details"
        return f"{who} changed {fields}.{reason}"
    if kind == "assigned":
        if p.get("claimed"):
            return f"{who} claimed the meeting from the pool."
        to = p.get("to_name") or "another agent"
        return f"{who} assigned the meeting to {to}.{reason}"
    if kind == "rescheduled":
        return f"{who} moved the meeting from {_when(p.get('from'), tz)} to {_when(p.get('to'), tz)}.{reason}"
    if kind == "cancelled":
        return f"{who} cancelled the meeting.{reason}"
    if kind == "started":
        return "The meeting started."
    if kind == "completed":
        return f"{who} ended the meeting."
    if kind == "no_show":
        return f"{who} marked the meeting as a no-show."
    if kind == "joined":
        return "The agent joined the room." if p.get("role") == "host" else "The customer joined the room."
    if kind == "left":
        return "The agent left the room." if p.get("role") == "host" else "The customer left the room."
    if kind.startswith("reminder_"):
        what = str(p.get("kind", "reminder")).replace("_", " ")
        verb = {
            "reminder_sent": "sent",
            "reminder_failed": "could not be sent",
            "reminder_skipped": "skipped",
        }
        detail = p.get("error") or p.get("reason") or ""
        return f"Reminder '{what}' {verb[kind]}." + (f" {detail}" if detail else "")
    if kind == "pre_meeting_scheduled":
        if p.get("retry"):
            return "Genesys pre-meeting message sent again on request (Retry now)."
        return f"Genesys pre-meeting message planned for {_when(p.get('due_at'), tz)}."
    if kind == "pre_meeting_dispatched":
        return "Genesys pre-meeting message delivered to the agent's queue."
    if kind == "pre_meeting_failed":
        error = p.get("error") or p.get("last_error") or "unknown error"
        attempts = p.get("attempts", "?")
        tries = "attempt" if attempts == 1 else "attempts"
        return f"Genesys pre-meeting message failed after {attempts} {tries}: {error}."
    if kind == "pre_meeting_cleared":
        text = "Genesys pre-meeting message cleared." + (f" {p['reason']}" if p.get("reason") else "")
        told = {"cancelled": "was cancelled", "moved": "moved", "reassigned": "went to another agent"}
        if p.get("follow_up") in told:
            text += f" The agent's Genesys conversation is told the meeting {told[p['follow_up']]}."
        return text
    return kind.replace("_", " ").capitalize() + "."

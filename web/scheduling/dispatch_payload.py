"""The open message a pre-meeting dispatch sends to Genesys (product.md §6.10).

Guest names and notes go out as plain text: never HTML-escaped, never interpreted. Architect's
inbound message flow reads the custom attributes (routing on `agentUserId`); the interaction
widget finds the booking again from the conversation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from web.genesys.messages import open_message_body
from web.scheduling.timeutil import to_iso_z

# Genesys caps one custom attribute value; longer notes are cut (the booking page has them all).
MAX_ATTRIBUTE_VALUE = 2000


def sender_id(booking_id: Any) -> str:
    """One sender per booking: meetings never thread into each other, and every message about a
    booking (retries, resends, the cancellation follow-up) lands in the same conversation."""
    return f"booking-{booking_id}"


def meeting_text(guest_name: str, starts_at: datetime) -> str:
    return f"Video meeting with {guest_name} at {starts_at:%H:%M} UTC — accept to join"


def cancelled_text(guest_name: str, starts_at: datetime) -> str:
    return f"The video meeting with {guest_name} at {starts_at:%H:%M} UTC was cancelled — no need to join"


def reassigned_text(guest_name: str, starts_at: datetime) -> str:
    return (
        f"The video meeting with {guest_name} at {starts_at:%H:%M} UTC was given to another agent — "
        "no need to join"
    )


def moved_text(guest_name: str, new_start: datetime) -> str:
    return (
        f"The video meeting with {guest_name} was moved to {new_start:%d %b %H:%M} UTC — "
        "a new message will come before then"
    )


def dispatch_body(
    *,
    booking: Any,
    message_id: str,
    sent_at: datetime,
    agent_genesys_id: str,
    agent_email: str,
    join_url: str,
    include_notes: bool,
) -> dict[str, Any]:
    attributes = {
        "bookingId": str(booking.id),
        "agentUserId": agent_genesys_id,
        "agentEmail": agent_email,
        "guestName": booking.guest_name,
        "meetingStartsAt": to_iso_z(booking.scheduled_at),
        "joinUrl": join_url,
    }
    if include_notes and booking.intake_notes:
        attributes["intakeNotes"] = booking.intake_notes[:MAX_ATTRIBUTE_VALUE]
    return open_message_body(
        message_id=message_id,
        time=sent_at,
        from_id=sender_id(booking.id),
        nickname=booking.guest_name,
        text=meeting_text(booking.guest_name, booking.scheduled_at),
        custom_attributes=attributes,
    )


def follow_up_body(
    *, booking: Any, message_id: str, sent_at: datetime, agent_genesys_id: str, kind: str = "cancelled"
) -> dict[str, Any]:
    """The notice that a delivered meeting was cancelled, moved or reassigned, into the
    conversation the dispatch opened (same sender; the agent attribute routes it to the same agent
    should Genesys have to re-open the conversation)."""
    attributes = {"bookingId": str(booking.id), "agentUserId": agent_genesys_id}
    if kind == "moved":
        text = moved_text(booking.guest_name, booking.scheduled_at)
        attributes["meetingStartsAt"] = to_iso_z(booking.scheduled_at)
    elif kind == "reassigned":
        text = reassigned_text(booking.guest_name, booking.scheduled_at)
        attributes["meetingReassigned"] = "true"
    else:
        text = cancelled_text(booking.guest_name, booking.scheduled_at)
        attributes["meetingCancelled"] = "true"
    return open_message_body(
        message_id=message_id,
        time=sent_at,
        from_id=sender_id(booking.id),
        nickname=booking.guest_name,
        text=text,
        custom_attributes=attributes,
    )

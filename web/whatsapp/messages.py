"""What a reminder says: the values of a template's body variables for one booking.

A sender maps each reminder kind to an approved template and lists, in order, which of the
variables below fill the template's `{{1}}`, `{{2}}`, ... The meeting time is shown in the guest's
time zone when we know it, else in the app's, with the zone's name so nobody has to guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from web.db.tables import BookingStatus
from web.scheduling.timeutil import local_time_label, valid_timezone

VARIABLES: dict[str, str] = {
    "guest_name": "The guest's name",
    "meeting_time": "Start of the meeting in the guest's time zone (else the app's)",
    "join_link": "The guest's link to the meeting room",
    "confirm_link": "The link that confirms the meeting (while confirmation is pending)",
    "action_link": "The confirm link while confirmation is pending, else the join link",
    "agent_name": "The name of the agent",
    "app_name": "The name of the video app",
    "duration_minutes": "Length of the meeting in minutes",
}

# What a template parameter must never be (the Cloud API refuses empty text parameters).
NO_CONFIRMATION_NEEDED = "no confirmation needed"


@dataclass(frozen=True)
class MessageFacts:
    guest_name: str
    scheduled_at: datetime
    timezone: str
    guest_link: str
    confirm_link: str
    pending_confirmation: bool
    agent_name: str = ""
    app_name: str = ""
    duration_minutes: int = 30


def meeting_timezone(guest_timezone: str | None, app_timezone: str | None) -> str:
    for name in (guest_timezone, app_timezone):
        if name and valid_timezone(name):
            return name
    return "UTC"


def facts_for(booking, *, public_url: str, agent_name: str = "", app_name: str = "") -> MessageFacts:
    base = public_url.rstrip("/")
    return MessageFacts(
        guest_name=booking.guest_name,
        scheduled_at=booking.scheduled_at,
        timezone=meeting_timezone(booking.guest_timezone, booking.app_timezone),
        guest_link=f"{base}/rooms/{booking.guest_token}",
        confirm_link=f"{base}/confirm/{booking.confirm_token}",
        pending_confirmation=booking.status == BookingStatus.pending_confirmation,
        agent_name=agent_name,
        app_name=app_name,
        duration_minutes=booking.duration_minutes,
    )


def variable_value(name: str, facts: MessageFacts) -> str:
    if name == "guest_name":
        return facts.guest_name
    if name == "meeting_time":
        return local_time_label(facts.scheduled_at, facts.timezone)
    if name == "join_link":
        return facts.guest_link
    if name == "confirm_link":
        return facts.confirm_link if facts.pending_confirmation else NO_CONFIRMATION_NEEDED
    if name == "action_link":
        return facts.confirm_link if facts.pending_confirmation else facts.guest_link
    if name == "agent_name":
        return facts.agent_name or "your agent"
    if name == "app_name":
        return facts.app_name or "us"
    if name == "duration_minutes":
        return str(facts.duration_minutes)
    raise KeyError(f"unknown template variable {name!r}")


def template_parameters(variables: tuple[str, ...] | list[str], facts: MessageFacts) -> list[str]:
    # Never an empty string: WhatsApp rejects empty text parameters.
    return [variable_value(name, facts) or "-" for name in variables]

"""An agent's week: their bookings as cards grouped by local day, in a bounded number of queries
(one for the bookings with their dispatch rows, more only for bookings without one)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from web.db.tables import FINAL_STATUSES, Booking
from web.scheduling.dispatch import dispatch_states
from web.scheduling.timeutil import hh_mm, week_bounds, zone

_FINAL = frozenset(s.value for s in FINAL_STATUSES)

# A week of cards in one statement: the bookings with their live dispatch row (at most one, as
# `live_key` is unique), in plain SQL since Piccolo selects do not join from a booking to its rows.
_WEEK = """
SELECT b.id, b.guest_name, b.scheduled_at, b.duration_minutes, b.status, b.host_token, b.app_timezone,
       d.live_key, d.status AS dispatch_status, d.due_at, d.next_attempt_at, d.dispatched_at,
       d.failed_at, d.attempts, d.last_error
FROM booking b LEFT JOIN dispatch d ON d.booking = b.id AND d.live_key IS NOT NULL
WHERE b.app = {} AND b.assigned_agent = {} AND b.scheduled_at >= {} AND b.scheduled_at < {}
ORDER BY b.scheduled_at
"""


@dataclass(slots=True)
class Card:
    """What one agenda card shows, worked out once in Python (a week can hold hundreds)."""

    id: str
    guest_name: str
    scheduled_at: datetime
    time: str  # HH:MM on the viewer's clock
    app_time: str  # HH:MM on the app's clock, "" when the zones agree
    app_timezone: str
    duration_minutes: int
    status: str
    status_label: str
    host_token: str
    dispatch: Any = None
    joinable: bool = True


@dataclass
class Day:
    date: date
    bookings: list[Card] = field(default_factory=list)


def week_of(day: date) -> date:
    """The Monday of the week containing `day`."""
    return day - timedelta(days=day.weekday())


def week_range(monday: date, tz: str) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the Monday-to-Sunday week beginning `monday`, local to `tz`."""
    return week_bounds(monday, tz)


async def week_agenda(
    user_id: int, app_id: int, week_start_utc: datetime, week_end_utc: datetime
) -> list[dict[str, Any]]:
    """The user's bookings in the app starting in [start, end), earliest first; each a dict of
    the card's columns plus `dispatch` (the dispatch state, or None)."""
    rows = await Booking.raw(_WEEK, app_id, user_id, week_start_utc, week_end_utc)
    if not rows:
        return []
    live = [{**row, "status": row["dispatch_status"]} for row in rows if row["live_key"] is not None]
    # The rows already say what the dispatch states need: no second read of bookings or dispatches.
    mine = [{"id": r["id"], "app": app_id, "assigned_agent": user_id, "status": r["status"]} for r in rows]
    states = await dispatch_states([r["id"] for r in rows], mine, live)
    for row in rows:
        row["dispatch"] = states.get(str(row["id"]))
    return rows


def by_day(rows: list[dict[str, Any]], monday: date, tz: str) -> list[Day]:
    """Seven days from `monday`, each with the cards of its bookings (by start time in `tz`)."""
    days = [Day(monday + timedelta(days=i)) for i in range(7)]
    tzinfo = zone(tz)
    for row in rows:
        local = row["scheduled_at"].astimezone(tzinfo)
        index = (local.date() - monday).days
        if 0 <= index < 7:
            days[index].bookings.append(_card(row, local, tz))
    return days


def _card(row: dict[str, Any], local: datetime, tz: str) -> Card:
    app_tz = row["app_timezone"] or tz
    status = str(row["status"])
    return Card(
        id=str(row["id"]),
        guest_name=row["guest_name"],
        scheduled_at=row["scheduled_at"],
        time=hh_mm(local),
        app_time="" if app_tz == tz else hh_mm(row["scheduled_at"].astimezone(zone(app_tz))),
        app_timezone=app_tz,
        duration_minutes=row["duration_minutes"],
        status=status,
        status_label=status.replace("_", " "),
        host_token=row["host_token"],
        dispatch=row.get("dispatch"),
        joinable=status not in _FINAL,
    )

"""Loads an app's availability rows from the database and asks the pure engine
(`web.scheduling.availability`) whether agents are free or which slots are open.

Agent ids given to the engine are `str(User.id)`. An agent is one person across apps: their
bookings and DND windows in every app keep them busy; working hours and exceptions are per app."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from web.db.tables import (
    FINAL_STATUSES,
    AvailabilityException,
    Booking,
    DndWindow,
    WorkingHours,
)
from web.scheduling import availability
from web.scheduling.availability import BusyBooking, Slot, WorkingWindow
from web.scheduling.timeutil import parse_wall_time

# Bookings starting this far either side of a range can still reach into it (duration + buffers).
_REACH = timedelta(days=1)


def _marks(values: list[Any]) -> str:
    """One placeholder per value, for an `IN (...)` of plain SQL (what it adds to a statement is
    only placeholders, hence the `noqa: S608` where it is used)."""
    return ", ".join(["{}"] * len(values))


# The four reads below run for every booking created or moved, so they are plain SQL: Piccolo's
# query builder, with its foreign-key columns, costs about twice the queries themselves.


async def working_windows(app_id: int, agent_ids: Iterable[int]) -> list[WorkingWindow]:
    ids = list(agent_ids)
    if not ids:
        return []
    where = f'app = {{}} AND "user" IN ({_marks(ids)})'
    columns = '"user", weekday, "start", "end", timezone'
    rows = await WorkingHours.raw(f"SELECT {columns} FROM working_hours WHERE {where}", app_id, *ids)  # noqa: S608
    return [
        WorkingWindow(
            str(r["user"]),
            r["weekday"],
            parse_wall_time(r["start"]),  # "24:00" ends a day (people.py accepts it)
            parse_wall_time(r["end"]),
            r["timezone"],
        )
        for r in rows
    ]


async def exceptions(app_id: int, agent_ids: list[int], start: datetime, end: datetime):
    if not agent_ids:
        return []
    where = f'app = {{}} AND "user" IN ({_marks(agent_ids)}) AND starts_at < {{}} AND ends_at > {{}}'
    sql = f'SELECT "user", starts_at, ends_at, kind FROM availability_exception WHERE {where}'  # noqa: S608
    rows = await AvailabilityException.raw(sql, app_id, *agent_ids, end, start)
    return [
        availability.AvailabilityException(str(r["user"]), r["starts_at"], r["ends_at"], r["kind"])
        for r in rows
        if r["ends_at"] > r["starts_at"]
    ]


async def dnd_windows(agent_ids: list[int], start: datetime, end: datetime):
    if not agent_ids:
        return []
    where = f'"user" IN ({_marks(agent_ids)}) AND starts_at < {{}} AND ends_at > {{}}'
    sql = f'SELECT "user", starts_at, ends_at FROM dnd_window WHERE {where}'  # noqa: S608
    rows = await DndWindow.raw(sql, *agent_ids, end, start)
    return [
        availability.DndWindow(str(r["user"]), r["starts_at"], r["ends_at"])
        for r in rows
        if r["ends_at"] > r["starts_at"]
    ]


async def busy_bookings(
    agent_ids: list[int], start: datetime, end: datetime, *, exclude_booking_id: Any = None
) -> list[BusyBooking]:
    """The agents' bookings that still hold time near [start, end), in every app."""
    if not agent_ids:
        return []
    final = [s.value for s in FINAL_STATUSES]
    columns = (
        "id, assigned_agent, scheduled_at, duration_minutes, buffer_before_minutes, buffer_after_minutes"
    )
    where = f"assigned_agent IN ({_marks(agent_ids)}) AND status NOT IN ({_marks(final)})"
    sql = f"SELECT {columns} FROM booking WHERE {where} AND scheduled_at > {{}} AND scheduled_at < {{}}"  # noqa: S608
    args: list[Any] = [*agent_ids, *final, start - _REACH, end + _REACH]
    if exclude_booking_id is not None:
        sql += " AND id <> {}"
        args.append(str(exclude_booking_id))
    return [
        BusyBooking(
            agent_id=str(r["assigned_agent"]),
            start=r["scheduled_at"],
            duration_minutes=r["duration_minutes"],
            buffer_before_minutes=r["buffer_before_minutes"],
            buffer_after_minutes=r["buffer_after_minutes"],
            booking_id=str(r["id"]),
        )
        for r in await Booking.raw(sql, *args)
    ]


async def conflicts(
    app_id: int,
    agent_ids: list[int],
    start: datetime,
    duration_minutes: int,
    *,
    buffer_before: int = 0,
    buffer_after: int = 0,
    respect_working_hours: bool = True,
    exclude_booking_id: Any = None,
) -> dict[int, str | None]:
    """For each agent, why they cannot take this meeting, or None when they can."""
    end = start + timedelta(minutes=duration_minutes)
    span_start = start - timedelta(minutes=buffer_before)
    span_end = end + timedelta(minutes=buffer_after)
    windows = await working_windows(app_id, agent_ids) if respect_working_hours else []
    excs = await exceptions(app_id, agent_ids, span_start, span_end)
    dnd = await dnd_windows(agent_ids, span_start, span_end)
    busy = await busy_bookings(agent_ids, span_start, span_end, exclude_booking_id=exclude_booking_id)
    return {
        agent_id: availability.conflict_reason(
            str(agent_id),
            start,
            end,
            buffer_before=buffer_before,
            buffer_after=buffer_after,
            windows=windows,
            exceptions=excs,
            dnd=dnd,
            bookings=busy,
            respect_working_hours=respect_working_hours,
        )
        for agent_id in agent_ids
    }


async def conflict_for(
    app_id: int, agent_id: int, start: datetime, duration_minutes: int, **kwargs
) -> str | None:
    """Why `agent_id` cannot take this meeting, or None; see `conflicts`."""
    return (await conflicts(app_id, [agent_id], start, duration_minutes, **kwargs))[agent_id]


async def agents_with_hours(app_id: int) -> list[int]:
    """Every member of the app with working hours: the default agent set of a slot search."""
    rows = await WorkingHours.select(WorkingHours.user).where(WorkingHours.app == app_id).distinct()
    return sorted(r["user"] for r in rows)


async def find_slots(
    app_id: int,
    *,
    from_utc: datetime,
    to_utc: datetime,
    duration_minutes: int,
    agent_ids: list[int] | None = None,
    step_minutes: int | None = None,
    buffer_before_minutes: int = 0,
    buffer_after_minutes: int = 0,
    respect_working_hours: bool = True,
    max_candidates: int = availability.MAX_CANDIDATES,
) -> list[Slot]:
    """Free slots of the app's agents (default: every member with working hours). Raises
    ValueError / availability.TooManyCandidates like the engine."""
    agents = sorted(set(agent_ids)) if agent_ids is not None else await agents_with_hours(app_id)
    # Check the candidate budget before touching the database for a huge range.
    step = duration_minutes if step_minutes is None else step_minutes
    if step >= 1 and to_utc > from_utc:
        total = availability.candidate_count(from_utc, to_utc, duration_minutes, step) * len(agents)
        if total > max_candidates:
            raise availability.TooManyCandidates(
                f"{total} candidate slots exceed the limit of {max_candidates}: narrow the range, "
                "use a larger step or ask for fewer agents"
            )
    span_start = from_utc - timedelta(minutes=buffer_before_minutes)
    span_end = to_utc + timedelta(minutes=buffer_after_minutes)
    return availability.find_slots(
        agent_ids=[str(a) for a in agents],
        from_utc=from_utc,
        to_utc=to_utc,
        duration_minutes=duration_minutes,
        step_minutes=step_minutes,
        buffer_before_minutes=buffer_before_minutes,
        buffer_after_minutes=buffer_after_minutes,
        respect_working_hours=respect_working_hours,
        windows=await working_windows(app_id, agents) if respect_working_hours else [],
        exceptions=await exceptions(app_id, agents, span_start, span_end),
        dnd=await dnd_windows(agents, span_start, span_end),
        bookings=await busy_bookings(agents, span_start, span_end),
        max_candidates=max_candidates,
    )

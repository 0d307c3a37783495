"""The availability engine: when an agent can take a meeting.

Availability = working hours + `available_extra` exceptions - `blocked` exceptions - DND windows,
and a meeting must also keep clear of every other booking, buffers included. Pure functions over
plain frozen values; the database layer loads the rows and the API shapes the answer.

Conventions:
- All intervals are half-open [start, end): a meeting ending at 10:00 and one starting at 10:00
  do not conflict.
- Working hours, exceptions and DND constrain the meeting itself. Buffers separate bookings from
  each other: a booking occupies [start - buffer_before, end + buffer_after] and two occupied spans
  may not intersect, whichever of the two was booked first.
- Callers pass only bookings that still hold time (not cancelled, completed or no-show) and leave
  out the booking being rescheduled.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Literal

from web.scheduling.timeutil import ensure_aware, local_to_utc, zone

Interval = tuple[datetime, datetime]

MIN_DURATION_MINUTES = 5
MAX_DURATION_MINUTES = 480
MAX_CANDIDATES = 400

OUTSIDE_WORKING_HOURS = "outside working hours"
OVERLAPS_DND = "overlaps a DND window"
OVERLAPS_BOOKING = "overlaps another booking (including buffers)"
BLOCKED_BY_EXCEPTION = "blocked by an availability exception"

ExceptionKind = Literal["blocked", "available_extra"]


# --- values ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkingWindow:
    """A weekly window, wall-clock times local to its own zone. `end <= start` runs past midnight
    into the next local day (so 00:00-00:00 is the whole day)."""

    agent_id: str
    weekday: int  # 0 = Monday
    start: time
    end: time
    timezone: str

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), got {self.weekday}")
        zone(self.timezone)


@dataclass(frozen=True)
class AvailabilityException:
    agent_id: str
    start: datetime
    end: datetime
    kind: ExceptionKind

    def __post_init__(self) -> None:
        if self.kind not in ("blocked", "available_extra"):
            raise ValueError(f"exception kind must be 'blocked' or 'available_extra', got {self.kind!r}")
        _check_range(self.start, self.end, "exception")


@dataclass(frozen=True)
class DndWindow:
    agent_id: str
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        _check_range(self.start, self.end, "DND window")


@dataclass(frozen=True)
class BusyBooking:
    agent_id: str
    start: datetime
    duration_minutes: int
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    booking_id: str | None = None  # lets callers map `overlapping` results back to their rows

    def __post_init__(self) -> None:
        ensure_aware(self.start, "booking start")
        if self.duration_minutes <= 0:
            raise ValueError(f"booking duration must be positive, got {self.duration_minutes}")
        if self.buffer_before_minutes < 0 or self.buffer_after_minutes < 0:
            raise ValueError("booking buffers cannot be negative")

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.duration_minutes)

    @property
    def occupied(self) -> Interval:
        return _occupied(self.start, self.end, self.buffer_before_minutes, self.buffer_after_minutes)


@dataclass(frozen=True)
class Slot:
    start_utc: datetime
    end_utc: datetime
    agent_id: str


class TooManyCandidates(ValueError):
    """The request would test more start times than the engine is willing to."""


# --- interval arithmetic ---------------------------------------------------------------------------


def _check_range(start: datetime, end: datetime, what: str) -> None:
    if ensure_aware(end, f"{what} end") <= ensure_aware(start, f"{what} start"):
        raise ValueError(f"{what} must end after it starts")


def _occupied(start: datetime, end: datetime, before: int, after: int) -> Interval:
    return start - timedelta(minutes=before), end + timedelta(minutes=after)


def _overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    return a_start < b_end and b_start < a_end


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, with overlapping and touching intervals joined and empty ones dropped."""
    merged: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[0] < i[1]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def subtract(intervals: Iterable[Interval], cuts: Iterable[Interval]) -> list[Interval]:
    """The parts of `intervals` not covered by any of `cuts`."""
    remaining = merge(intervals)
    for cut_start, cut_end in merge(cuts):
        pieces: list[Interval] = []
        for start, end in remaining:
            if not _overlaps(start, end, cut_start, cut_end):
                pieces.append((start, end))
                continue
            if start < cut_start:
                pieces.append((start, cut_start))
            if cut_end < end:
                pieces.append((cut_end, end))
        remaining = pieces
    return remaining


def _covers(intervals: list[Interval], start: datetime, end: datetime) -> bool:
    """True when one of the merged `intervals` contains all of [start, end)."""
    return any(i_start <= start and end <= i_end for i_start, i_end in intervals)


# --- working hours ---------------------------------------------------------------------------------


def _expand(window: WorkingWindow, from_utc: datetime, to_utc: datetime) -> list[Interval]:
    """The concrete UTC intervals of one weekly window that touch [from_utc, to_utc), clipped."""
    tz = zone(window.timezone)
    # One extra day either side catches windows that cross local midnight and zones far from UTC.
    day = from_utc.astimezone(tz).date() - timedelta(days=1)
    last_day = to_utc.astimezone(tz).date() + timedelta(days=1)
    overnight = window.end <= window.start
    intervals = []
    while day <= last_day:
        if day.weekday() == window.weekday:
            start = local_to_utc(day, window.start, tz)
            end = local_to_utc(day + timedelta(days=1) if overnight else day, window.end, tz)
            clipped = (max(start, from_utc), min(end, to_utc))
            if clipped[0] < clipped[1]:
                intervals.append(clipped)
        day += timedelta(days=1)
    return intervals


def working_intervals(
    windows: Iterable[WorkingWindow], from_utc: datetime, to_utc: datetime
) -> dict[str, list[Interval]]:
    """Per agent, the merged UTC intervals inside [from_utc, to_utc) covered by working hours.

    Each window is expanded per local date in its own zone, so 09:00-17:00 stays 09:00-17:00 on
    the clock across a DST change. Every agent with a window gets a key, even if the list is empty."""
    from_utc = ensure_aware(from_utc, "from_utc")
    to_utc = ensure_aware(to_utc, "to_utc")
    per_agent: dict[str, list[Interval]] = {}
    for window in windows:
        per_agent.setdefault(window.agent_id, []).extend(_expand(window, from_utc, to_utc))
    return {agent: merge(intervals) for agent, intervals in per_agent.items()}


# --- one agent's calendar over a span ----------------------------------------------------------------


@dataclass(frozen=True)
class _AgentCalendar:
    """Everything needed to judge meetings of one agent that lie inside one span."""

    open_time: list[Interval] | None  # working hours + extra; None when working hours are ignored
    blocked: list[Interval]
    dnd: list[Interval]
    busy: list[Interval]  # occupied spans of the agent's bookings, buffers included

    @classmethod
    def build(
        cls,
        agent_id: str,
        span: Interval,
        *,
        windows: Iterable[WorkingWindow],
        exceptions: Iterable[AvailabilityException],
        dnd: Iterable[DndWindow],
        bookings: Iterable[BusyBooking],
        respect_working_hours: bool,
    ) -> _AgentCalendar:
        exceptions = [e for e in exceptions if e.agent_id == agent_id]
        open_time = None
        if respect_working_hours:
            own_windows = [w for w in windows if w.agent_id == agent_id]
            worked = working_intervals(own_windows, *span).get(agent_id, [])
            extra = [(e.start, e.end) for e in exceptions if e.kind == "available_extra"]
            open_time = merge([*worked, *extra])
        return cls(
            open_time=open_time,
            blocked=merge((e.start, e.end) for e in exceptions if e.kind == "blocked"),
            dnd=merge((d.start, d.end) for d in dnd if d.agent_id == agent_id),
            busy=sorted(b.occupied for b in bookings if b.agent_id == agent_id),
        )

    def conflict(self, start: datetime, end: datetime, before: int, after: int) -> str | None:
        # Explicit blocks first, since they tell the user most; working hours are the broad default.
        if any(_overlaps(start, end, s, e) for s, e in self.blocked):
            return BLOCKED_BY_EXCEPTION
        if any(_overlaps(start, end, s, e) for s, e in self.dnd):
            return OVERLAPS_DND
        occupied_start, occupied_end = _occupied(start, end, before, after)
        if any(_overlaps(occupied_start, occupied_end, s, e) for s, e in self.busy):
            return OVERLAPS_BOOKING
        if self.open_time is not None and not _covers(self.open_time, start, end):
            return OUTSIDE_WORKING_HOURS
        return None


# --- public checks -----------------------------------------------------------------------------------


def conflict_reason(
    agent_id: str,
    start: datetime,
    end: datetime,
    *,
    buffer_before: int = 0,
    buffer_after: int = 0,
    windows: Iterable[WorkingWindow] = (),
    exceptions: Iterable[AvailabilityException] = (),
    dnd: Iterable[DndWindow] = (),
    bookings: Iterable[BusyBooking] = (),
    respect_working_hours: bool = True,
) -> str | None:
    """Why the agent cannot take a meeting over [start, end) with these buffers, or None if they can.

    The inputs may hold other agents' rows; only `agent_id`'s are read."""
    start = ensure_aware(start, "start")
    end = ensure_aware(end, "end")
    if end <= start:
        raise ValueError("a meeting must end after it starts")
    if buffer_before < 0 or buffer_after < 0:
        raise ValueError("buffers cannot be negative")
    calendar = _AgentCalendar.build(
        agent_id,
        (start, end),
        windows=windows,
        exceptions=exceptions,
        dnd=dnd,
        bookings=bookings,
        respect_working_hours=respect_working_hours,
    )
    return calendar.conflict(start, end, buffer_before, buffer_after)


def is_free(
    agent_id: str,
    start: datetime,
    end: datetime,
    *,
    buffer_before: int = 0,
    buffer_after: int = 0,
    windows: Iterable[WorkingWindow] = (),
    exceptions: Iterable[AvailabilityException] = (),
    dnd: Iterable[DndWindow] = (),
    bookings: Iterable[BusyBooking] = (),
    respect_working_hours: bool = True,
) -> bool:
    """True when the agent can take a meeting over [start, end); see `conflict_reason`."""
    reason = conflict_reason(
        agent_id,
        start,
        end,
        buffer_before=buffer_before,
        buffer_after=buffer_after,
        windows=windows,
        exceptions=exceptions,
        dnd=dnd,
        bookings=bookings,
        respect_working_hours=respect_working_hours,
    )
    return reason is None


def candidate_count(from_utc: datetime, to_utc: datetime, duration_minutes: int, step_minutes: int) -> int:
    """How many grid start times fit in [from_utc, to_utc) for one agent."""
    room = (to_utc - from_utc) - timedelta(minutes=duration_minutes)
    if room < timedelta(0):
        return 0
    return math.floor(room / timedelta(minutes=step_minutes)) + 1


def find_slots(
    *,
    agent_ids: Iterable[str],
    from_utc: datetime,
    to_utc: datetime,
    duration_minutes: int,
    step_minutes: int | None = None,
    buffer_before_minutes: int = 0,
    buffer_after_minutes: int = 0,
    respect_working_hours: bool = True,
    windows: Iterable[WorkingWindow] = (),
    exceptions: Iterable[AvailabilityException] = (),
    dnd: Iterable[DndWindow] = (),
    bookings: Iterable[BusyBooking] = (),
    max_candidates: int = MAX_CANDIDATES,
) -> list[Slot]:
    """Free slots on a grid of `step_minutes` (default: the duration) starting at `from_utc`,
    for each agent, sorted by (start, agent id).

    Raises ValueError for a bad range or duration, and TooManyCandidates when start times x agents
    would exceed `max_candidates`."""
    from_utc = ensure_aware(from_utc, "from_utc")
    to_utc = ensure_aware(to_utc, "to_utc")
    if to_utc <= from_utc:
        raise ValueError("the end of the range must be after its start")
    if not MIN_DURATION_MINUTES <= duration_minutes <= MAX_DURATION_MINUTES:
        raise ValueError(
            f"duration must be between {MIN_DURATION_MINUTES} and {MAX_DURATION_MINUTES} minutes, "
            f"got {duration_minutes}"
        )
    step = duration_minutes if step_minutes is None else step_minutes
    if step < 1:
        raise ValueError(f"step must be at least 1 minute, got {step}")
    if buffer_before_minutes < 0 or buffer_after_minutes < 0:
        raise ValueError("buffers cannot be negative")

    agents = sorted(set(agent_ids))
    starts_per_agent = candidate_count(from_utc, to_utc, duration_minutes, step)
    total = starts_per_agent * len(agents)
    if total > max_candidates:
        raise TooManyCandidates(
            f"{total} candidate slots ({starts_per_agent} start times x {len(agents)} agents) exceed "
            f"the limit of {max_candidates}: narrow the range, use a larger step or ask for fewer agents"
        )

    windows, exceptions, dnd, bookings = list(windows), list(exceptions), list(dnd), list(bookings)
    length = timedelta(minutes=duration_minutes)
    slots = []
    for agent_id in agents:
        calendar = _AgentCalendar.build(
            agent_id,
            (from_utc, to_utc),
            windows=windows,
            exceptions=exceptions,
            dnd=dnd,
            bookings=bookings,
            respect_working_hours=respect_working_hours,
        )
        for index in range(starts_per_agent):
            start = from_utc + index * timedelta(minutes=step)
            end = start + length
            if calendar.conflict(start, end, buffer_before_minutes, buffer_after_minutes) is None:
                slots.append(Slot(start.astimezone(UTC), end.astimezone(UTC), agent_id))
    slots.sort(key=lambda slot: (slot.start_utc, slot.agent_id))
    return slots


def overlapping(
    dnd_start: datetime, dnd_end: datetime, bookings: Iterable[BusyBooking], *, agent_id: str | None = None
) -> list[BusyBooking]:
    """The bookings whose meeting time falls inside a proposed DND window, earliest first, so the
    agent can be told "this affects N bookings" before saving it. `agent_id` narrows the list."""
    dnd_start = ensure_aware(dnd_start, "DND start")
    dnd_end = ensure_aware(dnd_end, "DND end")
    hits = [
        b
        for b in bookings
        if (agent_id is None or b.agent_id == agent_id) and _overlaps(dnd_start, dnd_end, b.start, b.end)
    ]
    return sorted(hits, key=lambda b: (b.start, b.agent_id))

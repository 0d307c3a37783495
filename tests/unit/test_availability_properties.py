"""Properties of the availability engine over random calendars near DST changes.

The strongest one compares `find_slots` with a brute-force oracle that knows nothing of the
engine's interval arithmetic: it converts each five-minute instant to the window's local time and
asks whether the wall clock is inside the window. Everything generated lies on a five-minute UTC
grid (the zones used have offsets in whole quarter hours), so checking those instants is exact."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from web.scheduling.availability import (
    AvailabilityException,
    BusyBooking,
    DndWindow,
    Slot,
    TooManyCandidates,
    WorkingWindow,
    candidate_count,
    find_slots,
    is_free,
    working_intervals,
)

AGENTS = ["ana", "bo"]
ZONES = [
    "UTC",
    "America/New_York",
    "Europe/Madrid",
    "America/Bogota",
    "America/Santiago",  # its clocks jump at midnight
    "Australia/Lord_Howe",  # half-hour DST shift
    "Asia/Kathmandu",  # UTC+05:45
]


@dataclass(frozen=True)
class Change:
    """A Friday (the base of the generated calendars) just before a DST change in `zone`, which
    happens on local `weekday` around the wall-clock hours `first_hour` to `first_hour + 3`."""

    base: datetime
    zone: str
    weekday: int
    first_hour: int

    def times(self) -> list[time]:
        hours = [(self.first_hour + h) % 24 for h in range(4)]
        return [time(h, m) for h in hours for m in (0, 15, 30, 45)]


CHANGES = [
    Change(datetime(2026, 3, 6, tzinfo=UTC), "America/New_York", 6, 1),  # 02:00 -> 03:00
    Change(datetime(2026, 10, 30, tzinfo=UTC), "America/New_York", 6, 0),  # 02:00 -> 01:00
    Change(datetime(2026, 3, 27, tzinfo=UTC), "Europe/Madrid", 6, 1),  # 02:00 -> 03:00
    Change(datetime(2026, 10, 23, tzinfo=UTC), "Europe/Madrid", 6, 1),  # 03:00 -> 02:00
    Change(datetime(2026, 4, 3, tzinfo=UTC), "America/Santiago", 5, 22),  # Sunday 00:00 -> Sat 23:00
    Change(datetime(2026, 9, 4, tzinfo=UTC), "America/Santiago", 6, 23),  # 00:00 -> 01:00
    Change(datetime(2026, 4, 3, tzinfo=UTC), "Australia/Lord_Howe", 6, 0),  # 02:00 -> 01:30
    Change(datetime(2026, 10, 2, tzinfo=UTC), "Australia/Lord_Howe", 6, 1),  # 02:00 -> 02:30
    Change(datetime(2026, 5, 1, tzinfo=UTC), "UTC", 0, 8),  # an ordinary week
]
FIVE = timedelta(minutes=5)

# No example database: runs stay independent and leave nothing behind in the working tree.
PROPERTY_SETTINGS = settings(
    max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


@dataclass(frozen=True)
class World:
    from_utc: datetime
    to_utc: datetime
    duration: int
    step: int | None
    buffer_before: int
    buffer_after: int
    respect_working_hours: bool
    windows: tuple[WorkingWindow, ...]
    exceptions: tuple[AvailabilityException, ...]
    dnd: tuple[DndWindow, ...]
    bookings: tuple[BusyBooking, ...]

    def slots(self, **changes) -> list[Slot]:
        world = replace(self, **changes)
        return find_slots(
            agent_ids=AGENTS,
            from_utc=world.from_utc,
            to_utc=world.to_utc,
            duration_minutes=world.duration,
            step_minutes=world.step,
            buffer_before_minutes=world.buffer_before,
            buffer_after_minutes=world.buffer_after,
            respect_working_hours=world.respect_working_hours,
            windows=world.windows,
            exceptions=world.exceptions,
            dnd=world.dnd,
            bookings=world.bookings,
            max_candidates=2000,
        )

    def candidates(self) -> list[Slot]:
        step = timedelta(minutes=self.step or self.duration)
        count = candidate_count(self.from_utc, self.to_utc, self.duration, self.step or self.duration)
        return [
            Slot(self.from_utc + i * step, self.from_utc + i * step + timedelta(minutes=self.duration), agent)
            for agent in AGENTS
            for i in range(count)
        ]


def quarter_hour() -> st.SearchStrategy[time]:
    return st.builds(lambda q: time(q // 4, (q % 4) * 15), st.integers(0, 95))


@st.composite
def windows_near(draw, change: Change) -> WorkingWindow:
    """A window on the day of the change that mostly opens or closes in the hours around it."""
    times = st.sampled_from(change.times()) | st.sampled_from(change.times()) | quarter_hour()
    return WorkingWindow(
        agent_id=draw(st.sampled_from(AGENTS)),
        weekday=change.weekday,
        start=draw(times),
        end=draw(times),
        timezone=change.zone,
    )


@st.composite
def windows(draw, change: Change) -> WorkingWindow:
    # Half of the windows sit around the change itself, where mistakes hide.
    if draw(st.booleans()):
        return draw(windows_near(change))
    return WorkingWindow(
        agent_id=draw(st.sampled_from(AGENTS)),
        weekday=draw(st.integers(0, 6)),
        start=draw(quarter_hour()),
        end=draw(quarter_hour()),
        timezone=draw(st.sampled_from(ZONES)),
    )


@st.composite
def spans(draw, base: datetime, longest_minutes: int) -> tuple[str, datetime, datetime]:
    start = base + FIVE * draw(st.integers(0, 4 * 288))
    return draw(st.sampled_from(AGENTS)), start, start + FIVE * draw(st.integers(1, longest_minutes // 5))


@st.composite
def worlds(draw) -> World:
    change = draw(st.sampled_from(CHANGES))
    base = change.base
    # From Friday noon to Saturday noon UTC, for up to two days: the change is usually inside.
    from_utc = base + timedelta(hours=12) + FIVE * draw(st.integers(0, 288))
    to_utc = from_utc + FIVE * draw(st.integers(1, 2 * 288))

    def exception(span, kind):
        return AvailabilityException(span[0], span[1], span[2], kind)

    exceptions = draw(
        st.lists(
            st.builds(exception, spans(base, 24 * 60), st.sampled_from(["blocked", "available_extra"])),
            max_size=3,
        )
    )
    dnd = draw(st.lists(st.builds(lambda s: DndWindow(*s), spans(base, 180)), max_size=2))

    @st.composite
    def booking(draw_booking):
        agent, start, end = draw_booking(spans(base, 120))
        return BusyBooking(
            agent,
            start,
            int((end - start) / timedelta(minutes=1)),
            5 * draw_booking(st.integers(0, 6)),
            5 * draw_booking(st.integers(0, 6)),
        )

    return World(
        from_utc=from_utc,
        to_utc=to_utc,
        duration=draw(st.sampled_from([5, 15, 30, 45, 60, 90, 120, 480])),
        step=draw(st.sampled_from([None, 15, 20, 30, 60])),
        buffer_before=5 * draw(st.integers(0, 6)),
        buffer_after=5 * draw(st.integers(0, 6)),
        respect_working_hours=draw(st.booleans()),
        windows=tuple(draw(st.lists(windows(change), max_size=5))),
        exceptions=tuple(exceptions),
        dnd=tuple(dnd),
        bookings=tuple(draw(st.lists(booking(), max_size=4))),
    )


# --- the oracle ---------------------------------------------------------------------------------------


def _ambiguous(local: datetime) -> bool:
    return local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()


def _in_window(window: WorkingWindow, instant: datetime) -> bool | None:
    """Whether the wall clock in the window's zone is inside it; None in a repeated hour, where the
    wall clock alone cannot tell which occurrence the window meant."""
    local = instant.astimezone(ZoneInfo(window.timezone))
    if _ambiguous(local):
        return None
    wall, day = local.time().replace(fold=0), local.weekday()
    if window.start < window.end:
        return day == window.weekday and window.start <= wall < window.end
    return (day == window.weekday and wall >= window.start) or (
        day == (window.weekday + 1) % 7 and wall < window.end
    )


class Oracle:
    def __init__(self, world: World) -> None:
        self.world = world
        self.cache: dict[tuple[str, datetime], bool | None] = {}

    def _open_at(self, agent: str, instant: datetime) -> bool | None:
        key = (agent, instant)
        if key not in self.cache:
            extra = any(
                e.agent_id == agent and e.kind == "available_extra" and e.start <= instant < e.end
                for e in self.world.exceptions
            )
            answers = [_in_window(w, instant) for w in self.world.windows if w.agent_id == agent]
            if extra or True in answers:
                self.cache[key] = True
            elif None in answers:
                self.cache[key] = None
            else:
                self.cache[key] = False
        return self.cache[key]

    def open_for(self, slot: Slot) -> bool | None:
        """True if the agent works through the whole slot, False if not, None if it hinges on a
        repeated hour."""
        if not self.world.respect_working_hours:
            return True
        unsure = False
        instant = slot.start_utc
        while instant < slot.end_utc:
            answer = self._open_at(slot.agent_id, instant)
            if answer is False:
                return False
            unsure = unsure or answer is None
            instant += FIVE
        return None if unsure else True

    def clashes(self, slot: Slot) -> bool:
        w = self.world
        occupied = (
            slot.start_utc - timedelta(minutes=w.buffer_before),
            slot.end_utc + timedelta(minutes=w.buffer_after),
        )
        blocks = [
            (e.start, e.end) for e in w.exceptions if e.agent_id == slot.agent_id and e.kind == "blocked"
        ]
        blocks += [(d.start, d.end) for d in w.dnd if d.agent_id == slot.agent_id]
        busy = [b.occupied for b in w.bookings if b.agent_id == slot.agent_id]
        return any(s < slot.end_utc and slot.start_utc < e for s, e in blocks) or any(
            s < occupied[1] and occupied[0] < e for s, e in busy
        )


# --- properties --------------------------------------------------------------------------------------


@pytest.mark.parametrize("change", CHANGES, ids=lambda c: f"{c.zone}-{c.base:%m-%d}")
def test_every_window_around_a_change_follows_the_wall_clock(change):
    """Exhaustive over start and end times in the hours around the change: random draws find the
    few windows that end inside a skipped hour too rarely. Every boundary involved lies on a UTC
    quarter hour, so checking quarter hours is exact."""
    day_start = change.base + timedelta(days=change.weekday - 4 if change.weekday >= 4 else 3)
    from_utc, to_utc = day_start - timedelta(hours=18), day_start + timedelta(hours=42)
    quarter = timedelta(minutes=15)
    instants = [from_utc + i * quarter for i in range(int((to_utc - from_utc) / quarter))]
    for start in change.times():
        for end in change.times():
            window = WorkingWindow("ana", change.weekday, start, end, change.zone)
            intervals = working_intervals([window], from_utc, to_utc)["ana"]
            for instant in instants:
                expected = _in_window(window, instant)
                if expected is not None:
                    covered = any(s <= instant < e for s, e in intervals)
                    assert covered == expected, (start, end, instant)


@PROPERTY_SETTINGS
@given(st.sampled_from(CHANGES).flatmap(lambda change: st.tuples(st.just(change), windows_near(change))))
def test_working_intervals_follow_the_wall_clock_through_a_change(change_and_window):
    change, window = change_and_window
    from_utc, to_utc = change.base, change.base + timedelta(days=4)
    intervals = working_intervals([window], from_utc, to_utc)[window.agent_id]
    instant = from_utc
    while instant < to_utc:
        expected = _in_window(window, instant)
        if expected is not None:
            assert any(s <= instant < e for s, e in intervals) == expected, instant
        instant += FIVE


@PROPERTY_SETTINGS
@given(worlds())
def test_slots_match_a_brute_force_oracle(world):
    oracle = Oracle(world)
    returned = set(world.slots())
    for candidate in world.candidates():
        if oracle.clashes(candidate):
            assert candidate not in returned, candidate
            continue
        verdict = oracle.open_for(candidate)
        if verdict is not None:
            assert (candidate in returned) == verdict, candidate


@PROPERTY_SETTINGS
@given(worlds())
def test_find_slots_and_is_free_agree_on_every_candidate(world):
    returned = set(world.slots())
    for candidate in world.candidates():
        free = is_free(
            candidate.agent_id,
            candidate.start_utc,
            candidate.end_utc,
            buffer_before=world.buffer_before,
            buffer_after=world.buffer_after,
            windows=world.windows,
            exceptions=world.exceptions,
            dnd=world.dnd,
            bookings=world.bookings,
            respect_working_hours=world.respect_working_hours,
        )
        assert free == (candidate in returned), candidate


@PROPERTY_SETTINGS
@given(worlds())
def test_slots_are_in_range_on_the_grid_sorted_and_unique(world):
    result = world.slots()
    step = timedelta(minutes=world.step or world.duration)
    for slot in result:
        assert world.from_utc <= slot.start_utc and slot.end_utc <= world.to_utc
        assert slot.end_utc - slot.start_utc == timedelta(minutes=world.duration)
        assert (slot.start_utc - world.from_utc) % step == timedelta(0)
        assert slot.start_utc.tzinfo is UTC and slot.agent_id in AGENTS
    keys = [(s.start_utc, s.agent_id) for s in result]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


@PROPERTY_SETTINGS
@given(worlds(), st.randoms(use_true_random=False))
def test_result_does_not_depend_on_input_order(world, rng: random.Random):
    def shuffled(items):
        items = list(items)
        rng.shuffle(items)
        return tuple(items)

    assert world.slots() == world.slots(
        windows=shuffled(world.windows),
        exceptions=shuffled(world.exceptions),
        dnd=shuffled(world.dnd),
        bookings=shuffled(world.bookings),
    )


@PROPERTY_SETTINGS
@given(worlds(), worlds())
def test_more_bookings_blocks_or_dnd_never_add_slots(world, other):
    before = set(world.slots())
    blocked = tuple(e for e in other.exceptions if e.kind == "blocked")
    assert set(world.slots(bookings=world.bookings + other.bookings)) <= before
    assert set(world.slots(exceptions=world.exceptions + blocked)) <= before
    assert set(world.slots(dnd=world.dnd + other.dnd)) <= before


@PROPERTY_SETTINGS
@given(worlds(), worlds())
def test_more_working_time_never_removes_slots(world, other):
    before = set(world.slots())
    extra = tuple(e for e in other.exceptions if e.kind == "available_extra")
    assert before <= set(world.slots(exceptions=world.exceptions + extra))
    assert before <= set(world.slots(windows=world.windows + other.windows))
    assert before <= set(world.slots(respect_working_hours=False))


@PROPERTY_SETTINGS
@given(worlds(), st.integers(1, 2000))
def test_the_cap_counts_start_times_times_agents(world, cap):
    count = candidate_count(world.from_utc, world.to_utc, world.duration, world.step or world.duration)
    try:
        find_slots(
            agent_ids=AGENTS,
            from_utc=world.from_utc,
            to_utc=world.to_utc,
            duration_minutes=world.duration,
            step_minutes=world.step,
            respect_working_hours=False,
            max_candidates=cap,
        )
    except TooManyCandidates:
        assert count * len(AGENTS) > cap
    else:
        assert count * len(AGENTS) <= cap

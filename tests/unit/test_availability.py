from datetime import UTC, datetime, time, timedelta

import pytest

from web.scheduling.availability import (
    BLOCKED_BY_EXCEPTION,
    OUTSIDE_WORKING_HOURS,
    OVERLAPS_BOOKING,
    OVERLAPS_DND,
    AvailabilityException,
    BusyBooking,
    DndWindow,
    Slot,
    TooManyCandidates,
    WorkingWindow,
    conflict_reason,
    find_slots,
    is_free,
    overlapping,
    working_intervals,
)

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def window(weekday: int, start: str, end: str, tz: str = "UTC", agent: str = "ana") -> WorkingWindow:
    return WorkingWindow(agent, weekday, time.fromisoformat(start), time.fromisoformat(end), tz)


def weekdays(start: str, end: str, tz: str = "UTC", agent: str = "ana") -> list[WorkingWindow]:
    return [window(day, start, end, tz, agent) for day in (MON, TUE, WED, THU, FRI)]


def starts(slots: list[Slot]) -> list[str]:
    return [f"{s.start_utc:%m-%d %H:%M}" for s in slots]


# 4 May 2026 is a Monday.
MONDAY = utc(2026, 5, 4)
NINE_TO_FIVE = weekdays("09:00", "17:00")


# --- value checks -----------------------------------------------------------------------------------


def test_values_refuse_nonsense():
    with pytest.raises(ValueError, match="weekday"):
        window(7, "09:00", "17:00")
    with pytest.raises(ValueError, match="time zone"):
        window(MON, "09:00", "17:00", tz="Mars/Olympus")
    with pytest.raises(ValueError, match="kind"):
        AvailabilityException("ana", MONDAY, MONDAY + timedelta(hours=1), "holiday")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="end after"):
        DndWindow("ana", MONDAY, MONDAY)
    with pytest.raises(ValueError, match="aware"):
        DndWindow("ana", datetime(2026, 5, 4, 9), datetime(2026, 5, 4, 10))
    with pytest.raises(ValueError, match="positive"):
        BusyBooking("ana", MONDAY, 0)
    with pytest.raises(ValueError, match="negative"):
        BusyBooking("ana", MONDAY, 30, buffer_after_minutes=-5)


def test_busy_booking_occupies_its_buffers():
    booking = BusyBooking("ana", utc(2026, 5, 4, 10), 30, 5, 10)
    assert booking.end == utc(2026, 5, 4, 10, 30)
    assert booking.occupied == (utc(2026, 5, 4, 9, 55), utc(2026, 5, 4, 10, 40))


# --- working intervals ------------------------------------------------------------------------------


def test_weekly_window_becomes_utc_intervals_in_its_own_zone():
    windows = [window(MON, "09:00", "17:00", "America/Bogota")]
    result = working_intervals(windows, MONDAY, MONDAY + timedelta(days=14))
    assert result == {
        "ana": [
            (utc(2026, 5, 4, 14), utc(2026, 5, 4, 22)),
            (utc(2026, 5, 11, 14), utc(2026, 5, 11, 22)),
        ]
    }


def test_several_windows_a_day_and_adjacent_windows_merge():
    windows = [
        window(MON, "09:00", "13:00"),
        window(MON, "14:00", "18:00"),
        window(TUE, "09:00", "13:00"),
        window(TUE, "13:00", "17:00"),
        window(WED, "09:00", "12:00"),
        window(WED, "10:00", "11:00"),  # inside the first one
    ]
    result = working_intervals(windows, MONDAY, MONDAY + timedelta(days=3))["ana"]
    assert result == [
        (utc(2026, 5, 4, 9), utc(2026, 5, 4, 13)),
        (utc(2026, 5, 4, 14), utc(2026, 5, 4, 18)),
        (utc(2026, 5, 5, 9), utc(2026, 5, 5, 17)),
        (utc(2026, 5, 6, 9), utc(2026, 5, 6, 12)),
    ]


def test_intervals_are_clipped_to_the_query_and_kept_per_agent():
    windows = [*NINE_TO_FIVE, window(SAT, "10:00", "12:00", agent="bo")]
    result = working_intervals(windows, utc(2026, 5, 4, 12), utc(2026, 5, 5, 10))
    assert result == {
        "ana": [(utc(2026, 5, 4, 12), utc(2026, 5, 4, 17)), (utc(2026, 5, 5, 9), utc(2026, 5, 5, 10))],
        "bo": [],
    }


def test_window_in_a_zone_ahead_of_the_query_lands_on_the_previous_utc_day():
    # Tokyo is UTC+9: Monday 08:00-10:00 there is Sunday 23:00 to Monday 01:00 UTC.
    windows = [window(MON, "08:00", "10:00", "Asia/Tokyo")]
    assert working_intervals(windows, utc(2026, 5, 3), utc(2026, 5, 5))["ana"] == [
        (utc(2026, 5, 3, 23), utc(2026, 5, 4, 1))
    ]
    # A query that starts at Monday 00:00 UTC only sees the last hour.
    assert working_intervals(windows, MONDAY, utc(2026, 5, 5))["ana"] == [(MONDAY, utc(2026, 5, 4, 1))]


def test_overnight_window_runs_into_the_next_day():
    windows = [window(MON, "22:00", "06:00"), window(FRI, "00:00", "00:00")]
    result = working_intervals(windows, MONDAY, MONDAY + timedelta(days=7))["ana"]
    assert result == [
        (utc(2026, 5, 4, 22), utc(2026, 5, 5, 6)),
        (utc(2026, 5, 8), utc(2026, 5, 9)),
    ]


def test_new_york_spring_forward_keeps_local_hours():
    # Clocks go forward on Sunday 8 March 2026: EST (UTC-5) before, EDT (UTC-4) after.
    windows = [
        *weekdays("09:00", "17:00", "America/New_York"),
        window(SUN, "09:00", "17:00", "America/New_York"),
    ]
    result = working_intervals(windows, utc(2026, 3, 6), utc(2026, 3, 10))["ana"]
    assert result == [
        (utc(2026, 3, 6, 14), utc(2026, 3, 6, 22)),  # Friday, EST
        (utc(2026, 3, 8, 13), utc(2026, 3, 8, 21)),  # the change day itself, already EDT at 09:00
        (utc(2026, 3, 9, 13), utc(2026, 3, 9, 21)),  # Monday, EDT
    ]


def test_new_york_fall_back_keeps_local_hours():
    windows = weekdays("09:00", "17:00", "America/New_York")
    result = working_intervals(windows, utc(2026, 10, 30), utc(2026, 11, 3))["ana"]
    assert result == [
        (utc(2026, 10, 30, 13), utc(2026, 10, 30, 21)),  # Friday, EDT
        (utc(2026, 11, 2, 14), utc(2026, 11, 2, 22)),  # Monday, EST
    ]


def test_window_through_the_skipped_hour_is_shorter():
    # 01:00-04:00 on the New York spring-forward night lasts two real hours.
    windows = [window(SUN, "01:00", "04:00", "America/New_York")]
    [(start, end)] = working_intervals(windows, utc(2026, 3, 8), utc(2026, 3, 9))["ana"]
    assert (start, end) == (utc(2026, 3, 8, 6), utc(2026, 3, 8, 8))
    # A window that starts inside the gap opens when the clock jumps to 03:00.
    windows = [window(SUN, "02:30", "05:00", "America/New_York")]
    assert working_intervals(windows, utc(2026, 3, 8), utc(2026, 3, 9))["ana"] == [
        (utc(2026, 3, 8, 7), utc(2026, 3, 8, 9))
    ]


def test_window_ending_inside_the_skipped_hour_closes_at_the_jump():
    # 00:00-02:30 on the New York spring-forward night: the clock never shows 02:30; it leaps from
    # 02:00 EST straight to 03:00 EDT (07:00 UTC), so the window closes there, not at 03:30 EDT.
    windows = [window(SUN, "00:00", "02:30", "America/New_York")]
    assert working_intervals(windows, utc(2026, 3, 8), utc(2026, 3, 9))["ana"] == [
        (utc(2026, 3, 8, 5), utc(2026, 3, 8, 7))
    ]


def test_window_starting_in_the_repeated_hour_opens_at_its_first_occurrence():
    # New York, 1 November 2026: 01:30 shows first at 05:30 UTC (EDT) and again at 06:30 (EST).
    windows = [window(SUN, "01:30", "03:00", "America/New_York")]
    assert working_intervals(windows, utc(2026, 11, 1), utc(2026, 11, 2))["ana"] == [
        (utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 8))
    ]


def test_window_through_the_repeated_hour_is_longer():
    # Madrid goes back on Sunday 25 October 2026 at 03:00 CEST -> 02:00 CET.
    windows = [window(SUN, "00:00", "04:00", "Europe/Madrid")]
    [(start, end)] = working_intervals(windows, utc(2026, 10, 24), utc(2026, 10, 26))["ana"]
    assert (start, end) == (utc(2026, 10, 24, 22), utc(2026, 10, 25, 3))
    assert end - start == timedelta(hours=5)


def test_madrid_spring_forward_keeps_local_hours():
    windows = [window(FRI, "09:00", "17:00", "Europe/Madrid"), window(MON, "09:00", "17:00", "Europe/Madrid")]
    result = working_intervals(windows, utc(2026, 3, 27), utc(2026, 3, 31))["ana"]
    assert result == [
        (utc(2026, 3, 27, 8), utc(2026, 3, 27, 16)),  # CET, UTC+1
        (utc(2026, 3, 30, 7), utc(2026, 3, 30, 15)),  # CEST, UTC+2
    ]


# --- is_free / conflict_reason ----------------------------------------------------------------------


def reason(start: datetime, minutes: int = 30, **inputs) -> str | None:
    inputs.setdefault("windows", NINE_TO_FIVE)
    return conflict_reason("ana", start, start + timedelta(minutes=minutes), **inputs)


def test_working_hours_decide_when_nothing_else_is_in_the_way():
    assert reason(utc(2026, 5, 4, 9)) is None
    assert reason(utc(2026, 5, 4, 16, 30)) is None
    assert reason(utc(2026, 5, 4, 16, 45)) == OUTSIDE_WORKING_HOURS
    assert reason(utc(2026, 5, 4, 8, 45)) == OUTSIDE_WORKING_HOURS
    assert reason(utc(2026, 5, 9, 10)) == OUTSIDE_WORKING_HOURS  # Saturday
    assert reason(utc(2026, 5, 4, 10), windows=[]) == OUTSIDE_WORKING_HOURS


def test_meeting_may_span_adjacent_windows_but_not_a_break():
    split = [window(MON, "09:00", "13:00"), window(MON, "13:00", "17:00")]
    assert reason(utc(2026, 5, 4, 12, 30), 60, windows=split) is None
    lunch = [window(MON, "09:00", "13:00"), window(MON, "14:00", "18:00")]
    assert reason(utc(2026, 5, 4, 12, 30), 60, windows=lunch) == OUTSIDE_WORKING_HOURS
    assert reason(utc(2026, 5, 4, 14), 60, windows=lunch) is None


def test_only_the_agents_own_windows_count():
    assert (
        reason(utc(2026, 5, 4, 10), windows=weekdays("09:00", "17:00", agent="bo")) == OUTSIDE_WORKING_HOURS
    )


def test_blocked_exception_removes_time_and_touching_is_fine():
    holiday = AvailabilityException("ana", utc(2026, 5, 4, 12), utc(2026, 5, 4, 14), "blocked")
    assert reason(utc(2026, 5, 4, 13), exceptions=[holiday]) == BLOCKED_BY_EXCEPTION
    assert reason(utc(2026, 5, 4, 11, 45), exceptions=[holiday]) == BLOCKED_BY_EXCEPTION
    assert reason(utc(2026, 5, 4, 11, 30), exceptions=[holiday]) is None
    assert reason(utc(2026, 5, 4, 14), exceptions=[holiday]) is None
    other_agent = AvailabilityException("bo", utc(2026, 5, 4), utc(2026, 5, 5), "blocked")
    assert reason(utc(2026, 5, 4, 13), exceptions=[other_agent]) is None


def test_available_extra_opens_time_outside_working_hours():
    saturday = AvailabilityException("ana", utc(2026, 5, 9, 10), utc(2026, 5, 9, 12), "available_extra")
    assert reason(utc(2026, 5, 9, 10), exceptions=[saturday]) is None
    assert reason(utc(2026, 5, 9, 11, 45), exceptions=[saturday]) == OUTSIDE_WORKING_HOURS
    # Extra time that continues a working day joins it.
    evening = AvailabilityException("ana", utc(2026, 5, 4, 17), utc(2026, 5, 4, 19), "available_extra")
    assert reason(utc(2026, 5, 4, 16, 30), 60, exceptions=[evening]) is None


def test_blocked_wins_over_available_extra():
    extra = AvailabilityException("ana", utc(2026, 5, 9, 10), utc(2026, 5, 9, 12), "available_extra")
    blocked = AvailabilityException("ana", utc(2026, 5, 9, 11), utc(2026, 5, 9, 12), "blocked")
    assert reason(utc(2026, 5, 9, 10), exceptions=[extra, blocked]) is None
    assert reason(utc(2026, 5, 9, 11), exceptions=[extra, blocked]) == BLOCKED_BY_EXCEPTION


def test_dnd_blocks_like_an_exception():
    dnd = [DndWindow("ana", utc(2026, 5, 4, 10), utc(2026, 5, 4, 10, 20))]
    assert reason(utc(2026, 5, 4, 10), dnd=dnd) == OVERLAPS_DND
    assert reason(utc(2026, 5, 4, 9, 45), dnd=dnd) == OVERLAPS_DND
    assert reason(utc(2026, 5, 4, 9, 30), dnd=dnd) is None
    assert reason(utc(2026, 5, 4, 10, 20), dnd=dnd) is None
    assert (
        reason(utc(2026, 5, 4, 10), dnd=[DndWindow("bo", utc(2026, 5, 4, 10), utc(2026, 5, 4, 11))]) is None
    )


def test_touching_bookings_do_not_conflict():
    existing = [BusyBooking("ana", utc(2026, 5, 4, 10), 30)]
    assert reason(utc(2026, 5, 4, 10, 30), bookings=existing) is None
    assert reason(utc(2026, 5, 4, 9, 30), bookings=existing) is None
    assert reason(utc(2026, 5, 4, 10, 15), bookings=existing) == OVERLAPS_BOOKING
    assert reason(utc(2026, 5, 4, 9, 45), bookings=existing) == OVERLAPS_BOOKING
    assert reason(utc(2026, 5, 4, 10), 5, bookings=existing) == OVERLAPS_BOOKING


def test_cannot_start_inside_an_existing_trailing_buffer():
    existing = [BusyBooking("ana", utc(2026, 5, 4, 10), 30, buffer_after_minutes=15)]  # holds until 10:45
    assert reason(utc(2026, 5, 4, 10, 30), bookings=existing) == OVERLAPS_BOOKING
    assert reason(utc(2026, 5, 4, 10, 40), bookings=existing) == OVERLAPS_BOOKING
    assert reason(utc(2026, 5, 4, 10, 45), bookings=existing) is None


def test_cannot_end_inside_an_existing_leading_buffer():
    existing = [BusyBooking("ana", utc(2026, 5, 4, 11), 30, buffer_before_minutes=10)]  # held from 10:50
    assert reason(utc(2026, 5, 4, 10, 5), 45, bookings=existing) is None
    assert reason(utc(2026, 5, 4, 10, 10), 45, bookings=existing) == OVERLAPS_BOOKING


def test_the_new_bookings_own_buffers_count_too():
    existing = [BusyBooking("ana", utc(2026, 5, 4, 11), 30)]  # no buffers of its own
    # New 10:00-10:30 with 30 minutes after reaches exactly 11:00: fine; 31 minutes is not.
    assert reason(utc(2026, 5, 4, 10), bookings=existing, buffer_after=30) is None
    assert reason(utc(2026, 5, 4, 10), bookings=existing, buffer_after=31) == OVERLAPS_BOOKING
    # New 11:30-12:00 whose 5-minute lead-in reaches back into the existing meeting.
    assert reason(utc(2026, 5, 4, 11, 30), bookings=existing, buffer_before=5) == OVERLAPS_BOOKING
    assert reason(utc(2026, 5, 4, 11, 35), bookings=existing, buffer_before=5) is None


def test_buffers_of_both_bookings_add_up():
    existing = [BusyBooking("ana", utc(2026, 5, 4, 10), 30, buffer_after_minutes=10)]  # holds until 10:40
    assert reason(utc(2026, 5, 4, 10, 50), bookings=existing, buffer_before=10) is None
    assert reason(utc(2026, 5, 4, 10, 45), bookings=existing, buffer_before=10) == OVERLAPS_BOOKING


def test_buffers_are_not_bound_by_working_hours():
    # A 09:00 meeting with a 15-minute lead-in is still bookable in a 09:00-17:00 day.
    assert reason(utc(2026, 5, 4, 9), buffer_before=15, buffer_after=15) is None
    assert reason(utc(2026, 5, 4, 16, 30), buffer_before=15, buffer_after=15) is None


def test_other_agents_bookings_are_ignored():
    assert reason(utc(2026, 5, 4, 10), bookings=[BusyBooking("bo", utc(2026, 5, 4, 10), 30)]) is None


def test_ignoring_working_hours_still_checks_conflicts():
    night = utc(2026, 5, 4, 22)
    assert reason(night, respect_working_hours=False) is None
    assert reason(night, windows=[], respect_working_hours=False) is None
    booked = [BusyBooking("ana", night, 30)]
    assert reason(night, bookings=booked, respect_working_hours=False) == OVERLAPS_BOOKING
    dnd = [DndWindow("ana", night, night + timedelta(hours=1))]
    assert reason(night, dnd=dnd, respect_working_hours=False) == OVERLAPS_DND
    blocked = [AvailabilityException("ana", night, night + timedelta(hours=1), "blocked")]
    assert reason(night, exceptions=blocked, respect_working_hours=False) == BLOCKED_BY_EXCEPTION


def test_is_free_agrees_with_conflict_reason():
    inputs = {"windows": NINE_TO_FIVE, "bookings": [BusyBooking("ana", utc(2026, 5, 4, 10), 30)]}
    assert is_free("ana", utc(2026, 5, 4, 9), utc(2026, 5, 4, 10), **inputs)
    assert not is_free("ana", utc(2026, 5, 4, 9, 45), utc(2026, 5, 4, 10, 15), **inputs)
    assert not is_free("ana", utc(2026, 5, 4, 18), utc(2026, 5, 4, 19), **inputs)
    assert is_free("ana", utc(2026, 5, 4, 18), utc(2026, 5, 4, 19), respect_working_hours=False, **inputs)


def test_reasons_are_reported_most_specific_first():
    night = utc(2026, 5, 4, 22)
    everything = {
        "exceptions": [AvailabilityException("ana", night, night + timedelta(hours=1), "blocked")],
        "dnd": [DndWindow("ana", night, night + timedelta(hours=1))],
        "bookings": [BusyBooking("ana", night, 30)],
    }
    assert reason(night, **everything) == BLOCKED_BY_EXCEPTION
    del everything["exceptions"]
    assert reason(night, **everything) == OVERLAPS_DND
    del everything["dnd"]
    assert reason(night, **everything) == OVERLAPS_BOOKING


def test_conflict_reason_validates_its_input():
    with pytest.raises(ValueError, match="end after"):
        conflict_reason("ana", utc(2026, 5, 4, 10), utc(2026, 5, 4, 10))
    with pytest.raises(ValueError, match="aware"):
        conflict_reason("ana", datetime(2026, 5, 4, 10), utc(2026, 5, 4, 11))
    with pytest.raises(ValueError, match="negative"):
        conflict_reason("ana", utc(2026, 5, 4, 10), utc(2026, 5, 4, 11), buffer_before=-1)


# --- find_slots ------------------------------------------------------------------------------------------


def slots(**kwargs) -> list[Slot]:
    kwargs.setdefault("agent_ids", ["ana"])
    kwargs.setdefault("windows", NINE_TO_FIVE)
    kwargs.setdefault("duration_minutes", 60)
    return find_slots(**kwargs)


def test_grid_steps_by_the_duration_by_default():
    result = slots(from_utc=MONDAY, to_utc=MONDAY + timedelta(days=1))
    assert starts(result) == [f"05-04 {h:02}:00" for h in range(9, 17)]
    assert all(s.end_utc - s.start_utc == timedelta(hours=1) for s in result)
    assert all(s.agent_id == "ana" and s.start_utc.tzinfo is UTC for s in result)


def test_explicit_step_and_grid_aligned_to_the_range_start():
    result = slots(
        from_utc=utc(2026, 5, 4, 8, 10), to_utc=utc(2026, 5, 4, 11), duration_minutes=30, step_minutes=40
    )
    # 08:10 and 08:50 fall before 09:00; 10:50 would end after the range.
    assert starts(result) == ["05-04 09:30", "05-04 10:10"]


def test_last_slot_must_fit_before_the_range_end():
    result = slots(from_utc=utc(2026, 5, 4, 15), to_utc=utc(2026, 5, 4, 16, 59))
    assert starts(result) == ["05-04 15:00"]
    assert slots(from_utc=utc(2026, 5, 4, 15), to_utc=utc(2026, 5, 4, 15, 30)) == []


def test_bookings_with_buffers_take_slots_away():
    booked = [BusyBooking("ana", utc(2026, 5, 4, 11), 30, buffer_before_minutes=0, buffer_after_minutes=15)]
    result = slots(
        from_utc=utc(2026, 5, 4, 9),
        to_utc=utc(2026, 5, 4, 13),
        duration_minutes=30,
        step_minutes=15,
        buffer_before_minutes=15,
        bookings=booked,
    )
    # Held 11:00-11:45; each new slot also needs 15 minutes before it, so 11:30 and 11:45 are out.
    assert starts(result) == [
        "05-04 09:00", "05-04 09:15", "05-04 09:30", "05-04 09:45", "05-04 10:00", "05-04 10:15",
        "05-04 10:30", "05-04 12:00", "05-04 12:15", "05-04 12:30",
    ]  # fmt: skip


def test_exceptions_and_dnd_shape_the_grid():
    result = slots(
        from_utc=MONDAY,
        to_utc=MONDAY + timedelta(days=7),
        exceptions=[
            AvailabilityException("ana", utc(2026, 5, 5), utc(2026, 5, 8), "blocked"),  # Tue-Thu off
            AvailabilityException("ana", utc(2026, 5, 9, 10), utc(2026, 5, 9, 12), "available_extra"),
        ],
        dnd=[DndWindow("ana", utc(2026, 5, 4, 9), utc(2026, 5, 4, 15))],
    )
    assert starts(result) == [
        "05-04 15:00", "05-04 16:00",
        *[f"05-08 {h:02}:00" for h in range(9, 17)],
        "05-09 10:00", "05-09 11:00",
    ]  # fmt: skip


def test_week_across_the_new_york_spring_change():
    result = slots(
        windows=weekdays("09:00", "17:00", "America/New_York"),
        from_utc=utc(2026, 3, 2),
        to_utc=utc(2026, 3, 14),
        step_minutes=120,
        duration_minutes=120,
    )
    by_day: dict[str, list[str]] = {}
    for slot in result:
        by_day.setdefault(f"{slot.start_utc:%m-%d}", []).append(f"{slot.start_utc:%H}")
    # The grid is even hours in UTC; local 09:00-17:00 is 14-22 UTC in EST, 13-21 UTC in EDT,
    # so the 20:00 UTC slot only fits before the change.
    assert by_day == {
        **{day: ["14", "16", "18", "20"] for day in ("03-02", "03-03", "03-04", "03-05", "03-06")},
        **{day: ["14", "16", "18"] for day in ("03-09", "03-10", "03-11", "03-12", "03-13")},
    }
    hourly = slots(
        windows=weekdays("09:00", "17:00", "America/New_York"),
        from_utc=utc(2026, 3, 6),
        to_utc=utc(2026, 3, 10),
    )
    assert starts(hourly)[0] == "03-06 14:00"
    assert starts(hourly)[8] == "03-09 13:00"
    assert len(hourly) == 16


def test_madrid_agent_seen_from_a_bogota_day_across_the_autumn_change():
    bogota_day = (utc(2026, 10, 26, 5), utc(2026, 10, 27, 5))  # Monday in Bogota (UTC-5)
    result = slots(
        windows=weekdays("09:00", "11:00", "Europe/Madrid"), from_utc=bogota_day[0], to_utc=bogota_day[1]
    )
    # Madrid is back on CET (UTC+1) after 25 October, so 09:00 local is 08:00 UTC.
    assert starts(result) == ["10-26 08:00", "10-26 09:00"]


def test_several_agents_sorted_by_start_then_agent():
    windows = [*weekdays("09:00", "11:00", agent="cy"), *weekdays("10:00", "12:00", agent="ana")]
    result = find_slots(
        agent_ids=["cy", "ana", "cy"],
        from_utc=MONDAY,
        to_utc=MONDAY + timedelta(days=1),
        duration_minutes=60,
        windows=windows,
        bookings=[BusyBooking("ana", utc(2026, 5, 4, 11), 60)],
    )
    assert [(f"{s.start_utc:%H}", s.agent_id) for s in result] == [("09", "cy"), ("10", "ana"), ("10", "cy")]


def test_agent_without_windows_only_has_extra_time():
    result = find_slots(
        agent_ids=["zed"],
        from_utc=MONDAY,
        to_utc=MONDAY + timedelta(days=1),
        duration_minutes=30,
        exceptions=[
            AvailabilityException("zed", utc(2026, 5, 4, 20), utc(2026, 5, 4, 21), "available_extra")
        ],
    )
    assert starts(result) == ["05-04 20:00", "05-04 20:30"]


def test_ignoring_working_hours_gives_the_whole_range_minus_conflicts():
    result = slots(
        from_utc=MONDAY,
        to_utc=MONDAY + timedelta(days=1),
        duration_minutes=120,
        respect_working_hours=False,
        bookings=[BusyBooking("ana", utc(2026, 5, 4, 2), 60)],
        dnd=[DndWindow("ana", utc(2026, 5, 4, 20), utc(2026, 5, 4, 21))],
        exceptions=[AvailabilityException("ana", utc(2026, 5, 4, 9), utc(2026, 5, 4, 10), "blocked")],
    )
    # 02-04 is booked, 08-10 is blocked, 20-22 is DND; 18-20 ends as the DND starts.
    assert [f"{s.start_utc:%H}" for s in result] == ["00", "04", "06", "10", "12", "14", "16", "18", "22"]


def test_no_agents_means_no_slots():
    assert (
        find_slots(agent_ids=[], from_utc=MONDAY, to_utc=MONDAY + timedelta(days=1), duration_minutes=30)
        == []
    )


def test_candidate_cap():
    day = (MONDAY, MONDAY + timedelta(days=1))
    # 288 five-minute starts for one agent is fine; two agents make 576.
    assert len(slots(from_utc=day[0], to_utc=day[1], duration_minutes=5, respect_working_hours=False)) == 288
    with pytest.raises(TooManyCandidates, match=r"576 candidate slots.*limit of 400"):
        slots(agent_ids=["ana", "bo"], from_utc=day[0], to_utc=day[1], duration_minutes=5)
    # Exactly 400 is allowed, 401 is not.
    exactly = (MONDAY, MONDAY + timedelta(minutes=5 * 400))
    assert (
        len(slots(from_utc=exactly[0], to_utc=exactly[1], duration_minutes=5, respect_working_hours=False))
        == 400
    )
    with pytest.raises(TooManyCandidates):
        slots(from_utc=exactly[0], to_utc=exactly[1] + timedelta(minutes=5), duration_minutes=5)
    with pytest.raises(TooManyCandidates, match="limit of 10"):
        slots(from_utc=day[0], to_utc=day[1], max_candidates=10)


def test_cap_is_a_value_error():
    assert issubclass(TooManyCandidates, ValueError)


@pytest.mark.parametrize("duration", [4, 481, 0, -30])
def test_duration_must_be_between_5_and_480(duration):
    with pytest.raises(ValueError, match="between 5 and 480"):
        slots(from_utc=MONDAY, to_utc=MONDAY + timedelta(days=1), duration_minutes=duration)


@pytest.mark.parametrize("duration", [5, 480])
def test_duration_bounds_are_inclusive(duration):
    result = slots(
        from_utc=MONDAY, to_utc=MONDAY + timedelta(days=1), duration_minutes=duration, step_minutes=60
    )
    assert result
    assert all(s.end_utc - s.start_utc == timedelta(minutes=duration) for s in result)


def test_bad_ranges_are_refused():
    with pytest.raises(ValueError, match="after its start"):
        slots(from_utc=MONDAY, to_utc=MONDAY)
    with pytest.raises(ValueError, match="after its start"):
        slots(from_utc=MONDAY, to_utc=MONDAY - timedelta(hours=1))
    with pytest.raises(ValueError, match="aware"):
        slots(from_utc=datetime(2026, 5, 4), to_utc=MONDAY + timedelta(days=1))
    with pytest.raises(ValueError, match="step"):
        slots(from_utc=MONDAY, to_utc=MONDAY + timedelta(days=1), step_minutes=0)
    with pytest.raises(ValueError, match="negative"):
        slots(from_utc=MONDAY, to_utc=MONDAY + timedelta(days=1), buffer_after_minutes=-1)


# --- overlapping (DND prompt) --------------------------------------------------------------------------


def test_overlapping_lists_bookings_inside_a_proposed_dnd():
    bookings = [
        BusyBooking("ana", utc(2026, 5, 4, 11, 45), 30, booking_id="late"),
        BusyBooking("ana", utc(2026, 5, 4, 9, 30), 30, booking_id="touches-start"),
        BusyBooking("ana", utc(2026, 5, 4, 11), 30, buffer_before_minutes=60, booking_id="inside"),
        BusyBooking("ana", utc(2026, 5, 4, 12), 30, buffer_before_minutes=30, booking_id="touches-end"),
        BusyBooking("bo", utc(2026, 5, 4, 11), 30, booking_id="other-agent"),
    ]
    hits = overlapping(utc(2026, 5, 4, 10), utc(2026, 5, 4, 12), bookings, agent_id="ana")
    assert [b.booking_id for b in hits] == ["inside", "late"]
    everyone = overlapping(utc(2026, 5, 4, 10), utc(2026, 5, 4, 12), bookings)
    assert [b.booking_id for b in everyone] == ["inside", "other-agent", "late"]
    assert overlapping(utc(2026, 5, 4, 13), utc(2026, 5, 4, 14), bookings) == []

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from web.scheduling.timeutil import (
    day_bounds,
    hh_mm,
    local_time_label,
    local_to_utc,
    parse_utc,
    parse_wall_time,
    to_iso_z,
    valid_timezone,
    week_bounds,
    zone,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- parse_utc / to_iso_z ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-05-04T14:00:00Z", utc(2026, 5, 4, 14)),
        ("2026-05-04T14:00Z", utc(2026, 5, 4, 14)),
        ("2026-05-04T09:00:00-05:00", utc(2026, 5, 4, 14)),
        ("2026-05-04T16:00:00+02:00", utc(2026, 5, 4, 14)),
        ("2026-05-04T14:00:00.250Z", utc(2026, 5, 4, 14, 0, 0, 250000)),
        ("  2026-05-04T14:00:00+00:00 ", utc(2026, 5, 4, 14)),
    ],
)
def test_parse_utc_accepts_z_and_offsets(text, expected):
    parsed = parse_utc(text)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize("text", ["2026-05-04T14:00:00", "2026-05-04"])
def test_parse_utc_refuses_naive_timestamps(text):
    with pytest.raises(ValueError, match="no time zone"):
        parse_utc(text)


@pytest.mark.parametrize("text", ["", "tomorrow", "2026-13-01T00:00:00Z", "2026-05-04T25:00Z"])
def test_parse_utc_refuses_garbage(text):
    with pytest.raises(ValueError, match="not an ISO-8601 timestamp"):
        parse_utc(text)


def test_parse_utc_refuses_non_strings():
    with pytest.raises(ValueError, match="string"):
        parse_utc(1714831200)  # type: ignore[arg-type]


def test_to_iso_z_is_utc_with_whole_seconds():
    assert to_iso_z(utc(2026, 5, 4, 14)) == "2026-05-04T14:00:00Z"
    assert to_iso_z(utc(2026, 5, 4, 14, 0, 7, 999999)) == "2026-05-04T14:00:07Z"
    bogota = datetime(2026, 5, 4, 9, tzinfo=timezone(timedelta(hours=-5)))
    assert to_iso_z(bogota) == "2026-05-04T14:00:00Z"


def test_to_iso_z_refuses_naive():
    with pytest.raises(ValueError, match="naive"):
        to_iso_z(datetime(2026, 5, 4, 14))


def test_round_trip():
    value = "2026-10-25T00:59:00Z"
    assert to_iso_z(parse_utc(value)) == value


# --- zones --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["UTC", "America/Bogota", "Europe/Madrid", "America/New_York"])
def test_valid_timezone_accepts_iana_names(name):
    assert valid_timezone(name)


@pytest.mark.parametrize(
    "name", ["", "Mars/Olympus", "America", "../etc/passwd", "Europe/Madrid ", None, 5, "+02:00"]
)
def test_valid_timezone_rejects_everything_else(name):
    assert not valid_timezone(name)


def test_zone_names_the_bad_value():
    with pytest.raises(ValueError, match="Mars/Olympus"):
        zone("Mars/Olympus")


def test_local_time_label():
    assert local_time_label(utc(2026, 5, 4, 14), "America/Bogota") == "Mon 4 May 2026, 09:00 (America/Bogota)"
    assert (
        local_time_label(utc(2026, 12, 31, 23, 30), "Europe/Madrid")
        == "Fri 1 Jan 2027, 00:30 (Europe/Madrid)"
    )


def test_local_time_label_follows_dst():
    # The same 14:00 UTC reads 09:00 in EST, before the March change, and 10:00 in EDT after it.
    assert local_time_label(utc(2026, 3, 6, 14), "America/New_York").endswith("09:00 (America/New_York)")
    assert local_time_label(utc(2026, 3, 9, 14), "America/New_York").endswith("10:00 (America/New_York)")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("09:00", time(9)), ("9:30", time(9, 30)), ("23:59", time(23, 59)), ("24:00", time(0))],
)
def test_parse_wall_time(text, expected):
    assert parse_wall_time(text) == expected


@pytest.mark.parametrize("text", ["", "9", "09:5", "24:30", "25:00", "09:60", "-1:00", "09:00:00", "ab:cd"])
def test_parse_wall_time_refuses_garbage(text):
    with pytest.raises(ValueError, match="HH:MM"):
        parse_wall_time(text)


# --- wall clock to UTC ------------------------------------------------------------------------------


def test_local_to_utc_on_ordinary_days():
    assert local_to_utc(date(2026, 5, 4), time(9), "America/Bogota") == utc(2026, 5, 4, 14)
    assert local_to_utc(date(2026, 1, 15), time(9), "Europe/Madrid") == utc(2026, 1, 15, 8)
    assert local_to_utc(date(2026, 7, 15), time(9), "Europe/Madrid") == utc(2026, 7, 15, 7)


def test_skipped_time_maps_to_the_moment_the_clock_jumps():
    # New York, 8 March 2026: 02:00 EST becomes 03:00 EDT (07:00 UTC); 02:30 never shows.
    assert local_to_utc(date(2026, 3, 8), time(2, 30), "America/New_York") == utc(2026, 3, 8, 7)
    assert local_to_utc(date(2026, 3, 8), time(2, 0), "America/New_York") == utc(2026, 3, 8, 7)
    assert local_to_utc(date(2026, 3, 8), time(3, 0), "America/New_York") == utc(2026, 3, 8, 7)
    # Madrid, 29 March 2026: 02:00 CET becomes 03:00 CEST (01:00 UTC).
    assert local_to_utc(date(2026, 3, 29), time(2, 15), "Europe/Madrid") == utc(2026, 3, 29, 1)


def test_repeated_time_takes_its_first_occurrence():
    # New York, 1 November 2026: 01:00-02:00 happens twice, first in EDT (UTC-4).
    assert local_to_utc(date(2026, 11, 1), time(1, 30), "America/New_York") == utc(2026, 11, 1, 5, 30)
    assert local_to_utc(date(2026, 11, 1), time(2, 0), "America/New_York") == utc(2026, 11, 1, 7)
    # Madrid, 25 October 2026: 02:00-03:00 happens twice, first in CEST (UTC+2).
    assert local_to_utc(date(2026, 10, 25), time(2, 30), "Europe/Madrid") == utc(2026, 10, 25, 0, 30)


def test_local_to_utc_ignores_a_fold_on_the_input():
    assert local_to_utc(date(2026, 11, 1), time(1, 30, fold=1), "America/New_York") == utc(2026, 11, 1, 5, 30)


def test_midnight_that_does_not_exist():
    # Santiago moves from 00:00 to 01:00 on 6 September 2026 (UTC-4 to UTC-3).
    start, end = day_bounds(date(2026, 9, 6), "America/Santiago")
    assert start == utc(2026, 9, 6, 4)
    assert end - start == timedelta(hours=23)


# --- day and week bounds ------------------------------------------------------------------------------


def test_day_bounds_are_23_or_25_hours_on_dst_days():
    start, end = day_bounds(date(2026, 3, 8), "America/New_York")
    assert (start, end) == (utc(2026, 3, 8, 5), utc(2026, 3, 9, 4))
    start, end = day_bounds(date(2026, 11, 1), "America/New_York")
    assert (start, end) == (utc(2026, 11, 1, 4), utc(2026, 11, 2, 5))
    start, end = day_bounds(date(2026, 5, 4), "UTC")
    assert (start, end) == (utc(2026, 5, 4), utc(2026, 5, 5))


def test_week_bounds_are_monday_based_in_the_zone():
    for day in (date(2026, 5, 4), date(2026, 5, 7), date(2026, 5, 10)):
        assert week_bounds(day, "America/Bogota") == (utc(2026, 5, 4, 5), utc(2026, 5, 11, 5))


def test_week_bounds_across_a_dst_change():
    # Madrid's spring change falls on Sunday 29 March 2026: the week is an hour short.
    start, end = week_bounds(date(2026, 3, 25), "Europe/Madrid")
    assert start == utc(2026, 3, 22, 23)
    assert end == utc(2026, 3, 29, 22)
    assert end - start == timedelta(days=7, hours=-1)


DST_ZONES = ["America/New_York", "Europe/Madrid", "America/Santiago", "Australia/Lord_Howe", "UTC"]


@settings(max_examples=100, deadline=None, database=None)
@given(
    st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)),
    st.times(),
    st.sampled_from(DST_ZONES),
)
def test_local_to_utc_is_the_first_instant_the_clock_shows_the_time(day, wall_time, tz_name):
    tz = ZoneInfo(tz_name)
    wanted = datetime.combine(day, wall_time)
    instant = local_to_utc(day, wall_time, tz_name)
    assert instant.tzinfo is UTC
    # At that instant the clock shows the time, or a later one when the time was skipped...
    assert instant.astimezone(tz).replace(tzinfo=None) >= wanted
    # ...and just before it, the clock still showed an earlier time.
    assert (instant - timedelta(microseconds=1)).astimezone(tz).replace(tzinfo=None) < wanted


@given(st.datetimes(timezones=st.just(UTC)))
def test_hh_mm_matches_strftime(moment):
    assert hh_mm(moment) == moment.strftime("%H:%M")

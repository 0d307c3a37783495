"""Time helpers for scheduling: everything is stored and compared in UTC, and wall-clock times are
turned into instants in their own IANA zone, one local date at a time, so they survive DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def parse_utc(value: str) -> datetime:
    """An ISO-8601 timestamp with `Z` or an explicit offset, as an aware UTC datetime.

    Naive timestamps are refused: guessing their zone is how bookings end up an hour off."""
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO-8601 timestamp string, got {type(value).__name__}")
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO-8601 timestamp: {value!r}") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError(
            f"timestamp {value!r} has no time zone: add 'Z' for UTC or an offset such as '+02:00'"
        )
    return parsed.astimezone(UTC)


def ensure_aware(dt: datetime, name: str = "datetime") -> datetime:
    """The same instant in UTC; a naive value is an error, never silently read as UTC."""
    if not isinstance(dt, datetime):
        raise ValueError(f"{name} must be a datetime, got {type(dt).__name__}")
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{name} must be time-zone aware, got the naive {dt.isoformat()}")
    return dt.astimezone(UTC)


def to_iso_z(dt: datetime) -> str:
    """`2026-05-04T14:00:00Z`: UTC, whole seconds (sub-second parts are dropped)."""
    return ensure_aware(dt).strftime("%Y-%m-%dT%H:%M:%SZ")


def hh_mm(dt: datetime) -> str:
    """ "09:05": what `strftime("%H:%M")` gives, at a fraction of its cost (a week's agenda asks
    for hundreds)."""
    return f"{dt.hour:02d}:{dt.minute:02d}"


def zone(name: str | ZoneInfo) -> ZoneInfo:
    """The ZoneInfo for an IANA name, with a ValueError that says which name was wrong."""
    if isinstance(name, ZoneInfo):
        return name
    if not valid_timezone(name):
        raise ValueError(f"unknown time zone {name!r}: use an IANA name such as 'Europe/Madrid'")
    return ZoneInfo(name)


def valid_timezone(name: object) -> bool:
    if not isinstance(name, str) or not name or name != name.strip():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def parse_wall_time(text: str) -> time:
    """`HH:MM` as a wall-clock time; `24:00` is accepted as the midnight that ends a day (00:00,
    which working windows read as "into the next day" when it is not after their start)."""
    hours, sep, minutes = text.strip().partition(":")
    if not (sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2 and len(hours) <= 2):
        raise ValueError(f"not a wall-clock time: {text!r} (expected HH:MM)")
    if (int(hours), int(minutes)) == (24, 0):
        return time(0)
    try:
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"not a wall-clock time: {text!r} (expected HH:MM)") from None


def local_to_utc(day: date, wall_time: time, tz: str | ZoneInfo) -> datetime:
    """The UTC instant at which the local clock of `tz` first shows `wall_time` on `day`.

    - Ambiguous times (the repeated hour when clocks go back) take their first occurrence (fold=0).
    - Nonexistent times (skipped when clocks go forward) map to the moment of the jump, the first
      instant the clock shows a later time; a window from 02:30 opens when the clock leaps to 03:00.
    """
    tzinfo = zone(tz)
    naive = datetime.combine(day, wall_time.replace(tzinfo=None, fold=0))
    first = naive.replace(tzinfo=tzinfo, fold=0).astimezone(UTC)
    if first.astimezone(tzinfo).replace(tzinfo=None) == naive:
        return first
    # In a gap: fold=1 reads the time with the later offset, which lands before the jump, and
    # fold=0 lands after it. Bisect the seconds between them for the jump itself.
    low = naive.replace(tzinfo=tzinfo, fold=1).astimezone(UTC)
    high = first
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        middle = middle.replace(microsecond=0)
        if middle.astimezone(tzinfo).replace(tzinfo=None) >= naive:
            high = middle
        else:
            low = middle
    return high


def day_bounds(day: date, tz: str | ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the local calendar day `day` in `tz` (23 or 25 hours on DST days)."""
    return local_to_utc(day, time(0), tz), local_to_utc(day + timedelta(days=1), time(0), tz)


def week_bounds(day: date, tz: str | ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the Monday-to-Sunday local week that contains `day` in `tz`."""
    monday = day - timedelta(days=day.weekday())
    return local_to_utc(monday, time(0), tz), local_to_utc(monday + timedelta(days=7), time(0), tz)


def local_time_label(dt_utc: datetime, tz_name: str) -> str:
    """A short human label in the given zone, e.g. `Mon 4 May 2026, 09:00 (America/Bogota)`."""
    local = ensure_aware(dt_utc).astimezone(zone(tz_name))
    return (
        f"{_WEEKDAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]} {local.year}, "
        f"{local:%H:%M} ({tz_name})"
    )

"""Sends land a little after their slot, not all by the same amount: the budget must still hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from web.scheduling.dispatch_budget import JITTER_ALLOWANCE_SECONDS, pick_send_time


def most_in_any_60_seconds(times: list[datetime]) -> int:
    """Like Genesys's sliding window: sends in (t - 60 s, t] for every send t."""
    ordered = sorted(times)
    return max(
        sum(1 for other in ordered[: i + 1] if other > t - timedelta(seconds=60))
        for i, t in enumerate(ordered)
    )


def test_a_late_landing_send_does_not_push_a_full_minute_over_the_budget():
    now = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
    due = now + timedelta(minutes=30)
    planned: list[datetime] = []
    for _ in range(600):
        planned.append(pick_send_time(due, now, planned, 240))
    # The first send lands almost a full allowance late, every other one exactly on its slot.
    ordered = sorted(planned)
    landed = [ordered[0] + timedelta(seconds=JITTER_ALLOWANCE_SECONDS * 0.9), *ordered[1:]]
    assert most_in_any_60_seconds(landed) <= 240
    assert all(at <= due for at in ordered)

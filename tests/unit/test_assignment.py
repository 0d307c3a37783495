from datetime import UTC, datetime, timedelta

from web.scheduling.assignment import pick_round_robin

T0 = datetime(2026, 5, 4, 9, tzinfo=UTC)


def test_nobody_free_means_nobody():
    assert pick_round_robin([], {"ana": T0}) is None


def test_never_assigned_agents_come_first():
    last = {"ana": T0, "bo": None}
    assert pick_round_robin(["ana", "bo", "cy"], last) == "bo"
    assert pick_round_robin(["ana", "cy"], last) == "cy"  # missing from the mapping = never assigned


def test_least_recently_assigned_wins():
    last = {"ana": T0 + timedelta(hours=2), "bo": T0, "cy": T0 + timedelta(hours=1)}
    assert pick_round_robin(["ana", "bo", "cy"], last) == "bo"
    assert pick_round_robin(["ana", "cy"], last) == "cy"


def test_ties_go_to_the_smallest_agent_id_whatever_the_order():
    last = {"ana": T0, "bo": T0, "cy": T0}
    assert pick_round_robin(["cy", "bo", "ana"], last) == "ana"
    assert pick_round_robin(["cy", "bo"], {}) == "bo"


def test_agents_that_are_not_free_are_never_picked():
    assert pick_round_robin(["cy"], {"ana": None, "bo": None, "cy": T0}) == "cy"


def test_repeated_bookings_spread_evenly():
    agents = ["ana", "bo", "cy"]
    last: dict[str, datetime | None] = {}
    picks = []
    for minute in range(9):
        chosen = pick_round_robin(agents, last)
        picks.append(chosen)
        last[chosen] = T0 + timedelta(minutes=minute)
    assert picks == ["ana", "bo", "cy"] * 3

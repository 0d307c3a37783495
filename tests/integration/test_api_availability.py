"""`GET /availability` and the per-client request quota of the public API, as a client sees them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.fixtures.api import api, make_api, tenant  # noqa: F401
from tests.fixtures.scheduling import workday_slot
from web.api_rate_limit import WINDOW_SECONDS

pytestmark = pytest.mark.timeout(60)


def z(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def error_of(response) -> dict:
    return response.json()["error"]


async def test_free_slots_leave_out_booked_time_and_its_buffers(api, clock):
    nine = workday_slot(clock.now(), 9)
    params = {"fromUtc": z(nine), "toUtc": z(nine + timedelta(hours=2)), "durationMinutes": 30}
    agent = str(api.tenant.agent.id)

    before = await api.get("/availability", params={**params, "agentId": agent})
    assert before.status_code == 200, before.text
    slots = before.json()["data"]["slots"]
    assert [s["startUtc"] for s in slots] == [z(nine + timedelta(minutes=30 * i)) for i in range(4)]
    assert slots[0] == {"startUtc": z(nine), "endUtc": z(nine + timedelta(minutes=30)), "agentId": agent}
    assert "timestamp" in before.json()["meta"]

    booked = await api.post(
        "/scheduled-calls",
        json={
            "guestName": "Gina Guest",
            "guestPhone": "+573001234567",
            "scheduledAtUtc": z(nine + timedelta(minutes=30)),
            "appTimezone": api.tenant.timezone,
            "assignedAgentId": agent,
            "bufferAfterMinutes": 15,
        },
    )
    assert booked.status_code == 201, booked.text
    after = await api.get("/availability", params={**params, "agentId": agent})
    # 09:30 is booked, and its 15-minute trailing buffer also rules out 10:00.
    assert [s["startUtc"] for s in after.json()["data"]["slots"]] == [
        z(nine),
        z(nine + timedelta(minutes=90)),
    ]

    # Without agentId: every agent with working hours; the other agent is still free at 09:30.
    everyone = await api.get("/availability", params=params)
    pairs = {(s["startUtc"], s["agentId"]) for s in everyone.json()["data"]["slots"]}
    assert (z(nine + timedelta(minutes=30)), str(api.tenant.other_agent.id)) in pairs
    assert (z(nine + timedelta(minutes=30)), agent) not in pairs


async def test_working_hours_can_be_ignored_but_conflicts_still_count(api, clock):
    night = workday_slot(clock.now(), 22)  # outside the 08:00-18:00 working hours
    params = {"fromUtc": z(night), "toUtc": z(night + timedelta(hours=1)), "durationMinutes": 60}
    params["agentId"] = str(api.tenant.agent.id)
    assert (await api.get("/availability", params=params)).json()["data"]["slots"] == []
    loose = await api.get("/availability", params={**params, "respectWorkingHours": "false"})
    assert [s["startUtc"] for s in loose.json()["data"]["slots"]] == [z(night)]


async def test_availability_errors_name_the_parameter(api, clock):
    start = workday_slot(clock.now(), 9)
    good = {"fromUtc": z(start), "toUtc": z(start + timedelta(hours=2)), "durationMinutes": 30}

    async def problem(**params):
        response = await api.get("/availability", params=params)
        assert response.status_code == 400, response.text
        error = error_of(response)
        assert error["type"] == "invalid_request" and error["timestamp"]
        return {d["field"]: d["code"] for d in error["details"]}

    assert "fromUtc" in await problem(toUtc=good["toUtc"], durationMinutes=30)
    assert await problem(**{**good, "durationMinutes": 4}) == {"durationMinutes": "out_of_range"}
    assert "durationMinutes" in await problem(**{**good, "durationMinutes": 481})
    assert await problem(**{**good, "toUtc": good["fromUtc"]}) == {"toUtc": "invalid_range"}
    assert await problem(**{**good, "fromUtc": "2030-05-04T09:00:00"}) == {"fromUtc": "invalid"}
    # 3 days in 5-minute steps for two agents: far over the 400-candidate cap.
    wide = {**good, "toUtc": z(start + timedelta(days=3)), "durationMinutes": 5}
    assert await problem(**wide) == {"": "too_many_candidates"}
    stranger = await api.get("/availability", params={**good, "agentId": "999999"})
    assert stranger.status_code == 400 and "agentId" in {d["field"] for d in error_of(stranger)["details"]}


# --- the per-client request quota ---------------------------------------------------------------------


async def test_quota_headers_count_down_then_429_with_retry_after_until_the_next_window(
    client, tenant, clock
):
    # Start at the beginning of a window so the three requests share it.
    now = clock.now()
    clock.advance(seconds=WINDOW_SECONDS - now.timestamp() % WINDOW_SECONDS + 1)
    limited = await make_api(client, tenant, rate_limit_per_minute=3, client_id="small-quota")

    remaining = []
    for _ in range(3):
        response = await limited.get("/scheduled-calls")
        assert response.status_code == 200
        assert response.headers["x-ratelimit-limit"] == "3"
        assert response.headers["x-ratelimit-window"] == "minute"
        assert "retry-after" not in response.headers
        remaining.append(int(response.headers["x-ratelimit-remaining"]))
    assert remaining == [2, 1, 0]
    reset = int(response.headers["x-ratelimit-reset"])
    assert reset > clock.now().timestamp()

    refused = await limited.get("/scheduled-calls")
    assert refused.status_code == 429
    error = error_of(refused)
    assert (error["type"], error["message"]) == ("rate_limit_exceeded", "Rate limit exceeded")
    assert error["timestamp"]
    assert refused.headers["x-ratelimit-remaining"] == "0"  # never negative
    assert 1 <= int(refused.headers["retry-after"]) <= WINDOW_SECONDS
    # Writes count against the same quota.
    assert (await limited.post("/scheduled-calls", json={})).status_code == 429

    # Other clients have their own quota.
    assert (await make_api(client, tenant, client_id="roomy")).token
    clock.advance(seconds=int(refused.headers["retry-after"]))
    again = await limited.get("/scheduled-calls")
    assert again.status_code == 200
    assert again.headers["x-ratelimit-remaining"] == "2"

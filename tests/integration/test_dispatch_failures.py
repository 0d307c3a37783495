"""Every fault class of the simulator against the dispatch: retries that end before the meeting,
permanent errors that fail at once, and the failure path exactly once (event, notification, banner),
then Retry now from the console."""

# Fixtures imported from tests.fixtures are parameters of the tests below.

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from tests.conftest import form_post
from tests.fixtures.dispatch import (
    INBOUND,
    dispatch_deps,  # noqa: F401
    planned_booking,
    run_due,
)
from tests.fixtures.genesys_sim import genesys_sim, genesys_tenant, tenant  # noqa: F401
from web.db.tables import Dispatch, DispatchStatus, Notification
from web.genesys.client import GenesysClient
from web.scheduling import bookings, dispatch, dispatch_send

Outcome = dispatch_send.Outcome


async def failure_record(tenant, booking):
    failed = [e for e in await bookings.timeline(booking.id) if e.event_type == "pre_meeting_failed"]
    notices = await Notification.objects().where(
        (Notification.recipient == tenant.agent.id) & (Notification.kind == "dispatch_failed")
    )
    return failed, notices


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ({"match": {"path_regex": "^/oauth/token"}, "action": "bad_credentials"}, "client id/secret"),
        (
            {"match": {"path_regex": INBOUND}, "action": "not_found"},
            "Open Messaging integration was not found",
        ),
        ({"match": {"path_regex": INBOUND}, "action": "forbidden"}, "lack of permissions"),
        ({"match": {"path_regex": INBOUND}, "action": "validation_error"}, "rejected the request"),
    ],
    ids=["bad-credentials", "integration-404", "forbidden-403", "bad-request-400"],
)
async def test_permanent_errors_fail_at_once_exactly_once(
    genesys_tenant,
    genesys_sim,
    dispatch_deps,
    clock,
    rule,
    words,
):
    genesys_sim.add_fault(**rule)
    booking = await planned_booking(genesys_tenant, clock)
    row = await dispatch.live_row(booking.id)

    assert await run_due(dispatch_deps, clock, booking) == Outcome.FAILED
    # The same trigger again (a duplicate job, a reconciler pass) changes nothing.
    assert await dispatch_send.attempt(dispatch_deps, row.id, row.version) == Outcome.STALE

    failed, notices = await failure_record(genesys_tenant, booking)
    assert len(failed) == 1 and len(notices) == 1
    assert failed[0].payload["attempts"] == 1
    assert words in failed[0].payload["error"]
    assert notices[0].link == f"/bookings/{booking.id}"
    assert "Join the meeting manually" in notices[0].text
    row = await Dispatch.objects().get(Dispatch.id == row.id)
    assert row.status == DispatchStatus.failed and row.attempts == 1
    assert genesys_sim.conversations(f"booking-{booking.id}") == []
    state = await dispatch.dispatch_state(booking.id)
    banner = dispatch.render_banner(booking, state)
    assert "could not be sent" in banner and f"/rooms/{booking.host_token}" in banner
    assert "Retry now" in banner


async def test_429_waits_at_least_retry_after_then_delivers(
    genesys_tenant, genesys_sim, dispatch_deps, clock
):
    genesys_sim.add_fault(match={"path_regex": INBOUND}, action="rate_limit", retry_after=7, times=1)
    booking = await planned_booking(genesys_tenant, clock)

    assert await run_due(dispatch_deps, clock, booking) == Outcome.RETRY
    row = await dispatch.live_row(booking.id)
    assert row.status == DispatchStatus.scheduled and row.attempts == 1
    assert row.next_attempt_at - row.updated_at >= timedelta(seconds=7)
    assert "rate limiting" in row.last_error

    assert await run_due(dispatch_deps, clock, booking) == Outcome.DISPATCHED
    assert len(genesys_sim.conversations(f"booking-{booking.id}")) == 1


async def test_503_then_success_delivers_once(genesys_tenant, genesys_sim, dispatch_deps, clock):
    genesys_sim.add_fault(match={"path_regex": INBOUND}, action="unavailable", times=2)
    booking = await planned_booking(genesys_tenant, clock)

    assert await run_due(dispatch_deps, clock, booking) == Outcome.RETRY
    assert await run_due(dispatch_deps, clock, booking) == Outcome.RETRY
    assert await run_due(dispatch_deps, clock, booking) == Outcome.DISPATCHED
    row = await dispatch.live_row(booking.id)
    assert row.attempts == 3
    assert len(genesys_sim.conversations(f"booking-{booking.id}")) == 1
    assert (await failure_record(genesys_tenant, booking))[0] == []


async def test_timeout_then_success_never_opens_a_second_interaction(
    genesys_tenant,
    genesys_sim,
    settings,
    clock,
):
    # Genesys takes the message but answers after our read timeout: we must resend, and the resend
    # (same messageId, same sender) must land in the same conversation.
    genesys_sim.add_fault(match={"path_regex": INBOUND}, action="timeout_then_success", ms=1500, times=1)
    booking = await planned_booking(genesys_tenant, clock)
    http = httpx.AsyncClient(timeout=httpx.Timeout(5.0, read=0.5))
    async with GenesysClient(http) as client:
        dispatch_deps = dispatch_send.Deps(genesys=client, settings=settings)
        assert await run_due(dispatch_deps, clock, booking) == Outcome.RETRY
        assert await run_due(dispatch_deps, clock, booking) == Outcome.DISPATCHED
    await http.aclose()

    bodies = [r["body"] for r in genesys_sim.inbound_messages()]
    assert len(bodies) == 2 and bodies[0]["channel"]["messageId"] == bodies[1]["channel"]["messageId"]
    assert len(genesys_sim.conversations(f"booking-{booking.id}")) == 1


async def test_retries_stop_before_the_meeting_and_fail_once(
    genesys_tenant, genesys_sim, dispatch_deps, clock
):
    genesys_sim.add_fault(match={"path_regex": INBOUND}, action="unavailable")
    booking = await planned_booking(genesys_tenant, clock, minutes_ahead=3)  # inside the window
    last_allowed = booking.scheduled_at - timedelta(seconds=30)

    outcomes = []
    for _ in range(50):
        outcome = await run_due(dispatch_deps, clock, booking)
        outcomes.append(outcome)
        if outcome != Outcome.RETRY:
            break
        row = await dispatch.live_row(booking.id)
        assert row.next_attempt_at <= last_allowed

    assert outcomes[-1] == Outcome.FAILED
    assert clock.now() < booking.scheduled_at
    failed, notices = await failure_record(genesys_tenant, booking)
    assert len(failed) == 1 and len(notices) == 1
    assert failed[0].payload["attempts"] == len(outcomes)
    assert "no time left to retry" in failed[0].payload["error"]


async def test_backoff_is_full_jitter_capped_with_retry_after_as_floor():
    assert dispatch_send.backoff_seconds(1, None, jitter=1.0) == 2.0
    assert dispatch_send.backoff_seconds(3, None, jitter=0.5) == 4.0
    assert dispatch_send.backoff_seconds(10, None, jitter=1.0) == 60.0
    assert dispatch_send.backoff_seconds(1, 9.0, jitter=0.1) == 9.0
    assert dispatch_send.backoff_seconds(6, None, jitter=0.0) == 0.0


async def test_customer_reminders_are_untouched_by_a_failed_dispatch(
    genesys_tenant,
    genesys_sim,
    dispatch_deps,
    clock,
):
    from web.db.tables import Reminder

    genesys_sim.add_fault(match={"path_regex": INBOUND}, action="forbidden")
    booking = await planned_booking(genesys_tenant, clock)
    before = await Reminder.select(Reminder.id, Reminder.status, Reminder.version).where(
        Reminder.booking == booking.id
    )
    assert await run_due(dispatch_deps, clock, booking) == Outcome.FAILED
    after = await Reminder.select(Reminder.id, Reminder.status, Reminder.version).where(
        Reminder.booking == booking.id
    )
    assert after == before


async def test_retry_now_from_the_console_delivers_and_removes_the_banner(
    genesys_tenant,
    genesys_sim,
    dispatch_deps,
    clock,
    client,
):
    genesys_sim.add_fault(match={"path_regex": INBOUND}, action="forbidden")
    booking = await planned_booking(genesys_tenant, clock)
    assert await run_due(dispatch_deps, clock, booking) == Outcome.FAILED
    response = await form_post(
        client, "/login", {"email": genesys_tenant.agent.email, "password": genesys_tenant.agent_password}
    )
    assert response.status_code == 303

    fragment = await client.get(f"/bookings/{booking.id}/dispatch")
    assert fragment.status_code == 200 and "could not be sent" in fragment.text

    genesys_sim.clear_faults()
    response = await form_post(
        client, f"/bookings/{booking.id}/dispatch/retry", headers={"HX-Request": "true"}
    )

    assert response.status_code == 200
    assert "could not be sent" not in response.text
    assert "pre-meeting message sent" in response.text
    assert len(genesys_sim.conversations(f"booking-{booking.id}")) == 1
    kinds = [e.event_type for e in await bookings.timeline(booking.id)]
    assert kinds.count("pre_meeting_dispatched") == 1 and kinds.count("pre_meeting_failed") == 1


async def test_only_the_booked_agent_or_an_admin_may_retry(
    genesys_tenant, genesys_sim, dispatch_deps, clock, client
):
    genesys_sim.add_fault(match={"path_regex": INBOUND}, action="forbidden")
    booking = await planned_booking(genesys_tenant, clock)
    assert await run_due(dispatch_deps, clock, booking) == Outcome.FAILED
    other = genesys_tenant.other_agent
    await form_post(client, "/login", {"email": other.email, "password": genesys_tenant.agent_password})

    response = await form_post(client, f"/bookings/{booking.id}/dispatch/retry")

    assert response.status_code == 404
    assert (await dispatch.live_row(booking.id)).status == DispatchStatus.failed

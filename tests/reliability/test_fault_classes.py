"""Genesys answers one fault class for a whole run, for every request of the tenant. One simulator
(and one tenant) per class, one real worker for all of them; each meeting ends in exactly one of
the two acceptable outcomes: delivered once, or the failure path once (row failed, one timeline
event, one notification to the booked agent), always before the meeting starts."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from simulators.genesys.app import create_app as create_sim
from simulators.serve import ServerThread
from tasks import reconcile
from tests.fixtures.genesys_sim import GenesysSim, provision
from tests.fixtures.scheduling import create_tenant
from tests.reliability.scenario import INBOUND, all_settled, book_due_soon, eventually, sender
from web.db.tables import BookingEvent, Dispatch, DispatchStatus, Notification
from web.scheduling import dispatch, dispatch_send

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(100)]

TOKEN = r"^/oauth/token"
# (fault rule, expected outcome). AT_ONCE: a permanent error, one attempt and no retry.
# AFTER_RETRIES: transient, retried with backoff until no time is left before the meeting.
AT_ONCE, AFTER_RETRIES, DELIVERED = "failed-at-once", "failed-after-retries", "delivered"


def on(path: str, action: str, **args) -> dict:
    return {"match": {"path_regex": path}, "action": action, **args}


FAULTS = {
    "bad_credentials": (on(TOKEN, "bad_credentials"), AT_ONCE),
    "disable_client": (on(TOKEN, "disable_client"), AT_ONCE),
    "expire_token": (on(INBOUND, "expire_token"), AT_ONCE),
    "forbidden": (on(INBOUND, "forbidden"), AT_ONCE),
    "not_found": (on(INBOUND, "not_found"), AT_ONCE),
    "validation_error": (on(INBOUND, "validation_error"), AT_ONCE),
    "rate_limit": (on(INBOUND, "rate_limit", retry_after=2), AFTER_RETRIES),
    "server_error": (on(INBOUND, "server_error"), AFTER_RETRIES),
    "unavailable": (on(INBOUND, "unavailable"), AFTER_RETRIES),
    "gateway_timeout": (on(INBOUND, "gateway_timeout"), AFTER_RETRIES),
    "drop_connection": (on(INBOUND, "drop_connection"), AFTER_RETRIES),
    "malformed_json": (on(INBOUND, "malformed_json"), AFTER_RETRIES),
    "token_unavailable": (on(TOKEN, "unavailable"), AFTER_RETRIES),
    "latency": (on(INBOUND, "latency", ms=1500), DELIVERED),
}


@pytest.fixture
def simulators() -> Iterator[dict[str, GenesysSim]]:
    servers = {name: ServerThread(create_sim()).start() for name in FAULTS}
    try:
        yield {name: GenesysSim(url=s.url, app=s.app) for name, s in servers.items()}
    finally:
        for server in servers.values():
            server.stop()


def parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))


async def trail(booking) -> dict:
    """What the agent and the timeline show for one meeting."""
    row = await Dispatch.objects().get(Dispatch.booking == booking.id)
    events = await BookingEvent.objects().where(BookingEvent.booking == booking.id)
    notices = await Notification.objects().where(
        (Notification.recipient == booking.assigned_agent)
        & (Notification.kind == "dispatch_failed")
        & (Notification.link == dispatch.booking_link(booking.id))
    )
    return {
        "status": row.status,
        "attempts": row.attempts,
        "dispatched": sum(e.event_type == "pre_meeting_dispatched" for e in events),
        "failed": [e for e in events if e.event_type == "pre_meeting_failed"],
        "notices": len(notices),
    }


async def test_each_fault_class_for_a_whole_run_ends_in_one_acceptable_outcome(
    app, settings, simulators, start_worker, deps
):
    made = {}
    for name, sim in simulators.items():
        tenant = await create_tenant(f"Faults {name}")
        await provision(tenant.app_id, sim, settings.secret_key)
        sim.add_fault(**FAULTS[name][0])  # neither `times` nor `probability`: the whole run
        # One minute between due time and start: about 30 s of retries before the last-chance limit.
        [made[name]] = await book_due_soon(tenant, 1, minutes_before=1)
    start_worker()

    await eventually(lambda: all_settled(list(made.values())), 75, "every dispatch to settle")

    # A reconciler pass on top finds nothing left to repair or resend.
    report = await reconcile.reconcile(deps)
    assert not any(report.values()), report  # nothing left to repair
    for name, booking in made.items():
        seen = await trail(booking)
        sim = simulators[name]
        conversations = [c for c in sim.conversations() if c["from_id"] == sender(booking)]
        expected = FAULTS[name][1]
        if expected == DELIVERED:
            assert seen["status"] == DispatchStatus.dispatched, name
            assert (seen["dispatched"], len(seen["failed"]), seen["notices"]) == (1, 0, 0), name
            assert len(conversations) == 1, name
        else:
            assert seen["status"] == DispatchStatus.failed, name
            assert (seen["dispatched"], len(seen["failed"]), seen["notices"]) == (0, 1, 1), name
            # Some faults answer after Genesys took the message (malformed JSON): still one interaction.
            assert len(conversations) <= 1, name
            # The failure is visible before the meeting starts.
            assert seen["failed"][0].created_at < booking.scheduled_at, name
            if expected == AT_ONCE:
                assert seen["attempts"] == 1, name
            else:
                assert seen["attempts"] >= 2, name
                last_try = max(parse(r["received_at"]) for r in sim.requests(TOKEN + "|" + INBOUND))
                limit = booking.scheduled_at - dispatch_send.LAST_ATTEMPT_BEFORE_START
                assert last_try <= limit + timedelta(seconds=1), name

    # Retry-After is honoured: never two sends within the 2 s Genesys asked for.
    times = sorted(parse(r["received_at"]) for r in simulators["rate_limit"].inbound_messages())
    assert all(b - a >= timedelta(seconds=1.9) for a, b in itertools.pairwise(times)), times

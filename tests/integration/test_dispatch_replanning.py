"""The dispatch follows what it depends on: a booking inside the window goes out at once through
its queued trigger; preset changes, a (re)passed Genesys connection test and a changed Genesys user
id re-plan upcoming rows; intake notes follow the preset at send time; a reschedule lifts a failure
banner; after delivery, a cancel or a move is told in the same conversation, even when it lands
while the message is in flight. All against the simulator over HTTP."""

# Fixtures imported from tests.fixtures are parameters of the tests below.

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest

from simulators.genesys.fixture import ANA_ID, BEN_ID, CLIENT_ID, CLIENT_SECRET, OPEN_INTEGRATION_ID, ORG_ID
from tasks import dispatch as dispatch_jobs
from tasks import reconcile
from tests.conftest import form_post
from tests.fixtures.console import login_as
from tests.fixtures.dispatch import (
    ADMIN,
    INBOUND,
    book,
    dispatch_deps,  # noqa: F401
    enable_dispatch,
    events,
    run_due,
)
from tests.fixtures.genesys_sim import genesys_sim, genesys_tenant, tenant  # noqa: F401
from web.db.tables import Dispatch, DispatchStatus, Membership
from web.genesys import settings_store
from web.scheduling import bookings, dispatch, dispatch_send, hooks, presets
from web.scheduling.timeutil import to_iso_z

Outcome = dispatch_send.Outcome


def job_ctx(deps) -> dict:
    """What the worker hands its jobs."""
    return {"genesys": deps.genesys, "settings": deps.settings}


def attributes_sent(sim, booking) -> list[dict]:
    sender = f"booking-{booking.id}"
    bodies = [r["body"] for r in sim.inbound_messages() if isinstance(r.get("body"), dict)]
    return [
        b["channel"]["metadata"]["customAttributes"] for b in bodies if b["channel"]["from"]["id"] == sender
    ]


async def test_a_booking_made_after_its_due_time_is_queued_to_go_at_once(
    app, genesys_tenant, genesys_sim, dispatch_deps, clock
):
    await enable_dispatch(genesys_tenant, clock, dispatch_minutes_before=15)
    booking = await book(genesys_tenant, clock, minutes_ahead=6)

    row = await dispatch.live_row(booking.id)
    job = await app.state.queue.job(dispatch.due_key(row.next_attempt_at))
    assert job is not None, "no trigger queued: the dispatch would be skipped"
    assert job.scheduled <= time.time() + 1  # due already: no waiting for a time that has passed

    clock.advance(seconds=max(0.0, (row.next_attempt_at - clock.now()).total_seconds()))
    sent = await dispatch_jobs.send_due_dispatches(job_ctx(dispatch_deps), **job.kwargs)
    assert sent == {Outcome.DISPATCHED: 1}
    [conversation] = genesys_sim.conversations(f"booking-{booking.id}")
    assert (await Dispatch.objects().get(Dispatch.id == row.id)).conversation_id == conversation["id"]
    [request] = genesys_sim.inbound_messages()
    assert request["query"].get("prefetchConversationId") == "true"


async def test_turning_dispatch_on_plans_the_upcoming_bookings(
    genesys_tenant, genesys_sim, dispatch_deps, clock
):
    booking = await book(genesys_tenant, clock)
    assert await dispatch.live_row(booking.id) is None

    await enable_dispatch(genesys_tenant, clock, dispatch_minutes_before=10)

    row = await dispatch.live_row(booking.id)
    assert row is not None and row.due_at == booking.scheduled_at - timedelta(minutes=10)
    assert len(await events(booking, "pre_meeting_scheduled")) == 1
    assert await run_due(dispatch_deps, clock, booking) == Outcome.DISPATCHED
    assert len(genesys_sim.conversations(f"booking-{booking.id}")) == 1


@pytest.mark.parametrize("include_at_send", [True, False], ids=["turned-on", "turned-off"])
async def test_intake_notes_follow_the_preset_as_it_is_at_send_time(
    genesys_tenant, genesys_sim, dispatch_deps, clock, include_at_send
):
    await enable_dispatch(genesys_tenant, clock, dispatch_include_intake_notes=not include_at_send)
    booking = await book(genesys_tenant, clock, notes="Second opinion on the mortgage")

    await presets.save_preset(
        genesys_tenant.app_id, {"dispatch_include_intake_notes": include_at_send}, ADMIN, clock.now()
    )
    assert await run_due(dispatch_deps, clock, booking) == Outcome.DISPATCHED

    [attributes] = attributes_sent(genesys_sim, booking)
    if include_at_send:
        assert attributes["intakeNotes"] == "Second opinion on the mortgage"
    else:
        assert "intakeNotes" not in attributes


async def test_genesys_set_up_after_booking_plans_the_dispatch(
    client, tenant, genesys_sim, dispatch_deps, clock, settings
):
    await enable_dispatch(tenant, clock)
    booking = await book(tenant, clock)
    assert await dispatch.live_row(booking.id) is None  # Genesys not provisioned yet
    await settings_store.save_settings(
        tenant.app_id,
        {
            "region": "mypurecloud.com",
            "login_base_url": genesys_sim.url,
            "api_base_url": genesys_sim.url,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "organization_id": ORG_ID,
            "open_messaging_integration_id": OPEN_INTEGRATION_ID,
        },
        settings.secret_key,
    )
    await login_as(client, tenant.admin, tenant.admin_password)

    response = await form_post(
        client, f"/apps/{tenant.public_id}/genesys/test", headers={"HX-Request": "true"}
    )

    assert response.status_code == 200
    row = await dispatch.live_row(booking.id)
    assert row is not None and row.status == DispatchStatus.scheduled
    [planned] = await events(booking, "pre_meeting_scheduled")
    assert planned.actor_type == "system"
    # A second passing test plans nothing more.
    await form_post(client, f"/apps/{tenant.public_id}/genesys/test", headers={"HX-Request": "true"})
    assert (await dispatch.live_row(booking.id)).id == row.id
    assert await run_due(dispatch_deps, clock, booking) == Outcome.DISPATCHED
    assert len(genesys_sim.conversations(f"booking-{booking.id}")) == 1


async def test_the_message_id_stays_the_same_across_retries(
    genesys_tenant, genesys_sim, dispatch_deps, clock
):
    genesys_sim.add_fault(match={"path_regex": INBOUND}, action="unavailable", times=2)
    await enable_dispatch(genesys_tenant, clock)
    booking = await book(genesys_tenant, clock)
    row = await dispatch.live_row(booking.id)

    outcomes = [await run_due(dispatch_deps, clock, booking) for _ in range(3)]

    assert outcomes == [Outcome.RETRY, Outcome.RETRY, Outcome.DISPATCHED]
    ids = {r["body"]["channel"]["messageId"] for r in genesys_sim.inbound_messages()}
    assert ids == {row.message_id}
    assert len(genesys_sim.inbound_messages()) == 3


async def test_a_reschedule_after_a_failure_lifts_the_banner_and_plans_afresh(
    genesys_tenant, genesys_sim, dispatch_deps, clock
):
    genesys_sim.add_fault(match={"path_regex": INBOUND}, action="forbidden")
    await enable_dispatch(genesys_tenant, clock)
    booking = await book(genesys_tenant, clock)
    assert await run_due(dispatch_deps, clock, booking) == Outcome.FAILED
    assert (await dispatch.dispatch_state(booking.id)).failed

    new_start = booking.scheduled_at + timedelta(hours=1)
    booking = await bookings.reschedule(
        booking.id, new_start, ADMIN, now=clock.now(), respect_working_hours=False
    )

    state = await dispatch.dispatch_state(booking.id)
    assert state.state == "planned" and not state.failed
    assert "could not be sent" not in dispatch.render_banner(booking, state)
    [cleared] = await events(booking, "pre_meeting_cleared")
    assert cleared.payload["was"] == DispatchStatus.failed
    genesys_sim.clear_faults()
    assert await run_due(dispatch_deps, clock, booking) == Outcome.DISPATCHED
    [attributes] = attributes_sent(genesys_sim, booking)[-1:]
    assert attributes["meetingStartsAt"] == to_iso_z(new_start)


async def cancelled_after_delivery(tenant, deps, clock):
    """A booking whose dispatch reached the agent, then cancelled: the booking and its row."""
    await enable_dispatch(tenant, clock)
    booking = await book(tenant, clock)
    row = await dispatch.live_row(booking.id)
    assert await run_due(deps, clock, booking) == Outcome.DISPATCHED
    await bookings.cancel(booking.id, ADMIN, now=clock.now())
    return booking, row


async def send_follow_up_job(app, deps, key: str) -> bool:
    job = await app.state.queue.job(key)
    assert job is not None and job.function == dispatch.FOLLOW_UP_JOB
    return await dispatch_jobs.send_dispatch_follow_up(job_ctx(deps), **job.kwargs)


def told_cancelled(genesys_sim, booking) -> bool:
    [conversation] = genesys_sim.conversations(f"booking-{booking.id}")
    return len(conversation["messages"]) == 2 and "was cancelled" in conversation["messages"][-1]["text"]


async def test_a_cancel_after_delivery_queues_the_follow_up_into_the_same_conversation(
    app, genesys_tenant, genesys_sim, dispatch_deps, clock
):
    booking, row = await cancelled_after_delivery(genesys_tenant, dispatch_deps, clock)

    key = dispatch.follow_up_key(row.id, "cancelled", booking.scheduled_at)
    assert await send_follow_up_job(app, dispatch_deps, key) is True
    assert told_cancelled(genesys_sim, booking)
    [first, follow_up] = genesys_sim.inbound_messages()
    assert follow_up["body"]["channel"]["messageId"] == f"{row.message_id}-cancelled"
    assert follow_up["body"]["channel"]["from"]["id"] == first["body"]["channel"]["from"]["id"]


async def test_a_follow_up_lost_with_redis_is_queued_again_by_the_reconciler(
    app, genesys_tenant, genesys_sim, dispatch_deps, clock
):
    booking, row = await cancelled_after_delivery(genesys_tenant, dispatch_deps, clock)
    key = dispatch.follow_up_key(row.id, "cancelled", booking.scheduled_at)
    await app.state.queue.redis.flushdb()  # Redis loses the follow-up's trigger before a worker runs it

    # Within its first two minutes its own trigger (or a retry) may still run: left alone.
    assert (await reconcile.reconcile(dispatch_deps, clock.now()))["follow_ups"] == 0
    clock.advance(seconds=reconcile.FOLLOW_UP_LOST_AFTER.total_seconds() + 1)
    assert (await reconcile.reconcile(dispatch_deps, clock.now()))["follow_ups"] == 1
    assert await send_follow_up_job(app, dispatch_deps, key) is True
    assert told_cancelled(genesys_sim, booking)

    # Sent: nothing is owed any more, and the trigger running again sends nothing.
    assert (await Dispatch.objects().get(Dispatch.id == row.id)).follow_up is None
    clock.advance(seconds=reconcile.FOLLOW_UP_LOST_AFTER.total_seconds() + 1)
    assert (await reconcile.reconcile(dispatch_deps, clock.now()))["follow_ups"] == 0
    assert await send_follow_up_job(app, dispatch_deps, key) is False
    assert len(genesys_sim.inbound_messages()) == 2


async def test_a_cancel_before_delivery_sends_nothing_at_all(
    app, genesys_tenant, genesys_sim, dispatch_deps, clock
):
    await enable_dispatch(genesys_tenant, clock)
    booking = await book(genesys_tenant, clock)
    row = await dispatch.live_row(booking.id)

    await bookings.cancel(booking.id, ADMIN, now=clock.now())

    assert (
        await app.state.queue.job(dispatch.follow_up_key(row.id, "cancelled", booking.scheduled_at)) is None
    )
    job = await app.state.queue.job(dispatch.due_key(row.next_attempt_at))
    clock.advance(seconds=(row.next_attempt_at - clock.now()).total_seconds())
    assert await dispatch_jobs.send_due_dispatches(job_ctx(dispatch_deps), **job.kwargs) == {}
    assert genesys_sim.inbound_messages() == []
    assert (await Dispatch.objects().get(Dispatch.id == row.id)).status == DispatchStatus.cleared


async def test_a_changed_genesys_user_id_reroutes_the_unsent_dispatch(
    client, genesys_tenant, genesys_sim, dispatch_deps, clock
):
    tenant = genesys_tenant
    await Membership.update({Membership.genesys_user_id: None}).where(Membership.user == tenant.agent.id)
    await enable_dispatch(tenant, clock)
    booking = await book(tenant, clock)
    assert (await dispatch.dispatch_state(booking.id)).state == "not_dispatched"
    await login_as(client, tenant.admin, tenant.admin_password)

    async def set_genesys_id(value: str) -> None:
        form = {"role": "agent", "timezone": tenant.timezone, "genesys_user_id": value}
        response = await form_post(client, f"/apps/{tenant.public_id}/members/{tenant.agent.id}", form)
        assert response.status_code == 200, response.text

    await set_genesys_id("not-yet-the-right-id")
    first = await dispatch.live_row(booking.id)
    assert first is not None and first.agent_user_id == "not-yet-the-right-id"

    await set_genesys_id(ANA_ID)
    second = await dispatch.live_row(booking.id)
    assert second.id != first.id and second.agent_user_id == ANA_ID
    assert [e.payload["dispatch_id"] for e in await events(booking, "pre_meeting_cleared")] == [str(first.id)]

    assert await run_due(dispatch_deps, clock, booking) == Outcome.DISPATCHED
    [conversation] = genesys_sim.conversations(f"booking-{booking.id}")
    assert [p.get("userId") for p in conversation["participants"] if p.get("purpose") == "agent"] == [ANA_ID]

    await set_genesys_id("")  # delivered already: nothing to take back
    assert (await dispatch.live_row(booking.id)).status == DispatchStatus.dispatched


async def test_a_reschedule_after_delivery_tells_the_conversation_then_sends_for_the_new_time(
    app, genesys_tenant, genesys_sim, dispatch_deps, clock
):
    await enable_dispatch(genesys_tenant, clock)
    booking = await book(genesys_tenant, clock, minutes_ahead=30)
    first = await dispatch.live_row(booking.id)
    assert await run_due(dispatch_deps, clock, booking) == Outcome.DISPATCHED
    new_start = booking.scheduled_at + timedelta(hours=3)

    booking = await bookings.reschedule(
        booking.id, new_start, ADMIN, now=clock.now(), respect_working_hours=False
    )

    [cleared] = await events(booking, "pre_meeting_cleared")
    assert cleared.payload["follow_up"] == "moved"
    job = await app.state.queue.job(dispatch.follow_up_key(first.id, "moved", new_start))
    assert await dispatch_jobs.send_dispatch_follow_up(job_ctx(dispatch_deps), **job.kwargs) is True
    [conversation] = genesys_sim.conversations(f"booking-{booking.id}")
    assert f"moved to {new_start:%d %b %H:%M} UTC" in conversation["messages"][-1]["text"]

    assert await run_due(dispatch_deps, clock, booking) == Outcome.DISPATCHED
    [conversation] = genesys_sim.conversations(f"booking-{booking.id}")  # still the agent's one
    texts = [m["text"] for m in conversation["messages"]]
    assert len(texts) == 3 and f"at {new_start:%H:%M} UTC — accept to join" in texts[-1]
    assert len(await events(booking, "pre_meeting_dispatched")) == 2


async def test_a_cancel_after_a_delivered_reschedule_still_reaches_the_conversation(
    app, genesys_tenant, genesys_sim, dispatch_deps, clock
):
    await enable_dispatch(genesys_tenant, clock)
    booking = await book(genesys_tenant, clock, minutes_ahead=30)
    first = await dispatch.live_row(booking.id)
    assert await run_due(dispatch_deps, clock, booking) == Outcome.DISPATCHED
    booking = await bookings.reschedule(
        booking.id,
        booking.scheduled_at + timedelta(hours=3),
        ADMIN,
        now=clock.now(),
        respect_working_hours=False,
    )

    await bookings.cancel(booking.id, ADMIN, now=clock.now())  # the new dispatch is not out yet

    job = await app.state.queue.job(dispatch.follow_up_key(first.id, "cancelled", booking.scheduled_at))
    assert job is not None
    assert await dispatch_jobs.send_dispatch_follow_up(job_ctx(dispatch_deps), **job.kwargs) is True
    [conversation] = genesys_sim.conversations(f"booking-{booking.id}")
    assert "was cancelled" in conversation["messages"][-1]["text"]


@pytest.mark.parametrize("change", ["cancel", "reschedule"])
async def test_a_change_while_the_message_is_in_flight_gets_its_follow_up(
    app, genesys_tenant, genesys_sim, dispatch_deps, clock, change
):
    genesys_sim.add_fault(match={"path_regex": INBOUND}, action="latency", ms=800, times=1)
    await enable_dispatch(genesys_tenant, clock)
    booking = await book(genesys_tenant, clock, minutes_ahead=30)
    row = await dispatch.live_row(booking.id)
    clock.advance(seconds=(row.next_attempt_at - clock.now()).total_seconds())
    sending = asyncio.create_task(dispatch_send.attempt(dispatch_deps, row.id, row.version))
    async with asyncio.timeout(5):
        while (await Dispatch.objects().get(Dispatch.id == row.id)).status != DispatchStatus.sending:
            await asyncio.sleep(0.02)

    if change == "cancel":
        booking = await bookings.cancel(booking.id, ADMIN, now=clock.now())
    else:
        booking = await bookings.reschedule(
            booking.id,
            booking.scheduled_at + timedelta(hours=1),
            ADMIN,
            now=clock.now(),
            respect_working_hours=False,
        )
    assert await asyncio.wait_for(sending, 10) == Outcome.STALE

    [conversation] = genesys_sim.conversations(f"booking-{booking.id}")
    cleared = await Dispatch.objects().get(Dispatch.id == row.id)
    assert cleared.status == DispatchStatus.cleared and cleared.conversation_id == conversation["id"]
    assert (await dispatch.booking_for_conversation(conversation["id"])).id == booking.id
    kind = "cancelled" if change == "cancel" else "moved"
    job = await app.state.queue.job(dispatch.follow_up_key(row.id, kind, booking.scheduled_at))
    assert await dispatch_jobs.send_dispatch_follow_up(job_ctx(dispatch_deps), **job.kwargs) is True
    words = "was cancelled" if change == "cancel" else "was moved to"
    [conversation] = genesys_sim.conversations(f"booking-{booking.id}")
    assert words in conversation["messages"][-1]["text"]


async def test_genesys_lost_before_the_send_fails_loudly_and_a_passing_test_plans_it_again(
    client, genesys_tenant, genesys_sim, dispatch_deps, clock, settings
):
    tenant = genesys_tenant
    await enable_dispatch(tenant, clock)
    booking = await book(tenant, clock)
    failed_row = await dispatch.live_row(booking.id)
    # An admin edits the connection: it stops counting as provisioned until tested again.
    await settings_store.save_settings(tenant.app_id, {"client_id": "a-new-client-id"}, settings.secret_key)

    assert await run_due(dispatch_deps, clock, booking) == Outcome.FAILED
    [failed] = await events(booking, "pre_meeting_failed")
    assert "Genesys is no longer set up" in failed.payload["error"]
    assert genesys_sim.inbound_messages() == []

    await settings_store.save_settings(tenant.app_id, {"client_id": CLIENT_ID}, settings.secret_key)
    await login_as(client, tenant.admin, tenant.admin_password)
    response = await form_post(
        client, f"/apps/{tenant.public_id}/genesys/test", headers={"HX-Request": "true"}
    )
    assert response.status_code == 200

    row = await dispatch.live_row(booking.id)
    assert row.id != failed_row.id and row.status == DispatchStatus.scheduled
    assert not (await dispatch.dispatch_state(booking.id)).failed
    assert await run_due(dispatch_deps, clock, booking) == Outcome.DISPATCHED
    assert len(genesys_sim.conversations(f"booking-{booking.id}")) == 1


async def test_a_reassign_after_delivery_tells_the_first_agent_and_routes_the_next_message_to_the_new_one(
    app, genesys_tenant, genesys_sim, dispatch_deps, clock
):
    await enable_dispatch(genesys_tenant, clock)
    booking = await book(genesys_tenant, clock, minutes_ahead=30)
    first = await dispatch.live_row(booking.id)
    assert await run_due(dispatch_deps, clock, booking) == Outcome.DISPATCHED
    [conversation] = genesys_sim.conversations(f"booking-{booking.id}")

    booking = await bookings.reassign(
        booking.id, genesys_tenant.other_agent.id, ADMIN, now=clock.now(), respect_working_hours=False
    )

    [cleared] = await events(booking, "pre_meeting_cleared")
    assert cleared.payload["follow_up"] == "reassigned"
    job = await app.state.queue.job(dispatch.follow_up_key(first.id, "reassigned", booking.scheduled_at))
    assert await dispatch_jobs.send_dispatch_follow_up(job_ctx(dispatch_deps), **job.kwargs) is True
    told = genesys_sim.inbound_messages()[-1]["body"]
    assert "given to another agent" in told["text"]
    assert told["channel"]["metadata"]["customAttributes"]["agentUserId"] == ANA_ID
    # Ana closes the interaction; the new message re-opens the conversation for Ben.
    genesys_sim._control("POST", f"conversations/{conversation['id']}/disconnect")

    assert await run_due(dispatch_deps, clock, booking) == Outcome.DISPATCHED
    [conversation] = genesys_sim.conversations(f"booking-{booking.id}")
    agents = [p for p in conversation["participants"] if p.get("purpose") == "agent"]
    assert agents[-1]["userId"] == BEN_ID and agents[-1]["state"] != "disconnected"


async def test_the_dispatch_change_rolls_back_with_a_failed_reschedule(genesys_tenant, clock):
    """Planned inside the lifecycle transaction: when a later step of the reschedule fails, the
    cleared row and the new one vanish with it."""
    await enable_dispatch(genesys_tenant, clock)
    booking = await book(genesys_tenant, clock)
    before = await dispatch.live_row(booking.id)

    async def failing_step(change):
        if change.kind == "rescheduled":
            raise RuntimeError("a later step of the change failed")

    hooks.register_planner(failing_step)  # runs after the dispatch planner
    try:
        with pytest.raises(RuntimeError):
            await bookings.reschedule(
                booking.id,
                booking.scheduled_at + timedelta(hours=1),
                ADMIN,
                now=clock.now(),
                respect_working_hours=False,
            )
    finally:
        hooks._planners.remove(failing_step)

    after = await dispatch.live_row(booking.id)
    assert (after.id, after.version, after.due_at) == (before.id, before.version, before.due_at)
    assert await events(booking, "pre_meeting_cleared") == []
    assert len(await Dispatch.objects().where(Dispatch.booking == booking.id)) == 1

"""Nothing is lost: the reconciler re-creates lost triggers, sends rows whose trigger vanished,
finishes rows whose runner died mid-send (once, in the same conversation) and raises one alarm
per overdue row; a real worker process killed in the middle of a send still delivers once."""

# Fixtures imported from tests.fixtures are parameters of the tests below.

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from zoneinfo import ZoneInfo

from tasks import reconcile
from tests.fixtures.dispatch import (
    INBOUND,
    dispatch_deps,  # noqa: F401
    planned_booking,
)
from tests.fixtures.genesys_sim import genesys_sim, genesys_tenant, tenant  # noqa: F401
from web.db.tables import Dispatch, DispatchStatus, Membership, Notification, Role
from web.genesys.client import GenesysClient
from web.genesys.settings_store import load as load_genesys
from web.scheduling import bookings, dispatch, dispatch_send
from web.scheduling.dispatch_payload import dispatch_body
from web.settings import PROJECT_ROOT


async def flush_instance(app, instance):
    redis = app.state.redis
    for pattern in (f"{instance}*", f"saq:*{instance}*"):
        keys = [key async for key in redis.scan_iter(pattern, count=1000)]
        if keys:
            await redis.delete(*keys)


async def dispatched_events(booking):
    return [e for e in await bookings.timeline(booking.id) if e.event_type == "pre_meeting_dispatched"]


async def test_redis_flushed_between_planning_and_due_time_still_delivers_once(
    app, instance, genesys_tenant, genesys_sim, dispatch_deps, clock
):
    booking = await planned_booking(genesys_tenant, clock, minutes_ahead=30)
    row = await dispatch.live_row(booking.id)
    key = dispatch.due_key(row.next_attempt_at)
    assert await app.state.queue.job(key) is not None

    await flush_instance(app, instance)
    assert await app.state.queue.job(key) is None

    report = await reconcile.reconcile(dispatch_deps, clock.now())
    assert report["enqueued"] == 1
    assert await app.state.queue.job(key) is not None

    # No worker ran the trigger: past the due time the reconciler sends the row itself.
    await flush_instance(app, instance)
    clock.advance(seconds=(row.next_attempt_at - clock.now()).total_seconds() + 10)
    assert (await reconcile.reconcile(dispatch_deps, clock.now()))["sent_lost"] == 1
    assert (await reconcile.reconcile(dispatch_deps, clock.now()))["sent_lost"] == 0

    assert len(genesys_sim.conversations(f"booking-{booking.id}")) == 1
    assert len(await dispatched_events(booking)) == 1


async def test_a_row_stuck_in_sending_is_finished_in_the_same_conversation(
    genesys_tenant, genesys_sim, dispatch_deps, clock, settings
):
    booking = await planned_booking(genesys_tenant, clock, minutes_ahead=30)
    row = await dispatch.live_row(booking.id)
    clock.advance(seconds=(row.next_attempt_at - clock.now()).total_seconds())
    # A runner claimed the row and Genesys took the message, then the runner died.
    await Dispatch.update(
        {
            Dispatch.status: DispatchStatus.sending,
            Dispatch.version: row.version + 1,
            Dispatch.attempts: 1,
            Dispatch.updated_at: clock.now(),
        }
    ).where(Dispatch.id == row.id)
    tenant_genesys = await load_genesys(booking.app, settings.secret_key)
    body = dispatch_body(
        booking=booking,
        message_id=row.message_id,
        sent_at=clock.now(),
        agent_genesys_id=row.agent_user_id,
        agent_email=genesys_tenant.agent.email,
        join_url="http://localhost:8000/rooms/x",
        include_notes=False,
    )
    await dispatch_deps.genesys.send_inbound_open_message(
        tenant_genesys.credentials, tenant_genesys.integration_id, body
    )

    assert (await reconcile.reconcile(dispatch_deps, clock.now()))[
        "resumed"
    ] == 0  # not stuck long enough yet
    clock.advance(seconds=61)
    assert (await reconcile.reconcile(dispatch_deps, clock.now()))["resumed"] == 1

    [conversation] = genesys_sim.conversations(f"booking-{booking.id}")
    row = await Dispatch.objects().get(Dispatch.id == row.id)
    assert row.status == DispatchStatus.dispatched and row.conversation_id == conversation["id"]
    assert len(await dispatched_events(booking)) == 1


async def test_an_overdue_row_raises_one_alarm_to_the_admins(
    genesys_tenant, genesys_sim, dispatch_deps, clock
):
    genesys_sim.add_fault(match={"path_regex": INBOUND}, action="unavailable")
    booking = await planned_booking(genesys_tenant, clock, minutes_ahead=30)
    row = await dispatch.live_row(booking.id)
    clock.advance(seconds=(row.next_attempt_at - clock.now()).total_seconds() + 90)

    first = await reconcile.reconcile(dispatch_deps, clock.now())
    clock.advance(seconds=120)
    second = await reconcile.reconcile(dispatch_deps, clock.now())

    assert first["alarms"] == 1 and second["alarms"] == 0
    admins = await Membership.select(Membership.user).where(
        (Membership.app == genesys_tenant.app_id) & (Membership.role == Role.admin)
    )
    notices = await Notification.objects().where(Notification.kind == "dispatch_overdue")
    assert [n.recipient for n in notices] == [a["user"] for a in admins]
    assert notices[0].link == f"/bookings/{booking.id}"


async def test_other_areas_plug_their_repairs_in(app):
    seen = []

    async def repair(now):
        seen.append(now)

    reconcile.REPAIRS.append(repair)
    try:
        async with GenesysClient() as client:
            from web.settings import Settings

            dispatch_deps = dispatch_send.Deps(genesys=client, settings=app.state.settings)
            assert isinstance(dispatch_deps.settings, Settings)
            await reconcile.reconcile(dispatch_deps)
    finally:
        reconcile.REPAIRS.remove(repair)
    assert len(seen) == 1


async def _wait_until_sending(row_id, timeout=20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = await Dispatch.objects().get(Dispatch.id == row_id)
        if row.status == DispatchStatus.sending:
            return
        assert row.status == DispatchStatus.scheduled, row.status
        await asyncio.sleep(0.05)
    raise AssertionError("the worker never started sending")


async def test_a_worker_killed_mid_send_still_delivers_once(
    genesys_tenant, genesys_sim, dispatch_deps, clock, settings, database_url
):
    genesys_sim.add_fault(match={"path_regex": INBOUND}, action="latency", ms=2500, times=1)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": settings.redis_url,
        "SECRET_KEY": settings.secret_key,
        "PUBLIC_URL": settings.public_url,
        "PUNCTUAL_INSTANCE": settings.instance,
        "LOG_LEVEL": "WARNING",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "web.cli", "worker"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # Inside the dispatch window: the worker's trigger fires at once.
        booking = await planned_booking(genesys_tenant, clock, minutes_ahead=3)
        row = await dispatch.live_row(booking.id)
        await _wait_until_sending(row.id)
        await asyncio.sleep(0.5)  # the request is now waiting in the simulator
        assert genesys_sim.inbound_messages() == []
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
    await asyncio.sleep(2.6)  # whatever the simulator does with the orphaned request, it has done it

    clock.advance(seconds=61)
    assert (await reconcile.reconcile(dispatch_deps, clock.now()))["resumed"] == 1

    assert len(genesys_sim.conversations(f"booking-{booking.id}")) == 1
    assert len(await dispatched_events(booking)) == 1
    assert (await dispatch.live_row(booking.id)).status == DispatchStatus.dispatched


async def test_a_row_stuck_in_sending_past_a_minute_raises_one_alarm(
    genesys_tenant, genesys_sim, dispatch_deps, clock
):
    booking = await planned_booking(genesys_tenant, clock, minutes_ahead=30)
    row = await dispatch.live_row(booking.id)
    clock.advance(seconds=(row.next_attempt_at - clock.now()).total_seconds())
    # A runner claimed the row and died before Genesys saw anything.
    await Dispatch.update(
        {
            Dispatch.status: DispatchStatus.sending,
            Dispatch.version: row.version + 1,
            Dispatch.attempts: 1,
            Dispatch.updated_at: clock.now(),
        }
    ).where(Dispatch.id == row.id)
    genesys_sim.add_fault(match={"path_regex": INBOUND}, action="unavailable")

    clock.advance(seconds=61)
    first = await reconcile.reconcile(dispatch_deps, clock.now())
    clock.advance(seconds=120)
    second = await reconcile.reconcile(dispatch_deps, clock.now())

    assert first["alarms"] == 1 and first["resumed"] == 1
    assert second["alarms"] == 0
    notices = await Notification.objects().where(Notification.kind == "dispatch_overdue")
    assert len(notices) == 1 and notices[0].recipient == genesys_tenant.admin.id
    assert "overdue" in notices[0].text and notices[0].link == f"/bookings/{booking.id}"
    local = booking.scheduled_at.astimezone(ZoneInfo(genesys_tenant.timezone))
    assert f"at {local:%H:%M} ({genesys_tenant.timezone})" in notices[0].text  # the admin's own clock

"""A failing pre-meeting dispatch turns up as the red banner on the agent's already open
/my-schedules page, without a reload; Retry now delivers it and the banner goes away."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from saq import Job

from tests.conftest import run
from tests.fixtures.genesys_sim import genesys_sim, provision  # noqa: F401
from tests.fixtures.scheduling import create_tenant
from web import clock as app_clock
from web.scheduling import bookings, dispatch, presets
from web.scheduling.hooks import Actor
from web.scheduling.timeutil import zone

pytestmark = pytest.mark.e2e

INBOUND = r"/inbound/open/message"


@pytest.fixture
def planned(database_url, settings, genesys_sim):
    """A tenant provisioned against the simulator and a booking an hour ahead with its dispatch
    planned; made before the live server starts, so nothing is enqueued yet."""

    async def prepare():
        tenant = await create_tenant()
        await provision(tenant.app_id, genesys_sim, settings.secret_key)
        actor = Actor("admin", str(tenant.admin.id))
        values = {"genesys_dispatch_enabled": True, "dispatch_minutes_before": 5}
        await presets.save_preset(tenant.app_id, values, actor, app_clock.now())
        data = bookings.NewBooking(
            guest_name="Jane Doe",
            guest_phone="+573001234567",
            scheduled_at=app_clock.now().replace(microsecond=0) + timedelta(hours=1),
            assigned_agent_id=tenant.agent.id,
            respect_working_hours=False,
        )
        booking = await bookings.create(tenant.app_id, data, actor, now=app_clock.now())
        return tenant, booking, await dispatch.live_row(booking.id)

    return run(prepare())


def trigger(settings, row) -> None:
    """Enqueue the row's trigger on the live server's queue, as the planner does."""

    async def enqueue():
        from tasks.worker import make_queue

        queue = make_queue(settings)
        await queue.connect()
        try:
            job = Job(
                function=dispatch.SEND_JOB,
                kwargs={"dispatch_id": str(row.id), "version": row.version},
                key=dispatch.send_key(row.id, row.version) + ":e2e",
                timeout=60,
            )
            await queue.enqueue(job)
        finally:
            await queue.disconnect()
            await asyncio.sleep(0)

    run(enqueue())


def test_a_failing_dispatch_shows_the_banner_live_and_retry_now_clears_it(
    planned,
    live_server,
    page,
    genesys_sim,
    settings,
    clock,
):
    tenant, booking, row = planned
    week = booking.scheduled_at.astimezone(zone(tenant.timezone)).date().isoformat()
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(tenant.agent.email)
    page.get_by_label("Password").fill(tenant.agent_password)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server}/my-schedules?app={tenant.public_id}&week={week}")

    card = page.locator(f"#dispatch-{booking.id}")
    expect(card).to_contain_text("pre-meeting message planned")
    expect(card.get_by_role("alert")).to_have_count(0)
    page.wait_for_timeout(1000)  # the page's live stream is connected

    genesys_sim.add_fault(match={"path_regex": INBOUND}, action="forbidden")
    clock.advance(seconds=(row.next_attempt_at - clock.now()).total_seconds())
    trigger(settings, row)

    banner = card.get_by_role("alert")
    expect(banner).to_be_visible(timeout=15_000)
    expect(banner).to_contain_text("could not be sent")
    expect(banner.get_by_role("link", name="Join the meeting")).to_have_attribute(
        "href", f"/rooms/{booking.host_token}"
    )

    genesys_sim.clear_faults()
    banner.get_by_role("button", name="Retry now").click()
    expect(card.get_by_role("alert")).to_have_count(0)
    expect(card).to_contain_text("pre-meeting message sent")
    assert len(genesys_sim.conversations(f"booking-{booking.id}")) == 1

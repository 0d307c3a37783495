"""Punctual inside the simulated Genesys agent desktop, in real Chromium.

The desktop is served by the simulator on 127.0.0.1 and our app on localhost: two sites, so the
iframes are cross-site exactly as under apps.mypurecloud.com (partitioned cookies, CSRF, framing).
The client apps the desktop shows are the ones our Genesys setup provisioned in the simulator, so
the URLs, placeholders and sandbox under test are the ones real Genesys would get.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from simulators.genesys.fixture import ANA_ID
from simulators.serve import ServerThread, free_port
from tests.conftest import run
from tests.e2e.test_dispatch_banner import trigger
from tests.fixtures.console import insert_booking
from tests.fixtures.genesys_app import enable_browser_sign_in
from tests.fixtures.genesys_sim import genesys_sim, provision  # noqa: F401
from tests.fixtures.scheduling import create_tenant, workday_slot
from web import clock as app_clock
from web.db.tables import Booking, BookingStatus
from web.genesys import settings_store, setup
from web.genesys.client import GenesysClient
from web.scheduling import bookings, dispatch, presets
from web.scheduling.hooks import Actor
from web.scheduling.timeutil import zone

pytestmark = pytest.mark.e2e

MY_SCHEDULES = 'iframe[title="My schedules (Acme Video)"]'
WIDGET = 'iframe[title="Video meeting (Acme Video)"]'


@dataclasses.dataclass
class Desktop:
    tenant: object
    app_url: str
    sim_url: str

    def url(self, genesys_user_id: str) -> str:
        return f"{self.sim_url}/__sim/desktop?userId={genesys_user_id}"


async def _provision_in_genesys(settings, sim) -> object:
    """A tenant whose Genesys settings passed the test, dispatch on, and our two client apps
    created in the simulator by the real setup."""
    tenant = await create_tenant()
    await provision(tenant.app_id, sim, settings.secret_key)
    await enable_browser_sign_in(tenant.app_id)
    actor = Actor("admin", str(tenant.admin.id))
    values = {"genesys_dispatch_enabled": True, "dispatch_minutes_before": 5}
    await presets.save_preset(tenant.app_id, values, actor, app_clock.now())
    async with GenesysClient() as client:
        result = await setup.apply_setup(
            client,
            await settings_store.load(tenant.app_id, settings.secret_key),
            tenant.app,
            public_url=settings.public_url,
            my_schedules_enabled=True,
            dispatch_enabled=True,
            groups=[],
            widget_queue_ids=[],
        )
    assert not result.errors, result.errors
    return tenant


@pytest.fixture
def desktop(settings, genesys_sim) -> Iterator[Desktop]:
    """Our app on localhost (its public URL, so Genesys frames it there) with the simulator's desktop
    origin allowed to frame it, and the tenant set up in the simulator before the server starts."""
    from web.app import create_app

    port = free_port()
    app_url = f"http://localhost:{port}"
    live = dataclasses.replace(settings, public_url=app_url, extra_frame_ancestors=(genesys_sim.url,))
    tenant = run(_provision_in_genesys(live, genesys_sim))
    application = create_app(live, run_worker=True, migrate_on_start=False)
    with ServerThread(application, host="127.0.0.1", port=port):
        yield Desktop(tenant=tenant, app_url=app_url, sim_url=genesys_sim.url)


def sign_in_in_frame(frame, who: str) -> None:
    """The simulator's Genesys login, shown inside the client app's iframe."""
    frame.get_by_role("button", name=who).click()


def test_agent_signs_in_inside_genesys_sees_own_bookings_and_cancels_one(desktop, page, clock):
    tenant = desktop.tenant
    weekday = clock.now().astimezone(zone(tenant.timezone)).weekday()
    clock.advance(days=(7 - weekday) % 7)  # a Monday: the next workday is in the week on screen
    start = workday_slot(clock.now())
    own = run(insert_booking(tenant.app_id, tenant.agent.id, start, guest_name="Gloria Own"))
    later = start + timedelta(hours=1)
    run(insert_booking(tenant.app_id, tenant.other_agent.id, later, guest_name="Boris Else"))

    page.goto(desktop.url(ANA_ID))
    schedules = page.frame_locator(MY_SCHEDULES)
    sign_in_in_frame(schedules, "Ana Agent")

    expect(schedules.get_by_role("heading", name="My schedules")).to_be_visible()
    expect(schedules.locator("body")).to_have_class(re.compile("chrome-compact"))
    card = schedules.locator(f"#booking-{own.id}")
    expect(card).to_contain_text("Gloria Own")
    expect(schedules.get_by_text("Boris Else")).to_have_count(0)

    # Into the booking, still inside Genesys, and an htmx POST across sites with CSRF.
    card.get_by_role("link", name=re.compile("Details")).click()
    expect(schedules.get_by_role("heading", name="Meeting with Gloria Own")).to_be_visible()
    schedules.locator("#cancel-reason").fill("The customer asked to cancel")
    with page.expect_response(re.compile(rf"/bookings/{own.id}/cancel$")) as answer:
        schedules.get_by_role("button", name="Cancel meeting").click()
    # Accepted (a refused CSRF token would be a 403): back to the booking, still in compact chrome.
    assert answer.value.status == 303
    assert answer.value.headers["location"] == f"/bookings/{own.id}?embedded=1"
    expect(schedules.locator("#booking-title + .badge")).to_have_text("cancelled")
    assert run(Booking.objects().get(Booking.id == own.id).run()).status == BookingStatus.cancelled


def test_a_user_of_another_organization_is_refused_inside_genesys(desktop, page):
    page.goto(desktop.url(ANA_ID))
    schedules = page.frame_locator(MY_SCHEDULES)
    # The Genesys login offers accounts of other organizations too; one of those signs in.
    sign_in_in_frame(schedules, "Olga Outsider")

    expect(schedules.get_by_role("heading", name="You cannot open this here")).to_be_visible()
    expect(schedules.locator("#refusal-reason")).to_have_text(
        "This Genesys user belongs to another organization."
    )
    expect(schedules.get_by_role("heading", name="My schedules")).to_have_count(0)


def test_dispatch_arrives_the_agent_accepts_and_joins_the_customers_room(desktop, page, settings, clock):
    tenant = desktop.tenant
    actor = Actor("admin", str(tenant.admin.id))
    data = bookings.NewBooking(
        guest_name="Jane Doe",
        guest_phone="+573001234567",
        scheduled_at=app_clock.now().replace(microsecond=0) + timedelta(hours=1),
        assigned_agent_id=tenant.agent.id,
        respect_working_hours=False,
    )
    booking = run(bookings.create(tenant.app_id, data, actor, now=app_clock.now()))
    row = run(dispatch.live_row(booking.id))

    page.goto(desktop.url(ANA_ID))
    schedules = page.frame_locator(MY_SCHEDULES)
    sign_in_in_frame(schedules, "Ana Agent")
    expect(schedules.get_by_role("heading", name="My schedules")).to_be_visible()

    clock.advance(seconds=(row.next_attempt_at - clock.now()).total_seconds())
    trigger(settings, row)

    page.get_by_role("button", name="Accept").click(timeout=15_000)
    widget = page.frame_locator(WIDGET)
    expect(widget.get_by_role("heading", name="Video meeting with Jane Doe")).to_be_visible()

    with page.expect_popup() as opened:
        widget.get_by_role("link", name="Join meeting").click()
    room = opened.value
    expect(room).to_have_url(f"{desktop.app_url}/rooms/{booking.host_token}")
    expect(page.locator("#sim-log")).to_contain_text(f"openWindow {room.url}")
    room.get_by_role("button", name="Join meeting").click()
    host_room = room.locator(".room-stage").get_attribute("data-room")

    guest = room.context.new_page()
    guest.goto(f"{desktop.app_url}/rooms/{booking.guest_token}")
    guest.get_by_role("button", name="Join meeting").click()
    assert guest.locator(".room-stage").get_attribute("data-room") == host_room == f"punctual-{booking.id}"

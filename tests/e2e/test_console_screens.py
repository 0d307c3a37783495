"""The consoles in Chromium on a 360 x 400 screen (the Genesys sidebar), with JavaScript switched
off, and with one live stream per page."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.conftest import run
from tests.fixtures.console import insert_booking
from tests.fixtures.scheduling import at_local, create_tenant, next_workday, workday_slot
from web import clock
from web.db.tables import Booking, DndWindow, Notification, Preset
from web.scheduling import notifications
from web.scheduling.timeutil import zone

pytestmark = pytest.mark.e2e


def sign_in(page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


async def seed():
    tenant = await create_tenant()
    day = next_workday(clock.now())
    booking = await insert_booking(
        tenant.app_id, tenant.agent.id, at_local(day, 9), guest_name="Bartholomew Longname-Guestington"
    )
    await notifications.notify(
        tenant.agent.id,
        kind="info",
        text="A rather long notification " * 4,
        link="/my-schedules",
        now=clock.now(),
    )
    return tenant, booking, day


def misfit(page) -> dict[str, float]:
    """What would make the page hard to read on this screen: how far it sticks out to the right
    (a horizontal scroll), and how far below the first screen its heading starts."""
    return page.evaluate(
        """() => ({
            overflow: document.documentElement.scrollWidth - window.innerWidth,
            heading: Math.max(0, document.querySelector('h1').getBoundingClientRect().bottom - innerHeight),
        })"""
    )


def test_every_console_page_fits_a_360_by_400_screen(live_server, page):
    tenant, booking, day = run(seed())
    page.set_viewport_size({"width": 360, "height": 400})
    app = f"/apps/{tenant.public_id}"
    sign_in(page, live_server, tenant.admin.email, tenant.admin_password)
    admin_pages = {
        "apps": "/apps",
        "overview": app,
        "preset": f"{app}/preset",
        "bookings": f"{app}/bookings",
        "new booking": f"{app}/bookings/new",
        "members": f"{app}/members",
        "availability": f"{app}/agents/{tenant.agent.id}/availability",
        "api clients": f"{app}/api-clients",
        "booking detail (admin)": f"/bookings/{booking.id}",
        "unknown page (404)": "/bookings/00000000-0000-4000-8000-000000000000",
    }
    found = {}
    for name, path in admin_pages.items():
        page.goto(live_server + path)
        found[name] = misfit(page)

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, live_server, tenant.agent.email, tenant.agent_password)
    agenda = f"/my-schedules?app={tenant.public_id}&week={day.isoformat()}"
    agent_pages = {
        "my-schedules": agenda,
        "my-schedules embedded": agenda + "&embedded=1",
        "booking detail": f"/bookings/{booking.id}",
        "booking detail embedded": f"/bookings/{booking.id}?embedded=1",
        "notifications": "/notifications",
        "admin page refused (403)": f"{app}/preset",
    }
    for name, path in agent_pages.items():
        page.goto(live_server + path)
        found[name] = misfit(page)
    assert {name: misfits for name, misfits in found.items() if any(misfits.values())} == {}

    # the error pages say what happened
    page.goto(live_server + f"{app}/preset")
    expect(page.get_by_role("heading", level=1)).to_have_text("You do not have access to this page")
    expect(page.get_by_text("Only the app's admins can open this page.")).to_be_visible()
    page.goto(live_server + "/bookings/00000000-0000-4000-8000-000000000000")
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(page.get_by_text("We could not find that booking, or it is not one of yours.")).to_be_visible()


def test_one_live_stream_per_page(live_server, page):
    tenant, booking, day = run(seed())
    streams: list[str] = []
    page.on("request", lambda r: streams.append(r.url) if "/notifications/stream" in r.url else None)
    sign_in(page, live_server, tenant.agent.email, tenant.agent_password)
    for path in (
        f"/my-schedules?app={tenant.public_id}&week={day.isoformat()}",
        f"/bookings/{booking.id}",
        "/notifications",
    ):
        streams.clear()
        page.goto(live_server + path)
        page.wait_for_function("htmx.find('[sse-connect]') !== null")
        page.wait_for_timeout(300)  # any further stream would have been opened by now
        assert len(streams) == 1, (path, streams)


@pytest.fixture
def no_js(browser, live_server) -> Iterator:
    context = browser.new_context(java_script_enabled=False, base_url=live_server)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def test_the_consoles_work_without_javascript(live_server, no_js):
    page = no_js
    tenant = run(create_tenant())
    start = workday_slot(clock.now(), 11)
    local = start.astimezone(zone(tenant.timezone))
    sign_in(page, live_server, tenant.admin.email, tenant.admin_password)

    # the preset: an error next to its field, then saved
    page.goto(f"/apps/{tenant.public_id}/preset")
    page.get_by_label("Buffer after (minutes)").fill("999")
    page.get_by_role("button", name="Save preset").click()
    expect(page.locator("#buffer_after_minutes-error")).to_contain_text("between 0 and 240")
    expect(page.get_by_label("Buffer after (minutes)")).to_have_value("999")
    page.get_by_label("Buffer after (minutes)").fill("15")
    page.get_by_label("conflict notice by whatsapp").check()
    page.get_by_role("button", name="Save preset").click()
    expect(page.get_by_text("Preset saved.")).to_be_visible()
    preset = run(Preset.objects().get(Preset.app == tenant.app_id).run())
    assert preset.buffer_after_minutes == 15

    # a booking for an agent, then the master view's filters
    page.goto(f"/apps/{tenant.public_id}/bookings/new")
    page.get_by_label("Agent").select_option(label="Ana Agent")
    page.get_by_label("Guest name").fill("Katherine Johnson")
    page.get_by_label("Guest phone").fill("+57 300 765 4321")
    page.get_by_label(re.compile(r"^Start")).fill(local.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Create booking").click()
    expect(page.get_by_role("heading", name="Meeting with Katherine Johnson")).to_be_visible()
    page.goto(f"/apps/{tenant.public_id}/bookings")
    page.get_by_label("Search guest").fill("7654321")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#booking-results")).to_contain_text("Katherine Johnson")
    page.get_by_role("button", name="Sign out").click()

    # the agent: the DND prompt, then the notice goes out
    sign_in(page, live_server, tenant.agent.email, tenant.agent_password)
    page.goto(f"/my-schedules?week={local.date().isoformat()}")
    day = local.date().isoformat()
    page.get_by_label(re.compile(r"^From")).fill(f"{day}T10:00")
    page.get_by_label(re.compile(r"^Until")).fill(f"{day}T12:00")
    page.get_by_role("button", name="Add do-not-disturb window").click()
    expect(page.get_by_text("This window affects 1 booking.")).to_be_visible()
    page.get_by_role("button", name="Save and notify the customers").click()
    expect(page.get_by_text("1 customer will be told they can reschedule.")).to_be_visible()
    assert run(DndWindow.count().run()) == 1

    # the booking detail: a lifecycle action with its result in the timeline
    booking = run(Booking.objects().get(Booking.guest_name == "Katherine Johnson").run())
    page.goto(f"/bookings/{booking.id}")
    page.get_by_label("Reason", exact=True).fill("Customer asked")
    page.get_by_role("button", name="Cancel meeting").click()
    expect(page.locator(".timeline")).to_contain_text("Reason: Customer asked")

    # notifications: mark all read
    run(notifications.notify(tenant.agent.id, kind="info", text="Read me", now=clock.now()))
    page.goto("/notifications")
    page.get_by_role("button", name="Mark all read").click()
    expect(page).to_have_url(re.compile(r"/notifications$"))
    assert run(Notification.count().where(Notification.read_at.is_null()).run()) == 0


def live_ready(page) -> None:
    page.wait_for_function("htmx.find('[sse-connect]') !== null")
    page.wait_for_timeout(300)  # the EventSource subscribes before the server publishes


async def push(user_id: int, text: str) -> None:
    note = await notifications.notify(user_id, kind="info", text=text, link="/my-schedules", now=clock.now())
    await notifications.announce(note)


def test_live_notifications_stay_on_a_small_screen_and_go_away(live_server, page):
    tenant = run(create_tenant())
    page.set_viewport_size({"width": 360, "height": 400})
    sign_in(page, live_server, tenant.agent.email, tenant.agent_password)
    for path in ("/my-schedules", "/my-schedules?embedded=1"):
        page.goto(live_server + path)
        live_ready(page)
        run(push(tenant.agent.id, f"Dispatch failed for Grace Guest ({path})"))
        toast = page.locator("#notification-toasts li").first
        expect(toast).to_contain_text(path)
        box = toast.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360 and box["y"] + box["height"] <= 400, box
        page.evaluate("document.getAnimations().forEach(a => a.finish())")  # skip the waiting
        expect(toast).to_be_hidden()

    # on the list page a new item arrives once, in the list, and replaces "No notifications yet."
    run(Notification.delete(force=True).run())
    page.goto(live_server + "/notifications")
    expect(page.get_by_text("No notifications yet.")).to_be_visible()
    live_ready(page)
    run(push(tenant.agent.id, "A fresh notice"))
    expect(page.locator("#notification-list li")).to_have_count(1)
    expect(page.locator("li.notification")).to_have_count(1)  # no second copy as a toast
    expect(page.get_by_text("No notifications yet.")).to_be_hidden()

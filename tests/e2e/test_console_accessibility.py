"""axe-core (vendored) on the console's main pages: no serious or critical violations, in full
chrome and on a 360 x 400 screen (the Genesys sidebar)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import run
from tests.fixtures.console import insert_booking
from tests.fixtures.scheduling import at_local, create_tenant, next_workday
from web import clock
from web.scheduling import notifications

pytestmark = pytest.mark.e2e

AXE = (Path(__file__).parent / "vendor" / "axe-core-4.14.1.min.js").read_text()


def serious_violations(page) -> list[str]:
    page.evaluate(AXE)  # the CSP blocks script tags; evaluate is fine
    result = page.evaluate("axe.run()")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def sign_in(page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for()


async def seed():
    tenant = await create_tenant()
    day = next_workday(clock.now())
    booking = await insert_booking(tenant.app_id, tenant.agent.id, at_local(day, 9), guest_name="Grace Guest")
    await insert_booking(
        tenant.app_id, tenant.agent.id, at_local(day, 11), guest_name="Linus Guest", status="cancelled"
    )
    await notifications.notify(
        tenant.agent.id, kind="info", text="Welcome aboard", link="/my-schedules", now=clock.now()
    )
    return tenant, booking, day


def test_main_pages_have_no_serious_violations(live_server, page):
    tenant, booking, day = run(seed())
    page.goto(f"{live_server}/login")
    problems = {"login": serious_violations(page)}

    sign_in(page, live_server, tenant.admin.email, tenant.admin_password)
    admin_pages = {
        "apps": "/apps",
        "overview": f"/apps/{tenant.public_id}",
        "preset": f"/apps/{tenant.public_id}/preset",
        "master bookings": f"/apps/{tenant.public_id}/bookings",
        "new booking": f"/apps/{tenant.public_id}/bookings/new",
        "members": f"/apps/{tenant.public_id}/members",
        "availability": f"/apps/{tenant.public_id}/agents/{tenant.agent.id}/availability",
        "api clients": f"/apps/{tenant.public_id}/api-clients",
        "booking detail (admin)": f"/bookings/{booking.id}",
        "404 page": "/bookings/00000000-0000-4000-8000-000000000000",
    }
    for name, path in admin_pages.items():
        page.goto(live_server + path)
        problems[name] = serious_violations(page)

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, live_server, tenant.agent.email, tenant.agent_password)
    agent_pages = {
        "my-schedules": f"/my-schedules?app={tenant.public_id}&week={day.isoformat()}",
        "booking detail": f"/bookings/{booking.id}",
        "notifications": "/notifications",
        "403 page": f"/apps/{tenant.public_id}/preset",
    }
    for name, path in agent_pages.items():
        page.goto(live_server + path)
        problems[name] = serious_violations(page)

    page.set_viewport_size({"width": 360, "height": 400})
    for name, path in {
        "my-schedules 360x400": agent_pages["my-schedules"],
        "embedded my-schedules 360x400": agent_pages["my-schedules"] + "&embedded=1",
        "embedded detail 360x400": f"/bookings/{booking.id}?embedded=1",
    }.items():
        page.goto(live_server + path)
        problems[name] = serious_violations(page)
        # readable: nothing wider than the screen
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, name

    assert {name: found for name, found in problems.items() if found} == {}


def test_keyboard_reaches_the_agenda_with_a_visible_focus(live_server, page):
    tenant, booking, day = run(seed())
    sign_in(page, live_server, tenant.agent.email, tenant.agent_password)
    page.goto(f"{live_server}/my-schedules?app={tenant.public_id}&week={day.isoformat()}")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to content"
    page.keyboard.press("Enter")
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('href') || ''") == f"/bookings/{booking.id}":
            break
    else:
        raise AssertionError("the booking's Details link is not reachable with Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", "")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Meeting with Grace Guest").wait_for()


def focused_text(page) -> str:
    """The focused element's text, once htmx has finished swapping (it moves focus while settling)."""
    page.wait_for_function(
        "!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"
    )
    return page.evaluate("document.activeElement.textContent.trim()")


def test_keyboard_users_land_on_what_a_form_answered(live_server, page):
    tenant, _, day = run(seed())
    sign_in(page, live_server, tenant.admin.email, tenant.admin_password)
    page.goto(f"{live_server}/apps/{tenant.public_id}/preset")
    page.get_by_label("Buffer before (minutes)").fill("-5")
    page.keyboard.press("Enter")  # submits through htmx: the form is swapped in place
    page.locator("#buffer_before_minutes-error").wait_for()
    assert focused_text(page) == "Please correct the highlighted fields."
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "scheduling_enabled"

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, live_server, tenant.agent.email, tenant.agent_password)
    page.goto(f"{live_server}/my-schedules?app={tenant.public_id}&week={day.isoformat()}")
    page.get_by_label(re.compile(r"^From")).fill(f"{day.isoformat()}T08:30")
    page.get_by_label(re.compile(r"^Until")).fill(f"{day.isoformat()}T09:30")
    page.get_by_role("button", name="Add do-not-disturb window").focus()
    page.keyboard.press("Enter")
    page.get_by_text("This window affects 1 booking.").wait_for()
    assert focused_text(page) == "Save and notify the customers"
    page.keyboard.press("Tab")  # the other answer is one key away
    assert focused_text(page) == "Save without notifying"
    page.keyboard.press("Enter")
    page.get_by_text("Do-not-disturb window saved.").wait_for()

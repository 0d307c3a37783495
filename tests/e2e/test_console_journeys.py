"""Console journeys in Chromium: the admin's preset form and bookings, the agent's agenda and
booking detail, and a notification arriving live."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import run
from tests.fixtures.genesys_sim import genesys_sim, provision  # noqa: F401
from tests.fixtures.scheduling import create_tenant, workday_slot
from web import clock
from web.db.tables import Booking
from web.scheduling import notifications
from web.scheduling.timeutil import zone

pytestmark = pytest.mark.e2e


def sign_in(page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_admin_edits_the_preset_and_sees_validation_inline(live_server, page, genesys_sim, settings):
    tenant = run(create_tenant())
    run(provision(tenant.app_id, genesys_sim, settings.secret_key))  # dispatch settings need Genesys
    sign_in(page, live_server, tenant.admin.email, tenant.admin_password)
    page.goto(f"{live_server}/apps/{tenant.public_id}/preset")
    page.evaluate("window.__same_page = true")  # gone if the page reloads

    page.get_by_label("Minutes before").fill("500")
    page.get_by_label("Pre-meeting Genesys dispatch", exact=True).check()
    page.get_by_role("button", name="Save preset").click()
    error = page.locator("#dispatch_minutes_before-error")
    expect(error).to_have_text("Dispatch minutes before must be between 1 and 120.")
    expect(page.get_by_label("Minutes before")).to_have_attribute("aria-invalid", "true")
    assert page.evaluate("window.__same_page") is True

    page.get_by_label("Minutes before").fill("8")
    page.get_by_label("reminder 1h by whatsapp").check()
    page.get_by_role("button", name="Save preset").click()
    expect(page.get_by_role("status").filter(has_text="Preset saved.")).to_be_visible()
    assert page.evaluate("window.__same_page") is True

    page.reload()
    expect(page.get_by_label("Minutes before")).to_have_value("8")
    expect(page.get_by_label("Pre-meeting Genesys dispatch", exact=True)).to_be_checked()
    expect(page.get_by_label("reminder 1h by whatsapp")).to_be_checked()


def test_admin_books_for_an_agent_who_then_finds_it(live_server, page):
    tenant = run(create_tenant())
    start = workday_slot(clock.now(), 11)
    local = start.astimezone(zone(tenant.timezone))
    sign_in(page, live_server, tenant.admin.email, tenant.admin_password)
    page.goto(f"{live_server}/apps/{tenant.public_id}/bookings/new")
    page.get_by_label("Agent").select_option(label="Ana Agent")
    page.get_by_label("Guest name").fill("Hedy Lamarr")
    page.get_by_label("Guest email").fill("hedy@example.com")
    page.get_by_label(re.compile(r"^Start")).fill(local.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Intake notes").fill("Frequency hopping questions")
    page.get_by_role("button", name="Create booking").click()
    expect(page.get_by_role("heading", name="Meeting with Hedy Lamarr")).to_be_visible()
    booking = run(Booking.objects().get(Booking.guest_name == "Hedy Lamarr").run())
    assert booking.assigned_agent == tenant.agent.id

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, live_server, tenant.agent.email, tenant.agent_password)
    page.goto(f"{live_server}/my-schedules?week={local.date().isoformat()}")
    card = page.locator(f"#booking-{booking.id}")
    expect(card).to_contain_text("Hedy Lamarr")
    expect(card).to_contain_text(local.strftime("%H:%M"))
    card.get_by_role("link", name=re.compile("Details")).click()
    expect(page.get_by_role("heading", name="Meeting with Hedy Lamarr")).to_be_visible()
    expect(page.get_by_text("Frequency hopping questions")).to_be_visible()
    expect(page.locator(".timeline")).to_contain_text("An admin booked the meeting")

    # cancel with a reason, without a reload, and see the timeline grow
    page.get_by_label("Reason", exact=True).fill("Customer travelling")
    page.get_by_role("button", name="Cancel meeting").click()
    expect(page.locator(".timeline")).to_contain_text(
        "The agent cancelled the meeting. Reason: Customer travelling"
    )


def test_a_new_notification_appears_without_reload(live_server, page):
    tenant = run(create_tenant())
    sign_in(page, live_server, tenant.agent.email, tenant.agent_password)
    page.goto(f"{live_server}/notifications")
    expect(page.get_by_text("No notifications yet.")).to_be_visible()
    page.wait_for_function("document.querySelector('[sse-connect]') && htmx.find('[sse-connect]')")
    page.wait_for_timeout(300)  # the EventSource subscribes before the server publishes

    async def push(text: str) -> None:
        note = await notifications.notify(
            tenant.agent.id, kind="info", text=text, link="/my-schedules", now=clock.now()
        )
        await notifications.announce(note)

    run(push("Dispatch failed for Grace: join manually"))
    item = page.locator("#notification-list").get_by_role(
        "link", name="Dispatch failed for Grace: join manually"
    )
    expect(item).to_be_visible()
    expect(page.locator("#bell-count")).to_contain_text("1")
    run(push("Second notice"))
    expect(page.locator("#bell-count")).to_contain_text("2")
    expect(page.locator("#notification-list li")).to_have_count(2)

"""The app's WhatsApp page in Chromium: reached from the app's tabs, readable by axe and on a
360 x 400 screen, saved in place with htmx, errors next to their field."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import run
from tests.e2e.test_console_accessibility import serious_violations
from tests.e2e.test_console_screens import misfit, sign_in
from tests.fixtures.scheduling import create_tenant
from web.db.tables import VideoApp

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]


async def linked_sender(app_id: int):
    return (await VideoApp.objects().get(VideoApp.id == app_id)).whatsapp_sender


def test_an_admin_links_a_sender_from_the_whatsapp_tab(live_server, page):
    tenant = run(create_tenant())
    sign_in(page, live_server, tenant.admin.email, tenant.admin_password)
    page.goto(f"{live_server}/apps/{tenant.public_id}")
    page.get_by_role("link", name="WhatsApp").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("WhatsApp")
    assert serious_violations(page) == []

    page.get_by_label("Provider base URL").fill("http://127.0.0.1:8091")
    page.get_by_label("Phone number id").fill("not digits")
    page.get_by_label("Access token").fill("sim-whatsapp-access-token")
    reminder_1h = page.get_by_role("group", name="Reminder 1h")
    reminder_1h.get_by_label("Template name").fill("meeting_reminder_1h")
    reminder_1h.get_by_label("Variables, in order").fill("guest_name, meeting_time, join_link")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#phone_number_id-error")).to_contain_text("phone number id")
    expect(page.get_by_label("Phone number id")).to_have_attribute("aria-invalid", "true")

    page.get_by_label("Phone number id").fill("100000000000001")
    page.get_by_label("Access token").fill("sim-whatsapp-access-token")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("WhatsApp sender saved.")).to_be_visible()
    expect(page.get_by_text("Set. Leave empty to keep it")).to_be_visible()
    assert run(linked_sender(tenant.app_id)) is not None

    page.set_viewport_size({"width": 360, "height": 400})
    page.reload()
    assert misfit(page) == {"overflow": 0, "heading": 0}

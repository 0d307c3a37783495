"""The WhatsApp page of an app (admins link and edit the sender; the token never comes back) and a
booking's reminders on the console (the list, and "Send a reminder")."""

# Fixtures imported from tests.fixtures are parameters of the tests below.

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import tasks.reminders as sending
from simulators.whatsapp.fixture import ACCESS_TOKEN, PHONE_NUMBER_ID
from tests.conftest import form_post
from tests.fixtures.console import login_as, text_of
from tests.fixtures.whatsapp_sim import reminder_deps, tenant, whatsapp_sim, whatsapp_tenant  # noqa: F401
from web.crypto import decrypt
from web.db.tables import VideoApp, WhatsAppSender
from web.scheduling import bookings, presets, reminders
from web.scheduling.hooks import Actor
from web.whatsapp import senders

ADMIN = Actor("admin", "1")


def sender_form(url: str, **overrides) -> dict[str, str]:
    form = {
        "name": "Support line",
        "base_url": url,
        "api_version": "v21.0",
        "phone_number_id": PHONE_NUMBER_ID,
        "access_token": ACCESS_TOKEN,
    }
    for kind, spec in senders.DEFAULT_TEMPLATES.items():
        form[f"template_{kind}_name"] = spec["name"]
        form[f"template_{kind}_language"] = spec["language"]
        form[f"template_{kind}_params"] = ", ".join(spec["params"])
    form.update(overrides)
    return form


async def test_an_admin_links_a_sender_and_the_token_is_encrypted_and_never_shown(
    client, tenant, whatsapp_sim, settings
):
    await login_as(client, tenant.admin, tenant.admin_password)
    overview = await client.get(f"/apps/{tenant.public_id}")
    assert f'href="/apps/{tenant.public_id}/whatsapp"' in overview.text  # a tab of the app's pages
    page = await client.get(f"/apps/{tenant.public_id}/whatsapp")
    assert page.status_code == 200
    assert f'href="/apps/{tenant.public_id}/whatsapp" aria-current="page"' in page.text
    assert "Not set yet." in text_of(page.text)

    saved = await form_post(client, f"/apps/{tenant.public_id}/whatsapp", sender_form(whatsapp_sim.url))
    assert saved.status_code == 200, saved.text
    assert "WhatsApp sender saved." in text_of(saved.text)
    assert ACCESS_TOKEN not in saved.text

    app = await VideoApp.objects().get(VideoApp.id == tenant.app_id)
    row = await WhatsAppSender.objects().get(WhatsAppSender.id == app.whatsapp_sender)
    assert row.phone_number_id == PHONE_NUMBER_ID
    assert ACCESS_TOKEN not in row.access_token_encrypted
    assert decrypt(settings.secret_key, row.access_token_encrypted) == ACCESS_TOKEN
    config = await senders.load_sender(tenant.app_id, settings.secret_key)
    assert config.templates["reminder_1h"].params == ("guest_name", "meeting_time", "join_link")

    # Saving again without a token keeps the stored one; the page says "Set".
    again = await form_post(
        client,
        f"/apps/{tenant.public_id}/whatsapp",
        sender_form(whatsapp_sim.url, access_token="", template_custom_params="guest_name"),
    )
    assert again.status_code == 200
    assert "Set. Leave empty to keep it" in text_of(again.text)
    config = await senders.load_sender(tenant.app_id, settings.secret_key)
    assert config.access_token == ACCESS_TOKEN
    assert config.templates["custom"].params == ("guest_name",)
    assert ACCESS_TOKEN not in (await client.get(f"/apps/{tenant.public_id}/whatsapp")).text


async def test_errors_are_shown_next_to_each_field(client, tenant, whatsapp_sim):
    await login_as(client, tenant.admin, tenant.admin_password)
    form = sender_form(
        "not a url",
        phone_number_id="abc",
        access_token="",
        api_version="21",
        template_reminder_1h_name="Bad Name!",
        template_reminder_1h_params="guest_name, shoe_size",
        template_invitation_language="english",
    )
    response = await form_post(client, f"/apps/{tenant.public_id}/whatsapp", form)
    assert response.status_code == 400
    html = response.text
    for field in (
        "base_url",
        "phone_number_id",
        "access_token",
        "api_version",
        "template_reminder_1h_name",
        "template_reminder_1h_params",
        "template_invitation_language",
    ):
        assert f'id="{field}-error"' in html, field
    assert "Unknown variable &#39;shoe_size&#39;" in html or "Unknown variable 'shoe_size'" in html
    # What was typed stays in the form (except the token).
    assert 'value="Bad Name!"' in html
    app = await VideoApp.objects().get(VideoApp.id == tenant.app_id)
    assert app.whatsapp_sender is None


async def test_only_the_apps_admins_reach_the_page(client, tenant, whatsapp_sim):
    await login_as(client, tenant.agent, tenant.agent_password)
    assert (await client.get(f"/apps/{tenant.public_id}/whatsapp")).status_code == 403
    response = await form_post(client, f"/apps/{tenant.public_id}/whatsapp", sender_form(whatsapp_sim.url))
    assert response.status_code == 403
    app = await VideoApp.objects().get(VideoApp.id == tenant.app_id)
    assert app.whatsapp_sender is None


def test_the_seed_shape_validates_like_the_form():
    values, errors = senders.validate_sender(
        {
            "phone_number_id": "123456789",
            "access_token": "seeded-token-123",
            "templates": {"reminder_1h": {"name": "hour_before", "language": "es", "params": ["guest_name"]}},
        }
    )
    assert errors == {}
    assert values["templates"] == {
        "reminder_1h": {"name": "hour_before", "language": "es", "params": ["guest_name"]}
    }
    _, errors = senders.validate_sender({"phone_number_id": "1", "templates": {"birthday": {"name": "x"}}})
    assert set(errors) == {"templates", "phone_number_id", "access_token"}


# --- a booking's reminders on the console -----------------------------------------------------------------


async def book(tenant, clock, hours_ahead=30):
    data = bookings.NewBooking(
        guest_name="Jane Doe",
        guest_phone="+573001234567",
        scheduled_at=clock.now().replace(microsecond=0) + timedelta(hours=hours_ahead),
        assigned_agent_id=tenant.agent.id,
        respect_working_hours=False,
    )
    return await bookings.create(tenant.app_id, data, ADMIN, now=clock.now())


async def test_the_booking_page_lists_reminders_with_state_and_time(client, whatsapp_tenant, clock):
    await presets.save_preset(
        whatsapp_tenant.app_id,
        {"reminders": {"reminder_24h": ["whatsapp"], "reminder_1h": ["whatsapp"]}},
        ADMIN,
        clock.now(),
    )
    booking = await book(whatsapp_tenant, clock, hours_ahead=5)
    await login_as(client, whatsapp_tenant.agent, whatsapp_tenant.agent_password)

    one_hour = booking.scheduled_at - timedelta(hours=1)
    local = one_hour.astimezone(ZoneInfo("America/Bogota"))
    # On the page itself (no JavaScript needed), and as the fragment htmx refreshes.
    for url in (f"/bookings/{booking.id}", f"/bookings/{booking.id}/reminders"):
        answer = await client.get(url)
        assert answer.status_code == 200
        words = text_of(answer.text)
        assert "reminder 1h whatsapp" in words and "planned" in words
        assert "reminder 24h whatsapp" in words and "skipped" in words and "already passed" in words
        assert local.strftime("%d %b %Y %H:%M") in words


async def test_the_booking_page_shows_a_retry_and_a_failure_in_plain_words(
    client, whatsapp_tenant, whatsapp_sim, reminder_deps, clock
):
    booking = await book(whatsapp_tenant, clock)
    whatsapp_sim.add_fault(action="server_error", times=1)
    row = await reminders.create_custom_reminder(booking.id, actor=ADMIN, now=clock.now())
    assert await sending.attempt(reminder_deps, row.id, row.version) == sending.Outcome.RETRY
    await login_as(client, whatsapp_tenant.agent, whatsapp_tenant.agent_password)

    words = text_of((await client.get(f"/bookings/{booking.id}/reminders")).text)
    assert "custom whatsapp" in words and "planned" in words
    assert "WhatsApp had a temporary problem (500, code 131000)" in words

    whatsapp_sim.add_fault(action="bad_credentials")
    [waiting] = await reminders.reminders_of(booking.id)
    clock.advance(seconds=(waiting.fire_at - clock.now()).total_seconds())
    assert await sending.attempt(reminder_deps, row.id, waiting.version) == sending.Outcome.FAILED
    words = text_of((await client.get(f"/bookings/{booking.id}/reminders")).text)
    assert "failed" in words
    assert "WhatsApp refused the access token of the sender (expired or revoked) (2 attempts)" in words
    assert ACCESS_TOKEN not in words


async def test_send_a_reminder_from_the_booking_page(
    client, whatsapp_tenant, whatsapp_sim, reminder_deps, clock
):
    booking = await book(whatsapp_tenant, clock)
    await login_as(client, whatsapp_tenant.agent, whatsapp_tenant.agent_password)

    response = await form_post(client, f"/bookings/{booking.id}/reminders", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "Reminder on its way." in text_of(response.text)
    [row] = await reminders.reminders_of(booking.id)
    assert (row.kind, row.status) == ("custom", "pending")
    assert await sending.attempt(reminder_deps, row.id, row.version) == sending.Outcome.SENT
    assert whatsapp_sim.templates_sent("+573001234567") == ["meeting_custom"]
    [event] = [e for e in await bookings.timeline(booking.id) if e.event_type == "reminder_sent"]
    assert event.payload["kind"] == "custom"

    # Without htmx: back to the booking page.
    plain = await form_post(client, f"/bookings/{booking.id}/reminders")
    assert plain.status_code == 303
    assert plain.headers["location"] == f"/bookings/{booking.id}"


async def test_no_reminder_for_a_cancelled_meeting(client, whatsapp_tenant, clock):
    booking = await book(whatsapp_tenant, clock)
    await bookings.cancel(booking.id, ADMIN, now=clock.now())
    await login_as(client, whatsapp_tenant.admin, whatsapp_tenant.admin_password)

    fragment = await client.get(f"/bookings/{booking.id}/reminders")
    assert "Send a reminder" not in fragment.text
    response = await form_post(client, f"/bookings/{booking.id}/reminders", headers={"HX-Request": "true"})
    assert "cannot take new reminders" in text_of(response.text)
    assert await reminders.reminders_of(booking.id) == []


async def test_other_agents_cannot_see_or_send(client, whatsapp_tenant, clock):
    booking = await book(whatsapp_tenant, clock)
    await login_as(client, whatsapp_tenant.other_agent, whatsapp_tenant.agent_password)
    assert (await client.get(f"/bookings/{booking.id}/reminders")).status_code == 404
    assert (await form_post(client, f"/bookings/{booking.id}/reminders")).status_code == 404
    assert await reminders.reminders_of(booking.id) == []

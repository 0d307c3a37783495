"""Secrets never leave the server: the Genesys client secret, the WhatsApp access token, API client
secrets (after the one page that shows a new one), access tokens, session ids, password hashes and
the server's own key appear in no page, no API answer and no log line, while a tenant is set up,
its pages are browsed by every role, the API is used and a pre-meeting message is sent to Genesys.
Every console page also refuses to be framed."""

# Fixtures imported from tests.fixtures are parameters of the tests below.

from __future__ import annotations

import logging
import re
from datetime import timedelta

import httpx

from simulators.genesys.fixture import CLIENT_SECRET
from tests.conftest import form_post
from tests.fixtures.console import login_as
from tests.fixtures.genesys_sim import genesys_sim, genesys_tenant, tenant  # noqa: F401
from tests.security.support import NOT_PAGES, fill, routes
from web.auth import create_user
from web.db.tables import ApiClient, GenesysSettings, Notification, User, WhatsAppSender
from web.genesys.client import GenesysClient
from web.scheduling import bookings, dispatch, dispatch_send, presets
from web.scheduling.hooks import Actor
from web.whatsapp import senders

WHATSAPP_TOKEN = "EAAG-whatsapp-access-token-0123456789"
SUPER_PASSWORD = "super password 1"


async def _set_up(tenant, clock, settings):
    """A provisioned tenant (Genesys secret stored) with a WhatsApp sender and a dispatching booking."""
    values, errors = senders.validate_sender(
        {"name": "Acme WA", "phone_number_id": "1234567890", "access_token": WHATSAPP_TOKEN}
    )
    assert not errors, errors
    await senders.save_sender(tenant.app_id, values, settings.secret_key)
    admin = Actor("admin", str(tenant.admin.id))
    await presets.save_preset(
        tenant.app_id, {"genesys_dispatch_enabled": True, "dispatch_minutes_before": 5}, admin, clock.now()
    )
    booking = await bookings.create(
        tenant.app_id,
        bookings.NewBooking(
            guest_name="Grace Guest",
            guest_phone="+573001112233",
            scheduled_at=clock.now().replace(microsecond=0) + timedelta(minutes=30),
            assigned_agent_id=tenant.agent.id,
            intake_notes="Wants to talk about the invoice",
            respect_working_hours=False,
        ),
        admin,
        now=clock.now(),
    )
    await Notification(
        recipient=tenant.agent.id,
        app=tenant.app_id,
        kind="info",
        text="Hello",
        link=f"/bookings/{booking.id}",
    ).save()
    return booking


async def _send_dispatch(settings, clock, booking) -> None:
    row = await dispatch.live_row(booking.id)
    clock.advance(seconds=max(0.0, (row.next_attempt_at - clock.now()).total_seconds()))
    async with GenesysClient() as client:
        outcome = await dispatch_send.attempt(
            dispatch_send.Deps(genesys=client, settings=settings), row.id, row.version
        )
    assert (await dispatch.live_row(booking.id)).status == "dispatched", outcome


def _values(tenant, booking, notification_id) -> dict:
    return {
        "app_id": tenant.public_id,
        "booking_id": booking.id,
        "user_id": tenant.agent.id,
        "token": booking.guest_token,
        "notification_id": notification_id,
    }


async def _browse(client, app, values, extra) -> list[httpx.Response]:
    """Every page the signed-in user can GET (plain and embedded), plus `extra` paths."""
    answers = []
    paths = [fill(t, values) for t in routes(app, "GET") if not NOT_PAGES.search(t)]
    for path in [*paths, *extra]:
        for suffix in ("", "?embedded=1"):
            answers.append(await client.get(path + suffix))
    return answers


def _leaks(text: str, secrets: dict[str, str]) -> list[str]:
    return [name for name, value in secrets.items() if value and value in text]


async def test_secrets_stay_out_of_pages_api_answers_and_logs(
    app,
    client,
    genesys_tenant,
    settings,
    clock,
    caplog,
    capfd,
):
    # Our own loggers at their most talkative; libraries at the production level.
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="punctual")
    caplog.set_level(logging.DEBUG, logger="web")
    tenant = genesys_tenant
    booking = await _set_up(tenant, clock, settings)
    notification = await Notification.objects().first()
    await create_user("root@example.com", SUPER_PASSWORD, name="Root", superuser=True)
    superuser = await User.objects().get(User.email == "root@example.com")

    # An admin creates an API client: the secret is on that one answer, never cached.
    await login_as(client, tenant.admin, tenant.admin_password)
    created = await form_post(
        client,
        f"/apps/{tenant.public_id}/api-clients",
        {"name": "CRM", "scopes": ["scheduling:read", "scheduling:write"]},
    )
    assert created.status_code == 200 and created.headers["cache-control"] == "no-store"
    api_client = await ApiClient.objects().first()
    shown = re.search(r'<dd class="secret">([^<]+)</dd>\s*</dl>', created.text)
    assert shown, "the new client's secret is shown once"
    client_secret = shown.group(1).strip()

    token = await client.post(
        "/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": api_client.client_id,
            "client_secret": client_secret,
        },
    )
    assert token.status_code == 200, token.text
    access_token = token.json()["data"]["access_token"]
    api = f"/api/v1/video/{tenant.public_id}"
    bearer = {"Authorization": f"Bearer {access_token}"}
    api_answers = [
        await client.get(f"{api}/scheduled-calls", headers=bearer),
        await client.get(f"{api}/scheduled-calls/{booking.id}", headers=bearer),
        await client.get(
            f"{api}/availability",
            params={
                "fromUtc": "2031-01-06T13:00:00Z",
                "toUtc": "2031-01-06T18:00:00Z",
                "durationMinutes": 30,
            },
            headers=bearer,
        ),
        await client.get("/schema/openapi.json"),
    ]

    # The pre-meeting message goes to Genesys with the stored secret.
    await _send_dispatch(settings, clock, booking)

    genesys_row = await GenesysSettings.objects().get(GenesysSettings.app == tenant.app_id)
    whatsapp_row = await WhatsAppSender.objects().first()
    users = await User.objects()
    secrets = {
        "genesys client secret": CLIENT_SECRET,
        "genesys secret, encrypted": genesys_row.client_secret_encrypted,
        "whatsapp token": WHATSAPP_TOKEN,
        "whatsapp token, encrypted": whatsapp_row.access_token_encrypted,
        "api client secret": client_secret,
        "api client secret hash": api_client.secret_hash,
        "server secret key": settings.secret_key,
        **{f"password hash of {u.email}": u.password_hash for u in users},
        "admin password": tenant.admin_password,
        "agent password": tenant.agent_password,
        "superuser password": SUPER_PASSWORD,
    }
    # Secrets at rest are never stored in clear.
    for row in (genesys_row, whatsapp_row, api_client):
        assert not _leaks(
            repr(row.__dict__),
            {k: secrets[k] for k in ("genesys client secret", "whatsapp token", "api client secret")},
        )

    answers = []
    extra = [f"/rooms/{booking.host_token}", f"/confirm/{booking.confirm_token}", "/metrics"]
    for who, password in (
        (tenant.admin, tenant.admin_password),
        (tenant.agent, tenant.agent_password),
        (superuser, SUPER_PASSWORD),
    ):
        await login_as(client, who, password)
        session_id = client.cookies.get("punctual_session")
        assert session_id
        for answer in await _browse(client, app, _values(tenant, booking, notification.id), extra):
            leaks = _leaks(answer.text, {**secrets, "session id": session_id, "access token": access_token})
            assert not leaks, f"{who.email} GET {answer.request.url}: {leaks}"
            header_text = " ".join(v for k, v in answer.headers.items() if k != "set-cookie")
            assert not _leaks(header_text, secrets), answer.request.url
            answers.append(answer)
    assert sum(a.status_code == 200 for a in answers) >= 20  # the sweep really saw pages

    # The page listing API clients, reopened later, never shows the secret again.
    await login_as(client, tenant.admin, tenant.admin_password)
    listing = await client.get(f"/apps/{tenant.public_id}/api-clients")
    assert api_client.client_id in listing.text and client_secret not in listing.text

    for answer in api_answers:
        assert answer.status_code == 200, answer.text
        assert not _leaks(answer.text, {**secrets, "access token": access_token}), answer.request.url
    assert not _leaks(token.text, secrets)

    captured = capfd.readouterr()
    logs = caplog.text + captured.out + captured.err
    assert "dispatch" in logs.lower() or caplog.records, "the flows above should have logged something"
    assert not _leaks(logs, {**secrets, "access token": access_token}), "a secret reached the logs"


async def test_console_pages_refuse_framing(app, client, genesys_tenant, settings, clock):
    tenant = genesys_tenant
    booking = await _set_up(tenant, clock, settings)
    notification = await Notification.objects().first()
    await login_as(client, tenant.admin, tenant.admin_password)
    extra = [f"/rooms/{booking.guest_token}", f"/confirm/{booking.confirm_token}", "/login", "/no/such/page"]
    answers = await _browse(client, app, _values(tenant, booking, notification.id), extra)
    framed = [a for a in answers if "/genesys/" not in a.request.url.path]
    assert len(framed) > 20
    for answer in framed:
        csp = answer.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in csp, f"{answer.request.url}: {csp}"
        assert answer.headers.get("x-frame-options") == "DENY", answer.request.url

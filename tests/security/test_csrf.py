"""CSRF: every state-changing console request without the right token is refused, for plain forms
and htmx alike, and nothing changes. The routes come from the app itself, so a form added later
is covered without touching this file."""

from __future__ import annotations

from tests.conftest import form_post
from tests.fixtures.console import login_as
from tests.fixtures.scheduling import tenant, workday_slot  # noqa: F401
from tests.security.support import CSRF_EXEMPT, fill, fresh_csrf, routes
from web.db.tables import ApiClient, Booking, BookingEvent, DndWindow, Membership, Preset
from web.scheduling.bookings import NewBooking, create
from web.scheduling.hooks import Actor


async def _booking(tenant, clock):
    return await create(
        tenant.app_id,
        NewBooking(
            guest_name="Grace Guest",
            guest_phone="+573001112233",
            scheduled_at=workday_slot(clock.now(), 10),
            assigned_agent_id=tenant.agent.id,
        ),
        Actor("admin", str(tenant.admin.id)),
        now=clock.now(),
    )


async def _state(tenant) -> tuple:
    """Everything a forged console form could change."""
    return (
        await Booking.select(Booking.id, Booking.status, Booking.version, Booking.scheduled_at),
        await BookingEvent.count(),
        await Preset.select().where(Preset.app == tenant.app_id),
        await Membership.select(Membership.user, Membership.role),
        await ApiClient.count(),
        await DndWindow.count(),
    )


def _values(tenant, booking) -> dict:
    return {
        "app_id": tenant.public_id,
        "booking_id": booking.id,
        "action": "cancel",
        "user_id": tenant.agent.id,
        "part": "hours",
        "token": booking.guest_token,
    }


async def test_every_console_post_without_a_token_is_refused(app, client, tenant, clock):
    booking = await _booking(tenant, clock)
    await login_as(client, tenant.admin, tenant.admin_password)
    form = {"reason": "forged", "name": "forged", "role": "admin", "scheduled_at": "2031-01-01T10:00"}
    before = await _state(tenant)
    posts = [p for p in routes(app, "POST") if not CSRF_EXEMPT.match(p)]
    assert "/apps/{app_id:str}/preset" in posts and "/bookings/{booking_id:str}/{action:str}" in posts
    real = await fresh_csrf(client)
    for template in posts:
        url = fill(template, _values(tenant, booking))
        attempts = {
            "no token": {"data": form},
            "htmx without header": {"data": form, "headers": {"HX-Request": "true"}},
            "wrong field": {"data": {**form, "_csrf_token": "not-the-token"}},
            "wrong header": {"data": form, "headers": {"HX-Request": "true", "x-csrftoken": real[::-1]}},
        }
        for name, kwargs in attempts.items():
            response = await client.post(url, **kwargs)
            assert response.status_code == 403, f"POST {url} ({name}): {response.status_code}"
            assert "Traceback" not in response.text
    assert await _state(tenant) == before

    # The same request with the token goes through: the refusals above were the token's doing.
    response = await client.post(
        f"/bookings/{booking.id}/cancel",
        data={"reason": "real"},
        headers={"HX-Request": "true", "x-csrftoken": real},
    )
    assert response.status_code in (200, 303)
    assert (await Booking.objects().get(Booking.id == booking.id)).status == "cancelled"


async def test_sign_out_needs_the_token_too(client, tenant):
    await login_as(client, tenant.admin, tenant.admin_password)
    assert (await client.post("/logout")).status_code == 403
    assert (await client.get("/apps")).status_code == 200  # still signed in
    assert (await form_post(client, "/logout")).status_code == 303
    assert (await client.get("/apps")).status_code in (302, 303, 307)


async def test_a_token_from_another_session_does_not_work(client, app, tenant):
    import httpx

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver.local") as attacker:
        await attacker.get("/login")
        stolen = attacker.cookies.get("punctual_csrf")
    await login_as(client, tenant.admin, tenant.admin_password)
    before = await _state(tenant)
    response = await client.post(
        f"/apps/{tenant.public_id}/preset",
        data={"default_duration_minutes": "45", "_csrf_token": stolen},
    )
    assert response.status_code == 403
    assert await _state(tenant) == before

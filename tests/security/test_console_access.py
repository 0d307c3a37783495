"""Who may see and change what in the consoles, swept over every route the app serves:
an agent cannot read or change another agent's booking by id (404, unchanged), cannot open or post
to admin pages (403), a stranger and another tenant's admin learn nothing about an app (404)."""

from __future__ import annotations

import re

from tests.conftest import form_post
from tests.fixtures.console import login_as
from tests.fixtures.scheduling import create_tenant, tenant, workday_slot  # noqa: F401
from tests.security.support import NOT_PAGES, fill, routes
from web.db.tables import Booking, BookingEvent, Membership, Preset
from web.scheduling.bookings import NewBooking, create
from web.scheduling.hooks import Actor

APP_ROUTE = re.compile(r"^/apps/\{app_id:str\}")
BOOKING_ROUTE = re.compile(r"^/bookings/\{booking_id:str\}")
FORM = {
    "reason": "sneaky",
    "scheduled_at": "2031-01-06T10:00",
    "assigned_agent_id": "",
    "name": "x",
    "email": "x@example.com",
    "role": "admin",
    "default_duration_minutes": "90",
}


async def _book(tenant, clock, agent, hour=10):
    return await create(
        tenant.app_id,
        NewBooking(
            guest_name="Secret Customer",
            guest_phone="+573001112233",
            scheduled_at=workday_slot(clock.now(), hour),
            assigned_agent_id=agent.id,
        ),
        Actor("admin", str(tenant.admin.id)),
        now=clock.now(),
    )


def _values(tenant, booking, action="cancel") -> dict:
    return {
        "app_id": tenant.public_id,
        "booking_id": booking.id,
        "action": action,
        "user_id": tenant.other_agent.id,
        "part": "hours",
    }


async def _snapshot() -> tuple:
    return (
        await Booking.select(
            Booking.id, Booking.status, Booking.version, Booking.assigned_agent, Booking.scheduled_at
        ).order_by(Booking.id),
        await BookingEvent.count(),
        await Preset.select().order_by(Preset.id),
        await Membership.select(Membership.app, Membership.user, Membership.role).order_by(Membership.id),
    )


async def test_an_agent_cannot_reach_another_agents_booking_by_id(app, client, tenant, clock):
    bens = await _book(tenant, clock, tenant.other_agent)
    await login_as(client, tenant.agent, tenant.agent_password)
    before = await _snapshot()
    gets = [p for p in routes(app, "GET") if BOOKING_ROUTE.match(p)]
    posts = [p for p in routes(app, "POST") if BOOKING_ROUTE.match(p)]
    assert gets and posts
    for template in gets:
        response = await client.get(fill(template, _values(tenant, bens)))
        assert response.status_code == 404, f"GET {template}: {response.status_code}"
        assert "Secret Customer" not in response.text and "+573001112233" not in response.text
    actions = ("cancel", "reschedule", "reassign", "no-show", "confirm", "claim")
    for template in posts:
        for action in actions if "{action" in template else ("-",):
            url = fill(template, _values(tenant, bens, action))
            for headers in ({}, {"HX-Request": "true"}):
                response = await form_post(
                    client, url, {**FORM, "assigned_agent_id": str(tenant.agent.id)}, headers=headers
                )
                assert response.status_code == 404, f"POST {url} {headers}: {response.status_code}"
                assert "Secret Customer" not in response.text
    assert await _snapshot() == before
    # Ana's agenda does not list Ben's booking either.
    agenda = await client.get(f"/my-schedules?app={tenant.public_id}")
    assert agenda.status_code == 200 and "Secret Customer" not in agenda.text


async def test_an_agent_gets_403_on_every_admin_page_and_form(app, client, tenant, clock):
    booking = await _book(tenant, clock, tenant.agent)
    await login_as(client, tenant.agent, tenant.agent_password)
    before = await _snapshot()
    gets = [p for p in routes(app, "GET") if APP_ROUTE.match(p)]
    posts = [p for p in routes(app, "POST") if APP_ROUTE.match(p)]
    assert "/apps/{app_id:str}/preset" in gets and "/apps/{app_id:str}/members" in posts
    for template in gets:
        response = await client.get(fill(template, _values(tenant, booking)))
        assert response.status_code == 403, f"GET {template}: {response.status_code}"
        assert "Traceback" not in response.text
    for template in posts:
        response = await form_post(client, fill(template, _values(tenant, booking)), FORM)
        assert response.status_code == 403, f"POST {template}: {response.status_code}"
    assert await _snapshot() == before


async def test_strangers_and_other_tenants_admins_learn_nothing(app, client, tenant, clock, make_user):
    booking = await _book(tenant, clock, tenant.agent)
    other = await create_tenant("Other Co")
    before = await _snapshot()
    stranger = await make_user("stranger@example.com", "stranger password")
    gets = [
        p
        for p in routes(app, "GET")
        if (APP_ROUTE.match(p) or BOOKING_ROUTE.match(p)) and not NOT_PAGES.search(p)
    ]
    posts = [p for p in routes(app, "POST") if (APP_ROUTE.match(p) or BOOKING_ROUTE.match(p))]
    for who, password in ((stranger, "stranger password"), (other.admin, other.admin_password)):
        await login_as(client, who, password)
        for template in gets:
            response = await client.get(fill(template, _values(tenant, booking)))
            assert response.status_code == 404, f"{who.email} GET {template}: {response.status_code}"
            assert "Secret Customer" not in response.text and tenant.app.name not in response.text
        for template in posts:
            response = await form_post(client, fill(template, _values(tenant, booking)), FORM)
            assert response.status_code == 404, f"{who.email} POST {template}: {response.status_code}"
        agenda = await client.get(f"/my-schedules?app={tenant.public_id}")
        assert agenda.status_code == 404
        apps = await client.get("/apps")
        assert tenant.app.name not in apps.text
    assert await _snapshot() == before


async def test_an_unknown_or_malformed_id_is_a_plain_404(client, tenant):
    await login_as(client, tenant.admin, tenant.admin_password)
    for path in (
        "/bookings/not-a-uuid",
        "/bookings/00000000-0000-4000-8000-000000000000",
        "/bookings/%00",
        "/bookings/" + "9" * 400,
        "/apps/not-a-uuid",
        "/apps/00000000-0000-4000-8000-000000000000/preset",
        "/apps/%3Cscript%3E",
    ):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert "Traceback" not in response.text and "<script>" not in response.text

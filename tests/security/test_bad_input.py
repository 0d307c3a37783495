"""Oversized, malformed, wrong-type and hostile values, through every console form and the public
API: a clear 4xx (forms re-render with the message next to the field, the API answers with its
error envelope), never a 500, and nothing typed comes back as markup. The console's forms and
their field names are read from the app itself, so a form added later is swept too."""

# Fixtures imported from tests.fixtures are parameters of the tests below.

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest

from tests.conftest import csrf_token, form_post
from tests.fixtures.api import Api, api, tenant  # noqa: F401
from tests.fixtures.console import login_as
from tests.fixtures.scheduling import workday_slot
from tests.security.support import CSRF_EXEMPT, NOT_PAGES, PARAM, fill, routes
from web.scheduling.bookings import NewBooking, create
from web.scheduling.hooks import Actor
from web.scheduling.timeutil import zone

MARKUP = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>"
# One value of each kind in every field at once: a form must answer all of them with messages.
FORM_VALUES = {
    "oversized": "x" * 100_000,
    "markup": MARKUP,
    "control characters": "\x00\x1b[31m\u202e\ufeff",
    "huge number": "9" * 40,
    "past 32 bits": "3000000000",  # row ids are 32-bit integers in PostgreSQL
    "negative": "-1",
    "not a number": "1e309",
    "impossible date": "2031-02-30T25:61",
    "empty": "",
}
FIELD = re.compile(r'\bname="([a-z_]+)"')
# Query parameters read by pages but not offered in their forms.
QUERY_NAMES = {"page", "next", "ticket", "code", "state", "conversationId", "gcHostOrigin", "gcUsePopupAuth"}
SKIPPED_POSTS = {"/logout", "/login"}  # signing out ends the sweep; sign-in has its own tests

pytestmark = pytest.mark.timeout(90)


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


def _values(tenant, booking, action: str = "cancel") -> dict:
    return {
        "app_id": tenant.public_id,
        "booking_id": booking.id,
        "action": action,
        "user_id": tenant.agent.id,
        "part": "hours",
        "token": booking.guest_token,
    }


async def _field_names(client, app, values) -> set[str]:
    """Every form field the console's pages offer."""
    names: set[str] = set()
    for template in routes(app, "GET"):
        if NOT_PAGES.search(template):
            continue
        page = await client.get(fill(template, values))
        names.update(FIELD.findall(page.text))
    return names - {"_csrf_token"}


def _refused_cleanly(response, where: str) -> None:
    assert response.status_code < 500, f"{where}: {response.status_code}"
    assert "Traceback" not in response.text, where
    assert "<script>alert(1)" not in response.text and "<img src=x" not in response.text, where


async def test_every_console_form_answers_hostile_values_without_a_500(app, client, tenant, clock):
    booking = await _booking(tenant, clock)
    await login_as(client, tenant.admin, tenant.admin_password)
    names = await _field_names(client, app, _values(tenant, booking))
    assert {"guest_name", "intake_notes", "scheduled_at", "default_duration_minutes"} <= names, names
    posts = [p for p in routes(app, "POST") if not CSRF_EXEMPT.match(p) and p not in SKIPPED_POSTS]
    assert len(posts) > 15
    for template in posts:
        actions = ("reschedule", "reassign", "cancel") if "{action" in template else ("-",)
        for action in actions:
            url = fill(template, _values(tenant, booking, action))
            for kind, value in FORM_VALUES.items():
                for headers in ({}, {"HX-Request": "true"}):
                    response = await form_post(client, url, dict.fromkeys(names, value), headers=headers)
                    _refused_cleanly(response, f"POST {url} ({kind}, {headers})")
            # Every field twice (a list where one value is expected), and a body that is not UTF-8.
            response = await form_post(client, url, {name: ["1", MARKUP] for name in names})
            _refused_cleanly(response, f"POST {url} (repeated fields)")
            response = await client.post(
                url,
                content=b"guest_name=%FF%FE&reason=\xff\xfe",
                headers={
                    "x-csrftoken": csrf_token(client),
                    "content-type": "application/x-www-form-urlencoded",
                },
            )
            _refused_cleanly(response, f"POST {url} (not UTF-8)")
    # Every page, given the same values in its query string and out-of-range numeric ids in its path.
    for template in routes(app, "GET"):
        if NOT_PAGES.search(template):
            continue
        for kind, value in FORM_VALUES.items():
            if kind == "oversized":
                value = "x" * 500  # a URL carries less than a body
            url = (
                fill(template, _values(tenant, booking))
                + "?"
                + urlencode(dict.fromkeys(names | QUERY_NAMES, value))
            )
            _refused_cleanly(await client.get(url), f"GET {template} ({kind} query)")
    int_params = {
        m.group(1) for t in routes(app, "GET") + posts for m in PARAM.finditer(t) if m.group(2) == "int"
    }
    assert int_params
    for huge in ("3000000000", "9" * 30):
        for template in [*routes(app, "GET"), *posts]:
            if "int}" in template:
                url = fill(template, {**_values(tenant, booking), **dict.fromkeys(int_params, huge)})
                _refused_cleanly(await client.get(url), f"GET {url}")
                _refused_cleanly(await form_post(client, url, {}), f"POST {url}")
    # Ids typed into forms rather than paths: an availability entry to delete, an agent to reassign to.
    for url, form in (
        (f"/apps/{tenant.public_id}/agents/{tenant.agent.id}/availability/delete-dnd-3000000000", {}),
        (f"/bookings/{booking.id}/reassign", {"assigned_agent_id": "3000000000"}),
        (f"/apps/{tenant.public_id}/bookings?agent=3000000000", None),
    ):
        response = await (client.get(url) if form is None else form_post(client, url, form))
        _refused_cleanly(response, url)
    # A body over the 1 MiB limit is refused before any handler reads it.
    too_big = await form_post(
        client, f"/apps/{tenant.public_id}/bookings/new", {"intake_notes": "x" * 1_100_000}
    )
    assert too_big.status_code == 413
    # The sweep ran signed in to the end.
    assert (await client.get(f"/apps/{tenant.public_id}/bookings")).status_code == 200


async def test_the_booking_form_puts_each_message_next_to_its_field(client, tenant, clock):
    await login_as(client, tenant.admin, tenant.admin_password)
    url = f"/apps/{tenant.public_id}/bookings/new"
    start = workday_slot(clock.now()).astimezone(zone(tenant.timezone)).strftime("%Y-%m-%dT%H:%M")
    valid = {"assigned_agent_id": str(tenant.agent.id), "guest_name": "Gina", "scheduled_at": start}
    # The form's own fields first, then the guest's (checked once the meeting itself makes sense).
    for bad in (
        {"assigned_agent_id": "x" * 30, "scheduled_at": "2031-02-30T25:61", "duration_minutes": "ninety"},
        {
            "guest_name": "N" * 5000,
            "guest_phone": "<script>alert(1)</script>",
            "guest_email": "not an email",
            "guest_timezone": "Mars/Olympus_Mons",
            "intake_notes": "n" * 20_000,
        },
    ):
        response = await form_post(client, url, {**valid, **bad})
        assert response.status_code == 400
        for field in bad:
            assert f'id="{field}-error"' in response.text, field
            assert f'aria-describedby="{field}-error"' in response.text, field
        assert "<script>alert(1)" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text  # the typed value, shown back as text


async def test_sign_in_takes_hostile_values_calmly(client, make_user):
    await make_user()
    for email, password in (("x" * 100_000, "y" * 100_000), (MARKUP, MARKUP), ("\x00", "")):
        response = await form_post(client, "/login", {"email": email, "password": password})
        _refused_cleanly(response, f"login {email[:10]!r}")
        assert response.status_code in (400, 429)


# --- the public API ------------------------------------------------------------------------------------


def _body(api: Api, clock, **extra) -> dict:
    return {
        "guestName": "Gina Guest",
        "guestPhone": "+573001234567",
        "scheduledAtUtc": workday_slot(clock.now()).isoformat().replace("+00:00", "Z"),
        "appTimezone": api.tenant.timezone,
        "assignedAgentId": str(api.tenant.agent.id),
        **extra,
    }


def _error(response, status: int = 400) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()["error"]


def _fields(response) -> set[str]:
    return {d["field"] for d in _error(response)["details"]}


async def test_the_api_refuses_wrong_types_and_sizes_field_by_field(api, clock):
    cases = {
        "guestName": [123, ["a"], {"a": 1}, None, "n" * 201],
        "guestIntakeNotes": [5, "n" * 5001],
        "durationMinutes": ["thirty", 1.5, -5, 10**20, True],
        "scheduledAtUtc": ["tomorrow", 1900000000, "2031-02-30T10:00:00Z", "9999-12-31T23:59:59+25:00"],
        "assignedAgentId": [2, "-1", "1 OR 1=1", "9" * 30],
        "guestEmail": ["x" * 300],
        "appTimezone": [["America/Bogota"], "t" * 65],
    }
    for field, values in cases.items():
        for value in values:
            response = await api.post("/scheduled-calls", json=_body(api, clock, **{field: value}))
            assert field in _fields(response), (field, value, response.text)
    unknown = await api.post("/scheduled-calls", json=_body(api, clock, isAdmin=True))
    assert _error(unknown)["details"][0]["code"] == "unknown_field"


async def test_the_api_refuses_bodies_that_are_not_a_json_object(api):
    for content, content_type in (
        (b"not json", "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (b'"just a string"', "application/json"),
        (b"\xff\xfe{}", "application/json"),
        (b"[" * 5000 + b"]" * 5000, "application/json"),
        (b"guestName=x", "application/x-www-form-urlencoded"),
        (b"", "application/json"),
    ):
        response = await api.post("/scheduled-calls", content=content, headers={"content-type": content_type})
        assert 400 <= response.status_code < 500, (content[:20], response.status_code, response.text)
        assert "error" in response.json(), content[:20]
    # A NUL character (which PostgreSQL cannot store) is refused whole, in a body or a query string.
    for response in (
        await api.post("/scheduled-calls", json={"guestName": "Eve\x00"}),
        await api.get("/scheduled-calls", params={"search": "\x00"}),
    ):
        assert "NUL character" in _error(response)["message"]
    # An agent id past the database's 32-bit ids names nobody.
    listed = await api.get("/scheduled-calls", params={"agentId": "6064772577"})
    assert listed.status_code == 200 and listed.json()["data"]["calls"] == []
    huge = await api.post("/scheduled-calls", content=b'{"guestName": "' + b"x" * 1_100_000 + b'"}')
    assert _error(huge, 413)["type"] == "payload_too_large"


async def test_hostile_text_goes_through_the_api_as_plain_data(api, clock):
    created = await api.post(
        "/scheduled-calls", json=_body(api, clock, guestName=MARKUP, guestIntakeNotes=MARKUP * 3)
    )
    assert created.status_code == 201, created.text
    call = created.json()["data"]["call"]
    assert call["guest_name"] == MARKUP and call["guest_intake_notes"] == MARKUP * 3
    listed = await api.get("/scheduled-calls", params={"search": "<script>"})
    assert [c["id"] for c in listed.json()["data"]["calls"]] == [call["id"]]
    # Query strings with quotes, wildcards and SQL find nothing rather than everything.
    for search in ("%", "_", "' OR '1'='1", "\\", "\x00"):
        response = await api.get("/scheduled-calls", params={"search": search})
        assert response.status_code in (200, 400), search
        if response.status_code == 200:
            assert response.json()["data"]["calls"] == [], search
    patched = await api.patch(f"/scheduled-calls/{call['id']}", json={"guestName": ["x"]})
    assert _fields(patched) == {"guestName"}

"""The public API fuzzed from its own OpenAPI document with schemathesis: for every operation,
requests generated from the schema (valid ones, and ones that break it) are sent with a real client
token to the app in this test's loop. No answer may be a 5xx, and every answer must match what the
document promises (status code, content type, headers, body schema).

The cases are drawn first and sent afterwards: the app lives in this test's event loop, so the
requests are awaited here rather than sent from inside Hypothesis' synchronous test function."""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.fixtures.api import Api, api, make_api  # noqa: F401
from tests.fixtures.scheduling import tenant, workday_slot  # noqa: F401
from web.scheduling.timeutil import to_iso_z

BASE_URL = "https://testserver.local"
EXAMPLES = 30  # per operation and mode
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

pytestmark = pytest.mark.timeout(110)


def _draw(strategy, count: int) -> list:
    """`count` cases from a schemathesis strategy, without running anything yet."""
    drawn: list = []

    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(case) -> None:
        drawn.append(case)

    collect()
    return drawn


def _without_security(document: dict) -> dict:
    """The document minus its security requirements: every request carries the client's real token,
    so the broken requests break the parameters and bodies rather than mostly dropping the token
    (missing and bad tokens have tests of their own in tests/integration/test_api_auth.py)."""
    document = {**document, "security": []}
    for item in document["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict):
                operation.pop("security", None)
    return document


def _negated(case, location: ParameterLocation) -> bool:
    """Whether schemathesis broke this part of the request on purpose (so it must stay as drawn)."""
    info = case.meta.components.get(location) if case.meta else None
    return info is not None and info.mode is GenerationMode.NEGATIVE


def _aim(case, api: Api, calls: list[str], index: int) -> dict[str, str]:
    """Point the case at the tenant's own app (otherwise nearly every answer is a 404), every other
    time at a real call, and sign it with the client's token; parts broken on purpose stay broken.
    Returns the headers to send."""
    path = case.path_parameters or {}
    if "appId" in path:
        path["appId"] = api.tenant.public_id
    if "callId" in path and index % 2 == 0 and not _negated(case, ParameterLocation.PATH):
        path["callId"] = calls[index % len(calls)]
    return api.headers()


def _as_httpx(kwargs: dict) -> dict:
    """The requests-style keyword arguments schemathesis prepares, for httpx."""
    out = {key: kwargs[key] for key in ("method", "url", "headers", "params") if kwargs.get(key)}
    if "json" in kwargs:
        out["json"] = kwargs["json"]
    data = kwargs.get("data")
    if isinstance(data, str | bytes):
        out["content"] = data
    elif data is not None:
        out["data"] = data
    return out


async def _existing_calls(api: Api, clock) -> list[str]:
    """A few real calls, so that generated requests also reach ones that exist."""
    ids = []
    for hour in (9, 11):
        response = await api.post(
            "/scheduled-calls",
            json={
                "guestName": "Fuzz Guest",
                "guestPhone": "+573001112233",
                "scheduledAtUtc": to_iso_z(workday_slot(clock.now(), hour)),
                "appTimezone": api.tenant.timezone,
                "assignedAgentId": str(api.tenant.agent.id),
            },
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["data"]["call"]["id"])
    return ids


async def test_the_api_keeps_the_promises_of_its_own_schema(client, tenant, clock):
    api = await make_api(client, tenant, rate_limit_per_minute=100_000)
    calls = await _existing_calls(api, clock)
    document = (await client.get("/schema/openapi.json")).json()
    schema = schemathesis.openapi.from_dict(_without_security(document))

    failures: list[str] = []
    sent = 0
    statuses: dict[int, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            checks = CHECKS + ([negative_data_rejection] if mode is GenerationMode.NEGATIVE else [])
            for index, case in enumerate(_draw(operation.as_strategy(generation_mode=mode), EXAMPLES)):
                headers = _aim(case, api, calls, index)
                kwargs = case.as_transport_kwargs(base_url=BASE_URL, headers=headers)
                try:
                    response = await client.request(**_as_httpx(kwargs))
                except httpx.HTTPError as exc:  # pragma: no cover - the message names the case
                    failures.append(f"{operation.label}: {exc!r}")
                    continue
                sent += 1
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                try:
                    case.validate_response(response, checks=checks, headers=headers)
                except FailureGroup as group:
                    failures.append(f"{operation.label} ({mode.value}):\n{group}")
    assert sent >= 200, sent
    summary = f"\n\n({len(failures)} failing cases; statuses {statuses})"
    assert not failures, "\n\n".join(failures[:5]) + summary
    assert statuses.get(200, 0) + statuses.get(201, 0) > 20, statuses  # the valid requests really got through


# --- what the fuzzing found, pinned down -----------------------------------------------------------------


async def test_the_document_describes_the_public_api_alone(client):
    document = (await client.get("/schema/openapi.json")).json()
    assert document["info"]["title"] == "Punctual public API"
    paths = set(document["paths"])
    assert "/oauth/token" in paths and "/api/v1/video/{appId}/scheduled-calls" in paths
    assert all(p == "/oauth/token" or p.startswith("/api/v1/video/{appId}/") for p in paths), paths
    for path, item in document["paths"].items():
        for method, operation in item.items():
            expected = [{}] if path == "/oauth/token" else [{"clientCredentials": []}]
            assert operation["security"] == expected, f"{method} {path}"
    assert document["components"]["securitySchemes"]["clientCredentials"]["scheme"] == "bearer"


async def test_an_overlong_call_id_gets_the_documented_400(api):
    document = (await api.http.get("/schema/openapi.json")).json()
    documented = document["paths"]["/api/v1/video/{appId}/scheduled-calls/{callId}"]["get"]["responses"]
    assert documented["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorResponse"
    }
    response = await api.get("/scheduled-calls/" + "9" * 65)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request"
    assert [(d["field"], d["code"]) for d in error["details"]] == [("callId", "invalid_length")]


async def test_a_bare_number_is_not_taken_for_a_time(api, clock):
    """The document says date-time; lax parsing used to read 1900000000 as Unix seconds."""
    start = workday_slot(clock.now(), 10)
    body = {
        "guestName": "Gina Guest",
        "guestPhone": "+573001112233",
        "appTimezone": api.tenant.timezone,
        "assignedAgentId": str(api.tenant.agent.id),
    }
    answers = {
        "dateFrom": await api.get("/scheduled-calls", params={"dateFrom": "3687"}),
        "fromUtc": await api.get(
            "/availability",
            params={"fromUtc": "1900000000", "toUtc": "2030-01-01T00:00:00Z", "durationMinutes": 30},
        ),
        "scheduledAtUtc": await api.post(
            "/scheduled-calls", json={**body, "scheduledAtUtc": int(start.timestamp())}
        ),
    }
    for field, response in answers.items():
        assert response.status_code == 400, (field, response.text)
        details = response.json()["error"]["details"]
        assert [(d["field"], d["code"]) for d in details] == [(field, "invalid_type")], details
    created = await api.post("/scheduled-calls", json={**body, "scheduledAtUtc": to_iso_z(start)})
    assert created.status_code == 201, created.text
    call_id = created.json()["data"]["call"]["id"]
    moved = await api.patch(
        f"/scheduled-calls/{call_id}", json={"scheduledAtUtc": str(int(start.timestamp()))}
    )
    assert moved.status_code == 400 and moved.json()["error"]["details"][0]["field"] == "scheduledAtUtc"


async def test_times_at_the_edges_of_the_calendar_are_refused_not_overflowed(api, clock):
    """Found by the fuzzing: availability from 0001-01-01 overflowed the date arithmetic (a 500)."""
    for start, end in (
        ("0001-01-01T00:00:00Z", "0001-01-01T02:00:00Z"),
        ("0001-01-01T00:30:00+01:00", "2030-01-01T00:00:00Z"),
        ("2030-01-01T00:00:00Z", "9999-12-31T23:59:59-01:00"),
    ):
        params = {"fromUtc": start, "toUtc": end, "durationMinutes": 30}
        response = await api.get("/availability", params=params)
        assert response.status_code == 400, (start, end, response.text)
        assert response.json()["error"]["details"][0]["code"] == "out_of_range"
    far = await api.post(
        "/scheduled-calls",
        json={
            "guestName": "Gina",
            "guestPhone": "+573001112233",
            "scheduledAtUtc": "9999-12-31T23:59:00Z",
            "appTimezone": api.tenant.timezone,
        },
    )
    assert far.status_code == 400 and far.json()["error"]["details"][0]["field"] == "scheduledAtUtc"

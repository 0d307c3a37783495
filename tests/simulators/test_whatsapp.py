"""The WhatsApp Cloud API simulator: template sends, validation errors, faults."""

import time

import httpx
import pytest

from simulators.whatsapp import fixture as wf
from simulators.whatsapp.app import create_app

URL = f"/v21.0/{wf.PHONE_NUMBER_ID}/messages"
AUTH = {"Authorization": f"Bearer {wf.ACCESS_TOKEN}"}


def template(kind="reminder_1h", to="+573001234567", params=None, language=wf.LANGUAGE):
    params = (
        ["Jane", "14:00", "https://meet.example/r/1"][: wf.BODY_PARAMS[kind]] if params is None else params
    )
    return {
        "messaging_product": "whatsapp",
        "to": to,
        "type": "template",
        "template": {
            "name": wf.TEMPLATES[kind],
            "language": {"code": language},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": p} for p in params]}],
        },
    }


@pytest.fixture
async def wa():
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app()), base_url="http://wa"
    ) as http:
        yield http


def graph_error(reply, status, code):
    assert reply.status_code == status, reply.text
    error = reply.json()["error"]
    assert set(error) >= {"message", "type", "code", "fbtrace_id"}
    assert error["code"] == code
    return error


@pytest.mark.parametrize("kind", sorted(wf.TEMPLATES))
async def test_every_reminder_template_is_sent_and_recorded(wa, kind):
    reply = await wa.post(URL, json=template(kind), headers=AUTH)
    assert reply.status_code == 200
    body = reply.json()
    assert body["messaging_product"] == "whatsapp"
    assert body["contacts"] == [{"input": "+573001234567", "wa_id": "573001234567"}]
    assert body["messages"][0]["id"].startswith("wamid.")
    [message] = (await wa.get("/__sim/state")).json()["messages"]
    assert (message["to"], message["template"], message["language"]) == (
        "+573001234567",
        wf.TEMPLATES[kind],
        "en",
    )
    assert len(message["parameters"]) == wf.BODY_PARAMS[kind]
    assert message["id"] == body["messages"][0]["id"] and message["received_at"]


async def test_bad_token_is_code_190(wa):
    error = graph_error(
        await wa.post(URL, json=template(), headers={"Authorization": "Bearer nope"}), 401, 190
    )
    assert error["type"] == "OAuthException"
    graph_error(await wa.post(URL, json=template()), 401, 190)


async def test_token_of_another_sender_cannot_use_this_number(wa):
    await wa.post(
        "/__sim/seed",
        json={"senders": [{"phone_number_id": "200", "access_token": "other", "templates": []}]},
    )
    graph_error(await wa.post(URL, json=template(), headers={"Authorization": "Bearer other"}), 400, 100)


async def test_parameter_count_mismatch_is_132000(wa):
    graph_error(await wa.post(URL, json=template(params=["only one"]), headers=AUTH), 400, 132000)


async def test_unknown_template_or_language_is_132001(wa):
    body = template()
    body["template"]["name"] = "no_such_template"
    graph_error(await wa.post(URL, json=body, headers=AUTH), 404, 132001)
    graph_error(await wa.post(URL, json=template(language="es"), headers=AUTH), 404, 132001)


@pytest.mark.parametrize("to", ["12", "phone", "+0123456789", ""])
async def test_bad_recipient_is_code_100(wa, to):
    graph_error(await wa.post(URL, json=template(to=to), headers=AUTH), 400, 100)


async def test_recipient_outside_the_allowed_list_is_131030(wa):
    await wa.post(
        "/__sim/seed",
        json={
            "senders": [
                {
                    "phone_number_id": wf.PHONE_NUMBER_ID,
                    "access_token": wf.ACCESS_TOKEN,
                    "allowed_recipients": ["+15550001111"],
                    "templates": [{"name": wf.TEMPLATES["custom"], "language": "en", "body_params": 1}],
                }
            ]
        },
    )
    graph_error(await wa.post(URL, json=template("custom", params=["hi"]), headers=AUTH), 400, 131030)
    ok = await wa.post(URL, json=template("custom", to="+15550001111", params=["hi"]), headers=AUTH)
    assert ok.status_code == 200


@pytest.mark.parametrize(
    ("change", "code"),
    [({"messaging_product": "sms"}, 100), ({"type": "text"}, 100), ({"template": {"name": "x"}}, 100)],
)
async def test_request_shape_is_validated(wa, change, code):
    graph_error(await wa.post(URL, json={**template(), **change}, headers=AUTH), 400, code)
    assert (await wa.get("/__sim/state")).json()["messages"] == []


@pytest.mark.parametrize(
    ("action", "status", "code"),
    [
        ("bad_credentials", 401, 190),
        ("rate_limit", 429, 130429),
        ("server_error", 500, 131000),
        ("unavailable", 503, 2),
    ],
)
async def test_faults(wa, action, status, code):
    rule = {"match": {"path_regex": "/messages$"}, "action": action, "times": 1}
    assert (await wa.post("/__sim/faults", json=rule)).status_code == 201
    graph_error(await wa.post(URL, json=template(), headers=AUTH), status, code)
    assert (await wa.post(URL, json=template(), headers=AUTH)).status_code == 200


async def test_rate_limit_fault_with_business_code_and_retry_after(wa):
    reply = await wa.post(
        URL, json=template(), headers={**AUTH, "X-Sim-Fault": "rate_limit; code=80007; retry_after=2"}
    )
    graph_error(reply, 429, 80007)
    assert reply.headers["Retry-After"] == "2"


async def test_request_log_reset_and_clock(wa):
    await wa.post(URL, json=template(), headers=AUTH)
    [entry] = (await wa.get("/__sim/requests", params={"path": "messages"})).json()
    assert entry["body"]["template"]["name"] == wf.TEMPLATES["reminder_1h"] and entry["status"] == 200
    moved = (await wa.post("/__sim/clock", json={"advance_seconds": 3600})).json()
    assert moved["offset_seconds"] == 3600
    await wa.post("/__sim/reset")
    assert (await wa.get("/__sim/state")).json() == {"senders": [], "messages": []}
    graph_error(await wa.post(URL, json=template(), headers=AUTH), 401, 190)


async def test_latency_and_late_answers_from_the_control_api(wa):
    rule = {"match": {"path_regex": "/messages$"}, "action": "latency", "ms": 200, "times": 1}
    assert (await wa.post("/__sim/faults", json=rule)).status_code == 201
    started = time.monotonic()
    assert (await wa.post(URL, json=template(), headers=AUTH)).status_code == 200
    assert time.monotonic() - started >= 0.2

    # Accepted and recorded at once, answered late: the caller may give up on a message that went out.
    rule = {"match": {"path_regex": "/messages$"}, "action": "timeout_then_success", "ms": 200, "times": 1}
    await wa.post("/__sim/faults", json=rule)
    started = time.monotonic()
    assert (await wa.post(URL, json=template(), headers=AUTH)).status_code == 200
    assert time.monotonic() - started >= 0.2
    assert len((await wa.get("/__sim/state")).json()["messages"]) == 2


async def test_fault_rules_are_listed_and_cleared(wa):
    await wa.post("/__sim/faults", json={"action": "server_error"})
    assert [r["action"] for r in (await wa.get("/__sim/faults")).json()] == ["server_error"]
    graph_error(await wa.post(URL, json=template(), headers=AUTH), 500, 131000)
    assert (await wa.delete("/__sim/faults")).status_code in (200, 204)
    assert (await wa.post(URL, json=template(), headers=AUTH)).status_code == 200

"""The WhatsApp Cloud API client against the simulator over HTTP: the request it sends, its typed
errors, its retries (backoff, Retry-After) and its timeouts. Waits between attempts go through the
client's injected `sleep`, so no test waits for a backoff."""

# Fixtures imported from tests.fixtures are parameters of the tests below.

from __future__ import annotations

import httpx
import pytest

from simulators.whatsapp.fixture import ACCESS_TOKEN, BODY_PARAMS, PHONE_NUMBER_ID, TEMPLATES
from tests.fixtures.whatsapp_sim import whatsapp_sim  # noqa: F401
from web.whatsapp.client import SenderConfig, WhatsAppClient
from web.whatsapp.errors import WhatsAppError

PHONE = "+573001234567"
PARAMS = ["Jane Doe", "Tue 3 Mar 2026, 10:00 (America/Bogota)", "https://punctual.example/rooms/abc"]
pytestmark = pytest.mark.timeout(30)


def sender_on(sim, **overrides) -> SenderConfig:
    values = {"phone_number_id": PHONE_NUMBER_ID, "access_token": ACCESS_TOKEN, "base_url": sim.url}
    return SenderConfig(**{**values, **overrides})


class Waits:
    """The client's `sleep`: remembers each wait instead of waiting."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


async def send(client: WhatsAppClient, sender: SenderConfig, kind="reminder_1h", to=PHONE, **kwargs):
    params = PARAMS[: BODY_PARAMS[kind]] if "params" not in kwargs else kwargs.pop("params")
    return await client.send_template(sender, to, TEMPLATES[kind], "en", params, **kwargs)


async def test_a_template_goes_out_the_way_the_cloud_api_takes_it(whatsapp_sim):
    async with WhatsAppClient() as client:
        sent = await send(client, sender_on(whatsapp_sim))

    assert sent.message_id.startswith("wamid.") and sent.wa_id == PHONE.lstrip("+")
    [request] = whatsapp_sim.requests()
    assert request["method"] == "POST"
    assert request["path"] == f"/v21.0/{PHONE_NUMBER_ID}/messages"
    assert request["headers"]["authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert request["body"] == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": PHONE,
        "type": "template",
        "template": {
            "name": "meeting_reminder_1h",
            "language": {"code": "en"},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": p} for p in PARAMS]}],
        },
    }
    [message] = whatsapp_sim.messages(PHONE)
    assert (message["id"], message["parameters"]) == (sent.message_id, PARAMS)


async def test_transient_failures_are_retried_with_growing_waits(whatsapp_sim):
    whatsapp_sim.add_fault(action="server_error", times=1)
    whatsapp_sim.add_fault(action="unavailable", times=1)
    waits = Waits()
    async with WhatsAppClient(sleep=waits, max_attempts=3) as client:
        sent = await send(client, sender_on(whatsapp_sim))

    assert waits.seconds == [1.0, 2.0]
    assert [r["status"] for r in whatsapp_sim.requests()] == [500, 503, 200]
    assert [m["id"] for m in whatsapp_sim.messages()] == [sent.message_id]


async def test_retry_after_is_waited_for_and_a_long_one_is_handed_back(whatsapp_sim):
    whatsapp_sim.add_fault(action="rate_limit", retry_after=3, times=1)
    waits = Waits()
    async with WhatsAppClient(sleep=waits) as client:
        await send(client, sender_on(whatsapp_sim))
        assert waits.seconds == [3.0]

        # Longer than the client will wait: the caller gets the error and plans the retry itself.
        whatsapp_sim.add_fault(action="rate_limit", retry_after=120, code=80007, times=1)
        with pytest.raises(WhatsAppError) as refused:
            await send(client, sender_on(whatsapp_sim))
    error = refused.value
    assert (error.status, error.code, error.retry_after) == (429, 80007, 120.0)
    assert error.rate_limited and not error.permanent
    assert error.plain_words() == "WhatsApp is rate limiting the sender; retry after 120 s"
    assert waits.seconds == [3.0]
    assert len(whatsapp_sim.requests()) == 3


async def test_the_attempts_run_out_on_a_lasting_outage(whatsapp_sim):
    whatsapp_sim.add_fault(action="gateway_timeout")
    waits = Waits()
    async with WhatsAppClient(sleep=waits, max_attempts=3) as client:
        with pytest.raises(WhatsAppError) as failed:
            await send(client, sender_on(whatsapp_sim))
        assert (failed.value.status, failed.value.permanent) == (504, False)
        # One attempt when the caller keeps the retry state itself.
        with pytest.raises(WhatsAppError):
            await send(client, sender_on(whatsapp_sim), attempts=1)
    assert waits.seconds == [1.0, 2.0]
    assert len(whatsapp_sim.requests()) == 4
    assert whatsapp_sim.messages() == []


@pytest.mark.parametrize(
    ("case", "status", "code", "words"),
    [
        ("token", 401, 190, "WhatsApp refused the access token of the sender (expired or revoked)"),
        ("template", 404, 132001, "WhatsApp refused the template: template name (no_such_template)"),
        ("params", 400, 132000, "WhatsApp refused the template: body: number of localizable_params (1)"),
        ("recipient", 400, 100, "WhatsApp rejected the message (400, code 100): Invalid recipient phone"),
    ],
)
async def test_permanent_errors_are_typed_and_never_retried(whatsapp_sim, case, status, code, words):
    sender = sender_on(whatsapp_sim, access_token="revoked-token-0000" if case == "token" else ACCESS_TOKEN)
    waits = Waits()
    async with WhatsAppClient(sleep=waits) as client:
        with pytest.raises(WhatsAppError) as refused:
            if case == "template":
                await client.send_template(sender, PHONE, "no_such_template", "en", PARAMS)
            elif case == "params":
                await send(client, sender, params=PARAMS[:1])
            else:
                await send(client, sender, to="0300 123" if case == "recipient" else PHONE)

    error = refused.value
    assert (error.status, error.code, error.permanent) == (status, code, True)
    assert error.plain_words().startswith(words)
    assert waits.seconds == [] and len(whatsapp_sim.requests()) == 1
    assert "revoked-token-0000" not in f"{error} {error.plain_words()} {sender!r}"


async def test_no_answer_in_time_is_a_transient_error(whatsapp_sim):
    whatsapp_sim.add_fault(action="latency", ms=1500, times=1)
    impatient = httpx.AsyncClient(timeout=httpx.Timeout(0.3))
    async with impatient, WhatsAppClient(impatient) as client:
        with pytest.raises(WhatsAppError) as late:
            await send(client, sender_on(whatsapp_sim), attempts=1)
        assert (late.value.status, late.value.permanent) == (None, False)
        assert late.value.plain_words() == "WhatsApp could not be reached (no answer in time (ReadTimeout))"
        # The next attempt, without the fault, goes through.
        assert (await send(client, sender_on(whatsapp_sim), attempts=1)).message_id


async def test_an_unreadable_or_dropped_answer_is_a_transient_error(whatsapp_sim):
    async with WhatsAppClient() as client:
        whatsapp_sim.add_fault(action="malformed_json", times=1)
        with pytest.raises(WhatsAppError) as unreadable:
            await send(client, sender_on(whatsapp_sim), attempts=1)
        whatsapp_sim.add_fault(action="drop_connection", times=1)
        with pytest.raises(WhatsAppError) as dropped:
            await send(client, sender_on(whatsapp_sim), attempts=1)
        unreachable = sender_on(whatsapp_sim, base_url="http://127.0.0.1:9")
        with pytest.raises(WhatsAppError) as refused:
            await send(client, unreachable, attempts=1)

    assert "unreadable answer (HTTP 200)" in unreadable.value.message
    assert dropped.value.message.startswith("connection failed")
    assert refused.value.message.startswith("connection failed")
    for error in (unreadable.value, dropped.value, refused.value):
        assert (error.status, error.permanent) == (None, False)

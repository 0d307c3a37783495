"""What operators see of real sends against the simulators over HTTP: the /metrics values after
dispatches and reminders went out (or failed), and the structured JSON log line of every send,
carrying the booking id (and Genesys' correlation id) and never a secret."""

# Fixtures imported from tests.fixtures are parameters of the tests below.

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families

import tasks.reminders as reminder_sending
from simulators.genesys.fixture import CLIENT_SECRET
from simulators.whatsapp.fixture import ACCESS_TOKEN
from tests.fixtures.genesys_sim import genesys_sim, genesys_tenant, tenant  # noqa: F401
from tests.fixtures.whatsapp_sim import link_sender, reminder_deps, whatsapp_sim  # noqa: F401
from web.db.tables import Dispatch
from web.genesys.client import GenesysClient
from web.logs import JsonFormatter
from web.scheduling import bookings, dispatch, dispatch_budget, dispatch_send, presets, reminders
from web.scheduling.hooks import Actor

pytestmark = pytest.mark.timeout(60)

ADMIN = Actor("admin", "1")
INBOUND = r"/inbound/open/message"
DispatchOutcome = dispatch_send.Outcome
ReminderOutcome = reminder_sending.Outcome


@pytest_asyncio.fixture
async def deps(settings):
    async with GenesysClient() as client:
        yield dispatch_send.Deps(genesys=client, settings=settings)


@pytest_asyncio.fixture
async def both_tenant(genesys_tenant, whatsapp_sim, settings, clock):
    """Genesys dispatch 5 minutes before, and reminders over the WhatsApp simulator."""
    await link_sender(genesys_tenant.app_id, whatsapp_sim, settings.secret_key)
    values = {"genesys_dispatch_enabled": True, "dispatch_minutes_before": 5, "reminders": {}}
    await presets.save_preset(genesys_tenant.app_id, values, ADMIN, clock.now())
    return genesys_tenant


async def book(tenant, clock, agent, index: int, *, minutes_ahead: int = 60):
    data = bookings.NewBooking(
        guest_name=f"Guest {index}",
        guest_phone=f"+57300123456{index}",
        scheduled_at=clock.now().replace(microsecond=0) + timedelta(minutes=minutes_ahead + 30 * index),
        assigned_agent_id=agent.id,
        respect_working_hours=False,
    )
    return await bookings.create(tenant.app_id, data, ADMIN, now=clock.now())


async def send_dispatch_when_due(deps, clock, booking) -> str:
    """Move the clock to the row's next attempt and run the trigger, as the worker would."""
    row = await dispatch.live_row(booking.id)
    if row.next_attempt_at > clock.now():
        clock.advance(seconds=(row.next_attempt_at - clock.now()).total_seconds())
    return await dispatch_send.attempt(deps, row.id, row.version)


async def send_reminder_now(reminder_deps, clock, booking) -> str:
    row = await reminders.create_custom_reminder(booking.id, actor=ADMIN, now=clock.now())
    return await reminder_sending.attempt(reminder_deps, row.id, row.version)


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """Prometheus text -> {(sample name, sorted labels): value}."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def test_metrics_after_real_sends(
    app, client, signed_in, both_tenant, genesys_sim, whatsapp_sim, deps, reminder_deps, clock
):
    await signed_in("root@example.com", "correct horse", superuser=True)
    on_time, retried, refused = [await book(both_tenant, clock, both_tenant.agent, i) for i in range(3)]
    later = await book(both_tenant, clock, both_tenant.other_agent, 0, minutes_ahead=24 * 60)

    # Sent on time; sent after one 429 (Retry-After 1 s, so about a second late); refused for good.
    assert await send_dispatch_when_due(deps, clock, on_time) == DispatchOutcome.DISPATCHED
    genesys_sim.add_fault(match={"path_regex": INBOUND}, action="rate_limit", retry_after=1, times=1)
    assert await send_dispatch_when_due(deps, clock, retried) == DispatchOutcome.RETRY
    assert await send_dispatch_when_due(deps, clock, retried) == DispatchOutcome.DISPATCHED
    genesys_sim.add_fault(match={"path_regex": INBOUND}, action="forbidden", times=1)
    assert await send_dispatch_when_due(deps, clock, refused) == DispatchOutcome.FAILED
    # Reminders: two sent (one after a retry), one refused for good.
    assert await send_reminder_now(reminder_deps, clock, on_time) == ReminderOutcome.SENT
    whatsapp_sim.add_fault(action="server_error", times=1)
    assert await send_reminder_now(reminder_deps, clock, retried) == ReminderOutcome.RETRY
    clock.advance(seconds=reminder_sending.BACKOFF_CAP_SECONDS)
    [waiting] = [r for r in await reminders.reminders_of(retried.id) if r.status == "pending"]
    assert await reminder_sending.attempt(reminder_deps, waiting.id, waiting.version) == ReminderOutcome.SENT
    whatsapp_sim.add_fault(action="bad_credentials", times=1)
    assert await send_reminder_now(reminder_deps, clock, refused) == ReminderOutcome.FAILED

    response = await client.get("/metrics")
    assert response.status_code == 200
    values = samples(response.text)

    def value(name: str, **labels: str) -> float:
        return values[(name, tuple(sorted(labels.items())))]

    lateness = "punctual_dispatch_lateness_seconds"
    assert value(f"{lateness}_count") == 2
    assert value(f"{lateness}_bucket", le="0.5") == 1  # the first, sent at its time
    assert value(f"{lateness}_bucket", le="5.0") == 2  # the retried one, a second or two late
    # Each send may take a budget slot up to one slot before its due time, so count that much early.
    early = dispatch_budget.slot_seconds(dispatch_budget.DEFAULT_BUDGET_PER_MINUTE)
    assert 1.0 - 2 * early <= value(f"{lateness}_sum") < 5.0
    assert value("punctual_dispatch_sends_total", outcome="dispatched") == 2
    assert value("punctual_dispatch_sends_total", outcome="failed") == 1
    assert ("punctual_dispatch_sends_total", (("outcome", "scheduled"),)) not in values  # never tried
    assert value("punctual_reminders_total", outcome="sent") == 2
    assert value("punctual_reminders_total", outcome="failed") == 1
    assert value("punctual_retries_total", kind="dispatch") == 1
    assert value("punctual_retries_total", kind="reminder") == 1
    # The trigger of the meeting tomorrow waits in the queue.
    waiting_jobs = await app.state.queue.count("incomplete")
    assert waiting_jobs >= 1
    assert value("punctual_queue_depth", state="incomplete") == waiting_jobs
    assert await dispatch.live_row(later.id) is not None


def json_lines(records: list[logging.LogRecord]) -> list[dict]:
    """The records as the production log handler writes them, parsed back."""
    formatter = JsonFormatter()
    return [json.loads(formatter.format(record)) for record in records]


async def test_every_send_logs_the_booking_and_correlation_ids_and_no_secret(
    both_tenant, genesys_sim, whatsapp_sim, deps, reminder_deps, settings, clock, caplog
):
    caplog.set_level(logging.INFO)  # the production level (LOG_LEVEL defaults to INFO)
    delivered, refused = [await book(both_tenant, clock, both_tenant.agent, i) for i in range(2)]
    assert await send_dispatch_when_due(deps, clock, delivered) == DispatchOutcome.DISPATCHED
    genesys_sim.add_fault(match={"path_regex": INBOUND}, action="forbidden", times=1)
    assert await send_dispatch_when_due(deps, clock, refused) == DispatchOutcome.FAILED
    assert await send_reminder_now(reminder_deps, clock, delivered) == ReminderOutcome.SENT

    lines = json_lines(caplog.records)
    sends = [line for line in lines if line.get("event") == "dispatch_send"]
    row = await Dispatch.objects().get(Dispatch.booking == delivered.id)
    assert [(s["booking_id"], s["outcome"]) for s in sends] == [
        (str(delivered.id), "accepted"),
        (str(refused.id), "rejected"),
    ]
    assert sends[0]["correlation_id"] == row.correlation_id != ""
    assert sends[0]["conversation_id"] == row.conversation_id
    assert sends[0]["message_id"] == row.message_id
    assert sends[1]["correlation_id"]  # Genesys names its error too: support can look it up
    assert "lack of permissions" in sends[1]["error"]
    assert all(s["level"] in ("INFO", "WARNING") and s["logger"] == "punctual.dispatch" for s in sends)

    [reminder_send] = [line for line in lines if line.get("event") == "reminder_send"]
    assert reminder_send["booking_id"] == str(delivered.id)
    assert reminder_send["outcome"] == "accepted"
    assert reminder_send["provider_message_id"] == whatsapp_sim.messages()[0]["id"]

    everything = "\n".join(json.dumps(line) for line in lines)
    for secret in (CLIENT_SECRET, ACCESS_TOKEN, settings.secret_key):
        assert secret not in everything
    assert "Bearer" not in everything and "access_token" not in everything
    assert delivered.guest_phone not in everything

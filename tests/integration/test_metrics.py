"""/metrics: guarded, Prometheus text, numbers from the database."""

import dataclasses
import uuid
from datetime import timedelta

import httpx

from tests.conftest import Lifespan
from web import clock
from web.app import create_app
from web.db.tables import Booking, Dispatch, Reminder, User, VideoApp


async def test_metrics_require_an_administrator(client, signed_in):
    assert (await client.get("/metrics")).status_code in (302, 401)
    await signed_in("agent@example.com", "correct horse")
    assert (await client.get("/metrics")).status_code == 403


async def _booking() -> Booking:
    user = await User.objects().create(email=f"{uuid.uuid4().hex[:6]}@example.com")
    app = await VideoApp.objects().create(public_id=uuid.uuid4(), name="A")
    return await Booking.objects().create(
        app=app.id,
        assigned_agent=user.id,
        guest_name="G",
        scheduled_at=clock.now() + timedelta(hours=1),
        host_token=uuid.uuid4().hex,
        guest_token=uuid.uuid4().hex,
        confirm_token=uuid.uuid4().hex,
    )


async def test_metrics_report_lateness_outcomes_retries_and_queue(client, signed_in):
    await signed_in("root@example.com", "correct horse", superuser=True)
    booking = await _booking()
    now = clock.now()
    await Dispatch.insert(
        Dispatch(
            booking=booking.id,
            due_at=now - timedelta(seconds=10),
            status="dispatched",
            attempts=1,
            dispatched_at=now - timedelta(seconds=9.7),
            message_id="a",
        ),
        Dispatch(
            booking=booking.id,
            due_at=now - timedelta(seconds=10),
            status="dispatched",
            attempts=3,
            dispatched_at=now - timedelta(seconds=8.5),
            message_id="b",
        ),
        Dispatch(booking=booking.id, due_at=now, status="failed", attempts=4, message_id="c"),
    )
    await Reminder.insert(
        Reminder(booking=booking.id, kind="invitation", fire_at=now, status="sent", attempts=1),
        Reminder(booking=booking.id, kind="reminder_1h", fire_at=now, status="failed", attempts=3),
    )
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'punctual_dispatch_lateness_seconds_bucket{le="0.5"} 1.0' in text
    assert 'punctual_dispatch_lateness_seconds_bucket{le="2.0"} 2.0' in text
    assert "punctual_dispatch_lateness_seconds_count 2.0" in text
    assert 'punctual_dispatch_sends_total{outcome="dispatched"} 2.0' in text
    assert 'punctual_dispatch_sends_total{outcome="failed"} 1.0' in text
    assert 'punctual_reminders_total{outcome="sent"} 1.0' in text
    assert 'punctual_retries_total{kind="dispatch"} 5.0' in text
    assert 'punctual_retries_total{kind="reminder"} 2.0' in text
    assert 'punctual_queue_depth{state="queued"}' in text


async def test_metrics_bearer_token(settings):
    app = create_app(
        dataclasses.replace(settings, metrics_token="scrape-token-123"),
        run_worker=False,
        migrate_on_start=False,
    )
    async with Lifespan(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://t") as http:
            ok = await http.get("/metrics", headers={"Authorization": "Bearer scrape-token-123"})
            bad = await http.get("/metrics", headers={"Authorization": "Bearer wrong"})
    assert ok.status_code == 200
    assert "punctual_dispatch_sends_total" in ok.text or "punctual_retries_total" in ok.text
    assert bad.status_code in (302, 401)

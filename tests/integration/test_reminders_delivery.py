"""Delivering reminders when things go wrong, against the simulators over HTTP: retries with
backoff and Retry-After, final failure in plain words, permanent errors at once, the reconciler's
repairs, the worker end to end, and reminders that never wait on Genesys."""

# Fixtures imported from tests.fixtures are parameters of the tests below.

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from datetime import timedelta

import tasks.reminders as sending
from simulators.whatsapp.fixture import ACCESS_TOKEN, PHONE_NUMBER_ID
from tests.fixtures.api import api  # noqa: F401
from tests.fixtures.genesys_sim import genesys_sim, provision  # noqa: F401
from tests.fixtures.whatsapp_sim import (  # noqa: F401
    link_sender,
    reminder_deps,
    tenant,
    whatsapp_sim,
    whatsapp_tenant,
)
from web.db.tables import Reminder, ReminderStatus, User, VideoApp
from web.genesys.client import GenesysClient
from web.scheduling import bookings, dispatch, dispatch_send, jobs, presets, reminders
from web.scheduling.hooks import Actor
from web.seeding import seed_file

ADMIN = Actor("admin", "1")
PHONE = "+573001234567"


async def book(tenant, clock, *, hours_ahead: float = 30):
    data = bookings.NewBooking(
        guest_name="Jane Doe",
        guest_phone=PHONE,
        scheduled_at=clock.now().replace(microsecond=0) + timedelta(hours=hours_ahead),
        assigned_agent_id=tenant.agent.id,
        respect_working_hours=False,
    )
    return await bookings.create(tenant.app_id, data, ADMIN, now=clock.now())


async def custom(booking, clock) -> Reminder:
    return await reminders.create_custom_reminder(booking.id, actor=ADMIN, now=clock.now())


async def reread(row) -> Reminder:
    return await Reminder.objects().get(Reminder.id == row.id)


async def events(booking, event_type):
    return [e for e in await bookings.timeline(booking.id) if e.event_type == event_type]


# --- retries and failures ---------------------------------------------------------------------------------


async def test_a_rate_limit_is_retried_after_its_retry_after(
    whatsapp_tenant, whatsapp_sim, reminder_deps, clock
):
    whatsapp_sim.add_fault(action="rate_limit", retry_after=30, times=1)
    booking = await book(whatsapp_tenant, clock)
    row = await custom(booking, clock)

    assert await sending.attempt(reminder_deps, row.id, row.version) == sending.Outcome.RETRY
    waiting = await reread(row)
    assert waiting.status == ReminderStatus.pending
    assert waiting.attempts == 1
    assert "rate limiting" in waiting.last_error
    assert timedelta(seconds=29) < waiting.fire_at - clock.now() <= timedelta(seconds=30)
    # Not before its time...
    assert await sending.attempt(reminder_deps, row.id, waiting.version) == sending.Outcome.EARLY
    # ...and sent once it has come.
    clock.advance(seconds=30)
    assert await sending.attempt(reminder_deps, row.id, waiting.version) == sending.Outcome.SENT
    sent = await reread(row)
    assert (sent.status, sent.attempts, sent.last_error) == (ReminderStatus.sent, 2, "")
    assert len(whatsapp_sim.requests()) == 2
    assert len(whatsapp_sim.messages()) == 1
    [event] = await events(booking, "reminder_sent")
    assert event.payload["attempts"] == 2


async def test_three_transient_failures_end_in_failed_with_the_error_in_plain_words(
    whatsapp_tenant, whatsapp_sim, reminder_deps, clock
):
    whatsapp_sim.add_fault(action="server_error")
    booking = await book(whatsapp_tenant, clock)
    row = await custom(booking, clock)
    delays = []
    for expected in (sending.Outcome.RETRY, sending.Outcome.RETRY, sending.Outcome.FAILED):
        current = await reread(row)
        if current.fire_at > clock.now():
            delays.append(round((current.fire_at - clock.now()).total_seconds()))
            clock.advance(seconds=(current.fire_at - clock.now()).total_seconds())
        assert await sending.attempt(reminder_deps, row.id, current.version) == expected

    assert delays == [5, 10]  # backoff between the attempts
    failed = await reread(row)
    assert (failed.status, failed.attempts) == (ReminderStatus.failed, 3)
    assert len(whatsapp_sim.requests()) == 3
    assert whatsapp_sim.messages() == []
    [event] = await events(booking, "reminder_failed")
    assert event.payload == {
        "reminder_id": str(row.id),
        "kind": "custom",
        "channel": "whatsapp",
        "attempts": 3,
        "error": "WhatsApp had a temporary problem (500, code 131000)",
    }


async def test_a_refused_token_fails_at_once(whatsapp_tenant, whatsapp_sim, reminder_deps, clock):
    whatsapp_sim.add_fault(action="bad_credentials")
    booking = await book(whatsapp_tenant, clock)
    row = await custom(booking, clock)

    assert await sending.attempt(reminder_deps, row.id, row.version) == sending.Outcome.FAILED
    assert len(whatsapp_sim.requests()) == 1
    [event] = await events(booking, "reminder_failed")
    assert event.payload["error"] == "WhatsApp refused the access token of the sender (expired or revoked)"
    assert event.payload["attempts"] == 1


async def test_a_template_the_provider_does_not_know_fails_at_once(
    tenant, whatsapp_sim, reminder_deps, settings, clock
):
    templates = {"custom": {"name": "no_such_template", "language": "en", "params": ["join_link"]}}
    await link_sender(tenant.app_id, whatsapp_sim, settings.secret_key, templates=templates)
    booking = await book(tenant, clock)
    row = await custom(booking, clock)

    assert await sending.attempt(reminder_deps, row.id, row.version) == sending.Outcome.FAILED
    [event] = await events(booking, "reminder_failed")
    assert event.payload["error"].startswith("WhatsApp refused the template:")
    assert "no_such_template" in event.payload["error"]


async def test_a_kind_without_template_or_an_app_without_sender_fails_without_calling(
    tenant, whatsapp_sim, reminder_deps, settings, clock
):
    booking = await book(tenant, clock)
    row = await custom(booking, clock)
    assert await sending.attempt(reminder_deps, row.id, row.version) == sending.Outcome.FAILED
    [event] = await events(booking, "reminder_failed")
    assert event.payload["error"] == "No WhatsApp sender is linked to this video app."

    await link_sender(tenant.app_id, whatsapp_sim, settings.secret_key, templates={})
    row = await custom(booking, clock)
    assert await sending.attempt(reminder_deps, row.id, row.version) == sending.Outcome.FAILED
    last = (await events(booking, "reminder_failed"))[-1]
    assert last.payload["error"] == "The WhatsApp sender has no template for 'custom' reminders."
    assert whatsapp_sim.requests() == []


async def test_a_dropped_connection_is_retried(whatsapp_tenant, whatsapp_sim, reminder_deps, clock):
    whatsapp_sim.add_fault(action="drop_connection", times=1)
    booking = await book(whatsapp_tenant, clock)
    row = await custom(booking, clock)
    assert await sending.attempt(reminder_deps, row.id, row.version) == sending.Outcome.RETRY
    current = await reread(row)
    clock.advance(seconds=(current.fire_at - clock.now()).total_seconds())
    assert await sending.attempt(reminder_deps, row.id, current.version) == sending.Outcome.SENT
    assert len(whatsapp_sim.messages()) == 1


# --- Genesys never holds a reminder back -------------------------------------------------------------------


async def test_with_genesys_failing_every_reminder_still_goes_out(
    whatsapp_tenant, whatsapp_sim, genesys_sim, reminder_deps, settings, clock
):
    tenant = whatsapp_tenant
    await provision(tenant.app_id, genesys_sim, settings.secret_key)
    kinds = ("invitation", "reminder_24h", "reminder_1h", "reminder_15m", "cancellation")
    await presets.save_preset(
        tenant.app_id,
        {
            "genesys_dispatch_enabled": True,
            "dispatch_minutes_before": 5,
            "reminders": {kind: ["whatsapp", "genesys"] for kind in kinds},
        },
        ADMIN,
        clock.now(),
    )
    genesys_sim.add_fault(action="bad_credentials")  # every Genesys call is refused
    booking = await book(tenant, clock, hours_ahead=26)

    async with GenesysClient() as genesys:
        deps = dispatch_send.Deps(genesys=genesys, settings=settings)
        timed = sorted(
            [r for r in await reminders.reminders_of(booking.id) if r.status == ReminderStatus.pending],
            key=lambda r: r.fire_at,
        )
        assert [r.kind for r in timed] == ["invitation", "reminder_24h", "reminder_1h", "reminder_15m"]
        for row in timed:
            clock.advance(seconds=max(0.0, (row.fire_at - clock.now()).total_seconds()))
            assert await sending.attempt(reminder_deps, row.id, row.version) == sending.Outcome.SENT
        # The pre-meeting dispatch, due five minutes before the start, fails for good...
        live = await dispatch.live_row(booking.id)
        clock.advance(seconds=(live.next_attempt_at - clock.now()).total_seconds())
        assert await dispatch_send.attempt(deps, live.id, live.version) == dispatch_send.Outcome.FAILED
    assert await events(booking, "pre_meeting_failed")

    # ...and the customer still hears about the cancellation.
    await bookings.cancel(booking.id, ADMIN, now=clock.now(), reason="Agent unavailable")
    [notice] = [r for r in await reminders.reminders_of(booking.id) if r.kind == "cancellation"]
    assert await sending.attempt(reminder_deps, notice.id, notice.version) == sending.Outcome.SENT
    assert whatsapp_sim.templates_sent(PHONE) == [
        "meeting_invitation",
        "meeting_reminder_24h",
        "meeting_reminder_1h",
        "meeting_reminder_15m",
        "meeting_cancellation",
    ]
    assert len(await events(booking, "reminder_sent")) == 5


# --- a sender from the seed file -------------------------------------------------------------------------


async def test_a_sender_from_the_seed_file_sends_the_reminders_it_names(
    app, whatsapp_sim, reminder_deps, settings, clock, tmp_path
):
    document = {
        "users": [{"email": "ana@example.com", "name": "Ana Agent", "password": "ana-password-1"}],
        "apps": [
            {
                "name": "Seeded clinic",
                "timezone": "America/Bogota",
                "members": [{"email": "ana@example.com"}],
                "preset": {"reminders": {"invitation": ["whatsapp"], "reminder_1h": ["whatsapp"]}},
                # Templates as the seed file gives them: no variables, so the standard ones apply.
                "whatsapp": {
                    "base_url": whatsapp_sim.url,
                    "phone_number_id": PHONE_NUMBER_ID,
                    "access_token": ACCESS_TOKEN,
                    "templates": {
                        "invitation": {"name": "meeting_invitation", "language": "en"},
                        "reminder_1h": {"name": "meeting_reminder_1h", "language": "en"},
                    },
                },
            }
        ],
    }
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    await seed_file(settings, path)
    seeded = await VideoApp.objects().get(VideoApp.name == "Seeded clinic")
    ana = await User.objects().get(User.email == "ana@example.com")
    data = bookings.NewBooking(
        guest_name="Jane Doe",
        guest_phone=PHONE,
        scheduled_at=clock.now().replace(microsecond=0) + timedelta(hours=30),
        assigned_agent_id=ana.id,
        respect_working_hours=False,
    )
    booking = await bookings.create(seeded.id, data, ADMIN, now=clock.now())

    for row in sorted(await reminders.reminders_of(booking.id), key=lambda r: r.fire_at):
        clock.advance(seconds=max(0.0, (row.fire_at - clock.now()).total_seconds()))
        assert await sending.attempt(reminder_deps, row.id, row.version) == sending.Outcome.SENT
    invitation, hour_before = whatsapp_sim.messages(PHONE)
    assert (invitation["template"], hour_before["template"]) == ("meeting_invitation", "meeting_reminder_1h")
    assert invitation["parameters"][0] == "Jane Doe"
    assert invitation["parameters"][1].endswith("(America/Bogota)")
    assert hour_before["parameters"][2].endswith(f"/rooms/{booking.guest_token}")


# --- repairs and the worker ---------------------------------------------------------------------------------


async def test_the_reconciler_re_enqueues_lost_triggers_and_resends_stuck_rows(
    app, whatsapp_tenant, whatsapp_sim, reminder_deps, clock
):
    await presets.save_preset(
        whatsapp_tenant.app_id, {"reminders": {"reminder_1h": ["whatsapp"]}}, ADMIN, clock.now()
    )
    booking = await book(whatsapp_tenant, clock, hours_ahead=1.5)
    planned = (await reminders.reminders_of(booking.id))[0]
    queue = app.state.queue
    key = reminders.send_key(planned.id, planned.version)
    assert await queue.job(key) is not None  # the trigger planned with the booking

    # Redis loses everything; half an hour later the row is due within the hour: enqueued again.
    await queue.redis.flushdb()
    clock.advance(minutes=31)
    report = await reminders.repair_reminders(clock.now())
    assert report["enqueued"] == 1
    assert await queue.job(key) is not None

    # A runner claims the row and dies before it hears back: a minute later the row is sent again.
    stuck_version = planned.version + 1
    await Reminder.update(
        {
            Reminder.status: ReminderStatus.sending,
            Reminder.version: stuck_version,
            Reminder.updated_at: clock.now(),
        }
    ).where(Reminder.id == planned.id)
    assert (await reminders.repair_reminders(clock.now()))["resumed"] == 0  # still in its minute
    clock.advance(seconds=61)
    assert (await reminders.repair_reminders(clock.now()))["resumed"] == 1
    resumed = await reread(planned)
    assert (resumed.status, resumed.version) == (ReminderStatus.pending, stuck_version + 1)
    assert await queue.job(reminders.send_key(planned.id, resumed.version)) is not None
    clock.advance(seconds=(resumed.fire_at - clock.now()).total_seconds())
    assert await sending.attempt(reminder_deps, planned.id, resumed.version) == sending.Outcome.SENT


async def test_a_reminder_further_than_an_hour_away_gets_its_trigger_from_the_reconciler(
    app, whatsapp_tenant, clock
):
    await presets.save_preset(
        whatsapp_tenant.app_id, {"reminders": {"reminder_1h": ["whatsapp"]}}, ADMIN, clock.now()
    )
    booking = await book(whatsapp_tenant, clock, hours_ahead=3)
    planned = (await reminders.reminders_of(booking.id))[0]
    key = reminders.send_key(planned.id, planned.version)
    assert await app.state.queue.job(key) is None  # due in two hours: no trigger in Redis yet

    clock.advance(minutes=59)
    assert (await reminders.repair_reminders(clock.now()))["enqueued"] == 0
    clock.advance(minutes=2)
    assert (await reminders.repair_reminders(clock.now()))["enqueued"] == 1
    assert await app.state.queue.job(key) is not None


async def test_the_reconciler_runs_the_reminder_repair(app, whatsapp_tenant, clock, settings):
    from tasks import reconcile

    assert sending.repair in reconcile.REPAIRS
    booking = await book(whatsapp_tenant, clock)
    row = await custom(booking, clock)
    await app.state.queue.redis.flushdb()
    async with GenesysClient() as genesys:
        await reconcile.reconcile(dispatch_send.Deps(genesys=genesys, settings=settings), clock.now())
    assert await app.state.queue.job(reminders.send_key(row.id, row.version)) is not None


@contextlib.asynccontextmanager
async def running_worker(app, settings):
    """The real saq worker on the app's queue, in this loop (as the in-process worker runs)."""
    from tasks.worker import build_worker

    worker = build_worker(settings, app.state.queue, web_app=app)
    task = asyncio.create_task(worker.start())
    try:
        yield worker
    finally:
        await worker.stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_custom_reminder_goes_out_within_seconds_through_the_worker(
    app, whatsapp_tenant, whatsapp_sim, settings, clock
):
    assert jobs.current_queue() is app.state.queue
    booking = await book(whatsapp_tenant, clock)
    async with running_worker(app, settings):
        row = await custom(booking, clock)
        for _ in range(100):  # until the row says sent (the message is out before that)
            if (await reread(row)).status == ReminderStatus.sent:
                break
            await asyncio.sleep(0.05)
    assert whatsapp_sim.templates_sent(PHONE) == ["meeting_custom"]
    assert (await reread(row)).status == ReminderStatus.sent


async def test_a_reminder_asked_for_through_the_api_reaches_the_customer_within_seconds(
    app, api, whatsapp_tenant, whatsapp_sim, settings, clock
):
    booking = await book(whatsapp_tenant, clock)
    async with running_worker(app, settings):
        asked_at = time.monotonic()
        path = f"/scheduled-calls/{booking.id}/reminders"
        response = await api.post(path, json={"kind": "reminder_custom"})
        assert response.status_code == 202, response.text
        reminder_id = response.json()["data"]["reminder"]["id"]
        for _ in range(100):  # until the row says sent (the message is out before that)
            if (await Reminder.objects().get(Reminder.id == reminder_id)).status == ReminderStatus.sent:
                break
            await asyncio.sleep(0.05)
        took = time.monotonic() - asked_at

    assert took < 5
    reminder = response.json()["data"]["reminder"]
    assert (reminder["reminder_kind"], reminder["status"]) == ("custom", "pending")
    [message] = whatsapp_sim.messages(PHONE)
    assert message["template"] == "meeting_custom"
    assert message["parameters"] == [f"http://localhost:8000/rooms/{booking.guest_token}"]
    row = await Reminder.objects().get(Reminder.id == reminder["id"])
    assert (row.status, row.provider_message_id) == (ReminderStatus.sent, message["id"])
    [event] = await events(booking, "reminder_sent")
    assert event.payload["reminder_id"] == reminder["id"]

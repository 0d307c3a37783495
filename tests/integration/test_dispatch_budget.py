"""A tenant's sends stay under its Genesys budget: a crowded minute starts early, never late."""

# Fixtures imported from tests.fixtures are parameters of the tests below.

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from tests.fixtures.genesys_sim import genesys_sim, genesys_tenant, tenant  # noqa: F401
from tests.fixtures.scheduling import new_user
from web.db.tables import Dispatch, GenesysSettings, Membership, Role
from web.scheduling import bookings, presets
from web.scheduling.dispatch_budget import pick_send_time
from web.scheduling.hooks import Actor

ADMIN = Actor("admin", "1")


def max_in_any_minute(times: list[datetime]) -> int:
    ordered = sorted(times)
    best, start = 0, 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= timedelta(seconds=60):
            start += 1
        best = max(best, end - start + 1)
    return best


def test_a_thousand_sends_due_in_one_minute_fit_the_budget_and_none_is_late():
    now = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
    due = [now + timedelta(minutes=30, seconds=i % 60) for i in range(1000)]
    taken: list[datetime] = []
    for due_at in due:
        taken.append(pick_send_time(due_at, now, taken, 240))

    assert len(set(taken)) == 1000
    assert max_in_any_minute(taken) <= 240
    assert all(sent <= due_at for sent, due_at in zip(taken, due, strict=True))
    assert all(sent >= now for sent in taken)


def test_an_uncrowded_send_goes_at_its_due_time():
    now = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
    due = now + timedelta(minutes=10, seconds=7, microseconds=300_000)
    sent = pick_send_time(due, now, [], 240)
    assert timedelta(0) <= due - sent < timedelta(seconds=0.25)


def test_a_due_time_in_the_past_is_sent_now_not_skipped():
    now = datetime(2026, 5, 4, 12, 0, 0, 100_000, tzinfo=UTC)
    sent = pick_send_time(now - timedelta(minutes=3), now, [], 240)
    assert now <= sent < now + timedelta(seconds=0.25)


async def test_planning_spreads_a_crowded_minute_under_the_tenant_budget(genesys_tenant, clock):
    await GenesysSettings.update({GenesysSettings.dispatch_budget_per_minute: 10}).where(
        GenesysSettings.app == genesys_tenant.app_id
    )
    await presets.save_preset(
        genesys_tenant.app_id,
        {"genesys_dispatch_enabled": True, "dispatch_minutes_before": 5},
        ADMIN,
        clock.now(),
    )
    start = clock.now().replace(second=0, microsecond=0) + timedelta(hours=2)
    for n in range(25):
        agent = await new_user(f"agent{n}-{uuid.uuid4().hex[:6]}@example.com", "agent password 1")
        await Membership(
            app=genesys_tenant.app_id, user=agent.id, role=Role.agent, genesys_user_id=f"genesys-agent-{n}"
        ).save()
        data = bookings.NewBooking(
            guest_name=f"Guest {n}",
            guest_email=f"guest{n}@example.com",
            scheduled_at=start,
            assigned_agent_id=agent.id,
            respect_working_hours=False,
        )
        await bookings.create(genesys_tenant.app_id, data, ADMIN, now=clock.now())

    rows = await Dispatch.objects().where(Dispatch.live_key.is_not_null())
    assert len(rows) == 25
    sends = [r.next_attempt_at for r in rows]
    assert max_in_any_minute(sends) <= 10
    due = start - timedelta(minutes=5)
    assert all(sent <= due for sent in sends)
    assert min(sends) >= due - timedelta(minutes=3)  # started early enough, not earlier than needed

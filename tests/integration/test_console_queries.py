"""Console pages issue a bounded number of SQL queries, whatever the amount of data they show.

Queries are counted at the Piccolo engine: every statement of every table goes through its
`run_querystring`, so wrapping it sees exactly what the database sees."""

from __future__ import annotations

import contextlib
import secrets
import uuid
from collections.abc import Iterator
from datetime import timedelta

from tests.fixtures.console import login_as, text_of
from tests.fixtures.scheduling import at_local, new_user, next_workday, tenant  # noqa: F401
from web.db.engine import current_engine
from web.db.tables import Booking, BookingEvent, Dispatch, Membership, Notification, Preset, User

# Generous enough for the chrome, the session's user and the page's own reads; far below one
# query per row, which is what these tests exist to catch.
MAX_QUERIES = 15


@contextlib.contextmanager
def counted_queries() -> Iterator[list[str]]:
    """The SQL statements run while the block is open. The engine class uses slots, so the
    method is wrapped on the class, and put back on leaving."""
    engine_class = type(current_engine())
    original = engine_class.run_querystring
    seen: list[str] = []

    async def counting(self, querystring, *args, **kwargs):
        seen.append(str(querystring))
        return await original(self, querystring, *args, **kwargs)

    engine_class.run_querystring = counting
    try:
        yield seen
    finally:
        engine_class.run_querystring = original


async def queries_for(client, url: str) -> tuple[int, str]:
    with counted_queries() as seen:
        page = await client.get(url)
    assert page.status_code == 200, page.text[:500]
    return len(seen), page.text


async def add_week_of_bookings(tenant, monday, count: int, *, start_index: int = 0) -> list[Booking]:
    """`count` back-to-back 30-minute meetings for Ana from Monday 00:00 local, in one insert,
    every other one with a live pre-meeting dispatch row."""
    rows = [
        Booking(
            id=uuid.uuid4(),
            app=tenant.app_id,
            assigned_agent=tenant.agent.id,
            booking_source="admin",
            guest_name=f"Guest {i:03d}",
            guest_phone="+573001112233",
            scheduled_at=at_local(monday, 0) + timedelta(minutes=30 * i),
            duration_minutes=30,
            app_timezone=tenant.timezone,
            status="scheduled",
            host_token=secrets.token_urlsafe(16),
            guest_token=secrets.token_urlsafe(16),
            confirm_token=secrets.token_urlsafe(16),
        )
        for i in range(start_index, start_index + count)
    ]
    await Booking.insert(*rows)
    dispatches = [
        Dispatch(
            booking=b.id,
            live_key=str(b.id),
            due_at=b.scheduled_at - timedelta(minutes=5),
            next_attempt_at=b.scheduled_at - timedelta(minutes=5),
            status="failed" if i % 4 == 0 else "scheduled",
            message_id=f"m-{b.id}",
            last_error="Genesys refused the message" if i % 4 == 0 else "",
        )
        for i, b in enumerate(rows)
        if i % 2 == 0
    ]
    await Dispatch.insert(*dispatches)
    return rows


async def test_my_schedules_queries_do_not_grow_with_the_bookings_of_the_week(client, tenant, clock):
    await Preset.update({Preset.genesys_dispatch_enabled: True}).where(Preset.app == tenant.app_id)
    monday = next_workday(clock.now(), days_ahead=7)
    monday -= timedelta(days=monday.weekday())
    url = f"/my-schedules?app={tenant.public_id}&week={monday.isoformat()}"
    await add_week_of_bookings(tenant, monday, 20)
    await login_as(client, tenant.agent, tenant.agent_password)

    few, page = await queries_for(client, url)
    assert "20 meetings this week." in text_of(page)

    await add_week_of_bookings(tenant, monday, 180, start_index=20)
    many, page = await queries_for(client, url)
    assert "200 meetings this week." in text_of(page)
    assert page.count('class="card booking-card"') == 200

    assert many == few, f"{few} queries for 20 bookings, {many} for 200"
    assert many <= MAX_QUERIES


async def test_booking_detail_queries_do_not_grow_with_the_timeline(client, tenant, clock):
    monday = next_workday(clock.now(), days_ahead=7)
    [booking] = await add_week_of_bookings(tenant, monday, 1)
    url = f"/bookings/{booking.id}"

    async def add_events(n: int) -> None:
        await BookingEvent.insert(
            *[
                BookingEvent(
                    booking=booking.id,
                    event_type="updated",
                    actor_type="admin",
                    actor_id=str(tenant.admin.id),
                    payload={"fields": ["intake_notes"], "note": f"note {i}"},
                    created_at=clock.now() + timedelta(seconds=i),
                )
                for i in range(n)
            ]
        )

    await add_events(3)
    await login_as(client, tenant.agent, tenant.agent_password)
    few, _ = await queries_for(client, url)
    await add_events(100)
    many, page = await queries_for(client, url)
    assert page.count("<li") >= 100
    assert many == few, f"{few} queries for 3 events, {many} for 103"
    assert many <= MAX_QUERIES


async def test_master_view_members_and_notifications_stay_bounded(client, tenant, clock):
    monday = next_workday(clock.now(), days_ahead=7)
    await add_week_of_bookings(tenant, monday, 10)
    await login_as(client, tenant.admin, tenant.admin_password)
    base = f"/apps/{tenant.public_id}"
    pages = (base, f"{base}/bookings", f"{base}/members", "/notifications")
    before = {url: (await queries_for(client, url))[0] for url in pages}

    await add_week_of_bookings(tenant, monday, 150, start_index=10)
    for i in range(30):
        user = await new_user(f"agent{i}-{uuid.uuid4().hex[:4]}@example.com", "agent password 1")
        await Membership(app=tenant.app_id, user=user.id, role="agent", timezone=tenant.timezone).save()
    await Notification.insert(
        *[
            Notification(recipient=tenant.admin.id, kind="info", text=f"Notice {i}", link="/apps")
            for i in range(60)
        ]
    )
    after = {url: (await queries_for(client, url))[0] for url in pages}

    assert after == before
    assert max(after.values()) <= MAX_QUERIES
    assert await User.count() >= 33

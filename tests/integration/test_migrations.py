"""Migrations apply on the engine under test and are idempotent."""

import contextlib
import uuid
from datetime import UTC, datetime

import pytest

from web.db import engine as db
from web.db.tables import Booking, Dispatch, User, VideoApp


@pytest.fixture
async def opened(database_url):
    await db.open_database()
    yield
    await db.close_database()


async def test_schema_is_usable_and_migrate_is_idempotent(opened):
    with contextlib.redirect_stdout(None):
        await db.migrate()  # already applied: nothing to do, still a success
    for table in (User, VideoApp, Booking, Dispatch):
        assert await table.table_exists()
    assert await User.count() == 0


async def test_migrations_build_a_fresh_sqlite_database(tmp_path):
    db.use_database(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    with contextlib.redirect_stdout(None):
        await db.migrate()
    assert await Booking.table_exists()
    assert await Dispatch.count() == 0


async def test_only_one_live_dispatch_per_booking(opened):
    user = await User.objects().create(email="a@example.com")
    app = await VideoApp.objects().create(public_id=uuid.uuid4(), name="A")
    booking = await Booking.objects().create(
        app=app.id,
        assigned_agent=user.id,
        guest_name="G",
        scheduled_at=datetime.now(UTC),
        host_token="h",
        guest_token="g",
        confirm_token="c",
    )
    live = {"booking": booking.id, "live_key": str(booking.id), "due_at": booking.scheduled_at}
    await Dispatch.objects().create(**live, message_id="m1")
    with pytest.raises(Exception, match=r"(?i)unique"):
        await Dispatch.objects().create(**live, message_id="m2")

"""Redis loses everything while messages are pending: its data flushed, or the server restarted
without persistence. Each meeting has a pre-meeting dispatch to Genesys and a WhatsApp reminder
due at the same moment. The database rows are the truth; the worker's reconciler re-creates the
lost triggers (or sends what is already due) and every message still goes out exactly once."""

from __future__ import annotations

import dataclasses

import pytest
import redis

from tests.reliability.harness import PrivateRedis
from tests.reliability.scenario import (
    all_reminders_settled,
    all_settled,
    assert_delivered_exactly_once,
    assert_reminded_exactly_once,
    book_due_soon,
    eventually,
)

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(75)]

MEETINGS = 4
# The reconciler runs every 15 s and takes a trigger as lost 5 s after its time.
RECOVERY_SECONDS = 40


@pytest.fixture
def private_redis():
    with PrivateRedis() as server:
        yield server


@pytest.fixture
def settings(settings, private_redis):
    """The test's app and its worker on a Redis of their own, which these cases break."""
    return dataclasses.replace(settings, redis_url=private_redis.url)


def saq_keys(url: str) -> list[bytes]:
    client = redis.Redis.from_url(url)
    try:
        return [k for k in client.scan_iter("saq:*") if b"cron" not in k]
    finally:
        client.close()


async def everything_sent(made) -> bool:
    return await all_settled(made) and await all_reminders_settled(made)


async def test_redis_flushed_while_dispatches_and_reminders_are_pending(
    reminding_tenant, genesys_sim, whatsapp_sim, private_redis, start_worker
):
    made = await book_due_soon(reminding_tenant, MEETINGS, due_in=8, remind=True)
    worker = start_worker()
    assert saq_keys(private_redis.url), "the triggers should be in Redis before the flush"

    client = redis.Redis.from_url(private_redis.url)
    client.flushdb()
    client.close()

    await eventually(lambda: everything_sent(made), RECOVERY_SECONDS, "every message to be sent")
    await assert_delivered_exactly_once(genesys_sim, made)
    await assert_reminded_exactly_once(whatsapp_sim, made)
    assert worker.process.poll() is None


async def test_redis_restarted_empty_while_dispatches_and_reminders_are_pending(
    reminding_tenant, genesys_sim, whatsapp_sim, private_redis, start_worker
):
    made = await book_due_soon(reminding_tenant, MEETINGS, due_in=8, remind=True)
    worker = start_worker()

    assert saq_keys(private_redis.url), "the triggers should be in Redis before the restart"
    client = redis.Redis.from_url(private_redis.url)
    client.set("sentinel", "1")
    client.close()

    private_redis.restart(down_seconds=2)
    # It came back with nothing (the worker may already be re-creating triggers, so look at our key).
    client = redis.Redis.from_url(private_redis.url)
    assert client.get("sentinel") is None
    client.close()

    await eventually(lambda: everything_sent(made), RECOVERY_SECONDS, "every message to be sent")
    await assert_delivered_exactly_once(genesys_sim, made)
    await assert_reminded_exactly_once(whatsapp_sim, made)
    assert worker.process.poll() is None, "the worker must ride out the outage"

"""The worker's short tenant cache: one load for a burst of concurrent sends, nothing kept that is
missing, and a fresh load once the entry is older than its lifetime."""

import asyncio

import pytest

from web.scheduling.dispatch_send import TenantCache

pytestmark = pytest.mark.timeout(10)


def counting(value):
    calls = []

    async def load():
        calls.append(1)
        await asyncio.sleep(0)
        return value

    return load, calls


async def test_concurrent_sends_share_one_load():
    cache = TenantCache(seconds=60)
    load, calls = counting("tenant")
    got = await asyncio.gather(*(cache.get(("genesys", 1), load) for _ in range(50)))
    assert got == ["tenant"] * 50
    assert len(calls) == 1
    assert await cache.get(("genesys", 1), load) == "tenant" and len(calls) == 1
    other, other_calls = counting("second app")
    assert await cache.get(("genesys", 2), other) == "second app" and len(other_calls) == 1


async def test_missing_is_looked_up_again():
    cache = TenantCache(seconds=60)
    load, calls = counting(None)
    assert await cache.get(("genesys", 1), load) is None
    assert await cache.get(("genesys", 1), load) is None
    assert len(calls) == 2


async def test_expired_entry_is_loaded_again():
    cache = TenantCache(seconds=0)
    load, calls = counting("tenant")
    await cache.get(("genesys", 1), load)
    await cache.get(("genesys", 1), load)
    assert len(calls) == 2


async def test_a_failed_load_is_not_kept():
    cache = TenantCache(seconds=60)

    async def broken():
        raise RuntimeError("database gone")

    with pytest.raises(RuntimeError):
        await cache.get(("genesys", 1), broken)
    load, calls = counting("tenant")
    assert await cache.get(("genesys", 1), load) == "tenant" and len(calls) == 1

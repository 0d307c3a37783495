"""Fixtures of the reliability cases: worker subprocesses stopped at teardown, a Genesys client for
in-process reconciler passes, and the simulator-backed tenant (also on WhatsApp, for reminders)."""

from __future__ import annotations

import pytest
import pytest_asyncio

from tests.fixtures.genesys_sim import genesys_sim, genesys_tenant, tenant  # noqa: F401
from tests.fixtures.whatsapp_sim import link_sender, whatsapp_sim  # noqa: F401
from tests.reliability.harness import WorkerProcess
from web.genesys.client import GenesysClient
from web.scheduling import dispatch_send


@pytest.fixture
def start_worker(settings, tmp_path):
    """Start `punctual worker` subprocesses for this test; all are stopped at teardown."""
    started: list[WorkerProcess] = []

    def start(**kwargs) -> WorkerProcess:
        worker = WorkerProcess(settings, tmp_path, **kwargs).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest_asyncio.fixture
async def deps(settings):
    """What an in-process reconciler pass needs (a real Genesys client, over HTTP)."""
    async with GenesysClient() as client:
        yield dispatch_send.Deps(genesys=client, settings=settings)


@pytest_asyncio.fixture
async def reminding_tenant(genesys_tenant, whatsapp_sim, settings):
    """`genesys_tenant` whose app also sends its WhatsApp reminders to `whatsapp_sim`."""
    await link_sender(genesys_tenant.app_id, whatsapp_sim, settings.secret_key)
    return genesys_tenant

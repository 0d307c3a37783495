"""Fixtures for the simulator tests: an in-process simulator and httpx clients bound to it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from simulators.genesys.app import create_app
from tests.simulators.sim_helpers import client_token

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    # Playwright's sync API leaves an event loop running in the main thread, and asyncio tests
    # collected after a browser test then fail to start: run this directory's browser tests last.
    browser = [item for item in items if "e2e" in item.keywords and HERE in item.path.parents]
    if browser:
        ids = {id(item) for item in browser}
        items[:] = [item for item in items if id(item) not in ids] + browser


@pytest.fixture
def sim():
    return create_app()


@pytest.fixture
async def client(sim):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim), base_url="http://sim") as http:
        yield http


@pytest.fixture
async def api(client):
    """Authorization headers of a client-credentials token of the demo org."""
    return {"Authorization": f"Bearer {await client_token(client)}"}

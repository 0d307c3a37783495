"""PostgreSQL restarts while a worker is sending pre-meeting messages and the web is answering. While
the database is down, /readyz answers 503 naming it; afterwards the web is ready again on its own
and every meeting still gets exactly one interaction: sends cut off mid-way are finished with the
same messageId (threading into the same conversation), lost triggers are re-created from the rows."""

from __future__ import annotations

import asyncio

import pytest

from tasks import reconcile
from tests.conftest import run
from tests.reliability.harness import PrivatePostgres, postgres_binaries
from tests.reliability.scenario import (
    all_settled,
    assert_delivered_exactly_once,
    book_due_soon,
    dispatch_rows,
    eventually,
)
from web.db import engine as db
from web.db.tables import DispatchStatus

pytestmark = [
    pytest.mark.reliability,
    pytest.mark.own_database,
    pytest.mark.timeout(90),
    pytest.mark.skipif(postgres_binaries() is None, reason="PostgreSQL server binaries are not installed"),
]

MEETINGS = 8
DOWN_SECONDS = 3.0


@pytest.fixture
def private_postgres():
    server = PrivatePostgres()
    try:
        server.start()
        server.create_database()
        yield server
    finally:
        server.destroy()


@pytest.fixture
def database_url(private_postgres) -> str:
    """The test's app, its data and its worker on a PostgreSQL of their own, which this case stops."""
    url = private_postgres.url
    db.use_database(url)
    run(db.migrate())
    return url


async def readiness(client) -> tuple[int, dict]:
    response = await client.get("/readyz")
    return response.status_code, response.json()


async def test_postgres_restarted_while_dispatches_are_due(
    client, genesys_tenant, genesys_sim, private_postgres, start_worker, deps, clock
):
    assert (await readiness(client))[0] == 200
    # Due one after the other from 6 s on; the outage starts once the first has gone out.
    made = await book_due_soon(genesys_tenant, MEETINGS, due_in=6, spread=0.5)
    worker = start_worker()

    async def first_sent() -> bool:
        return any(r.status == DispatchStatus.dispatched for r in await dispatch_rows(made))

    await eventually(first_sent, 20, "the first dispatch to go out")
    down_at = clock.now()
    private_postgres.stop()
    status, body = await readiness(client)
    assert status == 503
    assert body["failing"] == ["database"]
    assert body["checks"]["database"].startswith("unavailable")
    assert body["checks"]["redis"] == "ok"
    await asyncio.sleep(DOWN_SECONDS)  # meetings fall due while it is down
    private_postgres.start()
    up_at = clock.now()

    async def ready() -> bool:
        return (await readiness(client))[0] == 200

    await eventually(ready, 15, "/readyz to recover")

    # The reconciler's next pass, once the last meeting is due (the worker runs its own on its
    # beat, alongside: only one runner ever claims a row): triggers that fired into the outage
    # are gone, so it sends those rows; a send whose outcome could not be written stays
    # `sending` and is finished, a minute later, with the same messageId.
    last_due = max(r.due_at for r in await dispatch_rows(made))
    await asyncio.sleep(max(0.0, (last_due + reconcile.LOST_TRIGGER_AFTER - clock.now()).total_seconds()))
    await reconcile.reconcile(deps)
    clock.advance(seconds=reconcile.STUCK_SENDING_AFTER.total_seconds() + 1)
    await reconcile.reconcile(deps)
    await eventually(lambda: all_settled(made), 10, "every dispatch to be settled")
    await assert_delivered_exactly_once(genesys_sim, made)
    # The case is only worth something if meetings did fall due during the outage.
    assert any(down_at < r.due_at < up_at for r in await dispatch_rows(made))
    assert worker.process.poll() is None, "the worker must ride out the outage"

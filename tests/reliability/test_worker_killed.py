"""The worker process dies (SIGKILL) while its sends are in flight at Genesys. The rows stay in
`sending`; the reconciler of the next worker finishes them with the same messageId, so each
meeting still gets exactly one interaction."""

from __future__ import annotations

import pytest

from tasks import reconcile
from tests.reliability.scenario import (
    INBOUND,
    all_settled,
    assert_delivered_exactly_once,
    book_due_soon,
    dispatch_rows,
    eventually,
)
from web.db.tables import DispatchStatus

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(60)]

MEETINGS = 3


async def test_a_healthy_worker_delivers_each_due_dispatch_once(genesys_tenant, genesys_sim, start_worker):
    made = await book_due_soon(genesys_tenant, MEETINGS)
    start_worker()

    await eventually(lambda: all_settled(made), 25, "the worker to send every dispatch")

    await assert_delivered_exactly_once(genesys_sim, made)
    assert len(genesys_sim.inbound_messages()) == MEETINGS  # one request each, no retries


async def test_sigkill_during_the_send_still_gives_one_interaction_per_meeting(
    genesys_tenant, genesys_sim, start_worker, deps, clock
):
    # Genesys takes 3 s to answer each of the first sends: they are in flight when the worker dies.
    genesys_sim.add_fault(match={"path_regex": INBOUND}, action="latency", ms=3000, times=MEETINGS)
    made = await book_due_soon(genesys_tenant, MEETINGS, spread=0.1)
    worker = start_worker()

    async def all_sending():
        rows = await dispatch_rows(made)
        return all(r.status == DispatchStatus.sending for r in rows)

    await eventually(all_sending, 25, "every send to be in flight")
    worker.kill()
    assert sorted(r.status for r in await dispatch_rows(made)) == [DispatchStatus.sending] * MEETINGS

    # A new worker comes up; its reconciler takes over rows stuck in `sending` after a minute.
    start_worker()
    clock.advance(seconds=reconcile.STUCK_SENDING_AFTER.total_seconds() + 1)
    report = await reconcile.reconcile(deps)

    assert report["resumed"] == MEETINGS
    await assert_delivered_exactly_once(genesys_sim, made)
    # The resend reused each row's messageId: Genesys can tell it is the same message.
    rows = {f"booking-{r.booking}": r.message_id for r in await dispatch_rows(made)}
    for request in genesys_sim.inbound_messages():
        channel = request["body"]["channel"]
        assert channel["messageId"] == rows[channel["from"]["id"]]
    # Nothing is left for a later pass.
    report = await reconcile.reconcile(deps)
    assert not any(report.values()), report  # nothing left to repair

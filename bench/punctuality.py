"""Pre-meeting dispatch against the Genesys simulator, in one stack:

(b) burst: 2,000 dispatches already due when ONE `punctual worker` process starts (simulator rate
    limit off, tenant budget unbounded), sent at a rate compared with bare concurrent httpx POSTs
    of the same bodies to the same simulator in the same run. Target: >= 80 % of the bare rate.
(a) steady load: dispatches coming due at a steady rate while the worker runs (and carries the
    spread sends of (c) meanwhile); lateness = receipt at the simulator (its request log's
    `received_at`) minus the due time. Targets: p99 <= 500 ms, max <= 2 s.
(c) rate budget: 1,000 meetings of one tenant starting in the same minute, budget 240 per
    minute, the simulator enforcing Genesys's 300 per minute per token: every message reaches
    Genesys no later than its due time, with zero 429 answers.

An agent cannot hold two overlapping meetings, so a steady stream of due times needs many
(agent, meeting) pairs: (a) uses apps whose "minutes before" differ by the meeting length, so one
agent's meetings in successive apps never overlap while their due times sit seconds apart.
Under --quick every scenario is shrunk and the table says by how much.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import httpx

from bench.stack import Row, Stack, percentile, print_table
from bench.tenant import CLIENT_SECRET, GENESYS, App, booking_body, create_agents, create_app

INBOUND = r"/inbound/open/message"
MEETING_MINUTES = 5
WORKER_CONCURRENCY = 50  # tasks/worker.py


@dataclass
class Sizes:
    burst: int
    steady_rate: float  # dispatches per second
    steady_seconds: int
    budget_meetings: int

    @classmethod
    def of(cls, quick: bool) -> Sizes:
        return cls(150, 3.0, 6, 30) if quick else cls(2000, 3.0, 60, 1000)


# --- creating bookings through the API --------------------------------------------------------------


async def create_bookings(stack: Stack, app: App, bodies: list[dict], concurrency: int = 4) -> None:
    """Create every booking through the public API, a few requests at a time (the web app is one
    process; a little concurrency keeps it busy while PostgreSQL works)."""
    async with httpx.AsyncClient(base_url=stack.url, timeout=120) as client:
        reply = await client.post(
            "/oauth/token",
            json={
                "grant_type": "client_credentials",
                "client_id": app.client_id,
                "client_secret": CLIENT_SECRET,
            },
        )
        reply.raise_for_status()
        client.headers["Authorization"] = f"Bearer {reply.json()['data']['access_token']}"
        gate = asyncio.Semaphore(concurrency)

        async def create(body: dict) -> None:
            async with gate:
                response = await client.post(f"/api/v1/video/{app.public_id}/scheduled-calls", json=body)
            if response.status_code != 201:
                raise RuntimeError(f"booking create failed: {response.status_code} {response.text[:300]}")

        await asyncio.gather(*(create(body) for body in bodies))


# --- reading what happened ----------------------------------------------------------------------------


@dataclass
class Planned:
    message_id: str
    due_at: datetime
    send_at: datetime
    status: str


def planned_dispatches(stack: Stack, app_ids: list[int]) -> list[Planned]:
    async def read():
        from web.db.tables import Dispatch

        rows = await Dispatch.select(
            Dispatch.message_id, Dispatch.due_at, Dispatch.next_attempt_at, Dispatch.status
        ).where(Dispatch.booking.app.is_in(app_ids))
        return [Planned(r["message_id"], r["due_at"], r["next_attempt_at"], r["status"]) for r in rows]

    return stack.db(read)


def dispatched_count(stack: Stack, app_ids: list[int]) -> int:
    async def count():
        from web.db.tables import Dispatch, DispatchStatus

        return await Dispatch.count().where(
            Dispatch.booking.app.is_in(app_ids) & (Dispatch.status == DispatchStatus.dispatched)
        )

    return stack.db(count)


@dataclass
class Receipt:
    at: datetime
    status: int


def receipts(stack: Stack) -> dict[str, list[Receipt]]:
    """Inbound open messages the simulator received, by the message's `channel.messageId`."""
    found: dict[str, list[Receipt]] = {}
    for request in stack.sim("GET", "requests", params={"path": INBOUND}):
        body = request.get("body") or {}
        message_id = (body.get("channel") or {}).get("messageId", "")
        at = datetime.fromisoformat(request["received_at"].replace("Z", "+00:00"))
        found.setdefault(message_id, []).append(Receipt(at, int(request["status"] or 0)))
    return found


def wait_for(condition, seconds: float, what: str, every: float = 0.5) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(every)


def rate_of(times: list[datetime]) -> float:
    """Messages per second between the first and the last receipt."""
    ordered = sorted(times)
    span = (ordered[-1] - ordered[0]).total_seconds()
    return (len(ordered) - 1) / span if span > 0 else float("inf")


def accepted(got: dict[str, list[Receipt]], message_id: str) -> list[Receipt]:
    """Receipts the simulator answered with success (a 401 before a fresh token is not one)."""
    return [r for r in got.get(message_id, []) if r.status < 300]


def exactly_once(planned: list[Planned], got: dict[str, list[Receipt]]) -> tuple[int, int]:
    """(messages never accepted, messages accepted more than once) among `planned`."""
    missing = sum(1 for p in planned if not accepted(got, p.message_id))
    repeated = sum(1 for p in planned if len(accepted(got, p.message_id)) > 1)
    return missing, repeated


# --- (b) burst ------------------------------------------------------------------------------------------


def reset_simulator(stack: Stack) -> None:
    """Empty state and request log, then the default fixture again (tokens are issued anew)."""
    from simulators.genesys.fixture import load_fixture

    stack.sim("POST", "reset")
    stack.sim("POST", "seed", json=load_fixture())


async def bare_posts(genesys_url: str, count: int, concurrency: int) -> None:
    """The reference: the same kind of body the worker sends (fresh ids, so each opens its own
    conversation), POSTed by plain httpx with `concurrency` requests in flight."""
    from web.scheduling.dispatch_payload import dispatch_body

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=genesys_url, timeout=60, limits=limits) as client:
        token = await client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(GENESYS["client_id"], GENESYS["client_secret"]),
        )
        token.raise_for_status()
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        url = (
            f"/api/v2/conversations/messages/{GENESYS['open_messaging_integration_id']}/inbound/open/message"
        )
        start = datetime.now(UTC) + timedelta(hours=2)
        bodies = [
            dispatch_body(
                booking=SimpleNamespace(
                    id=uuid.uuid4(), guest_name=f"Guest {i}", scheduled_at=start, intake_notes=""
                ),
                message_id=str(uuid.uuid4()),
                sent_at=datetime.now(UTC),
                agent_genesys_id="aaaaaaaa-0000-4000-8000-000000000001",
                agent_email="agent0@bench.example",
                join_url="http://127.0.0.1/rooms/bench",
                include_notes=False,
            )
            for i in range(count)
        ]
        gate = asyncio.Semaphore(concurrency)

        async def post(body: dict) -> None:
            async with gate:
                response = await client.post(url, json=body, params={"prefetchConversationId": "true"})
            response.raise_for_status()

        await asyncio.gather(*(post(body) for body in bodies))


def bare_rate(stack: Stack, size: int) -> float:
    reset_simulator(stack)
    stack.sim("POST", "config", json={"rate_limit_per_minute": 0})
    asyncio.run(bare_posts(stack.genesys_url, size, WORKER_CONCURRENCY))
    return rate_of([r.at for rs in receipts(stack).values() for r in rs if r.status < 300])


def burst(stack: Stack, size: int, quick: bool) -> list[Row]:
    stack.sim("POST", "config", json={"rate_limit_per_minute": 0})
    # Meetings from 2 minutes ahead, one every 5 minutes per agent, 120 minutes before: all due now.
    per_agent = 22
    agents = stack.db(lambda: create_agents(math.ceil(size / per_agent), prefix="burst"))
    app = stack.db(
        lambda: create_app(
            stack, agents, name="Burst", dispatch_minutes_before=120, budget_per_minute=10**7, reminders=False
        )
    )
    first = datetime.now(UTC) + timedelta(minutes=2)
    bodies = [
        booking_body(
            i, agents[i // per_agent], first + timedelta(minutes=5 * (i % per_agent)), MEETING_MINUTES
        )
        for i in range(size)
    ]
    asyncio.run(create_bookings(stack, app, bodies))
    planned = planned_dispatches(stack, [app.id])
    if len(planned) != size:
        raise RuntimeError(f"{len(planned)} dispatch rows planned for {size} bookings")

    # The bare reference runs before and after the worker's burst and the better rate counts: other
    # load on the machine then cannot flatter the ratio.
    bare_before = bare_rate(stack, size)
    reset_simulator(stack)
    stack.sim("POST", "config", json={"rate_limit_per_minute": 0})
    began = time.monotonic()
    stack.start_worker()
    wait_for(lambda: dispatched_count(stack, [app.id]) >= size, 120 + size / 10, "the burst to be sent")
    elapsed = time.monotonic() - began
    got = receipts(stack)
    missing, repeated = exactly_once(planned, got)
    sent = [r.at for p in planned for r in accepted(got, p.message_id)]
    worker_rate = rate_of(sent)
    reference = max(bare_before, bare_rate(stack, size))
    label = f"{size:,}" + (" (quick; full: 2,000)" if quick else "")
    return [
        Row(
            f"burst of {label} due: one worker's send rate",
            f"{worker_rate:.0f}/s",
            ">= 80% of bare",
            worker_rate >= 0.8 * reference and not missing and not repeated,
            f"bare httpx x{WORKER_CONCURRENCY}: {reference:.0f}/s",
            worker_rate / reference,
        ),
        Row(
            "burst: delivered once (worker start to last)",
            f"{missing} missing, {repeated} twice, {elapsed:.1f} s",
            "0 missing, 0 twice",
            not missing and not repeated,
        ),
    ]


# --- (a) steady load ------------------------------------------------------------------------------------


def steady(stack: Stack, sizes: Sizes, quick: bool) -> list[Row]:
    """Dispatch i is due at t0 + i / rate. Agent i % A, app i // A: app k sends 5 (k + 1) minutes
    before the meeting, so an agent's meetings in apps k and k + 1 start 5 minutes (plus a few
    seconds) apart and never overlap."""
    stack.sim("POST", "config", json={"rate_limit_per_minute": 300})
    count = int(sizes.steady_rate * sizes.steady_seconds)
    agent_count = 10
    app_count = math.ceil(count / agent_count)
    if app_count > 120 // MEETING_MINUTES:
        raise ValueError("too many dispatches for the apps' minutes-before range")
    agents = stack.db(lambda: create_agents(agent_count, prefix="steady"))

    async def apps():
        return [
            await create_app(
                stack,
                agents,
                name=f"Steady {k}",
                dispatch_minutes_before=MEETING_MINUTES * (k + 1),
                reminders=False,
            )
            for k in range(app_count)
        ]

    made = stack.db(apps)
    # Time to create every booking before the first one comes due (40 ms each on a quiet machine,
    # several times that when the two cores are shared).
    t0 = datetime.now(UTC) + timedelta(seconds=4 + count * 0.2)
    by_app: dict[int, list[dict]] = {}
    for i in range(count):
        k = i // agent_count
        due = t0 + timedelta(seconds=i / sizes.steady_rate)
        start = due + timedelta(minutes=MEETING_MINUTES * (k + 1))
        by_app.setdefault(k, []).append(booking_body(i, agents[i % agent_count], start, MEETING_MINUTES))

    async def create_all():
        await asyncio.gather(*(create_bookings(stack, made[k], bodies, 1) for k, bodies in by_app.items()))

    asyncio.run(create_all())
    if datetime.now(UTC) > t0:
        raise RuntimeError("bookings were created too slowly; the first dispatch came due meanwhile")
    app_ids = [a.id for a in made]
    last_due = t0 + timedelta(seconds=(count - 1) / sizes.steady_rate)
    wait_for(
        lambda: datetime.now(UTC) > last_due + timedelta(seconds=1.5), sizes.steady_seconds + 120, "the run"
    )
    wait_for(lambda: dispatched_count(stack, app_ids) >= count, 60, "every steady dispatch")
    planned = planned_dispatches(stack, app_ids)
    got = receipts(stack)
    missing, repeated = exactly_once(planned, got)
    lateness = [
        (min(r.at for r in accepted(got, p.message_id)) - p.due_at).total_seconds()
        for p in planned
        if accepted(got, p.message_id)
    ]
    p50, p99, worst = (percentile(lateness, q) * 1000 for q in (50, 99, 100))
    scale = f"{count} at {sizes.steady_rate:g}/s" + (" (quick; full: 180)" if quick else "")
    return [
        Row(
            f"steady {scale}: lateness p99",
            f"{p99:.0f} ms (p50 {p50:.0f})",
            "<= 500 ms",
            p99 <= 500 and not missing and not repeated,
        ),
        Row("steady: lateness max", f"{worst:.0f} ms", "<= 2000 ms", worst <= 2000),
        Row(
            "steady: delivered once",
            f"{missing} missing, {repeated} twice",
            "0 missing, 0 twice",
            not missing and not repeated,
        ),
    ]


# --- (c) rate budget ------------------------------------------------------------------------------------

BUDGET_CLIENT = {"client_id": "bench-budget-client", "client_secret": "bench-budget-client-secret"}


def budget(stack: Stack, meetings: int, quick: bool, meanwhile: Callable[[], list[Row]]) -> list[Row]:
    """One tenant with its own Genesys client (so its own rate window at the simulator), every
    meeting starting at the same instant, each with its own agent. While its sends are spread
    over the minutes before the due time, `meanwhile` runs (the steady load of other tenants), so
    the worker carries both; its rows come first."""
    genesys_limit = 300
    stack.sim("POST", "config", json={"rate_limit_per_minute": genesys_limit})
    stack.sim(
        "POST",
        "seed",
        json={
            "oauth_clients": [
                {
                    **BUDGET_CLIENT,
                    "org_id": GENESYS["organization_id"],
                    "grant": "client_credentials",
                    "permissions": ["conversation:message:receive", "messaging:integration:view"],
                }
            ]
        },
    )
    agents = stack.db(lambda: create_agents(meetings, prefix="budget"))
    minutes_before = 5
    app = stack.db(
        lambda: create_app(
            stack, agents, name="Budget", dispatch_minutes_before=minutes_before, reminders=False
        )
    )

    async def own_client():
        from web.db.tables import GenesysSettings
        from web.genesys import settings_store

        row = await settings_store.get_row(app.id)
        await settings_store.save_settings(
            app.id,
            {
                "region": row.region,
                "login_base_url": row.login_base_url,
                "api_base_url": row.api_base_url,
                "client_id": BUDGET_CLIENT["client_id"],
                "client_secret": BUDGET_CLIENT["client_secret"],
                "organization_id": row.organization_id,
                "open_messaging_integration_id": row.open_messaging_integration_id,
            },
            stack.env()["SECRET_KEY"],
        )
        await GenesysSettings.update({GenesysSettings.last_test_ok: True}).where(
            GenesysSettings.app == app.id
        )

    stack.db(own_client)
    from web.scheduling.dispatch_budget import slot_seconds

    budget_per_minute = 240
    spread = timedelta(seconds=slot_seconds(budget_per_minute) * meetings)
    creating = timedelta(seconds=4 + meetings * 0.1)
    due = datetime.now(UTC) + creating + spread + timedelta(seconds=2)
    start = due + timedelta(minutes=minutes_before)
    bodies = [booking_body(i, agents[i], start, MEETING_MINUTES) for i in range(meetings)]
    began = datetime.now(UTC)
    asyncio.run(create_bookings(stack, app, bodies))
    created_in = (datetime.now(UTC) - began).total_seconds()
    other_rows = meanwhile()
    wait_for(
        lambda: datetime.now(UTC) > due + timedelta(seconds=1.5), spread.total_seconds() + 300, "the due time"
    )
    wait_for(lambda: dispatched_count(stack, [app.id]) >= meetings, 60, "every budget dispatch")
    planned = planned_dispatches(stack, [app.id])
    got = receipts(stack)
    missing, repeated = exactly_once(planned, got)
    mine = [r for p in planned for r in got.get(p.message_id, [])]
    rejected = sum(1 for r in mine if r.status == 429)
    late = [
        (min(r.at for r in accepted(got, p.message_id)) - p.due_at).total_seconds()
        for p in planned
        if accepted(got, p.message_id)
    ]
    late_count = sum(1 for value in late if value > 0)
    times = sorted(r.at for r in mine if r.status < 300)
    busiest = max(_in_window(times, i) for i in range(len(times))) if times else 0
    slots = sorted(p.send_at for p in planned)
    planned_busiest = max(_in_window(slots, i) for i in range(len(slots))) if slots else 0
    first_lead = max(-min(late), 0) if late else 0
    label = f"{meetings:,}" + (" (quick; full: 1,000)" if quick else "")
    return [
        *other_rows,
        Row(
            f"budget, {label} meetings at one time: late",
            f"{late_count} late (worst {max(late) * 1000:+.0f} ms)",
            "0 late",
            late_count == 0 and not missing,
            f"created in {created_in:.0f} s, first sent {first_lead:.0f} s early",
        ),
        Row(
            "budget: 429 answers from Genesys",
            f"{rejected}",
            "0",
            rejected == 0,
            f"simulator limit {genesys_limit}/min",
        ),
        Row(
            "budget: most sends in any 60 s",
            f"{busiest}",
            f"<= {budget_per_minute}",
            busiest <= budget_per_minute,
            f"planned {planned_busiest}; {missing} missing, {repeated} twice",
        ),
    ]


def _in_window(ordered: list[datetime], index: int) -> int:
    """Receipts in the 60 s ending at receipt `index` (inclusive), like the simulator's window."""
    low = ordered[index] - timedelta(seconds=60)
    count = 0
    for at in reversed(ordered[: index + 1]):
        if at <= low:
            break
        count += 1
    return count


def run(quick: bool = False) -> list[Row]:
    sizes = Sizes.of(quick)
    rows: list[Row] = []
    with Stack() as stack:
        # The burst starts the worker, which then keeps running for the other scenarios.
        for scenario in (
            lambda: burst(stack, sizes.burst, quick),
            lambda: budget(
                stack, sizes.budget_meetings, quick, meanwhile=lambda: steady(stack, sizes, quick)
            ),
        ):
            began = time.monotonic()
            rows += scenario()
            print(f"  {rows[-1].figure.split(':')[0]}: {time.monotonic() - began:.0f} s", file=sys.stderr)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.punctuality")
    parser.add_argument("--quick", action="store_true", help="smaller scenarios (well under a minute)")
    print_table(run(quick=parser.parse_args().quick))


if __name__ == "__main__":
    main()

"""Booking create through the public API on PostgreSQL, with everything it writes (booking, room
tokens, timeline events, reminder rows, the dispatch row with its send slot, queued jobs), against
a bare GET /healthz measured in the same run. Target: < 20 ms median.

Requests are sequential over one keep-alive connection; no worker runs meanwhile, so the figure is
the request path alone (the jobs it enqueues wait in Redis)."""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

from bench.stack import Row, Stack, median_ms, percentile, print_table, time_requests
from bench.tenant import booking_body, create_agents, create_app, create_booking

AGENTS = 20


def timed_creates(client, app, n: int, start: datetime, first_index: int = 0) -> list[float]:
    """`n` creates spread over the agents, back-to-back 30-minute meetings from `start`."""
    samples = []
    for index in range(first_index, first_index + n):
        agent = app.agents[index % len(app.agents)]
        slot = start + timedelta(minutes=30 * (index // len(app.agents)))
        body = booking_body(index, agent, slot)
        began = time.perf_counter()
        create_booking(client, app, body)
        samples.append(time.perf_counter() - began)
    return samples


def run(quick: bool = False) -> list[Row]:
    n = 60 if quick else 400
    with Stack() as stack:

        async def seed():
            return await create_app(stack, await create_agents(AGENTS))

        app = stack.db(seed)
        with app.api(stack) as client:
            start = (datetime.now(UTC) + timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)
            timed_creates(client, app, 20, start)  # warm-up: connections, caches, plans
            healthz = time_requests(client, "GET", "/healthz", n)
            creates = timed_creates(client, app, n, start, first_index=20)
    reference = median_ms(healthz)
    value = median_ms(creates)
    return [
        Row(
            f"API booking create, median of {n} (PostgreSQL)",
            f"{value:.1f} ms (p90 {percentile(creates, 90) * 1000:.1f})",
            "< 20 ms",
            value < 20,
            f"GET /healthz {reference:.2f} ms",
            value / reference,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.api")
    parser.add_argument("--quick", action="store_true", help="a smaller run (well under a minute)")
    print_table(run(quick=parser.parse_args().quick))


if __name__ == "__main__":
    main()

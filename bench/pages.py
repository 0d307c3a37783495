"""/my-schedules for an agent with 200 bookings in the visible week, against a bare GET /healthz
measured in the same run. Target: < 30 ms median, and a bounded number of SQL queries per render.

Queries are counted in one real render of the same page by the same code in this process (the
app built with `create_app` against the stack's database): every statement asyncpg sends is
recorded, whatever issued it. The count is taken for the 200-booking week and for a week with a
handful of bookings; equal counts mean no query per booking (no N+1)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import httpx

from bench.stack import Row, Stack, median_ms, percentile, print_table, time_requests
from bench.tenant import PASSWORD, booking_body, create_agents, create_app, create_booking

BOOKINGS_IN_WEEK = 200
BOOKINGS_IN_QUIET_WEEK = 5
_CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


def sign_in_form(page: str) -> str:
    found = _CSRF.search(page)
    if found is None:
        raise RuntimeError("no CSRF token on the sign-in page")
    return found.group(1)


def sign_in(client: httpx.Client, email: str) -> None:
    token = sign_in_form(client.get("/login").text)
    response = client.post("/login", data={"email": email, "password": PASSWORD, "_csrf_token": token})
    if response.status_code not in (302, 303):
        raise RuntimeError(f"sign-in failed: {response.status_code}")


@contextlib.contextmanager
def recorded_statements() -> Iterator[list[str]]:
    """Every SQL statement sent through asyncpg while inside the block (pool connections forward
    to these methods at call time, so the ORM, raw queries and transactions are all seen)."""
    from asyncpg.connection import Connection

    sent: list[str] = []
    originals = {name: getattr(Connection, name) for name in ("fetch", "fetchrow", "fetchval", "execute")}

    def recording(original):
        def method(self, query, *args, **kwargs):
            sent.append(str(query))
            return original(self, query, *args, **kwargs)

        return method

    for name, original in originals.items():
        setattr(Connection, name, recording(original))
    try:
        yield sent
    finally:
        for name, original in originals.items():
            setattr(Connection, name, original)


def count_queries(stack: Stack, email: str, urls: list[str]) -> list[tuple[int, int]]:
    """(data statements, transaction statements) of one render of each URL, in this process."""
    import logging

    from web.app import create_app
    from web.settings import Settings

    logging.getLogger("httpx").setLevel(logging.WARNING)

    async def measure() -> list[tuple[int, int]]:
        app = create_app(Settings.from_env(stack.env()), run_worker=False)
        transport = httpx.ASGITransport(app=app)
        async with app.lifespan(), httpx.AsyncClient(transport=transport, base_url=stack.url) as client:
            token = sign_in_form((await client.get("/login")).text)
            await client.post("/login", data={"email": email, "password": PASSWORD, "_csrf_token": token})
            counts = []
            for url in urls:
                (await client.get(url)).raise_for_status()  # warm: first-use lookups are not per render
                with recorded_statements() as sent:
                    (await client.get(url)).raise_for_status()
                data = [s for s in sent if s.lstrip().split(None, 1)[0].upper() in _DATA]
                counts.append((len(data), len(sent) - len(data)))
            return counts

    return asyncio.run(measure())


_DATA = {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH"}


def next_monday(today: date) -> datetime:
    monday = today - timedelta(days=today.weekday()) + timedelta(days=7)
    return datetime(monday.year, monday.month, monday.day, tzinfo=UTC)


def run(quick: bool = False) -> list[Row]:
    n = 40 if quick else 300
    with Stack() as stack:

        async def seed():
            return await create_app(stack, await create_agents(1))

        app = stack.db(seed)
        agent = app.agents[0]
        week = next_monday(datetime.now(UTC).date())
        quiet_week = week + timedelta(days=7)
        with app.api(stack) as api:
            # Back-to-back 30-minute meetings from Monday 00:00: 200 of them end Friday 04:00.
            for index in range(BOOKINGS_IN_WEEK):
                create_booking(api, app, booking_body(index, agent, week + timedelta(minutes=30 * index)))
            for index in range(BOOKINGS_IN_QUIET_WEEK):
                start = quiet_week + timedelta(hours=10 + index)
                create_booking(api, app, booking_body(1000 + index, agent, start))
        url = f"/my-schedules?app={app.public_id}&week={week.date().isoformat()}"
        quiet_url = f"/my-schedules?app={app.public_id}&week={quiet_week.date().isoformat()}"
        with httpx.Client(base_url=stack.url, timeout=30) as browser:
            sign_in(browser, agent.email)
            page = browser.get(url)
            page.raise_for_status()
            shown = page.text.count('class="card booking-card"')
            if shown != BOOKINGS_IN_WEEK:
                raise RuntimeError(f"/my-schedules shows {shown} bookings, expected {BOOKINGS_IN_WEEK}")
            time_requests(browser, "GET", url, 10)  # warm-up
            healthz = time_requests(browser, "GET", "/healthz", n)
            pages = time_requests(browser, "GET", url, n)
        (busy_data, busy_tx), (quiet_data, _) = count_queries(stack, agent.email, [url, quiet_url])
    reference = median_ms(healthz)
    value = median_ms(pages)
    return [
        Row(
            f"/my-schedules, {BOOKINGS_IN_WEEK} bookings in the week, median of {n}",
            f"{value:.1f} ms (p90 {percentile(pages, 90) * 1000:.1f})",
            "< 30 ms",
            value < 30,
            f"GET /healthz {reference:.2f} ms",
            value / reference,
        ),
        Row(
            "/my-schedules, SQL queries per render",
            f"{busy_data} (+{busy_tx} tx)",
            "bounded, no N+1",
            busy_data == quiet_data,
            f"{quiet_data} with {BOOKINGS_IN_QUIET_WEEK} bookings",
            busy_data / quiet_data if quiet_data else None,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pages")
    parser.add_argument("--quick", action="store_true", help="a smaller run (well under a minute)")
    print_table(run(quick=parser.parse_args().quick))


if __name__ == "__main__":
    main()

"""/my-schedules for an agent with 200 bookings in the visible week, against a bare GET /healthz
measured in the same run. Target: < 30 ms median."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

import httpx

from bench.api import create_bookings, seed, seed_document, token
from bench.stack import Row, Stack, median_ms, print_table, time_requests

BOOKINGS_IN_WEEK = 200


def sign_in(client: httpx.Client, email: str, password: str) -> None:
    client.get("/login")
    response = client.post(
        "/login",
        data={"email": email, "password": password, "_csrf_token": client.cookies.get("punctual_csrf", "")},
    )
    if response.status_code != 303:
        raise RuntimeError(f"sign-in failed: {response.status_code}")


def run(quick: bool = False) -> list[Row]:
    n = 40 if quick else 200
    document = seed_document(agents=1)
    app_id = document["apps"][0]["id"]
    today = datetime.now(UTC).date()
    monday = today - timedelta(days=today.weekday())
    week_start = datetime(monday.year, monday.month, monday.day, tzinfo=UTC) + timedelta(days=7)
    with Stack() as stack, httpx.Client(base_url=stack.url, timeout=30) as api:
        seed(stack, document)
        api.headers["Authorization"] = f"Bearer {token(api)}"
        from bench.api import agent_ids

        agent = agent_ids(api, app_id)[0]
        # 200 back-to-back 30-minute meetings: Monday 00:00 to Friday 04:00 of next week.
        create_bookings(api, app_id, [agent], BOOKINGS_IN_WEEK, start=week_start, agent=agent)
        with httpx.Client(base_url=stack.url, timeout=30) as browser:
            sign_in(browser, "agent0@bench.example", "bench-password")
            url = f"/my-schedules?app={app_id}&week={week_start.date().isoformat()}"
            page = browser.get(url)
            page.raise_for_status()
            shown = page.text.count('class="card')
            if shown < BOOKINGS_IN_WEEK:
                raise RuntimeError(f"/my-schedules shows {shown} cards, expected {BOOKINGS_IN_WEEK}")
            time_requests(browser, "GET", url, 10)  # warm-up
            healthz = time_requests(browser, "GET", "/healthz", n)
            pages = time_requests(browser, "GET", url, n)
    reference = median_ms(healthz)
    value = median_ms(pages)
    return [
        Row(
            "/my-schedules, 200 bookings in the week, median",
            value,
            "ms",
            "< 30 ms",
            f"healthz {reference:.2f} ms",
            value / reference,
            value < 30,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    print_table(run(quick=parser.parse_args().quick))


if __name__ == "__main__":
    main()

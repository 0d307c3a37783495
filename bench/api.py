"""Booking create through the public API on PostgreSQL, with everything it writes (timeline, room,
reminder rows), against a bare GET /healthz measured in the same run. Target: < 20 ms median."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta

import httpx

from bench.stack import Row, Stack, median_ms, print_table, time_requests

AGENTS = 20
CLIENT_ID, CLIENT_SECRET = "bench-client", "bench-secret-0123456789"


def seed_document(agents: int = AGENTS) -> dict:
    members = [{"email": "admin@bench.example", "role": "admin"}]
    users = [
        {"email": "admin@bench.example", "name": "Bench Admin", "password": "bench-password", "admin": True}
    ]
    hours = []
    for index in range(agents):
        email = f"agent{index}@bench.example"
        users.append({"email": email, "name": f"Agent {index}", "password": "bench-password"})
        members.append({"email": email, "role": "agent", "timezone": "UTC"})
        hours += [
            {"email": email, "weekday": day, "start": "00:00", "end": "23:59", "timezone": "UTC"}
            for day in range(7)
        ]
    return {
        "users": users,
        "apps": [
            {
                "id": "5b1d0a52-7a4e-4f0e-9d39-3c1c9d0b0001",
                "name": "Bench clinic",
                "timezone": "UTC",
                "members": members,
                "working_hours": hours,
                "preset": {
                    "reminders": {
                        "invitation": ["whatsapp"],
                        "reminder_1h": ["whatsapp"],
                        "reminder_15m": ["whatsapp"],
                    }
                },
                "api_clients": [
                    {
                        "client_id": CLIENT_ID,
                        "client_secret": CLIENT_SECRET,
                        "scopes": ["scheduling:read", "scheduling:write"],
                    }
                ],
            }
        ],
    }


def seed(stack: Stack, document: dict) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(document, handle)
    stack.punctual("seed", handle.name)


def token(client: httpx.Client) -> str:
    response = client.post(
        "/oauth/token",
        json={"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    )
    response.raise_for_status()
    return response.json()["data"]["access_token"]


def agent_ids(client: httpx.Client, app_id: str) -> list[str]:
    """The agents' user ids as the API knows them, read back from a throwaway availability search."""
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    response = client.get(
        f"/api/v1/video/{app_id}/availability",
        params={
            "fromUtc": start.isoformat(),
            "toUtc": (start + timedelta(minutes=30)).isoformat(),
            "durationMinutes": 30,
        },
    )
    response.raise_for_status()
    return sorted({slot["agentId"] for slot in response.json()["data"]["slots"]})


def create_bookings(
    client: httpx.Client, app_id: str, agents: list[str], n: int, *, start: datetime, agent: str | None = None
) -> list[float]:
    samples = []
    for index in range(n):
        who = agent or agents[index % len(agents)]
        slot = index if agent else index // len(agents)
        body = {
            "guestName": f"Guest {index}",
            "guestPhone": f"+5731{index:08d}",
            "scheduledAtUtc": (start + timedelta(minutes=30 * slot)).isoformat().replace("+00:00", "Z"),
            "appTimezone": "UTC",
            "assignedAgentId": who,
            "durationMinutes": 30,
        }
        began = time.perf_counter()
        response = client.post(f"/api/v1/video/{app_id}/scheduled-calls", json=body)
        samples.append(time.perf_counter() - began)
        if response.status_code != 201:
            raise RuntimeError(f"create failed: {response.status_code} {response.text}")
    return samples


def run(quick: bool = False) -> list[Row]:
    n = 60 if quick else 300
    document = seed_document()
    app_id = document["apps"][0]["id"]
    with Stack() as stack, httpx.Client(base_url=stack.url, timeout=30) as client:
        seed(stack, document)
        client.headers["Authorization"] = f"Bearer {token(client)}"
        agents = agent_ids(client, app_id)
        start = (datetime.now(UTC) + timedelta(days=3)).replace(hour=0, minute=0, second=0, microsecond=0)
        create_bookings(client, app_id, agents, 20, start=start - timedelta(days=1))  # warm-up
        healthz = time_requests(client, "GET", "/healthz", n)
        creates = create_bookings(client, app_id, agents, n, start=start)
    reference = median_ms(healthz)
    value = median_ms(creates)
    return [
        Row(
            "API booking create, median (PostgreSQL)",
            value,
            "ms",
            "< 20 ms",
            f"healthz {reference:.2f} ms",
            value / reference,
            value < 20,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    print_table(run(quick=parser.parse_args().quick))


if __name__ == "__main__":
    main()

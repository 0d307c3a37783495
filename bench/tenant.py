"""Benchmark tenants, written straight into the stack's database with the domain's own services.

Scale is the point here (up to a thousand agents), so agents share one password hash computed
once; everything else goes through the same functions the consoles use: Genesys settings
(secret encrypted), the WhatsApp sender, API clients (secret hashed)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from bench.stack import SECRET_KEY, Stack

PASSWORD = "bench-password"
CLIENT_SECRET = "bench-secret-0123456789"
# The simulator's default fixture: its org, client, integration and agents (see simulators/genesys).
GENESYS = {
    "client_id": "c1c1c1c1-0000-4000-8000-000000000001",
    "client_secret": "sim-client-credentials-secret",
    "organization_id": "11111111-1111-4111-8111-111111111111",
    "open_messaging_integration_id": "55555555-5555-4555-8555-555555555555",
}
GENESYS_USERS = [
    "aaaaaaaa-0000-4000-8000-000000000001",
    "aaaaaaaa-0000-4000-8000-000000000002",
    "aaaaaaaa-0000-4000-8000-000000000003",
]
ALL_DAY = [(day, "00:00", "24:00") for day in range(7)]


@dataclass
class Agent:
    id: int
    email: str


@dataclass
class App:
    id: int
    public_id: str
    client_id: str
    agents: list[Agent] = field(default_factory=list)

    @contextlib.contextmanager
    def api(self, stack: Stack) -> Iterator[httpx.Client]:
        """An API client signed in with this app's client credentials."""
        with httpx.Client(base_url=stack.url, timeout=60) as client:
            yield self._signed_in(client)

    def _signed_in(self, client: httpx.Client) -> httpx.Client:
        response = client.post(
            "/oauth/token",
            json={
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": CLIENT_SECRET,
            },
        )
        response.raise_for_status()
        client.headers["Authorization"] = f"Bearer {response.json()['data']['access_token']}"
        return client


async def create_agents(count: int, prefix: str = "agent") -> list[Agent]:
    from web.db.tables import User
    from web.passwords import hash_password

    shared_hash = hash_password(PASSWORD)
    users = [
        User(email=f"{prefix}{index}@bench.example", name=f"Agent {index}", password_hash=shared_hash)
        for index in range(count)
    ]
    for start in range(0, len(users), 500):
        await User.insert(*users[start : start + 500])
    rows = await User.select(User.id, User.email).where(User.email.like(f"{prefix}%@bench.example"))
    by_email = {r["email"]: r["id"] for r in rows}
    return [Agent(by_email[u.email], u.email) for u in users]


async def create_app(
    stack: Stack,
    agents: list[Agent],
    *,
    name: str = "Bench clinic",
    dispatch_minutes_before: int = 5,
    budget_per_minute: int = 240,
    reminders: bool = True,
) -> App:
    """A video app in UTC whose agents work around the clock, with Genesys dispatch on (pointing at
    the stack's simulator, connection test passed) and, with `reminders`, WhatsApp reminders."""
    from web.db.tables import GenesysSettings, Membership, Preset, Role, VideoApp, WorkingHours
    from web.genesys import settings_store
    from web.scheduling import api_clients
    from web.whatsapp import senders

    app = VideoApp(public_id=uuid.uuid4(), name=name, timezone="UTC")
    await app.save()
    members = [
        Membership(
            app=app.id,
            user=agent.id,
            role=Role.agent,
            genesys_user_id=GENESYS_USERS[index % len(GENESYS_USERS)],
            timezone="UTC",
        )
        for index, agent in enumerate(agents)
    ]
    hours = [
        WorkingHours(app=app.id, user=agent.id, weekday=day, start=start, end=end, timezone="UTC")
        for agent in agents
        for day, start, end in ALL_DAY
    ]
    for batch in (members, hours):
        for start in range(0, len(batch), 500):
            await type(batch[0]).insert(*batch[start : start + 500])
    await Preset(
        app=app.id,
        genesys_dispatch_enabled=True,
        dispatch_minutes_before=dispatch_minutes_before,
        reminders=(
            {"invitation": ["whatsapp"], "reminder_1h": ["whatsapp"], "reminder_15m": ["whatsapp"]}
            if reminders
            else {}
        ),
    ).save()
    row = await settings_store.save_settings(
        app.id,
        {"region": "mypurecloud.com", "login_base_url": stack.genesys_url, "api_base_url": stack.genesys_url}
        | GENESYS,
        SECRET_KEY,
    )
    # The connection test is the console's job; here the simulator is known to answer.
    await GenesysSettings.update(
        {
            GenesysSettings.last_test_ok: True,
            GenesysSettings.last_test_at: datetime.now(UTC),
            GenesysSettings.dispatch_budget_per_minute: budget_per_minute,
        }
    ).where(GenesysSettings.id == row.id)
    if reminders:
        from simulators.whatsapp.fixture import ACCESS_TOKEN, PHONE_NUMBER_ID

        values, errors = senders.validate_sender(
            {
                "name": "Simulated WhatsApp",
                "base_url": stack.whatsapp_url,
                "api_version": "v21.0",
                "phone_number_id": PHONE_NUMBER_ID,
                "access_token": ACCESS_TOKEN,
                "templates": senders.DEFAULT_TEMPLATES,
            }
        )
        if errors:
            raise RuntimeError(f"WhatsApp sender refused: {errors}")
        await senders.save_sender(app.id, values, SECRET_KEY)
    client_id = f"bench-{app.public_id.hex[:12]}"
    await api_clients.create_client(
        app.id,
        "Benchmark",
        ["scheduling:read", "scheduling:write"],
        client_id=client_id,
        secret=CLIENT_SECRET,
        rate_limit_per_minute=1_000_000,  # the benchmark measures the app, not the client's quota
    )
    return App(app.id, str(app.public_id), client_id, list(agents))


def booking_body(index: int, agent: Agent, start: datetime, duration: int = 30) -> dict:
    return {
        "guestName": f"Guest {index}",
        "guestPhone": f"+5731{index:08d}",
        "scheduledAtUtc": start.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "appTimezone": "UTC",
        "assignedAgentId": str(agent.id),
        "durationMinutes": duration,
    }


def create_booking(client: httpx.Client, app: App, body: dict) -> dict:
    response = client.post(f"/api/v1/video/{app.public_id}/scheduled-calls", json=body)
    if response.status_code != 201:
        raise RuntimeError(f"booking create failed: {response.status_code} {response.text[:300]}")
    return response.json()["data"]

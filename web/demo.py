"""`punctual demo`: everything on embedded defaults with demo data.

Migrates, seeds the demo tenant from `web/demo_seed.json` (through the seed file, like any
installation), starts the Genesys Cloud and WhatsApp simulators in this process, tests the Genesys
connection and sets up My schedules and the interaction widget there, books a few demo meetings
(only while the demo app has none), then serves the app with its worker and prints where to go and
how to sign in."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from web.settings import Settings

log = logging.getLogger("punctual.demo")

DEMO_SEED_PATH = Path(__file__).with_name("demo_seed.json")
DEMO_PASSWORD = "punctual-demo"
GENESYS_PORT = 8090
WHATSAPP_PORT = 8091

# (agent email, days ahead, local start, guest name, phone, email, intake notes)
DEMO_BOOKINGS = [
    ("ana@example.com", 1, time(9, 0), "Lucía Gómez", "+573005550101", None, "Follow-up on lab results."),
    ("ben@example.com", 1, time(11, 30), "Mateo Rojas", "+573005550102", "mateo@example.com", ""),
    ("ana@example.com", 2, time(14, 0), "Valentina Díaz", None, "valentina@example.com", "First visit."),
    ("cleo@example.com", 3, time(15, 0), "Santiago Pérez", "+573005550104", None, "Prefers Spanish."),
    ("ben@example.com", 4, time(10, 0), "Camila Torres", "+573005550105", None, ""),
]
# One meeting soon, so the pre-meeting dispatch and the reminders can be watched while the demo runs.
SOON_MINUTES = 20


def demo_document(genesys_port: int, whatsapp_port: int) -> dict[str, Any]:
    """The demo seed file with the simulators' addresses for the ports in use."""
    document = json.loads(DEMO_SEED_PATH.read_text(encoding="utf-8"))
    for app in document["apps"]:
        genesys = f"http://127.0.0.1:{genesys_port}"
        app["genesys"]["login_base_url"] = app["genesys"]["api_base_url"] = genesys
        app["whatsapp"]["base_url"] = f"http://127.0.0.1:{whatsapp_port}"
    return document


def _genesys_fixture(public_url: str) -> dict[str, Any]:
    """The simulator's shipped fixture, its open-messaging webhook pointed at this app."""
    from simulators.genesys.fixture import load_fixture

    fixture = load_fixture()
    for integration in fixture.get("open_integrations", []):
        integration["outbound_webhook_url"] = f"{public_url}/genesys/webhook"
    return fixture


def start_simulators(public_url: str, genesys_port: int, whatsapp_port: int) -> list:
    """Both simulators on their ports, in background threads (as `punctual sim` runs them)."""
    from simulators.genesys.app import create_app as genesys_app
    from simulators.serve import ServerThread
    from simulators.whatsapp.app import create_app as whatsapp_app

    servers = [
        ServerThread(genesys_app(_genesys_fixture(public_url), strict=True), port=genesys_port),
        ServerThread(whatsapp_app(), port=whatsapp_port),
    ]
    started = []
    try:
        for server in servers:
            server.start()
            started.append(server)
    except (OSError, RuntimeError, TimeoutError) as exc:
        for server in started:
            server.stop()
        raise SystemExit(
            f"punctual: error: cannot start a simulator on port {server.port} ({exc}); "
            "free the port or choose others with --genesys-port / --whatsapp-port"
        ) from None
    return servers


async def _working_days(app_id: int, user_id: int, start: time) -> set[int]:
    """Weekdays on which one of the agent's windows holds a half-hour meeting at `start`."""
    from web.db.tables import WorkingHours

    rows = await WorkingHours.select(WorkingHours.weekday, WorkingHours.start, WorkingHours.end).where(
        (WorkingHours.app == app_id) & (WorkingHours.user == user_id)
    )
    begin = start.strftime("%H:%M")
    finish = (datetime.combine(datetime.min, start) + timedelta(minutes=30)).strftime("%H:%M")
    return {row["weekday"] for row in rows if row["start"] <= begin and finish <= row["end"]}


async def _book_demo_meetings(app_id: int, now: datetime) -> int:
    """A handful of meetings over the coming workdays, only while the demo app has none."""
    from web.db.tables import Booking, User
    from web.scheduling import bookings
    from web.scheduling.hooks import Actor
    from web.scheduling.timeutil import local_to_utc, zone

    if await Booking.count().where(Booking.app == app_id):
        return 0
    tz = "America/Bogota"
    agents = {row["email"]: row["id"] for row in await User.select(User.id, User.email)}
    admin = Actor("admin", str(agents["admin@example.com"]))
    soon = (now + timedelta(minutes=SOON_MINUTES)).replace(second=0, microsecond=0)
    plans = [
        ("ana@example.com", soon, "Andrés Castro", "+573005550100", None, "Wants to review a quote.", False)
    ]
    day = now.astimezone(zone(tz)).date()
    for email, ahead, start, guest, phone, guest_email, notes in DEMO_BOOKINGS:
        when = day + timedelta(days=ahead)
        works = await _working_days(app_id, agents[email], start)
        while works and when.weekday() not in works:  # the next day the agent works at that hour
            when += timedelta(days=1)
        plans.append(
            (email, local_to_utc(when, start, tz).astimezone(UTC), guest, phone, guest_email, notes, True)
        )
    created = 0
    for email, start, guest, phone, guest_email, notes, respect_hours in plans:
        data = bookings.NewBooking(
            guest_name=guest,
            scheduled_at=start,
            guest_phone=phone,
            guest_email=guest_email,
            guest_timezone=tz,
            intake_notes=notes,
            assigned_agent_id=agents[email],
            assignment_method="manual",
            source="admin",
            # The meeting "soon" is booked whatever the hour, as an admin may do.
            respect_working_hours=respect_hours,
        )
        try:
            await bookings.create(app_id, data, admin, now=now)
            created += 1
        except bookings.BookingError as error:
            log.warning("demo booking for %s not created: %s", guest, error.message)
    return created


async def _set_up_genesys(genesys, app, settings: Settings) -> list[str]:
    """My schedules and the interaction widget in the simulator's org, for the demo's agents and
    queue (what an admin does on the Genesys tab). Returns the problems, if any."""
    from simulators.genesys.fixture import GROUP_ID, QUEUE_ID
    from web.genesys import settings_store, setup
    from web.scheduling.presets import get_preset

    tenant = await settings_store.load(app.id, settings.secret_key)
    preset = await get_preset(app.id)
    result = await setup.apply_setup(
        genesys,
        tenant,
        app,
        public_url=settings.public_url,
        my_schedules_enabled=True,
        dispatch_enabled=bool(preset.genesys_dispatch_enabled),
        groups=[GROUP_ID],
        widget_queue_ids=[QUEUE_ID],
    )
    return result.errors


async def prepare_demo(settings: Settings, document: dict[str, Any]) -> dict[str, Any]:
    """Migrate, seed, test the Genesys connection and book the demo meetings. Idempotent."""
    from web import clock
    from web.db.tables import VideoApp
    from web.genesys import setup
    from web.genesys.client import GenesysClient
    from web.seeding import SeedError, apply_seed, attach_planners, connected, validate_seed

    plan, problems = validate_seed(document)
    if problems:
        raise SeedError(problems)
    now = clock.now()
    attach_planners()
    async with connected(settings):
        report = await apply_seed(plan, settings.secret_key, now)
        app = await VideoApp.objects().get(VideoApp.public_id == plan.apps[0].public_id)
        genesys = GenesysClient()
        try:
            row = await setup.run_connection_test(genesys, app.id, settings.secret_key, now)
            problems = await _set_up_genesys(genesys, app, settings) if row and row.last_test_ok else []
        finally:
            await genesys.aclose()
        booked = await _book_demo_meetings(app.id, now)
    return {
        "app_public_id": str(app.public_id),
        "app_name": app.name,
        "report": report,
        "genesys_ok": bool(row and row.last_test_ok) and not problems,
        "booked": booked,
    }


def _banner(
    settings: Settings, document: dict[str, Any], facts: dict[str, Any], ports: tuple[int, int]
) -> str:
    from simulators.genesys.fixture import ANA_ID

    base = settings.public_url
    client = document["apps"][0]["api_clients"][0]
    users = document["users"]
    genesys_url, whatsapp_url = (f"http://127.0.0.1:{port}" for port in ports)
    lines = [
        "",
        f"Punctual demo is running on {base}",
        f"  Demo app: {facts['app_name']} (appId {facts['app_public_id']})",
        f"  Sign in at {base}/login (password for everyone: {DEMO_PASSWORD}):",
        *(f"    {u['email']:<22} {'administrator' if u.get('admin') else 'agent'}" for u in users),
        f"  Genesys Cloud simulator: {genesys_url}",
        f"    agent desktop (Ana): {genesys_url}/__sim/desktop?userId={ANA_ID}",
        f"    connection and setup: {'ready' if facts['genesys_ok'] else 'failed, see the Genesys tab'}",
        f"  WhatsApp simulator: {whatsapp_url}  (messages sent: {whatsapp_url}/__sim/state)",
        f"  Public API: client_id {client['client_id']}, client_secret {client['client_secret']}",
        f"    curl -s -X POST {base}/oauth/token -H 'Content-Type: application/json' \\",
        f'      -d \'{{"grant_type":"client_credentials","client_id":"{client["client_id"]}",'
        f'"client_secret":"{client["client_secret"]}"}}\'',
        f"    OpenAPI: {base}/schema",
        f"  Demo bookings created now: {facts['booked']}",
        "Press Ctrl+C to stop.",
        "",
    ]
    return "\n".join(lines)


def run_demo(
    settings: Settings,
    *,
    host: str,
    port: int,
    genesys_port: int = GENESYS_PORT,
    whatsapp_port: int = WHATSAPP_PORT,
) -> None:
    import uvicorn

    from web.app import create_app
    from web.embedded_redis import ensure_redis
    from web.seeding import SeedError

    if settings.public_url == "http://127.0.0.1:8000" and port != 8000:
        settings = dataclasses.replace(settings, public_url=f"http://127.0.0.1:{port}")
    # The simulator's agent desktop frames My schedules and the widget, as Genesys Cloud would.
    desktop = f"http://127.0.0.1:{genesys_port}"
    if desktop not in settings.extra_frame_ancestors:
        settings = dataclasses.replace(
            settings, extra_frame_ancestors=(*settings.extra_frame_ancestors, desktop)
        )
    document = demo_document(genesys_port, whatsapp_port)
    servers = start_simulators(settings.public_url, genesys_port, whatsapp_port)
    try:
        try:
            facts = asyncio.run(prepare_demo(settings, document))
        except SeedError as exc:
            raise SystemExit("\n".join(f"{DEMO_SEED_PATH.name}: {p}" for p in exc.problems)) from None
        with ensure_redis(settings) as settings:
            print(_banner(settings, document, facts, (genesys_port, whatsapp_port)), flush=True)
            app = create_app(settings, run_worker=True, migrate_on_start=False)
            uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)
    finally:
        for server in servers:
            server.stop()

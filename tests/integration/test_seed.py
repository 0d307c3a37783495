"""The seed file (`punctual seed FILE.json`): what the contract's example creates, idempotence, every
kind of validation error with its path, the CLI's exit code, and the demo tenant."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.genesys_sim import genesys_sim  # noqa: F401
from web.auth import authenticate
from web.crypto import decrypt
from web.db.piccolo_app import APP_CONFIG
from web.db.tables import (
    ApiClient,
    Booking,
    GenesysSettings,
    Membership,
    Preset,
    User,
    VideoApp,
    WhatsAppSender,
    WorkingHours,
)
from web.seeding import SeedError, seed_file, validate_seed

pytestmark = pytest.mark.timeout(60)

APP_ID = "8d7c2f4e-1b2a-4c3d-9e8f-0a1b2c3d4e5f"
ANA_GENESYS_ID = "aaaaaaaa-0000-4000-8000-000000000001"
ORG_ID = "11111111-1111-4111-8111-111111111111"
INTEGRATION_ID = "55555555-5555-4555-8555-555555555555"

# The example of the seed-file contract, with real values in place of its placeholders.
CONTRACT_EXAMPLE = {
    "users": [
        {"email": "admin@example.com", "name": "Ada Admin", "password": "admin password 1", "admin": True},
        {"email": "ana@example.com", "name": "Ana Agent", "password": "agent password 1"},
    ],
    "apps": [
        {
            "id": APP_ID,
            "name": "Clinic video",
            "timezone": "America/Bogota",
            "members": [
                {"email": "admin@example.com", "role": "admin"},
                {
                    "email": "ana@example.com",
                    "role": "agent",
                    "genesys_user_id": ANA_GENESYS_ID,
                    "timezone": "America/Bogota",
                },
            ],
            "working_hours": [
                {
                    "email": "ana@example.com",
                    "weekday": 0,
                    "start": "09:00",
                    "end": "17:00",
                    "timezone": "America/Bogota",
                },
            ],
            "preset": {
                "scheduling_enabled": True,
                "assignment_mode": "manual",
                "buffer_before_minutes": 0,
                "buffer_after_minutes": 0,
                "require_confirmation": False,
                "customer_may_reschedule": True,
                "customer_may_cancel": True,
                "no_show_grace_minutes": 10,
                "genesys_dispatch_enabled": True,
                "dispatch_minutes_before": 5,
                "dispatch_include_intake_notes": True,
                "reminders": {
                    "invitation": ["whatsapp"],
                    "reminder_1h": ["whatsapp"],
                    "reminder_15m": ["whatsapp"],
                },
            },
            "genesys": {
                "region": "mypurecloud.com",
                "login_base_url": "http://127.0.0.1:8090",
                "api_base_url": "http://127.0.0.1:8090",
                "client_id": "c1c1c1c1-0000-4000-8000-000000000001",
                "client_secret": "genesys-client-secret",
                "organization_id": ORG_ID,
                "open_messaging_integration_id": INTEGRATION_ID,
            },
            "whatsapp": {
                "base_url": "http://127.0.0.1:8091",
                "phone_number_id": "100000000000001",
                "access_token": "whatsapp-access-token",
                "templates": {"invitation": {"name": "meeting_invitation", "language": "en"}},
            },
            "api_clients": [
                {
                    "client_id": "clinic-crm",
                    "client_secret": "clinic-crm-secret-0123",
                    "scopes": ["scheduling:read", "scheduling:write"],
                }
            ],
        }
    ],
}


def write(tmp_path: Path, document: dict, name: str = "seed.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


async def snapshot() -> dict[str, list[dict]]:
    """Every row of every table, in a stable order."""
    tables = {}
    for table in APP_CONFIG.table_classes:
        rows = await table.select()
        tables[table._meta.tablename] = sorted(
            rows, key=lambda row: str(row[table._meta.primary_key._meta.name])
        )
    return tables


# --- what the contract's example creates --------------------------------------------------------------


async def test_the_contract_example_creates_everything_it_describes(app, client, settings, tmp_path):
    report = await seed_file(settings, write(tmp_path, CONTRACT_EXAMPLE))
    assert "user admin@example.com: created" in report

    admin = await authenticate("admin@example.com", "admin password 1")
    ana = await authenticate("ana@example.com", "agent password 1")
    assert admin is not None and admin.is_superuser and admin.name == "Ada Admin"
    assert ana is not None and not ana.is_superuser

    video_app = await VideoApp.objects().get(VideoApp.public_id == APP_ID)
    assert (video_app.name, video_app.timezone) == ("Clinic video", "America/Bogota")
    members = {row["user"]: row for row in await Membership.select().where(Membership.app == video_app.id)}
    assert members[admin.id]["role"] == "admin"
    assert members[ana.id]["role"] == "agent"
    assert members[ana.id]["genesys_user_id"] == ANA_GENESYS_ID
    hours = await WorkingHours.select(
        WorkingHours.weekday, WorkingHours.start, WorkingHours.end, WorkingHours.timezone
    ).where(WorkingHours.user == ana.id)
    assert hours == [{"weekday": 0, "start": "09:00", "end": "17:00", "timezone": "America/Bogota"}]

    preset = await Preset.objects().get(Preset.app == video_app.id)
    assert preset.genesys_dispatch_enabled and preset.dispatch_include_intake_notes
    reminders = preset.reminders if isinstance(preset.reminders, dict) else json.loads(preset.reminders)
    assert reminders == {
        "invitation": ["whatsapp"],
        "reminder_1h": ["whatsapp"],
        "reminder_15m": ["whatsapp"],
    }

    genesys = await GenesysSettings.objects().get(GenesysSettings.app == video_app.id)
    assert genesys.organization_id == ORG_ID and genesys.api_base_url == "http://127.0.0.1:8090"
    assert "genesys-client-secret" not in genesys.client_secret_encrypted
    assert decrypt(settings.secret_key, genesys.client_secret_encrypted) == "genesys-client-secret"

    sender = await WhatsAppSender.objects().get(WhatsAppSender.id == video_app.whatsapp_sender)
    assert sender.base_url == "http://127.0.0.1:8091" and sender.phone_number_id == "100000000000001"
    assert decrypt(settings.secret_key, sender.access_token_encrypted) == "whatsapp-access-token"
    templates = sender.templates if isinstance(sender.templates, dict) else json.loads(sender.templates)
    # A template without params takes the standard variables of its kind.
    assert templates["invitation"]["params"] == ["guest_name", "meeting_time", "action_link"]

    # The API client works with the secret the file gave it.
    response = await client.post(
        "/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": "clinic-crm",
            "client_secret": "clinic-crm-secret-0123",
        },
    )
    assert response.status_code == 200, response.text
    token = response.json()["data"]["access_token"]
    listed = await client.get(
        f"/api/v1/video/{APP_ID}/scheduled-calls", headers={"Authorization": f"Bearer {token}"}
    )
    assert listed.status_code == 200, listed.text


async def test_seeding_the_same_file_twice_changes_nothing_the_second_time(app, settings, tmp_path):
    path = write(tmp_path, CONTRACT_EXAMPLE)
    await seed_file(settings, path)
    before = await snapshot()
    counts = {name: len(rows) for name, rows in before.items()}
    assert counts["account"] == 2 and counts["api_client"] == 1 and counts["working_hours"] == 1

    assert await seed_file(settings, path) == ["nothing to change"]

    after = await snapshot()
    assert {name: len(rows) for name, rows in after.items()} == counts
    assert after == before  # not a single value rewritten: hashes, encrypted secrets, timestamps


async def test_a_changed_file_updates_in_place(app, client, settings, tmp_path):
    await seed_file(settings, write(tmp_path, CONTRACT_EXAMPLE))
    changed = copy.deepcopy(CONTRACT_EXAMPLE)
    changed["users"][1]["password"] = "a new password 2"
    changed["apps"][0]["members"][1]["role"] = "admin"
    changed["apps"][0]["working_hours"].append(
        {"email": "ana@example.com", "weekday": 1, "start": "08:00", "end": "12:00"}
    )
    changed["apps"][0]["preset"]["buffer_after_minutes"] = 10
    changed["apps"][0]["api_clients"][0]["scopes"] = ["scheduling:read"]
    report = await seed_file(settings, write(tmp_path, changed, "changed.json"))

    assert "user ana@example.com: updated" in report
    assert await authenticate("ana@example.com", "agent password 1") is None
    ana = await authenticate("ana@example.com", "a new password 2")
    assert ana is not None
    assert await User.count() == 2 and await VideoApp.count() == 1
    member = await Membership.objects().get(Membership.user == ana.id)
    assert member.role == "admin"
    assert await WorkingHours.count().where(WorkingHours.user == ana.id) == 2
    assert (await Preset.objects().first()).buffer_after_minutes == 10
    client_row = await ApiClient.objects().get(ApiClient.client_id == "clinic-crm")
    scopes = client_row.scopes if isinstance(client_row.scopes, list) else json.loads(client_row.scopes)
    assert scopes == ["scheduling:read"]


async def test_an_app_without_id_is_found_again_by_its_name(app, settings, tmp_path):
    document = {"apps": [{"name": "No id yet", "timezone": "Europe/Madrid"}]}
    path = write(tmp_path, document)
    await seed_file(settings, path)
    await seed_file(settings, path)
    assert await VideoApp.count().where(VideoApp.name == "No id yet") == 1


# --- validation ---------------------------------------------------------------------------------------------


def mutate(change) -> dict:
    document = copy.deepcopy(CONTRACT_EXAMPLE)
    change(document)
    return document


def _app(doc: dict) -> dict:
    return doc["apps"][0]


INVALID = [
    # (what is wrong, change to the example, expected problem line)
    ("unknown top-level field", lambda d: d.update(extra=1), "$.extra: unknown field"),
    ("apps is not a list", lambda d: d.update(apps={}), "apps: must be a list"),
    (
        "bad email",
        lambda d: d["users"][0].update(email="nope"),
        "users[0].email: must be an email address like name@example.com",
    ),
    (
        "short password",
        lambda d: d["users"][1].update(password="short"),
        "users[1].password: must be a string of at least 8 characters",
    ),
    (
        "admin not a boolean",
        lambda d: d["users"][0].update(admin="yes"),
        "users[0].admin: must be true or false",
    ),
    ("duplicate user", lambda d: d["users"].append(dict(d["users"][0])), "users[2].email: is listed twice"),
    (
        "bad app id",
        lambda d: _app(d).update(id="not-a-uuid"),
        "apps[0].id: must be a UUID such as 8d7c2f4e-1b2a-4c3d-9e8f-0a1b2c3d4e5f",
    ),
    ("missing app name", lambda d: _app(d).pop("name"), "apps[0].name: is required"),
    (
        "bad app time zone",
        lambda d: _app(d).update(timezone="Mars/Base"),
        "apps[0].timezone: must be an IANA time zone such as America/Bogota",
    ),
    (
        "bad role",
        lambda d: _app(d)["members"][1].update(role="boss"),
        "apps[0].members[1].role: must be admin or agent",
    ),
    (
        "member listed twice",
        lambda d: _app(d)["members"].append({"email": "ana@example.com"}),
        "apps[0].members[2].email: is listed twice in this app",
    ),
    (
        "working hours of a non-member",
        lambda d: _app(d)["working_hours"][0].update(email="zoe@example.com"),
        "apps[0].working_hours[0].email: must be one of this app's members",
    ),
    (
        "weekday out of range",
        lambda d: _app(d)["working_hours"][0].update(weekday=7),
        "apps[0].working_hours[0].weekday: must be a whole number from 0 (Monday) to 6 (Sunday)",
    ),
    (
        "bad time",
        lambda d: _app(d)["working_hours"][0].update(start="9am"),
        "apps[0].working_hours[0].start: must be a time as HH:MM",
    ),
    (
        "end before start",
        lambda d: _app(d)["working_hours"][0].update(end="08:00"),
        "apps[0].working_hours[0].end: must be after the start",
    ),
    (
        "unknown preset field",
        lambda d: _app(d)["preset"].update(colour="red"),
        "apps[0].preset.colour: unknown field",
    ),
    (
        "preset number as text",
        lambda d: _app(d)["preset"].update(buffer_after_minutes="5"),
        "apps[0].preset.buffer_after_minutes: must be a whole number",
    ),
    (
        "preset number out of range",
        lambda d: _app(d)["preset"].update(dispatch_minutes_before=500),
        "apps[0].preset.dispatch_minutes_before: Dispatch minutes before must be between 1 and 120.",
    ),
    (
        "unknown reminder kind",
        lambda d: _app(d)["preset"]["reminders"].update(weekly=["whatsapp"]),
        "apps[0].preset.reminders: Unknown reminder kind 'weekly'.",
    ),
    (
        "bad Genesys region",
        lambda d: _app(d)["genesys"].update(region="mars"),
        "apps[0].genesys.region: Choose one of the Genesys Cloud regions.",
    ),
    (
        "missing Genesys secret",
        lambda d: _app(d)["genesys"].pop("client_secret"),
        "apps[0].genesys.client_secret: Give the client secret of that OAuth client.",
    ),
    (
        "bad WhatsApp phone number id",
        lambda d: _app(d)["whatsapp"].update(phone_number_id="abc"),
        "apps[0].whatsapp.phone_number_id: Enter the phone number id (digits) from the WhatsApp app.",
    ),
    (
        "bad template name",
        lambda d: _app(d)["whatsapp"]["templates"]["invitation"].update(name="Bad Name"),
        "apps[0].whatsapp.templates.invitation.name: "
        "Template names use lowercase letters, digits and underscores.",
    ),
    (
        "unknown API scope",
        lambda d: _app(d)["api_clients"][0].update(scopes=["admin"]),
        "apps[0].api_clients[0].scopes: must be a non-empty list of scheduling:read, scheduling:write",
    ),
    (
        "short API secret",
        lambda d: _app(d)["api_clients"][0].update(client_secret="short"),
        "apps[0].api_clients[0].client_secret: must be a string of at least 16 characters",
    ),
]


@pytest.mark.parametrize(("what", "change", "expected"), INVALID, ids=[case[0] for case in INVALID])
def test_each_invalid_input_is_reported_with_its_path(what, change, expected):
    _, problems = validate_seed(mutate(change))
    assert expected in problems, problems


def test_every_problem_is_reported_at_once():
    def break_two(doc):
        doc["users"][0]["email"] = "nope"
        _app(doc)["members"][1]["role"] = "boss"

    _, problems = validate_seed(mutate(break_two))
    assert len(problems) >= 2


async def test_invalid_files_write_nothing(app, settings, tmp_path):
    before = await snapshot()
    with pytest.raises(SeedError) as raised:
        await seed_file(
            settings, write(tmp_path, mutate(lambda d: _app(d)["members"][1].update(role="boss")))
        )
    assert raised.value.problems == ["apps[0].members[1].role: must be admin or agent"]
    # A problem only the database reveals (a member who is no user) rolls back what came before it.
    document = mutate(lambda d: _app(d)["members"].append({"email": "ghost@example.com", "role": "agent"}))
    with pytest.raises(SeedError) as raised:
        await seed_file(settings, write(tmp_path, document, "ghost.json"))
    assert raised.value.problems == ["apps[0].members[2].email: no such user; list it under users"]
    with pytest.raises(SeedError) as raised:
        await seed_file(settings, tmp_path / "missing.json")
    assert raised.value.problems[0].startswith("$: cannot read the file")
    (tmp_path / "broken.json").write_text('{"users": [', encoding="utf-8")
    with pytest.raises(SeedError) as raised:
        await seed_file(settings, tmp_path / "broken.json")
    assert raised.value.problems[0].startswith("line 1 column 12: not valid JSON")
    assert await snapshot() == before


async def test_a_client_id_of_another_app_is_refused(app, settings, tmp_path):
    await seed_file(settings, write(tmp_path, CONTRACT_EXAMPLE))
    other = {
        "apps": [
            {
                "name": "Other app",
                "api_clients": [{"client_id": "clinic-crm", "client_secret": "another-secret-0123456"}],
            }
        ]
    }
    with pytest.raises(SeedError) as raised:
        await seed_file(settings, write(tmp_path, other, "other.json"))
    assert raised.value.problems == ["apps[0].api_clients[0].client_id: belongs to another app"]
    assert await VideoApp.count() == 1


# --- the command line ---------------------------------------------------------------------------------------


def test_the_cli_exits_1_with_file_path_reason_lines(tmp_path, database_url):
    path = write(tmp_path, mutate(lambda d: _app(d)["members"][1].update(role="boss")))
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "cli-test-secret-key-0123456789"}
    result = subprocess.run(
        [sys.executable, "-m", "web.cli", "seed", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 1
    assert f"{path}: apps[0].members[1].role: must be admin or agent" in result.stderr.splitlines()


def test_the_cli_seeds_and_reports(tmp_path, database_url, monkeypatch, capsys):
    from web.cli import main

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SECRET_KEY", "cli-test-secret-key-0123456789")
    path = write(tmp_path, CONTRACT_EXAMPLE)
    main(["seed", str(path)])
    assert "API client clinic-crm created" in capsys.readouterr().out
    main(["seed", str(path)])
    assert capsys.readouterr().out.strip() == "nothing to change"


# --- the demo tenant ------------------------------------------------------------------------------------


def test_the_demo_seed_file_is_valid():
    from web.demo import DEMO_SEED_PATH

    _, problems = validate_seed(json.loads(DEMO_SEED_PATH.read_text(encoding="utf-8")))
    assert problems == []


async def test_the_demo_tenant_seeds_with_genesys_connected_and_bookings_once(app, settings, genesys_sim):
    from simulators.genesys.fixture import USERS
    from web.demo import DEMO_PASSWORD, demo_document, prepare_demo

    port = int(genesys_sim.url.rsplit(":", 1)[1])
    document = demo_document(port, 8091)
    facts = await prepare_demo(settings, document)
    assert facts["genesys_ok"] is True
    assert facts["booked"] == 6
    # My schedules and the interaction widget exist in the simulator's org, enabled.
    live = [i for i in genesys_sim.state()["integrations"] if not i["deleted"]]
    assert sorted(i["name"] for i in live) == [
        "My schedules (Demo clinic)",
        "Video meeting (Demo clinic)",
    ]

    # The agents line up with the simulator's users, and everyone signs in with the demo password.
    video_app = await VideoApp.objects().get(VideoApp.public_id == facts["app_public_id"])
    agents = await Membership.select(
        Membership.user.email.as_alias("email"), Membership.genesys_user_id
    ).where((Membership.app == video_app.id) & (Membership.role == "agent"))
    assert {row["email"]: row["genesys_user_id"] for row in agents} == {
        user["email"]: user["id"] for user in USERS.values()
    }
    for user in document["users"]:
        assert await authenticate(user["email"], DEMO_PASSWORD) is not None

    before = await snapshot()
    again = await prepare_demo(settings, document)
    assert again["booked"] == 0 and again["report"] == ["nothing to change"]
    assert await Booking.count() == 6
    after = await snapshot()
    # Only the connection test's own record moves on a second start.
    for name in before:
        if name != "genesys_settings":
            assert after[name] == before[name], name

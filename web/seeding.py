"""`punctual seed FILE.json`: create or update users, video apps and everything an app holds from a
declarative JSON file (the format is described in docs/seed.md).

Two steps: `validate_seed` checks the whole document without touching the database and reports every
problem as `path: reason`; `apply_seed` then writes it in one transaction through the same services
the consoles use. Seeding is idempotent: a row is written only when what the file says differs from
what is stored, so a second run of the same file changes nothing. Seeding adds and updates; it never
removes what the file does not mention.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

from web import clock
from web.auth import create_user, normalize_email
from web.crypto import decrypt
from web.db import engine as db
from web.db.engine import transaction
from web.db.tables import ApiClient, Membership, Preset, User, VideoApp, WorkingHours
from web.genesys import settings_store
from web.passwords import hash_password, verify_password
from web.scheduling import api_clients, presets
from web.scheduling.hooks import Actor
from web.scheduling.timeutil import valid_timezone
from web.settings import Settings, sqlite_path
from web.whatsapp import senders

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d|24:00")
MIN_PASSWORD = 8
MIN_CLIENT_SECRET = 16

TOP_FIELDS = {"users", "apps"}
USER_FIELDS = {"email", "name", "password", "admin"}
APP_FIELDS = {
    "id",
    "name",
    "timezone",
    "members",
    "working_hours",
    "preset",
    "genesys",
    "whatsapp",
    "api_clients",
}
MEMBER_FIELDS = {"email", "role", "genesys_user_id", "timezone"}
HOURS_FIELDS = {"email", "weekday", "start", "end", "timezone"}
SENDER_FIELDS = {"name", "base_url", "api_version", "phone_number_id", "access_token", "templates"}
CLIENT_FIELDS = {"client_id", "client_secret", "name", "scopes", "rate_limit_per_minute"}


class SeedError(Exception):
    """The file cannot be seeded. `problems` are `path: reason` lines; nothing was written."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


# --- the validated plan ---------------------------------------------------------------------------------


@dataclass
class UserPlan:
    email: str
    name: str | None
    password: str | None
    admin: bool | None


@dataclass
class MemberPlan:
    email: str
    role: str
    genesys_user_id: str | None
    timezone: str


@dataclass
class AppPlan:
    path: str
    public_id: uuid.UUID | None
    name: str
    timezone: str
    members: list[MemberPlan] = field(default_factory=list)
    # email -> [(weekday, start, end, timezone)], replacing that member's weekly hours
    working_hours: dict[str, list[tuple[int, str, str, str]]] = field(default_factory=dict)
    preset: dict[str, Any] | None = None
    genesys: dict[str, str] | None = None
    whatsapp: dict[str, Any] | None = None
    api_clients: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class SeedPlan:
    users: list[UserPlan] = field(default_factory=list)
    apps: list[AppPlan] = field(default_factory=list)


# --- validation (pure) ------------------------------------------------------------------------------------


class _Problems(list):
    def add(self, path: str, reason: str) -> None:
        self.append(f"{path}: {reason}")


def _object(value: Any, path: str, allowed: set[str], problems: _Problems) -> dict | None:
    if not isinstance(value, dict):
        problems.add(path, "must be an object")
        return None
    for key in sorted(set(value) - allowed):
        problems.add(f"{path}.{key}", "unknown field")
    return value


def _list(value: Any, path: str, problems: _Problems) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        problems.add(path, "must be a list")
        return []
    return value


def _string(
    data: dict, name: str, path: str, problems: _Problems, *, required: bool = False, max_length: int = 200
) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            problems.add(f"{path}.{name}", "is required")
        return None
    if not isinstance(value, str):
        problems.add(f"{path}.{name}", "must be a string")
        return None
    value = value.strip()
    if required and not value:
        problems.add(f"{path}.{name}", "must not be empty")
        return None
    if len(value) > max_length:
        problems.add(f"{path}.{name}", f"must be at most {max_length} characters")
        return None
    return value


def _timezone(data: dict, path: str, problems: _Problems, default: str) -> str:
    if data.get("timezone") is None:
        return default
    value = data["timezone"]
    if not valid_timezone(value):
        problems.add(f"{path}.timezone", "must be an IANA time zone such as America/Bogota")
        return default
    return value


def _email(data: dict, path: str, problems: _Problems) -> str | None:
    value = _string(data, "email", path, problems, required=True, max_length=254)
    if value is None:
        return None
    if not EMAIL.fullmatch(value):
        problems.add(f"{path}.email", "must be an email address like name@example.com")
        return None
    return normalize_email(value)


def _validate_user(raw: Any, path: str, problems: _Problems) -> UserPlan | None:
    data = _object(raw, path, USER_FIELDS, problems)
    if data is None:
        return None
    email = _email(data, path, problems)
    name = _string(data, "name", path, problems)
    password = data.get("password")
    if password is not None and (not isinstance(password, str) or len(password) < MIN_PASSWORD):
        problems.add(f"{path}.password", f"must be a string of at least {MIN_PASSWORD} characters")
        password = None
    admin = data.get("admin")
    if admin is not None and not isinstance(admin, bool):
        problems.add(f"{path}.admin", "must be true or false")
        admin = None
    return UserPlan(email, name, password, admin) if email else None


def _validate_members(raw: Any, path: str, app_tz: str, problems: _Problems) -> list[MemberPlan]:
    members: list[MemberPlan] = []
    seen: set[str] = set()
    for index, item in enumerate(_list(raw, path, problems)):
        where = f"{path}[{index}]"
        data = _object(item, where, MEMBER_FIELDS, problems)
        if data is None:
            continue
        email = _email(data, where, problems)
        role = data.get("role", "agent")
        if role not in ("admin", "agent"):
            problems.add(f"{where}.role", "must be admin or agent")
        genesys_user_id = _string(data, "genesys_user_id", where, problems, max_length=64)
        tz = _timezone(data, where, problems, app_tz)
        if email in seen:
            problems.add(f"{where}.email", "is listed twice in this app")
        elif email:
            seen.add(email)
            members.append(MemberPlan(email, role, genesys_user_id or None, tz))
    return members


def _validate_hours(
    raw: Any, path: str, members: dict[str, MemberPlan], problems: _Problems
) -> dict[str, list[tuple[int, str, str, str]]]:
    hours: dict[str, list[tuple[int, str, str, str]]] = {}
    for index, item in enumerate(_list(raw, path, problems)):
        where = f"{path}[{index}]"
        data = _object(item, where, HOURS_FIELDS, problems)
        if data is None:
            continue
        email = _email(data, where, problems)
        if email and email not in members:
            problems.add(f"{where}.email", "must be one of this app's members")
            email = None
        weekday = data.get("weekday")
        if not isinstance(weekday, int) or isinstance(weekday, bool) or not 0 <= weekday <= 6:
            problems.add(f"{where}.weekday", "must be a whole number from 0 (Monday) to 6 (Sunday)")
            weekday = None
        times = []
        for part in ("start", "end"):
            value = data.get(part)
            if (
                not isinstance(value, str)
                or not HHMM.fullmatch(value)
                or (part == "start" and value == "24:00")
            ):
                problems.add(f"{where}.{part}", "must be a time as HH:MM")
                value = None
            times.append(value)
        start, end = times
        if start and end and end != "24:00" and end <= start:
            problems.add(f"{where}.end", "must be after the start")
            continue
        default_tz = members[email].timezone if email else "UTC"
        tz = _timezone(data, where, problems, default_tz)
        if email and weekday is not None and start and end:
            hours.setdefault(email, []).append((weekday, start, end, tz))
    return hours


def _validate_preset(raw: Any, path: str, problems: _Problems) -> dict[str, Any] | None:
    data = _object(raw, path, set(presets.PRESET_FIELDS), problems)
    if data is None:
        return None
    typed: dict[str, Any] = {}
    for name, value in data.items():
        kind = presets.PRESET_FIELDS.get(name, (None,))[0]
        if kind == "bool" and not isinstance(value, bool):
            problems.add(f"{path}.{name}", "must be true or false")
        elif kind == "int" and (not isinstance(value, int) or isinstance(value, bool)):
            problems.add(f"{path}.{name}", "must be a whole number")
        elif kind == "reminders" and not isinstance(value, dict):
            problems.add(f"{path}.{name}", "must map reminder kinds to lists of channels")
        elif kind == "reminders" and any(not isinstance(v, list) for v in value.values()):
            problems.add(f"{path}.{name}", 'each reminder kind takes a list of channels, like ["whatsapp"]')
        elif kind is not None:
            typed[name] = value
    values, errors = presets.validate_preset(typed, partial=True)
    for name, message in errors.items():
        problems.add(f"{path}.{name}", message)
    return values


def _validate_genesys(raw: Any, path: str, problems: _Problems) -> dict[str, str] | None:
    data = _object(raw, path, set(settings_store.FORM_FIELDS), problems)
    if data is None:
        return None
    for name, value in data.items():
        if name in settings_store.FORM_FIELDS and not isinstance(value, str):
            problems.add(f"{path}.{name}", "must be a string")
    values, errors = settings_store.validate_settings(data, secret_is_set=False)
    for name, message in errors.items():
        problems.add(f"{path}.{name}", message)
    return values


def _validate_whatsapp(raw: Any, path: str, problems: _Problems) -> dict[str, Any] | None:
    data = _object(raw, path, SENDER_FIELDS, problems)
    if data is None:
        return None
    data = dict(data)
    templates = data.get("templates")
    if templates is None:
        data["templates"] = senders.DEFAULT_TEMPLATES
    elif not isinstance(templates, dict) or any(not isinstance(t, dict) for t in templates.values()):
        problems.add(f"{path}.templates", 'must map reminder kinds to {"name", "language", "params"}')
        return None
    else:
        # A template without `params` takes the variables of the standard template of its kind.
        data["templates"] = {
            kind: {"params": senders.DEFAULT_TEMPLATES.get(kind, {}).get("params", []), **spec}
            for kind, spec in templates.items()
        }
    values, errors = senders.validate_sender(data, token_stored=False)
    for name, message in errors.items():
        if name.startswith("template_"):
            kind, part = name[len("template_") :].rsplit("_", 1)
            name = f"templates.{kind}.{part}"
        problems.add(f"{path}.{name}", message)
    return values


def _validate_clients(raw: Any, path: str, problems: _Problems, seen: set[str]) -> list[dict[str, Any]]:
    clients = []
    for index, item in enumerate(_list(raw, path, problems)):
        where = f"{path}[{index}]"
        data = _object(item, where, CLIENT_FIELDS, problems)
        if data is None:
            continue
        client_id = _string(data, "client_id", where, problems, required=True, max_length=100)
        if client_id and not api_clients.CLIENT_ID_PATTERN.fullmatch(client_id):
            problems.add(f"{where}.client_id", "must be 3 to 100 letters, digits, '.', '_' or '-'")
            client_id = None
        elif client_id in seen:
            problems.add(f"{where}.client_id", "is listed twice in this file")
            client_id = None
        secret = data.get("client_secret")
        if not isinstance(secret, str) or len(secret) < MIN_CLIENT_SECRET:
            problems.add(
                f"{where}.client_secret", f"must be a string of at least {MIN_CLIENT_SECRET} characters"
            )
            secret = None
        scopes = data.get("scopes", list(api_clients.SCOPES))
        if not isinstance(scopes, list) or not scopes or any(s not in api_clients.SCOPES for s in scopes):
            problems.add(f"{where}.scopes", f"must be a non-empty list of {', '.join(api_clients.SCOPES)}")
            scopes = None
        rate = data.get("rate_limit_per_minute", api_clients.DEFAULT_RATE_LIMIT_PER_MINUTE)
        if not isinstance(rate, int) or isinstance(rate, bool) or not 1 <= rate <= 100_000:
            problems.add(f"{where}.rate_limit_per_minute", "must be a whole number from 1 to 100000")
            rate = None
        name = _string(data, "name", where, problems)
        if client_id and secret and scopes and rate:
            seen.add(client_id)
            clients.append(
                {
                    "client_id": client_id,
                    "secret": secret,
                    "name": name or client_id,
                    "scopes": [s for s in api_clients.SCOPES if s in scopes],
                    "rate_limit_per_minute": rate,
                }
            )
    return clients


def _validate_app(raw: Any, path: str, problems: _Problems, client_ids: set[str]) -> AppPlan | None:
    data = _object(raw, path, APP_FIELDS, problems)
    if data is None:
        return None
    public_id = None
    if data.get("id") is not None:
        try:
            public_id = uuid.UUID(str(data["id"]))
        except ValueError:
            public_id = None
        if not isinstance(data["id"], str) or public_id is None:
            problems.add(f"{path}.id", "must be a UUID such as 8d7c2f4e-1b2a-4c3d-9e8f-0a1b2c3d4e5f")
    name = _string(data, "name", path, problems, required=True)
    tz = _timezone(data, path, problems, "UTC")
    app = AppPlan(path=path, public_id=public_id, name=name or "", timezone=tz)
    app.members = _validate_members(data.get("members"), f"{path}.members", tz, problems)
    by_email = {member.email: member for member in app.members}
    app.working_hours = _validate_hours(
        data.get("working_hours"), f"{path}.working_hours", by_email, problems
    )
    if data.get("preset") is not None:
        app.preset = _validate_preset(data["preset"], f"{path}.preset", problems)
    if data.get("genesys") is not None:
        app.genesys = _validate_genesys(data["genesys"], f"{path}.genesys", problems)
    if data.get("whatsapp") is not None:
        app.whatsapp = _validate_whatsapp(data["whatsapp"], f"{path}.whatsapp", problems)
    app.api_clients = _validate_clients(data.get("api_clients"), f"{path}.api_clients", problems, client_ids)
    return app if name else None


def validate_seed(document: Any) -> tuple[SeedPlan, list[str]]:
    """Check a parsed seed document. Returns the plan and every problem found (`path: reason`);
    the plan is only meant to be applied when there are no problems."""
    problems = _Problems()
    plan = SeedPlan()
    data = _object(document, "$", TOP_FIELDS, problems)
    if data is None:
        return plan, list(problems)
    emails: set[str] = set()
    for index, item in enumerate(_list(data.get("users"), "users", problems)):
        user = _validate_user(item, f"users[{index}]", problems)
        if user is None:
            continue
        if user.email in emails:
            problems.add(f"users[{index}].email", "is listed twice")
            continue
        emails.add(user.email)
        plan.users.append(user)
    app_ids: set[uuid.UUID] = set()
    unnamed: set[str] = set()
    client_ids: set[str] = set()
    for index, item in enumerate(_list(data.get("apps"), "apps", problems)):
        app = _validate_app(item, f"apps[{index}]", problems, client_ids)
        if app is None:
            continue
        if app.public_id is not None:
            if app.public_id in app_ids:
                problems.add(f"apps[{index}].id", "is listed twice")
            app_ids.add(app.public_id)
        else:
            # Without an id an app is found again by its name, so names must tell them apart.
            if app.name in unnamed:
                problems.add(f"apps[{index}].name", "two apps without an id share this name; give them ids")
            unnamed.add(app.name)
        plan.apps.append(app)
    return plan, list(problems)


def load_seed(path: str | Path) -> SeedPlan:
    """Read and validate a seed file. Raises SeedError with every problem found."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SeedError([f"$: cannot read the file ({exc.strerror or exc})"]) from None
    try:
        document = json.loads(text)
    except ValueError as exc:
        where = f"line {exc.lineno} column {exc.colno}" if hasattr(exc, "lineno") else "$"
        raise SeedError([f"{where}: not valid JSON ({getattr(exc, 'msg', exc)})"]) from None
    plan, problems = validate_seed(document)
    if problems:
        raise SeedError(problems)
    return plan


# --- applying ---------------------------------------------------------------------------------------------


@dataclass
class _Run:
    secret_key: str
    now: datetime
    report: list[str] = field(default_factory=list)
    problems: _Problems = field(default_factory=_Problems)

    def note(self, line: str) -> None:
        self.report.append(line)


async def _seed_user(run: _Run, plan: UserPlan) -> None:
    user = await User.objects().get(User.email == plan.email)
    if user is None:
        # Without a password the account exists (for memberships) but cannot sign in yet.
        password = plan.password or secrets.token_urlsafe(24)
        await create_user(plan.email, password, name=plan.name or "", superuser=bool(plan.admin))
        run.note(f"user {plan.email}: created")
        return
    changes: dict[Any, Any] = {}
    if plan.name is not None and plan.name != user.name:
        changes[User.name] = plan.name
    if plan.admin is not None and plan.admin != user.is_superuser:
        changes[User.is_superuser] = plan.admin
    # The stored hash is salted: compare by verifying, so an unchanged password is not rewritten.
    if plan.password is not None and not verify_password(user.password_hash, plan.password):
        changes[User.password_hash] = hash_password(plan.password)
    if changes:
        await User.update(changes).where(User.id == user.id)
        run.note(f"user {plan.email}: updated")


async def _find_app(plan: AppPlan):
    if plan.public_id is not None:
        return await VideoApp.objects().get(VideoApp.public_id == plan.public_id)
    found = await VideoApp.objects().where(VideoApp.name == plan.name).limit(2)
    if len(found) > 1:
        return "ambiguous"
    return found[0] if found else None


async def _seed_app(run: _Run, plan: AppPlan) -> None:
    app = await _find_app(plan)
    if isinstance(app, str):
        run.problems.add(f"{plan.path}.name", "several apps have this name; give the app's id")
        return
    label = f"app {plan.name!r}"
    if app is None:
        app = VideoApp(public_id=plan.public_id or uuid.uuid4(), name=plan.name, timezone=plan.timezone)
        await app.save()
        run.note(f"{label}: created with id {app.public_id}")
    elif (app.name, app.timezone) != (plan.name, plan.timezone):
        await VideoApp.update({VideoApp.name: plan.name, VideoApp.timezone: plan.timezone}).where(
            VideoApp.id == app.id
        )
        run.note(f"{label}: updated")
    user_ids = await _seed_members(run, app.id, plan, label)
    if user_ids is None:
        return
    await _seed_hours(run, app.id, plan, user_ids, label)
    if plan.preset is not None:
        await _seed_preset(run, app.id, plan.preset, label)
    if plan.genesys is not None:
        await _seed_genesys(run, app.id, plan.genesys, label)
    if plan.whatsapp is not None:
        await _seed_whatsapp(run, app.id, plan.whatsapp, label)
    await _seed_clients(run, app.id, plan, label)


async def _seed_members(run: _Run, app_id: int, plan: AppPlan, label: str) -> dict[str, int] | None:
    user_ids: dict[str, int] = {}
    for index, member in enumerate(plan.members):
        user = await User.objects().get(User.email == member.email)
        if user is None:
            run.problems.add(f"{plan.path}.members[{index}].email", "no such user; list it under users")
            continue
        user_ids[member.email] = user.id
        row = await Membership.objects().get((Membership.app == app_id) & (Membership.user == user.id))
        wanted = (member.role, member.genesys_user_id, member.timezone)
        if row is None:
            await Membership(
                app=app_id,
                user=user.id,
                role=member.role,
                genesys_user_id=member.genesys_user_id,
                timezone=member.timezone,
            ).save()
            run.note(f"{label}: member {member.email} added as {member.role}")
        elif (row.role, row.genesys_user_id, row.timezone) != wanted:
            await Membership.update(
                {
                    Membership.role: member.role,
                    Membership.genesys_user_id: member.genesys_user_id,
                    Membership.timezone: member.timezone,
                }
            ).where(Membership.id == row.id)
            run.note(f"{label}: member {member.email} updated")
    return None if len(user_ids) != len(plan.members) else user_ids


async def _seed_hours(run: _Run, app_id: int, plan: AppPlan, user_ids: dict[str, int], label: str) -> None:
    for email, windows in plan.working_hours.items():
        user_id = user_ids[email]
        where = (WorkingHours.app == app_id) & (WorkingHours.user == user_id)
        stored = await WorkingHours.select(
            WorkingHours.weekday, WorkingHours.start, WorkingHours.end, WorkingHours.timezone
        ).where(where)
        current = sorted((r["weekday"], r["start"], r["end"], r["timezone"]) for r in stored)
        if current == sorted(windows):
            continue
        await WorkingHours.delete().where(where)
        await WorkingHours.insert(
            *[
                WorkingHours(app=app_id, user=user_id, weekday=day, start=start, end=end, timezone=tz)
                for day, start, end, tz in sorted(windows)
            ]
        )
        run.note(f"{label}: working hours of {email} set ({len(windows)} windows)")


async def _seed_preset(run: _Run, app_id: int, values: dict[str, Any], label: str) -> None:
    created = not await Preset.exists().where(Preset.app == app_id)
    current = presets.preset_values(await presets.get_preset(app_id))
    changed = {name: value for name, value in values.items() if current[name] != value}
    if changed:
        await presets.save_preset(app_id, changed, Actor.system(), run.now)
    if created or changed:
        run.note(f"{label}: preset {'created' if created else 'updated'}")


async def _seed_genesys(run: _Run, app_id: int, values: dict[str, str], label: str) -> None:
    row = await settings_store.get_row(app_id)
    fields = (*settings_store.CONNECTION_FIELDS, *settings_store.OTHER_FIELDS)
    wanted = dict(values)
    if row is not None:
        if decrypt(run.secret_key, row.client_secret_encrypted) == values["client_secret"]:
            wanted["client_secret"] = ""  # unchanged: keep the stored one (and the last test result)
        if not wanted["client_secret"] and all((getattr(row, n) or "") == values[n] for n in fields):
            return
    # The secret is encrypted with SECRET_KEY, exactly as the settings tab stores it.
    await settings_store.save_settings(app_id, wanted, run.secret_key)
    run.note(f"{label}: Genesys settings {'saved' if row is None else 'updated'}")


async def _seed_whatsapp(run: _Run, app_id: int, values: dict[str, Any], label: str) -> None:
    row = await senders.sender_of_app(app_id)
    wanted = dict(values)
    if row is not None:
        if decrypt(run.secret_key, row.access_token_encrypted) == values["access_token"]:
            wanted["access_token"] = ""  # unchanged: not re-encrypted
        same = all(
            getattr(row, n) == values[n] for n in ("name", "base_url", "api_version", "phone_number_id")
        )
        if same and row.templates == values["templates"] and not wanted["access_token"]:
            return
    await senders.save_sender(app_id, wanted, run.secret_key)
    run.note(f"{label}: WhatsApp sender {'linked' if row is None else 'updated'}")


async def _seed_clients(run: _Run, app_id: int, plan: AppPlan, label: str) -> None:
    for index, wanted in enumerate(plan.api_clients):
        client = await ApiClient.objects().get(ApiClient.client_id == wanted["client_id"])
        if client is None:
            await api_clients.create_client(
                app_id,
                wanted["name"],
                wanted["scopes"],
                client_id=wanted["client_id"],
                secret=wanted["secret"],
                rate_limit_per_minute=wanted["rate_limit_per_minute"],
            )
            run.note(f"{label}: API client {wanted['client_id']} created")
            continue
        if client.app != app_id:
            run.problems.add(f"{plan.path}.api_clients[{index}].client_id", "belongs to another app")
            continue
        changes: dict[Any, Any] = {}
        if client.name != wanted["name"]:
            changes[ApiClient.name] = wanted["name"]
        if api_clients._scopes(client.scopes) != wanted["scopes"]:
            changes[ApiClient.scopes] = wanted["scopes"]
        if client.rate_limit_per_minute != wanted["rate_limit_per_minute"]:
            changes[ApiClient.rate_limit_per_minute] = wanted["rate_limit_per_minute"]
        if not verify_password(client.secret_hash, wanted["secret"]):
            changes[ApiClient.secret_hash] = hash_password(wanted["secret"])
        if changes:
            await ApiClient.update(changes).where(ApiClient.id == client.id)
            run.note(f"{label}: API client {wanted['client_id']} updated")


def attach_planners() -> None:
    """Load the modules whose planners and preset listeners (reminders, pre-meeting dispatch)
    attach to the lifecycle, so changes made outside the web app plan their work too."""
    import web.scheduling.dispatch
    import web.scheduling.reminders  # noqa: F401


class _Rollback(Exception):
    pass


async def apply_seed(plan: SeedPlan, secret_key: str, now: datetime | None = None) -> list[str]:
    """Write `plan` in one transaction; returns what changed, one line each. Problems only the
    database can reveal (an unknown member, a client id of another app) raise SeedError and
    nothing is written. Needs an open database."""

    attach_planners()
    run = _Run(secret_key=secret_key, now=now or clock.now())
    try:
        async with transaction():
            for user in plan.users:
                await _seed_user(run, user)
            for app in plan.apps:
                await _seed_app(run, app)
            if run.problems:
                raise _Rollback()
    except _Rollback:
        raise SeedError(list(run.problems)) from None
    return run.report or ["nothing to change"]


def _serves(engine: Any, url: str) -> bool:
    """Whether `engine` is already connected to `url` (as in a running app or a test)."""

    if isinstance(engine, SQLiteEngine) and url.startswith("sqlite"):
        return str(Path(engine.path).resolve()) == str(Path(sqlite_path(url)).resolve())
    if isinstance(engine, PostgresEngine) and not url.startswith("sqlite"):
        return engine.pool is not None and engine.config.get("dsn") == url.replace(
            "postgres://", "postgresql://", 1
        )
    return False


@contextlib.asynccontextmanager
async def connected(settings: Settings) -> AsyncIterator[None]:
    """The database of `settings`, opened unless already open (as in a running app or a test);
    the embedded SQLite database is migrated first, as `serve` does."""

    opened = not _serves(db.current_engine(), settings.database_url)
    if opened:
        db.use_database(settings.database_url)
        await db.open_database()
    try:
        if settings.is_sqlite:
            with contextlib.redirect_stdout(None):
                await db.migrate()
        yield
    finally:
        if opened:
            await db.close_database()


async def seed_file(settings: Settings, path: str | Path, *, now: datetime | None = None) -> list[str]:
    """Validate the file at `path` and seed it. Raises SeedError (nothing written) on any problem."""
    plan = load_seed(path)
    async with connected(settings):
        return await apply_seed(plan, settings.secret_key, now)

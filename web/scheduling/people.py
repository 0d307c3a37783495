"""People of a video app: members and their roles, agents' working hours, availability exceptions
and do-not-disturb windows. Validation returns errors by form field; nothing here knows HTTP."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from web import clock
from web.auth import create_user, normalize_email
from web.db.engine import transaction
from web.db.tables import (
    FINAL_STATUSES,
    AvailabilityException,
    Booking,
    DndWindow,
    Membership,
    Role,
    User,
    WorkingHours,
)
from web.scheduling import availability, availability_data, dispatch, reminders
from web.scheduling.hooks import Actor, run_after_commit
from web.scheduling.timeutil import valid_timezone

NOT_A_MEMBER = "This person is not a member of the app."
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d|24:00")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")


# --- members ------------------------------------------------------------------------------------------


async def members_of(app_id: int) -> list[dict[str, Any]]:
    """Every member with their role, by name."""
    return (
        await Membership.select(
            Membership.id,
            Membership.user.id.as_alias("user_id"),
            Membership.user.name.as_alias("name"),
            Membership.user.email.as_alias("email"),
            Membership.role,
            Membership.genesys_user_id,
            Membership.timezone,
        )
        .where(Membership.app == app_id)
        .order_by(Membership.user.name)
        .order_by(Membership.user.id)
    )


def _member_values(form: Mapping[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    role = str(form.get("role", "agent")).strip()
    if role not in (Role.admin, Role.agent):
        errors["role"] = "Choose admin or agent."
    tz = str(form.get("timezone", "")).strip() or "UTC"
    if not valid_timezone(tz):
        errors["timezone"] = "Choose a time zone such as America/Bogota."
    genesys = str(form.get("genesys_user_id", "")).strip()
    if len(genesys) > 64:
        errors["genesys_user_id"] = "A Genesys user id is at most 64 characters."
    return {"role": role, "timezone": tz, "genesys_user_id": genesys or None}


async def add_member(app_id: int, form: Mapping[str, Any]) -> tuple[Membership | None, dict[str, str]]:
    """Add (or invite) a person by email. A new account gets a random password until they set one."""
    errors: dict[str, str] = {}
    email = normalize_email(str(form.get("email", "")))
    if not _EMAIL.fullmatch(email) or len(email) > 254:
        errors["email"] = "Enter an email address like name@example.com."
    name = str(form.get("name", "")).strip()[:200]
    values = _member_values(form, errors)
    password = str(form.get("password", ""))
    if password and len(password) < 10:
        errors["password"] = "A password needs at least 10 characters."
    if errors:
        return None, errors
    async with transaction():
        user = await User.objects().get(User.email == email)
        if user is not None and await Membership.exists().where(
            (Membership.app == app_id) & (Membership.user == user.id)
        ):
            return None, {"email": "This person is already a member of the app."}
    if user is None:
        user = await create_user(email, password or secrets.token_urlsafe(24), name=name)
    elif name and not user.name:
        await User.update({User.name: name}).where(User.id == user.id)
    member = Membership(app=app_id, user=user.id, **values)
    await member.save()
    return member, {}


async def update_member(app_id: int, user_id: int, form: Mapping[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    values = _member_values(form, errors)
    if errors:
        return errors
    where = (Membership.app == app_id) & (Membership.user == user_id)
    if not await Membership.exists().where(where):
        return {"member": NOT_A_MEMBER}
    if values["role"] != Role.admin and await _last_admin(app_id, user_id):
        return {"role": "The app needs at least one admin."}
    async with transaction():
        before = await Membership.select(Membership.genesys_user_id).where(where).first()
        await Membership.update(
            {
                Membership.role: values["role"],
                Membership.timezone: values["timezone"],
                Membership.genesys_user_id: values["genesys_user_id"],
            }
        ).where(where)
        callbacks = []
        if (before or {}).get("genesys_user_id") != values["genesys_user_id"]:
            # Pre-meeting messages not yet sent are routed by this id: plan them again.
            callbacks = await dispatch.replan_agent(app_id, user_id, clock.now())
    await run_after_commit(callbacks)
    return {}


async def remove_member(app_id: int, user_id: int) -> dict[str, str]:
    if not await Membership.exists().where((Membership.app == app_id) & (Membership.user == user_id)):
        return {"member": NOT_A_MEMBER}
    if await _last_admin(app_id, user_id):
        return {"member": "The app needs at least one admin."}
    async with transaction():
        await Membership.delete().where((Membership.app == app_id) & (Membership.user == user_id))
        await WorkingHours.delete().where((WorkingHours.app == app_id) & (WorkingHours.user == user_id))
    return {}


async def _last_admin(app_id: int, user_id: int) -> bool:
    admins = await Membership.select(Membership.user).where(
        (Membership.app == app_id) & (Membership.role == Role.admin)
    )
    return [row["user"] for row in admins] == [user_id]


# --- working hours ---------------------------------------------------------------------------------


async def working_hours_form(app_id: int, user_id: int) -> dict[str, str]:
    """`start_<weekday>` / `end_<weekday>` values for the form (empty = not working that day)."""
    rows = await WorkingHours.select().where((WorkingHours.app == app_id) & (WorkingHours.user == user_id))
    values = {f"{part}_{day}": "" for day in range(7) for part in ("start", "end")}
    for row in sorted(rows, key=lambda r: (r["weekday"], r["start"])):
        if not values[f"start_{row['weekday']}"]:
            values[f"start_{row['weekday']}"] = row["start"]
            values[f"end_{row['weekday']}"] = row["end"]
    return values


async def save_working_hours(
    app_id: int, user_id: int, form: Mapping[str, Any], timezone: str
) -> tuple[dict[str, str], dict[str, str]]:
    """Replace the agent's weekly hours (one window a day). Returns (values, errors)."""
    values = {f"{p}_{d}": str(form.get(f"{p}_{d}", "")).strip() for d in range(7) for p in ("start", "end")}
    errors: dict[str, str] = {}
    windows = []
    for day in range(7):
        start, end = values[f"start_{day}"], values[f"end_{day}"]
        if not start and not end:
            continue
        for part, text in (("start", start), ("end", end)):
            if not _HHMM.fullmatch(text):
                errors[f"{part}_{day}"] = f"{WEEKDAYS[day]}: enter a time as HH:MM."
        if f"start_{day}" in errors or f"end_{day}" in errors:
            continue
        if end != "24:00" and end <= start:
            errors[f"end_{day}"] = f"{WEEKDAYS[day]}: the end must be after the start."
            continue
        windows.append(
            WorkingHours(app=app_id, user=user_id, weekday=day, start=start, end=end, timezone=timezone)
        )
    if errors:
        return values, errors
    async with transaction():
        await WorkingHours.delete().where((WorkingHours.app == app_id) & (WorkingHours.user == user_id))
        if windows:
            await WorkingHours.insert(*windows)
    return values, {}


# --- exceptions and DND --------------------------------------------------------------------------------


def check_range(start: datetime | None, end: datetime | None, errors: dict[str, str]) -> None:
    if start is None:
        errors["starts_at"] = "Choose when it starts."
    if end is None:
        errors["ends_at"] = "Choose when it ends."
    if start is not None and end is not None and end <= start:
        errors["ends_at"] = "The end must be after the start."
    if start is not None and end is not None and end - start > timedelta(days=366):
        errors["ends_at"] = "Keep it under a year."


async def exceptions_of(app_id: int, user_id: int, since: datetime) -> list[dict[str, Any]]:
    return (
        await AvailabilityException.select()
        .where(
            (AvailabilityException.app == app_id)
            & (AvailabilityException.user == user_id)
            & (AvailabilityException.ends_at > since)
        )
        .order_by(AvailabilityException.starts_at)
    )


async def add_exception(
    app_id: int, user_id: int, kind: str, start: datetime | None, end: datetime | None, note: str
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if kind not in ("blocked", "available_extra"):
        errors["kind"] = "Choose blocked or extra availability."
    check_range(start, end, errors)
    if errors:
        return errors
    await AvailabilityException(
        app=app_id, user=user_id, kind=kind, starts_at=start, ends_at=end, note=note.strip()[:500]
    ).save()
    return {}


async def delete_exception(app_id: int, user_id: int, exception_id: int) -> bool:
    where = (
        (AvailabilityException.id == exception_id)
        & (AvailabilityException.app == app_id)
        & (AvailabilityException.user == user_id)
    )
    if not await AvailabilityException.exists().where(where):
        return False
    await AvailabilityException.delete().where(where)
    return True


async def dnd_windows_of(app_id: int, user_id: int, since: datetime) -> list[dict[str, Any]]:
    return (
        await DndWindow.select()
        .where((DndWindow.app == app_id) & (DndWindow.user == user_id) & (DndWindow.ends_at > since))
        .order_by(DndWindow.starts_at)
    )


async def dnd_conflicts(user_id: int, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The user's open bookings (any app) whose meeting falls inside [start, end), earliest first."""
    busy = await availability_data.busy_bookings([user_id], start, end)
    hits = availability.overlapping(start, end, busy, agent_id=str(user_id))
    if not hits:
        return []
    ids = [hit.booking_id for hit in hits]
    return (
        await Booking.select(Booking.id, Booking.guest_name, Booking.scheduled_at, Booking.status)
        .where(Booking.id.is_in(ids) & Booking.status.not_in([s.value for s in FINAL_STATUSES]))
        .order_by(Booking.scheduled_at)
    )


@dataclass
class DndResult:
    window: DndWindow | None
    errors: dict[str, str]
    notified: int = 0  # conflict notices created


async def add_dnd(
    app_id: int,
    user_id: int,
    start: datetime | None,
    end: datetime | None,
    reason: str,
    *,
    notify_booking_ids: list[Any] | None = None,
    actor: Actor,
    now: datetime,
) -> DndResult:
    """Save a DND window; with `notify_booking_ids`, the customers of those bookings get a
    conflict notice (when the reminders module offers it)."""
    errors: dict[str, str] = {}
    check_range(start, end, errors)
    if not errors and end <= now:
        errors["ends_at"] = "The window is already over."
    if errors:
        return DndResult(None, errors)
    window = DndWindow(
        app=app_id, user=user_id, starts_at=start, ends_at=end, reason=reason.strip()[:500], created_at=now
    )
    await window.save()
    result = DndResult(window, {})
    if notify_booking_ids:
        result.notified = await reminders.create_conflict_notices(notify_booking_ids, actor, now)
    return result


async def delete_dnd(app_id: int, user_id: int, window_id: int) -> bool:
    where = (DndWindow.id == window_id) & (DndWindow.app == app_id) & (DndWindow.user == user_id)
    if not await DndWindow.exists().where(where):
        return False
    await DndWindow.delete().where(where)
    return True

"""The app's scheduling preset: one per app, validated the same way for the admin form and the
seed file, and saved with a notice to whoever plans work from it (reminders, dispatch)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from web.db.engine import transaction
from web.db.tables import Preset
from web.scheduling.hooks import Actor, AfterCommit, run_after_commit

ASSIGNMENT_MODES = ("manual", "self_selected", "round_robin")
REMINDER_KINDS = (
    "invitation",
    "reminder_24h",
    "reminder_1h",
    "reminder_15m",
    "cancellation",
    "conflict_notice",
    "custom",
)
REMINDER_CHANNELS = ("whatsapp", "genesys")

# name -> (kind, minimum, maximum); bounds only for integers.
PRESET_FIELDS: dict[str, tuple[str, int | None, int | None]] = {
    "scheduling_enabled": ("bool", None, None),
    "assignment_mode": ("choice", None, None),
    "default_duration_minutes": ("int", 5, 480),
    "buffer_before_minutes": ("int", 0, 240),
    "buffer_after_minutes": ("int", 0, 240),
    "require_confirmation": ("bool", None, None),
    "customer_may_reschedule": ("bool", None, None),
    "customer_may_cancel": ("bool", None, None),
    "no_show_grace_minutes": ("int", 1, 240),
    "booking_rate_limit": ("int", 0, 1000),
    "genesys_dispatch_enabled": ("bool", None, None),
    "dispatch_minutes_before": ("int", 1, 120),
    "dispatch_include_intake_notes": ("bool", None, None),
    "reminders": ("reminders", None, None),
}

_TRUE = {"on", "true", "1", "yes"}
_FALSE = {"off", "false", "0", "no", ""}


def _single(value: Any) -> Any:
    # Form libraries hand over lists for repeated fields; a scalar field takes the last value.
    if isinstance(value, list | tuple):
        return value[-1] if value else ""
    return value


def _as_bool(value: Any) -> bool | None:
    value = _single(value)
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def _as_channels(value: Any) -> list[str] | None:
    """A list of channels from a list, a comma-separated string or a single channel name."""
    if value is None:
        return []
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    channels = []
    for item in items:
        name = str(item).strip()
        if not name:
            continue
        if name not in REMINDER_CHANNELS:
            return None
        if name not in channels:
            channels.append(name)
    return channels


def _reminders(form: Mapping[str, Any]) -> tuple[dict[str, list[str]] | None, str | None]:
    """`reminders` as a mapping (or its JSON) and/or one `reminder_<kind>` field per kind."""
    raw: dict[str, Any] = {}
    given = form.get("reminders")
    if given not in (None, ""):
        if isinstance(given, str):
            try:
                given = json.loads(given)
            except ValueError:
                return None, "Reminders must be a mapping of reminder kind to channels."
        if not isinstance(given, Mapping):
            return None, "Reminders must be a mapping of reminder kind to channels."
        raw.update(given)
    for kind in REMINDER_KINDS:
        if f"reminder_{kind}" in form:
            raw[kind] = form[f"reminder_{kind}"]
    result: dict[str, list[str]] = {}
    for kind, value in raw.items():
        if kind not in REMINDER_KINDS:
            return None, f"Unknown reminder kind '{kind}'."
        channels = _as_channels(value)
        if channels is None:
            return None, f"Reminder '{kind}': channels are whatsapp and genesys."
        if channels:
            result[kind] = channels
    return result, None


def _has_reminder_input(form: Mapping[str, Any]) -> bool:
    return "reminders" in form or any(f"reminder_{kind}" in form for kind in REMINDER_KINDS)


def validate_preset(form: Mapping[str, Any], *, partial: bool = False) -> tuple[dict, dict[str, str]]:
    """Check preset input; returns (clean values, errors by field).

    The admin form posts every field, so an unticked checkbox (absent) means False and a missing
    number is an error. With `partial` (the seed file, API) only the fields given are checked and
    returned, so the rest keep their current values."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, (kind, low, high) in PRESET_FIELDS.items():
        label = name.replace("_", " ").capitalize()
        if kind == "reminders":
            if partial and not _has_reminder_input(form):
                continue
            reminders, error = _reminders(form)
            if error:
                errors[name] = error
            else:
                values[name] = reminders
            continue
        if name not in form:
            if partial:
                continue
            if kind == "bool":
                values[name] = False
            else:
                errors[name] = f"{label} is required."
            continue
        raw = form[name]
        if kind == "bool":
            flag = _as_bool(raw)
            if flag is None:
                errors[name] = f"{label} must be on or off."
            else:
                values[name] = flag
        elif kind == "choice":
            choice = str(_single(raw)).strip()
            if choice not in ASSIGNMENT_MODES:
                errors[name] = "Choose manual, self_selected or round_robin."
            else:
                values[name] = choice
        else:
            raw = _single(raw)
            try:
                number = raw if isinstance(raw, int) and not isinstance(raw, bool) else int(str(raw).strip())
            except ValueError:
                errors[name] = f"{label} must be a whole number."
                continue
            if not low <= number <= high:
                errors[name] = f"{label} must be between {low} and {high}."
            else:
                values[name] = number
    return values, errors


def preset_values(preset: Preset) -> dict[str, Any]:
    """The preset's settings as plain values (reminders as a dict)."""
    values = {name: getattr(preset, name) for name in PRESET_FIELDS}
    if isinstance(values["reminders"], str):
        values["reminders"] = json.loads(values["reminders"] or "{}")
    return values


async def get_preset(app_id: int) -> Preset:
    """The app's preset, created with the defaults on first use."""
    preset = await Preset.objects().get(Preset.app == app_id)
    if preset is None:
        preset = Preset(app=app_id)
        await preset.save()
    if isinstance(preset.reminders, str):
        preset.reminders = json.loads(preset.reminders or "{}")
    return preset


# --- listeners: re-plan future work when the preset changes ---------------------------------------


@dataclass
class PresetChange:
    app_id: int
    preset: Preset  # after the change
    before: dict[str, Any]  # the changed fields' previous values
    actor: Actor
    now: datetime


PresetListener = Callable[[PresetChange], Awaitable[list[AfterCommit] | None]]

_listeners: list[PresetListener] = []


def register_preset_listener(listener: PresetListener) -> PresetListener:
    """Decorator: called inside the save transaction with what changed; may return callbacks
    to run after the commit. Idempotent."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


async def save_preset(app_id: int, values: Mapping[str, Any], actor: Actor, now: datetime) -> Preset:
    """Store validated `values` (from `validate_preset`) and tell the listeners what changed."""
    unknown = set(values) - set(PRESET_FIELDS)
    if unknown:
        raise ValueError(f"unknown preset fields: {sorted(unknown)}")
    callbacks: list[AfterCommit] = []
    async with transaction():
        preset = await get_preset(app_id)
        current = preset_values(preset)
        before = {name: current[name] for name, value in values.items() if current[name] != value}
        for name, value in values.items():
            setattr(preset, name, value)
        preset.updated_at = now
        await preset.save()
        if before:
            change = PresetChange(app_id=app_id, preset=preset, before=before, actor=actor, now=now)
            for listener in list(_listeners):
                callbacks.extend(await listener(change) or [])
    await run_after_commit(callbacks)
    return preset

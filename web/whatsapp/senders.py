"""The WhatsApp sender a video app is linked to: validation (shared by the admin form and the seed
file), saving with the access token encrypted at rest, and loading it ready to send.

Stored templates: `{kind: {"name": str, "language": str, "params": [variable names]}}`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from web.crypto import decrypt, encrypt
from web.db.engine import transaction
from web.db.tables import VideoApp, WhatsAppSender
from web.scheduling.presets import REMINDER_KINDS
from web.whatsapp.client import SenderConfig, TemplateSpec
from web.whatsapp.messages import VARIABLES

URL = re.compile(r"^https?://[^\s/]+(:\d+)?(/[^\s]*)?$")
API_VERSION = re.compile(r"^v\d+\.\d+$")
PHONE_NUMBER_ID = re.compile(r"^\d{5,30}$")
TEMPLATE_NAME = re.compile(r"^[a-z0-9_]{1,512}$")
LANGUAGE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")

# The templates the WhatsApp simulator ships with, and a sensible starting point for a real app.
DEFAULT_TEMPLATES: dict[str, dict[str, Any]] = {
    "invitation": {
        "name": "meeting_invitation",
        "language": "en",
        "params": ["guest_name", "meeting_time", "action_link"],
    },
    "reminder_24h": {
        "name": "meeting_reminder_24h",
        "language": "en",
        "params": ["guest_name", "meeting_time", "join_link"],
    },
    "reminder_1h": {
        "name": "meeting_reminder_1h",
        "language": "en",
        "params": ["guest_name", "meeting_time", "join_link"],
    },
    "reminder_15m": {
        "name": "meeting_reminder_15m",
        "language": "en",
        "params": ["guest_name", "meeting_time", "join_link"],
    },
    "cancellation": {
        "name": "meeting_cancellation",
        "language": "en",
        "params": ["guest_name", "meeting_time"],
    },
    "conflict_notice": {
        "name": "meeting_conflict_notice",
        "language": "en",
        "params": ["guest_name", "meeting_time"],
    },
    "custom": {"name": "meeting_custom", "language": "en", "params": ["join_link"]},
}


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        value = value[-1] if value else ""
    return "" if value is None else str(value).strip()


def _variables(value: Any) -> list[str]:
    # A seed list, a form's "a, b" text, or several form values: all become one list of names.
    text = ",".join(str(v) for v in value) if isinstance(value, list | tuple) else str(value or "")
    return [item.strip() for item in text.split(",") if item.strip()]


def flatten(data: Mapping[str, Any]) -> dict[str, Any]:
    """Seed-file shape (`templates: {kind: {...}}`) to the form's flat fields; form input passes."""
    flat = {key: value for key, value in data.items() if key != "templates"}
    templates = data.get("templates")
    if isinstance(templates, str) and templates.strip():
        templates = json.loads(templates)
    if isinstance(templates, Mapping):
        for kind, spec in templates.items():
            spec = spec if isinstance(spec, Mapping) else {}
            flat[f"template_{kind}_name"] = spec.get("name", "")
            flat[f"template_{kind}_language"] = spec.get("language", "en")
            flat[f"template_{kind}_params"] = spec.get("params", [])
    return flat


def validate_sender(
    data: Mapping[str, Any], *, token_stored: bool = False
) -> tuple[dict[str, Any], dict[str, str]]:
    """Check sender input; returns (clean values, errors by field name).

    An empty access token keeps the stored one (the form never shows it back)."""
    try:
        form = flatten(data)
    except ValueError:
        return {}, {"templates": "Templates must be a mapping of reminder kind to template."}
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    unknown = sorted(
        kind
        for key in form
        if key.startswith("template_")
        and (kind := key[len("template_") :].rsplit("_", 1)[0]) not in REMINDER_KINDS
    )
    if unknown:
        errors["templates"] = f"Unknown reminder kind '{unknown[0]}'."
    values["name"] = _text(form.get("name"))[:200]
    base_url = _text(form.get("base_url")) or "https://graph.facebook.com"
    if not URL.match(base_url):
        errors["base_url"] = "Enter the provider's base URL, like https://graph.facebook.com."
    values["base_url"] = base_url.rstrip("/")
    api_version = _text(form.get("api_version")) or "v21.0"
    if not API_VERSION.match(api_version):
        errors["api_version"] = "Enter an API version like v21.0."
    values["api_version"] = api_version
    phone_number_id = _text(form.get("phone_number_id"))
    if not PHONE_NUMBER_ID.match(phone_number_id):
        errors["phone_number_id"] = "Enter the phone number id (digits) from the WhatsApp app."
    values["phone_number_id"] = phone_number_id
    token = _text(form.get("access_token"))
    if token:
        if len(token) < 8 or any(c.isspace() for c in token):
            errors["access_token"] = "The access token looks incomplete."
        values["access_token"] = token
    elif not token_stored:
        errors["access_token"] = "Enter the access token of the WhatsApp app."
    templates: dict[str, dict[str, Any]] = {}
    for kind in REMINDER_KINDS:
        name = _text(form.get(f"template_{kind}_name"))
        language = _text(form.get(f"template_{kind}_language")) or "en"
        params = _variables(form.get(f"template_{kind}_params"))
        if not name:
            if params:
                errors[f"template_{kind}_name"] = "Enter the template's name, or clear its variables."
            continue
        if not TEMPLATE_NAME.match(name):
            errors[f"template_{kind}_name"] = "Template names use lowercase letters, digits and underscores."
        if not LANGUAGE.match(language):
            errors[f"template_{kind}_language"] = "Enter a language code like en or pt_BR."
        bad = [p for p in params if p not in VARIABLES]
        if bad:
            errors[f"template_{kind}_params"] = f"Unknown variable '{bad[0]}'. Use: {', '.join(VARIABLES)}."
        templates[kind] = {"name": name, "language": language, "params": params}
    values["templates"] = templates
    return values, errors


def _templates_of(row: WhatsAppSender) -> dict[str, Any]:
    templates = row.templates
    if isinstance(templates, str):
        templates = json.loads(templates or "{}")
    return templates or {}


async def sender_of_app(app_id: int) -> WhatsAppSender | None:
    app = await VideoApp.objects().get(VideoApp.id == app_id)
    if app is None or app.whatsapp_sender is None:
        return None
    row = await WhatsAppSender.objects().get(WhatsAppSender.id == app.whatsapp_sender)
    if row is not None:
        row.templates = _templates_of(row)
    return row


async def save_sender(app_id: int, values: Mapping[str, Any], secret_key: str) -> WhatsAppSender:
    """Store validated `values` (from `validate_sender`) as the app's sender and link it."""
    async with transaction():
        app = await VideoApp.objects().get(VideoApp.id == app_id)
        if app is None:
            raise LookupError(f"no video app {app_id}")
        row = None
        if app.whatsapp_sender is not None:
            row = await WhatsAppSender.objects().get(WhatsAppSender.id == app.whatsapp_sender)
        if row is None:
            row = WhatsAppSender(phone_number_id=values["phone_number_id"])
        for name in ("name", "base_url", "api_version", "phone_number_id", "templates"):
            if name in values:
                setattr(row, name, values[name])
        if values.get("access_token"):
            row.access_token_encrypted = encrypt(secret_key, values["access_token"])
        await row.save()
        if app.whatsapp_sender != row.id:
            await VideoApp.update({VideoApp.whatsapp_sender: row.id}).where(VideoApp.id == app_id)
    row.templates = _templates_of(row)
    return row


def config_of(row: WhatsAppSender, secret_key: str) -> SenderConfig:
    templates = {
        kind: TemplateSpec(
            name=str(spec.get("name", "")),
            language=str(spec.get("language") or "en"),
            params=tuple(spec.get("params") or ()),
        )
        for kind, spec in _templates_of(row).items()
        if isinstance(spec, Mapping) and spec.get("name")
    }
    return SenderConfig(
        phone_number_id=row.phone_number_id,
        access_token=decrypt(secret_key, row.access_token_encrypted),
        base_url=row.base_url,
        api_version=row.api_version,
        templates=templates,
        name=row.name,
    )


async def load_sender(app_id: int, secret_key: str) -> SenderConfig | None:
    """The app's linked sender, ready to send; None when the app has none."""
    row = await sender_of_app(app_id)
    return None if row is None else config_of(row, secret_key)

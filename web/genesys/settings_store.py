"""A video app's Genesys settings: stored with the client secret encrypted, read back as what the
client needs. The app is "provisioned" when every field is set and the last connection test passed."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from web import clock
from web.crypto import decrypt, encrypt
from web.db.tables import GenesysSettings
from web.genesys.client import GenesysCredentials
from web.genesys.regions import REGIONS, Region, resolve_region

CONNECTION_FIELDS = ("region", "login_base_url", "api_base_url", "client_id", "organization_id")
REQUIRED_FIELDS = ("region", "client_id", "organization_id", "open_messaging_integration_id")
# Saved but not part of the connection test: only the agents' browser sign-in uses it.
OTHER_FIELDS = ("open_messaging_integration_id", "browser_client_id")
# Every field of the settings form and the seed file's `genesys` section, in form order.
FORM_FIELDS = (
    "region",
    "client_id",
    "client_secret",
    "organization_id",
    "open_messaging_integration_id",
    "browser_client_id",
    "login_base_url",
    "api_base_url",
)
log = logging.getLogger("punctual.genesys")

UUID_SHAPE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


@dataclass(frozen=True)
class TenantGenesys:
    app_id: int
    region: Region
    credentials: GenesysCredentials
    organization_id: str
    integration_id: str
    provisioned: bool
    row: GenesysSettings

    @property
    def apps_origin(self) -> str:
        return self.region.apps_origin


def is_complete(row: GenesysSettings) -> bool:
    return all(getattr(row, name) for name in REQUIRED_FIELDS) and bool(row.client_secret_encrypted)


def is_provisioned(row: GenesysSettings | None) -> bool:
    return row is not None and is_complete(row) and bool(row.last_test_ok)


async def get_row(app_id: int) -> GenesysSettings | None:
    return await GenesysSettings.objects().get(GenesysSettings.app == app_id)


async def load(app_id: int, secret_key: str) -> TenantGenesys | None:
    """What the client needs for this app, or None when the settings are incomplete."""
    row = await get_row(app_id)
    if row is None or not is_complete(row):
        return None
    credentials = GenesysCredentials.for_region(
        row.region,
        row.client_id,
        decrypt(secret_key, row.client_secret_encrypted),
        login_base_url=row.login_base_url or None,
        api_base_url=row.api_base_url or None,
    )
    return TenantGenesys(
        app_id=app_id,
        region=resolve_region(row.region),
        credentials=credentials,
        organization_id=row.organization_id,
        integration_id=row.open_messaging_integration_id,
        provisioned=is_provisioned(row),
        row=row,
    )


async def save_settings(app_id: int, values: dict, secret_key: str) -> GenesysSettings:
    """Store validated values. An empty `client_secret` keeps the stored one. Changing anything the
    connection depends on clears the last test result, so the app is provisioned again only after a
    passing test."""
    row = await get_row(app_id) or GenesysSettings(app=app_id)
    changed = False
    for name in (*CONNECTION_FIELDS, *OTHER_FIELDS):
        if name in values and (values[name] or "") != (getattr(row, name) or ""):
            setattr(row, name, values[name] or "")
            changed = changed or name in CONNECTION_FIELDS or name == "open_messaging_integration_id"
    secret = values.get("client_secret")
    if secret:
        row.client_secret_encrypted = encrypt(secret_key, secret)
        changed = True
    if changed:
        row.last_test_ok = False
    row.updated_at = clock.now()
    await row.save()
    return row


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    if isinstance(value, list):
        value = value[-1] if value else ""
    return "" if value is None else str(value).strip()


def _absolute_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not parts.query and not parts.fragment


def validate_settings(
    form: Mapping[str, Any], *, secret_is_set: bool
) -> tuple[dict[str, str], dict[str, str]]:
    """(values, errors by field) for the settings form and the seed file. An empty client secret
    keeps the stored one, so it is required only when none is set yet."""
    values = {name: _text(form, name) for name in FORM_FIELDS}
    errors: dict[str, str] = {}
    try:
        values["region"] = resolve_region(values["region"]).domain
    except ValueError:
        errors["region"] = "Choose one of the Genesys Cloud regions."
    for name in ("login_base_url", "api_base_url"):
        if values[name]:
            if _absolute_url(values[name]):
                values[name] = values[name].rstrip("/")
            else:
                errors[name] = (
                    "Give an absolute http(s) address such as https://api.example.com, or leave it empty."
                )
    if not values["client_id"]:
        errors["client_id"] = "Give the client id of the client-credentials OAuth client."
    elif len(values["client_id"]) > 200:
        errors["client_id"] = "A client id is at most 200 characters."
    if not values["client_secret"] and not secret_is_set:
        errors["client_secret"] = "Give the client secret of that OAuth client."
    for name, label in (
        ("organization_id", "organization id"),
        ("open_messaging_integration_id", "Open Messaging integration id"),
    ):
        if not values[name]:
            errors[name] = f"Give the {label}."
        elif not UUID_SHAPE.match(values[name]):
            errors[name] = f"The {label} looks like 8-4-4-4-12 hexadecimal digits."
    if values["browser_client_id"] and len(values["browser_client_id"]) > 200:
        errors["browser_client_id"] = "A client id is at most 200 characters."
    return values, errors


ProvisionedListener = Callable[[int, datetime], Awaitable[None]]
_provisioned_listeners: list[ProvisionedListener] = []


def on_provisioned(listener: ProvisionedListener) -> ProvisionedListener:
    """Decorator: `listener(app_id, now)` runs when a connection test makes the app provisioned
    (work that waited for Genesys, such as pre-meeting dispatches, can be planned). Idempotent."""
    if listener not in _provisioned_listeners:
        _provisioned_listeners.append(listener)
    return listener


async def record_test(app_id: int, report: list[dict[str, Any]], now: datetime) -> GenesysSettings:
    """Keep the outcome of a connection test; the app is provisioned only if every check passed."""
    ok = bool(report) and all(item["ok"] for item in report)
    was_provisioned = is_provisioned(await get_row(app_id))
    await GenesysSettings.update(
        {
            GenesysSettings.last_test_ok: ok,
            GenesysSettings.last_test_at: now,
            GenesysSettings.last_test_report: report,
        }
    ).where(GenesysSettings.app == app_id)
    row = await get_row(app_id)
    if is_provisioned(row) and not was_provisioned:
        for listener in list(_provisioned_listeners):
            try:
                await listener(app_id, now)
            except Exception:  # the test result stands; the admin sees it, the log has the cause
                log.exception("after provisioning app %s: %s failed", app_id, listener.__name__)
    return row


async def save_setup(app_id: int, **fields: Any) -> None:
    """Store what the setup of our client apps produced (integration ids, reported state, ...)."""
    columns = {getattr(GenesysSettings, name): value for name, value in fields.items()}
    await GenesysSettings.update(columns).where(GenesysSettings.app == app_id)


async def genesys_visible(app_id: int) -> bool:
    """Whether the consoles show this app's Genesys surfaces (dispatch states, setup, widget)."""
    return is_provisioned(await get_row(app_id))


def frame_origins(tenant: TenantGenesys | None, extra: tuple[str, ...] | list[str] = ()) -> list[str]:
    """Who may frame this app's embedded pages: the tenant's Genesys agent UI, plus configured
    extras (a simulator or a gateway). Without a tenant, any region's agent UI may show our
    refusal page."""
    origins = [tenant.apps_origin] if tenant else [region.apps_origin for region in REGIONS]
    return [*origins, *(o for o in extra if o not in origins)]

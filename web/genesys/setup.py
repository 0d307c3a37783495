"""A video app's Genesys setup: the connection test and our client apps in Genesys.

`test_connection` runs the admin's "Test connection" (token, organization, Open Messaging
integration). `apply_setup` turns the "My schedules" client app on or off and keeps the interaction
widget in line with the preset's pre-meeting dispatch; repeating it changes nothing.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from web.db.tables import GenesysSettings, VideoApp
from web.genesys import settings_store
from web.genesys.client import GenesysClient
from web.genesys.errors import GenesysError
from web.genesys.provisioning import (
    INTERACTION_WIDGET_TYPE,
    MY_SCHEDULES_TYPE,
    IntegrationState,
    disable_client_app,
    ensure_client_app,
    interaction_widget_properties,
    my_schedules_properties,
)
from web.genesys.settings_store import TenantGenesys

log = logging.getLogger(__name__)

CHECK_LABELS = {
    "token": "Sign in with the OAuth client",
    "organization": "The token belongs to the configured organization",
    "integration": "The Open Messaging integration exists",
}


def json_value(value: Any, default: Any) -> Any:
    """A JSON column's value as Python (rows read with `objects()` keep it as text)."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value else default
        except ValueError:
            return default
    return default if value is None else value


def _check(name: str, ok: bool, message: str) -> dict[str, Any]:
    return {"check": name, "label": CHECK_LABELS[name], "ok": ok, "message": message}


async def test_connection(client: GenesysClient, tenant: TenantGenesys) -> list[dict[str, Any]]:
    """The checks in order; a failed check stops the ones that depend on it."""
    creds = tenant.credentials
    try:
        info = await client.get_token_info(creds)
    except GenesysError as exc:
        log.info("genesys connection test of app %s: token refused: %s", tenant.app_id, exc)
        return [_check("token", False, exc.plain_words())]
    report = [_check("token", True, "Genesys issued an access token.")]
    org = info.get("organization") if isinstance(info, dict) else None
    org_id = (org or {}).get("id")
    if org_id != tenant.organization_id:
        name = (org or {}).get("name")
        found = f"{name} ({org_id})" if name else (org_id or "no organization")
        report.append(
            _check("organization", False, f"The OAuth client belongs to another organization: {found}.")
        )
        return report
    report.append(_check("organization", True, f"Organization {(org or {}).get('name') or org_id}."))
    try:
        integration = await client.get_open_integration(creds, tenant.integration_id)
    except GenesysError as exc:
        report.append(_check("integration", False, exc.plain_words()))
        return report
    name = integration.get("name") if isinstance(integration, dict) else None
    report.append(_check("integration", True, f"Found {name or tenant.integration_id}."))
    return report


async def run_connection_test(
    client: GenesysClient, app_id: int, secret_key: str, now: datetime
) -> GenesysSettings | None:
    """Test the stored settings and keep the report; None when the settings are incomplete."""
    tenant = await settings_store.load(app_id, secret_key)
    if tenant is None:
        return None
    report = await test_connection(client, tenant)
    return await settings_store.record_test(app_id, report, now)


def my_schedules_name(app: VideoApp) -> str:
    return f"My schedules ({app.name})"[:200]


def widget_name(app: VideoApp) -> str:
    return f"Video meeting ({app.name})"[:200]


@dataclass
class SetupResult:
    my_schedules: IntegrationState | None = None
    widget: IntegrationState | None = None
    errors: list[str] = field(default_factory=list)


def _reported(state: IntegrationState | None) -> dict[str, Any]:
    if state is None:
        return {}
    return {
        "integration_id": state.integration_id,
        "intended_state": state.intended_state,
        "reported_state": state.reported_state,
    }


async def apply_setup(
    client: GenesysClient,
    tenant: TenantGenesys,
    app: VideoApp,
    *,
    public_url: str,
    my_schedules_enabled: bool,
    dispatch_enabled: bool,
    groups: list[str],
    widget_queue_ids: list[str],
) -> SetupResult:
    """Create/update/enable or disable our integrations and store their ids and reported states.

    The widget follows the preset's pre-meeting dispatch: it is the page the dispatched
    interaction opens. Each integration is handled on its own, so one failure does not hide the
    other's outcome; the errors come back in plain words."""
    row = tenant.row
    creds = tenant.credentials
    result = SetupResult()
    state = dict(json_value(row.integration_state, {}))
    app_public_id = str(app.public_id)

    try:
        if my_schedules_enabled:
            result.my_schedules = await ensure_client_app(
                client,
                creds,
                integration_id=row.my_schedules_integration_id or None,
                name=my_schedules_name(app),
                type_id=MY_SCHEDULES_TYPE,
                properties=my_schedules_properties(public_url, app_public_id, groups),
                enabled=True,
            )
        elif row.my_schedules_integration_id:
            result.my_schedules = await disable_client_app(client, creds, row.my_schedules_integration_id)
    except GenesysError as exc:
        log.warning("genesys setup of My schedules for app %s failed: %s", app.id, exc)
        result.errors.append(f"My schedules: {exc.plain_words()}")

    try:
        if dispatch_enabled:
            result.widget = await ensure_client_app(
                client,
                creds,
                integration_id=row.widget_integration_id or None,
                name=widget_name(app),
                type_id=INTERACTION_WIDGET_TYPE,
                properties=interaction_widget_properties(public_url, app_public_id, widget_queue_ids, groups),
                enabled=True,
            )
        elif row.widget_integration_id:
            result.widget = await disable_client_app(client, creds, row.widget_integration_id)
    except GenesysError as exc:
        log.warning("genesys setup of the interaction widget for app %s failed: %s", app.id, exc)
        result.errors.append(f"Interaction widget: {exc.plain_words()}")

    fields: dict[str, Any] = {"groups": groups, "widget_queue_ids": widget_queue_ids}
    if not any(e.startswith("My schedules") for e in result.errors):
        fields["my_schedules_enabled"] = my_schedules_enabled
        if result.my_schedules is not None:
            fields["my_schedules_integration_id"] = result.my_schedules.integration_id
            state["my_schedules"] = _reported(result.my_schedules)
        elif row.my_schedules_integration_id:
            # Disabling found nothing: the integration was deleted in Genesys.
            fields["my_schedules_integration_id"] = ""
            state.pop("my_schedules", None)
    if not any(e.startswith("Interaction widget") for e in result.errors):
        if result.widget is not None:
            fields["widget_integration_id"] = result.widget.integration_id
            state["widget"] = _reported(result.widget)
        elif row.widget_integration_id:
            fields["widget_integration_id"] = ""
            state.pop("widget", None)
    fields["integration_state"] = state
    await settings_store.save_setup(app.id, **fields)
    return result


async def refresh_states(client: GenesysClient, tenant: TenantGenesys) -> dict[str, Any]:
    """Ask Genesys for the current state of our integrations (the admin page shows it)."""
    row = tenant.row
    state = dict(json_value(row.integration_state, {}))
    for key, integration_id in (
        ("my_schedules", row.my_schedules_integration_id),
        ("widget", row.widget_integration_id),
    ):
        if not integration_id:
            continue
        try:
            integration = await client.get_integration(tenant.credentials, integration_id)
        except GenesysError as exc:
            state[key] = {**state.get(key, {}), "error": exc.plain_words()}
            continue
        state[key] = {
            "integration_id": integration_id,
            "intended_state": integration.get("intendedState"),
            "reported_state": (integration.get("reportedState") or {}).get("code"),
        }
    await settings_store.save_setup(tenant.app_id, integration_state=state)
    return state

"""Idempotent management of our client-app integrations in Genesys (spec §D2, §D3).

Running `ensure_client_app` any number of times leaves exactly one integration with the wanted
name, properties and state; it changes nothing when everything already matches.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from web.genesys.client import GenesysClient, GenesysCredentials
from web.genesys.embedded import MY_SCHEDULES_PATH, WIDGET_PATH
from web.genesys.errors import NotFound, VersionConflict

log = logging.getLogger(__name__)

MY_SCHEDULES_TYPE = "embedded-client-app"
INTERACTION_WIDGET_TYPE = "embedded-client-app-interaction-widget"
CONFIG_PUT_RETRIES = 3  # re-reads after a version conflict before giving up

SANDBOX = (
    "allow-forms,allow-modals,allow-popups,allow-presentation,allow-same-origin,allow-scripts,allow-downloads"
)
PERMISSIONS = "camera,microphone,display-capture,fullscreen,clipboard-write"
# Genesys fills these in when it loads the iframe (spec §D5); they must reach it unescaped.
HOST_PLACEHOLDERS = (
    "gcHostOrigin={{gcHostOrigin}}&gcTargetEnv={{gcTargetEnv}}"
    "&gcLangTag={{gcLangTag}}&gcUsePopupAuth={{gcUsePopupAuth}}"
)


@dataclass(frozen=True)
class IntegrationState:
    integration_id: str
    intended_state: str | None
    reported_state: str | None  # reportedState.code: ACTIVE, ACTIVATING, INACTIVE, ...
    config_version: int | None
    created: bool = False
    config_changed: bool = False


def my_schedules_properties(
    public_url: str, app_public_id: str, groups: Iterable[str] | None = None
) -> dict[str, Any]:
    """Properties of the "My schedules" sidebar widget (`embedded-client-app`): the agenda behind the
    Genesys sign-in, in compact chrome."""
    app = quote(app_public_id, safe="")
    url = f"{public_url.rstrip('/')}{MY_SCHEDULES_PATH}?app={app}&{HOST_PLACEHOLDERS}"
    properties: dict[str, Any] = {
        "url": url,
        "displayType": "widget",
        "featureCategory": "",
        "sandbox": SANDBOX,
        "permissions": PERMISSIONS,
    }
    if groups:
        properties["groups"] = list(groups)
    return properties


def interaction_widget_properties(
    public_url: str,
    app_public_id: str,
    queue_ids: Iterable[str] = (),
    groups: Iterable[str] | None = None,
) -> dict[str, Any]:
    """Properties of the per-interaction widget, shown on open-messaging interactions only."""
    url = (
        f"{public_url.rstrip('/')}{WIDGET_PATH}?conversationId={{{{gcConversationId}}}}"
        f"&app={quote(app_public_id, safe='')}&{HOST_PLACEHOLDERS}"
    )
    properties: dict[str, Any] = {
        "url": url,
        "sandbox": SANDBOX,
        "permissions": PERMISSIONS,
        "communicationTypeFilter": "open",
        "queueIdFilterList": list(queue_ids),
    }
    if groups:
        properties["groups"] = list(groups)
    return properties


async def ensure_client_app(
    client: GenesysClient,
    creds: GenesysCredentials,
    *,
    integration_id: str | None,
    name: str,
    type_id: str,
    properties: dict[str, Any],
    enabled: bool,
) -> IntegrationState:
    """Find (stored id, else exact name), create if absent, configure, enable or disable."""
    integration = await _find(client, creds, integration_id=integration_id, name=name, type_id=type_id)
    created = integration is None
    if integration is None:
        integration = await client.create_integration(creds, name, type_id)
        log.info("genesys created %s integration %s", type_id, integration.get("id"))
    found_id = integration["id"]

    config, changed = await _configure(client, creds, found_id, name=name, properties=properties)

    wanted_state = "ENABLED" if enabled else "DISABLED"
    if integration.get("intendedState") != wanted_state:
        integration = await client.patch_integration(creds, found_id, wanted_state)
    return IntegrationState(
        integration_id=found_id,
        intended_state=integration.get("intendedState"),
        reported_state=(integration.get("reportedState") or {}).get("code"),
        config_version=config.get("version"),
        created=created,
        config_changed=changed,
    )


async def disable_client_app(
    client: GenesysClient, creds: GenesysCredentials, integration_id: str
) -> IntegrationState | None:
    """Turn the app off but keep it (and its configuration); None when it no longer exists."""
    try:
        integration = await client.patch_integration(creds, integration_id, "DISABLED")
    except NotFound:
        return None
    config = (integration.get("config") or {}).get("current") or {}
    return IntegrationState(
        integration_id=integration_id,
        intended_state=integration.get("intendedState"),
        reported_state=(integration.get("reportedState") or {}).get("code"),
        config_version=config.get("version"),
    )


async def _find(
    client: GenesysClient,
    creds: GenesysCredentials,
    *,
    integration_id: str | None,
    name: str,
    type_id: str,
) -> dict[str, Any] | None:
    if integration_id:
        try:
            integration = await client.get_integration(creds, integration_id)
        except NotFound:
            integration = None
        if integration and _is_live(integration, type_id):
            return integration
        log.info("genesys integration %s is gone; looking it up by name", integration_id)
    for candidate in await client.list_integrations(creds, type_id):
        if candidate.get("name") == name and _is_live(candidate, type_id):
            return candidate
    return None


def _is_live(integration: dict[str, Any], type_id: str) -> bool:
    # Deleted integrations can linger in reads for a while (deletion is eventually consistent).
    kind = (integration.get("integrationType") or {}).get("id")
    return integration.get("intendedState") != "DELETED" and kind in (None, type_id)


async def _configure(
    client: GenesysClient,
    creds: GenesysCredentials,
    integration_id: str,
    *,
    name: str,
    properties: dict[str, Any],
) -> tuple[dict[str, Any], bool]:
    """PUT the wanted name and properties against the current version; re-read on a conflict."""
    for attempt in range(CONFIG_PUT_RETRIES + 1):
        current = await client.get_integration_config(creds, integration_id)
        if current.get("name") == name and current.get("properties") == properties:
            return current, False
        wanted = {
            "name": name,
            "version": current.get("version"),
            "properties": properties,
            "advanced": current.get("advanced") or {},
            "notes": current.get("notes") or "",
            "credentials": current.get("credentials") or {},
        }
        try:
            return await client.put_integration_config(creds, integration_id, wanted), True
        except VersionConflict:
            if attempt == CONFIG_PUT_RETRIES:
                raise
            log.info("genesys config of %s changed underneath us; re-reading", integration_id)
    raise AssertionError("unreachable")

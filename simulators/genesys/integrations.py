"""Client-app integrations: create, configure (versioned), enable, delete, types and schemas."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from simulators.asgi import Request, Response, json_response
from simulators.common import iso_millis
from simulators.genesys import errors, models
from simulators.genesys.messaging import page_of
from simulators.genesys.state import Token

if TYPE_CHECKING:
    from simulators.genesys.app import GenesysSimulator

CLIENT_APP = "embedded-client-app"
INTERACTION_WIDGET = "embedded-client-app-interaction-widget"
MEDIA_TYPES = {"call", "callback", "chat", "email", "open", "webmessaging"}
INTEGRATIONS_PATH = "/api/v2/integrations"

# Property keys and their JSON types, per integration type.
PROPERTY_TYPES: dict[str, dict[str, type]] = {
    CLIENT_APP: {
        "url": str,
        "displayType": str,
        "featureCategory": str,
        "sandbox": str,
        "permissions": str,
        "groups": list,
    },
    INTERACTION_WIDGET: {
        "url": str,
        "sandbox": str,
        "permissions": str,
        "groups": list,
        "queueIdFilterList": list,
        "communicationTypeFilter": str,
    },
}

TYPE_INFO = {
    CLIENT_APP: ("Client Application", "Embeds a third-party web application in Genesys Cloud."),
    INTERACTION_WIDGET: (
        "Interaction Widget",
        "Embeds a third-party web application in the panel of each matching interaction.",
    ),
}


def integration_type_json(type_id: str) -> dict[str, Any]:
    name, description = TYPE_INFO[type_id]
    base = f"{INTEGRATIONS_PATH}/types/{type_id}"
    return {
        "id": type_id,
        "name": name,
        "description": description,
        "provider": "clientapps",
        "category": "Client Apps",
        "configPropertiesSchemaUri": f"{base}/configschemas/properties",
        "configAdvancedSchemaUri": f"{base}/configschemas/advanced",
        "nonInstallable": False,
        "selfUri": base,
    }


def _config_json(integration: dict[str, Any]) -> dict[str, Any]:
    config = integration["config"]
    return {
        "name": config["name"],
        "version": config["version"],
        "properties": config["properties"],
        "advanced": config["advanced"],
        "notes": config["notes"],
        "credentials": config["credentials"],
        "selfUri": f"{INTEGRATIONS_PATH}/{integration['id']}/config/current",
    }


def integration_json(integration: dict[str, Any], *, model: str = "Integration") -> dict[str, Any]:
    return {
        "id": integration["id"],
        "name": integration["config"]["name"],
        "integrationType": integration_type_json(integration["type_id"]),
        "notes": integration["config"]["notes"],
        "intendedState": integration["intended_state"],
        "config": {"current": _config_json(integration)},
        "reportedState": {
            "code": integration["reported_state"],
            "effective": integration["reported_state"],
            "lastUpdated": iso_millis(integration["state_changed_at"]),
        },
        "attributes": {},
        "selfUri": f"{INTEGRATIONS_PATH}/{integration['id']}",
    }


def _refresh_reported_state(sim: GenesysSimulator, integration: dict[str, Any]) -> None:
    """ACTIVATING turns ACTIVE once `activation_delay_seconds` have passed on the sim clock."""
    if integration["reported_state"] == "ACTIVATING":
        ready_at = integration["state_changed_at"] + float(sim.options["activation_delay_seconds"])
        if sim.clock.now() >= ready_at:
            integration["reported_state"] = "ACTIVE"


def _visible(sim: GenesysSimulator, token: Token, integration_id: str) -> dict[str, Any] | None:
    integration = sim.state.integrations.get(integration_id)
    if integration is None or integration["org_id"] != token.org_id:
        return None
    deleted_at = integration.get("deleted_at")
    # Deletion is eventually consistent: the object may linger for a configurable while.
    if deleted_at is not None and sim.clock.now() >= deleted_at + float(
        sim.options["delete_visible_seconds"]
    ):
        return None
    _refresh_reported_state(sim, integration)
    return integration


def _strict_fields(sim: GenesysSimulator, model: str, body: Any) -> Response | None:
    if not sim.strict:
        return None
    # properties/advanced/credentials are free-form objects; their keys are checked per type below.
    unknown = models.unknown_fields(model, body, {"properties", "advanced", "credentials"})
    if unknown:
        return errors.bad_request(
            f"Unrecognized field '{unknown[0]}': it is not part of {model}", field=unknown[0]
        )
    return None


def _json_body(request: Request) -> Any:
    try:
        return request.json()
    except ValueError:
        return None


async def create_integration(sim: GenesysSimulator, request: Request, token: Token) -> Response:
    denied = sim.require(token, "integrations:integration:add")
    if denied:
        return denied
    body = _json_body(request)
    if not isinstance(body, dict):
        return errors.bad_request()
    invalid = _strict_fields(sim, "CreateIntegrationRequest", body)
    if invalid:
        return invalid
    type_id = (
        (body.get("integrationType") or {}).get("id")
        if isinstance(body.get("integrationType"), dict)
        else None
    )
    if type_id not in TYPE_INFO:
        return errors.bad_request(f"Unknown integration type [{type_id}]", field="integrationType.id")
    name = body.get("name")
    if name is not None and not isinstance(name, str):
        return errors.bad_request("name must be a string", field="name")
    now = sim.clock.now()
    integration = {
        "id": str(uuid.uuid4()),
        "org_id": token.org_id,
        "type_id": type_id,
        "intended_state": "DISABLED",
        "reported_state": "INACTIVE",
        "state_changed_at": now,
        "deleted_at": None,
        "config": {
            "name": name or TYPE_INFO[type_id][0],
            "version": 1,
            "properties": {},
            "advanced": {},
            "notes": "",
            "credentials": {},
        },
    }
    sim.state.integrations[integration["id"]] = integration
    return json_response(integration_json(integration))


async def list_integrations(sim: GenesysSimulator, request: Request, token: Token) -> Response:
    denied = sim.require(token, "integrations:integration:view")
    if denied:
        return denied
    wanted_type = request.query_value("integrationType")
    wanted_ids = {i for value in request.query_values("ids") for i in value.split(",") if i}
    entities = []
    for integration_id in list(sim.state.integrations):
        integration = _visible(sim, token, integration_id)
        if integration is None:
            continue
        if wanted_type and integration["type_id"] != wanted_type:
            continue
        if wanted_ids and integration_id not in wanted_ids:
            continue
        entities.append(integration_json(integration))
    return json_response(page_of(request, entities, INTEGRATIONS_PATH))


async def get_integration(sim: GenesysSimulator, request: Request, token: Token) -> Response:
    denied = sim.require(token, "integrations:integration:view")
    if denied:
        return denied
    integration = _visible(sim, token, request.path_params["integrationId"])
    if integration is None:
        return errors.not_found(request.path_params["integrationId"])
    return json_response(integration_json(integration))


async def patch_integration(sim: GenesysSimulator, request: Request, token: Token) -> Response:
    denied = sim.require(token, "integrations:integration:edit")
    if denied:
        return denied
    integration = _visible(sim, token, request.path_params["integrationId"])
    if integration is None or integration["deleted_at"] is not None:
        return errors.not_found(request.path_params["integrationId"])
    body = _json_body(request)
    if not isinstance(body, dict):
        return errors.bad_request()
    invalid = _strict_fields(sim, "Integration", body)
    if invalid:
        return invalid
    state = body.get("intendedState")
    allowed = models.enum("Integration", "intendedState")
    if state not in allowed:
        return errors.bad_request(
            f"Value [{state}] is not valid for field type [intendedState]. Allowable values are: "
            + ", ".join(allowed),
            field="intendedState",
            code="invalid.value",
        )
    now = sim.clock.now()
    if state == "ENABLED" and integration["intended_state"] != "ENABLED":
        delay = float(sim.options["activation_delay_seconds"])
        integration["reported_state"] = "ACTIVATING" if delay > 0 else "ACTIVE"
        integration["state_changed_at"] = now
    elif state == "DISABLED":
        integration["reported_state"] = "INACTIVE"
        integration["state_changed_at"] = now
    if state in ("ENABLED", "DISABLED"):
        integration["intended_state"] = state
    elif state == "DELETED":
        integration["intended_state"] = "DELETED"
        integration["deleted_at"] = now
    return json_response(integration_json(integration))


async def delete_integration(sim: GenesysSimulator, request: Request, token: Token) -> Response:
    denied = sim.require(token, "integrations:integration:delete")
    if denied:
        return denied
    integration = _visible(sim, token, request.path_params["integrationId"])
    if integration is None or integration["deleted_at"] is not None:
        return errors.not_found(request.path_params["integrationId"])
    integration["deleted_at"] = sim.clock.now()
    integration["intended_state"] = "DELETED"
    integration["reported_state"] = "INACTIVE"
    return json_response(integration_json(integration))


async def get_config(sim: GenesysSimulator, request: Request, token: Token) -> Response:
    denied = sim.require(token, "integrations:integration:view")
    if denied:
        return denied
    integration = _visible(sim, token, request.path_params["integrationId"])
    if integration is None:
        return errors.not_found(request.path_params["integrationId"])
    return json_response(_config_json(integration))


async def put_config(sim: GenesysSimulator, request: Request, token: Token) -> Response:
    denied = sim.require(token, "integrations:integration:edit")
    if denied:
        return denied
    integration = _visible(sim, token, request.path_params["integrationId"])
    if integration is None or integration["deleted_at"] is not None:
        return errors.not_found(request.path_params["integrationId"])
    body = _json_body(request)
    if not isinstance(body, dict):
        return errors.bad_request()
    invalid = _strict_fields(sim, "IntegrationConfiguration", body)
    if invalid:
        return invalid
    for key, kind in (
        ("name", str),
        ("version", int),
        ("properties", dict),
        ("advanced", dict),
        ("notes", str),
        ("credentials", dict),
    ):
        if not isinstance(body.get(key), kind) or (kind is int and isinstance(body.get(key), bool)):
            return errors.bad_request(f"{key} is required", field=key)
    current = integration["config"]["version"]
    if body["version"] != current:
        return version_conflict(sim, body["version"], current)
    problem = validate_properties(sim, integration["type_id"], body["properties"])
    if problem:
        return errors.bad_request(f"Input validation error: {problem[1]}", field=f"properties.{problem[0]}")
    integration["config"] = {
        "name": body["name"],
        "version": current + 1,
        "properties": body["properties"],
        "advanced": body["advanced"],
        "notes": body["notes"],
        "credentials": body["credentials"],
    }
    return json_response(_config_json(integration))


def version_conflict(sim: GenesysSimulator, sent: Any = None, current: Any = None) -> Response:
    status = int(sim.options["version_conflict_status"])
    message = f"The supplied version {sent} does not match the current version {current}."
    return errors.error_body(status, "general.conflict" if status == 409 else "bad.request", message)


def validate_properties(
    sim: GenesysSimulator, type_id: str, properties: dict[str, Any]
) -> tuple[str, str] | None:
    """(field, reason) of the first invalid property, per §D3 of the Genesys spec."""
    allowed = PROPERTY_TYPES[type_id]
    for key, value in properties.items():
        if key not in allowed:
            return key, f"unknown property '{key}'"
        if not isinstance(value, allowed[key]):
            return key, f"'{key}' must be a {'list' if allowed[key] is list else 'string'}"
        if allowed[key] is list and not all(isinstance(item, str) for item in value):
            return key, f"'{key}' must list strings"
    if not isinstance(properties.get("url"), str) or not properties["url"]:
        return "url", "'url' is required"
    try:
        parts = urlsplit(properties["url"])
    except ValueError:
        return "url", "'url' is not a URL"
    local = parts.hostname in {"localhost", "127.0.0.1"}
    if not (parts.scheme == "https" or (parts.scheme == "http" and local)) or not parts.hostname:
        return "url", "'url' must use https"
    if type_id == CLIENT_APP and properties.get("displayType", "standalone") not in ("standalone", "widget"):
        return "displayType", "'displayType' must be standalone or widget"
    media = properties.get("communicationTypeFilter")
    if media:
        allowed_media = MEDIA_TYPES | ({"message"} if sim.options["accept_message_media_type"] else set())
        tokens = [token.strip() for token in media.split(",") if token.strip()]
        unknown = [token for token in tokens if token not in allowed_media]
        if unknown:
            return "communicationTypeFilter", f"unknown media type '{unknown[0]}'"
    return None


async def get_type(sim: GenesysSimulator, request: Request, token: Token) -> Response:
    denied = sim.require(token, "integrations:integration:view")
    if denied:
        return denied
    type_id = request.path_params["typeId"]
    if type_id not in TYPE_INFO:
        return errors.not_found(type_id)
    return json_response(integration_type_json(type_id))


async def get_config_schema(sim: GenesysSimulator, request: Request, token: Token) -> Response:
    denied = sim.require(token, "integrations:integration:view")
    if denied:
        return denied
    type_id, config_type = request.path_params["typeId"], request.path_params["configType"]
    if type_id not in TYPE_INFO or config_type not in ("properties", "advanced"):
        return errors.not_found(f"{type_id}/{config_type}")
    return json_response(config_schema(sim, type_id, config_type))


def config_schema(sim: GenesysSimulator, type_id: str, config_type: str) -> dict[str, Any]:
    base = {
        "id": f"{type_id}-{config_type}",
        "$schema": "http://json-schema.org/draft-04/schema#",
        "title": f"{TYPE_INFO[type_id][0]} {config_type}",
        "type": "object",
    }
    if config_type == "advanced":
        return {
            **base,
            "description": "Lifecycle hooks, icons and translations.",
            "properties": {},
            "required": [],
        }
    media = sorted(MEDIA_TYPES | ({"message"} if sim.options["accept_message_media_type"] else set()))
    properties: dict[str, Any] = {
        "url": {"type": "string", "format": "uri", "title": "Application URL"},
        "sandbox": {"type": "string", "title": "Iframe sandbox options (comma separated)"},
        "permissions": {"type": "string", "title": "Iframe feature/permission policy (comma separated)"},
        "groups": {"type": "array", "items": {"type": "string"}, "title": "Group filtering"},
    }
    if type_id == CLIENT_APP:
        properties["displayType"] = {"type": "string", "enum": ["standalone", "widget"]}
        properties["featureCategory"] = {"type": "string"}
    else:
        properties["queueIdFilterList"] = {"type": "array", "items": {"type": "string"}}
        properties["communicationTypeFilter"] = {
            "type": "string",
            "description": "Comma separated media types: " + ", ".join(media),
        }
    return {
        **base,
        "description": f"Properties of the {type_id} integration type.",
        "properties": properties,
        "required": ["url"],
        "additionalProperties": False,
    }


# -- what a user may see ----------------------------------------------------------------------------


def visible_client_apps(sim: GenesysSimulator, user: dict[str, Any]) -> list[dict[str, Any]]:
    """Enabled client-app integrations of the user's org whose `groups` filter lets the user in."""
    apps = []
    for integration in sim.state.integrations.values():
        if integration["org_id"] != user["org_id"] or integration["deleted_at"] is not None:
            continue
        _refresh_reported_state(sim, integration)
        if integration["intended_state"] != "ENABLED" or integration["type_id"] not in TYPE_INFO:
            continue
        groups = integration["config"]["properties"].get("groups") or []
        if groups and not set(groups) & set(user["groups"]):
            continue
        apps.append(integration)
    return apps


async def list_client_apps(sim: GenesysSimulator, request: Request, token: Token) -> Response:
    if token.user_id is None:
        return errors.bad_request("This request is not valid when using the Client Credentials OAuth grant")
    user = sim.state.users[token.user_id]
    entities = []
    for integration in visible_client_apps(sim, user):
        entity = integration_json(integration)
        entity["config"] = {"current": _config_json(integration)}
        entities.append(entity)
    return json_response(page_of(request, entities, f"{INTEGRATIONS_PATH}/clientapps"))

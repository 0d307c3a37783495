"""Who is calling: `/api/v2/tokens/me`, `/api/v2/users/me`, `/api/v2/organizations/me`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulators.asgi import Request, Response, json_response
from simulators.common import iso_millis
from simulators.genesys import errors
from simulators.genesys.state import Token

if TYPE_CHECKING:
    from simulators.genesys.app import GenesysSimulator

GRANT_NAMES = {"client_credentials": "CLIENT-CREDENTIALS", "implicit": "TOKEN", "code": "CODE"}


def organization_json(org: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": org["id"],
        "name": org["name"],
        "defaultLanguage": "en-us",
        "defaultCountryCode": "US",
        "thirdPartyOrgName": org["thirdPartyOrgName"],
        "domain": org["domain"],
        "version": 1,
        "state": org.get("state", "active"),
        "voicemailEnabled": False,
        "productPlatform": "GenesysCloud",
        "features": {},
        "selfUri": f"/api/v2/organizations/{org['id']}",
    }


def _named(org: dict[str, Any]) -> dict[str, Any]:
    return {"id": org["id"], "name": org["name"], "selfUri": f"/api/v2/organizations/{org['id']}"}


def token_info(sim: GenesysSimulator, token: Token) -> dict[str, Any]:
    org = sim.state.orgs[token.org_id]
    client = sim.state.clients[token.client_id]
    client_org = sim.state.orgs[client["org_id"]]
    return {
        "organization": _named(org),
        "homeOrganization": _named(org),
        "authorizedScope": [] if token.user_id is None else ["openid", "profile"],
        "OAuthClient": {
            "id": client["client_id"],
            "name": client["name"],
            "authorizedGrantType": GRANT_NAMES[token.grant],
            "organization": _named(client_org),
        },
    }


async def tokens_me(sim: GenesysSimulator, request: Request, token: Token) -> Response:
    return json_response(token_info(sim, token))


async def organizations_me(sim: GenesysSimulator, request: Request, token: Token) -> Response:
    return json_response(organization_json(sim.state.orgs[token.org_id]))


async def users_me(sim: GenesysSimulator, request: Request, token: Token) -> Response:
    if token.user_id is None:
        return errors.bad_request("This request is not valid when using the Client Credentials OAuth grant")
    user = sim.state.users[token.user_id]
    expand = {part for value in request.query_values("expand") for part in value.split(",")}
    body: dict[str, Any] = {
        "id": user["id"],
        "name": user["name"],
        "email": user["email"],
        "username": user["username"],
        "state": user["state"],
        "version": 1,
        "languagePreference": "en-us",
        "dateLastLogin": iso_millis(sim.clock.now()),
        "selfUri": f"/api/v2/users/{user['id']}",
    }
    if "organization" in expand:
        body["organization"] = organization_json(sim.state.orgs[user["org_id"]])
    if "token" in expand:
        body["token"] = token_info(sim, token)
    return json_response(body)

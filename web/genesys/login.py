"""Server-side check of the Genesys user token the embedded page sends us (spec §B4)."""

from __future__ import annotations

from dataclasses import dataclass

from web.genesys.client import GenesysClient
from web.genesys.errors import BadRequest, CredentialsInvalid, Forbidden, NotFound


@dataclass(frozen=True)
class GenesysUser:
    id: str
    name: str
    email: str | None
    org_id: str


class LoginRefused(Exception):
    """The agent may not sign in; `reason` is a sentence to show them."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def verify_agent_token(
    client: GenesysClient, api_base_url: str, user_token: str, expected_org_id: str
) -> GenesysUser:
    """Ask Genesys who owns the token (in the tenant's own region) and accept only an active user
    of the tenant's organisation. Outages (Transient, RateLimited) propagate: they are no verdict."""
    if not user_token:
        raise LoginRefused("No Genesys sign-in token was given")
    try:
        me = await client.get_user_me(api_base_url, user_token, expand=("organization",))
    except CredentialsInvalid as exc:
        raise LoginRefused(
            "Genesys did not accept the sign-in token (it may have expired); sign in again"
        ) from exc
    except (BadRequest, Forbidden, NotFound) as exc:
        # e.g. a client-credentials token, which has no user behind it.
        raise LoginRefused("This Genesys token does not belong to a user; sign in as an agent") from exc
    if not isinstance(me, dict) or not me.get("id"):
        raise LoginRefused("Genesys did not say which user this token belongs to")
    org_id = (me.get("organization") or {}).get("id")
    if not org_id or org_id != expected_org_id:
        raise LoginRefused("This Genesys user belongs to another organization")
    if me.get("state") != "active":
        raise LoginRefused("This Genesys user is not active")
    return GenesysUser(id=me["id"], name=me.get("name") or "", email=me.get("email"), org_id=org_id)

"""OAuth clients of the public API and the bearer tokens they get (client-credentials grant).

Client secrets are stored with the password hasher (checked once per token request); access tokens
are random and stored as SHA-256 digests, so checking one on every API request costs one indexed
lookup and no slow key derivation."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from web.db.engine import transaction
from web.db.tables import ApiClient, ApiToken
from web.passwords import hash_password, verify_password

SCOPES = ("scheduling:read", "scheduling:write")
TOKEN_TTL_SECONDS = 3600
DEFAULT_RATE_LIMIT_PER_MINUTE = 60
CLIENT_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{2,99}")


class InvalidClient(Exception):
    """Unknown client, wrong secret or revoked client (always the same answer to the caller)."""


@dataclass(frozen=True)
class ApiCaller:
    """Who is calling the API, from a valid bearer token."""

    client_pk: int
    client_id: str
    app_id: int
    app_public_id: str
    scopes: frozenset[str]
    rate_limit_per_minute: int


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    scopes: tuple[str, ...]


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _scopes(value: Any) -> list[str]:
    if isinstance(value, str):
        value = json.loads(value or "[]")
    return [s for s in value or [] if s in SCOPES]


async def create_client(
    app_id: int,
    name: str,
    scopes: list[str],
    *,
    client_id: str | None = None,
    secret: str | None = None,
    rate_limit_per_minute: int = DEFAULT_RATE_LIMIT_PER_MINUTE,
) -> tuple[ApiClient, str]:
    """A new client of the app; returns it with its secret (shown once, stored hashed)."""
    secret = secret or secrets.token_urlsafe(32)
    client = ApiClient(
        app=app_id,
        name=name,
        client_id=client_id or f"client_{secrets.token_hex(8)}",
        secret_hash=hash_password(secret),
        scopes=[s for s in SCOPES if s in scopes],
        rate_limit_per_minute=rate_limit_per_minute,
    )
    await client.save()
    client.scopes = _scopes(client.scopes)
    return client, secret


async def list_clients(app_id: int) -> list[ApiClient]:
    clients = await ApiClient.objects().where(ApiClient.app == app_id).order_by(ApiClient.created_at)
    for client in clients:
        client.scopes = _scopes(client.scopes)
    return clients


async def revoke_client(app_id: int, client_row: int, *, now: datetime | None = None) -> bool:
    """Revoke the client and drop its tokens at once. False when the app has no such client."""
    from web import clock

    async with transaction():
        client = await ApiClient.objects().get((ApiClient.app == app_id) & (ApiClient.id == client_row))
        if client is None:
            return False
        if client.revoked_at is None:
            client.revoked_at = now or clock.now()
            await client.save()
        await ApiToken.delete().where(ApiToken.client == client.id)
    return True


async def issue_token(client_id: str, client_secret: str, *, now: datetime) -> IssuedToken:
    """Client-credentials grant. Raises InvalidClient."""
    client = await ApiClient.objects().get(ApiClient.client_id == client_id)
    # Verify even for unknown clients so the answer time does not tell which ids exist.
    ok = verify_password(client.secret_hash if client else None, client_secret)
    if client is None or not ok or client.revoked_at is not None:
        raise InvalidClient("Unknown client or wrong secret.")
    token = secrets.token_urlsafe(32)
    async with transaction():
        # Expired tokens are useless; clear them while we are here.
        await ApiToken.delete().where((ApiToken.client == client.id) & (ApiToken.expires_at <= now))
        await ApiToken.insert(
            ApiToken(
                client=client.id,
                token_hash=token_digest(token),
                expires_at=now + timedelta(seconds=TOKEN_TTL_SECONDS),
            )
        )
    return IssuedToken(token, TOKEN_TTL_SECONDS, tuple(_scopes(client.scopes)))


# Every API request runs this: plain SQL, since building the two-level join costs Piccolo ~1.5 ms.
_AUTHENTICATE = """
SELECT c.id AS client_pk, c.client_id, c.scopes, c.rate_limit_per_minute AS rate_limit,
       c.revoked_at, a.id AS app_id, a.public_id AS app_public_id
FROM api_token t JOIN api_client c ON c.id = t.client JOIN video_app a ON a.id = c.app
WHERE t.token_hash = {} AND t.expires_at > {}
LIMIT 1
"""


async def authenticate(token: str, *, now: datetime) -> ApiCaller | None:
    """The caller behind a bearer token, or None (unknown, expired or revoked). One query."""
    if not token or len(token) > 200:
        return None
    rows = await ApiToken.raw(_AUTHENTICATE, token_digest(token), now)
    row = rows[0] if rows else None
    if row is None or row["revoked_at"] is not None:
        return None
    return ApiCaller(
        client_pk=row["client_pk"],
        client_id=row["client_id"],
        app_id=row["app_id"],
        app_public_id=str(row["app_public_id"]),
        scopes=frozenset(_scopes(row["scopes"])),
        rate_limit_per_minute=row["rate_limit"],
    )

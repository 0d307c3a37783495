"""Client-credentials token cache: one token per (login host, client id), refreshed before it expires."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

TokenKey = tuple[str, str]  # (login_base_url, client_id)

# Refresh when less than this is left, but never earlier than 90 % into the token's life, so that
# short-lived tokens (Genesys allows 5 minutes) are still reused for most of their lifetime.
REFRESH_MARGIN_SECONDS = 300.0
REFRESH_AT_FRACTION = 0.9

# Per-process key so the cache can tell a changed secret apart without keeping the secret itself.
_FINGERPRINT_KEY = secrets.token_bytes(32)


def secret_fingerprint(secret: str) -> str:
    return hmac.new(_FINGERPRINT_KEY, secret.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class CachedToken:
    access_token: str = field(repr=False)
    fingerprint: str = field(repr=False)
    expires_at: float
    refresh_at: float


class TokenCache:
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._tokens: dict[TokenKey, CachedToken] = {}
        self._locks: dict[TokenKey, asyncio.Lock] = {}

    def lock(self, key: TokenKey) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    def fresh(self, key: TokenKey, fingerprint: str) -> str | None:
        """A token that needs no refresh yet, or None."""
        cached = self._matching(key, fingerprint)
        if cached is None or self._clock() >= cached.refresh_at:
            return None
        return cached.access_token

    def usable(self, key: TokenKey, fingerprint: str) -> str | None:
        """A token that is due for refresh but not expired: a fallback when the refresh fails."""
        cached = self._matching(key, fingerprint)
        if cached is None or self._clock() >= cached.expires_at:
            return None
        return cached.access_token

    def store(self, key: TokenKey, fingerprint: str, access_token: str, expires_in: float) -> None:
        now = self._clock()
        margin = min(REFRESH_MARGIN_SECONDS, (1 - REFRESH_AT_FRACTION) * expires_in)
        self._tokens[key] = CachedToken(
            access_token=access_token,
            fingerprint=fingerprint,
            expires_at=now + expires_in,
            refresh_at=now + expires_in - margin,
        )

    def drop(self, key: TokenKey, access_token: str | None = None) -> None:
        """Forget the token; with `access_token`, only if it is still the cached one (a concurrent
        caller may already have replaced it)."""
        cached = self._tokens.get(key)
        if cached is not None and (access_token is None or cached.access_token == access_token):
            del self._tokens[key]

    def _matching(self, key: TokenKey, fingerprint: str) -> CachedToken | None:
        cached = self._tokens.get(key)
        if cached is None or not hmac.compare_digest(cached.fingerprint, fingerprint):
            return None
        return cached

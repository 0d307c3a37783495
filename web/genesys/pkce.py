"""Authorization code + PKCE helpers for identifying the agent in the embedded page."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlencode


@dataclass(frozen=True)
class PkcePair:
    verifier: str = field(repr=False)
    challenge: str


def pkce_challenge(verifier: str) -> str:
    """base64url(SHA-256(verifier)) without padding (method S256)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def new_pkce_pair() -> PkcePair:
    # 64 random bytes give an 86-character verifier, inside the allowed 43-128.
    verifier = secrets.token_urlsafe(64)
    return PkcePair(verifier=verifier, challenge=pkce_challenge(verifier))


def authorize_url(
    login_base_url: str, *, client_id: str, redirect_uri: str, challenge: str, state: str
) -> str:
    """Where to send the browser to start the code + PKCE sign-in."""
    query = urlencode(
        {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": state,
        }
    )
    return f"{login_base_url.rstrip('/')}/oauth/authorize?{query}"

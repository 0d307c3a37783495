"""Checking the signature Genesys puts on outbound open-messaging webhooks (spec §C5)."""

from __future__ import annotations

import base64
import hashlib
import hmac

SIGNATURE_HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="


def sign(raw_body: bytes, secret: str) -> str:
    """The header value Genesys sends: "sha256=" + base64 (not hex) of HMAC-SHA256 of the body."""
    digest = hmac.new(secret.encode(), raw_body, hashlib.sha256).digest()
    return _PREFIX + base64.b64encode(digest).decode("ascii")


def verify_signature(raw_body: bytes, header_value: str, secret: str) -> bool:
    """Compare over the raw bytes as received; re-serialised JSON would not match."""
    header_value = (header_value or "").strip()
    if not secret or not header_value.startswith(_PREFIX):
        return False
    return hmac.compare_digest(sign(raw_body, secret).encode(), header_value.encode())

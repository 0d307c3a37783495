"""Secrets at rest (Genesys client secrets, WhatsApp tokens): Fernet with a key derived from SECRET_KEY."""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


@lru_cache(maxsize=8)
def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"punctual secrets at rest").derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(secret_key: str, plaintext: str) -> str:
    return _fernet(secret_key).encrypt(plaintext.encode()).decode() if plaintext else ""


def decrypt(secret_key: str, token: str) -> str:
    """The plaintext, or "" when there is nothing stored or the key changed."""
    if not token:
        return ""
    try:
        return _fernet(secret_key).decrypt(token.encode()).decode()
    except InvalidToken:
        return ""

"""Turning Genesys HTTP responses into values and typed errors."""

from __future__ import annotations

import re
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from web.genesys.errors import (
    BadRequest,
    CredentialsInvalid,
    Forbidden,
    GenesysError,
    NotFound,
    RateLimited,
    Transient,
    VersionConflict,
)

CORRELATION_HEADERS = ("ININ-Correlation-Id", "Genesys-Correlation-Id")
VERSION_MISMATCH_TEXT = "does not match the current version"
# The normalised 429 body says "Retry the request in [42] seconds".
_SECONDS_IN_BRACKETS = re.compile(r"\[(\d+(?:\.\d+)?)\]")


def region_hint(base_url: str) -> str:
    """ "https://login.mypurecloud.com" -> "mypurecloud.com"; a simulator URL keeps host:port."""
    host = urlsplit(base_url).netloc or base_url
    for prefix in ("login.", "api."):
        host = host.removeprefix(prefix)
    return host


def correlation_id(response: httpx.Response, body: Any = None) -> str | None:
    for name in CORRELATION_HEADERS:
        if response.headers.get(name):
            return response.headers[name]
    if isinstance(body, dict) and isinstance(body.get("contextId"), str):
        return body["contextId"]
    return None


def parse_json(response: httpx.Response) -> Any:
    """The JSON body, None when empty; ValueError when it is not JSON."""
    if not response.content.strip():
        return None
    return response.json()


def retry_after_seconds(response: httpx.Response, body: Any = None) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            moment = parsedate_to_datetime(value)
            date = parsedate_to_datetime(response.headers["Date"]) if "Date" in response.headers else None
            if date is not None:
                return max(0.0, (moment - date).total_seconds())
        except (TypeError, ValueError, IndexError):
            pass
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        match = _SECONDS_IN_BRACKETS.search(body["message"])
        if match:
            return float(match.group(1))
    return None


def error_from_response(
    response: httpx.Response, *, oauth: bool, region: str | None, path: str
) -> GenesysError:
    """Map a non-2xx response to the typed error (E1 ErrorBody, or the OAuth error shape)."""
    try:
        body = parse_json(response)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    status = response.status_code
    message = (
        body.get("message")
        or body.get("error_description")
        or body.get("description")
        or response.reason_phrase
        or f"HTTP {status}"
    )
    fields = {
        "status": status,
        "code": body.get("code") or body.get("error"),
        "correlation_id": correlation_id(response, body),
        "details": body.get("details") if isinstance(body.get("details"), list) else None,
        "region": region,
        "path": path,
    }
    if status == 429:
        return RateLimited(str(message), retry_after=retry_after_seconds(response, body), **fields)
    if status >= 500:
        return Transient(str(message), retry_after=retry_after_seconds(response, body), **fields)
    if oauth and (status in (400, 401, 403) or "error" in body):
        return CredentialsInvalid(str(message), **fields)
    if status == 401:
        return CredentialsInvalid(str(message), **fields)
    if status == 403:
        return Forbidden(str(message), **fields)
    if status == 404:
        return NotFound(str(message), **fields)
    if status == 409 or (status == 400 and VERSION_MISMATCH_TEXT in str(message).lower()):
        return VersionConflict(str(message), **fields)
    return BadRequest(str(message), **fields)

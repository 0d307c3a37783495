"""Genesys `ErrorBody` responses with the status/code/message triples the platform uses."""

from __future__ import annotations

import uuid
from typing import Any

from simulators.asgi import Response, json_response

CORRELATION_HEADER = "ININ-Correlation-Id"

MESSAGES = {
    "bad.request": "The request could not be understood by the server due to malformed syntax.",
    "authentication.required": "No authentication bearer token specified in authorization header.",
    "bad.credentials": "Invalid login credentials.",
    "not.authorized": "You are not authorized to perform the requested action.",
    "not.found": "The requested resource was not found.",
    "general.conflict": "The request could not be completed due to a conflict with the current state.",
    "internal.server.error": "The server encountered an unexpected condition which prevented it from "
    "fulfilling the request.",
    "service.unavailable": "Service Unavailable - The server is currently unavailable (because it is "
    "overloaded or down for maintenance).",
    "request.timeout": "The request timed out.",
}

ANY_OF_MESSAGE = (
    "should have required property 'content', should have required property '.text', "
    "should match some schema in anyOf"
)


def new_context_id() -> str:
    return str(uuid.uuid4())


def error_body(
    status: int,
    code: str,
    message: str | None = None,
    *,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    context_id = new_context_id()
    body = {
        "message": message or MESSAGES.get(code, code),
        "code": code,
        "status": status,
        "contextId": context_id,
        "details": details or [],
        "errors": [],
        **extra,
    }
    return json_response(body, status, {CORRELATION_HEADER: context_id, **(headers or {})})


def bad_request(
    message: str | None = None, *, field: str | None = None, code: str = "bad.request"
) -> Response:
    details = [{"errorCode": code, "fieldName": field}] if field else []
    return error_body(400, code, message, details=details)


def not_found(entity_id: str | None = None) -> Response:
    extra = {"entityId": entity_id} if entity_id else {}
    return error_body(404, "not.found", **extra)


def missing_permissions(*permissions: str) -> Response:
    names = ", ".join(permissions)
    return error_body(
        403,
        "missing.permissions",
        f"Unable to perform the requested action. You are missing the following permission(s): [{names}]",
        messageWithParams="Unable to perform the requested action. You are missing the following "
        "permission(s): {permissions}",
        messageParams={"permissions": names},
    )


def rate_limited(retry_after: int, *, key: str = "client.credentials.token.rate.per.minute") -> Response:
    return error_body(
        429,
        "too.many.requests.retry.after",
        f"Rate limit exceeded the maximum. Retry the request in [{retry_after}] seconds",
        headers={"Retry-After": str(retry_after)},
        limit={"key": key, "namespace": "platform.api", "value": 300},
    )


def oauth_error(status: int, error: str, description: str) -> Response:
    """Login-host errors use the OAuth shape, not ErrorBody (note the duplicated description)."""
    body = {"error": error, "description": description, "error_description": description}
    return json_response(body, status, {CORRELATION_HEADER: new_context_id()})

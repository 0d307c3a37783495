"""Who may call the API and how often: bearer token (401), scope (403), then the per-client
quota (429). Every answer after those checks carries the X-RateLimit-* headers; the app in the
path must be the client's own app, or it does not exist as far as the caller can tell (404)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from litestar import Litestar, Request, Response
from litestar.datastructures import MutableScopeHeaders
from litestar.exceptions import ValidationException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from web import api_rate_limit, clock
from web.errors import ApiError, error_envelope
from web.scheduling import api_clients
from web.scheduling.api_clients import ApiCaller

READ = "scheduling:read"
WRITE = "scheduling:write"
_CALLER = "api_caller"
_QUOTA = "api_quota"


def iso_now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _bearer(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            kind, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if kind.lower() == "bearer" else ""
    return ""


class ApiAccessMiddleware(ASGIMiddleware):
    """Authenticate, check the handler's scope (`opt["scope"]`), count the request."""

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        now = clock.now()
        caller = await api_clients.authenticate(_bearer(scope), now=now)
        if caller is None:
            raise ApiError(
                401,
                "A valid bearer token is required.",
                error_type="unauthorized",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        needed = scope["route_handler"].opt.get("scope")
        if needed and needed not in caller.scopes:
            raise ApiError(403, f"This client lacks the {needed} scope.", error_type="forbidden")
        app = Litestar.from_scope(scope)
        quota = await api_rate_limit.count_request(
            app.state.redis, app.state.settings.instance, caller.client_pk, caller.rate_limit_per_minute, now
        )
        if quota.exceeded:
            raise ApiError(
                429,
                "Rate limit exceeded",
                error_type="rate_limit_exceeded",
                headers={**quota.headers(), "Retry-After": str(quota.retry_after(now))},
            )
        if not _is_own_app(caller, scope.get("path_params", {}).get("appId", "")):
            raise ApiError(404, "No such video app.", error_type="app_not_found", headers=quota.headers())
        scope.setdefault("state", {})[_CALLER] = caller

        async def send_with_quota(message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                for name, value in quota.headers().items():
                    headers[name] = value
            await send(message)

        await next_app(scope, receive, send_with_quota)


def _is_own_app(caller: ApiCaller, app_id: str) -> bool:
    try:
        return uuid.UUID(app_id) == uuid.UUID(caller.app_public_id)
    except (ValueError, TypeError, AttributeError):
        return False


async def provide_caller(request: Request) -> ApiCaller:
    """The authenticated caller (the middleware has already checked it owns the path's app)."""
    return request.scope["state"][_CALLER]


# --- request validation problems as 400s with one detail per field -------------------------------------

_UNKNOWN = re.compile(r"unknown field `([^`]+)`")
_MISSING = re.compile(r"missing required field `([^`]+)`")
_QUERY = re.compile(r"Missing required (?:query|path|header|cookie) parameter '([^']+)'")


def _detail(item: dict) -> dict:
    message = str(item.get("message") or "Invalid value.")
    field = str(item.get("key") or "")
    code = "invalid"
    if match := _UNKNOWN.search(message):
        field, code, message = match.group(1), "unknown_field", "This field is not accepted here."
    elif match := _MISSING.search(message):
        field, code, message = match.group(1), "required", "This field is required."
    elif match := _QUERY.search(message):
        field, code, message = match.group(1), "required", "This parameter is required."
    elif field == "data" and message.strip("'\"") == "data":
        field, code, message = "", "required", "A JSON object body is required."
    elif message.startswith("Expected `") and ", got `" in message:
        code = "invalid_type"
    elif "length" in message:
        code = "invalid_length"
    elif ">=" in message or "<=" in message:
        code = "out_of_range"
    if field == "data":
        field = ""
    return {"field": _camel(field), "message": message, "code": code}


def _camel(name: str) -> str:
    """Query parameters are validated under their Python names; report the names clients use."""
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _lookup_artifact(item: dict) -> bool:
    """Litestar re-checks every parameter of the route after a failure and reports the router's own
    path parameter (appId), which the handler never reads, as a bare "'appId'": not the client's fault."""
    key = str(item.get("key") or "")
    return key not in ("", "data") and str(item.get("message") or "").strip("'\"") == key


def validation_error(request: Request, exc: ValidationException) -> Response:
    items = [item for item in (exc.extra or []) if isinstance(item, dict) and not _lookup_artifact(item)]
    details = [_detail(item) for item in items]
    if not details and (match := _QUERY.search(exc.detail or "")):
        details = [{"field": match.group(1), "message": "This parameter is required.", "code": "required"}]
    message = "The request is not valid." if details else (exc.detail or "The request is not valid.")
    return Response(error_envelope(400, message, "invalid_request", details), status_code=400)


def error_responses(*statuses: int) -> dict:
    """OpenAPI entries for the error statuses a handler can answer with."""
    from litestar.openapi.datastructures import ResponseSpec

    from web.controllers.api.models import ErrorResponse

    texts = {
        400: "The request is not valid (one detail per field)",
        401: "Missing, unknown or expired bearer token",
        403: "The client lacks the scope, or scheduling is disabled",
        404: "No such video app (app_not_found) or scheduled call (not_found)",
        409: "The slot is not available or the call is in a final state",
        429: "Too many requests (Retry-After says when to try again)",
    }
    return {
        status: ResponseSpec(data_container=ErrorResponse, description=texts[status]) for status in statuses
    }

"""Errors as people and API clients should see them: JSON envelopes for the API, pages for browsers."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from urllib.parse import quote

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

log = logging.getLogger("punctual.errors")

API_PREFIXES = ("/api/", "/oauth/")

ERROR_TYPES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limit_exceeded",
    500: "server_error",
    503: "service_unavailable",
}

PAGE_TITLES = {
    400: "That request could not be understood",
    403: "You do not have access to this page",
    404: "Page not found",
    405: "That action is not allowed here",
    429: "Too many requests",
    500: "Something went wrong on our side",
    503: "Temporarily unavailable",
}


class ApiError(HTTPException):
    """An error the public API reports in its envelope: `{"error": {type, message, timestamp, details}}`."""

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        error_type: str | None = None,
        details: list[dict] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail=message, status_code=status_code, headers=headers)
        self.error_type = error_type or ERROR_TYPES.get(status_code, "error")
        self.details = details or []


def error_envelope(status_code: int, message: str, error_type: str | None = None, details=None) -> dict:
    return {
        "error": {
            "type": error_type or ERROR_TYPES.get(status_code, "error"),
            "message": message,
            "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "details": details or [],
        }
    }


def is_api_request(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIXES)


def _validation_details(exc: ValidationException) -> list[dict]:
    details = []
    for item in exc.extra or []:
        if isinstance(item, dict):
            details.append(
                {"field": item.get("key") or "", "message": item.get("message") or "", "code": "invalid"}
            )
    return details


def handle_http_exception(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    headers = dict(exc.headers or {})
    if is_api_request(request):
        if isinstance(exc, ApiError):
            body = error_envelope(status, exc.detail, exc.error_type, exc.details)
        elif isinstance(exc, ValidationException):
            body = error_envelope(
                400, "The request is not valid.", "invalid_request", _validation_details(exc)
            )
            status = 400
        else:
            body = error_envelope(status, exc.detail or PAGE_TITLES.get(status, "Error"))
        return Response(body, status_code=status, headers=headers, media_type="application/json")
    if isinstance(exc, NotAuthorizedException):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return Redirect(f"/login?next={quote(target, safe='')}")
    return Template(
        "error.html",
        context={"status": status, "title": PAGE_TITLES.get(status, "Error"), "message": exc.detail},
        status_code=status,
        headers=headers,
    )


def handle_server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    if is_api_request(request):
        return Response(
            error_envelope(500, "An unexpected error occurred."),
            status_code=HTTP_500_INTERNAL_SERVER_ERROR,
            media_type="application/json",
        )
    return Template(
        "error.html",
        context={"status": 500, "title": PAGE_TITLES[500], "message": "Please try again in a moment."},
        status_code=HTTP_500_INTERNAL_SERVER_ERROR,
    )


def handle_too_deep(request: Request, exc: RecursionError) -> Response:
    """A body nested thousands of levels deep exhausts the JSON decoder's recursion: the client's doing."""
    log.warning("refused a too deeply nested body on %s %s", request.method, request.url.path)
    message = "The request body is nested too deeply."
    return handle_http_exception(
        request,
        ApiError(400, message) if is_api_request(request) else HTTPException(detail=message, status_code=400),
    )


EXCEPTION_HANDLERS = {
    HTTPException: handle_http_exception,
    RecursionError: handle_too_deep,
    Exception: handle_server_error,
}

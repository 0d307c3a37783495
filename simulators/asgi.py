"""A very small ASGI layer for the simulators: request, response and a path router.

The simulators are plain ASGI apps so that every byte of every response (error bodies, headers,
dropped connections, broken JSON) is under their control.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

_NO_JSON = object()


@dataclass
class Request:
    method: str
    path: str
    query_string: str
    headers: dict[str, str]
    body: bytes
    scheme: str = "http"
    path_params: dict[str, str] = field(default_factory=dict)
    _json: Any = _NO_JSON

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(self.query_string, keep_blank_values=True)

    def query_value(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def query_values(self, name: str) -> list[str]:
        return self.query.get(name, [])

    def query_bool(self, name: str) -> bool:
        return (self.query_value(name) or "").lower() == "true"

    @property
    def host(self) -> str:
        return self.headers.get("host", "localhost")

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self.host}"

    @property
    def is_json(self) -> bool:
        return "json" in self.headers.get("content-type", "")

    def json(self) -> Any:
        """The parsed JSON body; raises ValueError when it is not valid JSON."""
        if self._json is _NO_JSON:
            self._json = json.loads(self.body.decode("utf-8")) if self.body else None
        return self._json

    def form(self) -> dict[str, str]:
        parsed = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {key: values[0] for key, values in parsed.items()}

    def body_for_log(self) -> Any:
        if not self.body:
            return None
        try:
            return self.json()
        except ValueError:
            return self.body.decode("utf-8", "replace")


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def set_header(self, name: str, value: str) -> None:
        self.headers = [(k, v) for k, v in self.headers if k.lower() != name.lower()]
        self.headers.append((name, value))


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(data, separators=(",", ":")).encode()
    response = Response(status, body, [("Content-Type", "application/json")])
    for name, value in (headers or {}).items():
        response.set_header(name, value)
    return response


def html_response(html: str, status: int = 200) -> Response:
    return Response(status, html.encode(), [("Content-Type", "text/html; charset=utf-8")])


def redirect_response(location: str) -> Response:
    return Response(302, b"", [("Location", location)])


Handler = Callable[[Request], Awaitable[Response]]


class Router:
    """Routes `METHOD /path/{param}` to handlers; `{param}` matches one path segment."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern)
        self._routes.append((method.upper(), re.compile(f"^{regex}$"), handler))

    def match(self, method: str, path: str) -> tuple[Handler | None, dict[str, str], bool]:
        """(handler, path params, path_known); path_known tells 405 from 404."""
        path_known = False
        for route_method, regex, handler in self._routes:
            found = regex.match(path)
            if found:
                path_known = True
                if route_method == method:
                    return handler, found.groupdict(), True
        return None, {}, path_known


async def read_request(scope: dict, receive: Callable) -> Request:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    forwarded = headers.get("x-forwarded-proto")
    return Request(
        method=scope["method"].upper(),
        path=scope["path"],
        query_string=scope.get("query_string", b"").decode("latin-1"),
        headers=headers,
        body=b"".join(chunks),
        scheme=forwarded or scope.get("scheme", "http"),
    )


async def send_response(send: Callable, response: Response) -> None:
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
    headers.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})

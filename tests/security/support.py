"""Helpers for the security sweeps: every route the app really serves (read from the app itself,
so a route added later is checked too), with its path parameters filled from a tenant."""

from __future__ import annotations

import re
from collections.abc import Mapping

import httpx

# Routes that authenticate without cookies, so CSRF does not apply (web/app.py's exemptions).
CSRF_EXEMPT = re.compile(r"^/(api/|oauth/|genesys/webhook)")
# Not pages: the OpenAPI viewers, static files and the long-lived event stream.
NOT_PAGES = re.compile(r"^/(schema|static/)|/stream$")
PARAM = re.compile(r"\{(\w+):(\w+)\}")


def routes(app, method: str) -> list[str]:
    """The path templates (`/apps/{app_id:str}`) that answer `method`."""
    found = []
    for route in app.routes:
        if method in (getattr(route, "methods", None) or ()):
            found.append(route.path)
    return sorted(set(found))


def fill(template: str, values: Mapping[str, object]) -> str:
    """The template with each parameter replaced by `values[name]` (or a harmless default)."""

    def one(match: re.Match) -> str:
        name, kind = match.group(1), match.group(2)
        if name in values:
            return str(values[name])
        return "1" if kind == "int" else "x"

    return PARAM.sub(one, template)


def without_query(path: str) -> str:
    return path.split("?", 1)[0]


async def fresh_csrf(http: httpx.AsyncClient) -> str:
    if "punctual_csrf" not in http.cookies:
        await http.get("/login")
    return http.cookies.get("punctual_csrf", "")

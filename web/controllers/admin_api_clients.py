"""API clients of a video app: create one (its secret is shown exactly once), list, revoke."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Template

from web import clock
from web.auth import requires_login
from web.controllers.admin import admin_context
from web.db.tables import VideoApp
from web.permissions import require_app_role
from web.scheduling import api_clients

SCOPES = ("scheduling:read", "scheduling:write")


async def clients_context(request: Request, app: VideoApp, **extra: Any) -> dict[str, Any]:
    clients = await api_clients.list_clients(app.id)
    return {
        **await admin_context(request, app, "api-clients"),
        "clients": clients,
        "scopes": SCOPES,
        "values": {"name": "", "scopes": list(SCOPES)},
        "errors": {},
        "created": None,
        "secret": None,
        "message": None,
        **extra,
    }


@get("/apps/{app_id:str}/api-clients", guards=[requires_login])
async def api_clients_page(request: Request, app_id: FromPath[str]) -> Template:
    app, _ = await require_app_role(request, app_id, "admin")
    return Template(
        "admin/api_clients.html",
        context=await clients_context(request, app),
        headers={"Cache-Control": "no-store"},
    )


@post("/apps/{app_id:str}/api-clients", guards=[requires_login], status_code=200)
async def api_client_create(request: Request, app_id: FromPath[str]) -> Template:
    app, _ = await require_app_role(request, app_id, "admin")
    form = await request.form()
    name = str(form.get("name", "")).strip()
    scopes = [s for s in form.getall("scopes", []) if s in SCOPES]
    errors: dict[str, str] = {}
    if not name or len(name) > 200:
        errors["name"] = "Give the client a name (at most 200 characters)."
    if not scopes:
        errors["scopes"] = "Choose at least one scope."
    if errors:
        context = await clients_context(request, app, values={"name": name, "scopes": scopes}, errors=errors)
        return Template("admin/api_clients.html", context=context, status_code=200 if request.htmx else 400)
    client, secret = await api_clients.create_client(app.id, name, scopes)
    # The secret is only ever in this one response: never cached, never stored in clear.
    context = await clients_context(request, app, created=client, secret=secret)
    return Template("admin/api_clients.html", context=context, headers={"Cache-Control": "no-store"})


@post("/apps/{app_id:str}/api-clients/{client_row:int}/revoke", guards=[requires_login], status_code=200)
async def api_client_revoke(request: Request, app_id: FromPath[str], client_row: FromPath[int]) -> Template:
    app, _ = await require_app_role(request, app_id, "admin")
    if not await api_clients.revoke_client(app.id, client_row, now=clock.now()):
        raise NotFoundException("That API client does not exist.")
    return Template(
        "admin/api_clients.html", context=await clients_context(request, app, message="Client revoked.")
    )


ROUTES = [api_clients_page, api_client_create, api_client_revoke]

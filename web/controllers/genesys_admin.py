"""The Genesys tab of a video app (admins): connection settings, "Test connection", and the setup
of our client apps in Genesys (My schedules, the interaction widget).

The client secret never leaves the server: the form only says whether one is set."""

from __future__ import annotations

import re
from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from web import clock
from web.auth import requires_login
from web.controllers.admin import admin_context
from web.db.tables import GenesysSettings, VideoApp
from web.genesys import settings_store, setup
from web.genesys.regions import REGION_CHOICES
from web.permissions import require_app_role
from web.scheduling.presets import get_preset

UUID_LIST_ERROR = "Give ids of 8-4-4-4-12 hexadecimal digits, separated by commas or new lines."


def _settings_values(row: GenesysSettings | None) -> dict[str, str]:
    values = {name: "" for name in settings_store.FORM_FIELDS}
    if row is not None:
        for name in settings_store.FORM_FIELDS:
            if name != "client_secret":
                values[name] = getattr(row, name) or ""
    values["region"] = values["region"] or "mypurecloud.com"
    return values


def _id_list(text: str) -> tuple[list[str], bool]:
    """Ids from a free-text field; False when one of them is not UUID-shaped."""
    items = [item for item in re.split(r"[\s,]+", text.strip()) if item]
    return items, all(settings_store.UUID_SHAPE.match(item) for item in items)


async def _setup_context(request: Request, app: VideoApp, row: GenesysSettings | None) -> dict[str, Any]:
    preset = await get_preset(app.id)
    groups = setup.json_value(row.groups, []) if row else []
    queues = setup.json_value(row.widget_queue_ids, []) if row else []
    return {
        "provisioned": settings_store.is_provisioned(row),
        "setup_row": row,
        "dispatch_enabled": bool(preset.genesys_dispatch_enabled),
        "integration_state": setup.json_value(row.integration_state, {}) if row else {},
        "setup_values": {"groups": "\n".join(groups), "widget_queue_ids": "\n".join(queues)},
        "setup_errors": {},
        "setup_messages": [],
        "setup_done": False,
        "my_schedules_name": setup.my_schedules_name(app),
        "widget_name": setup.widget_name(app),
    }


async def _page_context(
    request: Request,
    app: VideoApp,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    saved: bool = False,
) -> dict[str, Any]:
    row = await settings_store.get_row(app.id)
    return {
        **await admin_context(request, app, "genesys"),
        "values": values or _settings_values(row),
        "errors": errors or {},
        "saved": saved,
        "secret_is_set": bool(row and row.client_secret_encrypted),
        "regions": REGION_CHOICES,
        "row": row,
        "report": setup.json_value(row.last_test_report, []) if row else [],
        "complete": bool(row and settings_store.is_complete(row)),
        "public_url": request.app.state.settings.public_url,
        **await _setup_context(request, app, row),
    }


@get("/apps/{app_id:str}/genesys", name="app_genesys", guards=[requires_login])
async def genesys_page(request: Request, app_id: FromPath[str]) -> Template:
    app, _ = await require_app_role(request, app_id, "admin")
    return Template("genesys/settings.html", context=await _page_context(request, app))


@post("/apps/{app_id:str}/genesys", guards=[requires_login], status_code=200)
async def genesys_save(request: Request, app_id: FromPath[str]) -> Template:
    app, _ = await require_app_role(request, app_id, "admin")
    form = await request.form()
    row = await settings_store.get_row(app.id)
    values, errors = settings_store.validate_settings(
        {name: form.get(name, "") for name in settings_store.FORM_FIELDS},
        secret_is_set=bool(row and row.client_secret_encrypted),
    )
    if not errors:
        await settings_store.save_settings(app.id, values, request.app.state.settings.secret_key)
    values["client_secret"] = ""  # never echoed back, not even after an error
    context = await _page_context(request, app, values=values, errors=errors, saved=not errors)
    if not errors:
        context["values"] = _settings_values(context["row"])
    template = "genesys/_settings_saved.html" if request.htmx else "genesys/settings.html"
    # htmx swaps only 2xx answers: the form with its errors comes back as 200 there.
    status = 400 if errors and not request.htmx else 200
    return Template(template, context=context, status_code=status)


@post("/apps/{app_id:str}/genesys/test", guards=[requires_login], status_code=200)
async def genesys_test(request: Request, app_id: FromPath[str]) -> Template | Redirect:
    app, _ = await require_app_role(request, app_id, "admin")
    settings = request.app.state.settings
    row = await setup.run_connection_test(request.app.state.genesys, app.id, settings.secret_key, clock.now())
    if not request.htmx:
        return Redirect(f"/apps/{app.public_id}/genesys", status_code=303)
    row = row or await settings_store.get_row(app.id)
    context = {
        "app": app,
        "row": row,
        "report": setup.json_value(row.last_test_report, []) if row else [],
        "complete": bool(row and settings_store.is_complete(row)),
    }
    # The setup section appears (or goes) with the outcome of the test.
    context.update(await _setup_context(request, app, row))
    return Template("genesys/_test_result.html", context=context)


@post("/apps/{app_id:str}/genesys/setup", guards=[requires_login], status_code=200)
async def genesys_setup(request: Request, app_id: FromPath[str]) -> Template | Redirect:
    app, _ = await require_app_role(request, app_id, "admin")
    settings = request.app.state.settings
    tenant = await settings_store.load(app.id, settings.secret_key)
    form = await request.form()
    context: dict[str, Any] = {"app": app}
    if tenant is None or not tenant.provisioned:
        context.update(await _setup_context(request, app, tenant.row if tenant else None))
        return Template("genesys/_setup.html", context=context)
    groups, groups_ok = _id_list(str(form.get("groups", "")))
    queues, queues_ok = _id_list(str(form.get("widget_queue_ids", "")))
    errors = {}
    if not groups_ok:
        errors["groups"] = UUID_LIST_ERROR
    if not queues_ok:
        errors["widget_queue_ids"] = UUID_LIST_ERROR
    action = str(form.get("action", "enable"))
    if action == "refresh":
        await setup.refresh_states(request.app.state.genesys, tenant)
        messages: list[str] = []
    elif not errors:
        preset = await get_preset(app.id)
        result = await setup.apply_setup(
            request.app.state.genesys,
            tenant,
            app,
            public_url=settings.public_url,
            my_schedules_enabled=action == "enable",
            dispatch_enabled=bool(preset.genesys_dispatch_enabled),
            groups=groups,
            widget_queue_ids=queues,
        )
        messages = result.errors
    else:
        messages = []
    if not request.htmx:
        return Redirect(f"/apps/{app.public_id}/genesys", status_code=303)
    context.update(await _setup_context(request, app, await settings_store.get_row(app.id)))
    context["setup_errors"] = errors
    context["setup_messages"] = messages
    context["setup_done"] = not errors and not messages and action != "refresh"
    if errors:
        context["setup_values"] = {
            "groups": str(form.get("groups", "")),
            "widget_queue_ids": str(form.get("widget_queue_ids", "")),
        }
    return Template("genesys/_setup.html", context=context)


ROUTES = [genesys_page, genesys_save, genesys_test, genesys_setup]

"""The agent's console, /my-schedules: their own bookings as a week agenda, creating a booking for
a customer, and do-not-disturb windows with the "affects N bookings" prompt.

`render_my_schedules` is the whole page; the embedded (Genesys) route calls it with embedded=True."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.plugins.htmx import ClientRedirect
from litestar.response import Redirect, Template

from web import clock
from web.auth import requires_login
from web.controllers.bookings import (
    NEW_BOOKING_FIELDS,
    actor_for,
    error_messages,
    form_dict,
    new_booking_from_form,
    parse_local,
)
from web.controllers.notifications import chrome_context
from web.db.tables import Membership, User, VideoApp
from web.permissions import current_user, effective_role, require_app_role
from web.scheduling import agenda, bookings, people
from web.scheduling.directory import apps_for_user
from web.scheduling.timeutil import zone

DND_FIELDS = ("starts_at", "ends_at", "reason")


def viewer_timezone(app: VideoApp, member: Membership | None) -> str:
    return member.timezone if member is not None and member.timezone else app.timezone


def parse_week(value: str | None, tz: str) -> date:
    """The Monday of the requested week (default: this week on the viewer's clock)."""
    try:
        day = date.fromisoformat(value) if value else None
    except ValueError:
        day = None
    if day is None:
        day = clock.now().astimezone(zone(tz)).date()
    return agenda.week_of(day)


def _link(app: VideoApp, embedded: bool, **params: Any) -> str:
    query = f"app={app.public_id}" + "".join(f"&{k}={v}" for k, v in params.items())
    return f"/my-schedules?{query}" + ("&embedded=1" if embedded else "")


async def render_my_schedules(
    request: Request,
    user: User,
    app: VideoApp,
    week: str | None,
    embedded: bool,
    *,
    member: Membership | None = None,
    extra: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Template:
    """The /my-schedules page for `user` in `app` (the caller has checked membership)."""
    if member is None:
        member = await Membership.objects().get((Membership.app == app.id) & (Membership.user == user.id))
    tz = viewer_timezone(app, member)
    monday = parse_week(week, tz)
    start, end = agenda.week_range(monday, tz)
    rows = await agenda.week_agenda(user.id, app.id, start, end)
    now = clock.now()
    today = now.astimezone(zone(tz)).date()
    context: dict[str, Any] = {
        "app": app,
        "embedded": embedded,
        "q": "?embedded=1" if embedded else "",
        "tz": tz,
        "days": agenda.by_day(rows, monday, tz),
        "count": len(rows),
        "today": today,
        "monday": monday,
        "sunday": monday + timedelta(days=6),
        "prev_link": _link(app, embedded, week=(monday - timedelta(days=7)).isoformat()),
        "next_link": _link(app, embedded, week=(monday + timedelta(days=7)).isoformat()),
        "this_week_link": _link(app, embedded),
        "week_value": monday.isoformat(),
        "dnd_windows": await people.dnd_windows_of(app.id, user.id, now),
        "create": {"values": dict.fromkeys(NEW_BOOKING_FIELDS, ""), "errors": {}, "form_error": None},
        "dnd": {"values": dict.fromkeys(DND_FIELDS, ""), "errors": {}, "prompt": None, "message": None},
        **await chrome_context(request),
    }
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(context.get(key), dict):
            context[key] = {**context[key], **value}
        else:
            context[key] = value
    return Template("agent/my_schedules.html", context=context, status_code=status_code)


async def _agent_app(request: Request, app_param: str | None) -> tuple[VideoApp, Membership | None] | None:
    """The app the page is about; None when the user must choose one."""
    if app_param:
        return await require_app_role(request, app_param, "agent")
    user = current_user(request)
    apps = await apps_for_user(user)
    if len(apps) == 1:
        return await require_app_role(request, apps[0]["public_id"], "agent")
    if not apps:
        raise NotFoundException("You are not a member of any video app yet.")
    return None


def _embedded(request: Request, form: Any = None) -> bool:
    if form is not None and str(form.get("embedded", "")) == "1":
        return True
    return request.query_params.get("embedded") == "1"


@get("/my-schedules", name="my_schedules", guards=[requires_login])
async def my_schedules(request: Request) -> Template:
    user = current_user(request)
    embedded = _embedded(request)
    chosen = await _agent_app(request, request.query_params.get("app"))
    if chosen is None:
        apps = await apps_for_user(user)
        return Template(
            "agent/choose_app.html",
            context={"apps": apps, "embedded": embedded, **await chrome_context(request)},
        )
    app, member = chosen
    return await render_my_schedules(
        request, user, app, request.query_params.get("week"), embedded, member=member
    )


@post("/my-schedules/{app_id:str}/bookings", guards=[requires_login], status_code=200)
async def agent_create_booking(
    request: Request, app_id: FromPath[str]
) -> Template | Redirect | ClientRedirect:
    app, member = await require_app_role(request, app_id, "agent")
    user = current_user(request)
    form = await request.form()
    embedded = _embedded(request, form)
    tz = viewer_timezone(app, member)
    values = form_dict(form, NEW_BOOKING_FIELDS)
    data, errors = new_booking_from_form(values, tz, source="agent", agent_id=user.id)
    form_error = "Please correct the highlighted fields." if errors else None
    if data is not None:
        try:
            booking = await bookings.create(
                app.id, data, actor_for(user, effective_role(user, member)), now=clock.now()
            )
        except bookings.BookingError as exc:
            errors, form_error = error_messages(exc)
        else:
            target = f"/bookings/{booking.id}" + ("?embedded=1" if embedded else "")
            return ClientRedirect(target) if request.htmx else Redirect(target, status_code=303)
    create = {"values": values, "errors": errors, "form_error": form_error}
    if request.htmx:
        return Template(
            "bookings/_create_form.html",
            context={
                **create,
                "action": f"/my-schedules/{app.public_id}/bookings",
                "tz": tz,
                "agents": None,
                "embedded": embedded,
            },
        )
    return await render_my_schedules(
        request,
        user,
        app,
        None,
        embedded,
        member=member,
        extra={"create": create, "open_create": True},
        status_code=400,
    )


@post("/my-schedules/{app_id:str}/dnd", guards=[requires_login], status_code=200)
async def agent_add_dnd(request: Request, app_id: FromPath[str]) -> Template | Redirect:
    """Step 1 checks the window and, when it overlaps bookings, asks what to do; step 2 (with a
    `decision`) saves it and notifies the chosen customers."""
    app, member = await require_app_role(request, app_id, "agent")
    user = current_user(request)
    form = await request.form()
    embedded = _embedded(request, form)
    tz = viewer_timezone(app, member)
    values = form_dict(form, DND_FIELDS)
    start, end = parse_local(values["starts_at"], tz), parse_local(values["ends_at"], tz)
    decision = str(form.get("decision", ""))
    errors: dict[str, str] = {}
    people.check_range(start, end, errors)
    dnd: dict[str, Any] = {"values": values, "errors": errors, "prompt": None, "message": None}
    if not errors and decision not in ("notify", "save"):
        conflicts = await people.dnd_conflicts(user.id, start, end)
        if conflicts:
            dnd["prompt"] = conflicts
            return await _dnd_answer(request, user, app, member, embedded, dnd, tz)
    if not errors:
        # The bookings to notify are worked out again here, never taken from the form.
        ids = (
            [c["id"] for c in await people.dnd_conflicts(user.id, start, end)] if decision == "notify" else []
        )
        result = await people.add_dnd(
            app.id,
            user.id,
            start,
            end,
            values["reason"],
            notify_booking_ids=ids,
            actor=actor_for(user, effective_role(user, member)),
            now=clock.now(),
        )
        dnd["errors"] = result.errors
        if not result.errors:
            dnd["values"] = dict.fromkeys(DND_FIELDS, "")
            dnd["message"] = _dnd_message(result, ids)
    return await _dnd_answer(request, user, app, member, embedded, dnd, tz)


def _dnd_message(result: people.DndResult, ids: list) -> str:
    if not ids:
        return "Do-not-disturb window saved."
    if not result.notified:
        return (
            "Do-not-disturb window saved. Conflict notices are off in this app's preset: "
            f"contact the {_customers(len(ids))} yourself."
        )
    return f"Do-not-disturb window saved. {_customers(result.notified)} will be told they can reschedule."


def _customers(n: int) -> str:
    return f"{n} customer{'s' if n != 1 else ''}"


async def _dnd_answer(request, user, app, member, embedded, dnd, tz) -> Template:
    status = 400 if dnd["errors"] else 200
    if request.htmx:
        return Template(
            "agent/_dnd.html",
            context={
                "app": app,
                "embedded": embedded,
                "tz": tz,
                "dnd": dnd,
                "dnd_windows": await people.dnd_windows_of(app.id, user.id, clock.now()),
            },
        )
    return await render_my_schedules(
        request, user, app, None, embedded, member=member, extra={"dnd": dnd}, status_code=status
    )


@post("/my-schedules/{app_id:str}/dnd/{window_id:int}/delete", guards=[requires_login], status_code=200)
async def agent_delete_dnd(
    request: Request, app_id: FromPath[str], window_id: FromPath[int]
) -> Template | Redirect:
    app, member = await require_app_role(request, app_id, "agent")
    user = current_user(request)
    form = await request.form()
    embedded = _embedded(request, form)
    if not await people.delete_dnd(app.id, user.id, window_id):
        raise NotFoundException("That do-not-disturb window does not exist.")
    if request.htmx:
        dnd = {
            "values": dict.fromkeys(DND_FIELDS, ""),
            "errors": {},
            "prompt": None,
            "message": "Do-not-disturb window removed.",
        }
        return await _dnd_answer(request, user, app, member, embedded, dnd, viewer_timezone(app, member))
    return Redirect(_link(app, embedded), status_code=303)


ROUTES = [my_schedules, agent_create_booking, agent_add_dnd, agent_delete_dnd]

"""Admin pages for the people of a video app: members (add, role, Genesys user id, time zone,
remove) and each agent's working hours, availability exceptions and DND windows."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from web import clock
from web.auth import requires_login
from web.controllers.admin import admin_context
from web.controllers.bookings import parse_local
from web.db.ids import row_id
from web.db.tables import Membership, User, VideoApp
from web.permissions import current_user, require_app_role
from web.scheduling import people
from web.scheduling.hooks import Actor

MEMBER_FIELDS = ("email", "name", "role", "genesys_user_id", "timezone", "password")


async def members_context(request: Request, app: VideoApp, **extra: Any) -> dict[str, Any]:
    return {
        **await admin_context(request, app, "members"),
        "members": await people.members_of(app.id),
        "add_values": {"role": "agent", "timezone": app.timezone},
        "add_errors": {},
        "row_errors": {},
        "message": None,
        **extra,
    }


@get("/apps/{app_id:str}/members", guards=[requires_login])
async def members_page(request: Request, app_id: FromPath[str]) -> Template:
    app, _ = await require_app_role(request, app_id, "admin")
    return Template("admin/members.html", context=await members_context(request, app))


@post("/apps/{app_id:str}/members", guards=[requires_login], status_code=200)
async def member_add(request: Request, app_id: FromPath[str]) -> Template:
    app, _ = await require_app_role(request, app_id, "admin")
    form = await request.form()
    _, errors = await people.add_member(app.id, form)
    if errors:
        values = {name: str(form.get(name, "")) for name in MEMBER_FIELDS if name != "password"}
        context = await members_context(request, app, add_values=values, add_errors=errors)
        return Template("admin/members.html", context=context, status_code=200 if request.htmx else 400)
    email = str(form.get("email", "")).strip().lower()
    return Template(
        "admin/members.html", context=await members_context(request, app, message=f"{email} added.")
    )


@post("/apps/{app_id:str}/members/{user_id:int}", guards=[requires_login], status_code=200)
async def member_update(request: Request, app_id: FromPath[str], user_id: FromPath[int]) -> Template:
    app, _ = await require_app_role(request, app_id, "admin")
    form = await request.form()
    if form.get("remove") == "1":
        errors = await people.remove_member(app.id, user_id)
        message = None if errors else "Member removed."
    else:
        errors = await people.update_member(app.id, user_id, form)
        message = None if errors else "Member updated."
    if errors.get("member") == people.NOT_A_MEMBER:
        raise NotFoundException("That person is not a member of this app.")
    context = await members_context(request, app, row_errors={user_id: errors}, message=message)
    status = 400 if errors and not request.htmx else 200
    return Template("admin/members.html", context=context, status_code=status)


# --- availability ----------------------------------------------------------------------------------


async def availability_context(
    request: Request, app: VideoApp, member: Membership, user: User, **extra
) -> dict:
    now = clock.now()
    tz = member.timezone or app.timezone
    return {
        **await admin_context(request, app, "members"),
        "person": user,
        "member": member,
        "tz": tz,
        "weekdays": people.WEEKDAYS,
        "hours": await people.working_hours_form(app.id, user.id),
        "hours_errors": {},
        "exceptions": await people.exceptions_of(app.id, user.id, now),
        "exception_values": {"kind": "blocked"},
        "exception_errors": {},
        "dnd_windows": await people.dnd_windows_of(app.id, user.id, now),
        "dnd_values": {},
        "dnd_errors": {},
        "message": None,
        **extra,
    }


async def _member_of(app: VideoApp, user_id: int) -> tuple[Membership, User]:
    member = await Membership.objects().get((Membership.app == app.id) & (Membership.user == user_id))
    user = await User.objects().get(User.id == user_id)
    if member is None or user is None:
        raise NotFoundException("That person is not a member of this app.")
    return member, user


async def _dnd_added_message(user_id: int, window) -> str:
    """The agent's own page asks before saving; here the admin is told what the window covers."""
    clashes = await people.dnd_conflicts(user_id, window.starts_at, window.ends_at)
    if not clashes:
        return "Do-not-disturb window added."
    n = len(clashes)
    return (
        f"Do-not-disturb window added. It affects {n} booking{'s' if n != 1 else ''} of this agent: "
        "reassign or reschedule them from the bookings page."
    )


@get("/apps/{app_id:str}/agents/{user_id:int}/availability", guards=[requires_login])
async def availability_page(request: Request, app_id: FromPath[str], user_id: FromPath[int]) -> Template:
    app, _ = await require_app_role(request, app_id, "admin")
    member, user = await _member_of(app, user_id)
    return Template("admin/availability.html", context=await availability_context(request, app, member, user))


@post(
    "/apps/{app_id:str}/agents/{user_id:int}/availability/{part:str}",
    guards=[requires_login],
    status_code=200,
)
async def availability_save(
    request: Request, app_id: FromPath[str], user_id: FromPath[int], part: FromPath[str]
) -> Template | Redirect:
    app, _ = await require_app_role(request, app_id, "admin")
    member, user = await _member_of(app, user_id)
    tz = member.timezone or app.timezone
    form = await request.form()
    extra: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if part == "hours":
        values, errors = await people.save_working_hours(app.id, user.id, form, tz)
        extra = {
            "hours": values,
            "hours_errors": errors,
            "message": None if errors else "Working hours saved.",
        }
    elif part == "exceptions":
        values = {k: str(form.get(k, "")) for k in ("kind", "starts_at", "ends_at", "note")}
        errors = await people.add_exception(
            app.id,
            user.id,
            values["kind"],
            parse_local(values["starts_at"], tz),
            parse_local(values["ends_at"], tz),
            values["note"],
        )
        extra = {
            "exception_values": values if errors else {"kind": "blocked"},
            "exception_errors": errors,
            "message": None if errors else "Exception added.",
        }
    elif part == "dnd":
        values = {k: str(form.get(k, "")) for k in ("starts_at", "ends_at", "reason")}
        admin = current_user(request)
        result = await people.add_dnd(
            app.id,
            user.id,
            parse_local(values["starts_at"], tz),
            parse_local(values["ends_at"], tz),
            values["reason"],
            actor=Actor("admin", str(admin.id)),
            now=clock.now(),
        )
        errors = result.errors
        extra = {
            "dnd_values": values if errors else {},
            "dnd_errors": errors,
            "message": None if errors else await _dnd_added_message(user.id, result.window),
        }
    elif part.startswith(("delete-exception-", "delete-dnd-")):
        kind, _, raw_id = part.rpartition("-")
        delete = people.delete_exception if kind == "delete-exception" else people.delete_dnd
        entry_id = row_id(raw_id)
        if entry_id is None or not await delete(app.id, user.id, entry_id):
            raise NotFoundException("That entry does not exist.")
        extra = {"message": "Removed."}
    else:
        raise NotFoundException("There is no such form.")
    context = await availability_context(request, app, member, user)
    context.update(extra)
    status = 400 if errors and not request.htmx else 200
    return Template("admin/availability.html", context=context, status_code=status)


ROUTES = [members_page, member_add, member_update, availability_page, availability_save]

"""The admin console of a video app: the apps list, the app overview and the scheduling preset.
Members and availability live in `admin_people`, bookings in `admin_bookings`, API clients in
`admin_api_clients`."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Template

from web import clock
from web.auth import requires_login
from web.controllers.notifications import chrome_context
from web.db.tables import FINAL_STATUSES, Booking, BookingStatus, Membership, Role, VideoApp
from web.genesys import settings_store
from web.permissions import current_user, require_app_role
from web.scheduling import presets
from web.scheduling.hooks import Actor

UPCOMING_LIMIT = 10


async def admin_context(request: Request, app: VideoApp, tab: str) -> dict[str, Any]:
    """What every admin page of an app needs: the app, the active tab and the chrome. Genesys
    features stay out of sight until Genesys is provisioned (`genesys_ready`)."""
    return {
        "app": app,
        "tab": tab,
        "embedded": False,
        "genesys_ready": settings_store.is_provisioned(await settings_store.get_row(app.id)),
        **await chrome_context(request),
    }


@get("/apps", name="apps", guards=[requires_login])
async def apps_list(request: Request) -> Template:
    user = current_user(request)
    if user.is_superuser:
        rows = await VideoApp.select(VideoApp.public_id, VideoApp.name, VideoApp.timezone).order_by(
            VideoApp.name
        )
        apps = [{**row, "role": Role.admin.value} for row in rows]
    else:
        apps = (
            await Membership.select(
                Membership.role,
                Membership.app.public_id.as_alias("public_id"),
                Membership.app.name.as_alias("name"),
                Membership.app.timezone.as_alias("timezone"),
            )
            .where(Membership.user == user.id)
            .order_by(Membership.app.name)
        )
    return Template("admin/apps.html", context={"apps": apps, **await chrome_context(request)})


async def status_counts(app_id: int) -> dict[str, int]:
    rows = await Booking.raw(
        "SELECT status, COUNT(*) AS n FROM booking WHERE app = {} GROUP BY status", app_id
    )
    counts = dict.fromkeys((s.value for s in BookingStatus), 0)
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


@get("/apps/{app_id:str}", name="app_overview", guards=[requires_login])
async def app_overview(request: Request, app_id: FromPath[str]) -> Template:
    app, _ = await require_app_role(request, app_id, "admin")
    now = clock.now()
    upcoming = await (
        Booking.select(
            Booking.id,
            Booking.guest_name,
            Booking.scheduled_at,
            Booking.status,
            Booking.assigned_agent.name.as_alias("agent_name"),
        )
        .where(
            (Booking.app == app.id)
            & (Booking.scheduled_at >= now)
            & Booking.status.not_in([s.value for s in FINAL_STATUSES])
        )
        .order_by(Booking.scheduled_at)
        .limit(UPCOMING_LIMIT)
    )
    members = await Membership.count().where(Membership.app == app.id)
    context = {
        **await admin_context(request, app, "overview"),
        "counts": await status_counts(app.id),
        "upcoming": upcoming,
        "member_count": members,
    }
    return Template("admin/overview.html", context=context)


# --- preset -------------------------------------------------------------------------------------------


def preset_form_values(values: dict[str, Any]) -> dict[str, Any]:
    """Preset values as the form shows them (reminders as {kind: [channels]})."""
    return {**values, "reminders": values.get("reminders") or {}}


def submitted_values(form) -> dict[str, Any]:
    """What the admin typed, kept for re-rendering after an error."""
    values: dict[str, Any] = {}
    for name, (kind, _, _) in presets.PRESET_FIELDS.items():
        if kind == "bool":
            values[name] = str(form.get(name, "")).lower() in ("on", "true", "1", "yes")
        elif kind != "reminders":
            values[name] = str(form.get(name, ""))
    values["reminders"] = {kind: form.getall(f"reminder_{kind}", []) for kind in presets.REMINDER_KINDS}
    return values


def preset_context(values: dict[str, Any], errors: dict[str, str], saved: bool) -> dict[str, Any]:
    return {
        "values": preset_form_values(values),
        "errors": errors,
        "saved": saved,
        "kinds": presets.REMINDER_KINDS,
        "channels": presets.REMINDER_CHANNELS,
        "modes": presets.ASSIGNMENT_MODES,
    }


@get("/apps/{app_id:str}/preset", name="app_preset", guards=[requires_login])
async def preset_page(request: Request, app_id: FromPath[str]) -> Template:
    app, _ = await require_app_role(request, app_id, "admin")
    preset = await presets.get_preset(app.id)
    context = {
        **await admin_context(request, app, "preset"),
        **preset_context(presets.preset_values(preset), {}, False),
    }
    return Template("admin/preset.html", context=context)


@post("/apps/{app_id:str}/preset", guards=[requires_login], status_code=200)
async def preset_save(request: Request, app_id: FromPath[str]) -> Template:
    app, _ = await require_app_role(request, app_id, "admin")
    user = current_user(request)
    form = await request.form()
    data = {key: form.getall(key) for key in form}
    # Reminder checkboxes arrive as lists; `validate_preset` reads `reminder_<kind>` for every kind.
    for kind in presets.REMINDER_KINDS:
        data[f"reminder_{kind}"] = form.getall(f"reminder_{kind}", [])
    values, errors = presets.validate_preset(data)
    if errors:
        context = preset_context(submitted_values(form), errors, False)
        status = 200 if request.htmx else 400
    else:
        await presets.save_preset(app.id, values, Actor("admin", str(user.id)), clock.now())
        preset = await presets.get_preset(app.id)
        context = preset_context(presets.preset_values(preset), {}, True)
        status = 200
    template = "admin/_preset_form.html" if request.htmx else "admin/preset.html"
    return Template(
        template, context={**await admin_context(request, app, "preset"), **context}, status_code=status
    )


ROUTES = [apps_list, app_overview, preset_page, preset_save]

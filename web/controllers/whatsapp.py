"""WhatsApp on the console pages: the app's linked sender (admins), and a booking's reminders with
the "Send a reminder" button (whoever may see the booking)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from web import clock
from web.auth import requires_login
from web.controllers.admin import admin_context
from web.db.tables import FINAL_STATUSES, Role, VideoApp
from web.permissions import booking_for_viewer, current_user, require_app_role
from web.scheduling import bookings, directory, presets, reminders
from web.scheduling.hooks import Actor
from web.whatsapp import senders
from web.whatsapp.messages import VARIABLES

# --- the app's sender -------------------------------------------------------------------------------


def _form_values(row) -> dict[str, Any]:
    """The stored sender as the form shows it; the token only ever as "set"."""
    if row is None:
        return {"base_url": "https://graph.facebook.com", "api_version": "v21.0", "templates": {}}
    return {
        "name": row.name,
        "base_url": row.base_url,
        "api_version": row.api_version,
        "phone_number_id": row.phone_number_id,
        "templates": row.templates or {},
    }


def _submitted(form) -> dict[str, Any]:
    """What the admin typed (never the token), kept to re-render the form after an error."""
    values: dict[str, Any] = {name: str(form.get(name, "")) for name in ("name", "base_url", "api_version")}
    values["phone_number_id"] = str(form.get("phone_number_id", ""))
    values["templates"] = {
        kind: {
            "name": str(form.get(f"template_{kind}_name", "")),
            "language": str(form.get(f"template_{kind}_language", "")),
            "params": str(form.get(f"template_{kind}_params", "")),
        }
        for kind in presets.REMINDER_KINDS
    }
    return values


async def _shared_with(row, app: VideoApp) -> int:
    """How many other apps send through this sender (edits reach them too)."""
    if row is None:
        return 0
    return await VideoApp.count().where((VideoApp.whatsapp_sender == row.id) & (VideoApp.id != app.id))


async def _page(request: Request, app: VideoApp, row, **extra: Any) -> dict[str, Any]:
    return {
        **await admin_context(request, app, "whatsapp"),
        "values": _form_values(row),
        "token_set": bool(row is not None and row.access_token_encrypted),
        "shared_with": await _shared_with(row, app),
        "kinds": presets.REMINDER_KINDS,
        "variables": VARIABLES,
        "errors": {},
        "saved": False,
        **extra,
    }


@get("/apps/{app_id:str}/whatsapp", name="app_whatsapp", guards=[requires_login])
async def whatsapp_page(request: Request, app_id: FromPath[str]) -> Template:
    app, _ = await require_app_role(request, app_id, Role.admin)
    row = await senders.sender_of_app(app.id)
    return Template("admin/whatsapp.html", context=await _page(request, app, row))


@post("/apps/{app_id:str}/whatsapp", guards=[requires_login], status_code=200)
async def whatsapp_save(request: Request, app_id: FromPath[str]) -> Template:
    app, _ = await require_app_role(request, app_id, Role.admin)
    row = await senders.sender_of_app(app.id)
    form = await request.form()
    data = {key: form.get(key) for key in form}
    token_set = bool(row is not None and row.access_token_encrypted)
    values, errors = senders.validate_sender(data, token_stored=token_set)
    template = "admin/_whatsapp_form.html" if request.htmx else "admin/whatsapp.html"
    if errors:
        context = await _page(request, app, row, errors=errors)
        context["values"] = _submitted(form)
        return Template(template, context=context, status_code=200 if request.htmx else 400)
    row = await senders.save_sender(app.id, values, request.app.state.settings.secret_key)
    return Template(template, context=await _page(request, app, row, saved=True))


# --- a booking's reminders ------------------------------------------------------------------------------


async def _list_context(request: Request, booking, app, role: str, message: str = "") -> dict[str, Any]:
    member = await directory.membership(app.id, current_user(request).id)
    return {
        "booking": booking,
        "reminders": await reminders.reminders_of(booking.id),
        "reminder_labels": reminders.STATUS_LABELS,
        "tz": member.timezone if member and member.timezone else app.timezone,
        "can_send_reminder": booking.status not in FINAL_STATUSES,
        "reminder_message": message,
    }


@get("/bookings/{booking_id:str}/reminders", guards=[requires_login])
async def reminders_fragment(request: Request, booking_id: FromPath[str]) -> Template:
    booking, app, role = await booking_for_viewer(request, booking_id)
    return Template("partials/reminders_list.html", context=await _list_context(request, booking, app, role))


@post("/bookings/{booking_id:str}/reminders", guards=[requires_login], status_code=200)
async def send_reminder_now(request: Request, booking_id: FromPath[str]) -> Template | Redirect:
    """The agent or an admin sends the customer a `custom` reminder now."""
    booking, app, role = await booking_for_viewer(request, booking_id)
    user = current_user(request)
    actor = Actor("admin" if role == Role.admin else "agent", str(user.id))
    try:
        row = await reminders.create_custom_reminder(booking.id, actor=actor, now=clock.now())
    except bookings.BookingError as exc:
        message = exc.message
    else:
        skipped = row.status == "skipped"
        message = f"The reminder cannot go out: {row.last_error}." if skipped else "Reminder on its way."
    if not request.htmx:
        return Redirect(f"/bookings/{booking.id}", status_code=303)
    context = await _list_context(request, booking, app, role, message)
    # htmx swaps only 2xx answers: the list comes back with the message in place either way.
    return Template("partials/reminders_list.html", context=context)


ROUTES = [whatsapp_page, whatsapp_save, reminders_fragment, send_reminder_now]

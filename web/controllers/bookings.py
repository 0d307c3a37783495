"""Booking pages shared by the consoles: the create form (agents and admins), the booking detail
with its timeline, and the actions allowed to the viewer (reschedule, reassign, cancel, no-show,
confirm). Every action is a plain form post that htmx enhances."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.plugins.htmx import ClientRedirect
from litestar.response import Redirect, Template

from web import clock
from web.auth import requires_login
from web.controllers.notifications import chrome_context
from web.db.ids import row_id
from web.db.tables import FINAL_STATUSES, BookingStatus, Role, User
from web.permissions import booking_for_viewer, current_user
from web.scheduling import bookings, directory, reminders
from web.scheduling.dispatch import dispatch_state
from web.scheduling.hooks import Actor
from web.scheduling.timeline import describe
from web.scheduling.timeutil import local_to_utc, zone

NEW_BOOKING_FIELDS = (
    "guest_name",
    "guest_phone",
    "guest_email",
    "guest_timezone",
    "scheduled_at",
    "duration_minutes",
    "intake_notes",
    "assigned_agent_id",
    "outside_hours",
)


# --- form helpers -----------------------------------------------------------------------------------


def form_dict(form: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, str]:
    return {name: str(form.get(name, "") or "") for name in names}


def parse_local(value: str, tz: str) -> datetime | None:
    """`2026-05-04T10:30` (a datetime-local input) on the clock of `tz`, as UTC; None if malformed."""
    try:
        naive = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if naive.tzinfo is not None:
        return naive
    return local_to_utc(naive.date(), naive.time(), tz)


def local_input(value: datetime | None, tz: str) -> str:
    """The value of a datetime-local input showing `value` on the clock of `tz`."""
    if value is None:
        return ""
    return value.astimezone(zone(tz)).strftime("%Y-%m-%dT%H:%M")


def new_booking_from_form(
    values: dict[str, str], tz: str, *, source: str, agent_id: int | None
) -> tuple[bookings.NewBooking | None, dict[str, str]]:
    """A NewBooking from the create form, or the errors the form can tell without the database."""
    errors: dict[str, str] = {}
    start = parse_local(values["scheduled_at"], tz) if values["scheduled_at"] else None
    if start is None:
        errors["scheduled_at"] = "Choose the date and time of the meeting."
    duration: int | None = None
    if values["duration_minutes"].strip():
        try:
            duration = int(values["duration_minutes"])
        except ValueError:
            errors["duration_minutes"] = "Duration must be a whole number of minutes."
    method = "manual"
    if agent_id is None and source == "admin":
        raw = values["assigned_agent_id"].strip()
        if raw == "pool":
            method = "pool"
        elif raw in ("", "any"):
            method = "round_robin"
        elif (agent_id := row_id(raw)) is None:
            errors["assigned_agent_id"] = "Choose an agent of this app."
    if errors:
        return None, errors
    return (
        bookings.NewBooking(
            guest_name=values["guest_name"],
            guest_phone=values["guest_phone"] or None,
            guest_email=values["guest_email"] or None,
            guest_timezone=values["guest_timezone"] or None,
            intake_notes=values["intake_notes"],
            scheduled_at=start,
            duration_minutes=duration,
            assigned_agent_id=agent_id,
            assignment_method=method,
            source=source,
            respect_working_hours=values["outside_hours"] != "on",
        ),
        {},
    )


def error_messages(exc: bookings.BookingError) -> tuple[dict[str, str], str]:
    """(errors by field, the message for the whole form) for a lifecycle refusal."""
    if isinstance(exc, bookings.SlotUnavailable) and not exc.errors:
        return {"scheduled_at": exc.message}, exc.message
    if isinstance(exc, bookings.BookingRateLimited):
        return {}, f"{exc.message} Next booking possible after {exc.next_allowed_at:%Y-%m-%d %H:%M} UTC."
    return dict(exc.errors), exc.message


def actor_for(user: User, role: str) -> Actor:
    return Actor("admin" if role == Role.admin else "agent", str(user.id))


def query_suffix(embedded: bool) -> str:
    return "?embedded=1" if embedded else ""


# --- the detail page --------------------------------------------------------------------------------


ACTIONS = ("reschedule", "reassign", "cancel", "no-show", "confirm")


def allowed_actions(booking, role: str, now: datetime) -> set[str]:
    """What the viewer may try from the page (the lifecycle has the final word)."""
    if booking.status in FINAL_STATUSES:
        return set()
    allowed = {"cancel"}
    if booking.status != BookingStatus.started:
        allowed |= {"reschedule", "reassign"}
    if booking.status == BookingStatus.pending_confirmation:
        allowed.add("confirm")
    if booking.scheduled_at <= now and booking.guest_joined_at is None:
        allowed.add("no-show")
    if booking.assigned_agent is None:
        allowed.discard("reschedule")
    return allowed


async def detail_context(request: Request, booking, app, role: str, *, embedded: bool) -> dict[str, Any]:
    user = current_user(request)
    member = await directory.membership(app.id, user.id)
    viewer_tz = member.timezone if member and member.timezone else app.timezone
    events = await bookings.timeline(booking.id)
    agents = await directory.agents_of(app.id)
    agent_name = next(
        (a["name"] or a["email"] for a in agents if a["user_id"] == booking.assigned_agent), None
    )
    public_url = request.app.state.settings.public_url
    return {
        "dispatch": await dispatch_state(booking.id),
        # The reminders render in place, so the page is whole without JavaScript.
        "reminders": await reminders.reminders_of(booking.id),
        "reminder_labels": reminders.STATUS_LABELS,
        "can_send_reminder": booking.status not in FINAL_STATUSES,
        "reminder_message": "",
        "booking": booking,
        "app": app,
        "role": role,
        "embedded": embedded,
        "q": query_suffix(embedded),
        "tz": viewer_tz,
        "agents": agents,
        "agent_name": agent_name,
        "events": [(event, describe(event, viewer_tz)) for event in events],
        "allowed": allowed_actions(booking, role, clock.now()),
        "host_url": f"{public_url}/rooms/{booking.host_token}",
        "guest_url": f"{public_url}/rooms/{booking.guest_token}",
        "reschedule_value": local_input(booking.scheduled_at, viewer_tz),
        "errors": {},
        "action_error": None,
        "failed_action": None,
        "values": {},
        **await chrome_context(request),
    }


def _embedded(request: Request) -> bool:
    return request.query_params.get("embedded") == "1"


@get("/bookings/{booking_id:str}", name="booking_detail", guards=[requires_login])
async def booking_detail(request: Request, booking_id: FromPath[str]) -> Template:
    booking, app, role = await booking_for_viewer(request, booking_id)
    context = await detail_context(request, booking, app, role, embedded=_embedded(request))
    return Template("bookings/detail.html", context=context)


async def _run_action(action: str, booking, user: User, role: str, form, tz: str) -> None:
    actor = actor_for(user, role)
    now = clock.now()
    reason = str(form.get("reason", "")).strip() or None
    if action == "reschedule":
        start = parse_local(str(form.get("scheduled_at", "")), tz)
        if start is None:
            raise bookings.InvalidBooking(
                "Choose the new date and time.", {"scheduled_at": "Choose a date and time."}
            )
        await bookings.reschedule(
            booking.id,
            start,
            actor,
            now=now,
            reason=reason,
            respect_working_hours=form.get("outside_hours") != "on",
        )
    elif action == "reassign":
        raw = str(form.get("assigned_agent_id", ""))
        agent_id = row_id(raw)
        if agent_id is None:
            raise bookings.InvalidBooking("Choose an agent.", {"assigned_agent_id": "Choose an agent."})
        await bookings.reassign(booking.id, agent_id, actor, now=now, reason=reason)
    elif action == "cancel":
        await bookings.cancel(booking.id, actor, now=now, reason=reason)
    elif action == "no-show":
        await bookings.mark_no_show(booking.id, actor, now=now)
    elif action == "confirm":
        await bookings.confirm(booking.id, actor, now=now)
    elif action == "claim":
        await bookings.claim(booking.id, user.id, actor, now=now)


@post("/bookings/{booking_id:str}/{action:str}", guards=[requires_login], status_code=200)
async def booking_action(
    request: Request, booking_id: FromPath[str], action: FromPath[str]
) -> Template | Redirect | ClientRedirect:
    if action not in (*ACTIONS, "claim"):
        raise NotFoundException("There is no such action.")
    booking, app, role = await booking_for_viewer(request, booking_id)
    user = current_user(request)
    form = await request.form()
    embedded = str(form.get("embedded", "")) == "1" or _embedded(request)
    member = await directory.membership(app.id, user.id)
    tz = member.timezone if member and member.timezone else app.timezone
    try:
        await _run_action(action, booking, user, role, form, tz)
    except bookings.BookingError as exc:
        errors, message = error_messages(exc)
        if action == "reassign" and isinstance(exc, bookings.SlotUnavailable):
            errors = {"assigned_agent_id": exc.message}  # the chosen agent is busy: say so by the field
        fresh = await bookings.get(booking.id) or booking
        context = await detail_context(request, fresh, app, role, embedded=embedded)
        context.update(
            errors=errors,
            action_error=message,
            failed_action=action,
            values=form_dict(form, ("scheduled_at", "reason", "assigned_agent_id")),
        )
        # htmx swaps only 2xx answers: the page comes back with the message in place either way.
        status = (
            200
            if request.htmx
            else (404 if exc.code == "not_found" else 409 if exc.code != "invalid" else 400)
        )
        return Template("bookings/detail.html", context=context, status_code=status)
    if action == "reassign" and role != Role.admin:
        # The booking now belongs to someone else: back to the agenda.
        agenda = f"/my-schedules?app={app.public_id}" + ("&embedded=1" if embedded else "")
        if request.htmx:
            return ClientRedirect(agenda)
        return Redirect(agenda, status_code=303)
    return Redirect(f"/bookings/{booking.id}{query_suffix(embedded)}", status_code=303)


ROUTES = [booking_detail, booking_action]

# Names used by the console controllers.
__all__ = [
    "NEW_BOOKING_FIELDS",
    "ROUTES",
    "actor_for",
    "error_messages",
    "form_dict",
    "local_input",
    "new_booking_from_form",
    "parse_local",
]

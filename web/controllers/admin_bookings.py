"""The admin's master view of an app's bookings (filters, search, pagination, counts) and booking
creation on behalf of any agent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.plugins.htmx import ClientRedirect
from litestar.response import Redirect, Template
from piccolo.query.functions.aggregate import Count

from web import clock
from web.auth import requires_login
from web.controllers.admin import admin_context
from web.controllers.bookings import (
    NEW_BOOKING_FIELDS,
    actor_for,
    error_messages,
    form_dict,
    new_booking_from_form,
)
from web.db.engine import is_sqlite
from web.db.ids import row_id
from web.db.tables import Booking, BookingStatus, Role, VideoApp
from web.permissions import current_user, require_app_role
from web.scheduling import bookings, directory
from web.scheduling.timeutil import local_to_utc

PAGE_SIZE = 50
SOURCES = ("admin", "agent", "public_booking", "api")
STATUSES = tuple(s.value for s in BookingStatus)


@dataclass
class Filters:
    status: str = ""
    source: str = ""
    agent: str = ""  # a user id, "pool", or empty
    date_from: str = ""  # YYYY-MM-DD, local to the app
    date_to: str = ""  # inclusive
    q: str = ""
    page: int = 1

    @classmethod
    def from_query(cls, params) -> tuple[Filters, dict[str, str]]:
        errors: dict[str, str] = {}
        f = cls(
            status=params.get("status", "").strip(),
            source=params.get("source", "").strip(),
            agent=params.get("agent", "").strip(),
            date_from=params.get("from", "").strip(),
            date_to=params.get("to", "").strip(),
            q=params.get("q", "").strip()[:200],
        )
        raw_page = params.get("page", "1")
        f.page = int(raw_page) if raw_page.isdigit() and 0 < int(raw_page) < 100_000 else 1
        if f.status and f.status not in STATUSES:
            errors["status"] = "Unknown status."
        if f.source and f.source not in SOURCES:
            errors["source"] = "Unknown source."
        if f.agent and f.agent != "pool" and row_id(f.agent) is None:
            errors["agent"] = "Unknown agent."
        for name in ("date_from", "date_to"):
            value = getattr(f, name)
            try:
                value and date.fromisoformat(value)
            except ValueError:
                errors["from" if name == "date_from" else "to"] = "Use a date like 2026-05-04."
        for field in errors:
            setattr(f, {"from": "date_from", "to": "date_to"}.get(field, field), "")
        return f, errors

    def query(self, **changes: Any) -> str:
        values = {
            "status": self.status,
            "source": self.source,
            "agent": self.agent,
            "from": self.date_from,
            "to": self.date_to,
            "q": self.q,
            "page": self.page,
        }
        values.update(changes)
        return urlencode({k: v for k, v in values.items() if v and not (k == "page" and v == 1)})


def _where(app: VideoApp, f: Filters, *, with_status: bool = True):
    where = Booking.app == app.id
    if with_status and f.status:
        where &= Booking.status == f.status
    if f.source:
        where &= Booking.booking_source == f.source
    if f.agent == "pool":
        where &= Booking.assigned_agent.is_null()
    elif f.agent:
        where &= Booking.assigned_agent == int(f.agent)
    if f.date_from:
        where &= Booking.scheduled_at >= local_to_utc(date.fromisoformat(f.date_from), time(0), app.timezone)
    if f.date_to:
        end = date.fromisoformat(f.date_to) + timedelta(days=1)
        where &= Booking.scheduled_at < local_to_utc(end, time(0), app.timezone)
    if f.q:
        pattern = f"%{f.q}%"
        # Case-insensitive either way: SQLite's LIKE already ignores ASCII case.
        op = "like" if is_sqlite() else "ilike"
        where &= (
            getattr(Booking.guest_name, op)(pattern)
            | getattr(Booking.guest_email, op)(pattern)
            | getattr(Booking.guest_phone, op)(pattern)
        )
    return where


async def search(app: VideoApp, f: Filters) -> tuple[list[dict], dict[str, int], int]:
    """(the page of bookings, counts per status for the other filters, total matching)."""
    rows = (
        await Booking.select(
            Booking.id,
            Booking.guest_name,
            Booking.guest_phone,
            Booking.guest_email,
            Booking.scheduled_at,
            Booking.duration_minutes,
            Booking.status,
            Booking.booking_source,
            Booking.assigned_agent.name.as_alias("agent_name"),
            Booking.assigned_agent.email.as_alias("agent_email"),
        )
        .where(_where(app, f))
        .order_by(Booking.scheduled_at, ascending=False)
        .order_by(Booking.id)
        .offset((f.page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    )
    grouped = (
        await Booking.select(Booking.status, Count(alias="n"))
        .where(_where(app, f, with_status=False))
        .group_by(Booking.status)
    )
    counts = dict.fromkeys(STATUSES, 0)
    counts.update({row["status"]: row["n"] for row in grouped})
    total = counts.get(f.status, 0) if f.status else sum(counts.values())
    return rows, counts, total


@get("/apps/{app_id:str}/bookings", guards=[requires_login])
async def bookings_page(request: Request, app_id: FromPath[str]) -> Template:
    app, _ = await require_app_role(request, app_id, "admin")
    f, errors = Filters.from_query(request.query_params)
    rows, counts, total = await search(app, f)
    context = {
        **await admin_context(request, app, "bookings"),
        "filters": f,
        "filter_errors": errors,
        "rows": rows,
        "counts": counts,
        "total": total,
        "first": (f.page - 1) * PAGE_SIZE + 1 if rows else 0,
        "last": (f.page - 1) * PAGE_SIZE + len(rows),
        "prev_query": f.query(page=f.page - 1) if f.page > 1 else None,
        "next_query": f.query(page=f.page + 1) if f.page * PAGE_SIZE < total else None,
        "agents": await directory.agents_of(app.id),
        "sources": SOURCES,
        "statuses": STATUSES,
    }
    template = (
        "admin/_bookings_results.html"
        if request.htmx and request.htmx.target == "booking-results"
        else "admin/bookings.html"
    )
    return Template(template, context=context)


# --- create on behalf of an agent --------------------------------------------------------------------


async def new_booking_context(request: Request, app: VideoApp, **extra: Any) -> dict[str, Any]:
    return {
        **await admin_context(request, app, "new-booking"),
        "action": f"/apps/{app.public_id}/bookings/new",
        "agents": await directory.agents_of(app.id),
        "tz": app.timezone,
        "values": dict.fromkeys(NEW_BOOKING_FIELDS, ""),
        "errors": {},
        "form_error": None,
        **extra,
    }


@get("/apps/{app_id:str}/bookings/new", guards=[requires_login])
async def new_booking_page(request: Request, app_id: FromPath[str]) -> Template:
    app, _ = await require_app_role(request, app_id, "admin")
    return Template("admin/new_booking.html", context=await new_booking_context(request, app))


@post("/apps/{app_id:str}/bookings/new", guards=[requires_login], status_code=200)
async def new_booking_submit(request: Request, app_id: FromPath[str]) -> Template | Redirect | ClientRedirect:
    app, _ = await require_app_role(request, app_id, "admin")
    user = current_user(request)
    form = await request.form()
    values = form_dict(form, NEW_BOOKING_FIELDS)
    data, errors = new_booking_from_form(values, app.timezone, source="admin", agent_id=None)
    form_error = "Please correct the highlighted fields." if errors else None
    if data is not None:
        try:
            booking = await bookings.create(app.id, data, actor_for(user, Role.admin), now=clock.now())
        except bookings.BookingError as exc:
            errors, form_error = error_messages(exc)
        else:
            target = f"/bookings/{booking.id}"
            return ClientRedirect(target) if request.htmx else Redirect(target, status_code=303)
    context = await new_booking_context(request, app, values=values, errors=errors, form_error=form_error)
    if request.htmx:
        return Template("bookings/_create_form.html", context=context)
    return Template("admin/new_booking.html", context=context, status_code=400)


ROUTES = [bookings_page, new_booking_page, new_booking_submit]

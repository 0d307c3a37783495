"""The pre-meeting dispatch on the console pages: a booking's dispatch fragment (banner and status),
Retry now on a failed dispatch, and the app's dispatch counts for the admin overview."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from web import clock
from web.auth import requires_login
from web.db.tables import Role
from web.permissions import booking_for_viewer, current_user, require_app_role
from web.scheduling import directory, dispatch, dispatch_send
from web.scheduling.hooks import Actor


async def _viewer_tz(request: Request, app) -> str:
    member = await directory.membership(app.id, current_user(request).id)
    return member.timezone if member and member.timezone else app.timezone


async def _fragment(request: Request, booking, app) -> Template:
    context = {
        "booking": booking,
        "dispatch": await dispatch.dispatch_state(booking.id),
        "tz": await _viewer_tz(request, app),
    }
    return Template("partials/dispatch_banner.html", context=context)


@get("/bookings/{booking_id:str}/dispatch", guards=[requires_login])
async def dispatch_fragment(request: Request, booking_id: FromPath[str]) -> Template:
    booking, app, _ = await booking_for_viewer(request, booking_id)
    return await _fragment(request, booking, app)


@post("/bookings/{booking_id:str}/dispatch/retry", guards=[requires_login], status_code=200)
async def retry_dispatch(request: Request, booking_id: FromPath[str]) -> Template | Redirect:
    """The assigned agent or an admin sends a failed dispatch again, at once."""
    booking, app, role = await booking_for_viewer(request, booking_id)
    user = current_user(request)
    if role != Role.admin and booking.assigned_agent != user.id:
        raise PermissionDeniedException("Only the booked agent or an admin can retry this message.")
    actor = Actor("admin" if role == Role.admin else "agent", str(user.id))
    row = await dispatch.prepare_retry(booking.id, actor, clock.now())
    if row is not None:
        deps = dispatch_send.Deps(genesys=request.app.state.genesys, settings=request.app.state.settings)
        await dispatch_send.attempt(deps, row.id, row.version)
    if not request.htmx:
        return Redirect(dispatch.booking_link(booking.id), status_code=303)
    return await _fragment(request, booking, app)


@get("/apps/{app_id:str}/dispatch-overview", guards=[requires_login])
async def dispatch_overview(request: Request, app_id: FromPath[str]) -> Template:
    app, _ = await require_app_role(request, app_id, Role.admin)
    counts = await dispatch.overview_counts(app.id, clock.now())
    return Template("admin/_dispatch_overview.html", context={"app": app, "dispatch_counts": counts})


ROUTES = [dispatch_fragment, retry_dispatch, dispatch_overview]

"""The meeting room (`/rooms/{token}`) and the booking confirmation link (`/confirm/{token}`).

No sign-in: the token in the link is the credential. The forms still carry the CSRF token."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from web import clock
from web.db.tables import FINAL_STATUSES
from web.scheduling import bookings, rooms
from web.scheduling.hooks import Actor

# The token is in the URL: keep the page out of shared caches (the app-wide Referrer-Policy
# `same-origin` already keeps the address from other sites).
PRIVATE_HEADERS = {"cache-control": "no-store"}


async def _room_or_404(token: str):
    found = await rooms.find_room(token)
    if found is None:
        raise NotFoundException("This meeting link is not valid.")
    return found


async def _room_context(token: str, booking, role: str, message: str | None = None) -> dict:
    return {
        "token": token,
        "booking": booking,
        "role": role,
        "tz": await rooms.viewer_timezone(booking, role),
        "agent_name": await rooms.agent_name(booking),
        "media": rooms.media_provider().room_view(booking, role),
        "is_final": booking.status in FINAL_STATUSES,
        "joined": (booking.host_joined_at if role == rooms.HOST else booking.guest_joined_at) is not None,
        "present": role in await bookings.in_room(booking.id),
        "message": message,
    }


@get("/rooms/{token:str}", name="room")
async def room_page(token: FromPath[str]) -> Template:
    booking, role = await _room_or_404(token)
    return Template(
        "rooms/room.html", context=await _room_context(token, booking, role), headers=PRIVATE_HEADERS
    )


@get("/rooms/{token:str}/presence")
async def room_presence(token: FromPath[str]) -> Template:
    """Who is in the room: the part of the page that refreshes itself."""
    booking, role = await _room_or_404(token)
    return Template(
        "rooms/presence.html", context=await _room_context(token, booking, role), headers=PRIVATE_HEADERS
    )


@post("/rooms/{token:str}/join", status_code=303)
async def join_room(token: FromPath[str]) -> Redirect | Template:
    booking, role = await _room_or_404(token)
    try:
        await bookings.record_join(booking.id, role, now=clock.now())
    except bookings.BookingError as error:
        context = await _room_context(token, booking, role, error.message)
        return Template("rooms/room.html", context=context, status_code=409, headers=PRIVATE_HEADERS)
    return Redirect(f"/rooms/{token}", status_code=303)


@post("/rooms/{token:str}/leave", status_code=303)
async def leave_room(token: FromPath[str]) -> Redirect:
    """Leaving is always possible; when both sides have met and both have left, the meeting ends."""
    booking, role = await _room_or_404(token)
    await bookings.record_leave(booking.id, role, now=clock.now())
    return Redirect(f"/rooms/{token}", status_code=303)


@post("/rooms/{token:str}/end", status_code=303)
async def end_meeting(token: FromPath[str]) -> Redirect | Template:
    booking, role = await _room_or_404(token)
    if role != rooms.HOST:
        raise NotFoundException("This meeting link is not valid.")
    try:
        actor = Actor("agent", str(booking.assigned_agent) if booking.assigned_agent else None)
        await bookings.complete(booking.id, actor, now=clock.now())
    except bookings.BookingError as error:
        context = await _room_context(token, booking, role, error.message)
        return Template("rooms/room.html", context=context, status_code=409, headers=PRIVATE_HEADERS)
    return Redirect(f"/rooms/{token}", status_code=303)


async def _confirm_context(request: Request, booking, message: str | None = None) -> dict:
    _, guest_link = rooms.room_links(booking, request.app.state.settings.public_url)
    return {
        "booking": booking,
        "tz": booking.guest_timezone or booking.app_timezone,
        "agent_name": await rooms.agent_name(booking),
        "guest_link": guest_link,
        "message": message,
    }


@get("/confirm/{token:str}", name="confirm")
async def confirm_page(request: Request, token: FromPath[str]) -> Template:
    booking = await rooms.find_by_confirm_token(token)
    if booking is None:
        raise NotFoundException("This confirmation link is not valid.")
    return Template(
        "rooms/confirm.html", context=await _confirm_context(request, booking), headers=PRIVATE_HEADERS
    )


@post("/confirm/{token:str}", status_code=200)
async def confirm_submit(request: Request, token: FromPath[str]) -> Template:
    booking = await rooms.find_by_confirm_token(token)
    if booking is None:
        raise NotFoundException("This confirmation link is not valid.")
    status_code = 200
    message = None
    try:
        booking = await bookings.confirm(booking.id, Actor("customer", None), now=clock.now())
    except bookings.BookingError as error:
        status_code, message = 409, error.message
    context = await _confirm_context(request, booking, message)
    return Template("rooms/confirm.html", context=context, status_code=status_code, headers=PRIVATE_HEADERS)


ROUTES = [room_page, room_presence, join_room, leave_room, end_meeting, confirm_page, confirm_submit]

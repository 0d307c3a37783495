"""App-level role checks for console pages.

Unknown apps and apps the user does not belong to are 404 (never reveal that they exist); a member
without the needed role gets 403. Superusers count as admins of every app."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException

from web.db.tables import Booking, Membership, Role, User, VideoApp
from web.scheduling.directory import app_by_public_id, membership

NOT_FOUND = "We could not find that video app, or you are not a member of it."
BOOKING_NOT_FOUND = "We could not find that booking, or it is not one of yours."


def current_user(request: Request) -> User:
    user = request.scope.get("user")
    if not isinstance(user, User):
        raise NotAuthorizedException()
    return user


def effective_role(user: User, member: Membership | None) -> str | None:
    """'admin', 'agent' or None for this user in one app."""
    if member is not None and (member.role == Role.admin or not user.is_superuser):
        return member.role
    return Role.admin.value if user.is_superuser else None


async def require_app_role(
    request: Request, app_public_id: Any, role: str
) -> tuple[VideoApp, Membership | None]:
    """(app, membership) when the signed-in user has `role` in the app.

    `role="agent"` accepts any member (admins work bookings too); `role="admin"` needs an admin
    membership or a superuser. The membership is None for a superuser who is not a member."""
    user = current_user(request)
    app = await app_by_public_id(app_public_id)
    if app is None:
        raise NotFoundException(NOT_FOUND)
    member = await membership(app.id, user.id)
    actual = effective_role(user, member)
    if actual is None:
        raise NotFoundException(NOT_FOUND)
    if role == Role.admin and actual != Role.admin:
        raise PermissionDeniedException("Only the app's admins can open this page.")
    return app, member


async def booking_for_viewer(request: Request, booking_id: Any) -> tuple[Booking, VideoApp, str]:
    """(booking, app, viewer role) for a booking the user may see, else 404.

    Admins of the booking's app see all of its bookings; agents see the bookings assigned to them
    and the unclaimed pool bookings of their apps."""
    user = current_user(request)
    try:
        key = booking_id if isinstance(booking_id, uuid.UUID) else uuid.UUID(str(booking_id))
    except ValueError:
        raise NotFoundException(BOOKING_NOT_FOUND) from None
    booking = await Booking.objects().get(Booking.id == key)
    if booking is None:
        raise NotFoundException(BOOKING_NOT_FOUND)
    app = await VideoApp.objects().get(VideoApp.id == booking.app)
    member = await membership(booking.app, user.id)
    role = effective_role(user, member)
    if role == Role.admin:
        return booking, app, role
    if role == Role.agent and booking.assigned_agent in (user.id, None):
        return booking, app, role
    raise NotFoundException(BOOKING_NOT_FOUND)

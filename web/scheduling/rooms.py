"""Meeting rooms: every booking owns one room for its whole life. The host (agent) and the guest
(customer) each hold an unguessable link that never changes, reschedules included.

What the room shows for video comes from a media provider; the built-in one gives both sides the
same stage keyed by the booking, and another provider (a hosted video service) can be plugged in
with `use_media_provider`."""

from __future__ import annotations

from typing import Any, Protocol

from web.db.tables import Booking, Membership, User

HOST = "host"
GUEST = "guest"


class MediaProvider(Protocol):
    name: str

    def room_view(self, booking: Booking, role: str) -> dict[str, Any]:
        """What the room page needs to show the media stage for this side of the meeting."""
        ...


class BuiltInProvider:
    """The stage Punctual draws itself: the same room id for both sides, no outside service."""

    name = "builtin"

    def room_view(self, booking: Booking, role: str) -> dict[str, Any]:
        return {
            "provider": self.name,
            "room_id": f"punctual-{booking.id}",
            "role": role,
            "display_name": "Agent" if role == HOST else booking.guest_name,
            "template": "rooms/builtin_stage.html",
        }


_provider: MediaProvider = BuiltInProvider()


def media_provider() -> MediaProvider:
    return _provider


def use_media_provider(provider: MediaProvider) -> None:
    global _provider
    _provider = provider


def room_links(booking: Booking, public_url: str) -> tuple[str, str]:
    """(host link, guest link) for the booking, absolute under `public_url`."""
    base = public_url.rstrip("/")
    return f"{base}/rooms/{booking.host_token}", f"{base}/rooms/{booking.guest_token}"


def confirm_link(booking: Booking, public_url: str) -> str:
    return f"{public_url.rstrip('/')}/confirm/{booking.confirm_token}"


async def find_room(token: str) -> tuple[Booking, str] | None:
    """The booking whose host or guest link carries `token`, and which side it is."""
    if not token or len(token) > 64:
        return None
    booking = (
        await Booking.objects().where((Booking.host_token == token) | (Booking.guest_token == token)).first()
    )
    if booking is None:
        return None
    return booking, HOST if booking.host_token == token else GUEST


async def find_by_confirm_token(token: str) -> Booking | None:
    if not token or len(token) > 64:
        return None
    return await Booking.objects().get(Booking.confirm_token == token)


async def viewer_timezone(booking: Booking, role: str) -> str:
    """The zone to show times in: the guest's own, the agent's, else the app's."""
    if role == GUEST:
        return booking.guest_timezone or booking.app_timezone
    if booking.assigned_agent is not None:
        member = (
            await Membership.select(Membership.timezone)
            .where((Membership.app == booking.app) & (Membership.user == booking.assigned_agent))
            .first()
        )
        if member and member["timezone"]:
            return member["timezone"]
    return booking.app_timezone


async def agent_name(booking: Booking) -> str:
    if booking.assigned_agent is None:
        return "an agent"
    row = await User.select(User.name, User.email).where(User.id == booking.assigned_agent).first()
    return (row["name"] or row["email"]) if row else "an agent"

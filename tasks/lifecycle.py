"""Automatic booking transitions: a meeting nobody (no guest) joined within the preset's grace
window after its start becomes a no-show. Runs every minute; each booking changes through the
lifecycle API, so its event, version and planners behave as for a manual change."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from web import clock
from web.db.tables import Booking, BookingStatus, Preset
from web.scheduling import bookings
from web.scheduling.hooks import Actor

log = logging.getLogger("punctual.lifecycle")

WAITING_STATUSES = [BookingStatus.scheduled, BookingStatus.pending_confirmation, BookingStatus.confirmed]
# A meeting the agent opened and then left, the customer never having come, is a no-show too
# (while the agent is still in the room, the meeting stays open).
NO_SHOW_CANDIDATES = [*WAITING_STATUSES, BookingStatus.started]
DEFAULT_GRACE_MINUTES = 10
# Grace windows are at most 240 minutes (the preset's bound); look no further back than needed.
_CANDIDATE_REACH = timedelta(days=30)


async def mark_no_shows(now: datetime) -> list[str]:
    """Mark every overdue booking as no-show; returns the ids changed."""
    candidates = await Booking.select(Booking.id, Booking.app, Booking.scheduled_at, Booking.status).where(
        Booking.status.is_in([s.value for s in NO_SHOW_CANDIDATES])
        & Booking.guest_joined_at.is_null()
        & (Booking.scheduled_at < now)
        & (Booking.scheduled_at > now - _CANDIDATE_REACH)
    )
    if not candidates:
        return []
    apps = list({row["app"] for row in candidates})
    grace = {
        row["app"]: row["no_show_grace_minutes"]
        for row in await Preset.select(Preset.app, Preset.no_show_grace_minutes).where(Preset.app.is_in(apps))
    }
    changed = []
    for row in candidates:
        minutes = grace.get(row["app"], DEFAULT_GRACE_MINUTES)
        if row["scheduled_at"] + timedelta(minutes=minutes) >= now:
            continue
        if row["status"] == BookingStatus.started and await bookings.in_room(row["id"]):
            continue
        try:
            booking = await bookings.mark_no_show(row["id"], Actor.system(), now=now)
        except bookings.BookingError as error:  # changed meanwhile (joined, cancelled): nothing to do
            log.info("booking %s not marked no-show: %s", row["id"], error.message)
            continue
        if booking.status == BookingStatus.no_show:
            changed.append(str(row["id"]))
    return changed


async def no_show_sweep(ctx: dict) -> int:
    """saq cron entry point."""
    changed = await mark_no_shows(clock.now())
    if changed:
        log.info("marked %d booking(s) as no-show", len(changed))
    return len(changed)

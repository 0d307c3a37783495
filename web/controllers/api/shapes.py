"""Rows to API objects, and lifecycle errors to API errors."""

from __future__ import annotations

from datetime import datetime

from web.controllers.api import models
from web.controllers.api.access import iso_now
from web.db.tables import Booking, BookingEvent
from web.errors import ApiError
from web.scheduling import bookings
from web.scheduling.rooms import room_links
from web.scheduling.timeutil import to_iso_z

# Lifecycle field names -> the request's field names, so details point at what the client sent.
REQUEST_FIELDS = {
    "guest_name": "guestName",
    "guest_phone": "guestPhone",
    "guest_email": "guestEmail",
    "guest_timezone": "guestTimezone",
    "intake_notes": "guestIntakeNotes",
    "scheduled_at": "scheduledAtUtc",
    "duration_minutes": "durationMinutes",
    "buffer_before_minutes": "bufferBeforeMinutes",
    "buffer_after_minutes": "bufferAfterMinutes",
    "assigned_agent_id": "assignedAgentId",
    "assignment_method": "assignmentMethod",
    "app_timezone": "appTimezone",
}


def meta() -> models.ResponseMeta:
    return models.ResponseMeta(timestamp=iso_now())


def _iso(value: datetime | None) -> str | None:
    return to_iso_z(value) if value is not None else None


def call(booking: Booking, app_public_id: str, public_url: str) -> models.Call:
    host_url, guest_url = room_links(booking, public_url)
    return models.Call(
        id=str(booking.id),
        app_id=app_public_id,
        assigned_agent_id=str(booking.assigned_agent) if booking.assigned_agent is not None else None,
        booking_source=booking.booking_source,
        assignment_method=booking.assignment_method,
        guest_name=booking.guest_name,
        guest_phone=booking.guest_phone,
        guest_email=booking.guest_email,
        guest_timezone=booking.guest_timezone,
        guest_intake_notes=booking.intake_notes or "",
        scheduled_at=to_iso_z(booking.scheduled_at),
        duration_minutes=booking.duration_minutes,
        buffer_before_minutes=booking.buffer_before_minutes,
        buffer_after_minutes=booking.buffer_after_minutes,
        app_timezone=booking.app_timezone,
        status=str(booking.status),
        created_at=to_iso_z(booking.created_at),
        updated_at=to_iso_z(booking.updated_at),
        cancelled_at=_iso(booking.cancelled_at),
        cancellation_reason=booking.cancellation_reason,
        host_join_url=host_url,
        guest_join_url=guest_url,
    )


def event(row: BookingEvent) -> models.CallEvent:
    payload = row.payload if isinstance(row.payload, dict) else {}
    return models.CallEvent(
        id=str(row.id),
        event_type=row.event_type,
        actor_type=row.actor_type,
        actor_id=row.actor_id,
        payload=payload,
        created_at=to_iso_z(row.created_at),
    )


def call_response(booking: Booking, app_public_id: str, public_url: str) -> models.CallResponse:
    return models.CallResponse(
        data=models.CallData(call=call(booking, app_public_id, public_url)), meta=meta()
    )


def invalid(field: str, message: str, code: str = "invalid") -> ApiError:
    return ApiError(
        400,
        "The request is not valid.",
        error_type="invalid_request",
        details=[{"field": field, "message": message, "code": code}],
    )


def booking_error(exc: bookings.BookingError, now: datetime) -> ApiError:
    """The API's answer to a lifecycle refusal."""
    if isinstance(exc, bookings.BookingRateLimited):
        when = to_iso_z(exc.next_allowed_at)
        retry = max(int((exc.next_allowed_at - now).total_seconds()), 1)
        return ApiError(
            429,
            exc.message,
            error_type="rate_limit_exceeded",
            details=[
                {
                    "field": "nextAllowedAt",
                    "message": when,
                    "code": "booking_rate_limited",
                    "nextAllowedAt": when,
                }
            ],
            headers={"Retry-After": str(retry)},
        )
    if isinstance(exc, bookings.InvalidBooking):
        details = [
            {"field": REQUEST_FIELDS.get(name, name), "message": message, "code": "invalid"}
            for name, message in exc.errors.items()
        ]
        return ApiError(400, exc.message, error_type="invalid_request", details=details)
    if isinstance(exc, bookings.FinalStateError):
        return ApiError(
            409,
            exc.message,
            error_type="conflict",
            details=[{"field": "status", "message": exc.message, "code": "final_state"}],
        )
    if isinstance(exc, bookings.BookingNotFound):
        return ApiError(404, "No such scheduled call.", error_type="not_found")
    if exc.code == "forbidden":
        return ApiError(403, exc.message, error_type="forbidden")
    if exc.code == "conflict":
        return ApiError(409, exc.message, error_type="conflict")
    return ApiError(400, exc.message, error_type="invalid_request")

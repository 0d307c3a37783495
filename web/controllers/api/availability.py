"""`GET /api/v1/video/{appId}/availability`: free slots of the app's agents."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from web.controllers.api import models, shapes
from web.controllers.api.access import READ, error_responses
from web.controllers.api.calls import _agent_of_app, _aware
from web.scheduling import availability, availability_data
from web.scheduling.api_clients import ApiCaller
from web.scheduling.timeutil import to_iso_z


@get(
    "/availability",
    opt={"scope": READ},
    summary="Free slots (at most 400 candidates per search)",
    responses=error_responses(400, 401, 403, 404, 429),
)
async def find_availability(
    request: Request,
    caller: NamedDependency[ApiCaller],
    from_utc: Annotated[datetime, QueryParameter(name="fromUtc")],
    to_utc: Annotated[datetime, QueryParameter(name="toUtc")],
    duration_minutes: Annotated[int, QueryParameter(name="durationMinutes", ge=5, le=480)],
    agent_id: Annotated[
        str | None, QueryParameter(name="agentId", max_length=18, pattern=r"^[0-9]+$")
    ] = None,
    step_minutes: Annotated[int | None, QueryParameter(name="stepMinutes", ge=1, le=1440)] = None,
    buffer_before_minutes: Annotated[int, QueryParameter(name="bufferBeforeMinutes", ge=0, le=240)] = 0,
    buffer_after_minutes: Annotated[int, QueryParameter(name="bufferAfterMinutes", ge=0, le=240)] = 0,
    respect_working_hours: Annotated[bool, QueryParameter(name="respectWorkingHours")] = True,
) -> models.AvailabilityResponse:
    start = _aware(from_utc, "fromUtc", request.query_params.get("fromUtc"))
    end = _aware(to_utc, "toUtc", request.query_params.get("toUtc"))
    if end <= start:
        raise shapes.invalid("toUtc", "The end of the range must be after its start.", "invalid_range")
    agents = None if agent_id is None else [await _agent_of_app(caller, agent_id, "agentId")]
    try:
        slots = await availability_data.find_slots(
            caller.app_id,
            from_utc=start,
            to_utc=end,
            duration_minutes=duration_minutes,
            agent_ids=agents,
            step_minutes=step_minutes,
            buffer_before_minutes=buffer_before_minutes,
            buffer_after_minutes=buffer_after_minutes,
            respect_working_hours=respect_working_hours,
        )
    except availability.TooManyCandidates as exc:
        raise shapes.invalid("", str(exc).capitalize() + ".", "too_many_candidates") from None
    except ValueError as exc:
        raise shapes.invalid("", str(exc).capitalize() + ".") from None
    return models.AvailabilityResponse(
        data=models.AvailabilityData(
            slots=[
                models.AvailableSlot(
                    start_utc=to_iso_z(slot.start_utc), end_utc=to_iso_z(slot.end_utc), agent_id=slot.agent_id
                )
                for slot in slots
            ]
        ),
        meta=shapes.meta(),
    )


ROUTES = [find_availability]

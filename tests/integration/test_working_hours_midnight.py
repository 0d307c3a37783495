"""Working hours that end at "24:00" (accepted by the hours form) keep an agent bookable until midnight."""

from __future__ import annotations

import pytest

from tests.fixtures.scheduling import at_local, next_workday, tenant  # noqa: F401
from web.scheduling import bookings, people
from web.scheduling.bookings import NewBooking, SlotUnavailable
from web.scheduling.hooks import Actor

ADMIN = Actor("admin", "1")


async def test_a_day_ending_at_24_00_takes_the_last_half_hour_and_refuses_what_lies_outside(tenant, clock):
    form = {f"{part}_{day}": "" for day in range(7) for part in ("start", "end")}
    day = next_workday(clock.now())
    form[f"start_{day.weekday()}"], form[f"end_{day.weekday()}"] = "18:00", "24:00"
    _, errors = await people.save_working_hours(tenant.app_id, tenant.agent.id, form, tenant.timezone)
    assert errors == {}

    def new(hour: int, minute: int) -> NewBooking:
        start = at_local(day, hour, minute)
        guest = {"guest_name": "Grace", "guest_phone": "+573001234567"}
        return NewBooking(**guest, scheduled_at=start, assigned_agent_id=tenant.agent.id)

    late = await bookings.create(tenant.app_id, new(23, 30), ADMIN, now=clock.now())
    assert late.assigned_agent == tenant.agent.id
    with pytest.raises(SlotUnavailable):
        await bookings.create(tenant.app_id, new(17, 0), ADMIN, now=clock.now())

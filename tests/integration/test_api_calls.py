"""The scheduled-calls endpoints against the real lifecycle: shapes, validation details, conflicts,
filters and pagination, PATCH events, idempotent DELETE, 202 reminders."""

from __future__ import annotations

from datetime import timedelta

from tests.fixtures.api import api, tenant  # noqa: F401
from tests.fixtures.scheduling import workday_slot
from web.db.tables import Booking, Preset, Reminder

PHONE = "+573001234567"


def body(tenant, start, **extra) -> dict:
    return {
        "guestName": "Gina Guest",
        "guestPhone": PHONE,
        "scheduledAtUtc": start.isoformat().replace("+00:00", "Z"),
        "appTimezone": tenant.timezone,
        "assignedAgentId": str(tenant.agent.id),
        **extra,
    }


def fields_of(response) -> dict[str, str]:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request"
    return {d["field"]: d["code"] for d in error["details"]}


async def create(api, start, **extra):
    response = await api.post("/scheduled-calls", json=body(api.tenant, start, **extra))
    assert response.status_code == 201, response.text
    return response.json()["data"]["call"]


async def test_create_returns_the_full_call_as_get_does(api, clock):
    start = workday_slot(clock.now())
    response = await api.post(
        "/scheduled-calls",
        json=body(
            api.tenant, start, guestIntakeNotes="Knee pain", durationMinutes=45, guestTimezone="Europe/Madrid"
        ),
    )
    assert response.status_code == 201
    created = response.json()["data"]["call"]
    assert created["booking_source"] == "api"
    assert created["app_id"] == api.tenant.public_id
    assert created["assigned_agent_id"] == str(api.tenant.agent.id)
    assert created["scheduled_at"] == start.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert created["duration_minutes"] == 45
    assert created["status"] == "scheduled"
    assert created["guest_intake_notes"] == "Knee pain"
    assert created["guest_join_url"] != created["host_join_url"]

    detail = await api.get(f"/scheduled-calls/{created['id']}")
    assert detail.status_code == 200
    assert detail.json()["data"]["call"] == created
    events = detail.json()["data"]["events"]
    assert [e["event_type"] for e in events] == ["created"]
    assert events[0]["actor_type"] == "api"
    assert events[0]["actor_id"] == api.client_id
    assert (await Booking.count().where(Booking.booking_source == "api")) == 1


async def test_create_validation_reports_each_field(api, clock):
    assert fields_of(await api.post("/scheduled-calls", json={})) == {"guestName": "required"}
    missing = fields_of(await api.post("/scheduled-calls", json={"guestName": "G"}))
    assert missing.get("scheduledAtUtc") == "required"

    start = workday_slot(clock.now())
    past = fields_of(
        await api.post("/scheduled-calls", json=body(api.tenant, clock.now() - timedelta(hours=1)))
    )
    assert "scheduledAtUtc" in past
    no_contact = {k: v for k, v in body(api.tenant, start).items() if k != "guestPhone"}
    assert {"guestPhone", "guestEmail"} <= set(fields_of(await api.post("/scheduled-calls", json=no_contact)))
    assert fields_of(await api.post("/scheduled-calls", json=body(api.tenant, start, guestName=7))) == {
        "guestName": "invalid_type"
    }
    assert fields_of(await api.post("/scheduled-calls", json=body(api.tenant, start, nickname="x"))) == {
        "nickname": "unknown_field"
    }
    assert "guestName" in fields_of(
        await api.post("/scheduled-calls", json=body(api.tenant, start, guestName="x" * 5000))
    )
    naive = body(api.tenant, start, scheduledAtUtc=start.replace(tzinfo=None).isoformat())
    assert "scheduledAtUtc" in fields_of(await api.post("/scheduled-calls", json=naive))
    assert "appTimezone" in fields_of(
        await api.post("/scheduled-calls", json=body(api.tenant, start, appTimezone="Mars/Base"))
    )
    assert "durationMinutes" in fields_of(
        await api.post("/scheduled-calls", json=body(api.tenant, start, durationMinutes=1))
    )
    not_agent = body(api.tenant, start, assignedAgentId=str(api.tenant.admin.id))
    assert fields_of(await api.post("/scheduled-calls", json=not_agent)) == {
        "assignedAgentId": "unknown_agent"
    }
    for raw in (b"{broken", b"", b"[1, 2]", b"null"):
        response = await api.post(
            "/scheduled-calls", content=raw, headers={"content-type": "application/json"}
        )
        assert response.status_code == 400, raw
        assert response.json()["error"]["type"] == "invalid_request"
    assert (await Booking.count()) == 0


async def test_slot_taken_is_409_and_no_agent_means_the_engine_picks(api, clock):
    start = workday_slot(clock.now())
    await create(api, start)
    clash = await api.post("/scheduled-calls", json=body(api.tenant, start + timedelta(minutes=15)))
    assert clash.status_code == 409
    assert clash.json()["error"]["type"] == "conflict"

    picked = await create(api, start, assignedAgentId=None, guestPhone="+573009999999")
    assert picked["assigned_agent_id"] == str(api.tenant.other_agent.id)
    assert picked["assignment_method"] == "round_robin"


async def test_scheduling_disabled_is_403_and_the_booking_limit_is_429(api, clock):
    start = workday_slot(clock.now())
    await Preset.update({Preset.booking_rate_limit: 1}).where(Preset.app == api.tenant.app_id)
    await create(api, start)
    limited = await api.post("/scheduled-calls", json=body(api.tenant, start + timedelta(hours=2)))
    assert limited.status_code == 429
    error = limited.json()["error"]
    assert error["type"] == "rate_limit_exceeded"
    assert error["details"][0]["field"] == "nextAllowedAt"
    assert error["details"][0]["nextAllowedAt"].endswith("Z")
    assert int(limited.headers["retry-after"]) > 0

    await Preset.update({Preset.scheduling_enabled: False}).where(Preset.app == api.tenant.app_id)
    off = await api.post(
        "/scheduled-calls", json=body(api.tenant, start + timedelta(hours=4), guestPhone="+573001111111")
    )
    assert off.status_code == 403
    assert off.json()["error"]["type"] == "forbidden"


async def test_list_filters_and_pagination(api, clock):
    start = workday_slot(clock.now())
    first = await create(api, start, guestName="Alice Smith", guestEmail="alice@example.com")
    second = await create(api, start + timedelta(hours=1), guestName="Bob Jones", guestPhone="+573002222222")
    third = await create(
        api, start + timedelta(hours=2), guestName="Carla", assignedAgentId=str(api.tenant.other_agent.id)
    )
    await api.delete(f"/scheduled-calls/{second['id']}")

    page = await api.get("/scheduled-calls", params={"limit": 2})
    assert page.status_code == 200
    assert [c["id"] for c in page.json()["data"]["calls"]] == [first["id"], second["id"]]
    assert page.json()["pagination"] == {"total": 3, "limit": 2, "offset": 0, "hasMore": True}
    rest = await api.get("/scheduled-calls", params={"limit": 2, "offset": 2})
    assert [c["id"] for c in rest.json()["data"]["calls"]] == [third["id"]]
    assert rest.json()["pagination"]["hasMore"] is False

    async def ids(**params) -> list[str]:
        response = await api.get("/scheduled-calls", params=params)
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()["data"]["calls"]]

    assert await ids(agentId=str(api.tenant.other_agent.id)) == [third["id"]]
    assert await ids(status="cancelled") == [second["id"]]
    assert await ids(status="scheduled,cancelled") == [first["id"], second["id"], third["id"]]
    assert await ids(bookingSource="admin,agent") == []
    assert await ids(bookingSource="api") == [first["id"], second["id"], third["id"]]
    hour = (start + timedelta(hours=1)).isoformat()
    assert await ids(dateFrom=hour) == [second["id"], third["id"]]
    assert await ids(dateTo=hour) == [first["id"]]
    assert await ids(search="ALICE") == [first["id"]]
    assert await ids(search="2222222") == [second["id"]]
    assert await ids(search="100%") == []

    assert fields_of(await api.get("/scheduled-calls", params={"limit": 0})) == {"limit": "out_of_range"}
    assert "limit" in fields_of(await api.get("/scheduled-calls", params={"limit": 201}))
    assert "offset" in fields_of(await api.get("/scheduled-calls", params={"offset": -1}))
    assert "status" in fields_of(await api.get("/scheduled-calls", params={"status": "lost"}))
    assert "dateFrom" in fields_of(await api.get("/scheduled-calls", params={"dateFrom": "yesterday"}))


async def test_patch_writes_one_event_per_change(api, clock):
    start = workday_slot(clock.now())
    call = await create(api, start)
    later = start + timedelta(hours=3)
    response = await api.patch(
        f"/scheduled-calls/{call['id']}",
        json={
            "scheduledAtUtc": later.isoformat(),
            "assignedAgentId": str(api.tenant.other_agent.id),
            "guestEmail": "gina@example.com",
            "guestIntakeNotes": "Bring the scans",
            "reason": "customer asked",
        },
    )
    assert response.status_code == 200, response.text
    changed = response.json()["data"]["call"]
    assert changed["id"] == call["id"]
    assert changed["scheduled_at"] == later.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert changed["assigned_agent_id"] == str(api.tenant.other_agent.id)
    assert changed["guest_email"] == "gina@example.com"
    assert changed["guest_join_url"] == call["guest_join_url"]

    events = (await api.get(f"/scheduled-calls/{call['id']}")).json()["data"]["events"]
    by_type = {e["event_type"]: e for e in events}
    assert [e["event_type"] for e in events] == ["created", "assigned", "rescheduled", "updated"]
    assert by_type["rescheduled"]["payload"]["reason"] == "customer asked"
    assert by_type["rescheduled"]["payload"]["to"] == changed["scheduled_at"]
    assert by_type["rescheduled"]["actor_type"] == "api"

    cleared = await api.patch(f"/scheduled-calls/{call['id']}", json={"guestEmail": None})
    assert cleared.json()["data"]["call"]["guest_email"] is None


async def test_patch_refusals(api, clock):
    start = workday_slot(clock.now())
    call = await create(api, start)
    other = await create(api, start + timedelta(hours=2))
    path = f"/scheduled-calls/{call['id']}"

    assert fields_of(await api.patch(path, json={})) == {"": "required"}
    assert fields_of(await api.patch(path, json={"reason": "just because"})) == {"": "required"}
    bad_phone = await api.patch(
        path, json={"guestPhone": "call me", "scheduledAtUtc": (start + timedelta(hours=5)).isoformat()}
    )
    assert "guestPhone" in fields_of(bad_phone)
    assert fields_of(await api.patch(path, json={"guestPhone": None})).keys() >= {"guestPhone"}
    taken = await api.patch(path, json={"scheduledAtUtc": other["scheduled_at"]})
    assert taken.status_code == 409
    assert taken.json()["error"]["type"] == "conflict"
    unchanged = (await api.get(path)).json()["data"]["call"]
    assert unchanged["scheduled_at"] == call["scheduled_at"]
    assert unchanged["guest_phone"] == PHONE

    await api.delete(path)
    final = await api.patch(path, json={"guestName": "Too late"})
    assert final.status_code == 409
    assert final.json()["error"]["details"][0]["code"] == "final_state"


async def test_delete_is_a_soft_idempotent_cancel(api, clock):
    start = workday_slot(clock.now())
    by_body = await create(api, start)
    by_query = await create(api, start + timedelta(hours=1))

    response = await api.request(
        "DELETE", f"/scheduled-calls/{by_body['id']}", json={"reason": "No longer needed"}
    )
    assert response.status_code == 200
    cancelled = response.json()["data"]["call"]
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancellation_reason"] == "No longer needed"
    assert cancelled["cancelled_at"] is not None

    clock.advance(seconds=60)
    again = await api.delete(f"/scheduled-calls/{by_body['id']}", params={"reason": "again"})
    assert again.status_code == 200
    assert again.json()["data"]["call"]["cancelled_at"] == cancelled["cancelled_at"]
    assert again.json()["data"]["call"]["cancellation_reason"] == "No longer needed"
    events = (await api.get(f"/scheduled-calls/{by_body['id']}")).json()["data"]["events"]
    assert [e["event_type"] for e in events].count("cancelled") == 1

    queried = await api.delete(f"/scheduled-calls/{by_query['id']}", params={"reason": "Moved to phone"})
    assert queried.json()["data"]["call"]["cancellation_reason"] == "Moved to phone"
    assert (await Booking.count()) == 2


async def test_reminders_are_accepted_as_pending_rows(api, clock):
    start = workday_slot(clock.now())
    call = await create(api, start)
    path = f"/scheduled-calls/{call['id']}/reminders"

    response = await api.post(path, json={})
    assert response.status_code == 202, response.text
    reminder = response.json()["data"]["reminder"]
    assert reminder["reminder_kind"] == "custom"
    assert reminder["channel"] == "whatsapp"
    assert reminder["status"] == "pending"
    row = await Reminder.objects().get(Reminder.id == reminder["id"])
    assert row.kind == "custom"
    assert abs((row.fire_at - clock.now()).total_seconds()) < 5

    named = await api.post(path, json={"kind": "reminder_custom", "recipient": "+573005555555"})
    assert named.status_code == 202
    assert named.json()["data"]["reminder"]["reminder_kind"] == "custom"
    assert named.json()["data"]["reminder"]["recipient"] == "+573005555555"
    assert (await api.post(path, json={"kind": "invitation"})).json()["data"]["reminder"][
        "reminder_kind"
    ] == "invitation"

    assert "kind" in fields_of(await api.post(path, json={"kind": "birthday"}))
    assert "channel" in fields_of(await api.post(path, json={"channel": "pigeon"}))

    await api.delete(f"/scheduled-calls/{call['id']}")
    refused = await api.post(path, json={})
    assert refused.status_code == 409
    assert refused.json()["error"]["type"] == "conflict"

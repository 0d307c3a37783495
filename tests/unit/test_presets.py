"""Preset validation (shared by the admin form and the seed file) and saving with listeners."""

from __future__ import annotations

import uuid

import pytest

from tests.fixtures.scheduling import tenant  # noqa: F401
from web.db.tables import Preset, VideoApp
from web.scheduling import presets
from web.scheduling.hooks import Actor
from web.scheduling.presets import PRESET_FIELDS, validate_preset

FULL_FORM = {
    "scheduling_enabled": "on",
    "assignment_mode": "round_robin",
    "default_duration_minutes": "45",
    "buffer_before_minutes": "5",
    "buffer_after_minutes": "10",
    "customer_may_cancel": "on",
    "no_show_grace_minutes": "15",
    "booking_rate_limit": "3",
    "dispatch_minutes_before": "5",
    "reminder_reminder_1h": ["whatsapp"],
    "reminder_invitation": ["whatsapp", "genesys"],
    "reminder_reminder_24h": [],
}


def test_a_full_form_gives_every_field_with_unticked_boxes_off():
    values, errors = validate_preset(FULL_FORM)
    assert errors == {}
    assert set(values) == set(PRESET_FIELDS)
    assert values["scheduling_enabled"] is True and values["customer_may_cancel"] is True
    assert values["require_confirmation"] is False and values["customer_may_reschedule"] is False
    assert values["default_duration_minutes"] == 45 and values["booking_rate_limit"] == 3
    assert values["reminders"] == {"reminder_1h": ["whatsapp"], "invitation": ["whatsapp", "genesys"]}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("assignment_mode", "pool"),
        ("default_duration_minutes", "4"),
        ("default_duration_minutes", "481"),
        ("default_duration_minutes", "thirty"),
        ("buffer_before_minutes", "-1"),
        ("no_show_grace_minutes", "0"),
        ("dispatch_minutes_before", "121"),
        ("booking_rate_limit", "-2"),
        ("scheduling_enabled", "maybe"),
        ("reminder_reminder_1h", ["sms"]),
    ],
)
def test_bad_values_are_reported_by_field(field, value):
    values, errors = validate_preset({**FULL_FORM, field: value})
    expected = "reminders" if field.startswith("reminder_") else field
    assert list(errors) == [expected]
    assert expected not in values


def test_a_full_form_missing_a_number_is_an_error():
    form = dict(FULL_FORM)
    del form["default_duration_minutes"]
    _, errors = validate_preset(form)
    assert "default_duration_minutes" in errors


def test_partial_input_from_a_seed_file_keeps_only_the_given_fields():
    values, errors = validate_preset(
        {
            "require_confirmation": True,
            "default_duration_minutes": 20,
            "reminders": {"reminder_15m": ["whatsapp"]},
        },
        partial=True,
    )
    assert errors == {}
    assert values == {
        "require_confirmation": True,
        "default_duration_minutes": 20,
        "reminders": {"reminder_15m": ["whatsapp"]},
    }
    _, errors = validate_preset({"reminders": {"reminder_2h": ["whatsapp"]}}, partial=True)
    assert "reminders" in errors
    _, errors = validate_preset({"reminders": "not json"}, partial=True)
    assert "reminders" in errors


async def test_save_preset_stores_values_and_tells_listeners_what_changed(tenant, clock):
    seen = []
    after_commit = []

    async def listener(change):
        seen.append((change.app_id, dict(change.before), change.actor.type))

        async def callback():
            after_commit.append(change.preset.dispatch_minutes_before)

        return [callback]

    presets.register_preset_listener(listener)
    try:
        values, errors = validate_preset(
            {"dispatch_minutes_before": "12", "buffer_after_minutes": "0"}, partial=True
        )
        assert errors == {}
        saved = await presets.save_preset(
            tenant.app_id, values, Actor("admin", str(tenant.admin.id)), clock.now()
        )
        # Unchanged values are not reported; nothing changed -> listeners are not called.
        await presets.save_preset(tenant.app_id, values, Actor("admin", str(tenant.admin.id)), clock.now())
    finally:
        presets._listeners.remove(listener)
    assert saved.dispatch_minutes_before == 12
    assert (await presets.get_preset(tenant.app_id)).dispatch_minutes_before == 12
    assert seen == [(tenant.app_id, {"dispatch_minutes_before": 5}, "admin")]
    assert after_commit == [12]


async def test_get_preset_creates_the_defaults_once(tenant):
    other = VideoApp(public_id=uuid.uuid4(), name="Other")
    await other.save()
    first = await presets.get_preset(other.id)
    second = await presets.get_preset(other.id)
    assert first.id == second.id and first.default_duration_minutes == 30 and first.reminders == {}
    assert await Preset.count().where(Preset.app == other.id) == 1

"""The default WhatsApp simulator fixture and the names it uses (also listed in README.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DEFAULT_FIXTURE_PATH = Path(__file__).with_name("default_fixture.json")

PHONE_NUMBER_ID = "100000000000001"
ACCESS_TOKEN = "sim-whatsapp-access-token"
LANGUAGE = "en"

# Reminder kind -> template name, and the number of body parameters each template expects.
TEMPLATES: dict[str, str] = {
    "invitation": "meeting_invitation",
    "reminder_24h": "meeting_reminder_24h",
    "reminder_1h": "meeting_reminder_1h",
    "reminder_15m": "meeting_reminder_15m",
    "cancellation": "meeting_cancellation",
    "conflict_notice": "meeting_conflict_notice",
    "custom": "meeting_custom",
}
BODY_PARAMS: dict[str, int] = {
    "invitation": 3,
    "reminder_24h": 3,
    "reminder_1h": 3,
    "reminder_15m": 3,
    "cancellation": 2,
    "conflict_notice": 2,
    "custom": 1,
}


def load_fixture(path: str | Path | None = None) -> dict[str, Any]:
    """The fixture at `path`, or the shipped default one."""
    with open(path or DEFAULT_FIXTURE_PATH, encoding="utf-8") as handle:
        fixture = json.load(handle)
    if not isinstance(fixture, dict):
        raise ValueError(f"{path}: a fixture is a JSON object")
    return fixture

"""The exact `OpenInboundNormalizedMessage` body Genesys expects for an inbound open message."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def iso_millis(moment: datetime) -> str:
    """`2026-05-04T13:50:00.000Z`: UTC, milliseconds, a literal Z (the documented format)."""
    if moment.tzinfo is None:
        raise ValueError("channel.time needs a timezone-aware datetime")
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def open_message_body(
    *,
    message_id: str,
    time: datetime,
    from_id: str,
    nickname: str | None,
    text: str,
    custom_attributes: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Only fields of the official model, plus `channel.metadata.customAttributes`, the place
    Architect's Get Participant Data reads from."""
    for key, value in (custom_attributes or {}).items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ValueError(f"custom attribute {key!r} must map a string to a string")
    sender: dict[str, str] = {"id": from_id, "idType": "Opaque"}
    if nickname:
        sender["nickname"] = nickname
    channel: dict[str, Any] = {"messageId": message_id, "time": iso_millis(time), "from": sender}
    if custom_attributes:
        channel["metadata"] = {"customAttributes": dict(custom_attributes)}
    return {"channel": channel, "text": text}

"""Choosing an agent when the booking mode is "Any available" (`round_robin`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime


def pick_round_robin(
    free_agent_ids: list[str], last_assigned_at: Mapping[str, datetime | None]
) -> str | None:
    """The free agent who was assigned least recently, or None when nobody is free.

    Agents never assigned (missing from the mapping or mapped to None) come first; ties go to the
    smallest agent id, so the same inputs always give the same agent and work spreads evenly."""

    def order(agent_id: str) -> tuple:
        last = last_assigned_at.get(agent_id)
        return (0, agent_id) if last is None else (1, last, agent_id)

    return min(set(free_agent_ids), key=order, default=None)

"""The one clock every domain function and job reads. Tests move it instead of sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float = 0, **kwargs: float) -> datetime:
        self.offset += timedelta(seconds=seconds, **kwargs)
        return self.now()

    def reset(self) -> None:
        self.offset = timedelta(0)


clock = Clock()


def now() -> datetime:
    return clock.now()

"""A job that proves the worker is alive; /readyz shows how long ago it last ran."""

from __future__ import annotations

from web import clock
from web.db.tables import WorkerHeartbeat


async def heartbeat(ctx: dict) -> None:
    name = ctx["settings"].instance
    now = clock.now()
    updated = (
        await WorkerHeartbeat.update({WorkerHeartbeat.seen_at: now})
        .where(WorkerHeartbeat.name == name)
        .returning(WorkerHeartbeat.id)
    )
    if not updated:
        await WorkerHeartbeat.insert(WorkerHeartbeat(name=name, seen_at=now)).on_conflict(action="DO NOTHING")

"""Liveness and readiness."""

from __future__ import annotations

import asyncio

from litestar import Request, Response, get

from web import clock
from web.db import engine as db
from web.db.tables import WorkerHeartbeat

CHECK_TIMEOUT_SECONDS = 2


@get("/healthz", cache=False)
async def healthz() -> dict:
    return {"status": "ok"}


async def _check(coro) -> str:
    try:
        await asyncio.wait_for(coro, CHECK_TIMEOUT_SECONDS)
    except Exception as exc:  # any failure means "not ready"; the type says what kind
        return f"unavailable ({type(exc).__name__})"
    return "ok"


@get("/readyz", cache=False)
async def readyz(request: Request) -> Response:
    state = request.app.state
    checks: dict[str, object] = {
        "database": await _check(db.ping()),
        "redis": await _check(state.redis.ping()),
    }
    worker: dict[str, object] = {"last_seen_seconds": None}
    if checks["database"] == "ok":
        beat = await WorkerHeartbeat.objects().get(WorkerHeartbeat.name == state.settings.instance)
        if beat is not None:
            worker["last_seen_seconds"] = round((clock.now() - beat.seen_at).total_seconds(), 1)
    checks["worker"] = worker
    failing = [name for name in ("database", "redis") if checks[name] != "ok"]
    body = {"status": "unavailable" if failing else "ok", "failing": failing, "checks": checks}
    return Response(body, status_code=503 if failing else 200)


ROUTES = [healthz, readyz]

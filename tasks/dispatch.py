"""saq jobs of the pre-meeting dispatch: triggers that re-read the row (logic in
`web/scheduling/dispatch_send.py`). Importing this module registers the dispatch planner."""

from __future__ import annotations

# dispatch_send imports web.scheduling.dispatch, which registers the planner and preset listener.
from web.scheduling import dispatch_send


async def send_dispatch(ctx: dict, *, dispatch_id: str, version: int) -> str:
    return await dispatch_send.attempt(dispatch_send.Deps.from_ctx(ctx), dispatch_id, version)


async def send_dispatch_follow_up(
    ctx: dict, *, dispatch_id: str, attempt: int = 1, kind: str = "cancelled"
) -> bool:
    return await dispatch_send.send_follow_up(dispatch_send.Deps.from_ctx(ctx), dispatch_id, attempt, kind)


JOBS = [send_dispatch, send_dispatch_follow_up]

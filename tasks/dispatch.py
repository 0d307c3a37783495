"""saq jobs of the pre-meeting dispatch: triggers that re-read the row (logic in
`web/scheduling/dispatch_send.py`). Importing this module registers the dispatch planner."""

from __future__ import annotations

# dispatch_send imports web.scheduling.dispatch, which registers the planner and preset listener.
from web.scheduling import dispatch_send
from web.scheduling.timeutil import parse_utc


async def send_due_dispatches(ctx: dict, *, until: str) -> dict[str, int]:
    """The trigger shared by every row planned to go in one second: sends what is due now and each
    row planned before `until` as its time comes."""
    return dict(await dispatch_send.send_due(dispatch_send.Deps.from_ctx(ctx), parse_utc(until)))


async def send_dispatch(ctx: dict, *, dispatch_id: str, version: int) -> str:
    """A row's own trigger (a retry, or when its second's shared trigger was already running)."""
    return await dispatch_send.attempt(dispatch_send.Deps.from_ctx(ctx), dispatch_id, version)


async def send_dispatch_follow_up(
    ctx: dict, *, dispatch_id: str, attempt: int = 1, kind: str = "cancelled"
) -> bool:
    return await dispatch_send.send_follow_up(dispatch_send.Deps.from_ctx(ctx), dispatch_id, attempt, kind)


JOBS = [send_due_dispatches, send_dispatch, send_dispatch_follow_up]

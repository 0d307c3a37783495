"""Pre-meeting dispatch rows: planned with the booking, cleared or re-planned with its changes.

A dispatch is one open message to Genesys a few minutes before a meeting, routed to the booked
agent. Each live row (`live_key` = booking id, unique) carries its due time, the planned send time
(`next_attempt_at`, spread under the tenant's budget, see `dispatch_budget`), a status and a
version. Rows are written inside the lifecycle transaction by the planner below; saq jobs
(`tasks/dispatch.py`, logic in `dispatch_send.py`) are only triggers: one shared by the rows planned
for the same second, or a row's own keyed by row id and version (see `enqueue_due`).

Statuses: scheduled -> sending -> dispatched | failed (| scheduled again for a retry); any live row
may become `cleared` (live_key NULL) when the booking moves, changes agent or ends.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import jinja2

from web import live
from web.db.engine import is_sqlite, transaction
from web.db.tables import (
    FINAL_STATUSES,
    Booking,
    BookingStatus,
    Dispatch,
    DispatchStatus,
    GenesysSettings,
    Membership,
    Preset,
)
from web.genesys.settings_store import get_row, is_provisioned, on_provisioned
from web.scheduling import jobs, presets
from web.scheduling import timeline as events_log
from web.scheduling.dispatch_budget import DEFAULT_BUDGET_PER_MINUTE, SEARCH_WINDOW, pick_send_time
from web.scheduling.hooks import Actor, AfterCommit, Change, register_planner, run_after_commit
from web.scheduling.timeutil import to_iso_z
from web.settings import PROJECT_ROOT
from web.templating import localtime

SEND_JOB = "send_dispatch"
DUE_JOB = "send_due_dispatches"
FOLLOW_UP_JOB = "send_dispatch_follow_up"
JOB_TIMEOUT_SECONDS = 60
# Jobs are enqueued this early and wait for the exact send time themselves: saq's schedule has
# whole-second resolution and a one-second poll, which alone could make a send a second late.
ENQUEUE_LEAD = timedelta(seconds=1.5)
# Advisory lock namespace for "planning this tenant's send slots" (PostgreSQL).
_TENANT_LOCK_BASE = 0x5055_4E44_0000_0000
PRESET_FIELDS_THAT_REPLAN = ("genesys_dispatch_enabled", "dispatch_minutes_before")
LIVE_STATUSES = (DispatchStatus.scheduled, DispatchStatus.sending, DispatchStatus.dispatched)
PENDING_STATUSES = (DispatchStatus.scheduled, DispatchStatus.sending, DispatchStatus.failed)


def booking_link(booking_id: Any) -> str:
    return f"/bookings/{booking_id}"


def send_key(row_id: Any, version: int, attempts: int = 0) -> str:
    """A row's own trigger: `dispatch:<id>:v<version>`; a retry adds `:a<attempts>` (a new key)."""
    key = jobs.job_key("dispatch", row_id, version)
    return f"{key}:a{attempts}" if attempts else key


def due_key(send_at: datetime) -> str:
    """The trigger every row planned to go within the same second shares: `dispatch-due:<second>`."""
    return f"dispatch-due:{math.floor(send_at.timestamp())}"


async def enqueue_send(
    row_id: Any, version: int, send_at: datetime | None, attempts: int = 0, suffix: str = ""
) -> bool:
    """The row's own trigger (`send_dispatch`), for when the shared one cannot be relied on."""
    at = send_at - ENQUEUE_LEAD if send_at is not None else None
    return await jobs.enqueue_at(
        SEND_JOB,
        key=send_key(row_id, version, attempts) + suffix,
        at=at,
        job_timeout=JOB_TIMEOUT_SECONDS,
        dispatch_id=str(row_id),
        version=version,
    )


async def enqueue_due(send_at: datetime, rows: list[tuple[Any, int, int]]) -> bool:
    """Make sure rows (id, version, attempts) planned for the second of `send_at` get sent then.

    One shared trigger per second (`send_due_dispatches`) claims every row due in that second in
    batches, so a burst costs a few queue jobs, not one per row. When that second's trigger is
    already running (it may have looked before these rows were committed), each row gets its own
    trigger instead. True when a trigger was newly queued or is waiting; False when Redis could not
    take it (the reconciler tries again)."""
    second = datetime.fromtimestamp(math.floor(send_at.timestamp()), UTC)
    shared = await jobs.enqueue_shared(
        DUE_JOB,
        key=due_key(send_at),
        at=second - ENQUEUE_LEAD,
        job_timeout=JOB_TIMEOUT_SECONDS,
        until=to_iso_z(second + timedelta(seconds=1)),
    )
    if shared != "running":
        return shared == "queued"
    queued = [await enqueue_send(row_id, version, send_at, attempts) for row_id, version, attempts in rows]
    return any(queued)


def _enqueue_callback(row_id: Any, version: int, send_at: datetime, attempts: int = 0) -> AfterCommit:
    async def callback() -> None:
        await enqueue_due(send_at, [(row_id, version, attempts)])

    return callback


# --- planning ---------------------------------------------------------------------------------------


async def live_row(booking_id: Any) -> Dispatch | None:
    return await Dispatch.objects().get(Dispatch.live_key == str(booking_id))


async def _agent_genesys_id(app_id: int, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    rows = await Membership.raw(
        'SELECT genesys_user_id FROM membership WHERE app = {} AND "user" = {}', app_id, user_id
    )
    return (rows[0]["genesys_user_id"] if rows else None) or None


def _budget(settings_row: GenesysSettings) -> int:
    return settings_row.dispatch_budget_per_minute or DEFAULT_BUDGET_PER_MINUTE


# Run for every planned row, so plain SQL: Piccolo's join through `Dispatch.booking.app` costs more
# than the query itself.
_TAKEN_SEND_TIMES = """
SELECT d.next_attempt_at FROM dispatch d JOIN booking b ON b.id = d.booking
WHERE b.app = {} AND d.status IN ({}, {}, {}) AND d.next_attempt_at >= {} AND d.next_attempt_at <= {}
"""


async def _taken_send_times(app_id: int, due_at: datetime, now: datetime) -> list[datetime]:
    low = max(now, due_at - SEARCH_WINDOW) - timedelta(minutes=1)
    statuses = [s.value for s in LIVE_STATUSES]
    rows = await Dispatch.raw(_TAKEN_SEND_TIMES, app_id, *statuses, low, due_at + SEARCH_WINDOW)
    return [r["next_attempt_at"] for r in rows if r["next_attempt_at"] is not None]


async def _lock_tenant(app_id: int) -> None:
    # Two planners of one tenant must not pick the same slot. SQLite: the IMMEDIATE transaction
    # already serializes writers. Taken after the lifecycle's agent locks, always last: no cycle.
    if not is_sqlite():
        await Dispatch.raw("SELECT pg_advisory_xact_lock({})", _TENANT_LOCK_BASE + app_id)


async def plan_for(booking: Booking, preset: Preset, actor: Actor, now: datetime) -> list[AfterCommit]:
    """Write the booking's dispatch row when the app dispatches and the agent can be routed to.
    Call inside the lifecycle transaction (the booking has no live row at this point)."""
    if not preset.genesys_dispatch_enabled or booking.status in (*FINAL_STATUSES, BookingStatus.started):
        return []
    if booking.scheduled_at <= now:
        return []
    settings_row = await get_row(booking.app)
    if not is_provisioned(settings_row):
        return []
    agent_genesys_id = await _agent_genesys_id(booking.app, booking.assigned_agent)
    if agent_genesys_id is None:
        return []  # shown on the card as "not dispatched" with the reason
    due_at = booking.scheduled_at - timedelta(minutes=preset.dispatch_minutes_before)
    await _lock_tenant(booking.app)
    taken = await _taken_send_times(booking.app, due_at, now)
    send_at = pick_send_time(due_at, now, taken, _budget(settings_row))
    row = Dispatch(
        booking=booking.id,
        live_key=str(booking.id),
        due_at=due_at,
        status=DispatchStatus.scheduled,
        version=1,
        attempts=0,
        next_attempt_at=send_at,
        message_id=str(uuid.uuid4()),
        agent_user_id=agent_genesys_id,
        created_at=now,
        updated_at=now,
    )
    await row.save()
    payload = {"dispatch_id": str(row.id), "due_at": to_iso_z(due_at), "send_at": to_iso_z(send_at)}
    if due_at <= now:
        payload["late"] = True  # booked inside the dispatch window: sent at once, never skipped
    await events_log.record(booking.id, "pre_meeting_scheduled", actor, payload, now)
    return [_enqueue_callback(row.id, row.version, send_at)]


async def clear_live(
    booking: Booking,
    actor: Actor,
    now: datetime,
    *,
    reason: str,
    statuses: tuple[str, ...] = (*PENDING_STATUSES, DispatchStatus.dispatched),
    follow_up: str | None = None,
) -> list[AfterCommit]:
    """Clear the booking's live row when its status is one of `statuses`. With `follow_up`
    ("cancelled", "moved" or "reassigned"), the agent's conversation already opened for this
    booking gets a message saying so (after commit)."""
    row = await live_row(booking.id)
    if row is None or row.status not in statuses:
        return []
    was = row.status
    await Dispatch.update(
        {
            Dispatch.status: DispatchStatus.cleared,
            Dispatch.live_key: None,
            Dispatch.version: row.version + 1,
            Dispatch.updated_at: now,
        }
    ).where(Dispatch.id == row.id)
    payload: dict[str, Any] = {"dispatch_id": str(row.id), "reason": reason, "was": was}
    callbacks: list[AfterCommit] = []
    delivered = row if follow_up and was == DispatchStatus.dispatched else None
    if delivered is None and follow_up in ("cancelled", "moved"):
        # The agent may hold a message from before a reschedule: it still deserves the news.
        delivered = await last_delivered(booking.id, row.agent_user_id)
    if delivered is not None:
        payload["follow_up"] = follow_up
        await mark_follow_up(delivered.id, follow_up, now)
        callbacks.append(follow_up_callback(delivered.id, follow_up, booking.scheduled_at))
    await events_log.record(booking.id, "pre_meeting_cleared", actor, payload, now)
    if was == DispatchStatus.failed and booking.assigned_agent is not None:
        callbacks.append(_publish_callback(booking.id, booking.assigned_agent))
    return callbacks


async def last_delivered(booking_id: Any, agent_user_id: str) -> Dispatch | None:
    """The booking's latest dispatch that reached this agent in Genesys (their conversation)."""
    return (
        await Dispatch.objects()
        .where(
            (Dispatch.booking == booking_id)
            & (Dispatch.agent_user_id == agent_user_id)
            & Dispatch.conversation_id.is_not_null()
        )
        .order_by(Dispatch.dispatched_at, ascending=False)
        .first()
    )


async def mark_follow_up(row_id: Any, kind: str, now: datetime) -> None:
    """Record on the row that its conversation must be told `kind` (the latest news replaces an
    older one not sent yet); the job that sends it, or the reconciler, reads it from there."""
    await Dispatch.update({Dispatch.follow_up: kind, Dispatch.follow_up_at: now}).where(Dispatch.id == row_id)


async def follow_up_done(row: Dispatch) -> None:
    """Forget the row's follow-up once sent or given up, unless newer news replaced it meanwhile."""
    await Dispatch.update({Dispatch.follow_up: None, Dispatch.follow_up_at: None}).where(
        (Dispatch.id == row.id)
        & (Dispatch.follow_up == row.follow_up)
        & (Dispatch.follow_up_at == row.follow_up_at)
    )


def follow_up_key(row_id: Any, kind: str, starts_at: datetime) -> str:
    # One "moved" message per new time, one "cancelled" message per conversation.
    return f"dispatch-follow-up:{row_id}:{kind}" + (f":{starts_at:%Y%m%d%H%M}" if kind == "moved" else "")


async def enqueue_follow_up(row_id: Any, kind: str, starts_at: datetime) -> bool:
    return await jobs.enqueue_at(
        FOLLOW_UP_JOB,
        key=follow_up_key(row_id, kind, starts_at),
        at=None,
        job_timeout=JOB_TIMEOUT_SECONDS,
        dispatch_id=str(row_id),
        attempt=1,
        kind=kind,
    )


def follow_up_callback(row_id: Any, kind: str, starts_at: datetime) -> AfterCommit:
    async def callback() -> None:
        await enqueue_follow_up(row_id, kind, starts_at)

    return callback


def _publish_callback(booking_id: Any, agent_id: int) -> AfterCommit:
    async def callback() -> None:
        await publish_state(booking_id, agent_id)

    return callback


REASONS = {
    "rescheduled": "The meeting was rescheduled.",
    "reassigned": "The meeting was given to another agent.",
    "cancelled": "The meeting was cancelled.",
    "started": "The agent already joined the meeting.",
    "completed": "The meeting has ended.",
    "no_show": "The meeting was marked as a no-show.",
}


@register_planner
async def plan_dispatch(change: Change) -> list[AfterCommit]:
    booking, actor, now = change.booking, change.actor, change.now
    kind = change.kind
    if kind == "created":
        return await plan_for(booking, change.preset, actor, now)
    if kind in ("rescheduled", "reassigned"):
        # One fresh interaction for the new time (or agent), none for the old one; a conversation
        # already delivered is told the meeting moved (or went to another agent).
        follow_up = "moved" if kind == "rescheduled" else "reassigned"
        callbacks = await clear_live(booking, actor, now, reason=REASONS[kind], follow_up=follow_up)
        return callbacks + await plan_for(booking, change.preset, actor, now)
    if kind == "cancelled":
        return await clear_live(booking, actor, now, reason=REASONS[kind], follow_up="cancelled")
    if kind in ("completed", "no_show"):
        return await clear_live(booking, actor, now, reason=REASONS[kind], statuses=PENDING_STATUSES)
    if kind in ("started", "joined") and booking.host_joined_at is not None:
        # The agent is already in the room: nothing left to tell them.
        statuses = (DispatchStatus.scheduled, DispatchStatus.failed)
        return await clear_live(booking, actor, now, reason=REASONS["started"], statuses=statuses)
    return []


@presets.register_preset_listener
async def replan_on_preset_change(change: presets.PresetChange) -> list[AfterCommit]:
    """Dispatch turned on or off, or a new "minutes before": re-plan rows not yet sent."""
    if not any(name in change.before for name in PRESET_FIELDS_THAT_REPLAN):
        return []
    return await _replan_upcoming(change.app_id, change.preset, change.actor, change.now)


@on_provisioned
async def plan_when_provisioned(app_id: int, now: datetime) -> None:
    """Genesys just became usable: upcoming bookings get the dispatch they could not have before,
    and those that failed while it was not get a fresh one."""
    async with transaction():
        preset = await presets.get_preset(app_id)
        callbacks = await _replan_upcoming(app_id, preset, Actor.system(), now, keep_scheduled=True)
    await run_after_commit(callbacks)


async def replan_agent(app_id: int, user_id: int, now: datetime) -> list[AfterCommit]:
    """The agent's Genesys user id changed: their unsent dispatches must route to the new one (or
    wait for one). Call inside the transaction that changes the membership."""
    preset = await presets.get_preset(app_id)
    reason = "The agent's Genesys user id changed."
    return await _replan_upcoming(app_id, preset, Actor.system(), now, agent_id=user_id, reason=reason)


async def _replan_upcoming(
    app_id: int,
    preset: Preset,
    actor: Actor,
    now: datetime,
    *,
    keep_scheduled: bool = False,
    agent_id: int | None = None,
    reason: str = "The dispatch settings changed.",
) -> list[AfterCommit]:
    """Clear and plan again every upcoming booking's dispatch that is not yet on its way
    (`keep_scheduled`: leave rows waiting for their time as they are, plan missing and failed ones;
    `agent_id`: only that agent's bookings)."""
    open_statuses = [BookingStatus.scheduled, BookingStatus.pending_confirmation, BookingStatus.confirmed]
    where = (Booking.app == app_id) & Booking.status.is_in(open_statuses) & (Booking.scheduled_at > now)
    if agent_id is not None:
        where &= Booking.assigned_agent == agent_id
    upcoming = await Booking.objects().where(where).order_by(Booking.scheduled_at)
    callbacks: list[AfterCommit] = []
    for booking in upcoming:
        row = await live_row(booking.id)
        on_its_way = row is not None and row.status in (DispatchStatus.sending, DispatchStatus.dispatched)
        if on_its_way or (keep_scheduled and row is not None and row.status == DispatchStatus.scheduled):
            continue
        if row is not None:
            callbacks += await clear_live(booking, actor, now, reason=reason, statuses=PENDING_STATUSES)
        callbacks += await plan_for(booking, preset, actor, now)
    return callbacks


# --- reading ----------------------------------------------------------------------------------------


async def booking_for_conversation(conversation_id: str) -> Booking | None:
    """The booking whose dispatch opened this Genesys conversation (for the interaction widget)."""
    if not conversation_id:
        return None
    row = (
        await Dispatch.select(Dispatch.booking)
        .where(Dispatch.conversation_id == conversation_id)
        .order_by(Dispatch.created_at, ascending=False)
        .first()
    )
    if row is None:
        return None
    return await Booking.objects().get(Booking.id == row["booking"])


@dataclass
class DispatchState:
    """What a card or the booking page shows about the booking's pre-meeting message."""

    booking_id: str
    state: str  # planned | sending | sent | failed | not_dispatched | none
    message: str = ""
    due_at: datetime | None = None
    send_at: datetime | None = None
    dispatched_at: datetime | None = None
    failed_at: datetime | None = None
    attempts: int = 0
    last_error: str = ""

    @property
    def failed(self) -> bool:
        return self.state == "failed"


def _state_of_row(booking_id: str, row: dict) -> DispatchState:
    common = {
        "due_at": row["due_at"],
        "send_at": row["next_attempt_at"],
        "dispatched_at": row["dispatched_at"],
        "failed_at": row["failed_at"],
        "attempts": row["attempts"],
        "last_error": row["last_error"] or "",
    }
    status = row["status"]
    if status == DispatchStatus.dispatched:
        return DispatchState(booking_id, "sent", "Genesys pre-meeting message sent", **common)
    if status == DispatchStatus.failed:
        return DispatchState(booking_id, "failed", "Genesys pre-meeting message failed", **common)
    if status == DispatchStatus.sending:
        return DispatchState(booking_id, "sending", "Genesys pre-meeting message being sent", **common)
    if row["attempts"]:
        return DispatchState(booking_id, "planned", "Genesys pre-meeting message retrying", **common)
    return DispatchState(booking_id, "planned", "Genesys pre-meeting message planned", **common)


# The live row's columns a dispatch state is made of (a caller joining them in names them so).
STATE_COLUMNS = (
    "live_key",
    "status",
    "due_at",
    "next_attempt_at",
    "dispatched_at",
    "failed_at",
    "attempts",
    "last_error",
)


async def dispatch_states(
    booking_ids: list[Any],
    bookings: list[dict[str, Any]] | None = None,
    live_rows: list[dict[str, Any]] | None = None,
) -> dict[str, DispatchState]:
    """The dispatch state of each booking, keyed by the booking id as a string (a handful of
    queries whatever the number of bookings). `bookings`, when the caller already holds them, are
    the rows (id, app, assigned_agent, status) of those ids and save reading them again;
    `live_rows`, the live dispatch rows of those bookings (`STATE_COLUMNS`), save reading those."""
    keys = [str(b) for b in booking_ids]
    if not keys:
        return {}
    if live_rows is None:
        columns = [getattr(Dispatch, name) for name in STATE_COLUMNS]
        live_rows = await Dispatch.select(*columns).where(Dispatch.live_key.is_in(keys))
    states = {r["live_key"]: _state_of_row(r["live_key"], r) for r in live_rows}
    if len(states) == len(keys):  # every booking has its row: nothing else to explain
        return states
    if bookings is None:
        columns = (Booking.id, Booking.app, Booking.assigned_agent, Booking.status)
        bookings = await Booking.select(*columns).where(
            Booking.id.is_in([uuid.UUID(k) for k in keys if k not in states])
        )
    # Bookings without a row: say why no message is planned, where the reason is the agent's.
    waiting = [b for b in bookings if str(b["id"]) not in states and b["status"] not in FINAL_STATUSES]
    for booking in bookings:
        states.setdefault(str(booking["id"]), DispatchState(str(booking["id"]), "none"))
    app_ids = sorted({b["app"] for b in waiting})
    if not app_ids:
        return states
    enabled = {
        p["app"]
        for p in await Preset.select(Preset.app).where(
            Preset.app.is_in(app_ids) & (Preset.genesys_dispatch_enabled == True)  # noqa: E712
        )
    }
    if not enabled:  # dispatch off: no settings or memberships to read
        return states
    dispatching = {
        row.app
        for row in await GenesysSettings.objects().where(GenesysSettings.app.is_in(sorted(enabled)))
        if is_provisioned(row)
    }
    waiting = [b for b in waiting if b["app"] in dispatching]
    if not waiting:
        return states
    members = await Membership.select(Membership.app, Membership.user, Membership.genesys_user_id).where(
        Membership.app.is_in(sorted(dispatching))
    )
    routable = {(m["app"], m["user"]) for m in members if m["genesys_user_id"]}
    for booking in waiting:
        key = str(booking["id"])
        if booking["assigned_agent"] is None:
            states[key] = DispatchState(key, "not_dispatched", "Not dispatched: no agent assigned yet")
        elif (booking["app"], booking["assigned_agent"]) not in routable:
            states[key] = DispatchState(key, "not_dispatched", "Not dispatched: agent has no Genesys user id")
    return states


async def dispatch_state(booking_id: Any) -> DispatchState:
    return (await dispatch_states([booking_id])).get(str(booking_id)) or DispatchState(
        str(booking_id), "none"
    )


async def overview_counts(app_id: int, now: datetime) -> dict[str, int]:
    """Live dispatch rows of the app by state, for the admin overview. Overdue: more than a minute
    past its send time and not out yet (waiting, or stuck in `sending`), as the reconciler sees it."""
    rows = await Dispatch.select(Dispatch.status, Dispatch.next_attempt_at, Dispatch.updated_at).where(
        (Dispatch.booking.app == app_id) & Dispatch.live_key.is_not_null()
    )
    counts = {"planned": 0, "sending": 0, "sent": 0, "failed": 0, "overdue": 0}
    late = now - timedelta(minutes=1)
    names = {
        DispatchStatus.scheduled: "planned",
        DispatchStatus.sending: "sending",
        DispatchStatus.dispatched: "sent",
        DispatchStatus.failed: "failed",
    }
    for row in rows:
        counts[names[row["status"]]] += 1
        stuck = row["status"] == DispatchStatus.sending and row["updated_at"] < late
        if (row["status"] == DispatchStatus.scheduled or stuck) and row["next_attempt_at"] < late:
            counts["overdue"] += 1
    return counts


# --- retry now --------------------------------------------------------------------------------------


async def prepare_retry(booking_id: Any, actor: Actor, now: datetime) -> Dispatch | None:
    """Put the booking's failed dispatch back to `scheduled` for an immediate attempt; None when
    there is no failed dispatch to retry. The caller sends it (see `dispatch_send.attempt`)."""
    async with transaction():
        row = await live_row(booking_id)
        if row is None or row.status != DispatchStatus.failed:
            return None
        updated = (
            await Dispatch.update(
                {
                    Dispatch.status: DispatchStatus.scheduled,
                    Dispatch.version: row.version + 1,
                    Dispatch.attempts: 0,
                    Dispatch.next_attempt_at: now,
                    Dispatch.failed_at: None,
                    Dispatch.updated_at: now,
                }
            )
            .where(
                (Dispatch.id == row.id)
                & (Dispatch.status == DispatchStatus.failed)
                & (Dispatch.version == row.version)
            )
            .returning(Dispatch.id)
        )
        if not updated:
            return None
        payload = {"dispatch_id": str(row.id), "send_at": to_iso_z(now), "retry": True}
        await events_log.record(row.booking, "pre_meeting_scheduled", actor, payload, now)
    return await Dispatch.objects().get(Dispatch.id == row.id)


# --- rendering for live updates ---------------------------------------------------------------------


@lru_cache(maxsize=1)
def _templates() -> jinja2.Environment:
    # Jobs render outside any request, so we keep an environment over the same folder.
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(PROJECT_ROOT / "templates"),
        autoescape=True,
        undefined=jinja2.Undefined,
    )
    env.filters["localtime"] = localtime
    return env


def render_banner(booking: Any, state: DispatchState, tz: str = "UTC") -> str:
    return (
        _templates()
        .get_template("partials/dispatch_banner.html")
        .render(booking=booking, dispatch=state, tz=tz)
    )


def live_fragment(booking: Any, state: DispatchState, tz: str = "UTC") -> str:
    """The banner wrapped for an out-of-band swap into the card or the booking page."""
    inner = render_banner(booking, state, tz)
    return f'<div id="dispatch-{booking.id}" hx-swap-oob="true">{inner}</div>'


async def publish_state(booking_id: Any, agent_user_id: int) -> None:
    """Tell the agent's open pages that this booking's dispatch changed (banner in or out)."""
    from web.scheduling.notifications import viewer_timezone

    booking = await Booking.objects().get(Booking.id == booking_id)
    if booking is None:
        return
    state = await dispatch_state(booking.id)
    tz = await viewer_timezone(agent_user_id)
    html = live_fragment(booking, state, tz)
    await live.publish_to_user(agent_user_id, "dispatch", {"booking_id": str(booking.id), "html": html})

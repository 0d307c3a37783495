"""Prometheus metrics, computed from the database (the source of truth) and the job queue, so every
web process reports the same numbers whichever process did the sending."""

from __future__ import annotations

import logging
from datetime import timedelta

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from web import clock
from web.db.tables import Dispatch, DispatchStatus, Reminder

log = logging.getLogger("punctual.metrics")

LATENESS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
LATENESS_WINDOW = timedelta(hours=24)


class _Snapshot:
    """Families gathered beforehand (queries are async; collectors are not)."""

    def __init__(self, families: list) -> None:
        self.families = families

    def collect(self):
        yield from self.families


async def _lateness() -> HistogramMetricFamily:
    since = clock.now() - LATENESS_WINDOW
    rows = await Dispatch.select(Dispatch.due_at, Dispatch.dispatched_at).where(
        (Dispatch.status == DispatchStatus.dispatched) & (Dispatch.dispatched_at >= since)
    )
    counts = [0] * len(LATENESS_BUCKETS)
    total = 0.0
    for row in rows:
        late = max((row["dispatched_at"] - row["due_at"]).total_seconds(), 0.0)
        total += late
        for index, bound in enumerate(LATENESS_BUCKETS):
            if late <= bound:
                counts[index] += 1
    cumulative = [(str(bound), count) for bound, count in zip(LATENESS_BUCKETS, counts, strict=True)]
    family = HistogramMetricFamily(
        "punctual_dispatch_lateness_seconds",
        "Delivery time minus due time of pre-meeting dispatches delivered in the last 24 h",
    )
    family.add_metric([], [*cumulative, ("+Inf", len(rows))], sum_value=total)
    return family


async def _by_status(table, help_text: str, name: str) -> tuple[CounterMetricFamily, int]:
    rows = await table.select(table.status, table.attempts).where(table.attempts > 0)
    outcomes: dict[str, int] = {}
    retries = 0
    for row in rows:
        outcomes[row["status"]] = outcomes.get(row["status"], 0) + 1
        retries += max(row["attempts"] - 1, 0)
    family = CounterMetricFamily(name, help_text, labels=["outcome"])
    for outcome, count in sorted(outcomes.items()):
        family.add_metric([outcome], count)
    return family, retries


async def render(queue=None) -> bytes:
    sends, dispatch_retries = await _by_status(
        Dispatch,
        "Pre-meeting dispatches by current outcome (attempted at least once)",
        "punctual_dispatch_sends",
    )
    reminders, reminder_retries = await _by_status(
        Reminder, "Customer reminders by current outcome (attempted at least once)", "punctual_reminders"
    )
    retries = CounterMetricFamily("punctual_retries", "Attempts beyond the first", labels=["kind"])
    retries.add_metric(["dispatch"], dispatch_retries)
    retries.add_metric(["reminder"], reminder_retries)
    families = [await _lateness(), sends, reminders, retries]
    if queue is not None:
        depth = GaugeMetricFamily("punctual_queue_depth", "Jobs in the queue by state", labels=["state"])
        for state in ("queued", "active", "incomplete"):
            try:
                depth.add_metric([state], await queue.count(state))
            except Exception:  # Redis down: report what the database knows
                log.warning("queue depth unavailable", exc_info=True)
                break
        families.append(depth)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(families))
    return generate_latest(registry)

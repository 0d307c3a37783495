"""saq wiring: one queue per instance, a worker usable in-process or as `punctual worker`.

Jobs are triggers only: each re-reads its database row when it fires (see ARCHITECTURE.md).
"""

from __future__ import annotations

import logging

from redis.asyncio import Redis
from saq import CronJob, Queue, Worker
from saq.queue.redis import RedisQueue

from tasks import dispatch, heartbeat, lifecycle, reconcile, reminders
from web import live
from web.db import engine as db
from web.genesys.client import GenesysClient
from web.scheduling import dispatch_send, jobs
from web.settings import Settings
from web.whatsapp.client import WhatsAppClient

log = logging.getLogger("punctual.worker")

JOB_TIMEOUT_SECONDS = 30


def make_queue(settings: Settings, redis: Redis | None = None) -> Queue:
    redis = redis or Redis.from_url(settings.redis_url)
    return RedisQueue(redis, name=settings.instance)


def job_functions() -> list:
    """Every job the worker runs. Areas add their job modules here."""
    return [
        heartbeat.heartbeat,
        lifecycle.no_show_sweep,
        *dispatch.JOBS,
        *reminders.JOBS,
        reconcile.reconcile_cron,
    ]


def cron_jobs() -> list[CronJob]:
    return [
        # croniter's sixth field is seconds: a beat every 10 s.
        CronJob(heartbeat.heartbeat, cron="* * * * * */10", timeout=10, unique=True),
        CronJob(reconcile.reconcile_cron, cron="* * * * * */15", timeout=60, unique=True),
        CronJob(lifecycle.no_show_sweep, cron="* * * * *", timeout=60, unique=True),
    ]


def build_worker(settings: Settings, queue: Queue, *, web_app=None) -> Worker:
    async def startup(ctx: dict) -> None:
        ctx["settings"] = settings
        ctx["web_app"] = web_app
        ctx["genesys"] = web_app.state.genesys if web_app is not None else GenesysClient()
        ctx["whatsapp"] = web_app.state.whatsapp if web_app is not None else WhatsAppClient()
        ctx.update(dispatch_send.worker_context())
        if web_app is None:  # standalone `punctual worker`: it owns the database connection
            db.use_database(settings.database_url)
            await db.open_database()
            jobs.configure(queue)
            live.configure(queue.redis, settings.instance)

    async def shutdown(ctx: dict) -> None:
        if web_app is None:
            await ctx["genesys"].aclose()
            await ctx["whatsapp"].aclose()
            await db.close_database()

    worker = Worker(
        queue,
        functions=job_functions(),
        cron_jobs=cron_jobs(),
        concurrency=50,
        dequeue_timeout=1,  # lets a stopping worker notice within a second
        startup=startup,
        shutdown=shutdown,
        shutdown_grace_period_s=settings.worker_grace_seconds,
        timers={"schedule": 1, "worker_info": 10, "sweep": 60, "abort": 1},
    )
    if web_app is not None:
        # In-process: uvicorn owns SIGINT/SIGTERM; the app lifespan stops the worker.
        worker.SIGNALS = []
    return worker

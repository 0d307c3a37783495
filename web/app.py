"""The application factory: plugins, lifespan, routes, security headers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from litestar import Litestar
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from litestar.config.csrf import CSRFConfig
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.security.session_auth import SessionAuth
from litestar.static_files import create_static_files_router
from litestar.stores.redis import RedisStore
from litestar.template.config import TemplateConfig
from redis.asyncio import Redis

from web import live, templating
from web.auth import AUTH_EXCLUDE, retrieve_user
from web.controllers.api import OPENAPI_CONFIG
from web.controllers.routes import route_handlers
from web.db import engine as db
from web.errors import EXCEPTION_HANDLERS
from web.genesys.client import GenesysClient
from web.input_guard import refuse_crafted_input
from web.scheduling import jobs
from web.security import security_headers
from web.sessions import LeanSessionConfig
from web.settings import PROJECT_ROOT, Settings
from web.whatsapp.client import WhatsAppClient

log = logging.getLogger("punctual")

TEMPLATES_DIR = PROJECT_ROOT / "templates"
STATIC_DIR = PROJECT_ROOT / "static"


def create_app(
    settings: Settings | None = None,
    *,
    run_worker: bool = True,
    migrate_on_start: bool | None = None,
) -> Litestar:
    """Build the web app. `run_worker` starts a saq worker inside the server's lifespan.

    Migrations run automatically on the embedded SQLite default (`migrate_on_start=None`).
    """
    settings = settings or Settings.from_env()
    db.use_database(settings.database_url)
    redis = Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=2)

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        from tasks.worker import build_worker, make_queue

        await db.open_database()
        if migrate_on_start if migrate_on_start is not None else settings.is_sqlite:
            await db.migrate()
        queue = make_queue(settings, redis)
        app.state.queue = queue
        await queue.connect()
        jobs.configure(queue)
        live.configure(redis, settings.instance)
        app.state.genesys = GenesysClient()  # one HTTP client per process, shared by all tenants
        app.state.whatsapp = WhatsAppClient()
        worker_task = None
        if run_worker:
            worker = build_worker(settings, queue, web_app=app)
            app.state.worker = worker
            worker_task = asyncio.create_task(worker.start())
        try:
            yield
        finally:
            # Shut down step by step; one failing service (say, Redis gone) must not block the rest.
            if worker_task is not None:
                with contextlib.suppress(Exception):
                    await app.state.worker.stop()
                worker_task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await worker_task
            jobs.configure(None)
            with contextlib.suppress(Exception):
                await queue.disconnect()
            with contextlib.suppress(Exception):
                await app.state.genesys.aclose()
            with contextlib.suppress(Exception):
                await app.state.whatsapp.aclose()
            with contextlib.suppress(Exception):
                await redis.aclose()
            await db.close_database()

    session_config = LeanSessionConfig(
        key="punctual_session",
        store="sessions",
        samesite="lax",
        secure=False,
        httponly=True,
        max_age=12 * 3600,
        renew_on_access=True,
    )
    session_auth = SessionAuth(
        retrieve_user_handler=retrieve_user,
        session_backend_config=session_config,
        exclude=AUTH_EXCLUDE,
    )
    channels = ChannelsPlugin(
        backend=RedisChannelsPubSubBackend(redis=redis, key_prefix=f"{settings.instance}:channels"),
        arbitrary_channels_allowed=True,
    )

    app = Litestar(
        route_handlers=[
            *route_handlers(),
            create_static_files_router(path="/static", directories=[STATIC_DIR], name="static"),
        ],
        lifespan=[lifespan],
        on_app_init=[session_auth.on_app_init],
        plugins=[HTMXPlugin(), channels],
        stores={"sessions": RedisStore(redis=redis, namespace=f"{settings.instance}:sessions")},
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_name="punctual_csrf",
            cookie_samesite="lax",
            cookie_secure=False,
            header_name="x-csrftoken",
            exclude=[r"^/api/", r"^/oauth/", r"^/genesys/webhook"],
        ),
        template_config=TemplateConfig(
            directory=TEMPLATES_DIR,
            engine=JinjaTemplateEngine,
            engine_callback=templating.configure,
        ),
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=OPENAPI_CONFIG,
        before_request=refuse_crafted_input,
        before_send=[security_headers],
        request_max_body_size=1024 * 1024,
        debug=False,
    )
    app.state.settings = settings
    app.state.redis = redis
    app.state.channels = channels
    return app


def static_path(name: str) -> Path:
    return STATIC_DIR / name

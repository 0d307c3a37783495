"""`punctual demo`: migrations, demo data, the simulators and the app, on embedded defaults."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses

from web.settings import Settings

DEMO_ADMIN_EMAIL = "admin@example.com"
DEMO_PASSWORD = "punctual-demo"


async def _prepare(settings: Settings) -> list[str]:
    from web.auth import create_user
    from web.db import engine as db

    db.use_database(settings.database_url)
    await db.open_database()
    try:
        with contextlib.redirect_stdout(None):
            await db.migrate()
        await create_user(DEMO_ADMIN_EMAIL, DEMO_PASSWORD, name="Ada Admin", superuser=True)
    finally:
        await db.close_database()
    return [f"Sign in as {DEMO_ADMIN_EMAIL} / {DEMO_PASSWORD}"]


def run_demo(settings: Settings, *, host: str, port: int) -> None:
    import uvicorn

    from web.app import create_app
    from web.embedded_redis import ensure_redis

    if settings.public_url == "http://127.0.0.1:8000" and port != 8000:
        settings = dataclasses.replace(settings, public_url=f"http://127.0.0.1:{port}")
    lines = asyncio.run(_prepare(settings))
    with ensure_redis(settings) as settings:
        print(f"Punctual is running on http://{host}:{port}")
        for line in lines:
            print(line)
        app = create_app(settings, run_worker=True, migrate_on_start=False)
        uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)

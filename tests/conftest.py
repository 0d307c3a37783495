"""Shared fixtures: a fresh database per test (SQLite, or PostgreSQL with TEST_DATABASE_URL),
real Redis under a per-test key prefix, the app in the test's own event loop, a live server for
the browser, and Playwright on the system Chromium."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import re
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
import redis

from web import clock as clock_module
from web.db import engine as db
from web.settings import Settings

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
CHROMIUM = os.environ.get("PUNCTUAL_CHROMIUM", "/usr/lib/chromium/chromium")
ON_POSTGRES = TEST_DATABASE_URL.startswith("postgres")


def pytest_collection_modifyitems(config, items):
    # Browser journeys last: Playwright's sync API keeps an event loop running in the main thread
    # for the rest of the session, which async tests cannot share.
    items.sort(key=lambda item: "e2e" in item.keywords)
    # The PostgreSQL pass covers the data layer: browser journeys run once, on SQLite, and so do
    # tests that never open the database under test (pure rules, the simulators, private servers).
    if ON_POSTGRES:
        skip = pytest.mark.skip(reason="browser journeys run in the SQLite pass")
        for item in items:
            if "e2e" in item.keywords:
                item.add_marker(skip)
        engine_free = [
            item
            for item in items
            if "database_url" not in getattr(item, "fixturenames", ()) or "own_database" in item.keywords
        ]
        if engine_free:
            config.hook.pytest_deselected(items=engine_free)
            items[:] = [item for item in items if item not in engine_free]


def run(coro):
    """Run a coroutine to completion from synchronous code, even while a loop runs in this thread
    (Playwright's sync API keeps one running)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


# --- database ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory) -> Iterator[str]:
    """Migrate once per session; each test then gets a copy (SQLite) or truncated tables (PostgreSQL)."""
    if ON_POSTGRES:
        url = run(_create_private_database(TEST_DATABASE_URL))
        run(_reset_postgres_schema(url))
        yield url
        run(_drop_database(TEST_DATABASE_URL, url.rsplit("/", 1)[1]))
        return
    path = tmp_path_factory.mktemp("db") / "template.sqlite"

    async def build() -> None:
        db.use_database(f"sqlite:///{path}")
        await db.open_database()
        with contextlib.redirect_stdout(None):
            await db.migrate()

    run(build())
    yield str(path)


async def _create_private_database(admin_url: str) -> str:
    """A database of this test run's own, so concurrent runs never truncate each other's rows."""
    import asyncpg

    # The name carries our pid: a leftover is dropped only once its run's process is gone (a live
    # run may hold no connection for a moment, between two tests).
    name = f"punctual_test_p{os.getpid()}_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin_url)
    try:
        rows = await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE 'punctual_test_p%'")
        for row in rows:
            owner = re.fullmatch(r"punctual_test_p(\d+)_[0-9a-f]+", row["datname"])
            if owner and not _process_alive(int(owner.group(1))):
                await conn.execute(f'DROP DATABASE IF EXISTS "{row["datname"]}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def _drop_database(admin_url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def _reset_postgres_schema(url: str) -> None:
    db.use_database(url)
    engine = db.current_engine()
    await engine.run_ddl("DROP SCHEMA public CASCADE")
    await engine.run_ddl("CREATE SCHEMA public")
    with contextlib.redirect_stdout(None):
        await db.migrate()


async def truncate_all() -> None:
    from web.db.piccolo_app import APP_CONFIG

    names = ", ".join(f'"{t._meta.tablename}"' for t in APP_CONFIG.table_classes)
    await db.current_engine().run_ddl(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


@pytest.fixture
def database_url(migrated_template: str, tmp_path: Path) -> str:
    if ON_POSTGRES:
        db.use_database(migrated_template)
        run(truncate_all())
        return migrated_template
    path = tmp_path / "punctual.sqlite"
    shutil.copy(migrated_template, path)
    url = f"sqlite:///{path}"
    db.use_database(url)
    return url


# --- redis and settings -------------------------------------------------------------------------------


@pytest.fixture
def instance() -> Iterator[str]:
    name = f"t{uuid.uuid4().hex[:10]}"
    yield name
    client = redis.Redis.from_url(TEST_REDIS_URL)
    for pattern in (f"{name}*", f"saq:*{name}*"):
        keys = list(client.scan_iter(pattern, count=1000))
        if keys:
            client.delete(*keys)
    client.close()


@pytest.fixture
def settings(database_url: str, instance: str) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=TEST_REDIS_URL,
        secret_key="test-secret-key-" + "x" * 32,
        public_url="http://localhost:8000",
        instance=instance,
        worker_grace_seconds=0.5,
    )


@pytest.fixture(autouse=True)
def _reset_clock() -> Iterator[None]:
    clock_module.clock.reset()
    yield
    clock_module.clock.reset()


@pytest.fixture
def clock():
    return clock_module.clock


# --- the app in the test's loop -------------------------------------------------------------------


class Lifespan:
    """Drives an ASGI app's lifespan from a background task of the current loop.

    (`app.lifespan()` cannot be entered in a fixture's setup and left in its teardown: anyio
    requires both in one task.)"""

    def __init__(self, app) -> None:
        self.app = app
        self.incoming: asyncio.Queue = asyncio.Queue()
        self.outgoing: asyncio.Queue = asyncio.Queue()
        self.task: asyncio.Task | None = None

    async def _expect(self, phase: str) -> None:
        message = await asyncio.wait_for(self.outgoing.get(), 30)
        if message["type"] != f"lifespan.{phase}.complete":
            raise RuntimeError(f"lifespan {phase} failed: {message.get('message')}")

    async def __aenter__(self):
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self.task = asyncio.create_task(self.app(scope, self.incoming.get, self.outgoing.put))
        await self.incoming.put({"type": "lifespan.startup"})
        await self._expect("startup")
        return self.app

    async def __aexit__(self, *exc) -> None:
        await self.incoming.put({"type": "lifespan.shutdown"})
        await self._expect("shutdown")
        await self.task


@pytest_asyncio.fixture
async def app(settings: Settings) -> AsyncIterator:
    from web.app import create_app

    application = create_app(settings, run_worker=False, migrate_on_start=False)
    async with Lifespan(application):
        yield application


@pytest_asyncio.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    # https so Secure cookies round-trip, exactly as in a browser.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver.local") as http:
        yield http


def csrf_token(http: httpx.AsyncClient) -> str:
    return http.cookies.get("punctual_csrf", "")


async def form_post(http: httpx.AsyncClient, url: str, data: dict | None = None, **kwargs) -> httpx.Response:
    """POST a form the way the browser does: with the CSRF field from the cookie."""
    if "punctual_csrf" not in http.cookies:
        await http.get("/login")
    return await http.post(url, data={**(data or {}), "_csrf_token": csrf_token(http)}, **kwargs)


@pytest_asyncio.fixture
async def make_user(app):
    from web.auth import create_user

    async def make(email: str = "ada@example.com", password: str = "correct horse", **kwargs):
        return await create_user(email, password, **kwargs)

    return make


@pytest_asyncio.fixture
async def signed_in(client, make_user):
    """Sign a user in through the real login form; returns (client, user)."""

    async def sign_in(email: str = "ada@example.com", password: str = "correct horse", **kwargs):
        user = await make_user(email, password, **kwargs)
        response = await form_post(client, "/login", {"email": email, "password": password})
        assert response.status_code == 303, response.text
        return user

    return sign_in


# --- a live server for the browser ---------------------------------------------------------------------


@pytest.fixture
def live_server(settings: Settings) -> Iterator[str]:
    from simulators.serve import ServerThread
    from web.app import create_app

    application = create_app(settings, run_worker=True, migrate_on_start=False)
    with ServerThread(application, host="127.0.0.1") as server:
        yield server.url.replace("127.0.0.1", "localhost")


# --- Playwright on the system Chromium -------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": ["--disable-gpu"]}


@pytest.fixture
def page(page):
    page.set_default_timeout(10_000)
    return page

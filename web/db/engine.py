"""Engine selection, transactions and migrations for SQLite (embedded) and PostgreSQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from web.settings import sqlite_path


def engine_for_url(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        # A generous busy timeout: writers queue up behind IMMEDIATE transactions instead of failing.
        return SQLiteEngine(path=path, timeout=30)
    return PostgresEngine(config={"dsn": url.replace("postgres://", "postgresql://", 1)})


def current_engine() -> Engine:
    import piccolo_conf

    return piccolo_conf.DB


def use_database(url: str) -> Engine:
    """Point Piccolo (migrations and every table) at `url`. Returns the engine."""
    from piccolo.apps.migrations.tables import Migration

    import piccolo_conf
    from web.db.piccolo_app import APP_CONFIG

    engine = engine_for_url(url)
    piccolo_conf.DB = engine
    # Piccolo's own migration table too, or it would keep reporting the previous database.
    for table in [*APP_CONFIG.table_classes, Migration]:
        table._meta.db = engine
    return engine


def is_sqlite(engine: Engine | None = None) -> bool:
    return isinstance(engine or current_engine(), SQLiteEngine)


def transaction():
    """A write transaction: IMMEDIATE on SQLite (no 'database is locked' on read-then-write)."""
    engine = current_engine()
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()


async def _keep_session(connection) -> None:
    """Pool reset hook: nothing to undo. asyncpg's default reset (RESET ALL, UNLISTEN, CLOSE ALL,
    unlock session advisory locks) costs a round trip after every pooled query, and we never leave
    session state behind: our locks are transaction-scoped, and asyncpg still rolls back a
    transaction left open before this hook runs."""


async def open_database() -> None:
    engine = current_engine()
    if isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(min_size=2, max_size=20, reset=_keep_session)
    else:
        _enable_wal(engine.path)


async def close_database() -> None:
    engine = current_engine()
    if isinstance(engine, PostgresEngine):
        await engine.close_connection_pool()


def _enable_wal(path: str) -> None:
    # WAL persists in the file; readers then never block the writer.
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")


async def migrate() -> list[str]:
    """Apply pending migrations; returns a short report line per migration applied."""
    from piccolo.apps.migrations.commands.forwards import ForwardsMigrationManager

    manager = ForwardsMigrationManager(app_name="punctual", migration_id="all", fake=False)
    result = await manager.run()
    if not result.success:
        raise RuntimeError(f"migrations failed: {result.message}")
    return [result.message] if result.message else []


async def ping() -> None:
    await current_engine().run_ddl("SELECT 1")

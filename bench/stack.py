"""A freshly started stack for benchmarks, every part in its own process: a private PostgreSQL
database (created for the run, dropped after), Redis under a private key prefix, both simulators
(`punctual sim`), the web app (`punctual serve --no-worker`) and, when a script asks for it, one
`punctual worker`. Also the table every script prints."""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from simulators.serve import free_port

PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "bench-secret-key-" + "x" * 32
T = TypeVar("T")


def _wait_until(check: Callable[[], bool], process: subprocess.Popen, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if check():
                return
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with status {process.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not become ready in {seconds:.0f} s")
        time.sleep(0.05)


def _stop(process: subprocess.Popen | None, seconds: float = 10) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=seconds)


@dataclass
class Stack:
    database_url: str = ""
    instance: str = ""
    url: str = ""
    genesys_url: str = ""
    whatsapp_url: str = ""
    _web: subprocess.Popen | None = None
    _sims: subprocess.Popen | None = None
    _worker: subprocess.Popen | None = None
    _db_name: str = ""
    _log: Any = None
    _started: list[str] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": REDIS_URL,
            "SECRET_KEY": SECRET_KEY,
            "PUBLIC_URL": self.url,
            "PUNCTUAL_INSTANCE": self.instance,
            "LOG_LEVEL": "WARNING",
        }

    def _spawn(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "web.cli", *args],
            env=self.env(),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )

    def __enter__(self) -> Stack:
        try:
            self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self) -> None:
        token = uuid.uuid4().hex[:8]
        self._db_name = f"punctual_bench_{token}"
        self.instance = f"bench{token}"
        # Everything the child processes say goes to one file, shown if something fails.
        self._log = open(f"/tmp/{self.instance}.log", "w")  # noqa: SIM115 - closed in __exit__
        asyncio.run(_admin(f'CREATE DATABASE "{self._db_name}"'))
        self.database_url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{self._db_name}"
        genesys_port, whatsapp_port, web_port = free_port(), free_port(), free_port()
        self.genesys_url = f"http://127.0.0.1:{genesys_port}"
        self.whatsapp_url = f"http://127.0.0.1:{whatsapp_port}"
        self.url = f"http://127.0.0.1:{web_port}"
        self._sims = self._spawn("sim", "--port", str(genesys_port), "--whatsapp-port", str(whatsapp_port))
        subprocess.run(
            [sys.executable, "-m", "web.cli", "migrate"],
            env=self.env(),
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )
        self._web = self._spawn("serve", "--port", str(web_port), "--no-worker")
        ready = f"{self.url}/readyz"
        _wait_until(lambda: httpx.get(ready, timeout=1).status_code == 200, self._web, "the app")
        _wait_until(
            lambda: httpx.get(f"{self.genesys_url}/__sim/config", timeout=1).status_code == 200,
            self._sims,
            "the simulators",
        )

    def start_worker(self) -> None:
        """One `punctual worker` process (jobs enqueued before it starts are waiting for it)."""
        self._worker = self._spawn("worker")

    def stop_worker(self) -> None:
        _stop(self._worker)
        self._worker = None

    def sim(self, method: str, path: str, **kwargs: Any) -> Any:
        """The Genesys simulator's control API (`/__sim/...`)."""
        response = httpx.request(method, f"{self.genesys_url}/__sim/{path}", timeout=60, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def db(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run `work()` with Piccolo pointed at this stack's database (seeding, reading results)."""
        from web.db import engine as db

        async def run() -> T:
            db.use_database(self.database_url)
            await db.open_database()
            try:
                return await work()
            finally:
                await db.close_database()

        return asyncio.run(run())

    def __exit__(self, *exc) -> None:
        if self._worker is not None:
            # A clean stop waits out saq's shutdown grace period even when idle; the figures are
            # already taken and every row's state is in the database.
            self._worker.kill()
        running = [p for p in (self._worker, self._web, self._sims) if p is not None and p.poll() is None]
        for process in running:  # all at once: each may take a moment to stop cleanly
            process.terminate()
        for process in running:
            _stop(process)
        with contextlib.suppress(Exception):
            _forget_redis_keys(self.instance)
        if self._db_name:
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{self._db_name}" WITH (FORCE)'))
        if self._log is not None:
            self._log.close()
            if exc and exc[0] is not None:
                print(f"(process output: {self._log.name})", file=sys.stderr)
            else:
                os.unlink(self._log.name)


def _forget_redis_keys(instance: str) -> None:
    """Every key of this run carries the instance name (saq queue, sessions, channels, limits)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        batch = []
        for key in client.scan_iter(match=f"*{instance}*", count=1000):
            batch.append(key)
            if len(batch) >= 500:
                client.delete(*batch)
                batch.clear()
        if batch:
            client.delete(*batch)
    finally:
        client.close()


async def _admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


# --- figures -----------------------------------------------------------------------------------------


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def percentile(samples: list[float], pct: float) -> float:
    """Nearest-rank percentile (p100 is the maximum)."""
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def time_requests(client: httpx.Client, method: str, url: str, n: int, **kwargs) -> list[float]:
    """Sequential requests; returns each one's wall time in seconds (non-2xx raises)."""
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        response = client.request(method, url, **kwargs)
        samples.append(time.perf_counter() - start)
        response.raise_for_status()
    return samples


@dataclass
class Row:
    """One line of the table: the figure, its target, the value measured, and the reference
    measured in the same run with the ratio value/reference (the reference depends on the figure)."""

    figure: str
    value: str
    target: str
    ok: bool | None = None
    reference: str = ""
    ratio: float | None = None


def print_table(rows: list[Row], title: str = "") -> None:
    widths = [max(len(h), *(len(c) for c in column)) for h, column in _columns(rows)]
    lines = []
    for cells in [[h for h, _ in _columns(rows)], *zip(*(c for _, c in _columns(rows)), strict=True)]:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip())
    if title:
        print(title)
    print(lines[0])
    print("-" * max(len(line) for line in lines))
    for line in lines[1:]:
        print(line)


def _columns(rows: list[Row]) -> list[tuple[str, list[str]]]:
    verdict = {True: "pass", False: "FAIL", None: "-"}
    return [
        ("figure", [r.figure for r in rows]),
        ("target", [r.target for r in rows]),
        ("measured", [r.value for r in rows]),
        ("reference (same run)", [r.reference for r in rows]),
        ("ratio", [f"{r.ratio:.2f}" if r.ratio is not None else "" for r in rows]),
        ("result", [verdict[r.ok] for r in rows]),
    ]

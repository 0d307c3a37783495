"""A freshly started stack for benchmarks: a private PostgreSQL database, Redis under a private key
prefix, both simulators, and the app served by uvicorn in its own process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from simulators.serve import ServerThread, free_port

PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Stack:
    worker: bool = True
    genesys_options: dict = field(default_factory=dict)
    database_url: str = ""
    instance: str = ""
    url: str = ""
    genesys_url: str = ""
    whatsapp_url: str = ""
    _process: subprocess.Popen | None = None
    _servers: list = field(default_factory=list)
    _db_name: str = ""

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": REDIS_URL,
            "SECRET_KEY": "bench-secret-key-" + "x" * 32,
            "PUBLIC_URL": self.url,
            "PUNCTUAL_INSTANCE": self.instance,
            "LOG_LEVEL": "WARNING",
        }

    def __enter__(self) -> Stack:
        from simulators.genesys.app import create_app as genesys_app

        self._db_name = f"punctual_bench_{uuid.uuid4().hex[:8]}"
        asyncio.run(_admin(f'CREATE DATABASE "{self._db_name}"'))
        self.database_url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{self._db_name}"
        self.instance = f"bench{uuid.uuid4().hex[:8]}"
        genesys = ServerThread(genesys_app(strict=True, **self.genesys_options)).start()
        self._servers.append(genesys)
        self.genesys_url = genesys.url
        with contextlib.suppress(ImportError):
            from simulators.whatsapp.app import create_app as whatsapp_app

            whatsapp = ServerThread(whatsapp_app()).start()
            self._servers.append(whatsapp)
            self.whatsapp_url = whatsapp.url
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.punctual("migrate")
        args = [sys.executable, "-m", "web.cli", "serve", "--port", str(port)]
        if not self.worker:
            args.append("--no-worker")
        self._process = subprocess.Popen(args, env=self.env(), cwd=ROOT)
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline or self._process.poll() is not None:
                raise RuntimeError("the app did not become ready")
            time.sleep(0.1)
        return self

    def punctual(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "web.cli", *args],
            env=self.env(),
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout

    def __exit__(self, *exc) -> None:
        if self._process is not None:
            self._process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=10)
        for server in self._servers:
            server.stop()
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{self._db_name}" WITH (FORCE)'))


async def _admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def percentile(samples: list[float], pct: float) -> float:
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
    figure: str
    value: float
    unit: str
    target: str
    reference: str = ""
    ratio: float | None = None
    ok: bool | None = None


def print_table(rows: list[Row]) -> None:
    header = f"{'figure':<52} {'value':>12} {'target':>16} {'reference':>22} {'ratio':>8}  ok"
    print(header)
    print("-" * len(header))
    for row in rows:
        ratio = f"{row.ratio:.2f}" if row.ratio is not None else ""
        ok = {True: "yes", False: "NO", None: ""}[row.ok]
        value = f"{row.value:.2f}{row.unit}"
        print(f"{row.figure:<52} {value:>12} {row.target:>16} {row.reference:>22} {ratio:>8}  {ok}")

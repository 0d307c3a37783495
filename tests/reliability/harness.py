"""Real processes for the reliability cases: the `punctual worker` command in a subprocess (so it can
be SIGKILLed), a private `redis-server` (so it can be stopped and started again), and a private
PostgreSQL cluster (so it can be restarted without touching the machine's shared one)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from simulators.serve import free_port
from web.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def wait_for(condition: Callable[[], object], timeout: float, what: str, interval: float = 0.1):
    """Poll until `condition()` is truthy; its value, or AssertionError naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def port_answers(port: int, host: str = "127.0.0.1") -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), 0.3):
        return True
    return False


# --- the worker ------------------------------------------------------------------------------------------


class WorkerProcess:
    """`python -m web.cli worker` against the test's database and Redis. Its JSON log lines (stderr)
    go to a file that `logs()` parses."""

    def __init__(self, settings: Settings, log_dir: Path, *, redis_url: str | None = None, **env: str):
        self.settings = settings
        self.redis_url = redis_url or settings.redis_url
        self.log_path = Path(log_dir) / f"worker-{time.monotonic_ns()}.log"
        self.extra_env = env
        self.process: subprocess.Popen | None = None

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.settings.database_url,
            "REDIS_URL": self.redis_url,
            "SECRET_KEY": self.settings.secret_key,
            "PUBLIC_URL": self.settings.public_url,
            "PUNCTUAL_INSTANCE": self.settings.instance,
            "LOG_LEVEL": "INFO",
            **self.extra_env,
        }

    def start(self) -> WorkerProcess:
        handle = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "web.cli", "worker"],
            env=self.env(),
            cwd=ROOT,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
        handle.close()
        wait_for(
            lambda: self.process.poll() is not None or "Worker starting" in self.text(),
            20,
            "the worker to start",
        )
        assert self.process.poll() is None, f"the worker exited:\n{self.text()}"
        return self

    def text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def logs(self) -> list[dict]:
        entries = []
        for line in self.text().splitlines():
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if isinstance(entry, dict):
                    entries.append(entry)
        return entries

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, whatever was in flight stays in flight."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self, grace: float = 2.0) -> None:
        # saq's stop waits out its grace period (10 s by default) for idle upkeep loops; the cases
        # here do not need a graceful exit, so a short wait and then SIGKILL.
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            self.kill()

    def __enter__(self) -> WorkerProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# --- a private Redis ---------------------------------------------------------------------------------------


class PrivateRedis:
    """A throwaway `redis-server` without persistence: a restart comes back empty, as a Redis that
    lost its memory would."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: port_answers(self.port), 10, "redis-server to listen")
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        wait_for(lambda: not port_answers(self.port), 10, "redis-server to go away")

    def restart(self, down_seconds: float = 1.0) -> None:
        self.stop()
        time.sleep(down_seconds)  # the outage itself: real time is the point here
        self.start()

    def __enter__(self) -> PrivateRedis:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# --- a private PostgreSQL ----------------------------------------------------------------------------------


def postgres_binaries() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


class PrivatePostgres:
    """A PostgreSQL cluster of its own in a temp dir, run as the `postgres` user when we are root
    (initdb refuses root). `restart()` stops it for real: every connection dies."""

    def __init__(self) -> None:
        self.bin = postgres_binaries()
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="punctual-pg-"))
        self.data = self.dir / "data"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/punctual"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(a) for a in args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=check, timeout=60)

    def start(self) -> PrivatePostgres:
        assert self.bin is not None, "PostgreSQL server binaries are not installed"
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        if not self.data.exists():
            self._run(self.bin / "initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "--no-sync")
        self._pg_ctl("start", "-w", "-t", "30", "-l", self.dir / "server.log")
        return self

    def _pg_ctl(self, *args) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(self.bin / "pg_ctl", "-D", self.data, "-o", options, *args)

    def stop(self) -> None:
        self._pg_ctl("stop", "-m", "fast", "-w", "-t", "30")

    def create_database(self, name: str = "punctual") -> None:
        self._run(self.bin / "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self._pg_ctl("stop", "-m", "immediate", "-w", "-t", "30")
        shutil.rmtree(self.dir, ignore_errors=True)

"""/healthz and /readyz against real services, including a Redis that stops."""

import dataclasses
import shutil
import socket
import subprocess
import time

import httpx
import pytest

from tests.conftest import Lifespan
from web.app import create_app


async def test_healthz_and_readyz_ok(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"] == "ok"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def private_redis(tmp_path):
    binary = shutil.which("redis-server")
    if binary is None:
        from web.embedded_redis import redis_binary

        binary = redis_binary()
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "redis did not start"
            time.sleep(0.05)
    yield process, f"redis://127.0.0.1:{port}/0"
    process.kill()
    process.wait()


async def test_readyz_names_a_stopped_redis(settings, private_redis):
    process, url = private_redis
    app = create_app(dataclasses.replace(settings, redis_url=url), run_worker=False, migrate_on_start=False)
    async with Lifespan(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://t") as http:
            assert (await http.get("/readyz")).status_code == 200
            process.kill()
            process.wait()
            response = await http.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["redis"]
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("unavailable")


async def test_worker_heartbeat_shows_on_readyz(settings, client):
    from tasks.heartbeat import heartbeat

    await heartbeat({"settings": settings})
    body = (await client.get("/readyz")).json()
    assert body["checks"]["worker"]["last_seen_seconds"] is not None
    assert body["checks"]["worker"]["last_seen_seconds"] < 5

"""Helpers shared by the simulator tests."""

from __future__ import annotations

import httpx

from simulators.genesys import fixture as gf
from simulators.genesys import models


async def client_token(http: httpx.AsyncClient, client_id=gf.CLIENT_ID, secret=gf.CLIENT_SECRET) -> str:
    reply = await http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    assert reply.status_code == 200, reply.text
    return reply.json()["access_token"]


async def user_token(http: httpx.AsyncClient, email: str = "ana@example.com") -> str:
    reply = await http.get(
        "/oauth/authorize",
        params={
            "client_id": gf.IMPLICIT_CLIENT_ID,
            "redirect_uri": "http://127.0.0.1:9999/genesys/auth/callback",
            "response_type": "token",
            "login_hint": email,
        },
    )
    assert reply.status_code == 302, reply.text
    fragment = reply.headers["location"].split("#", 1)[1]
    return dict(part.split("=", 1) for part in fragment.split("&"))["access_token"]


def assert_model(model: str, data: dict) -> None:
    """Every field of `data` (recursively) is a field of the official model."""
    assert isinstance(data, dict), data
    assert models.unknown_fields(model, data) == [], f"{model} has no such fields"


def assert_error(reply: httpx.Response, status: int, code: str) -> dict:
    """A Genesys ErrorBody with the correlation header equal to its contextId."""
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert_model("ErrorBody", body)
    assert body["status"] == status
    assert body["code"] == code
    assert body["message"]
    assert reply.headers["ININ-Correlation-Id"] == body["contextId"]
    return body

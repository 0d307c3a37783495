"""Login host (`/oauth/token`, `/oauth/authorize`) and bearer-token checks for the API host."""

from __future__ import annotations

import base64
import hashlib
import html
import math
import secrets
from collections import deque
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from simulators.asgi import Request, Response, html_response, json_response, redirect_response
from simulators.genesys import errors
from simulators.genesys.state import AuthCode, Token

if TYPE_CHECKING:
    from simulators.genesys.app import GenesysSimulator

LOOPBACK_HOSTS = {"127.0.0.1", "localhost"}
CODE_TTL_SECONDS = 300


# -- tokens ---------------------------------------------------------------------------------------


def issue_token(sim: GenesysSimulator, client: dict[str, Any], grant: str, user: dict | None = None) -> Token:
    ttl = int(client["token_ttl_seconds"])
    token = Token(
        value=secrets.token_urlsafe(32),
        client_id=client["client_id"],
        org_id=user["org_id"] if user else client["org_id"],
        expires_at=sim.clock.now() + ttl,
        user_id=user["id"] if user else None,
        grant=grant,
    )
    sim.state.tokens[token.value] = token
    return token


def token_payload(sim: GenesysSimulator, token: Token) -> dict[str, Any]:
    return {
        "access_token": token.value,
        "token_type": "bearer",
        "expires_in": max(0, round(token.expires_at - sim.clock.now())),
    }


def invalid_client(sim: GenesysSimulator) -> Response:
    return errors.oauth_error(
        int(sim.options["invalid_client_status"]), "invalid_client", "authentication failed"
    )


def basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except ValueError:
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None


def client_of_request(sim: GenesysSimulator, request: Request) -> str | None:
    """The OAuth client a request speaks for (Basic auth, form or bearer token)."""
    if request.path.startswith("/oauth/"):
        basic = basic_credentials(request)
        if basic:
            return basic[0]
        return request.form().get("client_id") or request.query_value("client_id")
    token = sim.state.tokens.get(bearer_value(request) or "")
    return token.client_id if token else None


async def token_endpoint(sim: GenesysSimulator, request: Request) -> Response:
    form = request.form()
    grant_type = form.get("grant_type")
    if grant_type == "client_credentials":
        credentials = basic_credentials(request) or (form.get("client_id", ""), form.get("client_secret", ""))
        client = sim.state.clients.get(credentials[0])
        if (
            client is None
            or client.get("client_secret") != credentials[1]
            or client["state"] != "active"
            or "client_credentials" not in client["grants"]
        ):
            return invalid_client(sim)
        return json_response(token_payload(sim, issue_token(sim, client, "client_credentials")))
    if grant_type == "authorization_code":
        return _exchange_code(sim, request, form)
    return errors.oauth_error(400, "unsupported_grant_type", f"grant type {grant_type!r} is not supported")


def _exchange_code(sim: GenesysSimulator, request: Request, form: dict[str, str]) -> Response:
    code = sim.state.codes.get(form.get("code", ""))
    if code is None or code.used or code.expires_at <= sim.clock.now():
        return errors.oauth_error(400, "invalid_grant", "authorization code is invalid or expired")
    client = sim.state.clients.get(code.client_id)
    if client is None or client["state"] != "active":
        return invalid_client(sim)
    basic = basic_credentials(request)
    if basic:
        if basic[0] != client["client_id"] or basic[1] != client.get("client_secret"):
            return invalid_client(sim)
    elif form.get("client_id") != client["client_id"]:
        return invalid_client(sim)
    if form.get("redirect_uri") != code.redirect_uri:
        return errors.oauth_error(400, "invalid_grant", "redirect_uri does not match the authorization")
    if code.challenge is not None:
        verifier = form.get("code_verifier", "")
        digest = hashlib.sha256(verifier.encode()).digest()
        expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        if not 43 <= len(verifier) <= 128 or not secrets.compare_digest(expected, code.challenge):
            return errors.oauth_error(400, "invalid_grant", "code_verifier does not match the code_challenge")
    elif not basic:
        return invalid_client(sim)
    code.used = True
    user = sim.state.users[code.user_id]
    token = issue_token(sim, client, "code", user)
    return json_response(token_payload(sim, token))


# -- browser authorization ------------------------------------------------------------------------


def redirect_uri_allowed(client: dict[str, Any], uri: str) -> bool:
    """Exact match, except that ports are ignored for loopback hosts (tests use random ports)."""
    try:
        wanted = urlsplit(uri)
        wanted_port = wanted.port
    except ValueError:
        return False
    for registered in client["redirect_uris"]:
        allowed = urlsplit(registered)
        same_place = (allowed.scheme, allowed.hostname, allowed.path) == (
            wanted.scheme,
            wanted.hostname,
            wanted.path,
        )
        if same_place and (allowed.hostname in LOOPBACK_HOSTS or allowed.port == wanted_port):
            return True
    return False


def _error_redirect(redirect_uri: str, response_type: str, error: str, description: str, state: str | None):
    params = {"error": error, "error_description": description}
    if state is not None:
        params["state"] = state
    if response_type == "token":
        return redirect_response(f"{redirect_uri}#{urlencode(params)}")
    joiner = "&" if "?" in redirect_uri else "?"
    return redirect_response(f"{redirect_uri}{joiner}{urlencode(params)}")


async def authorize(sim: GenesysSimulator, request: Request) -> Response:
    client = sim.state.clients.get(request.query_value("client_id") or "")
    redirect_uri = request.query_value("redirect_uri") or ""
    if client is None:
        return _login_page_error("Unknown OAuth client.")
    if not redirect_uri_allowed(client, redirect_uri):
        return _login_page_error("The redirect_uri is not registered for this OAuth client.")
    response_type = request.query_value("response_type") or ""
    state = request.query_value("state")
    if client["state"] != "active":
        return _error_redirect(redirect_uri, response_type, "unauthorized_client", "client disabled", state)
    wanted_grant = {"token": {"implicit"}, "code": {"pkce", "code"}}.get(response_type, set())
    if not wanted_grant & set(client["grants"]):
        return _error_redirect(
            redirect_uri, response_type, "unsupported_response_type", "response type not allowed", state
        )
    challenge = request.query_value("code_challenge")
    pkce_only = response_type == "code" and "code" not in client["grants"]
    if pkce_only and (not challenge or request.query_value("code_challenge_method") != "S256"):
        return _error_redirect(
            redirect_uri, response_type, "invalid_request", "PKCE needs an S256 code_challenge", state
        )
    user = _chosen_user(sim, request)
    if user is None:
        return _user_picker(sim, client, request)
    if user["state"] != "active":
        return _error_redirect(redirect_uri, response_type, "access_denied", "user is not active", state)
    if response_type == "token":
        token = issue_token(sim, client, "implicit", user)
        params = {k: str(v) for k, v in token_payload(sim, token).items()}
        if state is not None:
            params["state"] = state
        return redirect_response(f"{redirect_uri}#{urlencode(params)}")
    code = AuthCode(
        code=secrets.token_urlsafe(24),
        client_id=client["client_id"],
        user_id=user["id"],
        redirect_uri=redirect_uri,
        challenge=challenge,
        expires_at=sim.clock.now() + CODE_TTL_SECONDS,
    )
    sim.state.codes[code.code] = code
    params = {"code": code.code, **({"state": state} if state is not None else {})}
    joiner = "&" if "?" in redirect_uri else "?"
    return redirect_response(f"{redirect_uri}{joiner}{urlencode(params)}")


def _chosen_user(sim: GenesysSimulator, request: Request) -> dict[str, Any] | None:
    picked = request.query_value("sim_user")
    if picked:
        return sim.state.users.get(picked)
    hint = request.query_value("login_hint")
    return sim.state.user_by_email(hint) if hint else None


def _user_picker(sim: GenesysSimulator, client: dict[str, Any], request: Request) -> Response:
    """A tiny sign-in page: one button per user, the client's own org first."""
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, values in request.query.items()
        if k != "sim_user"
        for v in values
    )
    orgs = sorted(sim.state.orgs.values(), key=lambda org: org["id"] != client["org_id"])
    sections = []
    for org in orgs:
        buttons = "".join(
            f'<li><button type="submit" name="sim_user" value="{html.escape(u["id"])}">'
            f"{html.escape(u['name'])}</button> <small>{html.escape(u['email'])}</small></li>"
            for u in sim.state.users.values()
            if u["org_id"] == org["id"] and u["state"] == "active"
        )
        sections.append(f"<h2>{html.escape(org['name'])}</h2><ul>{buttons}</ul>")
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Sign in - Genesys Cloud"
        "</title></head><body><main><h1>Sign in</h1><p>Choose who signs in.</p>"
        f"<form method='get' action='/oauth/authorize'>{hidden}{''.join(sections)}</form>"
        "</main></body></html>"
    )
    return html_response(page)


def _login_page_error(message: str) -> Response:
    page = (
        "<!doctype html><html lang='en'><body><h1>Sign-in error</h1>"
        f"<p>{html.escape(message)}</p></body></html>"
    )
    return html_response(page, 400)


# -- API host: bearer tokens, rate limit, permissions ---------------------------------------------


def bearer_value(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return None


def authenticate(sim: GenesysSimulator, request: Request) -> Token | Response:
    value = bearer_value(request)
    if value is None:
        return errors.error_body(401, "authentication.required")
    token = sim.state.tokens.get(value)
    if token is None or token.expires_at <= sim.clock.now():
        return errors.error_body(401, "bad.credentials")
    client = sim.state.clients.get(token.client_id)
    if client is None or client["state"] != "active":
        return errors.error_body(401, "bad.credentials")
    if token.user_id and sim.state.users.get(token.user_id, {}).get("state") != "active":
        return errors.error_body(401, "bad.credentials")
    return _rate_limit(sim, token) or token


def _rate_limit(sim: GenesysSimulator, token: Token) -> Response | None:
    limit = int(sim.options["rate_limit_per_minute"])
    if limit <= 0:
        return None
    now = sim.clock.now()
    window = sim.state.request_times.setdefault(token.value, deque())
    while window and window[0] <= now - 60:
        window.popleft()
    if len(window) >= limit:
        retry_after = max(1, math.ceil(window[0] + 60 - now))
        key = "org.app.user.rate.per.minute" if token.user_id else "client.credentials.token.rate.per.minute"
        return errors.rate_limited(retry_after, key=key)
    window.append(now)
    return None


def permission_granted(granted: list[str], wanted: str) -> bool:
    wanted_parts = wanted.split(":")
    for permission in granted:
        parts = permission.split(":")
        if len(parts) == len(wanted_parts) and all(
            p in ("*", w) for p, w in zip(parts, wanted_parts, strict=True)
        ):
            return True
    return False


def require(sim: GenesysSimulator, token: Token, permission: str) -> Response | None:
    if token.user_id:
        granted = sim.state.users[token.user_id].get("permissions", [])
    else:
        granted = sim.state.clients[token.client_id]["permissions"]
    return None if permission_granted(granted, permission) else errors.missing_permissions(permission)

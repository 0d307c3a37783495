"""What the pages inside Genesys Cloud need besides rendering: reading the query Genesys built from
our URL (untrusted), the sign-in state and one-time tickets in Redis, and the embedded session.

The sign-in is authorization code + PKCE. The verifier and the query values travel in Redis under a
random `state` id (the redirect through the Genesys login loses the iframe's query). In popup mode
the popup is a top-level window whose cookies live outside the iframe's partition, so it hands the
iframe a one-time ticket instead of a session.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from litestar import Request

from web.auth import SESSION_USER_KEY, sign_in
from web.db.tables import User
from web.security import SESSION_FRAME_KEY

STATE_TTL_SECONDS = 600
TICKET_TTL_SECONDS = 60
# Session keys of an embedded sign-in: the app it is for and who may frame its pages.
SESSION_APP_KEY = "genesys_app"

MY_SCHEDULES_PATH = "/genesys/my-schedules"
WIDGET_PATH = "/genesys/widget"
CALLBACK_PATH = "/genesys/auth/callback"

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_TARGET_ENV = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_LANG = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8}){0,3}$")
_CONVERSATION = re.compile(r"^[0-9A-Za-z-]{1,64}$")
_WEEK = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class InvalidLink(Exception):
    """The query is missing a value or carries one we do not accept."""


@dataclass(frozen=True)
class EmbeddedQuery:
    app: str  # the video app's public id
    host_origin: str  # gcHostOrigin: the Genesys agent UI that frames us
    target_env: str = ""
    lang: str = ""
    popup: bool = False
    conversation_id: str = ""  # the widget's conversation
    week: str = ""  # the agenda week the agent was looking at


def _value(params: Mapping[str, Any], *names: str) -> str:
    """The first given of several names; a placeholder Genesys left unfilled counts as absent."""
    for name in names:
        value = params.get(name)
        if isinstance(value, list):
            value = value[0] if value else None
        if value is None:
            continue
        value = str(value).strip()
        if value.startswith("{{") and value.endswith("}}"):
            continue
        if value:
            return value
    return ""


def _origin(value: str) -> str:
    """`scheme://host[:port]` exactly, else InvalidLink (paths, queries and userinfo are forged)."""
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise InvalidLink("bad gcHostOrigin") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        raise InvalidLink("bad gcHostOrigin")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise InvalidLink("bad gcHostOrigin")
    host = parts.hostname.lower()
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def parse_query(params: Mapping[str, Any], *, widget: bool = False) -> EmbeddedQuery:
    """Check every value Genesys put in our URL; raise InvalidLink for anything odd."""
    app = _value(params, "app")
    if not _UUID.match(app):
        raise InvalidLink("bad app")
    origin = _value(params, "gcHostOrigin")
    if not origin:
        raise InvalidLink("no gcHostOrigin")
    target_env = _value(params, "gcTargetEnv", "pcEnvironment")
    if target_env and not _TARGET_ENV.match(target_env.lower()):
        raise InvalidLink("bad gcTargetEnv")
    lang = _value(params, "gcLangTag", "lang", "pcLangTag")
    if lang and not _LANG.match(lang):
        raise InvalidLink("bad language")
    popup = _value(params, "gcUsePopupAuth", "usePopupAuth", "pcUsePopupAuth").lower()
    if popup not in ("", "true", "false"):
        raise InvalidLink("bad gcUsePopupAuth")
    conversation = _value(params, "conversationId", "gcConversationId")
    if widget and not _CONVERSATION.match(conversation):
        raise InvalidLink("bad conversationId")
    week = _value(params, "week")
    if week and not _WEEK.match(week):
        week = ""
    return EmbeddedQuery(
        app=app.lower(),
        host_origin=_origin(origin),
        target_env=target_env.lower(),
        lang=lang,
        popup=popup == "true",
        conversation_id=conversation if widget else "",
        week=week,
    )


def page_url(query: EmbeddedQuery, *, widget: bool = False) -> str:
    """Our own URL for the page `query` describes (where a finished sign-in returns)."""
    params = {"app": query.app, "gcHostOrigin": query.host_origin}
    if widget:
        params = {"conversationId": query.conversation_id, **params}
    if query.target_env:
        params["gcTargetEnv"] = query.target_env
    if query.lang:
        params["gcLangTag"] = query.lang
    params["gcUsePopupAuth"] = "true" if query.popup else "false"
    if query.week and not widget:
        params["week"] = query.week
    return f"{WIDGET_PATH if widget else MY_SCHEDULES_PATH}?{urlencode(params)}"


def origin_allowed(origin: str, apps_origin: str, extra: tuple[str, ...] | list[str]) -> bool:
    """gcHostOrigin must be the tenant's Genesys agent UI or an origin the operator configured."""
    return origin == apps_origin.rstrip("/") or origin in {o.rstrip("/") for o in extra}


# ---- sign-in state and tickets in Redis ------------------------------------------------------------


def _key(request: Request, kind: str, token: str) -> str:
    return f"{request.app.state.settings.instance}:genesys:{kind}:{token}"


async def save_state(request: Request, query: EmbeddedQuery, *, widget: bool, verifier: str) -> str:
    state_id = secrets.token_urlsafe(24)
    data = {"query": asdict(query), "widget": widget, "verifier": verifier}
    await request.app.state.redis.set(
        _key(request, "state", state_id), json.dumps(data), ex=STATE_TTL_SECONDS
    )
    return state_id


async def _take(request: Request, kind: str, token: str) -> dict[str, Any] | None:
    if not token or len(token) > 200:
        return None
    raw = await request.app.state.redis.getdel(_key(request, kind, token))
    return json.loads(raw) if raw else None


async def take_state(request: Request, state_id: str) -> tuple[EmbeddedQuery, bool, str] | None:
    """(query, widget?, verifier) once; None when unknown, expired or already used."""
    data = await _take(request, "state", state_id)
    if data is None:
        return None
    return EmbeddedQuery(**data["query"]), bool(data["widget"]), data["verifier"]


async def save_ticket(
    request: Request, user_id: int, query: EmbeddedQuery, *, widget: bool, origins: list[str]
) -> str:
    ticket = secrets.token_urlsafe(24)
    data = {"user_id": user_id, "query": asdict(query), "widget": widget, "origins": origins}
    await request.app.state.redis.set(
        _key(request, "ticket", ticket), json.dumps(data), ex=TICKET_TTL_SECONDS
    )
    return ticket


async def take_ticket(request: Request, ticket: str) -> dict[str, Any] | None:
    data = await _take(request, "ticket", ticket)
    if data is not None:
        data["query"] = EmbeddedQuery(**data["query"])
    return data


# ---- the embedded session --------------------------------------------------------------------------


def start_session(request: Request, user: User, app_public_id: str, origins: list[str]) -> None:
    """Sign the agent in for this app's embedded pages (a fresh session)."""
    sign_in(request, user)
    request.scope["session"][SESSION_APP_KEY] = app_public_id
    request.scope["session"][SESSION_FRAME_KEY] = origins


async def session_user(request: Request, app_public_id: str) -> User | None:
    """The signed-in user when the session is an embedded one for this app."""
    session = request.scope.get("session") or {}
    if session.get(SESSION_APP_KEY) != app_public_id or session.get(SESSION_USER_KEY) is None:
        return None
    return await User.objects().get(User.id == session[SESSION_USER_KEY])

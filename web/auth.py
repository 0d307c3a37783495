"""Console accounts: who is signed in, who may see what, and sign-in throttling."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from web.db.tables import User
from web.passwords import hash_password, verify_password

SESSION_USER_KEY = "uid"

# Paths that do their own authentication (bearer tokens, room tokens, Genesys sign-in) or none.
AUTH_EXCLUDE = [
    r"^/static/",
    r"^/healthz$",
    r"^/readyz$",
    r"^/metrics$",
    r"^/login$",
    r"^/api/",
    r"^/oauth/",
    r"^/schema",
    r"^/rooms/",
    r"^/confirm/",
    r"^/genesys/",
]

LOGIN_ATTEMPTS_PER_WINDOW = 5
LOGIN_WINDOW_SECONDS = 300


async def retrieve_user(session: dict[str, Any], connection: ASGIConnection) -> User | None:
    user_id = session.get(SESSION_USER_KEY)
    if user_id is None:
        return None
    return await User.objects().get(User.id == user_id)


async def authenticate(email: str, password: str) -> User | None:
    user = await User.objects().get(User.email == normalize_email(email))
    # Verify even for unknown emails so timing does not reveal which accounts exist.
    ok = verify_password(user.password_hash if user else None, password)
    return user if user and ok else None


async def create_user(email: str, password: str, *, name: str = "", superuser: bool = False) -> User:
    email = normalize_email(email)
    user = await User.objects().get(User.email == email)
    if user is None:
        user = User(email=email)
    user.name = name or user.name or email.split("@")[0]
    user.password_hash = hash_password(password)
    user.is_superuser = superuser or user.is_superuser
    await user.save()
    return user


def normalize_email(email: str) -> str:
    return email.strip().lower()


def sign_in(connection: ASGIConnection, user: User) -> None:
    connection.set_session({SESSION_USER_KEY: user.id})


def sign_out(connection: ASGIConnection) -> None:
    connection.clear_session()


async def login_attempts_exceeded(connection: ASGIConnection, email: str) -> int:
    """Count this attempt; return seconds to wait when over the limit, else 0."""
    app = connection.app
    client = connection.client.host if connection.client else "unknown"
    key = f"{app.state.settings.instance}:login:{client}:{normalize_email(email)}"
    redis = app.state.redis
    count = await redis.incr(key)
    if count == 1:
        await redis.expire(key, LOGIN_WINDOW_SECONDS)
    if count > LOGIN_ATTEMPTS_PER_WINDOW:
        return max(int(await redis.ttl(key)), 1)
    return 0


async def clear_login_attempts(connection: ASGIConnection, email: str) -> None:
    client = connection.client.host if connection.client else "unknown"
    await connection.app.state.redis.delete(
        f"{connection.app.state.settings.instance}:login:{client}:{normalize_email(email)}"
    )


def requires_login(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    if not isinstance(connection.scope.get("user"), User):
        raise NotAuthorizedException()


def requires_superuser(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    requires_login(connection, _)
    if not connection.user.is_superuser:
        raise PermissionDeniedException("Only console administrators can open this page.")

"""One frozen Settings object, read from the environment once at start."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PUNCTUAL_VAR_DIR", Path.cwd() / "var"))
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it and says why."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str
    secret_key: str = field(repr=False)
    public_url: str
    log_level: str = "INFO"
    # True when REDIS_URL was not given: the app may start a private Redis when nothing answers.
    redis_is_default: bool = False
    # Origins allowed to frame embedded pages besides the tenant's Genesys apps origin (demo/test).
    extra_frame_ancestors: tuple[str, ...] = ()
    # Cookies marked Secure; off only for plain-http local development.
    secure_cookies: bool = False
    debug: bool = False
    # Names the saq queue and prefixes every Redis key, so several instances can share one Redis.
    instance: str = "punctual"
    # How long a stopping worker lets running jobs finish before cancelling them (they are retried).
    worker_grace_seconds: float = 10.0
    # Bearer token a Prometheus scraper sends to /metrics (administrators' sessions work too).
    metrics_token: str = field(default="", repr=False)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sqlite_path(self) -> str:
        return sqlite_path(self.database_url)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        database_url = database_url_from_env(env)
        _check_database_url(database_url)
        redis_url = env.get("REDIS_URL") or DEFAULT_REDIS_URL
        _check_redis_url(redis_url)
        secret_key = env.get("SECRET_KEY") or _local_secret_key()
        if len(secret_key) < 16:
            raise SettingsError("SECRET_KEY must be at least 16 characters long")
        public_url = (env.get("PUBLIC_URL") or "http://127.0.0.1:8000").rstrip("/")
        parsed = urlparse(public_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise SettingsError(f"PUBLIC_URL must be an absolute http(s) URL, got {public_url!r}")
        log_level = (env.get("LOG_LEVEL") or "INFO").upper()
        if log_level not in LOG_LEVELS:
            raise SettingsError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {log_level!r}")
        frame = tuple(o.strip() for o in env.get("PUNCTUAL_FRAME_ANCESTORS", "").split() if o.strip())
        return cls(
            database_url=database_url,
            redis_url=redis_url,
            secret_key=secret_key,
            public_url=public_url,
            log_level=log_level,
            redis_is_default=not env.get("REDIS_URL"),
            extra_frame_ancestors=frame,
            secure_cookies=parsed.scheme == "https",
            debug=env.get("PUNCTUAL_DEBUG") == "1",
            instance=env.get("PUNCTUAL_INSTANCE") or "punctual",
            metrics_token=env.get("PUNCTUAL_METRICS_TOKEN", ""),
        )

    def configure_logging(self) -> None:
        from web import logs

        logs.configure(self.log_level)


def database_url_from_env(env: dict[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return env.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'punctual.sqlite'}"


def sqlite_path(url: str) -> str:
    # sqlite:///relative/or/absolute -> the path after the third slash (absolute keeps its own slash).
    return url.split("sqlite:///", 1)[1]


def _check_database_url(url: str) -> None:
    if url.startswith("sqlite:///") and sqlite_path(url):
        return
    if url.startswith(("postgresql://", "postgres://")) and urlparse(url).hostname:
        return
    raise SettingsError(
        f"DATABASE_URL must look like sqlite:///path/to/file.sqlite or postgresql://user@host/db, got {url!r}"
    )


def _check_redis_url(url: str) -> None:
    parsed = urlparse(url)
    if parsed.scheme not in ("redis", "rediss") or not parsed.hostname:
        raise SettingsError(f"REDIS_URL must look like redis://host:port/db, got {url!r}")


def _local_secret_key() -> str:
    """Embedded mode: keep a random key under ./var so sessions and encrypted secrets survive restarts."""
    path = VAR_DIR / "secret_key"
    if path.exists():
        return path.read_text().strip()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key

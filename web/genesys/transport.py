"""The HTTP layer under the Genesys client: tokens, retries and error mapping for every call.

Every request goes through `GenesysTransport._request`, which applies the retry policy of spec §E3
and turns failures into the typed errors of `web.genesys.errors`. Credentials travel with each
call, so one instance serves every tenant and region (or the simulator: only base URLs differ).
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import random
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Self

import httpx

from web.genesys.errors import GenesysError, RateLimited, Transient
from web.genesys.regions import resolve_region
from web.genesys.responses import correlation_id, error_from_response, parse_json, region_hint
from web.genesys.tokens import TokenCache, secret_fingerprint

log = logging.getLogger("web.genesys.client")

# Connect 5 s, read 16 s (the official SDKs' timeout).
DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=16.0, write=16.0, pool=10.0)
# httpcore checks every connection of a pool on each request and each response (a socket call
# apiece), so with the fifty connections of a burst in one pool that check costs more CPU than
# the request itself. Requests take turns over several small pools instead: together they hold
# as many connections as one large pool (200, 96 kept alive) for bursts of concurrent sends.
POOL_COUNT = 8
POOL_LIMITS = httpx.Limits(max_connections=25, max_keepalive_connections=12)

MAX_RETRY_WAIT_SECONDS = 60.0  # a longer Retry-After is left to the caller (re-enqueue the job)
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 8.0
RATE_LIMIT_JITTER_SECONDS = 0.5


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every pool: building one loads the CA bundle (tens of milliseconds)."""
    return httpx.create_ssl_context()


@dataclass(frozen=True)
class GenesysCredentials:
    client_id: str
    client_secret: str = field(repr=False)
    login_base_url: str
    api_base_url: str

    @classmethod
    def for_region(
        cls,
        region_value: str,
        client_id: str,
        client_secret: str,
        login_base_url: str | None = None,
        api_base_url: str | None = None,
    ) -> GenesysCredentials:
        """Hosts from the region table; explicit base URLs (simulator, gateway) win."""
        region = resolve_region(region_value)
        return cls(
            client_id=client_id,
            client_secret=client_secret,
            login_base_url=(login_base_url or region.login_base_url).rstrip("/"),
            api_base_url=(api_base_url or region.api_base_url).rstrip("/"),
        )


@dataclass(frozen=True)
class _Reply:
    status: int
    body: Any
    correlation_id: str | None


class GenesysTransport:
    def __init__(
        self,
        http: httpx.AsyncClient | None = None,
        *,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        max_attempts: int = 4,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._owns_http = http is None
        self._pools = (
            [http]
            if http is not None
            else [
                httpx.AsyncClient(timeout=DEFAULT_TIMEOUT, limits=POOL_LIMITS, verify=_tls())
                for _ in range(POOL_COUNT)
            ]
        )
        self._turns = itertools.cycle(self._pools)
        self._sleep = sleep
        self._clock = clock
        self._jitter = jitter  # a number in [0, 1); tests pin it to make delays exact
        self.max_attempts = max_attempts
        self._tokens = TokenCache(clock)

    async def aclose(self) -> None:
        if self._owns_http:
            for pool in self._pools:
                await pool.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # ---- tokens -----------------------------------------------------------------------------

    def invalidate_token(self, creds: GenesysCredentials) -> None:
        self._tokens.drop((creds.login_base_url, creds.client_id))

    async def _access_token(self, creds: GenesysCredentials, attempts: int) -> str:
        key = (creds.login_base_url, creds.client_id)
        fingerprint = secret_fingerprint(creds.client_secret)
        token = self._tokens.fresh(key, fingerprint)
        if token:
            return token
        # One caller fetches; the others wait on the lock and then find the new token.
        async with self._tokens.lock(key):
            token = self._tokens.fresh(key, fingerprint)
            if token:
                return token
            try:
                reply = await self._request(
                    "POST",
                    creds.login_base_url,
                    "/oauth/token",
                    form={"grant_type": "client_credentials"},
                    basic_auth=(creds.client_id, creds.client_secret),
                    oauth=True,
                    attempts=attempts,
                )
            except GenesysError as exc:
                still_valid = self._tokens.usable(key, fingerprint)
                if still_valid and not exc.permanent:
                    log.warning("genesys token refresh failed (%s); using the current token", exc)
                    return still_valid
                raise
            access_token, expires_in = read_token_response(reply, creds.login_base_url)
            self._tokens.store(key, fingerprint, access_token, expires_in)
            return access_token

    # ---- the one request wrapper --------------------------------------------------------------

    async def _request(
        self,
        method: str,
        base_url: str,
        path: str,
        *,
        creds: GenesysCredentials | None = None,
        bearer: str | None = None,
        params: Any = None,
        json_body: Any = None,
        form: dict[str, str] | None = None,
        basic_auth: tuple[str, str] | None = None,
        oauth: bool = False,
        attempts: int | None = None,
        replay_safe: bool | None = None,
    ) -> _Reply:
        """Send with retries. `replay_safe`: may the request be sent again when we cannot tell
        whether Genesys applied it (read timeout, dropped connection, 502/504)? Defaults to True
        except for POST."""
        limit = max(1, attempts or self.max_attempts)
        safe = (method != "POST") if replay_safe is None else replay_safe
        url = base_url.rstrip("/") + path
        region = region_hint(base_url)
        attempt = 0
        reauthenticated = False
        while True:
            attempt += 1
            headers = {"Accept": "application/json"}
            token = None
            if creds is not None:
                token = await self._access_token(creds, limit)
                headers["Authorization"] = f"Bearer {token}"
            elif bearer is not None:
                headers["Authorization"] = f"Bearer {bearer}"
            started = self._clock()
            error: GenesysError
            retryable: bool
            try:
                response = await next(self._turns).request(
                    method, url, params=params, json=json_body, data=form, headers=headers, auth=basic_auth
                )
            except httpx.TimeoutException as exc:
                # A connect timeout never reached Genesys; a read timeout may have been applied.
                unsent = isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout)
                error = Transient(f"timed out ({type(exc).__name__})", region=region, path=path)
                retryable = unsent or safe
                self._log(method, path, "timeout", None, attempt, limit, started)
            except httpx.TransportError as exc:
                unsent = isinstance(exc, httpx.ConnectError)
                error = Transient(f"connection failed ({type(exc).__name__})", region=region, path=path)
                retryable = unsent or safe
                self._log(method, path, "no response", None, attempt, limit, started)
            else:
                correlation = correlation_id(response)
                self._log(method, path, response.status_code, correlation, attempt, limit, started)
                status = response.status_code
                if 200 <= status < 300:
                    try:
                        return _Reply(status, parse_json(response), correlation)
                    except ValueError:
                        error = Transient(
                            "the response was not valid JSON",
                            status=status,
                            correlation_id=correlation,
                            region=region,
                            path=path,
                        )
                        retryable = safe
                elif status == 401 and creds is not None and not reauthenticated:
                    # The token was revoked or expired early: one fresh token, one more try.
                    # Genesys did not process a 401, so this does not use up an attempt.
                    self._tokens.drop((creds.login_base_url, creds.client_id), token)
                    reauthenticated = True
                    attempt -= 1
                    continue
                else:
                    error = error_from_response(response, oauth=oauth, region=region, path=path)
                    retryable = status in (429, 503) or (status in (502, 504) and safe)
            delay = self._retry_delay(error, attempt) if retryable else None
            if delay is None or attempt >= limit:
                raise error
            log.info("genesys %s %s retry in %.1f s after %s", method, path, delay, type(error).__name__)
            await self._sleep(delay)

    def _retry_delay(self, error: GenesysError, attempt: int) -> float | None:
        if error.retry_after is not None:
            if error.retry_after > MAX_RETRY_WAIT_SECONDS:
                return None  # too long to wait in-process; the caller reschedules
            return min(error.retry_after + self._jitter() * RATE_LIMIT_JITTER_SECONDS, MAX_RETRY_WAIT_SECONDS)
        if isinstance(error, RateLimited | Transient):
            # Exponential backoff with full jitter: uniform in [0, base * 2^(attempt-1)], capped.
            ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
            return self._jitter() * ceiling
        return None

    def _log(
        self,
        method: str,
        path: str,
        status: int | str,
        correlation: str | None,
        attempt: int,
        limit: int,
        started: float,
    ) -> None:
        ok = isinstance(status, int) and status < 400
        log.log(
            logging.DEBUG if ok else logging.INFO,
            "genesys %s %s -> %s (correlation %s, attempt %d/%d, %.0f ms)",
            method,
            path,
            status,
            correlation or "-",
            attempt,
            limit,
            (self._clock() - started) * 1000,
        )


def read_token_response(reply: _Reply, login_base_url: str) -> tuple[str, float]:
    body = reply.body if isinstance(reply.body, dict) else {}
    access_token = body.get("access_token")
    expires_in = body.get("expires_in")
    if not isinstance(access_token, str) or not access_token or not isinstance(expires_in, int | float):
        raise Transient(
            "the token response lacked access_token or expires_in",
            status=reply.status,
            correlation_id=reply.correlation_id,
            region=region_hint(login_base_url),
            path="/oauth/token",
        )
    return access_token, float(expires_in)

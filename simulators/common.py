"""Machinery shared by the simulators: clock, request log, fault rules and the `/__sim/` control API.

A concrete simulator subclasses `SimulatorApp`, registers its routes on `self.router` and fills in
the hooks (`reset_state`, `seed`, `dump_state`, `error`, `fault_response`).
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from simulators.asgi import (
    Request,
    Response,
    Router,
    json_response,
    read_request,
    send_response,
)

log = logging.getLogger("simulators")

CONTROL_PREFIX = "/__sim/"
FAULT_HEADER = "x-sim-fault"

# Actions every simulator understands; each simulator adds its own (see `fault_actions`).
TRANSPORT_ACTIONS = {"latency", "timeout_then_success", "drop_connection", "malformed_json"}


class SimClock:
    """Wall-clock time plus an offset that the control API can move forward."""

    def __init__(self, now: Callable[[], float] | None = None) -> None:
        self._wall = now or (lambda: datetime.now(UTC).timestamp())
        self.offset_seconds = 0.0

    def now(self) -> float:
        return self._wall() + self.offset_seconds

    def now_dt(self) -> datetime:
        return datetime.fromtimestamp(self.now(), UTC)

    def advance(self, seconds: float) -> None:
        self.offset_seconds += seconds


def iso_micro(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def iso_millis(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class RequestLog:
    """Every request received outside `/__sim/`, oldest first."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def record(self, request: Request, status: int | None, received_at: float) -> None:
        self.entries.append(
            {
                "method": request.method,
                "path": request.path,
                "query": {k: v if len(v) > 1 else v[0] for k, v in request.query.items()},
                "headers": dict(request.headers),
                "body": request.body_for_log(),
                "received_at": iso_micro(received_at),
                "status": status,
            }
        )

    def matching(self, path_regex: str | None) -> list[dict[str, Any]]:
        if not path_regex:
            return list(self.entries)
        pattern = re.compile(path_regex)
        return [entry for entry in self.entries if pattern.search(entry["path"])]

    def clear(self) -> None:
        self.entries.clear()


@dataclass
class Fault:
    action: str
    args: dict[str, Any] = field(default_factory=dict)

    def number(self, name: str, default: float) -> float:
        value = self.args.get(name, default)
        return float(value)


@dataclass
class FaultRule:
    id: str
    action: str
    match: dict[str, Any]
    args: dict[str, Any]
    times: int | None = None
    probability: float | None = None
    hits: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "action": self.action,
            "match": self.match,
            "times": self.times,
            "probability": self.probability,
            "hits": self.hits,
            **self.args,
        }


class FaultSpecError(ValueError):
    pass


class FaultRules:
    """Rules `{match, action, times | probability, ...args}` checked before normal handling.

    A rule without `times` or `probability` applies to every matching request until removed.
    """

    RULE_KEYS = {"match", "action", "times", "probability"}
    MATCH_KEYS = {"method", "path_regex", "host", "client_id", "org_id"}

    def __init__(self, actions: set[str], seed: int = 0) -> None:
        self.actions = actions
        self.rules: list[FaultRule] = []
        self.random = random.Random(seed)

    def add(self, spec: Any) -> FaultRule:
        if not isinstance(spec, dict):
            raise FaultSpecError("a fault rule is a JSON object")
        action = spec.get("action")
        if action not in self.actions:
            raise FaultSpecError(f"unknown action {action!r}; known: {sorted(self.actions)}")
        match = spec.get("match") or {}
        if not isinstance(match, dict) or set(match) - self.MATCH_KEYS:
            raise FaultSpecError(f"match takes only {sorted(self.MATCH_KEYS)}")
        if "path_regex" in match:
            try:
                re.compile(match["path_regex"])
            except re.error as exc:
                raise FaultSpecError(f"bad path_regex: {exc}") from exc
        times = spec.get("times")
        probability = spec.get("probability")
        if times is not None and (not isinstance(times, int) or times < 1):
            raise FaultSpecError("times must be a positive integer")
        if probability is not None and not (isinstance(probability, int | float) and 0 <= probability <= 1):
            raise FaultSpecError("probability must be between 0 and 1")
        args = {k: v for k, v in spec.items() if k not in self.RULE_KEYS}
        rule = FaultRule(uuid.uuid4().hex[:12], action, match, args, times, probability)
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        self.rules.clear()

    def pick(self, request: Request, context: dict[str, Any]) -> Fault | None:
        """The first matching rule that fires for this request (consuming one of its `times`)."""
        for rule in list(self.rules):
            if not self._matches(rule.match, request, context):
                continue
            if rule.probability is not None and self.random.random() >= rule.probability:
                continue
            rule.hits += 1
            if rule.times is not None and rule.hits >= rule.times:
                self.rules.remove(rule)
            return Fault(rule.action, dict(rule.args))
        return None

    @staticmethod
    def _matches(match: dict[str, Any], request: Request, context: dict[str, Any]) -> bool:
        if "method" in match and str(match["method"]).upper() != request.method:
            return False
        if "path_regex" in match and not re.search(match["path_regex"], request.path):
            return False
        return all(match[key] == context.get(key) for key in ("host", "client_id", "org_id") if key in match)


def parse_fault_header(value: str) -> Fault:
    """`X-Sim-Fault: rate_limit; retry_after=5` -> Fault("rate_limit", {"retry_after": "5"})."""
    action, *params = [part.strip() for part in value.split(";")]
    args: dict[str, Any] = {}
    for param in params:
        if "=" in param:
            key, raw = param.split("=", 1)
            args[key.strip()] = raw.strip()
    return Fault(action, args)


class ConfigError(ValueError):
    pass


class SimulatorApp:
    """ASGI app with the `/__sim/` control API, request log, clock and fault injection."""

    fault_actions: set[str] = TRANSPORT_ACTIONS
    default_options: dict[str, Any] = {}

    def __init__(self, fixture: dict | None, *, strict: bool = True, **options: Any) -> None:
        unknown = set(options) - set(self.default_options)
        if unknown:
            raise TypeError(f"unknown simulator options: {sorted(unknown)}")
        self.strict = strict
        self.options: dict[str, Any] = {**self.default_options, **options}
        self.clock = SimClock()
        self.requests = RequestLog()
        self.faults = FaultRules(self.fault_actions, seed=int(self.options.get("fault_seed", 0)))
        self.router = Router()
        self.control = Router()
        self._add_control_routes()
        self.reset_state()
        if fixture:
            self.seed(fixture)

    # -- hooks for concrete simulators ---------------------------------------------------------

    def reset_state(self) -> None:
        raise NotImplementedError

    def seed(self, fixture: dict) -> None:
        raise NotImplementedError

    def dump_state(self) -> dict[str, Any]:
        raise NotImplementedError

    def error(self, status: int, code: str, message: str, **extra: Any) -> Response:
        """An error response in the simulated service's own shape."""
        return json_response({"status": status, "code": code, "message": message, **extra}, status)

    def fault_context(self, request: Request) -> dict[str, Any]:
        """Facts about the request that fault rules may match on (host, client_id, org_id)."""
        return {}

    async def fault_response(self, request: Request, fault: Fault) -> Response | None:
        """Answer for a service-specific fault, or None to carry on with normal handling."""
        return self.error(500, "unknown.fault", f"fault {fault.action} is not handled here")

    def decorate(self, request: Request, response: Response) -> Response:
        """Last touch on every non-control response (e.g. correlation headers)."""
        return response

    # -- configuration --------------------------------------------------------------------------

    def configure(self, updates: dict[str, Any]) -> None:
        updates = dict(updates)
        unknown = set(updates) - set(self.default_options) - {"strict"}
        if unknown:
            raise ConfigError(f"unknown options: {sorted(unknown)}")
        if "strict" in updates:
            self.strict = bool(updates.pop("strict"))
        self.options.update(updates)

    # -- ASGI -------------------------------------------------------------------------------------

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = await read_request(scope, receive)
        if request.path.startswith(CONTROL_PREFIX):
            response = await self._dispatch(self.control, request)
            await send_response(send, response)
            return
        await self._serve(request, receive, send)

    async def _serve(self, request: Request, receive: Callable, send: Callable) -> None:
        received_at = self.clock.now()
        fault = self._fault_for(request)
        hang_after_ms = 0.0
        response: Response | None = None
        if fault is not None:
            if fault.action == "latency":
                await asyncio.sleep(self._latency_seconds(fault))
            elif fault.action == "drop_connection":
                self.requests.record(request, None, received_at)
                await self._drop(receive)
                return
            elif fault.action == "malformed_json":
                content_type = str(fault.args.get("content_type", "application/json"))
                response = Response(200, b'{"entities": [{"id": ', [("Content-Type", content_type)])
            elif fault.action == "timeout_then_success":
                hang_after_ms = fault.number("ms", 20_000)
            else:
                response = await self.fault_response(request, fault)
        if response is None:
            response = await self._dispatch(self.router, request)
        response = self.decorate(request, response)
        self.requests.record(request, response.status, received_at)
        if hang_after_ms:
            # The work is done (side effects applied); the caller just never hears about it in time.
            await asyncio.sleep(hang_after_ms / 1000)
        await send_response(send, response)

    def _fault_for(self, request: Request) -> Fault | None:
        header = request.headers.get(FAULT_HEADER)
        if header:
            fault = parse_fault_header(header)
            if fault.action in self.fault_actions:
                return fault
        if not self.faults.rules:
            return None
        return self.faults.pick(request, self.fault_context(request))

    def _latency_seconds(self, fault: Fault) -> float:
        low = fault.number("ms", 1000)
        high = fault.number("ms_max", low)
        return self.faults.random.uniform(low, max(low, high)) / 1000

    async def _drop(self, receive: Callable) -> None:
        """Close the socket without a byte of response."""
        transport = getattr(getattr(receive, "__self__", None), "transport", None)
        if transport is None:
            # In-process (httpx.ASGITransport): raise what httpx raises for a real dropped socket.
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        transport.close()
        # Let uvicorn notice the closed connection so it does not try to answer with a 500.
        for _ in range(3):
            await asyncio.sleep(0)

    async def _dispatch(self, router: Router, request: Request) -> Response:
        handler, params, path_known = router.match(request.method, request.path)
        if handler is None:
            if path_known:
                return self.error(405, "method.not.allowed", f"{request.method} is not allowed here")
            return self.error(404, "not.found", "The requested resource was not found.")
        request.path_params = params
        try:
            return await handler(request)
        except Exception:
            log.exception("simulator handler failed: %s %s", request.method, request.path)
            return self.error(500, "internal.server.error", "The server encountered an unexpected error.")

    async def _lifespan(self, receive: Callable, send: Callable) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    # -- control API ------------------------------------------------------------------------------

    def _add_control_routes(self) -> None:
        add = self.control.add
        add("POST", "/__sim/reset", self._control_reset)
        add("POST", "/__sim/seed", self._control_seed)
        add("GET", "/__sim/state", self._control_state)
        add("GET", "/__sim/requests", self._control_requests)
        add("DELETE", "/__sim/requests", self._control_clear_requests)
        add("GET", "/__sim/faults", self._control_list_faults)
        add("POST", "/__sim/faults", self._control_add_fault)
        add("DELETE", "/__sim/faults", self._control_clear_faults)
        add("GET", "/__sim/clock", self._control_get_clock)
        add("POST", "/__sim/clock", self._control_clock)
        add("GET", "/__sim/config", self._control_get_config)
        add("POST", "/__sim/config", self._control_config)

    def reset(self) -> None:
        self.reset_state()
        self.faults.clear()
        self.requests.clear()

    async def _control_reset(self, request: Request) -> Response:
        self.reset()
        return json_response({"ok": True})

    async def _control_seed(self, request: Request) -> Response:
        try:
            fixture = request.json()
        except ValueError:
            return json_response({"error": "the fixture must be JSON"}, 400)
        if not isinstance(fixture, dict):
            return json_response({"error": "the fixture must be a JSON object"}, 400)
        try:
            self.seed(fixture)
        except (KeyError, TypeError, ValueError) as exc:
            return json_response({"error": f"invalid fixture: {exc}"}, 400)
        return json_response({"ok": True})

    async def _control_state(self, request: Request) -> Response:
        return json_response(self.dump_state())

    async def _control_requests(self, request: Request) -> Response:
        try:
            return json_response(self.requests.matching(request.query_value("path")))
        except re.error as exc:
            return json_response({"error": f"bad path regex: {exc}"}, 400)

    async def _control_clear_requests(self, request: Request) -> Response:
        self.requests.clear()
        return json_response({"ok": True})

    async def _control_list_faults(self, request: Request) -> Response:
        return json_response([rule.as_dict() for rule in self.faults.rules])

    async def _control_add_fault(self, request: Request) -> Response:
        try:
            rule = self.faults.add(request.json())
        except (ValueError, FaultSpecError) as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response(rule.as_dict(), 201)

    async def _control_clear_faults(self, request: Request) -> Response:
        self.faults.clear()
        return json_response({"ok": True})

    async def _control_get_clock(self, request: Request) -> Response:
        return json_response(
            {"now": iso_micro(self.clock.now()), "offset_seconds": self.clock.offset_seconds}
        )

    async def _control_clock(self, request: Request) -> Response:
        try:
            seconds = float((request.json() or {})["advance_seconds"])
        except (ValueError, KeyError, TypeError):
            return json_response({"error": 'send {"advance_seconds": n}'}, 400)
        self.clock.advance(seconds)
        return await self._control_get_clock(request)

    async def _control_get_config(self, request: Request) -> Response:
        return json_response({**self.options, "strict": self.strict})

    async def _control_config(self, request: Request) -> Response:
        try:
            updates = request.json()
            if not isinstance(updates, dict):
                raise ConfigError("send a JSON object of options")
            self.configure(updates)
        except (ValueError, ConfigError) as exc:
            return json_response({"error": str(exc)}, 400)
        return await self._control_get_config(request)

"""Jinja filters and globals shared by every template."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from litestar.plugins.jinja import JinjaTemplateEngine

from web.scheduling.timeutil import hh_mm


def localtime(value: datetime | None, tz: str | None = None, fmt: str = "%a %d %b %Y, %H:%M") -> str:
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(tz or "UTC"))
    return hh_mm(local) if fmt == "%H:%M" else local.strftime(fmt)


def configure(engine: JinjaTemplateEngine) -> None:
    env = engine.engine
    env.filters["localtime"] = localtime
    env.globals["HTMX"] = "vendor/htmx-2.0.11.min.js"
    env.globals["HTMX_SSE"] = "vendor/htmx-ext-sse-2.2.4.min.js"

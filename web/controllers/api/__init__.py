"""The public REST API: `POST /oauth/token` and `/api/v1/video/{appId}/...` (docs/api.md)."""

from __future__ import annotations

from litestar import Router
from litestar.di import Provide
from litestar.exceptions import ValidationException

from web.controllers.api import availability, calls, oauth
from web.controllers.api.access import ApiAccessMiddleware, provide_caller, validation_error

_handlers = {ValidationException: validation_error}

v1 = Router(
    "/api/v1/video/{appId:str}",
    route_handlers=[*calls.ROUTES, *availability.ROUTES],
    middleware=[ApiAccessMiddleware()],
    dependencies={"caller": Provide(provide_caller)},
    exception_handlers=_handlers,
    tags=["scheduling"],
)
tokens = Router("/", route_handlers=oauth.ROUTES, exception_handlers=_handlers, tags=["oauth"])

ROUTES = [tokens, v1]

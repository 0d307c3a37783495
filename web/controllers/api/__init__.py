"""The public REST API: `POST /oauth/token` and `/api/v1/video/{appId}/...` (docs/api.md)."""

from __future__ import annotations

from litestar import Router
from litestar.di import Provide
from litestar.exceptions import ValidationException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from web.controllers.api import availability, calls, oauth
from web.controllers.api.access import ApiAccessMiddleware, provide_caller, validation_error

_handlers = {ValidationException: validation_error}
BEARER = "clientCredentials"

v1 = Router(
    "/api/v1/video/{appId:str}",
    route_handlers=[*calls.ROUTES, *availability.ROUTES],
    middleware=[ApiAccessMiddleware()],
    dependencies={"caller": Provide(provide_caller)},
    exception_handlers=_handlers,
    tags=["scheduling"],
    security=[{BEARER: []}],
)
# An empty requirement: the token endpoint itself needs no token.
tokens = Router("/", route_handlers=oauth.ROUTES, exception_handlers=_handlers, tags=["oauth"], security=[{}])

ROUTES = [tokens, v1]

# The document at /schema describes the public API only; console pages are left out of it.
OPENAPI_CONFIG = OpenAPIConfig(
    title="Punctual public API",
    version="1.0.0",
    description="Scheduled video calls of one video app, for integrations holding client credentials.",
    components=Components(
        security_schemes={
            BEARER: SecurityScheme(
                type="http",
                scheme="bearer",
                description="An access token from POST /oauth/token (client_credentials grant).",
            )
        }
    ),
)

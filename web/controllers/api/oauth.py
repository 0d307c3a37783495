"""`POST /oauth/token`: the client-credentials grant (JSON or form-encoded body)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import parse_qsl

from litestar import Request, Response, post
from litestar.enums import MediaType
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody, Schema
from litestar.openapi.spec.enums import OpenAPIType

from web import clock
from web.controllers.api import models, shapes
from web.controllers.api.access import error_responses
from web.errors import ApiError
from web.scheduling import api_clients

MAX_FIELD = 500


@dataclass
class TokenOperation(Operation):
    """The body is read by hand (JSON or form), so describe it here for the OpenAPI document."""

    def __post_init__(self) -> None:
        fields = {
            "grant_type": Schema(type=OpenAPIType.STRING, enum=["client_credentials"]),
            "client_id": Schema(type=OpenAPIType.STRING, max_length=200),
            "client_secret": Schema(type=OpenAPIType.STRING, max_length=MAX_FIELD),
        }
        schema = Schema(type=OpenAPIType.OBJECT, properties=fields, required=list(fields))
        self.request_body = RequestBody(
            content={
                MediaType.JSON.value: OpenAPIMediaType(schema=schema),
                "application/x-www-form-urlencoded": OpenAPIMediaType(schema=schema),
            },
            required=True,
        )


def _token_error(status: int, error_type: str, message: str) -> ApiError:
    return ApiError(status, message, error_type=error_type, headers={"Cache-Control": "no-store"})


async def _fields(request: Request) -> dict[str, str]:
    body = await request.body()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        try:
            return dict(parse_qsl(body.decode("utf-8"), max_num_fields=20))
        except (UnicodeDecodeError, ValueError):
            raise _token_error(400, "invalid_request", "The form body could not be read.") from None
    try:
        parsed = json.loads(body or b"null")
    except (UnicodeDecodeError, ValueError):
        raise _token_error(400, "invalid_request", "The body is not valid JSON.") from None
    if not isinstance(parsed, dict):
        raise _token_error(400, "invalid_request", "The body must be a JSON object.")
    return parsed


@post(
    "/oauth/token",
    status_code=200,
    summary="Get an access token (client credentials)",
    operation_class=TokenOperation,
    responses=error_responses(400, 401),
)
async def issue_token(request: Request) -> Response[models.TokenResponse]:
    fields = await _fields(request)
    grant = fields.get("grant_type")
    client_id, secret = fields.get("client_id"), fields.get("client_secret")
    if not isinstance(grant, str) or not grant:
        raise _token_error(400, "invalid_request", "grant_type is required (client_credentials).")
    if grant != "client_credentials":
        raise _token_error(400, "unsupported_grant_type", "Only the client_credentials grant is supported.")
    if not isinstance(client_id, str) or not client_id or not isinstance(secret, str) or not secret:
        raise _token_error(400, "invalid_client", "client_id and client_secret are required.")
    if len(client_id) > 200 or len(secret) > MAX_FIELD:
        raise _token_error(401, "invalid_client", "Unknown client or wrong secret.")
    try:
        issued = await api_clients.issue_token(client_id, secret, now=clock.now())
    except api_clients.InvalidClient:
        raise _token_error(401, "invalid_client", "Unknown client or wrong secret.") from None
    token = models.Token(
        access_token=issued.access_token,
        token_type="Bearer",
        expires_in=issued.expires_in,
        scope=" ".join(issued.scopes),
    )
    return Response(
        models.TokenResponse(data=token, meta=shapes.meta()),
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


ROUTES = [issue_token]

"""/metrics for Prometheus: a console administrator's session or the configured bearer token."""

from __future__ import annotations

import hmac

from litestar import Request, Response, get
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from web import metrics
from web.auth import SESSION_USER_KEY
from web.db.tables import User


async def _allowed(request: Request) -> bool:
    token = request.app.state.settings.metrics_token
    header = request.headers.get("authorization", "")
    if token and hmac.compare_digest(header.encode(), f"Bearer {token}".encode()):
        return True
    user_id = (request.scope.get("session") or {}).get(SESSION_USER_KEY)
    if user_id is None:
        raise NotAuthorizedException("Sign in as an administrator or send the metrics bearer token.")
    user = await User.objects().get(User.id == user_id)
    return bool(user and user.is_superuser)


@get("/metrics", cache=False)
async def metrics_endpoint(request: Request) -> Response:
    if not await _allowed(request):
        raise PermissionDeniedException("Only console administrators can read the metrics.")
    body = await metrics.render(getattr(request.app.state, "queue", None))
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")


ROUTES = [metrics_endpoint]

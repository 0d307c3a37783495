"""Two kinds of crafted input refused before any handler runs, so they end in a plain 4xx rather
than a database error (a 500):

- NUL characters in the query string or body: no field takes one, browsers never send one, and
  PostgreSQL cannot store one in text;
- numeric ids in the path beyond the database's integer ids: they name nothing (404).

Ids read from forms and query strings go through `web.db.ids.row_id` for the same reason."""

from __future__ import annotations

from litestar import Request
from litestar.exceptions import ClientException, NotFoundException

from web.db.ids import MAX_ROW_ID

MESSAGE = "The request contains a NUL character, which no field accepts."


def _has_nul(raw: bytes, encoded: bool) -> bool:
    if b"\x00" in raw:
        return True
    lowered = raw.lower()
    # Percent-encoded in query strings and forms, \u0000 inside JSON strings.
    return b"%00" in lowered if encoded else b"\\u0000" in lowered


async def refuse_crafted_input(request: Request) -> None:
    if any(isinstance(v, int) and abs(v) > MAX_ROW_ID for v in request.path_params.values()):
        raise NotFoundException()
    if _has_nul(request.scope.get("query_string", b""), encoded=True):
        raise ClientException(MESSAGE)
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        body = await request.body()  # kept by Litestar for the handler that reads it next
        if _has_nul(body, encoded=content_type == "application/x-www-form-urlencoded"):
            raise ClientException(MESSAGE)

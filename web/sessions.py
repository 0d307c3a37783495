"""Server-side sessions in Redis that are only written when there is something to keep."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.connection import ASGIConnection
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.types import Empty, Message, ScopeSession


class LeanSessionBackend(ServerSideSessionBackend):
    async def store_in_message(
        self, scope_session: ScopeSession, message: Message, connection: ASGIConnection
    ) -> None:
        if not scope_session and self.config.key not in connection.cookies:
            return  # anonymous request: no Redis write, no cookie
        await super().store_in_message(scope_session or Empty, message, connection)


@dataclass
class LeanSessionConfig(ServerSideSessionConfig):
    _backend_class = LeanSessionBackend

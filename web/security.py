"""Security headers and cookie attributes, applied to every response in one place.

Embedded pages (inside Genesys Cloud) put the origins allowed to frame them in
`scope["state"]["frame_ancestors"]`. A session started inside Genesys carries those origins too, so
the console pages the agent reaches from there (the booking detail, another week) stay framable by
Genesys alone; every other response refuses framing.
"""

from __future__ import annotations

from litestar.types import Message, Scope

# The session key under which an embedded sign-in keeps who may frame its pages
# (web.genesys.embedded writes it).
SESSION_FRAME_KEY = "frame_ancestors"

BASE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'"
)


def allow_framing(scope: Scope, origins: list[str]) -> None:
    """Called by embedded handlers: only these origins may frame this response."""
    scope.setdefault("state", {})["frame_ancestors"] = [o for o in origins if o]


def session_frame_ancestors(scope: Scope) -> list[str]:
    """The origins an embedded session's pages may be framed by (empty for other sessions)."""
    session = scope.get("session")
    origins = session.get(SESSION_FRAME_KEY) if isinstance(session, dict) else None
    return [o for o in origins or [] if isinstance(o, str) and o]


def _cookies_can_be_cross_site(scope: Scope) -> bool:
    # Secure cookies need https; browsers also accept them on http://localhost.
    if scope.get("scheme") == "https":
        return True
    for name, value in scope.get("headers", []):
        if name == b"host":
            return value.split(b":")[0] == b"localhost"
    return False


async def security_headers(message: Message, scope: Scope) -> None:
    if message["type"] != "http.response.start":
        return
    headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in (b"x-frame-options",)]
    ancestors = scope.get("state", {}).get("frame_ancestors") or session_frame_ancestors(scope)
    if ancestors:
        frame = "frame-ancestors " + " ".join(ancestors)
    else:
        frame = "frame-ancestors 'none'"
        headers.append((b"x-frame-options", b"DENY"))
    if not any(k.lower() == b"content-security-policy" for k, _ in headers):
        headers.append((b"content-security-policy", f"{BASE_CSP}; {frame}".encode()))
    headers.append((b"x-content-type-options", b"nosniff"))
    if not any(k.lower() == b"referrer-policy" for k, _ in headers):  # a handler may be stricter
        headers.append((b"referrer-policy", b"same-origin"))
    if _cookies_can_be_cross_site(scope):
        # Cookies must survive inside the Genesys iframe (a third-party context): SameSite=None,
        # Secure and Partitioned (CHIPS). Litestar cannot emit Partitioned on Python 3.11.
        headers = [(k, _cross_site_cookie(v)) if k.lower() == b"set-cookie" else (k, v) for k, v in headers]
    message["headers"] = headers


def _cross_site_cookie(value: bytes) -> bytes:
    parts = [
        p for p in value.split(b"; ") if not p.lower().startswith((b"samesite=", b"secure", b"partitioned"))
    ]
    return b"; ".join([*parts, b"Secure", b"SameSite=None", b"Partitioned"])

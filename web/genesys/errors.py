"""Typed errors for everything that can go wrong when talking to Genesys Cloud.

Each error says whether retrying can help (`permanent`) and has a sentence an administrator
understands (`plain_words()`). Messages never carry secrets or tokens: they are built from the
status, the Genesys error code and message, and the region host.
"""

from __future__ import annotations

from typing import Any


class GenesysError(Exception):
    permanent = True

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        correlation_id: str | None = None,
        retry_after: float | None = None,
        details: list[Any] | None = None,
        region: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.correlation_id = correlation_id
        self.retry_after = retry_after
        self.details = details or []
        # Host-level hint such as "mypurecloud.com" or "127.0.0.1:8090", for the admin's sentence.
        self.region = region
        self.path = path

    def plain_words(self) -> str:
        return f"Genesys answered with an error ({self._status_and_code()}): {self.message}"

    def _status_and_code(self) -> str:
        parts = [str(self.status) if self.status is not None else "no status"]
        if self.code:
            parts.append(self.code)
        return ", ".join(parts)

    def __str__(self) -> str:
        where = f" {self.path}" if self.path else ""
        ref = f" [correlation {self.correlation_id}]" if self.correlation_id else ""
        return f"{type(self).__name__} ({self._status_and_code()}){where}: {self.message}{ref}"


class CredentialsInvalid(GenesysError):
    """The OAuth client was refused at /oauth/token, or a fresh token was still refused (401)."""

    def plain_words(self) -> str:
        region = self.region or "the configured region"
        if self.code == "invalid_grant":
            return (
                "Genesys refused the sign-in code (it may have expired or been used already); sign in again"
            )
        if self.code in ("bad.credentials", "credentials.expired", "authentication.required"):
            return f"Genesys did not accept the access token for region {region} (expired or revoked)"
        return (
            f"Genesys rejected the client id/secret for region {region} "
            "(check the region and the OAuth client)"
        )


class Forbidden(GenesysError):
    def plain_words(self) -> str:
        return (
            "Genesys refused the request for lack of permissions: "
            f"{self.message} (check the roles of the OAuth client)"
        )


class NotFound(GenesysError):
    def plain_words(self) -> str:
        path = self.path or ""
        if "/messaging/integrations/open" in path or "/inbound/open/" in path:
            return "The Open Messaging integration was not found in Genesys"
        if "/api/v2/integrations" in path:
            return "The client app integration was not found in Genesys"
        if "/api/v2/conversations/" in path:
            return "The conversation was not found in Genesys"
        return "Genesys could not find what we asked for"


class RateLimited(GenesysError):
    permanent = False

    def plain_words(self) -> str:
        if self.retry_after is None:
            return "Genesys is rate limiting us; retry shortly"
        return f"Genesys is rate limiting us; retry after {self.retry_after:g} s"


class Transient(GenesysError):
    """5xx, a dropped or refused connection, a timeout, or a response we could not parse."""

    permanent = False

    def plain_words(self) -> str:
        if self.status is None:
            return f"Genesys could not be reached ({self.message}); we will retry"
        return f"Genesys had a temporary problem ({self._status_and_code()}); we will retry"


class BadRequest(GenesysError):
    def plain_words(self) -> str:
        fields = [d.get("fieldName") for d in self.details if isinstance(d, dict) and d.get("fieldName")]
        hint = f" (fields: {', '.join(fields)})" if fields else ""
        return f"Genesys rejected the request as invalid: {self.message}{hint}"


class VersionConflict(GenesysError):
    """409, or a 400 saying the configuration "does not match the current version"."""

    def plain_words(self) -> str:
        if self.path and "/api/v2/integrations/" in self.path:
            return "Someone changed the integration in Genesys at the same time; reload and try again"
        return f"Genesys reported a conflict: {self.message}"

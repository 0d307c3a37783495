"""Typed errors of the WhatsApp Cloud API, read from the Graph API error shape.

Each error says whether trying again can help (`permanent`), how long the provider asked us to
wait (`retry_after`), and has one sentence an administrator understands (`plain_words()`).
Messages never carry the access token.
"""

from __future__ import annotations

from typing import Any

# Graph API codes that mean "slow down" or "try later" even when the HTTP status says otherwise.
TRANSIENT_CODES = {1, 2, 4, 80007, 130429, 131000, 131016, 133004}
RATE_LIMIT_CODES = {4, 80007, 130429}
TOKEN_CODES = {190}
TEMPLATE_CODES = {132000, 132001, 132005, 132007, 132012, 132015, 132016}
RECIPIENT_CODES = {131026, 131030, 131045}


class WhatsAppError(Exception):
    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        subcode: int | None = None,
        details: str = "",
        retry_after: float | None = None,
        permanent: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.subcode = subcode
        self.details = details
        self.retry_after = retry_after
        self.permanent = _is_permanent(status, code) if permanent is None else permanent

    @property
    def rate_limited(self) -> bool:
        return self.status == 429 or self.code in RATE_LIMIT_CODES

    def plain_words(self) -> str:
        if self.status is None:
            return f"WhatsApp could not be reached ({self.message})"
        if self.code in TOKEN_CODES or self.status == 401:
            return "WhatsApp refused the access token of the sender (expired or revoked)"
        if self.code in TEMPLATE_CODES:
            return f"WhatsApp refused the template: {self._detail()}"
        if self.code in RECIPIENT_CODES:
            return f"WhatsApp cannot deliver to this phone number: {self._detail()}"
        if self.rate_limited:
            wait = f"; retry after {self.retry_after:g} s" if self.retry_after else ""
            return f"WhatsApp is rate limiting the sender{wait}"
        if not self.permanent:
            return f"WhatsApp had a temporary problem ({self._status_and_code()})"
        return f"WhatsApp rejected the message ({self._status_and_code()}): {self._detail()}"

    def _detail(self) -> str:
        return self.details or self.message

    def _status_and_code(self) -> str:
        parts = [str(self.status) if self.status is not None else "no status"]
        if self.code is not None:
            parts.append(f"code {self.code}")
        return ", ".join(parts)

    def __str__(self) -> str:
        return f"WhatsAppError ({self._status_and_code()}): {self.message}"


def _is_permanent(status: int | None, code: int | None) -> bool:
    if status is None:  # no answer at all: the network or the provider, worth another try
        return False
    if status == 429 or status >= 500:
        return False
    # A "try later" code on a 2xx/3xx/other status (never on the plain client errors).
    return not (code in TRANSIENT_CODES and status not in (400, 401, 403, 404))


def retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def error_from_response(status: int, body: Any, retry_after: str | None) -> WhatsAppError:
    """A typed error from a non-2xx answer (any body, JSON or not)."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return WhatsAppError(
            f"HTTP {status} without a Graph API error",
            status=status,
            retry_after=retry_after_seconds(retry_after),
        )
    data = error.get("error_data")
    details = data.get("details", "") if isinstance(data, dict) else ""
    code = error.get("code")
    subcode = error.get("error_subcode")
    return WhatsAppError(
        str(error.get("message") or f"HTTP {status}"),
        status=status,
        code=code if isinstance(code, int) else None,
        subcode=subcode if isinstance(subcode, int) else None,
        details=str(details or ""),
        retry_after=retry_after_seconds(retry_after),
    )

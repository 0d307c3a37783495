"""The range of row ids. Serial ids are PostgreSQL `integer`s: a larger number in a query is a
driver error (a 500), not "no such row", so ids typed by clients are bounded before any query."""

from __future__ import annotations

MAX_ROW_ID = 2**31 - 1


def row_id(raw: str) -> int | None:
    """The id written in `raw` (digits only), or None when it could not name any row."""
    raw = raw.strip()
    if not raw.isdigit() or len(raw) > 10 or not 0 < int(raw) <= MAX_ROW_ID:
        return None
    return int(raw)

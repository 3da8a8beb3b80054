"""Times as the phones send them: RFC 3339 with an offset, in the years a phone can mean
(EARLIEST to LATEST). Pure; used by the envelope and by the API's date-time fields."""

from __future__ import annotations

import re
from datetime import UTC, datetime

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
"""Times a phone can send (``captured_at``, ``sent_at``), from EARLIEST up to LATEST: a phone
whose clock was reset shows 1970 (the Unix epoch), and nothing pushed is captured after 2099.
Inside this range a capture time plus any clock correction (the difference of two such times)
stays a date Python and both databases can hold; outside it year 1 with an offset of +01:00
overflowed."""


def in_range(value: datetime) -> datetime:
    """``value`` (aware) as UTC when its year, as written, is EARLIEST's to LATEST's, else
    ValueError. (The year as written, not in UTC, so that the rule is the document's pattern.)"""
    if not EARLIEST.year <= value.year < LATEST.year:
        raise ValueError(f"must be a time in the years {EARLIEST.year}-{LATEST.year - 1}")
    return value.astimezone(UTC)


RFC3339 = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})?$"
)
"""RFC 3339 (OpenAPI's ``date-time``); the offset is optional here only to say so when it is
missing."""


def parse_timestamp(raw: object) -> datetime:
    """An RFC 3339 time with an offset, as UTC. A time without offset is ambiguous: refused."""
    if not isinstance(raw, str) or not RFC3339.fullmatch(raw):
        raise ValueError("must be an RFC 3339 date-time with a UTC offset")
    try:
        value = datetime.fromisoformat(raw.upper())
    except ValueError:
        raise ValueError("must be an RFC 3339 date-time with a UTC offset") from None
    if value.tzinfo is None:
        raise ValueError("has no UTC offset; send e.g. 2026-05-04T10:15:00+02:00")
    return in_range(value)

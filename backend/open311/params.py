"""Parsing GeoReport parameters: pure functions that return values or raise 400 with the
parameter named. No Flask here: the views pass the raw strings in."""

from __future__ import annotations

import math
import re
import uuid
from datetime import UTC, datetime
from typing import TypeVar

from backend.errors import BadRequest
from backend.fields import EARLIEST, FIRST_DAY, LAST_DAY, LATEST

BETWEEN = f"must be from {FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}"
"""Dates outside ``backend.fields``' bound are refused (400 ``invalid_date``), as everywhere."""

MAX_IDS = 200
"""Most ``service_request_id`` values one GET may list: a department's system asks about the
open cases of one screen, not its whole history, by id."""

# C0 controls other than tab, newline and carriage return have no place in text a person
# typed; U+FFFD is what invalid UTF-8 (a lone surrogate's bytes included) decodes to.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")
_ONE_LINE = re.compile("[\t\n\r]")


def bad(code: str, field: str, message: str) -> BadRequest:
    return BadRequest(f"{field}: {message}", code=code, errors={field: [message]})


def text(field: str, raw: str | None, max_chars: int, multiline: bool = False) -> str | None:
    """Stripped text, None when empty ("optional" in GeoReport: empty is the same as absent)."""
    if raw is None:
        return None
    if _CONTROL.search(raw):
        raise bad("invalid_text", field, "must be UTF-8 text without control characters or NUL")
    if not multiline and _ONE_LINE.search(raw):
        raise bad("invalid_text", field, "must be one line")
    value = raw.strip()
    if len(value) > max_chars:
        raise bad("too_long", field, f"at most {max_chars} characters")
    return value or None


T = TypeVar("T")


def required(field: str, value: T | None) -> T:
    if value is None:
        raise bad("missing_parameter", field, "is required")
    return value


def w3c_datetime(field: str, raw: str | None) -> datetime | None:
    """A W3C date-time with its offset (``2026-05-04T10:15:00Z``), as UTC."""
    value = text(field, raw, 64)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None or "T" not in value:
        raise bad(
            "invalid_date", field, "must be a W3C date-time with offset, e.g. 2026-05-04T10:15:00Z"
        )
    # The year is checked before converting: 9999-12-31T23:59:59-01:00 overflows in UTC.
    if not EARLIEST.year <= parsed.year < LATEST.year:
        raise bad("invalid_date", field, BETWEEN)
    parsed = parsed.astimezone(UTC)
    if not EARLIEST <= parsed < LATEST:
        raise bad("invalid_date", field, BETWEEN)
    return parsed


def comma_list(field: str, raw: str | None, max_items: int = 50) -> list[str]:
    value = text(field, raw, 20_000)
    if value is None:
        return []
    items = [item.strip() for item in value.split(",") if item.strip()]
    if len(items) > max_items:
        raise bad("too_many_values", field, f"at most {max_items} values")
    return list(dict.fromkeys(items))


def request_ids(field: str, raw: str | None) -> list[uuid.UUID]:
    ids = []
    for item in comma_list(field, raw, MAX_IDS):
        try:
            ids.append(uuid.UUID(item))
        except ValueError:
            raise bad("invalid_service_request_id", field, f"{item[:40]!r} is not one") from None
    return ids


def coordinate(field: str, raw: str | None, low: float, high: float) -> float:
    value = required(field, text(field, raw, 32))
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise bad("invalid_location", field, "must be a decimal number (WGS84 degrees)")
    if not low <= number <= high:
        raise bad("invalid_location", field, f"must be within {low}..{high}")
    return number

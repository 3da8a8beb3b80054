"""Input fields whose range the API document states, so that every value the document allows
is one the service can compute with.

Times and days are limited to the years 1970 to 2099 (``sync.timestamps.EARLIEST`` and
``LATEST``): outside them year 1 with an offset of +01:00 overflowed when converted to UTC, and
a cursor or a filter naming year 9999 failed in the database driver. The document says so with
a ``pattern`` on the year beside the ``format``. This is the one bound of every day and time a
request may name: the API's filters and ranges, the console's pages and Open311's
``start_date``/``end_date`` (``FIRST_DAY``..``LAST_DAY``, ``EARLIEST``..``LATEST``).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import marshmallow as ma

from sync import timestamps

EARLIEST = timestamps.EARLIEST
LATEST = timestamps.LATEST
"""Times a request may name: from EARLIEST (included) to LATEST (excluded)."""
FIRST_DAY = EARLIEST.date()
LAST_DAY = LATEST.date() - dt.timedelta(days=1)
"""Days a request may name, both included."""
YEARS = f"{FIRST_DAY.year}-{LAST_DAY.year}"
YEAR_PATTERN = r"^(19[7-9][0-9]|20[0-9]{2})-"
"""The years 1970 to 2099, as the start of an ISO 8601 date."""

DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _with(metadata: dict[str, Any] | None, note: str, **schema: Any) -> dict[str, Any]:
    """Field metadata for the document: the JSON schema, and the range in the description."""
    merged = {**schema, **(metadata or {})}
    given = (metadata or {}).get("description")
    merged["description"] = f"{given} ({note})" if given else note
    return merged


class Timestamp(ma.fields.Field):
    """An RFC 3339 date-time with its UTC offset, in the years 1970-2099; loads as UTC."""

    def __init__(self, *, metadata: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(
            metadata=_with(
                metadata,
                f"RFC 3339 with its offset, years {YEARS}",
                type="string",
                format="date-time",
                pattern=YEAR_PATTERN,
            ),
            **kwargs,
        )

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else value.isoformat()

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dt.datetime:
        try:
            return timestamps.parse_timestamp(value)
        except ValueError as exc:
            raise ma.ValidationError(str(exc)) from None


class Day(ma.fields.Field):
    """A calendar day ``YYYY-MM-DD`` in the years 1970-2099."""

    def __init__(self, *, metadata: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(
            metadata=_with(
                metadata, f"years {YEARS}", type="string", format="date", pattern=YEAR_PATTERN
            ),
            **kwargs,
        )

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else value.isoformat()

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dt.date:
        if not isinstance(value, str) or not DAY.fullmatch(value):
            raise ma.ValidationError("Not a date YYYY-MM-DD.")
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise ma.ValidationError("Not a date YYYY-MM-DD.") from None
        if not FIRST_DAY <= day <= LAST_DAY:
            raise ma.ValidationError(f"must be a day in the years {YEARS}")
        return day


class Pattern(ma.validate.Regexp):
    """``Regexp`` that matches the whole value, as a JSON Schema ``pattern`` anchored with ``^``
    and ``$`` does: Python's ``$`` also matches before a final newline, so ``"slug\\n"`` passed."""

    def __call__(self, value: Any) -> Any:
        regex: re.Pattern[str] = self.regex  # type: ignore[assignment]
        if not isinstance(value, str) or regex.fullmatch(value) is None:
            raise ma.ValidationError(self._format_error(value))
        return value


class OneOf(ma.fields.Raw):
    """A value that is one of several object schemas, told apart by ``discriminator``.

    Documented as ``oneOf`` with a discriminator (``backend.api`` registers how); it loads
    the raw value, for a caller that checks it itself (the push checks items one by one).
    """

    def __init__(
        self, schemas: dict[str, type[ma.Schema]], discriminator: str = "type", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.schemas = schemas
        self.discriminator = discriminator

    def deserialize(
        self, value: Any, attr: str | None = None, data: Any = None, **kwargs: Any
    ) -> Any:
        # Whatever the value (null included), the caller judges it: marshmallow would refuse a
        # null before the caller saw it.
        return value

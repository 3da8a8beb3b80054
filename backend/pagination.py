"""Cursor pagination for the API's lists: one page shape, one cursor codec, one limit rule.

Every paginated list (cases, tasks, deliveries, the contact-read audit, users, organisations)
answers ``{"items": [...], "next_cursor": "<opaque>" | null}``: pass ``next_cursor`` back as
``?cursor=`` for the next page; ``null`` is the last page. The phones' pull keeps its own
contract (``backend.feed``).

A cursor is the URL-safe base64, unpadded, of compact JSON ``{"v": 1, "l": <list>, "k": [...]}``:
the codec's version, the list it belongs to and the keyset of the last row of the page (for
example its ``created_at`` and ``id``). Keyset, not OFFSET: rows written meanwhile never shift a
page, so a client paging through never skips or repeats one. Anything :func:`decode` cannot read
back into the list's key (garbage, another list's cursor, a time outside the years the database
stores, an integer past the column, a lone surrogate) is 400 ``invalid_cursor``: the client's
remedy is always the same, to list again without a cursor.

A ``limit`` above the list's maximum is 422 ``validation_error`` naming the maximum, which the
document states as the parameter's ``maximum``; it is never silently clamped, so a client that
asked for 1,000 rows knows it got 200.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import marshmallow as ma
from marshmallow import validate
from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute, Session

from backend.errors import BadRequest, ErrorSchema
from sync import timestamps

VERSION = 1
MAX_CURSOR_LENGTH = 400
"""Longer than any cursor this codec writes (a list name, a time and a UUID take about 130)."""

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def invalid_cursor() -> BadRequest:
    return BadRequest(
        "The cursor is not one this list gave; list again without a cursor.",
        code="invalid_cursor",
        errors={"cursor": ["is not a cursor of this list"]},
    )


CURSOR_ERROR = {
    "schema": ErrorSchema,
    "description": "invalid_cursor: not a cursor of this list; list again without one",
}
"""The documented 400 of every paginated list (``@blp.alt_response(400, **CURSOR_ERROR)``)."""


def _at(value: Any) -> datetime:
    """A stored time as the cursor wrote it (ISO 8601 with its offset), in the stored range."""
    if not isinstance(value, str):
        raise ValueError("not a time")
    when = datetime.fromisoformat(value)
    if when.tzinfo is None:
        raise ValueError("naive")
    return timestamps.in_range(when)


def _id(value: Any) -> uuid.UUID:
    if not isinstance(value, str):
        raise ValueError("not a UUID")
    return uuid.UUID(value)


MAX_SEQ = 2**31 - 1
"""Integer keys are INTEGER columns on both databases; PostgreSQL refuses to compare a larger
number with one (a 500 schemathesis found)."""


def _seq(value: Any) -> int:
    if type(value) is not int or not 0 <= value <= MAX_SEQ:
        raise ValueError("not a sequence number")
    return value


_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


def _slug(value: Any) -> str:
    if not isinstance(value, str) or not _SLUG.fullmatch(value):
        raise ValueError("not a slug")
    return value


AT: Callable[[Any], datetime] = _at
ID: Callable[[Any], uuid.UUID] = _id
SEQ: Callable[[Any], int] = _seq
SLUG: Callable[[Any], str] = _slug
"""How :func:`decode` reads each part of a keyset."""


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def encode(list_name: str, *key: Any) -> str:
    """The cursor after the row whose keyset is ``key`` in the list ``list_name``."""
    body = {"v": VERSION, "l": list_name, "k": [_plain(part) for part in key]}
    raw = json.dumps(body, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, list_name: str, *parts: Callable[[Any], Any]) -> tuple[Any, ...]:
    """The keyset a cursor of ``list_name`` holds, each part read by the matching function of
    ``parts`` (:data:`AT`, :data:`ID`, :data:`SEQ`, :data:`SLUG`); 400 ``invalid_cursor``
    for anything else."""
    try:
        if not isinstance(cursor, str) or len(cursor) > MAX_CURSOR_LENGTH:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(cursor.encode("ascii") + b"=" * (-len(cursor) % 4))
        body = json.loads(raw.decode("utf-8"))
        key = body["k"]
        if body["v"] != VERSION or body["l"] != list_name or len(key) != len(parts):
            raise ValueError("another list's cursor")
        return tuple(read(part) for read, part in zip(parts, key, strict=True))
    except (ValueError, TypeError, KeyError, UnicodeError, binascii.Error, OverflowError):
        raise invalid_cursor() from None


def keyset_page(
    session: Session,
    query: Select[Any],
    list_name: str,
    columns: Sequence[InstrumentedAttribute[Any]],
    cursor: str | None,
    limit: int,
    *,
    parts: Sequence[Callable[[Any], Any]],
    descending: bool = True,
) -> Page[Any]:
    """One page of ``query`` ordered by ``columns`` (newest first unless ``descending`` is
    false), after the row the cursor names, and the cursor after its last row when more
    follow. ``parts`` read the cursor's keyset back (one per column)."""
    if cursor:
        after = decode(cursor, list_name, *parts)
        query = query.where(_after(columns, after, descending))
    order = [c.desc() if descending else c.asc() for c in columns]
    rows = list(session.execute(query.order_by(*order).limit(limit + 1)).unique().scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more:
        last = rows[-1]
        next_cursor = encode(list_name, *(getattr(last, c.key) for c in columns))
    return Page(rows, next_cursor)


def _after(
    columns: Sequence[InstrumentedAttribute[Any]], key: tuple[Any, ...], descending: bool
) -> Any:
    """Rows strictly after ``key`` in the order of ``columns`` (a row-value comparison spelt
    out, which both databases plan as a range scan on the index)."""
    beyond = [(c < k) if descending else (c > k) for c, k in zip(columns, key, strict=True)]
    clause = beyond[-1]
    for n in range(len(columns) - 2, -1, -1):
        clause = or_(beyond[n], and_(columns[n] == key[n], clause))
    return clause


class PageSchema(ma.Schema):
    """The page shape; a list's schema adds ``items``."""

    next_cursor = ma.fields.String(
        allow_none=True,
        metadata={"description": "Pass as ?cursor= for the next page; null on the last page"},
    )


class Cursor(ma.fields.String):
    """A cursor parameter: ``opaque`` tells ``backend.api``'s parser to pass its value on
    unchecked (a NUL or a lone surrogate included), for :func:`decode` to answer."""

    opaque = True


def cursor_field() -> ma.fields.String:
    """The ``cursor`` query parameter. Not validated here: every value the codec cannot read
    is 400 ``invalid_cursor``, the same answer for garbage as for a stale cursor."""
    return Cursor(
        metadata={
            "description": "next_cursor of the previous page, as given; anything else is "
            "400 invalid_cursor",
            "maxLength": MAX_CURSOR_LENGTH,
            "pattern": r"^[A-Za-z0-9_-]*$",
        },
    )


def limit_field(default: int | None, maximum: int, default_text: str = "") -> ma.fields.Integer:
    """The ``limit`` query parameter: 1 to ``maximum`` (more is 422 ``validation_error``);
    ``default_text`` names the default when a setting gives it (``default`` is then None)."""
    # Without a default the parameter is absent (not null) when not given.
    loading: dict[str, Any] = {} if default is None else {"load_default": default}
    return ma.fields.Integer(
        **loading,
        validate=validate.Range(1, maximum),
        metadata={
            "description": f"Rows per page, default {default_text or default}, at most "
            f"{maximum} (more is 422 validation_error)"
        },
    )


class PageQuerySchema(ma.Schema):
    """``cursor`` and ``limit`` with the usual bounds; a list with other bounds declares its
    own fields."""

    cursor = cursor_field()
    limit = limit_field(50, 200)

"""Database plumbing shared by every model: SQLite pragmas, time and id column types.

SQLite is the embedded default and several gunicorn workers write to it at once. WAL lets
readers run beside the writer; ``BEGIN IMMEDIATE`` takes the write lock at the start of every
transaction that may write, so two transactions never both read and then fail to upgrade to a
write lock (the case in which SQLite reports "database is locked" without waiting); the busy
timeout makes a second writer wait for the first instead of failing.

Read-only requests (GET, HEAD) begin ``DEFERRED`` instead, so a supervisor's long query never
holds the write lock against the phones' pushes; so does the token lookup of every request
(``deferred_reads``), which then commits, so no lock is held while a slow phone sends its body.
A GET that must write (an audit row) wraps that write in ``immediate_writes``.

``among`` is ``IN`` for a list of values that a statement run often on one connection
receives: on PostgreSQL one array parameter (``= ANY``), because psycopg prepares a statement
run five times and the generic plan PostgreSQL then caches for ``IN ($1, ..., $50)`` took
13 ms where the plan for the actual values takes 2 ms.

``insert_rows`` writes many rows of one table: on PostgreSQL as one ``INSERT ... SELECT FROM
unnest(<one array per column>)``, a short query text the same for every batch, where an
executemany costs psycopg a message round per row and SQLAlchemy's multi-row ``VALUES`` a new
text of hundreds of placeholders per batch size, parsed anew each time. The statement object
is built once per table and column set and executed with the arrays as parameters, which
psycopg sends in binary (``_postgresql_binary_arrays``): its text form quotes and escapes every
element in Python. Together the two cut a push's CPU time on PostgreSQL by a quarter to a third.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    DateTime,
    Engine,
    Select,
    Table,
    Text,
    any_,
    bindparam,
    cast,
    event,
    func,
    select,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.types import TypeDecorator

_busy_timeout_ms = 30_000


def configure_sqlite(busy_timeout_ms: int) -> None:
    global _busy_timeout_ms
    _busy_timeout_ms = busy_timeout_ms


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {int(_busy_timeout_ms)}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def among(session: Session, column: InstrumentedAttribute[Any], values: Any) -> ColumnElement[bool]:
    """``column IN values``, as one array parameter on PostgreSQL (see the module's text)."""
    values = list(values)
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


UNNEST_PREFIX = "unnest_"
"""The prefix of the array parameters :func:`unnest_select` binds and :func:`unnest_rows` fills
(``unnest_<column>``)."""


def _array_of(column: Any, values: list[Any]) -> list[Any]:
    """The array parameter's values for ``column``. JSON goes as text (a JSON list would
    otherwise become an array dimension), cast back in the SELECT."""
    if isinstance(column.type, JSON):
        null = None if column.type.none_as_null else "null"
        return [null if v is None else json.dumps(v) for v in values]
    return values


def _element_type(column: Any) -> Any:
    return Text() if isinstance(column.type, JSON) else column.type


@lru_cache(maxsize=256)
def unnest_select(table: Table, names: tuple[str, ...]) -> Select[Any]:
    """The SELECT of ``names`` from ``unnest``, one array parameter per column without its
    values (bound at execution), so the statement object and its cache key are built once per
    table and column set, not once per batch."""
    arrays = [
        bindparam(UNNEST_PREFIX + name, type_=ARRAY(_element_type(table.c[name]))) for name in names
    ]
    derived = func.unnest(*arrays).table_valued(*names).render_derived(name="new_rows")
    return select(
        *(
            cast(derived.c[name], table.c[name].type)
            if isinstance(table.c[name].type, JSON)
            else derived.c[name]
            for name in names
        )
    )


def unnest_rows(
    table: Table, rows: list[dict[str, Any]]
) -> tuple[tuple[str, ...], dict[str, list[Any]]]:
    """PostgreSQL: the column names of ``rows`` (each with the same keys) and the parameters
    that execute :func:`unnest_select` of them (``unnest_<column>``: that column's values)."""
    names = tuple(rows[0])
    params = {
        UNNEST_PREFIX + name: _array_of(table.c[name], [row[name] for row in rows])
        for name in names
    }
    return names, params


@lru_cache(maxsize=256)
def unnest_insert(table: Table, names: tuple[str, ...]) -> Any:
    """PostgreSQL: ``INSERT INTO table (names) SELECT FROM unnest(...)``, built once per table
    and column set; execute it with :func:`unnest_rows`' parameters."""
    return postgresql.insert(table).from_select(list(names), unnest_select(table, names))


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` into ``table`` in the caller's transaction (see the module's text)."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql" or any(
        r.keys() != rows[0].keys() for r in rows
    ):
        session.execute(table.insert(), rows)
        return
    names, params = unnest_rows(table, rows)
    session.execute(unnest_insert(table, names), params)


@event.listens_for(Engine, "connect")
def _postgresql_binary_arrays(dbapi_connection: Any, _record: Any) -> None:
    """psycopg sends list parameters (``among``'s and ``unnest_rows``' arrays) in binary, not
    as text arrays that it quotes and escapes element by element in Python."""
    if type(dbapi_connection).__module__.split(".")[0] == "psycopg":  # psycopg 3, not psycopg2
        from psycopg.types.array import ListBinaryDumper

        dbapi_connection.adapters.register_dumper(list, ListBinaryDumper)


_begin_mode: ContextVar[str] = ContextVar("sqlite_begin_mode", default="IMMEDIATE")
"""How SQLite transactions begin in this context: IMMEDIATE (may write) or DEFERRED (reads)."""


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn: Any) -> None:
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"BEGIN {_begin_mode.get()}")


def set_begin_mode(read_only: bool) -> None:
    """Set how this request's SQLite transactions begin (called once per request)."""
    _begin_mode.set("DEFERRED" if read_only else "IMMEDIATE")


@contextmanager
def _mode(mode: str) -> Iterator[None]:
    token = _begin_mode.set(mode)
    try:
        yield
    finally:
        _begin_mode.reset(token)


def deferred_reads() -> AbstractContextManager[None]:
    """Transactions begun inside only read: SQLite begins them DEFERRED (no write lock)."""
    return _mode("DEFERRED")


def immediate_writes() -> AbstractContextManager[None]:
    """Transactions begun inside may write: SQLite begins them IMMEDIATE."""
    return _mode("IMMEDIATE")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def new_id() -> uuid.UUID:
    return uuid.uuid4()

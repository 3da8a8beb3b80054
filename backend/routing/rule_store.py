"""Stored rule sets: versions in the database; the highest one routes.

Until seed-demo or an admin stores a version, the shipped ``data/rules.toml`` routes, so no
case is ever unrouted on a fresh installation. Parsed rule sets are cached per process by
version and the time it was stored: rows are never changed, so that pair names one rule set
for good (the time tells apart a version number reused by another database, a restore or a
test, served by the same process).
"""

from __future__ import annotations

import functools
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.errors import Conflict, Unprocessable
from backend.organisations.models import Organisation
from backend.reference.models import Category, Zone
from backend.routing.models import StoredRuleSet
from backend.routing.rules import (
    Reference,
    RuleSet,
    RuleSetError,
    load_rule_set,
    parse_rule_file,
    validate_rule_set,
)

_cache: dict[tuple[int, datetime], RuleSet] = {}
MAX_VERSION = 2**31 - 1
"""The version is stored in 32-bit integer columns (``rule_sets``, ``tasks``)."""


def reference(session: Session) -> Reference:
    """The names a rule may use, as the database knows them now."""
    return Reference(
        categories=set(session.execute(select(Category.code)).scalars()),
        zones=set(session.execute(select(Zone.slug)).scalars()),
        organisations=set(session.execute(select(Organisation.slug)).scalars()),
    )


@functools.cache
def _shipped() -> RuleSet:
    return load_rule_set()


def active_rule_set(session: Session) -> RuleSet:
    newest = session.execute(
        select(StoredRuleSet.version, StoredRuleSet.created_at)
        .order_by(StoredRuleSet.version.desc())
        .limit(1)
    ).first()
    if newest is None:
        return _shipped()
    cached = _cache.get((newest.version, newest.created_at))
    if cached is None:
        row = session.get(StoredRuleSet, newest.version)
        assert row is not None  # versions are never deleted
        # Validated when stored; the reference check is not repeated, so a later rename of a
        # zone cannot make the stored rules unusable (route() skips unknown organisations).
        cached = _cache[(newest.version, newest.created_at)] = validate_rule_set(row.data)
    return cached


def save_rule_set(
    session: Session, data: dict[str, Any], created_by: uuid.UUID | None = None
) -> RuleSet:
    """Validate and store a new version; it routes every case from the commit on.

    422 ``invalid_rule_set`` with every problem by location, 409 ``rule_set_version_not_newer``
    when the version does not exceed the active one (another admin may have saved meanwhile).
    """
    try:
        version = data.get("version")
        if type(version) is int and version > MAX_VERSION:
            raise RuleSetError({"version": [f"at most {MAX_VERSION}"]})
        rule_set = validate_rule_set(data, reference(session))
    except RuleSetError as exc:
        raise Unprocessable(
            "The rule set is not valid; nothing was changed.",
            code="invalid_rule_set",
            errors=exc.errors,
        ) from exc
    current = active_rule_set(session)
    if rule_set.version <= current.version:
        raise _not_newer(rule_set.version, current.version)
    try:
        with session.begin_nested():
            session.add(
                StoredRuleSet(
                    version=rule_set.version, data=rule_set.to_dict(), created_by=created_by
                )
            )
    except IntegrityError:
        session.rollback()
        raise _not_newer(rule_set.version, active_rule_set(session).version) from None
    session.commit()
    return rule_set


def save_rule_file(
    session: Session, filename: str, data: bytes, created_by: uuid.UUID | None = None
) -> RuleSet:
    """:func:`save_rule_set` for an uploaded file (TOML or JSON); a file that cannot be read
    is 422 ``invalid_rule_set`` too, with the problem under ``file``. Nothing changes on error."""
    try:
        parsed = parse_rule_file(filename, data)
    except RuleSetError as exc:
        raise Unprocessable(
            "The rule file could not be read; nothing was changed.",
            code="invalid_rule_set",
            errors=exc.errors,
        ) from exc
    return save_rule_set(session, parsed, created_by)


def versions(session: Session, limit: int) -> list[StoredRuleSet]:
    """The stored rule-set versions, newest (the active one) first."""
    return list(
        session.execute(
            select(StoredRuleSet).order_by(StoredRuleSet.version.desc()).limit(limit)
        ).scalars()
    )


def _not_newer(given: int, active: int) -> Conflict:
    return Conflict(
        f"Version {given} is not newer than the active version {active}; raise it.",
        code="rule_set_version_not_newer",
        errors={"version": [f"must be greater than {active}"]},
    )


def seed_rule_set(session: Session) -> int:
    """Store the shipped rules file unless that version (or a newer one) is stored already."""
    rule_set = load_rule_set(reference=reference(session))
    stored = session.execute(select(func.max(StoredRuleSet.version))).scalar_one_or_none()
    if stored is None or stored < rule_set.version:
        session.add(StoredRuleSet(version=rule_set.version, data=rule_set.to_dict()))
        session.commit()
    return max(stored or 0, rule_set.version)

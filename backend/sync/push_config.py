"""What a push reads besides its batch, cached per process: the reference data items are
validated against, the zone index, the categories' dedup settings, the active rule set and
the organisations.

Each process keeps them under the token of ``ConfigVersion`` (scope ``push``), which a push
reads with one indexed SELECT. Every flush that adds, changes or deletes a zone, category,
organisation or stored rule set replaces the token in the same transaction (the session event
below), so the very next push in every process, whichever process made the change, sees a
token it has not cached and loads again; a change rolled back takes its token with it. A
database without the row (one made by ``create_all`` rather than the migrations, until its
first such change) is read afresh on every push, as before this cache.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.cases.assignment import category_settings
from backend.organisations.models import Organisation
from backend.reference.models import Category, ConfigVersion, Zone
from backend.reference.zones import ZoneIndex, index_of
from backend.routing.models import StoredRuleSet
from backend.routing.rule_store import active_rule_set
from backend.routing.rules import RuleSet
from sync.dedup import DedupSettings
from sync.envelope import Reference

SCOPE = "push"
WATCHED = (Zone, Category, Organisation, StoredRuleSet)
"""The models whose rows a push reads (through :class:`PushConfig`)."""


@dataclass(frozen=True)
class PushConfig:
    reference: Reference
    zones: ZoneIndex
    dedup: Mapping[str, DedupSettings]
    rule_set: RuleSet
    organisations: Mapping[str, Organisation]
    """By slug, detached from the session that loaded them (expunged, so no later rollback
    of that session expires them): read-only."""


_cache: dict[str, PushConfig] = {}


def _load(session: Session) -> PushConfig:
    categories = dict(
        session.execute(select(Category.code, Category.kind).where(Category.active.is_(True))).all()
    )
    zones = list(session.execute(select(Zone).order_by(Zone.slug)).scalars())
    organisations = {o.slug: o for o in session.execute(select(Organisation)).scalars()}
    for organisation in organisations.values():
        # Cached across requests: a rollback of this session (a push that raced) would
        # otherwise expire them, and a detached expired object cannot be read.
        session.expunge(organisation)
    active = frozenset(slug for slug, o in organisations.items() if o.active)
    return PushConfig(
        reference=Reference(categories, frozenset(z.slug for z in zones), active),
        zones=index_of(zones),
        dedup=category_settings(session),
        rule_set=active_rule_set(session),
        organisations=organisations,
    )


def current(session: Session) -> PushConfig:
    """The push's configuration as of the session's transaction: cached under its token."""
    token = session.execute(
        select(ConfigVersion.token).where(ConfigVersion.scope == SCOPE)
    ).scalar_one_or_none()
    if token is not None and (cached := _cache.get(token)) is not None:
        return cached
    config = _load(session)
    if token is not None:
        # One entry: the older ones are never asked for again (tokens are never reused).
        _cache.clear()
        _cache[token] = config
    return config


def bump(session: Session) -> None:
    """Replace the token (in the caller's transaction): every process reloads on its next push."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    token = uuid.uuid4().hex
    session.connection().execute(
        insert(ConfigVersion)
        .values(scope=SCOPE, token=token)
        .on_conflict_do_update(index_elements=["scope"], set_={"token": token})
    )


@event.listens_for(Session, "after_flush")
def _changed(session: Session, _context: Any) -> None:
    # Any flushed row of a watched model counts, modified or not: a spare reload costs a few
    # queries, a missed one serves stale rules.
    for objects in (session.new, session.dirty, session.deleted):
        if any(isinstance(o, WATCHED) for o in objects):
            bump(session)
            return

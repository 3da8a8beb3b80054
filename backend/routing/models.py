"""Stored rule sets: every version an admin (or seed-demo) saved, the highest one active.

Rows are never updated: a change is a new version, so every task's ``rule_set_version`` still
names the exact rules that routed it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy.orm import Mapped, mapped_column

from backend.database import UTCDateTime, utcnow
from backend.extensions import db


class StoredRuleSet(db.Model):  # type: ignore[name-defined]
    __tablename__ = "rule_sets"

    # The version is the key: two admins saving the same version at once get one row each
    # way only once (the second gets 409), never two active sets with one number.
    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[uuid.UUID | None] = mapped_column(nullable=True, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

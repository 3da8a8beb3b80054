"""Reading the retention log: the runs an admin checks to see that the policy is applied."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.retention.models import RetentionRun


def recent_runs(session: Session, limit: int) -> list[RetentionRun]:
    """The latest runs, newest first (one a night: a page of them is a month or two)."""
    return list(
        session.execute(
            select(RetentionRun)
            .order_by(RetentionRun.started_at.desc(), RetentionRun.id)
            .limit(limit)
        ).scalars()
    )

"""The push's answer: one result per pushed item, in the batch's order, from what the push
decided (created, duplicate or conflict; a report's case, hint outcome and missing photos).
A replay answers what the first push decided."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from backend.cases import assignment as cases
from backend.sync import ledger
from backend.users.models import User
from sync.envelope import Rejection, ValidItem


@dataclass
class ItemResult:
    id: str | None
    status: str
    code: str | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)
    case_id: uuid.UUID | None = None
    # Whether the report joined a case that existed before it (None for other item types).
    joined_case: bool | None = None
    missing_photos: list[str] = field(default_factory=list)
    # What became of the report's case_hint: {kind, followed, reason}; None without a hint.
    hint: dict[str, Any] | None = None


HINT_NOT_FOLLOWED = "hint_not_followed"
"""A created or duplicate report's ``code`` when its ``same_as`` hint was not followed."""


@dataclass
class Outcome:
    """What the push decided, for the results."""

    user: User
    first: dict[uuid.UUID, ValidItem]
    created: set[uuid.UUID]
    stored: dict[uuid.UUID, ledger.StoredItem]
    assigned: dict[uuid.UUID, cases.Assignment]
    missing: dict[uuid.UUID, list[str]]


def _status(item: ValidItem, outcome: Outcome, seen: set[uuid.UUID]) -> str:
    if item.content_hash != outcome.first[item.id].content_hash:
        return "conflict"
    if item.id in outcome.created:
        return "duplicate" if item.id in seen else "created"
    before = outcome.stored[item.id]
    same = before.content_hash == item.content_hash and before.user_id == outcome.user.id
    return "duplicate" if same else "conflict"


def _result(item: ValidItem, status: str, outcome: Outcome) -> ItemResult:
    result = ItemResult(str(item.id), status)
    if status == "conflict":
        result.code = "item_conflict"
        result.errors = {"id": ["was already stored with different content; not changed"]}
    elif item.type == "report":
        reason: Any
        if item.id in outcome.created:
            placed = outcome.assigned[item.id]
            result.case_id, result.joined_case, reason = (
                placed.case_id,
                placed.joined,
                placed.reason,
            )
        else:
            before = outcome.stored[item.id]
            result.case_id, result.joined_case, reason = (
                before.case_id,
                before.joined,
                before.merge_reason,
            )
        # A replay answers what the first push decided: the hint's outcome is stored with the
        # report's merge reason.
        result.hint = (reason or {}).get("hint")
        if result.hint and not result.hint["followed"]:
            result.code = HINT_NOT_FOLLOWED
        result.missing_photos = outcome.missing.get(item.id, [])
    return result


def results(checked: Sequence[ValidItem | Rejection], outcome: Outcome) -> list[ItemResult]:
    """One result per pushed item, in the batch's order."""
    results: list[ItemResult] = []
    seen: set[uuid.UUID] = set()
    for item in checked:
        if isinstance(item, Rejection):
            results.append(ItemResult(item.id, "rejected", item.code, item.errors))
            continue
        status = _status(item, outcome, seen)
        seen.add(item.id)
        results.append(_result(item, status, outcome))
    return results

"""The reporter's hints (issue 21): "it is this case" (``same_as``) and "it is none of these"
(``distinct_from``), given on the phone from its list of nearby cases. What a hint may name and
how far it reaches are here; how the dedup rules then decide is ``sync.dedup``, whose
:func:`decide_hinted` applies a hint to one report. Pure and I/O-free.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sync.cells import CELL_SIZE_M
from sync.dedup import (
    CaseCandidate,
    Decision,
    DedupSettings,
    HintOutcome,
    HintRefusal,
    NewReport,
    Rule,
    decide,
    distance_m,
    evaluate,
)

HINT_RADIUS_FACTOR = 3.0
"""A ``same_as`` hint joins a case at most this many category radii away (45 m for a bin).

The reporter confirmed the case from the phone's list of nearby cases, which shows those within
``NEARBY_RADIUS_FACTOR`` radii of a fix that may itself be 25 m off; three radii leave room for
that without letting a hint pull a report across the square into an unrelated case.
"""

NEARBY_RADIUS_FACTOR = 2.0
"""The phone is shown the open cases within this many category radii (30 m for a bin): the
band where GPS error makes the rules unsure and the reporter's answer helps."""

MAX_DISTINCT_FROM = 10
"""At most this many cases in ``distinct_from``: the nearby list shows at most 10."""


@dataclass(frozen=True, slots=True)
class CaseHint:
    """The reporter's answer to "is it one of these?": ``same_as`` one case, ``distinct_from``
    some (at most MAX_DISTINCT_FROM, and never the ``same_as`` case)."""

    same_as: uuid.UUID | None = None
    distinct_from: frozenset[uuid.UUID] = frozenset()

    def __post_init__(self) -> None:
        if len(self.distinct_from) > MAX_DISTINCT_FROM:
            raise ValueError(f"distinct_from names at most {MAX_DISTINCT_FROM} cases")
        if self.same_as is not None and self.same_as in self.distinct_from:
            raise ValueError("a case cannot be both same_as and distinct_from")

    @property
    def empty(self) -> bool:
        return self.same_as is None and not self.distinct_from

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> CaseHint | None:
        """From a pushed report's normalised ``case_hint`` (``sync.envelope``), or None."""
        if not raw:
            return None
        same_as = raw.get("same_as")
        return cls(
            same_as=uuid.UUID(same_as) if same_as else None,
            distinct_from=frozenset(uuid.UUID(v) for v in raw.get("distinct_from", ())),
        )


def _hint_refusal(new: NewReport, hinted: CaseCandidate | None) -> HintRefusal | None:
    if hinted is None:
        return HintRefusal.UNKNOWN_CASE
    if hinted.resolved:
        return HintRefusal.CLOSED
    if hinted.group != new.settings.group:
        return HintRefusal.OTHER_GROUP
    if distance_m(new.lat, new.lon, hinted.lat, hinted.lon) > hint_bound_m(new.settings):
        return HintRefusal.TOO_FAR
    return None


def hint_bound_m(settings: DedupSettings) -> float:
    """How far a ``same_as`` case may be: HINT_RADIUS_FACTOR category radii, at most one cell
    (a joined case must lie in the report's locked 3 x 3 cells, see ``sync.cells``)."""
    return min(HINT_RADIUS_FACTOR * settings.radius_m, CELL_SIZE_M)


def nearby_radius_m(settings: DedupSettings) -> float:
    """How far the phone's list of nearby cases reaches: NEARBY_RADIUS_FACTOR radii, at most
    one cell (the list reads the 3 x 3 cells around the point)."""
    return min(NEARBY_RADIUS_FACTOR * settings.radius_m, CELL_SIZE_M)


def decide_hinted(
    new: NewReport,
    candidates: Iterable[CaseCandidate],
    hint: CaseHint | None,
    hinted: CaseCandidate | None = None,
) -> Decision:
    """:func:`decide` with the reporter's hint; ``hinted`` is the ``same_as`` case as stored
    (None when no such case exists), whatever its state, so a refusal can say why.

    A followed ``same_as`` joins with rule ``reporter_same``. With ``distinct_from`` the named
    cases are never joined; when one of them is the case the rules would have joined and no
    other case is, the new case's rule is ``reporter_distinct`` with that case as evidence.
    """
    if hint is None or hint.empty:
        return decide(new, candidates)
    if hint.same_as is not None:
        refusal = _hint_refusal(new, hinted)
        if refusal is None and hinted is not None:
            _, evidence = evaluate(new, hinted)
            return Decision(
                Rule.REPORTER_SAME, hinted.case_id, evidence, HintOutcome("same_as", True)
            )
        outcome = HintOutcome("same_as", False, refusal)
    else:
        outcome = HintOutcome("distinct_from", True)
    pool = list(candidates)
    decision = decide(new, [c for c in pool if c.case_id not in hint.distinct_from])
    if not decision.joins and hint.distinct_from:
        # Why it starts a case, among all candidates: if the rules would have joined one, it
        # is a case the reporter said it is not.
        everything = decide(new, pool)
        rule = Rule.REPORTER_DISTINCT if everything.joins else everything.rule
        return Decision(rule, None, everything.evidence, outcome)
    return Decision(decision.rule, decision.case_id, decision.evidence, outcome)

"""sync.case_hints alone, without I/O: which case a reporter's hint joins and why not."""

from __future__ import annotations

import uuid

import pytest

from sync.case_hints import (
    MAX_DISTINCT_FROM,
    CaseHint,
    decide_hinted,
    hint_bound_m,
    nearby_radius_m,
)
from sync.cells import CELL_SIZE_M
from sync.dedup import DedupSettings, HintRefusal, Rule, decide
from tests.unit.test_dedup import case, report


def test_no_hint_is_decide() -> None:
    cases = [case(metres=3), case(metres=30)]
    new = report()
    assert decide_hinted(new, cases, None) == decide(new, cases)
    assert decide_hinted(new, cases, CaseHint()) == decide(new, cases)


@pytest.mark.parametrize(
    "metres,joins", [(44.9, True), (45.1, False)], ids=["inside 3 radii", "beyond 3 radii"]
)
def test_same_as_reaches_three_radii(metres: float, joins: bool) -> None:
    # report() is east of Sergels Torg, case() west: the distance is the sum.
    hinted = case(metres=metres)
    decision = decide_hinted(report(), [hinted], CaseHint(same_as=hinted.case_id), hinted)
    assert decision.joins is joins
    assert decision.hint is not None and decision.hint.followed is joins
    if joins:
        assert decision.rule is Rule.REPORTER_SAME and decision.case_id == hinted.case_id
        assert decision.as_dict()["hint"] == {"kind": "same_as", "followed": True, "reason": None}
    else:
        assert decision.hint.refusal is HintRefusal.TOO_FAR
        assert decision.rule is Rule.TOO_FAR  # the rules decided


def test_same_as_ignores_the_window_but_not_the_state_or_group() -> None:
    old = case(first_min=-10_000, last_min=-9_000)
    assert decide_hinted(report(), [], CaseHint(same_as=old.case_id), old).joins
    closed = case(resolved=True)
    refused = decide_hinted(report(), [], CaseHint(same_as=closed.case_id), closed)
    assert refused.hint is not None and refused.hint.refusal is HintRefusal.CLOSED
    glass = case(category="litter.broken_glass")
    refused = decide_hinted(report(), [], CaseHint(same_as=glass.case_id), glass)
    assert refused.hint is not None and refused.hint.refusal is HintRefusal.OTHER_GROUP
    refused = decide_hinted(report(), [], CaseHint(same_as=uuid.uuid4()), None)
    assert refused.hint is not None and refused.hint.refusal is HintRefusal.UNKNOWN_CASE


def test_a_refused_same_as_leaves_the_rules_with_distinct_from_applied() -> None:
    near, nearer = case(metres=5), case(metres=2)
    hint = CaseHint(same_as=uuid.uuid4(), distinct_from=frozenset({nearer.case_id}))
    decision = decide_hinted(report(), [near, nearer], hint, None)
    assert decision.case_id == near.case_id


def test_distinct_from_never_joins_and_names_the_case_it_kept_apart_from() -> None:
    only = case(metres=1)
    decision = decide_hinted(report(), [only], CaseHint(distinct_from=frozenset({only.case_id})))
    assert (decision.rule, decision.case_id) == (Rule.REPORTER_DISTINCT, None)
    assert decision.evidence is not None and decision.evidence.case_id == only.case_id
    # Named but not joinable anyway (too far): the rules' own reason stands.
    far = case(metres=200)
    decision = decide_hinted(report(), [far], CaseHint(distinct_from=frozenset({far.case_id})))
    assert decision.rule is Rule.TOO_FAR


def test_hint_bounds() -> None:
    with pytest.raises(ValueError, match="at most"):
        CaseHint(distinct_from=frozenset(uuid.uuid4() for _ in range(MAX_DISTINCT_FROM + 1)))
    one = uuid.uuid4()
    with pytest.raises(ValueError, match="both"):
        CaseHint(same_as=one, distinct_from=frozenset({one}))
    assert CaseHint.from_dict(None) is None
    assert CaseHint.from_dict({"same_as": str(one)}) == CaseHint(same_as=one)


def test_the_bounds_never_leave_the_locked_cells() -> None:
    bins = DedupSettings(radius_m=15, window_min=240, group="bin")
    assert (nearby_radius_m(bins), hint_bound_m(bins)) == (30, 45)
    wide = DedupSettings(radius_m=70, window_min=60, group="wide")
    assert nearby_radius_m(wide) == hint_bound_m(wide) == CELL_SIZE_M

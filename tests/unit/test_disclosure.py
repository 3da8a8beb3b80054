"""Rounding contact counts down to base 5 (``backend.contacts.rounding``): no subtraction of
one answer's totals and cells gives away a count from 1 to 3.

The exhaustive tests enumerate every set of contacts in small universes and group them by the
answer they publish: a count is derivable exactly when every set of contacts with the same
answer has the same count. The attackers of ``tests.helpers.disclosure`` run on the answers too, and
the exhaustive groups check that the integer-programming attacker is exact.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.contacts.rounding import cells, published
from sync.envelope import AGE_GROUPS, CONTACT_TYPES, NEEDS
from tests.helpers.disclosure import TOTAL, knowledge, pinned, small_pins, solve, subtract

BASE = 5
EDGES = {0, BASE - 1}  # and k * BASE, k * BASE + BASE - 1 above


def is_band_edge(value: int) -> bool:
    return value in EDGES or value % BASE in (0, BASE - 1)


def compositions(total: int, parts: int) -> Iterator[tuple[int, ...]]:
    if parts == 1:
        yield (total,)
        return
    for first in range(total + 1):
        for rest in compositions(total - first, parts - 1):
            yield (first, *rest)


def answer(marginals: dict[str, dict[str, int]], total: int, base: int = BASE) -> dict:
    """An answer of the shape ``GET /contacts/aggregates`` gives, from marginal counts."""
    out = {"rounding_base": base, "total": published(total, base)}
    for name in ("by_type", "by_age_group", "by_zone", "by_hour", "by_week", "by_need"):
        counts = marginals.get(name, {})
        out[name] = cells(counts, sorted(counts), base) if counts else []
    return out


def _publish(total: int, dims: dict[str, Sequence[int]]) -> tuple:
    cells_ = [published(v, BASE) for name in sorted(dims) for v in dims[name]]
    return (published(total, BASE), *cells_)


def test_no_count_from_1_to_3_is_determined_by_an_answer_of_two_breakdowns():
    """Every set of contacts of up to 16 over a 2-key and a 3-key breakdown."""
    groups: dict[tuple, list[tuple[int, ...]]] = defaultdict(list)
    for total in range(17):
        for a in compositions(total, 2):
            for b in compositions(total, 3):
                groups[_publish(total, {"a": a, "b": b})].append((total, *a, *b))
    derivable = Counter()
    for members in groups.values():
        for position in range(6):
            values = {m[position] for m in members}
            if len(values) == 1:
                derivable[next(iter(values))] += 1
    assert not [v for v in derivable if 1 <= v <= BASE - 2]
    assert all(is_band_edge(v) for v in derivable)


def test_the_integer_programming_attacker_is_exact():
    """On the universe above, ``solve`` finds exactly the least and most count of each cell
    over every set of contacts with the same answer (a sample of answers)."""
    groups: dict[tuple, list[tuple[int, ...]]] = defaultdict(list)
    for total in range(15):
        for a in compositions(total, 2):
            for b in compositions(total, 3):
                groups[_publish(total, {"a": a, "b": b})].append((total, *a, *b))
    rng = random.Random(14)
    for members in rng.sample(sorted(groups.values()), 40):
        total, a0, a1, b0, b1, b2 = members[0]
        published_answer = answer(
            {
                "by_type": {"a0": a0, "a1": a1},
                "by_age_group": {"b0": b0, "b1": b1, "b2": b2},
            },
            total,
        )
        bounds = solve(knowledge(published_answer))
        cells_ = [TOTAL, *(("by_type", k) for k in ("a0", "a1"))]
        cells_ += [("by_age_group", k) for k in ("b0", "b1", "b2")]
        for position, cell in enumerate(cells_):
            values = [m[position] for m in members]
            assert bounds[cell] == (min(values), max(values)), (cell, members[0])


NEED_SETS = [("n1",), ("n2",), ("n1", "n2"), ()]


def test_needs_counted_once_per_need_hide_small_counts_too():
    """Every set of up to 13 contacts with two needs (or none) and a 2-key breakdown."""
    groups: dict[tuple, list[tuple[int, ...]]] = defaultdict(list)
    for total in range(14):
        for kinds in compositions(total, len(NEED_SETS)):
            need = Counter()
            for count, needs in zip(kinds, NEED_SETS, strict=True):
                for n in needs or ("none",):
                    need[n] += count
            needs_row = tuple(need[n] for n in ("n1", "n2", "none"))
            for a in compositions(total, 2):
                groups[_publish(total, {"a": a, "need": needs_row})].append((total, *a, *needs_row))
    for members in groups.values():
        for position in range(6):
            values = {m[position] for m in members}
            if len(values) == 1:
                assert is_band_edge(next(iter(values))), members[0]


def _old_answer(marginals: dict[str, dict[str, int]], total: int) -> dict:
    """What the service answered before: exact counts, 1 and 2 hidden, only keys counted."""
    out: dict = {"total": total if total >= 3 else None}
    for name in ("by_type", "by_age_group", "by_zone", "by_hour", "by_week", "by_need"):
        counts = {k: v for k, v in marginals.get(name, {}).items() if v}
        out[name] = [
            {"key": k, "count": v if v >= 3 else None, "suppressed": v < 3}
            for k, v in sorted(counts.items())
        ]
    return out


def _old_knowledge(old: dict):
    known = knowledge({**old, "rounding_base": 1})
    for name in ("by_type", "by_age_group", "by_zone", "by_hour", "by_week", "by_need"):
        for cell in old[name]:
            known.bands[(name, cell["key"])] = (
                (1, 2) if cell["suppressed"] else ((cell["count"],) * 2)
            )
    known.bands[TOTAL] = (old["total"],) * 2 if old["total"] is not None else (1, 2)
    if ("by_need", "none") not in known.bands:  # an unlisted key was a count of 0
        known.bands[("by_need", "none")] = (0, 0)
        known.needs.append(("by_need", "none"))
    return known


ISSUE = {
    # The issue's probe: 13 contacts, 11 aged 26-40, one 18-25, one under 18.
    "by_type": {"conversation": 13},
    "by_age_group": {"26-40": 11, "18-25": 1, "under-18": 1},
    "by_zone": {"sergels-torg": 13},
    "by_hour": {"22": 13},
    "by_need": {"housing": 13},
}


def test_the_attacker_finds_the_child_the_issue_found_in_the_old_answers():
    """The attackers are not toothless: on what the service used to answer they derive that
    exactly one contact was under 18."""
    old = _old_knowledge(_old_answer(ISSUE, 13))
    for attack in (subtract, solve):
        found = small_pins(attack(old), BASE)
        assert found[("by_age_group", "under-18")] == 1
        assert found[("by_age_group", "18-25")] == 1


def test_rounded_the_same_contacts_give_nothing_away():
    full = {
        **ISSUE,
        "by_type": {t: ISSUE["by_type"].get(t, 0) for t in CONTACT_TYPES},
        "by_age_group": {a: ISSUE["by_age_group"].get(a, 0) for a in AGE_GROUPS},
        "by_need": {n: ISSUE["by_need"].get(n, 0) for n in (*NEEDS, "none")},
        "by_hour": {f"{h:02d}": ISSUE["by_hour"].get(f"{h:02d}", 0) for h in range(24)},
    }
    known = knowledge(answer(full, 13))
    for attack in (subtract, solve):
        bounds = attack(known)
        assert small_pins(bounds, BASE) == {}
        assert bounds[("by_age_group", "under-18")] == (0, 4)


def test_what_can_be_derived_is_a_band_edge():
    """The method's known limit: when every key of a breakdown sits at the top of its band
    and the total at the bottom of its own, the hidden cells are their band's top, 4. Never
    1 to 3."""
    types = dict.fromkeys(CONTACT_TYPES, 4)  # five types, four contacts each: 20
    known = knowledge(answer({"by_type": types, "by_zone": {"sergels-torg": 20}}, 20))
    assert pinned(solve(known))[("by_type", "first_aid")] == 4
    assert small_pins(solve(known), BASE) == {}


CONTACT = st.tuples(
    st.sampled_from(CONTACT_TYPES),
    st.sampled_from(AGE_GROUPS),
    st.sampled_from(["sergels-torg", "hotorget", "drottninggatan", ""]),
    st.integers(0, 23),
    st.sampled_from(["2026-W10", "2026-W11", "2026-W12", "2026-W13"]),
    st.lists(st.sampled_from(NEEDS[:4]), max_size=3, unique=True),
)
# Skewed layouts put many cells at the edges of their bands, where derivations happen.
SKEWED = st.lists(CONTACT, min_size=0, max_size=40).flatmap(
    lambda base: (
        st.lists(st.sampled_from(base), min_size=len(base), max_size=3 * len(base))
        if base
        else st.just([])
    )
)


def _answer_of(contacts: list) -> dict:
    keys = {
        "by_type": list(CONTACT_TYPES),
        "by_age_group": list(AGE_GROUPS),
        "by_zone": ["drottninggatan", "hotorget", "sergels-torg", ""],
        "by_hour": [f"{h:02d}" for h in range(24)],
        "by_week": ["2026-W10", "2026-W11", "2026-W12", "2026-W13"],
        "by_need": [*NEEDS[:4], "none"],
    }
    counts = {name: Counter() for name in keys}
    for kind, age, zone, hour, week, needs in contacts:
        counts["by_type"][kind] += 1
        counts["by_age_group"][age] += 1
        counts["by_zone"][zone] += 1
        counts["by_hour"][f"{hour:02d}"] += 1
        counts["by_week"][week] += 1
        for need in needs or ["none"]:
            counts["by_need"][need] += 1
    out = {"rounding_base": BASE, "total": published(len(contacts), BASE)}
    for name, ordered in keys.items():
        out[name] = cells(counts[name], ordered, BASE)
    return out


@settings(max_examples=15, deadline=None)
@given(SKEWED)
def test_no_subtraction_across_six_breakdowns_gives_a_small_count(contacts):
    known = knowledge(_answer_of(contacts))
    assert small_pins(subtract(known), BASE) == {}
    assert small_pins(solve(known), BASE) == {}


@pytest.mark.parametrize("count", range(12))
def test_published_rounds_down_and_hides_below_the_base(count):
    shown = published(count, BASE)
    assert shown == (None if count < BASE else count - count % BASE)


def test_every_key_is_listed_counted_or_not():
    listed = cells({"b": 7}, ["a", "b", "c"], BASE)
    assert listed == [
        {"key": "a", "count": None, "suppressed": True},
        {"key": "b", "count": 5, "suppressed": False},
        {"key": "c", "count": None, "suppressed": True},
    ]
    # Zero and a small count look the same.
    assert cells({"a": 0}, ["a"], BASE) == cells({"a": 3}, ["a"], BASE)


def test_product_of_small_universe_is_complete():
    # Guard for the exhaustive tests above: the enumeration covers every composition.
    assert sum(1 for _ in compositions(4, 3)) == len(
        [c for c in itertools.product(range(5), repeat=3) if sum(c) == 4]
    )

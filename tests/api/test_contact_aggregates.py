"""GET /api/v1/contacts/aggregates through the real push: every count rounded down to base 5,
every key listed, answers for whole periods; the attackers of ``tests.helpers.disclosure`` try every
subtraction on each answer and find no count from 1 to 3."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pytest

from backend.localtime import LOCAL_TZ
from sync.envelope import AGE_GROUPS, CONTACT_TYPES, NEEDS
from tests.helpers.disclosure import knowledge, pinned, small_pins, solve, subtract
from tests.helpers.sync_items import batch, contact

PUSH = "/api/v1/sync/push"
AGGREGATES = "/api/v1/contacts/aggregates"


def last_week() -> date:
    """The Monday of last week (Stockholm): a whole week in the past, within the push's age
    limit, so every day and hour of it can be filled."""
    today = datetime.now(LOCAL_TZ).date()
    return today - timedelta(days=today.weekday() + 7)


def at(day: date, hour: int, minute: int = 0) -> str:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LOCAL_TZ).isoformat()


def push_contacts(client, account, items: list[dict]) -> None:
    for start in range(0, len(items), 200):
        response = client.post(
            PUSH, json=batch(items[start : start + 200]), headers=account.headers
        )
        assert response.status_code == 200, response.get_json()
        statuses = {r["status"] for r in response.get_json()["results"]}
        assert statuses == {"created"}, response.get_json()["results"]


def aggregates(client, account, first: date, last: date, **query) -> dict:
    response = client.get(
        AGGREGATES,
        query_string={"from": first.isoformat(), "to": last.isoformat(), **query},
        headers=account.headers,
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def cell(body: dict, breakdown: str, key: str) -> dict:
    (found,) = [c for c in body[breakdown] if c["key"] == key]
    return found


def test_the_issues_probe_gives_nothing_away(client, create_user):
    """13 contacts on Tuesday 22:00 at Sergels Torg: 11 aged 26-40, one 18-25, one under 18."""
    worker, supervisor = create_user(role="field"), create_user(role="supervisor")
    tuesday = last_week() + timedelta(days=1)
    ages = ["26-40"] * 11 + ["18-25", "under-18"]
    push_contacts(
        client,
        worker,
        [
            contact(age_group=age, captured_at=at(tuesday, 22, n), referral=None)
            for n, age in enumerate(ages)
        ],
    )
    body = aggregates(client, supervisor, tuesday, tuesday)
    assert (body["period"], body["period_kind"]) == (f"{tuesday:%G-W%V}", "week")
    assert (body["from"], body["to"]) == (str(last_week()), str(last_week() + timedelta(days=6)))
    assert (body["total"], body["rounding_base"], body["min_count"]) == (10, 5, 5)
    assert cell(body, "by_age_group", "26-40") == {"key": "26-40", "count": 10, "suppressed": False}
    # The two single contacts look exactly like the age groups nobody was in.
    for age in ("under-18", "18-25", "41-64", "65+", "unknown"):
        assert cell(body, "by_age_group", age) == {"key": age, "count": None, "suppressed": True}
    assert [c["key"] for c in body["by_age_group"]] == list(AGE_GROUPS)
    assert [c["key"] for c in body["by_type"]] == list(CONTACT_TYPES)
    assert [c["key"] for c in body["by_need"]] == [*NEEDS, "none"]
    assert [c["key"] for c in body["by_hour"]] == [f"{h:02d}" for h in range(24)]
    assert cell(body, "by_hour", "22")["count"] == 10
    assert cell(body, "by_zone", "sergels-torg")["count"] == 10
    known = knowledge(body)
    for attack in (subtract, solve):
        bounds = attack(known)
        assert small_pins(bounds, 5) == {}
        assert bounds[("by_age_group", "under-18")] == (0, 4)


def _layout(seed: int, size: int) -> list[dict]:
    """Contacts of last week skewed onto few values, so many cells sit at band edges."""
    rng = random.Random(seed)
    monday = last_week()
    kinds = rng.sample(CONTACT_TYPES, 2)
    ages = rng.sample(AGE_GROUPS, 3)
    needs = rng.sample(NEEDS, 3)
    hours = rng.sample(range(8, 24), 3)
    out = []
    for n in range(size):
        day = monday + timedelta(days=rng.randrange(7))
        out.append(
            contact(
                contact_type=rng.choice(kinds),
                age_group=rng.choice(ages),
                needs=rng.sample(needs, rng.randrange(3)),
                captured_at=at(day, rng.choice(hours), n % 60),
                referral=None,
                location=rng.choice(
                    [
                        {"lat": 59.3325, "lon": 18.0642},  # Sergels Torg
                        {"lat": 59.3343, "lon": 18.0632},  # Hötorget
                        {"lat": 59.3371, "lon": 18.0520},  # outside every zone
                    ]
                ),
            )
        )
    return out


@pytest.mark.parametrize("seed,size", [(1, 9), (2, 14), (3, 19), (4, 24), (5, 38), (6, 61)])
def test_no_subtraction_within_an_answer_gives_a_small_count(client, create_user, seed, size):
    worker, supervisor = create_user(role="field"), create_user(role="supervisor")
    push_contacts(client, worker, _layout(seed, size))
    body = aggregates(client, supervisor, last_week(), last_week() + timedelta(days=6))
    known = knowledge(body)
    for attack in (subtract, solve):
        bounds = attack(known)
        assert small_pins(bounds, 5) == {}, small_pins(bounds, 5)
        # What can be derived exactly is a band's edge: 0, 4, 5, 9 ...
        assert all(v % 5 in (0, 4) for v in pinned(bounds).values())
    for zone in ("sergels-torg", "hotorget"):
        one = aggregates(client, supervisor, last_week(), last_week(), zone=zone)
        assert [c["key"] for c in one["by_zone"]] == [zone]
        assert small_pins(solve(knowledge(one)), 5) == {}


def test_answers_cover_whole_weeks_months_quarters_or_years(client, create_user):
    supervisor = create_user(role="supervisor")

    def period(first: str, last: str) -> tuple[str, str, str, int]:
        body = aggregates(client, supervisor, date.fromisoformat(first), date.fromisoformat(last))
        return body["period"], body["from"], body["to"], len(body["by_week"])

    # A day and a Monday-Sunday week: that ISO week.
    assert period("2026-03-04", "2026-03-04") == ("2026-W10", "2026-03-02", "2026-03-08", 1)
    assert period("2026-03-02", "2026-03-08") == ("2026-W10", "2026-03-02", "2026-03-08", 1)
    # A calendar month: the weeks whose Thursday is in it.
    assert period("2026-03-01", "2026-03-31") == ("2026-03", "2026-03-02", "2026-03-29", 4)
    # A quarter and a year of ISO weeks; a range across months widens to what holds it.
    assert period("2026-01-01", "2026-03-31") == ("2026-Q1", "2025-12-29", "2026-03-29", 13)
    assert period("2026-01-01", "2026-12-31") == ("2026", "2025-12-29", "2027-01-03", 53)
    assert period("2026-03-23", "2026-04-08")[0] == "2026"


@pytest.mark.parametrize(
    "query,code",
    [
        ({"from": "2025-12-15", "to": "2026-01-15"}, "range_spans_years"),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "range_reversed"),
        ({"from": "2025-01-01", "to": "2026-01-02"}, "range_too_long"),  # 367 days; 366 allowed
        ({"from": "0001-01-01", "to": "0001-01-02"}, "validation_error"),
        ({"from": "9999-12-30", "to": "9999-12-31"}, "validation_error"),
        ({"from": "2026-03-02", "to": "2026-03-08", "zone": "no-such-zone"}, "unknown_zone"),
    ],
)
def test_bad_ranges_are_422_with_a_code(client, create_user, query, code):
    supervisor = create_user(role="supervisor")
    response = client.get(AGGREGATES, query_string=query, headers=supervisor.headers)
    assert (response.status_code, response.get_json()["code"]) == (422, code)


def test_only_supervisors_and_admins_get_aggregates(client, create_user):
    query = {"from": "2026-03-02", "to": "2026-03-08"}
    for role, status in (("supervisor", 200), ("admin", 200), ("department", 403), ("field", 403)):
        account = create_user(role=role, org="socialtjanst-uppsok")
        assert client.get(AGGREGATES, query_string=query, headers=account.headers).status_code == (
            status
        )

"""GET /api/v1/presence/summary names its workers: ``by_worker`` has each worker's totals over
the range, for supervisors and admins; a field worker gets only their own line."""

from __future__ import annotations

import pytest

from tests.api.test_presence import (
    SUMMARY,
    _day_with_two_workers,
    local,
    old_items_accepted,  # noqa: F401 (a fixture)
    ping,
    push,
)
from tests.helpers.sync_items import contact, iso, presence, report

RANGE = {"from": "2026-05-11", "to": "2026-05-13"}


@pytest.fixture
def two_days(client, create_user, old_items_accepted):  # noqa: F811
    """Anna: 08-12 on the 12th (4 h), 10:00-10:45 on the 13th with a report and a contact
    there; Bo: 09:30-11:00 on the 12th."""
    anna, bo = _day_with_two_workers(client, create_user, name="Anna Ängel")
    day = "2026-05-13"
    push(
        client,
        anna,
        [
            presence(event="shift_start", captured_at=iso(local("10:00", day=day))),
            ping(local("10:30", day=day)),
            report(captured_at=iso(local("10:31", day=day))),
            contact(captured_at=iso(local("10:32", day=day))),
            presence(event="shift_end", captured_at=iso(local("10:45", day=day))),
        ],
    )
    return anna, bo


def _summary(client, account, **query):
    response = client.get(SUMMARY, query_string={**RANGE, **query}, headers=account.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_supervisors_see_each_workers_totals_by_name(client, create_user, two_days, role):
    anna, bo = two_days
    body = _summary(client, create_user(role=role))
    lines = {w["worker_id"]: w for w in body["by_worker"]}
    assert [w["worker_id"] for w in body["by_worker"]] == sorted([str(anna.id), str(bo.id)])
    a, b = lines[str(anna.id)], lines[str(bo.id)]
    assert (a["name"], a["days"], a["seconds"], a["minutes"]) == ("Anna Ängel", 2, 285 * 60, 285.0)
    assert a["filed"] == {"reports": 1, "contacts": 1}
    assert (b["name"], b["days"], b["minutes"], b["filed"]) == (
        bo.name,
        1,
        90.0,
        {"reports": 0, "contacts": 0},
    )
    assert {z["zone"] for z in b["zones"]} == {"drottninggatan"}
    # The lines add up to the totals the summary already had (unchanged fields).
    assert body["workers"] == 2
    assert sum(w["seconds"] for w in body["by_worker"]) == sum(z["seconds"] for z in body["zones"])
    assert body["filed"] == {"reports": 1, "contacts": 1}
    by_zone: dict = {}
    for line in body["by_worker"]:
        for z in line["zones"]:
            by_zone[z["zone"]] = by_zone.get(z["zone"], 0) + z["seconds"]
    assert by_zone == {z["zone"]: z["seconds"] for z in body["zones"]}


def test_a_zone_filter_narrows_the_lines_too(client, create_user, two_days):
    anna, _ = two_days
    body = _summary(client, create_user(role="supervisor"), zone="hotorget")
    (line,) = body["by_worker"]
    assert line["worker_id"] == str(anna.id)
    assert {z["zone"] for z in line["zones"]} == {"hotorget"}
    assert line["seconds"] == sum(z["seconds"] for z in body["zones"])


def test_a_field_worker_sees_only_their_own_line(client, two_days):
    anna, bo = two_days
    response = client.get(SUMMARY, query_string=RANGE, headers=anna.headers)
    (line,) = response.get_json()["by_worker"]
    assert (line["worker_id"], line["name"], line["days"]) == (str(anna.id), "Anna Ängel", 2)
    text = response.get_data(as_text=True)
    assert str(bo.id) not in text and bo.name not in text


def test_an_empty_range_has_no_lines(client, create_user, two_days):
    body = client.get(
        SUMMARY,
        query_string={"from": "2026-06-01", "to": "2026-06-02"},
        headers=create_user(role="supervisor").headers,
    ).get_json()
    assert (body["by_worker"], body["workers"]) == ([], 0)

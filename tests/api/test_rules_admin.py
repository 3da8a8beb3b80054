"""GET/PUT /api/v1/admin/rules: the rule set is data an admin changes without a deploy."""

from __future__ import annotations

import tomllib

import pytest

from backend.routing.rules import RULES_FILE
from tests.helpers.sync_items import SERGELS_TORG, report
from tests.helpers.tasks import push, task_of

RULES = "/api/v1/admin/rules"


def _shipped() -> dict:
    return tomllib.loads(RULES_FILE.read_text("utf-8"))


def test_the_shipped_rules_are_active_until_an_admin_saves(client, admin):
    body = client.get(RULES, headers=admin.headers).get_json()
    assert body == _shipped()


def test_a_new_version_routes_the_next_case_and_tasks_record_it(client, admin, field_user):
    rules = _shipped()
    rules["version"] = 2
    # Send overflowing bins at Sergels Torg to Fastighetskontoret from now on.
    rules["rule"].insert(
        0,
        {
            "id": "bins-to-fastighet",
            "categories": ["litter.overflowing_bin"],
            "organisation": "fastighetskontoret",
            "priority": "low",
            "deadline": "hours(48)",
        },
    )
    before = report()
    push(client, field_user, [before])
    first = task_of(before["id"])
    response = client.put(RULES, json=rules, headers=admin.headers)
    assert response.status_code == 200, response.get_json()
    assert client.get(RULES, headers=admin.headers).get_json()["version"] == 2
    # Another bin, 110 m away: the same bin would join the first case and its open task.
    after = report(location={**SERGELS_TORG, "lat": SERGELS_TORG["lat"] + 0.001})
    push(client, field_user, [after])
    second = task_of(after["id"])
    assert (first.organisation.slug, first.rule_set_version) == ("trafikkontoret", 1)
    assert (second.organisation.slug, second.rule_id, second.rule_set_version) == (
        "fastighetskontoret",
        "bins-to-fastighet",
        2,
    )
    assert second.priority == "low"


@pytest.mark.parametrize("version", [1, 0])
def test_a_version_that_is_not_newer_is_409(client, admin, version):
    rules = {**_shipped(), "version": version}
    response = client.put(RULES, json=rules, headers=admin.headers)
    if version < 1:
        assert response.status_code == 422
        assert response.get_json()["code"] == "invalid_rule_set"
        return
    assert response.status_code == 409
    assert response.get_json()["code"] == "rule_set_version_not_newer"


def test_an_invalid_rule_set_is_422_with_every_problem_named(client, admin):
    rules = _shipped()
    rules["version"] = 2
    rules["rule"][0]["organisation"] = "no-such-org"
    rules["rule"][1]["zones"] = ["atlantis"]
    rules["surprise"] = True
    response = client.put(RULES, json=rules, headers=admin.headers)
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "invalid_rule_set"
    assert set(body["errors"]) == {"rule[0].organisation", "rule[1].zones", "surprise"}
    assert client.get(RULES, headers=admin.headers).get_json()["version"] == 1


def test_seed_demo_stores_the_shipped_rules(runner, client, admin):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    # Stored now: saving the same version again is refused, a newer one accepted.
    same = client.put(RULES, json=_shipped(), headers=admin.headers)
    assert same.status_code == 409
    newer = client.put(RULES, json={**_shipped(), "version": 2}, headers=admin.headers)
    assert newer.status_code == 200


def test_a_version_beyond_the_column_is_422_not_a_crash(client, admin):
    response = client.put(RULES, json={**_shipped(), "version": 2**40}, headers=admin.headers)
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"version": ["at most 2147483647"]}

"""Admin changes of what a push reads (categories, zones, organisations, the rule set) take
effect on the very next push in every gunicorn worker, though each worker process caches them
(``backend.sync.push_config``, per version token): a change in one process, or in another
program on the same database, replaces the token, and every worker reloads.

Which worker answered is told by gunicorn's access log, which names the process (``%(p)s``).
"""

from __future__ import annotations

import json
import random
import re
import urllib.request
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.sync_items import batch, contact, presence, report

NEW_CATEGORY = "litter.cache_test"
NEW_ZONE = "cache-test-zon"
ORG = "socialtjanst-uppsok"


def _call(url: str, token: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        url + path,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def live_server_env(tmp_path: Path) -> dict[str, str]:
    log = tmp_path / "access.log"
    return {"GUNICORN_CMD_ARGS": f"--access-logfile {log} --access-logformat %(p)s:%(U)s"}


def _pushes_by_worker(log: Path) -> Counter[str]:
    lines = log.read_text().splitlines() if log.exists() else []
    return Counter(
        re.sub(r"\D", "", pid)
        for pid, _, path in (ln.partition(":") for ln in lines)
        if path == "/api/v1/sync/push"
    )


def _by_every_worker(server: Any, push: Callable[[], Any], most: int = 60) -> list[Any]:
    """Call ``push`` until each worker has answered at least once; its answers. Two at a time:
    one after another, the idle sync worker that wins the accept can take every request."""
    log = server.log_path.parent / "access.log"
    workers = {str(pid) for pid in server.workers()}
    assert len(workers) == 2
    before = _pushes_by_worker(log)
    answers: list[Any] = []
    with ThreadPoolExecutor(2) as pool:
        while len(answers) < most:
            answers.extend(pool.map(lambda _: push(), range(2)))
            now = _pushes_by_worker(log)
            if all(now[pid] > before[pid] for pid in workers):
                return answers
    raise AssertionError(f"one worker never answered: {now}")


def _items() -> list[dict[str, Any]]:
    # A place of its own each time, so each report starts a case that is routed.
    where = {"lat": 59.3325 + random.uniform(-0.02, 0.02), "lon": 18.0642, "accuracy_m": 8.0}
    return [
        report(category=NEW_CATEGORY, location=where),
        presence(zone=NEW_ZONE),
        contact(referral=ORG),
    ]


def _change_reference_data() -> None:
    """Another program on the database (the CLI's reference loader, say) adds a category and a
    zone."""
    from backend.extensions import db
    from backend.reference.models import Category, Zone

    ring = [[18.10, 59.35], [18.11, 59.35], [18.11, 59.36], [18.10, 59.36], [18.10, 59.35]]
    settings = {"dedup_radius_m": 15, "dedup_window_min": 60, "dedup_group": "cache-test"}
    db.session.add(
        Category(
            code=NEW_CATEGORY, kind="litter", label_sv="Test", label_en="Test", settings=settings
        )
    )
    db.session.add(
        Zone(
            slug=NEW_ZONE,
            name="Test",
            geometry={"type": "Polygon", "coordinates": [ring]},
            min_lat=59.35,
            min_lon=18.10,
            max_lat=59.36,
            max_lon=18.11,
        )
    )
    db.session.commit()
    db.session.remove()


def _next_rules() -> dict[str, Any]:
    import tomllib

    from backend.routing.rules import RULES_FILE

    rules = tomllib.loads(RULES_FILE.read_text("utf-8"))
    return {**rules, "version": rules["version"] + 1}


def _rule_set_versions(case_ids: list[str]) -> set[int]:
    import uuid

    from sqlalchemy import select

    from backend.extensions import db
    from backend.tasks.models import Task

    ids = [uuid.UUID(c) for c in case_ids]
    versions = set(
        db.session.execute(select(Task.rule_set_version).where(Task.case_id.in_(ids))).scalars()
    )
    db.session.remove()
    return versions


def test_admin_changes_reach_the_next_push_in_every_worker(live_server, field_user, admin):
    from backend.extensions import db
    from backend.sync import push_config

    url, token = live_server.url, field_user.token
    # A token to cache under, as on a migrated database (the test's tables were emptied).
    push_config.bump(db.session())
    db.session.commit()
    db.session.remove()

    def push() -> list[dict[str, Any]]:
        status, body = _call(url, token, "POST", "/api/v1/sync/push", batch(_items()))
        assert status == 200, body
        return body["results"]

    # Every worker has read (and cached) the configuration of before.
    for results in _by_every_worker(live_server, push):
        assert [r.get("code") for r in results] == ["unknown_category", "unknown_zone", None]

    _change_reference_data()
    status, body = _call(
        url, admin.token, "PATCH", f"/api/v1/admin/organisations/{ORG}", {"active": False}
    )
    assert status == 200, body
    rules = _next_rules()
    status, body = _call(url, admin.token, "PUT", "/api/v1/admin/rules", rules)
    assert status == 200, body

    answers = _by_every_worker(live_server, push)
    for results in answers:
        assert [(r["status"], r.get("code")) for r in results] == [
            ("created", None),
            ("created", None),
            ("rejected", "unknown_referral"),
        ]
    assert _rule_set_versions([r[0]["case_id"] for r in answers]) == {rules["version"]}

"""Several processes pushing the same items at once, as resending phones behind several
gunicorn workers do, while a phone pulls the feed: every item stored once, one ``created``
each, no 5xx, and the pulled feed neither skips nor repeats a change."""

from __future__ import annotations

import json
import multiprocessing
import random
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from backend.extensions import db
from backend.feed.models import Change
from backend.sync.models import SyncItem
from tests.helpers.sync_items import batch, contact, presence, report

WRITERS = 4
ITEMS = 120
BATCH = 20


def _writer(
    url: str, token: str, items: list[dict[str, Any]], seed: int, out: str, barrier: Any
) -> None:
    from backend.app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    client = app.test_client()
    mine = list(items)
    random.Random(seed).shuffle(mine)
    results: list[dict[str, Any]] = []
    statuses: list[int] = []
    barrier.wait()
    for start in range(0, len(mine), BATCH):
        response = client.post(
            "/api/v1/sync/push",
            json=batch(mine[start : start + BATCH], device_id=f"phone-{seed}"),
            headers={"Authorization": f"Bearer {token}"},
        )
        statuses.append(response.status_code)
        if response.status_code == 200:
            results.extend(response.get_json()["results"])
    Path(out).write_text(json.dumps({"statuses": statuses, "results": results}))


def test_concurrent_identical_pushes_store_each_item_once(app, client, field_user, tmp_path):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    makers = (report, contact, presence)
    items = [makers[n % 3]() for n in range(ITEMS)]
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(WRITERS)
    outs = [tmp_path / f"writer-{n}.json" for n in range(WRITERS)]
    procs = [
        ctx.Process(target=_writer, args=(url, field_user.token, items, n, str(outs[n]), barrier))
        for n in range(WRITERS)
    ]
    for proc in procs:
        proc.start()

    # Pull while the writers write: the cursor must neither skip nor repeat a change.
    seen: list[str] = []
    cursor = ""
    while True:
        done = all(not p.is_alive() for p in procs)
        response = client.get(
            "/api/v1/sync/pull",
            query_string={"cursor": cursor, "limit": 7},
            headers=field_user.headers,
        )
        assert response.status_code == 200
        body = response.get_json()
        seen.extend(
            c["id"]
            for c in body["changes"]
            if c["type"] != "reference" and c["status"] == "received"
        )
        cursor = body["cursor"]
        if done and not body["has_more"]:
            break
        db.session.remove()
    for proc in procs:
        proc.join(120)
    assert [p.exitcode for p in procs] == [0] * WRITERS

    by_id: dict[str, Counter[str]] = {i["id"]: Counter() for i in items}
    for out in outs:
        data = json.loads(out.read_text())
        assert set(data["statuses"]) == {200}
        for result in data["results"]:
            by_id[result["id"]][result["status"]] += 1
    expected = Counter({"created": 1, "duplicate": WRITERS - 1})
    assert all(counts == expected for counts in by_id.values()), by_id

    assert db.session.execute(select(func.count()).select_from(SyncItem)).scalar_one() == ITEMS
    received = db.session.execute(
        select(func.count())
        .select_from(Change)
        .where(Change.stream == str(field_user.id), Change.status == "received")
    ).scalar_one()
    assert received == ITEMS
    assert sorted(seen) == sorted(i["id"] for i in items)

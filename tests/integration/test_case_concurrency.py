"""Several phones reporting the same bin at the same moment, through different processes (as
behind several gunicorn workers): their reports end in one case, on SQLite and PostgreSQL.

Without the per-cell lock (PostgreSQL) every process would read "no open case" before any of
them committed and each would start its own case.
"""

from __future__ import annotations

import json
import multiprocessing
from datetime import timedelta
from pathlib import Path
from typing import Any

from pyproj import Geod
from sqlalchemy import func, select

from backend.cases.models import Case
from backend.extensions import db
from backend.reports.models import Report
from tests.helpers.sync_items import SERGELS_TORG, batch, iso, now, report

WRITERS = 6
ROUNDS = 3
GEOD = Geod(ellps="WGS84")


def _writer(url: str, token: str, items: list[dict[str, Any]], out: str, barrier: Any) -> None:
    from backend.app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    client = app.test_client()
    results: list[dict[str, Any]] = []
    statuses: list[int] = []
    for item in items:
        barrier.wait()
        response = client.post(
            "/api/v1/sync/push",
            json=batch([item], device_id=f"phone-{item['id'][:8]}"),
            headers={"Authorization": f"Bearer {token}"},
        )
        statuses.append(response.status_code)
        if response.status_code == 200:
            results.extend(response.get_json()["results"])
    Path(out).write_text(json.dumps({"statuses": statuses, "results": results}))


def test_phones_reporting_one_bin_at_once_make_one_case(app, create_user, tmp_path):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    users = [create_user(role="field") for _ in range(WRITERS)]
    t0 = now() - timedelta(minutes=30)
    # Each round, every phone reports the same bin (a few metres apart, as GPS scatters); the
    # rounds are different bins 60 m apart, so the lock must also keep them apart.
    rounds: list[list[dict[str, Any]]] = []
    for n in range(ROUNDS):
        lon, lat, _ = GEOD.fwd(SERGELS_TORG["lon"], SERGELS_TORG["lat"], 90, 60 * n)
        rounds.append(
            [
                report(
                    captured_at=iso(t0 + timedelta(seconds=w)),
                    location={"lat": lat + w * 1e-5, "lon": lon, "accuracy_m": 6},
                )
                for w in range(WRITERS)
            ]
        )
    # End this process's transaction: on SQLite an open one would hold the write lock.
    db.session.remove()
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(WRITERS)
    outs = [tmp_path / f"writer-{w}.json" for w in range(WRITERS)]
    procs = [
        ctx.Process(
            target=_writer,
            args=(url, users[w].token, [r[w] for r in rounds], str(outs[w]), barrier),
        )
        for w in range(WRITERS)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(180)
    assert [p.exitcode for p in procs] == [0] * WRITERS

    by_round: list[set[str]] = [set() for _ in range(ROUNDS)]
    joined: list[int] = [0] * ROUNDS
    index = {item["id"]: n for n, items in enumerate(rounds) for item in items}
    for out in outs:
        data = json.loads(out.read_text())
        assert data["statuses"] == [200] * ROUNDS
        for result in data["results"]:
            assert result["status"] == "created"
            by_round[index[result["id"]]].add(result["case_id"])
            joined[index[result["id"]]] += result["joined_case"]
    assert [len(cases) for cases in by_round] == [1] * ROUNDS
    assert len(set().union(*by_round)) == ROUNDS
    # Exactly one phone per bin started the case; the others were told they joined it.
    assert joined == [WRITERS - 1] * ROUNDS

    assert db.session.execute(select(func.count()).select_from(Case)).scalar_one() == ROUNDS
    counts = db.session.execute(select(Case.report_count)).scalars().all()
    assert counts == [WRITERS] * ROUNDS
    assert (
        db.session.execute(
            select(func.count()).select_from(Report).where(Report.case_id.is_(None))
        ).scalar_one()
        == 0
    )


def test_phones_naming_one_case_at_once_all_join_it(app, client, create_user, tmp_path):
    """Hints (issue 21): phones up to three radii (45 m) away on every side, each saying
    ``same_as`` one case at the same moment, all join it and its report count misses none:
    the case's cell is among each report's locked cells."""
    users = [create_user(role="field") for _ in range(WRITERS)]
    first = report(captured_at=iso(now() - timedelta(minutes=40)))
    response = client.post("/api/v1/sync/push", json=batch([first]), headers=users[0].headers)
    case_id = response.get_json()["results"][0]["case_id"]
    items = []
    for w in range(WRITERS):
        lon, lat, _ = GEOD.fwd(SERGELS_TORG["lon"], SERGELS_TORG["lat"], w * 60, 40)
        items.append(
            report(
                captured_at=iso(now() - timedelta(minutes=30)),
                location={"lat": lat, "lon": lon, "accuracy_m": 5},
                case_hint={"same_as": case_id},
            )
        )
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    db.session.remove()
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(WRITERS)
    outs = [tmp_path / f"hinter-{w}.json" for w in range(WRITERS)]
    procs = [
        ctx.Process(target=_writer, args=(url, users[w].token, [items[w]], str(outs[w]), barrier))
        for w in range(WRITERS)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(180)
    assert [p.exitcode for p in procs] == [0] * WRITERS
    for out in outs:
        [result] = json.loads(out.read_text())["results"]
        assert (result["status"], result["case_id"]) == ("created", case_id)
        assert result["hint"]["followed"] is True
    assert db.session.execute(select(Case.report_count)).scalars().all() == [1 + WRITERS]

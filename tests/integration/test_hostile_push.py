"""A phone pushing 200 reports at the poles, again and again, stalls no other phone: under
gunicorn with 2 workers, the other phone's one-report pushes all go in meanwhile.

Once, each pole report made the push hash and lock ~400,000 grid cells inside its write
transaction; on SQLite another phone got 503 after 30 s. Now the service area rejects them, and
even with the area opened to the whole world (SERVICE_AREA) a report touches at most 3 x 3 cells.
How fast the other phone's pushes are, against the same pushes alone, is measured by
benchmarks/bench_hostile.py; this test asserts what the phones see.
"""

from __future__ import annotations

import pytest

from tests.conftest import server_env
from tests.helpers.hostile import WORLD, Attack, one_report_pushes
from tests.helpers.servers import Gunicorn


@pytest.mark.parametrize("area", ["default", "world"])
def test_pole_batches_stall_no_other_phone(app, create_user, tmp_path, area):
    from backend.extensions import db

    attacker, other = create_user(role="field"), create_user(role="field")
    db.session.remove()  # no open SQLite transaction of the test's own
    overrides = {"SERVICE_AREA": WORLD} if area == "world" else {}
    server = Gunicorn(server_env(app, **overrides), tmp_path / "gunicorn.log")
    try:
        with Attack(server.url, attacker.token) as attack:
            pushes = one_report_pushes(server.url, other.token, 10)
    finally:
        server.stop()

    assert [status for status, _, _ in pushes] == [200] * 10
    assert {r["status"] for _, body, _ in pushes for r in body["results"]} == {"created"}
    assert attack.answers and {status for status, _ in attack.answers} == {200}
    results = [r for _, body in attack.answers for r in body["results"]]
    assert len(results) == 200 * len(attack.answers)
    if area == "default":
        assert {(r["status"], r["code"]) for r in results} == {("rejected", "outside_service_area")}
    else:
        assert {r["status"] for r in results} <= {"created"}
        # Three places, each its own case: the pole reports merged instead of piling up.
        assert len({r["case_id"] for r in results}) == 3

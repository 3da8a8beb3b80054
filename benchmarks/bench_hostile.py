"""One phone's one-report pushes while another phone pushes 200-report batches at the poles,
against the same pushes alone, in the same run: gunicorn with 2 workers on SQLite (its single
writer is where a slow push stalls everyone) or PostgreSQL.

    .venv/bin/python -m benchmarks.bench_hostile [--pushes 30] [--backend sqlite|postgresql]

Prints the other phone's median and p90 push time alone, beside a phone pushing ordinary
200-report batches back to back (the baseline: what any full batch costs the others), and
beside one pushing 200-report batches at the poles, with the service area on (pole items
rejected) and opened to the whole world (pole reports stored, so the 3 x 3 cell bound of
sync/cells.py is what holds); the ratio that matters is poles / ordinary. Takes ~2 min.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import uuid
from pathlib import Path

from tests.helpers.hostile import WORLD, Attack, one_report_pushes, ordinary_batch
from tests.helpers.servers import Gunicorn, PostgresServer

ROOT = Path(__file__).resolve().parent.parent


def _prepare(url: str) -> tuple[str, str]:
    from flask_migrate import upgrade

    from backend.app import create_app
    from backend.extensions import db
    from backend.reference.services import load_reference_data
    from backend.users.services import create_user

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        load_reference_data(db.session())
        tokens = [
            create_user(db.session(), name=f"bench-{uuid.uuid4().hex[:6]}", role="field")[1]
            for _ in range(2)
        ]
        db.session.remove()
        db.engine.dispose()
    return tokens[0], tokens[1]


def _times(url: str, token: str, n: int) -> list[float]:
    pushes = one_report_pushes(url, token, n)
    assert all(status == 200 for status, _, _ in pushes), [s for s, _, _ in pushes]
    return [seconds for _, _, seconds in pushes]


def _p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1]


def run(url: str, pushes: int, work: Path) -> None:
    attacker, other = _prepare(url)
    env = {
        "DATABASE_URL": url,
        "MEDIA_ROOT": str(work / "media"),
        "RATE_LIMIT_PUSH_PER_MINUTE": "0",  # the attacker pushes far faster than a phone
    }
    rows = []
    for label, extra in (
        ("service area (pole items rejected)", {}),
        ("area opened to the whole world (pole items stored)", {"SERVICE_AREA": WORLD}),
    ):
        server = Gunicorn({**env, **extra}, work / f"gunicorn-{len(rows)}.log")
        try:
            _times(server.url, other, 3)  # warm both workers
            alone = _times(server.url, other, pushes)
            with Attack(server.url, attacker, make=ordinary_batch) as ordinary:
                beside_ordinary = _times(server.url, other, pushes)
            with Attack(server.url, attacker) as poles:
                beside_poles = _times(server.url, other, pushes)
        finally:
            server.stop()
        rows.append((label, alone, beside_ordinary, beside_poles, ordinary, poles))
    for label, alone, beside_ordinary, beside_poles, ordinary, poles in rows:
        med = statistics.median
        print(f"{label}:")
        print(
            f"  one-report push alone: median {med(alone) * 1000:.0f} ms, "
            f"p90 {_p90(alone) * 1000:.0f} ms"
        )
        print(
            f"  beside {len(ordinary.answers)} ordinary batches of 200: median "
            f"{med(beside_ordinary) * 1000:.0f} ms, p90 {_p90(beside_ordinary) * 1000:.0f} ms"
        )
        print(
            f"  beside {len(poles.answers)} pole batches of 200: median "
            f"{med(beside_poles) * 1000:.0f} ms, p90 {_p90(beside_poles) * 1000:.0f} ms"
        )
        print(
            f"  ratio beside poles / beside ordinary batches: "
            f"{med(beside_poles) / med(beside_ordinary):.2f}x; "
            f"beside poles / alone: {med(beside_poles) / med(alone):.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pushes", type=int, default=30)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as tmp:
        work = Path(tmp)
        if args.backend == "sqlite":
            run(f"sqlite:///{work / 'bench.db'}", args.pushes, work)
            return
        server = PostgresServer()
        server.start()
        try:
            run(server.create_database("bench_hostile"), args.pushes, work)
        finally:
            server.cleanup()


if __name__ == "__main__":
    main()

"""Several processes writing to one SQLite file at once, as several gunicorn workers do."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from sqlalchemy import func, select

WRITERS = 4
USERS_EACH = 40


def _writer(url: str, index: int, barrier: multiprocessing.synchronize.Barrier) -> None:
    from backend.app import create_app
    from backend.extensions import db
    from backend.users.services import create_user

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        barrier.wait()
        for n in range(USERS_EACH):
            create_user(db.session(), name=f"w{index}-{n}", role="field")
            db.session.remove()


def test_concurrent_sqlite_writers_never_see_database_locked(tmp_path: Path) -> None:
    from flask_migrate import upgrade

    from backend.app import create_app
    from backend.extensions import db
    from backend.reference.services import load_reference_data
    from backend.users.models import User

    url = f"sqlite:///{tmp_path / 'shared.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        load_reference_data(db.session())
        db.session.remove()

    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(WRITERS)
    procs = [ctx.Process(target=_writer, args=(url, i, barrier)) for i in range(WRITERS)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
    assert [p.exitcode for p in procs] == [0] * WRITERS

    with app.app_context():
        count = db.session.execute(select(func.count()).select_from(User)).scalar_one()
        mode = db.session.execute(db.text("PRAGMA journal_mode")).scalar_one()
    assert count == WRITERS * USERS_EACH
    assert mode == "wal"

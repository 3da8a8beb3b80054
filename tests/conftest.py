"""Fixtures: real PostgreSQL and Redis servers, an app per database backend, factories.

Every test that uses ``app`` runs twice, on SQLite and on PostgreSQL (``--db`` picks one).
The schema comes from the Alembic migrations, so the migrations are tested too. Between tests
every table is emptied and the reference data reloaded: tests that start other processes
(workers, gunicorn, concurrent pushes) see committed data, which a rolled-back outer
transaction could not give them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from redis import Redis
from sqlalchemy import text

from tests.servers import Gunicorn, PostgresServer, RedisServer

BACKENDS = ("sqlite", "postgresql")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        action="append",
        choices=BACKENDS,
        help="database backend(s) to run the app tests on (default: both)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_backend" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("db") or list(BACKENDS)
        metafunc.parametrize("db_backend", chosen, scope="session")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    yield server
    server.cleanup()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.cleanup()


@pytest.fixture(scope="session")
def database_url(
    db_backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> str:
    if db_backend == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database("samverkan_test")


@pytest.fixture(scope="session")
def base_app(
    database_url: str, redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    from flask_migrate import upgrade

    from backend.app import create_app

    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": redis_server.url(1),
            "MEDIA_ROOT": str(tmp_path_factory.mktemp("media")),
            "SECRET_KEY": "test",
            # Tests of other behaviour push far faster than any phone; the rate limits have
            # their own tests (tests/api/test_rate_limits.py), which turn them on.
            "RATE_LIMIT_PUSH_PER_MINUTE": 0,
            "RATE_LIMIT_UPLOAD_PER_MINUTE": 0,
            "RATE_LIMIT_OPEN311_PER_MINUTE": 0,
        }
    )
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        from backend.extensions import db

        db.engine.dispose()


def _empty_all_tables(app: Flask) -> None:
    from backend.extensions import db
    from backend.reference.services import load_reference_data

    with app.app_context():
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            # Append-only tables refuse DELETE by trigger; TRUNCATE on PostgreSQL bypasses row
            # triggers, on SQLite they are set aside while the tables are emptied.
            triggers = db.session.execute(
                text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
            ).all()
            for name, _ in triggers:
                db.session.execute(text(f"DROP TRIGGER {name}"))
            for table in tables:
                db.session.execute(text(f"DELETE FROM {table}"))
            for _, sql in triggers:
                db.session.execute(text(sql))
        db.session.commit()
        load_reference_data(db.session())
        db.session.remove()


@pytest.fixture
def app(base_app: Flask, tmp_path: Path) -> Iterator[Flask]:
    _empty_all_tables(base_app)
    # Stored photos are emptied with the tables: each test starts with no media files.
    base_app.config["MEDIA_ROOT"] = str(tmp_path / "media")
    Redis.from_url(base_app.config["REDIS_URL"]).flushdb()
    with base_app.app_context():
        yield base_app
        from backend.extensions import db

        db.session.remove()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@dataclass
class Account:
    id: uuid.UUID
    name: str
    role: str
    organisation: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def create_user(app: Flask) -> Callable[..., Account]:
    from backend.extensions import db
    from backend.users.services import create_user as create

    def factory(role: str = "field", org: str = "city-i-samverkan", name: str = "") -> Account:
        name = name or f"{role}-{uuid.uuid4().hex[:8]}"
        user, token = create(db.session(), name=name, role=role, organisation=org)
        return Account(user.id, name, role, org, token)

    return factory


@pytest.fixture
def admin(create_user: Callable[..., Account]) -> Account:
    return create_user(role="admin")


@pytest.fixture
def field_user(create_user: Callable[..., Account]) -> Account:
    return create_user(role="field")


def server_env(app: Flask, **overrides: str) -> dict[str, str]:
    """The environment that makes a process of the service (gunicorn, a worker, the CLI) use the
    test's database, Redis and photo store, with the test app's rate limits."""
    config = app.config
    return {
        "DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": config["REDIS_URL"],
        "MEDIA_ROOT": config["MEDIA_ROOT"],
        "SECRET_KEY": config["SECRET_KEY"],
        "RATE_LIMIT_PUSH_PER_MINUTE": str(config["RATE_LIMIT_PUSH_PER_MINUTE"]),
        "RATE_LIMIT_UPLOAD_PER_MINUTE": str(config["RATE_LIMIT_UPLOAD_PER_MINUTE"]),
        "RATE_LIMIT_OPEN311_PER_MINUTE": str(config["RATE_LIMIT_OPEN311_PER_MINUTE"]),
        **overrides,
    }


@pytest.fixture
def live_server_env() -> dict[str, str]:
    """Environment variables (as the README's configuration table names them) that a test's
    ``live_server`` runs with besides the test app's: override this fixture in a module, or
    parametrize it (``@pytest.mark.parametrize("live_server_env", [{...}])``), to set some."""
    return {}


@pytest.fixture
def live_server(app: Flask, tmp_path: Path, live_server_env: dict[str, str]) -> Iterator[Gunicorn]:
    """The service under gunicorn with 2 worker processes, on the test's database and Redis.

    The fixture's own session is released first: an open SQLite transaction of the test would
    otherwise hold the lock that gunicorn's workers need to write.
    """
    from backend.extensions import db

    db.session.remove()
    server = Gunicorn(server_env(app, **live_server_env), tmp_path / "gunicorn.log")
    yield server
    server.stop()


def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", "postgres_only: runs only on PostgreSQL")


CONTRACT_RUN = pytest.StashKey[dict[str, Any]]()
"""What tests/integration/test_contract.py ran, for the summary at the end of the session."""


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    for backend, run in sorted(config.stash.get(CONTRACT_RUN, {}).items()):
        terminalreporter.write_line(
            f"schemathesis ({backend}), all {run['checks']} checks: {len(run['operations'])} "
            f"operations x {len(run['roles'])} roles, {run['requests']} requests"
        )


@pytest.fixture
def role_headers(create_user: Callable[..., Account]) -> dict[str, dict[str, str]]:
    """One valid token per role, for tests that call every route as every role."""
    return {
        role: create_user(role=role).headers
        for role in ("field", "department", "supervisor", "admin")
    }

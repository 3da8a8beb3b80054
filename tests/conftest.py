"""Fixtures: real PostgreSQL, Redis and S3-protocol servers, an app per database backend,
factories.

Every test that uses ``app`` runs twice, on SQLite and on PostgreSQL (``--db`` picks one);
every test that uses ``photo_store`` runs once more per photo store, the filesystem and an S3
bucket (``--store`` picks one).
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

from tests.helpers.servers import Gunicorn, PostgresServer, RedisServer, S3Server

BACKENDS = ("sqlite", "postgresql")
STORES = ("filesystem", "s3")
STORAGE_SETTINGS = (
    "PHOTO_STORAGE_URL",
    "S3_ENDPOINT_URL",
    "S3_PRESIGN_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "PHOTO_SERVE",
    "PHOTO_REDIRECT_SECONDS",
    "S3_TIMEOUT_SECONDS",
    "S3_MAX_ATTEMPTS",
)
"""Settings a test may change to point the app at a store; reset before every test."""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        action="append",
        choices=BACKENDS,
        help="database backend(s) to run the app tests on (default: both)",
    )
    parser.addoption(
        "--store",
        action="append",
        choices=STORES,
        help="photo store(s) to run the photo tests on (default: both)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_backend" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("db") or list(BACKENDS)
        metafunc.parametrize("db_backend", chosen, scope="session")
    if "photo_store_kind" in metafunc.fixturenames:
        stores = metafunc.config.getoption("store") or list(STORES)
        metafunc.parametrize("photo_store_kind", stores)


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
def s3_server() -> Iterator[S3Server]:
    server = S3Server()
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
            # The filesystem store unless a test asks for a bucket (photo_store); never
            # whatever the developer's shell exports.
            "PHOTO_STORAGE_URL": "",
            "S3_ENDPOINT_URL": None,
            "S3_PRESIGN_ENDPOINT_URL": None,
            "AWS_ACCESS_KEY_ID": None,
            "AWS_SECRET_ACCESS_KEY": None,
            "AWS_SESSION_TOKEN": None,
            "AWS_REGION": "us-east-1",
        }
    )
    app.extensions["storage_defaults"] = {name: app.config[name] for name in STORAGE_SETTINGS}
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
    base_app.config.update(base_app.extensions["storage_defaults"])
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
        # Empty means unset to backend/config.py, and hides the developer's own AWS_* values.
        **{name: "" if config[name] is None else str(config[name]) for name in STORAGE_SETTINGS},
        **overrides,
    }


@pytest.fixture
def live_server_env() -> dict[str, str]:
    """Environment variables (as the README's configuration table names them) that a test's
    ``live_server`` runs with besides the test app's: override this fixture in a module, or
    parametrize it (``@pytest.mark.parametrize("live_server_env", [{...}])``), to set some."""
    return {}


@pytest.fixture
def live_server(
    app: Flask,
    tmp_path: Path,
    live_server_env: dict[str, str],
    request: pytest.FixtureRequest,
) -> Iterator[Gunicorn]:
    """The service under gunicorn with 2 worker processes, on the test's database, Redis and,
    when the test uses ``photo_store`` (or ``s3_store``, ``own_s3_store``), that store.

    The fixture's own session is released first: an open SQLite transaction of the test would
    otherwise hold the lock that gunicorn's workers need to write.
    """
    from backend.extensions import db

    for store in ("photo_store", "s3_store", "own_s3_store"):
        if store in request.fixturenames:
            request.getfixturevalue(store)  # configured before gunicorn reads the config
    db.session.remove()
    server = Gunicorn(server_env(app, **live_server_env), tmp_path / "gunicorn.log")
    yield server
    server.stop()


class PhotoStore:
    """The photo store a test runs on, and what it holds, read from outside the service: the
    bucket through boto3 for S3, the directory tree for the filesystem."""

    def __init__(self, kind: str, app: Flask, s3: S3Server | None, bucket: str = "") -> None:
        self.kind, self.app, self.s3, self.bucket = kind, app, s3, bucket
        self.prefix = "samverkan/photos/"

    @property
    def media_root(self) -> Path:
        return Path(self.app.config["MEDIA_ROOT"])

    def media_root_files(self) -> set[str]:
        root = self.media_root
        return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}

    def objects(self) -> dict[str, bytes]:
        """Every object of the bucket (S3), or file under MEDIA_ROOT, by its full name."""
        if self.s3 is None:
            return {name: (self.media_root / name).read_bytes() for name in self.media_root_files()}
        client = self.s3.client()
        found = {}
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            for item in page.get("Contents", []):
                body = client.get_object(Bucket=self.bucket, Key=item["Key"])["Body"]
                found[item["Key"]] = body.read()
        return found

    def disk_stamps(self) -> dict[str, int]:
        """Modification times (ns) of the files holding the photos: MEDIA_ROOT, or the
        directory behind the S3 server's bucket. A rewrite, even of equal bytes, shows."""
        root = self.media_root if self.s3 is None else self.s3.data / self.bucket
        files = (p for p in root.rglob("*") if p.is_file())
        return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in files}

    def stored_keys(self) -> set[str]:
        """Storage keys (``full/<sha256>``, ``uploads/<id>``) of what is stored."""
        result = set()
        for name in self.objects():
            if self.s3 is None:
                area, *_, leaf = name.split("/")
            else:
                assert name.startswith(self.prefix), f"object outside the prefix: {name}"
                area, leaf, *_ = name[len(self.prefix) :].split("/")
            result.add(f"{area}/{leaf}")
        return result


@pytest.fixture
def photo_store_kind() -> str:
    return "filesystem"  # replaced by the --store parametrisation (pytest_generate_tests)


def use_s3(app: Flask, server: S3Server, request: pytest.FixtureRequest) -> PhotoStore:
    """Point the app at a fresh bucket of ``server``; with S3, nothing may ever be written
    under MEDIA_ROOT: checked after the test."""
    store = PhotoStore("s3", app, server, server.create_bucket())
    app.config.update(
        {
            "PHOTO_STORAGE_URL": f"s3://{store.bucket}/{store.prefix}",
            "S3_ENDPOINT_URL": server.endpoint,
            "AWS_ACCESS_KEY_ID": server.access_key,
            "AWS_SECRET_ACCESS_KEY": server.secret_key,
        }
    )

    def nothing_under_media_root() -> None:
        written = store.media_root_files()
        assert not written, f"S3 store, yet files under MEDIA_ROOT: {sorted(written)}"

    request.addfinalizer(nothing_under_media_root)
    return store


@pytest.fixture
def photo_store(app: Flask, photo_store_kind: str, request: pytest.FixtureRequest) -> PhotoStore:
    """The app's photos on the filesystem or in a fresh bucket of the session's S3 server."""
    if photo_store_kind == "filesystem":
        return PhotoStore("filesystem", app, None)
    return use_s3(app, request.getfixturevalue("s3_server"), request)


@pytest.fixture
def s3_store(app: Flask, s3_server: S3Server, request: pytest.FixtureRequest) -> PhotoStore:
    """For tests of S3 alone: the app's photos in a fresh bucket."""
    return use_s3(app, s3_server, request)


@pytest.fixture
def own_s3_store(app: Flask, request: pytest.FixtureRequest) -> Iterator[PhotoStore]:
    """The app's photos on an S3 server of this test alone, which it may stop and start
    (``own_s3_store.s3``); indirect parametrisation passes extra ``rclone serve s3`` flags."""
    server = S3Server(extra_args=tuple(getattr(request, "param", ())))
    server.start()
    try:
        yield use_s3(app, server, request)
    finally:
        server.cleanup()


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

from __future__ import annotations

from backend.app import create_app
from tests.helpers.servers import free_port


def test_healthz_and_readyz_when_everything_is_up(client):
    assert client.get("/healthz").get_json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["checks"] == {"database": "ok", "redis": "ok", "storage": "ok"}


def test_readyz_is_503_when_redis_is_unreachable(tmp_path):
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}",
            "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        }
    )
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["code"] == "not_ready"
    assert "redis" in body["errors"]
    assert "database" not in body["errors"]
    # Liveness does not depend on Redis.
    assert app.test_client().get("/healthz").status_code == 200


def test_unreachable_database_is_503_with_retry_after(tmp_path):
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/x"}
    )
    response = app.test_client().get("/api/v1/me", headers={"Authorization": "Bearer sf_whatever"})
    assert response.status_code == 503
    assert response.get_json()["code"] == "database_unavailable"
    assert response.headers["Retry-After"]
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 503
    assert "database" in ready.get_json()["errors"]

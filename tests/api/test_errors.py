from __future__ import annotations

import pytest

from backend.app import create_app


def test_404_and_405_use_the_error_shape(client):
    missing = client.get("/api/v1/no-such-thing")
    assert missing.status_code == 404
    assert missing.get_json()["code"] == "not_found"
    assert missing.content_type == "application/json"

    wrong_method = client.delete("/healthz")
    assert wrong_method.status_code == 405
    assert wrong_method.get_json()["code"] == "method_not_allowed"
    assert "GET" in wrong_method.headers["Allow"]


def test_413_for_a_body_over_the_limit(client, admin):
    response = client.post(
        "/api/v1/admin/organisations",
        headers={**admin.headers, "Content-Type": "application/json"},
        data=b'{"slug": "' + b"x" * (2 * 1024 * 1024) + b'"}',
    )
    assert response.status_code == 413
    assert response.get_json()["code"] == "payload_too_large"


def test_invalid_json_is_400_with_code(client, admin):
    response = client.post(
        "/api/v1/admin/organisations",
        headers={**admin.headers, "Content-Type": "application/json"},
        data=b"{not json",
    )
    assert response.status_code == 400
    assert response.get_json()["code"] == "invalid_json"


def test_500_never_leaks_a_stack_trace(tmp_path, caplog):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"})

    @app.route("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals at /etc/passwd")

    caplog.set_level("CRITICAL")
    response = app.test_client().get("/boom")
    assert response.status_code == 500
    body = response.get_json()
    assert body == {
        "status": 500,
        "code": "internal_error",
        "message": "Internal error; it has been logged.",
        "errors": {},
    }
    assert "secret internals" not in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/healthz", "/api/v1/me", "/api/v1/zones"])
def test_no_html_error_pages(client, path):
    response = client.post(path)
    assert response.content_type == "application/json"

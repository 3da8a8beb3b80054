from __future__ import annotations

import json

import pytest


def test_cli_user_token_authenticates_until_revoked(runner, client):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--name",
            "Anna Lind",
            "--role",
            "field",
            "--org",
            "trafikkontoret",
        ]
    )
    assert result.exit_code == 0, result.output
    created = json.loads(result.stdout)
    assert set(created) == {"id", "name", "role", "organisation", "token"}
    assert created["organisation"] == "trafikkontoret"
    headers = {"Authorization": f"Bearer {created['token']}"}

    me = client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200
    assert me.get_json()["name"] == "Anna Lind"
    assert me.get_json()["role"] == "field"

    revoked = runner.invoke(args=["users", "revoke", created["id"]])
    assert revoked.exit_code == 0, revoked.output
    assert json.loads(revoked.stdout)["revoked"] == 1

    after = client.get("/api/v1/me", headers=headers)
    assert after.status_code == 401
    body = after.get_json()
    assert body["status"] == 401
    assert body["code"] == "invalid_token"
    assert set(body) == {"status", "code", "message", "errors"}


def test_cli_rejects_unknown_org_and_role(runner):
    result = runner.invoke(
        args=["users", "create", "--name", "X", "--role", "field", "--org", "nope"]
    )
    assert result.exit_code != 0
    assert "unknown_organisation" in result.output
    result = runner.invoke(args=["users", "create", "--name", "X", "--role", "boss"])
    assert result.exit_code != 0


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer sf_not-a-real-token", "Basic dXNlcjpwYXNz", "bearer  "],
)
def test_missing_or_wrong_token_is_401_with_error_shape(client, header):
    headers = {"Authorization": header} if header is not None else {}
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    body = response.get_json()
    assert body["status"] == 401 and body["code"] in {"unauthorized", "invalid_token"}
    assert "Traceback" not in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["field", "department", "supervisor"])
@pytest.mark.parametrize(
    "method,path",
    [
        ("get", "/api/v1/admin/users"),
        ("post", "/api/v1/admin/users"),
        ("get", "/api/v1/admin/organisations"),
        ("post", "/api/v1/admin/organisations"),
    ],
)
def test_non_admin_on_admin_route_is_403(client, create_user, role, method, path):
    user = create_user(role=role)
    response = getattr(client, method)(path, headers=user.headers, json={})
    assert response.status_code == 403
    assert response.get_json()["code"] == "forbidden"


def test_admin_manages_users_and_tokens(client, admin):
    created = client.post(
        "/api/v1/admin/users",
        headers=admin.headers,
        json={"name": "Bo Ek", "role": "department", "organisation": "fastighetskontoret"},
    )
    assert created.status_code == 201, created.get_json()
    user = created.get_json()
    first = {"Authorization": f"Bearer {user['token']}"}
    assert client.get("/api/v1/me", headers=first).get_json()["organisation"] == (
        "fastighetskontoret"
    )

    second = client.post(
        f"/api/v1/admin/users/{user['id']}/tokens", headers=admin.headers, json={"label": "tablet"}
    )
    assert second.status_code == 201
    second_token = second.get_json()["token"]
    listed = client.get(f"/api/v1/admin/users/{user['id']}/tokens", headers=admin.headers)
    assert [t["label"] for t in listed.get_json()] == ["", "tablet"]
    assert all("token" not in t for t in listed.get_json())

    # Revoking one token leaves the other working.
    token_id = second.get_json()["id"]
    assert (
        client.delete(
            f"/api/v1/admin/users/{user['id']}/tokens/{token_id}", headers=admin.headers
        ).status_code
        == 200
    )
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {second_token}"}).status_code
        == 401
    )
    assert client.get("/api/v1/me", headers=first).status_code == 200

    # Deactivating the user shuts every token out.
    patched = client.patch(
        f"/api/v1/admin/users/{user['id']}", headers=admin.headers, json={"active": False}
    )
    assert patched.status_code == 200
    assert client.get("/api/v1/me", headers=first).status_code == 401


def test_admin_user_validation_errors_name_the_field(client, admin):
    response = client.post(
        "/api/v1/admin/users", headers=admin.headers, json={"name": "", "role": "chief"}
    )
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "validation_error"
    assert set(body["errors"]) == {"name", "role"}


def test_a_body_naming_no_organisation_is_422_and_changes_nothing(client, admin):
    """A body's reference to nothing is the request's fault (422, the field named), like a
    filter's; only a path naming nothing is 404."""
    before = client.get("/api/v1/admin/users?limit=200", headers=admin.headers).get_json()
    created = client.post(
        "/api/v1/admin/users",
        headers=admin.headers,
        json={"name": "Ny värd", "role": "field", "organisation": "no-such-org"},
    )
    assert created.status_code == 422
    assert created.get_json()["code"] == "unknown_organisation"
    assert set(created.get_json()["errors"]) == {"organisation"}
    after = client.get("/api/v1/admin/users?limit=200", headers=admin.headers).get_json()
    assert after["items"] == before["items"]
    changed = client.patch(
        f"/api/v1/admin/users/{admin.id}",
        headers=admin.headers,
        json={"organisation": "no-such-org"},
    )
    assert (changed.status_code, changed.get_json()["code"]) == (422, "unknown_organisation")
    again = client.get(f"/api/v1/admin/users/{admin.id}", headers=admin.headers).get_json()
    assert again["organisation"] == admin.organisation


SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_admin_manages_organisations(client, admin):
    created = client.post(
        "/api/v1/admin/organisations",
        headers=admin.headers,
        json={
            "slug": "vasakronan",
            "name": "Vasakronan",
            "channel": "webhook",
            "webhook_url": "https://hooks.vasakronan.example/samverkan",
            "webhook_secret": SECRET,
        },
    )
    assert created.status_code == 201
    assert created.get_json()["webhook_secret_set"] is True
    assert SECRET not in created.get_data(as_text=True)
    again = client.post(
        "/api/v1/admin/organisations",
        headers=admin.headers,
        json={"slug": "vasakronan", "name": "Vasakronan igen"},
    )
    assert again.status_code == 409
    assert again.get_json()["code"] == "organisation_exists"
    # The failed create changed nothing.
    got = client.get("/api/v1/admin/organisations/vasakronan", headers=admin.headers)
    assert got.get_json()["name"] == "Vasakronan"
    slugs = [
        o["slug"]
        for o in client.get("/api/v1/admin/organisations", headers=admin.headers).get_json()[
            "items"
        ]
    ]
    assert {"city-i-samverkan", "trafikkontoret", "vasakronan"} <= set(slugs)
    assert client.get("/api/v1/admin/organisations/nope", headers=admin.headers).status_code == 404


def test_tokens_are_stored_only_as_hashes(app, runner):
    from sqlalchemy import select

    from backend.extensions import db
    from backend.users.models import ApiToken

    token = json.loads(
        runner.invoke(args=["users", "create", "--name", "C", "--role", "admin"]).stdout
    )["token"]
    stored = db.session.execute(select(ApiToken.token_hash, ApiToken.prefix)).all()
    assert all(token not in (h, p) for h, p in stored)
    assert all(len(h) == 64 for h, _ in stored)

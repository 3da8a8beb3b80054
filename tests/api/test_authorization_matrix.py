"""Every route times every role (and no token), against objects of the caller's own and of
another organisation. The expected outcome is written down in ROUTES; a route the app serves
without a row here fails `test_every_route_has_a_row`, so nobody adds a route without deciding
who may call it.

Path placeholders are filled from the fixtures: `{user_id}` is a user of another organisation
(`other`), `{own_user_id}` the caller themself, `{slug}` an organisation, `{token_id}` a token
of `{user_id}`, `{delivery_id}` a failed delivery to another organisation.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

ANY = ("field", "department", "supervisor", "admin")


@dataclass(frozen=True)
class Row:
    expect: dict[str | None, int]  # role (None: no token) -> status
    body: dict[str, Any] | None = None


def admin_only(ok: int, body: dict[str, Any] | None = None) -> Row:
    return Row({None: 401, "field": 403, "department": 403, "supervisor": 403, "admin": ok}, body)


def everyone(ok: int) -> Row:
    return Row({None: 401, **{role: ok for role in ANY}})


def public(ok: int) -> Row:
    return Row({None: ok, **{role: ok for role in ANY}})


ROUTES: dict[tuple[str, str], Row] = {
    ("GET", "/healthz"): public(200),
    ("GET", "/readyz"): public(200),
    ("GET", "/api/v1/me"): everyone(200),
    ("GET", "/api/v1/categories"): everyone(200),
    ("GET", "/api/v1/zones"): everyone(200),
    ("GET", "/api/v1/admin/organisations"): admin_only(200),
    ("POST", "/api/v1/admin/organisations"): admin_only(201, {"slug": "NEW", "name": "Ny"}),
    ("GET", "/api/v1/admin/organisations/{slug}"): admin_only(200),
    ("PATCH", "/api/v1/admin/organisations/{slug}"): admin_only(200, {"name": "Nytt namn"}),
    ("GET", "/api/v1/admin/users"): admin_only(200),
    ("POST", "/api/v1/admin/users"): admin_only(201, {"name": "Ny", "role": "field"}),
    ("GET", "/api/v1/admin/users/{user_id}"): admin_only(200),
    ("PATCH", "/api/v1/admin/users/{user_id}"): admin_only(200, {"name": "Nytt namn"}),
    ("GET", "/api/v1/admin/users/{user_id}/tokens"): admin_only(200),
    ("POST", "/api/v1/admin/users/{user_id}/tokens"): admin_only(201, {"label": "x"}),
    ("POST", "/api/v1/admin/users/{user_id}/tokens/revoke"): admin_only(200),
    ("DELETE", "/api/v1/admin/users/{user_id}/tokens/{token_id}"): admin_only(200),
    ("GET", "/api/v1/admin/deliveries"): admin_only(200),
    ("GET", "/api/v1/admin/deliveries/{delivery_id}"): admin_only(200),
    ("POST", "/api/v1/admin/deliveries/{delivery_id}/retry"): admin_only(200),
}

NOT_ROUTES = {
    "/api/openapi.json",
    "/api/docs",
    "/api/docs/<path:filename>",
    "/static/<path:filename>",
}


def _served_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule in NOT_ROUTES or rule.rule.startswith("/api/docs"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((method, path))
    return routes


def test_every_route_has_a_row(app):
    served = _served_routes(app)
    assert served - set(ROUTES) == set(), "routes without a row in the authorization matrix"
    assert set(ROUTES) - served == set(), "rows for routes the app does not serve"


def _failed_delivery_for(slug: str):
    from backend.delivery.services import enqueue_delivery
    from backend.extensions import db
    from backend.organisations.services import get_by_slug

    delivery = enqueue_delivery(
        db.session(),
        organisation_id=get_by_slug(db.session(), slug).id,
        event_type="task.created",
        subject_type="task",
        subject_id=uuid.uuid4(),
    )
    delivery.status = "failed"
    return delivery


CASES = [(method, path, role) for (method, path), row in ROUTES.items() for role in (None, *ANY)]


@pytest.mark.parametrize(
    "method,path,role", CASES, ids=[f"{m} {p} as {r or 'anonymous'}" for m, p, r in CASES]
)
def test_matrix(client, create_user, method, path, role):
    other = create_user(role="field", org="fastighetskontoret")
    from backend.extensions import db
    from backend.users.services import get_user, issue_token

    token_row, _ = issue_token(db.session(), get_user(db.session(), other.id), "matrix")
    delivery = _failed_delivery_for("fastighetskontoret")
    db.session.commit()
    caller = create_user(role=role, org="trafikkontoret") if role else None
    row = ROUTES[(method, path)]
    url = path.format(
        user_id=other.id,
        own_user_id=caller.id if caller else uuid.uuid4(),
        slug="fastighetskontoret",
        token_id=token_row.id,
        delivery_id=delivery.id,
    )
    body = dict(row.body) if row.body else None
    if body and body.get("slug") == "NEW":
        body["slug"] = f"org-{uuid.uuid4().hex[:8]}"
    response = client.open(url, method=method, json=body, headers=caller.headers if caller else {})
    assert response.status_code == row.expect[role], response.get_json()
    if response.status_code >= 400:
        error = response.get_json()
        assert set(error) == {"status", "code", "message", "errors"}
        # A refusal never echoes the object it refused.
        assert str(other.id) not in response.get_data(as_text=True)

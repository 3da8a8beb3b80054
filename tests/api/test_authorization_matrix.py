"""Every route times every role (and no token), against objects of the caller's own and of
another organisation. The expected outcome is written down in ROUTES; a route the app serves
without a row here fails `test_every_route_has_a_row`, so nobody adds a route without deciding
who may call it.

Path placeholders are filled from the `objects` fixture, all belonging to `other`, a field worker
of another organisation than the caller's: `{user_id}` that user, `{slug}` their organisation,
`{token_id}` their token, `{sha256}` their processed photo (a fresh photo for PUT),
`{upload_id}` their tus upload, `{delivery_id}` a failed delivery to their organisation,
`{case_id}` the case of their two reports of one bin (a split moves the second, "REPORT"; a
merge takes their other case, "OTHER_CASE"), `{contact_id}` their contact (referred to
socialtjanst-uppsok), `{task_id}` a task routed to their organisation.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import tomllib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from tests.helpers.sync_items import contact

ANY = ("field", "department", "supervisor", "admin")


@dataclass(frozen=True)
class Row:
    expect: dict[str | None, int]  # role (None: no token) -> status
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    data: str | None = None  # "NEW_PHOTO": the bytes of a fresh photo (see {new_sha256})
    query: str = ""  # query string, placeholders as in the path


def uploaders(ok: int, **extra: Any) -> Row:
    return Row({None: 401, "field": ok, "department": 403, "supervisor": 403, "admin": ok}, **extra)


def own_upload(**extra: Any) -> Row:
    """Another user's tus upload: an uploader who does not own it learns nothing (404)."""
    return uploaders(404, **extra)


def photo_viewers() -> Row:
    """Another user's photo: supervisors and admins see it, others get 404 (not 403)."""
    return Row({None: 401, "field": 404, "department": 404, "supervisor": 200, "admin": 200})


TUS = {"Tus-Resumable": "1.0.0"}


def admin_only(ok: int, body: dict[str, Any] | None = None) -> Row:
    return Row({None: 401, "field": 403, "department": 403, "supervisor": 403, "admin": ok}, body)


def field_only(ok: int, body: dict[str, Any] | None = None) -> Row:
    return Row({None: 401, "field": ok, "department": 403, "supervisor": 403, "admin": 403}, body)


def correctors(ok: int, body: dict[str, Any]) -> Row:
    """Case corrections: supervisors, and the department working the case; the objects here
    are another organisation's case, which a department cannot see (404)."""
    return Row({None: 401, "field": 403, "department": 404, "supervisor": ok, "admin": ok}, body)


def departments(ok: int, *, own: int, supervisor: int, body: dict[str, Any] | None = None) -> Row:
    """Task routes: field staff never; a department only its own organisation's tasks."""
    return Row(
        {None: 401, "field": 403, "department": own, "supervisor": supervisor, "admin": ok}, body
    )


def _next_rules() -> dict[str, Any]:
    from backend.routing.rules import RULES_FILE

    rules = tomllib.loads(RULES_FILE.read_text("utf-8"))
    return {**rules, "version": rules["version"] + 1}


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
    ("GET", "/api/v1/users"): Row(
        {None: 401, "field": 403, "department": 403, "supervisor": 200, "admin": 200}
    ),
    ("POST", "/api/v1/admin/users"): admin_only(201, {"name": "Ny", "role": "field"}),
    ("GET", "/api/v1/admin/users/{user_id}"): admin_only(200),
    ("PATCH", "/api/v1/admin/users/{user_id}"): admin_only(200, {"name": "Nytt namn"}),
    ("GET", "/api/v1/admin/users/{user_id}/tokens"): admin_only(200),
    ("POST", "/api/v1/admin/users/{user_id}/tokens"): admin_only(201, {"label": "x"}),
    ("POST", "/api/v1/admin/users/{user_id}/tokens/revoke"): admin_only(200),
    ("DELETE", "/api/v1/admin/users/{user_id}/tokens/{token_id}"): admin_only(200),
    ("POST", "/api/v1/sync/push"): field_only(
        200, {"device_id": "matrix", "app_version": "1.0.0", "sent_at": "NOW", "items": []}
    ),
    ("GET", "/api/v1/sync/pull"): field_only(200),
    ("GET", "/api/v1/sync/config"): everyone(200),
    ("PUT", "/api/v1/photos/{sha256}"): uploaders(201, data="NEW_PHOTO"),
    ("GET", "/api/v1/photos/{sha256}"): photo_viewers(),
    ("GET", "/api/v1/photos/{sha256}/info"): photo_viewers(),
    ("POST", "/api/v1/uploads/"): uploaders(
        201, headers={**TUS, "Upload-Length": "10", "Upload-Metadata": "sha256 TEMPLATE"}
    ),
    ("HEAD", "/api/v1/uploads/{upload_id}"): own_upload(headers=TUS),
    ("PATCH", "/api/v1/uploads/{upload_id}"): own_upload(
        headers={**TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
        data="0123456789",
    ),
    ("DELETE", "/api/v1/uploads/{upload_id}"): own_upload(headers=TUS),
    ("GET", "/api/v1/admin/deliveries"): admin_only(200),
    ("GET", "/api/v1/admin/deliveries/{delivery_id}"): admin_only(200),
    ("POST", "/api/v1/admin/deliveries/{delivery_id}/retry"): admin_only(200),
    # Departments see the cases their organisation holds a task for (tests/api/test_cases.py);
    # these are another organisation's: 404, as if they did not exist. A field worker opens
    # only a case their own report is in (tests/api/test_reporter_case.py): this is another
    # worker's, 404 too.
    ("GET", "/api/v1/cases"): Row(
        {None: 401, "field": 403, "department": 200, "supervisor": 200, "admin": 200}
    ),
    ("GET", "/api/v1/cases/{case_id}"): Row(
        {None: 401, "field": 404, "department": 404, "supervisor": 200, "admin": 200}
    ),
    # The reporter's "is it one of these?" (issue 21): the phone's question, field only.
    ("GET", "/api/v1/cases/nearby"): Row(
        field_only(200).expect,
        query="lat=59.3325&lon=18.0642&category=litter.overflowing_bin",
    ),
    ("POST", "/api/v1/cases/{case_id}/split"): correctors(201, {"report_ids": ["REPORT"]}),
    ("POST", "/api/v1/cases/{case_id}/merge"): correctors(200, {"case_id": "OTHER_CASE"}),
    # Another worker's presence: supervisors and admins only; a field worker asking for it and
    # a department asking at all are refused without learning anything of that worker.
    ("GET", "/api/v1/presence/daily"): Row(
        {None: 401, "field": 403, "department": 403, "supervisor": 200, "admin": 200},
        query="date=2026-05-12&worker={user_id}",
    ),
    ("GET", "/api/v1/presence/summary"): Row(
        {None: 401, "field": 200, "department": 403, "supervisor": 200, "admin": 200},
        query="from=2026-05-01&to=2026-05-31",
    ),
    ("GET", "/api/v1/contacts/aggregates"): Row(
        {None: 401, "field": 403, "department": 403, "supervisor": 200, "admin": 200},
        query="from=2026-01-01&to=2026-12-31",
    ),
    # Another worker's contact, referred to an organisation none of the callers belong to:
    # nobody but its author and that organisation learns it exists, admins included.
    ("GET", "/api/v1/contacts/{contact_id}"): Row(
        {None: 401, "field": 404, "department": 404, "supervisor": 404, "admin": 404},
        query="reason=follow_up",
    ),
    ("GET", "/api/v1/admin/audit"): admin_only(200),
    # Departments read their own organisation's figures (tests/api/test_stats.py), and another
    # organisation's are refused; field staff read none.
    ("GET", "/api/v1/stats/weekly"): Row(
        {None: 401, "field": 403, "department": 200, "supervisor": 200, "admin": 200},
        query="from=2026-03-23&to=2026-04-12",
    ),
    ("GET", "/api/v1/stats/weekly#another-organisation"): Row(
        {None: 401, "field": 403, "department": 403, "supervisor": 200, "admin": 200},
        query="from=2026-03-23&to=2026-04-12&organisation={slug}",
    ),
    ("GET", "/api/v1/tasks"): departments(200, own=200, supervisor=200),
    ("GET", "/api/v1/tasks/{task_id}"): departments(200, own=404, supervisor=200),
    ("POST", "/api/v1/tasks/{task_id}/events"): departments(
        200, own=404, supervisor=403, body={"action": "acknowledge"}
    ),
    ("GET", "/api/v1/admin/rules"): admin_only(200),
    ("PUT", "/api/v1/admin/rules"): admin_only(200, _next_rules()),
    # Open311 GeoReport v2: the service list is public (the spec: no key); everything else
    # needs an organisation's api_key, which no bearer token is (403 in the spec's format;
    # tests/api/test_open311.py covers the keys), and a media link needs its signature.
    ("GET", "/open311/v2/discovery.{fmt}"): public(200),
    ("GET", "/open311/v2/services.{fmt}"): public(200),
    ("GET", "/open311/v2/services/{service_code}.{fmt}"): public(200),
    ("GET", "/open311/v2/requests.{fmt}"): Row({None: 403, **dict.fromkeys(ANY, 403)}),
    ("POST", "/open311/v2/requests.{fmt}"): Row({None: 403, **dict.fromkeys(ANY, 403)}),
    ("GET", "/open311/v2/requests/{service_request_id}.{fmt}"): Row(
        {None: 403, **dict.fromkeys(ANY, 403)}
    ),
    ("POST", "/open311/v2/servicerequestupdates.{fmt}"): Row(
        {None: 403, **dict.fromkeys(ANY, 403)}
    ),
    ("GET", "/open311/v2/media/{token}"): Row({None: 404, **dict.fromkeys(ANY, 404)}),
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
        if rule.rule.startswith("/console"):
            continue  # signed in by session, not token: tests/api/test_console_pages.py's matrix
        path = re.sub(r"<(?:[a-z0-9]+(?:\([^)]*\))?:)?([a-z_0-9]+)>", r"{\1}", rule.rule)
        # Flask adds HEAD to every GET route; a HEAD of its own (tus) needs its own row.
        implicit = {"OPTIONS", "HEAD"} if "GET" in rule.methods else {"OPTIONS"}
        for method in rule.methods - implicit:
            routes.add((method, path))
    return routes


def _route(key: tuple[str, str]) -> tuple[str, str]:
    """A row's route: a path may carry "#variant" for a second row with other arguments."""
    method, path = key
    return method, path.split("#")[0]


def test_every_route_has_a_row(app):
    served = _served_routes(app)
    rows = {_route(key) for key in ROUTES}
    assert served - rows == set(), "routes without a row in the authorization matrix"
    assert rows - served == set(), "rows for routes the app does not serve"


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


def _jpeg(seed: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (seed % 256, 80, 160)).save(buffer, "JPEG")
    return buffer.getvalue()


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
def objects(client, create_user):
    """Objects that belong to a field worker of another organisation than the caller's."""
    from backend.extensions import db
    from backend.photos.jobs import process_photo
    from backend.tasks.models import Task
    from backend.users.services import get_user, issue_token

    other = create_user(role="field", org="fastighetskontoret")
    token_row, _ = issue_token(db.session(), get_user(db.session(), other.id), "matrix")
    db.session.commit()
    photo = _jpeg(1)
    photo_sha = hashlib.sha256(photo).hexdigest()
    assert (
        client.put(f"/api/v1/photos/{photo_sha}", data=photo, headers=other.headers).status_code
        == 201
    )
    assert process_photo(photo_sha) == "ready"
    upload = client.post(
        "/api/v1/uploads/",
        headers={
            **other.headers,
            **TUS,
            "Upload-Length": "10",
            "Upload-Metadata": f"sha256 {_b64('0' * 64)}",
        },
    )
    assert upload.status_code == 201
    delivery = _failed_delivery_for("fastighetskontoret")
    from tests.helpers.sync_items import SERGELS_TORG, batch, report

    # Damage to a city building: the push routes both cases to Fastighetskontoret, another
    # organisation than the callers' (Trafikkontoret).
    building = {"kind": "damage", "category": "damage.building"}
    far = {**SERGELS_TORG, "lat": SERGELS_TORG["lat"] + 0.001}  # about 110 m north
    pushed = client.post(
        "/api/v1/sync/push",
        json=batch([report(**building), report(**building), report(**building, location=far)]),
        headers=other.headers,
    )
    first, second, elsewhere = pushed.get_json()["results"]
    assert first["case_id"] == second["case_id"] != elsewhere["case_id"]
    task = db.session.execute(
        select(Task).where(Task.case_id == uuid.UUID(first["case_id"]))
    ).scalar_one()
    assert task.organisation.slug == "fastighetskontoret"
    pushed = client.post(
        "/api/v1/sync/push",
        json={
            "device_id": "matrix",
            "app_version": "1.0.0",
            "sent_at": datetime.now(UTC).isoformat(),
            "items": [contact(referral="socialtjanst-uppsok")],
        },
        headers=other.headers,
    )
    (result,) = pushed.get_json()["results"]
    assert result["status"] == "created"
    return {
        "contact_id": result["id"],
        "other": other,
        "token_id": token_row.id,
        "sha256": photo_sha,
        "upload_id": upload.headers["Location"].rstrip("/").rsplit("/", 1)[-1],
        "delivery_id": delivery.id,
        "case_id": first["case_id"],
        "report_id": second["id"],
        "other_case_id": elsewhere["case_id"],
        "task_id": task.id,
    }


@pytest.mark.parametrize(
    "method,path,role", CASES, ids=[f"{m} {p} as {r or 'anonymous'}" for m, p, r in CASES]
)
def test_matrix(client, create_user, objects, method, path, role):
    other = objects["other"]
    caller = create_user(role=role, org="trafikkontoret") if role else None
    row = ROUTES[(method, path)]
    data: bytes | None = None
    if row.data == "NEW_PHOTO":
        data = _jpeg(2)
    elif row.data is not None:
        data = row.data.encode()
    placeholders = {
        "user_id": other.id,
        "slug": "fastighetskontoret",
        "token_id": objects["token_id"],
        "sha256": hashlib.sha256(data).hexdigest()
        if row.data == "NEW_PHOTO"
        else objects["sha256"],
        "upload_id": objects["upload_id"],
        "delivery_id": objects["delivery_id"],
        "case_id": objects["case_id"],
        "contact_id": objects["contact_id"],
        "task_id": objects["task_id"],
        "fmt": "json",
        "service_code": "damage.building",
        "service_request_id": objects["case_id"],
        "token": "not-a-signed-link",
    }
    url = _route((method, path))[1].format(**placeholders)
    if row.query:
        url += "?" + row.query.format(**placeholders)
    body = dict(row.body) if row.body else None
    if body and body.get("slug") == "NEW":
        body["slug"] = f"org-{uuid.uuid4().hex[:8]}"
    if body and body.get("report_ids") == ["REPORT"]:
        body["report_ids"] = [objects["report_id"]]
    if body and body.get("case_id") == "OTHER_CASE":
        body["case_id"] = objects["other_case_id"]
    if body and body.get("sent_at") == "NOW":
        body["sent_at"] = datetime.now(UTC).isoformat()
    headers = {**row.headers, **(caller.headers if caller else {})}
    if headers.get("Upload-Metadata") == "sha256 TEMPLATE":
        headers["Upload-Metadata"] = f"sha256 {_b64('1' * 64)}"
    response = client.open(url, method=method, json=body, data=data, headers=headers)
    assert response.status_code == row.expect[role], response.get_data(as_text=True)[:300]
    if response.status_code >= 400 and method != "HEAD":
        error = response.get_json()
        if path.startswith("/open311/"):
            # The GeoReport v2 errors document: [{code, description}].
            assert [set(e) for e in error] == [{"code", "description"}]
        else:
            assert set(error) == {"status", "code", "message", "errors"}
        # A refusal never echoes the object it refused.
        text = response.get_data(as_text=True)
        assert str(other.id) not in text
        assert objects["sha256"] not in text
        assert objects["upload_id"] not in text
        assert objects["contact_id"] not in text

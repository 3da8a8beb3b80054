"""The administration pages through Flask's test client (both databases): users and their
phone tokens (shown once, as text and QR code), organisations and their channel (webhook
secret shown once), the routing rule set (every problem listed, nothing changed on error),
deliveries and their retry, the contact-read log, retention runs."""

from __future__ import annotations

import io
import json
import re
import uuid

import pytest
import segno
from sqlalchemy import select, update

from tests.helpers.console import csrf, make_staff, sign_in
from tests.helpers.sync_items import contact, report
from tests.helpers.tasks import deliver_pending, push


@pytest.fixture
def admin_client(app, create_user):
    client = app.test_client()
    account = make_staff(create_user, "admin")
    assert sign_in(client, account.email).status_code == 302
    return client


def _post(client, page_url, url, data=None, **kwargs):
    token = csrf(client.get(page_url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **(data or {})}, **kwargs)


def _shown_token(html: str) -> str:
    found = re.search(
        r'id="new-token" class="token-text" type="text" readonly value="([^"]+)"', html
    )
    assert found, "no token on the page"
    return found.group(1)


def test_a_new_field_users_token_is_shown_once_and_works_on_the_phone_api(app, admin_client):
    created = _post(
        admin_client,
        "/console/admin/users",
        "/console/admin/users",
        {"name": "Nora Fält", "role": "field", "organisation": "city-i-samverkan", "label": "T12"},
    )
    assert created.status_code == 201
    page = created.get_data(as_text=True)
    token = _shown_token(page)
    me = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.get_json()["name"] == "Nora Fält"
    # The QR code is the token with the server, drawn inline (nothing to fetch, no script).
    expected = segno.make(
        json.dumps(
            {"server": app.config["PUBLIC_BASE_URL"], "token": token}, separators=(",", ":")
        ),
        error="m",
        micro=False,
    )
    drawn = re.search(r'<path class="qrline"[^>]* d="([^"]+)"', page).group(1)
    assert drawn == re.search(
        r'd="([^"]+)"', expected.svg_inline(scale=5, border=4).split("qrline")[1]
    ).group(1)
    # The list shows the user and only the token's first characters, never the token.
    listed = admin_client.get("/console/admin/users?role=field").get_data(as_text=True)
    assert "Nora Fält" in listed and token not in listed
    # An organisation filter naming none is the API's 422, not an empty list.
    nowhere = admin_client.get("/console/admin/users?organisation=no-such-org")
    assert nowhere.status_code == 422 and "unknown_organisation" in nowhere.get_data(as_text=True)
    user_page = admin_client.get(
        re.search(r'href="(/console/admin/users/[0-9a-f-]{36})"', page).group(1)
    )
    assert token[:10] in user_page.get_data(as_text=True)
    assert token not in user_page.get_data(as_text=True)


def test_an_office_user_created_with_a_password_signs_in(app, admin_client):
    data = {
        "name": "Dana Förvaltning",
        "role": "department",
        "organisation": "trafikkontoret",
        "email": "Dana@Trafik.example",
        "password": "a long enough passphrase",
    }
    assert (
        _post(admin_client, "/console/admin/users", "/console/admin/users", data).status_code == 201
    )
    browser = app.test_client()
    answer = sign_in(browser, "dana@trafik.example", "a long enough passphrase")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/console/tasks")


@pytest.mark.parametrize(
    "change,status,message",
    [
        ({"password": "short"}, 422, "Lösenordet är för kort"),
        ({"email": ""}, 422, "kräver en e-postadress"),
        ({"email": "not-an-address"}, 422, "Detta är ingen e-postadress"),
        ({"role": "superuser"}, 422, "ogiltiga"),
        ({"organisation": "no-such-org"}, 422, "Det finns ingen organisation med det namnet"),
        ({"name": ""}, 422, "ogiltiga"),
    ],
)
def test_a_refused_new_user_shows_why_and_creates_nobody(admin_client, change, status, message):
    from backend.extensions import db
    from backend.users.models import User

    before = db.session.execute(select(User.id)).all()
    data = {
        "name": "X",
        "role": "department",
        "organisation": "trafikkontoret",
        "email": "x@test.example",
        "password": "a long enough passphrase",
        **change,
    }
    answer = _post(admin_client, "/console/admin/users", "/console/admin/users", data)
    assert answer.status_code == status
    assert message in answer.get_data(as_text=True)
    assert 'value="a long enough passphrase"' not in answer.get_data(as_text=True)
    assert db.session.execute(select(User.id)).all() == before


def test_a_taken_email_is_a_409_page(admin_client, create_user):
    taken = make_staff(create_user, "supervisor")
    data = {"name": "Y", "role": "supervisor", "organisation": "city-i-samverkan"}
    answer = _post(
        admin_client,
        "/console/admin/users",
        "/console/admin/users",
        {**data, "email": taken.email, "password": "a long enough passphrase"},
    )
    assert (
        answer.status_code == 409
        and "En annan användare har denna e-postadress" in answer.get_data(as_text=True)
    )


def test_role_organisation_deactivation_and_revocation_bite_at_once(app, admin_client, create_user):
    worker = create_user(role="field")
    page = f"/console/admin/users/{worker.id}"
    saved = _post(
        admin_client,
        page,
        page,
        {
            "name": worker.name,
            "role": "department",
            "organisation": "norrmalm-sdf",
            "active": "true",
        },
    )
    assert saved.status_code == 302
    from backend.extensions import db

    db.session.remove()  # the test's requests share one session; a served request has its own
    me = app.test_client().get("/api/v1/me", headers=worker.headers).get_json()
    assert (me["role"], me["organisation"]) == ("department", "norrmalm-sdf")
    # A second token, then revoke the first one alone.
    issued = _post(admin_client, page, f"{page}/tokens", {"label": "spare"})
    spare = _shown_token(issued.get_data(as_text=True))
    html = admin_client.get(page).get_data(as_text=True)
    first = re.findall(rf"{page}/tokens/([0-9a-f-]{{36}})/revoke", html)
    assert len(first) == 2
    from backend.users.models import ApiToken

    original = db.session.execute(
        select(ApiToken.id).where(ApiToken.prefix == worker.token[:10])
    ).scalar_one()
    assert _post(admin_client, page, f"{page}/tokens/{original}/revoke").status_code == 302
    api = app.test_client()
    assert api.get("/api/v1/me", headers=worker.headers).status_code == 401
    spare_headers = {"Authorization": f"Bearer {spare}"}
    assert api.get("/api/v1/me", headers=spare_headers).status_code == 200
    # Deactivated: the spare token is refused too.
    _post(
        admin_client,
        page,
        page,
        {"name": worker.name, "role": "department", "organisation": "norrmalm-sdf"},
    )
    assert api.get("/api/v1/me", headers=spare_headers).status_code == 401
    assert "Avaktiverad" in admin_client.get(page).get_data(as_text=True)
    # Revoke all, for a lost phone.
    done = _post(admin_client, page, f"{page}/tokens/revoke")
    assert "1 nycklar återkallade." in admin_client.get(done.headers["Location"]).get_data(
        as_text=True
    )


def test_organisations_get_a_channel_and_a_webhook_secret_shown_once(app, admin_client):
    from backend.delivery.webhook import secret_key
    from backend.extensions import db
    from backend.organisations.models import Organisation

    app.config["WEBHOOK_ALLOWED_HOSTS"] = ["receiver.test"]
    try:
        made = _post(
            admin_client,
            "/console/admin/organisations",
            "/console/admin/organisations",
            {"name": "Parkenheten", "slug": "parkenheten", "channel": "inbox", "active": "true"},
        )
        assert made.headers["Location"].endswith("/console/admin/organisations/parkenheten")
        page = "/console/admin/organisations/parkenheten"
        # The webhook channel needs a URL and a secret first: refused, nothing changed.
        refused = _post(
            admin_client,
            page,
            page,
            {
                "name": "Parkenheten",
                "channel": "webhook",
                "webhook_url": "http://receiver.test/hook",
                "active": "true",
            },
        )
        assert refused.status_code == 409
        assert "webhook_secret" in refused.get_data(as_text=True)
        assert (
            db.session.execute(
                select(Organisation.channel).where(Organisation.slug == "parkenheten")
            ).scalar_one()
            == "inbox"
        )
        shown = _post(admin_client, page, f"{page}/secret").get_data(as_text=True)
        secret = re.search(
            r'id="secret" class="token-text" type="text" readonly value="([^"]+)"', shown
        ).group(1)
        assert len(secret_key(secret)) == 32
        assert secret not in admin_client.get(page).get_data(as_text=True)
        saved = _post(
            admin_client,
            page,
            page,
            {
                "name": "Parkenheten",
                "channel": "webhook",
                "webhook_url": "http://receiver.test/hook",
                "active": "true",
            },
        )
        assert saved.status_code == 302
        org = db.session.execute(
            select(Organisation).where(Organisation.slug == "parkenheten")
        ).scalar_one()
        db.session.refresh(org)
        assert (org.channel, org.webhook_secret) == ("webhook", secret)
        # Rotating replaces it.
        again = _post(admin_client, page, f"{page}/secret").get_data(as_text=True)
        assert secret not in again
        db.session.refresh(org)
        assert org.webhook_secret != secret
        blocked = _post(
            admin_client,
            page,
            page,
            {
                "name": "Parkenheten",
                "channel": "webhook",
                "webhook_url": "http://10.0.0.1/hook",
                "active": "true",
            },
        )
        assert blocked.status_code == 409 and "får inte användas" in blocked.get_data(as_text=True)
        taken = _post(
            admin_client,
            "/console/admin/organisations",
            "/console/admin/organisations",
            {"name": "Dubblett", "slug": "parkenheten", "channel": "inbox"},
        )
        assert taken.status_code == 409
    finally:
        app.config["WEBHOOK_ALLOWED_HOSTS"] = []


GOOD = b"""
version = 2
[fallback]
organisation = "city-i-samverkan"
priority = "normal"
deadline = "working_hours(24)"

[[rule]]
id = "bins"
categories = ["litter.overflowing_bin"]
organisation = "norrmalm-sdf"
priority = "high"
deadline = "hours(8)"
"""

BAD = b"""
version = 0
[fallback]
organisation = "city-i-samverkan"
priority = "whenever"
deadline = "working_hours(24)"

[[rule]]
id = "bins"
categories = ["litter.no_such_thing"]
organisation = "nobody"
priority = "high"
deadline = "hours(8)"
colour = "red"
"""


def _upload(client, data: bytes, name: str):
    return _post(
        client,
        "/console/admin/rules",
        "/console/admin/rules",
        {"rules": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def _active_version(app) -> int:
    from backend.extensions import db
    from backend.routing.rule_store import active_rule_set

    db.session.remove()
    return active_rule_set(db.session()).version


def test_a_bad_rule_set_lists_every_problem_and_changes_nothing(app, admin_client):
    before = _active_version(app)
    answer = _upload(admin_client, BAD, "rules.toml")
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    problems = re.findall(r"<li><code>([^<]+)</code>", page.split('id="problems"')[1])
    assert {
        "version",
        "fallback.priority",
        "rule[0].categories",
        "rule[0].organisation",
        "rule[0].colour",
    } <= set(problems)
    assert _active_version(app) == before
    for data, name in (
        (b"version = = 3", "rules.toml"),
        (b'{"version": 3,', "rules.json"),
        (b"\xff\xfe", "rules.toml"),
        (b"[1, 2]", "rules.json"),
    ):
        answer = _upload(admin_client, data, name)
        assert answer.status_code == 422, name
        assert "<code>file</code>" in answer.get_data(as_text=True)
    assert _upload(admin_client, b"x" * (300 * 1024), "big.toml").status_code == 422
    assert _post(admin_client, "/console/admin/rules", "/console/admin/rules").status_code == 422
    assert _active_version(app) == before


def test_a_good_rule_set_routes_from_now_on(app, client, admin_client, field_user):
    assert _upload(
        admin_client, GOOD.replace(b"version = 2", b"version = 1"), "r.toml"
    ).status_code in (409, 302)
    stored = _upload(
        admin_client,
        GOOD.replace(b"version = 2", f"version = {_active_version(app) + 1}".encode()),
        "rules.toml",
    )
    assert stored.status_code == 302
    page = admin_client.get("/console/admin/rules").get_data(as_text=True)
    assert "Norrmalms stadsdelsförvaltning" in page and "<code>bins</code>" in page
    downloaded = admin_client.get("/console/admin/rules.json")
    assert downloaded.headers["Content-Disposition"].startswith("attachment;")
    again = json.loads(downloaded.data)
    again["version"] += 1
    assert _upload(admin_client, json.dumps(again).encode(), "rules.json").status_code == 302
    push(client, field_user, [report()])
    pulled = client.get("/api/v1/sync/pull", headers=field_user.headers).get_json()
    assert pulled["changes"][-1]["data"]["organisation"] == "norrmalm-sdf"


def test_failed_deliveries_are_listed_and_retried(admin_client, client, field_user):
    from backend.delivery.models import Delivery
    from backend.extensions import db

    push(client, field_user, [report()])
    db.session.execute(update(Delivery).values(status="failed", attempts=8, last_error="HTTP 500"))
    db.session.commit()
    page = admin_client.get("/console/admin/deliveries").get_data(as_text=True)
    (delivery_id,) = re.findall(r'id="delivery-([0-9a-f-]{36})"', page)
    assert "HTTP 500" in page
    url = f"/console/admin/deliveries/{delivery_id}/retry"
    assert _post(admin_client, "/console/admin/deliveries", url).status_code == 302
    db.session.remove()
    assert db.session.get(Delivery, uuid.UUID(delivery_id)).status == "pending"
    again = _post(admin_client, "/console/admin/deliveries", url)
    assert again.status_code == 409 and "Bara en misslyckad leverans" in again.get_data(
        as_text=True
    )
    assert admin_client.get("/console/admin/deliveries?status=bogus").status_code == 422
    # A cursor the list did not give: the API's answer, 400 invalid_cursor.
    bad_cursor = admin_client.get("/console/admin/deliveries?cursor=x")
    assert bad_cursor.status_code == 400 and "invalid_cursor" in bad_cursor.get_data(as_text=True)


def test_the_contact_read_log_and_retention_runs(app, admin_client, client, create_user):
    from backend.extensions import db
    from backend.retention.jobs import run_from_config

    worker = create_user(role="field")
    item = contact()
    push(client, worker, [item])
    deliver_pending()
    social = create_user(role="department", org="socialtjanst-uppsok", name="Sam Uppsök")
    read = client.get(
        f"/api/v1/contacts/{item['id']}?reason=referral_intake", headers=social.headers
    )
    assert read.status_code == 200
    page = admin_client.get("/console/admin/audit").get_data(as_text=True)
    assert "Sam Uppsök" in page and "Tar emot hänvisningen" in page
    assert item["id"][:8] in page.replace("-", "")
    assert "Inga läsningar" in admin_client.get(
        f"/console/admin/audit?contact_id={uuid.uuid4()}"
    ).get_data(as_text=True)
    assert admin_client.get("/console/admin/audit?cursor=nope").status_code == 400
    assert admin_client.get("/console/admin/audit?reader_id=nope").status_code == 422
    run_from_config()
    db.session.remove()
    runs = admin_client.get("/console/admin/retention").get_data(as_text=True)
    assert runs.count("<tr><td><time") == 1 and "klar" in runs

"""Console sign-in, sessions and their cookie, through Flask's test client (both databases)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.helpers.console import PASSWORD, csrf, make_staff, sign_in


@pytest.fixture
def supervisor(create_user):
    return make_staff(create_user, "supervisor")


def _signed_in(client) -> bool:
    return client.get("/console/cases").status_code == 200


def test_sign_in_sets_a_session_cookie_the_scripts_cannot_read(client, supervisor):
    response = sign_in(client, supervisor.email)
    assert response.status_code == 302
    assert response.headers["Location"] == "/console/"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("samverkan_console=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie  # served on http in this test
    assert supervisor.email not in cookie and PASSWORD not in cookie
    assert _signed_in(client)


def test_cookie_is_secure_when_configured(app, client, supervisor):
    app.config["SESSION_COOKIE_SECURE"] = True
    try:
        response = sign_in(client, supervisor.email)
        assert "Secure" in response.headers["Set-Cookie"]
    finally:
        app.config["SESSION_COOKIE_SECURE"] = False


@pytest.mark.parametrize(
    "email,password",
    [
        ("SUPERVISOR", "not the right password at all"),  # right address, wrong password
        ("nobody@test.example", PASSWORD),  # no such account
        ("nobody@test.example", "x" * 1024),
        ("\U0001f600@test.example", PASSWORD),
        (" ", PASSWORD),
    ],
)
def test_wrong_credentials_get_one_answer(client, supervisor, email, password):
    email = supervisor.email.upper() if email == "SUPERVISOR" else email
    response = sign_in(client, email, password)
    assert response.status_code == 401
    assert "Fel e-postadress eller lösenord." in response.get_data(as_text=True)
    assert not _signed_in(client)


def test_email_is_not_case_sensitive(client, supervisor):
    assert sign_in(client, supervisor.email.upper()).status_code == 302


def test_field_worker_is_refused_even_with_the_right_password(client, create_user):
    worker = make_staff(create_user, "field")
    response = sign_in(client, worker.email)
    assert response.status_code == 403
    assert "mobilappen" in response.get_data(as_text=True)
    assert not _signed_in(client)


def test_sign_in_without_csrf_token_is_refused(client, supervisor):
    response = client.post(
        "/console/sign-in", data={"email": supervisor.email, "password": PASSWORD}
    )
    assert response.status_code == 400
    assert "csrf_failed" in response.get_data(as_text=True)
    assert not _signed_in(client)


def test_sign_out_needs_csrf_and_ends_the_session_everywhere(app, client, supervisor):
    sign_in(client, supervisor.email)
    stolen = client.get_cookie("samverkan_console", path="/console").value
    assert client.post("/console/sign-out").status_code == 400  # no token: still signed in
    assert _signed_in(client)
    page = client.get("/console/cases").get_data(as_text=True)
    out = client.post("/console/sign-out", data={"csrf_token": csrf(page)})
    assert out.status_code == 302, out.get_data(as_text=True)[-1500:]
    assert not _signed_in(client)
    replay = app.test_client()
    replay.set_cookie("samverkan_console", stolen, path="/console")
    assert replay.get("/console/cases").status_code == 302  # the old cookie is worth nothing


def test_deactivation_and_password_change_end_sessions_at_once(app, client, supervisor):
    from backend.extensions import db
    from backend.users.services import set_password, update_user

    sign_in(client, supervisor.email)
    update_user(db.session(), supervisor.id, active=False)
    assert not _signed_in(client)
    update_user(db.session(), supervisor.id, active=True)
    sign_in(client, supervisor.email)
    assert _signed_in(client)
    set_password(db.session(), supervisor.email, "another long enough password", 15)
    response = client.get("/console/cases")
    assert response.status_code == 302
    notice = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Din session har gått ut" in notice


def test_role_changed_to_field_ends_the_session(client, supervisor):
    from backend.extensions import db
    from backend.users.services import update_user

    sign_in(client, supervisor.email)
    update_user(db.session(), supervisor.id, role="field")
    assert not _signed_in(client)


def _age(**changes) -> None:
    from backend.extensions import db
    from backend.users.models import ConsoleSession

    for row in db.session.query(ConsoleSession):
        for column, delta in changes.items():
            setattr(row, column, getattr(row, column) - delta)
    db.session.commit()


def test_idle_timeout_signs_out_and_says_so(client, supervisor):
    sign_in(client, supervisor.email)
    _age(last_seen_at=timedelta(minutes=29))
    assert _signed_in(client)  # 29 idle minutes: still in, and this request counts
    _age(last_seen_at=timedelta(minutes=31))
    response = client.get("/console/cases")
    assert response.status_code == 302
    assert "/console/sign-in" in response.headers["Location"]
    notice = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Din session har gått ut; logga in igen." in notice


def test_polling_does_not_keep_a_session_alive(client, supervisor):
    from backend.extensions import db
    from backend.users.models import ConsoleSession

    sign_in(client, supervisor.email)
    _age(last_seen_at=timedelta(minutes=20))
    before = db.session.query(ConsoleSession.last_seen_at).scalar()
    db.session.commit()
    assert client.get("/console/today/live", headers={"X-Console-Poll": "1"}).status_code == 200
    assert db.session.query(ConsoleSession.last_seen_at).scalar() == before
    db.session.commit()
    assert client.get("/console/cases").status_code == 200
    assert db.session.query(ConsoleSession.last_seen_at).scalar() > before


def test_a_session_ends_after_a_working_day_however_active(client, supervisor):
    sign_in(client, supervisor.email)
    _age(created_at=timedelta(hours=12, minutes=1))
    assert not _signed_in(client)


def _from(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_failed_sign_ins_are_limited_per_account(app, client, supervisor):
    for _ in range(5):
        assert sign_in(client, supervisor.email, "wrong wrong wrong wrong").status_code == 401
    blocked = sign_in(client, supervisor.email)  # the right password, too late
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert "För många misslyckade inloggningar" in blocked.get_data(as_text=True)
    assert not _signed_in(client)
    other = _from(app, "192.0.2.7")
    assert sign_in(other, supervisor.email).status_code == 429  # from another address too


def test_failed_sign_ins_are_limited_per_address(app, client, create_user):
    app.config["CONSOLE_SIGNIN_FAILURES_PER_ADDRESS"] = 3
    try:
        people = [make_staff(create_user) for _ in range(2)]
        attacker = _from(app, "2001:db8::1")
        for n in range(3):
            sign_in(attacker, f"guess{n}@test.example", "wrong wrong wrong wrong")
        # The same /64, another address: still the same budget; the people elsewhere are fine.
        neighbour = _from(app, "2001:db8::ffff")
        assert sign_in(neighbour, people[0].email).status_code == 429
        assert sign_in(client, people[1].email).status_code == 302
    finally:
        app.config["CONSOLE_SIGNIN_FAILURES_PER_ADDRESS"] = 20


def test_a_successful_sign_in_forgives_the_accounts_failures(app, client, supervisor):
    for _ in range(4):
        sign_in(client, supervisor.email, "wrong wrong wrong wrong")
    assert sign_in(client, supervisor.email).status_code == 302
    later = app.test_client()
    for _ in range(4):
        assert sign_in(later, supervisor.email, "wrong wrong wrong wrong").status_code == 401


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/console/", "//evil.example/console/", "/api/v1/me", "/\\evil.example"],
)
def test_sign_in_never_redirects_off_the_console(client, supervisor, target):
    response = sign_in(client, supervisor.email, next=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/console/"


def test_sign_in_returns_to_the_page_asked_for(client, supervisor):
    asked = client.get("/console/cases?status=open&zone=hotorget")
    assert asked.status_code == 302
    page = client.get(asked.headers["Location"]).get_data(as_text=True)
    assert 'name="next" value="/console/cases?status=open&amp;zone=hotorget"' in page
    response = sign_in(client, supervisor.email, next="/console/cases?status=open&zone=hotorget")
    assert response.headers["Location"] == "/console/cases?status=open&zone=hotorget"


def test_department_lands_on_its_task_board(client, create_user):
    department = make_staff(create_user, "department", "trafikkontoret")
    assert sign_in(client, department.email).headers["Location"] == "/console/tasks"
    assert client.get("/console/").headers["Location"] == "/console/tasks"

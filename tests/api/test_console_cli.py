"""The console logins from the command line: `users create --email --password-stdin`,
`users set-password`, and the demo's logins from `seed-demo`."""

from __future__ import annotations

import json

import pytest

from tests.helpers.console import sign_in

PASSWORD = "a long password for the console"


def _create(runner, *args, password=PASSWORD):
    return runner.invoke(
        args=["users", "create", "--name", "Karin Ek", *args], input=f"{password}\n"
    )


def test_create_with_email_and_password_signs_in(app, runner):
    result = _create(
        runner, "--role", "supervisor", "--email", "Karin.Ek@Stad.example", "--password-stdin"
    )
    assert result.exit_code == 0, result.output
    created = json.loads(result.stdout)
    assert created["email"] == "karin.ek@stad.example"
    assert PASSWORD not in result.output
    client = app.test_client()
    assert sign_in(client, "karin.ek@stad.example", PASSWORD).status_code == 302
    assert client.get("/console/").status_code == 200


def test_set_password_replaces_the_old_one_and_signs_out(app, runner):
    _create(
        runner,
        "--role",
        "department",
        "--org",
        "trafikkontoret",
        "--email",
        "ek@stad.example",
        "--password-stdin",
    )
    client = app.test_client()
    assert sign_in(client, "ek@stad.example", PASSWORD).status_code == 302
    result = runner.invoke(
        args=["users", "set-password", "--email", "EK@stad.example", "--password-stdin"],
        input="an entirely new password\r\n",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["password_set"] is True
    assert client.get("/console/cases").status_code == 302  # signed out
    assert sign_in(app.test_client(), "ek@stad.example", PASSWORD).status_code == 401
    assert (
        sign_in(app.test_client(), "ek@stad.example", "an entirely new password").status_code == 302
    )


@pytest.mark.parametrize(
    "args,password,message",
    [
        (["--email", "x@stad.example", "--password-stdin"], "too short", "weak_password"),
        (["--email", "x@stad.example", "--password-stdin"], "", "no password on standard input"),
        (["--email", "not an address", "--password-stdin"], PASSWORD, "invalid_email"),
        (["--password-stdin"], PASSWORD, "--password-stdin needs --email"),
    ],
)
def test_create_refuses_bad_logins_and_creates_nothing(runner, args, password, message):
    from backend.extensions import db
    from backend.users.models import User

    before = db.session.query(User).count()
    result = _create(runner, "--role", "supervisor", *args, password=password)
    assert result.exit_code != 0
    assert message in result.output
    assert db.session.query(User).count() == before


def test_an_email_belongs_to_one_user(runner):
    first = _create(runner, "--role", "admin", "--email", "a@stad.example", "--password-stdin")
    assert first.exit_code == 0
    second = _create(runner, "--role", "admin", "--email", "A@stad.example", "--password-stdin")
    assert second.exit_code != 0 and "email_taken" in second.output


def test_set_password_of_nobody_is_an_error(runner):
    result = runner.invoke(
        args=["users", "set-password", "--email", "nobody@stad.example", "--password-stdin"],
        input=f"{PASSWORD}\n",
    )
    assert result.exit_code != 0 and "user_not_found" in result.output


def test_seed_demo_gives_each_staff_role_a_login_that_works(app, runner):
    first = json.loads(runner.invoke(args=["seed-demo"]).stdout)
    logins = json.loads(runner.invoke(args=["seed-demo"]).stdout)  # again: fresh passwords
    staff = {entry["role"]: entry for entry in logins if "email" in entry}
    assert set(staff) == {"department", "supervisor", "admin"}
    field = next(entry for entry in logins if entry["role"] == "field")
    assert "password" not in field
    for role, entry in staff.items():
        client = app.test_client()
        assert sign_in(client, entry["email"], entry["password"]).status_code == 302, role
        old = next(e for e in first if e["role"] == role)["password"]
        assert sign_in(app.test_client(), entry["email"], old).status_code == 401

"""Contacts: who may read one and for which reason, the audit row every read writes, and the
append-only audit log (aggregates: tests/api/test_contact_aggregates.py)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from backend import pagination
from backend.contacts.models import ContactRead
from backend.extensions import db
from tests.helpers.sync_items import batch, contact

PUSH = "/api/v1/sync/push"
AUDIT = "/api/v1/admin/audit"


def audit_rows() -> list[ContactRead]:
    db.session.expire_all()
    return list(db.session.execute(select(ContactRead).order_by(ContactRead.seq)).scalars())


@pytest.fixture
def stored(client, create_user):
    """A contact by a field worker, referred to socialtjanst-uppsok."""
    author = create_user(role="field")
    item = contact(referral="socialtjanst-uppsok", needs=["housing", "food"])
    response = client.post(PUSH, json=batch([item]), headers=author.headers)
    assert response.get_json()["results"][0]["status"] == "created"
    return author, item["id"]


def test_author_reads_own_contact_and_the_read_is_audited(client, stored):
    author, contact_id = stored
    response = client.get(f"/api/v1/contacts/{contact_id}", headers=author.headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == contact_id
    assert sorted(body["needs"]) == ["food", "housing"]
    assert body["zone"] == "sergels-torg"
    assert "lat" not in body and "lon" not in body
    (row,) = audit_rows()
    assert (str(row.contact_id), row.reader_id, row.reason) == (contact_id, author.id, "own_record")
    assert row.reader_role == "field"


def test_referred_organisation_must_say_why_and_is_audited(client, create_user, stored):
    _, contact_id = stored
    social = create_user(role="department", org="socialtjanst-uppsok")
    url = f"/api/v1/contacts/{contact_id}"
    missing = client.get(url, headers=social.headers)
    assert (missing.status_code, missing.get_json()["code"]) == (422, "reason_required")
    assert audit_rows() == []
    ok = client.get(url, query_string={"reason": "referral_intake"}, headers=social.headers)
    assert ok.status_code == 200
    (row,) = audit_rows()
    assert (row.reader_id, row.reader_organisation, row.reason) == (
        social.id,
        "socialtjanst-uppsok",
        "referral_intake",
    )


@pytest.mark.parametrize(
    "role,org",
    [
        ("field", "city-i-samverkan"),  # a colleague, not the author
        ("department", "trafikkontoret"),  # a department it was not referred to
        ("supervisor", "city-i-samverkan"),  # aggregates only
        ("admin", "city-i-samverkan"),
        ("field", "socialtjanst-uppsok"),  # the right organisation, but not its department
    ],
)
def test_others_get_the_same_404_as_for_no_contact_and_nothing_is_audited(
    client, create_user, stored, role, org
):
    _, contact_id = stored
    reader = create_user(role=role, org=org)
    refused = client.get(
        f"/api/v1/contacts/{contact_id}",
        query_string={"reason": "follow_up"},
        headers=reader.headers,
    )
    absent = client.get(
        f"/api/v1/contacts/{uuid.uuid4()}",
        query_string={"reason": "follow_up"},
        headers=reader.headers,
    )
    assert refused.status_code == absent.status_code == 404
    assert refused.get_json() == absent.get_json()
    assert contact_id not in refused.get_data(as_text=True)
    assert audit_rows() == []


READS = {
    # Each reader's reasons: own_record is the author's, referral_intake the referred unit's.
    ("author", "own_record"): 200,
    ("author", "follow_up"): 200,
    ("author", "correction"): 200,
    ("author", "referral_intake"): 422,
    ("referred", "referral_intake"): 200,
    ("referred", "follow_up"): 200,
    ("referred", "correction"): 200,
    ("referred", "own_record"): 422,
}


@pytest.mark.parametrize("reader,reason", list(READS), ids=[f"{r} gives {why}" for r, why in READS])
def test_a_reason_is_checked_against_the_reader(client, create_user, stored, reader, reason):
    author, contact_id = stored
    account = (
        author if reader == "author" else create_user(role="department", org="socialtjanst-uppsok")
    )
    response = client.get(
        f"/api/v1/contacts/{contact_id}", query_string={"reason": reason}, headers=account.headers
    )
    assert response.status_code == READS[(reader, reason)], response.get_json()
    if response.status_code == 200:
        (row,) = audit_rows()
        assert (row.reader_id, row.reason) == (account.id, reason)
        return
    body = response.get_json()
    assert body["code"] == "reason_not_allowed"
    allowed = {"author": "own_record", "referred": "referral_intake"}[reader]
    (message,) = body["errors"]["reason"]
    assert allowed in message and "follow_up" in message and reason not in message.split("; ")[1]
    assert audit_rows() == []


def test_a_reason_required_lists_the_readers_own_reasons(client, create_user, stored):
    _, contact_id = stored
    social = create_user(role="department", org="socialtjanst-uppsok")
    body = client.get(f"/api/v1/contacts/{contact_id}", headers=social.headers).get_json()
    assert body["code"] == "reason_required"
    assert "referral_intake" in body["errors"]["reason"][0]
    assert "own_record" not in body["errors"]["reason"][0]


def test_admin_lists_the_audit_log_by_cursor_and_filter(client, create_user, stored, admin):
    author, contact_id = stored
    for _ in range(3):
        assert (
            client.get(f"/api/v1/contacts/{contact_id}", headers=author.headers).status_code == 200
        )
    first = client.get(AUDIT, query_string={"limit": 2}, headers=admin.headers).get_json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = client.get(
        AUDIT, query_string={"limit": 2, "cursor": first["next_cursor"]}, headers=admin.headers
    ).get_json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    seqs = [i["seq"] for i in first["items"] + rest["items"]]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    other = client.get(
        AUDIT, query_string={"contact_id": str(uuid.uuid4())}, headers=admin.headers
    ).get_json()
    assert other["items"] == []
    bad = client.get(AUDIT, query_string={"cursor": "nope"}, headers=admin.headers)
    assert (bad.status_code, bad.get_json()["code"]) == (400, "invalid_cursor")
    # A seq as the old cursors gave it, or one past the 32-bit seq column inside a cursor of
    # this list (was a 500 on PostgreSQL): no cursor this service gave.
    for forged in (
        "3",
        "2147483648",
        pagination.encode("audit", 2**31),
        pagination.encode("audit", -1),
    ):
        bad = client.get(AUDIT, query_string={"cursor": forged}, headers=admin.headers)
        assert (bad.status_code, bad.get_json()["code"]) == (400, "invalid_cursor")
    last = client.get(
        AUDIT, query_string={"cursor": pagination.encode("audit", 2**31 - 1)}, headers=admin.headers
    )
    assert last.status_code == 200 and last.get_json()["items"] == []
    supervisor = create_user(role="supervisor")
    assert client.get(AUDIT, headers=supervisor.headers).status_code == 403


@pytest.mark.parametrize(
    "statement",
    ["UPDATE contact_reads SET reason = 'correction'", "DELETE FROM contact_reads"],
)
def test_the_database_refuses_to_change_the_audit_log(client, stored, statement):
    author, contact_id = stored
    client.get(f"/api/v1/contacts/{contact_id}", headers=author.headers)
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text(statement))
    db.session.rollback()
    (row,) = audit_rows()
    assert row.reason == "own_record"

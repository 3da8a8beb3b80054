"""The reference client against the real app: outbox, lost responses, backoff, pull."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from backend.extensions import db
from backend.sync.models import SyncItem
from sync.client import Fatal, FieldClient, Retryable
from tests.helpers.sync_items import contact, presence, report
from tests.helpers.sync_transport import FlaskTransport


def _strip(item: dict) -> dict:
    return {k: v for k, v in item.items() if k not in ("id",)}


@pytest.fixture
def phone(client, field_user, tmp_path):
    transport = FlaskTransport(client)
    sleeps: list[float] = []
    phone = FieldClient(
        str(tmp_path / "outbox.sqlite3"), transport, field_user.token, sleep=sleeps.append
    )
    phone.sleeps = sleeps  # type: ignore[attr-defined]
    yield phone
    phone.close()


def test_queued_offline_then_synced_and_pulled(phone):
    phone.transport.mode = "down"
    ids = [phone.queue(_strip(item)) for item in (report(), contact(), presence())]
    with pytest.raises(Retryable):
        phone.sync(attempts=3)
    assert len(phone.sleeps) == 2  # backed off between the three attempts
    assert phone.pending() == 3

    phone.transport.mode = "up"
    summary = phone.sync()
    assert summary.by_status == {"created": 3}
    assert phone.pending() == 0
    phone.pull()
    # The report started a case and the contact carries a referral: both were routed by the
    # push; a presence event is only received.
    assert [phone.latest_status(i) for i in ids] == ["routed", "routed", "received"]


def test_lost_response_is_resent_as_duplicate(phone):
    item_id = phone.queue(_strip(report()))
    phone.transport.mode = "drop_responses"
    with pytest.raises(Retryable):
        phone.push_once()
    assert phone.pending() == 1  # the phone cannot know the server stored it
    phone.transport.mode = "up"
    assert phone.sync().by_status == {"duplicate": 1}
    assert db.session.execute(select(func.count()).select_from(SyncItem)).scalar_one() == 1
    assert phone.states() == {item_id: "stored"}


def test_pull_alone_clears_the_outbox_after_a_lost_response(phone):
    item_id = phone.queue(_strip(presence()))
    phone.transport.mode = "drop_responses"
    with pytest.raises(Retryable):
        phone.push_once()
    phone.transport.mode = "up"
    phone.pull()
    assert phone.states() == {item_id: "stored"}
    assert phone.pending() == 0


def test_rejected_item_leaves_the_outbox_with_its_code(phone):
    bad = phone.queue(_strip(report(category="litter.unknown")))
    good = phone.queue(_strip(report()))
    phone.sync()
    assert phone.states() == {bad: "rejected", good: "stored"}
    code = phone.db.execute("SELECT code FROM outbox WHERE id = ?", (bad,)).fetchone()[0]
    assert code == "unknown_category"


def test_too_large_batch_is_split(app, phone, monkeypatch):
    monkeypatch.setitem(app.config, "SYNC_MAX_BATCH_ITEMS", 4)
    for _ in range(10):
        phone.queue(_strip(presence()))
    assert phone.sync().by_status == {"created": 10}
    assert phone.batch_size <= 4


def test_revoked_token_is_fatal_not_retried(client, tmp_path):
    phone = FieldClient(str(tmp_path / "o.sqlite3"), FlaskTransport(client), "sf_nonsense")
    phone.queue(_strip(report()))
    with pytest.raises(Fatal):
        phone.sync()
    assert phone.pending() == 1

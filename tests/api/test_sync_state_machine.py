"""Hypothesis state machine: phones queue offline, lose signal and responses, resend, and
push at once; in the end every valid item is stored exactly once and its status is in pull."""

from __future__ import annotations

import contextlib
import json
import uuid
from typing import Any

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from backend.extensions import db
from backend.sync.models import SyncItem
from sync.client import FieldClient, Retryable
from tests.helpers.sync_items import contact, presence, report
from tests.helpers.sync_transport import NETWORK_MODES, FlaskTransport

# Two devices of one worker (they share items when a phone is swapped mid-shift) and a
# colleague's phone.
PHONES = 3
ITEM_MAKERS = {"report": report, "contact": contact, "presence": presence}


def _fresh(kind: str, valid: bool) -> dict[str, Any]:
    item = ITEM_MAKERS[kind]()
    if not valid:
        item["captured_at"] = "not a time"
    return item


class Phones(RuleBasedStateMachine):
    def __init__(self, client: Any, tokens: list[str]) -> None:
        super().__init__()
        self.phones = [
            FieldClient(":memory:", FlaskTransport(client), token, device_id=f"dev-{n}")
            for n, token in enumerate(tokens)
        ]
        self.owner = {0: 0, 1: 0, 2: 1}  # phone -> user index
        self.valid: dict[str, int] = {}  # item id -> user index
        self.invalid: set[str] = set()

    def teardown(self) -> None:
        for phone in self.phones:
            phone.close()

    @rule(
        n=st.integers(0, PHONES - 1),
        kind=st.sampled_from(sorted(ITEM_MAKERS)),
        valid=st.sampled_from([True, True, True, False]),
    )
    def queue(self, n: int, kind: str, valid: bool) -> None:
        item = _fresh(kind, valid)
        self.phones[n].queue(item)
        if valid:
            self.valid[item["id"]] = self.owner[n]
        else:
            self.invalid.add(item["id"])

    @rule(n=st.integers(0, PHONES - 1), mode=st.sampled_from(NETWORK_MODES))
    def network(self, n: int, mode: str) -> None:
        self.phones[n].transport.mode = mode  # type: ignore[attr-defined]

    @rule(n=st.integers(0, PHONES - 1))
    def push(self, n: int) -> None:
        with contextlib.suppress(Retryable):
            self.phones[n].push_once()

    @rule(n=st.integers(0, PHONES - 1))
    def pull(self, n: int) -> None:
        with contextlib.suppress(Retryable):
            self.phones[n].pull(limit=5)

    @precondition(lambda self: self.phones[0].pending() > 0)
    @rule()
    def swap_device(self) -> None:
        # The worker's second device resends what the first still holds, while the first
        # will resend it too: the same item from two devices.
        rows = (
            self.phones[0]
            .db.execute("SELECT body FROM outbox WHERE state = 'pending' LIMIT 3")
            .fetchall()
        )
        for (body,) in rows:
            item = json.loads(body)
            if item["id"] not in self.phones[1].states():
                self.phones[1].queue(item)

    @invariant()
    def stored_items_are_the_valid_ones_of_their_owner(self) -> None:
        ids = [uuid.UUID(i) for i in [*self.valid, *self.invalid]]
        if not ids:
            return
        rows = db.session.execute(
            select(SyncItem.id, SyncItem.user_id).where(SyncItem.id.in_(ids))
        ).all()
        db.session.remove()
        for item_id, user_id in rows:
            assert str(item_id) in self.valid
            assert user_id == self.user_ids[self.valid[str(item_id)]]
        for n, phone in enumerate(self.phones):
            for item_id, state in phone.states().items():
                assert state in ("pending", "stored", "rejected"), (n, item_id, state)
                if state == "rejected":
                    assert item_id in self.invalid

    def finish(self) -> None:
        """Signal returns everywhere: every phone empties its outbox and pulls."""
        for phone in self.phones:
            phone.transport.mode = "up"  # type: ignore[attr-defined]
            phone.sync()
            phone.pull()
        stored = dict(
            db.session.execute(
                select(SyncItem.id, SyncItem.user_id).where(
                    SyncItem.id.in_([uuid.UUID(i) for i in self.valid])
                )
            ).all()
        )
        db.session.remove()
        assert {str(i) for i in stored} == set(self.valid)
        for phone in self.phones:
            assert phone.pending() == 0
            for item_id, state in phone.states().items():
                if item_id in self.valid:
                    assert state == "stored"
                    # Every stored item is seen as received exactly once; a report that joined
                    # an existing case is then merged (same bin pushed by several phones), one
                    # that started a case is routed once (or waits for its photos first).
                    history = phone.status_history(item_id)
                    assert history.count("received") == 1, history
                    assert history[0] == "received"
                    assert history.count("routed") <= 1, history
                    allowed = {"received", "merged", "routed", "awaiting_photos"}
                    assert set(history) <= allowed, history
                else:
                    assert state == "rejected"


def test_offline_phones_end_with_every_item_stored_once(client, create_user):
    users = [create_user(role="field"), create_user(role="field")]

    class Run(Phones):
        user_ids = [u.id for u in users]

        def __init__(self) -> None:
            super().__init__(client, [users[0].token, users[0].token, users[1].token])

        def teardown(self) -> None:
            try:
                self.finish()
            finally:
                super().teardown()

    run_state_machine_as_test(
        Run,
        settings=settings(
            max_examples=25,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )

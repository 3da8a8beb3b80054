"""Demo tokens do not pile up: each run of `seed-demo` or `make run` (run-demo) that cannot
reuse the earlier tokens revokes the demo users' `seed-demo` tokens before issuing new ones."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import select

from backend.demo import demo_logins
from backend.extensions import db
from backend.users.models import ApiToken
from backend.users.services import new_token_for


def _me(client, token: str) -> int:
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code


def _live_seed_tokens(user_id: str) -> list[ApiToken]:
    db.session.expire_all()
    return list(
        db.session.execute(
            select(ApiToken).where(
                ApiToken.user_id == uuid.UUID(user_id),
                ApiToken.label == "seed-demo",
                ApiToken.revoked_at.is_(None),
            )
        ).scalars()
    )


def test_two_runs_that_cannot_reuse_leave_one_live_demo_token_each(app, client, tmp_path):
    tokens_file = tmp_path / "instance" / "demo-tokens.json"
    first = demo_logins(tokens_file)
    # A phone enrolled by an admin for the demo field worker: not the demo's token to revoke.
    enrolled = new_token_for(db.session(), uuid.UUID(first[0]["id"]), label="phone")[1]
    tokens_file.write_text("not json", "utf-8")  # the next run cannot reuse
    second = demo_logins(tokens_file)
    assert json.loads(tokens_file.read_text("utf-8")) == second

    assert [e["id"] for e in first] == [e["id"] for e in second]
    for old, new in zip(first, second, strict=True):
        assert old["token"] != new["token"]
        assert _me(client, old["token"]) == 401, old["role"]
        assert _me(client, new["token"]) == 200, new["role"]
        (live,) = _live_seed_tokens(new["id"])
        assert new["token"].startswith(live.prefix)
    assert _me(client, enrolled) == 200


def test_a_reusable_file_keeps_its_tokens(app, client, tmp_path):
    tokens_file = tmp_path / "demo-tokens.json"
    first = demo_logins(tokens_file)
    assert demo_logins(tokens_file) == first
    assert all(_me(client, e["token"]) == 200 for e in first)
    assert all(len(_live_seed_tokens(e["id"])) == 1 for e in first)


def test_seed_demo_twice_revokes_the_first_runs_tokens(app, runner, client):
    first = json.loads(runner.invoke(args=["seed-demo"]).stdout)
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0, second.output
    for old, new in zip(first, json.loads(second.stdout), strict=True):
        assert _me(client, old["token"]) == 401
        assert _me(client, new["token"]) == 200
        assert len(_live_seed_tokens(new["id"])) == 1

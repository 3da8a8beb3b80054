"""Per-token rate limits on push and photo upload, counted in a real Redis."""

from __future__ import annotations

import logging
import uuid

import pytest
from redis import Redis

from backend.ratelimit import KEY_PREFIX
from tests.api.test_photos import put
from tests.api.test_uploads import create as tus_create
from tests.helpers.photos import phone_jpeg
from tests.helpers.servers import RedisServer
from tests.helpers.sync_items import batch, presence


def stored_item_ids(app) -> set[str]:
    from sqlalchemy import select

    from backend.extensions import db
    from backend.sync.models import SyncItem

    rows = db.session.execute(select(SyncItem.id)).scalars()
    ids = {str(row) for row in rows}
    db.session.rollback()
    return ids


def push_one(client, account):
    item = presence()
    return item["id"], client.post("/api/v1/sync/push", json=batch([item]), headers=account.headers)


def test_push_past_the_limit_is_429_with_retry_after_and_stores_nothing(
    app, client, field_user, monkeypatch
):
    monkeypatch.setitem(app.config, "RATE_LIMIT_PUSH_PER_MINUTE", 3)
    accepted = []
    for _ in range(3):
        item_id, response = push_one(client, field_user)
        assert response.status_code == 200
        accepted.append(item_id)
    refused_id, refused = push_one(client, field_user)
    assert refused.status_code == 429
    body = refused.get_json()
    assert body["code"] == "rate_limited"
    assert body["status"] == 429
    assert "rate_limit" in body["errors"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    stored = stored_item_ids(app)
    assert set(accepted) <= stored
    assert refused_id not in stored


def test_the_limit_is_per_token_and_keyed_by_its_id(
    app, client, field_user, create_user, monkeypatch
):
    from sqlalchemy import select

    from backend.extensions import db
    from backend.users.models import ApiToken

    monkeypatch.setitem(app.config, "RATE_LIMIT_PUSH_PER_MINUTE", 1)
    assert push_one(client, field_user)[1].status_code == 200
    assert push_one(client, field_user)[1].status_code == 429
    colleague = create_user(role="field")
    assert push_one(client, colleague)[1].status_code == 200

    token_id = db.session.execute(
        select(ApiToken.id).where(ApiToken.user_id == field_user.id)
    ).scalar_one()
    keys = [key.decode() for key in Redis.from_url(app.config["REDIS_URL"]).keys(f"{KEY_PREFIX}*")]
    assert any(str(token_id) in key for key in keys)
    # The bearer token never reaches Redis: a key must not authenticate anyone.
    assert not any(field_user.token in key or colleague.token in key for key in keys)


def test_photo_put_and_tus_share_the_upload_budget(app, client, field_user, monkeypatch):
    monkeypatch.setitem(app.config, "RATE_LIMIT_UPLOAD_PER_MINUTE", 2)
    assert put(client, field_user, phone_jpeg(seed=1)).status_code == 201
    assert tus_create(client, field_user, phone_jpeg(seed=2)).status_code == 201
    refused_put = put(client, field_user, phone_jpeg(seed=3))
    assert refused_put.status_code == 429
    assert refused_put.get_json()["code"] == "rate_limited"
    assert int(refused_put.headers["Retry-After"]) >= 1
    refused_tus = tus_create(client, field_user, phone_jpeg(seed=4))
    assert refused_tus.status_code == 429
    # Pushes have their own budget.
    assert push_one(client, field_user)[1].status_code == 200


def test_config_advertises_the_limits(app, client, field_user, monkeypatch):
    monkeypatch.setitem(app.config, "RATE_LIMIT_PUSH_PER_MINUTE", 42)
    monkeypatch.setitem(app.config, "RATE_LIMIT_UPLOAD_PER_MINUTE", 0)
    body = client.get("/api/v1/sync/config", headers=field_user.headers).get_json()
    assert body["rate_limits"] == {"push_per_minute": 42, "upload_per_minute": 0}


@pytest.fixture
def own_redis(app, monkeypatch):
    """A Redis of this test's own, so stopping it leaves the session's server alone."""
    server = RedisServer()
    server.start()
    monkeypatch.setitem(app.config, "REDIS_URL", server.url(0))
    # The app caches its Redis client and limiter; drop both so they reconnect to this one.
    monkeypatch.setitem(app.extensions, "redis", None)
    monkeypatch.setitem(app.extensions, "rate_limiter", None)
    yield server
    server.cleanup()


def test_redis_down_lets_pushes_through_and_logs_it(
    app, client, field_user, own_redis, monkeypatch, caplog
):
    monkeypatch.setitem(app.config, "RATE_LIMIT_PUSH_PER_MINUTE", 1)
    monkeypatch.setitem(app.extensions, "rate_limiter_down_until", 0.0)
    assert push_one(client, field_user)[1].status_code == 200
    assert push_one(client, field_user)[1].status_code == 429
    own_redis.stop()
    pushed = []
    with caplog.at_level(logging.WARNING, logger="backend.ratelimit"):
        for _ in range(3):
            item_id, response = push_one(client, field_user)
            assert response.status_code == 200
            assert response.get_json()["results"][0]["status"] == "created"
            pushed.append(item_id)
    assert set(pushed) <= stored_item_ids(app)
    # Logged once, not once per push: the limiter stops asking a Redis that just failed.
    assert caplog.text.count("rate limiter unavailable") == 1
    # Back up (empty: no persistence); once the pause is over the limit applies again.
    own_redis.start()
    monkeypatch.setitem(app.extensions, "rate_limiter_down_until", 0.0)
    assert push_one(client, field_user)[1].status_code == 200
    assert push_one(client, field_user)[1].status_code == 429


def test_unknown_token_is_401_before_any_counting(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "RATE_LIMIT_PUSH_PER_MINUTE", 1)
    headers = {"Authorization": f"Bearer sf_{uuid.uuid4().hex}"}
    for _ in range(3):
        response = client.post("/api/v1/sync/push", json=batch([presence()]), headers=headers)
        assert response.status_code == 401
    assert not Redis.from_url(app.config["REDIS_URL"]).keys(f"{KEY_PREFIX}*")

"""GET /api/v1/sync/config: what the phone needs to know before it pushes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def test_config_advertises_limits_reference_data_and_protocol(app, client, field_user):
    response = client.get("/api/v1/sync/config", headers=field_user.headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["protocol_version"] == 1
    assert body["supported_protocol_versions"] == [1]
    server_time = datetime.fromisoformat(body["server_time"])
    assert abs(server_time - datetime.now(UTC)) < timedelta(seconds=30)
    limits = body["limits"]
    assert limits["max_items_per_batch"] == app.config["SYNC_MAX_BATCH_ITEMS"]
    assert limits["max_body_bytes"] == app.config["MAX_CONTENT_LENGTH"]
    assert limits["max_note_chars"] == app.config["SYNC_MAX_NOTE_CHARS"]
    assert limits["max_photo_bytes"] == app.config["MAX_PHOTO_BYTES"]
    assert limits["max_item_age_days"] >= 90
    assert "image/jpeg" in body["photo_content_types"]
    assert "litter.overflowing_bin" in {c["code"] for c in body["categories"]}
    assert "sergels-torg" in {z["slug"] for z in body["zones"]}
    assert "socialtjanst-uppsok" in body["contact"]["referrals"]
    assert "housing" in body["contact"]["needs"]
    assert "ping" in body["presence_events"]


def test_a_lower_limit_is_advertised_and_enforced(app, client, field_user, monkeypatch):
    from tests.helpers.sync_items import batch, presence

    monkeypatch.setitem(app.config, "SYNC_MAX_BATCH_ITEMS", 3)
    config = client.get("/api/v1/sync/config", headers=field_user.headers).get_json()
    assert config["limits"]["max_items_per_batch"] == 3
    items = [presence() for _ in range(4)]
    response = client.post("/api/v1/sync/push", json=batch(items), headers=field_user.headers)
    assert response.status_code == 413


def test_config_needs_a_token(client):
    assert client.get("/api/v1/sync/config").status_code == 401


def test_the_service_area_is_advertised_and_enforced(app, client, field_user, monkeypatch):
    from tests.helpers.sync_items import batch, report

    area = client.get("/api/v1/sync/config", headers=field_user.headers).get_json()
    assert area["service_area"] == {"south": 59.22, "west": 17.75, "north": 59.45, "east": 18.2}
    # An operator moves the area (SERVICE_AREA): Sergels Torg is then outside it.
    monkeypatch.setitem(app.config, "SERVICE_AREA", (57.6, 11.8, 57.8, 12.1))  # Gothenburg
    moved = client.get("/api/v1/sync/config", headers=field_user.headers).get_json()
    assert moved["service_area"] == {"south": 57.6, "west": 11.8, "north": 57.8, "east": 12.1}
    response = client.post("/api/v1/sync/push", json=batch([report()]), headers=field_user.headers)
    result = response.get_json()["results"][0]
    assert (result["status"], result["code"]) == ("rejected", "outside_service_area")
    assert "57.6..57.8 N" in result["errors"]["location"][0]

"""Builders of push items and batches as the phone app sends them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

SERGELS_TORG = {"lat": 59.3325, "lon": 18.0642, "accuracy_m": 8}


def iso(moment: datetime) -> str:
    return moment.isoformat()


def now() -> datetime:
    return datetime.now(UTC)


def report(**overrides: Any) -> dict[str, Any]:
    item = {
        "type": "report",
        "id": str(uuid.uuid4()),
        "captured_at": iso(now() - timedelta(minutes=5)),
        "kind": "litter",
        "category": "litter.overflowing_bin",
        "location": dict(SERGELS_TORG),
        "note": "Papperskorgen vid trappan är full",
        "photos": [],
    }
    item.update(overrides)
    return item


def contact(**overrides: Any) -> dict[str, Any]:
    item = {
        "type": "contact",
        "id": str(uuid.uuid4()),
        "captured_at": iso(now() - timedelta(minutes=3)),
        "location": dict(SERGELS_TORG),
        "contact_type": "conversation",
        "age_group": "26-40",
        "needs": ["housing"],
        "referral": "socialtjanst-uppsok",
    }
    item.update(overrides)
    return item


def presence(**overrides: Any) -> dict[str, Any]:
    item = {
        "type": "presence",
        "id": str(uuid.uuid4()),
        "captured_at": iso(now() - timedelta(minutes=60)),
        "event": "shift_start",
        "zone": "sergels-torg",
        "location": dict(SERGELS_TORG),
    }
    item.update(overrides)
    return item


def batch(items: list[dict[str, Any]], **overrides: Any) -> dict[str, Any]:
    body = {
        "device_id": "phone-1",
        "app_version": "1.4.2",
        "sent_at": iso(now()),
        "items": items,
    }
    body.update(overrides)
    return body

"""What a phone is told before it pushes (``GET /api/v1/sync/config``): limits, reference
data, the protocol, the server's time."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend import ratelimit
from backend.database import utcnow
from backend.organisations.models import Organisation
from backend.reference.models import Category, Zone
from backend.sync.services import SyncSettings
from sync import envelope


def sync_config(session: Session, settings: SyncSettings, config: dict[str, Any]) -> dict[str, Any]:
    """What a phone needs before it pushes: limits, reference data, protocol, server time."""
    categories = list(
        session.execute(
            select(Category).where(Category.active.is_(True)).order_by(Category.code)
        ).scalars()
    )
    zones = list(session.execute(select(Zone).order_by(Zone.slug)).scalars())
    organisations = list(
        session.execute(
            select(Organisation).where(Organisation.active.is_(True)).order_by(Organisation.slug)
        ).scalars()
    )
    return {
        "protocol_version": envelope.PROTOCOL_VERSION,
        "supported_protocol_versions": list(envelope.SUPPORTED_PROTOCOL_VERSIONS),
        "server_time": utcnow(),
        "limits": {
            "max_items_per_batch": settings.max_batch_items,
            "max_body_bytes": config["MAX_CONTENT_LENGTH"],
            "max_note_chars": settings.limits.max_note_chars,
            "max_photos_per_report": settings.limits.max_photos_per_report,
            "max_photo_bytes": settings.limits.max_photo_bytes,
            "max_photo_pixels": config["MAX_PHOTO_PIXELS"],
            # Unfinished tus uploads one user may hold at once, and their Upload-Lengths.
            "max_open_uploads": config["UPLOAD_MAX_OPEN_PER_USER"],
            "max_open_upload_bytes": config["UPLOAD_MAX_OPEN_BYTES_PER_USER"],
            "max_item_age_days": settings.clock.max_age_days,
            "max_future_s": settings.clock.max_future_s,
            "clock_correction_threshold_s": settings.clock.correction_threshold_s,
            "pull_default_limit": config["SYNC_PULL_DEFAULT_LIMIT"],
            "pull_max_limit": config["SYNC_PULL_MAX_LIMIT"],
            # A new case waits this long for its missing photos before it is routed anyway.
            "photo_grace_s": settings.photo_grace_s,
        },
        "rate_limits": ratelimit.advertised(config),
        # Locations outside are rejected items (outside_service_area).
        "service_area": dataclasses.asdict(settings.limits.area),
        "photo_content_types": list(envelope.PHOTO_CONTENT_TYPES),
        "categories": categories,
        "zones": zones,
        "contact": {
            "contact_types": list(envelope.CONTACT_TYPES),
            "age_groups": list(envelope.AGE_GROUPS),
            "needs": list(envelope.NEEDS),
            "referrals": [o.slug for o in organisations],
        },
        "presence_events": list(envelope.PRESENCE_EVENTS),
    }

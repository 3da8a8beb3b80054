"""What a receiver learns about an event: ids and a link, never personal data.

``Event`` has a fixed set of fields, all ids, names of kinds and a link built from them; it is
the only thing any channel sends. A receiver follows the link with its own token to read the
task through the API, where the access checks apply.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from backend.delivery.models import Delivery

EVENT_TYPES = ("task.created", "task.changed")
"""Events an organisation is told about: a task was routed to it, or its task changed."""

SUBJECT_PATHS = {
    "task": "/api/v1/tasks/{id}",
    "case": "/api/v1/cases/{id}",
}
"""Subject kinds and where the API serves them (the link in every event)."""


@dataclass(frozen=True)
class Event:
    delivery_id: uuid.UUID
    type: str
    organisation: str
    subject_type: str
    subject_id: uuid.UUID
    occurred_at: datetime
    link: str

    @classmethod
    def of(cls, delivery: Delivery, public_base_url: str) -> Event:
        path = SUBJECT_PATHS[delivery.subject_type].format(id=delivery.subject_id)
        return cls(
            delivery_id=delivery.id,
            type=delivery.event_type,
            organisation=delivery.organisation.slug,
            subject_type=delivery.subject_type,
            subject_id=delivery.subject_id,
            occurred_at=delivery.created_at,
            link=public_base_url.rstrip("/") + path,
        )

    def payload(self) -> dict[str, Any]:
        """The Standard Webhooks payload shape: type, timestamp, data."""
        return {
            "type": self.type,
            "timestamp": self.occurred_at.isoformat().replace("+00:00", "Z"),
            "data": {
                "delivery_id": str(self.delivery_id),
                "organisation": self.organisation,
                "subject_type": self.subject_type,
                "subject_id": str(self.subject_id),
                "link": self.link,
            },
        }

    def body(self) -> bytes:
        return json.dumps(self.payload(), separators=(",", ":")).encode("utf-8")

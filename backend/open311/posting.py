"""POST requests: a report from the organisation's system, stored through the phones' push
(the same use case: ledger, case placement, routing), and the idempotency of a resend."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import BadRequest
from backend.open311 import params
from backend.open311.catalogue import active_category, attributes_of
from backend.open311.documents import w3c
from backend.open311.models import Open311Key
from backend.reference.models import Category
from backend.reports.models import Report
from backend.sync.services import Batch, SyncSettings, push
from backend.tasks.models import (
    Task,
)

NAMESPACE = uuid.UUID("5d0c6f5e-58a4-4c51-9a0e-0b3cb0d1f311")
"""uuid5 namespace of the item ids of reports posted through Open311 (see ``item_id``)."""


@dataclass(frozen=True)
class NewRequest:
    service_code: str
    lat: float
    lon: float
    description: str | None
    attributes: dict[str, str]
    media_url: str | None


def _attribute_lines(category: Category, given: Mapping[str, str]) -> list[str]:
    """The attribute values as lines of the report's note, checked against the definition."""
    defined = {a["code"]: a for a in attributes_of(category)}
    for code in given:
        if code not in defined:
            raise params.bad(
                "unknown_attribute", f"attribute[{code[:40]}]", "is not in the service definition"
            )
    lines = []
    for code, attribute in defined.items():
        value = given.get(code)
        if value is None:
            if attribute.get("required"):
                raise params.bad("missing_parameter", f"attribute[{code}]", "is required")
            continue
        if attribute["datatype"] == "number":
            try:
                float(value)
            except ValueError:
                raise params.bad(
                    "invalid_attribute", f"attribute[{code}]", "must be a number"
                ) from None
        allowed = {v["key"]: v["name"] for v in attribute.get("values", [])}
        if allowed and value not in allowed:
            raise params.bad(
                "invalid_attribute", f"attribute[{code}]", f"must be one of {', '.join(allowed)}"
            )
        lines.append(f"{attribute['description']}: {allowed.get(value, value)}")
    return lines


def item_id(organisation_id: uuid.UUID, idempotency_key: str) -> uuid.UUID:
    """The push item id of a posted report: the same for a resend, so the sync ledger's unique
    id stores it once (see the README: resends)."""
    return uuid.uuid5(NAMESPACE, f"{organisation_id}|{idempotency_key}")


def request_fingerprint(fields: Mapping[str, Sequence[str]], day: str) -> str:
    """Without an ``Idempotency-Key``: the request's own content (every parameter but the key)
    and the UTC day, so an identical resend the same day is recognised, while the same words
    about the same place on another day are a new report."""
    content = {k: list(v) for k, v in sorted(fields.items()) if k != "api_key"}
    blob = json.dumps([day, content], sort_keys=True, ensure_ascii=False)
    return "sha256:" + hashlib.sha256(blob.encode("utf-8", errors="replace")).hexdigest()


_REJECTION_FIELDS = {"category": "service_code", "note": "description", "location.lat": "lat"}


def create_request(
    session: Session,
    key: Open311Key,
    new: NewRequest,
    idempotency_key: str,
    settings: SyncSettings,
    now: datetime,
) -> dict[str, Any]:
    """Store a report from the organisation's system as the phones' push does (the same use
    case: ledger, case placement, routing), and answer with its service request. Commits."""
    category = active_category(session, new.service_code)
    # The phones' service area (SERVICE_AREA): a report from another system outside it is 400
    # outside_service_area, as nobody here can act on it.
    if not settings.limits.area.contains(new.lat, new.lon):
        raise params.bad(
            "outside_service_area",
            "lat",
            f"the location is outside the service area ({settings.limits.area.describe()})",
        )
    lines = _attribute_lines(category, new.attributes)
    if new.media_url:
        lines.append(f"Media: {new.media_url}")
    note = "\n".join([new.description or "", *lines]).strip()
    report_id = item_id(key.organisation_id, idempotency_key)
    item = {
        "type": "report",
        "id": str(report_id),
        "captured_at": now.isoformat(),
        "location": {"lat": new.lat, "lon": new.lon},
        "kind": category.kind,
        "category": category.code,
        "note": note,
    }
    batch = Batch(
        device_id=f"open311:{key.prefix}", app_version="open311", sent_at=now, items=[item]
    )
    (result,) = push(session, key.user, batch, settings, now=now).results
    if result.status == "rejected":
        raise BadRequest(
            "The report was refused.",
            code=result.code or "rejected",
            errors={_REJECTION_FIELDS.get(f, f): m for f, m in result.errors.items()},
        )
    case_id = result.case_id
    joined = bool(result.joined_case)
    if result.status == "conflict":
        stored = session.get(Report, report_id)
        same = stored is not None and (stored.category, stored.lat, stored.lon, stored.note) == (
            category.code,
            new.lat,
            new.lon,
            note,
        )
        if not same or stored is None:
            raise params.bad(
                "idempotency_key_reused",
                "Idempotency-Key",
                "was used before for a different request; nothing was stored",
            )
        case_id, joined = stored.case_id, True
    return {
        "service_request_id": str(case_id),
        "service_notice": _notice(session, case_id, joined, result.status == "created"),
        "account_id": str(key.user_id),
    }


def _notice(session: Session, case_id: uuid.UUID | None, joined: bool, created: bool) -> str:
    task = session.execute(
        select(Task)
        .where(Task.case_id == case_id)
        .order_by(Task.routed_at.desc(), Task.id.desc())
        .limit(1)
    ).scalar()
    session.commit()
    start = "Received" if created else "Already received (a resend)"
    if joined and created:
        start = "Received; it joined an open service request about the same thing"
    if task is None:  # pragma: no cover - a new report's case is routed in its push
        return f"{start}; routing shortly."
    return f"{start}; with {task.organisation.name} ({task.status}), due {w3c(task.due_at)}."

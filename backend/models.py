"""Every model, imported in one place so Alembic and the app see the whole schema."""

from __future__ import annotations

from backend.cases.models import Case
from backend.contacts.models import Contact, ContactRead
from backend.delivery.models import Delivery
from backend.feed.models import Change, FeedStream
from backend.open311.models import Open311Key, Open311Update
from backend.organisations.models import Organisation
from backend.photos.models import Photo, PhotoUploader, Upload
from backend.presence.models import PresenceEvent
from backend.reference.models import Category, Zone
from backend.reports.models import Report, ReportPhoto
from backend.retention.models import RetentionRun
from backend.routing.models import StoredRuleSet
from backend.stats.models import (
    StatsDay,
    StatsDirtyDay,
    StatsPresenceDay,
    StatsReportDay,
    StatsTaskDay,
)
from backend.sync.models import SyncItem
from backend.tasks.models import Task, TaskEvent
from backend.users.models import ApiToken, ConsoleSession, User

__all__ = [
    "ApiToken",
    "Case",
    "Category",
    "Change",
    "ConsoleSession",
    "Contact",
    "ContactRead",
    "Delivery",
    "FeedStream",
    "Open311Key",
    "Open311Update",
    "Organisation",
    "Photo",
    "PhotoUploader",
    "PresenceEvent",
    "Report",
    "ReportPhoto",
    "RetentionRun",
    "StatsDay",
    "StatsDirtyDay",
    "StatsPresenceDay",
    "StatsReportDay",
    "StatsTaskDay",
    "StoredRuleSet",
    "SyncItem",
    "Task",
    "TaskEvent",
    "Upload",
    "User",
    "Zone",
]

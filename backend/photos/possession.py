"""Possession, not existence: a report's photo counts only when the report's author uploaded
those bytes themself (``PhotoUploader``). A hash listed without them, or learned from someone
else's photo, attaches nothing, shows nothing and routes nothing. The one join condition every
query of "the photos a report attaches" uses."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_

from backend.photos.models import PhotoUploader
from backend.reports.models import Report, ReportPhoto


def reporter_possesses() -> ColumnElement[bool]:
    """Join ``PhotoUploader`` on this: the report's author possesses the listed photo."""
    return and_(PhotoUploader.sha256 == ReportPhoto.sha256, PhotoUploader.user_id == Report.user_id)

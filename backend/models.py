"""Every model, imported in one place so Alembic and the app see the whole schema."""

from __future__ import annotations

from backend.delivery.models import Delivery
from backend.organisations.models import Organisation
from backend.photos.models import Photo
from backend.reference.models import Category, Zone
from backend.users.models import ApiToken, User

__all__ = ["ApiToken", "Category", "Delivery", "Organisation", "Photo", "User", "Zone"]

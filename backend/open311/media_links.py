"""Signed media links: the token a service request's ``media_url`` carries and the sanitised
full-size JPEG it names, checked again (key's user active, photo visible) when it is used."""

from __future__ import annotations

import logging
import uuid

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from backend.errors import Forbidden, NotFound
from backend.photos.models import Photo
from backend.photos.services import can_view
from backend.users.models import User
from media.storage import Storage, key

log = logging.getLogger(__name__)


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="open311-media")


def sign_media(secret_key: str, sha256: str, user_id: uuid.UUID) -> str:
    """A token naming the photo and the key's user: valid until it expires, the key is
    revoked, or the organisation may no longer see the photo (all checked when it is used)."""
    return str(_serializer(secret_key).dumps([sha256, str(user_id)]))


def media(session: Session, storage: Storage, secret_key: str, token: str, max_age_s: int) -> bytes:
    """The sanitised full-size JPEG a media link names; never the original bytes."""
    try:
        sha256, user_id = _serializer(secret_key).loads(token, max_age=max_age_s)
    except SignatureExpired:
        raise Forbidden(
            "This media link has expired; GET the service request again for a fresh one.",
            code="media_link_expired",
        ) from None
    except (BadSignature, ValueError, TypeError):
        sha256 = user_id = None
    user = session.get(User, uuid.UUID(user_id)) if isinstance(user_id, str) else None
    photo = session.get(Photo, sha256) if isinstance(sha256, str) else None
    session.commit()
    if (
        user is None
        or photo is None
        or not user.active
        or photo.status != "ready"
        or not can_view(session, user, photo)
    ):
        raise NotFound("No media at this link.", code="media_not_found")
    try:
        return storage.get(key("full", photo.sha256))
    except FileNotFoundError:
        # The row says ready but the image is gone (a restored database, a store emptied by
        # hand): as the photo API answers, not a 500.
        log.error("photo %s is ready but its full image is missing", photo.sha256)
        raise NotFound("No media at this link.", code="media_not_found") from None

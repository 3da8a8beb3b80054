"""The photo API's shapes: a photo's info and the image query (size)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from backend.photos.models import PHOTO_STATUSES
from backend.photos.services import SIZES


class PhotoSchema(ma.Schema):
    sha256 = ma.fields.String(dump_only=True)
    size = ma.fields.Integer(dump_only=True, metadata={"description": "Bytes of the upload"})
    content_type = ma.fields.String(
        dump_only=True, metadata={"description": "Format of the upload, from its own bytes"}
    )
    status = ma.fields.String(
        dump_only=True,
        validate=validate.OneOf(PHOTO_STATUSES),
        metadata={"description": "processing, then ready (served) or failed (never served)"},
    )
    failure_reason = ma.fields.String(
        dump_only=True, allow_none=True, metadata={"description": "Error code when failed"}
    )
    width = ma.fields.Integer(dump_only=True, allow_none=True)
    height = ma.fields.Integer(dump_only=True, allow_none=True)
    phash = ma.fields.String(
        dump_only=True,
        allow_none=True,
        metadata={"description": "64-bit perceptual hash, 16 hex digits"},
    )
    created_at = ma.fields.DateTime(dump_only=True)
    processed_at = ma.fields.DateTime(dump_only=True, allow_none=True)


class ImageQuerySchema(ma.Schema):
    size = ma.fields.String(
        load_default="full",
        validate=validate.OneOf(SIZES),
        metadata={
            "description": "full (longest side 2000 px, or up to 1 % more where the decoded "
            "size is that close and is served without a resample) or thumb (320 px)"
        },
    )

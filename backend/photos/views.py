"""Photo routes: whole-file PUT, the sanitised GET and the photo's info. (The tus 1.0
resumable uploads that end in the same photo are ``backend.photos.tus_views``.)"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request
from flask.views import MethodView

from backend import roles
from backend.api import Blueprint
from backend.auth import auth, current_user
from backend.errors import documented_error
from backend.extensions import db
from backend.photos import jobs, services
from backend.photos.body import read_body
from backend.photos.schemas import ImageQuerySchema, PhotoSchema
from backend.photos.store import storage_from
from backend.ratelimit import UPLOAD, rate_limited

blp = Blueprint(
    "photos",
    __name__,
    url_prefix="/api/v1/photos",
    description="Photos, addressed by the SHA-256 of their bytes; served only sanitised.",
)
IMAGE_CACHE = "private, max-age=31536000, immutable"
"""Derivatives never change for a given SHA-256; private because access is per user."""


@blp.route("/<sha256:sha256>")
class PhotoItem(MethodView):
    @auth(blp, *roles.UPLOADERS)
    @rate_limited(blp, UPLOAD)
    @blp.doc(
        requestBody={
            "required": True,
            "description": "The photo's bytes (JPEG, PNG, WebP or HEIC); the type is read "
            "from the bytes, not from Content-Type.",
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    )
    @blp.response(
        200, PhotoSchema, description="You sent these bytes before: nothing was rewritten"
    )
    @blp.alt_response(
        201,
        schema=PhotoSchema,
        description="Stored for you, sanitising queued; your reports may attach it now. Also "
        "when someone else sent the same bytes before: nothing of their upload is shown",
    )
    @blp.alt_response(
        400,
        **documented_error(
            "sha256_mismatch: the bytes hash to another SHA-256; incomplete_body: the "
            "connection ended before Content-Length bytes arrived",
        ),
    )
    @blp.alt_response(413, **documented_error("photo_too_large: larger than MAX_PHOTO_BYTES"))
    @blp.alt_response(
        415,
        **documented_error(
            "unsupported_format: not JPEG, PNG, WebP or HEIC, or a JPEG coding cameras do not "
            "write (arithmetic, lossless, hierarchical, 12-bit)",
        ),
    )
    @blp.alt_response(
        422,
        **documented_error(
            "invalid_sha256, empty_photo, corrupt_image (broken, truncated, or too little data "
            "for its declared size), too_many_pixels (MAX_PHOTO_PIXELS), too_many_scans "
            "(MAX_JPEG_SCANS), photo_too_complex (its structure took too long to check)",
        ),
    )
    @blp.alt_response(
        503, **documented_error("storage_unavailable: nothing stored, retry after Retry-After")
    )
    def put(self, sha256: str) -> tuple[services.PhotoView, int]:
        """Upload a whole photo, named by the SHA-256 of its bytes"""
        digest = services.check_sha256(sha256)
        user_id = current_user().id
        data = read_body(current_app.config["MAX_PHOTO_BYTES"])
        stored = services.store_photo(
            db.session(),
            storage_from(current_app.config),
            digest,
            data,
            user_id,
            services.limits_from(current_app.config),
            jobs.enqueue_processing,
        )
        return stored.photo, 201 if stored.created else 200

    @auth(blp)
    @blp.arguments(ImageQuerySchema, location="query")
    @blp.response(200, content_type="image/jpeg", description="The sanitised JPEG, no metadata")
    @blp.alt_response(
        302,
        description="With PHOTO_SERVE=redirect and S3 storage: Location is a presigned URL of "
        "the sanitised JPEG, valid PHOTO_REDIRECT_SECONDS; follow it without the Authorization "
        "header",
    )
    @blp.alt_response(304, description="Not modified (If-None-Match)")
    @blp.alt_response(404, **documented_error("photo_not_found (also when not yours to see)"))
    @blp.alt_response(409, **documented_error("photo_processing: retry after Retry-After"))
    @blp.alt_response(422, **documented_error("photo_failed: errors.photo names the reason"))
    @blp.alt_response(503, **documented_error("storage_unavailable: retry after Retry-After"))
    def get(self, query: dict[str, Any], sha256: str) -> Response:
        """Get the sanitised photo or its thumbnail"""
        size = query["size"]
        photo = services.servable_photo(db.session(), current_user(), sha256)
        etag = f"{photo.sha256}-{size}"
        if request.if_none_match.contains_weak(etag):
            # Answered before the store is asked: a phone revalidating its cache costs nothing.
            response = Response(status=304)
            response.set_etag(etag)
            response.headers["Cache-Control"] = IMAGE_CACHE
            return response
        redirect = current_app.config["PHOTO_SERVE"] == "redirect"
        image = services.served_image(
            storage_from(current_app.config),
            photo,
            size,
            current_app.config["PHOTO_REDIRECT_SECONDS"] if redirect else None,
        )
        if image.url is not None:
            response = Response(status=302, headers={"Location": image.url})
            # The URL expires; a cached redirect would outlive it.
            response.headers["Cache-Control"] = "private, no-store"
            return response
        response = Response(image.data, mimetype=services.SERVED_CONTENT_TYPE)
        response.set_etag(etag)
        response.headers["Cache-Control"] = IMAGE_CACHE
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


@blp.route("/<sha256:sha256>/info")
class PhotoInfo(MethodView):
    @auth(blp)
    @blp.response(200, PhotoSchema)
    @blp.alt_response(404, **documented_error("photo_not_found (also when not yours to see)"))
    def get(self, sha256: str) -> services.PhotoView:
        """Get a photo's status, dimensions and perceptual hash"""
        return services.visible_photo(db.session(), current_user(), sha256)

"""tus 1.0 resumable uploads (core, creation, checksum, termination, expiration): the
routes under /api/v1/uploads. A finished upload becomes the same photo as a whole-file PUT
(``backend.photos.uploads`` holds the use cases)."""

from __future__ import annotations

import re
import uuid

from flask import Response, current_app, request, url_for
from flask.views import MethodView
from werkzeug.http import http_date

from backend import config, roles
from backend.api import Blueprint
from backend.auth import auth, current_user
from backend.database import utcnow
from backend.errors import BadRequest, ErrorSchema, UnsupportedMediaType, documented_error
from backend.extensions import db
from backend.photos import jobs, services, uploads
from backend.photos.body import read_body
from backend.photos.models import Upload
from backend.photos.store import storage_from
from backend.ratelimit import UPLOAD, rate_limited
from media.errors import StorageUnavailable

uploads_blp = Blueprint(
    "uploads",
    __name__,
    url_prefix="/api/v1/uploads",
    description=(
        "tus 1.0 resumable uploads (core, creation, checksum, termination, expiration). "
        "Upload-Metadata must carry sha256 (hex); the finished upload becomes the same photo "
        "as a PUT of its bytes."
    ),
)


@uploads_blp.before_request
def _tus_version() -> None:
    if request.method == "OPTIONS":
        return
    if request.headers.get("Tus-Resumable") != uploads.TUS_VERSION:
        raise uploads.TusVersionUnsupported(headers={"Tus-Version": uploads.TUS_VERSION})


@uploads_blp.after_request
def _tus_headers(response: Response) -> Response:
    response.headers["Tus-Resumable"] = uploads.TUS_VERSION
    response.headers["Cache-Control"] = "no-store"
    return response


TUS_INTEGER = re.compile(r"[0-9]{1,18}")
"""tus integers: ASCII digits only (str.isdigit would take "²", which int() refuses), and short
enough for a 64-bit column."""


def _int_header(name: str) -> int:
    raw = request.headers.get(name)
    if raw is None or not TUS_INTEGER.fullmatch(raw):
        raise BadRequest(
            f"The {name} header must be a non-negative integer.",
            code="invalid_tus_header",
            errors={name: ["required, a non-negative integer"]},
        )
    return int(raw)


def _empty(status: int, headers: dict[str, str]) -> Response:
    return Response(status=status, headers=headers)


def _state(upload: Upload) -> dict[str, str]:
    return {
        "Upload-Offset": str(upload.offset),
        "Upload-Length": str(upload.length),
        "Upload-Expires": http_date(upload.expires_at),
    }


TUS_HEADERS = [
    {
        "in": "header",
        "name": "Tus-Resumable",
        "required": True,
        "description": "The tus version; without it, or another, the answer is 412",
        "schema": {"type": "string", "enum": ["1.0.0"]},
    }
]
TUS_412 = {
    "schema": ErrorSchema,
    "description": "tus_version_unsupported: Tus-Resumable missing or not 1.0.0 (tus 1.0 core "
    "answers 412 with the versions it speaks; a HEAD answer has no body)",
    "headers": {"Tus-Version": {"description": "1.0.0", "schema": {"type": "string"}}},
}
BASE64 = r"([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?"
# tus metadata is comma-separated "key base64(value)" pairs; this service needs sha256.
UPLOAD_METADATA = rf"^(.*,)?\s*sha256 [A-Za-z0-9+/]{{4}}{BASE64}\s*(,.*)?$"


@uploads_blp.route("/")
class Uploads(MethodView):
    @uploads_blp.response(
        204, description="Tus-Version, Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm"
    )
    def options(self) -> Response:
        """Discover the tus version, extensions and size limit"""
        return _empty(
            204,
            {
                "Tus-Version": uploads.TUS_VERSION,
                "Tus-Extension": ",".join(uploads.TUS_EXTENSIONS),
                "Tus-Max-Size": str(current_app.config["MAX_PHOTO_BYTES"]),
                "Tus-Checksum-Algorithm": ",".join(uploads.CHECKSUMS),
            },
        )

    @auth(uploads_blp, *roles.UPLOADERS)
    @rate_limited(uploads_blp, UPLOAD)
    @uploads_blp.doc(
        parameters=[
            *TUS_HEADERS,
            {
                "in": "header",
                "name": "Upload-Length",
                "required": True,
                "description": "Bytes of the whole photo: at least 1 (empty_photo), more than "
                "Tus-Max-Size is 413",
                "schema": {"type": "integer", "minimum": 1, "maximum": config.MAX_PHOTO_BYTES},
            },
            {
                "in": "header",
                "name": "Upload-Metadata",
                "required": True,
                "description": "tus metadata; must include sha256 (hex digest, base64-encoded)",
                "schema": {"type": "string", "pattern": UPLOAD_METADATA},
            },
        ]
    )
    @uploads_blp.response(201, description="Created; Location names the upload, Upload-Expires")
    @uploads_blp.alt_response(
        400, **documented_error("sha256_required, invalid_upload_metadata, invalid_tus_header")
    )
    @uploads_blp.alt_response(412, **TUS_412)
    @uploads_blp.alt_response(
        409,
        **documented_error(
            "too_many_open_uploads (UPLOAD_MAX_OPEN_PER_USER), open_uploads_too_large "
            "(UPLOAD_MAX_OPEN_BYTES_PER_USER): errors.open_uploads lists the ids of your "
            "unfinished uploads, to resume or DELETE",
        ),
    )
    @uploads_blp.alt_response(
        413, **documented_error("photo_too_large: Upload-Length over Tus-Max-Size")
    )
    @uploads_blp.alt_response(
        422, **documented_error("invalid_sha256, empty_photo (Upload-Length 0)")
    )
    def post(self) -> Response:
        """Start a resumable upload (tus creation)"""
        user_id = current_user().id
        if "Upload-Defer-Length" in request.headers:
            raise BadRequest(
                "Upload-Defer-Length is not supported: send Upload-Length.",
                code="invalid_tus_header",
                errors={"Upload-Defer-Length": ["not supported"]},
            )
        length = _int_header("Upload-Length")
        metadata = uploads.parse_metadata(request.headers.get("Upload-Metadata", ""))
        now = utcnow()
        upload = uploads.create_upload(
            db.session(),
            user_id,
            length,
            metadata,
            current_app.config["MAX_PHOTO_BYTES"],
            uploads.open_caps_from(current_app.config),
            now,
            uploads.expiry(now, current_app.config["UPLOAD_EXPIRY_SECONDS"]),
        )
        headers = _state(upload)
        headers["Location"] = url_for("uploads.UploadItem", upload_id=upload.id)
        return _empty(201, headers)


@uploads_blp.route("/<uuid:upload_id>")
class UploadItem(MethodView):
    @auth(uploads_blp, *roles.UPLOADERS)
    @uploads_blp.doc(parameters=TUS_HEADERS)
    @uploads_blp.response(
        200, description="Upload-Offset (bytes stored), Upload-Length, Upload-Expires"
    )
    @uploads_blp.alt_response(404, **documented_error("upload_not_found"))
    @uploads_blp.alt_response(410, **documented_error("upload_expired"))
    @uploads_blp.alt_response(412, **TUS_412)
    def head(self, upload_id: uuid.UUID) -> Response:
        """Where the upload stands (tus core)"""
        upload = uploads.get_upload(db.session(), upload_id, current_user().id, utcnow())
        return _empty(200, _state(upload))

    @auth(uploads_blp, *roles.UPLOADERS)
    @rate_limited(uploads_blp, UPLOAD)
    @uploads_blp.doc(
        parameters=[
            *TUS_HEADERS,
            {
                "in": "header",
                "name": "Upload-Offset",
                "required": True,
                "schema": {"type": "integer", "minimum": 0},
            },
            {
                "in": "header",
                "name": "Upload-Checksum",
                "required": False,
                "description": "'<sha1|sha256|md5> <base64 digest>' of this chunk",
                "schema": {
                    "type": "string",
                    "pattern": rf"^(sha1|sha256|md5) {BASE64}$",
                },
            },
        ],
        requestBody={
            "required": True,
            "content": {
                "application/offset+octet-stream": {
                    "schema": {"type": "string", "format": "binary"}
                }
            },
        },
    )
    @uploads_blp.response(204, description="Stored; Upload-Offset is the new offset")
    @uploads_blp.alt_response(
        400,
        **documented_error(
            "sha256_mismatch (whole file), invalid_tus_header, incomplete_body (a chunk with "
            "Upload-Checksum cut short: nothing stored)",
        ),
    )
    @uploads_blp.alt_response(404, **documented_error("upload_not_found"))
    @uploads_blp.alt_response(409, **documented_error("offset_mismatch: HEAD and resume"))
    @uploads_blp.alt_response(
        410,
        **documented_error(
            "upload_expired; upload_lost: the server lost the upload's bytes, it was "
            "discarded: start a new upload",
        ),
    )
    @uploads_blp.alt_response(413, **documented_error("upload_length_exceeded"))
    @uploads_blp.alt_response(
        415, **documented_error("invalid_content_type, unsupported_format (last chunk)")
    )
    @uploads_blp.alt_response(
        422,
        **documented_error(
            "corrupt_image, too_many_pixels, too_many_scans, photo_too_complex (last chunk; "
            "as for PUT)",
        ),
    )
    @uploads_blp.alt_response(460, **documented_error("checksum_mismatch: the chunk was discarded"))
    @uploads_blp.alt_response(412, **TUS_412)
    @uploads_blp.alt_response(
        503,
        **documented_error("storage_unavailable: the chunk was not stored; HEAD, then resend it"),
    )
    def patch(self, upload_id: uuid.UUID) -> Response:
        """Append a chunk at Upload-Offset (tus core, checksum)"""
        user_id = current_user().id
        if request.mimetype != "application/offset+octet-stream":
            raise UnsupportedMediaType(
                "A tus PATCH body must be application/offset+octet-stream.",
                code="invalid_content_type",
                errors={"Content-Type": ["application/offset+octet-stream"]},
            )
        offset = _int_header("Upload-Offset")
        checksum = uploads.parse_checksum(request.headers.get("Upload-Checksum"))
        session = db.session()
        upload = uploads.get_upload(session, upload_id, user_id, utcnow())
        length, stored = upload.length, upload.offset
        session.commit()
        if offset != stored:
            raise uploads.offset_mismatch(offset, stored)
        # A chunk with a checksum is all or nothing; without one, what arrived before a
        # disconnect is kept so the phone resumes from there.
        data = read_body(
            length - offset,
            code="upload_length_exceeded",
            field="Upload-Length",
            allow_partial=checksum is None,
        )
        if checksum is not None:
            algorithm, digest = checksum
            if uploads.CHECKSUMS[algorithm](data).digest() != digest:
                raise uploads.ChecksumMismatch(errors={"Upload-Checksum": [algorithm]})
        now = utcnow()
        upload = uploads.append(
            session,
            storage_from(current_app.config),
            upload_id,
            user_id,
            offset,
            data,
            now,
            uploads.expiry(now, current_app.config["UPLOAD_EXPIRY_SECONDS"]),
        )
        headers = _state(upload)
        if upload.offset == upload.length:
            try:
                uploads.finish(
                    session,
                    storage_from(current_app.config),
                    upload,
                    services.limits_from(current_app.config),
                    jobs.enqueue_processing,
                )
            except StorageUnavailable:
                uploads.rewind(session, upload_id, upload.length, offset)
                raise
        return _empty(204, headers)

    @auth(uploads_blp, *roles.UPLOADERS)
    @uploads_blp.doc(parameters=TUS_HEADERS)
    @uploads_blp.response(204, description="Discarded (tus termination)")
    @uploads_blp.alt_response(404, **documented_error("upload_not_found"))
    @uploads_blp.alt_response(412, **TUS_412)
    def delete(self, upload_id: uuid.UUID) -> Response:
        """Discard an unfinished upload (tus termination)"""
        session = db.session()
        upload = uploads.get_upload(session, upload_id, current_user().id, utcnow())
        uploads.remove(session, storage_from(current_app.config), upload.id)
        return _empty(204, {})

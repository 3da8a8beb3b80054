"""Read a photo upload's raw body: exactly the bytes announced, under any WSGI server.

Werkzeug's ``request.stream`` cannot do this with a per-request limit. Under a server that ends
the input stream itself (gunicorn sets ``wsgi.input_terminated``) it wraps the body in a
``LimitedStream(max_content_length, is_max=True)``, which raises 413 on the read *after*
``limit`` bytes: the read every loop makes to learn that the body is complete. So a body of
exactly the limit (every last tus chunk, a photo of exactly ``MAX_PHOTO_BYTES``) was refused
under gunicorn and accepted by the development server. Here the body is framed by hand from
``wsgi.input``: with ``Content-Length`` exactly that many bytes are read and never one more;
without it (chunked transfer coding, only on servers that terminate the input) the stream is
read to its end, and one byte past the limit is 413.
"""

from __future__ import annotations

from flask import request

from backend.errors import BadRequest, PayloadTooLarge

CHUNK = 1 << 16


class IncompleteBody(BadRequest):
    code = "incomplete_body"
    message = "The connection ended before the whole body arrived; nothing was stored."


def _too_large(size: str, limit: int, code: str, field: str) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The body is {size} bytes; at most {limit} are accepted here.",
        code=code,
        errors={field: [f"at most {limit} bytes"]},
    )


def read_body(
    limit: int,
    *,
    code: str = "photo_too_large",
    field: str = "body",
    allow_partial: bool = False,
) -> bytes:
    """The request body, at most ``limit`` bytes; 413 ``code`` when it is larger (before
    reading anything when ``Content-Length`` says so). A body that ends early is 400
    ``incomplete_body``, or, with ``allow_partial``, what arrived (tus: the phone resumes
    from the stored offset)."""
    length = request.content_length
    if length is not None and length > limit:
        raise _too_large(str(length), limit, code, field)
    environ = request.environ
    if length is None and not environ.get("wsgi.input_terminated"):
        # Neither a length nor a server that ends the stream: reading could block forever,
        # so there is no body (Werkzeug decides the same).
        return b""
    # Without a length, read one byte past the limit to tell "exactly the limit" from "more".
    wanted = limit + 1 if length is None else length
    stream = environ["wsgi.input"]
    body = bytearray()
    try:
        while len(body) < wanted:
            chunk = stream.read(min(CHUNK, wanted - len(body)))
            if not chunk:
                break
            body += chunk
    except Exception as exc:
        # Servers report a broken body with their own exception types (gunicorn: NoMoreData,
        # an OSError, for a cut connection; ChunkMissingTerminator or InvalidChunkSize for
        # bad chunked framing). All of them mean the client's body did not arrive whole.
        if not allow_partial:
            raise IncompleteBody() from exc
        return bytes(body)
    if length is None:
        if len(body) > limit:
            raise _too_large(f"more than {limit}", limit, code, field)
    elif len(body) < length and not allow_partial:
        raise IncompleteBody(errors={"body": [f"{len(body)} of {length} bytes arrived"]})
    return bytes(body)

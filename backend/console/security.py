"""Response headers of every console page: a Content-Security-Policy that allows scripts,
styles and connections to this origin only (so no inline script or style runs, and an injected
one would not), no framing, no caching of pages that show people's presence.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, request


def tile_origin(url_template: str) -> str | None:
    """The CSP source for a Leaflet tile URL template: ``https://{s}.tile.example/{z}/...``
    becomes ``https://*.tile.example`` (``{s}`` stands for a subdomain); None without tiles."""
    if not url_template:
        return None
    parts = urlsplit(url_template.replace("{s}", "a"))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise RuntimeError(f"MAP_TILE_URL must be an http(s) URL template, got {url_template!r}")
    host = parts.netloc
    if url_template.split("//", 1)[1].startswith("{s}."):
        host = "*." + host.split(".", 1)[1]
    return f"{parts.scheme}://{host}"


def content_security_policy(tiles: str | None) -> str:
    images = "'self'" + (f" {tiles}" if tiles else "")
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {images}",
            "connect-src 'self'",
            "font-src 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        )
    )


def _headers(response: Response) -> Response:
    tiles = tile_origin(current_app.config["MAP_TILE_URL"])
    response.headers["Content-Security-Policy"] = content_security_policy(tiles)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if request.endpoint != "console.static":
        # Presence and case data must not stay in a shared PC's cache after sign-out.
        response.headers["Cache-Control"] = "no-store"
    return response


def register(bp: Blueprint) -> None:
    bp.after_request(_headers)

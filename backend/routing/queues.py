"""Every RQ queue name, in one place."""

from __future__ import annotations

DEFAULT = "default"
MEDIA = "media"
"""Photo processing: decode, strip metadata, thumbnails, perceptual hash."""

ALL = (DEFAULT, MEDIA)
"""Queues a plain ``flask --app wsgi worker`` listens on, most urgent first."""

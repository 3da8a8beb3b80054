"""Every RQ queue name, in one place."""

from __future__ import annotations

from collections.abc import Iterable

DEFAULT = "default"
MEDIA = "media"
"""Photo processing: decode, strip metadata, thumbnails, perceptual hash."""

ALL = (DEFAULT, MEDIA)
"""Fixed queues a plain ``flask --app wsgi worker`` listens on, most urgent first."""

DELIVERY_PREFIX = "deliver."


def delivery(slug: str) -> str:
    """The queue of one organisation's deliveries: one per organisation, so a slow receiver
    (a webhook timing out) delays only its own organisation's tasks."""
    return DELIVERY_PREFIX + slug


def everything(organisation_slugs: Iterable[str]) -> list[str]:
    """The fixed queues, then every organisation's delivery queue."""
    return [*ALL, *(delivery(slug) for slug in sorted(organisation_slugs))]

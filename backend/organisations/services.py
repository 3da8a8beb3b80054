"""Organisation use cases: list, get, create, update and rotate the webhook secret."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend import pagination
from backend.delivery.webhook import DestinationRefused, check_url_shape, new_secret
from backend.errors import Conflict, NotFound, Unprocessable
from backend.organisations.models import Organisation


def get_by_slug(session: Session, slug: str) -> Organisation:
    org = session.execute(
        select(Organisation).where(Organisation.slug == slug)
    ).scalar_one_or_none()
    if org is None:
        raise NotFound(f"No organisation with slug {slug!r}.", code="organisation_not_found")
    return org


def known_organisation(session: Session, slug: str, field: str = "organisation") -> Organisation:
    """The organisation a request field names, or 422 ``unknown_organisation`` naming
    ``field``: the one answer when a filter or a body names no organisation. (A path that
    names one, ``/admin/organisations/{slug}``, is 404 ``organisation_not_found``: the
    resource itself is missing.)"""
    org = session.execute(
        select(Organisation).where(Organisation.slug == slug)
    ).scalar_one_or_none()
    if org is None:
        raise Unprocessable(
            "No organisation has this slug.",
            code="unknown_organisation",
            errors={field: ["is not an organisation slug"]},
        )
    return org


def filter_organisation(session: Session, slug: str | None) -> Organisation | None:
    """The organisation a list is filtered by (None: no filter), or 422
    ``unknown_organisation`` (:func:`known_organisation`)."""
    return None if slug is None else known_organisation(session, slug)


def list_organisations(session: Session) -> list[Organisation]:
    """Every organisation by slug (the console's choices)."""
    return list(session.execute(select(Organisation).order_by(Organisation.slug)).scalars())


LIST = "organisations"


def organisation_page(
    session: Session, *, cursor: str | None = None, limit: int = 50
) -> pagination.Page[Organisation]:
    """Organisations by slug, a page at a time."""
    return pagination.keyset_page(
        session,
        select(Organisation),
        LIST,
        (Organisation.slug,),
        cursor,
        limit,
        parts=(pagination.SLUG,),
        descending=False,
    )


def _check_channel(org: Organisation, webhook_allowed_hosts: tuple[str, ...]) -> None:
    """The chosen channel has what it needs, so no task waits on a half-configured one.

    409, not 422: the body is well-formed, it conflicts with what is stored (a PATCH that
    switches to webhook without a stored URL) or with the deployment's WEBHOOK_ALLOWED_HOSTS.
    """
    missing = []
    if org.channel == "webhook":
        missing = [f for f in ("webhook_url", "webhook_secret") if not getattr(org, f)]
    elif org.channel == "email" and not org.email:
        missing = ["email"]
    if missing:
        raise Conflict(
            f"Channel {org.channel} needs {' and '.join(missing)}.",
            code="channel_incomplete",
            errors={field: [f"required for channel {org.channel}"] for field in missing},
        )
    if org.webhook_url:
        try:
            check_url_shape(org.webhook_url, webhook_allowed_hosts)
        except DestinationRefused as exc:
            raise Conflict(
                f"This webhook URL may not be used: {exc}.",
                code="webhook_url_not_allowed",
                errors={"webhook_url": [str(exc)]},
            ) from exc


def create_organisation(
    session: Session, *, webhook_allowed_hosts: tuple[str, ...] = (), **fields: Any
) -> Organisation:
    org = Organisation(**fields)
    _check_channel(org, webhook_allowed_hosts)
    try:
        with session.begin_nested():
            session.add(org)
    except IntegrityError as exc:
        raise Conflict(
            f"An organisation with slug {fields.get('slug')!r} exists already.",
            code="organisation_exists",
            errors={"slug": ["already in use"]},
        ) from exc
    session.commit()
    return org


def update_organisation(
    session: Session, slug: str, *, webhook_allowed_hosts: tuple[str, ...] = (), **fields: Any
) -> Organisation:
    org = get_by_slug(session, slug)
    for key, value in fields.items():
        setattr(org, key, value)
    try:
        _check_channel(org, webhook_allowed_hosts)
    except Conflict:
        session.rollback()
        raise
    session.commit()
    return org


def rotate_webhook_secret(session: Session, slug: str) -> tuple[Organisation, str]:
    """Give the organisation a new random webhook signing secret and return it, to be shown
    once (it is never returned again). Deliveries from the commit on are signed with it, so
    the organisation's receiver must be given it at the same time. Commits."""
    org = get_by_slug(session, slug)
    secret = new_secret()
    org.webhook_secret = secret
    session.commit()
    return org, secret

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.errors import Conflict, NotFound
from backend.organisations.models import Organisation


def get_by_slug(session: Session, slug: str) -> Organisation:
    org = session.execute(
        select(Organisation).where(Organisation.slug == slug)
    ).scalar_one_or_none()
    if org is None:
        raise NotFound(f"No organisation with slug {slug!r}.", code="organisation_not_found")
    return org


def list_organisations(session: Session) -> list[Organisation]:
    return list(session.execute(select(Organisation).order_by(Organisation.slug)).scalars())


def create_organisation(session: Session, **fields: Any) -> Organisation:
    org = Organisation(**fields)
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


def update_organisation(session: Session, slug: str, **fields: Any) -> Organisation:
    org = get_by_slug(session, slug)
    for key, value in fields.items():
        setattr(org, key, value)
    session.commit()
    return org

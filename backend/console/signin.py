"""Checking a sign-in: the rate limits, the password, the role.

Per account and per address, failures are counted (``backend.ratelimit``); past either limit
the form is refused before the password is even checked, so guessing stops whether the guesses
are right or wrong. The account's counter keys on a hash of the address typed, existing or not,
and every refusal of a wrong address or password reads the same, so the form never tells which
e-mail addresses have accounts. Only a correct password of a field worker is told why: they
should use the phone app.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.orm import Session

from backend import ratelimit, roles
from backend.database import deferred_reads, immediate_writes
from backend.users import passwords
from backend.users.models import User
from backend.users.services import find_by_email


@dataclass(frozen=True)
class Refused(Exception):
    """Why a sign-in was refused: ``invalid_credentials``, ``not_console_role``,
    ``rate_limited`` (with ``retry_after`` seconds)."""

    code: str
    retry_after: int = 0


def account_key(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()


def address_key(address: str | None) -> str:
    """The client address counted against; an IPv6 client by its /64, which one household or
    one cloud machine usually holds whole (counting single addresses would let it rotate)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return "unknown"
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def check(session: Session, email: str, password: str, address: str | None) -> User:
    """The user these credentials sign in, or ``Refused``. Ends its transactions."""
    keys = (
        (ratelimit.SIGNIN_ACCOUNT, account_key(email)),
        (ratelimit.SIGNIN_ADDRESS, address_key(address)),
    )
    waits = [w for limit, key in keys if (w := ratelimit.blocked_for(limit, key)) is not None]
    if waits:
        raise Refused("rate_limited", retry_after=max(waits))
    with deferred_reads():
        user = find_by_email(session, email)
        # argon2 takes a tenth of a second on purpose: hold no SQLite lock meanwhile.
        session.commit()
    ok = passwords.verify(user.password_hash if user else None, password)
    if user is None or not ok or not user.active:
        for limit, key in keys:
            ratelimit.count_failure(limit, key)
        raise Refused("invalid_credentials")
    ratelimit.forgive(*keys[0])
    if user.role not in roles.STAFF:
        raise Refused("not_console_role")
    assert user.password_hash is not None
    if passwords.needs_rehash(user.password_hash):
        new_hash = passwords.hash_password(password)
        with immediate_writes():
            session.execute(update(User).where(User.id == user.id).values(password_hash=new_hash))
            session.commit()
    return user

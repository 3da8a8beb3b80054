"""Console passwords: argon2id through argon2-cffi, with its default parameters (RFC 9106's
"second recommended" profile: 64 MiB, 3 passes, 4 lanes).

The hash string records its own parameters, so raising them later re-hashes each password at
its owner's next sign-in (``needs_rehash``) instead of invalidating it.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from backend.errors import Unprocessable

MAX_LENGTH = 256
"""Longer passwords are refused: argon2 would hash them, but one sign-in should cost a bounded
amount of work whatever is typed."""

_hasher = PasswordHasher()

# Verified against when no account has the e-mail given, so that an unknown address costs the
# same time as a wrong password and the answer's timing does not tell which addresses exist.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


def check_policy(password: str, min_length: int) -> None:
    """422 ``weak_password`` unless the length is within bounds. Length is the rule NIST SP
    800-63B-4 sets; it forbids composition rules (a digit, a capital ...)."""
    if len(password) < min_length or len(password) > MAX_LENGTH:
        raise Unprocessable(
            f"A password has {min_length} to {MAX_LENGTH} characters.",
            code="weak_password",
            errors={"password": [f"between {min_length} and {MAX_LENGTH} characters"]},
        )
    if "\x00" in password:
        raise Unprocessable(
            "A password cannot contain NUL characters.",
            code="weak_password",
            errors={"password": ["must not contain NUL characters"]},
        )


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; with no hash (no password set) the same work is done."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)

"""Text a client sent: whether it can be stored (PostgreSQL text holds no NUL and no lone
surrogate) and how to echo it back safely. Pure; used by the envelope and the API's parsing."""

from __future__ import annotations


def text_problem(value: str) -> str | None:
    """Why a string cannot be stored (PostgreSQL text holds neither), or None."""
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode text (a lone surrogate)"
    return None


def printable(value: str, limit: int = 64) -> str:
    """``value`` as it can be sent back in a result (lone surrogates escaped), shortened."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8")[:limit]

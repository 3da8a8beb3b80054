"""Languages: Swedish by default, English with ``?lang=en`` (remembered in a cookie) or when the
browser's Accept-Language prefers it. Messages are English in the source and translated to
Swedish in ``translations/sv`` (``make translations`` extracts and compiles them)."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, Response, g, has_request_context, request
from flask_babel import Babel

from backend.localtime import LOCAL_TZ

LANGUAGES = ("sv", "en")
DEFAULT = "sv"
COOKIE = "samverkan_lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
"""A year: the language is a preference, not a secret."""
TIMEZONE = LOCAL_TZ.key
TRANSLATIONS = Path(__file__).parent / "translations"

babel = Babel()


def select_locale() -> str:
    if not has_request_context():
        return DEFAULT
    chosen = g.get("lang_choice") or request.cookies.get(COOKIE)
    if chosen in LANGUAGES:
        return str(chosen)
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT


def take_choice() -> None:
    """Before a console request: ``?lang=`` picks the language of this and later pages."""
    choice = request.args.get("lang")
    if choice in LANGUAGES:
        g.lang_choice = choice


def remember_choice(response: Response) -> Response:
    choice = g.get("lang_choice")
    if choice and request.cookies.get(COOKIE) != choice:
        response.set_cookie(
            COOKIE,
            choice,
            max_age=COOKIE_MAX_AGE,
            path="/console",
            httponly=True,
            samesite="Lax",
            secure=bool(request.is_secure),
        )
    return response


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", TIMEZONE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    babel.init_app(app, locale_selector=select_locale)

"""The staff console: server-rendered pages at ``/console/`` for supervisors, departments and
admins, in the same app as the API.

Pages are views like the API's: a page parses its query with a schema (``schemas.py``), calls
the same service functions as the API with the signed-in user, and renders a template. The
console adds only what a browser needs: sign-in with server-side sessions (``access.py``,
``signin.py``), CSRF on every form (Flask-WTF), Swedish and English (Flask-Babel, ``i18n.py``),
a Content-Security-Policy without inline scripts (``security.py``), navigation per role
(``nav.py``), and HTML error pages (``errors.py``). Assets are served from ``static/``.
"""

from __future__ import annotations

from flask import Flask

from backend.console import access, errors, i18n, security, views  # noqa: F401 (views: pages)
from backend.console.blueprint import bp, csrf

# The blueprint is one per process (its pages are decorated at import), so its hooks are
# attached here, once, and every app made by create_app registers the same blueprint.
access.register(bp)
security.register(bp)
errors.register(bp)


def init_app(app: Flask) -> None:
    # CSRF is checked by the console's own before_request only: the bearer-token API has no
    # cookies to forge and must not ask phones for a form token.
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    # The token lives as long as the session it is stored in (whose lifetime access.py
    # enforces); Flask-WTF's default of an hour would fail a form left open over lunch.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    csrf.init_app(app)
    i18n.init_app(app)
    app.register_blueprint(bp)

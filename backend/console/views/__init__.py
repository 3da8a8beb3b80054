"""The console's pages, one module per group; importing this registers them on the blueprint."""

from backend.console.views import auth, cases, contacts, presence, today  # noqa: F401

"""The console's pages, one module per group; importing this registers them on the blueprint."""

from backend.console.views import (  # noqa: F401
    admin_logs,
    admin_setup,
    admin_users,
    auth,
    cases,
    contacts,
    presence,
    stats,
    tasks,
    today,
)

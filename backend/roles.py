"""The role policy: which roles may do what. Views, services and console pages check these
sets, never a tuple of their own, so a change of policy is a change here.

What a role may see inside a set (a department only its own organisation's tasks, a field
worker only their own presence) is decided by the service that reads the rows.
"""

from __future__ import annotations

FIELD = "field"
DEPARTMENT = "department"
SUPERVISOR = "supervisor"
ADMIN = "admin"

ROLES = (FIELD, DEPARTMENT, SUPERVISOR, ADMIN)
"""Every role a user may have."""

SEES_ALL = (SUPERVISOR, ADMIN)
"""Roles that see across organisations and workers: every case and task in full, every
organisation's statistics, every worker's presence and photos, contact aggregates, and the
user directory (``GET /api/v1/users``)."""

STAFF = (DEPARTMENT, SUPERVISOR, ADMIN)
"""Roles that sign in to the console and read cases, tasks and statistics (a department
those of its own organisation) and correct cases (a department those it holds a task for).
Field workers use the phone app."""

TASK_WORKERS = (DEPARTMENT, ADMIN)
"""Roles that act on tasks (``POST /tasks/{id}/events``, the console's buttons); supervisors
follow tasks but do not work them."""

REPORTERS = (FIELD,)
"""Roles that open a case one of their own reports is in, in the reporter view (nothing of
other reporters), and no other case."""

PRESENCE_READERS = (FIELD, SUPERVISOR, ADMIN)
"""Roles that read presence logs (a field worker only their own)."""

ADMINS = (ADMIN,)
"""Roles that manage users, organisations, rule sets and deliveries and read the audit log."""

UPLOADERS = (FIELD, ADMIN)
"""Roles that send photos (``PUT /photos/{sha256}``, the tus uploads): a field worker's
reports, an admin testing the pipeline."""

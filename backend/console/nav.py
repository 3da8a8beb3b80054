"""The console's navigation: one table of pages and the roles that see each.

The roles are ``backend.roles``' sets (the API checks the same ones), so a link is shown exactly
when the page behind it would let the user in. A department lands on its task board.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from backend import roles
from backend.users.models import User

TODAY_ROLES = roles.SEES_ALL
"""The overview shows presence, so it is for those who see presence."""


@dataclass(frozen=True)
class Item:
    endpoint: str
    label: object  # a lazy translation
    roles: tuple[str, ...]
    also: tuple[str, ...] = ()
    """Other endpoints of the same section (a case's page is under Cases)."""

    def current(self, endpoint: str | None) -> bool:
        return endpoint == self.endpoint or endpoint in self.also


ADMIN_NAV = (
    Item(
        "console.admin_users",
        _l("Users"),
        roles.ADMINS,
        also=(
            "console.admin_user",
            "console.admin_user_create",
            "console.admin_user_update",
            "console.admin_token_issue",
        ),
    ),
    Item(
        "console.admin_organisations",
        _l("Organisations"),
        roles.ADMINS,
        also=(
            "console.admin_organisation",
            "console.admin_organisation_create",
            "console.admin_organisation_update",
            "console.admin_organisation_secret",
        ),
    ),
    Item(
        "console.admin_rules",
        _l("Routing rules"),
        roles.ADMINS,
        also=("console.admin_rules_upload",),
    ),
    Item(
        "console.admin_deliveries",
        _l("Deliveries"),
        roles.ADMINS,
        also=("console.admin_delivery_retry",),
    ),
    Item("console.admin_audit", _l("Contact reads"), roles.ADMINS),
    Item("console.admin_retention", _l("Retention"), roles.ADMINS),
)
"""The administration's own pages, shown as a second row of tabs on each of them."""

NAV = (
    Item("console.today", _l("Today"), TODAY_ROLES),
    Item(
        "console.tasks_board",
        _l("Tasks"),
        roles.STAFF,
        also=("console.task", "console.task_event", "console.task_contact"),
    ),
    Item("console.cases", _l("Cases"), roles.STAFF, also=("console.case",)),
    Item("console.presence", _l("Presence"), roles.SEES_ALL),
    Item("console.contacts", _l("Contacts"), roles.SEES_ALL),
    Item("console.stats", _l("Statistics"), roles.STAFF),
    Item(
        "console.admin_users",
        _l("Administration"),
        roles.ADMINS,
        also=tuple(e for item in ADMIN_NAV for e in (item.endpoint, *item.also)),
    ),
)


def items_for(user: User) -> list[Item]:
    return [item for item in NAV if user.role in item.roles]


def home_for(user: User) -> str:
    """The endpoint a user lands on after signing in: their first page."""
    items = items_for(user)
    return items[0].endpoint if items else "console.signed_in"

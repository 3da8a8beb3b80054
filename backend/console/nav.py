"""The console's navigation: one table of pages and the roles that see each.

The roles are the services' own (the API checks the same tuples), so a link is shown exactly
when the page behind it would let the user in. Part 2's pages (the departments' board, the
admin pages) add their rows here.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from backend.cases.services import READER_ROLES as CASE_ROLES
from backend.contacts.services import AGGREGATE_ROLES as CONTACT_ROLES
from backend.presence.services import VIEWER_ROLES as PRESENCE_ROLES
from backend.users.models import User

TODAY_ROLES = PRESENCE_ROLES
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


NAV = (
    Item("console.today", _l("Today"), TODAY_ROLES),
    Item("console.cases", _l("Cases"), CASE_ROLES, also=("console.case",)),
    Item("console.presence", _l("Presence"), PRESENCE_ROLES),
    Item("console.contacts", _l("Contacts"), CONTACT_ROLES),
)


def items_for(user: User) -> list[Item]:
    return [item for item in NAV if user.role in item.roles]


def home_for(user: User) -> str:
    """The endpoint a user lands on after signing in: their first page."""
    items = items_for(user)
    return items[0].endpoint if items else "console.signed_in"

"""The README's demo-data table says what `make run` really seeds (a newcomer logs in with it)."""

from __future__ import annotations

from backend.demo_data import DEMO_USERS
from tests.helpers.servers import REPO


def test_readme_lists_every_demo_user_with_role_organisation_and_login():
    readme = (REPO / "README.md").read_text("utf-8")
    rows = [line for line in readme.splitlines() if line.startswith("| Demo ")]
    table = []
    for row in rows:
        name, role, org, login = (cell.strip().strip("`") for cell in row.strip("|").split("|"))
        table.append((name, role, org, login if "@" in login else None))
    assert table == [tuple(user) for user in DEMO_USERS]


def test_readme_has_one_workers_bullet_in_running_at_scale():
    readme = (REPO / "README.md").read_text("utf-8")
    assert readme.count("- **Workers**:") == 1

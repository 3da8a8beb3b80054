"""`make screenshots`: the console's pages with a demo day's data, as PNGs in docs/screenshots/.

Runs the service as the README says (migrations, seed-demo, gunicorn, a worker), pushes a day
through the phone API (tests/helpers/demo_day.py), lets a department work some of its tasks through
the API, signs in as the demo supervisor in the same Chromium the browser tests use, and saves
one full-page screenshot per page (and the overview in English).

One staging step is not what phones do: the tasks are made to look routed when their first
report was captured (the demo pushes a whole day at once, so otherwise nothing could be
overdue yet). It changes only times, in the demo database.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.chromium import chromium, console_errors, foreign, requested_urls
from tests.helpers import demo_day
from tests.helpers.servers import REPO, Gunicorn, RedisServer

FLASK = str(Path(sys.executable).with_name("flask"))


def flask(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [FLASK, "--app", "wsgi", *args],
        cwd=REPO,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


class Phone:
    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.headers = {"Authorization": f"Bearer {token}"}

    def push(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for n in range(0, len(items), 200):
            body = {
                "device_id": "demo",
                "app_version": "demo/1",
                "items": items[n : n + 200],
                "sent_at": demo_day.now().isoformat(),
            }
            answer = requests.post(
                f"{self.base}/api/v1/sync/push", json=body, headers=self.headers, timeout=60
            )
            answer.raise_for_status()
        return answer.json()["results"]

    def upload(self, files: dict[str, bytes]) -> None:
        for digest, data in files.items():
            answer = requests.put(
                f"{self.base}/api/v1/photos/{digest}", data=data, headers=self.headers, timeout=60
            )
            answer.raise_for_status()


def populate(server: Gunicorn, env: dict[str, str], logins: list[dict[str, Any]]) -> str:
    """Push the demo day; returns the id of the case two workers reported (it has a photo)."""
    rng = random.Random(16)
    now = demo_day.now()
    names = ("Amira Haddad", "Jonas Berg", "Sofia Lind", "Erik Nyström", "Leila Karimi")
    phones = []
    for name in names:
        created = json.loads(flask(env, "users", "create", "--name", name, "--role", "field"))
        phones.append(Phone(server.url, created["token"]))
    for n, (phone, shift) in enumerate(zip(phones, demo_day.SHIFTS, strict=True)):
        reports, files = demo_day.report_items(shift, now, rng, count=4 + n % 3, photos=1 + n % 2)
        phone.push(demo_day.shift_items(shift, now, rng) + reports)
        phone.upload(files)
    batches, files = demo_day.same_bin_twice(now, rng)
    bin_case = ""
    for batch, phone in zip(batches, phones[:2], strict=True):
        result = phone.push(batch)[0]
        bin_case = result.get("case_id") or bin_case
    phones[0].upload(files)
    yesterday = [
        demo_day.Shift(s.start_h + 24, (s.end_h or 0) + 24, s.zones) for s in demo_day.SHIFTS
    ]
    for phone, shift in zip(phones, yesterday, strict=True):
        reports, _ = demo_day.report_items(shift, now, rng, count=5, photos=0)
        phone.push(demo_day.shift_items(shift, now, rng) + reports)
    phones[3].push(demo_day.contact_items(now, rng, days=30, count=140))
    flask(env, "worker", "--burst")
    _as_if_routed_when_reported(env)
    department = next(entry for entry in logins if entry["role"] == "department")
    headers = {"Authorization": f"Bearer {department['token']}"}
    tasks = requests.get(f"{server.url}/api/v1/tasks", headers=headers, timeout=30).json()["items"]
    for task in tasks[:3]:
        for action in ("acknowledge", "start", "resolve"):
            requests.post(
                f"{server.url}/api/v1/tasks/{task['id']}/events",
                json={"action": action, "note": "Åtgärdat"},
                headers=headers,
                timeout=30,
            ).raise_for_status()
    if len(tasks) > 3:
        requests.post(
            f"{server.url}/api/v1/tasks/{tasks[3]['id']}/events",
            json={"action": "acknowledge"},
            headers=headers,
            timeout=30,
        )
    flask(env, "worker", "--burst")
    _outreach_reads(server, env)
    flask(env, "retention", "run")
    return bin_case


def _outreach_reads(server: Gunicorn, env: dict[str, str]) -> None:
    """The outreach unit takes on three referrals (audited reads), for the contact-read log."""
    created = json.loads(
        flask(
            env, "users", "create", "--name", "Maja Uppsök", "--role", "department",
            "--org", "socialtjanst-uppsok",
        )
    )  # fmt: skip
    headers = {"Authorization": f"Bearer {created['token']}"}
    tasks = requests.get(f"{server.url}/api/v1/tasks", headers=headers, timeout=30).json()
    for task in [t for t in tasks["items"] if t["contact_id"]][:3]:
        requests.get(
            f"{server.url}/api/v1/contacts/{task['contact_id']}",
            params={"reason": "referral_intake"},
            headers=headers,
            timeout=30,
        ).raise_for_status()


def _as_if_routed_when_reported(env: dict[str, str]) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(env["DATABASE_URL"])
    with engine.begin() as conn:
        for task_id, routed_at, due_at, first_at in conn.execute(
            text(
                "SELECT tasks.id, tasks.routed_at, tasks.due_at, cases.first_at FROM tasks "
                "JOIN cases ON cases.id = tasks.case_id"
            )
        ).all():
            shift = _parse(routed_at) - _parse(first_at)
            conn.execute(
                text("UPDATE task_events SET at = :r WHERE task_id = :i AND action = 'routed'"),
                {"r": _fmt(_parse(routed_at) - shift), "i": task_id},
            )
            conn.execute(
                text("UPDATE tasks SET routed_at = :r, due_at = :d WHERE id = :i"),
                {
                    "r": _fmt(_parse(routed_at) - shift),
                    "d": _fmt(_parse(due_at) - shift),
                    "i": task_id,
                },
            )
    engine.dispose()


def _parse(value: Any) -> Any:
    from datetime import datetime

    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _fmt(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


PAGES = (
    ("sign-in", "/console/sign-in", None),
    ("idag", "/console/", "#map[data-ready]"),
    ("arenden", "/console/cases", None),
    ("arende", None, "#map[data-ready]"),
    ("narvaro", "/console/presence", None),
    ("kontakter", "/console/contacts", None),
    ("statistik", "/console/stats", "#chart-cases"),
)


def wait(driver: Any, css: str) -> None:
    try:
        WebDriverWait(driver, 15).until(
            expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
        )
    except Exception:
        print(f"{driver.current_url}: {css} never appeared; {console_errors(driver)}")
        raise


def shoot(driver: Any, path: Path) -> None:
    driver.set_window_size(1400, 900)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1400, max(900, min(height + 40, 4000)))
    time.sleep(0.3)
    driver.save_screenshot(str(path))


def sign_in_as(driver: Any, server: Gunicorn, login: dict[str, Any]) -> None:
    if driver.find_elements(By.CSS_SELECTOR, "form.sign-out button"):
        driver.find_element(By.CSS_SELECTOR, "form.sign-out button").click()
        wait(driver, "#email")
    driver.get(f"{server.url}/console/sign-in")
    driver.find_element(By.ID, "email").send_keys(login["email"])
    driver.find_element(By.ID, "password").send_keys(login["password"])
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait(driver, "main h1")


def department_pages(driver: Any, server: Gunicorn, login: dict[str, Any], target: Path) -> None:
    """The demo department's board, and an open task with its actions."""
    sign_in_as(driver, server, login)
    driver.get(f"{server.url}/console/tasks")
    wait(driver, "table.tasks")
    shoot(driver, target / "uppgifter.png")
    links = driver.find_elements(By.CSS_SELECTOR, "table.tasks tbody tr.is-late a")
    links = links or driver.find_elements(By.CSS_SELECTOR, "table.tasks tbody tr a")
    driver.get(links[0].get_attribute("href"))
    wait(driver, "#map[data-ready]")
    shoot(driver, target / "uppgift.png")


BAD_RULES = """version = 1
[fallback]
organisation = "city-i-samverkan"
priority = "soon"
deadline = "working_hours(24)"

[[rule]]
id = "bins"
categories = ["litter.overflowing_bin", "litter.old_sofa"]
zones = ["sergels-torg"]
organisation = "trafikkontoret"
priority = "high"
deadline = "hours(eight)"
"""


def admin_pages(driver: Any, server: Gunicorn, login: dict[str, Any], target: Path) -> None:
    """Users, a new phone token with its QR code, an organisation, the rules (and a rejected
    upload), deliveries, the contact-read log and the retention runs."""
    sign_in_as(driver, server, login)
    driver.get(f"{server.url}/console/admin/users")
    wait(driver, "#users")
    shoot(driver, target / "admin-anvandare.png")
    driver.find_element(By.ID, "u-name").send_keys("Nora Lind")
    driver.find_element(By.ID, "u-label").send_keys("Tjänstetelefon 12")
    driver.find_element(By.CSS_SELECTOR, "#new-user button[type=submit]").click()
    wait(driver, "svg.qr")
    shoot(driver, target / "admin-ny-nyckel.png")
    driver.get(f"{server.url}/console/admin/organisations/trafikkontoret")
    wait(driver, "#edit-organisation")
    shoot(driver, target / "admin-organisation.png")
    driver.get(f"{server.url}/console/admin/rules")
    wait(driver, "#rules")
    shoot(driver, target / "admin-regler.png")
    bad = Path(tempfile.mkdtemp(prefix="sf-rules-")) / "regler.toml"
    bad.write_text(BAD_RULES, "utf-8")
    driver.find_element(By.ID, "rules-file").send_keys(str(bad))
    driver.find_element(By.CSS_SELECTOR, "#upload-rules button[type=submit]").click()
    WebDriverWait(driver, 5).until(expected_conditions.alert_is_present()).accept()
    wait(driver, "#problems")
    shoot(driver, target / "admin-regler-fel.png")
    for name, url, ready in (
        ("admin-leveranser", "/console/admin/deliveries?status=delivered", "#deliveries"),
        ("admin-lasningar", "/console/admin/audit", "#audit"),
        ("admin-gallring", "/console/admin/retention", "#runs"),
    ):
        driver.get(f"{server.url}{url}")
        wait(driver, ready)
        shoot(driver, target / f"{name}.png")


def main(out: str) -> int:
    target = (REPO / out).resolve()
    target.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="sf-screens-"))
    redis = RedisServer()
    redis.start()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{work / 'demo.db'}",
        "REDIS_URL": redis.url(0),
        "MEDIA_ROOT": str(work / "media"),
        "SECRET_KEY": secrets.token_hex(32),
        "RATE_LIMIT_PUSH_PER_MINUTE": "0",
        "RATE_LIMIT_UPLOAD_PER_MINUTE": "0",
        # `worker --burst` recomputes the statistics of the pushed days at once.
        "STATS_REFRESH_DELAY_SECONDS": "0",
    }
    server = None
    try:
        flask(env, "db", "upgrade")
        logins = json.loads(flask(env, "seed-demo"))
        server = Gunicorn(env, work / "gunicorn.log")
        bin_case = populate(server, env, logins)
        supervisor = next(entry for entry in logins if entry["role"] == "supervisor")
        with chromium() as driver:
            for name, url, ready in PAGES:
                driver.get(f"{server.url}{url or f'/console/cases/{bin_case}'}")
                if name == "sign-in":
                    shoot(driver, target / f"{name}.png")
                    driver.find_element(By.ID, "email").send_keys(supervisor["email"])
                    driver.find_element(By.ID, "password").send_keys(supervisor["password"])
                    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
                    continue
                if ready:
                    wait(driver, ready)
                shoot(driver, target / f"{name}.png")
            driver.get(f"{server.url}/console/?lang=en")
            WebDriverWait(driver, 15).until(
                expected_conditions.presence_of_element_located(
                    (By.CSS_SELECTOR, "#map[data-ready]")
                )
            )
            shoot(driver, target / "idag-en.png")
            driver.get(f"{server.url}/console/?lang=sv")
            wait(driver, "#map[data-ready]")
            by_role = {entry["role"]: entry for entry in logins}
            department_pages(driver, server, by_role["department"], target)
            admin_pages(driver, server, by_role["admin"], target)
            # The rejected rule upload is a 422 page on purpose; Chromium logs its status.
            errors = [e for e in console_errors(driver) if "status of 422" not in e]
            strangers = foreign(requested_urls(driver), server.url)
        print(f"screenshots in {target}: {sorted(p.name for p in target.glob('*.png'))}")
        if errors or strangers:
            print(f"browser errors: {errors}\nother hosts: {strangers}", file=sys.stderr)
            return 1
        return 0
    finally:
        if server is not None:
            server.stop()
        redis.cleanup()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"))

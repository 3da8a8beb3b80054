"""Load run: many phones push batches with photos and pull, supervisors query, departments work
their tasks, for a bounded time against gunicorn (2 workers) plus one `flask --app wsgi worker`;
then every acknowledged item and photo is read back from the database, and every case is checked
to have been routed and its task delivered exactly once.

Everything runs here: a temporary SQLite database (or a PostgreSQL server of its own), a
redis-server on a free port, the server processes, and the simulated users as threads.
Phones behave as the app does: a batch of items (every few batches a report with a photo,
PUT first), a pull with the cursor it was given, a pause, and on 429 they wait Retry-After.

    .venv/bin/python -m benchmarks.load [--duration 60] [--phones 24] [--backend sqlite]

Prints requests/s and items/s, p50/p99 latency and status counts per route, and the read-back
check (lost acknowledged items, 5xx, cases without a task, tasks delivered other than once);
exits 1 if any of those is not zero. A 409 on a task event is two department users moving
the same task at once: the second is told, as designed.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import requests
from PIL import Image
from sqlalchemy import create_engine, text

from tests.helpers.servers import PostgresServer, RedisServer, free_port
from tests.helpers.sync_items import SERGELS_TORG, batch, report
from tests.helpers.sync_items import contact as _contact
from tests.helpers.sync_items import presence as _presence

ROOT = Path(__file__).resolve().parent.parent


def contact(rng: random.Random) -> dict[str, Any]:
    # Most conversations end without a referral (outreach unit's estimate: about 1 in 5).
    return _contact() if rng.random() < 0.2 else _contact(referral=None)


def presence(rng: random.Random) -> dict[str, Any]:
    return _presence()


BATCH_ITEMS = 20
NEXT_ACTION = {"new": "acknowledge", "acknowledged": "start", "in_progress": "resolve"}
PHOTO_EVERY = 3  # every third batch carries a report with one photo


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.status: dict[str, Counter[str]] = defaultdict(Counter)
        self.acknowledged: set[str] = set()
        self.photos: set[str] = set()

    def record(self, route: str, started: float, status: int | str) -> None:
        with self.lock:
            self.latency[route].append(time.perf_counter() - started)
            self.status[route][str(status)] += 1


def call(
    stats: Stats, session: requests.Session, route: str, method: str, url: str, **kw: Any
) -> requests.Response | None:
    started = time.perf_counter()
    try:
        response = session.request(method, url, timeout=60, **kw)
    except requests.RequestException as exc:
        stats.record(route, started, type(exc).__name__)
        return None
    stats.record(route, started, response.status_code)
    if response.status_code == 429:
        time.sleep(float(response.headers.get("Retry-After", "1")))
    return response


def small_photo(rng: random.Random) -> bytes:
    """A 1280 x 960 JPEG of noise-free blocks: unique per call, ~50-150 KB."""
    image = Image.new("RGB", (1280, 960), tuple(rng.randrange(256) for _ in range(3)))
    for _ in range(12):
        x, y = rng.randrange(1200), rng.randrange(900)
        colour = tuple(rng.randrange(256) for _ in range(3))
        image.paste(colour, (x, y, x + rng.randrange(20, 300), y + rng.randrange(20, 300)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def near(rng: random.Random, **item: Any) -> dict[str, Any]:
    """A report within ~200 m of Sergels Torg: some join a case, most start one (routed)."""
    spot = {
        "lat": SERGELS_TORG["lat"] + rng.uniform(-0.0018, 0.0018),
        "lon": SERGELS_TORG["lon"] + rng.uniform(-0.0035, 0.0035),
        "accuracy_m": 8,
    }
    return report(location=spot, **item)


def phone(base: str, token: str, stats: Stats, stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    headers = {"Authorization": f"Bearer {token}"}
    cursor = ""
    outbox: list[list[dict[str, Any]]] = []
    sent = 0
    with requests.Session() as session:
        session.headers.update(headers)
        while not stop.is_set():
            items = [rng.choice((near, near, contact, presence))(rng) for _ in range(BATCH_ITEMS)]
            if sent % PHOTO_EVERY == 0:
                data = small_photo(rng)
                digest = hashlib.sha256(data).hexdigest()
                put = call(
                    stats,
                    session,
                    "PUT /photos/{sha256}",
                    "PUT",
                    f"{base}/api/v1/photos/{digest}",
                    data=data,
                    headers={"Content-Type": "image/jpeg"},
                )
                if put is not None and put.status_code in (200, 201):
                    with stats.lock:
                        stats.photos.add(digest)
                    photo = {"sha256": digest, "size": len(data), "content_type": "image/jpeg"}
                    items[0] = near(rng, photos=[photo])
            outbox.append(items)
            sent += 1
            # Drain the outbox as the app does: unanswered batches stay and are resent.
            while outbox and not stop.is_set():
                response = call(
                    stats,
                    session,
                    "POST /sync/push",
                    "POST",
                    f"{base}/api/v1/sync/push",
                    json=batch(outbox[0]),
                )
                if response is None or response.status_code != 200:
                    break
                with stats.lock:
                    stats.acknowledged.update(
                        r["id"]
                        for r in response.json()["results"]
                        if r["status"] in ("created", "duplicate")
                    )
                outbox.pop(0)
            pulled = call(
                stats,
                session,
                "GET /sync/pull",
                "GET",
                f"{base}/api/v1/sync/pull",
                params={"cursor": cursor},
            )
            if pulled is not None and pulled.status_code == 200:
                cursor = pulled.json()["cursor"]
            stop.wait(rng.uniform(0.5, 1.5))


def office(
    base: str, token: str, stats: Stats, stop: threading.Event, seed: int, role: str
) -> None:
    """Supervisors look at fresh photos and the case list; departments work their open tasks
    (acknowledge, start, resolve), which the phones then see in their pull."""
    rng = random.Random(seed)
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {token}"
        while not stop.is_set():
            with stats.lock:
                photos = list(stats.photos)
            if photos and role == "supervisor":
                digest = rng.choice(photos)
                info = f"{base}/api/v1/photos/{digest}/info"
                call(stats, session, "GET /photos/{sha256}/info", "GET", info)
                call(
                    stats,
                    session,
                    "GET /photos/{sha256}?size=thumb",
                    "GET",
                    f"{base}/api/v1/photos/{digest}",
                    params={"size": "thumb"},
                )
            if role == "supervisor":
                call(stats, session, "GET /cases", "GET", f"{base}/api/v1/cases")
            if role == "department":
                listed = call(
                    stats,
                    session,
                    "GET /tasks?status=open",
                    "GET",
                    f"{base}/api/v1/tasks",
                    params={"status": "open", "limit": 20},
                )
                if listed is not None and listed.status_code == 200 and listed.json()["items"]:
                    task = rng.choice(listed.json()["items"])
                    call(
                        stats,
                        session,
                        "POST /tasks/{id}/events",
                        "POST",
                        f"{base}/api/v1/tasks/{task['id']}/events",
                        json={"action": NEXT_ACTION[task["status"]]},
                    )
            stop.wait(rng.uniform(0.2, 0.6))


def prepare(url: str) -> dict[str, list[str]]:
    from flask_migrate import upgrade

    from backend.app import create_app
    from backend.extensions import db
    from backend.reference.services import load_reference_data
    from backend.users.services import create_user

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    tokens: dict[str, list[str]] = defaultdict(list)
    with app.app_context():
        upgrade()
        load_reference_data(db.session())
        for role, count, org in (
            ("field", ARGS.phones, "city-i-samverkan"),
            ("supervisor", ARGS.supervisors, "city-i-samverkan"),
            ("department", ARGS.departments, "trafikkontoret"),
        ):
            for _ in range(count):
                name = f"load-{role}-{uuid.uuid4().hex[:6]}"
                tokens[role].append(create_user(db.session(), name, role, org)[1])
        db.session.remove()
        db.engine.dispose()
    return tokens


def start_server(env: dict[str, str], log: Path) -> tuple[list[subprocess.Popen[bytes]], str]:
    port = free_port()
    out = log.open("wb")
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=out,
        ),
        subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=out,
        ),
    ]
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"{base}/healthz", timeout=1)
            return processes, base
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not start")


def drain(url: str, limit_s: float = 300) -> float:
    """Wait until the worker has delivered the outbox (clients stopped); seconds it took."""
    engine = create_engine(url)
    started = time.monotonic()
    pending = "SELECT count(*) FROM deliveries WHERE status IN ('pending', 'enqueued')"
    with engine.connect() as conn:
        while time.monotonic() - started < limit_s:
            if conn.execute(text(pending)).scalar() == 0:
                break
            conn.rollback()
            time.sleep(0.1)
    engine.dispose()
    return time.monotonic() - started


ROUTING_CHECKS = {
    # Every case that is not merged away and not waiting for photos has a task.
    "cases without a task": """SELECT count(*) FROM cases c WHERE c.status != 'merged'
        AND c.route_after IS NULL AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.case_id = c.id)""",
    # Every task was handed to its organisation exactly once...
    "tasks with other than one task.created delivery": """SELECT count(*) FROM tasks t WHERE
        (SELECT count(*) FROM deliveries d WHERE d.subject_id = t.id
         AND d.event_type = 'task.created') != 1""",
    # ... and the worker delivered it.
    "deliveries not delivered": "SELECT count(*) FROM deliveries WHERE status != 'delivered'",
}


def read_back(url: str) -> tuple[set[str], set[str], dict[str, int], dict[str, int]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        items = {str(uuid.UUID(str(r[0]))) for r in conn.execute(text("SELECT id FROM sync_items"))}
        photos = {r[0] for r in conn.execute(text("SELECT sha256 FROM photos"))}
        checks = {
            name: int(conn.execute(text(sql)).scalar() or 0) for name, sql in ROUTING_CHECKS.items()
        }
        counts = {
            table: int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() or 0)
            for table in ("cases", "tasks", "deliveries")
        }
    engine.dispose()
    return items, photos, checks, counts


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="sf-load-"))
    redis = RedisServer()
    redis.start()
    postgres = None
    if ARGS.backend == "postgresql":
        postgres = PostgresServer(durable=True)
        postgres.start()
        url = postgres.create_database("samverkan_load")
    else:
        url = f"sqlite:///{tmp / 'load.db'}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": redis.url(0),
        "MEDIA_ROOT": str(tmp / "media"),
    }
    os.environ.update(env)
    tokens = prepare(url)
    processes, base = start_server(env, tmp / "server.log")
    stats = Stats()
    stop = threading.Event()
    threads = [
        threading.Thread(target=phone, args=(base, token, stats, stop, n))
        for n, token in enumerate(tokens["field"])
    ] + [
        threading.Thread(target=office, args=(base, token, stats, stop, 1000 + n, role))
        for role in ("supervisor", "department")
        for n, token in enumerate(tokens[role])
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    stop.wait(ARGS.duration)
    stop.set()
    for thread in threads:
        thread.join(120)
    elapsed = time.monotonic() - started
    drained = drain(url)
    for process in processes:
        process.terminate()
        process.wait(30)
    items, photos, checks, counts = read_back(url)
    redis.cleanup()
    if postgres is not None:
        postgres.cleanup()

    print(
        f"backend {ARGS.backend}, {elapsed:.0f} s, {ARGS.phones} phones, "
        f"{ARGS.supervisors} supervisors, {ARGS.departments} departments; "
        f"gunicorn 2 workers + 1 `flask worker` (relay, delivery worker, forking worker), "
        f"{os.cpu_count()} CPUs shared with the clients"
    )
    print(f"{'route':<34} {'req':>6} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7}  statuses")
    total = 0
    server_errors = 0
    for route in sorted(stats.latency):
        times = sorted(stats.latency[route])
        total += len(times)
        p50 = statistics.median(times) * 1000
        p99 = times[min(len(times) - 1, int(len(times) * 0.99))] * 1000
        statuses = dict(sorted(stats.status[route].items()))
        server_errors += sum(n for s, n in statuses.items() if s.startswith("5"))
        print(
            f"{route:<34} {len(times):>6} {len(times) / elapsed:>7.1f} {p50:>7.1f} {p99:>7.1f}"
            f"  {statuses}"
        )
    lost = stats.acknowledged - items
    lost_photos = stats.photos - photos
    acknowledged = len(stats.acknowledged)
    print(
        f"total {total} requests, {total / elapsed:.1f} req/s; "
        f"{acknowledged} items acknowledged ({acknowledged / elapsed:.0f}/s), "
        f"{len(stats.photos)} photos stored"
    )
    print(
        f"read back: {len(lost)} acknowledged items lost, {len(lost_photos)} photos lost, "
        f"{server_errors} responses 5xx"
    )
    print(
        f"routing: {counts['cases']} cases, {counts['tasks']} tasks, {counts['deliveries']} "
        f"deliveries (outbox drained {drained:.1f} s after the clients stopped); "
        + ", ".join(f"{n} {name}" for name, n in checks.items())
    )
    return 1 if lost or lost_photos or server_errors or any(checks.values()) else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--phones", type=int, default=24)
    parser.add_argument("--supervisors", type=int, default=2)
    parser.add_argument("--departments", type=int, default=2)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    ARGS = parser.parse_args()
    sys.exit(main())

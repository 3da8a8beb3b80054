"""The reference field-app client: a local SQLite outbox, push with backoff, pull.

It behaves as the phone app must: items are queued offline with an id made on the device,
pushed in batches when there is signal, resent until the server has answered for them (a lost
response is simply resent: the server answers ``duplicate``), and the pull feed is stored so
the outbox can be cleared from pull alone. Run ``python -m sync.client --help`` for the CLI
that generates demo traffic around Sergels Torg.

The HTTP layer is a ``Transport``: ``HttpTransport`` speaks to a server over the network; tests
pass an adapter over Flask's test client to drop responses on purpose.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import tenacity

DEFAULT_BATCH_SIZE = 50
APP_VERSION = "reference-client/1.0"


@dataclass
class Response:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class TransportError(Exception):
    """The request may or may not have reached the server; no response came back."""


class Transport(Protocol):
    def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str],
        json_body: Any = None,
        params: dict[str, Any] | None = None,
        data: bytes | None = None,
    ) -> Response: ...


class HttpTransport:
    """Plain HTTP with the standard library (the client has no web framework)."""

    def __init__(self, base_url: str, timeout_s: float = 30) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str],
        json_body: Any = None,
        params: dict[str, Any] | None = None,
        data: bytes | None = None,
    ) -> Response:
        url = self.base_url + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        headers = dict(headers)
        if json_body is not None:
            data = json.dumps(json_body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as reply:
                return Response(reply.status, _json(reply.read()), dict(reply.headers))
        except urllib.error.HTTPError as error:
            return Response(error.code, _json(error.read()), dict(error.headers))
        except (urllib.error.URLError, OSError) as error:
            raise TransportError(str(error)) from error


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


class Retryable(Exception):
    """The server is unreachable, overloaded or failed: the same batch is sent again later."""


class Fatal(Exception):
    """Resending cannot help (bad token, unsupported protocol): a person must act."""


SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY, type TEXT NOT NULL, body TEXT NOT NULL, queued_at REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending', code TEXT, errors TEXT, case_id TEXT,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS missing_photos (
    sha256 TEXT NOT NULL, item_id TEXT NOT NULL, PRIMARY KEY (sha256, item_id)
);
CREATE TABLE IF NOT EXISTS statuses (
    n INTEGER PRIMARY KEY AUTOINCREMENT, item_id TEXT NOT NULL, type TEXT NOT NULL,
    status TEXT NOT NULL, at TEXT NOT NULL, note TEXT, data TEXT
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass
class PushSummary:
    sent: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


class FieldClient:
    """One phone: its outbox file, its token and device id."""

    def __init__(
        self,
        outbox_path: str,
        transport: Transport,
        token: str,
        device_id: str | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        device_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.db = sqlite3.connect(outbox_path)
        self.db.executescript(SCHEMA)
        self.transport = transport
        self.headers = {"Authorization": f"Bearer {token}"}
        self.device_id = device_id or f"device-{uuid.uuid4().hex[:12]}"
        self.batch_size = batch_size
        self.device_clock = device_clock
        self.sleep = sleep

    def close(self) -> None:
        self.db.close()

    # -- the outbox ------------------------------------------------------------------------

    def queue(self, item: dict[str, Any]) -> str:
        """Queue an item offline; gives it an id and a capture time unless it has them."""
        item = dict(item)
        item.setdefault("id", str(uuid.uuid4()))
        item.setdefault("captured_at", self.device_clock().isoformat())
        with self.db:
            self.db.execute(
                "INSERT INTO outbox (id, type, body, queued_at) VALUES (?, ?, ?, ?)",
                (item["id"], item["type"], json.dumps(item), time.time()),
            )
        return str(item["id"])

    def states(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT id, state FROM outbox").fetchall())

    def pending(self) -> int:
        return int(
            self.db.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()[0]
        )

    def latest_status(self, item_id: str) -> str | None:
        row = self.db.execute(
            "SELECT status FROM statuses WHERE item_id = ? ORDER BY n DESC LIMIT 1", (item_id,)
        ).fetchone()
        return None if row is None else str(row[0])

    def status_history(self, item_id: str) -> list[str]:
        """Every status pull delivered for an item, oldest first."""
        rows = self.db.execute(
            "SELECT status FROM statuses WHERE item_id = ? ORDER BY n", (item_id,)
        ).fetchall()
        return [str(row[0]) for row in rows]

    def _meta(self, key: str, default: str = "") -> str:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else str(row[0])

    def _set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # -- push ------------------------------------------------------------------------------

    def push_once(self) -> PushSummary:
        """Send one batch of pending items and apply the per-item results."""
        rows = self.db.execute(
            "SELECT id, body FROM outbox WHERE state = 'pending' ORDER BY queued_at, id LIMIT ?",
            (self.batch_size,),
        ).fetchall()
        if not rows:
            return PushSummary()
        with self.db:
            self.db.executemany(
                "UPDATE outbox SET attempts = attempts + 1 WHERE id = ?", [(r[0],) for r in rows]
            )
        body = {
            "device_id": self.device_id,
            "app_version": APP_VERSION,
            "sent_at": self.device_clock().isoformat(),
            "items": [json.loads(r[1]) for r in rows],
        }
        try:
            response = self.transport.request(
                "POST", "/api/v1/sync/push", headers=self.headers, json_body=body
            )
        except TransportError as error:
            raise Retryable(f"no response: {error}") from error
        if response.status == 413 and len(rows) > 1:
            # Too many items or bytes: nothing was stored, so halve the batch and go on.
            self.batch_size = max(1, len(rows) // 2)
            raise Retryable("batch too large; halved")
        if response.status in (408, 429) or response.status >= 500:
            raise Retryable(f"server answered {response.status}")
        if response.status != 200:
            code = (response.body or {}).get("code")
            raise Fatal(f"push refused: {response.status} {code}")
        return self._apply(response.body["results"])

    def _apply(self, results: list[dict[str, Any]]) -> PushSummary:
        summary = PushSummary(sent=len(results))
        with self.db:
            for result in results:
                status = result["status"]
                summary.by_status[status] = summary.by_status.get(status, 0) + 1
                state = "stored" if status in ("created", "duplicate") else status
                self.db.execute(
                    "UPDATE outbox SET state = ?, code = ?, errors = ?, case_id = ? "
                    "WHERE id = ? AND state = 'pending'",
                    (
                        state,
                        result.get("code"),
                        json.dumps(result.get("errors") or {}),
                        result.get("case_id"),
                        result["id"],
                    ),
                )
                for sha in result.get("missing_photos") or []:
                    self.db.execute(
                        "INSERT OR IGNORE INTO missing_photos (sha256, item_id) VALUES (?, ?)",
                        (sha, result["id"]),
                    )
        return summary

    def sync(self, attempts: int = 8, max_wait_s: float = 60) -> PushSummary:
        """Push until the outbox is empty, backing off (with jitter) while the server fails."""
        total = PushSummary()
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(Retryable),
            stop=tenacity.stop_after_attempt(attempts),
            # Full jitter, so phones that regain signal together do not resend in step.
            wait=tenacity.wait_random_exponential(multiplier=1, max=max_wait_s),
            sleep=self.sleep,
            reraise=True,
        )
        while self.pending():
            summary = retrying(self.push_once)
            total.sent += summary.sent
            for status, count in summary.by_status.items():
                total.by_status[status] = total.by_status.get(status, 0) + count
        return total

    def upload_photo(self, sha256: str, data: bytes, content_type: str) -> bool:
        """Upload one missing photo (``PUT /api/v1/photos/{sha256}``, the photo issue)."""
        response = self.transport.request(
            "PUT",
            f"/api/v1/photos/{sha256}",
            headers={**self.headers, "Content-Type": content_type},
            data=data,
        )
        if response.status in (200, 201):
            with self.db:
                self.db.execute("DELETE FROM missing_photos WHERE sha256 = ?", (sha256,))
            return True
        return False

    # -- pull and config -------------------------------------------------------------------

    def pull(self, limit: int = 100) -> int:
        """Fetch every change since the stored cursor; returns how many arrived."""
        count = 0
        while True:
            cursor = self._meta("cursor")
            try:
                response = self.transport.request(
                    "GET",
                    "/api/v1/sync/pull",
                    headers=self.headers,
                    params={"cursor": cursor, "limit": limit},
                )
            except TransportError as error:
                raise Retryable(f"no response: {error}") from error
            if response.status == 400 and (response.body or {}).get("code") == "invalid_cursor":
                with self.db:
                    self._set_meta("cursor", "")
                continue
            if response.status != 200:
                raise Retryable(f"pull answered {response.status}")
            body = response.body
            with self.db:
                for change in body["changes"]:
                    self._store_change(change)
                self._set_meta("cursor", body["cursor"])
            count += len(body["changes"])
            if not body["has_more"]:
                return count

    def _store_change(self, change: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT INTO statuses (item_id, type, status, at, note, data) VALUES (?,?,?,?,?,?)",
            (
                change["id"],
                change["type"],
                change["status"],
                change["at"],
                change.get("note"),
                json.dumps(change.get("data") or {}),
            ),
        )
        if change["type"] == "reference":
            self._set_meta("config_stale", "1")
        else:
            # The server has the item: a push whose response was lost needs no resend.
            self.db.execute(
                "UPDATE outbox SET state = 'stored' WHERE id = ? AND state = 'pending'",
                (change["id"],),
            )

    def fetch_config(self) -> dict[str, Any]:
        response = self.transport.request("GET", "/api/v1/sync/config", headers=self.headers)
        if response.status != 200:
            raise Retryable(f"config answered {response.status}")
        with self.db:
            self._set_meta("config", json.dumps(response.body))
            self._set_meta("config_stale", "0")
        config: dict[str, Any] = response.body
        return config


# -- demo traffic ----------------------------------------------------------------------------

# Around Sergels Torg and Plattan (WGS 84): the square, Drottninggatan and Hötorget.
AREA = {"lat": (59.3314, 59.3360), "lon": (18.0590, 18.0668)}
NOTES = (
    "Full papperskorg vid trappan ner till Plattan",
    "Glas vid glasobelisken",
    "Klotter på pelaren vid Kulturhuset",
    "Trasig belysning i gången mot T-centralen",
    "Dumpade kartonger vid Drottninggatan",
    "",
)


def demo_item(rng: random.Random, config: dict[str, Any], now: datetime) -> dict[str, Any]:
    """One realistic item: mostly reports, some contacts, a few presence pings."""
    location = {
        "lat": round(rng.uniform(*AREA["lat"]), 6),
        "lon": round(rng.uniform(*AREA["lon"]), 6),
        "accuracy_m": rng.choice((5, 8, 12, 20, 35)),
    }
    captured = (now - timedelta(minutes=rng.randint(1, 600))).isoformat()
    roll = rng.random()
    if roll < 0.7:
        category = rng.choice(config["categories"])
        return {
            "type": "report",
            "captured_at": captured,
            "kind": category["kind"],
            "category": category["code"],
            "location": location,
            "note": rng.choice(NOTES),
            "photos": [
                {
                    "sha256": uuid.uuid4().hex * 2,
                    "size": rng.randint(400_000, 4_000_000),
                    "content_type": "image/jpeg",
                }
                for _ in range(rng.choice((0, 1, 1, 2)))
            ],
        }
    if roll < 0.85:
        vocabulary = config["contact"]
        return {
            "type": "contact",
            "captured_at": captured,
            "location": location,
            "contact_type": rng.choice(vocabulary["contact_types"]),
            "age_group": rng.choice(vocabulary["age_groups"]),
            "needs": rng.sample(vocabulary["needs"], rng.randint(0, 2)),
            "referral": rng.choice([None, "socialtjanst-uppsok"]),
        }
    return {"type": "presence", "captured_at": captured, "event": "ping", "location": location}


def _demo(args: argparse.Namespace) -> int:
    client = FieldClient(args.outbox, HttpTransport(args.url), args.token, args.device_id)
    rng = random.Random(args.seed)
    config = client.fetch_config()
    now = datetime.now(UTC)
    for _ in range(args.items):
        client.queue(demo_item(rng, config, now))
    pushed = client.sync()
    pulled = client.pull()
    print(
        json.dumps(
            {
                "queued": args.items,
                "pushed": pushed.by_status,
                "pulled_changes": pulled,
                "pending": client.pending(),
            }
        )
    )
    client.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sync.client", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="queue demo items offline, then push and pull")
    demo.add_argument("--url", default="http://127.0.0.1:5000")
    demo.add_argument("--token", required=True)
    demo.add_argument("--outbox", default="demo-outbox.sqlite3")
    demo.add_argument("--device-id", default=None)
    demo.add_argument("--items", type=int, default=120)
    demo.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    return _demo(args)


if __name__ == "__main__":
    sys.exit(main())

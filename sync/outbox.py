"""The phone's outbox: a local SQLite file with the items queued offline and their push
results, the statuses the pull delivered, the photos' bytes the server may still ask for, and
the pull cursor and config. No network: ``sync.client.FieldClient`` sends and fetches."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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
CREATE TABLE IF NOT EXISTS photos (
    sha256 TEXT PRIMARY KEY, content_type TEXT NOT NULL, data BLOB NOT NULL
);
"""


@dataclass
class PushSummary:
    sent: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


class Outbox:
    """One outbox file (created on first use)."""

    def __init__(self, outbox_path: str, device_clock: Callable[[], datetime]) -> None:
        self.db = sqlite3.connect(outbox_path)
        self.db.executescript(SCHEMA)
        self.device_clock = device_clock

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

    def attach_photo(self, data: bytes, content_type: str) -> dict[str, Any]:
        """Keep a photo's bytes in the outbox (as the phone keeps the file) and return the
        descriptor a report lists; the bytes are uploaded when the server says it lacks them."""
        sha256 = hashlib.sha256(data).hexdigest()
        with self.db:
            self.db.execute(
                "INSERT OR IGNORE INTO photos (sha256, content_type, data) VALUES (?, ?, ?)",
                (sha256, content_type, data),
            )
        return {"sha256": sha256, "size": len(data), "content_type": content_type}

    def missing_photos(self) -> int:
        return int(
            self.db.execute("SELECT count(DISTINCT sha256) FROM missing_photos").fetchone()[0]
        )

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

"""The reference field-app client: a local SQLite outbox, push with backoff, pull.

It behaves as the phone app must: items are queued offline with an id made on the device,
pushed in batches when there is signal, resent until the server has answered for them (a lost
response is simply resent: the server answers ``duplicate``), and the pull feed is stored so
the outbox can be cleared from pull alone. Run ``python -m sync.client --help`` for the CLI
that generates demo traffic around Sergels Torg.

The HTTP layer is a ``Transport`` (``sync.transport``): ``HttpTransport`` speaks to a server over
the network; tests pass an adapter over Flask's test client to drop responses on purpose. The
outbox file is ``sync.outbox``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tenacity

from sync.demo_traffic import DEMO_ZONE, HINTS, case_hint, demo_item, nearby_known, revisit
from sync.outbox import Outbox, PushSummary
from sync.transport import (
    Fatal,
    HttpTransport,
    Retryable,
    Transport,
    TransportError,
    refusal,
)

DEFAULT_BATCH_SIZE = 50
APP_VERSION = "reference-client/1.0"


class FieldClient(Outbox):
    """One phone: its outbox file (``sync.outbox``), its token and device id, and the
    protocol it speaks over a ``Transport``."""

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
        super().__init__(outbox_path, device_clock)
        self.transport = transport
        self.headers = {"Authorization": f"Bearer {token}"}
        self.device_id = device_id or f"device-{uuid.uuid4().hex[:12]}"
        self.batch_size = batch_size
        self.sleep = sleep

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
            raise Fatal(refusal("push", response))
        return self._apply(response.body["results"])

    def retrying(
        self,
        attempts: int = 8,
        max_wait_s: float = 60,
        on_retry: Callable[[str, float], None] | None = None,
    ) -> tenacity.Retrying:
        """Retries of a ``Retryable`` failure (no response, connection refused, 5xx, 429)."""

        def before_sleep(state: tenacity.RetryCallState) -> None:
            if on_retry is not None and state.outcome is not None and state.next_action:
                on_retry(str(state.outcome.exception()), state.next_action.sleep)

        return tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(Retryable),
            stop=tenacity.stop_after_attempt(attempts),
            # Full jitter, so phones that regain signal together do not resend in step.
            wait=tenacity.wait_random_exponential(multiplier=1, max=max_wait_s),
            sleep=self.sleep,
            before_sleep=before_sleep,
            reraise=True,
        )

    def sync(
        self,
        attempts: int = 8,
        max_wait_s: float = 60,
        on_batch: Callable[[int], None] | None = None,
        on_retry: Callable[[str, float], None] | None = None,
    ) -> PushSummary:
        """Push until the outbox is empty, backing off (with jitter) while the server fails."""
        total = PushSummary()
        retrying = self.retrying(attempts, max_wait_s, on_retry)
        while self.pending():
            summary = retrying(self.push_once)
            if on_batch is not None:
                on_batch(summary.sent)
            total.sent += summary.sent
            for status, count in summary.by_status.items():
                total.by_status[status] = total.by_status.get(status, 0) + count
        return total

    def upload_missing_photos(self, on_photo: Callable[[], None] | None = None) -> int:
        """Upload every photo the server asked for whose bytes this outbox holds."""
        rows = self.db.execute(
            "SELECT DISTINCT p.sha256, p.content_type, p.data FROM photos p "
            "JOIN missing_photos m ON m.sha256 = p.sha256"
        ).fetchall()
        uploaded = 0
        for sha256, content_type, data in rows:
            try:
                if self.upload_photo(sha256, bytes(data), content_type):
                    uploaded += 1
            except TransportError as error:
                raise Retryable(f"no response: {error}") from error
            if on_photo is not None:
                on_photo()
        return uploaded

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

    def fetch_config(self) -> dict[str, Any]:
        try:
            response = self.transport.request("GET", "/api/v1/sync/config", headers=self.headers)
        except TransportError as error:
            raise Retryable(f"no response: {error}") from error
        if response.status in (401, 403):
            raise Fatal(refusal("config", response))
        if response.status != 200:
            raise Retryable(f"config answered {response.status}")
        with self.db:
            self._set_meta("config", json.dumps(response.body))
            self._set_meta("config_stale", "0")
        config: dict[str, Any] = response.body
        return config


DEFAULT_OUTBOX = str(Path("instance") / "demo-outbox.sqlite3")


def _demo(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    Path(args.outbox).parent.mkdir(parents=True, exist_ok=True)
    client = FieldClient(args.outbox, HttpTransport(args.url), args.token, args.device_id)

    def on_retry(reason: str, wait_s: float) -> None:
        tqdm.write(f"{reason}; retrying in {wait_s:.1f} s", file=sys.stderr)

    try:
        retrying = client.retrying(args.attempts, on_retry=on_retry)
        config = retrying(client.fetch_config)
        rng = random.Random(args.seed)
        now = datetime.now(UTC)
        known = (
            retrying(lambda: nearby_known(client.transport, client.headers, DEMO_ZONE))
            if args.hint != "none"
            else []
        )
        categories = {c["code"]: c for c in config["categories"]}
        hinted = 0
        for _ in range(args.items):
            item = demo_item(rng, config, now, client.attach_photo)
            if item["type"] == "report" and known:
                if rng.random() < 0.5:
                    revisit(rng, item, known)
                    item["kind"] = categories[item["category"]]["kind"]
                hint = case_hint(item, known, categories, args.hint)
                if hint is not None:
                    item["case_hint"] = hint
                    hinted += 1
            client.queue(item)
        with tqdm(
            total=client.pending(), desc="push", unit="item", file=sys.stderr, disable=args.quiet
        ) as bar:
            pushed = client.sync(args.attempts, on_batch=bar.update, on_retry=on_retry)
        with tqdm(
            total=client.missing_photos(),
            desc="photos",
            unit="photo",
            file=sys.stderr,
            disable=args.quiet,
        ) as bar:
            uploaded = retrying(client.upload_missing_photos, lambda: bar.update(1))
        pulled = retrying(client.pull)
        pending = client.pending()
    except (Retryable, Fatal) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        client.close()
    print(
        json.dumps(
            {
                "queued": args.items,
                "pushed": pushed.by_status,
                "photos_uploaded": uploaded,
                "pulled_changes": pulled,
                "pending": pending,
            }
            | ({"hinted": hinted, "known_cases": len(known)} if args.hint != "none" else {})
        )
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sync.client",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo",
        help="queue demo items offline, then push, upload their photos and pull",
        description="Queue realistic items around Sergels Torg in a local outbox, push them, "
        "upload the photos the server asks for and pull the status feed. Prints a JSON "
        "summary on stdout; progress and errors go to stderr; exits 1 when the server cannot "
        "be reached or refuses.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    demo.add_argument("--url", default="http://127.0.0.1:5000", help="the service's base URL")
    demo.add_argument(
        "--token",
        required=True,
        help="a field worker's API token (role field; `make run` prints one and writes it to "
        "instance/demo-tokens.json)",
    )
    demo.add_argument(
        "--outbox", default=DEFAULT_OUTBOX, help="SQLite file of the phone's outbox (kept)"
    )
    demo.add_argument(
        "--device-id", default=None, help="the device id sent with pushes (default: random)"
    )
    demo.add_argument("--items", type=int, default=120, help="how many items to queue")
    demo.add_argument("--seed", type=int, default=None, help="random seed, for repeatable items")
    demo.add_argument(
        "--attempts",
        type=int,
        default=8,
        help="tries per request while the server is unreachable or failing (backoff with "
        "jitter, at most 60 s apart)",
    )
    demo.add_argument(
        "--hint",
        choices=HINTS,
        default="none",
        help="answer 'is it one of these?' for each report: fetch the zone's open cases once "
        "(pull with nearby_zone, as a phone does before going offline), file half the reports "
        "at one of them again, and send case_hint same_as the closest of its dedup group within "
        "twice the radius (same) or distinct_from all of them (distinct)",
    )
    demo.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.items < 0 or args.attempts < 1:
        parser.error("--items must be >= 0 and --attempts >= 1")
    return _demo(args)


if __name__ == "__main__":
    sys.exit(main())

"""Configuration: the only module that reads ``os.environ``.

Every setting is documented in the README's configuration table; the limits here are also
advertised to clients by ``GET /api/v1/sync/config``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from media import jpeg
from media.storage import parse_url

ROOT = Path(__file__).resolve().parent.parent
# The service's own files (embedded database, photos, `make run`'s demo tokens and Redis data);
# INSTANCE_PATH moves them, e.g. so that a test's `make run` leaves the checkout's alone.
INSTANCE = Path(os.environ.get("INSTANCE_PATH") or ROOT / "instance").resolve()


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise RuntimeError(f"environment variable {name} must be an integer, got {raw!r}") from exc


def _at_least(name: str, value: int, minimum: int) -> int:
    if value < minimum:
        raise RuntimeError(f"environment variable {name} must be at least {minimum}, got {value}")
    return value


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise RuntimeError(f"environment variable {name} must be a number, got {raw!r}") from exc


DEFAULT_SERVICE_AREA = (59.22, 17.75, 59.45, 18.20)
"""South, west, north, east: the bounding box of the municipality of Stockholm (Hässelby in the
west, Kista in the north, Farsta and Skarpnäck in the south, Ropsten in the east), rounded out
to two decimals. The service serves the city; a point outside is a broken fix or a forged one."""

# Limits that the API document states as its defaults (backend/sync/schemas.py).
SYNC_MAX_BATCH_ITEMS = 200
SYNC_MAX_NOTE_CHARS = 2000
SYNC_MAX_PHOTOS_PER_REPORT = 10
MAX_PHOTO_BYTES = 25 * 1024 * 1024


def _area(name: str, default: tuple[float, float, float, float]) -> tuple[float, ...]:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        south, west, north, east = (float(part) for part in raw.split(","))
    except ValueError as exc:
        raise RuntimeError(
            f"environment variable {name} must be 'south,west,north,east' in degrees, got {raw!r}"
        ) from exc
    if not (-90 <= south < north <= 90 and -180 <= west < east <= 180):
        raise RuntimeError(f"environment variable {name} is not a box south < north, west < east")
    return (south, west, north, east)


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise RuntimeError(f"environment variable {name} must be true or false, got {raw!r}")


def _list(name: str) -> tuple[str, ...]:
    raw = os.environ.get(name, "")
    return tuple(item.strip().lower() for item in raw.split(",") if item.strip())


def _storage_url(name: str) -> str:
    """A photo storage URL (``s3://BUCKET/PREFIX``, ``file:///path``) or empty, checked at
    start-up so a typo stops the service with its reason instead of failing every upload."""
    raw = os.environ.get(name, "").strip()
    if raw:
        try:
            parse_url(raw)
        except ValueError as exc:
            raise RuntimeError(f"environment variable {name}: {exc}") from exc
    return raw


def _choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = os.environ.get(name, "").strip().lower() or default
    if raw not in choices:
        raise RuntimeError(f"environment variable {name} must be one of {choices}, got {raw!r}")
    return raw


def _optional(name: str) -> str | None:
    return os.environ.get(name) or None


def _database_url(raw: str | None) -> str:
    if not raw:
        return f"sqlite:///{INSTANCE / 'samverkan.db'}"
    # Heroku-style URLs and plain "postgresql://" both mean psycopg 3 here.
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw[len("postgres://") :]
    if raw.startswith("postgresql://"):
        raw = "postgresql+psycopg://" + raw[len("postgresql://") :]
    return raw


def from_env() -> dict[str, Any]:
    """Build the Flask config mapping from the process environment, area by area."""
    database_url = _database_url(os.environ.get("DATABASE_URL"))
    public_base_url = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    return {
        **_console(public_base_url),
        "SECRET_KEY": os.environ.get("SECRET_KEY", "dev-only-not-secret"),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "PUBLIC_BASE_URL": public_base_url,
        # Reverse proxies in front of gunicorn whose X-Forwarded-For/-Proto are believed
        # (werkzeug's ProxyFix): the sign-in rate limit keys on the client's address, which
        # behind a load balancer is otherwise the balancer's. 0: connect directly.
        "TRUSTED_PROXIES": _int("TRUSTED_PROXIES", 0),
        # The whole request body; a sync batch of 200 items with long notes is ~250 KB, photos
        # go through their own upload routes with their own limit (MAX_PHOTO_BYTES).
        "MAX_CONTENT_LENGTH": _int("MAX_BODY_BYTES", 1_048_576),
        # SQLite waits this long for another writer before giving up; long enough that several
        # gunicorn workers queue up behind each other instead of reporting "database is locked".
        "SQLITE_BUSY_TIMEOUT_MS": _int("SQLITE_BUSY_TIMEOUT_MS", 30_000),
        **_photo_store(),
        **_photos(),
        **_sync(),
        **_rate_limits(),
        **_routing_and_delivery(),
        **_lists_and_statistics(),
        **_retention(),
    }


def _photo_store() -> dict[str, Any]:
    """Where photos are stored: a directory or an S3-compatible bucket, and how they are served."""
    return {
        "MEDIA_ROOT": os.environ.get("MEDIA_ROOT", str(INSTANCE / "media")),
        # Photos in an S3-compatible bucket instead of MEDIA_ROOT (media/s3.py); empty keeps
        # them in MEDIA_ROOT. Credentials are the standard AWS_* variables; unset, boto3's own
        # chain (instance role, web identity, ~/.aws) applies.
        "PHOTO_STORAGE_URL": _storage_url("PHOTO_STORAGE_URL"),
        "S3_ENDPOINT_URL": _optional("S3_ENDPOINT_URL"),
        "S3_PRESIGN_ENDPOINT_URL": _optional("S3_PRESIGN_ENDPOINT_URL"),
        "AWS_ACCESS_KEY_ID": _optional("AWS_ACCESS_KEY_ID"),
        "AWS_SECRET_ACCESS_KEY": _optional("AWS_SECRET_ACCESS_KEY"),
        "AWS_SESSION_TOKEN": _optional("AWS_SESSION_TOKEN"),
        "AWS_REGION": os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or "us-east-1",
        # One request to the store waits at most this long to connect and for each read, and
        # is tried S3_MAX_ATTEMPTS times (botocore's standard retry mode, with backoff): 3 x 5 s
        # keeps a hung store well inside gunicorn's default 30 s worker timeout, so the phone
        # gets a 503 with Retry-After rather than a killed worker.
        "S3_TIMEOUT_SECONDS": _float("S3_TIMEOUT_SECONDS", 5.0),
        "S3_MAX_ATTEMPTS": _at_least("S3_MAX_ATTEMPTS", _int("S3_MAX_ATTEMPTS", 3), 1),
        # GET /api/v1/photos/{sha256} with S3: "stream" sends the image through the service,
        # "redirect" answers 302 to a presigned URL of the bucket valid PHOTO_REDIRECT_SECONDS
        # (the bucket must then be reachable by the clients, see S3_PRESIGN_ENDPOINT_URL).
        "PHOTO_SERVE": _choice("PHOTO_SERVE", "stream", ("stream", "redirect")),
        # Long enough for a phone on a slow link to start the download after the redirect,
        # short enough that a leaked URL (a shared screenshot of a log) is soon useless.
        "PHOTO_REDIRECT_SECONDS": _at_least(
            "PHOTO_REDIRECT_SECONDS", _int("PHOTO_REDIRECT_SECONDS", 60), 1
        ),
    }


def _photos() -> dict[str, Any]:
    """What one photo upload may be (bytes, pixels, JPEG scans); the tus uploads one may hold."""
    return {
        # A 12 MP HEIC is 2-4 MB and a 48 MP JPEG from a recent phone 12-20 MB: 25 MiB keeps
        # every camera original while bounding what one upload can make the server hold.
        "MAX_PHOTO_BYTES": _int("MAX_PHOTO_BYTES", MAX_PHOTO_BYTES),
        # 48 MP sensors (8064 x 6048 = 48.8 MP) are the largest in common phones; a decoded
        # RGB image of this many pixels is 150 MB, the memory bound of one decode.
        "MAX_PHOTO_PIXELS": _int("MAX_PHOTO_PIXELS", 50_000_000),
        # Each scan of a JPEG costs its decode a pass over every block; cameras write 1,
        # progressive encoders 10 to 18 (media/jpeg.py says where the default comes from).
        "MAX_JPEG_SCANS": _at_least("MAX_JPEG_SCANS", _int("MAX_JPEG_SCANS", jpeg.MAX_SCANS), 1),
        # tus 1.0 expiration: an unfinished resumable upload is kept this long after its last
        # PATCH, enough for a phone to finish a photo after a shift spent without signal.
        "UPLOAD_EXPIRY_SECONDS": _int("UPLOAD_EXPIRY_SECONDS", 24 * 3600),
        # Unfinished tus uploads one user may hold (their bytes stay on disk until finished or
        # expired). A phone starts at most one report's photos at once (the app allows 6,
        # SYNC_MAX_PHOTOS_PER_REPORT 10), so 10 uploads; and 200 MiB: ten 48 MP JPEGs of
        # 20 MB. Past either, a new upload is 409 until one is finished or deleted.
        "UPLOAD_MAX_OPEN_PER_USER": _at_least(
            "UPLOAD_MAX_OPEN_PER_USER", _int("UPLOAD_MAX_OPEN_PER_USER", 10), 1
        ),
        "UPLOAD_MAX_OPEN_BYTES_PER_USER": _at_least(
            "UPLOAD_MAX_OPEN_BYTES_PER_USER",
            _int("UPLOAD_MAX_OPEN_BYTES_PER_USER", 200 * 1024 * 1024),
            1,
        ),
    }


def _sync() -> dict[str, Any]:
    """The phones' push and pull: batch and item limits, the service area, the clock rules."""
    return {
        # A phone that was offline for a whole shift queues ~100 items (a busy litter round is
        # one report every 3-5 minutes); 200 covers two shifts and keeps a batch under the
        # MAX_BODY_BYTES limit above. More is 413 batch_too_large with nothing stored.
        "SYNC_MAX_BATCH_ITEMS": _int("SYNC_MAX_BATCH_ITEMS", SYNC_MAX_BATCH_ITEMS),
        # A report note is a sentence or two typed on a phone; 2000 characters is a full screen
        # of text and bounds what a department reads per case. Longer is a rejected item.
        "SYNC_MAX_NOTE_CHARS": _int("SYNC_MAX_NOTE_CHARS", SYNC_MAX_NOTE_CHARS),
        # The phone app's camera screen allows 6 photos per report (app spec); 10 leaves room.
        "SYNC_MAX_PHOTOS_PER_REPORT": _int(
            "SYNC_MAX_PHOTOS_PER_REPORT", SYNC_MAX_PHOTOS_PER_REPORT
        ),
        # Reports, contacts and presence with a location outside this box are rejected
        # (outside_service_area); GET /api/v1/sync/config advertises it as service_area.
        "SERVICE_AREA": _area("SERVICE_AREA", DEFAULT_SERVICE_AREA),
        # Items captured longer ago are rejected (captured_at_too_old). The issue requires at
        # least 90 days because a phone can lie forgotten in a drawer; 120 days covers a summer
        # season (seasonal staff return their phones in autumn) with a month to spare.
        "SYNC_MAX_ITEM_AGE_DAYS": _at_least(
            "SYNC_MAX_ITEM_AGE_DAYS", _int("SYNC_MAX_ITEM_AGE_DAYS", 120), 90
        ),
        # A device clock further off than this is corrected by the batch's skew estimate.
        # Below it, server time minus sent_at is mostly the batch's time in transit (a slow
        # mobile upload plus retries takes up to a minute or two), not a wrong clock.
        "SYNC_CLOCK_CORRECTION_S": _int("SYNC_CLOCK_CORRECTION_S", 120),
        # A capture time still this far in the future after correction is implausible
        # (captured_at_in_future): 5 minutes absorbs the skew estimate's own transit error.
        "SYNC_MAX_FUTURE_S": _int("SYNC_MAX_FUTURE_S", 300),
        # Pull page size: the default suits one screen of status updates, the maximum keeps a
        # response under ~200 KB on a phone connection.
        "SYNC_PULL_DEFAULT_LIMIT": _int("SYNC_PULL_DEFAULT_LIMIT", 100),
        "SYNC_PULL_MAX_LIMIT": _int("SYNC_PULL_MAX_LIMIT", 500),
    }


def _rate_limits() -> dict[str, Any]:
    """Per-token and per-key request budgets, and how long an Open311 media link works."""
    return {
        # Per-token rate limits (backend/ratelimit.py), requests per minute; 0 turns one off.
        # A phone pushes its outbox one batch (<= SYNC_MAX_BATCH_ITEMS) at a time with
        # jittered backoff, so even a two-shift backlog is a handful of pushes: 60 a minute
        # leaves room for resends after lost responses and stops a client looping at full speed.
        "RATE_LIMIT_PUSH_PER_MINUTE": _int("RATE_LIMIT_PUSH_PER_MINUTE", 60),
        # Whole-file PUT and tus POST/PATCH share this budget. A report has at most 10 photos
        # and a 25 MiB photo sent over tus in 1 MiB chunks is ~26 requests: 600 a minute lets a
        # phone send two such reports' photos in a minute after a shift without signal.
        "RATE_LIMIT_UPLOAD_PER_MINUTE": _int("RATE_LIMIT_UPLOAD_PER_MINUTE", 600),
        # Every Open311 call made with one API key (GET and POST alike) counts against this.
        # A department's case system polls requests.json every 30 s or so and posts an update
        # per status change: 120 a minute is several times that, and stops a client that
        # loops at full speed from taking the workers the phones' pushes need.
        "RATE_LIMIT_OPEN311_PER_MINUTE": _int("RATE_LIMIT_OPEN311_PER_MINUTE", 120),
        # How long a media_url in an Open311 answer works. A link copied into a contractor's
        # work order should last the working day it is dispatched on; longer would let a
        # forwarded link to a photo of passers-by outlive its purpose. Every requests.json
        # answer carries fresh links.
        "OPEN311_MEDIA_URL_TTL_SECONDS": _at_least(
            "OPEN311_MEDIA_URL_TTL_SECONDS", _int("OPEN311_MEDIA_URL_TTL_SECONDS", 86_400), 60
        ),
    }


def _routing_and_delivery() -> dict[str, Any]:
    """Routing's photo grace, and delivering tasks to organisations (relay, webhooks, email)."""
    return {
        # A new case whose reports list photos the server lacks waits for them this long
        # before it is routed anyway (the reports show `awaiting_photos` meanwhile): a 12 MB
        # photo over a weak 1 Mbit/s link takes ~100 s, so 10 minutes covers a report's
        # photos with retries, and is small beside the shortest deadline (offensive
        # graffiti), which counts from when the push arrived. 0 routes at once.
        "ROUTING_PHOTO_GRACE_SECONDS": _int("ROUTING_PHOTO_GRACE_SECONDS", 600),
        # Delivery of tasks to organisations (backend/delivery/). The relay polls the outbox this
        # often: it bounds the push-to-queue latency and costs one indexed query per pass.
        "RELAY_INTERVAL_SECONDS": _float("RELAY_INTERVAL_SECONDS", 0.5),
        # A commit that wrote deliveries wakes the relay through Redis (backend/delivery/wake.py),
        # so push to delivered is tens of milliseconds; the poll above stays as the fallback for
        # a lost signal. Off: the relay only polls (the benchmarks' baseline).
        "RELAY_WAKE_ON_COMMIT": _bool("RELAY_WAKE_ON_COMMIT", True),
        # Attempts per delivery before it is `failed` and shown to admins. With the backoff
        # below, 8 attempts span about 4 minutes of receiver outage plus jitter (2+4+...+128 s);
        # a longer outage is an admin's retry, not a silent queue.
        "DELIVERY_MAX_ATTEMPTS": _int("DELIVERY_MAX_ATTEMPTS", 8),
        "DELIVERY_BACKOFF_BASE_SECONDS": _float("DELIVERY_BACKOFF_BASE_SECONDS", 2.0),
        "DELIVERY_BACKOFF_MAX_SECONDS": _float("DELIVERY_BACKOFF_MAX_SECONDS", 3600.0),
        # How long one attempt may run before the relay presumes its worker dead and hands the
        # delivery out again; also the RQ job timeout. Several webhook timeouts long.
        "DELIVERY_LEASE_SECONDS": _int("DELIVERY_LEASE_SECONDS", 120),
        # An `enqueued` delivery whose RQ job has vanished (Redis flushed or restarted without
        # persistence) is enqueued again after this long; younger rows are left alone so the
        # relay does not ask Redis about every fresh job on every pass.
        "DELIVERY_STUCK_AFTER_SECONDS": _float("DELIVERY_STUCK_AFTER_SECONDS", 60.0),
        # Standard Webhooks recommends a short timeout; receivers should queue and answer fast.
        "WEBHOOK_TIMEOUT_SECONDS": _float("WEBHOOK_TIMEOUT_SECONDS", 10.0),
        # Hosts (names or IP literals, as written in the URL) that may be plain http and may
        # resolve to private or loopback addresses. Empty in production: webhooks then go only
        # to https on public addresses, so an admin cannot aim the service at internal systems.
        "WEBHOOK_ALLOWED_HOSTS": _list("WEBHOOK_ALLOWED_HOSTS"),
        "SMTP_HOST": os.environ.get("SMTP_HOST", "127.0.0.1"),
        "SMTP_PORT": _int("SMTP_PORT", 25),
        "SMTP_FROM": os.environ.get("SMTP_FROM", "samverkan-field@localhost"),
    }


def _lists_and_statistics() -> dict[str, Any]:
    """Page sizes and the longest ranges the lists, summaries and statistics answer."""
    return {
        # Case list page size: a supervisor's screen shows ~50 cases. The maximum, 200, is the
        # document's (backend/cases/schemas.MAX_PAGE): it bounds one response (a case is ~400
        # bytes) and one index range scan.
        "CASES_PAGE_DEFAULT_LIMIT": _int("CASES_PAGE_DEFAULT_LIMIT", 50),
        # GET /presence/summary computes every day's log in the range: a quarter (92 days) is
        # the longest period a supervisor reports on at once and bounds one request's work.
        "PRESENCE_SUMMARY_MAX_DAYS": _at_least(
            "PRESENCE_SUMMARY_MAX_DAYS", _int("PRESENCE_SUMMARY_MAX_DAYS", 92), 1
        ),
        # Contact aggregates are counted in the database; a year (366 days) is the span of an
        # annual follow-up and keeps the per-week and per-hour tables a screen long.
        "CONTACT_AGGREGATE_MAX_DAYS": _at_least(
            "CONTACT_AGGREGATE_MAX_DAYS", _int("CONTACT_AGGREGATE_MAX_DAYS", 366), 1
        ),
        # Every contact count in an aggregate (each cell and the total) is rounded down to a
        # multiple of this base, and counts below it (zero included) are shown suppressed.
        # 5 is the base official statistics round social counts to (ONS, ABS); with it no
        # exact count from 1 to 3 can be derived from an answer by any subtraction (README,
        # "Contact aggregates"). Below 3 that guarantee is empty, so 3 is the least allowed.
        "CONTACT_AGGREGATE_ROUNDING_BASE": _at_least(
            "CONTACT_AGGREGATE_ROUNDING_BASE", _int("CONTACT_AGGREGATE_ROUNDING_BASE", 5), 3
        ),
        # GET /stats/weekly reads daily aggregates, so its range is bounded by what a reader
        # takes in, not by cost: a year in whole ISO weeks (53 weeks = 371 days).
        "STATS_WEEKLY_MAX_DAYS": _at_least(
            "STATS_WEEKLY_MAX_DAYS", _int("STATS_WEEKLY_MAX_DAYS", 371), 1
        ),
        # A day's aggregates are recomputed once its oldest change is this old, so a busy day's
        # stream of pushes costs one recomputation a minute, not one per push; the statistics
        # trail the pushes by about this much. 0 recomputes at the next relay pass.
        "STATS_REFRESH_DELAY_SECONDS": _float("STATS_REFRESH_DELAY_SECONDS", 60.0),
    }


def _retention() -> dict[str, Any]:
    """How long each kind of record is kept, and the batch the retention job deletes in."""
    return {
        # Retention periods in days (the retention job deletes older records). Policy choices
        # of this service, made as defaults an operator changes to the data controller's
        # decision:
        # - contacts: 395 days (13 months), so the whole previous calendar year is still there
        #   when the annual follow-up is written in January, and nothing older. The records
        #   hold no names and are not social-services case files (those follow SoL and OSL).
        "RETENTION_CONTACT_DAYS": _at_least(
            "RETENTION_CONTACT_DAYS", _int("RETENTION_CONTACT_DAYS", 395), 1
        ),
        # - presence pings: 90 days. A minute-by-minute location trace is the most intrusive
        #   record here; it is only needed until the month's working time has been approved and
        #   questioned (one pay period plus two months for questions). Shift and zone events
        #   then still give each day's intervals, with the zone the ping placed the worker in.
        "RETENTION_PRESENCE_PING_DAYS": _at_least(
            "RETENTION_PRESENCE_PING_DAYS", _int("RETENTION_PRESENCE_PING_DAYS", 90), 1
        ),
        # - other presence events (shift start/end, zone enter/exit): 730 days, two years of
        #   shift history for planning against the same season last year. Their coordinates
        #   are dropped at the ping period above; only event, zone and time stay.
        "RETENTION_PRESENCE_EVENT_DAYS": _at_least(
            "RETENTION_PRESENCE_EVENT_DAYS", _int("RETENTION_PRESENCE_EVENT_DAYS", 730), 1
        ),
        # - photos: 365 days. A litter or damage case is closed within weeks; a year covers
        #   complaints and insurance questions about it. Photos may show passers-by.
        "RETENTION_PHOTO_DAYS": _at_least(
            "RETENTION_PHOTO_DAYS", _int("RETENTION_PHOTO_DAYS", 365), 1
        ),
        # Rows deleted per transaction: short transactions keep SQLite's single writer lock
        # free for the phones' pushes between batches.
        "RETENTION_BATCH_SIZE": _at_least(
            "RETENTION_BATCH_SIZE", _int("RETENTION_BATCH_SIZE", 1000), 1
        ),
    }


def _console(public_base_url: str) -> dict[str, Any]:
    """The staff console's settings (backend/console/): session cookie, sign-in limits, map."""
    return {
        # Flask's own session cookie carries the console's session id and CSRF token only; it is
        # sent to /console alone, never readable by scripts, and not sent by cross-site
        # sub-requests (Lax still lets a link from an e-mail open the console signed in).
        "SESSION_COOKIE_NAME": "samverkan_console",
        "SESSION_COOKIE_PATH": "/console",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Secure (sent over https only) whenever the service is published on https.
        "SESSION_COOKIE_SECURE": _bool(
            "CONSOLE_COOKIE_SECURE", public_base_url.lower().startswith("https://")
        ),
        # OWASP's Session Management Cheat Sheet: 15-30 minutes idle for ordinary applications;
        # 30, because a supervisor moves between the screen and the square. Polling by an open
        # page does not count as activity.
        "CONSOLE_IDLE_MINUTES": _at_least(
            "CONSOLE_IDLE_MINUTES", _int("CONSOLE_IDLE_MINUTES", 30), 1
        ),
        # However active, a session ends after a working day (a shared office PC left signed in
        # is signed out by the next morning).
        "CONSOLE_SESSION_MAX_HOURS": _at_least(
            "CONSOLE_SESSION_MAX_HOURS", _int("CONSOLE_SESSION_MAX_HOURS", 12), 1
        ),
        # NIST SP 800-63B-4 section 3.1.1.2: a password that is the only factor is at least 15
        # characters; 256 bounds what one sign-in makes argon2 hash.
        "CONSOLE_PASSWORD_MIN_LENGTH": _at_least(
            "CONSOLE_PASSWORD_MIN_LENGTH", _int("CONSOLE_PASSWORD_MIN_LENGTH", 15), 8
        ),
        # Failed sign-ins per account and per client address within the window; past either
        # the sign-in form answers 429 without checking the password. 5 per account (OWASP's
        # Authentication Cheat Sheet's example lockout threshold) stops guessing while a
        # person who mistyped waits a quarter of an hour at most; 20 per address lets an
        # office behind one NAT mistype, and stops one machine trying many accounts.
        "CONSOLE_SIGNIN_FAILURES_PER_ACCOUNT": _int("CONSOLE_SIGNIN_FAILURES_PER_ACCOUNT", 5),
        "CONSOLE_SIGNIN_FAILURES_PER_ADDRESS": _int("CONSOLE_SIGNIN_FAILURES_PER_ADDRESS", 20),
        "CONSOLE_SIGNIN_WINDOW_MINUTES": _at_least(
            "CONSOLE_SIGNIN_WINDOW_MINUTES", _int("CONSOLE_SIGNIN_WINDOW_MINUTES", 15), 1
        ),
        # The map's background tiles, a Leaflet URL template such as
        # https://tile.openstreetmap.org/{z}/{x}/{y}.png, and the attribution its licence asks
        # for. Empty: no tiles, and the map still draws the zones and the cases (offline use).
        # How often an open task board asks for new tasks. Deliveries reach an inbox within
        # RELAY_INTERVAL_SECONDS of routing, so 30 s shows a new task within half a minute;
        # like the overview's polling it does not keep a session alive.
        "CONSOLE_BOARD_POLL_SECONDS": _at_least(
            "CONSOLE_BOARD_POLL_SECONDS", _int("CONSOLE_BOARD_POLL_SECONDS", 30), 1
        ),
        "MAP_TILE_URL": os.environ.get("MAP_TILE_URL", ""),
        "MAP_TILE_ATTRIBUTION": os.environ.get("MAP_TILE_ATTRIBUTION", ""),
    }

"""The demo's traffic: the area around Sergels Torg the demo items fall in, their notes, small
real JPEGs for their photos, the items themselves (``demo_item``) and the reporter's answers to
"is it one of these?" (``case_hint``, ``revisit``). ``python -m sync.client`` sends them."""

from __future__ import annotations

import io
import random
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pyproj import Geod

from sync.case_hints import MAX_DISTINCT_FROM, NEARBY_RADIUS_FACTOR
from sync.dedup import distance_m
from sync.transport import Retryable, Transport, TransportError

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


def demo_photo(rng: random.Random) -> bytes:
    """A small real JPEG (a coloured scene with a random block), so the demo's photos decode
    and are sanitised like a phone's; Pillow is the service's own dependency."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (320, 240), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    x, y = rng.randrange(280), rng.randrange(200)
    draw.rectangle((x, y, x + 40, y + 40), fill=tuple(rng.randrange(256) for _ in range(3)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def demo_item(
    rng: random.Random,
    config: dict[str, Any],
    now: datetime,
    attach: Callable[[bytes, str], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One realistic item: mostly reports, some contacts, a few presence pings. With
    ``attach`` (``FieldClient.attach_photo``) reports carry real photos kept for upload."""
    location = {
        "lat": round(rng.uniform(*AREA["lat"]), 6),
        "lon": round(rng.uniform(*AREA["lon"]), 6),
        "accuracy_m": rng.choice((5, 8, 12, 20, 35)),
    }
    captured = (now - timedelta(minutes=rng.randint(1, 600))).isoformat()
    roll = rng.random()
    if roll < 0.7:
        category = rng.choice(config["categories"])
        photos = []
        for _ in range(rng.choice((0, 1, 1, 2))):
            if attach is not None:
                photos.append(attach(demo_photo(rng), "image/jpeg"))
            else:
                photos.append(
                    {
                        "sha256": uuid.uuid4().hex * 2,
                        "size": rng.randint(400_000, 4_000_000),
                        "content_type": "image/jpeg",
                    }
                )
        return {
            "type": "report",
            "captured_at": captured,
            "kind": category["kind"],
            "category": category["code"],
            "location": location,
            "note": rng.choice(NOTES),
            "photos": photos,
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


_DEMO_GEOD = Geod(ellps="WGS84")
DEMO_ZONE = "sergels-torg"
HINTS = ("none", "same", "distinct")


def nearby_known(transport: Transport, headers: dict[str, str], zone: str) -> list[dict[str, Any]]:
    """The zone's open cases as the last pull carried them (``nearby_zone``): what a phone
    knows when it asks "is it one of these?" without signal. One page of changes is fetched
    and not stored: the demo only wants the snapshot."""
    try:
        response = transport.request(
            "GET",
            "/api/v1/sync/pull",
            headers=headers,
            params={"cursor": "", "limit": 1, "nearby_zone": zone},
        )
    except TransportError as error:
        raise Retryable(f"no response: {error}") from error
    if response.status != 200:
        raise Retryable(f"pull answered {response.status}")
    cases: list[dict[str, Any]] = response.body.get("nearby_cases", [])
    return cases


def case_hint(
    item: dict[str, Any],
    known: list[dict[str, Any]],
    categories: dict[str, dict[str, Any]],
    mode: str,
) -> dict[str, Any] | None:
    """The reporter's answer for a report: the known open cases of its dedup group within
    twice the radius are "these"; ``same`` says it is the closest, ``distinct`` none of them."""
    category = categories[item["category"]]
    here = item["location"]
    near = sorted(
        (distance_m(here["lat"], here["lon"], c["lat"], c["lon"]), c["id"])
        for c in known
        if c["dedup_group"] == category["dedup_group"]
    )
    ids = [i for d, i in near if d <= NEARBY_RADIUS_FACTOR * category["dedup_radius_m"]]
    if not ids or mode == "none":
        return None
    if mode == "same":
        return {"same_as": ids[0]}
    return {"distinct_from": ids[:MAX_DISTINCT_FROM]}


def revisit(rng: random.Random, item: dict[str, Any], known: list[dict[str, Any]]) -> None:
    """Make a demo report one of a known case's again (same category, within ~10 m): field
    workers pass the same bins and walls, which is when the question matters."""
    case = rng.choice(known)
    lon, lat, _ = _DEMO_GEOD.fwd(case["lon"], case["lat"], rng.uniform(0, 360), rng.uniform(0, 10))
    item["category"] = case["category"]
    item["location"] = {**item["location"], "lat": round(lat, 6), "lon": round(lon, 6)}

"""How well cases match the real problems on a synthetic Sergels Torg: B-cubed precision, recall
and F1 of the cases against the true objects, without hints, with some reporters answering
"is it one of these?", and with the bins' radius and window varied.

The square: 14 bins 20-30 m apart along two walkways, 10 lamp posts 15-25 m apart, 5 walls with
1-3 tags each 6-12 m apart. Over a day a bin is full 0-2 times (at least 5 h apart), each time
reported by 1-4 of 6 workers within 2 h; a dark lamp and a tag are reported 1-3 times across
the day. Each report is filed from 1-4 m beside the object, its position off by GPS error drawn
from its own ``accuracy_m`` (the 68 % radius phones report; lognormal, median 12 m, 3-40 m: the
street canyons around the square), 70 % with a photo whose perceptual hash is the object's with
2-14 bits flipped (another angle of the same thing; another object's photo is unrelated).

Everything runs in process through the real service: each report is one push through the Flask
test client (SQLite), and an answering reporter first asks ``GET /api/v1/cases/nearby`` and
answers ``same_as`` the listed case that holds a report of the same object, else
``distinct_from`` the listed ones; ``--mistakes`` of the answers pick wrong. The true object of
a report is (object, episode). B-cubed per report: precision = share of its case's reports of
its object, recall = share of its object's reports in its case; means over reports and seeds.

    .venv/bin/python -m benchmarks.bench_dedup_quality [--seeds 5] [--mistakes 0.05]

Prints one row per configuration: B-cubed P, R, F1 over all reports, the same for the bins alone
(the category whose radius and window are varied; F1 with its standard error over the days),
F1 against the baseline (the catalogue's defaults without hints, measured in the same run), and
the share of reports that carried a hint.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import math
import random
import shutil
import statistics
import tempfile
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pyproj import Geod

GEOD = Geod(ellps="WGS84")
CENTRE = (59.3325, 18.0642)
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
WORKERS = 6
BIN, LIGHT, TAG = "litter.overflowing_bin", "damage.broken_light", "damage.graffiti"


@dataclass(frozen=True)
class Thing:
    key: str
    category: str
    lat: float
    lon: float
    phash: int


@dataclass(frozen=True)
class Sighting:
    truth: str  # object and episode
    thing: Thing
    worker: int
    at: datetime
    lat: float
    lon: float
    accuracy_m: float
    phash: int | None


def _move(lat: float, lon: float, bearing: float, metres: float) -> tuple[float, float]:
    lon2, lat2, _ = GEOD.fwd(lon, lat, bearing, metres)
    return lat2, lon2


def square(rng: random.Random) -> list[Thing]:
    things: list[Thing] = []

    def row(
        prefix: str,
        category: str,
        n: int,
        start: tuple[float, float],
        bearing: float,
        gap: tuple[float, float],
    ) -> None:
        lat, lon = start
        for i in range(n):
            things.append(Thing(f"{prefix}{i}", category, lat, lon, rng.getrandbits(64)))
            lat, lon = _move(lat, lon, bearing, rng.uniform(*gap))

    row("bin-a", BIN, 7, _move(*CENTRE, 315, 60), 90, (20, 30))
    row("bin-b", BIN, 7, _move(*CENTRE, 225, 40), 80, (20, 30))
    row("lamp", LIGHT, 10, _move(*CENTRE, 0, 30), 100, (15, 25))
    for w in range(5):
        wall = _move(*CENTRE, 40 + w * 70, 70)
        row(f"wall{w}-tag", TAG, rng.randint(1, 3), wall, 90 + w * 70, (6, 12))
    return things


def _accuracy(rng: random.Random) -> float:
    return min(max(rng.lognormvariate(math.log(12), 0.5), 3.0), 40.0)


def _fix(rng: random.Random, thing: Thing, accuracy: float) -> tuple[float, float]:
    """Where the phone says the reporter is: beside the object, plus GPS error whose 68 %
    radius is ``accuracy`` (a 2-D normal: r68 = sigma * sqrt(-2 ln 0.32))."""
    lat, lon = _move(thing.lat, thing.lon, rng.uniform(0, 360), rng.uniform(1, 4))
    sigma = accuracy / math.sqrt(-2 * math.log(0.32))
    error = math.hypot(rng.gauss(0, sigma), rng.gauss(0, sigma))
    return _move(lat, lon, rng.uniform(0, 360), error)


def _photo(rng: random.Random, thing: Thing) -> int | None:
    if rng.random() > 0.7:
        return None
    flips = rng.sample(range(64), rng.randint(2, 14))
    return thing.phash ^ sum(1 << b for b in flips)


def sightings(rng: random.Random, things: list[Thing]) -> list[Sighting]:
    out: list[Sighting] = []

    def sight(truth: str, thing: Thing, at: datetime) -> None:
        accuracy = _accuracy(rng)
        lat, lon = _fix(rng, thing, accuracy)
        out.append(
            Sighting(
                truth, thing, rng.randrange(WORKERS), at, lat, lon, accuracy, _photo(rng, thing)
            )
        )

    for thing in things:
        if thing.category == BIN:
            starts: list[float] = []
            for _ in range(rng.choice((0, 1, 1, 2))):
                start = rng.uniform(0, 600)
                if all(abs(start - s) >= 300 for s in starts):
                    starts.append(start)
            for n, start in enumerate(starts):
                for _ in range(rng.randint(1, 4)):
                    sight(
                        f"{thing.key}#{n}",
                        thing,
                        T0 + timedelta(minutes=start + rng.uniform(0, 120)),
                    )
        elif rng.random() < (0.3 if thing.category == LIGHT else 0.8):
            for _ in range(rng.randint(1, 3)):
                sight(thing.key, thing, T0 + timedelta(minutes=rng.uniform(0, 720)))
    return sorted(out, key=lambda s: s.at)


def bcubed(case_of: dict[int, str], truth_of: dict[int, str]) -> tuple[float, float]:
    by_case: dict[str, set[int]] = defaultdict(set)
    by_truth: dict[str, set[int]] = defaultdict(set)
    for i, case in case_of.items():
        by_case[case].add(i)
        by_truth[truth_of[i]].add(i)
    precision = recall = 0.0
    for i in case_of:
        both = len(by_case[case_of[i]] & by_truth[truth_of[i]])
        precision += both / len(by_case[case_of[i]])
        recall += both / len(by_truth[truth_of[i]])
    return precision / len(case_of), recall / len(case_of)


@dataclass(frozen=True)
class Config:
    name: str
    bin_radius_m: float = 15
    bin_window_min: float = 240
    answering: float = 0.0  # share of workers who answer the nearby question


class Square:
    """One fresh database (a copy of a migrated template) with six field workers."""

    def __init__(self, template: Path, workdir: Path, config: Config) -> None:
        from backend.app import create_app
        from backend.extensions import db
        from backend.reference.models import Category
        from backend.users.services import create_user

        path = workdir / f"{uuid.uuid4().hex}.db"
        shutil.copy(template, path)
        self.app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                "TESTING": True,
                "RATE_LIMIT_PUSH_PER_MINUTE": 0,
            }
        )
        with self.app.app_context():
            session = db.session()
            category = session.get(Category, BIN)
            category.settings = {
                **category.settings,
                "dedup_radius_m": config.bin_radius_m,
                "dedup_window_min": config.bin_window_min,
            }
            self.tokens = []
            self.ids = []
            for w in range(WORKERS):
                user, token = create_user(session, name=f"worker-{w}", role="field")
                self.tokens.append(token)
                self.ids.append(user.id)
            session.commit()
        self.client = self.app.test_client()

    def add_photo(self, worker: int, phash: int) -> dict[str, Any]:
        from backend.extensions import db
        from backend.photos.models import Photo, PhotoUploader

        sha = hashlib.sha256(f"{phash}-{uuid.uuid4()}".encode()).hexdigest()
        with self.app.app_context():
            db.session.add(
                Photo(
                    sha256=sha,
                    size=1000,
                    content_type="image/jpeg",
                    status="ready",
                    phash=f"{phash:016x}",
                )
            )
            db.session.flush()
            db.session.add(PhotoUploader(sha256=sha, user_id=self.ids[worker]))
            db.session.commit()
        return {"sha256": sha, "size": 1000, "content_type": "image/jpeg"}

    def nearby(self, s: Sighting) -> list[str]:
        response = self.client.get(
            "/api/v1/cases/nearby",
            query_string={"lat": s.lat, "lon": s.lon, "category": s.thing.category},
            headers={"Authorization": f"Bearer {self.tokens[s.worker]}"},
        )
        assert response.status_code == 200, response.get_json()
        return [c["id"] for c in response.get_json()["cases"]]

    def push(self, s: Sighting, hint: dict[str, Any] | None) -> str:
        item: dict[str, Any] = {
            "type": "report",
            "id": str(uuid.uuid4()),
            "captured_at": s.at.isoformat(),
            "kind": s.thing.category.split(".")[0],
            "category": s.thing.category,
            "location": {"lat": s.lat, "lon": s.lon, "accuracy_m": round(s.accuracy_m, 1)},
            "note": "",
            "photos": [self.add_photo(s.worker, s.phash)] if s.phash else [],
        }
        if hint:
            item["case_hint"] = hint
        body = {
            "device_id": f"w{s.worker}",
            "app_version": "bench",
            "items": [item],
            "sent_at": datetime.now(UTC).isoformat(),
        }
        response = self.client.post(
            "/api/v1/sync/push",
            json=body,
            headers={"Authorization": f"Bearer {self.tokens[s.worker]}"},
        )
        [result] = response.get_json()["results"]
        assert result["status"] == "created", result
        return str(result["case_id"])


def run(
    config: Config, seed: int, template: Path, workdir: Path, mistakes: float
) -> dict[str, Any]:
    rng = random.Random(seed)
    reported = sightings(rng, square(rng))
    answers = random.Random(seed * 7919)
    answering = set(answers.sample(range(WORKERS), round(config.answering * WORKERS)))
    sq = Square(template, workdir, config)
    truths_in: dict[str, set[str]] = defaultdict(set)
    case_of: dict[int, str] = {}
    hints = 0
    for n, s in enumerate(reported):
        hint = None
        if s.worker in answering and (listed := sq.nearby(s)):
            same = [c for c in listed if s.truth in truths_in[c]]
            if answers.random() < mistakes:  # the reporter picks wrong
                same = [] if same else listed[:1]
            hint = {"same_as": same[0]} if same else {"distinct_from": listed}
            hints += 1
        case = sq.push(s, hint)
        truths_in[case].add(s.truth)
        case_of[n] = case
    precision, recall = bcubed(case_of, {n: s.truth for n, s in enumerate(reported)})
    bins = {n: c for n, c in case_of.items() if reported[n].thing.category == BIN}
    bin_p, bin_r = bcubed(bins, {n: reported[n].truth for n in bins})
    return {
        "p": precision,
        "r": recall,
        "bin_p": bin_p,
        "bin_r": bin_r,
        "reports": len(reported),
        "objects": len({s.truth for s in reported}),
        "cases": len(set(case_of.values())),
        "hints": hints,
    }


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


CONFIGS = [
    Config("defaults (bin 15 m, 4 h), no hints"),
    Config("defaults, half the workers answer", answering=0.5),
    Config("defaults, every worker answers", answering=1.0),
    *(Config(f"bin radius {r} m, no hints", bin_radius_m=r) for r in (5, 10, 20, 25)),
    *(
        Config(f"bin radius {r} m, every worker answers", bin_radius_m=r, answering=1.0)
        for r in (10, 20, 25)
    ),
    *(Config(f"bin window {w // 60} h, no hints", bin_window_min=w) for w in (60, 120, 480)),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="synthetic days per configuration")
    parser.add_argument("--mistakes", type=float, default=0.05, help="share of wrong answers")
    args = parser.parse_args()

    from flask_migrate import upgrade

    from backend.app import create_app
    from backend.extensions import db
    from backend.reference.services import load_reference_data

    logging.disable(logging.INFO)  # the template's migration log
    workdir = Path(tempfile.mkdtemp(prefix="bench-dedup-quality-"))
    template = workdir / "template.db"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{template}", "TESTING": True})
    with app.app_context():
        upgrade()
        load_reference_data(db.session())
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    try:
        print(
            f"{'configuration':<40} {'P':>5} {'R':>5} {'F1':>5} {'bin P':>5} {'bin R':>5}"
            f" {'bin F1':>11} {'vs base':>7} {'hinted':>6}"
        )
        base = None
        for config in CONFIGS:
            rows = [
                run(config, seed, template, workdir, args.mistakes) for seed in range(args.seeds)
            ]
            p = statistics.fmean(x["p"] for x in rows)
            r = statistics.fmean(x["r"] for x in rows)
            bin_p = statistics.fmean(x["bin_p"] for x in rows)
            bin_r = statistics.fmean(x["bin_r"] for x in rows)
            bin_f1s = [_f1(x["bin_p"], x["bin_r"]) for x in rows]
            bin_f1 = statistics.fmean(bin_f1s)
            # Standard error of the mean over the synthetic days: differences of a few of them
            # between rows are noise.
            se = statistics.stdev(bin_f1s) / math.sqrt(len(rows)) if len(rows) > 1 else 0.0
            f1 = _f1(p, r)
            base = base or f1
            hinted = sum(x["hints"] for x in rows) / sum(x["reports"] for x in rows)
            print(
                f"{config.name:<40} {p:5.3f} {r:5.3f} {f1:5.3f} {bin_p:5.3f} {bin_r:5.3f}"
                f" {bin_f1:5.3f}±{se:5.3f} {f1 / base:7.3f} {hinted:6.0%}",
                flush=True,
            )
        reports = sum(x["reports"] for x in rows) / len(rows)
        objects = sum(x["objects"] for x in rows) / len(rows)
        print(
            f"per synthetic day: {reports:.0f} reports of {objects:.0f} objects; "
            f"{args.seeds} days per row, {args.mistakes:.0%} of answers wrong"
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

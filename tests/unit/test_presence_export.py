from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta

from backend.localtime import LOCAL_TZ
from backend.presence.export import (
    CSV_COLUMNS,
    daily_log_csv,
    daily_log_json,
    summary_json,
)
from backend.presence.log import daily_log, summary
from backend.presence.values import FiledItem, PresenceEvent
from backend.spreadsheet import csv_bytes

AUTUMN = date(2026, 10, 25)  # 25 hours: 02:00-03:00 happens twice


def t(hh: int, mm: int, fold: int = 0, day: date = AUTUMN) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=LOCAL_TZ, fold=fold)


EVENTS = [
    PresenceEvent("w-åsa", "1", "shift_start", t(1, 0), "hotorget"),
    PresenceEvent("w-åsa", "2", "ping", t(2, 30, fold=0), None),
    PresenceEvent("w-åsa", "3", "ping", t(2, 30, fold=1), "sergels-torg"),
    PresenceEvent("w-åsa", "4", "shift_end", t(4, 0)),
    PresenceEvent("w-örjan", "5", "shift_start", t(21, 0), "kungstradgarden"),
    PresenceEvent("w-örjan", "6", "ping", t(21, 20, fold=0), "kungstradgarden"),  # no end
]
FILED = [
    FiledItem("w-åsa", "r1", "report", t(3, 10), "sergels-torg"),
    FiledItem("w-åsa", "c1", "contact", t(3, 20), "sergels-torg"),
]
NAMES = {"w-åsa": "Åsa Öberg", "w-örjan": "Örjan Älv"}
ZONES = {
    "hotorget": "Hötorget",
    "sergels-torg": "Sergels torg",
    "kungstradgarden": "Kungsträdgården",
}


def test_csv_matches_the_json():
    log = daily_log(EVENTS, FILED, AUTUMN)
    body = daily_log_json(log)
    text = csv_bytes(daily_log_csv(log, worker_names=NAMES, zone_names=ZONES)).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert tuple(rows[0].keys()) == CSV_COLUMNS
    expected = [
        {
            "date": body["date"],
            "worker_id": worker["worker_id"],
            "worker": NAMES[worker["worker_id"]],
            "zone": interval["zone"] or "",
            "zone_name": ZONES.get(interval["zone"], ""),
            "start": interval["start"],
            "end": interval["end"],
            "minutes": f"{interval['minutes']:.2f}",
            "inferred": str(interval["inferred"]).lower(),
        }
        for worker in body["workers"]
        for interval in worker["intervals"]
    ]
    assert rows == expected
    # What a reader of the spreadsheet sees, with the two 02:30s told apart by their offsets.
    assert [(r["worker"], r["zone_name"], r["start"], r["end"], r["minutes"]) for r in rows] == [
        ("Åsa Öberg", "Hötorget", "2026-10-25T01:00:00+02:00", "2026-10-25T02:30:00+02:00",
         "90.00"),
        ("Åsa Öberg", "", "2026-10-25T02:30:00+02:00", "2026-10-25T02:30:00+01:00", "60.00"),
        ("Åsa Öberg", "Sergels torg", "2026-10-25T02:30:00+01:00", "2026-10-25T04:00:00+01:00",
         "90.00"),
        ("Örjan Älv", "Kungsträdgården", "2026-10-25T21:00:00+01:00", "2026-10-25T21:35:00+01:00",
         "35.00"),
    ]  # fmt: skip
    assert [r["inferred"] for r in rows] == ["false", "false", "false", "true"]
    per_worker = {
        w["worker_id"]: sum(float(r["minutes"]) for r in rows if r["worker_id"] == w["worker_id"])
        for w in body["workers"]
    }
    assert per_worker == {w["worker_id"]: w["minutes"] for w in body["workers"]}


def test_json_is_plain_and_keeps_contacts_to_counts_unless_asked():
    log = daily_log(EVENTS, FILED, AUTUMN)
    body = daily_log_json(log)
    json.dumps(body)  # nothing but JSON values
    asa = body["workers"][0]
    assert asa["filed"] == {"reports": 1, "contacts": 1}
    assert asa["reports"] == [
        {"id": "r1", "at": "2026-10-25T03:10:00+01:00", "zone": "sergels-torg"}
    ]
    assert "contacts" not in asa
    assert "c1" not in json.dumps(body)
    assert daily_log_json(log, include_contacts=True)["workers"][0]["contacts"][0]["id"] == "c1"
    assert asa["zones"] == [
        {"zone": "hotorget", "seconds": 5400, "minutes": 90.0},
        {"zone": None, "seconds": 3600, "minutes": 60.0},
        {"zone": "sergels-torg", "seconds": 5400, "minutes": 90.0},
    ]
    assert (asa["first_seen"], asa["last_seen"]) == (
        "2026-10-25T01:00:00+02:00",
        "2026-10-25T04:00:00+01:00",
    )
    assert len(body["coverage"]) == 25
    assert body["policy"] == {"shift_grace_minutes": 15, "max_shift_hours": 13}


def test_summary_json_totals():
    nxt = AUTUMN + timedelta(days=1)
    body = summary_json(summary(EVENTS, FILED, AUTUMN, nxt))
    assert [d["date"] for d in body["days"]] == ["2026-10-25", "2026-10-26"]
    assert body["days"][1] == {"date": "2026-10-26", "zones": [], "workers": 0,
                               "filed": {"reports": 0, "contacts": 0}}  # fmt: skip
    assert body["workers"] == 2
    assert body["filed"] == {"reports": 1, "contacts": 1}
    assert sum(z["seconds"] for z in body["zones"]) == 5400 + 3600 + 5400 + 35 * 60


def test_csv_of_an_empty_day_is_just_the_header():
    text = daily_log_csv(daily_log([], [], AUTUMN))
    assert text == ",".join(CSV_COLUMNS) + "\r\n"

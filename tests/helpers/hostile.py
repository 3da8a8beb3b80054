"""A phone pushing full batches of reports at the poles beside a phone pushing one report at a
time: shared by the behaviour test and the benchmark."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.helpers.sync_items import batch, report

POLES = ({"lat": 90.0, "lon": 0.0}, {"lat": 89.999, "lon": 0.0}, {"lat": -90.0, "lon": 0.0})
WORLD = "-90,-180,90,180"
"""SERVICE_AREA that lets the pole reports in: the cell bound then has to hold on its own."""


def pole_batch(size: int = 200) -> dict[str, Any]:
    return batch([report(location={**POLES[n % 3], "accuracy_m": 5}) for n in range(size)])


def ordinary_batch(size: int = 200) -> dict[str, Any]:
    """The same size of batch from a phone on its round (the baseline load)."""
    return batch([report() for _ in range(size)])


def push(url: str, token: str, body: dict[str, Any]) -> tuple[int, dict[str, Any], float]:
    request = urllib.request.Request(
        f"{url}/api/v1/sync/push",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:
            status, payload = answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        status, payload = error.code, json.loads(error.read() or b"{}")
    return status, payload, time.perf_counter() - started


@dataclass
class Attack:
    """Batches (pole ones unless ``make`` says otherwise) pushed in a loop until stopped."""

    url: str
    token: str
    threads: int = 1
    make: Callable[[], dict[str, Any]] = pole_batch
    answers: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)

    def _loop(self) -> None:
        while not self._stop.is_set():
            status, payload, _ = push(self.url, self.token, self.make())
            self.answers.append((status, payload))

    def __enter__(self) -> Attack:
        self._workers = [threading.Thread(target=self._loop) for _ in range(self.threads)]
        for worker in self._workers:
            worker.start()
        while not self.answers:  # the first pole batch is in before the other phone starts
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(180)


def one_report_pushes(url: str, token: str, n: int) -> list[tuple[int, dict[str, Any], float]]:
    """``n`` pushes of one report each at Sergels Torg, one after another."""
    return [push(url, token, batch([report()])) for _ in range(n)]

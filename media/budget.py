"""A CPU-time budget for checking one photo before it is decoded."""

from __future__ import annotations

import time

from media.errors import MediaError

CHECK_SECONDS = 1.0
"""CPU seconds the structural check of one photo may take. A 25 MiB JPEG takes ~30 ms (its
image data is searched for markers in C); the budget is a bound on what a file built to be
slow to parse could cost, 30x what the largest real file needs. CPU time, not wall time, so a
busy machine never turns a slow clock into a refused photo."""


class Budget:
    def __init__(self, seconds: float = CHECK_SECONDS) -> None:
        self.seconds = seconds
        self._until = time.thread_time() + seconds

    def check(self) -> None:
        """Raise 422 ``photo_too_complex`` once the budget is spent."""
        if time.thread_time() > self._until:
            raise MediaError(
                "photo_too_complex",
                f"Checking this photo took longer than {self.seconds:g} s of CPU time; "
                "its structure is not that of a camera photo.",
                status=422,
            )

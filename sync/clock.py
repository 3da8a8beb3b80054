"""A device's clock against the server's: the skew a batch shows (server time minus the
phone's ``sent_at``), whether it is corrected, and the policy that decides. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class ClockPolicy:
    """When a device clock is corrected, and which capture times are implausible."""

    correction_threshold_s: float
    max_future_s: float
    max_age_days: int


@dataclass(frozen=True)
class Clock:
    """The batch's clock facts: server time, the device's skew and whether it is corrected."""

    server_time: datetime
    skew_s: float
    corrected: bool

    def correct(self, device_time: datetime) -> datetime:
        return device_time + timedelta(seconds=self.skew_s) if self.corrected else device_time


def estimate_clock(server_time: datetime, sent_at: datetime, policy: ClockPolicy) -> Clock:
    """Skew = server time minus the device's ``sent_at``; corrected only past the threshold.

    Below the threshold the difference cannot be told apart from the time the batch spent in
    transit, so correcting would move honest capture times.
    """
    skew = (server_time - sent_at).total_seconds()
    return Clock(server_time, skew, abs(skew) > policy.correction_threshold_s)

"""The city's time zone, the one definition: days, deadlines, weeks and nightly runs are
Stockholm wall-clock time (summer and winter), while every stored timestamp is UTC."""

from __future__ import annotations

from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Europe/Stockholm")

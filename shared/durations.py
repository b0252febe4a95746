"""Durations as people write them: ISO 8601 (`PT4H`, `P1DT12H`), seconds, or `2h`.

Leases are given this way in zPod requests, triggers and the CLI; the API
answers with ISO 8601 again.
"""

from __future__ import annotations

import re
from datetime import timedelta

ISO = re.compile(r"^P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
                 r"(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$")
SHORT = re.compile(r"^(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>[smhdw])$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
ISO_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(value) -> timedelta:
    """A positive timedelta from `value`; ValueError says what is accepted."""
    seconds = _seconds(value)
    if seconds <= 0:
        raise ValueError("a duration must be longer than zero")
    return timedelta(seconds=seconds)


def _seconds(value) -> float:
    if isinstance(value, bool):
        raise ValueError("not a duration")
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    short = SHORT.match(text.lower())
    if short:
        return float(short["n"]) * UNIT_SECONDS[short["unit"]]
    iso = ISO.match(text.upper())
    if iso and text.upper() not in ("P", "PT") and not text.upper().endswith("T"):
        return sum(float(iso[k] or 0) * n for k, n in ISO_UNITS.items())
    raise ValueError(f"'{text}' is not a duration: use ISO 8601 (PT4H, P1D), "
                     f"seconds, or a number with s, m, h, d or w (2h)")


def format_duration(delta: timedelta) -> str:
    """ISO 8601, days and time (`P1DT2H`, `PT30M`)."""
    total = int(delta.total_seconds())
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    time = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)
    text = "P" + (f"{days}D" if days else "")
    if time:
        text += "T" + time
    return text if text != "P" else "PT0S"

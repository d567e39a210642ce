"""Turning what a reader returns for a cell into the text a person typed."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

# Excel shows 15 significant digits; anything past that is binary float noise
# (274.65999999999997 is the 274.66 a person typed).
_SIGNIFICANT_DIGITS = 15


def number_text(value: float) -> str:
    """``number_text(274.65999999999997) == "274.66"``; ``number_text(12.0) == "12"``."""
    if math.isnan(value) or math.isinf(value):
        return str(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = format(value, f".{_SIGNIFICANT_DIGITS}g")
    if "e" in text:
        mantissa, exponent = text.split("e")
        if "." in mantissa:
            mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{mantissa}E{int(exponent):+d}"
    return text


def to_text(value: object) -> str:
    """The text of one cell value: dates ISO, numbers without noise, TRUE/FALSE."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return number_text(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(timespec="seconds" if not value.microsecond else "auto")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat(timespec="seconds" if not value.microsecond else "auto")
    if isinstance(value, dt.timedelta):
        return str(value)
    return str(value)


def _datetime_text(value: dt.datetime) -> str:
    if not (value.hour or value.minute or value.second or value.microsecond):
        return value.date().isoformat()
    return value.isoformat(timespec="seconds" if not value.microsecond else "auto")


# one dictionary lookup per cell instead of an isinstance chain: reading 1M rows calls this 14M times
CONVERTERS: dict[type, Callable[[Any], str]] = {
    str: str,
    float: number_text,
    int: str,
    bool: lambda value: "TRUE" if value else "FALSE",
    dt.date: dt.date.isoformat,
    dt.datetime: _datetime_text,
    type(None): lambda _: "",
}

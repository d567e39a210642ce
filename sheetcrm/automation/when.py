"""``schedule = "every day at 02:00"``: the ``schedule`` package's vocabulary, as text in the config.

Accepted (case and extra spaces do not matter):

- ``every minute``, ``every N minutes``, ``every hour``, ``every N hours``;
- ``every day at HH:MM``, ``every N days at HH:MM``;
- ``every monday at HH:MM`` (any weekday, or ``every weekday at HH:MM`` for Monday to Friday).

:func:`parse_schedule` checks the text (a config error names it); :meth:`When.add_to` puts it
on a ``schedule.Scheduler``, at the job's time zone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["WEEKDAYS", "When", "parse_schedule"]

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_UNITS = {"minute": "minutes", "minutes": "minutes", "hour": "hours", "hours": "hours", "day": "days", "days": "days"}
_PATTERN = re.compile(
    r"^every(?:\s+(?P<n>\d+))?\s+(?P<unit>minutes?|hours?|days?|weekday|"
    + "|".join(WEEKDAYS)
    + r")(?:\s+at\s+(?P<at>\d{1,2}:\d{2}))?$"
)


@dataclass(frozen=True)
class When:
    """A parsed schedule: every ``interval`` ``unit`` (minutes, hours, days, or a weekday), at ``at``."""

    text: str
    interval: int
    unit: str  # minutes, hours, days, a weekday, or "weekday" (Monday to Friday)
    at: str | None = None

    def add_to(self, scheduler: Any, task: Callable[[], Any], *, timezone: str | None = None) -> list[Any]:
        """Put ``task`` on a ``schedule.Scheduler``; returns its ``schedule.Job`` objects."""
        days = WEEKDAYS[:5] if self.unit == "weekday" else (self.unit,) if self.unit in WEEKDAYS else ()
        if days:
            jobs = []
            for day in days:
                job = getattr(scheduler.every(), day)
                jobs.append((job.at(self.at, timezone) if self.at else job).do(task))
            return jobs
        job = getattr(scheduler.every(self.interval), self.unit)
        if self.at:
            job = job.at(self.at, timezone)
        return [job.do(task)]


def parse_schedule(text: str) -> When:
    """Read a schedule; ValueError with the accepted forms when it is not one of them."""
    words = " ".join(text.strip().lower().split())
    match = _PATTERN.match(words)
    problem = None
    if match is None:
        problem = "not a schedule sheetcrm reads"
    else:
        n = int(match["n"] or 1)
        unit, at = match["unit"], match["at"]
        if unit in WEEKDAYS or unit == "weekday":
            if match["n"]:
                problem = "a weekday schedule takes no number (every monday at 08:00)"
            elif not at:
                problem = "a weekday schedule needs a time (every monday at 08:00)"
        elif at and _UNITS[unit] != "days":
            problem = "only days and weekdays take a time (every day at 02:00)"
        if n < 1:
            problem = "the number must be at least 1"
        if at:
            hour, minute = (int(part) for part in at.split(":"))
            if hour > 23 or minute > 59:
                problem = f"{at} is not a time of day"
    if problem or match is None:
        raise ValueError(
            f"{text!r}: {problem}; write e.g. 'every 15 minutes', 'every 2 hours', 'every day at 02:00' "
            "or 'every monday at 08:30'"
        )
    unit = match["unit"]
    name = unit if unit in WEEKDAYS or unit == "weekday" else _UNITS[unit]
    at = match["at"]
    return When(text, int(match["n"] or 1), name, f"{int(at.split(':')[0]):02d}:{at.split(':')[1]}" if at else None)

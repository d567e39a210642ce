"""The run log: every applied ChangeSet, with before and after values, so it can be undone.

Kept as JSON lines in ``.sheetcrm/runs.jsonl`` beside the workbook. It holds cell values
(that is what makes undo exact), so it is created readable by its owner only and is
never printed to the operational log.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from sheetcrm.errors import InputError
from sheetcrm.sync.changeset import ChangeSet
from sheetcrm.sync.safewrite import append_durably, json_lines

RUNS_FILE = "runs.jsonl"


def new_run_id(now: dt.datetime | None = None) -> str:
    """A sortable, unique run id: ``20261122T143012-3fa9``."""
    moment = now or dt.datetime.now(dt.UTC)
    return f"{moment:%Y%m%dT%H%M%S}-{secrets.token_hex(2)}"


@dataclass(frozen=True)
class RunRecord:
    """One applied run."""

    run_id: str
    time: str
    command: str
    source: str
    sheets: list[str]
    counts: dict[str, int]
    changes: dict[str, Any] = field(repr=False)
    backup: str | None = None
    undoes: str | None = None

    @property
    def changeset(self) -> ChangeSet:
        """The resolved ChangeSet this run applied."""
        return ChangeSet.from_dict(self.changes)

    def summary(self) -> dict[str, Any]:
        """The record without cell values (what ``history`` shows)."""
        data = self._as_dict()
        data.pop("changes")
        return data

    def _as_dict(self) -> dict[str, Any]:
        # shallow: asdict would deep-copy the changes, a second ChangeSet's worth of work
        return {f.name: getattr(self, f.name) for f in fields(self)}


class RunLog:
    """Append-only log of applied runs in a state folder."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.path = state_dir / RUNS_FILE

    def append(self, record: RunRecord) -> None:
        """Add a record durably (fsync) before the caller reports success."""
        append_durably(self.path, json.dumps(record._as_dict(), ensure_ascii=False) + "\n")

    def __iter__(self) -> Iterator[RunRecord]:
        for data in json_lines(self.path, what="run record"):
            try:
                yield RunRecord(**data)
            except TypeError as error:
                raise InputError(f"{self.path}: unreadable run record ({error})") from None

    def records(self) -> list[RunRecord]:
        """All runs, oldest first."""
        return list(self)

    def get(self, run_id: str) -> RunRecord:
        """The run with this id (or a unique prefix of it)."""
        matches = [record for record in self if record.run_id.startswith(run_id)]
        if len(matches) != 1:
            known = ", ".join(r.run_id for r in self.records()[-5:]) or "none"
            what = "no run" if not matches else f"{len(matches)} runs"
            raise InputError(
                f"{what} with id {run_id!r} in {self.path}",
                hint=f"`sheetcrm history` lists the runs (latest: {known})",
            )
        return matches[0]

    def undone_by(self, run_id: str) -> str | None:
        """The id of the run that undid ``run_id``, if any."""
        return next((r.run_id for r in self if r.undoes == run_id), None)

"""What every backend offers: read sheets in one batch, apply a ChangeSet as one batch.

Backends know files and services; they never decide what is valid. The Workbook facade
(:mod:`sheetcrm.sync.workbook`) adds locking, the run log and undo on top of any backend,
so a Google Sheets backend fits beside the xlsx, csv and in-memory ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sheetcrm.sync.changeset import ChangeSet
from sheetcrm.sync.safewrite import FileSnapshot, state_dir_for
from sheetcrm.sync.table import RawSheet


@dataclass(frozen=True)
class ApplyOutcome:
    """What a backend did: the resolved ChangeSet, and the backup it took, if any."""

    changes: ChangeSet
    backup: Path | None = None
    written_to: str | None = None


class Backend(Protocol):
    """The seam between sheetcrm and a storage: an xlsx file, a CSV file, memory, Google Sheets."""

    @property
    def source(self) -> str:
        """A display name for messages: the path or the URL."""
        ...

    @property
    def state_dir(self) -> Path | None:
        """Where sheetcrm keeps the run log, backups and lock for this workbook (None: nowhere)."""
        ...

    def sheet_names(self) -> list[str]:
        """The workbook's sheet names, in order."""
        ...

    def read_sheets(self, names: Sequence[str]) -> dict[str, RawSheet]:
        """Read the named sheets as text in one batch; raises SheetNotFound for a missing one."""
        ...

    def apply(self, changes: ChangeSet, *, out: Path | None = None) -> ApplyOutcome:
        """Apply a checked ChangeSet as one unit, or refuse (WriteRefused) leaving everything as it was."""
        ...


class FileBackend:
    """What the file backends share: the path, the backups kept, and what was seen at read time."""

    def __init__(self, path: str | Path, *, backups: int = 10) -> None:
        self.path = Path(path)
        self.backups = backups
        self._seen: FileSnapshot | None = None

    @property
    def source(self) -> str:
        return str(self.path)

    @property
    def state_dir(self) -> Path:
        return state_dir_for(self.path)

"""The CSV backend: one sheet, values only; for imports, exports and simple lists.

Reads UTF-8, UTF-8 with BOM and GB18030 (see :mod:`sheetcrm.sync.csvfile`). Writes go
through the same safe path as workbooks (not open elsewhere, unchanged since read,
backup, atomic replace) and guard text against formula injection: ``=1+1`` is written
as ``'=1+1`` and read back as ``=1+1``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sheetcrm.errors import InvalidChange, WorkbookUnreadable
from sheetcrm.sync.backend import ApplyOutcome, FileBackend
from sheetcrm.sync.changeset import AppendRows, CellEdit, ChangeSet, DeleteRows, InsertRows
from sheetcrm.sync.csvfile import guard_cell, read_csv, write_csv
from sheetcrm.sync.memory import GridBook, GridSheet
from sheetcrm.sync.safewrite import (
    check_not_open,
    check_unchanged,
    snapshot,
    sweep_temp_files,
    take_backup,
)
from sheetcrm.sync.table import RawSheet

_CSV_CHANGES = (CellEdit, AppendRows, DeleteRows, InsertRows)


def _unguard(cell: str) -> str:
    if cell.startswith("'") and guard_cell(cell[1:]) == cell:
        return cell[1:]
    return cell


class CsvBackend(FileBackend):
    """A CSV file seen as a workbook with one sheet, named after the file (``customers.csv`` → ``customers``)."""

    @property
    def sheet(self) -> str:
        return self.path.stem

    def sheet_names(self) -> list[str]:
        return [self.sheet]

    def _read(self) -> RawSheet:
        if not self.path.is_file():
            raise WorkbookUnreadable(self.path, "no such file" if not self.path.exists() else "not a file")
        seen = snapshot(self.path)
        raw = read_csv(self.path)
        raw.name = self.sheet
        # a leading ' is the injection guard sheetcrm (and Excel) put before text that
        # would run as a formula; the value is what follows it, so reads and writes agree
        raw.rows = [[_unguard(cell) for cell in row] for row in raw.rows]
        if self._seen is None:
            self._seen = seen
        return raw

    def read_sheets(self, names: Sequence[str]) -> dict[str, RawSheet]:
        from sheetcrm.errors import SheetNotFound

        for name in names:
            if name != self.sheet:
                raise SheetNotFound(self.path, name, [self.sheet])
        return {name: self._read() for name in names}

    def apply(self, changes: ChangeSet, *, out: Path | None = None) -> ApplyOutcome:
        unsupported = sorted({c.kind for c in changes if not isinstance(c, _CSV_CHANGES)})
        if unsupported:
            raise InvalidChange(
                f"{self.path}: a CSV file cannot hold {', '.join(unsupported)} changes",
                hint="use an .xlsx workbook for notes, fills, formats, dropdowns and extra sheets",
            )
        target = out if out is not None else self.path
        check_not_open(self.path)
        if self._seen is not None:
            check_unchanged(self.path, self._seen)
        raw = self._read()
        book = GridBook([GridSheet(self.sheet, [list(r) for r in raw.rows])])
        resolved = book.apply(changes, self.source)
        sweep_temp_files(target)
        backup = take_backup(self.path, keep=self.backups, tag="pre") if target == self.path else None
        write_csv(target, book.sheets[self.sheet].rows)
        if target == self.path:
            self._seen = snapshot(self.path)
        return ApplyOutcome(resolved, backup, str(target))

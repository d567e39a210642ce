"""An in-memory workbook: the test seam and the engine of ``--dry-run`` previews.

It applies a ChangeSet with exactly the semantics every backend must have (see
:mod:`sheetcrm.sync.changeset`), which makes it the reference the other backends are
tested against. The CSV backend reuses it: load, apply here, write the file back.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from sheetcrm.errors import CellConflict, InvalidChange, SheetNotFound
from sheetcrm.sync.a1 import cell_address, column_index, column_letter, qualified
from sheetcrm.sync.backend import ApplyOutcome
from sheetcrm.sync.changeset import (
    ANNOTATION_FILLS,
    AppendRows,
    CellEdit,
    CellValue,
    Change,
    ChangeSet,
    DeleteRows,
    DeleteSheet,
    InsertRows,
    ReplaceSheet,
    RowValues,
    SetColumnFormat,
    SetDropdown,
    SetFill,
    SetNote,
    SetNumberFormat,
    SetValidation,
    ValidationRule,
    format_runs,
)
from sheetcrm.sync.table import RawSheet
from sheetcrm.sync.values import to_text

Cell = tuple[int, int]  # (row, column), both 1-based


@dataclass
class GridSheet:
    """One sheet held in memory: values by row, plus notes, fills, formats, dropdowns and validations.

    ``column_formats`` holds each column's default number format (by column index);
    ``validations`` the value rules (dates, numbers) by range, as ``dropdowns`` the lists.
    """

    name: str
    rows: list[list[CellValue]] = field(default_factory=list)
    notes: dict[Cell, str] = field(default_factory=dict)
    fills: dict[Cell, str] = field(default_factory=dict)
    formats: dict[Cell, str] = field(default_factory=dict)
    dropdowns: dict[str, tuple[tuple[str, ...] | None, str | None]] = field(default_factory=dict)
    formulas: set[Cell] = field(default_factory=set)
    column_formats: dict[int, str] = field(default_factory=dict)
    our_notes: set[Cell] = field(default_factory=set)  # notes sheetcrm wrote (a file keeps their author)
    validations: dict[str, ValidationRule] = field(default_factory=dict)
    hidden: bool = False

    def get(self, row: int, column: int) -> CellValue:
        if row - 1 < len(self.rows) and column - 1 < len(self.rows[row - 1]):
            return self.rows[row - 1][column - 1]
        return None

    def set(self, row: int, column: int, value: CellValue) -> None:
        while len(self.rows) < row:
            self.rows.append([])
        line = self.rows[row - 1]
        while len(line) < column:
            line.append(None)
        line[column - 1] = value

    @property
    def last_row(self) -> int:
        """The last row holding any value (0 when empty)."""
        for index in range(len(self.rows), 0, -1):
            if any(to_text(v) != "" for v in self.rows[index - 1]):
                return index
        return 0

    def raw(self) -> RawSheet:
        """The sheet as text, the way a backend reads it."""
        formulas = frozenset(cell_address(c, r) for r, c in self.formulas)
        rows = [[to_text(v) for v in row] for row in self.rows[: self.last_row]]
        for row in rows:
            while row and row[-1] == "":
                row.pop()  # an emptied cell is no cell, as in a file
        return RawSheet(self.name, rows, formulas=formulas)

    def _shift(self, at: int, by: int) -> None:
        """Move notes, fills, formats and formulas of rows >= at by ``by`` rows."""
        for store in (self.notes, self.fills, self.formats):
            moved = {(r + by if r >= at else r, c): v for (r, c), v in store.items() if not (by < 0 and r == at)}
            store.clear()
            store.update(moved)
        self.formulas = {(r + by if r >= at else r, c) for r, c in self.formulas if not (by < 0 and r == at)}
        self.our_notes = {(r + by if r >= at else r, c) for r, c in self.our_notes if not (by < 0 and r == at)}

    def attributes(self, row: int) -> dict[str, dict[str, str]]:
        """The notes, fills and formats of one row, keyed by column letter."""
        found: dict[str, dict[str, str]] = {}
        for key, store in (("note", self.notes), ("fill", self.fills), ("format", self.formats)):
            for (r, c), value in store.items():
                if r == row:
                    found.setdefault(column_letter(c), {})[key] = value
        return found

    def set_attributes(self, row: int, attributes: Mapping[str, Mapping[str, str]]) -> None:
        for letter, values in attributes.items():
            for key, store in (("note", self.notes), ("fill", self.fills), ("format", self.formats)):
                if key in values:
                    store[(row, column_index(letter))] = values[key]

    def delete_row(self, row: int) -> None:
        if row - 1 < len(self.rows):
            del self.rows[row - 1]
        self._shift(row, -1)

    def insert_row(self, row: int, values: RowValues) -> None:
        while len(self.rows) < row - 1:
            self.rows.append([])
        self.rows.insert(row - 1, [])
        self._shift(row, +1)
        for letter, value in values.items():
            self.set(row, column_index(letter), value)


class GridBook:
    """Sheets in memory, applying ChangeSets with the reference semantics."""

    def __init__(self, sheets: Iterable[GridSheet] = ()) -> None:
        self.sheets: dict[str, GridSheet] = {sheet.name: sheet for sheet in sheets}

    def sheet(self, name: str, source: str) -> GridSheet:
        try:
            return self.sheets[name]
        except KeyError:
            raise SheetNotFound(source, name, list(self.sheets)) from None

    def conflicts(self, changes: ChangeSet, source: str) -> list[str]:
        """Cells whose current text differs from what the ChangeSet saw (or that hold formulas)."""
        found: list[str] = []
        for change in changes:
            if isinstance(change, CellEdit):
                sheet = self.sheet(change.sheet, source)
                position = (change.row, column_index(change.column))
                if position in sheet.formulas or to_text(sheet.get(*position)) != change.old:
                    found.append(qualified(change.sheet, change.cell))
            elif isinstance(change, DeleteRows):
                sheet = self.sheet(change.sheet, source)
                for row, values in zip(change.rows, change.values, strict=True):
                    for letter, seen in values.items():
                        if to_text(sheet.get(row, column_index(letter))) != seen:
                            found.append(qualified(change.sheet, cell_address(letter, row)))
        return found

    def apply(self, changes: ChangeSet, source: str) -> ChangeSet:
        """Apply in place; return the resolved ChangeSet. Check conflicts first."""
        changes.check()
        conflicts = self.conflicts(changes, source)
        if conflicts:
            raise CellConflict(source, conflicts)
        resolved: list[Change] = []
        ordered = _in_apply_order(changes)
        for change in ordered:
            resolved.append(self._apply_one(change, source))
        # keep the caller's order in the resolved ChangeSet: inversion does not depend on it
        by_identity = {id(original): done for original, done in zip(ordered, resolved, strict=True)}
        return ChangeSet(changes.description, [by_identity[id(c)] for c in changes], resolved=True)

    def _apply_one(self, change: Change, source: str) -> Change:
        if isinstance(change, ReplaceSheet):
            previous = self.sheets.get(change.sheet)
            old = tuple(tuple(to_text(v) for v in row) for row in previous.rows) if previous else None
            if change.hidden and all(s.hidden for name, s in self.sheets.items() if name != change.sheet):
                raise InvalidChange(f"{change.sheet}: hiding it would leave the workbook no visible sheet")
            self.sheets[change.sheet] = GridSheet(
                change.sheet, [list(row) for row in change.rows], hidden=change.hidden
            )
            return replace(change, old=old, old_hidden=previous.hidden if previous else False)
        if isinstance(change, DeleteSheet):
            sheet = self.sheet(change.sheet, source)
            del self.sheets[change.sheet]
            return replace(
                change, old=tuple(tuple(to_text(v) for v in row) for row in sheet.rows), old_hidden=sheet.hidden
            )
        sheet = self.sheet(change.sheet, source)
        if isinstance(change, CellEdit):
            sheet.set(change.row, column_index(change.column), change.new)
            return change
        if isinstance(change, SetNote | SetFill | SetNumberFormat):
            store = {SetNote: sheet.notes, SetFill: sheet.fills, SetNumberFormat: sheet.formats}[type(change)]
            position = (change.row, column_index(change.column))
            before = store.get(position)
            if isinstance(change, SetNote) and _someone_elses(change, before, position in sheet.our_notes):
                return replace(change, text=before, old=before)  # a person's note: left as it is
            if isinstance(change, SetFill) and _someone_elses(change, before, False):
                return replace(change, color=before, old=before)  # the team's colour: left as it is
            if isinstance(change, SetNote):
                sheet.our_notes.discard(position)
                if change.text is not None and change.ours_only:
                    sheet.our_notes.add(position)
            new = (
                change.text
                if isinstance(change, SetNote)
                else change.color
                if isinstance(change, SetFill)
                else change.format
            )
            if new is None or (isinstance(change, SetNumberFormat) and new == "General"):
                store.pop(position, None)
            else:
                store[position] = new
            return replace(change, old=before)
        if isinstance(change, SetColumnFormat):
            return _set_column_format(sheet, change)
        if isinstance(change, SetDropdown):
            old_dropdown = sheet.dropdowns.get(change.ref)
            if change.choices is None and change.source is None:
                sheet.dropdowns.pop(change.ref, None)
            else:
                sheet.dropdowns[change.ref] = (change.choices, change.source)
            return replace(change, old=old_dropdown)
        if isinstance(change, SetValidation):
            old_rule = sheet.validations.pop(change.ref, None)
            if change.rule is not None:
                sheet.validations[change.ref] = change.rule
            return replace(change, old=old_rule)
        if isinstance(change, DeleteRows):
            attributes = tuple(sheet.attributes(row) for row in change.rows)
            for row in sorted(change.rows, reverse=True):
                sheet.delete_row(row)
            return replace(change, attributes=attributes)
        if isinstance(change, InsertRows):
            for i, (row, values) in enumerate(zip(change.rows, change.values, strict=True)):
                sheet.insert_row(row, values)
                if change.attributes:
                    sheet.set_attributes(row, change.attributes[i])
            return change
        if isinstance(change, AppendRows):
            first = sheet.last_row + 1
            for offset, values in enumerate(change.rows):
                for letter, value in values.items():
                    column = column_index(letter)
                    sheet.set(first + offset, column, value)
                    _format_new_cell(sheet, first + offset, column)
            return replace(change, first_row=first)
        raise InvalidChange(f"unsupported change {change!r}")


def _format_new_cell(sheet: GridSheet, row: int, column: int) -> None:
    """An appended cell's format: its column's, else that of the data cell above (row 1 is a header)."""
    if (row, column) in sheet.formats:
        return
    format = sheet.column_formats.get(column) or (sheet.formats.get((row - 1, column)) if row > 2 else None)
    if format is not None:
        sheet.formats[(row, column)] = format


def _someone_elses(change: Change, before: str | None, ours: bool) -> bool:
    """Whether an ``ours_only`` note or fill would touch what a person made."""
    if before is None or not getattr(change, "ours_only", False):
        return False
    if isinstance(change, SetNote):
        return not ours
    return isinstance(change, SetFill) and before not in ANNOTATION_FILLS


def _set_column_format(sheet: GridSheet, change: SetColumnFormat) -> SetColumnFormat:
    """The reference semantics of :class:`SetColumnFormat`; every row of the grid has a cell."""
    column = column_index(change.column)
    old = sheet.column_formats.get(column, "General")
    if change.format == "General":
        sheet.column_formats.pop(column, None)
    else:
        sheet.column_formats[column] = change.format
    if change.cells is None:
        targets = [
            (row, change.format)
            for row in range(change.first_row, len(sheet.rows) + 1)
            if (row, column) not in sheet.formats
            and (row, column) not in sheet.formulas
            and isinstance(sheet.get(row, column), str | None)
        ]
    else:
        targets = [
            (row, format)
            for first, last, format in change.cells
            for row in range(first, min(last, len(sheet.rows)) + 1)
        ]
    previous: list[tuple[int, str | None]] = []
    for row, format in targets:
        previous.append((row, sheet.formats.get((row, column), "General")))
        if format == "General":
            sheet.formats.pop((row, column), None)
        else:
            sheet.formats[(row, column)] = format
    return replace(change, old=old, previous=_runs(previous))


def _runs(cells: list[tuple[int, str | None]]) -> tuple[tuple[int, int, str], ...]:
    """Runs of consecutive rows only: in memory every row between two changed ones exists."""
    with_breaks: list[tuple[int, str | None]] = []
    for row, format in cells:
        if with_breaks and with_breaks[-1][0] != row - 1:
            with_breaks.append((row - 1, None))
        with_breaks.append((row, format))
    return format_runs(with_breaks)


def _in_apply_order(changes: ChangeSet) -> list[Change]:
    """Cells first (numbered as read), then deletions, insertions, appends, whole sheets."""
    rank = {DeleteRows: 1, InsertRows: 2, AppendRows: 3, ReplaceSheet: 4, DeleteSheet: 4}
    return sorted(changes, key=lambda change: rank.get(type(change), 0))


class MemoryBackend:
    """A workbook that lives in memory, for tests, notebooks and dry runs.

    >>> backend = MemoryBackend({"Customers": [["customer_id", "name"], ["C-1", "Zhang Wei"]]})
    >>> workbook = Workbook(backend)
    """

    def __init__(
        self,
        sheets: Mapping[str, Sequence[Sequence[CellValue]]] | GridBook | None = None,
        *,
        name: str = "memory",
        state_dir: Path | None = None,
    ) -> None:
        if isinstance(sheets, GridBook):
            self.book = sheets
        else:
            self.book = GridBook(GridSheet(n, [list(r) for r in rows]) for n, rows in (sheets or {}).items())
        self._name = name
        self._state_dir = state_dir
        self.calls = {"read": 0, "apply": 0}

    @property
    def source(self) -> str:
        return self._name

    @property
    def state_dir(self) -> Path | None:
        return self._state_dir

    def sheet_names(self) -> list[str]:
        return list(self.book.sheets)

    def read_sheets(self, names: Sequence[str]) -> dict[str, RawSheet]:
        self.calls["read"] += 1
        return {name: self.book.sheet(name, self.source).raw() for name in names}

    def apply(self, changes: ChangeSet, *, out: Path | None = None) -> ApplyOutcome:
        self.calls["apply"] += 1
        if out is not None:
            raise InvalidChange("an in-memory workbook cannot be written to another file")
        # apply to a copy so that a failure half-way leaves the workbook as it was
        trial = copy.deepcopy(self.book)
        resolved = trial.apply(changes, self.source)
        self.book = trial
        return ApplyOutcome(resolved)

    def copy(self) -> MemoryBackend:
        """An independent copy (used to preview a ChangeSet without touching the original)."""
        return MemoryBackend(copy.deepcopy(self.book), name=self._name, state_dir=None)

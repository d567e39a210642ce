"""The .xlsx / .xlsm backend: fast reads with python-calamine, safe writes with openpyxl.

Reading never goes through openpyxl: calamine (Rust) reads values about 8x faster, and
formula cells are found by a streaming scan of the sheet XML. Writing loads the workbook
with openpyxl only after an inventory has shown that openpyxl can keep everything in it
(../shared/RELIABILITY.md row 1); otherwise it refuses, naming what would be lost.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from copy import copy
from pathlib import Path
from typing import Any

import openpyxl
import python_calamine
from openpyxl.cell.cell import Cell, MergedCell
from openpyxl.comments import Comment
from openpyxl.styles import PatternFill
from openpyxl.utils.cell import range_boundaries
from openpyxl.utils.exceptions import IllegalCharacterError
from openpyxl.workbook.workbook import Workbook as OpenpyxlWorkbook
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.dimensions import ColumnDimension
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.worksheet import Worksheet

from sheetcrm.errors import (
    CellConflict,
    ContentWouldBeLost,
    InvalidChange,
    SheetNotFound,
    WorkbookChanged,
    WorkbookUnreadable,
    WriteRefused,
)
from sheetcrm.sync.a1 import MAX_ROWS, cell_address, column_index, column_letter, qualified
from sheetcrm.sync.backend import ApplyOutcome, FileBackend
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
    SetColumnFormat,
    SetDropdown,
    SetFill,
    SetNote,
    SetNumberFormat,
    format_runs,
)
from sheetcrm.sync.preflight import XlsxInventory, inspect_xlsx, openpyxl_losses, scan_sheet
from sheetcrm.sync.safewrite import (
    check_not_open,
    check_unchanged,
    replace_atomically,
    snapshot,
    sweep_temp_files,
    take_backup,
)
from sheetcrm.sync.table import RawSheet
from sheetcrm.sync.values import CONVERTERS, to_text

MAX_CELL_TEXT = 32_767
NOTE_AUTHOR = "sheetcrm"
# The width Excel stores for a column of the default width (Calibri 11): a <col> written
# without one comes back from openpyxl 13 wide, so a new <col> always says its width.
DEFAULT_COLUMN_WIDTH = 9.140625


class XlsxBackend(FileBackend):
    """An .xlsx or .xlsm file on disk."""

    def __init__(self, path: str | Path, *, backups: int = 10) -> None:
        super().__init__(path, backups=backups)
        self._inventory: tuple[tuple[int, int], XlsxInventory] | None = None

    def inventory(self) -> XlsxInventory:
        """The workbook's parts and sheets, checked before any parser touches the file."""
        if not self.path.is_file():
            raise WorkbookUnreadable(self.path, "no such file" if not self.path.exists() else "not a file")
        key = _stat_key(self.path)
        if self._inventory is None or self._inventory[0] != key:
            self._inventory = (key, inspect_xlsx(self.path))
        return self._inventory[1]

    def sheet_names(self) -> list[str]:
        return self.inventory().sheet_names

    # -- reading ----------------------------------------------------------------------------

    def read_sheets(self, names: Sequence[str]) -> dict[str, RawSheet]:
        inventory = self.inventory()
        before = snapshot(self.path)
        # the scan refuses sparse-sheet bombs before calamine sizes a grid for them
        formulas = {name: scan_sheet(self.path, inventory.sheet(name)) for name in names}
        try:
            book = python_calamine.CalamineWorkbook.from_path(str(self.path))
        except Exception as error:  # calamine raises its own types, and OSError / ValueError
            raise WorkbookUnreadable(self.path, _reason(error)) from None
        try:
            if not set(inventory.sheet_names) <= set(book.sheet_names):
                raise WorkbookUnreadable(self.path, "the sheets the reader found differ from those workbook.xml lists")
            raw = {name: _read_sheet(book, name, formulas[name], self.path) for name in names}
        finally:
            book.close()
        if _stat_key(self.path) != (before.size, before.mtime_ns):
            raise WorkbookChanged(f"{self.path}: the workbook changed while it was being read", hint="run again")
        if self._seen is None:
            self._seen = before
        elif self._seen != before:
            # tables read earlier came from another version of the file
            raise WorkbookChanged(
                f"{self.path}: the workbook changed on disk between two reads", hint="open it again and re-run"
            )
        return raw

    # -- writing ----------------------------------------------------------------------------

    def apply(self, changes: ChangeSet, *, out: Path | None = None) -> ApplyOutcome:
        target = out if out is not None else self.path
        to_new_file = target.resolve() != self.path.resolve()
        check_not_open(self.path)
        if to_new_file:
            check_not_open(target)
        if self._seen is not None:
            check_unchanged(self.path, self._seen)
        seen = snapshot(self.path)
        inventory = self.inventory()
        if not to_new_file:
            losses = openpyxl_losses(self.path, inventory, rich_text=True)
            if losses:
                raise ContentWouldBeLost(self.path, losses)

        book = self._load()
        missing = [s for s in changes.sheets if s not in book.sheetnames and not _creates(changes, s)]
        if missing:
            raise SheetNotFound(self.path, missing[0], book.sheetnames)
        conflicts = _conflicts(book, changes)
        if conflicts:
            raise CellConflict(self.path, conflicts)
        resolved = _apply_changes(book, changes, self.path)

        sweep_temp_files(target)
        backup = take_backup(self.path, keep=self.backups, tag="pre") if not to_new_file else None

        def write(temp: Path) -> None:
            book.save(temp)

        def verify(temp: Path) -> None:
            _verify_written(temp, changes, expected_sheets=book.sheetnames)

        def unchanged() -> None:
            check_not_open(self.path)
            check_unchanged(self.path, seen)

        replace_atomically(target, write, verify=verify, before_replace=None if to_new_file else unchanged)
        if not to_new_file:
            self._seen = snapshot(self.path)
            self._inventory = None
        return ApplyOutcome(resolved, backup, str(target))

    def _load(self) -> OpenpyxlWorkbook:
        try:
            return openpyxl.load_workbook(
                self.path, keep_vba=self.path.suffix.lower() == ".xlsm", rich_text=True, keep_links=True
            )
        except Exception as error:  # openpyxl raises a zoo of types on damaged parts
            raise WorkbookUnreadable(self.path, _reason(error)) from None


# -- reading helpers --------------------------------------------------------------------------


def _stat_key(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def _reason(error: Exception) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text[:200]


def _read_sheet(book: Any, name: str, formulas: frozenset[str], path: Path) -> RawSheet:
    try:
        sheet = book.get_sheet_by_name(name)
        start_row, start_column = sheet.start or (0, 0)
        end_row = sheet.end[0] if sheet.end else -1
        rows: list[list[str]] = []
        convert = CONVERTERS
        for values in sheet.iter_rows():
            rows.append([value if type(value) is str else convert.get(type(value), to_text)(value) for value in values])
    except Exception as error:
        raise WorkbookUnreadable(path, f"sheet {name!r}: {_reason(error)}") from None
    # calamine yields rows from row 1 but columns from the first used column
    first_row = 1 if len(rows) == end_row + 1 else start_row + 1
    for line in rows:
        for value in line:
            if len(value) > MAX_CELL_TEXT:
                raise WorkbookUnreadable(
                    path, f"sheet {name!r} holds a cell longer than Excel's {MAX_CELL_TEXT} characters"
                )
    return RawSheet(name, rows, first_row=first_row, first_column=start_column + 1, formulas=formulas)


# -- writing helpers --------------------------------------------------------------------------


def _creates(changes: ChangeSet, sheet: str) -> bool:
    return any(isinstance(c, ReplaceSheet) and c.sheet == sheet for c in changes)


def _cell_text(cell: Cell | MergedCell) -> str:
    return to_text(_plain(cell.value))


def _plain(value: Any) -> Any:
    # CellRichText (rich_text=True) stands for its plain text
    return str(value) if type(value).__name__ == "CellRichText" else value


def _conflicts(book: OpenpyxlWorkbook, changes: ChangeSet) -> list[str]:
    found: list[str] = []
    for change in changes:
        if isinstance(change, CellEdit) and change.sheet in book.sheetnames:
            cell = book[change.sheet].cell(change.row, column_index(change.column))
            if cell.data_type == "f" or _cell_text(cell) != change.old:
                found.append(qualified(change.sheet, change.cell))
        elif isinstance(change, DeleteRows) and change.sheet in book.sheetnames:
            sheet = book[change.sheet]
            for row, values in zip(change.rows, change.values, strict=True):
                for letter, seen in values.items():
                    if _cell_text(sheet.cell(row, column_index(letter))) != seen:
                        found.append(qualified(change.sheet, cell_address(letter, row)))
    return found


def _write_value(cell: Cell | MergedCell, value: CellValue, where: str) -> None:
    """Write a value as a literal: text is never a formula, dates get a date format."""
    try:
        if isinstance(value, str):
            if len(value) > MAX_CELL_TEXT:
                raise InvalidChange(f"{where}: text longer than Excel's {MAX_CELL_TEXT} characters")
            cell.value = value
            cell.data_type = "s"  # openpyxl would otherwise store "=..." as a live formula
        else:
            cell.value = value
            if isinstance(value, dt.datetime) and cell.number_format == "General":
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
            elif isinstance(value, dt.date) and not isinstance(value, dt.datetime) and cell.number_format == "General":
                cell.number_format = "yyyy-mm-dd"
    except IllegalCharacterError:
        raise InvalidChange(f"{where}: the text holds control characters Excel cannot store") from None


def _fill_color(cell: Cell | MergedCell) -> str | None:
    fill = cell.fill
    if fill is None or fill.fill_type != "solid":
        return None
    rgb = getattr(fill.fgColor, "rgb", None)
    return rgb[-6:].upper() if isinstance(rgb, str) else None


def _row_attributes(sheet: Worksheet, row: int) -> dict[str, dict[str, str]]:
    """A row's notes, fills and non-default number formats, for undo of its deletion."""
    found: dict[str, dict[str, str]] = {}
    for cell in sheet[row]:
        if not isinstance(cell, Cell):
            continue
        entry: dict[str, str] = {}
        if cell.comment is not None:
            entry["note"] = cell.comment.text
        color = _fill_color(cell)
        if color:
            entry["fill"] = color
        if cell.number_format != "General":
            entry["format"] = cell.number_format
        if entry:
            found[cell.column_letter] = entry
    return found


def _set_row_attributes(sheet: Worksheet, row: int, attributes: Mapping[str, Mapping[str, str]]) -> None:
    for letter, entry in attributes.items():
        cell = sheet.cell(row, column_index(letter))
        if "note" in entry:
            cell.comment = Comment(entry["note"], NOTE_AUTHOR)
        if "fill" in entry:
            cell.fill = PatternFill(fill_type="solid", fgColor=entry["fill"])
        if "format" in entry:
            cell.number_format = entry["format"]


def _last_used_row(sheet: Worksheet) -> int:
    for row in range(sheet.max_row, 0, -1):
        if any(cell.value is not None and cell.value != "" for cell in sheet[row]):
            return row
    return 0


def _refuse_row_shift(sheet: Worksheet, first_row: int, path: Path) -> None:
    """openpyxl moves cells but not the ranges that point at them: refuse where one would be misplaced."""
    problems: list[str] = []
    bottom = max(sheet.max_row, first_row)
    for merged in sheet.merged_cells.ranges:
        if merged.max_row >= first_row:
            problems.append(f"merged cells {merged.coord}")
    for table in sheet.tables.values():
        if (range_boundaries(table.ref)[3] or 0) >= first_row:
            problems.append(f"table {table.name} ({table.ref})")
    ranges = [(f"conditional format {cf.sqref}", cf.sqref) for cf in sheet.conditional_formatting]
    ranges += [(f"data validation {dv.sqref}", dv.sqref) for dv in sheet.data_validations.dataValidation]
    for label, sqref in ranges:
        for part in str(sqref).split():
            _, top, _, low = range_boundaries(part)
            # ranges wholly above the shift, or running from above it to the bottom, stay right
            if low is not None and low >= first_row and not ((top or 1) <= first_row <= bottom <= low):
                problems.append(label)
                break
    if problems:
        raise WriteRefused(
            f"{path}: deleting or inserting rows in sheet {sheet.title!r} would misplace: " + ", ".join(problems[:5]),
            hint="remove or widen those ranges, or write to a new file (--out NEW.xlsx) and check it",
        )


def _dropdown_of(
    sheet: Worksheet, ref: str
) -> tuple[DataValidation | None, tuple[tuple[str, ...] | None, str | None] | None]:
    for validation in sheet.data_validations.dataValidation:
        if validation.type == "list" and str(validation.sqref) == ref:
            formula = validation.formula1 or ""
            if formula.startswith('"') and formula.endswith('"'):
                return validation, (tuple(formula[1:-1].split(",")), None)
            return validation, (None, formula.lstrip("="))
    return None, None


def _column_dimension(sheet: Worksheet, index: int, *, create: bool) -> ColumnDimension | None:
    """The <col> of one column, split out of a group of columns sharing one (Excel would
    refuse overlapping <col> elements); created when ``create`` and there is none."""
    for key, dimension in list(sheet.column_dimensions.items()):
        low = dimension.min or column_index(key)
        high = dimension.max or low
        if not low <= index <= high:
            continue
        if low == high:
            return dimension
        del sheet.column_dimensions[key]
        found = dimension
        for first, last in ((low, index - 1), (index, index), (index + 1, high)):
            if first <= last:
                piece = copy(dimension)
                piece.index = column_letter(first)
                piece.min, piece.max = first, last
                sheet.column_dimensions[piece.index] = piece
                if first == index:
                    found = piece
        return found
    if not create:
        return None
    width = sheet.sheet_format.defaultColWidth or DEFAULT_COLUMN_WIDTH
    dimension = ColumnDimension(sheet, index=column_letter(index), width=width, min=index, max=index)
    sheet.column_dimensions[dimension.index] = dimension
    return dimension


def _set_column_format(sheet: Worksheet, change: SetColumnFormat) -> SetColumnFormat:
    """Format a whole column the way Excel does (the <col> element's style), and those of
    its existing cells that need it, without a cell per row for the rest."""
    from dataclasses import replace

    index = column_index(change.column)
    dimension = _column_dimension(sheet, index, create=change.format != "General")
    old = dimension.number_format if dimension is not None else "General"
    if dimension is not None:
        dimension.number_format = change.format
    cells = sheet._cells  # existing cells only: sheet.cell() would create one per row
    previous: list[tuple[int, str | None]] = []
    if change.cells is None:
        for row in range(change.first_row, sheet.max_row + 1):
            cell = cells.get((row, index))
            if cell is None:
                continue  # no cell: the column's format applies
            if (
                isinstance(cell, Cell)
                and cell.number_format == "General"
                and (cell.value is None or cell.data_type == "s")
            ):
                previous.append((row, cell.number_format))
                cell.number_format = change.format
            else:
                previous.append((row, None))  # numbers, dates, formulas, the team's formats: kept
    else:
        for first, last, format in change.cells:
            for row in range(first, last + 1):
                cell = cells.get((row, index))
                if isinstance(cell, Cell):
                    previous.append((row, cell.number_format))
                    cell.number_format = format
            previous.append((0, None))  # two runs stay two runs
    return replace(change, old=old, previous=format_runs(previous))


def _apply_changes(book: OpenpyxlWorkbook, changes: ChangeSet, path: Path) -> ChangeSet:
    from sheetcrm.sync.memory import _in_apply_order  # one definition of the order for every backend

    ordered = _in_apply_order(changes)
    shifted = {c.sheet: min(c.rows) for c in changes if isinstance(c, DeleteRows | InsertRows) and c.rows}
    for sheet_name, first in shifted.items():
        _refuse_row_shift(book[sheet_name], first, path)
    done: dict[int, Change] = {}
    for change in ordered:
        done[id(change)] = _apply_one(book, change)
    return ChangeSet(changes.description, [done[id(c)] for c in changes], resolved=True)


def _apply_one(book: OpenpyxlWorkbook, change: Change) -> Change:
    from dataclasses import replace

    if isinstance(change, ReplaceSheet):
        old = None
        index = len(book.sheetnames)
        if change.sheet in book.sheetnames:
            existing = book[change.sheet]
            old = tuple(tuple(to_text(_plain(v)) for v in row) for row in existing.iter_rows(values_only=True))
            index = book.sheetnames.index(change.sheet)
            book.remove(existing)
        sheet = book.create_sheet(change.sheet, index)
        for r, row in enumerate(change.rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is not None and value != "":
                    _write_value(sheet.cell(r, c), value, qualified(change.sheet, cell_address(c, r)))
        for address, target in change.links.items():
            # a link within the workbook (location=), not a formula and not an external target
            sheet[address].hyperlink = Hyperlink(ref=address, location=target)
            sheet[address].style = "Hyperlink"
        if change.freeze:
            sheet.freeze_panes = change.freeze
        for letter, width in change.column_widths.items():
            sheet.column_dimensions[letter].width = width
        return replace(change, old=old)
    if isinstance(change, DeleteSheet):
        existing = book[change.sheet]
        old_rows = tuple(tuple(to_text(_plain(v)) for v in row) for row in existing.iter_rows(values_only=True))
        book.remove(existing)
        return replace(change, old=old_rows)

    sheet = book[change.sheet]
    if isinstance(change, CellEdit):
        _write_value(sheet.cell(change.row, column_index(change.column)), change.new, f"{change.sheet}!{change.cell}")
        return change
    if isinstance(change, SetNote):
        cell = sheet.cell(change.row, column_index(change.column))
        old_note = cell.comment.text if cell.comment is not None else None
        if change.ours_only and cell.comment is not None and cell.comment.author != NOTE_AUTHOR:
            return replace(change, text=old_note, old=old_note)  # a person's note: left as it is
        cell.comment = Comment(change.text, NOTE_AUTHOR) if change.text is not None else None
        return replace(change, old=old_note)
    if isinstance(change, SetFill):
        cell = sheet.cell(change.row, column_index(change.column))
        old_fill = _fill_color(cell)
        has_fill = cell.fill is not None and cell.fill.fill_type is not None
        if change.ours_only and has_fill and old_fill not in ANNOTATION_FILLS:
            return replace(change, color=old_fill, old=old_fill)  # the team's colour: left as it is
        cell.fill = (
            PatternFill(fill_type="solid", fgColor=change.color) if change.color else PatternFill(fill_type=None)
        )
        return replace(change, old=old_fill)
    if isinstance(change, SetNumberFormat):
        cell = sheet.cell(change.row, column_index(change.column))
        old_format = cell.number_format
        cell.number_format = change.format
        return replace(change, old=old_format)
    if isinstance(change, SetColumnFormat):
        return _set_column_format(sheet, change)
    if isinstance(change, SetDropdown):
        validation, old_dropdown = _dropdown_of(sheet, change.ref)
        if validation is not None:
            sheet.data_validations.dataValidation.remove(validation)
        if change.choices is not None or change.source is not None:
            if change.choices is not None:
                formula = '"' + ",".join(change.choices) + '"'
                if len(formula) > 257:
                    raise InvalidChange(
                        f"{change.sheet}!{change.ref}: the choices exceed Excel's 255-character list limit",
                        hint="put the choices on a sheet and pass source='Sheet!$A$1:$A$N'",
                    )
            else:
                formula = str(change.source)  # stored without "=", as Excel and XlsxWriter write it
            new = DataValidation(type="list", formula1=formula, allow_blank=True, showErrorMessage=True)
            new.add(change.ref)
            sheet.add_data_validation(new)
        return replace(change, old=old_dropdown)
    if isinstance(change, DeleteRows):
        attributes = tuple(_row_attributes(sheet, number) for number in change.rows)
        for number in sorted(change.rows, reverse=True):
            sheet.delete_rows(number)
        return replace(change, attributes=attributes)
    if isinstance(change, InsertRows):
        for i, (number, values) in enumerate(zip(change.rows, change.values, strict=True)):
            sheet.insert_rows(number)
            for letter, value in values.items():
                _write_value(sheet.cell(number, column_index(letter)), value, f"{change.sheet}!{letter}{number}")
            if change.attributes:
                _set_row_attributes(sheet, number, change.attributes[i])
        return change
    if isinstance(change, AppendRows):
        first = _last_used_row(sheet) + 1
        if first + len(change.rows) - 1 > MAX_ROWS:
            raise InvalidChange(f"{change.sheet}: appending {len(change.rows)} rows would pass Excel's {MAX_ROWS} rows")
        for offset, values in enumerate(change.rows):
            number = first + offset
            for letter, value in values.items():
                cell = sheet.cell(number, column_index(letter))
                above = sheet.cell(number - 1, column_index(letter)) if number > 2 else None
                if isinstance(above, Cell) and isinstance(cell, Cell) and above.has_style and not cell.has_style:
                    cell._style = copy(above._style)  # type: ignore[attr-defined]  # keep the table's look: date formats, fonts
                _write_value(cell, value, f"{change.sheet}!{letter}{number}")
        return replace(change, first_row=first)
    raise InvalidChange(f"unsupported change {change!r}")


def _verify_written(temp: Path, changes: ChangeSet, *, expected_sheets: list[str]) -> None:
    """Re-open what was written and check that it is whole and holds the new values."""
    inventory = inspect_xlsx(temp)
    if inventory.sheet_names != [s for s in expected_sheets if s in inventory.sheet_names] or set(
        inventory.sheet_names
    ) != {s for s in expected_sheets if s not in inventory.chartsheets}:
        raise WriteRefused(f"{temp}: the written file lists different sheets; the original was left untouched")
    edits = [c for c in changes if isinstance(c, CellEdit)]
    if not edits:
        return
    book = python_calamine.CalamineWorkbook.from_path(str(temp))
    try:
        for sheet_name in {c.sheet for c in edits}:
            raw = _read_sheet(book, sheet_name, frozenset(), temp)
            deleted = sorted(r for c in changes if isinstance(c, DeleteRows) and c.sheet == sheet_name for r in c.rows)
            inserted = [r for c in changes if isinstance(c, InsertRows) and c.sheet == sheet_name for r in c.rows]
            if inserted:
                continue  # rows moved twice: checked by the tests rather than here
            for edit in (c for c in edits if c.sheet == sheet_name):
                row = edit.row - sum(1 for d in deleted if d < edit.row) - raw.first_row
                column = column_index(edit.column) - raw.first_column
                got = raw.rows[row][column] if 0 <= row < len(raw.rows) and 0 <= column < len(raw.rows[row]) else ""
                if got != to_text(edit.new):
                    raise WriteRefused(
                        f"{temp}: verification failed at {edit.sheet}!{edit.cell}; the original was left untouched"
                    )
    finally:
        book.close()

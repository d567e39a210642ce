"""The .xlsx / .xlsm backend: fast reads with python-calamine, safe writes with openpyxl.

Reading never goes through openpyxl: calamine (Rust) reads values about 8x faster, and
formula cells are found by a streaming scan of the sheet XML. Writing loads the workbook
with openpyxl only after an inventory has shown that openpyxl can keep everything in it
(../shared/RELIABILITY.md row 1); otherwise it refuses, naming what would be lost.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from copy import copy
from itertools import compress
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pyarrow as pa
import pyarrow.compute as pc
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
from sheetcrm.sync.a1 import MAX_CELL_TEXT, MAX_ROWS, cell_address, column_index, column_letter, qualified
from sheetcrm.sync.backend import ApplyOutcome, FileBackend
from sheetcrm.sync.changeset import (
    ANNOTATION_FILLS,
    NOTE_AUTHOR,
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
    SetValidation,
    ValidationRule,
    format_runs,
)
from sheetcrm.sync.ooxml import edit as lossless
from sheetcrm.sync.ooxml.columns import DEFAULT_COLUMN_WIDTH
from sheetcrm.sync.ooxml.sheetxml import Unsupported
from sheetcrm.sync.preflight import XlsxInventory, inspect_xlsx, openpyxl_losses, scan_sheet
from sheetcrm.sync.safewrite import (
    FileSnapshot,
    check_not_open,
    check_unchanged,
    replace_atomically,
    snapshot,
    sweep_temp_files,
    take_backup,
)
from sheetcrm.sync.table import RawSheet
from sheetcrm.sync.values import CONVERTERS, number_text, to_text

log_events = logging.getLogger("sheetcrm.write")

# The width Excel stores for a column of the default width (Calibri 11): a <col> written
# without one comes back from openpyxl 13 wide, so a new <col> always says its width.


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
        if lossless.supports(changes):
            try:
                prepared = lossless.prepare(
                    inventory, changes, workdir=target.parent, old_sheets=self._old_sheets(changes)
                )
            except Unsupported as why:
                log_events.info("the lossless writer cannot apply this change set (%s); using openpyxl", why)
            else:
                with prepared:
                    return self._write(prepared, changes, target, seen, to_new_file)
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

    def _write(
        self, prepared: lossless.PreparedWrite, changes: ChangeSet, target: Path, seen: FileSnapshot, to_new_file: bool
    ) -> ApplyOutcome:
        """Write a package the lossless writer prepared: backup, temp file, verify, atomic replace."""
        sweep_temp_files(target)
        backup = take_backup(self.path, keep=self.backups, tag="pre") if not to_new_file else None

        def unchanged() -> None:
            check_not_open(self.path)
            check_unchanged(self.path, seen)

        def write(temp: Path) -> None:
            prepared.write(temp)

        replace_atomically(
            target,
            write,
            verify=lambda temp: _verify_package(temp, prepared),
            before_replace=None if to_new_file else unchanged,
        )
        if not to_new_file:
            self._seen = snapshot(self.path)
            self._inventory = None
        return ApplyOutcome(prepared.resolved, backup, str(target))

    def _old_sheets(self, changes: ChangeSet) -> dict[str, tuple[tuple[str, ...], ...]]:
        """The text of each existing sheet a ReplaceSheet or DeleteSheet writes over, for undo."""
        existing = {name.casefold(): name for name in self.inventory().sheet_names}
        names = {
            change.sheet: existing[change.sheet.casefold()]
            for change in changes
            if isinstance(change, ReplaceSheet | DeleteSheet) and change.sheet.casefold() in existing
        }
        if not names:
            return {}
        raw = self.read_sheets(sorted(set(names.values())))
        return {sheet: _grid_text(raw[name]) for sheet, name in names.items()}

    def _load(self) -> OpenpyxlWorkbook:
        try:
            return openpyxl.load_workbook(
                self.path, keep_vba=self.path.suffix.lower() == ".xlsm", rich_text=True, keep_links=True
            )
        except Exception as error:  # openpyxl raises a zoo of types on damaged parts
            raise WorkbookUnreadable(self.path, _reason(error)) from None


# -- reading helpers --------------------------------------------------------------------------


def _grid_text(raw: RawSheet) -> tuple[tuple[str, ...], ...]:
    """A sheet's cells as text rows from A1, as the openpyxl path keeps them for undo."""
    if raw.columns is not None:
        rows = [list(row) for row in zip(*(column.to_pylist() for column in raw.columns), strict=True)]
    else:
        rows = raw.rows
    width = raw.first_column - 1 + max((len(row) for row in rows), default=0)
    lead = [""] * (raw.first_column - 1)
    grid = [("",) * width for _ in range(raw.first_row - 1)]
    grid += [tuple(lead + [v or "" for v in row] + [""] * (width - len(lead) - len(row))) for row in rows]
    return tuple(grid)


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
        # calamine's rows are all as wide as its range: transpose them in C, then convert
        # column by column, so that a column of text costs no Python call per cell
        typed = list(zip(*sheet.iter_rows(), strict=True))
        height = len(typed[0]) if typed else 0
        columns = [_text_column(values) for values in typed]
        del typed
    except Exception as error:
        raise WorkbookUnreadable(path, f"sheet {name!r}: {_reason(error)}") from None
    # calamine yields rows from row 1 but columns from the first used column
    first_row = 1 if height == end_row + 1 else start_row + 1
    for column in columns:
        if len(column) and pc.max(pc.utf8_length(column)).as_py() > MAX_CELL_TEXT:
            raise WorkbookUnreadable(
                path, f"sheet {name!r} holds a cell longer than Excel's {MAX_CELL_TEXT} characters"
            )
    return RawSheet.from_columns(name, columns, first_row=first_row, first_column=start_column + 1, formulas=formulas)


def _text_column(values: tuple[Any, ...]) -> pa.LargeStringArray:
    """One column of calamine values as text: dates ISO, numbers without float noise.

    Below its first rows (header, maybe a title) a column usually holds one type: that part
    is converted by pyarrow in C. A column of mixed types goes value by value.
    """
    head, tail = values[:_HEAD_ROWS], values[_HEAD_ROWS:]
    kinds = set(map(type, tail))
    if kinds <= {str}:
        return pa.concat_arrays([_python_text(head), pa.array(tail, pa.large_string())])
    typed = kinds - {str}
    kind = typed.pop()
    if typed or kind not in _TYPED_TEXT:
        return _python_text(values)
    if str not in kinds:
        return pa.concat_arrays([_python_text(head), _TYPED_TEXT[kind](tail)])
    # one type plus text (blank cells are "", or a date column with a few dates typed as text)
    is_text = np.array([kind is str for kind in map(type, tail)], dtype=bool)
    column = pa.nulls(len(tail), pa.large_string())
    column = pc.replace_with_mask(column, is_text, pa.array(list(compress(tail, is_text)), pa.large_string()))
    column = pc.replace_with_mask(column, ~is_text, _TYPED_TEXT[kind](tuple(compress(tail, ~is_text))))
    return pa.concat_arrays([_python_text(head), column])


_HEAD_ROWS = 16


def _cast_text(arrow_type: pa.DataType) -> Callable[[tuple[Any, ...]], pa.LargeStringArray]:
    return lambda values: pa.array(values, arrow_type).cast(pa.large_string())


def _python_text(values: tuple[Any, ...]) -> pa.LargeStringArray:
    convert = CONVERTERS
    return pa.array(
        [value if type(value) is str else convert.get(type(value), to_text)(value) for value in values],
        pa.large_string(),
    )


# pyarrow writes a float's shortest round-trip digits; where that has at most 15 significant
# digits and no exponent it is exactly number_text's answer, and the rest go through number_text
_PLAIN_NUMBER = r"^-?[0-9]+(\.[0-9]+)?$"


def _float_text(values: tuple[float, ...]) -> pa.LargeStringArray:
    numbers = pa.array(values, pa.float64())
    text = numbers.cast(pa.large_string())
    plain = pc.and_(
        pc.and_(pc.match_substring_regex(text, _PLAIN_NUMBER), pc.less_equal(pc.utf8_length(text), 15)),
        pc.and_(pc.or_(pc.greater_equal(pc.abs(numbers), 1e-4), pc.equal(numbers, 0.0)), pc.not_equal(text, "-0")),
    )
    if pc.all(plain).as_py():
        return text
    unsure = pc.invert(plain)
    rewritten = [number_text(values[i]) for i in np.flatnonzero(unsure.to_numpy(zero_copy_only=False))]
    return pc.replace_with_mask(text, unsure, pa.array(rewritten, pa.large_string()))


_TYPED_TEXT: dict[type, Callable[[tuple[Any, ...]], pa.LargeStringArray]] = {
    float: _float_text,
    dt.date: _cast_text(pa.date32()),  # ISO dates
    int: _cast_text(pa.int64()),
}


# -- writing helpers --------------------------------------------------------------------------


# (imported here to keep clear of the reading code above, which is being reworked)


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
            # in a General or text ("@") cell a date would show as its serial number (45351)
            if isinstance(value, dt.datetime) and cell.number_format in ("General", "@"):
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
            elif (
                isinstance(value, dt.date)
                and not isinstance(value, dt.datetime)
                and cell.number_format in ("General", "@")
            ):
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


VALUE_VALIDATION_TYPES = ("whole", "decimal", "date", "time", "textLength", "custom")


def _validation_of(sheet: Worksheet, ref: str) -> tuple[DataValidation | None, ValidationRule | None]:
    """The value validation (any type but a list or none) on exactly ``ref``, and its rule."""
    for validation in sheet.data_validations.dataValidation:
        if validation.type in VALUE_VALIDATION_TYPES and str(validation.sqref) == ref:
            return validation, ValidationRule(
                type=validation.type,
                operator=validation.operator or "between",  # Excel's default when none is written
                formula1=(validation.formula1 or "").removeprefix("="),
                formula2=validation.formula2.removeprefix("=") if validation.formula2 is not None else None,
                allow_blank=bool(validation.allow_blank),
                show_error=bool(validation.showErrorMessage),
                error_title=validation.errorTitle,
                error=validation.error,
            )
    return None, None


def data_validation(rule: ValidationRule) -> DataValidation:
    """The openpyxl DataValidation of a rule (no range yet: ``.add("R2:R1048576")``)."""
    return DataValidation(
        type=rule.type,
        operator=None if rule.type == "custom" else rule.operator,
        formula1=rule.formula1,
        formula2=rule.formula2,
        allow_blank=rule.allow_blank,
        showErrorMessage=rule.show_error,
        errorTitle=rule.error_title,
        error=rule.error,
    )


def _column_style(sheet: Worksheet, index: int) -> ColumnDimension | None:
    """The <col> covering one column, when it gives the column a style (read only: no group is split)."""
    for key, dimension in sheet.column_dimensions.items():
        low = dimension.min or column_index(key)
        if low <= index <= (dimension.max or low) and dimension.has_style:
            return dimension
    return None


def _style_new_cell(sheet: Worksheet, cell: Cell | MergedCell, column_style: ColumnDimension | None) -> None:
    """Style an appended cell the way the table's cells look: as the data cell above it, and
    with its column's number format (what Excel gives a cell typed into that column)."""
    if not isinstance(cell, Cell) or cell.has_style:
        return
    above = sheet.cell(cell.row - 1, cell.column) if cell.row > 2 else None  # row 1 is a header, not a model
    if isinstance(above, Cell) and above.has_style:
        cell._style = copy(above._style)  # type: ignore[attr-defined]  # keep the table's look: fonts, fills
    elif column_style is not None:
        cell._style = copy(column_style._style)  # type: ignore[attr-defined]
    if column_style is not None and column_style.number_format != "General":
        cell.number_format = column_style.number_format  # "@" keeps "00123" and "+86…" text


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
        old_hidden = False
        index = len(book.sheetnames)
        if change.sheet in book.sheetnames:
            existing = book[change.sheet]
            old = tuple(tuple(to_text(_plain(v)) for v in row) for row in existing.iter_rows(values_only=True))
            old_hidden = existing.sheet_state != "visible"
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
        for ref, choices in change.dropdowns.items():
            dropdown = DataValidation(type="list", formula1='"' + ",".join(choices) + '"', allow_blank=True)
            dropdown.add(ref)
            sheet.add_data_validation(dropdown)
        for letter, width in change.column_widths.items():
            sheet.column_dimensions[letter].width = width
        if change.hidden:
            if all(other is sheet or other.sheet_state != "visible" for other in book.worksheets):
                raise InvalidChange(f"{change.sheet}: hiding it would leave the workbook no visible sheet")
            sheet.sheet_state = "hidden"
            if book.active is sheet:
                book.active = next(i for i, s in enumerate(book.worksheets) if s.sheet_state == "visible")
        return replace(change, old=old, old_hidden=old_hidden)
    if isinstance(change, DeleteSheet):
        existing = book[change.sheet]
        old_rows = tuple(tuple(to_text(_plain(v)) for v in row) for row in existing.iter_rows(values_only=True))
        old_hidden = existing.sheet_state != "visible"
        book.remove(existing)
        return replace(change, old=old_rows, old_hidden=old_hidden)

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
    if isinstance(change, SetValidation):
        return _set_validation(sheet, change)
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
        letters = {letter for row in change.rows for letter in row}
        column_styles = {letter: _column_style(sheet, column_index(letter)) for letter in letters}
        for offset, values in enumerate(change.rows):
            number = first + offset
            for letter, value in values.items():
                cell = sheet.cell(number, column_index(letter))
                _style_new_cell(sheet, cell, column_styles[letter])
                _write_value(cell, value, f"{change.sheet}!{letter}{number}")
        return replace(change, first_row=first)
    raise InvalidChange(f"unsupported change {change!r}")


def _set_validation(sheet: Worksheet, change: SetValidation) -> SetValidation:
    """Apply a SetValidation: the value rule on exactly its range is replaced (or removed)."""
    from dataclasses import replace

    existing, old_rule = _validation_of(sheet, change.ref)
    if existing is not None:
        sheet.data_validations.dataValidation.remove(existing)
    if change.rule is not None:
        validation = data_validation(change.rule)
        validation.add(change.ref)
        sheet.add_data_validation(validation)
    return replace(change, old=old_rule)


def _verify_package(temp: Path, prepared: lossless.PreparedWrite) -> None:
    """Check a package the lossless writer wrote: the sheets meant, parts whole, values as meant (streamed)."""
    if inspect_xlsx(temp).sheet_names != prepared.sheet_names:
        raise WriteRefused(f"{temp}: the written file lists different sheets; the original was left untouched")
    prepared.verify(temp)


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
            columns = raw.column_major()
            height = len(columns[0]) if columns else 0
            deleted = sorted(r for c in changes if isinstance(c, DeleteRows) and c.sheet == sheet_name for r in c.rows)
            inserted = [r for c in changes if isinstance(c, InsertRows) and c.sheet == sheet_name for r in c.rows]
            if inserted:
                continue  # rows moved twice: checked by the tests rather than here
            for edit in (c for c in edits if c.sheet == sheet_name):
                row = edit.row - sum(1 for d in deleted if d < edit.row) - raw.first_row
                column = column_index(edit.column) - raw.first_column
                got = columns[column][row].as_py() if 0 <= row < height and 0 <= column < len(columns) else ""
                if got != to_text(edit.new):
                    raise WriteRefused(
                        f"{temp}: verification failed at {edit.sheet}!{edit.cell}; the original was left untouched"
                    )
    finally:
        book.close()

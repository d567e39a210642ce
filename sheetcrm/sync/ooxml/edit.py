"""Apply a ChangeSet to an .xlsx package part by part: the lossless, streaming writer.

Saving through openpyxl re-encodes every part and drops what openpyxl does not model
(sparklines, x14 formats, slicers, threaded comments, cached formula values...). This writer
instead rewrites only the worksheet parts a ChangeSet touches, in one streaming pass each,
adds what it needs to ``styles.xml`` (a fill, a number format) and copies every other part as
its compressed bytes. It works in two steps so that nothing is written before everything has
been checked:

1. :func:`prepare` streams each touched sheet into a temporary spool file (deflated by a thread
   as it goes), collecting the old
   state of every cell it writes; then checks those against what the ChangeSet says was read
   (raising :class:`~sheetcrm.errors.CellConflict`), and settles the new styles;
2. :meth:`PreparedWrite.write` writes the new package from the spools and the source.

What it cannot do it says before writing, by raising :class:`Unsupported`; the caller then
falls back to the openpyxl writer (which refuses where it would lose content).
"""

from __future__ import annotations

import datetime as dt
import math
import posixpath
import re
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import IO, Any, TypeVar, cast, get_args

from sheetcrm.errors import CellConflict, InvalidChange, WriteRefused
from sheetcrm.sync.a1 import MAX_CELL_TEXT, MAX_ROWS, column_index, column_letter, qualified
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
    format_runs,
)
from sheetcrm.sync.ooxml.anchors import shift_comments, shift_drawing, shift_threaded_comments, shift_vml
from sheetcrm.sync.ooxml.columns import with_column_style
from sheetcrm.sync.ooxml.newsheet import SheetPartsPlan, formula_texts, plan_sheet_changes, without_calc_chain
from sheetcrm.sync.ooxml.notes import (
    COMMENTS_CONTENT_TYPE,
    COMMENTS_TYPE,
    VML_CONTENT_TYPE,
    VML_DRAWING_TYPE,
    NoteWrite,
    add_relationship,
    edit_comments,
    edit_vml,
    ensure_content_types,
    find_relationships,
    legacy_drawing_id,
    note_texts,
    with_legacy_drawing,
)
from sheetcrm.sync.ooxml.package import (
    DeflatedPart,
    DeflatingSpool,
    PackageReport,
    PartWriter,
    open_part,
    read_part,
    rewrite_package,
)
from sheetcrm.sync.ooxml.rowstream import RowMove, ShiftedSheet
from sheetcrm.sync.ooxml.sheetxml import (
    _ATTRIBUTE,
    _CELL,
    KEEP,
    CellWrite,
    OldCell,
    SheetLayout,
    SheetRewrite,
    Unsupported,
    _Keep,
    _old_cell,
    column_cells,
    column_spans,
    rewrite_sheet,
    sheet_head,
    sheet_layout,
    sheet_tail,
)
from sheetcrm.sync.ooxml.shift import (
    CannotShift,
    RowShift,
    shift_chart_part,
    shift_defined_names,
    shift_formula,
    shift_pivot_cache,
    shift_range,
    shift_sheet_head,
    shift_sheet_tail,
    shift_table_part,
)
from sheetcrm.sync.ooxml.strings import decode_escapes, resolve_shared_strings
from sheetcrm.sync.ooxml.styles import StyleBook
from sheetcrm.sync.ooxml.validations import ValidationEdit, dropdown_element, edit_validations, rule_element
from sheetcrm.sync.preflight import XlsxInventory, rels_path, resolve_target
from sheetcrm.sync.values import number_text, to_text

__all__ = ["SUPPORTED_CHANGES", "PreparedWrite", "Unsupported", "prepare", "supports"]

SUPPORTED_CHANGES: tuple[type, ...] = get_args(Change)
"""The kinds of change this writer applies: all of them (layouts it cannot edit still go to openpyxl)."""

_CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_EPOCH_1900 = dt.datetime(1899, 12, 30)
_EPOCH_1904 = dt.datetime(1904, 1, 1)
_DATE1904 = re.compile(rb'<(?:\w+:)?workbookPr\b[^>]*\sdate1904="(?:1|true)"')
_SPOOL_CHUNK = 1 << 20
_RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_DRAWING_TYPE = f"{_RELATIONSHIPS}/drawing"
_TABLE_TYPE = f"{_RELATIONSHIPS}/table"
_THREADED_COMMENTS_TYPE = "http://schemas.microsoft.com/office/2017/10/relationships/threadedComment"

Step = Callable[[int], int]
_T = TypeVar("_T")


def supports(changes: ChangeSet) -> bool:
    """Whether every change is of a kind this writer applies."""
    return all(isinstance(change, SUPPORTED_CHANGES) for change in changes)


@dataclass
class _Cell:
    """What is to happen to one cell: its new value (or KEEP) and the style steps, in order."""

    value: CellValue | _Keep = KEEP
    steps: list[Step] = field(default_factory=list)
    look: int | None = None  # the style of a new or unstyled cell (default: its column's)


@dataclass
class _SheetPlan:
    part: str
    name: str = ""
    moving: bool = False  # its rows move, or its formulas name a sheet whose rows move
    cells: dict[int, dict[int, _Cell]] = field(default_factory=dict)
    layout: SheetLayout | None = None
    notes: _Notes | None = None
    head_edits: list[Callable[[bytes], bytes]] = field(default_factory=list)  # column formats
    column_formats: dict[int, str] = field(default_factory=dict)  # what those give new cells
    validations: list[tuple[SetDropdown | SetValidation, ValidationEdit]] = field(default_factory=list)

    def rewrites_sheet(self, source: Path) -> bool:
        """Whether the sheet part itself changes (notes alone may leave it as it is)."""
        if self.cells or self.head_edits or self.validations or self.moving:
            return True
        return self.notes is not None and self.notes.changes_sheet(source)

    def cell(self, row: int, column: int) -> _Cell:
        return self.cells.setdefault(row, {}).setdefault(column, _Cell())


@dataclass
class PreparedWrite:
    """A checked ChangeSet with its rewritten sheets spooled: ready to be written as a package."""

    source: Path
    resolved: ChangeSet
    rewrite: dict[str, PartWriter | DeflatedPart]
    add: dict[str, PartWriter]
    spools: list[IO[bytes]]
    expected: dict[str, dict[int, dict[int, str]]]  # the text each written value must read back as
    styles_part: str
    epoch: dt.datetime
    remove: set[str] = field(default_factory=set)
    sheet_names: list[str] = field(default_factory=list)  # the workbook's sheets once written

    def write(self, target: Path) -> PackageReport:
        """Write the new package at ``target`` (a temporary file the caller moves into place)."""
        return rewrite_package(self.source, target, rewrite=self.rewrite, add=self.add, remove=self.remove)

    def verify(self, written: Path) -> None:
        """Read the written package back, streaming: every rewritten part is whole (its CRC checks
        out) and every value written reads back as what was meant. Raises WriteRefused otherwise."""
        styles = StyleBook.parse(read_part(written, self.styles_part))
        for part in (*self.rewrite, *self.add):
            if part not in self.expected:  # styles, workbook, notes, sheets with rows moved: whole and checked
                with open_part(written, part) as stream:
                    for _ in iter(lambda: stream.read(_SPOOL_CHUNK), b""):
                        pass
        for part, rows in self.expected.items():
            wrong = _misread(written, part, rows, styles, self.epoch)
            if wrong:
                raise WriteRefused(
                    f"{written}: verification failed at {part} {', '.join(wrong[:5])}; the original was left untouched",
                    hint="this is a bug in sheetcrm; please report it with the workbook's layout (not its data)",
                )

    def close(self) -> None:
        for spool in self.spools:
            spool.close()

    def __enter__(self) -> PreparedWrite:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def prepare(
    inventory: XlsxInventory,
    changes: ChangeSet,
    *,
    workdir: Path | None = None,
    old_sheets: Mapping[str, tuple[tuple[str, ...], ...]] | None = None,
) -> PreparedWrite:
    """Check ``changes`` against the workbook and spool the sheets they rewrite.

    ``old_sheets`` holds the text of each existing sheet a ReplaceSheet or DeleteSheet
    writes over, as read, kept in the resolved change for undo.

    Raises :class:`Unsupported` when this writer cannot apply them (the caller falls back),
    :class:`~sheetcrm.errors.CellConflict` when cells changed since they were read,
    :class:`~sheetcrm.errors.InvalidChange` for a value no cell can hold, and
    :class:`~sheetcrm.errors.SheetNotFound` for a sheet the workbook does not have.
    """
    unsupported = sorted({change.kind for change in changes if not isinstance(change, SUPPORTED_CHANGES)})
    if unsupported:
        raise Unsupported(f"changes of kind {', '.join(unsupported)}")
    source = inventory.path
    if inventory.styles_part is None:
        raise Unsupported("the workbook has no styles part")
    try:
        styles = StyleBook.parse(read_part(source, inventory.styles_part))
    except ValueError as error:
        raise Unsupported(str(error)) from None
    workbook_xml = read_part(source, inventory.workbook_part)
    epoch = _EPOCH_1904 if _DATE1904.search(workbook_xml) else _EPOCH_1900

    plans: dict[str, _SheetPlan] = {}
    resolved: dict[int, Change] = {}
    edits: dict[tuple[str, int, int], CellEdit] = {}
    writes_values = False

    sheet_changes = [change for change in changes if isinstance(change, ReplaceSheet | DeleteSheet)]
    whole_sheets = {change.sheet.casefold() for change in sheet_changes}

    def plan_for(sheet: str) -> _SheetPlan:
        if sheet.casefold() in whole_sheets:
            raise Unsupported("cells of a sheet that the same change set replaces or deletes")
        found = inventory.sheet(sheet)  # SheetNotFound for a sheet the workbook lacks
        if found.part not in plans:
            plans[found.part] = _SheetPlan(found.part, found.name)
        return plans[found.part]

    shifts = _row_shifts(inventory, changes, plan_for)  # not on a sheet replaced or deleted: plan_for refuses

    def moved(sheet: str, row: int) -> int | None:
        """Where a row numbered as read ends up (None: deleted): cell changes follow their rows."""
        shift = shifts.get(plan_for(sheet).part)
        return row if shift is None else shift.shift.new_row(row)

    formatted = _column_format_cells(source, changes, plan_for)
    for change in changes:  # cell-level changes first, as every backend applies them
        if isinstance(change, SetColumnFormat):
            _plan_column_format(plan_for(change.sheet), change, formatted, styles, resolved)
        elif isinstance(change, SetDropdown | SetValidation):
            plan_for(change.sheet).validations.append((change, _validation_edit(change)))
        elif isinstance(change, CellEdit | SetFill | SetNumberFormat):
            row = moved(change.sheet, change.row)
            if row is None:
                continue  # the row is deleted by the same change set
            column = column_index(change.column)
            if isinstance(change, CellEdit):
                _check_value(change.new, qualified(change.sheet, change.cell))
                plan_for(change.sheet).cell(row, column).value = change.new
                edits[(plan_for(change.sheet).part, row, column)] = change
                writes_values = True
            elif isinstance(change, SetFill):
                plan_for(change.sheet).cell(row, column).steps.append(_fill_step(change, styles, resolved))
            else:
                plan_for(change.sheet).cell(row, column).steps.append(_format_step(change, styles, resolved))
    notes: dict[str, list[tuple[SetNote, int]]] = {}
    for change in changes:
        if isinstance(change, SetNote) and (row := moved(change.sheet, change.row)) is not None:
            notes.setdefault(plan_for(change.sheet).part, []).append((change, row))
    shifted_parts: dict[str, bytes] = {}  # parts anchored to moving rows, moved
    for shift in shifts.values():
        shifted_parts.update(_moved_anchors(source, inventory, shift))
        writes_values = True
        for inserted in shift.changes:
            if isinstance(inserted, InsertRows):
                _plan_insert(plans[shift.part], inserted, styles, notes.setdefault(shift.part, []))

    def read_now(name: str) -> bytes:
        return shifted_parts[name] if name in shifted_parts else read_part(source, name)

    names = _PartNames(inventory.parts)
    for sheet_part, sheet_notes in notes.items():
        if sheet_notes:
            plans[sheet_part].notes = _Notes.plan(read_now, inventory, sheet_part, sheet_notes, names, resolved)
    if shifts:
        _plan_references(source, inventory, shifts, plans, plan_for)
    for change in changes:
        if isinstance(change, AppendRows) and change.rows:
            plan = plan_for(change.sheet)
            if plan.part in shifts:
                raise Unsupported("rows appended to a sheet whose rows the same change set deletes or inserts")
            if plan.layout is None:
                with open_part(source, plan.part) as stream:
                    plan.layout = sheet_layout(stream)
            first = plan.layout.last_used_row + 1
            if first + len(change.rows) - 1 > MAX_ROWS:
                raise InvalidChange(
                    f"{change.sheet}: appending {len(change.rows)} rows would pass Excel's {MAX_ROWS} rows"
                )
            _plan_append(plan, plan.layout, change, first, styles)
            plan.layout = replace(plan.layout, last_used_row=first + len(change.rows) - 1)
            resolved[id(change)] = replace(change, first_row=first)
            writes_values = True

    spools: list[IO[bytes]] = []
    deflated: dict[str, DeflatedPart] = {}
    try:
        observed: dict[tuple[str, int, int], OldCell | None] = {}
        has_formulas = "xl/calcChain.xml" in inventory.parts
        for plan in plans.values():
            if not plan.rewrites_sheet(source):
                continue  # notes only, and the sheet already points at its notes: the sheet stays as it is
            spools.append(tempfile.TemporaryFile(dir=workdir))  # noqa: SIM115 - PreparedWrite.close() closes it
            part, formulas = _spool_sheet(
                source, plan, styles, epoch, edits, observed, spools[-1], resolved, list(shifts.values())
            )
            deflated[plan.part] = part
            has_formulas |= formulas
        checks = [(qualified(edit.sheet, edit.cell), edit.old, observed.get(key), False) for key, edit in edits.items()]
        for shift in shifts.values():
            checks += shift.checks()
        conflicts = _conflicts(inventory, checks, styles, epoch)
        if conflicts:
            raise CellConflict(source, conflicts)
        for shift in shifts.values():
            shift.resolve(resolved, styles, read_part(source, shift.comments) if shift.comments else None)
        if writes_values and not has_formulas:
            has_formulas = _any_formulas(source, inventory, set(plans))
        sheet_parts: SheetPartsPlan | None = None
        if sheet_changes:  # after the sheets are spooled: a sheet deleted may be one they stop using
            sheet_parts = plan_sheet_changes(
                sheet_changes,
                read=lambda name: read_part(source, name),
                names=inventory.parts,
                styles=styles,
                workbook_part=inventory.workbook_part,
                styles_part=inventory.styles_part,
                epoch=epoch,
                formulas=lambda part: formula_texts(_chunks_as_written(source, part, deflated)),
            )
            for sheet_change in sheet_changes:
                old = (old_sheets or {}).get(sheet_change.sheet)
                hidden = sheet_parts.old_hidden.get(sheet_change.sheet, False)
                resolved[id(sheet_change)] = replace(sheet_change, old=old, old_hidden=hidden)
        rewrite: dict[str, PartWriter | DeflatedPart] = dict(deflated)
        add: dict[str, PartWriter] = {}
        current: dict[str, bytes] = {}  # parts edited so far, which later edits build on
        remove: set[str] = set()
        if sheet_parts is not None:
            current.update(sheet_parts.rewrite)
            add.update({name: _constant(content) for name, content in sheet_parts.add.items()})
            remove = set(sheet_parts.remove)

        def now(name: str) -> bytes:
            return current[name] if name in current else read_part(source, name)

        if shifts:
            current.update(shifted_parts)
            references = _moved_references(inventory, shifts, now)
            current.update({name: content for name, content in references.items() if name not in remove})
            chain_edits, chain_parts = _unsupported_on_value_error(
                without_calc_chain, now, inventory.parts, inventory.workbook_part
            )
            current.update(chain_edits)
            remove |= chain_parts
        overrides: dict[str, str] = {}
        defaults: dict[str, str] = {}
        for plan in plans.values():
            if plan.notes is not None:
                plan.notes.settle(source, read_now)
                for name, content, new in plan.notes.parts():
                    if new:
                        add[name] = _constant(content)
                    else:
                        current[name] = content
                overrides.update(plan.notes.overrides)
                defaults.update(plan.notes.defaults)
        if overrides or defaults:
            content_types = now("[Content_Types].xml")
            current["[Content_Types].xml"] = _unsupported_on_value_error(
                ensure_content_types, content_types, overrides=overrides, defaults=defaults
            )
        if styles.changed():
            current[inventory.styles_part] = styles.to_xml()
        if writes_values and has_formulas:
            current[inventory.workbook_part] = with_full_calc_on_load(now(inventory.workbook_part))
        for name, content in current.items():
            if name in add:
                add[name] = _constant(content)
            elif content != read_part(source, name):
                rewrite[name] = _constant(content)
    except BaseException:
        for opened in spools:
            opened.close()
        raise
    done = ChangeSet(changes.description, [resolved.get(id(c), c) for c in changes], resolved=True)
    expected: dict[str, dict[int, dict[int, str]]] = {}
    for plan in plans.values():
        for row, row_cells in plan.cells.items():
            for column, cell in row_cells.items():
                text = _expected_text(cell.value)
                if text is not None:
                    expected.setdefault(plan.part, {}).setdefault(row, {})[column] = text
    sheet_names = list(inventory.sheet_names)
    for sheet_change in sheet_changes:
        existing = next((name for name in sheet_names if name.casefold() == sheet_change.sheet.casefold()), None)
        if isinstance(sheet_change, DeleteSheet) and existing is not None:
            sheet_names.remove(existing)
        elif isinstance(sheet_change, ReplaceSheet) and existing is None:
            sheet_names.append(sheet_change.sheet)
    return PreparedWrite(
        source, done, rewrite, add, spools, expected, inventory.styles_part, epoch, remove, sheet_names
    )


def _chunks_as_written(source: Path, part: str, deflated: Mapping[str, DeflatedPart]) -> Iterator[bytes]:
    """A part's content as it will be written, chunk by chunk: inflated from its spool if rewritten."""
    spooled = deflated.get(part)
    if spooled is None:
        with open_part(source, part) as stream:
            yield from iter(lambda: stream.read(_SPOOL_CHUNK), b"")
        return
    inflater = zlib.decompressobj(-15)
    spooled.data.seek(0)
    remaining = spooled.compressed
    while remaining:
        block = spooled.data.read(min(_SPOOL_CHUNK, remaining))
        if not block:
            raise OSError(f"the spooled content of {part} is shorter than it was")
        remaining -= len(block)
        yield inflater.decompress(block)
    yield inflater.flush()


def _misread(
    written: Path, part: str, rows: dict[int, dict[int, str]], styles: StyleBook, epoch: dt.datetime
) -> list[str]:
    """The cells of a written sheet part that do not read back as the expected text."""
    wrong: list[str] = []

    def check(row: int, column: int, old: OldCell | None) -> None:
        texts = _texts(old, styles, epoch, {})
        if texts is None or rows[row][column] not in texts:
            wrong.append(f"{column_letter(column)}{row}")

    plan = SheetRewrite({row: dict.fromkeys(columns, CellWrite(KEEP)) for row, columns in rows.items()}, check)
    with open_part(written, part) as stream:
        for _ in rewrite_sheet(stream, plan):
            pass
    return wrong


def _expected_text(value: CellValue | _Keep) -> str | None:
    """The text a written value reads back as; None where reading may round it (checked by tests)."""
    if isinstance(value, _Keep):
        return None
    if isinstance(value, dt.datetime) and value.microsecond:
        return None  # stored to the millisecond or so
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**15:
        return None  # stored as a float
    return to_text(value)


def _check_value(value: CellValue, where: str) -> None:
    if isinstance(value, str):
        if len(value) > MAX_CELL_TEXT:
            raise InvalidChange(f"{where}: text longer than Excel's {MAX_CELL_TEXT} characters")
        if _CONTROL_CHARACTERS.search(value):
            raise InvalidChange(f"{where}: the text holds control characters Excel cannot store")
    elif isinstance(value, float) and not math.isfinite(value):
        raise InvalidChange(f"{where}: {value} cannot be stored in a cell")


def _fill_step(change: SetFill, styles: StyleBook, resolved: dict[int, Change]) -> Step:
    def step(style: int) -> int:
        old = styles.fill(style)
        if change.ours_only and styles.has_fill(style) and old not in ANNOTATION_FILLS:
            resolved[id(change)] = replace(change, color=old, old=old)  # the team's colour: left as it is
            return style
        resolved[id(change)] = replace(change, old=old)
        return styles.with_fill(style, change.color)

    return step


def _format_step(change: SetNumberFormat, styles: StyleBook, resolved: dict[int, Change]) -> Step:
    def step(style: int) -> int:
        resolved[id(change)] = replace(change, old=styles.number_format(style))
        return styles.with_number_format(style, change.format)

    return step


def _plan_append(plan: _SheetPlan, layout: SheetLayout, change: AppendRows, first: int, styles: StyleBook) -> None:
    """Plan appended cells, styled as Excel styles a cell typed below a table: as the data cell
    above it, and with its column's number format (so "00123" in a text column stays text)."""
    model_row = layout.last_used_row if layout.last_used_row > 1 else 0  # row 1 is a header, not a model
    looks: dict[int, int] = {}
    for values in change.rows:
        for letter in values:
            column = column_index(letter)
            if column not in looks:
                column_style = layout.column_style(column)
                look = layout.last_row_styles.get(column, 0) if model_row else 0
                look = look or column_style
                column_format = plan.column_formats.get(column) or styles.number_format(column_style)
                if column_format != "General":
                    look = styles.with_number_format(look, column_format)
                looks[column] = look
    for offset, values in enumerate(change.rows):
        for letter, value in values.items():
            column = column_index(letter)
            _check_value(value, qualified(change.sheet, f"{letter}{first + offset}"))
            cell = plan.cell(first + offset, column)
            cell.value = value
            cell.look = looks[column]


def _spool_sheet(
    source: Path,
    plan: _SheetPlan,
    styles: StyleBook,
    epoch: dt.datetime,
    edits: dict[tuple[str, int, int], CellEdit],
    observed: dict[tuple[str, int, int], OldCell | None],
    spool: IO[bytes],
    resolved: dict[int, Change],
    shifts: list[_Shift],
) -> tuple[DeflatedPart, bool]:
    """Rewrite one sheet into ``spool``, deflated; and whether the sheet holds formulas."""
    if plan.layout is not None:
        columns = plan.layout.columns
    else:
        with open_part(source, plan.part) as stream:
            columns = column_spans(sheet_head(stream))
    layout = SheetLayout(columns, 0, {})

    def restyle_for(column: int, cell: _Cell) -> Callable[[int | None], int]:
        def restyle(old: int | None) -> int:
            if old is None:  # a new cell looks like its column (or as planned)
                style = cell.look if cell.look is not None else layout.column_style(column)
            else:  # a cell formatted already (a template's empty rows) keeps its look
                style = old if old or cell.look is None else cell.look
            for step in cell.steps:
                style = step(style)
            return style

        return restyle

    cells = {
        row: {column: CellWrite(cell.value, restyle=restyle_for(column, cell)) for column, cell in row_cells.items()}
        for row, row_cells in plan.cells.items()
    }

    def seen(row: int, column: int, old: OldCell | None) -> None:
        if (plan.part, row, column) in edits:
            observed[(plan.part, row, column)] = old

    tail_edits: list[Callable[[bytes], bytes]] = []
    if plan.notes is not None:
        tail_edits.append(plan.notes.tail)
    if plan.validations:
        tail_edits.append(lambda tail: _edit_validations(tail, plan.validations, resolved))
    own = next((shift for shift in shifts if shift.part == plan.part), None)
    head_edits = list(plan.head_edits)
    if own is not None:
        head_edits.append(_refusing(partial(shift_sheet_head, shift=own.shift)))
    for shift in shifts:  # validations set in this change set are numbered as read: moved after
        tail_edits.append(_refusing(partial(shift_sheet_tail, shift=shift.shift, host_sheet=plan.name)))
    rewrite = SheetRewrite(
        cells,
        seen=seen,
        date_style=_date_style(styles),
        epoch=epoch,
        tail=_chained(tail_edits),
        head=_chained(head_edits),
    )
    formulas = _FormulaSpotter()
    deflating = DeflatingSpool(spool)  # compresses in a thread while the rows are rewritten here
    try:
        with open_part(source, plan.part) as stream:
            if shifts:
                stream = cast(IO[bytes], _shifted_stream(stream, plan, own, shifts))
            for chunk in rewrite_sheet(stream, rewrite):
                formulas.look(chunk)
                deflating.write(chunk)
    except BaseException:
        deflating.abandon()
        raise
    return deflating.finish(), formulas.found


# -- rows deleted or inserted: everything below them moves, and every reference to them


@dataclass
class _Shift:
    """The rows one sheet loses or gains, and what the deleted ones held (for checks and undo)."""

    part: str
    name: str
    shift: RowShift
    changes: list[DeleteRows | InsertRows]
    comments: str | None = None  # its notes part, read before the rows move
    deleted: dict[int, dict[int, OldCell]] = field(default_factory=dict)  # old row -> column -> cell

    def removed(self, row: int, xml: bytes) -> None:
        cells: dict[int, OldCell] = {}
        for match in _CELL.finditer(xml):
            attributes = dict(_ATTRIBUTE.findall(match.group(1)))
            ref = attributes.get(b"r")
            if ref is None:
                raise Unsupported(f"a cell of row {row} has no r= attribute")
            column = column_index(re.sub(r"[0-9]", "", ref.decode("ascii")))
            cells[column] = _old_cell(attributes, match.group(2) or b"")
        self.deleted[row] = cells

    def checks(self) -> list[Check]:
        """Each deleted row's cells against the text the ChangeSet says was read there."""
        found: list[Check] = []
        for change in self.changes:
            if isinstance(change, DeleteRows):
                for row, values in zip(change.rows, change.values, strict=True):
                    cells = self.deleted.get(row, {})
                    for letter, seen in values.items():
                        where = qualified(self.name, f"{letter}{row}")
                        found.append((where, seen, cells.get(column_index(letter)), True))
        return found

    def resolve(self, resolved: dict[int, Change], styles: StyleBook, comments_xml: bytes | None) -> None:
        """Keep each deleted row's notes, fills and formats in its change, so undo puts them back."""
        notes = note_texts(comments_xml) if comments_xml is not None else {}
        for change in self.changes:
            if not isinstance(change, DeleteRows):
                continue
            attributes: list[dict[str, dict[str, str]]] = []
            for row in change.rows:
                found: dict[str, dict[str, str]] = {}
                for column, cell in self.deleted.get(row, {}).items():
                    entry: dict[str, str] = {}
                    fill = styles.fill(cell.style)
                    if fill:
                        entry["fill"] = fill
                    if styles.number_format(cell.style) != "General":
                        entry["format"] = styles.number_format(cell.style)
                    if entry:
                        found[column_letter(column)] = entry
                for (note_row, column), text in notes.items():
                    if note_row == row:
                        found.setdefault(column_letter(column), {})["note"] = text
                attributes.append(found)
            resolved[id(change)] = replace(change, attributes=tuple(attributes))


def _row_shifts(
    inventory: XlsxInventory, changes: ChangeSet, plan_for: Callable[[str], _SheetPlan]
) -> dict[str, _Shift]:
    """The rows each sheet loses or gains, by sheet part."""
    grouped: dict[str, list[DeleteRows | InsertRows]] = {}
    for change in changes:
        if isinstance(change, DeleteRows | InsertRows) and change.rows:
            grouped.setdefault(plan_for(change.sheet).part, []).append(change)
        elif isinstance(change, SetColumnFormat) and any(
            isinstance(c, DeleteRows | InsertRows) and c.sheet == change.sheet for c in changes
        ):
            raise Unsupported("a column format with rows deleted or inserted on the same sheet")
    shifts: dict[str, _Shift] = {}
    for part, found in grouped.items():
        kinds = {type(change) for change in found}
        if len(kinds) > 1 or (InsertRows in kinds and len(found) > 1):
            raise Unsupported("rows both deleted and inserted, or inserted twice, on one sheet in one change set")
        name = plan_for(found[0].sheet).name
        rows = [row for change in found for row in change.rows]
        try:
            if DeleteRows in kinds:
                shift = RowShift.deleting(name, rows, sheets=inventory.sheet_names)
            else:
                shift = RowShift.inserting(name, rows, sheets=inventory.sheet_names)
        except ValueError as error:
            raise InvalidChange(f"{name}: {error}") from None
        rels = rels_path(part)
        comments = None
        if rels in inventory.parts:
            targets = _unsupported_on_value_error(find_relationships, read_part(inventory.path, rels), COMMENTS_TYPE)
            comments = _target(part, targets[0][1]) if targets else None
        shifts[part] = _Shift(part, name, shift, found, comments)
    return shifts


def _refusing(edit: Callable[[bytes], bytes]) -> Callable[[bytes], bytes]:
    """A part edit that turns a reference it cannot move into a refusal to write."""

    def guarded(xml: bytes) -> bytes:
        try:
            return edit(xml)
        except CannotShift as error:
            raise WriteRefused(
                f"cannot move rows: {error.reason}",
                hint="remove or change that first, or delete the rows in Excel",
            ) from None

    return guarded


def _shifted_stream(stream: IO[bytes], plan: _SheetPlan, own: _Shift | None, shifts: list[_Shift]) -> ShiftedSheet:
    def formula(text: str) -> str:
        for shift in shifts:
            text = shift_formula(text, shift.shift, host_sheet=plan.name)
        return text

    def array_range(ref: str) -> str | None:
        return shift_range(ref, own.shift) if own is not None else ref

    move = RowMove(own.shift.new_row, own.shift.first_affected) if own is not None else None
    return ShiftedSheet(
        stream,
        move=move,
        formula=_refusing_text(formula),
        array_range=array_range,
        on_host=own is not None,
        removed=own.removed if own is not None else None,
    )


def _refusing_text(edit: Callable[[str], str]) -> Callable[[str], str]:
    def guarded(text: str) -> str:
        try:
            return edit(text)
        except CannotShift as error:
            raise WriteRefused(f"cannot move rows: {error.reason}", hint="change that formula first") from None

    return guarded


def _plan_insert(plan: _SheetPlan, change: InsertRows, styles: StyleBook, notes: list[tuple[SetNote, int]]) -> None:
    """Plan the cells of inserted rows (their numbers are final), with the notes, fills and
    formats undo kept for them."""
    for index, (row, values) in enumerate(zip(change.rows, change.values, strict=True)):
        for letter, value in values.items():
            _check_value(value, qualified(change.sheet, f"{letter}{row}"))
            plan.cell(row, column_index(letter)).value = value
        attributes = change.attributes[index] if change.attributes else {}
        for letter, entry in attributes.items():
            cell = plan.cell(row, column_index(letter))
            if "fill" in entry:
                cell.steps.append(partial(styles.with_fill, rgb=entry["fill"]))
            if "format" in entry:
                cell.steps.append(partial(styles.with_number_format, code=entry["format"]))
            if "note" in entry:
                notes.append((SetNote(change.sheet, row, letter, entry["note"]), row))


def _moved_anchors(source: Path, inventory: XlsxInventory, shift: _Shift) -> dict[str, bytes]:
    """The shifted sheet's notes, their VML boxes, threaded comments and drawings, moved with its rows."""
    rels = rels_path(shift.part)
    if rels not in inventory.parts:
        return {}
    rels_xml = read_part(source, rels)
    moved: dict[str, bytes] = {}
    movers: list[tuple[str, Callable[..., bytes]]] = [
        (COMMENTS_TYPE, shift_comments),
        (VML_DRAWING_TYPE, shift_vml),
        (_THREADED_COMMENTS_TYPE, shift_threaded_comments),
        (_DRAWING_TYPE, shift_drawing),
    ]
    for rel_type, mover in movers:
        for _, target in _unsupported_on_value_error(find_relationships, rels_xml, rel_type):
            part = _target(shift.part, target)
            if part in inventory.parts:
                old = read_part(source, part)
                new = _refusing(partial(mover, new_row=shift.shift.new_row))(old)
                if new != old:
                    moved[part] = new
    return moved


def _plan_references(
    source: Path,
    inventory: XlsxInventory,
    shifts: dict[str, _Shift],
    plans: dict[str, _SheetPlan],
    plan_for: Callable[[str], _SheetPlan],
) -> None:
    """Mark the other sheets whose formulas name a shifted sheet: they are rewritten too."""
    # as a formula spells it: quoted names double their apostrophes ('Bob''s Data'!A1)
    names = [shift.name.replace("'", "''").casefold() for shift in shifts.values()]
    for sheet in inventory.sheets:
        if sheet.part in shifts:
            continue
        with open_part(source, sheet.part) as stream:
            chunks = iter(lambda: stream.read(_SPOOL_CHUNK), b"")
            if any(name in text.casefold() for text in formula_texts(chunks) for name in names):
                plan_for(sheet.name).moving = True
    for part in shifts:
        plans.setdefault(part, _SheetPlan(part, shifts[part].name)).moving = True


def _moved_references(
    inventory: XlsxInventory, shifts: dict[str, _Shift], read: Callable[[str], bytes]
) -> dict[str, bytes]:
    """Defined names, tables, charts and pivot caches, their references to moved rows moved."""
    moved: dict[str, bytes] = {}

    def edit(part: str, change: Callable[[bytes], bytes]) -> None:
        old = moved.get(part) or read(part)
        new = _refusing(change)(old)
        if new != old:
            moved[part] = new

    owners: dict[str, str] = {}  # table part -> the sheet it is on
    for sheet in inventory.sheets:
        rels = rels_path(sheet.part)
        if rels in inventory.parts:
            for _, target in _unsupported_on_value_error(find_relationships, read(rels), _TABLE_TYPE):
                owners[_target(sheet.part, target)] = sheet.name
    for shift in shifts.values():
        edit(inventory.workbook_part, partial(shift_defined_names, shift=shift.shift))
        for table, owner in owners.items():
            edit(table, partial(shift_table_part, shift=shift.shift, host_sheet=owner))
        for part in inventory.parts:
            if part.startswith("xl/charts/chart") and part.endswith(".xml"):
                edit(part, partial(shift_chart_part, shift=shift.shift))
            elif part.startswith("xl/pivotCache/pivotCacheDefinition") and part.endswith(".xml"):
                edit(part, partial(shift_pivot_cache, shift=shift.shift))
    return moved


def _chained(edits: list[Callable[[bytes], bytes]]) -> Callable[[bytes], bytes] | None:
    if not edits:
        return None

    def edit(xml: bytes) -> bytes:
        for one in edits:
            xml = one(xml)
        return xml

    return edit


# -- column formats and data validations


def _column_format_cells(
    source: Path, changes: ChangeSet, plan_for: Callable[[str], _SheetPlan]
) -> dict[tuple[str, int], dict[int, OldCell]]:
    """The existing cells of every column a SetColumnFormat formats: ``{(part, column): {row: cell}}``,
    found in one pass over each sheet."""
    wanted: dict[str, dict[int, int]] = {}  # part -> column -> first row
    for change in changes:
        if isinstance(change, SetColumnFormat):
            columns = wanted.setdefault(plan_for(change.sheet).part, {})
            column = column_index(change.column)
            first = change.first_row if change.cells is None else min((r[0] for r in change.cells), default=MAX_ROWS)
            columns[column] = min(columns.get(column, MAX_ROWS), first)
    found: dict[tuple[str, int], dict[int, OldCell]] = {}
    for part, columns in wanted.items():
        for column in columns:
            found[(part, column)] = {}
        with open_part(source, part) as stream:
            for row, column, cell in column_cells(stream, columns, first_row=min(columns.values())):
                if row >= columns[column]:
                    found[(part, column)][row] = cell
    return found


def _plan_column_format(
    plan: _SheetPlan,
    change: SetColumnFormat,
    formatted: dict[tuple[str, int], dict[int, OldCell]],
    styles: StyleBook,
    resolved: dict[int, Change],
) -> None:
    """Give the column's ``<col>`` the format, and the cells that should show it (see SetColumnFormat)."""
    column = column_index(change.column)
    cells = formatted[(plan.part, column)]

    def step(style: int) -> int:
        return styles.with_number_format(style, change.format)

    def format_step(code: str) -> Step:
        return lambda style: styles.with_number_format(style, code)

    previous: list[tuple[int, str | None]] = []
    if change.cells is None:
        for row in sorted(cells):
            old = cells[row]
            if row < change.first_row:
                continue
            text_or_empty = old.value is None or old.kind in ("s", "inlineStr", "str")
            if styles.number_format(old.style) == "General" and not old.formula and text_or_empty:
                previous.append((row, "General"))
                plan.cell(row, column).steps.append(step)
            else:
                previous.append((row, None))  # numbers, dates, formulas, the team's formats: kept
    else:
        for first, last, code in change.cells:
            for row in sorted(r for r in cells if first <= r <= last):
                previous.append((row, styles.number_format(cells[row].style)))
                plan.cell(row, column).steps.append(format_step(code))
            previous.append((0, None))  # two runs stay two runs
    runs = format_runs(previous)
    resolved[id(change)] = replace(change, previous=runs)

    def restyle(old: int) -> int:
        resolved[id(change)] = replace(change, old=styles.number_format(old), previous=runs)
        return styles.with_number_format(old, change.format)

    plan.head_edits.append(lambda head: with_column_style(head, column, restyle)[0])
    plan.column_formats[column] = change.format


def _validation_edit(change: SetDropdown | SetValidation) -> ValidationEdit:
    if isinstance(change, SetDropdown):
        return ValidationEdit(change.ref, lists=True, element=dropdown_element(change))
    element = rule_element(change.rule, change.ref) if change.rule is not None else None
    return ValidationEdit(change.ref, lists=False, element=element)


def _edit_validations(
    tail: bytes, planned: list[tuple[SetDropdown | SetValidation, ValidationEdit]], resolved: dict[int, Change]
) -> bytes:
    new_tail, found = _unsupported_on_value_error(edit_validations, tail, [edit for _, edit in planned])
    for (change, _), old in zip(planned, found, strict=True):
        if isinstance(change, SetDropdown):
            resolved[id(change)] = replace(change, old=old.dropdown() if old is not None else None)
        else:
            resolved[id(change)] = replace(change, old=old.rule() if old is not None else None)
    return new_tail


def _date_style(styles: StyleBook) -> Callable[[int, CellValue], int]:
    """In a General or text cell a date would show as its serial number (45351): give it a date format."""

    def date_style(style: int, value: CellValue) -> int:
        if styles.number_format(style) not in ("General", "@"):
            return style
        code = "yyyy-mm-dd hh:mm:ss" if isinstance(value, dt.datetime) else "yyyy-mm-dd"
        return styles.with_number_format(style, code)

    return date_style


Check = tuple[str, str, OldCell | None, bool]
"""A cell to check before writing: where, the text read, what the file holds, and whether a
formula there counts by its cached value (a row to delete) or always conflicts (a cell to overwrite)."""


def _conflicts(inventory: XlsxInventory, checks: list[Check], styles: StyleBook, epoch: dt.datetime) -> list[str]:
    """The cells whose value is no longer the one the ChangeSet says was read."""
    wanted = {
        int(old.value)
        for _, _, old, _ in checks
        if old is not None and old.kind == "s" and old.value is not None and old.value.strip().isdigit()
    }
    shared: dict[int, str] = {}
    if wanted:
        if inventory.shared_strings_part is None:
            raise Unsupported("text cells point into a shared string table the workbook does not have")
        try:
            with open_part(inventory.path, inventory.shared_strings_part) as stream:
                shared = resolve_shared_strings(stream, wanted)
        except ValueError as error:
            raise Unsupported(f"sharedStrings.xml: {error}") from None
    found: list[str] = []
    for where, seen, old, cached in checks:
        if cached and old is not None and old.formula:
            old = replace(old, formula=False)
        texts = _texts(old, styles, epoch, shared)
        if texts is None or seen not in texts:
            found.append(where)
    return found


def _texts(old: OldCell | None, styles: StyleBook, epoch: dt.datetime, shared: dict[int, str]) -> set[str] | None:
    """The texts a reader may have made of a cell (None for a formula, which is never overwritten)."""
    if old is None:
        return {""}
    if old.formula:
        return None
    value = old.value
    if value is None:
        return {""}
    kind = old.kind
    if kind == "s":
        text = shared.get(int(value)) if value.strip().isdigit() else None
        return {text} if text is not None else set()
    if kind in ("inlineStr", "str"):
        return {decode_escapes(value)}
    if kind == "b":
        return {"TRUE" if value.strip() in ("1", "true") else "FALSE"}
    if kind in ("e", "d"):
        return {value, value.removesuffix("T00:00:00")}
    try:
        number = float(value)
    except ValueError:
        return {value}
    texts = {number_text(number)}
    if styles.is_date(old.style) and math.isfinite(number):
        texts |= _date_texts(number, epoch)
    return texts


def _date_texts(serial: float, epoch: dt.datetime) -> set[str]:
    """A date cell as the reader shows it: a date, a date and time, or a time of day."""
    days = serial + 1 if epoch == _EPOCH_1900 and serial < 61 else serial  # Excel's 29 February 1900
    try:
        moment = epoch + dt.timedelta(days=days)
    except OverflowError:
        return set()
    moment = moment.replace(microsecond=round(moment.microsecond / 1000) * 1000 % 1_000_000)
    texts = {to_text(moment), to_text(moment.replace(microsecond=0))}
    if 0 <= serial < 1:
        texts.add(to_text(moment.time()))
    return texts


def _any_formulas(source: Path, inventory: XlsxInventory, skip: set[str]) -> bool:
    """Whether any other worksheet holds a formula (searched in C, chunk by chunk)."""
    for sheet in inventory.sheets:
        if sheet.part in skip:
            continue
        formulas = _FormulaSpotter()
        with open_part(source, sheet.part) as stream:
            for chunk in iter(lambda: stream.read(_SPOOL_CHUNK), b""):
                if formulas.look(chunk):
                    return True
    return False


class _FormulaSpotter:
    """Whether a part streamed chunk by chunk holds a formula (``<f>``, ``<f t=…>``), searched in C."""

    def __init__(self) -> None:
        self.found = False
        self._carry = b""  # a tag cut by a chunk's end

    def look(self, chunk: bytes) -> bool:
        if not self.found:
            window = self._carry + chunk[:8]
            self.found = any(tag in text for tag in (b"<f>", b"<f ") for text in (chunk, window))
            self._carry = chunk[-3:]
        return self.found


_CALC_PR = re.compile(rb"<((?:\w+:)?)calcPr\b([^>]*?)(/?)>")
# <calcPr> comes right after these, the last of them present (CT_Workbook's sequence)
_BEFORE_CALC_PR = re.compile(rb"</(?:\w+:)?(?:definedNames|externalReferences|functionGroups|sheets)>")
_ROOT = re.compile(rb"<((?:\w+:)?)workbook\b")


def with_full_calc_on_load(workbook_xml: bytes) -> bytes:
    """workbook.xml with ``<calcPr fullCalcOnLoad="1">``, so Excel and LibreOffice recompute
    formulas that depend on cells written here; the cached values of the rest stay as they were."""
    found = _CALC_PR.search(workbook_xml)
    if found is not None:
        attributes = found.group(2)
        if re.search(rb'\sfullCalcOnLoad="(?:1|true)"', attributes):
            return workbook_xml
        attributes = re.sub(rb'\sfullCalcOnLoad="[^"]*"', b"", attributes) + b' fullCalcOnLoad="1"'
        tag = b"<" + found.group(1) + b"calcPr" + attributes + found.group(3) + b">"
        return workbook_xml[: found.start()] + tag + workbook_xml[found.end() :]
    root = _ROOT.search(workbook_xml)
    before = [match.end() for match in _BEFORE_CALC_PR.finditer(workbook_xml)]
    if root is None or not before:
        raise Unsupported("workbook.xml has no <sheets> element to place the recalculation flag after")
    tag = b"<" + root.group(1) + b'calcPr fullCalcOnLoad="1"/>'
    return workbook_xml[: before[-1]] + tag + workbook_xml[before[-1] :]


# -- notes: the comments part, its VML drawing, and the relationships that tie them to the sheet


def _constant(content: bytes) -> PartWriter:
    return lambda _old: [content]


def _unsupported_on_value_error(function: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
    """Run a part editor; a part it cannot edit safely (ValueError) sends the change to openpyxl."""
    try:
        return function(*args, **kwargs)
    except ValueError as error:
        raise Unsupported(str(error)) from None


class _PartNames:
    """Names for new parts, unused in any case (OPC compares part names ignoring case)."""

    def __init__(self, parts: Iterable[str]) -> None:
        self._taken = {name.casefold() for name in parts}

    def new(self, pattern: str) -> str:
        number = 1
        while pattern.format(number).casefold() in self._taken:
            number += 1
        name = pattern.format(number)
        self._taken.add(name.casefold())
        return name


def _target(part: str, target: str) -> str:
    """A relationship's target as a part name (targets are relative to the source part's folder)."""
    return resolve_target(posixpath.dirname(part), target)


@dataclass
class _Notes:
    """The notes of one sheet: its comments part edited now, its VML drawing once the sheet's
    tail (where ``<legacyDrawing>`` sits) has been seen."""

    sheet_part: str
    names: _PartNames
    rels_part: str
    rels_xml: bytes | None
    rels_new: bool
    comments_part: str
    comments_xml: bytes
    comments_new: bool
    added: set[tuple[int, int]]
    removed: set[tuple[int, int]]
    vml_part: str | None = None
    vml_xml: bytes | None = None
    vml_new: bool = False
    rels_changed: bool = False
    vml_rel: str = ""
    overrides: dict[str, str] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)

    @classmethod
    def plan(
        cls,
        read: Callable[[str], bytes],
        inventory: XlsxInventory,
        sheet_part: str,
        changes: list[tuple[SetNote, int]],
        names: _PartNames,
        resolved: dict[int, Change],
    ) -> _Notes:
        """Plan the notes of one sheet: each change with the row it lands on (rows may move);
        ``read`` gives parts as they are so far (moved with their rows)."""
        rels_part = rels_path(sheet_part)
        rels_xml = read(rels_part) if rels_part in inventory.parts else None
        found = _unsupported_on_value_error(find_relationships, rels_xml, COMMENTS_TYPE)
        comments_part = _target(sheet_part, found[0][1]) if found else names.new("xl/comments{}.xml")
        old_comments = read(comments_part) if found else None
        writes = [NoteWrite(row, column_index(change.column), change.text, change.ours_only) for change, row in changes]
        comments_xml, results = _unsupported_on_value_error(edit_comments, old_comments, writes, author=NOTE_AUTHOR)
        before: dict[tuple[int, int], str | None] = {}
        after: dict[tuple[int, int], str | None] = {}
        for (change, _), result in zip(changes, results, strict=True):
            resolved[id(change)] = replace(change, text=result.text, old=result.old)
            before.setdefault((result.row, result.column), result.old)
            after[(result.row, result.column)] = result.text
        notes = cls(
            sheet_part,
            names,
            rels_part,
            rels_xml,
            rels_xml is None,
            comments_part,
            comments_xml,
            not found,
            added={cell for cell, text in after.items() if text is not None and before[cell] is None},
            removed={cell for cell, text in after.items() if text is None and before[cell] is not None},
        )
        if not found:
            notes._relate(COMMENTS_TYPE, comments_part)
            notes.overrides["/" + comments_part] = COMMENTS_CONTENT_TYPE
        return notes

    def _relate(self, rel_type: str, part: str) -> str:
        target = posixpath.relpath(part, posixpath.dirname(self.sheet_part))
        self.rels_xml, rel_id = _unsupported_on_value_error(add_relationship, self.rels_xml, rel_type, target)
        self.rels_changed = True
        return rel_id

    def changes_sheet(self, source: Path) -> bool:
        """Whether the sheet part must change (to point at a new drawing); reads only its tail
        when it has no cells to write either."""
        with open_part(source, self.sheet_part) as stream:
            tail = sheet_tail(stream)
        return self.tail(tail) != tail

    def tail(self, tail: bytes) -> bytes:
        """The sheet's tail, pointing at the VML drawing (created here when it has none)."""
        rel_id = _unsupported_on_value_error(legacy_drawing_id, tail)
        if rel_id is not None:
            drawings = dict(_unsupported_on_value_error(find_relationships, self.rels_xml, VML_DRAWING_TYPE))
            if rel_id not in drawings:
                raise Unsupported(f"{self.sheet_part}: its <legacyDrawing> points at a relationship it does not have")
            self.vml_part = _target(self.sheet_part, drawings[rel_id])
            return tail
        if self.vml_part is None or not self.vml_new:
            self.vml_part = self.names.new("xl/drawings/vmlDrawing{}.vml")
            self.vml_new = True
            self.vml_rel = self._relate(VML_DRAWING_TYPE, self.vml_part)
            self.defaults["vml"] = VML_CONTENT_TYPE
        return _unsupported_on_value_error(with_legacy_drawing, tail, self.vml_rel)

    def settle(self, source: Path, read: Callable[[str], bytes]) -> None:
        """Edit (or make) the VML drawing, once the tail has named it."""
        if self.vml_part is None:  # the sheet was not streamed: its tail points at a drawing already
            with open_part(source, self.sheet_part) as stream:
                self.tail(sheet_tail(stream))
        assert self.vml_part is not None
        old = None if self.vml_new else read(self.vml_part)
        self.vml_xml = _unsupported_on_value_error(edit_vml, old, self.added, self.removed)
        if not self.vml_new and self.vml_xml == old:
            self.vml_xml = None

    def parts(self) -> list[tuple[str, bytes, bool]]:
        """(name, content, is new) of every part to write besides the sheet."""
        found: list[tuple[str, bytes, bool]] = [(self.comments_part, self.comments_xml, self.comments_new)]
        if self.vml_part is not None and self.vml_xml is not None:
            found.append((self.vml_part, self.vml_xml, self.vml_new))
        if self.rels_changed and self.rels_xml is not None:
            found.append((self.rels_part, self.rels_xml, self.rels_new))
        return found

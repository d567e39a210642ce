"""ChangeSet: the only way sheetcrm writes anything to a workbook.

A ChangeSet lists changes addressed the way the sheet was read: a cell edit names
the row number it had in the Table and the value seen there, so a backend can refuse
when a person edited the cell meanwhile. Backends apply the changes in one fixed order:

1. cell-level changes (edits, notes, fills, number formats), column formats,
   dropdowns and other data validations, addressed by the row numbers as read;
2. row deletions (by row number as read);
3. row insertions (by the row number each inserted row ends up with);
4. appended rows (after the last row in use; each cell takes the format of its column);
5. whole sheets replaced or deleted.

Applying returns the same ChangeSet *resolved*: with what was there before each note,
fill and format, and with the row numbers appended rows got. A resolved ChangeSet can
be inverted, which is how ``undo`` works::

    >>> changes = ChangeSet("normalise phones")
    >>> changes.edit("Customers", 14, "E", old="138 0013 8000", new="+8613800138000")
    >>> print(changes.preview())
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, ClassVar, Literal, TypeAlias, get_args

from sheetcrm.errors import InvalidChange
from sheetcrm.sync.a1 import MAX_ROWS, cell_address, column_index
from sheetcrm.sync.values import to_text

ANNOTATION_FILLS = frozenset({"FFC7CE", "FFEB9C"})
"""The fills sheetcrm marks findings with (errors, warnings); only these count as its own."""

NOTE_AUTHOR = "sheetcrm"
"""The author of the notes sheetcrm writes; only notes by it count as its own."""

CellValue: TypeAlias = str | int | float | bool | dt.date | dt.datetime | None
"""What a change may write into a cell. Strings are always written as literal text."""

RowValues: TypeAlias = Mapping[str, CellValue]
"""One row's values keyed by column letter: ``{"A": "C-000001", "B": "Zhang Wei"}``."""


@dataclass(frozen=True)
class CellEdit:
    """Write ``new`` into a cell that held ``old`` (as text) when it was read."""

    sheet: str
    row: int
    column: str
    old: str
    new: CellValue
    field: str | None = None
    kind: ClassVar[str] = "edit"

    @property
    def cell(self) -> str:
        return cell_address(self.column, self.row)


@dataclass(frozen=True)
class SetNote:
    """Set (or with ``text=None`` remove) the note of a cell; ``old`` is filled in when applied.

    With ``ours_only`` the change applies only where the cell has no note or one sheetcrm
    wrote: a person's note is never replaced or removed (the resolved change then keeps it).
    """

    sheet: str
    row: int
    column: str
    text: str | None
    old: str | None = None
    ours_only: bool = False
    kind: ClassVar[str] = "note"

    @property
    def cell(self) -> str:
        return cell_address(self.column, self.row)


@dataclass(frozen=True)
class SetFill:
    """Fill a cell with an RGB colour such as ``"FFF2CC"`` (``None`` clears it).

    With ``ours_only`` it applies only where the cell has no fill or one of
    :data:`ANNOTATION_FILLS`: a team's own colours are never touched.
    """

    sheet: str
    row: int
    column: str
    color: str | None
    old: str | None = None
    ours_only: bool = False
    kind: ClassVar[str] = "fill"

    @property
    def cell(self) -> str:
        return cell_address(self.column, self.row)


@dataclass(frozen=True)
class SetNumberFormat:
    """Set a cell's number format, e.g. ``"yyyy-mm-dd"`` or ``"@"`` (text)."""

    sheet: str
    row: int
    column: str
    format: str
    old: str | None = None
    kind: ClassVar[str] = "format"

    @property
    def cell(self) -> str:
        return cell_address(self.column, self.row)


ColumnRuns: TypeAlias = tuple[tuple[int, int, str], ...]
"""Runs of rows of one column, each with a number format: ``((2, 900, "General"),)``.

A run covers the cells that exist from its first row to its last; rows between them
without a cell are not part of it (in a file, an empty cell usually has none)."""


@dataclass(frozen=True)
class SetColumnFormat:
    """Set the number format of a whole column from ``first_row`` down, as one change.

    The column gets ``format`` as its default, which Excel and LibreOffice give every
    cell typed into it later, and so do its existing cells from ``first_row`` down
    that are empty or hold text and still have the General format. Cells holding
    numbers, dates, booleans or formulas, and cells with a format of their own, keep
    theirs: a new format would change what a person sees there (3.7 shown as 4, a
    number as a date). ``cells``, when given, says instead exactly which existing
    cells get which format (undo uses it).

    ``old`` (the column's default before, ``"General"`` when it had none) and
    ``previous`` (what the cells changed had before, as runs) are filled in when applied.
    """

    sheet: str
    column: str
    format: str
    first_row: int = 2
    old: str | None = None
    cells: ColumnRuns | None = None
    previous: ColumnRuns | None = None
    kind: ClassVar[str] = "column-format"

    @property
    def ref(self) -> str:
        """The range it covers, in A1 notation: ``"F2:F1048576"``."""
        return f"{self.column}{self.first_row}:{self.column}{MAX_ROWS}"


def format_runs(cells: Iterable[tuple[int, str | None]]) -> ColumnRuns:
    """Group ``(row, format)`` pairs, ascending by row, into runs of one format.

    A ``None`` format ends the current run: that row's cell exists but is not part of it.
    """
    runs: list[tuple[int, int, str]] = []
    open_run = False
    for row, format in cells:
        if format is None:
            open_run = False
        elif open_run and runs[-1][2] == format:
            runs[-1] = (runs[-1][0], row, format)
        else:
            runs.append((row, row, format))
            open_run = True
    return tuple(runs)


@dataclass(frozen=True)
class SetDropdown:
    """Put a dropdown (list data validation) on a range, or remove it.

    ``choices`` lists the options; ``source`` is a range holding them instead
    (``"_lists!$A$1:$A$40"``), for lists too long for Excel's 255-character limit.
    Both ``None`` removes the dropdown on exactly this range. ``old`` is the
    ``(choices, source)`` the range had before, filled in when applied.
    """

    sheet: str
    ref: str
    choices: tuple[str, ...] | None = None
    source: str | None = None
    old: tuple[tuple[str, ...] | None, str | None] | None = None
    kind: ClassVar[str] = "dropdown"


ValidationType: TypeAlias = Literal["whole", "decimal", "date", "time", "textLength", "custom"]
"""The data validation types :class:`SetValidation` writes (a list is a :class:`SetDropdown`)."""
ValidationOperator: TypeAlias = Literal[
    "between", "notBetween", "equal", "notEqual", "greaterThan", "lessThan", "greaterThanOrEqual", "lessThanOrEqual"
]
VALIDATION_TYPES: frozenset[str] = frozenset(get_args(ValidationType))

VALIDATION_OPERATORS: dict[str, str] = {
    "between": "between",
    "notBetween": "not between",
    "equal": "=",
    "notEqual": "≠",
    "greaterThan": ">",
    "lessThan": "<",
    "greaterThanOrEqual": "≥",
    "lessThanOrEqual": "≤",
}
"""Excel's comparison operators, with the way a preview shows them."""

MAX_ERROR_TITLE = 32
MAX_ERROR_MESSAGE = 255  # Excel's limits: longer messages make it repair the file


@dataclass(frozen=True)
class ValidationRule:
    """A data validation other than a dropdown: what a range accepts, and what Excel says otherwise.

    Formulas are written without a leading ``=``; dates and times are Excel serial
    numbers (``"1"`` is 1900-01-01)::

        >>> ValidationRule("whole", "between", "1", "5", error="Enter a whole number from 1 to 5.")
        >>> ValidationRule("decimal", "greaterThanOrEqual", "0")
    """

    type: ValidationType
    operator: ValidationOperator = "between"
    formula1: str = ""
    formula2: str | None = None
    allow_blank: bool = True
    show_error: bool = True
    error_title: str | None = None
    error: str | None = None

    def problem(self) -> str | None:
        """Why Excel would not take this rule, or ``None`` when it would."""
        if self.type not in VALIDATION_TYPES:
            return f"unknown validation type {self.type!r} (one of {', '.join(sorted(VALIDATION_TYPES))})"
        if self.type != "custom" and self.operator not in VALIDATION_OPERATORS:
            return f"unknown operator {self.operator!r} (one of {', '.join(VALIDATION_OPERATORS)})"
        if not self.formula1:
            return "a validation needs formula1"
        if self.type != "custom" and (self.formula2 is None) == (self.operator in ("between", "notBetween")):
            return f"the operator {self.operator!r} takes {'two values' if self.formula2 is None else 'one value'}"
        if len(self.error_title or "") > MAX_ERROR_TITLE or len(self.error or "") > MAX_ERROR_MESSAGE:
            return f"Excel allows error titles of {MAX_ERROR_TITLE} and messages of {MAX_ERROR_MESSAGE} characters"
        return None

    def describe(self) -> str:
        """The rule in a few words: ``"whole number between 1 and 5"``, ``"date ≥ 2024-01-01"``."""
        noun = {"whole": "whole number", "decimal": "number", "textLength": "text length"}.get(self.type, self.type)
        if self.type == "custom":
            return f"custom ={self.formula1}"
        first = _serial_text(self.type, self.formula1)
        if self.formula2 is not None:
            second = _serial_text(self.type, self.formula2)
            return f"{noun} {VALIDATION_OPERATORS.get(self.operator, self.operator)} {first} and {second}"
        return f"{noun} {VALIDATION_OPERATORS.get(self.operator, self.operator)} {first}"


def _serial_text(type: str, formula: str) -> str:
    """A date validation's serial number as the date it stands for; anything else as it is."""
    if type != "date":
        return formula
    try:
        serial = float(formula)
    except ValueError:
        return formula  # a formula or a cell reference
    if not 1 <= serial < 2_958_466:  # 1900-01-01 to 9999-12-31
        return formula
    # Excel counts a 29 February 1900 that never was: serials from 61 on are one day ahead
    start = dt.datetime(1899, 12, 30) if serial >= 61 else dt.datetime(1899, 12, 31)
    moment = start + dt.timedelta(days=serial)
    if moment.time() == dt.time(0):
        return moment.date().isoformat()
    return moment.isoformat(sep=" ", timespec="seconds")


@dataclass(frozen=True)
class SetValidation:
    """Put a date, number or other value rule (a :class:`ValidationRule`) on a range, or remove it.

    It is the rule on exactly ``ref`` other than a dropdown (which :class:`SetDropdown`
    sets): ``rule=None`` removes the one there. ``old`` is the rule the range had before
    (``None`` if none), filled in when applied; of a rule in a file only what a
    ValidationRule holds is kept (not an input prompt, nor a warning-only error style).
    """

    sheet: str
    ref: str
    rule: ValidationRule | None
    old: ValidationRule | None = None
    kind: ClassVar[str] = "validation"

    def __post_init__(self) -> None:
        # from JSON the rules come back as mappings
        for name in ("rule", "old"):
            value = getattr(self, name)
            if isinstance(value, Mapping):
                object.__setattr__(self, name, ValidationRule(**value))


@dataclass(frozen=True)
class AppendRows:
    """Add rows after the last row in use; ``first_row`` is filled in when applied.

    A new cell takes the style of the cell above it (a data row), else the number format
    of its column (see :class:`SetColumnFormat`): a phone typed into a text column stays
    text, a date in a date column shows as a date.
    """

    sheet: str
    rows: tuple[RowValues, ...]
    first_row: int | None = None
    kind: ClassVar[str] = "append"


CellAttributes: TypeAlias = Mapping[str, Mapping[str, str]]
"""A row's notes, fills and number formats: ``{"B": {"note": "call back", "fill": "FFF2CC"}}``."""


@dataclass(frozen=True)
class DeleteRows:
    """Delete rows (numbers as read); ``values`` holds each row's text as seen, for checks and undo.

    ``attributes`` (filled in when applied) keeps each row's notes, fills and formats, so
    that undo puts them back too.
    """

    sheet: str
    rows: tuple[int, ...]
    values: tuple[Mapping[str, str], ...]
    attributes: tuple[CellAttributes, ...] | None = None
    kind: ClassVar[str] = "delete"


@dataclass(frozen=True)
class InsertRows:
    """Insert rows so that each ends up at the given row number (ascending)."""

    sheet: str
    rows: tuple[int, ...]
    values: tuple[RowValues, ...]
    attributes: tuple[CellAttributes, ...] | None = None
    kind: ClassVar[str] = "insert"


ChartType: TypeAlias = Literal["column", "stacked-column", "bar", "stacked-bar", "line", "pie"]
"""Chart kinds: ``column`` bars stand up, ``bar`` bars lie down; ``stacked-`` stacks the series."""
CHART_TYPES: frozenset[str] = frozenset(get_args(ChartType))


@dataclass(frozen=True)
class ChartSeries:
    """One series of a :class:`Chart`: a range of values and, optionally, the cell naming it."""

    values: str  # "B4:B15", on the chart's own sheet
    name: str | None = None  # the cell holding the series name, e.g. "B3"


@dataclass(frozen=True)
class Chart:
    """A native Excel chart on a sheet that a :class:`ReplaceSheet` writes, drawn from its ranges.

    ``categories`` and each series' ``values`` are ranges of that sheet (``"A4:A15"``); the chart's
    top-left corner sits on ``anchor`` and it spans ``size`` (columns, rows)::

        >>> Chart("column", "Revenue by month", "A4:A15", (ChartSeries("B4:B15", name="B3"),))
    """

    type: ChartType
    title: str
    categories: str
    series: tuple[ChartSeries, ...]
    anchor: str = "H2"
    size: tuple[int, int] = (8, 16)
    x_title: str | None = None
    y_title: str | None = None

    def __post_init__(self) -> None:
        # from JSON the series come back as mappings
        series = tuple(ChartSeries(**s) if isinstance(s, Mapping) else s for s in self.series)
        object.__setattr__(self, "series", series)
        object.__setattr__(self, "size", tuple(self.size))


@dataclass(frozen=True)
class CellStyle:
    """How cells of a sheet that sheetcrm writes look: a header, a total, a currency column.

    ``fill`` and ``color`` are RGB (``"DDEBF7"``); ``number_format`` an Excel format code
    (``"#,##0.00"``, ``"0.0%"``, ``"yyyy-mm-dd"``).
    """

    bold: bool = False
    italic: bool = False
    size: float | None = None
    color: str | None = None
    fill: str | None = None
    number_format: str | None = None
    wrap: bool = False
    top_border: bool = False
    bottom_border: bool = False


@dataclass(frozen=True)
class ReplaceSheet:
    """Create a sheet, or replace one sheetcrm owns, with these rows (row 1 first).

    ``hidden`` hides the sheet (from the tabs; Excel's "Unhide" shows it). ``old`` is the
    text of the sheet's cells before (``None`` if it did not exist) and ``old_hidden``
    whether it was hidden, both filled in when applied.
    """

    sheet: str
    rows: tuple[tuple[CellValue, ...], ...]
    freeze: str | None = None
    column_widths: Mapping[str, float] = field(default_factory=dict)
    old: tuple[tuple[str, ...], ...] | None = None
    links: Mapping[str, str] = field(default_factory=dict)  # cell → target, e.g. {"B2": "Customers!E14"}
    hidden: bool = False
    old_hidden: bool = False
    styles: Mapping[str, CellStyle] = field(default_factory=dict)  # range → look; later ranges win per field
    charts: tuple[Chart, ...] = ()
    dropdowns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # range → choices, e.g. a review column
    kind: ClassVar[str] = "replace-sheet"

    def __post_init__(self) -> None:
        # from JSON the styles and charts come back as mappings
        styles = {ref: CellStyle(**s) if isinstance(s, Mapping) else s for ref, s in self.styles.items()}
        object.__setattr__(self, "styles", styles)
        charts = tuple(Chart(**c) if isinstance(c, Mapping) else c for c in self.charts)
        object.__setattr__(self, "charts", charts)
        object.__setattr__(self, "dropdowns", {ref: tuple(choices) for ref, choices in self.dropdowns.items()})


@dataclass(frozen=True)
class DeleteSheet:
    """Delete a sheet sheetcrm owns; ``old`` keeps its text for undo, ``old_hidden`` whether it was hidden."""

    sheet: str
    old: tuple[tuple[str, ...], ...] | None = None
    old_hidden: bool = False
    kind: ClassVar[str] = "delete-sheet"


Change: TypeAlias = (
    CellEdit
    | SetNote
    | SetFill
    | SetNumberFormat
    | SetColumnFormat
    | SetDropdown
    | SetValidation
    | AppendRows
    | DeleteRows
    | InsertRows
    | ReplaceSheet
    | DeleteSheet
)
CELL_CHANGES = (CellEdit, SetNote, SetFill, SetNumberFormat)
_KINDS: dict[str, type[Any]] = {
    cls.kind: cls
    for cls in (
        CellEdit,
        SetNote,
        SetFill,
        SetNumberFormat,
        SetColumnFormat,
        SetDropdown,
        SetValidation,
        AppendRows,
        DeleteRows,
        InsertRows,
        ReplaceSheet,
        DeleteSheet,
    )
}


@dataclass(frozen=True)
class PreviewLine:
    """One line of a ChangeSet preview: where, what, before, after."""

    sheet: str
    where: str
    action: str
    before: str
    after: str


class ChangeSet:
    """An ordered list of changes to one workbook, applied as one unit."""

    def __init__(self, description: str = "", changes: Iterable[Change] = (), *, resolved: bool = False) -> None:
        self.description = description
        self.changes: list[Change] = list(changes)
        self.resolved = resolved

    # -- building ---------------------------------------------------------------------------

    def add(self, change: Change) -> None:
        """Add any change."""
        self.changes.append(change)

    def edit(self, sheet: str, row: int, column: str, *, old: str, new: CellValue, field: str | None = None) -> None:
        """Edit one cell; ``old`` is the text the cell held when it was read."""
        self.add(CellEdit(sheet, row, _letters(column), old, new, field))

    def note(self, sheet: str, row: int, column: str, text: str | None, *, ours_only: bool = False) -> None:
        """Set or remove a cell note (``ours_only``: never a note a person wrote)."""
        self.add(SetNote(sheet, row, _letters(column), text, ours_only=ours_only))

    def fill(self, sheet: str, row: int, column: str, color: str | None, *, ours_only: bool = False) -> None:
        """Fill a cell with an RGB colour such as ``"FFF2CC"``, or clear it with ``None``."""
        self.add(SetFill(sheet, row, _letters(column), _color(color), ours_only=ours_only))

    def number_format(self, sheet: str, row: int, column: str, format: str) -> None:
        """Set a cell's number format."""
        self.add(SetNumberFormat(sheet, row, _letters(column), format))

    def column_format(self, sheet: str, column: str, format: str, *, first_row: int = 2) -> None:
        """Set the number format of a whole column from ``first_row`` down (see :class:`SetColumnFormat`)."""
        self.add(SetColumnFormat(sheet, _letters(column), format, first_row))

    def dropdown(
        self, sheet: str, ref: str, *, choices: Sequence[str] | None = None, source: str | None = None
    ) -> None:
        """Put a dropdown on ``ref`` (``"F2:F1048576"``), or remove it when both are None."""
        self.add(SetDropdown(sheet, ref, tuple(choices) if choices is not None else None, source))

    def validation(self, sheet: str, ref: str, *, rule: ValidationRule | None) -> None:
        """Put a date or number rule on ``ref`` (``"R2:R1048576"``), or remove it with ``rule=None``.

        >>> changes.validation("Orders", "F2:F1048576", rule=ValidationRule("whole", "greaterThanOrEqual", "0"))
        """
        self.add(SetValidation(sheet, ref, rule))

    def append(self, sheet: str, rows: Iterable[RowValues]) -> None:
        """Append rows, each keyed by column letter."""
        self.add(AppendRows(sheet, tuple({_letters(k): v for k, v in row.items()} for row in rows)))

    def delete(self, sheet: str, rows: Mapping[int, Mapping[str, str]]) -> None:
        """Delete rows: ``{row_number: {letter: text seen}}``."""
        ordered = sorted(rows)
        self.add(DeleteRows(sheet, tuple(ordered), tuple(dict(rows[r]) for r in ordered)))

    def replace_sheet(
        self,
        sheet: str,
        rows: Iterable[Sequence[CellValue]],
        *,
        freeze: str | None = None,
        column_widths: Mapping[str, float] | None = None,
        links: Mapping[str, str] | None = None,
        hidden: bool = False,
        styles: Mapping[str, CellStyle] | None = None,
        charts: Sequence[Chart] = (),
        dropdowns: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        """Create or wholly replace a sheet that sheetcrm owns (a report, an issues tab).

        ``links`` makes cells links to places in the workbook: ``{"B2": "Customers!E14"}``;
        ``hidden`` hides the sheet (the lists dropdowns read from); ``styles`` gives ranges a
        look (``{"A1:F1": CellStyle(bold=True, fill="DDEBF7")}``); ``charts`` adds native charts;
        ``dropdowns`` puts lists on ranges (``{"B2:B40": ["merge", "keep apart"]}``).
        """
        self.add(
            ReplaceSheet(
                sheet,
                tuple(tuple(r) for r in rows),
                freeze,
                dict(column_widths or {}),
                links=dict(links or {}),
                hidden=hidden,
                styles=dict(styles or {}),
                charts=tuple(charts),
                dropdowns={ref: tuple(choices) for ref, choices in (dropdowns or {}).items()},
            )
        )

    # -- looking ----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.changes)

    def __iter__(self) -> Iterator[Change]:
        return iter(self.changes)

    def __bool__(self) -> bool:
        return bool(self.changes)

    def __repr__(self) -> str:
        return f"ChangeSet({self.description!r}, {len(self.changes)} changes)"

    @property
    def sheets(self) -> list[str]:
        """The sheets this ChangeSet touches, in first-seen order."""
        return list(dict.fromkeys(change.sheet for change in self.changes))

    def counts(self) -> dict[str, int]:
        """How many cells or rows each kind of change touches: ``{"edit": 12, "append": 3}``."""
        out: dict[str, int] = {}
        for change in self.changes:
            size = len(change.rows) if isinstance(change, AppendRows | DeleteRows | InsertRows) else 1
            out[change.kind] = out.get(change.kind, 0) + size
        return out

    def lines(self) -> list[PreviewLine]:
        """The preview as data: one line per cell or row touched."""
        out: list[PreviewLine] = []
        for change in self.changes:
            out.extend(_preview(change))
        return out

    def preview(self, *, limit: int | None = 50) -> str:
        """A readable table of what applying would do (what ``--dry-run`` prints)."""
        lines = self.lines()
        if not lines:
            return "no changes"
        shown = lines if limit is None else lines[:limit]
        widths = [
            min(40, max(len(h), *(len(_clip(getattr(line, a))) for line in shown)))
            for h, a in zip(_HEADINGS, _ATTRS, strict=True)
        ]
        rows = [_HEADINGS, *([_clip(getattr(line, a)) for a in _ATTRS] for line in shown)]
        text = "\n".join("  ".join(v.ljust(w)[:w] for v, w in zip(row, widths, strict=True)).rstrip() for row in rows)
        if limit is not None and len(lines) > limit:
            text += f"\n… and {len(lines) - limit} more"
        summary = ", ".join(f"{n} {kind}" for kind, n in self.counts().items())
        return f"{text}\n({summary})"

    # -- checking ---------------------------------------------------------------------------

    def check(self) -> None:
        """Raise InvalidChange if the changes contradict each other."""
        deleted: dict[str, set[int]] = {}
        replaced: set[str] = set()
        seen_cells: set[tuple[str, int, str, str]] = set()
        seen_columns: set[tuple[str, str]] = set()
        seen_ranges: set[tuple[str, str]] = set()
        for change in self.changes:
            if isinstance(change, SetValidation):
                if (change.sheet, change.ref) in seen_ranges:
                    raise InvalidChange(f"{change.sheet}: two validations for {change.ref} in one ChangeSet")
                seen_ranges.add((change.sheet, change.ref))
                problem = change.rule.problem() if change.rule is not None else None
                if problem:
                    raise InvalidChange(f"{change.sheet}!{change.ref}: {problem}")
            if isinstance(change, SetColumnFormat):
                if (change.sheet, change.column) in seen_columns:
                    raise InvalidChange(
                        f"{change.sheet}: two column formats for column {change.column} in one ChangeSet"
                    )
                seen_columns.add((change.sheet, change.column))
                if not 1 <= change.first_row <= MAX_ROWS:
                    raise InvalidChange(f"{change.sheet}: row {change.first_row} does not exist")
            if isinstance(change, DeleteRows):
                rows = deleted.setdefault(change.sheet, set())
                if rows & set(change.rows):
                    raise InvalidChange(f"{change.sheet}: a row is deleted twice in one ChangeSet")
                if len(change.values) != len(change.rows):
                    raise InvalidChange(f"{change.sheet}: DeleteRows needs the values seen in each row")
                rows.update(change.rows)
            elif isinstance(change, ReplaceSheet | DeleteSheet):
                replaced.add(change.sheet)
            elif isinstance(change, InsertRows) and list(change.rows) != sorted(set(change.rows)):
                raise InvalidChange(f"{change.sheet}: inserted rows must be distinct and ascending")
        for change in self.changes:
            if isinstance(change, CELL_CHANGES):
                key = (change.sheet, change.row, change.column, change.kind)
                if key in seen_cells:
                    raise InvalidChange(
                        f"{change.sheet}!{change.cell}: two {change.kind} changes to one cell in one ChangeSet"
                    )
                seen_cells.add(key)
                if change.row in deleted.get(change.sheet, set()):
                    raise InvalidChange(
                        f"{change.sheet}!{change.cell}: the row is deleted by the same ChangeSet, so it cannot be edited"
                    )
                if change.row < 1:
                    raise InvalidChange(f"{change.sheet}: row {change.row} does not exist")
            if change.sheet in replaced and not isinstance(change, ReplaceSheet | DeleteSheet):
                raise InvalidChange(f"{change.sheet}: a replaced sheet cannot also have cell or row changes")

    # -- undo -------------------------------------------------------------------------------

    def invert(self) -> ChangeSet:
        """The ChangeSet that undoes this one, once applied (``resolved``)."""
        if not self.resolved:
            raise InvalidChange("only an applied ChangeSet can be inverted (its earlier values are not known yet)")
        inverse: list[Change] = []
        for sheet in self.sheets:
            inverse.extend(_invert_sheet(sheet, [c for c in self.changes if c.sheet == sheet]))
        return ChangeSet(f"undo: {self.description}", inverse)

    # -- serialising ------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (dates tagged so they come back as dates)."""
        return {
            "description": self.description,
            "resolved": self.resolved,
            "changes": [{"kind": c.kind, **_encode(c)} for c in self.changes],
        }

    def to_json(self, **kwargs: Any) -> str:
        """The ChangeSet as JSON; ``ChangeSet.from_json`` reads it back."""
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChangeSet:
        """Rebuild a ChangeSet from ``to_dict`` output."""
        changes: list[Change] = []
        for item in data.get("changes", []):
            kind_cls = _KINDS.get(item.get("kind", ""))
            if kind_cls is None:
                raise InvalidChange(f"unknown change kind {item.get('kind')!r}")
            names = {f.name for f in fields(kind_cls)}
            values = {k: _decode(v) for k, v in item.items() if k in names}
            changes.append(kind_cls(**values))
        return cls(data.get("description", ""), changes, resolved=bool(data.get("resolved", False)))

    @classmethod
    def from_json(cls, text: str) -> ChangeSet:
        """Parse ``to_json`` output."""
        return cls.from_dict(json.loads(text))


# -- helpers ---------------------------------------------------------------------------------

_HEADINGS = ["sheet", "where", "action", "before", "after"]
_ATTRS = ["sheet", "where", "action", "before", "after"]


def _letters(column: str) -> str:
    column_index(column)  # raises ValueError for anything but column letters
    return column.upper()


def _color(color: str | None) -> str | None:
    if color is None:
        return None
    text = color.lstrip("#").upper()
    if len(text) == 8:
        text = text[2:]
    if len(text) != 6 or any(c not in "0123456789ABCDEF" for c in text):
        raise InvalidChange(f"{color!r} is not an RGB colour like 'FFF2CC'")
    return text


def _clip(text: str, width: int = 40) -> str:
    if text != text.strip() or "  " in text:
        text = f'"{text}"'  # make stray whitespace visible: it may be all that changed
    text = text.replace("\n", "⏎")
    return text if len(text) <= width else text[: width - 1] + "…"


def _row_text(values: Mapping[str, CellValue]) -> str:
    ordered = sorted(values.items(), key=lambda item: column_index(item[0]))
    return ", ".join(to_text(v) for _, v in ordered if to_text(v) != "")


def _preview(change: Change) -> list[PreviewLine]:
    sheet = change.sheet
    if isinstance(change, CellEdit):
        where = change.cell + (f" ({change.field})" if change.field else "")
        return [PreviewLine(sheet, where, "edit", change.old, to_text(change.new))]
    if isinstance(change, SetNote):
        return [PreviewLine(sheet, change.cell, "note", change.old or "", change.text or "(removed)")]
    if isinstance(change, SetFill):
        return [PreviewLine(sheet, change.cell, "fill", change.old or "", change.color or "(cleared)")]
    if isinstance(change, SetNumberFormat):
        return [PreviewLine(sheet, change.cell, "format", change.old or "", change.format)]
    if isinstance(change, SetColumnFormat):
        return [PreviewLine(sheet, change.ref, "column format", change.old or "", change.format)]
    if isinstance(change, SetDropdown):
        after = ", ".join(change.choices) if change.choices is not None else (change.source or "(removed)")
        return [PreviewLine(sheet, change.ref, "dropdown", "", after)]
    if isinstance(change, SetValidation):
        before = change.old.describe() if change.old is not None else ""
        return [
            PreviewLine(sheet, change.ref, "validation", before, change.rule.describe() if change.rule else "(removed)")
        ]
    if isinstance(change, AppendRows):
        start = change.first_row
        return [
            PreviewLine(sheet, f"row {start + i}" if start else "new row", "append", "", _row_text(row))
            for i, row in enumerate(change.rows)
        ]
    if isinstance(change, DeleteRows):
        return [
            PreviewLine(sheet, f"row {row}", "delete", _row_text(values), "")
            for row, values in zip(change.rows, change.values, strict=True)
        ]
    if isinstance(change, InsertRows):
        return [
            PreviewLine(sheet, f"row {row}", "insert", "", _row_text(values))
            for row, values in zip(change.rows, change.values, strict=True)
        ]
    if isinstance(change, ReplaceSheet):
        before = "(new sheet)" if change.old is None else f"{len(change.old)} rows"
        after = f"{len(change.rows)} rows" + (", hidden" if change.hidden else "")
        return [PreviewLine(sheet, "whole sheet", "replace", before, after)]
    return [PreviewLine(sheet, "whole sheet", "delete sheet", f"{len(change.old or ())} rows", "")]


def _invert_sheet(sheet: str, changes: list[Change]) -> list[Change]:
    """Undo one sheet's changes: rows first (restoring the numbering), then cells."""
    deleted = sorted(r for c in changes if isinstance(c, DeleteRows) for r in c.rows)
    inserted = sorted(r for c in changes if isinstance(c, InsertRows) for r in c.rows)

    def final_row(row: int) -> int:
        # where a surviving row (numbered as read) ended up after deletions and insertions
        shifted = row - sum(1 for d in deleted if d < row)
        for position in inserted:
            if position <= shifted:
                shifted += 1
        return shifted

    out: list[Change] = []
    added_rows: dict[int, Mapping[str, str]] = {}
    for change in changes:
        if isinstance(change, InsertRows):
            for row, values in zip(change.rows, change.values, strict=True):
                added_rows[row] = {k: to_text(v) for k, v in values.items()}
        elif isinstance(change, AppendRows):
            if change.first_row is None:
                raise InvalidChange(f"{sheet}: appended rows were never given row numbers")
            for i, values in enumerate(change.rows):
                added_rows[change.first_row + i] = {k: to_text(v) for k, v in values.items()}
    if added_rows:
        ordered = sorted(added_rows)
        out.append(DeleteRows(sheet, tuple(ordered), tuple(added_rows[r] for r in ordered)))
    restored: list[tuple[int, Mapping[str, str], CellAttributes]] = sorted(
        (
            (number, seen, change.attributes[i] if change.attributes else {})
            for change in changes
            if isinstance(change, DeleteRows)
            for i, (number, seen) in enumerate(zip(change.rows, change.values, strict=True))
        ),
        key=lambda item: item[0],
    )
    if restored:
        out.append(
            InsertRows(
                sheet,
                tuple(item[0] for item in restored),
                tuple(dict(item[1]) for item in restored),
                tuple(item[2] for item in restored),
            )
        )

    for change in changes:
        if isinstance(change, CellEdit):
            out.append(
                CellEdit(sheet, final_row(change.row), change.column, to_text(change.new), change.old, change.field)
            )
        elif isinstance(change, SetNote):
            if change.text != change.old:  # an ours_only note left alone changed nothing
                out.append(SetNote(sheet, final_row(change.row), change.column, change.old, change.text))
        elif isinstance(change, SetFill):
            if change.color != change.old:
                out.append(SetFill(sheet, final_row(change.row), change.column, change.old, change.color))
        elif isinstance(change, SetNumberFormat):
            out.append(
                SetNumberFormat(sheet, final_row(change.row), change.column, change.old or "General", change.format)
            )
        elif isinstance(change, SetColumnFormat):
            runs = change.previous or ()
            if deleted or inserted:
                runs = _renumbered(runs, set(deleted), final_row)
            out.append(
                SetColumnFormat(
                    sheet, change.column, change.old or "General", change.first_row, old=change.format, cells=runs
                )
            )
        elif isinstance(change, SetDropdown):
            choices, source = change.old if change.old is not None else (None, None)
            out.append(SetDropdown(sheet, change.ref, choices, source, (change.choices, change.source)))
        elif isinstance(change, SetValidation):
            if change.rule != change.old:
                out.append(SetValidation(sheet, change.ref, change.old, old=change.rule))
        elif isinstance(change, ReplaceSheet):
            written = tuple(tuple(to_text(v) for v in row) for row in change.rows)
            if change.old is None:
                out.append(DeleteSheet(sheet, written, old_hidden=change.hidden))
            else:
                out.append(
                    ReplaceSheet(sheet, change.old, old=written, hidden=change.old_hidden, old_hidden=change.hidden)
                )
        elif isinstance(change, DeleteSheet):
            out.append(ReplaceSheet(sheet, change.old or (), hidden=change.old_hidden))
    return out


def _renumbered(runs: ColumnRuns, deleted: set[int], final_row: Callable[[int], int]) -> ColumnRuns:
    """Runs renumbered the way rows moved; rows deleted since are no longer there to restore."""

    def rows() -> Iterator[tuple[int, str | None]]:
        for first, last, format in runs:
            for row in range(first, last + 1):
                if row not in deleted:
                    yield final_row(row), format
            yield 0, None  # two runs stay two runs

    return format_runs(rows())


def _encode(value: Any) -> Any:
    # one pass over the values: dataclasses.asdict deep-copies first, 10x slower on 100k changes
    if isinstance(value, str | int | float | bool | None):
        return value
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, Mapping):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$datetime"}:
            return dt.datetime.fromisoformat(value["$datetime"])
        if set(value) == {"$date"}:
            return dt.date.fromisoformat(value["$date"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(_decode(v) for v in value)
    return value


__all__ = [
    "NOTE_AUTHOR",
    "AppendRows",
    "CellEdit",
    "CellStyle",
    "CellValue",
    "Change",
    "ChangeSet",
    "Chart",
    "ChartSeries",
    "ChartType",
    "ColumnRuns",
    "DeleteRows",
    "DeleteSheet",
    "InsertRows",
    "PreviewLine",
    "ReplaceSheet",
    "RowValues",
    "SetColumnFormat",
    "SetDropdown",
    "SetFill",
    "SetNote",
    "SetNumberFormat",
    "SetValidation",
    "ValidationRule",
    "format_runs",
]

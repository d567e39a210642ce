"""The Google Sheets backend: a spreadsheet read in one values.batchGet, a ChangeSet written in two calls.

How a ChangeSet is written (``apply``), in a fixed, small number of API calls whatever the row count:

1. ``spreadsheets.get`` of just the cells the ChangeSet touches (grid data: value, note, fill,
   format, validation). A cell a person edited since it was read, or one holding a formula,
   is a conflict: nothing is written and the cells are named (:class:`CellConflict`). The
   rows below the last row read are part of it, so rows a person added meanwhile are seen.
2. ``spreadsheets.batchUpdate`` with ``appendDimension`` only when appended rows need a
   bigger grid (repeating it only adds empty rows, so it is safe to retry).
3. ``values.batchUpdate`` with ``RAW`` input: every edited cell and every appended row, at
   explicit ranges (never ``values.append``), so a retry after a lost answer writes the same
   cells again rather than a second copy.
4. ``spreadsheets.batchUpdate``: notes, fills, number formats, dropdowns and other
   validations, row deletions and insertions, whole sheets (reports, ``_issues``) with
   their styles, links and charts. The API applies one batchUpdate atomically.

Cells are addressed as read throughout: step 3 comes before any row moves in step 4.
"""

from __future__ import annotations

import contextlib
import logging
import re
import secrets
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sheetcrm.errors import CellConflict, InputError, InvalidChange, PartlyWritten, SheetcrmError, SheetNotFound
from sheetcrm.sync.a1 import cell_address, column_index, column_letter, qualified, split_address
from sheetcrm.sync.backend import ApplyOutcome
from sheetcrm.sync.changeset import (
    ANNOTATION_FILLS,
    AppendRows,
    CellEdit,
    Change,
    ChangeSet,
    Chart,
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
)
from sheetcrm.sync.gsheets import translate as tr
from sheetcrm.sync.safewrite import STATE_DIR
from sheetcrm.sync.table import RawSheet

log = logging.getLogger("sheetcrm.google")

JSON = dict[str, Any]

NOTE_MARK = "\n— sheetcrm"
"""How a note sheetcrm wrote ends. Sheets keeps no author for notes; this is how a person's are told apart."""

SOURCE_PREFIX = "gsheets://"
_URL = re.compile(r"^https://docs\.google\.com/spreadsheets/d/([A-Za-z0-9_-]{10,})")
_KEY = re.compile(r"^[A-Za-z0-9_-]{10,}$")
_GRID_FIELDS = (
    "sheets(properties(sheetId,title,index,hidden,gridProperties),"
    "data(startRow,startColumn,rowData(values(userEnteredValue,formattedValue,note,"
    "userEnteredFormat(backgroundColor,numberFormat),dataValidation))),charts(chartId))"
)
_META_FIELDS = "properties(title,locale,timeZone),sheets(properties(sheetId,title,index,hidden,gridProperties))"
_GAP = 200  # edited cells further apart than this go in separate ranges rather than one with gaps


def spreadsheet_key(source: str) -> str | None:
    """The key of ``gsheets://KEY`` or a ``https://docs.google.com/spreadsheets/d/KEY/...`` URL; else None."""
    text = source.strip()
    if text.startswith(SOURCE_PREFIX):
        key = text[len(SOURCE_PREFIX) :].strip("/")
        if not _KEY.match(key):
            raise InputError(
                f"{source}: {key!r} is not a spreadsheet key",
                hint="use the part of the sheet's URL between /d/ and /edit, e.g. gsheets://1AbC...xyz",
            )
        return key
    match = _URL.match(text)
    return match.group(1) if match else None


def is_google_source(source: object) -> bool:
    text = str(source)
    return text.startswith(SOURCE_PREFIX) or text.startswith("https://docs.google.com/spreadsheets/")


@dataclass
class _SheetInfo:
    sheet_id: int
    title: str
    index: int
    hidden: bool
    rows: int
    columns: int


class GoogleSheetsBackend:
    """A Google spreadsheet, through gspread's HTTP client (``client`` is a ``gspread.HTTPClient``).

    Runs are logged, and the writer lock kept, in ``.sheetcrm/google/KEY/`` under ``state_root``
    (the working folder by default): a spreadsheet has no folder of its own to keep them beside.
    """

    def __init__(self, key: str, client: Any, *, state_root: Path | None = None) -> None:
        self.key = key
        self.client = client
        self._state = (state_root or Path.cwd()) / STATE_DIR / "google" / key
        self._meta: dict[str, _SheetInfo] | None = None
        self._heights: dict[str, int] = {}  # rows seen per sheet at read time

    @property
    def source(self) -> str:
        return f"{SOURCE_PREFIX}{self.key}"

    @property
    def state_dir(self) -> Path:
        return self._state

    @property
    def calls(self) -> Counter[str]:
        """API calls made so far, by method (``values.batchGet``: 1, ...)."""
        calls = getattr(self.client, "calls", None)
        return calls if isinstance(calls, Counter) else Counter()

    # -- reading ----------------------------------------------------------------------------

    def _sheets(self, *, fresh: bool = False) -> dict[str, _SheetInfo]:
        if self._meta is None or fresh:
            meta = self.client.fetch_sheet_metadata(self.key, params={"fields": _META_FIELDS})
            self._meta = {}
            for item in meta.get("sheets", []):
                props = item.get("properties", {})
                grid = props.get("gridProperties", {})
                self._meta[props["title"]] = _SheetInfo(
                    int(props.get("sheetId", 0)),
                    props["title"],
                    int(props.get("index", 0)),
                    bool(props.get("hidden", False)),
                    int(grid.get("rowCount", 0)),
                    int(grid.get("columnCount", 0)),
                )
        return self._meta

    def sheet_names(self) -> list[str]:
        return [info.title for info in sorted(self._sheets().values(), key=lambda i: i.index)]

    def read_sheets(self, names: Sequence[str]) -> dict[str, RawSheet]:
        """All the named sheets in one ``values.batchGet``: numbers unformatted, dates ISO, text as typed.

        Dates come as their format shows them; those shown otherwise than ISO (``1/5/2024``) are
        asked for again, as serial numbers, in one more batchGet of just those cells, so that a
        real date reads ISO and text that only looks like a date stays as typed.
        """
        sheets = self._sheets()
        for name in names:
            if name not in sheets:
                raise SheetNotFound(self.source, name, self.sheet_names())
        if not names:
            return {}
        answer = self.client.values_batch_get(
            self.key,
            [tr.a1(name) for name in names],
            params={
                "valueRenderOption": "UNFORMATTED_VALUE",
                "dateTimeRenderOption": "FORMATTED_STRING",
                "majorDimension": "ROWS",
            },
        )
        out: dict[str, RawSheet] = {}
        for name, value_range in zip(names, answer.get("valueRanges", []), strict=True):
            rows = [[tr.read_text(v) for v in row] for row in value_range.get("values", [])]
            while rows and not any(rows[-1]):
                rows.pop()
            self._heights[name] = len(rows)
            out[name] = RawSheet(name, rows)
        self._dates_as_iso(out)
        return out

    def _dates_as_iso(self, sheets: Mapping[str, RawSheet]) -> None:
        """Turn the dates shown in a local format (``1/5/2024``) into ISO text; leave text alone."""
        wanted: dict[tuple[str, int], list[int]] = defaultdict(list)  # (sheet, column) → rows
        for name, raw in sheets.items():
            for r, row in enumerate(raw.rows, start=1):
                for c, text in enumerate(row, start=1):
                    if text and text[0].isdigit() and tr.shown_as_local_date(text):
                        wanted[(name, c)].append(r)
        if not wanted:
            return
        ranges: list[tuple[str, int, int, int]] = []  # sheet, column, first row, last row
        for (name, column), rows in wanted.items():
            ranges += [(name, column, first, last) for first, last in _runs(rows)]
        answer = self.client.values_batch_get(
            self.key,
            [tr.a1(name, f"{column_letter(c)}{first}:{column_letter(c)}{last}") for name, c, first, last in ranges],
            params={
                "valueRenderOption": "UNFORMATTED_VALUE",
                "dateTimeRenderOption": "SERIAL_NUMBER",
                "majorDimension": "COLUMNS",
            },
        )
        for (name, column, first, _), value_range in zip(ranges, answer.get("valueRanges", []), strict=True):
            values = (value_range.get("values") or [[]])[0]
            grid = sheets[name].rows
            for offset, value in enumerate(values):
                cells = grid[first + offset - 1]
                if column > len(cells) or not isinstance(value, int | float) or isinstance(value, bool):
                    continue  # a range spans rows between the dates asked for, shorter ones too
                if tr.shown_as_local_date(cells[column - 1]):
                    cells[column - 1] = tr.serial_text(value)

    def rows_of_cells(self, sheet: str, first_row: int, count: int) -> list[list[JSON]]:
        """The grid data (note, number format, validation) of ``count`` rows from ``first_row``, in one call."""
        answer = self.client.fetch_sheet_metadata(
            self.key,
            params={
                "ranges": [tr.a1(sheet, f"{first_row}:{first_row + count - 1}")],
                "includeGridData": "true",
                "fields": "sheets(data(startRow,rowData(values(note,userEnteredFormat(numberFormat),dataValidation))))",
            },
        )
        blocks = [block for item in answer.get("sheets", []) for block in item.get("data", [])]
        found = [[dict(cell) for cell in row.get("values", [])] for block in blocks for row in block.get("rowData", [])]
        return found + [[] for _ in range(count - len(found))]

    # -- writing ----------------------------------------------------------------------------

    def apply(self, changes: ChangeSet, *, out: Path | None = None) -> ApplyOutcome:
        if out is not None:
            raise InvalidChange(
                f"{self.source}: a Google Sheet cannot be written to a file",
                hint="use `sheetcrm pull` for an .xlsx copy, then run the command on that file",
            )
        sheets = self._sheets(fresh=True)
        for change in changes:
            if not isinstance(change, ReplaceSheet) and change.sheet not in sheets:
                raise SheetNotFound(self.source, change.sheet, self.sheet_names())
        seen = self._pre_read(changes, sheets)
        conflicts, formulas = _conflicts(changes, seen)
        if formulas:
            raise FormulaCells(self.source, formulas)
        if conflicts:
            raise CellConflict(self.source, conflicts)
        plan = _Plan(changes, sheets, seen)
        if plan.grow:
            with self._safe_to_repeat():
                self.client.batch_update(self.key, {"requests": plan.grow})
        if plan.value_ranges:
            self.client.values_batch_update(
                self.key, {"valueInputOption": "RAW", "data": plan.value_ranges, "includeValuesInResponse": False}
            )
        self._meta = None
        self._heights.clear()
        if plan.requests:
            try:
                self.client.batch_update(self.key, {"requests": plan.requests})
            except SheetcrmError as error:
                if not plan.value_ranges:
                    raise
                # the values landed: say so, and hand them over to be logged (and undone) as a run
                values = [c for c in plan.resolved if isinstance(c, CellEdit | AppendRows)]
                written = ApplyOutcome(ChangeSet(changes.description, values, resolved=True), None, self.source)
                raise PartlyWritten(
                    f"{self.source}: the cell values were written, then the call for the rest failed: {error.message}",
                    written=written,
                    cause=error,
                ) from None
        log.debug("google write: %s", ", ".join(f"{name} {n}" for name, n in sorted(self.calls.items())))
        return ApplyOutcome(ChangeSet(changes.description, plan.resolved, resolved=True), None, self.source)

    @contextlib.contextmanager
    def _safe_to_repeat(self) -> Iterator[None]:
        idempotent = getattr(self.client, "idempotent", None)
        if idempotent is None:
            yield
            return
        with idempotent(True):
            yield

    def _pre_read(self, changes: ChangeSet, sheets: Mapping[str, _SheetInfo]) -> _Seen:
        """The grid data of every cell the ChangeSet reads or overwrites, in one ``spreadsheets.get``."""
        wanted: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))  # sheet → column → rows
        whole: set[str] = set()
        tails: set[str] = set()
        for change in changes:
            if isinstance(change, CellEdit | SetNote | SetFill | SetNumberFormat):
                wanted[change.sheet][change.column].add(change.row)
            elif isinstance(change, DeleteRows):
                for row, values in zip(change.rows, change.values, strict=True):
                    for letter in values:
                        wanted[change.sheet][letter].add(row)
            elif isinstance(change, SetColumnFormat):
                wanted[change.sheet][change.column].add(change.first_row)
            elif isinstance(change, SetDropdown | SetValidation):
                letter, row = _first_cell(change.ref)
                wanted[change.sheet][letter].add(row)
            elif isinstance(change, AppendRows):
                tails.add(change.sheet)
            elif isinstance(change, ReplaceSheet | DeleteSheet) and change.sheet in sheets:
                whole.add(change.sheet)
        ranges: list[str] = []
        for sheet, columns in wanted.items():
            for letter, rows in columns.items():
                for first, last in _runs(sorted(rows)):
                    ranges.append(tr.a1(sheet, f"{letter}{first}:{letter}{last}"))
        for sheet in tails:
            info = sheets[sheet]
            start = self._heights.get(sheet, 0) + 1
            if start <= info.rows:
                ranges.append(tr.a1(sheet, f"A{start}:{column_letter(max(info.columns, 1))}{info.rows}"))
        ranges += [tr.a1(sheet) for sheet in sorted(whole)]
        seen = _Seen(sheets, dict(self._heights))
        if not ranges:
            return seen
        answer = self.client.fetch_sheet_metadata(
            self.key, params={"ranges": ranges, "includeGridData": "true", "fields": _GRID_FIELDS}
        )
        for item in answer.get("sheets", []):
            title = item.get("properties", {}).get("title", "")
            seen.charts[title] = [chart["chartId"] for chart in item.get("charts", []) if "chartId" in chart]
            for block in item.get("data", []):
                top, left = int(block.get("startRow", 0)), int(block.get("startColumn", 0))
                for i, row in enumerate(block.get("rowData", [])):
                    for j, cell in enumerate(row.get("values", [])):
                        if cell:
                            seen.cells[(title, top + i + 1, left + j + 1)] = cell
        return seen


class _Seen:
    """The grid data read just before writing: cells by (sheet, row, column index), 1-based."""

    def __init__(self, sheets: Mapping[str, _SheetInfo], heights: Mapping[str, int]) -> None:
        self.sheets = sheets
        self.heights = heights
        self.cells: dict[tuple[str, int, int], JSON] = {}
        self.charts: dict[str, list[int]] = {}

    def cell(self, sheet: str, row: int, column: str) -> JSON:
        return self.cells.get((sheet, row, column_index(column)), {})

    def last_row(self, sheet: str) -> int:
        """The last row holding a value, of those read and those seen below them now."""
        last = self.heights.get(sheet, 0)
        for (title, row, _), cell in self.cells.items():
            if title == sheet and row > last and tr.cell_text(cell) != "":
                last = row
        return last

    def grid(self, sheet: str) -> tuple[tuple[str, ...], ...]:
        """The text of a whole sheet read (for the undo of a replaced sheet)."""
        found = {(r, c): tr.cell_text(cell) for (title, r, c), cell in self.cells.items() if title == sheet}
        height = max((r for (r, _), text in found.items() if text), default=0)
        width = max((c for (_, c), text in found.items() if text), default=0)
        rows = [[found.get((r, c), "") for c in range(1, width + 1)] for r in range(1, height + 1)]
        for row in rows:
            while row and row[-1] == "":
                row.pop()
        return tuple(tuple(row) for row in rows)


def _first_cell(ref: str) -> tuple[str, int]:
    first = ref.split(":")[0].replace("$", "")
    letters = re.match(r"[A-Za-z]*", first)
    digits = first[len(letters.group(0)) if letters else 0 :]
    return (letters.group(0).upper() if letters and letters.group(0) else "A"), int(digits or 1)


def _runs(rows: Sequence[int], gap: int = _GAP) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for row in rows:
        if runs and row - runs[-1][1] <= gap:
            runs[-1] = (runs[-1][0], row)
        else:
            runs.append((row, row))
    return runs


class FormulaCells(CellConflict):
    """Cells to be written hold formulas, which sheetcrm never overwrites.

    A values read does not say which cells are formulas (the API gives their results), so
    on a Google Sheet they are found only here, just before writing.
    """

    def __init__(self, source: object, cells: Sequence[str]) -> None:
        super().__init__(source, cells)
        shown = ", ".join(cells[:10]) + (f" and {len(cells) - 10} more" if len(cells) > 10 else "")
        self.message = f"{source}: {len(cells)} cell(s) to be written hold formulas: {shown}"
        self.args = (self.message,)
        self.hint = (
            "sheetcrm never overwrites a formula, and nothing was written; move the formulas out of "
            "the table's columns (or into a column of their own that no job writes)"
        )


def _conflicts(changes: ChangeSet, seen: _Seen) -> tuple[list[str], list[str]]:
    """Cells edited since they were read, and cells holding formulas, of those the ChangeSet overwrites."""
    found: list[str] = []
    formulas: list[str] = []
    for change in changes:
        if isinstance(change, CellEdit):
            cell = seen.cell(change.sheet, change.row, change.column)
            if tr.is_formula(cell):
                formulas.append(qualified(change.sheet, change.cell))
            elif tr.cell_text(cell) != change.old:
                found.append(qualified(change.sheet, change.cell))
        elif isinstance(change, DeleteRows):
            for row, values in zip(change.rows, change.values, strict=True):
                for letter, text in values.items():
                    if tr.cell_text(seen.cell(change.sheet, row, letter)) != text:
                        found.append(qualified(change.sheet, cell_address(letter, row)))
    return found, formulas


def _note_is_ours(note: str | None) -> bool:
    return note is not None and note.endswith(NOTE_MARK)


def _fill_of(cell: Mapping[str, Any]) -> str | None:
    return tr.color_hex((cell.get("userEnteredFormat") or {}).get("backgroundColor"))


def _format_of(cell: Mapping[str, Any]) -> str | None:
    return tr.format_code((cell.get("userEnteredFormat") or {}).get("numberFormat"))


class _Plan:
    """The API payloads for one ChangeSet, and the ChangeSet resolved (with what was there before)."""

    def __init__(self, changes: ChangeSet, sheets: Mapping[str, _SheetInfo], seen: _Seen) -> None:
        self.sheets = dict(sheets)
        self.seen = seen
        self.grow: list[JSON] = []
        self.requests: list[JSON] = []
        self.value_ranges: list[JSON] = []
        self._date_cells: list[tuple[str, int, str, JSON]] = []
        taken = {info.sheet_id for info in sheets.values()}
        self.new_ids: dict[str, int] = {}
        for change in changes:  # new sheets first: a dropdown may read its choices from one (_lists)
            if isinstance(change, ReplaceSheet) and change.sheet not in sheets:
                self.new_ids[change.sheet] = _new_sheet_id(taken)
                self.requests.append(
                    {"addSheet": {"properties": {"sheetId": self.new_ids[change.sheet], "title": change.sheet}}}
                )
        resolved: dict[int, Change] = {}
        edits = [c for c in changes if isinstance(c, CellEdit)]
        self._cell_values(edits)
        appended = self._appends([c for c in changes if isinstance(c, AppendRows)])
        deleted_rows: dict[str, int] = Counter()
        inserted_rows: dict[str, int] = Counter()
        for change in changes:
            if isinstance(change, DeleteRows):
                deleted_rows[change.sheet] += len(change.rows)
            elif isinstance(change, InsertRows):
                inserted_rows[change.sheet] += len(change.rows)
        for change in changes:  # formats first: they are addressed as read, before rows move
            if isinstance(change, SetNote | SetFill | SetNumberFormat):
                resolved[id(change)] = self._cell_format(change)
            elif isinstance(change, SetColumnFormat):
                resolved[id(change)] = self._column_format(change)
            elif isinstance(change, SetDropdown):
                resolved[id(change)] = self._dropdown(change)
            elif isinstance(change, SetValidation):
                resolved[id(change)] = self._validation(change)
        for sheet, row, letter, fmt in self._date_cells:
            self.requests.append(
                {
                    "repeatCell": {
                        "range": tr.cell_range(self.sheets[sheet].sheet_id, row, letter),
                        "cell": {"userEnteredFormat": {"numberFormat": fmt}},
                        "fields": "userEnteredFormat.numberFormat",
                    }
                }
            )
        deleted: dict[str, set[int]] = defaultdict(set)
        for change in changes:
            if isinstance(change, DeleteRows):
                resolved[id(change)] = self._delete_rows(change)
                deleted[change.sheet].update(change.rows)
        for sheet, numbers in deleted.items():  # bottom up over all the changes: rows above do not move
            for first, last in reversed(_runs(sorted(numbers), gap=1)):
                self.requests.append(
                    {
                        "deleteDimension": {
                            "range": {
                                "sheetId": self.sheets[sheet].sheet_id,
                                "dimension": "ROWS",
                                "startIndex": first - 1,
                                "endIndex": last,
                            }
                        }
                    }
                )
        for change in changes:
            if isinstance(change, InsertRows):
                resolved[id(change)] = self._insert_rows(change)
        for change in changes:
            if isinstance(change, ReplaceSheet):
                resolved[id(change)] = self._replace_sheet(change)
            elif isinstance(change, DeleteSheet):
                resolved[id(change)] = self._delete_sheet(change)
            elif isinstance(change, AppendRows):
                first = appended[id(change)] - deleted_rows[change.sheet] + inserted_rows[change.sheet]
                resolved[id(change)] = replace(change, first_row=first)
        self.resolved = [resolved.get(id(c), c) for c in changes]

    # -- values ------------------------------------------------------------------------------

    def _cell_values(self, edits: Sequence[CellEdit]) -> None:
        by_column: dict[tuple[str, str], dict[int, Any]] = defaultdict(dict)
        for edit in edits:
            value, fmt = tr.api_value(edit.new)
            by_column[(edit.sheet, edit.column)][edit.row] = value
            if fmt is not None:
                self._date_cells.append((edit.sheet, edit.row, edit.column, fmt))
        for (sheet, letter), values in by_column.items():
            for first, last in _runs(sorted(values)):
                # null leaves a cell as it is: one range per run of nearby edited cells
                column = [values.get(row) for row in range(first, last + 1)]
                self.value_ranges.append(
                    {
                        "range": tr.a1(sheet, f"{letter}{first}:{letter}{last}"),
                        "majorDimension": "COLUMNS",
                        "values": [column],
                    }
                )

    def _appends(self, appends: Sequence[AppendRows]) -> dict[int, int]:
        first_rows: dict[int, int] = {}
        next_row: dict[str, int] = {}
        for change in appends:
            first = next_row.get(change.sheet) or self.seen.last_row(change.sheet) + 1
            first_rows[id(change)] = first
            next_row[change.sheet] = first + len(change.rows)
            if not change.rows:
                continue
            width = max((column_index(letter) for row in change.rows for letter in row), default=1)
            rows: list[list[Any]] = []
            for offset, values in enumerate(change.rows):
                line: list[Any] = [None] * width
                for letter, value in values.items():
                    sent, fmt = tr.api_value(value)
                    line[column_index(letter) - 1] = sent
                    if fmt is not None:
                        self._date_cells.append((change.sheet, first + offset, letter, fmt))
                rows.append(line)
            last = first + len(rows) - 1
            self.value_ranges.append(
                {
                    "range": tr.a1(change.sheet, f"A{first}:{column_letter(width)}{last}"),
                    "majorDimension": "ROWS",
                    "values": rows,
                }
            )
        for sheet, end in next_row.items():
            info = self.sheets[sheet]
            if end - 1 > info.rows:
                self.grow.append(
                    {"appendDimension": {"sheetId": info.sheet_id, "dimension": "ROWS", "length": end - 1 - info.rows}}
                )
                info.rows = end - 1
        return first_rows

    # -- formats -----------------------------------------------------------------------------

    def _cell_format(self, change: SetNote | SetFill | SetNumberFormat) -> Change:
        sheet_id = self.sheets[change.sheet].sheet_id
        cell = self.seen.cell(change.sheet, change.row, change.column)
        where = tr.cell_range(sheet_id, change.row, change.column)
        if isinstance(change, SetNote):
            before = cell.get("note")
            if change.ours_only and before is not None and not _note_is_ours(before):
                return replace(change, text=before, old=before)  # a person's note: left as it is
            # undo writes back the text it saw, mark and all; a new note gets the mark
            text = change.text if change.text is None or change.text.endswith(NOTE_MARK) else change.text + NOTE_MARK
            data: JSON = {"note": text} if text is not None else {}
            self.requests.append({"updateCells": {"range": where, "rows": [{"values": [data]}], "fields": "note"}})
            return replace(change, old=before)
        if isinstance(change, SetFill):
            before_fill = _fill_of(cell)
            if change.ours_only and before_fill is not None and before_fill not in ANNOTATION_FILLS:
                return replace(change, color=before_fill, old=before_fill)  # the team's colour
            fmt: JSON = {"backgroundColor": tr.api_color(change.color)} if change.color else {}
            self.requests.append(
                {
                    "repeatCell": {
                        "range": where,
                        "cell": {"userEnteredFormat": fmt},
                        "fields": "userEnteredFormat.backgroundColor",
                    }
                }
            )
            return replace(change, old=before_fill)
        before_format = _format_of(cell)
        number: JSON = {} if change.format == "General" else {"numberFormat": tr.number_format(change.format)}
        self.requests.append(
            {
                "repeatCell": {
                    "range": where,
                    "cell": {"userEnteredFormat": number},
                    "fields": "userEnteredFormat.numberFormat",
                }
            }
        )
        return replace(change, old=before_format or "General")

    def _column_format(self, change: SetColumnFormat) -> SetColumnFormat:
        """Sheets has no column default: the format goes on the column's cells from ``first_row`` down."""
        info = self.sheets[change.sheet]
        before = _format_of(self.seen.cell(change.sheet, change.first_row, change.column)) or "General"
        runs = (
            change.cells
            if change.cells is not None
            else ((change.first_row, max(info.rows, change.first_row), change.format),)
        )
        for first, last, fmt in runs:
            number: JSON = {} if fmt == "General" else {"numberFormat": tr.number_format(fmt)}
            self.requests.append(
                {
                    "repeatCell": {
                        "range": tr.cell_range(info.sheet_id, first, change.column, rows=last - first + 1),
                        "cell": {"userEnteredFormat": number},
                        "fields": "userEnteredFormat.numberFormat",
                    }
                }
            )
        previous = tuple((first, last, before) for first, last, _ in runs)
        return replace(change, old=before, previous=previous)

    def _dropdown(self, change: SetDropdown) -> SetDropdown:
        sheet_id = self.sheets[change.sheet].sheet_id
        letter, row = _first_cell(change.ref)
        before = tr.dropdown_of(self.seen.cell(change.sheet, row, letter).get("dataValidation"))
        request: JSON = {"range": tr.grid_range(sheet_id, change.ref)}
        if change.choices is not None or change.source is not None:
            request["rule"] = tr.dropdown_rule(change.choices, change.source)
        self.requests.append({"setDataValidation": request})
        return replace(change, old=before)

    def _validation(self, change: SetValidation) -> SetValidation:
        sheet_id = self.sheets[change.sheet].sheet_id
        letter, row = _first_cell(change.ref)
        request: JSON = {"range": tr.grid_range(sheet_id, change.ref)}
        if change.rule is not None:
            request["rule"] = tr.validation_rule(change.rule, cell_address(letter, row))
        self.requests.append({"setDataValidation": request})
        return replace(change, old=None)  # a Sheets rule does not map back to an Excel one exactly

    # -- rows --------------------------------------------------------------------------------

    def _delete_rows(self, change: DeleteRows) -> DeleteRows:
        """What the deleted rows had (notes, fills, formats) for undo; the deletions go in bottom up later."""
        attributes = []
        for row, values in zip(change.rows, change.values, strict=True):
            found: dict[str, dict[str, str]] = {}
            for letter in values:
                cell = self.seen.cell(change.sheet, row, letter)
                note, fill, fmt = cell.get("note"), _fill_of(cell), _format_of(cell)
                for key, value in (("note", note), ("fill", fill), ("format", fmt)):
                    if value is not None:
                        found.setdefault(letter, {})[key] = value
            attributes.append(found)
        return replace(change, attributes=tuple(attributes))

    def _insert_rows(self, change: InsertRows) -> InsertRows:
        sheet_id = self.sheets[change.sheet].sheet_id
        for i, (row, values) in enumerate(zip(change.rows, change.values, strict=True)):
            self.requests.append(
                {
                    "insertDimension": {
                        "range": {"sheetId": sheet_id, "dimension": "ROWS", "startIndex": row - 1, "endIndex": row},
                        "inheritFromBefore": row > 2,
                    }
                }
            )
            attributes = change.attributes[i] if change.attributes else {}
            width = max([column_index(letter) for letter in [*values, *attributes]] or [1])
            cells: list[JSON] = []
            for index in range(1, width + 1):
                letter = column_letter(index)
                data: JSON = {}
                if letter in values:
                    data["userEnteredValue"] = tr.extended_value(values[letter])
                    _, date_format = tr.api_value(values[letter])
                    if date_format:
                        data.setdefault("userEnteredFormat", {})["numberFormat"] = date_format
                extra = attributes.get(letter, {})
                if "note" in extra:
                    data["note"] = extra["note"]
                if "fill" in extra:
                    data.setdefault("userEnteredFormat", {})["backgroundColor"] = tr.api_color(extra["fill"])
                if "format" in extra:
                    data.setdefault("userEnteredFormat", {})["numberFormat"] = tr.number_format(extra["format"])
                cells.append(data)
            self.requests.append(
                {
                    "updateCells": {
                        "range": {
                            "sheetId": sheet_id,
                            "startRowIndex": row - 1,
                            "endRowIndex": row,
                            "startColumnIndex": 0,
                            "endColumnIndex": width,
                        },
                        "rows": [{"values": cells}],
                        "fields": "userEnteredValue,note,userEnteredFormat.backgroundColor,userEnteredFormat.numberFormat",
                    }
                }
            )
        return change

    # -- whole sheets ------------------------------------------------------------------------

    def _delete_sheet(self, change: DeleteSheet) -> DeleteSheet:
        info = self.sheets[change.sheet]
        self.requests.append({"deleteSheet": {"sheetId": info.sheet_id}})
        return replace(change, old=self.seen.grid(change.sheet), old_hidden=info.hidden)

    def _replace_sheet(self, change: ReplaceSheet) -> ReplaceSheet:
        """A sheet emptied of everything (values, formats, notes, validations, merges, charts) and filled anew.

        It keeps its id, so that what refers to it (a dropdown reading ``_lists``, a link) still does.
        """
        previous = self.sheets.get(change.sheet) if change.sheet not in self.new_ids else None
        old = self.seen.grid(change.sheet) if previous else None
        sheet_id = previous.sheet_id if previous is not None else self.new_ids[change.sheet]
        if previous is not None:
            whole = {"sheetId": sheet_id}
            self.requests += [
                {"updateCells": {"range": whole, "fields": "*"}},
                {"setDataValidation": {"range": whole}},
                {"unmergeCells": {"range": whole}},
            ]
            self.requests += [
                {"deleteEmbeddedObject": {"objectId": chart}} for chart in self.seen.charts.get(change.sheet, [])
            ]
        height = max(len(change.rows), 1)
        width = max([len(row) for row in change.rows] or [1])
        grid: JSON = {"rowCount": height + 1, "columnCount": max(width, 1)}
        if change.freeze:
            letter, row = split_address(change.freeze)
            if row > 1:
                grid["frozenRowCount"] = row - 1
            if column_index(letter) > 1:
                grid["frozenColumnCount"] = column_index(letter) - 1
        for chart in change.charts:  # the chart needs room where it is anchored
            letter, row = split_address(chart.anchor)
            grid["rowCount"] = max(grid["rowCount"], row + chart.size[1])
            grid["columnCount"] = max(grid["columnCount"], column_index(letter) + chart.size[0])
        grid.setdefault("frozenRowCount", 0)
        grid.setdefault("frozenColumnCount", 0)
        self.requests.append(
            {
                "updateSheetProperties": {
                    "properties": {"sheetId": sheet_id, "gridProperties": grid, "hidden": change.hidden},
                    "fields": ",".join(
                        [
                            f"gridProperties.{name}"
                            for name in ("rowCount", "columnCount", "frozenRowCount", "frozenColumnCount")
                        ]
                        + ["hidden"]
                    ),
                }
            }
        )
        if change.rows:
            self.requests.append(
                {
                    "updateCells": {
                        "start": {"sheetId": sheet_id, "rowIndex": 0, "columnIndex": 0},
                        "rows": [{"values": [_literal_cell(v) for v in row]} for row in change.rows],
                        "fields": "userEnteredValue,userEnteredFormat.numberFormat",
                    }
                }
            )
        ids = {title: info.sheet_id for title, info in self.sheets.items()} | self.new_ids
        for ref, style in change.styles.items():
            fmt, paths = tr.cell_format(style)
            if paths:
                self.requests.append(
                    {
                        "repeatCell": {
                            "range": tr.grid_range(sheet_id, ref),
                            "cell": {"userEnteredFormat": fmt},
                            "fields": ",".join(paths),
                        }
                    }
                )
        for ref, target in change.links.items():
            uri = tr.link_uri(target, ids)
            if uri is not None:
                self.requests.append(
                    {
                        "repeatCell": {
                            "range": tr.grid_range(sheet_id, ref),
                            "cell": {"userEnteredFormat": {"textFormat": {"link": {"uri": uri}}}},
                            "fields": "userEnteredFormat.textFormat.link",
                        }
                    }
                )
        for letter, width_chars in change.column_widths.items():
            index = column_index(letter)
            self.requests.append(
                {
                    "updateDimensionProperties": {
                        "range": {
                            "sheetId": sheet_id,
                            "dimension": "COLUMNS",
                            "startIndex": index - 1,
                            "endIndex": index,
                        },
                        "properties": {"pixelSize": round(width_chars * 7 + 5)},
                        "fields": "pixelSize",
                    }
                }
            )
        for ref, choices in change.dropdowns.items():
            self.requests.append(
                {"setDataValidation": {"range": tr.grid_range(sheet_id, ref), "rule": tr.dropdown_rule(choices, None)}}
            )
        for chart in change.charts:
            self.requests.append({"addChart": {"chart": _chart_spec(chart, sheet_id)}})
        self.sheets[change.sheet] = _SheetInfo(
            sheet_id,
            change.sheet,
            previous.index if previous else 0,
            change.hidden,
            grid["rowCount"],
            grid["columnCount"],
        )
        return replace(change, old=old, old_hidden=previous.hidden if previous else False)


def _literal_cell(value: Any) -> JSON:
    if value is None or value == "":
        return {}
    data: JSON = {"userEnteredValue": tr.extended_value(value)}
    _, date_format = tr.api_value(value)
    if date_format is not None:
        data["userEnteredFormat"] = {"numberFormat": date_format}
    return data


def _new_sheet_id(taken: set[int]) -> int:
    while True:
        candidate = secrets.randbelow(2**31 - 2) + 1
        if candidate not in taken:
            taken.add(candidate)
            return candidate


_CHART_TYPES = {
    "column": ("COLUMN", None),
    "stacked-column": ("COLUMN", "STACKED"),
    "bar": ("BAR", None),
    "stacked-bar": ("BAR", "STACKED"),
    "line": ("LINE", None),
}


def _source(sheet_id: int, ref: str) -> JSON:
    return {"sourceRange": {"sources": [tr.grid_range(sheet_id, ref)]}}


def _chart_spec(chart: Chart, sheet_id: int) -> JSON:
    """A :class:`Chart` as a Sheets ``EmbeddedChart``; a series' name cell right above its values is its header."""
    named = all(
        s.name is not None
        and split_address(s.name)[1] == split_address(s.values.split(":")[0])[1] - 1
        and split_address(s.name)[0] == split_address(s.values.split(":")[0])[0]
        for s in chart.series
    )

    def grown(ref: str) -> str:
        first, _, last = ref.partition(":")
        letter, row = split_address(first)
        return f"{letter}{row - 1}:{last}" if named else ref

    spec: JSON = {"title": chart.title}
    if chart.type == "pie":
        spec["pieChart"] = {
            "legendPosition": "RIGHT_LEGEND",
            "domain": _source(sheet_id, chart.categories),
            "series": _source(sheet_id, chart.series[0].values),
        }
    else:
        kind, stacked = _CHART_TYPES[chart.type]
        value_axis = "BOTTOM_AXIS" if kind == "BAR" else "LEFT_AXIS"
        basic: JSON = {
            "chartType": kind,
            "legendPosition": "BOTTOM_LEGEND" if len(chart.series) > 1 else "NO_LEGEND",
            "domains": [{"domain": _source(sheet_id, grown(chart.categories))}],
            "series": [{"series": _source(sheet_id, grown(s.values)), "targetAxis": value_axis} for s in chart.series],
            "headerCount": 1 if named else 0,
            "axis": [
                axis
                for axis in (
                    {"position": "BOTTOM_AXIS", "title": chart.x_title if kind != "BAR" else chart.y_title},
                    {"position": "LEFT_AXIS", "title": chart.y_title if kind != "BAR" else chart.x_title},
                )
                if axis["title"]
            ],
        }
        if stacked:
            basic["stackedType"] = stacked
        spec["basicChart"] = basic
    letter, row = split_address(chart.anchor)
    spec_position: JSON = {
        "overlayPosition": {
            "anchorCell": {"sheetId": sheet_id, "rowIndex": row - 1, "columnIndex": column_index(letter) - 1},
            "widthPixels": chart.size[0] * 100,
            "heightPixels": chart.size[1] * 21,
        }
    }
    return {"spec": spec, "position": spec_position}


__all__ = ["NOTE_MARK", "GoogleSheetsBackend", "is_google_source", "spreadsheet_key"]

"""Computed reports as report sheets (one ChangeSet) or CSV files.

Report sheets belong to sheetcrm and are replaced wholesale on every run, the way
``_issues`` and ``_review`` are. They are told apart by name:

- a report's sheet is ``"_r "`` and its title: ``"_r Revenue by month"``. Characters Excel
  does not allow in a sheet name (``[ ] : * ? / \\``) become ``-`` or go, runs of whitespace
  become one space, and a title too long for Excel's 31 characters is cut with ``…``. Two
  reports of one run that would get the same name (ignoring case, as Excel does) are told
  apart with `` (2)``, `` (3)``…;
- the index of the reports is ``"_reports"``.

Any sheet whose name starts with ``_r `` (ignoring case) is a report sheet: a team's own
sheets never do, so a run cannot write over them. :func:`stale_report_sheets` lists the ones
a run no longer produces.

Each report sheet looks like this (``N`` notes, ``H = N + 4`` the header row)::

    row 1        the title                                   bold, size 14
    row 2        "as of 2024-06-30 · source: Orders (…)"     italic, grey
    rows 3…N+2   the notes, one line each
    row N+3      empty
    row H        the column headers                          bold, blue fill, bottom border
    rows H+1…    the data rows, one per ReportTable row      number formats by column format
    last row     the totals row, when the report has one     bold, top border

The panes are frozen below the header and right of the first column, column widths fit
the content, and when the report asks for a chart and has rows, a native chart of the
data rows (not the header, not the totals) sits two columns right of the table, its top
on the header row. A report without rows shows ``no rows`` below its header, and no chart.

The ``_reports`` index: row 1 ``Reports``, row 2 a line saying these sheets are replaced
on every run, row 4 the header ``report | source | rows | as of | notes``, then one row per
report from row 5, its title a link to the report sheet's A1.

>>> changes = ChangeSet("reports")
>>> sheets = plan_report_sheets(changes, [table], existing=workbook.sheet_names)
>>> sheets
{'revenue_by_month': '_r Revenue by month'}
>>> workbook.apply(changes)
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

from sheetcrm.reports.model import ColumnFormat, ReportTable
from sheetcrm.sync.a1 import column_letter, qualified
from sheetcrm.sync.changeset import CellStyle, CellValue, ChangeSet, Chart, ChartSeries, DeleteSheet
from sheetcrm.sync.safewrite import replace_atomically
from sheetcrm.sync.values import to_text

__all__ = [
    "INDEX_SHEET",
    "NUMBER_FORMATS",
    "REPORT_SHEET_PREFIX",
    "is_report_sheet",
    "plan_report_sheets",
    "report_sheet_name",
    "report_sheet_names",
    "stale_report_sheets",
    "write_csv",
]

REPORT_SHEET_PREFIX = "_r "
"""Every report sheet's name starts with this (compared ignoring case)."""

INDEX_SHEET = "_reports"
"""The sheet listing the reports, each title a link to its sheet."""

NUMBER_FORMATS: dict[ColumnFormat, str] = {
    "integer": "#,##0",
    "number": "#,##0.00",
    "currency": "#,##0.00",
    "percent": "0.0%",
    "date": "yyyy-mm-dd",
}
"""The Excel number format of each column format (text columns keep General)."""

MAX_SHEET_NAME = 31  # Excel's limit, counted in UTF-16 units
MAX_WIDTH = 50
MIN_WIDTH = 6
TITLE = CellStyle(bold=True, size=14)
SUBTITLE = CellStyle(italic=True, color="808080")
HEADER = CellStyle(bold=True, fill="DDEBF7", bottom_border=True)
TOTALS = CellStyle(bold=True, top_border=True)
NO_ROWS = "no rows"
INDEX_HEADER = ("report", "source", "rows", "as of", "notes")
OWNED_NOTE = "sheetcrm writes the _r sheets and replaces them on every run: edits made there are lost."

_REPLACED = str.maketrans({":": "-", "/": "-", "\\": "-", "[": "(", "]": ")", "*": "", "?": ""})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SPACES = re.compile(r"\s+")
_FILE_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}
)


# -- names ------------------------------------------------------------------------------------


def is_report_sheet(name: str) -> bool:
    """Whether a sheet is a report sheet by the naming rule: ``is_report_sheet("_r Pipeline") is True``."""
    return name.casefold().startswith(REPORT_SHEET_PREFIX.casefold())


def report_sheet_name(table: ReportTable) -> str:
    """The sheet a report is written to, before telling apart reports of one run with the same title.

    >>> report_sheet_name(table)  # title "Revenue by month"
    '_r Revenue by month'
    """
    return _fitted(REPORT_SHEET_PREFIX, _clean_title(table.title) or _clean_title(table.name) or "report", "")


def report_sheet_names(tables: Sequence[ReportTable], *, existing: Sequence[str] = ()) -> dict[str, str]:
    """Report name → sheet name for one run: :func:`report_sheet_name`, made unique (ignoring case).

    A name that differs only in case from a sheet in ``existing`` takes that sheet's spelling,
    so the sheet is replaced where it is rather than renamed.
    """
    names: dict[str, str] = {}
    taken: set[str] = set()
    spelled = {name.casefold(): name for name in existing}
    for table in tables:
        if table.name in names:
            raise ValueError(f"two reports are called {table.name!r}; report names must be unique in one run")
        base = report_sheet_name(table)
        title = base[len(REPORT_SHEET_PREFIX) :]
        name, number = base, 1
        while name.casefold() in taken:
            number += 1
            name = _fitted(REPORT_SHEET_PREFIX, title, f" ({number})")
        taken.add(name.casefold())
        names[table.name] = spelled.get(name.casefold(), name)
    return names


def stale_report_sheets(existing_sheet_names: Iterable[str], current_names: Iterable[str]) -> list[str]:
    """The report sheets among ``existing_sheet_names`` that are not in ``current_names`` (ignoring case).

    Only sheets the naming rule marks as reports are listed (never the index, never a team's
    sheet), in workbook order; delete them with ``changes.add(DeleteSheet(name))``, or let
    :func:`plan_report_sheets` do it with ``delete_stale=True``.
    """
    current = {name.casefold() for name in current_names}
    return [name for name in existing_sheet_names if is_report_sheet(name) and name.casefold() not in current]


def _spelled(name: str, existing: Sequence[str]) -> str:
    """``name`` as a sheet in ``existing`` spells it (sheet names compare ignoring case), else as it is."""
    return next((sheet for sheet in existing if sheet.casefold() == name.casefold()), name)


def _clean_title(text: str) -> str:
    text = _CONTROL.sub(" ", text.translate(_REPLACED))
    return _SPACES.sub(" ", text).strip().strip("'").strip()


def _units(text: str) -> int:
    """Length in UTF-16 units, the way Excel counts a sheet name's characters."""
    return len(text.encode("utf-16-le")) // 2


def _fitted(prefix: str, title: str, suffix: str) -> str:
    """``prefix + title + suffix`` within Excel's limit, the title cut with ``…`` when it is too long."""
    room = MAX_SHEET_NAME - _units(prefix) - _units(suffix)
    if _units(title) > room:
        while _units(title) > room - 1:
            title = title[:-1]
        title = title.rstrip().rstrip("'").rstrip() + "…"
    return f"{prefix}{title}{suffix}"


# -- sheets -----------------------------------------------------------------------------------


def plan_report_sheets(
    changes: ChangeSet,
    tables: Sequence[ReportTable],
    *,
    index: bool = True,
    existing: Sequence[str] = (),
    delete_stale: bool = False,
) -> dict[str, str]:
    """Add one sheet per report to ``changes`` (and the ``_reports`` index); return report name → sheet.

    ``existing`` is the workbook's sheet names now. The index lists this run's reports and,
    after them, the report sheets in ``existing`` that this run leaves alone (running one
    report keeps the others on the index). With ``delete_stale`` those others are deleted
    instead: use it when ``tables`` are all the reports there should be (with none, the
    index goes too). A table whose rows or totals do not fit its columns, or whose chart
    names a column it does not have, raises ValueError, as do two tables with one name.

    >>> changes = ChangeSet("reports")
    >>> plan_report_sheets(changes, [revenue, pipeline], existing=workbook.sheet_names, delete_stale=True)
    {'revenue_by_month': '_r Revenue by month', 'pipeline': '_r Pipeline by stage'}
    """
    names = report_sheet_names(tables, existing=existing)
    for table in tables:
        _check(table)
    others = stale_report_sheets(existing, names.values())
    if delete_stale:
        for name in others:
            changes.add(DeleteSheet(name))
        others = []
    if index and (tables or others):
        _plan_index(changes, tables, names, others, existing)
    elif index and _spelled(INDEX_SHEET, existing) in existing:
        changes.add(DeleteSheet(_spelled(INDEX_SHEET, existing)))  # it would list only sheets that are gone
    for table in tables:
        _plan_report(changes, table, names[table.name])
    return names


def _check(table: ReportTable) -> None:
    width = len(table.columns)
    if not width:
        raise ValueError(f"report {table.name!r} has no columns")
    for number, row in enumerate(table.rows, start=1):
        if len(row) != width:
            raise ValueError(f"report {table.name!r}: row {number} has {len(row)} values for {width} columns")
    if table.totals is not None and len(table.totals) != width:
        raise ValueError(f"report {table.name!r}: the totals row has {len(table.totals)} values for {width} columns")
    if table.chart is not None:
        for position in (table.chart_category, *table.plotted()):
            if not 0 <= position < width:
                raise ValueError(f"report {table.name!r}: chart column {position} is not one of its {width} columns")


def _plan_report(changes: ChangeSet, table: ReportTable, sheet: str) -> None:
    width = len(table.columns)
    last = column_letter(width)
    subtitle = f"as of {table.as_of.isoformat()}" + (f" · source: {table.source}" if table.source else "")
    grid: list[tuple[CellValue, ...]] = [(table.title,), (subtitle,)]
    grid.extend((note,) for note in table.notes)
    grid.append(())
    header_row = len(grid) + 1
    grid.append(tuple(table.headers))
    first_data = header_row + 1
    styles: dict[str, CellStyle] = {"A1": TITLE, "A2": SUBTITLE}
    styles[f"A{header_row}:{last}{header_row}"] = HEADER
    if not table.rows:
        grid.append((NO_ROWS,))
        styles[f"A{first_data}"] = SUBTITLE
        body: list[tuple[CellValue, ...]] = []
    else:
        body = list(table.rows)
        if table.totals is not None:
            body.append(table.totals)
        grid.extend(body)
        last_row = header_row + len(body)
        for position, column in enumerate(table.columns, start=1):
            number_format = NUMBER_FORMATS.get(column.format)
            if number_format:
                letter = column_letter(position)
                styles[f"{letter}{first_data}:{letter}{last_row}"] = CellStyle(number_format=number_format)
        if table.totals is not None:
            styles[f"A{last_row}:{last}{last_row}"] = TOTALS  # after the formats: later ranges win per field
    charts = _charts(table, header_row) if table.rows else ()
    changes.replace_sheet(
        sheet,
        grid,
        freeze=f"B{first_data}",
        column_widths=_widths(table.headers, body, [c.format for c in table.columns]),
        styles=styles,
        charts=charts,
    )


def _charts(table: ReportTable, header_row: int) -> tuple[Chart, ...]:
    plotted = table.plotted()
    if table.chart is None or not plotted:
        return ()
    if table.chart == "pie":
        plotted = plotted[:1]
    first, last = header_row + 1, header_row + len(table.rows)
    category = column_letter(table.chart_category + 1)
    series = tuple(
        ChartSeries(
            f"{column_letter(p + 1)}{first}:{column_letter(p + 1)}{last}", name=f"{column_letter(p + 1)}{header_row}"
        )
        for p in plotted
    )
    category_header = table.columns[table.chart_category].header
    lying = table.chart in ("bar", "stacked-bar")
    count = len(table.rows)
    if table.chart == "pie":
        size = (7, 18)
    elif lying:  # one bar per category down the chart: taller with more of them
        size = (10, min(40, max(18, count + 4)))
    else:
        size = (min(16, max(8, 4 + count // 2)), 18)
    return (
        Chart(
            table.chart,
            table.title,
            f"{category}{first}:{category}{last}",
            series,
            anchor=f"{column_letter(len(table.columns) + 2)}{header_row}",
            size=size,
            x_title=None if table.chart == "pie" or lying else category_header,
            y_title=category_header if lying else None,
        ),
    )


def _plan_index(
    changes: ChangeSet,
    tables: Sequence[ReportTable],
    names: dict[str, str],
    others: Sequence[str],
    existing: Sequence[str],
) -> None:
    header_row = 4
    grid: list[tuple[CellValue, ...]] = [("Reports",), (OWNED_NOTE,), (), INDEX_HEADER]
    links: dict[str, str] = {}
    for table in tables:
        links[f"A{len(grid) + 1}"] = qualified(names[table.name], "A1")
        about = table.description or " ".join(table.notes)
        grid.append((table.title, table.source, len(table.rows), table.as_of, about))
    for sheet in others:
        links[f"A{len(grid) + 1}"] = qualified(sheet, "A1")
        grid.append((sheet[len(REPORT_SHEET_PREFIX) :], "", None, None, "from an earlier run"))
    last = column_letter(len(INDEX_HEADER))
    styles = {"A1": TITLE, "A2": SUBTITLE, f"A{header_row}:{last}{header_row}": HEADER}
    if len(grid) > header_row:
        styles[f"C{header_row + 1}:C{len(grid)}"] = CellStyle(number_format=NUMBER_FORMATS["integer"])
        styles[f"D{header_row + 1}:D{len(grid)}"] = CellStyle(number_format=NUMBER_FORMATS["date"])
    body = grid[header_row:]
    changes.replace_sheet(
        _spelled(INDEX_SHEET, existing),
        grid,
        freeze=f"A{header_row + 1}",
        column_widths=_widths(INDEX_HEADER, body, ["text", "text", "integer", "date", "text"]),
        links=links,
        styles=styles,
    )


# -- widths -----------------------------------------------------------------------------------


def _widths(
    headers: Sequence[str], rows: Sequence[Sequence[CellValue]], formats: Sequence[ColumnFormat]
) -> dict[str, float]:
    """Each column about as wide as its longest shown value plus 2, CJK counted double, capped."""
    widths: dict[str, float] = {}
    for position, header in enumerate(headers):
        shown = [_display_width(header)]
        shown.extend(_display_width(_shown(row[position], formats[position])) for row in rows if position < len(row))
        widths[column_letter(position + 1)] = float(min(MAX_WIDTH, max(MIN_WIDTH, max(shown) + 2)))
    return widths


def _shown(value: CellValue, format: ColumnFormat) -> str:
    """About what Excel shows for a value in a column of ``format``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if format == "percent":
            return f"{value * 100:.1f}%"
        if format == "integer":
            return f"{value:,.0f}"
        if format in ("number", "currency"):
            return f"{value:,.2f}"
    return to_text(value)


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in ("W", "F") else 1 for char in text)


# -- CSV --------------------------------------------------------------------------------------


def write_csv(tables: Sequence[ReportTable], folder: Path) -> list[Path]:
    """Write each report to ``folder/<report name>.csv``; return the files, in the order of ``tables``.

    A file holds the header row, the data rows and the totals row when there is one (no title,
    notes or as-of: those are on the report sheet). It is UTF-8 with a byte order mark, so
    Excel opens Chinese text right. Values are written as :func:`~sheetcrm.sync.values.to_text`
    gives them: dates ISO (``2024-06-30``), numbers without float noise and without thousands
    separators, percents as fractions (``0.25`` for 25%, as the ReportTable holds them), empty
    cells empty. Characters a file name cannot hold become ``_``; two reports whose file names
    would clash get ``-2``, ``-3``… Each file is replaced atomically.

    >>> write_csv([revenue], Path("out"))
    [PosixPath('out/revenue_by_month.csv')]
    """
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    taken: set[str] = set()
    for table in tables:
        stem = _file_stem(table.name)
        name, number = f"{stem}.csv", 1
        while name.casefold() in taken:
            number += 1
            name = f"{stem}-{number}.csv"
        taken.add(name.casefold())
        path = folder / name
        rows = [table.headers, *([to_text(v) for v in row] for row in table.rows)]
        if table.totals is not None:
            rows.append([to_text(v) for v in table.totals])

        def write(temp: Path, rows: list[list[str]] = rows) -> None:
            with temp.open("w", encoding="utf-8-sig", newline="") as stream:
                csv.writer(stream).writerows(rows)

        replace_atomically(path, write)
        written.append(path)
    return written


def _file_stem(name: str) -> str:
    stem = _FILE_UNSAFE.sub("_", name).strip().rstrip(". ")
    if not stem or stem.startswith("."):
        stem = f"report{stem}"
    if stem.casefold().split(".")[0] in _WINDOWS_RESERVED:
        stem = f"{stem}_"
    return stem[:120]

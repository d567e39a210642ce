"""Every corpus workbook, with rows deleted (then undone) and a report sheet added, through sheetcrm.

Deleting rows renumbers the rows below and moves whatever points at them, so more parts may
change than for a cell edit, but only parts that can hold such references: the sheet itself,
other sheets' formulas, workbook.xml's names, tables, charts, pivot caches, notes and drawings.
Everything else stays the same compressed bytes. A report sheet adds its own parts and touches
only the workbook's lists of sheets, parts and styles; deleting it takes those parts along. LibreOffice opens every result.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import warnings
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import python_calamine
from libreoffice import convert_to_xlsx
from test_lossless_edits import entries

import sheetcrm
from sheetcrm.sync.changeset import CellStyle, ChangeSet, Chart, ChartSeries, DeleteSheet
from sheetcrm.sync.preflight import inspect_xlsx
from sheetcrm.sync.values import to_text
from sheetcrm.sync.workbook import open_workbook

HERE = Path(__file__).resolve().parent
MANIFEST: dict[str, dict[str, Any]] = json.loads((HERE / "manifest.json").read_text(encoding="utf-8"))
REPORT = "sheetcrm report"
ERRORS = {"#VALUE!", "#REF!", "#N/A", "#NAME?", "#DIV/0!", "#NUM!", "#NULL!"}
# parts that may hold references to rows or anchors on them
MAY_MOVE = re.compile(
    r"xl/(workbook\.xml|_rels/workbook\.xml\.rels|worksheets/[^/]+\.xml|tables/|charts/|pivotCache/"
    r"|comments|drawings/[^/]+\.(xml|vml)|threadedComments/)|\[Content_Types\]\.xml"
)


def customers(path: Path, name: str) -> sheetcrm.Table:
    return open_workbook(path, header_rows={"Customers": MANIFEST[name]["header_row"]})["Customers"]


def records(table: sheetcrm.Table) -> list[dict[str, str]]:
    return [{field: table.value(row, field) for field in table.frame.columns} for row in table.rows]


def deleted(source: Path, folder: Path) -> dict[str, Any]:
    """Rows 2 and 4 of the data deleted from a copy of ``source``; what it read before and after."""
    path = folder / source.name
    shutil.copyfile(source, path)
    table = customers(path, source.name)
    first = table.rows[0]
    gone = (first + 1, first + 3)
    seen = {row: {table.letter(f): table.value(row, f) for f in table.frame.columns} for row in gone}
    changes = ChangeSet("dedupe")
    changes.delete("Customers", {row: {k: v for k, v in values.items() if v} for row, values in seen.items()})
    before = records(table)
    result = sheetcrm.open_workbook(path).apply(changes)
    expected = [record for index, record in enumerate(before) if table.rows[index] not in gone]
    snapshot = folder / f"deleted-{source.name}"  # the undo test goes on with `path`
    shutil.copyfile(path, snapshot)
    return {
        "path": snapshot,
        "live": path,
        "before": before,
        "expected": expected,
        "run": result.run_id,
        "first": first,
    }


def reported(source: Path, folder: Path) -> Path:
    """A copy of ``source`` with a report sheet: a styled table and a column chart."""
    path = folder / source.name
    shutil.copyfile(source, path)
    rows = [("Month", "Revenue", "Since")] + [
        (f"2024-{month:02d}", 1000 + 10 * month, dt.date(2024, month, 1)) for month in range(1, 13)
    ]
    changes = ChangeSet("report")
    changes.replace_sheet(
        REPORT,
        rows,
        freeze="A2",
        column_widths={"A": 12},
        styles={"A1:C1": CellStyle(bold=True, fill="DDEBF7"), "B2:B13": CellStyle(number_format="#,##0.00")},
        charts=[Chart("column", "Revenue by month", "A2:A13", (ChartSeries("B2:B13", name="B1"),), anchor="E2")],
    )
    sheetcrm.open_workbook(path).apply(changes)
    return path


@pytest.fixture(scope="module")
def deletions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("deleted")
    return {name: deleted(HERE / "corpus" / name, folder) for name in sorted(MANIFEST)}


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("reported")
    return {name: reported(HERE / "corpus" / name, folder) for name in sorted(MANIFEST)}


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_deleted_rows_leave_the_rest_as_it_was(name: str, deletions: dict[str, dict[str, Any]]) -> None:
    done = deletions[name]
    path = done["path"]
    before, after = entries(HERE / "corpus" / name), entries(path)
    assert set(before) - set(after) <= {"xl/calcChain.xml"}  # Excel rebuilds the chain
    assert set(after) == set(before) - {"xl/calcChain.xml"}
    changed = {part for part in after if before[part] != after[part]}
    assert {part for part in changed if not MAY_MOVE.match(part)} == set()
    assert inspect_xlsx(path).sheet("Customers").part in changed

    table = customers(path, name)
    assert records(table) == done["expected"]
    # openpyxl reads the moved cells as python-calamine (sheetcrm's reader) does
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sheet = openpyxl.load_workbook(path)["Customers"]
    calamine = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Customers")
    grid = calamine.to_python(skip_empty_area=False)
    for row in table.rows[:20]:
        for field in table.frame.columns:
            letter = table.letter(field)
            value = sheet[f"{letter}{row}"].value
            if isinstance(value, str) and (value.startswith("=") or value in ERRORS):
                continue  # a formula's text, or an error (an embedded picture's cell): readers differ
            if isinstance(value, str | int | float) and not isinstance(value, bool):
                index = openpyxl.utils.column_index_from_string(letter) - 1
                assert to_text(value) == to_text(grid[row - 1][index]), f"{letter}{row}"


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_undo_puts_the_deleted_rows_back(name: str, deletions: dict[str, dict[str, Any]]) -> None:
    done = deletions[name]
    sheetcrm.open_workbook(done["live"]).undo(done["run"])
    assert records(customers(done["live"], name)) == done["before"]


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_a_report_sheet_adds_its_parts_and_touches_only_the_lists(name: str, reports: dict[str, Path]) -> None:
    path = reports[name]
    before, after = entries(HERE / "corpus" / name), entries(path)
    assert list(after)[: len(before)] == list(before)  # no part removed or moved; new ones at the end
    changed = {part for part in before if part in after and before[part] != after[part]}
    assert changed <= {
        "xl/workbook.xml",
        "xl/_rels/workbook.xml.rels",
        "[Content_Types].xml",
        "docProps/app.xml",
        "xl/styles.xml",
    }
    added = set(after) - set(before)
    assert all(re.match(r"xl/(worksheets|drawings|charts)/", part) for part in added), added

    calamine = python_calamine.CalamineWorkbook.from_path(str(path))
    grid = calamine.get_sheet_by_name(REPORT).to_python()
    assert grid[0] == ["Month", "Revenue", "Since"]
    assert grid[12][:2] == ["2024-12", 1120.0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sheet = openpyxl.load_workbook(path)[REPORT]
    assert sheet["A1"].font.b and sheet["B2"].number_format == "#,##0.00" and sheet["C2"].is_date
    assert sheet.freeze_panes == "A2"
    assert len(sheet._charts) == 1


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_deleting_the_report_takes_its_parts_along(name: str, reports: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / name
    shutil.copyfile(reports[name], path)
    changes = ChangeSet("drop report")
    changes.add(DeleteSheet(REPORT))
    sheetcrm.open_workbook(path).apply(changes)
    before, after = entries(HERE / "corpus" / name), entries(path)
    assert set(after) == set(before) - {"xl/calcChain.xml"}
    assert inspect_xlsx(path).sheet_names == inspect_xlsx(HERE / "corpus" / name).sheet_names
    changed = {part for part in after if before[part] != after[part]}
    assert changed <= {
        "xl/workbook.xml",
        "xl/_rels/workbook.xml.rels",
        "[Content_Types].xml",
        "docProps/app.xml",
        "xl/styles.xml",
    }


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_opens_every_result(
    deletions: dict[str, dict[str, Any]], reports: dict[str, Path], tmp_path: Path
) -> None:
    inputs = {f"deleted-{name}": done["path"] for name, done in deletions.items()}
    inputs |= {f"report-{name}": path for name, path in reports.items()}
    staged = tmp_path / "in"
    staged.mkdir()
    for label, path in inputs.items():
        shutil.copyfile(path, staged / label)
    done = convert_to_xlsx(sorted(staged.iterdir()), tmp_path / "out", profile=tmp_path / "profile")
    assert done.returncode == 0, done.stderr
    for label in inputs:
        converted = tmp_path / "out" / (Path(label).stem + ".xlsx")
        assert converted.is_file(), f"LibreOffice could not open {label}: {done.stdout} {done.stderr}"
        name = label.partition("-")[2]
        if label.startswith("deleted-"):
            first = deletions[name]["first"]
            expected = deletions[name]["expected"][1]["customer_id"]
            assert customers(converted, name).value(first + 1, "customer_id") == expected, label
        else:
            grid = python_calamine.CalamineWorkbook.from_path(str(converted)).get_sheet_by_name(REPORT).to_python()
            assert grid[1][:2] == ["2024-01", 1010.0], label

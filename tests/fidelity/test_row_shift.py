"""Deleting rows with sheetcrm gives what deleting them in LibreOffice gives: every reference moves as it should.

For each workbook of make_shift_corpus.py and each of its deletions: sheetcrm deletes the rows from a copy
(a ChangeSet with DeleteRows, applied by XlsxBackend), LibreOffice deletes the same rows from the original,
then LibreOffice recalculates both files. Every cell of every sheet must have the same value (errors such as
#REF! compared by code), and both files must have the same merged ranges, validations, conditional formats,
autofilter and tables (read by openpyxl), the same chart series ranges and defined names (as LibreOffice
resolves them).

soffice runs three times for the whole module (re-saving the LibreOffice-made workbooks, all deletions, all
recalculations). The harness checks itself too: a file with wrong cached results reads back recalculated,
and LibreOffice's own deletion done in one step or row by row reads back the same.
"""

from __future__ import annotations

import math
import re
import shutil
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import libreoffice as lo
import make_shift_corpus as msc
import openpyxl
import pytest
from openpyxl.utils.cell import range_boundaries

from sheetcrm.sync.a1 import column_letter
from sheetcrm.sync.changeset import ChangeSet
from sheetcrm.sync.xlsx import XlsxBackend

CASES = [(w, s) for w in msc.WORKBOOKS for s in w.scenarios]
# LibreOffice deletes these rows in one job and also one row per job, bottom up, from its own last output
STEPWISE = [
    (w, s) for w, s in CASES if s.label == "scattered" and w.filename in ("same-sheet.xlsx", "merged-cf-dv.xlsx")
]
WRONG_CACHE_SOURCE = "same-sheet.xlsx"
RESAVED = [w for w in msc.WORKBOOKS if w.resaved_from is not None]


@dataclass
class Run:
    """Everything the module's tests look at, made once."""

    corpus: dict[str, Path]
    ours: dict[str, Path | str] = field(default_factory=dict)  # case id: written file, or why sheetcrm refused
    theirs: dict[str, Path] = field(default_factory=dict)
    values: dict[Path, lo.Result] = field(default_factory=dict)
    stepwise: dict[str, tuple[Path, Path]] = field(default_factory=dict)
    wrong_cache: Path | None = None


def case_id(workbook: msc.ShiftWorkbook, scenario: msc.Scenario) -> str:
    return f"{workbook.filename}:{scenario.id}"


def seen_rows(backend: XlsxBackend, sheet: str, rows: tuple[int, ...]) -> dict[int, dict[str, str]]:
    """Each row's text as sheetcrm reads it (what DeleteRows.values holds), formula cells left out:
    their text is a cached result, which the writer is not asked to vouch for."""
    raw = backend.read_sheets([sheet])[sheet]
    columns = raw.column_major()
    out: dict[int, dict[str, str]] = {}
    for row in rows:
        index = row - raw.first_row
        seen: dict[str, str] = {}
        for offset, column in enumerate(columns):
            letter = column_letter(raw.first_column + offset)
            text = column[index].as_py() if 0 <= index < len(column) else ""
            if text and f"{letter}{row}" not in raw.formulas:
                seen[letter] = text
        out[row] = seen
    return out


def delete_with_sheetcrm(source: Path, scenario: msc.Scenario, path: Path) -> Path | str:
    shutil.copyfile(source, path)
    try:
        backend = XlsxBackend(path, backups=0)
        changes = ChangeSet(f"delete rows {scenario.id}")
        changes.delete(scenario.sheet, seen_rows(backend, scenario.sheet, scenario.rows))
        backend.apply(changes)
    except Exception as error:  # a refusal is a result: the test reports it
        return f"{type(error).__name__}: {error}"
    return path


def with_wrong_cache(source: Path, path: Path) -> Path:
    """A copy whose every formula cell caches 99999: only a real recalculation reads the right values."""
    with zipfile.ZipFile(source) as archive:
        infos = archive.infolist()
        parts = {info.filename: archive.read(info) for info in infos}
    for name in parts:
        if name.startswith("xl/worksheets/sheet"):
            parts[name] = re.sub(rb"(</f>|<f [^>]*/>)<v>[^<]*</v>", rb"\1<v>99999</v>", parts[name])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in infos:
            archive.writestr(info, parts[info.filename])
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    if not lo.libreoffice_available():
        pytest.skip(lo.unavailable_reason())
    root = tmp_path_factory.mktemp("row-shift")
    result = Run(msc.build(root / "corpus"))
    for folder in ("ours", "theirs", "stepwise"):
        (root / folder).mkdir()

    deletions: list[lo.Job] = []
    for number, (workbook, scenario) in enumerate(CASES):
        source = result.corpus[workbook.filename]
        stem = f"{number:02d}-{Path(workbook.filename).stem}"
        result.ours[case_id(workbook, scenario)] = delete_with_sheetcrm(
            source, scenario, root / "ours" / f"{stem}.xlsx"
        )
        theirs = root / "theirs" / f"{stem}.xlsx"
        deletions.append(lo.delete_rows(source, scenario.sheet, scenario.rows, theirs))
        result.theirs[case_id(workbook, scenario)] = theirs
    for workbook, scenario in STEPWISE:
        previous = result.corpus[workbook.filename]
        for row in sorted(scenario.rows, reverse=True):
            step = root / "stepwise" / f"{Path(workbook.filename).stem}-{row}.xlsx"
            deletions.append(lo.delete_rows(previous, scenario.sheet, [row], step))
            previous = step
        result.stepwise[case_id(workbook, scenario)] = (result.theirs[case_id(workbook, scenario)], previous)
    for done in lo.run_libreoffice(deletions):
        done.check()

    result.wrong_cache = with_wrong_cache(result.corpus[WRONG_CACHE_SOURCE], root / "wrong-cache.xlsx")
    to_read = [p for p in result.ours.values() if isinstance(p, Path)] + list(result.theirs.values())
    to_read += [p for pair in result.stepwise.values() for p in pair] + [result.wrong_cache]
    to_read.append(result.corpus[WRONG_CACHE_SOURCE])
    to_read += [result.corpus[w.filename] for w in RESAVED] + [result.corpus[w.resaved_from or ""] for w in RESAVED]
    for read in lo.run_libreoffice([lo.recalculated_values(p) for p in dict.fromkeys(to_read)]):
        assert isinstance(read.job, lo.ValuesJob)
        result.values[read.job.path] = read.check()
    return result


# -- comparing two files ----------------------------------------------------------------------


def same_value(a: lo.CellValue | None, b: lo.CellValue | None) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    return type(a) is type(b) and a == b


def value_differences(ours: lo.Result, theirs: lo.Result, limit: int = 25) -> list[str]:
    found = []
    if list(ours.values) != list(theirs.values):
        found.append(f"sheets: ours {list(ours.values)}, LibreOffice {list(theirs.values)}")
    for sheet in theirs.values:
        mine, other = ours.values.get(sheet, {}), theirs.values[sheet]
        for address in sorted(set(mine) | set(other), key=address_key):
            if not same_value(mine.get(address), other.get(address)):
                found.append(f"{sheet}!{address}: ours {mine.get(address)!r}, LibreOffice {other.get(address)!r}")
    return found[:limit] + ([f"... {len(found) - limit} more"] if len(found) > limit else [])


def address_key(address: str) -> tuple[int, str]:
    letters = address.rstrip("0123456789")
    return int(address[len(letters) :]), letters.rjust(3)


def cells(sqref: Any) -> Any:
    """A range list as the set of cells it covers (so that C2:C5 C6 equals C2:C6), big ranges as text."""
    out: set[tuple[int, int]] = set()
    for part in str(sqref).split():
        min_col, min_row, max_col, max_row = range_boundaries(part)
        if min_col is None or min_row is None or max_col is None or max_row is None:
            return str(sqref)
        if (max_col - min_col + 1) * (max_row - min_row + 1) > 100_000:
            return str(sqref)
        out.update((r, c) for r in range(min_row, max_row + 1) for c in range(min_col, max_col + 1))
    return frozenset(out)


def formula_text(text: str | None) -> str | None:
    """A formula, range or name as text, with the spellings of one meaning made one: any reference that
    became #REF! is "#REF!" (LibreOffice writes #REF!, Excel 'Sheet'!#REF!), and $C$8:$C$8 is $C$8."""
    if text is None:
        return None
    if "#REF!" in text.upper():
        return "#REF!"
    return re.sub(r"(?<![\w$])(\$?[A-Z]{1,3}\$?\d+):\1(?![0-9])", r"\1", text)


def layout(path: Path) -> dict[str, dict[str, Any]]:
    """What a row shift must move besides formulas, per sheet, in a form both writers' XML reads back alike."""
    with warnings.catch_warnings():  # openpyxl warns about extensions it does not read
        warnings.simplefilter("ignore")
        book = openpyxl.load_workbook(path)
    out = {}
    for sheet in book.worksheets:
        validations = []
        for dv in sheet.data_validations.dataValidation:
            operator = dv.operator or "between"
            if dv.type in ("list", "custom"):
                operator = None
            two = operator in ("between", "notBetween")
            formula1, formula2 = formula_text(dv.formula1), formula_text(dv.formula2) if two else None
            validations.append((dv.type, operator, formula1, formula2, cells(dv.sqref)))
        formats = [
            (rule.type, rule.operator, tuple(map(formula_text, rule.formula)), rule.text or None, cells(cf.sqref))
            for cf in sheet.conditional_formatting
            for rule in cf.rules
        ]
        out[sheet.title] = {
            "merged cells": sorted(str(merged) for merged in sheet.merged_cells.ranges),
            "data validations": sorted(validations, key=repr),
            "conditional formats": sorted(formats, key=repr),
            "autofilter": sheet.auto_filter.ref,
            "tables": sorted((table.name, table.ref) for table in sheet.tables.values()),
        }
    return out


def layout_differences(ours: Path, theirs: Path) -> list[str]:
    mine, other = layout(ours), layout(theirs)
    found = []
    for sheet in other:
        for what in other[sheet]:
            a, b = mine.get(sheet, {}).get(what), other[sheet][what]
            if a != b:
                found.append(f"{sheet} {what}: ours {shown(a)}, LibreOffice {shown(b)}")
    return found


def shown(value: Any) -> str:
    def one(item: Any) -> Any:
        if isinstance(item, frozenset):
            rows = sorted({r for r, _ in item})
            return f"<{len(item)} cells, rows {rows[0]}..{rows[-1]}>" if rows else "<no cells>"
        if isinstance(item, tuple):
            return tuple(one(x) for x in item)
        return item

    return repr([one(x) for x in value]) if isinstance(value, list) else repr(value)


def chart_ranges(result: lo.Result) -> dict[str, list[list[str | None]]]:
    # chart object names are the writer's own ("Chart 1", "Object 1"): compare the ranges only
    return {
        sheet: sorted([formula_text(r) for r in ranges] for ranges in charts.values())
        for sheet, charts in result.charts.items()
    }


def names(result: lo.Result) -> dict[str, str | None]:
    return {name: formula_text(content) for name, content in result.names.items()}


def assert_same(ours: Path, theirs: Path, run: Run) -> None:
    a, b = run.values[ours], run.values[theirs]
    problems = value_differences(a, b)
    problems += layout_differences(ours, theirs)
    if chart_ranges(a) != chart_ranges(b):
        problems.append(f"chart ranges: ours {chart_ranges(a)}, LibreOffice {chart_ranges(b)}")
    if names(a) != names(b):
        problems.append(f"defined names: ours {a.names}, LibreOffice {b.names}")
    assert not problems, "\n".join(problems)


# -- the tests --------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(("workbook", "scenario"), CASES, ids=[case_id(w, s) for w, s in CASES])
def test_deleting_rows_moves_references_as_libreoffice_does(
    workbook: msc.ShiftWorkbook, scenario: msc.Scenario, run: Run
) -> None:
    ours = run.ours[case_id(workbook, scenario)]
    if isinstance(ours, str):
        pytest.fail(f"sheetcrm did not delete rows {scenario.rows} of {scenario.sheet!r}: {ours}")
    assert_same(ours, run.theirs[case_id(workbook, scenario)], run)


@pytest.mark.slow
def test_harness_recalculates_wrong_cached_values(run: Run) -> None:
    assert run.wrong_cache is not None
    source = run.corpus[WRONG_CACHE_SOURCE]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cached = openpyxl.load_workbook(run.wrong_cache, data_only=True)["Data"]["E2"].value
    assert cached == 99999  # the file really says so
    right, wrong = run.values[source], run.values[run.wrong_cache]
    assert right.values["Data"]["E2"] != 99999
    assert value_differences(wrong, right) == []


@pytest.mark.slow
@pytest.mark.parametrize("case", list(dict.fromkeys(case_id(w, s) for w, s in STEPWISE)))
def test_harness_sees_no_difference_between_equal_deletions(case: str, run: Run) -> None:
    at_once, row_by_row = run.stepwise[case]
    assert_same(at_once, row_by_row, run)


@pytest.mark.slow
@pytest.mark.parametrize("workbook", RESAVED, ids=[w.filename for w in RESAVED])
def test_harness_sees_no_difference_between_writers(workbook: msc.ShiftWorkbook, run: Run) -> None:
    # the same workbook as xlsxwriter and as LibreOffice write it: different XML, same content
    ours, theirs = run.corpus[workbook.resaved_from or ""], run.corpus[workbook.filename]
    with zipfile.ZipFile(theirs) as archive:
        assert b"LibreOffice" in archive.read("docProps/app.xml")
    assert_same(ours, theirs, run)


def test_corpus_covers_what_it_says(tmp_path: Path) -> None:
    made = msc.build(tmp_path, only={"shared-formulas.xlsx", "table.xlsx"})
    with zipfile.ZipFile(made["shared-formulas.xlsx"]) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert sheet.count('<f t="shared" ref=') == len(msc.SHARED_GROUPS) + 1
    assert '<c r="H2"><f t="shared" ref="H2:H21" si="0">' in sheet
    with zipfile.ZipFile(made["table.xlsx"]) as archive:
        assert "SUBTOTAL(109,Deals[amount])" in archive.read("xl/worksheets/sheet1.xml").decode()
    for workbook in msc.WORKBOOKS:
        for scenario in workbook.scenarios:
            assert scenario.rows == tuple(sorted(set(scenario.rows))) and scenario.rows[0] > 1, scenario

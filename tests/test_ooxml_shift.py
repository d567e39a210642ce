"""References moved the way Excel moves them when rows of a sheet are deleted or inserted."""

from __future__ import annotations

import re
import time
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pytest
import xlsxwriter

from sheetcrm.sync.ooxml.shift import (
    CannotShift,
    RowShift,
    _shift_runs,
    _shift_tokens,
    shift_chart_part,
    shift_defined_names,
    shift_formula,
    shift_pivot_cache,
    shift_range,
    shift_sheet_head,
    shift_sheet_tail,
    shift_sqref,
    shift_table_part,
    translate_shared,
)

LAST = 1_048_576


def delete(*rows: int, sheet: str = "Data") -> RowShift:
    return RowShift.deleting(sheet, rows)


def insert(*rows: int, sheet: str = "Data") -> RowShift:
    return RowShift.inserting(sheet, rows)


# --- RowShift ------------------------------------------------------------------------------


def test_deleting_maps_rows_and_back() -> None:
    shift = RowShift.deleting("Data", [7, 3, 4, 3])
    assert shift.deleted == (3, 4, 7)
    assert [shift.new_row(row) for row in range(1, 10)] == [1, 2, None, None, 3, 4, None, 5, 6]
    assert [shift.old_row(row) for row in range(1, 7)] == [1, 2, 5, 6, 8, 9]
    assert shift.first_affected == 3


def test_inserting_maps_rows_and_back() -> None:
    # new rows end up at 3, 4 and 7: 1, 2, new, new, old 3, old 4, new, old 5 ...
    shift = insert(3, 4, 7)
    assert [shift.new_row(row) for row in range(1, 7)] == [1, 2, 5, 6, 8, 9]
    assert [shift.old_row(row) for row in range(1, 10)] == [1, 2, None, None, 3, 4, None, 5, 6]
    assert shift.first_affected == 3


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: RowShift("S", deleted=(2,), inserted=(3,)), "not both"),
        (lambda: RowShift.inserting("S", [4, 2]), "ascending"),
        (lambda: RowShift.deleting("S", [0]), "within"),
        (lambda: RowShift.inserting("S", [LAST + 1]), "within"),
    ],
)
def test_bad_shifts_are_refused(make: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()  # type: ignore[operator]


def test_no_rows_affects_nothing() -> None:
    shift = RowShift.deleting("Data", [])
    assert shift.first_affected == LAST + 1
    assert shift.new_row(5) == 5
    assert shift_formula("A5", shift, host_sheet="Data") == "A5"


def test_inserting_past_the_last_row_is_refused() -> None:
    with pytest.raises(ValueError, match="past row 1048576"):
        insert(5).new_row(LAST)


def test_tens_of_thousands_of_deleted_rows_are_fast() -> None:
    rows = range(2, 100_000, 2)
    start = time.perf_counter()
    shift = RowShift.deleting("Data", rows)
    mapped = [shift.new_row(row) for row in range(1, 100_001)]
    spans = [shift.span(row, row + 10) for row in range(1, 100_001)]
    assert time.perf_counter() - start < 2
    assert mapped[:6] == [1, None, 2, None, 3, None]
    assert spans[1] == (2, 6)  # 2..12 keeps 3, 5, 7, 9, 11


def test_view_row_yields_to_the_next_row() -> None:
    assert delete(5, 6).view_row(5) == 5
    assert delete(5, 6).view_row(7) == 5
    assert delete(1).view_row(1) == 1
    assert insert(5).view_row(LAST) == LAST


# --- shift_range: deleting -----------------------------------------------------------------

DELETES = [
    # (ref, deleted rows, expected)
    ("B4", (5,), "B4"),
    ("B5", (5,), None),
    ("B6", (5,), "B5"),
    ("$B$7", (5,), "$B$6"),
    ("B$7", (5,), "B$6"),
    ("$B7", (5,), "$B6"),
    ("b7", (5,), "b6"),
    ("A2:C10", (5,), "A2:C9"),
    ("A2:C10", (2,), "A2:C9"),
    ("A2:C10", (10,), "A2:C9"),
    ("A2:C10", (11,), "A2:C10"),
    ("A2:C10", (1,), "A1:C9"),
    ("A2:C10", tuple(range(2, 11)), None),
    ("A2:C10", tuple(range(1, 12)), None),
    ("A2:C10", (2, 3, 9, 10), "A2:C6"),
    ("A5:C5", (5,), None),
    ("A4:A8", (5, 6, 7), "A4:A5"),
    ("A5:A7", (5, 6, 7), None),
    ("$A$2:$C$10", (1, 5), "$A$1:$C$8"),
    ("A$2:C$10", (3,), "A$2:C$9"),
    ("A10:A2", (5,), "A9:A2"),  # written bottom-up, kept so
    ("3:5", (4,), "3:4"),
    ("$3:$5", (3, 4, 5), None),
    ("$3:$5", (1,), "$2:$4"),
    ("5:5", (5,), None),
    ("A:C", (1, 2, 3), "A:C"),
    ("$A:$C", (5,), "$A:$C"),
    # a range to the last row keeps that end (Excel, LibreOffice)
    ("A2:A1048576", (5,), "A2:A1048576"),
    ("A6:A1048576", (5,), "A5:A1048576"),
    ("A5:A1048576", (5,), "A5:A1048576"),
    ("A2:A1048576", (LAST,), "A2:A1048576"),
    ("2:1048576", (1,), "1:1048576"),
    ("A1048576", (5,), "A1048575"),
    ("A1048576", (LAST,), None),
    ("XFD9", (1,), "XFD8"),
]


@pytest.mark.parametrize(("ref", "rows", "expected"), DELETES)
def test_shift_range_deleting(ref: str, rows: tuple[int, ...], expected: str | None) -> None:
    assert shift_range(ref, RowShift.deleting("Data", rows)) == expected


INSERTS = [
    # (ref, final rows of the inserted rows, expected)
    ("B4", (5,), "B4"),
    ("B5", (5,), "B6"),
    ("$B$5", (5,), "$B$6"),
    ("B5", (3, 4), "B7"),
    ("B3", (3, 5), "B4"),
    ("B4", (3, 5), "B6"),
    ("A2:C10", (5,), "A2:C11"),  # inserted inside: grows
    ("A2:C10", (10,), "A2:C11"),  # in front of the bottom row: grows
    ("A2:C10", (11,), "A2:C10"),  # right below: stays (Excel, LibreOffice)
    ("A2:C10", (2,), "A3:C11"),  # in front of the top row: moves
    ("A2:C10", (1, 2), "A4:C12"),
    ("A$2:$C10", (1, 5), "A$3:$C12"),
    ("3:5", (4,), "3:6"),
    ("$3:$5", (1,), "$4:$6"),
    ("A:C", (1,), "A:C"),
    ("A2:A1048576", (5,), "A2:A1048576"),
    ("A6:A1048576", (5,), "A7:A1048576"),
    ("1:1048576", (1,), "2:1048576"),
]


@pytest.mark.parametrize(("ref", "rows", "expected"), INSERTS)
def test_shift_range_inserting(ref: str, rows: tuple[int, ...], expected: str) -> None:
    assert shift_range(ref, RowShift.inserting("Data", rows)) == expected


@pytest.mark.parametrize("ref", ["A1048576", "A1048575:B1048575", "1048576:1048576"])
def test_inserting_pushes_off_the_sheet(ref: str) -> None:
    with pytest.raises(ValueError, match="Excel refuses"):
        shift_range(ref, insert(2, 3))


@pytest.mark.parametrize("ref", ["Name", "A0", "A1048577", "XFE1", "A1:3", "", "Data!A1", "A1:B2:C3"])
def test_shift_range_refuses_what_is_no_reference(ref: str) -> None:
    with pytest.raises(ValueError, match="not an A1 reference"):
        shift_range(ref, delete(1))


@pytest.mark.parametrize(
    ("sqref", "shift", "expected"),
    [
        ("A1:A5 C3 D10:D12", delete(3), "A1:A4 D9:D11"),
        ("C3", delete(3), None),
        ("C3 C4", delete(3, 4), None),
        ("B2:B30", insert(2), "B3:B31"),
        ("A1", delete(5), "A1"),
    ],
)
def test_shift_sqref(sqref: str, shift: RowShift, expected: str | None) -> None:
    assert shift_sqref(sqref, shift) == expected


# --- shift_formula -------------------------------------------------------------------------

FORMULAS = [
    # (formula on sheet Data, after deleting row 5 of Data)
    ("SUM(A2:C2)*2", "SUM(A2:C2)*2"),
    ("SUM(A2:C9)*2", "SUM(A2:C8)*2"),
    ("A5+1", "#REF!+1"),
    ("SUM(A5)", "SUM(#REF!)"),
    ("SUM(A5:C5)", "SUM(#REF!)"),
    ("A6*2", "A5*2"),
    ("$A$6*A$6+$A6", "$A$5*A$5+$A5"),
    ("Data!A6", "Data!A5"),
    ("data!A6", "data!A5"),  # sheet names match case-insensitively, as in Excel
    ("Data!A5", "#REF!"),  # Excel shows Data!#REF!, LibreOffice writes and reads #REF!
    ("SUM(Data!A5:A5)", "SUM(#REF!)"),
    ("Other!A6+A6", "Other!A6+A5"),
    ("'Other sheet'!A6", "'Other sheet'!A6"),
    ('"A6"&A6', '"A6"&A5'),
    ('IF(A6>0,"A6 is ""big""","Data!A6")', 'IF(A5>0,"A6 is ""big""","Data!A6")'),
    ("LOG10(A6)+ATAN2(1,2)", "LOG10(A5)+ATAN2(1,2)"),
    ("Table1[Amount]+A6", "Table1[Amount]+A5"),
    ("SUM(Table1[[#This Row],[A6]])", "SUM(Table1[[#This Row],[A6]])"),
    ("[1]Data!A6+A6", "[1]Data!A6+A5"),
    ("'[2]Data'!A6", "'[2]Data'!A6"),
    ("rate6*A6", "rate6*A5"),  # a name with digits
    ("XFE6+A1048577", "XFE6+A1048577"),  # no cells: names
    ("_xlfn.XLOOKUP(A6,B:B,C:C)", "_xlfn.XLOOKUP(A5,B:B,C:C)"),
    ("SUM(5:5)+SUM(4:6)+SUM($6:$7)", "SUM(#REF!)+SUM(4:5)+SUM($5:$6)"),
    ("SUM(A:A)+COUNT($B:$C)", "SUM(A:A)+COUNT($B:$C)"),
    ("A6:INDEX(B:B,3)", "A5:INDEX(B:B,3)"),
    ("OFFSET(A1,1,1):B6", "OFFSET(A1,1,1):B5"),
    ("Data!A1:Data!B6", "Data!A1:Data!B5"),
    ("SUM(A1:A9 A6:B6)", "SUM(A1:A8 A5:B5)"),
    ("SUM((A6,A9))", "SUM((A5,A8))"),
    ("{1,2;3,4}+A6", "{1,2;3,4}+A5"),
    ("1E+6+A6", "1E+6+A5"),
    ("TRUE+A6%", "TRUE+A5%"),
    ("-A6^2", "-A5^2"),
    ("A6 + A7", "A5 + A6"),
    ("#REF!+Data!#REF!", "#REF!+Data!#REF!"),
    ("SUM(A2:A1048576)", "SUM(A2:A1048576)"),
    ("SUM(A6:A1048576)", "SUM(A5:A1048576)"),
]


@pytest.mark.parametrize(("formula", "expected"), FORMULAS)
def test_shift_formula_deleting(formula: str, expected: str) -> None:
    assert shift_formula(formula, delete(5), host_sheet="Data") == expected


@pytest.mark.parametrize(
    ("formula", "sheet", "host", "expected"),
    [
        ("'It''s'!A6", "It's", None, "'It''s'!A5"),
        ("'My sheet'!A2:B7", "MY SHEET", "Other", "'My sheet'!A2:B6"),
        ("'My sheet'!A2:B7+A7", "My sheet", "My sheet", "'My sheet'!A2:B6+A6"),
        ("A6", "Data", None, "A6"),  # unqualified in a defined name: on no sheet
        ("A6", "Data", "Other", "A6"),
        ("Data!A6", "Data", "Other", "Data!A5"),
        ("Data2!A6", "Data", "Other", "Data2!A6"),
        ("'Data'!A6", "Data", "Other", "'Data'!A5"),
        ("'Q1 ''24'!$B$6", "Q1 '24", None, "'Q1 ''24'!$B$5"),
        ("Données!A6", "données", None, "Données!A5"),
    ],
)
def test_shift_formula_sheet_names(formula: str, sheet: str, host: str | None, expected: str) -> None:
    assert shift_formula(formula, RowShift.deleting(sheet, [5]), host_sheet=host) == expected


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("SUM(A2:C10)", "SUM(A2:C11)"),
        ("A5+A4", "A6+A4"),
        ("Data!$A$5:$A$1048576", "Data!$A$6:$A$1048576"),
        ("SUM(A2:A4)", "SUM(A2:A4)"),
        ("'Data'!5:5", "'Data'!6:6"),
    ],
)
def test_shift_formula_inserting(formula: str, expected: str) -> None:
    assert shift_formula(formula, insert(5), host_sheet="Data") == expected


def test_shift_formula_inserting_off_the_sheet() -> None:
    with pytest.raises(ValueError, match="Excel refuses"):
        shift_formula("A1048576", insert(5), host_sheet="Data")


@pytest.mark.parametrize(
    ("formula", "sheets"),
    [
        ("SUM(Data:Other!A6)", ()),
        ("SUM(First:Data!A6)", ("First", "Data")),
        ("SUM(First:Last!A6)", ("First", "Data", "Last")),
        ("SUM(First:Last!A6)", ()),  # order unknown: Data may lie between
        ("SUM('First one:Last'!A6)", ("First one", "Data", "Last")),
        ("SUM(First:Unknown!A6)", ("First", "Data", "Last")),
    ],
)
def test_3d_references_spanning_the_sheet_cannot_shift(formula: str, sheets: tuple[str, ...]) -> None:
    with pytest.raises(CannotShift, match="3-D reference"):
        shift_formula(formula, RowShift.deleting("Data", [5], sheets=sheets), host_sheet="Data")


@pytest.mark.parametrize(
    ("formula", "sheets"),
    [
        ("SUM(First:Last!A6)", ("Data", "First", "Last")),  # Data is not between them
        ("SUM(Data:Other!A2)", ()),  # rows that do not move
        ("SUM(Data:Other!A:A)", ()),
    ],
)
def test_3d_references_that_need_no_change(formula: str, sheets: tuple[str, ...]) -> None:
    shift = RowShift.deleting("Data", [5], sheets=sheets)
    assert shift_formula(formula, shift, host_sheet="Data") == formula


def test_unreadable_formula_cannot_shift() -> None:
    with pytest.raises(CannotShift, match="cannot read"):
        shift_formula('A6&"', delete(5), host_sheet="Data")


def test_unaffected_formulas_come_back_as_they_were() -> None:
    for formula in ["SUM(A2:C2)*2", "Other!A9", "A4+$B$4", 'CONCAT("A9")']:
        assert shift_formula(formula, delete(5), host_sheet="Data") is formula
    assert shift_formula("A9", delete(5), host_sheet="Other") == "A9"


FAST_AND_SLOW = [
    "SUM(A2:C9)*2",
    "A5+1",
    "SUM(A6:A1048576)/COUNT(4:9)",
    "LOG10(A6)+ATAN2(A7,2)",
    "A6:INDEX(B:B,3)",
    "OFFSET(A1,1,1):B6",
    "Data!A1:Data!B6",
    "Other!A6+Data!$A$6",
    "Data:Other!A2",
    "SUM(A1:A9 A6:B6)",
    "1E+6+A6-1.5E-3*B7",
    "rate6*XFE6+A1048577",
    "_xlfn.XLOOKUP(A6,B:B,C:C,,0)",
    "A6<>B6>=C6<=D6",
    "Données!A6+données!B6",
    "-A6%^2&B6",
    "SUM( A6 , B7 )",
    'IF(A6>0,"A6 "" B7",B7)&"x"',
    '"A6"&A6&""&"Data!A6"',
    "'Data'!A6+'It''s 2'!B6*'Data'!A1:'Data'!B9",
    "SUM('Da ta'!A6:B9)+'Data'!6:9",
    "'Data'!A6&\"it's\"",
]


@pytest.mark.parametrize("formula", FAST_AND_SLOW)
@pytest.mark.parametrize("shift", [delete(5), delete(1, 6, 7), insert(5), insert(1, 2)])
@pytest.mark.parametrize("host", [True, False])
def test_regex_path_agrees_with_the_tokenizer(formula: str, shift: RowShift, host: bool) -> None:
    def outcome(path: Callable[[str, RowShift, bool], str]) -> str:
        try:
            return path(formula, shift, host)
        except (CannotShift, ValueError) as error:
            return type(error).__name__

    assert outcome(_shift_runs) == outcome(_shift_tokens)


# --- translate_shared ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("formula", "master", "target", "expected"),
    [
        ("A2*$B$1+B2", "C2", "C5", "A5*$B$1+B5"),
        ("SUM(A2:B2)", "C2", "D3", "SUM(B3:C3)"),
        ("A2:INDEX(B:B,3)", "C2", "C4", "A4:INDEX(B:B,3)"),
        ("Data!A2:Data!B2", "C2", "C3", "Data!A3:Data!B3"),
        ('"A2"&Table1[A2]&A2', "C2", "C3", '"A2"&Table1[A2]&A3'),
        ("'My sheet'!A$2+$A2", "C2", "D9", "'My sheet'!B$2+$A9"),
        ("SUM(2:2)", "C2", "C3", "SUM(3:3)"),
        ("A2", "C2", "C2", "A2"),
    ],
)
def test_translate_shared(formula: str, master: str, target: str, expected: str) -> None:
    assert translate_shared(formula, master, target) == expected


def test_translate_shared_off_the_sheet() -> None:
    with pytest.raises(CannotShift, match="off the sheet"):
        translate_shared("A1", "C2", "C1")
    with pytest.raises(CannotShift, match="off the sheet"):
        translate_shared("A1048575", "C2", "C4")


# --- sheet head ----------------------------------------------------------------------------

HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b'<dimension ref="A1:H30"/><sheetViews><sheetView tabSelected="1" workbookViewId="0" topLeftCell="A10">'
    b'<pane ySplit="3" topLeftCell="A12" activePane="bottomLeft" state="frozen"/>'
    b'<selection pane="topLeft" activeCell="B2" sqref="B2"/>'
    b"<selection pane='bottomLeft' activeCell='B12' sqref='B12 C14:C20'/>"
    b'</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/><cols><col min="1" max="2" width="9"/></cols>'
)


def test_sheet_head_deleting() -> None:
    out = shift_sheet_head(HEAD, delete(2, 12)).decode()
    assert '<dimension ref="A1:H28"/>' in out
    assert 'topLeftCell="A9"' in out  # the sheet view scrolled to old row 10
    assert '<pane ySplit="2" topLeftCell="A11" activePane="bottomLeft" state="frozen"/>' in out
    assert '<selection pane="topLeft" activeCell="B2" sqref="B2"/>' in out  # old B3 took row 2
    assert "<selection pane='bottomLeft' activeCell='B11' sqref='C12:C18'/>" in out
    assert out.replace("H28", "H30").replace("A9", "A10") != HEAD.decode()  # something else changed too
    assert out.endswith('<cols><col min="1" max="2" width="9"/></cols>')


def test_sheet_head_inserting_into_the_frozen_rows() -> None:
    out = shift_sheet_head(HEAD, insert(2)).decode()
    assert '<dimension ref="A1:H31"/>' in out
    assert '<pane ySplit="4" topLeftCell="A13" activePane="bottomLeft" state="frozen"/>' in out
    assert "activeCell='B13' sqref='B13 C15:C21'" in out


def test_sheet_head_untouched_is_the_same_bytes() -> None:
    assert shift_sheet_head(HEAD, delete(40)) is HEAD


def test_sheet_head_refuses_to_delete_every_frozen_row() -> None:
    with pytest.raises(CannotShift, match="frozen"):
        shift_sheet_head(HEAD, delete(1, 2, 3))


def test_sheet_head_of_a_whole_deleted_sheet() -> None:
    head = b'<worksheet><dimension ref="A2:C3"/><sheetViews><sheetView workbookViewId="0"/></sheetViews>'
    assert b'<dimension ref="A1"/>' in shift_sheet_head(head, delete(2, 3))


# --- sheet tail: a real workbook -----------------------------------------------------------


def _workbook(path: Path) -> Path:
    book = xlsxwriter.Workbook(str(path))
    data = book.add_worksheet("Data")
    for r in range(30):
        data.write_row(r, 0, [r, r * 2, f"n{r}"])
    data.merge_range("E3:F4", "m")
    data.merge_range("E6:E7", "m2")
    data.merge_range("E9:F10", "m3")
    data.conditional_format("B2:B30", {"type": "formula", "criteria": "=$A2>10", "format": book.add_format()})
    data.conditional_format("C5:C5", {"type": "cell", "criteria": ">", "value": "$A$1"})
    data.conditional_format("A2:A30", {"type": "data_bar", "data_bar_2010": True})
    data.data_validation("D2:D30", {"validate": "list", "source": ["a", "b"]})
    data.data_validation("G4:G9", {"validate": "custom", "value": "=G4<>A4"})
    data.data_validation("G5", {"validate": "integer", "criteria": ">", "value": 0})
    data.autofilter("A1:C30")
    data.write_url("H5", "https://example.com")
    data.write_url("H6", "internal:Data!A6")
    data.set_h_pagebreaks([4, 20])
    data.ignore_errors({"number_stored_as_text": "C2:C30", "eval_error": "C5"})
    data.add_sparkline("I5", {"range": "Data!A5:C5"})
    data.add_sparkline("I7", {"range": "Data!A7:C7"})
    data.freeze_panes(1, 0)
    summary = book.add_worksheet("Summary")
    summary.write_formula("A1", "=SUM(Data!B2:B30)")
    summary.conditional_format("A1", {"type": "formula", "criteria": "=Data!$A$7>0", "format": book.add_format()})
    book.define_name("Totals", "=Data!$B$2:$B$30")
    book.define_name("Summary!Picked", "=Data!$A$5")
    chart = book.add_chart({"type": "column"})
    chart.add_series({"categories": "=Data!$A$2:$A$30", "values": "=Data!$B$2:$B$30", "name": "=Data!$B$5"})
    summary.insert_chart("C3", chart)
    book.close()
    return path


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def _tail(xml: bytes) -> tuple[bytes, bytes]:
    cut = xml.index(b"</sheetData>")
    return xml[:cut], xml[cut:]


def _save(parts: dict[str, bytes], path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return path


def test_sheet_tail_deleting(tmp_path: Path) -> None:
    parts = _parts(_workbook(tmp_path / "book.xlsx"))
    body, tail = _tail(parts["xl/worksheets/sheet1.xml"])
    shift = RowShift.deleting("Data", [5, 10])
    out = shift_sheet_tail(tail, shift, host_sheet="Data").decode()
    ElementTree.fromstring(body.decode().split("?>", 1)[1] + "</sheetData>" + out.split("</sheetData>", 1)[1])

    assert '<autoFilter ref="A1:C28"/>' in out
    # E3:F4 stays, E6:E7 moves, E9:F10 shrinks to one row (still two cells)
    assert '<mergeCells count="3"><mergeCell ref="E3:F4"/><mergeCell ref="E5:E6"/><mergeCell ref="E8:F8"/>' in out
    assert '<conditionalFormatting sqref="B2:B28">' in out
    assert "<formula>$A2&gt;10</formula>" in out
    assert 'sqref="C5"' not in out  # its only cell is gone
    assert "<xm:sqref>A2:A28</xm:sqref>" in out  # the x14 data bar follows its rule
    assert '<dataValidations count="2">' in out
    assert 'sqref="D2:D28"><formula1>"a,b"</formula1>' in out
    assert 'sqref="G4:G8"><formula1>G4&lt;&gt;A4</formula1>' in out
    assert '<hyperlink ref="H5" location="Data!A6" display="Data!A6"/>' in out  # Excel leaves locations be
    assert 'r:id="rId1"' not in out
    # a break belongs to the row starting the page (5, deleted here), as it does in Excel
    assert '<rowBreaks count="1" manualBreakCount="1"><brk id="18" max="16383" man="1"/></rowBreaks>' in out
    assert '<ignoredErrors><ignoredError sqref="C2:C28" numberStoredAsText="1"/></ignoredErrors>' in out
    assert "<xm:f>Data!A6:C6</xm:f><xm:sqref>I6</xm:sqref>" in out
    assert "Data!A5:C5" not in out  # the sparkline in I5 went with its row

    parts["xl/worksheets/sheet1.xml"] = body + out.encode()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl drops the x14 extensions, with a warning
        book = openpyxl.load_workbook(_save(parts, tmp_path / "out.xlsx"))
    sheet = book["Data"]
    assert sorted(str(r) for r in sheet.merged_cells.ranges) == ["E3:F4", "E5:E6", "E8:F8"]
    assert sorted(str(v.sqref) for v in sheet.data_validations.dataValidation) == ["D2:D28", "G4:G8"]


def test_sheet_tail_inserting(tmp_path: Path) -> None:
    parts = _parts(_workbook(tmp_path / "book.xlsx"))
    _, tail = _tail(parts["xl/worksheets/sheet1.xml"])
    out = shift_sheet_tail(tail, insert(4), host_sheet="Data").decode()
    assert '<autoFilter ref="A1:C31"/>' in out
    assert '<mergeCell ref="E3:F5"/>' in out  # inserted inside: grows
    assert '<conditionalFormatting sqref="C6">' in out
    assert 'sqref="G5:G10"><formula1>G5&lt;&gt;A5</formula1>' in out
    assert '<brk id="5" max="16383" man="1"/><brk id="21"' in out
    assert "<xm:f>Data!A6:C6</xm:f><xm:sqref>I6</xm:sqref>" in out


def test_sheet_tail_untouched_is_the_same_bytes(tmp_path: Path) -> None:
    parts = _parts(_workbook(tmp_path / "book.xlsx"))
    _, tail = _tail(parts["xl/worksheets/sheet1.xml"])
    assert shift_sheet_tail(tail, delete(31), host_sheet="Data") is tail


def test_sheet_tail_of_another_sheet_moves_only_formulas(tmp_path: Path) -> None:
    parts = _parts(_workbook(tmp_path / "book.xlsx"))
    _, tail = _tail(parts["xl/worksheets/sheet2.xml"])
    out = shift_sheet_tail(tail, delete(1, 2), host_sheet="Summary").decode()
    assert '<conditionalFormatting sqref="A1">' in out
    assert "<formula>Data!$A$5&gt;0</formula>" in out


def test_conditional_format_whose_top_left_row_is_deleted() -> None:
    # Excel keeps relative references relative to the new top-left cell; LibreOffice 7
    # writes #REF! here, which we take for its bug
    tail = (
        b'</sheetData><conditionalFormatting sqref="B3:B12"><cfRule type="expression" priority="1">'
        b"<formula>$A3&gt;B$4+B$2+$A$1</formula></cfRule></conditionalFormatting>"
        b'<dataValidations count="1"><dataValidation type="custom" sqref="D4:D12 F5">'
        b"<formula1>A4&gt;0</formula1></dataValidation></dataValidations></worksheet>"
    )
    out = shift_sheet_tail(tail, delete(3, 4), host_sheet="Data").decode()
    assert '<conditionalFormatting sqref="B3:B10">' in out
    assert "<formula>$A3&gt;#REF!+B$2+$A$1</formula>" in out  # row 4 (absolute) is gone
    assert 'sqref="D3:D10 F3"><formula1>A3&gt;0</formula1>' in out


def test_conditional_format_color_scale_values() -> None:
    tail = (
        b'</sheetData><conditionalFormatting sqref="A2:A20"><cfRule type="colorScale" priority="1"><colorScale>'
        b'<cfvo type="num" val="$B$9"/><cfvo type="max"/><color rgb="FFF8696B"/><color rgb="FF63BE7B"/>'
        b"</colorScale></cfRule></conditionalFormatting></worksheet>"
    )
    out = shift_sheet_tail(tail, delete(5), host_sheet="Data").decode()
    assert '<conditionalFormatting sqref="A2:A19">' in out
    assert '<cfvo type="num" val="$B$8"/>' in out


def test_x14_validation_and_escaped_text() -> None:
    tail = (
        b"</sheetData><extLst>"
        b'<ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}" '
        b'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
        b'<x14:dataValidations count="2" xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main">'
        b'<x14:dataValidation type="list" allowBlank="1"><x14:formula1><xm:f>\'R&amp;D\'!$A$2:$A$9</xm:f>'
        b"</x14:formula1><xm:sqref>B2:B9</xm:sqref></x14:dataValidation>"
        b'<x14:dataValidation type="list"><x14:formula1><xm:f>Lists!$A$1:$A$3</xm:f></x14:formula1>'
        b"<xm:sqref>C5</xm:sqref></x14:dataValidation>"
        b"</x14:dataValidations></ext></extLst></worksheet>"
    )
    out = shift_sheet_tail(tail, RowShift.deleting("R&D", [5]), host_sheet="R&D").decode()
    assert '<x14:dataValidations count="1"' in out
    assert "<xm:f>'R&amp;D'!$A$2:$A$8</xm:f></x14:formula1><xm:sqref>B2:B8</xm:sqref>" in out
    assert "C5" not in out
    # the last one going takes its extension with it
    gone = shift_sheet_tail(tail, RowShift.deleting("R&D", range(2, 10)), host_sheet="R&D").decode()
    assert gone == "</sheetData><extLst></extLst></worksheet>"


def test_merge_that_shrinks_to_one_cell_is_dropped() -> None:
    tail = b'</sheetData><mergeCells count="2"><mergeCell ref="A5:A6"/><mergeCell ref="B7:C7"/></mergeCells>'
    assert shift_sheet_tail(tail, delete(6), host_sheet="Data") == (
        b'</sheetData><mergeCells count="1"><mergeCell ref="B6:C6"/></mergeCells>'
    )
    assert shift_sheet_tail(tail, delete(6, 7), host_sheet="Data") == b"</sheetData>"


def test_protected_ranges_and_sort_state() -> None:
    tail = (
        b'</sheetData><protectedRanges><protectedRange name="a" sqref="A5:B6"/><protectedRange name="b" sqref="C2"/>'
        b'</protectedRanges><autoFilter ref="A1:C9"><sortState ref="A2:C9">'
        b'<sortCondition descending="1" ref="B2:B9"/></sortState></autoFilter>'
    )
    out = shift_sheet_tail(tail, delete(5, 6), host_sheet="Data")
    assert out == (
        b'</sheetData><protectedRanges><protectedRange name="b" sqref="C2"/>'
        b'</protectedRanges><autoFilter ref="A1:C7"><sortState ref="A2:C7">'
        b'<sortCondition descending="1" ref="B2:B7"/></sortState></autoFilter>'
    )


@pytest.mark.parametrize(
    ("tail", "reason"),
    [
        (b'</sheetData><scenarios><scenario name="s"><inputCells r="A5" val="1"/></scenario></scenarios>', "scenarios"),
        (b'</sheetData><customSheetViews><customSheetView guid="{1}"/></customSheetViews>', "customSheetViews"),
        (b'</sheetData><autoFilter ref="A5:C6"/>', "filter range"),
        (
            b"</sheetData><controls><control><controlPr><anchor><from><xdr:col>1</xdr:col><xdr:row>9</xdr:row>"
            b"</from></anchor></controlPr></control></controls>",
            "controls",
        ),
        (b'</sheetData><extLst><ext uri="{X}"><x:thing sqref="A9"/></ext></extLst></worksheet>', "extension"),
    ],
)
def test_sheet_tail_refuses_what_it_cannot_move(tail: bytes, reason: str) -> None:
    with pytest.raises(CannotShift, match=reason):
        shift_sheet_tail(tail, delete(5, 6), host_sheet="Data")


def test_controls_above_the_change_are_fine() -> None:
    tail = b"</sheetData><controls><anchor><from><xdr:row>1</xdr:row></from><to><xdr:row>2</xdr:row></to></anchor></controls>"
    assert shift_sheet_tail(tail, delete(9), host_sheet="Data") is tail


def test_unknown_extension_without_references_is_kept() -> None:
    tail = b'</sheetData><extLst><ext uri="{3A4CF648-6AED-40f4-86FF-DC5316D8AED3}"><x14:slicerList/></ext></extLst>'
    assert shift_sheet_tail(tail, delete(5), host_sheet="Data") is tail


# --- tables --------------------------------------------------------------------------------

TABLE = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<table xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" id="1" name="Leads" '
    'displayName="Leads" ref="A1:C10"{totals}><autoFilter ref="A1:C{filter_end}"/><tableColumns count="3">'
    '<tableColumn id="1" name="id"/><tableColumn id="2" name="amount"/>'
    '<tableColumn id="3" name="double"><calculatedColumnFormula>Leads[[#This Row],[amount]]*2</calculatedColumnFormula>'
    '</tableColumn></tableColumns><tableStyleInfo name="TableStyleMedium9" showRowStripes="1"/></table>'
)


def table(totals: bool = False) -> bytes:
    extra = ' totalsRowCount="1"' if totals else ""
    return TABLE.format(totals=extra, filter_end=9 if totals else 10).encode()


@pytest.mark.parametrize(
    ("shift", "ref", "filter_ref"),
    [
        (delete(5), "A1:C9", "A1:C9"),
        (delete(10, 11), "A1:C9", "A1:C9"),
        (delete(12), "A1:C10", "A1:C10"),
        (insert(5), "A1:C11", "A1:C11"),
        (insert(1), "A2:C11", "A2:C11"),
        (insert(11), "A1:C10", "A1:C10"),
        (delete(*range(2, 11)), "A1:C2", "A1:C2"),  # header and one empty row stay
    ],
)
def test_table_part(shift: RowShift, ref: str, filter_ref: str) -> None:
    out = shift_table_part(table(), RowShift("Leads", shift.deleted, shift.inserted)).decode()
    assert f'displayName="Leads" ref="{ref}"><autoFilter ref="{filter_ref}"/>' in out


def test_table_part_with_totals_row() -> None:
    out = shift_table_part(table(totals=True), RowShift.deleting("Leads", [3])).decode()
    assert 'ref="A1:C9" totalsRowCount="1"><autoFilter ref="A1:C8"/>' in out
    out = shift_table_part(table(totals=True), RowShift.inserting("Leads", [10])).decode()
    assert 'ref="A1:C11" totalsRowCount="1"><autoFilter ref="A1:C10"/>' in out


@pytest.mark.parametrize(
    ("totals", "rows", "reason"),
    [
        (False, [1], "header row"),
        (True, [10], "totals row"),
        (True, range(2, 10), "every data row"),
    ],
)
def test_table_part_refusals(totals: bool, rows: range | list[int], reason: str) -> None:
    with pytest.raises(CannotShift, match=reason):
        shift_table_part(table(totals), RowShift.deleting("Leads", rows))


def test_table_column_formula_pointing_at_moving_rows() -> None:
    xml = table().replace(b"Leads[[#This Row],[amount]]*2", b"Leads[[#This Row],[amount]]*Rates!$A$5")
    assert shift_table_part(xml, RowShift.deleting("Rates", [1]), host_sheet="Other") == xml.replace(
        b"Rates!$A$5", b"Rates!$A$4"
    )
    with pytest.raises(CannotShift, match="column formula"):
        shift_table_part(xml.replace(b"Rates!", b"Leads!"), RowShift.deleting("Leads", [1, 2]))


def test_table_from_openpyxl(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Leads"
    sheet.append(["id", "name"])
    for i in range(20):
        sheet.append([i, f"n{i}"])
    sheet.add_table(openpyxl.worksheet.table.Table(displayName="T1", ref="A1:B21"))
    book.save(tmp_path / "t.xlsx")
    xml = _parts(tmp_path / "t.xlsx")["xl/tables/table1.xml"]
    out = shift_table_part(xml, RowShift.deleting("Leads", range(5, 10)))
    assert re.findall(rb'ref="([^"]+)"', out) == [b"A1:B16", b"A1:B16"]


# --- workbook, chart, pivot cache ----------------------------------------------------------


def test_defined_names_and_chart(tmp_path: Path) -> None:
    parts = _parts(_workbook(tmp_path / "book.xlsx"))
    shift = RowShift.deleting("Data", [5])
    workbook = shift_defined_names(parts["xl/workbook.xml"], shift).decode()
    assert ">Data!$B$2:$B$29</definedName>" in workbook
    assert ">#REF!</definedName>" in workbook  # Picked was Data!$A$5
    assert ">Data!$A$1:$C$29</definedName>" in workbook  # the filter's hidden name
    chart = shift_chart_part(parts["xl/charts/chart1.xml"], shift).decode()
    assert "<c:f>Data!$A$2:$A$29</c:f>" in chart
    assert "<c:f>Data!$B$2:$B$29</c:f>" in chart
    assert "<c:f>#REF!</c:f>" in chart  # the series name cell
    assert shift_chart_part(parts["xl/charts/chart1.xml"], delete(31)) is parts["xl/charts/chart1.xml"]


def test_chart_with_another_prefix() -> None:
    xml = (
        b"<cx:chartSpace><cx:data><cx:numDim type='val'><cx:f dir='row'>'Data'!$B$2:$B$30</cx:f></cx:numDim></cx:data>"
    )
    assert b"<cx:f dir='row'>'Data'!$B$3:$B$31</cx:f>" in shift_chart_part(xml, insert(2))


def test_defined_name_with_3d_reference() -> None:
    xml = (
        b'<workbook><definedNames><definedName name="all">SUM(Data:Other!$A$9)</definedName></definedNames></workbook>'
    )
    with pytest.raises(CannotShift, match="3-D"):
        shift_defined_names(xml, delete(5))


def test_pivot_cache() -> None:
    xml = (
        b'<pivotCacheDefinition r:id="rId1"><cacheSource type="worksheet">'
        b'<worksheetSource ref="A1:E301" sheet="Data"/></cacheSource></pivotCacheDefinition>'
    )
    assert b'<worksheetSource ref="A1:E291" sheet="Data"/>' in shift_pivot_cache(xml, delete(*range(10, 20)))
    assert shift_pivot_cache(xml, RowShift.deleting("Other", [5])) is xml
    with pytest.raises(CannotShift, match="pivot table source"):
        shift_pivot_cache(xml, delete(*range(1, 302)))


def test_pivot_cache_on_a_table_is_left_alone() -> None:
    xml = b'<pivotCacheDefinition><cacheSource type="worksheet"><worksheetSource name="Leads"/></cacheSource>'
    assert shift_pivot_cache(xml, delete(5)) is xml


def test_chained_range_cannot_shift() -> None:
    with pytest.raises(CannotShift, match="chained"):
        shift_formula("SUM(A1:B2:C6)", delete(5), host_sheet="Data")
    assert shift_formula("SUM(A1:B2:C3)", delete(5), host_sheet="Data") == "SUM(A1:B2:C3)"

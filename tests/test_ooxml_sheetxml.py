"""The streaming worksheet rewriter on parts written by openpyxl, read back by openpyxl and calamine."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
import python_calamine

from sheetcrm.sync.ooxml.sheetxml import CellWrite, OldCell, SheetRewrite, Unsupported, rewrite_sheet, text_xml

SHEET = "xl/worksheets/sheet1.xml"


def _workbook(path: Path, rows: int = 300) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Customers"
    sheet.append(["customer_id", "name", "phone", "amount", "created_at"])
    for i in range(1, rows + 1):
        sheet.append([f"C-{i:06d}", f"Name {i}", f"138{i:08d}", i * 1.5, dt.date(2024, 1, 1) + dt.timedelta(days=i)])
        sheet.cell(i + 1, 5).number_format = "yyyy-mm-dd"
    sheet["B3"].font = openpyxl.styles.Font(bold=True)
    book.save(path)
    return path


def _rewrite(source: Path, target: Path, plan: SheetRewrite, chunk_size: int) -> None:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            if info.filename == SHEET:
                with old.open(info) as stream:
                    new.writestr(info.filename, b"".join(rewrite_sheet(stream, plan, chunk_size=chunk_size)))
            else:
                new.writestr(info, old.read(info.filename))


@pytest.mark.parametrize("chunk_size", [97, 4096, 1 << 22])  # chunk ends land inside tags, rows and </sheetData>
def test_edits_new_cells_and_new_rows_read_back(tmp_path: Path, chunk_size: int) -> None:
    source = _workbook(tmp_path / "in.xlsx")
    with zipfile.ZipFile(source) as archive:
        date_style = int(re.search(rb'<c r="E2" s="([0-9]+)"', archive.read(SHEET)).group(1))  # type: ignore[union-attr]
    seen: dict[tuple[int, int], OldCell | None] = {}
    plan = SheetRewrite(
        cells={
            3: {2: CellWrite('=HYPERLINK("x") & <b> _x000D_'), 7: CellWrite(42)},  # G3 is a new cell
            150: {3: CellWrite("+8613800138000"), 4: CellWrite(True)},
            301: {1: CellWrite(None)},  # emptied
            305: {1: CellWrite("C-999999"), 4: CellWrite(2.5)},  # a row the part did not have
            400: {5: CellWrite(dt.date(2024, 2, 29))},
        },
        seen=lambda row, column, old: seen.__setitem__((row, column), old),
        date_style=lambda _style, _value: date_style,  # as a StyleBook would choose
    )
    target = tmp_path / "out.xlsx"
    _rewrite(source, target, plan, chunk_size)

    check = openpyxl.load_workbook(target)["Customers"]
    assert check["B3"].data_type == "s"  # text, not a formula (openpyxl does not decode _x005F_; Excel does)
    assert check["B3"].font.bold  # the cell kept its style
    assert check["G3"].value == 42
    assert check["C150"].value == "+8613800138000" and check["D150"].value is True
    assert check["A301"].value is None and check["B301"].value == "Name 300"
    assert check["A305"].value == "C-999999" and check["D305"].value == 2.5
    assert check["E400"].value == dt.datetime(2024, 2, 29)
    assert check["A2"].value == "C-000001" and check["E2"].value == dt.datetime(2024, 1, 2)  # untouched
    assert check.max_row == 400
    values = python_calamine.CalamineWorkbook.from_path(str(target)).get_sheet_by_name("Customers").to_python()
    assert values[2][1] == '=HYPERLINK("x") & <b> _x000D_'  # calamine decodes as Excel does
    assert values[304][0] == "C-999999"

    old_name = seen[(3, 2)]
    assert old_name is not None and old_name.kind == "inlineStr" and old_name.value == "Name 2" and old_name.style
    assert seen[(3, 7)] is None and seen[(305, 1)] is None
    old_amount = seen[(150, 4)]
    assert old_amount is not None and old_amount.kind == "n" and old_amount.value == "223.5"


def test_untouched_rows_are_copied_byte_for_byte(tmp_path: Path) -> None:
    source = _workbook(tmp_path / "in.xlsx")
    with zipfile.ZipFile(source) as archive:
        before = archive.read(SHEET)
    plan = SheetRewrite(cells={10: {2: CellWrite("Zhang Wei")}})
    after = b"".join(rewrite_sheet(io.BytesIO(before), plan, chunk_size=1000))
    start, end = before.index(b'<row r="10"'), before.index(b'<row r="11"')
    assert after[:start] == before[:start]
    assert after[-(len(before) - end) :] == before[end:]
    assert b"Zhang Wei" in after[start : len(after) - (len(before) - end)]


def test_nothing_to_write_gives_the_part_back_unchanged(tmp_path: Path) -> None:
    source = _workbook(tmp_path / "in.xlsx", rows=50)
    with zipfile.ZipFile(source) as archive:
        before = archive.read(SHEET)
    assert b"".join(rewrite_sheet(io.BytesIO(before), SheetRewrite(cells={}), chunk_size=64)) == before


def test_an_empty_sheet_gets_its_rows() -> None:
    part = (
        b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<dimension ref="A1"/><sheetData/></worksheet>'
    )
    out = b"".join(rewrite_sheet(io.BytesIO(part), SheetRewrite(cells={2: {3: CellWrite("x")}})))
    assert b'<dimension ref="A1:C2"/>' in out
    assert (
        b'<sheetData><row r="2"><c r="C2" t="inlineStr"><is><t xml:space="preserve">x</t></is></c></row></sheetData>'
        in out
    )


def test_layouts_it_does_not_handle_are_refused_for_the_fallback() -> None:
    prefixed = b'<x:worksheet xmlns:x="urn"><x:sheetData></x:sheetData></x:worksheet>'
    with pytest.raises(Unsupported):
        b"".join(rewrite_sheet(io.BytesIO(prefixed), SheetRewrite(cells={1: {1: CellWrite("a")}})))
    no_refs = b'<worksheet xmlns="urn"><sheetData><row><c><v>1</v></c></row></sheetData></worksheet>'
    with pytest.raises(Unsupported):
        b"".join(rewrite_sheet(io.BytesIO(no_refs), SheetRewrite(cells={1: {1: CellWrite("a")}})))


def test_text_is_escaped_for_xml_and_for_excel() -> None:
    assert text_xml("a<b & c") == "a&lt;b &amp; c"
    assert text_xml("_x000D_") == "_x005F_x000D_"
    assert text_xml("bell\x07") == "bell_x0007_"


def test_the_old_text_of_an_inline_string_leaves_out_phonetic_guides() -> None:
    part = (
        b'<worksheet xmlns="urn"><dimension ref="A1:A1"/><sheetData><row r="1"><c r="A1" t="inlineStr"><is>'
        b'<r><t>&#26481;</t></r><r><t>&amp;&#x4EAC;</t></r><rPh sb="0" eb="1"><t>toukyou</t></rPh></is></c></row>'
        b"</sheetData></worksheet>"
    )
    seen: list[OldCell | None] = []
    plan = SheetRewrite(cells={1: {1: CellWrite("x")}}, seen=lambda _row, _column, old: seen.append(old))
    out = b"".join(rewrite_sheet(io.BytesIO(part), plan))
    assert seen[0] is not None and seen[0].value == "東&京" and seen[0].kind == "inlineStr"
    assert b'<dimension ref="A1:A1"/>' in out  # nothing written past it: the dimension stays


@pytest.mark.parametrize(
    "row",
    [
        b'<row r="7" spans="2:9" x14ac:dyDescent="0.25"><c r="B7" s="1"><v>1</v></c><c r="I7" t="s"><v>0</v></c></row>',
        b'<row r="7"><c s="1" r="B7"><v>1</v></c><c r="I7" t="s"><v>0</v></c></row>',  # r= not first: full parse
    ],
)
def test_cells_inserted_in_column_order_and_spans_widened(row: bytes) -> None:
    part = b'<worksheet xmlns="x"><sheetData>' + row + b"</sheetData></worksheet>"
    plan = SheetRewrite(cells={7: {1: CellWrite("a"), 3: CellWrite(2), 9: CellWrite("i"), 27: CellWrite(True)}})
    out = b"".join(rewrite_sheet(io.BytesIO(part), plan))
    refs = re.findall(rb' r="([A-Z]+)7"', out)
    assert refs == [b"A", b"B", b"C", b"I", b"AA"]
    assert b"<v>0</v>" not in out  # I7 replaced
    if b"spans" in row:
        assert b'spans="1:27"' in out and b"x14ac:dyDescent" in out


@pytest.mark.parametrize("chunk_size", [1, 7, 13, 29, 64, 1 << 20])
def test_rows_missing_from_the_part_go_in_order_at_any_chunk_size(chunk_size: int) -> None:
    rows = [1, 2, 5, 9, 10, 99, 100]
    part = (
        b'<worksheet xmlns="x"><sheetData>'
        + b"".join(b'<row r="%d"><c r="A%d"><v>%d</v></c></row>' % (r, r, r) for r in rows)
        + b'</sheetData><pageMargins left="0.7"/></worksheet>'
    )
    targets = [3, 4, 5, 7, 11, 100, 101, 1000]
    plan = SheetRewrite(cells={row: {2: CellWrite(f"new {row}")} for row in targets})
    out = b"".join(rewrite_sheet(io.BytesIO(part), plan, chunk_size=chunk_size))
    assert [int(r) for r in re.findall(rb'<row r="([0-9]+)"', out)] == sorted(set(rows) | set(targets))
    assert re.findall(rb'<c r="B([0-9]+)"', out) == [b"%d" % r for r in targets]
    assert b'<row r="5"><c r="A5"><v>5</v></c><c r="B5"' in out
    assert out.endswith(b'</sheetData><pageMargins left="0.7"/></worksheet>')


@pytest.mark.parametrize("chunk_size", [5, 64, 1 << 20])
@pytest.mark.parametrize(
    "sheet_data", [b"<sheetData/>", b'<sheetData><row r="1"><c r="A1"><v>1</v></c></row></sheetData>']
)
def test_the_tail_after_the_cells_goes_through_its_rewriter(chunk_size: int, sheet_data: bytes) -> None:
    tail = b'<pageMargins left="0.7"/><tableParts count="0"/></worksheet>'
    part = b'<worksheet xmlns="x">' + sheet_data + tail
    seen: list[bytes] = []

    def rewrite_tail(old: bytes) -> bytes:
        seen.append(old)
        return old.replace(b"<tableParts", b"<legacyDrawing/><tableParts")

    plan = SheetRewrite(cells={2: {1: CellWrite("x")}}, tail=rewrite_tail)
    out = b"".join(rewrite_sheet(io.BytesIO(part), plan, chunk_size=chunk_size))
    assert seen == [tail]
    assert out.endswith(b"</sheetData>" + tail.replace(b"<tableParts", b"<legacyDrawing/><tableParts"))
    assert b'<row r="2"><c r="A2" t="inlineStr">' in out

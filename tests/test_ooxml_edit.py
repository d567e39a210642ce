"""The lossless writer through Workbook.apply: conflicts, styles, appends, dates, fallbacks, undo.

Workbooks are made by xlsxwriter (shared strings, as Excel writes them) and openpyxl, and read
back with openpyxl and the library itself.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

import sheetcrm
from sheetcrm import ChangeSet
from sheetcrm.errors import CellConflict, InvalidChange, WriteRefused
from sheetcrm.sync.changeset import ValidationRule
from sheetcrm.sync.ooxml.edit import prepare, with_full_calc_on_load
from sheetcrm.sync.ooxml.sheetxml import Unsupported
from sheetcrm.sync.preflight import inspect_xlsx


def crm(path: Path, *, date1904: bool = False, text_ids: bool = True) -> Path:
    """Customers: id (text column), name, joined (date), amount; a header, three styled rows."""
    book = xlsxwriter.Workbook(str(path), {"date_1904": date1904})
    sheet = book.add_worksheet("Customers")
    bold = book.add_format({"bold": True})
    text = book.add_format({"num_format": "@"})
    date = book.add_format({"num_format": "yyyy-mm-dd", "font_color": "#1F4E79"})
    money = book.add_format({"num_format": "#,##0.00"})
    team = book.add_format({"bg_color": "#00B050"})
    sheet.set_column(0, 0, 12, text if text_ids else None)
    sheet.write_row(0, 0, ["customer_id", "name", "joined", "amount", "note"], bold)
    for row, (ident, name, joined, amount) in enumerate(
        [("00123", "Zhang Wei", dt.date(2024, 2, 29), 12.5), ("00124", "Li Na", dt.date(2023, 1, 1), 0.1)], start=1
    ):
        sheet.write_string(row, 0, ident, text)
        sheet.write_string(row, 1, name)
        sheet.write_datetime(row, 2, dt.datetime.combine(joined, dt.time()), date)
        sheet.write_number(row, 3, amount, money)
    sheet.write_string(3, 0, "00125", text)
    sheet.write_string(3, 1, "Wang Fang", team)  # a team's own colour
    book.close()
    return path


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def test_a_cell_edited_meanwhile_is_a_conflict_and_nothing_is_written(tmp_path: Path) -> None:
    path = crm(tmp_path / "crm.xlsx")
    before = path.read_bytes()
    changes = ChangeSet()
    changes.edit("Customers", 2, "B", old="Zhang Wei", new="张伟")  # a shared string, resolved to compare
    changes.edit("Customers", 3, "B", old="Li Na (as read earlier)", new="李娜")
    changes.edit("Customers", 2, "C", old="2024-02-29", new=dt.date(2024, 3, 1))  # a date compared as read
    changes.edit("Customers", 3, "D", old="0.1", new=0.2)
    with pytest.raises(CellConflict) as raised:
        sheetcrm.open_workbook(path).apply(changes)
    assert raised.value.cells == ["Customers!B3"]
    assert path.read_bytes() == before
    assert not (tmp_path / ".sheetcrm" / "backups").exists()  # refused before any backup was taken


def test_fills_reuse_one_style_and_leave_a_teams_colour(tmp_path: Path) -> None:
    path = crm(tmp_path / "crm.xlsx")
    changes = ChangeSet()
    for row in (2, 3, 4):
        changes.fill("Customers", row, "B", "FFC7CE", ours_only=True)
    result = sheetcrm.open_workbook(path).apply(changes)
    fills = [c for c in result.changes if c.kind == "fill"]
    assert [c.color for c in fills] == ["FFC7CE", "FFC7CE", "00B050"]  # type: ignore[attr-defined]
    sheet = openpyxl.load_workbook(path)["Customers"]
    assert [sheet[f"B{r}"].fill.fgColor.rgb[-6:] for r in (2, 3, 4)] == ["FFC7CE", "FFC7CE", "00B050"]
    styles = parts(path)["xl/styles.xml"]
    assert styles.count(b'rgb="FFFFC7CE"') == 1
    assert sheet["B2"].style_id == sheet["B3"].style_id

    again = ChangeSet()
    again.fill("Customers", 5, "B", "FFC7CE")
    sheetcrm.open_workbook(path).apply(again)
    assert parts(path)["xl/styles.xml"] == styles  # the fill and the style are reused, not added again


def test_number_format_and_a_date_into_a_general_cell(tmp_path: Path) -> None:
    path = crm(tmp_path / "crm.xlsx")
    changes = ChangeSet()
    changes.number_format("Customers", 2, "D", "0.000")
    changes.edit("Customers", 2, "E", old="", new=dt.date(2025, 12, 31))  # a new cell in a General column
    changes.edit("Customers", 3, "E", old="", new=dt.datetime(2025, 12, 31, 8, 30))
    result = sheetcrm.open_workbook(path).apply(changes)
    assert next(c for c in result.changes if c.kind == "format").old == "#,##0.00"  # type: ignore[union-attr]
    sheet = openpyxl.load_workbook(path)["Customers"]
    assert sheet["D2"].number_format == "0.000" and sheet["D2"].font.b is False
    assert sheet["E2"].value == dt.datetime(2025, 12, 31) and sheet["E2"].number_format == "yyyy-mm-dd"
    assert sheet["E3"].number_format == "yyyy-mm-dd hh:mm:ss"
    table = sheetcrm.open_workbook(path)["Customers"]
    assert table.value(2, "note") == "2025-12-31" and table.value(3, "note") == "2025-12-31T08:30:00"


def test_dates_in_a_1904_workbook(tmp_path: Path) -> None:
    path = crm(tmp_path / "crm.xlsx", date1904=True)
    assert sheetcrm.open_workbook(path)["Customers"].value(2, "joined") == "2024-02-29"
    changes = ChangeSet()
    changes.edit("Customers", 2, "C", old="2024-02-29", new=dt.date(1999, 12, 31))
    sheetcrm.open_workbook(path).apply(changes)
    assert sheetcrm.open_workbook(path)["Customers"].value(2, "joined") == "1999-12-31"
    assert openpyxl.load_workbook(path)["Customers"]["C2"].value == dt.datetime(1999, 12, 31)


def test_appended_rows_look_like_the_rows_above(tmp_path: Path) -> None:
    path = crm(tmp_path / "crm.xlsx")
    changes = ChangeSet()
    changes.append("Customers", [{"A": "00126", "B": "Zhao Lei", "C": dt.date(2025, 1, 2), "D": 3}, {"A": "00127"}])
    result = sheetcrm.open_workbook(path).apply(changes)
    assert next(c for c in result.changes if c.kind == "append").first_row == 5  # type: ignore[union-attr]
    sheet = openpyxl.load_workbook(path)["Customers"]
    assert sheet["A5"].number_format == "@" and sheet["A6"].value == "00127"
    assert sheet["B5"].fill.fgColor.rgb[-6:] == "00B050"  # the row above's look, as Excel continues a table
    assert sheet["C5"].number_format == "yyyy-mm-dd"  # row 4 has no date to copy: a date gets an ISO format
    assert sheet["C5"].is_date


def test_appending_below_a_header_takes_the_column_format(tmp_path: Path) -> None:
    path = tmp_path / "template.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Customers")
    sheet.set_column(0, 0, 12, book.add_format({"num_format": "@"}))
    sheet.write_row(0, 0, ["customer_id", "phone"], book.add_format({"bold": True, "bg_color": "#DDEBF7"}))
    book.close()
    changes = ChangeSet()
    changes.append("Customers", [{"A": "00123", "B": "+8613800138000"}])
    sheetcrm.open_workbook(path).apply(changes)
    sheet = openpyxl.load_workbook(path)["Customers"]
    assert sheet["A2"].number_format == "@" and not sheet["A2"].font.b  # the header is not a model
    assert sheet["A2"].fill.fill_type is None
    assert sheetcrm.open_workbook(path)["Customers"].value(2, "customer_id") == "00123"


def test_appending_into_a_templates_formatted_empty_rows(tmp_path: Path) -> None:
    path = tmp_path / "template.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Customers"
    sheet.append(["customer_id", "joined"])
    for row in range(2, 6):  # formatted ahead of time, still empty
        sheet.cell(row, 2).number_format = "dd/mm/yyyy"
    book.save(path)
    changes = ChangeSet()
    changes.append("Customers", [{"A": "x", "B": dt.date(2025, 5, 6)}])
    sheetcrm.open_workbook(path).apply(changes)
    after = openpyxl.load_workbook(path)["Customers"]
    assert after["B2"].value == dt.datetime(2025, 5, 6) and after["B2"].number_format == "dd/mm/yyyy"
    assert after.max_row == 5  # the formatted rows below are still there, merged with, not duplicated
    sheet_xml = parts(path)["xl/worksheets/sheet1.xml"]
    assert sheet_xml.count(b'<row r="2"') == 1


def test_values_no_cell_can_hold_are_refused(tmp_path: Path) -> None:
    path = crm(tmp_path / "crm.xlsx")
    before = path.read_bytes()
    for bad in ("bell\x07", "x" * 32_768, float("nan")):
        changes = ChangeSet()
        changes.edit("Customers", 2, "B", old="Zhang Wei", new=bad)
        with pytest.raises(InvalidChange, match="Customers!B2"):
            sheetcrm.open_workbook(path).apply(changes)
    assert path.read_bytes() == before


def test_a_layout_it_cannot_rewrite_falls_back_to_openpyxl(tmp_path: Path) -> None:
    path = crm(tmp_path / "crm.xlsx")
    content = parts(path)
    sheet = content["xl/worksheets/sheet1.xml"]
    # the same sheet with a namespace prefix on every element, which some generators write
    prefixed = re.sub(rb"<(/?)(?!\?)", rb"<\1x:", sheet).replace(b"xmlns=", b"xmlns:x=")
    content["xl/worksheets/sheet1.xml"] = prefixed
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in content.items():
            archive.writestr(name, data)
    changes = ChangeSet()
    changes.edit("Customers", 2, "B", old="Zhang Wei", new="张伟")
    with pytest.raises(Unsupported):
        prepare(inspect_xlsx(path), changes)
    sheetcrm.open_workbook(path).apply(changes)  # openpyxl can keep this workbook: it writes it
    assert sheetcrm.open_workbook(path)["Customers"].value(2, "name") == "张伟"


def test_undo_restores_values_fills_formats_and_removes_appended_rows(tmp_path: Path) -> None:
    path = crm(tmp_path / "crm.xlsx")
    workbook = sheetcrm.open_workbook(path)
    before = workbook["Customers"].frame.to_dict("index")
    changes = ChangeSet()
    changes.edit("Customers", 2, "B", old="Zhang Wei", new="张伟")
    changes.fill("Customers", 3, "B", "FFEB9C")
    changes.number_format("Customers", 3, "D", "0")
    changes.append("Customers", [{"A": "00126", "B": "Zhao Lei"}])
    run = workbook.apply(changes, command="test").run_id
    assert run is not None
    sheetcrm.open_workbook(path).undo(run)
    after = sheetcrm.open_workbook(path)["Customers"]
    assert after.frame.to_dict("index") == before
    sheet = openpyxl.load_workbook(path)["Customers"]
    assert sheet["B3"].fill.fill_type is None and sheet["D3"].number_format == "#,##0.00"


@pytest.mark.parametrize(
    ("workbook_xml", "expected"),
    [
        (b'<workbook><sheets/><calcPr calcId="191029"/></workbook>', b'<calcPr calcId="191029" fullCalcOnLoad="1"/>'),
        (
            b'<workbook><sheets><sheet/></sheets><definedNames><definedName name="a">1</definedName></definedNames>'
            b"<extLst/></workbook>",
            b'</definedNames><calcPr fullCalcOnLoad="1"/><extLst/>',
        ),
        (
            b"<x:workbook><x:bookViews><x:workbookView><x:extLst/></x:workbookView></x:bookViews><x:sheets></x:sheets>"
            b"</x:workbook>",
            b'</x:sheets><x:calcPr fullCalcOnLoad="1"/></x:workbook>',
        ),
        (b'<workbook><sheets></sheets><calcPr fullCalcOnLoad="0"/></workbook>', b'<calcPr fullCalcOnLoad="1"/>'),
    ],
)
def test_recalculation_flag_goes_where_the_schema_wants_it(workbook_xml: bytes, expected: bytes) -> None:
    assert expected in with_full_calc_on_load(workbook_xml)
    assert with_full_calc_on_load(with_full_calc_on_load(workbook_xml)) == with_full_calc_on_load(workbook_xml)


def test_verification_reads_back_what_was_written(tmp_path: Path) -> None:
    path = crm(tmp_path / "crm.xlsx")
    changes = ChangeSet()
    changes.edit("Customers", 2, "B", old="Zhang Wei", new="张伟")
    changes.append("Customers", [{"A": "00126"}])
    with prepare(inspect_xlsx(path), changes) as prepared:
        written = tmp_path / "written.xlsx"
        prepared.write(written)
        prepared.verify(written)
        with pytest.raises(WriteRefused, match="B2, A5"):
            prepared.verify(path)  # the old package: neither value is there


def test_notes_added_kept_replaced_and_undone(tmp_path: Path) -> None:
    path = tmp_path / "notes.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Customers")
    sheet.write_row(0, 0, ["customer_id", "name"])
    sheet.write_row(1, 0, ["00123", "Zhang Wei"])
    sheet.write_row(2, 0, ["00124", "Li Na"])
    sheet.write_comment("B2", "VIP since 2019", {"author": "Mei"})  # a person's note
    book.close()
    before = parts(path)

    changes = ChangeSet()
    changes.note("Customers", 2, "B", "sheetcrm: check the name", ours_only=True)  # Mei's note stays
    changes.note("Customers", 3, "B", "sheetcrm: check the name", ours_only=True)
    result = sheetcrm.open_workbook(path).apply(changes)
    kept, added = (c for c in result.changes if c.kind == "note")
    assert kept.text == kept.old == "VIP since 2019"  # type: ignore[attr-defined]
    assert added.old is None  # type: ignore[attr-defined]
    after = parts(path)
    assert after["xl/worksheets/sheet1.xml"] == before["xl/worksheets/sheet1.xml"]  # it points at its notes already
    assert {name for name in before if before[name] != after[name]} == {
        "xl/comments1.xml",
        "xl/drawings/vmlDrawing1.vml",
    }
    notes = openpyxl.load_workbook(path)["Customers"]
    assert notes["B2"].comment.text == "VIP since 2019" and notes["B2"].comment.author == "Mei"
    assert notes["B3"].comment.text == "sheetcrm: check the name" and notes["B3"].comment.author == "sheetcrm"

    assert result.run_id is not None
    sheetcrm.open_workbook(path).undo(result.run_id)
    undone = openpyxl.load_workbook(path)["Customers"]
    assert undone["B3"].comment is None and undone["B2"].comment.text == "VIP since 2019"


def test_a_note_on_a_sheet_without_any_creates_its_parts(tmp_path: Path) -> None:
    path = crm(tmp_path / "crm.xlsx")
    changes = ChangeSet()
    changes.note("Customers", 1, "A", "Customer id: C- and six digits")
    changes.edit("Customers", 2, "B", old="Zhang Wei", new="张伟")
    sheetcrm.open_workbook(path).apply(changes)
    after = parts(path)
    assert {"xl/comments1.xml", "xl/drawings/vmlDrawing1.vml", "xl/worksheets/_rels/sheet1.xml.rels"} <= set(after)
    assert b"<legacyDrawing" in after["xl/worksheets/sheet1.xml"]
    assert b'Extension="vml"' in after["[Content_Types].xml"]
    sheet = openpyxl.load_workbook(path)["Customers"]
    assert sheet["A1"].comment.text == "Customer id: C- and six digits" and sheet["B2"].value == "张伟"


def load_quietly(path: Path) -> openpyxl.Workbook:
    """openpyxl's reading of a workbook with extensions it warns it would drop (it only reads here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return openpyxl.load_workbook(path)


def with_x14_data_bar_and_validations(path: Path) -> Path:
    """A workbook with Excel's x14 data bar (in <extLst>), a dropdown and a number rule, and
    a <col> spanning several columns."""
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Customers")
    sheet.set_column(1, 4, 14)  # one <col min="2" max="5">
    sheet.write_row(0, 0, ["customer_id", "name", "phone", "tier", "amount"])
    for row in range(1, 6):
        sheet.write_row(row, 0, [f"C-{row}", f"Name {row}", f"1380013800{row}", "VIP"])
        sheet.write_number(row, 4, row * 10.5)
    sheet.write_number(3, 2, 13800138003)  # a phone typed as a number: keeps its format
    sheet.conditional_format("E2:E6", {"type": "data_bar", "bar_solid": True})  # x14: openpyxl drops it
    sheet.data_validation("D2:D6", {"validate": "list", "source": ["VIP", "Key"]})
    sheet.data_validation("E2:E6", {"validate": "decimal", "criteria": ">=", "value": 0})
    book.close()
    return path


def test_column_formats_and_validations_keep_everything_else(tmp_path: Path) -> None:
    path = with_x14_data_bar_and_validations(tmp_path / "crm.xlsx")
    before = parts(path)
    changes = ChangeSet("schema")
    changes.column_format("Customers", "C", "@")
    changes.dropdown("Customers", "D2:D6", choices=["VIP", "Key", "Standard"])  # replaced in place
    changes.validation("Customers", "E2:E6", rule=None)  # removed
    changes.validation("Customers", "A2:A1048576", rule=ValidationRule("textLength", "lessThan", "20"))
    result = sheetcrm.open_workbook(path).apply(changes)
    after = parts(path)
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"xl/worksheets/sheet1.xml", "xl/styles.xml"}
    sheet_xml = after["xl/worksheets/sheet1.xml"].decode()
    assert "<x14:dataBar" in sheet_xml  # Excel's extension, byte for byte
    assert re.search(
        r'<col min="2" max="2" width="14[^/]*/><col min="3" max="3" width="14[^/]*style="\d+"/>', sheet_xml
    )

    sheet = load_quietly(path)["Customers"]
    assert sheet.column_dimensions["C"].number_format == "@"
    assert sheet.column_dimensions["D"].width == sheet.column_dimensions["B"].width  # the span split, not lost
    assert [sheet[f"C{r}"].number_format for r in range(2, 7)] == ["@", "@", "General", "@", "@"]
    validations = [(str(v.sqref), v.type, v.formula1) for v in sheet.data_validations.dataValidation]
    assert validations == [("D2:D6", "list", '"VIP,Key,Standard"'), ("A2:A1048576", "textLength", "20")]
    resolved = {c.kind + c.ref if hasattr(c, "ref") else c.kind: c for c in result.changes}
    assert resolved["dropdownD2:D6"].old == (("VIP", "Key"), None)  # type: ignore[union-attr]
    assert resolved["validationE2:E6"].old == ValidationRule("decimal", "greaterThanOrEqual", "0")  # type: ignore[union-attr]
    column = next(c for c in result.changes if c.kind == "column-format")
    assert column.old == "General" and column.previous == ((2, 3, "General"), (5, 6, "General"))  # type: ignore[union-attr]

    assert result.run_id is not None
    sheetcrm.open_workbook(path).undo(result.run_id)
    sheet = load_quietly(path)["Customers"]
    assert [sheet[f"C{r}"].number_format for r in range(2, 7)] == ["General"] * 5
    validations = [(str(v.sqref), v.type, v.formula1) for v in sheet.data_validations.dataValidation]
    assert sorted(validations) == [("D2:D6", "list", '"VIP,Key"'), ("E2:E6", "decimal", "0")]
    assert "<x14:dataBar" in parts(path)["xl/worksheets/sheet1.xml"].decode()


def test_a_dropdown_too_long_for_excel_is_refused(tmp_path: Path) -> None:
    path = crm(tmp_path / "crm.xlsx")
    before = path.read_bytes()
    changes = ChangeSet()
    changes.dropdown("Customers", "B2:B9", choices=[f"choice number {n}" for n in range(30)])
    with pytest.raises(InvalidChange, match="255-character"):
        sheetcrm.open_workbook(path).apply(changes)
    assert path.read_bytes() == before


def test_rows_appended_with_a_column_format_take_it(tmp_path: Path) -> None:
    path = crm(tmp_path / "crm.xlsx")
    changes = ChangeSet()
    changes.column_format("Customers", "E", "@")
    changes.append("Customers", [{"A": "00126", "E": "0042"}])
    sheetcrm.open_workbook(path).apply(changes)
    sheet = openpyxl.load_workbook(path)["Customers"]
    assert (sheet["E5"].value, sheet["E5"].number_format) == ("0042", "@")
    assert sheet.column_dimensions["E"].number_format == "@"


def with_formulas_notes_and_ranges(path: Path) -> Path:
    """Customers rows 2-7 with a note on row 6, a dropdown and a data bar over them, a total
    below, a defined name and another sheet's formulas pointing into them."""
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Customers")
    other = book.add_worksheet("Summary")
    sheet.write_row(0, 0, ["customer_id", "name", "amount"])
    for row in range(1, 7):
        sheet.write_row(row, 0, [f"C-{row}", f"Name {row}"])
        sheet.write_number(row, 2, row * 10)
    sheet.write_formula("C9", "=SUM(C2:C7)", None, 210)
    sheet.write_formula("D6", "=C6*2", None, 100)
    sheet.write_comment("B6", "call back on Monday")
    sheet.data_validation("B2:B7", {"validate": "list", "source": ["a", "b"]})
    sheet.conditional_format("C2:C7", {"type": "data_bar", "bar_solid": True})
    book.define_name("Amounts", "=Customers!$C$2:$C$7")
    other.write_formula("A1", "=SUM(Amounts)", None, 210)
    other.write_formula("A2", "=Customers!C6", None, 50)
    other.write_formula("A3", "=Customers!C3", None, 20)
    book.close()
    return path


def test_deleting_rows_moves_what_points_at_the_rows_below_and_undo_puts_them_back(tmp_path: Path) -> None:
    path = with_formulas_notes_and_ranges(tmp_path / "crm.xlsx")
    before = parts(path)
    changes = ChangeSet("dedupe")
    changes.delete("Customers", {3: {"A": "C-2", "B": "Name 2", "C": "20"}, 4: {"A": "C-3"}})
    changes.edit("Customers", 6, "B", old="Name 5", new="Name five")  # numbered as read: lands on row 4
    result = sheetcrm.open_workbook(path).apply(changes)
    after = parts(path)
    assert b"<x14:dataBar" in after["xl/worksheets/sheet1.xml"]  # kept: openpyxl would drop it
    assert "xl/calcChain.xml" not in after

    book = load_quietly(path)
    sheet, other = book["Customers"], book["Summary"]
    assert [sheet[f"A{r}"].value for r in range(2, 6)] == ["C-1", "C-4", "C-5", "C-6"]
    assert sheet["B4"].value == "Name five"
    assert (sheet["C7"].value, sheet["D4"].value) == ("=SUM(C2:C5)", "=C4*2")
    assert sheet["B4"].comment is not None and sheet["B4"].comment.text.startswith("call back")
    assert [str(v.sqref) for v in sheet.data_validations.dataValidation] == ["B2:B5"]
    assert book.defined_names["Amounts"].attr_text == "Customers!$C$2:$C$5"
    assert (other["A2"].value, other["A3"].value) == ("=Customers!C4", "=#REF!")  # as Excel writes it
    assert b'fullCalcOnLoad="1"' in after["xl/workbook.xml"]
    deleted = next(c for c in result.changes if c.kind == "delete")
    assert deleted.attributes is not None  # type: ignore[union-attr]

    assert result.run_id is not None
    sheetcrm.open_workbook(path).undo(result.run_id)
    book = load_quietly(path)
    sheet, other = book["Customers"], book["Summary"]
    assert [sheet[f"A{r}"].value for r in range(2, 8)] == ["C-1", "C-2", "C-3", "C-4", "C-5", "C-6"]
    assert sheet["B6"].value == "Name 5" and sheet["B6"].comment is not None
    assert (sheet["C9"].value, sheet["D6"].value, other["A2"].value) == ("=SUM(C2:C7)", "=C6*2", "=Customers!C6")
    assert [str(v.sqref) for v in sheet.data_validations.dataValidation] == ["B2:B7"]
    assert other["A3"].value == "=#REF!"  # a reference into deleted rows stays lost, as in Excel after saving
    assert set(parts(path)) == set(before)


def test_a_deleted_row_edited_meanwhile_is_a_conflict(tmp_path: Path) -> None:
    path = with_formulas_notes_and_ranges(tmp_path / "crm.xlsx")
    before = path.read_bytes()
    changes = ChangeSet()
    changes.delete("Customers", {3: {"A": "C-2", "B": "Name two"}})
    with pytest.raises(CellConflict) as raised:
        sheetcrm.open_workbook(path).apply(changes)
    assert raised.value.cells == ["Customers!B3"]
    assert path.read_bytes() == before


def test_a_sheet_with_a_dropdown_written_beside_rows_deleted_elsewhere(tmp_path: Path) -> None:
    path = with_formulas_notes_and_ranges(tmp_path / "crm.xlsx")
    changes = ChangeSet("dedupe")
    changes.delete("Customers", {3: {"A": "C-2"}})
    changes.replace_sheet(
        "_review", [["pair", "decision"], ["C-1|C-4", ""]], dropdowns={"B2:B2": ["merge", "keep apart"]}
    )
    result = sheetcrm.open_workbook(path).apply(changes)
    book = load_quietly(path)
    assert book.sheetnames == ["Customers", "Summary", "_review"]
    assert [(str(v.sqref), v.formula1) for v in book["_review"].data_validations.dataValidation] == [
        ("B2", '"merge,keep apart"')
    ]
    assert book["Customers"]["C8"].value == "=SUM(C2:C6)" and book["Summary"]["A2"].value == "=Customers!C5"
    assert result.run_id is not None
    sheetcrm.open_workbook(path).undo(result.run_id)
    assert load_quietly(path).sheetnames == ["Customers", "Summary"]

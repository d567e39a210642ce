"""The xlsx backend on real files: reading as text, safe writes, refusals, undo."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import openpyxl
import pytest
from conftest import CUSTOMERS, with_cached_formula, write_xlsx
from openpyxl.styles import PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

import sheetcrm
from sheetcrm import ChangeSet
from sheetcrm.errors import (
    CellConflict,
    ContentWouldBeLost,
    InvalidChange,
    SheetNotFound,
    UndoRefused,
    WorkbookChanged,
    WorkbookLocked,
)
from sheetcrm.sync.changeset import ValidationRule

TRICKY = [
    "00123",
    "NA",
    "null",
    "None",
    "+8613800138000",
    "2024-02-29",
    "=1+1",
    '=HYPERLINK("http://evil")',
    "@SUM(A1)",
    "客户名称 Ünïcødé",
    "🎉👍🏽 emoji",
    "line one\nline two",
    "  spaced  ",
    "x" * 32_767,
]


def test_reading_keeps_values_as_typed(tmp_path: Path) -> None:
    path = tmp_path / "typed.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "S"
    sheet.append(["text", "float", "int", "bool", "date", "datetime", "big", "formula"])
    sheet.append(
        [
            "00123",
            274.65999999999997,
            12,
            True,
            dt.date(2024, 2, 29),
            dt.datetime(2024, 1, 2, 3, 4, 5),
            13800138000,
            None,
        ]
    )
    sheet["H2"] = "=C2*2"
    sheet.append(["NA", 0.1 + 0.2, -5.0, False, None, None, 1e20, None])
    book.save(path)

    table = sheetcrm.open_workbook(path)["S"]
    assert table.frame.loc[2].tolist() == [
        "00123",
        "274.66",
        "12",
        "TRUE",
        "2024-02-29",
        "2024-01-02T03:04:05",
        "13800138000",
        "",
    ]
    assert table.frame.loc[3].tolist() == ["NA", "0.3", "-5", "FALSE", "", "", "1E+20", ""]
    assert table.is_formula(2, "formula") and not table.is_formula(2, "text")
    assert table.address(2, "date") == "S!E2"


def test_header_row_is_found_below_a_title(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "t.xlsx", {"S": [[], ["Customer list"], [], ["id", "name"], ["1", "a"]]})
    table = sheetcrm.open_workbook(path)["S"]
    # the first non-empty row is the title; a configured header row picks the real one
    assert table.header_row == 2
    workbook = sheetcrm.sync.workbook.open_workbook(path, header_rows={"S": 4})
    assert workbook["S"].columns == ["id", "name"] and workbook["S"].rows == [5]


def test_missing_sheet_names_the_sheets(crm: Path) -> None:
    with pytest.raises(SheetNotFound, match="'Customers', 'Orders'"):
        sheetcrm.open_workbook(crm)["Clients"]


def test_tricky_values_round_trip_as_literals(crm: Path) -> None:
    workbook = sheetcrm.open_workbook(crm)
    table = workbook["Customers"]
    changes = ChangeSet("tricky")
    for i, value in enumerate(TRICKY[:4]):
        changes.edit("Customers", 2 + i, "B", old=table.value(2 + i, "name"), new=value)
    changes.append("Customers", [{"A": f"T-{i}", "B": value} for i, value in enumerate(TRICKY)])
    changes.append("Customers", [{"A": "date", "B": dt.date(2024, 2, 29), "C": 274.66, "D": 12, "E": True}])
    result = workbook.apply(changes)
    assert result.run_id

    again = sheetcrm.open_workbook(crm)["Customers"]
    assert [again.value(2 + i, "name") for i in range(4)] == TRICKY[:4]
    first = result.changes.changes[-2].first_row  # type: ignore[union-attr]
    assert [again.value(first + i, "name") for i in range(len(TRICKY))] == TRICKY
    assert again.frame.loc[first + len(TRICKY)].tolist() == ["date", "2024-02-29", "274.66", "12", "TRUE"]
    assert not again.formulas
    with zipfile.ZipFile(crm) as archive:
        assert b"<f>" not in archive.read("xl/worksheets/sheet1.xml")
    check = openpyxl.load_workbook(crm)
    assert all(cell.data_type != "f" for row in check["Customers"].iter_rows() for cell in row)


def test_apply_takes_a_rotated_backup_and_logs_the_run(crm: Path) -> None:
    workbook = sheetcrm.sync.workbook.open_workbook(crm, backups=3)
    for i in range(5):
        changes = ChangeSet(f"edit {i}")
        changes.edit("Customers", 2, "E", old=workbook["Customers"].value(2, "tier"), new=f"tier {i}")
        result = workbook.apply(changes, command="test")
        assert result.backup is not None and result.backup.exists()
    backups = sorted((crm.parent / ".sheetcrm" / "backups").iterdir())
    assert len(backups) == 3
    assert sheetcrm.open_workbook(backups[-1])["Customers"].value(2, "tier") == "tier 3"
    history = workbook.history()
    assert [r.command for r in history] == ["test"] * 5
    assert history[-1].counts == {"edit": 1}
    assert (crm.parent / ".sheetcrm" / "runs.jsonl").stat().st_mode & 0o077 == 0


def test_dry_run_writes_nothing(crm: Path) -> None:
    before = crm.read_bytes()
    workbook = sheetcrm.open_workbook(crm)
    changes = ChangeSet()
    changes.edit("Customers", 2, "B", old="Zhang Wei", new="Wei Zhang")
    result = workbook.apply(changes, dry_run=True)
    assert result.dry_run and not result.applied and "Wei Zhang" in result.preview()
    assert crm.read_bytes() == before
    assert workbook.history() == []


@pytest.mark.parametrize("lock_name", ["~$crm.xlsx", ".~lock.crm.xlsx#"])
def test_refuses_while_open_in_a_spreadsheet_program(crm: Path, lock_name: str) -> None:
    (crm.parent / lock_name).write_text("someone")
    before = crm.read_bytes()
    workbook = sheetcrm.open_workbook(crm)
    changes = ChangeSet()
    changes.edit("Customers", 2, "B", old="Zhang Wei", new="x")
    with pytest.raises(WorkbookLocked, match="open in a spreadsheet program") as raised:
        workbook.apply(changes)
    assert raised.value.exit_code == 3
    assert crm.read_bytes() == before


def test_refuses_when_the_file_changed_since_read(crm: Path) -> None:
    workbook = sheetcrm.open_workbook(crm)
    table = workbook["Customers"]
    # someone else saves the workbook meanwhile
    other = sheetcrm.open_workbook(crm)
    edit = ChangeSet()
    edit.edit("Customers", 3, "B", old="Jane Smith", new="Jane Doe")
    other.apply(edit)
    changes = ChangeSet()
    changes.edit("Customers", 2, "B", old=table.value(2, "name"), new="x")
    with pytest.raises(WorkbookChanged, match="changed on disk"):
        workbook.apply(changes)


def test_refuses_cells_edited_since_read(crm: Path) -> None:
    changes = ChangeSet()
    changes.edit("Customers", 2, "B", old="Zhang Wei", new="ok")
    changes.edit("Customers", 3, "B", old="not what is there", new="lost update")
    before = crm.read_bytes()
    with pytest.raises(CellConflict) as raised:
        sheetcrm.open_workbook(crm).apply(changes)
    assert raised.value.cells == ["Customers!B3"]
    assert crm.read_bytes() == before


def test_refuses_to_lose_content_but_writes_to_a_new_file(tmp_path: Path) -> None:
    # deleting and appending rows on one sheet at once still goes through openpyxl, whose
    # save would empty B2's cached result
    path = with_cached_formula(tmp_path / "formulas.xlsx")
    book = sheetcrm.open_workbook(path)
    assert book["S"].value(2, "b") == "2"
    before = path.read_bytes()
    changes = ChangeSet()
    changes.delete("S", {2: {"A": "1"}})
    changes.append("S", [{"A": 7}])
    with pytest.raises(ContentWouldBeLost, match="formula") as raised:
        sheetcrm.open_workbook(path).apply(changes)
    assert "--out" in str(raised.value)
    assert path.read_bytes() == before
    out = tmp_path / "copy.xlsx"
    result = sheetcrm.open_workbook(path).apply(changes, out=out)
    assert result.written_to == str(out) and result.applied and result.run_id is None
    assert sheetcrm.open_workbook(out)["S"].frame["a"].tolist() == ["7"]
    assert path.read_bytes() == before


def test_edits_keep_cached_formula_results_and_every_other_part(tmp_path: Path) -> None:
    path = with_cached_formula(tmp_path / "formulas.xlsx")
    with zipfile.ZipFile(path) as archive:
        before = {info.filename: archive.read(info) for info in archive.infolist()}
    # as Excel saves it: openpyxl asks for recalculation on every open, Excel does not
    assert b' fullCalcOnLoad="1"' in before["xl/workbook.xml"]
    before["xl/workbook.xml"] = before["xl/workbook.xml"].replace(b' fullCalcOnLoad="1"', b"")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in before.items():
            archive.writestr(name, data)
    changes = ChangeSet()
    changes.edit("S", 2, "A", old="1", new=5)
    result = sheetcrm.open_workbook(path).apply(changes)
    assert result.applied and result.backup is not None
    with zipfile.ZipFile(path) as archive:
        after = {info.filename: archive.read(info) for info in archive.infolist()}
    assert list(after) == list(before)
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"xl/worksheets/sheet1.xml", "xl/workbook.xml"}
    assert b"<f>A2*2</f><v>2</v>" in after["xl/worksheets/sheet1.xml"]  # Excel recomputes it on open:
    assert b'fullCalcOnLoad="1"' in after["xl/workbook.xml"]
    assert sheetcrm.open_workbook(path)["S"].value(2, "a") == "5"


def test_formula_cells_are_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "f.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["a", "b"])
    sheet.append([1, "=A2*2"])
    book.save(path)
    changes = ChangeSet()
    changes.edit("Sheet", 2, "B", old="", new="typed over")
    with pytest.raises(CellConflict, match="B2"):
        sheetcrm.open_workbook(path).apply(changes, out=tmp_path / "out.xlsx")


def test_notes_fills_formats_dropdowns_and_report_sheets(crm: Path) -> None:
    workbook = sheetcrm.open_workbook(crm)
    changes = ChangeSet("annotate")
    changes.note("Customers", 3, "C", "phone looks wrong")
    changes.fill("Customers", 3, "C", "FFF2CC")
    changes.number_format("Customers", 3, "C", "@")
    changes.dropdown("Customers", "E2:E1000", choices=["VIP", "Key", "Standard"])
    changes.replace_sheet(
        "_report", [["tier", "customers"], ["VIP", 1], ["Key", 1]], freeze="A2", column_widths={"A": 18}
    )
    workbook.apply(changes)
    book = openpyxl.load_workbook(crm)
    cell = book["Customers"]["C3"]
    assert cell.comment is not None and cell.comment.text == "phone looks wrong"
    assert cell.fill.fgColor.rgb.endswith("FFF2CC")
    assert cell.number_format == "@"
    validations = book["Customers"].data_validations.dataValidation
    assert [(str(v.sqref), v.formula1) for v in validations] == [("E2:E1000", '"VIP,Key,Standard"')]
    assert book.sheetnames == ["Customers", "Orders", "_report"]
    assert book["_report"].freeze_panes == "A2"
    assert sheetcrm.open_workbook(crm)["_report"].frame.to_dict("list") == {
        "tier": ["VIP", "Key"],
        "customers": ["1", "1"],
    }


def test_undo_restores_exactly(crm: Path) -> None:
    before = {name: sheetcrm.open_workbook(crm)[name].frame.copy() for name in ("Customers", "Orders")}
    workbook = sheetcrm.open_workbook(crm)
    table = workbook["Customers"]
    changes = ChangeSet("mixed")
    changes.edit("Customers", 2, "C", old=table.value(2, "phone"), new="+8613800138000")
    changes.note("Customers", 4, "B", "check name")
    changes.fill("Customers", 4, "B", "FFC7CE")
    changes.delete("Customers", {3: {table.letter(c): table.value(3, c) for c in table.columns}})
    changes.append("Customers", [{"A": "C-000005", "B": "New Person"}])
    changes.replace_sheet("_issues", [["cell", "message"], ["Customers!C2", "bad phone"]])
    run = workbook.apply(changes, command="test")
    assert sheetcrm.open_workbook(crm)["Customers"].value(2, "phone") == "+8613800138000"

    undone = sheetcrm.open_workbook(crm).undo(run.run_id or "")
    assert undone.applied
    after = sheetcrm.open_workbook(crm)
    for name, frame in before.items():
        assert after[name].frame.equals(frame)
    assert after.sheet_names == ["Customers", "Orders"]
    book = openpyxl.load_workbook(crm)
    assert book["Customers"]["B4"].comment is None
    assert book["Customers"]["B4"].fill.fill_type is None
    with pytest.raises(UndoRefused, match="already undone"):
        sheetcrm.open_workbook(crm).undo(run.run_id or "")


def test_undo_refuses_where_cells_were_edited_since(crm: Path) -> None:
    workbook = sheetcrm.open_workbook(crm)
    changes = ChangeSet()
    changes.edit("Customers", 2, "C", old="138 0013 8000", new="+8613800138000")
    changes.edit("Customers", 3, "C", old="(415) 555-0134", new="+14155550134")
    run = workbook.apply(changes)
    later = ChangeSet()
    later.edit("Customers", 3, "C", old="+14155550134", new="a person's fix")
    sheetcrm.open_workbook(crm).apply(later)
    before = crm.read_bytes()
    with pytest.raises(UndoRefused, match="Customers!C3") as raised:
        sheetcrm.open_workbook(crm).undo(run.run_id or "")
    assert raised.value.exit_code == 3
    assert crm.read_bytes() == before


def test_stale_temp_files_are_swept(crm: Path) -> None:
    leftover = crm.parent / ".crm.sheetcrm-tmp-deadbeef.xlsx"
    leftover.write_bytes(b"half a workbook")
    changes = ChangeSet()
    changes.edit("Customers", 2, "B", old="Zhang Wei", new="x")
    sheetcrm.open_workbook(crm).apply(changes)
    assert not leftover.exists()
    assert sorted(p.name for p in crm.parent.iterdir()) == [".sheetcrm", "crm.xlsx"]


def test_row_deletion_moves_the_ranges_below(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "m.xlsx", {"S": CUSTOMERS})
    book = openpyxl.load_workbook(path)
    book["S"].merge_cells("A5:B5")
    book.save(path)
    table = sheetcrm.open_workbook(path)["S"]
    changes = ChangeSet()
    changes.delete("S", {3: {"A": table.value(3, "customer_id")}})
    sheetcrm.open_workbook(path).apply(changes)
    assert [str(r) for r in openpyxl.load_workbook(path)["S"].merged_cells.ranges] == ["A4:B4"]


def test_rich_text_in_cells_survives_a_write(tmp_path: Path) -> None:
    from openpyxl.cell.rich_text import CellRichText, TextBlock
    from openpyxl.cell.text import InlineFont

    path = write_xlsx(tmp_path / "rich.xlsx", {"S": CUSTOMERS})
    book = openpyxl.load_workbook(path)
    book["S"]["F2"] = CellRichText(["plain ", TextBlock(InlineFont(b=True), "bold")])
    book.save(path)
    assert sheetcrm.open_workbook(path)["S"].value(2, "(column F)") == "plain bold"
    changes = ChangeSet()
    changes.edit("S", 3, "B", old="Jane Smith", new="Jane Doe")
    sheetcrm.open_workbook(path).apply(changes)
    kept = openpyxl.load_workbook(path, rich_text=True)["S"]["F2"].value
    assert isinstance(kept, CellRichText) and str(kept) == "plain bold"
    assert any(isinstance(part, TextBlock) and part.font.b for part in kept)


def test_undo_of_a_deletion_restores_the_rows_notes_and_fills(crm: Path) -> None:
    setup = ChangeSet("team annotations")
    setup.note("Customers", 3, "B", "key contact")
    setup.fill("Customers", 3, "C", "C6EFCE")
    sheetcrm.open_workbook(crm).apply(setup)
    workbook = sheetcrm.open_workbook(crm)
    table = workbook["Customers"]
    changes = ChangeSet("delete")
    changes.delete("Customers", {3: {table.letter(c): table.value(3, c) for c in table.columns}})
    run = workbook.apply(changes)
    assert sheetcrm.open_workbook(crm)["Customers"].value(3, "name") == "王芳"
    sheetcrm.open_workbook(crm).undo(run.run_id or "")
    sheet = openpyxl.load_workbook(crm)["Customers"]
    assert sheet["B3"].value == "Jane Smith"
    assert sheet["B3"].comment is not None and sheet["B3"].comment.text == "key contact"
    assert sheet["C3"].fill.fgColor.rgb.endswith("C6EFCE")


def test_duplicate_header_names_both_cells(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "dup.xlsx", {"S": [["id", "name", "phone", "name"], ["1", "a", "b", "c"]]})
    with pytest.raises(sheetcrm.HeaderError, match=r"repeats 'name' \(S!B1, S!D1\)") as raised:
        sheetcrm.open_workbook(path)["S"]
    assert raised.value.exit_code == 2


def test_a_second_writer_fails_cleanly_while_one_holds_the_lock(crm: Path) -> None:
    import subprocess
    import sys
    import time

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, sheetcrm\n"
            "workbook = sheetcrm.open_workbook(sys.argv[1])\n"
            "with workbook.lock():\n"
            "    print('holding', flush=True)\n"
            "    time.sleep(30)\n",
            str(crm),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        changes = ChangeSet()
        changes.edit("Customers", 2, "B", old="Zhang Wei", new="x")
        before = crm.read_bytes()
        started = time.monotonic()
        with pytest.raises(WorkbookLocked, match="another sheetcrm run"):
            sheetcrm.open_workbook(crm).apply(changes)
        assert time.monotonic() - started < 5
        assert crm.read_bytes() == before
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    # a killed holder frees the lock at once
    assert sheetcrm.open_workbook(crm).apply(changes).applied


@pytest.mark.parametrize("strip_rows", [False, True])
def test_sparse_bomb_without_dimension_is_refused_before_calamine(tmp_path: Path, strip_rows: bool) -> None:
    # calamine sizes its grid from the cells present, whatever <dimension> says: without
    # this check it asks for 17 G cells and aborts the whole process
    import re

    path = tmp_path / "sparse.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "S"
    sheet["A1"] = "x"
    sheet["XFD1048576"] = "y"
    book.save(path)
    with zipfile.ZipFile(path) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    xml = re.sub(rb"<dimension[^>]*/>", b"", parts["xl/worksheets/sheet1.xml"])
    if strip_rows:
        xml = re.sub(rb'<row r="\d+"', b"<row", xml)
    parts["xl/worksheets/sheet1.xml"] = xml
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    with pytest.raises(sheetcrm.WorkbookUnreadable, match="sparse-sheet bomb"):
        sheetcrm.open_workbook(path)["S"]


# -- validations, hidden sheets, the format of appended cells ------------------------------------------


def test_a_validation_in_an_xlsx_file(crm: Path) -> None:
    book = openpyxl.load_workbook(crm)
    team = DataValidation(
        type="whole", operator="lessThan", formula1="100", allow_blank=False, showErrorMessage=True, errorTitle="Ours"
    )
    team.add("E2:E9")
    tier = DataValidation(type="list", formula1='"VIP,Key"')
    tier.add("E2:E9")  # a dropdown on the same range is a SetDropdown's, and stays
    book["Customers"].add_data_validation(team)
    book["Customers"].add_data_validation(tier)
    book.save(crm)

    rating = ValidationRule("whole", "between", "1", "5", error_title="rating", error="From 1 to 5.")
    changes = ChangeSet("rules")
    changes.validation("Customers", "E2:E9", rule=rating)
    changes.validation("Customers", "C2:C1048576", rule=ValidationRule("date", "greaterThanOrEqual", "45292"))
    result = sheetcrm.open_workbook(crm).apply(changes)
    assert [(line.where, line.before, line.after) for line in result.changes.lines()] == [
        ("E2:E9", "whole number < 100", "whole number between 1 and 5"),
        ("C2:C1048576", "", "date ≥ 2024-01-01"),
    ]

    def rules() -> list[tuple[object, ...]]:
        sheet = openpyxl.load_workbook(crm)["Customers"]
        return sorted(
            (str(v.sqref), v.type, v.operator, v.formula1, v.formula2, v.allow_blank, v.errorTitle, v.error)
            for v in sheet.data_validations.dataValidation
        )

    assert rules() == [
        ("C2:C1048576", "date", "greaterThanOrEqual", "45292", None, True, None, None),
        ("E2:E9", "list", None, '"VIP,Key"', None, False, None, None),
        ("E2:E9", "whole", "between", "1", "5", True, "rating", "From 1 to 5."),
    ]
    assert result.run_id is not None
    sheetcrm.open_workbook(crm).undo(result.run_id)
    assert rules() == [
        ("E2:E9", "list", None, '"VIP,Key"', None, False, None, None),
        ("E2:E9", "whole", "lessThan", "100", None, False, "Ours", None),  # the team's, as it was
    ]


def test_a_hidden_sheet_in_an_xlsx_file(crm: Path) -> None:
    changes = ChangeSet()
    changes.replace_sheet("_lists", [["customers.tier"], ["VIP"]], hidden=True)
    first = sheetcrm.open_workbook(crm).apply(changes)
    book = openpyxl.load_workbook(crm)
    assert [(s.title, s.sheet_state) for s in book.worksheets] == [
        ("Customers", "visible"),
        ("Orders", "visible"),
        ("_lists", "hidden"),
    ]
    assert sheetcrm.open_workbook(crm)["_lists"].frame["customers.tier"].tolist() == ["VIP"]  # still read
    again = ChangeSet()
    again.replace_sheet("_lists", [["customers.tier"], ["Key"]])  # replaced visible
    second = sheetcrm.open_workbook(crm).apply(again)
    assert openpyxl.load_workbook(crm)["_lists"].sheet_state == "visible"
    assert second.run_id is not None and first.run_id is not None
    sheetcrm.open_workbook(crm).undo(second.run_id)
    assert openpyxl.load_workbook(crm)["_lists"].sheet_state == "hidden"  # undo hides it again
    sheetcrm.open_workbook(crm).undo(first.run_id)
    assert openpyxl.load_workbook(crm).sheetnames == ["Customers", "Orders"]

    hide_all = ChangeSet()
    hide_all.replace_sheet("Customers", [["a"]], hidden=True)
    hide_all.replace_sheet("Orders", [["b"]], hidden=True)
    before = crm.read_bytes()
    with pytest.raises(InvalidChange, match=r"without a visible sheet|no visible sheet"):
        sheetcrm.open_workbook(crm).apply(hide_all)
    assert crm.read_bytes() == before


def test_appended_cells_take_the_columns_number_format(crm: Path) -> None:
    book = openpyxl.load_workbook(crm)
    book["Customers"]["B5"].fill = PatternFill(fill_type="solid", fgColor="FFF2CC")  # the team's look, row above
    book.save(crm)
    formats = ChangeSet("phones as text")
    formats.column_format("Customers", "C", "@")
    formats.column_format("Customers", "F", "yyyy-mm-dd")
    sheetcrm.open_workbook(crm).apply(formats)
    appended = ChangeSet("new customers")
    appended.append(
        "Customers",
        [
            {"A": "C-000005", "B": "Li Na", "C": "00123", "F": dt.date(2024, 2, 29)},
            {"A": "C-000006", "C": "+8613800138000", "F": "2024-03-01"},
        ],
    )
    result = sheetcrm.open_workbook(crm).apply(appended)
    assert result.changes.changes[0].first_row == 6  # type: ignore[union-attr]
    sheet = openpyxl.load_workbook(crm)["Customers"]
    assert [(sheet[f"C{r}"].value, sheet[f"C{r}"].data_type, sheet[f"C{r}"].number_format) for r in (6, 7)] == [
        ("00123", "s", "@"),
        ("+8613800138000", "s", "@"),
    ]
    assert [sheet[f"F{r}"].number_format for r in (6, 7)] == ["yyyy-mm-dd", "yyyy-mm-dd"]
    assert sheet["B6"].fill.fgColor.rgb.endswith("FFF2CC")  # the style of the row above, as before
    assert sheet["A6"].number_format == "General"  # a column without a format of its own
    assert sheetcrm.open_workbook(crm)["Customers"].frame.loc[6, "phone"] == "00123"

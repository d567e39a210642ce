"""apply-schema on existing workbooks, and the column-wide number format it is built on (SetColumnFormat)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from conftest import CUSTOMERS, write_xlsx
from openpyxl.comments import Comment
from openpyxl.worksheet.datavalidation import DataValidation

import sheetcrm
from sheetcrm import ChangeSet, MemoryBackend, Workbook
from sheetcrm.config import default_config
from sheetcrm.create import LISTS_SHEET, create_workbook, header_note
from sheetcrm.errors import InputError, InvalidChange
from sheetcrm.jobs.apply_schema import apply_schema, plan_apply_schema
from sheetcrm.schema import CRM_TABLES
from sheetcrm.sync.changeset import CellValue, SetColumnFormat

CONFIG = default_config()

# Chinese headers, a team column (WeChat) and a team note on the name header
HEADERS = ["客户编号", "客户名称", "手机", "邮箱", "客户等级", "WeChat", "生日", "邮编"]


@pytest.fixture
def messy(tmp_path: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Customers"
    sheet.append(HEADERS)
    sheet.append(["C-000001", "Zhang Wei", "138 0013 8000", "z@x.cn", "VIP", "zw1", "1990-01-02", "02134"])
    sheet.append(["C-000002", "Li Na", 13800138000, "l@x.cn", "Key", "ln", dt.date(1991, 5, 6), 2134])
    sheet.append(["C-000003", "王芳", "+86 139 0000 1111", None, "Standard", None, None, None])
    sheet["B1"].comment = Comment("our own note", "Alice")
    sheet["C4"].number_format = "0.00"  # a cell the team formatted
    sheet.column_dimensions["F"].width = 25
    book.create_sheet("Notes").append(["free text", "of the team"])
    book.save(tmp_path / "crm.xlsx")
    return tmp_path / "crm.xlsx"


def frames(path: Path) -> dict[str, pd.DataFrame]:
    workbook = sheetcrm.open_workbook(path)
    return {name: workbook[name].frame for name in ("Customers", "Notes")}


def same_frames(before: dict[str, pd.DataFrame], after: dict[str, pd.DataFrame]) -> None:
    for name, frame in before.items():
        pd.testing.assert_frame_equal(frame, after[name])


# -- on an .xlsx file -------------------------------------------------------------------------------


def test_rules_go_onto_the_known_columns_and_every_value_stays(messy: Path) -> None:
    before = frames(messy)
    result = apply_schema(sheetcrm.open_workbook(messy), config=CONFIG)
    assert result.run_id and result.changes.counts() == {
        "note": 6,
        "column-format": 4,
        "dropdown": 1,
        "validation": 1,
        "replace-sheet": 1,
    }
    same_frames(before, frames(messy))

    book = openpyxl.load_workbook(messy)
    sheet = book["Customers"]
    customers = CRM_TABLES["customers"]
    notes = {c.coordinate[:-1]: c.comment.text for c in sheet[1] if c.comment}
    assert notes == {
        "A": header_note(customers.field("customer_id")),
        "B": "our own note",  # the team's note stays
        "C": header_note(customers.field("phone")),
        "D": header_note(customers.field("email")),
        "E": header_note(customers.field("tier")),
        "G": header_note(customers.field("birthday")),
        "H": header_note(customers.field("postcode")),
    }
    columns = {k: d.number_format for k, d in sheet.column_dimensions.items() if d.number_format != "General"}
    assert columns == {"A": "@", "C": "@", "G": "yyyy-mm-dd", "H": "@"}
    # text and empty cells get the format; numbers, dates and the team's formats keep theirs
    assert [sheet[f"C{r}"].number_format for r in (2, 3, 4)] == ["@", "General", "0.00"]
    assert [sheet[f"G{r}"].number_format for r in (2, 3)] == ["yyyy-mm-dd", "yyyy-mm-dd"]  # G3 a date already
    assert [sheet[f"H{r}"].number_format for r in (2, 3)] == ["@", "General"]
    assert sheet.max_row == 4  # no cell made for the empty rows below
    # the team's column: no note, its width, no format, no validation
    assert sheet["F1"].comment is None and sheet.column_dimensions["F"].width == 25
    assert sheet.column_dimensions["F"].number_format == "General"
    dropdown, birthday = sorted(sheet.data_validations.dataValidation, key=lambda v: str(v.sqref))
    assert (dropdown.type, str(dropdown.sqref)) == ("list", "E2:E1048576")
    assert dropdown.formula1.lstrip("=") == "_lists!$A$2:$A$4"
    assert (birthday.type, str(birthday.sqref), birthday.operator, birthday.formula1, birthday.formula2) == (
        "date",
        "G2:G1048576",
        "between",
        "1",
        "109939",
    )
    assert book[LISTS_SHEET].sheet_state == "hidden"
    # the lists of the dropdowns the sheet has: no consent column, no consent list
    assert [[c.value for c in row] for row in book[LISTS_SHEET].iter_rows()] == [
        ["customers.tier"],
        ["VIP"],
        ["Key"],
        ["Standard"],
    ]
    assert [[c.value for c in row] for row in book["Notes"].iter_rows()] == [["free text", "of the team"]]


def test_a_second_run_has_nothing_to_do(messy: Path) -> None:
    apply_schema(sheetcrm.open_workbook(messy), config=CONFIG)
    again = plan_apply_schema(sheetcrm.open_workbook(messy), config=CONFIG)
    assert not again, again.preview()


def test_a_new_workbook_already_has_every_rule(tmp_path: Path) -> None:
    path = create_workbook(tmp_path / "crm.xlsx")
    changes = plan_apply_schema(sheetcrm.open_workbook(path), config=CONFIG)
    assert not changes, changes.preview()


def test_undo_restores_the_workbook(messy: Path) -> None:
    before = frames(messy)
    original = openpyxl.load_workbook(messy)
    workbook = sheetcrm.open_workbook(messy)
    run = apply_schema(workbook, config=CONFIG).run_id
    assert run is not None
    undone = workbook.undo(run)
    assert undone.changes.counts()["column-format"] == 4
    same_frames(before, frames(messy))
    book = openpyxl.load_workbook(messy)
    assert book.sheetnames == original.sheetnames
    sheet, was = book["Customers"], original["Customers"]
    assert {c.coordinate: c.comment.text for c in sheet[1] if c.comment} == {"B1": "our own note"}
    assert sheet.data_validations.dataValidation == []
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.number_format == was[cell.coordinate].number_format, cell.coordinate
    assert all(d.number_format == "General" for d in sheet.column_dimensions.values())
    assert plan_apply_schema(sheetcrm.open_workbook(messy), config=CONFIG).counts()["column-format"] == 4


def test_a_dry_run_writes_nothing(messy: Path) -> None:
    before = messy.read_bytes()
    result = apply_schema(sheetcrm.open_workbook(messy), config=CONFIG, dry_run=True)
    assert result.dry_run and not result.applied and len(result.changes) == 13
    assert "E2:E1048576" in result.preview() and "column format" in result.preview()
    assert messy.read_bytes() == before


def test_its_own_notes_are_brought_up_to_date_and_the_teams_kept(messy: Path) -> None:
    apply_schema(sheetcrm.open_workbook(messy), config=CONFIG)
    changed = {
        **CRM_TABLES,
        "customers": CRM_TABLES["customers"].with_changes(
            fields={"phone": {"description": "Mobile, with +86."}, "name": {"description": "Who."}}
        ),
    }
    changes = plan_apply_schema(sheetcrm.open_workbook(messy), schemas=changed)
    assert [(line.where, line.action, line.after) for line in changes.lines()] == [("C1", "note", "Mobile, with +86.")]


def test_a_teams_own_validation_on_an_enum_column_stays(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Customers"
    for row in CUSTOMERS:
        sheet.append(row)
    own = DataValidation(type="list", formula1='"VIP,Key,Standard,Gold"')
    own.add("E2:E500")
    sheet.add_data_validation(own)
    book.save(tmp_path / "crm.xlsx")
    changes = plan_apply_schema(sheetcrm.open_workbook(tmp_path / "crm.xlsx"), config=CONFIG)
    assert not [line for line in changes.lines() if line.action == "dropdown"]
    assert LISTS_SHEET not in changes.sheets


def test_lists_of_other_tables_keep_their_place(tmp_path: Path) -> None:
    path = create_workbook(tmp_path / "crm.xlsx", tables=["customers", "orders"])
    status = ("new", "paid", "sent")
    schemas = {
        **CRM_TABLES,
        "orders": CRM_TABLES["orders"].with_changes(fields={"status": {"choices": status, "synonyms": {}}}),
    }
    result = apply_schema(sheetcrm.open_workbook(path), schemas=schemas, tables=["orders"])
    assert [(line.sheet, line.where, line.before, line.after) for line in result.changes.lines()] == [
        (
            "Orders",
            "D1",
            header_note(CRM_TABLES["orders"].field("status")),
            header_note(schemas["orders"].field("status")),
        ),
        ("Orders", "D2:D1048576", "", "_lists!$C$2:$C$4"),
        # the cells of the list that changed, so that _lists stays hidden
        (LISTS_SHEET, "C2", "received", "new"),
        (LISTS_SHEET, "C3", "confirmed", "paid"),
        (LISTS_SHEET, "C4", "processing", "sent"),
        *(
            (LISTS_SHEET, f"C{row}", old, "")
            for row, old in zip(range(5, 9), ("shipped", "completed", "cancelled", "returned"), strict=True)
        ),
    ]
    book = openpyxl.load_workbook(path)
    assert book[LISTS_SHEET].sheet_state == "hidden"
    lists = [[c.value for c in row] for row in book[LISTS_SHEET].iter_rows(max_row=4)]
    assert lists[0] == ["customers.tier", "customers.consent", "orders.status"]
    assert [row[2] for row in lists[1:]] == list(status)
    customers_tier = next(v for v in book["Customers"].data_validations.dataValidation if v.type == "list")
    assert customers_tier.formula1 == "_lists!$A$2:$A$4"  # untouched, still right


def test_a_header_row_below_row_1(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "crm.xlsx", {"Customers": [["Customer list, spring"], [], *CUSTOMERS]})
    workbook = sheetcrm.open_workbook(path, config=CONFIG)
    workbook.header_rows["Customers"] = 3
    changes = plan_apply_schema(workbook, config=CONFIG)
    where = [(line.where, line.action) for line in changes.lines() if line.sheet == "Customers"]
    assert ("A3", "note") in where and ("A4:A1048576", "column format") in where
    assert ("E4:E1048576", "dropdown") in where


def test_which_tables(messy: Path, tmp_path: Path) -> None:
    workbook = sheetcrm.open_workbook(messy)
    with pytest.raises(InputError, match="no sheet 'Orders' for the orders table"):
        plan_apply_schema(workbook, config=CONFIG, tables=["orders"])
    with pytest.raises(InputError, match="unknown table 'leads'"):
        plan_apply_schema(workbook, config=CONFIG, tables=["leads"])
    other = write_xlsx(tmp_path / "other.xlsx", {"Sheet1": [["a"], ["b"]]})
    with pytest.raises(InputError, match="no sheet holds a CRM table"):
        plan_apply_schema(sheetcrm.open_workbook(other), config=CONFIG)
    csv = tmp_path / "customers.csv"
    csv.write_text("customer_id,name\nC-000001,Zhang Wei\n", encoding="utf-8")
    schemas = {"customers": CRM_TABLES["customers"].with_changes(sheet="customers")}
    with pytest.raises(InputError, match=r"needs an \.xlsx workbook"):
        plan_apply_schema(sheetcrm.open_workbook(csv), schemas=schemas)


def test_written_to_another_file(messy: Path, tmp_path: Path) -> None:
    before = messy.read_bytes()
    out = tmp_path / "with-rules.xlsx"
    result = apply_schema(sheetcrm.open_workbook(messy), config=CONFIG, out=out)
    assert result.written_to == str(out) and result.run_id is None
    assert messy.read_bytes() == before
    assert not plan_apply_schema(sheetcrm.open_workbook(out), config=CONFIG)


# -- in memory ---------------------------------------------------------------------------------------


def test_in_memory() -> None:
    backend = MemoryBackend({"Customers": [list(row) for row in CUSTOMERS]})
    workbook = Workbook(backend)
    before = workbook["Customers"].frame.copy()
    result = apply_schema(workbook, config=CONFIG)
    assert result.changes.counts() == {"note": 5, "column-format": 2, "dropdown": 1, "replace-sheet": 1}
    sheet = backend.book.sheets["Customers"]
    assert sheet.column_formats == {1: "@", 3: "@"}
    assert sheet.dropdowns == {"E2:E1048576": (None, "_lists!$A$2:$A$4")}
    assert sheet.notes[(1, 2)] == header_note(CRM_TABLES["customers"].field("name"))
    pd.testing.assert_frame_equal(workbook["Customers"].frame, before)
    assert not plan_apply_schema(workbook, config=CONFIG)


# -- SetColumnFormat ---------------------------------------------------------------------------------


def test_a_column_format_on_the_reference_backend() -> None:
    rows: list[list[CellValue]] = [["id", "phone"], ["C-1", "138"], ["C-2", 138.5], ["C-3", None], ["C-4", "+86"]]
    backend = MemoryBackend({"S": rows})
    sheet = backend.book.sheets["S"]
    sheet.formats[(5, 2)] = "0.00"  # the team's
    sheet.formulas.add((4, 2))
    changes = ChangeSet("phones as text")
    changes.column_format("S", "B", "@")
    outcome = backend.apply(changes)
    (done,) = outcome.changes.changes
    assert isinstance(done, SetColumnFormat)
    assert (done.old, done.previous) == ("General", ((2, 2, "General"),))  # 138.5, a formula, the team's: kept
    assert sheet is not backend.book.sheets["S"]
    sheet = backend.book.sheets["S"]
    assert sheet.column_formats == {2: "@"}
    assert {cell: f for cell, f in sheet.formats.items() if cell[1] == 2} == {(2, 2): "@", (5, 2): "0.00"}

    undo = outcome.changes.invert()
    (inverse,) = undo.changes
    assert inverse == SetColumnFormat("S", "B", "General", 2, old="@", cells=((2, 2, "General"),))
    backend.apply(undo)
    sheet = backend.book.sheets["S"]
    assert sheet.column_formats == {} and sheet.formats == {(5, 2): "0.00"}


def test_a_column_format_is_checked_previewed_and_serialised() -> None:
    changes = ChangeSet()
    changes.column_format("S", "c", "yyyy-mm-dd", first_row=3)
    (line,) = changes.lines()
    assert (line.where, line.action, line.after) == ("C3:C1048576", "column format", "yyyy-mm-dd")
    assert changes.counts() == {"column-format": 1}
    resolved = ChangeSet("x", [SetColumnFormat("S", "C", "@", 2, "General", None, ((2, 9, "General"), (12, 12, "0")))])
    assert ChangeSet.from_json(resolved.to_json()).changes == resolved.changes
    changes.column_format("S", "C", "@")
    with pytest.raises(InvalidChange, match="two column formats for column C"):
        changes.check()
    with pytest.raises(InvalidChange, match="row 0 does not exist"):
        ChangeSet("x", [SetColumnFormat("S", "C", "@", 0)]).check()


def test_undo_renumbers_the_cells_after_rows_deleted_in_the_same_run() -> None:
    backend = MemoryBackend({"S": [["id", "phone"], ["C-1", "1"], ["C-2", "2"], ["C-3", "3"]]})
    changes = ChangeSet()
    changes.column_format("S", "B", "@")
    changes.delete("S", {2: {"A": "C-1", "B": "1"}})
    outcome = backend.apply(changes)
    assert backend.book.sheets["S"].formats == {(2, 2): "@", (3, 2): "@"}
    backend.apply(outcome.changes.invert())
    sheet = backend.book.sheets["S"]
    assert sheet.raw().rows == [["id", "phone"], ["C-1", "1"], ["C-2", "2"], ["C-3", "3"]]
    # the surviving rows are General again; the deleted row comes back as it was deleted
    # (with the run's format, as for any change to a row its own run deletes)
    assert sheet.formats == {(2, 2): "@"}


def test_a_column_format_in_an_xlsx_file(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "S"
    sheet.append(["a", "b", "c", "d", "e"])
    sheet["C2"] = "text"
    sheet["C5"] = 5
    sheet["C7"] = "more"
    sheet["C9"] = "last"
    sheet.column_dimensions.group("B", "D")  # one <col> for B:D
    sheet.column_dimensions["B"].width = 30
    book.save(tmp_path / "s.xlsx")
    workbook = sheetcrm.open_workbook(tmp_path / "s.xlsx")
    changes = ChangeSet()
    changes.column_format("S", "C", "@")
    changes.column_format("S", "E", "0")
    result = workbook.apply(changes)
    formats = {c.column: c for c in result.changes.changes if isinstance(c, SetColumnFormat)}
    # C5 (a number) breaks the run; C3, C4, C6 have no cell and do not
    assert formats["C"].previous == ((2, 2, "General"), (7, 9, "General"))
    assert formats["E"].previous == ()

    book = openpyxl.load_workbook(tmp_path / "s.xlsx")
    sheet = book["S"]
    spans = {k: (d.min, d.max, d.width, d.number_format) for k, d in sheet.column_dimensions.items()}
    assert spans["B"] == (2, 2, 30, "General") and spans["D"] == (4, 4, 30, "General")
    assert spans["C"] == (3, 3, 30, "@")  # split out of B:D, same width
    assert spans["E"] == (5, 5, 9.140625, "0")  # a new <col> says its width: openpyxl would read back 13
    assert [sheet[f"C{r}"].number_format for r in (2, 5, 7, 9)] == ["@", "General", "@", "@"]
    assert sheet.max_row == 9 and sheet["C3"].value is None

    assert result.run_id is not None
    workbook.undo(result.run_id)
    sheet = openpyxl.load_workbook(tmp_path / "s.xlsx")["S"]
    assert [sheet[f"C{r}"].number_format for r in (2, 5, 7, 9)] == ["General"] * 4
    assert sheet.column_dimensions["C"].number_format == sheet.column_dimensions["E"].number_format == "General"


# -- date and number validations, the hidden _lists sheet ---------------------------------------------


def value_validations(sheet: Any) -> dict[str, tuple[Any, ...]]:
    """A sheet's data validations other than dropdowns, as everything Excel shows of them."""
    return {
        str(v.sqref): (
            v.type,
            v.operator,
            v.formula1,
            v.formula2,
            v.allow_blank,
            v.showErrorMessage,
            v.errorTitle,
            v.error,
        )
        for v in sheet.data_validations.dataValidation
        if v.type != "list"
    }


@pytest.fixture
def orders(tmp_path: Path) -> Path:
    """A plain Orders sheet as a team keeps it: the built-in headers, two orders, no rules."""
    schema = CRM_TABLES["orders"]
    row = dict.fromkeys(schema.headers, None) | {"order_id": "O-1", "order_date": dt.date(2024, 3, 1), "quantity": 2}
    return write_xlsx(tmp_path / "orders.xlsx", {"Orders": [list(schema.headers), list(row.values())]})


def test_dates_and_bounded_numbers_get_the_validations_of_a_new_workbook(orders: Path, tmp_path: Path) -> None:
    result = apply_schema(sheetcrm.open_workbook(orders), config=CONFIG)
    assert [(line.where, line.after) for line in result.changes.lines() if line.action == "validation"] == [
        ("C2:C1048576", "date between 1900-01-01 and 2200-12-31"),
        ("F2:F1048576", "whole number ≥ 0"),
        ("G2:G1048576", "number ≥ 0"),
        ("H2:H1048576", "number ≥ 0"),
        ("J2:J1048576", "date between 1900-01-01 and 2200-12-31"),
        ("K2:K1048576", "date between 1900-01-01 and 2200-12-31"),
    ]
    written = value_validations(openpyxl.load_workbook(orders)["Orders"])
    new = create_workbook(tmp_path / "new.xlsx", tables=["orders"])
    assert written == value_validations(openpyxl.load_workbook(new)["Orders"])  # type, bounds, messages: all
    assert written["H2:H1048576"][6:] == ("amount", "Enter a number of at least 0.")
    assert not plan_apply_schema(sheetcrm.open_workbook(orders), config=CONFIG)  # a second run writes nothing


def test_undo_removes_the_validations_and_the_lists_sheet(orders: Path) -> None:
    workbook = sheetcrm.open_workbook(orders)
    result = apply_schema(workbook, config=CONFIG)
    assert result.run_id is not None
    book = openpyxl.load_workbook(orders)
    assert book.sheetnames == ["Orders", LISTS_SHEET]
    assert book[LISTS_SHEET].sheet_state == "hidden"  # created hidden, as init makes it
    assert book["Orders"].sheet_state == "visible" and book.active is not None and book.active.title == "Orders"
    workbook.undo(result.run_id)
    book = openpyxl.load_workbook(orders)
    assert book.sheetnames == ["Orders"]
    assert book["Orders"].data_validations.dataValidation == []
    assert plan_apply_schema(sheetcrm.open_workbook(orders), config=CONFIG).counts()["validation"] == 6


def test_a_teams_own_date_and_number_validations_stay(orders: Path) -> None:
    book = openpyxl.load_workbook(orders)
    sheet = book["Orders"]
    amount = DataValidation(type="decimal", operator="greaterThan", formula1="0", errorTitle="No refunds here")
    amount.add("H2:H1048576")  # the whole column, as sheetcrm's, but the team's own rule
    order_date = DataValidation(type="date", operator="greaterThanOrEqual", formula1="45292")
    order_date.add("C2:C500")
    quantity = DataValidation(type="whole", operator="between", formula1="1", formula2="99", errorTitle="quantity")
    quantity.add("F2:F1048576")  # sheetcrm's range, type and title: its own, out of date
    for validation in (amount, order_date, quantity):
        sheet.add_data_validation(validation)
    book.save(orders)
    team = value_validations(sheet)

    changes = plan_apply_schema(sheetcrm.open_workbook(orders), config=CONFIG)
    validations = [line for line in changes.lines() if line.action == "validation"]
    assert [line.where for line in validations] == ["F2:F1048576", "G2:G1048576", "J2:J1048576", "K2:K1048576"]
    assert (validations[0].before, validations[0].after) == ("whole number between 1 and 99", "whole number ≥ 0")
    sheetcrm.open_workbook(orders).apply(changes)
    written = value_validations(openpyxl.load_workbook(orders)["Orders"])
    assert written["H2:H1048576"] == team["H2:H1048576"] and written["C2:C500"] == team["C2:C500"]
    assert written["F2:F1048576"][:4] == ("whole", "greaterThanOrEqual", "0", None)
    assert "C2:C1048576" not in written
    assert not plan_apply_schema(sheetcrm.open_workbook(orders), config=CONFIG)


def test_its_own_validation_is_brought_up_to_date(tmp_path: Path) -> None:
    path = create_workbook(tmp_path / "crm.xlsx", tables=["interactions"])
    wider = {
        **CRM_TABLES,
        "interactions": CRM_TABLES["interactions"].with_changes(fields={"rating": {"maximum": 10}}),
    }
    result = apply_schema(sheetcrm.open_workbook(path), schemas=wider, tables=["interactions"])
    assert [(line.where, line.action, line.before, line.after) for line in result.changes.lines()][1:] == [
        ("H2:H1048576", "validation", "whole number between 1 and 5", "whole number between 1 and 10"),
    ]
    rating = value_validations(openpyxl.load_workbook(path)["Interactions"])["H2:H1048576"]
    assert rating[:4] == ("whole", "between", "1", "10") and rating[7] == "Enter a whole number from 1 to 10."
    assert not plan_apply_schema(sheetcrm.open_workbook(path), schemas=wider, tables=["interactions"])


def test_validations_and_the_hidden_lists_in_memory() -> None:
    schema = CRM_TABLES["orders"]
    backend = MemoryBackend({"Orders": [list(schema.headers), ["O-1"]]})
    workbook = Workbook(backend)
    result = apply_schema(workbook, config=CONFIG)
    assert result.changes.counts()["validation"] == 6
    sheet = backend.book.sheets["Orders"]
    assert {ref: rule.describe() for ref, rule in sheet.validations.items()}["F2:F1048576"] == "whole number ≥ 0"
    assert backend.book.sheets[LISTS_SHEET].hidden and not sheet.hidden
    assert not plan_apply_schema(workbook, config=CONFIG)

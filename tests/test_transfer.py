"""copy_tables (push / pull) between real .xlsx files: created sheets, edits by id, typed values, rules, undo."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from conftest import write_xlsx

import sheetcrm
from sheetcrm.config import default_config
from sheetcrm.create import LISTS_SHEET
from sheetcrm.errors import InputError
from sheetcrm.sync.transfer import copy_tables

CONFIG = default_config()

CUSTOMERS: list[list[Any]] = [
    ["customer_id", "name", "phone", "tier", "postcode"],
    ["C-000001", "Zhang Wei", "+86 138 0013 8000", "VIP", "00123"],
    ["C-000002", "Jane Smith", "+1 415 555 0134", "Key", "94110"],
    ["C-000003", "王芳", "+86 139 0000 1111", "Standard", ""],
]
ORDERS: list[list[Any]] = [
    ["order_id", "customer_id", "quantity", "amount", "order_date"],
    ["O-000001", "C-000001", 3, 1234.5, dt.date(2024, 3, 1)],
    ["O-000002", "C-000002", "2", "99.90", "2024-03-05"],  # numbers typed as text in the source
]


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return write_xlsx(tmp_path / "crm.xlsx", {"Customers": CUSTOMERS, "Orders": ORDERS})


def frame(path: Path, sheet: str) -> pd.DataFrame:
    return sheetcrm.open_workbook(path)[sheet].frame


def rows(path: Path, sheet: str) -> list[list[str]]:
    table = sheetcrm.open_workbook(path)[sheet]
    return [list(table.columns), *([table.value(r, c) for c in table.columns] for r in table.rows)]


def copy(source: Path, target: Path, **options: Any) -> Any:
    return copy_tables(sheetcrm.open_workbook(source), sheetcrm.open_workbook(target), CONFIG, **options)


# -- into a workbook without the tables ---------------------------------------------------------


def test_missing_sheets_are_created_with_typed_values_and_the_schemas_rules(source: Path, tmp_path: Path) -> None:
    target = write_xlsx(tmp_path / "copy.xlsx", {"Notes": [["the team's notes"]]})
    result = copy(source, target)

    assert [(t.table, t.created, t.appended) for t in result.tables] == [
        ("customers", True, 3),
        ("orders", True, 2),
    ]
    assert len(result.run_ids) == 2  # the sheets, then the rules put on them
    assert rows(target, "Customers") == [[str(v) for v in row] for row in CUSTOMERS]
    assert rows(target, "Orders")[1:] == [
        ["O-000001", "C-000001", "3", "1234.5", "2024-03-01"],
        ["O-000002", "C-000002", "2", "99.9", "2024-03-05"],
    ]

    book = openpyxl.load_workbook(target)
    assert book.sheetnames[0] == "Notes"  # the team's sheet stays, first
    orders = book["Orders"]
    assert [orders["C2"].value, orders["D2"].value, orders["C3"].value, orders["D3"].value] == [3, 1234.5, 2, 99.9]
    assert orders["E2"].value == "2024-03-01"  # dates stay ISO text
    customers = book["Customers"]
    assert customers["E2"].value == "00123" and customers["E2"].data_type == "s"
    assert customers["A1"].comment is not None  # header notes
    assert customers.freeze_panes == "A2"
    dropdowns = [v for v in customers.data_validations.dataValidation if v.type == "list"]
    assert [str(v.sqref) for v in dropdowns] == ["D2:D1048576"]
    assert LISTS_SHEET in dropdowns[0].formula1
    assert LISTS_SHEET in book.sheetnames and book[LISTS_SHEET].sheet_state == "hidden"


def test_a_second_copy_with_nothing_changed_writes_nothing(source: Path, tmp_path: Path) -> None:
    target = write_xlsx(tmp_path / "copy.xlsx", {"Notes": [["x"]]})
    copy(source, target)
    before = target.read_bytes()

    again = copy(source, target)

    assert target.read_bytes() == before
    assert not again.changed and again.run_ids == [] and again.changes == []
    assert again.counts() == {"created": 0, "edited": 0, "appended": 0, "deleted": 0, "unchanged": 5}


def test_a_dry_run_writes_nothing_and_previews_everything(source: Path, tmp_path: Path) -> None:
    target = write_xlsx(tmp_path / "copy.xlsx", {"Notes": [["x"]]})
    before = target.read_bytes()

    result = copy(source, target, dry_run=True)

    assert target.read_bytes() == before
    assert result.dry_run and result.run_ids == []
    assert "(new sheet)" in result.preview()
    assert result.schema_pending == ["Customers", "Orders"]  # their rules are planned once they exist


# -- into a workbook that has them --------------------------------------------------------------


@pytest.fixture
def stale(tmp_path: Path) -> Path:
    """An older copy: other order, a stale value, a deleted customer, one missing, a column of its own."""
    return write_xlsx(
        tmp_path / "copy.xlsx",
        {
            "Customers": [
                ["customer_id", "name", "phone", "tier", "postcode", "Internal"],
                ["C-000002", "Jane Smith", "+1 415 555 0134", "Standard", "94110", "keep me"],
                ["C-000009", "Gone Customer", "", "Key", "", "x"],
                ["C-000001", "Zhang Wei", "+86 138 0013 8000", "VIP", "00123", ""],
            ],
            "Orders": ORDERS,
        },
    )


def test_only_what_differs_is_written_keyed_by_id(source: Path, stale: Path) -> None:
    result = copy(source, stale)

    customers = result.table("customers")
    assert customers.keyed_by == "customer_id"
    assert (customers.edited, customers.appended, customers.deleted, customers.unchanged) == (1, 1, 1, 1)
    assert customers.target_only_columns == ["Internal"]
    assert result.table("orders").counts() == {"created": 0, "edited": 0, "appended": 0, "deleted": 0, "unchanged": 2}
    assert rows(stale, "Customers") == [
        ["customer_id", "name", "phone", "tier", "postcode", "Internal"],
        ["C-000002", "Jane Smith", "+1 415 555 0134", "Key", "94110", "keep me"],
        ["C-000001", "Zhang Wei", "+86 138 0013 8000", "VIP", "00123", ""],
        ["C-000003", "王芳", "+86 139 0000 1111", "Standard", "", ""],
    ]
    edits = [line for line in result.changes[0].lines() if line.action == "edit"]
    assert [(e.where, e.before, e.after) for e in edits] == [("D2 (tier)", "Standard", "Key")]
    assert len(result.run_ids) == 1  # values and rules in one run


def test_undo_of_a_push_restores_the_target(source: Path, stale: Path) -> None:
    before = {sheet: frame(stale, sheet) for sheet in ("Customers", "Orders")}
    result = copy(source, stale)
    assert len(result.run_ids) == 1

    sheetcrm.open_workbook(stale).undo(result.run_ids[0])

    for sheet, old in before.items():
        pd.testing.assert_frame_equal(frame(stale, sheet), old)
    book = openpyxl.load_workbook(stale)
    assert book["Customers"]["A1"].comment is None  # the rules went too


def test_undo_of_a_push_that_created_sheets_removes_them(source: Path, tmp_path: Path) -> None:
    target = write_xlsx(tmp_path / "copy.xlsx", {"Notes": [["x"]]})
    result = copy(source, target)

    workbook = sheetcrm.open_workbook(target)
    for run_id in reversed(result.run_ids):
        workbook.undo(run_id)

    assert sheetcrm.open_workbook(target).sheet_names == ["Notes"]


def test_a_column_the_target_lacks_is_added_with_its_rules(source: Path, tmp_path: Path) -> None:
    older = [row[:4] for row in CUSTOMERS]  # no postcode column
    target = write_xlsx(tmp_path / "copy.xlsx", {"Customers": older, "Orders": ORDERS})

    result = copy(source, target)

    assert result.table("customers").columns_added == ["postcode"]
    assert rows(target, "Customers") == [[str(v) for v in row] for row in CUSTOMERS]
    book = openpyxl.load_workbook(target)
    assert book["Customers"]["E1"].comment is not None  # planned once the column was there
    assert copy(source, target).changes == []


def test_without_an_id_column_rows_are_matched_by_position(tmp_path: Path) -> None:
    without_id = [row[1:] for row in CUSTOMERS]
    source = write_xlsx(tmp_path / "crm.xlsx", {"Customers": without_id})
    target = write_xlsx(
        tmp_path / "copy.xlsx",
        {"Customers": [without_id[0], ["Zhang Wei", "+86 138 0013 8000", "Key", "00123"], *[["x", "", "", ""]] * 3]},
    )

    result = copy(source, target)

    outcome = result.table("customers")
    assert outcome.keyed_by is None
    assert (outcome.edited, outcome.appended, outcome.deleted) == (1 + 4 + 3, 0, 1)
    assert rows(target, "Customers") == [[str(v) for v in row] for row in without_id]


def test_rows_without_a_usable_id_are_left_alone_and_reported(source: Path, tmp_path: Path) -> None:
    target = write_xlsx(
        tmp_path / "copy.xlsx",
        {
            "Customers": [
                CUSTOMERS[0],
                ["C-000001", "Zhang Wei", "", "", ""],
                ["C-000001", "Zhang Wei again", "", "", ""],
                ["", "No id", "", "", ""],
            ]
        },
    )

    result = copy(source, target, tables=["customers"])

    skipped = result.table("customers").skipped
    assert [(s.address, s.reason) for s in skipped] == [
        ("Customers!A2", "duplicate-id"),
        ("Customers!A3", "duplicate-id"),
        ("Customers!A4", "no-id"),
    ]
    assert [row[:2] for row in rows(target, "Customers")[1:]] == [
        ["C-000001", "Zhang Wei"],
        ["C-000001", "Zhang Wei again"],
        ["", "No id"],
        ["C-000002", "Jane Smith"],
        ["C-000003", "王芳"],
    ]


def test_tables_restricts_the_copy_and_unknown_tables_are_refused(source: Path, tmp_path: Path) -> None:
    target = write_xlsx(tmp_path / "copy.xlsx", {"Notes": [["x"]]})
    result = copy(source, target, tables=["orders"])
    assert [t.table for t in result.tables] == ["orders"]
    assert "Customers" not in sheetcrm.open_workbook(target).sheet_names
    with pytest.raises(InputError, match="unknown table 'leads'"):
        copy(source, target, tables=["leads"])
    with pytest.raises(InputError, match="no sheet 'Opportunities'"):
        copy(source, target, tables=["opportunities"])


def test_to_dict_and_summary_name_the_counts(source: Path, stale: Path) -> None:
    result = copy(source, stale, dry_run=True)
    data = result.to_dict()
    assert data["dry_run"] is True and data["run_ids"] == []
    assert data["tables"][0]["target_only_columns"] == ["Internal"]
    assert "Customers: 1 edited cells, 1 appended, 1 deleted, 1 unchanged" in result.summary()


def test_a_formula_in_the_target_is_never_overwritten(source: Path, tmp_path: Path) -> None:
    target = write_xlsx(tmp_path / "copy.xlsx", {"Orders": ORDERS})
    book = openpyxl.load_workbook(target)
    book["Orders"]["D2"] = "=C2*400"  # a real formula (write_xlsx keeps "=..." as text)
    book.save(target)

    result = copy(source, target, tables=["orders"])

    assert result.table("orders").formula_cells == ["Orders!D2"]
    assert openpyxl.load_workbook(target)["Orders"]["D2"].value == "=C2*400"
    assert copy(source, target, tables=["orders"]).changes == []


def test_a_workbook_is_not_copied_onto_itself(source: Path) -> None:
    with pytest.raises(InputError, match="the same workbook"):
        copy(source, source.parent / ".." / source.parent.name / source.name)


# -- with a Google Sheet (the emulator, over real HTTP) ------------------------------------------


def test_push_to_a_google_sheet_and_pull_it_back(
    emu: Any, google_key: Path, monkeypatch: pytest.MonkeyPatch, source: Path, tmp_path: Path
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(google_key))
    monkeypatch.setenv("SHEETCRM_SHEETS_ENDPOINT", emu.base_url)
    monkeypatch.chdir(tmp_path)
    key = emu.create_spreadsheet("CRM", sheets={"Sheet1": [["x"]]})
    google = f"gsheets://{key}"

    pushed = copy_tables(sheetcrm.open_workbook(source), sheetcrm.open_workbook(google), CONFIG, tables=["orders"])
    assert pushed.table("orders").created and pushed.run_ids
    assert emu.values(key, "Orders", render="UNFORMATTED_VALUE")[1][2:4] == [3, 1234.5]  # numbers there too
    again = copy_tables(sheetcrm.open_workbook(source), sheetcrm.open_workbook(google), CONFIG, tables=["orders"])
    assert not again.changed

    emu.set_value(key, "Orders", "C3", 7)
    pulled = copy_tables(sheetcrm.open_workbook(google), sheetcrm.open_workbook(source), CONFIG, tables=["orders"])
    assert pulled.table("orders").edited == 1
    assert openpyxl.load_workbook(source)["Orders"]["C3"].value == 7

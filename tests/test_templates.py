"""New workbooks from the schemas (``sheetcrm init``) and the committed templates, read back from the files."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import ROOT

import sheetcrm
from sheetcrm.create import LISTS_SHEET, TEMPLATES, create_workbook, header_note, write_templates
from sheetcrm.errors import InputError
from sheetcrm.schema import CRM_TABLES, FieldType, build_schemas
from sheetcrm.sync.a1 import column_letter

REGENERATE = "python -c \"from sheetcrm.create import write_templates; write_templates('templates')\""


def content(path: Path) -> dict[str, Any]:
    """What a workbook says, as plain data: everything a template promises, nothing about zip bytes."""
    book = openpyxl.load_workbook(path)
    found: dict[str, Any] = {
        "sheets": [(sheet.title, sheet.sheet_state) for sheet in book.worksheets],
        "properties": (book.properties.creator, book.properties.created, book.properties.modified),
    }
    for sheet in book.worksheets:
        cells = [cell for row in sheet.iter_rows() for cell in row]
        found[sheet.title] = {
            "cells": [
                (c.coordinate, c.value, c.number_format, c.font.b, c.fill.fgColor.rgb if c.fill.fill_type else None)
                for c in cells
            ],
            "notes": {c.coordinate: (c.comment.text, c.comment.author) for c in cells if c.comment},
            "validations": sorted(
                (str(v.sqref), v.type, v.operator, v.formula1, v.formula2, v.allow_blank, v.showErrorMessage, v.error)
                for v in sheet.data_validations.dataValidation
            ),
            "columns": {
                k: (d.min, d.max, d.width, d.number_format) for k, d in sorted(sheet.column_dimensions.items())
            },
            "freeze": sheet.freeze_panes,
            "filter": sheet.auto_filter.ref,
        }
    return found


@pytest.fixture(scope="module")
def crm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return create_workbook(tmp_path_factory.mktemp("new") / "crm.xlsx")


@pytest.fixture(scope="module")
def book(crm: Path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(crm)


# -- the committed templates -------------------------------------------------------------------


def test_the_committed_templates_are_up_to_date(tmp_path: Path) -> None:
    committed = ROOT / "templates"
    assert sorted(p.name for p in committed.glob("*.xlsx")) == sorted(TEMPLATES), f"regenerate them: {REGENERATE}"
    for path in write_templates(tmp_path):
        assert content(committed / path.name) == content(path), (
            f"templates/{path.name} is out of date with the schemas; regenerate the templates: {REGENERATE}"
        )
    assert (committed / "README.md").is_file()


def test_generating_the_templates_is_deterministic(tmp_path: Path) -> None:
    first = write_templates(tmp_path / "a")
    second = write_templates(tmp_path / "b")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    assert content(first[0])["properties"][1:] == (sheetcrm.create.TEMPLATE_TIME, sheetcrm.create.TEMPLATE_TIME)


def test_each_template_holds_its_tables(tmp_path: Path) -> None:
    for path in write_templates(tmp_path):
        sheets = [CRM_TABLES[key].sheet for key in TEMPLATES[path.name]]
        assert openpyxl.load_workbook(path).sheetnames == [*sheets, LISTS_SHEET]


# -- what a new workbook holds -------------------------------------------------------------------


def test_headers_with_notes_bold_filled_frozen_filtered_and_sized(book: openpyxl.Workbook) -> None:
    assert book.sheetnames == ["Customers", "Orders", "Interactions", "Opportunities", LISTS_SHEET]
    assert book.active is not None and book.active.title == "Customers"
    for schema in CRM_TABLES.values():
        sheet = book[schema.sheet]
        last = column_letter(len(schema.fields))
        assert [c.value for c in sheet[1]] == list(schema.headers)
        assert sheet.max_row == 1  # formats live on the columns, not on cells of empty rows
        assert sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref == f"A1:{last}1"
        for index, field in enumerate(schema.fields, start=1):
            cell = sheet.cell(1, index)
            assert cell.font.b and cell.fill.fgColor.rgb == "00DDEBF7"
            assert cell.comment is not None and cell.comment.author == "sheetcrm"
            assert cell.comment.text == header_note(field)
            assert sheet.column_dimensions[column_letter(index)].width == field.width
    customers = book["Customers"]
    assert customers["A1"].comment.text == "Unique id of the customer, e.g. C-000123.\nRequired, unique."
    assert customers["M1"].comment.text == (
        "How important the customer is: VIP, Key or Standard.\nChoose one of: VIP, Key, Standard."
    )
    assert book["Interactions"]["H1"].comment.text == (
        "The customer's feedback, 1 (poor) to 5 (excellent).\nA whole number from 1 to 5."
    )


def test_number_formats_are_on_the_whole_columns(book: openpyxl.Workbook) -> None:
    def formats(sheet: str) -> dict[str, str]:
        schema = next(s for s in CRM_TABLES.values() if s.sheet == sheet)
        columns = book[sheet].column_dimensions
        return {f.name: columns[column_letter(i)].number_format for i, f in enumerate(schema.fields, start=1)}

    customers = formats("Customers")
    for text in ("customer_id", "phone", "postcode", "tags"):
        assert customers[text] == "@", text  # + and leading zeros survive what a person types
    for date in ("birthday", "created_at", "last_contact", "next_follow_up"):
        assert customers[date] == "yyyy-mm-dd"
    assert customers["name"] == customers["email"] == customers["tier"] == "General"
    orders = formats("Orders")
    assert (orders["customer_id"], orders["tracking_no"], orders["order_date"]) == ("@", "@", "yyyy-mm-dd")
    assert (orders["unit_price"], orders["amount"], orders["quantity"]) == ("#,##0.00", "#,##0.00", "0")
    assert formats("Opportunities")["updated_at"] == "yyyy-mm-dd hh:mm"
    # the header cells keep a format of their own
    assert book["Customers"]["E1"].number_format == "General"


def test_dropdowns_read_their_choices_from_the_hidden_lists_sheet(book: openpyxl.Workbook) -> None:
    lists = book[LISTS_SHEET]
    assert lists.sheet_state == "hidden"
    columns = {lists.cell(1, c).value: c for c in range(1, lists.max_column + 1)}
    assert list(columns) == [
        "customers.tier",
        "customers.consent",
        "orders.status",
        "interactions.channel",
        "opportunities.stage",
    ]
    found = 0
    for schema in CRM_TABLES.values():
        sheet = book[schema.sheet]
        dropdowns = {str(v.sqref): v for v in sheet.data_validations.dataValidation if v.type == "list"}
        for index, field in enumerate(schema.fields, start=1):
            letter = column_letter(index)
            if field.type is not FieldType.enum:
                assert f"{letter}2:{letter}1048576" not in dropdowns, field.name  # no dropdown for tags either
                continue
            column = columns[f"{schema.key}.{field.name}"]
            list_letter = column_letter(column)
            validation = dropdowns[f"{letter}2:{letter}1048576"]
            assert validation.formula1 == f"_lists!${list_letter}$2:${list_letter}${len(field.choices) + 1}"
            assert validation.allow_blank and validation.showErrorMessage
            values = [lists.cell(row, column).value for row in range(2, len(field.choices) + 2)]
            assert values == list(field.choices)
            assert lists.cell(len(field.choices) + 2, column).value is None
            found += 1
    assert found == 5


def test_dates_and_bounded_numbers_are_validated(book: openpyxl.Workbook) -> None:
    def rules(sheet: str) -> dict[str, tuple[Any, ...]]:
        return {
            str(v.sqref).split(":")[0]: (v.type, v.operator, v.formula1, v.formula2)
            for v in book[sheet].data_validations.dataValidation
            if v.type != "list"
        }

    customers = rules("Customers")
    assert customers == {
        letter: ("date", "between", "1", "109939") for letter in ("R2", "S2", "T2", "U2")
    }  # 1900-01-01 .. 2200-12-31
    orders = rules("Orders")
    assert orders["C2"] == ("date", "between", "1", "109939")
    assert orders["F2"] == ("whole", "greaterThanOrEqual", "0", None)  # quantity
    assert orders["G2"] == orders["H2"] == ("decimal", "greaterThanOrEqual", "0", None)  # unit_price, amount
    assert rules("Interactions")["H2"] == ("whole", "between", "1", "5")  # rating
    updated = rules("Opportunities")["I2"]
    assert updated[:3] == ("date", "between", "1") and 109939 < float(updated[3]) < 109940
    for sheet in book.worksheets:
        for validation in sheet.data_validations.dataValidation:
            assert len(validation.errorTitle or "") <= 32 and len(validation.error or "") <= 255


def test_sheetcrm_reads_a_new_workbook_as_empty_tables(crm: Path) -> None:
    workbook = sheetcrm.open_workbook(crm)
    for schema in CRM_TABLES.values():
        table = workbook[schema.sheet]
        assert table.columns == list(schema.headers) and len(table) == 0
    report = sheetcrm.validate(workbook, config=sheetcrm.load_config(None))
    assert report.valid and report.findings == []


# -- choosing tables and schemas ---------------------------------------------------------------


def test_some_tables_only(tmp_path: Path) -> None:
    path = create_workbook(tmp_path / "orders.xlsx", tables=["orders"])
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Orders", LISTS_SHEET]
    assert [c.value for c in book[LISTS_SHEET]["A"]] == ["orders.status", *CRM_TABLES["orders"].field("status").choices]
    status = next(v for v in book["Orders"].data_validations.dataValidation if v.type == "list")
    assert (str(status.sqref), status.formula1) == ("D2:D1048576", "_lists!$A$2:$A$8")


def test_a_teams_own_fields_and_a_long_list(tmp_path: Path) -> None:
    districts = [f"District number {i:02d}" for i in range(60)]  # far past Excel's 255-character inline list
    (tmp_path / "sheetcrm.toml").write_text(
        "[schema.customers.fields.district]\n"
        'type = "enum"\nheader = "District"\n'
        f"choices = [{', '.join(repr(d) for d in districts)}]\n"
        "[schema.customers.fields.signed_on]\n"
        'type = "date"\nheader = "Signed on"\n'
        "[schema.customers.fields.tier]\n"
        'choices = ["VIP", "Key", "Standard", "Trial"]\n',
        encoding="utf-8",
    )
    schemas = build_schemas(sheetcrm.load_config(tmp_path / "sheetcrm.toml"))
    path = create_workbook(tmp_path / "mine.xlsx", schemas=schemas, tables=["customers"])
    book = openpyxl.load_workbook(path)
    sheet = book["Customers"]
    assert [c.value for c in sheet[1]][-2:] == ["District", "Signed on"]
    assert sheet["X1"].comment.text == "District.\nChoose one of the 60 choices in the dropdown."
    assert sheet["Y1"].comment.text == "A date, YYYY-MM-DD."
    rules = {str(v.sqref): (v.type, v.formula1) for v in sheet.data_validations.dataValidation}
    assert rules["X2:X1048576"] == ("list", "_lists!$C$2:$C$61")
    assert rules["Y2:Y1048576"] == ("date", "1")
    assert rules["M2:M1048576"] == ("list", "_lists!$A$2:$A$5")
    assert [c.value for c in book[LISTS_SHEET]["C"]] == ["customers.district", *districts]
    assert sheet.column_dimensions["Y"].number_format == "yyyy-mm-dd"


def test_refusals(tmp_path: Path) -> None:
    path = create_workbook(tmp_path / "crm.xlsx", tables=["customers"])
    before = path.read_bytes()
    with pytest.raises(InputError, match="already exists"):
        create_workbook(path)
    assert path.read_bytes() == before
    create_workbook(path, tables=["orders"], overwrite=True)
    assert openpyxl.load_workbook(path).sheetnames == ["Orders", LISTS_SHEET]
    with pytest.raises(InputError, match="unknown table 'leads'"):
        create_workbook(tmp_path / "x.xlsx", tables=["leads"])
    with pytest.raises(InputError, match=r"must be an \.xlsx"):
        create_workbook(tmp_path / "x.csv")
    same_sheet = {**CRM_TABLES, "orders": CRM_TABLES["orders"].with_changes(sheet="Customers")}
    with pytest.raises(InputError, match="both live on sheet 'Customers'"):
        create_workbook(tmp_path / "x.xlsx", schemas=same_sheet)
    bad_name = {"customers": CRM_TABLES["customers"].with_changes(sheet="Customers/2024")}
    with pytest.raises(InputError, match="cannot be a sheet name"):
        create_workbook(tmp_path / "x.xlsx", schemas=bad_name)
    assert not (tmp_path / "x.xlsx").exists()


# -- in a real spreadsheet program ---------------------------------------------------------------


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_opens_a_template(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            "soffice",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(ROOT / "templates" / "crm.xlsx"),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    pdf = tmp_path / "crm.pdf"
    assert pdf.is_file() and pdf.read_bytes().startswith(b"%PDF")


# -- writing into a new workbook ---------------------------------------------------------------


def test_rows_appended_to_a_new_workbook_take_the_columns_formats(tmp_path: Path) -> None:
    path = create_workbook(tmp_path / "crm.xlsx", tables=["customers"])  # a header and nothing else
    schema = CRM_TABLES["customers"]
    letter = {field.name: column_letter(i) for i, field in enumerate(schema.fields, start=1)}
    rows = [
        {"customer_id": "C-000001", "name": "Li Na", "phone": "00123", "birthday": dt.date(1990, 1, 2)},
        {"customer_id": "C-000002", "phone": "+8613800138000", "postcode": "02134", "tier": "VIP"},
    ]
    changes = sheetcrm.ChangeSet("first customers")
    changes.append("Customers", [{letter[name]: value for name, value in row.items()} for row in rows])
    sheetcrm.open_workbook(path).apply(changes)

    sheet = openpyxl.load_workbook(path)["Customers"]
    columns = sheet.column_dimensions
    for number, row in enumerate(rows, start=2):
        for name in row:
            cell = sheet[f"{letter[name]}{number}"]
            assert cell.number_format == columns[letter[name]].number_format, cell.coordinate
    assert {sheet[f"{letter['phone']}{n}"].number_format for n in (2, 3)} == {"@"}
    assert sheet[f"{letter['birthday']}2"].number_format == "yyyy-mm-dd"
    assert sheet[f"{letter['name']}2"].number_format == sheet[f"{letter['tier']}3"].number_format == "General"
    assert not sheet["B2"].font.b  # the header's look is not copied into the first row
    table = sheetcrm.open_workbook(path)["Customers"]
    assert [table.value(2, "phone"), table.value(3, "phone"), table.value(3, "postcode")] == [
        "00123",
        "+8613800138000",
        "02134",
    ]
    assert table.value(2, "birthday") == "1990-01-02"

"""Exporting a selection of a CRM table to CSV and .xlsx: filters, columns, masking, injection guards."""

from __future__ import annotations

import codecs
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import write_xlsx

import sheetcrm
from sheetcrm.config import default_config
from sheetcrm.errors import InputError
from sheetcrm.jobs.exporter import Condition, ExportResult, export_table, mask_email, mask_phone, parse_where
from sheetcrm.sync.csvfile import read_csv

HEADER = ["customer_id", "客户名称", "手机", "邮箱", "客户等级", "region", "owner", "notes", "WeChat"]
ROWS = [
    ["C-000001", "Zhang Wei", "+86 138 0013 8000", "zhang.wei@example.cn", "VIP", "East China", "Li Na", "", "wx1"],
    [
        "C-000002",
        "Jane Smith",
        "(415) 555-0134",
        "jane@example.com",
        "Key",
        "West",
        "Bob",
        '=HYPERLINK("http://evil","x")',
        "",
    ],
    ["C-000003", "王芳", "13900001111", "wangfang@example.cn", "VIP", "east china ", "", "-5", ""],
    ["00123", "Zero Lead", "+8613800138000", "", "Standard", "East China", "Li Na", "+1 415 555 0134", ""],
]


@pytest.fixture
def crm(tmp_path: Path) -> Path:
    return write_xlsx(tmp_path / "crm.xlsx", {"Customers": [HEADER, *ROWS]})


def export(crm: Path, out: Path, **options: Any) -> ExportResult:
    return export_table(sheetcrm.open_workbook(crm), out=out, config=default_config(), **options)


def test_where_and_columns_select_rows_and_order_columns(crm: Path, tmp_path: Path) -> None:
    out = tmp_path / "vip.csv"
    result = export(crm, out, where="tier=vip, region=East China", columns=["name", "phone", "customer_id"])
    assert result.rows == 2
    # columns are named by field, header or alias; the file keeps the sheet's headers
    assert read_csv(out).rows == [
        ["客户名称", "手机", "customer_id"],
        ["Zhang Wei", "+86 138 0013 8000", "C-000001"],
        ["王芳", "13900001111", "C-000003"],
    ]


@pytest.mark.parametrize(
    ("where", "ids"),
    [
        ("owner=Li Na", ["C-000001", "00123"]),
        ("owner!=li na", ["C-000002", "C-000003"]),
        ("owner=", ["C-000003"]),  # empty cells
        ("客户名称~ZH", ["C-000001"]),  # a header works as well as a field name
        ("email~example.cn,tier!=VIP", []),
        ("notes~=hyperlink(", ["C-000002"]),  # values are data: never a pattern, never code
        ("WeChat=wx1", ["C-000001"]),  # the team's own column
        (r'notes~evil"\,"x', ["C-000002"]),  # \, is a comma inside a value
    ],
)
def test_where_language(crm: Path, tmp_path: Path, where: str, ids: list[str]) -> None:
    out = tmp_path / "out.csv"
    export(crm, out, where=where, columns=["customer_id"])
    assert [row[0] for row in read_csv(out).rows[1:]] == ids


def test_parse_where() -> None:
    assert parse_where("tier=VIP, owner!=, name~zhang, a=b=c") == [
        Condition("tier", "=", "VIP"),
        Condition("owner", "!=", ""),
        Condition("name", "~", "zhang"),
        Condition("a", "=", "b=c"),
    ]
    with pytest.raises(InputError, match="cannot read 'tier' in --where"):
        parse_where("tier")
    with pytest.raises(InputError, match="names no field"):
        parse_where("=VIP")


def test_unknown_where_fields_are_named(crm: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    with pytest.raises(InputError, match=r"--where: unknown fields 'tierr', 'city'") as raised:
        export(crm, out, where="tierr=VIP,city=Beijing,region=East")
    assert "(city: no such column in the sheet)" in raised.value.message
    assert raised.value.hint is not None and "did you mean 'tier'?" in raised.value.hint
    with pytest.raises(InputError, match="--columns: unknown field 'nmae'"):
        export(crm, out, columns=["nmae"])
    assert not out.exists()


def test_masking_phones_and_emails(crm: Path, tmp_path: Path) -> None:
    out = tmp_path / "masked.csv"
    result = export(crm, out, columns=["name", "phone", "email", "notes"], mask_pii=True)
    assert result.masked == ["手机", "邮箱"]
    rows = read_csv(out).rows
    # "+86 ****** 8000" would run as a formula in Excel, so the CSV guard defuses it with '
    assert [row[1:3] for row in rows[1:]] == [
        ["'+86 ****** 8000", "z***@example.cn"],
        ["****** 0134", "j***@example.com"],
        ["****** 1111", "w***@example.cn"],
        ["'+86 ****** 8000", ""],
    ]
    assert rows[4][3] == "+1 415 555 0134"  # notes are not a phone field: not masked


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("+86 138 0013 8000", "+86 ****** 8000"),
        ("+8613800138000", "+86 ****** 8000"),
        ("+1 (415) 555-0134", "+1 ****** 0134"),
        ("+852 2123 4567", "+852 ****** 4567"),
        ("+44 20 7946 0958", "+44 ****** 0958"),
        ("138 0013 8000", "****** 8000"),
        ("123", "******"),
        ("", ""),
    ],
)
def test_mask_phone(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


def test_mask_email() -> None:
    assert mask_email("zhang.wei@example.cn") == "z***@example.cn"
    assert mask_email("not an email") == "***"
    assert mask_email("") == ""


def test_csv_has_a_bom_and_the_injection_guard(crm: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    export(crm, out, columns=["customer_id", "notes"])
    data = out.read_bytes()
    assert data.startswith(codecs.BOM_UTF8)
    text = data.decode("utf-8-sig")
    assert '\'=HYPERLINK(""http://evil"",""x"")' in text
    assert read_csv(out).rows[1:] == [
        ["C-000001", ""],
        ["C-000002", '\'=HYPERLINK("http://evil","x")'],
        ["C-000003", "-5"],  # a plain number is data, not a formula
        ["00123", "+1 415 555 0134"],  # so is a phone number
    ]


def test_xlsx_has_literals_only_text_ids_and_a_frozen_bold_header(crm: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.xlsx"
    result = export(crm, out)
    assert result.rows == 4 and result.columns == HEADER
    with zipfile.ZipFile(out) as archive:
        assert b"<f>" not in archive.read("xl/worksheets/sheet1.xml")
    sheet = openpyxl.load_workbook(out)["Customers"]
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert all(cell.data_type != "f" for cell in cells)
    assert sheet["H3"].value == '=HYPERLINK("http://evil","x")' and sheet["H3"].data_type == "s"
    assert sheet["A5"].value == "00123" and sheet["A5"].number_format == "@"
    assert sheet["C5"].value == "+8613800138000" and sheet["C5"].number_format == "@"
    assert sheet.freeze_panes == "A2"
    assert all(cell.font.b for cell in sheet[1])
    # and it reads back through sheetcrm exactly as the sheet was
    assert sheetcrm.open_workbook(out)["Customers"].frame.values.tolist() == ROWS


def test_xlsx_numbers_are_numbers(tmp_path: Path) -> None:
    book = write_xlsx(
        tmp_path / "crm.xlsx",
        {
            "Orders": [
                ["order_id", "customer_id", "quantity", "amount"],
                ["O-000001", "C-000001", 2, 100.5],
                ["O-000002", "C-000002", "007", ""],
            ]
        },
    )
    out = tmp_path / "orders.xlsx"
    export_table(sheetcrm.open_workbook(book), table="orders", out=out, config=default_config())
    sheet = openpyxl.load_workbook(out)["Orders"]
    assert [sheet["C2"].value, sheet["D2"].value, sheet["D2"].number_format] == [2, 100.5, "#,##0.00"]
    assert sheet["C3"].value == "007" and sheet["D3"].value is None  # leading zeros are not a number


def test_the_workbook_is_never_written(crm: Path, tmp_path: Path) -> None:
    before = crm.read_bytes()
    export(crm, tmp_path / "a.csv", where="tier=VIP")
    export(crm, tmp_path / "a.xlsx", mask_pii=True)
    assert crm.read_bytes() == before
    assert not (tmp_path / ".sheetcrm").exists() or not any((tmp_path / ".sheetcrm").glob("*.jsonl"))
    with pytest.raises(InputError, match="is the workbook itself"):
        export(crm, crm)
    with pytest.raises(InputError, match=r"writes \.csv or \.xlsx"):
        export(crm, tmp_path / "out.json")
    assert crm.read_bytes() == before


def test_an_empty_selection_writes_the_header(crm: Path, tmp_path: Path) -> None:
    out = tmp_path / "none.csv"
    assert export(crm, out, where="tier=Gold").rows == 0
    assert read_csv(out).rows == [HEADER]

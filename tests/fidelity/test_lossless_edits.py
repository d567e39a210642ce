"""Every corpus workbook, edited through sheetcrm: only the parts meant to change change.

One ChangeSet per workbook edits text, a date and a number, fills a cell, sets a number
format, formats a column, adds a note, a dropdown and a validation rule, and appends two
rows, on the Customers sheet. Afterwards every other
part is the same compressed bytes as before, openpyxl and python-calamine read the new
cells alike, and LibreOffice opens every result (one soffice run converts them all).
"""

from __future__ import annotations

import datetime as dt
import json
import posixpath
import re
import shutil
import struct
import warnings
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import python_calamine
from libreoffice import convert_to_xlsx

import sheetcrm
from sheetcrm.sync.changeset import ChangeSet, ValidationRule
from sheetcrm.sync.ooxml.strings import decode_escapes
from sheetcrm.sync.preflight import inspect_xlsx
from sheetcrm.sync.workbook import open_workbook

HERE = Path(__file__).resolve().parent
MANIFEST: dict[str, dict[str, Any]] = json.loads((HERE / "manifest.json").read_text(encoding="utf-8"))
NAME = "张伟 & <Zhang> _x000D_ =SUM(A1)"
NOTE = "sheetcrm: 电话号码 has 10 digits & <no> country code"
APPENDED = [
    {"customer_id": "009999", "name": "Wang Fang", "created_at": dt.date(2024, 2, 29), "amount": 12.5},
    {"customer_id": "010000", "name": "李娜", "created_at": dt.date(2024, 3, 1), "amount": 0.1},
]


def raw_entry(path: Path, info: zipfile.ZipInfo) -> bytes:
    """A zip member's compressed bytes exactly as stored."""
    with path.open("rb") as handle:
        handle.seek(info.header_offset)
        header = handle.read(30)
        name_length, extra_length = struct.unpack("<2H", header[26:30])
        handle.seek(info.header_offset + 30 + name_length + extra_length)
        return handle.read(info.compress_size)


def entries(path: Path) -> dict[str, tuple[int, bytes]]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: (info.CRC, raw_entry(path, info)) for info in archive.infolist()}


def open_customers(path: Path, name: str) -> sheetcrm.Table:
    return open_workbook(path, header_rows={"Customers": MANIFEST[name]["header_row"]})["Customers"]


def edited(source: Path, folder: Path) -> tuple[Path, dict[str, int]]:
    """A copy of ``source`` with the ChangeSet applied; the rows it touched, by purpose."""
    path = folder / source.name
    shutil.copyfile(source, path)
    table = open_customers(path, source.name)
    first = table.rows[0]
    letter = table.letter
    changes = ChangeSet("corpus edit")
    changes.edit("Customers", first, letter("name"), old=table.value(first, "name"), new=NAME)
    changes.edit(
        "Customers", first, letter("created_at"), old=table.value(first, "created_at"), new=dt.date(1999, 12, 31)
    )
    changes.edit("Customers", first + 1, letter("amount"), old=table.value(first + 1, "amount"), new=-1234.5)
    changes.fill("Customers", first + 2, letter("name"), "FFC7CE")
    changes.number_format("Customers", first + 3, letter("amount"), "0.00")
    changes.note("Customers", first + 4, letter("phone"), NOTE)
    changes.column_format("Customers", letter("phone"), "@", first_row=first)
    changes.dropdown("Customers", dropdown_range(table, first), choices=["Alpha", "Beta & <Gamma>"])
    changes.validation("Customers", rule_range(table, first), rule=ValidationRule("textLength", "lessThan", "20"))
    changes.append("Customers", [{letter(k): v for k, v in row.items()} for row in APPENDED])
    result = sheetcrm.open_workbook(path).apply(changes)
    appended = next(c for c in result.changes if c.kind == "append")
    return path, {"first": first, "appended": appended.first_row}  # type: ignore[union-attr]


def dropdown_range(table: sheetcrm.Table, first: int) -> str:
    return f"{table.letter('name')}{first}:{table.letter('name')}{first + 3}"


def rule_range(table: sheetcrm.Table, first: int) -> str:
    return f"{table.letter('customer_id')}{first}:{table.letter('customer_id')}1048576"


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, int]]]:
    folder = tmp_path_factory.mktemp("edited")
    return {name: edited(HERE / "corpus" / name, folder) for name in sorted(MANIFEST)}


def as_date(value: Any) -> Any:
    return value.date() if isinstance(value, dt.datetime) else value


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_only_the_edited_parts_change(name: str, results: dict[str, tuple[Path, dict[str, int]]]) -> None:
    source = HERE / "corpus" / name
    path, rows = results[name]
    inventory = inspect_xlsx(source)
    before, after = entries(source), entries(path)
    assert list(after)[: len(before)] == list(before)  # no part removed or moved; new ones at the end
    changed = {part for part in before if before[part] != after[part]}
    sheet_part = inventory.sheet("Customers").part
    assert sheet_part in changed
    rels = posixpath.join(posixpath.dirname(sheet_part), "_rels", posixpath.basename(sheet_part) + ".rels")
    notes = {part for part in after if re.search(r"comments|vmlDrawing", part)} | {rels, "[Content_Types].xml"}
    assert changed <= {sheet_part, inventory.styles_part, inventory.workbook_part} | notes
    assert set(after) - set(before) <= notes

    with warnings.catch_warnings():  # openpyxl warns about x14 extensions it does not read
        warnings.simplefilter("ignore")
        sheet = openpyxl.load_workbook(path)["Customers"]
    calamine = python_calamine.CalamineWorkbook.from_path(str(path))
    grid = calamine.get_sheet_by_name("Customers").to_python(skip_empty_area=False)
    table = open_customers(path, name)
    columns = {field: table.letter(field) for field in ("customer_id", "name", "created_at", "amount")}

    def both(row: int, field: str) -> tuple[Any, Any]:
        cell = sheet[f"{columns[field]}{row}"]
        index = openpyxl.utils.column_index_from_string(columns[field]) - 1
        # openpyxl leaves Excel's _xHHHH_ escapes undecoded (a literal "_x000D_" is stored "_x005F_x000D_")
        value = decode_escapes(cell.value) if isinstance(cell.value, str) else cell.value
        return as_date(value), as_date(grid[row - 1][index])

    first = rows["first"]
    assert both(first, "name") == (NAME, NAME)
    assert both(first, "created_at") == (dt.date(1999, 12, 31),) * 2
    assert sheet[f"{columns['created_at']}{first}"].is_date
    assert both(first + 1, "amount") == (-1234.5, -1234.5)
    assert sheet[f"{columns['name']}{first + 2}"].fill.fgColor.rgb.endswith("FFC7CE")
    assert sheet[f"{columns['amount']}{first + 3}"].number_format == "0.00"
    note = sheet[f"{table.letter('phone')}{first + 4}"].comment
    assert note is not None and decode_escapes(note.text) == NOTE and note.author == "sheetcrm"
    for offset, row in enumerate(APPENDED):
        number = rows["appended"] + offset
        for field, value in row.items():
            assert both(number, field) == (value, value), (number, field)
        assert sheet[f"{columns['created_at']}{number}"].is_date
    assert table.value(rows["appended"], "customer_id") == "009999"  # text stays text

    # the column format, on the <col> and on the text cells; the validations beside the file's own
    phone = table.letter("phone")
    assert sheet.column_dimensions[phone].number_format == "@"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        old_sheet = openpyxl.load_workbook(source)["Customers"]
    phone_index = openpyxl.utils.column_index_from_string(phone)
    for row in range(first, rows["appended"]):
        if (row, phone_index) not in old_sheet._cells:  # no cell: the column's format applies
            continue
        old_cell, cell = old_sheet[f"{phone}{row}"], sheet[f"{phone}{row}"]
        text = old_cell.data_type == "s" or old_cell.value is None
        wanted = "@" if old_cell.number_format == "General" and text else old_cell.number_format
        assert cell.number_format == wanted, f"{phone}{row}"
    old_validations = [(str(v.sqref), v.type, v.formula1) for v in old_sheet.data_validations.dataValidation]
    new_validations = [(str(v.sqref), v.type, v.formula1) for v in sheet.data_validations.dataValidation]
    assert new_validations == [
        *old_validations,
        (dropdown_range(table, first), "list", '"Alpha,Beta & <Gamma>"'),
        (rule_range(table, first), "textLength", "20"),
    ]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_opens_every_result(results: dict[str, tuple[Path, dict[str, int]]], tmp_path: Path) -> None:
    done = convert_to_xlsx([path for path, _ in results.values()], tmp_path / "out", profile=tmp_path / "profile")
    assert done.returncode == 0, done.stderr
    for name, (_, rows) in results.items():
        converted = tmp_path / "out" / (Path(name).stem + ".xlsx")
        assert converted.is_file(), f"LibreOffice could not open {name}: {done.stdout} {done.stderr}"
        table = open_customers(converted, name)
        assert table.value(rows["first"], "name") == NAME, name
        assert table.value(rows["first"], "created_at") == "1999-12-31", name
        assert table.value(rows["appended"], "customer_id") == "009999", name
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            note = openpyxl.load_workbook(converted)["Customers"][f"{table.letter('phone')}{rows['first'] + 4}"].comment
        assert note is not None and NOTE in note.text, name

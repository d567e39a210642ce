"""Reading typed cells as the text a person sees, on sheets long enough for the column-wise path.

The xlsx reader converts a column below its first rows in one pyarrow call when it holds one
type (plus text): these tests pin that path to the same text as the value-by-value one.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest

import sheetcrm
from sheetcrm.sync.values import to_text

ROWS = 60  # well past the head the reader converts value by value

FLOATS = [274.65999999999997, 0.30000000000000004, 1e20, 1.5e-7, 123456789012345678.0, -0.0, 12.0, 0.0001, 3.25]


def _column(values: list[object]) -> list[object]:
    return [values[i % len(values)] for i in range(ROWS)]


COLUMNS: dict[str, list[object]] = {
    "floats": _column(FLOATS),
    "floats_blank": _column([*FLOATS, None]),
    "dates": _column([dt.date(2024, 2, 29), dt.date(1999, 12, 31), dt.date(2030, 1, 1)]),
    "dates_text": _column([dt.date(2024, 3, 5), None, "2024/3/5", "unknown"]),
    "datetimes": _column([dt.datetime(2024, 3, 5, 13, 45), dt.datetime(2024, 3, 5)]),
    "ints": _column([12, -3, 0]),
    "text": _column(["00123", "NA", " spaced ", "+86 138 0013 8000"]),
    "bools": _column([True, False, None]),
    "mixed": _column([1.5, "x", dt.date(2024, 1, 1), True, None, 7]),
}

EXPECTED_FLOATS = ["274.66", "0.3", "1E+20", "1.5E-7", "1.23456789012346E+17", "0", "12", "0.0001", "3.25"]


@pytest.fixture
def typed_workbook(tmp_path: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Typed"
    sheet.append(list(COLUMNS))
    for i in range(ROWS):
        sheet.append([values[i] for values in COLUMNS.values()])
    path = tmp_path / "typed.xlsx"
    book.save(path)
    return path


def test_typed_columns_read_as_the_text_a_person_sees(typed_workbook: Path) -> None:
    table = sheetcrm.open_workbook(typed_workbook)["Typed"]
    assert len(table) == ROWS
    assert table.frame["floats"].tolist() == [EXPECTED_FLOATS[i % len(FLOATS)] for i in range(ROWS)]
    assert set(table.frame["floats_blank"]) == {*EXPECTED_FLOATS, ""}
    assert set(table.frame["dates"]) == {"2024-02-29", "1999-12-31", "2030-01-01"}
    assert table.frame["dates_text"].tolist()[:4] == ["2024-03-05", "", "2024/3/5", "unknown"]
    assert set(table.frame["datetimes"]) == {"2024-03-05T13:45:00", "2024-03-05"}
    assert set(table.frame["ints"]) == {"12", "-3", "0"}
    assert table.frame["text"].tolist()[:4] == ["00123", "NA", " spaced ", "+86 138 0013 8000"]
    assert set(table.frame["bools"]) == {"TRUE", "FALSE", ""}
    assert table.frame["mixed"].tolist()[:6] == ["1.5", "x", "2024-01-01", "TRUE", "", "7"]


def test_every_row_matches_the_value_by_value_conversion(typed_workbook: Path) -> None:
    table = sheetcrm.open_workbook(typed_workbook)["Typed"]
    check = openpyxl.load_workbook(typed_workbook)["Typed"]
    for row in range(2, ROWS + 2):
        for j, name in enumerate(COLUMNS, start=1):
            value = check.cell(row, j).value
            if isinstance(value, dt.datetime) and name != "datetimes":
                value = value.date()  # openpyxl gives datetimes for date cells; calamine gives dates
            assert table.value(row, name) == to_text(value), (row, name)


def test_a_header_far_below_the_top_is_found(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Late"
    sheet["C100"] = "customer_id"  # past the rows the header search looks at one by one
    sheet["D100"] = "name"
    sheet["C101"], sheet["D101"] = "C-000001", "Zhang Wei"
    book.save(tmp_path / "late.xlsx")
    table = sheetcrm.open_workbook(tmp_path / "late.xlsx")["Late"]
    assert table.header_row == 100 and table.columns == ["customer_id", "name"]
    assert table.value(101, "name") == "Zhang Wei" and table.cell(101, "name") == "D101"

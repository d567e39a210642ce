"""A1 notation: column letters, cell addresses and sheet-qualified references."""

from __future__ import annotations

import re

MAX_ROWS = 1_048_576
MAX_CELL_TEXT = 32_767  # characters in one cell
MAX_COLUMNS = 16_384

_CELL = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")
_NEEDS_QUOTES = re.compile(r"[^A-Za-z0-9_.]")


def column_letter(index: int) -> str:
    """Return the letters of a 1-based column index: ``column_letter(28) == "AB"``."""
    if not 1 <= index <= MAX_COLUMNS:
        raise ValueError(f"column index {index} is outside 1..{MAX_COLUMNS}")
    letters = ""
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def column_index(letters: str) -> int:
    """Return the 1-based index of column letters: ``column_index("AB") == 28``."""
    index = 0
    for char in letters.upper():
        if not "A" <= char <= "Z":
            raise ValueError(f"{letters!r} is not a column name")
        index = index * 26 + ord(char) - 64
    if not 1 <= index <= MAX_COLUMNS:
        raise ValueError(f"{letters!r} is not a column name")
    return index


def cell_address(column: str | int, row: int) -> str:
    """``cell_address("E", 14) == cell_address(5, 14) == "E14"``."""
    letters = column_letter(column) if isinstance(column, int) else column.upper()
    return f"{letters}{row}"


def split_address(address: str) -> tuple[str, int]:
    """``split_address("E14") == ("E", 14)``; raises ValueError on anything else."""
    match = _CELL.match(address)
    if not match:
        raise ValueError(f"{address!r} is not a cell address like E14")
    return match.group(1).upper(), int(match.group(2))


def quote_sheet(sheet: str) -> str:
    """Quote a sheet name for use in a reference, the way Excel does."""
    if _NEEDS_QUOTES.search(sheet) or sheet[:1].isdigit():
        return "'" + sheet.replace("'", "''") + "'"
    return sheet


def qualified(sheet: str, address: str) -> str:
    """``qualified("Customers", "E14") == "Customers!E14"``."""
    return f"{quote_sheet(sheet)}!{address}"

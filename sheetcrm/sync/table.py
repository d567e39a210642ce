"""A sheet as read: its header row, its cells as text, and where each value lives."""

from __future__ import annotations

import functools
import hashlib
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sheetcrm.errors import HeaderError
from sheetcrm.sync.a1 import cell_address, column_letter, qualified


@dataclass
class RawSheet:
    """The cells of one sheet as text, as a backend read them, before a header is chosen.

    ``rows[i][j]`` is the cell at row ``first_row + i`` and column ``first_column + j``
    (both 1-based). Empty cells are ``""``. ``formulas`` holds the addresses (``"H2"``)
    of cells whose value is the cached result of a formula.

    A reader of big sheets may hand over the same cells column by column instead
    (``RawSheet.from_columns``): one pyarrow string array per column, all of one length,
    which become the Table's columns without a Python object per cell.
    """

    name: str
    rows: list[list[str]]
    first_row: int = 1
    first_column: int = 1
    formulas: frozenset[str] = frozenset()
    columns: list[pa.LargeStringArray] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_columns(
        cls,
        name: str,
        columns: list[pa.LargeStringArray],
        *,
        first_row: int = 1,
        first_column: int = 1,
        formulas: frozenset[str] = frozenset(),
    ) -> RawSheet:
        """A sheet given column by column; ``rows`` is then left empty."""
        if len({len(column) for column in columns}) > 1:
            raise ValueError("the columns of a sheet must all have the same length")
        return cls(name, [], first_row, first_column, formulas, columns)

    def column_major(self) -> list[pa.LargeStringArray]:
        """The cells as one string array per column (rows padded to the widest)."""
        if self.columns is not None:
            return self.columns
        width = max((len(row) for row in self.rows), default=0)
        padded = [row if len(row) == width else row + [""] * (width - len(row)) for row in self.rows]
        # transposing with zip(*rows) runs in C
        return [pa.array(column, pa.large_string()) for column in zip(*padded, strict=True)] if padded else []


@dataclass(frozen=True)
class Table:
    """One sheet read as a table of text.

    ``frame`` holds every value (pandas ``str`` dtype) as the text a person sees (``"00123"`` stays ``"00123"``),
    indexed by spreadsheet row number, with one column per header. ``letters`` maps each
    header to its column letter, so that any value can be traced to its cell::

        >>> table = workbook["Customers"]
        >>> table.address(14, "phone")
        'Customers!E14'
    """

    sheet: str
    header_row: int
    frame: pd.DataFrame
    letters: dict[str, str]
    formulas: frozenset[str] = field(default=frozenset())

    @functools.cached_property
    def fingerprint(self) -> str:
        """A hash of the headers, row numbers and values read (computed when first asked)."""
        return fingerprint(self.frame, self.header_row)

    @property
    def columns(self) -> list[str]:
        """The headers, in sheet order."""
        return list(self.letters)

    @property
    def rows(self) -> list[int]:
        """The spreadsheet row numbers of the data rows."""
        return [int(row) for row in self.frame.index]

    def __len__(self) -> int:
        return len(self.frame)

    def letter(self, column: str) -> str:
        """The column letter of a header; raises KeyError naming the known headers."""
        try:
            return self.letters[column]
        except KeyError:
            raise KeyError(f"{self.sheet!r} has no column {column!r} (columns: {', '.join(self.letters)})") from None

    def cell(self, row: int, column: str) -> str:
        """The A1 address of a value: ``table.cell(14, "phone") == "E14"``."""
        return cell_address(self.letter(column), row)

    def address(self, row: int, column: str) -> str:
        """The sheet-qualified address: ``"Customers!E14"``."""
        return qualified(self.sheet, self.cell(row, column))

    def value(self, row: int, column: str) -> str:
        """The text of one cell ("" when empty)."""
        return str(self.frame.at[row, column])

    def is_formula(self, row: int, column: str) -> bool:
        """Whether the cell holds a formula (sheetcrm never overwrites those)."""
        return self.cell(row, column) in self.formulas

    @property
    def next_row(self) -> int:
        """The row number an appended row would get."""
        return (max(self.rows) if len(self) else self.header_row) + 1


def build_table(raw: RawSheet, *, header_row: int | None = None, source: str = "") -> Table:
    """Choose the header row of a raw sheet and make a Table of the rows below it.

    The header is the first non-empty row unless ``header_row`` says otherwise. Fully
    empty rows are left out of the frame (their numbers are simply absent from the index).
    """
    where = f"{source}: sheet {raw.name!r}" if source else f"sheet {raw.name!r}"
    columns = raw.column_major()
    offset = _header_offset(raw.first_row, columns, header_row, where)
    if offset is None:
        return _empty_table(raw, header_row or 1)
    header_number = raw.first_row + offset
    # every step below is a vectorised pyarrow call: a 1M-row sheet is 14M cells
    body = [column.slice(offset + 1) for column in columns]
    filled = [pc.not_equal(column, "") for column in body]

    names: list[str] = []
    positions: list[int] = []
    for j, column in enumerate(columns):
        text = str(column[offset].as_py()).strip()
        letter = column_letter(raw.first_column + j)
        if not text:
            if not pc.any(filled[j]).as_py():
                continue  # an unused column: no header, no data
            text = f"(column {letter})"
        names.append(text)
        positions.append(j)

    duplicates = [name for name, count in Counter(names).items() if count > 1]
    if duplicates:
        cells = [
            qualified(raw.name, cell_address(raw.first_column + j, header_number))
            for name, j in zip(names, positions, strict=True)
            if name in duplicates
        ]
        raise HeaderError(
            f"{where}: the header row {header_number} repeats {', '.join(map(repr, duplicates))} ({', '.join(cells)})",
            hint="give each column a distinct header, or set header_row in the config if the header is elsewhere",
        )

    kept = functools.reduce(pc.or_, filled)
    index = np.flatnonzero(kept.to_numpy(zero_copy_only=False)) + header_number + 1
    frame = pd.DataFrame(
        {name: pc.filter(body[j], kept) for name, j in zip(names, positions, strict=True)},
        index=pd.Index(index, dtype="int64", name="row"),
        columns=names,
        dtype="str",  # pandas' own string dtype; no value is ever missing, empty cells are ""
    )
    letters = {name: column_letter(raw.first_column + j) for name, j in zip(names, positions, strict=True)}
    return Table(sheet=raw.name, header_row=header_number, frame=frame, letters=letters, formulas=raw.formulas)


def fingerprint(frame: pd.DataFrame, header_row: int) -> str:
    """A hash of the headers, the row numbers and every value: equal iff nothing changed."""
    digest = hashlib.sha256(f"{header_row}\x1f".encode())
    digest.update("\x1f".join(map(str, frame.columns)).encode())
    digest.update(frame.index.to_numpy().tobytes())
    if len(frame.columns):
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:32]


def _header_offset(
    first_row: int, columns: list[pa.LargeStringArray], header_row: int | None, where: str
) -> int | None:
    height = len(columns[0]) if columns else 0
    if header_row is not None:
        offset = header_row - first_row
        if offset < 0 or offset >= height or not any(column[offset].as_py() for column in columns):
            raise HeaderError(
                f"{where}: the configured header row {header_row} is empty",
                hint="set header_row to the row that holds the column names, or remove it to use the first non-empty row",
            )
        return offset
    for offset in range(min(height, 64)):  # the header is nearly always within the first rows
        if any(str(column[offset].as_py()).strip() for column in columns):
            return offset
    if height <= 64:
        return None
    blank = [pc.equal(pc.utf8_trim_whitespace(column), "") for column in columns]
    position = pc.index(functools.reduce(pc.and_, blank), False).as_py()
    return None if position < 0 else int(position)


def _empty_table(raw: RawSheet, header_row: int) -> Table:
    frame = pd.DataFrame(index=pd.Index([], dtype="int64", name="row"))
    return Table(raw.name, header_row, frame, {}, raw.formulas)

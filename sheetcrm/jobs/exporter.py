"""Export a selection of a CRM table (a segment, a region, an owner's book) to CSV or .xlsx.

The workbook is only read. ``where`` is a small filter language, parsed here and never
evaluated as code: ``field=value``, ``field!=value`` and ``field~text`` (contains), joined
by ``,`` meaning AND; values compare ignoring case and surrounding spaces::

    >>> export_table(workbook, where="tier=VIP,region=East China", columns=["name", "phone"],
    ...              mask_pii=True, out=Path("vip-east.csv"))
    ExportResult(path=PosixPath('vip-east.csv'), rows=12, ...)

CSV is written UTF-8 with a BOM (so Excel reads 客户名称 right) with the formula-injection
guard; .xlsx with every value a literal (text is never a formula), phone and id columns
text-formatted so ``00123`` and ``+86…`` survive, and a frozen bold header.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from copy import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sheetcrm.config import Config, load_config
from sheetcrm.errors import InputError, SheetNotFound
from sheetcrm.schema.custom import build_schemas
from sheetcrm.schema.fields import Field, FieldType, display_width
from sheetcrm.schema.tables import TableSchema, normalize_header
from sheetcrm.sync.a1 import column_letter
from sheetcrm.sync.csvfile import write_csv
from sheetcrm.sync.safewrite import replace_atomically
from sheetcrm.sync.table import Table
from sheetcrm.sync.workbook import Workbook

__all__ = ["Condition", "ExportResult", "export_table", "mask_email", "mask_phone", "parse_where"]

_OPERATORS = ("!=", "=", "~")
_MASKED_TYPES = frozenset({FieldType.phone, FieldType.email})
_NUMBER = re.compile(r"[+-]?(?:0|[1-9][0-9]{0,14})(?:\.[0-9]+)?")  # no leading zeros: 00123 stays text
# Country calling codes are prefix-free: 1 and 7 are the one-digit codes, these the two-digit
# ones; every other code has three digits (ITU-T E.164 assignments).
# fmt: off
_TWO_DIGIT_CODES = frozenset(str(code) for code in (
    20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54, 55, 56, 57, 58,
    60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98,
))
# fmt: on


@dataclass(frozen=True)
class Condition:
    """One clause of ``where``: ``tier=VIP`` is ``Condition("tier", "=", "VIP")``."""

    field: str
    operator: str  # "=", "!=" or "~"
    value: str


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote: the file, how many rows, which columns, and which were masked."""

    path: Path
    table: str
    sheet: str
    rows: int
    columns: list[str]
    masked: list[str] = field(default_factory=list)

    @property
    def format(self) -> str:
        return self.path.suffix.lower().lstrip(".")

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "format": self.format,
            "table": self.table,
            "sheet": self.sheet,
            "rows": self.rows,
            "columns": list(self.columns),
            "masked": list(self.masked),
        }

    def summary(self) -> str:
        """``wrote 12 rows × 3 columns of Customers to vip.csv (masked: phone, email)``"""
        masked = f" (masked: {', '.join(self.masked)})" if self.masked else ""
        rows = f"{self.rows} row{'s' if self.rows != 1 else ''}"
        return f"wrote {rows} × {len(self.columns)} columns of {self.sheet} to {self.path}{masked}"


# --------------------------------------------------------------------------- where


def parse_where(where: str) -> list[Condition]:
    """Read a ``where`` text into conditions; ``\\,`` is a comma inside a value.

    >>> parse_where("tier=VIP, owner!=, name~zhang")
    [Condition('tier', '=', 'VIP'), Condition('owner', '!=', ''), Condition('name', '~', 'zhang')]
    """
    conditions: list[Condition] = []
    for clause in re.split(r"(?<!\\),", where):
        clause = clause.replace("\\,", ",").strip()
        if not clause:
            continue
        found = [(clause.find(op), op) for op in _OPERATORS if op in clause]
        if not found:
            raise InputError(
                f"cannot read {clause!r} in --where",
                hint='write field=value, field!=value or field~text, joined by commas: "tier=VIP,region=East China"',
            )
        # the leftmost operator; at one position "!=" beats "=" (it is listed first)
        position, operator = min(found, key=lambda item: item[0])
        name = clause[:position].strip()
        if not name:
            raise InputError(f"{clause!r} in --where names no field", hint="write field=value")
        conditions.append(Condition(name, operator, clause[position + len(operator) :].strip()))
    return conditions


def _matches(text: pd.Series, condition: Condition) -> pd.Series:
    """Where a column meets a condition: whole values for = and != , a substring for ~, ignoring case."""
    values = text.astype("str").str.strip().str.casefold()
    wanted = condition.value.casefold()
    if condition.operator == "~":
        return values.str.contains(wanted, regex=False)  # regex=False: the value is data, not a pattern
    equal = values == wanted
    return ~equal if condition.operator == "!=" else equal


# --------------------------------------------------------------------------- masking


def mask_phone(text: str) -> str:
    """Keep the country code and the last four digits: ``"+86 138 0013 8000"`` → ``"+86 ****** 8000"``.

    A number without ``+`` keeps only its last four: ``"(415) 555-0134"`` → ``"****** 0134"``.
    """
    digits = re.sub(r"[^0-9]", "", text)
    if not digits:
        return "******" if text.strip() else text
    tail = digits[-4:] if len(digits) > 4 else ""
    masked = f"****** {tail}".rstrip()
    if not text.lstrip().startswith("+") or len(digits) <= 4:
        return masked
    return f"+{_country_code(digits)} {masked}"


def _country_code(digits: str) -> str:
    if digits[0] in "17":
        return digits[0]
    return digits[:2] if digits[:2] in _TWO_DIGIT_CODES else digits[:3]


def mask_email(text: str) -> str:
    """Keep the first character and the domain: ``"zhang.wei@example.cn"`` → ``"z***@example.cn"``."""
    local, at, domain = text.strip().rpartition("@")
    if not at or not local:
        return "***" if text.strip() else text
    return f"{local[0]}***@{domain}"


def _masker(item: Field | None) -> Callable[[str], str] | None:
    if item is None or item.type not in _MASKED_TYPES:
        return None
    return mask_phone if item.type is FieldType.phone else mask_email


# --------------------------------------------------------------------------- export


def export_table(
    workbook: Workbook,
    *,
    table: str = "customers",
    where: str | None = None,
    columns: Sequence[str] | None = None,
    mask_pii: bool = False,
    out: Path,
    config: Config | None = None,
    schemas: Mapping[str, TableSchema] | None = None,
) -> ExportResult:
    """Write the rows of ``table`` that meet ``where`` to ``out`` (``.csv`` or ``.xlsx``).

    ``columns`` are field names or sheet headers, written in the order given (default: every
    column of the sheet). ``mask_pii`` masks every phone and email field. The workbook is
    never written; an unknown field raises InputError naming it::

        >>> export_table(workbook, where="owner=Li Na", out=Path("li-na.xlsx")).rows
        57
    """
    chosen = dict(schemas) if schemas is not None else build_schemas(config if config is not None else load_config())
    if table not in chosen:
        raise InputError(f"unknown table {table!r}", hint=f"choose from {', '.join(chosen)}")
    schema = chosen[table]
    target = Path(out)
    _check_out(target, workbook)
    if schema.sheet not in workbook.sheet_names:
        raise SheetNotFound(workbook.source, schema.sheet, workbook.sheet_names)
    sheet = workbook[schema.sheet]
    conditions = parse_where(where) if where else []
    resolve = _Resolver(schema, sheet)
    headers = resolve.all("--columns", columns) if columns else sheet.columns
    where_headers = resolve.all("--where", [c.field for c in conditions])

    keep = pd.Series(True, index=sheet.frame.index)
    for condition, header in zip(conditions, where_headers, strict=True):
        keep &= _matches(sheet.frame[header], condition)
    selected = sheet.frame.loc[keep.to_numpy(dtype=bool), list(headers)]

    fields = [resolve.field(header) for header in headers]
    masked: list[str] = []
    data: list[list[str]] = []
    if len(selected):
        columns_text: list[list[str]] = []
        for header, item in zip(headers, fields, strict=True):
            values = selected[header].astype("str").tolist()
            mask = _masker(item) if mask_pii else None
            if mask is not None:
                values = [mask(value) if value else value for value in values]
            columns_text.append(values)
        data = [list(row) for row in zip(*columns_text, strict=True)]
    if mask_pii:
        masked = [header for header, item in zip(headers, fields, strict=True) if _masker(item) is not None]

    if target.suffix.lower() == ".csv":
        write_csv(target, [list(headers), *data])
    else:
        _write_xlsx(target, schema.sheet, list(headers), fields, data)
    return ExportResult(target, schema.key, schema.sheet, len(data), list(headers), masked)


def _check_out(target: Path, workbook: Workbook) -> None:
    if target.suffix.lower() not in (".csv", ".xlsx"):
        raise InputError(f"{target}: export writes .csv or .xlsx files", hint="name the file ….csv or ….xlsx")
    if target.resolve() == Path(workbook.source).resolve():
        raise InputError(
            f"{target} is the workbook itself; an export never writes the workbook", hint="name a new file"
        )
    if not target.parent.is_dir():
        raise InputError(f"{target.parent}: no such folder")


class _Resolver:
    """Names given on the command line → the sheet's headers: a field, a header or an alias."""

    def __init__(self, schema: TableSchema, table: Table) -> None:
        self.schema = schema
        self.table = table
        self.by_field = schema.match_headers(table.columns).headers  # field -> header

    def header(self, name: str) -> str | None:
        if name in self.schema and name in self.by_field:
            return self.by_field[name]
        if name in self.table.columns:
            return name
        meant = self.schema.field_for_header(name)
        if meant is not None and meant in self.by_field:
            return self.by_field[meant]
        loose = [h for h in self.table.columns if normalize_header(h) == normalize_header(name)]
        return loose[0] if len(loose) == 1 else None

    def all(self, option: str, names: Sequence[str]) -> list[str]:
        """The header of each name, or InputError naming every unknown one at once."""
        found = [self.header(name) for name in names]
        unknown = [name for name, header in zip(names, found, strict=True) if header is None]
        if unknown:
            known = list(dict.fromkeys([*self.by_field, *self.table.columns]))
            absent = [name for name in unknown if name in self.schema]
            close = [m for name in unknown for m in difflib.get_close_matches(name, known, n=1)]
            what = "field" if len(unknown) == 1 else "fields"
            message = f"{option}: unknown {what} {', '.join(map(repr, unknown))} in sheet {self.table.sheet!r}"
            if absent:
                message += f" ({', '.join(absent)}: no such column in the sheet)"
            hint = (f"did you mean {', '.join(map(repr, close))}? " if close else "") + f"fields: {', '.join(known)}"
            raise InputError(message, hint=hint)
        return [header for header in found if header is not None]

    def field(self, header: str) -> Field | None:
        meant = next((name for name, h in self.by_field.items() if h == header), None)
        return self.schema.field(meant) if meant is not None else None


def _write_xlsx(
    path: Path, sheet_name: str, headers: list[str], fields: list[Field | None], rows: list[list[str]]
) -> None:
    """Write one sheet with openpyxl, atomically: literals only, text-formatted text columns."""
    from openpyxl import Workbook as OpenpyxlWorkbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils.exceptions import IllegalCharacterError

    numeric = [
        item is not None and item.type in (FieldType.integer, FieldType.decimal, FieldType.money) for item in fields
    ]
    # text columns keep "@" (00123, +86…); number columns their format; a date stays ISO text
    formats = [
        item.number_format if item is not None and (item.number_format == "@" or is_number) else "General"
        for item, is_number in zip(fields, numeric, strict=True)
    ]

    def write(temp: Path) -> None:
        book = OpenpyxlWorkbook(write_only=True)  # streams rows: an export may be the whole sheet
        sheet = book.create_sheet(sheet_name[:31])
        for j, (header, item) in enumerate(zip(headers, fields, strict=True), start=1):
            width = item.width if item is not None else min(60, max(12, display_width(header) + 4))
            sheet.column_dimensions[column_letter(j)].width = width
        sheet.freeze_panes = "A2"
        bold = Font(bold=True)
        heading = []
        for header in headers:
            cell = WriteOnlyCell(sheet, value=header)
            cell.data_type = "s"
            cell.font = bold
            heading.append(cell)
        sheet.append(heading)
        make = [_cell_maker(sheet, is_number, fmt) for is_number, fmt in zip(numeric, formats, strict=True)]
        for number, row in enumerate(rows, start=2):
            try:
                sheet.append([make[j](text) for j, text in enumerate(row)])
            except IllegalCharacterError:
                raise InputError(
                    f"{path}: row {number} holds control characters Excel cannot store",
                    hint="export to .csv instead, or clean those cells",
                ) from None
        book.save(temp)

    replace_atomically(path, write)


def _cell_maker(sheet: Any, numeric: bool, number_format: str) -> Callable[[str], Any]:
    """How one column's text becomes what ``sheet.append`` takes: a literal, never a formula.

    Without lxml openpyxl writes some 30k cells a second, nearly all of it in its XML
    writer; styles are the part this code controls: one per column, copied, never rebuilt.
    """
    from openpyxl.cell import WriteOnlyCell

    template = WriteOnlyCell(sheet)
    template.number_format = number_format
    style = template._style  # type: ignore[attr-defined]  # one style, copied: far faster than setting it per cell
    styled = number_format != "General"

    def make(text: str) -> Any:
        if not text:
            return None
        value: str | int | float = text
        if numeric and _NUMBER.fullmatch(text):
            value = float(text) if "." in text else int(text)
        elif not styled and not text.startswith("="):
            return text
        cell = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str):
            cell.data_type = "s"  # openpyxl would store "=..." as a live formula
        if styled:
            cell._style = copy(style)  # type: ignore[attr-defined]
        return cell

    return make

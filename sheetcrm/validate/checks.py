"""Vectorised checks of one column of text against its field: masks first, findings only for bad cells.

A 1M-row column is checked with pandas string methods and regexes over the whole column;
Python code runs only for the cells that fail, to build their findings.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from sheetcrm.schema.fields import Field, FieldType, fold
from sheetcrm.validate.findings import Code, Finding

_DATE = r"^\d{4}-\d{2}-\d{2}$"
_DATETIME = r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
_INTEGER = r"^[+-]?\d+$"
_NUMBER = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$"
_EMAIL = r"^[^@\s,;<>()\[\]]+@[^@\s,;<>()\[\]]+\.[^@\s,;<>()\[\].]{2,}$"
_URL = r"^https?://[^\s/$.?#][^\s]*$"
_PHONE_CHARS = r"^\+?[\d\s().\-]+$"
_BOOLEANS = {"true", "false", "yes", "no", "y", "n", "1", "0", "是", "否"}


def check_column(sheet: str, letter: str, field: Field, values: pd.Series) -> Iterator[Finding]:
    """Findings for one column: ``values`` is the Table's text column indexed by row number."""
    text = values.astype("str")
    empty = text.str.strip() == ""
    if field.required:
        for row in text.index[empty]:
            yield _finding(sheet, letter, field, int(row), "", Code.MISSING_VALUE, f"{field.name} is required")
    filled = text[~empty]
    if filled.empty:
        return
    yield from _check_type(sheet, letter, field, filled)
    if field.pattern and field.type is not FieldType.id:
        yield from _check_pattern(sheet, letter, field, filled, Code.BAD_PATTERN)
    if field.unique:
        yield from _check_unique(sheet, letter, field, filled)


def _check_type(sheet: str, letter: str, field: Field, filled: pd.Series) -> Iterator[Finding]:
    kind = field.type
    if kind is FieldType.date:
        parsed = pd.to_datetime(filled.where(filled.str.match(_DATE)), format="%Y-%m-%d", errors="coerce")
        for row in filled.index[parsed.isna()]:
            yield _bad(sheet, letter, field, filled, row, Code.BAD_DATE, "is not a date written YYYY-MM-DD")
    elif kind is FieldType.datetime:
        parsed = pd.to_datetime(filled.where(filled.str.match(_DATETIME)), format="ISO8601", errors="coerce")
        for row in filled.index[parsed.isna()]:
            yield _bad(
                sheet, letter, field, filled, row, Code.BAD_DATETIME, "is not a date and time (YYYY-MM-DD HH:MM)"
            )
    elif kind in (FieldType.integer, FieldType.decimal, FieldType.money):
        pattern, code = (_INTEGER, Code.BAD_INTEGER) if kind is FieldType.integer else (_NUMBER, Code.BAD_NUMBER)
        ok = filled.str.strip().str.match(pattern)
        for row in filled.index[~ok]:
            yield _bad(
                sheet,
                letter,
                field,
                filled,
                row,
                code,
                f"is not {'a whole number' if code is Code.BAD_INTEGER else 'a number'}",
            )
        yield from _check_range(sheet, letter, field, filled[ok])
    elif kind is FieldType.boolean:
        ok = filled.str.strip().str.casefold().isin(_BOOLEANS)
        for row in filled.index[~ok]:
            yield _bad(sheet, letter, field, filled, row, Code.BAD_BOOLEAN, "is not yes/no or TRUE/FALSE")
    elif kind is FieldType.email:
        for row in filled.index[~filled.str.strip().str.match(_EMAIL)]:
            yield _bad(sheet, letter, field, filled, row, Code.BAD_EMAIL, "is not an email address")
    elif kind is FieldType.url:
        for row in filled.index[~filled.str.strip().str.match(_URL)]:
            yield _bad(sheet, letter, field, filled, row, Code.BAD_URL, "is not a web address (http:// or https://)")
    elif kind is FieldType.phone:
        digits = filled.str.count(r"\d")
        ok = filled.str.strip().str.match(_PHONE_CHARS) & digits.between(7, 15)
        for row in filled.index[~ok]:
            yield _bad(sheet, letter, field, filled, row, Code.BAD_PHONE, "is not a phone number (7 to 15 digits)")
    elif kind is FieldType.enum:
        yield from _check_choices(sheet, letter, field, filled, filled)
    elif kind is FieldType.tags and field.choices:
        items = filled.str.split(",").explode().str.strip()
        yield from _check_choices(sheet, letter, field, items[items != ""], filled)
    elif kind is FieldType.id and field.pattern:
        yield from _check_pattern(sheet, letter, field, filled, Code.BAD_PATTERN)


def _check_range(sheet: str, letter: str, field: Field, numbers: pd.Series) -> Iterator[Finding]:
    if field.minimum is None and field.maximum is None:
        return
    parsed = pd.to_numeric(numbers.str.strip(), errors="coerce")
    low = parsed < field.minimum if field.minimum is not None else False
    high = parsed > field.maximum if field.maximum is not None else False
    bounds = (
        f"between {field.minimum:g} and {field.maximum:g}"
        if field.minimum is not None and field.maximum is not None
        else (f"at least {field.minimum:g}" if field.minimum is not None else f"at most {field.maximum:g}")
    )
    for row in numbers.index[low | high]:
        yield _bad(sheet, letter, field, numbers, row, Code.OUT_OF_RANGE, f"is outside the allowed range ({bounds})")


def _check_choices(sheet: str, letter: str, field: Field, items: pd.Series, cells: pd.Series) -> Iterator[Finding]:
    bad = items[~items.isin(field.choices)]
    if bad.empty:
        return
    canonical = {fold(choice): choice for choice in field.choices}
    canonical.update({fold(synonym): choice for synonym, choice in field.synonyms.items()})
    shown = ", ".join(field.choices)
    for row in dict.fromkeys(bad.index):
        value = cells[row]
        wrong = [item for item in _as_list(bad[row])]
        fixes = [canonical.get(fold(item)) for item in wrong]
        if all(fixes):
            fixed = value
            for item, replacement in zip(wrong, fixes, strict=True):
                fixed = fixed.replace(item, replacement or item)
            yield _finding(
                sheet,
                letter,
                field,
                int(row),
                value,
                Code.NOT_IN_CHOICES,
                f"{value!r} is not one of: {shown}",
                fix=fixed.strip(),
            )
        else:
            yield _finding(
                sheet, letter, field, int(row), value, Code.NOT_IN_CHOICES, f"{value!r} is not one of: {shown}"
            )


def _check_pattern(sheet: str, letter: str, field: Field, filled: pd.Series, code: Code) -> Iterator[Finding]:
    ok = filled.str.fullmatch(field.pattern or "")
    for row in filled.index[~ok]:
        yield _bad(sheet, letter, field, filled, row, code, f"does not match the pattern {field.pattern}")


def _check_unique(sheet: str, letter: str, field: Field, filled: pd.Series) -> Iterator[Finding]:
    keys = filled.str.strip()
    repeated = keys[keys.duplicated(keep=False)]
    if repeated.empty:
        return
    code = Code.DUPLICATE_ID if field.type is FieldType.id else Code.DUPLICATE_VALUE
    rows_by_value: dict[str, list[int]] = {}
    for row, value in zip(repeated.index.tolist(), repeated.tolist(), strict=True):
        rows_by_value.setdefault(value, []).append(int(row))
    for value, rows in rows_by_value.items():
        for row in rows:
            others = ", ".join(str(r) for r in rows if r != row)
            yield _finding(sheet, letter, field, row, filled[row], code, f"{value!r} is also in row {others}")


def check_references(
    sheet: str, letter: str, field: Field, values: pd.Series, known: set[str], target: str
) -> Iterator[Finding]:
    """Values that are not among the ``known`` ids of the referenced table."""
    text = values.astype("str").str.strip()
    filled = text[text != ""]
    for row in filled.index[~filled.isin(known)]:
        yield _finding(
            sheet,
            letter,
            field,
            int(row),
            values[row],
            Code.UNKNOWN_REFERENCE,
            f"{values[row]!r} is not a known {target}",
        )


def _as_list(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, pd.Series) else [str(value)]


def _bad(sheet: str, letter: str, field: Field, values: pd.Series, row: int, code: Code, why: str) -> Finding:
    value = str(values.at[row])
    return _finding(sheet, letter, field, int(row), value, code, f"{value!r} {why}")


def _finding(
    sheet: str, letter: str, field: Field, row: int, value: str, code: Code, message: str, *, fix: str | None = None
) -> Finding:
    return Finding(
        sheet=sheet,
        code=code,
        message=message,
        row=row,
        column=field.name,
        cell=f"{letter}{row}",
        value=value,
        fix=fix,
    )

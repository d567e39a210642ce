"""Turning the cells a field's checks fail into findings, with the fix where it is certain.

The checks themselves (:func:`sheetcrm.schema.checks.field_checks`) run on whole columns,
once per distinct value; Python code runs only for failing cells, to describe them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping

import pandas as pd

from sheetcrm.schema.checks import CheckCode, field_checks
from sheetcrm.schema.fields import Field, FieldType
from sheetcrm.validate.findings import Code, Finding


def check_column(
    sheet: str,
    letter: str,
    field: Field,
    values: pd.Series,
    *,
    is_id: bool = False,
    references: Mapping[str, Collection[str]] | None = None,
) -> Iterator[Finding]:
    """Findings for one column: ``values`` is a Table's text column, indexed by row number."""
    text = values.astype("str")
    for check in field_checks(field, is_id=is_id, references=references or {}):
        passed = check.passes(text)
        failing = text[~passed.to_numpy(dtype=bool)]
        if failing.empty:
            continue
        if check.code in (CheckCode.duplicate_id, CheckCode.duplicate_value):
            yield from _duplicates(sheet, letter, field, failing, Code(str(check.code)))
            continue
        for row, value in zip(failing.index.tolist(), failing.tolist(), strict=True):
            yield _finding(sheet, letter, field, int(row), value, Code(str(check.code)), check.description)


def _duplicates(sheet: str, letter: str, field: Field, failing: pd.Series, code: Code) -> Iterator[Finding]:
    rows_by_value: dict[str, list[int]] = {}
    for row, value in zip(failing.index.tolist(), failing.tolist(), strict=True):
        rows_by_value.setdefault(value.strip(), []).append(int(row))
    for row, value in zip(failing.index.tolist(), failing.tolist(), strict=True):
        others = ", ".join(str(r) for r in rows_by_value[value.strip()] if r != row)
        yield Finding(
            sheet=sheet,
            code=code,
            message=f"{value!r} is also in row {others}",
            row=int(row),
            column=field.name,
            cell=f"{letter}{row}",
            value=value,
        )


def _finding(sheet: str, letter: str, field: Field, row: int, value: str, code: Code, rule: str) -> Finding:
    message = f"{field.name} is required" if code is Code.MISSING_VALUE else f"{value!r}: {field.name} {rule}"
    return Finding(
        sheet=sheet,
        code=code,
        message=message,
        row=row,
        column=field.name,
        cell=f"{letter}{row}",
        value=value,
        fix=_fix(field, value) if code is Code.NOT_IN_CHOICES else None,
    )


def _fix(field: Field, value: str) -> str | None:
    """The choice meant, when it is certain: another case or spacing, or a configured synonym."""
    if field.type is FieldType.tags:
        items = [item.strip() for item in value.split(",") if item.strip()]
        fixed = [item if item in field.choices else field.choice_for(item) for item in items]
        return ", ".join(f for f in fixed if f) if all(fixed) else None
    return field.choice_for(value)

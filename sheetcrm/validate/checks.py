"""Turning the cells a field's checks fail into findings, with the fix where it is certain.

The checks themselves (:func:`sheetcrm.schema.checks.field_checks`) run on whole columns,
once per distinct value; Python code runs only for failing cells, to describe them.

The fix of a value of the wrong form is what ``sheetcrm fix`` would write, read with the
same ``[fix]`` settings (:mod:`sheetcrm.validate.normalize`). A value only a setting or a
person can decide (``5/3/2024`` without ``day_first``) gets no fix, and its message says
why and what decides it. A phone that passes its check but is ambiguous the same way (a
US number without +1 in a CN workbook, which fix leaves alone) is a warning.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterator, Mapping

import pandas as pd

from sheetcrm.config import FixConfig
from sheetcrm.schema.checks import CheckCode, FieldCheck, field_checks
from sheetcrm.schema.fields import Field, FieldType
from sheetcrm.validate.findings import Code, Finding, Severity

# The checks of a field's type: a value failing one may just be written in another form,
# which the field's normaliser can rewrite.
_FORM_CHECKS = frozenset(
    {
        CheckCode.bad_date,
        CheckCode.bad_datetime,
        CheckCode.bad_integer,
        CheckCode.bad_number,
        CheckCode.bad_email,
        CheckCode.bad_phone,
        CheckCode.bad_url,
        CheckCode.bad_boolean,
    }
)


def check_column(
    sheet: str,
    letter: str,
    field: Field,
    values: pd.Series,
    *,
    is_id: bool = False,
    references: Mapping[str, Collection[str]] | None = None,
    settings: FixConfig | None = None,
) -> Iterator[Finding]:
    """Findings for one column: ``values`` is a Table's text column, indexed by row number.

    ``settings`` are the ``[fix]`` settings fixes are proposed with (default: the defaults).
    """
    text = values.astype("str")
    chosen = settings if settings is not None else FixConfig()
    for check in field_checks(field, is_id=is_id, references=references or {}):
        passed = check.passes(text).to_numpy(dtype=bool)
        if check.code is CheckCode.bad_phone:
            yield from _ambiguous_phones(sheet, letter, field, text[passed], chosen)
        failing = text[~passed]
        if failing.empty:
            continue
        code = Code(str(check.code))
        if check.code in (CheckCode.duplicate_id, CheckCode.duplicate_value):
            yield from _duplicates(sheet, letter, field, failing, code)
        elif check.code in _FORM_CHECKS:
            yield from _wrong_form(sheet, letter, field, failing, check, chosen)
        else:
            for row, value in zip(failing.index.tolist(), failing.tolist(), strict=True):
                yield _finding(sheet, letter, field, int(row), value, code, check.description)


def _normalized(values: pd.Series, field: Field, settings: FixConfig) -> tuple[pd.Series, Mapping[str, str]]:
    """What fix would write for ``values`` (the rows it changes) and why it leaves the ambiguous ones."""
    from sheetcrm.validate.normalize import normalize_column  # phonenumbers loads only when a value needs it

    result = normalize_column(
        values,
        field,
        phone_format=settings.phone_format,
        default_region=settings.default_region,
        day_first=settings.day_first,
    )
    return result.fixed, result.reasons


def _wrong_form(
    sheet: str, letter: str, field: Field, failing: pd.Series, check: FieldCheck, settings: FixConfig
) -> Iterator[Finding]:
    """Values failing their type's check: the fix is fix's rewrite when that passes the check."""
    fixed, reasons = _normalized(failing, field, settings)
    if not fixed.empty:
        fixed = fixed[check.passes(fixed).to_numpy(dtype=bool)]
    proposals = dict(zip(fixed.index.tolist(), fixed.tolist(), strict=True))
    code = Code(str(check.code))
    for row, value in zip(failing.index.tolist(), failing.tolist(), strict=True):
        reason = reasons.get(value)
        if reason is not None:
            yield _ambiguous(sheet, letter, field, int(row), value, code, reason)
        else:
            finding = _finding(sheet, letter, field, int(row), value, code, check.description)
            proposal = proposals.get(row)
            yield finding if proposal is None else dataclasses.replace(finding, fix=proposal)


def _ambiguous_phones(
    sheet: str, letter: str, field: Field, passing: pd.Series, settings: FixConfig
) -> Iterator[Finding]:
    """Warnings for phones of a valid form that fix leaves because their country is not certain."""
    # a number written with + (E.164, or international) always says its country
    unsure = passing[passing.notna() & ~passing.str.lstrip().str.startswith("+", na=True)]
    unsure = unsure[unsure.str.strip() != ""]
    if unsure.empty:
        return
    _, reasons = _normalized(unsure, field, settings)
    if not reasons:
        return
    for row, value in zip(unsure.index.tolist(), unsure.tolist(), strict=True):
        reason = reasons.get(value)
        if reason is not None:
            yield _ambiguous(sheet, letter, field, int(row), value, Code.BAD_PHONE, reason, Severity.WARNING)


def _ambiguous(
    sheet: str,
    letter: str,
    field: Field,
    row: int,
    value: str,
    code: Code,
    reason: str,
    severity: Severity = Severity.ERROR,
) -> Finding:
    """A value only a setting or a person can decide: the message says why, and there is no fix."""
    return Finding(
        sheet=sheet,
        code=code,
        message=f"{value!r}: {field.name} {reason}",
        row=row,
        column=field.name,
        cell=f"{letter}{row}",
        value=value,
        severity=severity,
    )


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

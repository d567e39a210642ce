"""Compiling a :class:`~sheetcrm.schema.TableSchema` to a pandera ``DataFrameSchema`` over text columns.

sheetcrm reads every cell as the text a person sees (``""`` for an empty cell), so each
column is a ``str`` column and every rule is a vectorised check on text. Each check is
named by the stable code of what it finds (:class:`CheckCode`), which is the ``check``
column of pandera's ``failure_cases``; with the frame indexed by spreadsheet row number,
the failure ``index`` is the row a person looks for::

    >>> import pandera.pandas as pa
    >>> schema = to_pandera(CRM_TABLES["customers"])
    >>> try:
    ...     schema.validate(customers.frame, lazy=True)
    ... except pa.errors.SchemaErrors as errors:
    ...     print(errors.failure_cases[["column", "check", "index", "failure_case"]])
      column            check  index failure_case
    0   name    missing-value     14
    1  email        bad-email     15   li.na@example

On a frame of your own, read the cells as text: ``pd.read_excel(path, dtype=str)``;
its empty cells (NaN) are missing values in required columns and allowed elsewhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from sheetcrm.schema.fields import Field, FieldType

if TYPE_CHECKING:
    from sheetcrm.schema.tables import TableSchema

__all__ = ["CheckCode", "to_pandera"]


class CheckCode(StrEnum):
    """The name of each check :func:`to_pandera` builds: the stable code of what it finds."""

    missing_value = "missing-value"
    bad_pattern = "bad-pattern"
    bad_date = "bad-date"
    bad_datetime = "bad-datetime"
    bad_integer = "bad-integer"
    bad_number = "bad-number"
    out_of_range = "out-of-range"
    bad_email = "bad-email"
    bad_phone = "bad-phone"
    bad_url = "bad-url"
    bad_boolean = "bad-boolean"
    not_in_choices = "not-in-choices"
    unknown_reference = "unknown-reference"
    duplicate_id = "duplicate-id"
    duplicate_value = "duplicate-value"


# Written in the part of regex syntax Python's re and RE2 (pyarrow-backed strings) share,
# with [0-9] rather than \d, which also matches full-width and other digits in Python.
_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_DATETIME = _DATE + r"(?:[ T](?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,6})?)?)?"
_INTEGER = r"[+-]?[0-9]+"
_DECIMAL = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_TLD = r"(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})"
_EMAIL = r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@(?:" + _LABEL + r"\.)+" + _TLD
# 7 to 15 digits (E.164 allows at most 15; 7 is the shortest local number worth storing), an optional
# leading + or (, and between the digits the separators people type: spaces, -, ., / and brackets.
_PHONE = r"\+?\(?(?:[0-9][ ().\-/]*){6,14}[0-9]"
_URL = r"(?:[A-Za-z][A-Za-z0-9+.-]*://)?(?:" + _LABEL + r"\.)+" + _TLD + r"(?::[0-9]{1,5})?(?:[/?#][^ ]*)?"
_BOOLEAN_WORDS = ("true", "false", "yes", "no", "y", "n", "1", "0", "是", "否")

CheckFn = Callable[["pd.Series[Any]"], "pd.Series[bool]"]


def to_pandera(
    schema: TableSchema,
    *,
    headers: Mapping[str, str] | None = None,
    references: Mapping[str, Collection[str]] | None = None,
) -> pa.DataFrameSchema:
    """A pandera schema checking a DataFrame of text against ``schema``.

    Each field is a ``str`` column named by the field (or, through ``headers``, which maps
    a sheet header to a field name, by that header), required when the field is. An empty
    cell (``""``, or only spaces) is a missing value; a NaN is one too, reported by pandera
    as ``not_nullable`` in required columns and allowed in the others. Every other check
    passes empty cells.

    ``references`` gives the values a reference field may hold, by what it refers to
    (``{"customers.customer_id": customer_ids}``); a reference without them is not checked.

        >>> to_pandera(CRM_TABLES["orders"], references={"customers.customer_id": ids}).validate(frame, lazy=True)
        >>> to_pandera(CRM_TABLES["customers"], headers={"客户名称": "name", "手机": "phone"})
    """
    column_of = {field.name: field.name for field in schema.fields}
    for header, name in (headers or {}).items():
        schema.field(name)  # KeyError naming the fields when there is no such field
        if column_of[name] == name:
            column_of[name] = header
    columns = {
        column_of[field.name]: pa.Column(
            str,
            nullable=not field.required,
            required=field.required,
            checks=_checks(field, is_id=field.name == schema.id_column, references=references or {}),
            title=field.header,
            description=field.description or None,
            metadata={"field": field.name, "type": str(field.type)},
        )
        for field in schema.fields
    }
    return pa.DataFrameSchema(columns, strict=False, name=schema.key, title=schema.sheet)


def _checks(field: Field, *, is_id: bool, references: Mapping[str, Collection[str]]) -> list[pa.Check]:
    checks: list[pa.Check] = []

    def add(code: CheckCode, fn: CheckFn, description: str) -> None:
        checks.append(pa.Check(fn, name=str(code), description=description))

    kind = field.type
    if field.required:
        add(CheckCode.missing_value, _filled, "must not be empty")
    if kind is FieldType.date:
        add(CheckCode.bad_date, _valid_date, "must be a date written YYYY-MM-DD")
    elif kind is FieldType.datetime:
        add(CheckCode.bad_datetime, _valid_datetime, "must be a date and time written YYYY-MM-DD HH:MM")
    elif kind is FieldType.integer:
        add(CheckCode.bad_integer, _matching(_INTEGER), "must be a whole number")
    elif kind in (FieldType.decimal, FieldType.money):
        add(CheckCode.bad_number, _matching(_DECIMAL), "must be a number, written without thousands separators")
    elif kind is FieldType.email:
        add(CheckCode.bad_email, _matching(_EMAIL), "must be an email address, name@example.com")
    elif kind is FieldType.phone:
        add(CheckCode.bad_phone, _valid_phone, "must be a phone number of 7 to 15 digits")
    elif kind is FieldType.url:
        add(CheckCode.bad_url, _matching(_URL), "must be a web address, https://example.com")
    elif kind is FieldType.boolean:
        add(CheckCode.bad_boolean, _valid_boolean, "must be TRUE or FALSE (yes/no)")
    if field.pattern is not None:
        add(CheckCode.bad_pattern, _matching(field.pattern, user=True), f"must match {field.pattern}")
    if field.minimum is not None or field.maximum is not None:
        add(CheckCode.out_of_range, _in_range(field.minimum, field.maximum), _range_text(field))
    if kind is FieldType.enum:
        add(CheckCode.not_in_choices, _one_of(field.choices), "must be one of: " + ", ".join(field.choices))
    elif kind is FieldType.tags and field.choices:
        add(CheckCode.not_in_choices, _tags_of(field.choices), "each tag must be one of: " + ", ".join(field.choices))
    if field.reference is not None and field.reference in references:
        table = field.reference.split(".")[0]
        add(CheckCode.unknown_reference, _one_of(references[field.reference]), f"must be an id found in {table}")
    if field.unique:
        code = CheckCode.duplicate_id if is_id or kind is FieldType.id else CheckCode.duplicate_value
        add(code, _unique, "must be unique")
    return checks


# --------------------------------------------------------------------------- checks
# Each takes the column and returns True where a value passes; NaN is handled by pandera
# (ignore_na), so only text matters here. Value checks run once per distinct value: a sheet
# repeats its dates, choices and owners, so that is often a few thousand values for 1M rows.

ValueCheck = Callable[["pd.Series[str]"], "pd.Series[bool]"]


def _text(series: pd.Series[Any]) -> pd.Series[str]:
    """The column as text: an analyst's object or number column is checked as the text it prints as."""
    if isinstance(series.dtype, pd.StringDtype):
        return series
    return series.astype("str")


def _per_value(check: ValueCheck) -> CheckFn:
    def run(series: pd.Series[Any]) -> pd.Series[bool]:
        codes, distinct = pd.factorize(_text(series))  # NaN is code -1
        passed = check(pd.Series(distinct, dtype="str")).to_numpy(dtype=bool)
        return pd.Series(np.append(passed, True)[codes], index=series.index)

    return run


def _blank(text: pd.Series[str]) -> pd.Series[bool]:
    return text.str.strip().eq("")


@_per_value
def _filled(text: pd.Series[str]) -> pd.Series[bool]:
    return ~_blank(text)


def _fullmatch(text: pd.Series[str], pattern: str, *, user: bool = False) -> pd.Series[bool]:
    try:
        return text.str.fullmatch(pattern).astype(bool)
    except (ValueError, NotImplementedError):
        if not user:
            raise
        # A pattern written for Python's re that the string engine (RE2 under pyarrow) refuses.
        regex = re.compile(pattern)
        return text.map(lambda value: isinstance(value, str) and regex.fullmatch(value) is not None).astype(bool)


def _matching(pattern: str, *, user: bool = False) -> CheckFn:
    def check(text: pd.Series[str]) -> pd.Series[bool]:
        return _blank(text) | _fullmatch(text, pattern, user=user)

    return _per_value(check)


def _real_dates(text: pd.Series[str]) -> pd.Series[bool]:
    """True where the first ten characters are a date that exists (no 2024-02-30)."""
    return pd.to_datetime(text.str.slice(0, 10), format="%Y-%m-%d", errors="coerce").notna()


@_per_value
def _valid_date(text: pd.Series[str]) -> pd.Series[bool]:
    shaped = _fullmatch(text, _DATE)
    return _blank(text) | (shaped & _real_dates(text.where(shaped)))


@_per_value
def _valid_datetime(text: pd.Series[str]) -> pd.Series[bool]:
    shaped = _fullmatch(text, _DATETIME)
    return _blank(text) | (shaped & _real_dates(text.where(shaped)))


@_per_value
def _valid_phone(text: pd.Series[str]) -> pd.Series[bool]:
    return _blank(text) | _fullmatch(text, _PHONE)


@_per_value
def _valid_boolean(text: pd.Series[str]) -> pd.Series[bool]:
    return _blank(text) | text.str.lower().isin(_BOOLEAN_WORDS)


def _in_range(minimum: float | None, maximum: float | None) -> CheckFn:
    def check(text: pd.Series[str]) -> pd.Series[bool]:
        # Only numbers are compared: text that is not a number is the number check's finding.
        numbers = pd.to_numeric(text, errors="coerce")
        inside = pd.Series(True, index=text.index)
        if minimum is not None:
            inside &= ~(numbers < minimum)
        if maximum is not None:
            inside &= ~(numbers > maximum)
        return inside

    return _per_value(check)


def _range_text(field: Field) -> str:
    if field.minimum is not None and field.maximum is not None:
        return f"must be between {field.minimum:g} and {field.maximum:g}"
    if field.minimum is not None:
        return f"must be at least {field.minimum:g}"
    return f"must be at most {field.maximum:g}"


def _one_of(values: Collection[str]) -> CheckFn:
    allowed = list(values)

    def check(text: pd.Series[str]) -> pd.Series[bool]:
        return _blank(text) | text.isin(allowed)

    return _per_value(check)


def _tags_of(choices: Collection[str]) -> CheckFn:
    allowed = list(choices)

    def check(text: pd.Series[str]) -> pd.Series[bool]:
        items = text.str.split(",").explode().str.strip()  # distinct values: the index is unique
        good = (items.isna() | items.eq("") | items.isin(allowed)).groupby(level=0).all()
        return good.reindex(text.index, fill_value=True)

    return _per_value(check)


def _unique(series: pd.Series[Any]) -> pd.Series[bool]:
    text = _text(series)
    repeated = text.duplicated(keep=False)
    repeated[repeated] = ~_blank(text[repeated])  # empty cells are missing values, not duplicates
    return ~repeated

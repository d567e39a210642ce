"""The rules of each field type as vectorised checks over a column of text.

One definition serves both engines: :func:`sheetcrm.schema.to_pandera` wraps each check
in a ``pandera.Check`` named by its code, and :func:`sheetcrm.validate` turns the cells a
check fails into findings. Empty cells pass every check but ``missing-value``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from sheetcrm.schema.fields import Field, FieldType

__all__ = ["CheckCode", "FieldCheck", "field_checks"]


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


@dataclass(frozen=True)
class FieldCheck:
    """One rule of a field: the code of what it finds, the test, and what a good value is."""

    code: CheckCode
    passes: CheckFn  # the column in, True where a value passes (empty cells pass all but missing-value)
    description: str  # "must be a date written YYYY-MM-DD"


def field_checks(field: Field, *, is_id: bool, references: Mapping[str, Collection[str]]) -> list[FieldCheck]:
    """The rules of one field, as vectorised checks over a column of text.

    ``references`` gives the values a reference field may hold (``{"customers.customer_id": ids}``).
    Both :func:`sheetcrm.schema.to_pandera` and :func:`sheetcrm.validate` run these.
    """
    checks: list[FieldCheck] = []

    def add(code: CheckCode, fn: CheckFn, description: str) -> None:
        checks.append(FieldCheck(code, fn, description))

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

"""Pivot a CRM table's text frame into a :class:`~sheetcrm.reports.model.ReportTable`.

The same text frames the jobs read go in (field names as columns, cells as typed, ``""`` for
empty); the schema says how each field is read. Everything is computed with numpy and
pandas over whole columns, and text is parsed once per distinct value, so a sheet of a
million orders pivots in about a second::

    >>> spec = ReportSpec("by_month", "Orders by month", "orders", rows=("order_date",),
    ...                   values=(Value("*", "count"), Value("amount", "sum")))
    >>> table = pivot(orders, spec, schema=ORDERS, today=date(2026, 11, 22), source="Orders (3 rows)")
    >>> table.headers, table.rows, table.totals
    (['order_date', 'count', 'sum of amount'], (('2026-10', 2, 150.0), ('2026-11', 1, 20.0)), ('Total', 3, 170.0))

Rules:

- **Fields.** Every field the spec names (rows, columns, values other than ``"*"``,
  filters) must be a column of the frame, else ConfigError naming the report and the field,
  with the frame's columns as the hint. A field's type comes from ``schema``; a field the
  schema does not know, or every field when ``schema`` is None, is text. ``columns`` holds
  at most one field; ``values`` at least one; ``top`` is at least 1; two columns of the
  result may not share a header (give a Value a ``label``).
- **Filters** keep the rows where every filter holds, before anything is grouped or counted.
  ``blank`` / ``not blank``: the cell is empty after stripping spaces. ``!=`` and ``not in``
  are exactly the rows ``==`` and ``in`` leave out (blank cells included). ``in`` takes a list
  (a single value is a list of one). By field type:

  - enum: compared by canonical choice, so ``Filter("status", "in", ["cancelled", "returned"])``
    also keeps ``"Canceled"`` and ``"已取消"``; a value that is no choice is compared as typed
    (stripped). ``>=``, ``>``, ``<=``, ``<`` compare positions in the choices
    (``Filter("stage", ">=", "proposal")``); values that are no choice fail them.
  - date / datetime: compared as days; the filter value is a :class:`datetime.date` or text
    ``"2026-01-01"`` (a time is dropped). Blank or unreadable cells fail every comparison.
  - integer / decimal / money: compared as numbers; the value is a number or number text.
    Blank or unreadable cells fail every comparison.
  - anything else (text, id, tags …): ``==`` / ``in`` compare the stripped text exactly (case
    matters; tags stay one piece of text). The ordering operators compare numbers when the
    value is a number or number text, dates when it is a date or ``YYYY-MM-DD``; other values
    are a ConfigError.

  A filter value that cannot be read as its field's type is a ConfigError.
- **Grouping** (``rows`` and ``columns``): each field is cut into labels, and labels are
  ordered; the result's rows come in that order (several row fields: by the first, then the
  next …). Only combinations that occur in the (filtered) rows appear.

  - enum: the canonical choice, ordered as the schema lists the choices; values that are no
    choice are kept as typed (stripped) after them, by label; ``"(blank)"`` last.
  - date / datetime: cut to ``spec.time_grain`` (month when None): ``day`` -> a
    :class:`datetime.date` (column format ``date``), ``week`` -> ISO week ``"2026-W47"``
    (``2027-01-01`` is ``"2026-W53"``), ``month`` -> ``"2026-11"``, ``quarter`` -> ``"2026-Q4"``,
    ``year`` -> ``"2026"``; ordered chronologically; blank and unreadable dates are
    ``"(no date)"`` (text, also in a day-grain column), last; unreadable ones are counted in
    the notes. Every date field of the spec is cut to the same grain; the grain does
    nothing to other fields.
  - integer / decimal / money: the stripped text, ordered by value (text that is no number
    after them, by label), ``"(blank)"`` last.
  - id and reference: as ids are matched elsewhere, stripped and upper-cased (``"c-1 "`` is
    ``"C-1"``), ordered as text.
  - anything else: the stripped text (case kept, tags as one piece of text), ordered
    case-insensitively, ``"(blank)"`` last.

  A grouping column's header is its field name. With no ``rows``, the table has one row,
  labelled ``"All"`` under an empty header, and no totals row.
- **Values.** ``count`` of ``"*"`` counts rows; ``count`` of a field counts its non-blank
  cells. ``nunique`` counts distinct non-blank values: enums by canonical choice, ids and
  references as ids are matched elsewhere (stripped, upper-cased), anything else by its
  stripped text. ``sum``, ``mean``, ``min``, ``max`` read numbers (a date field's ``min`` and
  ``max`` read dates instead; its ``sum`` and ``mean`` are a ConfigError); unreadable cells are
  left out and counted in the notes; with no readable number the cell is empty (None),
  whereas counts are 0. Default labels: ``"count"``, ``"count of owner"``, ``"sum of amount"``,
  ``"mean of amount"``, ``"min of order_date"``, ``"max of amount"``, ``"distinct customer_id"``.
  Default formats: see *Formats* below.
- **Spread** (``columns`` set): only the first value is computed (any further values are
  ignored, and a note says so); it fills one column per distinct value of the column
  field, in the grouping order above (the header is the label as text, a day as
  ``YYYY-MM-DD``), then a ``"Total"`` column with the value over the row's source rows
  (a distinct count or a mean is recomputed, never added up). Combinations with no rows
  hold 0 for counts, None otherwise. The chart plots the spread columns, not the Total.
- **Sort and top.** ``sort="rows"`` keeps the grouping order (time grains chronologically);
  ``"-value"`` orders by the first value (with a spread: its Total), largest first,
  ``"value"`` smallest first; ties keep the grouping order, empty values go last. ``top``
  then keeps the first N rows, and a note says how many there were.
- **Totals row** (``spec.totals`` and at least one row field): ``"Total"`` in the first
  column, None in the other grouping columns, then each value computed over the source
  rows of the rows *shown* (after ``top``), so counts and sums equal the sum of the rows
  shown, while a distinct count is the distinct count over those source rows (not the sum
  of the rows' counts), a mean is recomputed over them, and min / max are over them.
- **Percent.** Denominators always cover every filtered row, also those ``top`` cut off.

  - Without ``columns``: each count, sum or nunique value gets a column right after it with
    its share of the grand total (``row``, ``column`` and ``total`` all mean this); the
    header is ``"% of total"``, or ``"<label> % of total"`` when several values get one.
    Mean, min and max get none. In the totals row it is the rows shown's share (1.0
    without ``top``).
  - With ``columns`` (like Excel's "Show Values As"): every spread cell *and* the Total
    column become fractions (format ``percent``). ``row``: the cell over its row's Total
    (the Total column is 1.0). ``column``: the cell over its column's total; the Total
    column is the row's total over the grand total. ``total``: every cell over the grand
    total. The totals row is computed the same way from the rows shown (1.0 across for
    ``column`` and in the Total cell for ``row`` and ``total`` when nothing was cut).
    Percent needs a count, sum or nunique first value here, else ConfigError.

  A share whose denominator is 0 or empty is None.
- **Notes** (``ReportTable.notes``) say what was left out: unreadable numbers and dates
  (counted over the filtered rows), rows cut by ``top``, values ignored by a spread.

Formats (``REPORT_FORMATS``): how a column's cells are typed in ``ReportTable.rows``.

- ``text``: str; grouping labels, and a date ``min``/``max`` with ``format="text"``
  (``YYYY-MM-DD``).
- ``date``: :class:`datetime.date`; day-grain grouping labels; ``min``/``max`` of a date
  field by default.
- ``integer``: int (rounded); ``count`` and ``nunique`` by default, and ``sum``/``min``/
  ``max`` of an integer field.
- ``currency``: float; ``sum``/``mean``/``min``/``max`` of a money field by default.
- ``number``: float; every other ``sum``/``mean``/``min``/``max`` by default.
- ``percent``: float fraction (0.25 shows as 25%); percent columns.

A Value's own ``format`` replaces the default: a number may be shown as ``integer``,
``number``, ``currency`` or ``percent``, a date as ``date`` or ``text``; anything else is a
ConfigError. Floats are cleaned to 15 significant digits (``0.1 + 0.2`` is ``0.3``); empty
cells are None.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias, get_args

import numpy as np
import pandas as pd

from sheetcrm.errors import ConfigError
from sheetcrm.jobs.crm.rollups import (
    BoolArray,
    FloatArray,
    IntArray,
    choices_of,
    customer_keys,
    day_number,
    parse_dates,
    parse_numbers,
    text_column,
)
from sheetcrm.reports.model import (
    ColumnFormat,
    Filter,
    FilterOp,
    ReportColumn,
    ReportSpec,
    ReportTable,
    TimeGrain,
    Value,
)
from sheetcrm.schema.fields import Field, FieldType
from sheetcrm.schema.tables import TableSchema
from sheetcrm.sync.changeset import CellValue

__all__ = [
    "REPORT_FORMATS",
    "Grouping",
    "canonical_choices",
    "field_kind",
    "filter_mask",
    "group_field",
    "measure_label",
    "pivot",
    "typed_column",
]

REPORT_FORMATS: Mapping[ColumnFormat, str] = {
    "text": "str",
    "date": "datetime.date",
    "integer": "int",
    "number": "float",
    "currency": "float",
    "percent": "float, a fraction (0.25 is 25%)",
}
"""How a report column's cells are typed, by the column's format (see the module docstring)."""

FieldKind: TypeAlias = Literal["text", "enum", "date", "datetime", "number"]

BLANK = "(blank)"
NO_DATE = "(no date)"
ALL = "All"
TOTAL = "Total"

_NUMBER_KINDS = frozenset({FieldType.integer, FieldType.decimal, FieldType.money})
_ID_TYPES = frozenset({FieldType.id, FieldType.reference})
_ADDITIVE = frozenset({"count", "sum", "nunique"})
_NUMBER_FORMATS: frozenset[str] = frozenset({"integer", "number", "currency", "percent"})
_DATE_FORMATS: frozenset[str] = frozenset({"date", "text"})
_OPS: frozenset[str] = frozenset(get_args(FilterOp))
_ORDERING = frozenset({">=", ">", "<=", "<"})
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


# -- fields -----------------------------------------------------------------------------------


def _schema_field(field: str, schema: TableSchema | None) -> Field | None:
    if schema is None or field not in schema:
        return None
    return schema.field(field)


def field_kind(field: str, schema: TableSchema | None) -> FieldKind:
    """How the pivot reads a field: ``"enum"``, ``"date"``, ``"datetime"``, ``"number"`` or ``"text"``.

    Fields the schema does not know (and every field when ``schema`` is None) are text.
    """
    found = _schema_field(field, schema)
    if found is None:
        return "text"
    if found.type is FieldType.enum:
        return "enum"
    if found.type is FieldType.date:
        return "date"
    if found.type is FieldType.datetime:
        return "datetime"
    if found.type in _NUMBER_KINDS:
        return "number"
    return "text"


def canonical_choices(values: pd.Series, schema_field: Field) -> pd.Series:
    """Each value as its canonical choice, or as typed (stripped) when it is no choice; ``""`` when blank.

    >>> canonical_choices(pd.Series(["Canceled", " 已取消", "lost in post", ""]), ORDERS.field("status")).tolist()
    ['cancelled', 'cancelled', 'lost in post', '']
    """
    text = values.astype("str").fillna("").str.strip()
    canonical, _ = choices_of(text, schema_field)
    return canonical.where(canonical != "", text)


def _dates(frame: pd.DataFrame, field: str, kind: FieldKind) -> tuple[FloatArray, int]:
    return parse_dates(text_column(frame, field), with_time=kind == "datetime")


def typed_column(frame: pd.DataFrame, field: str, schema: TableSchema | None) -> pd.Series:
    """``frame[field]`` as the pivot reads it, indexed like the frame.

    enum: canonical choices (str, unknown values as typed, ``""`` blank); date and datetime:
    ``datetime64`` days (NaT when blank or unreadable); numbers: float (NaN when blank or
    unreadable); anything else: stripped text.
    """
    kind = field_kind(field, schema)
    text = text_column(frame, field)
    if kind == "enum":
        found = _schema_field(field, schema)
        assert found is not None
        return canonical_choices(text, found).rename(field)
    if kind in ("date", "datetime"):
        day, _ = parse_dates(text, with_time=kind == "datetime")
        return pd.Series(pd.to_datetime(day, unit="D"), index=frame.index, name=field)
    if kind == "number":
        number, _ = parse_numbers(text)
        return pd.Series(number, index=frame.index, name=field, dtype=np.float64)
    return text.rename(field)


# -- grouping ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grouping:
    """A field cut into ordered labels: row ``i`` of the frame is in ``labels[codes[i]]``.

    ``format`` is the format of a column holding the labels (``"date"`` for a day grain);
    ``unreadable`` counts non-blank dates that could not be read (they are ``"(no date)"``).
    """

    field: str
    codes: IntArray
    labels: tuple[CellValue, ...]
    format: ColumnFormat = "text"
    unreadable: int = 0

    @property
    def headers(self) -> list[str]:
        """The labels as column headers: text, a day as ``YYYY-MM-DD``."""
        return [label.isoformat() if isinstance(label, dt.date) else str(label) for label in self.labels]


def group_field(
    frame: pd.DataFrame, field: str, *, schema: TableSchema | None, grain: TimeGrain | None = None
) -> Grouping:
    """Cut ``frame[field]`` into ordered labels by the grouping rules of the module docstring.

    >>> group_field(orders, "order_date", schema=ORDERS, grain="quarter").labels
    ('2026-Q3', '2026-Q4', '(no date)')
    """
    kind = field_kind(field, schema)
    if kind in ("date", "datetime"):
        day, bad = _dates(frame, field, kind)
        return _time_grouping(field, day, grain or "month", bad)
    text = text_column(frame, field)
    found = _schema_field(field, schema)
    if kind == "enum":
        assert found is not None
        text = canonical_choices(text, found)
    elif found is not None and found.type in _ID_TYPES:
        text = customer_keys(text)
    codes, uniques = pd.factorize(text)
    labels = [str(u) for u in uniques]
    position = {choice: i for i, choice in enumerate(found.choices)} if kind == "enum" and found else {}
    numbers = parse_numbers(pd.Series(labels, dtype="str"))[0] if kind == "number" else None

    def order(i: int) -> tuple[int, float, str, str]:
        label = labels[i]
        if label == "":
            return (3, 0.0, "", "")
        if label in position:
            return (0, float(position[label]), "", "")
        if numbers is not None and not np.isnan(numbers[i]):
            return (1, float(numbers[i]), "", label)
        return (2, 0.0, label.casefold(), label)

    ordered = sorted(range(len(labels)), key=order)
    rank = np.empty(len(labels), np.int64)
    rank[ordered] = np.arange(len(labels), dtype=np.int64)
    return Grouping(
        field=field,
        codes=rank[codes] if len(codes) else np.empty(0, np.int64),
        labels=tuple(labels[i] or BLANK for i in ordered),
    )


def _time_grouping(field: str, day: FloatArray, grain: TimeGrain, unreadable: int) -> Grouping:
    valid = ~np.isnan(day)
    days = day[valid].astype(np.int64)
    if grain == "day":
        start = days
    elif grain == "week":
        start = days - (days + 3) % 7  # day 0, 1970-01-01, was a Thursday; weeks start on Monday
    else:
        months = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)  # months since 1970-01
        if grain == "quarter":
            months = months - months % 3
        elif grain == "year":
            months = months - months % 12
        start = months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    starts, inverse = np.unique(start, return_inverse=True)
    labels: list[CellValue] = [_period_label(dt.date.fromordinal(_EPOCH_ORDINAL + int(s)), grain) for s in starts]
    codes = np.full(len(day), len(starts), np.int64)
    codes[valid] = inverse.reshape(-1)
    if not valid.all():
        labels.append(NO_DATE)
    return Grouping(field, codes, tuple(labels), "date" if grain == "day" else "text", unreadable)


def _period_label(start: dt.date, grain: TimeGrain) -> CellValue:
    if grain == "day":
        return start
    if grain == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    if grain == "month":
        return f"{start.year}-{start.month:02d}"
    if grain == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return f"{start.year}"


def _combine(groupings: Sequence[Grouping], rows: int) -> tuple[IntArray, IntArray]:
    """Each row's group id (groups numbered in the order of their labels) and each group's codes (groups x fields)."""
    if not groupings:
        return np.zeros(rows, np.int64), np.zeros((1, 0), np.int64)
    key = np.zeros(rows, np.int64)
    bound = 1  # key < bound
    for grouping in groupings:
        if bound * len(grouping.labels) >= 2**62:  # renumber the combinations seen so far: fewer than rows
            key = np.unique(key, return_inverse=True)[1].reshape(-1).astype(np.int64)
            bound = max(rows, 1)
        key = key * len(grouping.labels) + grouping.codes
        bound *= len(grouping.labels)
    _, first, gid = np.unique(key, return_index=True, return_inverse=True)
    codes = np.stack([grouping.codes[first] for grouping in groupings], axis=1)
    return gid.reshape(-1).astype(np.int64), codes


# -- filters ----------------------------------------------------------------------------------


def filter_mask(
    frame: pd.DataFrame, filters: Iterable[Filter], *, schema: TableSchema | None, report: str = ""
) -> BoolArray:
    """Which rows of ``frame`` every filter keeps, by the filter rules of the module docstring.

    ``report`` names the report in errors (a bad operator, a value that is not its field's type).
    """
    keep = np.ones(len(frame), dtype=bool)
    for rule in filters:
        keep &= _filter(frame, rule, schema, report)
    return keep


def _filter(frame: pd.DataFrame, rule: Filter, schema: TableSchema | None, report: str) -> BoolArray:
    where = f"report {report!r}: filter on {rule.field!r}" if report else f"filter on {rule.field!r}"
    if rule.op not in _OPS:
        raise ConfigError(f"{where}: unknown operator {rule.op!r}", hint=f"use one of: {', '.join(sorted(_OPS))}")
    text = text_column(frame, rule.field)
    if rule.op in ("blank", "not blank"):
        blank = (text == "").to_numpy(bool)
        return blank if rule.op == "blank" else ~blank
    if rule.value is None:
        raise ConfigError(f"{where}: {rule.op!r} needs a value", hint='use op = "blank" to keep empty cells')
    if rule.op in ("in", "not in"):
        raw = rule.value
        given = list(raw) if isinstance(raw, list | tuple | set | frozenset) else [raw]
    elif isinstance(rule.value, list | tuple | set | frozenset):
        raise ConfigError(f"{where}: {rule.op!r} compares with one value, not a list", hint='use op = "in"')
    else:
        given = [rule.value]
    op = {"!=": "==", "not in": "in"}.get(rule.op, rule.op)
    kept = _compare(text, op, given, field_kind(rule.field, schema), _schema_field(rule.field, schema), where)
    return ~kept if rule.op in ("!=", "not in") else kept


def _compare(text: pd.Series, op: str, given: list[Any], kind: FieldKind, found: Field | None, where: str) -> BoolArray:
    if kind == "enum":
        assert found is not None
        choices = canonical_choices(text, found)
        wanted = [found.choice_for(str(v)) or str(v).strip() for v in given]
        if op in ("==", "in"):
            return choices.isin(wanted).to_numpy(bool)
        if wanted[0] not in found.choices:
            raise ConfigError(
                f"{where}: {given[0]!r} is not a choice, so {op!r} has nothing to compare with",
                hint=f"choices, in order: {', '.join(found.choices)}",
            )
        position = {choice: float(i) for i, choice in enumerate(found.choices)}
        ranks = choices.map(position).to_numpy(np.float64, na_value=np.nan).astype(np.float64)
        return _ordered(ranks, op, position[wanted[0]])
    if kind in ("date", "datetime"):
        days, _ = parse_dates(text, with_time=kind == "datetime")
        return _against(days, op, [_filter_day(v, where) for v in given])
    if kind == "number":
        numbers, _ = parse_numbers(text)
        return _against(numbers, op, [_filter_number(v, where) for v in given])
    if op in ("==", "in"):
        return text.isin([str(v).strip() for v in given]).to_numpy(bool)
    value = given[0]
    number = _maybe_number(value)
    if number is not None:
        return _ordered(parse_numbers(text)[0], op, number)
    day = _maybe_day(value)
    if day is not None:
        return _ordered(parse_dates(text, with_time=True)[0], op, day)
    raise ConfigError(
        f"{where}: {op!r} on a text field needs a number or a date, not {value!r}",
        hint="compare text with == or in; or give the field a type in the schema",
    )


def _against(values: FloatArray, op: str, wanted: list[float]) -> BoolArray:
    if op in ("==", "in"):
        return np.isin(values, np.array(wanted, dtype=np.float64))
    return _ordered(values, op, wanted[0])


def _ordered(values: FloatArray, op: str, bound: float) -> BoolArray:
    with np.errstate(invalid="ignore"):  # NaN (blank, unreadable) fails every comparison
        if op == ">=":
            return values >= bound
        if op == ">":
            return values > bound
        if op == "<=":
            return values <= bound
        return values < bound


def _maybe_day(value: Any) -> float | None:
    if isinstance(value, dt.datetime):
        return float(day_number(value.date()))
    if isinstance(value, dt.date):
        return float(day_number(value))
    if isinstance(value, str):
        text = value.strip()
        try:
            return float(day_number(dt.date.fromisoformat(text)))
        except ValueError:
            pass
        try:
            return float(day_number(dt.datetime.fromisoformat(text).date()))
        except ValueError:
            return None
    return None


def _maybe_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if np.isfinite(number) else None


def _filter_day(value: Any, where: str) -> float:
    day = _maybe_day(value)
    if day is None:
        raise ConfigError(f"{where}: {value!r} is not a date", hint='write dates as "YYYY-MM-DD"')
    return day


def _filter_number(value: Any, where: str) -> float:
    number = _maybe_number(value)
    if number is None:
        raise ConfigError(f"{where}: {value!r} is not a number", hint="write a plain number: 100 or 99.5")
    return number


# -- values -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Measure:
    """One Value, read from the filtered frame, ready to be computed for any grouping of its rows."""

    value: Value
    label: str
    format: ColumnFormat
    numbers: FloatArray | None = None  # sum/mean/min/max: numbers, or day numbers for a date min/max
    present: BoolArray | None = None  # count of a field: the non-blank cells
    distinct: IntArray | None = None  # nunique: a code per distinct value, -1 for blank
    kinds: int = 0  # how many distinct codes
    is_date: bool = False
    unreadable: int = 0

    @property
    def additive(self) -> bool:
        return self.value.agg in _ADDITIVE

    def compute(self, gid: IntArray, size: int, rows: BoolArray | None = None) -> FloatArray:
        """The value for each of ``size`` groups, given each row's group (NaN: nothing to show).

        ``rows`` limits it to some of the rows (the rest count nowhere).
        """
        agg = self.value.agg
        use = np.ones(len(gid), dtype=bool) if rows is None else rows.copy()
        if agg == "count":
            if self.present is not None:
                use &= self.present
            return np.bincount(gid[use], minlength=size).astype(np.float64)
        if agg == "nunique":
            assert self.distinct is not None
            use &= self.distinct >= 0
            kinds = max(self.kinds, 1)
            pairs = pd.unique(gid[use] * kinds + self.distinct[use])  # hashing: faster than np.unique's sort
            return np.bincount(pairs // kinds, minlength=size).astype(np.float64)
        assert self.numbers is not None
        out = np.full(size, np.nan)
        use &= ~np.isnan(self.numbers)
        if not use.any():
            return out
        # pandas adds up groups with compensated (Kahan) summation, so a million amounts sum accurately.
        found = pd.Series(self.numbers[use]).groupby(gid[use]).agg(agg)
        out[found.index.to_numpy(np.int64)] = found.to_numpy(np.float64)
        return out


def _measure(frame: pd.DataFrame, value: Value, schema: TableSchema | None, report: str) -> _Measure:
    agg, name = value.agg, value.field
    where = f"report {report!r}: value {agg} of {name!r}"
    if agg not in ("sum", "count", "mean", "nunique", "min", "max"):
        raise ConfigError(f"{where}: unknown aggregation {agg!r}", hint="use sum, count, mean, nunique, min or max")
    if name == "*":
        if agg != "count":
            raise ConfigError(
                f"{where}: '*' (every row) can only be counted", hint=f'name a field: Value("amount", "{agg}")'
            )
        return _Measure(value, measure_label(value), _format(value, "integer", where, date=False))
    kind = field_kind(name, schema)
    found = _schema_field(name, schema)
    text = text_column(frame, name)
    label = measure_label(value)
    if agg == "count":
        return _Measure(value, label, _format(value, "integer", where, date=False), present=(text != "").to_numpy(bool))
    if agg == "nunique":
        if kind == "enum":
            assert found is not None
            text = canonical_choices(text, found)
        elif found is not None and found.type in _ID_TYPES:
            text = customer_keys(text)
        codes, uniques = pd.factorize(text.where(text != "", None))  # blank -> -1
        return _Measure(
            value,
            label,
            _format(value, "integer", where, date=False),
            distinct=codes.astype(np.int64),
            kinds=len(uniques),
        )
    if kind in ("date", "datetime"):
        if agg not in ("min", "max"):
            raise ConfigError(
                f"{where}: {name!r} is a date field; only its min and max can be taken", hint="count it instead"
            )
        days, bad = parse_dates(text, with_time=kind == "datetime")
        return _Measure(
            value, label, _format(value, "date", where, date=True), numbers=days, is_date=True, unreadable=bad
        )
    numbers, bad = parse_numbers(text)
    default: ColumnFormat = "number"
    if found is not None and found.type is FieldType.money:
        default = "currency"
    elif found is not None and found.type is FieldType.integer and agg != "mean":
        default = "integer"
    return _Measure(value, label, _format(value, default, where, date=False), numbers=numbers, unreadable=bad)


def _format(value: Value, default: ColumnFormat, where: str, *, date: bool) -> ColumnFormat:
    chosen = value.format or default
    allowed = _DATE_FORMATS if date else _NUMBER_FORMATS
    if chosen not in allowed:
        raise ConfigError(
            f"{where}: format {chosen!r} does not fit a {'date' if date else 'number'}",
            hint=f"use one of: {', '.join(sorted(allowed))}",
        )
    return chosen


# -- cells ------------------------------------------------------------------------------------


def _cell(value: float, fmt: ColumnFormat) -> CellValue:
    if np.isnan(value):
        return None
    if fmt == "integer":
        return round(float(value))
    if fmt in ("date", "text"):
        day = dt.date.fromordinal(_EPOCH_ORDINAL + round(float(value)))
        return day if fmt == "date" else day.isoformat()
    return float(f"{value:.15g}")  # no float noise: 0.1 + 0.2 is 0.3


def _share(part: FloatArray, whole: FloatArray | float) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.asarray(part, np.float64) / whole
    return np.where(np.isfinite(share), share, np.nan)


# -- the pivot --------------------------------------------------------------------------------


def pivot(
    frame: pd.DataFrame, spec: ReportSpec, *, schema: TableSchema | None, today: dt.date, source: str = ""
) -> ReportTable:
    """The ReportTable of ``spec`` over ``frame``, by the rules in the module docstring.

    ``schema`` gives the fields' types (None: every field is text); ``today`` is the table's
    ``as_of``; ``source`` says, for people, what it was computed from ("Orders (11,178 rows)").

        >>> pivot(orders, ReportSpec("s", "By status", "orders", rows=("status",)), schema=ORDERS,
        ...       today=date(2026, 11, 22)).rows
        (('shipped', 2), ('cancelled', 1))
    """
    _check_spec(frame, spec)
    keep = filter_mask(frame, spec.filters, schema=schema, report=spec.name)
    needed = list(dict.fromkeys([*spec.rows, *spec.columns, *(v.field for v in spec.values if v.field != "*")]))
    data = frame.loc[keep, needed] if not keep.all() else frame[needed]

    groupings = [group_field(data, name, schema=schema, grain=spec.time_grain) for name in spec.rows]
    gid, group_codes = _combine(groupings, len(data))
    groups = len(group_codes)
    spread = group_field(data, spec.columns[0], schema=schema, grain=spec.time_grain) if spec.columns else None
    values = spec.values[:1] if spread is not None else spec.values
    measures = [_measure(data, value, schema, spec.name) for value in values]
    first = measures[0]

    per_group = [m.compute(gid, groups) for m in measures]
    order = _sorted_groups(per_group[0], spec.sort)
    shown = order[: spec.top] if spec.top is not None else order
    cut = len(shown) < groups
    shown_rows = np.isin(gid, shown) if cut else np.ones(len(data), dtype=bool)
    one = np.zeros(len(data), np.int64)

    columns = [ReportColumn(g.field, g.format) for g in groupings] or [ReportColumn("", "text")]
    labels = [
        tuple(g.labels[code] for g, code in zip(groupings, group_codes[group], strict=True)) if groupings else (ALL,)
        for group in shown
    ]
    blank_labels: tuple[CellValue, ...] = (TOTAL, *([None] * (len(columns) - 1)))

    chart_values: tuple[int, ...] = ()
    if spread is None:
        body, total_cells, value_columns = _plain(measures, per_group, shown, one, shown_rows, spec, cut)
    else:
        if spec.percent is not None and not first.additive:
            raise ConfigError(
                f"report {spec.name!r}: percent of a spread needs a count, sum or nunique first value, not {first.value.agg}",
                hint="drop percent, or spread a count or a sum",
            )
        body, total_cells, value_columns = _spread(first, spread, gid, groups, shown, one, shown_rows, spec)
        chart_values = tuple(range(len(columns), len(columns) + len(spread.labels)))
    columns += value_columns

    headers = [c.header for c in columns]
    repeated = sorted({h for h in headers if headers.count(h) > 1})
    if repeated:
        raise ConfigError(
            f"report {spec.name!r}: two columns would both be headed {repeated[0]!r}",
            hint="give the values their own labels: Value(..., label=...)",
        )
    rows = tuple((*label, *cells) for label, cells in zip(labels, body, strict=True))
    totals = (*blank_labels, *total_cells) if spec.totals and groupings else None
    return ReportTable(
        name=spec.name,
        title=spec.title,
        source=source,
        as_of=today,
        columns=tuple(columns),
        rows=rows,
        totals=totals,
        chart=spec.chart,
        chart_category=0,
        chart_values=chart_values,
        notes=tuple(_notes(spec, groupings, spread, measures, groups, len(shown))),
        description=spec.description,
    )


def _check_spec(frame: pd.DataFrame, spec: ReportSpec) -> None:
    named = [
        *(("row", f) for f in spec.rows),
        *(("column", f) for f in spec.columns),
        *(("value", v.field) for v in spec.values if v.field != "*"),
        *(("filter", f.field) for f in spec.filters),
    ]
    for role, name in named:
        if name not in frame.columns:
            raise ConfigError(
                f"report {spec.name!r}: {role} field {name!r} is not a column of the {spec.source} table",
                hint=f"columns: {', '.join(str(c) for c in frame.columns) or 'none'}",
            )
    if len(spec.columns) > 1:
        raise ConfigError(
            f"report {spec.name!r}: columns spread one field, not {len(spec.columns)}",
            hint=f"keep one of {', '.join(spec.columns)} in columns and move the others to rows",
        )
    if not spec.values:
        raise ConfigError(
            f"report {spec.name!r}: no values to compute", hint='for example values = [{field = "*", agg = "count"}]'
        )
    if spec.top is not None and spec.top < 1:
        raise ConfigError(f"report {spec.name!r}: top must be at least 1, not {spec.top}")
    if spec.sort not in ("rows", "value", "-value"):
        raise ConfigError(f"report {spec.name!r}: unknown sort {spec.sort!r}", hint="use rows, value or -value")
    if spec.time_grain not in (None, *get_args(TimeGrain)):
        raise ConfigError(
            f"report {spec.name!r}: unknown time grain {spec.time_grain!r}",
            hint="use day, week, month, quarter or year",
        )
    if spec.percent not in (None, "row", "column", "total"):
        raise ConfigError(f"report {spec.name!r}: unknown percent {spec.percent!r}", hint="use row, column or total")


def _sorted_groups(first: FloatArray, sort: str) -> IntArray:
    groups = np.arange(len(first), dtype=np.int64)
    if sort == "rows":
        return groups
    empty = np.isnan(first)
    key = np.where(empty, 0.0, -first if sort == "-value" else first)
    return np.lexsort((groups, key, empty)).astype(np.int64)  # the last key sorts first


def _plain(
    measures: list[_Measure],
    per_group: list[FloatArray],
    shown: IntArray,
    one: IntArray,
    shown_rows: BoolArray,
    spec: ReportSpec,
    cut: bool,
) -> tuple[list[list[CellValue]], list[CellValue], list[ReportColumn]]:
    with_percent = [m for m in measures if spec.percent is not None and m.additive]
    body: list[list[CellValue]] = [[] for _ in shown]
    totals: list[CellValue] = []
    columns: list[ReportColumn] = []
    for measure, values in zip(measures, per_group, strict=True):
        columns.append(ReportColumn(measure.label, measure.format))
        grand = measure.compute(one, 1)[0]
        total = measure.compute(one, 1, shown_rows)[0] if cut else grand
        for cells, value in zip(body, values[shown], strict=True):
            cells.append(_cell(value, measure.format))
        totals.append(_cell(total, measure.format))
        if measure in with_percent:
            header = "% of total" if len(with_percent) == 1 else f"{measure.label} % of total"
            columns.append(ReportColumn(header, "percent"))
            for cells, share in zip(body, _share(values[shown], grand), strict=True):
                cells.append(_cell(share, "percent"))
            totals.append(_cell(_share(np.array([total]), grand)[0], "percent"))
    return body, totals, columns


def _spread(
    measure: _Measure,
    spread: Grouping,
    gid: IntArray,
    groups: int,
    shown: IntArray,
    one: IntArray,
    shown_rows: BoolArray,
    spec: ReportSpec,
) -> tuple[list[list[CellValue]], list[CellValue], list[ReportColumn]]:
    width = len(spread.labels)
    cells = measure.compute(gid * width + spread.codes, groups * width).reshape(groups, width)[shown]
    row_total = measure.compute(gid, groups)[shown]
    column_total = measure.compute(spread.codes, width, shown_rows)
    grand_shown = measure.compute(one, 1, shown_rows)[0]
    if spec.percent is not None:
        all_columns = measure.compute(spread.codes, width)
        grand = measure.compute(one, 1)[0]
        if spec.percent == "row":
            cells, row_total = _share(cells, row_total[:, None]), _share(row_total, row_total)
            column_total, grand_shown = (
                _share(column_total, grand_shown),
                _share(np.array([grand_shown]), grand_shown)[0],
            )
        elif spec.percent == "column":
            cells, row_total = _share(cells, all_columns[None, :]), _share(row_total, grand)
            column_total, grand_shown = _share(column_total, all_columns), _share(np.array([grand_shown]), grand)[0]
        else:
            cells, row_total = _share(cells, grand), _share(row_total, grand)
            column_total, grand_shown = _share(column_total, grand), _share(np.array([grand_shown]), grand)[0]
    fmt: ColumnFormat = "percent" if spec.percent is not None else measure.format
    body = [[_cell(v, fmt) for v in (*row, total)] for row, total in zip(cells, row_total, strict=True)]
    totals = [_cell(v, fmt) for v in (*column_total, grand_shown)]
    columns = [ReportColumn(header, fmt) for header in (*spread.headers, TOTAL)]
    return body, totals, columns


def _notes(
    spec: ReportSpec,
    groupings: list[Grouping],
    spread: Grouping | None,
    measures: list[_Measure],
    groups: int,
    shown: int,
) -> list[str]:
    notes: list[str] = []
    for grouping in [*groupings, *([spread] if spread is not None else [])]:
        if grouping.unreadable:
            notes.append(f"{grouping.unreadable:,} {grouping.field} value(s) are not dates; they are under {NO_DATE}.")
    for measure in measures:
        if measure.unreadable:
            what = "dates" if measure.is_date else "numbers"
            notes.append(
                f"{measure.unreadable:,} {measure.value.field} value(s) are not {what}; {measure.label} leaves them out."
            )
    if spread is not None and len(spec.values) > 1:
        ignored = ", ".join(measure_label(v) for v in spec.values[1:])
        notes.append(f"With columns, only {measures[0].label} is shown; {ignored} left out.")
    if shown < groups:
        note = (
            f"Top {shown} of {groups:,} rows by {measures[0].label}"
            if spec.sort != "rows"
            else f"First {shown} of {groups:,} rows"
        )
        if spec.totals:
            note += "; the totals row adds up the rows shown"
        if spec.percent is not None:
            note += "; percents are shares of all rows"
        notes.append(note + ".")
    return notes


def measure_label(value: Value) -> str:
    """The header of a value's column: its ``label``, else ``"count"``, ``"sum of amount"``, ``"distinct customer_id"`` …"""
    if value.label:
        return value.label
    if value.field == "*":
        return "count"
    if value.agg == "nunique":
        return f"distinct {value.field}"
    return f"{value.agg} of {value.field}"

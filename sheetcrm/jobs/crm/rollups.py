"""Per-customer order roll-ups (count, spend, first and last order, average order value), as text.

The same text frames everything else reads go in; a frame of text cells, indexed like the
customers, comes out, ready for a job to write beside the customer columns::

    >>> rollups = compute_rollups(customers, orders, today=date(2026, 11, 22))
    >>> rollups.loc[2].to_dict()
    {'order_count': '3', 'first_order': '2025-02-01', 'last_order': '2026-10-30', 'total_spent': '1234.5', ...}

Rules (the same ones :mod:`.segments` builds on):

- An order belongs to the customer whose ``customer_id`` it carries, compared without
  surrounding spaces and case (``" c-000001"`` is ``C-000001``). Customer rows sharing an id
  (duplicates not yet merged) each get that id's figures.
- *Counted* orders are all orders except cancelled and returned ones (status compared through
  the schema's choices and synonyms: ``"canceled"``, ``"已取消"``). A blank or unknown status
  counts: the order was placed. Orders dated after ``today`` are left out altogether, so the
  figures are those "as of" ``today``; orders with a blank or unreadable date count but give
  no first or last order.
- ``total_spent`` sums the ``amount`` of counted orders. With one currency on the sheet (a
  blank currency is one too) the columns are ``total_spent`` and ``avg_order_value``; with
  several, each currency gets its own pair, ``total_spent_CNY``, ``avg_order_value_CNY`` …
  (blank currency: ``…_no_currency``), so each cell stays a number a spreadsheet can sum.
  ``avg_order_value`` is that total over the orders with a readable amount.
- Unreadable, negative or infinite amounts and currencies that are not three letters are
  left out of the spend and counted in ``frame.attrs["stats"]``, never raised.

Numbers are written without float noise (``"1234.5"``, ``"3"``), rounded to ``decimals``;
dates as ``YYYY-MM-DD``; ``""`` where there is nothing to say. The output is a pure function
of the inputs, so a second run over its own output gives the same frame (the customers'
own ``total_spent``-like columns are never read).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from sheetcrm.schema.fields import Field
from sheetcrm.schema.tables import ORDERS

__all__ = [
    "EXCLUDED_STATUSES",
    "OrderFacts",
    "choices_of",
    "compute_rollups",
    "customer_keys",
    "day_number",
    "format_dates",
    "format_numbers",
    "key_codes",
    "order_facts",
    "parse_dates",
    "parse_numbers",
    "text_column",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

EXCLUDED_STATUSES = frozenset({"cancelled", "returned"})
"""Order statuses that are not spend: the money never came or went back."""

_G = TypeVar("_G", bound=np.generic)

NO_CURRENCY = "no_currency"
_TIME_PART = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_EPOCH = dt.date(1970, 1, 1)


# -- parsing text -------------------------------------------------------------------------


def text_column(frame: pd.DataFrame, name: str) -> pd.Series:
    """``frame[name]`` as stripped text with ``""`` for empty cells; all ``""`` when there is no such column."""
    if name not in frame.columns:
        return pd.Series("", index=frame.index, dtype="str")
    return frame[name].astype("str").fillna("").str.strip()


def customer_keys(ids: pd.Series) -> pd.Series:
    """The form ids are matched in: stripped and upper-cased (``" c-000001"`` is ``"C-000001"``)."""
    return ids.astype("str").fillna("").str.strip().str.upper()


def day_number(day: dt.date) -> int:
    """Days since 1970-01-01, the unit every date is compared in here."""
    return (day - _EPOCH).days


def parse_dates(values: pd.Series, *, with_time: bool = False) -> tuple[FloatArray, int]:
    """``YYYY-MM-DD`` text as day numbers (NaN when blank or unreadable) and how many were unreadable.

    ``with_time`` also accepts a time after the date (``2026-05-01 14:30``), as datetime
    fields hold; the time is dropped. Each distinct text is parsed once (a sheet of a million
    rows has a few thousand distinct dates).
    """
    text = values.astype("str").fillna("").str.strip()
    codes, uniques = pd.factorize(text)
    distinct = pd.Series(uniques, dtype="str")
    if with_time:
        rest_ok = distinct.str.slice(10).str.fullmatch(_TIME_PART).fillna(False).to_numpy(bool)
        distinct = distinct.str.slice(0, 10).where(rest_ok, "")
    parsed = pd.to_datetime(distinct, format="%Y-%m-%d", errors="coerce")
    day = parsed.to_numpy("datetime64[ns]").astype("datetime64[D]").astype(np.int64).astype(np.float64)
    day[parsed.isna().to_numpy()] = np.nan
    result = day[codes] if len(codes) else np.empty(0, np.float64)
    bad_distinct = np.isnan(day) & (pd.Series(uniques, dtype="str") != "").to_numpy(bool)
    bad = int(bad_distinct[codes].sum()) if len(codes) else 0
    return result, bad


def parse_numbers(values: pd.Series, *, minimum: float | None = None) -> tuple[FloatArray, int]:
    """Number text as floats (NaN when blank or unreadable) and how many were unreadable.

    Infinite values, and values below ``minimum`` when given, count as unreadable.
    """
    text = values.astype("str").fillna("").str.strip()
    number = pd.to_numeric(text, errors="coerce").to_numpy(np.float64, na_value=np.nan, copy=True)
    blank = (text == "").to_numpy(bool)
    wrong = ~np.isfinite(number)
    if minimum is not None:
        wrong |= number < minimum
    number[wrong] = np.nan
    return number, int((wrong & ~blank).sum())


def choices_of(values: pd.Series, schema_field: Field) -> tuple[pd.Series, int]:
    """Each value as its canonical choice (``""`` when blank or none) and how many were not a choice.

    Uses the field's own matching (case, spacing, synonyms), once per distinct value.
    """
    text = values.astype("str").fillna("").str.strip()
    codes, uniques = pd.factorize(text)
    canonical = [schema_field.choice_for(u) or "" for u in uniques]
    unknown = np.array([bool(u) and not c for u, c in zip(uniques, canonical, strict=True)], dtype=bool)
    result = pd.Series(np.array(canonical, dtype=object)[codes] if len(codes) else [], index=values.index, dtype="str")
    return result, int(unknown[codes].sum()) if len(codes) else 0


# -- writing text -------------------------------------------------------------------------


def format_numbers(values: FloatArray, *, decimals: int = 2) -> npt.NDArray[np.object_]:
    """Floats as text rounded to ``decimals`` without float noise: 1234.5 -> "1234.5", 3.0 -> "3", NaN -> "".

    Goes through whole numbers of the smallest unit (cents), so 0.1 + 0.2 is written "0.3".
    """
    out = np.full(len(values), "", dtype=object)
    present = ~np.isnan(values)
    if not present.any():
        return out
    scale = 10**decimals
    units = np.rint(values[present] * scale).astype(np.int64)
    negative = units < 0
    units = np.abs(units)
    whole = pd.Series(units // scale).astype("str")
    if decimals:
        fraction = pd.Series(units % scale + scale).astype("str").str.slice(1).str.rstrip("0")
        whole = whole + np.where(fraction == "", "", "." + fraction)
    text = np.where(negative, "-" + whole.to_numpy(object), whole.to_numpy(object))
    out[present] = text
    return out


def format_dates(days: FloatArray) -> npt.NDArray[np.object_]:
    """Day numbers as ``YYYY-MM-DD`` text, ``""`` for NaN."""
    out = np.full(len(days), "", dtype=object)
    present = ~np.isnan(days)
    out[present] = np.datetime_as_string(days[present].astype(np.int64).astype("datetime64[D]"))
    return out


# -- per-customer facts -------------------------------------------------------------------


@dataclass
class OrderFacts:
    """What the orders say per distinct customer id (arrays indexed by key code).

    ``row_code`` maps each customer row to its key code (-1 for a blank id).
    """

    row_code: IntArray
    keys: int
    count: IntArray  # counted orders (not cancelled or returned, not after today)
    first_day: FloatArray  # first and last counted order with a readable date
    last_day: FloatArray
    last_any_day: FloatArray  # last order of any status, for staleness
    spend: dict[str, FloatArray]  # currency -> sum of readable amounts of counted orders
    valued: dict[str, IntArray]  # currency -> how many counted orders had a readable amount
    stats: dict[str, int] = field(default_factory=dict)

    def per_row(self, values: npt.NDArray[_G], fill: object) -> npt.NDArray[_G]:
        """Per-key ``values`` spread over the customer rows; ``fill`` for rows with a blank id."""
        padded = np.append(values, np.array([fill], dtype=values.dtype))
        return padded[np.where(self.row_code >= 0, self.row_code, self.keys)]


def key_codes(customers: pd.DataFrame, *others: pd.DataFrame) -> tuple[IntArray, int, list[IntArray]]:
    """Key codes of the customer rows, how many distinct keys, and the codes of each other frame's rows.

    Rows of the other frames whose ``customer_id`` is blank or not a customer get -1.
    """
    keys = customer_keys(text_column(customers, "customer_id"))
    distinct = pd.Index(keys[keys != ""].unique())
    row_code = distinct.get_indexer(keys).astype(np.int64)
    codes = [distinct.get_indexer(customer_keys(text_column(o, "customer_id"))).astype(np.int64) for o in others]
    return row_code, len(distinct), codes


def _max_per_key(code: IntArray, day: FloatArray, keys: int, *, smallest: bool = False) -> FloatArray:
    use = (code >= 0) & ~np.isnan(day)
    grouped = pd.Series(day[use]).groupby(code[use])
    found = grouped.min() if smallest else grouped.max()
    result = np.full(keys, np.nan)
    result[found.index.to_numpy(np.int64)] = found.to_numpy(np.float64)
    return result


def order_facts(customers: pd.DataFrame, orders: pd.DataFrame, *, today: dt.date) -> OrderFacts:
    """Count, first/last order and spend per customer id, by the rules in this module's docstring."""
    row_code, keys, (code,) = key_codes(customers, orders)
    day, bad_date = parse_dates(text_column(orders, "order_date"))
    future = day > day_number(today)
    day[future] = np.nan
    live = ~future
    status, unknown_status = choices_of(text_column(orders, "status"), ORDERS.field("status"))
    counted = live & ~status.isin(EXCLUDED_STATUSES).to_numpy(bool) & (code >= 0)

    amount, bad_amount = parse_numbers(text_column(orders, "amount"), minimum=0)
    currency = text_column(orders, "currency").str.upper()
    currency_ok = (currency == "") | currency.str.fullmatch(r"[A-Z]{3}").fillna(False)
    bad_currency = int((~currency_ok).sum())
    currency = currency.where(currency_ok, "?").where(currency != "", NO_CURRENCY)
    valued = counted & ~np.isnan(amount) & currency_ok.to_numpy(bool)

    spend: dict[str, FloatArray] = {}
    valued_count: dict[str, IntArray] = {}
    currency_values = currency.to_numpy(object)
    names = sorted(set(currency_values[valued]), key=lambda c: (c == NO_CURRENCY, c))
    for name in names:
        rows = valued & (currency_values == name)
        spend[name] = np.bincount(code[rows], weights=amount[rows], minlength=keys).astype(np.float64)
        valued_count[name] = np.bincount(code[rows], minlength=keys).astype(np.int64)

    any_order = code >= 0
    return OrderFacts(
        row_code=row_code,
        keys=keys,
        count=np.bincount(code[counted], minlength=keys).astype(np.int64),
        first_day=_max_per_key(code[counted], day[counted], keys, smallest=True),
        last_day=_max_per_key(code[counted], day[counted], keys),
        last_any_day=_max_per_key(code[any_order], day[any_order], keys),
        spend=spend,
        valued=valued_count,
        stats={
            "orders": len(orders),
            "counted": int(counted.sum()),
            "cancelled_or_returned": int((live & status.isin(EXCLUDED_STATUSES).to_numpy(bool)).sum()),
            "unknown_customer": int((code < 0).sum()),
            "bad_order_date": bad_date,
            "future_order_date": int(future.sum()),
            "unknown_status": unknown_status,
            "bad_amount": bad_amount,
            "bad_currency": bad_currency,
        },
    )


def compute_rollups(
    customers: pd.DataFrame, orders: pd.DataFrame, *, today: dt.date, decimals: int = 2
) -> pd.DataFrame:
    """Order roll-ups per customer row, as text cells: see the module docstring for the rules.

    Columns: ``order_count``, ``first_order``, ``last_order``, then ``total_spent`` and
    ``avg_order_value`` (one pair per currency when the orders hold several). Counts of
    what was left out are in ``result.attrs["stats"]``.

        >>> compute_rollups(customers, orders, today=date(2026, 11, 22))["order_count"].tolist()
        ['3', '0', '1']
    """
    facts = order_facts(customers, orders, today=today)
    count = facts.per_row(facts.count, 0)
    columns: dict[str, object] = {
        "order_count": count.astype(str).astype(object),
        "first_order": format_dates(facts.per_row(facts.first_day, np.nan)),
        "last_order": format_dates(facts.per_row(facts.last_day, np.nan)),
    }
    currencies = list(facts.spend) or [NO_CURRENCY]
    for name in currencies:
        suffix = "" if len(currencies) == 1 else f"_{name}"
        valued = facts.per_row(facts.valued.get(name, np.zeros(facts.keys, np.int64)), 0)
        spend = facts.per_row(facts.spend.get(name, np.zeros(facts.keys)), 0.0)
        has = valued > 0
        total = np.where(has, spend, np.nan)
        average = np.where(has, spend / np.maximum(valued, 1), np.nan)
        columns[f"total_spent{suffix}"] = format_numbers(total, decimals=decimals)
        columns[f"avg_order_value{suffix}"] = format_numbers(average, decimals=decimals)
    result = pd.DataFrame(columns, index=customers.index).astype("str")
    result.attrs["stats"] = dict(facts.stats)
    return result

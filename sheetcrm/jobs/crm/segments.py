"""Customer segments from the orders: lifecycle stage, RFM scores and segments, and rule-based tags.

Everything here counts orders the way :mod:`.rollups` does (cancelled and returned orders
and orders dated after ``today`` left out) and works per customer row, indexed like the
customers. Ages are whole days before ``today``; "within N days" means an age of at most
N, so an order exactly N days old is still within.
"""

from __future__ import annotations

import datetime as dt
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sheetcrm.errors import ConfigError
from sheetcrm.jobs.crm.rollups import (
    FloatArray,
    IntArray,
    OrderFacts,
    day_number,
    order_facts,
    parse_numbers,
)

__all__ = ["RFM_SEGMENTS", "STAGES", "lifecycle", "rfm", "tags_from_rules"]

STAGES = ("prospect", "new", "active", "loyal", "lapsing", "dormant", "churned")
"""Every lifecycle stage; ``""`` is written for a customer whose orders all lack a readable date."""

# The R/F grid: the ten-segment map of (recency score, frequency score) known as `seg_map`,
# from Miuul's CRM Analytics course and copied in many public RFM notebooks:
#   [1-2][1-2] Hibernating, [1-2][3-4] At Risk, [1-2]5 Can't Lose, 3[1-2] About To Sleep,
#   33 Need Attention, [3-4][4-5] Loyal, 41 Promising, 51 New Customers,
#   [4-5][2-3] Potential Loyalist, 5[4-5] Champions
# It covers each of the 25 cells once. The eleventh segment, Lost ("lowest recency,
# frequency and monetary scores": Putler's RFM table, https://www.putler.com/rfm-analysis/,
# and the R package rfm, https://rdocumentation.org/packages/rfm/topics/rfm_segment) is the
# R=1 half of Hibernating: our own split, so that the long gone are told from the asleep.
_GRID = {  # R score: the segment for F = 1, 2, 3, 4, 5
    5: ("New Customers", "Potential Loyalist", "Potential Loyalist", "Champions", "Champions"),
    4: ("Promising", "Potential Loyalist", "Potential Loyalist", "Loyal", "Loyal"),
    3: ("About To Sleep", "About To Sleep", "Need Attention", "Loyal", "Loyal"),
    2: ("Hibernating", "Hibernating", "At Risk", "At Risk", "Cannot Lose Them"),
    1: ("Lost", "Lost", "At Risk", "At Risk", "Cannot Lose Them"),
}
RFM_SEGMENTS: dict[tuple[int, int], str] = {
    (r, f): name for r, row in _GRID.items() for f, name in enumerate(row, start=1)
}
"""The segment of each (R, F) score pair."""


def lifecycle(
    customers: pd.DataFrame,
    orders: pd.DataFrame,
    *,
    today: dt.date,
    new_days: int = 90,
    loyal_orders: int = 3,
    active_days: int = 180,
    dormant_days: int = 365,
    churned_days: int = 730,
) -> pd.Series:
    """The lifecycle stage of each customer row; the first rule that holds wins.

    1. ``prospect``: no counted order.
    2. ``churned``: last order more than ``churned_days`` ago.
    3. ``dormant``: last order more than ``dormant_days`` ago.
    4. ``new``: first order within ``new_days``.
    5. ``loyal``: at least ``loyal_orders`` counted orders, the last within ``active_days``.
    6. ``active``: last order within ``active_days``.
    7. ``lapsing``: the rest, last order between ``active_days`` and ``dormant_days`` ago
       (without it those customers would have no stage).

    ``""`` for a customer whose counted orders all lack a readable date.

        >>> lifecycle(customers, orders, today=date(2026, 11, 22)).tolist()
        ['loyal', 'prospect', 'dormant']
    """
    if not 0 <= active_days <= dormant_days <= churned_days:
        raise ConfigError(
            "lifecycle: need active_days <= dormant_days <= churned_days",
            hint=f"got {active_days}, {dormant_days}, {churned_days}",
        )
    facts = order_facts(customers, orders, today=today)
    now = day_number(today)
    count = facts.per_row(facts.count, 0)
    since_last = now - facts.per_row(facts.last_day, np.nan)
    since_first = now - facts.per_row(facts.first_day, np.nan)
    undated = np.isnan(since_last)
    # np.select takes the first condition that holds; NaN comparisons are False.
    stage = np.select(
        [
            count == 0,
            undated,
            since_last > churned_days,
            since_last > dormant_days,
            since_first <= new_days,
            (count >= loyal_orders) & (since_last <= active_days),
            since_last <= active_days,
        ],
        np.array(["prospect", "", "churned", "dormant", "new", "loyal", "active"], dtype=object),
        default="lapsing",
    )
    return pd.Series(stage, index=customers.index, dtype="str", name="lifecycle")


def _scores(values: FloatArray, groups: IntArray | None = None) -> IntArray:
    """Quintile scores 1-5, higher values higher scores; equal values always get the same score.

    Each value's mid-rank among the n values (ties share the average rank) is put in one of
    five equal bins: score = floor((rank - 0.5) * 5 / n) + 1. With n a multiple of five this
    is qcut on ranks; with one customer the score is 3, with two 2 and 4. It depends on the
    values only, not on row order. ``groups`` scores each group among itself.
    """
    series = pd.Series(values)
    if groups is None:
        rank = series.rank(method="average").to_numpy()
        n = np.full(len(values), len(values))
    else:
        by = pd.Series(groups)
        rank = series.groupby(by).rank(method="average").to_numpy()
        n = by.map(by.value_counts()).to_numpy()
    scores: IntArray = (np.floor((rank - 0.5) * 5 / n) + 1).astype(np.int64)
    return scores


def _monetary_scores(facts: OrderFacts, has: IntArray, rates: Mapping[str, float] | None) -> IntArray:
    """M scores of the keys in ``has``, 0 for a key without a readable amount.

    One currency, or several with ``rates``: one total, scored among all. Several without
    rates: amounts in different units cannot be ranked together, so each customer is scored
    among those who spent in the same currency, and keeps its best score.
    """
    units: list[tuple[FloatArray, IntArray]] = []
    if len(facts.spend) > 1 and rates is not None:
        lacking = sorted(set(facts.spend) - set(rates))
        if lacking:
            raise ConfigError(
                f"rfm: no rate for currency {lacking[0]!r}", hint="give rates={'CNY': 1.0, 'USD': 7.1, …}"
            )
        total = sum((spend * rates[name] for name, spend in facts.spend.items()), np.zeros(facts.keys))
        units.append((total, sum(facts.valued.values(), np.zeros(facts.keys, np.int64))))
    else:
        units = [(facts.spend[name], facts.valued[name]) for name in facts.spend]
    best = np.zeros(len(has), np.int64)
    for spend, valued in units:
        spent = valued[has] > 0
        scored = np.zeros(len(has), np.int64)
        scored[spent] = _scores(spend[has][spent])
        best = np.maximum(best, scored)
    return best


def rfm(
    customers: pd.DataFrame,
    orders: pd.DataFrame,
    *,
    today: dt.date,
    rates: Mapping[str, float] | None = None,
    segments: Mapping[tuple[int, int], str] = RFM_SEGMENTS,
) -> pd.DataFrame:
    """RFM scores (1-5, text) and the named segment of each customer row; ``""`` for customers without orders.

    R scores days since the last counted order (recent is 5), F the number of counted
    orders, M their total amount. Each is scored among the distinct customer ids that have a
    dated counted order, by quintile of rank (see :func:`_scores`: equal values share a
    score, small populations are handled, the result does not depend on row order). With
    several currencies, M is ranked within each currency unless ``rates`` convert them to
    one unit; M is ``""`` for a customer none of whose orders has a readable amount. The
    segment comes from R and F through ``segments`` (:data:`RFM_SEGMENTS`).

        >>> rfm(customers, orders, today=date(2026, 11, 22)).loc[2].to_dict()
        {'R': '5', 'F': '4', 'M': '5', 'rfm_segment': 'Champions'}
    """
    facts = order_facts(customers, orders, today=today)
    has = np.flatnonzero((facts.count > 0) & ~np.isnan(facts.last_day))
    r = _scores(-(day_number(today) - facts.last_day[has]))
    f = _scores(facts.count[has].astype(np.float64))
    m = _monetary_scores(facts, has, rates)
    names = np.array([segments[int(a), int(b)] for a, b in zip(r, f, strict=True)], dtype=object)

    def spread(values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        per_key = np.full(facts.keys, "", dtype=object)
        per_key[has] = values
        return facts.per_row(per_key, "")

    return pd.DataFrame(
        {
            "R": spread(r.astype(str)),
            "F": spread(f.astype(str)),
            "M": spread(np.where(m > 0, m.astype(str), "")),
            "rfm_segment": spread(names),
        },
        index=customers.index,
        dtype="str",
    )


_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}


def tags_from_rules(rollups: pd.DataFrame, rules: Sequence[Mapping[str, Any]]) -> pd.Series:
    """Tags per row from simple rules, joined with ", " in rule order (``""`` when none applies).

    A rule is ``{"tag": "high value", "field": "total_spent", "op": ">=", "value": 10000}``;
    ``op`` is one of ``>= > <= < == !=``. A number ``value`` compares the field as numbers,
    a text one as text (ISO dates order correctly as text). Blank cells match no rule.

        >>> tags_from_rules(rollups, [{"tag": "repeat", "field": "order_count", "op": ">=", "value": 2}]).tolist()
        ['repeat', '', '']
    """
    tags = pd.Series("", index=rollups.index, dtype="str")
    for number, rule in enumerate(rules, start=1):
        missing = {"tag", "field", "op", "value"} - set(rule)
        unknown = set(rule) - {"tag", "field", "op", "value"}
        if missing or unknown:
            wrong = f"lacks {sorted(missing)}" if missing else f"has unknown keys {sorted(unknown)}"
            raise ConfigError(
                f"tag rule {number} {wrong}", hint='e.g. {"tag": "vip", "field": …, "op": ">=", "value": …}'
            )
        name, op, value = rule["field"], rule["op"], rule["value"]
        if op not in _OPERATORS:
            raise ConfigError(f"tag rule {number}: unknown op {op!r}", hint=f"use one of {' '.join(_OPERATORS)}")
        if name not in rollups.columns:
            raise ConfigError(
                f"tag rule {number}: no column {name!r}", hint=f"columns: {', '.join(map(str, rollups.columns))}"
            )
        text = rollups[name].astype("str").fillna("").str.strip()
        if isinstance(value, int | float) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise ConfigError(f"tag rule {number}: value must be a finite number, not {value!r}")
            numbers, _ = parse_numbers(text)
            hit = _OPERATORS[op](numbers, value) & ~np.isnan(numbers)
        else:
            hit = (_OPERATORS[op](text, str(value)) & (text != "")).to_numpy(bool)
        tag = str(rule["tag"])
        joined = pd.Series(np.where(tags == "", tag, tags + ", " + tag), index=tags.index, dtype="str")
        tags = tags.where(~np.asarray(hit, dtype=bool), joined)
    return tags.rename("tags")

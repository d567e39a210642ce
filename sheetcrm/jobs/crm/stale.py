"""Stale customers and opportunities, as findings: who needs a call, which deal needs a look.

A customer's *last touch* is the latest of its ``last_contact``, its ``updated_at`` (when the
sheet has one), its latest interaction and its latest order (any status: a cancelled order
is still a conversation). Dates after ``today`` are not touches (they have not happened;
usually a typo) and are counted in ``stats``. Each customer row is checked for:

- ``overdue``: the last touch is more than the review cadence of its tier ago (VIP 30 days,
  Key 60, Standard 90 by default; tiers compared through the schema's choices, so ``"vip"``
  and ``"VIP客户"`` are VIP; blank or unknown tiers get ``default_days``). Exactly the
  cadence is not overdue yet. ``days_overdue`` = age of the last touch - cadence.
- ``no-touch``: no touch at all and ``created_at`` (when readable) more than a cadence ago;
  ``days_overdue`` counts from ``created_at``, or is None when that is unknown too.
- ``no-contact-details``: neither a phone nor an email.

An opportunity whose stage is not won or lost (blank and unknown stages count as open) is
checked for:

- ``past-close``: ``expected_close`` is before ``today``; ``days_overdue`` = days since it.
- ``not-updated``: ``updated_at`` is more than its customer's cadence ago (``default_days``
  when the customer is not found).

    >>> report = find_stale(customers, interactions=interactions, orders=orders, today=date(2026, 11, 22))
    >>> report.flatten(["sheet", "row", "code", "days_overdue"])
    [['Customers', 5, 'overdue', 12], ['Customers', 9, 'no-contact-details', None]]
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from sheetcrm.jobs.crm.findings import FindingsTable
from sheetcrm.jobs.crm.rollups import (
    FloatArray,
    IntArray,
    choices_of,
    day_number,
    format_dates,
    key_codes,
    parse_dates,
    text_column,
)
from sheetcrm.schema.fields import fold
from sheetcrm.schema.tables import CUSTOMERS, OPPORTUNITIES

__all__ = ["DEFAULT_CADENCE", "StaleCode", "StaleFinding", "StaleReport", "find_stale"]

DEFAULT_CADENCE: Mapping[str, int] = {"VIP": 30, "Key": 60, "Standard": 90}
CLOSED_STAGES = frozenset({"won", "lost"})


class StaleCode(StrEnum):
    """Stable codes of stale findings."""

    OVERDUE = "overdue"
    NO_TOUCH = "no-touch"
    NO_CONTACT_DETAILS = "no-contact-details"
    PAST_CLOSE = "past-close"
    NOT_UPDATED = "not-updated"


_MESSAGES = {
    StaleCode.OVERDUE: "last touched {last_touch}, {days_overdue} days past its {cadence_days}-day review",
    StaleCode.NO_TOUCH: "never contacted, ordered or updated",
    StaleCode.NO_CONTACT_DETAILS: "has neither a phone number nor an email address",
    StaleCode.PAST_CLOSE: "still open {days_overdue} days after its expected close",
    StaleCode.NOT_UPDATED: "last updated {last_touch}, {days_overdue} days past its {cadence_days}-day review",
}
_COLUMNS = ["sheet", "row", "code", "key", "last_touch", "days_overdue", "cadence_days"]


@dataclass(frozen=True)
class StaleFinding:
    """One stale row: ``Customers`` row 14 (``C-000013``) last touched 2026-05-02, 115 days overdue."""

    sheet: str
    row: int
    code: StaleCode
    key: str  # the row's customer_id or opportunity_id
    last_touch: str  # YYYY-MM-DD, or "" when there is none
    days_overdue: int | None
    cadence_days: int | None

    @property
    def message(self) -> str:
        return _MESSAGES[self.code].format(**asdict(self))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["code"] = str(self.code)
        data["message"] = self.message
        return data


@dataclass
class StaleReport(FindingsTable):
    """The stale findings, one row each in ``table`` (sheet, row, code, key, last_touch, days_overdue, cadence_days).

    ``findings`` gives them as :class:`StaleFinding` objects; ``stats`` counts them and the
    values that were left out (unreadable or future dates, unknown tiers or stages).
    """

    table: pd.DataFrame
    counts: dict[str, int] = field(default_factory=dict)

    @functools.cached_property
    def findings(self) -> list[StaleFinding]:
        t = self.table
        return [
            StaleFinding(sheet, int(row), StaleCode(code), key, touch, _int_or_none(days), _int_or_none(cadence))
            for sheet, row, code, key, touch, days, cadence in zip(
                t["sheet"], t["row"], t["code"], t["key"], t["last_touch"], t["days_overdue"], t["cadence_days"],
                strict=True,
            )
        ]  # fmt: skip


def _int_or_none(value: Any) -> int | None:
    return None if pd.isna(value) else int(value)


def _latest(*days: FloatArray) -> FloatArray:
    stacked = np.vstack(days)
    out = np.full(stacked.shape[1], np.nan)
    has = ~np.isnan(stacked).all(axis=0)
    out[has] = np.nanmax(stacked[:, has], axis=0)
    return out


def _cadence_days(tiers: pd.Series, cadence: Mapping[str, int], default_days: int) -> tuple[IntArray, int]:
    """The review cadence of each tier (through the schema's choices; cadence keys compared folded)."""
    canonical, unknown = choices_of(tiers, CUSTOMERS.field("tier"))
    by_fold = {fold(name): days for name, days in cadence.items()}
    # A tier the schema does not know may still be a cadence key of the team's own ("Gold").
    spelled = canonical.where(canonical != "", tiers.astype("str").fillna(""))
    days = spelled.map(lambda tier: by_fold.get(fold(tier), default_days)).to_numpy(np.int64)
    return days, unknown


def _finding_rows(
    sheet: str,
    code: StaleCode,
    where: np.ndarray[Any, Any],
    rows: pd.Index,
    keys: pd.Series,
    touch: FloatArray,
    overdue: FloatArray,
    cadence: FloatArray,
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sheet": sheet,
            "row": rows.to_numpy()[where],
            "code": str(code),
            "key": keys.to_numpy(object)[where],
            "last_touch": format_dates(touch[where]),
            "days_overdue": pd.array(overdue[where], dtype="Int64"),
            "cadence_days": pd.array(cadence[where], dtype="Int64"),
        }
    )


def _max_by_code(code: IntArray, day: FloatArray, keys: int) -> FloatArray:
    use = (code >= 0) & ~np.isnan(day)
    found = pd.Series(day[use]).groupby(code[use]).max()
    out = np.full(keys + 1, np.nan)  # the last slot is for rows with no key
    out[found.index.to_numpy(np.int64)] = found.to_numpy(np.float64)
    return out


def find_stale(
    customers: pd.DataFrame,
    *,
    interactions: pd.DataFrame | None = None,
    orders: pd.DataFrame | None = None,
    opportunities: pd.DataFrame | None = None,
    today: dt.date,
    cadence: Mapping[str, int] = DEFAULT_CADENCE,
    default_days: int = 90,
    opportunity_cadence: Mapping[str, int] | None = None,
) -> StaleReport:
    """Customers and open opportunities that need attention, by the rules in the module docstring.

    Frames are indexed by sheet row number; the findings' ``row`` is that number.
    ``opportunity_cadence`` (per tier of the deal's customer) replaces ``cadence`` for
    the ``not-updated`` check when given.
    """
    now = day_number(today)
    counts: dict[str, int] = {}
    empty = pd.DataFrame(columns=["customer_id"], dtype="str")
    others = [frame if frame is not None else empty for frame in (interactions, orders, opportunities)]
    row_code, keys, (interaction_code, order_code, opportunity_code) = key_codes(customers, *others)
    slot = np.where(row_code >= 0, row_code, keys)

    def dates(frame: pd.DataFrame, column: str, label: str, *, with_time: bool = False) -> FloatArray:
        day, bad = parse_dates(text_column(frame, column), with_time=with_time)
        future = day > now
        day[future] = np.nan
        if bad:
            counts[f"bad_{label}"] = bad
        if future.any():
            counts[f"future_{label}"] = int(future.sum())
        return day

    touches = [
        dates(customers, "last_contact", "last_contact"),
        dates(customers, "updated_at", "customer_updated_at", with_time=True),
        _max_by_code(interaction_code, dates(others[0], "date", "interaction_date"), keys)[slot],
        _max_by_code(order_code, dates(others[1], "order_date", "order_date"), keys)[slot],
    ]
    touch = _latest(*touches)
    created = dates(customers, "created_at", "created_at")
    cadence_days, unknown_tiers = _cadence_days(text_column(customers, "tier"), cadence, default_days)
    if unknown_tiers:
        counts["unknown_tier"] = unknown_tiers
    cadence_f = cadence_days.astype(np.float64)
    ids = text_column(customers, "customer_id")
    nothing = np.full(len(customers), np.nan)

    age = now - touch
    overdue = np.flatnonzero(age > cadence_f)
    untouched_age = np.where(np.isnan(touch), now - created, np.nan)
    # No touch and no readable created_at: nothing says the customer is new, so flag it.
    untouched = np.flatnonzero(np.isnan(touch) & ~(untouched_age <= cadence_f))
    blank_contact = np.flatnonzero(
        ((text_column(customers, "phone") == "") & (text_column(customers, "email") == "")).to_numpy(bool)
    )
    parts = [
        _finding_rows("Customers", StaleCode.OVERDUE, overdue, customers.index, ids, touch, age - cadence_f, cadence_f),
        _finding_rows(
            "Customers",
            StaleCode.NO_TOUCH,
            untouched,
            customers.index,
            ids,
            touch,
            untouched_age - cadence_f,
            cadence_f,
        ),
        _finding_rows(
            "Customers", StaleCode.NO_CONTACT_DETAILS, blank_contact, customers.index, ids, touch, nothing, nothing
        ),
    ]

    if opportunities is not None:
        stage, unknown_stages = choices_of(text_column(opportunities, "stage"), OPPORTUNITIES.field("stage"))
        if unknown_stages:
            counts["unknown_stage"] = unknown_stages
        is_open = ~stage.isin(CLOSED_STAGES).to_numpy(bool)
        close, bad_close = parse_dates(text_column(opportunities, "expected_close"))  # may rightly lie ahead
        if bad_close:
            counts["bad_expected_close"] = bad_close
        updated = dates(opportunities, "updated_at", "opportunity_updated_at", with_time=True)
        deal_cadence = cadence_f
        if opportunity_cadence is not None:
            deal_days, _ = _cadence_days(text_column(customers, "tier"), opportunity_cadence, default_days)
            deal_cadence = deal_days.astype(np.float64)
        by_key = np.full(keys + 1, float(default_days))  # the last slot: customer not found
        known = row_code >= 0
        by_key[row_code[known]] = deal_cadence[known]  # rows sharing an id: the last row's tier wins
        opp_cadence = by_key[np.where(opportunity_code >= 0, opportunity_code, keys)]
        opp_ids = text_column(opportunities, "opportunity_id")
        past = np.flatnonzero(is_open & (close < now))
        stale_update = np.flatnonzero(is_open & (now - updated > opp_cadence))
        no_cadence = np.full(len(opportunities), np.nan)
        parts += [
            _finding_rows(
                "Opportunities", StaleCode.PAST_CLOSE, past, opportunities.index, opp_ids, updated, now - close,
                no_cadence,
            ),
            _finding_rows(
                "Opportunities", StaleCode.NOT_UPDATED, stale_update, opportunities.index, opp_ids, updated,
                now - updated - opp_cadence, opp_cadence,
            ),
        ]  # fmt: skip

    table = pd.concat([part for part in parts if len(part)] or [parts[0]], ignore_index=True)
    order = {code: position for position, code in enumerate(StaleCode)}
    table = (
        table.assign(_sheet=table["sheet"] != "Customers", _code=table["code"].map(order))
        .sort_values(["_sheet", "row", "_code"], kind="stable")
        .drop(columns=["_sheet", "_code"])
        .reset_index(drop=True)
    )
    counts["customers"] = len(customers)
    if opportunities is not None:
        counts["opportunities"] = len(opportunities)
    return StaleReport(table=table[_COLUMNS], counts=counts)

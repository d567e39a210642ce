"""Order pipeline tracking: orders that moved the wrong way, and orders waiting too long.

The statuses an order moves through come from :class:`~sheetcrm.config.PipelineConfig`:
``statuses`` is the line (received → confirmed → processing → shipped → completed by
default), ``exits`` the statuses outside it and the statuses each may be reached from
(cancelled from received, confirmed or processing; returned from shipped or completed).
A status cell is read through the schema's choices and synonyms (``"Shipped"``,
``"已发货"`` and ``"shipped"`` are one status); a status of the team's own that the
schema does not know matches a configured name when equal to it up to case and spacing.

sheetcrm remembers what it saw: ``seen`` maps each *order key* (the ``order_id`` stripped
and upper-cased, see :func:`order_keys`) to the status it had on an earlier run and the
first run-day it was seen in it (:class:`SeenStatus`). Each order row is checked for:

- ``skipped``: moved forward more than one step along ``statuses`` since it was seen
  (received → shipped). ``previous`` holds the status it was seen in.
- ``backward``: moved back along ``statuses`` (shipped → confirmed), or out of an exit
  status back into the line (cancelled → processing).
- ``not-allowed``: moved into an exit status from one ``exits`` does not list for it
  (received → returned).
- ``unknown-status``: a status that is not blank and is not one of ``statuses`` or
  ``exits`` (a typo, or a schema choice the configured line leaves out).
- ``not-shipped``: in one of the *waiting* statuses (those of ``statuses`` after the first
  and before ``shipped_status``: confirmed and processing by default) for more than
  ``ship_within_days`` days. The clock starts on ``seen``'s ``since`` when the order was
  seen in a waiting status already; on ``today`` (age 0) when it was seen in another
  status (it has just come into waiting); and on its ``order_date``, when readable, for an
  order never seen before, so a sheet adopted today flags its old confirmed orders (an
  unreadable ``order_date`` starts it on ``today``).
- ``not-delivered``: in ``shipped_status`` for more than ``deliver_within_days`` days. The
  clock starts on ``shipped_at`` when readable; else on ``seen``'s ``since`` when the order
  was seen shipped already; else on ``today`` when it was seen in another status (it has
  just been shipped, and an empty ``shipped_at`` is filled with today, see below); else,
  never seen, on ``order_date`` when readable, else on ``today``.
- ``duplicate-id``: its order key is on another row too. Every such row is reported, and
  none of them is checked for moves (which row was seen is unknown); the clocks still run.

``days_overdue`` = age - limit; exactly the limit is not overdue yet. An order never seen
before (or with a blank ``order_id``) has nothing to compare with, so it is checked for
neither ``skipped``, ``backward`` nor ``not-allowed``, and it has not *moved*. A blank status
is flagged for nothing. An unchanged status is no move.

*Fills*: a row that moved (a status unlike the one seen; never-seen orders do not move)
into ``shipped_status`` with an empty ``shipped_at`` gets today's date there, and one that
moved into ``delivered_status`` with an empty ``delivered_at`` gets it there. Only the date
of the status reached is filled: processing → completed fills ``delivered_at`` and leaves
``shipped_at`` empty, since nobody saw when it shipped and today would be a made-up date.

*State* to remember after a successful run: each keyed, non-duplicate row with a known
status gets its status, with ``since`` kept from ``seen`` when the status is unchanged and
``today`` otherwise; an order seen for the first time gets its ``order_date`` (when readable
and before today), the day its clocks were started from, so that an order flagged late on
its first run is still late on the next. Rows whose status is blank or unknown, and duplicate rows, keep what
was seen (so fixing a typo next week compares with the status before it); orders no longer
on the sheet are forgotten. A move from one waiting status to another (confirmed →
processing) keeps ``since``: the order is still waiting to ship, and the ``not-shipped``
clock runs on from the day it first waited.

    >>> report = check_pipeline(orders, today=date(2026, 11, 22), seen=store.load())
    >>> report.flatten(["row", "code", "previous", "days_overdue"])
    [[7, 'skipped', 'received', None], [12, 'not-shipped', 'confirmed', 4]]
    >>> report.flags[7]
    'skipped confirmed'
    >>> store.save(report.state)
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from sheetcrm.config import PipelineConfig
from sheetcrm.jobs.crm.findings import FindingsTable
from sheetcrm.jobs.crm.rollups import (
    BoolArray,
    FloatArray,
    IntArray,
    customer_keys,
    day_number,
    format_dates,
    parse_dates,
    text_column,
)
from sheetcrm.schema.fields import fold
from sheetcrm.schema.tables import ORDERS

__all__ = [
    "PipelineCode",
    "PipelineFinding",
    "PipelineReport",
    "SeenStatus",
    "check_pipeline",
    "order_keys",
    "skipped_steps",
    "transition",
]

SHEET = "Orders"
_STATUS_FIELD = ORDERS.field("status")


class PipelineCode(StrEnum):
    """Stable codes of pipeline findings, in the order a row's findings are listed."""

    SKIPPED = "skipped"
    BACKWARD = "backward"
    NOT_ALLOWED = "not-allowed"
    UNKNOWN_STATUS = "unknown-status"
    NOT_SHIPPED = "not-shipped"
    NOT_DELIVERED = "not-delivered"
    DUPLICATE_ID = "duplicate-id"


_COLUMNS = ["sheet", "row", "code", "order_id", "status", "previous", "since", "days_overdue"]
_TRANSITIONS = (PipelineCode.SKIPPED, PipelineCode.BACKWARD, PipelineCode.NOT_ALLOWED)


@dataclass(frozen=True)
class SeenStatus:
    """What sheetcrm saw for an order on an earlier run: its canonical status, and since when.

    ``since`` is the first run-day the order was seen in that status.

        >>> SeenStatus("shipped", date(2026, 11, 20))
        SeenStatus(status='shipped', since=datetime.date(2026, 11, 20))
    """

    status: str
    since: dt.date


@dataclass(frozen=True)
class PipelineFinding:
    """One order row in trouble: ``Orders`` row 12 (``O-000123``), confirmed since 2026-11-15, 4 days overdue.

    ``previous`` is the status the order was seen in (``""`` when never seen). ``since`` is
    the day the clock started for ``not-shipped`` and ``not-delivered``, and for the other
    codes the day the order was first seen in ``previous`` (``""`` when never seen).
    ``skipped`` lists the steps a ``skipped`` move jumped over.
    """

    sheet: str
    row: int
    code: PipelineCode
    order_id: str
    status: str
    previous: str
    since: str
    days_overdue: int | None
    skipped: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        """A short text, the one written into the flags column: ``"not shipped, 4 days overdue"``."""
        days = f"{self.days_overdue} day{'' if self.days_overdue == 1 else 's'} overdue"
        match self.code:
            case PipelineCode.SKIPPED:
                return f"skipped {', '.join(self.skipped) or 'a step'}"
            case PipelineCode.BACKWARD:
                return f"moved back from {self.previous}"
            case PipelineCode.NOT_ALLOWED:
                return f"{self.status} not allowed after {self.previous}"
            case PipelineCode.UNKNOWN_STATUS:
                return f"unknown status {json.dumps(self.status, ensure_ascii=False)}"
            case PipelineCode.NOT_SHIPPED:
                return f"not shipped, {days}"
            case PipelineCode.NOT_DELIVERED:
                return f"not delivered, {days}"
            case PipelineCode.DUPLICATE_ID:
                return "duplicate order id"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["code"] = str(self.code)
        data["skipped"] = list(self.skipped)
        data["message"] = self.message
        return data


@dataclass(frozen=True, eq=False)
class PipelineReport(FindingsTable):
    """The pipeline findings and what a job writes and remembers after them.

    - ``table``: one row per finding (sheet, row, code, order_id, status, previous, since,
      days_overdue), sorted by row and then in :class:`PipelineCode` order.
    - ``fills``: indexed by row, columns ``shipped_at`` and ``delivered_at``: today's date
      where the cell is to be filled, ``""`` where not; only rows with a fill.
    - ``state``: order key -> :class:`SeenStatus` to remember after a successful run.
    - ``flags``: text indexed like the orders, the row's finding messages joined by ``"; "``.
    - ``counts``: ``orders``; ``blank_id``, ``blank_status``, ``bad_dates`` (unreadable
      order_date, shipped_at, delivered_at cells); ``seen`` (rows whose order was seen),
      ``new`` (keyed rows never seen), ``moved``, ``unchanged``; the findings of each code
      (``skipped``, ``backward``, ``not_allowed``, ``unknown_status``, ``not_shipped``,
      ``not_delivered``, ``duplicate_id``); ``filled_shipped_at``, ``filled_delivered_at``;
      ``remembered`` (entries in ``state``).
    """

    table: pd.DataFrame
    fills: pd.DataFrame
    state: dict[str, SeenStatus]
    flags: pd.Series
    counts: dict[str, int] = field(default_factory=dict)
    rules: PipelineConfig = field(default_factory=PipelineConfig)

    @functools.cached_property
    def findings(self) -> list[PipelineFinding]:
        return _findings(self.table, self.rules)


# -- statuses -------------------------------------------------------------------------------


def order_keys(ids: pd.Series) -> pd.Series:
    """The form order ids are matched in, the keys of ``seen``: stripped and upper-cased."""
    return customer_keys(ids)


def _names(rules: PipelineConfig) -> list[str]:
    """Every configured status: the line, then the exits; a status's position is its code."""
    return [*rules.statuses, *rules.exits]


def _canonical(value: str, names: Sequence[str]) -> str | None:
    text = value.strip()
    if not text:
        return None
    choice = _STATUS_FIELD.choice_for(text)
    if choice in names:
        return choice
    # A status of the team's own, unknown to the schema, spelled in another case or spacing.
    key = fold(text)
    return next((name for name in names if fold(name) == key), None)


def _status_codes(values: pd.Series, names: Sequence[str]) -> IntArray:
    """Each value's position in ``names`` (-1 when blank or unknown), matched once per distinct value."""
    codes, uniques = pd.factorize(values.astype("str").fillna(""))
    lookup = np.array([names.index(c) if (c := _canonical(u, names)) else -1 for u in uniques] + [-1], np.int64)
    return lookup[codes]


def _transition_of(previous: str, current: str, rules: PipelineConfig) -> PipelineCode | None:
    """The finding a move between two different configured statuses makes, if any."""
    if current in rules.exits:
        return None if previous in rules.exits[current] else PipelineCode.NOT_ALLOWED
    if previous in rules.exits:
        return PipelineCode.BACKWARD
    step = rules.statuses.index(current) - rules.statuses.index(previous)
    return PipelineCode.BACKWARD if step < 0 else PipelineCode.SKIPPED if step > 1 else None


def transition(previous: str, current: str, rules: PipelineConfig | None = None) -> PipelineCode | None:
    """The finding one move makes, or None when it is fine (or nothing can be said).

    Both statuses are read as cells are (choices, synonyms, case). A blank ``current``, a
    blank or unknown ``previous`` and an unchanged status give None; an unknown ``current``
    gives ``unknown-status``.

        >>> transition("received", "Shipped")
        <PipelineCode.SKIPPED: 'skipped'>
        >>> transition("已确认", "processing") is None
        True
    """
    rules = rules if rules is not None else PipelineConfig()
    names = _names(rules)
    now, before = _canonical(current, names), _canonical(previous, names)
    if now is None:
        return PipelineCode.UNKNOWN_STATUS if current.strip() else None
    if before is None or before == now:
        return None
    return _transition_of(before, now, rules)


def skipped_steps(previous: str, current: str, rules: PipelineConfig | None = None) -> tuple[str, ...]:
    """The statuses of the line strictly between two (configured) statuses; ``()`` when there are none."""
    rules = rules if rules is not None else PipelineConfig()
    if previous not in rules.statuses or current not in rules.statuses:
        return ()
    return tuple(rules.statuses[rules.statuses.index(previous) + 1 : rules.statuses.index(current)])


# -- findings -------------------------------------------------------------------------------


def _int_or_none(value: Any) -> int | None:
    return None if pd.isna(value) else int(value)


def _findings(table: pd.DataFrame, rules: PipelineConfig) -> list[PipelineFinding]:
    t = table
    return [
        PipelineFinding(
            sheet, int(row), PipelineCode(code), order_id, status, previous, since, _int_or_none(days),
            skipped_steps(previous, status, rules) if code == PipelineCode.SKIPPED else (),
        )
        for sheet, row, code, order_id, status, previous, since, days in zip(
            t["sheet"], t["row"], t["code"], t["order_id"], t["status"], t["previous"], t["since"], t["days_overdue"],
            strict=True,
        )
    ]  # fmt: skip


def _messages(table: pd.DataFrame, rules: PipelineConfig) -> npt.NDArray[np.object_]:
    """Each finding's message, made once per distinct (code, status, previous, days_overdue)."""
    days = table["days_overdue"].astype("str").fillna("")
    combo = table["code"].astype("str") + "\0" + table["status"] + "\0" + table["previous"] + "\0" + days
    codes, _ = pd.factorize(combo)
    _, first = np.unique(codes, return_index=True)
    distinct = _findings(table.iloc[first], rules)
    return np.array([f.message for f in distinct], dtype=object)[codes]


def _flags(table: pd.DataFrame, index: pd.Index, rules: PipelineConfig) -> pd.Series:
    """Per order row, its findings' messages joined by ``"; "`` (``""`` for rows without any)."""
    out = np.full(len(index), "", dtype=object)
    if not table.empty:
        messages = _messages(table, rules)
        at = index.get_indexer(pd.Index(table["row"]))
        # The table is sorted by row: a row's n-th finding is appended in the n-th pass (few passes).
        nth = table.groupby("row", sort=False).cumcount().to_numpy()
        for n in range(int(nth.max()) + 1):
            pick = nth == n
            out[at[pick]] = messages[pick] if n == 0 else out[at[pick]] + "; " + messages[pick]
    return pd.Series(out, index=index, dtype="str")


# -- the check ------------------------------------------------------------------------------


def _seen_arrays(
    seen: Mapping[str, SeenStatus], names: Sequence[str]
) -> tuple[pd.Index, npt.NDArray[np.object_], IntArray, FloatArray]:
    """The keys of ``seen``, each one's status, its code (-1 when no longer configured) and ``since`` day."""
    values = list(seen.values())
    text = pd.Series([v.status for v in values], dtype="str")
    status = _status_codes(text, names)
    # Few distinct days: convert each once (numpy converting a million dates one by one is slow).
    day_codes, days = pd.factorize(pd.Series([v.since for v in values], dtype=object))
    day_values = np.array([day_number(d) for d in days] + [np.nan], dtype=np.float64)
    return pd.Index(list(seen), dtype="str"), text.to_numpy(object), status, day_values[day_codes]


def check_pipeline(
    orders: pd.DataFrame, *, today: dt.date, seen: Mapping[str, SeenStatus], rules: PipelineConfig | None = None
) -> PipelineReport:
    """Check each order's move since ``seen`` and how long it has waited, by the rules in the module docstring.

    ``orders`` is a text frame indexed by sheet row number (``order_id``, ``status``,
    ``order_date``, ``shipped_at``, ``delivered_at`` are read; missing columns are blank).

        >>> report = check_pipeline(orders, today=date(2026, 11, 22), seen={"O-1": SeenStatus("received", day)})
        >>> report.flatten(["row", "code", "previous"])
        [[2, 'skipped', 'received']]
    """
    rules = rules if rules is not None else PipelineConfig()
    names = _names(rules)
    now = float(day_number(today))
    size = len(orders)
    index = orders.index

    ids = text_column(orders, "order_id")
    keys = order_keys(ids)
    keyed = (keys != "").to_numpy(bool)
    duplicate = keyed & keys.duplicated(keep=False).to_numpy(bool)
    status_text = text_column(orders, "status")
    current = _status_codes(status_text, names)
    blank_status = (status_text == "").to_numpy(bool)
    unknown = ~blank_status & (current < 0)

    previous = np.full(size, -1, np.int64)
    previous_shown = np.full(size, "", dtype=object)
    since = np.full(size, np.nan)
    at = np.full(size, -1, np.int64)
    if seen and size:
        seen_keys, seen_text, seen_status, seen_since = _seen_arrays(seen, names)
        at = np.where(keyed, seen_keys.get_indexer(pd.Index(keys)), -1).astype(np.int64)
        hit = at >= 0
        previous[hit] = seen_status[at[hit]]
        previous_shown[hit] = seen_text[at[hit]]
        since[hit] = seen_since[at[hit]]
    found = at >= 0

    compared = found & ~duplicate & (current >= 0)
    moved = compared & (current != previous)
    unchanged = compared & (current == previous)
    move_code = np.full(size, -1, np.int64)
    judged = moved & (previous >= 0)
    if judged.any():
        # One verdict per distinct (previous, current) pair: there are a few dozen at most.
        pair_codes, pairs = pd.factorize(previous[judged] * len(names) + current[judged])
        codes = list(PipelineCode)
        verdicts = [_transition_of(names[p // len(names)], names[p % len(names)], rules) for p in pairs]
        lookup = np.array([-1 if v is None else codes.index(v) for v in verdicts], np.int64)
        move_code[judged] = lookup[pair_codes]

    order_day, bad_order_date = parse_dates(text_column(orders, "order_date"))
    shipped_text = text_column(orders, "shipped_at")
    shipped_day, bad_shipped_at = parse_dates(shipped_text)
    delivered_text = text_column(orders, "delivered_at")
    _, bad_delivered_at = parse_dates(delivered_text)
    order_or_today = np.where(np.isnan(order_day), now, order_day)

    shipped = names.index(rules.shipped_status)
    delivered = names.index(rules.delivered_status)
    fill_shipped = moved & (current == shipped) & (shipped_text == "").to_numpy(bool)
    fill_delivered = moved & (current == delivered) & (delivered_text == "").to_numpy(bool)

    # Waiting statuses: after the first of the line and before shipped_status (none when that is an exit).
    end = rules.statuses.index(rules.shipped_status) if rules.shipped_status in rules.statuses else 1
    waiting = (current >= 1) & (current < end)
    was_waiting = found & (previous >= 1) & (previous < end)
    ship_clock = np.where(was_waiting, since, np.where(found, now, order_or_today))
    ship_age = now - ship_clock
    not_shipped = waiting & (ship_age > rules.ship_within_days)

    was_shipped = found & (previous == shipped)
    fallback = np.where(was_shipped, since, np.where(found, now, order_or_today))
    deliver_clock = np.where(np.isnan(shipped_day), fallback, shipped_day)
    deliver_age = now - deliver_clock
    not_delivered = (current == shipped) & (deliver_age > rules.deliver_within_days)

    # Each finding as (row position, code, clock start, days overdue); the table is made once, sorted.
    found_rows: list[IntArray] = []
    found_codes: list[IntArray] = []
    found_since: list[FloatArray] = []
    found_overdue: list[FloatArray] = []
    code_list = list(PipelineCode)

    def add(code: PipelineCode, where: BoolArray, clock: FloatArray = since, overdue: FloatArray | None = None) -> None:
        rows = np.flatnonzero(where)
        found_rows.append(rows)
        found_codes.append(np.full(len(rows), code_list.index(code), np.int64))
        found_since.append(clock[rows])
        found_overdue.append(np.full(len(rows), np.nan) if overdue is None else overdue[rows])

    for code in _TRANSITIONS:
        add(code, move_code == code_list.index(code))
    add(PipelineCode.UNKNOWN_STATUS, unknown)
    add(PipelineCode.NOT_SHIPPED, not_shipped, ship_clock, ship_age - rules.ship_within_days)
    add(PipelineCode.NOT_DELIVERED, not_delivered, deliver_clock, deliver_age - rules.deliver_within_days)
    add(PipelineCode.DUPLICATE_ID, duplicate)
    table = _table(
        index,
        np.concatenate(found_rows),
        np.concatenate(found_codes),
        np.concatenate(found_since),
        np.concatenate(found_overdue),
        ids=ids,
        status_text=status_text,
        current=current,
        previous=previous,
        previous_shown=previous_shown,
        names=names,
    )

    filled = fill_shipped | fill_delivered
    fills = pd.DataFrame(
        {
            "shipped_at": np.where(fill_shipped[filled], today.isoformat(), ""),
            "delivered_at": np.where(fill_delivered[filled], today.isoformat(), ""),
        },
        index=index[filled],
        dtype="str",
    )

    changed = keyed & ~duplicate & (current >= 0) & ~unchanged
    state = _state(keys, current, changed, found, at, seen, names, today)
    # confirmed -> processing: still waiting to ship, so the shipping clock keeps its start
    still_waiting = changed & was_waiting & waiting
    for key, code in zip(keys[still_waiting].tolist(), current[still_waiting].tolist(), strict=True):
        state[key] = SeenStatus(names[code], seen[key].since)
    # A first sighting remembers the clock it was judged by (the order date), not today: else
    # an order flagged late today would look fresh tomorrow, its clock restarted.
    first_seen = changed & ~found & (order_day < now)
    if first_seen.any():
        ordered = format_dates(order_day[first_seen])
        for key, code, day in zip(keys[first_seen].tolist(), current[first_seen].tolist(), ordered, strict=True):
            state[key] = SeenStatus(names[code], dt.date.fromisoformat(day))
    counts = {
        "orders": size,
        "blank_id": int((~keyed).sum()),
        "blank_status": int(blank_status.sum()),
        "bad_dates": bad_order_date + bad_shipped_at + bad_delivered_at,
        "seen": int(found.sum()),
        "new": int((keyed & ~found).sum()),
        "moved": int(moved.sum()),
        "unchanged": int(unchanged.sum()),
        **{str(code).replace("-", "_"): int((table["code"] == code).sum()) for code in PipelineCode},
        "filled_shipped_at": int(fill_shipped.sum()),
        "filled_delivered_at": int(fill_delivered.sum()),
        "remembered": len(state),
    }
    flags = _flags(table, index, rules)
    return PipelineReport(table=table, fills=fills, state=state, flags=flags, counts=counts, rules=rules)


def _table(
    index: pd.Index,
    rows: IntArray,
    codes: IntArray,
    since: FloatArray,
    overdue: FloatArray,
    *,
    ids: pd.Series,
    status_text: pd.Series,
    current: IntArray,
    previous: IntArray,
    previous_shown: npt.NDArray[np.object_],
    names: Sequence[str],
) -> pd.DataFrame:
    """The findings table, sorted by row and code; values are gathered for the finding rows only."""
    row_number = index.to_numpy()
    order = np.lexsort((codes, row_number[rows]))
    rows, codes, since, overdue = rows[order], codes[order], since[order], overdue[order]
    name_of = np.array([*names, ""], dtype=object)  # code -1 is the last: ""
    now, before = current[rows], previous[rows]
    table = pd.DataFrame(
        {
            "sheet": SHEET,
            "row": row_number[rows],
            "code": np.array([str(c) for c in PipelineCode], dtype=object)[codes],
            "order_id": ids.iloc[rows].to_numpy(object),
            "status": np.where(now >= 0, name_of[now], status_text.iloc[rows].to_numpy(object)),
            "previous": np.where(before >= 0, name_of[before], previous_shown[rows]),
            "since": format_dates(since),
            "days_overdue": pd.Series(overdue, dtype="float64").astype("Int64").array,
        },
        columns=_COLUMNS,
    )
    text = ["sheet", "code", "order_id", "status", "previous", "since"]
    table[text] = table[text].astype("str")
    return table


def _state(
    keys: pd.Series,
    current: IntArray,
    changed: BoolArray,
    found: BoolArray,
    at: IntArray,
    seen: Mapping[str, SeenStatus],
    names: Sequence[str],
    today: dt.date,
) -> dict[str, SeenStatus]:
    """What to remember (see the module docstring): ``seen`` with the ``changed`` rows' statuses as of today.

    Every row found in ``seen`` and not changed keeps its entry (unchanged, or blank, unknown or
    duplicate); entries of orders no longer on the sheet are dropped.
    """
    # Start from seen: on a usual day nearly everything is unchanged, and its keys are hashed already.
    state = dict(seen)
    used = np.zeros(len(state), dtype=bool)
    used[at[found]] = True
    if not used.all():
        listed = list(state)
        for position in np.flatnonzero(~used):
            del state[listed[position]]
    fresh = np.empty(len(names) + 1, dtype=object)  # one shared object per status: they are immutable
    fresh[:] = [*(SeenStatus(name, today) for name in names), None]
    state.update(zip(keys[changed].tolist(), fresh[current[changed]].tolist(), strict=True))
    return state

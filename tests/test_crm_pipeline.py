"""The order pipeline check: moves between statuses, waiting clocks, fills, the remembered state."""

from __future__ import annotations

import datetime as dt
import json
import random

import numpy as np
import pandas as pd
import pytest

from sheetcrm.config import PipelineConfig
from sheetcrm.jobs.crm import PipelineCode, SeenStatus, check_pipeline, order_keys, transition
from sheetcrm.jobs.crm.pipeline import skipped_steps
from sheetcrm.schema.tables import ORDERS

TODAY = dt.date(2026, 11, 22)
C = PipelineCode


def ago(days: int) -> dt.date:
    return TODAY - dt.timedelta(days=days)


def iso(days: int) -> str:
    return ago(days).isoformat()


def orders(*rows: dict[str, str], first_row: int = 2) -> pd.DataFrame:
    """A text frame as the sheet reader gives it: every column str, "" for blanks, indexed by row number."""
    columns = ["order_id", "status", "order_date", "shipped_at", "delivered_at"]
    data = pd.DataFrame(list(rows), columns=columns).fillna("").astype("str")
    data.index = pd.RangeIndex(first_row, first_row + len(data), name="row")
    return data


def order(
    order_id: str, status: str, order_date: str = "", shipped_at: str = "", delivered_at: str = ""
) -> dict[str, str]:
    return {
        "order_id": order_id,
        "status": status,
        "order_date": order_date,
        "shipped_at": shipped_at,
        "delivered_at": delivered_at,
    }


def seen(**entries: tuple[str, int]) -> dict[str, SeenStatus]:
    """seen(O_1=("received", 3)): order O-1 seen received since 3 days ago."""
    return {key.replace("_", "-"): SeenStatus(status, ago(days)) for key, (status, days) in entries.items()}


# -- one move --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("previous", "current", "expected"),
    [
        ("received", "confirmed", None),
        ("confirmed", "processing", None),
        ("processing", "shipped", None),
        ("shipped", "completed", None),
        ("shipped", "shipped", None),
        ("received", "processing", C.SKIPPED),
        ("received", "shipped", C.SKIPPED),
        ("confirmed", "completed", C.SKIPPED),
        ("shipped", "confirmed", C.BACKWARD),
        ("completed", "received", C.BACKWARD),
        ("cancelled", "processing", C.BACKWARD),
        ("returned", "shipped", C.BACKWARD),
        ("received", "cancelled", None),
        ("processing", "cancelled", None),
        ("shipped", "returned", None),
        ("completed", "returned", None),
        ("received", "returned", C.NOT_ALLOWED),
        ("shipped", "cancelled", C.NOT_ALLOWED),
        ("cancelled", "returned", C.NOT_ALLOWED),
        ("returned", "cancelled", C.NOT_ALLOWED),
        # Cells are read through the schema's choices and synonyms.
        ("Received", "已发货", C.SKIPPED),
        ("已确认", "In Progress", None),
        ("  SHIPPED ", "shipped", None),
        ("canceled", "已确认", C.BACKWARD),
        # Nothing to say about blanks and unknown previous statuses; an unknown current is a finding.
        ("received", "", None),
        ("", "shipped", None),
        ("shiped", "completed", None),
        ("received", "shiped", C.UNKNOWN_STATUS),
    ],
)
def test_transition_default_rules(previous: str, current: str, expected: PipelineCode | None) -> None:
    assert transition(previous, current) == expected
    assert transition(previous, current, PipelineConfig()) == expected


def test_transition_custom_line_and_exits() -> None:
    rules = PipelineConfig(
        statuses=["received", "confirmed", "shipped", "completed"],
        exits={"cancelled": ["received", "confirmed"], "On Hold": ["confirmed", "shipped"]},
    )
    assert transition("confirmed", "shipped", rules) is None  # no processing step to skip
    assert transition("received", "shipped", rules) == C.SKIPPED
    assert transition("confirmed", "processing", rules) == C.UNKNOWN_STATUS  # a schema choice left out of the line
    assert transition("confirmed", "on hold", rules) is None  # the team's own status, in any case
    assert transition("received", "ON  HOLD", rules) == C.NOT_ALLOWED
    assert transition("on hold", "shipped", rules) == C.BACKWARD
    assert transition("processing", "shipped", rules) is None  # previous not in this line: nothing to compare
    assert skipped_steps("received", "completed", rules) == ("confirmed", "shipped")
    assert skipped_steps("received", "confirmed", rules) == ()


def test_order_keys_strip_and_upper_case() -> None:
    assert order_keys(pd.Series([" o-000001 ", "O-000002", ""], dtype="str")).tolist() == ["O-000001", "O-000002", ""]


# -- moves between runs ----------------------------------------------------------------------


def test_moves_are_checked_against_what_was_seen() -> None:
    frame = orders(
        order("O-1", "shipped", iso(3)),  # received -> shipped: skipped confirmed, processing
        order("O-2", "confirmed", iso(3)),  # shipped -> confirmed: backward
        order("O-3", "Processing", iso(3)),  # cancelled -> processing: backward out of an exit
        order("O-4", "returned", iso(3)),  # received -> returned: not allowed
        order("O-5", "cancelled", iso(3)),  # confirmed -> cancelled: fine
        order("O-6", "confirmed", iso(3)),  # received -> confirmed: one step, fine
        order("O-7", "已发货", iso(3), iso(1)),  # shipped, unchanged in Chinese
        order("O-8", "completed", iso(3)),  # never seen: nothing to compare
    )
    before = seen(
        O_1=("received", 2),
        O_2=("shipped", 1),
        O_3=("cancelled", 5),
        O_4=("received", 2),
        O_5=("confirmed", 1),
        O_6=("received", 1),
        O_7=("shipped", 1),
    )
    report = check_pipeline(frame, today=TODAY, seen=before)
    assert report.flatten(["row", "code", "order_id", "status", "previous", "since", "days_overdue"]) == [
        [2, "skipped", "O-1", "shipped", "received", iso(2), None],
        [3, "backward", "O-2", "confirmed", "shipped", iso(1), None],
        [4, "backward", "O-3", "processing", "cancelled", iso(5), None],
        [5, "not-allowed", "O-4", "returned", "received", iso(2), None],
    ]
    assert [f.message for f in report.findings] == [
        "skipped confirmed, processing",
        "moved back from shipped",
        "moved back from cancelled",
        "returned not allowed after received",
    ]
    assert report.flags.tolist() == [f.message for f in report.findings] + ["", "", "", ""]
    assert report.flags.index.equals(frame.index)
    counts = report.counts
    assert (counts["moved"], counts["unchanged"], counts["seen"], counts["new"]) == (6, 1, 7, 1)
    assert (counts["skipped"], counts["backward"], counts["not_allowed"]) == (1, 2, 1)


def test_unknown_and_blank_statuses() -> None:
    frame = orders(order("O-1", "shiped"), order("O-2", ""), order("O-3", "done"), order("O-4", "received"))
    report = check_pipeline(frame, today=TODAY, seen=seen(O_1=("processing", 1), O_2=("processing", 1)))
    assert report.flatten(["row", "code", "status", "previous"]) == [
        [2, "unknown-status", "shiped", "processing"],
        [4, "unknown-status", "done", ""],
    ]
    assert report.flags[2] == 'unknown status "shiped"'
    assert (report.counts["unknown_status"], report.counts["blank_status"], report.counts["moved"]) == (2, 1, 0)


def test_a_schema_choice_outside_the_configured_line_is_unknown() -> None:
    rules = PipelineConfig(statuses=["received", "confirmed", "shipped", "completed"], exits={})
    frame = orders(order("O-1", "processing"), order("O-2", "cancelled"), order("O-3", "shipped", iso(1)))
    report = check_pipeline(frame, today=TODAY, seen=seen(O_3=("confirmed", 1)), rules=rules)
    assert report.flatten(["row", "code"]) == [[2, "unknown-status"], [3, "unknown-status"]]
    assert report.counts["moved"] == 1 and report.counts["skipped"] == 0  # confirmed -> shipped is one step here


def test_duplicate_ids_are_reported_and_not_checked_for_moves() -> None:
    frame = orders(
        order("O-1", "shipped", iso(1)),
        order(" o-1", "completed", iso(1)),  # the same key
        order("O-2", "shipped", iso(1)),
        order("", "shipped", iso(1)),  # blank ids are not duplicates of each other
        order("", "shipped", iso(1)),
    )
    report = check_pipeline(frame, today=TODAY, seen=seen(O_1=("received", 3), O_2=("received", 3)))
    assert report.flatten(["row", "code", "order_id"]) == [
        [2, "duplicate-id", "O-1"],
        [3, "duplicate-id", "o-1"],
        [4, "skipped", "O-2"],
    ]
    assert report.fills.index.tolist() == [4]  # duplicates do not move, so they fill nothing
    assert report.state == {"O-1": SeenStatus("received", ago(3)), "O-2": SeenStatus("shipped", TODAY)}
    assert (report.counts["duplicate_id"], report.counts["blank_id"]) == (2, 2)


# -- clocks ------------------------------------------------------------------------------------


def test_not_shipped_clock_from_seen_today_or_order_date() -> None:
    frame = orders(
        order("O-1", "confirmed", iso(30)),  # seen confirmed 4 days ago: 1 day overdue
        order("O-2", "processing", iso(30)),  # seen confirmed 3 days ago: exactly the limit, not overdue
        order("O-3", "processing", iso(30)),  # seen confirmed 9 days ago, moved on today: the clock goes on
        order("O-4", "confirmed", iso(30)),  # seen received: came into waiting today, 0 days
        order("O-5", "confirmed", iso(10)),  # never seen: from order_date, 7 days overdue
        order("O-6", "processing", "soon"),  # never seen, unreadable order_date: from today
        order("", "confirmed", iso(5)),  # no id, never seen: from order_date, 2 days overdue
        order("O-8", "received", iso(30)),  # received is not waiting yet
        order("O-9", "processing", iso(30)),  # back from shipped today: 0 days (and backward)
    )
    before = seen(
        O_1=("confirmed", 4), O_2=("confirmed", 3), O_3=("confirmed", 9), O_4=("received", 20), O_9=("shipped", 20)
    )
    report = check_pipeline(frame, today=TODAY, seen=before)
    assert report.flatten(["row", "code", "since", "days_overdue"]) == [
        [2, "not-shipped", iso(4), 1],
        [4, "not-shipped", iso(9), 6],
        [6, "not-shipped", iso(10), 7],
        [8, "not-shipped", iso(5), 2],
        [10, "backward", iso(20), None],
    ]
    assert report.flags[2] == "not shipped, 1 day overdue" and report.flags[6] == "not shipped, 7 days overdue"
    assert report.counts["bad_dates"] == 1


def test_not_shipped_waiting_statuses_follow_the_configured_line() -> None:
    rules = PipelineConfig(
        statuses=["received", "confirmed", "packed", "shipped", "completed"], exits={}, ship_within_days=0
    )
    frame = orders(order("O-1", "Packed", iso(1)), order("O-2", "received", iso(1)), order("O-3", "completed", iso(1)))
    report = check_pipeline(frame, today=TODAY, seen={}, rules=rules)
    assert report.flatten(["row", "code", "status", "days_overdue"]) == [[2, "not-shipped", "packed", 1]]


def test_not_delivered_clock_from_shipped_at_seen_order_date_or_today() -> None:
    frame = orders(
        order("O-1", "shipped", iso(40), iso(8)),  # shipped_at 8 days ago: 1 day overdue
        order("O-2", "shipped", iso(40), iso(7)),  # exactly the limit
        order("O-3", "shipped", iso(40)),  # seen shipped 10 days ago, no shipped_at: 3 days overdue
        order("O-4", "shipped", iso(40)),  # just moved into shipped: from today, and shipped_at is filled
        order("O-5", "shipped", iso(12)),  # never seen, no shipped_at: order_date, 5 days overdue
        order("O-6", "shipped", "", "last week"),  # never seen, nothing readable: today
        order("O-7", "shipped", iso(40), "2026-13-01"),  # moved in today, unreadable shipped_at: today
        order("O-8", "completed", iso(40), iso(30)),  # delivered: no clock
    )
    before = seen(O_3=("shipped", 10), O_4=("processing", 5), O_7=("processing", 5))
    report = check_pipeline(frame, today=TODAY, seen=before)
    assert report.flatten(["row", "code", "since", "days_overdue"]) == [
        [2, "not-delivered", iso(8), 1],
        [4, "not-delivered", iso(10), 3],
        [6, "not-delivered", iso(12), 5],
    ]
    assert report.fills.index.tolist() == [5]
    assert report.counts["bad_dates"] == 2


def test_custom_limits() -> None:
    rules = PipelineConfig(ship_within_days=0, deliver_within_days=30)
    frame = orders(order("O-1", "confirmed", iso(1)), order("O-2", "shipped", iso(40), iso(29)))
    report = check_pipeline(frame, today=TODAY, seen={}, rules=rules)
    assert report.flatten(["row", "code", "days_overdue"]) == [[2, "not-shipped", 1]]


# -- fills and state ---------------------------------------------------------------------------


def test_fills_only_the_date_of_the_status_reached_on_a_move() -> None:
    frame = orders(
        order("O-1", "shipped"),  # processing -> shipped: shipped_at
        order("O-2", "Shipped", shipped_at=iso(2)),  # moved, but shipped_at is there already
        order("O-3", "completed"),  # processing -> completed: delivered_at only
        order("O-4", "completed", shipped_at=iso(5)),  # shipped -> completed: delivered_at
        order("O-5", "shipped"),  # never seen: no move, no fill
        order("O-6", "已发货"),  # unchanged: no fill
        order("O-7", "completed", delivered_at=" "),  # a cell of spaces is empty
    )
    before = seen(
        O_1=("processing", 1),
        O_2=("processing", 1),
        O_3=("processing", 1),
        O_4=("shipped", 1),
        O_6=("shipped", 1),
        O_7=("shipped", 1),
    )
    report = check_pipeline(frame, today=TODAY, seen=before)
    day = TODAY.isoformat()
    assert report.fills.to_dict("index") == {
        2: {"shipped_at": day, "delivered_at": ""},
        4: {"shipped_at": "", "delivered_at": day},
        5: {"shipped_at": "", "delivered_at": day},
        8: {"shipped_at": "", "delivered_at": day},
    }
    assert report.fills.index.name == "row"
    assert (report.counts["filled_shipped_at"], report.counts["filled_delivered_at"]) == (1, 3)


def test_custom_fill_statuses() -> None:
    rules = PipelineConfig(
        statuses=["received", "confirmed", "dispatched", "delivered"],
        exits={},
        shipped_status="dispatched",
        delivered_status="delivered",
    )
    frame = orders(order("O-1", "Dispatched", iso(2)), order("O-2", "delivered", iso(2)))
    report = check_pipeline(frame, today=TODAY, seen=seen(O_1=("confirmed", 1), O_2=("dispatched", 1)), rules=rules)
    assert report.fills.to_dict("index") == {
        2: {"shipped_at": TODAY.isoformat(), "delivered_at": ""},
        3: {"shipped_at": "", "delivered_at": TODAY.isoformat()},
    }
    assert report.valid


def test_state_keeps_since_when_unchanged_starts_today_on_a_move_and_at_the_order_date_when_new() -> None:
    frame = orders(
        order("O-1", "shipped", iso(9), iso(1)),  # unchanged (other spelling): since kept
        order(" o-2 ", "completed", iso(9)),  # moved: today, under its key
        order("O-3", "confirmed", iso(1)),  # new: its order date, the day its clock started
        order("O-4", ""),  # blank: what was seen stays
        order("O-5", "shiped"),  # unknown: what was seen stays
        order("O-6", ""),  # blank and never seen: nothing
        order("", "confirmed"),  # no id: nothing
    )
    before = seen(
        O_1=("shipped", 1), O_2=("shipped", 1), O_4=("processing", 2), O_5=("confirmed", 2), O_9=("received", 3)
    )
    report = check_pipeline(frame, today=TODAY, seen=before)
    assert report.state == {
        "O-1": SeenStatus("shipped", ago(1)),
        "O-2": SeenStatus("completed", TODAY),
        "O-3": SeenStatus("confirmed", ago(1)),
        "O-4": SeenStatus("processing", ago(2)),
        "O-5": SeenStatus("confirmed", ago(2)),
    }  # O-9 is no longer on the sheet: forgotten
    assert report.state["O-1"] is before["O-1"]
    assert report.counts["remembered"] == 5
    # The next run compares with the state: the order fixed from "shiped" to "shipped" moved on from confirmed.
    frame.loc[6, "status"] = "shipped"
    again = check_pipeline(frame, today=TODAY + dt.timedelta(days=1), seen=report.state)
    assert again.flatten(["row", "code", "previous"]) == [[6, "skipped", "confirmed"]]


def test_seen_status_no_longer_configured_counts_as_a_move_without_a_verdict() -> None:
    rules = PipelineConfig(statuses=["received", "confirmed", "shipped", "completed"], exits={})
    frame = orders(order("O-1", "shipped", iso(3)))
    report = check_pipeline(frame, today=TODAY, seen=seen(O_1=("processing", 2)), rules=rules)
    assert report.valid
    assert report.counts["moved"] == 1
    assert report.fills.index.tolist() == [2]
    assert report.state == {"O-1": SeenStatus("shipped", TODAY)}


# -- the report --------------------------------------------------------------------------------


def test_several_findings_on_a_row_are_listed_in_code_order_and_joined() -> None:
    frame = orders(
        order("O-1", "shipped", iso(40), iso(20)),  # completed -> shipped: backward, and long shipped
        order("O-1", "bogus"),
        order("O-3", "completed"),
    )
    report = check_pipeline(frame, today=TODAY, seen=seen(O_1=("completed", 3), O_3=("completed", 3)))
    assert report.flatten(["row", "code"]) == [
        [2, "not-delivered"],
        [2, "duplicate-id"],
        [3, "unknown-status"],
        [3, "duplicate-id"],
    ]
    assert report.flags.tolist() == [
        "not delivered, 13 days overdue; duplicate order id",
        'unknown status "bogus"; duplicate order id',
        "",
    ]
    assert len(report) == 4 and not report.valid
    assert report.stats["by_code"] == {"duplicate-id": 2, "not-delivered": 1, "unknown-status": 1}
    data = json.loads(report.to_json())
    assert data["findings"][0]["message"] == "not delivered, 13 days overdue"
    assert data["findings"][0]["code"] == "not-delivered"
    assert list(report.table.columns) == [
        "sheet", "row", "code", "order_id", "status", "previous", "since", "days_overdue"
    ]  # fmt: skip
    assert report.table["sheet"].unique().tolist() == ["Orders"]


def test_transition_findings_on_a_moved_back_row_and_flags_of_a_row_with_two() -> None:
    frame = orders(order("O-1", "shipped", iso(40), iso(20)), first_row=10)
    report = check_pipeline(frame, today=TODAY, seen=seen(O_1=("completed", 3)))
    assert report.flatten(["row", "code"]) == [[10, "backward"], [10, "not-delivered"]]
    assert report.flags[10] == "moved back from completed; not delivered, 13 days overdue"


def test_empty_frames() -> None:
    report = check_pipeline(orders(), today=TODAY, seen=seen(O_1=("shipped", 2)))
    assert report.valid and len(report) == 0
    assert report.state == {} and report.fills.empty and report.flags.empty
    assert list(report.fills.columns) == ["shipped_at", "delivered_at"]
    bare = pd.DataFrame(index=pd.RangeIndex(2, 4, name="row"))  # no columns at all
    assert check_pipeline(bare, today=TODAY, seen={}).counts["blank_status"] == 2


# -- against a plain loop, and at scale -----------------------------------------------------------


Plain = tuple[list[list[object]], dict[int, dict[str, str]], dict[str, SeenStatus]]


def _plain(frame: pd.DataFrame, before: dict[str, SeenStatus], rules: PipelineConfig) -> Plain:
    """The rules of the module docstring, one order at a time: findings, fills and state."""
    names = [*rules.statuses, *rules.exits]
    today = TODAY.isoformat()
    keys = [str(i).strip().upper() for i in frame["order_id"]]
    findings: list[list[object]] = []
    fills: dict[int, dict[str, str]] = {}
    state: dict[str, SeenStatus] = {}

    def day(text: str) -> dt.date | None:
        try:
            return dt.date.fromisoformat(text.strip()) if len(text.strip()) == 10 else None
        except ValueError:
            return None

    for position, (row, data) in enumerate(zip(frame.index.tolist(), frame.to_dict("records"), strict=True)):
        key = keys[position]
        dup = bool(key) and keys.count(key) > 1
        status = str(data["status"]).strip()
        choice = ORDERS.field("status").choice_for(status) if status else None
        known = choice if choice in names else None
        entry = before.get(key) if key else None
        codes: list[tuple[PipelineCode, int | None]] = []
        if entry and known and not dup and entry.status in names and entry.status != known:
            verdict = transition(entry.status, known, rules)
            if verdict:
                codes.append((verdict, None))
        if status and not known:
            codes.append((C.UNKNOWN_STATUS, None))
        end = rules.statuses.index(rules.shipped_status)
        if known in rules.statuses[1:end]:
            if entry and entry.status in rules.statuses[1:end]:
                start = entry.since
            elif entry:
                start = TODAY
            else:
                start = day(data["order_date"]) or TODAY
            if (TODAY - start).days > rules.ship_within_days:
                codes.append((C.NOT_SHIPPED, (TODAY - start).days - rules.ship_within_days))
        if known == rules.shipped_status:
            start = day(data["shipped_at"]) or (
                (entry.since if entry.status == known else TODAY) if entry else day(data["order_date"]) or TODAY
            )
            if (TODAY - start).days > rules.deliver_within_days:
                codes.append((C.NOT_DELIVERED, (TODAY - start).days - rules.deliver_within_days))
        if dup:
            codes.append((C.DUPLICATE_ID, None))
        order_of = list(PipelineCode)
        findings += [[row, str(c), d] for c, d in sorted(codes, key=lambda cd: order_of.index(cd[0]))]
        if entry and known and not dup and entry.status != known:  # a move
            fill = {
                "shipped_at": today if known == rules.shipped_status and not data["shipped_at"].strip() else "",
                "delivered_at": today if known == rules.delivered_status and not data["delivered_at"].strip() else "",
            }
            if any(fill.values()):
                fills[row] = fill
        waiting = rules.statuses[1 : rules.statuses.index(rules.shipped_status)]
        if key and known and not dup:
            if entry and entry.status == known:
                state[key] = entry
            elif entry and entry.status in waiting and known in waiting:  # still waiting: the clock runs on
                state[key] = SeenStatus(known, entry.since)
            elif entry is None and day(data["order_date"]) and day(data["order_date"]) < TODAY:  # type: ignore[operator]
                state[key] = SeenStatus(known, day(data["order_date"]))  # type: ignore[arg-type]
            else:
                state[key] = SeenStatus(known, TODAY)
        elif entry:
            state[key] = entry
    return findings, fills, state


def test_confirmed_to_processing_keeps_the_shipping_clock() -> None:
    rules = PipelineConfig()
    before = {"O-1": SeenStatus("confirmed", ago(2))}
    moved = check_pipeline(orders(order("O-1", "processing", iso(5))), today=TODAY, seen=before, rules=rules)
    assert moved.state["O-1"] == SeenStatus("processing", ago(2))
    later = TODAY + dt.timedelta(days=2)
    report = check_pipeline(orders(order("O-1", "processing", iso(5))), today=later, seen=moved.state, rules=rules)
    assert report.flatten(["code", "days_overdue"]) == [["not-shipped", 1]]  # 4 days waiting, 3 allowed


def test_matches_a_plain_loop_on_random_orders() -> None:
    rng = random.Random(7)
    rules = PipelineConfig()
    spellings = ["received", "confirmed", "已确认", "processing", "shipped", "Shipped", "已发货", "completed",
                 "cancelled", "canceled", "returned", "", "shiped"]  # fmt: skip
    rows, before = [], {}
    for i in range(400):
        key = f"O-{rng.randrange(4000):06d}"
        date = rng.choice(["", "bad", *[iso(d) for d in range(0, 30, 3)]])
        shipped = rng.choice(["", "", iso(rng.randrange(20))])
        rows.append(order(key, rng.choice(spellings), date, shipped, rng.choice(["", iso(1)])))
        if rng.random() < 0.6:
            status = rng.choice([*rules.statuses, *rules.exits])
            before[key] = SeenStatus(status, ago(rng.randrange(15)))
        del i
    frame = orders(*rows)
    report = check_pipeline(frame, today=TODAY, seen=before, rules=rules)
    findings, fills, state = _plain(frame, before, rules)
    assert report.flatten(["row", "code", "days_overdue"]) == findings
    assert report.fills.to_dict("index") == fills
    assert report.state == state
    assert len(findings) > 200 and len(fills) > 10 and len(state) > 300  # a test that says something


def test_two_hundred_thousand_orders() -> None:
    n = 200_000
    quarter = np.arange(n) % 4
    ids = pd.Series([f"O-{i:07d}" for i in range(n)], dtype="str")
    status = np.array(["completed", "shipped", "shipped", "confirmed"], dtype=object)[quarter]
    frame = pd.DataFrame(
        {"order_id": ids, "status": status, "order_date": iso(10), "shipped_at": "", "delivered_at": iso(30)},
        dtype="str",
    )
    frame.index = pd.RangeIndex(2, n + 2, name="row")
    # Quarter 0 completed since long ago, 1 moves on from processing, 2 skips from received, 3 is new.
    previous = np.array(["completed", "processing", "received", ""], dtype=object)[quarter]
    before = {k: SeenStatus(p, ago(50)) for k, p in zip(ids.tolist(), previous.tolist(), strict=True) if p}
    report = check_pipeline(frame, today=TODAY, seen=before)
    counts = report.counts
    assert (counts["orders"], counts["seen"], counts["new"], counts["unchanged"]) == (n, 3 * n // 4, n // 4, n // 4)
    assert (counts["moved"], counts["skipped"], counts["filled_shipped_at"]) == (n // 2, n // 4, n // 2)
    assert (counts["not_shipped"], counts["not_delivered"], counts["remembered"]) == (n // 4, 0, n)
    assert report.table.loc[report.table["code"] == "not-shipped", "days_overdue"].eq(7).all()
    assert (report.flags != "").sum() == n // 2
    assert report.flags.iloc[2] == "skipped confirmed, processing"
    assert report.flags.iloc[3] == "not shipped, 7 days overdue"
    assert sum(s.since == TODAY for s in report.state.values()) == n // 2  # the movers; the new keep their date
    assert sum(s.since == ago(10) for s in report.state.values()) == n // 4


def test_an_order_flagged_late_on_its_first_run_is_still_late_on_the_next() -> None:
    frame = orders(order("O-1", "confirmed", iso(10)))
    first = check_pipeline(frame, today=TODAY, seen={})
    assert first.flatten(["code", "days_overdue"]) == [["not-shipped", 7]]
    later = TODAY + dt.timedelta(days=1)
    second = check_pipeline(frame, today=later, seen=first.state)
    assert second.flatten(["code", "days_overdue"]) == [["not-shipped", 8]]

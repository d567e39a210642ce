"""The computing core of the CRM jobs: roll-ups, stale findings, lifecycle, RFM and tags."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import sheetcrm
from sheetcrm.errors import ConfigError
from sheetcrm.jobs.crm import (
    RFM_SEGMENTS,
    StaleCode,
    compute_rollups,
    find_stale,
    lifecycle,
    rfm,
    tags_from_rules,
)
from sheetcrm.jobs.crm.rollups import format_numbers, parse_dates
from sheetcrm.sample import write_sample_workbook

TODAY = dt.date(2026, 11, 22)


def ago(days: int) -> str:
    return (TODAY - dt.timedelta(days=days)).isoformat()


def frame(rows: list[dict[str, str]], *, first_row: int = 2) -> pd.DataFrame:
    """A text frame as the sheet reader gives it: every column str, "" for blanks, indexed by row number."""
    data = pd.DataFrame(rows).fillna("").astype("str")
    data.index = pd.RangeIndex(first_row, first_row + len(data), name="row")
    return data


def customers(*ids: str, **columns: list[str]) -> pd.DataFrame:
    return frame([{"customer_id": cid, **{k: v[i] for k, v in columns.items()}} for i, cid in enumerate(ids)])


def orders(*rows: tuple[str, str, str, str, str]) -> pd.DataFrame:
    """(customer_id, order_date, status, amount, currency) per order."""
    keys = ("customer_id", "order_date", "status", "amount", "currency")
    return frame([dict(zip(keys, row, strict=True)) for row in rows])


# -- text helpers ----------------------------------------------------------------------------


def test_format_numbers_has_no_float_noise() -> None:
    values = np.array([1234.5, 3.0, 0.1 + 0.2, np.nan, 0.0, 274.65999999999997, 1e12 + 0.01])
    assert format_numbers(values).tolist() == ["1234.5", "3", "0.3", "", "0", "274.66", "1000000000000.01"]


def test_parse_dates_counts_bad_and_accepts_times_only_when_asked() -> None:
    values = pd.Series(["2026-01-05", "", "2026-02-30", "next week", "2026-01-05 14:30", " 2026-01-06 "], dtype="str")
    days, bad = parse_dates(values)
    assert bad == 3 and np.isnan(days).tolist() == [False, True, True, True, True, False]
    days, bad = parse_dates(values, with_time=True)
    assert bad == 2 and days[4] == days[0]


# -- roll-ups --------------------------------------------------------------------------------


def test_rollups_count_spend_and_dates_excluding_cancelled_and_returned() -> None:
    cust = customers("C-1", "C-2", "C-3")
    ords = orders(
        ("C-1", "2026-01-10", "completed", "1000.25", "CNY"),
        ("C-1", "2026-03-01", "shipped", "234.25", "CNY"),
        ("C-1", "2026-05-01", "canceled", "999", "CNY"),  # a synonym of cancelled
        ("C-1", "2025-12-01", "已退货", "50", "CNY"),  # returned, in Chinese; not the first order
        ("C-2", "2026-02-02", "", "0.1", "CNY"),  # blank status counts
        ("C-2", "2026-02-03", "done", "0.2", "CNY"),  # unknown status counts, and is counted
    )
    result = compute_rollups(cust, ords, today=TODAY)
    assert list(result.columns) == ["order_count", "first_order", "last_order", "total_spent", "avg_order_value"]
    assert result.to_dict("index") == {
        2: {
            "order_count": "2",
            "first_order": "2026-01-10",
            "last_order": "2026-03-01",
            "total_spent": "1234.5",
            "avg_order_value": "617.25",
        },
        3: {
            "order_count": "2",
            "first_order": "2026-02-02",
            "last_order": "2026-02-03",
            "total_spent": "0.3",
            "avg_order_value": "0.15",
        },
        4: {"order_count": "0", "first_order": "", "last_order": "", "total_spent": "", "avg_order_value": ""},
    }
    assert all(str(dtype) == "str" for dtype in result.dtypes)
    assert result.attrs["stats"]["cancelled_or_returned"] == 2
    assert result.attrs["stats"]["unknown_status"] == 1


def test_rollups_currency_mix_gets_a_column_pair_per_currency() -> None:
    cust = customers("C-1", "C-2")
    ords = orders(
        ("C-1", "2026-01-10", "completed", "100", "CNY"),
        ("C-1", "2026-01-11", "completed", "20", "usd"),  # case does not matter
        ("C-2", "2026-01-12", "completed", "7", ""),
        ("C-2", "2026-01-13", "completed", "8", "RMB¥"),  # not a currency code: no spend, counted
    )
    result = compute_rollups(cust, ords, today=TODAY)
    assert list(result.columns) == [
        "order_count",
        "first_order",
        "last_order",
        "total_spent_CNY",
        "avg_order_value_CNY",
        "total_spent_USD",
        "avg_order_value_USD",
        "total_spent_no_currency",
        "avg_order_value_no_currency",
    ]
    assert result.loc[2, ["total_spent_CNY", "total_spent_USD", "total_spent_no_currency"]].tolist() == [
        "100",
        "20",
        "",
    ]
    assert result.loc[3, ["order_count", "total_spent_CNY", "total_spent_no_currency"]].tolist() == ["2", "", "7"]
    assert result.attrs["stats"]["bad_currency"] == 1


def test_rollups_ignore_and_count_bad_values() -> None:
    cust = customers(" c-1 ", "C-2")  # ids match without case and spaces
    ords = orders(
        ("C-1", "2026-13-01", "completed", "10", "CNY"),  # bad date: counted, not first/last
        ("C-1", "2026-01-01", "completed", "ten", "CNY"),  # bad amount: counted, no spend
        ("C-1", "2026-01-02", "completed", "-5", "CNY"),  # negative: not a spend
        ("C-1", "2027-01-01", "completed", "99", "CNY"),  # after today: left out altogether
        ("C-9", "2026-01-01", "completed", "1", "CNY"),  # no such customer
    )
    result = compute_rollups(cust, ords, today=TODAY)
    assert result.loc[2].tolist() == ["3", "2026-01-01", "2026-01-02", "10", "10"]
    assert result.loc[3].tolist() == ["0", "", "", "", ""]
    stats = result.attrs["stats"]
    assert (stats["bad_order_date"], stats["bad_amount"], stats["future_order_date"], stats["unknown_customer"]) == (
        1,
        2,
        1,
        1,
    )


def test_rollups_are_idempotent_and_shared_by_duplicate_ids() -> None:
    cust = customers("C-1", "C-1", "", names=["Ann", "Ann B", "Nobody"])
    ords = orders(("C-1", "2026-01-10", "completed", "5", "CNY"), ("", "2026-01-10", "completed", "5", "CNY"))
    first = compute_rollups(cust, ords, today=TODAY)
    second = compute_rollups(pd.concat([cust, first], axis=1), ords, today=TODAY)
    pd.testing.assert_frame_equal(first, second)
    assert first["order_count"].tolist() == ["1", "1", "0"]


def test_rollups_without_orders() -> None:
    result = compute_rollups(customers("C-1"), orders(), today=TODAY)
    assert result.loc[2].to_dict() == {
        "order_count": "0",
        "first_order": "",
        "last_order": "",
        "total_spent": "",
        "avg_order_value": "",
    }


# -- stale -----------------------------------------------------------------------------------


def test_stale_cadence_by_tier_any_case_with_exact_boundaries() -> None:
    cust = customers(
        "C-1",
        "C-2",
        "C-3",
        "C-4",
        "C-5",
        "C-6",
        tier=["VIP", "vip", "VIP ", "key account", "Gold", ""],
        last_contact=[ago(30), ago(31), ago(45), ago(61), ago(91), ago(90)],
        phone=["1"] * 6,
    )
    report = find_stale(cust, today=TODAY)
    assert report.flatten(["row", "code", "last_touch", "days_overdue", "cadence_days"]) == [
        [3, "overdue", ago(31), 1, 30],
        [4, "overdue", ago(45), 15, 30],
        [5, "overdue", ago(61), 1, 60],
        [6, "overdue", ago(91), 1, 90],
    ]
    assert report.stats["unknown_tier"] == 1  # "Gold" gets default_days


def test_stale_last_touch_is_latest_of_contact_interactions_orders_and_updated_at() -> None:
    cust = customers(
        "C-1",
        "C-2",
        "C-3",
        "C-4",
        tier=["Standard"] * 4,
        last_contact=[ago(400), ago(400), ago(400), ago(-10)],  # C-4's is in the future: not a touch
        updated_at=["", "", f"{ago(5)} 09:30", ""],
        email=["a@x.cn"] * 4,
    )
    inter = frame([{"customer_id": "c-1", "date": ago(10)}, {"customer_id": "C-2", "date": "yesterday"}])
    ords = orders(("C-2", ago(20), "cancelled", "1", "CNY"))
    report = find_stale(cust, interactions=inter, orders=ords, today=TODAY)
    assert report.flatten(["row", "code", "days_overdue"]) == [[5, "no-touch", None]]
    assert report.stats["future_last_contact"] == 1 and report.stats["bad_interaction_date"] == 1


def test_stale_no_touch_and_no_contact_details() -> None:
    cust = customers(
        "C-1",
        "C-2",
        "C-3",
        created_at=[ago(10), ago(100), ""],
        phone=["", "", "+86 138 0013 8000"],
        email=["", "  ", ""],
    )
    report = find_stale(cust, today=TODAY, cadence={"standard": 90})
    assert report.flatten(["row", "code", "days_overdue"]) == [
        [2, "no-contact-details", None],
        [3, "no-touch", 10],
        [3, "no-contact-details", None],
        [4, "no-touch", None],
    ]
    assert not report.valid
    assert report.findings[1].code is StaleCode.NO_TOUCH
    assert json.loads(report.to_json())["stats"]["by_code"] == {"no-contact-details": 2, "no-touch": 2}


def test_stale_opportunities_past_close_and_not_updated_by_the_customers_cadence() -> None:
    cust = customers("C-1", "C-2", tier=["VIP", "Standard"], last_contact=[ago(1), ago(1)], phone=["1", "1"])
    opps = frame(
        [
            {"opportunity_id": "OP-1", "customer_id": "C-1", "stage": "proposal", "expected_close": ago(1)},
            {"opportunity_id": "OP-2", "customer_id": "C-1", "stage": "closed won", "expected_close": ago(100)},
            {"opportunity_id": "OP-3", "customer_id": "C-1", "stage": "", "expected_close": ago(0)},
            {"opportunity_id": "OP-4", "customer_id": "C-1", "stage": "lead", "updated_at": f"{ago(31)} 10:00"},
            {"opportunity_id": "OP-5", "customer_id": "C-2", "stage": "lead", "updated_at": ago(31)},
            {"opportunity_id": "OP-6", "customer_id": "C-9", "stage": "on hold", "updated_at": ago(91)},
            {"opportunity_id": "OP-7", "customer_id": "C-2", "stage": "lost", "updated_at": ago(900)},
        ]
    )
    report = find_stale(cust, opportunities=opps, today=TODAY)
    assert report.flatten(["sheet", "row", "code", "key", "days_overdue", "cadence_days"]) == [
        ["Opportunities", 2, "past-close", "OP-1", 1, None],
        ["Opportunities", 5, "not-updated", "OP-4", 1, 30],
        ["Opportunities", 7, "not-updated", "OP-6", 1, 90],
    ]
    assert report.stats["unknown_stage"] == 1


# -- lifecycle -------------------------------------------------------------------------------


def test_lifecycle_stages_boundaries_and_precedence() -> None:
    cases = {
        "C-01": ([], "prospect"),
        "C-02": ([ago(731)], "churned"),
        "C-03": ([ago(730)], "dormant"),  # exactly churned_days: still within
        "C-04": ([ago(366)], "dormant"),
        "C-05": ([ago(365)], "lapsing"),
        "C-06": ([ago(181)], "lapsing"),
        "C-07": ([ago(180)], "active"),
        "C-08": ([ago(90)], "new"),
        "C-09": ([ago(91)], "active"),
        "C-10": ([ago(80), ago(70), ago(1)], "new"),  # new wins over loyal
        "C-11": ([ago(300), ago(200), ago(180)], "loyal"),
        "C-12": ([ago(300), ago(200), ago(181)], "lapsing"),
        "C-13": ([ago(900), ago(800), ago(400)], "dormant"),
    }
    ords = orders(*[(cid, day, "completed", "1", "CNY") for cid, (days, _) in cases.items() for day in days])
    ords = pd.concat([ords, orders(("C-01", ago(3), "cancelled", "1", "CNY"))], ignore_index=True)
    result = lifecycle(customers(*cases), ords, today=TODAY)
    assert result.tolist() == [stage for _, stage in cases.values()]


def test_lifecycle_undated_orders_and_bad_settings() -> None:
    result = lifecycle(customers("C-1"), orders(("C-1", "someday", "completed", "1", "CNY")), today=TODAY)
    assert result.tolist() == [""]
    with pytest.raises(ConfigError):
        lifecycle(customers("C-1"), orders(), today=TODAY, active_days=400)


# -- RFM -------------------------------------------------------------------------------------


def test_rfm_grid_covers_every_cell_with_the_eleven_segments() -> None:
    assert sorted(RFM_SEGMENTS) == [(r, f) for r in range(1, 6) for f in range(1, 6)]
    assert set(RFM_SEGMENTS.values()) == {
        "Champions",
        "Loyal",
        "Potential Loyalist",
        "New Customers",
        "Promising",
        "Need Attention",
        "About To Sleep",
        "At Risk",
        "Cannot Lose Them",
        "Hibernating",
        "Lost",
    }
    assert RFM_SEGMENTS[5, 5] == "Champions" and RFM_SEGMENTS[1, 5] == "Cannot Lose Them"


def test_rfm_five_customers_score_one_to_five_and_no_orders_get_nothing() -> None:
    ids = [f"C-{n}" for n in range(1, 7)]
    rows = []
    for n in range(1, 6):  # C-n: n orders, the last 10*(6-n) days ago, n*100 spent
        rows += [(f"C-{n}", ago(10 * (6 - n) + k), "completed", "100", "CNY") for k in range(n)]
    result = rfm(customers(*ids), orders(*rows), today=TODAY)
    assert result["R"].tolist() == ["1", "2", "3", "4", "5", ""]
    assert result["F"].tolist() == ["1", "2", "3", "4", "5", ""]
    assert result["M"].tolist() == ["1", "2", "3", "4", "5", ""]
    assert result["rfm_segment"].tolist() == ["Lost", "Hibernating", "Need Attention", "Loyal", "Champions", ""]


def test_rfm_ties_share_a_score_small_populations_and_row_order_does_not_matter() -> None:
    one = rfm(customers("C-1"), orders(("C-1", ago(5), "completed", "10", "CNY")), today=TODAY)
    assert one.loc[2, ["R", "F", "M"]].tolist() == ["3", "3", "3"]
    two = rfm(
        customers("C-1", "C-2"),
        orders(("C-1", ago(5), "completed", "10", "CNY"), ("C-2", ago(50), "completed", "20", "CNY")),
        today=TODAY,
    )
    assert two["R"].tolist() == ["4", "2"] and two["M"].tolist() == ["2", "4"]
    ids = [f"C-{n}" for n in range(10)]
    ords = orders(*[(cid, ago(7), "completed", "50", "CNY") for cid in ids])  # all tied
    tied = rfm(customers(*ids), ords, today=TODAY)
    assert set(tied["R"]) == set(tied["F"]) == set(tied["M"]) == {"3"}
    mixed_ids = [f"C-{n}" for n in range(20)]
    mixed = orders(*[(cid, ago(n % 7), "completed", str(n % 4), "CNY") for n, cid in enumerate(mixed_ids)])
    forward = rfm(customers(*mixed_ids), mixed, today=TODAY)
    backward = rfm(customers(*reversed(mixed_ids)), mixed.iloc[::-1], today=TODAY)
    by_id = dict(zip(mixed_ids, forward.itertuples(index=False), strict=True))
    assert dict(zip(reversed(mixed_ids), backward.itertuples(index=False), strict=True)) == by_id


def test_rfm_monetary_with_several_currencies() -> None:
    cust = customers("C-1", "C-2", "C-3", "C-4")
    ords = orders(
        ("C-1", ago(1), "completed", "1000", "CNY"),
        ("C-2", ago(1), "completed", "10", "CNY"),
        ("C-3", ago(1), "completed", "200", "USD"),
        ("C-4", ago(1), "completed", "100", "USD"),
    )
    within = rfm(cust, ords, today=TODAY)  # ranked within each currency
    assert within["M"].tolist() == ["4", "2", "4", "2"]
    converted = rfm(cust, ords, today=TODAY, rates={"CNY": 1, "USD": 7})
    assert converted["M"].tolist() == ["4", "1", "5", "2"]  # 200 USD is 1400 CNY
    with pytest.raises(ConfigError, match="USD"):
        rfm(cust, ords, today=TODAY, rates={"CNY": 1})


# -- tags ------------------------------------------------------------------------------------


def test_tags_from_rules() -> None:
    rollups = frame(
        [
            {"order_count": "5", "total_spent": "12000", "last_order": "2026-11-01"},
            {"order_count": "1", "total_spent": "10000", "last_order": "2025-01-01"},
            {"order_count": "0", "total_spent": "", "last_order": ""},
        ]
    )
    rules: list[dict[str, Any]] = [
        {"tag": "high value", "field": "total_spent", "op": ">=", "value": 10000},
        {"tag": "repeat", "field": "order_count", "op": ">", "value": 1},
        {"tag": "lapsed", "field": "last_order", "op": "<", "value": "2026-01-01"},
        {"tag": "no spend", "field": "total_spent", "op": "<", "value": 1},  # blanks match nothing
    ]
    assert tags_from_rules(rollups, rules).tolist() == ["high value, repeat", "high value, lapsed", ""]
    with pytest.raises(ConfigError, match="unknown op"):
        tags_from_rules(rollups, [{"tag": "x", "field": "order_count", "op": "=>", "value": 1}])
    with pytest.raises(ConfigError, match="no column 'total_spent_CNY'"):
        tags_from_rules(rollups, [{"tag": "x", "field": "total_spent_CNY", "op": ">", "value": 1}])


# -- the sample workbook, checked independently ----------------------------------------------


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    path: Path = tmp_path_factory.mktemp("crm") / "sample.xlsx"
    write_sample_workbook(path, customers=300, seed=7, today=TODAY)
    workbook = sheetcrm.open_workbook(path)
    return {name: workbook[name].frame for name in ("Customers", "Orders", "Interactions", "Opportunities")}


def test_sample_rollups_match_a_plain_loop(sample: dict[str, pd.DataFrame]) -> None:
    gone = {"cancelled", "canceled", "returned"}
    count: Counter[str] = Counter()
    last: dict[str, str] = {}
    spent: dict[tuple[str, str], float] = {}
    for row in sample["Orders"].to_dict("records"):
        cid = row["customer_id"].strip().upper()
        if row["status"].strip().lower() in gone or row["order_date"] > TODAY.isoformat():
            continue
        count[cid] += 1
        last[cid] = max(last.get(cid, ""), row["order_date"])
        spent[cid, row["currency"]] = spent.get((cid, row["currency"]), 0.0) + float(row["amount"])
    result = compute_rollups(sample["Customers"], sample["Orders"], today=TODAY)
    for row_number, cid in sample["Customers"]["customer_id"].items():
        key = cid.strip().upper()
        assert result.loc[row_number, "order_count"] == str(count[key])
        assert result.loc[row_number, "last_order"] == last.get(key, "")
        for currency in ("CNY", "USD"):
            expected = f"{spent[key, currency]:.2f}" if (key, currency) in spent else ""
            got = result.loc[row_number, f"total_spent_{currency}"]
            assert (f"{float(got):.2f}" if got else "") == expected
    stages = lifecycle(sample["Customers"], sample["Orders"], today=TODAY)
    assert ((stages == "prospect") == (result["order_count"] == "0")).all()
    scores = rfm(sample["Customers"], sample["Orders"], today=TODAY)
    assert ((scores["rfm_segment"] == "") == (result["order_count"] == "0")).all()


def test_sample_stale_customers_match_a_plain_loop(sample: dict[str, pd.DataFrame]) -> None:
    latest: dict[str, str] = {}
    for name, column in (("Orders", "order_date"), ("Interactions", "date")):
        for cid, day in zip(sample[name]["customer_id"], sample[name][column], strict=True):
            if day <= TODAY.isoformat():
                latest[cid] = max(latest.get(cid, ""), day)
    expected = []
    for row_number, person in sample["Customers"].iterrows():
        days = [d for d in (person["last_contact"], latest.get(person["customer_id"], "")) if d]
        days = [d for d in days if len(d) == 10 and d[4] == "-" and d <= TODAY.isoformat()]
        try:
            touch = max(dt.date.fromisoformat(d) for d in days) if days else None
        except ValueError:  # an impossible date in last_contact: the interaction or order decides
            touch = max(dt.date.fromisoformat(d) for d in days[1:]) if days[1:] else None
        cadence = {"VIP": 30, "KEY": 60}.get(person["tier"].strip().upper(), 90)
        if touch is not None and (TODAY - touch).days > cadence:
            expected.append([row_number, (TODAY - touch).days - cadence])
    report = find_stale(sample["Customers"], interactions=sample["Interactions"], orders=sample["Orders"], today=TODAY)
    assert [r for r in report.flatten(["row", "code", "days_overdue"]) if r[1] == "overdue"] == [
        [row, "overdue", days] for row, days in expected
    ]

"""The pivot engine of reports: each figure checked against plain Python over the same rows."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from sheetcrm.errors import ConfigError
from sheetcrm.reports.model import Filter, ReportSpec, ReportTable, Value
from sheetcrm.reports.pivot import (
    REPORT_FORMATS,
    canonical_choices,
    filter_mask,
    group_field,
    pivot,
    typed_column,
)
from sheetcrm.schema.tables import OPPORTUNITIES, ORDERS

TODAY = dt.date(2026, 11, 22)

# The canonical status of each spelling the test orders use, written out by hand.
STATUS = {
    "shipped": "shipped",
    "Shipped ": "shipped",
    "SHIPPED": "shipped",
    "completed": "completed",
    "complete": "completed",
    "已完成": "completed",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "已取消": "cancelled",
    "returned": "returned",
    "已退货": "returned",
    "lost": "lost",  # no choice: kept as typed
    "": "(blank)",
}


def frame(rows: list[dict[str, str]], *, first_row: int = 2) -> pd.DataFrame:
    """A text frame as the sheet reader gives it: every column str, "" for blanks, indexed by row number."""
    data = pd.DataFrame(rows).fillna("").astype("str")
    data.index = pd.RangeIndex(first_row, first_row + len(data), name="row")
    return data


ORDER_ROWS: list[dict[str, str]] = [
    {"order_id": "O-1", "customer_id": "C-1", "order_date": "2026-01-05", "status": "shipped", "amount": "100", "quantity": "2", "region": "North"},
    {"order_id": "O-2", "customer_id": "c-1 ", "order_date": "2026-01-20", "status": "Shipped ", "amount": "50.5", "quantity": "1", "region": "North"},
    {"order_id": "O-3", "customer_id": "C-2", "order_date": "2026-02-03", "status": "canceled", "amount": "20", "quantity": "3", "region": "South"},
    {"order_id": "O-4", "customer_id": "C-3", "order_date": "2026-02-14", "status": "已取消", "amount": "abc", "quantity": "1", "region": "South"},
    {"order_id": "O-5", "customer_id": "C-2", "order_date": "2026-03-01", "status": "complete", "amount": "75.25", "quantity": "", "region": "East"},
    {"order_id": "O-6", "customer_id": "C-4", "order_date": "2026-03-31", "status": "已完成", "amount": "", "quantity": "4", "region": ""},
    {"order_id": "O-7", "customer_id": "C-5", "order_date": "not a date", "status": "lost", "amount": "10", "quantity": "5", "region": "North"},
    {"order_id": "O-8", "customer_id": "C-1", "order_date": "2025-12-31", "status": "returned", "amount": "200", "quantity": "2", "region": "West"},
    {"order_id": "O-9", "customer_id": "C-6", "order_date": "", "status": "", "amount": "30", "quantity": "1", "region": "East"},
    {"order_id": "O-10", "customer_id": "C-2", "order_date": "2026-04-02", "status": "SHIPPED", "amount": "12.75", "quantity": "6", "region": "South"},
    {"order_id": "O-11", "customer_id": "C-7", "order_date": "2026-04-30", "status": "已退货", "amount": "1e400", "quantity": "1", "region": "North"},
]  # fmt: skip


def orders() -> pd.DataFrame:
    return frame(ORDER_ROWS)


def number(text: str) -> float | None:
    """An amount as plain Python reads it: None when blank, unreadable or infinite."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if abs(value) != float("inf") else None


def day(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None


def spec(**settings: object) -> ReportSpec:
    return ReportSpec("test", "Test", "orders", **settings)  # type: ignore[arg-type]


def run(report: ReportSpec, data: pd.DataFrame | None = None, schema: object = ORDERS) -> ReportTable:
    return pivot(orders() if data is None else data, report, schema=schema, today=TODAY, source="Orders")  # type: ignore[arg-type]


# -- grouping and aggregations --------------------------------------------------------------------


def test_count_and_sum_by_status_group_synonyms_in_choice_order() -> None:
    table = run(spec(rows=("status",), values=(Value("*", "count"), Value("amount", "sum"))))

    counts = Counter(STATUS[row["status"]] for row in ORDER_ROWS)
    sums: dict[str, float] = defaultdict(float)
    for row in ORDER_ROWS:
        amount = number(row["amount"])
        if amount is not None:
            sums[STATUS[row["status"]]] += amount
    order = ["shipped", "completed", "cancelled", "returned", "lost", "(blank)"]  # choices, unknown, blank
    assert table.headers == ["status", "count", "sum of amount"]
    assert [row[0] for row in table.rows] == order
    assert [row[1] for row in table.rows] == [counts[s] for s in order]
    assert [row[2] for row in table.rows] == pytest.approx([sums[s] for s in order])
    assert table.totals == ("Total", len(ORDER_ROWS), pytest.approx(sum(sums.values())))
    assert table.name == "test" and table.title == "Test" and table.source == "Orders" and table.as_of == TODAY


def test_mean_min_max_count_and_nunique_match_plain_python() -> None:
    values = (
        Value("amount", "mean"),
        Value("amount", "min"),
        Value("amount", "max"),
        Value("quantity", "count"),
        Value("customer_id", "nunique"),
    )
    table = run(spec(rows=("region",), values=values))

    numbers: dict[str, list[float]] = defaultdict(list)
    quantities: Counter[str] = Counter()
    customers: dict[str, set[str]] = defaultdict(set)
    for row in ORDER_ROWS:
        region = row["region"].strip() or "(blank)"
        amount = number(row["amount"])
        if amount is not None:
            numbers[region].append(amount)
        if row["quantity"].strip():
            quantities[region] += 1
        customers[region].add(row["customer_id"].strip().upper())  # ids compare stripped, upper-cased

    def figures(region: str) -> tuple[object, ...]:
        found = numbers[region]
        mean = sum(found) / len(found) if found else None
        low, high = (min(found), max(found)) if found else (None, None)
        return (region, mean, low, high, quantities[region], len(customers[region]))

    assert table.headers == [
        "region", "mean of amount", "min of amount", "max of amount", "count of quantity", "distinct customer_id"
    ]  # fmt: skip
    assert table.rows == tuple(figures(r) for r in ["East", "North", "South", "West", "(blank)"])
    assert table.rows[-1][1:4] == (None, None, None)  # no readable amount in the blank region
    assert len(customers["North"]) == 3  # "c-1 " is C-1


def _month(d: dt.date) -> str:
    return f"{d.year}-{d.month:02d}"


def _quarter(d: dt.date) -> str:
    return f"{d.year}-Q{(d.month - 1) // 3 + 1}"


def _year(d: dt.date) -> str:
    return str(d.year)


def _week(d: dt.date) -> str:
    year, week, _ = d.isocalendar()
    return f"{year}-W{week:02d}"


@pytest.mark.parametrize(
    ("grain", "label"), [(None, _month), ("month", _month), ("quarter", _quarter), ("year", _year), ("week", _week)]
)
def test_time_grains_count_chronologically(grain: str | None, label: Callable[[dt.date], str]) -> None:
    table = run(spec(rows=("order_date",), time_grain=grain))

    counts: Counter[str] = Counter()
    first_day: dict[str, dt.date] = {}
    for row in ORDER_ROWS:
        d = day(row["order_date"])
        key = label(d) if d else "(no date)"
        counts[key] += 1
        if d:
            first_day[key] = min(first_day.get(key, d), d)
    chronological = [*sorted(first_day, key=first_day.__getitem__), "(no date)"]
    assert table.rows == tuple((key, counts[key]) for key in chronological)
    assert table.columns[0].format == "text"
    assert table.notes == ("1 order_date value(s) are not dates; they are under (no date).",)


def test_iso_weeks_across_a_year_boundary() -> None:
    dates = ["2027-01-04", "2026-12-28", "2027-01-01", "2027-01-03", "2025-12-29", "2026-01-04", "2026-01-05"]
    table = run(spec(rows=("order_date",), time_grain="week"), frame([{"order_date": d} for d in dates]))

    counts = Counter(_week(dt.date.fromisoformat(d)) for d in dates)
    assert counts == {"2027-W01": 1, "2026-W53": 3, "2026-W01": 2, "2026-W02": 1}
    assert table.rows == (("2026-W01", 2), ("2026-W02", 1), ("2026-W53", 3), ("2027-W01", 1))


def test_day_grain_gives_dates_and_no_date_last() -> None:
    table = run(spec(rows=("order_date",), time_grain="day", values=(Value("amount", "sum"),)))

    assert table.columns[0].format == "date"
    labels = [row[0] for row in table.rows]
    readable = sorted({d for d in (day(r["order_date"]) for r in ORDER_ROWS) if d})
    assert labels == [*readable, "(no date)"]
    assert all(isinstance(label, dt.date) for label in labels[:-1])


def test_a_datetime_field_is_cut_to_its_date() -> None:
    stamps = ["2026-05-01 14:30", "2026-05-31 23:59:59", "2026-06-01T08:00", "2026-06-31 08:00", ""]
    data = frame([{"updated_at": s, "stage": "lead"} for s in stamps])
    table = pivot(data, spec(rows=("updated_at",)), schema=OPPORTUNITIES, today=TODAY)

    assert table.rows == (("2026-05", 2), ("2026-06", 1), ("(no date)", 2))
    assert table.notes == ("1 updated_at value(s) are not dates; they are under (no date).",)


def test_number_fields_group_by_value_and_text_fields_stripped() -> None:
    data = frame(
        [
            {"quantity": q, "product": p}
            for q, p in [("10", "Tea "), ("9", "tea"), ("10", " Tea"), ("x", ""), ("", "Cup")]
        ]
    )
    by_quantity = run(spec(rows=("quantity",)), data)
    by_product = run(spec(rows=("product",)), data)

    assert by_quantity.rows == (("9", 1), ("10", 2), ("x", 1), ("(blank)", 1))  # by value, not "10" < "9"
    assert by_product.rows == (("Cup", 1), ("Tea", 2), ("tea", 1), ("(blank)", 1))  # case kept, sorted ignoring it


def test_several_row_fields_nest_in_order() -> None:
    table = run(spec(rows=("region", "status")))

    counts = Counter((row["region"].strip() or "(blank)", STATUS[row["status"]]) for row in ORDER_ROWS)
    status_order = ["shipped", "completed", "cancelled", "returned", "lost", "(blank)"]
    region_order = ["East", "North", "South", "West", "(blank)"]
    expected = [(r, s, counts[(r, s)]) for r in region_order for s in status_order if counts[(r, s)]]
    assert [tuple(row) for row in table.rows] == expected
    assert table.totals == ("Total", None, len(ORDER_ROWS))


def test_unreadable_numbers_are_left_out_and_counted() -> None:
    table = run(spec(rows=("region",), values=(Value("amount", "sum"),), totals=True))

    readable = [number(r["amount"]) for r in ORDER_ROWS]
    unreadable = sum(1 for r, n in zip(ORDER_ROWS, readable, strict=True) if r["amount"].strip() and n is None)
    assert unreadable == 2  # "abc" and "1e400"
    assert table.totals == ("Total", pytest.approx(sum(n for n in readable if n is not None)))
    assert table.notes == ("2 amount value(s) are not numbers; sum of amount leaves them out.",)
    assert table.columns[1].format == "currency"


def test_mean_total_is_recomputed_over_all_rows() -> None:
    rows = [("A", "10"), ("A", "20"), ("A", "30"), ("B", "100")]
    table = run(
        spec(rows=("region",), values=(Value("amount", "mean"),)), frame([{"region": r, "amount": a} for r, a in rows])
    )

    amounts = [float(a) for _, a in rows]
    assert table.rows == (("A", 20.0), ("B", 100.0))
    assert table.totals == ("Total", sum(amounts) / len(amounts))  # 40, not (20 + 100) / 2
    assert table.totals[1] != (20.0 + 100.0) / 2


def test_nunique_total_is_the_distinct_count_over_all_rows() -> None:
    table = run(spec(rows=("region",), values=(Value("customer_id", "nunique"),)))

    per_region: dict[str, set[str]] = defaultdict(set)
    for row in ORDER_ROWS:
        per_region[row["region"].strip() or "(blank)"].add(row["customer_id"].strip().upper())
    everyone = set().union(*per_region.values())
    assert table.totals == ("Total", len(everyone))
    assert sum(len(ids) for ids in per_region.values()) > len(everyone)  # the sum would be wrong


def test_default_labels_formats_and_cell_types() -> None:
    values = (
        Value("*", "count"),
        Value("amount", "sum"),
        Value("quantity", "sum"),
        Value("quantity", "mean"),
        Value("order_date", "max"),
        Value("order_date", "min", label="first", format="text"),
        Value("customer_id", "nunique"),
        Value("amount", "mean", label="avg", format="integer"),
    )
    table = run(spec(rows=("region",), values=values, filters=(Filter("region", "==", "North"),)))

    assert [(c.header, c.format) for c in table.columns] == [
        ("region", "text"),
        ("count", "integer"),
        ("sum of amount", "currency"),
        ("sum of quantity", "integer"),
        ("mean of quantity", "number"),
        ("max of order_date", "date"),
        ("first", "text"),
        ("distinct customer_id", "integer"),
        ("avg", "integer"),
    ]
    north = [r for r in ORDER_ROWS if r["region"] == "North"]
    quantities = [int(r["quantity"]) for r in north]
    dates = [d for d in (day(r["order_date"]) for r in north) if d]
    amounts = [a for a in (number(r["amount"]) for r in north) if a is not None]
    (row,) = table.rows
    assert row == (
        "North",
        len(north),
        sum(amounts),
        sum(quantities),
        sum(quantities) / len(quantities),
        max(dates),
        min(dates).isoformat(),
        3,
        round(sum(amounts) / len(amounts)),
    )
    assert [type(v) for v in row] == [str, int, float, int, float, dt.date, str, int, int]
    assert set(REPORT_FORMATS) == {"text", "date", "integer", "number", "currency", "percent"}


def test_without_a_schema_everything_is_text() -> None:
    table = run(spec(rows=("status",), values=(Value("amount", "sum"),)), schema=None)

    labels = [row[0] for row in table.rows]
    assert "canceled" in labels and "cancelled" not in labels  # synonyms are not merged
    assert len(labels) == len({r["status"].strip() for r in ORDER_ROWS})
    assert table.columns[1].format == "number"  # no money field: a plain number
    by_date = run(spec(rows=("order_date",)), schema=None)
    texts = sorted({r["order_date"] for r in ORDER_ROWS if r["order_date"]})
    assert [row[0] for row in by_date.rows] == [*texts, "(blank)"]  # as text: not cut to a month


def test_no_row_fields_gives_one_row() -> None:
    table = run(spec(values=(Value("*", "count"), Value("amount", "sum"))))

    assert table.headers == ["", "count", "sum of amount"]
    assert table.rows == (
        ("All", len(ORDER_ROWS), pytest.approx(sum(n for r in ORDER_ROWS if (n := number(r["amount"])) is not None))),
    )
    assert table.totals is None


def test_totals_can_be_left_out_and_an_empty_result_still_has_totals() -> None:
    assert run(spec(rows=("region",), totals=False)).totals is None
    empty = run(
        spec(
            rows=("region",),
            values=(Value("*", "count"), Value("amount", "sum")),
            filters=(Filter("region", "==", "Nowhere"),),
        )
    )
    assert empty.rows == ()
    assert empty.totals == ("Total", 0, None)


# -- filters --------------------------------------------------------------------------------------


def test_filter_in_compares_canonical_choices() -> None:
    table = run(spec(rows=("status",), filters=(Filter("status", "in", ["Cancelled", "returned"]),)))

    kept = Counter(STATUS[r["status"]] for r in ORDER_ROWS if STATUS[r["status"]] in ("cancelled", "returned"))
    assert table.rows == (("cancelled", kept["cancelled"]), ("returned", kept["returned"]))
    assert kept["cancelled"] == 2 and kept["returned"] == 2  # canceled, 已取消; returned, 已退货


def test_filter_not_in_is_the_rest_including_blanks() -> None:
    keep = filter_mask(orders(), [Filter("status", "not in", ["cancelled", "returned"])], schema=ORDERS)

    assert keep.tolist() == [STATUS[r["status"]] not in ("cancelled", "returned") for r in ORDER_ROWS]


def test_filter_blank_and_not_blank() -> None:
    blank = filter_mask(orders(), [Filter("region", "blank")], schema=ORDERS)
    filled = filter_mask(orders(), [Filter("amount", "not blank")], schema=ORDERS)

    assert blank.tolist() == [not r["region"].strip() for r in ORDER_ROWS]
    assert filled.tolist() == [bool(r["amount"].strip()) for r in ORDER_ROWS]


@pytest.mark.parametrize("since", ["2026-02-14", dt.date(2026, 2, 14), dt.datetime(2026, 2, 14, 9, 0)])
def test_filter_dates_compare_as_dates(since: object) -> None:
    table = run(spec(rows=("region",), filters=(Filter("order_date", ">=", since),)))

    bound = dt.date(2026, 2, 14)
    kept = [r for r in ORDER_ROWS if (d := day(r["order_date"])) is not None and d >= bound]
    assert sum(row[1] for row in table.rows) == len(kept) == 5  # blank and unreadable dates fail


def test_filter_numbers_compare_as_numbers_and_text_exactly() -> None:
    big = filter_mask(orders(), [Filter("amount", ">", "50")], schema=ORDERS)
    north = filter_mask(orders(), [Filter("region", "==", "north")], schema=ORDERS)
    not_north = filter_mask(orders(), [Filter("region", "!=", "North")], schema=ORDERS)

    assert big.tolist() == [(n := number(r["amount"])) is not None and n > 50 for r in ORDER_ROWS]
    assert not north.any()  # text is compared as typed: case matters
    assert not_north.tolist() == [r["region"] != "North" for r in ORDER_ROWS]


def test_filter_on_an_untyped_field_orders_numbers() -> None:
    keep = filter_mask(orders(), [Filter("quantity", ">=", 4)], schema=None)

    assert keep.tolist() == [r["quantity"].isdigit() and int(r["quantity"]) >= 4 for r in ORDER_ROWS]


def test_filter_enum_order_follows_the_choices() -> None:
    deals = frame([{"stage": s} for s in ["lead", "Proposal", "won", "lost", "", "odd"]])
    keep = filter_mask(deals, [Filter("stage", ">=", "negotiation")], schema=OPPORTUNITIES)

    assert keep.tolist() == [False, False, True, True, False, False]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (Filter("region", "~=", "x"), "unknown operator"),  # type: ignore[arg-type]
        (Filter("order_date", ">=", "last year"), "is not a date"),
        (Filter("amount", "<", "lots"), "is not a number"),
        (Filter("region", ">", "M"), "needs a number or a date"),
        (Filter("region", "==", ["a", "b"]), "not a list"),
        (Filter("region", "==", None), "needs a value"),
        (Filter("status", ">", "nonsense"), "is not a choice"),
    ],
)
def test_bad_filters_are_config_errors(rule: Filter, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as raised:
        run(spec(rows=("region",), filters=(rule,)))
    assert "report 'test'" in str(raised.value)


# -- spread columns -------------------------------------------------------------------------------


def _matrix() -> tuple[Counter[tuple[str, str]], list[str], list[str]]:
    counts = Counter((r["region"].strip() or "(blank)", STATUS[r["status"]]) for r in ORDER_ROWS)
    regions = ["East", "North", "South", "West", "(blank)"]
    statuses = ["shipped", "completed", "cancelled", "returned", "lost", "(blank)"]
    return counts, regions, statuses


def test_spread_columns_with_a_total_column_and_totals_row() -> None:
    table = run(spec(rows=("region",), columns=("status",)))

    counts, regions, statuses = _matrix()
    assert table.headers == ["region", *statuses, "Total"]  # choices order, not alphabetical
    for row in table.rows:
        region = row[0]
        assert list(row[1:-1]) == [counts[(region, s)] for s in statuses]
        assert row[-1] == sum(counts[(region, s)] for s in statuses)
    assert [row[0] for row in table.rows] == regions
    assert table.totals == ("Total", *(sum(counts[(r, s)] for r in regions) for s in statuses), len(ORDER_ROWS))
    assert table.chart_values == tuple(range(1, 1 + len(statuses)))  # the Total column is not plotted
    assert {c.format for c in table.columns[1:]} == {"integer"}


def test_spread_of_a_sum_leaves_empty_combinations_empty() -> None:
    table = run(spec(rows=("region",), columns=("status",), values=(Value("amount", "sum"), Value("*", "count"))))

    east = dict(zip(table.headers, table.rows[0], strict=True))
    assert east["shipped"] is None and east["completed"] == 75.25 and east["(blank)"] == 30.0
    assert east["Total"] == 75.25 + 30.0
    assert table.notes[-1] == "With columns, only sum of amount is shown; count left out."


def test_spread_nunique_total_column_is_distinct_over_the_row() -> None:
    data = frame(
        [
            {"region": "N", "status": s, "customer_id": c}
            for s, c in [("shipped", "C-1"), ("cancelled", "C-1"), ("shipped", "C-2")]
        ]
    )
    table = run(spec(rows=("region",), columns=("status",), values=(Value("customer_id", "nunique"),)), data)

    assert table.rows == (("N", 2, 1, 2),)  # C-1 in both columns is one customer
    assert table.totals == ("Total", 2, 1, 2)


def test_spread_dates_run_chronologically_with_no_date_last() -> None:
    table = run(spec(rows=("region",), columns=("order_date",), time_grain="quarter"))

    quarters = sorted({_quarter(d) for r in ORDER_ROWS if (d := day(r["order_date"]))})
    assert table.headers == ["region", *quarters, "(no date)", "Total"]


@pytest.mark.parametrize("percent", ["row", "column", "total"])
def test_spread_percent(percent: str) -> None:
    table = run(spec(rows=("region",), columns=("status",), percent=percent))

    counts, regions, statuses = _matrix()
    row_total = {r: sum(counts[(r, s)] for s in statuses) for r in regions}
    column_total = {s: sum(counts[(r, s)] for r in regions) for s in statuses}
    grand = len(ORDER_ROWS)

    def share(region: str, status: str) -> float:
        whole = {"row": row_total[region], "column": column_total[status], "total": grand}[percent]
        return counts[(region, status)] / whole

    for row in table.rows:
        assert list(row[1:-1]) == pytest.approx([share(row[0], s) for s in statuses])
        assert row[-1] == pytest.approx(1.0 if percent == "row" else row_total[row[0]] / grand)
    expected_totals = [1.0 if percent == "column" else column_total[s] / grand for s in statuses]
    assert table.totals is not None
    assert list(table.totals[1:-1]) == pytest.approx(expected_totals)
    assert table.totals[-1] == 1.0
    assert {c.format for c in table.columns[1:]} == {"percent"}


def test_spread_percent_of_a_mean_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="percent of a spread"):
        run(spec(rows=("region",), columns=("status",), values=(Value("amount", "mean"),), percent="row"))


# -- sort, top, percent ---------------------------------------------------------------------------


def test_top_n_by_value_largest_first() -> None:
    table = run(spec(rows=("customer_id",), values=(Value("amount", "sum"),), sort="-value", top=3))

    spend: dict[str, float] = defaultdict(float)
    for r in ORDER_ROWS:
        if (n := number(r["amount"])) is not None:
            spend[r["customer_id"].strip().upper()] += n  # ids group as they match: "c-1 " is C-1
    best = sorted(spend.items(), key=lambda item: -item[1])[:3]
    assert [(row[0], row[1]) for row in table.rows] == [(k, pytest.approx(v)) for k, v in best]
    assert best[0] == ("C-1", 350.5)
    assert table.totals == ("Total", pytest.approx(sum(v for _, v in best)))  # the rows shown
    customers = len({r["customer_id"].strip().upper() for r in ORDER_ROWS})
    assert table.notes[-1] == f"Top 3 of {customers} rows by sum of amount; the totals row adds up the rows shown."


def test_sort_value_smallest_first_with_empty_values_last_and_ties_in_row_order() -> None:
    data = frame([{"region": r, "amount": a} for r, a in [("B", "5"), ("A", "5"), ("C", "x"), ("D", "1")]])
    table = run(spec(rows=("region",), values=(Value("amount", "mean"),), sort="value"), data)

    assert [row[0] for row in table.rows] == ["D", "A", "B", "C"]
    descending = run(spec(rows=("region",), values=(Value("amount", "mean"),), sort="-value"), data)
    assert [row[0] for row in descending.rows] == ["A", "B", "D", "C"]


def test_percent_without_columns_adds_a_share_after_each_additive_value() -> None:
    values = (Value("*", "count"), Value("amount", "mean"), Value("amount", "sum"))
    table = run(spec(rows=("region",), values=values, percent="row"))

    assert table.headers == [
        "region",
        "count",
        "count % of total",
        "mean of amount",
        "sum of amount",
        "sum of amount % of total",
    ]
    regions = Counter(r["region"].strip() or "(blank)" for r in ORDER_ROWS)
    for row in table.rows:
        assert row[2] == pytest.approx(regions[row[0]] / len(ORDER_ROWS))
    assert table.totals is not None
    assert table.totals[2] == 1.0 and table.totals[5] == 1.0
    assert [c.format for c in table.columns] == ["text", "integer", "percent", "currency", "currency", "percent"]


def test_percent_with_top_is_a_share_of_all_rows() -> None:
    table = run(spec(rows=("region",), percent="total", sort="-value", top=2))

    regions = Counter(r["region"].strip() or "(blank)" for r in ORDER_ROWS)
    best = regions.most_common(2)
    assert table.headers == ["region", "count", "% of total"]
    assert table.rows == tuple((k, v, pytest.approx(v / len(ORDER_ROWS))) for k, v in best)
    shown = sum(v for _, v in best)
    assert table.totals == ("Total", shown, pytest.approx(shown / len(ORDER_ROWS)))


# -- errors and helpers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "settings",
    [
        {"rows": ("regoin",)},
        {"columns": ("regoin",)},
        {"values": (Value("regoin", "count"),)},
        {"filters": (Filter("regoin", "blank"),)},
    ],
)
def test_a_field_that_is_not_a_column_is_a_config_error(settings: dict[str, object]) -> None:
    with pytest.raises(ConfigError) as raised:
        run(spec(**settings))

    error = raised.value
    assert "report 'test'" in error.message and "'regoin'" in error.message
    assert error.hint is not None and "region" in error.hint and "order_date" in error.hint


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"values": (Value("amount", "sum"), Value("amount", "sum"))}, "both be headed 'sum of amount'"),
        ({"values": (Value("*", "sum"),)}, "can only be counted"),
        ({"values": (Value("order_date", "sum"),)}, "only its min and max"),
        ({"values": (Value("amount", "sum", format="date"),)}, "does not fit a number"),
        ({"values": ()}, "no values"),
        ({"columns": ("status", "region")}, "one field"),
        ({"top": 0}, "at least 1"),
        ({"time_grain": "decade"}, "unknown time grain"),
    ],
)
def test_bad_specs_are_config_errors(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        run(spec(rows=("region",), **settings))


def test_helpers_read_fields_as_the_schema_says() -> None:
    data = orders()

    assert canonical_choices(data["status"], ORDERS.field("status")).tolist() == [
        "" if s == "" else STATUS[s] for s in (r["status"] for r in ORDER_ROWS)
    ]
    dates = typed_column(data, "order_date", ORDERS)
    assert [None if pd.isna(v) else v.date() for v in dates] == [day(r["order_date"]) for r in ORDER_ROWS]
    amounts = typed_column(data, "amount", ORDERS)
    assert [None if np.isnan(v) else v for v in amounts] == [number(r["amount"]) for r in ORDER_ROWS]
    assert typed_column(data, "region", None).tolist() == [r["region"].strip() for r in ORDER_ROWS]
    grouping = group_field(data, "order_date", schema=ORDERS, grain="year")
    assert grouping.labels == ("2025", "2026", "(no date)") and grouping.unreadable == 1
    assert [grouping.labels[c] for c in grouping.codes] == [
        str(d.year) if (d := day(r["order_date"])) else "(no date)" for r in ORDER_ROWS
    ]


# -- a million orders -----------------------------------------------------------------------------


@pytest.mark.slow
def test_a_million_orders_by_month_and_region() -> None:
    size = 1_000_000
    rng = np.random.default_rng(7)
    days = rng.integers(0, 730, size)
    cents = rng.integers(1, 500_000, size)
    region_names = np.array(["North", "South", "East", "West", ""])
    regions = region_names[rng.integers(0, len(region_names), size)]
    amount = pd.Series(cents // 100).astype("str") + "." + pd.Series(cents % 100).astype("str").str.zfill(2)
    data = pd.DataFrame(
        {
            "order_date": (np.datetime64("2025-01-01") + days).astype("str"),
            "region": regions,
            "amount": amount,
        }
    ).astype("str")

    table = run(spec(rows=("order_date", "region"), values=(Value("*", "count"), Value("amount", "sum"))), data)

    assert table.totals is not None
    assert table.totals[:3] == ("Total", None, size)
    assert table.totals[3] == pytest.approx(int(cents.sum()) / 100, rel=1e-12)
    months = [f"{(dt.date(2025, 1, 1) + dt.timedelta(days=int(d))):%Y-%m}" for d in np.unique(days)]
    month_of_day = dict(zip(np.unique(days).tolist(), months, strict=True))
    counts = Counter(zip(map(month_of_day.__getitem__, days.tolist()), regions.tolist(), strict=True))
    expected = sorted(counts.items(), key=lambda item: (item[0][0], item[0][1] == "", item[0][1]))
    assert [(m, r, c) for m, r, c, _ in table.rows] == [(m, r or "(blank)", c) for (m, r), c in expected]

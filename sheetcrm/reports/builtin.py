"""The built-in reports: each a function of the workbook's CRM frames that returns a ReportTable.

Most are pivots (:func:`~sheetcrm.reports.pivot.pivot` of a :class:`ReportSpec`); the funnel,
the top customers, the repeat-purchase rate, the stale rows and data quality compute their
tables themselves. Revenue counts orders that are not cancelled or returned; with several
currencies, amounts are converted with ``[segments] rates`` when given, else only the most
common currency is counted (the report's notes say which, and how many orders were left out).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from sheetcrm.config import Config
from sheetcrm.jobs.crm.frames import CrmTables
from sheetcrm.jobs.crm.pipeline import PipelineCode, SeenStatus, check_pipeline
from sheetcrm.jobs.crm.rollups import EXCLUDED_STATUSES, choices_of, customer_keys, parse_numbers, text_column
from sheetcrm.jobs.crm.stale import find_stale
from sheetcrm.reports.model import ReportColumn, ReportSpec, ReportTable, Value
from sheetcrm.reports.pivot import pivot
from sheetcrm.schema.tables import CUSTOMERS, INTERACTIONS, OPPORTUNITIES, ORDERS, TableSchema

__all__ = ["BUILTIN_REPORTS", "BuiltinReport", "ReportInputs"]

STAGE_WEIGHTS: Mapping[str, float] = {
    "lead": 0.1,
    "qualified": 0.25,
    "proposal": 0.5,
    "negotiation": 0.75,
    "won": 1.0,
    "lost": 0.0,
}
"""The chance a deal at each stage closes: what the weighted pipeline multiplies amounts by."""


@dataclass(frozen=True)
class ReportInputs:
    """What the built-ins compute from: the frames (fields as columns, plus the sheet's other
    columns by header, such as ``lifecycle``), the settings, today, and the remembered pipeline."""

    frames: dict[str, pd.DataFrame]
    sources: dict[str, str]  # table key -> "Orders (11,178 rows)"
    settings: Config
    today: dt.date
    seen: Mapping[str, SeenStatus]
    cache: dict[str, object] = field(default_factory=dict, compare=False, repr=False)  # shared between reports

    @classmethod
    def of(
        cls, read: CrmTables, settings: Config, *, today: dt.date, seen: Mapping[str, SeenStatus] | None = None
    ) -> ReportInputs:
        frames: dict[str, pd.DataFrame] = {}
        sources: dict[str, str] = {}
        for key, table in read.tables.items():
            frame = read.frames[key]
            extra = [h for h in table.columns if h not in read.fields[key] and h not in frame.columns]
            frames[key] = pd.concat([frame, table.frame[extra]], axis=1) if extra else frame
            sources[key] = f"{table.sheet} ({len(table):,} rows)"
        return cls(frames, sources, settings, today, seen or {})

    def has(self, *keys: str) -> bool:
        return all(key in self.frames for key in keys)


@dataclass(frozen=True)
class BuiltinReport:
    """A built-in report: its name, what it needs, and how it is computed."""

    name: str
    title: str
    needs: tuple[str, ...]  # table keys
    compute: Callable[[ReportInputs], ReportTable]
    description: str = ""
    made_by: Mapping[str, str] = field(default_factory=dict)  # customers column → the job that writes it


def _pivot(inputs: ReportInputs, key: str, spec: ReportSpec, schema: TableSchema, frame: pd.DataFrame | None = None,
           notes: tuple[str, ...] = ()) -> ReportTable:  # fmt: skip
    table = pivot(
        inputs.frames[key] if frame is None else frame, spec, schema=schema, today=inputs.today,
        source=inputs.sources[key],
    )  # fmt: skip
    if notes or spec.description:
        table = replace(table, notes=(*((spec.description,) if spec.description else ()), *notes, *table.notes))
    return table


# -- revenue ----------------------------------------------------------------------------------


def counted_orders(inputs: ReportInputs) -> pd.DataFrame:
    """The orders that count: not cancelled or returned (in any currency)."""
    if "counted" not in inputs.cache:
        orders = inputs.frames["orders"]
        status, _ = choices_of(text_column(orders, "status"), ORDERS.field("status"))
        inputs.cache["counted"] = orders.loc[~status.isin(EXCLUDED_STATUSES).to_numpy(bool)]
    return inputs.cache["counted"].copy()  # type: ignore[attr-defined, no-any-return]


def revenue_orders(inputs: ReportInputs) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The orders that count as revenue, ``amount`` in one currency, and a note saying how
    (computed once per ReportInputs: five reports use it)."""
    if "revenue" not in inputs.cache:
        inputs.cache["revenue"] = _revenue_orders(inputs)
    return inputs.cache["revenue"]  # type: ignore[return-value]


def _revenue_orders(inputs: ReportInputs) -> tuple[pd.DataFrame, tuple[str, ...]]:
    counted = counted_orders(inputs)
    currency = text_column(counted, "currency").str.upper()
    distinct = currency[currency != ""].value_counts()
    if len(distinct) <= 1:
        return counted, ()
    rates = inputs.settings.segments.rates
    if rates:
        known = {code.upper(): rate for code, rate in rates.items()}
        amount, _ = parse_numbers(text_column(counted, "amount"))
        rate = currency.map(known).to_numpy(np.float64, na_value=np.nan)
        converted = counted.loc[~np.isnan(rate)].copy()
        converted["amount"] = pd.Series(amount * rate, index=counted.index)[~np.isnan(rate)].map("{:.2f}".format)
        left = int(np.isnan(rate).sum())
        note = "amounts converted to one unit with [segments] rates"
        return converted, (note + (f"; {left:,} orders in currencies without a rate left out" if left else ""),)
    main = str(distinct.index[0])
    kept = counted.loc[(currency == main) | (currency == "")]
    return kept, (
        f"{main} orders only: {len(counted) - len(kept):,} orders in other currencies left out "
        "(set [segments] rates to convert them)",
    )


def _with_customer(orders: pd.DataFrame, customers: pd.DataFrame, *fields: str) -> pd.DataFrame:
    """``orders`` with its customer's ``fields`` (region, owner, name …) added ("" when not found)."""
    keys = customer_keys(text_column(customers, "customer_id"))
    lookup = customers.assign(_key=keys.to_numpy()).drop_duplicates("_key", keep="last").set_index("_key")
    wanted = customer_keys(text_column(orders, "customer_id"))
    out = orders.copy()
    for name in fields:
        column = text_column(lookup, name)
        out[name] = wanted.map(column).fillna("").to_numpy(object)
    return out.astype({name: "str" for name in fields})


def revenue_by_month_region(inputs: ReportInputs) -> ReportTable:
    orders, notes = revenue_orders(inputs)
    frame = _with_customer(orders, inputs.frames["customers"], "region")
    spec = ReportSpec(
        "revenue_by_month_region", "Revenue by month and region", "orders", rows=("order_date",),
        columns=("region",), values=(Value("amount", "sum", "revenue"),), time_grain="month",
        chart="stacked-column",
    )  # fmt: skip
    return _pivot(inputs, "orders", spec, ORDERS, frame, notes)


def revenue_by_product(inputs: ReportInputs) -> ReportTable:
    orders, notes = revenue_orders(inputs)
    spec = ReportSpec(
        "revenue_by_product", "Revenue by product", "orders", rows=("product",),
        values=(Value("amount", "sum", "revenue"), Value("*", "count", "orders")), sort="-value",
        percent="total", chart="bar",
    )  # fmt: skip
    return _pivot(inputs, "orders", spec, ORDERS, orders, notes)


def average_order_value(inputs: ReportInputs) -> ReportTable:
    orders, notes = revenue_orders(inputs)
    spec = ReportSpec(
        "average_order_value", "Average order value by month", "orders", rows=("order_date",),
        values=(Value("amount", "mean", "average order value"), Value("*", "count", "orders")), time_grain="month",
        chart="line",
    )  # fmt: skip
    table = _pivot(inputs, "orders", spec, ORDERS, orders, notes)
    return replace(table, chart_values=(1,))


def top_customers(inputs: ReportInputs, top: int = 20) -> ReportTable:
    """The customers with the most revenue, with their share of all revenue."""
    orders, notes = revenue_orders(inputs)
    amount, _ = parse_numbers(text_column(orders, "amount"))
    keys = customer_keys(text_column(orders, "customer_id"))
    per = pd.DataFrame({"key": keys.to_numpy(), "amount": amount}).dropna()
    per = per[per["key"] != ""].groupby("key")["amount"].agg(["sum", "size"])
    total = float(per["sum"].sum())
    best = per.sort_values(["sum", "size"], ascending=False, kind="stable").head(top)
    customers = inputs.frames["customers"]
    ckeys = customer_keys(text_column(customers, "customer_id"))
    names = pd.Series(text_column(customers, "name").to_numpy(), index=ckeys.to_numpy())
    names = names[~names.index.duplicated(keep="last")]
    rows = tuple(
        (
            str(key),
            str(names.get(key, "")),
            float(row["sum"]),
            int(row["size"]),
            float(row["sum"]) / total if total else 0.0,
        )
        for key, row in best.iterrows()
    )
    top_sum = float(best["sum"].sum())
    return ReportTable(
        "top_customers", f"Top {top} customers by revenue", inputs.sources["orders"], inputs.today,
        (ReportColumn("customer_id"), ReportColumn("name"), ReportColumn("revenue", "currency"),
         ReportColumn("orders", "integer"), ReportColumn("share of all revenue", "percent")),
        rows, ("Total", "", top_sum, int(best["size"].sum()), _share(top_sum, total)), "bar",
        chart_category=1, chart_values=(2,), notes=notes,
    )  # fmt: skip


def repeat_purchase_rate(inputs: ReportInputs) -> ReportTable:
    """Per tier: customers who ordered, those who ordered more than once, and the rate."""
    orders = counted_orders(inputs)  # any currency: a repeat buyer in USD is a repeat buyer
    counts = customer_keys(text_column(orders, "customer_id")).value_counts()
    customers = inputs.frames["customers"]
    tier, _ = choices_of(text_column(customers, "tier"), CUSTOMERS.field("tier"))
    keys = customer_keys(text_column(customers, "customer_id"))
    ordered = keys.map(counts).fillna(0).to_numpy(np.int64)
    frame = pd.DataFrame({"tier": tier.replace("", "(blank)").to_numpy(), "buyers": ordered > 0, "repeat": ordered > 1})
    order = {name: position for position, name in enumerate([*CUSTOMERS.field("tier").choices, "(blank)"])}
    per = frame.groupby("tier")[["buyers", "repeat"]].sum()
    per = per.loc[sorted(per.index, key=lambda t: (order.get(t, len(order)), t))]
    rows = tuple(
        (str(t), int(r["buyers"]), int(r["repeat"]), _share(r["repeat"], r["buyers"])) for t, r in per.iterrows()
    )
    buyers, repeat = int(per["buyers"].sum()), int(per["repeat"].sum())
    return ReportTable(
        "repeat_purchase_rate", "Repeat-purchase rate by tier", inputs.sources["orders"], inputs.today,
        (ReportColumn("tier"), ReportColumn("customers who ordered", "integer"),
         ReportColumn("ordered again", "integer"), ReportColumn("repeat rate", "percent")),
        rows, ("Total", buyers, repeat, _share(repeat, buyers)), "column", chart_values=(1, 2),
        notes=("orders that were not cancelled or returned, in any currency",),
    )  # fmt: skip


# -- orders -----------------------------------------------------------------------------------


def order_funnel(inputs: ReportInputs) -> ReportTable:
    """How many orders reached each status of the line, and the conversion from the one before."""
    rules = inputs.settings.pipeline
    line = list(rules.statuses)
    orders = inputs.frames["orders"]
    status, _ = choices_of(text_column(orders, "status"), ORDERS.field("status"))
    position = status.map({name: index for index, name in enumerate(line)})
    # an order that left the line went through the statuses it may leave from: returned had shipped
    shipped = line.index(rules.shipped_status) if rules.shipped_status in line else len(line) - 1
    for exit_status in rules.exits:
        position = position.where(status != exit_status, shipped if exit_status == "returned" else 0)
    reached = [int((position >= index).sum()) for index in range(len(line))]
    total = int(position.notna().sum())
    rows = tuple(
        (name, reached[index], _share(reached[index], reached[index - 1]) if index else 1.0,
         _share(reached[index], total))
        for index, name in enumerate(line)
    )  # fmt: skip
    return ReportTable(
        "order_funnel", "Order status funnel", inputs.sources["orders"], inputs.today,
        (ReportColumn("status"), ReportColumn("orders reaching it", "integer"),
         ReportColumn("from the stage before", "percent"), ReportColumn("of all orders", "percent")),
        rows, None, "bar", chart_values=(1,),
        notes=("returned orders count as shipped; cancelled ones as received only",),
    )  # fmt: skip


def overdue_orders_by_owner(inputs: ReportInputs) -> ReportTable:
    orders = inputs.frames["orders"]
    report = check_pipeline(orders, today=inputs.today, seen=inputs.seen, rules=inputs.settings.pipeline)
    late = report.table[report.table["code"].isin([PipelineCode.NOT_SHIPPED, PipelineCode.NOT_DELIVERED])]
    frame = _with_customer(orders.loc[late["row"].to_numpy()], inputs.frames["customers"], "owner")
    frame = frame.assign(late=late["code"].astype(str).to_numpy())
    spec = ReportSpec(
        "overdue_orders_by_owner", "Overdue orders by owner", "orders", rows=("owner",), columns=("late",),
        sort="-value", chart="stacked-bar",
    )  # fmt: skip
    return _pivot(inputs, "orders", spec, ORDERS, frame)


# -- customers, deals, interactions -----------------------------------------------------------


def _count_by(name: str, title: str, field: str, chart: str = "column", sort: str = "rows") -> BuiltinReport:
    def compute(inputs: ReportInputs) -> ReportTable:
        spec = ReportSpec(name, title, "customers", rows=(field,), sort=sort, percent="total", chart=chart)  # type: ignore[arg-type]
        return _pivot(inputs, "customers", spec, CUSTOMERS)

    made_by = {field: "segment"} if field in ("lifecycle", "rfm_segment") else {}
    return BuiltinReport(name, title, ("customers",), compute, made_by=made_by)


def customers_by_tier_region(inputs: ReportInputs) -> ReportTable:
    spec = ReportSpec(
        "customers_by_tier_region", "Customers by tier and region", "customers", rows=("region",),
        columns=("tier",), sort="-value", chart="stacked-bar",
    )  # fmt: skip
    return _pivot(inputs, "customers", spec, CUSTOMERS)


def new_customers(inputs: ReportInputs) -> ReportTable:
    spec = ReportSpec(
        "new_customers", "New customers per month", "customers", rows=("created_at",), time_grain="month",
        chart="line",
    )  # fmt: skip
    return _pivot(inputs, "customers", spec, CUSTOMERS)


def opportunity_pipeline(inputs: ReportInputs) -> ReportTable:
    deals = inputs.frames["opportunities"]
    stage, _ = choices_of(text_column(deals, "stage"), OPPORTUNITIES.field("stage"))
    amount, _ = parse_numbers(text_column(deals, "amount"))
    weight = stage.map(STAGE_WEIGHTS).to_numpy(np.float64, na_value=np.nan)
    frame = deals.assign(
        weighted=pd.Series(amount * weight, index=deals.index).map(lambda v: "" if np.isnan(v) else f"{v:.2f}")
    )
    spec = ReportSpec(
        "opportunity_pipeline", "Opportunity pipeline by stage", "opportunities", rows=("stage",),
        values=(Value("*", "count", "deals"), Value("amount", "sum", "amount"),
                Value("weighted", "sum", "weighted amount", "currency")),
        chart="column", description="weighted amount = amount × the stage's chance: "
        + ", ".join(f"{s} {w:.0%}" for s, w in STAGE_WEIGHTS.items()),
    )  # fmt: skip
    return replace(_pivot(inputs, "opportunities", spec, OPPORTUNITIES, frame), chart_values=(2, 3))


def expected_close(inputs: ReportInputs) -> ReportTable:
    deals = inputs.frames["opportunities"]
    stage, _ = choices_of(text_column(deals, "stage"), OPPORTUNITIES.field("stage"))
    open_deals = deals.loc[~stage.isin(["won", "lost"]).to_numpy(bool)]
    spec = ReportSpec(
        "expected_close", "Open deals by expected close month", "opportunities", rows=("expected_close",),
        columns=("stage",), values=(Value("amount", "sum", "amount"),), time_grain="month", chart="stacked-column",
    )  # fmt: skip
    return _pivot(inputs, "opportunities", spec, OPPORTUNITIES, open_deals)


def interactions_by_channel(inputs: ReportInputs) -> ReportTable:
    spec = ReportSpec(
        "interactions_by_channel", "Interactions by channel and owner", "interactions", rows=("channel", "owner"),
        values=(Value("*", "count", "interactions"), Value("rating", "mean", "average rating", "number")),
        chart="bar",
    )  # fmt: skip
    return replace(_pivot(inputs, "interactions", spec, INTERACTIONS), chart_values=(2,))


def stale_per_owner(inputs: ReportInputs) -> ReportTable:
    customers = inputs.frames["customers"]
    options = inputs.settings.stale
    report = find_stale(
        customers, interactions=inputs.frames.get("interactions"), orders=inputs.frames.get("orders"),
        opportunities=inputs.frames.get("opportunities"), today=inputs.today, cadence=options.cadence,
        default_days=options.default_days, opportunity_cadence=options.opportunity_cadence,
    )  # fmt: skip
    rows: list[pd.DataFrame] = []
    for label, key in (("Customers", "customers"), ("Opportunities", "opportunities")):
        found = report.table[report.table["sheet"] == label]
        if key in inputs.frames and len(found):
            owners = text_column(inputs.frames[key], "owner").reindex(found["row"].to_numpy()).fillna("")
            rows.append(pd.DataFrame({"owner": owners.to_numpy(), "why": found["code"].astype(str).to_numpy()}))
    frame = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame({"owner": [], "why": []}, dtype="str")
    spec = ReportSpec(
        "stale_per_owner", "Stale rows per owner", "customers", rows=("owner",), columns=("why",), sort="-value",
        chart="stacked-bar",
    )  # fmt: skip
    table = _pivot(inputs, "customers", spec, CUSTOMERS, frame.astype("str"))
    sources = [inputs.sources[key] for key in ("customers", "opportunities") if key in inputs.sources]
    return replace(table, source=" and ".join(sources))


def _share(part: float, whole: float) -> float:
    """``part / whole`` as a plain float without float noise (0 when there is no whole)."""
    return round(float(part) / float(whole), 12) if whole else 0.0


BUILTIN_REPORTS: dict[str, BuiltinReport] = {
    report.name: report
    for report in [
        BuiltinReport("customers_by_tier_region", "Customers by tier and region", ("customers",),
                      customers_by_tier_region),
        _count_by("customers_by_industry", "Customers by industry", "industry", "bar", "-value"),
        _count_by("customers_by_lifecycle", "Customers by lifecycle stage", "lifecycle", "column", "-value"),
        _count_by("customers_by_rfm_segment", "Customers by RFM segment", "rfm_segment", "bar", "-value"),
        BuiltinReport("new_customers", "New customers per month", ("customers",), new_customers),
        BuiltinReport("revenue_by_month_region", "Revenue by month and region", ("orders", "customers"),
                      revenue_by_month_region),
        BuiltinReport("revenue_by_product", "Revenue by product", ("orders",), revenue_by_product),
        BuiltinReport("order_funnel", "Order status funnel", ("orders",), order_funnel),
        BuiltinReport("overdue_orders_by_owner", "Overdue orders by owner", ("orders", "customers"),
                      overdue_orders_by_owner),
        BuiltinReport("top_customers", "Top 20 customers by revenue", ("orders", "customers"), top_customers),
        BuiltinReport("repeat_purchase_rate", "Repeat-purchase rate by tier", ("orders", "customers"),
                      repeat_purchase_rate),
        BuiltinReport("average_order_value", "Average order value by month", ("orders",), average_order_value),
        BuiltinReport("stale_per_owner", "Stale rows per owner", ("customers",), stale_per_owner),
        BuiltinReport("opportunity_pipeline", "Opportunity pipeline by stage", ("opportunities",),
                      opportunity_pipeline),
        BuiltinReport("expected_close", "Open deals by expected close month", ("opportunities",), expected_close),
        BuiltinReport("interactions_by_channel", "Interactions by channel and owner", ("interactions",),
                      interactions_by_channel),
    ]
}  # fmt: skip
"""Every built-in report by name, in the order they are written (data quality is added by the job,
which runs validation)."""

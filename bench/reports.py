"""Benchmark: every built-in report (``sheetcrm report``) on a million orders and 100k customers,
against ``pandas.pivot_table`` + ``DataFrame.to_excel``, side by side in one run.

    python bench/reports.py                       # 1M orders, 100k customers
    python bench/reports.py --rows 100000 1000000 --per-report --repeat 3   # fastest of 3, per report

``--rows`` is the number of orders; customers are a tenth of it, interactions half, opportunities
a twentieth. The frames are synthesised with numpy (seeded) as the sheet reader gives them: every
value text, dates ``YYYY-MM-DD`` with a few impossible ones, amounts like ``"1470.98"``, tiers in
mixed case or blank, statuses, channels and stages with their synonyms (``"Shipped"``,
``"canceled"``, ``"已发货"``, ``"微信"``, ``"Closed Won"``), orders skewed across customers, CNY
and USD mixed. Customers also get ``phone``, ``email`` and ``last_contact`` (a few blank), since
the stale report reads them. They are saved once as Parquet; each case loads them (not timed) and
runs in a fresh child process, so that its peak memory (max RSS) is its own.

Two tasks, each sheetcrm beside the baseline:

- ``compute``: the 16 built-ins of ``BUILTIN_REPORTS`` computed from ``ReportInputs`` (no pipeline
  state remembered). ``data_quality`` is left out: it runs the validation of a workbook, which
  ``bench/validate.py`` measures. The baseline computes the same tables the straightforward way:
  columns typed with ``pd.to_datetime`` / ``pd.to_numeric``, choices mapped with a dict of
  lower-cased synonyms, then ``pivot_table`` (``margins=True`` for the totals), and ``groupby``
  where a pivot table cannot say it (the funnel, the top 20, the repeat rate, the last touch and
  the overdue clocks behind the stale and overdue-order reports).
- ``write``: compute, then what ``sheetcrm report --out`` does: ``plan_report_sheets`` into a
  ChangeSet, and ``Workbook.apply`` of it to a small real workbook (one sheet) opened with
  ``sheetcrm.open_workbook``, timed as a whole (backup, lock and run log included). The baseline
  writes each result with ``DataFrame.to_excel`` into one workbook (``pd.ExcelWriter``, openpyxl).

The comparison favours the baseline: sheetcrm reads every choice through the schema (case,
spacing, synonyms in two languages), counts unreadable dates and numbers into the notes, orders
labels by the schema, and writes styled sheets (title, notes, number formats, frozen panes, fitted
widths, a totals row) each with a native chart, plus a ``_reports`` index of links; the baseline
writes bare tables and draws no charts. Imports are not timed on either side (a CLI run pays
sheetcrm's, about a second beyond pandas and openpyxl, once). Both agree on what is counted: the
check columns (CNY revenue, overdue orders, stale findings) must match, or the table says they
differ. Writing is cheap on both sides (the tables are small); the time is in computing, where
sheetcrm is slower than the baseline at 1M orders (1.3-1.5x; ``--per-report`` shows where).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from children import bench_arguments, comparison_line, parse_or_run_child, report, run_child  # noqa: E402  (beside this script)

TODAY = dt.date(2026, 11, 22)
SEED = 7
TABLES = ("customers", "orders", "interactions", "opportunities")
TIMINGS = ("seconds", "peak_mb", "per_report", "error")

# -- synthesis --------------------------------------------------------------------------------

SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈")
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英",
         "霞", "平", "刚", "桂英", "建华", "志强", "晓东", "海燕", "文博", "子涵", "雨桐", "浩然"]  # fmt: skip
CITIES = [
    "上海",
    "北京",
    "深圳",
    "杭州",
    "苏州",
    "成都",
    "武汉",
    "南京",
    "西安",
    "重庆",
    "天津",
    "广州",
    "宁波",
    "青岛",
]
TRADES = ["科技", "贸易", "电子", "实业", "医药", "物流", "教育", "餐饮", "建材", "网络"]
REGIONS = ["华东", "华北", "华南", "华中", "西南", "西北", "东北", ""]
INDUSTRIES = ["制造", "零售", "教育", "医疗", "金融", "互联网", "物流", "餐饮", "建筑", "能源", "政府", "其他", ""]
LIFECYCLES = ["prospect", "new", "active", "loyal", "lapsing", "dormant", "churned", ""]
SEGMENTS = ["Champions", "Loyal", "Potential Loyalist", "New Customers", "Promising", "Need Attention",
            "About To Sleep", "At Risk", "Cannot Lose Them", "Hibernating", ""]  # fmt: skip
PRODUCTS = [f"{kind} {model}" for kind in ("智能门锁", "扫地机器人", "空气净化器", "净水器", "电动牙刷", "蓝牙耳机",
            "投影仪", "路由器") for model in ("A1", "A2", "Pro", "Max", "Lite")]  # fmt: skip
STATUSES = {"completed": 0.55, "Completed": 0.08, "已完成": 0.07, "shipped": 0.05, "Shipped": 0.02, "已发货": 0.02,
            "processing": 0.03, "confirmed": 0.02, "received": 0.02, "cancelled": 0.04, "canceled": 0.02,
            "已取消": 0.01, "returned": 0.04, "已退货": 0.01, "": 0.01, "on hold": 0.01}  # fmt: skip
CHANNELS = {"phone": 0.3, "Phone call": 0.05, "电话": 0.05, "email": 0.15, "E-mail": 0.05, "wechat": 0.15,
            "微信": 0.1, "meeting": 0.06, "拜访": 0.04, "other": 0.04, "": 0.01}  # fmt: skip
STAGES = {"lead": 0.2, "Lead": 0.05, "qualified": 0.15, "proposal": 0.12, "报价": 0.03, "negotiation": 0.1,
          "won": 0.12, "Closed Won": 0.04, "lost": 0.12, "丢单": 0.03, "": 0.04}  # fmt: skip


def synthesise(rows: int, folder: Path) -> Path:
    """The four CRM frames for ``rows`` orders, as text, saved as Parquet in ``folder``."""
    import numpy as np
    import pandas as pd

    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"reports_{rows}"
    if all((target / f"{key}.parquet").exists() for key in TABLES):
        return target
    target.mkdir(exist_ok=True)
    rng = np.random.default_rng(SEED)
    epoch = np.datetime64(TODAY, "D")

    def pick(values: Any, size: int, p: Any = None) -> Any:
        if isinstance(values, dict):
            values, p = list(values), np.array(list(values.values())) / sum(values.values())
        return rng.choice(np.array(values, dtype=object), size, p=p)

    def dates(size: int, low: int, high: int, bad: float = 0.0, blank: float = 0.0) -> Any:
        text = np.datetime_as_string(epoch - rng.integers(low, high, size).astype("timedelta64[D]")).astype(object)
        text[rng.random(size) < blank] = ""
        text[rng.random(size) < bad / 2] = "2026-02-30"
        text[rng.random(size) < bad / 2] = "n/a"
        return text

    def ids(prefix: str, size: int) -> Any:
        return np.char.add(prefix, np.char.zfill(np.arange(1, size + 1).astype(str), 7)).astype(object)

    def money(size: int, low: int, high: int) -> Any:
        return (rng.integers(low, high, size) / 100).astype(str).astype(object)

    def frame(columns: dict[str, Any]) -> Any:
        size = len(next(iter(columns.values())))
        return pd.DataFrame(columns, index=pd.RangeIndex(2, size + 2, name="row")).astype("str")

    n_customers, n_interactions, n_deals = rows // 10, rows // 2, rows // 20
    owners = [f"{s}{g}" for s, g in zip(SURNAMES[:30], GIVEN, strict=True)]
    owner_at = rng.integers(0, len(owners), n_customers)
    customer_ids = ids("C-", n_customers)

    def customers_of(size: int) -> Any:
        """Customer ids, skewed: many one-timers, a few heavy ones; 40% of customers never appear."""
        active = rng.choice(n_customers, int(n_customers * 0.6), replace=False)
        return customer_ids[active[np.minimum((rng.pareto(1.2, size) * len(active) / 20).astype(np.int64),
                                              len(active) - 1)]]  # fmt: skip

    phone = np.where(rng.random(n_customers) < 0.1, "", "+86 138 0013 8000").astype(object)
    customers = frame({
        "customer_id": customer_ids,
        "name": np.char.add(pick(SURNAMES, n_customers).astype(str), pick(GIVEN, n_customers).astype(str)).astype(object),
        "company": np.char.add(pick(CITIES, n_customers).astype(str),
                               np.char.add(pick(TRADES, n_customers).astype(str), "有限公司")).astype(object),
        "phone": phone,
        "email": np.where(rng.random(n_customers) < 0.3, "", "someone@example.cn").astype(object),
        "tier": pick({"VIP": 0.04, "Key": 0.13, "Standard": 0.73, "vip": 0.01, "standard": 0.04, "key account": 0.01,
                      "Gold": 0.01, "": 0.03}, n_customers),
        "region": pick(REGIONS, n_customers, [0.3, 0.2, 0.2, 0.1, 0.08, 0.05, 0.05, 0.02]),
        "industry": pick(INDUSTRIES, n_customers),
        "created_at": dates(n_customers, 0, 1500, bad=0.002),
        "last_contact": dates(n_customers, 0, 900, bad=0.002, blank=0.2),
        "owner": np.array(owners, dtype=object)[owner_at],
        "owner_email": np.char.add(np.char.add("sales", np.char.zfill(owner_at.astype(str), 2)), "@example.cn").astype(object),
        "lifecycle": pick(LIFECYCLES, n_customers),
        "rfm_segment": pick(SEGMENTS, n_customers),
    })  # fmt: skip
    orders = frame({
        "order_id": ids("O-", rows),
        "customer_id": customers_of(rows),
        "order_date": dates(rows, -3, 1000, bad=0.001),  # a few after today
        "status": pick(STATUSES, rows),
        "product": pick(PRODUCTS, rows),
        "amount": money(rows, 100, 2_000_000),
        "currency": pick({"CNY": 0.7, "USD": 0.3}, rows),
    })  # fmt: skip
    orders.loc[rng.random(rows) < 0.001, "amount"] = "n/a"
    interactions = frame({
        "interaction_id": ids("I-", n_interactions),
        "customer_id": customers_of(n_interactions),
        "date": dates(n_interactions, -2, 1000, bad=0.001),
        "channel": pick(CHANNELS, n_interactions),
        "owner": pick(owners, n_interactions),
        "rating": pick(["1", "2", "3", "4", "5", ""], n_interactions, [0.05, 0.1, 0.25, 0.3, 0.2, 0.1]),
    })  # fmt: skip
    updated = dates(n_deals, 0, 400, bad=0.001)
    updated = np.where(np.char.str_len(updated.astype(str)) == 10, np.char.add(updated.astype(str), " 10:30"), updated)
    opportunities = frame({
        "opportunity_id": ids("P-", n_deals),
        "customer_id": customers_of(n_deals),
        "title": np.char.add(pick(PRODUCTS, n_deals).astype(str), " 采购").astype(object),
        "stage": pick(STAGES, n_deals),
        "amount": money(n_deals, 100_000, 50_000_000),
        "expected_close": dates(n_deals, -180, 365, bad=0.002),
        "owner": pick(owners, n_deals),
        "updated_at": updated.astype(object),
    })  # fmt: skip
    for key, table in zip(TABLES, (customers, orders, interactions, opportunities), strict=True):
        table.to_parquet(target / f"{key}.parquet")
    return target


def load(path: Path) -> dict[str, Any]:
    import pandas as pd

    return {key: pd.read_parquet(path / f"{key}.parquet") for key in TABLES}


def small_workbook(folder: Path) -> Path:
    """The workbook the reports are written into: one sheet of the team's own, as ``--out`` starts from."""
    import openpyxl

    path = folder / "report_target.xlsx"
    if not path.exists():
        book = openpyxl.Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.title = "Notes"
        sheet.append(["reports of the CRM, written by sheetcrm"])
        book.save(path)
    return path


# -- sheetcrm ---------------------------------------------------------------------------------


def _inputs(frames: dict[str, Any]) -> Any:
    from sheetcrm.config import Config
    from sheetcrm.reports.builtin import ReportInputs

    sources = {key: f"{key.title()} ({len(frame):,} rows)" for key, frame in frames.items()}
    return ReportInputs(frames=frames, sources=sources, settings=Config(), today=TODAY, seen={})


def _checks(tables: dict[str, Any]) -> dict[str, object]:
    """What both sides must agree on: the revenue counted, the overdue orders, the stale findings."""
    return {
        "revenue": round(float(tables["revenue_by_product"].totals[1])),
        "overdue_orders": int(tables["overdue_orders_by_owner"].totals[-1]),
        "stale": int(tables["stale_per_owner"].totals[-1]),
    }


def sheetcrm_compute(frames: dict[str, Any]) -> tuple[dict[str, Any], dict[str, float]]:
    """Each built-in as ``compute_reports`` runs it; the tables by name, and seconds per report."""
    from sheetcrm.reports.builtin import BUILTIN_REPORTS

    inputs = _inputs(frames)
    tables: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    for name, builtin in BUILTIN_REPORTS.items():
        started = time.perf_counter()
        tables[name] = dataclasses.replace(builtin.compute(inputs), description=builtin.description)
        seconds[name] = time.perf_counter() - started
    return tables, seconds


def sheetcrm_write(frames: dict[str, Any], target: Path) -> tuple[dict[str, Any], dict[str, float]]:
    """Compute, plan the report sheets and apply them to ``target``: ``sheetcrm report --out``."""
    import sheetcrm
    from sheetcrm.config import Config
    from sheetcrm.reports.render import plan_report_sheets
    from sheetcrm.sync.changeset import ChangeSet

    started = time.perf_counter()
    tables, _ = sheetcrm_compute(frames)
    computed = time.perf_counter()
    workbook = sheetcrm.open_workbook(target, config=Config())
    opened = time.perf_counter()
    changes = ChangeSet("report: " + ", ".join(tables))
    plan_report_sheets(changes, list(tables.values()), existing=workbook.sheet_names)
    planned = time.perf_counter()
    workbook.apply(changes, command="report")
    done = time.perf_counter()
    return tables, {
        "compute": computed - started,
        "open_workbook": opened - computed,
        "plan_report_sheets": planned - opened,
        "apply": done - planned,
    }


# -- the straightforward pandas baseline ------------------------------------------------------

# What a script would write to read the choices: lower-cased spellings to one name.
TIERS = {"vip": "VIP", "key": "Key", "key account": "Key", "standard": "Standard"}
ORDER_STATUSES = {"received": "received", "confirmed": "confirmed", "processing": "processing", "shipped": "shipped",
                  "completed": "completed", "cancelled": "cancelled", "canceled": "cancelled", "returned": "returned",
                  "已完成": "completed", "已发货": "shipped", "已取消": "cancelled", "已退货": "returned"}  # fmt: skip
CHANNEL_NAMES = {"phone": "phone", "phone call": "phone", "电话": "phone", "email": "email", "e-mail": "email",
                 "wechat": "wechat", "微信": "wechat", "meeting": "meeting", "拜访": "meeting", "other": "other"}  # fmt: skip
STAGE_NAMES = {"lead": "lead", "qualified": "qualified", "proposal": "proposal", "报价": "proposal",
               "negotiation": "negotiation", "won": "won", "closed won": "won", "lost": "lost", "丢单": "lost"}  # fmt: skip
WEIGHTS = {"lead": 0.1, "qualified": 0.25, "proposal": 0.5, "negotiation": 0.75, "won": 1.0, "lost": 0.0}
LINE = ["received", "confirmed", "processing", "shipped", "completed"]
CADENCE = {"VIP": 30, "Key": 60, "Standard": 90}


def _typed(frames: dict[str, Any]) -> dict[str, Any]:
    """The frames with dates, numbers and choices read, as a notebook starts."""
    import pandas as pd

    def day(values: Any, form: str = "%Y-%m-%d") -> Any:
        return pd.to_datetime(values, format=form, errors="coerce")

    def choice(values: Any, names: dict[str, str]) -> Any:
        return values.str.strip().str.lower().map(names)

    customers = frames["customers"].copy()
    customers["key"] = customers["customer_id"].str.strip().str.upper()
    customers["tier_name"] = choice(customers["tier"], TIERS)
    customers["created"] = day(customers["created_at"])
    customers["contacted"] = day(customers["last_contact"])
    orders = frames["orders"].copy()
    orders["key"] = orders["customer_id"].str.strip().str.upper()
    orders["day"] = day(orders["order_date"])
    orders["value"] = pd.to_numeric(orders["amount"], errors="coerce")
    orders["state"] = choice(orders["status"], ORDER_STATUSES)
    interactions = frames["interactions"].copy()
    interactions["key"] = interactions["customer_id"].str.strip().str.upper()
    interactions["day"] = day(interactions["date"])
    interactions["kind"] = choice(interactions["channel"], CHANNEL_NAMES)
    interactions["score"] = pd.to_numeric(interactions["rating"], errors="coerce")
    deals = frames["opportunities"].copy()
    deals["key"] = deals["customer_id"].str.strip().str.upper()
    deals["phase"] = choice(deals["stage"], STAGE_NAMES)
    deals["value"] = pd.to_numeric(deals["amount"], errors="coerce")
    deals["close"] = day(deals["expected_close"])
    deals["updated"] = day(deals["updated_at"], "%Y-%m-%d %H:%M")
    return {"customers": customers, "orders": orders, "interactions": interactions, "opportunities": deals}


def _revenue(orders: Any) -> Any:
    """Orders not cancelled or returned, in the most common currency (as sheetcrm counts without rates)."""
    counted = orders[~orders["state"].isin(["cancelled", "returned"])]
    currency = counted["currency"].str.strip().str.upper()
    main = currency[currency != ""].mode()[0]
    return counted[(currency == main) | (currency == "")]


def _share(table: Any, column: str) -> Any:
    table["% of total"] = table[column] / table[column].sum()
    return table


def _count_by(customers: Any, field: str) -> Any:
    table = customers.assign(**{field: customers[field].replace("", "(blank)")}).pivot_table(
        index=field, values="customer_id", aggfunc="count"
    )
    return _share(table.sort_values("customer_id", ascending=False), "customer_id")


def _owners(keys: Any, customers: Any) -> Any:
    return keys.map(customers.drop_duplicates("key", keep="last").set_index("key")["owner"]).fillna("")


def _overdue_orders(orders: Any, customers: Any) -> Any:
    """Confirmed or processing for more than 3 days, shipped for more than 7, counted from the order date."""
    import pandas as pd

    age = (pd.Timestamp(TODAY) - orders["day"]).dt.days
    late = pd.Series(None, index=orders.index, dtype="str")
    late[orders["state"].isin(["confirmed", "processing"]) & (age > 3)] = "not-shipped"
    late[(orders["state"] == "shipped") & (age > 7)] = "not-delivered"
    found = orders[late.notna()].assign(late=late, owner=lambda f: _owners(f["key"], customers))
    return found.pivot_table(index="owner", columns="late", values="order_id", aggfunc="count", fill_value=0,
                             margins=True, margins_name="Total")  # fmt: skip


def _stale(typed: dict[str, Any]) -> Any:
    """The stale rules: the last touch per customer with groupby, the cadence by tier, deals by date."""
    import pandas as pd

    now = pd.Timestamp(TODAY)
    customers, deals = typed["customers"], typed["opportunities"]
    latest = [
        frame[frame["day"] <= now].groupby("key")["day"].max() for frame in (typed["interactions"], typed["orders"])
    ]
    contacted = customers["contacted"].where(customers["contacted"] <= now)
    touch = pd.concat([contacted, *(customers["key"].map(last) for last in latest)], axis=1).max(axis=1)
    cadence = customers["tier_name"].map(CADENCE).fillna(90)
    age = (now - touch).dt.days
    untouched = touch.isna() & ~((now - customers["created"]).dt.days <= cadence)
    unreachable = (customers["phone"].str.strip() == "") & (customers["email"].str.strip() == "")
    open_deals = deals[~deals["phase"].isin(["won", "lost"])]
    deal_cadence = open_deals["key"].map(cadence.set_axis(customers["key"]).groupby(level=0).last()).fillna(90)
    updated = open_deals["updated"].where(open_deals["updated"] <= now).dt.normalize()
    found = pd.concat([
        pd.DataFrame({"owner": customers.loc[age > cadence, "owner"], "why": "overdue"}),
        pd.DataFrame({"owner": customers.loc[untouched, "owner"], "why": "no-touch"}),
        pd.DataFrame({"owner": customers.loc[unreachable, "owner"], "why": "no-contact-details"}),
        pd.DataFrame({"owner": open_deals.loc[open_deals["close"] < now, "owner"], "why": "past-close"}),
        pd.DataFrame({"owner": open_deals.loc[(now - updated).dt.days > deal_cadence, "owner"], "why": "not-updated"}),
    ])  # fmt: skip
    return found.pivot_table(index="owner", columns="why", aggfunc="size", fill_value=0, margins=True,
                             margins_name="Total")  # fmt: skip


def _funnel(orders: Any) -> Any:
    import pandas as pd

    position = orders["state"].map({name: index for index, name in enumerate(LINE)})
    position = position.mask(orders["state"] == "returned", LINE.index("shipped")).mask(
        orders["state"] == "cancelled", 0
    )
    reached = pd.Series([int((position >= index).sum()) for index in range(len(LINE))], index=LINE, name="orders")
    return pd.DataFrame({"orders": reached, "from the stage before": reached / reached.shift(1).fillna(reached.iloc[0]),
                         "of all orders": reached / position.notna().sum()})  # fmt: skip


def _top_customers(orders: Any, customers: Any) -> Any:
    per = _revenue(orders).dropna(subset=["value"]).groupby("key")["value"].agg(["sum", "size"])
    best = per.nlargest(20, "sum")
    best["share"] = best["sum"] / per["sum"].sum()
    names = customers.drop_duplicates("key", keep="last").set_index("key")["name"]
    return best.assign(name=best.index.map(names))


def _repeat_rate(orders: Any, customers: Any) -> Any:
    counts = customers["key"].map(_revenue(orders)["key"].value_counts()).fillna(0)
    per = customers.assign(tier_name=customers["tier_name"].fillna("(blank)"), buyers=counts > 0, again=counts > 1)
    table = per.groupby("tier_name")[["buyers", "again"]].sum()
    return table.assign(rate=table["again"] / table["buyers"])


def _month(days: Any) -> Any:
    return days.dt.strftime("%Y-%m")


def _by_tier_region(customers: Any) -> Any:
    return customers.assign(tier_name=customers["tier_name"].fillna("(blank)")).pivot_table(
        index="region",
        columns="tier_name",
        values="customer_id",
        aggfunc="count",
        fill_value=0,
        margins=True,
        margins_name="Total",
    )


def _new_customers(customers: Any) -> Any:
    return customers.assign(month=_month(customers["created"])).pivot_table(
        index="month", values="customer_id", aggfunc="count"
    )


def _revenue_by_month_region(orders: Any, customers: Any) -> Any:
    kept = _revenue(orders)
    region = kept["key"].map(customers.drop_duplicates("key", keep="last").set_index("key")["region"])
    return kept.assign(month=_month(kept["day"]), region=region.fillna("").replace("", "(blank)")).pivot_table(
        index="month", columns="region", values="value", aggfunc="sum", margins=True, margins_name="Total"
    )


def _revenue_by_product(orders: Any) -> Any:
    table = _revenue(orders).pivot_table(
        index="product", values="value", aggfunc=["sum", "count"], margins=True, margins_name="Total"
    )
    return _share(table.droplevel(1, axis=1).sort_values("sum", ascending=False), "sum")


def _average_order_value(orders: Any) -> Any:
    kept = _revenue(orders)
    return kept.assign(month=_month(kept["day"])).pivot_table(index="month", values="value", aggfunc=["mean", "count"])


def _opportunity_pipeline(deals: Any) -> Any:
    weighted = deals["value"] * deals["phase"].map(WEIGHTS)
    return deals.assign(phase=deals["phase"].fillna("(other)"), weighted=weighted).pivot_table(
        index="phase", values=["opportunity_id", "value", "weighted"],
        aggfunc={"opportunity_id": "count", "value": "sum", "weighted": "sum"}, margins=True, margins_name="Total",
    )  # fmt: skip


def _expected_close(deals: Any) -> Any:
    open_deals = deals[~deals["phase"].isin(["won", "lost"])].fillna({"phase": "(other)"})
    return open_deals.assign(month=_month(open_deals["close"])).pivot_table(
        index="month", columns="phase", values="value", aggfunc="sum", margins=True, margins_name="Total"
    )


def _interactions_by_channel(interactions: Any) -> Any:
    return interactions.assign(kind=interactions["kind"].fillna("(other)")).pivot_table(
        index=["kind", "owner"], values=["interaction_id", "score"],
        aggfunc={"interaction_id": "count", "score": "mean"}, margins=True, margins_name="Total",
    )  # fmt: skip


def baseline_tables(frames: dict[str, Any]) -> tuple[dict[str, Any], dict[str, float]]:
    """The same 16 tables with pivot_table and groupby; the tables by name, and seconds per report."""
    started = time.perf_counter()
    typed = _typed(frames)
    seconds = {"(typing the frames)": time.perf_counter() - started}
    customers, orders = typed["customers"], typed["orders"]
    reports: dict[str, Callable[[], Any]] = {
        "customers_by_tier_region": lambda: _by_tier_region(customers),
        "customers_by_industry": lambda: _count_by(customers, "industry"),
        "customers_by_lifecycle": lambda: _count_by(customers, "lifecycle"),
        "customers_by_rfm_segment": lambda: _count_by(customers, "rfm_segment"),
        "new_customers": lambda: _new_customers(customers),
        "revenue_by_month_region": lambda: _revenue_by_month_region(orders, customers),
        "revenue_by_product": lambda: _revenue_by_product(orders),
        "order_funnel": lambda: _funnel(orders),
        "overdue_orders_by_owner": lambda: _overdue_orders(orders, customers),
        "top_customers": lambda: _top_customers(orders, customers),
        "repeat_purchase_rate": lambda: _repeat_rate(orders, customers),
        "average_order_value": lambda: _average_order_value(orders),
        "stale_per_owner": lambda: _stale(typed),
        "opportunity_pipeline": lambda: _opportunity_pipeline(typed["opportunities"]),
        "expected_close": lambda: _expected_close(typed["opportunities"]),
        "interactions_by_channel": lambda: _interactions_by_channel(typed["interactions"]),
    }
    tables: dict[str, Any] = {}
    for name, compute in reports.items():
        started = time.perf_counter()
        tables[name] = compute()
        seconds[name] = time.perf_counter() - started
    return tables, seconds


def _baseline_checks(tables: dict[str, Any]) -> dict[str, object]:
    return {
        "revenue": round(float(tables["revenue_by_product"].loc["Total", "sum"])),
        "overdue_orders": int(tables["overdue_orders_by_owner"].loc["Total", "Total"]),
        "stale": int(tables["stale_per_owner"].loc["Total", "Total"]),
    }


def baseline_write(tables: dict[str, Any], target: Path) -> float:
    """Each table as a sheet of one workbook, with ``DataFrame.to_excel``; seconds taken."""
    import pandas as pd

    started = time.perf_counter()
    with pd.ExcelWriter(target, engine="openpyxl") as writer:
        for name, table in tables.items():
            table.to_excel(writer, sheet_name=name[:31])
    return time.perf_counter() - started


# -- cases ------------------------------------------------------------------------------------

LABELS = {"compute": "compute 16", "write": "compute + write"}


def child(case: str, path: Path) -> None:
    frames = load(path)
    who, task = case.split("-", 1)
    # imports are not timed: a notebook has pandas loaded, a CLI run pays sheetcrm's import once
    import openpyxl  # noqa: F401

    import sheetcrm.reports.builtin
    import sheetcrm.reports.render
    import sheetcrm.sync.xlsx  # noqa: F401  (open_workbook imports it on first use)

    with tempfile.TemporaryDirectory(dir=path) as folder:
        target = Path(folder) / "report.xlsx"
        if who == "sheetcrm" and task == "write":
            shutil.copyfile(small_workbook(path.parent), target)
        started = time.perf_counter()
        if who == "sheetcrm":
            tables, seconds = sheetcrm_write(frames, target) if task == "write" else sheetcrm_compute(frames)
            checks = _checks(tables)
        else:
            tables, seconds = baseline_tables(frames)
            if task == "write":
                seconds = {"compute": sum(seconds.values()), "to_excel": baseline_write(tables, target)}
            checks = _baseline_checks(tables)
        report({"seconds": time.perf_counter() - started, **checks, "per_report": seconds})


def print_details(rows: int, task: str, ours: dict[str, Any], base: dict[str, Any]) -> None:
    """Seconds per report (or per step of the write), sheetcrm beside the baseline, slowest first."""
    mine, theirs = ours.get("per_report") or {}, base.get("per_report") or {}
    print(f"    {rows:,} orders, {LABELS[task]}: seconds per step")
    steps = list(dict.fromkeys([*mine, *theirs]))
    for name in sorted(steps, key=lambda n: -mine.get(n, 0.0)) if task == "compute" else steps:
        print(f"      {name:<26} {mine.get(name, float('nan')):>8.3f} {theirs.get(name, float('nan')):>10.3f}")


def main() -> None:
    parser = bench_arguments(
        __doc__, rows=[1_000_000], cache=HERE / ".cache", baseline_max_rows=2_000_000, tasks=list(LABELS),
        rows_help="orders (customers: a tenth)",
    )  # fmt: skip
    parser.add_argument("--repeat", type=int, default=1, help="run each case this often and keep the fastest run")
    parser.add_argument("--per-report", action="store_true", help="also print the seconds of each report")
    args = parse_or_run_child(parser, child)
    if args is None:
        return

    print(f"{'orders':>9}  {'task':<16} {'sheetcrm':>16} {'plain pandas':>18} {'time ratio':>11} {'memory ratio':>13}")
    details = []
    for rows in args.rows:
        path = synthesise(rows, args.cache)
        small_workbook(args.cache)
        for task in args.tasks:
            results = {}
            for who in ("sheetcrm", "baseline"):
                if who == "baseline" and rows > args.baseline_max_rows:
                    results[who] = {"seconds": float("nan"), "peak_mb": float("nan")}
                    continue
                runs = [run_child(__file__, f"{who}-{task}", path) for _ in range(max(1, args.repeat))]
                results[who] = min(runs, key=lambda run: (run["seconds"] != run["seconds"], run["seconds"]))  # NaN last
            ours, base = results["sheetcrm"], results["baseline"]
            line = comparison_line(
                rows, LABELS[task], ours, base, skipped=rows > args.baseline_max_rows, ignore=TIMINGS
            )
            print(line, flush=True)
            details.append((rows, task, ours, base))
    print("ratios are baseline / sheetcrm: above 1 means sheetcrm is faster or leaner")
    print("sheetcrm writes styled sheets with a native chart each and a _reports index; the baseline draws no charts")
    if args.per_report:
        print(f"\n{'':<32} {'sheetcrm':>8} {'baseline':>10}")
        for detail in details:
            print_details(*detail)


if __name__ == "__main__":
    main()

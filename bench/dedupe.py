"""Benchmark: find duplicate customers in 100k and 1M synthetic rows, against recordlinkage's
sorted-neighbourhood pipeline, side by side in one run.

    pip install recordlinkage                  # the baseline; a bench/test-only dependency
    python bench/dedupe.py                     # 100k and 1M rows (baseline skipped at 1M: see below)
    python bench/dedupe.py --rows 20000 --baseline-max-rows 2000000

The customers are bench/generate.py's (names, companies, phones, emails, cities from the same
pools), with an address, a postcode and sometimes a birthday, and 5% planted duplicates: a
copy of another customer with two or three of a typo in the name, the name's words swapped,
the phone written another way, the email's case changed, the company's legal suffix dropped,
the birthday left out. They are generated once (seeded) and cached as Parquet, so the timed
child only reads them.

Each case runs in a fresh child process, so that its peak memory (max RSS) is its own. The
sheetcrm case is ``find_pairs`` + ``cluster_pairs`` at the default settings; "compared" is
the number of candidate pairs blocking lets through. The baseline is what a script with
recordlinkage does: ``SortedNeighbourhood`` on the name (window 3), ``Compare`` with Jaro-Winkler
on name and company, exact digits-only phone, exact lower-cased email and exact city, and a
pair is a duplicate when the sum of the five features reaches 3.5. Above
``--baseline-max-rows`` (200,000) the baseline is skipped: its pandas comparisons need minutes
and gigabytes there. Precision and recall are counted over the planted pairs (a found pair is
any pair in a merge cluster, or above the baseline's threshold).
"""

from __future__ import annotations

import itertools
import random
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from children import bench_arguments, parse_or_run_child, report, run_child  # noqa: E402  (beside this script)
from generate import _CITIES, _companies, _people  # noqa: E402  (the benchmark workbook's own value pools)

DUPLICATE_RATE = 0.05
_STREETS = ("Nanjing Rd", "Huaihai Rd", "Renmin Rd", "Main St", "Oak Ave", "Park Ave", "Maple Dr", "Elm St",
            "Zhongshan Rd", "Jiefang Rd", "Market St", "Pine St", "Cedar Ln", "Lake View Rd")  # fmt: skip


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 3:
        return word + word[-1:]
    i = rng.randrange(1, len(word) - 1)
    how = rng.randrange(3)
    if how == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if how == 1:
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def _reformat_phone(rng: random.Random, phone: str) -> str:
    digits = "".join(c for c in phone if c.isdigit())
    if phone.startswith("+86"):
        national = digits[2:]
        return rng.choice((national, f"{national[:3]}-{national[3:7]}-{national[7:]}", f"0086 {national}"))
    return rng.choice((f"+1 {digits[:3]} {digits[3:6]} {digits[6:]}", f"{digits[:3]}.{digits[3:6]}.{digits[6:]}"))


def synthetic_customers(rows: int, *, seed: int = 7) -> tuple[pd.DataFrame, np.ndarray]:
    """``rows`` customers (5% of them planted duplicates) and the planted pairs as an (k, 2) array of row positions."""
    rng = random.Random(seed)
    people = [(name.replace("&apos;", "'"), local) for name, local in _people(rng)]
    companies = [name.replace("&amp;", "&") for name in _companies(rng)]
    originals = rows - int(rows * DUPLICATE_RATE)
    who = rng.choices(people, k=originals)
    company = rng.choices(companies, k=originals)
    city = [rng.randrange(len(_CITIES)) for _ in range(originals)]
    columns: dict[str, list[str]] = {
        k: [] for k in ("name", "company", "phone", "email", "address", "city", "postcode", "birthday")
    }
    for j in range(originals):
        name, local = who[j]
        c = city[j]
        if c < 10:
            phone = f"+86 1{rng.randrange(30, 100)} {rng.randrange(10000):04d} {rng.randrange(10000):04d}"
        else:
            phone = f"({rng.randrange(200, 1000)}) {rng.randrange(200, 1000)}-{rng.randrange(10000):04d}"
        columns["name"].append(name)
        columns["company"].append(company[j])
        columns["phone"].append(phone)
        columns["email"].append(f"{local}{j}@{('gmail.com', 'qq.com', '163.com', 'example.com')[j % 4]}")
        columns["address"].append(f"{rng.randrange(1, 2000)} {rng.choice(_STREETS)}")
        columns["city"].append(_CITIES[c][0])
        columns["postcode"].append(f"{(c + 1) * 10000 + rng.randrange(300):06d}")
        birthday = f"{rng.randrange(1950, 2003)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
        columns["birthday"].append(birthday if rng.random() < 0.4 else "")
    truth = []
    for k in range(rows - originals):
        j = rng.randrange(originals)
        record = {field: values[j] for field, values in columns.items()}
        for change in rng.sample(("typo", "swap", "phone", "email", "company", "birthday"), rng.randint(2, 3)):
            if change == "typo":
                words = record["name"].split()
                if words and words[0].isascii():
                    w = rng.randrange(len(words))
                    words[w] = _typo(rng, words[w])
                    record["name"] = " ".join(words)
            elif change == "swap" and " " in record["name"]:
                record["name"] = " ".join(reversed(record["name"].split()))
            elif change == "phone":
                record["phone"] = _reformat_phone(rng, record["phone"])
            elif change == "email":
                record["email"] = rng.choice((record["email"].upper(), record["email"].title()))
            elif change == "company":
                record["company"] = (
                    record["company"].rsplit(" ", 1)[0]
                    if " " in record["company"]
                    else record["company"].removesuffix("有限公司").removesuffix("股份")
                )
            elif change == "birthday":
                record["birthday"] = ""
        for field, value in record.items():
            columns[field].append(value)
        truth.append((j, originals + k))
    # shuffle so duplicates are not all at the end
    order = list(range(rows))
    rng.shuffle(order)
    where = {old: new for new, old in enumerate(order)}
    frame = pd.DataFrame({field: [values[i] for i in order] for field, values in columns.items()})
    frame.index = pd.RangeIndex(2, rows + 2)  # sheet row numbers
    # a customer copied twice makes three records: every two of them are a pair
    groups: dict[int, list[int]] = {}
    for original, copy in truth:
        groups.setdefault(original, [original]).append(copy)
    pairs = np.array(
        sorted(
            (min(where[a], where[b]), max(where[a], where[b]))
            for group in groups.values()
            for a, b in itertools.combinations(group, 2)
        ),
        dtype=np.int64,
    )
    return frame, pairs


def ensure_data(rows: int, cache: Path) -> Path:
    path = cache / f"dedupe_{rows}.parquet"
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        frame, pairs = synthetic_customers(rows)
        frame.to_parquet(path)
        np.save(path.with_suffix(".truth.npy"), pairs)
    return path


def _quality(found: set[tuple[int, int]], path: Path) -> dict[str, float]:
    truth = {(int(a), int(b)) for a, b in np.load(path.with_suffix(".truth.npy"))}
    hits = len(found & truth)
    return {"precision": hits / len(found) if found else 1.0, "recall": hits / len(truth), "found": len(found)}


def case_sheetcrm(path: Path) -> dict[str, object]:
    from sheetcrm.dedupe import MatchConfig, candidate_pairs, cluster_pairs, find_pairs, normalized

    frame = pd.read_parquet(path)
    config = MatchConfig()
    started = time.perf_counter()
    clusters = cluster_pairs(find_pairs(frame, config), config)
    seconds = time.perf_counter() - started
    compared = len(candidate_pairs(normalized(frame, config), config)[0])
    found = {
        (a - 2, b - 2)
        for cluster in clusters
        if cluster.decision == "merge"
        for a, b in itertools.combinations(sorted(cluster.members), 2)  # type: ignore[type-var]
    }
    return {"seconds": seconds, "compared": compared, **_quality(found, path)}


def case_baseline(path: Path) -> dict[str, object]:
    import recordlinkage as rl

    frame = pd.read_parquet(path).reset_index(drop=True)  # row positions, as the planted pairs are
    started = time.perf_counter()
    data = pd.DataFrame(
        {
            "name": frame["name"].str.lower(),
            "company": frame["company"].str.lower(),
            "phone": frame["phone"].str.replace(r"\D", "", regex=True).str[-10:],
            "email": frame["email"].str.lower(),
            "city": frame["city"],
        }
    )
    candidates = rl.index.SortedNeighbourhood("name", window=3).index(data)
    compare = rl.Compare()
    compare.string("name", "name", method="jarowinkler", label="name")
    compare.string("company", "company", method="jarowinkler", label="company")
    compare.exact("phone", "phone", label="phone")
    compare.exact("email", "email", label="email")
    compare.exact("city", "city", label="city")
    features = compare.compute(candidates, data)
    matches = features.index[features.sum(axis=1) >= 3.5]
    seconds = time.perf_counter() - started
    found = {(min(int(a), int(b)), max(int(a), int(b))) for a, b in matches}
    return {"seconds": seconds, "compared": len(candidates), **_quality(found, path)}


CASES = {"sheetcrm": case_sheetcrm, "baseline": case_baseline}


def child(case: str, path: Path) -> None:
    report(CASES[case](path))


def main() -> None:
    parser = bench_arguments(__doc__, rows=[100_000, 1_000_000], cache=HERE / ".cache")
    args = parse_or_run_child(parser, child)
    if args is None:
        return

    nan = float("nan")
    print(
        f"{'rows':>9}  {'who':<9} {'seconds':>8} {'peak MB':>8} {'compared':>11} {'precision':>9} {'recall':>7}"
        f" {'time ratio':>10} {'memory ratio':>12}"
    )
    for rows in args.rows:
        path = ensure_data(rows, args.cache)
        ours = run_child(__file__, "sheetcrm", path)
        skipped = rows > args.baseline_max_rows
        base = (
            {"seconds": nan, "peak_mb": nan, "compared": 0, "precision": nan, "recall": nan}
            if skipped
            else run_child(__file__, "baseline", path)
        )
        for who, result in (("sheetcrm", ours), ("baseline", base)):
            ratio = (
                ""
                if who == "baseline"
                else (f" {base['seconds'] / ours['seconds']:>9.1f}x {base['peak_mb'] / ours['peak_mb']:>11.1f}x")
            )
            print(
                f"{rows:>9}  {who:<9} {result['seconds']:>8.2f} {result['peak_mb']:>8.0f} {result.get('compared', 0):>11}"
                f" {result.get('precision', nan):>9.4f} {result.get('recall', nan):>7.4f}{ratio}"
                + ("  (baseline skipped)" if who == "baseline" and skipped else "")
                + (f"  error: {result['error']}" if "error" in result else ""),
                flush=True,
            )
    print("ratios are baseline / sheetcrm: above 1 means sheetcrm is faster or leaner")


if __name__ == "__main__":
    main()

"""Benchmark: validate and fix a customers sheet with sheetcrm, against plain pandas + pandera
(and pandas + phonenumbers for fixing), side by side in one run.

    python bench/validate.py                        # 100k and 1M rows
    python bench/validate.py --rows 100000
    python bench/validate.py --rows 1000000 --tasks validate fix   # apply takes openpyxl minutes

Each case runs in a fresh child process, so that its peak memory (max RSS) is its own; times
include reading the workbook. The cases:

* validate: ``sheetcrm.validate`` on the customers table, against what a script without sheetcrm
  does: ``pandas.read_excel(dtype=str)``, headers mapped to fields with ``match_headers``, and
  ``to_pandera(CRM_TABLES["customers"]).validate(frame, lazy=True)``.
* fix: ``plan_fix`` (read, normalise every field, build the ChangeSet), against
  ``pandas.read_excel(dtype=str)`` and phonenumbers' parse and format per phone cell (the tier
  matched through a dict, email domains lower-cased): what a script would do for the same fixes.
* apply: ``fix`` with the ChangeSet applied and saved (backed up, atomic, logged for undo), against
  the same pandas script writing its result back with ``DataFrame.to_excel``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from children import report, run_child  # noqa: E402  (beside this script)

SHEET = "Customers"


def _config() -> Any:
    from sheetcrm.config import default_config

    return default_config()  # never a sheetcrm.toml lying in the working directory


def case_sheetcrm_validate(path: Path) -> dict[str, object]:
    import sheetcrm

    started = time.perf_counter()
    workbook = sheetcrm.open_workbook(path, config=_config())
    workbook.read(SHEET)
    read = time.perf_counter() - started
    report = sheetcrm.validate(workbook, tables=["customers"], config=_config())
    return {"read": read, "findings": len(report.findings)}


def _read_frame(path: Path) -> Any:
    import pandas as pd

    frame = pd.read_excel(path, sheet_name=SHEET, dtype=str)
    frame.index = frame.index + 2  # spreadsheet row numbers, so failure cases point at rows
    return frame


def case_baseline_validate(path: Path) -> dict[str, object]:
    import pandera.pandas as pa

    from sheetcrm.schema import CRM_TABLES, to_pandera

    started = time.perf_counter()
    frame = _read_frame(path)
    read = time.perf_counter() - started
    schema = CRM_TABLES["customers"]
    headers = schema.match_headers([str(column) for column in frame.columns]).fields
    try:
        to_pandera(schema, headers=headers).validate(frame, lazy=True)
        failures = 0
    except pa.errors.SchemaErrors as errors:
        failures = len(errors.failure_cases)
    return {"read": read, "findings": failures}


def case_sheetcrm_fix(path: Path) -> dict[str, object]:
    import sheetcrm
    from sheetcrm.jobs.fix import plan_fix

    started = time.perf_counter()
    workbook = sheetcrm.open_workbook(path, config=_config())
    workbook.read(SHEET)
    read = time.perf_counter() - started
    changes = plan_fix(workbook, config=_config(), tables=["customers"])
    return {"read": read, "cells": len(changes)}


def _baseline_fixes(frame: Any) -> int:
    """The same fixes, written the plain way: phonenumbers per cell, a dict, a string method."""
    import phonenumbers

    from sheetcrm.schema import CRM_TABLES

    def phone(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            number = phonenumbers.parse(value, "CN")
        except phonenumbers.NumberParseException:
            return value
        if not phonenumbers.is_valid_number(number):
            return value
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    tier = CRM_TABLES["customers"].field("tier")
    lookup = {spelling.casefold(): choice for spelling, choice in tier.synonyms.items()}
    lookup.update({choice.casefold(): choice for choice in tier.choices})
    fixed = frame.copy()
    fixed["phone"] = frame["phone"].map(phone)
    fixed["tier"] = frame["tier"].map(lambda v: lookup.get(v.strip().casefold(), v) if isinstance(v, str) else v)
    fixed["email"] = frame["email"].map(
        lambda v: v.rpartition("@")[0] + "@" + v.rpartition("@")[2].lower() if isinstance(v, str) and "@" in v else v
    )
    changed = (fixed != frame) & fixed.notna()
    frame.update(fixed)
    return int(changed.to_numpy().sum())


def case_baseline_fix(path: Path) -> dict[str, object]:
    started = time.perf_counter()
    frame = _read_frame(path)
    read = time.perf_counter() - started
    return {"read": read, "cells": _baseline_fixes(frame)}


def case_sheetcrm_apply(path: Path) -> dict[str, object]:
    import sheetcrm
    from sheetcrm.jobs.fix import fix

    workbook = sheetcrm.sync.workbook.open_workbook(path, backups=1)
    result = fix(workbook, config=_config(), tables=["customers"])
    return {"cells": len(result.changes)}


def case_baseline_apply(path: Path) -> dict[str, object]:
    frame = _read_frame(path)
    cells = _baseline_fixes(frame)
    frame.to_excel(path, sheet_name=SHEET, index=False)
    return {"cells": cells}


CASES = {
    "sheetcrm-validate": case_sheetcrm_validate,
    "baseline-validate": case_baseline_validate,
    "sheetcrm-fix": case_sheetcrm_fix,
    "baseline-fix": case_baseline_fix,
    "sheetcrm-apply": case_sheetcrm_apply,
    "baseline-apply": case_baseline_apply,
}
LABELS = {
    "validate": ("validate customers", "pandas+pandera"),
    "fix": ("plan fix (no write)", "pandas+phonenumbers"),
    "apply": ("fix, apply and save", "... + to_excel"),
}


def child(case: str, path: Path) -> None:
    started = time.perf_counter()
    extra = CASES[case](path)
    report({"seconds": time.perf_counter() - started, **extra})


def _detail(result: dict[str, Any]) -> str:
    if "error" in result:
        return f"failed: {result['error']}"
    parts = []
    if "read" in result:
        parts.append(f"read {result['read']:.1f} s")
    if "findings" in result:
        parts.append(f"{result['findings']} findings")
    if "cells" in result:
        parts.append(f"{result['cells']} cells")
    return ", ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--tasks", nargs="+", choices=list(LABELS), default=list(LABELS))
    parser.add_argument("--cache", type=Path, default=HERE / ".cache")
    parser.add_argument("--child", nargs=2, metavar=("CASE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return

    from generate import ensure_workbook

    print(
        f"{'rows':>9}  {'task':<21} {'sheetcrm':>16} {'baseline':>16} {'time ratio':>11} {'memory ratio':>13}"
        "  baseline is"
    )
    details = []
    for rows in args.rows:
        source = ensure_workbook("customers", rows, args.cache)
        for task in args.tasks:
            results = {}
            for who in ("sheetcrm", "baseline"):
                path = source
                if task == "apply":  # a fresh copy: applying writes it
                    path = args.cache / "work" / f"{who}-fix-{rows}.xlsx"
                    shutil.rmtree(path.parent / ".sheetcrm", ignore_errors=True)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(source, path)
                results[who] = run_child(__file__, f"{who}-{task}", path)
            ours, base = results["sheetcrm"], results["baseline"]
            label, baseline = LABELS[task]
            print(
                f"{rows:>9}  {label:<21} {ours['seconds']:>7.2f} s {ours['peak_mb']:>5.0f} MB"
                f" {base['seconds']:>7.2f} s {base['peak_mb']:>5.0f} MB"
                f" {base['seconds'] / ours['seconds']:>10.1f}x {base['peak_mb'] / ours['peak_mb']:>12.1f}x"
                f"  {baseline}",
                flush=True,
            )
            details.append(f"{rows:>9}  {label:<21} sheetcrm: {_detail(ours)}; baseline: {_detail(base)}")
    print("ratios are baseline / sheetcrm: above 1 means sheetcrm is faster or leaner")
    print("\n".join(details))


if __name__ == "__main__":
    main()

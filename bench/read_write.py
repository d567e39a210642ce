"""Benchmark: read a customers sheet into a Table, apply a 1%-of-cells edit, and delete 1% of
the rows, against plain pandas + openpyxl, side by side in one run.

    python bench/read_write.py                      # 10k and 100k rows
    python bench/read_write.py --rows 1000000       # the 1M-row sheet (baseline skipped: see below)
    python bench/read_write.py --rows 1000000 --tasks write --baseline-max-rows 2000000  # wait for it

Each case runs in a fresh child process, so that its peak memory (max RSS) is its own.
The baseline is what a script without sheetcrm does: ``pandas.read_excel(engine="openpyxl",
dtype=str)`` to read, and ``openpyxl.load_workbook`` / edit / ``save`` to write.

The write task applies a ChangeSet that edits 1% of the sheet's cells (14% of the rows of
one column). It is built by reading the sheet in a child of its own and saved as JSON, so
the timed child only loads it and applies it: the time and memory of the write itself, which
is what the baseline's load/edit/save does too. The delete task deletes every 100th data row
the same way (a dedupe merging 1% of the customers); its baseline is what a pandas script does,
``read_excel``, ``drop`` and ``to_excel`` (openpyxl's own ``delete_rows`` moves every cell below
once per row: hours here), which keeps neither styles nor formulas. Above
``--baseline-max-rows`` (200,000) the baseline is skipped: openpyxl needs minutes and gigabytes there.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from children import bench_arguments, parse_or_run_child, report, run_child  # noqa: E402  (beside this script)

EDITED_COLUMN = "notes"


def edited_rows(rows: int) -> range:
    """Rows to edit: 1% of the cells of a 14-column sheet is 14% of the rows in one column."""
    cells = max(1, rows * 14 // 100)
    step = max(1, rows // cells)
    return range(2, rows + 2, step)


def case_sheetcrm_read(path: Path) -> dict[str, object]:
    import sheetcrm

    table = sheetcrm.open_workbook(path)["Customers"]
    return {"rows": len(table)}


def case_baseline_read(path: Path) -> dict[str, object]:
    import pandas as pd

    frame = pd.read_excel(path, sheet_name="Customers", engine="openpyxl", dtype=str, keep_default_na=False)
    return {"rows": len(frame)}


def case_sheetcrm_plan(path: Path) -> dict[str, object]:
    """Not timed: the ChangeSet the write case applies, saved beside the workbook."""
    import sheetcrm

    table = sheetcrm.sync.workbook.open_workbook(path)["Customers"]
    letter = table.letter(EDITED_COLUMN)
    changes = sheetcrm.ChangeSet("bench")
    rows = edited_rows(len(table))
    for row in rows:
        changes.edit("Customers", row, letter, old=table.value(row, EDITED_COLUMN), new=f"edited {row}")
    path.with_suffix(".changes.json").write_text(changes.to_json(), encoding="utf-8")
    return {"cells": len(rows)}


def deleted_rows(rows: int) -> range:
    """Rows to delete: every 100th data row."""
    return range(3, rows + 2, 100)


def case_sheetcrm_plan_delete(path: Path) -> dict[str, object]:
    """Not timed: the ChangeSet the delete case applies (each row with the text seen in it)."""
    import sheetcrm

    table = sheetcrm.sync.workbook.open_workbook(path)["Customers"]
    changes = sheetcrm.ChangeSet("bench")
    rows = deleted_rows(len(table))
    seen = {row: {table.letter(f): table.value(row, f) for f in table.frame.columns} for row in rows}
    changes.delete("Customers", {row: {k: v for k, v in values.items() if v} for row, values in seen.items()})
    path.with_suffix(".changes.json").write_text(changes.to_json(), encoding="utf-8")
    return {"rows": len(rows)}


def case_baseline_delete(path: Path) -> dict[str, object]:
    import pandas as pd

    frame = pd.read_excel(path, sheet_name="Customers", engine="openpyxl", dtype=str, keep_default_na=False)
    gone = [row - 2 for row in deleted_rows(len(frame))]  # sheet row 2 is frame index 0
    frame.drop(index=gone).to_excel(path, sheet_name="Customers", index=False, engine="openpyxl")
    return {"rows": len(gone)}


def case_sheetcrm_write(path: Path) -> dict[str, object]:
    import sheetcrm

    changes = sheetcrm.ChangeSet.from_json(path.with_suffix(".changes.json").read_text(encoding="utf-8"))
    sheetcrm.sync.workbook.open_workbook(path, backups=1).apply(changes)
    return {"cells": len(changes)}


def case_baseline_write(path: Path) -> dict[str, object]:
    import openpyxl

    book = openpyxl.load_workbook(path)
    sheet = book["Customers"]
    header = [cell.value for cell in sheet[1]]
    column = header.index(EDITED_COLUMN) + 1
    rows = edited_rows(sheet.max_row - 1)
    for row in rows:
        sheet.cell(row, column).value = f"edited {row}"
    book.save(path)
    return {"cells": len(rows)}


CASES = {
    "sheetcrm-read": case_sheetcrm_read,
    "baseline-read": case_baseline_read,
    "sheetcrm-plan": case_sheetcrm_plan,
    "sheetcrm-write": case_sheetcrm_write,
    "baseline-write": case_baseline_write,
    "sheetcrm-plan-delete": case_sheetcrm_plan_delete,
    "sheetcrm-delete": case_sheetcrm_write,  # applies whichever ChangeSet was planned
    "baseline-delete": case_baseline_delete,
}


def child(case: str, path: Path) -> None:
    started = time.perf_counter()
    extra = CASES[case](path)
    report({"seconds": time.perf_counter() - started, **extra})


def main() -> None:
    parser = bench_arguments(__doc__, rows=[10_000, 100_000], cache=HERE / ".cache", tasks=["read", "write", "delete"])
    args = parse_or_run_child(parser, child)
    if args is None:
        return

    from generate import ensure_workbook

    print(f"{'rows':>9}  {'task':<22} {'sheetcrm':>16} {'pandas+openpyxl':>18} {'time ratio':>11} {'memory ratio':>13}")
    for rows in args.rows:
        source = ensure_workbook("customers", rows, args.cache)
        for task in args.tasks:
            results = {}
            for who in ("sheetcrm", "baseline"):
                work = args.cache / "work" / f"{who}-{task}-{rows}.xlsx"
                if work.parent.exists():
                    shutil.rmtree(work.parent / ".sheetcrm", ignore_errors=True)
                work.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, work)
                if who == "baseline" and rows > args.baseline_max_rows:
                    results[who] = {"seconds": float("nan"), "peak_mb": float("nan")}
                    continue
                if who == "sheetcrm" and task == "write":
                    run_child(__file__, "sheetcrm-plan", work)
                if who == "sheetcrm" and task == "delete":
                    run_child(__file__, "sheetcrm-plan-delete", work)
                results[who] = run_child(__file__, f"{who}-{task}", work)
            ours, base = results["sheetcrm"], results["baseline"]
            label = {"read": "read into a Table", "write": "apply 1% cell edits", "delete": "delete 1% of rows"}[task]
            print(
                f"{rows:>9}  {label:<22} {ours['seconds']:>7.2f} s {ours['peak_mb']:>5.0f} MB"
                f" {base['seconds']:>9.2f} s {base['peak_mb']:>5.0f} MB"
                f" {base['seconds'] / ours['seconds']:>10.1f}x {base['peak_mb'] / ours['peak_mb']:>12.1f}x"
                + ("  (baseline skipped)" if rows > args.baseline_max_rows else "")
                + (f"  error: {ours['error']}" if "error" in ours else ""),
                flush=True,
            )
    print("ratios are baseline / sheetcrm: above 1 means sheetcrm is faster or leaner")


if __name__ == "__main__":
    main()

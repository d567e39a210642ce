"""Benchmark: reading and writing a Google Sheet through sheetcrm, beside plain gspread + pandas.

    python bench/gsheets.py                          # 1k, 10k and 50k customers
    python bench/gsheets.py --rows 100000 --tasks read

The spreadsheet lives in ``sheetcrm.testing.SheetsEmulator``, served from this process on loopback;
each case runs in a child process of its own (its peak memory is its own) and talks to it over real
HTTP with gspread, google-auth and requests, as it would to Google. The emulator's own time (a
Python server building JSON) is part of every figure, on both sides, so the ratios say more than the
seconds; against Google the network and its quotas dominate, and there the number of API calls is
what counts: it is printed for each case.

- ``read``: the Customers and Orders sheets into pandas. sheetcrm: ``open_workbook("gsheets://KEY")``
  and ``workbook.read("Customers", "Orders")`` (one ``values.batchGet``, every cell text).
  Baseline: ``gspread.Client.open_by_key`` and ``worksheet.get_all_values()`` per sheet into a
  ``DataFrame``.
- ``write``: 1% of the phone cells edited. sheetcrm: a ChangeSet applied (the cells re-read and
  compared first, one ``values.batchUpdate`` RAW, logged for undo). Baseline: one
  ``worksheet.batch_update`` of the same cells (RAW), with no check of what is there.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from children import bench_arguments, comparison_line, parse_or_run_child, report, run_child  # noqa: E402  (beside this script)

TODAY = dt.date(2026, 11, 22)
TASKS = ("read", "write")


def child(case: str, path: Path) -> None:
    """Run one case on the spreadsheet whose key is ``path``'s name; print its timings."""
    key = path.name
    task, side = case.split(":")
    if side == "sheetcrm":
        # imports are not timed, on either side
        import sheetcrm
        import sheetcrm.config
        import sheetcrm.sync.gsheets.connect
        import sheetcrm.sync.gsheets.http
        import sheetcrm.testing.sheets_emulator
        from sheetcrm.sync.changeset import ChangeSet

        start = time.perf_counter()
        workbook = sheetcrm.open_workbook(f"gsheets://{key}")
        tables = workbook.read("Customers", "Orders")
        result: dict[str, Any] = {"rows": len(tables["Customers"]) + len(tables["Orders"])}
        if task == "write":
            customers = tables["Customers"]
            changes = ChangeSet("bench: 1% of the phones")
            for row in customers.rows[::100]:
                old = customers.value(row, "phone")
                changes.edit("Customers", row, customers.letter("phone"), old=old, new=old.replace(" ", "") + "0")
            workbook.apply(changes)
            result["edited"] = len(changes)
        result["seconds"] = time.perf_counter() - start
        result["calls"] = sum(workbook.backend.calls.values())  # type: ignore[attr-defined]
        report(result)
        return
    import gspread
    import pandas as pd
    from google.oauth2.service_account import Credentials

    from sheetcrm.testing import emulated_session

    start = time.perf_counter()
    scopes = ["https://www.googleapis.com/auth/spreadsheets", "https://www.googleapis.com/auth/drive"]
    credentials = Credentials.from_service_account_file(os.environ["GOOGLE_APPLICATION_CREDENTIALS"], scopes=scopes)  # type: ignore[no-untyped-call]
    session = emulated_session(credentials, os.environ["SHEETCRM_SHEETS_ENDPOINT"])
    client = gspread.Client(credentials, session=session)
    book = client.open_by_key(key)
    frames = {}
    for name in ("Customers", "Orders"):
        values = book.worksheet(name).get_all_values()
        frames[name] = pd.DataFrame(values[1:], columns=values[0])
    result = {"rows": sum(len(frame) for frame in frames.values())}
    if task == "write":
        customers = frames["Customers"]
        column = gspread.utils.rowcol_to_a1(1, list(customers.columns).index("phone") + 1).rstrip("1")
        data = [
            {"range": f"{column}{index + 2}", "values": [[str(customers["phone"].iloc[index]).replace(" ", "") + "0"]]}
            for index in range(0, len(customers), 100)
        ]
        book.worksheet("Customers").batch_update(data, raw=True)
        result["edited"] = len(data)
    result["seconds"] = time.perf_counter() - start
    report(result)


def main() -> None:
    parser = bench_arguments(__doc__, rows=(1_000, 10_000, 50_000), cache=Path(tempfile.gettempdir()), tasks=TASKS)
    args = parse_or_run_child(parser, child)
    if args is None:
        return
    import sheetcrm
    from sheetcrm.sample import write_sample_workbook
    from sheetcrm.testing import SheetsEmulator, make_service_account_key

    with SheetsEmulator() as emulator, tempfile.TemporaryDirectory() as folder:
        os.environ["GOOGLE_APPLICATION_CREDENTIALS"] = str(
            make_service_account_key(Path(folder) / "key.json", emulator)
        )
        os.environ["SHEETCRM_SHEETS_ENDPOINT"] = emulator.base_url
        os.chdir(folder)  # the run log of the write cases goes here
        print(
            f"{'rows':>9}  {'task':<16} {'sheetcrm':>17} {'gspread+pandas':>19} {'time ratio':>11} {'memory ratio':>13}  calls"
        )
        for rows in args.rows:
            path = Path(folder) / f"crm-{rows}.xlsx"
            write_sample_workbook(path, customers=rows, seed=7, today=TODAY)
            workbook = sheetcrm.open_workbook(path)
            sheets = {name: workbook.backend.read_sheets([name])[name] for name in ("Customers", "Orders")}
            cells = {
                name: [list(row) for row in zip(*(c.to_pylist() for c in raw.column_major()), strict=True)]
                for name, raw in sheets.items()
            }
            for task in args.tasks:
                results = {}
                for side in ("sheetcrm", "baseline"):
                    key = emulator.create_spreadsheet(f"crm {rows}", sheets=cells)
                    before = len(emulator.api_calls)
                    results[side] = run_child(__file__, f"{task}:{side}", Path(folder) / key)
                    results[side].setdefault("calls", len(emulator.api_calls) - before)
                line = comparison_line(
                    rows, task, results["sheetcrm"], results["baseline"], skipped=False, ignore=("calls",)
                )
                print(f"{line}  {results['sheetcrm']['calls']} vs {results['baseline']['calls']}", flush=True)


if __name__ == "__main__":
    main()

"""Quickstart: read a CRM workbook as text, preview and apply a change, then undo it.

    python examples/quickstart.py [FOLDER]

Writes the sample workbook into FOLDER (default: a temporary folder) and works on it.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import sheetcrm
from sheetcrm.sample import write_sample_workbook


def main(folder: Path) -> None:
    path = folder / "crm.xlsx"
    write_sample_workbook(path, customers=500, seed=7)
    workbook = sheetcrm.open_workbook(path)

    customers = workbook["Customers"]
    print(f"{len(customers)} customers; columns: {', '.join(customers.columns[:6])}, …")

    # every value is text, indexed by spreadsheet row: postcodes keep their leading zeros
    vip = customers.frame[customers.frame["tier"] == "VIP"]
    print(f"{len(vip)} VIP customers, first at {customers.address(int(vip.index[0]), 'name')}")

    # plan: mark each VIP's name cell with a fill and a note
    changes = sheetcrm.ChangeSet("highlight VIPs")
    for row in vip.index[:3]:
        changes.fill("Customers", int(row), customers.letter("name"), "FFF2CC")
        changes.note("Customers", int(row), customers.letter("name"), "VIP: call monthly")
    print(workbook.apply(changes, dry_run=True).preview())

    run = workbook.apply(changes)
    print(f"applied as run {run.run_id}; backup at {run.backup}")

    undone = workbook.undo(run.run_id or "")
    print(f"undone by run {undone.run_id}; history: {[r.command for r in workbook.history()]}")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as folder:
            main(Path(folder))

"""Edit a workbook in place and see that only what was meant to change did.

    python examples/edit_in_place.py [WORKBOOK.xlsx]

Without an argument it writes the sample workbook into a temporary folder. It normalises
the phone numbers of the first customers, highlights one, appends a customer, and then
lists the parts of the .xlsx file (a zip) that changed: the Customers sheet, and the style
sheet when a new fill was added. Every other part, charts, pivot tables, the other sheets,
is the same bytes as before.
"""

from __future__ import annotations

import sys
import tempfile
import zipfile
from pathlib import Path

import sheetcrm
from sheetcrm.sample import write_sample_workbook


def parts(path: Path) -> dict[str, tuple[int, int]]:
    """Each zip member's CRC and compressed size: equal means the same bytes."""
    with zipfile.ZipFile(path) as archive:
        return {info.filename: (info.CRC, info.compress_size) for info in archive.infolist()}


def main(path: Path) -> None:
    before = parts(path)
    workbook = sheetcrm.open_workbook(path)
    customers = workbook["Customers"]
    phone = customers.letter("phone")
    changes = sheetcrm.ChangeSet("tidy phones")
    for row in customers.rows[:5]:
        old = customers.value(row, "phone")
        digits = "".join(ch for ch in old if ch.isdigit())
        if digits and old != f"+{digits}":
            changes.edit("Customers", row, phone, old=old, new=f"+{digits}")
    changes.fill("Customers", customers.rows[0], customers.letter("name"), "FFF2CC")
    changes.append("Customers", [{customers.letter("customer_id"): "C-NEW-0001", customers.letter("name"): "李娜"}])
    run = workbook.apply(changes)
    print(f"applied run {run.run_id}: {run.changes.counts()}")

    after = parts(path)
    changed = sorted(name for name in before if before[name] != after.get(name))
    print(f"{len(before)} parts in the file; changed: {', '.join(changed)}")
    print(f"unchanged, byte for byte: {len(before) - len(changed)}")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as folder:
            sample = Path(folder) / "crm.xlsx"
            write_sample_workbook(sample, customers=300, seed=7)
            main(sample)

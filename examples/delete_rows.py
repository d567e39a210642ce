"""Delete rows the way Excel does: what points at the rows below moves with them.

    python examples/delete_rows.py

It makes a small workbook in a temporary folder: ten customers, a note on one of them, a
Summary sheet whose formulas count the customers and pick one of them by its cell. It
deletes two customers (as a dedupe would), prints the Summary formulas and the note's cell
before and after, then undoes the run and prints them again.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import openpyxl
from openpyxl.comments import Comment

import sheetcrm


def make_workbook(path: Path) -> None:
    book = openpyxl.Workbook()
    customers = book.active
    assert customers is not None
    customers.title = "Customers"
    customers.append(["customer_id", "name"])
    for number in range(1, 11):
        customers.append([f"C-{number:03d}", f"Customer {number}"])
    customers["B8"].comment = Comment("call back on Monday", "team")
    summary = book.create_sheet("Summary")
    summary["A1"], summary["B1"] = "customers", "=COUNTA(Customers!A2:A11)"
    summary["A2"], summary["B2"] = "the one to call", "=Customers!B8"
    book.save(path)


def show(path: Path, when: str) -> None:
    book = openpyxl.load_workbook(path)
    noted = [cell.coordinate for row in book["Customers"].iter_rows() for cell in row if cell.comment]
    print(f"{when}: Summary!B1 {book['Summary']['B1'].value}, B2 {book['Summary']['B2'].value}; note on {noted}")


def main(path: Path) -> None:
    make_workbook(path)
    show(path, "before")
    workbook = sheetcrm.open_workbook(path)
    customers = workbook["Customers"]
    changes = sheetcrm.ChangeSet("merge duplicates")
    # each row to delete with what was read in it: a row edited meanwhile is not deleted
    changes.delete(
        "Customers",
        {row: {"A": customers.value(row, "customer_id"), "B": customers.value(row, "name")} for row in (3, 5)},
    )
    run = workbook.apply(changes)
    show(path, "after ")
    assert run.run_id is not None
    sheetcrm.open_workbook(path).undo(run.run_id)
    show(path, "undone")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        main(Path(folder) / "crm.xlsx")

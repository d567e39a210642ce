"""Creating a new CRM workbook from the table layouts (``sheetcrm init``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import openpyxl
from openpyxl.styles import Font, PatternFill

from sheetcrm.errors import InputError
from sheetcrm.schema.tables import CRM_TABLES
from sheetcrm.sync.safewrite import replace_atomically

HEADER_FILL = "DDEBF7"


def create_workbook(path: str | Path, *, tables: Sequence[str] | None = None, overwrite: bool = False) -> Path:
    """Write a new workbook with one sheet per CRM table: bold, frozen, filterable headers.

    >>> create_workbook("crm.xlsx", tables=["customers", "orders"])
    PosixPath('crm.xlsx')
    """
    target = Path(path)
    if target.suffix.lower() != ".xlsx":
        raise InputError(f"{target}: a new workbook must be an .xlsx file")
    if target.exists() and not overwrite:
        raise InputError(f"{target} already exists", hint="choose another name; sheetcrm never overwrites a workbook")
    keys = list(tables) if tables else list(CRM_TABLES)
    unknown = [key for key in keys if key not in CRM_TABLES]
    if unknown:
        raise InputError(f"unknown table {unknown[0]!r}", hint=f"choose from {', '.join(CRM_TABLES)}")

    book = openpyxl.Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for key in keys:
        layout = CRM_TABLES[key]
        sheet = book.create_sheet(layout.sheet)
        sheet.append(list(layout.columns))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
            cell.fill = PatternFill(fill_type="solid", fgColor=HEADER_FILL)
            sheet.column_dimensions[cell.column_letter].width = max(12, len(str(cell.value)) + 4)
        sheet.freeze_panes = "A2"
        sheet.auto_filter.ref = f"A1:{sheet.cell(1, len(layout.columns)).column_letter}1"
    target.parent.mkdir(parents=True, exist_ok=True)
    replace_atomically(target, lambda temp: book.save(temp))
    return target

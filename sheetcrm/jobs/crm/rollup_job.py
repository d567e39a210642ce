"""``sheetcrm rollups``: write each customer's order roll-ups into columns of the customers sheet.

The figures (:func:`~sheetcrm.jobs.crm.rollups.compute_rollups`) go into columns named as the
figures are (``order_count``, ``total_spent``, ``first_order``, ``last_order``,
``avg_order_value``), or as ``[rollups] columns`` renames them (``order_count = "订单数"``),
created after the last column when the sheet has none of that name.
Only cells whose text changes are written, so a second run with the same orders writes
nothing. Cells holding a formula are left alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd

from sheetcrm.config import Config, load_config
from sheetcrm.jobs.crm.frames import read_crm_tables
from sheetcrm.jobs.crm.rollups import compute_rollups
from sheetcrm.sync.a1 import column_index, column_letter
from sheetcrm.sync.changeset import CellValue, ChangeSet
from sheetcrm.sync.table import Table
from sheetcrm.sync.workbook import ApplyResult, Workbook

__all__ = ["FLAG_FILL", "plan_rollups", "rollups", "write_columns", "write_flags"]


def plan_rollups(workbook: Workbook, *, config: Config | None = None, today: dt.date | None = None) -> ChangeSet:
    """A ChangeSet writing the roll-ups of every customer (see the module's text)."""
    settings = config if config is not None else load_config()
    read = read_crm_tables(workbook, settings, required=("customers", "orders"))
    figures = compute_rollups(read.frames["customers"], read.frames["orders"], today=today or dt.date.today())

    changes = ChangeSet("rollups: order figures per customer")
    write_columns(changes, read.tables["customers"], figures, typed=_typed, headers=settings.rollups.columns)
    return changes


def write_columns(
    changes: ChangeSet,
    table: Table,
    figures: pd.DataFrame,
    *,
    typed: Callable[[str, str], CellValue],
    headers: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Add edits writing ``figures`` (text, indexed by ``table``'s rows) into the columns of
    their names (or of ``headers[name]``, the team's own header for a figure): created after
    the last column when missing; only cells whose text changes; never over a formula.
    ``typed(figure, text)`` is the value a cell gets. Returns each figure's column letter."""
    letters: dict[str, str] = {}
    next_column = max((column_index(table.letter(h)) for h in table.columns), default=0) + 1
    for name in figures.columns:
        header = (headers or {}).get(name, name)
        new = figures[name].astype(str)
        if header in table.columns:
            letter = table.letter(header)
            old = table.frame[header].astype(str)
        else:
            letter = column_letter(next_column)
            next_column += 1
            changes.edit(table.sheet, table.header_row, letter, old="", new=header, field=name)
            old = pd.Series("", index=new.index)  # a new column is empty
        letters[name] = letter
        for row in new.index[new != old]:
            if header in table.columns and table.is_formula(int(row), header):
                continue  # a formula a person wrote
            changes.edit(table.sheet, int(row), letter, old=old[row], new=typed(name, new[row]), field=name)
    return letters


FLAG_FILL = "FFEB9C"  # the warning yellow of validate: one of sheetcrm's own fills


def write_flags(changes: ChangeSet, table: Table, flags: pd.Series) -> None:
    """Write short flag texts (``"overdue 12 days"``, ``""`` for none) into the column named
    ``flags.name`` and highlight flagged cells; a flag gone clears its text and its highlight
    (never a colour the team chose: ``ours_only``)."""
    column = str(flags.name)
    before = table.frame[column] if column in table.columns else pd.Series("", index=flags.index)
    letter = write_columns(changes, table, flags.to_frame(), typed=lambda _name, text: text)[column]
    for row in flags.index[(flags != "") & (before == "")]:
        changes.fill(table.sheet, int(row), letter, FLAG_FILL, ours_only=True)
    for row in flags.index[(flags == "") & (before != "")]:
        changes.fill(table.sheet, int(row), letter, None, ours_only=True)


def _typed(name: str, text: str) -> CellValue:
    """A figure as the cell should hold it: a number or a date a spreadsheet can sum and sort
    (it reads back as the same text, so the next run finds nothing to change)."""
    if text == "":
        return ""
    if name in ("first_order", "last_order"):
        return dt.date.fromisoformat(text)
    if name == "order_count":
        return int(text)
    return float(text)


def rollups(
    workbook: Workbook,
    *,
    config: Config | None = None,
    today: dt.date | None = None,
    dry_run: bool = False,
    out: str | Path | None = None,
) -> ApplyResult:
    """Plan :func:`plan_rollups` and apply it as one run (``dry_run`` only previews it)."""
    changes = plan_rollups(workbook, config=config, today=today)
    return workbook.apply(changes, dry_run=dry_run, command="rollups", out=out)

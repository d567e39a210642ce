"""Tidy text: trim stray whitespace around and inside text cells. Safe, reversible, fast."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sheetcrm.sync.changeset import ChangeSet
from sheetcrm.sync.workbook import ApplyResult, Workbook

# spaces, tabs and no-break spaces; line breaks inside a cell are the user's and stay
_RUNS = r"[ \t\u00a0]+"


def plan_tidy(workbook: Workbook, sheets: Sequence[str] | None = None) -> ChangeSet:
    """A ChangeSet trimming leading/trailing whitespace and collapsing runs of spaces.

    Formula cells and headers are left alone. ``sheets`` defaults to every sheet.
    """
    changes = ChangeSet("tidy whitespace")
    names = list(sheets) if sheets else workbook.sheet_names
    for sheet, table in workbook.read(*names).items():
        for column in table.columns:
            values = table.frame[column].astype(str)
            tidied = values.str.replace(_RUNS, " ", regex=True).str.strip(" \t\u00a0\r\n")
            for row in values.index[values != tidied]:
                if not table.is_formula(int(row), column):
                    changes.edit(sheet, int(row), table.letter(column), old=values[row], new=tidied[row], field=column)
    return changes


def tidy(
    workbook: Workbook, sheets: Sequence[str] | None = None, *, dry_run: bool = False, out: str | Path | None = None
) -> ApplyResult:
    """Plan and apply :func:`plan_tidy` as one run (``dry_run`` only previews it; ``out`` writes a new file)."""
    return workbook.apply(plan_tidy(workbook, sheets), dry_run=dry_run, command="tidy", out=out)

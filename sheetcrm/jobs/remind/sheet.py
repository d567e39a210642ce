"""The ``_reminders`` sheet: one row per reminder, with a ``done`` dropdown the next run honours.

sheetcrm owns the sheet and rewrites it whole, but reads it first: a row a person marked
done (``yes``, ``x``, ``✓``, ``是``, ``完成`` …) stays done, and that reminder goes to no
channel again; the ``note`` column keeps what people wrote. A reminder no longer due (the
customer was called) becomes ``resolved``. Done and resolved rows get a ``closed`` date and
are dropped ``keep_days`` later.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sheetcrm.jobs.remind.model import Reminder
from sheetcrm.sync.changeset import CellStyle, CellValue, ChangeSet
from sheetcrm.sync.workbook import Workbook

__all__ = ["HEADER", "ReminderSheet", "plan_reminder_sheet", "read_reminder_sheet"]

HEADER = (
    "done", "status", "due", "reason", "owner", "item", "name", "customer", "detail", "where", "note", "added",
    "closed", "key",
)  # fmt: skip
DONE_WORDS = frozenset({"yes", "y", "x", "true", "1", "done", "ok", "✓", "✔", "☑", "是", "完成", "已完成", "已处理"})
_COLUMN = {name: chr(ord("A") + position) for position, name in enumerate(HEADER)}


@dataclass
class ReminderSheet:
    """The rows of ``_reminders`` as read, by key (the text of each column)."""

    name: str
    exists: bool = False
    rows: dict[str, dict[str, str]] = field(default_factory=dict)
    old: tuple[tuple[str, ...], ...] = ()

    def is_done(self, reminder: Reminder) -> bool:
        row = self.rows.get(reminder.key)
        return row is not None and row.get("done", "").strip().casefold() in DONE_WORDS


def read_reminder_sheet(workbook: Workbook, name: str) -> ReminderSheet:
    """The sheet's rows by key; an empty ReminderSheet when there is none yet."""
    if name not in workbook.sheet_names:
        return ReminderSheet(name)
    table = workbook[name]
    frame = table.frame
    rows: dict[str, dict[str, str]] = {}
    if "key" in frame.columns:
        for record in frame.astype("str").fillna("").to_dict("records"):
            key = str(record.get("key", "")).strip()
            if key:
                rows[key] = {str(k): str(v) for k, v in record.items()}
    return ReminderSheet(name, True, rows)


def plan_reminder_sheet(
    changes: ChangeSet, sheet: ReminderSheet, open_reminders: Sequence[Reminder], *, today: dt.date, keep_days: int
) -> None:
    """Add the sheet's new contents to ``changes``, unless they are what the sheet holds already."""
    due = {reminder.key: reminder for reminder in open_reminders}
    kept: list[dict[str, str]] = []
    for key, row in sheet.rows.items():
        if key in due:
            continue
        done = row.get("done", "").strip().casefold() in DONE_WORDS
        closed = row.get("closed", "").strip() or today.isoformat()
        status = "done" if done else "resolved"
        if _days_since(closed, today) > keep_days:
            continue
        kept.append({**row, "status": status, "closed": closed})
    fresh = []
    for key, reminder in due.items():
        before = sheet.rows.get(key, {})
        fresh.append(
            {
                "done": before.get("done", ""),
                "status": "open",
                "due": reminder.due.isoformat() if reminder.due else "",
                "reason": str(reminder.reason),
                "owner": reminder.recipient,
                "item": reminder.item,
                "name": reminder.label,
                "customer": reminder.customer,
                "detail": reminder.detail,
                "where": reminder.cell,
                "note": before.get("note", ""),
                "added": before.get("added", "") or today.isoformat(),
                "closed": "",
                "key": key,
            }
        )
    fresh.sort(key=lambda r: (r["due"] or "0000", r["reason"], r["item"]))
    kept.sort(key=lambda r: (r.get("closed", ""), r.get("key", "")), reverse=True)
    body = [tuple(str(row.get(name, "")) for name in HEADER) for row in [*fresh, *kept]]
    old_body = [tuple(row.get(name, "") for name in HEADER) for row in sheet.rows.values()]
    if sheet.exists and sorted(body) == sorted(old_body) and [r[-1] for r in body] == [r[-1] for r in old_body]:
        return  # nothing changed: leave the sheet (and the file) alone
    if not body and not sheet.exists:
        return
    last = len(body) + 1
    where = HEADER.index("where")
    links = {f"{_COLUMN['where']}{number}": row[where] for number, row in enumerate(body, start=2) if row[where]}
    rows: list[tuple[CellValue, ...]] = [HEADER, *body]
    changes.replace_sheet(
        sheet.name,
        rows,
        freeze="B2",
        column_widths={"A": 8, "B": 10, "C": 12, "D": 17, "E": 26, "F": 14, "G": 24, "H": 20, "I": 48, "K": 30},
        links=links,
        styles={f"A1:{_COLUMN['key']}1": CellStyle(bold=True, fill="DDEBF7", bottom_border=True)},
        dropdowns={f"A2:A{max(last, 2)}": ("yes", "no")},
    )


def _days_since(iso: str, today: dt.date) -> int:
    try:
        return (today - dt.date.fromisoformat(iso)).days
    except ValueError:
        return 0

"""The reminder ledger: which reminder went to whom through which channel, so none goes twice.

Kept as JSON lines in ``.sheetcrm/reminders.jsonl`` beside the workbook (readable by its
owner only). An entry is keyed by channel, recipient, reason, item and due date (and the
repetition, with ``repeat_days``: :attr:`Reminder.delivery_key
<sheetcrm.jobs.remind.model.Reminder.delivery_key>`) and moves through states:

- ``sending``: written and flushed to disk *before* the mail is handed to the server;
- ``sent``: the server accepted it;
- ``failed``: the server certainly did not take it (refused, unreachable); tried again next run;
- ``unknown``: the connection broke after the mail may have been accepted.

**Delivery policy: at most once.** A reminder whose last state is ``sending``, ``sent`` or
``unknown`` is not sent again, so a run killed between handing a mail over and recording
it can never make a second copy; the price is that such a mail may be lost, and the next
run reports it (``sheetcrm remind --resend-unconfirmed`` sends those again, at least once).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sheetcrm.errors import InputError
from sheetcrm.jobs.remind.model import Reminder
from sheetcrm.sync.safewrite import append_durably, json_lines, replace_atomically

__all__ = ["LEDGER_FILE", "Ledger", "LedgerState"]

LEDGER_FILE = "reminders.jsonl"
LedgerState = Literal["sending", "sent", "failed", "unknown"]
_SETTLED: frozenset[str] = frozenset({"sending", "sent", "unknown"})  # at most once: never again
_UNCONFIRMED: frozenset[str] = frozenset({"sending", "unknown"})


@dataclass(frozen=True)
class _Entry:
    channel: str
    recipient: str
    key: str
    state: LedgerState
    run: str
    at: str


class Ledger:
    """The ledger of one workbook's state folder."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.path = state_dir / LEDGER_FILE
        self._latest: dict[tuple[str, str, str], _Entry] = {}
        self._lines = 0
        for entry in self._read():
            self._latest[entry.channel, entry.recipient, entry.key] = entry
            self._lines += 1

    def _read(self) -> Iterator[_Entry]:
        hint = "the reminder ledger was edited by hand; restore it from a backup or move it aside"
        for data in json_lines(self.path, what="ledger entry", hint=hint):
            try:
                yield _Entry(**data)
            except TypeError:
                raise InputError(f"{self.path}: not a ledger entry: {sorted(data)}", hint=hint) from None

    def state(self, channel: str, recipient: str, reminder: Reminder) -> LedgerState | None:
        """The last recorded state of this reminder on this channel for this recipient."""
        entry = self._latest.get((channel, recipient, reminder.delivery_key))
        return entry.state if entry else None

    def should_send(self, channel: str, recipient: str, reminder: Reminder, *, resend_unconfirmed: bool) -> bool:
        """False when the policy says this reminder went (or may have gone) already."""
        state = self.state(channel, recipient, reminder)
        if state is None or state == "failed":
            return True
        return resend_unconfirmed and state in _UNCONFIRMED

    def unconfirmed(self) -> int:
        """Reminders whose delivery was never confirmed (a run stopped mid-send, or the line broke)."""
        return sum(1 for entry in self._latest.values() if entry.state in _UNCONFIRMED)

    def record(
        self, channel: str, recipient: str, reminders: Iterable[Reminder], state: LedgerState, *, run: str
    ) -> None:
        """Record a state for these reminders, durably (fsync) before returning."""
        at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        entries = [_Entry(channel, recipient, r.delivery_key, state, run, at) for r in reminders]
        if not entries:
            return
        append_durably(self.path, "".join(json.dumps(e.__dict__, ensure_ascii=False) + "\n" for e in entries))
        for entry in entries:
            self._latest[entry.channel, entry.recipient, entry.key] = entry
        self._lines += len(entries)

    def compact(self) -> None:
        """Rewrite the file with only each reminder's last state, once it is mostly history."""
        if self._lines < 1000 or self._lines < 3 * len(self._latest):
            return
        text = "".join(json.dumps(e.__dict__, ensure_ascii=False) + "\n" for e in self._latest.values())

        def write(temp: Path) -> None:
            temp.write_text(text, encoding="utf-8")
            temp.chmod(0o600)

        replace_atomically(self.path, write)
        self._lines = len(self._latest)

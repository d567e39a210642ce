"""What a reminder is, and the digest one owner receives.

A :class:`Reminder` is one thing an owner should do (call a stale customer, follow up, chase
an order), identified by :attr:`Reminder.key` (reason, item and the day it fell due) so
that the ledger can tell whether it was already sent. A :class:`Digest` gathers one
owner's reminders into one message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sheetcrm.sync.a1 import qualified

__all__ = ["Digest", "Reminder", "ReminderReason"]


class ReminderReason(StrEnum):
    """Why an owner is reminded; stable codes, used in ledger keys and template groups."""

    STALE_CUSTOMER = "stale-customer"
    FOLLOW_UP = "follow-up"
    OVERDUE_ORDER = "overdue-order"
    STALE_OPPORTUNITY = "stale-opportunity"
    BIRTHDAY = "birthday"
    ANNIVERSARY = "anniversary"


REASON_ORDER = tuple(ReminderReason)
"""The order reasons are listed in a digest."""


@dataclass(frozen=True)
class Reminder:
    """One due thing for one owner.

    ``item`` is the record's key (customer_id, order_id, opportunity_id); ``label`` what a
    person recognises it by (the customer's name, the deal's title). ``due`` is the day it
    fell due, which stays the same on every run until the reminder is dealt with, so a
    rerun finds it in the ledger; None when no date says it (a customer never touched,
    without a phone or email). ``detail`` is a short English reason
    (``"last touched 2026-09-01, 12 days past its 60-day review"``); ``days`` counts the days
    overdue (or, for birthdays and anniversaries, the days until the date; 0 is today).
    """

    reason: ReminderReason
    recipient: str
    sheet: str
    row: int
    item: str
    label: str
    due: dt.date | None
    detail: str
    days: int | None = None
    customer: str = ""  # the customer's name, for orders and opportunities
    detail_zh: str = ""  # the detail in Chinese, for the zh templates ("" falls back to detail)
    repeat: int = 0  # how many times it was due again (``[reminders] repeat_days``) while not done

    @property
    def key(self) -> str:
        """``"stale-customer|C-000014|2026-11-02"``: what the ledger remembers it by."""
        return f"{self.reason}|{self.item}|{self.due.isoformat() if self.due else '-'}"

    @property
    def delivery_key(self) -> str:
        """:attr:`key`, with ``#2`` for its second repetition: what a channel delivers once."""
        return self.key + (f"#{self.repeat}" if self.repeat else "")

    @property
    def cell(self) -> str:
        """Where it comes from: the first cell of its row, ``"Customers!A14"`` (a link target)."""
        return qualified(self.sheet, f"A{self.row}")


@dataclass(frozen=True)
class Digest:
    """One owner's reminders of a run, in :data:`REASON_ORDER` then due order."""

    recipient: str
    today: dt.date
    reminders: tuple[Reminder, ...]

    @classmethod
    def of(cls, recipient: str, today: dt.date, reminders: Sequence[Reminder]) -> Digest:
        ordered = sorted(reminders, key=lambda r: (REASON_ORDER.index(r.reason), r.due or dt.date.min, r.item))
        return cls(recipient, today, tuple(ordered))

    def by_reason(self) -> list[tuple[ReminderReason, list[Reminder]]]:
        """The reminders grouped by reason, groups in :data:`REASON_ORDER`, empty groups left out."""
        groups: dict[ReminderReason, list[Reminder]] = {}
        for reminder in self.reminders:
            groups.setdefault(reminder.reason, []).append(reminder)
        return [(reason, groups[reason]) for reason in REASON_ORDER if reason in groups]

    def __len__(self) -> int:
        return len(self.reminders)

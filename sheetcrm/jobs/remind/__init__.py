"""Reminders: what is due, for whom, and getting it to them exactly once.

    >>> import sheetcrm
    >>> from sheetcrm.jobs.remind import remind
    >>> result = remind(sheetcrm.open_workbook("crm.xlsx"), channels=["stdout"])
    >>> print(result.summary())

:mod:`.due` builds the due list, :mod:`.render` the digests, :mod:`.smtp` sends them,
:mod:`.ledger` remembers what went, :mod:`.sheet` keeps the ``_reminders`` sheet, and
:mod:`.job` runs it all.
"""

from sheetcrm.jobs.remind.due import DueList, due_reminders
from sheetcrm.jobs.remind.job import ChannelOutcome, RemindResult, remind
from sheetcrm.jobs.remind.model import Digest, Reminder, ReminderReason

__all__ = [
    "ChannelOutcome",
    "Digest",
    "DueList",
    "RemindResult",
    "Reminder",
    "ReminderReason",
    "due_reminders",
    "remind",
]

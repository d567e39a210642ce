"""``sheetcrm remind``: tell each owner, once, what is due: by mail, in the ``_reminders`` sheet, on stdout.

One run:

1. builds the due list (:func:`~sheetcrm.jobs.remind.due.due_reminders`) and drops the
   reminders someone marked done on the ``_reminders`` sheet;
2. ``sheet`` channel: rewrites ``_reminders`` (one row per reminder with a ``done`` dropdown;
   rows no longer due become ``resolved``; closed rows go after ``keep_done_days``), written
   only when it changes, through the one safe write path;
3. ``smtp`` / ``outbox`` channels: one digest per owner with the reminders the ledger
   (:mod:`.ledger`) has not seen go out: mailed, or saved as ``.eml`` files. A failure for one
   owner is recorded and the others still get theirs;
4. ``stdout`` prints every digest due now (a view, not a delivery: not in the ledger).

``dry_run`` builds and renders everything, and sends, writes and records nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import TextIO

from sheetcrm.config import Config, ReminderChannel, load_config
from sheetcrm.errors import SheetcrmError
from sheetcrm.jobs.crm.frames import read_crm_tables
from sheetcrm.jobs.crm.pipeline_job import job_state_dir, load_seen
from sheetcrm.jobs.remind.due import DueList, due_reminders
from sheetcrm.jobs.remind.ledger import Ledger
from sheetcrm.jobs.remind.model import Digest, Reminder
from sheetcrm.jobs.remind.render import as_email, render_digest
from sheetcrm.jobs.remind.sheet import plan_reminder_sheet, read_reminder_sheet
from sheetcrm.jobs.remind.smtp import Delivery, SmtpSender
from sheetcrm.sync.changeset import ChangeSet
from sheetcrm.sync.runlog import new_run_id
from sheetcrm.sync.safewrite import replace_atomically
from sheetcrm.sync.workbook import ApplyResult, Workbook

__all__ = ["ChannelOutcome", "RemindResult", "default_channels", "remind"]

log = logging.getLogger("sheetcrm.remind")
DEFAULT_SENDER = "sheetcrm <sheetcrm@localhost>"


@dataclass
class ChannelOutcome:
    """What one channel did: reminders and digests delivered, skipped by the ledger, failed per recipient."""

    channel: str
    digests: int = 0
    reminders: int = 0
    skipped: int = 0  # already delivered (or maybe delivered) on an earlier run
    failed: dict[str, str] = field(default_factory=dict)  # recipient -> why
    unknown: dict[str, str] = field(default_factory=dict)  # recipient -> why: may have been delivered
    error: str = ""  # the whole channel failed (the sheet could not be written)

    @property
    def ok(self) -> bool:
        return not (self.failed or self.unknown or self.error)


@dataclass
class RemindResult:
    """A run of :func:`remind`."""

    today: dt.date
    due: DueList
    done: int  # due reminders marked done on the sheet, left out
    channels: list[ChannelOutcome]
    dry_run: bool
    sheet: ApplyResult | None = None
    unconfirmed: int = 0  # ledger entries never confirmed, from runs that stopped mid-send

    @property
    def ok(self) -> bool:
        """True when every channel delivered everything it tried to."""
        return all(outcome.ok for outcome in self.channels)

    def to_dict(self) -> dict[str, object]:
        """The run as plain data (counts and recipients; no customer data)."""
        return {
            "today": self.today.isoformat(),
            "dry_run": self.dry_run,
            "ok": self.ok,
            "due": self.due.counts(),
            "unassigned": self.due.unassigned,
            "done": self.done,
            "unconfirmed": self.unconfirmed,
            "run_id": self.sheet.run_id if self.sheet else None,
            "channels": [dataclasses.asdict(outcome) for outcome in self.channels],
        }

    def summary(self) -> str:
        """A few lines for people: what was due, and per channel what was sent, skipped and failed."""
        due = self.due.counts()
        lines = [
            f"{len(self.due.reminders)} reminders due on {self.today}"
            + (f" ({', '.join(f'{n} {reason}' for reason, n in due.items())})" if due else "")
        ]
        if self.done:
            lines.append(f"{self.done} marked done on the sheet, left out")
        unassigned = sum(self.due.unassigned.values())
        if unassigned:
            lines.append(
                f"{unassigned} due without an owner_email, not sent "
                "(set owner_email, [reminders] owners or fallback_recipient)"
            )
        verb = "would send" if self.dry_run else "sent"
        for outcome in self.channels:
            if outcome.error:
                lines.append(f"{outcome.channel}: FAILED: {outcome.error}")
                continue
            if outcome.channel == "sheet":
                lines.append(f"sheet: {outcome.reminders} open reminders" + (" (would write)" if self.dry_run else ""))
                continue
            did = "printed" if outcome.channel == "stdout" else verb
            text = f"{outcome.channel}: {did} {outcome.digests} digests ({outcome.reminders} reminders)"
            if outcome.skipped:
                text += f", {outcome.skipped} skipped (already sent)"
            if outcome.failed:
                text += f", {len(outcome.failed)} failed"
            if outcome.unknown:
                text += f", {len(outcome.unknown)} unconfirmed"
            lines.append(text)
            lines += [f"  failed {recipient}: {why}" for recipient, why in outcome.failed.items()]
            lines += [f"  unconfirmed {recipient}: {why}" for recipient, why in outcome.unknown.items()]
        if self.unconfirmed:
            lines.append(
                f"{self.unconfirmed} reminders from earlier runs were never confirmed as sent and are not resent "
                "(sheetcrm remind --resend-unconfirmed sends them again)"
            )
        return "\n".join(lines)


def default_channels(settings: Config) -> list[ReminderChannel]:
    """``[reminders] channels``, else the sheet plus smtp when a mail server is set, else the outbox."""
    if settings.reminders.channels is not None:
        return list(settings.reminders.channels)
    return ["sheet", "smtp" if settings.smtp.host else "outbox"]


def remind(
    workbook: Workbook,
    *,
    config: Config | None = None,
    today: dt.date | None = None,
    channels: Sequence[ReminderChannel] | None = None,
    dry_run: bool = False,
    resend_unconfirmed: bool = False,
    stdout: TextIO | None = None,
    sleep: Callable[[float], None] | None = None,
) -> RemindResult:
    """Build today's reminders and deliver them through ``channels`` (see the module's text)."""
    settings = config if config is not None else load_config()
    day = today or dt.date.today()
    chosen = list(channels) if channels is not None else default_channels(settings)
    read = read_crm_tables(
        workbook, settings, required=("customers",), optional=("orders", "interactions", "opportunities")
    )
    state_dir = job_state_dir(workbook)
    due = due_reminders(read, settings, today=day, seen=load_seen(state_dir))
    sheet_name = settings.reminders.sheet
    existing = read_reminder_sheet(workbook, sheet_name)
    open_reminders = [r for r in due.reminders if not existing.is_done(r)]
    every = settings.reminders.repeat_days
    if every:
        open_reminders = [
            dataclasses.replace(r, repeat=max(0, (day - r.due).days) // every) if r.due else r for r in open_reminders
        ]
    ledger = Ledger(state_dir)
    result = RemindResult(
        day, due, len(due.reminders) - len(open_reminders), [], dry_run, unconfirmed=ledger.unconfirmed()
    )
    run = new_run_id()
    for channel in dict.fromkeys(chosen):
        outcome = ChannelOutcome(channel)
        result.channels.append(outcome)
        if channel == "sheet":
            outcome.reminders = len(open_reminders)
            changes = ChangeSet("remind: the reminders sheet")
            plan_reminder_sheet(
                changes, existing, open_reminders, today=day, keep_days=settings.reminders.keep_done_days
            )
            try:
                result.sheet = workbook.apply(changes, dry_run=dry_run, command="remind")
            except SheetcrmError as error:  # the mails still go out; the run reports it and fails
                outcome.error = str(error)
        elif channel == "stdout":
            _print_digests(open_reminders, settings, day, workbook, stdout or sys.stdout, outcome)
        else:
            _deliver(
                channel,
                open_reminders,
                settings,
                day,
                workbook,
                ledger,
                outcome,
                run,
                dry_run,
                resend_unconfirmed,
                sleep,
            )
    if not dry_run:
        ledger.compact()
    log.info(
        "remind: %d due, %s",
        len(due.reminders),
        ", ".join(f"{o.channel} {o.digests} digests {len(o.failed)} failed" for o in result.channels),
    )
    return result


def _digests(reminders: Sequence[Reminder], today: dt.date) -> list[Digest]:
    by_recipient: dict[str, list[Reminder]] = {}
    for reminder in reminders:
        by_recipient.setdefault(reminder.recipient, []).append(reminder)
    return [Digest.of(recipient, today, items) for recipient, items in sorted(by_recipient.items())]


def _print_digests(
    reminders: Sequence[Reminder], settings: Config, today: dt.date, workbook: Workbook, out: TextIO,
    outcome: ChannelOutcome,
) -> None:  # fmt: skip
    for digest in _digests(reminders, today):
        mail = render_digest(
            digest,
            language=settings.reminders.language,
            templates=settings.reminders.templates,
            workbook=Path(workbook.source).name,
        )
        out.write(f"To: {digest.recipient}\nSubject: {mail.subject}\n\n{mail.text.rstrip()}\n\n")
        outcome.digests += 1
        outcome.reminders += len(digest)


def _deliver(
    channel: str,
    reminders: Sequence[Reminder],
    settings: Config,
    today: dt.date,
    workbook: Workbook,
    ledger: Ledger,
    outcome: ChannelOutcome,
    run: str,
    dry_run: bool,
    resend_unconfirmed: bool,
    sleep: Callable[[float], None] | None,
) -> None:
    """Mail (smtp) or save (outbox) one digest per owner of the reminders the ledger lets through."""
    pending: list[Reminder] = []
    for reminder in reminders:
        if ledger.should_send(channel, reminder.recipient, reminder, resend_unconfirmed=resend_unconfirmed):
            pending.append(reminder)
        else:
            outcome.skipped += 1
    digests = _digests(pending, today)
    if not digests:
        return
    sender_address = settings.smtp.sender or DEFAULT_SENDER
    outbox = settings.reminders.outbox or Path(workbook.source).resolve().parent / "outbox"
    sender: SmtpSender | None = None
    if channel == "smtp" and not dry_run:
        # a missing host or sender is a ConfigError, before any send
        sender = SmtpSender(settings.smtp, sleep=sleep) if sleep is not None else SmtpSender(settings.smtp)
    try:
        for digest in digests:
            mail = render_digest(
                digest,
                language=settings.reminders.language,
                templates=settings.reminders.templates,
                workbook=Path(workbook.source).name,
            )
            message = as_email(mail, sender=sender_address, recipient=digest.recipient)
            if dry_run:
                outcome.digests += 1
                outcome.reminders += len(digest)
                continue
            # At most once: the ledger says "sending" on disk before the mail leaves.
            ledger.record(channel, digest.recipient, digest.reminders, "sending", run=run)
            delivery = sender.send(message) if sender is not None else _save(message, outbox, digest)
            ledger.record(channel, digest.recipient, digest.reminders, delivery.status, run=run)
            if delivery.status == "sent":
                outcome.digests += 1
                outcome.reminders += len(digest)
            elif delivery.status == "failed":
                outcome.failed[digest.recipient] = delivery.error
            else:
                outcome.unknown[digest.recipient] = delivery.error
    finally:
        if sender is not None:
            sender.close()


def _save(message: EmailMessage, outbox: Path, digest: Digest) -> Delivery:
    """Write the mail as ``<outbox>/<date>-<recipient>.eml`` (atomically; a second one the same day gets -2, -3 …)."""
    stem = f"{digest.today.isoformat()}-{re.sub(r'[^A-Za-z0-9@._-]+', '_', digest.recipient)}"
    try:
        outbox.mkdir(parents=True, exist_ok=True)
        target = outbox / f"{stem}.eml"
        number = 1
        while target.exists():
            number += 1
            target = outbox / f"{stem}-{number}.eml"
        data = bytes(message)

        def write(temp: Path) -> None:
            temp.write_bytes(data)

        replace_atomically(target, write)
    except OSError as error:
        return Delivery(digest.recipient, "failed", f"cannot write to {outbox}: {os.strerror(error.errno or 0)}")
    return Delivery(digest.recipient, "sent")

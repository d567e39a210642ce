"""sheetcrm remind and sheetcrm pipeline on real workbooks, with a real SMTP server on loopback.

The mails go to aiosmtpd (a thread of this process, or of the test while the CLI runs in a
child process); the ledger and the pipeline state are real files in ``.sheetcrm/``.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import io
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import pytest
from aiosmtpd.smtp import SMTP as SmtpServer
from aiosmtpd.smtp import Envelope, Session
from conftest import ROOT, Handler, run_cli, smtp_server

import sheetcrm
from sheetcrm.config import Config, RemindersConfig, SmtpConfig
from sheetcrm.errors import InputError
from sheetcrm.jobs.crm.pipeline_job import STATE_FILE, load_seen, pipeline
from sheetcrm.jobs.remind.job import remind
from sheetcrm.jobs.remind.ledger import LEDGER_FILE, Ledger
from sheetcrm.jobs.remind.model import Reminder, ReminderReason
from sheetcrm.sample import write_sample_workbook

TODAY = dt.date(2026, 11, 22)


def sample(tmp_path: Path, customers: int = 120) -> Path:
    path = tmp_path / "crm.xlsx"
    write_sample_workbook(path, customers=customers, seed=7, today=TODAY)
    return path


def smtp_settings(port: int, **reminders: object) -> Config:
    return Config(
        smtp=SmtpConfig(host="127.0.0.1", port=port, sender="CRM <crm@example.com>", starttls=False, max_per_minute=0),
        reminders=RemindersConfig(**reminders),  # type: ignore[arg-type]
    )


def write_config(folder: Path, port: int) -> Path:
    path = folder / "sheetcrm.toml"
    path.write_text(
        f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nsender = "CRM <crm@example.com>"\nstarttls = false\n'
        'max_per_minute = 0\n\n[reminders]\nchannels = ["smtp"]\n',
        encoding="utf-8",
    )
    return path


# --------------------------------------------------------------------------- reminders


def test_one_digest_per_owner_by_smtp_and_a_rerun_sends_nothing(tmp_path: Path) -> None:
    path = sample(tmp_path)
    handler = Handler()
    with smtp_server(handler) as port:
        settings = smtp_settings(port, channels=["smtp", "sheet"])
        result = remind(sheetcrm.open_workbook(path), config=settings, today=TODAY)
        assert result.ok, result.summary()
        owners = {r.recipient for r in result.due.reminders}
        assert len(owners) >= 2
        assert sorted(m.rcpt_tos[0] for m in handler.received) == sorted(owners)  # one mail each
        reasons = {r.reason for r in result.due.reminders}
        assert {ReminderReason.STALE_CUSTOMER, ReminderReason.FOLLOW_UP} <= reasons
        # every reminder of an owner is in that owner's mail
        for received in handler.received:
            body = received.message.get_body(("plain",))
            assert body is not None
            text = body.get_content()
            mine = [r for r in result.due.reminders if r.recipient == received.rcpt_tos[0]]
            assert all(r.item in text for r in mine)

        again = remind(sheetcrm.open_workbook(path), config=settings, today=TODAY)
        smtp = next(o for o in again.channels if o.channel == "smtp")
        assert (smtp.digests, smtp.skipped) == (0, len(result.due.reminders))
        assert len(handler.received) == len(owners)  # nothing twice

    # the _reminders sheet: one row per reminder, a done dropdown, links to the rows
    sheet = openpyxl.load_workbook(path)["_reminders"]
    assert sheet["A1"].value == "done" and sheet.max_row == len(result.due.reminders) + 1
    assert any(v.formula1 == '"yes,no"' for v in sheet.data_validations.dataValidation)
    assert sheet["J2"].hyperlink is not None
    assert again.sheet is not None and not again.sheet.changes  # the sheet was already right: not rewritten


def test_done_on_the_sheet_is_honoured_and_resolved_rows_stay_a_while(tmp_path: Path) -> None:
    path = sample(tmp_path)
    first = remind(sheetcrm.open_workbook(path), config=Config(), today=TODAY, channels=["sheet"])
    assert first.sheet is not None and first.sheet.run_id
    table = sheetcrm.open_workbook(path)["_reminders"]
    row = table.rows[0]
    key = table.value(row, "key")
    marked = sheetcrm.ChangeSet("done")
    marked.edit("_reminders", row, "A", old="", new="✓")
    sheetcrm.open_workbook(path).apply(marked)

    handler = Handler()
    with smtp_server(handler) as port:
        result = remind(
            sheetcrm.open_workbook(path), config=smtp_settings(port), today=TODAY, channels=["smtp", "sheet"]
        )
    assert result.done == 1
    mailed = "".join(str(m.message) for m in handler.received)
    item = key.split("|")[1]
    assert sum(r.item == item for r in result.due.reminders) >= 1
    assert f"{item}:" not in mailed.replace("=\n", "")  # the done reminder went to nobody
    table = sheetcrm.open_workbook(path)["_reminders"]
    statuses = {table.value(r, "key"): table.value(r, "status") for r in table.rows}
    assert statuses[key] == "done"
    assert list(statuses.values()).count("open") == len(first.due.reminders) - 1


def test_outbox_without_a_mail_server_and_dry_run_writes_nothing(tmp_path: Path) -> None:
    path = sample(tmp_path)
    before = path.read_bytes()
    preview = remind(sheetcrm.open_workbook(path), config=Config(), today=TODAY, dry_run=True)
    assert [o.channel for o in preview.channels] == ["sheet", "outbox"]
    assert preview.channels[1].digests >= 2
    assert path.read_bytes() == before
    assert not (tmp_path / "outbox").exists() and not (tmp_path / ".sheetcrm" / LEDGER_FILE).exists()

    result = remind(sheetcrm.open_workbook(path), config=Config(), today=TODAY)
    files = sorted((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == result.channels[1].digests == preview.channels[1].digests
    message = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert message["Subject"].startswith("sheetcrm: ") and message.get_body(("html",)) is not None
    remind(sheetcrm.open_workbook(path), config=Config(), today=TODAY)
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == len(files)  # the ledger: not again


@dataclass
class RefusingFirst(Handler):
    """Refuses one address at RCPT while ``refuse`` is set."""

    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(
        self, server: SmtpServer, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_refused_owner_does_not_stop_the_others_and_is_retried_next_run(tmp_path: Path) -> None:
    path = sample(tmp_path)
    handler = RefusingFirst()
    with smtp_server(handler) as port:
        settings = smtp_settings(port, channels=["smtp"])
        due = remind(sheetcrm.open_workbook(path), config=settings, today=TODAY, dry_run=True)
        owners = sorted({r.recipient for r in due.due.reminders})
        handler.refuse = {owners[0]}
        result = remind(sheetcrm.open_workbook(path), config=settings, today=TODAY)
        assert not result.ok and list(result.channels[0].failed) == [owners[0]]
        assert "550" in result.channels[0].failed[owners[0]]
        assert sorted(m.rcpt_tos[0] for m in handler.received) == owners[1:]
        assert f"failed {owners[0]}" in result.summary()

        handler.refuse = set()
        retry = remind(sheetcrm.open_workbook(path), config=settings, today=TODAY)
        assert retry.ok and retry.channels[0].digests == 1
        assert Counter(m.rcpt_tos[0] for m in handler.received) == Counter(owners)  # each exactly once


@dataclass
class KillsTheSender(Handler):
    """Receives mails; on the ``kill_at``-th one, kills the sending process before answering (a crash mid-run)."""

    pid: int = 0
    kill_at: int = 2

    async def handle_DATA(self, server: SmtpServer, session: Session, envelope: Envelope) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        if len(self.received) == self.kill_at and self.pid:
            os.kill(self.pid, signal.SIGKILL)
        return answer


def test_a_crash_mid_run_and_a_rerun_send_no_reminder_twice(tmp_path: Path) -> None:
    sample(tmp_path, customers=200)
    handler = KillsTheSender()
    with smtp_server(handler) as port:
        write_config(tmp_path, port)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
        command = [sys.executable, "-m", "sheetcrm", "remind", "crm.xlsx", "--today", "2026-11-22"]
        child = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        handler.pid = child.pid
        child.communicate(timeout=120)
        assert child.returncode == -signal.SIGKILL  # it really died mid-run
        assert len(handler.received) == 2

        handler.pid = 0
        done = run_cli("remind", "crm.xlsx", "--today", "2026-11-22", cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "never confirmed" in done.stdout  # the mail in flight when it died is reported, not resent

    recipients = Counter(m.rcpt_tos[0] for m in handler.received)
    assert recipients and max(recipients.values()) == 1  # 0 duplicate emails
    ledger = [json.loads(line) for line in (tmp_path / ".sheetcrm" / LEDGER_FILE).read_text().splitlines()]
    assert {entry["recipient"] for entry in ledger} == set(recipients)


def test_the_cli_prints_digests_to_stdout(tmp_path: Path) -> None:
    sample(tmp_path)
    done = run_cli("remind", "crm.xlsx", "--today", "2026-11-22", "--channel", "stdout", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "To: " in done.stdout and "Subject: sheetcrm: " in done.stdout
    assert "stdout: printed" in done.stdout


# --------------------------------------------------------------------------- the order pipeline


def test_pipeline_remembers_statuses_flags_moves_and_fills_dates(tmp_path: Path) -> None:
    path = sample(tmp_path)
    pipeline(sheetcrm.open_workbook(path), config=Config(), today=TODAY, dry_run=True)
    state = tmp_path / ".sheetcrm" / STATE_FILE
    assert not state.exists()  # a dry run remembers nothing
    _first, _applied = pipeline(sheetcrm.open_workbook(path), config=Config(), today=TODAY)
    seen = load_seen(tmp_path / ".sheetcrm")
    assert len(seen) >= 100

    orders = sheetcrm.open_workbook(path)["Orders"]
    by_status: dict[str, list[int]] = {}
    for row in orders.rows:
        by_status.setdefault(orders.value(row, "status").strip().lower(), []).append(row)
    skipping, backward = by_status["received"][0], by_status["shipped"][0]
    moves = sheetcrm.ChangeSet("moves")
    moves.edit("Orders", skipping, orders.letter("status"), old=orders.value(skipping, "status"), new="shipped")
    moves.edit("Orders", backward, orders.letter("status"), old=orders.value(backward, "status"), new="confirmed")
    if orders.value(skipping, "shipped_at"):
        moves.edit("Orders", skipping, orders.letter("shipped_at"), old=orders.value(skipping, "shipped_at"), new="")
    sheetcrm.open_workbook(path).apply(moves)

    later = TODAY + dt.timedelta(days=1)
    report, result = pipeline(sheetcrm.open_workbook(path), config=Config(), today=later)
    codes = {(f.row, str(f.code)) for f in report.findings}
    assert (skipping, "skipped") in codes and (backward, "backward") in codes
    orders = sheetcrm.open_workbook(path)["Orders"]
    assert orders.value(skipping, "shipped_at") == later.isoformat()
    assert "skipped" in orders.value(skipping, "pipeline") and "back" in orders.value(backward, "pipeline")
    fill = openpyxl.load_workbook(path)["Orders"][f"{orders.letter('pipeline')}{skipping}"].fill
    assert fill.fgColor.rgb.endswith("FFEB9C")
    assert load_seen(tmp_path / ".sheetcrm")[orders.value(skipping, "order_id").upper()].status == "shipped"

    again, _ = pipeline(sheetcrm.open_workbook(path), config=Config(), today=later)
    assert (skipping, "skipped") not in {(f.row, str(f.code)) for f in again.findings}  # a move is flagged once
    assert result.run_id is not None


def test_repeat_days_reminds_again_while_still_due(tmp_path: Path) -> None:
    path = sample(tmp_path)
    settings = Config(reminders=RemindersConfig(channels=["outbox"], repeat_days=7))
    first = remind(sheetcrm.open_workbook(path), config=settings, today=TODAY)
    assert remind(sheetcrm.open_workbook(path), config=settings, today=TODAY).channels[0].digests == 0
    later = remind(sheetcrm.open_workbook(path), config=settings, today=TODAY + dt.timedelta(days=7))
    # everything still due, with a due date, is due again a week on; nothing is sent twice the same week
    assert later.channels[0].reminders == sum(1 for r in later.due.reminders if r.due is not None)
    assert first.channels[0].reminders == len(first.due.reminders)


def tiny_workbook(path: Path, customers: list[dict[str, str]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Customers"
    header = sorted({key for row in customers for key in row})
    sheet.append(header)
    for row in customers:
        sheet.append([row.get(key, "") for key in header])
    book.save(path)
    return path


def test_birthdays_anniversaries_follow_ups_and_owners(tmp_path: Path) -> None:
    rows = [
        {"customer_id": "C-1", "name": "Ann", "owner_email": "Ann.Owner@Example.com", "birthday": "1990-11-25"},
        {"customer_id": "C-2", "name": "Ben", "owner": "Li Wei", "birthday": "1988-02-29"},
        {"customer_id": "C-3", "name": "Cy", "owner_email": "x@example.com", "birthday": "1990-12-24"},
        {"customer_id": "C-4", "name": "Di", "owner_email": "x@example.com", "next_follow_up": "2026-11-22"},
        {"customer_id": "C-5", "name": "Ed", "next_follow_up": "2026-11-20"},
        {"customer_id": "C-6", "name": "Fay", "owner_email": "x@example.com", "next_follow_up": "2026-11-23"},
        {"customer_id": "C-7", "name": "Gus", "owner_email": "x@example.com", "created_at": "2023-11-24"},
    ]
    for row in rows:  # fresh and reachable, so that only the occasions and follow-ups are due
        row.update(last_contact="2026-11-21", phone="+8613800138000")
    path = tiny_workbook(tmp_path / "tiny.xlsx", rows)
    settings = Config(
        reminders=RemindersConfig(
            channels=["stdout"],
            owners={"li wei": "li.wei@example.com"},
            occasions={"birthday": "birthday", "created_at": "anniversary"},
        )
    )
    february = remind(sheetcrm.open_workbook(path), config=settings, today=dt.date(2027, 2, 22), stdout=None)
    assert [(r.item, r.reason, r.due, r.recipient) for r in february.due.reminders if r.reason == "birthday"] == [
        ("C-2", ReminderReason.BIRTHDAY, dt.date(2027, 2, 28), "li.wei@example.com")  # 29 Feb on the 28th
    ]
    result = remind(sheetcrm.open_workbook(path), config=settings, today=TODAY, dry_run=True)
    due = {(r.item, str(r.reason)): r for r in result.due.reminders}
    assert set(due) == {("C-1", "birthday"), ("C-4", "follow-up"), ("C-7", "anniversary")}
    assert due["C-1", "birthday"].recipient == "ann.owner@example.com" and due["C-1", "birthday"].days == 3
    assert due["C-7", "anniversary"].detail.startswith("3 years")
    assert result.due.unassigned == {"follow-up": 1}  # C-5 has no owner: counted, not sent
    assert "1 due without an owner_email" in result.summary()

    chinese = Config(reminders=settings.reminders.model_copy(update={"language": "zh"}))
    printed = io.StringIO()
    remind(sheetcrm.open_workbook(path), config=chinese, today=TODAY, stdout=printed)
    assert "生日：2026-11-25（还有 3 天）" in printed.getvalue() and "计划今天跟进" in printed.getvalue()
    assert "birthday on" not in printed.getvalue()  # the details are in Chinese too


def test_the_ledger_skips_a_line_torn_by_a_crash_and_refuses_a_garbled_one(tmp_path: Path) -> None:
    reminder = Reminder(ReminderReason.FOLLOW_UP, "a@example.com", "Customers", 2, "C-1", "Ann", TODAY, "call")
    ledger = Ledger(tmp_path)
    ledger.record("smtp", "a@example.com", [reminder], "sending", run="r1")
    with (tmp_path / LEDGER_FILE).open("a") as file:
        file.write('{"channel": "smtp", "recip')  # killed mid-append
    again = Ledger(tmp_path)
    assert again.state("smtp", "a@example.com", reminder) == "sending"
    assert not again.should_send("smtp", "a@example.com", reminder, resend_unconfirmed=False)  # at most once
    assert again.should_send("smtp", "a@example.com", reminder, resend_unconfirmed=True) and again.unconfirmed() == 1

    (tmp_path / LEDGER_FILE).write_text("garbage\n" + (tmp_path / LEDGER_FILE).read_text())
    with pytest.raises(InputError, match=r"reminders.jsonl:1: unreadable ledger entry"):
        Ledger(tmp_path)

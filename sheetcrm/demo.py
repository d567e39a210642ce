"""``sheetcrm demo``: a sample CRM workbook, every job that exists run on it, and where to look."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import time
from collections import Counter
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from sheetcrm.api import open_workbook
from sheetcrm.config import default_config, load_config, write_config
from sheetcrm.dedupe.job import dedupe
from sheetcrm.errors import InputError
from sheetcrm.jobs.crm.pipeline_job import STATE_FILE, pipeline
from sheetcrm.jobs.crm.rollup_job import rollups
from sheetcrm.jobs.crm.segment_job import segment
from sheetcrm.jobs.crm.stale_job import stale
from sheetcrm.jobs.fix import fix
from sheetcrm.jobs.remind.job import remind
from sheetcrm.jobs.remind.ledger import LEDGER_FILE
from sheetcrm.jobs.tidy import tidy
from sheetcrm.reports.job import report as write_reports
from sheetcrm.sample import write_sample_workbook
from sheetcrm.schema.tables import CRM_TABLES
from sheetcrm.validate.annotate import annotate
from sheetcrm.validate.run import validate

WORKBOOK_NAME = "crm.xlsx"
CONFIG_NAME = "sheetcrm.toml"
MARKER = ".sheetcrm-demo"


@dataclass
class DemoResult:
    """What the demo did, as lines a person reads."""

    folder: Path
    workbook: Path
    config: Path
    lines: list[str] = field(default_factory=list)

    def render(self) -> str:
        return "\n".join(self.lines)


def run_demo(folder: str | Path, *, customers: int = 3000, seed: int = 7, today: dt.date | None = None) -> DemoResult:
    """Write the sample workbook and its config into ``folder``, then run the jobs on it.

    A folder the demo did not make itself is refused if it already holds a workbook.
    """
    target = Path(folder)
    workbook_path = target / WORKBOOK_NAME
    config_path = target / CONFIG_NAME
    if (workbook_path.exists() or config_path.exists()) and not (target / MARKER).exists():
        raise InputError(
            f"{target} already holds {WORKBOOK_NAME} or {CONFIG_NAME} that the demo did not write",
            hint="choose another folder with --out",
        )
    target.mkdir(parents=True, exist_ok=True)
    (target / MARKER).write_text("written by sheetcrm demo; safe to delete with this folder\n", encoding="utf-8")
    state = target / ".sheetcrm"
    for leftover in (workbook_path, state / "runs.jsonl", state / LEDGER_FILE, state / STATE_FILE):
        leftover.unlink(missing_ok=True)
    for mail in (target / "outbox").glob("*.eml"):
        mail.unlink()

    started = time.perf_counter()
    sample = write_sample_workbook(workbook_path, customers=customers, seed=seed, today=today)
    write_config(config_path, default_config(workbook=str(workbook_path.resolve())))
    config = load_config(config_path, required=True)
    result = DemoResult(target, workbook_path, config_path)
    say = result.lines.append
    say(
        f"wrote {workbook_path} ({', '.join(f'{n} {s}' for s, n in sample.rows.items())}) in {time.perf_counter() - started:.1f} s"
    )
    say(f"wrote {config_path}")

    workbook = open_workbook(config=config)
    started = time.perf_counter()
    tables = workbook.read(*(config.tables[key].sheet for key in CRM_TABLES))
    say(f"read {len(tables)} sheets as text in {time.perf_counter() - started:.2f} s:")
    for name, table in tables.items():
        say(f"  {name:<14} {len(table):>6} rows, {len(table.columns):>2} columns")
    planted = {kind: len(refs) for kind, refs in sample.planted.items() if refs}
    say("planted problems for the jobs to find: " + ", ".join(f"{n} {kind}" for kind, n in planted.items()))

    say("")
    say("job tidy: trim stray spaces in text cells")
    run = tidy(workbook)
    say("  " + run.preview(limit=8).replace("\n", "\n  "))
    if run.run_id:
        say(
            f"  applied as run {run.run_id}; the workbook as it was is in {_shown(run.backup.parent) if run.backup else '-'}"
        )

    say("")
    say("job fix: phones to E.164, dates to YYYY-MM-DD, choices to their spelling; ambiguous values left alone")
    fixed = fix(workbook, config=config)
    say(f"  {len(fixed.changes)} cells fixed" + (f" as run {fixed.run_id}" if fixed.run_id else ""))
    for line in fixed.changes.lines()[:3]:
        say(f"  {line.sheet}!{line.where}: {line.before} → {line.after}")

    say("")
    say("job dedupe: merge duplicate customers into their oldest row; doubtful pairs go to the _review sheet")
    plan, merged = dedupe(workbook, config=config, today=today)
    rows = sum(len(cluster.members) - 1 for cluster in plan.merged)
    say(
        f"  {len(plan.merged)} duplicate groups merged ({rows} rows)"
        + (f" as run {merged.run_id}" if merged.run_id else "")
        + f"; {len(plan.review)} pairs to review"
    )
    for cluster in plan.merged[:2]:
        ids = ", ".join(ident for _, ident in cluster.members)
        why = "; ".join(f"{r.field} {r.how}" for r in cluster.pairs[0].reasons if r.how != "differs")
        say(f"  {ids} → {cluster.survivor_id} ({why})")

    say("")
    say("jobs rollups, segment, stale: order figures, lifecycle and RFM segments, rows past their review cadence")
    figures = rollups(workbook, config=config, today=today)
    segments = segment(workbook, config=config, today=today)
    stale_report, _ = stale(workbook, config=config, today=today)
    stages = Counter(workbook["Customers"].frame["lifecycle"]).most_common(4)
    say(f"  {len(figures.changes)} roll-up cells and {len(segments.changes)} segment cells written")
    say("  lifecycle: " + ", ".join(f"{n} {stage or '(undated)'}" for stage, n in stages))
    by_code = ", ".join(f"{n} {code}" for code, n in stale_report.stats["by_code"].items())
    say(f"  {len(stale_report.findings)} stale rows marked ({by_code})")

    say("")
    say("job pipeline: order statuses checked against the last run; late orders flagged, ship dates filled")
    orders_report, _ = pipeline(workbook, config=config, today=today)
    by_code = ", ".join(f"{n} {code}" for code, n in orders_report.stats["by_code"].items()) or "none"
    say(f"  {len(orders_report.findings)} orders flagged ({by_code}); statuses remembered in .sheetcrm/{STATE_FILE}")

    say("")
    say("job remind: one digest per owner (no mail server set: written to the outbox folder), rows on _reminders")
    reminded = remind(workbook, config=config, today=today)
    say("  " + reminded.summary().replace("\n", "\n  "))
    mails = sorted((target / "outbox").glob("*.eml"))
    if mails:
        say(f"  the first digest, {_shown(mails[0])}:")
        digest = email.message_from_bytes(mails[0].read_bytes(), policy=email.policy.default)
        body = digest.get_body(("plain",))
        text = body.get_content() if isinstance(body, EmailMessage) else ""
        say(f"    Subject: {digest['Subject']}")
        for body_line in text.strip().splitlines()[:8]:
            say(f"    {body_line}")

    say("")
    say("job validate: check every cell against the schemas, and mark the bad ones in the workbook")
    report = validate(workbook, config=config)
    # errors by code; the rest (a phone without a country code, the team's own columns) are warnings and notes
    by_code = ", ".join(f"{n} {code}" for code, n in Counter(str(f.code) for f in report.errors).most_common())
    others = len(report.findings) - len(report.errors)
    say(f"  {len(report.errors)} errors: {by_code}" + (f"; and {others} warnings and notes" if others else ""))
    for finding in report.errors[:3]:
        say(f"  {finding.address}: {finding.message}" + (f" (fix: {finding.fix})" if finding.fix else ""))
    marked = annotate(workbook, report)
    if marked.run_id:
        say(f"  annotated as run {marked.run_id}: bad cells filled and noted, every finding on the _issues sheet")

    say("")
    say("job report: pivot-style report sheets with native charts, and an index (_reports)")
    reports = write_reports(workbook, config=config, today=today)
    say(
        f"  {len(reports.tables)} report sheets written"
        + (f" as run {reports.result.run_id}" if reports.result and reports.result.run_id else "")
    )
    for made in reports.tables[:4]:
        say(f"  {reports.sheets[made.name]}: {len(made.rows)} rows")

    say("")
    say("where to look:")
    say(f"  open {workbook_path} in Excel or LibreOffice")
    commands = [
        (f"sheetcrm -c {config_path} validate", "every finding, by cell (exit 1 while there are any)"),
        (f"sheetcrm -c {config_path} history", "the runs applied, newest last"),
        (f"sheetcrm -c {config_path} report --list", "the reports there are; sheetcrm report NAME writes one"),
        (
            f"sheetcrm -c {config_path} remind --channel stdout",
            "today's reminders, printed (mails already sent are not sent again)",
        ),
    ]
    if run.run_id:
        commands.append((f"sheetcrm -c {config_path} undo {run.run_id}", "put back exactly what tidy changed"))
    commands.append((f"sheetcrm -c {config_path} config show", "the effective configuration"))
    width = max(len(command) for command, _ in commands)
    for command, what in commands:
        say(f"  {command.ljust(width)}  {what}")
    return result


def _shown(path: Path) -> Path:
    """A path relative to the current folder where it is inside it (shorter to read)."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path

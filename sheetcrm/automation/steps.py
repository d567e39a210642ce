"""The steps a job can run: each a library job with the options a config may give it.

A step returns a :class:`StepResult`: the counts it can say without customer data (cells
changed by kind, rows flagged, mails sent) and the run id of what it applied. Options come
from ``[jobs.NAME.options.STEP]`` and are checked against :attr:`Step.options` when the
config is loaded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sheetcrm.config import Config
from sheetcrm.sync.workbook import ApplyResult, Workbook

__all__ = ["STEPS", "Step", "StepResult"]

StepStatus = Literal["ok", "findings", "failed", "refused"]


@dataclass
class StepResult:
    """What one step did; ``findings`` true when it found problems a person should look at (validate)."""

    counts: dict[str, int] = field(default_factory=dict)
    run_ids: list[str] = field(default_factory=list)
    findings: bool = False
    failed: str = ""  # a partial failure the step reports without raising (a reminder not delivered)


def _applied(result: ApplyResult | None, counts: dict[str, int] | None = None) -> StepResult:
    out = StepResult(dict(counts or {}))
    if result is not None:
        out.counts.update(result.changes.counts())
        if result.run_id:
            out.run_ids.append(result.run_id)
    return out


@dataclass(frozen=True)
class Step:
    """A step: its name, the options it takes, and how it runs."""

    name: str
    run: Callable[[Workbook, Config, dt.date, bool, Mapping[str, Any]], StepResult]
    options: frozenset[str] = frozenset()
    description: str = ""


def _tidy(
    workbook: Workbook, settings: Config, today: dt.date, dry_run: bool, options: Mapping[str, Any]
) -> StepResult:
    from sheetcrm.jobs.tidy import tidy

    return _applied(tidy(workbook, options.get("sheets"), dry_run=dry_run))


def _fix(workbook: Workbook, settings: Config, today: dt.date, dry_run: bool, options: Mapping[str, Any]) -> StepResult:
    from sheetcrm.jobs.fix import fix

    return _applied(fix(workbook, config=settings, dry_run=dry_run, **options))


def _dedupe(
    workbook: Workbook, settings: Config, today: dt.date, dry_run: bool, options: Mapping[str, Any]
) -> StepResult:
    from sheetcrm.dedupe.job import dedupe

    plan, result = dedupe(workbook, config=settings, today=today, dry_run=dry_run)
    return _applied(result, {"merged_groups": len(plan.merged), "pairs_to_review": len(plan.review)})


def _rollups(
    workbook: Workbook, settings: Config, today: dt.date, dry_run: bool, options: Mapping[str, Any]
) -> StepResult:
    from sheetcrm.jobs.crm.rollup_job import rollups

    return _applied(rollups(workbook, config=settings, today=today, dry_run=dry_run))


def _segment(
    workbook: Workbook, settings: Config, today: dt.date, dry_run: bool, options: Mapping[str, Any]
) -> StepResult:
    from sheetcrm.jobs.crm.segment_job import segment

    return _applied(segment(workbook, config=settings, today=today, dry_run=dry_run))


def _stale(
    workbook: Workbook, settings: Config, today: dt.date, dry_run: bool, options: Mapping[str, Any]
) -> StepResult:
    from sheetcrm.jobs.crm.stale_job import stale

    report, result = stale(workbook, config=settings, today=today, dry_run=dry_run)
    return _applied(result, {"stale_rows": len(report.findings)})


def _pipeline(
    workbook: Workbook, settings: Config, today: dt.date, dry_run: bool, options: Mapping[str, Any]
) -> StepResult:
    from sheetcrm.jobs.crm.pipeline_job import pipeline

    report, result = pipeline(workbook, config=settings, today=today, dry_run=dry_run)
    return _applied(result, {"orders_flagged": int(report.table["row"].nunique())})


def _remind(
    workbook: Workbook, settings: Config, today: dt.date, dry_run: bool, options: Mapping[str, Any]
) -> StepResult:
    from sheetcrm.jobs.remind.job import remind

    done = remind(
        workbook,
        config=settings,
        today=today,
        dry_run=dry_run,
        channels=options.get("channels"),
        resend_unconfirmed=bool(options.get("resend_unconfirmed", False)),
    )
    out = _applied(done.sheet, {"reminders_due": len(done.due.reminders)})
    for outcome in done.channels:
        if outcome.channel != "sheet":
            out.counts[f"{outcome.channel}_digests"] = outcome.digests
    failed = [o for o in done.channels if not o.ok]
    if failed:
        out.failed = "; ".join(
            f"{o.channel}: {o.error or f'{len(o.failed)} failed, {len(o.unknown)} unconfirmed'}" for o in failed
        )
    return out


def _report(
    workbook: Workbook, settings: Config, today: dt.date, dry_run: bool, options: Mapping[str, Any]
) -> StepResult:
    from sheetcrm.reports.job import report

    out_path = options.get("out")
    run = report(
        workbook,
        options.get("names"),
        config=settings,
        today=today,
        dry_run=dry_run,
        out=_beside(workbook, out_path) if out_path else None,
        csv=_beside(workbook, options["csv"]) if options.get("csv") else None,
    )
    return _applied(run.result, {"reports": len(run.tables)})


def _beside(workbook: Workbook, path: str) -> Path:
    """A relative output path is beside the workbook (cron's working directory is anywhere)."""
    given = Path(path).expanduser()
    if given.is_absolute():
        return given
    return Path(workbook.source).resolve().parent / given


def _validate(
    workbook: Workbook, settings: Config, today: dt.date, dry_run: bool, options: Mapping[str, Any]
) -> StepResult:
    from sheetcrm.validate.annotate import annotate
    from sheetcrm.validate.run import validate

    found = validate(workbook, config=settings)
    result = annotate(workbook, found, dry_run=dry_run) if options.get("annotate", True) else None
    out = _applied(result, {"errors": len(found.errors), "findings": len(found.findings)})
    out.findings = bool(found.errors)
    return out


STEPS: dict[str, Step] = {
    step.name: step
    for step in (
        Step("tidy", _tidy, frozenset({"sheets"}), "trim stray spaces"),
        Step(
            "fix",
            _fix,
            frozenset({"tables", "phone_format", "default_region", "day_first"}),
            "phones, dates and choices to one form",
        ),
        Step("dedupe", _dedupe, frozenset(), "merge duplicate customers"),
        Step("rollups", _rollups, frozenset(), "order figures per customer"),
        Step("segment", _segment, frozenset(), "lifecycle stages and RFM segments"),
        Step("stale", _stale, frozenset(), "mark rows past their review"),
        Step("pipeline", _pipeline, frozenset(), "check order statuses"),
        Step("remind", _remind, frozenset({"channels", "resend_unconfirmed"}), "tell owners what is due"),
        Step("report", _report, frozenset({"names", "out", "csv"}), "write the report sheets"),
        Step("validate", _validate, frozenset({"annotate"}), "check every cell; annotate the bad ones"),
    )
}
"""Every step a job may list, by name."""

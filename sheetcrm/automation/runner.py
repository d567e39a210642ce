"""``sheetcrm run JOB``: a job's steps, in order, against one workbook, with a lock and a record.

A run holds a lock per workbook for its whole length (``.sheetcrm/NAME.run.lock``), so two
runs never interleave their steps: the second fails at once with :class:`JobBusy` (exit 75),
or waits with ``wait=True``. Each step opens nothing itself: the steps share one
:class:`~sheetcrm.sync.workbook.Workbook`, which re-reads only after a step wrote. A failing
step stops the run; the workbook stays as the last step that applied left it (each step is
its own undoable run), and the record says which step failed and why.

Every run is recorded, without cell values, in ``.sheetcrm/jobs.jsonl`` (time, job, steps,
counts, outcome), which ``sheetcrm history --jobs`` lists; a job with ``log_sheet = true``
also keeps its last runs on a ``_sheetcrm_log`` sheet.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from filelock import FileLock, Timeout

from sheetcrm.automation.steps import STEPS, StepStatus
from sheetcrm.config import Config
from sheetcrm.errors import ConfigError, SheetcrmError, WriteRefused
from sheetcrm.jobs.crm.pipeline_job import job_state_dir
from sheetcrm.sync.changeset import CellStyle, ChangeSet
from sheetcrm.sync.runlog import new_run_id
from sheetcrm.sync.safewrite import append_durably, json_lines
from sheetcrm.sync.workbook import Workbook

__all__ = ["JOBS_FILE", "LOG_SHEET", "JobBusy", "JobRun", "StepOutcome", "job_history", "run_job"]

log = logging.getLogger("sheetcrm.run")
JOBS_FILE = "jobs.jsonl"
LOG_SHEET = "_sheetcrm_log"
LOG_SHEET_RUNS = 30
EXIT_BUSY = 75  # EX_TEMPFAIL: try again later

Outcome = Literal["ok", "findings", "failed", "refused"]


class JobBusy(SheetcrmError):
    """Another run of a job holds this workbook."""

    exit_code = EXIT_BUSY


@dataclass(frozen=True)
class StepOutcome:
    """One step of a run: how it ended, in how long, with which counts (no cell values)."""

    job: str
    step: str
    status: StepStatus
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)
    run_ids: tuple[str, ...] = ()
    error: str = ""

    def line(self) -> str:
        """``job=nightly step=fix status=ok seconds=0.84 edit=12``: one log line."""
        counts = " ".join(f"{k}={v}" for k, v in self.counts.items())
        text = f"job={self.job} step={self.step} status={self.status} seconds={self.seconds:.2f}"
        return " ".join(part for part in (text, counts, f"error={self.error!r}" if self.error else "") if part)


@dataclass
class JobRun:
    """A run of a job: its steps' outcomes and the overall outcome."""

    job: str
    run: str
    started: str
    dry_run: bool
    steps: list[StepOutcome] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # steps not run after a failure, or a stop
    stopped: bool = False  # asked to stop between steps

    @property
    def outcome(self) -> Outcome:
        statuses = {step.status for step in self.steps}
        for worst in ("failed", "refused", "findings"):
            if worst in statuses:
                return worst
        return "ok"

    @property
    def exit_code(self) -> int:
        """0 ok, 1 findings, 3 refused to write, 4 a step failed."""
        return {"ok": 0, "findings": 1, "refused": 3, "failed": 4}[self.outcome]

    def summary(self) -> str:
        """A few lines for people (and cron's mail)."""
        seconds = sum(step.seconds for step in self.steps)
        head = f"job {self.job}: {self.outcome} in {seconds:.1f} s" + (" (dry run)" if self.dry_run else "")
        lines = [head]
        for step in self.steps:
            counts = ", ".join(f"{v} {k}" for k, v in step.counts.items()) or "nothing to do"
            lines.append(f"  {step.step:<9} {step.status:<8} {counts}" + (f": {step.error}" if step.error else ""))
        if self.skipped:
            why = "asked to stop" if self.stopped else "the failure"
            lines.append(f"  not run after {why}: {', '.join(self.skipped)}")
            lines.append("  the workbook is as the last step that applied left it")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "run": self.run,
            "started": self.started,
            "dry_run": self.dry_run,
            "outcome": self.outcome,
            "steps": [dataclasses.asdict(step) for step in self.steps],
            "skipped": self.skipped,
            "stopped": self.stopped,
        }


def run_job(
    workbook: Workbook,
    name: str,
    *,
    config: Config,
    today: dt.date | None = None,
    dry_run: bool = False,
    wait: bool = False,
    on_step: Callable[[StepOutcome], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> JobRun:
    """Run job ``name`` of ``config`` on ``workbook`` (see the module's text). ``stop`` is asked
    before each step; when it says so, the run ends there (the scheduler's SIGTERM)."""
    if name not in config.jobs:
        known = ", ".join(config.jobs) or "none"
        raise ConfigError(
            f"{config.path or 'sheetcrm.toml'}: no job {name!r} (jobs: {known})",
            hint=f'add [jobs.{name}] with steps = ["fix", "stale", ...]',
        )
    job = config.jobs[name]
    zone = zoneinfo.ZoneInfo(job.timezone or config.timezone)
    day = today or dt.datetime.now(zone).date()
    state = job_state_dir(workbook)
    state.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(state / f"{Path(workbook.source).name or 'workbook'}.run.lock"), timeout=-1 if wait else 0)
    try:
        lock.acquire()
    except Timeout:
        raise JobBusy(
            f"{workbook.source}: another sheetcrm run holds this workbook",
            hint="it will finish on its own; run with --wait to queue behind it",
        ) from None
    try:
        run = JobRun(name, new_run_id(), dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), dry_run)
        for position, step_name in enumerate(job.steps):
            if stop is not None and stop():
                run.skipped = list(job.steps[position:])
                run.stopped = True
                break
            outcome = _run_step(workbook, config, name, step_name, day, dry_run, job.options.get(step_name, {}))
            run.steps.append(outcome)
            log.debug(outcome.line())
            if on_step is not None:
                on_step(outcome)
            if outcome.status in ("failed", "refused"):
                run.skipped = list(job.steps[position + 1 :])
                break
        if not dry_run:
            append_durably(state / JOBS_FILE, _json_line(run))
            if job.log_sheet:
                _write_log_sheet(workbook, state, name)
        return run
    finally:
        lock.release()


def _run_step(
    workbook: Workbook, settings: Config, job: str, name: str, today: dt.date, dry_run: bool, options: dict[str, Any]
) -> StepOutcome:
    started = time.perf_counter()
    try:
        result = STEPS[name].run(workbook, settings, today, dry_run, options)
    except WriteRefused as error:
        return StepOutcome(job, name, "refused", time.perf_counter() - started, error=_one_line(error))
    except SheetcrmError as error:
        return StepOutcome(job, name, "failed", time.perf_counter() - started, error=_one_line(error))
    except Exception as error:  # a bug in a step must not take the scheduler down: record it, stop the run
        log.exception("job=%s step=%s crashed", job, name)
        return StepOutcome(job, name, "failed", time.perf_counter() - started, error=f"internal error: {error!r}"[:300])
    status: StepStatus = "failed" if result.failed else "findings" if result.findings else "ok"
    return StepOutcome(
        job, name, status, time.perf_counter() - started, result.counts, tuple(result.run_ids), result.failed
    )


def _one_line(error: SheetcrmError) -> str:
    # the message names files, sheets and cells, never values: safe for the log
    return " ".join(str(error).split())[:300]


def _json_line(run: JobRun) -> str:
    import json

    return json.dumps(run.to_dict(), ensure_ascii=False) + "\n"


def job_history(state_dir: Path) -> list[dict[str, Any]]:
    """Every recorded job run of a workbook, oldest first."""
    return list(json_lines(state_dir / JOBS_FILE, what="job run record"))


def _write_log_sheet(workbook: Workbook, state: Path, job: str) -> None:
    """The last runs on ``_sheetcrm_log``, newest first, for people who never open a terminal."""
    runs = job_history(state)[-LOG_SHEET_RUNS:][::-1]
    rows: list[tuple[Any, ...]] = [("started (UTC)", "job", "outcome", "steps", "changes")]
    for record in runs:
        steps = ", ".join(f"{s['step']} {s['status']}" for s in record.get("steps", []))
        changed = sum(sum(v for k, v in s["counts"].items() if k in _CELL_KINDS) for s in record.get("steps", []))
        rows.append((record.get("started", ""), record.get("job", ""), record.get("outcome", ""), steps, changed))
    changes = ChangeSet(f"job {job}: the run log sheet")
    changes.replace_sheet(
        LOG_SHEET,
        rows,
        freeze="A2",
        column_widths={"A": 22, "B": 12, "C": 10, "D": 70, "E": 10},
        styles={"A1:E1": CellStyle(bold=True, fill="DDEBF7", bottom_border=True)},
    )
    try:
        workbook.apply(changes, command=f"job {job} log")
    except WriteRefused as error:  # the run itself is recorded; the sheet is a courtesy
        log.warning("job=%s log sheet not written: %s", job, _one_line(error))


_CELL_KINDS = frozenset({"edit", "fill", "note", "append", "delete-rows", "number-format", "dropdown"})

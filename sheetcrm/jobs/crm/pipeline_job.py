"""``sheetcrm pipeline``: check how orders moved since the last run, flag what is wrong or late, fill dates.

Each order's status is compared with the one sheetcrm saw last time, remembered in
``.sheetcrm/pipeline.json`` beside the workbook (:func:`~sheetcrm.jobs.crm.pipeline.check_pipeline`
has the rules). The run writes a short flag per order into the ``pipeline`` column (created
when missing; ``[pipeline] column``) with a highlight, both cleared once the order is fine,
and today's date into an empty ``shipped_at`` / ``delivered_at`` when the order moved to
shipped / completed. The remembered statuses are saved only after the run was applied
(a dry run, or a refused write, leaves them as they were, so the next run sees the same moves).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path

from sheetcrm.config import Config, load_config
from sheetcrm.errors import InputError
from sheetcrm.jobs.crm.frames import read_crm_tables
from sheetcrm.jobs.crm.pipeline import PipelineReport, SeenStatus, check_pipeline
from sheetcrm.jobs.crm.rollup_job import write_flags
from sheetcrm.sync.changeset import ChangeSet
from sheetcrm.sync.safewrite import STATE_DIR, replace_atomically
from sheetcrm.sync.workbook import ApplyResult, Workbook

__all__ = ["STATE_FILE", "job_state_dir", "load_seen", "pipeline", "plan_pipeline", "save_seen"]

STATE_FILE = "pipeline.json"


def job_state_dir(workbook: Workbook) -> Path:
    """Where jobs remember things between runs: ``.sheetcrm/`` beside the workbook, or in the
    working directory for a workbook that is not a file (a Google Sheet)."""
    return workbook.backend.state_dir or Path.cwd() / STATE_DIR


def load_seen(state_dir: Path) -> dict[str, SeenStatus]:
    """The statuses remembered by the last applied run (empty before the first)."""
    path = state_dir / STATE_FILE
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {key: SeenStatus(status, dt.date.fromisoformat(since)) for key, (status, since) in data.items()}
    except (ValueError, TypeError, AttributeError) as error:
        raise InputError(
            f"{path}: not a pipeline state file ({error})",
            hint="move it aside: the next run starts afresh and checks moves from then on",
        ) from None


def save_seen(state_dir: Path, seen: Mapping[str, SeenStatus]) -> None:
    """Remember these statuses, replacing the file atomically."""
    state_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps({key: [s.status, s.since.isoformat()] for key, s in seen.items()}, ensure_ascii=False)

    def write(temp: Path) -> None:
        temp.write_text(text, encoding="utf-8")
        temp.chmod(0o600)

    replace_atomically(state_dir / STATE_FILE, write)


def plan_pipeline(
    workbook: Workbook, *, config: Config | None = None, today: dt.date | None = None
) -> tuple[PipelineReport, ChangeSet]:
    """The pipeline's findings, and a ChangeSet writing its flags and filling dates."""
    settings = config if config is not None else load_config()
    read = read_crm_tables(workbook, settings, required=("orders",))
    table, orders = read.tables["orders"], read.frames["orders"]
    seen = load_seen(job_state_dir(workbook))
    report = check_pipeline(orders, today=today or dt.date.today(), seen=seen, rules=settings.pipeline)
    changes = ChangeSet("pipeline: order status checks")
    write_flags(changes, table, report.flags.rename(settings.pipeline.column))
    header_of = {field: header for header, field in read.fields["orders"].items()}
    for name in report.fills.columns:
        header = header_of.get(name)
        if header is None:
            continue  # the sheet has no such column: nothing to fill (the flag still says it moved)
        letter = table.letter(header)
        for row, text in report.fills[name].items():
            if text and not str(table.frame.at[row, header]).strip():
                day = dt.date.fromisoformat(text)
                changes.edit(table.sheet, int(str(row)), letter, old="", new=day, field=name)
    return report, changes


def pipeline(
    workbook: Workbook,
    *,
    config: Config | None = None,
    today: dt.date | None = None,
    dry_run: bool = False,
    out: str | Path | None = None,
) -> tuple[PipelineReport, ApplyResult]:
    """Plan :func:`plan_pipeline`, apply it as one run, then remember today's statuses
    (not on a dry run, nor when writing to ``out``: the workbook itself did not move on)."""
    report, changes = plan_pipeline(workbook, config=config, today=today)
    result = workbook.apply(changes, dry_run=dry_run, command="pipeline", out=out)
    if not dry_run and out is None:
        save_seen(job_state_dir(workbook), report.state)
    return report, result

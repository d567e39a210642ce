"""``sheetcrm stale``: mark the customers and opportunities that need attention, and list them.

A row found stale (:func:`~sheetcrm.jobs.crm.stale.find_stale`: past its tier's review cadence,
never touched, without a phone or email, an open deal past its expected close or not updated)
gets a short reason in its ``stale`` column (``[stale] column``; created when missing) and a yellow highlight there;
both are cleared once the row is fresh again. The team's own colours are never touched.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from sheetcrm.config import Config, load_config
from sheetcrm.jobs.crm.frames import read_crm_tables
from sheetcrm.jobs.crm.rollup_job import write_flags
from sheetcrm.jobs.crm.stale import StaleFinding, StaleReport, find_stale
from sheetcrm.sync.changeset import ChangeSet
from sheetcrm.sync.workbook import ApplyResult, Workbook

__all__ = ["plan_stale", "stale"]

_SHEETS = {"Customers": "customers", "Opportunities": "opportunities"}  # as find_stale names them


def status_text(finding: StaleFinding) -> str:
    """A finding in a few words for its cell: ``"overdue 12 days"``, ``"no phone or email"``."""
    days = finding.days_overdue
    return {
        "overdue": f"overdue {days} days",
        "no-touch": "never touched",
        "no-contact-details": "no phone or email",
        "past-close": f"{days} days past close",
        "not-updated": f"not updated, {days} days overdue",
    }[str(finding.code)]


def plan_stale(
    workbook: Workbook, *, config: Config | None = None, today: dt.date | None = None
) -> tuple[StaleReport, ChangeSet]:
    """The stale rows, and a ChangeSet marking them (and unmarking rows fresh again)."""
    settings = config if config is not None else load_config()
    read = read_crm_tables(
        workbook, settings, required=("customers",), optional=("interactions", "orders", "opportunities")
    )
    tables, frames = read.tables, read.frames
    options = settings.stale
    report = find_stale(
        frames["customers"],
        interactions=frames.get("interactions"),
        orders=frames.get("orders"),
        opportunities=frames.get("opportunities"),
        today=today or dt.date.today(),
        cadence=options.cadence,
        default_days=options.default_days,
        opportunity_cadence=options.opportunity_cadence,
    )
    column = options.column
    changes = ChangeSet("stale: mark rows that need attention")
    for label, key in _SHEETS.items():
        if key not in tables:
            continue
        table = tables[key]
        reasons: dict[int, list[str]] = {}
        for finding in report.findings:
            if finding.sheet == label:
                reasons.setdefault(finding.row, []).append(status_text(finding))
        status = pd.Series("", index=table.frame.index, dtype="str", name=column)
        for row, texts in reasons.items():
            status[row] = "; ".join(texts)
        write_flags(changes, table, status)
    return report, changes


def stale(
    workbook: Workbook,
    *,
    config: Config | None = None,
    today: dt.date | None = None,
    dry_run: bool = False,
    out: str | Path | None = None,
) -> tuple[StaleReport, ApplyResult]:
    """Plan :func:`plan_stale` and apply it as one run (``dry_run`` only previews it)."""
    report, changes = plan_stale(workbook, config=config, today=today)
    return report, workbook.apply(changes, dry_run=dry_run, command="stale", out=out)

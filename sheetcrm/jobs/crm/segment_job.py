"""``sheetcrm segment``: write each customer's lifecycle stage and RFM segment into the customers sheet.

The stage (:func:`~sheetcrm.jobs.crm.segments.lifecycle`: prospect, new, active, loyal, lapsing,
dormant, churned) goes into ``lifecycle``; the RFM scores (1 to 5) into ``rfm_r``, ``rfm_f`` and
``rfm_m`` and the named segment (Champions, At Risk, …) into ``rfm_segment``, columns created when
missing. The tag rules of ``[segments] tags`` (``total_spent >= 10000`` is "high value") write
their tags into ``tags_auto``, leaving the team's own ``tags`` alone. Thresholds come from
``[segments]``. As with roll-ups only changed cells are written, so a rerun on the same day
writes nothing.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from sheetcrm.config import Config, load_config
from sheetcrm.jobs.crm.frames import read_crm_tables
from sheetcrm.jobs.crm.rollup_job import write_columns
from sheetcrm.jobs.crm.rollups import compute_rollups, day_number, format_numbers, parse_dates
from sheetcrm.jobs.crm.segments import lifecycle, rfm, tags_from_rules
from sheetcrm.sync.changeset import CellValue, ChangeSet
from sheetcrm.sync.workbook import ApplyResult, Workbook

__all__ = ["plan_segments", "segment"]

SCORES = {"R": "rfm_r", "F": "rfm_f", "M": "rfm_m"}
TAGS_COLUMN = "tags_auto"  # beside the team's own tags column, which stays theirs


def plan_segments(workbook: Workbook, *, config: Config | None = None, today: dt.date | None = None) -> ChangeSet:
    """A ChangeSet writing every customer's lifecycle stage and RFM segment (see the module's text)."""
    settings = config if config is not None else load_config()
    options = settings.segments
    read = read_crm_tables(workbook, settings, required=("customers", "orders"))
    customers, orders = read.frames["customers"], read.frames["orders"]
    day = today or dt.date.today()
    stages = lifecycle(
        customers,
        orders,
        today=day,
        new_days=options.new_days,
        loyal_orders=options.loyal_orders,
        active_days=options.active_days,
        dormant_days=options.dormant_days,
        churned_days=options.churned_days,
    ).rename("lifecycle")
    scores = rfm(customers, orders, today=day, rates=options.rates).rename(columns=SCORES)
    figures = pd.concat([stages, scores], axis=1)
    if options.tags:
        facts = compute_rollups(customers, orders, today=day)
        last = parse_dates(facts["last_order"])[0]
        since = format_numbers(day_number(day) - last, decimals=0)
        facts = pd.concat([facts, figures], axis=1).assign(days_since_last_order=since)
        rules = [rule.model_dump() for rule in options.tags]
        figures[TAGS_COLUMN] = tags_from_rules(facts, rules)
    changes = ChangeSet("segment: lifecycle stages and RFM segments")
    write_columns(changes, read.tables["customers"], figures, typed=_typed, headers=options.columns)
    return changes


def _typed(name: str, text: str) -> CellValue:
    return int(text) if name in SCORES.values() and text else text


def segment(
    workbook: Workbook,
    *,
    config: Config | None = None,
    today: dt.date | None = None,
    dry_run: bool = False,
    out: str | Path | None = None,
) -> ApplyResult:
    """Plan :func:`plan_segments` and apply it as one run (``dry_run`` only previews it)."""
    return workbook.apply(
        plan_segments(workbook, config=config, today=today), dry_run=dry_run, command="segment", out=out
    )

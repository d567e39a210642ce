"""The computing core of the jobs that keep a CRM alive: roll-ups, stale rows, segments.

Pure functions of text frames (the CRM field names as columns, indexed by sheet row
number) and an explicit ``today``; nothing here reads or writes a workbook.

    >>> import sheetcrm
    >>> from sheetcrm.jobs.crm import compute_rollups, find_stale, lifecycle
    >>> wb = sheetcrm.open_workbook("crm.xlsx")
    >>> customers, orders = wb["Customers"].frame, wb["Orders"].frame
    >>> rollups = compute_rollups(customers, orders, today=date(2026, 11, 22))
    >>> report = find_stale(customers, orders=orders, today=date(2026, 11, 22))
"""

from sheetcrm.jobs.crm.pipeline import (
    PipelineCode,
    PipelineFinding,
    PipelineReport,
    SeenStatus,
    check_pipeline,
    order_keys,
    transition,
)
from sheetcrm.jobs.crm.rollups import EXCLUDED_STATUSES, compute_rollups
from sheetcrm.jobs.crm.segments import RFM_SEGMENTS, STAGES, lifecycle, rfm, tags_from_rules
from sheetcrm.jobs.crm.stale import DEFAULT_CADENCE, StaleCode, StaleFinding, StaleReport, find_stale

__all__ = [
    "DEFAULT_CADENCE",
    "EXCLUDED_STATUSES",
    "RFM_SEGMENTS",
    "STAGES",
    "PipelineCode",
    "PipelineFinding",
    "PipelineReport",
    "SeenStatus",
    "StaleCode",
    "StaleFinding",
    "StaleReport",
    "check_pipeline",
    "compute_rollups",
    "find_stale",
    "lifecycle",
    "order_keys",
    "rfm",
    "tags_from_rules",
    "transition",
]

"""Pivot-style analysis sheets written as ChangeSets.

    >>> import sheetcrm
    >>> from sheetcrm.reports import ReportSpec, Value, report
    >>> run = report(sheetcrm.open_workbook("crm.xlsx"), ["revenue_by_product", "order_funnel"])
    >>> mine = ReportSpec("by_city", "Customers by city", "customers", rows=("city",), chart="bar")
    >>> run = report(sheetcrm.open_workbook("crm.xlsx"), [], specs=[mine], out="report.xlsx")

:mod:`.model` holds the types, :mod:`.pivot` computes a spec, :mod:`.builtin` the built-ins,
:mod:`.render` writes report sheets and CSV, and :mod:`.job` runs it all.
"""

from sheetcrm.reports.builtin import BUILTIN_REPORTS
from sheetcrm.reports.job import ReportRun, available_reports, compute_reports, plan_reports, report
from sheetcrm.reports.model import Filter, ReportColumn, ReportSpec, ReportTable, Value
from sheetcrm.reports.pivot import pivot

__all__ = [
    "BUILTIN_REPORTS",
    "Filter",
    "ReportColumn",
    "ReportRun",
    "ReportSpec",
    "ReportTable",
    "Value",
    "available_reports",
    "compute_reports",
    "pivot",
    "plan_reports",
    "report",
]

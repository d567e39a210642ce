"""What a report is: its definition (:class:`ReportSpec`) and its computed result (:class:`ReportTable`).

A spec says what to count; :mod:`.pivot` turns a spec and a table's text frame into a
ReportTable; :mod:`.render` turns ReportTables into report sheets (a ChangeSet), a separate
workbook or CSV files. Built-in reports that are not plain pivots (a funnel, a top 20 with
shares) compute their ReportTable themselves.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

import pandas as pd

from sheetcrm.sync.changeset import CellValue, ChartType

__all__ = [
    "Aggregation",
    "ColumnFormat",
    "Filter",
    "FilterOp",
    "PercentOf",
    "ReportColumn",
    "ReportSpec",
    "ReportTable",
    "TimeGrain",
    "Value",
]

Aggregation: TypeAlias = Literal["sum", "count", "mean", "nunique", "min", "max"]
TimeGrain: TypeAlias = Literal["day", "week", "month", "quarter", "year"]
PercentOf: TypeAlias = Literal["row", "column", "total"]
ColumnFormat: TypeAlias = Literal["text", "integer", "number", "currency", "percent", "date"]
FilterOp: TypeAlias = Literal["==", "!=", "in", "not in", ">=", ">", "<=", "<", "blank", "not blank"]


@dataclass(frozen=True)
class Value:
    """One aggregated value column: ``Value("amount", "sum")``; ``Value("*", "count")`` counts rows."""

    field: str
    agg: Aggregation = "sum"
    label: str | None = None  # the column header; default "sum of amount", "count"
    format: ColumnFormat | None = None  # default from the field's type and the aggregation


@dataclass(frozen=True)
class Filter:
    """Keep the source rows where ``field op value`` holds (text compared as the schema reads it:
    choices by their canonical spelling, dates and numbers as such)."""

    field: str
    op: FilterOp = "=="
    value: Any = None


@dataclass(frozen=True)
class ReportSpec:
    """A pivot over one CRM table.

    ``rows`` and ``columns`` are fields to group by (a date field is cut to ``time_grain``);
    ``values`` the aggregated columns. With ``columns``, the first value is spread across the
    distinct values of the column field (one column each, then a total). ``top`` keeps the
    first N rows after sorting (``sort``: ``"rows"`` by the row labels, ``"-value"`` by the
    first value, largest first, ``"value"`` smallest first); ``percent`` adds each value's
    share of its row, column or the grand total; ``totals`` adds a totals row.
    """

    name: str
    title: str
    source: str  # the table key: customers, orders, interactions, opportunities, or a custom table
    rows: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    values: tuple[Value, ...] = (Value("*", "count"),)
    filters: tuple[Filter, ...] = ()
    time_grain: TimeGrain | None = None
    top: int | None = None
    sort: Literal["rows", "value", "-value"] = "rows"
    totals: bool = True
    percent: PercentOf | None = None
    chart: ChartType | None = "column"
    description: str = ""


@dataclass(frozen=True)
class ReportColumn:
    """A column of a report's table: its header and how its cells are formatted."""

    header: str
    format: ColumnFormat = "text"


@dataclass(frozen=True)
class ReportTable:
    """A computed report: what a report sheet shows, before any styling.

    ``name`` is an identifier (``revenue_by_month``): it names the CSV file.
    ``rows`` hold typed values (text, int, float, :class:`datetime.date`, None for empty);
    percents are fractions (0.25 shows as 25%). ``totals`` is the totals row, or None.
    The chart plots ``chart_values`` (column positions) against the ``chart_category``
    column; empty ``chart_values`` plots the number columns (not percents) of the first such
    column's format, so that counts and amounts are not drawn against one axis.
    """

    name: str
    title: str
    source: str  # what it was computed from, for people: "Orders (11,178 rows)"
    as_of: dt.date
    columns: tuple[ReportColumn, ...]
    rows: tuple[tuple[CellValue, ...], ...]
    totals: tuple[CellValue, ...] | None = None
    chart: ChartType | None = "column"
    chart_category: int = 0
    chart_values: tuple[int, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)  # lines under the title
    description: str = ""  # one line for the index sheet: what the report shows

    @property
    def headers(self) -> list[str]:
        return [column.header for column in self.columns]

    def to_frame(self) -> pd.DataFrame:
        """The data rows (not the totals) as a DataFrame with the headers as columns."""
        return pd.DataFrame(list(self.rows), columns=self.headers)

    def plotted(self) -> tuple[int, ...]:
        """The positions of the columns the chart plots."""
        if self.chart_values:
            return self.chart_values
        numbers = [
            position
            for position, column in enumerate(self.columns)
            if position != self.chart_category and column.format in ("integer", "number", "currency")
        ]
        if not numbers:
            return ()
        first = self.columns[numbers[0]].format
        return tuple(position for position in numbers if self.columns[position].format == first)

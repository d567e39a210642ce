"""``sheetcrm report``: compute reports and write them as sheets of the workbook, a separate workbook, or CSV.

Reports are the built-ins (:data:`~sheetcrm.reports.builtin.BUILTIN_REPORTS`, plus
``data_quality`` from the validation report), the team's own from ``[reports.custom.NAME]``,
and any :class:`~sheetcrm.reports.model.ReportSpec` given in Python. A report whose tables
the workbook lacks is skipped and said so. Report sheets (``_r …``) and the ``_reports``
index belong to sheetcrm and are replaced on every run; the team's sheets are never touched.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import pandas as pd

from sheetcrm.config import Config, load_config
from sheetcrm.errors import InputError
from sheetcrm.jobs.crm.frames import read_crm_tables
from sheetcrm.jobs.crm.pipeline_job import job_state_dir, load_seen
from sheetcrm.reports.builtin import BUILTIN_REPORTS, ReportInputs
from sheetcrm.reports.model import ReportSpec, ReportTable
from sheetcrm.reports.pivot import pivot
from sheetcrm.reports.render import plan_report_sheets, write_csv
from sheetcrm.schema.custom import build_schemas
from sheetcrm.sync.changeset import ChangeSet, DeleteSheet
from sheetcrm.sync.safewrite import replace_atomically
from sheetcrm.sync.workbook import ApplyResult, Workbook

__all__ = ["DATA_QUALITY", "ReportRun", "available_reports", "compute_reports", "plan_reports", "report"]

DATA_QUALITY = "data_quality"
_TABLES = ("customers", "orders", "interactions", "opportunities")


@dataclass
class ReportRun:
    """What :func:`report` computed and where it went."""

    tables: list[ReportTable]
    skipped: dict[str, str] = field(default_factory=dict)  # report name -> why
    sheets: dict[str, str] = field(default_factory=dict)  # report name -> sheet name
    result: ApplyResult | None = None
    written: Path | None = None  # the separate workbook
    csv: list[Path] = field(default_factory=list)


def available_reports(settings: Config | None = None) -> dict[str, str]:
    """Every report that can be asked for by name, with its title: built-ins, then the config's own."""
    out = {name: builtin.title for name, builtin in BUILTIN_REPORTS.items()}
    out[DATA_QUALITY] = "Data quality: findings per column"
    if settings is not None:
        out.update({name: spec.title for name, spec in settings.report_specs().items()})
    return out


def compute_reports(
    workbook: Workbook,
    names: Sequence[str] | None = None,
    *,
    config: Config | None = None,
    today: dt.date | None = None,
    specs: Sequence[ReportSpec] = (),
) -> tuple[list[ReportTable], dict[str, str]]:
    """The named reports (``None``: all built-ins and the config's own; ``[]``: none) and
    ``specs``, computed; and the reports skipped, with why (a table the workbook lacks)."""
    settings = config if config is not None else load_config()
    day = today or dt.date.today()
    custom = settings.report_specs()
    known = available_reports(settings)
    wanted = list(names) if names is not None else list(known)
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise InputError(
            f"unknown report {', '.join(map(repr, unknown))}",
            hint="sheetcrm report --list shows them: " + ", ".join(known),
        )
    read = read_crm_tables(workbook, settings, required=(), optional=_TABLES)
    inputs = ReportInputs.of(read, settings, today=day, seen=load_seen(job_state_dir(workbook)))
    schemas = build_schemas(settings)
    tables: list[ReportTable] = []
    skipped: dict[str, str] = {}
    pivots = list(specs)
    for name in wanted:
        if name == DATA_QUALITY:
            tables.append(_data_quality(workbook, settings, day))
            continue
        if name in BUILTIN_REPORTS:
            builtin = BUILTIN_REPORTS[name]
            missing = [key for key in builtin.needs if not inputs.has(key)]
            if missing:
                skipped[name] = f"the workbook has no {' or '.join(schemas[key].sheet for key in missing)} sheet"
                continue
            absent = [column for column in builtin.made_by if column not in inputs.frames["customers"].columns]
            if absent:
                jobs = sorted({builtin.made_by[column] for column in absent})
                skipped[name] = (
                    f"the {schemas['customers'].sheet} sheet has no {', '.join(absent)} column yet: "
                    f"run `sheetcrm {' and '.join(jobs)}` first"
                )
                continue
            tables.append(dataclasses.replace(builtin.compute(inputs), description=builtin.description))
            continue
        pivots.append(custom[name])
    for spec in pivots:
        if not inputs.has(spec.source):
            skipped[spec.name] = f"the workbook has no {schemas[spec.source].sheet} sheet"
            continue
        table = pivot(
            inputs.frames[spec.source], spec, schema=schemas[spec.source], today=day, source=inputs.sources[spec.source]
        )
        tables.append(dataclasses.replace(table, description=spec.description))
    return tables, skipped


def _data_quality(workbook: Workbook, settings: Config, today: dt.date) -> ReportTable:
    """Validation findings per sheet and column, one column per finding code."""
    from sheetcrm.validate.run import validate

    found = validate(workbook, config=settings).findings
    frame = pd.DataFrame(
        {
            "sheet": [f.sheet for f in found],
            "column": [f.column or "(whole sheet)" for f in found],
            "code": [str(f.code) for f in found],
        },
        dtype="str",
    )
    spec = ReportSpec(
        DATA_QUALITY, "Data quality: findings per column", "findings", rows=("sheet", "column"), columns=("code",),
        sort="-value", chart="stacked-bar",
    )  # fmt: skip
    table = pivot(frame, spec, schema=None, today=today, source=f"validation of {Path(workbook.source).name}")
    return dataclasses.replace(table, description="every validation finding, by the column it is in")


def plan_reports(
    workbook: Workbook,
    names: Sequence[str] | None = None,
    *,
    config: Config | None = None,
    today: dt.date | None = None,
    specs: Sequence[ReportSpec] = (),
) -> tuple[ReportRun, ChangeSet]:
    """The reports, and a ChangeSet writing them as report sheets with an index."""
    tables, skipped = compute_reports(workbook, names, config=config, today=today, specs=specs)
    changes = ChangeSet("report: " + ", ".join(t.name for t in tables))
    sheets = plan_report_sheets(changes, tables, existing=workbook.sheet_names)
    return ReportRun(tables, skipped, sheets), changes


def report(
    workbook: Workbook,
    names: Sequence[str] | None = None,
    *,
    config: Config | None = None,
    today: dt.date | None = None,
    specs: Sequence[ReportSpec] = (),
    dry_run: bool = False,
    out: str | Path | None = None,
    csv: str | Path | None = None,
) -> ReportRun:
    """Compute the reports and write them: into the workbook (default), into a separate
    workbook holding only the reports (``out``), and/or as CSV files into a folder (``csv``).
    ``dry_run`` computes and previews, and writes nothing."""
    run, changes = plan_reports(workbook, names, config=config, today=today, specs=specs)
    if csv is not None and not dry_run:
        run.csv = write_csv(run.tables, Path(csv))
    if out is not None:
        if not dry_run:
            run.written = _separate_workbook(run.tables, Path(out))
        return run
    if csv is None or dry_run:
        run.result = workbook.apply(changes, dry_run=dry_run, command="report")
    return run


def _separate_workbook(tables: Sequence[ReportTable], target: Path) -> Path:
    """A new workbook of only the report sheets and their index, replacing ``target`` atomically."""
    from sheetcrm.api import open_workbook

    if target.suffix.lower() != ".xlsx":
        raise InputError(f"{target}: a report workbook is an .xlsx file", hint="name it report.xlsx")
    with tempfile.TemporaryDirectory(dir=target.parent if target.parent.exists() else None) as folder:
        blank = Path(folder) / "report.xlsx"
        book = openpyxl.Workbook()
        placeholder = book.active
        assert placeholder is not None
        placeholder.title = "sheetcrm"
        book.save(blank)
        built = open_workbook(blank)
        changes = ChangeSet("reports")
        plan_report_sheets(changes, tables)
        changes.add(DeleteSheet("sheetcrm"))
        built.apply(changes)
        data = blank.read_bytes()
    target.parent.mkdir(parents=True, exist_ok=True)

    def write(temp: Path) -> None:
        temp.write_bytes(data)

    replace_atomically(target, write)
    return target

"""The ``sheetcrm`` command: parse arguments, call one library function, render the result.

Exit codes: 0 ok, 1 findings, 2 usage / config / unreadable input, 3 refused to write,
4 partly failed (a reminder could not be delivered; the others were), 70 an internal error (a bug: please report it with the output of ``-v``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from sheetcrm import __version__
from sheetcrm.errors import InputError, SheetcrmError

log = logging.getLogger("sheetcrm")

EXIT_OK, EXIT_FINDINGS, EXIT_INPUT, EXIT_REFUSED, EXIT_PARTIAL, EXIT_INTERNAL = 0, 1, 2, 3, 4, 70
F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Context:
    """What every command gets from the global options."""

    config_path: Path | None
    verbose: int
    quiet: bool

    def config(self, *, required: bool = False) -> Any:
        from sheetcrm.config import load_config

        return load_config(self.config_path, required=required or self.config_path is not None)

    def open(self, workbook: str | None) -> Any:
        from sheetcrm.api import open_workbook

        opened = open_workbook(workbook, config=self.config())
        calls = getattr(opened.backend, "calls", None)
        if calls is not None:  # a Google Sheet: say how many API calls the command made (-v)
            click.get_current_context().call_on_close(lambda: _log_api_calls(opened.source, calls))
        return opened

    def say(self, text: str = "") -> None:
        if not self.quiet:
            click.echo(text)

    @contextlib.contextmanager
    def working(self, what: str) -> Iterator[None]:
        """A spinner on stderr while long work runs; nothing when stderr is not a terminal."""
        if self.quiet or not sys.stderr.isatty():
            yield
            return
        from rich.console import Console

        with Console(stderr=True).status(what):
            yield


def _log_api_calls(source: str, calls: Any) -> None:
    total = sum(calls.values())
    detail = ", ".join(f"{name} {count}" for name, count in sorted(calls.items()))
    logging.getLogger("sheetcrm.google").info("Google Sheets API calls for %s: %d (%s)", source, total, detail)


def dry_run_option(function: F) -> F:
    return click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")(function)


def format_option(*choices: str) -> Callable[[F], F]:
    def decorate(function: F) -> F:
        return click.option(
            "--format",
            "fmt",
            type=click.Choice(list(choices)),
            default=choices[0],
            show_default=True,
            help="Output format.",
        )(function)

    return decorate


workbook_argument = click.argument("workbook", required=False, metavar="[WORKBOOK]")


def out_option(function: F) -> F:
    return click.option(
        "--out",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help="Write the result to this new file and leave the workbook untouched.",
    )(function)


workbook_option = click.option(
    "--workbook", "workbook", default=None, help="The workbook [default: `workbook` in sheetcrm.toml]."
)
log_format_option = click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="One line per step on stderr: key=value text, or JSON lines.",
)


def step_reporter(obj: Context, log_format: str) -> Callable[[Any], None]:
    """What prints each step of a job run: a key=value line or a JSON line, on stderr."""

    def report_step(outcome: Any) -> None:
        if log_format == "json":
            click.echo(json.dumps(dataclasses.asdict(outcome), ensure_ascii=False), err=True)
        elif not obj.quiet:
            click.echo(outcome.line(), err=True)

    return report_step


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="sheetcrm")
@click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Config file [default: ./sheetcrm.toml if present].",
)
@click.option("-v", "--verbose", count=True, help="More detail on stderr (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors.")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, verbose: int, quiet: bool) -> None:
    """sheetcrm keeps your spreadsheet the system of record of a well-run CRM.

    WORKBOOK, where a command takes one, defaults to the `workbook` set in sheetcrm.toml.
    """
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    ctx.obj = Context(config_path, verbose, quiet)


# -- init and demo ---------------------------------------------------------------------------


@cli.command()
@click.argument("path")
@click.option(
    "--tables",
    default=None,
    help="Comma-separated tables to create [default: every table in the config: customers, orders, interactions, opportunities].",
)
@click.pass_obj
def init(obj: Context, path: str, tables: str | None) -> None:
    """Create a new CRM workbook from the schemas: header notes, formats, dropdowns; never overwrites.

    PATH is a new .xlsx file, or an empty Google Sheet (gsheets://KEY, shared with the service
    account), which gets the same sheets.
    """
    from sheetcrm.create import create_workbook
    from sheetcrm.schema.custom import build_schemas
    from sheetcrm.sync.gsheets.backend import is_google_source

    settings = obj.config()
    chosen = [t.strip() for t in tables.split(",") if t.strip()] if tables else None
    if not is_google_source(path):
        obj.say(f"created {create_workbook(Path(path), tables=chosen, schemas=build_schemas(settings))}")
        return
    import tempfile

    from sheetcrm.sync.transfer import copy_tables

    target = obj.open(path)
    schemas = build_schemas(settings)
    there = [schemas[key].sheet for key in (chosen or schemas) if key in schemas and schemas[key].sheet in target]
    if there:
        raise InputError(
            f"{path} already has {', '.join(there)}",
            hint="sheetcrm never overwrites a table; use `sheetcrm apply-schema` to put the rules on it",
        )
    with tempfile.TemporaryDirectory() as folder:
        template = create_workbook(Path(folder) / "template.xlsx", tables=chosen, schemas=schemas)
        copy_tables(obj.open(str(template)), target, settings, tables=chosen, command="init")
    obj.say(f"created the CRM sheets in {path}")


@cli.command("apply-schema")
@workbook_argument
@click.option(
    "--table", "tables", multiple=True, help="Only this table (repeatable) [default: every table with a sheet]."
)
@dry_run_option
@out_option
@format_option("table", "json")
@click.pass_obj
def apply_schema(
    obj: Context, workbook: str | None, tables: Sequence[str], dry_run: bool, out: Path | None, fmt: str
) -> None:
    """Put the schemas' header notes, number formats, dropdowns and date/number validations onto a workbook; values stay as they are."""
    from sheetcrm.jobs.apply_schema import apply_schema as run_apply_schema

    with obj.working("applying the schemas…"):
        result = run_apply_schema(
            obj.open(workbook), config=obj.config(), tables=tables or None, dry_run=dry_run, out=out
        )
    render_apply(obj, result, fmt)


@cli.command()
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("sheetcrm-demo"),
    show_default=True,
    help="Folder for the sample workbook and its sheetcrm.toml.",
)
@click.option("--customers", default=3000, show_default=True, help="How many sample customers.")
@click.option("--seed", default=7, show_default=True, help="Random seed (the sample is deterministic).")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None, help="The date the sample is built around.")
@click.pass_obj
def demo(obj: Context, out: Path, customers: int, seed: int, today: Any) -> None:
    """Write a sample CRM workbook, run every job on it, and say where to look."""
    from sheetcrm.demo import run_demo

    with obj.working(f"writing the sample workbook into {out} and running the jobs…"):
        result = run_demo(out, customers=customers, seed=seed, today=today.date() if today else None)
    obj.say(result.render())


# -- jobs ------------------------------------------------------------------------------------


@cli.command()
@workbook_argument
@click.option("--sheet", "sheets", multiple=True, help="Only this sheet (repeatable) [default: all].")
@dry_run_option
@out_option
@format_option("table", "json")
@click.pass_obj
def tidy(obj: Context, workbook: str | None, sheets: Sequence[str], dry_run: bool, out: Path | None, fmt: str) -> None:
    """Trim stray spaces around and inside text cells."""
    from sheetcrm.jobs.tidy import tidy as run_tidy

    with obj.working("tidying…"):
        result = run_tidy(obj.open(workbook), sheets or None, dry_run=dry_run, out=out)
    render_apply(obj, result, fmt)


@cli.command()
@workbook_argument
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None, help="The date merges are stamped with.")
@dry_run_option
@out_option
@format_option("table", "json")
@click.pass_obj
def dedupe(obj: Context, workbook: str | None, today: Any, dry_run: bool, out: Path | None, fmt: str) -> None:
    """Merge duplicate customers; list doubtful pairs on the _review sheet to decide."""
    from sheetcrm.dedupe.job import REVIEW_SHEET
    from sheetcrm.dedupe.job import dedupe as run_dedupe

    with obj.working("looking for duplicates…"):
        plan, result = run_dedupe(
            obj.open(workbook),
            config=obj.config(),
            dry_run=dry_run,
            out=out,
            today=today.date() if today else None,
        )
    if fmt == "json":
        payload = {**plan.to_dict(), "dry_run": result.dry_run, "run_id": result.run_id}
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    rows = sum(len(cluster.members) - 1 for cluster in plan.merged)
    obj.say(
        f"{len(plan.merged)} duplicate groups merged ({rows} rows into their survivors); "
        f"{len(plan.review)} pairs to review on {REVIEW_SHEET}"
    )
    render_apply(obj, result, "table")


@cli.command()
@workbook_argument
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None, help="The date figures are as of.")
@dry_run_option
@out_option
@format_option("table", "json")
@click.pass_obj
def rollups(obj: Context, workbook: str | None, today: Any, dry_run: bool, out: Path | None, fmt: str) -> None:
    """Write each customer's order count, spend, first and last order and average order value."""
    from sheetcrm.jobs.crm.rollup_job import rollups as run_rollups

    with obj.working("adding up orders…"):
        result = run_rollups(
            obj.open(workbook), config=obj.config(), today=today.date() if today else None, dry_run=dry_run, out=out
        )
    render_apply(obj, result, fmt)


@cli.command()
@workbook_argument
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None, help="The date stages are as of.")
@dry_run_option
@out_option
@format_option("table", "json")
@click.pass_obj
def segment(obj: Context, workbook: str | None, today: Any, dry_run: bool, out: Path | None, fmt: str) -> None:
    """Write each customer's lifecycle stage and RFM scores and segment."""
    from sheetcrm.jobs.crm.segment_job import segment as run_segment

    with obj.working("segmenting…"):
        result = run_segment(
            obj.open(workbook), config=obj.config(), today=today.date() if today else None, dry_run=dry_run, out=out
        )
    render_apply(obj, result, fmt)


@cli.command()
@workbook_argument
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None, help="The date rows are stale as of.")
@click.option("--limit", default=20, show_default=True, help="How many stale rows to list (json: all).")
@dry_run_option
@out_option
@format_option("table", "json")
@click.pass_obj
def stale(
    obj: Context, workbook: str | None, today: Any, limit: int, dry_run: bool, out: Path | None, fmt: str
) -> None:
    """Mark customers and deals past their review cadence (a stale column and a highlight) and list them."""
    from sheetcrm.jobs.crm.stale_job import stale as run_stale
    from sheetcrm.jobs.crm.stale_job import status_text

    with obj.working("looking for stale rows…"):
        report, result = run_stale(
            obj.open(workbook), config=obj.config(), today=today.date() if today else None, dry_run=dry_run, out=out
        )
    if fmt == "json":
        payload = {**report.to_dict(), "dry_run": result.dry_run, "run_id": result.run_id}
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    findings = sorted(report.findings, key=lambda f: -(f.days_overdue or 0))
    for finding in findings[:limit]:
        touched = f" (last touch {finding.last_touch})" if finding.last_touch else ""
        obj.say(f"{finding.sheet}!{finding.row}  {finding.key}  {status_text(finding)}{touched}")
    if len(findings) > limit:
        obj.say(f"… and {len(findings) - limit} more (--limit, or --format json for all)")
    obj.say(f"{len(findings)} stale: " + ", ".join(f"{n} {code}" for code, n in report.stats["by_code"].items()))
    render_apply(obj, result, "table")


@cli.command()
@workbook_argument
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None, help="The date orders are checked as of.")
@click.option("--limit", default=20, show_default=True, help="How many flagged orders to list (json: all).")
@dry_run_option
@out_option
@format_option("table", "json")
@click.pass_obj
def pipeline(
    obj: Context, workbook: str | None, today: Any, limit: int, dry_run: bool, out: Path | None, fmt: str
) -> None:
    """Check how orders moved since the last run: flag skipped, backward and late orders, fill ship dates."""
    from sheetcrm.jobs.crm.pipeline_job import pipeline as run_pipeline

    with obj.working("checking orders…"):
        report, result = run_pipeline(
            obj.open(workbook), config=obj.config(), today=today.date() if today else None, dry_run=dry_run, out=out
        )
    if fmt == "json":
        payload = {**report.to_dict(), "dry_run": result.dry_run, "run_id": result.run_id}
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    findings = report.findings
    for finding in findings[:limit]:
        obj.say(f"{finding.sheet}!{finding.row}  {finding.order_id}  {finding.message}")
    if len(findings) > limit:
        obj.say(f"… and {len(findings) - limit} more (--limit, or --format json for all)")
    by_code = report.stats["by_code"]
    obj.say(
        f"{len(findings)} flagged" + (": " + ", ".join(f"{n} {code}" for code, n in by_code.items()) if by_code else "")
    )
    render_apply(obj, result, "table")


@cli.command()
@workbook_argument
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None, help="The date reminders are due as of.")
@click.option(
    "--channel",
    "channels",
    multiple=True,
    type=click.Choice(["smtp", "outbox", "sheet", "stdout"]),
    help="Where reminders go (repeatable) [default: [reminders] channels; else sheet plus smtp or outbox].",
)
@click.option(
    "--resend-unconfirmed",
    is_flag=True,
    help="Send again the reminders an earlier run may not have delivered (at least once instead of at most once).",
)
@dry_run_option
@format_option("table", "json")
@click.pass_obj
def remind(
    obj: Context,
    workbook: str | None,
    today: Any,
    channels: tuple[str, ...],
    resend_unconfirmed: bool,
    dry_run: bool,
    fmt: str,
) -> int:
    """Tell each owner, once, what is due: stale customers, follow-ups, late orders, deals, birthdays.

    One digest per owner_email by mail (smtp) or as .eml files (outbox), rows on the
    _reminders sheet with a done column, or printed (stdout).
    """
    from sheetcrm.jobs.remind.job import remind as run_remind

    with obj.working("gathering reminders…"):
        result = run_remind(
            obj.open(workbook),
            config=obj.config(),
            today=today.date() if today else None,
            channels=list(channels) or None,  # type: ignore[arg-type]  # click.Choice checked them
            dry_run=dry_run,
            resend_unconfirmed=resend_unconfirmed,
        )
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        obj.say(result.summary())
        if dry_run:
            obj.say("dry run: nothing was sent or written")
    failed = [outcome for outcome in result.channels if not outcome.ok]
    if failed and all(outcome.error for outcome in failed):
        return EXIT_REFUSED  # only the sheet could not be written; every mail went
    return EXIT_OK if result.ok else EXIT_PARTIAL


@cli.command("report")
@click.argument("names", nargs=-1, metavar="[NAME ...]")
@workbook_option
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None, help="The as-of date of the reports.")
@click.option("--list", "list_reports", is_flag=True, help="List the reports there are, and stop.")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the reports into this separate workbook instead of the workbook itself.",
)
@click.option(
    "--csv",
    "csv_folder",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Write each report as a CSV file into this folder (instead of into the workbook).",
)
@dry_run_option
@click.pass_obj
def report_command(
    obj: Context,
    names: tuple[str, ...],
    workbook: str | None,
    today: Any,
    list_reports: bool,
    out: Path | None,
    csv_folder: Path | None,
    dry_run: bool,
) -> None:
    """Write pivot-style report sheets with native charts (all of them, or those NAMEd), and an index."""
    from sheetcrm.reports.job import available_reports, report

    if list_reports:
        for name, title in available_reports(obj.config()).items():
            obj.say(f"{name:<28} {title}")
        return
    with obj.working("computing reports…"):
        run = report(
            obj.open(workbook),
            list(names) or None,
            config=obj.config(),
            today=today.date() if today else None,
            dry_run=dry_run,
            out=out,
            csv=csv_folder,
        )
    for table in run.tables:
        where = f" → {run.sheets[table.name]}" if table.name in run.sheets and out is None else ""
        obj.say(f"{table.name:<28} {len(table.rows):>6} rows{where}")
    for name, why in run.skipped.items():
        obj.say(f"{name:<28} skipped: {why}")
    if run.written:
        obj.say(f"written to {run.written}; the workbook itself was not changed")
    for path in run.csv:
        obj.say(f"wrote {path}")
    if run.result is not None:
        if dry_run:
            obj.say("dry run: nothing was written")
        elif run.result.run_id:
            obj.say(f"applied as run {run.result.run_id}; undo with: sheetcrm undo {run.result.run_id}")


@cli.command()
@click.argument("query")
@workbook_argument
@click.option("--table", "table_key", default="customers", show_default=True, help="The CRM table to search.")
@click.option("--limit", default=10, show_default=True, help="How many matches to show.")
@format_option("table", "json")
@click.pass_obj
def find(obj: Context, query: str, workbook: str | None, table_key: str, limit: int, fmt: str) -> None:
    """Look a customer up as a person would: a name in any order or with a typo, a phone in any
    format, an email in any case, a company without its suffix."""
    from sheetcrm.dedupe.find import find_records

    with obj.working("searching…"):
        found = find_records(obj.open(workbook), query, table=table_key, config=obj.config(), limit=limit)
    if fmt == "json":
        click.echo(json.dumps([match.to_dict() for match in found], ensure_ascii=False, indent=2))
        return
    if not found:
        obj.say(f"no match for {query!r}")
    for match in found:
        obj.say(match.describe())


def normalise_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """--phone-format, --region and --day-first/--month-first: the [fix] settings, overridable."""
    function = click.option(
        "--day-first/--month-first",
        "day_first",
        default=None,
        help="How to read dates like 5/3/2024 [default: [fix] day_first; unset leaves them as findings].",
    )(function)
    function = click.option(
        "--region",
        "default_region",
        default=None,
        help="Country of phones written without one [default: [fix] default_region, CN].",
    )(function)
    return click.option(
        "--phone-format",
        type=click.Choice(["e164", "national"]),
        default=None,
        help="How phone numbers are written [default: [fix] phone_format, e164].",
    )(function)


@cli.command()
@workbook_argument
@click.option(
    "--table", "tables", multiple=True, help="Only this table (repeatable) [default: every table with a sheet]."
)
@normalise_options
@dry_run_option
@out_option
@format_option("table", "json")
@click.pass_obj
def fix(
    obj: Context,
    workbook: str | None,
    tables: Sequence[str],
    phone_format: str | None,
    default_region: str | None,
    day_first: bool | None,
    dry_run: bool,
    out: Path | None,
    fmt: str,
) -> None:
    """Apply the safe fixes: phones, dates, spacing, full-width forms, choices, tags."""
    from sheetcrm.jobs.fix import fix as run_fix

    with obj.working("fixing…"):
        result = run_fix(
            obj.open(workbook),
            config=obj.config(),
            tables=tables or None,
            phone_format=phone_format,  # type: ignore[arg-type]
            default_region=default_region,
            day_first=day_first,
            dry_run=dry_run,
            out=out,
        )
    render_apply(obj, result, fmt)


@cli.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@workbook_argument
@click.option("--table", default="customers", show_default=True, help="The CRM table to import into.")
@click.option("--sheet", default=None, help="The sheet of an .xlsx FILE to read [default: the first].")
@click.option(
    "--map",
    "mapping",
    multiple=True,
    metavar="SRC=FIELD",
    help="Import column SRC as FIELD (repeatable); SRC= drops the column. Aliases map the rest.",
)
@click.option("--encoding", default=None, help="Encoding of a CSV FILE [default: detected: UTF-8, GB18030 …].")
@click.option(
    "--rejects",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the rejected rows, with their problems, to this CSV file.",
)
@click.option("--allow-invalid", is_flag=True, help="Import rows that fail validation too (still listed).")
@normalise_options
@dry_run_option
@format_option("table", "json")
@click.pass_obj
def import_(
    obj: Context,
    file: Path,
    workbook: str | None,
    table: str,
    sheet: str | None,
    mapping: Sequence[str],
    encoding: str | None,
    rejects: Path | None,
    allow_invalid: bool,
    phone_format: str | None,
    default_region: str | None,
    day_first: bool | None,
    dry_run: bool,
    fmt: str,
) -> int:
    """Add the rows of a CSV or .xlsx FILE; a row matching a record by id, email or phone updates it.

    Exits 1 when rows were rejected.
    """
    from sheetcrm.jobs.importer import import_rows, parse_mapping

    with obj.working(f"importing {file.name}…"):
        result = import_rows(
            obj.open(workbook),
            file,
            table=table,
            sheet=sheet,
            mapping=parse_mapping(mapping),
            encoding=encoding,
            config=obj.config(),
            allow_invalid=allow_invalid,
            rejects=rejects,
            phone_format=phone_format,  # type: ignore[arg-type]
            default_region=default_region,
            day_first=day_first,
            dry_run=dry_run,
        )
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        render_apply(obj, result.applied, fmt)
        obj.say(result.summary())
    return EXIT_FINDINGS if result.rejected else EXIT_OK


@cli.command()
@workbook_argument
@click.option("--table", default="customers", show_default=True, help="The CRM table to export.")
@click.option(
    "--where",
    default=None,
    help='Rows to keep: field=value, field!=value, field~text, joined by "," (AND), e.g. "tier=VIP,region=East China".',
)
@click.option("--columns", default=None, help="Comma-separated fields (or headers) to write, in order [default: all].")
@click.option("--mask-pii", is_flag=True, help="Mask phones (+86 ****** 8000) and emails (z***@example.cn).")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="The .csv or .xlsx file to write (the workbook is never written).",
)
@format_option("table", "json")
@click.pass_obj
def export(
    obj: Context,
    workbook: str | None,
    table: str,
    where: str | None,
    columns: str | None,
    mask_pii: bool,
    out: Path,
    fmt: str,
) -> None:
    """Write a selection of a table (a segment, a region, an owner's book) to CSV or .xlsx."""
    from sheetcrm.jobs.exporter import export_table

    chosen = [name.strip() for name in columns.split(",") if name.strip()] if columns else None
    with obj.working(f"exporting {table}…"):
        result = export_table(
            obj.open(workbook),
            table=table,
            where=where,
            columns=chosen,
            mask_pii=mask_pii,
            out=out,
            config=obj.config(),
        )
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        obj.say(result.summary())


@cli.command()
@workbook_argument
@click.option("--table", "tables", multiple=True, help="Only this table (repeatable): customers, orders, …")
@click.option("--limit", default=50, show_default=True, help="Findings to list in table output (JSON lists all).")
@click.option(
    "--annotate", is_flag=True, help="Mark bad cells in the workbook (fill and note) and list them on an _issues sheet."
)
@normalise_options
@dry_run_option
@format_option("table", "json")
@click.pass_obj
def validate(
    obj: Context,
    workbook: str | None,
    tables: Sequence[str],
    limit: int,
    annotate: bool,
    phone_format: str | None,
    default_region: str | None,
    day_first: bool | None,
    dry_run: bool,
    fmt: str,
) -> int:
    """Check every cell against the schemas; exit 1 when there are findings."""
    from sheetcrm.validate import validate as run_validate
    from sheetcrm.validate.annotate import annotate as run_annotate

    opened = obj.open(workbook)
    with obj.working("validating…"):
        report = run_validate(
            opened,
            tables=tables or None,
            config=obj.config(),
            phone_format=phone_format,  # type: ignore[arg-type]
            default_region=default_region,
            day_first=day_first,
        )
        marked = run_annotate(opened, report, dry_run=dry_run) if annotate else None
    if fmt == "json":
        click.echo(report.to_json(indent=2))
    else:
        obj.say(render_report(report, limit=limit))
        if marked is not None:
            counts = ", ".join(f"{n} {kind}" for kind, n in marked.changes.counts().items())
            if marked.dry_run:
                obj.say(f"dry run: would annotate ({counts}); nothing was written")
            elif marked.run_id:
                obj.say(f"annotated as run {marked.run_id} ({counts}); undo with: sheetcrm undo {marked.run_id}")
    return EXIT_OK if report.valid else EXIT_FINDINGS


def render_report(report: Any, *, limit: int) -> str:
    """Findings as lines a person reads: where, what, the fix."""
    lines = []
    for finding in report.findings[:limit]:
        where = finding.address or f"{finding.sheet}" + (f" [{finding.column}]" if finding.column else "")
        fix = f"  → {finding.fix}" if finding.fix else ""
        lines.append(f"{where:<18} {finding.code:<18} {finding.message}{fix}")
    if len(report.findings) > limit:
        lines.append(f"… and {len(report.findings) - limit} more (--limit, or --format json for all)")
    rows = ", ".join(f"{n} {sheet}" for sheet, n in report.rows_checked.items())
    by_code = ", ".join(f"{n} {code}" for code, n in report.stats["by_code"].items())
    verdict = "valid" if report.valid else f"{len(report.errors)} errors"
    lines.append(f"checked {rows}: {verdict}" + (f" ({by_code})" if by_code else ""))
    return "\n".join(lines)


# -- unattended runs -------------------------------------------------------------------------


@cli.command("run")
@click.argument("job")
@workbook_option
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None, help="The date the steps run as of.")
@click.option("--wait", is_flag=True, help="Wait for another run of this workbook to finish instead of exiting 75.")
@log_format_option
@dry_run_option
@click.pass_obj
def run_command(
    obj: Context, job: str, workbook: str | None, today: Any, wait: bool, log_format: str, dry_run: bool
) -> int:
    """Run the steps of [jobs.JOB] in order, for cron: a lock per workbook, a line per step, a summary.

    Exit codes: 0 ok, 1 findings, 2 config, 3 refused to write, 4 a step failed, 75 busy
    (another run holds the workbook; --wait queues behind it).
    """
    from sheetcrm.automation.runner import run_job

    settings = obj.config(required=True)
    run = run_job(
        obj.open(workbook),
        job,
        config=settings,
        today=today.date() if today else None,
        dry_run=dry_run,
        wait=wait,
        on_step=step_reporter(obj, log_format),
    )
    obj.say(run.summary())
    return run.exit_code


@cli.command("schedule")
@click.option("--run-now", is_flag=True, help="Run every scheduled job once at start, then on its schedule.")
@log_format_option
@click.pass_obj
def schedule_command(obj: Context, run_now: bool, log_format: str) -> None:
    """Run every job that has a `schedule` at its times, in the foreground, until SIGTERM or Ctrl-C.

    A failing run is logged and runs again next time. SIGTERM stops after the current step;
    SIGHUP re-reads sheetcrm.toml. For a service manager (systemd, launchd, Windows services).
    """
    from sheetcrm.automation.runner import JobRun
    from sheetcrm.automation.scheduler import JobScheduler

    def report_run(run: JobRun) -> None:
        obj.say(run.summary())

    scheduler = JobScheduler(obj.config_path, on_step=step_reporter(obj, log_format), on_run=report_run)
    planned = scheduler.describe()
    if not planned:
        raise InputError(
            "no job has a schedule", hint='add schedule = "every day at 02:00" to a [jobs.NAME] in sheetcrm.toml'
        )
    for line in planned:
        obj.say(f"scheduled {line}")
    scheduler.serve(run_now=run_now)
    obj.say("stopped")


def _copy(obj: Context, source: str, target: str, tables: str | None, dry_run: bool, fmt: str) -> int:
    """What push and pull share: open both sides (a new .xlsx target is created first), copy, render."""
    from sheetcrm.sync.gsheets.backend import is_google_source
    from sheetcrm.sync.transfer import copy_tables

    settings = obj.config()
    chosen = [t.strip() for t in tables.split(",") if t.strip()] if tables else None
    if not is_google_source(target) and not Path(target).exists() and not dry_run:
        from sheetcrm.create import create_workbook
        from sheetcrm.schema.custom import build_schemas

        create_workbook(Path(target), tables=chosen, schemas=build_schemas(settings))
        obj.say(f"created {target}")
    with obj.working("copying…"):
        result = copy_tables(
            obj.open(source), obj.open(target), settings, tables=chosen, dry_run=dry_run, command=f"copy from {source}"
        )
    recorded = False
    if not dry_run:
        recorded = _record_sync_base(obj, source, target, chosen)
    if fmt == "json":
        click.echo(json.dumps({**result.to_dict(), "sync_base_recorded": recorded}, ensure_ascii=False, indent=2))
    else:
        if dry_run:
            obj.say(result.preview())
        obj.say(result.summary())
        if recorded:
            obj.say(f"both copies now agree: a later `sheetcrm sync {source} {target}` merges from here")
    return EXIT_OK


def _sync_state(settings: Any) -> Path:
    """Where sync keeps its bases: .sheetcrm beside the config, else in the working folder."""
    from sheetcrm.sync.safewrite import STATE_DIR

    return (settings.path.parent if settings.path is not None else Path.cwd()) / STATE_DIR


def _record_sync_base(obj: Context, source: str, target: str, tables: list[str] | None) -> bool:
    """After a copy both sides agree: remember that as the base of a later sync (nothing is written)."""
    from sheetcrm.sync.merge import sync_workbooks

    settings = obj.config()
    # the same two Workbooks for both calls: a dry run keeps their tables cached, so the second reads nothing
    a, b = obj.open(source), obj.open(target)
    check = sync_workbooks(a, b, settings, tables=tables, state_dir=_sync_state(settings), dry_run=True)
    if check.changes_a or check.changes_b or check.conflicts:
        return False  # they do not agree after all (a column the copy left alone): sync decides later
    return sync_workbooks(a, b, settings, tables=tables, state_dir=_sync_state(settings)).base_saved


def copy_options(function: F) -> F:
    """The options push and pull share."""
    function = format_option("table", "json")(function)
    function = dry_run_option(function)
    return click.option(
        "--tables", default=None, help="Comma-separated tables to copy [default: every CRM table there]."
    )(function)


@cli.command()
@click.argument("source")
@click.argument("target")
@copy_options
@click.pass_obj
def push(obj: Context, source: str, target: str, tables: str | None, dry_run: bool, fmt: str) -> int:
    """Copy the CRM tables of SOURCE (crm.xlsx) to TARGET (gsheets://KEY): values, dropdowns, formats.

    TARGET's tables become equal to SOURCE's, writing only what differs (rows matched by id);
    columns only TARGET has are left alone. Undo with `sheetcrm undo RUN_ID TARGET`.
    """
    return _copy(obj, source, target, tables, dry_run, fmt)


@cli.command()
@click.argument("source")
@click.argument("target")
@copy_options
@click.pass_obj
def pull(obj: Context, source: str, target: str, tables: str | None, dry_run: bool, fmt: str) -> int:
    """Copy the CRM tables of SOURCE (gsheets://KEY) to TARGET (crm.xlsx, created if missing).

    The same copy as push, the other way round: TARGET's tables become equal to SOURCE's.
    """
    return _copy(obj, source, target, tables, dry_run, fmt)


@cli.command()
@click.argument("a")
@click.argument("b")
@click.option(
    "--policy",
    type=click.Choice(["last-writer-wins", "conflicts"]),
    default="last-writer-wins",
    show_default=True,
    help="A field changed on both sides: the later updated_at wins, or both stay and it is listed.",
)
@click.option("--tables", default=None, help="Comma-separated tables to sync [default: every CRM table on both].")
@dry_run_option
@format_option("table", "json")
@click.pass_obj
def sync(obj: Context, a: str, b: str, policy: str, tables: str | None, dry_run: bool, fmt: str) -> int:
    """Merge two copies of the CRM both ways (crm.xlsx and gsheets://KEY), rows matched by id.

    What changed on one side since the last sync goes to the other; new rows both ways; a row
    deleted on one side and untouched on the other is deleted there too. A field changed on both
    sides is a conflict: with last-writer-wins the row with the later updated_at wins; otherwise,
    or on a tie, both keep their value and it is listed on a _sync_conflicts sheet on both sides.
    Exit 1 when conflicts are left unresolved.
    """
    from sheetcrm.sync.merge import sync_workbooks

    settings = obj.config()
    chosen = [t.strip() for t in tables.split(",") if t.strip()] if tables else None
    with obj.working("syncing…"):
        result = sync_workbooks(
            obj.open(a),
            obj.open(b),
            settings,
            policy="conflicts" if policy == "conflicts" else "last-writer-wins",
            tables=chosen,
            state_dir=_sync_state(settings),
            dry_run=dry_run,
        )
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        if dry_run:
            obj.say(result.preview())
        obj.say(result.summary())
    return EXIT_FINDINGS if result.unresolved else EXIT_OK


@cli.command("emulator")
@click.option("--port", type=int, default=0, show_default=True, help="Port to listen on (0: a free one).")
@click.option(
    "--key",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Also write a service-account key for the emulator to this file.",
)
@click.option("--no-auth", is_flag=True, help="Accept requests without a bearer token.")
def emulator_command(port: int, key: Path | None, no_auth: bool) -> int:
    """Serve a local Google Sheets API emulator (for tests) in the foreground; prints its base URL."""
    from sheetcrm.testing.sheets_emulator import main as serve

    return serve(["--port", str(port), *(["--key", str(key)] if key else []), *(["--no-auth"] if no_auth else [])])


# -- history and undo ------------------------------------------------------------------------


@cli.command()
@workbook_argument
@click.option("--limit", default=20, show_default=True, help="Show the last N runs.")
@click.option("--jobs", "jobs", is_flag=True, help="List the job runs (sheetcrm run, schedule) instead.")
@format_option("table", "json")
@click.pass_obj
def history(obj: Context, workbook: str | None, limit: int, jobs: bool, fmt: str) -> None:
    """List the runs applied to the workbook, newest last (--jobs: the job runs, with their steps)."""
    if jobs:
        from sheetcrm.automation.runner import job_history
        from sheetcrm.jobs.crm.pipeline_job import job_state_dir

        runs = job_history(job_state_dir(obj.open(workbook)))[-limit:]
        if fmt == "json":
            click.echo(json.dumps(runs, ensure_ascii=False, indent=2))
        elif not runs:
            obj.say("no job runs yet")
        for record in runs if fmt != "json" else []:
            steps = ", ".join(f"{s['step']} {s['status']}" for s in record["steps"])
            obj.say(f"{record['run']}  {record['started']}  {record['job']:<10} {record['outcome']:<8} {steps}")
        return
    records = obj.open(workbook).history()[-limit:]
    if fmt == "json":
        click.echo(json.dumps([r.summary() for r in records], ensure_ascii=False, indent=2))
        return
    if not records:
        obj.say("no runs yet")
        return
    undone = {r.undoes for r in records if r.undoes}
    for record in records:
        counts = ", ".join(f"{n} {kind}" for kind, n in record.counts.items())
        mark = "  (undone)" if record.run_id in undone else ""
        obj.say(
            f"{record.run_id}  {record.time}  {record.command or '-':<14} {', '.join(record.sheets)}: {counts}{mark}"
        )


@cli.command()
@click.argument("run_id")
@workbook_argument
@dry_run_option
@format_option("table", "json")
@click.pass_obj
def undo(obj: Context, run_id: str, workbook: str | None, dry_run: bool, fmt: str) -> None:
    """Restore exactly what run RUN_ID changed (refuses where those cells were edited since)."""
    with obj.working(f"undoing run {run_id}…"):
        result = obj.open(workbook).undo(run_id, dry_run=dry_run)
    render_apply(obj, result, fmt)


# -- config ----------------------------------------------------------------------------------


@cli.group()
def config() -> None:
    """Inspect the configuration."""


@config.command("show")
@format_option("toml", "json")
@click.pass_obj
def config_show(obj: Context, fmt: str) -> None:
    """Print the effective config, defaults included (secrets as references)."""
    from sheetcrm.config import render_config

    click.echo(render_config(obj.config(), fmt=fmt))  # type: ignore[arg-type]


@cli.group()
def schema() -> None:
    """Inspect the table schemas (built-in, with the config's changes)."""


@schema.command("show")
@click.option("--table", "tables", multiple=True, help="Only this table (repeatable).")
@format_option("table", "json")
@click.pass_obj
def schema_show(obj: Context, tables: Sequence[str], fmt: str) -> None:
    """Print each table's fields: type, rules, header aliases."""
    from sheetcrm.schema.custom import build_schemas

    schemas = build_schemas(obj.config())
    unknown = [t for t in tables if t not in schemas]
    if unknown:
        raise InputError(f"unknown table {unknown[0]!r}", hint=f"choose from {', '.join(schemas)}")
    chosen = [schemas[t] for t in tables] if tables else list(schemas.values())
    if fmt == "json":
        click.echo(json.dumps([describe_schema(s) for s in chosen], ensure_ascii=False, indent=2))
        return
    for table in chosen:
        obj.say(f"{table.key} (sheet {table.sheet!r}, id {table.id_column})")
        for field in table.fields:
            rules = ", ".join(
                rule
                for rule in (
                    "required" if field.required else "",
                    "unique" if field.unique else "",
                    f"one of {'/'.join(field.choices)}" if field.choices else "",
                    f"pattern {field.pattern}" if field.pattern else "",
                    f"→ {field.reference}" if field.reference else "",
                )
                if rule
            )
            obj.say(f"  {field.name:<16} {field.type!s:<10} {rules}")
        obj.say()


def describe_schema(table: Any) -> dict[str, Any]:
    """A schema as JSON-ready data."""
    return {
        "table": table.key,
        "sheet": table.sheet,
        "id_column": table.id_column,
        "fields": [
            {
                "name": f.name,
                "type": str(f.type),
                "required": f.required,
                "unique": f.unique,
                "choices": list(f.choices),
                "pattern": f.pattern,
                "reference": f.reference,
                "description": f.description,
                "aliases": list(f.aliases),
                "group": f.group,
            }
            for f in table.fields
        ],
    }


# -- rendering -------------------------------------------------------------------------------


def render_apply(obj: Context, result: Any, fmt: str) -> None:
    """Print an ApplyResult: the preview, and the run id to undo it with."""
    if fmt == "json":
        payload = {
            "dry_run": result.dry_run,
            "run_id": result.run_id,
            "backup": str(result.backup) if result.backup else None,
            "counts": result.changes.counts(),
            "changes": [line.__dict__ for line in result.changes.lines()],
        }
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    obj.say(result.preview())
    if result.dry_run:
        obj.say("dry run: nothing was written")
    elif result.run_id:
        obj.say(f"applied as run {result.run_id}; undo with: sheetcrm undo {result.run_id}")
    elif result.applied:
        obj.say(f"written to {result.written_to}; the workbook itself was not changed")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: run the CLI and turn every error into one clear line and an exit code."""
    try:
        outcome = cli.main(args=list(argv) if argv is not None else None, prog_name="sheetcrm", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except click.ClickException as error:
        error.show()
        return EXIT_INPUT
    except SheetcrmError as error:
        click.echo(f"error: {error}", err=True)
        return error.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    except Exception as error:  # a bug: one line by default, the traceback with -v
        if "-v" in sys.argv or "--verbose" in sys.argv or (argv and ("-v" in argv or "--verbose" in argv)):
            traceback.print_exc()
        click.echo(
            f"internal error: {type(error).__name__}: {error} (run with -v for details; please report it)", err=True
        )
        return EXIT_INTERNAL
    return outcome if isinstance(outcome, int) else EXIT_OK


def reference_markdown() -> str:
    """The CLI reference (docs/cli.md), generated from the commands' own help."""
    parts = ["# Command-line reference", "", "Generated from `sheetcrm --help`; a test keeps it current.", ""]

    def walk(command: click.Command, path: list[str]) -> None:
        with click.Context(command, info_name=" ".join(path), terminal_width=100) as ctx:
            parts.extend([f"## `{' '.join(path)}`", "", "```text", command.get_help(ctx).rstrip(), "```", ""])
        if isinstance(command, click.Group):
            for name in command.list_commands(click.Context(command)):
                sub = command.get_command(click.Context(command), name)
                if sub is not None:
                    walk(sub, [*path, name])

    walk(cli, ["sheetcrm"])
    return "\n".join(parts)

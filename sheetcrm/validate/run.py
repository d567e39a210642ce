"""``validate``: check a workbook's CRM tables against their schemas, every finding at once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sheetcrm.config import Config, FixConfig, PhoneFormat, load_config
from sheetcrm.schema.custom import build_schemas
from sheetcrm.schema.fields import FieldType
from sheetcrm.schema.tables import TableSchema
from sheetcrm.sync.a1 import column_index, split_address
from sheetcrm.sync.table import Table
from sheetcrm.sync.workbook import Workbook
from sheetcrm.validate.checks import check_column
from sheetcrm.validate.findings import Code, Finding, Severity, ValidationReport


def validate(
    workbook: Workbook,
    *,
    tables: Sequence[str] | None = None,
    schemas: Mapping[str, TableSchema] | None = None,
    config: Config | None = None,
    phone_format: PhoneFormat | None = None,
    default_region: str | None = None,
    day_first: bool | None = None,
) -> ValidationReport:
    """Check each CRM table of ``workbook`` and return every finding at once.

    ``tables`` are table keys (``customers``, ``orders``, …; default: every table whose
    sheet is in the workbook, and customers always). ``schemas`` default to the built-in
    ones with the config's changes applied. A value in another form gets the fix
    :func:`sheetcrm.fix` would write, with the config's ``[fix]`` settings unless
    ``phone_format``, ``default_region`` or ``day_first`` is given; a value only a setting
    or a person can decide gets none, and its message says why.

    >>> report = sheetcrm.validate(sheetcrm.open_workbook("crm.xlsx"))
    >>> report.valid, report.stats["by_code"]
    >>> [f.fix for f in sheetcrm.validate(workbook, day_first=True).findings if f.value == "5/3/2024"]
    ['2024-03-05']
    """
    settings = config if config is not None else load_config()
    fix_settings = settings.fix.override(phone_format=phone_format, default_region=default_region, day_first=day_first)
    chosen = dict(schemas) if schemas is not None else build_schemas(settings)
    present = set(workbook.sheet_names)
    keys = list(tables) if tables else [k for k, s in chosen.items() if s.sheet in present or k == "customers"]
    report = ValidationReport()
    unknown = [k for k in keys if k not in chosen]
    if unknown:
        from sheetcrm.errors import InputError

        raise InputError(f"unknown table {unknown[0]!r}", hint=f"choose from {', '.join(chosen)}")
    missing_sheets = [k for k in keys if chosen[k].sheet not in present]
    for key in missing_sheets:
        report.findings.append(
            Finding(
                sheet=chosen[key].sheet,
                code=Code.MISSING_SHEET,
                message=f"no sheet {chosen[key].sheet!r} for the {key} table",
                fix=f"add the sheet, or set [tables.{key}] sheet = ... in sheetcrm.toml",
            )
        )
    read = workbook.read(*(chosen[k].sheet for k in keys if k not in missing_sheets))
    for key in keys:
        schema = chosen[key]
        if schema.sheet in read:
            report.extend(_check_table(read[schema.sheet], schema, chosen, workbook, fix_settings))
            report.rows_checked[schema.sheet] = len(read[schema.sheet])
    return report


def _values_of(table: Table, schema: TableSchema, field_name: str) -> set[str] | None:
    """The distinct values of one field's column (what a reference to it may hold)."""
    header = schema.match_headers(table.columns).headers.get(field_name)
    return set(table.frame[header].astype("str").str.strip()) if header else None


def _references(schema: TableSchema, schemas: Mapping[str, TableSchema], workbook: Workbook) -> dict[str, set[str]]:
    """For each reference field of ``schema``, the values it may hold (read from the other table)."""
    found: dict[str, set[str]] = {}
    for field in schema.fields:
        if field.type is not FieldType.reference or not field.reference:
            continue
        target_key, _, target_field = field.reference.partition(".")
        target = schemas.get(target_key)
        if target is None or target.sheet not in workbook.sheet_names:
            continue
        values = _values_of(workbook[target.sheet], target, target_field)
        if values is not None:
            found[field.reference] = values
    return found


def _check_table(
    table: Table,
    schema: TableSchema,
    schemas: Mapping[str, TableSchema],
    workbook: Workbook,
    settings: FixConfig,
) -> list[Finding]:
    sheet = table.sheet
    match = schema.match_headers(table.columns)
    findings: list[Finding] = []
    for field_name in match.missing:
        findings.append(
            Finding(
                sheet=sheet,
                code=Code.MISSING_COLUMN,
                message=f"no column for the required field {field_name!r}",
                column=field_name,
                fix=f"add a column headed {schema.field(field_name).header or field_name!r}",
            )
        )
    for field_name, headers in match.duplicates:
        findings.append(
            Finding(
                sheet=sheet,
                code=Code.DUPLICATE_HEADER,
                message=f"{len(headers)} columns mean {field_name!r}: {', '.join(map(repr, headers))}; only {headers[0]!r} is checked",
                column=field_name,
                severity=Severity.WARNING,
                fix="rename or remove the extra columns",
            )
        )
    for header in match.unknown:
        findings.append(
            Finding(
                sheet=sheet,
                code=Code.UNKNOWN_COLUMN,
                message=f"{header!r} is not a {schema.key} field; it is kept as the team's own column",
                column=header,
                cell=f"{table.letter(header)}{table.header_row}",
                severity=Severity.INFO,
            )
        )
    references = _references(schema, schemas, workbook)
    for header, field_name in match.fields.items():
        findings.extend(
            check_column(
                sheet,
                table.letter(header),
                schema.field(field_name),
                table.frame[header],
                is_id=field_name == schema.id_column,
                references=references,
                settings=settings,
            )
        )
    # reading order: row by row, left to right
    findings.sort(key=lambda f: (f.row or 0, column_index(split_address(f.cell)[0]) if f.cell else 0))
    return findings

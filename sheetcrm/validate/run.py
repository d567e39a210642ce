"""``validate``: check a workbook's CRM tables against their schemas, every finding at once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sheetcrm.config import Config, load_config
from sheetcrm.schema.custom import build_schemas
from sheetcrm.schema.fields import FieldType
from sheetcrm.schema.tables import TableSchema
from sheetcrm.sync.a1 import column_index, split_address
from sheetcrm.sync.table import Table
from sheetcrm.sync.workbook import Workbook
from sheetcrm.validate.checks import check_column, check_references
from sheetcrm.validate.findings import Code, Finding, Severity, ValidationReport


def validate(
    workbook: Workbook,
    *,
    tables: Sequence[str] | None = None,
    schemas: Mapping[str, TableSchema] | None = None,
    config: Config | None = None,
) -> ValidationReport:
    """Check each CRM table of ``workbook`` and return every finding at once.

    ``tables`` are table keys (``customers``, ``orders``, …; default: every table whose
    sheet is in the workbook, and customers always). ``schemas`` default to the built-in
    ones with the config's changes applied.

    >>> report = sheetcrm.validate(sheetcrm.open_workbook("crm.xlsx"))
    >>> report.valid, report.stats["by_code"]
    """
    settings = config if config is not None else load_config()
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
    ids = {key: _ids(read[chosen[key].sheet], chosen[key]) for key in keys if chosen[key].sheet in read}
    for key in keys:
        schema = chosen[key]
        if schema.sheet in read:
            report.extend(_check_table(read[schema.sheet], schema, chosen, ids, workbook))
            report.rows_checked[schema.sheet] = len(read[schema.sheet])
    return report


def _ids(table: Table, schema: TableSchema) -> set[str] | None:
    header = schema.match_headers(table.columns).headers.get(schema.id_column)
    return set(table.frame[header].astype("str").str.strip()) if header else None


def _check_table(
    table: Table,
    schema: TableSchema,
    schemas: Mapping[str, TableSchema],
    ids: dict[str, set[str] | None],
    workbook: Workbook,
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
    for header, field_name in match.fields.items():
        field = schema.field(field_name)
        letter = table.letter(header)
        values = table.frame[header]
        findings.extend(check_column(sheet, letter, field, values))
        if field.type is FieldType.reference and field.reference:
            target_key, _, _ = field.reference.partition(".")
            known = ids.get(target_key)
            if known is None and target_key in schemas and schemas[target_key].sheet in workbook.sheet_names:
                target = schemas[target_key]
                known = _ids(workbook[target.sheet], target)
            if known is not None:
                findings.extend(check_references(sheet, letter, field, values, known, field.reference))
    # a cell-by-cell reading order: row, then column
    findings.sort(key=lambda f: (f.row or 0, column_index(split_address(f.cell)[0]) if f.cell else 0))
    return findings

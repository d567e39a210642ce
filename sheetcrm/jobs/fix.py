"""Fix: write the safe fixes of :mod:`sheetcrm.validate.normalize` into the CRM tables as one ChangeSet.

Only cells of the schema's fields change, each to its canonical text; formula cells, the
header row and the team's own columns stay as they are, and so does every value a setting
or a person has to decide (``5/3/2024`` without ``day_first``). The settings come from
``[fix]`` in ``sheetcrm.toml``; a keyword argument given wins over it::

    >>> changes = plan_fix(sheetcrm.open_workbook("crm.xlsx"), default_region="CN")
    >>> print(changes.preview())
    >>> fix(workbook, dry_run=True).preview()
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from sheetcrm.config import Config, FixConfig, PhoneFormat, load_config
from sheetcrm.errors import InputError
from sheetcrm.schema.custom import build_schemas
from sheetcrm.schema.tables import TableSchema
from sheetcrm.sync.changeset import ChangeSet
from sheetcrm.sync.table import Table
from sheetcrm.sync.workbook import ApplyResult, Workbook
from sheetcrm.util import collector_paused
from sheetcrm.validate.normalize import normalize_column

__all__ = ["fix", "plan_fix"]


def plan_fix(
    workbook: Workbook,
    *,
    config: Config | None = None,
    schemas: Mapping[str, TableSchema] | None = None,
    tables: Sequence[str] | None = None,
    phone_format: PhoneFormat | None = None,
    default_region: str | None = None,
    day_first: bool | None = None,
) -> ChangeSet:
    """A ChangeSet with one edit per cell whose value has a safe fix, column by column.

    ``tables`` are table keys (default: every table whose sheet is in the workbook);
    ``schemas`` default to the built-in ones with the config's changes. Phones become
    E.164 (``phone_format="national"``: the national format of ``default_region``, the
    country of numbers written without a country code); a date such as ``5/3/2024``, which
    could be either, is only read with ``day_first`` set. The three settings left out
    (``None``) come from the config's ``[fix]`` section. Each edit writes text, as
    validate reads it, with ``old`` the text read and ``field`` the field's name.

        >>> changes = plan_fix(workbook, tables=["customers"], day_first=True)
        >>> changes.counts()
        {'edit': 42}
    """
    settings = config if config is not None else load_config()
    fix_settings = settings.fix.override(phone_format=phone_format, default_region=default_region, day_first=day_first)
    chosen = dict(schemas) if schemas is not None else build_schemas(settings)
    present = set(workbook.sheet_names)
    keys = list(tables) if tables else [key for key, schema in chosen.items() if schema.sheet in present]
    unknown = [key for key in keys if key not in chosen]
    if unknown:
        raise InputError(f"unknown table {unknown[0]!r}", hint=f"choose from {', '.join(chosen)}")
    missing = [key for key in keys if chosen[key].sheet not in present]
    if missing and tables:
        sheet = chosen[missing[0]].sheet
        raise InputError(
            f"{workbook.source}: no sheet {sheet!r} for the {missing[0]} table",
            hint=f"add the sheet, or set [tables.{missing[0]}] sheet = ... in sheetcrm.toml",
        )
    changes = ChangeSet("fix: normalise values")
    read = workbook.read(*(chosen[key].sheet for key in keys if key not in missing))
    for key in keys:
        schema = chosen[key]
        if schema.sheet in read:
            _plan_table(changes, read[schema.sheet], schema, fix_settings)
    return changes


def _plan_table(changes: ChangeSet, table: Table, schema: TableSchema, settings: FixConfig) -> None:
    # only the schema's fields: a header no field claims is the team's own column, and of a
    # field's duplicate columns only the one validate checks
    for header, name in schema.match_headers(table.columns).fields.items():
        values = table.frame[header]
        result = normalize_column(
            values,
            schema.field(name),
            phone_format=settings.phone_format,
            default_region=settings.default_region,
            day_first=settings.day_first,
        )
        if result.fixed.empty:
            continue
        letter = table.letter(header)
        old = values.loc[result.fixed.index]
        with collector_paused():  # a column of a million rows may change in every row
            for row, before, after in zip(
                result.fixed.index.tolist(), old.tolist(), result.fixed.tolist(), strict=True
            ):
                if table.formulas and table.is_formula(row, header):
                    continue  # its text is a formula's result: the formula is what a person wrote
                changes.edit(table.sheet, row, letter, old=before, new=after, field=name)


def fix(
    workbook: Workbook,
    *,
    config: Config | None = None,
    schemas: Mapping[str, TableSchema] | None = None,
    tables: Sequence[str] | None = None,
    phone_format: PhoneFormat | None = None,
    default_region: str | None = None,
    day_first: bool | None = None,
    dry_run: bool = False,
    out: str | Path | None = None,
) -> ApplyResult:
    """Plan :func:`plan_fix` and apply it as one run that ``undo`` reverses.

    ``dry_run`` only previews it; ``out`` writes the fixed workbook to a new file. The
    settings left out (``None``) come from the config's ``[fix]`` section.

        >>> result = fix(sheetcrm.open_workbook("crm.xlsx"), dry_run=True)
        >>> print(result.preview())
    """
    changes = plan_fix(
        workbook,
        config=config,
        schemas=schemas,
        tables=tables,
        phone_format=phone_format,
        default_region=default_region,
        day_first=day_first,
    )
    return workbook.apply(changes, dry_run=dry_run, command="fix", out=out)

"""The CRM tables a job reads, as Tables (to write to) and as frames with field names (to compute on)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from sheetcrm.config import Config
from sheetcrm.errors import InputError
from sheetcrm.schema.custom import build_schemas
from sheetcrm.sync.table import Table
from sheetcrm.sync.workbook import Workbook

__all__ = ["CrmTables", "read_crm_tables"]


@dataclass(frozen=True)
class CrmTables:
    """Each table read, by key (``"customers"``): as the sheet has it, with field names as columns,
    and which header holds which field (``{"客户名称": "name"}``)."""

    tables: dict[str, Table]
    frames: dict[str, pd.DataFrame]
    fields: dict[str, dict[str, str]]


def read_crm_tables(
    workbook: Workbook, settings: Config, *, required: Sequence[str], optional: Sequence[str] = ()
) -> CrmTables:
    """Read the ``required`` tables (InputError naming the sheet when one is missing) and
    those of ``optional`` the workbook has. A frame holds the columns its schema knows, renamed
    to their fields (``客户名称`` → ``name``)."""
    schemas = build_schemas(settings)
    tables: dict[str, Table] = {}
    for key in (*required, *optional):
        schema = schemas[key]
        if schema.sheet in workbook.sheet_names:
            tables[key] = workbook[schema.sheet]
        elif key in required:
            raise InputError(
                f"{workbook.source}: no sheet {schema.sheet!r} for the {key} table",
                hint=f"add the sheet, or set [tables.{key}] sheet = ... in sheetcrm.toml",
            )
    fields = {key: dict(schemas[key].match_headers(table.columns).fields) for key, table in tables.items()}
    frames = {key: table.frame[list(fields[key])].rename(columns=fields[key]) for key, table in tables.items()}
    return CrmTables(tables, frames, fields)

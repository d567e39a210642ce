"""sheetcrm: keep an Excel workbook or Google Sheet as the system of record of a well-run CRM.

>>> import sheetcrm
>>> workbook = sheetcrm.open_workbook("crm.xlsx")
>>> customers = workbook["Customers"]            # a Table: text values indexed by row number
>>> customers.frame.head()
>>> changes = sheetcrm.ChangeSet("fix a phone")
>>> changes.edit("Customers", 14, "E", old="138 0013 8000", new="+8613800138000")
>>> workbook.apply(changes, dry_run=True).preview()
>>> sheetcrm.fix(workbook, day_first=True, dry_run=True).preview()   # the jobs: fix, import_rows, …
"""

from __future__ import annotations

__version__ = "0.1.0"

import importlib
from typing import TYPE_CHECKING, Any

from sheetcrm.api import open_workbook
from sheetcrm.config import Config, load_config
from sheetcrm.create import create_workbook
from sheetcrm.errors import (
    CellConflict,
    ConfigError,
    ContentWouldBeLost,
    HeaderError,
    InputError,
    InvalidChange,
    SheetcrmError,
    SheetNotFound,
    UndoRefused,
    WorkbookChanged,
    WorkbookLocked,
    WorkbookUnreadable,
    WriteRefused,
)
from sheetcrm.jobs.tidy import plan_tidy, tidy
from sheetcrm.schema.custom import build_schemas
from sheetcrm.schema.fields import Field
from sheetcrm.schema.tables import TableSchema
from sheetcrm.sync.changeset import ChangeSet
from sheetcrm.sync.memory import MemoryBackend
from sheetcrm.sync.runlog import RunRecord
from sheetcrm.sync.table import Table
from sheetcrm.sync.workbook import ApplyResult, Workbook
from sheetcrm.validate.findings import Finding, ValidationReport
from sheetcrm.validate.run import validate  # the function: sheetcrm.validate(workbook)

if TYPE_CHECKING:
    from sheetcrm.jobs.apply_schema import apply_schema, plan_apply_schema
    from sheetcrm.jobs.exporter import export_table
    from sheetcrm.jobs.fix import fix, plan_fix
    from sheetcrm.jobs.importer import import_rows, plan_import
    from sheetcrm.sync.merge import sync_workbooks
    from sheetcrm.sync.transfer import copy_tables

# The jobs are imported when first used, not by every CLI start: fix and import bring
# phonenumbers and its metadata.
_LAZY = {
    "apply_schema": "sheetcrm.jobs.apply_schema",
    "plan_apply_schema": "sheetcrm.jobs.apply_schema",
    "export_table": "sheetcrm.jobs.exporter",
    "fix": "sheetcrm.jobs.fix",
    "plan_fix": "sheetcrm.jobs.fix",
    "import_rows": "sheetcrm.jobs.importer",
    "plan_import": "sheetcrm.jobs.importer",
    "copy_tables": "sheetcrm.sync.transfer",
    "sync_workbooks": "sheetcrm.sync.merge",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # found directly from now on
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "ApplyResult",
    "CellConflict",
    "ChangeSet",
    "Config",
    "ConfigError",
    "ContentWouldBeLost",
    "Field",
    "Finding",
    "HeaderError",
    "InputError",
    "InvalidChange",
    "MemoryBackend",
    "RunRecord",
    "SheetNotFound",
    "SheetcrmError",
    "Table",
    "TableSchema",
    "UndoRefused",
    "ValidationReport",
    "Workbook",
    "WorkbookChanged",
    "WorkbookLocked",
    "WorkbookUnreadable",
    "WriteRefused",
    "__version__",
    "apply_schema",
    "build_schemas",
    "copy_tables",
    "create_workbook",
    "export_table",
    "fix",
    "import_rows",
    "load_config",
    "open_workbook",
    "plan_apply_schema",
    "plan_fix",
    "plan_import",
    "plan_tidy",
    "sync_workbooks",
    "tidy",
    "validate",
]

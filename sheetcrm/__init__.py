"""sheetcrm: keep an Excel workbook or Google Sheet as the system of record of a well-run CRM.

>>> import sheetcrm
>>> workbook = sheetcrm.open_workbook("crm.xlsx")
>>> customers = workbook["Customers"]            # a Table: text values indexed by row number
>>> customers.frame.head()
>>> changes = sheetcrm.ChangeSet("fix a phone")
>>> changes.edit("Customers", 14, "E", old="138 0013 8000", new="+8613800138000")
>>> workbook.apply(changes, dry_run=True).preview()
"""

from __future__ import annotations

__version__ = "0.1.0"

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
from sheetcrm.sync.changeset import ChangeSet
from sheetcrm.sync.memory import MemoryBackend
from sheetcrm.sync.runlog import RunRecord
from sheetcrm.sync.table import Table
from sheetcrm.sync.workbook import ApplyResult, Workbook
from sheetcrm.validate.findings import Finding, ValidationReport
from sheetcrm.validate.run import validate  # the function: sheetcrm.validate(workbook)

__all__ = [
    "ApplyResult",
    "CellConflict",
    "ChangeSet",
    "Config",
    "ConfigError",
    "ContentWouldBeLost",
    "Finding",
    "HeaderError",
    "InputError",
    "InvalidChange",
    "MemoryBackend",
    "RunRecord",
    "SheetNotFound",
    "SheetcrmError",
    "Table",
    "UndoRefused",
    "ValidationReport",
    "Workbook",
    "WorkbookChanged",
    "WorkbookLocked",
    "WorkbookUnreadable",
    "WriteRefused",
    "__version__",
    "create_workbook",
    "load_config",
    "open_workbook",
    "plan_tidy",
    "tidy",
    "validate",
]

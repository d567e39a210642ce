"""The curated public surface: what `import sheetcrm` offers, each with a docstring."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT

import sheetcrm

EXPECTED = {
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
    "copy_tables",
}


def test_exported_names() -> None:
    assert set(sheetcrm.__all__) == EXPECTED
    for name in sheetcrm.__all__:
        member = getattr(sheetcrm, name)
        if name != "__version__":
            assert member.__doc__, f"sheetcrm.{name} has no docstring"
            assert getattr(member, "__module__", "").startswith("sheetcrm"), name


def test_jobs_are_the_library_functions_and_load_when_used() -> None:
    from sheetcrm.jobs import apply_schema, exporter, fix, importer

    assert sheetcrm.fix is fix.fix and sheetcrm.plan_fix is fix.plan_fix
    assert sheetcrm.import_rows is importer.import_rows and sheetcrm.plan_import is importer.plan_import
    assert sheetcrm.export_table is exporter.export_table
    assert sheetcrm.apply_schema is apply_schema.apply_schema
    assert sheetcrm.plan_apply_schema is apply_schema.plan_apply_schema
    assert set(sheetcrm.__all__) <= set(dir(sheetcrm))
    # a fresh interpreter: `import sheetcrm` (every CLI start) does not load phonenumbers
    done = subprocess.run(
        [sys.executable, "-c", "import sys, sheetcrm; print('phonenumbers' in sys.modules, callable(sheetcrm.fix))"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
        check=True,
    )
    assert done.stdout.split() == ["False", "True"]


def test_error_exit_codes() -> None:
    assert sheetcrm.ConfigError("x").exit_code == 2
    assert sheetcrm.WorkbookUnreadable("f.xlsx", "bad").exit_code == 2
    for refusal in (sheetcrm.WorkbookLocked, sheetcrm.WorkbookChanged, sheetcrm.UndoRefused):
        assert refusal("x").exit_code == 3
    assert sheetcrm.ContentWouldBeLost("f.xlsx", ["sparklines"]).exit_code == 3
    assert "hint:" in str(sheetcrm.ContentWouldBeLost("f.xlsx", ["sparklines"]))


def test_validate_is_the_function() -> None:
    import sheetcrm.validate.findings  # importing a submodule must not rebind sheetcrm.validate

    assert callable(sheetcrm.validate) and sheetcrm.validate.__name__ == "validate"

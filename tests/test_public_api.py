"""The curated public surface: what `import sheetcrm` offers, each with a docstring."""

from __future__ import annotations

import sheetcrm

EXPECTED = {
    "ApplyResult",
    "CellConflict",
    "ChangeSet",
    "Config",
    "ConfigError",
    "ContentWouldBeLost",
    "HeaderError",
    "InputError",
    "InvalidChange",
    "MemoryBackend",
    "RunRecord",
    "SheetNotFound",
    "SheetcrmError",
    "Table",
    "UndoRefused",
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
}


def test_exported_names() -> None:
    assert set(sheetcrm.__all__) == EXPECTED
    for name in sheetcrm.__all__:
        member = getattr(sheetcrm, name)
        if name != "__version__":
            assert member.__doc__, f"sheetcrm.{name} has no docstring"
            assert getattr(member, "__module__", "").startswith("sheetcrm"), name


def test_error_exit_codes() -> None:
    assert sheetcrm.ConfigError("x").exit_code == 2
    assert sheetcrm.WorkbookUnreadable("f.xlsx", "bad").exit_code == 2
    for refusal in (sheetcrm.WorkbookLocked, sheetcrm.WorkbookChanged, sheetcrm.UndoRefused):
        assert refusal("x").exit_code == 3
    assert sheetcrm.ContentWouldBeLost("f.xlsx", ["sparklines"]).exit_code == 3
    assert "hint:" in str(sheetcrm.ContentWouldBeLost("f.xlsx", ["sparklines"]))

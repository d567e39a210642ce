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


def test_validate_is_the_function() -> None:
    import sheetcrm.validate.findings  # importing a submodule must not rebind sheetcrm.validate

    assert callable(sheetcrm.validate) and sheetcrm.validate.__name__ == "validate"

"""Errors sheetcrm raises, each naming where the problem is and how to fix it.

The hierarchy::

    SheetcrmError                  base; ``exit_code`` is what the CLI exits with
    ├── ConfigError                sheetcrm.toml is wrong (exit 2)
    ├── InputError                 the input cannot be used as it is (exit 2)
    │   ├── WorkbookUnreadable     not a readable workbook: corrupt, renamed, a bomb, too large
    │   ├── SheetNotFound          a sheet the job needs is missing
    │   ├── HeaderError            no header row, or a duplicated header
    │   └── InvalidChange          a ChangeSet that cannot be applied as built
    └── WriteRefused               sheetcrm refused to write, the file is untouched (exit 3)
        ├── WorkbookLocked         open in Excel/LibreOffice, or another sheetcrm run is writing
        ├── WorkbookChanged        the file changed on disk since it was read
        ├── CellConflict           cells no longer hold the value seen at read time
        ├── ContentWouldBeLost     the writer cannot keep some of the workbook's content
        └── UndoRefused            cells a run changed have been edited since

Every error has a one-line ``message`` and, where there is one, a ``hint`` telling
the user what to do. ``str(error)`` joins both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class SheetcrmError(Exception):
    """Base of every error sheetcrm raises on purpose."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class ConfigError(SheetcrmError):
    """The config file, or a config value, is wrong."""


class InputError(SheetcrmError):
    """The input cannot be used as it is."""


class WorkbookUnreadable(InputError):
    """A file is not a workbook sheetcrm can read, for the reason given."""

    def __init__(self, path: object, reason: str, *, hint: str | None = None) -> None:
        super().__init__(f"{path}: cannot read workbook: {reason}", hint=hint)
        self.path = str(path)
        self.reason = reason


class SheetNotFound(InputError):
    """A sheet the job needs is not in the workbook."""

    def __init__(self, source: object, sheet: str, available: Sequence[str]) -> None:
        names = ", ".join(repr(name) for name in available) or "none"
        super().__init__(
            f"{source}: no sheet named {sheet!r} (sheets: {names})",
            hint="rename the sheet, or point the config at the right one ([tables.*] sheet = ...)",
        )
        self.sheet = sheet


class HeaderError(InputError):
    """The header row is missing or holds duplicates."""


class InvalidChange(InputError):
    """A ChangeSet that cannot be applied as it was built."""


class WriteRefused(SheetcrmError):
    """sheetcrm refused to write; the workbook was left exactly as it was."""

    exit_code = 3


class WorkbookLocked(WriteRefused):
    """The workbook is open in a spreadsheet program, or another run is writing it."""


class WorkbookChanged(WriteRefused):
    """The file changed on disk after sheetcrm read it."""


class CellConflict(WriteRefused):
    """Cells to be written no longer hold the value sheetcrm saw when it read them."""

    def __init__(self, source: object, cells: Sequence[str], *, hint: str | None = None) -> None:
        shown = ", ".join(cells[:10]) + (f" and {len(cells) - 10} more" if len(cells) > 10 else "")
        super().__init__(
            f"{source}: {len(cells)} cell(s) changed since they were read: {shown}",
            hint=hint or "someone edited the sheet meanwhile; run the command again to work on fresh data",
        )
        self.cells = list(cells)


class ContentWouldBeLost(WriteRefused):
    """The writer cannot keep some of the workbook's content, so it refuses to save."""

    def __init__(self, source: object, items: Sequence[str]) -> None:
        super().__init__(
            f"{source}: saving would lose content the writer cannot keep: " + "; ".join(items),
            hint="write the result to a new file instead (--out NEW.xlsx), and check it before replacing yours",
        )
        self.items = list(items)


class PartlyWritten(SheetcrmError):
    """A write made of several calls (a Google Sheet's values, then its formatting) stopped half-way.

    ``written`` is what certainly landed, resolved (a :class:`~sheetcrm.sync.backend.ApplyOutcome`),
    which the Workbook logs as a run so that it can be undone; ``cause`` is the failure.
    """

    exit_code = 3

    def __init__(self, message: str, *, written: Any, cause: SheetcrmError, hint: str | None = None) -> None:
        super().__init__(message, hint=hint or cause.hint)
        self.written = written
        self.cause = cause


class UndoRefused(WriteRefused):
    """A run cannot be undone because what it wrote has been changed since."""

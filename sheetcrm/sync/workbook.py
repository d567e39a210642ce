"""The Workbook facade: index into sheets as Tables, apply ChangeSets safely, undo runs."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock, Timeout

from sheetcrm.errors import (
    CellConflict,
    InputError,
    PartlyWritten,
    UndoRefused,
    WorkbookLocked,
    WorkbookUnreadable,
)
from sheetcrm.sync.backend import Backend
from sheetcrm.sync.changeset import ChangeSet
from sheetcrm.sync.runlog import RunLog, RunRecord, new_run_id
from sheetcrm.sync.table import Table, build_table
from sheetcrm.util import collector_paused

if TYPE_CHECKING:
    from sheetcrm.config import GoogleConfig

log_events = logging.getLogger("sheetcrm.write")


@dataclass(frozen=True)
class ApplyResult:
    """What ``Workbook.apply`` did (or, for a dry run, would do)."""

    changes: ChangeSet
    dry_run: bool
    run_id: str | None = None
    backup: Path | None = None
    written_to: str | None = None

    @property
    def applied(self) -> bool:
        """Whether anything was written (to the workbook, or to the ``out`` file)."""
        return self.written_to is not None

    def preview(self, *, limit: int | None = 50) -> str:
        return self.changes.preview(limit=limit)


class Workbook:
    """A workbook opened through a backend.

    >>> workbook = sheetcrm.open_workbook("crm.xlsx")
    >>> customers = workbook["Customers"]          # a Table of text
    >>> changes = ChangeSet("fix a phone")
    >>> changes.edit("Customers", 14, "E", old="138 0013 8000", new="+8613800138000")
    >>> workbook.apply(changes, dry_run=True).preview()
    """

    def __init__(
        self,
        backend: Backend,
        *,
        header_rows: Mapping[str, int] | None = None,
        lock_timeout: float = 0.0,
        read_together: Sequence[str] = (),
    ) -> None:
        self.backend = backend
        self.header_rows = dict(header_rows or {})
        self.lock_timeout = lock_timeout
        self.read_together = tuple(read_together)
        self._tables: dict[str, Table] = {}

    def __repr__(self) -> str:
        return f"Workbook({self.source!r})"

    @property
    def source(self) -> str:
        """The path or URL of the workbook."""
        return self.backend.source

    @property
    def sheet_names(self) -> list[str]:
        """Sheet names, in workbook order."""
        return self.backend.sheet_names()

    def __contains__(self, sheet: object) -> bool:
        return sheet in self.sheet_names

    def __getitem__(self, sheet: str) -> Table:
        return self.read(sheet)[sheet]

    def read(self, *sheets: str) -> dict[str, Table]:
        """Read several sheets in one batch (cached until the next apply).

        When ``read_together`` names sheets (the CRM tables of a Google Sheet, where each read
        is an API call), the first read of one fetches all of them in the same batch.
        """
        missing = [s for s in sheets if s not in self._tables]
        if missing and self.read_together and any(s in self.read_together for s in missing):
            present = set(self.sheet_names)
            missing += [s for s in self.read_together if s in present and s not in self._tables and s not in missing]
        if missing:
            with collector_paused():
                raw = self.backend.read_sheets(missing)
                for name in missing:
                    table = build_table(raw.pop(name), header_row=self.header_rows.get(name), source=self.source)
                    self._tables[name] = table
        return {name: self._tables[name] for name in sheets}

    # -- writing ----------------------------------------------------------------------------

    @property
    def run_log(self) -> RunLog | None:
        """The log of applied runs, for backends that keep state."""
        state = self.backend.state_dir
        return RunLog(state) if state is not None else None

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the per-workbook writer lock (another sheetcrm writer waits or fails cleanly)."""
        state = self.backend.state_dir
        if state is None:
            yield
            return
        state.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(state / f"{_lock_name(self.source)}.lock"), timeout=self.lock_timeout)
        try:
            lock.acquire()
        except Timeout:
            raise WorkbookLocked(
                f"{self.source}: another sheetcrm run is writing this workbook",
                hint="wait for it to finish, or raise safety.lock_timeout to wait for it",
            ) from None
        try:
            yield
        finally:
            lock.release()

    def apply(
        self,
        changes: ChangeSet,
        *,
        dry_run: bool = False,
        command: str = "",
        out: str | Path | None = None,
        run_id: str | None = None,
        _undoes: str | None = None,
    ) -> ApplyResult:
        """Apply a ChangeSet as one unit: backed up, atomic, logged for undo.

        ``dry_run`` only checks and returns the preview. ``out`` writes the result to a
        new file and leaves this one untouched. ``run_id`` names the run (from
        :func:`~sheetcrm.sync.runlog.new_run_id`) when the changes must carry it, as dedupe's
        archive rows do; by default one is made. Raises a ``WriteRefused`` error, with the
        workbook unchanged, when it is open elsewhere, changed since read, or would lose
        content.
        """
        changes.check()
        if dry_run or not changes:
            return ApplyResult(changes, dry_run=dry_run)
        target = Path(out) if out is not None else None
        with self.lock():
            partly: PartlyWritten | None = None
            with collector_paused():  # openpyxl makes an object per cell
                try:
                    outcome = self.backend.apply(changes, out=target)
                except PartlyWritten as stopped:
                    partly, outcome = stopped, stopped.written
            self._tables.clear()
            # a copy written elsewhere is not a run of this workbook: nothing to undo here
            run_id = (run_id or new_run_id()) if target is None else None
            log = self.run_log
            if log is not None and run_id is not None:
                log.append(
                    RunRecord(
                        run_id=run_id,
                        time=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                        command=command or changes.description,
                        source=self.source,
                        sheets=outcome.changes.sheets,
                        counts=outcome.changes.counts(),
                        changes=outcome.changes.to_dict(),
                        backup=str(outcome.backup) if outcome.backup else None,
                        undoes=_undoes,
                    )
                )
            if partly is not None:
                undo = f"sheetcrm undo {run_id}" if log is not None and run_id is not None else "nothing to undo"
                partly.message += f" (what was written is run {run_id}: {undo})"
                raise partly
        # counts and sheet names only: values are customer data and stay out of logs
        log_events.info(
            "applied run %s to %s: %s",
            run_id,
            Path(self.source).name,
            ", ".join(f"{n} {kind}" for kind, n in outcome.changes.counts().items()),
        )
        return ApplyResult(outcome.changes, False, run_id, outcome.backup, outcome.written_to or self.source)

    # -- history and undo -------------------------------------------------------------------

    def history(self) -> list[RunRecord]:
        """Applied runs, oldest first."""
        log = self.run_log
        return log.records() if log is not None else []

    def undo(self, run_id: str, *, dry_run: bool = False) -> ApplyResult:
        """Restore exactly what run ``run_id`` changed.

        Refuses (``UndoRefused``, naming the cells) where those cells were edited since.
        """
        log = self.run_log
        if log is None:
            raise InputError(f"{self.source}: this workbook keeps no run log, so there is nothing to undo")
        record = log.get(run_id)
        undone_by = log.undone_by(record.run_id)
        if undone_by:
            raise UndoRefused(f"run {record.run_id} was already undone by run {undone_by}")
        if record.source != self.source:
            raise UndoRefused(f"run {record.run_id} changed {record.source}, not {self.source}")
        inverse = record.changeset.invert()
        try:
            return self.apply(inverse, dry_run=dry_run, command=f"undo {record.run_id}", _undoes=record.run_id)
        except CellConflict as conflict:
            raise UndoRefused(
                f"{self.source}: cannot undo run {record.run_id}: {len(conflict.cells)} cell(s) it wrote were "
                f"edited since: {', '.join(conflict.cells[:10])}",
                hint="put those cells back as the run left them, or fix them by hand",
            ) from None


def _lock_name(source: str) -> str:
    return Path(source).name or "workbook"


def open_workbook(
    source: str | Path,
    *,
    header_rows: Mapping[str, int] | None = None,
    backups: int = 10,
    lock_timeout: float = 0.0,
    google: GoogleConfig | None = None,
    config_dir: Path | None = None,
    read_together: Sequence[str] = (),
) -> Workbook:
    """Open a workbook: a path to ``.xlsx``/``.xlsm``/``.csv``, or a Google Sheet.

    A Google Sheet is ``gsheets://KEY`` or its ``https://docs.google.com/spreadsheets/d/KEY/...``
    URL; ``google`` says where the service-account key is (else ``GOOGLE_APPLICATION_CREDENTIALS``),
    and paths in it are relative to ``config_dir``, beside which its run log is kept (in
    ``.sheetcrm/google/KEY``; in the working folder without a config). The sheets ``read_together`` (the CRM tables)
    are read in one API call when a job reads the first of them.

    >>> workbook = open_workbook("crm.xlsx")
    >>> workbook.sheet_names
    ['Customers', 'Orders', 'Interactions', 'Opportunities']
    """
    from sheetcrm.sync.csvbackend import CsvBackend
    from sheetcrm.sync.xlsx import XlsxBackend

    text = str(source)
    if text.startswith(("gsheets://", "https://docs.google.com/spreadsheets/")):
        from sheetcrm.sync.gsheets.backend import spreadsheet_key
        from sheetcrm.sync.gsheets.connect import open_google_backend

        if spreadsheet_key(text) is None:
            raise InputError(
                f"{text}: not the address of a spreadsheet",
                hint="use gsheets://KEY or the sheet's URL, https://docs.google.com/spreadsheets/d/KEY/edit",
            )
        backend_ = open_google_backend(text, google=google, config_dir=config_dir, state_root=config_dir)
        return Workbook(backend_, header_rows=header_rows, lock_timeout=lock_timeout, read_together=read_together)
    path = Path(source)
    suffix = path.suffix.lower()
    backend: Backend
    if suffix in (".xlsx", ".xlsm"):
        backend = XlsxBackend(path, backups=backups)
    elif suffix == ".csv":
        backend = CsvBackend(path, backups=backups)
    elif suffix in (".xls", ".ods", ".numbers"):
        raise WorkbookUnreadable(
            path, f"{suffix} files are not supported", hint="open it in a spreadsheet program and save it as .xlsx"
        )
    else:
        raise WorkbookUnreadable(
            path, f"unknown file type {suffix or '(none)'!r}", hint="use an .xlsx, .xlsm or .csv file"
        )
    return Workbook(backend, header_rows=header_rows, lock_timeout=lock_timeout)

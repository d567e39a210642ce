"""The safe-write path for files: open-elsewhere checks, backups, atomic verified replace.

Measured (../shared/RELIABILITY.md row 7): ``kill -9`` during a plain save over the file
left 21 of 25 files corrupt; temp file + fsync + verify + ``os.replace`` + directory
fsync left none. Every file backend writes through :func:`replace_atomically`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sheetcrm.errors import InputError, WorkbookChanged, WorkbookLocked

STATE_DIR = ".sheetcrm"
_TEMP_MARK = ".sheetcrm-tmp-"


@dataclass(frozen=True)
class FileSnapshot:
    """Enough about a file to tell whether it changed: size, mtime and content hash."""

    size: int
    mtime_ns: int
    sha256: str


def snapshot(path: Path) -> FileSnapshot:
    """Take a snapshot of a file as it is now."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    stat = path.stat()
    return FileSnapshot(stat.st_size, stat.st_mtime_ns, digest.hexdigest())


def state_dir_for(path: Path) -> Path:
    """``.sheetcrm/`` beside the workbook."""
    return path.resolve().parent / STATE_DIR


def lock_files(path: Path) -> list[Path]:
    """Lock files spreadsheet programs leave while the file is open, if present.

    Excel writes ``~$NAME`` (Office drops the first two characters of long names:
    ``~$ok1.xlsx`` for ``Book1.xlsx`` in some versions), LibreOffice ``.~lock.NAME#``.
    """
    folder, name = path.parent, path.name
    candidates = [folder / f"~${name}", folder / f".~lock.{name}#"]
    if len(name) > 2:
        candidates.append(folder / f"~${name[2:]}")
    return [candidate for candidate in candidates if candidate.exists()]


def check_not_open(path: Path) -> None:
    """Refuse while the file is open in Excel or LibreOffice."""
    found = lock_files(path)
    if found:
        raise WorkbookLocked(
            f"{path}: the workbook is open in a spreadsheet program ({found[0].name} exists)",
            hint="close it there and run again; if nothing has it open, delete the lock file",
        )


def check_unchanged(path: Path, seen: FileSnapshot) -> None:
    """Refuse if the file changed since ``seen`` was taken."""
    if not path.exists():
        raise WorkbookChanged(f"{path}: the workbook was moved or deleted since it was read")
    stat = path.stat()
    if stat.st_size == seen.size and stat.st_mtime_ns == seen.mtime_ns:
        return
    if snapshot(path).sha256 != seen.sha256:
        raise WorkbookChanged(
            f"{path}: the workbook changed on disk since sheetcrm read it",
            hint="someone saved it meanwhile; run the command again to work on the current version",
        )


def temp_path_for(target: Path) -> Path:
    """A temp file in the target's folder, keeping its suffix (openpyxl needs ``.xlsx``)."""
    return target.parent / f".{target.stem}{_TEMP_MARK}{secrets.token_hex(4)}{target.suffix}"


def sweep_temp_files(target: Path) -> list[Path]:
    """Delete temp files an interrupted run left beside ``target``; call only under the writer lock."""
    swept = []
    for leftover in target.parent.glob(f".{target.stem}{_TEMP_MARK}*{target.suffix}"):
        leftover.unlink(missing_ok=True)
        swept.append(leftover)
    return swept


def take_backup(path: Path, *, keep: int, tag: str) -> Path | None:
    """Copy the workbook into ``.sheetcrm/backups/`` and keep only the newest ``keep`` copies."""
    if keep <= 0 or not path.exists():
        return None
    folder = state_dir_for(path) / "backups"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    backup = folder / f"{path.stem}.{stamp}-{tag}{path.suffix}"
    shutil.copy2(path, backup)
    _fsync_file(backup)
    backups = sorted(folder.glob(f"{path.stem}.*{path.suffix}"), key=lambda p: p.name)
    for old in backups[:-keep]:
        old.unlink(missing_ok=True)
    return backup


def replace_atomically(
    target: Path,
    write: Callable[[Path], None],
    *,
    verify: Callable[[Path], None] | None = None,
    before_replace: Callable[[], None] | None = None,
) -> None:
    """Write via ``write(temp)``, fsync, ``verify(temp)``, then ``os.replace`` over ``target``.

    ``before_replace`` runs last, just before the replace (the final has-it-changed check).
    On any failure the temp file is removed and ``target`` is untouched.
    """
    temp = temp_path_for(target)
    try:
        write(temp)
        _fsync_file(temp)
        if verify is not None:
            verify(temp)
        if before_replace is not None:
            before_replace()
        if target.exists():
            shutil.copymode(target, temp)
        temp.replace(target)  # os.replace: atomic on POSIX and Windows
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)


def _fsync_file(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _fsync_dir(folder: Path) -> None:
    if os.name == "nt":  # directories cannot be opened for fsync on Windows
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def append_durably(path: Path, text: str) -> None:
    """Append ``text`` to ``path`` (created readable by its owner only) and fsync it before returning.

    One ``write`` call, so a crash leaves at most a torn last line, which
    :func:`json_lines` skips.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(descriptor, text.encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def json_lines(path: Path, *, what: str, hint: str | None = None) -> Iterator[dict[str, Any]]:
    """The objects of a JSON-lines file written by :func:`append_durably` (none when it is missing).

    A last line without its newline was torn by a crash mid-append and is skipped; any other
    unreadable line is an InputError naming the file, the line and ``what`` it should be.
    """
    if not path.exists():
        return
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except ValueError as error:
                if not line.endswith("\n"):
                    continue
                raise InputError(f"{path}:{number}: unreadable {what} ({error})", hint=hint) from None
            if not isinstance(data, dict):
                raise InputError(f"{path}:{number}: unreadable {what} (not an object)", hint=hint)
            yield data

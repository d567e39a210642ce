"""LibreOffice as a reference spreadsheet program for tests: delete rows, re-save, recalculate, in one soffice run.

    jobs = [delete_rows(src, "Data", [5, 9], tmp / "lo.xlsx"), recalculated_values(tmp / "ours.xlsx")]
    deleted, ours = run_libreoffice(jobs)
    ours.values["Data"]["C7"]        # 42.0, "text", True, CellError(524, "#REF!"); absent = empty

Every call to :func:`run_libreoffice` starts one headless soffice with a throw-away user profile, listening on a
named pipe, then runs ``lo_worker.py`` under a Python that has ``uno`` (Debian's ``python3-uno`` gives the
system ``/usr/bin/python3`` one; the project's Python need not have it). The worker connects, runs the jobs in
order and asks soffice to terminate. Whatever happens, soffice's whole process group is killed before this
returns, so no soffice outlives a test. soffice takes a few seconds to start, so give it many jobs at once.

LibreOffice loads .xlsx without recalculating (``OOXMLRecalcMode`` = never, set explicitly by the worker), so
values come from ``calculateAll()`` on the loaded document: cached results in the file, right or wrong, never
reach the caller.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, TypeAlias

HERE = Path(__file__).resolve().parent
WORKER = HERE / "lo_worker.py"
UNO_PYTHONS = ("/usr/bin/python3", "/usr/lib/libreoffice/program/python", sys.executable)


class LibreOfficeError(RuntimeError):
    """soffice could not be started or reached, or stopped before finishing the jobs."""


@dataclass(frozen=True)
class CellError:
    """An error value; equal by LibreOffice's error code (524 is #REF!), whatever the text says."""

    code: int
    text: str = field(compare=False)

    def __repr__(self) -> str:
        return f"CellError({self.code}, {self.text!r})"


CellValue: TypeAlias = float | str | bool | CellError


@dataclass(frozen=True)
class DeleteRowsJob:
    """Open ``src``, delete ``rows`` (1-based, any order, gaps allowed) of ``sheet`` and save as .xlsx at ``out``."""

    src: Path
    sheet: str
    rows: tuple[int, ...]
    out: Path
    kind: str = "delete_rows"


@dataclass(frozen=True)
class ResaveJob:
    """Open ``src`` and save it as .xlsx at ``out``, as a person who opens and saves a file in Calc does."""

    src: Path
    out: Path
    kind: str = "resave"


@dataclass(frozen=True)
class ValuesJob:
    """Open ``path``, recalculate everything and read every sheet's cells, charts and defined names."""

    path: Path
    kind: str = "values"


Job: TypeAlias = DeleteRowsJob | ResaveJob | ValuesJob


def delete_rows(src: Path, sheet: str, rows: list[int] | tuple[int, ...], out: Path) -> DeleteRowsJob:
    return DeleteRowsJob(Path(src), sheet, tuple(rows), Path(out))


def resave(src: Path, out: Path) -> ResaveJob:
    return ResaveJob(Path(src), Path(out))


def recalculated_values(path: Path) -> ValuesJob:
    return ValuesJob(Path(path))


@dataclass
class Result:
    """What one job gave. ``error`` is set when LibreOffice could not do it (the other jobs still ran).

    For :class:`ValuesJob`: ``values[sheet][address]`` for every non-empty cell (a formula that gives
    ``""`` counts as empty), ``charts[sheet][chart]`` the ranges each chart's series read, in LibreOffice's
    notation (``$'Bob''s Data'.$C$2:$C$21``), and ``names`` every defined name's content (sheet-scoped ones
    as ``"Sheet!name"``).
    """

    job: Job
    error: str | None = None
    seconds: float = 0.0
    values: dict[str, dict[str, CellValue]] = field(default_factory=dict)
    charts: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    def check(self) -> Result:
        """This result, or LibreOfficeError if the job failed."""
        if self.error is not None:
            raise LibreOfficeError(f"{self.job}: {self.error}")
        return self


def convert_to_xlsx(paths: list[Path], outdir: Path, *, profile: Path) -> subprocess.CompletedProcess[str]:
    """One ``soffice --convert-to xlsx`` run over ``paths`` (LibreOffice opens and saves each
    anew); a throw-away user profile at ``profile``. The caller checks the files in ``outdir``."""
    return subprocess.run(
        [
            soffice_path() or "soffice",
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(outdir),
            *(str(path) for path in paths),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def soffice_path() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


@cache
def uno_python() -> str | None:
    """A Python interpreter that can ``import uno`` (normally the system one, with python3-uno)."""
    for candidate in UNO_PYTHONS:
        if candidate and Path(candidate).is_file():
            probe = subprocess.run([candidate, "-c", "import uno"], capture_output=True, check=False, timeout=60)
            if probe.returncode == 0:
                return candidate
    return None


def libreoffice_available() -> bool:
    """soffice is installed and some Python can drive it over UNO."""
    return soffice_path() is not None and uno_python() is not None


def unavailable_reason() -> str:
    if soffice_path() is None:
        return "LibreOffice is not installed (apt-get install libreoffice-calc-nogui)"
    return "no Python can import uno (apt-get install python3-uno)"


def run_libreoffice(jobs: list[Job], *, timeout: float = 600.0, connect_timeout: float = 90.0) -> list[Result]:
    """Run ``jobs`` in one soffice, in order; one Result per job, in the same order.

    Raises LibreOfficeError if soffice cannot be started or reached, or if it stops (crash, ``timeout``
    seconds in all) before every job has a result. A job LibreOffice refuses (say, a file it cannot open)
    only sets that Result's ``error``.
    """
    exe, python = soffice_path(), uno_python()
    if exe is None or python is None:
        raise LibreOfficeError(unavailable_reason())
    if not jobs:
        return []
    with tempfile.TemporaryDirectory(prefix="sheetcrm-lo-") as tmp:
        work = Path(tmp)
        pipe = f"sheetcrm_lo_{os.getpid()}_{uuid.uuid4().hex[:12]}"
        jobs_file, results_file = work / "jobs.json", work / "results.jsonl"
        jobs_file.write_text(json.dumps([_job_dict(job) for job in jobs]), encoding="utf-8")
        command = [
            exe,
            f"-env:UserInstallation={(work / 'profile').as_uri()}",
            "--headless",
            "--invisible",
            "--nologo",
            "--norestore",
            "--nodefault",
            "--nolockcheck",
            f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext",
        ]
        with (work / "soffice.log").open("wb") as log:
            # its own session: soffice is a script that starts oosplash, which starts soffice.bin;
            # killing the group ends all of them
            office = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        worker: subprocess.CompletedProcess[str] | None = None
        timed_out = False
        try:
            try:
                worker = subprocess.run(
                    [python, str(WORKER), pipe, str(jobs_file), str(results_file), str(connect_timeout)],
                    capture_output=True,
                    text=True,
                    timeout=timeout,
                    check=False,
                    env=_worker_env(python),
                )
            except subprocess.TimeoutExpired:
                timed_out = True
        finally:
            # the worker asks soffice to terminate when it is done; otherwise nobody will
            _stop(office, graceful=worker is not None and worker.returncode == 0)
        records = _records(results_file)
        soffice_log = (work / "soffice.log").read_text(encoding="utf-8", errors="replace")
    if len(records) < len(jobs):
        if timed_out:
            why = f"timed out after {timeout:.0f}s"
        elif worker is not None:
            why = f"the UNO worker exited with {worker.returncode}:\n{worker.stderr[-3000:]}"
        else:
            why = "the UNO worker did not run"
        raise LibreOfficeError(
            f"LibreOffice finished {len(records)} of {len(jobs)} jobs: {why}\nsoffice said: {soffice_log[-2000:]}"
        )
    return [_result(job, records[index]) for index, job in enumerate(jobs)]


def _worker_env(python: str) -> dict[str, str] | None:
    if python == sys.executable:
        return None
    # the project's virtualenv or pyenv settings mean nothing to the system Python
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}


def _job_dict(job: Job) -> dict[str, Any]:
    if isinstance(job, DeleteRowsJob):
        return {"kind": job.kind, "src": str(job.src), "sheet": job.sheet, "rows": list(job.rows), "out": str(job.out)}
    if isinstance(job, ResaveJob):
        return {"kind": job.kind, "src": str(job.src), "out": str(job.out)}
    return {"kind": job.kind, "path": str(job.path)}


def _records(path: Path) -> dict[int, dict[str, Any]]:
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(json.JSONDecodeError):  # a line cut short by a crash
            record = json.loads(line)
            out[record["index"]] = record
    return out


def _value(encoded: list[Any]) -> CellValue:
    tag = encoded[0]
    if tag == "n":
        return float(encoded[1])
    if tag == "b":
        return bool(encoded[1])
    if tag == "e":
        return CellError(int(encoded[1]), str(encoded[2]))
    return str(encoded[1])


def _result(job: Job, record: dict[str, Any]) -> Result:
    if not record["ok"]:
        return Result(job, error=f"{record['error']}\n{record.get('traceback', '')}", seconds=record["seconds"])
    values = {
        sheet: {address: _value(encoded) for address, encoded in cells.items()}
        for sheet, cells in record.get("values", {}).items()
    }
    return Result(job, None, record["seconds"], values, record.get("charts", {}), record.get("names", {}))


def _stop(office: subprocess.Popen[bytes], *, graceful: bool) -> None:
    """Let soffice exit on its own if the worker asked it to, else (or if it does not) end its process group."""
    try:
        office.wait(timeout=30 if graceful else 0.1)
    except subprocess.TimeoutExpired:
        _kill_group(office.pid, signal.SIGTERM)
        try:
            office.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _kill_group(office.pid, signal.SIGKILL)
            office.wait()
    # soffice.bin may outlive the wrapper script that was our child: end anything left in the group
    deadline = time.monotonic() + 10
    while _group_alive(office.pid) and time.monotonic() < deadline:
        _kill_group(office.pid, signal.SIGTERM if time.monotonic() < deadline - 5 else signal.SIGKILL)
        time.sleep(0.2)


def _kill_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

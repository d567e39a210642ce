"""The examples run as a user runs them, so they never rot."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT


def run_example(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``examples/NAME`` as a user runs it, with the checkout importable."""
    return subprocess.run(
        [sys.executable, str(ROOT / "examples" / name), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
        check=False,
    )


def test_quickstart(tmp_path: Path) -> None:
    done = run_example("quickstart.py", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "500 customers" in done.stdout
    assert "fill" in done.stdout and "VIP: call monthly" in done.stdout
    assert "history: ['highlight VIPs', 'undo " in done.stdout


def test_edit_in_place_changes_only_the_edited_sheet_and_styles(tmp_path: Path) -> None:
    done = run_example("edit_in_place.py")
    assert done.returncode == 0, done.stderr
    assert "'append': 1" in done.stdout
    assert "changed: xl/styles.xml, xl/worksheets/sheet1.xml\n" in done.stdout


def test_delete_rows_moves_formulas_and_notes_and_undo_moves_them_back() -> None:
    done = run_example("delete_rows.py")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "before: Summary!B1 =COUNTA(Customers!A2:A11), B2 =Customers!B8; note on ['B8']",
        "after : Summary!B1 =COUNTA(Customers!A2:A9), B2 =Customers!B6; note on ['B6']",
        "undone: Summary!B1 =COUNTA(Customers!A2:A11), B2 =Customers!B8; note on ['B8']",
    ]


def test_google_sheets_pushes_runs_a_job_and_syncs_an_edit_back(tmp_path: Path) -> None:
    done = run_example("google_sheets.py", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "Customers: created with 200 rows" in done.stdout
    # a fixed few: the sample's planted text dates (2024/3/5) take one more batchGet to tell from real dates
    calls = next(line for line in done.stdout.splitlines() if line.startswith("API calls: "))
    assert calls.startswith("API calls: 7 (") and "2 values.batchGet" in calls and "1 values.batchUpdate" in calls
    assert "B→A 1 cells" in done.stdout and "the file now says: Renamed in Google Ltd" in done.stdout

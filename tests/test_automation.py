"""sheetcrm run: jobs of steps on real workbooks, run as cron runs them (a child process each)."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest
from conftest import ROOT, run_cli
from filelock import FileLock

import sheetcrm
from sheetcrm.automation import job_history, parse_schedule, run_job
from sheetcrm.config import load_config
from sheetcrm.errors import ConfigError
from sheetcrm.sample import write_sample_workbook

TODAY = dt.date(2026, 11, 22)
NIGHTLY = """workbook = "crm.xlsx"

[jobs.nightly]
steps = ["fix", "rollups", "segment", "stale", "pipeline", "remind", "report"]
schedule = "every day at 02:00"
log_sheet = true

[jobs.nightly.options.remind]
channels = ["outbox", "sheet"]

[jobs.checks]
steps = ["validate"]

[jobs.broken]
steps = ["rollups", "remind", "segment"]

[jobs.broken.options.remind]
channels = ["smtp"]   # no [smtp] host: the step fails, segment never runs
"""


def folder_with_sample(tmp_path: Path, customers: int = 200) -> Path:
    write_sample_workbook(tmp_path / "crm.xlsx", customers=customers, seed=7, today=TODAY)
    (tmp_path / "sheetcrm.toml").write_text(NIGHTLY, encoding="utf-8")
    return tmp_path


def test_a_job_runs_its_steps_in_order_and_records_the_run(tmp_path: Path) -> None:
    folder = folder_with_sample(tmp_path)
    done = run_cli("run", "nightly", "--today", "2026-11-22", cwd=folder)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert [line.split()[1] for line in lines] == [
        "step=fix", "step=rollups", "step=segment", "step=stale", "step=pipeline", "step=remind", "step=report",
    ]  # fmt: skip
    assert all("status=ok" in line for line in lines)
    assert "job nightly: ok" in done.stdout

    workbook = sheetcrm.open_workbook(folder / "crm.xlsx")
    assert {"order_count", "lifecycle", "stale", "pipeline"} <= set(workbook["Customers"].columns) | set(
        workbook["Orders"].columns
    )
    assert {"_reminders", "_reports", "_sheetcrm_log"} <= set(workbook.sheet_names)
    log_sheet = openpyxl.load_workbook(folder / "crm.xlsx")["_sheetcrm_log"]
    assert log_sheet["B2"].value == "nightly" and log_sheet["C2"].value == "ok"
    (record,) = job_history(folder / ".sheetcrm")
    assert [s["step"] for s in record["steps"]] == [
        "fix",
        "rollups",
        "segment",
        "stale",
        "pipeline",
        "remind",
        "report",
    ]
    assert record["outcome"] == "ok" and record["steps"][1]["counts"]["edit"] > 0
    commands = [r.command for r in workbook.history()]
    assert commands[:3] == ["fix", "rollups", "segment"]  # each step its own undoable run

    # no customer data in the log lines: counts and names of steps only
    names = [workbook["Customers"].value(row, "name") for row in workbook["Customers"].rows[:50]]
    assert not any(name and name in done.stderr for name in names)

    listed = run_cli("history", "--jobs", cwd=folder)
    assert listed.returncode == 0 and "nightly" in listed.stdout and "ok" in listed.stdout


def test_findings_exit_1_and_json_lines(tmp_path: Path) -> None:
    folder = folder_with_sample(tmp_path)
    done = run_cli("run", "checks", "--log-format", "json", cwd=folder)
    assert done.returncode == 1, done.stdout + done.stderr
    (line,) = [json.loads(text) for text in done.stderr.strip().splitlines()]
    assert line["job"] == "checks" and line["step"] == "validate" and line["status"] == "findings"
    assert line["counts"]["errors"] > 0


def test_a_failing_step_stops_the_run_and_says_so(tmp_path: Path) -> None:
    folder = folder_with_sample(tmp_path)
    done = run_cli("run", "broken", "--today", "2026-11-22", cwd=folder)
    assert done.returncode == 4, done.stdout + done.stderr
    assert "remind    failed" in done.stdout and "[smtp] host" in done.stdout
    assert "not run after the failure: segment" in done.stdout
    workbook = sheetcrm.open_workbook(folder / "crm.xlsx")
    assert "order_count" in workbook["Customers"].columns  # rollups, before the failure, stays applied
    assert "lifecycle" not in workbook["Customers"].columns
    (record,) = job_history(folder / ".sheetcrm")
    assert record["outcome"] == "failed" and record["skipped"] == ["segment"]


def test_a_write_refused_exits_3(tmp_path: Path) -> None:
    folder = folder_with_sample(tmp_path)
    (folder / "~$crm.xlsx").write_text("", encoding="utf-8")  # open in Excel
    done = run_cli("run", "nightly", "--today", "2026-11-22", cwd=folder)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "fix       refused" in done.stdout


def test_a_second_run_is_busy_or_waits(tmp_path: Path) -> None:
    folder = folder_with_sample(tmp_path, customers=60)
    lock = FileLock(str(folder / ".sheetcrm" / "crm.xlsx.run.lock"))
    (folder / ".sheetcrm").mkdir(exist_ok=True)
    with lock:  # another run holds the workbook
        busy = run_cli("run", "checks", cwd=folder)
        assert busy.returncode == 75, busy.stdout + busy.stderr
        assert "another sheetcrm run holds this workbook" in busy.stderr
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        waiting = subprocess.Popen(
            [sys.executable, "-m", "sheetcrm", "run", "checks", "--wait"], cwd=folder, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(1.5)
        assert waiting.poll() is None  # still waiting for the lock
    out, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 1, out + err  # it ran once the lock was free (validate finds errors)


def test_two_concurrent_runs_exactly_one_proceeds(tmp_path: Path) -> None:
    folder = folder_with_sample(tmp_path, customers=1500)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "sheetcrm", "run", "nightly", "--today", "2026-11-22"]
    runs = [
        subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    codes = sorted(run.wait(timeout=300) for run in runs)
    for run in runs:
        run.communicate()
    assert codes == [0, 75]
    assert len(job_history(folder / ".sheetcrm")) == 1


def test_kill_9_mid_run_leaves_the_workbook_whole_and_the_next_run_proceeds(tmp_path: Path) -> None:
    folder = folder_with_sample(tmp_path, customers=1500)
    before = {name: len(table) for name, table in sheetcrm.open_workbook(folder / "crm.xlsx").read("Customers").items()}
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-m", "sheetcrm", "run", "nightly", "--today", "2026-11-22"], cwd=folder, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and child.poll() is None:
        if len(sheetcrm.open_workbook(folder / "crm.xlsx").history()) >= 2:  # fix and rollups applied
            break
        time.sleep(0.05)
    assert child.poll() is None, "the run ended before it could be killed mid-run"
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL

    workbook = sheetcrm.open_workbook(folder / "crm.xlsx")  # readable, whole
    assert {name: len(table) for name, table in workbook.read("Customers").items()} == before
    openpyxl.load_workbook(folder / "crm.xlsx").close()
    again = run_cli("run", "nightly", "--today", "2026-11-22", cwd=folder)
    assert again.returncode == 0, again.stdout + again.stderr  # the lock died with the process


def test_an_unknown_job_is_a_config_error_naming_the_jobs(tmp_path: Path) -> None:
    folder = folder_with_sample(tmp_path, customers=20)
    settings = load_config(folder / "sheetcrm.toml")
    with pytest.raises(ConfigError, match=r"no job 'nightley' \(jobs: nightly, checks, broken\)"):
        run_job(sheetcrm.open_workbook(config=settings), "nightley", config=settings)


@pytest.mark.parametrize(
    ("text", "unit", "interval", "at"),
    [
        ("every day at 02:00", "days", 1, "02:00"),
        ("Every 15 minutes", "minutes", 15, None),
        ("every hour", "hours", 1, None),
        ("every 3 days at 7:05", "days", 3, "07:05"),
        ("every monday at 08:30", "monday", 1, "08:30"),
        ("every weekday at 06:00", "weekday", 1, "06:00"),
    ],
)
def test_schedules_are_read(text: str, unit: str, interval: int, at: str | None) -> None:
    when = parse_schedule(text)
    assert (when.unit, when.interval, when.at) == (unit, interval, at)


@pytest.mark.parametrize(
    "text", ["daily", "every tuesday", "every 2 mondays at 08:00", "every hour at 02:00", "every day at 25:00"]
)
def test_bad_schedules_are_refused_with_examples(text: str) -> None:
    with pytest.raises(ValueError, match="every day at 02:00"):
        parse_schedule(text)

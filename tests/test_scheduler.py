"""sheetcrm schedule: jobs fire at their times (a fake clock: time-machine), and the real process
stops on SIGTERM between steps and reloads its config on SIGHUP."""

from __future__ import annotations

import datetime as dt
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import zoneinfo
from pathlib import Path

import time_machine
from conftest import ROOT

import sheetcrm
from sheetcrm.automation.runner import job_history
from sheetcrm.automation.scheduler import JobScheduler
from sheetcrm.sample import write_sample_workbook

TODAY = dt.date(2026, 11, 22)
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
JOBS = """workbook = "crm.xlsx"
timezone = "Asia/Shanghai"

[jobs.nightly]
steps = ["tidy"]
schedule = "every day at 02:00"

[jobs.often]
steps = ["tidy"]
schedule = "every 15 minutes"

[jobs.by_hand]
steps = ["validate"]
"""


def folder_with(tmp_path: Path, config: str, customers: int = 30) -> Path:
    write_sample_workbook(tmp_path / "crm.xlsx", customers=customers, seed=7, today=TODAY)
    (tmp_path / "sheetcrm.toml").write_text(config, encoding="utf-8")
    return tmp_path


def test_jobs_fire_at_their_times_under_a_fake_clock(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, JOBS)
    with time_machine.travel(dt.datetime(2026, 11, 22, 1, 50, tzinfo=SHANGHAI), tick=False) as clock:
        scheduler = JobScheduler(folder / "sheetcrm.toml")
        assert scheduler.describe() == [
            "nightly: every day at 02:00 (next 2026-11-22 02:00)",
            "often: every 15 minutes (next 2026-11-22 02:05)",
        ]  # the machine's clock is Shanghai's here; by_hand has no schedule
        scheduler.tick()
        assert scheduler.runs == []

        def after(hour: int, minute: int, day: int = 22) -> list[str]:
            clock.move_to(dt.datetime(2026, 11, day, hour, minute, 30, tzinfo=SHANGHAI))
            scheduler.tick()
            return [run.job for run in scheduler.runs]

        assert after(2, 0) == ["nightly"]
        assert after(2, 0) == ["nightly"]  # once per time, however often it ticks
        assert after(2, 5) == ["nightly", "often"]
        assert after(2, 19) == ["nightly", "often"]
        assert after(2, 20) == ["nightly", "often", "often"]
        assert after(2, 0, day=23)[-2:] == ["often", "nightly"]  # a day later: both again, each once
    records = job_history(folder / ".sheetcrm")
    assert [r["job"] for r in records] == [run.job for run in scheduler.runs]
    assert all(r["outcome"] == "ok" for r in records)


def test_a_failing_run_is_logged_and_the_schedule_goes_on(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, JOBS)
    with time_machine.travel(dt.datetime(2026, 11, 22, 1, 59, 30, tzinfo=SHANGHAI), tick=False) as clock:
        scheduler = JobScheduler(folder / "sheetcrm.toml")
        (folder / "~$crm.xlsx").write_text("", encoding="utf-8")  # open in Excel at 02:00
        clock.move_to(dt.datetime(2026, 11, 22, 2, 0, 30, tzinfo=SHANGHAI))
        scheduler.tick()
        assert [(run.job, run.outcome) for run in scheduler.runs] == [("nightly", "refused")]
        (folder / "~$crm.xlsx").unlink()
        clock.move_to(dt.datetime(2026, 11, 23, 2, 0, 30, tzinfo=SHANGHAI))
        scheduler.tick()
    assert [run.outcome for run in scheduler.runs if run.job == "nightly"] == ["refused", "ok"]


class Lines:
    """A child's stderr, line by line, as it comes (a thread reads it)."""

    def __init__(self, stream: object) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"no line with {text!r} in {timeout} s; seen: {self.seen[-10:]}")


def start(folder: Path, *args: str) -> tuple[subprocess.Popen[str], Lines]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    child = subprocess.Popen(
        [sys.executable, "-m", "sheetcrm", "-v", "schedule", *args], cwd=folder, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    return child, Lines(child.stderr)


def test_sigterm_stops_after_the_current_step(tmp_path: Path) -> None:
    config = (
        'workbook = "crm.xlsx"\n[jobs.nightly]\nsteps = ["fix", "rollups", "segment", "stale", "report", "validate"]\n'
        'schedule = "every day at 02:00"\n'
    )
    folder = folder_with(tmp_path, config, customers=1500)
    child, lines = start(folder, "--run-now")
    lines.wait_for("serving:")
    lines.wait_for("step=fix")
    child.send_signal(signal.SIGTERM)
    out, _ = child.communicate(timeout=120)
    assert child.returncode == 0, out
    assert "asked to stop" in out and out.rstrip().endswith("stopped")
    (record,) = job_history(folder / ".sheetcrm")
    assert record["stopped"] and record["skipped"] and record["steps"][0]["step"] == "fix"
    done = [step["step"] for step in record["steps"]]
    assert done + record["skipped"] == ["fix", "rollups", "segment", "stale", "report", "validate"]
    assert all(step["status"] == "ok" for step in record["steps"])  # no step was cut in half
    sheetcrm.open_workbook(folder / "crm.xlsx").read("Customers", "Orders")  # whole


def test_sighup_reloads_the_config(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, JOBS)
    child, lines = start(folder)
    lines.wait_for("scheduled 2 jobs")
    lines.wait_for("serving:")  # its signal handlers are in place
    (folder / "sheetcrm.toml").write_text(
        JOBS.replace("[jobs.by_hand]\nsteps", '[jobs.by_hand]\nschedule = "every monday at 09:00"\nsteps'),
        encoding="utf-8",
    )
    child.send_signal(signal.SIGHUP)
    lines.wait_for("scheduled 3 jobs")
    (folder / "sheetcrm.toml").write_text("[jobs.broken\n", encoding="utf-8")
    child.send_signal(signal.SIGHUP)
    lines.wait_for("config not reloaded, the old one stays")
    child.send_signal(signal.SIGINT)
    out, _ = child.communicate(timeout=60)
    assert child.returncode == 0 and "stopped" in out

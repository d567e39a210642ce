"""``sheetcrm schedule``: run every job with a ``schedule`` at its times, in the foreground, until stopped.

Built on the ``schedule`` package. A run that fails (a step failed, the workbook was open in
Excel, another run held it) is logged and the job runs again at its next time: the
scheduler itself never stops on a job's failure. Signals:

- SIGTERM or SIGINT: stop. A run in progress ends after its current step (never inside a
  write), then the scheduler exits 0.
- SIGHUP: read ``sheetcrm.toml`` again before the next run (a broken config is logged and
  the old one kept).

Each job's times are in its ``timezone`` (else the config's). A job whose previous run is
still going when its time comes again is skipped that time (jobs run one at a time).
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

import schedule

from sheetcrm.automation.runner import JobBusy, JobRun, StepOutcome, run_job
from sheetcrm.automation.when import parse_schedule
from sheetcrm.config import Config, load_config
from sheetcrm.errors import SheetcrmError

__all__ = ["JobScheduler"]

log = logging.getLogger("sheetcrm.schedule")


class JobScheduler:
    """The jobs of a config on a ``schedule.Scheduler``; :meth:`serve` runs them until stopped."""

    def __init__(
        self,
        config_path: Path | None,
        *,
        on_step: Callable[[StepOutcome], None] | None = None,
        on_run: Callable[[JobRun], None] | None = None,
    ) -> None:
        self.config_path = config_path
        self.on_step = on_step
        self.on_run = on_run
        self.scheduler = schedule.Scheduler()
        self.settings: Config = load_config(config_path, required=True)
        self.stopping = False
        self._reload = False
        self.runs: list[JobRun] = []
        self._plan()

    def _plan(self) -> None:
        self.scheduler.clear()
        for name, job in self.settings.jobs.items():
            if job.schedule:
                zone = job.timezone or self.settings.timezone
                for planned in parse_schedule(job.schedule).add_to(self.scheduler, self._runner(name), timezone=zone):
                    planned.tag(name)
        log.info("scheduled %d jobs: %s", len(self.scheduler.get_jobs()), ", ".join(self.describe()) or "none")

    def describe(self) -> list[str]:
        """``nightly: every day at 02:00 (next 2026-11-23 02:00)`` for each scheduled job."""
        out = []
        for name, job in self.settings.jobs.items():
            if job.schedule:
                upcoming = [j.next_run for j in self.scheduler.get_jobs(name) if j.next_run is not None]
                nxt = min(upcoming).strftime("%Y-%m-%d %H:%M") if upcoming else "?"
                out.append(f"{name}: {job.schedule} (next {nxt})")
        return out

    def _runner(self, name: str) -> Callable[[], None]:
        def run() -> None:
            self.run(name)

        return run

    def reload(self) -> None:
        """Read the config again; keep the old one when the new one is broken."""
        try:
            self.settings = load_config(self.config_path, required=True)
        except SheetcrmError as error:
            log.error("config not reloaded, the old one stays: %s", " ".join(str(error).split()))
            return
        self._plan()

    def run(self, name: str) -> JobRun | None:
        """One run of job ``name`` now; failures are logged, never raised."""
        from sheetcrm.api import open_workbook

        try:
            run = run_job(
                open_workbook(config=self.settings), name, config=self.settings, on_step=self.on_step,
                stop=lambda: self.stopping,
            )  # fmt: skip
        except JobBusy:
            log.warning("job=%s skipped: another run holds the workbook", name)
            return None
        except SheetcrmError as error:
            log.error("job=%s failed before its first step: %s", name, " ".join(str(error).split()))
            return None
        except Exception:  # a bug: log it and keep the schedule going
            log.exception("job=%s crashed", name)
            return None
        self.runs.append(run)
        log.info("job=%s outcome=%s", name, run.outcome)
        if self.on_run is not None:
            self.on_run(run)
        return run

    def run_all_now(self) -> None:
        """Run every scheduled job once, in config order (``--run-now``)."""
        for name, job in self.settings.jobs.items():
            if job.schedule and not self.stopping:
                self.run(name)

    def tick(self) -> None:
        """Run what is due now (and reload first when asked to)."""
        if self._reload:
            self._reload = False
            self.reload()
        if not self.stopping:
            self.scheduler.run_pending()

    def serve(self, *, poll: float = 1.0, run_now: bool = False) -> None:
        """Run jobs at their times until SIGTERM or SIGINT; SIGHUP reloads the config.
        ``run_now`` runs every scheduled job once first (under the same signal handling)."""
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}

        def stop(signum: int, frame: FrameType | None) -> None:
            self.stopping = True
            log.info("stopping (%s): after the current step, if a job is running", signal.Signals(signum).name)

        def reload(signum: int, frame: FrameType | None) -> None:
            self._reload = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGHUP, reload)
        log.info("serving: SIGTERM or SIGINT stops, SIGHUP reloads the config")
        try:
            if run_now:
                self.run_all_now()
            while not self.stopping:
                self.tick()
                idle = self.scheduler.idle_seconds
                time.sleep(max(0.0, min(poll, idle if idle is not None else poll)))
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        log.info("stopped")

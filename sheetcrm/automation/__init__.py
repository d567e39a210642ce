"""Unattended runs: jobs of steps from ``[jobs.NAME]``, run once (``sheetcrm run``) or on a schedule.

>>> import sheetcrm
>>> from sheetcrm.automation import run_job
>>> settings = sheetcrm.load_config("sheetcrm.toml")
>>> run = run_job(sheetcrm.open_workbook(config=settings), "nightly", config=settings)
>>> print(run.summary())
"""

from sheetcrm.automation.runner import JobBusy, JobRun, StepOutcome, job_history, run_job
from sheetcrm.automation.steps import STEPS
from sheetcrm.automation.when import When, parse_schedule

__all__ = ["STEPS", "JobBusy", "JobRun", "StepOutcome", "When", "job_history", "parse_schedule", "run_job"]

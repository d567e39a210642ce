"""A CRM kept in a Google Sheet: push a workbook there, run a job on it, edit both copies, sync them.

    python examples/google_sheets.py [FOLDER]

Run as it is, it talks to sheetcrm's local Google Sheets API emulator, which stands in for Google.
Against the real thing, leave the emulator out: set GOOGLE_APPLICATION_CREDENTIALS to your
service-account key file, share the spreadsheet with the service account's address, and use
"gsheets://KEY" (or the sheet's URL) where this script uses the emulator's key. The code is the same.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
from pathlib import Path

import sheetcrm
from sheetcrm.jobs.crm.rollup_job import rollups
from sheetcrm.sample import write_sample_workbook
from sheetcrm.testing import SheetsEmulator, make_service_account_key


def main(folder: Path) -> None:
    os.chdir(folder)  # sheetcrm keeps the run log of a Google Sheet in ./.sheetcrm/google/KEY
    local = folder / "crm.xlsx"
    write_sample_workbook(local, customers=200, seed=7, today=dt.date(2026, 11, 22))
    config = sheetcrm.load_config(None)

    with SheetsEmulator() as google:
        # what a user sets once: the key file, and (for the emulator only) where the API is
        os.environ["GOOGLE_APPLICATION_CREDENTIALS"] = str(make_service_account_key(folder / "key.json", google))
        os.environ["SHEETCRM_SHEETS_ENDPOINT"] = google.base_url
        key = google.create_spreadsheet("CRM", sheets={"Sheet1": []})  # made by a person, shared with the account
        sheet = f"gsheets://{key}"

        pushed = sheetcrm.copy_tables(sheetcrm.open_workbook(local), sheetcrm.open_workbook(sheet), config)
        print(pushed.summary())

        workbook = sheetcrm.open_workbook(sheet)
        result = rollups(workbook, config=config, today=dt.date(2026, 11, 22))
        print(f"rollups on the Google Sheet: {result.changes.counts()} as run {result.run_id}")
        calls = workbook.backend.calls  # type: ignore[attr-defined]
        print(f"API calls: {sum(calls.values())} ({', '.join(f'{n} {name}' for name, n in sorted(calls.items()))})")

        # both copies agree now; a first sync records that as the base later syncs merge from
        state = folder / ".sheetcrm"
        sheetcrm.sync_workbooks(sheetcrm.open_workbook(local), sheetcrm.open_workbook(sheet), config, state_dir=state)

        # a colleague renames a company in the Google Sheet; the file does not know yet
        google.set_value(key, "Customers", "C2", "Renamed in Google Ltd")
        synced = sheetcrm.sync_workbooks(
            sheetcrm.open_workbook(local), sheetcrm.open_workbook(sheet), config, state_dir=state
        )
        print(synced.summary())
        print("the file now says:", sheetcrm.open_workbook(local)["Customers"].value(2, "company"))


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]).resolve())
    else:
        with tempfile.TemporaryDirectory() as temporary:
            main(Path(temporary))

"""Test doubles that ship with sheetcrm: a local Google Sheets API emulator served over real HTTP.

>>> from sheetcrm.testing import SheetsEmulator
>>> with SheetsEmulator() as emu:
...     sid = emu.create_spreadsheet("CRM", sheets={"Customers": [["id"], ["C-1"]]})
...     emu.values(sid, "Customers")
[['id'], ['C-1']]
"""

from sheetcrm.testing.sheets_emulator import (
    EmulatorAdapter,
    Faults,
    SheetsEmulator,
    emulated_session,
    main,
    make_service_account_key,
)

__all__ = [
    "EmulatorAdapter",
    "Faults",
    "SheetsEmulator",
    "emulated_session",
    "main",
    "make_service_account_key",
]

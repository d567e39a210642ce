"""The Google Sheets backend: service-account credentials, a retrying HTTP client, the backend itself.

- :mod:`~sheetcrm.sync.gsheets.auth`: the service-account key, from the config or the environment;
- :mod:`~sheetcrm.sync.gsheets.http`: gspread's HTTP client with sheetcrm's retry policy and errors;
- :mod:`~sheetcrm.sync.gsheets.translate`: cells, formats and ranges as the Sheets API writes them;
- :mod:`~sheetcrm.sync.gsheets.backend`: a spreadsheet read in one ``values.batchGet`` and a
  ChangeSet written in a fixed few calls;
- :mod:`~sheetcrm.sync.gsheets.connect`: all of it put together for ``open_workbook("gsheets://KEY")``.
"""

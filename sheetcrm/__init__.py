"""sheetcrm: keep a spreadsheet as the system of record of a well-run CRM."""

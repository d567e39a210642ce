"""Jobs: library functions that read a workbook, plan a ChangeSet and apply it."""

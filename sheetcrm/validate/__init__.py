"""Checking a Table against its schema, cell by cell: findings as data, with their cells."""

from sheetcrm.validate.findings import Code, Finding, Severity, ValidationReport
from sheetcrm.validate.run import validate

__all__ = ["Code", "Finding", "Severity", "ValidationReport", "validate"]

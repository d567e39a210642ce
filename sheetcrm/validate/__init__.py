"""Checking a Table against its schema, cell by cell (findings as data)."""

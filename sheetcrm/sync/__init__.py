"""Backends: reading workbooks as Tables and writing ChangeSets safely (xlsx, csv, memory)."""

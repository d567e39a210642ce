"""Pivot-style analysis sheets written as ChangeSets."""

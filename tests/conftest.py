"""Shared helpers: real workbooks in temporary folders, and the CLI run as a user runs it."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import openpyxl
import pytest

ROOT = Path(__file__).resolve().parent.parent


def write_xlsx(path: Path, sheets: Mapping[str, Sequence[Sequence[Any]]]) -> Path:
    """Write a plain workbook with openpyxl (text cells stay text, even '=...')."""
    book = openpyxl.Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                cell = sheet.cell(r, c, value)
                if isinstance(value, str) and value.startswith("="):
                    cell.data_type = "s"
    book.save(path)
    return path


CUSTOMERS = [
    ["customer_id", "name", "phone", "email", "tier"],
    ["C-000001", "Zhang Wei", "138 0013 8000", "zhang.wei@example.cn", "VIP"],
    ["C-000002", "Jane Smith", "(415) 555-0134", "jane@example.com", "Key"],
    ["C-000003", "王芳", "+86 139 0000 1111", "wangfang@example.cn", "Standard"],
    ["C-000004", "Bob Lee", "415.555.0199", "bob@example.com", "Standard"],
]


@pytest.fixture
def crm(tmp_path: Path) -> Path:
    """A small CRM workbook on disk."""
    return write_xlsx(
        tmp_path / "crm.xlsx", {"Customers": CUSTOMERS, "Orders": [["order_id", "customer_id"], ["O-1", "C-000001"]]}
    )


def run_cli(
    *args: str, cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m sheetcrm ARGS`` in a child process, as a user would."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "COLUMNS": "120", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "sheetcrm", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def with_cached_formula(path: Path, *, note: str | None = None) -> Path:
    """A workbook whose B2 holds =A2*2 with its cached result 2, as Excel saves it.

    With ``note``, column C ("c") holds that text in row 2.
    """
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "S"
    sheet.append(["a", "b"] + (["c"] if note is not None else []))
    sheet.append([1, "=A2*2"] + ([note] if note is not None else []))
    book.save(path)
    with zipfile.ZipFile(path) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    sheet_xml = parts["xl/worksheets/sheet1.xml"]
    assert b"<f>A2*2</f><v />" in sheet_xml
    parts["xl/worksheets/sheet1.xml"] = sheet_xml.replace(b"<f>A2*2</f><v />", b"<f>A2*2</f><v>2</v>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


def tiny_png() -> bytes:
    """A valid 1x1 PNG, for workbooks with a picture."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0\xff\0\0"))
        + chunk(b"IEND", b"")
    )

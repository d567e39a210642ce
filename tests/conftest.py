"""Shared helpers: real workbooks in temporary folders, and the CLI run as a user runs it."""

from __future__ import annotations

import email
import email.policy
import os
import socket
import struct
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SmtpServer
from aiosmtpd.smtp import Envelope, Session

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


# -- a real SMTP server on loopback (aiosmtpd), for the reminder tests ------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    authenticated: bool


@dataclass
class Handler:
    """Keeps what the server received; refuses RCPT of addresses starting with "nobody"."""

    received: list[Received] = field(default_factory=list)

    async def handle_RCPT(
        self, server: SmtpServer, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address.startswith("nobody"):
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SmtpServer, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(
            Received(str(envelope.mail_from), list(envelope.rcpt_tos), message, bool(session.authenticated))
        )
        return "250 OK queued"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def smtp_server(handler: object, **options: Any) -> Iterator[int]:
    """A real SMTP server on 127.0.0.1, yielding its port."""
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), server_hostname="localhost", **options)
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


@pytest.fixture
def emu() -> Iterator[Any]:
    """A Google Sheets API emulator on loopback (sheetcrm.testing), stopped after the test."""
    from sheetcrm.testing import SheetsEmulator

    with SheetsEmulator() as emulator:
        yield emulator


@pytest.fixture
def google_key(emu: Any, tmp_path: Path) -> Path:
    """A service-account key file (0600) whose token_uri is the emulator's /token."""
    from sheetcrm.testing import make_service_account_key

    return make_service_account_key(tmp_path / "service-account.json", emu)

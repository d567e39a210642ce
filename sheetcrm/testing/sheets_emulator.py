"""A local Google Sheets API v4 emulator (plus the bit of Drive v3 and OAuth gspread needs), for tests.

It is a real HTTP server on 127.0.0.1 (``http.server.ThreadingHTTPServer`` in a background thread) that
answers the same paths as Google, so unmodified gspread, google-auth and requests can talk to it::

    with SheetsEmulator() as emu:
        key = make_service_account_key(tmp_path / "key.json", emu)
        creds = Credentials.from_service_account_file(key, scopes=SCOPES)   # token from emu's /token
        session = emulated_session(creds, emu.base_url)
        gc = gspread.Client(creds, session=session)
        sid = emu.create_spreadsheet("CRM", sheets={"Customers": [["id", "name"], ["C-1", "Ann"]]})
        gc.open_by_key(sid).worksheet("Customers").get_all_values()

**How gspread is pointed at it.** gspread builds absolute URLs from constants in ``gspread.urls``
(``https://sheets.googleapis.com/v4/spreadsheets...``, ``https://www.googleapis.com/drive/v3/files...``)
and sends them through the ``requests`` session it is given (``Client(auth, session=...)``).
:func:`emulated_session` returns a google-auth ``AuthorizedSession`` on which an :class:`EmulatorAdapter`
(a ``requests`` transport adapter) is mounted for the Google hosts; the adapter rewrites
``https://<google host>/<path>`` to ``<base_url>/<path>`` just before sending. Nothing is patched; the
paths the emulator serves are Google's own. Token refreshes go through the same adapter, so a key whose
``token_uri`` is Google's still reaches the emulator's ``/token``.

**Implemented subset** (everything else answers 501 ``UNIMPLEMENTED`` naming the method and path):

- ``POST /token``: the service-account JWT-bearer grant. The assertion's RS256 signature is checked
  against the public keys registered by :func:`make_service_account_key` (any well-formed JWT is accepted
  when none are registered). Every other request needs ``Authorization: Bearer <issued token>`` (401).
- Sheets v4: ``spreadsheets.create``, ``spreadsheets.get`` (``ranges``, ``includeGridData`` and a
  ``fields`` mask honoured; grid data carries ``userEnteredValue``, ``formattedValue``, ``note`` and
  ``userEnteredFormat``), ``spreadsheets.batchUpdate`` with ``addSheet``, ``deleteSheet``,
  ``updateSheetProperties``, ``updateSpreadsheetProperties``, ``updateCells``, ``repeatCell``,
  ``setDataValidation``, ``insertDimension``, ``deleteDimension``, ``appendDimension``, ``addChart``,
  ``deleteEmbeddedObject``, ``updateDimensionProperties``,
  ``mergeCells``, ``unmergeCells`` (unknown kinds: 501 naming the request), ``values.get``,
  ``values.batchGet``, ``values.update``, ``values.batchUpdate``, ``values.append``, ``values.clear``,
  ``values.batchClear``.
- Values: ``valueInputOption`` RAW (strings stay strings) and USER_ENTERED (numbers, TRUE/FALSE,
  ISO ``yyyy-mm-dd`` and ``m/d/yyyy`` dates stored as serial numbers, leading ``'`` forces text,
  ``=...`` is a formula: pure arithmetic on numbers is evaluated, anything else keeps the formula text
  as its value); ``valueRenderOption`` FORMATTED_VALUE / UNFORMATTED_VALUE / FORMULA;
  ``dateTimeRenderOption`` SERIAL_NUMBER / FORMATTED_STRING; ``majorDimension`` ROWS / COLUMNS.
  Trailing empty cells and rows are trimmed as the API does. Number formats set by formatting requests
  are stored but not applied when rendering.
- A1 ranges: ``Sheet!A1:C3``, quoted names (``'My Sheet'!A1``), whole columns/rows (``A:C``, ``1:2``),
  open ranges (``A2:C``), a bare sheet name, or a range without sheet (first sheet).
- Drive v3: ``files.create`` (a spreadsheet), ``files.get``, ``files.list``, ``files.delete``.
- Errors in Google's shape ``{"error": {"code", "message", "status"}}``: 404 unknown spreadsheet,
  400 ``Unable to parse range: ...``.

**Faults** (:class:`Faults`, settable while running): 429 with ``Retry-After`` on every Nth API call,
503 after applying the next N writes, a fixed latency per call, and :meth:`SheetsEmulator.on_next_call`
hooks that change the store between two calls (a concurrent edit).
"""

from __future__ import annotations

import argparse
import ast
import base64
import copy
import datetime as dt
import json
import operator
import random
import re
import secrets
import string
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from google.auth.credentials import Credentials
from google.auth.transport.requests import AuthorizedSession, Request
from requests.adapters import HTTPAdapter

__all__ = [
    "GOOGLE_HOSTS",
    "ApiError",
    "Cell",
    "EmulatorAdapter",
    "Faults",
    "Sheet",
    "SheetsEmulator",
    "Spreadsheet",
    "emulated_session",
    "main",
    "make_service_account_key",
]

#: The URL prefixes gspread and google-auth talk to; :class:`EmulatorAdapter` rewrites them.
GOOGLE_HOSTS = (
    "https://sheets.googleapis.com",
    "https://www.googleapis.com",
    "https://oauth2.googleapis.com",
    "https://iamcredentials.googleapis.com",  # google-auth looks a service account's trust boundary up there
)

_EPOCH = dt.date(1899, 12, 30)  # Sheets' (and Lotus') day zero for serial dates
_DEFAULT_ROWS = 1000
_DEFAULT_COLS = 26
_JSON = dict[str, Any]

# --------------------------------------------------------------------------- errors


class ApiError(Exception):
    """An error answered to the client in Google's shape."""

    STATUS: ClassVar[dict[int, str]] = {
        400: "INVALID_ARGUMENT",
        401: "UNAUTHENTICATED",
        403: "PERMISSION_DENIED",
        404: "NOT_FOUND",
        429: "RESOURCE_EXHAUSTED",
        501: "UNIMPLEMENTED",
        503: "UNAVAILABLE",
    }

    def __init__(
        self, code: int, message: str, headers: Mapping[str, str] | None = None, *, reason: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.reason = reason  # Google's errors[].reason: "rateLimitExceeded", "storageQuotaExceeded", ...

    def body(self) -> _JSON:
        error: _JSON = {"code": self.code, "message": self.message, "status": self.STATUS.get(self.code, "UNKNOWN")}
        if self.reason is not None:
            error["errors"] = [{"message": self.message, "domain": "global", "reason": self.reason}]
        return {"error": error}


def _bad_range(text: str) -> ApiError:
    return ApiError(400, f"Unable to parse range: {text}")


# --------------------------------------------------------------------------- store


@dataclass
class Cell:
    """One cell: its value (str, int, float or bool), formula, date pattern, note and format."""

    value: Any = None
    formula: str | None = None
    date_pattern: str | None = None  # set for dates entered as USER_ENTERED text
    note: str | None = None
    format: _JSON = field(default_factory=dict)

    def is_empty(self) -> bool:
        return self.value is None and self.formula is None and self.note is None and not self.format

    def has_value(self) -> bool:
        return self.value is not None or self.formula is not None


@dataclass
class Sheet:
    """A worksheet: properties plus sparse cells keyed by 0-based (row, column)."""

    sheet_id: int
    title: str
    index: int
    row_count: int = _DEFAULT_ROWS
    column_count: int = _DEFAULT_COLS
    frozen_row_count: int = 0
    frozen_column_count: int = 0
    extra_properties: _JSON = field(default_factory=dict)
    cells: dict[tuple[int, int], Cell] = field(default_factory=dict)
    validations: list[_JSON] = field(default_factory=list)
    charts: list[_JSON] = field(default_factory=list)
    merges: list[_JSON] = field(default_factory=list)
    dimensions: dict[str, _JSON] = field(default_factory=dict)  # "COLUMNS:3" → {"pixelSize": 120}

    def properties(self) -> _JSON:
        grid: _JSON = {"rowCount": self.row_count, "columnCount": self.column_count}
        if self.frozen_row_count:
            grid["frozenRowCount"] = self.frozen_row_count
        if self.frozen_column_count:
            grid["frozenColumnCount"] = self.frozen_column_count
        props: _JSON = {"sheetId": self.sheet_id, "title": self.title, "index": self.index, "sheetType": "GRID"}
        props["gridProperties"] = grid
        props.update(self.extra_properties)
        return props

    def cell(self, row: int, col: int) -> Cell:
        """The cell at 0-based (row, col), created empty if missing."""
        return self.cells.setdefault((row, col), Cell())

    def prune(self) -> None:
        for key in [k for k, c in self.cells.items() if c.is_empty()]:
            del self.cells[key]


@dataclass
class Spreadsheet:
    """A spreadsheet: id, title, Drive times and its sheets (kept in index order)."""

    spreadsheet_id: str
    title: str
    sheets: list[Sheet] = field(default_factory=list)
    created: str = ""
    modified: str = ""
    named_ranges: list[_JSON] = field(default_factory=list)

    def sheet_by_title(self, title: str) -> Sheet | None:
        return next((s for s in self.sheets if s.title == title), None)

    def sheet_by_id(self, sheet_id: int) -> Sheet:
        for s in self.sheets:
            if s.sheet_id == sheet_id:
                return s
        raise ApiError(400, f"No grid with id: {sheet_id}")

    def reindex(self) -> None:
        self.sheets.sort(key=lambda s: s.index)
        for i, s in enumerate(self.sheets):
            s.index = i


# --------------------------------------------------------------------------- A1 notation

_A1_PART = re.compile(r"^([A-Za-z]*)([0-9]*)$")


def _col_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n


def _col_letters(n: int) -> str:
    out = ""
    while n > 0:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def _quote_title(title: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_]+", title) and not re.fullmatch(r"[A-Za-z]{1,3}[0-9]+|R[0-9]+C[0-9]+", title):
        return title
    return "'" + title.replace("'", "''") + "'"


@dataclass
class _Range:
    """A resolved rectangle, 0-based, end exclusive; row_end/col_end None means "to the grid's end"."""

    sheet: Sheet
    row0: int
    col0: int
    row_end: int | None
    col_end: int | None

    def bounded(self) -> tuple[int, int, int, int]:
        """(row0, col0, row_end, col_end) clamped to the grid."""
        r1 = self.sheet.row_count if self.row_end is None else min(self.row_end, self.sheet.row_count)
        c1 = self.sheet.column_count if self.col_end is None else min(self.col_end, self.sheet.column_count)
        return self.row0, self.col0, r1, c1

    def a1(self) -> str:
        r0, c0, r1, c1 = self.bounded()
        return _a1(self.sheet, r0, c0, r1, c1)


def _a1(sheet: Sheet, r0: int, c0: int, r1: int, c1: int) -> str:
    start = f"{_col_letters(c0 + 1)}{r0 + 1}"
    end = f"{_col_letters(c1)}{r1}"
    body = start if (r1 - r0 <= 1 and c1 - c0 <= 1) else f"{start}:{end}"
    return f"{_quote_title(sheet.title)}!{body}"


def _split_sheet(text: str) -> tuple[str | None, str]:
    if text.startswith("'"):
        i, name = 1, ""
        while i < len(text):
            if text[i] == "'":
                if text[i + 1 : i + 2] == "'":
                    name += "'"
                    i += 2
                    continue
                rest = text[i + 1 :]
                if rest == "":
                    return name, ""
                if rest.startswith("!"):
                    return name, rest[1:]
                raise _bad_range(text)
            name += text[i]
            i += 1
        raise _bad_range(text)
    if "!" in text:
        name, _, rest = text.rpartition("!")
        return name, rest
    return None, text


def _span(a: int | None, b: int | None) -> tuple[int, int | None]:
    """0-based start and exclusive end (None: to the grid's end) of one axis of ``a:b``."""
    if a is not None and b is not None:
        return min(a, b) - 1, max(a, b)
    return (a - 1 if a is not None else 0), b


def _parse_range(book: Spreadsheet, text: str) -> _Range:
    """Resolve an A1 range the way the API does, or raise 400 ``Unable to parse range``."""
    name, cells = _split_sheet(text.strip())
    if name is None:
        whole = book.sheet_by_title(cells)
        if whole is not None:
            return _Range(whole, 0, 0, None, None)
        if not book.sheets:
            raise _bad_range(text)
        sheet = book.sheets[0]
    else:
        found = book.sheet_by_title(name)
        if found is None:
            raise _bad_range(text)
        sheet = found
    if cells == "":
        return _Range(sheet, 0, 0, None, None)
    parts = cells.split(":")
    if len(parts) > 2:
        raise _bad_range(text)
    ends: list[tuple[int | None, int | None]] = []
    for part in parts:
        m = _A1_PART.match(part)
        if not m or (not m.group(1) and not m.group(2)):
            raise _bad_range(text)
        col = _col_number(m.group(1)) if m.group(1) else None
        row = int(m.group(2)) if m.group(2) else None
        if row == 0:
            raise _bad_range(text)
        ends.append((col, row))
    (c_a, r_a) = ends[0]
    if len(ends) == 1:
        if c_a is None or r_a is None:
            raise _bad_range(text)
        return _Range(sheet, r_a - 1, c_a - 1, r_a, c_a)
    (c_b, r_b) = ends[1]
    row0, row_end = _span(r_a, r_b)
    col0, col_end = _span(c_a, c_b)
    return _Range(sheet, row0, col0, row_end, col_end)


# --------------------------------------------------------------------------- values

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_ARITH = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def _number(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() and abs(value) < 2**53 and "e" not in text.lower() else value


def _evaluate(formula: str) -> int | float | None:
    """Evaluate ``=`` formulas that are plain arithmetic on numbers; None for anything else."""

    def walk(node: ast.AST) -> float:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return float(node.value)
        if isinstance(node, ast.BinOp) and type(node.op) in _ARITH:
            return float(_ARITH[type(node.op)](walk(node.left), walk(node.right)))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            v = walk(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        raise ValueError(formula)

    try:
        result = walk(ast.parse(formula[1:].strip(), mode="eval").body)
    except (SyntaxError, ValueError, ZeroDivisionError, RecursionError):
        return None
    return int(result) if result.is_integer() else result


def _input_cell(raw: Any, option: str) -> Cell | None:
    """The cell a written value becomes; None for JSON null (leave the cell as it is)."""
    if raw is None:
        return None
    if isinstance(raw, bool | int | float):
        return Cell(value=raw)
    text = str(raw)
    if text == "":
        return Cell()
    if option == "RAW":
        return Cell(value=text)
    if text.startswith("'"):
        return Cell(value=text[1:])
    if text.startswith("=") and len(text) > 1:
        result = _evaluate(text)
        return Cell(value=result if result is not None else text, formula=text)
    if text.upper() in ("TRUE", "FALSE"):
        return Cell(value=text.upper() == "TRUE")
    if _NUMBER.match(text.strip()):
        return Cell(value=_number(text.strip()))
    for pattern, order, fmt in ((_ISO_DATE, (0, 1, 2), "yyyy-mm-dd"), (_US_DATE, (2, 0, 1), "m/d/yyyy")):
        m = pattern.match(text.strip())
        if m:
            y, mo, d = (int(m.group(i + 1)) for i in order)
            try:
                day = dt.date(y, mo, d)
            except ValueError:
                break
            return Cell(value=(day - _EPOCH).days, date_pattern=fmt)
    return Cell(value=text)


def _format_number(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.15g}"
    return str(value)


_DATE_TOKEN = re.compile(r'"[^"]*"|\\.|yyyy|yy|mmmm|mmm|mm|m|dd|d|hh|h|ss|s|am/pm|.', re.IGNORECASE)
_DATE_TYPES = ("DATE", "TIME", "DATE_TIME")


def _format_date(serial: int | float, pattern: str) -> str:
    """A serial date shown in a Sheets date pattern (``yyyy-mm-dd``, ``M/d/yyyy``, ``dd.mm.yyyy hh:mm``...)."""
    moment = dt.datetime(1899, 12, 30) + dt.timedelta(days=float(serial))
    moment = moment.replace(microsecond=0) + dt.timedelta(seconds=round(moment.microsecond / 1e6))
    out: list[str] = []
    tokens = _DATE_TOKEN.findall(pattern)
    for i, token in enumerate(tokens):
        low = token.lower()
        # m is minutes right after an hour or right before seconds, as in Excel and Sheets
        near_time = any(t.lower() in ("h", "hh") for t in tokens[max(0, i - 2) : i]) or any(
            t.lower() in ("s", "ss") for t in tokens[i + 1 : i + 3]
        )
        if token.startswith('"'):
            out.append(token[1:-1])
        elif token.startswith("\\"):
            out.append(token[1:])
        elif low == "yyyy":
            out.append(f"{moment.year:04d}")
        elif low == "yy":
            out.append(f"{moment.year % 100:02d}")
        elif low in ("mm", "m") and near_time:
            out.append(f"{moment.minute:02d}" if low == "mm" else str(moment.minute))
        elif low == "mmmm":
            out.append(moment.strftime("%B"))
        elif low == "mmm":
            out.append(moment.strftime("%b"))
        elif low == "mm":
            out.append(f"{moment.month:02d}")
        elif low == "m":
            out.append(str(moment.month))
        elif low == "dd":
            out.append(f"{moment.day:02d}")
        elif low == "d":
            out.append(str(moment.day))
        elif low == "hh":
            out.append(f"{moment.hour:02d}")
        elif low == "h":
            out.append(str(moment.hour))
        elif low == "ss":
            out.append(f"{moment.second:02d}")
        elif low == "s":
            out.append(str(moment.second))
        else:
            out.append(token)
    return "".join(out)


def _date_pattern(cell: Cell) -> str | None:
    """The date pattern a cell shows its number in: its date number format, else the one typing a date gave."""
    number_format = cell.format.get("numberFormat") or {}
    if number_format.get("type") in _DATE_TYPES:
        return str(number_format.get("pattern") or "M/d/yyyy")
    return cell.date_pattern


def _render(cell: Cell | None, value_option: str, date_option: str) -> Any:
    if cell is None or not cell.has_value():
        return ""
    if value_option == "FORMULA" and cell.formula is not None:
        return cell.formula
    value = cell.value
    pattern = _date_pattern(cell)
    if pattern is not None and isinstance(value, int | float) and not isinstance(value, bool):
        if value_option == "FORMATTED_VALUE" or date_option == "FORMATTED_STRING":
            return _format_date(value, pattern)
        return value
    if value_option in ("UNFORMATTED_VALUE", "FORMULA"):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return _format_number(value)
    return str(value)


def _trim(rows: list[list[Any]]) -> list[list[Any]]:
    out = []
    for row in rows:
        while row and row[-1] == "":
            row.pop()
        out.append(row)
    while out and not out[-1]:
        out.pop()
    return out


def _transpose(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    width = max((len(r) for r in rows), default=0)
    return [[r[i] if i < len(r) else None for r in rows] for i in range(width)]


def _serial_now() -> str:
    return (
        dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.datetime.now(dt.UTC).microsecond // 1000:03d}Z"
    )


# --------------------------------------------------------------------------- fields masks


def _parse_fields(text: str) -> dict[str, Any]:
    """Parse a fields mask (``a.b,c(d,e)``, ``/`` or ``.`` separators) into a tree; {} means "all"."""
    tree: dict[str, Any] = {}
    pos = 0

    def parse(level: dict[str, Any]) -> None:
        nonlocal pos
        while pos < len(text):
            m = re.match(r"\s*([A-Za-z0-9_*]+(?:[./][A-Za-z0-9_*]+)*)\s*", text[pos:])
            if not m:
                return
            pos += m.end()
            node = level
            for name in re.split(r"[./]", m.group(1)):
                node = node.setdefault(name, {})
            if pos < len(text) and text[pos] == "(":
                pos += 1
                parse(node)
                pos += 1  # ")"
            if pos < len(text) and text[pos] == ",":
                pos += 1
                continue
            return

    parse(tree)
    return tree


def _apply_fields(value: Any, tree: Mapping[str, Any]) -> Any:
    if not tree or "*" in tree:
        return value
    if isinstance(value, list):
        return [_apply_fields(v, tree) for v in value]
    if isinstance(value, dict):
        return {k: _apply_fields(v, tree[k]) for k, v in value.items() if k in tree}
    return value


# --------------------------------------------------------------------------- faults


@dataclass
class Faults:
    """Faults the emulator injects; change the attributes at any time, even while serving.

    - ``rate_limit_every``: every Nth API call (not ``/token``) answers 429 with ``Retry-After``.
    - ``retry_after``: seconds put in that header.
    - ``fail_after_writes``: the next N write calls are applied, then answered 503.
    - ``fail_writes_matching``: a regular expression on ``"METHOD /path"``; when set, only the
      writes it matches count for ``fail_after_writes`` (``r"POST /v4/spreadsheets/[^/]+:batchUpdate"``).
    - ``latency``: seconds slept before answering each call.
    """

    rate_limit_every: int = 0
    retry_after: int = 1
    fail_after_writes: int = 0
    fail_writes_matching: str = ""
    latency: float = 0.0


# --------------------------------------------------------------------------- the emulator

_Hook = Callable[["SheetsEmulator"], None]
_WRITES = ("POST", "PUT", "DELETE", "PATCH")


class SheetsEmulator:
    """An in-memory Google Sheets served over HTTP on loopback.

    >>> with SheetsEmulator() as emu:
    ...     sid = emu.create_spreadsheet("CRM", sheets={"Customers": [["id"], ["C-1"]]})
    ...     emu.values(sid, "Customers")
    [['id'], ['C-1']]
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, require_auth: bool = True) -> None:
        self.host = host
        self.port = port
        self.require_auth = require_auth
        self.faults = Faults()
        self.spreadsheets: dict[str, Spreadsheet] = {}
        self.calls: list[tuple[str, str]] = []
        self.lock = threading.RLock()
        self.public_keys: dict[str, rsa.RSAPublicKey] = {}
        self.tokens: set[str] = set()
        self.revoked_keys: set[str] = set()
        self._hooks: list[_Hook] = []
        self._api_calls = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle
    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` once started."""
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def token_uri(self) -> str:
        return self.base_url + "/token"

    def start(self) -> SheetsEmulator:
        if self._server is not None:
            return self
        server = ThreadingHTTPServer((self.host, self.port), _Handler)
        server.daemon_threads = True
        server.emulator = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="sheets-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = None
        self._thread = None

    def __enter__(self) -> SheetsEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- test helpers
    def create_spreadsheet(self, title: str, sheets: Mapping[str, Sequence[Sequence[Any]]] | None = None) -> str:
        """Create a spreadsheet holding ``sheets`` (title → rows, stored as given) and return its id."""
        with self.lock:
            book = self._new_spreadsheet(title, list(sheets or {"Sheet1": []}))
            for sheet, rows in zip(book.sheets, (sheets or {"Sheet1": []}).values(), strict=True):
                sheet.row_count = max(_DEFAULT_ROWS, len(rows))
                sheet.column_count = max(_DEFAULT_COLS, max((len(r) for r in rows), default=0))
                for r, row in enumerate(rows):
                    for c, value in enumerate(row):
                        if value is not None and value != "":
                            sheet.cells[(r, c)] = Cell(value=value)
            return book.spreadsheet_id

    def spreadsheet(self, spreadsheet_id: str) -> Spreadsheet:
        try:
            return self.spreadsheets[spreadsheet_id]
        except KeyError:
            raise ApiError(404, "Requested entity was not found.") from None

    def sheet(self, spreadsheet_id: str, title: str) -> Sheet:
        """The stored sheet, to inspect notes, formats, validations or charts."""
        found = self.spreadsheet(spreadsheet_id).sheet_by_title(title)
        if found is None:
            raise KeyError(title)
        return found

    def values(self, spreadsheet_id: str, sheet: str, *, render: str = "FORMATTED_VALUE") -> list[list[Any]]:
        """The sheet's values as ``get_all_values`` shows them: trimmed, then padded to a rectangle."""
        with self.lock:
            s = self.sheet(spreadsheet_id, sheet)
            rows = self._read(_Range(s, 0, 0, None, None), render, "FORMATTED_STRING")
        width = max((len(r) for r in rows), default=0)
        return [r + [""] * (width - len(r)) for r in rows]

    def set_value(self, spreadsheet_id: str, sheet: str, a1: str, value: Any) -> None:
        """Set one cell as a user typing it would (USER_ENTERED); handy in :meth:`on_next_call` hooks."""
        with self.lock:
            book = self.spreadsheet(spreadsheet_id)
            rng = _parse_range(book, f"{_quote_title(sheet)}!{a1}")
            self._write(rng, [[value]], "USER_ENTERED")

    def on_next_call(self, hook: _Hook) -> None:
        """Run ``hook(emulator)`` just before the next API call is handled (a concurrent edit)."""
        with self.lock:
            self._hooks.append(hook)

    def issue_token(self) -> str:
        """A valid access token, for tests that call the API with plain ``requests``."""
        token = "emu." + secrets.token_urlsafe(24)
        with self.lock:
            self.tokens.add(token)
        return token

    @property
    def api_calls(self) -> list[tuple[str, str]]:
        """``calls`` without the ``/token`` exchanges."""
        return [c for c in self.calls if c[1] != "/token"]

    # ---- internals: store
    def _new_spreadsheet(self, title: str, sheet_titles: Sequence[str]) -> Spreadsheet:
        alphabet = string.ascii_letters + string.digits + "-_"
        sid = "1" + "".join(secrets.choice(alphabet) for _ in range(43))
        now = _serial_now()
        book = Spreadsheet(sid, title, created=now, modified=now)
        for i, name in enumerate(sheet_titles):
            book.sheets.append(Sheet(sheet_id=0 if i == 0 else self._sheet_id(book), title=name, index=i))
        self.spreadsheets[sid] = book
        return book

    @staticmethod
    def _sheet_id(book: Spreadsheet) -> int:
        used = {s.sheet_id for s in book.sheets}
        while True:
            candidate = random.randint(1, 2**31 - 1)
            if candidate not in used:
                return candidate

    def _read(self, rng: _Range, value_option: str, date_option: str) -> list[list[Any]]:
        r0, c0, r1, c1 = rng.bounded()
        rows = [
            [_render(rng.sheet.cells.get((r, c)), value_option, date_option) for c in range(c0, c1)]
            for r in range(r0, r1)
        ]
        return _trim(rows)

    def _write(self, rng: _Range, rows: Sequence[Sequence[Any]], option: str) -> _JSON:
        sheet = rng.sheet
        height = len(rows)
        width = max((len(r) for r in rows), default=0)
        if option not in ("RAW", "USER_ENTERED"):
            raise ApiError(400, f"Invalid valueInputOption: {option}")
        if rng.row_end is not None and rng.row_end - rng.row0 < height and rng.row_end - rng.row0 > 1:
            raise ApiError(
                400, f"Requested writing within range [{rng.a1()}], but tried writing to row [{rng.row0 + height}]"
            )
        sheet.row_count = max(sheet.row_count, rng.row0 + height)
        sheet.column_count = max(sheet.column_count, rng.col0 + width)
        cells = 0
        for i, row in enumerate(rows):
            for j, raw in enumerate(row):
                cells += 1
                new = _input_cell(raw, option)
                if new is None:
                    continue
                old = sheet.cell(rng.row0 + i, rng.col0 + j)
                # a cell keeps its format when a value is written: a date cell stays a date cell
                old.value, old.formula = new.value, new.formula
                old.date_pattern = new.date_pattern or old.date_pattern
        sheet.prune()
        result: _JSON = {}
        if height and width:
            result = {
                "updatedRange": _a1(sheet, rng.row0, rng.col0, rng.row0 + height, rng.col0 + width),
                "updatedRows": height,
                "updatedColumns": width,
                "updatedCells": cells,
            }
        else:
            result = {"updatedRange": rng.a1()}
        return result

    def _clear(self, rng: _Range) -> str:
        r0, c0, r1, c1 = rng.bounded()
        for (r, c), cell in list(rng.sheet.cells.items()):
            if r0 <= r < r1 and c0 <= c < c1:
                cell.value = cell.formula = None  # clearing values keeps formats
        rng.sheet.prune()
        return rng.a1()

    # ---- internals: HTTP
    def handle(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        """Answer one HTTP request: (status, headers, body)."""
        parts = urlsplit(target)
        path = parts.path
        query = parse_qs(parts.query, keep_blank_values=True)
        with self.lock:
            self.calls.append((method, unquote(path)))
        if self.faults.latency:
            time.sleep(self.faults.latency)
        try:
            if path == "/token" and method == "POST":
                return _json_response(200, self._token(body))
            self._check_auth(headers)
            with self.lock:
                self._api_calls += 1
                n = self.faults.rate_limit_every
                if n and self._api_calls % n == 0:
                    raise ApiError(
                        429,
                        "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute per user' "
                        "of service 'sheets.googleapis.com' (sheetcrm emulator).",
                        {"Retry-After": str(self.faults.retry_after)},
                    )
                hooks, self._hooks = self._hooks, []
                for hook in hooks:
                    hook(self)
                status, payload = self._route(method, path, query, body)
                matching = self.faults.fail_writes_matching
                chosen = not matching or re.search(matching, f"{method} {unquote(path)}") is not None
                if method in _WRITES and chosen and self.faults.fail_after_writes > 0:
                    self.faults.fail_after_writes -= 1
                    raise ApiError(503, "The service is currently unavailable.")
            if payload is None:
                return status, {}, b""
            return _json_response(status, payload)
        except ApiError as exc:
            code, hdrs, data = _json_response(exc.code, exc.body())
            hdrs.update(exc.headers)
            return code, hdrs, data

    def _token(self, body: bytes) -> _JSON:
        form = parse_qs(body.decode("utf-8"))
        grant = form.get("grant_type", [""])[0]
        assertion = form.get("assertion", [""])[0]
        if grant != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            raise _OAuthError("unsupported_grant_type", f"Unsupported grant type: {grant!r}")
        try:
            head_b64, claims_b64, sig_b64 = assertion.split(".")
            header = json.loads(_b64decode(head_b64))
            claims = json.loads(_b64decode(claims_b64))
            signature = _b64decode(sig_b64)
        except ValueError:
            raise _OAuthError("invalid_grant", "Invalid JWT assertion.") from None
        if self.public_keys or self.revoked_keys:
            key = self.public_keys.get(str(header.get("kid")))
            if key is None:
                raise _OAuthError("invalid_grant", "Invalid JWT Signature.")
            try:
                key.verify(signature, f"{head_b64}.{claims_b64}".encode(), padding.PKCS1v15(), hashes.SHA256())
            except InvalidSignature:
                raise _OAuthError("invalid_grant", "Invalid JWT Signature.") from None
        if not isinstance(claims, dict) or "iss" not in claims:
            raise _OAuthError("invalid_grant", "Invalid JWT: no issuer.")
        return {"access_token": self.issue_token(), "expires_in": 3600, "token_type": "Bearer"}

    def _check_auth(self, headers: Mapping[str, str]) -> None:
        if not self.require_auth:
            return
        value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        token = value[7:] if value.startswith("Bearer ") else ""
        with self.lock:
            if token in self.tokens:
                return
        if token:
            raise ApiError(
                401,
                "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
                "or other valid authentication credential.",
            )
        raise ApiError(
            401,
            "Request is missing required authentication credential. Expected OAuth 2 access token, "
            "login cookie or other valid authentication credential.",
        )

    def revoke_key(self, key_id: str) -> None:
        """Revoke a service-account key (its ``private_key_id``) and every token issued so far, as deleting it does.

        The key's next token request fails with ``invalid_grant``; other registered keys still work.
        """
        with self.lock:
            self.public_keys.pop(key_id, None)
            self.revoked_keys.add(key_id)
            self.tokens.clear()

    def _route(self, method: str, path: str, query: dict[str, list[str]], raw: bytes) -> tuple[int, Any]:
        m = re.fullmatch(
            r"/v4/spreadsheets(?:/([^/:]+))?(?::(\w+)|/values(?::(\w+)|/([^/]+?)(?::(append|clear))?))?", path
        )
        if m:
            sid, action, batch, rng, verb = m.groups()
            rng = unquote(rng) if rng is not None else None
            handler = self._sheets_handler(method, sid, action, batch, rng, verb)
            if handler is not None:
                return 200, handler(sid or "", rng or "", query, _json_body(raw))
        d = re.fullmatch(r"/drive/v3/files(?:/([^/]+))?", path)
        if d:
            return self._drive(method, d.group(1), query, raw)
        raise ApiError(501, f"sheetcrm emulator: {method} {path} is not implemented")

    def _sheets_handler(
        self, method: str, sid: str | None, action: str | None, batch: str | None, rng: str | None, verb: str | None
    ) -> Callable[[str, str, dict[str, list[str]], Any], _JSON] | None:
        table: dict[tuple[str, bool, str | None, str | None, bool, str | None], Callable[..., _JSON]] = {
            ("POST", False, None, None, False, None): self._create,
            ("GET", True, None, None, False, None): self._get,
            ("POST", True, "batchUpdate", None, False, None): self._batch_update,
            ("GET", True, None, "batchGet", False, None): self._values_batch_get,
            ("POST", True, None, "batchUpdate", False, None): self._values_batch_update,
            ("POST", True, None, "batchClear", False, None): self._values_batch_clear,
            ("GET", True, None, None, True, None): self._values_get,
            ("PUT", True, None, None, True, None): self._values_update,
            ("POST", True, None, None, True, "append"): self._values_append,
            ("POST", True, None, None, True, "clear"): self._values_clear,
        }
        return table.get((method, sid is not None, action, batch, rng is not None, verb))

    # ---- Sheets: spreadsheets
    def _resource(self, book: Spreadsheet, query: dict[str, list[str]]) -> _JSON:
        fields = query.get("fields", [""])[0]
        tree = _parse_fields(fields) if fields else {}
        ranges = query.get("ranges", [])
        grid = query.get("includeGridData", ["false"])[0].lower() == "true" or "data" in tree.get("sheets", {})
        sheets_out: list[_JSON] = []
        wanted: list[tuple[Sheet, list[_Range]]] = []
        if ranges:
            for text in ranges:
                rng = _parse_range(book, text)
                entry = next((w for w in wanted if w[0] is rng.sheet), None)
                if entry is None:
                    wanted.append((rng.sheet, [rng]))
                else:
                    entry[1].append(rng)
        else:
            wanted = [(s, [_Range(s, 0, 0, None, None)]) for s in book.sheets]
        for sheet, rngs in wanted:
            item: _JSON = {"properties": sheet.properties()}
            if grid:
                item["data"] = [_grid_data(r) for r in rngs]
            if sheet.merges:
                item["merges"] = copy.deepcopy(sheet.merges)
            if sheet.charts:
                item["charts"] = copy.deepcopy(sheet.charts)
            sheets_out.append(item)
        resource: _JSON = {
            "spreadsheetId": book.spreadsheet_id,
            "properties": {
                "title": book.title,
                "locale": "en_US",
                "autoRecalc": "ON_CHANGE",
                "timeZone": "Etc/GMT",
                "defaultFormat": copy.deepcopy(_DEFAULT_FORMAT),
            },
            "sheets": sheets_out,
            "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{book.spreadsheet_id}/edit",
        }
        if book.named_ranges:
            resource["namedRanges"] = copy.deepcopy(book.named_ranges)
        result = _apply_fields(resource, tree)
        if tree and "sheets" in tree:
            result["sheets"] = [_strip_empty(s) for s in result.get("sheets", [])]
        return dict(result)

    def _get(self, sid: str, _rng: str, query: dict[str, list[str]], _body: Any) -> _JSON:
        return self._resource(self.spreadsheet(sid), query)

    def _create(self, _sid: str, _rng: str, query: dict[str, list[str]], body: Any) -> _JSON:
        body = body or {}
        title = body.get("properties", {}).get("title", "Untitled spreadsheet")
        sheets = body.get("sheets") or [{"properties": {"title": "Sheet1"}}]
        book = self._new_spreadsheet(
            title, [s.get("properties", {}).get("title", f"Sheet{i + 1}") for i, s in enumerate(sheets)]
        )
        for sheet, spec in zip(book.sheets, sheets, strict=True):
            grid = spec.get("properties", {}).get("gridProperties", {})
            sheet.row_count = grid.get("rowCount", sheet.row_count)
            sheet.column_count = grid.get("columnCount", sheet.column_count)
            sheet.frozen_row_count = grid.get("frozenRowCount", 0)
        return self._resource(book, {})

    def _batch_update(self, sid: str, _rng: str, query: dict[str, list[str]], body: Any) -> _JSON:
        book = self.spreadsheet(sid)
        requests_ = (body or {}).get("requests", [])
        for i, req in enumerate(requests_):  # reject unknown kinds before changing anything
            kind = next(iter(req), "")
            if not hasattr(self, f"_req_{kind}"):
                raise ApiError(501, f"sheetcrm emulator: batchUpdate request requests[{i}].{kind} is not implemented")
        replies = []
        for i, req in enumerate(requests_):
            kind, spec = next(iter(req.items()))
            try:
                replies.append(getattr(self, f"_req_{kind}")(book, spec))
            except ApiError as exc:
                if exc.code == 400 and not exc.message.startswith("Invalid requests"):
                    exc.message = f"Invalid requests[{i}].{kind}: {exc.message}"
                raise
        book.modified = _serial_now()
        result: _JSON = {"spreadsheetId": sid, "replies": replies}
        return result

    # ---- batchUpdate requests (each returns its reply)
    def _req_addSheet(self, book: Spreadsheet, spec: _JSON) -> _JSON:
        props = spec.get("properties", {})
        title = props.get("title") or f"Sheet{len(book.sheets) + 1}"
        if book.sheet_by_title(title) is not None:
            raise ApiError(400, f'A sheet with the name "{title}" already exists. Please enter another name.')
        grid = props.get("gridProperties", {})
        index = props.get("index", len(book.sheets))
        for s in book.sheets:
            if s.index >= index:
                s.index += 1
        sheet = Sheet(
            sheet_id=props.get("sheetId", self._sheet_id(book)),
            title=title,
            index=index,
            row_count=grid.get("rowCount", _DEFAULT_ROWS),
            column_count=grid.get("columnCount", _DEFAULT_COLS),
            frozen_row_count=grid.get("frozenRowCount", 0),
            frozen_column_count=grid.get("frozenColumnCount", 0),
        )
        book.sheets.append(sheet)
        book.reindex()
        return {"addSheet": {"properties": sheet.properties()}}

    def _req_deleteSheet(self, book: Spreadsheet, spec: _JSON) -> _JSON:
        sheet = book.sheet_by_id(spec.get("sheetId", -1))
        if len(book.sheets) == 1:
            raise ApiError(400, "You can't remove all the sheets in a document.")
        book.sheets.remove(sheet)
        book.reindex()
        return {}

    def _req_updateSheetProperties(self, book: Spreadsheet, spec: _JSON) -> _JSON:
        props = spec.get("properties", {})
        sheet = book.sheet_by_id(props.get("sheetId", 0))
        fields = [f.strip().replace(".", "/") for f in spec.get("fields", "").split(",") if f.strip()]
        if fields == ["*"]:
            fields = [k for k in props if k != "sheetId"]
        grid = props.get("gridProperties", {})
        for f in fields:
            if f == "title":
                other = book.sheet_by_title(props.get("title", ""))
                if other is not None and other is not sheet:
                    raise ApiError(
                        400, f'A sheet with the name "{props["title"]}" already exists. Please enter another name.'
                    )
                sheet.title = props.get("title", sheet.title)
            elif f == "index":
                book.sheets.remove(sheet)
                book.sheets.insert(int(props.get("index", 0)), sheet)
                for i, s in enumerate(book.sheets):
                    s.index = i
            elif f.startswith("gridProperties"):
                names = list(grid) if f == "gridProperties" else [f.split("/", 1)[1]]
                for name in names:
                    attr = {
                        "rowCount": "row_count",
                        "columnCount": "column_count",
                        "frozenRowCount": "frozen_row_count",
                        "frozenColumnCount": "frozen_column_count",
                    }.get(name)
                    if attr is not None:
                        setattr(sheet, attr, int(grid.get(name, 0)))
                    else:
                        sheet.extra_properties.setdefault("gridProperties", {})[name] = grid.get(name)
                self._crop(sheet)
            elif (
                f == "hidden"
                and props.get("hidden")
                and all(s.extra_properties.get("hidden") or s is sheet for s in book.sheets)
            ):
                raise ApiError(400, "You can't hide all the sheets in a document.")
            else:
                top = f.split("/", 1)[0]
                if top in props:
                    sheet.extra_properties[top] = props[top]
                else:
                    sheet.extra_properties.pop(top, None)
        return {}

    def _req_updateSpreadsheetProperties(self, book: Spreadsheet, spec: _JSON) -> _JSON:
        props = spec.get("properties", {})
        if "title" in props:
            book.title = props["title"]
        return {}

    def _grid_cells(self, book: Spreadsheet, grid: _JSON) -> tuple[Sheet, int, int, int, int]:
        sheet = book.sheet_by_id(grid.get("sheetId", 0))
        return (
            sheet,
            grid.get("startRowIndex", 0),
            grid.get("startColumnIndex", 0),
            grid.get("endRowIndex", sheet.row_count),
            grid.get("endColumnIndex", sheet.column_count),
        )

    def _set_cell_data(self, cell: Cell, data: _JSON, fields: str) -> None:
        everything = fields.strip() == "*"
        if everything or "userEnteredValue" in fields:
            uev = data.get("userEnteredValue")
            if uev is None:
                cell.value = cell.formula = cell.date_pattern = None
            else:
                kind, raw = next(iter(uev.items()))
                new = _input_cell(raw, "USER_ENTERED" if kind == "formulaValue" else "RAW") or Cell()
                cell.value, cell.formula = new.value, new.formula
                cell.date_pattern = new.date_pattern or cell.date_pattern
        if everything or "note" in fields:
            cell.note = data.get("note") or None
        tree = _parse_fields(fields)
        paths = _leaf_paths(tree["userEnteredFormat"], ["userEnteredFormat"]) if "userEnteredFormat" in tree else []
        if everything or paths == ["userEnteredFormat"]:
            fmt = data.get("userEnteredFormat")
            cell.format = {} if fmt is None else {**cell.format, **copy.deepcopy(fmt)}
            if fmt is not None and "numberFormat" in fmt and fmt["numberFormat"].get("type") not in _DATE_TYPES:
                cell.date_pattern = None  # a number format replaces the date format typing gave
        else:
            for path in paths:  # userEnteredFormat.backgroundColor: set that part, or clear it when absent
                keys = path.split(".")[1:]
                _set_path(cell.format, keys, _get_path(data.get("userEnteredFormat") or {}, keys))
                if keys[0] == "numberFormat":
                    cell.date_pattern = None

    def _req_updateCells(self, book: Spreadsheet, spec: _JSON) -> _JSON:
        fields = spec.get("fields", "*")
        if "range" in spec:
            sheet, r0, c0, r1, c1 = self._grid_cells(book, spec["range"])
        else:
            start = spec.get("start", {})
            sheet = book.sheet_by_id(start.get("sheetId", 0))
            r0, c0, r1, c1 = start.get("rowIndex", 0), start.get("columnIndex", 0), sheet.row_count, sheet.column_count
        rows = spec.get("rows", [])
        for i, row in enumerate(rows):
            for j, data in enumerate(row.get("values", [])):
                if r0 + i < r1 and c0 + j < c1:
                    self._set_cell_data(sheet.cell(r0 + i, c0 + j), data, fields)
        if "range" in spec:  # cells of the range not given in rows are cleared of the fields
            for r in range(r0, min(r1, sheet.row_count)):
                for c in range(c0, min(c1, sheet.column_count)):
                    i, j = r - r0, c - c0
                    outside = i >= len(rows) or j >= len(rows[i].get("values", []))
                    if outside and (r, c) in sheet.cells:
                        self._set_cell_data(sheet.cells[(r, c)], {}, fields)
        sheet.prune()
        return {}

    def _req_repeatCell(self, book: Spreadsheet, spec: _JSON) -> _JSON:
        sheet, r0, c0, r1, c1 = self._grid_cells(book, spec.get("range", {}))
        for r in range(r0, min(r1, sheet.row_count)):
            for c in range(c0, min(c1, sheet.column_count)):
                self._set_cell_data(sheet.cell(r, c), spec.get("cell", {}), spec.get("fields", "*"))
        sheet.prune()
        return {}

    def _req_setDataValidation(self, book: Spreadsheet, spec: _JSON) -> _JSON:
        grid = spec.get("range", {})
        sheet = book.sheet_by_id(grid.get("sheetId", 0))
        rule = spec.get("rule")
        if rule is not None:
            kind = rule.get("condition", {}).get("type")
            if kind == "ONE_OF_RANGE":
                ref = rule["condition"].get("values", [{}])[0].get("userEnteredValue", "").lstrip("=")
                _parse_range(book, re.sub(r"\$(?=[A-Za-z0-9])", "", ref))  # absolute refs ($A$2) are fine
        sheet.validations = [v for v in sheet.validations if not _inside(v["range"], grid)]
        if rule is not None:
            sheet.validations.append({"range": copy.deepcopy(grid), "rule": copy.deepcopy(rule)})
        return {}

    def _shift(self, sheet: Sheet, dimension: str, start: int, delta: int) -> None:
        axis = 0 if dimension == "ROWS" else 1
        moved: dict[tuple[int, int], Cell] = {}
        for key, cell in sheet.cells.items():
            pos = key[axis]
            if delta < 0 and start <= pos < start - delta:
                continue
            if pos >= start:
                pos += delta
            moved[(pos, key[1]) if axis == 0 else (key[0], pos)] = cell
        sheet.cells = moved

    def _req_deleteDimension(self, book: Spreadsheet, spec: _JSON) -> _JSON:
        rng = spec.get("range", {})
        sheet = book.sheet_by_id(rng.get("sheetId", 0))
        dim = rng.get("dimension", "ROWS")
        size = sheet.row_count if dim == "ROWS" else sheet.column_count
        start, end = rng.get("startIndex", 0), min(rng.get("endIndex", size), size)
        if end - start >= size:
            raise ApiError(
                400,
                "You can't delete all the rows on the sheet."
                if dim == "ROWS"
                else "You can't delete all the columns on the sheet.",
            )
        self._shift(sheet, dim, start, -(end - start))
        if dim == "ROWS":
            sheet.row_count -= end - start
        else:
            sheet.column_count -= end - start
        return {}

    def _req_insertDimension(self, book: Spreadsheet, spec: _JSON) -> _JSON:
        rng = spec.get("range", {})
        sheet = book.sheet_by_id(rng.get("sheetId", 0))
        dim = rng.get("dimension", "ROWS")
        start, end = rng.get("startIndex", 0), rng.get("endIndex", 0)
        self._shift(sheet, dim, start, end - start)
        if dim == "ROWS":
            sheet.row_count += end - start
        else:
            sheet.column_count += end - start
        return {}

    def _req_updateDimensionProperties(self, book: Spreadsheet, spec: _JSON) -> _JSON:
        rng = spec.get("range", {})
        sheet = book.sheet_by_id(rng.get("sheetId", 0))
        sizes = sheet.dimensions
        for index in range(rng.get("startIndex", 0), rng.get("endIndex", rng.get("startIndex", 0) + 1)):
            key = f"{rng.get('dimension', 'ROWS')}:{index}"
            sizes[key] = {**sizes.get(key, {}), **copy.deepcopy(spec.get("properties", {}))}
        return {}

    def _req_appendDimension(self, book: Spreadsheet, spec: _JSON) -> _JSON:
        sheet = book.sheet_by_id(spec.get("sheetId", 0))
        if spec.get("dimension", "ROWS") == "ROWS":
            sheet.row_count += int(spec.get("length", 0))
        else:
            sheet.column_count += int(spec.get("length", 0))
        return {}

    def _req_addChart(self, book: Spreadsheet, spec: _JSON) -> _JSON:
        chart = copy.deepcopy(spec.get("chart", {}))
        chart.setdefault("chartId", random.randint(1, 2**31 - 1))
        anchor = chart.get("position", {}).get("overlayPosition", {}).get("anchorCell", {})
        sheet_id = anchor.get("sheetId", chart.get("position", {}).get("sheetId", book.sheets[0].sheet_id))
        book.sheet_by_id(sheet_id).charts.append(chart)
        return {"addChart": {"chart": chart}}

    def _req_deleteEmbeddedObject(self, book: Spreadsheet, spec: _JSON) -> _JSON:
        wanted = spec.get("objectId")
        for sheet in book.sheets:
            kept = [c for c in sheet.charts if c.get("chartId") != wanted]
            if len(kept) != len(sheet.charts):
                sheet.charts = kept
                return {}
        raise ApiError(400, f"No embedded object with id: {wanted}")

    def _req_mergeCells(self, book: Spreadsheet, spec: _JSON) -> _JSON:
        grid = spec.get("range", {})
        book.sheet_by_id(grid.get("sheetId", 0)).merges.append(copy.deepcopy(grid))
        return {}

    def _req_unmergeCells(self, book: Spreadsheet, spec: _JSON) -> _JSON:
        sheet, r0, c0, r1, c1 = self._grid_cells(book, spec.get("range", {}))

        def inside(m: _JSON) -> bool:
            return bool(
                r0 <= m["startRowIndex"]
                and m["endRowIndex"] <= r1
                and c0 <= m["startColumnIndex"]
                and m["endColumnIndex"] <= c1
            )

        sheet.merges = [m for m in sheet.merges if not inside(m)]
        return {}

    def _crop(self, sheet: Sheet) -> None:
        sheet.cells = {k: v for k, v in sheet.cells.items() if k[0] < sheet.row_count and k[1] < sheet.column_count}

    # ---- Sheets: values
    def _value_range(self, rng: _Range, query: Mapping[str, list[str]]) -> _JSON:
        r0, c0, _r1, _c1 = rng.bounded()
        if r0 >= rng.sheet.row_count or c0 >= rng.sheet.column_count:
            raise ApiError(
                400,
                f"Range ({rng.a1()}) exceeds grid limits. Max rows: {rng.sheet.row_count}, max columns: {rng.sheet.column_count}",
            )
        rows = self._read(
            rng,
            query.get("valueRenderOption", ["FORMATTED_VALUE"])[0],
            query.get("dateTimeRenderOption", ["SERIAL_NUMBER"])[0],
        )
        major = query.get("majorDimension", ["ROWS"])[0]
        out: _JSON = {"range": rng.a1(), "majorDimension": major}
        if major == "COLUMNS":
            rows = _trim([[v if v is not None else "" for v in col] for col in _transpose(rows)])
        if rows:
            out["values"] = rows
        return out

    def _values_get(self, sid: str, rng: str, query: dict[str, list[str]], _body: Any) -> _JSON:
        return self._value_range(_parse_range(self.spreadsheet(sid), rng), query)

    def _values_batch_get(self, sid: str, _rng: str, query: dict[str, list[str]], _body: Any) -> _JSON:
        book = self.spreadsheet(sid)
        ranges = [_parse_range(book, r) for r in query.get("ranges", [])]
        return {"spreadsheetId": sid, "valueRanges": [self._value_range(r, query) for r in ranges]}

    def _update_one(self, book: Spreadsheet, rng_text: str, body: Any, option: str) -> _JSON:
        rng = _parse_range(book, rng_text)
        if not isinstance(body, dict):
            raise ApiError(400, "Invalid JSON payload received.")
        values = body.get("values", [])
        if not isinstance(values, list) or any(not isinstance(r, list) for r in values):
            raise ApiError(
                400,
                f"Invalid value at 'data.values' (type.googleapis.com/google.protobuf.ListValue), {json.dumps(values)}",
            )
        if body.get("majorDimension") == "COLUMNS":
            values = _transpose(values)
        result = {"spreadsheetId": book.spreadsheet_id, **self._write(rng, values, option)}
        book.modified = _serial_now()
        return result

    def _values_update(self, sid: str, rng: str, query: dict[str, list[str]], body: Any) -> _JSON:
        book = self.spreadsheet(sid)
        option = query.get("valueInputOption", [""])[0]
        if not option:
            raise ApiError(400, "'valueInputOption' is required but not specified")
        result = self._update_one(book, rng, body, option)
        if query.get("includeValuesInResponse", ["false"])[0].lower() == "true":
            result["updatedData"] = self._value_range(_parse_range(book, result["updatedRange"]), query)
        return result

    def _values_batch_update(self, sid: str, _rng: str, query: dict[str, list[str]], body: Any) -> _JSON:
        book = self.spreadsheet(sid)
        body = body or {}
        option = body.get("valueInputOption", "")
        if not option:
            raise ApiError(400, "'valueInputOption' is required but not specified")
        responses = [self._update_one(book, d.get("range", ""), d, option) for d in body.get("data", [])]
        result: _JSON = {"spreadsheetId": sid}
        if responses:
            result.update(
                totalUpdatedRows=sum(r.get("updatedRows", 0) for r in responses),
                totalUpdatedColumns=sum(r.get("updatedColumns", 0) for r in responses),
                totalUpdatedCells=sum(r.get("updatedCells", 0) for r in responses),
                totalUpdatedSheets=len({r["updatedRange"].rpartition("!")[0] for r in responses}),
            )
        result["responses"] = responses
        return result

    def _values_append(self, sid: str, rng: str, query: dict[str, list[str]], body: Any) -> _JSON:
        book = self.spreadsheet(sid)
        target = _parse_range(book, rng)
        option = query.get("valueInputOption", [""])[0]
        if not option:
            raise ApiError(400, "'valueInputOption' is required but not specified")
        sheet = target.sheet
        r0, c0, _r1, c1 = target.bounded()
        # the "table" is the first run of consecutive non-empty rows at or below the range's first row
        filled = {r for (r, c), cell in sheet.cells.items() if c0 <= c < c1 and r >= r0 and cell.has_value()}
        result: _JSON = {"spreadsheetId": sid}
        last = r0 - 1
        if filled:
            first = last = min(filled)
            while last + 1 in filled:
                last += 1
            cols = [
                c for (r, c), cell in sheet.cells.items() if c0 <= c < c1 and first <= r <= last and cell.has_value()
            ]
            result["tableRange"] = _a1(sheet, first, min(cols), last + 1, max(cols) + 1)
        values = (body or {}).get("values", [])
        if (body or {}).get("majorDimension") == "COLUMNS":
            values = _transpose(values)
        start = last + 1
        if query.get("insertDataOption", ["OVERWRITE"])[0] == "INSERT_ROWS":
            self._shift(sheet, "ROWS", start, len(values))
            sheet.row_count += len(values)
        updates = self._write(_Range(sheet, start, c0, None, None), values, option)
        result["updates"] = {"spreadsheetId": sid, **updates}
        if query.get("includeValuesInResponse", ["false"])[0].lower() == "true" and "updatedRows" in updates:
            result["updates"]["updatedData"] = self._value_range(_parse_range(book, updates["updatedRange"]), query)
        book.modified = _serial_now()
        return result

    def _values_clear(self, sid: str, rng: str, query: dict[str, list[str]], _body: Any) -> _JSON:
        book = self.spreadsheet(sid)
        return {"spreadsheetId": sid, "clearedRange": self._clear(_parse_range(book, rng))}

    def _values_batch_clear(self, sid: str, _rng: str, query: dict[str, list[str]], body: Any) -> _JSON:
        book = self.spreadsheet(sid)
        ranges = [_parse_range(book, r) for r in (body or {}).get("ranges", [])]
        return {"spreadsheetId": sid, "clearedRanges": [self._clear(r) for r in ranges]}

    # ---- Drive v3
    def _drive(self, method: str, file_id: str | None, query: dict[str, list[str]], raw: bytes) -> tuple[int, Any]:
        fields = query.get("fields", [""])[0]
        body = _json_body(raw) if method == "POST" else None
        if method == "POST" and file_id is None:
            body = body or {}
            if body.get("mimeType") != "application/vnd.google-apps.spreadsheet":
                raise ApiError(501, "sheetcrm emulator: only spreadsheets can be created in Drive")
            book = self._new_spreadsheet(body.get("name", "Untitled spreadsheet"), ["Sheet1"])
            return 200, self._drive_file(book, fields or "kind,id,name,mimeType")
        if method == "GET" and file_id is None:
            wanted = re.search(
                r"name\s*=\s*[\"'](.*?)[\"']", query.get("q", [""])[0]
            )  # only `name = "..."` is honoured
            files = [
                self._drive_file(b, "id,name,createdTime,modifiedTime,mimeType")
                for b in self.spreadsheets.values()
                if wanted is None or b.title == wanted.group(1)
            ]
            out = {"kind": "drive#fileList", "incompleteSearch": False, "files": files}
            return 200, _apply_fields(out, _parse_fields(fields)) if fields else out
        if file_id is not None and method in ("GET", "DELETE"):
            found = self.spreadsheets.get(file_id)
            if found is None:
                raise ApiError(404, f"File not found: {file_id}.")
            book = found
            if method == "DELETE":
                del self.spreadsheets[file_id]
                return 204, None
            return 200, self._drive_file(book, fields or "kind,id,name,mimeType")
        raise ApiError(
            501, f"sheetcrm emulator: {method} /drive/v3/files{'/' + file_id if file_id else ''} is not implemented"
        )

    @staticmethod
    def _drive_file(book: Spreadsheet, fields: str) -> _JSON:
        full = {
            "kind": "drive#file",
            "id": book.spreadsheet_id,
            "name": book.title,
            "mimeType": "application/vnd.google-apps.spreadsheet",
            "createdTime": book.created,
            "modifiedTime": book.modified,
        }
        return dict(_apply_fields(full, _parse_fields(fields)))


_DEFAULT_FORMAT: _JSON = {
    "backgroundColor": {"red": 1, "green": 1, "blue": 1},
    "padding": {"top": 2, "right": 3, "bottom": 2, "left": 3},
    "verticalAlignment": "BOTTOM",
    "wrapStrategy": "OVERFLOW_CELL",
    "textFormat": {
        "foregroundColor": {},
        "fontFamily": "arial,sans,sans-serif",
        "fontSize": 10,
        "bold": False,
        "italic": False,
        "strikethrough": False,
        "underline": False,
        "foregroundColorStyle": {"rgbColor": {}},
    },
    "backgroundColorStyle": {"rgbColor": {"red": 1, "green": 1, "blue": 1}},
}


def _cell_data(cell: Cell | None) -> _JSON:
    if cell is None:
        return {}
    out: _JSON = {}
    if cell.has_value():
        if cell.formula is not None:
            out["userEnteredValue"] = {"formulaValue": cell.formula}
        elif isinstance(cell.value, bool):
            out["userEnteredValue"] = {"boolValue": cell.value}
        elif isinstance(cell.value, int | float):
            out["userEnteredValue"] = {"numberValue": cell.value}
        else:
            out["userEnteredValue"] = {"stringValue": cell.value}
        out["formattedValue"] = _render(cell, "FORMATTED_VALUE", "FORMATTED_STRING")
    if cell.format:
        out["userEnteredFormat"] = copy.deepcopy(cell.format)
    if cell.date_pattern is not None and "numberFormat" not in cell.format:
        # typing a date gives the cell a date format, which Sheets reports as the cell's own
        out.setdefault("userEnteredFormat", {})["numberFormat"] = {"type": "DATE", "pattern": cell.date_pattern}
    if cell.note is not None:
        out["note"] = cell.note
    return out


def _leaf_paths(tree: Mapping[str, Any], prefix: list[str]) -> list[str]:
    """The dotted paths to the leaves of a parsed fields mask."""
    if not tree:
        return [".".join(prefix)]
    return [path for key, sub in tree.items() for path in _leaf_paths(sub, [*prefix, key])]


def _get_path(tree: Mapping[str, Any], keys: Sequence[str]) -> Any:
    for key in keys:
        if not isinstance(tree, Mapping) or key not in tree:
            return None
        tree = tree[key]
    return copy.deepcopy(tree)


def _set_path(tree: dict[str, Any], keys: Sequence[str], value: Any) -> None:
    """Set a nested field, or remove it (and parents left empty) when ``value`` is None."""
    head, rest = keys[0], keys[1:]
    if not rest:
        if value is None:
            tree.pop(head, None)
        else:
            tree[head] = value
        return
    child = tree.setdefault(head, {})
    _set_path(child, rest, value)
    if not child:
        tree.pop(head, None)


def _inside(inner: Mapping[str, Any], outer: Mapping[str, Any]) -> bool:
    """Whether GridRange ``inner`` lies within ``outer`` (open ends reach the sheet's edge)."""
    if inner.get("sheetId", 0) != outer.get("sheetId", 0):
        return False
    for start, end in (("startRowIndex", "endRowIndex"), ("startColumnIndex", "endColumnIndex")):
        if inner.get(start, 0) < outer.get(start, 0) or inner.get(end, 1 << 30) > outer.get(end, 1 << 30):
            return False
    return True


def _covers(grid: Mapping[str, Any], row: int, col: int) -> bool:
    return bool(
        grid.get("startRowIndex", 0) <= row < grid.get("endRowIndex", 1 << 30)
        and grid.get("startColumnIndex", 0) <= col < grid.get("endColumnIndex", 1 << 30)
    )


def _validation_at(sheet: Sheet, row: int, col: int) -> _JSON | None:
    for item in reversed(sheet.validations):
        if _covers(item["range"], row, col):
            return dict(item["rule"])
    return None


def _grid_data(rng: _Range) -> _JSON:
    r0, c0, r1, c1 = rng.bounded()
    rows = [[_cell_data(rng.sheet.cells.get((r, c))) for c in range(c0, c1)] for r in range(r0, r1)]
    if rng.sheet.validations:
        for i, row in enumerate(rows):
            for j, data in enumerate(row):
                rule = _validation_at(rng.sheet, r0 + i, c0 + j)
                if rule is not None:
                    data["dataValidation"] = copy.deepcopy(rule)
    out: _JSON = {}
    if r0:
        out["startRow"] = r0
    if c0:
        out["startColumn"] = c0
    row_data = [{"values": r} for r in rows]
    out["rowData"] = row_data
    return out


def _strip_empty(value: Any) -> Any:
    """Drop what a fields mask emptied: trailing {} cells, trailing empty rows, empty lists and dicts."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            v = _strip_empty(v)
            if k == "data" and isinstance(v, list):
                out[k] = [d if d else {} for d in v]
            elif v not in ({}, [], None):
                out[k] = v
        return out
    if isinstance(value, list):
        items = [_strip_empty(v) for v in value]
        while items and items[-1] in ({}, []):
            items.pop()
        return items
    return value


def _json_body(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        raise ApiError(400, "Invalid JSON payload received.") from None


def _json_response(status: int, payload: Any) -> tuple[int, dict[str, str], bytes]:
    data = json.dumps(payload, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
    return status, {"Content-Type": "application/json; charset=UTF-8"}, data


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class _OAuthError(ApiError):
    """OAuth errors have their own shape: ``{"error": "invalid_grant", "error_description": ...}``."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(400, description)
        self.error = error

    def body(self) -> _JSON:
        return {"error": self.error, "error_description": self.message}


class _Handler(BaseHTTPRequestHandler):
    server_version = "sheetcrm-emulator"
    protocol_version = "HTTP/1.0"  # one request per connection: nothing lingers when the emulator stops

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        emulator: SheetsEmulator = self.server.emulator  # type: ignore[attr-defined]
        status, headers, data = emulator.handle(self.command, self.path, dict(self.headers.items()), body)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data:
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read emulator.calls instead
        return


# --------------------------------------------------------------------------- client side


class EmulatorAdapter(HTTPAdapter):
    """A ``requests`` transport adapter that sends Google API URLs to the emulator instead.

    Mounted for each of :data:`GOOGLE_HOSTS`, it rewrites ``https://sheets.googleapis.com/v4/...`` to
    ``<base_url>/v4/...`` (and likewise for Drive and OAuth) just before the request goes out.
    """

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        url = request.url or ""
        for host in GOOGLE_HOSTS:
            if url.startswith(host + "/") or url == host:
                request.url = self.base_url + url[len(host) :]
                break
        return super().send(request, *args, **kwargs)


class _EmulatedSession(AuthorizedSession):
    """An ``AuthorizedSession`` that also closes the session its token refreshes use."""

    _refresh_session: requests.Session

    def close(self) -> None:
        self._refresh_session.close()
        super().close()  # type: ignore[no-untyped-call]


def emulated_session(credentials: Credentials, base_url: str) -> AuthorizedSession:
    """A google-auth ``AuthorizedSession`` whose Google API traffic goes to the emulator at ``base_url``.

    Pass it to gspread unmodified: ``gspread.Client(credentials, session=emulated_session(creds, url))``.
    Close it when done (``with emulated_session(...) as session:``).
    """
    refresh = requests.Session()
    adapter = EmulatorAdapter(base_url)
    for host in GOOGLE_HOSTS:
        refresh.mount(host, adapter)
    session = _EmulatedSession(credentials, auth_request=Request(refresh))  # type: ignore[no-untyped-call]
    session._refresh_session = refresh
    for host in GOOGLE_HOSTS:
        session.mount(host, EmulatorAdapter(base_url))
    return session


def make_service_account_key(path: Path | str, emulator: SheetsEmulator) -> Path:
    """Write a service-account JSON key (fresh RSA key) whose ``token_uri`` is the emulator's ``/token``.

    The emulator learns the public half, so it verifies the JWT google-auth signs with it. Mode 0600.
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_id = secrets.token_hex(20)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    info = {
        "type": "service_account",
        "project_id": "sheetcrm-emulator",
        "private_key_id": key_id,
        "private_key": pem.decode("ascii"),
        "client_email": "sheetcrm-test@emulator.iam.gserviceaccount.com",
        "client_id": str(random.randint(10**20, 10**21 - 1)),
        "auth_uri": emulator.base_url + "/o/oauth2/auth",
        "token_uri": emulator.token_uri,
        "auth_provider_x509_cert_url": emulator.base_url + "/oauth2/v1/certs",
        "universe_domain": "googleapis.com",
    }
    with emulator.lock:
        emulator.public_keys[key_id] = key.public_key()
    target = Path(path)
    target.touch(mode=0o600)
    target.chmod(0o600)
    target.write_text(json.dumps(info, indent=2), encoding="utf-8")
    return target


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator in the foreground (``sheetcrm emulator [--port N]``) until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="sheetcrm emulator", description="Serve a local Google Sheets API emulator.")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    parser.add_argument("--key", type=Path, help="also write a service-account key for it to this path")
    parser.add_argument("--no-auth", action="store_true", help="accept requests without a bearer token")
    args = parser.parse_args(argv)
    emulator = SheetsEmulator(port=args.port, require_auth=not args.no_auth).start()
    try:
        print(emulator.base_url, flush=True)
        if args.key:
            print(f"service-account key: {make_service_account_key(args.key, emulator)}", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


def _iter_cells(sheet: Sheet) -> Iterator[tuple[tuple[int, int], Cell]]:  # pragma: no cover - debugging aid
    yield from sorted(sheet.cells.items())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

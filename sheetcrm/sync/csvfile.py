"""Reading and writing CSV files as text, exactly as they are, the way Excel users make them.

Reading keeps every value as the text in the file: ``00123``, ``NA``, ``null`` and
``+8613800138000`` stay as they are (the :mod:`csv` module, never pandas' type guessing).
The encoding is detected (BOM, else UTF-8, else GB18030 as Chinese Excel saves "CSV"),
and so is the delimiter (``,`` ``;`` tab ``|``: European Excel writes ``;``).

Writing guards text against formula injection (:func:`guard_cell`) and replaces the file
atomically. It writes UTF-8 *with* a BOM by default: without one, Excel opens a CSV in
the computer's legacy code page (GBK on Chinese Windows, cp1252 in Western Europe) and
shows 客户名称 as mojibake; with it, Excel (and every CSV reader here) reads UTF-8.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from sheetcrm.errors import InputError, WorkbookUnreadable
from sheetcrm.sync.safewrite import replace_atomically
from sheetcrm.sync.table import RawSheet
from sheetcrm.sync.values import to_text

__all__ = ["DEFAULT_MAX_BYTES", "guard_cell", "read_csv", "write_csv"]

DEFAULT_MAX_BYTES = 2 * 1024**3  # 2 GiB
DELIMITERS = ",;\t|"
_SNIFF_CHARS = 64 * 1024

_ENCODING_HINT = "pass --encoding with the file's encoding (for example --encoding cp1252 or --encoding shift_jis)"

# Byte-order marks, longest first (the UTF-32 LE mark starts with the UTF-16 LE one).
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

# Text a spreadsheet may run as a formula when it starts with one of these (OWASP).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# ... unless it is a plain number (-5, +3.5, -1.2E+3) or a phone-like value: a sign then
# only digits, spaces and ( ) - . (+1 415 555 0134, +86 (10) 6552-9988). Neither holds a
# letter, so neither can call a function or reference a cell.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_PHONE_LIKE = re.compile(r"[+-][\d ().-]*")


def guard_cell(text: str) -> str:
    """Defuse a text a spreadsheet would run as a formula, by prefixing ``'``.

    The rule (OWASP "CSV injection"): a text starting with ``=`` ``+`` ``-`` ``@``, a tab or
    a carriage return gets a leading ``'``, which Excel and LibreOffice show as text. Two
    exceptions keep data people type: a plain number (``-5``, ``+3.5``, ``-1E+3``) and a
    sign followed only by digits, spaces and ``( ) - .`` (``+8613800138000``,
    ``+1 415 555 0134``); neither contains a letter, so neither can call a function,
    reference a cell or start DDE. Everything else starting that way is guarded::

        >>> guard_cell("=1+1"), guard_cell("-2+3"), guard_cell("-5"), guard_cell("+8613800138000")
        ("'=1+1", "'-2+3", '-5', '+8613800138000')
    """
    if not text.startswith(_FORMULA_STARTS):
        return text
    if text[0] in "+-" and (_PLAIN_NUMBER.fullmatch(text) or _PHONE_LIKE.fullmatch(text)):
        return text
    return "'" + text


def read_csv(
    path: str | Path,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> RawSheet:
    """Read a CSV file as a RawSheet named after the file, every value as the text in the file.

    ``encoding`` and ``delimiter`` override the detection. Rows are kept as they are
    (ragged rows stay ragged, blank lines stay as empty rows, so row numbers match what a
    spreadsheet shows)::

        >>> read_csv("customers.csv").rows[:2]
        [['customer_id', 'name', 'phone'], ['00123', '张三', '+8613800138000']]
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise WorkbookUnreadable(
                path,
                f"the file is {size / 1024**2:,.0f} MiB, more than the limit of {max_bytes / 1024**2:,.0f} MiB",
                hint="split the file, or raise the limit if you really mean to read it",
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise WorkbookUnreadable(path, "no such file") from None
    except IsADirectoryError:
        raise WorkbookUnreadable(path, "is a folder, not a file") from None
    except OSError as exc:
        raise WorkbookUnreadable(path, exc.strerror or str(exc)) from None
    _refuse_non_text(path, data)
    text = _decode(path, data, encoding)
    if "\x00" in text:
        raise WorkbookUnreadable(path, "the file holds NUL characters: it is binary, not CSV text")
    if delimiter is None:
        delimiter = sniff_delimiter(text)
    elif len(delimiter) != 1:
        raise WorkbookUnreadable(path, f"the delimiter must be one character, got {delimiter!r}")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        rows = [list(row) for row in reader]
    except csv.Error as exc:
        raise WorkbookUnreadable(path, f"line {reader.line_num}: {exc}") from None
    return RawSheet(name=path.stem, rows=rows)


def _refuse_non_text(path: Path, data: bytes) -> None:
    if data.startswith(b"PK"):
        raise WorkbookUnreadable(
            path,
            "this is an .xlsx workbook (or another zip file) with a .csv name",
            hint=f"rename it to {path.stem}.xlsx, or save it from Excel as 'CSV UTF-8'",
        )
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise WorkbookUnreadable(
            path,
            "this is an old Excel .xls workbook with a .csv name",
            hint="open it in Excel and save it as .xlsx or as 'CSV UTF-8'",
        )
    utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if not utf16 and b"\x00" in data[: 1 << 20]:
        raise WorkbookUnreadable(
            path,
            "the file holds NUL bytes: it is binary, not CSV text",
            hint="if it is UTF-16 text without a byte-order mark, pass --encoding utf-16-le",
        )


def _decode(path: Path, data: bytes, encoding: str | None) -> str:
    if encoding is not None:
        try:
            name = codecs.lookup(encoding).name
        except LookupError:
            raise WorkbookUnreadable(path, f"unknown encoding {encoding!r}", hint=_ENCODING_HINT) from None
        if name == "utf-8" and data.startswith(codecs.BOM_UTF8):
            name = "utf-8-sig"
        try:
            return data.decode(name)
        except UnicodeDecodeError as exc:
            raise WorkbookUnreadable(
                path, f"the file is not valid {encoding} text (byte {exc.start})", hint=_ENCODING_HINT
            ) from None
    for bom, name in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(name)
            except UnicodeDecodeError as exc:
                raise WorkbookUnreadable(
                    path, f"the file starts with a {name} byte-order mark but is not {name} text (byte {exc.start})"
                ) from None
    for name in ("utf-8", "gb18030"):
        try:
            return data.decode(name)
        except UnicodeDecodeError:
            continue
    raise WorkbookUnreadable(
        path, "cannot tell the file's encoding: it is neither UTF-8 nor GB18030 text", hint=_ENCODING_HINT
    )


def sniff_delimiter(text: str) -> str:
    """The delimiter among ``, ; tab |`` that a sample of ``text`` uses; ``,`` when unclear."""
    sample = text[:_SNIFF_CHARS]
    if len(text) > _SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    try:
        found = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        found = ""
    if found in DELIMITERS and found:
        return found
    first = sample.split("\n", 1)[0]
    counts = {candidate: first.count(candidate) for candidate in DELIMITERS}
    best = max(counts, key=lambda candidate: counts[candidate])
    return best if counts[best] else ","


def write_csv(
    path: str | Path,
    rows: Iterable[Sequence[object]],
    *,
    encoding: str = "utf-8-sig",
    guard_formulas: bool = True,
) -> None:
    """Write rows to a CSV file atomically (temp file beside it, fsync, ``os.replace``).

    Values become text as a person reads them (dates ISO, ``12.0`` → ``12``, None → empty);
    text goes through :func:`guard_cell` unless ``guard_formulas`` is false. The default
    encoding is UTF-8 with a BOM, the only UTF-8 Excel recognises when it opens a CSV::

        >>> write_csv("out.csv", [["name", "phone"], ["张三", "+8613800138000"]])
    """
    path = Path(path)
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise InputError(f"{path}: unknown encoding {encoding!r}", hint="use the default, utf-8-sig") from None

    def write(temp: Path) -> None:
        with temp.open("x", encoding=encoding, newline="") as stream:
            writer = csv.writer(stream, lineterminator="\r\n")
            for number, row in enumerate(rows, start=1):
                if isinstance(row, str | bytes):
                    raise TypeError(f"row {number} is a {type(row).__name__}, not a sequence of cells")
                cells = [to_text(value) for value in row]
                if guard_formulas:
                    cells = [guard_cell(cell) for cell in cells]
                try:
                    writer.writerow(cells)
                except UnicodeEncodeError:
                    column = next(j for j, cell in enumerate(cells, start=1) if not _encodes(cell, encoding))
                    raise InputError(
                        f"{path}: row {number}, column {column} holds text that {encoding} cannot encode",
                        hint="write with the default encoding, utf-8-sig, which holds every character",
                    ) from None

    replace_atomically(path, write)


def _encodes(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True

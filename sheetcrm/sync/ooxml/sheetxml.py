"""Rewrite a worksheet part in one streaming pass, changing only the cells asked for.

Rows that hold no cell to write are copied through as the bytes they were; a row that
does is cut into its cells, the written ones replaced (or inserted in column order), and
the row put back together. Memory is bounded by the read chunk plus the largest row.

Values are written as literals: text as an inline string (never a formula), numbers and
booleans as such, dates as serial numbers in a cell whose style shows a date. A cell keeps
its style unless the caller names another one.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO
from xml.sax.saxutils import escape

from sheetcrm.sync.a1 import column_index, column_letter

CellValue = str | int | float | bool | dt.date | dt.datetime | None

CHUNK = 1 << 22
_MAX_HEAD = 1 << 28  # the part before <sheetData>: views, columns, a dimension

_ROOT_PREFIX = re.compile(rb"<(?:([A-Za-z_][\w.-]*):)?worksheet[\s>]")
_SHEETDATA = re.compile(rb"<sheetData\s*(/?)>")
_ROW_START = re.compile(rb'<row r="([0-9]+)"')
_CELL = re.compile(rb"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.S)
_ATTRIBUTE = re.compile(rb'\s([\w:]+)="([^"]*)"')
_DIMENSION = re.compile(rb'<dimension ref="([^"]*)"\s*/>')
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ESCAPE_LIKE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")


class Unsupported(Exception):
    """The part is laid out in a way this writer does not handle; the caller falls back."""


@dataclass(frozen=True)
class OldCell:
    """A cell as it was in the part: what the caller needs to check it against the value read."""

    style: int
    kind: str  # the t attribute: "n" (number, the default), "s", "inlineStr", "str", "b", "e", "d"
    value: str | None  # the <v> text, or an inline string's text (XML-unescaped, _xHHHH_ not decoded)
    formula: bool


@dataclass(frozen=True)
class CellWrite:
    """A value for one cell; ``style`` None keeps the cell's own style."""

    value: CellValue
    style: int | None = None


SeenCallback = Callable[[int, int, OldCell | None], None]
DateStyle = Callable[[int, CellValue], int]


@dataclass
class SheetRewrite:
    """What to write into one sheet: ``cells[row][column]`` (1-based numbers)."""

    cells: Mapping[int, Mapping[int, CellWrite]]
    seen: SeenCallback | None = None  # called with each written cell's previous state
    date_style: DateStyle | None = None  # the style to give a date written into a cell of this style
    epoch: dt.datetime = dt.datetime(1899, 12, 30)  # 1900 date system; 1904: 1904-01-01


def rewrite_sheet(source: IO[bytes], plan: SheetRewrite, *, chunk_size: int = CHUNK) -> Iterator[bytes]:
    """Yield the new worksheet part, reading the old one from ``source`` in chunks."""
    targets = sorted(plan.cells)
    max_row = targets[-1] if targets else 0
    max_column = max((column for row in plan.cells.values() for column in row), default=0)
    buffer = b""
    # the head (everything before <sheetData>) is small: hold it to fix <dimension>
    while True:
        found = _SHEETDATA.search(buffer)
        if found:
            break
        chunk = source.read(chunk_size)
        if not chunk:
            raise Unsupported("no <sheetData> element")
        buffer += chunk
        if len(buffer) > _MAX_HEAD:
            raise Unsupported("the part before <sheetData> is too large")
    head = buffer[: found.start()]
    root = _ROOT_PREFIX.search(head)
    if root is None or root.group(1):
        raise Unsupported("namespace-prefixed worksheet elements")
    yield _widen_dimension(head, max_row, max_column)
    if found.group(1):  # <sheetData/>: nothing to copy, only rows to add
        yield b"<sheetData>"
        yield from (_new_row(row, plan) for row in targets)
        yield b"</sheetData>"
        yield buffer[found.end() :]
        yield from iter(lambda: source.read(chunk_size), b"")
        return
    yield buffer[found.start() : found.end()]
    buffer = buffer[found.end() :]
    position = 0  # everything before it has been yielded
    pending = 0  # the next of targets to write
    while True:
        end = buffer.find(b"</sheetData>", position)
        odd = _ROW_WITHOUT_REF.search(buffer, position)  # searched to the end: the lookahead needs the bytes after
        if odd and odd.start() < (end if end >= 0 else len(buffer) - _TAIL):
            raise Unsupported("rows without an r= attribute first")
        incomplete = -1
        for match in _ROW_START.finditer(buffer, position, end if end >= 0 else len(buffer)):
            row = int(match.group(1))
            if pending >= len(targets) or targets[pending] > row:
                continue  # copied through with the bytes around it
            close = _row_end(buffer, match.start())
            if close < 0:
                incomplete = match.start()  # the row runs past this chunk: read more first
                break
            yield buffer[position : match.start()]
            while pending < len(targets) and targets[pending] < row:
                yield _new_row(targets[pending], plan)  # a row the part did not have
                pending += 1
            if pending < len(targets) and targets[pending] == row:
                yield _rewrite_row(buffer[match.start() : close], row, plan)
                pending += 1
            else:
                yield buffer[match.start() : close]
            position = close
        if incomplete < 0 and end >= 0:
            yield buffer[position:end]
            while pending < len(targets):
                yield _new_row(targets[pending], plan)
                pending += 1
            yield buffer[end:]
            yield from iter(lambda: source.read(chunk_size), b"")
            return
        # keep an unfinished row, or a tail that may hold a split tag, for the next chunk
        cut = incomplete if incomplete >= 0 else max(position, len(buffer) - _TAIL)
        yield buffer[position:cut]
        chunk = source.read(chunk_size)
        if not chunk:
            raise Unsupported("the worksheet ends inside <sheetData>")
        buffer = buffer[cut:] + chunk
        position = 0


_TAIL = 64  # longer than any row start tag prefix or </sheetData>
_ROW_WITHOUT_REF = re.compile(rb'<row(?! r=")[\s/>]')


def _row_end(buffer: bytes, start: int) -> int:
    """The index just past the row starting at ``start``, or -1 if it is not all in ``buffer``."""
    tag_end = buffer.find(b">", start)
    if tag_end < 0:
        return -1
    if buffer[tag_end - 1 : tag_end] == b"/":
        return tag_end + 1
    close = buffer.find(b"</row>", tag_end)
    return -1 if close < 0 else close + len(b"</row>")


def _rewrite_row(xml: bytes, row: int, plan: SheetRewrite) -> bytes:
    writes = plan.cells[row]
    tag_end = xml.find(b">")
    self_closing = xml[tag_end - 1 : tag_end] == b"/"
    open_tag = xml[: tag_end - 1] + b">" if self_closing else xml[: tag_end + 1]
    body = b"" if self_closing else xml[tag_end + 1 : -len(b"</row>")]
    cells: list[tuple[int, bytes]] = []
    done: set[int] = set()
    last = 0
    for match in _CELL.finditer(body):
        if body[last : match.start()].strip():
            raise Unsupported(f"row {row} holds something other than cells")
        last = match.end()
        attributes = dict(_ATTRIBUTE.findall(match.group(1)))
        ref = attributes.get(b"r")
        if ref is None:
            raise Unsupported(f"a cell of row {row} has no r= attribute")
        column = column_index(re.sub(r"[0-9]", "", ref.decode("ascii")))
        write = writes.get(column)
        if write is None:
            cells.append((column, match.group(0)))
            continue
        old = _old_cell(attributes, match.group(2) or b"")
        if plan.seen is not None:
            plan.seen(row, column, old)
        cells.append((column, _cell_xml(row, column, write, old.style, plan)))
        done.add(column)
    if body[last:].strip():
        raise Unsupported(f"row {row} holds something other than cells")
    for column, write in writes.items():
        if column not in done:
            if plan.seen is not None:
                plan.seen(row, column, None)
            cells.append((column, _cell_xml(row, column, write, 0, plan)))
    cells.sort(key=lambda item: item[0])
    return _with_spans(open_tag, cells) + b"".join(xml for _, xml in cells) + b"</row>"


def _new_row(row: int, plan: SheetRewrite) -> bytes:
    cells = sorted(plan.cells[row].items())
    for column, _ in cells:
        if plan.seen is not None:
            plan.seen(row, column, None)
    return f'<row r="{row}">'.encode() + b"".join(_cell_xml(row, c, w, 0, plan) for c, w in cells) + b"</row>"


def _with_spans(open_tag: bytes, cells: list[tuple[int, bytes]]) -> bytes:
    """Widen an existing spans="a:b" hint to the row's cells (it is only an optimisation hint)."""
    spans = re.search(rb'\sspans="([0-9]+):([0-9]+)"', open_tag)
    if spans is None or not cells:
        return open_tag
    low = min(int(spans.group(1)), cells[0][0])
    high = max(int(spans.group(2)), cells[-1][0])
    return open_tag[: spans.start()] + f' spans="{low}:{high}"'.encode() + open_tag[spans.end() :]


def _old_cell(attributes: Mapping[bytes, bytes], inner: bytes) -> OldCell:
    style = int(attributes.get(b"s", b"0") or 0)
    kind = attributes.get(b"t", b"n").decode("ascii")
    value: str | None = None
    if kind == "inlineStr":
        runs = re.sub(rb"<rPh\b.*?</rPh>", b"", inner, flags=re.S) if b"<rPh" in inner else inner  # phonetic guides
        value = "".join(_unescape(t) for t in re.findall(rb"<t(?:\s[^>]*)?>(.*?)</t>", runs, re.S))
    else:
        found = re.search(rb"<v(?:\s[^>]*)?>(.*?)</v>", inner, re.S)
        value = _unescape(found.group(1)) if found else None
    return OldCell(style, kind, value, b"<f" in inner)


def _unescape(raw: bytes) -> str:
    text = raw.decode("utf-8")
    if "&" not in text:
        return text
    return (
        re.sub(r"&#x([0-9A-Fa-f]+);", lambda m: chr(int(m.group(1), 16)), re.sub(r"&#([0-9]+);", _decimal, text))
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", '"')
        .replace("&apos;", "'")
        .replace("&amp;", "&")
    )


def _decimal(match: re.Match[str]) -> str:
    return chr(int(match.group(1)))


def _cell_xml(row: int, column: int, write: CellWrite, old_style: int, plan: SheetRewrite) -> bytes:
    ref = f"{column_letter(column)}{row}"
    value = write.value
    style = old_style if write.style is None else write.style
    if isinstance(value, dt.date) and plan.date_style is not None:
        style = plan.date_style(style, value)
    s = f' s="{style}"' if style else ""
    if value is None or value == "":
        return f'<c r="{ref}"{s}/>'.encode()
    if isinstance(value, str):
        return f'<c r="{ref}"{s} t="inlineStr"><is><t xml:space="preserve">{text_xml(value)}</t></is></c>'.encode()
    if isinstance(value, bool):
        return f'<c r="{ref}"{s} t="b"><v>{int(value)}</v></c>'.encode()
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{ref}: {value} cannot be stored in a cell")
        return f'<c r="{ref}"{s}><v>{value!r}</v></c>'.encode()
    serial = date_serial(value, plan.epoch)
    return f'<c r="{ref}"{s}><v>{serial!r}</v></c>'.encode()


def date_serial(value: dt.date | dt.datetime, epoch: dt.datetime) -> float | int:
    """The serial number Excel stores for a date (whole days) or a date and time."""
    moment = value if isinstance(value, dt.datetime) else dt.datetime(value.year, value.month, value.day)
    delta = moment.replace(tzinfo=None) - epoch
    days = delta.days + delta.seconds / 86400 + delta.microseconds / 86_400_000_000
    if epoch.year == 1899 and days < 61:
        days -= 1  # Excel's 1900 system counts a 29 February 1900 that never was
    return int(days) if days == int(days) else days


def text_xml(text: str) -> str:
    """Text for a <t> element: XML-escaped, and escaped the way Excel reads _xHHHH_ sequences."""
    text = _ESCAPE_LIKE.sub(r"_x005F_\1", text)  # a literal "_x000D_" must not be read as a CR
    text = _XML_ILLEGAL.sub(lambda m: f"_x{ord(m.group(0)):04X}_", text)
    return escape(text)


def _widen_dimension(head: bytes, max_row: int, max_column: int) -> bytes:
    found = _DIMENSION.search(head)
    if found is None or not max_row:
        return head
    ref = found.group(1).decode("ascii")
    first, _, last = ref.partition(":")
    last = last or first
    letters = re.sub(r"[0-9$]", "", last)
    digits = re.sub(r"[A-Za-z$]", "", last)
    if not letters or not digits:
        return head
    row, column = int(digits), column_index(letters)
    if max_row <= row and max_column <= column:
        return head
    widened = f"{first}:{column_letter(max(column, max_column))}{max(row, max_row)}"
    return head[: found.start()] + f'<dimension ref="{widened}"/>'.encode() + head[found.end() :]

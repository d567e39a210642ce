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
from collections.abc import Callable, Collection, Iterator, Mapping
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


class _Keep:
    """The type of :data:`KEEP`."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP = _Keep()
"""A CellWrite value meaning: leave the cell's content as it is (only its style changes)."""

Restyle = Callable[[int | None], int]
"""Given a cell's style (None when the part has no such cell), the style to give it."""


@dataclass(frozen=True)
class CellWrite:
    """A value for one cell (or :data:`KEEP`), and its style.

    ``style`` names the style outright; otherwise ``restyle`` derives it from the cell's old
    style, and without either the cell keeps its own (a new cell gets style 0).
    """

    value: CellValue | _Keep
    style: int | None = None
    restyle: Restyle | None = None


SeenCallback = Callable[[int, int, OldCell | None], None]
DateStyle = Callable[[int, CellValue], int]


@dataclass
class SheetRewrite:
    """What to write into one sheet: ``cells[row][column]`` (1-based numbers)."""

    cells: Mapping[int, Mapping[int, CellWrite]]
    seen: SeenCallback | None = None  # called with each written cell's previous state
    date_style: DateStyle | None = None  # the style to give a date written into a cell of this style
    epoch: dt.datetime = dt.datetime(1899, 12, 30)  # 1900 date system; 1904: 1904-01-01
    tail: Callable[[bytes], bytes] | None = None  # rewrites what follows </sheetData> (notes, validations)
    head: Callable[[bytes], bytes] | None = None  # rewrites what precedes <sheetData> (column formats)


def rewrite_sheet(source: IO[bytes], plan: SheetRewrite, *, chunk_size: int = CHUNK) -> Iterator[bytes]:
    """Yield the new worksheet part, reading the old one from ``source`` in chunks."""
    targets = sorted(plan.cells)
    max_row = targets[-1] if targets else 0
    max_column = max((column for row in plan.cells.values() for column in row), default=0)
    # the head (everything before <sheetData>) is small: hold it to fix <dimension>
    buffer, found = _read_to_sheet_data(source, chunk_size)
    head = buffer[: found.start()]
    root = _ROOT_PREFIX.search(head)
    if root is None or root.group(1):
        raise Unsupported("namespace-prefixed worksheet elements")
    if plan.head is not None:
        head = plan.head(head)
    yield _widen_dimension(head, max_row, max_column)
    if found.group(1):  # <sheetData/>: nothing to copy, only rows to add
        yield b"<sheetData>"
        yield from (_new_row(row, plan) for row in targets)
        yield b"</sheetData>"
        yield from _rest(buffer[found.end() :], source, plan, chunk_size)
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
        limit = end if end >= 0 else len(buffer)
        pieces: list[bytes] = []
        keep = -1  # where an unfinished row starts: kept for the next chunk
        # jump from target row to target row: the rows between are copied as one slice
        while pending < len(targets):
            target = targets[pending]
            start = buffer.find(b'<row r="%d"' % target, position, limit)
            if start >= 0:
                close = _row_end(buffer, start)
                if close < 0:
                    keep = start  # the row runs past this chunk: read more first
                    break
                pieces += (buffer[position:start], _rewrite_row(buffer[start:close], target, plan))
                position = close
            else:
                following = _first_row_after(buffer, position, limit, target)
                if following < 0 and end < 0:
                    break  # the row, or the one after where it belongs, is further on
                at = following if following >= 0 else end
                pieces += (buffer[position:at], _new_row(target, plan))  # a row the part did not have
                position = at
            pending += 1
        if end >= 0 and keep < 0:
            pieces.append(buffer[position : end + len(b"</sheetData>")])
            yield b"".join(pieces)
            yield from _rest(buffer[end + len(b"</sheetData>") :], source, plan, chunk_size)
            return
        # keep an unfinished row, or a tail that may hold a split tag, for the next chunk
        cut = keep if keep >= 0 else max(position, len(buffer) - _TAIL)
        pieces.append(buffer[position:cut])
        yield b"".join(pieces)
        chunk = source.read(chunk_size)
        if not chunk:
            raise Unsupported("the worksheet ends inside <sheetData>")
        buffer = buffer[cut:] + chunk
        position = 0


_MAX_TAIL = 1 << 28  # what follows the cells: merges, formats, validations, links


def _rest(start: bytes, source: IO[bytes], plan: SheetRewrite, chunk_size: int) -> Iterator[bytes]:
    """The part after ``</sheetData>``: copied through, or read whole and given to ``plan.tail``."""
    if plan.tail is None:
        yield start
        yield from iter(lambda: source.read(chunk_size), b"")
        return
    yield plan.tail(_read_tail(start, source, chunk_size))


def _read_tail(start: bytes, source: IO[bytes], chunk_size: int) -> bytes:
    """``start`` and the rest of the part, whole: the part after the cells, which is small."""
    pieces = [start]
    size = len(start)
    for chunk in iter(lambda: source.read(chunk_size), b""):
        size += len(chunk)
        if size > _MAX_TAIL:
            raise Unsupported("the part after <sheetData> is too large")
        pieces.append(chunk)
    return b"".join(pieces)


def _first_row_after(buffer: bytes, position: int, limit: int, target: int) -> int:
    """Where the first row numbered above ``target`` starts in ``buffer[position:limit]``, or -1
    when no complete row start there is (the rows there are all below it, or there are none)."""
    last = buffer.rfind(b'<row r="', position, limit)
    while last >= 0:
        number = _ROW_START.match(buffer, last)
        if number is not None:  # the pattern ends with the closing quote: a cut-off tag does not match
            if int(number.group(1)) <= target:
                return -1
            break
        last = buffer.rfind(b'<row r="', position, last)  # a tag cut off by the chunk's end: the one before
    if last < 0:
        return -1
    for match in _ROW_START.finditer(buffer, position, limit):  # rare: a row inserted in the middle
        if int(match.group(1)) > target:
            return match.start()
    return -1


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
    fast = _rewrite_cells_in_place(xml, row, plan)
    if fast is not None:
        return fast
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
        if write.value is KEEP:
            cells.append((column, _restyled(match.group(0), match.group(1), _style_of(write, old.style, plan))))
        else:
            cells.append((column, _cell_xml(row, column, write, old.style, plan)))
        done.add(column)
    if body[last:].strip():
        raise Unsupported(f"row {row} holds something other than cells")
    for column, write in writes.items():
        if column not in done:
            if plan.seen is not None:
                plan.seen(row, column, None)
            cells.append((column, _cell_xml(row, column, write, None, plan)))
    cells.sort(key=lambda item: item[0])
    return _with_spans(open_tag, cells) + b"".join(xml for _, xml in cells) + b"</row>"


def _rewrite_cells_in_place(xml: bytes, row: int, plan: SheetRewrite) -> bytes | None:
    """The row with its written cells replaced where they are, or inserted in column order,
    found by their r= attribute without parsing the others: the common case of a few cells of
    a long row. None where the row is laid out otherwise (the full parse then handles it)."""
    located: list[tuple[int, int, int, bytes | None, bytes]] = []  # start, end, column, attributes, inner
    missing: list[int] = []
    for column in plan.cells[row]:
        start = xml.find(f'<c r="{column_letter(column)}{row}"'.encode())
        if start < 0:
            missing.append(column)
            continue
        tag_end = xml.find(b">", start)
        if tag_end < 0:
            return None
        if xml[tag_end - 1 : tag_end] == b"/":
            located.append((start, tag_end + 1, column, xml[start + 2 : tag_end - 1], b""))
            continue
        close = xml.find(b"</c>", tag_end)
        if close < 0:
            return None
        located.append((start, close + len(b"</c>"), column, xml[start + 2 : tag_end], xml[tag_end + 1 : close]))
    head = xml.find(b">") + 1
    open_tag = xml[:head]
    if missing:
        places = _insertion_points(xml, missing)
        if places is None:
            return None
        located += [(place, place, column, None, b"") for column, place in places.items()]
        open_tag = _with_spans(open_tag, [(min(missing), b""), (max(missing), b"")])
    found: list[tuple[int, int, int, bytes]] = []
    for start, end, column, attributes, inner in located:  # only now: seen and restyle run once per cell
        write = plan.cells[row][column]
        if attributes is None:
            if plan.seen is not None:
                plan.seen(row, column, None)
            found.append((start, column, end, _cell_xml(row, column, write, None, plan)))
            continue
        old = _old_cell(dict(_ATTRIBUTE.findall(attributes)), inner)
        if plan.seen is not None:
            plan.seen(row, column, old)
        if write.value is KEEP:
            cell = _restyled(xml[start:end], attributes, _style_of(write, old.style, plan))
        else:
            cell = _cell_xml(row, column, write, old.style, plan)
        found.append((start, column, end, cell))
    found.sort()
    pieces: list[bytes] = [open_tag]
    position = head
    for start, _, end, cell in found:
        pieces += (xml[position:start], cell)
        position = end
    pieces.append(xml[position:])
    return b"".join(pieces)


_CELL_REF = re.compile(rb'<c r="([A-Z]{1,3})([0-9]+)"')


def _insertion_points(xml: bytes, columns: list[int]) -> dict[int, int] | None:
    """Where new cells of ``columns`` go: before the first cell to their right, or before </row>."""
    tag_end = xml.find(b">")
    if xml[tag_end - 1 : tag_end] == b"/":
        return None  # <row .../>: the full parse opens it
    if xml.count(b'<c r="') != xml.count(b"<c ") + xml.count(b"<c>"):
        return None  # a cell without r= first: its column is not where this looks
    end = xml.rfind(b"</row>")
    last = _CELL_REF.match(xml, xml.rfind(b'<c r="'))
    places: dict[int, int] = {}
    for column in columns:
        if last is None or _column_key(last.group(1)) < _column_key(column_letter(column).encode()):
            places[column] = end  # right of every cell: the usual case, a new cell in the last column
            continue
        # columns sort as (length, letters): "Z" < "AA"
        key = _column_key(column_letter(column).encode())
        places[column] = next(
            (match.start() for match in _CELL_REF.finditer(xml) if _column_key(match.group(1)) > key), end
        )
    return places


def _column_key(letters: bytes) -> tuple[int, bytes]:
    return len(letters), letters


def _new_row(row: int, plan: SheetRewrite) -> bytes:
    cells = sorted(plan.cells[row].items())
    for column, _ in cells:
        if plan.seen is not None:
            plan.seen(row, column, None)
    return f'<row r="{row}">'.encode() + b"".join(_cell_xml(row, c, w, None, plan) for c, w in cells) + b"</row>"


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


def _style_of(write: CellWrite, old_style: int | None, plan: SheetRewrite) -> int:
    if write.style is not None:
        style = write.style
    elif write.restyle is not None:
        style = write.restyle(old_style)
    else:
        style = old_style or 0
    if isinstance(write.value, dt.date) and plan.date_style is not None:
        style = plan.date_style(style, write.value)
    return style


def _restyled(cell: bytes, attributes: bytes, style: int) -> bytes:
    """A cell's XML as it was, with only its s= attribute set to ``style``."""
    tag_end = len(b"<c") + len(attributes)
    if re.search(rb'\ss="', attributes):
        attributes = re.sub(rb'\ss="[^"]*"', f' s="{style}"'.encode() if style else b"", attributes, count=1)
    elif style:
        attributes = re.sub(rb'(\sr="[^"]*")', lambda m: m.group(1) + f' s="{style}"'.encode(), attributes, count=1)
    return b"<c" + attributes + cell[tag_end:]


def _cell_xml(row: int, column: int, write: CellWrite, old_style: int | None, plan: SheetRewrite) -> bytes:
    ref = f"{column_letter(column)}{row}"
    value = write.value
    style = _style_of(write, old_style, plan)
    s = f' s="{style}"' if style else ""
    if value is None or value == "" or value is KEEP:
        return f'<c r="{ref}"{s}/>'.encode()
    if isinstance(value, str):
        return f'<c r="{ref}"{s} t="inlineStr"><is><t xml:space="preserve">{text_xml(value)}</t></is></c>'.encode()
    if isinstance(value, bool):
        return f'<c r="{ref}"{s} t="b"><v>{int(value)}</v></c>'.encode()
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{ref}: {value} cannot be stored in a cell")
        return f'<c r="{ref}"{s}><v>{value!r}</v></c>'.encode()
    assert isinstance(value, dt.date)
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


@dataclass(frozen=True)
class ColumnSpan:
    """A ``<col>`` element: columns ``first`` to ``last`` share ``style`` (0: none given)."""

    first: int
    last: int
    style: int


@dataclass(frozen=True)
class SheetLayout:
    """What an append needs from a sheet: where its data ends and how its cells look."""

    columns: tuple[ColumnSpan, ...]
    last_used_row: int  # the last row holding a value or formula (0: none)
    last_row_styles: Mapping[int, int]  # that row's cells' styles by column, where not 0

    def column_style(self, column: int) -> int:
        """The style a ``<col>`` gives ``column`` (0 when none does)."""
        for span in self.columns:
            if span.first <= column <= span.last:
                return span.style
        return 0


_COL = re.compile(rb"<col\b([^>]*?)/?>")
_VALUE_ENDS = (b"</v>", b"</t>", b"</f>")


def _read_to_sheet_data(source: IO[bytes], chunk_size: int) -> tuple[bytes, re.Match[bytes]]:
    """Read until the ``<sheetData>`` tag: the bytes read, and the tag's match in them."""
    buffer = b""
    while True:
        found = _SHEETDATA.search(buffer)
        if found:
            return buffer, found
        chunk = source.read(chunk_size)
        if not chunk:
            raise Unsupported("no <sheetData> element")
        buffer += chunk
        if len(buffer) > _MAX_HEAD:
            raise Unsupported("the part before <sheetData> is too large")


def sheet_head(source: IO[bytes], *, chunk_size: int = 1 << 16) -> bytes:
    """The part before ``<sheetData>`` (views, columns, dimension): read only that far."""
    buffer, found = _read_to_sheet_data(source, chunk_size)
    return buffer[: found.start()]


def sheet_tail(source: IO[bytes], *, chunk_size: int = CHUNK) -> bytes:
    """The part after its cells (after ``</sheetData>``, or ``<sheetData/>``): merges, formats,
    validations, drawings. Streams past the rows without keeping them."""
    buffer, found = _read_to_sheet_data(source, chunk_size)
    if found.group(1):
        tail = buffer[found.end() :]
    else:
        marker = b"</sheetData>"
        buffer = buffer[found.end() :]
        while (end := buffer.find(marker)) < 0:
            chunk = source.read(chunk_size)
            if not chunk:
                raise Unsupported("the worksheet ends inside <sheetData>")
            buffer = buffer[-len(marker) :] + chunk
        tail = buffer[end + len(marker) :]
    return _read_tail(tail, source, chunk_size)


_CELL_REF_NOT_FIRST = re.compile(rb'<c\s(?!r=")')


def column_cells(
    source: IO[bytes], columns: Collection[int], *, first_row: int = 1, chunk_size: int = CHUNK
) -> Iterator[tuple[int, int, OldCell]]:
    """``(row, column, cell)`` for every cell the part has in ``columns``, from ``first_row`` down.

    One streaming pass; each chunk is searched in C once per column, so the Python work is per
    cell found, not per cell of the sheet. Raises Unsupported for cells whose ``r=`` is not
    their first attribute (no program known to sheetcrm writes them so).
    """
    patterns = {
        column: re.compile(rb'<c r="' + column_letter(column).encode() + rb'([0-9]+)"([^>]*?)(?:/>|>(.*?)</c>)', re.S)
        for column in columns
    }
    buffer, found = _read_to_sheet_data(source, chunk_size)
    if found.group(1) or not patterns:
        return
    for rows in _complete_rows(buffer[found.end() :], source, chunk_size):
        if _CELL_REF_NOT_FIRST.search(rows):
            raise Unsupported("cells whose r= is not their first attribute")
        for column, pattern in patterns.items():
            for match in pattern.finditer(rows):
                row = int(match.group(1))
                if row >= first_row:
                    attributes = dict(_ATTRIBUTE.findall(match.group(2)))
                    yield row, column, _old_cell(attributes, match.group(3) or b"")


def _complete_rows(
    buffer: bytes, source: IO[bytes], chunk_size: int, *, rest: list[bytes] | None = None
) -> Iterator[bytes]:
    """The rows of ``<sheetData>`` (``buffer`` starts just inside it), as slices of whole rows;
    ``rest`` gets what follows them, from ``</sheetData>`` on."""
    while True:
        end = buffer.find(b"</sheetData>")
        if end >= 0:
            complete = end
        else:
            closed = buffer.rfind(b"</row>")
            complete = closed + len(b"</row>") if closed >= 0 else 0
        yield buffer[:complete]
        if end >= 0:
            if rest is not None:
                rest.append(buffer[end:])
            return
        chunk = source.read(chunk_size)
        if not chunk:
            raise Unsupported("the worksheet ends inside <sheetData>")
        buffer = buffer[complete:] + chunk


def column_spans(head: bytes) -> tuple[ColumnSpan, ...]:
    """The ``<col>`` elements of a sheet's head."""
    spans = []
    for match in _COL.finditer(head):
        attributes = dict(_ATTRIBUTE.findall(match.group(1)))
        try:
            first = int(attributes[b"min"])
            last = int(attributes.get(b"max") or attributes[b"min"])
        except (KeyError, ValueError):
            raise Unsupported("a <col> element without min and max") from None
        spans.append(ColumnSpan(first, last, int(attributes.get(b"style", b"0") or 0)))
    return tuple(spans)


def sheet_layout(source: IO[bytes], *, chunk_size: int = CHUNK) -> SheetLayout:
    """Where a sheet's data ends, in one pass over the part with a few C-level searches per chunk."""
    buffer, found = _read_to_sheet_data(source, chunk_size)
    columns = column_spans(buffer[: found.start()])
    if found.group(1):
        return SheetLayout(columns, 0, {})
    last_row = b""
    for rows in _complete_rows(buffer[found.end() :], source, chunk_size):
        row = _last_row_with_value(rows, len(rows))
        if row:
            last_row = row
    if not last_row:
        return SheetLayout(columns, 0, {})
    number = _ROW_START.match(last_row)
    if number is None:
        raise Unsupported("rows without an r= attribute first")
    styles: dict[int, int] = {}
    for match in _CELL.finditer(last_row):
        attributes = dict(_ATTRIBUTE.findall(match.group(1)))
        style = int(attributes.get(b"s", b"0") or 0)
        ref = attributes.get(b"r")
        if ref is None:
            raise Unsupported("a cell without an r= attribute")
        if style:
            styles[column_index(re.sub(r"[0-9]", "", ref.decode("ascii")))] = style
    return SheetLayout(columns, int(number.group(1)), styles)


def _last_row_with_value(buffer: bytes, stop: int) -> bytes:
    """The XML of the last complete row before ``stop`` holding a non-empty value, or b""."""
    limit = stop
    while limit > 0:
        position = max(buffer.rfind(marker, 0, limit) for marker in _VALUE_ENDS)
        if position < 0:
            return b""
        opening = buffer.rfind(b"<", 0, position)
        if buffer[position : position + 4] != b"</f>" and buffer.find(b">", opening) == position - 1:
            limit = position  # <v></v> or <t></t>: an empty value, look further back
            continue
        start = buffer.rfind(b"<row", 0, position)
        if start < 0:
            raise Unsupported("a value outside any row")
        close = buffer.find(b"</row>", position)
        return buffer[start : close + len(b"</row>")]
    return b""

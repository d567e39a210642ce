"""A worksheet part read through a row shift: rows renumbered, deleted rows left out, formulas moved.

Deleting or inserting rows changes the number of every row below, and every formula
that refers to a moved row. :class:`ShiftedSheet` is a file-like view of a worksheet part
that does both as it is read, chunk by chunk, so that the cell writer
(:func:`~sheetcrm.sync.ooxml.sheetxml.rewrite_sheet`) reads it as if the rows had always
been where they now are. Rows above the first moved one are copied as they were, apart
from their formulas.

Shared formulas (``<f t="shared">``, as LibreOffice and Excel write them) store one
formula for a block of cells; a block that the shift may change is written out as one
plain formula per cell, each moved on its own, as Excel does when it has to.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO
from xml.sax.saxutils import escape

from sheetcrm.sync.ooxml.sheetxml import (
    _ATTRIBUTE,
    _ROW_START,
    CHUNK,
    Unsupported,
    _complete_rows,
    _read_to_sheet_data,
    _unescape,
)

__all__ = ["RowMove", "ShiftedSheet"]

_ROW = re.compile(rb"<row\b[^>]*?(?:/>|>.*?</row>)", re.S)
_CELL_OPEN = b'<c r="'
_CELL_ROW = re.compile(rb'<c r="[A-Z]{1,3}([0-9]+)"')
_CELL_REF_NOT_FIRST = re.compile(rb'<c\s(?!r=")')
_FORMULA = re.compile(rb"<f\b([^>]*?)(?:/>|>(.*?)</f>)", re.S)
_CELL_START = re.compile(rb'<c r="([A-Z]{1,3})([0-9]+)"')
_ROW_DIGITS = re.compile(r"[A-Za-z]\$?([0-9]+)")


@dataclass(frozen=True)
class RowMove:
    """How the rows of the sheet being read move: ``new_row(old)`` (None: deleted), from ``first_affected`` on."""

    new_row: Callable[[int], int | None]
    first_affected: int


FormulaEdit = Callable[[str], str]
"""A formula's text (no leading "=") as it must read after the shift."""
RangeEdit = Callable[[str], str | None]
"""A range of this sheet (``"C2:C5"``) after the shift; None when its rows are all deleted."""


@dataclass
class _Shared:
    text: str
    cell: str
    expand: bool


class ShiftedSheet:
    """A worksheet part, read through ``move`` (None: rows stay) and ``formula``.

    ``removed(row, xml)`` is called with each deleted row's number and XML before it is
    dropped, so the caller can check what it held. ``on_host`` says whether unqualified
    references in this sheet's formulas point at the shifted rows (the shifted sheet
    itself) or not (another sheet whose formulas name it).
    """

    def __init__(
        self,
        source: IO[bytes],
        *,
        move: RowMove | None,
        formula: FormulaEdit,
        array_range: RangeEdit,
        on_host: bool,
        removed: Callable[[int, bytes], None] | None = None,
        chunk_size: int = CHUNK,
    ) -> None:
        self._source = source
        self._move = move
        self._formula = formula
        self._array_range = array_range
        self._on_host = on_host
        self._removed = removed
        self._chunk_size = chunk_size
        self._shared: dict[bytes, _Shared] = {}
        self._chunks = self._generate()

    def read(self, size: int = -1) -> bytes:
        """The next piece of the shifted part (of any length), b"" at its end."""
        for chunk in self._chunks:
            if chunk:
                return chunk
        return b""

    def _generate(self) -> Iterator[bytes]:
        buffer, found = _read_to_sheet_data(self._source, self._chunk_size)
        yield buffer[: found.end()]
        if found.group(1):  # <sheetData/>
            yield buffer[found.end() :]
        else:
            rest: list[bytes] = []
            for rows in _complete_rows(buffer[found.end() :], self._source, self._chunk_size, rest=rest):
                yield self._shift_rows(rows)
            yield from rest
        yield from iter(lambda: self._source.read(self._chunk_size), b"")

    def _shift_rows(self, rows: bytes) -> bytes:
        move = self._move
        has_formulas = b"<f>" in rows or b"<f " in rows
        last = rows.rfind(b'<row r="')
        if move is None or last < 0 or int(_number(rows, last)) < move.first_affected:
            return self._formulas(rows) if has_formulas else rows
        if _CELL_REF_NOT_FIRST.search(rows):
            raise Unsupported("cells whose r= is not their first attribute")
        pieces: list[bytes] = []
        position = 0
        for match in _ROW.finditer(rows):
            between = rows[position : match.start()]
            if between.strip():
                raise Unsupported("something other than rows in <sheetData>")
            pieces.append(between)
            position = match.end()
            xml = match.group(0)
            if not xml.startswith(b'<row r="'):
                raise Unsupported("rows without an r= attribute first")
            old = int(_number(xml, 0))
            if has_formulas and (b"<f>" in xml or b"<f " in xml):
                xml = self._formulas(xml)
            if old < move.first_affected:
                pieces.append(xml)
                continue
            new = move.new_row(old)
            if new is None:
                if self._removed is not None:
                    self._removed(old, match.group(0))
                continue
            if new != old:
                xml = b'<row r="%d' % new + xml[len(b'<row r="') + len(b"%d" % old) :]
                # every cell of the row starts <c r="LETTERS{old}": its first "{old}\"" is that number
                before, after = b'%d"' % old, b'%d"' % new
                if set(_CELL_ROW.findall(xml)) - {before[:-1]}:
                    raise Unsupported(f"a cell of row {old} whose reference names another row")
                cells = xml.split(_CELL_OPEN)
                xml = _CELL_OPEN.join([cells[0], *(cell.replace(before, after, 1) for cell in cells[1:])])
            pieces.append(xml)
        if rows[position:].strip():
            raise Unsupported("something other than rows in <sheetData>")
        pieces.append(rows[position:])
        return b"".join(pieces)

    def _formulas(self, xml: bytes) -> bytes:
        """``xml`` (whole rows) with every formula moved; cells are addressed as read."""
        pieces: list[bytes] = []
        position = 0
        for match in _FORMULA.finditer(xml):
            cell_start = xml.rfind(b'<c r="', 0, match.start())
            cell = _CELL_START.match(xml, cell_start) if cell_start >= 0 else None
            if cell is None:
                raise Unsupported("a formula outside a cell with an r= attribute")
            address = (cell.group(1) + cell.group(2)).decode("ascii")
            new = self._formula_xml(match, address)
            if new is not None:
                pieces += (xml[position : match.start()], new)
                position = match.end()
        if not pieces:
            return xml
        pieces.append(xml[position:])
        return b"".join(pieces)

    def _formula_xml(self, match: re.Match[bytes], address: str) -> bytes | None:
        """The new ``<f>`` element, or None when it stays as it was."""
        attributes = dict(_ATTRIBUTE.findall(b" " + match.group(1)))
        kind = attributes.get(b"t", b"normal")
        text = _unescape(match.group(2)) if match.group(2) is not None else ""
        if kind == b"shared":
            return self._shared_xml(attributes, text, address)
        if kind == b"dataTable":
            raise Unsupported('a what-if data table (<f t="dataTable">)')
        new_text = self._formula(text)
        new_ref: str | None = None
        if kind == b"array" and b"ref" in attributes:
            ref = attributes[b"ref"].decode("ascii")
            new_ref = self._array_range(ref) if self._on_host else ref
            if new_ref is None:
                new_ref = ref  # the array's cells are all deleted with it
        if new_text == text and (new_ref is None or new_ref == attributes[b"ref"].decode("ascii")):
            return None
        start = match.group(0)[: match.group(0).find(b">") + 1]
        if new_ref is not None:
            start = re.sub(rb'\sref="[^"]*"', b' ref="' + new_ref.encode("ascii") + b'"', start)
        if start.endswith(b"/>"):
            start = start[:-2] + b">"
        return start + escape(new_text).encode("utf-8") + b"</f>"

    def _shared_xml(self, attributes: dict[bytes, bytes], text: str, address: str) -> bytes | None:
        index = attributes.get(b"si", b"")
        if b"ref" in attributes and text:  # the master of a block
            shared = _Shared(text, address, self._must_expand(attributes[b"ref"].decode("ascii"), text, address))
            self._shared[index] = shared
            if not shared.expand:
                return None
            return b"<f>" + escape(self._formula(text)).encode("utf-8") + b"</f>"
        master = self._shared.get(index)
        if master is None:
            raise Unsupported("a shared formula before the cell that holds its text")
        if not master.expand:
            return None
        from sheetcrm.sync.ooxml.shift import translate_shared

        own = translate_shared(master.text, master.cell, address)
        return b"<f>" + escape(self._formula(own)).encode("utf-8") + b"</f>"

    def _must_expand(self, ref: str, text: str, master: str) -> bool:
        """Whether a shared block may change: it does not when neither it nor what any of its
        cells refers to reaches a moved row (checked conservatively on the digits)."""
        if not self._on_host:
            return self._formula(text) != text or "!" in text
        if self._move is None:
            return self._formula(text) != text
        bottom = int(re.sub(r"[^0-9]", "", ref.rpartition(":")[2]) or 0)
        top = int(re.sub(r"[^0-9]", "", master) or 0)
        reach = max((int(digits) for digits in _ROW_DIGITS.findall(text)), default=0) + max(0, bottom - top)
        return bottom >= self._move.first_affected or reach >= self._move.first_affected or "!" in text


def _number(xml: bytes, start: int) -> bytes:
    found = _ROW_START.match(xml, start)
    if found is None:
        raise Unsupported("rows without an r= attribute first")
    return found.group(1)

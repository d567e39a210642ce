"""A column's default style in a worksheet's ``<cols>``, edited as text.

Excel gives a cell typed into an empty row the style of its column's ``<col>`` element; that
is how a whole column gets a number format (text for phones, a date format for dates) without
a cell per row. A ``<col>`` may cover several columns (``min="2" max="9"``): it is split so
that only the one column changes, as Excel does, and everything else in the head stays as it was.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sheetcrm.sync.ooxml.sheetxml import Unsupported

__all__ = ["DEFAULT_COLUMN_WIDTH", "with_column_style"]

DEFAULT_COLUMN_WIDTH = 9.140625  # Excel's default for Calibri 11, as openpyxl writes it

_COLS = re.compile(rb"<cols\s*>(.*?)</cols>|<cols\s*/>", re.S)
_COL = re.compile(rb"<col\b([^>]*?)/>|<col\b([^>]*?)>\s*</col>", re.S)
_ATTRIBUTE = re.compile(rb'\s*([\w:]+)="([^"]*)"')
_DEFAULT_WIDTH = re.compile(rb'<sheetFormatPr\b[^>]*\sdefaultColWidth="([0-9.]+)"')


def with_column_style(head: bytes, column: int, restyle: Callable[[int], int]) -> tuple[bytes, int]:
    """The sheet head with ``column``'s ``<col>`` style set to ``restyle(old)``, and the old style (0: none).

    ``head`` is the worksheet part before ``<sheetData>``. A column without a ``<col>`` gets
    one of the sheet's default width.
    """
    found = _COLS.search(head)
    elements: list[tuple[int, int, dict[bytes, bytes]]] = []
    if found is not None and found.group(1) is not None:
        body = found.group(1)
        last = 0
        for match in _COL.finditer(body):
            if body[last : match.start()].strip():
                raise Unsupported("<cols> holds something other than <col> elements")
            last = match.end()
            attributes = dict(_ATTRIBUTE.findall(match.group(1) if match.group(1) is not None else match.group(2)))
            try:
                first = int(attributes[b"min"])
                end = int(attributes.get(b"max") or attributes[b"min"])
            except (KeyError, ValueError):
                raise Unsupported("a <col> element without min and max") from None
            elements.append((first, end, attributes))
        if body[last:].strip():
            raise Unsupported("<cols> holds something other than <col> elements")
    old = 0
    split: list[tuple[int, int, dict[bytes, bytes]]] = []
    covered = False
    for first, end, attributes in elements:
        if not first <= column <= end:
            split.append((first, end, attributes))
            continue
        covered = True
        old = int(attributes.get(b"style", b"0") or 0)
        for low, high in ((first, column - 1), (column, column), (column + 1, end)):
            if low <= high:
                split.append((low, high, dict(attributes)))
    if not covered:
        width = _DEFAULT_WIDTH.search(head)
        attributes = {b"width": width.group(1) if width else repr(DEFAULT_COLUMN_WIDTH).encode()}
        split.append((column, column, attributes))
    new = restyle(old)
    for first, end, attributes in split:
        if first == column == end:
            if new:
                attributes[b"style"] = str(new).encode()
            else:
                attributes.pop(b"style", None)
    split.sort(key=lambda element: element[0])
    cols = b"<cols>" + b"".join(_col_xml(first, end, attributes) for first, end, attributes in split) + b"</cols>"
    if found is not None:
        return head[: found.start()] + cols + head[found.end() :], old
    return head + cols, old  # <cols> comes right before <sheetData>, after every other head element


def _col_xml(first: int, end: int, attributes: dict[bytes, bytes]) -> bytes:
    rest = b"".join(b' %s="%s"' % (name, value) for name, value in attributes.items() if name not in (b"min", b"max"))
    return b'<col min="%d" max="%d"%s/>' % (first, end, rest)

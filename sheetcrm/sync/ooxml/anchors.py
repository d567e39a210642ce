"""Move what is anchored to cells when rows of a worksheet are deleted or inserted.

Four parts hang objects on a sheet's rows: the notes' comments part and their VML boxes,
the threaded comments part and the drawing part (pictures, charts, shapes). Each function
here takes one part's bytes and a row mapping and returns the part with the anchors moved;
as in :mod:`.notes`, only the numbers and elements that change are spliced, every other
byte stays, and a part nothing changed in comes back as the very object given::

    >>> new_row = lambda row: None if row == 5 else (row - 1 if row > 5 else row)  # row 5 deleted
    >>> part = b'<comments xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><commentList>'
    >>> part += b'<comment ref="B5" authorId="0"/><comment ref="E14" authorId="0"/></commentList></comments>'
    >>> shift_comments(part, new_row)[-71:]
    b'<commentList><comment ref="E13" authorId="0"/></commentList></comments>'

Semantics (rows 1-based in cell references, 0-based in ``<xdr:row>`` and VML):

- a note or threaded comment moves with its cell, and goes when its row is deleted (the
  comments part keeps its ``<authors>``, even when no comment is left); its VML box and a
  ``<commentPr>`` anchor move by the same number of rows, keeping their size;
- a VML shape that is no note (a form control: button, checkbox…) moves by as many rows
  as its top row; when its top row is deleted the change is refused with :class:`CannotShift`;
- a drawing's ``twoCellAnchor`` without ``editAs`` or with ``editAs="twoCell"`` ("move and
  size with cells") moves each corner with its row: deleted rows inside the object make it
  shorter, rows inserted inside it taller. A corner on a deleted row goes to the top of the
  row that takes that place (offset 0); an object whose rows are all deleted keeps zero
  height there (Excel, too, keeps such objects, flattened, rather than deleting them);
- ``editAs="oneCell"`` ("move but don't size") and ``oneCellAnchor`` move as a whole by as
  many rows as the top row moves (to the row taking its place when that is deleted),
  offsets kept, so that at even row heights the size is kept;
- ``editAs="absolute"`` and ``absoluteAnchor`` are left as they are: at even row heights
  the same cell numbers are the same place on the page;
- positions in EMU or points (``<a:xfrm>``, VML ``style``) are left alone: Excel and
  LibreOffice place cell-anchored objects by their anchors.

A form control linked to cells (``x:FmlaLink``, ``x:FmlaRange``…) or a shape showing a
cell's text (``textlink``) whose cells move is refused with :class:`CannotShift`: those
links are formulas this module does not rewrite. Errors ``new_row`` raises pass through.
A part that is not well-formed XML or holds a DTD raises :class:`ValueError`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sheetcrm.sync.a1 import MAX_ROWS
from sheetcrm.sync.ooxml.notes import XmlNode, decode_part, encode_part, parse_part, scan_elements, splice
from sheetcrm.sync.ooxml.sheetxml import Unsupported
from sheetcrm.sync.ooxml.shift import CannotShift

__all__ = ["CannotShift", "NewRow", "shift_comments", "shift_drawing", "shift_threaded_comments", "shift_vml"]

NewRow = Callable[[int], int | None]
"""1-based old row number → 1-based new row number; None when the row is deleted."""

_MAIN_NAMESPACES = (
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "http://purl.oclc.org/ooxml/spreadsheetml/main",
)
_THREADED_NS = "http://schemas.microsoft.com/office/spreadsheetml/2018/threadedcomments"
_DRAWING_NAMESPACES = (
    "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing",
    "http://purl.oclc.org/ooxml/drawingml/spreadsheetDrawing",
)
_VML_NS = "urn:schemas-microsoft-com:vml"
_EXCEL_NS = "urn:schemas-microsoft-com:office:excel"

_REF = re.compile(r"([A-Z]{1,3})([1-9][0-9]{0,6})")
_NUMBER = re.compile(r"-?[0-9]+")
_DECLARED = re.compile(r"""\sxmlns:([\w.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_ATTRS = r"(?:\s+[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*"
# cell and row references inside a link formula; a sheet name that looks like one only
# makes the check stricter
_LINKED_CELL = re.compile(r"(?<![\w.])\$?[A-Za-z]{1,3}\$?([0-9]+)(?![\w(])")
_LINKED_ROWS = re.compile(r"(?<![\w.$])\$?([0-9]+):\$?([0-9]+)(?![\w(])")


# --- the row mapping and the questions anchors ask of it


class _Rows:
    """``new_row`` checked, with where a deleted row's place goes."""

    def __init__(self, new_row: NewRow) -> None:
        self._new_row = new_row
        self._landing: dict[int, int] = {}

    def new(self, old: int) -> int | None:
        new = self._new_row(old)
        if new is not None and not 1 <= new <= MAX_ROWS:
            raise CannotShift(f"row {old} would move to row {new}, outside the sheet")
        return new

    def landing(self, old: int) -> int:
        """The new row that takes old row ``old``'s place: its own, or that of the next row kept."""
        new = self.new(old)
        if new is not None:
            return new
        if old in self._landing:
            return self._landing[old]
        # remember the answer for every deleted row passed: anchors often share a gap
        passed = [old]
        found: int | None = None
        row = old + 1
        while row <= MAX_ROWS:
            if row in self._landing:
                found = self._landing[row]
                break
            new = self.new(row)
            if new is not None:
                found = new
                break
            passed.append(row)
            row += 1
        if found is None:  # deleted to the last row: the place after the last row kept
            row = old - 1
            while row >= 1 and (new := self.new(row)) is None:
                row -= 1
            found = min(new + 1, MAX_ROWS) if row >= 1 and new is not None else 1
        for row in passed:
            self._landing[row] = found
        return found

    def moves(self, row: int) -> bool:
        return self.new(row) != row


def _text(xml: bytes, what: str) -> tuple[str, bool]:
    try:
        return decode_part(xml, what)
    except Unsupported as error:
        raise CannotShift(str(error)) from None


def _attribute(tag: str, name: str) -> tuple[int, int, str] | None:
    """Where the value of attribute ``name`` of start tag ``tag`` sits (inside its quotes), and the value."""
    found = re.search(rf"""\s{re.escape(name)}\s*=\s*(?:"([^"]*)"|'([^']*)')""", tag)
    if found is None:
        return None
    group = 1 if found.group(1) is not None else 2
    return found.start(group), found.end(group), found.group(group)


def _child(node: XmlNode, local: str) -> XmlNode | None:
    return next((child for child in node.children if child.local == local), None)


def _int_text(text: str, node: XmlNode, what: str) -> int:
    try:
        return int(text[node.inner : node.close].strip())
    except ValueError:
        raise CannotShift(f"{what} holds {text[node.inner : node.close]!r}, not a number") from None


def _number_edit(text: str, node: XmlNode, value: int) -> tuple[int, int, str]:
    """Replace the number inside ``node``, keeping the whitespace around it."""
    inner = text[node.inner : node.close]
    found = _NUMBER.search(inner)
    assert found is not None  # read with _int_text before
    return node.inner + found.start(), node.inner + found.end(), str(value)


def _cell_row(ref: str, what: str) -> tuple[str, int]:
    """The column letters and row of a cell reference like ``B7``."""
    match = _REF.fullmatch(ref)
    if match is None:
        raise CannotShift(f"{what} on {ref!r}, which is not a cell reference like B7")
    return match.group(1), int(match.group(2))


def _check_link(formula: str, rows: _Rows, what: str) -> None:
    """Refuse when the cells a link formula points at move: the link would not follow them."""
    numbers = [int(m.group(1)) for m in _LINKED_CELL.finditer(formula)]
    numbers += [int(n) for m in _LINKED_ROWS.finditer(formula) for n in m.groups()]
    # rows only move as a block, so a range keeps its cells when both ends stay
    if any(1 <= row <= MAX_ROWS and rows.moves(row) for row in numbers):
        raise CannotShift(f"{what} is linked to {formula.strip()!r}, whose cells would move; sheetcrm cannot relink it")


def _walk(nodes: list[XmlNode]) -> Iterator[XmlNode]:
    for node in nodes:
        yield node
        yield from _walk(node.children)


# --- the comments part


def shift_comments(comments_xml: bytes, new_row: NewRow) -> bytes:
    """A comments part (``xl/commentsN.xml``) with each ``<comment ref=…>`` moved with its row.

    Comments on deleted rows are removed; ``<authors>`` is kept as it is. The rows of a
    comment's ``<commentPr><anchor>`` (the box's place, where a part keeps one) move with the comment.
    """
    rows = _Rows(new_row)
    text, bom = _text(comments_xml, "the comments part")
    element = parse_part(text, "the comments part")
    ns = element.tag[1:].partition("}")[0]
    if element.tag != f"{{{ns}}}comments" or ns not in _MAIN_NAMESPACES:
        raise ValueError(f"not a spreadsheetml comments part: the root element is {element.tag}")
    (root,), _ = scan_elements(text)
    edits: list[tuple[int, int, str]] = []
    for section in root.children:
        if section.local != "commentList":
            continue
        for node in section.children:
            if node.local != "comment":
                raise CannotShift(f"a <{node.name}> in the comments part's <commentList>")
            tag = text[node.start : node.inner]
            found = _attribute(tag, "ref")
            if found is None:
                raise CannotShift("a comment without a ref")
            start, end, ref = found
            column, old = _cell_row(ref, "a comment")
            new = rows.new(old)
            if new is None:
                edits.append((node.start, node.end, ""))
            elif new != old:
                edits.append((node.start + start, node.start + end, f"{column}{new}"))
                edits.extend(_comment_box_edits(text, node, new - old))
    if not edits:
        return comments_xml
    return encode_part(splice(text, edits), bom)


def _comment_box_edits(text: str, comment: XmlNode, delta: int) -> list[tuple[int, int, str]]:
    """Move the rows of a ``<commentPr><anchor>`` by ``delta``, keeping the box's size."""
    edits: list[tuple[int, int, str]] = []
    for anchor in _walk(comment.children):
        if anchor.local != "anchor":
            continue
        corners = [corner for corner in anchor.children if corner.local in ("from", "to")]
        row_nodes = [row for corner in corners if (row := _child(corner, "row")) is not None]
        values = [_int_text(text, row, "a comment box's row") for row in row_nodes]
        # never above the first row: a box above the top is pulled down, its size kept
        step = max(delta, -min(values, default=0))
        step = min(step, MAX_ROWS - 1 - max(values, default=0))
        edits.extend(_number_edit(text, row, value + step) for row, value in zip(row_nodes, values, strict=True))
    return edits


# --- the legacy (VML) drawing


def shift_vml(vml_xml: bytes, new_row: NewRow) -> bytes:
    """A legacy drawing with note boxes and form controls moved with their rows.

    A note's box (``<x:ClientData ObjectType="Note">``) moves its ``<x:Row>`` with the note
    and its ``<x:Anchor>`` by the same number of rows; the boxes of notes on deleted rows are
    removed. Any other shape with an ``<x:Anchor>`` moves by as many rows as its top row;
    one whose top row is deleted raises :class:`CannotShift`.
    """
    rows = _Rows(new_row)
    text, bom = _text(vml_xml, "the VML drawing")
    if "<!DOCTYPE" in text:
        raise ValueError("the VML drawing holds a DTD")
    root = re.search(rf"<xml{_ATTRS}\s*/?>", text)
    declared: dict[str, str] = {}  # namespace: prefix
    if root is not None:
        for match in _DECLARED.finditer(root.group(0)):
            namespace = match.group(2) if match.group(2) is not None else match.group(3)
            declared.setdefault(namespace, match.group(1))
    v, x = declared.get(_VML_NS), declared.get(_EXCEL_NS)
    shapes = list(_vml_shapes(text, v)) if v is not None else []
    # every x:ClientData (what ties a VML object to cells) must be in a shape this reads
    ours = re.compile(rf"<{re.escape(x)}:ClientData\b") if x is not None else None
    inside = sum(len(ours.findall(text, start, end)) for start, end in shapes) if ours is not None else 0
    if inside != len(re.findall(r"<(?:[\w.-]+:)?ClientData\b", text)):
        raise CannotShift("a VML drawing with cell-anchored data outside <v:shape> or under an undeclared prefix")
    if x is None:
        return vml_xml
    edits: list[tuple[int, int, str]] = []
    for start, end in shapes:
        edits.extend(_shape_edits(text, start, end, x, rows))
    if not edits:
        return vml_xml
    return encode_part(splice(text, edits), bom)


def _vml_shapes(text: str, v: str) -> Iterator[tuple[int, int]]:
    """The spans of the ``<v:shape>`` elements that have content.

    Excel's VML is not always XML (form controls' labels hold unclosed ``<br>``), so it is
    searched, not parsed; shapes do not nest, so a shape ends at the first ``</v:shape>``.
    """
    start_tag = re.compile(rf"<{re.escape(v)}:shape{_ATTRS}\s*(/?)>")
    closing = f"</{v}:shape>"
    position = 0
    while (match := start_tag.search(text, position)) is not None:
        if match.group(1):
            position = match.end()
            continue
        close = text.find(closing, match.end())
        if close < 0:
            raise CannotShift("a VML shape that is never closed")
        yield match.start(), close + len(closing)
        position = close + len(closing)


def _vml_element(inner: str, x: str, name: str) -> re.Match[str] | None:
    p = re.escape(x)
    return re.search(rf"<{p}:{name}(?:\s[^>]*)?>(.*?)</{p}:{name}\s*>", inner, re.S)


def _shape_edits(text: str, start: int, end: int, x: str, rows: _Rows) -> list[tuple[int, int, str]]:
    shape = text[start:end]
    data = re.search(rf"<{re.escape(x)}:ClientData\b([^>]*)>", shape)
    if data is None:
        return []
    object_type = _attribute(data.group(0), "ObjectType")
    kind = object_type[2] if object_type is not None else "an object"
    anchor = _vml_element(shape, x, "Anchor")
    anchor_values = [int(n) for n in _NUMBER.findall(anchor.group(1))] if anchor is not None else []
    if anchor is not None and len(anchor_values) != 8:
        raise CannotShift(f"a VML {kind} whose anchor is not 8 numbers: {anchor.group(1).strip()!r}")
    row = _vml_element(shape, x, "Row")
    if row is not None and not row.group(1).strip().isdigit():
        raise CannotShift(f"a VML {kind} on row {row.group(1).strip()!r}")

    if kind == "Note":
        if row is None:
            raise CannotShift("a note's VML box without <x:Row>")
        old = int(row.group(1)) + 1
        new = rows.new(old)
        if new is None:
            return [(start, end, "")]
        delta = new - old
        if anchor is not None:  # a box pushed above the first row is kept there, its size kept
            delta_box = max(delta, -anchor_values[2])
            delta_box = min(delta_box, MAX_ROWS - 1 - anchor_values[6])
        else:
            delta_box = 0
    else:
        for link in re.finditer(rf"<{re.escape(x)}:(Fmla(?:Link|Range|Txbx|Pict|Group))>(.*?)</", shape, re.S):
            _check_link(link.group(2), rows, f"a VML {kind} ({link.group(1)})")
        if anchor is None:
            return []
        top = anchor_values[2] + 1
        new = rows.new(top)
        if new is None:
            raise CannotShift(f"the top row ({top}) of a {kind} form control would be deleted")
        delta = delta_box = new - top
        if anchor_values[6] + delta >= MAX_ROWS:
            raise CannotShift(f"a {kind} form control would be pushed past the last row")

    edits: list[tuple[int, int, str]] = []
    if row is not None and delta:
        number = _NUMBER.search(row.group(1))
        assert number is not None  # checked to be digits above
        at = start + row.start(1) + number.start()
        edits.append((at, at + len(number.group(0)), str(int(number.group(0)) + delta)))
    if anchor is not None and delta_box:
        numbers = list(_NUMBER.finditer(anchor.group(1)))
        for index in (2, 6):
            number = numbers[index]
            at = start + anchor.start(1) + number.start()
            edits.append((at, at + len(number.group(0)), str(anchor_values[index] + delta_box)))
    return edits


# --- threaded comments


@dataclass(frozen=True)
class _Thread:
    node: XmlNode
    moved: tuple[int, int, str] | None
    """The edit moving its ``ref``; None when it stays."""
    deleted: bool
    id: str | None
    parent_id: str | None


def shift_threaded_comments(xml: bytes, new_row: NewRow) -> bytes:
    """A threaded comments part (``xl/threadedComments/…``) with each thread moved with its cell.

    Threads on deleted rows are removed, replies and all (replies share their thread's
    ``ref``; a reply whose parent goes, goes too). The persons part needs no change.
    """
    rows = _Rows(new_row)
    text, bom = _text(xml, "the threaded comments part")
    element = parse_part(text, "the threaded comments part")
    if element.tag != f"{{{_THREADED_NS}}}ThreadedComments":
        raise ValueError(f"not a threaded comments part: the root element is {element.tag}")
    (root,), _ = scan_elements(text)
    threads: list[_Thread] = []
    for node in root.children:
        if node.local != "threadedComment":
            continue
        tag = text[node.start : node.inner]
        ref = _attribute(tag, "ref")
        if ref is None:
            raise CannotShift("a threaded comment without a ref")
        column, old = _cell_row(ref[2], "a threaded comment")
        new = rows.new(old)
        identity, parent = _attribute(tag, "id"), _attribute(tag, "parentId")
        threads.append(
            _Thread(
                node,
                (node.start + ref[0], node.start + ref[1], f"{column}{new}") if new not in (None, old) else None,
                new is None,
                identity[2] if identity is not None else None,
                parent[2] if parent is not None else None,
            )
        )
    removed = {thread.id for thread in threads if thread.deleted and thread.id is not None}
    while True:  # replies go with their parent, also when written before it
        orphans = {t.id for t in threads if t.parent_id in removed and t.id is not None and t.id not in removed}
        if not orphans:
            break
        removed |= orphans
    edits: list[tuple[int, int, str]] = []
    for thread in threads:
        if thread.deleted or thread.id in removed or thread.parent_id in removed:
            edits.append((thread.node.start, thread.node.end, ""))
        elif thread.moved is not None:
            edits.append(thread.moved)
    if not edits:
        return xml
    return encode_part(splice(text, edits), bom)


# --- the drawing part


def shift_drawing(drawing_xml: bytes, new_row: NewRow) -> bytes:
    """A drawing part (``xl/drawings/drawingN.xml``) with its cell anchors moved, whatever its prefixes.

    See the module's docstring for how each kind of anchor moves. Anchors wrapped in
    ``mc:AlternateContent`` (form controls, newer shapes) are found and moved too.
    """
    rows = _Rows(new_row)
    text, bom = _text(drawing_xml, "the drawing part")
    element = parse_part(text, "the drawing part")
    ns = element.tag[1:].partition("}")[0]
    if element.tag != f"{{{ns}}}wsDr" or ns not in _DRAWING_NAMESPACES:
        raise ValueError(f"not a spreadsheet drawing part: the root element is {element.tag}")
    nodes, _ = scan_elements(text)
    edits: list[tuple[int, int, str]] = []
    for anchor in _anchors(nodes):
        edits.extend(_anchor_edits(text, anchor, rows))
    if not edits:
        return drawing_xml
    return encode_part(splice(text, edits), bom)


def _anchors(nodes: list[XmlNode]) -> Iterator[XmlNode]:
    for node in nodes:
        if node.local in ("twoCellAnchor", "oneCellAnchor", "absoluteAnchor"):
            yield node
        else:
            yield from _anchors(node.children)


def _corner(text: str, anchor: XmlNode, local: str) -> tuple[XmlNode, int, XmlNode, int]:
    """The ``<row>`` and ``<rowOff>`` of an anchor's ``from`` or ``to``, and their values."""
    corner = _child(anchor, local)
    row = _child(corner, "row") if corner is not None else None
    offset = _child(corner, "rowOff") if corner is not None else None
    if row is None or offset is None:
        raise CannotShift(f"a drawing <{anchor.local}> without <{local}> row and offset")
    return (
        row,
        _int_text(text, row, "a drawing anchor's row"),
        offset,
        _int_text(text, offset, "a drawing anchor's offset"),
    )


def _anchor_edits(text: str, anchor: XmlNode, rows: _Rows) -> list[tuple[int, int, str]]:
    if anchor.local == "absoluteAnchor":
        return []
    tag = text[anchor.start : anchor.inner]
    edit_as = _attribute(tag, "editAs") if anchor.local == "twoCellAnchor" else None
    mode = edit_as[2] if edit_as is not None else ("twoCell" if anchor.local == "twoCellAnchor" else "oneCell")
    if mode not in ("twoCell", "oneCell", "absolute"):
        raise CannotShift(f"a drawing anchor with editAs={mode!r}")
    if mode == "absolute":
        return []
    for link in re.finditer(r"""\stextlink\s*=\s*(?:"([^"]*)"|'([^']*)')""", text[anchor.start : anchor.end]):
        formula = link.group(1) if link.group(1) is not None else link.group(2)
        if formula.strip():
            _check_link(formula, rows, "a drawing shape")

    corners = [_corner(text, anchor, "from")]
    if anchor.local == "twoCellAnchor":
        corners.append(_corner(text, anchor, "to"))
    top_row = corners[0][1]
    moved: list[tuple[int, int]] = []
    if mode == "twoCell":
        for _, row, _, offset in corners:
            new = rows.new(row + 1)
            # a corner on a deleted row goes to the top of the row taking its place
            moved.append((new - 1, offset) if new is not None else (rows.landing(row + 1) - 1, 0))
    else:
        delta = rows.landing(top_row + 1) - 1 - top_row
        for _, row, _, offset in corners:
            if row + delta >= MAX_ROWS:
                raise CannotShift("a drawing object would be pushed past the last row")
            moved.append((row + delta, offset))

    edits: list[tuple[int, int, str]] = []
    for (row_node, row, offset_node, offset), (new_row, new_offset) in zip(corners, moved, strict=True):
        if new_row != row:
            edits.append(_number_edit(text, row_node, new_row))
        if new_offset != offset:
            edits.append(_number_edit(text, offset_node, new_offset))
    return edits

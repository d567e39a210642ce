"""Cell notes (legacy comments) as part edits: ``xl/commentsN.xml``, its VML drawing and their wiring.

A note lives in two parts of a sheet: its text and author in the comments part, and the
box that shows it in the legacy VML drawing (one ``<v:shape>`` with ``<x:Row>``/``<x:Column>``).
The sheet points at both through its relationships part, and at the drawing once more with
``<legacyDrawing r:id=…/>``. These functions edit each part as text, as :mod:`.styles` does:
what they add or remove is spliced in and every other byte stays as it was. They read and
return part bytes; the caller reads and writes the package::

    >>> part, results = edit_comments(None, [NoteWrite(7, 2, "Call back on Monday")])
    >>> results
    [NoteResult(row=7, column=2, old=None, text='Call back on Monday')]
    >>> vml = edit_vml(None, added=[(7, 2)], removed=[])
    >>> rels, rel_id = add_relationship(None, VML_DRAWING_TYPE, "../drawings/vmlDrawing1.vml")
    >>> rel_id
    'rId1'

A note whose author starts with ``tc=`` is the stand-in Excel keeps for a threaded comment
(the thread itself lives in ``xl/threadedComments``): it is never changed or removed. With
``ours_only`` a note by anyone but ``author`` is left as it is too.

Errors: a layout these functions cannot splice safely (namespace prefixes on the elements
they edit, a part that is not UTF-8, an odd reference) raises :class:`Unsupported`, on which
the caller falls back to openpyxl; a part that is not well-formed XML or holds a DTD raises
:class:`ValueError`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as DefusedET

from sheetcrm.sync.a1 import MAX_COLUMNS, MAX_ROWS, column_index, column_letter
from sheetcrm.sync.ooxml.sheetxml import Unsupported, text_xml
from sheetcrm.sync.ooxml.strings import decode_escapes

__all__ = [
    "COMMENTS_CONTENT_TYPE",
    "COMMENTS_TYPE",
    "VML_CONTENT_TYPE",
    "VML_DRAWING_TYPE",
    "NoteResult",
    "NoteWrite",
    "Unsupported",
    "add_relationship",
    "edit_comments",
    "edit_vml",
    "ensure_content_types",
    "find_relationships",
    "legacy_drawing_id",
    "with_legacy_drawing",
]

COMMENTS_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/comments"
VML_DRAWING_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/vmlDrawing"
COMMENTS_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
VML_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.vmlDrawing"

_MAIN_NAMESPACES = (
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "http://purl.oclc.org/ooxml/spreadsheetml/main",
)
_RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_TYPES_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
_R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_VML_NS = "urn:schemas-microsoft-com:vml"
_OFFICE_NS = "urn:schemas-microsoft-com:office:office"
_EXCEL_NS = "urn:schemas-microsoft-com:office:excel"

_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_ATTRS = r"(?:\s+[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*"
_MARKUP = re.compile(
    rf"<!--.*?-->|<\?.*?\?>|<!\[CDATA\[.*?\]\]>|<!DOCTYPE|<(/?)([^\s/>!?]+){_ATTRS}\s*(/?)>",
    re.S,
)
_START_TAG_END = re.compile(rf"<[^\s/>]+{_ATTRS}\s*(/?)>")
_ENCODING = re.compile(r"""^<\?xml[^>]*encoding\s*=\s*["']([^"']+)["']""")
_BOM = b"\xef\xbb\xbf"
_REF = re.compile(r"([A-Z]{1,3})([1-9][0-9]{0,6})")
_RID = re.compile(r"rId([0-9]+)")

TAIL_SEQUENCE = (
    "sheetCalcPr",
    "sheetProtection",
    "protectedRanges",
    "scenarios",
    "autoFilter",
    "sortState",
    "dataConsolidate",
    "customSheetViews",
    "mergeCells",
    "phoneticPr",
    "conditionalFormatting",
    "dataValidations",
    "hyperlinks",
    "printOptions",
    "pageMargins",
    "pageSetup",
    "headerFooter",
    "rowBreaks",
    "colBreaks",
    "customProperties",
    "cellWatches",
    "ignoredErrors",
    "smartTags",
    "drawing",
    "legacyDrawing",
    "legacyDrawingHF",
    "drawingHF",
    "picture",
    "oleObjects",
    "controls",
    "webPublishItems",
    "tableParts",
    "extLst",
)
"""CT_Worksheet's children after ``<sheetData>``, in the order the schema requires."""
_BEFORE_LEGACY = frozenset(TAIL_SEQUENCE[: TAIL_SEQUENCE.index("legacyDrawing")])
_AFTER_LEGACY = frozenset(TAIL_SEQUENCE[TAIL_SEQUENCE.index("legacyDrawing") + 1 :])


# --- the public records


@dataclass(frozen=True)
class NoteWrite:
    """Set (or with ``text=None`` remove) the note of one cell; rows and columns count from 1."""

    row: int
    column: int
    text: str | None
    ours_only: bool = False
    """Leave a note written by anyone but sheetcrm as it is."""


@dataclass(frozen=True)
class NoteResult:
    """What a :class:`NoteWrite` found and left: ``text == old`` where a note was kept."""

    row: int
    column: int
    old: str | None
    text: str | None


# --- scanning markup into spans


@dataclass
class XmlNode:
    """Where an element sits in the text: ``text[start:inner]`` is its start tag."""

    name: str
    start: int
    inner: int
    close: int
    """Where its end tag starts (== ``end`` when self-closing)."""
    end: int
    children: list[XmlNode] = field(default_factory=list)

    @property
    def local(self) -> str:
        return self.name.rpartition(":")[2]

    @property
    def prefixed(self) -> bool:
        return ":" in self.name

    @property
    def self_closing(self) -> bool:
        return self.inner == self.end


def scan_elements(text: str, start: int = 0) -> tuple[list[XmlNode], int | None]:
    """The top-level elements of ``text[start:]`` with their descendants, and where an unmatched end tag starts.

    Scanning stops at the first end tag that closes nothing (in a worksheet's tail,
    ``</worksheet>``); None when there is none.
    """
    stack: list[XmlNode] = []
    top: list[XmlNode] = []
    for match in _MARKUP.finditer(text, start):
        name = match.group(2)
        if name is None:
            if match.group(0) == "<!DOCTYPE":
                raise ValueError("the part holds a DTD")
            continue
        if match.group(1):
            if not stack:
                return top, match.start()
            node = stack.pop()
            if node.name != name:
                raise ValueError(f"<{node.name}> is closed by </{name}>")
            node.close, node.end = match.start(), match.end()
            continue
        node = XmlNode(name, match.start(), match.end(), -1, -1)
        (stack[-1].children if stack else top).append(node)
        if match.group(3):
            node.close = node.end = match.end()
        else:
            stack.append(node)
    if stack:
        raise ValueError(f"<{stack[-1].name}> is never closed")
    return top, None


def splice(text: str, edits: list[tuple[int, int, str]]) -> str:
    """``text`` with each ``(start, end, replacement)`` applied; insertions (start == end) go first at a point."""
    pieces: list[str] = []
    position = 0
    for start, end, replacement in sorted(edits, key=lambda edit: (edit[0], edit[1])):
        pieces.append(text[position:start])
        pieces.append(replacement)
        position = max(position, end)
    pieces.append(text[position:])
    return "".join(pieces)


def decode_part(xml: bytes, what: str) -> tuple[str, bool]:
    """The text of a UTF-8 part, and whether it started with a byte order mark."""
    if xml.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise Unsupported(f"{what} is UTF-16 encoded; sheetcrm edits UTF-8 parts only")
    bom = xml.startswith(_BOM)
    body = xml[len(_BOM) :] if bom else xml
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Unsupported(f"{what} is not UTF-8 encoded") from None
    declared = _ENCODING.match(text)
    if declared is not None and declared.group(1).lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise Unsupported(f"{what} is {declared.group(1)} encoded; sheetcrm edits UTF-8 parts only")
    return text, bom


def encode_part(text: str, bom: bool) -> bytes:
    return (_BOM if bom else b"") + text.encode("utf-8")


def parse_part(text: str, what: str) -> Element:
    try:
        root: Element = DefusedET.fromstring(text, forbid_dtd=True)
    except ParseError as error:
        raise ValueError(f"{what} is not well-formed XML: {error}") from None
    return root


def root_element(text: str, what: str) -> XmlNode:
    nodes, _ = scan_elements(text)
    if len(nodes) != 1:
        raise ValueError(f"{what} has {len(nodes)} root elements")
    return nodes[0]


def attribute_text(value: str) -> str:
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    return value.replace("\t", "&#9;").replace("\n", "&#10;").replace("\r", "&#13;")


def _note_text(text: str) -> str:
    # text_xml leaves a carriage return as is, and XML readers turn a literal CR into LF:
    # spell it as Excel does so that it comes back
    return text_xml(text).replace("\r", "_x000D_")


def set_attribute(tag: str, name: str, value: str) -> str:
    """The start tag ``tag`` with attribute ``name`` set, its quote character and the rest as they were."""
    found = re.search(rf"(\s{re.escape(name)}\s*=\s*)(\"[^\"]*\"|'[^']*')", tag)
    if found is not None:
        quote = found.group(2)[0]
        return f"{tag[: found.start(2)]}{quote}{attribute_text(value)}{quote}{tag[found.end(2) :]}"
    match = _START_TAG_END.match(tag)
    assert match is not None  # the scanner found this start tag
    at = match.start(1) if match.group(1) else match.end() - 1
    while at > 0 and tag[at - 1].isspace():
        at -= 1
    return f'{tag[:at]} {name}="{attribute_text(value)}"{tag[at:]}'


def _opened(tag: str) -> str:
    """A self-closing start tag as an opening one: ``<a x="1"/>`` → ``<a x="1">``."""
    return re.sub(r"\s*/>$", ">", tag)


# --- the comments part


@dataclass
class _Comment:
    row: int
    column: int
    node: XmlNode | None
    """Its element in the part; None for one added."""
    author: str | None
    text: str | None
    """Its plain text now (None: removed)."""
    changed: bool = False


def _plain_text(element: Element, ns: str) -> str:
    """A comment's text as Excel shows it: its ``<t>``, or its runs' ``<t>`` joined; not phonetic runs."""
    body = element.find(f"{{{ns}}}text")
    if body is None:
        return ""
    pieces: list[str] = []
    for child in body:
        if child.tag == f"{{{ns}}}t":
            pieces.append(child.text or "")
        elif child.tag == f"{{{ns}}}r":
            pieces.extend(t.text or "" for t in child.findall(f"{{{ns}}}t"))
    return decode_escapes("".join(pieces))


def _cell(ref: str) -> tuple[int, int]:
    match = _REF.fullmatch(ref)
    if match is None:
        raise Unsupported(f"a comment on {ref!r}, which is not a cell reference like B7")
    row = int(match.group(2))
    try:
        column = column_index(match.group(1))
    except ValueError:
        column = MAX_COLUMNS + 1
    if row > MAX_ROWS or column > MAX_COLUMNS:
        raise Unsupported(f"a comment on {ref!r}, outside the sheet")
    return row, column


def _check_cell(row: int, column: int) -> None:
    if not (1 <= row <= MAX_ROWS and 1 <= column <= MAX_COLUMNS):
        raise ValueError(f"row {row}, column {column} is not a cell of a sheet")


def _empty_comments(author: str) -> str:
    return (
        f'{_DECLARATION}<comments xmlns="{_MAIN_NAMESPACES[0]}">'
        f"<authors><author>{text_xml(author)}</author></authors><commentList/></comments>"
    )


def note_texts(comments_xml: bytes) -> dict[tuple[int, int], str]:
    """Every note of a comments part as ``{(row, column): text}``, its text as Excel shows it."""
    element = parse_part(decode_part(comments_xml, "the comments part")[0], "the comments part")
    ns = element.tag[1:].partition("}")[0]
    return {_cell(comment.get("ref", "")): _plain_text(comment, ns) for comment in element.iter(f"{{{ns}}}comment")}


def edit_comments(
    comments_xml: bytes | None, writes: Sequence[NoteWrite], *, author: str = "sheetcrm"
) -> tuple[bytes, list[NoteResult]]:
    """Apply ``writes`` in order to a comments part (None: a new one); the part and one result per write.

    A note written gets ``author`` (added to ``<authors>`` once) and a single plain run of
    text; new ``<comment>`` elements go where Excel keeps them, in row then column order.
    Comments not written keep their bytes. A part nothing changed in comes back as given
    (and for None, a part with no comments).
    """
    text, bom = (
        decode_part(comments_xml, "the comments part") if comments_xml is not None else (_empty_comments(author), False)
    )
    element = parse_part(text, "the comments part")
    ns = element.tag[1:].partition("}")[0]
    if element.tag != f"{{{ns}}}comments" or ns not in _MAIN_NAMESPACES:
        raise ValueError(f"not a spreadsheetml comments part: the root element is {element.tag}")
    root = root_element(text, "the comments part")
    if root.prefixed or root.self_closing:
        raise Unsupported("a comments part with a prefixed or empty root element")
    sections: dict[str, XmlNode] = {}
    for node in root.children:
        if node.prefixed and node.local in ("authors", "commentList"):
            raise Unsupported(f"a comments part with a prefixed <{node.name}>")
        if node.local in sections:
            raise Unsupported(f"a comments part with more than one <{node.local}>")
        sections[node.local] = node
    authors_node, list_node = sections.get("authors"), sections.get("commentList")

    authors_element = element.find(f"{{{ns}}}authors")
    author_names = [a.text or "" for a in authors_element] if authors_element is not None else []
    author_nodes = authors_node.children if authors_node is not None else []
    if len(author_nodes) != len(author_names) or any(n.name != "author" for n in author_nodes):
        raise Unsupported("a comments part whose <authors> is laid out unusually")
    list_element = element.find(f"{{{ns}}}commentList")
    comment_elements = list(list_element) if list_element is not None else []
    comment_nodes = list_node.children if list_node is not None else []
    if len(comment_nodes) != len(comment_elements) or any(n.name != "comment" for n in comment_nodes):
        raise Unsupported("a comments part whose <commentList> holds something other than unprefixed comments")

    comments: dict[tuple[int, int], _Comment] = {}
    originals: list[_Comment] = []
    for node, comment_element in zip(comment_nodes, comment_elements, strict=True):
        if comment_element.tag != f"{{{ns}}}comment":  # pragma: no cover - the names matched above
            raise Unsupported("a comment in another namespace")
        row, column = _cell(comment_element.get("ref", ""))
        if (row, column) in comments:
            raise Unsupported(f"more than one comment on {comment_element.get('ref')}")
        try:
            author_id = int(comment_element.get("authorId", ""))
        except ValueError:
            author_id = -1
        name = author_names[author_id] if 0 <= author_id < len(author_names) else None
        comment = _Comment(row, column, node, name, _plain_text(comment_element, ns))
        comments[row, column] = comment
        originals.append(comment)

    results: list[NoteResult] = []
    for write in writes:
        _check_cell(write.row, write.column)
        key = (write.row, write.column)
        found = comments.get(key)
        old = found.text if found is not None else None
        if found is None or old is None:
            if write.text is not None:
                if found is None:
                    found = comments[key] = _Comment(write.row, write.column, None, author, None)
                found.author, found.text, found.changed = author, write.text, True
            results.append(NoteResult(write.row, write.column, None, write.text))
            continue
        comment = found
        threaded = comment.author is not None and comment.author.startswith("tc=")
        if threaded or (write.ours_only and comment.author != author):
            results.append(NoteResult(write.row, write.column, old, old))  # not ours to change
            continue
        if write.text != old or comment.author != author:
            comment.author, comment.text, comment.changed = author, write.text, True
        results.append(NoteResult(write.row, write.column, old, write.text))

    changed = [comment for comment in comments.values() if comment.changed]
    if not changed:
        return (comments_xml if comments_xml is not None else text.encode("utf-8")), results

    edits: list[tuple[int, int, str]] = []
    ours = author_names.index(author) if author in author_names else len(author_names)
    if ours == len(author_names) and any(comment.text is not None for comment in changed):
        added_author = f"<author>{text_xml(author)}</author>"
        if authors_node is None:
            edits.append((root.inner, root.inner, f"<authors>{added_author}</authors>"))
        elif authors_node.self_closing:
            tag = _opened(text[authors_node.start : authors_node.end])
            edits.append((authors_node.start, authors_node.end, f"{tag}{added_author}</authors>"))
        else:
            edits.append((authors_node.close, authors_node.close, added_author))

    for comment in originals:
        if not comment.changed:
            continue
        span = comment.node
        assert span is not None
        if comment.text is None:
            edits.append((span.start, span.end, ""))
            continue
        tag = set_attribute(_opened(text[span.start : span.inner]), "authorId", str(ours))
        body = next((child for child in span.children if child.name == "text"), None)
        # keep what follows <text> (<commentPr>: the box's anchor and locking)
        rest = text[body.end if body is not None else span.inner : span.close]
        edits.append((span.start, span.end, f"{tag}{_text_element(comment.text)}{rest}</comment>"))

    new = sorted((c for c in changed if c.node is None and c.text is not None), key=lambda c: (c.row, c.column))
    if new:
        if list_node is None or list_node.self_closing:
            inner = "".join(_comment_element(c, ours) for c in new)
            if list_node is not None:
                tag = _opened(text[list_node.start : list_node.end])
                edits.append((list_node.start, list_node.end, f"{tag}{inner}</commentList>"))
            else:
                at = authors_node.end if authors_node is not None else root.inner
                edits.append((at, at, f"<commentList>{inner}</commentList>"))
        else:
            for comment in new:
                following = next((o for o in originals if (o.row, o.column) > (comment.row, comment.column)), None)
                at = following.node.start if following is not None and following.node is not None else list_node.close
                edits.append((at, at, _comment_element(comment, ours)))
    return encode_part(splice(text, edits), bom), results


def _text_element(text: str) -> str:
    # one plain run, no bold "author:" run as Excel adds: the author is in <authors> already
    return f'<text><r><t xml:space="preserve">{_note_text(text)}</t></r></text>'


def _comment_element(comment: _Comment, author_id: int) -> str:
    assert comment.text is not None
    ref = f"{column_letter(comment.column)}{comment.row}"
    return f'<comment ref="{ref}" authorId="{author_id}">{_text_element(comment.text)}</comment>'


# --- the VML drawing

_NOTE_WIDTH, _NOTE_HEIGHT = 128, 74  # pixels: the box Excel gives a new note
_COLUMN_WIDTH, _ROW_HEIGHT = 64, 20  # pixels of a default column and row
_DECLARED = re.compile(r"""\sxmlns:([\w.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_DEFAULT_NS = re.compile(r"""\sxmlns\s*=""")
_Z_INDEX = re.compile(r"z-index:\s*([0-9]+)")
_SHAPE_ID = re.compile(r"""["']_x0000_s([0-9]+)["']""")
_VML_PREFIXES = {_VML_NS: "v", _OFFICE_NS: "o", _EXCEL_NS: "x"}


def _empty_vml() -> str:
    return (
        f'<xml xmlns:v="{_VML_NS}" xmlns:o="{_OFFICE_NS}" xmlns:x="{_EXCEL_NS}">'
        '<o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="1"/></o:shapelayout>'
        f"{_shapetype('v', 'o')}</xml>"
    )


def _shapetype(v: str, o: str) -> str:
    return (
        f'<{v}:shapetype id="_x0000_t202" coordsize="21600,21600" {o}:spt="202" path="m,l,21600r21600,l21600,xe">'
        f'<{v}:stroke joinstyle="miter"/><{v}:path gradientshapeok="t" {o}:connecttype="rect"/></{v}:shapetype>'
    )


def _note_shape(row: int, column: int, shape_id: int, z_index: int, prefixes: Mapping[str, str]) -> str:
    """A hidden note box as Excel and xlsxwriter write one: right of the cell, a row above it."""
    v, o, x = prefixes[_VML_NS], prefixes[_OFFICE_NS], prefixes[_EXCEL_NS]
    # the anchor counts rows and columns from 0; the box's top left corner is one column
    # right of the cell and one row up (on row 1: at the top), at default row and column sizes
    first_column = min(column, MAX_COLUMNS - 3)
    left_offset = 15
    first_row, top_offset = (0, 2) if row == 1 else (min(row - 2, MAX_ROWS - 5), 10)
    right, right_offset = divmod(left_offset + _NOTE_WIDTH, _COLUMN_WIDTH)
    bottom, bottom_offset = divmod(top_offset + _NOTE_HEIGHT, _ROW_HEIGHT)
    anchor = [
        first_column,
        left_offset,
        first_row,
        top_offset,
        first_column + right,
        right_offset,
        first_row + bottom,
        bottom_offset,
    ]
    left = (first_column * _COLUMN_WIDTH + left_offset) * 0.75
    top = (first_row * _ROW_HEIGHT + top_offset) * 0.75
    style = (
        f"position:absolute;margin-left:{left:g}pt;margin-top:{top:g}pt;"
        f"width:{_NOTE_WIDTH * 0.75:g}pt;height:{_NOTE_HEIGHT * 0.75:g}pt;z-index:{z_index};visibility:hidden"
    )
    return (
        f'<{v}:shape id="_x0000_s{shape_id}" type="#_x0000_t202" style="{style}" fillcolor="#ffffe1" {o}:insetmode="auto">'
        f'<{v}:fill color2="#ffffe1"/><{v}:shadow on="t" color="black" obscured="t"/>'
        f'<{v}:path {o}:connecttype="none"/>'
        f'<{v}:textbox style="mso-direction-alt:auto"><div style="text-align:left"></div></{v}:textbox>'
        f'<{x}:ClientData ObjectType="Note"><{x}:MoveWithCells/><{x}:SizeWithCells/>'
        f"<{x}:Anchor>{', '.join(map(str, anchor))}</{x}:Anchor><{x}:AutoFill>False</{x}:AutoFill>"
        f"<{x}:Row>{row - 1}</{x}:Row><{x}:Column>{column - 1}</{x}:Column></{x}:ClientData></{v}:shape>"
    )


@dataclass(frozen=True)
class _Shape:
    start: int
    end: int
    cell: tuple[int, int] | None
    """The 1-based (row, column) of the note it shows; None for a shape that is no note."""


def _shapes(text: str, v: str, x: str | None) -> list[_Shape]:
    """The ``<v:shape>`` elements of a drawing, found by their tags alone.

    Excel's VML is not always XML (form controls' labels hold unclosed ``<br>``), so it is
    searched, not parsed; shapes do not nest, so a shape ends at the first ``</v:shape>``.
    """
    found: list[_Shape] = []
    opening = re.compile(rf"<{re.escape(v)}:shape(?=[\s/>])")
    closing = f"</{v}:shape>"
    position = 0
    while (match := opening.search(text, position)) is not None:
        tag = _START_TAG_END.match(text, match.start())
        if tag is None:
            raise Unsupported("a VML shape whose start tag cannot be read")
        if tag.group(1):
            found.append(_Shape(match.start(), tag.end(), None))
            position = tag.end()
            continue
        close = text.find(closing, tag.end())
        if close < 0:
            raise Unsupported("a VML shape that is never closed")
        end = close + len(closing)
        found.append(_Shape(match.start(), end, _note_cell(text[tag.end() : close], x)))
        position = end
    return found


def _note_cell(inner: str, x: str | None) -> tuple[int, int] | None:
    if x is None:
        return None
    p = re.escape(x)
    if re.search(rf"<{p}:ClientData\b[^>]*\bObjectType\s*=\s*[\"']Note[\"']", inner) is None:
        return None
    row = re.search(rf"<{p}:Row>\s*([0-9]+)\s*</{p}:Row>", inner)
    column = re.search(rf"<{p}:Column>\s*([0-9]+)\s*</{p}:Column>", inner)
    if row is None or column is None:
        return None
    return int(row.group(1)) + 1, int(column.group(1)) + 1


def edit_vml(vml: bytes | None, added: Collection[tuple[int, int]], removed: Collection[tuple[int, int]]) -> bytes:
    """A legacy drawing (None: a new one) with a note box for each ``added`` cell that has none
    and without the boxes of the ``removed`` cells; cells are 1-based ``(row, column)``.

    Every other byte stays: other notes' boxes, form controls, the preamble. New shapes get
    ids above any the drawing uses and go before its end tag; the ``_x0000_t202`` shape type
    they refer to is added if the drawing lacks it. A drawing nothing changed in comes back as given.
    """
    for row, column in (*added, *removed):
        _check_cell(row, column)
    if set(added) & set(removed):
        raise ValueError("a cell cannot have its note box both added and removed")
    text, bom = decode_part(vml, "the VML drawing") if vml is not None else (_empty_vml(), False)
    if "<!DOCTYPE" in text:
        raise ValueError("the VML drawing holds a DTD")
    root = re.search(rf"<xml{_ATTRS}\s*(/?)>", text)
    end = text.rfind("</xml>")
    if root is None or root.group(1) or end < root.end():
        raise Unsupported("a VML drawing whose root is not an <xml> element")
    root_tag = text[root.start() : root.end()]
    if _DEFAULT_NS.search(root_tag):
        raise Unsupported("a VML drawing with a default namespace")
    declared: dict[str, str] = {}  # namespace: prefix
    used: set[str] = set()
    for match in _DECLARED.finditer(root_tag):
        namespace = match.group(2) if match.group(2) is not None else match.group(3)
        declared.setdefault(namespace, match.group(1))
        used.add(match.group(1))

    shapes = _shapes(text, declared[_VML_NS], declared.get(_EXCEL_NS)) if _VML_NS in declared else []
    removals = [(shape.start, shape.end, "") for shape in shapes if shape.cell is not None and shape.cell in removed]
    edits = list(removals)
    present = {shape.cell for shape in shapes}
    wanted = sorted(set(added) - present)
    if wanted:
        missing = [namespace for namespace in _VML_PREFIXES if namespace not in declared]
        declarations = ""
        for namespace in missing:
            prefix = _VML_PREFIXES[namespace]
            while prefix in used:
                prefix += "1"
            declared[namespace] = prefix
            used.add(prefix)
            declarations += f' xmlns:{prefix}="{namespace}"'
        if declarations:
            at = root.end() - 1
            edits.append((at, at, declarations))
        v, o = declared[_VML_NS], declared[_OFFICE_NS]
        shapetype = re.search(rf"<{re.escape(v)}:shapetype\b[^>]*\sid\s*=\s*[\"']_x0000_t202[\"']", text)
        inserted = "" if shapetype is not None else _shapetype(v, o)
        idmap = re.search(rf"<{re.escape(o)}:idmap\b[^>]*\sdata\s*=\s*[\"']\s*([0-9]+)", text)
        block = int(idmap.group(1)) if idmap is not None else 1
        # ids belong to the drawing's idmap block (1: 1025-2047); above any used, also by o:spid
        next_id = max([block * 1024, *(int(found) for found in _SHAPE_ID.findall(text))]) + 1
        z_index = max([0, *(int(found) for found in _Z_INDEX.findall(text))])
        for offset, (row, column) in enumerate(wanted):
            inserted += _note_shape(row, column, next_id + offset, z_index + offset + 1, declared)
        edits.append((end, end, inserted))
    if not edits:
        return vml if vml is not None else text.encode("utf-8")
    return encode_part(splice(text, edits), bom)


# --- relationships and content types


def find_relationships(rels_xml: bytes | None, rel_type: str) -> list[tuple[str, str]]:
    """The ``(Id, Target)`` of each relationship of type ``rel_type`` in a ``.rels`` part (None: none)."""
    if rels_xml is None:
        return []
    root = parse_part(decode_part(rels_xml, "a relationships part")[0], "a relationships part")
    if root.tag != f"{{{_RELS_NS}}}Relationships":
        raise ValueError(f"not a relationships part: the root element is {root.tag}")
    return [
        (element.get("Id", ""), element.get("Target", ""))
        for element in root.iter(f"{{{_RELS_NS}}}Relationship")
        if element.get("Type") == rel_type
    ]


def add_relationship(rels_xml: bytes | None, rel_type: str, target: str) -> tuple[bytes, str]:
    """A ``.rels`` part (None: a new one) with a relationship to ``target`` added, and its Id.

    The Id is ``rIdN`` with N above any ``rIdN`` the part uses, so that it is unused.
    """
    if rels_xml is None:
        text, bom = f'{_DECLARATION}<Relationships xmlns="{_RELS_NS}"></Relationships>', False
    else:
        text, bom = decode_part(rels_xml, "a relationships part")
    element = parse_part(text, "a relationships part")
    if element.tag != f"{{{_RELS_NS}}}Relationships":
        raise ValueError(f"not a relationships part: the root element is {element.tag}")
    root = root_element(text, "a relationships part")
    if root.prefixed:
        raise Unsupported("a relationships part with a prefixed root element")
    ids = {child.get("Id", "") for child in element}
    number = max([0, *(int(match.group(1)) for rel in ids if (match := _RID.fullmatch(rel)))]) + 1
    while f"rId{number}" in ids:  # pragma: no cover - a number above every rIdN is free
        number += 1
    rel_id = f"rId{number}"
    added = f'<Relationship Id="{rel_id}" Type="{attribute_text(rel_type)}" Target="{attribute_text(target)}"/>'
    if root.self_closing:
        edit = (root.start, root.end, f"{_opened(text[root.start : root.end])}{added}</Relationships>")
    else:
        # after the last relationship, so that a closing line break (LibreOffice) stays last
        at = root.children[-1].end if root.children else root.close
        edit = (at, at, added)
    return encode_part(splice(text, [edit]), bom), rel_id


def ensure_content_types(
    content_types_xml: bytes,
    *,
    overrides: Mapping[str, str] = {},
    defaults: Mapping[str, str] = {},
) -> bytes:
    """``[Content_Types].xml`` with an ``<Override>`` for each part name and a ``<Default>`` for each extension missing.

    ``overrides`` maps part names (``"/xl/comments1.xml"``) to content types, ``defaults``
    extensions (``"vml"``) to content types. Names and extensions compare case-insensitively,
    as OPC says. An existing Override of another type gets this one (the caller is writing
    that part); an existing Default of another type raises :class:`ValueError`, since it
    serves other parts too (give the part an Override instead).
    """
    text, bom = decode_part(content_types_xml, "[Content_Types].xml")
    element = parse_part(text, "[Content_Types].xml")
    if element.tag != f"{{{_TYPES_NS}}}Types":
        raise ValueError(f"not a content types part: the root element is {element.tag}")
    root = root_element(text, "[Content_Types].xml")
    if root.prefixed or root.self_closing or len(root.children) != len(element):
        raise Unsupported("a content types part laid out unusually")
    edits: list[tuple[int, int, str]] = []
    have_defaults: dict[str, str] = {}
    have_overrides: dict[str, tuple[str, XmlNode]] = {}
    for node, child in zip(root.children, element, strict=True):
        if child.tag == f"{{{_TYPES_NS}}}Default":
            have_defaults.setdefault(child.get("Extension", "").lower(), child.get("ContentType", ""))
        elif child.tag == f"{{{_TYPES_NS}}}Override":
            have_overrides.setdefault(child.get("PartName", "").lower(), (child.get("ContentType", ""), node))
    added_defaults = ""
    for extension, content_type in defaults.items():
        extension = extension.removeprefix(".")
        existing = have_defaults.get(extension.lower())
        if existing is None:
            added_defaults += (
                f'<Default Extension="{attribute_text(extension)}" ContentType="{attribute_text(content_type)}"/>'
            )
            have_defaults[extension.lower()] = content_type
        elif existing != content_type:
            raise ValueError(f"parts named *.{extension} are {existing}, not {content_type}")
    added_overrides = ""
    for name, content_type in overrides.items():
        part = name if name.startswith("/") else f"/{name}"
        found = have_overrides.get(part.lower())
        if found is None:
            added_overrides += (
                f'<Override PartName="{attribute_text(part)}" ContentType="{attribute_text(content_type)}"/>'
            )
            have_overrides[part.lower()] = (content_type, root)
        elif found[0] != content_type and found[1] is not root:
            node = found[1]
            tag = set_attribute(text[node.start : node.inner], "ContentType", content_type)
            edits.append((node.start, node.inner, tag))
    if added_defaults:
        # Defaults after the last Default, where Excel keeps them (the schema allows any order)
        last = [node for node in root.children if node.local == "Default"]
        at = last[-1].end if last else root.inner
        edits.append((at, at, added_defaults))
    if added_overrides:
        at = root.children[-1].end if root.children else root.close
        edits.append((at, at, added_overrides))
    if not edits:
        return content_types_xml
    return encode_part(splice(text, edits), bom)


# --- the worksheet's <legacyDrawing>


def tail_elements(tail: bytes) -> tuple[str, list[XmlNode], int]:
    """The tail's text, its top-level elements, and where ``</worksheet>`` starts."""
    try:
        text = tail.decode("utf-8")
    except UnicodeDecodeError:
        raise Unsupported("the worksheet is not UTF-8 encoded") from None
    nodes, end = scan_elements(text)
    if end is None:
        raise ValueError("the worksheet tail does not end with </worksheet>")
    return text, nodes, end


def _legacy_node(nodes: list[XmlNode]) -> XmlNode | None:
    return next((node for node in nodes if node.name == "legacyDrawing"), None)


def legacy_drawing_id(tail: bytes) -> str | None:
    """The ``r:id`` of the worksheet's ``<legacyDrawing>`` (whatever the prefix for r), None without one.

    ``tail`` is the worksheet part from just after ``</sheetData>`` to its end.
    """
    text, nodes, _ = tail_elements(tail)
    node = _legacy_node(nodes)
    if node is None:
        return None
    found = re.search(r"""\s[\w.-]+:id\s*=\s*(?:"([^"]*)"|'([^']*)')""", text[node.start : node.inner])
    if found is None:
        return None
    return found.group(1) if found.group(1) is not None else found.group(2)


def with_legacy_drawing(tail: bytes, rel_id: str) -> bytes:
    """The worksheet tail with ``<legacyDrawing r:id=…/>`` where CT_Worksheet's sequence puts it.

    That is after ``<drawing>`` and the elements before it (``<mergeCells>``,
    ``<conditionalFormatting>``, ``<pageMargins>``…) and before ``<legacyDrawingHF>``,
    ``<tableParts>``, ``<extLst>`` and the end tag. The ``r`` prefix is declared on the element
    itself, as the tail does not show whether the root declares it. A tail with a
    ``<legacyDrawing>`` to ``rel_id`` comes back as given; one to another id raises ValueError.
    """
    text, nodes, end = tail_elements(tail)
    existing = _legacy_node(nodes)
    if existing is not None:
        if legacy_drawing_id(tail) == rel_id:
            return tail
        raise ValueError("the worksheet has a <legacyDrawing> already")
    if text[end:].lstrip().startswith("</worksheet") is False:
        raise Unsupported("a worksheet with a prefixed root element")
    at = end
    for node in nodes:
        if _comes_after_legacy(node):
            at = node.start
            break
    element = f'<legacyDrawing xmlns:r="{_R_NS}" r:id="{attribute_text(rel_id)}"/>'
    return splice(text, [(at, at, element)]).encode("utf-8")


def _comes_after_legacy(node: XmlNode) -> bool:
    """Whether a top-level element of the tail belongs after ``<legacyDrawing>``."""
    if node.local == "AlternateContent":
        # Excel wraps <controls> and <oleObjects> in mc:AlternateContent: judge by what it holds
        inner = [grandchild for child in node.children for grandchild in child.children]
        if not inner:
            raise Unsupported("an empty mc:AlternateContent after <sheetData>")
        return _comes_after_legacy(inner[0])
    if node.prefixed:
        raise Unsupported(f"a prefixed <{node.name}> after <sheetData>")
    if node.name in _AFTER_LEGACY:
        return True
    if node.name in _BEFORE_LEGACY:
        return False
    raise Unsupported(f"a <{node.name}> after <sheetData>, which sheetcrm does not know where to place")

"""``xl/styles.xml`` as a :class:`StyleBook`: read number formats and fills, add cell styles in place.

A cell points at an entry of ``<cellXfs>`` by index (``<c s="3">``); that entry points at a font,
a fill, a border and a number format. Giving one cell a fill therefore means finding or adding a
``<fill>``, then finding or adding an ``<xf>`` equal to the cell's own but for its ``fillId``.

The book reads the part with defusedxml, but it never re-serialises it: what it adds is spliced
into the original text and only the ``count`` attributes of the lists it grew change, so
namespace prefixes, ``mc:Ignorable`` extension attributes (``x14ac:knownFonts``, ``x16r2``),
``<extLst>`` and everything else come back byte for byte. A new ``<xf>`` is a copy of the text of
the one it derives from, with its ``fillId`` or ``numFmtId`` set::

    >>> book = StyleBook.parse(DEFAULT_STYLES)
    >>> red = book.with_fill(0, "FFC7CE")
    >>> red, book.with_fill(0, "FFC7CE")  # added once, then reused
    (1, 1)
    >>> dated = book.with_number_format(red, "yyyy-mm-dd")
    >>> book.number_format(dated), book.is_date(dated)
    ('yyyy-mm-dd', True)
    >>> xml = book.to_xml()  # the part to write back; the caller wires the part into the package

Errors: a part that is not well-formed XML, holds a DTD, or is not a spreadsheetml style sheet
raises :class:`ValueError`; a style index outside ``<cellXfs>`` raises :class:`IndexError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as DefusedET

__all__ = ["BUILTIN_FORMATS", "DEFAULT_STYLES", "StyleBook", "is_date_format"]

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STRICT_NS = "http://purl.oclc.org/ooxml/spreadsheetml/main"

DEFAULT_STYLES = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b'<fonts count="1"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    b'<fills count="2"><fill><patternFill patternType="none"/></fill>'
    b'<fill><patternFill patternType="gray125"/></fill></fills>'
    b'<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    b'<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    b'<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
    b'<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    b'<dxfs count="0"/><tableStyles count="0"/>'
    b"</styleSheet>"
)
"""A minimal, valid ``xl/styles.xml`` for a workbook that has none: one font, the two fills
Excel reserves, one border, and style 0 (General, no fill). The caller adds the part, its
content type and its relationship."""

BUILTIN_FORMATS: dict[int, str] = {
    0: "General",
    1: "0",
    2: "0.00",
    3: "#,##0",
    4: "#,##0.00",
    5: '"$"#,##0_);("$"#,##0)',
    6: '"$"#,##0_);[Red]("$"#,##0)',
    7: '"$"#,##0.00_);("$"#,##0.00)',
    8: '"$"#,##0.00_);[Red]("$"#,##0.00)',
    9: "0%",
    10: "0.00%",
    11: "0.00E+00",
    12: "# ?/?",
    13: "# ??/??",
    14: "mm-dd-yy",
    15: "d-mmm-yy",
    16: "d-mmm",
    17: "mmm-yy",
    18: "h:mm AM/PM",
    19: "h:mm:ss AM/PM",
    20: "h:mm",
    21: "h:mm:ss",
    22: "m/d/yy h:mm",
    37: "#,##0_);(#,##0)",
    38: "#,##0_);[Red](#,##0)",
    39: "#,##0.00_);(#,##0.00)",
    40: "#,##0.00_);[Red](#,##0.00)",
    41: '_(* #,##0_);_(* \\(#,##0\\);_(* "-"_);_(@_)',
    42: '_("$"* #,##0_);_("$"* \\(#,##0\\);_("$"* "-"_);_(@_)',
    43: '_(* #,##0.00_);_(* \\(#,##0.00\\);_(* "-"??_);_(@_)',
    44: '_("$"* #,##0.00_)_("$"* \\(#,##0.00\\)_("$"* "-"??_)_(@_)',
    45: "mm:ss",
    46: "[h]:mm:ss",
    47: "mmss.0",
    48: "##0.0E+0",
    49: "@",
}
"""The built-in number formats every workbook has without declaring them, spelled as ECMA-376
and openpyxl spell them (14 is shown by Excel in the reader's locale, e.g. ``m/d/yyyy``)."""

# Ids 27-36 and 50-58 are East Asian locale date/time formats with no locale-free spelling;
# ECMA-376 gives these zh-CN codes. They are only ever read: asking for such a code adds a
# custom format instead, so that it shows the same in every locale.
_LOCALE_FORMATS: dict[int, str] = {
    27: 'yyyy"年"m"月"',
    28: 'm"月"d"日"',
    29: 'm"月"d"日"',
    30: "m-d-yy",
    31: 'yyyy"年"m"月"d"日"',
    32: 'h"时"mm"分"',
    33: 'h"时"mm"分"ss"秒"',
    34: '上午/下午h"时"mm"分"',
    35: '上午/下午h"时"mm"分"ss"秒"',
    36: 'yyyy"年"m"月"',
    50: 'yyyy"年"m"月"',
    51: 'm"月"d"日"',
    52: 'yyyy"年"m"月"',
    53: 'm"月"d"日"',
    54: 'm"月"d"日"',
    55: '上午/下午h"时"mm"分"',
    56: '上午/下午h"时"mm"分"ss"秒"',
    57: 'yyyy"年"m"月"',
    58: 'm"月"d"日"',
}
_BUILTIN_IDS = {code: number for number, code in BUILTIN_FORMATS.items()}
_BUILTIN_DATE_IDS = frozenset([*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)])
_FIRST_CUSTOM_ID = 164

# The children of <styleSheet>, in the order the schema requires.
_ORDER = (
    "numFmts",
    "fonts",
    "fills",
    "borders",
    "cellStyleXfs",
    "cellXfs",
    "cellStyles",
    "dxfs",
    "tableStyles",
    "colors",
    "extLst",
)
_DEFAULT_CHILDREN = {
    "fonts": '<{p}font><{p}sz val="11"/><{p}name val="Calibri"/><{p}family val="2"/></{p}font>',
    "fills_none": '<{p}fill><{p}patternFill patternType="none"/></{p}fill>',
    "fills_gray": '<{p}fill><{p}patternFill patternType="gray125"/></{p}fill>',
    "borders": "<{p}border><{p}left/><{p}right/><{p}top/><{p}bottom/><{p}diagonal/></{p}border>",
    "cellStyleXfs": '<{p}xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>',
    "cellXfs": '<{p}xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>',
    "cellStyles": '<{p}cellStyle name="Normal" xfId="0" builtinId="0"/>',
}

_ATTRS = r"(?:\s+[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*"
_MARKUP = re.compile(rf"<!--.*?-->|<\?.*?\?>|<!\[CDATA\[.*?\]\]>|<(/?)([^\s/>!?]+){_ATTRS}\s*(/?)>", re.S)
_START_TAG = re.compile(rf"<[^\s/>]+{_ATTRS}(\s*/?>)")
_HEX = re.compile(r"#?([0-9A-Fa-f]{6}|[0-9A-Fa-f]{8})")
_ELAPSED = re.compile(r"h+|m+|s+", re.I)
_ENCODING = re.compile(rb"""^<\?xml[^>]*encoding\s*=\s*["']([^"']+)["']""")
_BOM = b"\xef\xbb\xbf"


def is_date_format(code: str) -> bool:
    """Whether a number format code shows a date or a time, as Excel and calamine decide.

    Only the first section (before ``;``) counts. Letters inside quotes, after ``\\``, ``_``
    or ``*``, and inside brackets (``[Red]``, ``[$-409]``, ``[>100]``) are not date parts;
    an elapsed-time bracket (``[h]``, ``[mm]``, ``[ss]``) is.

        >>> is_date_format("yyyy-mm-dd"), is_date_format("[h]:mm"), is_date_format('0 "days"')
        (True, True, False)
    """
    i, end = 0, len(code)
    while i < end:
        char = code[i]
        if char == '"':
            close = code.find('"', i + 1)
            if close < 0:
                return False
            i = close + 1
        elif char in "\\_*":
            i += 2
        elif char == "[":
            close = code.find("]", i + 1)
            if close < 0:
                return False
            if _ELAPSED.fullmatch(code, i + 1, close):
                return True
            i = close + 1
        elif char == ";":
            return False
        elif char in "dmyhsDMYHS" or (char in "aA" and code[i : i + 3].upper() == "A/P"):
            return True
        else:
            i += 1
    return False


@dataclass
class _Span:
    """Where an element sits in the text: ``text[start:inner]`` is its start tag."""

    name: str
    start: int
    inner: int
    close: int = -1
    """Where its end tag starts (== ``end`` when self-closing)."""
    end: int = -1
    self_closing: bool = False
    children: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class _Xf:
    attrib: dict[str, str]
    children: tuple[Any, ...]
    source: str
    """The element's text as it stands (or will stand) in the part."""
    key: tuple[Any, ...] = field(init=False)
    """What makes two xfs the same style, whatever their attribute order or spelling of booleans."""

    def __post_init__(self) -> None:
        self.key = (frozenset((name, _normal(value)) for name, value in self.attrib.items()), self.children)


@dataclass
class _LookIndex:
    """Fonts and borders by canonical form, index for index, and the looks made so far."""

    fonts: list[tuple[Any, ...]] = field(default_factory=list)
    borders: list[tuple[Any, ...]] = field(default_factory=list)
    memo: dict[tuple[Any, ...], int] = field(default_factory=dict)


def _normal(value: str) -> str:
    return {"true": "1", "false": "0"}.get(value, value)


def _canonical(element: Element) -> tuple[Any, ...]:
    return (
        element.tag,
        frozenset((name, _normal(value)) for name, value in element.attrib.items()),
        (element.text or "").strip(),
        tuple(_canonical(child) for child in element),
    )


def _int(value: str | None) -> int:
    try:
        return int(value) if value is not None else 0
    except ValueError:
        return 0


def _xml_attr(value: str) -> str:
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    return value.replace("\t", "&#9;").replace("\n", "&#10;").replace("\r", "&#13;")


def _set_attributes(tag_text: str, values: dict[str, str]) -> str:
    """Set attributes in the start tag at the head of ``tag_text``, leaving the rest as it is."""
    match = _START_TAG.match(tag_text)
    if match is None:  # pragma: no cover - every element the scanner found has a start tag
        raise ValueError(f"cannot read the start tag of {tag_text[:80]!r}")
    tag, rest = tag_text[: match.end()], tag_text[match.end() :]
    for name, value in values.items():
        pattern = re.compile(rf"(\s{re.escape(name)}\s*=\s*)(\"[^\"]*\"|'[^']*')")
        found = pattern.search(tag)
        if found is not None:  # keep the quote character the file uses
            quote = found.group(2)[0]
            tag = f"{tag[: found.start(2)]}{quote}{_xml_attr(value)}{quote}{tag[found.end(2) :]}"
        else:
            closer = _START_TAG.match(tag)
            assert closer is not None
            at = closer.start(1)
            tag = f'{tag[:at]} {name}="{_xml_attr(value)}"{tag[at:]}'
    return tag + rest


def _scan(text: str) -> tuple[_Span, list[_Span]]:
    """Find the root element, its children and their children's extents."""
    stack: list[_Span] = []
    root: _Span | None = None
    sections: list[_Span] = []
    for match in _MARKUP.finditer(text):
        closing, name, self_closing = match.group(1), match.group(2), match.group(3)
        if name is None:
            continue
        if closing:
            span = stack.pop()
            span.close, span.end = match.start(), match.end()
        else:
            span = _Span(name, match.start(), match.end())
            if not self_closing:
                stack.append(span)
                continue
            span.close = span.end = match.end()
            span.self_closing = True
        depth = len(stack)
        if depth == 0:
            root = span
            break
        if depth == 1:
            sections.append(span)
        elif depth == 2:
            stack[1].children.append((span.start, span.end))
    if root is None:  # pragma: no cover - the part parsed as XML before it is scanned
        raise ValueError("styles.xml has no root element")
    return root, sections


class StyleBook:
    """The style sheet of a workbook, read once and grown by text edits (see the module doc)."""

    def __init__(self, xml: bytes, text: str, bom: bool, root: Element, spans: tuple[_Span, list[_Span]]) -> None:
        """Use :meth:`parse`."""
        self._xml = xml
        self._text = text
        self._bom = bom
        self._root_span, sections = spans
        self._ns = root.tag[1:].partition("}")[0]
        qualified = self._root_span.name
        self._prefix = qualified[: qualified.index(":") + 1] if ":" in qualified else ""
        self._sections: dict[str, _Span] = {}
        for span in sections:
            local = span.name.removeprefix(self._prefix)
            if local in _ORDER and span.name == self._prefix + local:
                if local in self._sections:
                    raise ValueError(f"styles.xml holds more than one <{local}>")
                self._sections[local] = span
        self._added: dict[str, list[str]] = {}
        self._memo: dict[tuple[str, int, str | None], int] = {}

        elements = {local: root.find(self._tag(local)) for local in _ORDER}
        for local, element in elements.items():
            found = self._sections.get(local)
            if (element is None) != (found is None) or (
                element is not None and found is not None and len(element) != len(found.children)
            ):
                raise ValueError(
                    f"styles.xml uses namespace prefixes sheetcrm cannot edit safely (around <{local}>); "
                    "open and save the workbook in Excel to normalise it"
                )
        self._counts = {local: len(element) if element is not None else 0 for local, element in elements.items()}

        self._numfmts: dict[int, str] = {}
        numfmts = elements["numFmts"]
        for numfmt in numfmts if numfmts is not None else ():
            if numfmt.tag == self._tag("numFmt") and numfmt.get("numFmtId") is not None:
                self._numfmts[_int(numfmt.get("numFmtId"))] = numfmt.get("formatCode", "")

        fills = elements["fills"]
        self._fills: list[str | None] = [self._solid_rgb(fill) for fill in (fills if fills is not None else ())]
        self._patterned = [self._has_pattern(fill) for fill in (fills if fills is not None else ())]

        self._xfs: list[_Xf] = []
        cellxfs = elements["cellXfs"]
        if cellxfs is not None:
            spans_ = self._sections["cellXfs"].children
            for xf, (start, end) in zip(cellxfs, spans_, strict=True):
                children = tuple(_canonical(child) for child in xf)
                self._xfs.append(_Xf(dict(xf.attrib), children, text[start:end]))

    @classmethod
    def parse(cls, xml: bytes) -> StyleBook:
        """Read the content of ``xl/styles.xml`` (or :data:`DEFAULT_STYLES` for a workbook without one)."""
        if xml.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise ValueError("styles.xml is UTF-16 encoded; sheetcrm edits UTF-8 parts only")
        bom = xml.startswith(_BOM)
        body = xml[len(_BOM) :] if bom else xml
        declared = _ENCODING.match(body)
        encoding = declared.group(1).decode("ascii", "replace") if declared is not None else "UTF-8"
        if encoding.lower().replace("_", "-") not in ("utf-8", "utf8"):
            raise ValueError(f"styles.xml is {encoding} encoded; sheetcrm edits UTF-8 parts only")
        try:
            text = body.decode("utf-8")
            root = DefusedET.fromstring(body, forbid_dtd=True)
        except (UnicodeDecodeError, ParseError) as error:
            raise ValueError(f"styles.xml is not well-formed UTF-8 XML: {error}") from None
        if root.tag not in (f"{{{MAIN_NS}}}styleSheet", f"{{{STRICT_NS}}}styleSheet"):
            raise ValueError(f"not a spreadsheetml style sheet: the root element is {root.tag}")
        return cls(xml, text, bom, root, _scan(text))

    # --- reading

    def is_date(self, style: int) -> bool:
        """Whether cells with this style show a date or time (a builtin date id or such a custom code)."""
        number = _int(self._xf(style).attrib.get("numFmtId"))
        if number in self._numfmts:
            return is_date_format(self._numfmts[number])
        return number in _BUILTIN_DATE_IDS

    def number_format(self, style: int) -> str:
        """The number format code of a style: ``"General"``, ``"0.00"``, ``"yyyy-mm-dd"``…"""
        number = _int(self._xf(style).attrib.get("numFmtId"))
        if number in self._numfmts:
            return self._numfmts[number]
        return BUILTIN_FORMATS.get(number) or _LOCALE_FORMATS.get(number) or "General"

    def fill(self, style: int) -> str | None:
        """The solid fill colour of a style as six hex digits (``"FFC7CE"``), or None for none/other fills."""
        fill_id = _int(self._xf(style).attrib.get("fillId"))
        return self._fills[fill_id] if 0 <= fill_id < len(self._fills) else None

    def has_fill(self, style: int) -> bool:
        """Whether cells with this style show any fill (solid, patterned or gradient)."""
        fill_id = _int(self._xf(style).attrib.get("fillId"))
        if fill_id < len(self._patterned):
            return self._patterned[fill_id]
        return fill_id >= 2  # one this book added: always solid

    def __len__(self) -> int:
        """How many cell styles (``<cellXfs>`` entries) the book has, counting added ones."""
        return max(len(self._xfs), 1)

    # --- growing

    def with_fill(self, style: int, rgb: str | None) -> int:
        """The index of a style like ``style`` but with a solid fill of ``rgb`` (None: no fill).

        ``rgb`` is ``"FFC7CE"``, ``"#FFC7CE"`` or ARGB ``"FFFFC7CE"``. A matching fill and
        style already in the book are reused, so calling this again, even on a book parsed
        from a part this wrote, adds nothing.
        """
        color = None if rgb is None else self._color(rgb)
        memo = ("fill", style, color)
        if memo not in self._memo:
            self._xf(style)
            if color is None:
                self._memo[memo] = self._derive(style, {"fillId": "0"})
            else:
                self._memo[memo] = self._derive(style, {"fillId": str(self._fill_id(color)), "applyFill": "1"})
        return self._memo[memo]

    def with_number_format(self, style: int, code: str) -> int:
        """The index of a style like ``style`` but with number format ``code``.

        A builtin id is used where one has exactly this code (``"0.00"`` is 2, but
        ``"yyyy-mm-dd"`` is not 14, which Excel shows in the reader's locale); otherwise a
        custom ``<numFmt>`` (id 164 and up) is found or added once.
        """
        memo = ("format", style, code)
        if memo not in self._memo:
            self._xf(style)
            number = str(self._format_id(code))
            self._memo[memo] = self._derive(style, {"numFmtId": number, "applyNumberFormat": "1"})
        return self._memo[memo]

    def with_look(
        self,
        *,
        bold: bool = False,
        italic: bool = False,
        underline: bool = False,
        size: float | None = None,
        color: str | None = None,
        fill: str | None = None,
        number_format: str | None = None,
        wrap: bool = False,
        top_border: bool = False,
        bottom_border: bool = False,
    ) -> int:
        """The index of a cell style with this look, built on style 0 (the workbook's default font).

        What is not asked for stays as style 0 has it: ``size=None`` keeps its font size,
        ``color=None`` its font colour. The font, fill, border and number format are found
        or added once, and so is the ``<xf>``: asking again, even of a book parsed from a
        part this wrote, adds nothing. A look that asks for nothing is style 0::

            >>> book = StyleBook.parse(DEFAULT_STYLES)
            >>> header = book.with_look(bold=True, fill="DDEBF7", bottom_border=True)
            >>> header, book.with_look(bold=True, fill="DDEBF7", bottom_border=True), book.with_look()
            (1, 1, 0)
        """
        key = (bold, italic, underline, size, color, fill, number_format, wrap, top_border, bottom_border)
        if not any(value for value in key):
            return 0
        looks = self._look_index()
        if key in looks.memo:
            return looks.memo[key]
        base = self._xf(0)
        values: dict[str, str] = {}
        if bold or italic or underline or size is not None or color is not None:
            values["fontId"] = str(self._look_font(bold, italic, underline, size, color))
            values["applyFont"] = "1"
        if fill is not None:
            values["fillId"] = str(self._fill_id(self._color(fill)))
            values["applyFill"] = "1"
        if top_border or bottom_border:
            values["borderId"] = str(self._look_border(top_border, bottom_border))
            values["applyBorder"] = "1"
        if number_format is not None:
            values["numFmtId"] = str(self._format_id(number_format))
            values["applyNumberFormat"] = "1"
        if wrap:
            values["applyAlignment"] = "1"
        looks.memo[key] = self._derive_look(base, values, wrap)
        return looks.memo[key]

    def changed(self) -> bool:
        """Whether anything was added since the part was read."""
        return any(self._added.values())

    def to_xml(self) -> bytes:
        """The part: the bytes read, with only the added elements spliced in and their lists' counts set."""
        if not self.changed():
            return self._xml
        edits: list[tuple[int, int, int, str]] = []  # (start, order, end, replacement)
        missing: list[tuple[int, str]] = []
        for order, local in enumerate(_ORDER):
            added = "".join(self._added.get(local, ()))
            if not added:
                continue
            count = str(self._counts[local])
            span = self._sections.get(local)
            if span is None:
                missing.append((order, f'<{self._prefix}{local} count="{count}">{added}</{self._prefix}{local}>'))
                continue
            tag = self._text[span.start : span.inner]
            if re.search(r"\scount\s*=", tag):
                tag = _set_attributes(tag, {"count": count})
            if span.self_closing:
                tag = re.sub(r"\s*/>$", ">", tag)
                edits.append((span.start, order, span.end, f"{tag}{added}</{span.name}>"))
            else:
                edits.append((span.start, order, span.inner, tag))
                edits.append((span.close, order, span.close, added))
        root = self._root_span
        if missing and root.self_closing:
            tag = re.sub(r"\s*/>$", ">", self._text[root.start : root.end])
            inner = "".join(element for _, element in missing)
            edits.append((root.start, 0, root.end, f"{tag}{inner}</{root.name}>"))
        for order, element in missing if not root.self_closing else ():
            later = [self._sections[name].start for name in _ORDER[order + 1 :] if name in self._sections]
            at = later[0] if later else root.close
            edits.append((at, order, at, element))
        pieces: list[str] = []
        position = 0
        for start, _, end, replacement in sorted(edits, key=lambda edit: (edit[0], edit[1])):
            pieces.append(self._text[position:start])
            pieces.append(replacement)
            position = end
        pieces.append(self._text[position:])
        return (_BOM if self._bom else b"") + "".join(pieces).encode("utf-8")

    # --- internals

    def _tag(self, local: str) -> str:
        return f"{{{self._ns}}}{local}"

    def _xf(self, style: int) -> _Xf:
        if 0 <= style < len(self._xfs):
            return self._xfs[style]
        if style == 0 and not self._xfs:
            return _Xf(
                {"numFmtId": "0", "fontId": "0", "fillId": "0", "borderId": "0", "xfId": "0"},
                (),
                self._default("cellXfs"),
            )
        raise IndexError(f"style {style} is not in styles.xml, which has {len(self._xfs)} cell styles")

    def _solid_rgb(self, fill: Element) -> str | None:
        pattern = fill.find(self._tag("patternFill"))
        if pattern is None or pattern.get("patternType") != "solid":
            return None
        color = pattern.find(self._tag("fgColor"))
        if color is None or set(color.attrib) != {"rgb"}:
            return None
        match = _HEX.fullmatch(color.get("rgb", ""))
        return match.group(1)[-6:].upper() if match else None

    def _has_pattern(self, fill: Element) -> bool:
        if fill.find(self._tag("gradientFill")) is not None:
            return True
        pattern = fill.find(self._tag("patternFill"))
        return pattern is not None and pattern.get("patternType", "none") != "none"

    @staticmethod
    def _color(rgb: str) -> str:
        match = _HEX.fullmatch(rgb.strip())
        if match is None:
            raise ValueError(f"{rgb!r} is not a colour: use six hex digits such as 'FFC7CE'")
        return match.group(1)[-6:].upper()

    def _add(self, local: str, element: str) -> None:
        """Queue ``element`` (its text, prefixes in place) for the end of the ``local`` list."""
        self._added.setdefault(local, []).append(element)
        self._counts[local] += 1

    def _default(self, name: str) -> str:
        return _DEFAULT_CHILDREN[name].format(p=self._prefix)

    def _ensure_defaults(self) -> None:
        """Give a sparse style sheet what any added style refers to: font 0, fills 0-1, border 0, xfs 0."""
        if not self._counts["fonts"]:
            self._add("fonts", self._default("fonts"))
        if not self._fills:
            self._add("fills", self._default("fills_none"))
            self._fills.append(None)
        if len(self._fills) == 1:  # Excel reserves fills 0 and 1, whatever they hold
            self._add("fills", self._default("fills_gray"))
            self._fills.append(None)
        if not self._counts["borders"]:
            self._add("borders", self._default("borders"))
        if not self._counts["cellStyleXfs"]:
            self._add("cellStyleXfs", self._default("cellStyleXfs"))
            if not self._counts["cellStyles"]:
                self._add("cellStyles", self._default("cellStyles"))
        if not self._xfs:
            default = self._xf(0)
            self._add("cellXfs", self._default("cellXfs"))
            self._xfs.append(default)

    def _fill_id(self, color: str) -> int:
        self._ensure_defaults()
        for index, existing in enumerate(self._fills):
            if existing == color and index >= 2:
                return index
        p = self._prefix
        self._add(
            "fills",
            f'<{p}fill><{p}patternFill patternType="solid"><{p}fgColor rgb="FF{color}"/>'
            f'<{p}bgColor indexed="64"/></{p}patternFill></{p}fill>',
        )
        self._fills.append(color)
        return len(self._fills) - 1

    def _format_id(self, code: str) -> int:
        builtin = _BUILTIN_IDS.get(code)
        if builtin is not None and builtin not in self._numfmts:
            return builtin
        for number, existing in self._numfmts.items():
            if existing == code:
                return number
        number = max([_FIRST_CUSTOM_ID - 1, *self._numfmts]) + 1
        self._add("numFmts", f'<{self._prefix}numFmt numFmtId="{number}" formatCode="{_xml_attr(code)}"/>')
        self._numfmts[number] = code
        return number

    def _look_index(self) -> _LookIndex:
        """What :meth:`with_look` compares new fonts and borders with, made on first use."""
        index = self.__dict__.get("_looks")
        if isinstance(index, _LookIndex):
            return index
        self._ensure_defaults()  # a sparse sheet gets font 0 and border 0 first, so indices below hold
        body = self._xml[len(_BOM) :] if self._bom else self._xml
        root = DefusedET.fromstring(body, forbid_dtd=True)
        index = _LookIndex()
        for local, keys in (("fonts", index.fonts), ("borders", index.borders)):
            section = root.find(self._tag(local))
            keys.extend(_canonical(child) for child in (section if section is not None else ()))
            keys.extend(self._fragment_key(added) for added in self._added.get(local, ()))
        self.__dict__["_looks"] = index
        return index

    def _fragment_key(self, element: str) -> tuple[Any, ...]:
        """The canonical form of one element's text, its prefix declared around it."""
        prefix = f":{self._prefix[:-1]}" if self._prefix else ""
        wrapped = DefusedET.fromstring(f'<wrap xmlns{prefix}="{self._ns}">{element}</wrap>', forbid_dtd=True)
        return _canonical(wrapped[0])

    def _section_child(self, local: str, index: int) -> str | None:
        """The text of the ``index``-th element of a list as the part holds it, or None."""
        span = self._sections.get(local)
        if span is None or index >= len(span.children):
            added = self._added.get(local, [])
            return added[0] if index == 0 and added else None
        start, end = span.children[index]
        return self._text[start:end]

    def _look_font(self, bold: bool, italic: bool, underline: bool, size: float | None, color: str | None) -> int:
        """Font 0 with these changes: an equal font's index, or a new one's."""
        base_id = _int(self._xf(0).attrib.get("fontId"))
        base = self._section_child("fonts", base_id) or self._default("fonts")
        p = re.escape(self._prefix)
        replaced = [
            name
            for name, wanted in (("b", bold), ("i", italic), ("u", underline), ("sz", size), ("color", color))
            if wanted
        ]
        names = "|".join(replaced)
        body = re.sub(rf"<{p}(?:{names})(?:\s[^>]*)?(?:/>|>\s*</{p}(?:{names})>)", "", base)
        opening = _START_TAG.match(body)
        if opening is None or body[opening.end() - 2 : opening.end()] == "/>":
            raise ValueError("font 0 of styles.xml cannot be read")
        q = self._prefix
        added = "".join(
            [
                f"<{q}b/>" if bold else "",
                f"<{q}i/>" if italic else "",
                f"<{q}u/>" if underline else "",
                f'<{q}sz val="{size:g}"/>' if size is not None else "",
                f'<{q}color rgb="FF{self._color(color)}"/>' if color is not None else "",
            ]
        )
        font = body[: opening.end()] + added + body[opening.end() :]
        return self._find_or_add(self._look_index().fonts, "fonts", font)

    def _look_border(self, top: bool, bottom: bool) -> int:
        q = self._prefix

        def side(name: str, on: bool) -> str:
            return f'<{q}{name} style="thin"><{q}color auto="1"/></{q}{name}>' if on else f"<{q}{name}/>"

        border = f"<{q}border><{q}left/><{q}right/>{side('top', top)}{side('bottom', bottom)}<{q}diagonal/></{q}border>"
        return self._find_or_add(self._look_index().borders, "borders", border)

    def _find_or_add(self, keys: list[tuple[Any, ...]], local: str, element: str) -> int:
        key = self._fragment_key(element)
        if key in keys:
            return keys.index(key)
        self._add(local, element)
        keys.append(key)
        return len(keys) - 1

    def _derive_look(self, base: _Xf, values: dict[str, str], wrap: bool) -> int:
        """Like :meth:`_derive` from ``base``, and with ``wrapText`` on its alignment when ``wrap``."""
        source = _set_attributes(base.source, values)
        if wrap:
            q = self._prefix
            alignment = re.search(rf"<{re.escape(q)}alignment(?=[\s/>])", source)
            if alignment is not None:
                source = source[: alignment.start()] + _set_attributes(source[alignment.start() :], {"wrapText": "1"})
            elif source.rstrip().endswith("/>"):
                source = re.sub(r"\s*/>$", f'><{q}alignment wrapText="1"/></{q}xf>', source.rstrip())
            else:
                opening = _START_TAG.match(source)
                assert opening is not None
                source = f'{source[: opening.end()]}<{q}alignment wrapText="1"/>{source[opening.end() :]}'
        wanted = _Xf({**base.attrib, **values}, self._xf_children(source), source)
        for index, xf in enumerate(self._xfs):
            if xf.key == wanted.key:
                return index
        self._ensure_defaults()
        self._add("cellXfs", source)
        self._xfs.append(wanted)
        return len(self._xfs) - 1

    def _xf_children(self, source: str) -> tuple[Any, ...]:
        prefix = f":{self._prefix[:-1]}" if self._prefix else ""
        wrapped = DefusedET.fromstring(f'<wrap xmlns{prefix}="{self._ns}">{source}</wrap>', forbid_dtd=True)
        return tuple(_canonical(child) for child in wrapped[0])

    def _derive(self, style: int, values: dict[str, str]) -> int:
        """The index of an xf equal to ``style``'s but for ``values``: itself, an existing one, or a new one."""
        base = self._xf(style)
        wanted = _Xf({**base.attrib, **values}, base.children, "")
        if wanted.key == base.key:
            return style
        for index, xf in enumerate(self._xfs):
            if xf.key == wanted.key:
                return index
        self._ensure_defaults()
        source = _set_attributes(base.source, values)
        self._add("cellXfs", source)
        self._xfs.append(_Xf(wanted.attrib, base.children, source))
        return len(self._xfs) - 1

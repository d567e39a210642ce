"""``xl/sharedStrings.xml``: the texts of the shared strings a caller needs, streamed, never loaded whole.

Text cells point into the shared string table by index (``<c t="s"><v>7</v></c>``). The table can
hold millions of strings, so :func:`resolve_shared_strings` streams the part through defusedxml's
parser, keeps only the texts asked for and stops reading once it has passed the last of them::

    >>> import io
    >>> part = io.BytesIO(
    ...     b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    ...     b"<si><t>Zhang Wei</t></si><si><r><t>VIP</t></r><r><t>_x000D_ gold</t></r></si></sst>"
    ... )
    >>> resolve_shared_strings(part, {1, 5})
    {1: 'VIP\\r gold'}

A string's text is its ``<t>``, or its rich-text runs' ``<t>`` joined; phonetic runs
(``<rPh>``, furigana) are not part of it. Whitespace is kept as written, and ``_xHHHH_``
escapes are decoded as Excel decodes them (:func:`decode_escapes`, which inline strings need too).

A part holding a DTD is refused with defusedxml's :class:`~defusedxml.DTDForbidden`, a
:class:`ValueError`; a malformed part raises :class:`ValueError` as well.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import IO
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as DefusedET

__all__ = ["decode_escapes", "resolve_shared_strings"]

_CHUNK = 1 << 16
_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
# Transitional, Strict, and none (some generators forget it)
_NAMESPACES = (
    "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}",
    "{http://purl.oclc.org/ooxml/spreadsheetml/main}",
    "",
)
_SI = frozenset(f"{ns}si" for ns in _NAMESPACES)
_T = frozenset(f"{ns}t" for ns in _NAMESPACES)
_R = frozenset(f"{ns}r" for ns in _NAMESPACES)


def decode_escapes(text: str) -> str:
    """Decode Excel's ``_xHHHH_`` escapes: ``_x000D_`` is a carriage return, ``_x005F_`` an underscore.

    Decoding runs left to right without rescanning, so ``_x005F_x000D_`` (an escaped
    underscore before ``x000D_``) stays the literal text ``_x000D_``, and escaped UTF-16
    surrogate pairs join into one character.

        >>> decode_escapes("line 1_x000D_"), decode_escapes("_x005F_x000D_")
        ('line 1\\r', '_x000D_')
    """
    if "_x" not in text:
        return text
    decoded = _ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), text)
    if any("\ud800" <= char <= "\udfff" for char in decoded):
        return decoded.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return decoded


class _Collector:
    """A parser target that keeps the text of the wanted ``<si>`` children of the root."""

    def __init__(self, wanted: set[int]) -> None:
        self.wanted = wanted
        self.last = max(wanted)
        self.found: dict[int, str] = {}
        self.index = -1
        self.depth = 0
        self.parts: list[str] | None = None
        """The text pieces of the string being collected; None between wanted strings."""
        self.path: list[str] = []
        """Tags open inside the string being collected."""

    @property
    def done(self) -> bool:
        return self.index >= self.last and self.parts is None

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self.depth += 1
        if self.depth == 2:
            if tag in _SI:
                self.index += 1
                if self.index in self.wanted:
                    self.parts = []
        elif self.parts is not None:
            self.path.append(tag)

    def end(self, tag: str) -> None:
        self.depth -= 1
        if self.parts is None:
            return
        if self.depth == 1:
            self.found[self.index] = decode_escapes("".join(self.parts))
            self.parts = None
        else:
            self.path.pop()

    def data(self, text: str) -> None:
        # <si><t> or <si><r><t>; not <si><rPh><t>, which holds the phonetic reading
        path = self.path
        if (
            self.parts is not None
            and path
            and path[-1] in _T
            and (len(path) == 1 or (len(path) == 2 and path[0] in _R))
        ):
            self.parts.append(text)

    def close(self) -> None:
        return None


def resolve_shared_strings(stream: IO[bytes], wanted: Collection[int]) -> dict[int, str]:
    """The texts of the shared strings at indices ``wanted``, read from the ``xl/sharedStrings.xml`` stream.

    Indices the table does not have are absent from the result. Memory stays bounded by the
    chunk size and the texts returned, and reading stops after the highest wanted index.
    """
    indices = {index for index in wanted if index >= 0}
    if not indices:
        return {}
    collector = _Collector(indices)
    parser = DefusedET.DefusedXMLParser(target=collector, forbid_dtd=True)
    try:
        while chunk := stream.read(_CHUNK):
            parser.feed(chunk)
            if collector.done:
                return collector.found
        parser.close()
    except ParseError as error:
        raise ValueError(f"sharedStrings.xml is not well-formed XML: {error}") from None
    return collector.found

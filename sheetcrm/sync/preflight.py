"""Pre-flight checks of an .xlsx/.xlsm file, run before any parser touches it.

openpyxl, pandas and calamine each fail on a bad file in their own way: eight
different exception types, silent partial loads (a missing sheet part simply
vanishes, a duplicate sheet name is renamed), and, for decompression or sparse
bombs, an out-of-memory abort nobody can catch (RELIABILITY.md rows 2-4). This
module reads only the zip directory, the small package XML parts and the first
few KB of each sheet, so that every bad file gets one clear
:class:`~sheetcrm.errors.WorkbookUnreadable` instead.

It also answers the question a writer must ask before saving through openpyxl:
what would ``load_workbook`` + ``save`` drop (RELIABILITY.md row 1)? Every item
:func:`openpyxl_losses` reports was confirmed by round-tripping a real file
through openpyxl 3.1.5.
"""

from __future__ import annotations

import codecs
import importlib.util
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import unquote
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as SafeET

from sheetcrm.errors import SheetNotFound, WorkbookUnreadable
from sheetcrm.sync.a1 import column_letter, qualified

__all__ = [
    "Limits",
    "SheetPart",
    "XlsxInventory",
    "formula_cells",
    "inspect_xlsx",
    "openpyxl_losses",
    "rels_path",
    "resolve_target",
]


@dataclass(frozen=True)
class Limits:
    """Ceilings checked before anything is decompressed or parsed."""

    max_uncompressed_bytes: int = 3 * 1024**3  # sum of ZipInfo.file_size
    max_compression_ratio: float = 250.0  # per member, only for members whose file_size > 16 MiB
    max_cells: int = 200_000_000  # declared <dimension> rows*cols of one sheet
    max_rows: int = 1_048_576
    max_columns: int = 16_384


@dataclass(frozen=True)
class SheetPart:
    """One worksheet as workbook.xml declares it."""

    name: str  # sheet name as in workbook.xml
    part: str  # zip member, e.g. "xl/worksheets/sheet1.xml"
    state: str  # "visible" | "hidden" | "veryHidden"
    dimension: str | None  # the <dimension ref="A1:N1000001"> if declared


@dataclass(frozen=True)
class XlsxInventory:
    """What an .xlsx file holds, read from its package parts without loading any cells."""

    path: Path
    sheets: tuple[SheetPart, ...]  # worksheets only, in workbook order (chartsheets listed apart)
    chartsheets: tuple[str, ...]
    parts: tuple[str, ...]  # every zip member name
    uncompressed_bytes: int
    workbook_part: str = "xl/workbook.xml"
    styles_part: str | None = None  # as workbook.xml's relationships name them
    shared_strings_part: str | None = None

    def sheet(self, name: str) -> SheetPart:
        """The worksheet called ``name`` (compared ignoring case, as Excel does), or SheetNotFound."""
        for sheet in self.sheets:
            if sheet.name == name:
                return sheet
        for sheet in self.sheets:
            if sheet.name.casefold() == name.casefold():
                return sheet
        raise SheetNotFound(self.path, name, self.sheet_names)

    @property
    def sheet_names(self) -> list[str]:
        """Worksheet names in workbook order."""
        return [sheet.name for sheet in self.sheets]


# --- constants ---------------------------------------------------------------------------

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
_X14_NS = "http://schemas.microsoft.com/office/spreadsheetml/2009/9/main"
_XDR_NS = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"
_CHART_NS = "http://schemas.openxmlformats.org/drawingml/2006/chart"
_CHART_DRAWING_NS = "http://schemas.openxmlformats.org/drawingml/2006/chartDrawing"
_STRICT_PREFIX = "http://purl.oclc.org/ooxml/"
_CUSTOMUI_2006 = "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility"

_WORKBOOK_TYPES = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
    "application/vnd.ms-excel.template.macroEnabled.main+xml",
}
_XLSB_TYPE = "application/vnd.ms-excel.sheet.binary.macroEnabled.main"

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BIG_MEMBER = 16 * 1024 * 1024  # the ratio limit only applies above this size: small parts compress wildly
_MAX_XML_PART = 64 * 1024 * 1024  # package parts parsed whole (workbook.xml, rels, drawings) stay below this
_HEAD_BYTES = 64 * 1024  # how much of a sheet is decompressed to find <dimension>
_CHUNK = 1024 * 1024  # streaming read size: memory stays bounded whatever the sheet size
_MAX_CARRY = 64 * 1024  # most bytes kept across a chunk boundary: a cell start tag and its <f>
_INVALID_SHEET_CHARS = re.compile(r"[\\*?:/\[\]]")

# Bytes patterns for streaming sheet XML. Element names may carry any namespace prefix (<x:c>).
_PFX = rb"(?:[A-Za-z_][\w.\-]*:)?"
_MAIN_PREFIX = re.compile(rb"""xmlns(?::([A-Za-z_][\w.\-]*))?\s*=\s*["']""" + _MAIN_NS.encode() + rb"""["']""")
_ROOT_PREFIX = re.compile(rb"<(?:([A-Za-z_][\w.\-]*):)?worksheet[\s>]")
# From a formula's <f> to the end of its cell when the cell holds no cached result (<v/> or none).
_NO_CACHED_VALUE = re.compile(
    rb"<" + _PFX + rb"f(?:\s[^>]*?)?(?:/>|>[^<]*</" + _PFX + rb"f\s*>)\s*"
    rb"(?:<" + _PFX + rb"v\s*/>|<" + _PFX + rb"v(?:\s[^>]*)?>\s*</" + _PFX + rb"v\s*>)?\s*</" + _PFX + rb"c\s*>"
)
_R_ATTR = re.compile(rb"""(?:^|\s)r\s*=\s*["']\$?([A-Za-z]{1,3})\$?([0-9]{1,7})["']""")
_SHEETDATA_END = re.compile(rb"</" + _PFX + rb"sheetData\s*>|<" + _PFX + rb"sheetData\s*/>")
_DIMENSION = re.compile(rb"<" + _PFX + rb"""dimension\s[^>]*?\bref\s*=\s*["']([^"']*)["']""")
_SHEETDATA_START = re.compile(rb"<" + _PFX + rb"sheetData[\s/>]")
# Used only when a formula cell has no r="..." attribute: tracks row and column positions.
_POSITION_TOKEN = re.compile(
    rb"<" + _PFX + rb"(row|c)(\s[^>]*?)?(/?)>|<" + _PFX + rb"f[\s/>]|</" + _PFX + rb"sheetData\s*>"
)
_ROW_ATTR = re.compile(rb"""(?:^|\s)r\s*=\s*["']([0-9]{1,7})["']""")
_REF = re.compile(r"^\$?([A-Za-z]+)\$?([0-9]+)(?::\$?([A-Za-z]+)\$?([0-9]+))?$")
_VBA_KEPT_VML = re.compile(r"xl/drawings/.*vmlDrawing\d\.vml")
_VML_OBJECT = re.compile(rb"""ObjectType\s*=\s*["'](\w+)["']""")

# Sheet extLst <ext uri=...> entries, by what they hold (openpyxl drops every ext).
_EXT_X14_CF = "{78C0D931-6437-407D-A8EE-F0AAD7539E65}"
_EXT_X14_DV = "{CCE6A557-97BC-4B89-ADB6-D9C93CAAB3DF}"
_EXT_SPARKLINES = "{05C60535-1F16-4FD2-B633-F4F36F0B64E0}"
_EXT_SLICERS = {"{A8765BA9-456A-4DAB-B4F3-ACF838C121DE}", "{3A4CF648-6AED-40F4-86FF-DC5316D8AED3}"}
_EXT_TIMELINES = "{7E03D99C-DC04-49D9-9315-930204A7B6E9}"
_EXT_PROTECTED_RANGES = "{FC87AEE6-9EDD-4A0A-B7FB-166176984837}"
_EXT_WEB_EXTENSIONS = "{F7C9EE02-42E1-4005-9D12-6889AFFD525C}"
_EXT_IGNORED_ERRORS = "{01252117-D84E-4E92-8308-4BE1C098FCBB}"  # only hides green error triangles

_SHEET_REL_KINDS = {
    "worksheet": "worksheet",
    "chartsheet": "chartsheet",
    "dialogsheet": "dialogsheet",
    "xlMacrosheet": "macrosheet",
    "xlIntlMacrosheet": "macrosheet",
}

_HINT_RESAVE = "open the file in Excel and save it again as .xlsx, or restore a good copy"
_HINT_FRESH_COPY = "the file is damaged (often cut short while copying or downloading); get a fresh copy"

# --- inspect_xlsx --------------------------------------------------------------------------


def inspect_xlsx(path: str | Path, *, limits: Limits = Limits()) -> XlsxInventory:
    """Check that ``path`` is a sound .xlsx/.xlsm package and list its sheets and parts.

    Reads only the zip directory, [Content_Types].xml, the relationship parts,
    workbook.xml and the first few KB of each worksheet. Raises WorkbookUnreadable,
    with one reason, for anything a parser would choke on, load partially, or that
    would exhaust memory.
    """
    file = Path(path)
    _check_file(file)
    with _open_zip(file) as archive:
        infos = archive.infolist()
        total = _check_directory(file, infos, limits)
        names = [info.filename for info in infos]
        present = set(names)
        _reject_other_formats(file, archive, present)
        if "[Content_Types].xml" not in present:
            raise WorkbookUnreadable(
                file, "the zip has no [Content_Types].xml, so it is not an Office document", hint=_HINT_RESAVE
            )
        workbook_part = _find_workbook_part(file, archive, present)
        _check_workbook_content_type(file, archive, workbook_part)
        sheets, chartsheets = _read_sheets(file, archive, workbook_part, present, limits)
        _check_small_parts(file, archive, infos)
        related = _workbook_parts(file, archive, workbook_part, present)
    return XlsxInventory(
        path=file,
        sheets=tuple(sheets),
        chartsheets=tuple(chartsheets),
        parts=tuple(names),
        uncompressed_bytes=total,
        workbook_part=workbook_part,
        styles_part=related.get("styles"),
        shared_strings_part=related.get("sharedStrings"),
    )


def _workbook_parts(file: Path, archive: zipfile.ZipFile, workbook_part: str, present: set[str]) -> dict[str, str]:
    """The parts workbook.xml relates to, by the last word of the relationship type ("styles")."""
    found: dict[str, str] = {}
    base = posixpath.dirname(workbook_part)
    for rel in _read_rels(file, archive, rels_path(workbook_part)):
        if rel.get("TargetMode") == "External":
            continue
        target = resolve_target(base, rel.get("Target", ""))
        if target in present:
            found.setdefault(rel.get("Type", "").rsplit("/", 1)[-1], target)
    return found


def _check_file(file: Path) -> None:
    """The path names a non-empty regular file."""
    try:
        status = file.stat()
    except FileNotFoundError:
        raise WorkbookUnreadable(file, "no such file", hint="check the path and the file name") from None
    except OSError as error:
        raise WorkbookUnreadable(file, f"cannot open the file: {error.strerror or error}") from None
    if file.is_dir():
        raise WorkbookUnreadable(file, "this is a directory, not a workbook file", hint="give the path of the file")
    if status.st_size == 0:
        raise WorkbookUnreadable(
            file, "the file is empty (0 bytes)", hint="it was probably not saved completely; restore a good copy"
        )


@contextmanager
def _open_zip(file: Path) -> Iterator[zipfile.ZipFile]:
    """Open the zip, first telling apart the usual things renamed to .xlsx."""
    try:
        with file.open("rb") as handle:
            head = handle.read(4096)
        is_zip = zipfile.is_zipfile(file)
    except OSError as error:
        raise WorkbookUnreadable(file, f"cannot read the file: {error.strerror or error}") from None
    if not is_zip:
        reason, hint = _classify_non_zip(head)
        raise WorkbookUnreadable(file, reason, hint=hint)
    try:
        archive = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, struct.error) as error:
        raise WorkbookUnreadable(
            file, f"a damaged zip archive (bad central directory: {error})", hint=_HINT_FRESH_COPY
        ) from None
    with archive:
        yield archive


def _classify_non_zip(head: bytes) -> tuple[str, str | None]:
    """Name what a file that is not a zip most likely is, from its first bytes."""
    if head.startswith(_OLE2_MAGIC):
        return (
            "an Excel 97-2003 .xls file (or a password-protected workbook); open it in Excel and save as .xlsx",
            "open it in Excel and save as .xlsx (for a protected workbook, remove the password first)",
        )
    if head.startswith(b"PK"):
        return (
            "a damaged zip archive (truncated, or its central directory is missing)",
            _HINT_FRESH_COPY,
        )
    if head.startswith(b"%PDF"):
        return "a PDF document, not a workbook", "export the data from its source as .xlsx or .csv"
    text = _as_text(head)
    if text is None:
        return (
            f"not a zip archive (an .xlsx file is one); it starts with bytes {head[:8].hex(' ')}",
            "check that this is the workbook you meant; " + _HINT_RESAVE,
        )
    start = text.lstrip().lower()
    if start.startswith("<?xml") and "urn:schemas-microsoft-com:office:spreadsheet" in start:
        return (
            "an Excel 2003 XML spreadsheet renamed to .xlsx, not an .xlsx workbook",
            "open it in Excel and save as .xlsx",
        )
    if start.startswith(("<html", "<!doctype", "<table")) or (start.startswith("<") and "<html" in start):
        return (
            "an HTML page renamed to .xlsx (some systems export 'Excel' files this way), not an .xlsx workbook",
            "open it in Excel and save as .xlsx, or export the data again as real .xlsx or .csv",
        )
    return (
        "it looks like a CSV or plain-text file renamed to .xlsx, not an .xlsx workbook",
        "rename it to .csv (or open it in Excel and save as .xlsx)",
    )


def _as_text(head: bytes) -> str | None:
    """Decode the first bytes as text, or None when they look binary."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Excel's "Unicode text" export is UTF-16 with a BOM.
        return head.decode("utf-16", errors="replace")
    if b"\x00" in head:
        return None
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    try:
        text: str = decoder.decode(head.removeprefix(codecs.BOM_UTF8), final=False)
    except UnicodeDecodeError:
        text = head.decode("latin-1")  # legacy-encoded CSV: judge by control characters below
    controls = sum(1 for char in text if ord(char) < 32 and char not in "\t\r\n\f")
    return text if controls <= len(text) // 100 else None


def _check_directory(file: Path, infos: list[zipfile.ZipInfo], limits: Limits) -> int:
    """Check the zip directory alone: no member is decompressed. Returns the declared total size."""
    seen: dict[str, str] = {}
    total = 0
    for info in infos:
        folded = info.filename.casefold()
        if folded in seen:
            # Part names are case-insensitive in OPC; two readers may pick different copies.
            raise WorkbookUnreadable(
                file, f"the zip holds two members named {info.filename!r}, a damaged or tampered file"
            )
        seen[folded] = info.filename
        if info.flag_bits & 0x1:
            raise WorkbookUnreadable(
                file,
                f"zip member {info.filename!r} is encrypted, which Excel never does",
                hint="a password-protected Excel file is not a zip; " + _HINT_RESAVE,
            )
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise WorkbookUnreadable(
                file,
                f"zip member {info.filename!r} uses compression method {info.compress_type}, which Excel never uses",
                hint=_HINT_RESAVE,
            )
        total += info.file_size
        # zipfile never returns more than file_size bytes, so the declared sizes bound what any
        # Python reader can inflate: checking them here is enough.
        if info.file_size > _BIG_MEMBER:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > limits.max_compression_ratio:
                raise WorkbookUnreadable(
                    file,
                    f"zip member {info.filename!r} would expand {ratio:,.0f} times "
                    f"({info.compress_size:,} bytes to {info.file_size:,}); a possible zip bomb "
                    f"(limit {limits.max_compression_ratio:,.0f} times)",
                    hint="do not open files of unknown origin; if it is genuine, raise Limits.max_compression_ratio",
                )
    if total > limits.max_uncompressed_bytes:
        raise WorkbookUnreadable(
            file,
            f"the zip declares {total:,} bytes uncompressed (limit {limits.max_uncompressed_bytes:,}): "
            "too large to load safely, or a zip bomb",
            hint="split the workbook, or raise Limits.max_uncompressed_bytes if it is genuine",
        )
    return total


def _reject_other_formats(file: Path, archive: zipfile.ZipFile, present: set[str]) -> None:
    """Zips that are some other document format renamed to .xlsx."""
    if "mimetype" in present:
        kind = _read_member(file, archive, "mimetype", limit=1024).decode("ascii", "replace").strip()
        if kind.startswith("application/vnd.oasis.opendocument"):
            raise WorkbookUnreadable(
                file,
                f"an OpenDocument file ({kind}) renamed to .xlsx, not an .xlsx workbook",
                hint="open it in LibreOffice or Excel and save as .xlsx",
            )
    if "Index/Document.iwa" in present or "Index.zip" in present:
        raise WorkbookUnreadable(
            file, "an Apple Numbers document, not an .xlsx workbook", hint="in Numbers, use File > Export To > Excel"
        )


def _find_workbook_part(file: Path, archive: zipfile.ZipFile, present: set[str]) -> str:
    """The workbook part: the officeDocument relationship of _rels/.rels, else xl/workbook.xml."""
    part = "xl/workbook.xml"
    if "_rels/.rels" in present:
        for rel in _read_rels(file, archive, "_rels/.rels"):
            rel_type = rel.get("Type", "")
            if not rel_type.endswith("/officeDocument"):
                continue
            if rel_type.startswith(_STRICT_PREFIX):
                raise WorkbookUnreadable(
                    file,
                    "a 'Strict Open XML' workbook, which openpyxl and pandas cannot read",
                    hint="open it in Excel and save as 'Excel Workbook (.xlsx)'",
                )
            part = resolve_target("", rel.get("Target", ""))
            break
    if part.startswith("word/"):
        raise WorkbookUnreadable(file, "a Word document renamed to .xlsx, not a workbook")
    if part.startswith("ppt/"):
        raise WorkbookUnreadable(file, "a PowerPoint presentation renamed to .xlsx, not a workbook")
    if part.endswith(".bin"):
        raise WorkbookUnreadable(
            file, "an Excel binary workbook (.xlsb) renamed to .xlsx", hint="open it in Excel and save as .xlsx"
        )
    if part not in present:
        raise WorkbookUnreadable(file, f"the workbook part {part} is missing from the zip", hint=_HINT_RESAVE)
    return part


def _check_workbook_content_type(file: Path, archive: zipfile.ZipFile, part: str) -> None:
    """openpyxl finds the workbook by content type, so a missing or wrong one fails the load."""
    root = _parse_xml(file, archive, "[Content_Types].xml")
    declared: str | None = None
    default: str | None = None
    extension = part.rsplit(".", 1)[-1].lower()
    for entry in root:
        if entry.tag == f"{{{_CT_NS}}}Override" and entry.get("PartName", "").lstrip("/").lower() == part.lower():
            declared = entry.get("ContentType")
        elif entry.tag == f"{{{_CT_NS}}}Default" and entry.get("Extension", "").lower() == extension:
            default = entry.get("ContentType")
    content_type = declared or default
    if content_type == _XLSB_TYPE:
        raise WorkbookUnreadable(
            file, "an Excel binary workbook (.xlsb) renamed to .xlsx", hint="open it in Excel and save as .xlsx"
        )
    if content_type not in _WORKBOOK_TYPES:
        raise WorkbookUnreadable(
            file,
            f"[Content_Types].xml does not declare {part} as an Excel workbook (it says {content_type or 'nothing'})",
            hint=_HINT_RESAVE,
        )


def _read_sheets(
    file: Path, archive: zipfile.ZipFile, workbook_part: str, present: set[str], limits: Limits
) -> tuple[list[SheetPart], list[str]]:
    """Resolve every <sheet> of workbook.xml to its part and check it is there and sane."""
    root = _parse_xml(file, archive, workbook_part)
    if root.tag.startswith("{" + _STRICT_PREFIX):
        raise WorkbookUnreadable(
            file,
            "a 'Strict Open XML' workbook, which openpyxl and pandas cannot read",
            hint="open it in Excel and save as 'Excel Workbook (.xlsx)'",
        )
    if root.tag != f"{{{_MAIN_NS}}}workbook":
        raise WorkbookUnreadable(file, f"{workbook_part} is not an Excel workbook (its root is {root.tag})")
    rels_part = rels_path(workbook_part)
    if rels_part not in present:
        raise WorkbookUnreadable(file, f"{rels_part} is missing, so the sheets cannot be located", hint=_HINT_RESAVE)
    rels = {rel.get("Id"): rel for rel in _read_rels(file, archive, rels_part)}
    base = posixpath.dirname(workbook_part)
    worksheets: list[tuple[str, str, str]] = []
    chartsheets: list[str] = []
    seen: dict[str, str] = {}
    for element in root.iterfind(f"{{{_MAIN_NS}}}sheets/{{{_MAIN_NS}}}sheet"):
        name = element.get("name")
        if not name:
            raise WorkbookUnreadable(file, f"{workbook_part} lists a sheet without a name", hint=_HINT_RESAVE)
        bad = _INVALID_SHEET_CHARS.search(name)
        if bad:
            raise WorkbookUnreadable(
                file,
                f"sheet name {name!r} contains {bad.group()!r}, which Excel does not allow in sheet names",
                hint=_HINT_RESAVE,
            )
        folded = name.casefold()
        if folded in seen:
            # Excel compares sheet names ignoring case; openpyxl would silently rename the second one.
            raise WorkbookUnreadable(
                file,
                f"two sheets have the same name {name!r}"
                + (
                    f" (and {seen[folded]!r}: Excel compares sheet names ignoring case)" if seen[folded] != name else ""
                ),
                hint="rename one of them in Excel and save",
            )
        seen[folded] = name
        state = element.get("state", "visible")
        if state not in ("visible", "hidden", "veryHidden"):
            raise WorkbookUnreadable(file, f"sheet {name!r} has an invalid state {state!r}", hint=_HINT_RESAVE)
        rel_id = element.get(f"{{{_REL_NS}}}id")
        if rel_id is None:
            # openpyxl drops such a sheet with a mere warning.
            raise WorkbookUnreadable(
                file, f"sheet {name!r} has no r:id, so its part cannot be found", hint=_HINT_RESAVE
            )
        rel = rels.get(rel_id)
        if rel is None:
            raise WorkbookUnreadable(
                file,
                f"sheet {name!r} points to relationship {rel_id!r}, which {rels_part} does not define",
                hint=_HINT_RESAVE,
            )
        kind = _SHEET_REL_KINDS.get(rel.get("Type", "").rsplit("/", 1)[-1])
        if kind is None:
            raise WorkbookUnreadable(
                file, f"sheet {name!r} points to a part that is not a sheet ({rel.get('Type')})", hint=_HINT_RESAVE
            )
        if rel.get("TargetMode") == "External":
            raise WorkbookUnreadable(file, f"sheet {name!r} points outside the file", hint=_HINT_RESAVE)
        part = resolve_target(base, rel.get("Target", ""))
        if part not in present:
            near = [other for other in present if other.casefold() == part.casefold()]
            raise WorkbookUnreadable(
                file,
                f"sheet {name!r} is missing: its part {part} is not in the file"
                + (f" (there is {near[0]}, which differs in case)" if near else ""),
                hint="the file is damaged or was made by a faulty program; " + _HINT_RESAVE,
            )
        if kind == "worksheet":
            worksheets.append((name, part, state))
        elif kind == "chartsheet":
            chartsheets.append(name)
        # Dialog and macro sheets are neither: openpyxl_losses reports them.
    if not worksheets:
        raise WorkbookUnreadable(file, "the workbook has no worksheets", hint=_HINT_RESAVE)
    sheets = []
    for name, part, state in worksheets:
        dimension = _read_dimension(file, archive, part)
        if dimension is not None:
            _check_dimension(file, name, dimension, limits)
        sheets.append(SheetPart(name=name, part=part, state=state, dimension=dimension))
    return sheets, chartsheets


# Parts openpyxl parses whole while loading (sheets and shared strings are streamed, and
# too big to check here). A malformed one makes load_workbook raise ParseError halfway.
_PARSED_WHOLE = re.compile(
    r"^(docProps/(core|app|custom)\.xml|xl/styles\.xml|(.*/)?_rels/[^/]*\.rels|xl/drawings/[^/]*\.xml"
    r"|xl/comments[^/]*\.xml|xl/comments/[^/]*\.xml|xl/tables/[^/]*\.xml|xl/charts/chart\d*\.xml"
    r"|xl/chartsheets/[^/]*\.xml|xl/pivotTables/[^/]*\.xml|xl/pivotCache/pivotCacheDefinition\d*\.xml"
    r"|xl/externalLinks/[^/]*\.xml)$"
)
_SMALL_PART = 16 * 1024 * 1024  # larger parts of those kinds are left to the reader


def _check_small_parts(file: Path, archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> None:
    """Parse the small package parts openpyxl parses whole, so a broken one fails here, clearly."""
    for info in infos:
        if info.file_size <= _SMALL_PART and _PARSED_WHOLE.match(info.filename):
            if info.filename.endswith(".rels"):
                _read_rels(file, archive, info.filename)
            else:
                _parse_xml(file, archive, info.filename)


def _read_dimension(file: Path, archive: zipfile.ZipFile, part: str) -> str | None:
    """The <dimension ref> of a sheet, inflating only its first few KB."""
    head = b""
    with _reading(file, part), archive.open(part) as handle:
        while len(head) < _HEAD_BYTES:
            piece = handle.read(16 * 1024)
            if not piece:
                break
            head += piece
            match = _DIMENSION.search(head)
            if match:
                return match.group(1).decode("utf-8", "replace")
            if _SHEETDATA_START.search(head):
                return None  # <dimension> comes before <sheetData> or not at all
    return None


def _check_dimension(file: Path, sheet: str, ref: str, limits: Limits) -> None:
    """Refuse a declared used range no real sheet has: it makes readers allocate for every cell."""
    match = _REF.match(ref.strip())
    if not match:
        return  # openpyxl and calamine work out the range themselves when the ref is unusable
    first_col, first_row, last_col, last_row = match.groups()
    last_col, last_row = last_col or first_col, last_row or first_row
    col_a, col_b = _letters_to_index(first_col), _letters_to_index(last_col)
    row_a, row_b = int(first_row), int(last_row)
    rows = abs(row_b - row_a) + 1
    cols = abs(col_b - col_a) + 1
    if max(row_a, row_b) > limits.max_rows or max(col_a, col_b) > limits.max_columns or rows * cols > limits.max_cells:
        raise WorkbookUnreadable(
            file,
            f"sheet {sheet!r} declares its used range as {ref} ({rows:,} rows x {cols:,} columns = "
            f"{rows * cols:,} cells): absurdly large or sparse, a possible sparse-sheet bomb",
            hint="if the sheet is genuine, delete the empty rows and columns past the data in Excel and save",
        )


def _letters_to_index(letters: str) -> int:
    """Column letters to a 1-based index, without an upper bound (the caller checks it)."""
    index = 0
    for char in letters.upper():
        index = index * 26 + ord(char) - 64
    return index


# --- formula_cells -------------------------------------------------------------------------


def formula_cells(path: str | Path, part: str) -> frozenset[str]:
    """A1 addresses of the cells of worksheet ``part`` that hold a formula (an ``<f>`` element).

    Streams the member in 1 MiB chunks with a bytes regex, so memory stays bounded
    whatever the sheet size. Call :func:`inspect_xlsx` first: this only wraps read errors.
    """
    file = Path(path)
    with _open_zip(file) as archive:
        scan = _scan_worksheet(file, archive, part, deep=False)
    return frozenset(scan.formulas)


@dataclass
class _Tail:
    """What a worksheet holds after <sheetData> that openpyxl drops."""

    elements: set[str] = field(default_factory=set)  # local names of main-namespace elements of interest
    ext_uris: list[str] = field(default_factory=list)  # the worksheet extLst's <ext uri>, upper-cased
    x14_rules: int = 0  # x14 conditional-format rules and data validations
    bad_xml: str | None = None


_TAIL_ELEMENTS = {
    "picture",
    "oleObjects",
    "controls",
    "legacyDrawingHF",
    "drawingHF",
    "protectedRanges",
    "customProperties",
    "cellWatches",
    "smartTags",
    "webPublishItems",
    "dataConsolidate",
}


@dataclass
class _SheetScan:
    """What one streaming pass over a worksheet found."""

    formulas: list[str]  # formula cells, in sheet order
    cached: list[str]  # those of them holding a cached result (a non-empty <v>)
    tail: _Tail | None
    last_row: int = 0  # the last row and column holding a cell (columns past Z counted exactly)
    last_column: int = 0


def _scan_worksheet(file: Path, archive: zipfile.ZipFile, part: str, *, deep: bool) -> _SheetScan:
    """One streaming pass: the formula cells and, when ``deep``, their cached results and the sheet's tail.

    Finds each ``<f`` with a literal search (fast: it occurs only in formula cells), then
    looks back for its cell's start tag. Element prefixes are those the root element binds
    to the SpreadsheetML namespace (``xmlns:x=...`` means cells are ``<x:c>``).
    """
    found: dict[bytes, bool] = {}  # an ordered set: a cell can be seen twice across a chunk boundary
    needs_positions = False
    last_row = last_column = 0
    tail: _Tail | None = None
    root_tag: bytes | None = None
    prefixes = [_CellPatterns.for_prefix(b"")]
    carry = b""
    first = True
    with _reading(file, part), archive.open(part) as handle:
        while True:
            chunk = handle.read(_CHUNK)
            if not chunk:
                break
            buffer = carry + chunk
            if first:
                first = False
                root = _ROOT_PREFIX.search(buffer, 0, _HEAD_BYTES)
                end_of_root = buffer.find(b">", root.start()) if root else -1
                if root and end_of_root > 0:
                    # The root tag gives the element prefixes and declares the namespaces the tail parse needs.
                    root_tag = buffer[root.start() : end_of_root + 1]
                    bound = _MAIN_PREFIX.findall(root_tag) or [root.group(1) or b""]
                    prefixes = [_CellPatterns.for_prefix(prefix) for prefix in dict.fromkeys(bound)]
            end = _sheetdata_end(buffer)
            region = buffer if end < 0 else buffer[:end]
            for patterns in prefixes:
                if deep or not _bulk_formula_refs(region, patterns, found):
                    needs_positions |= _formula_refs(region, patterns, found, deep=deep)
                last_row = max(last_row, _last_row(region, patterns))
            for letters in set(_WIDE_CELL_REF.findall(region)):
                last_column = max(last_column, _letters_to_index(letters.decode("ascii")))
            if end >= 0:
                if deep:
                    tail = _parse_tail(root_tag, buffer[end:], handle)
                break
            carry = max((_carry(buffer, patterns.c_open) for patterns in prefixes), key=len)
    if needs_positions:
        # A formula cell without r="..." (rare, non-Excel writers): count positions instead,
        # and treat every formula as holding a cached result.
        formulas = _formulas_by_position(file, archive, part)
        return _SheetScan(formulas, formulas if deep else [], tail, last_row, last_column)
    # One decode for all: per-cell decoding costs more than the scan on formula-heavy sheets.
    formulas = b" ".join(found).decode("ascii").upper().split() if found else []
    cached = [address for address, is_cached in zip(formulas, found.values(), strict=True) if is_cached]
    return _SheetScan(formulas, cached, tail, last_row, last_column)


# Only multi-letter column refs can widen a sheet past column Z, and ordinary sheets have
# few of them, so looking for just those keeps the extent scan fast.
_WIDE_CELL_REF = re.compile(rb" r=\"([A-Z]{2,3})[0-9]+\"")


_CELL_ROW_REF = re.compile(rb""" r\s*=\s*["'][A-Za-z]{1,3}([0-9]+)["']""")


def _last_row(region: bytes, patterns: _CellPatterns) -> int:
    """The largest row number in ``region``: from its <row r=...> tags, or its cells' refs."""
    tags = region.count(patterns.row_open)
    rows = patterns.row_ref.findall(region)
    if len(rows) != tags:
        rows = patterns.row_any.findall(region)  # r="..." not first, or odd spacing: the general pattern
        if len(rows) != tags:
            rows = _CELL_ROW_REF.findall(region)  # rows without r=: the cells say where they are
    return max(map(int, rows)) if rows else 0


def scan_sheet(path: str | Path, sheet: SheetPart, *, limits: Limits = Limits()) -> frozenset[str]:
    """One streaming pass over a worksheet before a reader loads it: its formula cells.

    Refuses a sparse-sheet bomb: calamine sizes its grid from the cells actually present,
    whatever ``<dimension>`` says, so a sheet holding only A1 and XFD1048576 would make it
    allocate 17 G cells and abort the whole process.
    """
    file = Path(path)
    with _open_zip(file) as archive:
        scan = _scan_worksheet(file, archive, sheet.part, deep=False)
    rows, columns = scan.last_row, max(scan.last_column, 26 if scan.last_row else 0)
    if rows > limits.max_rows or columns > limits.max_columns or rows * columns > limits.max_cells:
        raise WorkbookUnreadable(
            file,
            f"sheet {sheet.name!r} holds cells across {rows:,} rows x {columns:,} columns "
            f"({rows * columns:,} cells): absurdly large or sparse, a possible sparse-sheet bomb",
            hint="if the sheet is genuine, delete the empty rows and columns past the data in Excel and save",
        )
    return frozenset(scan.formulas)


def _formula_refs(region: bytes, patterns: _CellPatterns, found: dict[bytes, bool], *, deep: bool) -> bool:
    """Add the formula cells of ``region`` one by one; True if some cell has no r="..."."""
    missing_ref = False
    for match in patterns.f_tag.finditer(region):
        # The nearest cell start tag before <f> is the formula's cell (cells do not nest).
        f_start = match.start()
        start = region.rfind(patterns.c_open, 0, f_start)
        cell = patterns.cell_at.match(region, start) if start >= 0 else None
        if cell is not None and cell.end() == match.end():
            ref = cell.group(1)
        else:
            slow = _formula_cell_ref(region, f_start, patterns.c_open)  # odd spacing or quotes, or no r=
            if slow is None:
                missing_ref = True
                continue
            ref = slow.encode("ascii")
        if not deep:
            found[ref] = False
        elif not found.get(ref):
            # A cell cut by the chunk end fails this match and counts as cached: the safe side.
            found[ref] = _NO_CACHED_VALUE.match(region, f_start) is None
    return missing_ref


@dataclass(frozen=True)
class _CellPatterns:
    """Byte patterns for formula cells, built for the element prefix the sheet uses."""

    f_open: bytes  # b"<f" or b"<x:f"
    c_open: bytes  # b"<c" or b"<x:c"
    row_open: bytes  # b"<row" or b"<x:row"
    row_ref: re.Pattern[bytes]  # <row r="N" as Excel and openpyxl write it
    row_any: re.Pattern[bytes]  # <row ... r="N" in any attribute order
    f_tag: re.Pattern[bytes]  # an <f> start tag
    cell_at: re.Pattern[bytes]  # a cell start tag followed by <f>, capturing r="..."
    reversed_cell: re.Pattern[bytes]  # cell_at on reversed bytes, starting at the literal "f<"

    @classmethod
    def for_prefix(cls, prefix: bytes) -> _CellPatterns:
        qualified = prefix + b":" if prefix else b""
        f_open, c_open = b"<" + qualified + b"f", b"<" + qualified + b"c"
        row_open = b"<" + qualified + b"row"
        return cls(
            f_open=f_open,
            c_open=c_open,
            row_open=row_open,
            row_ref=re.compile(re.escape(row_open) + rb' r="([0-9]+)"'),
            row_any=re.compile(re.escape(row_open) + rb"""\s[^>]*?\br\s*=\s*["']([0-9]+)["']"""),
            f_tag=re.compile(re.escape(f_open) + rb"[\s/>]"),
            cell_at=re.compile(
                re.escape(c_open)
                + rb"""(?:\s[^>]*?)?\sr\s*=\s*["']([A-Za-z]{1,3}[0-9]{1,7})["'][^>]*>\s*"""
                + re.escape(f_open)
                + rb"[\s/>]"
            ),
            # The empty alternative makes every "<f" yield an item, b"" when its cell is not understood.
            reversed_cell=re.compile(
                re.escape(f_open[::-1])
                + rb"""(?:\s*>[^<>]*?["']([0-9]{1,7}[A-Za-z]{1,3})["']\s*=\s*r\s[^<>]*?"""
                + re.escape(c_open[::-1])
                + rb"|)"
            ),
        )


def _bulk_formula_refs(region: bytes, patterns: _CellPatterns, found: dict[bytes, bool]) -> bool:
    """Add the refs of all formula cells of ``region`` in a few C-level calls; False if unsure.

    Searching the reversed bytes lets one regex start at the rare literal "<f" and read
    back to its cell's r="...", so findall returns every ref without a Python-level loop.
    When some <f> yields no ref (no r=, odd quoting) the caller takes the careful path.
    """
    if patterns.f_open not in region:
        return True
    refs = patterns.reversed_cell.findall(region[::-1])
    if b"" in refs:
        return False
    # Refs come back reversed and last-first: reversing their join restores both.
    found.update(dict.fromkeys(b" ".join(refs)[::-1].split(), False))
    return True


def _formula_cell_ref(region: bytes, f_start: int, c_open: bytes) -> str | None:
    """The r="..." of the cell whose first child is the <f> at ``f_start``, or None if it has none."""
    start = region.rfind(c_open, 0, f_start)
    after = len(c_open)
    while start >= 0 and region[start + after : start + after + 1] not in (b" ", b"\t", b"\r", b"\n", b">"):
        start = region.rfind(c_open, 0, start)  # <cols ...> and the like: not a cell
    if start < 0:
        return None
    close = region.find(b">", start, f_start)
    if close < 0 or region[close - 1 : close] == b"/" or region[close + 1 : f_start].strip():
        return None  # not the formula's own cell: malformed, let the positional scan decide
    ref = _R_ATTR.search(region, start + len(c_open), close)
    return (ref.group(1).upper() + ref.group(2)).decode("ascii") if ref else None


def _sheetdata_end(buffer: bytes) -> int:
    """Index just past </sheetData> (or <sheetData/>), or -1. find() first: it is much faster."""
    start = buffer.find(b"sheetData")
    while start >= 0:
        lt = buffer.rfind(b"<", max(0, start - 64), start)
        if lt >= 0:
            match = _SHEETDATA_END.match(buffer, lt)
            if match:
                return match.end()
        start = buffer.find(b"sheetData", start + 9)
    return -1


def _carry(buffer: bytes, c_open: bytes) -> bytes:
    """The end of a buffer a match may continue from: its last cell start tag, or its last '<'.

    A formula's cell tag and its <f> must be in one buffer, and so must a '</sheetData>'
    cut in two. Carrying at most _MAX_CARRY bytes keeps memory bounded.
    """
    last = buffer.rfind(b"<")
    if last < 0 or len(buffer) - last > _MAX_CARRY:
        return b""
    cell = buffer.rfind(c_open, max(0, len(buffer) - _MAX_CARRY), last + 1)
    return buffer[cell:] if cell >= 0 else buffer[last:]


def _formulas_by_position(file: Path, archive: zipfile.ZipFile, part: str) -> list[str]:
    """Slow path: track row and column numbers, for sheets whose cells omit r="..."."""
    found: dict[str, None] = {}
    row = column = 0
    current: str | None = None
    carry = b""
    with _reading(file, part), archive.open(part) as handle:
        while True:
            chunk = handle.read(_CHUNK)
            if not chunk:
                break
            buffer = carry + chunk
            last_end = 0
            for match in _POSITION_TOKEN.finditer(buffer):
                last_end = match.end()
                name, attrs, closed = match.group(1), match.group(2) or b"", match.group(3)
                if name == b"row":
                    number = _ROW_ATTR.search(attrs)
                    row = int(number.group(1)) if number else row + 1
                    column, current = 0, None
                elif name == b"c":
                    ref = _R_ATTR.search(attrs)
                    if ref:
                        column = _letters_to_index(ref.group(1).decode("ascii"))
                        row = int(ref.group(2))
                    else:
                        column += 1
                    current = None if closed else _address(column, row)
                elif match.group().startswith(b"</"):
                    return list(found)
                elif current is not None:
                    found[current] = None
                    current = None
            last = buffer.rfind(b"<")
            carry = buffer[last:] if last >= last_end and len(buffer) - last <= _MAX_CARRY else b""
    return list(found)


def _address(column: int, row: int) -> str | None:
    try:
        return f"{column_letter(column)}{row}"
    except ValueError:
        return None  # beyond XFD: not a cell Excel could show


class _Stream:
    """A read()-able source: some bytes already read, then the rest of a zip member."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head = head
        self._rest = rest

    def read(self, size: int = -1) -> bytes:
        if self._head:
            data, self._head = self._head, b""
            return data
        return self._rest.read(_CHUNK if size < 0 else size)


def _parse_tail(root_tag: bytes | None, rest: bytes, handle: IO[bytes]) -> _Tail:
    """Parse what follows </sheetData> (with the root tag for its namespaces), streaming."""
    tail = _Tail()
    if root_tag is None:
        return tail
    depth = 0
    root: Element | None = None
    ext_depth = -1
    try:
        events = SafeET.iterparse(_Stream(root_tag + rest, handle), events=("start", "end"), forbid_dtd=True)
        for event, element in events:
            if event == "start":
                if root is None:
                    root = element
                depth += 1
                namespace, _, local = element.tag[1:].partition("}")
                if namespace == _MAIN_NS:
                    if local in _TAIL_ELEMENTS:
                        tail.elements.add(local)
                    elif local == "extLst" and depth == 2:
                        ext_depth = depth + 1
                    elif local == "ext" and depth == ext_depth:
                        tail.ext_uris.append(element.get("uri", "").upper())
                elif namespace == _X14_NS and local in ("cfRule", "dataValidation"):
                    tail.x14_rules += 1
            else:
                depth -= 1
                if depth == 1 and root is not None:
                    del root[:]  # keep memory flat: a tail can hold a million hyperlinks
    except (ParseError, defusedxml.DefusedXmlException) as error:
        tail.bad_xml = str(error)
    return tail


# --- openpyxl_losses -----------------------------------------------------------------------


def openpyxl_losses(path: str | Path, inventory: XlsxInventory, *, rich_text: bool = False) -> list[str]:
    """What an openpyxl ``load_workbook`` + ``save`` of this file would drop or damage.

    Assumes ``load_workbook(path, keep_vba=<.xlsm/.xltm>)`` with the other options at
    their defaults (``keep_links=True``), and ``rich_text`` as given. Returns [] for a workbook
    openpyxl round-trips intact. Each item is a short phrase naming what and where.
    """
    file = Path(path)
    keep_vba = file.suffix.lower() in (".xlsm", ".xltm")
    parts = inventory.parts
    items: list[str] = []
    with _open_zip(file) as archive:
        for sheet in inventory.sheets:
            scan = _scan_worksheet(file, archive, sheet.part, deep=True)
            if scan.cached:
                # openpyxl writes formulas back with an empty <v/>: pandas and calamine then read blanks.
                items.append(
                    f"cached results of {len(scan.cached)} formula cells on sheet {sheet.name!r} "
                    f"(e.g. {qualified(sheet.name, scan.cached[0])})"
                )
            if scan.tail is not None:
                items.extend(_tail_losses(file, sheet, scan.tail))
        items.extend(_drawing_losses(file, archive, parts))
        items.extend(_vml_losses(file, archive, parts, keep_vba))
        items.extend(_string_losses(file, archive, parts, rich_text=rich_text))
        items.extend(_part_losses(file, archive, parts, keep_vba))
    return items


def _tail_losses(file: Path, sheet: SheetPart, tail: _Tail) -> list[str]:
    """Sheet-level features after <sheetData> that openpyxl does not read."""
    if tail.bad_xml is not None:
        raise WorkbookUnreadable(file, f"sheet {sheet.name!r} ({sheet.part}) is not well-formed XML: {tail.bad_xml}")
    on = f"on sheet {sheet.name!r}"
    items = []
    uris = set(tail.ext_uris)
    if tail.x14_rules or uris & {_EXT_X14_CF, _EXT_X14_DV}:
        items.append(f"{tail.x14_rules} x14 conditional formats / data validations (extLst) {on}")
    if _EXT_SPARKLINES in uris:
        items.append(f"sparklines {on}")
    if uris & _EXT_SLICERS:
        items.append(f"slicers {on}")
    if _EXT_TIMELINES in uris:
        items.append(f"timelines {on}")
    if _EXT_PROTECTED_RANGES in uris or "protectedRanges" in tail.elements:
        items.append(f"protected ranges (ranges users may edit in a protected sheet) {on}")
    if _EXT_WEB_EXTENSIONS in uris:
        items.append(f"Office add-in bindings {on}")
    known = {_EXT_X14_CF, _EXT_X14_DV, _EXT_SPARKLINES, _EXT_TIMELINES, _EXT_PROTECTED_RANGES}
    known |= _EXT_SLICERS | {_EXT_WEB_EXTENSIONS, _EXT_IGNORED_ERRORS}
    for uri in sorted(uris - known):
        items.append(f"extension data (extLst {uri}) {on}")
    named = {
        "picture": "a background picture",
        "oleObjects": "embedded objects",
        "controls": "form or ActiveX controls",
        "legacyDrawingHF": "header/footer pictures",
        "drawingHF": "header/footer pictures",
        "customProperties": "custom sheet properties",
        "cellWatches": "watch-window cells",
        "smartTags": "smart tags",
        "webPublishItems": "web publishing settings",
        "dataConsolidate": "data consolidation settings",
    }
    for what in sorted({named[element] for element in tail.elements - {"protectedRanges"}}):
        items.append(f"{what} {on}")
    return items


def _drawing_losses(file: Path, archive: zipfile.ZipFile, parts: tuple[str, ...]) -> list[str]:
    """openpyxl rebuilds drawings from their charts and pictures only; everything else goes."""
    items = []
    pillow = importlib.util.find_spec("PIL") is not None
    for part in parts:
        if not (part.startswith("xl/drawings/") and part.endswith(".xml")) or "/_rels/" in part:
            continue
        root = _parse_xml(file, archive, part)
        if root.tag == f"{{{_CHART_DRAWING_NS}}}userShapes":
            items.append(f"shapes drawn on a chart ({part})")
            continue
        others = pictures = 0
        for anchor in root:
            for child in anchor:
                namespace, _, local = child.tag[1:].partition("}")
                if local in ("from", "to", "pos", "ext", "clientData"):
                    continue
                if namespace == _XDR_NS and local == "pic":
                    pictures += 1
                elif namespace == _XDR_NS and local == "graphicFrame" and _is_chart_frame(child):
                    continue
                else:
                    others += 1  # sp, grpSp, cxnSp, contentPart, SmartArt, mc:AlternateContent (chartex...)
        if others:
            items.append(f"shapes or text boxes in {part} ({others} object{'s' if others > 1 else ''})")
        if pictures and not pillow:
            items.append(f"images in {part} (Pillow is not installed)")
        elif pictures and any(
            target.lower().endswith((".wmf", ".emf")) for target in _image_targets(file, archive, part)
        ):
            items.append(f"WMF/EMF images in {part}")  # Pillow opens them, but openpyxl cannot save them
    return items


def _is_chart_frame(frame: Element) -> bool:
    """A graphicFrame holding a classic chart (the only kind openpyxl reads back)."""
    return any(data.get("uri") == _CHART_NS for data in frame.iter() if data.tag.endswith("}graphicData"))


def _image_targets(file: Path, archive: zipfile.ZipFile, part: str) -> list[str]:
    rels_part = rels_path(part)
    if rels_part not in archive.namelist():
        return []
    return [
        rel.get("Target", "") for rel in _read_rels(file, archive, rels_part) if rel.get("Type", "").endswith("/image")
    ]


def _vml_losses(file: Path, archive: zipfile.ZipFile, parts: tuple[str, ...], keep_vba: bool) -> list[str]:
    """Legacy (VML) form controls: openpyxl regenerates VML for comments only, unless keep_vba."""
    items = []
    for part in parts:
        if keep_vba and _VBA_KEPT_VML.match(part):
            continue  # keep_vba copies these back unchanged (openpyxl's own pattern: one digit only)
        if part.startswith("xl/drawings/") and part.endswith(".vml"):
            data = _read_member(file, archive, part, limit=_MAX_XML_PART)
            kinds = {kind.decode("ascii") for kind in _VML_OBJECT.findall(data)} - {"Note"}
            if kinds:
                items.append(f"form controls ({', '.join(sorted(kinds))}) in {part}")
    return items


def _string_losses(file: Path, archive: zipfile.ZipFile, parts: tuple[str, ...], *, rich_text: bool) -> list[str]:
    """Rich text and phonetic guides in the shared strings: openpyxl keeps plain text only."""
    if "xl/sharedStrings.xml" not in parts:
        return []
    rich = phonetic = False
    carry = b""
    with _reading(file, "xl/sharedStrings.xml"), archive.open("xl/sharedStrings.xml") as handle:
        while not (rich and phonetic):
            chunk = handle.read(_CHUNK)
            if not chunk:
                break
            buffer = carry + chunk
            rich = rich or b"<rPr" in buffer or b":rPr" in buffer
            phonetic = phonetic or b"<rPh" in buffer or b":rPh" in buffer
            carry = buffer[-16:]
    items = []
    if rich and not rich_text:
        items.append("rich-text formatting inside cells (kept only with load_workbook(rich_text=True))")
    if phonetic:
        items.append("phonetic guides (furigana) in cell text")
    return items


# Part families openpyxl does not write back, with what to call them.
_LOST_FAMILIES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), label)
    for pattern, label in (
        (r"^xl/threadedComments/", "threaded comments"),
        (r"^xl/persons/", "the people list of threaded comments"),
        (r"^customXml/", "customXml parts"),
        (r"^xl/(slicers|slicerCaches)/", "slicers"),
        (r"^xl/(timelines|timelineCaches)/", "timelines"),
        (r"^xl/richData/", "pictures in cells or linked data types"),
        (r"^xl/metadata\.xml$", "cell metadata: dynamic-array formulas would become legacy array formulas"),
        (r"^xl/model/", "a Power Pivot data model"),
        (r"^xl/ctrlProps/", "form controls"),
        (r"^xl/activeX/", "ActiveX controls"),
        (r"^xl/embeddings/", "embedded objects"),
        (r"^xl/connections\.xml$", "data connections"),
        (r"^xl/queryTables/", "query tables"),
        (r"^xl/webextensions/", "Office add-ins"),
        (r"^xl/featurePropertyBag/", "cell check boxes or other new Excel features"),
        (r"^xl/macrosheets/", "Excel 4.0 macro sheets, which openpyxl turns into plain worksheets"),
        (r"^xl/dialogsheets/", "Excel 5.0 dialog sheets"),
        (r"^xl/charts/chartEx\d*\.xml$", "new chart types (waterfall, treemap, sunburst, histogram, funnel, map)"),
        (r"^xl/diagrams/", "SmartArt"),
        (r"^xl/revisions/", "shared-workbook change history"),
        (r"^docMetadata/LabelInfo\.xml$", "a sensitivity label"),
    )
)

# Parts openpyxl writes back, or whose loss changes nothing a user sees (calcChain, printer
# settings, thumbnails and chart style/colour parts are rebuilt or cosmetic). Drawings, VML,
# shared strings and media are judged by their content above.
_KEPT = re.compile(
    r"^(\[Content_Types\]\.xml|(.*/)?_rels/[^/]*\.rels|docProps/(core|app|custom)\.xml|docProps/thumbnail\.\w+"
    r"|xl/(workbook|styles|sharedStrings|calcChain)\.xml|xl/theme/.*|xl/worksheets/[^/]*\.xml"
    r"|xl/chartsheets/[^/]*\.xml|xl/comments[^/]*\.xml|xl/comments/.*|xl/drawings/.*"
    r"|xl/charts/(chart|style|colors)\d*\.xml"
    r"|xl/media/.*|xl/tables/.*|xl/pivotTables/.*|xl/pivotCache/.*|xl/externalLinks/.*|xl/printerSettings/.*)$"
)


def _part_losses(file: Path, archive: zipfile.ZipFile, parts: tuple[str, ...], keep_vba: bool) -> list[str]:
    """Whole parts openpyxl leaves out of the file it writes."""
    items: list[str] = []
    found: dict[str, list[str]] = {}
    unknown: list[str] = []
    for part in parts:
        if part.endswith("/"):
            continue  # a directory entry, not a part
        if re.match(r"^xl/vbaProject(Signature\w*)?\.bin$", part):
            if not keep_vba and part == "xl/vbaProject.bin":
                items.append("a VBA project (xl/vbaProject.bin)")
            continue
        if part.startswith("customUI/"):
            if not keep_vba or _custom_ui_dropped(file, archive, part):
                found.setdefault("a custom ribbon", []).append(part)
            continue
        if part.startswith("xl/pivotTables/") or part.startswith("xl/pivotCache/pivotCacheDefinition"):
            if "/_rels/" not in part and _has_ext(file, archive, part):
                found.setdefault("Excel 2010+ pivot table settings in extLst", []).append(part)
            continue
        for pattern, label in _LOST_FAMILIES:
            if pattern.match(part):
                if "/_rels/" not in part:
                    found.setdefault(label, []).append(part)
                break
        else:
            if not _KEPT.match(part):
                unknown.append(part)
    for label, members in found.items():
        items.append(f"{label} ({_some(members)})")
    if unknown:
        items.append(f"parts openpyxl does not write back ({_some(unknown)})")
    return items


def _some(names: list[str]) -> str:
    shown = ", ".join(names[:3])
    return shown + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _custom_ui_dropped(file: Path, archive: zipfile.ZipFile, part: str) -> bool:
    """With keep_vba openpyxl copies customUI/ but re-links only the 2006 (Office 2007) ribbon."""
    if "_rels/.rels" not in archive.namelist():
        return True
    for rel in _read_rels(file, archive, "_rels/.rels"):
        if resolve_target("", rel.get("Target", "")) == part:
            return rel.get("Type") != _CUSTOMUI_2006
    return False  # not linked from the package: nothing to lose


def _has_ext(file: Path, archive: zipfile.ZipFile, part: str) -> bool:
    """Whether a (small) part has an <extLst>, which openpyxl's pivot classes do not write back."""
    data = _read_member(file, archive, part, limit=_MAX_XML_PART)
    return b"extLst" in data


# --- package helpers -----------------------------------------------------------------------


@contextmanager
def _reading(file: Path, part: str) -> Iterator[None]:
    """Turn every way reading a zip member can fail into one WorkbookUnreadable."""
    try:
        yield
    except WorkbookUnreadable:
        raise
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        OSError,
        NotImplementedError,
        RuntimeError,
        struct.error,
    ) as error:
        raise WorkbookUnreadable(
            file, f"a damaged zip archive: cannot read {part} ({error})", hint=_HINT_FRESH_COPY
        ) from None
    except KeyError:
        raise WorkbookUnreadable(file, f"{part} is missing from the zip", hint=_HINT_RESAVE) from None


def _read_member(file: Path, archive: zipfile.ZipFile, part: str, *, limit: int) -> bytes:
    """A whole member, refusing one larger than ``limit`` (package XML parts are small)."""
    with _reading(file, part):
        info = archive.getinfo(part)
        if info.file_size > limit:
            raise WorkbookUnreadable(
                file, f"{part} declares {info.file_size:,} bytes, far more than such a part ever holds"
            )
        return archive.read(part)


def _parse_xml(file: Path, archive: zipfile.ZipFile, part: str) -> Element:
    """Parse a package XML part with defusedxml, refusing any DTD (no Office part has one)."""
    data = _read_member(file, archive, part, limit=_MAX_XML_PART)
    try:
        root: Element = SafeET.fromstring(data, forbid_dtd=True)
    except defusedxml.DTDForbidden:
        raise WorkbookUnreadable(
            file,
            f"{part} contains a DTD (<!DOCTYPE ...>), which no workbook has; refused as a possible "
            "XML bomb or external-entity (XXE) attack",
            hint="do not open files of unknown origin",
        ) from None
    except defusedxml.DefusedXmlException as error:
        raise WorkbookUnreadable(file, f"{part} contains forbidden XML ({error})") from None
    except ParseError as error:
        raise WorkbookUnreadable(file, f"{part} is not well-formed XML ({error})", hint=_HINT_RESAVE) from None
    return root


def _read_rels(file: Path, archive: zipfile.ZipFile, part: str) -> list[Element]:
    """The <Relationship> elements of a .rels part; each must have an Id, a Type and a Target."""
    root = _parse_xml(file, archive, part)
    rels = [rel for rel in root if rel.tag == f"{{{_PKG_REL_NS}}}Relationship"]
    for rel in rels:
        missing = [name for name in ("Id", "Type", "Target") if not rel.get(name)]
        if missing:
            # openpyxl fails with a KeyError or TypeError on such a relationship.
            raise WorkbookUnreadable(
                file, f"{part} has a relationship without {' or '.join(missing)}", hint=_HINT_RESAVE
            )
    return rels


def rels_path(part: str) -> str:
    """``xl/workbook.xml`` -> ``xl/_rels/workbook.xml.rels``."""
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def resolve_target(base: str, target: str) -> str:
    """A relationship target, relative to ``base`` or absolute ('/xl/...'), as a zip member name."""
    target = unquote(target)
    joined = target.lstrip("/") if target.startswith("/") else posixpath.join(base, target)
    return posixpath.normpath(joined).lstrip("/")

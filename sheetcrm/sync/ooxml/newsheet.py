"""Whole worksheets as part edits: the sheets sheetcrm creates, replaces or deletes, with styles and charts.

A :class:`~sheetcrm.sync.changeset.ReplaceSheet` writes a sheet from scratch: its worksheet
part (inline strings, numbers, dates as serials, a frozen pane, column widths, links within the
workbook), the cell styles it asks for (appended to ``styles.xml`` through :class:`StyleBook`),
and a drawing with one chart part per :class:`~sheetcrm.sync.changeset.Chart`. A new sheet is
wired into ``workbook.xml``, its relationships, ``[Content_Types].xml`` and ``docProps/app.xml``;
an existing one keeps its place, name, ``sheetId`` and part name, and the parts only its old
version used (drawings, charts, comments, tables, printer settings) go. A
:class:`~sheetcrm.sync.changeset.DeleteSheet` takes a sheet and what only it used out, fixing
the indices that count sheets (``localSheetId``, ``activeTab``, ``firstSheet``), and refuses when a
formula elsewhere would turn into ``#REF!``.

Like the rest of :mod:`sheetcrm.sync.ooxml`, the existing parts are edited as text: what changes
is spliced in and every other byte stays. :func:`plan_sheet_changes` reads parts through a
callback and returns what to add, rewrite and remove; the caller writes the package::

    >>> plan = plan_sheet_changes(
    ...     [ReplaceSheet("Report", (("Month", "Revenue"), ("Jan", 120)), freeze="A2")],
    ...     read=lambda name: read_part(path, name), names=part_names(path), styles=book,
    ... )  # doctest: +SKIP
    >>> rewrite, add = plan.writers()  # doctest: +SKIP
    >>> rewrite_package(path, target, rewrite=rewrite, add=add, remove=plan.remove)  # doctest: +SKIP

Errors: a change that cannot be applied as built (a bad sheet name, a chart range outside the
rows written, hiding the last visible sheet, deleting a sheet a formula uses) raises
:class:`~sheetcrm.errors.InvalidChange`; a part laid out in a way these splices cannot edit
safely raises :class:`Unsupported`, on which the caller falls back to openpyxl.
"""

from __future__ import annotations

import datetime as dt
import math
import posixpath
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import IO
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape, unescape

from sheetcrm.errors import InvalidChange
from sheetcrm.sync.a1 import MAX_CELL_TEXT, MAX_COLUMNS, MAX_ROWS, column_index, column_letter, quote_sheet
from sheetcrm.sync.changeset import (
    CHART_TYPES,
    CellStyle,
    CellValue,
    Chart,
    ChartSeries,
    DeleteSheet,
    ReplaceSheet,
    SetDropdown,
)
from sheetcrm.sync.ooxml.notes import (
    XmlNode,
    add_relationship,
    attribute_text,
    decode_part,
    encode_part,
    ensure_content_types,
    parse_part,
    root_element,
    set_attribute,
    splice,
)
from sheetcrm.sync.ooxml.package import PartWriter
from sheetcrm.sync.ooxml.sheetxml import Unsupported, date_serial, text_xml
from sheetcrm.sync.ooxml.styles import StyleBook
from sheetcrm.sync.ooxml.validations import dropdown_element
from sheetcrm.sync.preflight import rels_path, resolve_target
from sheetcrm.sync.values import to_text

__all__ = [
    "CHART_CONTENT_TYPE",
    "DRAWING_CONTENT_TYPE",
    "WORKSHEET_CONTENT_TYPE",
    "SheetPartsPlan",
    "Unsupported",
    "plan_sheet_changes",
]

_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_TYPES_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
_APP_NS = "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"
_VT_NS = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
_C_NS = "http://schemas.openxmlformats.org/drawingml/2006/chart"
_A_NS = "http://schemas.openxmlformats.org/drawingml/2006/main"
_XDR_NS = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"

WORKSHEET_TYPE = f"{_REL}/worksheet"
DRAWING_TYPE = f"{_REL}/drawing"
CHART_TYPE = f"{_REL}/chart"
STYLES_TYPE = f"{_REL}/styles"
WORKSHEET_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
DRAWING_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.drawing+xml"
CHART_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.drawingml.chart+xml"
STYLES_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"

_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_EPOCH_1900 = dt.datetime(1899, 12, 30)
_EPOCH_1904 = dt.datetime(1904, 1, 1)
_DATE1904 = re.compile(r'<(?:\w+:)?workbookPr\b[^>]*\sdate1904\s*=\s*["\'](?:1|true)["\']')
_DATE_FORMAT = "yyyy-mm-dd"
_DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
_LINK_COLOR = "0563C1"  # Excel's Hyperlink style (theme colour 10 of the Office theme)
_MAX_WIDTH = 255  # Excel's widest column, in characters

_BAD_NAME = re.compile(r"[\\/*?:\[\]\x00-\x1f]")
_CELL_AREA = re.compile(r"\$?([A-Za-z]{1,3})\$?([0-9]{1,7})(?::\$?([A-Za-z]{1,3})\$?([0-9]{1,7}))?")
_COLUMN_AREA = re.compile(r"\$?([A-Za-z]{1,3}):\$?([A-Za-z]{1,3})")
_ROW_AREA = re.compile(r"\$?([0-9]{1,7}):\$?([0-9]{1,7})")
_R_PREFIX = re.compile(rf"""\sxmlns:([\w.-]+)\s*=\s*["']{re.escape(_REL)}["']""")
_FORMULA = re.compile(rb"<(?:[\w.-]+:)?(f|formula|formula1|formula2)(?:\s[^>]*)?>(.*?)</(?:[\w.-]+:)?\1\s*>", re.S)
_PIVOT_SOURCE = re.compile(rb"""<(?:[\w.-]+:)?worksheetSource\b[^>]*\ssheet\s*=\s*["']([^"']*)["']""")
_CALC_CHAIN = f"{_REL}/calcChain"
_EXTENDED_PROPERTIES = f"{_REL}/extended-properties"


# --- reading and editing parts as text


@dataclass
class SheetPartsPlan:
    """The part edits that apply a list of sheet changes, for :func:`~.package.rewrite_package`."""

    add: dict[str, bytes] = field(default_factory=dict)
    """New parts: name → content."""
    rewrite: dict[str, bytes] = field(default_factory=dict)
    """Existing parts with new content (the worksheets replaced, workbook.xml, its rels, content types…)."""
    remove: set[str] = field(default_factory=set)
    """Parts to leave out: deleted sheets, and what only they or a replaced sheet's old version used."""
    parts: dict[str, str] = field(default_factory=dict)
    """Each sheet written → its worksheet part."""
    old_hidden: dict[str, bool] = field(default_factory=dict)
    """Each existing sheet replaced or deleted → whether it was hidden before."""

    def writers(self) -> tuple[dict[str, PartWriter], dict[str, PartWriter]]:
        """``rewrite=`` and ``add=`` for :func:`~.package.rewrite_package`."""
        return (
            {name: _constant(data) for name, data in self.rewrite.items()},
            {name: _constant(data) for name, data in self.add.items()},
        )


def _constant(data: bytes) -> PartWriter:
    def write(_old: IO[bytes] | None) -> Iterable[bytes]:
        return (data,)

    return write


# --- the workbook as read


@dataclass(frozen=True)
class _Rel:
    id: str
    type: str
    target: str
    external: bool


@dataclass
class _Sheet:
    """One entry of ``<sheets>``, as it was and as the changes leave it."""

    name: str
    sheet_id: int
    part: str
    kind: str  # the last word of its relationship type: "worksheet", "chartsheet"…
    state: str  # as read: "visible", "hidden", "veryHidden"
    node: XmlNode | None  # its <sheet> in workbook.xml; None for a new sheet
    change: ReplaceSheet | None = None
    deleted: bool = False

    @property
    def final_state(self) -> str:
        if self.change is None:
            return self.state
        return "hidden" if self.change.hidden else "visible"


@dataclass
class _Workbook:
    source: bytes
    text: str
    bom: bool
    root: XmlNode
    sheets_node: XmlNode
    sheets: list[_Sheet]
    names_node: XmlNode | None
    names: list[tuple[XmlNode, Element]]
    views: list[tuple[XmlNode, Element]]
    r_prefix: str | None
    epoch: dt.datetime


def _relationships(xml: bytes | None) -> list[_Rel]:
    if xml is None:
        return []
    root = parse_part(decode_part(xml, "a relationships part")[0], "a relationships part")
    if root.tag != f"{{{_RELS_NS}}}Relationships":
        raise ValueError(f"not a relationships part: the root element is {root.tag}")
    return [
        _Rel(rel.get("Id", ""), rel.get("Type", ""), rel.get("Target", ""), rel.get("TargetMode") == "External")
        for rel in root.iter(f"{{{_RELS_NS}}}Relationship")
    ]


def _children(node: XmlNode, element: Element, what: str) -> list[tuple[XmlNode, Element]]:
    """A node's children paired with the parsed elements; Unsupported where they do not line up."""
    if len(node.children) != len(element) or any(child.prefixed for child in node.children):
        raise Unsupported(f"{what} laid out in a way sheetcrm cannot edit safely")
    return list(zip(node.children, element, strict=True))


def _read_workbook(xml: bytes, rels: list[_Rel], workbook_part: str) -> _Workbook:
    text, bom = decode_part(xml, "workbook.xml")
    element = parse_part(text, "workbook.xml")
    if element.tag != f"{{{_MAIN_NS}}}workbook":
        raise Unsupported(f"a workbook part whose root element is {element.tag}")
    root = root_element(text, "workbook.xml")
    if root.prefixed:
        raise Unsupported("a workbook.xml with prefixed elements")
    sections = {local: pair for pair in _children(root, element, "workbook.xml") for local in [pair[0].name]}
    if "sheets" not in sections:
        raise ValueError("workbook.xml has no <sheets>")
    sheets_node, sheets_element = sections["sheets"]
    by_id = {rel.id: rel for rel in rels}
    base = posixpath.dirname(workbook_part)
    sheets: list[_Sheet] = []
    for node, sheet in _children(sheets_node, sheets_element, "<sheets>"):
        rel = by_id.get(sheet.get(f"{{{_REL}}}id", ""))
        if node.name != "sheet" or rel is None or rel.external:
            raise Unsupported(f"a sheet {sheet.get('name')!r} without a relationship to its part")
        try:
            sheet_id = int(sheet.get("sheetId", ""))
        except ValueError:
            raise Unsupported(f"the sheet {sheet.get('name')!r} has no numeric sheetId") from None
        sheets.append(
            _Sheet(
                sheet.get("name", ""),
                sheet_id,
                resolve_target(base, rel.target),
                rel.type.rsplit("/", 1)[-1],
                sheet.get("state", "visible"),
                node,
            )
        )
    names_node, names = None, []
    if "definedNames" in sections:
        names_node, names_element = sections["definedNames"]
        names = _children(names_node, names_element, "<definedNames>")
    views = []
    if "bookViews" in sections:
        views = [pair for pair in _children(*sections["bookViews"], "<bookViews>") if pair[0].name == "workbookView"]
    prefix = _R_PREFIX.search(text[root.start : root.inner])
    epoch = _EPOCH_1904 if _DATE1904.search(text) else _EPOCH_1900
    return _Workbook(
        xml, text, bom, root, sheets_node, sheets, names_node, names, views, prefix.group(1) if prefix else None, epoch
    )


# --- planning


def plan_sheet_changes(
    changes: Sequence[ReplaceSheet | DeleteSheet],
    *,
    read: Callable[[str], bytes],
    names: Collection[str],
    styles: StyleBook,
    workbook_part: str = "xl/workbook.xml",
    styles_part: str | None = "xl/styles.xml",
    epoch: dt.datetime | None = None,
    formulas: Callable[[str], Iterable[str]] | None = None,
) -> SheetPartsPlan:
    """The part edits that apply ``changes`` in order: sheets created, replaced or deleted.

    ``read(name)`` returns a part's bytes and ``names`` lists the package's parts. Cell styles
    are added to ``styles`` (existing style indices never move) and, when it changed, its
    ``to_xml()`` is in the plan as ``styles_part`` (``None``: the workbook has no styles part,
    one is added). A caller that goes on adding styles for other changes writes the book's
    final ``to_xml()`` over it. ``epoch`` is the date system, read from workbook.xml when None.
    ``formulas(part)``, when given, yields the formula texts of a worksheet part as it will
    be written (streamed, and after the other changes of the same ChangeSet); by default
    they are read from ``read(part)``.

    A new sheet goes after the last one. Changes apply in order, so a sheet replaced twice is
    written once, as the last change says.
    """
    plan = SheetPartsPlan()
    present = set(names)
    workbook_rels_part = rels_path(workbook_part)
    workbook_rels = read(workbook_rels_part) if workbook_rels_part in present else None
    rels = _relationships(workbook_rels)
    book = _read_workbook(read(workbook_part), rels, workbook_part)
    epoch = epoch or book.epoch
    original = list(book.sheets)
    sheets = list(book.sheets)

    for change in changes:
        found = _find(sheets, change.sheet)
        if found is not None and found.kind != "worksheet":
            raise InvalidChange(
                f"{found.name}: a {found.kind}, not a worksheet; sheetcrm replaces or deletes worksheets only"
            )
        if found is not None and found.node is not None:
            plan.old_hidden.setdefault(found.name, found.state != "visible")
        if isinstance(change, ReplaceSheet):
            if found is None:
                _check_name(change.sheet)
                sheets.append(_Sheet(change.sheet, 0, "", "worksheet", "visible", None, change))
            else:
                found.change = change
        elif found is None:
            raise InvalidChange(f"{change.sheet}: no such sheet to delete")
        elif found.node is None:
            sheets.remove(found)  # created earlier in this list: it never reaches the file
        else:
            found.deleted, found.change = True, None

    final = [sheet for sheet in sheets if not sheet.deleted]
    if not final:
        raise InvalidChange("deleting every sheet would leave an empty workbook; Excel needs at least one sheet")
    if all(sheet.final_state != "visible" for sheet in final):
        hidden = ", ".join(repr(s.name) for s in final if s.change is not None and s.change.hidden)
        raise InvalidChange(
            f"hiding {hidden or 'these sheets'} would leave the workbook without a visible sheet",
            hint="leave one sheet visible (hidden=False)",
        )
    deleted = [sheet for sheet in original if sheet.deleted]
    replaced = [sheet for sheet in original if sheet.change is not None]
    added = [sheet for sheet in final if sheet.node is None]

    taken = {name.casefold() for name in present}
    base = posixpath.dirname(workbook_part)
    next_id = max((sheet.sheet_id for sheet in original), default=0) + 1
    for sheet in added:
        sheet.sheet_id, next_id = next_id, next_id + 1
        sheet.part = _free_name(posixpath.join(base, "worksheets/sheet{}.xml"), taken)

    # parts the old sheets used that nothing kept refers to any more
    calc_chain = next((rel for rel in rels if rel.type == _CALC_CHAIN and not rel.external), None)
    calc_part = resolve_target(base, calc_chain.target) if calc_chain is not None else None
    drop_calc = calc_part in present and bool(deleted or replaced)  # its cells may no longer hold formulas
    graph = _reference_graph(read, present)
    before = {source: set(targets) for source, targets in graph.items()}
    for sheet in [*deleted, *replaced]:
        graph[sheet.part] = set()
        if sheet.deleted:
            graph.get(workbook_part, set()).discard(sheet.part)
    if drop_calc and calc_part is not None:
        graph.get(workbook_part, set()).discard(calc_part)
    reachable = _reachable(graph, "")
    removed: set[str] = {sheet.part for sheet in deleted} | ({calc_part} if drop_calc and calc_part else set())
    starts = [sheet.part for sheet in [*deleted, *replaced]] + ([calc_part] if drop_calc and calc_part else [])
    removed |= {part for part in _reachable(before, *starts) if part not in reachable and part in present}
    removed |= {rels_path(part) for part in removed if rels_path(part) in present}
    for sheet in replaced:
        removed.discard(sheet.part)
        removed.discard(rels_path(sheet.part))

    _check_references(read, present, book, sheets, deleted, removed, formulas)

    # the new sheets' content, in their final order
    views = _views(book, original, final)
    active = views[0][0] if views else 0
    overrides = {f"/{sheet.part}": WORKSHEET_CONTENT_TYPE for sheet in added}
    for index, sheet in enumerate(final):
        if sheet.change is None:
            continue
        _write_sheet(
            plan,
            sheet,
            overrides,
            present=present,
            taken=taken,
            styles=styles,
            epoch=epoch,
            selected=index == active and sheet.final_state == "visible",
        )
        plan.parts[sheet.name] = sheet.part

    # workbook.xml and its relationships
    new_rels = workbook_rels
    rel_ids: dict[str, str] = {}
    for sheet in added:
        new_rels, rel_ids[sheet.part] = add_relationship(
            new_rels, WORKSHEET_TYPE, posixpath.relpath(sheet.part, base or ".")
        )
    gone = {rel.id for rel in rels if not rel.external and resolve_target(base, rel.target) in removed}
    if styles.changed():
        if styles_part is not None and styles_part in present:
            plan.rewrite[styles_part] = styles.to_xml()
        else:
            styles_part = posixpath.join(base, "styles.xml")
            if styles_part.casefold() in taken:
                styles_part = _free_name(posixpath.join(base, "styles{}.xml"), taken)
            plan.add[styles_part] = styles.to_xml()
            new_rels, _ = add_relationship(new_rels, STYLES_TYPE, posixpath.relpath(styles_part, base or "."))
            overrides[f"/{styles_part}"] = STYLES_CONTENT_TYPE
    if new_rels is not None and (gone or new_rels is not workbook_rels):
        new_rels = _without_relationships(new_rels, gone)
        _put(plan, present, workbook_rels_part, new_rels)
    workbook = _edited_workbook(book, original, final, rel_ids, views)
    if workbook != book.source:
        plan.rewrite[workbook_part] = workbook

    # the package's list of parts, and the document properties
    old_types = read("[Content_Types].xml")
    types = ensure_content_types(_without_overrides(old_types, removed), overrides=overrides)
    if types != old_types:
        plan.rewrite["[Content_Types].xml"] = types
    app = _app_part(read, present)
    if app is not None:
        was = [sheet.name for sheet in original if sheet.kind == "worksheet"]
        now = [sheet.name for sheet in final if sheet.kind == "worksheet"]
        content = _app_properties(read(app), was, now)
        if content is not None:
            plan.rewrite[app] = content
    plan.remove = (plan.remove | removed) - set(plan.rewrite)
    return plan


def without_calc_chain(
    read: Callable[[str], bytes], names: Collection[str], workbook_part: str = "xl/workbook.xml"
) -> tuple[dict[str, bytes], set[str]]:
    """The edits that drop the calculation chain: the rewritten workbook rels and content types,
    and the parts to remove (none when there is no chain).

    The chain lists formula cells by address; once rows move it points at the wrong cells,
    which Excel reports as a damaged file. Without one, Excel builds it again on open.
    """
    present = set(names)
    rels_part = rels_path(workbook_part)
    if rels_part not in present:
        return {}, set()
    rels_xml = read(rels_part)
    base = posixpath.dirname(workbook_part)
    chain = [rel for rel in _relationships(rels_xml) if rel.type == _CALC_CHAIN and not rel.external]
    parts = {resolve_target(base, rel.target) for rel in chain} & present
    if not chain:
        return {}, set()
    types = _without_overrides(read("[Content_Types].xml"), parts)
    rewrite = {rels_part: _without_relationships(rels_xml, {rel.id for rel in chain}), "[Content_Types].xml": types}
    return rewrite, parts | ({rels_path(part) for part in parts} & present)


def _put(plan: SheetPartsPlan, present: set[str], name: str, content: bytes) -> None:
    (plan.rewrite if name in present else plan.add)[name] = content


def _find(sheets: list[_Sheet], name: str) -> _Sheet | None:
    """The live sheet called ``name``, compared ignoring case as Excel does."""
    return next((s for s in sheets if not s.deleted and s.name.casefold() == name.casefold()), None)


def _check_name(name: str) -> None:
    if not name or len(name) > 31:
        raise InvalidChange(f"{name!r}: a sheet name has 1 to 31 characters")
    if _BAD_NAME.search(name) or name.startswith("'") or name.endswith("'"):
        raise InvalidChange(
            f"{name!r}: a sheet name cannot hold \\ / * ? : [ ] or control characters, nor start or end with '"
        )
    if name.casefold() == "history":
        raise InvalidChange("'History' is a sheet name Excel reserves for itself")


def _free_name(template: str, taken: set[str]) -> str:
    """The first of ``template`` numbered 1, 2… not in ``taken`` (compared ignoring case), now taken."""
    number = 1
    while template.format(number).casefold() in taken:
        number += 1
    name = template.format(number)
    taken.add(name.casefold())
    return name


# --- which parts refer to which


def _rels_source(rels: str) -> str | None:
    """``xl/worksheets/_rels/sheet1.xml.rels`` → ``xl/worksheets/sheet1.xml``; ``_rels/.rels`` → ``""``."""
    folder, name = posixpath.split(rels)
    if posixpath.basename(folder) != "_rels" or not name.endswith(".rels"):
        return None
    return posixpath.join(posixpath.dirname(folder), name[: -len(".rels")]).rstrip("/")


def _reference_graph(read: Callable[[str], bytes], present: set[str]) -> dict[str, set[str]]:
    """Each part that has relationships → the parts of the package they point at."""
    graph: dict[str, set[str]] = {}
    for name in present:
        source = _rels_source(name)
        if source is None:
            continue
        base = posixpath.dirname(source)
        try:
            rels = _relationships(read(name))
        except (ValueError, Unsupported):
            continue  # an unreadable rels part: what it points at is never removed
        graph[source] = {
            target for rel in rels if not rel.external and (target := resolve_target(base, rel.target)) in present
        }
    return graph


def _reachable(graph: Mapping[str, set[str]], *starts: str) -> set[str]:
    """Every part reachable from ``starts`` (not counting a start itself unless something leads back to it)."""
    seen: set[str] = set()
    stack = [target for start in starts for target in graph.get(start, ())]
    while stack:
        part = stack.pop()
        if part not in seen:
            seen.add(part)
            stack.extend(graph.get(part, ()))
    return seen


def _reference(name: str) -> re.Pattern[str]:
    """What a formula uses to name a sheet: ``'My sheet'!``, ``Report!``, or the end of ``A:Report!``."""
    quoted = "'" + re.escape(name.replace("'", "''")) + "'!"
    unquoted = r"(?<![\w.'\]])" + re.escape(name) + "!"
    return re.compile(f"{quoted}|{unquoted}", re.I)


def _check_references(
    read: Callable[[str], bytes],
    present: set[str],
    book: _Workbook,
    sheets: list[_Sheet],
    deleted: list[_Sheet],
    removed: set[str],
    formulas: Callable[[str], Iterable[str]] | None,
) -> None:
    """Refuse to delete a sheet that a formula kept elsewhere uses: it would turn into #REF!."""
    live = {sheet.name.casefold() for sheet in sheets if not sheet.deleted}
    gone = [sheet.name for sheet in deleted if sheet.name.casefold() not in live]
    if not gone:
        return
    patterns = {name: _reference(name) for name in gone}
    found: list[str] = []

    def look(where: str, formula: str) -> None:
        for name, pattern in patterns.items():
            if pattern.search(formula):
                found.append(f"{where} ({formula[:80]!r}) uses {name!r}")

    for _, element in book.names:
        local = element.get("localSheetId")
        if local is not None and local.isdigit() and int(local) < len(book.sheets) and book.sheets[int(local)].deleted:
            continue  # it goes with its sheet
        look(f"the defined name {element.get('name')!r}", element.text or "")
    kept = [s for s in book.sheets if not s.deleted and s.change is None and s.part in present]
    charts = [name for name in sorted(present) if "/charts/" in name and name.endswith(".xml") and name not in removed]
    for where, texts in [
        *((f"sheet {s.name!r}", formulas(s.part) if formulas else formula_texts([read(s.part)])) for s in kept),
        *((f"the chart {name}", formula_texts([read(name)])) for name in charts),
    ]:
        for formula in texts:
            look(where, formula)
    for name in sorted(present):
        if "pivotCacheDefinition" in name and name.endswith(".xml") and name not in removed:
            for match in _PIVOT_SOURCE.finditer(read(name)):
                source = unescape(match.group(1).decode("utf-8", "replace"), {"&apos;": "'", "&quot;": '"'})
                if source.casefold() in {g.casefold() for g in gone}:
                    found.append(f"the pivot cache {name} reads {source!r}")
    if found:
        more = f" (and {len(found) - 3} more)" if len(found) > 3 else ""
        raise InvalidChange(
            f"cannot delete sheet {gone[0] if len(gone) == 1 else gone}: {'; '.join(found[:3])}{more}; "
            "it would show #REF!",
            hint="sheetcrm deletes only sheets nothing else refers to; remove those references first",
        )


def formula_texts(chunks: Iterable[bytes]) -> Iterator[str]:
    """The formulas in a part given as chunks (cells' ``<f>``, rules' ``<formula>``, charts' ``<c:f>``),
    unescaped; a formula cut by a chunk's end is joined first."""
    carry = b""
    for chunk in chunks:
        buffer = carry + chunk
        cut = max(buffer.rfind(b"</row>"), buffer.rfind(b"</c>"))
        cut = buffer.find(b">", cut) + 1 if cut >= 0 else 0
        yield from _formulas_in(buffer[:cut])
        carry = buffer[cut:]
    yield from _formulas_in(carry)


def _formulas_in(data: bytes) -> Iterator[str]:
    if b"!" not in data:
        return  # a formula naming another sheet has a "!"
    for match in _FORMULA.finditer(data):
        yield unescape(match.group(2).decode("utf-8", "replace"), {"&apos;": "'", "&quot;": '"'})


# --- workbook.xml


def _views(book: _Workbook, original: list[_Sheet], final: list[_Sheet]) -> list[tuple[int, int]]:
    """Each ``<workbookView>``'s (activeTab, firstSheet) after the changes: on a visible sheet still there."""
    where = {id(sheet): index for index, sheet in enumerate(final)}

    def moved(old: int) -> int:
        old = min(max(old, 0), len(original) - 1)
        for sheet in original[old:]:  # a deleted sheet's place goes to the next one kept
            if id(sheet) in where:
                return where[id(sheet)]
        return len(final) - 1

    result = []
    for _, view in book.views:
        active = moved(_int(view.get("activeTab")))
        if final[active].final_state != "visible":
            # the next visible sheet, else the nearest one before: where Excel goes when a tab is hidden
            later = [i for i in range(active, len(final)) if final[i].final_state == "visible"]
            earlier = [i for i in range(active, -1, -1) if final[i].final_state == "visible"]
            active = (later or earlier)[0]
        first = min(moved(_int(view.get("firstSheet"))), active)
        result.append((active, first))
    return result


def _int(value: str | None) -> int:
    try:
        return int(value) if value is not None else 0
    except ValueError:
        return 0


def _edited_workbook(
    book: _Workbook,
    original: list[_Sheet],
    final: list[_Sheet],
    rel_ids: Mapping[str, str],
    views: list[tuple[int, int]],
) -> bytes:
    text = book.text
    edits: list[tuple[int, int, str]] = []
    for sheet in original:
        node = sheet.node
        assert node is not None
        if sheet.deleted:
            edits.append((node.start, node.end, ""))
        elif sheet.change is not None and sheet.final_state != sheet.state:
            tag = text[node.start : node.inner]
            if sheet.final_state == "visible":
                tag = re.sub(r"""\sstate\s*=\s*(?:"[^"]*"|'[^']*')""", "", tag)
            else:
                tag = set_attribute(tag, "state", sheet.final_state)
            edits.append((node.start, node.inner, tag))
    new = ""
    for sheet in final:
        if sheet.node is not None:
            continue
        r = book.r_prefix or "r"
        declare = "" if book.r_prefix else f' xmlns:r="{_REL}"'
        state = ' state="hidden"' if sheet.final_state == "hidden" else ""
        new += (
            f'<sheet{declare} name="{attribute_text(sheet.name)}" sheetId="{sheet.sheet_id}"{state} '
            f'{r}:id="{rel_ids[sheet.part]}"/>'
        )
    if new:
        node = book.sheets_node
        if node.self_closing:
            tag = re.sub(r"\s*/>$", ">", text[node.start : node.end])
            edits.append((node.start, node.end, f"{tag}{new}</sheets>"))
        else:
            at = node.children[-1].end if node.children else node.close
            edits.append((at, at, new))

    index = {id(sheet): i for i, sheet in enumerate(final)}
    renumbered = {old: index.get(id(sheet)) for old, sheet in enumerate(original)}
    kept = 0
    name_edits: list[tuple[int, int, str]] = []
    for node, element in book.names:
        local = element.get("localSheetId")
        if local is None or not local.isdigit() or int(local) not in renumbered:
            kept += 1
            continue
        now = renumbered[int(local)]
        if now is None:
            name_edits.append((node.start, node.end, ""))
            continue
        kept += 1
        if now != int(local):
            name_edits.append(
                (node.start, node.inner, set_attribute(text[node.start : node.inner], "localSheetId", str(now)))
            )
    if book.names_node is not None and book.names and not kept:
        edits.append((book.names_node.start, book.names_node.end, ""))  # an empty <definedNames> Excel repairs
    else:
        edits.extend(name_edits)
    for (node, view), (active, first) in zip(book.views, views, strict=True):
        tag = text[node.start : node.inner]
        changed = False
        for attribute, value in (("activeTab", active), ("firstSheet", first)):
            if _int(view.get(attribute)) != value:
                tag = set_attribute(tag, attribute, str(value))
                changed = True
        if changed:
            edits.append((node.start, node.inner, tag))
    return encode_part(splice(text, edits), book.bom)


# --- relationships, content types and document properties


def _without_relationships(rels_xml: bytes, ids: Collection[str]) -> bytes:
    """A ``.rels`` part without the relationships ``ids``; as given when it has none of them."""
    if not ids:
        return rels_xml
    text, bom = decode_part(rels_xml, "a relationships part")
    element = parse_part(text, "a relationships part")
    root = root_element(text, "a relationships part")
    edits = [
        (node.start, node.end, "")
        for node, rel in _children(root, element, "a relationships part")
        if rel.get("Id") in ids
    ]
    return encode_part(splice(text, edits), bom) if edits else rels_xml


def _without_overrides(types_xml: bytes, parts: Collection[str]) -> bytes:
    """``[Content_Types].xml`` without the ``<Override>`` of each of ``parts``."""
    wanted = {f"/{part}".casefold() for part in parts}
    text, bom = decode_part(types_xml, "[Content_Types].xml")
    element = parse_part(text, "[Content_Types].xml")
    if element.tag != f"{{{_TYPES_NS}}}Types":
        raise ValueError(f"not a content types part: the root element is {element.tag}")
    root = root_element(text, "[Content_Types].xml")
    edits = [
        (node.start, node.end, "")
        for node, child in _children(root, element, "[Content_Types].xml")
        if child.tag == f"{{{_TYPES_NS}}}Override" and child.get("PartName", "").casefold() in wanted
    ]
    return encode_part(splice(text, edits), bom) if edits else types_xml


def _app_part(read: Callable[[str], bytes], present: set[str]) -> str | None:
    if "_rels/.rels" not in present:
        return None
    for rel in _relationships(read("_rels/.rels")):
        if rel.type == _EXTENDED_PROPERTIES and not rel.external:
            part = resolve_target("", rel.target)
            return part if part in present else None
    return None


def _app_properties(xml: bytes, was: list[str], now: list[str]) -> bytes | None:
    """``docProps/app.xml`` listing the worksheets ``now`` where it listed those that ``was``.

    The list is the run of ``TitlesOfParts`` that a ``HeadingPairs`` entry ("Worksheets", in
    the language Excel saved in) counts. Excel and LibreOffice do not read these lists when they
    open a file (Excel writes them afresh on save), so a layout not recognised is left alone: None.
    """
    if was == now:
        return None
    try:
        text, bom = decode_part(xml, "docProps/app.xml")
        element = parse_part(text, "docProps/app.xml")
        root = root_element(text, "docProps/app.xml")
    except (ValueError, Unsupported):
        return None
    nodes = {node.name: node for node in root.children}
    pairs_element = element.find(f"{{{_APP_NS}}}HeadingPairs/{{{_VT_NS}}}vector")
    titles_element = element.find(f"{{{_APP_NS}}}TitlesOfParts/{{{_VT_NS}}}vector")
    if pairs_element is None or titles_element is None or "HeadingPairs" not in nodes or "TitlesOfParts" not in nodes:
        return None
    pairs_vector = nodes["HeadingPairs"].children[0] if nodes["HeadingPairs"].children else None
    titles_vector = nodes["TitlesOfParts"].children[0] if nodes["TitlesOfParts"].children else None
    if pairs_vector is None or titles_vector is None:
        return None
    variants = list(pairs_element)
    titles = [title.text or "" for title in titles_element]
    if len(variants) != len(pairs_vector.children) or len(titles) != len(titles_vector.children):
        return None
    offset = 0
    for k in range(0, len(variants) - 1, 2):
        count_element = variants[k + 1].find(f"{{{_VT_NS}}}i4")
        if count_element is None or not (count_element.text or "").strip().isdigit():
            return None
        count = int((count_element.text or "").strip())
        if titles[offset : offset + count] == was and count:
            count_node = pairs_vector.children[k + 1].children[0]
            first, last = titles_vector.children[offset], titles_vector.children[offset + count - 1]
            prefix = first.name[: -len("lpstr")]
            listed = "".join(f"<{prefix}lpstr>{escape(name)}</{prefix}lpstr>" for name in now)
            size = set_attribute(
                text[titles_vector.start : titles_vector.inner], "size", str(len(titles) - count + len(now))
            )
            edits = [
                (count_node.inner, count_node.close, str(len(now))),
                (titles_vector.start, titles_vector.inner, size),
                (first.start, last.end, listed),
            ]
            return encode_part(splice(text, edits), bom)
        offset += count
    return None


# --- a sheet's parts


@dataclass(frozen=True)
class _Area:
    first_column: int
    first_row: int
    last_column: int
    last_row: int

    def __contains__(self, cell: tuple[int, int]) -> bool:
        row, column = cell
        return self.first_row <= row <= self.last_row and self.first_column <= column <= self.last_column

    @property
    def cells(self) -> list[tuple[int, int]]:
        """(row, column) of each cell, row by row."""
        return [
            (row, column)
            for row in range(self.first_row, self.last_row + 1)
            for column in range(self.first_column, self.last_column + 1)
        ]

    def absolute(self, sheet: str) -> str:
        """``'Report sheet'!$A$4:$A$15`` (one cell: ``Report!$B$3``)."""
        start = f"${column_letter(self.first_column)}${self.first_row}"
        end = f"${column_letter(self.last_column)}${self.last_row}"
        return f"{quote_sheet(sheet)}!{start}" + (f":{end}" if end != start else "")


def _area(ref: str, *, whole: bool = False) -> _Area | None:
    """A range such as ``A1:F1`` or ``B3`` (with ``whole``, also ``B:B`` and ``1:1``); None if it is none."""
    text = ref.strip()
    try:
        if match := _CELL_AREA.fullmatch(text):
            c1, r1 = column_index(match.group(1)), int(match.group(2))
            c2 = column_index(match.group(3)) if match.group(3) else c1
            r2 = int(match.group(4)) if match.group(4) else r1
        elif whole and (match := _COLUMN_AREA.fullmatch(text)):
            c1, c2, r1, r2 = column_index(match.group(1)), column_index(match.group(2)), 1, MAX_ROWS
        elif whole and (match := _ROW_AREA.fullmatch(text)):
            c1, c2, r1, r2 = 1, MAX_COLUMNS, int(match.group(1)), int(match.group(2))
        else:
            return None
    except ValueError:
        return None
    if not (min(r1, r2) >= 1 and max(r1, r2) <= MAX_ROWS):
        return None
    return _Area(min(c1, c2), min(r1, r2), max(c1, c2), max(r1, r2))


_LOOK_FIELDS = tuple(f.name for f in fields(CellStyle))
_PLAIN = CellStyle()


def _merged(looks: Sequence[CellStyle]) -> CellStyle:
    """Later looks win, field by field: a field left at its default takes the earlier value."""
    values = {name: getattr(_PLAIN, name) for name in _LOOK_FIELDS}
    for look in looks:
        for name in _LOOK_FIELDS:
            value = getattr(look, name)
            if value != getattr(_PLAIN, name):
                values[name] = value
    return CellStyle(**values)


class _Looks:
    """The style index of each cell of a sheet being written, added to the book once per look."""

    def __init__(self, sheet: ReplaceSheet, styles: StyleBook, last_row: int, width: int) -> None:
        self._styles = styles
        self._areas: list[tuple[_Area, CellStyle]] = []
        for ref, look in sheet.styles.items():
            area = _area(ref, whole=True)
            if area is None:
                raise InvalidChange(f"{sheet.sheet}: {ref!r} is not a range like A1:F1, B:B or 3:3")
            # styles reach as far as the rows written: a whole column does not make a million cells
            clipped = _Area(
                area.first_column, area.first_row, min(area.last_column, width), min(area.last_row, last_row)
            )
            if clipped.first_column <= clipped.last_column and clipped.first_row <= clipped.last_row:
                self._areas.append((clipped, look))
        self.links: set[tuple[int, int]] = set()
        for ref in sheet.links:
            area = _area(ref)
            if area is None or area.first_row != area.last_row or area.first_column != area.last_column:
                raise InvalidChange(f"{sheet.sheet}: the link cell {ref!r} is not a cell like B2")
            self.links.add((area.first_row, area.first_column))
        self._memo: dict[tuple[CellStyle | None, bool, str | None], int] = {}
        self._sheet = sheet.sheet

    def styled(self, row: int) -> set[int]:
        """The columns of ``row`` that a style range covers (their cells are written even when empty)."""
        columns: set[int] = set()
        for area, _ in self._areas:
            if area.first_row <= row <= area.last_row:
                columns.update(range(area.first_column, area.last_column + 1))
        return columns

    def look(self, row: int, column: int) -> CellStyle | None:
        found = [look for area, look in self._areas if (row, column) in area]
        return _merged(found) if found else None

    def style(self, row: int, column: int, value: CellValue) -> int:
        look = self.look(row, column) if self._areas else None
        link = (row, column) in self.links
        kind = (
            _DATETIME_FORMAT if isinstance(value, dt.datetime) else _DATE_FORMAT if isinstance(value, dt.date) else None
        )
        key = (look, link, kind)
        if key not in self._memo:
            self._memo[key] = self._add(look, link, kind)
        return self._memo[key]

    def _add(self, look: CellStyle | None, link: bool, date_format: str | None) -> int:
        look = look or _PLAIN
        try:
            return self._styles.with_look(
                bold=look.bold,
                italic=look.italic,
                underline=link,
                size=look.size,
                color=look.color or (_LINK_COLOR if link else None),
                fill=look.fill,
                number_format=look.number_format or date_format,
                wrap=look.wrap,
                top_border=look.top_border,
                bottom_border=look.bottom_border,
            )
        except ValueError as error:
            raise InvalidChange(f"{self._sheet}: {error}") from None


def _value_xml(ref: str, style: int, value: CellValue, epoch: dt.datetime, where: str) -> str:
    s = f' s="{style}"' if style else ""
    if value is None or value == "":
        return f'<c r="{ref}"{s}/>'
    if isinstance(value, str):
        if len(value) > MAX_CELL_TEXT:
            raise InvalidChange(f"{where}: text longer than Excel's {MAX_CELL_TEXT} characters")
        # a literal CR would come back as LF: spell it as Excel does
        body = text_xml(value).replace("\r", "_x000D_")
        space = ' xml:space="preserve"' if value[:1].isspace() or value[-1:].isspace() else ""
        return f'<c r="{ref}"{s} t="inlineStr"><is><t{space}>{body}</t></is></c>'
    if isinstance(value, bool):
        return f'<c r="{ref}"{s} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidChange(f"{where}: {value} cannot be stored in a cell")
        return f'<c r="{ref}"{s}><v>{value!r}</v></c>'
    if isinstance(value, dt.date):
        serial = date_serial(value, epoch)
        if serial < 0 or (epoch == _EPOCH_1900 and serial < 1):
            raise InvalidChange(f"{where}: {value} is before the first date Excel can store")
        return f'<c r="{ref}"{s}><v>{serial!r}</v></c>'
    raise InvalidChange(f"{where}: {type(value).__name__} values cannot be written to a cell")


def _pane(freeze: str | None, sheet: str) -> str:
    if not freeze:
        return ""
    area = _area(freeze)
    if area is None or (area.first_column, area.first_row) != (area.last_column, area.last_row):
        raise InvalidChange(f"{sheet}: freeze={freeze!r} is not a cell like A2")
    columns, rows = area.first_column - 1, area.first_row - 1
    if not columns and not rows:
        return ""
    top_left = f"{column_letter(area.first_column)}{area.first_row}"
    split = (f' xSplit="{columns}"' if columns else "") + (f' ySplit="{rows}"' if rows else "")
    if columns and rows:
        pane = "bottomRight"
        selections = '<selection pane="topRight"/><selection pane="bottomLeft"/>'
    else:
        pane = "topRight" if columns else "bottomLeft"
        selections = ""
    return (
        f'<pane{split} topLeftCell="{top_left}" activePane="{pane}" state="frozen"/>'
        f'{selections}<selection pane="{pane}" activeCell="{top_left}" sqref="{top_left}"/>'
    )


def _columns(widths: Mapping[str, float], sheet: str) -> str:
    cols: list[tuple[int, float]] = []
    for letters, width in widths.items():
        try:
            index = column_index(letters)
        except ValueError:
            raise InvalidChange(f"{sheet}: {letters!r} in column_widths is not a column like B") from None
        if isinstance(width, bool) or not isinstance(width, int | float) or not 0 <= width <= _MAX_WIDTH:
            raise InvalidChange(f"{sheet}: column {letters} width {width!r} is not a number from 0 to {_MAX_WIDTH}")
        cols.append((index, float(width)))
    if not cols:
        return ""
    body = "".join(f'<col min="{i}" max="{i}" width="{w!r}" customWidth="1"/>' for i, w in sorted(cols))
    return f"<cols>{body}</cols>"


def _dropdowns(sheet: ReplaceSheet) -> str:
    """``<dataValidations>`` for the sheet's dropdowns (lists of choices), as SetDropdown writes them."""
    elements = []
    for ref, choices in sheet.dropdowns.items():
        element = dropdown_element(SetDropdown(sheet.sheet, ref, tuple(choices)))
        if element is not None:
            elements.append(element)
    return f'<dataValidations count="{len(elements)}">{"".join(elements)}</dataValidations>' if elements else ""


def _worksheet(
    sheet: ReplaceSheet, styles: StyleBook, epoch: dt.datetime, selected: bool, drawing: str | None
) -> tuple[bytes, _Looks]:
    """The worksheet part of a ReplaceSheet, and the looks of its cells (the charts' number formats)."""
    if len(sheet.rows) > MAX_ROWS:
        raise InvalidChange(f"{sheet.sheet}: {len(sheet.rows)} rows are more than Excel's {MAX_ROWS}")
    width = max((len(row) for row in sheet.rows), default=0)
    if width > MAX_COLUMNS:
        raise InvalidChange(f"{sheet.sheet}: a row of {width} cells is wider than Excel's {MAX_COLUMNS} columns")
    looks = _Looks(sheet, styles, len(sheet.rows), width)
    links: dict[int, set[int]] = {}
    for row, column in looks.links:
        links.setdefault(row, set()).add(column)
    last_row = max([len(sheet.rows), *links])
    rows: list[str] = []
    low_column, high_column, low_row, high_row = MAX_COLUMNS + 1, 0, 0, 0
    for number in range(1, last_row + 1):
        values = sheet.rows[number - 1] if number <= len(sheet.rows) else ()
        columns = {c for c, v in enumerate(values, 1) if v is not None and v != ""}
        columns |= looks.styled(number) | links.get(number, set())
        if not columns:
            continue
        cells = []
        for column in sorted(columns):
            value = values[column - 1] if column <= len(values) else None
            ref = f"{column_letter(column)}{number}"
            cells.append(_value_xml(ref, looks.style(number, column, value), value, epoch, f"{sheet.sheet}!{ref}"))
        rows.append(f'<row r="{number}">{"".join(cells)}</row>')
        low_column, high_column = min(low_column, min(columns)), max(high_column, max(columns))
        low_row, high_row = low_row or number, number
    dimension = "A1"
    if rows:
        dimension = f"{column_letter(low_column)}{low_row}"
        if (low_column, low_row) != (high_column, high_row):
            dimension += f":{column_letter(high_column)}{high_row}"
    pane = _pane(sheet.freeze, sheet.sheet)
    tab = ' tabSelected="1"' if selected else ""
    view = f'<sheetView{tab} workbookViewId="0">{pane}</sheetView>' if pane else f'<sheetView{tab} workbookViewId="0"/>'
    hyperlinks = ""
    if sheet.links:
        entries = []
        for ref, target in sheet.links.items():
            if not isinstance(target, str) or not target.strip():
                raise InvalidChange(f"{sheet.sheet}!{ref}: a link needs a target such as 'Customers!E14'")
            entries.append(
                f'<hyperlink ref="{ref.strip().replace("$", "").upper()}" location="{attribute_text(target)}"/>'
            )
        hyperlinks = f"<hyperlinks>{''.join(entries)}</hyperlinks>"
    part = (
        f'{_DECLARATION}<worksheet xmlns="{_MAIN_NS}" xmlns:r="{_REL}">'
        f'<dimension ref="{dimension}"/><sheetViews>{view}</sheetViews>'
        f'<sheetFormatPr defaultRowHeight="15"/>{_columns(sheet.column_widths, sheet.sheet)}'
        f"<sheetData>{''.join(rows)}</sheetData>{_dropdowns(sheet)}{hyperlinks}"
        '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
        + (f'<drawing r:id="{drawing}"/>' if drawing else "")
        + "</worksheet>"
    )
    return part.encode("utf-8"), looks


def _write_sheet(
    plan: SheetPartsPlan,
    sheet: _Sheet,
    overrides: dict[str, str],
    *,
    present: set[str],
    taken: set[str],
    styles: StyleBook,
    epoch: dt.datetime,
    selected: bool,
) -> None:
    """Put a ReplaceSheet's worksheet, rels, drawing and charts into the plan, their content types into ``overrides``."""
    change = sheet.change
    assert change is not None
    for chart in change.charts:
        _check_chart(change, chart)
    sheet_rels = rels_path(sheet.part)
    drawing_rel = "rId1" if change.charts else None
    content, looks = _worksheet(change, styles, epoch, selected, drawing_rel)
    _put(plan, present, sheet.part, content)
    if not change.charts:
        if sheet_rels in present:
            plan.remove.add(sheet_rels)  # its targets are gone with the old content
        return
    drawing = _free_name("xl/drawings/drawing{}.xml", taken)
    drawing_rels: bytes | None = None
    anchors: list[str] = []
    for number, chart in enumerate(change.charts, start=1):
        chart_part = _free_name("xl/charts/chart{}.xml", taken)
        plan.add[chart_part] = _chart_xml(change, chart, looks, epoch)
        overrides[f"/{chart_part}"] = CHART_CONTENT_TYPE
        drawing_rels, rel_id = add_relationship(drawing_rels, CHART_TYPE, posixpath.relpath(chart_part, "xl/drawings"))
        anchors.append(_anchor(chart, number, rel_id))
    plan.add[drawing] = (
        f'{_DECLARATION}<xdr:wsDr xmlns:xdr="{_XDR_NS}" xmlns:a="{_A_NS}">{"".join(anchors)}</xdr:wsDr>'
    ).encode()
    assert drawing_rels is not None
    plan.add[rels_path(drawing)] = drawing_rels
    overrides[f"/{drawing}"] = DRAWING_CONTENT_TYPE
    rels, _ = add_relationship(None, DRAWING_TYPE, posixpath.relpath(drawing, posixpath.dirname(sheet.part)))
    _put(plan, present, sheet_rels, rels)


# --- charts


def _chart_area(change: ReplaceSheet, chart: Chart, ref: str, what: str, *, single: bool = False) -> _Area:
    where = f"{change.sheet}: chart {chart.title!r}"
    area = _area(ref)
    if area is None:
        raise InvalidChange(f"{where}: {what} {ref!r} is not a range like A4:A15")
    if single and (area.first_column, area.first_row) != (area.last_column, area.last_row):
        raise InvalidChange(f"{where}: {what} {ref!r} is not one cell")
    if area.first_column != area.last_column and area.first_row != area.last_row:
        raise InvalidChange(f"{where}: {what} {ref!r} spans several rows and columns; use one column or one row")
    if area.last_row > len(change.rows):
        raise InvalidChange(
            f"{where}: {what} {ref!r} reaches row {area.last_row}, but the sheet is written with {len(change.rows)} rows"
        )
    return area


def _check_chart(change: ReplaceSheet, chart: Chart) -> None:
    where = f"{change.sheet}: chart {chart.title!r}"
    if chart.type not in CHART_TYPES:
        raise InvalidChange(f"{where}: unknown chart type {chart.type!r} (one of {', '.join(sorted(CHART_TYPES))})")
    if not chart.series:
        raise InvalidChange(f"{where}: a chart needs at least one series")
    if chart.type == "pie" and len(chart.series) != 1:
        raise InvalidChange(f"{where}: a pie chart shows one series, not {len(chart.series)}")
    categories = _chart_area(change, chart, chart.categories, "categories")
    count = len(categories.cells)
    for series in chart.series:
        values = _chart_area(change, chart, series.values, "values")
        if len(values.cells) != count:
            raise InvalidChange(
                f"{where}: values {series.values!r} hold {len(values.cells)} cells, the categories {count}"
            )
        if series.name is not None:
            _chart_area(change, chart, series.name, "the series name", single=True)
    anchor = _area(chart.anchor)
    size = tuple(chart.size)
    if anchor is None or (anchor.first_column, anchor.first_row) != (anchor.last_column, anchor.last_row):
        raise InvalidChange(f"{where}: anchor {chart.anchor!r} is not a cell like H2")
    if len(size) != 2 or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in size):
        raise InvalidChange(f"{where}: size {chart.size!r} is not (columns, rows), both above 0")
    if anchor.first_column + size[0] > MAX_COLUMNS or anchor.first_row + size[1] > MAX_ROWS:
        raise InvalidChange(f"{where}: a chart at {chart.anchor} of size {chart.size} runs off the sheet")


def _anchor(chart: Chart, number: int, rel_id: str) -> str:
    area = _area(chart.anchor)
    assert area is not None
    column, row = area.first_column - 1, area.first_row - 1
    columns, rows = chart.size
    return (
        '<xdr:twoCellAnchor editAs="oneCell">'
        f"<xdr:from><xdr:col>{column}</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>{row}</xdr:row>"
        "<xdr:rowOff>0</xdr:rowOff></xdr:from>"
        f"<xdr:to><xdr:col>{column + columns}</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>{row + rows}</xdr:row>"
        "<xdr:rowOff>0</xdr:rowOff></xdr:to>"
        f'<xdr:graphicFrame macro=""><xdr:nvGraphicFramePr><xdr:cNvPr id="{number + 1}" name="Chart {number}"'
        f' descr="{attribute_text(chart.title)}"/>'
        "<xdr:cNvGraphicFramePr/></xdr:nvGraphicFramePr>"
        '<xdr:xfrm><a:off x="0" y="0"/><a:ext cx="0" cy="0"/></xdr:xfrm>'
        f'<a:graphic><a:graphicData uri="{_C_NS}"><c:chart xmlns:c="{_C_NS}" xmlns:r="{_REL}" r:id="{rel_id}"/>'
        "</a:graphicData></a:graphic></xdr:graphicFrame><xdr:clientData/></xdr:twoCellAnchor>"
    )


def _cell_value(change: ReplaceSheet, row: int, column: int) -> CellValue:
    values = change.rows[row - 1] if row <= len(change.rows) else ()
    return values[column - 1] if column <= len(values) else None


def _is_number(value: CellValue) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float | dt.date):
        return False
    return not isinstance(value, float) or math.isfinite(value)


def _number(value: CellValue, epoch: dt.datetime) -> str:
    if isinstance(value, dt.date):
        return repr(date_serial(value, epoch))
    return repr(value)


def _format_of(looks: _Looks, values: list[tuple[int, int, CellValue]]) -> str:
    """The number format the first number of a range shows with: its style's, a date's, or General."""
    for row, column, value in values:
        if _is_number(value):
            look = looks.look(row, column)
            if look is not None and look.number_format:
                return look.number_format
            if isinstance(value, dt.datetime):
                return _DATETIME_FORMAT
            return _DATE_FORMAT if isinstance(value, dt.date) else "General"
    return "General"


def _reference_xml(
    change: ReplaceSheet, area: _Area, looks: _Looks, epoch: dt.datetime, *, numbers: bool | None = None
) -> str:
    """A ``c:strRef`` or ``c:numRef`` to ``area`` with the cache of the values written there."""
    values = [(row, column, _cell_value(change, row, column)) for row, column in area.cells]
    present = [value for _, _, value in values if value is not None and value != ""]
    if numbers is None:
        numbers = bool(present) and all(_is_number(value) for value in present)
    formula = escape(area.absolute(change.sheet))
    if numbers:
        points = "".join(
            f'<c:pt idx="{i}"><c:v>{_number(value, epoch)}</c:v></c:pt>'
            for i, (_, _, value) in enumerate(values)
            if _is_number(value)
        )
        code = escape(_format_of(looks, values))
        cache = f'<c:formatCode>{code}</c:formatCode><c:ptCount val="{len(values)}"/>{points}'
        return f"<c:numRef><c:f>{formula}</c:f><c:numCache>{cache}</c:numCache></c:numRef>"
    points = "".join(
        f'<c:pt idx="{i}"><c:v>{text_xml(to_text(value))}</c:v></c:pt>'
        for i, (_, _, value) in enumerate(values)
        if value is not None and value != ""
    )
    cache = f'<c:ptCount val="{len(values)}"/>{points}'
    return f"<c:strRef><c:f>{formula}</c:f><c:strCache>{cache}</c:strCache></c:strRef>"


def _title_xml(text: str) -> str:
    return (
        "<c:title><c:tx><c:rich><a:bodyPr/><a:lstStyle/><a:p><a:pPr><a:defRPr/></a:pPr>"
        f'<a:r><a:t>{text_xml(text)}</a:t></a:r></a:p></c:rich></c:tx><c:overlay val="0"/></c:title>'
    )


def _series_xml(
    change: ReplaceSheet, chart: Chart, index: int, series: ChartSeries, looks: _Looks, epoch: dt.datetime
) -> str:
    name = ""
    if series.name is not None:
        area = _area(series.name)
        assert area is not None
        name = f"<c:tx>{_reference_xml(change, area, looks, epoch, numbers=False)}</c:tx>"
    categories, values = _area(chart.categories), _area(series.values)
    assert categories is not None and values is not None
    data = (
        f"<c:cat>{_reference_xml(change, categories, looks, epoch)}</c:cat>"
        f"<c:val>{_reference_xml(change, values, looks, epoch, numbers=True)}</c:val>"
    )
    head = f'<c:idx val="{index}"/><c:order val="{index}"/>{name}'
    if chart.type == "line":
        return f'<c:ser>{head}<c:marker><c:symbol val="circle"/></c:marker>{data}<c:smooth val="0"/></c:ser>'
    if chart.type == "pie":
        return f"<c:ser>{head}{data}</c:ser>"
    return f'<c:ser>{head}<c:invertIfNegative val="0"/>{data}</c:ser>'


_CATEGORY_AXIS, _VALUE_AXIS = 500000001, 500000002


def _axes_xml(chart: Chart, category_format: str = "General", *, from_zero: bool = False) -> str:
    """The category and value axes; the category labels show in ``category_format`` (LibreOffice
    ignores ``sourceLinked`` and would show dates as serial numbers under General). ``from_zero``
    starts the value axis at 0, as bars of counts and amounts must (LibreOffice would otherwise
    start near the smallest bar and make small differences look large)."""
    horizontal_bars = chart.type in ("bar", "stacked-bar")
    # x_title names the horizontal axis: for lying bars, the value axis
    category_title = chart.y_title if horizontal_bars else chart.x_title
    value_title = chart.x_title if horizontal_bars else chart.y_title
    category = (
        f'<c:catAx><c:axId val="{_CATEGORY_AXIS}"/><c:scaling><c:orientation val="minMax"/></c:scaling>'
        f'<c:delete val="0"/><c:axPos val="{"l" if horizontal_bars else "b"}"/>'
        + (_title_xml(category_title) if category_title else "")
        + f'<c:numFmt formatCode="{escape(category_format)}" sourceLinked="1"/><c:majorTickMark val="out"/>'
        '<c:minorTickMark val="none"/><c:tickLblPos val="nextTo"/>'
        f'<c:crossAx val="{_VALUE_AXIS}"/><c:crosses val="autoZero"/><c:auto val="1"/><c:lblAlgn val="ctr"/>'
        '<c:lblOffset val="100"/><c:noMultiLvlLbl val="0"/></c:catAx>'
    )
    value = (
        f'<c:valAx><c:axId val="{_VALUE_AXIS}"/><c:scaling><c:orientation val="minMax"/>'
        + ('<c:min val="0"/>' if from_zero else "")
        + "</c:scaling>"
        f'<c:delete val="0"/><c:axPos val="{"b" if horizontal_bars else "l"}"/><c:majorGridlines/>'
        + (_title_xml(value_title) if value_title else "")
        + '<c:numFmt formatCode="General" sourceLinked="1"/><c:majorTickMark val="out"/>'
        '<c:minorTickMark val="none"/><c:tickLblPos val="nextTo"/>'
        f'<c:crossAx val="{_CATEGORY_AXIS}"/><c:crosses val="autoZero"/><c:crossBetween val="between"/></c:valAx>'
    )
    return category + value


def _chart_xml(change: ReplaceSheet, chart: Chart, looks: _Looks, epoch: dt.datetime) -> bytes:
    series = "".join(_series_xml(change, chart, i, s, looks, epoch) for i, s in enumerate(chart.series))
    axis_ids = f'<c:axId val="{_CATEGORY_AXIS}"/><c:axId val="{_VALUE_AXIS}"/>'
    if chart.type == "pie":
        plot = f'<c:pieChart><c:varyColors val="1"/>{series}<c:firstSliceAng val="0"/></c:pieChart>'
    elif chart.type == "line":
        plot = (
            f'<c:lineChart><c:grouping val="standard"/><c:varyColors val="0"/>{series}'
            f'<c:marker val="1"/>{axis_ids}</c:lineChart>'
        )
    else:
        direction = "bar" if chart.type.endswith("bar") else "col"
        stacked = chart.type.startswith("stacked-")
        plot = (
            f'<c:barChart><c:barDir val="{direction}"/><c:grouping val="{"stacked" if stacked else "clustered"}"/>'
            f'<c:varyColors val="0"/>{series}<c:gapWidth val="150"/>'
            + ('<c:overlap val="100"/>' if stacked else "")
            + f"{axis_ids}</c:barChart>"
        )
    categories = _area(chart.categories)
    assert categories is not None
    shown = [(row, column, _cell_value(change, row, column)) for row, column in categories.cells]
    plotted = [
        _cell_value(change, row, column)
        for ser in chart.series
        for area in [_area(ser.values)]
        if area is not None
        for row, column in area.cells
    ]
    numbers = [value for value in plotted if _is_number(value) and not isinstance(value, dt.date)]
    bars = chart.type not in ("line", "pie")
    from_zero = bars and all(float(value) >= 0 for value in numbers)  # type: ignore[arg-type]
    axes = "" if chart.type == "pie" else _axes_xml(chart, _format_of(looks, shown), from_zero=from_zero)
    title = (
        _title_xml(chart.title) + '<c:autoTitleDeleted val="0"/>' if chart.title else '<c:autoTitleDeleted val="1"/>'
    )
    date1904 = '<c:date1904 val="1"/>' if epoch == _EPOCH_1904 else ""
    return (
        f'{_DECLARATION}<c:chartSpace xmlns:c="{_C_NS}" xmlns:a="{_A_NS}" xmlns:r="{_REL}">'
        f'{date1904}<c:roundedCorners val="0"/><c:chart>{title}'
        f"<c:plotArea><c:layout/>{plot}{axes}</c:plotArea>"
        '<c:legend><c:legendPos val="r"/><c:overlay val="0"/></c:legend>'
        '<c:plotVisOnly val="1"/><c:dispBlanksAs val="gap"/></c:chart></c:chartSpace>'
    ).encode()

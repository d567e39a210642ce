"""Cell notes by part edits: comments, VML boxes, relationships, content types and <legacyDrawing>.

The workbooks are real (openpyxl, xlsxwriter, LibreOffice); each test splices the parts these
functions return into a copy of the package, the way a caller does, and reads the result back.
"""

from __future__ import annotations

import io
import posixpath
import re
import shutil
import subprocess
import warnings
import zipfile
from collections.abc import Sequence
from pathlib import Path
from xml.etree import ElementTree as ET

import openpyxl
import pytest
import xlsxwriter
from conftest import tiny_png
from openpyxl.comments import Comment

from sheetcrm.sync.ooxml.notes import (
    COMMENTS_CONTENT_TYPE,
    COMMENTS_TYPE,
    VML_CONTENT_TYPE,
    VML_DRAWING_TYPE,
    NoteResult,
    NoteWrite,
    Unsupported,
    add_relationship,
    edit_comments,
    edit_vml,
    ensure_content_types,
    find_relationships,
    legacy_drawing_id,
    with_legacy_drawing,
)
from sheetcrm.sync.ooxml.strings import decode_escapes

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
WORKSHEET_TYPE = f"{R_NS}/worksheet"
SOFFICE = shutil.which("soffice")
THREAD_AUTHOR = "tc={6A1F0C52-9D6B-4E0B-8F0E-2B1C3D4E5F60}"
THREAD_TEXT = "[Threaded comment]\n\nYour version of Excel allows you to read this threaded comment."
LITERAL = "literal _x000D_ stays\ttabbed\nand on two lines"

needs_soffice = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")


# --- the caller: read the package, edit the parts, write a new package


def read_parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def write_parts(path: Path, parts: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


def resolve(source: str, target: str) -> str:
    """The part name a relationship of part ``source`` points at."""
    if target.startswith("/"):
        return target[1:]
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


def rels_name(part: str) -> str:
    folder, name = posixpath.split(part)
    return f"{folder}/_rels/{name}.rels"


def first_sheet(parts: dict[str, bytes]) -> str:
    workbook = ET.fromstring(parts["xl/workbook.xml"])
    sheet = workbook.find(f"{{{MAIN}}}sheets/{{{MAIN}}}sheet")
    assert sheet is not None
    rel_id = sheet.get(f"{{{R_NS}}}id")
    targets = dict(find_relationships(parts["xl/_rels/workbook.xml.rels"], WORKSHEET_TYPE))
    return resolve("xl/workbook.xml", targets[rel_id or ""])


def unused(parts: dict[str, bytes], pattern: str) -> str:
    number = 1
    while pattern.format(number).lower() in {name.lower() for name in parts}:
        number += 1
    return pattern.format(number)


def apply_notes(source: Path, target: Path, writes: Sequence[NoteWrite]) -> list[NoteResult]:
    """Write notes into the first sheet of ``source`` as the lossless writer would, into ``target``."""
    parts = read_parts(source)
    sheet = first_sheet(parts)
    rels_part = rels_name(sheet)
    rels = parts.get(rels_part)
    head, end, tail = parts[sheet].partition(b"</sheetData>")
    assert end, "the sheet has a <sheetData> element with rows"
    content_types = parts["[Content_Types].xml"]

    found = find_relationships(rels, COMMENTS_TYPE)
    comments_part = resolve(sheet, found[0][1]) if found else None
    new_comments, results = edit_comments(parts[comments_part] if comments_part else None, writes)
    before: dict[tuple[int, int], str | None] = {}
    after: dict[tuple[int, int], str | None] = {}
    for result in results:
        before.setdefault((result.row, result.column), result.old)
        after[result.row, result.column] = result.text
    added = {cell for cell, text in after.items() if text is not None and before[cell] is None}
    removed = {cell for cell, text in after.items() if text is None and before[cell] is not None}

    if comments_part is None:
        comments_part = unused(parts, "xl/comments{}.xml")
        rels, _ = add_relationship(rels, COMMENTS_TYPE, posixpath.relpath(comments_part, posixpath.dirname(sheet)))
        content_types = ensure_content_types(content_types, overrides={f"/{comments_part}": COMMENTS_CONTENT_TYPE})
    parts[comments_part] = new_comments

    vml_id = legacy_drawing_id(tail)
    if vml_id is not None:
        vml_part = resolve(sheet, dict(find_relationships(rels, VML_DRAWING_TYPE))[vml_id])
    else:
        vml_part = unused(parts, "xl/drawings/vmlDrawing{}.vml")
        rels, vml_id = add_relationship(rels, VML_DRAWING_TYPE, posixpath.relpath(vml_part, posixpath.dirname(sheet)))
        tail = with_legacy_drawing(tail, vml_id)
        content_types = ensure_content_types(content_types, defaults={"vml": VML_CONTENT_TYPE})
    parts[vml_part] = edit_vml(parts.get(vml_part), added, removed)

    assert rels is not None
    parts[sheet] = head + end + tail
    parts[rels_part] = rels
    parts["[Content_Types].xml"] = content_types
    write_parts(target, parts)
    return results


def notes_of(path: Path) -> dict[str, tuple[str, str]]:
    """``{cell: (text, author)}`` of the first sheet's notes, as openpyxl reads them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns on parts it does not model (images without Pillow…)
        book = openpyxl.load_workbook(path)
    sheet = book.worksheets[0]
    return {
        cell.coordinate: (cell.comment.text, cell.comment.author)
        for row in sheet.iter_rows()
        for cell in row
        if cell.comment is not None
    }


def part_of(path: Path, kind: str) -> bytes:
    """The first sheet's comments (``kind=COMMENTS_TYPE``) or VML part, found through the package's wiring."""
    parts = read_parts(path)
    sheet = first_sheet(parts)
    ((_, target),) = find_relationships(parts.get(rels_name(sheet)), kind)
    return parts[resolve(sheet, target)]


def comment_xml(part: bytes, ref: str) -> bytes:
    match = re.search(rb'<comment ref="' + ref.encode() + rb'".*?</comment>', part, re.S)
    assert match is not None, ref
    return match.group(0)


def note_boxes(vml: bytes) -> list[tuple[int, int]]:
    """The 1-based (row, column) of each note box in a drawing, whatever its prefixes."""
    cells = []
    for shape in re.findall(rb"<\w+:shape\b[^>]*>.*?</\w+:shape>", vml, re.S):
        if b'ObjectType="Note"' in shape:
            row = re.search(rb"<\w+:Row>(\d+)</\w+:Row>", shape)
            column = re.search(rb"<\w+:Column>(\d+)</\w+:Column>", shape)
            assert row is not None and column is not None
            cells.append((int(row.group(1)) + 1, int(column.group(1)) + 1))
    return cells


def libreoffice(source: Path, folder: Path) -> Path:
    """``source`` opened and saved again as .xlsx by LibreOffice."""
    assert SOFFICE is not None
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            SOFFICE,
            f"-env:UserInstallation=file://{folder.parent / 'lo-profile'}",
            "--headless",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(folder),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    converted = folder / source.name
    assert converted.exists()
    return converted


# --- workbooks


def openpyxl_with_notes(path: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "People"
    for row in range(1, 21):
        sheet.cell(row, 1, f"row {row}")
    sheet["B2"].comment = Comment("Call her back", "Alice")
    sheet["C3"].comment = Comment("old ours", "sheetcrm")
    sheet["D4"].comment = Comment(THREAD_TEXT, THREAD_AUTHOR)
    sheet["E5"].comment = Comment("remove me", "Bob")
    sheet["F6"].comment = Comment("ours to remove", "sheetcrm")
    book.save(path)
    return path


def openpyxl_without_notes(path: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["name", "phone"])
    sheet.append(["Zhang Wei", "138 0013 8000"])
    book.save(path)
    return path


def xlsxwriter_book(path: Path, *, notes: bool, extras: bool = False) -> Path:
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("People")
    for row in range(10):
        sheet.write(row, 0, f"row {row + 1}")
        sheet.write(row, 1, row)
    if notes:
        sheet.write_comment("B2", "Call her back", {"author": "Alice"})
        sheet.write_comment("C3", "old ours", {"author": "sheetcrm"})
    if extras:  # elements on both sides of <legacyDrawing> in the sheet's tail
        sheet.merge_range("D1:E1", "merged")
        sheet.conditional_format("B1:B10", {"type": "data_bar", "data_bar_2010": True})
        sheet.insert_image("G2", "dot.png", {"image_data": io.BytesIO(tiny_png())})
        sheet.add_table("I1:J3", {"columns": [{"header": "k"}, {"header": "v"}]})
    book.close()
    return path


# --- round trips through real packages

OPENPYXL_WRITES = [
    NoteWrite(1, 1, "new first"),
    NoteWrite(2, 2, "mine now", ours_only=True),
    NoteWrite(3, 3, "new ours", ours_only=True),
    NoteWrite(4, 4, "overwrite the thread"),
    NoteWrite(4, 4, None),
    NoteWrite(5, 5, None),
    NoteWrite(6, 6, None, ours_only=True),
    NoteWrite(8, 8, LITERAL),
    NoteWrite(20, 30, "far away"),
]


def test_openpyxl_notes_added_replaced_removed_and_kept(tmp_path: Path) -> None:
    source = openpyxl_with_notes(tmp_path / "source.xlsx")
    target = tmp_path / "target.xlsx"

    results = apply_notes(source, target, OPENPYXL_WRITES)

    assert results == [
        NoteResult(1, 1, None, "new first"),
        NoteResult(2, 2, "Call her back", "Call her back"),
        NoteResult(3, 3, "old ours", "new ours"),
        NoteResult(4, 4, THREAD_TEXT, THREAD_TEXT),
        NoteResult(4, 4, THREAD_TEXT, THREAD_TEXT),
        NoteResult(5, 5, "remove me", None),
        NoteResult(6, 6, "ours to remove", None),
        NoteResult(8, 8, None, LITERAL),
        NoteResult(20, 30, None, "far away"),
    ]
    notes = notes_of(target)
    assert {cell: (decode_escapes(text), author) for cell, (text, author) in notes.items()} == {
        "A1": ("new first", "sheetcrm"),
        "B2": ("Call her back", "Alice"),
        "C3": ("new ours", "sheetcrm"),
        "D4": (THREAD_TEXT, THREAD_AUTHOR),
        "H8": (LITERAL, "sheetcrm"),
        "AD20": ("far away", "sheetcrm"),
    }


def test_untouched_comments_keep_their_bytes_and_order_is_excels(tmp_path: Path) -> None:
    source = openpyxl_with_notes(tmp_path / "source.xlsx")
    target = tmp_path / "target.xlsx"
    apply_notes(source, target, OPENPYXL_WRITES)

    old, new = part_of(source, COMMENTS_TYPE), part_of(target, COMMENTS_TYPE)
    assert comment_xml(old, "B2") in new  # the person's note
    assert comment_xml(old, "D4") in new  # the threaded comment's stand-in
    assert re.findall(rb'<comment ref="(\w+)"', new) == [b"A1", b"B2", b"C3", b"D4", b"H8", b"AD20"]
    assert new.count(b"<author>sheetcrm</author>") == 1
    # sheetcrm was among the authors already: everything before the comments is as it was
    assert new.startswith(old[: old.index(b"<commentList>")])


def test_vml_boxes_follow_the_notes(tmp_path: Path) -> None:
    source = openpyxl_with_notes(tmp_path / "source.xlsx")
    target = tmp_path / "target.xlsx"
    apply_notes(source, target, OPENPYXL_WRITES)

    old_vml, vml = part_of(source, VML_DRAWING_TYPE), part_of(target, VML_DRAWING_TYPE)
    assert sorted(note_boxes(vml)) == [(1, 1), (2, 2), (3, 3), (4, 4), (8, 8), (20, 30)]
    # openpyxl's drawing names its namespaces ns0/ns1/ns2: the new boxes use those prefixes
    assert b"<ns1:shape " in vml[len(old_vml) - 200 :]
    ids = re.findall(rb'id="(_x0000_s\d+)"', vml)
    assert len(ids) == len(set(ids)) == 6
    old_shapes = re.findall(rb"<ns1:shape\b.*?</ns1:shape>", old_vml, re.S)
    kept = [
        shape for shape in old_shapes if b"<ns2:Row>4</ns2:Row>" not in shape and b"<ns2:Row>5</ns2:Row>" not in shape
    ]
    assert len(kept) == 3 and all(shape in vml for shape in kept)
    # the untouched parts come back byte for byte
    assert read_parts(source)["xl/worksheets/sheet1.xml"] == read_parts(target)["xl/worksheets/sheet1.xml"]


def test_xlsxwriter_rich_text_notes(tmp_path: Path) -> None:
    source = xlsxwriter_book(tmp_path / "source.xlsx", notes=True)
    target = tmp_path / "target.xlsx"

    results = apply_notes(
        source,
        target,
        [NoteWrite(3, 3, "new ours", ours_only=True), NoteWrite(1, 1, "first"), NoteWrite(2, 2, None)],
    )

    # xlsxwriter writes each note as a formatted run: its text is read through the run
    assert [result.old for result in results] == ["old ours", None, "Call her back"]
    assert notes_of(target) == {"A1": ("first", "sheetcrm"), "C3": ("new ours", "sheetcrm")}
    vml = part_of(target, VML_DRAWING_TYPE)
    assert sorted(note_boxes(vml)) == [(1, 1), (3, 3)]
    assert b'id="_x0000_s1027"' in vml  # above xlsxwriter's 1025 and 1026


def test_notes_into_a_workbook_without_any(tmp_path: Path) -> None:
    source = openpyxl_without_notes(tmp_path / "source.xlsx")
    assert rels_name(first_sheet(read_parts(source))) not in read_parts(source)  # no sheet rels at all
    target = tmp_path / "target.xlsx"

    apply_notes(source, target, [NoteWrite(2, 2, "first note"), NoteWrite(1, 1, "header note")])

    assert notes_of(target) == {"A1": ("header note", "sheetcrm"), "B2": ("first note", "sheetcrm")}
    parts = read_parts(target)
    assert b'<Override PartName="/xl/comments1.xml"' in parts["[Content_Types].xml"]
    assert b'Extension="vml"' in parts["[Content_Types].xml"]
    assert sorted(note_boxes(parts["xl/drawings/vmlDrawing1.vml"])) == [(1, 1), (2, 2)]


def test_legacy_drawing_placed_among_drawing_and_table(tmp_path: Path) -> None:
    source = xlsxwriter_book(tmp_path / "source.xlsx", notes=False, extras=True)
    target = tmp_path / "target.xlsx"

    apply_notes(source, target, [NoteWrite(5, 2, "between the image and the table")])

    sheet = read_parts(target)["xl/worksheets/sheet1.xml"].decode()
    tail = sheet[sheet.index("</sheetData>") :]
    # xlsxwriter's tail: mergeCells, conditionalFormatting (with an extLst of its own), pageMargins,
    # drawing, tableParts, and the sheet's extLst (the data bar's x14 rule)
    assert re.search(r'<drawing r:id="rId\d+"/><legacyDrawing [^>]*/><tableParts ', tail)
    assert tail.index("<mergeCells") < tail.index("</conditionalFormatting>") < tail.index("<legacyDrawing")
    assert tail.index("<legacyDrawing") < tail.rindex("<extLst>")
    assert notes_of(target) == {"B5": ("between the image and the table", "sheetcrm")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        book = openpyxl.load_workbook(target)
    assert list(book.worksheets[0].tables) == ["Table1"]


@pytest.mark.slow
@needs_soffice
def test_libreoffice_reads_the_spliced_notes(tmp_path: Path) -> None:
    source = openpyxl_with_notes(tmp_path / "source.xlsx")
    target = tmp_path / "target.xlsx"
    apply_notes(source, target, OPENPYXL_WRITES)

    saved = libreoffice(target, tmp_path / "lo")

    notes = {cell: decode_escapes(text) for cell, (text, _) in notes_of(saved).items()}
    assert notes == {
        "A1": "new first",
        "B2": "Call her back",
        "C3": "new ours",
        "D4": THREAD_TEXT,
        "H8": LITERAL,
        "AD20": "far away",
    }


@pytest.mark.slow
@needs_soffice
def test_notes_in_a_libreoffice_workbook(tmp_path: Path) -> None:
    made = libreoffice(openpyxl_with_notes(tmp_path / "source.xlsx"), tmp_path / "lo")
    target = tmp_path / "target.xlsx"

    results = apply_notes(made, target, [NoteWrite(1, 1, "new first"), NoteWrite(3, 3, "new"), NoteWrite(5, 5, None)])

    assert [result.old for result in results] == [None, "old ours", "remove me"]
    # LibreOffice's drawing names every box "shape_0": new ones still get unique _x0000_s ids
    assert sorted(note_boxes(part_of(target, VML_DRAWING_TYPE))) == [(1, 1), (2, 2), (3, 3), (4, 4), (6, 6)]
    expected = {"A1": "new first", "B2": "Call her back", "C3": "new", "D4": THREAD_TEXT, "F6": "ours to remove"}
    assert {cell: text for cell, (text, _) in notes_of(target).items()} == expected
    again = libreoffice(target, tmp_path / "again")
    assert {cell: text for cell, (text, _) in notes_of(again).items()} == expected


@pytest.mark.slow
@needs_soffice
def test_libreoffice_reads_notes_added_next_to_a_table(tmp_path: Path) -> None:
    source = xlsxwriter_book(tmp_path / "source.xlsx", notes=False, extras=True)
    target = tmp_path / "target.xlsx"
    apply_notes(source, target, [NoteWrite(5, 2, "a note"), NoteWrite(1, 1, "another")])

    saved = libreoffice(target, tmp_path / "lo")

    assert {cell: text for cell, (text, _) in notes_of(saved).items()} == {"A1": "another", "B5": "a note"}


# --- edit_comments on its own

EXCEL_COMMENTS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
    b'<comments xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    b'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" mc:Ignorable="xr" '
    b'xmlns:xr="http://schemas.microsoft.com/office/spreadsheetml/2014/revision">'
    b"<authors><author>Jane Doe</author></authors><commentList>"
    b'<comment ref="C2" authorId="0" shapeId="0" xr:uid="{11111111-2222-3333-4444-555555555555}"><text>'
    b'<r><rPr><b/><sz val="9"/><rFont val="Tahoma"/></rPr><t>Jane Doe:</t></r>'
    b'<r><rPr><sz val="9"/><rFont val="Tahoma"/></rPr><t xml:space="preserve">\nline_x000D_two</t></r>'
    b'<rPh sb="0" eb="1"><t>\xe3\x81\x8b</t></rPh></text></comment>'
    b'<comment ref="A5" authorId="0"><text><t>plain</t></text>'
    b'<commentPr locked="0"><anchor><from><xdr:col xmlns:xdr="urn:x">1</xdr:col></from></anchor></commentPr></comment>'
    b"</commentList></comments>"
)


def test_old_text_joins_runs_skips_phonetics_and_decodes_escapes() -> None:
    _, results = edit_comments(
        EXCEL_COMMENTS, [NoteWrite(2, 3, None, ours_only=True), NoteWrite(5, 1, None, ours_only=True)]
    )
    assert results == [
        NoteResult(2, 3, "Jane Doe:\nline\rtwo", "Jane Doe:\nline\rtwo"),
        NoteResult(5, 1, "plain", "plain"),
    ]


def test_nothing_changed_returns_the_same_bytes() -> None:
    part, _ = edit_comments(EXCEL_COMMENTS, [NoteWrite(2, 3, "x", ours_only=True), NoteWrite(9, 9, None)])
    assert part is EXCEL_COMMENTS


def test_replacing_keeps_the_comments_own_attributes_and_properties() -> None:
    part, _ = edit_comments(EXCEL_COMMENTS, [NoteWrite(5, 1, "new\r\ntext")])
    assert part.startswith(EXCEL_COMMENTS[: EXCEL_COMMENTS.index(b"</authors>")])
    assert b"<author>Jane Doe</author><author>sheetcrm</author></authors>" in part
    assert comment_xml(EXCEL_COMMENTS, "C2") in part
    replaced = comment_xml(part, "A5")
    assert replaced.startswith(b'<comment ref="A5" authorId="1"><text><r><t xml:space="preserve">new_x000D_\ntext</t>')
    assert replaced.endswith(
        b'<commentPr locked="0"><anchor><from><xdr:col xmlns:xdr="urn:x">1</xdr:col></from></anchor></commentPr></comment>'
    )
    _, again = edit_comments(part, [NoteWrite(5, 1, None, ours_only=True)])
    assert again == [NoteResult(5, 1, "new\r\ntext", None)]


def test_a_new_part_adds_the_author_once() -> None:
    part, results = edit_comments(None, [NoteWrite(3, 1, "b"), NoteWrite(1, 2, "a"), NoteWrite(3, 1, "c")])
    assert [result.old for result in results] == [None, None, "b"]
    root = ET.fromstring(part)
    assert [author.text for author in root.iter(f"{{{MAIN}}}author")] == ["sheetcrm"]
    assert [comment.get("ref") for comment in root.iter(f"{{{MAIN}}}comment")] == ["B1", "A3"]
    part2, _ = edit_comments(part, [NoteWrite(2, 1, "between")])
    assert part2.count(b"<author>") == 1
    assert re.findall(rb'ref="(\w+)"', part2) == [b"B1", b"A2", b"A3"]


def test_empty_new_part_and_last_note_removed() -> None:
    empty, results = edit_comments(None, [NoteWrite(1, 1, None)])
    assert results == [NoteResult(1, 1, None, None)]
    assert ET.fromstring(empty).find(f"{{{MAIN}}}commentList") is not None
    part, _ = edit_comments(None, [NoteWrite(1, 1, "x")])
    emptied, _ = edit_comments(part, [NoteWrite(1, 1, None)])
    assert b"<comment " not in emptied and b"<commentList></commentList>" in emptied


def test_prefixed_comments_are_unsupported() -> None:
    prefixed = (
        b'<x:comments xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<x:authors><x:author>A</x:author></x:authors><x:commentList><x:comment ref="A1" authorId="0">'
        b"<x:text><x:t>hi</x:t></x:text></x:comment></x:commentList></x:comments>"
    )
    with pytest.raises(Unsupported):
        edit_comments(prefixed, [NoteWrite(2, 2, "x")])


def test_malformed_or_dtd_parts_are_refused() -> None:
    with pytest.raises(ValueError, match="well-formed"):
        edit_comments(b"<comments", [])
    with pytest.raises(ValueError):
        edit_comments(b'<!DOCTYPE x [<!ENTITY a "b">]>' + EXCEL_COMMENTS.split(b"\r\n", 1)[1], [])


# --- edit_vml on its own

FORM_CONTROLS_VML = (
    b'<xml xmlns:v="urn:schemas-microsoft-com:vml"\r\n xmlns:o="urn:schemas-microsoft-com:office:office"\r\n'
    b' xmlns:x="urn:schemas-microsoft-com:office:excel">\r\n'
    b' <o:shapelayout v:ext="edit">\r\n  <o:idmap v:ext="edit" data="1"/>\r\n </o:shapelayout>'
    b'<v:shapetype id="_x0000_t201" coordsize="21600,21600" o:spt="201" path="m,l,21600r21600,l21600,xe">\r\n'
    b' </v:shapetype><v:shape id="Check_x0020_Box_x0020_1" o:spid="_x0000_s1030" type="#_x0000_t201"'
    b" style='position:absolute;z-index:4'>\r\n"
    b"  <v:textbox style='mso-direction-alt:auto' o:singleclick=\"f\">\r\n"
    b'   <div style=\'text-align:left\'><font face="Tahoma" size="160">Check<br>Box 1</font></div>\r\n'
    b'  </v:textbox>\r\n  <x:ClientData ObjectType="Checkbox">\r\n   <x:Row>1</x:Row>\r\n   <x:Column>1</x:Column>\r\n'
    b"  </x:ClientData>\r\n </v:shape></xml>"
)


def test_vml_keeps_form_controls_and_adds_the_note_shapetype() -> None:
    vml = edit_vml(FORM_CONTROLS_VML, added=[(2, 2)], removed=[(2, 2 + 1)])
    # the checkbox on B2 is no note: it stays, its unclosed <br> and all
    assert vml.startswith(FORM_CONTROLS_VML[: FORM_CONTROLS_VML.rindex(b"</xml>")])
    added = vml[len(FORM_CONTROLS_VML) - len(b"</xml>") :]
    assert added.startswith(b'<v:shapetype id="_x0000_t202"')
    assert b'<v:shape id="_x0000_s1031" type="#_x0000_t202"' in added  # above the checkbox's o:spid
    assert b"<x:Row>1</x:Row><x:Column>1</x:Column>" in added
    assert b"z-index:5" in added
    assert note_boxes(vml) == [(2, 2)]


def test_vml_unchanged_is_the_same_bytes_and_removal_is_exact() -> None:
    vml = edit_vml(None, added=[(1, 1), (2, 2)], removed=[])
    assert edit_vml(vml, added=[(1, 1)], removed=[(5, 5)]) is vml
    ET.fromstring(vml)  # a new drawing is XML
    assert vml.count(b'<v:shapetype id="_x0000_t202"') == 1
    assert re.findall(rb'id="(_x0000_s\d+)"', vml) == [b"_x0000_s1025", b"_x0000_s1026"]
    without = edit_vml(vml, added=[], removed=[(1, 1)])
    first = re.search(rb"<v:shape .*?</v:shape>", vml, re.S)
    assert first is not None and without == vml.replace(first.group(0), b"")
    with pytest.raises(ValueError):
        edit_vml(vml, added=[(1, 1)], removed=[(1, 1)])


def test_vml_declares_missing_prefixes() -> None:
    bare = b'<xml xmlns:v="urn:schemas-microsoft-com:vml"></xml>'
    vml = edit_vml(bare, added=[(3, 4)], removed=[])
    root = ET.fromstring(vml)
    assert vml.startswith(
        b'<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office"'
    )
    rows = root.findall(".//{urn:schemas-microsoft-com:office:excel}Row")
    assert [row.text for row in rows] == ["2"]


# --- relationships, content types, <legacyDrawing>

TAIL = (
    b'<mergeCells count="1"><mergeCell ref="D1:E1"/></mergeCells>'
    b'<conditionalFormatting sqref="B1:B10"><cfRule type="dataBar" priority="1"><dataBar><cfvo type="min"/>'
    b'<cfvo type="max"/><color rgb="FF638EC6"/></dataBar><extLst><ext uri="{B025F937-C7B1-47D3-B67F-A62EFF666E3E}">'
    b"<x14:id>{00000000-0001}</x14:id></ext></extLst></cfRule></conditionalFormatting>"
    b'<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
    b'<drawing r:id="rId1"/><tableParts count="1"><tablePart r:id="rId2"/></tableParts>'
    b'<extLst><ext uri="{78C0D931-6437-407d-A8EE-F0AAD7539E65}"/></extLst></worksheet>'
)
LEGACY = b'<legacyDrawing xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" r:id="rId3"/>'


def test_legacy_drawing_goes_after_drawing_and_before_table_parts() -> None:
    placed = with_legacy_drawing(TAIL, "rId3")
    assert placed == TAIL.replace(b"<tableParts ", LEGACY + b"<tableParts ")
    assert legacy_drawing_id(placed) == "rId3"
    assert with_legacy_drawing(placed, "rId3") == placed
    with pytest.raises(ValueError):
        with_legacy_drawing(placed, "rId4")


@pytest.mark.parametrize(
    ("tail", "expected"),
    [
        (b"</worksheet>", LEGACY + b"</worksheet>"),
        (b'<pageMargins left="1"/>\n</worksheet>\n', b'<pageMargins left="1"/>\n' + LEGACY + b"</worksheet>\n"),
        (  # a nested extLst is no sign of the sheet's own
            b'<conditionalFormatting sqref="A1"><cfRule type="x"><extLst/></cfRule></conditionalFormatting></worksheet>',
            b'<conditionalFormatting sqref="A1"><cfRule type="x"><extLst/></cfRule></conditionalFormatting>'
            + LEGACY
            + b"</worksheet>",
        ),
        (b"<legacyDrawingHF r:id='rId1'/></worksheet>", LEGACY + b"<legacyDrawingHF r:id='rId1'/></worksheet>"),
        (
            b'<pageSetup orientation="portrait"/><mc:AlternateContent xmlns:mc="urn:mc"><mc:Choice Requires="x14">'
            b"<controls/></mc:Choice></mc:AlternateContent></worksheet>",
            b'<pageSetup orientation="portrait"/>'
            + LEGACY
            + b'<mc:AlternateContent xmlns:mc="urn:mc"><mc:Choice Requires="x14">'
            b"<controls/></mc:Choice></mc:AlternateContent></worksheet>",
        ),
        (
            b"<!-- <tableParts/> --><drawing r:id='rId1'/></worksheet>",
            b"<!-- <tableParts/> --><drawing r:id='rId1'/>" + LEGACY + b"</worksheet>",
        ),
    ],
)
def test_legacy_drawing_placement(tail: bytes, expected: bytes) -> None:
    assert with_legacy_drawing(tail, "rId3") == expected


def test_legacy_drawing_in_an_unknown_or_prefixed_tail_is_unsupported() -> None:
    with pytest.raises(Unsupported):
        with_legacy_drawing(b"<x:pageMargins/></x:worksheet>", "rId1")
    with pytest.raises(Unsupported):
        with_legacy_drawing(b"<somethingNew/></worksheet>", "rId1")


def test_legacy_drawing_id_reads_any_prefix() -> None:
    assert (
        legacy_drawing_id(b'<legacyDrawing xmlns:rel="' + R_NS.encode() + b"\" rel:id='rId9'/></worksheet>") == "rId9"
    )
    assert legacy_drawing_id(TAIL) is None
    assert legacy_drawing_id(b"<extLst><legacyDrawing r:id='rId9'/></extLst></worksheet>") is None


def test_relationship_ids_are_unused() -> None:
    rels = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        b'<Relationship Id="rId1" Type="t/a" Target="a.xml"/><Relationship Id="comments" Type="t/b" Target="/b.xml"/>'
        b'<Relationship Id="rId3" Type="t/b" Target="c.xml"/>\n</Relationships>'
    )
    added, rel_id = add_relationship(rels, COMMENTS_TYPE, "../comments1.xml")
    assert rel_id == "rId4"
    assert added == rels.replace(
        b'c.xml"/>',
        b'c.xml"/><Relationship Id="rId4" Type="' + COMMENTS_TYPE.encode() + b'" Target="../comments1.xml"/>',
    )
    assert find_relationships(added, "t/b") == [("comments", "/b.xml"), ("rId3", "c.xml")]
    assert find_relationships(added, COMMENTS_TYPE) == [("rId4", "../comments1.xml")]
    created, first = add_relationship(None, VML_DRAWING_TYPE, "../drawings/vmlDrawing1.vml")
    assert first == "rId1"
    assert find_relationships(created, VML_DRAWING_TYPE) == [("rId1", "../drawings/vmlDrawing1.vml")]
    empty = b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>'
    grown, _ = add_relationship(empty, "t", "x&y.xml")
    assert find_relationships(grown, "t") == [("rId1", "x&y.xml")]


def test_content_types_are_added_once() -> None:
    types = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        b'<Default Extension="xml" ContentType="application/xml"/>'
        b'<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        b"</Types>"
    )
    wanted = {"overrides": {"/xl/comments1.xml": COMMENTS_CONTENT_TYPE}, "defaults": {"vml": VML_CONTENT_TYPE}}
    once = ensure_content_types(types, **wanted)
    assert ensure_content_types(once, **wanted) is once
    assert (
        ensure_content_types(
            once, overrides={"/XL/Comments1.XML": COMMENTS_CONTENT_TYPE}, defaults={"VML": VML_CONTENT_TYPE}
        )
        is once
    )
    assert once == types.replace(
        b'application/xml"/>',
        b'application/xml"/><Default Extension="vml" ContentType="' + VML_CONTENT_TYPE.encode() + b'"/>',
    ).replace(
        b"</Types>",
        b'<Override PartName="/xl/comments1.xml" ContentType="' + COMMENTS_CONTENT_TYPE.encode() + b'"/></Types>',
    )
    with pytest.raises(ValueError):
        ensure_content_types(once, defaults={"xml": "text/plain"})

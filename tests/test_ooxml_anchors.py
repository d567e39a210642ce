"""Notes, threaded comments and drawing anchors moved as rows are deleted or inserted.

Real workbooks come from xlsxwriter; the shifted parts go back into a copy of the package,
which openpyxl and LibreOffice then read: the notes must sit on the moved cells and the
pictures and charts on the moved rows.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import warnings
import zipfile
from collections.abc import Iterable
from pathlib import Path
from xml.etree import ElementTree as ET

import openpyxl
import pytest
import xlsxwriter
from conftest import tiny_png

from sheetcrm.sync.a1 import MAX_ROWS
from sheetcrm.sync.ooxml.anchors import (
    CannotShift,
    NewRow,
    shift_comments,
    shift_drawing,
    shift_threaded_comments,
    shift_vml,
)

SOFFICE = shutil.which("soffice")
needs_soffice = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
XDR = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"
THREADED = "http://schemas.microsoft.com/office/spreadsheetml/2018/threadedcomments"
COMMENTS = "xl/comments1.xml"
VML = "xl/drawings/vmlDrawing1.vml"
DRAWING = "xl/drawings/drawing1.xml"


def deleting(*rows: int) -> NewRow:
    gone = sorted(rows)
    return lambda row: None if row in gone else row - sum(1 for deleted in gone if deleted < row)


def inserting(at: int, count: int) -> NewRow:
    """``count`` new rows in front of old row ``at``: it and every row below move down."""
    return lambda row: row + count if row >= at else row


DELETE = deleting(5, 9, 10)
INSERT = inserting(4, 2)


# --- packages


def read_parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def write_parts(path: Path, parts: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


NOTES = ["B2", "E5", "C8", "D14", "A30"]


def xlsxwriter_book(path: Path) -> Path:
    """Notes, a button, three pictures (one of each positioning) and a chart on one sheet."""
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("People")
    for row in range(30):
        sheet.write(row, 0, f"row {row + 1}")
        sheet.write(row, 1, row)
    for cell in NOTES:
        sheet.write_comment(cell, f"note on {cell}", {"author": "Alice"})
    for cell, position in (("G3", 1), ("G10", 2), ("G20", 3)):  # move+size, move, neither
        image = {"image_data": io.BytesIO(tiny_png()), "x_scale": 40, "y_scale": 40, "object_position": position}
        sheet.insert_image(cell, f"{cell}.png", image)
    sheet.insert_button("C12", {"caption": "Press", "macro": "go"})
    chart = book.add_chart({"type": "line"})
    assert chart is not None
    chart.add_series({"values": "=People!$B$1:$B$10"})
    sheet.insert_chart("I4", chart)
    book.close()
    return path


def shifted_copy(source: Path, target: Path, new_row: NewRow) -> Path:
    """``source`` with its notes, VML and drawing moved, as the writer will do it."""
    parts = read_parts(source)
    parts[COMMENTS] = shift_comments(parts[COMMENTS], new_row)
    parts[VML] = shift_vml(parts[VML], new_row)
    parts[DRAWING] = shift_drawing(parts[DRAWING], new_row)
    return write_parts(target, parts)


def notes_of(path: Path) -> dict[str, str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns on parts it does not model (images without Pillow…)
        book = openpyxl.load_workbook(path)
    sheet = book.worksheets[0]
    return {cell.coordinate: cell.comment.text for row in sheet.iter_rows() for cell in row if cell.comment}


def anchors_of(drawing: bytes) -> dict[str, list[tuple[int, int]]]:
    """``{object name: [(row, rowOff) of from, of to]}`` of a drawing part, rows 0-based."""
    root = ET.fromstring(drawing)
    found = {}
    for anchor in root:
        name = next(element.get("name") for element in anchor.iter() if element.tag.endswith("}cNvPr"))
        corners = [anchor.find(f"{{{XDR}}}{corner}") for corner in ("from", "to")]
        found[str(name)] = [
            (int(corner.findtext(f"{{{XDR}}}row", "")), int(corner.findtext(f"{{{XDR}}}rowOff", "")))
            for corner in corners
            if corner is not None
        ]
    return found


def note_boxes(vml: bytes) -> dict[int, list[int]]:
    """``{0-based x:Row: anchor}`` of the note boxes of a drawing."""
    boxes = {}
    for shape in re.findall(rb"<v:shape\b.*?</v:shape>", vml, re.S):
        if b'ObjectType="Note"' in shape:
            row = re.search(rb"<x:Row>(\d+)</x:Row>", shape)
            anchor = re.search(rb"<x:Anchor>(.*?)</x:Anchor>", shape, re.S)
            assert row is not None and anchor is not None
            boxes[int(row.group(1))] = [int(n) for n in anchor.group(1).split(b",")]
    return boxes


def control_anchors(vml: bytes) -> list[list[int]]:
    found = []
    for shape in re.findall(rb"<v:shape\b.*?</v:shape>", vml, re.S):
        if b"ObjectType=" in shape and b'ObjectType="Note"' not in shape:
            anchor = re.search(rb"<x:Anchor>(.*?)</x:Anchor>", shape, re.S)
            assert anchor is not None
            found.append([int(n) for n in anchor.group(1).split(b",")])
    return found


def libreoffice(sources: Iterable[Path], folder: Path) -> list[Path]:
    """Each of ``sources`` opened and saved again as .xlsx by LibreOffice, in one run."""
    assert SOFFICE is not None
    sources = list(sources)
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
            *map(str, sources),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    converted = [folder / source.name for source in sources]
    assert all(path.exists() for path in converted)
    return converted


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("anchors")
    original = xlsxwriter_book(folder / "original.xlsx")
    return {
        "original": original,
        "deleted": shifted_copy(original, folder / "deleted.xlsx", DELETE),
        "inserted": shifted_copy(original, folder / "inserted.xlsx", INSERT),
    }


@pytest.fixture(scope="module")
def resaved(books: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The books as LibreOffice saves them again: where it put the notes and the pictures."""
    if SOFFICE is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    converted = libreoffice(books.values(), tmp_path_factory.mktemp("libreoffice") / "out")
    return dict(zip(books, converted, strict=True))


# --- round trips through real packages

# rows 5, 9 and 10 deleted: 6-8 move up one, 11 and below three
DELETED_NOTES = {"B2": "note on B2", "C7": "note on C8", "D11": "note on D14", "A27": "note on A30"}
INSERTED_NOTES = {
    "B2": "note on B2",
    "E7": "note on E5",
    "C10": "note on C8",
    "D16": "note on D14",
    "A32": "note on A30",
}


def test_notes_move_with_their_cells_and_go_with_their_rows(books: dict[str, Path]) -> None:
    assert notes_of(books["original"]) == {cell: f"note on {cell}" for cell in NOTES}
    assert notes_of(books["deleted"]) == DELETED_NOTES
    assert notes_of(books["inserted"]) == INSERTED_NOTES
    comments = read_parts(books["deleted"])[COMMENTS]
    assert b"<authors><author>Alice</author></authors>" in comments
    assert re.findall(rb'ref="(\w+)"', comments) == [b"B2", b"C7", b"D11", b"A27"]


def test_note_boxes_and_the_button_move_in_the_vml(books: dict[str, Path]) -> None:
    before = read_parts(books["original"])[VML]
    after = read_parts(books["deleted"])[VML]
    assert note_boxes(before) == {
        1: [2, 15, 0, 10, 4, 15, 4, 4],
        4: [5, 15, 3, 10, 7, 15, 7, 4],
        7: [3, 15, 6, 10, 5, 15, 10, 4],
        13: [4, 15, 12, 10, 6, 15, 16, 4],
        29: [1, 15, 28, 10, 3, 15, 32, 4],
    }
    # each box keeps its size and its place next to its cell
    assert note_boxes(after) == {
        1: [2, 15, 0, 10, 4, 15, 4, 4],
        6: [3, 15, 5, 10, 5, 15, 9, 4],
        10: [4, 15, 9, 10, 6, 15, 13, 4],
        26: [1, 15, 25, 10, 3, 15, 29, 4],
    }
    assert control_anchors(before) == [[2, 0, 11, 0, 3, 0, 12, 0]]
    assert control_anchors(after) == [[2, 0, 8, 0, 3, 0, 9, 0]]
    assert control_anchors(read_parts(books["inserted"])[VML]) == [[2, 0, 13, 0, 3, 0, 14, 0]]
    # nothing but the numbers changed
    assert re.sub(rb"\d+", b"", after) == re.sub(
        rb"\d+", b"", re.sub(rb"<v:shape [^>]*z-index:2;.*?</v:shape>", b"", before, flags=re.S)
    )


def test_pictures_and_charts_move_by_their_positioning(books: dict[str, Path]) -> None:
    assert anchors_of(read_parts(books["original"])[DRAWING]) == {
        "Picture 1": [(2, 0), (4, 0)],
        "Picture 2": [(9, 0), (11, 0)],
        "Picture 3": [(19, 0), (21, 0)],
        "Chart 4": [(3, 0), (17, 76200)],
    }
    assert anchors_of(read_parts(books["deleted"])[DRAWING]) == {
        "Picture 1": [(2, 0), (4, 0)],  # its bottom edge was the top of row 5: now that of row 6, same place
        "Picture 2": [(7, 0), (9, 0)],  # row 10 deleted: to the row taking its place, size kept
        "Picture 3": [(19, 0), (21, 0)],  # absolute: the same place on the page
        "Chart 4": [(3, 0), (14, 76200)],  # three of its rows deleted: shorter
    }
    assert anchors_of(read_parts(books["inserted"])[DRAWING]) == {
        "Picture 1": [(2, 0), (6, 0)],  # rows inserted inside it: taller
        "Picture 2": [(11, 0), (13, 0)],
        "Picture 3": [(19, 0), (21, 0)],
        "Chart 4": [(5, 0), (19, 76200)],
    }


@needs_soffice
def test_libreoffice_finds_the_notes_and_pictures_where_they_moved(resaved: dict[str, Path]) -> None:
    assert set(notes_of(resaved["deleted"])) == set(DELETED_NOTES)
    assert set(notes_of(resaved["inserted"])) == set(INSERTED_NOTES)
    for name, expected in (
        ("deleted", {"Picture 2": 7, "Picture 3": 19, "Chart 4": 3}),
        ("inserted", {"Picture 2": 11, "Chart 4": 5}),
    ):
        anchors = anchors_of(read_parts(resaved[name])[DRAWING])
        assert {key: anchors[key][0][0] for key in expected} == expected, name
    # LibreOffice measures the objects again: the chart lost three rows, the moved picture none
    deleted = anchors_of(read_parts(resaved["deleted"])[DRAWING])
    original = anchors_of(read_parts(resaved["original"])[DRAWING])
    assert deleted["Chart 4"][1][0] == original["Chart 4"][1][0] - 3
    assert (
        deleted["Picture 2"][1][0] - deleted["Picture 2"][0][0]
        == 1
        == original["Picture 2"][1][0] - original["Picture 2"][0][0]
    )
    # and its note boxes are where ours are
    assert set(note_boxes(read_parts(resaved["deleted"])[VML])) == {1, 6, 10, 26}


# --- drawings: how each kind of anchor moves


def drawing(*anchors: str, prefix: str = "xdr:") -> bytes:
    declaration = f'xmlns:{prefix[:-1]}="{XDR}"' if prefix else f'xmlns="{XDR}"'
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<{prefix}wsDr {declaration} '
        f'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">{"".join(anchors)}</{prefix}wsDr>'
    ).encode()


def corner(name: str, row: int, offset: int, prefix: str = "xdr:") -> str:
    p = prefix
    return (
        f"<{p}{name}><{p}col>1</{p}col><{p}colOff>0</{p}colOff>"
        f"<{p}row>{row}</{p}row><{p}rowOff>{offset}</{p}rowOff></{p}{name}>"
    )


def two_cell(
    top: tuple[int, int],
    bottom: tuple[int, int],
    name: str,
    edit_as: str | None = None,
    prefix: str = "xdr:",
    extra: str = "",
) -> str:
    attribute = f' editAs="{edit_as}"' if edit_as else ""
    p = prefix
    return (
        f"<{p}twoCellAnchor{attribute}>{corner('from', *top, prefix=p)}{corner('to', *bottom, prefix=p)}"
        f'<{p}sp macro="" textlink="{extra}"><{p}nvSpPr><{p}cNvPr id="2" name="{name}"/><{p}cNvSpPr/></{p}nvSpPr>'
        f"<{p}spPr/></{p}sp><{p}clientData/></{p}twoCellAnchor>"
    )


def one_cell(top: tuple[int, int], name: str) -> str:
    return (
        f'<xdr:oneCellAnchor>{corner("from", *top)}<xdr:ext cx="100" cy="100"/>'
        f'<xdr:sp macro="" textlink=""><xdr:nvSpPr><xdr:cNvPr id="3" name="{name}"/><xdr:cNvSpPr/></xdr:nvSpPr>'
        "<xdr:spPr/></xdr:sp><xdr:clientData/></xdr:oneCellAnchor>"
    )


def test_move_and_size_objects_shrink_grow_and_collapse() -> None:
    # 0-based rows: "A" covers rows 3-8 (1-based), starting 5000 EMU into row 3
    part = drawing(
        two_cell((2, 5000), (7, 9000), "A"),
        two_cell((4, 100), (4, 200), "B", edit_as="twoCell"),
        two_cell((9, 10), (10, 20), "C"),
    )
    # rows 5 and 6 deleted: A loses two rows; B (inside row 5) keeps zero height where row 7 moved
    assert anchors_of(shift_drawing(part, deleting(5, 6))) == {
        "A": [(2, 5000), (5, 9000)],
        "B": [(4, 0), (4, 0)],
        "C": [(7, 10), (8, 20)],
    }
    # A's top row deleted: its top goes to the top of the row taking that place
    assert anchors_of(shift_drawing(part, deleting(3)))["A"] == [(2, 0), (6, 9000)]
    # A's bottom row deleted: its bottom goes to the top of the row after it
    assert anchors_of(shift_drawing(part, deleting(8)))["A"] == [(2, 5000), (7, 0)]
    # C's rows and everything below deleted: it keeps zero height after the last row kept
    assert anchors_of(shift_drawing(part, lambda row: None if row >= 10 else row))["C"] == [(9, 0), (9, 0)]
    # rows inserted inside A make it taller; in front of its top row move it down whole
    assert anchors_of(shift_drawing(part, inserting(5, 2)))["A"] == [(2, 5000), (9, 9000)]
    assert anchors_of(shift_drawing(part, inserting(3, 2)))["A"] == [(4, 5000), (9, 9000)]


def test_move_only_objects_keep_their_size() -> None:
    part = drawing(two_cell((2, 5000), (7, 9000), "A", edit_as="oneCell"), one_cell((4, 700), "B"))
    assert anchors_of(shift_drawing(part, deleting(5, 6))) == {"A": [(2, 5000), (7, 9000)], "B": [(4, 700)]}
    assert anchors_of(shift_drawing(part, deleting(1))) == {"A": [(1, 5000), (6, 9000)], "B": [(3, 700)]}
    # the top row deleted (and the one above): moved up to the row that takes its place, offsets kept
    assert anchors_of(shift_drawing(part, deleting(2, 3))) == {"A": [(1, 5000), (6, 9000)], "B": [(2, 700)]}
    assert anchors_of(shift_drawing(part, inserting(2, 3))) == {"A": [(5, 5000), (10, 9000)], "B": [(7, 700)]}


def test_absolute_objects_and_unmoved_parts_keep_their_bytes() -> None:
    absolute = (
        '<xdr:absoluteAnchor><xdr:pos x="0" y="0"/><xdr:ext cx="10" cy="10"/><xdr:sp macro="" textlink="">'
        '<xdr:nvSpPr><xdr:cNvPr id="4" name="D"/><xdr:cNvSpPr/></xdr:nvSpPr><xdr:spPr/></xdr:sp>'
        "<xdr:clientData/></xdr:absoluteAnchor>"
    )
    part = drawing(two_cell((9, 0), (12, 0), "A", edit_as="absolute"), absolute, two_cell((1, 0), (2, 0), "B"))
    assert shift_drawing(part, deleting(5, 10)) is part
    assert shift_drawing(part, inserting(4, 10)) is part


def test_drawings_without_the_xdr_prefix() -> None:
    for prefix in ("", "ns0:"):
        part = drawing(two_cell((2, 0), (7, 0), "A", prefix=prefix), prefix=prefix)
        shifted = shift_drawing(part, deleting(1))
        assert shifted == part.replace(b"row>2<", b"row>1<").replace(b"row>7<", b"row>6<")


def test_anchors_inside_alternate_content_move() -> None:
    wrapped = (
        '<mc:AlternateContent xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006">'
        f'<mc:Choice xmlns:a14="http://schemas.microsoft.com/office/drawing/2010/main" Requires="a14">'
        f"{two_cell((5, 0), (6, 0), 'Check Box 1', edit_as='oneCell')}</mc:Choice><mc:Fallback/></mc:AlternateContent>"
    )
    shifted = shift_drawing(drawing(wrapped), deleting(2))
    assert re.findall(rb"<xdr:row>(\d+)</xdr:row>", shifted) == [b"4", b"5"]


def test_a_shape_showing_a_cell_that_moves_is_refused() -> None:
    part = drawing(two_cell((20, 0), (22, 0), "A", extra="$B$7"))
    moved = shift_drawing(part, deleting(9))  # the cell stays where it is
    assert re.findall(rb"<xdr:row>(\d+)", moved) == [b"19", b"21"]
    with pytest.raises(CannotShift, match=r"\$B\$7"):
        shift_drawing(part, deleting(3))


def test_drawing_errors() -> None:
    with pytest.raises(ValueError, match="not a spreadsheet drawing"):
        shift_drawing(b'<c:chartSpace xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart"/>', DELETE)
    with pytest.raises(ValueError, match="well-formed"):
        shift_drawing(drawing()[:-3], DELETE)
    with pytest.raises(CannotShift, match="editAs"):
        shift_drawing(drawing(two_cell((1, 0), (2, 0), "A", edit_as="sometimes")), DELETE)
    with pytest.raises(CannotShift, match="outside the sheet"):
        shift_drawing(drawing(two_cell((1, 0), (MAX_ROWS - 1, 0), "A")), inserting(2, 1))


# --- the VML drawing, as Excel writes it

EXCEL_VML = (
    b'<xml xmlns:v="urn:schemas-microsoft-com:vml"\r\n xmlns:o="urn:schemas-microsoft-com:office:office"\r\n'
    b' xmlns:x="urn:schemas-microsoft-com:office:excel">\r\n'
    b' <o:shapelayout v:ext="edit">\r\n  <o:idmap v:ext="edit" data="1"/>\r\n </o:shapelayout>'
    b' <v:shape id="_x0000_s1025" type="#_x0000_t201" style=\'position:absolute;z-index:1\'>\r\n'
    b'  <v:textbox><div style=\'text-align:left\'><font face="Tahoma" size="160">Check<br>Box 1</font></div></v:textbox>\r\n'
    b'  <x:ClientData ObjectType="Checkbox">\r\n   <x:MoveWithCells/>\r\n   <x:Anchor>\r\n'
    b"    1, 0, 9, 3, 2, 40, 10, 5</x:Anchor>\r\n   <x:Checked>1</x:Checked>\r\n  </x:ClientData>\r\n </v:shape>"
    b' <v:shape id="_x0000_s1026" type="#_x0000_t202" style=\'position:absolute;z-index:2;visibility:hidden\'>\r\n'
    b'  <x:ClientData ObjectType="Note">\r\n   <x:MoveWithCells/>\r\n   <x:SizeWithCells/>\r\n   <x:Anchor>\r\n'
    b"    2, 15, 0, 2, 4, 31, 4, 1</x:Anchor>\r\n   <x:AutoFill>False</x:AutoFill>\r\n   <x:Row>1</x:Row>\r\n"
    b"   <x:Column>1</x:Column>\r\n  </x:ClientData>\r\n </v:shape>"
    b' <v:shape id="_x0000_s1027" type="#_x0000_t202" style=\'position:absolute;z-index:3;visibility:hidden\'>\r\n'
    b'  <x:ClientData ObjectType="Note">\r\n   <x:Anchor>\r\n'
    b"    3, 15, 7, 2, 5, 31, 11, 1</x:Anchor>\r\n   <x:Row>8</x:Row>\r\n"
    b"   <x:Column>2</x:Column>\r\n  </x:ClientData>\r\n </v:shape></xml>"
)


def test_excel_vml_moves_by_numbers_alone() -> None:
    shifted = shift_vml(EXCEL_VML, deleting(1, 4))
    # the checkbox moves up two rows, its unclosed <br> and CRLFs untouched; the note on B2
    # moves to B1 with its box held at the top, size kept; the note on C9 moves up two
    assert shifted == (
        EXCEL_VML.replace(b"1, 0, 9, 3, 2, 40, 10, 5", b"1, 0, 7, 3, 2, 40, 8, 5")
        .replace(b"<x:Row>1</x:Row>", b"<x:Row>0</x:Row>")
        .replace(b"<x:Row>8</x:Row>", b"<x:Row>6</x:Row>")
        .replace(b"3, 15, 7, 2, 5, 31, 11, 1", b"3, 15, 5, 2, 5, 31, 9, 1")
    )
    assert shift_vml(EXCEL_VML, deleting(12)) is EXCEL_VML


def test_vml_notes_on_deleted_rows_go_and_inserts_push_down() -> None:
    shifted = shift_vml(EXCEL_VML, deleting(2))
    assert b"_x0000_s1026" not in shifted and b"<x:Row>7</x:Row>" in shifted
    assert shifted.count(b"</v:shape>") == 2
    pushed = shift_vml(EXCEL_VML, inserting(2, 5))
    assert b"<x:Row>6</x:Row>" in pushed and b"<x:Row>13</x:Row>" in pushed
    assert b"1, 0, 14, 3, 2, 40, 15, 5" in pushed and b"2, 15, 5, 2, 4, 31, 9, 1" in pushed


def test_a_form_control_on_a_deleted_row_or_linked_to_moving_cells_is_refused() -> None:
    with pytest.raises(CannotShift, match="top row"):
        shift_vml(EXCEL_VML, deleting(10))
    linked = EXCEL_VML.replace(b"<x:Checked>1</x:Checked>", b"<x:FmlaLink>$A$4</x:FmlaLink>")
    shift_vml(linked, deleting(8))  # below the linked cell: fine
    with pytest.raises(CannotShift, match="FmlaLink"):
        shift_vml(linked, deleting(2))
    listed = EXCEL_VML.replace(b"<x:Checked>1</x:Checked>", b"<x:FmlaRange>Lists!$A$4:$A$6</x:FmlaRange>")
    with pytest.raises(CannotShift, match="FmlaRange"):  # even on another sheet: the part does not say which
        shift_vml(listed, inserting(5, 1))


def test_vml_objects_this_cannot_read_are_refused() -> None:
    rect = EXCEL_VML.replace(b"<v:shape ", b"<v:rect ", 1).replace(b"</v:shape>", b"</v:rect>", 1)
    with pytest.raises(CannotShift, match="outside"):
        shift_vml(rect, deleting(20))
    with pytest.raises(CannotShift, match="8 numbers"):
        shift_vml(EXCEL_VML.replace(b"2, 15, 0, 2, 4, 31, 4, 1", b"2, 15, 0"), deleting(20))
    with pytest.raises(ValueError, match="DTD"):
        shift_vml(b"<!DOCTYPE x []>" + EXCEL_VML, deleting(20))
    assert shift_vml(b"<xml></xml>", DELETE) == b"<xml></xml>"


# --- the comments part

COMMENT_PR = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<comments xmlns="{MAIN}" '
    'xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing">'
    "<authors><author>Ann</author><author>tc={1A2B}</author></authors><commentList>"
    '<comment ref="B3" authorId="0" shapeId="0"><text><t>one</t></text><commentPr defaultSize="0">'
    '<anchor moveWithCells="1"><from><xdr:col>2</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>1</xdr:row>'
    "<xdr:rowOff>0</xdr:rowOff></from><to><xdr:col>4</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>5</xdr:row>"
    "<xdr:rowOff>0</xdr:rowOff></to></anchor></commentPr></comment>"
    '<comment ref="C4" authorId="1"><text><t>[Threaded comment]</t></text></comment>'
    "</commentList></comments>"
).encode()


def test_comment_boxes_in_comment_pr_move_with_the_comment() -> None:
    shifted = shift_comments(COMMENT_PR, deleting(1))
    assert shifted == (
        COMMENT_PR.replace(b'ref="B3"', b'ref="B2"')
        .replace(b'ref="C4"', b'ref="C3"')
        .replace(b"<xdr:row>1</xdr:row>", b"<xdr:row>0</xdr:row>")
        .replace(b"<xdr:row>5</xdr:row>", b"<xdr:row>4</xdr:row>")
    )
    # the box held at the top when the comment moves to row 1, its size kept
    assert re.findall(rb"<xdr:row>(\d+)", shift_comments(COMMENT_PR, deleting(1, 2))) == [b"0", b"4"]


def test_the_last_comment_removed_leaves_the_authors() -> None:
    shifted = shift_comments(COMMENT_PR, deleting(3, 4))
    root = ET.fromstring(shifted)
    assert [author.text for author in root.iter(f"{{{MAIN}}}author")] == ["Ann", "tc={1A2B}"]
    assert root.find(f"{{{MAIN}}}commentList") is not None and not list(root.iter(f"{{{MAIN}}}comment"))
    assert shift_comments(COMMENT_PR, deleting(10)) is COMMENT_PR


def test_comment_errors() -> None:
    with pytest.raises(CannotShift, match="not a cell reference"):
        shift_comments(COMMENT_PR.replace(b'ref="C4"', b'ref="C4:D5"'), DELETE)
    with pytest.raises(CannotShift, match="UTF-8"):
        shift_comments(COMMENT_PR.replace(b"one", "é".encode("latin-1")), DELETE)
    with pytest.raises(ValueError, match="not a spreadsheetml comments part"):
        shift_comments(b"<comments/>", DELETE)
    with pytest.raises(CannotShift, match="outside the sheet"):
        shift_comments(COMMENT_PR, lambda row: row + MAX_ROWS)


# --- threaded comments

THREADS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<ThreadedComments xmlns="{THREADED}" xmlns:x="{MAIN}">'
    '<threadedComment ref="B3" dT="2024-05-01T09:00:00.00" personId="{P1}" id="{T1}"><text>hi</text></threadedComment>'
    '<threadedComment ref="B3" dT="2024-05-01T09:05:00.00" personId="{P2}" id="{T2}" parentId="{T1}">'
    "<text>hello back</text></threadedComment>"
    '<threadedComment ref="D9" dT="2024-05-02T10:00:00.00" personId="{P1}" id="{T3}" done="1">'
    "<text>later</text><mentions/></threadedComment>"
    "</ThreadedComments>"
).encode()


def test_threads_move_and_go_with_their_replies() -> None:
    assert shift_threaded_comments(THREADS, deleting(5)) == THREADS.replace(b'ref="D9"', b'ref="D8"')
    assert shift_threaded_comments(THREADS, inserting(1, 2)) == THREADS.replace(b'ref="B3"', b'ref="B5"').replace(
        b'ref="D9"', b'ref="D11"'
    )
    gone = shift_threaded_comments(THREADS, deleting(3))
    root = ET.fromstring(gone)
    assert [(t.get("ref"), t.get("id")) for t in root] == [("D8", "{T3}")]
    assert shift_threaded_comments(THREADS, deleting(20)) is THREADS


def test_a_reply_goes_with_its_parent_whatever_its_ref() -> None:
    odd = THREADS.replace(b'ref="B3" dT="2024-05-01T09:05', b'ref="B30" dT="2024-05-01T09:05')
    root = ET.fromstring(shift_threaded_comments(odd, deleting(3)))
    assert [t.get("id") for t in root] == ["{T3}"]
    with pytest.raises(ValueError, match="not a threaded comments part"):
        shift_threaded_comments(COMMENT_PR, DELETE)

"""StyleBook: reading number formats and fills from xl/styles.xml, and adding styles by text edits."""

from __future__ import annotations

import datetime as dt
import difflib
import re
import shutil
import subprocess
import warnings
import zipfile
from copy import copy
from pathlib import Path
from xml.etree import ElementTree as ET

import openpyxl
import pytest
from openpyxl.cell.cell import MergedCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import column_index_from_string
from python_calamine import CalamineWorkbook

from sheetcrm.sync.ooxml.styles import BUILTIN_FORMATS, DEFAULT_STYLES, StyleBook, is_date_format

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS = {"m": MAIN}

# What Excel 365 writes (CRLF after the declaration, mc:Ignorable extension attributes, extLst).
EXCEL_STYLES = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
    b'<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    b'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" mc:Ignorable="x14ac x16r2 xr" '
    b'xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac" '
    b'xmlns:x16r2="http://schemas.microsoft.com/office/spreadsheetml/2015/02/main" '
    b'xmlns:xr="http://schemas.microsoft.com/office/spreadsheetml/2014/revision">'
    b'<numFmts count="1"><numFmt numFmtId="164" formatCode="[$-409]mmmm\\ d\\,\\ yyyy;@"/></numFmts>'
    b'<fonts count="2" x14ac:knownFonts="1"><font><sz val="11"/><color theme="1"/><name val="Calibri"/>'
    b'<family val="2"/><scheme val="minor"/></font><font><b/><sz val="11"/><color theme="1"/>'
    b'<name val="Calibri"/><family val="2"/><scheme val="minor"/></font></fonts>'
    b'<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/>'
    b'</fill><fill><patternFill patternType="solid"><fgColor rgb="FFFFEB9C"/><bgColor indexed="64"/>'
    b"</patternFill></fill></fills>"
    b'<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    b'<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    b'<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    b'<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    b'<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1" applyAlignment="1">'
    b'<alignment horizontal="center" wrapText="1"/></xf>'
    b'<xf numFmtId="14" fontId="0" fillId="2" borderId="0" xfId="0" applyNumberFormat="1" applyFill="1"/></cellXfs>'
    b'<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    b'<dxfs count="0"/><tableStyles count="0" defaultTableStyle="TableStyleMedium2" '
    b'defaultPivotStyle="PivotStyleLight16"/><extLst>'
    b'<ext uri="{EB79DEF2-80B8-43e5-95BD-54CBDDF9020C}" '
    b'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
    b'<x14:slicerStyles defaultSlicerStyle="SlicerStyleLight1"/></ext>'
    b'<ext uri="{9260A510-F301-46a8-8635-F512D64BE5F5}" '
    b'xmlns:x15="http://schemas.microsoft.com/office/spreadsheetml/2010/11/main">'
    b'<x15:timelineStyles defaultTimelineStyle="TimeSlicerStyleLight1"/></ext></extLst></styleSheet>'
)


# --- helpers


def _part(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read(name)


def _replace_parts(source: Path, target: Path, parts: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            new.writestr(info, parts.get(info.filename, old.read(info.filename)))
    return target


def _cell_styles(sheet_xml: bytes) -> dict[str, int]:
    styles = {}
    for tag in re.findall(rb"<c\b[^>]*>", sheet_xml):
        ref = re.search(rb'\sr="([A-Z]+\d+)"', tag)
        style = re.search(rb'\ss="(\d+)"', tag)
        assert ref is not None
        styles[ref.group(1).decode()] = int(style.group(1)) if style else 0
    return styles


def _set_cell_style(sheet_xml: bytes, ref: str, style: int) -> bytes:
    def restyle(match: re.Match[bytes]) -> bytes:
        tag = re.sub(rb'\ss="\d+"', b"", match.group(0))
        return tag.replace(f'r="{ref}"'.encode(), f'r="{ref}" s="{style}"'.encode(), 1)

    result, replaced = re.subn(rb'<c\b[^>]*\sr="' + ref.encode() + rb'"[^>]*>', restyle, sheet_xml, count=1)
    assert replaced == 1
    return result


def _only_insertions_and_counts(before: bytes, after: bytes) -> list[str]:
    """What changed between two parts, failing on anything but inserted text and changed digits."""
    old, new = before.decode(), after.decode()
    inserted = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if op == "insert":
            inserted.append(new[j1:j2])
        elif op == "replace":
            assert old[i1:i2].isdigit() and new[j1:j2].isdigit(), (old[i1 - 30 : i2 + 30], new[j1 - 30 : j2 + 30])
        else:
            assert op == "equal", (op, old[i1:i2])
    return inserted


def _children(xml: bytes, section: str) -> list[ET.Element]:
    found = ET.fromstring(xml).find(f"m:{section}", NS)
    assert found is not None, section
    return list(found)


def _count(xml: bytes, section: str) -> int:
    found = ET.fromstring(xml).find(f"m:{section}", NS)
    assert found is not None
    return int(found.get("count", "-1"))


def _sheet_with_styles(path: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "S"
    sheet["A1"] = "name"
    sheet["A1"].font = Font(bold=True)
    sheet["A1"].alignment = Alignment(horizontal="center")
    sheet["B1"] = 1234.5
    sheet["B1"].number_format = "#,##0.00"
    sheet["C1"] = dt.datetime(2024, 3, 1, 9, 30)
    sheet["D1"] = dt.date(2024, 3, 1)
    sheet["D1"].number_format = "mm-dd-yy"
    sheet["E1"] = 0.5
    sheet["E1"].number_format = "[h]:mm"
    sheet["F1"] = 7
    sheet["F1"].number_format = '0 "days"'
    sheet["G1"] = "flagged"
    sheet["G1"].fill = PatternFill(fill_type="solid", fgColor="FFC7CE")
    sheet["H1"] = 12
    sheet["H1"].number_format = "[Red]0.00;[Blue]-0.00"
    sheet["I1"] = dt.date(2024, 3, 1)
    sheet["I1"].number_format = "[$-409]mmmm d, yyyy"
    sheet["J1"] = "text"
    sheet["J1"].number_format = "@"
    sheet["A2"] = 42
    sheet["B2"] = 45352
    book.save(path)
    return path


# --- is_date


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("General", False),
        ("@", False),
        ("0", False),
        ("0.00", False),
        ("#,##0", False),
        ("#,##0.00_);[Red](#,##0.00)", False),
        ("0.00E+00", False),
        ('0 "days"', False),
        ('"Date: "@', False),
        ("[Red]0.00", False),
        ("[$-409]#,##0.00", False),
        ("[>=100]0;0.0", False),
        ('_("$"* #,##0_)', False),
        ("0\\d", False),
        ('0;[Red]-0;"zero";@', False),
        ("yyyy-mm-dd", True),
        ("YYYY-MM-DD", True),
        ("mm-dd-yy", True),
        ("d-mmm", True),
        ("h:mm AM/PM", True),
        ("hh:mm:ss", True),
        ("yyyy-mm-dd h:mm:ss", True),
        ("[h]:mm", True),
        ("[mm]:ss", True),
        ("[ss].00", True),
        ("[$-409]mmmm d, yyyy", True),
        ("[$-F800]dddd\\,\\ mmmm\\ dd\\,\\ yyyy", True),
        ("[Red]yyyy-mm-dd", True),
        ("yyyy-mm-dd;@", True),
        ('yyyy"年"m"月"d"日"', True),
    ],
)
def test_is_date_format(code: str, expected: bool) -> None:
    assert is_date_format(code) is expected


def test_builtin_ids_are_dates_as_calamine_reads_them() -> None:
    xfs = "".join(f'<xf numFmtId="{number}" fontId="0" fillId="0" borderId="0" xfId="0"/>' for number in range(60))
    book = StyleBook.parse(f'<styleSheet xmlns="{MAIN}"><cellXfs count="60">{xfs}</cellXfs></styleSheet>'.encode())
    dates = {number for number in range(60) if book.is_date(number)}
    assert dates == {*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)}
    for number, code in BUILTIN_FORMATS.items():
        assert book.number_format(number) == code
    assert book.number_format(31) == 'yyyy"年"m"月"d"日"'  # a locale format: shown as a date, never asked for
    assert book.number_format(23) == "General"


def test_custom_format_overrides_a_builtin_id() -> None:
    book = StyleBook.parse(
        f'<styleSheet xmlns="{MAIN}"><numFmts count="1"><numFmt numFmtId="14" formatCode="0.00"/></numFmts>'
        '<cellXfs count="1"><xf numFmtId="14"/></cellXfs></styleSheet>'.encode()
    )
    assert (book.number_format(0), book.is_date(0)) == ("0.00", False)
    assert book.with_number_format(0, "mm-dd-yy") == 1  # 14 is taken: a custom id instead
    assert b'<numFmt numFmtId="164" formatCode="mm-dd-yy"/>' in book.to_xml()


def test_reads_an_openpyxl_workbook(tmp_path: Path) -> None:
    path = _sheet_with_styles(tmp_path / "styles.xlsx")
    book = StyleBook.parse(_part(path, "xl/styles.xml"))
    styles = _cell_styles(_part(path, "xl/worksheets/sheet1.xml"))
    sheet = openpyxl.load_workbook(path)["S"]
    for ref, style in styles.items():
        assert book.number_format(style) == sheet[ref].number_format, ref
    dates = {ref for ref, style in styles.items() if book.is_date(style)}
    assert dates == {"C1", "D1", "E1", "I1"}
    assert book.fill(styles["G1"]) == "FFC7CE"
    assert book.fill(styles["A1"]) is None


# --- to_xml


@pytest.mark.parametrize("name", ["excel", "default", "openpyxl"])
def test_unchanged_book_gives_back_the_same_bytes(name: str, tmp_path: Path) -> None:
    xml = {
        "excel": EXCEL_STYLES,
        "default": DEFAULT_STYLES,
        "openpyxl": _part(_sheet_with_styles(tmp_path / "s.xlsx"), "xl/styles.xml"),
    }[name]
    book = StyleBook.parse(xml)
    assert book.number_format(0) == "General"
    assert not book.changed()
    assert book.to_xml() is xml


def test_with_fill_adds_one_fill_and_one_xf_once() -> None:
    book = StyleBook.parse(EXCEL_STYLES)
    red = book.with_fill(2, "FFC7CE")
    assert red == 4
    assert book.with_fill(2, "#ffc7ce") == red
    assert book.with_fill(2, "FFFFC7CE") == red
    assert book.changed()
    xml = book.to_xml()

    inserted = _only_insertions_and_counts(EXCEL_STYLES, xml)
    assert "".join(inserted).count("<fill>") == 1
    assert "".join(inserted).count("<xf ") == 1
    assert (_count(xml, "fills"), len(_children(xml, "fills"))) == (4, 4)
    assert (_count(xml, "cellXfs"), len(_children(xml, "cellXfs"))) == (5, 5)
    new_xf = _children(xml, "cellXfs")[red]
    assert new_xf.attrib == {
        "numFmtId": "0",
        "fontId": "1",
        "fillId": "3",
        "borderId": "0",
        "xfId": "0",
        "applyFont": "1",
        "applyAlignment": "1",
        "applyFill": "1",
    }
    assert new_xf.find("m:alignment", NS) is not None  # the copy keeps its alignment
    assert b'x14ac:knownFonts="1"' in xml and b'mc:Ignorable="x14ac x16r2 xr"' in xml
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<styleSheet ')

    again = StyleBook.parse(xml)  # a part this wrote: everything is found, nothing added
    assert again.with_fill(2, "FFC7CE") == red
    assert again.fill(red) == "FFC7CE"
    assert not again.changed()
    assert again.to_xml() == xml


def test_with_fill_reuses_fills_and_styles_already_there() -> None:
    book = StyleBook.parse(EXCEL_STYLES)
    assert book.with_fill(3, "FFEB9C") == 3  # style 3 already has that fill
    assert not book.changed()
    yellow = book.with_fill(0, "FFEB9C")  # fill 2 exists: only an xf is added
    xml = book.to_xml()
    assert len(_children(xml, "fills")) == 3
    assert _children(xml, "cellXfs")[yellow].get("fillId") == "2"
    plain = book.with_fill(yellow, None)
    assert book.fill(plain) is None
    assert _children(book.to_xml(), "cellXfs")[plain].get("fillId") == "0"
    assert book.with_fill(0, None) == 0


def test_with_number_format_uses_builtins_then_custom_ids() -> None:
    book = StyleBook.parse(EXCEL_STYLES)
    assert book.with_number_format(0, "[$-409]mmmm\\ d\\,\\ yyyy;@") == 1  # numFmt 164 and xf 1 exist
    assert not book.changed()
    two_places = book.with_number_format(0, "0.00")
    us_date = book.with_number_format(0, "mm-dd-yy")
    iso = book.with_number_format(0, "yyyy-mm-dd")
    euros = book.with_number_format(iso, '#,##0.00 "€ & <co>"')
    assert book.with_number_format(0, "yyyy-mm-dd") == iso
    xml = book.to_xml()

    _only_insertions_and_counts(EXCEL_STYLES, xml)
    xfs = _children(xml, "cellXfs")
    assert [xfs[index].get("numFmtId") for index in (two_places, us_date, iso, euros)] == ["2", "14", "165", "166"]
    assert all(xfs[index].get("applyNumberFormat") == "1" for index in (two_places, us_date, iso, euros))
    formats = {fmt.get("numFmtId"): fmt.get("formatCode") for fmt in _children(xml, "numFmts")}
    assert formats == {"164": "[$-409]mmmm\\ d\\,\\ yyyy;@", "165": "yyyy-mm-dd", "166": '#,##0.00 "€ & <co>"'}
    assert _count(xml, "numFmts") == 3

    again = StyleBook.parse(xml)
    assert again.number_format(euros) == '#,##0.00 "€ & <co>"'
    assert (again.is_date(iso), again.is_date(us_date), again.is_date(euros)) == (True, True, False)
    assert again.with_number_format(0, "yyyy-mm-dd") == iso
    assert not again.changed()


def test_edited_styles_open_in_openpyxl_and_calamine(tmp_path: Path) -> None:
    source = _sheet_with_styles(tmp_path / "source.xlsx")
    sheet_xml = _part(source, "xl/worksheets/sheet1.xml")
    styles = _cell_styles(sheet_xml)
    book = StyleBook.parse(_part(source, "xl/styles.xml"))

    flagged = book.with_fill(styles["A1"], "FFC7CE")
    dated = book.with_number_format(styles["B2"], "yyyy-mm-dd")
    both = book.with_number_format(book.with_fill(styles["B1"], "FFEB9C"), "#,##0.000")
    inserted = "".join(_only_insertions_and_counts(_part(source, "xl/styles.xml"), book.to_xml()))
    assert inserted.count("<fill>") == 1 and "FFC7CE" not in inserted  # G1's red fill is reused
    for ref, style in {"A1": flagged, "B2": dated, "B1": both}.items():
        sheet_xml = _set_cell_style(sheet_xml, ref, style)
    target = _replace_parts(
        source, tmp_path / "edited.xlsx", {"xl/styles.xml": book.to_xml(), "xl/worksheets/sheet1.xml": sheet_xml}
    )

    sheet = openpyxl.load_workbook(target)["S"]
    assert sheet["A1"].fill.fill_type == "solid"
    assert sheet["A1"].fill.fgColor.rgb == "00FFC7CE"  # G1's fill, reused: Excel ignores a fill's alpha
    assert sheet["A1"].font.bold and sheet["A1"].alignment.horizontal == "center"
    assert sheet["B2"].number_format == "yyyy-mm-dd"
    assert sheet["B1"].number_format == "#,##0.000"
    assert sheet["B1"].fill.fgColor.rgb == "FFFFEB9C"
    for ref in ("C1", "D1", "E1", "F1", "G1", "H1", "I1", "J1"):  # untouched cells keep their look
        assert sheet[ref].number_format == openpyxl.load_workbook(source)["S"][ref].number_format
    assert sheet["G1"].fill.fgColor.rgb == "00FFC7CE"

    rows = CalamineWorkbook.from_path(str(target)).get_sheet_by_name("S").to_python()
    assert rows[1][1] in (dt.date(2024, 3, 1), dt.datetime(2024, 3, 1))  # 45352 shown as a date now
    assert rows[0][1] == 1234.5


# --- sparse, missing and unusual style sheets


def test_default_styles_for_a_workbook_without_a_styles_part(tmp_path: Path) -> None:
    book = StyleBook.parse(DEFAULT_STYLES)
    assert (book.number_format(0), book.is_date(0), book.fill(0), len(book)) == ("General", False, None, 1)
    flagged = book.with_fill(0, "FFC7CE")
    dated = book.with_number_format(0, "yyyy-mm-dd")
    assert (flagged, dated) == (1, 2)
    _only_insertions_and_counts(DEFAULT_STYLES, book.to_xml())

    source = tmp_path / "plain.xlsx"
    plain = openpyxl.Workbook()
    assert plain.active is not None
    plain.active.append(["flagged", 45352])
    plain.save(source)
    sheet_xml = _set_cell_style(_part(source, "xl/worksheets/sheet1.xml"), "A1", flagged)
    sheet_xml = _set_cell_style(sheet_xml, "B1", dated)
    target = _replace_parts(
        source, tmp_path / "t.xlsx", {"xl/styles.xml": book.to_xml(), "xl/worksheets/sheet1.xml": sheet_xml}
    )
    sheet = openpyxl.load_workbook(target).active
    assert sheet is not None
    assert sheet["A1"].fill.fgColor.rgb == "FFFFC7CE"
    assert sheet["B1"].number_format == "yyyy-mm-dd"


@pytest.mark.parametrize(
    "xml",
    [
        f'<styleSheet xmlns="{MAIN}"/>',
        f'<?xml version="1.0"?>\n<styleSheet xmlns="{MAIN}">\n</styleSheet>',
        f'<styleSheet xmlns="{MAIN}"><fonts count="1"><font/></fonts><cellXfs count="0"/><dxfs count="0"/></styleSheet>',
        f'<styleSheet xmlns="{MAIN}"><fills count="1"><fill><patternFill/></fill></fills>'
        '<cellXfs count="1"><xf numFmtId="0"/></cellXfs></styleSheet>',
    ],
)
def test_sparse_style_sheets_get_what_a_new_style_needs(xml: str) -> None:
    book = StyleBook.parse(xml.encode())
    assert (book.number_format(0), book.is_date(0)) == ("General", False)
    flagged = book.with_fill(0, "FFC7CE")
    assert flagged == 1
    assert book.with_number_format(flagged, "0.0") == 2
    out = book.to_xml()
    _only_insertions_and_counts(xml.encode(), out)

    order = ["numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "cellStyles", "dxfs"]
    names = [child.tag.partition("}")[2] for child in ET.fromstring(out)]
    assert names == [name for name in order if name in names]
    assert {"numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs"} <= set(names)
    fills = _children(out, "fills")
    assert [fill[0].get("patternType") for fill in fills][1:] == ["gray125", "solid"]
    xfs = _children(out, "cellXfs")
    assert len(xfs) == _count(out, "cellXfs") == 3
    assert xfs[0].get("fillId", "0") == "0" and xfs[1].get("fillId") == "2"
    again = StyleBook.parse(out)
    assert (again.fill(1), again.fill(2), again.number_format(2)) == ("FFC7CE", "FFC7CE", "0.0")


def test_pretty_printed_style_sheet_with_comments_and_a_bom() -> None:
    xml = (
        "\ufeff<?xml version='1.0' encoding='utf-8'?>\n"
        "<!-- made by hand -->\n"
        f"<styleSheet xmlns='{MAIN}' xmlns:mc='http://schemas.openxmlformats.org/markup-compatibility/2006'>\n"
        "  <fills count='2'>\n"
        "    <fill><patternFill patternType='none'/></fill>\n"
        "    <!-- <fill> in a comment is not a fill -->\n"
        "    <fill><patternFill patternType='gray125'/></fill>\n"
        "  </fills>\n"
        "  <?editor keep?>\n"
        "  <mc:AlternateContent><mc:Fallback/></mc:AlternateContent>\n"
        "  <cellXfs count = '1' >\n"
        "    <xf numFmtId='0' fontId='0' fillId='0' borderId='0' xfId='0' />\n"
        "  </cellXfs>\n"
        "  <mc:AlternateContent><mc:Fallback/></mc:AlternateContent>\n"
        "</styleSheet>\n"
    ).encode()
    book = StyleBook.parse(xml)
    flagged = book.with_fill(0, "FFC7CE")
    out = book.to_xml()
    assert out.startswith(b"\xef\xbb\xbf<?xml version='1.0'")
    _only_insertions_and_counts(xml, out)
    assert out.count(b"<fill>") == xml.count(b"<fill>") + 1
    assert b"<cellXfs count = '2' >" in out  # the count changes, its quotes and spacing do not
    assert (_count(out, "fills"), len(_children(out, "fills"))) == (3, 3)
    again = StyleBook.parse(out)
    assert (again.fill(flagged), len(again)) == ("FFC7CE", 2)


def test_prefixed_style_sheet() -> None:
    xml = (
        f'<x:styleSheet xmlns:x="{MAIN}"><x:fonts count="1"><x:font/></x:fonts>'
        '<x:fills count="2"><x:fill><x:patternFill patternType="none"/></x:fill>'
        '<x:fill><x:patternFill patternType="gray125"/></x:fill></x:fills>'
        '<x:borders count="1"><x:border/></x:borders><x:cellXfs count="1"><x:xf numFmtId="0" fontId="0"/>'
        "</x:cellXfs></x:styleSheet>"
    ).encode()
    book = StyleBook.parse(xml)
    flagged = book.with_number_format(book.with_fill(0, "FFC7CE"), "yyyy-mm-dd")
    out = book.to_xml()
    _only_insertions_and_counts(xml, out)
    assert b'<x:numFmts count="1"><x:numFmt numFmtId="164"' in out
    assert b'<x:fgColor rgb="FFFFC7CE"/>' in out
    assert b"<fill" not in out and b"<xf" not in out
    again = StyleBook.parse(out)
    assert (again.fill(flagged), again.number_format(flagged), again.is_date(flagged)) == ("FFC7CE", "yyyy-mm-dd", True)


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (f'<worksheet xmlns="{MAIN}"/>'.encode(), "not a spreadsheetml style sheet"),
        (b'<styleSheet xmlns="urn:other"/>', "not a spreadsheetml style sheet"),
        (b"<styleSheet", "not well-formed"),
        (
            f'<!DOCTYPE s [<!ENTITY a "aaa">]><styleSheet xmlns="{MAIN}">&a;</styleSheet>'.encode(),
            "DTD",
        ),
        (f'<styleSheet xmlns="{MAIN}"/>'.encode("utf-16"), "UTF-16"),
        (f'<?xml version="1.0" encoding="ISO-8859-1"?><styleSheet xmlns="{MAIN}"/>'.encode(), "ISO-8859-1"),
        (
            f'<x:styleSheet xmlns:x="{MAIN}" xmlns:y="{MAIN}"><y:fills count="0"/></x:styleSheet>'.encode(),
            "namespace prefixes",
        ),
    ],
)
def test_refuses_what_it_cannot_edit_safely(xml: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StyleBook.parse(xml)


def test_bad_arguments() -> None:
    book = StyleBook.parse(EXCEL_STYLES)
    with pytest.raises(IndexError, match=r"style 4 is not in styles\.xml, which has 4"):
        book.is_date(4)
    with pytest.raises(IndexError):
        book.with_fill(-1, "FFC7CE")
    with pytest.raises(ValueError, match="not a colour"):
        book.with_fill(0, "red")
    assert not book.changed()


# --- the fidelity corpus: style sheets written by LibreOffice, xlsxwriter, openpyxl and pandas

CORPUS = sorted((Path(__file__).parent / "fidelity" / "corpus").glob("*.xlsx"))


def _first_sheet(archive: zipfile.ZipFile) -> tuple[str, str]:
    """The name and part of the workbook's first sheet."""
    workbook = ET.fromstring(archive.read("xl/workbook.xml"))
    sheet = workbook.find("m:sheets/m:sheet", NS)
    assert sheet is not None
    rid = sheet.get("{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id")
    rels = ET.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    target = next(rel.get("Target", "") for rel in rels if rel.get("Id") == rid)
    return sheet.get("name", ""), target.lstrip("/") if target.startswith("/") else f"xl/{target}"


def _load(path: Path) -> openpyxl.Workbook:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "extension is not supported": openpyxl's loss, not ours
        return openpyxl.load_workbook(path)


@pytest.mark.parametrize("path", CORPUS, ids=[path.name for path in CORPUS])
def test_corpus_formats_and_dates_agree_with_openpyxl_and_calamine(path: Path) -> None:
    with zipfile.ZipFile(path) as archive:
        styles = archive.read("xl/styles.xml")
        name, part = _first_sheet(archive)
        sheet_xml = archive.read(part)
    book = StyleBook.parse(styles)
    assert book.to_xml() is styles
    sheet = _load(path)[name]
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(name).to_python(skip_empty_area=False)
    numbers = 0
    for tag, body in re.findall(rb"(<c\b[^>]*?)(/>|>.*?</c>)", sheet_xml, re.S):
        ref = re.search(rb'\sr="([A-Z]+)(\d+)"', tag)
        style = re.search(rb'\ss="(\d+)"', tag)
        kind = re.search(rb'\st="(\w+)"', tag)
        assert ref is not None
        column, row = ref.group(1).decode(), int(ref.group(2))
        index = int(style.group(1)) if style else 0
        cell = sheet[f"{column}{row}"]
        if not isinstance(cell, MergedCell):
            assert book.number_format(index) == cell.number_format, (column, row)
        if (kind is None or kind.group(1) == b"n") and b"<v>" in body:
            numbers += 1
            value = rows[row - 1][column_index_from_string(column) - 1]
            assert book.is_date(index) == isinstance(value, dt.date | dt.time | dt.timedelta), (column, row, value)
    assert numbers


@pytest.mark.parametrize(
    "path", [path for path in CORPUS if path.stem.endswith("-basic") or "kitchen" in path.stem], ids=lambda p: p.name
)
def test_corpus_edits_open_in_openpyxl(path: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(path) as archive:
        styles = archive.read("xl/styles.xml")
        name, part = _first_sheet(archive)
        sheet_xml = archive.read(part)
    book = StyleBook.parse(styles)
    cells = _cell_styles(sheet_xml)
    header, amount = cells["A1"], cells["B3"]
    flagged = book.with_fill(header, "FFC7CE")
    dated = book.with_number_format(book.with_fill(amount, "FFEB9C"), "yyyy-mm-dd")
    assert book.with_fill(header, "FFC7CE") == flagged
    _only_insertions_and_counts(styles, book.to_xml())
    sheet_xml = _set_cell_style(_set_cell_style(sheet_xml, "A1", flagged), "B3", dated)
    target = _replace_parts(path, tmp_path / path.name, {"xl/styles.xml": book.to_xml(), part: sheet_xml})

    before, after = _load(path)[name], _load(target)[name]
    assert after["A1"].fill.fgColor.rgb[-6:] == "FFC7CE" and after["A1"].fill.fill_type == "solid"
    assert copy(after["A1"].font) == copy(before["A1"].font) and after["A1"].number_format == before["A1"].number_format
    assert after["B3"].fill.fgColor.rgb[-6:] == "FFEB9C" and after["B3"].number_format == "yyyy-mm-dd"
    assert copy(after["B3"].font) == copy(before["B3"].font) and copy(after["B3"].border) == copy(before["B3"].border)
    assert StyleBook.parse(book.to_xml()).with_fill(header, "FFC7CE") == flagged


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_reads_the_added_styles(tmp_path: Path) -> None:
    source = _sheet_with_styles(tmp_path / "source.xlsx")
    sheet_xml = _part(source, "xl/worksheets/sheet1.xml")
    book = StyleBook.parse(_part(source, "xl/styles.xml"))
    styles = _cell_styles(sheet_xml)
    sheet_xml = _set_cell_style(sheet_xml, "A1", book.with_fill(styles["A1"], "FFC7CE"))
    sheet_xml = _set_cell_style(sheet_xml, "B2", book.with_number_format(book.with_fill(0, "FFEB9C"), "yyyy-mm-dd"))
    (tmp_path / "in").mkdir()
    edited = _replace_parts(
        source, tmp_path / "in" / "edited.xlsx", {"xl/styles.xml": book.to_xml(), "xl/worksheets/sheet1.xml": sheet_xml}
    )
    done = subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
            "--headless",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(tmp_path),
            str(edited),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    sheet = _load(tmp_path / "edited.xlsx")["S"]  # as LibreOffice understood and saved it
    assert sheet["A1"].fill.fgColor.rgb[-6:] == "FFC7CE" and sheet["A1"].font.bold
    assert sheet["B2"].fill.fgColor.rgb[-6:] == "FFEB9C"
    assert is_date_format(sheet["B2"].number_format) and sheet["B2"].value == dt.datetime(2024, 3, 1)

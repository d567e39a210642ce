"""resolve_shared_strings: the texts of wanted shared strings, streamed out of xl/sharedStrings.xml."""

from __future__ import annotations

import io
import re
import tracemalloc
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import openpyxl
import pytest
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.styles.colors import Color
from openpyxl.utils import column_index_from_string
from python_calamine import CalamineWorkbook

from sheetcrm.sync.ooxml.strings import decode_escapes, resolve_shared_strings

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _sst(*items: str, prefix: str = "") -> io.BytesIO:
    declaration = f'xmlns:{prefix[:-1]}="{MAIN}"' if prefix else f'xmlns="{MAIN}"'
    body = "".join(f"<{prefix}si>{item}</{prefix}si>" for item in items)
    return io.BytesIO(
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<{prefix}sst {declaration} count="{len(items)}">'
        f"{body}</{prefix}sst>".encode()
    )


class _Unreadable(io.RawIOBase):
    def read(self, size: int = -1) -> bytes:
        raise AssertionError("the stream should not be read")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "plain"),
        ("line 1_x000D_\nline 2", "line 1\r\nline 2"),
        ("tab_x0009_here", "tab\there"),
        ("lower_x000d_case", "lower\rcase"),
        ("_x005F_x000D_", "_x000D_"),
        ("_x005F_", "_"),
        ("_x005f_x005F_", "_x005F_"),
        ("_xD83D__xDE00_", "😀"),
        ("_x00_ _xZZZZ_ x000D_ _x000D", "_x00_ _xZZZZ_ x000D_ _x000D"),
        ("a_x0041__x0042_b", "aABb"),
    ],
)
def test_decode_escapes(text: str, expected: str) -> None:
    assert decode_escapes(text) == expected


def _share_inline_strings(source: Path, target: Path) -> Path:
    """Move the inline strings openpyxl wrote into xl/sharedStrings.xml, as Excel keeps them.

    openpyxl 3.1 writes text cells as ``<is>``, which has the same content model as ``<si>``:
    the rich text markup here is openpyxl's own.
    """
    with zipfile.ZipFile(source) as old:
        parts = {info.filename: old.read(info.filename) for info in old.infolist()}
    items: list[str] = []

    def share(match: re.Match[str]) -> str:
        items.append(match.group(2))
        start = match.group(1).replace('t="inlineStr"', 't="s"')
        return f"{start}><v>{len(items) - 1}</v></c>"

    sheet = re.sub(
        r'(<c\b[^>]*t="inlineStr"[^>]*)><is>(.*?)</is></c>',
        share,
        parts["xl/worksheets/sheet1.xml"].decode(),
        flags=re.S,
    )
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    parts["xl/sharedStrings.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="{MAIN}" count="{len(items)}" '
        f'uniqueCount="{len(items)}">' + "".join(f"<si>{item}</si>" for item in items) + "</sst>"
    ).encode()
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>",
        b'<Override PartName="/xl/sharedStrings.xml" '
        b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
    )
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>",
        b'<Relationship Id="rIdShared" Target="sharedStrings.xml" '
        b'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/></Relationships>',
    )
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for name, data in parts.items():
            new.writestr(name, data)
    return target


def test_resolves_rich_text_openpyxl_wrote(tmp_path: Path) -> None:
    rich = CellRichText(("Zhang ", TextBlock(InlineFont(b=True), "Wei"), TextBlock(InlineFont(i=True, sz=9), " (VIP)")))
    values: dict[str, str | CellRichText] = {
        "A1": "customer_id",
        "B1": "  leading and trailing  ",
        "C1": "two\nlines",
        "D1": "王芳 😀",
        "E1": rich,
        "A2": "<&> \"quotes\" 'apostrophes'",
        "B2": CellRichText((TextBlock(InlineFont(color=Color("FFFF0000")), "red"), " then plain ")),
    }
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for ref, value in values.items():
        sheet[ref] = value
    book.save(tmp_path / "inline.xlsx")
    path = _share_inline_strings(tmp_path / "inline.xlsx", tmp_path / "shared.xlsx")

    with zipfile.ZipFile(path) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
        cells = {ref: int(index) for ref, index in re.findall(r'<c r="(\w+)"[^>]*t="s"[^>]*><v>(\d+)</v>', sheet_xml)}
        assert b"<r><rPr>" in archive.read("xl/sharedStrings.xml")
        with archive.open("xl/sharedStrings.xml") as stream:
            texts = resolve_shared_strings(stream, set(cells.values()))

    assert {ref: texts[index] for ref, index in cells.items()} == {ref: str(value) for ref, value in values.items()}
    assert texts[cells["E1"]] == "Zhang Wei (VIP)"
    reread = openpyxl.load_workbook(path).active  # openpyxl reads the shared strings the same way
    assert reread is not None
    assert {ref: reread[ref].value for ref in cells} == {ref: texts[index] for ref, index in cells.items()}


def _has_shared_strings(path: Path) -> bool:
    with zipfile.ZipFile(path) as archive:
        return "xl/sharedStrings.xml" in archive.namelist()


def _first_sheet(archive: zipfile.ZipFile) -> str:
    """The part of the workbook's first sheet."""
    namespaces = {"m": MAIN}
    sheet = ET.fromstring(archive.read("xl/workbook.xml")).find("m:sheets/m:sheet", namespaces)
    assert sheet is not None
    rid = sheet.get("{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id")
    rels = ET.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    target = next(rel.get("Target", "") for rel in rels if rel.get("Id") == rid)
    return target.lstrip("/") if target.startswith("/") else f"xl/{target}"


CORPUS = sorted((Path(__file__).parent / "fidelity" / "corpus").glob("*.xlsx"))
SHARED = [path for path in CORPUS if _has_shared_strings(path)]


@pytest.mark.parametrize("path", SHARED, ids=[path.name for path in SHARED])
def test_corpus_strings_agree_with_calamine(path: Path) -> None:
    with zipfile.ZipFile(path) as archive:
        sheet_xml = archive.read(_first_sheet(archive)).decode()
        cells = re.findall(r'<c r="([A-Z]+)(\d+)"[^>]*t="s"[^>]*><v>(\d+)</v>', sheet_xml)
        with archive.open("xl/sharedStrings.xml") as stream:
            texts = resolve_shared_strings(stream, {int(index) for *_, index in cells})
    workbook = CalamineWorkbook.from_path(str(path))
    rows = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    assert cells
    for column, row, index in cells:
        assert texts[int(index)] == rows[int(row) - 1][column_index_from_string(column) - 1], (column, row)


def test_rich_text_phonetics_and_whitespace() -> None:
    stream = _sst(
        "<t>plain</t>",
        '<r><rPr><b/><sz val="11"/></rPr><t>bold</t></r><r><t xml:space="preserve"> and plain</t></r>',
        '<t>東京</t><rPh sb="0" eb="2"><t>トウキョウ</t></rPh><phoneticPr fontId="1" type="noConversion"/>',
        '<t xml:space="preserve">  spaced\tout  </t>',
        "<t/>",
        "<t>carriage_x000D_return, kept _x005F_x000D_ literally</t>",
        "<r><t>split_x00</t></r><r><t>0D_ run</t></r>",
        "<t>a</t><t>b</t>",
    )
    assert resolve_shared_strings(stream, range(8)) == {
        0: "plain",
        1: "bold and plain",
        2: "東京",
        3: "  spaced\tout  ",
        4: "",
        5: "carriage\rreturn, kept _x000D_ literally",
        6: "split\r run",  # Excel decodes the joined text, not each run
        7: "ab",
    }


def test_missing_and_unwanted_indices() -> None:
    assert resolve_shared_strings(_sst("<t>a</t>", "<t>b</t>"), [1, 5, -1]) == {1: "b"}
    assert resolve_shared_strings(_sst("<t>a</t>"), []) == {}
    assert resolve_shared_strings(_Unreadable(), set()) == {}  # type: ignore[arg-type]
    assert resolve_shared_strings(_sst(), {0}) == {}


def test_prefixed_and_strict_parts() -> None:
    assert resolve_shared_strings(_sst("<x:t>a</x:t>", "<x:r><x:t>b</x:t></x:r>", prefix="x:"), {0, 1}) == {
        0: "a",
        1: "b",
    }
    strict = b'<sst xmlns="http://purl.oclc.org/ooxml/spreadsheetml/main"><si><t>s</t></si></sst>'
    assert resolve_shared_strings(io.BytesIO(strict), {0}) == {0: "s"}


def test_stops_reading_after_the_last_wanted_string() -> None:
    head = _sst("<t>first</t>", "<t>second</t>").getvalue().removesuffix(b"</sst>")
    stream = io.BytesIO(head + b"<si><t>third</t></si>" + b" " * 200_000 + b"<<< not xml at all")
    assert resolve_shared_strings(stream, {1}) == {1: "second"}
    assert stream.tell() < len(stream.getvalue())
    with pytest.raises(ValueError, match="not well-formed"):
        resolve_shared_strings(io.BytesIO(stream.getvalue()), {5})


def test_refuses_entities() -> None:
    bomb = (
        b'<!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&b;</t></si></sst>'
    )
    with pytest.raises(ValueError):
        resolve_shared_strings(io.BytesIO(bomb), {0})


@pytest.mark.slow
def test_a_large_table_streams_in_bounded_memory(tmp_path: Path) -> None:
    count = 200_000
    path = tmp_path / "sharedStrings.xml"
    with path.open("w", encoding="utf-8") as part:
        part.write(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="{MAIN}" count="{count}">')
        for index in range(count):
            if index % 7 == 3:
                part.write(
                    f'<si><r><rPr><b/><sz val="11"/><rFont val="Calibri"/></rPr><t>rich {index}</t></r>'
                    f'<r><t xml:space="preserve"> tail_x000D_</t></r><rPh sb="0" eb="1"><t>ph</t></rPh></si>'
                )
            else:
                part.write(f"<si><t>customer {index} of the Acme Trading Company, Shenzhen</t></si>")
        part.write("</sst>")
    assert path.stat().st_size > 10_000_000

    wanted = {*range(0, count, 97), 3, 10, count - 1, count + 5}
    tracemalloc.start()
    try:
        with path.open("rb") as stream:
            texts = resolve_shared_strings(stream, wanted)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 30_000_000, peak
    assert len(texts) == len(wanted) - 1
    assert texts[3] == "rich 3 tail\r"
    assert texts[10] == "rich 10 tail\r"
    assert texts[0] == "customer 0 of the Acme Trading Company, Shenzhen"
    assert texts[count - 1] == f"customer {count - 1} of the Acme Trading Company, Shenzhen"
    for index in wanted - {count + 5}:
        expected = (
            f"rich {index} tail\r" if index % 7 == 3 else f"customer {index} of the Acme Trading Company, Shenzhen"
        )
        assert texts[index] == expected

"""Pre-flight checks on real files: every bad file gets one WorkbookUnreadable, and every
openpyxl loss reported is one openpyxl really causes (each loss test round-trips the file)."""

from __future__ import annotations

import importlib.util
import random
import time
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from openpyxl.chart import BarChart, Reference
from openpyxl.comments import Comment
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Font
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.table import Table

from sheetcrm.errors import SheetNotFound, WorkbookUnreadable
from sheetcrm.sync.preflight import (
    _CHUNK,
    Limits,
    formula_cells,
    inspect_xlsx,
    openpyxl_losses,
)

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
RT = R + "/"
X14 = "http://schemas.microsoft.com/office/spreadsheetml/2009/9/main"
XM = "http://schemas.microsoft.com/office/excel/2006/main"
SHEET1 = "xl/worksheets/sheet1.xml"
HAS_PILLOW = importlib.util.find_spec("PIL") is not None

Parts = dict[str, bytes]


# --- building real files ----------------------------------------------------------------


def make_book(path: Path) -> Path:
    """A plain two-sheet workbook, as openpyxl writes it: 'Sales' and a hidden 'Hidden'."""
    book = openpyxl.Workbook()
    sales = book.active
    assert sales is not None
    sales.title = "Sales"
    sales.append(["name", "amount"])
    for i in range(1, 6):
        sales.append([f"customer {i}", i])
    hidden = book.create_sheet("Hidden")
    hidden.sheet_state = "hidden"
    hidden["A1"] = "x"
    book.save(path)
    return path


def read_parts(path: Path) -> Parts:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def write_parts(path: Path, parts: Parts, compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


def variant(tmp_path: Path, mutate: Callable[[Parts], None], name: str = "book.xlsx") -> Path:
    """The plain workbook with its zip members edited by ``mutate``."""
    parts = read_parts(make_book(tmp_path / f"base-{name}"))
    mutate(parts)
    return write_parts(tmp_path / name, parts)


def replace(parts: Parts, member: str, old: str, new: str) -> None:
    text = parts[member].decode()
    assert old in text, f"{old!r} not in {member}"
    parts[member] = text.replace(old, new, 1).encode()


def add_override(parts: Parts, member: str, content_type: str) -> None:
    replace(
        parts,
        "[Content_Types].xml",
        "</Types>",
        f'<Override PartName="/{member}" ContentType="{content_type}"/></Types>',
    )


def add_default(parts: Parts, extension: str, content_type: str) -> None:
    if f'Extension="{extension}"'.encode() not in parts["[Content_Types].xml"]:
        replace(
            parts,
            "[Content_Types].xml",
            "</Types>",
            f'<Default Extension="{extension}" ContentType="{content_type}"/></Types>',
        )


def add_rel(parts: Parts, rels: str, rel_id: str, rel_type: str, target: str, *, external: bool = False) -> None:
    parts.setdefault(
        rels,
        b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        b"</Relationships>",
    )
    mode = ' TargetMode="External"' if external else ""
    replace(
        parts,
        rels,
        "</Relationships>",
        f'<Relationship Id="{rel_id}" Type="{rel_type}" Target="{target}"{mode}/></Relationships>',
    )


def sheet_xml(rows: str, *, dimension: str = "A1:C4", tail: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{MAIN}" xmlns:r="{R}">'
        f'<dimension ref="{dimension}"/><sheetData>{rows}</sheetData>{tail}</worksheet>'
    ).encode()


ROWS = (
    '<row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c><c r="B1" t="inlineStr"><is><t>n</t></is></c></row>'
    '<row r="2"><c r="A2" t="inlineStr"><is><t>a</t></is></c><c r="B2"><v>1</v></c></row>'
)
# Formulas with cached results, as Excel writes them: plain, shared master, shared child (attributes in any order).
FORMULA_ROWS = (
    '<row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c><c r="B1"><v>1</v></c></row>'
    '<row r="2"><c r="B2"><v>2</v></c><c r="C2"><f>B2*2</f><v>111</v></c></row>'
    '<row r="3"><c r="B3"><v>3</v></c><c s="0" r="C3"><f t="shared" ref="C3:C4" si="0">B3*2</f><v>222</v></c></row>'
    '<row r="4"><c r="B4"><v>4</v></c><c r="C4" s="0">\n  <f t="shared" si="0"/><v>333</v></c></row>'
)


def with_sheet(rows: str, *, tail: str = "", dimension: str = "A1:C4") -> Callable[[Parts], None]:
    def mutate(parts: Parts) -> None:
        parts[SHEET1] = sheet_xml(rows, dimension=dimension, tail=tail)

    return mutate


def unreadable(path: Path, **kwargs: Limits) -> WorkbookUnreadable:
    with pytest.raises(WorkbookUnreadable) as caught:
        inspect_xlsx(path, **kwargs)
    return caught.value


# --- bad files: one WorkbookUnreadable each, with its own reason ----------------------------


def _missing(tmp: Path) -> Path:
    return tmp / "nope.xlsx"


def _directory(tmp: Path) -> Path:
    (tmp / "folder.xlsx").mkdir()
    return tmp / "folder.xlsx"


def _bytes(data: bytes, name: str = "book.xlsx") -> Callable[[Path], Path]:
    def build(tmp: Path) -> Path:
        (tmp / name).write_bytes(data)
        return tmp / name

    return build


def _truncated(tmp: Path) -> Path:
    data = make_book(tmp / "good.xlsx").read_bytes()
    return _bytes(data[: len(data) // 2])(tmp)


def _bad_central_directory(tmp: Path) -> Path:
    data = bytearray(make_book(tmp / "good.xlsx").read_bytes())
    at = data.find(b"PK\x01\x02")  # first central-directory entry
    data[at : at + 4] = b"XXXX"
    return _bytes(bytes(data))(tmp)


def _corrupt_member(compression: int) -> Callable[[Path], Path]:
    """workbook.xml's bytes damaged inside the zip: a CRC error (stored) or a zlib error (deflated)."""

    def build(tmp: Path) -> Path:
        path = write_parts(tmp / "book.xlsx", read_parts(make_book(tmp / "good.xlsx")), compression)
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("xl/workbook.xml")
        data = bytearray(path.read_bytes())
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
        data[start + 5 : start + 25] = b"\xff" * 20
        path.write_bytes(bytes(data))
        return path

    return build


def _drop(member: str) -> Callable[[Path], Path]:
    def mutate(parts: Parts) -> None:
        del parts[member]

    return lambda tmp: variant(tmp, mutate)


def _edit(member: str, old: str, new: str) -> Callable[[Path], Path]:
    return lambda tmp: variant(tmp, lambda parts: replace(parts, member, old, new))


def _ods(tmp: Path) -> Path:
    return write_parts(
        tmp / "book.xlsx",
        {"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b"<office:document-content/>"},
        zipfile.ZIP_STORED,
    )


def _no_worksheets(parts: Parts) -> None:
    text = parts["xl/workbook.xml"].decode()
    start, end = text.index("<sheets>"), text.index("</sheets>") + len("</sheets>")
    parts["xl/workbook.xml"] = (text[:start] + "<sheets/>" + text[end:]).encode()


XXE = (
    '<?xml version="1.0"?><!DOCTYPE workbook [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    f'<workbook xmlns="{MAIN}" xmlns:r="{R}"><sheets><sheet name="&xxe;" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">' for i in range(1, 10))
    + f']><workbook xmlns="{MAIN}" xmlns:r="{R}"><sheets><sheet name="&lol9;" sheetId="1" r:id="rId1"/></sheets>'
    "</workbook>"
)


BAD_FILES: list[tuple[str, Callable[[Path], Path], str]] = [
    ("missing", _missing, "no such file"),
    ("directory", _directory, "is a directory"),
    ("empty", _bytes(b""), "empty (0 bytes)"),
    ("old xls", _bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600), "Excel 97-2003 .xls file"),
    ("html", _bytes(b"<html><body><table><tr><td>1</td></tr></table></body></html>"), "HTML page"),
    ("html doctype", _bytes(b"\n<!DOCTYPE html>\n<html><body>x</body></html>"), "HTML page"),
    ("html table", _bytes(b"<table><tr><td>name</td></tr></table>"), "HTML page"),
    ("csv", _bytes(b"name,email\nAda,ada@example.com\n"), "CSV or plain-text"),
    ("utf-16 text", _bytes("name\temail\nAda\tada@example.com\n".encode("utf-16")), "CSV or plain-text"),
    ("binary", _bytes(bytes(range(256)) * 4), "not a zip archive"),
    ("truncated zip", _truncated, "damaged zip archive"),
    ("bad central directory", _bad_central_directory, "damaged zip archive"),
    ("crc error", _corrupt_member(zipfile.ZIP_STORED), "cannot read xl/workbook.xml"),
    ("zlib error", _corrupt_member(zipfile.ZIP_DEFLATED), "cannot read xl/workbook.xml"),
    ("opendocument", _ods, "OpenDocument"),
    ("no content types", _drop("[Content_Types].xml"), "no [Content_Types].xml"),
    ("no workbook part", _drop("xl/workbook.xml"), "workbook part xl/workbook.xml is missing"),
    ("no workbook rels", _drop("xl/_rels/workbook.xml.rels"), "workbook.xml.rels is missing"),
    ("broken workbook xml", _edit("xl/workbook.xml", "<sheets>", "<sheets"), "not well-formed XML"),
    ("xxe", lambda tmp: variant(tmp, lambda p: p.update({"xl/workbook.xml": XXE.encode()})), "DTD"),
    (
        "billion laughs",
        lambda tmp: variant(tmp, lambda p: p.update({"xl/workbook.xml": BILLION_LAUGHS.encode()})),
        "DTD",
    ),
    ("missing sheet part", _drop("xl/worksheets/sheet2.xml"), "sheet 'Hidden' is missing"),
    (
        "duplicate sheet name",
        _edit("xl/workbook.xml", 'name="Hidden"', 'name="SALES"'),
        "two sheets have the same name 'SALES' (and 'Sales'",
    ),
    ("undefined sheet rel", _edit("xl/workbook.xml", 'r:id="rId2"', 'r:id="rId99"'), "does not define"),
    ("bad sheet name", _edit("xl/workbook.xml", 'name="Hidden"', 'name="a/b"'), "does not allow"),
    ("no worksheets", lambda tmp: variant(tmp, _no_worksheets), "no worksheets"),
    ("broken styles", _edit("xl/styles.xml", "<fonts", "<fonts<"), "xl/styles.xml is not well-formed"),
    (
        "relationship without target",
        _edit("xl/_rels/workbook.xml.rels", 'Target="styles.xml"', ""),
        "has a relationship without Target",
    ),
    (
        "strict open xml",
        _edit(
            "_rels/.rels",
            "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument",
            "http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument",
        ),
        "Strict Open XML",
    ),
    (
        "wrong workbook content type",
        _edit("[Content_Types].xml", "spreadsheetml.sheet.main+xml", "spreadsheetml.BOGUS"),
        "does not declare xl/workbook.xml as an Excel workbook",
    ),
    (
        "xlsb renamed",
        _edit(
            "[Content_Types].xml",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
            "application/vnd.ms-excel.sheet.binary.macroEnabled.main",
        ),
        "(.xlsb)",
    ),
    ("word document", _edit("_rels/.rels", 'Target="xl/workbook.xml"', 'Target="word/document.xml"'), "Word document"),
    ("dimension bomb", _edit(SHEET1, 'ref="A1:B6"', 'ref="A1:XFD1048576"'), "absurdly large or sparse"),
    ("too many rows", _edit(SHEET1, 'ref="A1:B6"', 'ref="A1:B2000000"'), "absurdly large or sparse"),
    ("too many columns", _edit(SHEET1, 'ref="A1:B6"', 'ref="A1:ZZZZ6"'), "absurdly large or sparse"),
]


@pytest.mark.parametrize(("build", "reason"), [case[1:] for case in BAD_FILES], ids=[case[0] for case in BAD_FILES])
def test_bad_file_gets_one_clear_error(tmp_path: Path, build: Callable[[Path], Path], reason: str) -> None:
    path = build(tmp_path)
    error = unreadable(path)
    assert reason in error.reason
    assert str(path) in str(error)


def test_xls_and_csv_errors_say_what_to_do(tmp_path: Path) -> None:
    xls = unreadable(_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)(tmp_path))
    assert "password-protected" in xls.reason and "save as .xlsx" in xls.reason
    csv = unreadable(_bytes(b"a;b\n1;2\n", "data.xlsx")(tmp_path))
    assert csv.hint is not None and "rename it to .csv" in csv.hint


def test_dimension_bomb_error_names_sheet_and_ref(tmp_path: Path) -> None:
    error = unreadable(_edit(SHEET1, 'ref="A1:B6"', 'ref="A1:XFD1048576"')(tmp_path))
    assert "'Sales'" in error.reason and "A1:XFD1048576" in error.reason
    assert "17,179,869,184 cells" in error.reason


def test_dimension_limit_is_configurable(tmp_path: Path) -> None:
    path = make_book(tmp_path / "book.xlsx")
    assert unreadable(path, limits=Limits(max_cells=10)).reason.startswith("sheet 'Sales' declares")
    assert inspect_xlsx(path, limits=Limits(max_cells=12)).sheet("Sales").dimension == "A1:B6"


def test_zip_bomb_is_refused_from_the_directory(tmp_path: Path) -> None:
    # 17 MiB of zeros deflate to about 17 KB: a ratio near 1000, over the 250 limit.
    path = variant(tmp_path, lambda parts: parts.update({"xl/media/zeros.bin": bytes(17 * 1024 * 1024)}))
    assert path.stat().st_size < 100_000
    error = unreadable(path)
    assert "zip bomb" in error.reason and "xl/media/zeros.bin" in error.reason
    assert inspect_xlsx(path, limits=Limits(max_compression_ratio=5000)).uncompressed_bytes > 17 * 1024 * 1024


def test_declared_size_limit(tmp_path: Path) -> None:
    error = unreadable(make_book(tmp_path / "book.xlsx"), limits=Limits(max_uncompressed_bytes=10_000))
    assert "too large to load safely, or a zip bomb" in error.reason


def test_inspect_reads_only_the_head_of_each_sheet(tmp_path: Path) -> None:
    """A sheet stored uncompressed and damaged 1 MB in: inspect_xlsx never reads that far
    (so never sees the bad CRC), formula_cells reads it all and reports the damage."""
    rows = "".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>' for r in range(1, 60_001))
    path = write_parts(
        tmp_path / "book.xlsx",
        {**read_parts(make_book(tmp_path / "good.xlsx")), SHEET1: sheet_xml(rows)},
        zipfile.ZIP_STORED,
    )
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(SHEET1)
    data = bytearray(path.read_bytes())
    at = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + 1_000_000
    data[at : at + 4] = b"9999"  # nothing but the CRC tells
    path.write_bytes(bytes(data))

    assert inspect_xlsx(path).sheet("Sales").dimension == "A1:C4"
    with pytest.raises(WorkbookUnreadable, match="Bad CRC-32"):
        formula_cells(path, SHEET1)


def test_missing_sheet_part_names_the_sheet_and_part(tmp_path: Path) -> None:
    error = unreadable(_drop("xl/worksheets/sheet2.xml")(tmp_path))
    assert "xl/worksheets/sheet2.xml" in error.reason


def _check_all(path: Path) -> None:
    """Run every pre-flight function; only WorkbookUnreadable may come out."""
    try:
        inventory = inspect_xlsx(path)
        for sheet in inventory.sheets:
            formula_cells(path, sheet.part)
        openpyxl_losses(path, inventory)
    except WorkbookUnreadable:
        pass


def test_no_other_exception_escapes_damaged_zips(tmp_path: Path) -> None:
    """Cut and byte-flipped copies of a good file: each passes, or fails as WorkbookUnreadable."""
    good = make_book(tmp_path / "good.xlsx").read_bytes()
    rng = random.Random(4)
    mutants = [good[:cut] for cut in range(1, len(good), max(1, len(good) // 40))]
    for _ in range(60):
        data = bytearray(good)
        for _ in range(3):
            data[rng.randrange(len(data))] = rng.randrange(256)
        mutants.append(bytes(data))
    path = tmp_path / "mutant.xlsx"
    for data in mutants:
        path.write_bytes(data)
        _check_all(path)


def test_no_other_exception_escapes_damaged_xml(tmp_path: Path) -> None:
    """Package XML with spans cut, copied or overwritten, then zipped again properly."""

    def rich(parts: Parts) -> None:
        _threaded_comments(parts)
        parts[SHEET1] = sheet_xml(FORMULA_ROWS, tail=SPARKLINES)

    good = read_parts(variant(tmp_path, rich, name="good.xlsx"))
    members = [name for name in good if name.endswith((".xml", ".rels"))]
    rng = random.Random(7)
    for _ in range(300):
        parts = dict(good)
        member = rng.choice(members)
        data = bytearray(parts[member])
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(data))
            roll = rng.random()
            if roll < 0.4:
                del data[at : at + rng.randint(1, 20)]
            elif roll < 0.7:
                data[at:at] = data[rng.randrange(len(data)) :][: rng.randint(1, 30)]
            else:
                data[at] = rng.choice(b'<>/"=: aZ0\xff')
        parts[member] = bytes(data)
        _check_all(write_parts(tmp_path / "mutant.xlsx", parts))


# --- a good workbook's inventory --------------------------------------------------------


def test_inventory_of_a_good_workbook(tmp_path: Path) -> None:
    path = make_book(tmp_path / "book.xlsx")
    inventory = inspect_xlsx(str(path))
    assert inventory.path == path
    assert inventory.sheet_names == ["Sales", "Hidden"]
    assert [(s.part, s.state, s.dimension) for s in inventory.sheets] == [
        ("xl/worksheets/sheet1.xml", "visible", "A1:B6"),
        ("xl/worksheets/sheet2.xml", "hidden", "A1:A1"),
    ]
    assert inventory.chartsheets == ()
    assert set(inventory.parts) >= {"[Content_Types].xml", "xl/workbook.xml", SHEET1}
    with zipfile.ZipFile(path) as archive:
        assert inventory.uncompressed_bytes == sum(info.file_size for info in archive.infolist())
    assert inventory.sheet("sales").name == "Sales"  # Excel compares sheet names ignoring case
    with pytest.raises(SheetNotFound) as caught:
        inventory.sheet("Customers")
    assert "'Sales', 'Hidden'" in str(caught.value)


def test_chartsheets_are_listed_apart(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append([1])
    sheet.append([2])
    chart = BarChart()
    chart.add_data(Reference(sheet, min_col=1, min_row=1, max_row=2))
    book.create_chartsheet("Trend").add_chart(chart)
    book.save(tmp_path / "chart.xlsx")
    inventory = inspect_xlsx(tmp_path / "chart.xlsx")
    assert inventory.sheet_names == ["Sheet"]
    assert inventory.chartsheets == ("Trend",)


def test_workbook_part_found_through_package_relationships(tmp_path: Path) -> None:
    def move(parts: Parts) -> None:
        parts["xl/book.xml"] = parts.pop("xl/workbook.xml")
        parts["xl/_rels/book.xml.rels"] = parts.pop("xl/_rels/workbook.xml.rels")
        replace(parts, "_rels/.rels", "xl/workbook.xml", "xl/book.xml")
        replace(parts, "[Content_Types].xml", "/xl/workbook.xml", "/xl/book.xml")

    assert inspect_xlsx(variant(tmp_path, move)).sheet_names == ["Sales", "Hidden"]


def test_namespace_prefixed_sheet(tmp_path: Path) -> None:
    prefixed = (
        f'<?xml version="1.0"?><x:worksheet xmlns:x="{MAIN}"><x:dimension ref="A1:B2"/><x:sheetData>'
        '<x:row r="1"><x:c r="A1"><x:v>1</x:v></x:c><x:c r="B1"><x:f>A1+1</x:f><x:v>2</x:v></x:c></x:row>'
        '<x:row r="2"><x:c r="A2"><x:f t="shared" ref="A2:B2" si="0">A1*2</x:f><x:v>2</x:v></x:c>'
        '<x:c r="B2"><x:f t="shared" si="0"/><x:v>4</x:v></x:c></x:row>'
        "</x:sheetData></x:worksheet>"
    )
    path = variant(tmp_path, lambda parts: parts.update({SHEET1: prefixed.encode()}))
    inventory = inspect_xlsx(path)
    assert inventory.sheet("Sales").dimension == "A1:B2"
    assert formula_cells(path, SHEET1) == {"B1", "A2", "B2"}


def test_sheet_binding_two_prefixes_to_the_main_namespace(tmp_path: Path) -> None:
    mixed = (
        f'<?xml version="1.0"?><worksheet xmlns="{MAIN}" xmlns:x="{MAIN}"><dimension ref="A1:B1"/><sheetData>'
        '<row r="1"><c r="A1"><f>1</f><v>1</v></c><x:c r="B1"><x:f>2</x:f><x:v>2</x:v></x:c></row>'
        "</sheetData></worksheet>"
    )
    path = variant(tmp_path, lambda parts: parts.update({SHEET1: mixed.encode()}))
    assert formula_cells(path, SHEET1) == {"A1", "B1"}


# --- formula_cells ----------------------------------------------------------------------


def test_formula_cells_plain_and_shared(tmp_path: Path) -> None:
    path = variant(tmp_path, with_sheet(FORMULA_ROWS))
    assert formula_cells(path, SHEET1) == frozenset({"C2", "C3", "C4"})
    assert formula_cells(path, "xl/worksheets/sheet2.xml") == frozenset()


def test_formula_cells_of_an_openpyxl_workbook(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet["A1"], sheet["A2"], sheet["H2"] = 1, 2, "=SUM(A1:A2)"
    sheet["B1"] = "=literal text"
    sheet["B1"].data_type = "s"  # a string that only looks like a formula
    book.save(tmp_path / "book.xlsx")
    assert formula_cells(tmp_path / "book.xlsx", SHEET1) == {"H2"}


def test_formula_cells_without_r_attributes(tmp_path: Path) -> None:
    rows = '<row r="1"><c><v>1</v></c><c><f>A1+1</f><v>2</v></c></row><row><c><f>1</f></c><c r="D2"><f>2</f></c></row>'
    path = variant(tmp_path, with_sheet(rows))
    assert formula_cells(path, SHEET1) == {"B1", "A2", "D2"}


def test_formula_cells_missing_part_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(WorkbookUnreadable, match=r"xl/worksheets/sheet9\.xml is missing"):
        formula_cells(make_book(tmp_path / "book.xlsx"), "xl/worksheets/sheet9.xml")


CELL = '<c r="B2" s="1"><f>A1&amp;"x"</f><v>y</v></c>'


def _straddling(tmp_path: Path, split: int, tail: str = "") -> Path:
    """A sheet whose decompressed bytes reach offset ``split`` of CELL exactly at the chunk boundary."""
    head = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<worksheet xmlns="{MAIN}" xmlns:r="{R}"><dimension ref="A1:B2"/>'
        '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>'
    ).encode()
    before = b'</t></is></c></row><row r="2">'
    pad = _CHUNK - len(head) - len(before) - split
    xml = head + b"p" * pad + before + CELL.encode() + b"</row></sheetData>" + tail.encode() + b"</worksheet>"
    assert xml.index(CELL.encode()) + split == _CHUNK
    return variant(tmp_path, lambda parts: parts.update({SHEET1: xml}), name=f"split{split}.xlsx")


@pytest.mark.parametrize("split", range(len('<c r="B2" s="1"><f>') + 1))
def test_formula_cell_across_the_chunk_boundary(tmp_path: Path, split: int) -> None:
    path = _straddling(tmp_path, split)
    assert formula_cells(path, SHEET1) == {"B2"}
    losses = openpyxl_losses(path, inspect_xlsx(path))
    assert losses == ["cached results of 1 formula cells on sheet 'Sales' (e.g. Sales!B2)"]


def test_formula_cells_is_fast_on_a_big_sheet(tmp_path: Path) -> None:
    """100,000 rows (about 15 MB of XML), one formula each: well under a second."""
    rows = "".join(
        f'<row r="{r}"><c r="A{r}"><v>{r}</v></c><c r="B{r}" t="s"><v>3</v></c><c r="C{r}"><f>A{r}*2</f><v>{2 * r}</v></c>'
        f'<c r="D{r}" s="2"><v>45123</v></c></row>'
        for r in range(1, 100_001)
    )
    path = variant(tmp_path, with_sheet(rows, dimension="A1:D100000"))
    started = time.perf_counter()
    found = formula_cells(path, SHEET1)
    assert time.perf_counter() - started < 2.0
    assert len(found) == 100_000 and "C99999" in found


# --- openpyxl_losses: every claim checked against a real openpyxl round trip ---------------


def roundtrip(path: Path) -> Parts:
    """What openpyxl writes after load_workbook + save (keep_vba for .xlsm, as a writer would)."""
    out = path.with_name("roundtrip" + path.suffix)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns "... extension is not supported and will be removed"
        book = openpyxl.load_workbook(path, keep_vba=path.suffix == ".xlsm")
        book.save(out)
    return read_parts(out)


SPARKLINES = (
    f'<extLst><ext uri="{{05C60535-1F16-4fd2-B633-F4F36F0B64E0}}" xmlns:x14="{X14}">'
    f'<x14:sparklineGroups xmlns:xm="{XM}"><x14:sparklineGroup displayEmptyCellsAs="gap">'
    '<x14:colorSeries rgb="FF376092"/><x14:sparklines><x14:sparkline><xm:f>Sales!B1:B4</xm:f>'
    "<xm:sqref>D2</xm:sqref></x14:sparkline></x14:sparklines></x14:sparklineGroup></x14:sparklineGroups></ext></extLst>"
)
X14_RULES = (
    f'<extLst><ext uri="{{78C0D931-6437-407d-A8EE-F0AAD7539E65}}" xmlns:x14="{X14}"><x14:conditionalFormattings>'
    f'<x14:conditionalFormatting xmlns:xm="{XM}"><x14:cfRule type="expression" priority="1" '
    'id="{00000000-0000-0000-0000-000000000001}"><xm:f>Hidden!$A$1&gt;0</xm:f><x14:dxf><font><b/></font></x14:dxf>'
    "</x14:cfRule><xm:sqref>B2:B4</xm:sqref></x14:conditionalFormatting></x14:conditionalFormattings></ext>"
    f'<ext uri="{{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}}" xmlns:x14="{X14}"><x14:dataValidations count="1" '
    f'xmlns:xm="{XM}"><x14:dataValidation type="list" allowBlank="1"><x14:formula1><xm:f>Hidden!$A$1:$A$3</xm:f>'
    "</x14:formula1><xm:sqref>A2:A4</xm:sqref></x14:dataValidation></x14:dataValidations></ext></extLst>"
)
TEXT_BOX = (
    '<?xml version="1.0"?><xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing" '
    'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><xdr:twoCellAnchor><xdr:from><xdr:col>4</xdr:col>'
    "<xdr:colOff>0</xdr:colOff><xdr:row>1</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from><xdr:to><xdr:col>7</xdr:col>"
    '<xdr:colOff>0</xdr:colOff><xdr:row>5</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:to><xdr:sp macro="" textlink="">'
    '<xdr:nvSpPr><xdr:cNvPr id="2" name="TextBox 1"/><xdr:cNvSpPr txBox="1"/></xdr:nvSpPr><xdr:spPr><a:xfrm>'
    '<a:off x="0" y="0"/><a:ext cx="100" cy="100"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></xdr:spPr>'
    "<xdr:txBody><a:bodyPr/><a:lstStyle/><a:p><a:r><a:t>Call back on Monday</a:t></a:r></a:p></xdr:txBody></xdr:sp>"
    "<xdr:clientData/></xdr:twoCellAnchor></xdr:wsDr>"
)
PICTURE = (
    '<?xml version="1.0"?><xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing" '
    'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:r="' + R + '"><xdr:oneCellAnchor><xdr:from>'
    "<xdr:col>4</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>1</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from>"
    '<xdr:ext cx="9525" cy="9525"/><xdr:pic><xdr:nvPicPr><xdr:cNvPr id="1" name="Logo"/><xdr:cNvPicPr/></xdr:nvPicPr>'
    '<xdr:blipFill><a:blip r:embed="rId1"/><a:stretch><a:fillRect/></a:stretch></xdr:blipFill><xdr:spPr>'
    '<a:prstGeom prst="rect"/></xdr:spPr></xdr:pic><xdr:clientData/></xdr:oneCellAnchor></xdr:wsDr>'
)
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000154a24f5d"
    "0000000049454e44ae426082"
)
VML_BUTTON = (
    '<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:x="urn:schemas-microsoft-com:office:excel">'
    '<v:shape id="_x0000_s1025" type="#_x0000_t201"><x:ClientData ObjectType="Button"><x:Anchor>1, 0, 1, 0, 3, 0, 3, 0'
    "</x:Anchor><x:FmlaMacro>[0]!Macro1</x:FmlaMacro></x:ClientData></v:shape></xml>"
)


def _threaded_comments(parts: Parts) -> None:
    parts["xl/threadedComments/threadedComment1.xml"] = (
        b'<?xml version="1.0"?><ThreadedComments xmlns="http://schemas.microsoft.com/office/spreadsheetml/2018/'
        b'threadedcomments"><threadedComment ref="A2" dT="2024-01-01T00:00:00.00" '
        b'personId="{11111111-1111-1111-1111-111111111111}" id="{22222222-2222-2222-2222-222222222222}">'
        b"<text>Is this customer still active?</text></threadedComment></ThreadedComments>"
    )
    add_override(parts, "xl/threadedComments/threadedComment1.xml", "application/vnd.ms-excel.threadedcomments+xml")
    add_rel(
        parts,
        "xl/worksheets/_rels/sheet1.xml.rels",
        "rIdTC",
        "http://schemas.microsoft.com/office/2017/10/relationships/threadedComment",
        "../threadedComments/threadedComment1.xml",
    )
    parts["xl/persons/person.xml"] = (
        b'<?xml version="1.0"?><personList xmlns="http://schemas.microsoft.com/office/spreadsheetml/2018/'
        b'threadedcomments"><person displayName="Ada" id="{11111111-1111-1111-1111-111111111111}" userId="ada" '
        b'providerId="None"/></personList>'
    )
    add_override(parts, "xl/persons/person.xml", "application/vnd.ms-excel.person+xml")
    add_rel(
        parts,
        "xl/_rels/workbook.xml.rels",
        "rIdP",
        "http://schemas.microsoft.com/office/2017/10/relationships/person",
        "persons/person.xml",
    )


def _custom_xml(parts: Parts) -> None:
    parts["customXml/item1.xml"] = b'<?xml version="1.0"?><crm xmlns="urn:example:crm">owner=ada</crm>'
    parts["customXml/itemProps1.xml"] = (
        b'<?xml version="1.0"?><ds:datastoreItem ds:itemID="{33333333-3333-3333-3333-333333333333}" '
        b'xmlns:ds="http://schemas.openxmlformats.org/officeDocument/2006/customXml"/>'
    )
    add_override(
        parts, "customXml/itemProps1.xml", "application/vnd.openxmlformats-officedocument.customXmlProperties+xml"
    )
    add_rel(parts, "customXml/_rels/item1.xml.rels", "rId1", RT + "customXmlProps", "itemProps1.xml")
    add_rel(parts, "xl/_rels/workbook.xml.rels", "rIdCX", RT + "customXml", "../customXml/item1.xml")


def _vba(parts: Parts) -> None:
    parts["xl/vbaProject.bin"] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 not a real project"
    add_default(parts, "bin", "application/vnd.ms-office.vbaProject")
    add_rel(
        parts,
        "xl/_rels/workbook.xml.rels",
        "rIdV",
        "http://schemas.microsoft.com/office/2006/relationships/vbaProject",
        "vbaProject.bin",
    )


def _drawing(xml: str, media: bool = False) -> Callable[[Parts], None]:
    def mutate(parts: Parts) -> None:
        parts[SHEET1] = sheet_xml(ROWS, tail='<drawing r:id="rIdD"/>')
        parts["xl/drawings/drawing1.xml"] = xml.encode()
        add_override(parts, "xl/drawings/drawing1.xml", "application/vnd.openxmlformats-officedocument.drawing+xml")
        add_rel(parts, "xl/worksheets/_rels/sheet1.xml.rels", "rIdD", RT + "drawing", "../drawings/drawing1.xml")
        if media:
            parts["xl/media/image1.png"] = PNG
            add_default(parts, "png", "image/png")
            add_rel(parts, "xl/drawings/_rels/drawing1.xml.rels", "rId1", RT + "image", "../media/image1.png")

    return mutate


def _background(parts: Parts) -> None:
    parts[SHEET1] = sheet_xml(ROWS, tail='<picture r:id="rIdB"/>')
    parts["xl/media/image1.png"] = PNG
    add_default(parts, "png", "image/png")
    add_rel(parts, "xl/worksheets/_rels/sheet1.xml.rels", "rIdB", RT + "image", "../media/image1.png")


def _form_button(parts: Parts) -> None:
    parts[SHEET1] = sheet_xml(ROWS, tail='<legacyDrawing r:id="rIdV"/>')
    parts["xl/drawings/vmlDrawing1.vml"] = VML_BUTTON.encode()
    add_default(parts, "vml", "application/vnd.openxmlformats-officedocument.vmlDrawing")
    add_rel(parts, "xl/worksheets/_rels/sheet1.xml.rels", "rIdV", RT + "vmlDrawing", "../drawings/vmlDrawing1.vml")


def _slicer_parts(parts: Parts) -> None:
    parts["xl/slicerCaches/slicerCache1.xml"] = b'<?xml version="1.0"?><slicerCacheDefinition xmlns="urn:x"/>'
    add_override(parts, "xl/slicerCaches/slicerCache1.xml", "application/vnd.ms-excel.slicerCache+xml")
    add_rel(
        parts,
        "xl/_rels/workbook.xml.rels",
        "rIdS",
        "http://schemas.microsoft.com/office/2007/relationships/slicerCache",
        "slicerCaches/slicerCache1.xml",
    )


def _metadata(parts: Parts) -> None:
    rows = ROWS.replace(
        '<c r="B2"><v>1</v></c>', '<c r="B2" cm="1"><f t="array" ref="B2:B3">SEQUENCE(2)</f><v>1</v></c>'
    )
    parts[SHEET1] = sheet_xml(rows)
    parts["xl/metadata.xml"] = f'<?xml version="1.0"?><metadata xmlns="{MAIN}"/>'.encode()
    add_override(
        parts, "xl/metadata.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheetMetadata+xml"
    )
    add_rel(parts, "xl/_rels/workbook.xml.rels", "rIdM", RT + "sheetMetadata", "metadata.xml")


def _gone(member: str) -> Callable[[Parts], bool]:
    return lambda after: not any(name.startswith(member) for name in after)


def _not_in_sheet(text: str) -> Callable[[Parts], bool]:
    return lambda after: text.encode() not in after[SHEET1]


LOSSES: list[tuple[str, Callable[[Parts], None], str, str, Callable[[Parts], bool]]] = [
    (
        "cached formula results",
        with_sheet(FORMULA_ROWS),
        ".xlsx",
        "cached results of 3 formula cells on sheet 'Sales' (e.g. Sales!C2)",
        lambda after: all(f"<v>{n}</v>".encode() not in after[SHEET1] for n in (111, 222, 333)),
    ),
    (
        "sparklines",
        with_sheet(ROWS, tail=SPARKLINES),
        ".xlsx",
        "sparklines on sheet 'Sales'",
        _not_in_sheet("sparkline"),
    ),
    (
        "x14 rules",
        with_sheet(ROWS, tail=X14_RULES),
        ".xlsx",
        "2 x14 conditional formats / data validations (extLst) on sheet 'Sales'",
        _not_in_sheet("x14:"),
    ),
    ("threaded comments", _threaded_comments, ".xlsx", "threaded comments (", _gone("xl/threadedComments/")),
    ("persons", _threaded_comments, ".xlsx", "the people list of threaded comments", _gone("xl/persons/")),
    ("customXml", _custom_xml, ".xlsx", "customXml parts (customXml/item1.xml", _gone("customXml/")),
    ("vba in xlsx", _vba, ".xlsx", "a VBA project (xl/vbaProject.bin)", _gone("xl/vbaProject.bin")),
    (
        "text box",
        _drawing(TEXT_BOX),
        ".xlsx",
        "shapes or text boxes in xl/drawings/drawing1.xml",
        lambda after: all(b"Call back" not in data for data in after.values()),
    ),
    ("background picture", _background, ".xlsx", "a background picture on sheet 'Sales'", _not_in_sheet("<picture")),
    (
        "form button",
        _form_button,
        ".xlsx",
        "form controls (Button) in xl/drawings/vmlDrawing1.vml",
        _gone("xl/drawings/"),
    ),
    ("slicers", _slicer_parts, ".xlsx", "slicers (xl/slicerCaches/slicerCache1.xml)", _gone("xl/slicerCaches/")),
    ("dynamic arrays", _metadata, ".xlsx", "cell metadata", lambda after: "xl/metadata.xml" not in after),
]
if not HAS_PILLOW:
    LOSSES.append(
        (
            "images without Pillow",
            _drawing(PICTURE, media=True),
            ".xlsx",
            "images in xl/drawings/drawing1.xml (Pillow is not installed)",
            _gone("xl/media/"),
        )
    )


@pytest.mark.parametrize(
    ("mutate", "suffix", "expected", "really_lost"), [case[1:] for case in LOSSES], ids=[case[0] for case in LOSSES]
)
def test_losses_are_reported_and_real(
    tmp_path: Path, mutate: Callable[[Parts], None], suffix: str, expected: str, really_lost: Callable[[Parts], bool]
) -> None:
    path = variant(tmp_path, mutate, name="book" + suffix)
    losses = openpyxl_losses(path, inspect_xlsx(path))
    assert any(expected in item for item in losses), losses
    assert really_lost(roundtrip(path)), "openpyxl kept it after all: the loss report is wrong"


def test_plain_workbook_loses_nothing(tmp_path: Path) -> None:
    path = make_book(tmp_path / "book.xlsx")
    assert openpyxl_losses(path, inspect_xlsx(path)) == []


def test_what_openpyxl_keeps_is_not_reported(tmp_path: Path) -> None:
    """Charts, legacy comments, plain validations and conditional formats, tables, formulas
    openpyxl wrote itself (no cached result to lose): all survive a round trip."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Sales"
    sheet.append(["name", "amount", "double"])
    for i in range(1, 4):
        sheet.append([f"c{i}", i, f"=B{i + 1}*2"])
    sheet["A2"].comment = Comment("call back", "ada")
    chart = BarChart()
    chart.add_data(Reference(sheet, min_col=2, min_row=1, max_row=4), titles_from_data=True)
    sheet.add_chart(chart, "E2")
    validation = DataValidation(type="list", formula1='"yes,no"')
    sheet.add_data_validation(validation)
    validation.add("D2:D4")
    sheet.conditional_formatting.add("B2:B4", CellIsRule(operator="greaterThan", formula=["1"], font=Font(bold=True)))
    sheet.add_table(Table(displayName="Customers", ref="A1:C4"))
    path = tmp_path / "kept.xlsx"
    book.save(path)

    assert openpyxl_losses(path, inspect_xlsx(path)) == []
    after = roundtrip(path)
    assert set(read_parts(path)) == set(after)
    assert b"dataValidation" in after[SHEET1] and b"conditionalFormatting" in after[SHEET1]


def test_vba_is_kept_for_xlsm(tmp_path: Path) -> None:
    path = variant(tmp_path, _vba, name="book.xlsm")
    assert openpyxl_losses(path, inspect_xlsx(path)) == []
    assert "xl/vbaProject.bin" in roundtrip(path)


def test_external_links_are_kept(tmp_path: Path) -> None:
    def link(parts: Parts) -> None:
        parts["xl/externalLinks/externalLink1.xml"] = (
            f'<?xml version="1.0"?><externalLink xmlns="{MAIN}" xmlns:r="{R}"><externalBook r:id="rId1"><sheetNames>'
            '<sheetName val="Data"/></sheetNames><sheetDataSet><sheetData sheetId="0"><row r="1"><cell r="A1"><v>42</v>'
            "</cell></row></sheetData></sheetDataSet></externalBook></externalLink>"
        ).encode()
        add_override(
            parts,
            "xl/externalLinks/externalLink1.xml",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml",
        )
        add_rel(
            parts,
            "xl/externalLinks/_rels/externalLink1.xml.rels",
            "rId1",
            RT + "externalLinkPath",
            "other.xlsx",
            external=True,
        )
        add_rel(parts, "xl/_rels/workbook.xml.rels", "rIdX", RT + "externalLink", "externalLinks/externalLink1.xml")
        replace(
            parts,
            "xl/workbook.xml",
            "<definedNames />",
            '<externalReferences><externalReference r:id="rIdX"/></externalReferences>',
        )

    path = variant(tmp_path, link)
    assert openpyxl_losses(path, inspect_xlsx(path)) == []
    assert b"Data" in roundtrip(path)["xl/externalLinks/externalLink1.xml"]


def test_sheet_tail_across_the_chunk_boundary(tmp_path: Path) -> None:
    """The sheet's tail (here: sparklines) is found even when </sheetData> straddles the boundary."""
    sheetdata_end = len(CELL) + len("</row>")
    for split in (sheetdata_end + 1, sheetdata_end + 5, sheetdata_end + 11):
        path = _straddling(tmp_path, split, tail=SPARKLINES)
        assert "sparklines on sheet 'Sales'" in openpyxl_losses(path, inspect_xlsx(path))

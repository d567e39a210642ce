"""plan_sheet_changes: whole sheets created, replaced and deleted as part edits, with styles and charts."""

from __future__ import annotations

import datetime as dt
import posixpath
import re
import shutil
import struct
import subprocess
import warnings
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from xml.etree import ElementTree as ET

import openpyxl
import pytest
import xlsxwriter
from conftest import CUSTOMERS, write_xlsx
from python_calamine import CalamineWorkbook

from sheetcrm.errors import InvalidChange
from sheetcrm.sync.changeset import CellStyle, Chart, ChartSeries, DeleteSheet, ReplaceSheet
from sheetcrm.sync.ooxml.newsheet import SheetPartsPlan, plan_sheet_changes
from sheetcrm.sync.ooxml.package import part_names, read_part, rewrite_package
from sheetcrm.sync.ooxml.styles import DEFAULT_STYLES, StyleBook
from sheetcrm.sync.preflight import inspect_xlsx, resolve_target

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
C = "http://schemas.openxmlformats.org/drawingml/2006/chart"
SOFFICE = shutil.which("soffice")


# --- helpers


def apply(source: Path, target: Path, changes: Sequence[ReplaceSheet | DeleteSheet]) -> SheetPartsPlan:
    """Plan the changes on ``source`` and write the result to ``target``, as the writer will."""
    inventory = inspect_xlsx(source)
    assert inventory.styles_part is not None
    styles = StyleBook.parse(read_part(source, inventory.styles_part))
    plan = plan_sheet_changes(
        changes,
        read=lambda name: read_part(source, name),
        names=part_names(source),
        styles=styles,
        workbook_part=inventory.workbook_part,
        styles_part=inventory.styles_part,
    )
    rewrite, add = plan.writers()
    rewrite_package(source, target, rewrite=rewrite, add=add, remove=plan.remove)
    return plan


def plan_for(source: Path, changes: Sequence[ReplaceSheet | DeleteSheet]) -> SheetPartsPlan:
    return plan_sheet_changes(
        changes,
        read=lambda name: read_part(source, name),
        names=part_names(source),
        styles=StyleBook.parse(read_part(source, "xl/styles.xml")),
    )


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def raw_entries(path: Path) -> dict[str, tuple[int, int]]:
    """Each member's CRC and compressed size: equal when a part was copied, not re-deflated."""
    with zipfile.ZipFile(path) as archive:
        return {info.filename: (info.CRC, info.compress_size) for info in archive.infolist()}


def untouched_identical(source: Path, target: Path, plan: SheetPartsPlan) -> None:
    before, after = members(source), members(target)
    raw_before, raw_after = raw_entries(source), raw_entries(target)
    untouched = set(before) - set(plan.rewrite) - plan.remove
    assert set(after) == untouched | set(plan.rewrite) | set(plan.add)
    for name in untouched:
        assert after[name] == before[name], name
        assert raw_after[name] == raw_before[name], name


def rels_graph(parts: dict[str, bytes]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, data in parts.items():
        folder, file = posixpath.split(name)
        if posixpath.basename(folder) != "_rels" or not file.endswith(".rels"):
            continue
        source = posixpath.join(posixpath.dirname(folder), file[: -len(".rels")]).rstrip("/")
        targets = set()
        for rel in ET.fromstring(data).iter(f"{{{RELS}}}Relationship"):
            if rel.get("TargetMode") != "External":
                targets.add(resolve_target(posixpath.dirname(source), rel.get("Target", "")))
        graph[source] = targets
    return graph


def check_package(path: Path) -> None:
    """No part is unreachable, no relationship dangles, every part has exactly the content type it needs."""
    parts = members(path)
    graph = rels_graph(parts)
    for source, targets in graph.items():
        assert source == "" or source in parts, f"rels of a missing part {source}"
        assert targets <= set(parts), f"{source} points at missing parts {targets - set(parts)}"
    seen: set[str] = set()
    stack = list(graph[""])
    while stack:
        part = stack.pop()
        if part not in seen:
            seen.add(part)
            stack.extend(graph.get(part, ()))
    rels = {name for name in parts if name.endswith(".rels")}
    assert set(parts) - rels - {"[Content_Types].xml"} - seen == set(), "orphan parts"
    types = ET.fromstring(parts["[Content_Types].xml"])
    overrides = {o.get("PartName", "").lstrip("/") for o in types.iter(f"{{{TYPES}}}Override")}
    defaults = {d.get("Extension", "").lower() for d in types.iter(f"{{{TYPES}}}Default")}
    assert overrides <= set(parts), f"content types of missing parts {overrides - set(parts)}"
    for name in parts:
        if name != "[Content_Types].xml":
            assert name in overrides or name.rsplit(".", 1)[-1].lower() in defaults, name


def load(path: Path) -> openpyxl.Workbook:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about the xlsxwriter table/extension parts
        return openpyxl.load_workbook(path)


def png(path: Path) -> Path:
    """A 2x2 red PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    )
    return path


def rich_book(tmp_path: Path) -> Path:
    """Customers (a note, an image), Summary (a chart and formulas on Customers), Report (a chart,
    notes, a table, the same image, a local name), Lists (hidden); Report is the active sheet."""
    path = tmp_path / "rich.xlsx"
    image = png(tmp_path / "red.png")
    book = xlsxwriter.Workbook(path)
    customers = book.add_worksheet("Customers")
    for r, row in enumerate(CUSTOMERS):
        customers.write_row(r, 0, row)
    customers.write_comment("B2", "VIP since 2019")
    customers.insert_image("H2", str(image))
    summary = book.add_worksheet("Summary")
    summary.write_row(0, 0, ["tier", "count"])
    summary.write_formula("B2", '=COUNTIF(Customers!E2:E5,"VIP")', None, 1)
    chart = book.add_chart({"type": "pie"})
    chart.add_series({"categories": "=Summary!$A$2:$A$2", "values": "=Summary!$B$2:$B$2"})
    summary.insert_chart("D2", chart)
    report = book.add_worksheet("Report")
    report.write_row(0, 0, ["month", "revenue"])
    report.write_row(1, 0, ["Jan", 10])
    report.write_row(2, 0, ["Feb", 20])
    report.write_comment("A1", "old note")
    report.add_table("D1:E3", {"columns": [{"header": "k"}, {"header": "v"}]})
    report.insert_image("H10", str(image))
    old_chart = book.add_chart({"type": "column"})
    old_chart.add_series({"categories": "=Report!$A$2:$A$3", "values": "=Report!$B$2:$B$3"})
    report.insert_chart("H2", old_chart)
    lists = book.add_worksheet("Lists")
    lists.write_column(0, 0, ["VIP", "Key", "Standard"])
    lists.hide()
    report.activate()
    summary.set_first_sheet()
    book.define_name("Tiers", "=Lists!$A$1:$A$3")
    book.define_name("Report!Months", "=Report!$A$2:$A$3")
    book.define_name("Lists!Choices", "=Lists!$A$1:$A$3")
    book.close()
    return path


REPORT_ROWS: tuple[tuple[object, ...], ...] = (
    ("Monthly report", None, None),
    (None, None, None),
    ("month", "revenue", "cost"),
    *((dt.date(2024, m, 1).strftime("%b"), 100 * m, 40.5 * m) for m in range(1, 13)),
)


def report_change(name: str = "Report", **extra: object) -> ReplaceSheet:
    chart = Chart(
        "column",
        "Revenue by month",
        "A4:A15",
        (ChartSeries("B4:B15", name="B3"), ChartSeries("C4:C15", name="C3")),
        anchor="E2",
        size=(8, 16),
        x_title="Month",
        y_title="EUR",
    )
    values: dict[str, object] = {
        "freeze": "A4",
        "column_widths": {"A": 18, "B": 12.5},
        "styles": {
            "A3:C3": CellStyle(bold=True, fill="DDEBF7", bottom_border=True),
            "B4:C15": CellStyle(number_format="#,##0.00"),
        },
        "charts": (chart,),
    }
    values.update(extra)
    return ReplaceSheet(name, REPORT_ROWS, **values)  # type: ignore[arg-type]


# --- new sheets

VALUES: tuple[tuple[object, ...], ...] = (
    ("text", "number", "when", "flag"),
    ("  padded  ", 3, dt.date(2024, 2, 29), True),
    ("=SUM(A1:A3)", 2.5, dt.datetime(2024, 2, 29, 13, 45, 30), False),
    ("line\nbreak", -7, None, ""),
    ("中文 ✓", 1e-5, dt.date(1900, 3, 1), None),
)


def test_a_new_sheet_reads_back_in_openpyxl_and_calamine(crm: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.xlsx"
    change = ReplaceSheet(
        "New report",
        VALUES,
        freeze="B2",
        column_widths={"A": 24, "C": 19.5},
        links={"A2": "Customers!E3", "B3": "'Orders'!A2"},
        styles={"A1:D1": CellStyle(bold=True, fill="DDEBF7"), "B2:B5": CellStyle(number_format="0.00", italic=True)},
    )

    plan = apply(crm, target, [change])

    assert plan.parts == {"New report": "xl/worksheets/sheet3.xml"}
    assert set(plan.add) == {"xl/worksheets/sheet3.xml"}
    assert set(plan.rewrite) == {
        "xl/workbook.xml",
        "xl/_rels/workbook.xml.rels",
        "[Content_Types].xml",
        "xl/styles.xml",
    }
    assert plan.remove == set()
    untouched_identical(crm, target, plan)
    check_package(target)

    book = load(target)
    assert book.sheetnames == ["Customers", "Orders", "New report"]
    sheet = book["New report"]
    assert sheet.sheet_state == "visible"
    assert [list(row) for row in sheet.iter_rows(values_only=True)] == [
        ["text", "number", "when", "flag"],
        ["  padded  ", 3, dt.datetime(2024, 2, 29), True],
        ["=SUM(A1:A3)", 2.5, dt.datetime(2024, 2, 29, 13, 45, 30), False],
        ["line\nbreak", -7, None, None],
        ["中文 ✓", 1e-5, dt.datetime(1900, 3, 1), None],
    ]
    assert sheet["A3"].data_type != "f"  # text, never a formula
    assert sheet["C2"].number_format == "yyyy-mm-dd"
    assert sheet["C3"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert sheet["B3"].number_format == "0.00" and sheet["B3"].font.i
    assert sheet["A1"].font.b and sheet["D1"].fill.fgColor.rgb == "FFDDEBF7"  # D1 has no value, still styled
    assert sheet.freeze_panes == "B2"
    assert sheet.column_dimensions["A"].width == 24 and sheet.column_dimensions["C"].width == 19.5
    assert sheet["A2"].hyperlink.location == "Customers!E3"
    assert sheet["B3"].hyperlink.location == "'Orders'!A2"
    assert sheet["A2"].font.u == "single" and sheet["A2"].font.color.rgb == "FF0563C1"
    assert sheet.dimensions == "A1:D5"

    calamine = CalamineWorkbook.from_path(str(target))
    assert calamine.sheet_names == ["Customers", "Orders", "New report"]
    rows = calamine.get_sheet_by_name("New report").to_python()
    assert rows[1][:4] == ["  padded  ", 3, dt.date(2024, 2, 29), True]
    assert rows[2][:2] == ["=SUM(A1:A3)", 2.5]
    assert rows[2][2] == dt.datetime(2024, 2, 29, 13, 45, 30)
    assert rows[4][0] == "中文 ✓"


def test_the_sheet_xml_keeps_the_schema_order_and_escapes_text(crm: Path) -> None:
    change = ReplaceSheet(
        "S",
        (("a<b & c", " x", "bell\x07", "cr\rlf", "_x0041_"),),
        freeze="C3",
        column_widths={"B": 10},
        links={"A1": "S!B1"},
        charts=(Chart("line", "t", "A1:B1", (ChartSeries("A1:B1"),)),),
    )
    xml = plan_for(crm, [change]).add["xl/worksheets/sheet3.xml"].decode()

    order = [
        m.group(1)
        for m in re.finditer(r"<(\w+)[\s/>]", xml.split("<worksheet", 1)[1])
        if m.group(1)
        in ("dimension", "sheetViews", "sheetFormatPr", "cols", "sheetData", "hyperlinks", "pageMargins", "drawing")
    ]
    assert order == [
        "dimension",
        "sheetViews",
        "sheetFormatPr",
        "cols",
        "sheetData",
        "hyperlinks",
        "pageMargins",
        "drawing",
    ]
    assert "<t>a&lt;b &amp; c</t>" in xml
    assert '<t xml:space="preserve"> x</t>' in xml
    assert "<t>bell_x0007_</t>" in xml  # an XML-illegal character, spelled as Excel does
    assert "<t>cr_x000D_lf</t>" in xml
    assert "<t>_x005F_x0041_</t>" in xml  # a literal escape-like text stays literal
    assert '<pane xSplit="2" ySplit="2" topLeftCell="C3" activePane="bottomRight" state="frozen"/>' in xml


def test_a_new_hidden_sheet_and_app_properties(tmp_path: Path) -> None:
    source = rich_book(tmp_path)
    target = tmp_path / "out.xlsx"

    plan = apply(source, target, [ReplaceSheet("_lists", (("a",), ("b",)), hidden=True)])

    book = load(target)
    assert book.sheetnames[-1] == "_lists"
    assert book["_lists"].sheet_state == "hidden"
    assert book.active.title == "Report"  # the active sheet did not move
    app = members(target)["docProps/app.xml"].decode()
    assert "<vt:i4>5</vt:i4>" in app
    assert "<vt:lpstr>Lists</vt:lpstr><vt:lpstr>_lists</vt:lpstr><vt:lpstr>Lists!Choices</vt:lpstr>" in app
    assert 'TitlesOfParts><vt:vector size="8"' in app
    untouched_identical(source, target, plan)
    check_package(target)
    workbook = members(target)["xl/workbook.xml"].decode()
    assert '<sheet name="_lists" sheetId="5" state="hidden" r:id="rId' in workbook


def test_sheet_names_are_checked(crm: Path) -> None:
    for name in ("", "x" * 32, "a/b", "what?", "'quoted'", "History"):
        with pytest.raises(InvalidChange):
            plan_for(crm, [ReplaceSheet(name, (("a",),))])


def test_the_workbook_keeps_a_visible_sheet(crm: Path) -> None:
    with pytest.raises(InvalidChange, match="without a visible sheet"):
        plan_for(crm, [ReplaceSheet("Customers", (("a",),), hidden=True), ReplaceSheet("Orders", (), hidden=True)])
    with pytest.raises(InvalidChange, match="at least one sheet"):
        plan_for(crm, [DeleteSheet("Customers"), DeleteSheet("Orders")])


def test_bad_cells_are_refused(crm: Path) -> None:
    with pytest.raises(InvalidChange, match="X!A1"):
        plan_for(crm, [ReplaceSheet("X", (("x" * 32_768,),))])
    with pytest.raises(InvalidChange, match="X!B1"):
        plan_for(crm, [ReplaceSheet("X", ((1, float("nan")),))])
    with pytest.raises(InvalidChange, match="freeze"):
        plan_for(crm, [ReplaceSheet("X", (), freeze="A2:B3")])
    with pytest.raises(InvalidChange, match="column_widths"):
        plan_for(crm, [ReplaceSheet("X", (), column_widths={"A1": 3})])
    with pytest.raises(InvalidChange, match="not a range"):
        plan_for(crm, [ReplaceSheet("X", (), styles={"nonsense": CellStyle(bold=True)})])


# --- replacing and deleting existing sheets


def test_replacing_a_sheet_keeps_its_place_and_drops_what_only_it_used(tmp_path: Path) -> None:
    source = rich_book(tmp_path)
    target = tmp_path / "out.xlsx"
    before = members(source)

    plan = apply(source, target, [report_change()])

    assert plan.parts == {"Report": "xl/worksheets/sheet3.xml"}
    assert plan.old_hidden == {"Report": False}
    # the old chart, drawing, notes, VML and table went; the image stays: Customers shows it too
    assert {
        "xl/charts/chart2.xml",
        "xl/tables/table1.xml",
        "xl/comments2.xml",
        "xl/drawings/vmlDrawing2.vml",
    } <= plan.remove
    assert not any(name.startswith("xl/media/") for name in plan.remove)
    assert "xl/charts/chart1.xml" not in plan.remove  # Summary's chart
    untouched_identical(source, target, plan)
    check_package(target)
    assert "xl/worksheets/sheet3.xml" in plan.rewrite
    assert before["xl/workbook.xml"] == members(target)["xl/workbook.xml"]  # same place, name, sheetId, state

    book = load(target)
    assert book.sheetnames == ["Customers", "Summary", "Report", "Lists"]
    report = book["Report"]
    assert report["A5"].value == "Feb" and report["B15"].value == 1200
    assert report["A3"].font.b and report["A3"].border.bottom.style == "thin"
    assert report["B4"].number_format == "#,##0.00"
    assert report.freeze_panes == "A4"
    assert "Months" in report.defined_names  # names scoped to it stay
    assert report.sheet_view.tabSelected  # it was, and is, the active sheet
    assert "xl/media/image1.png" in members(target)  # check_package: Customers' drawing still shows it


def test_the_chart_part_refers_to_the_rows_written(tmp_path: Path) -> None:
    source = rich_book(tmp_path)
    target = tmp_path / "out.xlsx"
    plan = apply(source, target, [report_change("Report sheet")])

    charts = [name for name in plan.add if name.startswith("xl/charts/")]
    assert len(charts) == 1
    root = ET.fromstring(plan.add[charts[0]])
    ns = {"c": C}
    assert [f.text for f in root.iterfind(".//c:ser/c:tx//c:f", ns)] == ["'Report sheet'!$B$3", "'Report sheet'!$C$3"]
    assert [f.text for f in root.iterfind(".//c:ser/c:cat//c:f", ns)] == ["'Report sheet'!$A$4:$A$15"] * 2
    assert [f.text for f in root.iterfind(".//c:ser/c:val//c:f", ns)] == [
        "'Report sheet'!$B$4:$B$15",
        "'Report sheet'!$C$4:$C$15",
    ]
    assert [v.text for v in root.iterfind(".//c:ser/c:tx//c:v", ns)] == ["revenue", "cost"]
    categories = [v.text for v in root.find(".//c:ser/c:cat", ns).iterfind(".//c:v", ns)]  # type: ignore[union-attr]
    assert categories[:3] == ["Jan", "Feb", "Mar"] and len(categories) == 12
    first_values = root.find(".//c:ser/c:val//c:numCache", ns)
    assert first_values is not None
    assert first_values.findtext("c:formatCode", namespaces=ns) == "#,##0.00"
    assert [float(v.text or "") for v in first_values.iterfind(".//c:v", ns)] == [100.0 * m for m in range(1, 13)]
    assert root.find(".//c:barChart/c:barDir", ns).get("val") == "col"  # type: ignore[union-attr]
    assert root.find(".//c:barChart/c:grouping", ns).get("val") == "clustered"  # type: ignore[union-attr]

    sheet = members(target)["xl/worksheets/sheet5.xml"].decode()
    assert re.search(r'<drawing r:id="rId1"/></worksheet>$', sheet)
    drawing = next(name for name in plan.add if name.startswith("xl/drawings/drawing"))
    assert "<xdr:from><xdr:col>4</xdr:col>" in plan.add[drawing].decode()
    types = members(target)["[Content_Types].xml"].decode()
    assert (
        f'PartName="/{charts[0]}" ContentType="application/vnd.openxmlformats-officedocument.drawingml.chart+xml"'
        in types
    )
    assert f'PartName="/{drawing}" ContentType="application/vnd.openxmlformats-officedocument.drawing+xml"' in types
    loaded = load(target)["Report sheet"]
    assert len(loaded._charts) == 1


@pytest.mark.parametrize(
    ("kind", "plot", "extra"),
    [
        ("stacked-bar", "barChart", ['<c:barDir val="bar"/>', '<c:grouping val="stacked"/>', '<c:overlap val="100"/>']),
        ("bar", "barChart", ['<c:barDir val="bar"/>', '<c:grouping val="clustered"/>']),
        ("stacked-column", "barChart", ['<c:barDir val="col"/>', '<c:overlap val="100"/>']),
        ("line", "lineChart", ['<c:grouping val="standard"/>', "<c:catAx>"]),
        ("pie", "pieChart", ['<c:varyColors val="1"/>']),
    ],
)
def test_each_chart_type(crm: Path, kind: str, plot: str, extra: list[str]) -> None:
    series = (ChartSeries("B2:B4", "B1"),) if kind == "pie" else (ChartSeries("B2:B4", "B1"), ChartSeries("C2:C4"))
    rows = (("k", "a", "b"), ("x", 1, 2), ("y", 3, 4), ("z", 5, 6))
    plan = plan_for(crm, [ReplaceSheet("C", rows, charts=(Chart(kind, "T", "A2:A4", series),))])  # type: ignore[arg-type]
    xml = plan.add["xl/charts/chart1.xml"].decode()
    assert f"<c:{plot}>" in xml
    for piece in extra:
        assert piece in xml
    assert ("<c:valAx>" in xml) == (kind != "pie")


@pytest.mark.parametrize(
    ("chart", "message"),
    [
        (Chart("donut", "T", "A2:A4", (ChartSeries("B2:B4"),)), "unknown chart type 'donut'"),  # type: ignore[arg-type]
        (Chart("line", "T", "A2:A9", (ChartSeries("B2:B9"),)), "reaches row 9"),
        (Chart("line", "T", "A2:B4", (ChartSeries("B2:B4"),)), "several rows and columns"),
        (Chart("line", "T", "A2:A4", (ChartSeries("B2:B3"),)), "hold 2 cells"),
        (Chart("line", "T", "A2:A4", ()), "at least one series"),
        (Chart("pie", "T", "A2:A4", (ChartSeries("B2:B4"), ChartSeries("B2:B4"))), "one series"),
        (Chart("line", "T", "A2:A4", (ChartSeries("B2:B4", name="B1:B2"),)), "not one cell"),
        (Chart("line", "T", "A2:A4", (ChartSeries("B2:B4"),), anchor="here"), "anchor"),
        (Chart("line", "T", "A2:A4", (ChartSeries("B2:B4"),), size=(0, 3)), "size"),
        (Chart("line", "T", "A2:A4", (ChartSeries("B2:B4"),), anchor="XFD1"), "runs off"),
    ],
)
def test_bad_charts_are_refused_by_sheet_and_title(crm: Path, chart: Chart, message: str) -> None:
    rows = (("k", "a"), ("x", 1), ("y", 3), ("z", 5))
    with pytest.raises(InvalidChange, match=re.escape(message)) as raised:
        plan_for(crm, [ReplaceSheet("Charts", rows, charts=(chart,))])
    assert "Charts: chart 'T'" in str(raised.value)


def test_replacing_twice_leaves_no_orphans(tmp_path: Path) -> None:
    source = rich_book(tmp_path)
    once, twice = tmp_path / "once.xlsx", tmp_path / "twice.xlsx"
    apply(source, once, [report_change(), report_change("Extra")])
    plan = apply(once, twice, [report_change(), report_change("Extra", charts=())])

    check_package(once)
    check_package(twice)
    parts = members(twice)
    assert len([n for n in parts if n.startswith("xl/charts/chart")]) == 2  # Summary's and the new Report's
    assert len([n for n in parts if re.fullmatch(r"xl/drawings/drawing\d+\.xml", n)]) == 3  # Customers, Summary, Report
    assert "xl/worksheets/_rels/sheet5.xml.rels" in plan.remove  # Extra has no drawing any more
    # in one list, the last change to a sheet wins and only its parts are written
    plan = plan_for(source, [report_change(), report_change(charts=())])
    assert not any(name.startswith("xl/charts/") for name in plan.add)


def test_deleting_a_sheet_fixes_names_tabs_and_parts(tmp_path: Path) -> None:
    source = rich_book(tmp_path)
    target = tmp_path / "out.xlsx"
    # Report (index 2) is active, Summary (1) the first tab shown; delete Summary first, after making
    # it safe to delete: nothing refers to it
    plan = apply(source, target, [DeleteSheet("Summary")])

    assert plan.old_hidden == {"Summary": False}
    assert {"xl/worksheets/sheet2.xml", "xl/charts/chart1.xml"} <= plan.remove
    untouched_identical(source, target, plan)
    check_package(target)
    workbook = members(target)["xl/workbook.xml"].decode()
    assert 'activeTab="1"' in workbook and 'firstSheet="1"' in workbook
    assert '<definedName name="Months" localSheetId="1">' in workbook
    assert '<definedName name="Choices" localSheetId="2">' in workbook
    app = members(target)["docProps/app.xml"].decode()
    assert "<vt:lpstr>Summary</vt:lpstr>" not in app and "<vt:i4>3</vt:i4>" in app

    book = load(target)
    assert book.sheetnames == ["Customers", "Report", "Lists"]
    assert book.active.title == "Report"
    assert "Months" in book["Report"].defined_names and "Choices" in book["Lists"].defined_names
    assert CalamineWorkbook.from_path(str(target)).sheet_names == ["Customers", "Report", "Lists"]


def test_deleting_the_active_sheet_moves_to_a_visible_one(tmp_path: Path) -> None:
    source = rich_book(tmp_path)
    target = tmp_path / "out.xlsx"
    plan = apply(source, target, [DeleteSheet("Report")])

    workbook = members(target)["xl/workbook.xml"].decode()
    assert "Months" not in workbook  # the name scoped to the deleted sheet went with it
    assert '<definedName name="Choices" localSheetId="2">' in workbook
    # Report's place went to Lists, which is hidden: the nearest visible sheet before it is taken
    assert load(target).active.title == "Summary"
    assert 'activeTab="1"' in workbook
    assert "xl/tables/table1.xml" in plan.remove
    check_package(target)


def test_deleting_a_sheet_a_formula_uses_is_refused(tmp_path: Path) -> None:
    source = rich_book(tmp_path)
    with pytest.raises(InvalidChange, match=r"Summary.*COUNTIF\(Customers!E2:E5"):
        plan_for(source, [DeleteSheet("Customers")])
    with pytest.raises(InvalidChange, match="the defined name 'Tiers'"):
        plan_for(source, [DeleteSheet("Lists")])
    with pytest.raises(InvalidChange, match="no such sheet"):
        plan_for(source, [DeleteSheet("Nope")])


def test_deleting_a_sheet_a_chart_elsewhere_uses_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    book = xlsxwriter.Workbook(path)
    data = book.add_worksheet("My data")
    data.write_column(0, 0, [1, 2, 3])
    view = book.add_worksheet("View")
    chart = book.add_chart({"type": "line"})
    chart.add_series({"values": "='My data'!$A$1:$A$3"})
    view.insert_chart("A1", chart)
    book.close()
    with pytest.raises(InvalidChange, match=re.escape("the chart xl/charts/chart1.xml")):
        plan_for(path, [DeleteSheet("My data")])
    # a sheet deleted along with the sheet whose formulas use it is fine
    plan_for(path, [DeleteSheet("View"), DeleteSheet("My data"), ReplaceSheet("Fresh", (("a",),))])


def test_a_sheet_deleted_and_made_again_in_one_list(crm: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.xlsx"
    plan = apply(crm, target, [DeleteSheet("Orders"), ReplaceSheet("Orders", (("new",),))])
    assert "xl/worksheets/sheet2.xml" in plan.remove
    assert plan.parts == {"Orders": "xl/worksheets/sheet3.xml"}
    assert load(target)["Orders"]["A1"].value == "new"
    check_package(target)
    # one made and deleted in the same list never reaches the file
    plan = plan_for(crm, [ReplaceSheet("Tmp", (("a",),)), DeleteSheet("Tmp")])
    assert plan.add == {} and "xl/workbook.xml" not in plan.rewrite


def test_replacing_the_active_sheet_with_a_hidden_one_moves_the_active_tab(tmp_path: Path) -> None:
    source = rich_book(tmp_path)
    target = tmp_path / "out.xlsx"
    apply(source, target, [ReplaceSheet("Report", (("x",),), hidden=True)])
    book = load(target)
    assert book["Report"].sheet_state == "hidden"
    assert book.active.sheet_state == "visible"


def test_a_calc_chain_goes_when_its_sheets_change(tmp_path: Path) -> None:
    source = tmp_path / "calc.xlsx"
    write_xlsx(source, {"A": [[1, 2]], "B": [["x"]]})
    parts = members(source)
    parts["xl/calcChain.xml"] = f'<calcChain xmlns="{MAIN}"><c r="A1" i="2"/></calcChain>'.encode()
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>",
        b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        b'calcChain" Target="calcChain.xml"/></Relationships>',
    )
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>",
        b'<Override PartName="/xl/calcChain.xml" '
        b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml"/></Types>',
    )
    with zipfile.ZipFile(source, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    target = tmp_path / "out.xlsx"
    plan = apply(source, target, [ReplaceSheet("B", (("y",),))])
    assert "xl/calcChain.xml" in plan.remove
    assert b"calcChain" not in members(target)["xl/_rels/workbook.xml.rels"]
    check_package(target)


# --- styles


def test_overlapping_ranges_merge_field_by_field_and_styles_are_added_once(crm: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.xlsx"
    old_styles = read_part(crm, "xl/styles.xml")
    old_count = len(StyleBook.parse(old_styles))
    change = ReplaceSheet(
        "S",
        (("a", "b", "c"), (1, 2, 3)),
        styles={
            "A1:C2": CellStyle(fill="FFF2CC", size=9),
            "B1:B2": CellStyle(bold=True, color="C00000"),
            "B2": CellStyle(fill="DDEBF7", wrap=True, top_border=True),
        },
    )
    apply(crm, target, [change])

    sheet = load(target)["S"]
    assert sheet["A1"].fill.fgColor.rgb == "FFFFF2CC" and sheet["A1"].font.sz == 9 and not sheet["A1"].font.b
    assert (
        sheet["B1"].fill.fgColor.rgb == "FFFFF2CC" and sheet["B1"].font.b and sheet["B1"].font.color.rgb == "FFC00000"
    )
    assert sheet["B2"].fill.fgColor.rgb == "FFDDEBF7" and sheet["B2"].font.b and sheet["B2"].font.sz == 9
    assert sheet["B2"].alignment.wrap_text and sheet["B2"].border.top.style == "thin"
    new_styles = members(target)["xl/styles.xml"]
    book = StyleBook.parse(new_styles)
    assert len(book) == old_count + 3  # A1/C1/A2/C2 share one, B1 one, B2 one
    # the old cellXfs come back byte for byte, the new ones after them
    old_xfs = re.search(rb"<cellXfs[^>]*>(.*?)</cellXfs>", old_styles, re.S)
    new_xfs = re.search(rb"<cellXfs[^>]*>(.*?)</cellXfs>", new_styles, re.S)
    assert old_xfs is not None and new_xfs is not None
    assert new_xfs.group(1).startswith(old_xfs.group(1))
    # applying the same looks again to the written book adds nothing
    book.with_look(fill="FFF2CC", size=9)
    book.with_look(fill="FFF2CC", size=9, bold=True, color="C00000")
    assert not book.changed()


def test_with_look_builds_on_font_zero_and_reuses(tmp_path: Path) -> None:
    styles = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
        b'<x:styleSheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<x:fonts count="1"><x:font><x:sz val="11"/><x:color theme="1"/><x:name val="Aptos"/></x:font></x:fonts>'
        b'<x:fills count="2"><x:fill><x:patternFill patternType="none"/></x:fill>'
        b'<x:fill><x:patternFill patternType="gray125"/></x:fill></x:fills>'
        b'<x:borders count="1"><x:border><x:left/><x:right/><x:top/><x:bottom/><x:diagonal/></x:border></x:borders>'
        b'<x:cellStyleXfs count="1"><x:xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></x:cellStyleXfs>'
        b'<x:cellXfs count="2"><x:xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        b'<x:xf numFmtId="4" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></x:cellXfs>'
        b"</x:styleSheet>"
    )
    book = StyleBook.parse(styles)
    assert book.with_look() == 0
    assert book.with_look(number_format="#,##0.00") == 1  # an existing equal style is reused
    assert not book.changed()
    big = book.with_look(size=14, italic=True)
    wrapped = book.with_look(wrap=True, bottom_border=True)
    assert (big, wrapped) == (2, 3)
    xml = book.to_xml()
    assert xml.startswith(styles[:60])
    assert b'<x:font><x:i/><x:sz val="14"/><x:color theme="1"/><x:name val="Aptos"/></x:font>' in xml
    assert b'<x:alignment wrapText="1"/></x:xf>' in xml
    again = StyleBook.parse(xml)
    assert again.with_look(size=14, italic=True) == 2 and again.with_look(wrap=True, bottom_border=True) == 3
    assert not again.changed()
    with pytest.raises(ValueError, match="not a colour"):
        StyleBook.parse(DEFAULT_STYLES).with_look(fill="blue")


# --- LibreOffice


@pytest.mark.slow
@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_converts_every_result(tmp_path: Path) -> None:
    source = rich_book(tmp_path)
    made = {
        "new": apply(source, tmp_path / "new.xlsx", [report_change("Report sheet")]),
        "replaced": apply(source, tmp_path / "replaced.xlsx", [report_change()]),
        "deleted": apply(source, tmp_path / "deleted.xlsx", [DeleteSheet("Summary"), DeleteSheet("Report")]),
    }
    for kind in ("stacked-bar", "line", "pie"):
        series = (
            (ChartSeries("B4:B15", "B3"),)
            if kind == "pie"
            else (ChartSeries("B4:B15", "B3"), ChartSeries("C4:C15", "C3"))
        )
        chart = Chart(kind, f"A {kind} chart", "A4:A15", series, anchor="E2")  # type: ignore[arg-type]
        made[kind] = apply(source, tmp_path / f"{kind}.xlsx", [ReplaceSheet("Report", REPORT_ROWS, charts=(chart,))])
    out = tmp_path / "pdf"
    files = [str(tmp_path / f"{name}.xlsx") for name in made]
    result = subprocess.run(
        [
            str(SOFFICE),
            "--headless",
            f"-env:UserInstallation=file://{tmp_path}/lo-profile",
            "--convert-to",
            "pdf",
            "--outdir",
            str(out),
            *files,
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for name in made:
        pdf = out / f"{name}.pdf"
        assert pdf.exists() and pdf.stat().st_size > 1000, name

"""Report sheets and CSV files from hand-built ReportTables, applied to real workbooks and read back."""

from __future__ import annotations

import csv
import datetime as dt
import posixpath
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import openpyxl
import pytest

import sheetcrm
from sheetcrm.reports.model import ReportColumn, ReportTable
from sheetcrm.reports.render import (
    INDEX_SHEET,
    NO_ROWS,
    is_report_sheet,
    plan_report_sheets,
    report_sheet_name,
    report_sheet_names,
    stale_report_sheets,
    write_csv,
)
from sheetcrm.sample import write_sample_workbook
from sheetcrm.sync.changeset import ChangeSet, DeleteSheet, ReplaceSheet

TODAY = dt.date(2024, 6, 30)
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
NS = {
    "c": "http://schemas.openxmlformats.org/drawingml/2006/chart",
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
}
TEAM_SHEETS = ["Customers", "Orders", "Interactions", "Opportunities"]
MONTHS = [dt.date(2024, month, 1) for month in range(1, 7)]


def revenue(**changes: object) -> ReportTable:
    """Revenue by month: a date, an integer, a currency and a percent column, a note, and totals."""
    values: dict[str, object] = {
        "name": "revenue_by_month",
        "title": "Revenue by month",
        "source": "Orders (1,234 rows)",
        "as_of": TODAY,
        "columns": (
            ReportColumn("month", "date"),
            ReportColumn("orders", "integer"),
            ReportColumn("revenue", "currency"),
            ReportColumn("share", "percent"),
        ),
        "rows": tuple((month, 10 * i, 1000.5 * i, i / 21) for i, month in enumerate(MONTHS, start=1)),
        "totals": ("Total", 210, 21010.5, 1.0),
        "chart": "column",
        "chart_values": (2,),
        "notes": ("Cancelled orders are left out.",),
    }
    values.update(changes)
    return ReportTable(**values)  # type: ignore[arg-type]


def tiers() -> ReportTable:
    """A pie with Chinese headers and two number columns (a pie shows the first only)."""
    return ReportTable(
        "customers_by_tier",
        "客户等级 Customers by tier",
        "Customers (200 rows)",
        TODAY,
        (ReportColumn("等级"), ReportColumn("客户数", "integer"), ReportColumn("金额", "currency")),
        (("贵宾客户（VIP）", 20, 5000.0), ("Key", 50, 3000.0), ("Standard", 130, 1000.0)),
        chart="pie",
    )


def empty() -> ReportTable:
    return ReportTable(
        "won_deals",
        "Won deals",
        "Opportunities (0 rows)",
        TODAY,
        (ReportColumn("stage"), ReportColumn("count", "integer")),
        (),
        totals=("Total", 0),
    )


@pytest.fixture(scope="module")
def sample_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sample") / "crm.xlsx"
    write_sample_workbook(path, customers=200, seed=7, today=TODAY)
    return path


@pytest.fixture
def sample(sample_template: Path, tmp_path: Path) -> Path:
    return Path(shutil.copy(sample_template, tmp_path / "crm.xlsx"))


def render(path: Path, tables: list[ReportTable], **options: object) -> dict[str, str]:
    workbook = sheetcrm.open_workbook(path)
    changes = ChangeSet("reports")
    names = plan_report_sheets(changes, tables, existing=workbook.sheet_names, **options)  # type: ignore[arg-type]
    workbook.apply(changes)
    return names


# -- reading the package ----------------------------------------------------------------------


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rels_of(parts: dict[str, bytes], part: str) -> dict[str, str]:
    """Relationship id → target part of ``part``."""
    folder, name = posixpath.split(part)
    rels = parts.get(posixpath.join(folder, "_rels", f"{name}.rels"))
    if rels is None:
        return {}
    targets = {}
    for rel in ET.fromstring(rels).iterfind(f"{{{PKG_REL}}}Relationship"):
        target = rel.get("Target", "")
        targets[rel.get("Id", "")] = target[1:] if target.startswith("/") else posixpath.join(folder, target)
    return {key: posixpath.normpath(value) for key, value in targets.items()}


def sheet_parts(parts: dict[str, bytes]) -> dict[str, str]:
    """Sheet name → worksheet part."""
    targets = rels_of(parts, "xl/workbook.xml")
    book = ET.fromstring(parts["xl/workbook.xml"])
    return {
        sheet.get("name", ""): targets[sheet.get(f"{{{REL}}}id", "")]
        for sheet in book.iterfind(f"{{{MAIN}}}sheets/{{{MAIN}}}sheet")
    }


def charts_of(path: Path, sheet: str) -> list[ET.Element]:
    """The chart parts drawn on ``sheet``, parsed."""
    parts = members(path)
    found = []
    for drawing in rels_of(parts, sheet_parts(parts)[sheet]).values():
        for chart in rels_of(parts, drawing).values():
            found.append(ET.fromstring(parts[chart]))
    return found


def drawing_xml(path: Path, sheet: str) -> str:
    parts = members(path)
    drawings = [t for t in rels_of(parts, sheet_parts(parts)[sheet]).values() if "/drawings/" in t]
    assert len(drawings) == 1
    return parts[drawings[0]].decode()


def formulas(chart: ET.Element, where: str) -> list[str | None]:
    return [f.text for f in chart.iterfind(f".//c:ser/{where}//c:f", NS)]


# -- names ------------------------------------------------------------------------------------

BAD = re.compile(r"[\[\]:*?/\\]")


def test_sheet_names_follow_the_rule() -> None:
    assert report_sheet_name(revenue()) == "_r Revenue by month"
    assert report_sheet_name(tiers()) == "_r 客户等级 Customers by tier"
    odd = revenue(title="  Q1: 2024/25 [EUR]*?\n by  region '")
    assert report_sheet_name(odd) == "_r Q1- 2024-25 (EUR) by region"
    long = report_sheet_name(revenue(title="Revenue by month and by sales region, last two years"))
    assert long == "_r Revenue by month and by sal…" and len(long) == 31
    assert report_sheet_name(revenue(title="::")) == "_r --"
    assert report_sheet_name(revenue(title="")) == "_r revenue_by_month"
    assert report_sheet_name(revenue(title="", name="?*")) == "_r report"
    for name in ("_r Revenue by month", "_R pipeline"):
        assert is_report_sheet(name)
    for name in (INDEX_SHEET, "Reports", "_review", "Revenue", "_rates"):
        assert not is_report_sheet(name)


def test_names_of_one_run_are_unique_ignoring_case_and_fit() -> None:
    long_title = "Revenue by month and by sales region, last two years"
    tables = [
        revenue(),
        revenue(name="again", title="REVENUE BY MONTH"),
        revenue(name="third", title="Revenue by month"),
        revenue(name="long1", title=long_title),
        revenue(name="long2", title=long_title),
    ]
    names = report_sheet_names(tables, existing=["Customers", "_r revenue BY month"])
    assert names == {
        "revenue_by_month": "_r revenue BY month",  # the existing sheet's spelling: replaced in place
        "again": "_r REVENUE BY MONTH (2)",
        "third": "_r Revenue by month (3)",
        "long1": "_r Revenue by month and by sal…",
        "long2": "_r Revenue by month and by… (2)",
    }
    for name in names.values():
        assert len(name) <= 31 and not BAD.search(name) and is_report_sheet(name)
    assert len({name.casefold() for name in names.values()}) == len(names)
    with pytest.raises(ValueError, match="two reports are called 'again'"):
        report_sheet_names([tables[1], tables[1]])


def test_stale_report_sheets_are_only_report_sheets() -> None:
    existing = ["Customers", "_r Old report", INDEX_SHEET, "_r Revenue by month", "_issues", "_R Gone"]
    assert stale_report_sheets(existing, ["_r revenue by month"]) == ["_r Old report", "_R Gone"]
    assert stale_report_sheets(existing, ["_r Old report", "_r Revenue by month", "_r gone"]) == []


def test_tables_that_do_not_fit_their_columns_are_refused() -> None:
    with pytest.raises(ValueError, match="row 2 has 3 values for 4 columns"):
        plan_report_sheets(ChangeSet(), [revenue(rows=((MONTHS[0], 1, 2.0, 0.5), (MONTHS[1], 1, 2.0)))])
    with pytest.raises(ValueError, match="totals row has 1 values"):
        plan_report_sheets(ChangeSet(), [revenue(totals=("Total",))])
    with pytest.raises(ValueError, match="chart column 7"):
        plan_report_sheets(ChangeSet(), [revenue(chart_values=(7,))])


# -- the report sheet -------------------------------------------------------------------------


def test_a_report_sheet_has_typed_values_formats_and_the_documented_layout(sample: Path) -> None:
    names = render(sample, [revenue()])
    assert names == {"revenue_by_month": "_r Revenue by month"}
    sheet = openpyxl.load_workbook(sample)["_r Revenue by month"]
    assert sheet["A1"].value == "Revenue by month" and sheet["A1"].font.b and sheet["A1"].font.sz == 14
    assert sheet["A2"].value == "as of 2024-06-30 · source: Orders (1,234 rows)"
    assert sheet["A2"].font.i and sheet["A2"].font.color.rgb[-6:] == "808080"
    assert sheet["A3"].value == "Cancelled orders are left out."
    assert all(cell.value is None for cell in sheet[4])
    assert [cell.value for cell in sheet[5]] == ["month", "orders", "revenue", "share"]
    for cell in sheet[5]:
        assert cell.font.b and cell.fill.fgColor.rgb[-6:] == "DDEBF7" and cell.border.bottom.style
    assert sheet.freeze_panes == "B6"

    assert sheet["A6"].value == dt.datetime(2024, 1, 1) and sheet["A6"].is_date
    assert sheet["B6"].value == 10 and isinstance(sheet["B6"].value, int)
    assert sheet["C7"].value == pytest.approx(2001.0) and isinstance(sheet["C7"].value, float)
    assert sheet["D6"].value == pytest.approx(1 / 21)
    formats = {"A": "yyyy-mm-dd", "B": "#,##0", "C": "#,##0.00", "D": "0.0%"}
    for letter, number_format in formats.items():
        for row in range(6, 13):
            assert sheet[f"{letter}{row}"].number_format == number_format, f"{letter}{row}"

    assert [cell.value for cell in sheet[12]] == ["Total", 210, 21010.5, 1.0]
    for cell in sheet[12]:
        assert cell.font.b and cell.border.top.style
    assert not sheet["C11"].font.b and not sheet["C11"].border.top.style
    assert sheet.max_row == 12

    widths = {letter: sheet.column_dimensions[letter].width for letter in "ABCD"}
    assert widths == {"A": 12, "B": 8, "C": 11, "D": 8}  # "2024-01-01", "orders", "21,010.50", min 6 + 2


def test_the_chart_plots_the_data_rows_against_the_categories(sample: Path) -> None:
    render(sample, [revenue(chart_values=())])  # the number columns of the first one's format: orders only
    (chart,) = charts_of(sample, "_r Revenue by month")
    assert chart.find(".//c:barChart/c:barDir", NS).get("val") == "col"  # type: ignore[union-attr]
    assert formulas(chart, "c:cat") == ["'_r Revenue by month'!$A$6:$A$11"]  # no header, no totals
    assert formulas(chart, "c:val") == ["'_r Revenue by month'!$B$6:$B$11"]  # not revenue on the same axis
    assert formulas(chart, "c:tx") == ["'_r Revenue by month'!$B$5"]
    assert [v.text for v in chart.iterfind(".//c:ser/c:tx//c:v", NS)] == ["orders"]
    # dates along the category axis are shown as dates (LibreOffice ignores sourceLinked)
    assert chart.find(".//c:catAx/c:numFmt", NS).get("formatCode") == "yyyy-mm-dd"  # type: ignore[union-attr]
    # bars of counts start at zero (LibreOffice would start near the smallest and exaggerate differences)
    assert chart.find(".//c:valAx/c:scaling/c:min", NS).get("val") == "0"  # type: ignore[union-attr]
    assert chart.findtext(".//c:title//a:t", namespaces=NS) == "Revenue by month"
    drawing = drawing_xml(sample, "_r Revenue by month")
    # two columns right of the last column (D): F, on the header row (5)
    assert "<xdr:from><xdr:col>5</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>4</xdr:row>" in drawing


def test_a_pie_shows_one_series_and_chinese_text_is_measured_double(sample: Path) -> None:
    names = render(sample, [tiers()])
    sheet_name = names["customers_by_tier"]
    (chart,) = charts_of(sample, sheet_name)
    assert chart.find(".//c:pieChart", NS) is not None
    quoted = "'_r 客户等级 Customers by tier'"
    assert formulas(chart, "c:cat") == [f"{quoted}!$A$5:$A$7"]  # no notes: the header is row 4
    assert formulas(chart, "c:val") == [f"{quoted}!$B$5:$B$7"]
    assert [v.text for v in chart.iterfind(".//c:ser/c:tx//c:v", NS)] == ["客户数"]
    sheet = openpyxl.load_workbook(sample)[sheet_name]
    assert [cell.value for cell in sheet[4]] == ["等级", "客户数", "金额"]
    assert sheet.freeze_panes == "B5"
    assert sheet.column_dimensions["A"].width == 17  # 贵宾客户（VIP）: 6 wide characters and 3 narrow, + 2
    assert sheet.column_dimensions["B"].width == 8


def test_bar_charts_name_the_category_axis_on_the_left(sample: Path) -> None:
    render(sample, [revenue(chart="bar")])
    (chart,) = charts_of(sample, "_r Revenue by month")
    assert chart.find(".//c:barChart/c:barDir", NS).get("val") == "bar"  # type: ignore[union-attr]
    axis = chart.find(".//c:catAx", NS)
    assert axis is not None and axis.find("c:axPos", NS).get("val") == "l"  # type: ignore[union-attr]
    assert "month" in ET.tostring(axis, encoding="unicode")


def test_an_empty_report_gets_its_sheet_without_a_chart(sample: Path) -> None:
    names = render(sample, [empty()])
    sheet = openpyxl.load_workbook(sample)[names["won_deals"]]
    assert [[c.value for c in row] for row in sheet.iter_rows(min_row=4, max_row=5)] == [
        ["stage", "count"],
        [NO_ROWS, None],
    ]
    assert sheet.max_row == 5  # no totals without rows
    assert charts_of(sample, names["won_deals"]) == []
    no_chart = render(sample, [revenue(chart=None)])
    assert charts_of(sample, no_chart["revenue_by_month"]) == []


# -- the index, re-runs and the team's sheets -------------------------------------------------


def test_the_index_links_to_each_report(sample: Path) -> None:
    names = render(sample, [revenue(), tiers(), empty()])
    book = openpyxl.load_workbook(sample)
    assert book.sheetnames == [*TEAM_SHEETS, INDEX_SHEET, *names.values()]
    index = book[INDEX_SHEET]
    assert index["A1"].value == "Reports" and index["A1"].font.b
    assert [c.value for c in index[4]] == ["report", "source", "rows", "as of", "notes"]
    assert all(c.font.b and c.fill.fgColor.rgb[-6:] == "DDEBF7" for c in index[4])
    rows = [[c.value for c in row] for row in index.iter_rows(min_row=5)]
    assert rows == [
        ["Revenue by month", "Orders (1,234 rows)", 6, dt.datetime(2024, 6, 30), "Cancelled orders are left out."],
        ["客户等级 Customers by tier", "Customers (200 rows)", 3, dt.datetime(2024, 6, 30), None],
        ["Won deals", "Opportunities (0 rows)", 0, dt.datetime(2024, 6, 30), None],
    ]
    links = {cell: index[cell].hyperlink.location for cell in ("A5", "A6", "A7")}
    assert links == {
        "A5": "'_r Revenue by month'!A1",
        "A6": "'_r 客户等级 Customers by tier'!A1",
        "A7": "'_r Won deals'!A1",
    }
    assert index["D5"].number_format == "yyyy-mm-dd"


def test_a_rerun_replaces_the_sheets_and_leaves_the_team_sheets_byte_identical(sample: Path) -> None:
    before = members(sample)
    team_before = {name: before[part] for name, part in sheet_parts(before).items()}
    render(sample, [revenue(), tiers(), empty()])
    changed = revenue(rows=revenue().rows[:3], totals=("Total", 60, 6003.0, 1.0), notes=())
    render(sample, [changed, tiers(), empty()])

    after = members(sample)
    parts = sheet_parts(after)
    assert list(parts) == [
        *TEAM_SHEETS,
        INDEX_SHEET,
        "_r Revenue by month",
        "_r 客户等级 Customers by tier",
        "_r Won deals",
    ]
    for name in TEAM_SHEETS:
        assert after[parts[name]] == team_before[name], name
        assert rels_of(after, parts[name]) == rels_of(before, sheet_parts(before)[name])
    assert len([n for n in after if n.startswith("xl/charts/")]) == 2  # the first run's charts are gone
    sheet = openpyxl.load_workbook(sample)["_r Revenue by month"]
    assert [c.value for c in sheet[4]] == ["month", "orders", "revenue", "share"]  # no notes now
    assert sheet.max_row == 8 and sheet["A8"].value == "Total"
    (chart,) = charts_of(sample, "_r Revenue by month")
    assert formulas(chart, "c:val") == ["'_r Revenue by month'!$C$5:$C$7"]


def test_one_report_keeps_the_others_on_the_index_and_delete_stale_removes_them(sample: Path) -> None:
    render(sample, [revenue(), tiers()])
    render(sample, [empty()])
    book = openpyxl.load_workbook(sample)
    index = book[INDEX_SHEET]
    assert [c.value for c in index["A"][4:]] == ["Won deals", "Revenue by month", "客户等级 Customers by tier"]
    assert [c.value for c in index["E"][4:]] == [None, "from an earlier run", "from an earlier run"]
    assert index["A6"].hyperlink.location == "'_r Revenue by month'!A1"

    workbook = sheetcrm.open_workbook(sample)
    changes = ChangeSet("reports")
    plan_report_sheets(changes, [empty()], existing=workbook.sheet_names, delete_stale=True)
    deleted = [c.sheet for c in changes if isinstance(c, DeleteSheet)]
    assert deleted == ["_r Revenue by month", "_r 客户等级 Customers by tier"]
    workbook.apply(changes)
    book = openpyxl.load_workbook(sample)
    assert book.sheetnames == [*TEAM_SHEETS, INDEX_SHEET, "_r Won deals"]
    assert [c.value for c in book[INDEX_SHEET]["A"][4:]] == ["Won deals"]

    render(sample, [], delete_stale=True)  # no reports at all: their sheets and the index go
    assert openpyxl.load_workbook(sample).sheetnames == TEAM_SHEETS


def test_without_an_index_only_the_report_sheets_are_planned() -> None:
    changes = ChangeSet()
    assert plan_report_sheets(changes, [revenue()], index=False) == {"revenue_by_month": "_r Revenue by month"}
    assert [(c.kind, c.sheet) for c in changes] == [("replace-sheet", "_r Revenue by month")]
    nothing = ChangeSet()
    assert plan_report_sheets(nothing, []) == {} and not nothing


def test_the_plan_serialises_and_runs_on_the_memory_backend() -> None:
    changes = ChangeSet("reports")
    plan_report_sheets(changes, [revenue(), tiers(), empty()])
    again = ChangeSet.from_json(changes.to_json())
    assert [c.sheet for c in again] == [c.sheet for c in changes]
    assert [c.charts for c in again if isinstance(c, ReplaceSheet)] == [
        c.charts for c in changes if isinstance(c, ReplaceSheet)
    ]
    workbook = sheetcrm.Workbook(sheetcrm.MemoryBackend({"Customers": [["customer_id"], ["C-1"]]}))
    workbook.apply(changes)
    assert workbook.sheet_names[1:] == [
        INDEX_SHEET,
        "_r Revenue by month",
        "_r 客户等级 Customers by tier",
        "_r Won deals",
    ]


# -- LibreOffice ------------------------------------------------------------------------------

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.slow
@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_renders_the_report_sheets(tmp_path: Path) -> None:
    path = tmp_path / "small.xlsx"
    book = openpyxl.Workbook()
    book.active.title = "Notes"  # type: ignore[union-attr]
    book.save(path)
    render(path, [revenue(), tiers(), empty()])
    out = tmp_path / "pdf"
    done = subprocess.run(
        [
            str(SOFFICE),
            f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(out),
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    pdf = out / "small.pdf"
    assert pdf.exists() and pdf.stat().st_size > 10_000 and pdf.read_bytes().startswith(b"%PDF")


# -- CSV --------------------------------------------------------------------------------------


def test_csv_files_have_a_bom_iso_dates_fractions_and_totals(tmp_path: Path) -> None:
    folder = tmp_path / "out" / "reports"
    paths = write_csv([revenue(), tiers(), empty()], folder)
    assert [p.name for p in paths] == ["revenue_by_month.csv", "customers_by_tier.csv", "won_deals.csv"]
    assert all(p.read_bytes().startswith(b"\xef\xbb\xbf") for p in paths)
    with paths[0].open(encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == ["month", "orders", "revenue", "share"]
    assert rows[1] == ["2024-01-01", "10", "1000.5", "0.0476190476190476"]  # 15 digits: no float noise
    assert rows[-1] == ["Total", "210", "21010.5", "1"]
    assert len(rows) == 1 + 6 + 1
    with paths[1].open(encoding="utf-8-sig", newline="") as stream:
        assert list(csv.reader(stream))[:2] == [["等级", "客户数", "金额"], ["贵宾客户（VIP）", "20", "5000"]]
    with paths[2].open(encoding="utf-8-sig", newline="") as stream:
        assert list(csv.reader(stream)) == [["stage", "count"], ["Total", "0"]]
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in paths)  # no temp files left


def test_csv_file_names_are_safe_and_unique(tmp_path: Path) -> None:
    tables = [
        revenue(name="a/b: c?"),
        revenue(name="A_b_ c_"),
        revenue(name="con"),
        revenue(name="..."),
        revenue(name="收入 by month"),
    ]
    paths = write_csv(tables, tmp_path)
    assert [p.name for p in paths] == ["a_b_ c_.csv", "A_b_ c_-2.csv", "con_.csv", "report.csv", "收入 by month.csv"]
    again = write_csv([revenue(rows=())], tmp_path)  # replaced, not appended to
    with again[0].open(encoding="utf-8-sig", newline="") as stream:
        assert len(list(csv.reader(stream))) == 2

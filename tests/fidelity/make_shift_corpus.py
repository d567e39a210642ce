"""Make the row-shift corpus: workbooks whose references must move when rows are deleted, and the deletions to try.

    python tests/fidelity/make_shift_corpus.py OUTDIR            # every workbook, plus OUTDIR/scenarios.json
    python tests/fidelity/make_shift_corpus.py OUTDIR --only chart.xlsx
    python tests/fidelity/make_shift_corpus.py --list             # workbooks, features and scenarios

Nothing is committed: test_row_shift.py makes the files in a temporary folder. The xlsxwriter files are the
same bytes on every run (fixed document dates); the LibreOffice ones are xlsxwriter files opened and saved
again by LibreOffice (one soffice run for all of them, through libreoffice.py), the same content every run.

Every data sheet holds CRM rows from make_corpus.customers(): A customer_id (text), B name, C amount,
D qty, E total (=C*D), F tier, G change (=C(r)-C(r-1), from row 3); header on row 1, data on rows 2..21 unless a
workbook says otherwise. Formulas are written with xlsxwriter's default cached result 0: the test recalculates
everything in LibreOffice, so cached values never matter.

Scenarios delete one row, a contiguous block, scattered rows and the last data row of the shifted sheet,
chosen so that references above, inside and below the deletion, ranges that shrink and ranges that vanish
(#REF!) all occur.

Two xlsxwriter files are touched up after writing, to hold what Excel itself stores: table.xlsx gets
Excel's spelling of structured references (LibreOffice cannot read xlsxwriter's), and shared-formulas.xlsx
gets shared formulas (<f t="shared">), which neither xlsxwriter nor LibreOffice 7.4 writes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # run as a script: make_corpus and libreoffice sit beside this file
    sys.path.insert(0, str(HERE))

import make_corpus  # noqa: E402

FIXED_DT = dt.datetime(2024, 1, 15, 9, 30, 0)
HEADER = ["customer_id", "name", "amount", "qty", "total", "tier", "change"]
DATA_ROWS = 20  # rows 2..21
LAST = DATA_ROWS + 1
APOSTROPHE_SHEET = "Bob's Data"
QUOTED = "'Bob''s Data'"


@dataclass(frozen=True)
class Scenario:
    """Delete ``rows`` (1-based) of ``sheet``."""

    label: str
    sheet: str
    rows: tuple[int, ...]

    @property
    def id(self) -> str:
        return f"{self.label.replace(' ', '-')}-{','.join(map(str, self.rows))}"


@dataclass(frozen=True)
class ShiftWorkbook:
    filename: str
    maker: str  # "xlsxwriter" | "libreoffice"
    features: tuple[str, ...]
    description: str
    scenarios: tuple[Scenario, ...]
    build: Callable[[Path], None] | None = None  # None: LibreOffice re-saves `resaved_from`
    resaved_from: str | None = None


def scenarios(
    sheet: str, one: int, block: tuple[int, ...], scattered: tuple[int, ...], last: int
) -> tuple[Scenario, ...]:
    return (
        Scenario("one row", sheet, (one,)),
        Scenario("contiguous", sheet, block),
        Scenario("scattered", sheet, scattered),
        Scenario("last data row", sheet, (last,)),
    )


# --------------------------------------------------------------------------------------------------------------
# Shared pieces
# --------------------------------------------------------------------------------------------------------------


def workbook(path: Path, title: str) -> Any:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    book.set_properties({"title": title, "author": make_corpus.AUTHOR, "created": FIXED_DT})
    return book


def qty(i: int) -> int:
    return 1 + (i * 7) % 5


def data_sheet(book: Any, name: str, *, rows: int = DATA_ROWS) -> Any:
    """Header on row 1, CRM rows below; E and G are formulas (G, from row 3, refers to the row above)."""
    sheet = book.add_worksheet(name)
    bold = book.add_format({"bold": True})
    money = book.add_format({"num_format": "#,##0.00"})
    sheet.write_row(0, 0, HEADER, bold)
    for i, customer in enumerate(make_corpus.customers(rows), start=2):
        sheet.write_string(f"A{i}", customer.customer_id)
        sheet.write_string(f"B{i}", customer.name)
        sheet.write_number(f"C{i}", customer.amount, money)
        sheet.write_number(f"D{i}", qty(i))
        sheet.write_formula(f"E{i}", f"=C{i}*D{i}", money)
        sheet.write_string(f"F{i}", customer.tier)
        if i > 2:  # refers to the row above: #REF! right below a deleted row, and only there
            sheet.write_formula(f"G{i}", f"=C{i}-C{i - 1}", money)
    sheet.set_column("A:B", 14)
    return sheet


def labelled(sheet: Any, first_row: int, formulas: list[tuple[str, str]], column: int = 0) -> None:
    """Label in one column, formula in the next, one per row from first_row (1-based)."""
    for offset, (label, formula) in enumerate(formulas):
        sheet.write_string(first_row - 1 + offset, column, label)
        sheet.write_formula(first_row - 1 + offset, column + 1, formula)


def refs(prefix: str = "") -> list[tuple[str, str]]:
    """Formulas over the data rows, written from another place; ``prefix`` is "" or "'Sheet'!"."""
    p = prefix
    return [
        ("above", f"={p}C3"),
        ("inside", f"={p}C8"),
        ("below", f"={p}C15"),
        ("last row", f"={p}C{LAST}"),
        ("row total below", f"={p}E18"),
        ("sum spanning", f"=SUM({p}C2:C{LAST})"),
        ("average spanning", f"=AVERAGE({p}C5:C12)"),
        ("sum of the 8-9 block", f"=SUM({p}C8:C9)"),
        ("range starting at 8", f"=SUM({p}C8:C12)"),
        ("range ending at last row", f"=SUM({p}C15:C{LAST})"),
        ("count spanning", f"=COUNT({p}C2:C{LAST})"),
        ("absolute", f"={p}$C$15"),
        ("mixed row-absolute", f"={p}C$15"),
        ("mixed column-absolute", f"={p}$C15"),
        ("absolute range", f"=SUM({p}$C$2:$C${LAST})"),
        ("mixed range", f"=SUM({p}C$5:C$12)"),
        ("whole rows 5:7", f"=SUM({p}5:7)"),
        ("whole rows 8:9", f"=SUM({p}8:9)"),
        ("whole rows spanning", f"=SUM({p}$14:$17)"),
        ("whole column", f"=SUM({p}C:C)"),
        ("index", f"=INDEX({p}$C$2:$C${LAST},10)"),
        ("row() of a moved cell", f"=ROW({p}C15)"),
        ("rows()", f"=ROWS({p}C2:C{LAST})"),
        ("offset", f"=OFFSET({p}C2,5,0)"),
        ("sumif", f'=SUMIF({p}D2:D{LAST},">2",{p}C2:C{LAST})'),
        ("countif", f'=COUNTIF({p}F2:F{LAST},"VIP")'),
        ("vlookup", f'=VLOOKUP("000010",{p}A2:E{LAST},3,FALSE)'),
        ("match", f'=MATCH("000012",{p}A2:A{LAST},0)'),
        ("two cells", f"={p}C4+{p}C16"),
    ]


# --------------------------------------------------------------------------------------------------------------
# The workbooks
# --------------------------------------------------------------------------------------------------------------


def build_same_sheet(path: Path) -> None:
    book = workbook(path, "row shift: same-sheet references")
    data = data_sheet(book, "Data")
    other = book.add_worksheet("Other")
    labelled(data, LAST + 3, refs())
    extra = [
        ("indirect keeps its text", '=INDIRECT("C10")'),
        ("text that looks like a ref", '="see C8 and 8:9"'),
        ("other sheet, same address", "=Other!B8"),
        ("other sheet range", "=SUM(Other!B2:B21)"),
    ]
    labelled(data, LAST + 3 + len(refs()), extra)
    data.write_formula("I1", f"=SUM(C2:C{LAST})")  # above everything
    data.write_formula("J1", f"=C{LAST}-C2")
    other.write_string("A1", "value")
    for i in range(2, 22):
        other.write_number(f"B{i}", i * 10)
    labelled(other, 2, [("Data!C8", "=Data!C8"), ("Data sum", f"=SUM(Data!C2:C{LAST})")], column=3)
    book.close()


def build_cross_sheet_names(path: Path) -> None:
    book = workbook(path, "row shift: cross-sheet references and defined names")
    data = data_sheet(book, APOSTROPHE_SHEET)
    summary = book.add_worksheet("Summary")
    book.add_worksheet("Other Sheet").write_formula("A1", "=Summary!B2*2")
    labelled(summary, 2, refs(QUOTED + "!"))
    book.define_name("Amounts", f"={QUOTED}!$C$2:$C${LAST}")
    book.define_name("Pick", f"={QUOTED}!$C$8")
    book.define_name("Window", f"={QUOTED}!$C$8:$C$9")
    book.define_name("Lower", f"={QUOTED}!$A$15:$G${LAST}")
    book.define_name("Rate", "=0.2")
    book.define_name("Summary!LocalRows", f"={QUOTED}!$A$10:$E$12")
    book.define_name(f"{APOSTROPHE_SHEET}!Totals", f"={QUOTED}!$E$2:$E${LAST}")
    names = [
        ("name: Amounts", "=SUM(Amounts)"),
        ("name: Pick", "=Pick"),
        ("name: Window", "=SUM(Window)"),
        ("name: Lower", "=COUNTA(Lower)"),
        ("name: Rate", "=SUM(Amounts)*Rate"),
        ("sheet name: LocalRows", "=COUNTA(LocalRows)"),
        ("index into a name", "=INDEX(Amounts,7)"),
    ]
    labelled(summary, 2 + len(refs()), names)
    # the data sheet's own scoped name, used there, below the data
    labelled(data, LAST + 3, [("sheet name: Totals", "=SUM(Totals)"), ("Summary!B3", "=Summary!B3")])
    book.close()


def build_table(path: Path) -> None:
    book = workbook(path, "row shift: a table with structured references")
    sheet = book.add_worksheet("Pipeline")
    report = book.add_worksheet("Report")
    rows = make_corpus.customers(DATA_ROWS)
    data = [[c.customer_id, c.name, c.amount, round(0.1 * qty(i), 1), None, c.tier] for i, c in enumerate(rows, 2)]
    sheet.add_table(
        f"A1:F{LAST + 1}",
        {
            "name": "Deals",
            "data": data,
            "total_row": True,
            "columns": [
                {"header": "customer_id", "total_string": "Total"},
                {"header": "name", "total_function": "count"},
                {"header": "amount", "total_function": "sum"},
                {"header": "weight", "total_function": "average"},
                {"header": "weighted", "formula": "=[@amount]*[@weight]", "total_function": "sum"},
                {"header": "tier"},
            ],
        },
    )
    labelled(
        sheet,
        LAST + 4,
        [
            ("direct ref", "=C10"),
            ("data column", "=SUM(Deals[[#Data],[amount]])"),
            ("this table's total", "=Deals[[#Totals],[weighted]]"),
        ],
    )
    labelled(
        report,
        2,
        [
            ("sum of a column", "=SUM(Deals[amount])"),
            ("total row cell", "=Deals[[#Totals],[amount]]"),
            ("counta", "=COUNTA(Deals[customer_id])"),
            ("rows", "=ROWS(Deals)"),
            ("index", "=INDEX(Deals[amount],5)"),
            ("sumifs", '=SUMIFS(Deals[amount],Deals[tier],"VIP")'),
            ("max of calculated column", "=MAX(Deals[weighted])"),
            ("plain ref into the table", "=Pipeline!C8"),
            ("plain range over the table", f"=SUM(Pipeline!E2:E{LAST})"),
        ],
    )
    book.close()
    # xlsxwriter stores [@amount] as [[#This Row],amount] and totals as SUBTOTAL(109,[amount]); Excel
    # reads those, LibreOffice does not (Err:507, #NAME?). Store them as Excel itself does.
    this_row = "[[#This Row],amount]*[[#This Row],weight]"
    excel_form = "Deals[[#This Row],[amount]]*Deals[[#This Row],[weight]]"

    def excel_refs(xml: str) -> str:
        return re.sub(r"SUBTOTAL\((\d+),\[(\w+)\]\)", r"SUBTOTAL(\1,Deals[\2])", xml.replace(this_row, excel_form))

    rewrite_parts(path, {"xl/worksheets/sheet1.xml": excel_refs, "xl/tables/table1.xml": excel_refs})


def build_merged_cf_dv(path: Path) -> None:
    book = workbook(path, "row shift: merged cells, conditional formats, validations, autofilter")
    rows = 24  # data on 2..25
    last = rows + 1
    sheet = data_sheet(book, "Leads", rows=rows)
    sheet.autofilter(f"A1:G{last}")
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    sheet.merge_range("I2:J3", "merged above", wrap)
    sheet.merge_range("I10:I12", "merged across 10-12", wrap)
    sheet.merge_range(f"A{last + 3}:G{last + 4}", "merged below the data", wrap)
    sheet.merge_range("I20:J20", "merged row 20", wrap)
    red = book.add_format({"bg_color": "#FFC7CE"})
    green = book.add_format({"bg_color": "#C6EFCE"})
    sheet.conditional_format(f"C2:C{last}", {"type": "cell", "criteria": ">", "value": 500, "format": red})
    sheet.conditional_format(f"A2:G{last}", {"type": "formula", "criteria": "=$D2>3", "format": green})
    sheet.conditional_format("C10:C12", {"type": "cell", "criteria": "<", "value": 300, "format": red})
    sheet.conditional_format(
        f"A{last + 3}:G{last + 4}", {"type": "text", "criteria": "containing", "value": "merged", "format": green}
    )
    sheet.conditional_format(
        f"E2:E{last}", {"type": "formula", "criteria": f"=E2>AVERAGE($E$2:$E${last})", "format": red}
    )
    # list choices on this sheet, below the data: the validation must follow them
    choices_top = last + 6
    for offset, tier in enumerate(make_corpus.TIERS):
        sheet.write_string(f"K{choices_top + offset}", tier)
    choices = f"$K${choices_top}:$K${choices_top + len(make_corpus.TIERS) - 1}"
    sheet.data_validation(f"F2:F{last}", {"validate": "list", "source": f"={choices}"})
    sheet.data_validation(f"D2:D{last}", {"validate": "integer", "criteria": "between", "minimum": 1, "maximum": 10})
    sheet.data_validation(f"C15:C{last}", {"validate": "decimal", "criteria": ">=", "value": 0})
    sheet.data_validation("H10:H12", {"validate": "decimal", "criteria": "<=", "value": f"=C{last}"})
    sheet.data_validation(f"A{last + 3}", {"validate": "custom", "value": f"=LEN(A{last + 3})>2"})
    labelled(sheet, last + 6, [("choices", f"=COUNTA({choices})"), ("sum", f"=SUM(C2:C{last})")], column=12)
    book.close()


def build_chart(path: Path) -> None:
    book = workbook(path, "row shift: charts over a shifted sheet")
    sheet = data_sheet(book, "Sales")
    dash = book.add_worksheet("Dashboard")
    column = book.add_chart({"type": "column"})
    column.add_series(
        {
            "name": "=Sales!$C$1",
            "categories": f"=Sales!$A$2:$A${LAST}",
            "values": f"=Sales!$C$2:$C${LAST}",
        }
    )
    column.add_series({"name": "=Sales!$E$1", "values": f"=Sales!$E$2:$E${LAST}"})
    column.set_title({"name": "Amount and total per customer"})
    sheet.insert_chart("I2", column)
    line = book.add_chart({"type": "line"})
    line.add_series({"name": "change", "categories": f"=Sales!$A$2:$A${LAST}", "values": f"=Sales!$G$2:$G${LAST}"})
    line.add_series({"name": "middle", "values": "=Sales!$C$6:$C$12"})
    line.add_series({"name": "tail", "values": f"=Sales!$D$17:$D${LAST}"})
    dash.insert_chart("D2", line)
    labelled(dash, 2, [("sum", f"=SUM(Sales!C2:C{LAST})"), ("middle", "=SUM(Sales!C6:C12)")])
    book.close()


SHARED_GROUPS: dict[str, tuple[int, int, Callable[[int], str]]] = {
    # column: (first row, last row, formula in row r) -- each becomes one shared formula, as Excel writes fills
    "H": (2, LAST, lambda r: f'B{r}&" ("&F{r}&")"'),
    "I": (2, LAST, lambda r: f"E{r}/SUM($E$2:$E${LAST})"),
    "J": (3, LAST, lambda r: f"C{r}-C{r - 1}"),
    "K": (2, LAST, lambda r: f"$C{r}*L$1"),
    "M": (8, 14, lambda r: f"SUM(C$2:C{r})"),
}


def build_shared_formulas(path: Path) -> None:
    book = workbook(path, "row shift: shared formulas")
    sheet = data_sheet(book, "Calc")
    sheet.write_number("L1", 1.5)
    for column, (first, last, formula) in SHARED_GROUPS.items():
        for r in range(first, last + 1):
            sheet.write_formula(f"{column}{r}", "=" + formula(r))
    # a horizontal group below the data: SUM of each column, C..E
    for column in "CDE":
        sheet.write_formula(f"{column}{LAST + 2}", f"=SUM({column}2:{column}{LAST})")
    summary = book.add_worksheet("Sum")
    labelled(
        summary,
        2,
        [("sum of I", f"=SUM(Calc!I2:I{LAST})"), ("M14", "=Calc!M14"), ("J3", "=Calc!J3"), ("last", f"=Calc!J{LAST}")],
    )
    book.close()
    groups = {**{c: (f, la) for c, (f, la, _) in SHARED_GROUPS.items()}, "row": (LAST + 2, LAST + 2)}
    rewrite_parts(path, {"xl/worksheets/sheet1.xml": lambda xml: share_formulas(xml, groups)})


def share_formulas(xml: str, groups: dict[str, tuple[int, int]]) -> str:
    """Rewrite filled-down formulas as Excel's shared formulas: the first cell keeps the text with
    t="shared" ref= si=, the others are <f t="shared" si=.../>. LibreOffice 7.4 never writes these itself.

    ``groups`` maps a column to its (first, last) rows; the key "row" makes one horizontal group C..E of that row.
    """
    for si, (key, (first, last)) in enumerate(groups.items()):
        cells = [f"{c}{first}" for c in "CDE"] if key == "row" else [f"{key}{r}" for r in range(first, last + 1)]
        ref = f"{cells[0]}:{cells[-1]}"
        for index, address in enumerate(cells):
            pattern = re.compile(rf'(<c r="{address}"[^>]*>)<f>([^<]*)</f>')
            found = pattern.search(xml)
            if found is None:
                raise RuntimeError(f"no formula at {address} to share")
            shared = (
                f'<f t="shared" ref="{ref}" si="{si}">{found[2]}</f>' if index == 0 else f'<f t="shared" si="{si}"/>'
            )
            xml = xml[: found.start()] + found[1] + shared + xml[found.end() :]
    return xml


def rewrite_parts(path: Path, edits: dict[str, Callable[[str], str]]) -> None:
    """Rewrite some XML parts of a package in place, keeping member order and timestamps."""
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        parts = {info.filename: archive.read(info) for info in infos}
    for part, edit in edits.items():
        before = parts[part].decode("utf-8")
        after = edit(before)
        if after == before:
            raise RuntimeError(f"{path.name}: nothing to rewrite in {part}")
        parts[part] = after.encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in infos:
            archive.writestr(info, parts[info.filename], compress_type=zipfile.ZIP_DEFLATED)


WORKBOOKS: list[ShiftWorkbook] = [
    ShiftWorkbook(
        "same-sheet.xlsx",
        "xlsxwriter",
        ("same-sheet-refs", "absolute-mixed-refs", "whole-row-refs", "ranges", "indirect", "cross-sheet"),
        "Formulas below the data (and in row 1) on the shifted sheet referring to rows above, inside and below "
        "each deletion; relative, $-absolute and mixed references; SUM/AVERAGE/COUNT ranges that span, shrink "
        "and vanish; whole-row and whole-column refs; INDIRECT and a string that look like refs; a second sheet "
        "with the same addresses that must not move.",
        scenarios("Data", 8, (8, 9), (3, 10, 15), LAST),
        build_same_sheet,
    ),
    ShiftWorkbook(
        "cross-sheet-names.xlsx",
        "xlsxwriter",
        ("cross-sheet", "quoted-sheet-name", "defined-names", "sheet-scoped-names", "whole-row-refs"),
        "The shifted sheet is named Bob's Data ('Bob''s Data'!C8 in formulas); a Summary sheet refers to it "
        "with the same formulas as same-sheet.xlsx; workbook names (Amounts, Pick, Window, Lower, a constant), "
        "a Summary-scoped name and a name scoped to the shifted sheet, all used in formulas.",
        scenarios(APOSTROPHE_SHEET, 8, (8, 9), (4, 11, 19), LAST),
        build_cross_sheet_names,
    ),
    ShiftWorkbook(
        "table.xlsx",
        "xlsxwriter",
        ("table", "structured-refs", "total-row", "calculated-column"),
        "An Excel table Deals (A1:F22) with a calculated column and a total row (SUBTOTAL), structured "
        "references from a Report sheet and from below the table.",
        scenarios("Pipeline", 5, (5, 6, 7), (3, 12, 20), LAST),
        build_table,
    ),
    ShiftWorkbook(
        "merged-cf-dv.xlsx",
        "xlsxwriter",
        ("merged-cells", "conditional-formats", "data-validation", "autofilter"),
        "Merged ranges above, across (I10:I12) and below the deletions; conditional formats on spanning, "
        "partly deleted (C10:C12) and lower ranges, with relative and absolute formulas; validations spanning "
        "and below, a list whose choices sit below the data on the same sheet; an autofilter over the data.",
        scenarios("Leads", 11, (10, 11, 12), (4, 14, 22), 25),
        build_merged_cf_dv,
    ),
    ShiftWorkbook(
        "chart.xlsx",
        "xlsxwriter",
        ("chart", "chart-on-other-sheet"),
        "A column chart on the shifted sheet and a line chart on Dashboard whose series read the shifted "
        "sheet: full columns, a middle block (C6:C12) and a tail (D17:D21).",
        scenarios("Sales", 6, (6, 7, 8), (2, 9, 16), LAST),
        build_chart,
    ),
    ShiftWorkbook(
        "shared-formulas.xlsx",
        "xlsxwriter",
        ("shared-formulas",),
        'Filled-down columns stored as shared formulas (<f t="shared" ref= si=>) the way Excel stores them: '
        "groups whose first (master) row is deleted, relative/absolute/mixed refs, a group starting at row 3 "
        "(J), one covering rows 8..14 only (M) and a horizontal group below the data. Written by xlsxwriter "
        "and rewritten here, since neither xlsxwriter nor LibreOffice 7.4 writes shared formulas.",
        (
            Scenario("master row", "Calc", (2,)),
            Scenario("contiguous", "Calc", (2, 3)),
            Scenario("scattered", "Calc", (5, 8, 14)),
            Scenario("last data row", "Calc", (LAST,)),
        ),
        build_shared_formulas,
    ),
    ShiftWorkbook(
        "libreoffice-cross-sheet-names.xlsx",
        "libreoffice",
        ("cross-sheet", "quoted-sheet-name", "defined-names", "sheet-scoped-names", "libreoffice-xml"),
        "cross-sheet-names.xlsx opened and saved by LibreOffice: its own XML for formulas (aca=), names "
        "(function= vbProcedure=) and everything else.",
        scenarios(APOSTROPHE_SHEET, 8, (8, 9), (4, 11, 19), LAST),
        resaved_from="cross-sheet-names.xlsx",
    ),
    ShiftWorkbook(
        "libreoffice-merged-cf-dv.xlsx",
        "libreoffice",
        ("merged-cells", "conditional-formats", "data-validation", "autofilter", "libreoffice-xml"),
        "merged-cf-dv.xlsx opened and saved by LibreOffice: its conditional formats, validations and "
        "autofilter (with the hidden _xlnm._FilterDatabase name).",
        scenarios("Leads", 11, (10, 11, 12), (4, 14, 22), 25),
        resaved_from="merged-cf-dv.xlsx",
    ),
]
BY_NAME = {w.filename: w for w in WORKBOOKS}


def build(outdir: Path, only: set[str] | None = None) -> dict[str, Path]:
    """Make the workbooks in ``outdir``; LibreOffice ones only when LibreOffice can run. Returns what was made."""
    import libreoffice

    outdir.mkdir(parents=True, exist_ok=True)
    wanted = [w for w in WORKBOOKS if only is None or w.filename in only]
    made: dict[str, Path] = {}
    for w in wanted:
        if w.build is not None:
            w.build(outdir / w.filename)
            made[w.filename] = outdir / w.filename
    resaves = [w for w in wanted if w.resaved_from is not None]
    if resaves and libreoffice.libreoffice_available():
        with tempfile.TemporaryDirectory() as tmp:
            jobs: list[libreoffice.Job] = []
            for w in resaves:
                assert w.resaved_from is not None
                source = made.get(w.resaved_from)
                if source is None:  # --only asked for the re-saved file alone
                    source = Path(tmp) / w.resaved_from
                    builder = BY_NAME[w.resaved_from].build
                    assert builder is not None
                    builder(source)
                jobs.append(libreoffice.resave(source, outdir / w.filename))
            for w, result in zip(resaves, libreoffice.run_libreoffice(jobs), strict=True):
                result.check()
                made[w.filename] = outdir / w.filename
    return made


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir", nargs="?", type=Path, help="folder to write the workbooks and scenarios.json into")
    ap.add_argument("--only", action="append", help="make only this workbook (repeatable)")
    ap.add_argument("--list", action="store_true", help="list the workbooks and their scenarios")
    args = ap.parse_args(argv)
    if args.list:
        for w in WORKBOOKS:
            print(f"{w.filename:38} {w.maker:11} {', '.join(w.features)}")
            for s in w.scenarios:
                print(f"{'':38} {s.sheet}: {s.id}")
        return 0
    if args.outdir is None:
        ap.error("give an output folder (or --list)")
    made = build(args.outdir, set(args.only) if args.only else None)
    for w in WORKBOOKS:
        if w.filename in made:
            print(f"made  {w.filename:38} {made[w.filename].stat().st_size:>7} bytes")
        elif args.only is None or w.filename in args.only:
            print(f"skip  {w.filename}: LibreOffice is not available")
    listing = {
        w.filename: {
            "maker": w.maker,
            "features": list(w.features),
            "description": w.description,
            "scenarios": [{"label": s.label, "sheet": s.sheet, "rows": list(s.rows)} for s in w.scenarios],
        }
        for w in WORKBOOKS
        if w.filename in made
    }
    (args.outdir / "scenarios.json").write_text(json.dumps(listing, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Regenerate the fidelity corpus: small CRM-shaped workbooks made by real spreadsheet programs and libraries.

    python tests/fidelity/make_corpus.py            # (re)make every file the installed tools can make
    python tests/fidelity/make_corpus.py --only xlsxwriter-chart.xlsx
    python tests/fidelity/make_corpus.py --check    # open every corpus file with openpyxl, python-calamine, soffice

Makers: xlsxwriter, openpyxl, pandas (openpyxl engine) and LibreOffice Calc (headless). LibreOffice files are
written as flat ODF (.fods) by this script and converted with `soffice --headless --convert-to`, or, for what
.fods cannot express (pivot tables, a VBA project), built through UNO by this same script run as a worker under a
Python that has `uno` (Debian's python3-uno). Files whose tool is missing are skipped with a message and the
committed copy is kept.

Every workbook has a `Customers` sheet with a header row and 30-200 deterministic rows (leading-zero ids as text,
English and Chinese names, phones as text, real dates, amounts, booleans, a few blank cells) plus the feature under
test. `manifest.json` beside this script describes each file; README.md lists them.

Only the standard library is imported at module level, so the UNO worker can run this file under the system Python.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as dt
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import warnings
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
MANIFEST = HERE / "manifest.json"

# Fixed timestamps so that reruns give the same bytes where the tool lets us say so.
FIXED_DT = dt.datetime(2024, 1, 15, 9, 30, 0)
ZIP_DT = (2024, 1, 15, 9, 30, 0)
AUTHOR = "sheetcrm fidelity corpus"

HEADER = ["customer_id", "name", "phone", "email", "tier", "created_at", "amount", "city", "active"]
TIERS = ["Bronze", "Silver", "Gold", "VIP"]
EN_FIRST = ["Alice", "Bob", "Carol", "David", "Emma", "Frank", "Grace", "Henry", "Irene", "Jack", "Karen", "Leo"]
EN_LAST = ["Smith", "Johnson", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Walker", "Wright", "Green", "Clark"]
CN_SURNAME = [
    ("王", "wang"),
    ("李", "li"),
    ("张", "zhang"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("黄", "huang"),
]
CN_SURNAME += [("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"), ("马", "ma"), ("胡", "hu")]
CN_GIVEN = [
    ("伟", "wei"),
    ("芳", "fang"),
    ("娜", "na"),
    ("秀英", "xiuying"),
    ("敏", "min"),
    ("静", "jing"),
    ("丽", "li"),
]
CN_GIVEN += [("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("艳", "yan"), ("杰", "jie"), ("涛", "tao")]
CITIES = ["上海", "北京", "深圳", "杭州", "London", "New York", "Singapore", "Sydney", "成都", "Berlin"]
MONTHS = ["m01", "m02", "m03", "m04", "m05", "m06"]


# --------------------------------------------------------------------------------------------------------------
# The data every workbook shares
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Customer:
    customer_id: str
    name: str
    phone: str
    email: str | None
    tier: str
    created_at: dt.date
    amount: float
    city: str | None
    active: bool
    monthly: tuple[float, ...]

    def values(self) -> list[Any]:
        return [
            self.customer_id,
            self.name,
            self.phone,
            self.email,
            self.tier,
            self.created_at,
            self.amount,
            self.city,
            self.active,
        ]


def customers(n: int) -> list[Customer]:
    """n deterministic customers: plain arithmetic, no random module, so every Python gives the same rows."""
    out = []
    for i in range(1, n + 1):
        if i % 3 == 1:
            (sur, sur_py), (giv, giv_py) = CN_SURNAME[(i * 5) % len(CN_SURNAME)], CN_GIVEN[(i * 3) % len(CN_GIVEN)]
            name, local = sur + giv, f"{sur_py}.{giv_py}"
            phone = f"+86 13{i % 10} {(i * 7919) % 10000:04d} {(i * 104729) % 10000:04d}"
            domain = "example.cn"
        else:
            first, last = EN_FIRST[(i * 7) % len(EN_FIRST)], EN_LAST[(i * 5) % len(EN_LAST)]
            name, local = f"{first} {last}", f"{first}.{last}".lower()
            phone = f"0755-8{(i * 37) % 1000000:06d}1" if i % 4 == 0 else f"+1 415 555 {(i * 13) % 10000:04d}"
            domain = "example.com"
        out.append(
            Customer(
                customer_id=f"{i:06d}",
                name=name,
                phone=phone,
                email=None if i % 17 == 0 else f"{local}{i}@{domain}",
                tier=TIERS[(i * 7 + i // 5) % 4],
                created_at=dt.date(2023, 1, 1) + dt.timedelta(days=(i * 53) % 730),
                amount=round(100 + ((i * 7919) % 90000) / 100, 2),
                city=None if i % 23 == 0 else CITIES[(i * 3) % len(CITIES)],
                active=i % 5 != 0,
                monthly=tuple(round(10 + ((i * 31 + m * 17) % 90) * 1.5, 1) for m in range(len(MONTHS))),
            )
        )
    return out


def summary_rows(rows: list[Customer], sheet: str = "Customers") -> list[tuple[str, str, Any]]:
    """(label, Excel formula, cached value) for the usual Summary sheet."""
    last = len(rows) + 1
    return [
        ("total_amount", f"=SUM({sheet}!G2:G{last})", round(sum(c.amount for c in rows), 2)),
        ("customer_10_name", f"={sheet}!B10", rows[8].name),
        ("vip_count", f'=COUNTIF({sheet}!E2:E{last},"VIP")', sum(c.tier == "VIP" for c in rows)),
        ("avg_amount", f"=AVERAGE({sheet}!G2:G{last})", sum(c.amount for c in rows) / len(rows)),
        ("latest_signup", f"=MAX({sheet}!F2:F{last})", max(c.created_at for c in rows)),
    ]


def make_png(width: int, height: int, hue: int) -> bytes:
    """A small deterministic RGB PNG (a colour gradient with a bar), built with zlib only."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    raw = bytearray()
    for y in range(height):
        raw.append(0)
        for x in range(width):
            bar = height // 3 <= y < 2 * height // 3 and x < width * 3 // 4
            raw += bytes((40, 40, 40) if bar else ((x * 255 // width + hue) % 256, y * 255 // height, 160))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    phys = struct.pack(">IIB", 3780, 3780, 1)  # 96 dpi
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"pHYs", phys)
        + chunk(b"IDAT", zlib.compress(bytes(raw), 9))
        + chunk(b"IEND", b"")
    )


# --------------------------------------------------------------------------------------------------------------
# The corpus description
# --------------------------------------------------------------------------------------------------------------


@dataclass
class Spec:
    filename: str
    maker: str  # xlsxwriter | openpyxl | pandas | libreoffice
    features: list[str]
    rows: int
    build: Callable[[Spec, Path], None]
    description: str
    header_row: int = 1
    needs: str = ""  # "" | "soffice" | "uno"
    extra: dict[str, Any] = field(default_factory=dict)


SPECS: list[Spec] = []


def spec(filename: str, maker: str, rows: int, features: list[str], description: str, **kw: Any) -> Callable:
    def deco(fn: Callable[[Spec, Path], None]) -> Callable[[Spec, Path], None]:
        SPECS.append(Spec(filename, maker, features, rows, fn, description, **kw))
        return fn

    return deco


# --------------------------------------------------------------------------------------------------------------
# xlsxwriter
# --------------------------------------------------------------------------------------------------------------


def xw_workbook(path: Path, title: str, **options: Any) -> Any:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), options)
    wb.set_properties({"title": title, "author": AUTHOR, "company": "sheetcrm", "created": FIXED_DT})
    return wb


def xw_formats(wb: Any) -> dict[str, Any]:
    return {
        "head": wb.add_format({"bold": True, "bg_color": "#DDEBF7", "bottom": 1}),
        "date": wb.add_format({"num_format": "yyyy-mm-dd"}),
        "money": wb.add_format({"num_format": "#,##0.00"}),
        "text": wb.add_format({"num_format": "@"}),
        "bold": wb.add_format({"bold": True}),
    }


def xw_customers(
    wb: Any,
    ws: Any,
    rows: list[Customer],
    fmt: dict[str, Any],
    *,
    first_row: int = 0,
    formula_col: bool = False,
    monthly: bool = False,
    header: bool = True,
) -> None:
    """Header at first_row, data below; columns A..I, J = amount*2 when formula_col, monthly columns after."""
    head = list(HEADER)
    if formula_col:
        head.append("amount_x2")
    if monthly:
        head += MONTHS
    if header:
        ws.write_row(first_row, 0, head, fmt["head"])
    for r, c in enumerate(rows, start=first_row + 1):
        ws.write_string(r, 0, c.customer_id)
        ws.write_string(r, 1, c.name)
        ws.write_string(r, 2, c.phone)
        if c.email is not None:
            ws.write_string(r, 3, c.email)
        ws.write_string(r, 4, c.tier)
        ws.write_datetime(r, 5, dt.datetime.combine(c.created_at, dt.time()), fmt["date"])
        ws.write_number(r, 6, c.amount, fmt["money"])
        if c.city is not None:
            ws.write_string(r, 7, c.city)
        ws.write_boolean(r, 8, c.active)
        col = 9
        if formula_col:
            ws.write_formula(r, col, f"=G{r + 1}*2", fmt["money"], round(c.amount * 2, 2))
            col += 1
        if monthly:
            ws.write_row(r, col, list(c.monthly))
    ws.set_column(0, 0, 10, fmt["text"])
    ws.set_column(1, 1, 16)
    ws.set_column(2, 2, 18)
    ws.set_column(3, 3, 28)
    ws.set_column(5, 5, 11)
    ws.set_column(6, 6, 11)


def xw_summary(wb: Any, rows: list[Customer], fmt: dict[str, Any], name: str = "Summary") -> Any:
    ws = wb.add_worksheet(name)
    ws.write_row(0, 0, ["metric", "value"], fmt["head"])
    for r, (label, formula, value) in enumerate(summary_rows(rows), start=1):
        ws.write_string(r, 0, label)
        if isinstance(value, dt.date):
            serial = (value - dt.date(1899, 12, 30)).days
            ws.write_formula(r, 1, formula, fmt["date"], serial)
        else:
            ws.write_formula(r, 1, formula, fmt["money"] if isinstance(value, float) else None, value)
    ws.set_column(0, 0, 18)
    ws.set_column(1, 1, 14)
    return ws


@spec(
    "xlsxwriter-basic.xlsx",
    "xlsxwriter",
    120,
    [
        "cell-types",
        "text-leading-zero-ids",
        "cjk-text",
        "dates",
        "booleans",
        "blank-cells",
        "number-formats",
        "column-widths",
        "frozen-header",
        "autofilter",
        "ignored-errors",
        "doc-properties",
        "custom-properties",
    ],
    "Plain CRM sheet: styled header, frozen first row, autofilter, number-stored-as-text warnings ignored.",
)
def build_xw_basic(s: Spec, path: Path) -> None:
    wb = xw_workbook(path, "Customers (basic)")
    wb.set_custom_property("crm_version", "1.0")
    wb.set_custom_property("reviewed", True)
    fmt = xw_formats(wb)
    ws = wb.add_worksheet("Customers")
    rows = customers(s.rows)
    xw_customers(wb, ws, rows, fmt)
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, len(rows), len(HEADER) - 1)
    ws.ignore_errors({"number_stored_as_text": f"A2:A{len(rows) + 1} C2:C{len(rows) + 1}"})
    wb.close()


@spec(
    "xlsxwriter-formulas-names.xlsx",
    "xlsxwriter",
    100,
    [
        "formula-column",
        "cached-formula-values",
        "cross-sheet-formulas",
        "defined-names",
        "sheet-scoped-names",
        "named-constant",
        "array-formula",
        "dynamic-array-formula",
        "future-functions-xlfn-prefix",
        "metadata-part",
    ],
    "Formula column J (=G2*2), Summary sheet with SUM/COUNTIF/cross-sheet refs, defined names (global, sheet-local, "
    "constant), a CSE array formula and dynamic-array UNIQUE/XLOOKUP (_xlfn. prefixes, xl/metadata.xml, "
    'cm="1"; xlsxwriter turns XLOOKUP into a single-cell dynamic array formula by itself).',
)
def build_xw_formulas(s: Spec, path: Path) -> None:
    wb = xw_workbook(path, "Customers (formulas)", use_future_functions=True)
    fmt = xw_formats(wb)
    ws = wb.add_worksheet("Customers")
    rows = customers(s.rows)
    last = len(rows) + 1
    xw_customers(wb, ws, rows, fmt, formula_col=True)
    summ = xw_summary(wb, rows, fmt)
    wb.define_name("Amounts", f"=Customers!$G$2:$G${last}")
    wb.define_name("Tiers", f"=Customers!$E$2:$E${last}")
    wb.define_name("TaxRate", "=0.13")
    wb.define_name("Summary!LocalTotal", "=Summary!$B$2")
    r = 7
    summ.write_string(r, 0, "total_with_tax")
    summ.write_formula(r, 1, "=LocalTotal*(1+TaxRate)", fmt["money"], round(sum(c.amount for c in rows) * 1.13, 2))
    summ.write_string(r + 1, 0, "vip_amount (CSE)")
    vip = round(sum(c.amount for c in rows if c.tier == "VIP"), 2)
    summ.write_array_formula(r + 1, 1, r + 1, 1, '{=SUM(Amounts*(Tiers="VIP"))}', fmt["money"], vip)
    summ.write_string(r + 2, 0, "lookup 000042")
    summ.write_formula(r + 2, 1, '=XLOOKUP("000042",Customers!A2:A101,Customers!B2:B101)', None, rows[41].name)
    summ.write_string(r + 4, 0, "distinct tiers")
    distinct = list(dict.fromkeys(c.tier for c in rows))
    summ.write_dynamic_array_formula(r + 4, 1, r + 3 + len(distinct), 1, "=UNIQUE(Tiers)", None, distinct[0])
    for k, t in enumerate(distinct[1:], start=r + 5):
        summ.write_string(k, 1, t)
    wb.close()


@spec(
    "xlsxwriter-chart.xlsx",
    "xlsxwriter",
    60,
    ["chart-column", "chart-line", "drawing", "cross-sheet-chart-ranges", "chart-title-axis-labels"],
    "Column chart over Customers!G (amount) with names as categories, and a line chart on Summary.",
)
def build_xw_chart(s: Spec, path: Path) -> None:
    wb = xw_workbook(path, "Customers (chart)")
    fmt = xw_formats(wb)
    ws = wb.add_worksheet("Customers")
    rows = customers(s.rows)
    xw_customers(wb, ws, rows, fmt)
    ch = wb.add_chart({"type": "column"})
    ch.add_series(
        {
            "name": "=Customers!$G$1",
            "categories": "=Customers!$B$2:$B$21",
            "values": "=Customers!$G$2:$G$21",
            "fill": {"color": "#4472C4"},
        }
    )
    ch.set_title({"name": "Amount, first 20 customers"})
    ch.set_x_axis({"name": "customer"})
    ch.set_y_axis({"name": "amount", "num_format": "#,##0"})
    ch.set_legend({"position": "none"})
    ws.insert_chart("K2", ch, {"x_scale": 1.4, "y_scale": 1.2})
    summ = xw_summary(wb, rows, fmt)
    line = wb.add_chart({"type": "line"})
    line.add_series({"name": "amount", "values": f"=Customers!$G$2:$G${len(rows) + 1}", "marker": {"type": "circle"}})
    line.set_title({"name": "Amount trend"})
    summ.insert_chart("D2", line)
    wb.close()


@spec(
    "xlsxwriter-chartsheet.xlsx",
    "xlsxwriter",
    40,
    ["chartsheet", "chart-pie", "chart-data-labels"],
    "A chartsheet (no cells) with a pie chart of customers per tier, fed by COUNTIF formulas on a Tiers sheet.",
)
def build_xw_chartsheet(s: Spec, path: Path) -> None:
    wb = xw_workbook(path, "Customers (chartsheet)")
    fmt = xw_formats(wb)
    ws = wb.add_worksheet("Customers")
    rows = customers(s.rows)
    xw_customers(wb, ws, rows, fmt)
    tiers = wb.add_worksheet("Tiers")
    tiers.write_row(0, 0, ["tier", "customers"], fmt["head"])
    for r, t in enumerate(TIERS, start=1):
        tiers.write_string(r, 0, t)
        tiers.write_formula(
            r, 1, f"=COUNTIF(Customers!$E$2:$E${len(rows) + 1},A{r + 1})", None, sum(c.tier == t for c in rows)
        )
    cs = wb.add_chartsheet("TierChart")
    pie = wb.add_chart({"type": "pie"})
    pie.add_series(
        {"categories": "=Tiers!$A$2:$A$5", "values": "=Tiers!$B$2:$B$5", "data_labels": {"percentage": True}}
    )
    pie.set_title({"name": "Customers per tier"})
    cs.set_chart(pie)
    wb.close()


@spec(
    "xlsxwriter-image.xlsx",
    "xlsxwriter",
    40,
    ["image-png", "drawing", "image-hyperlink", "image-alt-text"],
    "Two floating PNG images: a logo beside the data and a second one with a hyperlink and alt text.",
)
def build_xw_image(s: Spec, path: Path) -> None:
    wb = xw_workbook(path, "Customers (image)")
    fmt = xw_formats(wb)
    ws = wb.add_worksheet("Customers")
    rows = customers(s.rows)
    xw_customers(wb, ws, rows, fmt)
    ws.insert_image("K2", "logo.png", {"image_data": io.BytesIO(make_png(96, 48, 0)), "description": "CRM logo"})
    ws.insert_image(
        "K8",
        "badge.png",
        {"image_data": io.BytesIO(make_png(48, 48, 90)), "url": "https://example.com/crm", "description": "badge"},
    )
    wb.close()


@spec(
    "xlsxwriter-embedded-image.xlsx",
    "xlsxwriter",
    30,
    ["image-in-cell", "rich-data-parts", "metadata-part"],
    "Pictures embedded in cells (Excel 365 IMAGE-in-cell: xl/richData/*, xl/metadata.xml, vm= cell attribute).",
)
def build_xw_embedded(s: Spec, path: Path) -> None:
    wb = xw_workbook(path, "Customers (embedded images)")
    fmt = xw_formats(wb)
    ws = wb.add_worksheet("Customers")
    rows = customers(s.rows)
    xw_customers(wb, ws, rows, fmt)
    ws.write_string(0, 9, "photo", fmt["head"])
    for r in range(1, 6):
        ws.embed_image(r, 9, f"photo{r}.png", {"image_data": io.BytesIO(make_png(24, 24, r * 40))})
    wb.close()


@spec(
    "xlsxwriter-sparklines.xlsx",
    "xlsxwriter",
    50,
    ["sparklines", "x14-extension", "monthly-columns"],
    "Six monthly amount columns (J..O) and a sparkline per customer in P (line, column and win/loss groups).",
)
def build_xw_sparklines(s: Spec, path: Path) -> None:
    wb = xw_workbook(path, "Customers (sparklines)")
    fmt = xw_formats(wb)
    ws = wb.add_worksheet("Customers")
    rows = customers(s.rows)
    xw_customers(wb, ws, rows, fmt, monthly=True)
    ws.write_string(0, 15, "trend", fmt["head"])
    for r in range(1, len(rows) + 1):
        kind = ("line", "column", "win_loss")[r % 3]
        opts: dict[str, Any] = {"range": f"Customers!J{r + 1}:O{r + 1}", "type": kind}
        if kind == "line":
            opts["markers"] = True
        ws.add_sparkline(r, 15, opts)
    wb.close()


@spec(
    "xlsxwriter-cf.xlsx",
    "xlsxwriter",
    80,
    [
        "conditional-format-cell-is",
        "conditional-format-expression",
        "conditional-format-databar",
        "conditional-format-color-scale",
        "conditional-format-icon-set",
        "conditional-format-top10",
        "conditional-format-duplicates",
        "conditional-format-text",
        "x14-extension",
        "dxf-styles",
    ],
    "Conditional formats: tier cell-is rules, formula rule, data bars (x14), 3-colour scale, icon set, top 10, "
    "duplicate emails, text-contains on city.",
)
def build_xw_cf(s: Spec, path: Path) -> None:
    wb = xw_workbook(path, "Customers (conditional formats)")
    fmt = xw_formats(wb)
    ws = wb.add_worksheet("Customers")
    rows = customers(s.rows)
    xw_customers(wb, ws, rows, fmt)
    last = len(rows) + 1
    gold = wb.add_format({"bg_color": "#FFD966", "font_color": "#7F6000"})
    vip = wb.add_format({"bg_color": "#C00000", "font_color": "#FFFFFF", "bold": True})
    grey = wb.add_format({"font_color": "#808080", "italic": True})
    ws.conditional_format(f"E2:E{last}", {"type": "cell", "criteria": "==", "value": '"VIP"', "format": vip})
    ws.conditional_format(f"E2:E{last}", {"type": "cell", "criteria": "==", "value": '"Gold"', "format": gold})
    ws.conditional_format(f"A2:I{last}", {"type": "formula", "criteria": "=$I2=FALSE", "format": grey})
    ws.conditional_format(f"G2:G{last}", {"type": "data_bar", "bar_color": "#63BE7B", "bar_solid": True})
    ws.conditional_format(f"G2:G{last}", {"type": "3_color_scale"})
    ws.conditional_format(f"F2:F{last}", {"type": "icon_set", "icon_style": "3_arrows"})
    ws.conditional_format(f"G2:G{last}", {"type": "top", "value": 10, "format": wb.add_format({"bold": True})})
    ws.conditional_format(f"D2:D{last}", {"type": "duplicate", "format": wb.add_format({"bg_color": "#FFC7CE"})})
    ws.conditional_format(
        f"H2:H{last}",
        {"type": "text", "criteria": "containing", "value": "上海", "format": wb.add_format({"underline": 1})},
    )
    wb.close()


@spec(
    "xlsxwriter-dv-hidden.xlsx",
    "xlsxwriter",
    70,
    [
        "data-validation-list",
        "data-validation-list-range",
        "data-validation-decimal",
        "data-validation-date",
        "data-validation-custom",
        "input-message",
        "hidden-sheet",
        "very-hidden-sheet",
        "defined-names",
    ],
    "Data validation: tier dropdown from a hidden Lists sheet (via a defined name), amount >= 0, created_at date "
    "range, custom id length rule; a veryHidden _meta sheet.",
)
def build_xw_dv(s: Spec, path: Path) -> None:
    wb = xw_workbook(path, "Customers (validation)")
    fmt = xw_formats(wb)
    ws = wb.add_worksheet("Customers")
    rows = customers(s.rows)
    xw_customers(wb, ws, rows, fmt)
    lists = wb.add_worksheet("Lists")
    lists.write_column(0, 0, TIERS)
    lists.write_column(0, 1, ["上海", "北京", "深圳", "London"])
    lists.hide()
    meta = wb.add_worksheet("_meta")
    meta.write_row(0, 0, ["schema", "crm-customers-v1"])
    meta.very_hidden()
    wb.define_name("TierList", "=Lists!$A$1:$A$4")
    last = len(rows) + 1
    ws.data_validation(
        f"E2:E{last}",
        {
            "validate": "list",
            "source": "=TierList",
            "input_title": "Tier",
            "input_message": "Pick Bronze, Silver, Gold or VIP",
            "error_title": "Unknown tier",
            "error_message": "Choose a tier from the list",
        },
    )
    ws.data_validation(f"G2:G{last}", {"validate": "decimal", "criteria": ">=", "value": 0})
    ws.data_validation(
        f"F2:F{last}",
        {
            "validate": "date",
            "criteria": "between",
            "minimum": dt.date(2020, 1, 1),
            "maximum": dt.date(2030, 12, 31),
            "error_type": "warning",
        },
    )
    ws.data_validation(f"A2:A{last}", {"validate": "custom", "value": "=LEN(A2)=6"})
    ws.data_validation(f"I2:I{last}", {"validate": "list", "source": ["TRUE", "FALSE"]})
    wb.close()


@spec(
    "xlsxwriter-table.xlsx",
    "xlsxwriter",
    90,
    ["table-listobject", "table-total-row", "table-calculated-column", "structured-references", "table-style"],
    "The data as an Excel table (ListObject 'CustomerTable'): banded style, a calculated column "
    "=[@amount]*2 and a total row with SUBTOTAL.",
)
def build_xw_table(s: Spec, path: Path) -> None:
    wb = xw_workbook(path, "Customers (table)")
    fmt = xw_formats(wb)
    ws = wb.add_worksheet("Customers")
    rows = customers(s.rows)
    data = [
        [
            c.customer_id,
            c.name,
            c.phone,
            c.email or "",
            c.tier,
            dt.datetime.combine(c.created_at, dt.time()),
            c.amount,
            c.city or "",
            c.active,
        ]
        for c in rows
    ]
    columns: list[dict[str, Any]] = [{"header": h} for h in HEADER]
    columns[5]["format"] = fmt["date"]
    columns[6]["format"] = fmt["money"]
    columns[6]["total_function"] = "sum"
    columns[0]["total_string"] = "Total"
    columns.append({"header": "amount_x2", "formula": "=[@amount]*2", "format": fmt["money"]})
    ws.add_table(
        0,
        0,
        len(rows) + 1,
        len(columns) - 1,
        {"name": "CustomerTable", "data": data, "columns": columns, "style": "Table Style Medium 2", "total_row": True},
    )
    ws.set_column(0, 0, 10, fmt["text"])
    ws.set_column(1, 3, 20)
    ws.set_column(5, 6, 12)
    wb.close()


@spec(
    "xlsxwriter-notes-hyperlinks.xlsx",
    "xlsxwriter",
    60,
    [
        "legacy-notes",
        "vml-drawing",
        "note-author",
        "visible-note",
        "hyperlinks-external",
        "hyperlinks-mailto",
        "hyperlinks-internal",
        "rich-text-strings",
    ],
    "Legacy notes (comments + VML) with authors, one always visible; hyperlinks to URLs, mailto: on emails and an "
    "internal link to Summary; rich-text (multi-run) strings.",
)
def build_xw_notes(s: Spec, path: Path) -> None:
    wb = xw_workbook(path, "Customers (notes and links)")
    fmt = xw_formats(wb)
    ws = wb.add_worksheet("Customers")
    rows = customers(s.rows)
    xw_customers(wb, ws, rows, fmt)
    ws.set_comments_author("Sales Ops")
    ws.write_comment("B1", "Full legal name, as on the contract")
    ws.write_comment("E5", "Upgraded to VIP after Q3 review\n升级为VIP客户", {"author": "王经理", "visible": True})
    for r in range(10, len(rows) + 1, 10):
        ws.write_comment(r, 6, f"Amount checked against invoice #{1000 + r}")
    link = wb.add_format({"font_color": "blue", "underline": 1})
    for r, c in enumerate(rows, start=1):
        if c.email and r % 2:
            ws.write_url(r, 3, f"mailto:{c.email}", link, string=c.email)
    ws.write_string(0, 9, "profile", fmt["head"])
    for r in range(1, 11):
        ws.write_url(r, 9, f"https://crm.example.com/customers/{rows[r - 1].customer_id}", link, string="open")
    ws.write_url(len(rows) + 2, 0, "internal:Summary!A1", link, string="→ Summary")
    bold_red = wb.add_format({"bold": True, "font_color": "red"})
    ws.write_rich_string(len(rows) + 3, 0, "Status: ", bold_red, "needs review", " (see notes)")
    xw_summary(wb, rows, fmt)
    wb.close()


@spec(
    "xlsxwriter-merged-outline.xlsx",
    "xlsxwriter",
    100,
    [
        "merged-cells",
        "title-area",
        "header-not-row-1",
        "row-outline",
        "hidden-rows",
        "hidden-columns",
        "sheet-protection",
        "unlocked-cells",
        "print-area",
        "print-titles",
        "header-footer",
        "page-setup",
        "tab-color",
    ],
    "A merged two-line title above the header (header on row 3), grouped and collapsed rows, a hidden column, "
    "sheet protection with unlocked input cells, print area/titles and page header/footer.",
    header_row=3,
)
def build_xw_merged(s: Spec, path: Path) -> None:
    wb = xw_workbook(path, "Customers (merged, outline)")
    fmt = xw_formats(wb)
    ws = wb.add_worksheet("Customers")
    rows = customers(s.rows)
    title = wb.add_format(
        {
            "bold": True,
            "font_size": 16,
            "align": "center",
            "valign": "vcenter",
            "bg_color": "#1F4E78",
            "font_color": "white",
        }
    )
    ws.merge_range("A1:I1", "客户名单 Customer list", title)
    ws.merge_range("A2:D2", "Exported for the quarterly review", fmt["bold"])
    ws.merge_range("E2:I2", "Region: APAC + EMEA", fmt["bold"])
    ws.set_row(0, 28)
    xw_customers(wb, ws, rows, fmt, first_row=2)
    for r in range(3, 3 + len(rows)):
        if 20 <= r - 3 < 40:
            ws.set_row(r, None, None, {"level": 1, "hidden": True})
    ws.set_row(3 + 40, None, None, {"collapsed": True})
    ws.set_column(2, 2, 18, None, {"hidden": True})
    unlocked = wb.add_format({"locked": False, "bg_color": "#FFF2CC"})
    ws.set_column(4, 4, 10, unlocked)
    ws.protect("", {"autofilter": True, "sort": True, "format_columns": True})
    ws.print_area(0, 0, 2 + len(rows), 8)
    ws.repeat_rows(2)
    ws.set_header("&LCustomers&C&D&R&P/&N")
    ws.set_footer("&Cconfidential 机密")
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.set_tab_color("#1F4E78")
    wb.close()


@spec(
    "xlsxwriter-constant-memory.xlsx",
    "xlsxwriter",
    200,
    ["inline-strings", "constant-memory-mode", "dates", "cjk-text"],
    'Written in constant_memory mode: strings are inline (<c t="inlineStr"><is>), no sharedStrings part.',
)
def build_xw_constant(s: Spec, path: Path) -> None:
    wb = xw_workbook(path, "Customers (constant memory)", constant_memory=True)
    fmt = xw_formats(wb)
    ws = wb.add_worksheet("Customers")
    xw_customers(wb, ws, customers(s.rows), fmt)
    wb.close()


@spec(
    "xlsxwriter-checkboxes.xlsx",
    "xlsxwriter",
    40,
    ["cell-checkboxes", "feature-property-bag", "booleans"],
    "The `active` column as Excel 365 cell checkboxes (xl/featurePropertyBag/featurePropertyBag.xml).",
)
def build_xw_checkboxes(s: Spec, path: Path) -> None:
    wb = xw_workbook(path, "Customers (checkboxes)")
    fmt = xw_formats(wb)
    ws = wb.add_worksheet("Customers")
    rows = customers(s.rows)
    xw_customers(wb, ws, rows, fmt)
    for r, c in enumerate(rows, start=1):
        ws.insert_checkbox(r, 8, c.active)
    wb.close()


@spec(
    "xlsxwriter-vba.xlsm",
    "xlsxwriter",
    30,
    ["xlsm", "vba-project", "vba-codenames", "form-button", "vml-drawing"],
    "An .xlsm with the vbaProject.bin taken from libreoffice-vba.xlsm (so no third-party binary is committed), "
    "workbook/sheet code names and a form button wired to a macro.",
    needs="libreoffice-vba.xlsm",
)
def build_xw_vba(s: Spec, path: Path) -> None:
    src = CORPUS / "libreoffice-vba.xlsm"
    if not src.exists():
        raise SkipFile("needs libreoffice-vba.xlsm for its vbaProject.bin")
    with zipfile.ZipFile(src) as z:
        vba = z.read("xl/vbaProject.bin")
    wb = xw_workbook(path, "Customers (vba)")
    wb.add_vba_project(io.BytesIO(vba), is_stream=True)
    wb.set_vba_name("ThisWorkbook")
    fmt = xw_formats(wb)
    ws = wb.add_worksheet("Customers")
    ws.set_vba_name("Sheet1")
    xw_customers(wb, ws, customers(s.rows), fmt)
    ws.insert_button("K2", {"macro": "Hello", "caption": "Say hello", "width": 120, "height": 30})
    wb.close()


@spec(
    "xlsxwriter-kitchen-sink.xlsx",
    "xlsxwriter",
    150,
    [
        "formula-column",
        "cross-sheet-formulas",
        "defined-names",
        "merged-cells",
        "conditional-format-cell-is",
        "conditional-format-databar",
        "data-validation-list",
        "chart-column",
        "image-png",
        "sparklines",
        "legacy-notes",
        "hyperlinks-external",
        "hidden-sheet",
        "frozen-header",
        "autofilter",
        "x14-extension",
    ],
    "Many features on one workbook so that their parts interact: frozen header, autofilter, formula column, CF, DV, "
    "notes, links, chart, image, sparklines, hidden Lists sheet, Summary with cross-sheet formulas, merged cells.",
)
def build_xw_kitchen(s: Spec, path: Path) -> None:
    wb = xw_workbook(path, "Customers (kitchen sink)")
    fmt = xw_formats(wb)
    ws = wb.add_worksheet("Customers")
    rows = customers(s.rows)
    last = len(rows) + 1
    xw_customers(wb, ws, rows, fmt, formula_col=True)
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, len(rows), 9)
    lists = wb.add_worksheet("Lists")
    lists.write_column(0, 0, TIERS)
    lists.hide()
    ws.data_validation(f"E2:E{last}", {"validate": "list", "source": "=Lists!$A$1:$A$4"})
    vip = wb.add_format({"bg_color": "#FFD966"})
    ws.conditional_format(f"E2:E{last}", {"type": "cell", "criteria": "==", "value": '"VIP"', "format": vip})
    ws.conditional_format(f"G2:G{last}", {"type": "data_bar"})
    ws.write_comment("A1", "Leading zeros matter: ids are text")
    ws.write_url(1, 11, "https://example.com/crm/000001", string="CRM record")
    ws.merge_range("L4:O5", "Dashboard", wb.add_format({"bold": True, "align": "center", "valign": "vcenter"}))
    ws.add_sparkline("L7", {"range": f"Customers!G2:G{last}"})
    ch = wb.add_chart({"type": "column"})
    ch.add_series({"categories": "=Customers!$A$2:$A$16", "values": "=Customers!$G$2:$G$16", "name": "amount"})
    ws.insert_chart("L9", ch)
    ws.insert_image("L25", "logo.png", {"image_data": io.BytesIO(make_png(64, 32, 200))})
    wb.define_name("Amounts", f"=Customers!$G$2:$G${last}")
    xw_summary(wb, rows, fmt)
    wb.close()


# --------------------------------------------------------------------------------------------------------------
# openpyxl and pandas
# --------------------------------------------------------------------------------------------------------------


class _FixedTimeZipFile(zipfile.ZipFile):
    """A ZipFile whose members get a fixed timestamp (openpyxl's writestr(name, data) would stamp 'now')."""

    def writestr(self, zinfo_or_arcname: Any, data: Any, *args: Any, **kwargs: Any) -> None:
        if isinstance(zinfo_or_arcname, str):
            info = zipfile.ZipInfo(zinfo_or_arcname, date_time=ZIP_DT)
            info.compress_type = self.compression
            info.external_attr = 0o600 << 16
            zinfo_or_arcname = info
        super().writestr(zinfo_or_arcname, data, *args, **kwargs)

    def write(self, filename: Any, arcname: Any = None, *args: Any, **kwargs: Any) -> None:
        # openpyxl streams worksheets to temporary files and adds them with write(): stamp those too
        self.writestr(str(arcname or filename), Path(filename).read_bytes())


def op_save(wb: Any, path: Path) -> None:
    """openpyxl's save_workbook() minus its `modified = now`, into a zip with fixed member times."""
    from openpyxl.writer.excel import ExcelWriter

    wb.properties.creator = AUTHOR
    wb.properties.created = FIXED_DT
    wb.properties.modified = FIXED_DT
    with _FixedTimeZipFile(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(wb, archive).save()


def op_customers(ws: Any, rows: list[Customer], *, first_row: int = 1, formula_col: bool = False) -> None:
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    head = [*HEADER, "amount_x2"] if formula_col else list(HEADER)
    for col, h in enumerate(head, start=1):
        cell = ws.cell(first_row, col, h)
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="305496")
        cell.border = Border(bottom=Side(style="thin"))
        cell.alignment = Alignment(horizontal="center")
    for r, c in enumerate(rows, start=first_row + 1):
        for col, v in enumerate(c.values(), start=1):
            if v is None:
                continue
            cell = ws.cell(r, col, v)
            if col == 1:
                cell.number_format = "@"
            elif col == 6:
                cell.number_format = "yyyy-mm-dd"
            elif col == 7:
                cell.number_format = "#,##0.00"
        if formula_col:
            ws.cell(r, 10, f"=G{r}*2").number_format = "#,##0.00"
    for letter, width in zip("ABCDEFGHIJ", (10, 16, 18, 28, 9, 11, 11, 12, 8, 11), strict=True):
        ws.column_dimensions[letter].width = width


def op_summary(wb: Any, rows: list[Customer]) -> Any:
    ws = wb.create_sheet("Summary")
    ws.append(["metric", "value"])
    for label, formula, value in summary_rows(rows):
        ws.append([label, formula])
        if isinstance(value, dt.date):
            ws.cell(ws.max_row, 2).number_format = "yyyy-mm-dd"
    return ws


@spec(
    "openpyxl-basic.xlsx",
    "openpyxl",
    120,
    [
        "cell-types",
        "text-leading-zero-ids",
        "cjk-text",
        "dates",
        "booleans",
        "blank-cells",
        "number-formats",
        "column-widths",
        "frozen-header",
        "autofilter",
        "styles-fills-borders",
        "doc-properties",
    ],
    'Plain CRM sheet as openpyxl writes it: every string inline (t="inlineStr"), no sharedStrings.xml, no XML '
    "declaration on most parts, frozen header, autofilter, fills and borders.",
)
def build_op_basic(s: Spec, path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Customers"
    op_customers(ws, customers(s.rows))
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:I{s.rows + 1}"
    op_save(wb, path)


@spec(
    "openpyxl-formulas-names-dv-cf.xlsx",
    "openpyxl",
    100,
    [
        "formula-column",
        "no-cached-formula-values",
        "cross-sheet-formulas",
        "defined-names",
        "sheet-scoped-names",
        "data-validation-list",
        "data-validation-decimal",
        "conditional-format-cell-is",
        "conditional-format-expression",
        "conditional-format-databar",
        "conditional-format-color-scale",
        "conditional-format-icon-set",
        "hidden-sheet",
    ],
    "Formula column J and a Summary sheet (formulas without cached values), defined names, tier dropdown from a "
    "hidden Lists sheet, decimal validation, cell-is/expression/data bar/colour scale/icon set rules (no x14).",
)
def build_op_formulas(s: Spec, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.formatting.rule import CellIsRule, ColorScaleRule, DataBarRule, FormulaRule, IconSetRule
    from openpyxl.styles import Font, PatternFill
    from openpyxl.workbook.defined_name import DefinedName
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = "Customers"
    rows = customers(s.rows)
    last = len(rows) + 1
    op_customers(ws, rows, formula_col=True)
    summ = op_summary(wb, rows)
    lists = wb.create_sheet("Lists")
    for t in TIERS:
        lists.append([t])
    lists.sheet_state = "hidden"
    wb.defined_names["Amounts"] = DefinedName("Amounts", attr_text=f"Customers!$G$2:$G${last}")
    wb.defined_names["TierList"] = DefinedName("TierList", attr_text="Lists!$A$1:$A$4")
    summ.defined_names["LocalTotal"] = DefinedName("LocalTotal", attr_text="Summary!$B$2")
    summ.append(["total_x2", "=LocalTotal*2"])
    dv = DataValidation(type="list", formula1="=TierList", allow_blank=True, showErrorMessage=True)
    dv.error, dv.errorTitle, dv.prompt, dv.promptTitle = "Choose a tier", "Unknown tier", "Pick a tier", "Tier"
    dv.add(f"E2:E{last}")
    ws.add_data_validation(dv)
    dv2 = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0")
    dv2.add(f"G2:G{last}")
    ws.add_data_validation(dv2)
    red = PatternFill("solid", bgColor="FFC7CE")
    ws.conditional_formatting.add(f"E2:E{last}", CellIsRule(operator="equal", formula=['"VIP"'], fill=red))
    ws.conditional_formatting.add(f"A2:I{last}", FormulaRule(formula=["$I2=FALSE"], font=Font(italic=True)))
    ws.conditional_formatting.add(f"G2:G{last}", DataBarRule(start_type="min", end_type="max", color="638EC6"))
    ws.conditional_formatting.add(
        f"J2:J{last}",
        ColorScaleRule(
            start_type="min",
            start_color="F8696B",
            mid_type="percentile",
            mid_value=50,
            mid_color="FFEB84",
            end_type="max",
            end_color="63BE7B",
        ),
    )
    ws.conditional_formatting.add(f"F2:F{last}", IconSetRule("3Arrows", "percent", [0, 33, 67]))
    op_save(wb, path)


@spec(
    "openpyxl-table-notes-links-merged.xlsx",
    "openpyxl",
    80,
    [
        "table-listobject",
        "table-style",
        "legacy-notes",
        "vml-drawing",
        "hyperlinks-external",
        "hyperlinks-mailto",
        "hyperlinks-internal",
        "merged-cells",
        "rich-text-strings",
    ],
    "A ListObject over the data, notes, hyperlinks (URL, mailto, internal) and a merged info box right of the table.",
)
def build_op_table(s: Spec, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.cell.rich_text import CellRichText, TextBlock
    from openpyxl.cell.text import InlineFont
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment
    from openpyxl.worksheet.table import Table, TableStyleInfo

    wb = Workbook()
    ws = wb.active
    ws.title = "Customers"
    rows = customers(s.rows)
    op_customers(ws, rows)
    tab = Table(displayName="CustomerTable", ref=f"A1:I{len(rows) + 1}")
    tab.tableStyleInfo = TableStyleInfo(name="TableStyleMedium9", showRowStripes=True)
    ws.add_table(tab)
    ws["B1"].comment = Comment("Full legal name", "Sales Ops")
    ws["E4"].comment = Comment("升级为VIP客户 after review", "王经理")
    for r in range(2, len(rows) + 2, 7):
        cell = ws.cell(r, 4)
        if cell.value:
            cell.hyperlink = f"mailto:{cell.value}"
            cell.style = "Hyperlink"
    ws.merge_cells("K2:N4")
    ws["K2"] = "Customer table\nmaintained by Sales Ops"
    ws["K2"].alignment = Alignment(wrap_text=True, vertical="top")
    ws["K6"] = "website"
    ws["K6"].hyperlink = "https://crm.example.com/"
    ws["K7"] = "→ Summary"
    ws["K7"].hyperlink = "#Summary!A1"
    ws["K9"] = CellRichText("Status: ", TextBlock(InlineFont(b=True, color="FF0000"), "needs review"))
    op_summary(wb, rows)
    op_save(wb, path)


@spec(
    "openpyxl-chart.xlsx",
    "openpyxl",
    50,
    ["chart-bar", "chart-pie", "drawing", "cross-sheet-chart-ranges"],
    "A bar chart over amount and a pie chart of a tier count table, as openpyxl draws them.",
)
def build_op_chart(s: Spec, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, PieChart, Reference

    wb = Workbook()
    ws = wb.active
    ws.title = "Customers"
    rows = customers(s.rows)
    op_customers(ws, rows)
    bar = BarChart()
    bar.title = "Amount, first 20 customers"
    bar.add_data(Reference(ws, min_col=7, min_row=1, max_row=21), titles_from_data=True)
    bar.set_categories(Reference(ws, min_col=2, min_row=2, max_row=21))
    ws.add_chart(bar, "K2")
    tiers = wb.create_sheet("Tiers")
    tiers.append(["tier", "customers"])
    for t in TIERS:
        tiers.append([t, f'=COUNTIF(Customers!$E$2:$E${len(rows) + 1},"{t}")'])
    pie = PieChart()
    pie.title = "Customers per tier"
    pie.add_data(Reference(tiers, min_col=2, min_row=1, max_row=5), titles_from_data=True)
    pie.set_categories(Reference(tiers, min_col=1, min_row=2, max_row=5))
    tiers.add_chart(pie, "D2")
    op_save(wb, path)


@spec(
    "openpyxl-write-only.xlsx",
    "openpyxl",
    200,
    ["write-only-mode", "dates", "cjk-text", "formula-column", "no-cached-formula-values"],
    "Streamed with openpyxl's write-only workbook: no <dimension> element, inline strings, a formula column "
    "without cached values.",
)
def build_op_write_only(s: Spec, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Customers")
    head = []
    for h in [*HEADER, "amount_x2"]:
        cell = WriteOnlyCell(ws, h)
        cell.font = Font(bold=True)
        head.append(cell)
    ws.append(head)
    for r, c in enumerate(customers(s.rows), start=2):
        vals: list[Any] = c.values()
        date_cell = WriteOnlyCell(ws, c.created_at)
        date_cell.number_format = "yyyy-mm-dd"
        vals[5] = date_cell
        ws.append([*vals, f"=G{r}*2"])
    op_save(wb, path)


@spec(
    "pandas-openpyxl.xlsx",
    "pandas",
    150,
    ["dataframe-export", "dates", "cjk-text", "blank-cells", "booleans", "pandas-header-style", "two-sheets"],
    "DataFrame.to_excel(engine='openpyxl', index=False): pandas' bold bordered header, dates with pandas' "
    "date format, NaN as blank cells; a second sheet with a tier pivot made by pandas (values only).",
)
def build_pandas(s: Spec, path: Path) -> None:
    import pandas as pd

    rows = customers(s.rows)
    df = pd.DataFrame([c.values() for c in rows], columns=HEADER)
    df["created_at"] = pd.to_datetime(df["created_at"])
    by_tier = df.groupby("tier", sort=True)["amount"].agg(["count", "sum"]).reset_index()
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl", date_format="YYYY-MM-DD", datetime_format="YYYY-MM-DD") as xw:
        df.to_excel(xw, sheet_name="Customers", index=False)
        by_tier.to_excel(xw, sheet_name="ByTier", index=False)
        book = xw.book
    op_save(book, path)


# --------------------------------------------------------------------------------------------------------------
# LibreOffice: flat ODF written here, converted by soffice
# --------------------------------------------------------------------------------------------------------------

ODF_NS = {
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "draw": "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0",
    "fo": "urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0",
    "xlink": "http://www.w3.org/1999/xlink",
    "dc": "http://purl.org/dc/elements/1.1/",
    "meta": "urn:oasis:names:tc:opendocument:xmlns:meta:1.0",
    "number": "urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0",
    "svg": "urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0",
    "chart": "urn:oasis:names:tc:opendocument:xmlns:chart:1.0",
    "of": "urn:oasis:names:tc:opendocument:xmlns:of:1.2",
    "config": "urn:oasis:names:tc:opendocument:xmlns:config:1.0",
    "script": "urn:oasis:names:tc:opendocument:xmlns:script:1.0",
    "ooo": "http://openoffice.org/2004/office",
    "calcext": "urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0",
    "loext": "urn:org:documentfoundation:names:experimental:office:xmlns:loext:1.0",
}

FODS_STYLES = """
 <office:styles>
  <style:style style:name="Default" style:family="table-cell">
   <style:text-properties style:font-name="Liberation Sans" fo:font-size="10pt"/>
  </style:style>
  <style:style style:name="TierVIP" style:family="table-cell" style:parent-style-name="Default">
   <style:table-cell-properties fo:background-color="#c00000"/>
   <style:text-properties fo:color="#ffffff" fo:font-weight="bold"/>
  </style:style>
  <style:style style:name="TierGold" style:family="table-cell" style:parent-style-name="Default">
   <style:table-cell-properties fo:background-color="#ffd966"/>
  </style:style>
  <style:style style:name="Inactive" style:family="table-cell" style:parent-style-name="Default">
   <style:text-properties fo:color="#808080" fo:font-style="italic"/>
  </style:style>
 </office:styles>
 <office:automatic-styles>
  <number:date-style style:name="N_DATE">
   <number:year number:style="long"/><number:text>-</number:text><number:month number:style="long"/>
   <number:text>-</number:text><number:day number:style="long"/>
  </number:date-style>
  <number:number-style style:name="N_MONEY">
   <number:number number:decimal-places="2" number:min-decimal-places="2" number:min-integer-digits="1"
    number:grouping="true"/>
  </number:number-style>
  <number:boolean-style style:name="N_BOOL"><number:boolean/></number:boolean-style>
  <number:text-style style:name="N_TEXT"><number:text-content/></number:text-style>
  <style:style style:name="ceHead" style:family="table-cell" style:parent-style-name="Default">
   <style:table-cell-properties fo:background-color="#ddebf7" fo:border-bottom="0.74pt solid #000000"/>
   <style:text-properties fo:font-weight="bold"/>
  </style:style>
  <style:style style:name="ceTitle" style:family="table-cell" style:parent-style-name="Default">
   <style:table-cell-properties fo:background-color="#1f4e78" style:vertical-align="middle"/>
   <style:paragraph-properties fo:text-align="center"/>
   <style:text-properties fo:color="#ffffff" fo:font-size="16pt" fo:font-weight="bold"/>
  </style:style>
  <style:style style:name="ceDate" style:family="table-cell" style:parent-style-name="Default"
   style:data-style-name="N_DATE"/>
  <style:style style:name="ceMoney" style:family="table-cell" style:parent-style-name="Default"
   style:data-style-name="N_MONEY"/>
  <style:style style:name="ceBool" style:family="table-cell" style:parent-style-name="Default"
   style:data-style-name="N_BOOL"/>
  <style:style style:name="ceText" style:family="table-cell" style:parent-style-name="Default"
   style:data-style-name="N_TEXT"/>
  <style:style style:name="coS" style:family="table-column">
   <style:table-column-properties fo:break-before="auto" style:column-width="2.2cm"/>
  </style:style>
  <style:style style:name="coM" style:family="table-column">
   <style:table-column-properties fo:break-before="auto" style:column-width="3.4cm"/>
  </style:style>
  <style:style style:name="coL" style:family="table-column">
   <style:table-column-properties fo:break-before="auto" style:column-width="5.6cm"/>
  </style:style>
  <style:style style:name="coHidden" style:family="table-column">
   <style:table-column-properties fo:break-before="auto" style:column-width="3.4cm"/>
  </style:style>
  <style:style style:name="roTitle" style:family="table-row">
   <style:table-row-properties style:row-height="0.9cm" style:use-optimal-row-height="false"/>
  </style:style>
  <style:style style:name="taShown" style:family="table">
   <style:table-properties table:display="true" style:writing-mode="lr-tb"/>
  </style:style>
  <style:style style:name="taHidden" style:family="table">
   <style:table-properties table:display="false" style:writing-mode="lr-tb"/>
  </style:style>
  <style:style style:name="taTab" style:family="table">
   <style:table-properties table:display="true" style:writing-mode="lr-tb" table:tab-color="#1f4e78"/>
  </style:style>
  <style:style style:name="grImg" style:family="graphic">
   <style:graphic-properties draw:stroke="none" draw:fill="none"/>
  </style:style>
 </office:automatic-styles>
"""


def x_attr(name: str, value: object) -> str:
    return f" {name}={quoteattr(str(value))}"


def fc(
    value: Any = None,
    *,
    style: str | None = None,
    formula: str | None = None,
    note: str | None = None,
    note_author: str = "Sales Ops",
    href: str | None = None,
    validation: str | None = None,
    span: tuple[int, int] | None = None,
    inner: str = "",
) -> str:
    """One <table:table-cell>. value: str, float/int, bool, date, or None (empty)."""
    attrs = ""
    if style:
        attrs += x_attr("table:style-name", style)
    if validation:
        attrs += x_attr("table:content-validation-name", validation)
    if span:
        attrs += x_attr("table:number-columns-spanned", span[0]) + x_attr("table:number-rows-spanned", span[1])
    if formula:
        attrs += x_attr("table:formula", formula)
    text = ""
    if isinstance(value, bool):
        attrs += ' office:value-type="boolean"' + x_attr("office:boolean-value", str(value).lower())
        text = "TRUE" if value else "FALSE"
    elif isinstance(value, dt.date):
        attrs += ' office:value-type="date"' + x_attr("office:date-value", value.isoformat())
        text = value.isoformat()
    elif isinstance(value, int | float):
        attrs += ' office:value-type="float"' + x_attr("office:value", repr(value))
        text = repr(value)
    elif isinstance(value, str):
        attrs += ' office:value-type="string"'
        if formula:
            attrs += x_attr("office:string-value", value)
        text = value
    body = inner
    if note:
        paras = "".join(f"<text:p>{escape(p)}</text:p>" for p in note.split("\n"))
        body += (
            f"<office:annotation><dc:creator>{escape(note_author)}</dc:creator>"
            f"<dc:date>{FIXED_DT.isoformat()}</dc:date>{paras}</office:annotation>"
        )
    if value is not None:
        if href:
            body += f'<text:p><text:a xlink:href={quoteattr(href)} xlink:type="simple">{escape(text)}</text:a></text:p>'
        else:
            body += "".join(f"<text:p>{escape(p)}</text:p>" for p in text.split("\n"))
    return f"<table:table-cell{attrs}>{body}</table:table-cell>" if body else f"<table:table-cell{attrs}/>"


def covered(n: int) -> str:
    return (
        f'<table:covered-table-cell table:number-columns-repeated="{n}"/>' if n > 1 else "<table:covered-table-cell/>"
    )


def fods_row(cells: list[str], style: str | None = None) -> str:
    st = x_attr("table:style-name", style) if style else ""
    return f"<table:table-row{st}>" + "".join(cells) + "</table:table-row>"


def fods_table(
    name: str,
    rows: list[str],
    *,
    columns: str = "",
    style: str = "taShown",
    tail: str = "",
    head: str = "",
) -> str:
    cols = columns or '<table:table-column table:style-name="coM"/>'
    return (
        f'<table:table table:name={quoteattr(name)} table:style-name="{style}">{head}{cols}'
        + "".join(rows)
        + tail
        + "</table:table>"
    )


CUSTOMER_COLUMNS = (
    '<table:table-column table:style-name="coS" table:default-cell-style-name="ceText"/>'
    '<table:table-column table:style-name="coM"/>'
    '<table:table-column table:style-name="coM"/>'
    '<table:table-column table:style-name="coL"/>'
    '<table:table-column table:style-name="coS" table:number-columns-repeated="2"/>'
    '<table:table-column table:style-name="coS"/>'
    '<table:table-column table:style-name="coS" table:number-columns-repeated="2"/>'
    '<table:table-column table:style-name="coS" table:number-columns-repeated="8"/>'
)


def fods_customer_rows(
    rows: list[Customer],
    *,
    first_row: int = 1,
    formula_col: bool = False,
    monthly: bool = False,
    tier_validation: str | None = None,
    notes: dict[tuple[int, int], str] | None = None,
    links: dict[tuple[int, int], str] | None = None,
    extra: dict[int, list[str]] | None = None,
) -> list[str]:
    """Header on sheet row first_row (1-based) and data below it; extra[row] cells are appended to that row."""
    notes, links, extra = notes or {}, links or {}, extra or {}
    head = list(HEADER) + (["amount_x2"] if formula_col else []) + (MONTHS if monthly else [])
    out = [
        fods_row(
            [fc(h, style="ceHead", note=notes.get((first_row, i))) for i, h in enumerate(head)]
            + extra.get(first_row, [])
        )
    ]
    for r, c in enumerate(rows, start=first_row + 1):
        styles = ["ceText", None, None, None, None, "ceDate", "ceMoney", None, "ceBool"]
        cells = []
        for i, v in enumerate(c.values()):
            cells.append(
                fc(
                    v,
                    style=styles[i],
                    note=notes.get((r, i)),
                    href=links.get((r, i)),
                    validation=tier_validation if i == 4 else None,
                )
            )
        if formula_col:
            cells.append(fc(round(c.amount * 2, 2), style="ceMoney", formula=f"of:=[.G{r}]*2"))
        if monthly:
            cells += [fc(m) for m in c.monthly]
        out.append(fods_row(cells + extra.get(r, [])))
    return out


def fods_summary_rows(rows: list[Customer]) -> list[str]:
    out = [fods_row([fc("metric", style="ceHead"), fc("value", style="ceHead")])]
    for label, formula, value in summary_rows(rows):
        odf = excel_to_odf_formula(formula)
        style = "ceDate" if isinstance(value, dt.date) else ("ceMoney" if isinstance(value, float) else None)
        out.append(fods_row([fc(label), fc(value, style=style, formula=odf)]))
    return out


def excel_to_odf_formula(f: str) -> str:
    """Just enough translation for the Summary formulas: Sheet!A1:B2 -> [$Sheet.A1:.B2], ',' -> ';'."""
    import re

    def ref(m: re.Match[str]) -> str:
        sheet, a, b = m.group(1), m.group(2), m.group(3)
        return f"[${sheet}.{a}:.{b}]" if b else f"[${sheet}.{a}]"

    body = re.sub(r"(\w+)!(\$?[A-Z]+\$?\d+)(?::(\$?[A-Z]+\$?\d+))?", ref, f[1:])
    return "of:=" + body.replace(",", ";")


def fods_document(
    tables: list[str],
    *,
    validations: str = "",
    named: str = "",
    db_ranges: str = "",
    title: str = "",
) -> str:
    ns = " ".join(f'xmlns:{k}="{v}"' for k, v in ODF_NS.items())
    stamp = FIXED_DT.isoformat()
    meta = (
        f"<office:meta><meta:initial-creator>{AUTHOR}</meta:initial-creator><dc:creator>{AUTHOR}</dc:creator>"
        f"<meta:creation-date>{stamp}</meta:creation-date><dc:date>{stamp}</dc:date>"
        f"<dc:title>{escape(title)}</dc:title></office:meta>"
    )
    body = (
        (f"<table:content-validations>{validations}</table:content-validations>" if validations else "")
        + "".join(tables)
        + (f"<table:named-expressions>{named}</table:named-expressions>" if named else "")
        + (f"<table:database-ranges>{db_ranges}</table:database-ranges>" if db_ranges else "")
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<office:document {ns} office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.spreadsheet">'
        f"{meta}{FODS_STYLES}<office:body><office:spreadsheet>{body}</office:spreadsheet></office:body>"
        "</office:document>\n"
    )


TIER_VALIDATION = (
    '<table:content-validation table:name="valTier" table:condition="of:cell-content-is-in-list(&quot;Bronze&quot;;'
    '&quot;Silver&quot;;&quot;Gold&quot;;&quot;VIP&quot;)" table:allow-empty-cell="true" table:display-list="unsorted"'
    ' table:base-cell-address="Customers.E2">'
    '<table:help-message table:title="Tier" table:display="true"><text:p>Pick Bronze, Silver, Gold or VIP</text:p>'
    "</table:help-message>"
    '<table:error-message table:title="Unknown tier" table:message-type="stop" table:display="true">'
    "<text:p>Choose a tier from the list</text:p></table:error-message></table:content-validation>"
)


def cf_tier(rng: str, base: str) -> str:
    return (
        f'<calcext:conditional-format calcext:target-range-address="{rng}">'
        f'<calcext:condition calcext:apply-style-name="TierVIP" calcext:value="=&quot;VIP&quot;" '
        f'calcext:base-cell-address="{base}"/>'
        f'<calcext:condition calcext:apply-style-name="TierGold" calcext:value="=&quot;Gold&quot;" '
        f'calcext:base-cell-address="{base}"/>'
        "</calcext:conditional-format>"
    )


@spec(
    "libreoffice-basic.xlsx",
    "libreoffice",
    120,
    [
        "cell-types",
        "text-leading-zero-ids",
        "cjk-text",
        "dates",
        "booleans",
        "blank-cells",
        "number-formats",
        "column-widths",
        "autofilter",
        "doc-properties",
    ],
    "Plain CRM sheet saved by LibreOffice Calc: bold filled header, column widths, date/money/boolean formats, "
    "autofilter (LibreOffice writes it with a hidden _xlnm._FilterDatabase name).",
    needs="soffice",
)
def build_lo_basic(s: Spec, path: Path) -> None:
    rows = customers(s.rows)
    table = fods_table("Customers", fods_customer_rows(rows), columns=CUSTOMER_COLUMNS)
    db = (
        '<table:database-range table:name="__Anonymous_Sheet_DB__0" '
        f'table:target-range-address="Customers.A1:Customers.I{len(rows) + 1}" table:display-filter-buttons="true"/>'
    )
    lo_convert(fods_document([table], db_ranges=db, title="Customers (basic)"), path)


@spec(
    "libreoffice-merged-cf-dv.xlsx",
    "libreoffice",
    80,
    [
        "merged-cells",
        "title-area",
        "header-not-row-1",
        "conditional-format-cell-is",
        "conditional-format-expression",
        "data-validation-list",
        "data-validation-decimal",
        "data-validation-date",
        "input-message",
        "dxf-styles",
    ],
    "Merged title rows above the header (header on row 3), tier cell-is rules and an expression rule greying "
    "inactive customers, tier dropdown, amount >= 0 and date-range validations.",
    header_row=3,
    needs="soffice",
)
def build_lo_merged(s: Spec, path: Path) -> None:
    rows = customers(s.rows)
    last = len(rows) + 3
    title = [
        fods_row([fc("客户名单 Customer list", style="ceTitle", span=(9, 1)), covered(8)], style="roTitle"),
        fods_row(
            [
                fc("Exported for the quarterly review", span=(4, 1)),
                covered(3),
                fc("Region: APAC + EMEA", span=(5, 1)),
                covered(4),
            ]
        ),
    ]
    cf = (
        "<calcext:conditional-formats>"
        + cf_tier(f"Customers.E4:Customers.E{last}", "Customers.E4")
        + f'<calcext:conditional-format calcext:target-range-address="Customers.A4:Customers.I{last}">'
        '<calcext:condition calcext:apply-style-name="Inactive" calcext:value="formula-is([.$I4]=0)" '
        'calcext:base-cell-address="Customers.A4"/></calcext:conditional-format>'
        "</calcext:conditional-formats>"
    )
    validations = (
        TIER_VALIDATION.replace("Customers.E2", "Customers.E4")
        + '<table:content-validation table:name="valAmount" table:condition="of:cell-content-is-decimal-number() '
        'and cell-content()&gt;=0" table:allow-empty-cell="true" table:base-cell-address="Customers.G4">'
        '<table:error-message table:message-type="stop" table:display="true"/></table:content-validation>'
        '<table:content-validation table:name="valDate" table:condition="of:cell-content-is-date() and '
        'cell-content-is-between(43831,47848)" table:allow-empty-cell="true" '
        'table:base-cell-address="Customers.F4">'
        '<table:error-message table:message-type="warning" table:display="true"/></table:content-validation>'
    )
    body = fods_customer_rows(rows, first_row=3, tier_validation="valTier")
    # amount and date validations: patch the cells of columns F and G
    body = [
        b.replace(
            'table:style-name="ceDate"', 'table:style-name="ceDate" table:content-validation-name="valDate"'
        ).replace('table:style-name="ceMoney"', 'table:style-name="ceMoney" table:content-validation-name="valAmount"')
        for b in body
    ]
    table = fods_table("Customers", title + body, columns=CUSTOMER_COLUMNS, tail=cf)
    lo_convert(fods_document([table], validations=validations, title="Customers (merged, CF, DV)"), path)


@spec(
    "libreoffice-formulas-names-hidden.xlsx",
    "libreoffice",
    100,
    [
        "formula-column",
        "cached-formula-values",
        "cross-sheet-formulas",
        "defined-names",
        "sheet-scoped-names",
        "named-constant",
        "hidden-sheet",
        "data-validation-list-range",
        "row-outline",
        "hidden-columns",
    ],
    "Formula column J, Summary sheet (SUM, =Customers!B10, COUNTIF, AVERAGE, MAX, VLOOKUP, a named constant), "
    "global and sheet-local names, a hidden Lists sheet feeding the tier dropdown, grouped rows, a hidden column.",
    needs="soffice",
)
def build_lo_formulas(s: Spec, path: Path) -> None:
    rows = customers(s.rows)
    last = len(rows) + 1
    body = fods_customer_rows(rows, formula_col=True, tier_validation="valTierRange")
    # rows 12..21 (sheet rows) grouped
    grouped = [*body[:11], "<table:table-row-group>", *body[11:21], "</table:table-row-group>", *body[21:]]
    columns = CUSTOMER_COLUMNS.replace(
        '<table:table-column table:style-name="coM"/><table:table-column table:style-name="coL"/>',
        '<table:table-column table:style-name="coM" table:visibility="collapse"/>'
        '<table:table-column table:style-name="coL"/>',
    )
    customers_t = fods_table("Customers", grouped, columns=columns)
    summary = fods_summary_rows(rows)
    total = round(sum(c.amount for c in rows), 2)
    summary += [
        fods_row([fc("total_with_tax"), fc(round(total * 1.13, 2), style="ceMoney", formula="of:=[.B2]*(1+TaxRate)")]),
        fods_row([fc("local_total"), fc(total, style="ceMoney", formula="of:=LocalTotal")]),
        fods_row(
            [
                fc("lookup 000042"),
                fc(rows[41].name, formula=f'of:=VLOOKUP("000042";[$Customers.A2:.B{last}];2;0)'),
            ]
        ),
    ]
    local = (
        "<table:named-expressions>"
        '<table:named-range table:name="LocalTotal" table:base-cell-address="$Summary.$A$1" '
        'table:cell-range-address="$Summary.$B$2"/></table:named-expressions>'
    )
    summary_t = fods_table("Summary", summary, tail=local)
    lists_t = fods_table("Lists", [fods_row([fc(t)]) for t in TIERS], style="taHidden")
    named = (
        f'<table:named-range table:name="Amounts" table:base-cell-address="$Customers.$A$1" '
        f'table:cell-range-address="$Customers.$G$2:.$G${last}"/>'
        '<table:named-range table:name="TierList" table:base-cell-address="$Lists.$A$1" '
        'table:cell-range-address="$Lists.$A$1:.$A$4"/>'
        '<table:named-expression table:name="TaxRate" table:base-cell-address="$Customers.$A$1" '
        'table:expression="of:=0.13"/>'
    )
    validations = (
        '<table:content-validation table:name="valTierRange" table:condition="of:cell-content-is-in-list(TierList)" '
        'table:allow-empty-cell="true" table:display-list="unsorted" table:base-cell-address="Customers.E2">'
        '<table:error-message table:message-type="stop" table:display="true"/></table:content-validation>'
    )
    doc = fods_document(
        [customers_t, summary_t, lists_t], validations=validations, named=named, title="Customers (formulas)"
    )
    lo_convert(doc, path)


@spec(
    "libreoffice-notes-hyperlinks.xlsx",
    "libreoffice",
    60,
    [
        "legacy-notes",
        "vml-drawing",
        "note-author",
        "hyperlinks-external",
        "hyperlinks-mailto",
        "hyperlinks-internal",
        "tab-color",
    ],
    "Cell annotations (exported as legacy notes + VML) on header and data cells, mailto: links on emails, "
    "URL links in a profile column, an internal link to Summary, a coloured sheet tab.",
    needs="soffice",
)
def build_lo_notes(s: Spec, path: Path) -> None:
    rows = customers(s.rows)
    notes = {(1, 1): "Full legal name, as on the contract", (5, 4): "Upgraded to VIP after Q3 review\n升级为VIP客户"}
    for r in range(11, len(rows) + 2, 10):
        notes[(r, 6)] = f"Amount checked against invoice #{1000 + r}"
    links = {(r, 3): f"mailto:{rows[r - 2].email}" for r in range(2, len(rows) + 2, 2) if rows[r - 2].email}
    extra = {1: [fc("profile", style="ceHead")]}
    for r in range(2, 12):
        extra[r] = [fc("open", href=f"https://crm.example.com/customers/{rows[r - 2].customer_id}")]
    body = fods_customer_rows(rows, notes=notes, links=links, extra=extra)
    body.append(fods_row([fc("→ Summary", href="#Summary.A1")]))
    tables = [
        fods_table("Customers", body, columns=CUSTOMER_COLUMNS, style="taTab"),
        fods_table("Summary", fods_summary_rows(rows)),
    ]
    lo_convert(fods_document(tables, title="Customers (notes, links)"), path)


def fods_chart(name: str, cats: str, vals: str, label: str, anchor_end: str, kind: str = "bar") -> str:
    return (
        f'<draw:frame draw:z-index="0" draw:name="{name}" svg:width="12cm" svg:height="7cm" svg:x="0.1cm" '
        f'svg:y="0.1cm" table:end-cell-address="{anchor_end}" table:end-x="0cm" table:end-y="0cm">'
        f'<draw:object draw:notify-on-update-of-ranges="{cats} {vals}">'
        '<office:document office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.chart">'
        f'<office:body><office:chart><chart:chart svg:width="12cm" svg:height="7cm" chart:class="chart:{kind}">'
        "<chart:title><text:p>Amount, first 20 customers</text:p></chart:title>"
        f'<chart:plot-area table:cell-range-address="{cats} {vals}" chart:data-source-has-labels="none">'
        f'<chart:axis chart:dimension="x" chart:name="primary-x"><chart:categories table:cell-range-address="{cats}"/>'
        "</chart:axis>"
        '<chart:axis chart:dimension="y" chart:name="primary-y"><chart:grid chart:class="major"/></chart:axis>'
        f'<chart:series chart:values-cell-range-address="{vals}" chart:label-cell-address="{label}" '
        f'chart:class="chart:{kind}"/>'
        "</chart:plot-area></chart:chart></office:chart></office:body></office:document></draw:object></draw:frame>"
    )


def fods_image(name: str, png: bytes, width_cm: float, height_cm: float) -> str:
    b64 = base64.b64encode(png).decode("ascii")
    return (
        f'<draw:frame draw:z-index="1" draw:name="{name}" draw:style-name="grImg" svg:width="{width_cm}cm" '
        f'svg:height="{height_cm}cm" svg:x="0.1cm" svg:y="0.1cm"><draw:image>'
        f"<office:binary-data>{b64}</office:binary-data></draw:image>"
        f"<svg:title>{escape(name)}</svg:title></draw:frame>"
    )


@spec(
    "libreoffice-chart-image.xlsx",
    "libreoffice",
    40,
    ["chart-bar", "image-png", "drawing", "chart-title"],
    "An embedded bar chart over Customers!G2:G21 (names as categories) and a cell-anchored PNG logo.",
    needs="soffice",
)
def build_lo_chart(s: Spec, path: Path) -> None:
    rows = customers(s.rows)
    chart = fods_chart(
        "AmountChart", "Customers.B2:Customers.B21", "Customers.G2:Customers.G21", "Customers.G1", "Customers.R20"
    )
    extra = {2: [fc(), fc(inner=chart)], 24: [fc(), fc(inner=fods_image("Logo", make_png(96, 48, 0), 3.0, 1.5))]}
    table = fods_table("Customers", fods_customer_rows(rows, extra=extra), columns=CUSTOMER_COLUMNS)
    lo_convert(fods_document([table], title="Customers (chart, image)"), path)


@spec(
    "libreoffice-sparklines-cf.xlsx",
    "libreoffice",
    50,
    [
        "sparklines",
        "x14-extension",
        "monthly-columns",
        "conditional-format-databar",
        "conditional-format-color-scale",
        "conditional-format-icon-set",
    ],
    "Monthly columns J..O with a sparkline per customer in P (LibreOffice 7.4+ writes x14:sparklineGroups), "
    "data bars and a colour scale on amount, an icon set on the monthly values.",
    needs="soffice",
)
def build_lo_sparklines(s: Spec, path: Path) -> None:
    rows = customers(s.rows)
    last = len(rows) + 1
    extra = {1: [fc("trend", style="ceHead")]}
    body = fods_customer_rows(rows, monthly=True, extra=extra)
    group_attrs = (
        'calcext:type="line" calcext:line-width="0.75pt" calcext:display-empty-cells-as="gap" '
        'calcext:markers="true" calcext:min-axis-type="individual" calcext:max-axis-type="individual" '
        'calcext:color-series="#376092" calcext:color-negative="#d00000" calcext:color-axis="#000000" '
        'calcext:color-markers="#d00000" calcext:color-first="#000000" calcext:color-last="#000000" '
        'calcext:color-high="#000000" calcext:color-low="#000000"'
    )
    sparks = "".join(
        f'<calcext:sparkline calcext:cell-address="Customers.P{r}" calcext:data-range="Customers.J{r}:Customers.O{r}"/>'
        for r in range(2, last + 1)
    )
    tail = (
        "<calcext:conditional-formats>"
        f'<calcext:conditional-format calcext:target-range-address="Customers.G2:Customers.G{last}">'
        '<calcext:data-bar calcext:min-length="0" calcext:max-length="100" calcext:positive-color="#63be7b" '
        'calcext:negative-color="#ff0000" calcext:axis-position="automatic" calcext:axis-color="#000000">'
        '<calcext:formatting-entry calcext:value="0" calcext:type="auto-minimum"/>'
        '<calcext:formatting-entry calcext:value="0" calcext:type="auto-maximum"/></calcext:data-bar>'
        '<calcext:color-scale><calcext:color-scale-entry calcext:value="0" calcext:type="minimum" '
        'calcext:color="#f8696b"/><calcext:color-scale-entry calcext:value="0" calcext:type="maximum" '
        'calcext:color="#63be7b"/></calcext:color-scale></calcext:conditional-format>'
        f'<calcext:conditional-format calcext:target-range-address="Customers.J2:Customers.O{last}">'
        '<calcext:icon-set calcext:icon-set-type="3Arrows">'
        '<calcext:formatting-entry calcext:value="0" calcext:type="percent"/>'
        '<calcext:formatting-entry calcext:value="33" calcext:type="percent"/>'
        '<calcext:formatting-entry calcext:value="67" calcext:type="percent"/></calcext:icon-set>'
        "</calcext:conditional-format></calcext:conditional-formats>"
        "<calcext:sparkline-groups>"
        f'<calcext:sparkline-group calcext:id="{{6A1C7E2B-0000-4000-8000-00000000CA01}}" {group_attrs}>'
        f"<calcext:sparklines>{sparks}</calcext:sparklines></calcext:sparkline-group>"
        "</calcext:sparkline-groups>"
    )
    table = fods_table("Customers", body, columns=CUSTOMER_COLUMNS, tail=tail)
    lo_convert(fods_document([table], title="Customers (sparklines)"), path)


@spec(
    "libreoffice-table-autofilter.xlsx",
    "libreoffice",
    90,
    ["table-listobject", "autofilter", "defined-names", "database-range"],
    "A named database range over the data, which LibreOffice exports as an Excel table (xl/tables/table1.xml).",
    needs="soffice",
)
def build_lo_table(s: Spec, path: Path) -> None:
    rows = customers(s.rows)
    table = fods_table("Customers", fods_customer_rows(rows), columns=CUSTOMER_COLUMNS)
    db = (
        '<table:database-range table:name="CustomerTable" '
        f'table:target-range-address="Customers.A1:Customers.I{len(rows) + 1}" table:display-filter-buttons="true" '
        'table:contains-header="true"/>'
    )
    lo_convert(fods_document([table], db_ranges=db, title="Customers (table)"), path)


@spec(
    "libreoffice-external-link.xlsx",
    "libreoffice",
    40,
    ["external-link", "external-link-cache", "cross-sheet-formulas"],
    "Summary formulas that read another workbook (xlsxwriter-basic.xlsx, a sibling corpus file): LibreOffice "
    "writes xl/externalLinks/externalLink1.xml with cached values and an external relationship.",
    needs="soffice",
)
def build_lo_external(s: Spec, path: Path) -> None:
    rows = customers(s.rows)
    other = customers(120)  # the rows of xlsxwriter-basic.xlsx
    url = "file:///corpus/xlsxwriter-basic.xlsx"  # lo_convert() puts the real file there
    ext = f"'{url}'#$Customers"
    summary = [
        fods_row([fc("metric", style="ceHead"), fc("value", style="ceHead")]),
        fods_row(
            [
                fc("local_total"),
                fc(
                    round(sum(c.amount for c in rows), 2),
                    style="ceMoney",
                    formula=f"of:=SUM([$Customers.G2:.G{len(rows) + 1}])",
                ),
            ]
        ),
        fods_row([fc("basic_first_amount"), fc(other[0].amount, style="ceMoney", formula=f"of:=[{ext}.G2]")]),
        fods_row([fc("basic_name_10"), fc(other[8].name, formula=f"of:=[{ext}.B10]")]),
        fods_row(
            [
                fc("basic_total"),
                fc(round(sum(c.amount for c in other), 2), style="ceMoney", formula=f"of:=SUM([{ext}.G2:.G121])"),
            ]
        ),
    ]
    # LibreOffice keeps the cached cells of an external sheet in a table named 'URL'#Sheet with a table:table-source;
    # headless soffice does not load the other file, so without this cache the externalLink part would be empty.
    cache_rows = [fods_row([fc()])]
    for r, c in enumerate(other, start=2):
        cache_rows.append(
            fods_row(
                [
                    fc(),
                    fc(c.name if r == 10 else None),
                    '<table:table-cell table:number-columns-repeated="4"/>',
                    fc(c.amount),
                ]
            )
        )
    cache_name = f"'{url}'#Customers"
    cache = (
        f'<table:table table:name={quoteattr(cache_name)} table:print="false">'
        f'<table:table-source xlink:type="simple" xlink:href="{url}" table:table-name="Customers" '
        'table:mode="copy-results-only"/><table:table-column table:number-columns-repeated="7"/>'
        + "".join(cache_rows)
        + "</table:table>"
    )
    tables = [
        fods_table("Customers", fods_customer_rows(rows), columns=CUSTOMER_COLUMNS),
        fods_table("Summary", summary),
        cache,
    ]
    lo_convert(fods_document(tables, title="Customers (external link)"), path, link_dir=True)


@spec(
    "libreoffice-resaved-xlsxwriter.xlsx",
    "libreoffice",
    150,
    [
        "resaved",
        "formula-column",
        "cross-sheet-formulas",
        "defined-names",
        "merged-cells",
        "conditional-format-cell-is",
        "conditional-format-databar",
        "data-validation-list",
        "chart-column",
        "image-png",
        "sparklines",
        "legacy-notes",
        "hyperlinks-external",
        "hidden-sheet",
        "autofilter",
        "x14-extension",
    ],
    "xlsxwriter-kitchen-sink.xlsx opened and saved again by LibreOffice (the common 'someone saved it in Calc' "
    "case). Headless LibreOffice drops the frozen pane on the way.",
    needs="soffice",
)
def build_lo_resaved(s: Spec, path: Path) -> None:
    src = CORPUS / "xlsxwriter-kitchen-sink.xlsx"
    if not src.exists():
        raise SkipFile("xlsxwriter-kitchen-sink.xlsx is not there to resave")
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(src, Path(tmp) / "in.xlsx")
        soffice_convert(Path(tmp) / "in.xlsx", "xlsx:Calc MS Excel 2007 XML", Path(tmp) / "out")
        shutil.move(Path(tmp) / "out" / "in.xlsx", path)


# ---- LibreOffice through UNO (pivot tables, VBA) --------------------------------------------------------------


@spec(
    "libreoffice-pivot.xlsx",
    "libreoffice",
    100,
    ["pivot-table", "pivot-cache", "pivot-cache-records"],
    "A DataPilot (pivot table) on a Pivot sheet: rows = tier, columns = active, data = sum of amount and count of "
    "customer_id; LibreOffice writes pivotTable, pivotCacheDefinition and pivotCacheRecords parts.",
    needs="uno",
)
def build_lo_pivot(s: Spec, path: Path) -> None:
    rows = customers(s.rows)
    tables = [
        fods_table("Customers", fods_customer_rows(rows), columns=CUSTOMER_COLUMNS),
        fods_table("Pivot", [fods_row([fc()])]),
    ]
    uno_job(fods_document(tables, title="Customers (pivot)"), path, "pivot", rows=len(rows))


@spec(
    "libreoffice-vba.xlsm",
    "libreoffice",
    30,
    ["xlsm", "vba-project", "macro-module"],
    "A Basic module in VBA-compatibility mode, exported by LibreOffice as xl/vbaProject.bin (its own VBA "
    "project writer), in an .xlsm.",
    needs="uno",
)
def build_lo_vba(s: Spec, path: Path) -> None:
    rows = customers(s.rows)
    table = fods_table("Customers", fods_customer_rows(rows), columns=CUSTOMER_COLUMNS)
    uno_job(fods_document([table], title="Customers (vba)"), path, "vba")


# --------------------------------------------------------------------------------------------------------------
# Running soffice
# --------------------------------------------------------------------------------------------------------------


class SkipFile(Exception):
    pass


def soffice_bin() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def soffice_convert(src: Path, to: str, outdir: Path) -> None:
    exe = soffice_bin()
    if exe is None:
        raise SkipFile("soffice not found")
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lo-profile-") as profile:
        cmd = [exe, f"-env:UserInstallation={Path(profile).as_uri()}", "--headless", "--norestore"]
        cmd += ["--convert-to", to, "--outdir", str(outdir), str(src)]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    out = outdir / (src.stem + "." + to.split(":")[0])
    if res.returncode != 0 or not out.exists():
        raise RuntimeError(f"soffice failed on {src.name}: {res.returncode}\n{res.stdout}\n{res.stderr}")


def lo_convert(fods: str, path: Path, *, link_dir: bool = False) -> None:
    """Write the .fods and have soffice convert it to path (xlsx)."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "corpus" if link_dir else Path(tmp)
        work.mkdir(exist_ok=True)
        if link_dir:  # external links are written relative to the file: put the target beside it
            fods = fods.replace("file:///corpus/", work.as_uri() + "/")
            shutil.copy(CORPUS / "xlsxwriter-basic.xlsx", work / "xlsxwriter-basic.xlsx")
        src = work / (path.stem + ".fods")
        src.write_text(fods, encoding="utf-8")
        outdir = work if link_dir else work / "out"  # links are written relative to where the xlsx is saved
        soffice_convert(src, "xlsx:Calc MS Excel 2007 XML", outdir)
        shutil.move(outdir / (path.stem + ".xlsx"), path)


UNO_PY_CANDIDATES = [sys.executable, "/usr/bin/python3", "/usr/lib/libreoffice/program/python"]


def uno_python() -> str | None:
    for py in UNO_PY_CANDIDATES:
        if py and Path(py).exists():
            res = subprocess.run([py, "-c", "import uno"], capture_output=True, check=False)
            if res.returncode == 0:
                return py
    return None


def uno_job(fods: str, path: Path, action: str, **params: Any) -> None:
    if soffice_bin() is None:
        raise SkipFile("soffice not found")
    py = uno_python()
    if py is None:
        raise SkipFile("no Python with the uno module (apt-get install python3-uno)")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.fods"
        src.write_text(fods, encoding="utf-8")
        job = {"src": str(src), "dst": str(Path(tmp) / path.name), "action": action, "params": params}
        (Path(tmp) / "job.json").write_text(json.dumps(job), encoding="utf-8")
        res = subprocess.run(
            [py, str(Path(__file__).resolve()), "--uno-worker", str(Path(tmp) / "job.json")],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if res.returncode != 0 or not Path(job["dst"]).exists():
            raise RuntimeError(f"UNO worker failed for {path.name}:\n{res.stdout}\n{res.stderr}")
        shutil.move(job["dst"], path)


def uno_worker(job_file: str) -> None:
    """Runs under a Python that has uno: start soffice, load the .fods, add what .fods cannot say, store."""
    import uno
    from com.sun.star.beans import PropertyValue

    job = json.loads(Path(job_file).read_text(encoding="utf-8"))

    def pv(name: str, value: Any) -> Any:
        p = PropertyValue()
        p.Name, p.Value = name, value
        return p

    with tempfile.TemporaryDirectory(prefix="lo-profile-") as profile:
        pipe = f"sheetcrm_corpus_{os.getpid()}"
        exe = soffice_bin() or "soffice"
        proc = subprocess.Popen(
            [
                exe,
                f"-env:UserInstallation={Path(profile).as_uri()}",
                "--headless",
                "--invisible",
                "--nologo",
                "--norestore",
                "--nodefault",
                f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            local = uno.getComponentContext()
            resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
            ctx = None
            for _ in range(240):
                try:
                    ctx = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
                    break
                except Exception:
                    time.sleep(0.25)
            if ctx is None:
                raise RuntimeError("could not connect to soffice")
            desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
            doc = desktop.loadComponentFromURL(Path(job["src"]).as_uri(), "_blank", 0, (pv("Hidden", True),))
            if job["action"] == "pivot":
                uno_pivot(doc, job["params"]["rows"])
                filt = "Calc MS Excel 2007 XML"
            elif job["action"] == "vba":
                uno_vba(doc)
                filt = "Calc MS Excel 2007 VBA XML"
            else:
                raise ValueError(job["action"])
            doc.calculateAll()
            doc.storeToURL(Path(job["dst"]).as_uri(), (pv("FilterName", filt),))
            doc.close(True)
            with contextlib.suppress(Exception):  # the bridge goes away while terminate() returns
                desktop.terminate()
        finally:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def uno_pivot(doc: Any, nrows: int) -> None:
    from com.sun.star.sheet.DataPilotFieldOrientation import COLUMN, DATA, ROW
    from com.sun.star.sheet.GeneralFunction import COUNT, SUM

    src = doc.Sheets.getByName("Customers")
    dst = doc.Sheets.getByName("Pivot")
    tables = dst.getDataPilotTables()
    desc = tables.createDataPilotDescriptor()
    desc.setSourceRange(src.getCellRangeByName(f"A1:I{nrows + 1}").getRangeAddress())
    fields = desc.getDataPilotFields()
    by_name = {fields.getByIndex(i).getName(): fields.getByIndex(i) for i in range(fields.getCount())}
    by_name["tier"].Orientation = ROW
    by_name["active"].Orientation = COLUMN
    amount = by_name["amount"]
    amount.Orientation = DATA
    amount.Function = SUM
    cid = by_name["customer_id"]
    cid.Orientation = DATA
    cid.Function = COUNT
    tables.insertNewByName("TierPivot", dst.getCellRangeByName("A3").getCellAddress(), desc)
    dst.getCellRangeByName("A1").setString("Amount and customers by tier (DataPilot)")


VBA_MODULE = """Option VBASupport 1
Option Explicit

' Counts VIP customers on the Customers sheet.
Function CountVip() As Long
    Dim ws As Object, r As Long, n As Long
    Set ws = ThisWorkbook.Worksheets("Customers")
    r = 2
    Do While ws.Cells(r, 1).Value <> ""
        If ws.Cells(r, 5).Value = "VIP" Then n = n + 1
        r = r + 1
    Loop
    CountVip = n
End Function

Sub Hello()
    MsgBox "VIP customers: " & CountVip()
End Sub
"""


def uno_vba(doc: Any) -> None:
    libs = doc.BasicLibraries
    libs.VBACompatibilityMode = True
    if not libs.hasByName("Standard"):
        libs.createLibrary("Standard")
    lib = libs.getByName("Standard")
    if lib.hasByName("Module1"):
        lib.replaceByName("Module1", VBA_MODULE)
    else:
        lib.insertByName("Module1", VBA_MODULE)


# --------------------------------------------------------------------------------------------------------------
# Manifest, checks, main
# --------------------------------------------------------------------------------------------------------------


def workbook_sheets(path: Path) -> list[str]:
    """Sheet names in workbook order, read from xl/workbook.xml (works for chartsheets and hidden sheets too)."""
    import xml.etree.ElementTree as ET

    with zipfile.ZipFile(path) as z:
        root = ET.fromstring(z.read("xl/workbook.xml"))
    ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    return [el.attrib["name"] for el in root.iter(f"{ns}sheet")]


def tool_version(s: Spec, path: Path) -> str:
    """The maker's name and version as it made this file."""
    if s.maker == "libreoffice":
        import re

        with zipfile.ZipFile(path) as z:
            app = z.read("docProps/app.xml").decode("utf-8")
        m = re.search(r"<Application>([^<]*)</Application>", app)
        return m.group(1) if m else "LibreOffice"
    import openpyxl

    if s.maker == "xlsxwriter":
        import xlsxwriter

        return f"xlsxwriter {xlsxwriter.__version__}"
    if s.maker == "pandas":
        import pandas

        return f"pandas {pandas.__version__} (openpyxl {openpyxl.__version__})"
    return f"openpyxl {openpyxl.__version__}"


def manifest_entry(s: Spec, path: Path) -> dict[str, Any]:
    return {
        "maker": s.maker,
        "tool": tool_version(s, path),
        "features": s.features,
        "sheets": workbook_sheets(path),
        "data_sheet": "Customers",
        "header_row": s.header_row,
        "rows": s.rows,
        "description": s.description,
    }


def write_manifest(specs: list[Spec]) -> None:
    old = json.loads(MANIFEST.read_text(encoding="utf-8")) if MANIFEST.exists() else {}
    new: dict[str, Any] = {}
    for s in specs:
        path = CORPUS / s.filename
        if path.exists():
            new[s.filename] = manifest_entry(s, path)
        elif s.filename in old:
            new[s.filename] = old[s.filename]
    MANIFEST.write_text(json.dumps(new, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def build_all(only: set[str] | None) -> int:
    CORPUS.mkdir(parents=True, exist_ok=True)
    # LibreOffice's xlsm feeds xlsxwriter-vba.xlsm; xlsxwriter-kitchen-sink/-basic feed LibreOffice files.
    order = sorted(
        SPECS,
        key=lambda s: (
            s.filename == "xlsxwriter-vba.xlsm",
            s.filename in ("libreoffice-resaved-xlsxwriter.xlsx", "libreoffice-external-link.xlsx"),
        ),
    )
    failures = 0
    for s in order:
        if only and s.filename not in only:
            continue
        path = CORPUS / s.filename
        t0 = time.monotonic()
        try:
            with tempfile.TemporaryDirectory() as tmp:
                tmp_path = Path(tmp) / s.filename
                s.build(s, tmp_path)
                shutil.move(tmp_path, path)
        except SkipFile as e:
            print(f"skip  {s.filename}: {e} (the committed copy, if any, is kept)")
            continue
        except Exception as e:
            failures += 1
            print(f"FAIL  {s.filename}: {type(e).__name__}: {e}")
            continue
        print(f"made  {s.filename:45} {path.stat().st_size:>7} bytes  {time.monotonic() - t0:.1f}s")
    write_manifest(SPECS)
    return failures


def check_all() -> int:
    """Open every manifest file with openpyxl and python-calamine, and convert it to CSV with soffice if present."""
    import openpyxl
    import python_calamine

    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    problems = 0
    exe = soffice_bin()
    for name, entry in manifest.items():
        path = CORPUS / name
        notes = []
        if not path.exists():
            print(f"MISSING {name}")
            problems += 1
            continue
        if path.stat().st_size > 200_000:
            notes.append("over 200 KB")
        if workbook_sheets(path) != entry["sheets"]:
            notes.append(f"sheets {workbook_sheets(path)} != manifest {entry['sheets']}")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            wb = openpyxl.load_workbook(path)
            ws = wb[entry["data_sheet"]]
            head = [c.value for c in ws[entry["header_row"]]][:3]
        op_warn = sorted({str(w.message) for w in caught})
        if head != HEADER[:3]:
            notes.append(f"openpyxl header {head}")
        cal = python_calamine.CalamineWorkbook.from_path(str(path))
        data = cal.get_sheet_by_name(entry["data_sheet"]).to_python(skip_empty_area=False)
        hr = entry["header_row"] - 1
        body = [r for r in data[hr + 1 :] if r and str(r[0]).strip()]
        body = [r for r in body if len(str(r[0])) == 6 and str(r[0]).isdigit()]
        if data[hr][:3] != HEADER[:3] or len(body) != entry["rows"]:
            notes.append(f"calamine header {data[hr][:3]} rows {len(body)} (manifest {entry['rows']})")
        if body and body[0][0] != "000001":
            notes.append(f"first id read as {body[0][0]!r}")
        lo = "-"
        if exe:
            with tempfile.TemporaryDirectory() as tmp:
                try:
                    soffice_convert(path, "csv", Path(tmp))
                    lo = "csv ok"
                except Exception as e:
                    notes.append(f"soffice: {e}")
                    lo = "csv FAILED"
        problems += bool(notes)
        status = "ok " if not notes else "BAD"
        print(f"{status} {name:45} {path.stat().st_size:>7}  {lo:10} {'; '.join(notes)}")
        for w in op_warn:
            print(f"      openpyxl warns: {w}")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", action="append", help="make only this file (repeatable)")
    ap.add_argument("--check", action="store_true", help="check the corpus instead of making it")
    ap.add_argument("--list", action="store_true", help="list the files this script makes")
    ap.add_argument("--uno-worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.uno_worker:
        uno_worker(args.uno_worker)
        return 0
    if args.list:
        for s in SPECS:
            print(f"{s.filename:45} {s.maker:12} {', '.join(s.features)}")
        return 0
    if args.check:
        return 1 if check_all() else 0
    return 1 if build_all(set(args.only) if args.only else None) else 0


if __name__ == "__main__":
    sys.exit(main())

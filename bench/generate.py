"""Seeded generator of large benchmark workbooks.

    python bench/generate.py --rows 10000 100000 1000000 --out bench/.cache

writes ``customers_{rows}.xlsx`` (14 columns) and ``orders_{rows}.xlsx`` (9 columns), each
with one sheet (``Customers`` / ``Orders``), a bold frozen header row, real date cells
(``yyyy-mm-dd``) and two-decimal amounts. Bench scripts get a file with::

    from generate import ensure_workbook
    path = ensure_workbook("customers", 100_000, Path("bench/.cache"))

openpyxl's write-only mode takes minutes at a million rows, so the package is written
directly: a minimal SpreadsheetML package whose one worksheet is streamed into the zip
while it is generated. Low-cardinality text (city, tier, status...) goes to the shared
strings table, as Excel would put it; unique text (ids, names, emails) is written inline,
which every reader supports and which keeps the generator's memory flat.

The content is a pure function of (kind, rows, seed): dates are anchored to a fixed day,
not today, and zip entries carry a fixed timestamp, so a file is byte-identical however
often it is regenerated.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import queue
import random
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO
from xml.sax.saxutils import escape

KINDS = ("customers", "orders")
CUSTOMER_COLUMNS = (
    "customer_id",
    "name",
    "company",
    "phone",
    "email",
    "city",
    "region",
    "industry",
    "tier",
    "owner",
    "created_at",
    "last_contact",
    "total_spent",
    "notes",
)
ORDER_COLUMNS = (
    "order_id",
    "customer_id",
    "order_date",
    "status",
    "product",
    "quantity",
    "unit_price",
    "amount",
    "currency",
)
SHEET_NAMES = {"customers": "Customers", "orders": "Orders"}
DEFAULT_CACHE = Path(__file__).resolve().parent / ".cache"

# Dates are anchored here rather than to today so that cached files never go stale.
ANCHOR = dt.date(2025, 1, 1)
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_ANCHOR_SERIAL = (ANCHOR - _EXCEL_EPOCH).days
_CHUNK_ROWS = 5_000
_ZIP_TIME = (2025, 1, 1, 0, 0, 0)

# Style indexes in styles.xml's cellXfs.
_STYLE_DATE = 1
_STYLE_MONEY = 2
_STYLE_HEADER = 3

# ---------------------------------------------------------------------------------------
# Value pools
# ---------------------------------------------------------------------------------------

_FIRST = (
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Daniel", "Emily",
    "Kevin", "Laura", "Olivia", "Ethan", "Sophia", "Lucas", "Grace", "Ryan",
)  # fmt: skip
_LAST = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Wilson",
    "Anderson", "Taylor", "Moore", "Martin", "Jackson", "White", "Harris", "Clark", "Lewis",
    "Walker", "Young", "King", "Wright", "Scott", "Green", "Baker", "Adams", "O'Neil",
)  # fmt: skip
# (characters, pinyin)
_CN_SURNAMES = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
    ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
    ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("林", "lin"),
)  # fmt: skip
_CN_GIVEN = (
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"),
    ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("杰", "jie"), ("涛", "tao"),
    ("秀英", "xiuying"), ("建华", "jianhua"), ("晓明", "xiaoming"), ("海燕", "haiyan"),
    ("志强", "zhiqiang"), ("欣怡", "xinyi"), ("子涵", "zihan"), ("浩然", "haoran"),
)  # fmt: skip
_COMPANY_EN = (
    "Blue River",
    "Summit",
    "Northwind",
    "Apex",
    "Pioneer",
    "Evergreen",
    "Redwood",
    "Atlas",
    "Harbor",
    "Keystone",
)
_COMPANY_CN = ("华信", "中科", "东方", "恒达", "鑫源", "金桥", "博远", "天成", "瑞丰", "宏图")
_COMPANY_WORDS = (
    ("Software", "软件"),
    ("Logistics", "物流"),
    ("Foods", "食品"),
    ("Medical", "医疗器械"),
    ("Trading", "贸易"),
)
_COMPANY_SUFFIX_EN = ("Inc", "Ltd", "LLC", "Co.", "GmbH", "Corp.")
_COMPANY_SUFFIX_CN = ("有限公司", "股份有限公司")
_CITIES = (
    ("Shanghai", "East China"), ("Hangzhou", "East China"), ("Nanjing", "East China"),
    ("Beijing", "North China"), ("Tianjin", "North China"), ("Guangzhou", "South China"),
    ("Shenzhen", "South China"), ("Wuhan", "Central China"), ("Chengdu", "West"),
    ("Chongqing", "West"), ("San Francisco", "US West"), ("Seattle", "US West"),
    ("New York", "US East"), ("Boston", "US East"), ("Chicago", "US Central"), ("Austin", "US Central"),
)  # fmt: skip
_INDUSTRIES = ("Manufacturing", "Retail", "Software", "Healthcare", "Logistics", "Food & Beverage", "Energy", "Finance")
_TIERS = ("VIP", "Key", "Standard")
_TIER_WEIGHTS = (5, 15, 80)
_OWNERS = ("Li Na", "Wang Lei", "Chen Jing", "Zhou Min", "Emily Carter", "David Kim", "Michael Brooks")
_NOTES = (
    "Prefers email over phone.",
    "请下午联系",
    "Asked for a quote on the annual plan.",
    "需要增值税专用发票",
    "Payment terms: net 30",
    "Call after 3pm <Beijing time>",
    "Met at Canton Fair & interested in bulk pricing",
)
_FREE_MAIL = ("gmail.com", "qq.com", "163.com", "outlook.com")
_STATUSES = ("received", "confirmed", "processing", "shipped", "completed", "cancelled", "returned")
_STATUS_WEIGHTS = (3, 3, 3, 6, 70, 8, 7)
# (product, unit price in cents)
_PRODUCTS = (
    ("Barcode Scanner BS-10", 36000),
    ("Smart Label Printer LP-2", 129900),
    ("Thermal Paper Roll (box of 50)", 8500),
    ("Industrial Sensor IS-200", 48000),
    ("RFID Tags (1000 pcs)", 65000),
    ("Warehouse Shelf Kit", 220000),
    ("Annual Service Plan", 980000),
    ("工业平板电脑 T10", 420000),
    ("条码标签纸（卷）", 1850),
)
_CURRENCIES = ("CNY", "USD")

# ---------------------------------------------------------------------------------------
# Package parts
# ---------------------------------------------------------------------------------------

_XML_HEADER = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"

_CONTENT_TYPES = (
    _XML_HEADER + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    _XML_HEADER + f'<Relationships xmlns="{_PKG_REL_NS}">'
    f'<Relationship Id="rId1" Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK_RELS = (
    _XML_HEADER + f'<Relationships xmlns="{_PKG_REL_NS}">'
    f'<Relationship Id="rId1" Type="{_REL_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_REL_NS}/styles" Target="styles.xml"/>'
    f'<Relationship Id="rId3" Type="{_REL_NS}/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
)
# cellXfs: 0 general, 1 date (custom 164 = yyyy-mm-dd), 2 money (built-in 4 = #,##0.00), 3 bold.
_STYLES = (
    _XML_HEADER + f'<styleSheet xmlns="{_MAIN_NS}">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/></numFmts>'
    '<fonts count="2">'
    '<font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    "</fonts>"
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="4" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def _workbook_xml(sheet: str) -> str:
    return (
        _XML_HEADER + f'<workbook xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
        f'<sheets><sheet name="{sheet}" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )


def _shared_strings_xml(strings: Sequence[str]) -> str:
    items = "".join(f"<si><t>{escape(text)}</t></si>" for text in strings)
    return _XML_HEADER + f'<sst xmlns="{_MAIN_NS}" count="{len(strings)}" uniqueCount="{len(strings)}">{items}</sst>'


def _letter(index: int) -> str:
    """Column letters of a 0-based index (the sheets here have at most 26 columns)."""
    return chr(65 + index)


def _sheet_head(columns: Sequence[str], widths: Sequence[int], rows: int) -> str:
    cols = "".join(
        f'<col min="{i}" max="{i}" width="{width}" customWidth="1"/>' for i, width in enumerate(widths, start=1)
    )
    header = "".join(
        f'<c r="{_letter(i)}1" t="inlineStr" s="{_STYLE_HEADER}"><is><t>{name}</t></is></c>'
        for i, name in enumerate(columns)
    )
    return (
        _XML_HEADER + f'<worksheet xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
        f'<dimension ref="A1:{_letter(len(columns) - 1)}{rows + 1}"/>'
        '<sheetViews><sheetView workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
        "</sheetView></sheetViews>"
        '<sheetFormatPr defaultRowHeight="15"/>'
        f"<cols>{cols}</cols>"
        f'<sheetData><row r="1">{header}</row>'
    )


_SHEET_TAIL = "</sheetData></worksheet>"


def _cell(kind: str, column: int, field: int) -> str:
    """One cell of a row template; ``{0}`` is the row number, ``{field}`` the value."""
    ref = f"{_letter(column)}{{0}}"
    value = f"{{{field}}}"
    if kind == "inline":
        return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'
    if kind == "shared":
        return f'<c r="{ref}" t="s"><v>{value}</v></c>'
    if kind == "date":
        return f'<c r="{ref}" s="{_STYLE_DATE}"><v>{value}</v></c>'
    if kind == "money":
        return f'<c r="{ref}" s="{_STYLE_MONEY}"><v>{value}</v></c>'
    return f'<c r="{ref}"><v>{value}</v></c>'  # number


def _row_template(kinds: Sequence[str]) -> Callable[..., str]:
    cells = "".join(_cell(kind, column, column + 1) for column, kind in enumerate(kinds))
    return f'<row r="{{0}}">{cells}</row>'.format


# ---------------------------------------------------------------------------------------
# Rows
# ---------------------------------------------------------------------------------------


class _SharedStrings:
    """The shared strings table, filled before any row is written (it only holds pools)."""

    def __init__(self) -> None:
        self.strings: list[str] = []
        self._index: dict[str, int] = {}

    def indexes(self, values: Sequence[str]) -> list[str]:
        """The shared-string index of each value, as the text written into a cell."""
        out = []
        for value in values:
            if value not in self._index:
                self._index[value] = len(self.strings)
                self.strings.append(value)
            out.append(str(self._index[value]))
        return out


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _id_width(rows: int) -> int:
    return max(6, len(str(rows)))


def _companies(rng: random.Random) -> list[str]:
    names = []
    for _ in range(600):
        english, chinese = rng.choice(_COMPANY_WORDS)
        if rng.random() < 0.5:
            names.append(f"{rng.choice(_COMPANY_CN)}{chinese}{rng.choice(_COMPANY_SUFFIX_CN)}")
        else:
            names.append(f"{rng.choice(_COMPANY_EN)} {english} {rng.choice(_COMPANY_SUFFIX_EN)}")
    return [escape(name) for name in names]


def _people(rng: random.Random) -> list[tuple[str, str]]:
    """(display name, email local part) pairs; a mix of English and Chinese names."""
    people = []
    for first in _FIRST:
        for last in _LAST:
            people.append((escape(f"{first} {last}"), f"{first}.{last}".lower().replace("'", "")))
    for surname, surname_py in _CN_SURNAMES:
        for given, given_py in _CN_GIVEN:
            people.append((surname + given, f"{surname_py}.{given_py}"))
            people.append((f"{given_py.title()} {surname_py.title()}", f"{given_py}.{surname_py}"))
    rng.shuffle(people)
    return people


def _customer_chunks(rng: random.Random, rows: int, sst: _SharedStrings) -> Iterator[str]:
    width = _id_width(rows)
    people = _people(rng)
    companies = _companies(rng)
    city_cells = sst.indexes([city for city, _ in _CITIES])
    region_cells = sst.indexes([region for _, region in _CITIES])
    industry_cells = sst.indexes(_INDUSTRIES)
    tier_cells = sst.indexes(_TIERS)
    owner_cells = sst.indexes(_OWNERS)
    note_cells = sst.indexes(_NOTES)
    kinds = ["inline"] * 5 + ["shared"] * 5 + ["date", "date", "money"]
    with_notes = _row_template([*kinds, "shared"])
    without_notes = _row_template(kinds)
    n_cities = len(_CITIES)
    created_span = 6 * 365

    for start in range(0, rows, _CHUNK_ROWS):
        k = min(_CHUNK_ROWS, rows - start)
        # Column-wise draws: rng.choices over a chunk is several times faster than
        # one call per cell, and the order of draws stays fixed, hence deterministic.
        who = rng.choices(people, k=k)
        company = rng.choices(companies, k=k)
        city = [int(n_cities * x) for x in [rng.random() for _ in range(k)]]
        industry = rng.choices(industry_cells, k=k)
        tier = rng.choices(tier_cells, weights=_TIER_WEIGHTS, k=k)
        owner = rng.choices(owner_cells, k=k)
        parts = []
        for j in range(k):
            number = start + j + 1
            name, local = who[j]
            created = _ANCHOR_SERIAL - rng.randrange(created_span)
            last_contact = created + rng.randrange(_ANCHOR_SERIAL - created + 1)
            c = city[j]
            if c < 10:
                phone = f"+86 1{rng.randrange(30, 100)} {rng.randrange(10000):04d} {rng.randrange(10000):04d}"
            else:
                phone = f"({rng.randrange(200, 1000)}) {rng.randrange(200, 1000)}-{rng.randrange(10000):04d}"
            domain = _FREE_MAIL[number % 4] if number % 3 else "example.com"
            values = (
                number + 1,
                f"C-{number:0{width}d}",
                name,
                company[j],
                phone,
                f"{local}{number}@{domain}",
                city_cells[c],
                region_cells[c],
                industry[j],
                tier[j],
                owner[j],
                created,
                last_contact,
                _money(rng.randrange(0, 50_000_000) if rng.random() < 0.8 else 0),
            )
            if rng.random() < 0.3:
                parts.append(with_notes(*values, rng.choice(note_cells)))
            else:
                parts.append(without_notes(*values))
        yield "".join(parts)


def _order_chunks(rng: random.Random, rows: int, sst: _SharedStrings) -> Iterator[str]:
    width = _id_width(rows)
    customers = max(1, rows // 4)
    status_cells = sst.indexes(_STATUSES)
    product_cells = sst.indexes([product for product, _ in _PRODUCTS])
    currency_cells = sst.indexes(_CURRENCIES)
    template = _row_template(["inline", "inline", "date", "shared", "shared", "number", "money", "money", "shared"])
    history = 2 * 365
    quantities = (1, 1, 1, 2, 2, 3, 5, 10, 20, 50, 100)

    for start in range(0, rows, _CHUNK_ROWS):
        k = min(_CHUNK_ROWS, rows - start)
        status = rng.choices(status_cells, weights=_STATUS_WEIGHTS, k=k)
        product = rng.choices(range(len(_PRODUCTS)), k=k)
        quantity = rng.choices(quantities, k=k)
        parts = []
        for j in range(k):
            number = start + j + 1
            p = product[j]
            usd = rng.random() < 0.3
            price = _PRODUCTS[p][1] * 14 // 100 if usd else _PRODUCTS[p][1]
            parts.append(
                template(
                    number + 1,
                    f"O-{number:0{width}d}",
                    f"C-{rng.randrange(1, customers + 1):0{width}d}",
                    _ANCHOR_SERIAL - rng.randrange(history),
                    status[j],
                    product_cells[p],
                    quantity[j],
                    _money(price),
                    _money(price * quantity[j]),
                    currency_cells[usd],
                )
            )
        yield "".join(parts)


_SPECS: dict[
    str, tuple[Sequence[str], Sequence[int], Callable[[random.Random, int, _SharedStrings], Iterator[str]]]
] = {
    "customers": (CUSTOMER_COLUMNS, (12, 16, 28, 18, 30, 14, 13, 16, 10, 15, 12, 12, 14, 30), _customer_chunks),
    "orders": (ORDER_COLUMNS, (12, 12, 12, 12, 30, 10, 12, 14, 10), _order_chunks),
}

# ---------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def write_workbook(kind: str, rows: int, path: Path, *, seed: int = 7) -> Path:
    """Write ``rows`` data rows of ``kind`` ("customers" or "orders") to ``path``."""
    if kind not in _SPECS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if not 0 <= rows <= 1_048_575:
        raise ValueError(f"rows must be between 0 and 1048575 (Excel's limit), not {rows}")
    columns, widths, chunks = _SPECS[kind]
    rng = random.Random(f"sheetcrm-bench:{kind}:{rows}:{seed}")
    sst = _SharedStrings()

    path.parent.mkdir(parents=True, exist_ok=True)
    # Level 1 deflate: level 6 barely shrinks this repetitive XML further and costs 3x the time.
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as package:
        package.writestr(_entry("[Content_Types].xml"), _CONTENT_TYPES)
        package.writestr(_entry("_rels/.rels"), _ROOT_RELS)
        package.writestr(_entry("xl/workbook.xml"), _workbook_xml(SHEET_NAMES[kind]))
        package.writestr(_entry("xl/_rels/workbook.xml.rels"), _WORKBOOK_RELS)
        package.writestr(_entry("xl/styles.xml"), _STYLES)
        # The sheet is ~1 KB a row; past 2 GiB the entry needs zip64 (Python decides up front).
        with package.open(_entry("xl/worksheets/sheet1.xml"), "w", force_zip64=rows > 1_500_000) as sheet:
            _stream(sheet, _sheet_head(columns, widths, rows), chunks(rng, rows, sst))
        package.writestr(_entry("xl/sharedStrings.xml"), _shared_strings_xml(sst.strings))
    return path


def _stream(sheet: IO[bytes], head: str, chunks: Iterator[str]) -> None:
    """Write the sheet XML, compressing on a second thread while the next chunk is built.

    zlib and crc32 release the GIL, so on two cores compression overlaps generation.
    """
    write = sheet.write
    pending: queue.Queue[bytes | None] = queue.Queue(maxsize=8)
    failure: list[BaseException] = []

    def writer() -> None:
        try:
            while (data := pending.get()) is not None:
                write(data)
        except BaseException as error:  # handed to the main thread below
            failure.append(error)
            while pending.get() is not None:  # drain so the producer never blocks
                pass

    thread = threading.Thread(target=writer, name="xlsx-deflate", daemon=True)
    thread.start()
    try:
        pending.put(head.encode())
        for chunk in chunks:
            if failure:
                break
            pending.put(chunk.encode())
        pending.put(_SHEET_TAIL.encode())
    finally:
        pending.put(None)
        thread.join()
    if failure:
        raise failure[0]


def ensure_workbook(kind: str, rows: int, cache: Path, *, seed: int = 7) -> Path:
    """Return ``cache/{kind}_{rows}.xlsx``, writing it first if it is missing."""
    path = Path(cache) / f"{kind}_{rows}.xlsx"
    if path.exists():
        return path
    # Write beside the target and rename, so an interrupted run never leaves a torn file.
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        write_workbook(kind, rows, partial, seed=seed)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def verify_workbook(path: Path, kind: str, rows: int) -> None:
    """Read ``path`` back with python-calamine: row count, header, and typed values."""
    from python_calamine import CalamineWorkbook

    columns = _SPECS[kind][0]
    workbook = CalamineWorkbook.from_path(str(path))
    sheet = workbook.get_sheet_by_name(SHEET_NAMES[kind])
    count = 0
    for count, row in enumerate(sheet.iter_rows(), start=0):
        if count == 0:
            if tuple(row) != columns:
                raise AssertionError(f"{path.name}: header is {row}")
        elif count <= 3 or count == rows:
            date_index = columns.index("order_date" if kind == "orders" else "created_at")
            if not isinstance(row[date_index], dt.date) or not isinstance(row[0], str) or not row[0]:
                raise AssertionError(f"{path.name}: row {count + 1} is {row}")
    if count != rows:
        raise AssertionError(f"{path.name}: {count} data rows, expected {rows}")


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: generate (and optionally verify) benchmark workbooks."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--out", type=Path, default=DEFAULT_CACHE, help="cache directory (default: bench/.cache)")
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--force", action="store_true", help="regenerate files that already exist")
    parser.add_argument("--verify", action="store_true", help="read each file back with python-calamine")
    args = parser.parse_args(argv)

    for rows in args.rows:
        for kind in args.kinds:
            path = args.out / f"{kind}_{rows}.xlsx"
            if args.force:
                path.unlink(missing_ok=True)
            started = time.perf_counter()
            existed = path.exists()
            ensure_workbook(kind, rows, args.out, seed=args.seed)
            took = time.perf_counter() - started
            status = "cached" if existed else f"written in {took:.1f}s"
            print(f"{path}  {path.stat().st_size / 1e6:.1f} MB  {status}", flush=True)
            if args.verify:
                started = time.perf_counter()
                verify_workbook(path, kind, rows)
                print(f"  verified with python-calamine in {time.perf_counter() - started:.1f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The sample CRM workbook (sheetcrm.sample) and the benchmark generator (bench/generate.py)."""

from __future__ import annotations

import datetime as dt
import gc
import importlib.util
import re
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import openpyxl
import pytest
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from python_calamine import CalamineWorkbook

from sheetcrm import sample
from sheetcrm.sample import (
    CUSTOMER_HEADERS,
    INTERACTION_HEADERS,
    OPPORTUNITY_HEADERS,
    ORDER_HEADERS,
    ORDER_STATUSES,
    PLANTED_KINDS,
    STALE_AFTER_DAYS,
    TIERS,
    SampleSummary,
    write_sample_workbook,
)

TODAY = dt.date(2025, 6, 1)
CUSTOMERS = 400
HEADERS = {
    "Customers": CUSTOMER_HEADERS,
    "Orders": ORDER_HEADERS,
    "Interactions": INTERACTION_HEADERS,
    "Opportunities": OPPORTUNITY_HEADERS,
}
DATE_COLUMNS = {
    "Customers": ("birthday", "created_at", "last_contact", "next_follow_up"),
    "Orders": ("order_date", "shipped_at", "delivered_at"),
    "Interactions": ("date",),
    "Opportunities": ("expected_close", "updated_at"),
}
_REF = re.compile(r"^(\w+)!([A-Z]+)(\d+)$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_MONTHS = {
    name: i
    for i, name in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)
}
_DATE_TEXT = (
    re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})$"),
    re.compile(r"^(?P<y>\d{4})/(?P<m>\d{1,2})/(?P<d>\d{1,2})$"),
    re.compile(r"^(?P<y>\d{4})\.(?P<m>\d{1,2})\.(?P<d>\d{1,2})$"),
    re.compile(r"^(?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})日$"),
    re.compile(r"^(?P<d>\d{1,2}) (?P<mon>[A-Z][a-z]{2}) (?P<y>\d{4})$"),
)


# ---------------------------------------------------------------------------------------
# Helpers: independent re-statements of what "valid" means, not the generator's own code
# ---------------------------------------------------------------------------------------


def date_text_parts(text: str) -> tuple[int, int, int] | None:
    """(year, month, day) of a date typed as text in one of the sample's formats, or None."""
    for pattern in _DATE_TEXT:
        match = pattern.match(text)
        if match:
            parts = match.groupdict()
            month = _MONTHS[parts["mon"]] if "mon" in parts else int(parts["m"])
            return int(parts["y"]), month, int(parts["d"])
    return None


def is_real_date(parts: tuple[int, int, int]) -> bool:
    try:
        dt.date(*parts)
    except ValueError:
        return False
    return True


def phone_is_valid(phone: object) -> bool:
    """A Chinese mobile or a US number, in any of the usual ways of writing one."""
    if not isinstance(phone, str) or re.search(r"[^\d +().-]", phone):
        return False
    digits = re.sub(r"\D", "", phone)
    if phone.startswith("+86"):
        return re.fullmatch(r"861[3-9]\d{9}", digits) is not None
    if phone.startswith("+1"):
        return re.fullmatch(r"1[2-9]\d{9}", digits) is not None
    return re.fullmatch(r"1[3-9]\d{9}|[2-9]\d{9}", digits) is not None


def phone_key(phone: object) -> str:
    digits = re.sub(r"\D", "", str(phone or ""))
    return digits[2:] if digits.startswith("86") and len(digits) == 13 else digits[-10:]


def name_parts(name: str) -> list[str]:
    """Words of a Latin name, single characters of a CJK one, casefolded."""
    parts: list[str] = []
    for word in re.split(r"[\s,]+", name.strip()):
        if word and all(unicodedata.name(char, "").startswith("CJK") for char in word):
            parts.extend(word)
        elif word:
            parts.append(word)
    return [part.casefold() for part in parts]


def known_name_parts() -> set[str]:
    parts = {name.casefold() for name in (*sample._EN_FIRST, *sample._EN_LAST)}
    for chars, pinyin in (*sample._CN_SURNAMES, *sample._CN_GIVEN):
        parts.add(pinyin.casefold())
        parts.update(chars)
    return parts


class Sheet:
    """A sheet read back with openpyxl: cells by (header, row) and the raw Cell objects."""

    def __init__(self, worksheet: Worksheet, name: str) -> None:
        self.name = name
        self.ws = worksheet
        rows = list(worksheet.iter_rows())
        self.header = [str(cell.value) for cell in rows[0]]
        self.cells = rows
        self.data = [[cell.value for cell in row] for row in rows[1:]]

    def value(self, row: int, header: str) -> object:
        return self.data[row - 2][self.header.index(header)]

    def column(self, header: str) -> list[object]:
        index = self.header.index(header)
        return [row[index] for row in self.data]

    def records(self) -> Iterator[tuple[int, dict[str, object]]]:
        for number, row in enumerate(self.data, start=2):
            yield number, dict(zip(self.header, row, strict=False))


def read_workbook(path: Path) -> dict[str, Sheet]:
    workbook = openpyxl.load_workbook(path)
    return {name: Sheet(workbook[name], name) for name in workbook.sheetnames}


def planted_cells(summary: SampleSummary, kind: str) -> set[tuple[str, str, int]]:
    out = set()
    for ref in summary.planted[kind]:
        match = _REF.match(ref)
        assert match, ref
        sheet, letters, row = match.groups()
        out.add((sheet, letters, int(row)))
    return out


def planted_rows(summary: SampleSummary, kind: str, sheet: str = "Customers") -> set[int]:
    return {row for name, _, row in planted_cells(summary, kind) if name == sheet}


def as_date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return None


# ---------------------------------------------------------------------------------------
# The sample workbook
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[SampleSummary, dict[str, Sheet]]:
    path = tmp_path_factory.mktemp("sample") / "crm.xlsx"
    summary = write_sample_workbook(path, customers=CUSTOMERS, seed=11, today=TODAY)
    return summary, read_workbook(path)


def test_summary_describes_the_file(generated: tuple[SampleSummary, dict[str, Sheet]]) -> None:
    summary, sheets = generated
    assert summary.path.exists()
    assert list(sheets) == ["Customers", "Orders", "Interactions", "Opportunities"]
    for name, headers in HEADERS.items():
        assert sheets[name].header == list(headers), name
        assert summary.rows[name] == len(sheets[name].data) == sheets[name].ws.max_row - 1
    assert summary.rows["Customers"] == CUSTOMERS
    # ~4 orders per customer on average, skewed: many customers have none.
    assert 2.5 * CUSTOMERS <= summary.rows["Orders"] <= 5.5 * CUSTOMERS
    orders_per_customer: dict[object, int] = {}
    for customer_id in sheets["Orders"].column("customer_id"):
        orders_per_customer[customer_id] = orders_per_customer.get(customer_id, 0) + 1
    assert len(orders_per_customer) < 0.8 * CUSTOMERS
    assert max(orders_per_customer.values()) >= 15
    assert set(summary.planted) == set(PLANTED_KINDS)
    assert all(summary.planted[kind] for kind in PLANTED_KINDS), {k: len(v) for k, v in summary.planted.items()}


def test_header_is_bold_and_frozen(generated: tuple[SampleSummary, dict[str, Sheet]]) -> None:
    _, sheets = generated
    for sheet in sheets.values():
        assert sheet.ws.freeze_panes == "A2"
        assert all(cell.font.b for cell in sheet.cells[0])
        widths = [sheet.ws.column_dimensions[get_column_letter(i)].width for i in range(1, len(sheet.header) + 1)]
        assert all(8 <= width <= 48 for width in widths), (sheet.name, widths)


def test_ids_are_text_and_unique(generated: tuple[SampleSummary, dict[str, Sheet]]) -> None:
    _, sheets = generated
    for name, prefix in (("Customers", "C-"), ("Orders", "O-"), ("Interactions", "I-"), ("Opportunities", "OP-")):
        ids = sheets[name].column(HEADERS[name][0])
        assert all(isinstance(value, str) and re.fullmatch(prefix + r"\d{6,}", value) for value in ids), name
        assert len(set(ids)) == len(ids), name


def test_other_sheets_reference_existing_customers(generated: tuple[SampleSummary, dict[str, Sheet]]) -> None:
    _, sheets = generated
    customer_ids = set(sheets["Customers"].column("customer_id"))
    for name in ("Orders", "Interactions", "Opportunities"):
        assert set(sheets[name].column("customer_id")) <= customer_ids, name


def test_orders_cover_two_years_and_add_up(generated: tuple[SampleSummary, dict[str, Sheet]]) -> None:
    summary, sheets = generated
    bad_status_rows = planted_rows(summary, "bad_choice", "Orders")
    for row, order in sheets["Orders"].records():
        order_date = as_date(order["order_date"])
        assert order_date is not None and TODAY - dt.timedelta(days=731) <= order_date <= TODAY
        assert order["currency"] in ("CNY", "USD")
        assert isinstance(order["quantity"], int) and order["quantity"] >= 1
        assert isinstance(order["unit_price"], int | float)
        assert order["amount"] == pytest.approx(order["quantity"] * order["unit_price"], abs=0.01)
        assert (order["status"] in ORDER_STATUSES) != (row in bad_status_rows), (row, order["status"])


def test_postcodes_keep_leading_zeros(generated: tuple[SampleSummary, dict[str, Sheet]]) -> None:
    _, sheets = generated
    postcodes = sheets["Customers"].column("postcode")
    assert all(isinstance(code, str) and re.fullmatch(r"\d{5}|\d{6}", code) for code in postcodes)
    assert any(code.startswith("0") for code in postcodes if isinstance(code, str))
    phones = [phone for phone in sheets["Customers"].column("phone") if isinstance(phone, str)]
    assert any(phone.isdigit() for phone in phones)  # 13800138000 stays text, not a number
    assert not any(isinstance(phone, int | float) for phone in sheets["Customers"].column("phone"))


def test_no_cell_is_a_formula(generated: tuple[SampleSummary, dict[str, Sheet]]) -> None:
    _, sheets = generated
    starts_with_equals = 0
    for sheet in sheets.values():
        for row in sheet.cells:
            for cell in row:
                assert cell.data_type != "f", f"{sheet.name}!{cell.coordinate} = {cell.value!r}"
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    starts_with_equals += 1
    assert starts_with_equals > 0  # the notes that look like formulas were written as text


def test_dates_are_real_dates_unless_planted(generated: tuple[SampleSummary, dict[str, Sheet]]) -> None:
    summary, sheets = generated
    as_text = planted_cells(summary, "bad_date") | planted_cells(summary, "mixed_date_format")
    for name, headers in DATE_COLUMNS.items():
        sheet = sheets[name]
        for header in headers:
            letter = get_column_letter(sheet.header.index(header) + 1)
            for row, value in enumerate(sheet.column(header), start=2):
                if (name, letter, row) in as_text:
                    assert isinstance(value, str)
                else:
                    assert value is None or isinstance(value, dt.datetime), (name, header, row, value)
                    if value is not None:
                        number_format = sheet.cells[row - 1][sheet.header.index(header)].number_format
                        assert number_format == "yyyy-mm-dd"


def test_every_planted_ref_holds_its_kind(generated: tuple[SampleSummary, dict[str, Sheet]]) -> None:
    summary, sheets = generated
    customers = sheets["Customers"]
    for kind in PLANTED_KINDS:
        for sheet_name, letters, row in planted_cells(summary, kind):
            sheet = sheets[sheet_name]
            column = column_index_from_string(letters)
            assert 2 <= row <= len(sheet.data) + 1 and column <= len(sheet.header), (kind, sheet_name, letters, row)
            header = sheet.header[column - 1]
            value = sheet.data[row - 2][column - 1]
            where = f"{kind} {sheet_name}!{letters}{row} ({header}) = {value!r}"

            if kind == "duplicate":
                assert header == "customer_id", where
                email = customers.value(row, "email")
                phone = customers.value(row, "phone")
                twins = [
                    other
                    for other, record in customers.records()
                    if other != row
                    and (
                        str(record["email"]).casefold() == str(email).casefold()
                        or phone_key(record["phone"]) == phone_key(phone)
                    )
                ]
                assert twins, where
            elif kind == "typo":
                assert header == "name" and isinstance(value, str) and value, where
                assert set(name_parts(value)) - known_name_parts(), where
            elif kind == "bad_phone":
                assert header == "phone" and isinstance(value, str) and value, where
                assert not phone_is_valid(value), where
            elif kind == "bad_email":
                assert header == "email" and isinstance(value, str) and value, where
                assert not _EMAIL.match(value), where
            elif kind == "bad_date":
                assert header in DATE_COLUMNS[sheet_name] and isinstance(value, str), where
                parts = date_text_parts(value)
                assert parts is not None and not is_real_date(parts), where
            elif kind == "mixed_date_format":
                assert header in DATE_COLUMNS[sheet_name] and isinstance(value, str), where
                parts = date_text_parts(value)
                assert parts is not None and is_real_date(parts), where
                assert not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value), where
            elif kind == "stale":
                assert header == "last_contact", where
                last_contact = as_date(value)
                assert last_contact is not None, where
                assert (TODAY - last_contact).days > STALE_AFTER_DAYS, where
                assert customers.value(row, "tier") in ("VIP", "Key"), where
            elif kind == "missing_required":
                assert header in ("name", "phone") and value is None, where
            elif kind == "bad_choice":
                choices = {"tier": TIERS, "status": ORDER_STATUSES}[header]
                assert isinstance(value, str) and value not in choices, where
            else:  # pragma: no cover
                pytest.fail(f"unknown kind {kind}")


def test_unplanted_rows_are_clean(generated: tuple[SampleSummary, dict[str, Sheet]]) -> None:
    """What a validator finds is what was planted, not also whatever the generator happened to make."""
    summary, sheets = generated
    customers = sheets["Customers"]
    bad_phone = planted_rows(summary, "bad_phone") | planted_rows(summary, "missing_required")
    bad_name = planted_rows(summary, "typo") | planted_rows(summary, "missing_required")
    bad_email = planted_rows(summary, "bad_email")
    known = known_name_parts()
    emails: dict[str, int] = {}
    phones: dict[str, int] = {}
    duplicates = planted_rows(summary, "duplicate")
    for row, record in customers.records():
        if row not in bad_phone:
            assert phone_is_valid(record["phone"]), (row, record["phone"])
        if row not in bad_email:
            assert isinstance(record["email"], str) and _EMAIL.match(record["email"]), (row, record["email"])
        if row not in bad_name:
            assert isinstance(record["name"], str) and set(name_parts(record["name"])) <= known, (row, record["name"])
        if row not in planted_rows(summary, "bad_choice"):
            assert record["tier"] in TIERS, (row, record["tier"])
        last_contact = as_date(record["last_contact"])
        if record["tier"] in ("VIP", "Key") and last_contact is not None and row not in planted_rows(summary, "stale"):
            assert (TODAY - last_contact).days <= STALE_AFTER_DAYS, (row, last_contact)
        # Apart from the planted duplicates, no two customers share an email or a phone.
        email, phone = record["email"], record["phone"]
        if row not in duplicates | bad_email and isinstance(email, str):
            assert email.casefold() not in emails, (row, emails.get(email.casefold()))
            emails[email.casefold()] = row
        if row not in duplicates | bad_phone and isinstance(phone, str):
            assert phone_key(phone) not in phones, (row, phone)
            phones[phone_key(phone)] = row
        assert record["consent"] in ("yes", "no")
        assert record["country"] in ("China", "United States")


def test_content_is_realistic(generated: tuple[SampleSummary, dict[str, Sheet]]) -> None:
    _, sheets = generated
    customers = sheets["Customers"]
    names = [name for name in customers.column("name") if isinstance(name, str)]
    assert any(re.fullmatch(r"[\u4e00-\u9fff]{2,4}", name) for name in names)  # 张伟
    assert any(re.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+", name) for name in names)  # Zhang Wei, John Smith
    companies = [company for company in customers.column("company") if isinstance(company, str)]
    assert any(company.endswith("有限公司") for company in companies)
    assert any(re.search(r"\b(Inc|Ltd|LLC|GmbH|Co)\b", company) for company in companies)
    phones = [phone for phone in customers.column("phone") if isinstance(phone, str)]
    for pattern in (r"\+86 1\d\d \d{4} \d{4}", r"1\d{10}", r"\(\d{3}\) \d{3}-\d{4}", r"\d{3}\.\d{3}\.\d{4}"):
        assert any(re.fullmatch(pattern, phone) for phone in phones), pattern
    assert {"East China", "North China", "South China", "US West", "US East"} <= set(customers.column("region"))
    assert set(customers.column("tier")) >= set(TIERS)
    assert set(sheets["Interactions"].column("channel")) == {"phone", "email", "meeting", "wechat", "other"}
    assert None in sheets["Interactions"].column("rating")
    assert {r for r in sheets["Interactions"].column("rating") if r is not None} <= {1, 2, 3, 4, 5}
    assert set(sheets["Opportunities"].column("stage")) <= set(sample.STAGES)
    owners = {(r["owner"], r["owner_email"]) for _, r in customers.records()}
    assert 3 <= len(owners) <= 10 and all(str(email).endswith(".example") for _, email in owners)


def test_same_seed_same_values(tmp_path: Path) -> None:
    first = write_sample_workbook(tmp_path / "a.xlsx", customers=150, seed=3, today=TODAY)
    second = write_sample_workbook(tmp_path / "b.xlsx", customers=150, seed=3, today=TODAY)
    other = write_sample_workbook(tmp_path / "c.xlsx", customers=150, seed=4, today=TODAY)
    assert first.rows == second.rows and first.planted == second.planted
    a, b, c = (read_workbook(summary.path) for summary in (first, second, other))
    for name in a:
        assert a[name].data == b[name].data, name
    assert a["Customers"].data != c["Customers"].data


def test_today_anchors_every_date(tmp_path: Path) -> None:
    later = TODAY + dt.timedelta(days=100)
    summary = write_sample_workbook(tmp_path / "later.xlsx", customers=60, seed=3, today=later)
    for name, headers in DATE_COLUMNS.items():
        if name == "Opportunities":
            continue  # expected_close of open deals is in the future on purpose
        sheet = read_workbook(summary.path)[name]
        for header in headers:
            if header == "next_follow_up":
                continue  # follow-ups are planned ahead
            dates = [as_date(value) for value in sheet.column(header)]
            real = [d for d in dates if d is not None]
            assert real and max(real) <= later, (name, header)


def test_small_and_empty_samples(tmp_path: Path) -> None:
    empty = write_sample_workbook(tmp_path / "empty.xlsx", customers=0, seed=1, today=TODAY)
    assert empty.rows == {"Customers": 0, "Orders": 0, "Interactions": 0, "Opportunities": 0}
    assert all(refs == [] for refs in empty.planted.values())
    assert read_workbook(empty.path)["Customers"].header == list(CUSTOMER_HEADERS)
    tiny = write_sample_workbook(tmp_path / "tiny.xlsx", customers=5, seed=1, today=TODAY)
    assert tiny.rows["Customers"] == 5
    assert gc.isenabled()  # the collector paused while writing is running again
    with pytest.raises(ValueError, match="customers"):
        write_sample_workbook(tmp_path / "bad.xlsx", customers=-1)


def test_calamine_reads_the_sample(generated: tuple[SampleSummary, dict[str, Sheet]]) -> None:
    summary, sheets = generated
    workbook = CalamineWorkbook.from_path(str(summary.path))
    rows = workbook.get_sheet_by_name("Customers").to_python()
    assert len(rows) == CUSTOMERS + 1
    assert rows[1][0] == sheets["Customers"].data[0][0]
    postcodes = [row[CUSTOMER_HEADERS.index("postcode")] for row in rows[1:]]
    assert all(isinstance(code, str) for code in postcodes)
    created = [row[CUSTOMER_HEADERS.index("created_at")] for row in rows[1:]]
    assert any(isinstance(value, dt.date) for value in created)


# ---------------------------------------------------------------------------------------
# bench/generate.py
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bench_generate() -> Iterator[ModuleType]:
    path = Path(__file__).resolve().parents[1] / "bench" / "generate.py"
    spec = importlib.util.spec_from_file_location("sheetcrm_bench_generate", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclass/typing machinery looks the module up by name
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


@pytest.mark.parametrize("kind", ["customers", "orders"])
def test_bench_workbook_reads_back(bench_generate: ModuleType, tmp_path: Path, kind: str) -> None:
    rows = 1_000
    path = bench_generate.ensure_workbook(kind, rows, tmp_path)
    assert path == tmp_path / f"{kind}_{rows}.xlsx"
    columns = bench_generate.CUSTOMER_COLUMNS if kind == "customers" else bench_generate.ORDER_COLUMNS
    date_column = columns.index("created_at" if kind == "customers" else "order_date")
    money_column = columns.index("total_spent" if kind == "customers" else "amount")

    values = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    assert len(values) == rows + 1
    assert tuple(values[0]) == columns
    for row in values[1:]:
        assert isinstance(row[0], str) and row[0]
        assert type(row[date_column]) is dt.date
        assert isinstance(row[money_column], float) and round(row[money_column], 2) == row[money_column]

    workbook = openpyxl.load_workbook(path)
    sheet = workbook.active
    assert sheet is not None and sheet.max_row == rows + 1 and sheet.max_column == len(columns)
    assert sheet.freeze_panes == "A2" and sheet["A1"].font.b
    cells = [list(row) for row in sheet.iter_rows(min_row=2)]
    for row_cells, row_values in zip(cells, values[1:], strict=True):
        assert row_cells[0].value == row_values[0]
        assert as_date(row_cells[date_column].value) == row_values[date_column]
        assert row_cells[date_column].number_format == "yyyy-mm-dd"
        assert row_cells[money_column].value == pytest.approx(row_values[money_column])
    bench_generate.verify_workbook(path, kind, rows)

    # Cached: a second call returns the file without rewriting it; and it is reproducible.
    mtime = path.stat().st_mtime_ns
    assert bench_generate.ensure_workbook(kind, rows, tmp_path) == path and path.stat().st_mtime_ns == mtime
    again = bench_generate.write_workbook(kind, rows, tmp_path / "again.xlsx")
    assert again.read_bytes() == path.read_bytes()
    assert not list(tmp_path.glob(".*partial"))

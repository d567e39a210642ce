"""sheetcrm.schema: field types, the built-in tables and their aliases, config changes, pandera."""

from __future__ import annotations

import ast
import math
import unicodedata
from pathlib import Path

import pandas as pd
import pandera.pandas as pa
import pytest

from sheetcrm.config import Config, default_config, load_config, render_config
from sheetcrm.errors import ConfigError
from sheetcrm.schema import (
    CRM_TABLES,
    CheckCode,
    Field,
    FieldType,
    HeaderMatch,
    TableLayout,
    TableSchema,
    build_schemas,
    normalize_header,
    to_pandera,
)

SCHEMA_PACKAGE = Path(__file__).resolve().parent.parent / "sheetcrm" / "schema"


# --------------------------------------------------------------------------- helpers


def text_frame(columns: dict[str, list[str]], first_row: int = 2) -> pd.DataFrame:
    """A frame as sheetcrm reads one: text values, indexed by spreadsheet row number."""
    length = len(next(iter(columns.values())))
    index = pd.Index(range(first_row, first_row + length), name="row")
    return pd.DataFrame(columns, index=index, dtype="str")


def failures(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> list[tuple[int, str, str, str]]:
    """(row, column, check, value) of every failing cell, sorted; [] when the frame is valid."""
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
        return sorted(
            (int(row), str(column), str(check), str(value))
            for row, column, check, value in zip(
                cases["index"], cases["column"], cases["check"], cases["failure_case"], strict=True
            )
        )
    return []


def one_field(field: Field) -> TableSchema:
    return TableSchema("things", "Things", "thing_id", (Field("thing_id", FieldType.text), field))


def bad_values(field: Field, values: list[str]) -> dict[str, list[str]]:
    """For each value (checked in one column), the codes of the checks it fails."""
    frame = text_frame({field.name: values})
    found: dict[str, list[str]] = {value: [] for value in values}
    for row, _, check, _ in failures(to_pandera(one_field(field)), frame):
        found[values[row - 2]].append(check)
    return found


def write_config(folder: Path, text: str) -> Path:
    path = folder / "sheetcrm.toml"
    path.write_text(text, encoding="utf-8")
    return path


def config_error(folder: Path, text: str) -> str:
    path = write_config(folder, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    return message


def is_chinese(text: str) -> bool:
    return any(unicodedata.name(char, "").startswith("CJK UNIFIED") for char in text)


# --------------------------------------------------------------------------- the built-in tables


def test_columns_are_unchanged() -> None:
    # sample.py and create.py lay out workbooks in this order
    assert {key: (t.sheet, t.id_column, t.columns) for key, t in CRM_TABLES.items()} == {
        "customers": (
            "Customers",
            "customer_id",
            (
                "customer_id", "name", "company", "title", "phone", "email", "address", "city", "postcode",
                "region", "country", "industry", "tier", "tags", "owner", "owner_email", "source", "birthday",
                "created_at", "last_contact", "next_follow_up", "consent", "notes",
            ),
        ),
        "orders": (
            "Orders",
            "order_id",
            (
                "order_id", "customer_id", "order_date", "status", "product", "quantity", "unit_price", "amount",
                "currency", "shipped_at", "delivered_at", "tracking_no", "notes",
            ),
        ),
        "interactions": (
            "Interactions",
            "interaction_id",
            ("interaction_id", "customer_id", "date", "channel", "summary", "owner", "outcome", "rating"),
        ),
        "opportunities": (
            "Opportunities",
            "opportunity_id",
            (
                "opportunity_id", "customer_id", "title", "stage", "amount", "expected_close", "owner",
                "next_step", "updated_at",
            ),
        ),
    }  # fmt: skip
    assert TableLayout is TableSchema
    assert all(t.key == key and t.headers == t.columns for key, t in CRM_TABLES.items())


def test_every_field_is_described_and_has_english_and_chinese_aliases() -> None:
    for table in CRM_TABLES.values():
        for field in table.fields:
            where = f"{table.key}.{field.name}"
            assert field.description, where
            assert field.group, where
            assert any(is_chinese(alias) for alias in field.aliases), where
            assert any(alias.isascii() for alias in field.aliases), where


def test_the_rules_of_the_builtin_fields() -> None:
    customers, orders = CRM_TABLES["customers"], CRM_TABLES["orders"]
    interactions, opportunities = CRM_TABLES["interactions"], CRM_TABLES["opportunities"]
    for table in CRM_TABLES.values():
        id_field = table.field(table.id_column)
        assert (id_field.type, id_field.required, id_field.unique) == (FieldType.id, True, True)
    assert customers.field("name").required
    assert [f.name for f in customers.fields if f.required] == ["customer_id", "name"]
    assert customers.field("tier").choices == ("VIP", "Key", "Standard")
    assert customers.field("consent").choices == ("yes", "no")
    assert orders.field("status").choices == (
        "received", "confirmed", "processing", "shipped", "completed", "cancelled", "returned",
    )  # fmt: skip
    assert interactions.field("channel").choices == ("phone", "email", "meeting", "wechat", "other")
    assert opportunities.field("stage").choices == ("lead", "qualified", "proposal", "negotiation", "won", "lost")
    for table in (orders, interactions, opportunities):
        reference = table.field("customer_id")
        assert (reference.type, reference.reference, reference.required) == (
            FieldType.reference,
            "customers.customer_id",
            True,
        )
    rating = interactions.field("rating")
    assert (rating.type, rating.minimum, rating.maximum) == (FieldType.integer, 1, 5)
    assert customers.field("phone").type is FieldType.phone
    assert customers.field("birthday").type is FieldType.date
    assert opportunities.field("updated_at").type is FieldType.datetime
    assert orders.field("amount").type is FieldType.money


@pytest.mark.parametrize(
    ("table", "field", "spelling", "choice"),
    [
        ("customers", "tier", "vip", "VIP"),
        ("customers", "tier", "重要客户", "Key"),
        ("customers", "tier", "普通客户", "Standard"),
        ("customers", "tier", "Key Account", "Key"),
        ("customers", "tier", " standard ", "Standard"),
        ("customers", "consent", "是", "yes"),
        ("customers", "consent", "N", "no"),
        ("customers", "consent", "TRUE", "yes"),
        ("orders", "status", "canceled", "cancelled"),
        ("orders", "status", "已发货", "shipped"),
        ("orders", "status", "Shipped", "shipped"),
        ("interactions", "channel", "微信", "wechat"),
        ("opportunities", "stage", "Closed Won", "won"),
    ],
)
def test_choice_synonyms(table: str, field: str, spelling: str, choice: str) -> None:
    assert CRM_TABLES[table].field(field).choice_for(spelling) == choice


def test_ambiguous_choices_are_not_guessed() -> None:
    tier = CRM_TABLES["customers"].field("tier")
    assert [tier.choice_for(value) for value in ("Gold", "Platinum", "Premium", "")] == [None] * 4


def test_rendering() -> None:
    customers, orders = CRM_TABLES["customers"], CRM_TABLES["orders"]
    formats = {name: customers.field(name).number_format for name in ("customer_id", "phone", "postcode", "tags")}
    assert formats == {"customer_id": "@", "phone": "@", "postcode": "@", "tags": "@"}
    assert customers.field("birthday").number_format == "yyyy-mm-dd"
    assert CRM_TABLES["opportunities"].field("updated_at").number_format == "yyyy-mm-dd hh:mm"
    assert orders.field("amount").number_format == "#,##0.00"
    assert orders.field("quantity").number_format == "0"
    assert orders.field("customer_id").number_format == "@"
    assert customers.field("name").number_format == "General"
    assert Field("zip", FieldType.text, format="@").number_format == "@"
    for table in CRM_TABLES.values():
        for field in table.fields:
            assert 8 <= field.width <= 60
            assert field.width >= len(field.header) + 4  # the header and its filter button fit
    assert customers.field("email").width > customers.field("birthday").width
    assert Field("x", FieldType.text, header="一个很长的中文表头名称").width >= 24  # CJK characters count double


# --------------------------------------------------------------------------- headers


def test_chinese_headers_map_and_a_team_column_stays_unknown() -> None:
    match = CRM_TABLES["customers"].match_headers(["客户名称", "手机", "邮箱", "客户等级", "WeChat"])
    assert match == HeaderMatch(
        fields={"客户名称": "name", "手机": "phone", "邮箱": "email", "客户等级": "tier"},
        unknown=["WeChat"],
        missing=["customer_id"],
        duplicates=[],
    )
    assert match.headers == {"name": "客户名称", "phone": "手机", "email": "邮箱", "tier": "客户等级"}


@pytest.mark.parametrize(
    ("table", "header", "field"),
    [
        ("customers", "Customer name", "name"),
        ("customers", "姓名", "name"),
        ("customers", "Mobile", "phone"),
        ("customers", "Tel.", "phone"),
        ("customers", "联系电话", "phone"),
        ("customers", "E-mail", "email"),
        ("customers", "Email Address", "email"),
        ("customers", "电子邮件", "email"),
        ("customers", "Organisation", "company"),
        ("customers", "单位", "company"),
        ("customers", "Customer level", "tier"),
        ("customers", "Sales rep", "owner"),
        ("customers", "负责人", "owner"),
        ("customers", "Created", "created_at"),
        ("customers", "创建日期", "created_at"),
        ("customers", "Next follow-up", "next_follow_up"),
        ("customers", "Zip code", "postcode"),
        ("customers", "CUSTOMER_ID", "customer_id"),
        ("customers", "客户编号", "customer_id"),
        ("orders", "订单号", "order_id"),
        ("orders", "Order #", "order_id"),
        ("orders", "客户编号", "customer_id"),
        ("orders", "Qty", "quantity"),
        ("orders", "单价", "unit_price"),
        ("orders", "快递单号", "tracking_no"),
        ("interactions", "沟通方式", "channel"),
        ("interactions", "满意度", "rating"),
        ("opportunities", "阶段", "stage"),
        ("opportunities", "Close date", "expected_close"),
    ],
)
def test_aliases(table: str, header: str, field: str) -> None:
    assert CRM_TABLES[table].field_for_header(header) == field


def test_header_normalisation() -> None:
    # full-width forms, case, surrounding spaces, and spaces / _ / - inside are all the same
    assert normalize_header(" Ｅ－ＭＡＩＬ ") == normalize_header("e_mail") == normalize_header("Email") == "email"
    assert normalize_header("Next  Follow-Up") == normalize_header("next_follow_up")
    assert normalize_header("客户　名称") == normalize_header("客户名称")  # an ideographic space
    assert normalize_header("Name*") == normalize_header("Name:") == normalize_header("name")
    customers = CRM_TABLES["customers"]
    assert customers.field_for_header("ＰＨＯＮＥ") == "phone"
    assert customers.field_for_header("Last-Contact") == "last_contact"
    assert customers.field_for_header("WeChat") is None


def test_duplicates_missing_and_blank_headers() -> None:
    match = CRM_TABLES["customers"].match_headers(["Mobile", "", "电话", "phone", "Notes", "备注", "Fax"])
    # the header spelled as the field's name wins; otherwise the leftmost
    assert match.fields == {"phone": "phone", "Notes": "notes"}
    assert match.duplicates == [("phone", ["Mobile", "电话", "phone"]), ("notes", ["Notes", "备注"])]
    assert match.unknown == ["Fax"]
    assert match.missing == ["customer_id", "name"]


def test_an_alias_means_one_field_per_table() -> None:
    with pytest.raises(ConfigError, match="'Mobile' would mean both 'phone' and 'mobile2'"):
        CRM_TABLES["customers"].with_changes(add=[Field("mobile2", FieldType.phone, aliases=("Mobile",))])


# --------------------------------------------------------------------------- fields


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Field("tier", FieldType.enum), "an enum field needs its choices"),
        (lambda: Field("x", FieldType.text, pattern="C-[0-9"), "not a valid regular expression"),
        (lambda: Field("x", FieldType.reference), "names what it refers to"),
        (lambda: Field("x", FieldType.reference, reference="customers"), "is not written table.column"),
        (lambda: Field("x", FieldType.text, reference="customers.customer_id"), "only reference fields"),
        (lambda: Field("x", FieldType.enum, choices=("a",), synonyms={"b": "c"}), "'c', which is not a choice"),
        (lambda: Field("x", FieldType.enum, choices=("a", "A")), "the same choice"),
        (lambda: Field("x", FieldType.text, choices=("a",)), "choices apply to enum and tags"),
        (lambda: Field("x", FieldType.integer, minimum=5, maximum=1), "minimum 5 is above maximum 1"),
        (lambda: Field("x", FieldType.date, minimum=1), "only numbers do"),
        (lambda: Field("x", "txt"), "unknown type 'txt'"),  # type: ignore[arg-type]
        (lambda: Field("Customer Name", FieldType.text), "snake_case"),
        (lambda: Field("x", FieldType.tags, choices=("a,b",)), "holds a comma"),
    ],
)
def test_field_errors(make: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make()  # type: ignore[operator]


def test_field_defaults_and_changes() -> None:
    field = Field("wechat_id", "text")  # type: ignore[arg-type]
    assert field.type is FieldType.text
    assert (field.header, field.group, field.required, field.pattern) == ("wechat_id", "extra", False, None)
    assert Field("x", FieldType.id, pattern="").pattern is None
    changed = field.with_changes(required=True, header="WeChat")
    assert (changed.required, changed.header, field.required) == (True, "WeChat", False)
    assert hash(CRM_TABLES["customers"].field("tier"))  # fields are hashable despite their synonyms mapping


def test_with_changes() -> None:
    customers = CRM_TABLES["customers"]
    mine = customers.with_changes(
        sheet="客户",
        fields={"phone": {"required": True}},
        add=[Field("wechat_id", FieldType.text, header="WeChat", aliases=("微信号",))],
        remove=["birthday"],
    )
    assert mine.sheet == "客户"
    assert mine.field("phone").required and not customers.field("phone").required
    assert mine.columns[-1] == "wechat_id" and "birthday" not in mine
    assert mine.match_headers(["WeChat", "微信号"]).duplicates == [("wechat_id", ["WeChat", "微信号"])]
    assert mine.groups["extra"] == ("notes", "wechat_id")
    with pytest.raises(ConfigError, match="did you mean 'phone'"):
        customers.with_changes(fields={"phon": {"required": True}})
    with pytest.raises(ConfigError, match="already has a field 'phone'"):
        customers.with_changes(add=[Field("phone", FieldType.text)])
    with pytest.raises(KeyError, match="did you mean 'phone'"):
        customers.field("phon")


def test_table_errors() -> None:
    with pytest.raises(ConfigError, match="the id column 'id' is not one of its fields"):
        TableSchema("t", "T", "id", (Field("x", FieldType.text),))
    with pytest.raises(ConfigError, match="field 'x' is defined twice"):
        TableSchema("t", "T", "x", (Field("x", FieldType.text), Field("x", FieldType.integer)))


# --------------------------------------------------------------------------- checks per type

GOOD_AND_BAD: list[tuple[Field, list[str], dict[str, str]]] = [
    (
        Field("n", FieldType.integer),
        ["0", "42", "-3", "+7", ""],
        {"4.5": "bad-integer", "1,000": "bad-integer", "abc": "bad-integer", "１２": "bad-integer"},
    ),
    (
        Field("n", FieldType.decimal),
        ["1.5", "-0.25", "3", ".5", "1.5E+20", ""],
        {"1,5": "bad-number", "abc": "bad-number", "1.2.3": "bad-number"},
    ),
    (
        Field("n", FieldType.money),
        ["1234.50", "0", "274.66"],
        {"¥12": "bad-number", "1,234.50": "bad-number", "12 USD": "bad-number"},
    ),
    (
        Field("d", FieldType.date),
        ["2024-02-29", "1999-12-31", ""],
        {
            "2023-02-29": "bad-date",
            "2024-04-31": "bad-date",
            "2024-13-01": "bad-date",
            "2024/3/5": "bad-date",
            "5 Mar 2024": "bad-date",
            "2024年3月5日": "bad-date",
            "45357": "bad-date",
        },
    ),
    (
        Field("d", FieldType.datetime),
        ["2024-03-05 14:30", "2024-03-05T14:30:00", "2024-03-05", "2024-03-05 09:05:07.250000"],
        {"2024-03-05 25:00": "bad-datetime", "2024-02-30 10:00": "bad-datetime", "14:30": "bad-datetime"},
    ),
    (
        Field("p", FieldType.phone),
        ["+86 138 0013 8000", "(415) 555-0134", "13800138000", "415.555.0199", "+1 (415) 555-0134", "010-12345678"],
        {
            "123": "bad-phone",
            "138OO138000": "bad-phone",
            "+86 138 0013 8000 1234 5678": "bad-phone",
            "call me": "bad-phone",
        },
    ),
    (
        Field("e", FieldType.email),
        ["zhang.wei@example.cn", "Jane@Example.COM", "a+b@sub.example.co.uk", "x@example.xn--fiqs8s"],
        {
            "a@b": "bad-email",
            "a.example.com": "bad-email",
            "a@@b.com": "bad-email",
            "a b@c.com": "bad-email",
            "a@b,com": "bad-email",
            "a@": "bad-email",
        },
    ),
    (
        Field("u", FieldType.url),
        ["https://example.com", "http://example.com/path?q=1", "www.example.com", ""],
        {"not a url": "bad-url", "http://": "bad-url", "example": "bad-url"},
    ),
    (
        Field("t", FieldType.enum, choices=("VIP", "Key")),
        ["VIP", "Key", ""],
        {"vip": "not-in-choices", "Gold": "not-in-choices", " VIP": "not-in-choices"},
    ),
    (
        Field("t", FieldType.tags, choices=("a", "b")),
        ["a", "a, b", "b,a", ""],
        {"a, c": "not-in-choices", "A": "not-in-choices"},
    ),
    (Field("t", FieldType.tags), ["anything, at all", "x"], {}),
    (
        Field("b", FieldType.boolean),
        ["TRUE", "false", "yes", "N", "是", "0"],
        {"maybe": "bad-boolean", "2": "bad-boolean"},
    ),
    (
        Field("c", FieldType.text, pattern=r"[A-Z]{3}"),
        ["CNY", "USD", ""],
        {"cny": "bad-pattern", "CNYY": "bad-pattern"},
    ),
    (
        Field("r", FieldType.integer, minimum=1, maximum=5),
        ["1", "5", "3"],
        {"0": "out-of-range", "6": "out-of-range", "-1": "out-of-range", "x": "bad-integer"},
    ),
    (Field("r", FieldType.money, minimum=0), ["0", "12.5"], {"-0.01": "out-of-range"}),
    (Field("t", FieldType.text, required=True), ["x"], {"": "missing-value", "   ": "missing-value"}),
]


@pytest.mark.parametrize(("field", "good", "bad"), GOOD_AND_BAD, ids=lambda v: getattr(v, "type", None))
def test_checks_per_type(field: Field, good: list[str], bad: dict[str, str]) -> None:
    found = bad_values(field, [*good, *bad])
    assert {value: codes for value, codes in found.items() if codes} == {value: [code] for value, code in bad.items()}


def test_ids_are_unique_and_match_their_pattern() -> None:
    field = Field("thing_id", FieldType.id, required=True, unique=True, pattern=r"T-[0-9]{3}")
    schema = to_pandera(TableSchema("things", "Things", "thing_id", (field,)))
    frame = text_frame({"thing_id": ["T-001", "T-002", "T-001", "", "t-3", "T-004"]})
    assert failures(schema, frame) == [
        (2, "thing_id", "duplicate-id", "T-001"),
        (4, "thing_id", "duplicate-id", "T-001"),
        (5, "thing_id", "missing-value", ""),
        (6, "thing_id", "bad-pattern", "t-3"),
    ]


def test_unique_values_that_are_not_ids() -> None:
    field = Field("email", FieldType.email, unique=True)
    frame = text_frame({"email": ["a@example.com", "", "a@example.com", ""]})
    assert failures(to_pandera(one_field(field)), frame) == [
        (2, "email", "duplicate-value", "a@example.com"),
        (4, "email", "duplicate-value", "a@example.com"),
    ]


def test_references_are_checked_when_their_values_are_given() -> None:
    orders = CRM_TABLES["orders"]
    frame = text_frame(
        {
            "order_id": ["O-000001", "O-000002", "O-000003"],
            "customer_id": ["C-000001", "C-999999", ""],
            "order_date": ["2024-03-05"] * 3,
        }
    )
    assert failures(to_pandera(orders), frame) == [(4, "customer_id", "missing-value", "")]
    known = {"customers.customer_id": {"C-000001", "C-000002"}}
    assert failures(to_pandera(orders, references=known), frame) == [
        (3, "customer_id", "unknown-reference", "C-999999"),
        (4, "customer_id", "missing-value", ""),
    ]


# --------------------------------------------------------------------------- pandera on whole tables


def test_to_pandera_on_a_customers_frame() -> None:
    frame = text_frame(
        {
            "customer_id": ["C-000001", "C-000002", "C-000002", "C-4"],
            "name": ["Zhang Wei", "", "Jane Smith", "王芳"],
            "phone": ["138 0013 8000", "(415) 555-0134", "12345", ""],
            "email": ["zhang.wei@example.cn", "jane@example", "", "wangfang@example.cn"],
            "tier": ["VIP", "vip", "Standard", ""],
            "birthday": ["1980-02-29", "", "2023-02-29", "5 Mar 1990"],
            "consent": ["yes", "no", "是", ""],
            "WeChat": ["zw123", "", "", ""],  # a team's own column is left alone
        },
        first_row=14,
    )
    schema = to_pandera(CRM_TABLES["customers"])
    assert failures(schema, frame) == [
        (15, "customer_id", "duplicate-id", "C-000002"),
        (15, "email", "bad-email", "jane@example"),
        (15, "name", "missing-value", ""),
        (15, "tier", "not-in-choices", "vip"),
        (16, "birthday", "bad-date", "2023-02-29"),
        (16, "consent", "not-in-choices", "是"),
        (16, "customer_id", "duplicate-id", "C-000002"),
        (16, "phone", "bad-phone", "12345"),
        (17, "birthday", "bad-date", "5 Mar 1990"),
        (17, "customer_id", "bad-pattern", "C-4"),
    ]
    assert failures(schema, frame.drop(index=[15, 16, 17])) == []


def test_the_check_names_are_the_codes() -> None:
    names = {check.name for column in to_pandera(CRM_TABLES["customers"]).columns.values() for check in column.checks}
    assert names <= {str(code) for code in CheckCode}
    assert {"missing-value", "duplicate-id", "bad-pattern", "bad-phone", "bad-email", "bad-date"} <= names
    column = to_pandera(CRM_TABLES["customers"]).columns["tier"]
    assert column.metadata == {"field": "tier", "type": "enum"}
    assert column.description == CRM_TABLES["customers"].field("tier").description


def test_to_pandera_with_the_sheets_headers() -> None:
    customers = CRM_TABLES["customers"]
    headers = ["客户编号", "客户名称", "手机", "邮箱", "客户等级", "WeChat"]
    frame = text_frame(
        {
            "客户编号": ["C-000001", "C-000002"],
            "客户名称": ["张伟", ""],
            "手机": ["13800138000", "138"],
            "邮箱": ["zw@example.cn", "bad"],
            "客户等级": ["重要客户", "Key"],
            "WeChat": ["zw", ""],
        }
    )
    schema = to_pandera(customers, headers=customers.match_headers(headers).fields)
    assert failures(schema, frame) == [
        (2, "客户等级", "not-in-choices", "重要客户"),
        (3, "客户名称", "missing-value", ""),
        (3, "手机", "bad-phone", "138"),
        (3, "邮箱", "bad-email", "bad"),
    ]
    with pytest.raises(KeyError, match="no field 'nam'"):
        to_pandera(customers, headers={"Name": "nam"})


def test_a_missing_required_column() -> None:
    frame = text_frame({"name": ["Zhang Wei"]})
    with pytest.raises(pa.errors.SchemaErrors) as caught:
        to_pandera(CRM_TABLES["customers"]).validate(frame, lazy=True)
    cases = caught.value.failure_cases
    assert list(cases["failure_case"]) == ["customer_id"]
    assert list(cases["check"]) == ["column_in_dataframe"]


def test_an_analysts_frame_with_nan_for_empty_cells() -> None:
    # what pd.read_excel(path, dtype=str) gives: object columns, NaN for empty cells
    frame = pd.DataFrame(
        {
            "customer_id": ["C-000001", "C-000002", "C-000003"],
            "name": ["Zhang Wei", math.nan, "Bob"],
            "phone": [math.nan, "138 0013 8000", "12"],
        },
        dtype=object,
    )
    assert failures(to_pandera(CRM_TABLES["customers"]), frame) == [
        (1, "name", "not_nullable", "nan"),
        (2, "phone", "bad-phone", "12"),
    ]


def test_repeated_index_labels_do_not_confuse_the_tag_check() -> None:
    field = Field("tags", FieldType.tags, choices=("a", "b"))
    frame = pd.DataFrame({"tags": ["a", "c", "b"]}, index=[7, 7, 8], dtype="str")
    result = failures(to_pandera(one_field(field)), frame)
    assert result == [(7, "tags", "not-in-choices", "c")]


# --------------------------------------------------------------------------- config

TEAM = """\
[tables.leads]
sheet = "Leads"
id_column = "Lead ID"

[schema.customers.fields.phone]
required = true
aliases = ["Handy"]

[schema.customers.fields.tier]
choices = ["VIP", "Key", "Standard", "Trial"]
synonyms = { "gold" = "VIP" }

[schema.customers.fields.wechat_id]
type = "text"
description = "WeChat ID"
group = "extra"
header = "WeChat"
aliases = ["微信号", "Contact"]

[schema.customers.fields.customer_id]
pattern = ""

[schema.orders.fields.currency]
type = "enum"
choices = ["CNY", "USD"]

[schema.leads.fields.customer_id]
type = "reference"
reference = "customers.customer_id"

[schema.leads.fields.score]
type = "integer"
minimum = 0
maximum = 100
"""


def test_default_config_gives_the_builtin_tables() -> None:
    assert build_schemas(default_config()) == CRM_TABLES


def test_custom_fields_and_overrides_from_sheetcrm_toml(tmp_path: Path) -> None:
    schemas = build_schemas(load_config(write_config(tmp_path, TEAM)))
    customers = schemas["customers"]
    assert customers.columns == (*CRM_TABLES["customers"].columns, "wechat_id")
    assert customers.headers[-1] == "WeChat"

    phone = customers.field("phone")
    assert phone.required
    assert phone.aliases == (*CRM_TABLES["customers"].field("phone").aliases, "Handy")

    tier = customers.field("tier")
    assert tier.choices == ("VIP", "Key", "Standard", "Trial")
    assert tier.choice_for("GOLD") == "VIP" and tier.choice_for("重要客户") == "Key"

    wechat = customers.field("wechat_id")
    assert (wechat.type, wechat.description, wechat.group) == (FieldType.text, "WeChat ID", "extra")
    assert customers.field("customer_id").pattern is None
    # the team's alias wins over the built-in one
    assert "Contact" not in customers.field("name").aliases
    match = customers.match_headers(["客户名称", "Handy", "WeChat", "Contact"])
    assert match.fields == {"客户名称": "name", "Handy": "phone", "WeChat": "wechat_id"}
    assert match.duplicates == [("wechat_id", ["WeChat", "Contact"])]
    assert match.missing == ["customer_id"]

    currency = schemas["orders"].field("currency")
    assert (currency.type, currency.choices, currency.pattern) == (FieldType.enum, ("CNY", "USD"), r"[A-Z]{3}")

    leads = schemas["leads"]
    assert (leads.sheet, leads.id_column, leads.columns) == ("Leads", "lead_id", ("lead_id", "customer_id", "score"))
    assert leads.field("lead_id").header == "Lead ID"
    assert leads.match_headers(["Lead ID", "customer_id", "score"]).unknown == []

    # and they compile: the team's rules are checked
    frame = text_frame({"customer_id": ["42"], "name": ["X"], "phone": [""], "tier": ["Trial"], "WeChat": ["x"]})
    headers = customers.match_headers(list(frame.columns)).fields
    assert failures(to_pandera(customers, headers=headers), frame) == [(2, "phone", "missing-value", "")]


def test_the_config_with_a_schema_renders_and_loads_back(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, TEAM))
    again = tmp_path / "again"
    again.mkdir()
    rendered = render_config(config)
    assert "[schema.customers.fields.wechat_id]" in rendered
    assert load_config(write_config(again, rendered)) == config
    assert default_config().schema_ == {}


def test_the_id_column_of_a_builtin_table_may_be_any_of_its_headers(tmp_path: Path) -> None:
    text = '[tables.customers]\nid_column = "客户编号"\n[tables.orders]\nid_column = "Order Ref"\n'
    schemas = build_schemas(load_config(write_config(tmp_path, text)))
    assert schemas["customers"].id_column == "customer_id"
    assert schemas["orders"].id_column == "order_id"
    assert schemas["orders"].field_for_header("Order Ref") == "order_id"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[schema.customers.fields.wechat_id]\ntype = "txt"\n',
            "schema.customers.fields.wechat_id.type: should be 'text', 'integer',",
        ),
        (
            '[schema.customers.fields.phone]\npattern = "C-[0-9"\n',
            "schema.customers.fields.phone.pattern: not a valid regular expression",
        ),
        (
            "[schema.customers.fields.phon]\nrequired = true\n",
            "schema.customers.fields.phon: customers has no field 'phon' (a new field needs its type)",
        ),
        ("[schema.customer.fields.phone]\nrequired = true\n", "schema.customer: no such table"),
        ('[schema.customers]\nsheet = "客户"\n', "schema.customers.sheet: unknown key"),
        ("[schema.customers.fields.phone]\nrequird = true\n", "schema.customers.fields.phone.requird: unknown key"),
        (
            '[schema.customers.fields.tier]\nsynonyms = { gold = "Gold" }\n',
            "schema.customers.fields.tier.synonyms: synonym 'gold' maps to 'Gold', which is not a choice",
        ),
        ('[schema.customers.fields.level]\ntype = "enum"\n', "schema.customers.fields.level: an enum field needs"),
        ('[schema.customers.fields."微信"]\ntype = "text"\n', 'schema.customers.fields."微信": a field name is'),
        (
            '[schema.customers.fields.x]\ntype = "reference"\nreference = "customers.id"\n',
            "schema.customers.fields.x.reference: customers has no field 'id'",
        ),
        (
            '[schema.customers.fields.x]\ntype = "text"\naliases = ["Phone"]\n',
            "schema.customers.fields.x.aliases: 'Phone' already means field 'phone'",
        ),
        ('[schema.customers.fields.x]\ntype = "text"\nminimum = 3\n', "schema.customers.fields.x.minimum:"),
        (
            '[schema.customers.fields.phone]\nchoices = "a"\n',
            "schema.customers.fields.phone.choices: expected an array",
        ),
        ("schema = []\n", "schema: expected a table, got an array"),
    ],
)
def test_config_errors_name_the_key(tmp_path: Path, text: str, expected: str) -> None:
    message = config_error(tmp_path, text)
    assert expected in message
    assert message.count(";") == 0, "one mistake is one problem, without knock-on errors"


def test_config_error_hints(tmp_path: Path) -> None:
    assert "did you mean [schema.customers.fields.phone]?" in config_error(
        tmp_path, "[schema.customers.fields.phon]\nrequired = true\n"
    )
    assert "did you mean 'required'?" in config_error(tmp_path, "[schema.customers.fields.phone]\nrequird = true\n")
    assert "a custom table needs [tables.customer]" in config_error(tmp_path, "[schema.customer]\n")


def test_build_schemas_checks_a_config_made_in_python() -> None:
    config = Config.model_validate({"schema": {"customers": {"fields": {"level": {"type": "enum"}}}}})
    with pytest.raises(ConfigError, match=r"^config: schema.customers.fields.level: an enum field needs its choices"):
        build_schemas(config)


# --------------------------------------------------------------------------- layering


def test_the_schema_package_never_imports_a_backend() -> None:
    for path in SCHEMA_PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:  # module level; `if TYPE_CHECKING:` blocks are not run
            if isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            for module in modules:
                assert not module.startswith(("sheetcrm.sync", "sheetcrm.config", "sheetcrm.api")), (path.name, module)

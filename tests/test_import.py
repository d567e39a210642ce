"""Importing CSV and .xlsx exports into a CRM table: real files in tmp_path, re-read with the library."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import write_xlsx

import sheetcrm
from sheetcrm.config import default_config
from sheetcrm.errors import InputError
from sheetcrm.jobs.importer import ImportResult, import_rows, parse_mapping, plan_import
from sheetcrm.sync.changeset import AppendRows
from sheetcrm.sync.csvfile import read_csv

HEADER = ["customer_id", "name", "company", "phone", "email", "tier", "notes"]
EXISTING = [
    ["C-000001", "Zhang Wei", "", "138 0013 8000", "zhang.wei@example.cn", "VIP", ""],
    ["C-000002", "Jane Smith", "", "(415) 555-0134", "jane@example.com", "Key", "met at fair"],
    ["C-000003", "王芳", "华为", "+86 139 0000 1111", "", "Standard", ""],
    ["C-000004", "Bob Lee", "Acme", "415.555.0199", "bob@example.com", "Standard", ""],
]


@pytest.fixture
def crm(tmp_path: Path) -> Path:
    return write_xlsx(tmp_path / "crm.xlsx", {"Customers": [HEADER, *EXISTING], "Notes": [["x"], ["kept"]]})


def write_csv_file(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    path.write_bytes("\r\n".join(",".join(row) for row in rows).encode(encoding))
    return path


def customers(path: Path) -> pd.DataFrame:
    """The Customers sheet as read afresh, indexed by row number."""
    return sheetcrm.open_workbook(path)["Customers"].frame


def run(crm: Path, source: Path, **options: Any) -> ImportResult:
    return import_rows(sheetcrm.open_workbook(crm), source, config=default_config(), **options)


# -- headers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_chinese_headers_map_through_the_aliases(crm: Path, tmp_path: Path, encoding: str) -> None:
    source = write_csv_file(
        tmp_path / "trade-show.csv",
        [
            ["客户名称", "手机", "邮箱", "客户等级", "公司", "微信"],
            ["李娜", "13911112222", "lina@example.cn", "VIP", "腾讯", "wx_lina"],
        ],
        encoding,
    )
    result = run(crm, source)
    plan = result.plan
    assert plan.columns == {"客户名称": "name", "手机": "phone", "邮箱": "email", "客户等级": "tier", "公司": "company"}
    assert list(plan.dropped_columns) == ["微信"]
    assert "--map '微信=FIELD'" in plan.dropped_columns["微信"]
    frame = customers(crm)
    assert list(frame.loc[6]) == ["C-000005", "李娜", "腾讯", "+8613911112222", "lina@example.cn", "VIP", ""]


def test_explicit_mapping_for_the_rest(crm: Path, tmp_path: Path) -> None:
    source = write_csv_file(
        tmp_path / "leads.csv",
        [["Kontakt", "Handy", "Firma", "Intern"], ["Hans Meier", "+49 30 1234567", "Siemens", "x1"]],
    )
    mapping = parse_mapping(["Kontakt=name", "Handy=phone", "firma=company", "Intern="])
    plan = plan_import(sheetcrm.open_workbook(crm), source, mapping=mapping, config=default_config())
    assert plan.columns == {"Kontakt": "name", "Handy": "phone", "Firma": "company"}
    assert plan.dropped_columns == {"Intern": "dropped as asked"}
    assert plan.counts == {"added": 1, "updated": 0, "unchanged": 0, "merged": 0, "rejected": 0}


def test_a_mapping_wins_over_an_alias_and_the_alias_column_is_reported(crm: Path, tmp_path: Path) -> None:
    source = write_csv_file(
        tmp_path / "in.csv", [["Name", "Mobile", "Tel"], ["Li Lei", "13700001111", "010 6552 9988"]]
    )
    plan = plan_import(sheetcrm.open_workbook(crm), source, mapping={"Tel": "phone"}, config=default_config())
    assert plan.columns == {"Name": "name", "Tel": "phone"}
    assert plan.dropped_columns == {"Mobile": "phone comes from the mapped column 'Tel'"}


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"Nope": "name"}, "'Nope', which is not a header of the file"),
        ({"Name": "nmae"}, "names no field of customers"),
        ({"Name": "name", "Mobile": "name"}, "are mapped to 'name'"),
    ],
)
def test_bad_mappings_are_input_errors(crm: Path, tmp_path: Path, mapping: dict[str, str], message: str) -> None:
    source = write_csv_file(tmp_path / "in.csv", [["Name", "Mobile"], ["Li Lei", "13700001111"]])
    with pytest.raises(InputError, match=message):
        plan_import(sheetcrm.open_workbook(crm), source, mapping=mapping, config=default_config())


def test_parse_mapping_needs_an_equals_sign() -> None:
    assert parse_mapping(["WeChat ID = wechat_id", "a=b=name"]) == {"WeChat ID": "wechat_id", "a=b": "name"}
    with pytest.raises(InputError, match="SOURCE_HEADER=FIELD"):
        parse_mapping(["wechat_id"])


def test_a_field_the_sheet_has_no_column_for_is_reported(crm: Path, tmp_path: Path) -> None:
    source = write_csv_file(tmp_path / "in.csv", [["name", "city"], ["Li Lei", "Beijing"]])
    plan = plan_import(sheetcrm.open_workbook(crm), source, config=default_config())
    assert plan.dropped_columns == {"city": "sheet 'Customers' has no city column; add one headed 'city'"}


# -- validation and rejects ---------------------------------------------------------------------


BAD_ROWS = [
    ["name", "phone", "email", "tier"],
    ["Good One", "13500001111", "good@example.cn", "Key"],
    ["Bad Mail", "13500002222", "bad@", "VIP"],
    ["", "13500003333", "noname@example.cn", ""],
    ["Gold Tier", "13500004444", "gold@example.cn", "Gold"],
    ['=HYPERLINK("http://evil")', "12", "", ""],
]


def test_invalid_rows_are_rejected_and_written_to_the_rejects_file(crm: Path, tmp_path: Path) -> None:
    source = write_csv_file(tmp_path / "in.csv", BAD_ROWS)
    rejects = tmp_path / "rejects.csv"
    result = run(crm, source, rejects=rejects)
    assert result.counts == {"added": 1, "updated": 0, "unchanged": 0, "merged": 0, "rejected": 4}
    assert [(r.row, r.codes) for r in result.rejects] == [
        (3, ("bad-email",)),
        (4, ("missing-value",)),
        (5, ("not-in-choices",)),
        (6, ("bad-phone",)),
    ]
    assert result.rejects_file == rejects
    rows = read_csv(rejects).rows
    assert rows[0] == ["name", "phone", "email", "tier", "import_row", "import_problems"]
    assert rows[1] == [
        "Bad Mail",
        "13500002222",
        "bad@",
        "VIP",
        "3",
        "'bad@': email must be an email address, name@example.com",
    ]
    assert rows[2][4:] == ["4", "name is required"]
    assert rows[3][4:] == ["5", "'Gold': tier must be one of: VIP, Key, Standard"]
    assert rows[4][0] == '\'=HYPERLINK("http://evil")'  # the rejects file is a CSV too: guarded
    assert rows[4][5] == "'12': phone must be a phone number of 7 to 15 digits"
    assert len(customers(crm)) == 5


def test_allow_invalid_imports_them_and_lists_their_problems(crm: Path, tmp_path: Path) -> None:
    source = write_csv_file(tmp_path / "in.csv", BAD_ROWS)
    result = run(crm, source, allow_invalid=True)
    assert result.counts["added"] == 5 and result.counts["rejected"] == 0
    assert [p.row for p in result.plan.problems] == [3, 4, 5, 6]
    frame = customers(crm)
    assert frame.loc[7, "email"] == "bad@" and frame.loc[8, "name"] == ""
    assert frame.loc[10, "name"] == '=HYPERLINK("http://evil")'  # written as text, never a formula


def test_values_are_normalised_as_fix_does(crm: Path, tmp_path: Path) -> None:
    source = write_csv_file(
        tmp_path / "in.csv",
        [
            ["name", "phone", "email", "tier"],
            ["  Li Lei ", "１３７-0000-1111", "LiLei@EXAMPLE.CN", "vip"],
            ["Han Meimei", "+86 (137) 0000 2222", "hmm@example.cn", "重要客户"],
        ],
    )
    result = run(crm, source)
    assert result.counts["added"] == 2
    frame = customers(crm)
    assert list(frame.loc[6, ["name", "phone", "email", "tier"]]) == [
        "Li Lei",
        "+8613700001111",
        "LiLei@example.cn",
        "VIP",
    ]
    assert list(frame.loc[7, ["phone", "tier"]]) == ["+8613700002222", "Key"]


SETTINGS_ROWS = [
    ["name", "phone", "created_at"],
    ["Jane Roe", "(415) 555-2671", "5/3/2024"],
    ["Wang Lei", "13700003333", "2024/3/6"],
]


def _settings_case(tmp_path: Path, fix_section: str) -> tuple[Path, Path, sheetcrm.Config]:
    crm = write_xlsx(tmp_path / "crm.xlsx", {"Customers": [["customer_id", "name", "phone", "created_at"]]})
    source = write_csv_file(tmp_path / "in.csv", SETTINGS_ROWS)
    (tmp_path / "sheetcrm.toml").write_text(f"[fix]\n{fix_section}", encoding="utf-8")
    return crm, source, sheetcrm.load_config(tmp_path / "sheetcrm.toml")


def test_values_are_read_with_the_configs_fix_settings(tmp_path: Path) -> None:
    crm, source, config = _settings_case(tmp_path, 'default_region = "US"\nday_first = true\n')
    result = import_rows(sheetcrm.open_workbook(crm), source, config=config)
    assert result.counts["added"] == 2 and not result.rejects
    frame = customers(crm)
    assert frame.loc[2, "phone"] == "+14155552671" and frame.loc[2, "created_at"] == "2024-03-05"
    # a CN mobile without +86 in a US workbook: imported as written, never guessed
    assert frame.loc[3, "phone"] == "13700003333" and frame.loc[3, "created_at"] == "2024-03-06"


def test_without_day_first_an_ambiguous_date_is_rejected_saying_why(tmp_path: Path) -> None:
    crm, source, config = _settings_case(tmp_path, 'default_region = "US"\n')
    plan = plan_import(sheetcrm.open_workbook(crm), source, config=config)
    assert [(r.row, r.codes) for r in plan.rejects] == [(2, ("bad-date",))]
    assert plan.rejects[0].reasons == (
        "'5/3/2024': created_at could be 5 March or 3 May 2024, so no fix is proposed: "
        "set [fix] day_first = true (day first) or false (month first)",
    )


def test_import_arguments_win_over_the_config(tmp_path: Path) -> None:
    crm, source, config = _settings_case(tmp_path, 'default_region = "US"\nday_first = true\n')
    plan = plan_import(sheetcrm.open_workbook(crm), source, config=config, default_region="CN", day_first=False)
    appended = next(c for c in plan.changes if isinstance(c, AppendRows))
    assert [row.get("C") for row in appended.rows] == ["(415) 555-2671", "+8613700003333"]
    assert [row.get("D") for row in appended.rows] == ["2024-05-03", "2024-03-06"]


def test_a_row_with_nothing_in_the_mapped_columns_is_never_imported(crm: Path, tmp_path: Path) -> None:
    source = write_csv_file(tmp_path / "in.csv", [["name", "WeChat"], ["", "wx_only"]])
    result = run(crm, source, allow_invalid=True)
    assert [(r.row, r.codes) for r in result.rejects] == [(2, ("empty-row",))]


def test_orders_check_references_and_write_numbers(tmp_path: Path) -> None:
    book = write_xlsx(
        tmp_path / "crm.xlsx",
        {
            "Customers": [HEADER, *EXISTING],
            "Orders": [
                ["order_id", "customer_id", "order_date", "quantity", "amount"],
                ["O-000007", "C-000001", "2024-03-01", 1, 10],
            ],
        },
    )
    source = write_csv_file(
        tmp_path / "orders.csv",
        [
            ["客户编号", "下单日期", "数量", "金额"],
            ["C-000002", "2024-03-05", "3", "100.50"],
            ["C-999999", "2024-03-06", "1", "5"],
        ],
    )
    result = import_rows(sheetcrm.open_workbook(book), source, table="orders", config=default_config())
    assert [(r.row, r.codes) for r in result.rejects] == [(3, ("unknown-reference",))]
    assert result.plan.generated_ids == ["O-000008"]
    appended = result.changes.changes[0]
    assert isinstance(appended, AppendRows)
    assert appended.rows == ({"A": "O-000008", "B": "C-000002", "C": "2024-03-05", "D": 3, "E": 100.5},)


# -- matching existing records ------------------------------------------------------------------


def test_a_row_matching_by_email_updates_instead_of_adding(crm: Path, tmp_path: Path) -> None:
    source = write_csv_file(
        tmp_path / "in.csv",
        [["name", "company", "email", "tier", "notes"], ["Jane S.", "Globex", "JANE@Example.com ", "VIP", ""]],
    )
    result = run(crm, source)
    assert result.counts == {"added": 0, "updated": 1, "unchanged": 0, "merged": 0, "rejected": 0}
    outcome = result.plan.outcomes[0]
    assert (outcome.matched_by, outcome.target_row) == ("email", 3)
    frame = customers(crm)
    assert len(frame) == 4
    assert list(frame.loc[3]) == [
        "C-000002",
        "Jane Smith",
        "Globex",
        "(415) 555-0134",
        "jane@example.com",
        "Key",
        "met at fair",
    ]
    assert [(k.field, k.kept, k.ignored) for k in result.plan.kept] == [
        ("name", "Jane Smith", "Jane S."),
        ("tier", "Key", "VIP"),
    ]


@pytest.mark.parametrize(
    ("phone", "row"),
    [
        ("+86 138-0013-8000", 2),  # same last 11 digits as 138 0013 8000
        ("8613800138000", 2),
        ("+1 415 555 0199", 5),  # a North American number with and without +1
        ("13900001111", 4),  # +86 139 0000 1111 written nationally
    ],
)
def test_a_row_matching_by_phone_in_another_format_updates(crm: Path, tmp_path: Path, phone: str, row: int) -> None:
    source = write_csv_file(tmp_path / "in.csv", [["手机", "邮箱", "备注"], [phone, "new@example.cn", "from the fair"]])
    result = run(crm, source)
    outcome = result.plan.outcomes[0]
    assert (outcome.action, outcome.matched_by, outcome.target_row) == ("updated", "phone", row)
    frame = customers(crm)
    assert len(frame) == 4
    assert frame.loc[row, "notes"] == "from the fair"
    assert frame.loc[row, "phone"] == EXISTING[row - 2][3]  # never rewritten
    # only an empty email is filled
    assert frame.loc[row, "email"] == (EXISTING[row - 2][4] or "new@example.cn")


def test_a_landline_with_its_trunk_zero_matches_its_e164_form(tmp_path: Path) -> None:
    book = write_xlsx(
        tmp_path / "crm.xlsx", {"Customers": [HEADER, ["C-000001", "Office", "", "010 6552 9988", "", "", ""]]}
    )
    source = write_csv_file(tmp_path / "in.csv", [["电话", "公司"], ["+86 10 6552 9988", "CCTV"]])
    result = import_rows(sheetcrm.open_workbook(book), source, config=default_config())
    assert [(o.action, o.target_row) for o in result.plan.outcomes] == [("updated", 2)]
    assert customers(book).loc[2, "company"] == "CCTV"


def test_empty_values_never_overwrite_and_nothing_new_is_unchanged(crm: Path, tmp_path: Path) -> None:
    before = customers(crm)
    source = write_csv_file(
        tmp_path / "in.csv",
        [
            ["name", "company", "phone", "email", "tier"],
            ["", "", "", "bob@example.com", ""],
            ["Bob", "Acme", "", "bob@example.com", "Standard"],
        ],
    )
    result = run(crm, source)
    assert [o.action for o in result.plan.outcomes] == ["unchanged", "unchanged"]
    assert not result.changes
    pd.testing.assert_frame_equal(customers(crm), before)


def test_a_different_number_does_not_match(crm: Path, tmp_path: Path) -> None:
    # +86 415 555 0199 is not Bob's 415.555.0199: 10 digits match only with +1
    source = write_csv_file(tmp_path / "in.csv", [["name", "phone"], ["Other", "+86 415 555 0199"]])
    plan = plan_import(sheetcrm.open_workbook(crm), source, config=default_config())
    assert plan.added == 1


def test_duplicates_within_the_file_become_one_record(crm: Path, tmp_path: Path) -> None:
    source = write_csv_file(
        tmp_path / "in.csv",
        [
            ["name", "phone", "email", "company"],
            ["Li Na", "", "lina@example.cn", ""],
            ["Li Na", "13911112222", "LINA@example.cn", "Tencent"],
            ["Na Li", "+86 139 1111 2222", "", "Alibaba"],
        ],
    )
    result = run(crm, source)
    plan = result.plan
    assert plan.counts == {"added": 1, "updated": 0, "unchanged": 0, "merged": 2, "rejected": 0}
    assert [(o.row, o.matched_by, o.same_as) for o in plan.outcomes] == [
        (2, None, None),
        (3, "email", 2),
        (4, "phone", 2),
    ]
    assert [(k.row, k.field, k.kept, k.ignored) for k in plan.kept] == [
        (4, "name", "Li Na", "Na Li"),
        (4, "company", "Tencent", "Alibaba"),
    ]
    frame = customers(crm)
    assert list(frame.loc[6]) == ["C-000005", "Li Na", "Tencent", "+8613911112222", "lina@example.cn", "", ""]


# -- ids ----------------------------------------------------------------------------------------


def test_new_rows_get_the_next_ids_in_the_pattern(tmp_path: Path) -> None:
    book = write_xlsx(
        tmp_path / "crm.xlsx",
        {
            "Customers": [
                HEADER,
                ["C-000122", "A", "", "", "", "", ""],
                ["X-9", "B", "", "", "", "", ""],
                ["C-000007", "C", "", "", "", "", ""],
            ]
        },
    )
    source = write_csv_file(tmp_path / "in.csv", [["name"], ["New 1"], ["New 2"]])
    result = import_rows(sheetcrm.open_workbook(book), source, config=default_config())
    assert result.plan.generated_ids == ["C-000123", "C-000124"]
    assert customers(book)["customer_id"].tolist()[-2:] == ["C-000123", "C-000124"]


def test_an_empty_table_takes_its_ids_from_the_pattern(tmp_path: Path) -> None:
    book = write_xlsx(tmp_path / "crm.xlsx", {"Customers": [HEADER]})
    source = write_csv_file(tmp_path / "in.csv", [["name"], ["First"]])
    assert plan_import(sheetcrm.open_workbook(book), source, config=default_config()).generated_ids == ["C-000001"]


def test_ids_in_the_file_match_or_are_kept_and_others_continue_after_them(crm: Path, tmp_path: Path) -> None:
    source = write_csv_file(
        tmp_path / "in.csv",
        [
            ["客户编号", "name", "company"],
            ["C-000001", "Zhang Wei", "Lenovo"],
            ["C-000050", "Given Id", ""],
            ["", "No Id", ""],
        ],
    )
    result = run(crm, source)
    assert [(o.action, o.matched_by) for o in result.plan.outcomes] == [
        ("updated", "customer_id"),
        ("added", None),
        ("added", None),
    ]
    frame = customers(crm)
    assert frame.loc[2, "company"] == "Lenovo"
    assert frame["customer_id"].tolist()[-2:] == ["C-000050", "C-000051"]


# -- xlsx sources -------------------------------------------------------------------------------


def test_an_xlsx_export_first_sheet_or_the_one_named(crm: Path, tmp_path: Path) -> None:
    source = write_xlsx(
        tmp_path / "export.xlsx",
        {
            "Summary": [["客户名称", "手机"], ["First Sheet", "13600001111"]],
            "Leads": [["Customer name", "Mobile", "E-mail"], ["Sheet Two", "13600002222", "two@example.cn"]],
        },
    )
    workbook = sheetcrm.open_workbook(crm)
    first = plan_import(workbook, source, config=default_config())
    assert first.columns == {"客户名称": "name", "手机": "phone"}
    named = plan_import(workbook, source, sheet="leads", config=default_config())
    assert named.columns == {"Customer name": "name", "Mobile": "phone", "E-mail": "email"}
    with pytest.raises(sheetcrm.SheetNotFound):
        plan_import(workbook, source, sheet="Nope", config=default_config())


# -- one ChangeSet: dry run and undo ------------------------------------------------------------


MIXED = [
    ["客户名称", "手机", "邮箱", "公司"],
    ["李娜", "13911112222", "lina@example.cn", "腾讯"],  # new
    ["Zhang Wei", "+86 138 0013 8000", "", "Lenovo"],  # fills company of row 2
    ["", "", "wangfang@EXAMPLE.cn", ""],  # matches no one (王芳 has no email) and has no name: rejected
    ["Bad", "1", "x@", ""],
]


def test_dry_run_writes_nothing(crm: Path, tmp_path: Path) -> None:
    source = write_csv_file(tmp_path / "in.csv", MIXED)
    before = crm.read_bytes()
    rejects = tmp_path / "rejects.csv"
    result = run(crm, source, dry_run=True, rejects=rejects)
    assert result.dry_run and result.run_id is None
    assert result.counts == {"added": 1, "updated": 1, "unchanged": 0, "merged": 0, "rejected": 2}
    assert "append" in result.changes.preview() and "C2 (company)" in result.changes.preview()
    assert crm.read_bytes() == before
    assert not rejects.exists()
    assert sheetcrm.open_workbook(crm).history() == []


def test_an_applied_import_is_undone_exactly(crm: Path, tmp_path: Path) -> None:
    source = write_csv_file(tmp_path / "in.csv", MIXED)
    before = customers(crm)
    result = run(crm, source)
    assert result.run_id is not None
    after = customers(crm)
    assert len(after) == 5 and after.loc[2, "company"] == "Lenovo"
    assert [record.command for record in sheetcrm.open_workbook(crm).history()] == ["import in.csv"]
    sheetcrm.open_workbook(crm).undo(result.run_id)
    pd.testing.assert_frame_equal(customers(crm), before)
    assert sheetcrm.open_workbook(crm)["Notes"].frame["x"].tolist() == ["kept"]


def test_the_rejects_file_may_not_be_the_source_or_the_workbook(crm: Path, tmp_path: Path) -> None:
    source = write_csv_file(tmp_path / "in.csv", MIXED)
    with pytest.raises(InputError, match="is the file"):
        run(crm, source, rejects=source)
    with pytest.raises(InputError, match=r"must be a \.csv"):
        run(crm, source, rejects=tmp_path / "rejects.xlsx")


def test_a_file_with_no_known_column_is_an_input_error(crm: Path, tmp_path: Path) -> None:
    source = write_csv_file(tmp_path / "in.csv", [["Kontakt", "Handy"], ["Hans", "0301234567"]])
    with pytest.raises(InputError, match="no column of the file means a field of 'Customers'") as raised:
        run(crm, source)
    assert raised.value.hint is not None and "--map" in raised.value.hint
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="it is empty"):
        run(crm, empty)


def test_unknown_table(crm: Path, tmp_path: Path) -> None:
    source = write_csv_file(tmp_path / "in.csv", MIXED)
    with pytest.raises(InputError, match="unknown table 'leads'"):
        run(crm, source, table="leads")

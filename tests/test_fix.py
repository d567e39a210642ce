"""The fix job on real workbooks: exactly the safe fixes, nothing else touched, dry runs and undo."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import openpyxl
import pytest
from conftest import write_xlsx

import sheetcrm
from sheetcrm.config import SchemaConfig, default_config
from sheetcrm.errors import InputError
from sheetcrm.jobs.fix import fix, plan_fix
from sheetcrm.sample import write_sample_workbook
from sheetcrm.schema.custom import FieldConfig

# fmt: off
CUSTOMERS = [
    ["customer_id", "name", "手机", "email", "tier", "tags", "created_at", "WeChat", "notes"],
    ["C-000001", "Zhang Wei", "138 0013 8000", "Zhang.Wei@Example.CN", "vip", "b, a", "2024/3/5", "wx 1 ", "  call  back "],
    ["C-000002", "Jane Smith", "+1 (415) 555-0134", "jane@example.com", "Key", "", "5/3/2024", "", ""],
    ["C-000003", "王芳", "１３９００００１１１１", "wangfang@example.cn", "重要客户", "", "２０２４年３月５日", "  x  ", "请下午联系"],
    ["C-000004", "Bob Lee", "(415) 555-0199", "bob@example.com", "Gold", "", "2023-02-30", "", ""],
    ["C-000005", "Li Na", "+8613800138001", "li.na@example.cn", "=formula", "", "2024-03-05", "", ""],
]
# fmt: on
ORDERS = [
    ["order_id", "customer_id", "order_date", "status", "amount"],
    ["O-000001", "C-000001", "2024-03-05", "canceled", "¥1,200"],
]
FIXES = [
    ["Customers", "C2", "phone", "138 0013 8000", "+8613800138000"],
    ["Customers", "D2", "email", "Zhang.Wei@Example.CN", "Zhang.Wei@example.cn"],
    ["Customers", "E2", "tier", "vip", "VIP"],
    ["Customers", "F2", "tags", "b, a", "a, b"],
    ["Customers", "G2", "created_at", "2024/3/5", "2024-03-05"],
    ["Customers", "I2", "notes", "  call  back ", "call back"],
    ["Customers", "C3", "phone", "+1 (415) 555-0134", "+14155550134"],
    ["Customers", "C4", "phone", "１３９００００１１１１", "+8613900001111"],
    ["Customers", "E4", "tier", "重要客户", "Key"],
    ["Customers", "G4", "created_at", "２０２４年３月５日", "2024-03-05"],
    ["Orders", "D2", "status", "canceled", "cancelled"],
    ["Orders", "E2", "amount", "¥1,200", "1200"],
]


def _with_cached_formula(path: Path) -> Path:
    """Make Customers!E6 a formula whose cached result is the fixable text "vip", as Excel saves it."""
    book = openpyxl.load_workbook(path)
    book["Customers"]["E6"] = '=LOWER("VIP")'
    book.save(path)
    with zipfile.ZipFile(path) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    name = "xl/worksheets/sheet1.xml"
    plain = b'<c r="E6"><f>LOWER("VIP")</f><v /></c>'
    assert plain in parts[name]
    parts[name] = parts[name].replace(plain, b'<c r="E6" t="str"><f>LOWER("VIP")</f><v>vip</v></c>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for part, data in parts.items():
            archive.writestr(part, data)
    return path


@pytest.fixture
def messy(tmp_path: Path) -> Path:
    return write_xlsx(tmp_path / "crm.xlsx", {"Customers": CUSTOMERS, "Orders": ORDERS})


def _cells(path: Path) -> dict[tuple[str, str], tuple[object, str, str]]:
    """Every cell of every sheet as openpyxl sees it: value, data type, number format."""
    book = openpyxl.load_workbook(path)
    return {
        (sheet.title, cell.coordinate): (cell.value, cell.data_type, cell.number_format)
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.value is not None
    }


def _edits(changes: sheetcrm.ChangeSet) -> list[list[str]]:
    """The edits in reading order (a plan goes column by column)."""
    edits = [[c.sheet, c.cell, c.field, c.old, c.new] for c in changes]  # type: ignore[union-attr]
    return sorted(edits, key=lambda e: (e[0] != "Customers", int(e[1][1:]), e[1][0]))


def test_plan_has_exactly_the_safe_fixes(messy: Path) -> None:
    changes = plan_fix(sheetcrm.open_workbook(messy), config=default_config())
    assert {c.kind for c in changes} == {"edit"}
    # not fixed: 5/3/2024 (day or month first?), (415) 555-0199 (no +1 in a CN workbook),
    # Gold (no tier), 2023-02-30 (no such day), the team's WeChat column
    assert _edits(changes) == FIXES


def test_formula_cells_are_left_alone(messy: Path, tmp_path: Path) -> None:
    path = _with_cached_formula(messy)
    workbook = sheetcrm.open_workbook(path)
    assert workbook["Customers"].value(6, "tier") == "vip"  # the formula's cached text, which looks fixable
    assert _edits(plan_fix(workbook, config=default_config())) == FIXES
    # openpyxl cannot keep cached results, so a workbook with formulas is fixed into a new file
    out = tmp_path / "fixed.xlsx"
    fix(workbook, config=default_config(), out=out)
    assert openpyxl.load_workbook(out)["Customers"]["E6"].value == '=LOWER("VIP")'


def test_dry_run_writes_nothing(messy: Path) -> None:
    before = messy.read_bytes()
    result = fix(sheetcrm.open_workbook(messy), config=default_config(), dry_run=True)
    assert result.dry_run and not result.applied
    assert len(result.changes) == len(FIXES)
    assert "+8613800138000" in result.preview()
    assert messy.read_bytes() == before
    assert sheetcrm.open_workbook(messy).history() == []


def test_applied_fix_changes_only_those_cells_and_undoes(messy: Path) -> None:
    before = _cells(messy)
    workbook = sheetcrm.open_workbook(messy)
    result = fix(workbook, config=default_config())
    assert result.applied and result.run_id is not None

    after = _cells(messy)
    fixed = {(sheet, cell): new for sheet, cell, _, _, new in FIXES}
    assert set(after) == set(before)
    for key, (value, data_type, number_format) in after.items():
        if key in fixed:
            assert (value, data_type) == (fixed[key], "s")
        else:  # everything else, headers and the team's own columns too, exactly as it was
            assert (value, data_type, number_format) == before[key], key

    reopened = sheetcrm.open_workbook(messy)
    assert reopened.history()[-1].command == "fix"
    assert not plan_fix(reopened, config=default_config())  # a second run has nothing left to do

    reopened.undo(result.run_id)
    restored = _cells(messy)
    assert {key: cell[:2] for key, cell in restored.items()} == {key: cell[:2] for key, cell in before.items()}


def test_out_writes_a_new_file(messy: Path, tmp_path: Path) -> None:
    before = messy.read_bytes()
    out = tmp_path / "fixed.xlsx"
    result = fix(sheetcrm.open_workbook(messy), config=default_config(), out=out)
    assert result.written_to == str(out)
    assert messy.read_bytes() == before
    assert sheetcrm.open_workbook(out)["Customers"].value(2, "手机") == "+8613800138000"


def test_tables_and_settings(messy: Path) -> None:
    workbook = sheetcrm.open_workbook(messy)
    only_orders = plan_fix(workbook, config=default_config(), tables=["orders"])
    assert [c.cell for c in only_orders] == ["D2", "E2"]  # type: ignore[union-attr]

    changes = plan_fix(
        workbook,
        config=default_config(),
        tables=["customers"],
        phone_format="national",
        default_region="US",
        day_first=True,
    )
    by_cell = {c.cell: c.new for c in changes}  # type: ignore[union-attr]
    assert by_cell["C3"] == "(415) 555-0134"
    assert "C5" not in by_cell  # (415) 555-0199 is the national format already
    assert by_cell["C6"] == "+86 138 0013 8001"
    assert by_cell["G3"] == "2024-03-05"  # 5/3/2024, day first
    assert "C2" not in by_cell  # a CN mobile without +86 in a US workbook: ambiguous


def test_custom_schema_field(messy: Path) -> None:
    # a team's own column becomes a field through the config; then it is fixed too
    config = default_config().model_copy(deep=True)
    config.schema_["customers"] = SchemaConfig(fields={"wechat": FieldConfig(type="id", header="WeChat")})
    changes = plan_fix(sheetcrm.open_workbook(messy), config=config, tables=["customers"])
    assert {c.cell: c.new for c in changes if c.field == "wechat"} == {"H2": "wx 1", "H4": "x"}  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"tables": ["leads"]}, "unknown table 'leads'"),
        ({"default_region": "XX"}, "unknown phone region 'XX'"),
        ({"phone_format": "e.164"}, "unknown phone format"),
    ],
)
def test_bad_settings(messy: Path, settings: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        plan_fix(sheetcrm.open_workbook(messy), config=default_config(), **settings)  # type: ignore[arg-type]


def test_missing_sheet_of_a_named_table(messy: Path) -> None:
    with pytest.raises(InputError, match="no sheet 'Interactions'"):
        plan_fix(sheetcrm.open_workbook(messy), config=default_config(), tables=["interactions"])
    assert plan_fix(sheetcrm.open_workbook(messy), config=default_config())  # not named: skipped


def test_fix_makes_validate_find_less_and_nothing_new(tmp_path: Path) -> None:
    path = tmp_path / "sample.xlsx"
    write_sample_workbook(path, customers=500, seed=7, today=dt.date(2026, 11, 22))
    config = default_config()

    def findings(workbook: sheetcrm.Workbook) -> set[tuple[str, int | None, str | None, str]]:
        report = sheetcrm.validate(workbook, config=config)
        return {(f.sheet, f.row, f.column, str(f.code)) for f in report.findings}

    before = findings(sheetcrm.open_workbook(path))
    result = fix(sheetcrm.open_workbook(path), config=config)
    assert result.applied
    after = findings(sheetcrm.open_workbook(path))
    assert after < before  # a strict subset: fewer findings, none new
    fixed_codes = {code for *_, code in before - after}
    assert {"bad-date", "not-in-choices"} <= fixed_codes


# -- the [fix] settings of sheetcrm.toml -------------------------------------------------------

US_CUSTOMERS = [
    ["customer_id", "name", "phone", "created_at"],
    ["C-000001", "Jane Smith", "(415) 555-2671", "5/3/2024"],
    ["C-000002", "Zhang Wei", "+86 138 0013 8000", "2024/3/5"],
]


def _us_workbook(folder: Path, fix_section: str) -> tuple[Path, sheetcrm.Config]:
    path = write_xlsx(folder / "crm.xlsx", {"Customers": US_CUSTOMERS})
    (folder / "sheetcrm.toml").write_text(f'workbook = "crm.xlsx"\n\n[fix]\n{fix_section}', encoding="utf-8")
    return path, sheetcrm.load_config(folder / "sheetcrm.toml", required=True)


def test_settings_come_from_the_config(tmp_path: Path) -> None:
    path, config = _us_workbook(tmp_path, 'default_region = "US"\nday_first = true\n')
    changes = plan_fix(sheetcrm.open_workbook(path), config=config)
    assert _edits(changes) == [
        ["Customers", "C2", "phone", "(415) 555-2671", "+14155552671"],
        ["Customers", "D2", "created_at", "5/3/2024", "2024-03-05"],
        ["Customers", "C3", "phone", "+86 138 0013 8000", "+8613800138000"],
        ["Customers", "D3", "created_at", "2024/3/5", "2024-03-05"],
    ]


def test_settings_come_from_the_working_folders_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, _ = _us_workbook(tmp_path, 'default_region = "US"\nday_first = true\nphone_format = "national"\n')
    monkeypatch.chdir(tmp_path)
    result = fix(sheetcrm.open_workbook(path), dry_run=True)  # no config given: ./sheetcrm.toml
    # national: (415) 555-2671 is the US format already, +86 138 0013 8000 the international one
    assert {c.cell: c.new for c in result.changes} == {"D2": "2024-03-05", "D3": "2024-03-05"}  # type: ignore[union-attr]


def test_explicit_arguments_win_over_the_config(tmp_path: Path) -> None:
    path, config = _us_workbook(tmp_path, 'default_region = "US"\nday_first = true\n')
    changes = plan_fix(sheetcrm.open_workbook(path), config=config, default_region="CN", day_first=False)
    by_cell = {c.cell: c.new for c in changes}  # type: ignore[union-attr]
    assert "C2" not in by_cell  # a US number without +1 in a CN workbook: never guessed
    assert by_cell["D2"] == "2024-05-03"  # month first


def test_without_day_first_the_date_stays_and_validate_says_why(tmp_path: Path) -> None:
    path, config = _us_workbook(tmp_path, 'default_region = "US"\n')
    workbook = sheetcrm.open_workbook(path)
    by_cell = {c.cell: c.new for c in plan_fix(workbook, config=config)}  # type: ignore[union-attr]
    assert by_cell["C2"] == "+14155552671"
    assert "D2" not in by_cell

    report = sheetcrm.validate(workbook, config=config)
    date = next(f for f in report.findings if f.cell == "D2")
    assert (str(date.code), date.fix, str(date.severity)) == ("bad-date", None, "error")
    assert "could be 5 March or 3 May 2024" in date.message and "[fix] day_first" in date.message
    assert [f.cell for f in report.findings] == ["D2", "D3"]  # (415) 555-2671 is a US number: no warning
    assert report.findings[1].fix == "2024-03-05"  # 2024/3/5: what fix writes

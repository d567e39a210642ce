"""Validation on a golden messy workbook: every finding asserted exactly, by cell and code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli, write_xlsx

import sheetcrm
from sheetcrm.config import default_config
from sheetcrm.validate import validate

CUSTOMERS = [
    ["customer_id", "客户名称", "手机", "邮箱", "客户等级", "created_at", "WeChat"],
    ["C-000001", "张伟", "13800138000", "zhang.wei@example.cn", "VIP", "2024-02-29", "wx_zw"],
    ["C-000002", "", "(415) 555-0134", "jane@", "vip", "2024-02-30", ""],
    ["C-000002", "Bob Lee", "12", "bob@example.com", "Gold", "2024/3/5", ""],
    ["X-1", "Li Na", "+86 139 0000 1111", "", "Key", "", ""],
]
ORDERS = [
    ["order_id", "customer_id", "order_date", "status", "quantity", "amount", "currency"],
    ["O-000001", "C-000001", "2024-03-05", "shipped", "2", "100.50", "CNY"],
    ["O-000002", "C-999999", "2024-03-06", "Shipped", "two", "abc", "cny"],
    ["O-000003", "C-000002", "", "done", "1.5", "-3", "USD"],
]


@pytest.fixture
def messy(tmp_path: Path) -> Path:
    return write_xlsx(tmp_path / "messy.xlsx", {"Customers": CUSTOMERS, "Orders": ORDERS})


def test_golden_findings(messy: Path) -> None:
    report = validate(sheetcrm.open_workbook(messy), config=default_config())
    assert not report.valid
    assert report.flatten(["sheet", "cell", "column", "code"]) == [
        ["Customers", "G1", "WeChat", "unknown-column"],
        ["Customers", "A3", "customer_id", "duplicate-id"],
        ["Customers", "B3", "name", "missing-value"],
        ["Customers", "C3", "phone", "bad-phone"],
        ["Customers", "D3", "email", "bad-email"],
        ["Customers", "E3", "tier", "not-in-choices"],
        ["Customers", "F3", "created_at", "bad-date"],
        ["Customers", "A4", "customer_id", "duplicate-id"],
        ["Customers", "C4", "phone", "bad-phone"],
        ["Customers", "E4", "tier", "not-in-choices"],
        ["Customers", "F4", "created_at", "bad-date"],
        ["Customers", "A5", "customer_id", "bad-pattern"],
        ["Orders", "B3", "customer_id", "unknown-reference"],
        ["Orders", "D3", "status", "not-in-choices"],
        ["Orders", "E3", "quantity", "bad-integer"],
        ["Orders", "F3", "amount", "bad-number"],
        ["Orders", "G3", "currency", "bad-pattern"],
        ["Orders", "C4", "order_date", "missing-value"],
        ["Orders", "D4", "status", "not-in-choices"],
        ["Orders", "E4", "quantity", "bad-integer"],
        ["Orders", "F4", "amount", "out-of-range"],
    ]
    by_cell = {f.address: f for f in report.findings}
    assert by_cell["Customers!E3"].fix == "VIP"  # a synonym in another case: the fix is known
    assert by_cell["Customers!E4"].fix is None  # 'Gold' is no synonym: never guessed
    assert by_cell["Orders!D3"].fix == "shipped"
    assert by_cell["Customers!F4"].fix == "2024-03-05"  # 2024/3/5: what `sheetcrm fix` writes
    assert by_cell["Customers!F3"].fix is None  # no 30 February to fix it to
    # a US number without +1 in a CN workbook: valid in form, but fix leaves it, so a warning says why
    phone = by_cell["Customers!C3"]
    assert (str(phone.severity), phone.fix) == ("warning", None)
    assert "+1 number" in phone.message and "[fix] default_region" in phone.message
    assert by_cell["Customers!A3"].message == "'C-000002' is also in row 4"
    assert by_cell["Customers!F3"].value == "2024-02-30"
    assert report.stats["by_code"]["duplicate-id"] == 2
    assert report.stats["rows"] == {"Customers": 4, "Orders": 3}
    assert report.to_frame().shape == (21, 9)


def test_a_clean_workbook_is_valid(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "clean.xlsx", {"Customers": [CUSTOMERS[0][:5], CUSTOMERS[1][:5]]})
    report = validate(sheetcrm.open_workbook(path), config=default_config())
    assert report.valid and report.findings == []


def test_cli_validate_exit_codes_and_json(messy: Path, tmp_path: Path) -> None:
    done = run_cli("validate", "messy.xlsx", cwd=tmp_path)
    assert done.returncode == 1
    assert "Customers!E3" in done.stdout and "→ VIP" in done.stdout and "19 errors" in done.stdout
    done = run_cli("validate", "messy.xlsx", "--format", "json", "--table", "orders", cwd=tmp_path)
    assert done.returncode == 1
    payload = json.loads(done.stdout)
    assert payload["valid"] is False
    assert {f["code"] for f in payload["findings"]} >= {"unknown-reference", "bad-number"}
    assert set(payload["findings"][0]) >= {"sheet", "row", "column", "cell", "value", "code", "message", "fix"}
    clean = write_xlsx(tmp_path / "clean.xlsx", {"Customers": [CUSTOMERS[0][:5], CUSTOMERS[1][:5]]})
    done = run_cli("validate", clean.name, cwd=tmp_path)
    assert done.returncode == 0 and "valid" in done.stdout


def test_annotate_marks_cells_lists_issues_and_replaces_its_own_marks(messy: Path) -> None:
    import openpyxl

    from sheetcrm import ChangeSet
    from sheetcrm.validate.annotate import annotate

    # the team's own note and colour on cells that have findings
    team = ChangeSet("team marks")
    team.fill("Customers", 4, "C", "00B0F0")
    sheetcrm.open_workbook(messy).apply(team)
    book = openpyxl.load_workbook(messy)
    from openpyxl.comments import Comment

    book["Customers"]["D3"].comment = Comment("ask Jane for her full address", "Anna")
    book.save(messy)

    workbook = sheetcrm.open_workbook(messy)
    report = validate(workbook, config=default_config())
    run = annotate(workbook, report)
    assert run.run_id
    sheet = openpyxl.load_workbook(messy)["Customers"]
    assert sheet["E3"].fill.fgColor.rgb.endswith("FFC7CE")
    assert sheet["E3"].comment is not None and "not-in-choices" in sheet["E3"].comment.text
    assert "(fix: VIP)" in sheet["E3"].comment.text
    assert sheet["C4"].fill.fgColor.rgb.endswith("00B0F0")  # the team's colour stays
    assert sheet["D3"].comment is not None and sheet["D3"].comment.text == "ask Jane for her full address"
    assert sheet["D3"].fill.fgColor.rgb.endswith("FFC7CE")  # no team fill there: marked
    issues = sheetcrm.open_workbook(messy)["_issues"]
    assert len(issues) == len(report.findings)
    assert issues.frame["cell"].tolist()[:2] == ["Customers!G1", "Customers!A3"]
    link = openpyxl.load_workbook(messy)["_issues"]["B3"].hyperlink
    assert link is not None and link.location == "Customers!A3" and not link.target
    unchanged = sheetcrm.open_workbook(messy)
    assert not annotate(unchanged, validate(unchanged, config=default_config())).changes  # nothing new: no write

    # the person fixes the tier; the next run removes only that mark
    fix = ChangeSet("fix tier")
    fix.edit("Customers", 3, "E", old="vip", new="VIP")
    sheetcrm.open_workbook(messy).apply(fix)
    workbook = sheetcrm.open_workbook(messy)
    again = annotate(workbook, validate(workbook, config=default_config()))
    assert again.run_id and again.changes.counts() == {"note": 1, "fill": 1, "replace-sheet": 1}  # only what changed
    sheet = openpyxl.load_workbook(messy)["Customers"]
    assert sheet["E3"].comment is None and sheet["E3"].fill.fill_type is None
    assert sheet["D3"].comment is not None and sheet["D3"].comment.text == "ask Jane for her full address"
    assert sheet["C4"].fill.fgColor.rgb.endswith("00B0F0")
    # and the whole annotation is undoable
    sheetcrm.open_workbook(messy).undo(again.run_id or "")
    assert "not-in-choices" in openpyxl.load_workbook(messy)["Customers"]["E3"].comment.text


# -- values only a setting or a person can decide ------------------------------------------------

AMBIGUOUS = [
    ["customer_id", "name", "phone", "created_at", "called_at"],
    ["C-000001", "Jane Smith", "(415) 555-2671", "5/3/2024", "5/3/2024 14:30"],
    ["C-000002", "Zhang Wei", "13800138000", "5/3/24", "25/3/2024 9:05"],
]


@pytest.fixture
def ambiguous(tmp_path: Path) -> Path:
    return write_xlsx(tmp_path / "ambiguous.xlsx", {"Customers": AMBIGUOUS})


def _by_cell(path: Path, folder: Path, fix_section: str = "") -> dict[str, sheetcrm.Finding]:
    """The findings by cell, with the config's [fix] section and called_at a datetime field."""
    text = f'[fix]\n{fix_section}\n[schema.customers.fields.called_at]\ntype = "datetime"\n'
    (folder / "sheetcrm.toml").write_text(text, encoding="utf-8")
    config = sheetcrm.load_config(folder / "sheetcrm.toml")
    report = validate(sheetcrm.open_workbook(path), config=config)
    return {f.cell or "": f for f in report.findings}


def test_ambiguous_values_say_why_there_is_no_fix(ambiguous: Path, tmp_path: Path) -> None:
    found = _by_cell(ambiguous, tmp_path)
    assert sorted(found) == ["C2", "D2", "D3", "E2", "E3"]  # C2, (415) 555-2671 in a CN workbook: below
    date = found["D2"]
    assert (str(date.code), str(date.severity), date.fix) == ("bad-date", "error", None)
    assert date.message == (
        "'5/3/2024': created_at could be 5 March or 3 May 2024, so no fix is proposed: "
        "set [fix] day_first = true (day first) or false (month first)"
    )
    assert "two-digit year" in found["D3"].message and found["D3"].fix is None
    assert str(found["E2"].code) == "bad-datetime" and "[fix] day_first" in found["E2"].message
    assert found["E3"].fix == "2024-03-25 09:05"  # 25/3 can only be day first


def test_day_first_from_the_config_gives_the_fix(ambiguous: Path, tmp_path: Path) -> None:
    found = _by_cell(ambiguous, tmp_path, "day_first = true\n")
    assert found["D2"].fix == "2024-03-05"
    assert found["D2"].message == "'5/3/2024': created_at must be a date written YYYY-MM-DD"
    assert found["E2"].fix == "2024-03-05 14:30"
    assert found["D3"].fix is None  # a two-digit year stays a guess whatever the setting
    # an argument wins over the config
    report = validate(sheetcrm.open_workbook(ambiguous), config=default_config(), day_first=False)
    assert next(f for f in report.findings if f.cell == "D2").fix == "2024-05-03"


def test_a_phones_country_follows_the_default_region(ambiguous: Path, tmp_path: Path) -> None:
    cn = {f.cell: f for f in validate(sheetcrm.open_workbook(ambiguous), config=default_config()).findings}
    assert "C3" not in cn  # a CN mobile in a CN workbook: fix makes it +8613800138000
    assert str(cn["C2"].severity) == "warning" and cn["C2"].fix is None
    assert "is not written like a CN number, but would be a valid +1 number" in cn["C2"].message

    us = _by_cell(ambiguous, tmp_path, 'default_region = "US"\n')
    assert "C2" not in us
    assert str(us["C3"].code) == "bad-phone" and str(us["C3"].severity) == "warning"
    assert "not written like a US number, but would be a valid +86 number" in us["C3"].message

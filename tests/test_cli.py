"""The CLI run as a user runs it: a child process, real files, exit codes, no tracebacks."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import click
from conftest import CUSTOMERS, ROOT, run_cli, with_cached_formula, write_xlsx

import sheetcrm
from sheetcrm.cli import cli, reference_markdown


def test_version_and_help(tmp_path: Path) -> None:
    done = run_cli("--version", cwd=tmp_path)
    assert done.returncode == 0 and sheetcrm.__version__ in done.stdout
    done = run_cli("--help", cwd=tmp_path)
    assert done.returncode == 0
    for command in ("init", "demo", "tidy", "history", "undo", "config"):
        assert command in done.stdout


def test_every_command_has_help_and_is_in_the_docs() -> None:
    def commands(group: click.Group, path: str) -> list[tuple[str, click.Command]]:
        found = []
        for name, command in group.commands.items():
            found.append((f"{path} {name}", command))
            if isinstance(command, click.Group):
                found.extend(commands(command, f"{path} {name}"))
        return found

    for name, command in commands(cli, "sheetcrm"):
        assert command.help, f"{name} has no help text"
    assert (ROOT / "docs" / "cli.md").read_text(encoding="utf-8") == reference_markdown(), (
        "docs/cli.md is out of date: python -c 'import sheetcrm.cli as c; print(c.reference_markdown(), end="
        ")' > docs/cli.md"
    )


def test_init_creates_and_never_overwrites(tmp_path: Path) -> None:
    done = run_cli("init", "crm.xlsx", "--tables", "customers,orders", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    workbook = sheetcrm.open_workbook(tmp_path / "crm.xlsx")
    assert workbook.sheet_names == ["Customers", "Orders", "_lists"]
    assert workbook["Customers"].columns[:3] == ["customer_id", "name", "company"]
    again = run_cli("init", "crm.xlsx", cwd=tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr


def test_tidy_dry_run_apply_history_undo(tmp_path: Path) -> None:
    rows = [list(row) for row in CUSTOMERS]
    rows[1][1] = "  Zhang   Wei "
    path = write_xlsx(tmp_path / "crm.xlsx", {"Customers": rows})
    before = path.read_bytes()

    preview = run_cli("tidy", "crm.xlsx", "--dry-run", cwd=tmp_path)
    assert preview.returncode == 0, preview.stderr
    assert "B2 (name)" in preview.stdout and "Zhang Wei" in preview.stdout and "dry run" in preview.stdout
    assert path.read_bytes() == before

    applied = run_cli("tidy", "crm.xlsx", "--format", "json", cwd=tmp_path)
    assert applied.returncode == 0, applied.stderr
    payload = json.loads(applied.stdout)
    assert payload["counts"] == {"edit": 1} and payload["run_id"]
    assert sheetcrm.open_workbook(path)["Customers"].value(2, "name") == "Zhang Wei"

    history = run_cli("history", "crm.xlsx", cwd=tmp_path)
    assert payload["run_id"] in history.stdout and "tidy" in history.stdout
    # the history shows ids and counts, never cell values
    assert "Zhang" not in history.stdout

    undone = run_cli("undo", payload["run_id"], "crm.xlsx", cwd=tmp_path)
    assert undone.returncode == 0, undone.stderr
    assert sheetcrm.open_workbook(path)["Customers"].value(2, "name") == "  Zhang   Wei "
    twice = run_cli("undo", payload["run_id"], "crm.xlsx", cwd=tmp_path)
    assert twice.returncode == 3 and "already undone" in twice.stderr


def test_refusals_exit_3_without_a_traceback(tmp_path: Path) -> None:
    rows = [list(row) for row in CUSTOMERS]
    rows[1][1] = " padded "
    write_xlsx(tmp_path / "crm.xlsx", {"Customers": rows})
    (tmp_path / "~$crm.xlsx").write_text("")
    done = run_cli("tidy", "crm.xlsx", cwd=tmp_path)
    assert done.returncode == 3
    assert done.stderr.startswith("error: ") and "open in a spreadsheet program" in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_input_exits_2_with_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "export.xlsx").write_text("name,phone\nZhang,138\n", encoding="utf-8")
    done = run_cli("tidy", "export.xlsx", cwd=tmp_path)
    assert done.returncode == 2 and "export.xlsx" in done.stderr and "Traceback" not in done.stderr
    (tmp_path / "sheetcrm.toml").write_text('workbook = "crm.xlsx"\n[safety]\nbackup = 3\n', encoding="utf-8")
    done = run_cli("config", "show", cwd=tmp_path)
    assert done.returncode == 2 and "safety.backup" in done.stderr and "sheetcrm.toml" in done.stderr
    done = run_cli("-c", "missing.toml", "history", cwd=tmp_path)
    assert done.returncode == 2 and "missing.toml" in done.stderr
    done = run_cli("history", cwd=tmp_path / "..")
    assert done.returncode == 2 and "no workbook" in done.stderr


def test_config_show_prints_defaults(tmp_path: Path) -> None:
    (tmp_path / "sheetcrm.toml").write_text('workbook = "crm.xlsx"\n', encoding="utf-8")
    done = run_cli("config", "show", "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["safety"]["backups"] == 10
    assert shown["tables"]["customers"]["sheet"] == "Customers"


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    done = run_cli("demo", "--out", "demo", "--customers", "300", "--today", "2026-11-22", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "where to look" in done.stdout
    workbook = sheetcrm.open_workbook(config=tmp_path / "demo" / "sheetcrm.toml")
    assert workbook.sheet_names[:4] == ["Customers", "Orders", "Interactions", "Opportunities"]
    assert len(workbook["Customers"]) == 300 - 9  # the 9 planted duplicates merged
    assert "9 duplicate groups merged (9 rows)" in done.stdout
    assert [r.command for r in workbook.history()] == [
        "tidy",
        "fix",
        "dedupe",
        "rollups",
        "segment",
        "stale",
        "pipeline",
        "remind",
        "validate --annotate",
        "report",
    ]
    assert {"_issues", "_reminders", "_reports", "_r Order status funnel"} <= set(workbook.sheet_names)
    assert len(list((tmp_path / "demo" / "outbox").glob("*.eml"))) >= 2  # a digest per owner
    assert "outbox: sent" in done.stdout and "Subject: sheetcrm: " in done.stdout
    # a second demo run in the same folder starts afresh
    again = run_cli("demo", "--out", "demo", "--customers", "300", "--today", "2026-11-22", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "outbox: sent" in again.stdout  # the ledger was reset with the workbook: the digests go again


def test_tidy_in_place_keeps_what_openpyxl_would_drop(tmp_path: Path) -> None:
    # the cached result of =A2*2 is what openpyxl's save would empty; the lossless writer keeps it
    path = with_cached_formula(tmp_path / "f.xlsx", note=" padded ")
    done = run_cli("tidy", "f.xlsx", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "applied as run" in done.stdout
    with zipfile.ZipFile(path) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml")
        assert b"<f>A2*2</f><v>2</v>" in sheet_xml
        assert b'fullCalcOnLoad="1"' in archive.read("xl/workbook.xml")
    assert sheetcrm.open_workbook(path)["S"].value(2, "c") == "padded"


def test_schema_show(tmp_path: Path) -> None:
    (tmp_path / "sheetcrm.toml").write_text(
        '[schema.customers.fields.wechat_id]\ntype = "text"\ndescription = "WeChat ID"\n', encoding="utf-8"
    )
    done = run_cli("schema", "show", "--table", "customers", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "customers (sheet 'Customers', id customer_id)" in done.stdout
    assert "tier" in done.stdout and "one of VIP/Key/Standard" in done.stdout and "wechat_id" in done.stdout
    shown = json.loads(run_cli("schema", "show", "--format", "json", cwd=tmp_path).stdout)
    assert [t["table"] for t in shown] == ["customers", "orders", "interactions", "opportunities"]
    assert "客户名称" in next(f for f in shown[0]["fields"] if f["name"] == "name")["aliases"]
    bad = run_cli("schema", "show", "--table", "clients", cwd=tmp_path)
    assert bad.returncode == 2 and "unknown table 'clients'" in bad.stderr


def test_import_then_export_from_the_command_line(tmp_path: Path) -> None:
    write_xlsx(tmp_path / "crm.xlsx", {"Customers": [list(row) for row in CUSTOMERS]})
    source = tmp_path / "fair.csv"
    source.write_bytes(
        "客户名称,手机,邮箱,客户等级\r\n李娜,139 1234 5678,li.na@example.cn,vip\r\n,,not-an-email,Gold\r\n".encode(
            "gb18030"
        )
    )
    preview = run_cli("import", "fair.csv", "crm.xlsx", "--dry-run", cwd=tmp_path)
    assert preview.returncode == 1, preview.stderr  # one row is rejected
    assert "dry run" in preview.stdout
    done = run_cli("import", "fair.csv", "crm.xlsx", "--rejects", "rejects.csv", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "undo with: sheetcrm undo" in done.stdout
    customers = sheetcrm.open_workbook(tmp_path / "crm.xlsx")["Customers"]
    added = customers.frame[customers.frame["name"] == "李娜"]
    assert len(added) == 1 and added["tier"].tolist() == ["VIP"]
    assert (tmp_path / "rejects.csv").exists()

    out = run_cli("export", "crm.xlsx", "--where", "tier=VIP", "--mask-pii", "--out", "vip.csv", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    text = (tmp_path / "vip.csv").read_text(encoding="utf-8-sig")
    assert "李娜" in text and "Zhang Wei" in text and "Jane Smith" not in text
    assert "139 1234 5678" not in text and "li.na@example.cn" not in text


def test_fix_previews_applies_and_leaves_fewer_findings(tmp_path: Path) -> None:
    rows = [
        ["customer_id", "name", "phone", "tier", "created_at"],
        ["C-000001", "Zhang Wei", "138 0013 8000", "vip", "2024/3/5"],
        ["C-000002", "Jane Smith", "(415) 555-0134", "Key", "5/3/2024"],
    ]
    path = write_xlsx(tmp_path / "crm.xlsx", {"Customers": rows})
    before = run_cli("validate", "crm.xlsx", "--format", "json", cwd=tmp_path)
    preview = run_cli("fix", "crm.xlsx", "--dry-run", cwd=tmp_path)
    assert preview.returncode == 0, preview.stderr
    assert "+8613800138000" in preview.stdout and "dry run" in preview.stdout
    done = run_cli("fix", "crm.xlsx", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    table = sheetcrm.open_workbook(path)["Customers"]
    assert table.value(2, "phone") == "+8613800138000" and table.value(2, "tier") == "VIP"
    assert table.value(2, "created_at") == "2024-03-05"
    assert table.value(3, "created_at") == "5/3/2024"  # day or month first: never guessed
    after = run_cli("validate", "crm.xlsx", "--format", "json", cwd=tmp_path)
    assert len(json.loads(after.stdout)["findings"]) < len(json.loads(before.stdout)["findings"])


def test_options_override_the_fix_settings_of_the_config(tmp_path: Path) -> None:
    rows = [
        ["customer_id", "name", "phone", "created_at"],
        ["C-000001", "Jane Smith", "(415) 555-0134", "5/3/2024"],
    ]
    path = write_xlsx(tmp_path / "crm.xlsx", {"Customers": rows})
    (tmp_path / "sheetcrm.toml").write_text('[fix]\ndefault_region = "CN"\n', encoding="utf-8")
    report = json.loads(run_cli("validate", "crm.xlsx", "--day-first", "--format", "json", cwd=tmp_path).stdout)
    assert {f["cell"]: f["fix"] for f in report["findings"] if f["column"] == "created_at"} == {"D2": "2024-03-05"}
    done = run_cli("fix", "crm.xlsx", "--region", "US", "--month-first", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    table = sheetcrm.open_workbook(path)["Customers"]
    assert table.value(2, "phone") == "+14155550134"
    assert table.value(2, "created_at") == "2024-05-03"

"""The Google Sheets backend against the emulator, over real HTTP with gspread, google-auth and requests.

The parity tests run each job as a user does (``python -m sheetcrm ...``) once on an .xlsx file and
once on a Google Sheet holding the same cells, and compare every sheet afterwards, cell by cell.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli

import sheetcrm
from sheetcrm.errors import CellConflict, PartlyWritten
from sheetcrm.sample import write_sample_workbook
from sheetcrm.sync.changeset import ChangeSet
from sheetcrm.sync.workbook import Workbook
from sheetcrm.testing import SheetsEmulator

TODAY = "2026-11-22"


@pytest.fixture
def google_env(
    emu: SheetsEmulator, google_key: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> dict[str, str]:
    """The environment a user sets: the key file and the endpoint of the emulator; run in tmp_path."""
    env = {"GOOGLE_APPLICATION_CREDENTIALS": str(google_key), "SHEETCRM_SHEETS_ENDPOINT": emu.base_url}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    return env


def open_google(key: str) -> Workbook:
    return sheetcrm.open_workbook(f"gsheets://{key}")


def calls(workbook: Workbook) -> dict[str, int]:
    return dict(workbook.backend.calls)  # type: ignore[attr-defined]


def grid(workbook: Workbook) -> dict[str, list[list[str]]]:
    """Every sheet's cells as text, the way sheetcrm reads them."""
    raw = workbook.backend.read_sheets(workbook.sheet_names)
    # a file's big sheets come column by column: turn them into rows
    return {
        name: [list(row) for row in zip(*(c.to_pylist() for c in sheet.column_major()), strict=True)]
        for name, sheet in raw.items()
    }


# -- reading --------------------------------------------------------------------------------


def test_cells_read_as_the_user_typed_them(emu: SheetsEmulator, google_env: dict[str, str]) -> None:
    key = emu.create_spreadsheet(
        "CRM",
        sheets={
            "Customers": [
                ["customer_id", "name", "zip", "note", "amount", "big", "vip", "since"],
                ["C-1", "Ann", "00123", "NA", 12.5, 1000000, True, "2024-01-05"],
            ]
        },
    )
    emu.set_value(key, "Customers", "H2", "2024-01-05")  # typed as a person types it: a real date
    table = open_google(key)["Customers"]
    assert table.frame.loc[2].tolist() == ["C-1", "Ann", "00123", "NA", "12.5", "1000000", "TRUE", "2024-01-05"]


def test_all_sheets_a_job_needs_come_in_one_batch_get(emu: SheetsEmulator, google_env: dict[str, str]) -> None:
    key = emu.create_spreadsheet("CRM", sheets={"Customers": [["customer_id"], ["C-1"]], "Orders": [["order_id"]]})
    workbook = open_google(key)
    workbook.read("Customers", "Orders")
    assert calls(workbook).get("values.batchGet") == 1


# -- writing --------------------------------------------------------------------------------


def rows(n: int) -> list[list[Any]]:
    return [["customer_id", "name", "phone"]] + [[f"C-{i:06d}", f"name {i}", f"138 {i:04d}"] for i in range(1, n + 1)]


@pytest.mark.parametrize("size", [20, 3000])
def test_a_write_takes_the_same_few_calls_whatever_the_row_count(
    emu: SheetsEmulator, google_env: dict[str, str], size: int
) -> None:
    key = emu.create_spreadsheet("CRM", sheets={"Customers": rows(size)})
    emu.sheet(key, "Customers").row_count = size + 100  # room for the appended row (else one call grows the grid)
    workbook = open_google(key)
    table = workbook["Customers"]
    changes = ChangeSet("every phone")
    for row in table.rows:
        changes.edit(
            "Customers", row, "C", old=table.value(row, "phone"), new=table.value(row, "phone").replace(" ", "")
        )
        changes.note("Customers", row, "C", "normalised", ours_only=True)
    changes.append("Customers", [{"A": "C-new", "B": "=1+1"}])
    workbook.apply(changes)
    assert calls(workbook) == {
        "spreadsheets.get": 3,  # sheet list at read, sheet list and the cells to write just before writing
        "values.batchGet": 1,
        "values.batchUpdate": 1,
        "spreadsheets.batchUpdate": 1,
    }
    values = emu.values(key, "Customers")
    assert values[1][2] == "1380001" and values[-1] == ["C-new", "=1+1", ""]  # text, not a formula
    assert emu.sheet(key, "Customers").cells[(1, 2)].formula is None
    assert emu.sheet(key, "Customers").cells[(size + 1, 1)].formula is None


def test_a_cell_a_person_edited_meanwhile_is_never_overwritten(emu: SheetsEmulator, google_env: dict[str, str]) -> None:
    key = emu.create_spreadsheet("CRM", sheets={"Customers": rows(3)})
    workbook = open_google(key)
    table = workbook["Customers"]
    changes = ChangeSet("fix")
    changes.edit("Customers", 2, "C", old=table.value(2, "phone"), new="+861380001")
    changes.edit("Customers", 3, "C", old=table.value(3, "phone"), new="+861380002")
    emu.on_next_call(lambda e: e.set_value(key, "Customers", "C3", "call me first"))
    with pytest.raises(CellConflict) as refused:
        workbook.apply(changes)
    assert "Customers!C3" in str(refused.value)
    values = emu.values(key, "Customers")
    assert values[2][2] == "call me first" and values[1][2] == "138 0001"  # nothing written at all


def test_a_formula_is_never_overwritten_and_the_message_says_why(
    emu: SheetsEmulator, google_env: dict[str, str]
) -> None:
    key = emu.create_spreadsheet("CRM", sheets={"Customers": rows(2)})
    emu.set_value(key, "Customers", "C3", "=1+1")  # the values read gives its result, 2
    workbook = open_google(key)
    assert workbook["Customers"].value(3, "phone") == "2"
    changes = ChangeSet("fix")
    changes.edit("Customers", 2, "C", old="138 0001", new="+861380001")
    changes.edit("Customers", 3, "C", old="2", new="+862")
    with pytest.raises(CellConflict) as refused:
        workbook.apply(changes)
    assert "hold formulas: Customers!C3" in str(refused.value) and "never overwrites a formula" in str(refused.value)
    assert emu.values(key, "Customers")[1][2] == "138 0001"


def test_rows_appended_go_below_rows_a_person_added_meanwhile(emu: SheetsEmulator, google_env: dict[str, str]) -> None:
    key = emu.create_spreadsheet("CRM", sheets={"Customers": rows(2)})
    workbook = open_google(key)
    workbook.read("Customers")
    emu.set_value(key, "Customers", "A4", "C-typed-by-hand")
    changes = ChangeSet("import")
    changes.append("Customers", [{"A": "C-imported"}])
    emu.sheet(key, "Customers").row_count = 4  # full: the grid must grow first
    result = workbook.apply(changes)
    assert [r[0] for r in emu.values(key, "Customers")] == [
        "customer_id",
        "C-000001",
        "C-000002",
        "C-typed-by-hand",
        "C-imported",
    ]
    assert result.changes.changes[0].first_row == 5  # type: ignore[union-attr]
    assert emu.sheet(key, "Customers").row_count == 5
    assert calls(workbook)["spreadsheets.batchUpdate"] == 1  # the grid grew; nothing else to format


def test_notes_fills_dropdowns_and_undo(emu: SheetsEmulator, google_env: dict[str, str]) -> None:
    key = emu.create_spreadsheet("CRM", sheets={"Customers": [["customer_id", "tier"], ["C-1", "VIP"], ["C-2", "Key"]]})
    emu.sheet(key, "Customers").cell(2, 0).note = "a person's note"
    workbook = open_google(key)
    workbook.read("Customers")
    changes = ChangeSet("annotate")
    changes.note("Customers", 2, "A", "sheetcrm's note", ours_only=True)
    changes.note("Customers", 3, "A", "sheetcrm's note", ours_only=True)
    changes.fill("Customers", 3, "B", "FFC7CE")
    changes.dropdown("Customers", "B2:B1048576", choices=["VIP", "Key", "Standard"])
    changes.edit("Customers", 2, "B", old="VIP", new=dt.date(2024, 1, 5))
    result = workbook.apply(changes)
    sheet = emu.sheet(key, "Customers")
    assert sheet.cells[(2, 0)].note == "a person's note"  # never replaced
    assert (sheet.cells[(1, 0)].note or "").startswith("sheetcrm's note")
    assert sheet.cells[(2, 1)].format["backgroundColor"]["red"] == 1.0
    assert sheet.validations[0]["rule"]["condition"]["type"] == "ONE_OF_LIST"
    assert open_google(key)["Customers"].value(2, "tier") == "2024-01-05"  # a real date, read back ISO
    assert result.run_id is not None
    open_google(key).undo(result.run_id)
    sheet = emu.sheet(key, "Customers")
    assert emu.values(key, "Customers")[1] == ["C-1", "VIP"]
    assert (2, 0) in sheet.cells and sheet.cells[(2, 0)].note == "a person's note"
    assert sheet.cells.get((1, 0)) is None or sheet.cells[(1, 0)].note is None
    assert "backgroundColor" not in (sheet.cells[(2, 1)].format if (2, 1) in sheet.cells else {})
    assert sheet.validations == []


def test_a_dry_run_sends_no_write(emu: SheetsEmulator, google_env: dict[str, str]) -> None:
    key = emu.create_spreadsheet("CRM", sheets={"Customers": [["customer_id", "name"], ["C-1", "  Ann  "]]})
    done = run_cli("tidy", f"gsheets://{key}", "--dry-run", cwd=Path.cwd(), env=google_env)
    assert done.returncode == 0, done.stderr
    assert not [c for c in emu.calls if c[0] != "GET" and c[1] != "/token"]


# -- every job: the same result on a Google Sheet as on an .xlsx file -------------------------


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sample") / "crm.xlsx"
    write_sample_workbook(path, customers=120, seed=7, today=dt.date.fromisoformat(TODAY))
    return path


def twin(sample: Path, folder: Path, emu: SheetsEmulator) -> tuple[Path, str]:
    """The sample as an .xlsx file in ``folder`` and as a Google Sheet holding the same text."""
    local = folder / "crm.xlsx"
    shutil.copy(sample, local)
    workbook = sheetcrm.open_workbook(local)
    sheets = {name: table_rows for name, table_rows in grid(workbook).items()}
    return local, emu.create_spreadsheet("CRM", sheets=sheets)


JOBS = [
    ["tidy"],
    ["fix"],
    ["validate", "--annotate"],
    ["apply-schema"],
    ["dedupe"],
    ["rollups"],
    ["segment", "--today", TODAY],
    ["stale", "--today", TODAY],
    ["pipeline", "--today", TODAY],
    ["report", "--today", TODAY, "--workbook"],
]


@pytest.mark.parametrize("job", JOBS, ids=[j[0] for j in JOBS])
def test_every_job_leaves_a_google_sheet_as_it_leaves_an_xlsx_file(
    job: list[str], sample: Path, emu: SheetsEmulator, google_env: dict[str, str], tmp_path: Path
) -> None:
    local, key = twin(sample, tmp_path, emu)
    results = {}
    for target in (str(local), f"gsheets://{key}"):
        done = run_cli(*job, target, cwd=tmp_path, env=google_env)
        assert done.returncode in (0, 1), f"{job} on {target}: {done.stderr}"
        results[target] = done.returncode
    assert results[str(local)] == results[f"gsheets://{key}"]
    on_file, on_google = grid(sheetcrm.open_workbook(local)), grid(open_google(key))
    assert list(on_google) == list(on_file)
    for name in on_file:
        if name == "_reports":  # the index says when each report was written
            continue
        # a report names its source: the file's name, or the spreadsheet's key
        on_google_named = [[cell.replace(key, local.name) for cell in row] for row in on_google[name]]
        assert _clean(on_google_named) == _clean(on_file[name]), name


def _clean(rows: list[list[str]]) -> list[list[str]]:
    """Rows without trailing empty cells; run ids and times of day (a report's 'as of' line) masked."""
    out = []
    for row in rows:
        row = [cell for cell in row]
        while row and row[-1] == "":
            row.pop()
        out.append([_mask_time(cell) for cell in row])
    while out and not out[-1]:
        out.pop()
    return out


def _mask_time(text: str) -> str:
    import re

    text = re.sub(r"\d{8}T\d{6}-[0-9a-f]{4}", "RUN-ID", text)  # each run has its own id
    return re.sub(r"\d{2}:\d{2}(:\d{2})?", "HH:MM", text)


def test_remind_writes_its_sheet_and_outbox_from_a_google_sheet(
    sample: Path, emu: SheetsEmulator, google_env: dict[str, str], tmp_path: Path
) -> None:
    _, key = twin(sample, tmp_path, emu)
    done = run_cli(
        "remind",
        f"gsheets://{key}",
        "--today",
        TODAY,
        "--channel",
        "outbox",
        "--channel",
        "sheet",
        cwd=tmp_path,
        env=google_env,
    )
    assert done.returncode == 0, done.stderr
    assert "_reminders" in open_google(key).sheet_names
    assert list((tmp_path / ".sheetcrm").rglob("*.eml")) or list(tmp_path.rglob("*.eml"))


def test_verbose_prints_the_api_calls_made(
    sample: Path, emu: SheetsEmulator, google_env: dict[str, str], tmp_path: Path
) -> None:
    _, key = twin(sample, tmp_path, emu)
    done = run_cli("-v", "rollups", f"gsheets://{key}", cwd=tmp_path, env=google_env)
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stderr.splitlines() if "Google Sheets API calls" in line)
    # the sample has text dates like 2024/3/5 planted: the second batchGet checks those cells are text
    assert "values.batchGet 2" in line and "values.batchUpdate 1" in line and "spreadsheets.batchUpdate 1" in line


# -- quotas and faults, with jobs run as a user runs them -------------------------------------


def test_a_job_completes_when_every_third_call_is_rate_limited(
    sample: Path, emu: SheetsEmulator, google_env: dict[str, str], tmp_path: Path
) -> None:
    local, key = twin(sample, tmp_path, emu)
    emu.faults.rate_limit_every, emu.faults.retry_after = 3, 0
    for target in (str(local), f"gsheets://{key}"):
        done = run_cli("-vv", "rollups", target, cwd=tmp_path, env=google_env)
        assert done.returncode == 0, done.stderr
    retries = [line for line in done.stderr.splitlines() if line.startswith("DEBUG sheetcrm.google: retrying")]
    assert retries and all("429" in line for line in retries)
    assert _clean(grid(open_google(key))["Customers"]) == _clean(grid(sheetcrm.open_workbook(local))["Customers"])


def test_a_permanent_rate_limit_ends_with_a_clear_error_within_the_cap(
    emu: SheetsEmulator, google_env: dict[str, str], tmp_path: Path
) -> None:
    key = emu.create_spreadsheet("CRM", sheets={"Customers": rows(3)})
    (tmp_path / "sheetcrm.toml").write_text("[google]\nretry_attempts = 4\nretry_seconds = 3\n", encoding="utf-8")
    emu.faults.rate_limit_every, emu.faults.retry_after = 1, 1
    done = run_cli("validate", f"gsheets://{key}", cwd=tmp_path, env=google_env)
    assert done.returncode == 2, done.stderr
    assert "429" in done.stderr and "quota" in done.stderr.lower()
    assert "Traceback" not in done.stderr
    assert 1 < len([c for c in emu.calls if c[1] != "/token"]) <= 4


def test_a_503_after_an_applied_write_leaves_no_duplicate_rows(
    emu: SheetsEmulator, google_env: dict[str, str], tmp_path: Path
) -> None:
    key = emu.create_spreadsheet("CRM", sheets={"Customers": rows(3)})
    emu.sheet(key, "Customers").row_count = 50
    incoming = tmp_path / "new.csv"
    incoming.write_text(
        "customer_id,name,phone\nC-000010,Zoe,139 0000 0010\nC-000011,Yan,139 0000 0011\n", encoding="utf-8"
    )
    emu.faults.fail_after_writes = 1  # the values.batchUpdate lands, then Google answers 503
    done = run_cli("import", str(incoming), f"gsheets://{key}", "--table", "customers", cwd=tmp_path, env=google_env)
    assert done.returncode == 0, done.stderr
    ids = [row[0] for row in emu.values(key, "Customers")]
    assert ids == ["customer_id", "C-000001", "C-000002", "C-000003", "C-000010", "C-000011"]


def test_a_503_after_deleting_rows_is_reported_and_a_rerun_deletes_nothing_more(
    emu: SheetsEmulator, google_env: dict[str, str], tmp_path: Path
) -> None:
    people = [["customer_id", "name", "phone", "email"]]
    people += [
        ["C-1", "Ann Lee", "138 0013 8000", "ann@example.com"],
        ["C-2", "Ann Lee", "13800138000", "ann@example.com"],
    ]
    people += [[f"C-{i}", f"Person {i}", f"139 0000 {i:04d}", f"p{i}@example.com"] for i in range(3, 8)]
    key = emu.create_spreadsheet("CRM", sheets={"Customers": people})
    before = run_cli("dedupe", f"gsheets://{key}", "--dry-run", cwd=tmp_path, env=google_env)
    assert before.returncode == 0, before.stderr
    # the batchUpdate deleting the duplicate row lands, then Google answers 503
    emu.faults.fail_after_writes, emu.faults.fail_writes_matching = 1, r"^POST /v4/spreadsheets/[^/]+:batchUpdate$"
    first = run_cli("dedupe", f"gsheets://{key}", cwd=tmp_path, env=google_env)
    assert first.returncode == 3, first.stderr
    assert "may" in first.stderr and "Traceback" not in first.stderr
    assert "the cell values were written" in first.stderr and "sheetcrm undo" in first.stderr
    again = run_cli("dedupe", f"gsheets://{key}", cwd=tmp_path, env=google_env)
    assert again.returncode == 0, again.stderr
    ids = [row[0] for row in emu.values(key, "Customers")]
    assert ids == ["customer_id", "C-1", "C-3", "C-4", "C-5", "C-6", "C-7"]


# -- the rest of the command line on a Google Sheet ---------------------------------------------

NIGHTLY = """
[jobs.nightly]
steps = ["tidy", "fix", "rollups", "segment", "stale", "pipeline", "remind", "report"]
log_sheet = true

[jobs.nightly.options.remind]
channels = ["outbox", "sheet"]
"""


def test_a_nightly_job_runs_on_a_google_sheet_and_can_be_undone(
    sample: Path, emu: SheetsEmulator, google_env: dict[str, str], tmp_path: Path
) -> None:
    _, key = twin(sample, tmp_path, emu)
    before = grid(open_google(key))
    (tmp_path / "sheetcrm.toml").write_text(f'workbook = "gsheets://{key}"\n' + NIGHTLY, encoding="utf-8")
    done = run_cli("run", "nightly", "--today", TODAY, cwd=tmp_path, env=google_env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "job nightly: ok" in done.stdout
    workbook = open_google(key)
    assert {"_reminders", "_reports", "_sheetcrm_log"} <= set(workbook.sheet_names)
    assert {"order_count", "lifecycle", "stale"} <= set(workbook["Customers"].columns)
    # the runs are logged beside the working folder; undoing them all, newest first, gives the sheet back
    history = run_cli("history", cwd=tmp_path, env=google_env)
    assert history.returncode == 0, history.stderr
    runs = [line.split()[0] for line in history.stdout.strip().splitlines() if line[:8].isdigit()]
    assert len(runs) >= 7
    for run_id in reversed(runs):
        undone = run_cli("undo", run_id, cwd=tmp_path, env=google_env)
        assert undone.returncode == 0, undone.stderr
    assert grid(open_google(key)) == before


def test_export_and_find_read_a_google_sheet(
    sample: Path, emu: SheetsEmulator, google_env: dict[str, str], tmp_path: Path
) -> None:
    local, key = twin(sample, tmp_path, emu)
    for target, out in ((str(local), "file.csv"), (f"gsheets://{key}", "google.csv")):
        done = run_cli(
            "export", target, "--where", "tier=VIP", "--out", str(tmp_path / out), cwd=tmp_path, env=google_env
        )
        assert done.returncode == 0, done.stderr
    assert (tmp_path / "google.csv").read_bytes() == (tmp_path / "file.csv").read_bytes()
    name = open_google(key)["Customers"].value(5, "name")
    found = run_cli("find", name, f"gsheets://{key}", cwd=tmp_path, env=google_env)
    assert found.returncode == 0 and name in found.stdout, found.stderr


def test_a_missing_key_file_and_an_unshared_sheet_get_clear_errors(
    emu: SheetsEmulator, google_env: dict[str, str], tmp_path: Path
) -> None:
    no_key = {**google_env, "GOOGLE_APPLICATION_CREDENTIALS": str(tmp_path / "missing.json")}
    done = run_cli("validate", "gsheets://1AbCdEfGhIjKlMnOp", cwd=tmp_path, env=no_key)
    assert done.returncode == 2 and "missing.json" in done.stderr and "Traceback" not in done.stderr
    done = run_cli("validate", "gsheets://1AbCdEfGhIjKlMnOp", cwd=tmp_path, env=google_env)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "1AbCdEfGhIjKlMnOp" in done.stderr and "@" in done.stderr  # names the key and the account to share with


# -- push, pull and sync between an .xlsx file and a Google Sheet ------------------------------

CRM_SHEETS = ("Customers", "Orders", "Interactions", "Opportunities")


def test_push_pull_and_sync_between_a_file_and_a_google_sheet(
    sample: Path, emu: SheetsEmulator, google_env: dict[str, str], tmp_path: Path
) -> None:
    local = tmp_path / "crm.xlsx"
    shutil.copy(sample, local)
    key = emu.create_spreadsheet("CRM", sheets={"Sheet1": []})
    pushed = run_cli("push", str(local), f"gsheets://{key}", cwd=tmp_path, env=google_env)
    assert pushed.returncode == 0, pushed.stderr
    assert "a later `sheetcrm sync" in pushed.stdout  # the two copies agree: the base of a later sync
    google = open_google(key)
    assert all(sheet in google.sheet_names for sheet in CRM_SHEETS)
    assert google["Customers"].frame.equals(sheetcrm.open_workbook(local)["Customers"].frame)
    assert any(v["rule"]["condition"]["type"] == "ONE_OF_RANGE" for v in emu.sheet(key, "Customers").validations)

    copy = tmp_path / "copy.xlsx"
    pulled = run_cli("pull", f"gsheets://{key}", str(copy), cwd=tmp_path, env=google_env)
    assert pulled.returncode == 0, pulled.stderr
    for sheet in CRM_SHEETS:
        assert sheetcrm.open_workbook(copy)[sheet].frame.equals(sheetcrm.open_workbook(local)[sheet].frame), sheet

    # a person edits the Google Sheet, another the file: sync carries each edit to the other side
    name = google["Customers"].value(2, "name")
    emu.set_value(key, "Customers", "B2", name + " Jr")
    workbook = sheetcrm.open_workbook(local)
    edit = ChangeSet("a person edits the file")
    edit.edit(
        "Customers", 3, workbook["Customers"].letter("title"), old=workbook["Customers"].value(3, "title"), new="CFO"
    )
    workbook.apply(edit)
    synced = run_cli("sync", str(local), f"gsheets://{key}", cwd=tmp_path, env=google_env)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert sheetcrm.open_workbook(local)["Customers"].value(2, "name") == name + " Jr"
    assert open_google(key)["Customers"].value(3, "title") == "CFO"
    again = run_cli("sync", str(local), f"gsheets://{key}", cwd=tmp_path, env=google_env)
    assert again.returncode == 0 and "both sides already agree" in again.stdout, again.stdout

    # the same field changed on both sides, no updated_at to decide: listed on both, exit 1
    emu.set_value(key, "Customers", "B2", "Google's name")
    workbook = sheetcrm.open_workbook(local)
    edit = ChangeSet("a person edits the file")
    edit.edit("Customers", 2, "B", old=name + " Jr", new="The file's name")
    workbook.apply(edit)
    conflicted = run_cli("sync", str(local), f"gsheets://{key}", cwd=tmp_path, env=google_env)
    assert conflicted.returncode == 1, conflicted.stdout + conflicted.stderr
    assert (
        "_sync_conflicts" in open_google(key).sheet_names
        and "_sync_conflicts" in sheetcrm.open_workbook(local).sheet_names
    )
    assert open_google(key)["Customers"].value(2, "name") == "Google's name"
    assert sheetcrm.open_workbook(local)["Customers"].value(2, "name") == "The file's name"


def test_a_date_shown_in_a_local_format_reads_iso_and_text_that_looks_like_one_stays(
    emu: SheetsEmulator, google_env: dict[str, str]
) -> None:
    key = emu.create_spreadsheet(
        "CRM",
        sheets={"Customers": [["customer_id", "since", "code"], ["C-1", "", "1/5/2024"], ["C-2", "", ""], ["C-3"]]},
    )
    emu.set_value(key, "Customers", "B5", "3/1/2024")  # the range asked for again spans row 4, which is shorter
    emu.set_value(key, "Customers", "B2", "1/5/2024")  # typed by a person in the US: a real date shown M/d/yyyy
    emu.set_value(key, "Customers", "B3", "2024-02-29")
    workbook = open_google(key)
    table = workbook["Customers"]
    assert table.value(2, "since") == "2024-01-05" and table.value(3, "since") == "2024-02-29"
    assert table.value(5, "since") == "2024-03-01" and table.value(4, "since") == ""
    assert table.value(2, "code") == "1/5/2024"  # text (RAW) stays as typed
    assert calls(workbook)["values.batchGet"] == 2  # the second only for the cells shown as local dates
    changes = ChangeSet("a date edited as read")
    changes.edit("Customers", 2, "B", old="2024-01-05", new=dt.date(2024, 1, 6))
    workbook.apply(changes)  # the cell is what was read: no conflict
    assert open_google(key)["Customers"].value(2, "since") == "2024-01-06"


def test_report_sheets_get_native_charts_and_index_links_on_a_google_sheet(
    sample: Path, emu: SheetsEmulator, google_env: dict[str, str], tmp_path: Path
) -> None:
    _, key = twin(sample, tmp_path, emu)
    done = run_cli("report", "revenue_by_month_region", "--today", TODAY, "--workbook", f"gsheets://{key}",
                   cwd=tmp_path, env=google_env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    book = emu.spreadsheet(key)
    report = next(sheet for sheet in book.sheets if sheet.title.startswith("_r Revenue"))
    (chart,) = report.charts
    basic = chart["spec"]["basicChart"]
    sources = [basic["domains"][0]["domain"]["sourceRange"]["sources"][0]] + [
        series["series"]["sourceRange"]["sources"][0] for series in basic["series"]
    ]
    assert all(source["sheetId"] == report.sheet_id for source in sources)  # drawn from the report's own cells
    assert chart["position"]["overlayPosition"]["anchorCell"]["sheetId"] == report.sheet_id
    assert report.frozen_row_count >= 1
    index = emu.sheet(key, "_reports")
    links = [
        cell.format["textFormat"]["link"]["uri"]
        for cell in index.cells.values()
        if "link" in cell.format.get("textFormat", {})
    ]
    assert f"#gid={report.sheet_id}&range=A1" in links
    # a second run replaces the report in place: same sheet id, one chart, the link still right
    again = run_cli("report", "revenue_by_month_region", "--today", TODAY, "--workbook", f"gsheets://{key}",
                    cwd=tmp_path, env=google_env)  # fmt: skip
    assert again.returncode == 0, again.stderr
    rerun = emu.sheet(key, report.title)
    assert rerun.sheet_id == report.sheet_id and len(rerun.charts) == 1


def test_the_run_log_of_a_google_sheet_lives_beside_the_config(
    emu: SheetsEmulator, google_env: dict[str, str], tmp_path: Path
) -> None:
    key = emu.create_spreadsheet("CRM", sheets={"Customers": [["customer_id", "name"], ["C-000001", "  Ann  "]]})
    (tmp_path / "conf").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "conf" / "sheetcrm.toml").write_text(f'workbook = "gsheets://{key}"\n', encoding="utf-8")
    done = run_cli("-c", "../conf/sheetcrm.toml", "tidy", cwd=tmp_path / "elsewhere", env=google_env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "conf" / ".sheetcrm" / "google" / key / "runs.jsonl").is_file()
    assert not (tmp_path / "elsewhere" / ".sheetcrm").exists()
    history = run_cli("-c", "conf/sheetcrm.toml", "history", cwd=tmp_path, env=google_env)
    assert history.returncode == 0 and "tidy" in history.stdout, history.stdout + history.stderr


def test_values_written_before_the_formatting_call_failed_are_a_run_that_can_be_undone(
    emu: SheetsEmulator, google_env: dict[str, str]
) -> None:
    key = emu.create_spreadsheet("CRM", sheets={"Customers": rows(3)})
    workbook = open_google(key)
    table = workbook["Customers"]
    changes = ChangeSet("fix and report")
    changes.edit("Customers", 2, "C", old=table.value(2, "phone"), new="+861380001")
    changes.replace_sheet("_r Summary", [["Summary"], ["customers", 3]])
    emu.faults.fail_after_writes, emu.faults.fail_writes_matching = 1, r"^POST /v4/spreadsheets/[^/]+:batchUpdate$"
    with pytest.raises(PartlyWritten) as stopped:
        workbook.apply(changes)
    assert "the cell values were written" in str(stopped.value) and "sheetcrm undo" in str(stopped.value)
    (run,) = workbook.history()
    assert run.counts == {"edit": 1}
    workbook.undo(run.run_id)
    assert emu.values(key, "Customers")[1][2] == "138 0001"


def test_init_lays_the_crm_sheets_out_in_an_empty_google_sheet_and_never_overwrites(
    emu: SheetsEmulator, google_env: dict[str, str], tmp_path: Path
) -> None:
    key = emu.create_spreadsheet("CRM", sheets={"Sheet1": []})
    done = run_cli("init", f"gsheets://{key}", cwd=tmp_path, env=google_env)
    assert done.returncode == 0, done.stderr
    workbook = open_google(key)
    assert {*CRM_SHEETS, "_lists"} <= set(workbook.sheet_names)
    assert workbook["Customers"].columns[:2] == ["customer_id", "name"] and len(workbook["Customers"]) == 0
    assert any(v["rule"]["condition"]["type"] == "ONE_OF_RANGE" for v in emu.sheet(key, "Customers").validations)
    again = run_cli("init", f"gsheets://{key}", cwd=tmp_path, env=google_env)
    assert again.returncode == 2 and "already has Customers" in again.stderr

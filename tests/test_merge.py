"""sync_workbooks between two real .xlsx files: one-side changes, conflicts, deletions, the base, an interrupted sync."""

from __future__ import annotations

import datetime as dt
import json
import stat
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import write_xlsx

import sheetcrm
from sheetcrm.config import default_config
from sheetcrm.errors import InputError, WorkbookLocked
from sheetcrm.sync.merge import CONFLICTS_SHEET, SyncIncomplete, SyncResult, base_file, sync_workbooks

CONFIG = default_config()
SHEET = "Opportunities"
HEADER = ["opportunity_id", "title", "stage", "amount", "updated_at"]
ROWS: list[list[Any]] = [
    ["OP-000001", "ERP rollout", "lead", 1000, "2024-03-01 09:00"],
    ["OP-000002", "CRM licences", "qualified", 2500.5, "2024-03-01 09:00"],
    ["OP-000003", "Support plan", "proposal", 400, "2024-03-01 09:00"],
]
NOW = dt.datetime(2024, 3, 10, 12, 0, tzinfo=dt.UTC)


class Pair:
    """Two copies of the CRM on disk, and the state folder their base lives in."""

    def __init__(self, folder: Path, rows_a: list[list[Any]], rows_b: list[list[Any]] | None = None) -> None:
        self.a = write_xlsx(folder / "a.xlsx", {SHEET: [HEADER, *rows_a]})
        self.b = write_xlsx(folder / "b.xlsx", {SHEET: [HEADER, *(rows_b if rows_b is not None else rows_a)]})
        self.state = folder / "state"

    def sync(self, **options: Any) -> SyncResult:
        a, b = sheetcrm.open_workbook(self.a), sheetcrm.open_workbook(self.b)
        return sync_workbooks(a, b, CONFIG, state_dir=self.state, now=NOW, **options)

    @property
    def base(self) -> Path:
        return base_file(self.state, str(self.a), str(self.b))

    def bytes(self) -> tuple[bytes, bytes]:
        return self.a.read_bytes(), self.b.read_bytes()


def table(path: Path, sheet: str = SHEET) -> dict[str, dict[str, str]]:
    """A sheet's rows by id (the first column), each as {header: text}."""
    found = sheetcrm.open_workbook(path)[sheet]
    first = found.columns[0]
    return {found.value(r, first): {c: found.value(r, c) for c in found.columns} for r in found.rows}


def edit(path: Path, cell: str, value: Any, sheet: str = SHEET) -> None:
    """Change a cell as a person would (openpyxl, then save)."""
    book = openpyxl.load_workbook(path)
    book[sheet][cell] = value
    book.save(path)


def delete_row(path: Path, row: int, sheet: str = SHEET) -> None:
    book = openpyxl.load_workbook(path)
    book[sheet].delete_rows(row)
    book.save(path)


def append(path: Path, values: list[Any], sheet: str = SHEET) -> None:
    book = openpyxl.load_workbook(path)
    book[sheet].append(values)
    book.save(path)


@pytest.fixture
def synced(tmp_path: Path) -> Pair:
    """Two equal copies, synced once so that a base exists."""
    pair = Pair(tmp_path, ROWS)
    first = pair.sync()
    assert first.first_sync and first.base_saved and not first.conflicts
    assert not first.changes_a and not first.changes_b
    return pair


# -- one side changed ---------------------------------------------------------------------------


def test_a_change_on_one_side_goes_to_the_other_both_ways(synced: Pair) -> None:
    edit(synced.a, "B2", "ERP rollout, phase 2")
    edit(synced.b, "C3", "negotiation")

    result = synced.sync()

    assert result.counts()["to_b"] == {"edited": 1, "appended": 0, "deleted": 0}
    assert result.counts()["to_a"] == {"edited": 1, "appended": 0, "deleted": 0}
    assert result.table("opportunities").unchanged == 1
    assert table(synced.a) == table(synced.b)
    assert table(synced.b)["OP-000001"]["title"] == "ERP rollout, phase 2"
    assert table(synced.a)["OP-000002"]["stage"] == "negotiation"
    assert result.run_id_a and result.run_id_b and not result.conflicts


def test_the_same_change_on_both_sides_writes_nothing(synced: Pair) -> None:
    edit(synced.a, "C2", "won")
    edit(synced.b, "C2", "won")
    before = synced.bytes()

    result = synced.sync()

    assert synced.bytes() == before
    assert not result.changes_a and not result.changes_b and not result.conflicts
    assert result.base_saved  # "won" is what both now agree on
    assert json.loads(synced.base.read_text())["tables"]["opportunities"]["OP-000001"]["stage"] == "won"


def test_a_second_sync_with_nothing_changed_writes_nothing(synced: Pair) -> None:
    edit(synced.a, "B2", "new title")
    synced.sync()
    before, base = synced.bytes(), synced.base.read_bytes()

    result = synced.sync()

    assert synced.bytes() == before and synced.base.read_bytes() == base
    assert not result.changes_a and not result.changes_b
    assert result.run_id_a is None and result.run_id_b is None and not result.base_saved
    assert result.counts()["unchanged"] == 3


# -- both sides changed --------------------------------------------------------------------------


@pytest.mark.parametrize("later", ["a", "b"])
def test_last_writer_wins_by_updated_at(synced: Pair, later: str) -> None:
    edit(synced.a, "D2", 1100)
    edit(synced.a, "E2", "2024-03-05 10:00" if later == "a" else "2024-03-04 10:00")
    edit(synced.b, "D2", 1200)
    edit(synced.b, "E2", "2024-03-05 10:00" if later == "b" else "2024-03-04 10:00")

    result = synced.sync()

    winner = "1100" if later == "a" else "1200"
    assert table(synced.a)["OP-000001"]["amount"] == table(synced.b)["OP-000001"]["amount"] == winner
    assert table(synced.a)["OP-000001"]["updated_at"] == table(synced.b)["OP-000001"]["updated_at"]
    assert result.flatten(["id", "field", "type", "resolved_by"]) == [
        ["OP-000001", "amount", "both-changed", later],
        ["OP-000001", "updated_at", "both-changed", later],
    ]
    assert not result.unresolved
    assert CONFLICTS_SHEET not in sheetcrm.open_workbook(synced.a).sheet_names
    loser = synced.b if later == "a" else synced.a
    assert openpyxl.load_workbook(loser)[SHEET]["D2"].value == int(winner)  # a number, as written


def test_a_tie_is_unresolved_and_listed_on_both_sides(synced: Pair) -> None:
    edit(synced.a, "C4", "won")
    edit(synced.b, "C4", "lost")

    result = synced.sync()

    assert table(synced.a)["OP-000003"]["stage"] == "won"  # both left as they are
    assert table(synced.b)["OP-000003"]["stage"] == "lost"
    (conflict,) = result.unresolved
    assert (conflict.type, conflict.base, conflict.a_value, conflict.b_value) == (
        "both-changed",
        "proposal",
        "won",
        "lost",
    )
    assert (conflict.a_cell, conflict.b_cell) == ("Opportunities!C4", "Opportunities!C4")
    assert "the same updated_at" in conflict.why
    for path in (synced.a, synced.b):
        listed = table(path, CONFLICTS_SHEET)
        assert listed["opportunities"]["id"] == "OP-000003"
        assert listed["opportunities"]["A value"] == "won" and listed["opportunities"]["B value"] == "lost"
        assert listed["opportunities"]["A updated_at"] == "2024-03-01 09:00"

    # the same conflict again: nothing is written, the base is not touched
    before = synced.bytes()
    again = synced.sync()
    assert synced.bytes() == before and len(again.unresolved) == 1 and not again.base_saved

    # a person settles it on one side: the other follows nowhere (they agree), the list goes
    edit(synced.a, "C4", "lost")
    settled = synced.sync()
    assert not settled.conflicts
    for path in (synced.a, synced.b):
        assert CONFLICTS_SHEET not in sheetcrm.open_workbook(path).sheet_names


def test_the_conflicts_policy_resolves_nothing(synced: Pair) -> None:
    edit(synced.a, "B2", "title from A")
    edit(synced.a, "E2", "2024-03-09 10:00")
    edit(synced.b, "B2", "title from B")

    result = synced.sync(policy="conflicts")

    assert table(synced.a)["OP-000001"]["title"] == "title from A"
    assert table(synced.b)["OP-000001"]["title"] == "title from B"
    assert table(synced.b)["OP-000001"]["updated_at"] == "2024-03-09 10:00"  # changed on A only: copied
    assert result.flatten(["field", "resolved_by"]) == [["title", None]]
    assert "conflicts policy" in result.unresolved[0].why
    assert CONFLICTS_SHEET in sheetcrm.open_workbook(synced.b).sheet_names


def test_the_first_sync_treats_every_difference_as_a_conflict(tmp_path: Path) -> None:
    rows_b = [list(row) for row in ROWS]
    rows_b[0][2] = "won"  # same updated_at: a tie
    rows_b[1][1], rows_b[1][4] = "CRM licences 2025", "2024-03-02 09:00"  # later in B
    pair = Pair(tmp_path, ROWS, rows_b[:2])

    result = pair.sync()

    assert result.first_sync
    assert result.flatten(["id", "field", "type", "resolved_by"]) == [
        ["OP-000001", "stage", "differ-without-base", None],
        ["OP-000002", "title", "differ-without-base", "b"],
        ["OP-000002", "updated_at", "differ-without-base", "b"],
    ]
    assert result.counts()["to_b"]["appended"] == 1  # OP-000003, only in A
    assert table(pair.a)["OP-000002"]["title"] == "CRM licences 2025"
    assert table(pair.a)["OP-000001"]["stage"] == "lead" and table(pair.b)["OP-000001"]["stage"] == "won"
    agreed = json.loads(pair.base.read_text())["tables"]["opportunities"]
    assert "stage" not in agreed["OP-000001"]  # disputed: no base for it yet


# -- rows added and deleted -----------------------------------------------------------------------


def test_new_rows_go_both_ways_typed(synced: Pair) -> None:
    append(synced.a, ["OP-000004", "From A", "lead", "750.25", "2024-03-06 08:00"])
    append(synced.b, ["OP-000005", "From B", "qualified", 90, ""])

    result = synced.sync()

    assert result.counts()["to_a"]["appended"] == result.counts()["to_b"]["appended"] == 1
    assert table(synced.a) == table(synced.b)
    assert set(table(synced.a)) == {"OP-000001", "OP-000002", "OP-000003", "OP-000004", "OP-000005"}
    assert openpyxl.load_workbook(synced.b)[SHEET]["D6"].value == 750.25  # money goes as a number


def test_a_row_deleted_on_one_side_is_deleted_on_the_other(synced: Pair) -> None:
    delete_row(synced.a, 2)  # OP-000001
    delete_row(synced.b, 4)  # OP-000003

    result = synced.sync()

    assert result.counts()["to_a"]["deleted"] == result.counts()["to_b"]["deleted"] == 1
    assert set(table(synced.a)) == set(table(synced.b)) == {"OP-000002"}
    assert set(json.loads(synced.base.read_text())["tables"]["opportunities"]) == {"OP-000002"}


def test_deleted_on_one_side_and_changed_on_the_other_is_a_conflict(synced: Pair) -> None:
    delete_row(synced.a, 2)  # OP-000001 gone from A
    edit(synced.b, "C3", "won")  # OP-000002 changed in B: copied to A, row 2 there once the deletion is done
    edit(synced.b, "B2", "ERP rollout, rescoped")  # OP-000001 changed in B

    result = synced.sync()

    (conflict,) = result.conflicts
    assert (conflict.id, conflict.field, conflict.type) == ("OP-000001", "title", "deleted-vs-changed")
    assert (conflict.a_value, conflict.b_value, conflict.a_cell, conflict.b_cell) == (
        None,
        "ERP rollout, rescoped",
        None,
        "Opportunities!B2",
    )
    assert "OP-000001" not in table(synced.a)  # not brought back
    assert table(synced.b)["OP-000001"]["title"] == "ERP rollout, rescoped"  # the changed row stays
    assert table(synced.a)["OP-000002"]["stage"] == "won"
    assert table(synced.b, CONFLICTS_SHEET)["opportunities"]["A value"] == "(deleted)"
    assert synced.sync().unresolved  # still there until a person decides


# -- what is never guessed -----------------------------------------------------------------------


def test_rows_without_an_id_duplicates_and_one_sided_columns_are_reported(tmp_path: Path) -> None:
    pair = Pair(tmp_path, ROWS)
    book = openpyxl.load_workbook(pair.b)
    sheet = book[SHEET]
    sheet["F1"] = "Internal"
    sheet.append(["OP-000002", "a second OP-000002", "lead", 1, ""])
    sheet.append(["", "no id", "lead", 1, ""])
    book.save(pair.b)

    result = pair.sync()

    outcome = result.table("opportunities")
    assert [(s.address, s.reason) for s in outcome.skipped] == [
        ("Opportunities!A3", "duplicate-id"),
        ("Opportunities!A5", "duplicate-id"),
        ("Opportunities!A6", "no-id"),
    ]
    assert outcome.columns_only_b == ["Internal"]
    assert not result.changes_a  # nothing guessed onto A
    assert "OP-000002" not in json.loads(pair.base.read_text())["tables"]["opportunities"]


# -- dry run, the base, and a sync that stops half-way -------------------------------------------


def test_a_dry_run_writes_nothing_and_saves_no_base(tmp_path: Path) -> None:
    pair = Pair(tmp_path, ROWS, ROWS[:2])
    before = pair.bytes()

    result = pair.sync(dry_run=True)

    assert pair.bytes() == before and not pair.base.exists() and not result.base_saved
    assert result.counts()["to_b"]["appended"] == 1
    assert "OP-000003" in result.preview()


def test_the_base_is_readable_by_its_owner_only(synced: Pair) -> None:
    assert stat.S_IMODE(synced.base.stat().st_mode) == 0o600
    data = json.loads(synced.base.read_text())
    assert data["synced_at"] == "2024-03-10T12:00:00+00:00"
    assert data["tables"]["opportunities"]["OP-000002"]["amount"] == "2500.5"


def test_a_sync_stopped_after_a_finishes_on_the_next_run(synced: Pair, tmp_path: Path) -> None:
    edit(synced.a, "B2", "changed in A")  # OP-000001
    edit(synced.b, "C3", "won")  # OP-000002
    delete_row(synced.b, 4)  # OP-000003
    append(synced.b, ["OP-000004", "new in B", "lead", 10, ""])
    base = synced.base.read_bytes()
    b_before = synced.b.read_bytes()
    lock = tmp_path / ".~lock.b.xlsx#"  # B is open in LibreOffice: its write is refused
    lock.write_text("someone,host")

    with pytest.raises(SyncIncomplete) as stopped:
        synced.sync()

    assert isinstance(stopped.value.error, WorkbookLocked)
    assert stopped.value.applied.run_id is not None
    assert synced.b.read_bytes() == b_before and synced.base.read_bytes() == base
    assert set(table(synced.a)) == {"OP-000001", "OP-000002", "OP-000004"}

    lock.unlink()
    finished = synced.sync()

    assert not finished.changes_a and not finished.conflicts
    assert [(line.where, line.after) for line in finished.changes_b.lines()] == [("B2 (title)", "changed in A")]
    assert table(synced.a) == table(synced.b)
    assert not synced.sync().changes_b


def test_a_formula_cell_is_neither_copied_nor_a_conflict(tmp_path: Path) -> None:
    rows_a = [list(row) for row in ROWS]
    rows_a[0][4] = "2024-03-09 09:00"  # A's row is later: A's values win
    pair = Pair(tmp_path, rows_a, ROWS)
    book = openpyxl.load_workbook(pair.b)
    book[SHEET]["D2"] = "=999+1"  # computed in B
    book.save(pair.b)

    result = pair.sync()

    assert result.table("opportunities").formula_cells == ["B: Opportunities!D2"]
    assert result.flatten(["field", "resolved_by"]) == [["updated_at", "a"]]
    assert openpyxl.load_workbook(pair.b)[SHEET]["D2"].value == "=999+1"
    assert table(pair.b)["OP-000001"]["updated_at"] == "2024-03-09 09:00"
    before = pair.bytes()
    again = pair.sync()
    assert not again.changes_a and not again.changes_b and not again.conflicts and pair.bytes() == before


def test_tables_only_one_side_has_are_reported_not_synced(tmp_path: Path) -> None:
    pair = Pair(tmp_path, ROWS)
    write_xlsx(pair.a, {SHEET: [HEADER, *ROWS], "Customers": [["customer_id", "name"], ["C-000001", "Zhang Wei"]]})

    result = pair.sync()

    assert [t.table for t in result.tables] == ["opportunities"]
    assert result.not_synced == {"customers": "the sheet 'Customers' is only in A (push or pull it first)"}
    assert "Customers" not in sheetcrm.open_workbook(pair.b).sheet_names


def test_a_workbook_is_not_synced_with_itself(tmp_path: Path) -> None:
    pair = Pair(tmp_path, ROWS)
    with pytest.raises(InputError, match="the same workbook"):
        sync_workbooks(sheetcrm.open_workbook(pair.a), sheetcrm.open_workbook(pair.a), CONFIG, state_dir=pair.state)


def test_an_xlsx_file_and_a_google_sheet_sync_both_ways(
    emu: Any, google_key: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(google_key))
    monkeypatch.setenv("SHEETCRM_SHEETS_ENDPOINT", emu.base_url)
    monkeypatch.chdir(tmp_path)
    path = write_xlsx(tmp_path / "crm.xlsx", {SHEET: [HEADER, *ROWS]})
    key = emu.create_spreadsheet("CRM", sheets={SHEET: [HEADER, *ROWS[:2]]})
    google = f"gsheets://{key}"

    def sync() -> SyncResult:
        a, b = sheetcrm.open_workbook(path), sheetcrm.open_workbook(google)
        return sync_workbooks(a, b, CONFIG, state_dir=tmp_path / "state", now=NOW)

    assert sync().counts()["to_b"]["appended"] == 1
    edit(path, "B2", "changed in the file")
    emu.set_value(key, SHEET, "C3", "won")

    result = sync()

    assert result.counts()["to_a"]["edited"] == result.counts()["to_b"]["edited"] == 1
    assert table(path) == {
        row[0]: dict(zip(HEADER, [str(v) for v in row], strict=True))
        for row in (
            ["OP-000001", "changed in the file", *ROWS[0][2:]],
            ["OP-000002", "CRM licences", "won", "2500.5", ROWS[1][4]],
            ROWS[2],
        )
    }
    assert emu.values(key, SHEET)[1][1] == "changed in the file"
    assert emu.values(key, SHEET, render="UNFORMATTED_VALUE")[3][3] == 400  # appended as a number
    assert not sync().changes_b


def test_a_time_written_two_ways_is_one_value(tmp_path: Path) -> None:
    rows_b = [list(row) for row in ROWS]
    rows_b[0][4] = "2024-03-01T09:00:00"  # as a typed date reads back from a Google Sheet
    rows_b[1][3] = "2500.50"  # money as text
    pair = Pair(tmp_path, ROWS, rows_b)

    result = pair.sync()

    assert not result.conflicts and not result.changes_a and not result.changes_b


def test_a_conflicts_sheet_spoiled_by_hand_is_written_afresh(synced: Pair) -> None:
    edit(synced.a, "C4", "won")
    edit(synced.b, "C4", "lost")
    synced.sync()
    edit(synced.b, "B1", "table", sheet=CONFLICTS_SHEET)  # two columns headed "table" now

    result = synced.sync()

    assert len(result.unresolved) == 1 and not result.changes_a
    assert table(synced.b, CONFLICTS_SHEET)["opportunities"]["id"] == "OP-000003"

"""ChangeSet semantics, checked on the in-memory reference backend."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from sheetcrm import ChangeSet, InvalidChange, MemoryBackend, Workbook
from sheetcrm.errors import CellConflict
from sheetcrm.sync.a1 import column_letter
from sheetcrm.sync.changeset import ReplaceSheet, SetValidation, ValidationRule

RATING = ValidationRule("whole", "between", "1", "5", error_title="rating", error="Enter a whole number from 1 to 5.")


def grid(rows: int = 6) -> list[list[object]]:
    return [["id", "name", "phone"], *[[f"C-{i:03d}", f"name {i}", f"138{i:08d}"] for i in range(1, rows)]]


def snapshot(backend: MemoryBackend) -> dict[str, object]:
    return {
        name: (
            sheet.raw().rows,
            dict(sheet.notes),
            dict(sheet.fills),
            dict(sheet.formats),
            dict(sheet.dropdowns),
            dict(sheet.validations),
            dict(sheet.column_formats),
            sheet.hidden,
        )
        for name, sheet in backend.book.sheets.items()
    }


def test_preview_lists_each_cell_and_row() -> None:
    changes = ChangeSet("demo")
    changes.edit("Customers", 14, "E", old="138 0013 8000", new="+8613800138000", field="phone")
    changes.append("Customers", [{"A": "C-9", "B": "Li Na"}])
    changes.delete("Customers", {3: {"A": "C-2", "B": "Wang Fang"}})
    text = changes.preview()
    assert "E14 (phone)" in text and "+8613800138000" in text
    assert "append" in text and "C-9, Li Na" in text
    assert "row 3" in text and "delete" in text
    assert changes.counts() == {"edit": 1, "append": 1, "delete": 1}
    assert [line.action for line in changes.lines()] == ["edit", "append", "delete"]


def test_preview_of_nothing() -> None:
    assert ChangeSet().preview() == "no changes"


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda c: (c.edit("S", 2, "A", old="x", new="y"), c.delete("S", {2: {"A": "x"}})), "deleted by the same"),
        (lambda c: (c.edit("S", 2, "A", old="x", new="y"), c.edit("S", 2, "A", old="x", new="z")), "two edit"),
        (lambda c: (c.replace_sheet("S", [["a"]]), c.edit("S", 2, "A", old="x", new="y")), "replaced sheet"),
        (lambda c: (c.delete("S", {2: {}}), c.delete("S", {2: {}})), "deleted twice"),
    ],
)
def test_contradictions_are_refused(build: object, message: str) -> None:
    changes = ChangeSet()
    build(changes)  # type: ignore[operator]
    with pytest.raises(InvalidChange, match=message):
        changes.check()


def test_bad_column_and_colour_are_refused() -> None:
    with pytest.raises(ValueError, match="not a column"):
        ChangeSet().edit("S", 2, "A1", old="", new="x")
    with pytest.raises(InvalidChange, match="RGB"):
        ChangeSet().fill("S", 2, "A", "yellow")


def test_json_round_trip_keeps_types() -> None:
    changes = ChangeSet("types")
    changes.edit("S", 2, "A", old="", new=dt.date(2024, 2, 29))
    changes.edit("S", 3, "A", old="", new=dt.datetime(2024, 2, 29, 8, 30))
    changes.edit("S", 4, "A", old="", new=274.66)
    changes.edit("S", 5, "A", old="", new="00123")
    changes.edit("S", 6, "A", old="", new=True)
    changes.dropdown("S", "B2:B100", choices=["VIP", "Key"])
    changes.validation("S", "C2:C1048576", rule=RATING)
    changes.add(SetValidation("S", "D2:D1048576", None, old=ValidationRule("date", "greaterThan", "45292")))
    changes.replace_sheet("R", [["a", 1], ["b", None]], freeze="A2", column_widths={"A": 20}, hidden=True)
    again = ChangeSet.from_json(changes.to_json())
    assert again.to_json() == changes.to_json()
    assert again.changes[5:] == changes.changes[5:]  # rules come back as ValidationRules
    assert isinstance(again.changes[7], SetValidation) and again.changes[7].old == ValidationRule(
        "date", "greaterThan", "45292"
    )
    assert isinstance(again.changes[8], ReplaceSheet) and again.changes[8].hidden
    assert [c.new for c in again.changes[:5]] == [  # type: ignore[union-attr]
        dt.date(2024, 2, 29),
        dt.datetime(2024, 2, 29, 8, 30),
        274.66,
        "00123",
        True,
    ]


def test_conflicting_cell_is_refused_and_nothing_changes() -> None:
    backend = MemoryBackend({"S": grid()})
    before = snapshot(backend)
    changes = ChangeSet()
    changes.edit("S", 2, "B", old="name 1", new="ok")
    changes.edit("S", 3, "B", old="someone else's", new="lost update")
    with pytest.raises(CellConflict) as raised:
        Workbook(backend).apply(changes)
    assert raised.value.cells == ["S!B3"]
    assert snapshot(backend) == before


def test_invert_needs_an_applied_changeset() -> None:
    with pytest.raises(InvalidChange, match="applied"):
        ChangeSet().invert()


def test_rows_are_numbered_as_read() -> None:
    backend = MemoryBackend({"S": grid()})
    changes = ChangeSet()
    changes.edit("S", 5, "B", old="name 4", new="edited")  # row 5 as read, row 4 after the deletion
    changes.delete("S", {2: {"A": "C-001"}})
    changes.append("S", [{"A": "C-100"}])
    result = Workbook(backend).apply(changes)
    rows = backend.book.sheets["S"].raw().rows
    assert rows[3][1] == "edited"
    assert rows[-1][0] == "C-100"
    assert result.changes.changes[2].first_row == 6  # type: ignore[union-attr]


def random_changeset(rng: random.Random, backend: MemoryBackend) -> ChangeSet:
    sheet = backend.book.sheets["S"]
    rows = sheet.raw().rows
    changes = ChangeSet("random")
    candidates = list(range(2, len(rows) + 1))
    rng.shuffle(candidates)
    deleted = set(candidates[: rng.randint(0, 3)])
    if deleted:
        changes.delete(
            "S", {r: {column_letter(c + 1): v for c, v in enumerate(rows[r - 1]) if v != ""} for r in deleted}
        )
    for row in candidates[3:9]:
        if row in deleted:
            continue
        column = rng.randint(1, 4)
        old = rows[row - 1][column - 1] if column - 1 < len(rows[row - 1]) else ""
        kind = rng.choice(["edit", "note", "fill", "format"])
        if kind == "edit":
            changes.edit("S", row, column_letter(column), old=old, new=rng.choice(["x", 5, 2.5, None, "=1+1"]))
        elif kind == "note":
            changes.note("S", row, column_letter(column), rng.choice(["a note", None]))
        elif kind == "fill":
            changes.fill("S", row, column_letter(column), rng.choice(["FFF2CC", None]))
        else:
            changes.number_format("S", row, column_letter(column), "@")
    if rng.random() < 0.5:
        changes.append("S", [{"A": f"new {i}", "C": i} for i in range(rng.randint(1, 3))])
    if rng.random() < 0.3:
        changes.replace_sheet("Report", [["k", "v"], ["a", rng.randint(0, 9)]], hidden=rng.random() < 0.5)
    if rng.random() < 0.3:
        changes.replace_sheet("_lists", [["S.tier"], ["VIP"]], hidden=rng.random() < 0.5)
    if rng.random() < 0.3:
        changes.dropdown("S", "D2:D100", choices=["VIP", "Key", "Standard"])
    if rng.random() < 0.5:
        changes.validation("S", rng.choice(["B2:B1048576", "C2:C1048576"]), rule=rng.choice([RATING, None]))
    return changes


@pytest.mark.parametrize("seed", range(40))
def test_invert_restores_exactly(seed: int) -> None:
    rng = random.Random(seed)
    backend = MemoryBackend({"S": grid(12), "_lists": [["S.tier"], ["Gold"]]})
    backend.book.sheets["S"].notes[(4, 2)] = "team note"
    backend.book.sheets["S"].fills[(5, 1)] = "FF0000"
    backend.book.sheets["S"].validations["C2:C1048576"] = ValidationRule("decimal", "greaterThan", "0")
    backend.book.sheets["S"].column_formats[3] = "@"
    backend.book.sheets["_lists"].hidden = True
    workbook = Workbook(backend)
    before = snapshot(backend)
    result = workbook.apply(random_changeset(rng, backend))
    restored = ChangeSet.from_json(result.changes.to_json()).invert()
    workbook.apply(restored)
    assert snapshot(backend) == before


def test_a_validation_is_checked_previewed_and_undone() -> None:
    changes = ChangeSet()
    changes.validation("S", "C2:C1048576", rule=ValidationRule("date", "between", "1", "109939"))
    changes.validation("S", "D2:D1048576", rule=ValidationRule("decimal", "greaterThanOrEqual", "0"))
    changes.validation("S", "E2:E9", rule=None)
    assert [(line.where, line.action, line.before, line.after) for line in changes.lines()] == [
        ("C2:C1048576", "validation", "", "date between 1900-01-01 and 2200-12-31"),
        ("D2:D1048576", "validation", "", "number ≥ 0"),
        ("E2:E9", "validation", "", "(removed)"),
    ]
    assert changes.counts() == {"validation": 3}
    backend = MemoryBackend({"S": grid()})
    backend.book.sheets["S"].validations["E2:E9"] = RATING
    result = Workbook(backend).apply(changes)
    assert result.changes.lines()[2].before == "whole number between 1 and 5"
    sheet = backend.book.sheets["S"]
    assert set(sheet.validations) == {"C2:C1048576", "D2:D1048576"}
    Workbook(backend).apply(result.changes.invert())
    assert backend.book.sheets["S"].validations == {"E2:E9": RATING}


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (ValidationRule("list", "between", "1", "2"), "unknown validation type 'list'"),  # type: ignore[arg-type]
        (ValidationRule("whole", "about", "1"), "unknown operator 'about'"),  # type: ignore[arg-type]
        (ValidationRule("whole", "between", "1"), "takes two values"),
        (ValidationRule("whole", "greaterThan", "1", "2"), "takes one value"),
        (ValidationRule("date", "greaterThan", ""), "needs formula1"),
        (ValidationRule("decimal", "greaterThan", "0", error_title="x" * 33), "error titles of 32"),
    ],
)
def test_a_rule_excel_would_not_take_is_refused(rule: ValidationRule, message: str) -> None:
    changes = ChangeSet()
    changes.validation("S", "C2:C9", rule=rule)
    with pytest.raises(InvalidChange, match=message):
        changes.check()


def test_two_validations_on_one_range_are_refused() -> None:
    changes = ChangeSet()
    changes.validation("S", "C2:C9", rule=RATING)
    changes.validation("S", "C2:C9", rule=None)
    with pytest.raises(InvalidChange, match="two validations for C2:C9"):
        changes.check()


def test_a_hidden_sheet_and_its_undo() -> None:
    backend = MemoryBackend({"S": grid(), "_lists": [["old"]]})
    backend.book.sheets["_lists"].hidden = True
    changes = ChangeSet()
    changes.replace_sheet("_lists", [["new"]])  # replaced visible: hiding is asked for, never kept
    changes.replace_sheet("_report", [["k"]], hidden=True)
    result = Workbook(backend).apply(changes)
    assert "1 rows, hidden" in result.preview()
    assert not backend.book.sheets["_lists"].hidden and backend.book.sheets["_report"].hidden
    Workbook(backend).apply(result.changes.invert())
    assert list(backend.book.sheets) == ["S", "_lists"] and backend.book.sheets["_lists"].hidden
    only = ChangeSet()
    only.replace_sheet("S", [["a"]], hidden=True)
    with pytest.raises(InvalidChange, match="no visible sheet"):
        Workbook(MemoryBackend({"S": grid()})).apply(only)


def test_appended_cells_take_their_columns_format() -> None:
    backend = MemoryBackend({"S": [["id", "phone", "birthday", "name"]]})
    sheet = backend.book.sheets["S"]
    sheet.column_formats.update({1: "@", 2: "@", 3: "yyyy-mm-dd"})
    changes = ChangeSet()
    changes.append("S", [{"A": "C-1", "B": "00123", "C": dt.date(2024, 2, 29), "D": "Li Na"}, {"B": "+86 138"}])
    Workbook(backend).apply(changes)
    sheet = backend.book.sheets["S"]
    assert sheet.formats == {(2, 1): "@", (2, 2): "@", (2, 3): "yyyy-mm-dd", (3, 2): "@"}
    assert sheet.raw().rows[1:] == [["C-1", "00123", "2024-02-29", "Li Na"], ["", "+86 138"]]

"""ChangeSet semantics, checked on the in-memory reference backend."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from sheetcrm import ChangeSet, InvalidChange, MemoryBackend, Workbook
from sheetcrm.errors import CellConflict
from sheetcrm.sync.a1 import column_letter


def grid(rows: int = 6) -> list[list[object]]:
    return [["id", "name", "phone"], *[[f"C-{i:03d}", f"name {i}", f"138{i:08d}"] for i in range(1, rows)]]


def snapshot(backend: MemoryBackend) -> dict[str, object]:
    return {
        name: (sheet.raw().rows, dict(sheet.notes), dict(sheet.fills), dict(sheet.formats), dict(sheet.dropdowns))
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
    changes.replace_sheet("R", [["a", 1], ["b", None]], freeze="A2", column_widths={"A": 20})
    again = ChangeSet.from_json(changes.to_json())
    assert again.to_json() == changes.to_json()
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
        changes.replace_sheet("Report", [["k", "v"], ["a", rng.randint(0, 9)]])
    if rng.random() < 0.3:
        changes.dropdown("S", "D2:D100", choices=["VIP", "Key", "Standard"])
    return changes


@pytest.mark.parametrize("seed", range(40))
def test_invert_restores_exactly(seed: int) -> None:
    rng = random.Random(seed)
    backend = MemoryBackend({"S": grid(12)})
    backend.book.sheets["S"].notes[(4, 2)] = "team note"
    backend.book.sheets["S"].fills[(5, 1)] = "FF0000"
    workbook = Workbook(backend)
    before = snapshot(backend)
    result = workbook.apply(random_changeset(rng, backend))
    restored = ChangeSet.from_json(result.changes.to_json()).invert()
    workbook.apply(restored)
    assert snapshot(backend) == before

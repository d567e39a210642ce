"""CSV files as one-sheet workbooks: read as text, written safely with the injection guard."""

from __future__ import annotations

from pathlib import Path

import pytest

import sheetcrm
from sheetcrm import ChangeSet, InvalidChange


def test_csv_read_edit_undo(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_bytes("customer_id,name,phone\r\n00123,张伟,+8613800138000\r\nC-2,NA,null\r\n".encode("gb18030"))
    workbook = sheetcrm.open_workbook(path)
    assert workbook.sheet_names == ["customers"]
    table = workbook["customers"]
    assert table.frame.to_dict("list") == {
        "customer_id": ["00123", "C-2"],
        "name": ["张伟", "NA"],
        "phone": ["+8613800138000", "null"],
    }
    changes = ChangeSet()
    changes.edit("customers", 3, "B", old="NA", new='=HYPERLINK("http://x")')
    changes.append("customers", [{"A": "C-3", "B": "Li Na", "C": "-5"}])
    run = workbook.apply(changes)
    text = path.read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text and "C-3,Li Na,-5" in text
    assert list((tmp_path / ".sheetcrm" / "backups").iterdir())

    sheetcrm.open_workbook(path).undo(run.run_id or "")
    again = sheetcrm.open_workbook(path)["customers"]
    assert again.frame.to_dict("list")["name"] == ["张伟", "NA"]


def test_csv_cannot_hold_notes(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    changes = ChangeSet()
    changes.note("c", 2, "A", "hello")
    with pytest.raises(InvalidChange, match="cannot hold note"):
        sheetcrm.open_workbook(path).apply(changes)


def test_csv_refuses_when_open_in_excel(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    (tmp_path / "~$c.csv").write_text("")
    changes = ChangeSet()
    changes.edit("c", 2, "A", old="1", new="3")
    with pytest.raises(sheetcrm.WorkbookLocked):
        sheetcrm.open_workbook(path).apply(changes)

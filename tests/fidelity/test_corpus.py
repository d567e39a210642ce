"""The fidelity corpus is there, matches manifest.json, and reads back as the CRM data make_corpus.py wrote.

Opening with soffice is left to `python tests/fidelity/make_corpus.py --check` (about a minute for the corpus).
"""

from __future__ import annotations

import datetime as dt
import json
import warnings
import zipfile
from pathlib import Path
from typing import Any

import make_corpus as mc
import openpyxl
import pytest
import python_calamine

HERE = Path(__file__).resolve().parent
MANIFEST: dict[str, dict[str, Any]] = json.loads((HERE / "manifest.json").read_text(encoding="utf-8"))


def as_date(v: Any) -> Any:
    return v.date() if isinstance(v, dt.datetime) else v


def test_manifest_covers_the_corpus() -> None:
    on_disk = {p.name for p in (HERE / "corpus").iterdir()}
    assert on_disk == set(MANIFEST)
    assert len(MANIFEST) >= 20
    assert {s.filename for s in mc.SPECS} == set(MANIFEST)
    assert {e["maker"] for e in MANIFEST.values()} >= {"xlsxwriter", "openpyxl", "libreoffice"}


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_corpus_file(name: str) -> None:
    entry = MANIFEST[name]
    path = HERE / "corpus" / name
    assert path.stat().st_size < 200_000
    assert zipfile.is_zipfile(path)
    assert mc.workbook_sheets(path) == entry["sheets"]
    assert entry["data_sheet"] == "Customers" and "Customers" in entry["sheets"]
    assert 30 <= entry["rows"] <= 200

    expected = mc.customers(entry["rows"])
    hr = entry["header_row"]

    with warnings.catch_warnings():  # openpyxl warns about x14 extensions it drops; that is its business
        warnings.simplefilter("ignore")
        wb = openpyxl.load_workbook(path)
    ws = wb["Customers"]
    assert [c.value for c in ws[hr]][: len(mc.HEADER)] == mc.HEADER
    first = [c.value for c in ws[hr + 1]]
    assert first[0] == "000001"
    assert first[1] == expected[0].name
    assert as_date(first[5]) == expected[0].created_at

    cal = python_calamine.CalamineWorkbook.from_path(str(path))
    assert cal.sheet_names == entry["sheets"]
    data = cal.get_sheet_by_name("Customers").to_python(skip_empty_area=False)
    assert data[hr - 1][: len(mc.HEADER)] == mc.HEADER
    body = data[hr : hr + entry["rows"]]
    assert [r[0] for r in body] == [c.customer_id for c in expected]
    assert [r[1] for r in body] == [c.name for c in expected]
    assert [as_date(r[5]) for r in body] == [c.created_at for c in expected]
    assert [r[6] for r in body] == pytest.approx([c.amount for c in expected])

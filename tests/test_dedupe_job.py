"""The dedupe job on real workbooks: merges, repointing, the archive, the review sheet, undo, the CLI."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import openpyxl
import pytest
from conftest import run_cli

import sheetcrm
from sheetcrm.dedupe.find import find_records
from sheetcrm.dedupe.job import ARCHIVE_SHEET, REVIEW_SHEET, dedupe, plan_dedupe
from sheetcrm.sample import write_sample_workbook

TODAY = dt.date(2026, 11, 22)


@pytest.fixture
def sample(tmp_path: Path) -> tuple[Path, set[str]]:
    """The sample workbook (1,000 customers, 30 planted duplicates): the path and the duplicates' ids."""
    path = tmp_path / "crm.xlsx"
    summary = write_sample_workbook(path, customers=1000, seed=7, today=TODAY)
    customers = sheetcrm.open_workbook(path)["Customers"]
    rows = [int(re.sub(r"\D", "", ref)) for ref in summary.planted["duplicate"]]
    duplicates = {customers.value(row, "customer_id") for row in rows}
    return path, duplicates


def records(path: Path, sheet: str) -> list[dict[str, str]]:
    table = sheetcrm.open_workbook(path)[sheet]
    return [{c: table.value(row, c) for c in table.columns} for row in table.rows]


def test_planted_duplicates_are_merged_and_everything_points_at_the_survivor(
    sample: tuple[Path, set[str]],
) -> None:
    path, duplicates = sample
    before = records(path, "Customers")
    orders_before = records(path, "Orders")
    plan, result = dedupe(sheetcrm.open_workbook(path), today=TODAY)
    assert result.run_id == plan.run_id and len(plan.merged) == len(duplicates) == 30
    after = records(path, "Customers")
    gone = {r["customer_id"] for r in before} - {r["customer_id"] for r in after}
    assert gone == duplicates  # the copies go; the originals, entered first, survive
    assert len(after) == len(before) - 30

    archive = records(path, ARCHIVE_SHEET)
    assert {r["customer_id"] for r in archive} == duplicates
    assert {r["run_id"] for r in archive} == {plan.run_id} and {r["merged_at"] for r in archive} == {"2026-11-22"}
    survivors = {r["customer_id"] for r in after}
    assert all(r["merged_into"] in survivors for r in archive)

    orders = records(path, "Orders")
    assert len(orders) == len(orders_before)
    assert not {o["customer_id"] for o in orders} & duplicates  # repointed
    moved = [(a, b) for a, b in zip(orders_before, orders, strict=True) if a["customer_id"] != b["customer_id"]]
    merged_into = {r["customer_id"]: r["merged_into"] for r in archive}
    assert moved and all(merged_into[a["customer_id"]] == b["customer_id"] for a, b in moved)

    # the survivor keeps the most recent values, the oldest id, and every tag
    cluster = plan.merged[0]
    survivor = next(r for r in after if r["customer_id"] == cluster.survivor_id)
    copies = [r for r in archive if r["merged_into"] == cluster.survivor_id]
    assert survivor["created_at"] <= min(c["created_at"] for c in copies)

    sheetcrm.open_workbook(path).undo(plan.run_id)
    assert records(path, "Customers") == before
    assert records(path, "Orders") == orders_before
    assert ARCHIVE_SHEET not in openpyxl.load_workbook(path).sheetnames


def test_a_dry_run_writes_nothing(sample: tuple[Path, set[str]]) -> None:
    path, duplicates = sample
    before = path.read_bytes()
    plan, result = dedupe(sheetcrm.open_workbook(path), dry_run=True, today=TODAY)
    assert result.dry_run and path.read_bytes() == before
    assert plan.changes.counts()["delete"] == len(duplicates)
    assert "delete" in result.preview()


def write_customers(path: Path, rows: list[list[str]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Customers"
    sheet.append(["customer_id", "name", "company", "phone", "email", "city", "created_at"])
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_doubtful_pairs_go_to_review_and_the_next_run_honours_the_decisions(tmp_path: Path) -> None:
    path = write_customers(
        tmp_path / "crm.xlsx",
        [
            ["C-1", "Wang Fang", "Acme Ltd", "", "", "Shanghai", "2024-01-01"],
            ["C-2", "Fang Wang", "", "", "", "Shanghai", "2024-05-01"],  # same name, little else: review
            ["C-3", "Li Na", "Beta Co", "+8613800138000", "li.na@example.com", "Beijing", "2024-02-01"],
            ["C-4", "Zhao Lei", "Gamma", "+8613900139000", "", "Beijing", "2024-02-01"],
            ["C-5", "Zhao Lei", "", "", "", "Beijing", "2024-03-01"],  # review too
        ],
    )
    plan = plan_dedupe(sheetcrm.open_workbook(path), today=TODAY)
    assert not plan.merged and len(plan.review) == 2
    sheetcrm.open_workbook(path).apply(plan.changes, run_id=plan.run_id)
    review = sheetcrm.open_workbook(path)[REVIEW_SHEET]
    assert list(review.frame["pair"]) == ["C-1 | C-2", "C-4 | C-5"]
    book = openpyxl.load_workbook(path)
    assert [(str(v.sqref), v.formula1) for v in book[REVIEW_SHEET].data_validations.dataValidation] == [
        ("B2:B3", '"merge,keep apart"')
    ]

    decide = sheetcrm.ChangeSet("a person decides")
    decide.edit(REVIEW_SHEET, 2, "B", old="", new="merge")
    decide.edit(REVIEW_SHEET, 3, "B", old="", new="keep apart")
    sheetcrm.open_workbook(path).apply(decide)

    plan, _ = dedupe(sheetcrm.open_workbook(path), today=TODAY)
    assert [[ident for _, ident in cluster.members] for cluster in plan.merged] == [["C-1", "C-2"]]
    customers = records(path, "Customers")
    assert [c["customer_id"] for c in customers] == ["C-1", "C-3", "C-4", "C-5"]
    assert customers[0]["company"] == "Acme Ltd"  # an empty value never wins
    review = records(path, REVIEW_SHEET)
    assert [(r["pair"], r["decision"]) for r in review] == [("C-4 | C-5", "keep apart")]  # still honoured

    plan = plan_dedupe(sheetcrm.open_workbook(path), today=TODAY)
    assert not plan.merged and not plan.review and plan.kept_apart == 1


def test_find_looks_up_as_a_person_would(sample: tuple[Path, set[str]]) -> None:
    path, _ = sample
    workbook = sheetcrm.open_workbook(path)
    customers = workbook["Customers"]
    row = customers.rows[10]
    name, phone, email = (customers.value(row, f) for f in ("name", "phone", "email"))
    digits = re.sub(r"\D", "", phone)
    for query in (name, " ".join(reversed(name.split())) if " " in name else name, digits[-11:], email.upper()):
        found = find_records(workbook, query, limit=5)
        assert row in [match.row for match in found], query


def test_the_cli_prints_clusters_as_json_and_finds(sample: tuple[Path, set[str]]) -> None:
    path, duplicates = sample
    done = run_cli("dedupe", str(path), "--dry-run", "--format", "json", "--today", "2026-11-22", cwd=path.parent)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["dry_run"] is True and len(payload["merged"]) == 30
    cluster = payload["merged"][0]
    assert {"survivor", "members", "pairs"} <= set(cluster)
    assert cluster["pairs"][0]["reasons"] and 0 < cluster["pairs"][0]["score"] <= 1
    assert {m["id"] for c in payload["merged"] for m in c["members"]} >= duplicates

    done = run_cli("dedupe", str(path), "--today", "2026-11-22", cwd=path.parent)
    assert done.returncode == 0, done.stderr
    assert "30 duplicate groups merged (30 rows into their survivors)" in done.stdout
    assert "undo with: sheetcrm undo" in done.stdout

    customers = sheetcrm.open_workbook(path)["Customers"]
    name = customers.value(customers.rows[0], "name")
    done = run_cli("find", name, str(path), cwd=path.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Customers!{customers.rows[0]}  ")

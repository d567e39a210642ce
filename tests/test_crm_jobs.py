"""The CRM jobs written into real workbooks: roll-ups."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import openpyxl
from conftest import run_cli

import sheetcrm
from sheetcrm.config import Config, RollupsConfig, SegmentsConfig, TagRuleConfig
from sheetcrm.jobs.crm.rollup_job import plan_rollups, rollups
from sheetcrm.jobs.crm.segment_job import plan_segments, segment
from sheetcrm.jobs.crm.stale_job import stale
from sheetcrm.sample import write_sample_workbook

TODAY = dt.date(2026, 11, 22)


def test_rollups_add_columns_hold_numbers_and_dates_and_a_rerun_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "crm.xlsx"
    write_sample_workbook(path, customers=200, seed=7, today=TODAY)
    before = sheetcrm.open_workbook(path)["Customers"]
    result = rollups(sheetcrm.open_workbook(path), today=TODAY)
    assert result.run_id is not None
    customers = sheetcrm.open_workbook(path)["Customers"]
    assert customers.columns[: len(before.columns)] == before.columns
    assert customers.columns[len(before.columns) :][:3] == ["order_count", "first_order", "last_order"]

    # an independent count: orders per customer id, cancelled and returned ones too (order_count counts the rest)
    orders = sheetcrm.open_workbook(path)["Orders"]
    counted: dict[str, int] = {}
    for row in orders.rows:
        if orders.value(row, "status").strip().lower() not in ("cancelled", "returned") and orders.value(
            row, "order_date"
        ) <= str(TODAY):
            counted[orders.value(row, "customer_id").strip().upper()] = (
                counted.get(orders.value(row, "customer_id").strip().upper(), 0) + 1
            )
    for row in customers.rows[:60]:
        ident = customers.value(row, "customer_id").strip().upper()
        assert customers.value(row, "order_count") == str(counted.get(ident, 0)), row

    sheet = openpyxl.load_workbook(path)["Customers"]
    letter = customers.letter("order_count")
    assert isinstance(sheet[f"{letter}2"].value, int)  # numbers a spreadsheet can sum, not text
    first = customers.letter("first_order")
    assert any(sheet[f"{first}{row}"].is_date for row in range(2, 40))

    assert len(plan_rollups(sheetcrm.open_workbook(path), today=TODAY)) == 0  # idempotent
    sheetcrm.open_workbook(path).undo(result.run_id)
    assert sheetcrm.open_workbook(path)["Customers"].columns == before.columns


def test_the_cli_previews_rollups(tmp_path: Path) -> None:
    path = tmp_path / "crm.xlsx"
    write_sample_workbook(path, customers=50, seed=7, today=TODAY)
    before = path.read_bytes()
    done = run_cli("rollups", str(path), "--today", "2026-11-22", "--dry-run", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "order_count" in done.stdout and "dry run: nothing was written" in done.stdout
    assert path.read_bytes() == before


def test_segments_are_written_and_agree_with_the_roll_ups(tmp_path: Path) -> None:
    path = tmp_path / "crm.xlsx"
    write_sample_workbook(path, customers=200, seed=7, today=TODAY)
    rollups(sheetcrm.open_workbook(path), today=TODAY)
    result = segment(sheetcrm.open_workbook(path), today=TODAY)
    assert result.run_id is not None
    customers = sheetcrm.open_workbook(path)["Customers"]
    assert {"lifecycle", "rfm_r", "rfm_f", "rfm_m", "rfm_segment"} <= set(customers.columns)
    for row in customers.rows:
        stage, count = customers.value(row, "lifecycle"), customers.value(row, "order_count")
        assert (stage == "prospect") == (count == "0"), row
        assert (customers.value(row, "rfm_segment") == "") == (count == "0"), row
        if count != "0":
            assert customers.value(row, "rfm_r") in {"1", "2", "3", "4", "5"}
    assert len(plan_segments(sheetcrm.open_workbook(path), today=TODAY)) == 0  # idempotent
    done = run_cli("segment", str(path), "--today", "2026-11-23", "--dry-run", cwd=tmp_path)
    assert done.returncode == 0, done.stderr


def test_stale_rows_are_marked_highlighted_and_cleared_once_fresh(tmp_path: Path) -> None:
    path = tmp_path / "crm.xlsx"
    write_sample_workbook(path, customers=200, seed=7, today=TODAY)
    report, result = stale(sheetcrm.open_workbook(path), today=TODAY)
    assert result.run_id is not None and report.findings
    customers = sheetcrm.open_workbook(path)["Customers"]
    marked = {row for row in customers.rows if customers.value(row, "stale")}
    assert marked == {f.row for f in report.findings if f.sheet == "Customers"}
    letter = customers.letter("stale")
    sheet = openpyxl.load_workbook(path)["Customers"]
    row = min(marked)
    assert sheet[f"{letter}{row}"].fill.fgColor.rgb.endswith("FFEB9C")

    # touched today: fresh again, its mark and highlight go
    fresh = sheetcrm.ChangeSet("called")
    fresh.edit("Customers", row, customers.letter("last_contact"), old=customers.value(row, "last_contact"), new=TODAY)
    fresh.edit("Customers", row, customers.letter("phone"), old=customers.value(row, "phone"), new="+8613800138000")
    sheetcrm.open_workbook(path).apply(fresh)
    report, _ = stale(sheetcrm.open_workbook(path), today=TODAY)
    customers = sheetcrm.open_workbook(path)["Customers"]
    assert customers.value(row, "stale") == "" and row not in {f.row for f in report.findings if f.sheet == "Customers"}
    assert openpyxl.load_workbook(path)["Customers"][f"{letter}{row}"].fill.fill_type is None

    done = run_cli("stale", str(path), "--today", "2026-11-22", "--dry-run", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert re.search(r"\d+ stale: \d+ ", done.stdout)


def test_figures_go_under_the_team_s_own_headers_and_tag_rules_fill_tags_auto(tmp_path: Path) -> None:
    path = tmp_path / "crm.xlsx"
    write_sample_workbook(path, customers=120, seed=7, today=TODAY)
    settings = Config(
        # the sample has two currencies: total_spent is per currency
        rollups=RollupsConfig(columns={"order_count": "订单数", "total_spent_CNY": "累计消费"}),
        segments=SegmentsConfig(
            columns={"lifecycle": "生命周期"},
            tags=[TagRuleConfig(tag="high value", field="total_spent_CNY", op=">=", value=5000)],
        ),
    )
    rollups(sheetcrm.open_workbook(path), config=settings, today=TODAY)
    segment(sheetcrm.open_workbook(path), config=settings, today=TODAY)
    customers = sheetcrm.open_workbook(path)["Customers"]
    assert {"订单数", "累计消费", "生命周期", "tags_auto"} <= set(customers.columns)
    assert "order_count" not in customers.columns and "lifecycle" not in customers.columns
    for row in customers.rows:
        spent = customers.value(row, "累计消费")
        assert (customers.value(row, "tags_auto") == "high value") == (spent != "" and float(spent) >= 5000), row
    assert any(customers.value(row, "tags_auto") for row in customers.rows)
    assert len(plan_rollups(sheetcrm.open_workbook(path), config=settings, today=TODAY)) == 0
    assert len(plan_segments(sheetcrm.open_workbook(path), config=settings, today=TODAY)) == 0

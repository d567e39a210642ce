"""Survivorship: which value a merged customer keeps, field by field."""

from __future__ import annotations

import pytest

from sheetcrm.dedupe.survivorship import merge_values, oldest_first, recency_order
from sheetcrm.errors import InputError

OLD = {
    "customer_id": "C-0001",
    "name": "Zhang Wei",
    "phone": "+8613800138000",
    "email": "",
    "tags": "vip; wechat",
    "notes": "met at the fair",
    "created_at": "2021-03-01",
    "last_contact": "2023-01-10",
}
NEW = {
    "customer_id": "C-0950",
    "name": "张伟",
    "phone": "",
    "email": "zhang.wei@example.com",
    "tags": "VIP, referral",
    "notes": "asked for a quote",
    "created_at": "2024-06-01",
    "last_contact": "2024-06-02",
}


def test_the_master_is_the_most_recently_touched_and_an_empty_value_never_wins() -> None:
    merged = merge_values([OLD, NEW], {})
    assert merged["name"] == "张伟"  # the master's
    assert merged["phone"] == "+8613800138000"  # the master has none: the next most recent
    assert merged["email"] == "zhang.wei@example.com"
    assert merged["last_contact"] == "2024-06-02"


def test_the_oldest_id_survives_tags_are_unioned_and_notes_joined() -> None:
    merged = merge_values([NEW, OLD], {})
    assert merged["customer_id"] == "C-0001" and merged["created_at"] == "2021-03-01"
    assert merged["tags"] == "vip, wechat, referral"  # each once, case-folded, oldest first
    assert merged["notes"] == "asked for a quote | met at the fair"


def test_rules_are_configurable_per_field() -> None:
    merged = merge_values(
        [OLD, NEW], {"name": "oldest", "notes": "longest", "phone": "most_complete", "customer_id": "master"}
    )
    assert merged["name"] == "Zhang Wei"
    assert merged["notes"] == "asked for a quote"
    assert merged["customer_id"] == "C-0950"
    with pytest.raises(InputError, match="unknown rule 'newest'"):
        merge_values([OLD, NEW], {"name": "newest"})


def test_order_without_dates_follows_the_rows() -> None:
    records = [{"name": "a"}, {"name": "b"}, {"name": "c", "created_at": "2020-01-01"}]
    assert recency_order(records) == [2, 1, 0]  # touched first, then the later rows
    assert oldest_first(records) == [2, 0, 1]  # dated first, then in row order
    assert merge_values(records, {}, fields=["name", "phone"]) == {"name": "c"}

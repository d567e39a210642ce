"""Which value survives when duplicate customers are merged: one rule per field.

The records of a cluster are ordered by how recently each was touched (the latest of its
``last_contact``, ``updated_at`` and ``created_at``; a later row wins a tie, as the one entered
later); the first is the *master*. An empty value never wins. By default every field takes
the master's value (or, where the master has none, the most recent record's that has one),
tags are the union of all, notes are joined, and the oldest record's ``customer_id`` and
``created_at`` survive, so that orders keep pointing at the id the team has used longest::

    >>> merge_values([{"name": "Li Na", "tags": "vip"}, {"name": "李娜", "tags": "wechat"}], {})
    {'name': '李娜', 'tags': 'vip, wechat'}
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Literal, TypeAlias, get_args

from sheetcrm.errors import InputError
from sheetcrm.sync.a1 import MAX_CELL_TEXT

__all__ = ["DEFAULT_RULES", "RULES", "Rule", "merge_values", "oldest_first", "recency_order"]

Rule: TypeAlias = Literal["master", "most_recent", "most_complete", "longest", "oldest", "union", "join"]
RULES: frozenset[str] = frozenset(get_args(Rule))

DEFAULT_RULES: dict[str, Rule] = {
    "customer_id": "oldest",
    "created_at": "oldest",
    "tags": "union",
    "notes": "join",
}
"""Rules for the fields that do not simply take the master's value."""

TOUCHED = ("last_contact", "updated_at", "created_at")
"""The fields whose latest value says when a record was last touched."""

_TAG_SPLIT = re.compile(r"\s*[,;，；、|]\s*")
NOTE_JOINER = " | "


def recency_order(records: Sequence[Mapping[str, str]]) -> list[int]:
    """Indices of ``records``, most recently touched first (later rows first on a tie).

    Dates are compared as the ISO text a Table holds (``2024-03-01``); a record without any
    counts as never touched.
    """

    def touched(index: int) -> tuple[str, int]:
        stamps = [records[index].get(field, "") for field in TOUCHED]
        return max(stamp for stamp in stamps if stamp) if any(stamps) else "", index

    return sorted(range(len(records)), key=touched, reverse=True)


def oldest_first(records: Sequence[Mapping[str, str]]) -> list[int]:
    """Indices of ``records``, the first created first (earlier rows first; no date counts as latest)."""

    def created(index: int) -> tuple[int, str, int]:
        stamp = records[index].get("created_at", "")
        return (0 if stamp else 1), stamp, index

    return sorted(range(len(records)), key=created)


def merge_values(
    records: Sequence[Mapping[str, str]],
    rules: Mapping[str, str],
    *,
    fields: Sequence[str] | None = None,
) -> dict[str, str]:
    """The merged record: for each field (default: every field any record has) the surviving text.

    ``rules`` maps field names to a :data:`Rule` and overrides :data:`DEFAULT_RULES`. Fields
    where no record has a value are left out.
    """
    chosen = {**DEFAULT_RULES, **rules}
    unknown = sorted({rule for rule in chosen.values() if rule not in RULES})
    if unknown:
        raise InputError(
            f"[dedupe.survivorship]: unknown rule {unknown[0]!r}", hint=f"choose from {', '.join(sorted(RULES))}"
        )
    names = list(fields) if fields is not None else list(dict.fromkeys(k for record in records for k in record))
    recent = recency_order(records)
    oldest = oldest_first(records)
    complete = sorted(recent, key=lambda i: -sum(1 for v in records[i].values() if v.strip()))
    merged: dict[str, str] = {}
    for name in names:
        values = [records[i].get(name, "").strip() for i in recent]
        if not any(values):
            continue
        rule = chosen.get(name, "master")
        merged[name] = _survivor(rule, name, records, recent, oldest, complete)
    return merged


def _survivor(
    rule: str,
    name: str,
    records: Sequence[Mapping[str, str]],
    recent: list[int],
    oldest: list[int],
    complete: list[int],
) -> str:
    def first(order: list[int]) -> str:
        return next(value for i in order if (value := records[i].get(name, "").strip()))

    if rule in ("master", "most_recent"):
        return first(recent)
    if rule == "oldest":
        return first(oldest)
    if rule == "most_complete":
        return first(complete)
    if rule == "longest":
        return max((records[i].get(name, "").strip() for i in recent), key=len)
    if rule == "union":
        tags: dict[str, str] = {}  # folded → as first written
        for i in oldest:
            for tag in _TAG_SPLIT.split(records[i].get(name, "").strip()):
                if tag:
                    tags.setdefault(tag.casefold(), tag)
        return ", ".join(tags.values())[:MAX_CELL_TEXT]
    # join: each distinct text once, the most recent first
    texts = list(dict.fromkeys(records[i].get(name, "").strip() for i in recent))
    return NOTE_JOINER.join(text for text in texts if text)[:MAX_CELL_TEXT]

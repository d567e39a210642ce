"""The dedupe job: merge duplicate customers as one reversible run, and list doubtful pairs for review.

:func:`plan_dedupe` reads the customers (and the tables that point at them), finds duplicate
pairs (:mod:`sheetcrm.dedupe.match`), honours the decisions a person wrote on the ``_review``
sheet, and builds one ChangeSet:

- each cluster to merge keeps the row of its oldest customer, which takes the surviving value
  of every field (:mod:`sheetcrm.dedupe.survivorship`); the other rows are deleted;
- orders, interactions and opportunities of the merged-away customers point at the survivor;
- the merged-away rows are kept on the ``_merged`` sheet with the survivor's id and the run id;
- the pairs between the review and merge thresholds are listed side by side on ``_review``,
  with a dropdown (merge / keep apart) that the next run honours.

:func:`dedupe` applies it (``dry_run`` previews it); ``sheetcrm undo RUN_ID`` reverses all of it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, cast

from sheetcrm.config import Config, DedupeConfig, load_config
from sheetcrm.dedupe.match import Cluster, MatchConfig, Pair, Reason, cluster_pairs, find_pairs
from sheetcrm.dedupe.survivorship import merge_values, oldest_first
from sheetcrm.errors import InputError
from sheetcrm.schema.custom import build_schemas
from sheetcrm.schema.tables import TableSchema
from sheetcrm.sync.a1 import column_letter
from sheetcrm.sync.changeset import CellStyle, ChangeSet
from sheetcrm.sync.runlog import new_run_id
from sheetcrm.sync.table import Table
from sheetcrm.sync.workbook import ApplyResult, Workbook

__all__ = ["ARCHIVE_SHEET", "REVIEW_SHEET", "DedupePlan", "MergedCluster", "dedupe", "match_config", "plan_dedupe"]

REVIEW_SHEET = "_review"
ARCHIVE_SHEET = "_merged"
MERGE: Literal["merge"] = "merge"
KEEP_APART = "keep apart"
ARCHIVE_COLUMNS = ("merged_into", "run_id", "merged_at")
REFERRING_TABLES = ("orders", "interactions", "opportunities")
REVIEW_HEADER = ("pair", "decision", "score", "why")


@dataclass(frozen=True)
class MergedCluster:
    """Customers merged into one: the surviving row and id, and every member as ``(row, id)``."""

    survivor_row: int
    survivor_id: str
    members: tuple[tuple[int, str], ...]
    pairs: tuple[Pair, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "survivor": {"row": self.survivor_row, "id": self.survivor_id},
            "members": [{"row": row, "id": ident} for row, ident in self.members],
            "pairs": [_pair_dict(pair) for pair in self.pairs],
        }


@dataclass
class DedupePlan:
    """What a dedupe run will do: the ChangeSet, the clusters it merges and the pairs it lists."""

    changes: ChangeSet
    run_id: str
    merged: list[MergedCluster] = field(default_factory=list)
    review: list[Pair] = field(default_factory=list)
    kept_apart: int = 0
    ids: dict[Hashable, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON-ready data: clusters with member rows, ids, scores and reasons."""
        return {
            "run_id": self.run_id,
            "merged": [cluster.to_dict() for cluster in self.merged],
            "review": [_pair_dict(pair, self.ids) for pair in self.review],
            "kept_apart": self.kept_apart,
            "changes": self.changes.counts(),
        }


def plan_dedupe(
    workbook: Workbook,
    *,
    config: Config | None = None,
    match: MatchConfig | None = None,
    run_id: str | None = None,
    today: dt.date | None = None,
) -> DedupePlan:
    """Find duplicate customers and plan their merge as one ChangeSet (see the module's text)."""
    settings = config if config is not None else load_config()
    schemas = build_schemas(settings)
    customers_schema = schemas["customers"]
    if customers_schema.sheet not in workbook.sheet_names:
        raise InputError(
            f"{workbook.source}: no sheet {customers_schema.sheet!r} for the customers table",
            hint="add the sheet, or set [tables.customers] sheet = ... in sheetcrm.toml",
        )
    run_id = run_id or new_run_id()
    today = today or dt.date.today()
    match = match or match_config(settings)
    table = workbook[customers_schema.sheet]
    headers = customers_schema.match_headers(table.columns).fields  # header -> field
    id_header = {f: h for h, f in headers.items()}.get(customers_schema.id_column)
    if id_header is None:
        raise InputError(
            f"{workbook.source}: the {customers_schema.sheet} sheet has no {customers_schema.id_column} column",
            hint="dedupe keeps the oldest customer id and points orders at it: add the id column first",
        )
    frame = table.frame[list(headers)].rename(columns=headers)
    ids: dict[Hashable, str] = {row: str(ident) for row, ident in frame[customers_schema.id_column].items()}

    decided = _review_decisions(workbook)
    pairs = _with_decisions(find_pairs(frame, match), decided, ids)
    kept_apart = sum(1 for decision in decided.values() if decision == KEEP_APART)
    clusters = cluster_pairs(pairs, match)

    plan = DedupePlan(ChangeSet("dedupe: merge duplicate customers"), run_id, ids=ids, kept_apart=kept_apart)
    archive: list[dict[str, str]] = []
    renamed: dict[str, str] = {}  # merged-away id -> survivor id
    for cluster in clusters:
        if cluster.decision != MERGE:
            plan.review += cluster.pairs
            continue
        merged = _plan_merge(plan.changes, table, headers, id_header, cluster, settings.dedupe)
        plan.merged.append(merged)
        for row, ident in merged.members:
            if row == merged.survivor_row:
                continue
            record = {header: table.value(row, header) for header in table.columns}
            archive.append({**record, "merged_into": merged.survivor_id, "run_id": run_id, "merged_at": str(today)})
            if ident and ident != merged.survivor_id:
                renamed[ident] = merged.survivor_id
    plan.review = _unique(plan.review)
    _repoint(plan.changes, workbook, schemas, renamed)
    if archive:
        _archive(plan.changes, workbook, table.columns, archive)
    _review_sheet(plan.changes, workbook, table, headers, plan.review, decided, ids)
    return plan


def dedupe(
    workbook: Workbook,
    *,
    config: Config | None = None,
    match: MatchConfig | None = None,
    dry_run: bool = False,
    out: str | Path | None = None,
    today: dt.date | None = None,
) -> tuple[DedupePlan, ApplyResult]:
    """Plan :func:`plan_dedupe` and apply it as one run (``dry_run`` only previews it)."""
    plan = plan_dedupe(workbook, config=config, match=match, today=today)
    result = workbook.apply(plan.changes, dry_run=dry_run, command="dedupe", out=out, run_id=plan.run_id)
    return plan, result


def match_config(settings: Config) -> MatchConfig:
    """The matcher's settings from ``[dedupe]`` (its ``survivorship`` table is the merge's)."""
    return MatchConfig.from_settings(settings.dedupe.match_settings())


# -- merging one cluster


def _plan_merge(
    changes: ChangeSet,
    table: Table,
    headers: Mapping[str, str],
    id_header: str,
    cluster: Cluster,
    settings: DedupeConfig,
) -> MergedCluster:
    rows = sorted(_row(member) for member in cluster.members)
    # survivorship by field name; the team's own columns by their header
    key = {header: headers.get(header, header) for header in table.columns}
    records = [{key[h]: table.value(row, h) for h in table.columns} for row in rows]
    rules = dict(settings.survivorship)
    merged = merge_values(records, rules, fields=[key[h] for h in table.columns])
    survivor = rows[oldest_first(records)[0]]
    for header in table.columns:
        new = merged.get(key[header], "")
        old = table.value(survivor, header)
        if new != old and not table.is_formula(survivor, header):
            changes.edit(table.sheet, survivor, table.letter(header), old=old, new=new, field=key[header])
    gone = {
        row: {table.letter(h): v for h in table.columns if (v := table.value(row, h))}
        for row in rows
        if row != survivor
    }
    if gone:
        changes.delete(table.sheet, gone)
    members = tuple((row, table.value(row, id_header)) for row in rows)
    return MergedCluster(survivor, merged.get("customer_id", table.value(survivor, id_header)), members, cluster.pairs)


def _repoint(
    changes: ChangeSet, workbook: Workbook, schemas: Mapping[str, TableSchema], renamed: Mapping[str, str]
) -> None:
    """Point orders, interactions and opportunities of merged-away customers at the survivor."""
    if not renamed:
        return
    for key in REFERRING_TABLES:
        schema = schemas.get(key)
        if schema is None or schema.sheet not in workbook.sheet_names:
            continue
        table = workbook[schema.sheet]
        header = {f: h for h, f in schema.match_headers(table.columns).fields.items()}.get("customer_id")
        if header is None:
            continue
        column = table.frame[header]
        for row, ident in column[column.isin(list(renamed))].items():
            changes.edit(
                table.sheet, _row(row), table.letter(header), old=ident, new=renamed[ident], field="customer_id"
            )


def _archive(changes: ChangeSet, workbook: Workbook, columns: Sequence[str], rows: list[dict[str, str]]) -> None:
    """Keep the merged-away rows on the archive sheet (created on first use)."""
    if ARCHIVE_SHEET not in workbook.sheet_names:
        header = [*columns, *ARCHIVE_COLUMNS]
        changes.replace_sheet(
            ARCHIVE_SHEET,
            [header, *([row.get(h, "") for h in header] for row in rows)],
            freeze="A2",
            styles={f"A1:{column_letter(len(header))}1": CellStyle(bold=True)},
        )
        return
    archive = workbook[ARCHIVE_SHEET]  # columns added to the customers since are not archived
    changes.append(ARCHIVE_SHEET, [{archive.letter(h): row[h] for h in archive.columns if row.get(h)} for row in rows])


# -- the review sheet: pairs a person decides on


def _pair_key(left: str, right: str) -> str:
    return " | ".join(sorted((left, right)))


def _review_decisions(workbook: Workbook) -> dict[str, str]:
    """The decisions written on the review sheet: ``{"C-1 | C-2": "merge" | "keep apart"}``."""
    if REVIEW_SHEET not in workbook.sheet_names:
        return {}
    review = workbook[REVIEW_SHEET]
    if "pair" not in review.columns or "decision" not in review.columns:
        return {}
    found: dict[str, str] = {}
    for pair, decision in zip(review.frame["pair"], review.frame["decision"], strict=True):
        decision = str(decision).strip().lower()
        if decision in (MERGE, KEEP_APART) and " | " in str(pair):
            left, right = (part.strip() for part in str(pair).split(" | ", 1))
            found[_pair_key(left, right)] = decision
    return found


def _with_decisions(pairs: list[Pair], decided: Mapping[str, str], ids: Mapping[Hashable, str]) -> list[Pair]:
    """Pairs as a person decided them: kept apart ones dropped, those to merge marked so."""
    if not decided:
        return pairs
    by_id = {ident: row for row, ident in ids.items() if ident}
    out: list[Pair] = []
    seen: set[str] = set()
    for pair in pairs:
        key = _pair_key(ids.get(pair.left, ""), ids.get(pair.right, ""))
        seen.add(key)
        decision = decided.get(key)
        if decision == KEEP_APART:
            continue
        if decision == MERGE:
            pair = replace(pair, decision=MERGE, reasons=(*pair.reasons, Reason("review", "a person decided", 1.0)))
        out.append(pair)
    for key, decision in decided.items():  # a pair to merge that matching no longer finds
        left, right = key.split(" | ", 1)
        if decision == MERGE and key not in seen and left in by_id and right in by_id:
            reason = Reason("review", "a person decided", 1.0)
            out.append(Pair(by_id[left], by_id[right], 1.0, (reason,), MERGE))
    return out


def _unique(pairs: list[Pair]) -> list[Pair]:
    seen: set[tuple[Hashable, Hashable]] = set()
    out = []
    for pair in pairs:
        if (pair.left, pair.right) not in seen:
            seen.add((pair.left, pair.right))
            out.append(pair)
    return out


def _review_sheet(
    changes: ChangeSet,
    workbook: Workbook,
    table: Table,
    headers: Mapping[str, str],
    review: list[Pair],
    decided: Mapping[str, str],
    ids: Mapping[Hashable, str],
) -> None:
    """List the pairs to decide side by side, with the decisions still standing (kept apart)."""
    if not review and REVIEW_SHEET not in workbook.sheet_names:
        return
    shown = [h for h, f in headers.items() if f != "customer_id"]
    header = [*REVIEW_HEADER, *(f"{h} ({side})" for h in shown for side in (1, 2))]
    rows: list[list[Any]] = [header]
    for key, decision in decided.items():
        if decision == KEEP_APART:
            rows.append([key, KEEP_APART, "", "a person decided"])
    for pair in review:
        left, right = _row(pair.left), _row(pair.right)
        reasons = "; ".join(f"{r.field}: {r.how}" for r in pair.reasons)
        values = [v for h in shown for v in (table.value(left, h), table.value(right, h))]
        rows.append([_pair_key(ids[pair.left], ids[pair.right]), "", round(pair.score, 3), reasons, *values])
    last = max(len(rows), 2)
    changes.replace_sheet(
        REVIEW_SHEET,
        rows,
        freeze="C2",
        column_widths={"A": 24, "B": 12, "D": 40},
        styles={f"A1:{column_letter(len(header))}1": CellStyle(bold=True, fill="DDEBF7")},
        dropdowns={f"B2:B{last}": (MERGE, KEEP_APART)},
    )


def _row(key: Hashable) -> int:
    """A record's key: the sheet row number a Table indexes it by."""
    return int(cast(int, key))


def _pair_dict(pair: Pair, ids: Mapping[Hashable, str] | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {
        "rows": [pair.left, pair.right],
        "score": round(pair.score, 4),
        "decision": pair.decision,
        "reasons": [{"field": r.field, "how": r.how, "similarity": round(r.similarity, 4)} for r in pair.reasons],
    }
    if ids is not None:
        found["ids"] = [ids.get(pair.left, ""), ids.get(pair.right, "")]
    return found

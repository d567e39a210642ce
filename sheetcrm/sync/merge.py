"""Two-way sync of two copies of the CRM (an .xlsx file and a Google Sheet, say), keyed by id.

What both sides agreed on after the last sync, the *base*, is kept per table, id and field
in a JSON file under ``state_dir/sync/``. Against it, each cell tells which side changed::

    >>> result = sync_workbooks(open_workbook("crm.xlsx"), open_workbook("copy.xlsx"), config,
    ...                         state_dir=Path(".sheetcrm"))
    >>> result.counts()["to_b"]
    {'edited': 2, 'appended': 1, 'deleted': 0}
    >>> result.flatten(["id", "field", "type"])
    [['C-000002', 'phone', 'both-changed']]

Per id and field:

- changed on one side only → copied to the other; changed on both to the same value → nothing;
- changed on both to different values → a conflict. ``last-writer-wins`` takes the side whose
  row has the later ``updated_at`` (a tie, or a row without one, leaves it unresolved); the
  ``conflicts`` policy resolves none. An unresolved conflict leaves both sides as they are and
  is listed on a ``_sync_conflicts`` sheet written to both sides (deleted again once none is
  left). Without a base (the first sync), a field that differs is such a conflict;
- an id new on one side is appended to the other; an id deleted on one side and unchanged on
  the other is deleted there too; deleted on one side but changed on the other is a conflict:
  the changed row stays where it is, and the deleting side does not get it back;
- rows without an id and ids on more than one row are left alone and reported, as are columns
  only one side has; a field whose cell holds a formula on either side is neither copied nor a
  conflict (each workbook computes its own), and is reported too.

Each side gets at most one ChangeSet, applied through its Workbook (backed up, atomic, logged
for undo): A first, then B. The base is saved only once both are applied, so a sync that stops
after A (B refused: :class:`SyncIncomplete`) is finished by the next one: what A got then reads
as A's own changes and goes to B.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeAlias

from sheetcrm.config import Config
from sheetcrm.errors import HeaderError, InputError, SheetcrmError, WriteRefused
from sheetcrm.schema.custom import build_schemas
from sheetcrm.schema.tables import TableSchema
from sheetcrm.sync.a1 import cell_address, qualified
from sheetcrm.sync.changeset import ChangeSet, DeleteSheet, RowValues
from sheetcrm.sync.safewrite import replace_atomically
from sheetcrm.sync.table import Table
from sheetcrm.sync.transfer import (
    Cells,
    Columns,
    IdIndex,
    SkippedRow,
    canonical,
    chosen_tables,
    identity,
    same_workbook,
    typed_value,
)
from sheetcrm.sync.workbook import ApplyResult, Workbook

__all__ = [
    "CONFLICTS_SHEET",
    "Policy",
    "SyncConflict",
    "SyncCounts",
    "SyncIncomplete",
    "SyncResult",
    "TableSync",
    "sync_workbooks",
]

Policy: TypeAlias = Literal["last-writer-wins", "conflicts"]
Side: TypeAlias = Literal["a", "b"]
ConflictType: TypeAlias = Literal["both-changed", "differ-without-base", "deleted-vs-changed"]

CONFLICTS_SHEET = "_sync_conflicts"
CONFLICT_HEADERS = (
    "table",
    "id",
    "field",
    "base",
    "A value",
    "B value",
    "A updated_at",
    "B updated_at",
    "why",
    "A cell",
    "B cell",
)
UPDATED_AT = "updated_at"
"""The field whose later value wins a conflict under ``last-writer-wins`` (when the table has it)."""

SIDES: tuple[Side, Side] = ("a", "b")
BASE_FORMAT = 1
_DELETED = "(deleted)"

BaseRows: TypeAlias = dict[str, dict[str, str]]  # id -> field -> text agreed at the last sync


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class SyncConflict:
    """One field the two sides disagree on, and whether (and how) it was resolved.

    ``base`` is the value agreed at the last sync (None: there is none); ``a_value`` or
    ``b_value`` is None where that side deleted the row. ``a_cell`` and ``b_cell`` are where
    the value is on each side once this sync is applied (``"Customers!E14"``).
    """

    table: str
    sheet: str
    id: str
    field: str
    type: ConflictType
    base: str | None
    a_value: str | None
    b_value: str | None
    a_updated_at: str
    b_updated_at: str
    a_cell: str | None
    b_cell: str | None
    why: str
    resolved_by: Side | None = None

    @property
    def resolved(self) -> bool:
        return self.resolved_by is not None

    @property
    def message(self) -> str:
        where = " / ".join(cell for cell in (self.a_cell, self.b_cell) if cell)
        return f"{self.table} {self.id} {self.field} ({where}): {self.why}"

    def sheet_row(self) -> tuple[str, ...]:
        """The conflict as a row of the ``_sync_conflicts`` sheet."""
        return (
            self.table,
            self.id,
            self.field,
            self.base if self.base is not None else "",
            self.a_value if self.a_value is not None else _DELETED,
            self.b_value if self.b_value is not None else _DELETED,
            self.a_updated_at,
            self.b_updated_at,
            self.why,
            self.a_cell or "",
            self.b_cell or "",
        )

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "resolved": self.resolved, "message": self.message}


@dataclass
class SyncCounts:
    """What one direction wrote: cells edited, rows appended, rows deleted."""

    edited: int = 0
    appended: int = 0
    deleted: int = 0

    def to_dict(self) -> dict[str, int]:
        return {"edited": self.edited, "appended": self.appended, "deleted": self.deleted}


@dataclass
class TableSync:
    """What syncing one table did (or would do), per direction.

    ``to_a`` is what A receives from B, ``to_b`` what B receives from A; ``unchanged`` counts
    the ids on both sides that needed nothing.
    """

    table: str
    sheet: str
    to_a: SyncCounts = field(default_factory=SyncCounts)
    to_b: SyncCounts = field(default_factory=SyncCounts)
    unchanged: int = 0
    conflicts: int = 0
    unresolved: int = 0
    columns_only_a: list[str] = field(default_factory=list)
    columns_only_b: list[str] = field(default_factory=list)
    skipped: list[SkippedRow] = field(default_factory=list)
    formula_cells: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "sheet": self.sheet,
            "to_a": self.to_a.to_dict(),
            "to_b": self.to_b.to_dict(),
            "unchanged": self.unchanged,
            "conflicts": self.conflicts,
            "unresolved": self.unresolved,
            "columns_only_a": list(self.columns_only_a),
            "columns_only_b": list(self.columns_only_b),
            "skipped": [row.to_dict() for row in self.skipped],
            "formula_cells": list(self.formula_cells),
        }

    def summary(self) -> str:
        def arrow(counts: SyncCounts) -> str:
            return f"{counts.edited} cells, {counts.appended} new rows, {counts.deleted} deleted"

        text = f"{self.sheet}: A→B {arrow(self.to_b)}; B→A {arrow(self.to_a)}; {self.unchanged} rows unchanged"
        extra = []
        if self.conflicts:
            extra.append(f"{self.conflicts} conflicts, {self.unresolved} unresolved")
        if self.columns_only_a:
            extra.append(f"only in A, ignored: {', '.join(self.columns_only_a)}")
        if self.columns_only_b:
            extra.append(f"only in B, ignored: {', '.join(self.columns_only_b)}")
        if self.skipped:
            extra.append(f"{len(self.skipped)} rows skipped")
        if self.formula_cells:
            extra.append(f"{len(self.formula_cells)} formula cells left alone")
        return text + (f" ({'; '.join(extra)})" if extra else "")


@dataclass
class SyncResult:
    """What :func:`sync_workbooks` did: per table and direction, the conflicts, the two runs.

    ``changes_a`` and ``changes_b`` are the ChangeSets as applied (resolved) or, on a dry run,
    as planned. ``base_saved`` says whether the base was written (never on a dry run).
    """

    a: str
    b: str
    policy: Policy
    dry_run: bool
    first_sync: bool
    synced_at: dt.datetime
    base_path: Path
    tables: list[TableSync] = field(default_factory=list)
    conflicts: list[SyncConflict] = field(default_factory=list)
    not_synced: dict[str, str] = field(default_factory=dict)  # table -> why
    changes_a: ChangeSet = field(default_factory=ChangeSet)
    changes_b: ChangeSet = field(default_factory=ChangeSet)
    run_id_a: str | None = None
    run_id_b: str | None = None
    base_saved: bool = False

    @property
    def unresolved(self) -> list[SyncConflict]:
        """The conflicts left as they are (listed on the ``_sync_conflicts`` sheet)."""
        return [conflict for conflict in self.conflicts if not conflict.resolved]

    def table(self, key: str) -> TableSync:
        """The outcome of one table, by its key: ``result.table("customers").to_b.edited``."""
        for outcome in self.tables:
            if outcome.table == key:
                return outcome
        raise KeyError(f"no table {key!r} was synced (tables: {', '.join(t.table for t in self.tables)})")

    def counts(self) -> dict[str, Any]:
        """Totals: ``{"to_a": {...}, "to_b": {...}, "unchanged": 40, "conflicts": 1, "unresolved": 1}``."""
        to_a, to_b = SyncCounts(), SyncCounts()
        for outcome in self.tables:
            for total, part in ((to_a, outcome.to_a), (to_b, outcome.to_b)):
                total.edited += part.edited
                total.appended += part.appended
                total.deleted += part.deleted
        return {
            "to_a": to_a.to_dict(),
            "to_b": to_b.to_dict(),
            "unchanged": sum(outcome.unchanged for outcome in self.tables),
            "conflicts": len(self.conflicts),
            "unresolved": len(self.unresolved),
        }

    def flatten(self, attributes: Sequence[str]) -> list[list[Any]]:
        """The conflicts as plain lists: ``result.flatten(["id", "field", "resolved_by"])``."""
        return [[getattr(conflict, name) for name in attributes] for conflict in self.conflicts]

    def preview(self, *, limit: int | None = 50) -> str:
        """What each side gets, as ChangeSet previews."""
        return (
            f"A: {self.a}\n{self.changes_a.preview(limit=limit)}\n\nB: {self.b}\n{self.changes_b.preview(limit=limit)}"
        )

    def summary(self, *, limit: int = 20) -> str:
        lines = [f"A: {self.a}", f"B: {self.b}"]
        lines += [f"  {outcome.summary()}" for outcome in self.tables]
        lines += [f"  {key}: not synced, {why}" for key, why in self.not_synced.items()]
        if self.conflicts:
            lines.append("conflicts:")
            lines += [f"  {conflict.message}" for conflict in self.conflicts[:limit]]
            if len(self.conflicts) > limit:
                lines.append(f"  … and {len(self.conflicts) - limit} more (--format json lists all)")
        if self.unresolved:
            lines.append(f"{len(self.unresolved)} unresolved: see the {CONFLICTS_SHEET} sheet on either side")
        if self.dry_run:
            lines.append("dry run: nothing was written")
        else:
            runs = [f"{side} run {run}" for side, run in (("A", self.run_id_a), ("B", self.run_id_b)) if run]
            lines.append(f"applied as {', '.join(runs)}" if runs else "both sides already agree: nothing written")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "policy": self.policy,
            "dry_run": self.dry_run,
            "first_sync": self.first_sync,
            "synced_at": self.synced_at.isoformat(timespec="seconds"),
            "counts": self.counts(),
            "tables": [outcome.to_dict() for outcome in self.tables],
            "not_synced": dict(self.not_synced),
            "conflicts": [conflict.to_dict() for conflict in self.conflicts],
            "run_id_a": self.run_id_a,
            "run_id_b": self.run_id_b,
            "base_saved": self.base_saved,
            "changes_a": [line.__dict__ for line in self.changes_a.lines()],
            "changes_b": [line.__dict__ for line in self.changes_b.lines()],
        }


class SyncIncomplete(WriteRefused):
    """A was written but B refused: the base was not saved, so the next sync finishes the job.

    ``applied`` is A's run (undo it with its ``run_id`` to go back instead); ``error`` is B's refusal.
    """

    def __init__(self, a: str, applied: ApplyResult, b: str, error: SheetcrmError) -> None:
        super().__init__(
            f"{b}: {error.message}; {a} was already written (run {applied.run_id}), so the sync is not finished",
            hint=(f"{error.hint}; then " if error.hint else "")
            + "sync again: it copies to B what A got, and nothing is lost",
        )
        self.applied = applied
        self.error = error


# --------------------------------------------------------------------------- syncing


def sync_workbooks(
    a: Workbook,
    b: Workbook,
    config: Config,
    *,
    policy: Policy = "last-writer-wins",
    tables: Sequence[str] | None = None,
    state_dir: Path,
    dry_run: bool = False,
    now: dt.datetime | None = None,
) -> SyncResult:
    """Merge two copies of the CRM both ways, keyed by each table's id field (see the module docstring).

    ``tables`` restricts the sync to these table keys (default: every table both hold).
    ``state_dir`` holds the base between syncs; ``now`` is the time the base is stamped with.
    Raises :class:`SyncIncomplete` when A was written and B then refused::

        >>> result = sync_workbooks(a, b, config, policy="conflicts", state_dir=Path(".sheetcrm"))
        >>> [c.message for c in result.unresolved]
    """
    if policy not in ("last-writer-wins", "conflicts"):
        raise InputError(f"unknown sync policy {policy!r}", hint="use last-writer-wins or conflicts")
    if same_workbook(a, b):
        raise InputError(f"{a.source}: A and B are the same workbook", hint="sync two different copies")
    schemas = build_schemas(config)
    base_path = base_file(state_dir, a.source, b.source)
    base = _load_base(base_path)
    result = SyncResult(
        a.source,
        b.source,
        policy,
        dry_run,
        first_sync=base is None,
        synced_at=now or dt.datetime.now(dt.UTC),
        base_path=base_path,
    )
    keys = _keys(schemas, tables, a, b, result)
    read_a = a.read(*(schemas[key].sheet for key in keys))
    read_b = b.read(*(schemas[key].sheet for key in keys))
    old_tables: dict[str, BaseRows] = base["tables"] if base is not None else {}
    new_tables: dict[str, BaseRows] = {key: rows for key, rows in old_tables.items() if key not in keys}
    changes: dict[Side, ChangeSet] = {"a": ChangeSet(f"sync with {b.source}"), "b": ChangeSet(f"sync with {a.source}")}
    zone = zoneinfo.ZoneInfo(config.timezone)
    plans: list[_TablePlan] = []
    for key in keys:
        schema = schemas[key]
        plan = _TablePlan(key, schema, read_a[schema.sheet], read_b[schema.sheet], a.source, b.source, policy, zone)
        why = plan.why_not()
        if why is not None:
            result.not_synced[key] = why
            if key in old_tables:
                new_tables[key] = old_tables[key]  # kept for when the table can be synced again
            continue
        new_tables[key] = plan.run(old_tables.get(key) if base is not None else None, changes)
        plans.append(plan)
        result.tables.append(plan.outcome)
    result.conflicts = [conflict for plan in plans for conflict in plan.conflicts()]
    _plan_conflicts_sheet(changes["a"], a, result.unresolved)
    _plan_conflicts_sheet(changes["b"], b, result.unresolved)

    if dry_run:
        result.changes_a = a.apply(changes["a"], dry_run=True).changes
        result.changes_b = b.apply(changes["b"], dry_run=True).changes
        return result
    command = f"sync {a.source} {b.source}"
    applied_a = a.apply(changes["a"], command=command)
    result.changes_a, result.run_id_a = applied_a.changes, applied_a.run_id
    try:
        applied_b = b.apply(changes["b"], command=command)
    except SheetcrmError as error:
        # the base stays as it was: A's new values now read as A's changes, and go to B next time
        if not applied_a.applied:
            raise
        raise SyncIncomplete(a.source, applied_a, b.source, error) from error
    result.changes_b, result.run_id_b = applied_b.changes, applied_b.run_id
    data = {
        "format": BASE_FORMAT,
        "sources": sorted(identity(source) for source in (a.source, b.source)),
        "tables": new_tables,
    }
    if base is None or {k: base.get(k) for k in data} != data:
        _save_base(base_path, {**data, "synced_at": result.synced_at.isoformat(timespec="seconds")})
        result.base_saved = True
    return result


def base_file(state_dir: Path, a: str, b: str) -> Path:
    """Where the base of a pair of workbooks is kept: the same file whichever is A."""
    pair = "\n".join(sorted(identity(source) for source in (a, b)))
    return state_dir / "sync" / f"{hashlib.sha256(pair.encode()).hexdigest()[:20]}.json"


def _keys(
    schemas: Mapping[str, TableSchema], tables: Sequence[str] | None, a: Workbook, b: Workbook, result: SyncResult
) -> list[str]:
    keys = chosen_tables(schemas, tables, a, b)
    if not tables:
        names_a, names_b = set(a.sheet_names), set(b.sheet_names)
        for key, schema in schemas.items():
            if (schema.sheet in names_a) != (schema.sheet in names_b):
                only = "A" if schema.sheet in names_a else "B"
                result.not_synced[key] = f"the sheet {schema.sheet!r} is only in {only} (push or pull it first)"
    return keys


# --------------------------------------------------------------------------- one table


@dataclass
class _Draft:
    """A conflict before the cell addresses are known (they depend on the rows this sync deletes)."""

    id: str
    key: str
    type: ConflictType
    base: str | None
    a_value: str | None
    b_value: str | None
    a_row: int | None
    b_row: int | None
    why: str
    resolved_by: Side | None


class _TablePlan:
    """The sync of one table: the changes for each side, the new base rows and the conflicts."""

    def __init__(
        self,
        key: str,
        schema: TableSchema,
        table_a: Table,
        table_b: Table,
        source_a: str,
        source_b: str,
        policy: Policy,
        zone: zoneinfo.ZoneInfo,
    ) -> None:
        self.key, self.schema, self.policy, self.zone = key, schema, policy, zone
        self.tables: dict[Side, Table] = {"a": table_a, "b": table_b}
        self.sources: dict[Side, str] = {"a": source_a, "b": source_b}
        self.outcome = TableSync(key, schema.sheet)
        self.columns: dict[Side, Columns] = {side: Columns.of(schema, self.tables[side]) for side in SIDES}
        self.cells: dict[Side, Cells] = {}
        self.drafts: list[_Draft] = []
        self.stamps: dict[str, tuple[str, str]] = {}  # each disputed id's updated_at text on A and on B
        self.deleted: dict[Side, list[int]] = {"a": [], "b": []}
        self.appends: dict[Side, list[RowValues]] = {"a": [], "b": []}
        self.common: list[str] = []
        self.changes: Mapping[Side, ChangeSet] = {}

    def why_not(self) -> str | None:
        """Why the table cannot be synced (an empty sheet, no id column), or None."""
        for side in SIDES:
            table = self.tables[side]
            if not table.columns:
                return f"the sheet {table.sheet!r} in {side.upper()} has no header row"
        id_key = self.schema.id_column
        for side in SIDES:
            if id_key not in self.columns[side].headers:
                return f"the sheet {self.schema.sheet!r} in {side.upper()} has no {id_key} column to match rows by"
        return None

    def run(self, base: BaseRows | None, changes: Mapping[Side, ChangeSet]) -> BaseRows:
        """Plan the table into ``changes``; return its base rows once they are applied."""
        columns_a, columns_b = self.columns["a"], self.columns["b"]
        self.common = [key for key in columns_a.headers if key in columns_b.headers]
        self.outcome.columns_only_a = [h for k, h in columns_a.headers.items() if k not in columns_b.headers]
        self.outcome.columns_only_b = [h for k, h in columns_b.headers.items() if k not in columns_a.headers]
        self.outcome.columns_only_a += columns_a.repeated
        self.outcome.columns_only_b += columns_b.repeated
        id_key = self.schema.id_column
        self.cells = {side: Cells(self.tables[side]) for side in SIDES}
        index = {
            side: IdIndex.of(
                self.cells[side], self.columns[side].headers[id_key], key=self.key, source=self.sources[side]
            )
            for side in SIDES
        }
        self.outcome.skipped = index["a"].skipped + index["b"].skipped
        self.changes = changes
        rows_a, rows_b = index["a"].rows, index["b"].rows
        repeated = index["a"].repeated | index["b"].repeated
        old = base or {}
        new: BaseRows = {value: dict(old[value]) for value in repeated if value in old}  # not guessed at: kept
        for value in dict.fromkeys([*rows_a, *rows_b, *old]):
            if value in repeated or (value not in rows_a and value not in rows_b):
                continue  # a repeated id is skipped; one gone from both sides leaves the base
            agreed = self._row(value, rows_a.get(value), rows_b.get(value), old.get(value))
            if agreed is not None:
                new[value] = agreed
        for side in SIDES:
            if self.appends[side]:
                changes[side].append(self.schema.sheet, self.appends[side])
        return new

    # -- per id ------------------------------------------------------------------------------

    def _text(self, side: Side, row: int, key: str) -> str:
        return self.cells[side].value(row, self.columns[side].headers[key])

    def _value(self, side: Side, row: int, key: str) -> str:
        return canonical(self.columns[side].fields[key], self._text(side, row, key))

    def _row(
        self, value: str, row_a: int | None, row_b: int | None, base: dict[str, str] | None
    ) -> dict[str, str] | None:
        """Plan one id; return what both sides hold for it once applied (None: the row is gone)."""
        if row_a is not None and row_b is not None:
            return self._both(value, row_a, row_b, base)
        side: Side = "a" if row_a is not None else "b"
        other: Side = "b" if side == "a" else "a"
        row = row_a if row_a is not None else row_b
        assert row is not None
        values = {key: self._value(side, row, key) for key in self.common}
        if base is None:  # new on one side
            self._append(other, side, row)
            return values
        changed = [
            key for key in self.common if base.get(key, "") != values[key] and not self._formulas(key, {side: row})
        ]
        if not changed:  # deleted on the other side, and this side did not touch it
            table = self.tables[side]
            self.changes[side].delete(table.sheet, {row: self.cells[side].row(row)})
            self.deleted[side].append(row)
            self._counts(side).deleted += 1
            return None
        stamp = self._text(side, row, UPDATED_AT) if UPDATED_AT in self.common else ""
        for key in changed:
            self.drafts.append(
                _Draft(
                    value,
                    key,
                    "deleted-vs-changed",
                    base.get(key),
                    values[key] if side == "a" else None,
                    values[key] if side == "b" else None,
                    row if side == "a" else None,
                    row if side == "b" else None,
                    f"deleted in {other.upper()}, changed in {side.upper()} since the last sync; the row stays in "
                    f"{side.upper()}",
                    None,
                )
            )
            self.outcome.conflicts += 1
            self.outcome.unresolved += 1
            self.stamps[value] = (stamp, "") if side == "a" else ("", stamp)
        return dict(base)  # still disputed: the base stays until a person decides

    def _both(self, value: str, row_a: int, row_b: int, base: dict[str, str] | None) -> dict[str, str]:
        agreed: dict[str, str] = {}
        disputed: list[tuple[str, str, str, str | None]] = []
        wrote = False
        for key in self.common:
            known = base.get(key) if base is not None else None
            formulas = self._formulas(key, {"a": row_a, "b": row_b})
            if formulas:
                # a computed value is each workbook's own: neither copied nor a conflict
                self.outcome.formula_cells += formulas
                if known is not None:
                    agreed[key] = known
                continue
            va, vb = self._value("a", row_a, key), self._value("b", row_b, key)
            if va == vb:
                agreed[key] = va
            elif known is not None and va == known:  # only B changed it
                self._copy("b", row_b, "a", row_a, key, agreed)
                wrote = True
            elif known is not None and vb == known:  # only A changed it
                self._copy("a", row_a, "b", row_b, key, agreed)
                wrote = True
            else:
                disputed.append((key, va, vb, known))
        if disputed:
            winner, reason = self._winner(row_a, row_b)
            for key, va, vb, known in disputed:
                if winner is not None:
                    loser: Side = "b" if winner == "a" else "a"
                    rows = {"a": row_a, "b": row_b}
                    self._copy(winner, rows[winner], loser, rows[loser], key, agreed)
                elif known is not None:
                    agreed[key] = known  # unresolved: the base stays, and so does the conflict
                kind: ConflictType = "both-changed" if known is not None else "differ-without-base"
                what = (
                    "changed in both since the last sync"
                    if known is not None
                    else "the two differ and no earlier sync says which changed"
                )
                self.drafts.append(_Draft(value, key, kind, known, va, vb, row_a, row_b, f"{what}; {reason}", winner))
                self.outcome.conflicts += 1
                self.outcome.unresolved += int(winner is None)
            self.stamps[value] = self._stamp_texts(row_a, row_b)
        elif not wrote:
            self.outcome.unchanged += 1
        return agreed

    def _formulas(self, key: str, rows: Mapping[Side, int]) -> list[str]:
        """The cells of ``key`` in these rows that hold formulas, as addresses."""
        found = []
        for side, row in rows.items():
            table, header = self.tables[side], self.columns[side].headers[key]
            if table.is_formula(row, header):
                found.append(f"{side.upper()}: {table.address(row, header)}")
        return found

    def _copy(self, side: Side, row: int, other: Side, other_row: int, key: str, agreed: dict[str, str]) -> None:
        """Copy one field from ``side`` to ``other`` (a cell edit there), and note what both then hold."""
        table, header = self.tables[other], self.columns[other].headers[key]
        field_ = self.columns[side].fields[key]
        text = self._text(side, row, key)
        self.changes[other].edit(
            table.sheet,
            other_row,
            self.columns[other].letters[key],
            old=self.cells[other].value(other_row, header),
            new=typed_value(field_, text),
            field=key,
        )
        agreed[key] = canonical(field_, text)
        self._counts(other).edited += 1

    def _append(self, to: Side, side: Side, row: int) -> None:
        values = {
            self.columns[to].letters[key]: typed_value(self.columns[side].fields[key], self._text(side, row, key))
            for key in self.common
        }
        self.appends[to].append({letter: v for letter, v in values.items() if v is not None})
        self._counts(to).appended += 1

    def _counts(self, side: Side) -> SyncCounts:
        return self.outcome.to_a if side == "a" else self.outcome.to_b

    # -- last writer wins ---------------------------------------------------------------------

    def _stamp_texts(self, row_a: int, row_b: int) -> tuple[str, str]:
        if UPDATED_AT not in self.common:
            return "", ""
        return self._text("a", row_a, UPDATED_AT), self._text("b", row_b, UPDATED_AT)

    def _winner(self, row_a: int, row_b: int) -> tuple[Side | None, str]:
        """The side whose row was written last, and why (or None and why not)."""
        if self.policy == "conflicts":
            return None, "left as they are (conflicts policy)"
        if UPDATED_AT not in self.common:
            return None, f"unresolved: the table has no {UPDATED_AT} column on both sides"
        text_a, text_b = self._stamp_texts(row_a, row_b)
        moment_a, moment_b = _moment(text_a, self.zone), _moment(text_b, self.zone)
        for side, text, moment in (("A", text_a, moment_a), ("B", text_b, moment_b)):
            if moment is None:
                what = "no" if not text.strip() else f"an unreadable ({text!r})"
                return None, f"unresolved: {what} {UPDATED_AT} in {side}"
        assert moment_a is not None and moment_b is not None
        if moment_a > moment_b:
            return "a", f"A's {UPDATED_AT} is later: A's value kept"
        if moment_b > moment_a:
            return "b", f"B's {UPDATED_AT} is later: B's value kept"
        return None, f"unresolved: the same {UPDATED_AT} in both"

    # -- conflicts ----------------------------------------------------------------------------

    def conflicts(self) -> list[SyncConflict]:
        """The conflicts, with each side's cell where it is once the sync is applied."""
        out = []
        for draft in self.drafts:
            stamp_a, stamp_b = self.stamps.get(draft.id, ("", ""))
            out.append(
                SyncConflict(
                    self.key,
                    self.schema.sheet,
                    draft.id,
                    draft.key,
                    draft.type,
                    draft.base,
                    draft.a_value,
                    draft.b_value,
                    stamp_a,
                    stamp_b,
                    self._cell("a", draft.a_row, draft.key),
                    self._cell("b", draft.b_row, draft.key),
                    draft.why,
                    draft.resolved_by,
                )
            )
        return out

    def _cell(self, side: Side, row: int | None, key: str) -> str | None:
        if row is None:
            return None
        final = row - sum(1 for gone in self.deleted[side] if gone < row)  # rows this sync deletes move it up
        return qualified(self.schema.sheet, cell_address(self.columns[side].letters[key], final))


def _moment(text: str, zone: zoneinfo.ZoneInfo) -> dt.datetime | None:
    """An ``updated_at`` text as a naive time in the config's zone (None when empty or unreadable)."""
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(zone).replace(tzinfo=None)
    return moment


def _plan_conflicts_sheet(changes: ChangeSet, workbook: Workbook, unresolved: Sequence[SyncConflict]) -> None:
    """Write the unresolved conflicts on ``_sync_conflicts`` when they differ from what is there; none: delete it."""
    present = CONFLICTS_SHEET in workbook.sheet_names
    if not unresolved:
        if present:
            changes.add(DeleteSheet(CONFLICTS_SHEET))
        return
    rows = [CONFLICT_HEADERS, *(conflict.sheet_row() for conflict in unresolved)]
    if present:
        try:
            table = workbook[CONFLICTS_SHEET]
        except HeaderError:
            pass  # made unreadable by hand: written afresh
        else:
            there = [tuple(table.columns), *(tuple(table.value(row, h) for h in table.columns) for row in table.rows)]
            if there == rows:
                return  # the same conflicts as last time: nothing to write
    widths = {"A": 14.0, "B": 14.0, "C": 16.0, "D": 20.0, "E": 20.0, "F": 20.0, "I": 60.0, "J": 18.0, "K": 18.0}
    changes.replace_sheet(CONFLICTS_SHEET, rows, freeze="A2", column_widths=widths)


# --------------------------------------------------------------------------- the base


def _load_base(path: Path) -> dict[str, Any] | None:
    """The base saved by the last sync, or None before the first."""
    if not path.exists():
        return None
    hint = "delete the file to start afresh: the next sync then treats every difference as a conflict"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InputError(f"{path}: unreadable sync base ({error})", hint=hint) from None
    tables = data.get("tables") if isinstance(data, dict) else None
    if not isinstance(data, dict) or data.get("format") != BASE_FORMAT or not isinstance(tables, dict):
        raise InputError(f"{path}: not a sync base sheetcrm can read", hint=hint)
    for rows in tables.values():
        if not isinstance(rows, dict) or not all(
            isinstance(values, dict) and all(isinstance(v, str) for v in values.values()) for values in rows.values()
        ):
            raise InputError(f"{path}: not a sync base sheetcrm can read", hint=hint)
    return data


def _save_base(path: Path, data: Mapping[str, Any]) -> None:
    """Write the base atomically, readable by its owner only: it holds customer data."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    text = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True)

    def write(temp: Path) -> None:
        descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(text)

    if path.exists():
        path.chmod(0o600)  # replace_atomically gives the new file the old one's mode
    replace_atomically(path, write)

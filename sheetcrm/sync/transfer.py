"""Copy CRM tables from one workbook to another: what ``sheetcrm push`` and ``pull`` do.

The target's tables are made equal to the source's, through the Workbook and ChangeSet
API only, so any two workbooks work (an .xlsx file, a Google Sheet, one in memory)::

    >>> result = copy_tables(open_workbook("crm.xlsx"), open_workbook("copy.xlsx"), config)
    >>> result.counts()
    {'created': 0, 'edited': 3, 'appended': 1, 'deleted': 0, 'unchanged': 41}
    >>> result.run_ids                                  # sheetcrm undo <run_id>, latest first

How a table is copied:

- a sheet the target lacks (or holds empty) is created whole: the header, every row, the
  header frozen and the columns as wide as a new workbook's;
- on a sheet the target has, only what differs is written: rows are matched by the
  table's id field when both sides have that column (cells that differ are edited, new
  ids appended, ids gone from the source deleted), else by position. Rows without an id
  or with an id that repeats, on either side, are left alone and reported: matching them
  would be a guess. A column the target lacks is added after its last one; a column only
  the target has is left alone and reported, and so is a target cell holding a formula (a
  source cell holding one is copied as the value it shows);
- then the schema's header notes, number formats, dropdowns and value rules go on, as
  :func:`~sheetcrm.jobs.apply_schema.plan_apply_schema` plans them.

Values are written typed as an import writes them: integer, decimal and money fields as
numbers, everything else as the text read (``00123`` stays ``00123``, dates ISO text).
Values are compared the same way, so a second run with nothing changed writes nothing.

Usually all of this is one run of the target (one backup, one run-log entry, one undo).
When sheets or columns are created, the schema's rules are planned once they exist, as a
second run: undo the later run id first. A dry run cannot plan rules for what it would
create; ``schema_pending`` names those sheets and columns.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sheetcrm.config import Config
from sheetcrm.errors import InputError
from sheetcrm.jobs.apply_schema import plan_apply_schema, rules_reader
from sheetcrm.jobs.importer import cell_value
from sheetcrm.schema.custom import build_schemas
from sheetcrm.schema.fields import Field, FieldType
from sheetcrm.schema.tables import TableSchema
from sheetcrm.sync.a1 import cell_address, column_index, column_letter, qualified
from sheetcrm.sync.changeset import CellValue, ChangeSet, RowValues
from sheetcrm.sync.table import Table
from sheetcrm.sync.values import to_text
from sheetcrm.sync.workbook import Workbook

__all__ = ["SkippedRow", "TableTransfer", "TransferResult", "canonical", "copy_tables", "typed_value"]


# --------------------------------------------------------------------------- values


def typed_value(field: Field | None, text: str) -> CellValue:
    """What a cell's text is written as: a number for integer, decimal and money fields, else the text.

    An empty text is ``None`` (an empty cell). ``typed_value(amount, "1234.50") == 1234.5``;
    ``typed_value(postcode, "00123") == "00123"``.
    """
    if text == "":
        return None
    if field is None:
        return text
    return cell_value(field, text)  # one definition of typing, shared with import


def canonical(field: Field | None, text: str) -> str:
    """The text a value reads back as once written typed: what two sides are compared in.

    ``"1234.50"`` in a money field and the number 1234.5 (read as ``"1234.5"``) are the same value,
    and so are ``"2024-03-01 09:00"`` and ``"2024-03-01T09:00:00"`` in a date or datetime field
    (a file holds one, a Google Sheet reads a typed date back as the other).
    """
    if field is not None and field.type in (FieldType.date, FieldType.datetime):
        try:
            return to_text(dt.datetime.fromisoformat(text))
        except ValueError:
            return text  # not an ISO date: compared as it is
    return to_text(typed_value(field, text))


# --------------------------------------------------------------------------- columns and rows


@dataclass(frozen=True)
class Columns:
    """A sheet's columns keyed the way two workbooks are matched: by field, else by header.

    A header the schema knows (through its aliases, English or Chinese) is keyed by its field
    name, so ``客户名称`` on one side meets ``name`` on the other; the team's own columns are
    keyed by their header text.
    """

    headers: dict[str, str]  # key -> header
    letters: dict[str, str]  # key -> column letter
    fields: dict[str, Field | None]  # key -> the schema's field (None for the team's columns)
    repeated: list[str]  # headers whose key another column already has: left alone

    @classmethod
    def of(cls, schema: TableSchema, table: Table) -> Columns:
        match = schema.match_headers(table.columns)
        headers: dict[str, str] = {}
        letters: dict[str, str] = {}
        fields: dict[str, Field | None] = {}
        repeated: list[str] = []
        for header in table.columns:
            name = match.fields.get(header)
            key = name if name is not None else header.strip()
            if key in headers:
                repeated.append(header)
                continue
            headers[key] = header
            letters[key] = table.letter(header)
            fields[key] = schema.field(name) if name is not None else None
        return cls(headers, letters, fields, repeated)


SkipReason = Literal["no-id", "duplicate-id"]


@dataclass(frozen=True)
class SkippedRow:
    """A row left alone because it cannot be matched by id: it has none, or its id repeats."""

    table: str
    source: str  # the workbook it is in
    row: int
    address: str  # the id cell: "Customers!A7"
    reason: SkipReason
    id: str = ""

    @property
    def message(self) -> str:
        if self.reason == "no-id":
            return f"{self.address}: no id, so the row cannot be matched (left alone)"
        return f"{self.address}: id {self.id!r} is on more than one row, so none of them is matched (left alone)"

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "message": self.message}


class Cells:
    """A table's text as plain Python, for going through it cell by cell.

    ``Table.value`` goes through pandas' ``.at``, some 60 µs a cell: 20,000 rows of 8 columns
    took 13 s that way, and take well under one like this.
    """

    def __init__(self, table: Table) -> None:
        self.table = table
        rows = table.rows
        self.columns: dict[str, dict[int, str]] = {
            header: dict(zip(rows, table.frame[header].astype(str).tolist(), strict=True)) for header in table.columns
        }

    def value(self, row: int, header: str) -> str:
        """The text of one cell ("" when empty)."""
        return self.columns[header][row]

    def row(self, row: int) -> dict[str, str]:
        """A row's text by column letter, as DeleteRows wants it for its conflict check."""
        return {letter: self.columns[header][row] for header, letter in self.table.letters.items()}


@dataclass(frozen=True)
class IdIndex:
    """The rows of a sheet by id, and the rows that have no usable one."""

    rows: dict[str, int]  # id -> row number, for ids on exactly one row
    skipped: list[SkippedRow]
    repeated: set[str]  # ids on more than one row

    @classmethod
    def of(cls, cells: Cells, header: str, *, key: str, source: str) -> IdIndex:
        table = cells.table
        letter = table.letter(header)
        ids = {row: text.strip() for row, text in cells.columns[header].items()}
        counts = Counter(ids.values())
        skipped: list[SkippedRow] = []
        rows: dict[str, int] = {}
        for row, value in ids.items():
            address = qualified(table.sheet, cell_address(letter, row))
            if not value:
                skipped.append(SkippedRow(key, source, row, address, "no-id"))
            elif counts[value] > 1:
                skipped.append(SkippedRow(key, source, row, address, "duplicate-id", value))
            else:
                rows[value] = row
        return cls(rows, skipped, {value for value, n in counts.items() if value and n > 1})


def same_workbook(first: Workbook, second: Workbook) -> bool:
    """Whether two Workbooks are one and the same (a file by its absolute path, a URL as it is)."""
    return identity(first.source) == identity(second.source)


def identity(source: str) -> str:
    """A source as the same text however it was given: ``crm.xlsx`` and ``./crm.xlsx`` are one file."""
    if "://" in source:
        return source
    return str(Path(source).resolve())


def chosen_tables(schemas: Mapping[str, TableSchema], tables: Sequence[str] | None, *workbooks: Workbook) -> list[str]:
    """The table keys to work on: ``tables`` (checked), or every table whose sheet all the workbooks hold."""
    if tables:
        keys = list(dict.fromkeys(tables))
        unknown = [key for key in keys if key not in schemas]
        if unknown:
            raise InputError(f"unknown table {unknown[0]!r}", hint=f"choose from {', '.join(schemas)}")
        for key in keys:
            for workbook in workbooks:
                if schemas[key].sheet not in workbook.sheet_names:
                    raise InputError(
                        f"{workbook.source}: no sheet {schemas[key].sheet!r} for the {key} table",
                        hint=f"add the sheet, or set [tables.{key}] sheet = ... in sheetcrm.toml",
                    )
        return keys
    keys = [key for key, schema in schemas.items() if all(schema.sheet in w.sheet_names for w in workbooks)]
    if not keys:
        names = " and ".join(w.source for w in workbooks)
        raise InputError(
            f"{names}: no CRM table to work on (no sheet named as a table's sheet"
            + (" in both" if len(workbooks) > 1 else "")
            + ")",
            hint="name the sheets as the tables' [tables.NAME] sheet = ... in sheetcrm.toml says",
        )
    return keys


# --------------------------------------------------------------------------- results


@dataclass
class TableTransfer:
    """What copying one table did (or would do) to the target.

    ``edited`` counts cells; ``appended``, ``deleted`` and ``unchanged`` count rows.
    ``keyed_by`` is the id field rows were matched by, or None when matched by position.
    """

    table: str
    sheet: str
    created: bool = False
    keyed_by: str | None = None
    edited: int = 0
    appended: int = 0
    deleted: int = 0
    unchanged: int = 0
    columns_added: list[str] = field(default_factory=list)
    target_only_columns: list[str] = field(default_factory=list)
    skipped: list[SkippedRow] = field(default_factory=list)
    formula_cells: list[str] = field(default_factory=list)  # target cells holding formulas: never overwritten

    def counts(self) -> dict[str, int]:
        return {
            "created": int(self.created),
            "edited": self.edited,
            "appended": self.appended,
            "deleted": self.deleted,
            "unchanged": self.unchanged,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "sheet": self.sheet,
            "keyed_by": self.keyed_by,
            **self.counts(),
            "columns_added": list(self.columns_added),
            "target_only_columns": list(self.target_only_columns),
            "skipped": [row.to_dict() for row in self.skipped],
            "formula_cells": list(self.formula_cells),
        }

    def summary(self) -> str:
        """``Customers: 2 edited cells, 1 appended, 0 deleted, 41 unchanged``"""
        if self.created:
            head = f"{self.sheet}: created with {self.appended} rows"
        else:
            head = (
                f"{self.sheet}: {self.edited} edited cells, {self.appended} appended, "
                f"{self.deleted} deleted, {self.unchanged} unchanged"
            )
        extra = []
        if self.columns_added:
            extra.append(f"columns added: {', '.join(self.columns_added)}")
        if self.target_only_columns:
            extra.append(f"target's own columns left alone: {', '.join(self.target_only_columns)}")
        if self.skipped:
            extra.append(f"{len(self.skipped)} rows skipped")
        if self.formula_cells:
            extra.append(f"{len(self.formula_cells)} formula cells left alone")
        return head + (f" ({'; '.join(extra)})" if extra else "")


@dataclass
class TransferResult:
    """What :func:`copy_tables` did: per table counts, the runs it applied and their ChangeSets.

    ``changes`` are as applied (resolved) or, on a dry run, as planned; ``run_ids`` lists
    the runs in the order applied (undo the last first). ``schema_skipped`` says why the
    schema's rules were not planned (a target that keeps none, such as CSV);
    ``schema_pending`` the sheets and columns a dry run cannot plan rules for yet.
    """

    source: str
    target: str
    dry_run: bool
    tables: list[TableTransfer]
    changes: list[ChangeSet] = field(default_factory=list)
    run_ids: list[str] = field(default_factory=list)
    schema_skipped: str | None = None
    schema_pending: list[str] = field(default_factory=list)
    not_copied: dict[str, str] = field(default_factory=dict)  # table -> why

    @property
    def changed(self) -> bool:
        """Whether anything was (or, on a dry run, would be) written."""
        return any(self.changes)

    def table(self, key: str) -> TableTransfer:
        """The outcome of one table, by its key: ``result.table("customers").appended``."""
        for outcome in self.tables:
            if outcome.table == key:
                return outcome
        raise KeyError(f"no table {key!r} was copied (tables: {', '.join(t.table for t in self.tables)})")

    def counts(self) -> dict[str, int]:
        """Totals over the tables: ``{"created": 1, "edited": 3, "appended": 40, "deleted": 0, "unchanged": 9}``."""
        total: dict[str, int] = {}
        for outcome in self.tables:
            for name, n in outcome.counts().items():
                total[name] = total.get(name, 0) + n
        return total

    def preview(self, *, limit: int | None = 50) -> str:
        """The ChangeSets' previews, one after the other (``"no changes"`` when there are none)."""
        shown = [changes.preview(limit=limit) for changes in self.changes if changes]
        return "\n\n".join(shown) if shown else "no changes"

    def summary(self) -> str:
        lines = [f"{self.source} → {self.target}"]
        lines += [f"  {outcome.summary()}" for outcome in self.tables]
        lines += [f"  {key}: not copied, {why}" for key, why in self.not_copied.items()]
        if self.schema_skipped:
            lines.append(f"schema rules not written: {self.schema_skipped}")
        if self.schema_pending:
            lines.append(f"rules for what a real run creates are planned then: {', '.join(self.schema_pending)}")
        if self.dry_run:
            lines.append("dry run: nothing was written")
        elif self.run_ids:
            undo = ", then ".join(f"sheetcrm undo {run_id}" for run_id in reversed(self.run_ids))
            lines.append(f"applied as run {', '.join(self.run_ids)}; undo with: {undo}")
        else:
            lines.append("the target already matches: nothing written")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "dry_run": self.dry_run,
            "counts": self.counts(),
            "tables": [outcome.to_dict() for outcome in self.tables],
            "run_ids": list(self.run_ids),
            "schema_skipped": self.schema_skipped,
            "schema_pending": list(self.schema_pending),
            "not_copied": dict(self.not_copied),
            "changes": [line.__dict__ for changes in self.changes for line in changes.lines()],
        }


# --------------------------------------------------------------------------- copying


def copy_tables(
    source: Workbook,
    target: Workbook,
    config: Config,
    *,
    tables: Sequence[str] | None = None,
    dry_run: bool = False,
    command: str = "",
) -> TransferResult:
    """Make the target's CRM tables equal to the source's: values, then the schema's rules.

    ``tables`` restricts the copy to these table keys (default: every table of the config
    whose sheet the source holds). Only what differs is written, through ``target.apply``
    (backed up, atomic, logged for undo); ``dry_run`` writes nothing and returns the preview::

        >>> copy_tables(source, target, config, tables=["customers"], dry_run=True).preview()
    """
    if same_workbook(source, target):
        raise InputError(f"{source.source}: the source and the target are the same workbook", hint="name another")
    schemas = build_schemas(config)
    keys = chosen_tables(schemas, tables, source)
    read = source.read(*(schemas[key].sheet for key in keys))
    present = set(target.sheet_names)
    existing = target.read(*(schemas[key].sheet for key in keys if schemas[key].sheet in present))

    values = ChangeSet(f"copy tables from {source.source}")
    result = TransferResult(source.source, target.source, dry_run, [])
    pending: list[str] = []
    for key in keys:
        schema = schemas[key]
        table = read[schema.sheet]
        if not table.columns:
            result.not_copied[key] = f"the sheet {schema.sheet!r} in the source has no header row"
            continue
        there = existing.get(schema.sheet)
        if there is None or not there.columns:
            outcome = _plan_new_sheet(values, key, schema, table, target)
            pending.append(schema.sheet)
        else:
            outcome = _plan_sheet(values, key, schema, table, there, source.source, target.source)
            pending += [f"{schema.sheet}!{header}" for header in outcome.columns_added]
        result.tables.append(outcome)

    result.schema_skipped = _schema_unsupported(target)
    done = [o.table for o in result.tables]
    label = command or f"copy tables from {source.source}"
    if not pending:
        # one run: rules and values together (appended numbers take their column's format)
        combined = ChangeSet(values.description, values.changes)
        if result.schema_skipped is None:
            combined.changes += _plan_rules(target, schemas, done).changes
        _apply(result, target, combined, dry_run=dry_run, command=label)
        return result
    if dry_run:
        result.schema_pending = pending
        rules = _plan_rules(target, schemas, [k for k in done if schemas[k].sheet in present])
        _apply(result, target, values, dry_run=True, command=label)
        if result.schema_skipped is None:
            _apply(result, target, rules, dry_run=True, command=label)
        return result
    # the rules of sheets and columns created are planned once the target has them
    _apply(result, target, values, dry_run=False, command=label)
    if result.schema_skipped is None:
        _apply(result, target, _plan_rules(target, schemas, done), dry_run=False, command=f"{label} (schema)")
    return result


def _apply(result: TransferResult, target: Workbook, changes: ChangeSet, *, dry_run: bool, command: str) -> None:
    if not changes:
        return  # nothing differs: no run, no backup, no log entry
    applied = target.apply(changes, dry_run=dry_run, command=command)
    result.changes.append(applied.changes)
    if applied.run_id is not None:
        result.run_ids.append(applied.run_id)


def _schema_unsupported(target: Workbook) -> str | None:
    """Why the schema's rules cannot be read from (and so not planned on) the target, or None."""
    try:
        rules_reader(target)
    except InputError as error:
        return error.message
    return None


def _plan_rules(target: Workbook, schemas: Mapping[str, TableSchema], keys: Sequence[str]) -> ChangeSet:
    if not keys:
        return ChangeSet("apply schema")
    return plan_apply_schema(target, schemas=schemas, tables=keys)


def _plan_new_sheet(changes: ChangeSet, key: str, schema: TableSchema, table: Table, target: Workbook) -> TableTransfer:
    """The whole sheet as one ReplaceSheet: every row (there is nothing to match rows against)."""
    columns = Columns.of(schema, table)
    header_row = target.header_rows.get(schema.sheet, 1)  # where the target's config looks for it
    rows: list[tuple[CellValue, ...]] = [()] * (header_row - 1)
    rows.append(tuple(table.columns))
    cells = Cells(table)
    fields = [_field_of(columns, header) for header in table.columns]
    for row in table.rows:
        rows.append(tuple(typed_value(f, cells.value(row, h)) for f, h in zip(fields, table.columns, strict=True)))
    widths = {column_letter(index): float(f.width) for index, f in enumerate(fields, start=1) if f is not None}
    changes.replace_sheet(schema.sheet, rows, freeze=f"A{header_row + 1}", column_widths=widths)
    return TableTransfer(key, schema.sheet, created=True, appended=len(table))


def _field_of(columns: Columns, header: str) -> Field | None:
    for key, known in columns.headers.items():
        if known == header:
            return columns.fields[key]
    return None  # a header repeating another column's key: copied as text


def _plan_sheet(
    changes: ChangeSet, key: str, schema: TableSchema, table: Table, there: Table, source: str, target: str
) -> TableTransfer:
    """Edits, appends and deletions that make ``there`` (the target's sheet) hold ``table``'s rows."""
    sheet = schema.sheet
    theirs = Columns.of(schema, there)
    ours = Columns.of(schema, table)
    outcome = TableTransfer(key, sheet)
    outcome.target_only_columns = [h for k, h in theirs.headers.items() if k not in ours.headers] + theirs.repeated

    # columns the target lacks go after its last one, headers first
    letters = dict(theirs.letters)
    last = max((column_index(letter) for letter in there.letters.values()), default=0)
    for column_key, header in ours.headers.items():
        if column_key not in letters:
            last += 1
            letters[column_key] = column_letter(last)
            changes.edit(sheet, there.header_row, letters[column_key], old="", new=header, field=column_key)
            outcome.columns_added.append(header)

    pairs: list[tuple[int, int]] = []  # (source row, target row)
    new_rows: list[int] = []
    gone: list[int] = []
    id_key = schema.id_column
    src, dst = Cells(table), Cells(there)
    if id_key in ours.headers and id_key in theirs.headers:
        outcome.keyed_by = id_key
        mine = IdIndex.of(src, ours.headers[id_key], key=key, source=source)
        other = IdIndex.of(dst, theirs.headers[id_key], key=key, source=target)
        outcome.skipped = mine.skipped + other.skipped
        for value, row in mine.rows.items():
            if value in other.rows:
                pairs.append((row, other.rows[value]))
            elif value not in other.repeated:
                new_rows.append(row)
        gone = [row for value, row in other.rows.items() if value not in mine.rows and value not in mine.repeated]
    else:
        # no id to match by: the n-th row of one is the n-th row of the other
        pairs = list(zip(table.rows, there.rows, strict=False))
        new_rows = table.rows[len(pairs) :]
        gone = there.rows[len(pairs) :]

    for row, target_row in pairs:
        edited = False
        for column_key, header in ours.headers.items():
            field_ = ours.fields[column_key]
            text = src.value(row, header)
            present_header = theirs.headers.get(column_key)
            seen = dst.value(target_row, present_header) if present_header is not None else ""
            if canonical(field_, text) == canonical(field_, seen):
                continue
            if present_header is not None and there.is_formula(target_row, present_header):
                outcome.formula_cells.append(there.address(target_row, present_header))
                continue
            changes.edit(
                sheet, target_row, letters[column_key], old=seen, new=typed_value(field_, text), field=column_key
            )
            outcome.edited += 1
            edited = True
        if not edited:
            outcome.unchanged += 1

    appended: list[RowValues] = []
    for row in new_rows:
        values = {
            letters[column_key]: typed_value(ours.fields[column_key], src.value(row, header))
            for column_key, header in ours.headers.items()
        }
        filled = {letter: value for letter, value in values.items() if value is not None}
        if filled:  # a row holding only columns left alone adds nothing
            appended.append(filled)
    if appended:
        changes.append(sheet, appended)
    if gone:
        changes.delete(sheet, {row: dst.row(row) for row in gone})
    outcome.appended, outcome.deleted = len(appended), len(gone)
    return outcome

"""Import rows from another system's CSV or .xlsx export into a CRM table, as one ChangeSet.

Headers are mapped through the schema's aliases (English and Chinese) and an explicit
``mapping`` for the rest; values are normalised and validated; a row whose id, email or
phone matches a record updates it (only empty cells are filled) instead of adding a
duplicate; new rows get the next ids. Values are normalised as ``sheetcrm fix`` does, with
the ``[fix]`` settings of ``sheetcrm.toml`` unless ``phone_format``, ``default_region`` or
``day_first`` is given. Everything is one ChangeSet, so a dry run previews
it and ``sheetcrm undo`` takes it back::

    >>> plan = plan_import(workbook, "trade-show.csv", mapping={"WeChat ID": "wechat_id"})
    >>> plan.counts
    {'added': 40, 'updated': 3, 'unchanged': 1, 'merged': 2, 'rejected': 2}
    >>> result = import_rows(workbook, "trade-show.csv", rejects=Path("rejects.csv"))
    >>> result.run_id                                # sheetcrm undo <run_id>

Counts are of the file's rows: each is *added* (a new record), *updated* (it filled empty
cells of an existing record), *unchanged* (it matched a record and had nothing new),
*merged* (it repeats a record an earlier row of the same file adds) or *rejected*.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import pandas as pd

from sheetcrm.config import Config, FixConfig, PhoneFormat, load_config
from sheetcrm.errors import InputError, SheetNotFound, WorkbookUnreadable
from sheetcrm.schema.custom import build_schemas
from sheetcrm.schema.fields import Field, FieldType
from sheetcrm.schema.tables import TableSchema, normalize_header
from sheetcrm.sync.changeset import CellValue, ChangeSet
from sheetcrm.sync.csvfile import read_csv, write_csv
from sheetcrm.sync.table import Table, build_table
from sheetcrm.sync.workbook import ApplyResult, Workbook
from sheetcrm.validate.checks import check_column
from sheetcrm.validate.findings import Severity

__all__ = [
    "ImportPlan",
    "ImportResult",
    "KeptValue",
    "RowAction",
    "RowOutcome",
    "RowProblem",
    "import_rows",
    "parse_mapping",
    "plan_import",
    "read_source",
]

REJECT_COLUMNS = ("import_row", "import_problems")
"""The columns a rejects file adds after the source's own: the row number in the source, and why."""

_EMPTY_ROW = "empty-row"
_NOT_UNIQUE = "duplicate-value"
_MISSING = "missing-value"


class RowAction(StrEnum):
    """What became of one row of the imported file."""

    added = "added"
    updated = "updated"
    unchanged = "unchanged"
    merged = "merged"
    rejected = "rejected"


@dataclass(frozen=True)
class RowProblem:
    """A row of the file that fails validation: its row number there, why, and its values as read."""

    row: int
    reasons: tuple[str, ...]
    codes: tuple[str, ...]
    values: Mapping[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "reasons": list(self.reasons), "codes": list(self.codes), "values": dict(self.values)}


@dataclass(frozen=True)
class KeptValue:
    """Info: a record already held a value where the file holds another; the record's value stays."""

    row: int  # in the file
    target_row: int | None  # in the sheet; None for a record this import adds
    field: str
    kept: str
    ignored: str

    @property
    def message(self) -> str:
        where = f"row {self.target_row}" if self.target_row is not None else "the new record"
        return f"row {self.row}: {self.field} of {where} stays {self.kept!r}; the file has {self.ignored!r}"

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "message": self.message}


@dataclass(frozen=True)
class RowOutcome:
    """What became of one row of the file, and the record it matched (``matched_by`` a field name)."""

    row: int
    action: RowAction
    matched_by: str | None = None
    target_row: int | None = None  # the sheet row updated or left unchanged
    same_as: int | None = None  # for a merged row: the file row that adds the record

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "action": str(self.action)}


@dataclass
class ImportPlan:
    """What an import would do: the ChangeSet, and what became of every row of the file.

    ``columns`` maps each source header used to its field; ``dropped_columns`` names every
    source column left out, with the reason (no field matches it, another column already
    gives that field, or the sheet has no column for it).
    """

    source: str
    table: str
    sheet: str
    changes: ChangeSet
    columns: dict[str, str]
    dropped_columns: dict[str, str]
    outcomes: list[RowOutcome]
    rejects: list[RowProblem]
    problems: list[RowProblem]  # rows imported although they fail validation (allow_invalid)
    kept: list[KeptValue]
    source_headers: list[str]
    generated_ids: list[str] = field(default_factory=list)

    def _count(self, action: RowAction) -> int:
        return sum(1 for outcome in self.outcomes if outcome.action is action)

    @property
    def added(self) -> int:
        return self._count(RowAction.added)

    @property
    def updated(self) -> int:
        return self._count(RowAction.updated)

    @property
    def unchanged(self) -> int:
        return self._count(RowAction.unchanged)

    @property
    def merged(self) -> int:
        return self._count(RowAction.merged)

    @property
    def rejected(self) -> int:
        return self._count(RowAction.rejected)

    @property
    def counts(self) -> dict[str, int]:
        """``{"added": 3, "updated": 1, "unchanged": 0, "merged": 1, "rejected": 2}``"""
        return {str(action): self._count(action) for action in RowAction}

    def write_rejects(self, path: str | Path) -> Path:
        """Write the rejected rows as CSV: the source's columns, then ``import_row`` and ``import_problems``.

        Fix the rows there and import the file again: the two extra columns are reported and dropped.
        """
        rows = [[*self.source_headers, *REJECT_COLUMNS]]
        for reject in self.rejects:
            values = [reject.values.get(header, "") for header in self.source_headers]
            rows.append([*values, str(reject.row), "; ".join(reject.reasons)])
        target = Path(path)
        write_csv(target, rows)
        return target

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary: counts, columns, rejects, values kept and the changes."""
        return {
            "source": self.source,
            "table": self.table,
            "sheet": self.sheet,
            "counts": self.counts,
            "columns": dict(self.columns),
            "dropped_columns": dict(self.dropped_columns),
            "rejects": [reject.to_dict() for reject in self.rejects],
            "problems": [problem.to_dict() for problem in self.problems],
            "kept": [kept.to_dict() for kept in self.kept],
            "rows": [outcome.to_dict() for outcome in self.outcomes],
            "generated_ids": list(self.generated_ids),
            "changes": [line.__dict__ for line in self.changes.lines()],
        }

    def summary(self, *, limit: int = 20) -> str:
        """Lines a person reads: the counts, the columns dropped, the rows rejected and the values kept."""
        counts = ", ".join(f"{n} {action}" for action, n in self.counts.items())
        lines = [f"{Path(self.source).name} → {self.sheet}: {counts}"]
        for header, reason in self.dropped_columns.items():
            lines.append(f"dropped column {header!r}: {reason}")

        def listing(title: str, items: Sequence[str]) -> None:
            if items:
                lines.append(title)
                lines.extend(f"  {item}" for item in items[:limit])
                if len(items) > limit:
                    lines.append(f"  … and {len(items) - limit} more (--format json lists all)")

        listing("rejected:", [f"row {r.row}: {'; '.join(r.reasons)}" for r in self.rejects])
        listing("imported with problems:", [f"row {p.row}: {'; '.join(p.reasons)}" for p in self.problems])
        listing("existing values kept:", [kept.message for kept in self.kept])
        return "\n".join(lines)


@dataclass
class ImportResult:
    """An applied (or dry-run) import: the plan, what applying did, and where the rejects went."""

    plan: ImportPlan
    applied: ApplyResult
    rejects_file: Path | None = None

    @property
    def changes(self) -> ChangeSet:
        """The ChangeSet as applied (resolved: appended rows know their row numbers)."""
        return self.applied.changes

    @property
    def dry_run(self) -> bool:
        return self.applied.dry_run

    @property
    def run_id(self) -> str | None:
        return self.applied.run_id

    @property
    def rejects(self) -> list[RowProblem]:
        return self.plan.rejects

    @property
    def added(self) -> int:
        return self.plan.added

    @property
    def updated(self) -> int:
        return self.plan.updated

    @property
    def unchanged(self) -> int:
        return self.plan.unchanged

    @property
    def rejected(self) -> int:
        return self.plan.rejected

    @property
    def counts(self) -> dict[str, int]:
        return self.plan.counts

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.plan.to_dict(),
            "dry_run": self.dry_run,
            "run_id": self.run_id,
            "backup": str(self.applied.backup) if self.applied.backup else None,
            "rejects_file": str(self.rejects_file) if self.rejects_file else None,
            "changes": [line.__dict__ for line in self.changes.lines()],
        }

    def summary(self, *, limit: int = 20) -> str:
        text = self.plan.summary(limit=limit)
        if self.rejects_file is not None:
            text += f"\nrejected rows written to {self.rejects_file}"
        return text


# --------------------------------------------------------------------------- entry points


def parse_mapping(items: Iterable[str]) -> dict[str, str]:
    """``["WeChat ID=wechat_id", "Internal="]`` → ``{"WeChat ID": "wechat_id", "Internal": ""}`` (what ``--map`` gives).

    A field name holds no ``=``, so the last one splits; an empty field drops the column.
    """
    mapping: dict[str, str] = {}
    for item in items:
        source, sep, name = item.rpartition("=")
        if not sep or not source.strip():
            raise InputError(
                f"cannot read --map {item!r}", hint="write SOURCE_HEADER=FIELD, e.g. --map 'WeChat ID=wechat_id'"
            )
        mapping[source.strip()] = name.strip()
    return mapping


def read_source(source: str | Path, *, sheet: str | None = None, encoding: str | None = None) -> Table:
    """The file to import as a Table of text, indexed by its own row numbers.

    A CSV in any encoding :func:`~sheetcrm.sync.csvfile.read_csv` detects, or a sheet of an
    ``.xlsx``/``.xlsm`` file (``sheet``, default the first)::

        >>> read_source("trade-show.csv").columns
        ['客户名称', '手机', '邮箱']
    """
    from sheetcrm.sync.xlsx import XlsxBackend

    path = Path(source)
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        if encoding is not None:
            raise InputError(f"{path}: an encoding applies to CSV files only")
        backend = XlsxBackend(path, backups=0)
        names = backend.sheet_names()
        if not names:
            raise WorkbookUnreadable(path, "the workbook has no sheets")
        chosen = sheet if sheet is not None else names[0]
        found = next((name for name in names if name.casefold() == chosen.casefold()), None)
        if found is None:
            raise SheetNotFound(path, chosen, names)
        raw = backend.read_sheets([found])[found]
    elif suffix in (".csv", ".txt", ".tsv"):
        if sheet is not None:
            raise InputError(f"{path}: a CSV file has no sheets to choose from", hint="leave out the sheet")
        raw = read_csv(path, encoding=encoding)
    else:
        raise WorkbookUnreadable(
            path, f"cannot import a {suffix or 'file without extension'}", hint="export it as .csv or .xlsx"
        )
    return build_table(raw, source=str(path))


def plan_import(
    workbook: Workbook,
    source: str | Path,
    *,
    table: str = "customers",
    mapping: Mapping[str, str] | None = None,
    config: Config | None = None,
    schemas: Mapping[str, TableSchema] | None = None,
    allow_invalid: bool = False,
    sheet: str | None = None,
    encoding: str | None = None,
    phone_format: PhoneFormat | None = None,
    default_region: str | None = None,
    day_first: bool | None = None,
) -> ImportPlan:
    """Plan importing ``source`` (CSV or .xlsx) into ``table``: the ChangeSet and every row's fate.

    ``mapping`` maps source headers the aliases do not know to field names (``""`` drops a
    column). Rows failing validation are rejected unless ``allow_invalid``. Values are
    normalised as :func:`~sheetcrm.jobs.fix.plan_fix` does; ``phone_format``,
    ``default_region`` and ``day_first`` left out (``None``) come from the config's
    ``[fix]`` section. Nothing is written::

        >>> plan = plan_import(workbook, "leads.xlsx", mapping={"Handy": "phone"})
        >>> print(plan.changes.preview())
    """
    settings = config if config is not None else load_config()
    fix_settings = settings.fix.override(phone_format=phone_format, default_region=default_region, day_first=day_first)
    every = dict(schemas) if schemas is not None else build_schemas(settings)
    schema = _schema(table, every)
    if schema.sheet not in workbook.sheet_names:
        raise SheetNotFound(workbook.source, schema.sheet, workbook.sheet_names)
    incoming = read_source(source, sheet=sheet, encoding=encoding)
    target = workbook[schema.sheet]
    if not target.columns:
        raise InputError(
            f"{workbook.source}: sheet {schema.sheet!r} has no header row to import into",
            hint="create the workbook with `sheetcrm init`, or add the header row",
        )
    target_headers = schema.match_headers(target.columns).headers  # field -> sheet header
    columns, dropped = _map_columns(schema, incoming.columns, mapping or {}, target_headers)
    if not columns:
        why = "; ".join(f"{header!r}: {reason}" for header, reason in list(dropped.items())[:3]) or "it is empty"
        raise InputError(
            f"{source}: no column of the file means a field of {schema.sheet!r} ({why})",
            hint="map the columns with --map 'SOURCE HEADER=FIELD', e.g. --map 'Kontakt=name'",
        )
    references = _references(schema, every, workbook)
    return _Planner(schema, target, incoming, columns, references, allow_invalid, fix_settings).plan(
        source=str(source), dropped=dropped
    )


def import_rows(
    workbook: Workbook,
    source: str | Path,
    *,
    table: str = "customers",
    mapping: Mapping[str, str] | None = None,
    config: Config | None = None,
    schemas: Mapping[str, TableSchema] | None = None,
    allow_invalid: bool = False,
    sheet: str | None = None,
    encoding: str | None = None,
    phone_format: PhoneFormat | None = None,
    default_region: str | None = None,
    day_first: bool | None = None,
    dry_run: bool = False,
    rejects: Path | None = None,
) -> ImportResult:
    """Plan and apply an import as one run (``dry_run`` only previews it and writes nothing at all).

    ``rejects`` names a CSV file that receives the rejected rows and their problems (written
    after the workbook, and only when not a dry run). The other arguments are
    :func:`plan_import`'s::

        >>> result = import_rows(workbook, "trade-show.csv", rejects=Path("rejects.csv"))
        >>> result.counts, result.run_id
    """
    if rejects is not None:
        _refuse_overwrite(Path(rejects), Path(source), workbook)
    plan = plan_import(
        workbook,
        source,
        table=table,
        mapping=mapping,
        config=config,
        schemas=schemas,
        allow_invalid=allow_invalid,
        sheet=sheet,
        encoding=encoding,
        phone_format=phone_format,
        default_region=default_region,
        day_first=day_first,
    )
    applied = workbook.apply(plan.changes, dry_run=dry_run, command=f"import {Path(source).name}")
    written = plan.write_rejects(rejects) if rejects is not None and not dry_run else None
    return ImportResult(plan, applied, written)


# --------------------------------------------------------------------------- columns


def _schema(table: str, schemas: Mapping[str, TableSchema]) -> TableSchema:
    if table not in schemas:
        raise InputError(f"unknown table {table!r}", hint=f"choose from {', '.join(schemas)}")
    return schemas[table]


def _map_columns(
    schema: TableSchema, headers: Sequence[str], mapping: Mapping[str, str], placed: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """Source header -> field for the columns imported, and header -> reason for those dropped."""
    explicit: dict[str, str] = {}
    dropped: dict[str, str] = {}
    for given, name in mapping.items():
        header = _find_header(given, headers)
        if not name:
            dropped[header] = "dropped as asked"
            continue
        if name not in schema:
            close = difflib.get_close_matches(name, schema.columns, n=2)
            hint = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
            raise InputError(
                f"the mapping {given!r} → {name!r} names no field of {schema.key}",
                hint=hint + f"fields: {', '.join(schema.columns)}",
            )
        if name in explicit.values():
            other = next(h for h, n in explicit.items() if n == name)
            raise InputError(f"both {other!r} and {header!r} are mapped to {name!r}", hint="map one column per field")
        explicit[header] = name
    rest = [header for header in headers if header not in explicit and header not in dropped]
    matched = schema.match_headers(rest).fields
    columns: dict[str, str] = {}
    for header in headers:
        chosen = explicit.get(header) or matched.get(header)
        if header in dropped:
            continue
        if header not in explicit and chosen in explicit.values():
            chosen = None  # the mapping gives this field from another column
        if chosen is None:
            meant = schema.field_for_header(header)
            if meant is None:
                dropped[header] = f"no {schema.key} field matches it; map it with --map '{header}=FIELD'"
            elif meant in explicit.values():
                dropped[header] = f"{meant} comes from the mapped column {_key_for(explicit, meant)!r}"
            else:
                dropped[header] = f"{meant} comes from column {_key_for(matched, meant)!r}"
        elif chosen not in placed:
            wanted = schema.field(chosen).header
            dropped[header] = f"sheet {schema.sheet!r} has no {chosen} column; add one headed {wanted!r}"
        else:
            columns[header] = chosen
    return columns, dropped


def _find_header(given: str, headers: Sequence[str]) -> str:
    if given in headers:
        return given
    loose = [header for header in headers if normalize_header(header) == normalize_header(given)]
    if len(loose) == 1:
        return loose[0]
    raise InputError(
        f"the mapping names {given!r}, which is not a header of the file",
        hint=f"headers: {', '.join(map(repr, headers))}",
    )


def _key_for(mapping: Mapping[str, str], value: str) -> str:
    return next(key for key, v in mapping.items() if v == value)


def _references(
    schema: TableSchema, schemas: Mapping[str, TableSchema], workbook: Workbook
) -> dict[str, Collection[str]]:
    """For each reference field (orders.customer_id), the ids it may hold, read from the other sheet."""
    found: dict[str, Collection[str]] = {}
    for item in schema.fields:
        if item.reference is None:
            continue
        key, _, name = item.reference.partition(".")
        other = schemas.get(key)
        if other is None or other.sheet not in workbook.sheet_names:
            continue
        table = workbook[other.sheet]
        header = other.match_headers(table.columns).headers.get(name)
        if header is not None:
            found[item.reference] = set(table.frame[header].str.strip())
    return found


# --------------------------------------------------------------------------- values


def _normalised(item: Field, values: pd.Series, settings: FixConfig) -> pd.Series:
    """THE single place imported values are normalised, as ``sheetcrm fix`` does with the same ``settings``.

    Trimmed, then :func:`sheetcrm.validate.normalize.normalize_column`: phones to E.164,
    dates to ISO, choices through their synonyms, email domains lower-cased … Values it
    cannot fix for certain stay as they are (and fail validation if they are wrong).
    """
    from sheetcrm.validate.normalize import normalize_column  # phonenumbers loads only when importing

    text = values.astype("str").str.strip()
    fixed = normalize_column(
        text,
        item,
        phone_format=settings.phone_format,
        default_region=settings.default_region,
        day_first=settings.day_first,
    ).fixed
    if len(fixed):
        text = text.copy()
        text.loc[fixed.index] = fixed
    return text


def _digits(text: str) -> str:
    return re.sub(r"[^0-9]", "", text)


def _phone_key(text: str) -> str:
    """Digits without the international 00 or trunk 0 prefix: ``"+86 138-0013-8000"`` → ``"8613800138000"``."""
    return _digits(text).lstrip("0")


def _same_phone(a: str, b: str) -> bool:
    """Whether two phone keys are one number, written with or without its country code.

    Numbers of 11 digits or more compare by their last 11 (``13800138000`` is
    ``8613800138000``); a 10-digit number is also a North American one with ``+1``
    (``4155550134`` is ``14155550134``); shorter ones must be equal. Both sides went through
    the normaliser first, so a landline with its trunk 0 (``010 6552 9988``) is E.164 as well.
    """
    if a == b:
        return True
    if len(a) >= 11 and len(b) >= 11:
        return a[-11:] == b[-11:]
    short, long = sorted((a, b), key=len)
    return len(short) == 10 and long == "1" + short


def _same(item: Field, a: str, b: str) -> bool:
    """Whether two values say the same thing (so a difference is not worth reporting)."""
    if item.type is FieldType.phone:
        return _same_phone(_phone_key(a), _phone_key(b))
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def cell_value(item: Field, text: str) -> CellValue:
    """Numbers go into the sheet as numbers, so Excel sums them; everything else as its text.

    Dates stay ISO text: how a date serial shows depends on the column's format, which
    an import does not control, and ``validate`` reads the text the same either way.
    """
    if item.type is FieldType.integer and re.fullmatch(r"[+-]?[0-9]{1,15}", text):
        return int(text)
    if item.type in (FieldType.decimal, FieldType.money) and re.fullmatch(
        r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", text
    ):
        number = float(text)
        return int(number) if number.is_integer() and abs(number) < 1e15 and "." not in text else number
    return text


# --------------------------------------------------------------------------- ids


_ID_TAIL = re.compile(r"^(.*?)([0-9]+)$")
_PATTERN_SHAPE = re.compile(r"^((?:[A-Za-z_ ]|\\?-)*)(?:\[0-9\]|\\d)\{([0-9]+)(?:,[0-9]*)?\}$")


def _id_maker(item: Field, taken: Iterable[str]) -> Callable[[], str]:
    """Next ids in the table's pattern: after the highest number in use, zero-padded alike.

    ``C-000122`` and ``C-000007`` in use give ``C-000123``, ``C-000124``, …; an empty table
    takes prefix and width from the pattern ``C-[0-9]{6,}``: ``C-000001``.
    """
    pattern = re.compile(item.pattern) if item.pattern else None
    parsed = [
        (found.group(1), found.group(2))
        for value in taken
        if value and (pattern is None or pattern.fullmatch(value))
        if (found := _ID_TAIL.match(value))
    ]
    if parsed:
        prefix = Counter(p for p, _ in parsed).most_common(1)[0][0]
        numbers = [digits for p, digits in parsed if p == prefix]
        width = max(len(digits) for digits in numbers)
        following = max(int(digits) for digits in numbers) + 1
    else:
        shape = _PATTERN_SHAPE.match(item.pattern or "")
        prefix = shape.group(1).replace("\\", "") if shape else ""
        width = int(shape.group(2)) if shape else 1
        following = 1
    counter = iter(range(following, following + 10**9))

    def make() -> str:
        return f"{prefix}{next(counter):0{width}d}"

    return make


# --------------------------------------------------------------------------- planning


@dataclass
class _Record:
    """A record the import touches: an existing sheet row (``row``) or a new one (``row`` None)."""

    values: dict[str, str]  # field -> text now (trimmed), existing values then filled ones
    row: int | None
    first: int  # the file row that added it or first matched it
    seen: dict[str, str] = field(default_factory=dict)  # existing rows: field -> text as read
    filled: dict[str, str] = field(default_factory=dict)
    formulas: frozenset[str] = frozenset()  # fields whose cell holds a formula: never written


Target = int | _Record  # an existing row not yet touched, by number, or a record
Problem = tuple[str, str]  # (code, reason)


class _Index:
    """Finds the record a row means: by id, then email (case-insensitive), then phone."""

    def __init__(self, id_field: str | None, email_field: str | None, phone_field: str | None) -> None:
        self.exact: dict[str, dict[str, Target]] = {}
        for name in (id_field, email_field):
            if name is not None:
                self.exact[name] = {}
        self.email = email_field
        self.phone = phone_field
        self.phones: dict[str, list[tuple[str, Target]]] = {}  # last 7 digits -> (key, target)

    @property
    def fields(self) -> list[str]:
        return [*self.exact, *([self.phone] if self.phone else [])]

    def _exact_key(self, name: str, text: str) -> str:
        return text.casefold() if name == self.email else text

    def add(self, name: str, text: str, target: Target) -> None:
        if not text:
            return
        if name in self.exact:
            self.exact[name].setdefault(self._exact_key(name, text), target)  # the first row keeps a key
        elif name == self.phone:
            key = _phone_key(text)
            if len(key) >= 7:
                self.phones.setdefault(key[-7:], []).append((key, target))

    def find(self, values: Mapping[str, str]) -> tuple[Target, str] | None:
        for name, known in self.exact.items():
            text = values.get(name, "")
            if text and (found := known.get(self._exact_key(name, text))) is not None:
                return found, name
        if self.phone and (text := values.get(self.phone, "")):
            key = _phone_key(text)
            for candidate, target in self.phones.get(key[-7:], []) if len(key) >= 7 else []:
                if _same_phone(key, candidate):
                    return target, self.phone
        return None


class _Planner:
    """Walks the file's rows in order, matching, merging and checking them into one ChangeSet."""

    def __init__(
        self,
        schema: TableSchema,
        target: Table,
        incoming: Table,
        columns: Mapping[str, str],
        references: Mapping[str, Collection[str]],
        allow_invalid: bool,
        settings: FixConfig,
    ) -> None:
        self.schema = schema
        self.target = target
        self.incoming = incoming
        self.columns = dict(columns)
        self.references = references
        self.allow_invalid = allow_invalid
        self.settings = settings
        self.headers = schema.match_headers(target.columns).headers  # field -> sheet header
        self.fields = {name: schema.field(name) for name in self.headers}  # the fields the sheet holds
        self.outcomes: dict[int, RowOutcome] = {}
        self.rejects: list[RowProblem] = []
        self.problems: list[RowProblem] = []
        self.kept: list[KeptValue] = []
        self.records: dict[int, _Record] = {}  # existing rows touched, by row number
        self.new: list[_Record] = []

    # -- the frame of values, checked --------------------------------------------------------

    def _values(self) -> pd.DataFrame:
        frame = self.incoming.frame
        data = {
            name: _normalised(self.schema.field(name), frame[header], self.settings)
            for header, name in self.columns.items()
        }
        return pd.DataFrame(data, index=frame.index, columns=list(data))

    def _findings(self, values: pd.DataFrame) -> dict[int, list[Problem]]:
        """Per file row, (code, reason) of every value failing its field's rules."""
        found: dict[int, list[Problem]] = {}
        source_header = {name: header for header, name in self.columns.items()}
        for name in values.columns:
            # required is checked for rows that add a record (an update needs no name), and
            # uniqueness against the sheet as records are matched
            rules = self.schema.field(name).with_changes(required=False, unique=False)
            letter = self.incoming.letter(source_header[name])
            findings = check_column(
                self.incoming.sheet, letter, rules, values[name], references=self.references, settings=self.settings
            )
            for finding in findings:
                if finding.severity is not Severity.ERROR:
                    continue  # a phone fix leaves for want of its country is imported as written
                reason = finding.message + (f" → {finding.fix}" if finding.fix else "")
                found.setdefault(int(finding.row or 0), []).append((str(finding.code), reason))
        return found

    def _source_values(self, row: int) -> dict[str, str]:
        return {str(header): str(value) for header, value in self.incoming.frame.loc[row].items()}

    def _problem(self, row: int, problems: Sequence[Problem]) -> RowProblem:
        reasons, codes = tuple(r for _, r in problems), tuple(c for c, _ in problems)
        return RowProblem(row, reasons, codes, self._source_values(row))

    def _reject(self, row: int, problems: Sequence[Problem]) -> None:
        self.outcomes[row] = RowOutcome(row, RowAction.rejected)
        self.rejects.append(self._problem(row, problems))

    # -- records -------------------------------------------------------------------------------

    def _index(self) -> _Index:
        def present(name: str, kind: FieldType) -> str | None:
            found = self.fields.get(name)
            return name if found is not None and found.type is kind else None

        index = _Index(
            self.schema.id_column if self.schema.id_column in self.fields else None,
            present("email", FieldType.email),
            present("phone", FieldType.phone),
        )
        frame = self.target.frame
        for name in index.fields:
            column = frame[self.headers[name]]
            # the sheet's phones through the same normaliser, so E.164 meets E.164
            if name == index.phone:
                column = _normalised(self.fields[name], column, self.settings)
            else:
                column = column.str.strip()
            for row, text in zip(column.index.tolist(), column.tolist(), strict=True):
                index.add(name, text, int(row))
        return index

    def _unique_values(self) -> dict[str, dict[str, Target]]:
        """For each unique field of the sheet: value -> the row or record holding it."""
        used: dict[str, dict[str, Target]] = {}
        frame = self.target.frame
        for name, item in self.fields.items():
            if item.unique or name == self.schema.id_column:
                column = frame[self.headers[name]].str.strip()
                seen: dict[str, Target] = {}
                for row, text in zip(column.index.tolist(), column.tolist(), strict=True):
                    if text:
                        seen.setdefault(text, int(row))
                used[name] = seen
        return used

    def _existing(self, row: int) -> _Record:
        record = self.records.get(row)
        if record is None:
            seen = {name: self.target.value(row, header) for name, header in self.headers.items()}
            formulas = frozenset(n for n, h in self.headers.items() if self.target.is_formula(row, h))
            record = _Record({n: v.strip() for n, v in seen.items()}, row, first=0, seen=seen, formulas=formulas)
            self.records[row] = record
        return record

    def _merge(
        self, record: _Record, values: Mapping[str, str], row: int, used: dict[str, dict[str, Target]]
    ) -> list[str]:
        """Fill the record's empty values from ``values`` and report differing ones; the fields filled."""
        filled: list[str] = []
        for name, text in values.items():
            current = record.values.get(name, "")
            if name in record.formulas:
                continue
            if not current:
                holder = used.get(name, {}).get(text)
                if holder is not None and holder is not record and holder != record.row:
                    self.kept.append(KeptValue(row, record.row, name, "", text))
                    continue
                record.values[name] = text
                record.filled[name] = text
                if name in used:
                    used[name][text] = record
                filled.append(name)
            elif not _same(self.fields[name], current, text):
                self.kept.append(KeptValue(row, record.row, name, current, text))
        return filled

    # -- the walk ------------------------------------------------------------------------------

    def plan(self, *, source: str, dropped: dict[str, str]) -> ImportPlan:
        values = self._values()
        findings = self._findings(values)
        index = self._index()
        used = self._unique_values()
        rows = [int(row) for row in values.index.tolist()]
        texts = values.to_dict(orient="records") if len(values.columns) else [{} for _ in rows]
        for row, raw in zip(rows, texts, strict=True):
            given = {str(name): str(text) for name, text in raw.items() if str(text)}
            problems = list(findings.get(row, []))
            if not given:
                # never imported, even when asked to allow invalid rows: there is nothing to import
                self._reject(row, [(_EMPTY_ROW, "no values in the columns imported")])
                continue
            found = index.find(given)
            if found is None:
                problems += self._new_record_problems(given, used)
            if problems and (not self.allow_invalid or any(code == _NOT_UNIQUE for code, _ in problems)):
                self._reject(row, problems)  # a second record with a unique value is never added
                continue
            if problems:
                self.problems.append(self._problem(row, problems))
            if found is None:
                self._add(row, given, index, used)
            else:
                self._update(row, given, found, index, used)
        generated = self._assign_ids(used)
        changes = self._changes(source)
        outcomes = [self.outcomes[int(row)] for row in rows]
        self.rejects.sort(key=lambda r: r.row)
        return ImportPlan(
            source=source,
            table=self.schema.key,
            sheet=self.schema.sheet,
            changes=changes,
            columns=self.columns,
            dropped_columns=dropped,
            outcomes=outcomes,
            rejects=self.rejects,
            problems=self.problems,
            kept=self.kept,
            source_headers=self.incoming.columns,
            generated_ids=generated,
        )

    def _new_record_problems(self, given: Mapping[str, str], used: Mapping[str, Mapping[str, Target]]) -> list[Problem]:
        """What keeps a row from becoming a new record: a required value missing, a unique one taken."""
        id_field = self.schema.id_column  # generated when missing
        problems: list[Problem] = [
            (_MISSING, f"{name} is required")
            for name, item in self.fields.items()
            if item.required and name != id_field and not given.get(name)
        ]
        for name, holders in used.items():
            text = given.get(name, "")
            if name != id_field and text in holders:
                problems.append((_NOT_UNIQUE, f"{text!r}: {name} must be unique, and {_where(holders[text])} has it"))
        return problems

    def _add(self, row: int, given: Mapping[str, str], index: _Index, used: dict[str, dict[str, Target]]) -> None:
        record = _Record(dict(given), None, first=row, filled=dict(given))
        self.new.append(record)
        for name, text in given.items():
            index.add(name, text, record)
            if name in used:
                used[name].setdefault(text, record)
        self.outcomes[row] = RowOutcome(row, RowAction.added)

    def _update(
        self,
        row: int,
        given: Mapping[str, str],
        found: tuple[Target, str],
        index: _Index,
        used: dict[str, dict[str, Target]],
    ) -> None:
        target, matched_by = found
        record = self._existing(target) if isinstance(target, int) else target
        changed = self._merge(record, given, row, used)
        for name in changed:
            # a value filled in now finds the record too (row 2 brings the email, row 5 the phone)
            index.add(name, record.values[name], record if record.row is None else record.row)
        if record.row is None:
            self.outcomes[row] = RowOutcome(row, RowAction.merged, matched_by, same_as=record.first)
        else:
            action = RowAction.updated if changed else RowAction.unchanged
            self.outcomes[row] = RowOutcome(row, action, matched_by, target_row=record.row)

    def _assign_ids(self, used: dict[str, dict[str, Target]]) -> list[str]:
        id_field = self.schema.id_column
        if id_field not in self.fields:
            return []  # the sheet has no id column to fill
        make = _id_maker(self.fields[id_field], used.get(id_field, {}))
        generated: list[str] = []
        for record in self.new:
            if not record.values.get(id_field):
                new_id = make()
                while new_id in used.get(id_field, {}):
                    new_id = make()
                record.values[id_field] = record.filled[id_field] = new_id
                generated.append(new_id)
        return generated

    def _changes(self, source: str) -> ChangeSet:
        changes = ChangeSet(f"import {Path(source).name} into {self.schema.sheet}")
        sheet = self.schema.sheet
        for row in sorted(self.records):
            record = self.records[row]
            for name, text in record.filled.items():
                header = self.headers[name]
                changes.edit(
                    sheet,
                    row,
                    self.target.letter(header),
                    old=record.seen[name],
                    new=cell_value(self.fields[name], text),
                    field=name,
                )
        appended = [
            {
                self.target.letter(self.headers[name]): cell_value(self.fields[name], text)
                for name, text in record.values.items()
                if text
            }
            for record in self.new
        ]
        if appended:
            changes.append(sheet, appended)
        return changes


def _where(target: Target) -> str:
    return str(target) if isinstance(target, int) else f"{target.first} of the file"


def _refuse_overwrite(rejects: Path, source: Path, workbook: Workbook) -> None:
    """The rejects file must not be the file imported nor the workbook."""
    for other in (source, Path(workbook.source)):
        if rejects.resolve() == other.resolve():
            raise InputError(f"the rejects file {rejects} is the file {other} itself", hint="name another file")
    if rejects.suffix.lower() != ".csv":
        raise InputError(f"the rejects file {rejects} must be a .csv file")
    if not rejects.parent.is_dir():
        raise InputError(f"{rejects.parent}: no such folder for the rejects file")

"""``apply-schema``: put the schemas' rules onto an existing workbook without touching its data.

    >>> workbook = sheetcrm.open_workbook("crm.xlsx")
    >>> print(apply_schema(workbook, dry_run=True).preview())

On each column a schema knows (matched through the header aliases, English or Chinese)
it puts what ``sheetcrm init`` gives a new workbook:

- a note on the header cell saying what goes there, unless the header has a note of the
  team's own (a note sheetcrm wrote earlier is brought up to date);
- the field's number format, as one :class:`~sheetcrm.sync.changeset.SetColumnFormat`:
  on the column, for cells typed later, and on its empty and text cells still in the
  General format (numbers, dates and cells the team formatted keep theirs);
- for an enum field, a dropdown reading its choices from the hidden ``_lists`` sheet,
  unless the column has a data validation of the team's own. ``_lists`` is written when
  its lists change (created hidden); the lists of tables not applied this time stay
  where they are;
- for a date field and a number field with a minimum or maximum, the data validation a
  new workbook has (:func:`~sheetcrm.create.value_rule`), unless the column has one of
  the team's own. One sheetcrm put there is known by its range (the whole column below
  the header), type and error title, and is brought up to date.

The team's own columns and every value stay as they are. What is already in place is
not planned again, so a second run has no changes.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import unescape

from openpyxl.styles.numbers import BUILTIN_FORMATS
from openpyxl.utils.cell import range_boundaries

from sheetcrm.config import Config, load_config
from sheetcrm.create import LISTS_SHEET, dropdown_fields, header_note, list_label, list_source, value_rule
from sheetcrm.errors import InputError
from sheetcrm.schema.custom import build_schemas
from sheetcrm.schema.fields import display_width
from sheetcrm.schema.tables import TableSchema
from sheetcrm.sync.a1 import MAX_COLUMNS, MAX_ROWS, column_index, column_letter, split_address
from sheetcrm.sync.changeset import VALIDATION_TYPES, CellValue, ChangeSet, SetValidation, ValidationRule
from sheetcrm.sync.workbook import ApplyResult, Workbook

__all__ = ["apply_schema", "plan_apply_schema"]


@dataclass
class SheetRules:
    """What a sheet already has of the rules apply-schema puts on it."""

    notes: dict[str, tuple[str, bool]] = field(default_factory=dict)
    """The header cells' notes by column letter: (text, whether sheetcrm wrote it)."""
    formats: dict[str, str] = field(default_factory=dict)
    """Each column's own number format, by letter (absent: General)."""
    validations: list[tuple[str, str, str]] = field(default_factory=list)
    """The data validations: (ranges, type, formula1 without a leading =)."""
    value_rules: dict[str, ValidationRule] = field(default_factory=dict)
    """The date, number and other value validations (not lists) in full, by their ranges."""
    native_rules: dict[str, Any] | None = None
    """A Google Sheet's value validations as the API gives them, by range (they do not map back exactly)."""


def plan_apply_schema(
    workbook: Workbook,
    *,
    schemas: Mapping[str, TableSchema] | None = None,
    config: Config | None = None,
    tables: Sequence[str] | None = None,
) -> ChangeSet:
    """The ChangeSet putting header notes, number formats, dropdowns and validations on the tables' columns.

    ``tables`` are table keys (default: every table whose sheet is in the workbook);
    ``schemas`` default to the built-in ones with the config's changes applied.
    """
    chosen = dict(schemas) if schemas is not None else build_schemas(config if config is not None else load_config())
    keys = _keys(workbook, chosen, tables)
    rules_of = rules_reader(workbook)
    read = workbook.read(*(chosen[key].sheet for key in keys))
    changes = ChangeSet("apply schema")
    before = _read_lists(workbook)
    lists = dict(before)
    wanted: list[tuple[str, str, int, str, SheetRules]] = []  # sheet, column letter, first data row, list label
    for key in keys:
        schema = chosen[key]
        table = read[schema.sheet]
        if not table.columns:
            continue  # an empty sheet: no headers to put rules on
        rules = rules_of(schema.sheet, table.header_row)
        first = table.header_row + 1
        with_dropdown = {f.name for f in dropdown_fields(schema)}
        for header, name in schema.match_headers(table.columns).fields.items():
            field_ = schema.field(name)
            letter = table.letter(header)
            text = header_note(field_)
            note = rules.notes.get(letter)
            if note is None or (note[1] and note[0] != text):
                changes.note(schema.sheet, table.header_row, letter, text)
            if field_.number_format != "General" and rules.formats.get(letter, "General") != field_.number_format:
                changes.column_format(schema.sheet, letter, field_.number_format, first_row=first)
            if name in with_dropdown and not _validated_by_team(rules, letter, first):
                label = list_label(schema, field_)
                lists[label] = field_.choices  # a list already on _lists keeps its column
                wanted.append((schema.sheet, letter, first, label, rules))
            rule = value_rule(field_) if name not in with_dropdown else None
            if rule is not None and not _ruled_by_team(rules, letter, first, rule):
                ref = f"{letter}{first}:{letter}{MAX_ROWS}"
                present = _present_rule(rules, ref, rule)
                if present != rule:  # the rule there as ``old``, so that a dry run shows it
                    changes.add(SetValidation(schema.sheet, ref, rule, old=present))
    position = {label: index for index, label in enumerate(lists, start=1)}
    for sheet, letter, first, label, rules in wanted:
        ref = f"{letter}{first}:{letter}{MAX_ROWS}"
        source = list_source(position[label], len(lists[label]))
        if (ref, "list", source) not in rules.validations:
            changes.dropdown(sheet, ref, source=source)
    if list(lists.items()) != before:
        _plan_lists(changes, workbook, lists)
    return changes


def apply_schema(
    workbook: Workbook,
    *,
    schemas: Mapping[str, TableSchema] | None = None,
    config: Config | None = None,
    tables: Sequence[str] | None = None,
    dry_run: bool = False,
    out: str | Path | None = None,
) -> ApplyResult:
    """Plan and apply :func:`plan_apply_schema` as one run (``dry_run`` only previews; ``out`` writes a new file)."""
    changes = plan_apply_schema(workbook, schemas=schemas, config=config, tables=tables)
    return workbook.apply(changes, dry_run=dry_run, command="apply-schema", out=out)


# -- which tables ---------------------------------------------------------------------------


def _keys(workbook: Workbook, schemas: Mapping[str, TableSchema], tables: Sequence[str] | None) -> list[str]:
    present = workbook.sheet_names
    if not tables:
        keys = [key for key, schema in schemas.items() if schema.sheet in present]
        if not keys:
            raise InputError(
                f"{workbook.source}: no sheet holds a CRM table (sheets: {', '.join(present)})",
                hint="name the sheets as the tables' [tables.NAME] sheet = ... in sheetcrm.toml says",
            )
        return keys
    keys = list(dict.fromkeys(tables))
    unknown = [key for key in keys if key not in schemas]
    if unknown:
        raise InputError(f"unknown table {unknown[0]!r}", hint=f"choose from {', '.join(schemas)}")
    for key in keys:
        if schemas[key].sheet not in present:
            raise InputError(
                f"{workbook.source}: no sheet {schemas[key].sheet!r} for the {key} table",
                hint=f"add the sheet, or set [tables.{key}] sheet = ... in sheetcrm.toml",
            )
    return keys


# -- the _lists sheet -----------------------------------------------------------------------


def _read_lists(workbook: Workbook) -> list[tuple[str, tuple[str, ...]]]:
    """The lists on ``_lists`` as they are: (label, choices), in column order."""
    if LISTS_SHEET not in workbook.sheet_names:
        return []
    table = workbook[LISTS_SHEET]
    return [(label, tuple(v for v in table.frame[label].astype(str) if v != "")) for label in table.columns]


def _plan_lists(changes: ChangeSet, workbook: Workbook, lists: Mapping[str, tuple[str, ...]]) -> None:
    """Write the lists: a new ``_lists`` sheet, or the cells that change on the one there.

    A new sheet is hidden, as in a new workbook. Editing cells of the one there leaves
    whatever else it holds alone, and it stays hidden or not as the team has it.
    """
    rows = _lists_rows(lists)
    table = workbook[LISTS_SHEET] if LISTS_SHEET in workbook.sheet_names else None
    if table is None or table.header_row != 1:
        changes.replace_sheet(LISTS_SHEET, rows, column_widths=_lists_widths(lists), hidden=True)
        return
    old: dict[tuple[int, str], str] = {}
    for header, letter in table.letters.items():
        if header != f"(column {letter})":  # a blank header, named by the reader
            old[(1, letter)] = header
        for row in table.rows:
            old[(row, letter)] = table.value(row, header)
    new = {
        (number, column_letter(index)): str(value)
        for number, values in enumerate(rows, start=1)
        for index, value in enumerate(values, start=1)
        if value is not None
    }
    for row, letter in sorted(old.keys() | new.keys(), key=lambda cell: (column_index(cell[1]), cell[0])):
        before, after = old.get((row, letter), ""), new.get((row, letter), "")
        if before != after:
            changes.edit(LISTS_SHEET, row, letter, old=before, new=after or None)


def _lists_rows(lists: Mapping[str, tuple[str, ...]]) -> list[list[CellValue]]:
    depth = max((len(choices) for choices in lists.values()), default=0)
    rows: list[list[CellValue]] = [list(lists)]
    for index in range(depth):
        rows.append([choices[index] if index < len(choices) else None for choices in lists.values()])
    return rows


def _lists_widths(lists: Mapping[str, tuple[str, ...]]) -> dict[str, float]:
    return {
        column_letter(index): float(max(12, *(display_width(value) + 2 for value in choices)))
        for index, (label, choices) in enumerate(lists.items(), start=1)
    }


def _validated_by_team(rules: SheetRules, letter: str, first: int) -> bool:
    """Whether a data validation other than a dropdown on exactly ``letter{first}:letter1048576`` covers the column.

    A dropdown on exactly that range is one apply-schema or ``init`` put there, and is
    replaced; any other one is the team's, and stays.
    """
    ref = f"{letter}{first}:{letter}{MAX_ROWS}"
    return _covered(rules, letter, first, lambda where, kind: where == ref and kind == "list")


def _ruled_by_team(rules: SheetRules, letter: str, first: int, rule: ValidationRule) -> bool:
    """Whether a data validation other than sheetcrm's own ``rule`` covers the column.

    A rule on exactly ``letter{first}:letter1048576`` of the same type with the error
    title sheetcrm writes (the field's header) is one apply-schema or ``init`` put there,
    and is brought up to date; any other one is the team's, and stays.
    """
    ref = f"{letter}{first}:{letter}{MAX_ROWS}"
    present = _present_rule(rules, ref, rule)
    if rules.native_rules is not None:  # a Google Sheet: sheetcrm's rule is the one it would send
        ours = ref in rules.native_rules
    else:
        ours = present is not None and (present.type, present.error_title) == (rule.type, rule.error_title)
    return _covered(rules, letter, first, lambda where, kind: ours and where == ref and kind == rule.type)


def _present_rule(rules: SheetRules, ref: str, rule: ValidationRule) -> ValidationRule | None:
    """The rule on ``ref`` now; on a Google Sheet, ``rule`` itself when what is there is what it would send."""
    if rules.native_rules is None:
        return rules.value_rules.get(ref)
    from sheetcrm.sync.gsheets.translate import validation_rule

    native = rules.native_rules.get(ref)
    if native is None:
        return None
    return rule if native == validation_rule(rule, ref.split(":")[0]) else ValidationRule("custom", formula1="?")


def _covered(rules: SheetRules, letter: str, first: int, ours: Callable[[str, str], bool]) -> bool:
    """Whether a data validation that is not ``ours(ranges, type)`` covers the column from row ``first`` down."""
    column = column_index(letter)
    for where, kind, _ in rules.validations:
        if ours(where, kind):
            continue
        for part in where.split():
            try:
                low_col, _, high_col, high_row = range_boundaries(part)
            except (ValueError, TypeError):
                continue
            if (low_col or 1) <= column <= (high_col or MAX_COLUMNS) and (high_row or MAX_ROWS) >= first:
                return True
    return False


# -- what a sheet already has -----------------------------------------------------------------

RulesReader = Callable[[str, int], SheetRules]


def rules_reader(workbook: Workbook) -> RulesReader:
    """How to read a sheet's notes, column formats and validations, for the kinds of workbook that have them."""
    from sheetcrm.sync.memory import MemoryBackend
    from sheetcrm.sync.xlsx import XlsxBackend

    backend = workbook.backend
    cache: dict[tuple[str, int], SheetRules] = {}

    def cached(read: RulesReader) -> RulesReader:
        def reader(sheet: str, header_row: int) -> SheetRules:
            if (sheet, header_row) not in cache:
                cache[(sheet, header_row)] = read(sheet, header_row)
            return cache[(sheet, header_row)]

        return reader

    if isinstance(backend, XlsxBackend):
        path, inventory = backend.path, backend.inventory()
        return cached(lambda sheet, row: _xlsx_rules(path, inventory.sheet(sheet).part, row))
    if isinstance(backend, MemoryBackend):
        book = backend.book
        return cached(lambda sheet, row: _memory_rules(book.sheets[sheet], row))
    from sheetcrm.sync.gsheets.backend import GoogleSheetsBackend

    if isinstance(backend, GoogleSheetsBackend):
        google = backend
        return cached(lambda sheet, row: _google_rules(google, sheet, row))
    raise InputError(
        f"{workbook.source}: apply-schema needs an .xlsx workbook",
        hint="a CSV file keeps no notes, formats or dropdowns; open it in a spreadsheet program and save it as .xlsx",
    )


def _memory_rules(sheet: object, header_row: int) -> SheetRules:
    from sheetcrm.sync.memory import GridSheet

    assert isinstance(sheet, GridSheet)
    rules = SheetRules()
    for (row, column), text in sheet.notes.items():
        if row == header_row:
            rules.notes[column_letter(column)] = (text, False)  # memory keeps no authors
    rules.formats = {column_letter(column): format for column, format in sheet.column_formats.items()}
    for ref, (choices, source) in sheet.dropdowns.items():
        formula = source if source is not None else '"' + ",".join(choices or ()) + '"'
        rules.validations.append((ref, "list", formula))
    for ref, rule in sheet.validations.items():
        rules.validations.append((ref, rule.type, rule.formula1))
        rules.value_rules[ref] = rule
    return rules


def _google_rules(backend: Any, sheet: str, header_row: int) -> SheetRules:
    """A Google Sheet's header notes, and the formats and validations of its first data row (one API call).

    Sheets has no column formats or column-wide validations of its own: what apply-schema put
    on a column is on each of its cells, so the first data row tells what the column has.
    """
    from sheetcrm.sync.gsheets.backend import NOTE_MARK
    from sheetcrm.sync.gsheets.translate import dropdown_of, format_code

    header, first = backend.rows_of_cells(sheet, header_row, 2)
    rules = SheetRules(native_rules={})
    for index, cell in enumerate(header, start=1):
        note = cell.get("note")
        if note:
            ours = note.endswith(NOTE_MARK)
            rules.notes[column_letter(index)] = (note.removesuffix(NOTE_MARK) if ours else note, ours)
    for index, cell in enumerate(first, start=1):
        letter = column_letter(index)
        code = format_code((cell.get("userEnteredFormat") or {}).get("numberFormat"))
        if code is not None:
            rules.formats[letter] = code
        native = cell.get("dataValidation")
        if not native:
            continue
        ref = f"{letter}{header_row + 1}:{letter}{MAX_ROWS}"
        dropdown = dropdown_of(native)
        if dropdown is not None:
            choices, source = dropdown
            rules.validations.append((ref, "list", source or '"' + ",".join(choices or ()) + '"'))
        else:
            rules.validations.append((ref, "custom", ""))
            assert rules.native_rules is not None
            rules.native_rules[ref] = native
    return rules


# An .xlsx file is read here with the safe readers of the preflight: the notes from the
# sheet's comments part, the column formats from <cols> (before the cells) and styles.xml,
# the validations from after the cells, streaming past those. openpyxl would load every cell.

_ATTRIBUTE = re.compile(rb"""([\w:.\-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def _attributes(text: bytes) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, double, single in _ATTRIBUTE.findall(text):
        key = name.decode("utf-8").rpartition(":")[2]
        found[key] = unescape((double or single).decode("utf-8"), {"&quot;": '"', "&apos;": "'"})
    return found


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _xlsx_rules(path: Path, part: str, header_row: int) -> SheetRules:
    from sheetcrm.sync import preflight

    pfx = preflight._PFX
    col = re.compile(rb"<" + pfx + rb"col\s([^>]*?)/?>")
    validation = re.compile(
        rb"<" + pfx + rb"dataValidation\s([^>]*?)(?:/>|>(.*?)</" + pfx + rb"dataValidation\s*>)", re.S
    )
    formula1 = re.compile(rb"<" + pfx + rb"formula1\s*>(.*?)</" + pfx + rb"formula1\s*>", re.S)
    formula2 = re.compile(rb"<" + pfx + rb"formula2\s*>(.*?)</" + pfx + rb"formula2\s*>", re.S)
    rules = SheetRules()
    with preflight._open_zip(path) as archive:
        present = set(archive.namelist())
        rules.notes = _xlsx_notes(path, archive, part, present, header_row)
        head, tail = _head_and_tail(path, archive, part)
        number_formats = _xlsx_number_formats(path, archive, present)
    for match in col.finditer(head):
        attributes = _attributes(match.group(1))
        try:
            low, high = int(attributes["min"]), int(attributes["max"])
            style = int(attributes.get("style", "0"))
        except (KeyError, ValueError):
            continue
        format = number_formats[style] if 0 <= style < len(number_formats) else "General"
        if format != "General":
            for index in range(max(1, low), min(high, MAX_COLUMNS) + 1):
                rules.formats[column_letter(index)] = format
    for match in validation.finditer(tail):
        attributes = _attributes(match.group(1))
        if "sqref" not in attributes:
            continue  # an x14 validation, which names its ranges differently (and openpyxl drops)
        first = _formula(formula1, match.group(2))
        rules.validations.append((attributes["sqref"], attributes.get("type", "none"), first or ""))
        if attributes.get("type") in VALIDATION_TYPES:
            rules.value_rules[attributes["sqref"]] = _value_rule(attributes, first, _formula(formula2, match.group(2)))
    return rules


def _formula(pattern: re.Pattern[bytes], body: bytes | None) -> str | None:
    found = pattern.search(body or b"")
    if found is None:
        return None
    return unescape(found.group(1).decode("utf-8"), {"&quot;": '"', "&apos;": "'"}).strip().lstrip("=")


def _value_rule(attributes: Mapping[str, str], formula1: str | None, formula2: str | None) -> ValidationRule:
    """A <dataValidation> of a value type as the rule it holds (unknown operators compare unequal to any of ours)."""

    def flag(name: str) -> bool:
        return attributes.get(name, "0").lower() in ("1", "true")

    return ValidationRule(
        type=attributes["type"],  # type: ignore[arg-type]  # one of VALIDATION_TYPES, checked by the caller
        operator=attributes.get("operator", "between"),  # type: ignore[arg-type]  # Excel's default
        formula1=formula1 or "",
        formula2=formula2,
        allow_blank=flag("allowBlank"),
        show_error=flag("showErrorMessage"),
        error_title=attributes.get("errorTitle"),
        error=attributes.get("error"),
    )


def _xlsx_notes(
    path: Path, archive: zipfile.ZipFile, part: str, present: set[str], header_row: int
) -> dict[str, tuple[str, bool]]:
    from sheetcrm.sync import preflight
    from sheetcrm.sync.changeset import NOTE_AUTHOR

    rels = preflight.rels_path(part)
    if rels not in present:
        return {}
    notes: dict[str, tuple[str, bool]] = {}
    for rel in preflight._read_rels(path, archive, rels):
        if not rel.get("Type", "").endswith("/comments") or rel.get("TargetMode") == "External":
            continue
        target = preflight.resolve_target(posixpath.dirname(part), rel.get("Target", ""))
        if target not in present:
            continue
        root = preflight._parse_xml(path, archive, target)
        authors = [a.text or "" for a in root.iter() if _local(a.tag) == "author"]
        for comment in (c for c in root.iter() if _local(c.tag) == "comment"):
            try:
                letter, row = split_address(comment.get("ref", ""))
                author = authors[int(comment.get("authorId", "-1"))] if comment.get("authorId") else ""
            except (ValueError, IndexError):
                continue
            if row == header_row:
                text = "".join(t.text or "" for t in comment.iter() if _local(t.tag) == "t")
                notes[letter] = (text, author == NOTE_AUTHOR)
    return notes


def _xlsx_number_formats(path: Path, archive: zipfile.ZipFile, present: set[str]) -> list[str]:
    """The number format of each cell style (cellXfs), by style index."""
    from sheetcrm.sync import preflight

    workbook_part = preflight._find_workbook_part(path, archive, present)
    styles = "xl/styles.xml"
    rels = preflight.rels_path(workbook_part)
    if rels in present:
        for rel in preflight._read_rels(path, archive, rels):
            if rel.get("Type", "").endswith("/styles"):
                styles = preflight.resolve_target(posixpath.dirname(workbook_part), rel.get("Target", ""))
    if styles not in present:
        return []
    root = preflight._parse_xml(path, archive, styles)
    custom = {
        int(element.get("numFmtId", "-1")): element.get("formatCode", "General")
        for element in root.iter()
        if _local(element.tag) == "numFmt"
    }
    formats: list[str] = []
    for group in (element for element in root if _local(element.tag) == "cellXfs"):
        for xf in group:
            number = int(xf.get("numFmtId", "0") or 0)
            formats.append(custom.get(number) or BUILTIN_FORMATS.get(number, "General"))
    return formats


def _head_and_tail(path: Path, archive: zipfile.ZipFile, part: str) -> tuple[bytes, bytes]:
    """A sheet's XML before its cells (holding <cols>) and after them (holding <dataValidations>)."""
    from sheetcrm.sync import preflight

    head = b""
    tail = bytearray()
    pending = b""
    state = "head"
    with preflight._reading(path, part), archive.open(part) as handle:
        while chunk := handle.read(preflight._CHUNK):
            if state == "tail":
                tail += chunk
                continue
            buffer = pending + chunk
            if state == "head":
                start = preflight._SHEETDATA_START.search(buffer)
                if start is None:
                    pending = buffer  # the part before the cells is small
                    continue
                head, buffer, state = buffer[: start.start()], buffer[start.start() :], "cells"
            end = preflight._SHEETDATA_END.search(buffer)
            if end is None:
                pending = buffer[-256:]  # enough to hold an end tag split across two chunks
                continue
            tail += buffer[end.end() :]
            state = "tail"
    return head if state != "head" else pending, bytes(tail)

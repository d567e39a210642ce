"""New CRM workbooks laid out from the schemas (``sheetcrm init``), and the committed templates.

Each table becomes a sheet: its fields' headers, each with a note saying what goes there;
a bold, filled, frozen header row with filters; column widths; number formats; a dropdown
for every enum field, its choices on the hidden ``_lists`` sheet; and data validation for
dates and for numbers with a minimum or maximum::

    >>> create_workbook("crm.xlsx", tables=["customers", "orders"])
    PosixPath('crm.xlsx')
    >>> create_workbook("mine.xlsx", schemas=build_schemas(load_config("sheetcrm.toml")))
    PosixPath('mine.xlsx')

Number formats sit on the columns (the style of the ``<col>`` element), as Excel writes
them when a person formats a whole column: Excel and LibreOffice give that format to
every cell typed into the column later. Formatting the cells of empty rows instead would
write a cell per row, stretch the used range over rows nobody filled, and stop at some
arbitrary row. The header cells have a style of their own, so the column's format never
applies to them.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import openpyxl
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.workbook.workbook import Workbook as OpenpyxlWorkbook
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.writer.excel import ExcelWriter

from sheetcrm.errors import InputError
from sheetcrm.schema.fields import NUMERIC_TYPES, Field, FieldType, display_width
from sheetcrm.schema.tables import CRM_TABLES, TableSchema
from sheetcrm.sync.a1 import MAX_ROWS, column_letter, quote_sheet
from sheetcrm.sync.changeset import MAX_ERROR_MESSAGE, MAX_ERROR_TITLE, ValidationOperator, ValidationRule
from sheetcrm.sync.safewrite import replace_atomically

__all__ = [
    "LISTS_SHEET",
    "TEMPLATES",
    "create_workbook",
    "dropdown_fields",
    "header_note",
    "list_label",
    "list_source",
    "value_rule",
    "value_validation",
    "write_templates",
]

HEADER_FILL = "DDEBF7"
LISTS_SHEET = "_lists"
"""The hidden sheet holding the dropdowns' choices: one column per list, its label in row 1."""

FIRST_DATE = dt.date(1900, 1, 1)  # Excel's first date: the date validations run from it
LAST_DATE = dt.date(2200, 12, 31)
TEMPLATE_TIME = dt.datetime(2024, 1, 1)  # the templates' created and modified time, so regenerating changes nothing
_ZIP_TIME = (2024, 1, 1, 0, 0, 0)

TEMPLATES: dict[str, tuple[str, ...]] = {
    "crm.xlsx": tuple(CRM_TABLES),
    **{f"{key}.xlsx": (key,) for key in CRM_TABLES},
}
"""The committed templates under ``templates/``: file name -> the built-in tables it holds."""

# Excel's limits on a data validation's messages (longer ones make it repair the file).
_MAX_TITLE = MAX_ERROR_TITLE
_MAX_MESSAGE = MAX_ERROR_MESSAGE
_MAX_SHEET_NAME = 31
_BAD_SHEET_NAME = re.compile(r"[:\\/?*\[\]]")
_MAX_NOTE_CHOICES = 12  # more choices than this: the note points at the dropdown instead
_NOTE_LINE = 36  # characters per line of a note box 240 pixels wide

_TYPE_NOTES: dict[FieldType, str] = {
    FieldType.integer: "A whole number.",
    FieldType.decimal: "A number.",
    FieldType.money: "An amount of money.",
    FieldType.date: "A date, YYYY-MM-DD.",
    FieldType.datetime: "A date and time, YYYY-MM-DD HH:MM.",
    FieldType.phone: "A phone number, best with its country code.",
    FieldType.email: "An email address.",
    FieldType.url: "A web address.",
    FieldType.tags: "Tags, separated by commas.",
    FieldType.boolean: "yes or no.",
    FieldType.id: "The row's unique id.",
}


# -- what a column says about itself ----------------------------------------------------------


def header_note(field: Field) -> str:
    """The note on a field's header cell: what goes in the column, and the rules it follows.

    >>> print(header_note(CRM_TABLES["interactions"].field("rating")))
    The customer's feedback, 1 (poor) to 5 (excellent).
    A whole number from 1 to 5.
    """
    lines = [field.description.strip() or _what(field)]
    rules = [word for word, applies in (("required", field.required), ("unique", field.unique)) if applies]
    if rules:
        lines.append(", ".join(rules).capitalize() + ".")
    if field.choices:
        many = len(field.choices) > _MAX_NOTE_CHOICES
        if field.type is FieldType.enum:
            lines.append(
                f"Choose one of the {len(field.choices)} choices in the dropdown."
                if many
                else "Choose one of: " + ", ".join(field.choices) + "."
            )
        elif not many:
            lines.append("Tags from: " + ", ".join(field.choices) + ".")
    bounds = _bounds_phrase(field)
    if bounds:
        lines.append(bounds[0].upper() + bounds[1:] + ".")
    return "\n".join(lines)


def _what(field: Field) -> str:
    """What a field without a description holds, from its type."""
    if field.type is FieldType.reference and field.reference:
        table, _, column = field.reference.partition(".")
        return f"A {column} of the {table} table."
    return _TYPE_NOTES.get(field.type, f"{field.header}.")


def dropdown_fields(schema: TableSchema) -> list[Field]:
    """The fields that get a dropdown: every enum (tags hold several choices, which a dropdown cannot)."""
    return [field for field in schema.fields if field.type is FieldType.enum and field.choices]


def list_label(schema: TableSchema, field: Field) -> str:
    """The label of a field's list on the ``_lists`` sheet: ``"customers.tier"``."""
    return f"{schema.key}.{field.name}"


def list_source(column: int, count: int) -> str:
    """The reference a dropdown reads its choices from: ``list_source(1, 3) == "_lists!$A$2:$A$4"``."""
    letter = column_letter(column)
    return f"{quote_sheet(LISTS_SHEET)}!${letter}$2:${letter}${count + 1}"


def _bounds_phrase(field: Field) -> str:
    """``"a whole number from 1 to 5"``, ``"a number of at least 0"``; "" without bounds."""
    if field.type not in NUMERIC_TYPES or (field.minimum is None and field.maximum is None):
        return ""
    kind = "a whole number" if field.type is FieldType.integer else "a number"
    low, high = field.minimum, field.maximum
    if low is not None and high is not None:
        return f"{kind} from {_number(low)} to {_number(high)}"
    if low is not None:
        return f"{kind} of at least {_number(low)}"
    return f"{kind} of at most {_number(high)}"


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _serial(day: dt.date) -> int:
    """Excel's serial number of a date after 1900-02-28 (Excel counts a 29 February 1900)."""
    return (day - dt.date(1899, 12, 30)).days


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _error(validation: DataValidation, title: str, message: str) -> DataValidation:
    validation.errorTitle = _clip(title, _MAX_TITLE)
    validation.error = _clip(message, _MAX_MESSAGE)
    return validation


def dropdown_validation(field: Field, source: str) -> DataValidation:
    """The list validation of an enum column, reading its choices from ``source``."""
    validation = DataValidation(type="list", formula1=source, allow_blank=True, showErrorMessage=True)
    return _error(validation, field.header, "Choose one of: " + ", ".join(field.choices))


def value_rule(field: Field) -> ValidationRule | None:
    """The date or number rule of a column, where Excel has one for the field's type.

    ``init`` puts it on a new workbook's columns and ``apply-schema`` on an existing one's::

        >>> value_rule(CRM_TABLES["interactions"].field("rating")).describe()
        'whole number between 1 and 5'
    """
    title = _clip(field.header, _MAX_TITLE)
    if field.type in (FieldType.date, FieldType.datetime):
        last = float(_serial(LAST_DATE))
        if field.type is FieldType.datetime:
            last += 86_399 / 86_400  # a time on the last day is still that day
        return ValidationRule(
            "date",
            "between",
            "1",  # Excel's serial number of 1900-01-01
            f"{last:.16g}",
            error_title=title,
            error=_clip(f"Enter a date from {FIRST_DATE} to {LAST_DATE}, as YYYY-MM-DD.", _MAX_MESSAGE),
        )
    bounds = _bounds_phrase(field)
    if not bounds:
        return None
    low, high = field.minimum, field.maximum
    operator: ValidationOperator
    if low is not None and high is not None:
        operator, first, second = "between", _number(low), _number(high)
    elif low is not None:
        operator, first, second = "greaterThanOrEqual", _number(low), None
    else:
        operator, first, second = "lessThanOrEqual", _number(high), None
    return ValidationRule(
        "whole" if field.type is FieldType.integer else "decimal",
        operator,
        first,
        second,
        error_title=title,
        error=_clip(f"Enter {bounds}.", _MAX_MESSAGE),
    )


def value_validation(field: Field) -> DataValidation | None:
    """The date or number validation of a column (:func:`value_rule`) as openpyxl writes it."""
    from sheetcrm.sync.xlsx import data_validation  # one way to write a rule, for init and apply-schema

    rule = value_rule(field)
    return data_validation(rule) if rule is not None else None


# -- building a workbook ----------------------------------------------------------------------


def _chosen(tables: Sequence[str] | None, schemas: Mapping[str, TableSchema] | None) -> list[TableSchema]:
    """The schemas of the tables asked for, checked: known, and each on a sheet of its own."""
    available = dict(schemas) if schemas is not None else CRM_TABLES
    keys = list(dict.fromkeys(tables)) if tables else list(available)
    unknown = [key for key in keys if key not in available]
    if unknown:
        raise InputError(f"unknown table {unknown[0]!r}", hint=f"choose from {', '.join(available)}")
    chosen = [available[key] for key in keys]
    sheets: dict[str, str] = {}
    for schema in chosen:
        other = sheets.get(schema.sheet.casefold())
        if other is not None:
            raise InputError(
                f"tables {other!r} and {schema.key!r} both live on sheet {schema.sheet!r}",
                hint="give each table its own sheet in sheetcrm.toml: [tables.NAME] sheet = ...",
            )
        if schema.sheet.casefold() == LISTS_SHEET:
            raise InputError(f"table {schema.key!r}: the sheet name {LISTS_SHEET!r} is sheetcrm's own")
        if len(schema.sheet) > _MAX_SHEET_NAME or _BAD_SHEET_NAME.search(schema.sheet):
            raise InputError(
                f"table {schema.key!r}: {schema.sheet!r} cannot be a sheet name in Excel",
                hint=f"at most {_MAX_SHEET_NAME} characters, none of : \\ / ? * [ ]",
            )
        sheets[schema.sheet.casefold()] = schema.key
    return chosen


def build_workbook(schemas: Iterable[TableSchema]) -> OpenpyxlWorkbook:
    """An openpyxl workbook laid out from ``schemas``, one sheet each (not saved)."""
    book = openpyxl.Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    book.properties.creator = "sheetcrm"
    lists: list[tuple[str, tuple[str, ...]]] = []
    for schema in schemas:
        sheet = book.create_sheet(schema.sheet)
        bold, fill = Font(bold=True), PatternFill(fill_type="solid", fgColor=HEADER_FILL)
        dropdowns = {field.name for field in dropdown_fields(schema)}
        for index, field in enumerate(schema.fields, start=1):
            letter = column_letter(index)
            cell = sheet.cell(1, index, field.header)
            cell.data_type = "s"  # a header such as "=x" stays text
            cell.font, cell.fill = bold, fill
            cell.comment = _note(header_note(field))
            column = sheet.column_dimensions[letter]
            column.width = field.width
            if field.number_format != "General":
                column.number_format = field.number_format
            validation: DataValidation | None
            if field.name in dropdowns:
                lists.append((list_label(schema, field), field.choices))
                validation = dropdown_validation(field, list_source(len(lists), len(field.choices)))
            else:
                validation = value_validation(field)
            if validation is not None:
                validation.add(f"{letter}2:{letter}{MAX_ROWS}")
                sheet.add_data_validation(validation)
        sheet.freeze_panes = "A2"
        sheet.auto_filter.ref = f"A1:{column_letter(max(1, len(schema.fields)))}1"
    if lists:
        _add_lists(book, lists)
    book.active = 0
    return book


def _note(text: str) -> Comment:
    """A note sized to its text (Excel shows a note box at its stored size, cutting off the rest)."""
    from sheetcrm.sync.changeset import NOTE_AUTHOR  # apply-schema tells sheetcrm's notes from the team's by it

    lines = sum(max(1, math.ceil(display_width(line) / _NOTE_LINE)) for line in text.splitlines())
    return Comment(text, NOTE_AUTHOR, height=20 + 15 * lines, width=240)


def _add_lists(book: OpenpyxlWorkbook, lists: Sequence[tuple[str, tuple[str, ...]]]) -> None:
    sheet = book.create_sheet(LISTS_SHEET)
    for column, (label, choices) in enumerate(lists, start=1):
        for row, value in enumerate((label, *choices), start=1):
            sheet.cell(row, column, value).data_type = "s"
        sheet.column_dimensions[column_letter(column)].width = max(12, *(display_width(v) + 2 for v in choices))
    sheet.sheet_state = "hidden"  # the dropdowns show the choices; people need not see where they live


def _save(book: OpenpyxlWorkbook, target: Path, *, fixed_time: dt.datetime | None = None) -> None:
    """Save; with ``fixed_time``, byte for byte the same on every run (the templates are committed)."""
    if fixed_time is None:
        book.save(target)
        return
    book.properties.created = book.properties.modified = fixed_time
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(book, archive).write_data()  # book.save() would stamp the time of saving
    with zipfile.ZipFile(buffer) as written, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in written.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = info.external_attr
            archive.writestr(member, written.read(info))


def _write(book: OpenpyxlWorkbook, target: Path, *, overwrite: bool, fixed_time: dt.datetime | None = None) -> None:
    def refuse_if_created_meanwhile() -> None:
        if not overwrite and target.exists():
            raise InputError(f"{target} already exists", hint="choose another name")

    target.parent.mkdir(parents=True, exist_ok=True)
    replace_atomically(
        target, lambda temp: _save(book, temp, fixed_time=fixed_time), before_replace=refuse_if_created_meanwhile
    )


def create_workbook(
    path: str | Path,
    *,
    tables: Sequence[str] | None = None,
    schemas: Mapping[str, TableSchema] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a new workbook with one sheet per table, laid out from the schemas.

    ``tables`` are table keys (default: all of ``schemas``); ``schemas`` default to the
    built-in :data:`~sheetcrm.schema.tables.CRM_TABLES` (``build_schemas(config)`` gives
    a team's own fields). Refuses to replace an existing file unless ``overwrite``.

    >>> create_workbook("crm.xlsx", tables=["customers", "orders"])
    PosixPath('crm.xlsx')
    """
    target = Path(path)
    if target.suffix.lower() != ".xlsx":
        raise InputError(f"{target}: a new workbook must be an .xlsx file")
    if target.exists() and not overwrite:
        raise InputError(f"{target} already exists", hint="choose another name; sheetcrm never overwrites a workbook")
    book = build_workbook(_chosen(tables, schemas))
    _write(book, target, overwrite=overwrite)
    return target


def write_templates(folder: str | Path) -> list[Path]:
    """(Re)write the template workbooks of :data:`TEMPLATES` into ``folder``, deterministically.

    The committed ones live in ``templates/``; regenerate them after changing the schemas::

        python -c "from sheetcrm.create import write_templates; write_templates('templates')"
    """
    written: list[Path] = []
    for name, keys in TEMPLATES.items():
        target = Path(folder) / name
        _write(build_workbook(_chosen(keys, None)), target, overwrite=True, fixed_time=TEMPLATE_TIME)
        written.append(target)
    return written

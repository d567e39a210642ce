"""A team's own fields and changes, from the ``[schema.*]`` sections of ``sheetcrm.toml``.

Per table, ``[schema.TABLE.fields.FIELD]`` changes a built-in field or, when the table has no
such field, adds a custom one (which needs its ``type``)::

    [schema.customers.fields.phone]
    required = true
    aliases = ["Handy"]            # added to the built-in aliases

    [schema.customers.fields.tier]
    choices = ["VIP", "Key", "Standard", "Trial"]
    synonyms = { "gold" = "VIP" }  # added to the built-in synonyms

    [schema.customers.fields.wechat_id]
    type = "text"
    description = "WeChat ID"
    group = "extra"
    header = "WeChat"              # its header in a new workbook (default: the field name)

Where each table lives (its sheet, its id column) stays in ``[tables.*]``. A custom table
``[tables.leads]`` gets a schema holding its id column and the fields of ``[schema.leads]``.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, field_validator
from pydantic import Field as Setting
from pydantic_core import PydanticCustomError

from sheetcrm.errors import ConfigError
from sheetcrm.schema.fields import FIELD_NAME, Field, FieldProblem, FieldType
from sheetcrm.schema.tables import CRM_TABLES, TableSchema, normalize_header

if TYPE_CHECKING:
    from sheetcrm.config import Config

__all__ = ["FieldConfig", "SchemaConfig", "build_schemas", "schema_problems"]

Problem = tuple[str, str, str | None]  # (dotted key, what is wrong, hint)


class FieldConfig(BaseModel):
    """``[schema.TABLE.fields.FIELD]``: changes to a built-in field, or a custom field."""

    model_config = ConfigDict(extra="forbid")

    type: FieldType | None = Setting(
        default=None,
        description="Field type; required for a custom field: " + ", ".join(FieldType) + ".",
        examples=["text"],
    )
    header: str | None = Setting(
        default=None, min_length=1, description="Header the field gets in a new workbook; default: the field name."
    )
    required: bool | None = Setting(default=None, description="A row must have a value here.")
    unique: bool | None = Setting(default=None, description="No two rows may have the same value here.")
    choices: list[str] | None = Setting(
        default=None, description="The allowed values of an enum field (or tags field); replaces the built-in ones."
    )
    synonyms: dict[str, str] | None = Setting(
        default=None,
        description='Other spellings of a choice, { "gold" = "VIP" }, matched case-insensitively; added to the built-in ones.',
    )
    pattern: str | None = Setting(
        default=None,
        description='Regular expression a whole non-empty value must match, e.g. "C-[0-9]{6}"; "" removes the pattern.',
    )
    minimum: float | None = Setting(default=None, description="Smallest allowed number.")
    maximum: float | None = Setting(default=None, description="Largest allowed number.")
    description: str | None = Setting(default=None, description="One line shown as the header's note.")
    aliases: list[str] | None = Setting(
        default=None, description="Other headers meaning this field; added to the built-in ones."
    )
    group: str | None = Setting(default=None, description='Group of the field, e.g. "contact", "company", "extra".')
    reference: str | None = Setting(
        default=None, description='For a reference field, the column it refers to: "customers.customer_id".'
    )
    format: str | None = Setting(
        default=None, description='Excel number format, e.g. "@" to keep leading zeros; default: by type.'
    )

    @field_validator("pattern")
    @classmethod
    def _check_pattern(cls, value: str | None) -> str | None:
        if value:
            try:
                re.compile(value)
            except re.error as exc:
                raise PydanticCustomError(
                    "pattern", "not a valid regular expression ({reason})", {"reason": str(exc)}
                ) from None
        return value


class SchemaConfig(BaseModel):
    """``[schema.TABLE]``: the fields a team changes or adds in one table."""

    model_config = ConfigDict(extra="forbid")

    fields: dict[str, FieldConfig] = Setting(
        default_factory=dict,
        description="Per field name: changes to a built-in field, or a custom field (which needs its type).",
    )


# --------------------------------------------------------------------------- building


def build_schemas(config: Config) -> dict[str, TableSchema]:
    """The schema of every table in ``config``: the built-in tables with ``[schema.*]`` applied,
    and custom tables from ``[tables.*]``. Raises ConfigError naming the file and the dotted key.

        >>> schemas = build_schemas(load_config("sheetcrm.toml"))
        >>> schemas["customers"].field("wechat_id").header
        'WeChat'
    """
    schemas, problems = _build(config)
    if problems:
        source = str(config.path) if config.path is not None else "config"
        shown = problems[:5]
        message = f"{source}: " + "; ".join(f"{key}: {problem}" for key, problem, _ in shown)
        if len(problems) > len(shown):
            message += f"; and {len(problems) - len(shown)} more"
        hints = [f"{key}: {hint}" if len(shown) > 1 else hint for key, _, hint in shown if hint]
        raise ConfigError(message, hint="; ".join(hints) or None)
    return schemas


def schema_problems(config: Config) -> list[Problem]:
    """What is wrong with the ``[schema.*]`` sections, as (dotted key, problem, hint); [] when nothing."""
    return _build(config)[1]


def _build(config: Config) -> tuple[dict[str, TableSchema], list[Problem]]:
    problems: list[Problem] = []
    sections: Mapping[str, SchemaConfig] = config.schema_
    for key in sections:
        if key not in config.tables:
            close = difflib.get_close_matches(key, list(config.tables), n=1, cutoff=0.6)
            hint = (f"did you mean [schema.{close[0]}]? " if close else "") + (
                f"a custom table needs [tables.{key}] with its sheet"
            )
            problems.append((f"schema.{_key(key)}", "no such table", hint))
    schemas: dict[str, TableSchema] = {}
    failed: set[str] = set()
    for key, table in config.tables.items():
        schema = _table(key, table.sheet, table.id_column, sections.get(key), problems)
        if schema is None:
            failed.add(key)
        else:
            schemas[key] = schema
    for key, schema in schemas.items():
        for field in schema.fields:
            if field.reference is not None and field.reference.partition(".")[0] not in failed:
                _check_reference(key, field, schemas, problems)
    return schemas, problems


def _table(
    key: str, sheet: str, id_header: str, section: SchemaConfig | None, problems: list[Problem]
) -> TableSchema | None:
    prefix = f"schema.{_key(key)}"
    base = CRM_TABLES.get(key)
    if base is None:
        id_name = _snake(id_header, "id")
        id_field = Field(
            id_name,
            FieldType.id,
            required=True,
            unique=True,
            header=id_header,
            description="Unique id of the row.",
            group="record",
        )
        base = TableSchema(key, sheet, id_name, (id_field,))
    else:
        base = base.with_changes(sheet=sheet)
        base = _with_id_header(base, id_header)

    fields = {field.name: field for field in base.fields}
    order = list(fields)
    claimed: dict[str, list[tuple[str, str, str]]] = {}  # field -> (normalised, setting, as written) from config
    before = len(problems)
    for name, given in (section.fields if section else {}).items():
        where = f"{prefix}.fields.{_key(name)}"
        if not FIELD_NAME.match(name):
            suggestion = _snake(name, "my_field")
            problems.append(
                (
                    where,
                    "a field name is snake_case: lower-case letters, digits and _",
                    f'write [{prefix}.fields.{suggestion}] with header = "{name}"',
                )
            )
            continue
        changes = given.model_dump(exclude_none=True)
        existing = fields.get(name)
        if existing is None and given.type is None:
            close = difflib.get_close_matches(name, order, n=1, cutoff=0.75)
            hint = f"did you mean [{prefix}.fields.{close[0]}]? " if close else ""
            problems.append(
                (
                    where,
                    f"{key} has no field {name!r} (a new field needs its type)",
                    hint + 'add type = "text" (or another type)',
                )
            )
            continue
        claimed[name] = [(normalize_header(alias), "aliases", alias) for alias in given.aliases or ()]
        if given.header:
            claimed[name].append((normalize_header(given.header), "header", given.header))
        try:
            fields[name] = _apply(existing, name, changes)
        except FieldProblem as problem:
            attribute = f".{problem.attribute}" if problem.attribute in given.model_fields_set else ""
            problems.append((where + attribute, problem.problem, problem.hint))
            continue
        if existing is None:
            order.append(name)
    _check_claims(prefix, fields, claimed, problems)
    if len(problems) > before:
        return None
    # A header the config gives a field is that field's, even when a built-in alias of another field says otherwise.
    for owner, claims in claimed.items():
        headers = {header for header, _, _ in claims}
        for name, field in fields.items():
            if name != owner and headers:
                kept = tuple(alias for alias in field.aliases if normalize_header(alias) not in headers)
                if kept != field.aliases:
                    fields[name] = field.with_changes(aliases=kept)
    try:
        return TableSchema(key, sheet, base.id_column, tuple(fields[name] for name in order))
    except ConfigError as error:
        problems.append((f"{prefix}.fields", error.message.removeprefix(f"table {key!r}: "), error.hint))
        return None


def _check_claims(
    prefix: str, fields: Mapping[str, Field], claimed: Mapping[str, list[tuple[str, str, str]]], problems: list[Problem]
) -> None:
    """A header the config gives one field may not be another field's name or header, nor given twice."""
    owners: dict[str, str] = {}
    for name, claims in claimed.items():
        for header, setting, written in claims:
            where = f"{prefix}.fields.{name}.{setting}"
            taken = next(
                (
                    other
                    for other, field in fields.items()
                    if other != name and header in (normalize_header(field.name), normalize_header(field.header))
                ),
                None,
            )
            if taken is None and header in owners:
                taken = owners[header]
            if taken is not None:
                problems.append(
                    (where, f"{written!r} already means field {taken!r}", "give each header to one field only")
                )
            owners[header] = name


def _apply(existing: Field | None, name: str, changes: dict[str, Any]) -> Field:
    """The field after the config's changes: aliases and synonyms add to the built-in ones."""
    if existing is None:
        changes = {
            **changes,
            "choices": tuple(changes.get("choices", ())),
            "aliases": tuple(changes.get("aliases", ())),
        }
        changes.setdefault("group", "extra")
        field_type = changes.pop("type")
        return Field(name, field_type, **changes)
    if "choices" in changes:
        changes["choices"] = tuple(changes["choices"])
    if "aliases" in changes:
        changes["aliases"] = existing.aliases + tuple(a for a in changes["aliases"] if a not in existing.aliases)
    if "synonyms" in changes or "choices" in changes:
        choices = changes.get("choices", existing.choices)
        kept = {spelling: choice for spelling, choice in existing.synonyms.items() if choice in choices}
        changes["synonyms"] = {**kept, **changes.get("synonyms", {})}
    if changes.get("type", existing.type) != existing.type:
        # A new type drops the settings that only made sense for the old one, unless given again.
        for setting, empty in (("choices", ()), ("synonyms", {}), ("minimum", None), ("maximum", None)):
            changes.setdefault(setting, empty)
        changes.setdefault("reference", None)
        if existing.type is FieldType.id:
            changes.setdefault("pattern", None)
    return existing.with_changes(**changes)


def _with_id_header(schema: TableSchema, header: str) -> TableSchema:
    """Honour ``[tables.X] id_column``: the field that header means becomes the id column;
    a header no field knows becomes an alias of the built-in id field."""
    name = schema.field_for_header(header)
    if name == schema.id_column:
        return schema
    if name is None:
        id_field = schema.field(schema.id_column)
        return schema.with_changes(fields={id_field.name: {"aliases": (*id_field.aliases, header)}})
    return schema.with_changes(id_column=name, fields={name: {"required": True, "unique": True}})


def _check_reference(key: str, field: Field, schemas: Mapping[str, TableSchema], problems: list[Problem]) -> None:
    assert field.reference is not None
    table, _, column = field.reference.partition(".")
    where = f"schema.{_key(key)}.fields.{field.name}.reference"
    target = schemas.get(table)
    if target is None:
        problems.append((where, f"no table {table!r} to refer to", f"tables: {', '.join(schemas)}"))
    elif column not in target:
        close = difflib.get_close_matches(column, target.columns, n=1)
        hint = f"did you mean {table}.{close[0]}?" if close else f"fields of {table}: {', '.join(target.columns)}"
        problems.append((where, f"{table} has no field {column!r}", hint))


def _snake(header: str, fallback: str) -> str:
    """A field name for a header: ``"Lead ID"`` -> ``"lead_id"``; ``fallback`` when none can be made."""
    text = unicodedata.normalize("NFKC", header).casefold()
    name = re.sub(r"[^a-z0-9]+", "_", text).strip("_")
    return name if FIELD_NAME.match(name) else fallback


def _key(name: str) -> str:
    """A table or field name as written in a dotted TOML key."""
    return name if re.match(r"^[A-Za-z0-9_-]+$", name) else '"' + name.replace('"', '\\"') + '"'

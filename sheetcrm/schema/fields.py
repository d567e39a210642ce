"""Field types and fields: what one column of a CRM table holds and how it looks in a sheet.

A :class:`Field` only *describes* a column; checking values against it is the job of an
engine (:func:`sheetcrm.schema.to_pandera` compiles fields to pandera checks)::

    >>> tier = Field("tier", FieldType.enum, choices=("VIP", "Key", "Standard"), synonyms={"vip": "VIP"})
    >>> tier.choice_for(" VIP "), tier.choice_for("vip"), tier.choice_for("gold")
    ('VIP', 'VIP', None)
    >>> Field("phone", FieldType.phone).number_format
    '@'
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass
from enum import StrEnum
from typing import Any

from sheetcrm.errors import ConfigError

__all__ = ["Field", "FieldType", "display_width"]

FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_REFERENCE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")


class FieldType(StrEnum):
    """The kinds of value a column holds. The value is the name written in ``sheetcrm.toml``."""

    text = "text"
    integer = "integer"
    decimal = "decimal"
    money = "money"
    date = "date"  # YYYY-MM-DD
    datetime = "datetime"  # YYYY-MM-DD HH:MM[:SS]; a date alone is midnight
    phone = "phone"
    email = "email"
    url = "url"
    enum = "enum"  # one of the choices: a dropdown
    tags = "tags"  # several choices (or free words), comma-separated
    boolean = "boolean"
    id = "id"  # the row's own id, with a pattern such as C-000123
    reference = "reference"  # a value of another table's column, e.g. customers.customer_id


NUMERIC_TYPES = frozenset({FieldType.integer, FieldType.decimal, FieldType.money})
CHOICE_TYPES = frozenset({FieldType.enum, FieldType.tags})

# Excel number formats. "@" (text) keeps leading zeros and a leading + as typed.
_NUMBER_FORMATS: dict[FieldType, str] = {
    FieldType.phone: "@",
    FieldType.id: "@",
    FieldType.reference: "@",
    FieldType.tags: "@",
    FieldType.date: "yyyy-mm-dd",
    FieldType.datetime: "yyyy-mm-dd hh:mm",
    FieldType.money: "#,##0.00",
    FieldType.integer: "0",
}
# Column widths in Excel's units (about one Latin character each).
_WIDTHS: dict[FieldType, int] = {
    FieldType.text: 20,
    FieldType.integer: 10,
    FieldType.decimal: 12,
    FieldType.money: 14,
    FieldType.date: 12,
    FieldType.datetime: 17,
    FieldType.phone: 18,
    FieldType.email: 30,
    FieldType.url: 32,
    FieldType.enum: 12,
    FieldType.tags: 28,
    FieldType.boolean: 10,
    FieldType.id: 14,
    FieldType.reference: 14,
}
_MAX_WIDTH = 60


def display_width(text: str) -> int:
    """How many Latin-character widths ``text`` takes in a cell (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def fold(text: str) -> str:
    """The form choices and synonyms are compared in: NFKC, case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


class FieldProblem(ConfigError):
    """A field definition that is wrong; ``attribute`` names the setting at fault (``"choices"``)."""

    def __init__(self, name: str, attribute: str | None, problem: str, *, hint: str | None = None) -> None:
        super().__init__(f"field {name!r}: {problem}", hint=hint)
        self.field = name
        self.attribute = attribute
        self.problem = problem


@dataclass(frozen=True)
class Field:
    """One column of a CRM table.

    ``name`` is the canonical, snake_case column name; ``header`` is the header a new workbook
    gets (the name unless set); ``aliases`` are other headers meaning this field, compared
    after :func:`~sheetcrm.schema.tables.normalize_header`. ``choices`` apply to enum and
    tags fields, and ``synonyms`` map other spellings (compared case-insensitively) to a
    choice, for fixes. ``pattern`` must match a whole non-empty value. ``minimum`` and
    ``maximum`` bound numbers. ``description`` becomes the header note. ``format``
    overrides the Excel number format (``"@"`` keeps a postcode's leading zeros)::

        >>> Field("customer_id", FieldType.id, required=True, unique=True, pattern=r"C-[0-9]{6,}")
        >>> Field("wechat_id", FieldType.text, header="WeChat", aliases=("微信号",), group="extra")
    """

    name: str
    type: FieldType
    _: KW_ONLY
    required: bool = False
    unique: bool = False
    choices: tuple[str, ...] = ()
    synonyms: Mapping[str, str] = dataclasses.field(default_factory=dict, hash=False)
    pattern: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    description: str = ""
    aliases: tuple[str, ...] = ()
    group: str = "extra"
    reference: str | None = None
    header: str = ""
    format: str | None = None

    def __post_init__(self) -> None:
        name = self.name
        if not isinstance(name, str) or not FIELD_NAME.match(name):
            raise FieldProblem(
                str(name),
                None,
                "a field name is snake_case: lower-case letters, digits and _, starting with a letter",
                hint="keep the name plain and give the column its own header: header = ...",
            )
        try:
            kind = FieldType(self.type)
        except ValueError:
            raise FieldProblem(
                name, "type", f"unknown type {self.type!r}", hint=f"use one of: {', '.join(FieldType)}"
            ) from None
        set_ = object.__setattr__  # normalising the given values of a frozen instance
        set_(self, "type", kind)
        set_(self, "choices", tuple(self.choices))
        set_(self, "aliases", tuple(self.aliases))
        set_(self, "synonyms", dict(self.synonyms))
        if not self.header:
            set_(self, "header", name)
        if self.pattern == "":
            set_(self, "pattern", None)
        self._check()

    def _check(self) -> None:
        name, kind = self.name, self.type
        if not self.header.strip():
            raise FieldProblem(name, "header", "the header is blank")
        if any(not alias.strip() for alias in self.aliases):
            raise FieldProblem(name, "aliases", "an alias is blank")
        if kind is FieldType.enum and not self.choices:
            raise FieldProblem(name, "choices", "an enum field needs its choices", hint='choices = ["A", "B"]')
        if self.choices and kind not in CHOICE_TYPES:
            raise FieldProblem(name, "choices", f"choices apply to enum and tags fields, not to a {kind} field")
        seen: dict[str, str] = {}
        for choice in self.choices:
            if not choice.strip():
                raise FieldProblem(name, "choices", "a choice is blank")
            if "," in choice and kind is FieldType.tags:
                raise FieldProblem(name, "choices", f"tag {choice!r} holds a comma, which separates tags")
            if fold(choice) in seen:
                raise FieldProblem(name, "choices", f"{seen[fold(choice)]!r} and {choice!r} are the same choice")
            seen[fold(choice)] = choice
        if self.synonyms and not self.choices:
            raise FieldProblem(name, "synonyms", "synonyms need choices to map to")
        folded: dict[str, str] = {}
        for spelling, choice in self.synonyms.items():
            if choice not in self.choices:
                raise FieldProblem(
                    name,
                    "synonyms",
                    f"synonym {spelling!r} maps to {choice!r}, which is not a choice",
                    hint=f"map it to one of: {', '.join(self.choices)}",
                )
            key = fold(spelling)
            if not key:
                raise FieldProblem(name, "synonyms", "a synonym is blank")
            if seen.get(key, choice) != choice:
                raise FieldProblem(name, "synonyms", f"synonym {spelling!r} is choice {seen[key]!r}, not {choice!r}")
            if folded.get(key, choice) != choice:
                raise FieldProblem(
                    name, "synonyms", f"synonym {spelling!r} maps to both {folded[key]!r} and {choice!r}"
                )
            folded[key] = choice
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise FieldProblem(
                    name,
                    "pattern",
                    f"not a valid regular expression: {exc}",
                    hint=r'for example pattern = "C-[0-9]{6}"',
                ) from None
        if (self.minimum is not None or self.maximum is not None) and kind not in NUMERIC_TYPES:
            attribute = "minimum" if self.minimum is not None else "maximum"
            raise FieldProblem(name, attribute, f"a {kind} field has no minimum or maximum, only numbers do")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise FieldProblem(name, "minimum", f"minimum {self.minimum:g} is above maximum {self.maximum:g}")
        if kind is FieldType.reference and self.reference is None:
            raise FieldProblem(
                name,
                "reference",
                "a reference field names what it refers to",
                hint='reference = "customers.customer_id"',
            )
        if self.reference is not None:
            if kind is not FieldType.reference:
                raise FieldProblem(
                    name, "reference", f"only reference fields refer to another table, not a {kind} field"
                )
            if not _REFERENCE.match(self.reference):
                raise FieldProblem(
                    name,
                    "reference",
                    f"{self.reference!r} is not written table.column",
                    hint='for example reference = "customers.customer_id"',
                )

    # -- rendering ------------------------------------------------------------------------

    @property
    def number_format(self) -> str:
        """The Excel number format of the column: ``"@"`` (text) keeps phones' ``+`` and ids' zeros."""
        if self.format is not None:
            return self.format
        return _NUMBER_FORMATS.get(self.type, "General")

    @property
    def width(self) -> int:
        """A column width that fits the header (and its filter button) and a typical value."""
        width = _WIDTHS[self.type]
        if self.choices and self.type is FieldType.enum:
            width = max(width, max(display_width(choice) for choice in self.choices) + 4)
        return min(_MAX_WIDTH, max(width, display_width(self.header) + 4))

    # -- choices ---------------------------------------------------------------------------

    def choice_for(self, value: str) -> str | None:
        """The choice a value means: itself, the same choice in other case or spacing, or a synonym's.

        ``None`` when it means none of them (or the field has no choices).
        """
        key = fold(value)
        for choice in self.choices:
            if fold(choice) == key:
                return choice
        for spelling, choice in self.synonyms.items():
            if fold(spelling) == key:
                return choice
        return None

    def with_changes(self, **changes: Any) -> Field:
        """A copy with some settings changed, checked again: ``field.with_changes(required=True)``."""
        return dataclasses.replace(self, **changes)

"""Data validations (dropdowns, date and number rules) in a worksheet's tail, edited as text.

A worksheet keeps its validations in ``<dataValidations>``, after ``</sheetData>``. sheetcrm
puts, replaces or removes the one validation of a kind (a list, or a value rule) on exactly
one range, as openpyxl's writer does, but leaves every other validation byte for byte as
it was, including Excel's x14 validations in ``<extLst>``, which openpyxl drops.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from sheetcrm.errors import InvalidChange
from sheetcrm.sync.changeset import SetDropdown, ValidationRule
from sheetcrm.sync.ooxml.notes import TAIL_SEQUENCE, XmlNode, attribute_text, scan_elements, splice, tail_elements
from sheetcrm.sync.ooxml.sheetxml import Unsupported

__all__ = [
    "Validation",
    "ValidationEdit",
    "dropdown_element",
    "edit_validations",
    "rule_element",
    "validations",
]

VALUE_TYPES = frozenset(("whole", "decimal", "date", "time", "textLength", "custom"))
MAX_LIST_FORMULA = 257  # Excel's 255 characters of choices, in quotes

# CT_Worksheet's sequence: <dataValidations> goes after these and before everything else
_BEFORE = frozenset(TAIL_SEQUENCE[: TAIL_SEQUENCE.index("dataValidations")])
_ATTRIBUTE = re.compile(r"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_FORMULA = re.compile(r"<(formula[12])\b[^>]*?(?:/>|>(.*?)</\1>)", re.S)


@dataclass(frozen=True)
class Validation:
    """One ``<dataValidation>`` as the file has it (formulas without a leading ``=``)."""

    type: str
    sqref: str
    operator: str | None = None
    formula1: str | None = None
    formula2: str | None = None
    allow_blank: bool = False
    show_error: bool = False
    error_title: str | None = None
    error: str | None = None

    @property
    def is_list(self) -> bool:
        return self.type == "list"

    def dropdown(self) -> tuple[tuple[str, ...] | None, str | None]:
        """A list validation as :class:`SetDropdown` keeps it: ``(choices, None)`` or ``(None, source)``."""
        formula = self.formula1 or ""
        if formula.startswith('"') and formula.endswith('"') and len(formula) >= 2:
            return tuple(formula[1:-1].split(",")), None
        return None, formula

    def rule(self) -> ValidationRule:
        """A value validation as a :class:`ValidationRule`."""
        return ValidationRule(
            type=self.type,  # type: ignore[arg-type]  # checked by the caller: one of VALUE_TYPES
            operator=self.operator or "between",  # type: ignore[arg-type]  # Excel's default when none is written
            formula1=self.formula1 or "",
            formula2=self.formula2,
            allow_blank=self.allow_blank,
            show_error=self.show_error,
            error_title=self.error_title,
            error=self.error,
        )


@dataclass(frozen=True)
class ValidationEdit:
    """Replace the list (``lists=True``) or value validation on exactly ``ref`` with ``element``
    (a ``<dataValidation>``), or remove it (``element=None``)."""

    ref: str
    lists: bool
    element: str | None


def _parse(text: str, node: XmlNode) -> Validation:
    attributes = {
        m.group(1): html.unescape(m.group(2) or m.group(3) or "")
        for m in _ATTRIBUTE.finditer(text[node.start : node.inner])
    }
    formulas: dict[str, str] = {}
    if not node.self_closing:
        for match in _FORMULA.finditer(text, node.inner, node.close):
            formulas[match.group(1)] = html.unescape(match.group(2) or "").removeprefix("=")
    return Validation(
        type=attributes.get("type", "none"),
        sqref=" ".join(attributes.get("sqref", "").split()),
        operator=attributes.get("operator"),
        formula1=formulas.get("formula1"),
        formula2=formulas.get("formula2"),
        allow_blank=attributes.get("allowBlank", "0") in ("1", "true"),
        show_error=attributes.get("showErrorMessage", "0") in ("1", "true"),
        error_title=attributes.get("errorTitle"),
        error=attributes.get("error"),
    )


def _container(nodes: list[XmlNode]) -> XmlNode | None:
    for node in nodes:
        if node.local == "dataValidations":
            if node.prefixed:
                raise Unsupported("a prefixed <dataValidations> element")
            return node
    return None


def validations(tail: bytes) -> list[Validation]:
    """The validations of a worksheet tail (what follows ``</sheetData>``), in file order."""
    text, nodes, _ = tail_elements(tail)
    container = _container(nodes)
    if container is None:
        return []
    return [_parse(text, child) for child in container.children if child.local == "dataValidation"]


def _matches(validation: Validation, edit: ValidationEdit) -> bool:
    if validation.sqref != " ".join(edit.ref.split()):
        return False
    return validation.is_list if edit.lists else validation.type in VALUE_TYPES


def edit_validations(tail: bytes, edits: Sequence[ValidationEdit]) -> tuple[bytes, list[Validation | None]]:
    """The tail with ``edits`` applied in order, and what each found on its range before.

    Untouched validations keep their text; ``count`` is kept right; a ``<dataValidations>``
    left empty is removed (Excel repairs an empty one) and one is added where CT_Worksheet
    puts it when there was none.
    """
    text, nodes, end = tail_elements(tail)
    container = _container(nodes)
    items: list[tuple[Validation | None, str]] = []
    if container is not None:
        for child in container.children:
            parsed = _parse(text, child) if child.local == "dataValidation" else None
            items.append((parsed, text[child.start : child.end]))
    found: list[Validation | None] = []
    changed = False
    for edit in edits:
        index = next((i for i, (v, _) in enumerate(items) if v is not None and _matches(v, edit)), None)
        found.append(items[index][0] if index is not None else None)
        if index is None and edit.element is None:
            continue
        changed = True
        if index is not None:
            del items[index]
        if edit.element is not None:
            # the new one goes where the old one was, else last
            position = index if index is not None else len(items)
            items.insert(position, (_parse_element(edit.element), edit.element))
    if not changed:
        return tail, found
    count = sum(1 for validation, _ in items if validation is not None)
    if container is None:
        body = f'<dataValidations count="{count}">' + "".join(xml for _, xml in items) + "</dataValidations>"
        at = end
        for node in nodes:
            if node.prefixed or node.local not in _BEFORE:
                at = node.start
                break
        return splice(text, [(at, at, body)]).encode("utf-8"), found
    if not count:
        return splice(text, [(container.start, container.end, "")]).encode("utf-8"), found
    start_tag = text[container.start : container.inner].rstrip("/>").rstrip()
    start_tag = re.sub(r"""\scount\s*=\s*(?:"[^"]*"|'[^']*')""", "", start_tag) + f' count="{count}">'
    body = start_tag + "".join(xml for _, xml in items) + "</dataValidations>"
    return splice(text, [(container.start, container.end, body)]).encode("utf-8"), found


def _parse_element(element: str) -> Validation:
    nodes, _ = scan_elements(element)
    return _parse(element, nodes[0])


def dropdown_element(change: SetDropdown) -> str | None:
    """The ``<dataValidation>`` of a dropdown (None when it removes one); InvalidChange when too long."""
    if change.choices is None and change.source is None:
        return None
    if change.choices is not None:
        formula = '"' + ",".join(change.choices) + '"'
        if len(formula) > MAX_LIST_FORMULA:
            raise InvalidChange(
                f"{change.sheet}!{change.ref}: the choices exceed Excel's 255-character list limit",
                hint="put the choices on a sheet and pass source='Sheet!$A$1:$A$N'",
            )
    else:
        formula = str(change.source).removeprefix("=")  # stored without "=", as Excel writes it
    return (
        f'<dataValidation type="list" allowBlank="1" showErrorMessage="1" sqref="{attribute_text(change.ref)}">'
        f"<formula1>{escape(formula)}</formula1></dataValidation>"
    )


def rule_element(rule: ValidationRule, ref: str) -> str:
    """The ``<dataValidation>`` of a value rule on ``ref``."""
    attributes = [f'type="{rule.type}"']
    if rule.type != "custom":
        attributes.append(f'operator="{rule.operator}"')
    if rule.allow_blank:
        attributes.append('allowBlank="1"')
    if rule.show_error:
        attributes.append('showErrorMessage="1"')
    if rule.error_title:
        attributes.append(f'errorTitle="{attribute_text(rule.error_title)}"')
    if rule.error:
        attributes.append(f'error="{attribute_text(rule.error)}"')
    attributes.append(f'sqref="{attribute_text(ref)}"')
    formulas = f"<formula1>{escape(rule.formula1)}</formula1>"
    if rule.formula2 is not None:
        formulas += f"<formula2>{escape(rule.formula2)}</formula2>"
    return f"<dataValidation {' '.join(attributes)}>{formulas}</dataValidation>"

"""Validations and column styles edited as text in a worksheet's tail and head."""

from __future__ import annotations

import pytest

from sheetcrm.errors import InvalidChange
from sheetcrm.sync.changeset import SetDropdown, ValidationRule
from sheetcrm.sync.ooxml.columns import with_column_style
from sheetcrm.sync.ooxml.validations import (
    ValidationEdit,
    dropdown_element,
    edit_validations,
    rule_element,
    validations,
)

KEPT = '<dataValidation type="whole" allowBlank="1" sqref="F2:F9"  ><formula1>1</formula1></dataValidation>'
TAIL = (
    '<conditionalFormatting sqref="A1"><cfRule type="expression" priority="1"><formula>1</formula></cfRule>'
    f'</conditionalFormatting><dataValidations count="1" disablePrompts="1">{KEPT}</dataValidations>'
    '<hyperlinks><hyperlink ref="A1" location="B1"/></hyperlinks><pageMargins left="0.7"/></worksheet>'
)
DROPDOWN = dropdown_element(SetDropdown("S", "D2:D9", choices=("VIP", "Key & <co>")))


def test_a_dropdown_is_added_beside_the_files_own_which_stays_as_it_was() -> None:
    tail, found = edit_validations(TAIL.encode(), [ValidationEdit("D2:D9", lists=True, element=DROPDOWN)])
    text = tail.decode()
    assert found == [None]
    assert f'<dataValidations disablePrompts="1" count="2">{KEPT}{DROPDOWN}</dataValidations><hyperlinks>' in text
    assert [(v.type, v.sqref, v.formula1) for v in validations(tail)] == [
        ("whole", "F2:F9", "1"),
        ("list", "D2:D9", '"VIP,Key & <co>"'),
    ]


def test_the_last_validation_removed_takes_its_container_along() -> None:
    tail, found = edit_validations(TAIL.encode(), [ValidationEdit("F2:F9", lists=False, element=None)])
    assert found[0] is not None and found[0].rule() == ValidationRule(
        "whole", "between", "1", allow_blank=True, show_error=False
    )
    assert b"dataValidations" not in tail
    assert tail == TAIL.replace(f'<dataValidations count="1" disablePrompts="1">{KEPT}</dataValidations>', "").encode()


def test_a_list_edit_does_not_touch_a_value_rule_on_the_same_range() -> None:
    tail, found = edit_validations(TAIL.encode(), [ValidationEdit("F2:F9", lists=True, element=None)])
    assert (tail, found) == (TAIL.encode(), [None])


def test_a_tail_without_validations_gets_them_where_the_schema_wants_them() -> None:
    tail = b'<mergeCells count="1"><mergeCell ref="A1:B1"/></mergeCells><pageMargins left="0.7"/><drawing r:id="rId1"/></worksheet>'
    rule = rule_element(ValidationRule("date", "greaterThan", "45000", error="After 2023 & <so>"), "C2:C9")
    new, _ = edit_validations(tail, [ValidationEdit("C2:C9", lists=False, element=rule)])
    assert new.startswith(b'<mergeCells count="1"><mergeCell ref="A1:B1"/></mergeCells><dataValidations count="1">')
    (validation,) = validations(new)
    assert validation.rule() == ValidationRule("date", "greaterThan", "45000", error="After 2023 & <so>")


def test_edits_apply_in_order_and_report_what_each_found() -> None:
    first = dropdown_element(SetDropdown("S", "D2:D9", choices=("a",)))
    second = dropdown_element(SetDropdown("S", "D2:D9", source="_lists!$A$1:$A$9"))
    tail, found = edit_validations(
        TAIL.encode(),
        [ValidationEdit("D2:D9", True, first), ValidationEdit("D2:D9", True, second)],
    )
    assert found[0] is None and found[1] is not None and found[1].dropdown() == (("a",), None)
    assert [v.dropdown() for v in validations(tail) if v.is_list] == [(None, "_lists!$A$1:$A$9")]


def test_choices_past_excels_limit_are_refused() -> None:
    with pytest.raises(InvalidChange, match="255-character"):
        dropdown_element(SetDropdown("S", "D2:D9", choices=tuple("x" * 30 for _ in range(9))))


HEAD = b'<sheetFormatPr defaultRowHeight="15"/><cols><col min="2" max="5" width="14" customWidth="1"/></cols>'


def test_a_column_inside_a_span_is_split_out_with_its_width() -> None:
    head, old = with_column_style(HEAD, 3, lambda style: 7)
    assert old == 0
    assert head == (
        b'<sheetFormatPr defaultRowHeight="15"/><cols><col min="2" max="2" width="14" customWidth="1"/>'
        b'<col min="3" max="3" width="14" customWidth="1" style="7"/>'
        b'<col min="4" max="5" width="14" customWidth="1"/></cols>'
    )


def test_a_column_without_a_col_gets_one_of_the_default_width() -> None:
    head, old = with_column_style(b'<sheetFormatPr defaultColWidth="10.5"/>', 1, lambda style: 3)
    assert (head, old) == (
        b'<sheetFormatPr defaultColWidth="10.5"/><cols><col min="1" max="1" width="10.5" style="3"/></cols>',
        0,
    )
    head, old = with_column_style(head, 1, lambda style: 0)
    assert (head, old) == (
        b'<sheetFormatPr defaultColWidth="10.5"/><cols><col min="1" max="1" width="10.5"/></cols>',
        3,
    )

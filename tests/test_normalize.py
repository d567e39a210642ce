"""The normalisers, value by value: good values stay, fixable ones are fixed, ambiguous ones are
flagged and never guessed, invalid ones stay (they remain findings)."""

from __future__ import annotations

import random
import re
from collections.abc import Callable

import pandas as pd
import phonenumbers
import pytest

from sheetcrm.schema.fields import Field, FieldType
from sheetcrm.schema.tables import CRM_TABLES
from sheetcrm.validate.normalize import (
    Normalized,
    _validity,
    normalize_choices,
    normalize_column,
    normalize_dates,
    normalize_datetimes,
    normalize_emails,
    normalize_numbers,
    normalize_phones,
    normalize_tags,
    normalize_text,
)

KEEP = "<keep>"  # the value stays as it is
AMBIGUOUS = "<ambiguous>"  # stays, and is reported as needing a setting or a person

Normaliser = Callable[["pd.Series[str]"], Normalized]


def outcome(normaliser: Normaliser, value: str) -> str:
    """What a normaliser does to one value: its new text, KEEP or AMBIGUOUS."""
    result = normaliser(pd.Series([value], index=[7], dtype="str"))
    if 7 in result.ambiguous:
        return AMBIGUOUS
    return str(result.fixed[7]) if 7 in result.fixed.index else KEEP


# --------------------------------------------------------------------------- phones

PHONES_CN = [
    # good
    ("+8613800138000", KEEP),
    ("", KEEP),
    # common shapes, through the regexes
    ("138 0013 8000", "+8613800138000"),
    ("138-0013-8000", "+8613800138000"),
    ("13800138000", "+8613800138000"),
    ("+86 138 0013 8000", "+8613800138000"),
    ("0086 138 0013 8000", "+8613800138000"),
    ("86 13800138000", "+8613800138000"),
    ("(+86) 138.0013.8000", "+8613800138000"),
    ("  138 0013\u00a08000 ", "+8613800138000"),
    ("１３８００１３８０００", "+8613800138000"),
    ("＋８６　１３８－００１３－８０００", "+8613800138000"),
    ("+1 (415) 555-0134", "+14155550134"),
    ("+1 415.555.0134", "+14155550134"),
    # other shapes, through phonenumbers
    ("010-1234 5678", "+861012345678"),
    ("+86 (0)10 1234 5678", "+861012345678"),
    ("+44 20 7946 0958", "+442079460958"),
    # a US number without +1 in a CN workbook: it may be American, or a CN number mistyped
    ("(415) 555-0134", AMBIGUOUS),
    ("415-555-0134", AMBIGUOUS),
    ("416.188.5679", KEEP),  # a CN landline without its trunk 0 for phonenumbers; no NANP number
    # invalid: they stay, and stay findings
    ("+86 140 0013 8000", KEEP),  # no such mobile range
    ("+86 138 0013 80001", KEEP),  # a digit too many (already E.164-shaped)
    ("138 0013 80001", KEEP),
    ("138 OO13 8000", KEEP),  # letter O for zero
    ("+86 138 0013 8000 ext. 12", KEEP),  # an extension E.164 cannot hold
    ("12", KEEP),
    ("13800138000 / 13900139000", KEEP),  # two numbers in one cell
    ("ask reception", KEEP),
]


@pytest.mark.parametrize(("value", "expected"), PHONES_CN)
def test_phones_cn(value: str, expected: str) -> None:
    assert outcome(normalize_phones, value) == expected


PHONES_US = [
    ("+14155550134", KEEP),
    ("(415) 555-0134", "+14155550134"),
    ("415.555.0134", "+14155550134"),
    ("1 415 555 0134", "+14155550134"),
    ("+86 138 0013 8000", "+8613800138000"),
    ("138 0013 8000", AMBIGUOUS),  # a CN mobile without +86 in a US workbook
    ("(415) 555-013", KEEP),
    ("123-456-7890", KEEP),  # no area code starts with 1
]


@pytest.mark.parametrize(("value", "expected"), PHONES_US)
def test_phones_us(value: str, expected: str) -> None:
    assert outcome(lambda v: normalize_phones(v, default_region="US"), value) == expected


PHONES_NATIONAL = [
    ("CN", "+8613800138000", "138 0013 8000"),
    ("CN", "13800138000", "138 0013 8000"),
    ("CN", "138 0013 8000", KEEP),
    ("CN", "+861012345678", "010 1234 5678"),
    ("CN", "+14155550134", "+1 415-555-0134"),  # another country's number keeps its country code
    ("US", "+14155550134", "(415) 555-0134"),
    ("US", "415.555.0134", "(415) 555-0134"),
    ("US", "+8613800138000", "+86 138 0013 8000"),
]


@pytest.mark.parametrize(("region", "value", "expected"), PHONES_NATIONAL)
def test_phones_national(region: str, value: str, expected: str) -> None:
    normaliser: Normaliser = lambda v: normalize_phones(v, default_region=region, phone_format="national")  # noqa: E731
    assert outcome(normaliser, value) == expected


def _random_phones(rng: random.Random, count: int) -> list[str]:
    """CN mobiles and NANP numbers, valid or not, in the shapes people type them."""
    values = []
    for _ in range(count):
        if rng.random() < 0.5:
            d = f"1{rng.randrange(10**10):010d}"
            a, b, c = d[:3], d[3:7], d[7:]
            values.append(rng.choice((f"+86 {a} {b} {c}", d, f"{a}-{b}-{c}", f"+86{d}", f"0086 {d}", f"86{d}")))
        else:
            a, b, c = rng.randrange(200, 1000), rng.randrange(100, 1000), f"{rng.randrange(10000):04d}"
            values.append(
                rng.choice((f"({a}) {b}-{c}", f"{a}.{b}.{c}", f"+1 {a} {b} {c}", f"1 {a}-{b}-{c}", f"{a}{b}{c}"))
            )
    return values


NATIONAL_SHAPES = {"CN": r"(?:86)?1[3-9][0-9]{9}|0[0-9]{9,11}|[48]00[0-9]{7}", "US": r"1?[2-9][0-9]{2}[2-9][0-9]{6}"}


def _reference(value: str, region: str, national: bool) -> str:
    """What phonenumbers itself makes of a value: parsed once, kept only when valid.

    One rule is sheetcrm's own: a number without a country code is only read as the default
    region's when it is written as that region writes its numbers (phonenumbers reads
    416.188.5679 as a CN landline without its trunk 0).
    """
    digits = "".join(char for char in value if char.isdigit())
    written_here = re.fullmatch(NATIONAL_SHAPES[region], digits)
    if not value.startswith("+") and not digits.startswith("00") and not written_here:
        return value
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return value
    if not phonenumbers.is_valid_number(number):
        return value
    if not national:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    same_country = number.country_code == phonenumbers.country_code_for_region(region)
    kind = phonenumbers.PhoneNumberFormat.NATIONAL if same_country else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(number, kind)


@pytest.mark.parametrize("region", ["CN", "US"])
@pytest.mark.parametrize("national", [False, True])
def test_phones_agree_with_phonenumbers(region: str, national: bool) -> None:
    """The regex fast path, validity and formatting give exactly what phonenumbers gives."""
    values = pd.Series(_random_phones(random.Random(f"{region}{national}"), 4000), dtype="str")
    result = normalize_phones(values, default_region=region, phone_format="national" if national else "e164")
    got = values.copy()
    got[result.fixed.index] = result.fixed
    for row, value in values.items():
        if row not in result.ambiguous:
            assert got[row] == _reference(value, region, national), value
    assert result.fixed.index.isin(values.index).all()


@pytest.mark.parametrize("country_code", [86, 1, 7, 44])
def test_validity_is_phonenumbers_is_valid_number(country_code: int) -> None:
    # the exactness the fast path relies on, over numbers of every length and prefix
    rng = random.Random(country_code)
    valid = _validity(country_code)
    for _ in range(20_000):
        national = str(rng.randrange(10 ** rng.randrange(6, 11), 10 ** rng.randrange(11, 12)))
        number = phonenumbers.PhoneNumber(country_code=country_code, national_number=int(national))
        assert valid(national) == phonenumbers.is_valid_number(number), national


def test_phones_unknown_region() -> None:
    with pytest.raises(ValueError, match="unknown phone region 'XX'"):
        normalize_phones(pd.Series(["1"]), default_region="XX")


# --------------------------------------------------------------------------- dates

DATES = [
    ("2024-03-05", KEEP),
    ("", KEEP),
    ("2024/3/5", "2024-03-05"),
    ("2024.03.05", "2024-03-05"),
    ("2024-3-5", "2024-03-05"),
    ("2024 / 03 / 05", "2024-03-05"),
    ("20240305", "2024-03-05"),
    ("5 Mar 2024", "2024-03-05"),
    ("5-Mar-2024", "2024-03-05"),
    ("05 March, 2024", "2024-03-05"),
    ("Mar 5, 2024", "2024-03-05"),
    ("March 5th 2024", "2024-03-05"),
    ("sept 30, 2024", "2024-09-30"),
    ("2024年3月5日", "2024-03-05"),
    ("２０２４年３月５日", "2024-03-05"),
    ("２０２４－０３－０５", "2024-03-05"),
    (" 2024-03-05 ", "2024-03-05"),
    ("45356", "2024-03-05"),  # an Excel serial day number
    ("25/3/2024", "2024-03-25"),  # only day-first makes a date of it
    ("3/25/2024", "2024-03-25"),  # only month-first does
    ("5/5/2024", "2024-05-05"),  # both readings are the same day
    # ambiguous: never guessed
    ("5/3/2024", AMBIGUOUS),
    ("05.03.2024", AMBIGUOUS),
    ("5/3/24", AMBIGUOUS),
    # invalid or not a date: they stay
    ("2023-02-30", KEEP),
    ("2023/2/30", KEEP),
    ("2023年2月30日", KEEP),
    ("2024-13-05", KEEP),
    ("31 Feb 2024", KEEP),
    ("Smarch 5, 2024", KEEP),
    ("2024", KEEP),  # a year typed alone, not serial 2024
    ("45356.5", KEEP),  # a time, which a date cannot hold
    ("999999", KEEP),  # past 2199
    ("2024/3/5 14:30", KEEP),  # a time in a date column is not dropped
    ("soon", KEEP),
]


@pytest.mark.parametrize(("value", "expected"), DATES)
def test_dates(value: str, expected: str) -> None:
    assert outcome(normalize_dates, value) == expected


@pytest.mark.parametrize(
    ("day_first", "value", "expected"),
    [
        (True, "5/3/2024", "2024-03-05"),
        (False, "5/3/2024", "2024-05-03"),
        (True, "5.3.2024", "2024-03-05"),
        (True, "3/25/2024", KEEP),  # the config says day-first: no month 25
        (False, "25/3/2024", KEEP),
        (True, "5/3/24", AMBIGUOUS),  # the century is still a guess
    ],
)
def test_dates_day_first(day_first: bool, value: str, expected: str) -> None:
    assert outcome(lambda v: normalize_dates(v, day_first=day_first), value) == expected


def test_dates_serials_only_when_asked() -> None:
    assert outcome(lambda v: normalize_dates(v, serials=False), "45356") == KEEP


DATETIMES = [
    ("2024-03-05 14:30", KEEP),
    ("2024-03-05 14:30:15", KEEP),
    ("2024-03-05T14:30:00", KEEP),  # how a real date-time cell reads: left as it is
    ("2024-03-05", KEEP),  # a date alone is midnight
    ("2024/3/5 9:05", "2024-03-05 09:05"),
    ("2024/3/5 09:05:07", "2024-03-05 09:05:07"),
    ("2024-3-5T14:30", "2024-03-05 14:30"),
    ("5 Mar 2024 2:30 pm", "2024-03-05 14:30"),
    ("Mar 5, 2024 12:00 AM", "2024-03-05 00:00"),
    ("２０２４年３月５日 １４:３０", "2024-03-05 14:30"),
    ("2024/3/5", "2024-03-05"),
    ("45356.5", "2024-03-05 12:00"),
    ("45356.25001", "2024-03-05 06:00:01"),
    ("45356", "2024-03-05"),
    ("5/3/2024 10:00", AMBIGUOUS),
    ("2024/3/5 25:00", KEEP),
    ("2024/3/5 13:00 PM", KEEP),
    ("2024/2/30 10:00", KEEP),
    ("2024-03-05 14:30+08:00", KEEP),  # a time zone: converting it would be a guess
]


@pytest.mark.parametrize(("value", "expected"), DATETIMES)
def test_datetimes(value: str, expected: str) -> None:
    assert outcome(normalize_datetimes, value) == expected


# --------------------------------------------------------------------------- text, emails, choices, tags

EMAILS = [
    ("li.na@example.com", KEEP),
    (" Li.Na@Example.COM ", "Li.Na@example.com"),  # the local part keeps its case
    ("ZIHANW@FOXMAIL.COM", "ZIHANW@foxmail.com"),
    ("li.na＠ｅｘａｍｐｌｅ．com", "li.na@example.com"),
    ("li na@example.com", KEEP),  # a space inside is for a person to mend
    ("li.na@", KEEP),
    ("li.na.example.com", KEEP),
    ("a@b@Example.com", KEEP),
]


@pytest.mark.parametrize(("value", "expected"), EMAILS)
def test_emails(value: str, expected: str) -> None:
    assert outcome(normalize_emails, value) == expected


TIER = CRM_TABLES["customers"].field("tier")
STATUS = CRM_TABLES["orders"].field("status")
CONSENT = CRM_TABLES["customers"].field("consent")
CHOICES = [
    (TIER, "VIP", KEEP),
    (TIER, "vip", "VIP"),
    (TIER, " Vip ", "VIP"),
    (TIER, "ＶＩＰ", "VIP"),
    (TIER, "重要客户", "Key"),
    (TIER, "key account", "Key"),
    (TIER, "KEY   ACCOUNT", "Key"),
    (TIER, "普通客户", "Standard"),
    (TIER, "Gold", KEEP),
    (TIER, " Gold ", "Gold"),  # unknown stays, trimmed
    (TIER, "", KEEP),
    (STATUS, "canceled", "cancelled"),
    (STATUS, "已发货", "shipped"),
    (STATUS, "Shipped", "shipped"),
    (STATUS, "done", KEEP),
    (CONSENT, "是", "yes"),
    (CONSENT, "TRUE", "yes"),
]


@pytest.mark.parametrize(("field", "value", "expected"), CHOICES)
def test_choices(field: Field, value: str, expected: str) -> None:
    assert outcome(lambda v: normalize_choices(v, field), value) == expected
    if expected in field.choices:
        assert field.choice_for(value) == expected  # the same answer as the field's own lookup


LABELS = Field("labels", FieldType.tags, choices=("A", "B", "Wholesale"), synonyms={"批发": "Wholesale"})
FREE_TAGS = CRM_TABLES["customers"].field("tags")
TAGS = [
    (LABELS, "A, B", KEEP),
    (LABELS, "b, a, A , b", "A, B"),
    (LABELS, "b，a", "A, B"),  # a full-width comma separates too
    (LABELS, "批发, a", "A, Wholesale"),
    (LABELS, "a,, b,", "A, B"),
    (LABELS, "a, c", KEEP),  # c is no choice: a person decides
    (LABELS, "", KEEP),
    (FREE_TAGS, "export, wholesale", KEEP),
    (FREE_TAGS, "wholesale, export", "export, wholesale"),
    (FREE_TAGS, "wholesale，Repeat, repeat ,, VIP", "Repeat, VIP, wholesale"),
    (FREE_TAGS, "重点, 出口, 重点", "出口, 重点"),
]


@pytest.mark.parametrize(("field", "value", "expected"), TAGS)
def test_tags(field: Field, value: str, expected: str) -> None:
    assert outcome(lambda v: normalize_tags(v, field), value) == expected


TEXT = [
    (True, "Zhang Wei", KEEP),
    (True, "  Zhang   Wei ", "Zhang Wei"),
    (True, "Zhang\tWei", "Zhang Wei"),
    (True, "ＶＩＰ客户，回访", "VIP客户，回访"),  # Chinese punctuation in prose stays
    (True, "第１次拜访（上午）。", "第1次拜访（上午）。"),
    (True, "line 1\nline 2", KEEP),  # line breaks are the writer's
    (True, "　请下午联系　", "请下午联系"),
    (False, " Ｃ－０００１２３ ", "C-000123"),
    (False, "C-000123", KEEP),
    (False, "C-000\n123", "C-000 123"),
]


@pytest.mark.parametrize(("free", "value", "expected"), TEXT)
def test_text(free: bool, value: str, expected: str) -> None:
    assert outcome(lambda v: normalize_text(v, free=free), value) == expected


# --------------------------------------------------------------------------- numbers

NUMBERS = [
    (FieldType.money, "1234.50", KEEP),
    (FieldType.money, "1,234.50", "1234.50"),
    (FieldType.money, "1,234,567", "1234567"),
    (FieldType.money, "¥1,200", "1200"),
    (FieldType.money, "￥1,200", "1200"),
    (FieldType.money, "$ 99.90", "99.90"),
    (FieldType.money, "US$5", "5"),
    (FieldType.money, "1,200元", "1200"),
    (FieldType.money, "-¥1,200", "-1200"),
    (FieldType.money, "¥-1,200", "-1200"),
    (FieldType.money, "１２３４．５", "1234.5"),
    (FieldType.money, " 12 ", "12"),
    (FieldType.money, "−3", "-3"),
    (FieldType.money, "1,5", AMBIGUOUS),  # a decimal comma, or a typo
    (FieldType.money, "1.234,50", AMBIGUOUS),
    (FieldType.money, "¥1,5", AMBIGUOUS),
    (FieldType.money, "12,34,567", KEEP),
    (FieldType.money, "1,23.4", KEEP),
    (FieldType.money, "-¥-5", KEEP),
    (FieldType.money, "abc", KEEP),
    (FieldType.decimal, "1,234.5", "1234.5"),
    (FieldType.decimal, "¥5", KEEP),  # only money sheds a currency symbol
    (FieldType.integer, "1,234", "1234"),
    (FieldType.integer, "５", "5"),
    (FieldType.integer, "1,234.50", KEEP),  # not a whole number
    (FieldType.integer, "two", KEEP),
]


@pytest.mark.parametrize(("kind", "value", "expected"), NUMBERS)
def test_numbers(kind: FieldType, value: str, expected: str) -> None:
    assert outcome(lambda v: normalize_numbers(v, kind=kind), value) == expected


def test_numbers_only_numeric_kinds() -> None:
    with pytest.raises(ValueError, match="integer, decimal or money"):
        normalize_numbers(pd.Series(["1"]), kind=FieldType.text)


# --------------------------------------------------------------------------- columns


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        (Field("phone", FieldType.phone), "(415) 555-0134", "+14155550134"),
        (Field("day", FieldType.date), "5/3/2024", "2024-03-05"),
        (Field("at", FieldType.datetime), "5/3/2024 9:00", "2024-03-05 09:00"),
        (Field("email", FieldType.email), "A@B.COM", "A@b.com"),
        (TIER, "vip", "VIP"),
        (LABELS, "b, a", "A, B"),
        (Field("qty", FieldType.integer), "1,000", "1000"),
        (Field("site", FieldType.url), " ｈｔｔｐｓ://example.com ", "https://example.com"),
        (Field("ok", FieldType.boolean), " ＴＲＵＥ", "TRUE"),
        (Field("code", FieldType.id), "Ｃ－１", "C-1"),
        (Field("note", FieldType.text), "（１）", "（1）"),
    ],
)
def test_column_uses_the_field_type(field: Field, value: str, expected: str) -> None:
    normaliser: Normaliser = lambda v: normalize_column(v, field, default_region="US", day_first=True)  # noqa: E731
    assert outcome(normaliser, value) == expected


def test_whole_column_keeps_row_numbers_and_returns_only_changes() -> None:
    values = pd.Series(
        ["2024/3/5", "2024-03-05", "2024/3/5", "5/3/2024", "", "2023-02-30", "2024/3/5"],
        index=[2, 3, 5, 8, 9, 10, 1_000_001],
        dtype="str",
    )
    result = normalize_dates(values)
    assert result.fixed.to_dict() == {2: "2024-03-05", 5: "2024-03-05", 1_000_001: "2024-03-05"}
    assert str(result.fixed.dtype) == "str"
    assert list(result.ambiguous) == [8]
    assert len(result) == 3


def test_ambiguous_values_come_with_the_reason_and_what_decides_it() -> None:
    dates = normalize_dates(pd.Series(["5/3/2024", "5/3/24", "5/3/2024", "2024/3/5"], dtype="str"))
    assert list(dates.ambiguous) == [0, 1, 2]
    assert dates.reasons == {
        "5/3/2024": "could be 5 March or 3 May 2024, so no fix is proposed: "
        "set [fix] day_first = true (day first) or false (month first)",
        "5/3/24": "has a two-digit year, and which century is meant would be a guess, so no fix is proposed: "
        "write the year in full (no setting decides it)",
    }
    assert normalize_dates(pd.Series(["5/3/2024"]), day_first=True).reasons == {}
    assert "[fix] day_first" in normalize_datetimes(pd.Series(["5/3/2024 9:00"])).reasons["5/3/2024 9:00"]

    cn = normalize_phones(pd.Series(["(415) 555-0134", "13800138000"]), default_region="CN")
    assert cn.reasons == {
        "(415) 555-0134": "has no country code and is not written like a CN number, but would be a valid "
        "+1 number, so no fix is proposed: write it with its country code, or set [fix] default_region"
    }
    us = normalize_phones(pd.Series(["(415) 555-0134", "13800138000"]), default_region="US")
    assert list(us.reasons) == ["13800138000"] and "a valid +86 number" in us.reasons["13800138000"]

    numbers = normalize_numbers(pd.Series(["1,5", "1,234.50"]))
    assert list(numbers.reasons) == ["1,5"] and "decimal comma" in numbers.reasons["1,5"]
    assert normalize_emails(pd.Series(["A@B.COM"])).reasons == {}


def test_column_of_other_dtypes() -> None:
    # an analyst's object column with a missing value: the NaN stays, nothing breaks
    values = pd.Series(["vip", None, "Key"], index=[4, 5, 6], dtype=object)
    assert normalize_choices(values, TIER).fixed.to_dict() == {4: "VIP"}


def test_empty_column() -> None:
    result = normalize_phones(pd.Series([], dtype="str"))
    assert result.fixed.empty and result.ambiguous.empty

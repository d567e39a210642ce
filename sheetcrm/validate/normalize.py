"""Safe fixes: the canonical text of each value, per field type, where it is certain.

Each normaliser takes a column of text indexed by row number and returns a
:class:`Normalized`: the new text of the rows that change (``fixed``) and the rows left as
they are because only a setting or a person could decide them (``ambiguous``). A value
that cannot be fixed (an impossible date, a number phonenumbers calls invalid) is in
neither: it stays, and stays a finding::

    >>> phones = pd.Series(["138 0013 8000", "+1 (415) 555-0134", "(415) 555-0199", "123"], index=[2, 3, 4, 5])
    >>> result = normalize_phones(phones, default_region="CN")
    >>> result.fixed.to_dict()
    {2: '+8613800138000', 3: '+14155550134'}
    >>> list(result.ambiguous)        # a US number without +1 in a CN workbook
    [4]
    >>> normalize_dates(pd.Series(["2024/3/5", "5/3/2024", "2023-02-30"])).fixed.to_dict()
    {0: '2024-03-05'}

Every value is worked on once however often it repeats (a column of 1M dates holds a few
thousand distinct ones). Without pyarrow, pandas' ``.str`` methods are Python loops over
the values too, so each normaliser makes one pass over the distinct values with
precompiled regexes instead of chaining several ``.str`` passes; phones call phonenumbers
only for shapes the regexes do not cover.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import phonenumbers

from sheetcrm.schema.fields import NUMERIC_TYPES, Field, FieldType, fold
from sheetcrm.util import collector_paused

__all__ = [
    "Normalized",
    "PhoneFormat",
    "normalize_choices",
    "normalize_column",
    "normalize_dates",
    "normalize_datetimes",
    "normalize_emails",
    "normalize_numbers",
    "normalize_phones",
    "normalize_tags",
    "normalize_text",
]

PhoneFormat = Literal["e164", "national"]


@dataclass(frozen=True)
class Normalized:
    """What a normaliser proposes for a column.

    ``fixed`` holds the new text of each row that changes (indexed by row number);
    ``ambiguous`` the rows whose value a setting or a person has to decide (``day_first``,
    a phone's region), left as they are apart from trimmed whitespace. ``reasons`` says,
    for each of those values as written, why no fix is proposed and what decides it::

        >>> normalize_dates(pd.Series(["5/3/2024"])).reasons["5/3/2024"]
        'could be 5 March or 3 May 2024, so no fix is proposed: set [fix] day_first = true (day first) or false (month first)'
    """

    fixed: pd.Series[str]
    ambiguous: pd.Index
    reasons: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.fixed)


# A converter turns one distinct value into its new text; it records the values it finds
# ambiguous, with the reason, in a dict (returning a flag with every value would cost a
# tuple per value).
Converter = Callable[[str], str]


def _by_value(values: pd.Series[str], convert: Converter, ambiguous: dict[str, str] | None = None) -> Normalized:
    """Run ``convert`` once per distinct value and spread the results back over the rows.

    ``ambiguous`` is the dict ``convert`` adds ambiguous values to, with why each is.
    """
    text = values if isinstance(values.dtype, pd.StringDtype) else values.astype("str")
    codes, uniques = pd.factorize(text)  # a missing value (NaN) is code -1 and never changes
    distinct = np.asarray(uniques, dtype=object)
    # a million new strings and match objects are no garbage: the collector would walk them
    # all again and again, which takes longer than the work itself
    with collector_paused():
        new = np.array([*map(convert, distinct.tolist()), ""], dtype=object)
    changed = np.append(new[:-1] != distinct, False)
    rows = changed[codes]
    fixed = pd.Series(new[codes[rows]], index=values.index[rows], dtype="str")
    if not ambiguous:
        return Normalized(fixed, values.index[:0])
    unsure = np.append(pd.Index(distinct).isin(list(ambiguous)), False)
    return Normalized(fixed, values.index[unsure[codes]], dict(ambiguous))


# Why a value gets no fix, ending in what decides it; a finding's message is "'value': field <reason>".
_NO_FIX = "so no fix is proposed"
_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


# --------------------------------------------------------------------------- width and whitespace

# Full-width ASCII (U+FF01..U+FF5E) is what a Chinese IME types with full-width on: NFKC maps
# it, and the ideographic space, to plain ASCII. Only those characters: NFKC of a whole text
# would also rewrite ①, ㎡ and the like.
_WIDE_ASCII = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
# In free text only digits and Latin letters: "，" and "（" are the punctuation of Chinese prose.
_WIDE_ALNUM = {
    code: code - 0xFEE0
    for start, end in ((0xFF10, 0xFF19), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A))
    for code in range(start, end + 1)
}
# Spaces, tabs and no-break spaces inside free text; line breaks there are the writer's own.
_SPACE_RUNS = re.compile(r"[ \t\u00a0]{2,}|[\t\u00a0]")


def _one_line(value: str) -> str:
    """Half-width ASCII, whitespace trimmed and every run of it one space: ``"　１３８ 0013\\n"`` -> ``"138 0013"``."""
    # isascii() is O(1) on CPython's compact strings: most values skip the translation
    return " ".join((value if value.isascii() else value.translate(_WIDE_ASCII)).split())


def _free_text(value: str) -> str:
    """Free text: half-width digits and letters, runs of spaces collapsed, line breaks kept, ends trimmed."""
    if not value.isascii():
        value = value.translate(_WIDE_ALNUM)
    if "  " in value or "\t" in value or "\u00a0" in value:  # a regex costs more than these scans
        value = _SPACE_RUNS.sub(" ", value)
    return value.strip()


def normalize_text(values: pd.Series[str], *, free: bool = True) -> Normalized:
    """Trim and collapse whitespace, and make full-width characters half-width where safe.

    ``free`` text (notes, names) keeps its line breaks and its Chinese punctuation and only
    gets half-width digits and letters; otherwise (ids, codes) all full-width ASCII is
    made half-width and the value becomes one line.

        >>> normalize_text(pd.Series(["  ＶＩＰ客户，  回访 "])).fixed.tolist()
        ['VIP客户， 回访']
    """
    return _by_value(values, _free_text if free else _one_line)


# --------------------------------------------------------------------------- phones

# Separators people type between digits; after _one_line, so full-width ones are ASCII already.
_PHONE_SEPARATORS = str.maketrans("", "", " -.()/\u2010\u2011\u2012\u2013\u2014\u2015\u2212")
_PHONE_CHARACTERS = re.compile(r"\+?[0-9 ().\-/\u2010-\u2015\u2212]+")
# How a region's own numbers look written without a country code. A number of another shape
# may be a foreign number whose country code was left out (or a mistyped one): never guessed.
_NATIONAL_SHAPES = {
    "CN": re.compile(r"1[3-9][0-9]{9}|0[0-9]{9,11}|[48]00[0-9]{7}"),
    **{region: re.compile(r"1?[2-9][0-9]{2}[2-9][0-9]{6}") for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[1]},
}
# The kinds of number phonenumbers' is_valid_number accepts (any kind but UNKNOWN).
_NUMBER_KINDS = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
)


def _desc_pattern(desc: phonenumbers.PhoneNumberDesc | None) -> str | None:
    """A regex matching a whole national number of one kind: its pattern and possible lengths."""
    if desc is None or not desc.national_number_pattern:
        return None
    lengths = [length for length in desc.possible_length if length > 0]
    if desc.possible_length and not lengths:
        return None  # (-1,): the region has no numbers of this kind
    check = "(?=(?:" + "|".join(f"[0-9]{{{n}}}" for n in lengths) + ")$)" if lengths else ""
    return f"{check}(?:{desc.national_number_pattern})"


def _region_pattern(region: str) -> re.Pattern[str] | None:
    """National numbers phonenumbers calls valid in ``region``: its general shape, and one of its kinds."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    general = _desc_pattern(metadata.general_desc) if metadata is not None else None
    kinds = [p for p in (_desc_pattern(getattr(metadata, kind)) for kind in _NUMBER_KINDS) if p is not None]
    if general is None or not kinds:
        return None
    return re.compile(f"(?=(?:{general})$)(?:{'|'.join(kinds)})")


@functools.cache
def _validity(country_code: int) -> Callable[[str], bool]:
    """``phonenumbers.is_valid_number`` for national numbers of one country code, without a PhoneNumber.

    It is phonenumbers' own algorithm over its own metadata (the tests check that they agree):
    the number belongs to the first region of the code whose leading digits it starts with,
    or else whose numbers it matches, and is valid if it is a number of that region.
    """
    # Steps in the regions' order: a region without leading digits is one step (its pattern);
    # consecutive regions with leading digits are one regex whose first matching group says
    # which region a number belongs to (the NANP has 23 of them: one call instead of 23).
    steps: list[tuple[re.Pattern[str] | None, list[re.Pattern[str] | None]]] = []
    grouped = False  # whether the last step is such a regex, to add the next region to
    for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code, ()):
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(code)
        if metadata is None:
            continue
        leading = metadata.leading_digits
        if not leading:
            steps.append((None, [_region_pattern(code)]))
            grouped = False
        elif re.compile(leading).groups:  # groups of its own: a step of its own
            steps.append((re.compile(f"(?:{leading})()"), [_region_pattern(code)]))
            grouped = False
        elif grouped:
            previous, patterns = steps[-1]
            assert previous is not None
            steps[-1] = (re.compile(f"{previous.pattern}|({leading})"), [*patterns, _region_pattern(code)])
        else:
            steps.append((re.compile(f"({leading})"), [_region_pattern(code)]))
            grouped = True

    def valid(national: str) -> bool:
        for leading, patterns in steps:
            if leading is None:
                if patterns[0] is not None and patterns[0].fullmatch(national):
                    return True
            elif match := leading.match(national):
                pattern = patterns[0] if len(patterns) == 1 else patterns[(match.lastindex or 1) - 1]
                return pattern is not None and pattern.fullmatch(national) is not None
        return False

    return valid


def _common_pattern(region: str, kind: str) -> str:
    desc = getattr(phonenumbers.PhoneMetadata.metadata_for_region(region), kind)
    return f"(?:{desc.national_number_pattern})"


# The common shapes, on the digits with separators removed: CN mobiles and NANP numbers with an
# optional country code (+86, 0086, 86 / +1, 1). The national number part is phonenumbers' own
# pattern of CN mobiles and US numbers, so a match is a valid number: phonenumbers' general
# pattern is the union of its kinds' and needs no check (the tests compare with phonenumbers).
# Each regex has one order: a NANP region reads a bare 1 415 555 0134 as its own number.
_CN_VALID = rf"(\+86|0086|86)?({_common_pattern('CN', 'mobile')})"
_NANP_VALID = rf"(\+1|1)?({_common_pattern('US', 'fixed_line')})"
_COMMON = {86: re.compile(f"{_CN_VALID}|{_NANP_VALID}"), 1: re.compile(f"{_NANP_VALID}|{_CN_VALID}")}
# The same shapes with any digits: a number of this shape is valid or not for phonenumbers'
# metadata as a whole (_validity), still without parsing it.
_CN_SHAPE = r"(\+86|0086|86)?(1[3-9][0-9]{9})"
_NANP_SHAPE = r"(\+1|1)?([2-9][0-9]{2}[2-9][0-9]{6})"
_SHAPES = {86: re.compile(f"{_CN_SHAPE}|{_NANP_SHAPE}"), 1: re.compile(f"{_NANP_SHAPE}|{_CN_SHAPE}")}


@dataclass(frozen=True)
class _Region:
    """What the phone normaliser needs to know about the default region."""

    code: str
    country_code: int
    idd: str | None  # the international call prefix dialled there, when it is plain digits: "00", "011"
    national_shape: re.Pattern[str] | None


def _region(code: str) -> _Region:
    code = code.upper()
    country_code = phonenumbers.country_code_for_region(code)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(code)
    if not country_code or metadata is None:
        raise ValueError(f"unknown phone region {code!r}: use a two-letter country code such as CN or US")
    prefix = metadata.international_prefix or ""
    idd = "00" if re.fullmatch(prefix, "00") else (prefix if prefix.isdigit() else None)
    return _Region(code, country_code, idd, _NATIONAL_SHAPES.get(code))


def _fast_format(country_code: int, national: str, *, e164: bool, domestic: bool) -> str:
    """A CN mobile or a NANP number written as phonenumbers writes it (the tests compare them)."""
    if e164:
        return f"+{country_code}{national}"
    if country_code == 86:
        local = f"{national[:3]} {national[3:7]} {national[7:]}"
        return local if domestic else f"+86 {local}"
    if domestic:
        return f"({national[:3]}) {national[3:6]}-{national[6:]}"
    return f"+1 {national[:3]}-{national[3:6]}-{national[6:]}"


def _phone_text(number: phonenumbers.PhoneNumber, region: _Region, *, e164: bool) -> str:
    if e164:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    # a national format drops the country code, so only numbers of the default region's country get it
    kind = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == region.country_code
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, kind)


def normalize_phones(
    values: pd.Series[str], *, default_region: str = "CN", phone_format: PhoneFormat = "e164"
) -> Normalized:
    """Phone numbers in E.164 (``+8613800138000``) or the national format of ``default_region``.

    Numbers without a country code are read as numbers of ``default_region``, but only when
    they look like one (in a CN workbook ``(415) 555-0134`` is ambiguous: it may be an
    American number written without +1). Numbers phonenumbers calls invalid, extensions
    and anything holding letters stay as they are. In the national format, numbers of
    other countries get the international format (``+1 415-555-0134``).

        >>> normalize_phones(pd.Series(["１３８-0013-8000", "+86 10 1234 5678"])).fixed.tolist()
        ['+8613800138000', '+861012345678']
        >>> normalize_phones(pd.Series(["+8613800138000"]), phone_format="national").fixed.tolist()
        ['138 0013 8000']
    """
    if phone_format not in ("e164", "national"):
        raise ValueError(f"phone_format is 'e164' or 'national', not {phone_format!r}")
    region = _region(default_region)
    e164 = phone_format == "e164"
    first = 1 if region.country_code == 1 else 86
    common, shapes = _COMMON[first], _SHAPES[first]
    country_of_group = {2: first, 4: 86 if first == 1 else 1}  # the group holding the national number
    # Without "+", a country code means the default region's own, and "0086" is dialled from
    # where the international prefix is 00; any other prefix is left to phonenumbers.
    prefixes = {86: {"+86"}, 1: {"+1"}}
    if region.country_code in prefixes:
        prefixes[region.country_code] |= {"", str(region.country_code)}
    if region.country_code == 86 and region.idd == "00":
        prefixes[86].add("0086")
    valid = {86: _validity(86), 1: _validity(1)}

    plus = {86: "+86", 1: "+1"}

    def convert(value: str) -> str:
        if value.isascii():  # the common case, without _one_line's call and check
            text = " ".join(value.split())
            if e164 and text[:1] == "+" and text[1:].isdigit():
                return text  # E.164 already, or digits only a person can mend
            # str.replace is several times faster than translate
            compact = text.replace(" ", "").replace("-", "").replace("(", "").replace(")", "")
            compact = compact.replace(".", "").replace("/", "")
        else:
            text = _one_line(value)
            compact = text.translate(_PHONE_SEPARATORS)
        if not text:
            return text
        match = common.fullmatch(compact)
        if match is not None:  # valid and written as phonenumbers would: the common case, kept short
            group = match.lastindex or 0
            country_code = country_of_group[group]
            if (match[group - 1] or "") in prefixes[country_code]:
                if e164:
                    return plus[country_code] + match[group]
                domestic = country_code == region.country_code
                return _fast_format(country_code, match[group], e164=False, domestic=domestic)
        match = shapes.fullmatch(compact)
        if match is not None:
            group = match.lastindex or 0
            country_code = country_of_group[group]
            if (match[group - 1] or "") in prefixes[country_code]:
                national = match[group]
                if not valid[country_code](national):
                    return text
                number = phonenumbers.PhoneNumber(country_code=country_code, national_number=int(national))
                return _phone_text(number, region, e164=e164)
        result, elsewhere = _slow_phone(text, compact, region, e164=e164)
        if elsewhere:
            unsure[value] = (
                f"has no country code and is not written like a {region.code} number, but would be a valid "
                f"+{elsewhere} number, {_NO_FIX}: write it with its country code, or set [fix] default_region"
            )
        return result

    unsure: dict[str, str] = {}
    return _by_value(values, convert, unsure)


def _valid_elsewhere(digits: str, region: _Region) -> int:
    """The country code (86 or 1) of which digits that are no number of the default region would
    be a valid number, with or without that code (``1 415 555 0134``, ``86 138 0013 8000``) or
    trunk 0; 0 when neither.

    Only these two: checking every country's numbers would compile all of phonenumbers'
    metadata, for a flag that only says "a person should look at this".
    """
    for code in (86, 1):
        if code == region.country_code:
            continue
        prefix = str(code)
        national = digits[len(prefix) :] if digits.startswith(prefix) else digits.removeprefix("0")
        if _validity(code)(national) or (national != digits and _validity(code)(digits)):
            return code
    return 0


def _slow_phone(text: str, compact: str, region: _Region, *, e164: bool) -> tuple[str, int]:
    """Any other shape, through phonenumbers, kept only where every digit is accounted for.

    The second item is the country code of another country the number would be valid in,
    when it was written without one in a shape the default region's numbers are not (else 0).
    """
    if not _PHONE_CHARACTERS.fullmatch(text):
        return text, 0  # letters ("ext. 12", an O typed for a 0) or other text: a person decides
    digits = compact.lstrip("+")
    if not 7 <= len(digits) <= 17:
        return text, 0
    international = compact.startswith("+") or (region.idd is not None and digits.startswith(region.idd))
    # Written without a country code in a shape the region's own numbers are not written in: not
    # read as the region's (phonenumbers would), and ambiguous when it is a number elsewhere.
    if not international and region.national_shape is not None and not region.national_shape.fullmatch(digits):
        return text, _valid_elsewhere(digits, region)
    try:
        number = phonenumbers.parse(text, region.code)
    except phonenumbers.NumberParseException:
        return text, 0
    if number.extension or not phonenumbers.is_valid_number(number):
        return text, 0
    national = phonenumbers.national_significant_number(number)
    country = str(number.country_code)
    number_region = phonenumbers.region_code_for_number(number)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(number_region) if number_region else None
    trunk = (metadata.national_prefix if metadata is not None else None) or ""
    idd = region.idd or ""
    prefixes = {"", country, idd + country, trunk, country + trunk, idd + country + trunk}
    if not digits.endswith(national) or digits[: len(digits) - len(national)] not in prefixes:
        return text, 0  # phonenumbers read some digits differently from how they were typed
    return _phone_text(number, region, e164=e164), 0


# --------------------------------------------------------------------------- dates

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
# [0-9] rather than \d: \d also matches other scripts' digits, which int() would happily read.
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ISO_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[ T](?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,6})?)?)?"
)
_YMD = re.compile(r"([0-9]{4}) ?([-/.]) ?([0-9]{1,2}) ?\2 ?([0-9]{1,2})")
_YMD_CHINESE = re.compile(r"([0-9]{4}) ?年 ?([0-9]{1,2}) ?月 ?([0-9]{1,2}) ?[日号]?")
_YMD_COMPACT = re.compile(r"((?:19|20|21)[0-9]{2})([0-9]{2})([0-9]{2})")
_DAY_MONTH_YEAR = re.compile(r"([0-9]{1,2})(?:st|nd|rd|th)?[ -]([A-Za-z]{3,9})\.?,?[ -]([0-9]{4})", re.IGNORECASE)
_MONTH_DAY_YEAR = re.compile(r"([A-Za-z]{3,9})\.?[ -]([0-9]{1,2})(?:st|nd|rd|th)?(?:, ?| |-)([0-9]{4})", re.IGNORECASE)
_NUMERIC = re.compile(r"([0-9]{1,2})([-/.])([0-9]{1,2})\2([0-9]{2}|[0-9]{4})")
_TIME = re.compile(r"(.+?)(?: ?T ?| )([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?(?: ?([AaPp])\.?[Mm]\.?)?")
_SERIAL = re.compile(r"[0-9]{5,6}(?:\.[0-9]+)?")
# Excel's serial day numbers count from 1899-12-30 (past its fictitious 1900-02-29). Only
# five- and six-digit numbers are read as serials, up to the end of 2199: a four-digit
# number in a date column is more likely a year typed alone.
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)
_FIRST_SERIAL, _LAST_SERIAL = 10_000, (dt.datetime(2199, 12, 31) - _EXCEL_EPOCH).days


def _date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _parse_date(text: str, day_first: bool | None) -> tuple[dt.date | None, str | None]:
    """The date a text means, or why it is ambiguous; (None, None) when it means none."""
    match = _YMD.fullmatch(text) or _YMD_CHINESE.fullmatch(text) or _YMD_COMPACT.fullmatch(text)
    if match:
        groups = match.groups()
        year, month, day = (groups[0], groups[2], groups[3]) if len(groups) == 4 else groups
        return _date(int(year), int(month), int(day)), None
    match = _DAY_MONTH_YEAR.fullmatch(text)
    if match and match[2].lower() in _MONTHS:
        return _date(int(match[3]), _MONTHS[match[2].lower()], int(match[1])), None
    match = _MONTH_DAY_YEAR.fullmatch(text)
    if match and match[1].lower() in _MONTHS:
        return _date(int(match[3]), _MONTHS[match[1].lower()], int(match[2])), None
    match = _NUMERIC.fullmatch(text)
    if match:
        if len(match[4]) == 2:
            return None, (
                f"has a two-digit year, and which century is meant would be a guess, {_NO_FIX}: "
                "write the year in full (no setting decides it)"
            )
        first, second, year = int(match[1]), int(match[3]), int(match[4])
        day_month = _date(year, second, first)
        month_day = _date(year, first, second)
        if day_first is True:
            return day_month, None
        if day_first is False:
            return month_day, None
        if day_month is None or month_day is None or day_month == month_day:
            # only one reading is a real date (25/3/2024), or both are the same day (5/5/2024)
            return day_month or month_day, None
        return None, (
            f"could be {_day_text(day_month)} or {_day_text(month_day)} {year}, {_NO_FIX}: "
            "set [fix] day_first = true (day first) or false (month first)"
        )
    return None, None


def _day_text(date: dt.date) -> str:
    """``5 March``, in English whatever the locale."""
    return f"{date.day} {_MONTH_NAMES[date.month - 1]}"


def _parse_serial(text: str, *, with_time: bool) -> dt.datetime | None:
    if not _SERIAL.fullmatch(text):
        return None
    serial = float(text)
    if not _FIRST_SERIAL <= serial <= _LAST_SERIAL or (not with_time and not serial.is_integer()):
        return None
    return _EXCEL_EPOCH + dt.timedelta(seconds=round(serial * 86_400))


def normalize_dates(values: pd.Series[str], *, day_first: bool | None = None, serials: bool = True) -> Normalized:
    """Dates in common forms to ``YYYY-MM-DD``.

    Reads ``2024/3/5``, ``2024.03.05``, ``2024-3-5``, ``20240305``, ``2024年3月5日``,
    ``5 Mar 2024``, ``Mar 5, 2024`` and, with ``serials``, Excel serial day numbers
    (``45356``). ``5/3/2024`` needs ``day_first`` (True: 5 March; False: May 3) unless only
    one reading is a real date; otherwise it is ambiguous, as is any two-digit year.
    Impossible dates (``2023-02-30``) stay.

        >>> normalize_dates(pd.Series(["２０２４年３月５日", "45356", "5/3/2024"]), day_first=True).fixed.tolist()
        ['2024-03-05', '2024-03-05', '2024-03-05']
    """

    def convert(value: str) -> str:
        text = _one_line(value)
        if not text or _ISO_DATE.fullmatch(text):
            return text
        date, reason = _parse_date(text, day_first)
        if reason is not None:
            unsure[value] = reason
        if date is None and serials:
            moment = _parse_serial(text, with_time=False)
            date = moment.date() if moment is not None else None
        return date.isoformat() if date is not None else text

    unsure: dict[str, str] = {}
    return _by_value(values, convert, unsure)


def normalize_datetimes(values: pd.Series[str], *, day_first: bool | None = None, serials: bool = True) -> Normalized:
    """Dates and times to ``YYYY-MM-DD HH:MM`` (``:SS`` when seconds were given); a date alone stays a date.

    The date part is read as :func:`normalize_dates` reads it; the time as ``14:30``,
    ``9:05:10`` or ``2:30 PM``; serials may have a fraction (``45356.5`` is noon). Values
    already written as sheetcrm reads them (``2024-03-05T14:30:00`` from a real date cell)
    stay, as do times with a zone.

        >>> normalize_datetimes(pd.Series(["2024/3/5 9:05", "5 Mar 2024 2:30 pm"])).fixed.tolist()
        ['2024-03-05 09:05', '2024-03-05 14:30']
    """

    def convert(value: str) -> str:
        text = _one_line(value)
        if not text or _ISO_DATETIME.fullmatch(text):
            return text
        if serials and (moment := _parse_serial(text, with_time=True)) is not None:
            if moment.time() == dt.time(0):
                return moment.date().isoformat()
            return moment.strftime("%Y-%m-%d %H:%M" if moment.second == 0 else "%Y-%m-%d %H:%M:%S")
        time = _TIME.fullmatch(text)
        date, reason = _parse_date(time[1] if time else text, day_first)
        if date is None:
            if reason is not None:
                unsure[value] = reason
            return text
        if time is None:
            return date.isoformat()
        hour, minute = int(time[2]), int(time[3])
        if time[5]:
            if not 1 <= hour <= 12:
                return text
            hour = hour % 12 + (12 if time[5] in "Pp" else 0)
        if hour > 23 or minute > 59 or (time[4] is not None and int(time[4]) > 59):
            return text
        clock = f"{hour:02d}:{minute:02d}" + (f":{time[4]}" if time[4] is not None else "")
        return f"{date.isoformat()} {clock}"

    unsure: dict[str, str] = {}
    return _by_value(values, convert, unsure)


# --------------------------------------------------------------------------- emails, choices, tags


def normalize_emails(values: pd.Series[str]) -> Normalized:
    """Trimmed, half-width, the domain lower-cased (the local part never: it may be case-sensitive).

    >>> normalize_emails(pd.Series([" Li.Na＠Example.COM "])).fixed.tolist()
    ['Li.Na@example.com']
    """

    def convert(value: str) -> str:
        text = _one_line(value)
        local, at, domain = text.rpartition("@")
        if not at or not local or "@" in local:
            return text
        return f"{local}@{domain.lower()}"

    return _by_value(values, convert)


def _choice_lookup(field: Field) -> dict[str, str]:
    """What :meth:`Field.choice_for` answers, as one dict lookup per value (choices before synonyms)."""
    lookup = {fold(spelling): choice for spelling, choice in field.synonyms.items()}
    lookup.update({fold(choice): choice for choice in field.choices})
    return lookup


def normalize_choices(values: pd.Series[str], field: Field) -> Normalized:
    """Each value as its choice, spelled as the choice is: other case, spacing, width or a synonym.

    Values that mean no choice stay (trimmed).

        >>> tier = CRM_TABLES["customers"].field("tier")
        >>> normalize_choices(pd.Series(["vip", "重要客户", " Standard ", "Gold"]), tier).fixed.tolist()
        ['VIP', 'Key', 'Standard']
    """
    lookup = _choice_lookup(field)

    def convert(value: str) -> str:
        text = _one_line(value)
        return lookup.get(fold(text), text)

    return _by_value(values, convert)


def normalize_tags(values: pd.Series[str], field: Field) -> Normalized:
    """Tags de-duplicated, sorted and joined with ``", "``; each one a choice's spelling when there are choices.

    A full-width comma separates tags too. Where a tag means no choice, the value stays
    (trimmed): it is a finding for a person.

        >>> normalize_tags(pd.Series(["wholesale，Repeat, repeat ,, VIP"]), Field("tags", FieldType.tags)).fixed.tolist()
        ['Repeat, VIP, wholesale']
    """
    lookup = _choice_lookup(field)

    def convert(value: str) -> str:
        text = _one_line(value)
        items = [item.strip() for item in text.split(",") if item.strip()]
        if field.choices:
            chosen = [lookup.get(fold(item)) for item in items]
            if None in chosen:
                return text
            items = [item for item in chosen if item is not None]
        unique = {fold(item): item for item in reversed(items)}  # the first spelling of each tag wins
        return ", ".join(sorted(unique.values(), key=lambda item: (fold(item), item)))

    return _by_value(values, convert)


# --------------------------------------------------------------------------- numbers

_MINUS_SIGNS = str.maketrans({"\u2212": "-", "\u2013": "-"})
_CURRENCY = re.compile(r"([+-]?) ?(?:US\$|HK\$|[$¥￥€£]) ?([+-]?[0-9].*?)(?: ?元)?|([+-]?[0-9].*?) ?元")
# Thousands separators are only certain in groups of exactly three digits before a dot
# decimal: "1,5" and "1.234,50" are decimal commas, which are ambiguous.
_GROUPED = re.compile(r"([+-]?)([0-9]{1,3}(?:,[0-9]{3})+)(\.[0-9]+)?")
_DECIMAL_COMMA = re.compile(r"[+-]?[0-9]+(?:\.[0-9]{3})*,[0-9]+")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def normalize_numbers(values: pd.Series[str], *, kind: FieldType = FieldType.decimal) -> Normalized:
    """Numbers without thousands separators, half-width, and for money without a currency symbol.

    ``kind`` is ``integer``, ``decimal`` or ``money``. A value is only changed when the
    result is a number of that kind; a decimal comma (``1,5``) is ambiguous.

        >>> normalize_numbers(pd.Series(["1,234.50", "¥1,200", "１２", "1,5"]), kind=FieldType.money).fixed.tolist()
        ['1234.50', '1200', '12']
    """
    if kind not in NUMERIC_TYPES:
        raise ValueError(f"kind is integer, decimal or money, not {kind!r}")
    shape = _INTEGER if kind is FieldType.integer else _DECIMAL

    def convert(value: str) -> str:
        text = _one_line(value)
        number = text.translate(_MINUS_SIGNS)
        if kind is FieldType.money and (match := _CURRENCY.fullmatch(number)):
            sign, digits = (match[1], match[2]) if match[2] is not None else ("", match[3])
            if sign and digits[:1] in "+-":
                return text  # two signs
            number = sign + digits
        if match := _GROUPED.fullmatch(number):
            number = match[1] + match[2].replace(",", "") + (match[3] or "")
        if shape.fullmatch(number):
            return number
        if _DECIMAL_COMMA.fullmatch(number.lstrip("$¥￥€£")):
            unsure[value] = (
                f"has a comma that may be a decimal comma or a thousands separator, {_NO_FIX}: "
                "write it with a decimal point and no thousands separators (no setting decides it)"
            )
        return text

    unsure: dict[str, str] = {}
    return _by_value(values, convert, unsure)


# --------------------------------------------------------------------------- one column


def normalize_column(
    values: pd.Series[str],
    field: Field,
    *,
    phone_format: PhoneFormat = "e164",
    default_region: str = "CN",
    day_first: bool | None = None,
) -> Normalized:
    """The normaliser of ``field``'s type, run over its column.

    >>> normalize_column(table.frame["Phone"], CRM_TABLES["customers"].field("phone"), default_region="US")
    """
    kind = field.type
    if kind is FieldType.phone:
        return normalize_phones(values, default_region=default_region, phone_format=phone_format)
    if kind is FieldType.date:
        return normalize_dates(values, day_first=day_first)
    if kind is FieldType.datetime:
        return normalize_datetimes(values, day_first=day_first)
    if kind is FieldType.email:
        return normalize_emails(values)
    if kind is FieldType.enum:
        return normalize_choices(values, field)
    if kind is FieldType.tags:
        return normalize_tags(values, field)
    if kind in NUMERIC_TYPES:
        return normalize_numbers(values, kind=kind)
    # text is prose; ids, references, urls and booleans are codes, safe to make half-width
    return normalize_text(values, free=kind is FieldType.text)

"""Matching keys: each identifying value folded into the form duplicates are compared in.

These are not the safe fixes of :mod:`sheetcrm.validate.normalize` (which never change what a
value means): a matching key may drop what a person would keep (``Ltd``, the dots of a Gmail
address, the order of a name), because two records are the same customer however each was
typed. Every function takes a column of text and returns a column of keys on the same index,
``""`` where there is nothing to compare::

    >>> fold_names(pd.Series(["San  ZHANG", "Zhang, San", "张 三"])).tolist()
    ['san zhang', 'san zhang', '张三']
    >>> fold_companies(pd.Series(["Blue River Software Co., Ltd.", "华信软件有限公司"])).tolist()
    ['blue river software', '华信软件']

Each distinct value is folded once (a column of 1M names holds far fewer distinct ones), in
one Python pass with precompiled tables, as the validators' normalisers do.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

import numpy as np
import pandas as pd

from sheetcrm.util import collector_paused
from sheetcrm.validate.normalize import normalize_dates, normalize_phones

__all__ = [
    "fold_addresses",
    "fold_codes",
    "fold_companies",
    "fold_dates",
    "fold_emails",
    "fold_names",
    "fold_phones",
    "fold_text",
    "fold_value",
]


def _by_value(values: pd.Series[str], convert: Callable[[str], str]) -> pd.Series[str]:
    """``convert`` applied once per distinct value, spread back over the rows (missing -> "")."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    distinct = uniques.tolist()  # iterating the Index itself is ten times slower
    if not all(isinstance(value, str) for value in distinct[:1]) or not isinstance(values.dtype, pd.StringDtype):
        distinct = [value if isinstance(value, str) else str(value) for value in distinct]
    # millions of short-lived strings are no garbage worth a collection pass
    with collector_paused():
        keys = np.array([*map(convert, distinct), ""], dtype=object)
    return pd.Series(keys[codes], index=values.index, dtype=object)


# Punctuation and symbols become spaces (so "Smith,John" is two words); apostrophes vanish
# ("O'Neil" is "oneil"). str.translate with a table this size costs ~1 µs a value, a regex a tenth.
_APOSTROPHES = re.compile(r"['’`´]")
_ASCII_PUNCT = re.compile(r"[^a-z0-9\s]+")
_PUNCT = re.compile(r"[^\w\s]+|_+")
_CJK = "\u2e80-\u9fff\uf900-\ufaff\uac00-\ud7af\U00020000-\U0003ffff"
_CJK_ONLY = re.compile(f"[{_CJK}\\s]+")


def fold_value(value: str) -> str:
    """NFKC (full width to half width), case-folded, punctuation as spaces, whitespace collapsed.

    >>> fold_value("  ＺＨＡＮＧ-Wei. ")
    'zhang wei'
    """
    if value.isascii():
        text = value.lower()
        if text.replace(" ", "").isalnum():  # most values: no regex needed
            return " ".join(text.split())
        return " ".join(_ASCII_PUNCT.sub(" ", _APOSTROPHES.sub("", text)).split())
    text = _APOSTROPHES.sub("", unicodedata.normalize("NFKC", value).casefold())
    return " ".join(_PUNCT.sub(" ", text).split())


def _all_cjk(text: str) -> bool:
    return not text.isascii() and _CJK_ONLY.fullmatch(text) is not None


_TITLES = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "madam"})
_CJK_TITLES = ("先生", "女士", "小姐", "老师", "经理", "总")


def _name(value: str) -> str:
    tokens = fold_value(value).split()
    if not _TITLES.isdisjoint(tokens):
        tokens = [token for token in tokens if token not in _TITLES]
    if tokens and not tokens[0].isascii() and _all_cjk("".join(tokens)):
        # Chinese names are written surname first without spaces: "张 三" is "张三", order kept
        name = "".join(tokens)
        for title in _CJK_TITLES:
            if len(name) > len(title) + 1 and name.endswith(title):
                return name[: -len(title)]
        return name
    return " ".join(sorted(tokens))


def fold_names(values: pd.Series[str]) -> pd.Series[str]:
    """Person names: folded, titles (Mr, Dr) dropped, words in sorted order ("Zhang San" = "San Zhang").

    A name written only in CJK characters loses its spaces and keeps its order.
    """
    return _by_value(values, _name)


def fold_text(values: pd.Series[str]) -> pd.Series[str]:
    """Any text: :func:`fold_value` of each value (cities, custom fields)."""
    return _by_value(values, fold_value)


_NOT_ALNUM = re.compile(r"[\W_]+")


def fold_codes(values: pd.Series[str]) -> pd.Series[str]:
    """Codes (postcodes, ids): NFKC, case-folded, without spaces or punctuation (``"sw1a 1aa"`` = ``"SW1A1AA"``)."""
    return _by_value(values, lambda value: _NOT_ALNUM.sub("", unicodedata.normalize("NFKC", value).casefold()))


# Legal forms, matched as whole words at the end of the name, repeatedly ("Co., Ltd.").
_LEGAL_EN = frozenset(
    {
        "ltd", "limited", "inc", "incorporated", "llc", "llp", "lp", "co", "corp", "corporation", "company",
        "gmbh", "ag", "kg", "ug", "sa", "sas", "sarl", "srl", "spa", "bv", "nv", "plc", "pty", "pte", "pvt",
        "kk", "oy", "ab", "as", "aps", "sl", "sdn", "bhd", "group", "holdings", "intl", "international",
    }
)  # fmt: skip
# Longest first, so 股份有限公司 goes whole rather than leaving 股份.
_LEGAL_CJK = (
    "股份有限公司", "有限责任公司", "集团有限公司", "有限公司", "有限會社", "株式会社", "集团公司",
    "集团", "公司", "(集团)", "(中国)",
)  # fmt: skip


def _company(value: str) -> str:
    text = unicodedata.normalize("NFKC", value).casefold().strip()
    for _ in range(0 if text.isascii() else 3):  # "XX科技集团有限公司": 有限公司, then 集团
        for suffix in _LEGAL_CJK:
            if text.endswith(suffix) and len(text) > len(suffix):
                text = text[: -len(suffix)].rstrip()
                break
        else:
            break
    tokens = fold_value(text).split()
    while len(tokens) > 1 and tokens[-1] in _LEGAL_EN:
        tokens.pop()
    if tokens and _all_cjk("".join(tokens)):
        return "".join(tokens)
    return " ".join(tokens)


def fold_companies(values: pd.Series[str]) -> pd.Series[str]:
    """Company names without their legal form: Ltd, Inc, Co., GmbH, LLC, 有限公司, 公司 …"""
    return _by_value(values, _company)


_ADDRESS_WORDS = {
    "street": "st", "str": "st", "road": "rd", "avenue": "ave", "av": "ave", "drive": "dr", "place": "pl",
    "court": "ct", "crescent": "cres", "cr": "cres", "lane": "ln", "boulevard": "blvd", "highway": "hwy",
    "parade": "pde", "terrace": "tce", "circuit": "cct", "close": "cl", "square": "sq", "apartment": "apt",
    "unit": "apt", "suite": "ste", "floor": "fl", "building": "bldg", "north": "n", "south": "s",
    "east": "e", "west": "w", "number": "no",
}  # fmt: skip


def _address(value: str) -> str:
    tokens = fold_value(value).split()
    if tokens and _all_cjk("".join(tokens)):
        return "".join(tokens)
    return " ".join(_ADDRESS_WORDS.get(token, token) for token in tokens)


def fold_addresses(values: pd.Series[str]) -> pd.Series[str]:
    """Addresses: folded, with the common street words abbreviated ("Street" = "St.")."""
    return _by_value(values, _address)


_GMAIL = frozenset({"gmail.com", "googlemail.com"})


def fold_emails(values: pd.Series[str], *, fold_gmail: bool = True, fold_tags: bool = True) -> pd.Series[str]:
    """Emails lower-cased; with ``fold_gmail`` Gmail's dots dropped (googlemail.com is gmail.com),
    with ``fold_tags`` a ``+tag`` dropped from any address.

    >>> fold_emails(pd.Series(["J.Smith+crm@GMail.com ", "Li.Na@Example.COM"])).tolist()
    ['jsmith@gmail.com', 'li.na@example.com']
    """

    def convert(value: str) -> str:
        text = "".join(unicodedata.normalize("NFKC", value).casefold().split()).strip("<>;,")
        text = text.removeprefix("mailto:")
        local, at, domain = text.rpartition("@")
        if not at:
            return text
        if fold_tags and "+" in local:
            local = local.split("+", 1)[0]
        if fold_gmail and domain in _GMAIL:
            local, domain = local.replace(".", ""), "gmail.com"
        return f"{local}@{domain}"

    return _by_value(values, convert)


def fold_phones(values: pd.Series[str], *, default_region: str = "CN") -> pd.Series[str]:
    """Phones in E.164 (``+8613800138000``); a number phonenumbers cannot place keeps its digits only.

    Numbers without a country code are read as numbers of ``default_region``.

    >>> fold_phones(pd.Series(["138-0013-8000", "+86 138 0013 8000", "ext. 12-34"])).tolist()
    ['+8613800138000', '+8613800138000', '1234']
    """
    text = values.fillna("").astype(object)
    fixed = normalize_phones(text, default_region=default_region).fixed
    merged = text.copy()
    merged.loc[fixed.index] = fixed.astype(object)

    def convert(value: str) -> str:
        if value[:1] == "+" and value[1:].isdigit():
            return value
        return "".join(char for char in unicodedata.normalize("NFKC", value) if char.isdigit())

    return _by_value(merged, convert)


_TIME_TAIL = re.compile(r"[ T]00:00(:00(\.0+)?)?$")
_NOT_DIGIT = re.compile(r"\D+")


def fold_dates(values: pd.Series[str], *, day_first: bool | None = None) -> pd.Series[str]:
    """Dates (birthdays) as ``YYYYMMDD``, read as :func:`~sheetcrm.validate.normalize.normalize_dates` reads
    them; a date it cannot read (ambiguous, impossible) keeps its digits only.

    >>> fold_dates(pd.Series(["1956-4-9", "19560409", "1956年4月9日", "1956-04-09 00:00:00"])).tolist()
    ['19560409', '19560409', '19560409', '19560409']
    """
    text = _by_value(values, lambda value: _TIME_TAIL.sub("", value.strip()))
    fixed = normalize_dates(text, day_first=day_first).fixed
    text.loc[fixed.index] = fixed.astype(object)
    return _by_value(text, lambda value: _NOT_DIGIT.sub("", unicodedata.normalize("NFKC", value)))

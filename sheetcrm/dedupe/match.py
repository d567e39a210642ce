"""Find the records that are the same customer: blocking, scoring, clustering, lookups.

Four steps, each a function of its own so the review sheet and the CLI can show any of them:

1. :func:`normalized` folds each identifying field into its matching key (E.164 phones,
   folded emails, names in sorted word order, companies without Ltd/有限公司 …).
2. :func:`candidate_pairs` picks the pairs worth comparing by *blocking*: records that share
   an email, a phone's last 8 digits or an id, that share a postcode, birthday or company
   and a name initial, or that sort next to each other by name (forwards and backwards) or
   address. Each key compares a record with at most ``window`` / ``block_size`` neighbours,
   so the work grows with the number of rows, never with its square.
3. :func:`find_pairs` compares each candidate pair field by field (rapidfuzz) and adds up
   the evidence, in bits, Fellegi–Sunter style: an equal email is worth more than an equal
   city, a different birthday counts against. ``score`` is that evidence squashed into 0..1
   (0.5 at ``prior`` bits); pairs at or above ``merge_threshold`` are "merge", those above
   ``review_threshold`` "review", the rest are left out. Must-not-match rules veto a pair.
4. :func:`cluster_pairs` joins pairs into clusters, strongest first, never past
   ``max_cluster_size`` records: an edge that would make a cluster too big is left out
   (the two groups stay apart) rather than letting one weak link chain strangers together.

    >>> frame = pd.DataFrame({"name": ["Zhang San", "San Zhang", "Li Si"],
    ...                       "phone": ["138 0013 8000", "+86 138-0013-8000", "139 0000 1111"]}, index=[2, 3, 4])
    >>> [(p.left, p.right, p.decision) for p in find_pairs(frame)]
    [(2, 3, 'merge')]

Customer ids are no identifying field: a customer entered twice usually got two ids.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from rapidfuzz import fuzz, process
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler, Levenshtein

from sheetcrm.config import FieldKind
from sheetcrm.dedupe.normalize import (
    fold_addresses,
    fold_codes,
    fold_companies,
    fold_dates,
    fold_emails,
    fold_names,
    fold_phones,
    fold_text,
)
from sheetcrm.errors import ConfigError

__all__ = [
    "DEFAULT_BLOCKING",
    "DEFAULT_FIELDS",
    "DEFAULT_MUST_NOT_MATCH",
    "BlockingKey",
    "Cluster",
    "Decision",
    "FieldKind",
    "FieldRule",
    "MatchConfig",
    "MustNotMatch",
    "Pair",
    "Reason",
    "candidate_pairs",
    "cluster_pairs",
    "find_pairs",
    "lookup",
    "normalized",
]

Decision = Literal["merge", "review"]
Positions = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class FieldRule:
    """One identifying field: its column, how it is compared, and what agreement is worth.

    ``agree`` is the evidence (bits) an equal value adds, ``disagree`` what an entirely
    different one takes away; in between it is linear in the similarity, zero at
    ``neutral``. ``None`` takes the kind's default (see :data:`KIND_WEIGHTS`). An empty
    value on either side adds nothing.

        >>> FieldRule("soc_sec_id", "id")   # a custom identifying field
        FieldRule(name='soc_sec_id', kind='id', agree=None, disagree=None, neutral=None)
    """

    name: str
    kind: FieldKind = "text"
    agree: float | None = None
    disagree: float | None = None
    neutral: float | None = None

    def weights(self) -> tuple[float, float, float]:
        """(agree, disagree, neutral) with the kind's defaults filled in."""
        agree, disagree, neutral = KIND_WEIGHTS[self.kind]
        return (
            agree if self.agree is None else self.agree,
            disagree if self.disagree is None else self.disagree,
            neutral if self.neutral is None else self.neutral,
        )


# (agree, disagree, neutral similarity). Agreement is worth about log2(1 / chance that two
# different customers agree); disagreement is small where one person often has several
# values (emails, phones, companies over time) and large where one has a single true value.
KIND_WEIGHTS: dict[str, tuple[float, float, float]] = {
    "name": (9.0, 8.0, 0.85),
    "company": (4.0, 1.0, 0.8),
    "phone": (12.0, 2.0, 0.9),
    "email": (12.0, 1.0, 0.9),
    "address": (6.0, 2.0, 0.75),
    "city": (2.0, 1.0, 0.85),
    "postcode": (4.0, 1.5, 0.75),
    "date": (7.0, 3.0, 0.8),
    "id": (12.0, 3.0, 0.8),
    "text": (2.0, 1.0, 0.8),
}

DEFAULT_FIELDS: tuple[FieldRule, ...] = (
    FieldRule("name", "name"),
    FieldRule("company", "company"),
    FieldRule("phone", "phone"),
    FieldRule("email", "email"),
    FieldRule("address", "address"),
    FieldRule("city", "city"),
    FieldRule("postcode", "postcode"),
    FieldRule("birthday", "date"),
)


@dataclass(frozen=True)
class MustNotMatch:
    """Two records never match when every field in ``fields`` is filled on both and differs
    (similarity below ``below``), unless a field in ``unless`` is filled on both and equal.

    An entry of ``unless`` is a field name or a field kind (``"id"``: every field of that kind).

        >>> MustNotMatch(("email", "company"))   # different emails at different companies
        MustNotMatch(fields=('email', 'company'), unless=(), below=0.8)
    """

    fields: tuple[str, ...]
    unless: tuple[str, ...] = ()
    below: float = 0.8


# A typing slip (one digit changed or two swapped: similarity 0.875 on YYYYMMDD) is not a
# different birthday; a national id or an email that agrees exactly outweighs the birthday.
DEFAULT_MUST_NOT_MATCH: tuple[MustNotMatch, ...] = (
    MustNotMatch(("email", "company")),
    MustNotMatch(("birthday",), unless=("email", "id")),
)


@dataclass(frozen=True)
class BlockingKey:
    """A key records are grouped by before comparing: the parts joined, a record with an empty part skipped.

    A part is a field name, optionally with a form: ``name:initial`` (first letter),
    ``name:reversed`` (read backwards, so a typo early in a name still sorts nearby),
    ``phone:tail`` (last 8 digits). Records with equal keys are compared, at most
    ``MatchConfig.block_size`` neighbours each; with ``sorted`` the records are ordered by
    the key and each is compared with the next ``MatchConfig.window - 1``, equal key or not
    (the sorted-neighbourhood method).
    """

    parts: tuple[str, ...]
    sorted: bool = False


DEFAULT_BLOCKING: tuple[BlockingKey, ...] = (
    BlockingKey(("email",)),
    BlockingKey(("phone:tail",)),
    BlockingKey(("name",), sorted=True),
    BlockingKey(("name:reversed",), sorted=True),
    BlockingKey(("address",), sorted=True),
    BlockingKey(("postcode", "name:initial")),
    BlockingKey(("birthday", "name:initial")),
    BlockingKey(("company", "name:initial")),
)


@dataclass(frozen=True)
class MatchConfig:
    """Everything the matcher decides by; every setting has a default.

    ``fields`` are the identifying fields (missing columns are skipped), ``custom_fields``
    more of them (each field of kind ``id`` is also a blocking key, exact and sorted).
    ``default_region`` reads phones without a country code; ``fold_gmail`` drops the dots
    of Gmail addresses and ``fold_tags`` the ``+tag`` of any address. ``prior`` is the
    evidence (bits) at which the score is 0.5.
    """

    fields: tuple[FieldRule, ...] = DEFAULT_FIELDS
    custom_fields: tuple[FieldRule, ...] = ()
    merge_threshold: float = 0.97
    review_threshold: float = 0.5
    prior: float = 7.0
    default_region: str = "CN"
    fold_gmail: bool = True
    fold_tags: bool = True
    day_first: bool | None = None
    must_not_match: tuple[MustNotMatch, ...] = DEFAULT_MUST_NOT_MATCH
    blocking: tuple[BlockingKey, ...] = DEFAULT_BLOCKING
    window: int = 5
    block_size: int = 10
    max_cluster_size: int = 12
    workers: int = -1  # rapidfuzz threads; -1: every core

    def __post_init__(self) -> None:
        if not 0 <= self.review_threshold <= self.merge_threshold <= 1:
            raise ValueError("thresholds must satisfy 0 <= review_threshold <= merge_threshold <= 1")
        if self.window < 2 or self.block_size < 2 or self.max_cluster_size < 2:
            raise ValueError("window, block_size and max_cluster_size must be at least 2")
        names = [rule.name for rule in self.all_fields]
        if len(set(names)) != len(names):
            raise ValueError(f"a field is listed twice: {names}")

    @property
    def all_fields(self) -> tuple[FieldRule, ...]:
        return self.fields + self.custom_fields

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> MatchConfig:
        """A config from the ``[dedupe]`` settings; an unknown key is an error that names it.

        Scalar settings are the fields of this class; ``fields`` and ``custom_fields`` map a
        column to its kind; ``must_not_match`` is a list of ``{fields, unless, below}``.

            >>> MatchConfig.from_settings({"merge_threshold": 0.99, "custom_fields": {"national_id": "id"}}).custom_fields
            (FieldRule(name='national_id', kind='id', agree=None, disagree=None, neutral=None),)
        """
        known = {item.name for item in dataclasses.fields(cls)} - {"blocking"}
        values: dict[str, Any] = {}
        for key, value in settings.items():
            if key not in known:
                raise ConfigError(f"[dedupe] has no setting {key!r}", hint=f"settings: {', '.join(sorted(known))}")
            if key in ("fields", "custom_fields"):
                kinds = typing.get_args(FieldKind)
                for name, kind in dict(value).items():
                    if kind not in kinds:
                        raise ConfigError(f"[dedupe] {key}.{name}: kind {kind!r} is none of {', '.join(kinds)}")
                value = tuple(FieldRule(name, kind) for name, kind in dict(value).items())
            elif key == "must_not_match":
                value = tuple(
                    MustNotMatch(tuple(rule["fields"]), tuple(rule.get("unless", ())), float(rule.get("below", 0.8)))
                    for rule in value
                )
            values[key] = value
        try:
            return cls(**values)
        except (TypeError, ValueError, KeyError) as error:
            raise ConfigError(f"[dedupe]: {error}") from error


@dataclass(frozen=True)
class Reason:
    """How one field compared: ``how`` is ``exact`` (same text), ``e164`` (same phone in E.164),
    ``folded`` (equal after folding case, width, word order, legal suffix or Gmail dots),
    ``tail`` (phones with the same last 8 digits), ``fuzzy`` or ``differs``."""

    field: str
    how: str
    similarity: float


@dataclass(frozen=True)
class Pair:
    """Two records (``left`` comes first in the frame) that may be one customer."""

    left: Hashable
    right: Hashable
    score: float
    reasons: tuple[Reason, ...]
    decision: Decision


@dataclass(frozen=True)
class Cluster:
    """Records that are one customer: ``merge`` when every link that joined them is a merge
    pair, else ``review``. ``pairs`` are the scored pairs among the members."""

    members: tuple[Hashable, ...]
    pairs: tuple[Pair, ...]
    decision: Decision


# --------------------------------------------------------------------------- normalising

_FOLDERS: dict[str, Callable[[pd.Series[Any], MatchConfig], pd.Series[str]]] = {
    "name": lambda values, _: fold_names(values),
    "company": lambda values, _: fold_companies(values),
    "phone": lambda values, config: fold_phones(values, default_region=config.default_region),
    "email": lambda values, config: fold_emails(values, fold_gmail=config.fold_gmail, fold_tags=config.fold_tags),
    "address": lambda values, _: fold_addresses(values),
    "city": lambda values, _: fold_text(values),
    "postcode": lambda values, _: fold_codes(values),
    "date": lambda values, config: fold_dates(values, day_first=config.day_first),
    "id": lambda values, _: fold_codes(values),
    "text": lambda values, _: fold_text(values),
}


def normalized(frame: pd.DataFrame, config: MatchConfig = MatchConfig()) -> pd.DataFrame:
    """The matching key of each identifying field present in ``frame`` (same index; ``""`` when empty).

    >>> normalized(pd.DataFrame({"name": ["ＺＨＡＮＧ San"], "company": ["Apex Co., Ltd."]})).iloc[0].tolist()
    ['san zhang', 'apex']
    """
    columns = {
        rule.name: _FOLDERS[rule.kind](frame[rule.name], config) for rule in config.all_fields if rule.name in frame
    }
    return pd.DataFrame(columns, index=frame.index)


# --------------------------------------------------------------------------- blocking


def _part(keys: pd.DataFrame, part: str) -> npt.NDArray[np.object_] | None:
    name, _, form = part.partition(":")
    if name not in keys:
        return None
    values = keys[name].to_numpy(dtype=object)
    if not form:
        return values
    series = pd.Series(values)
    if form == "initial":
        result = series.str[:1]
    elif form == "reversed":
        result = series.str[::-1]
    elif form == "tail":
        digits = series.str.replace(r"\D", "", regex=True)
        result = digits.str[-8:].where(digits.str.len() >= 7, "")
    else:
        raise ValueError(f"blocking part {part!r}: the form is initial, reversed or tail")
    return result.fillna("").to_numpy(dtype=object)


def _block_key(keys: pd.DataFrame, parts: Sequence[str]) -> npt.NDArray[np.object_] | None:
    arrays = [_part(keys, part) for part in parts]
    if any(array is None for array in arrays):
        return None
    present = [array for array in arrays if array is not None]
    if len(present) == 1:
        return present[0]
    joined = pd.Series(present[0])
    empty = joined == ""
    for array in present[1:]:
        column = pd.Series(array)
        empty |= column == ""
        joined = joined + "\x1f" + column
    return joined.where(~empty, "").to_numpy(dtype=object)


def _window_pairs(order: Positions, codes: Positions | None, window: int) -> Positions:
    """Pair codes (i * n + j, i < j) of each record with its next ``window - 1`` in ``order``;
    with ``codes``, only neighbours with the same code."""
    found = []
    for step in range(1, min(window, len(order))):
        left, right = order[:-step], order[step:]
        if codes is not None:
            same = codes[left] == codes[right]
            if not same.any():
                break  # no block holds more than `step` records
            left, right = left[same], right[same]
        found.append((np.minimum(left, right), np.maximum(left, right)))
    return np.concatenate([lo * (1 << 32) + hi for lo, hi in found]) if found else np.empty(0, np.int64)


def candidate_pairs(keys: pd.DataFrame, config: MatchConfig = MatchConfig()) -> tuple[Positions, Positions]:
    """The pairs worth comparing, as two arrays of row positions (left < right), each pair once.

    ``keys`` is :func:`normalized`'s frame. Its length is the number of comparisons
    :func:`find_pairs` makes: about ``len(keys)`` times a small constant.
    """
    n = len(keys)
    blocking = list(config.blocking)
    for rule in config.all_fields:
        if rule.kind == "id":
            blocking += [BlockingKey((rule.name,)), BlockingKey((rule.name,), sorted=True)]
    # ties (and big blocks) are ordered by name, so a capped block compares the closest names
    tie_name = "name" if "name" in keys else next(iter(keys.columns), None)
    tie = pd.factorize(keys[tie_name], sort=True)[0] if tie_name is not None else np.zeros(n, np.int64)
    found = []
    for key in blocking:
        values = _block_key(keys, key.parts)
        if values is None:
            continue
        codes, _ = pd.factorize(values, sort=True)
        filled = np.flatnonzero(values != "")
        order = filled[np.lexsort((tie[filled], codes[filled]))]
        if key.sorted:
            found.append(_window_pairs(order, None, config.window))
        else:
            found.append(_window_pairs(order, codes.astype(np.int64), config.block_size))
    if not found:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    unique = np.unique(np.concatenate(found))
    return unique >> 32, unique & ((1 << 32) - 1)


# --------------------------------------------------------------------------- comparing


def _cpdist(
    scorer: Any, a: Sequence[str] | npt.NDArray[np.object_], b: Sequence[str] | npt.NDArray[np.object_], workers: int
) -> Floats:
    result = process.cpdist(a, b, scorer=scorer, workers=workers, dtype=np.float32)
    return np.asarray(result, dtype=np.float64)


def _fuzzy(kind: str, a: npt.NDArray[np.object_], b: npt.NDArray[np.object_], workers: int) -> Floats:
    """Similarity 0..1 of unequal, non-empty keys."""
    if kind == "name":
        # sorted words: "green mitchell" vs "mitchell grene"; a missing given name is a subset
        jw = _cpdist(JaroWinkler.normalized_similarity, a, b, workers)
        subset = _cpdist(fuzz.token_set_ratio, a, b, workers) / 100
        return np.maximum(jw, 0.9 * subset)
    if kind in ("company", "address"):
        ratio = _cpdist(fuzz.token_sort_ratio, a, b, workers) / 100
        sim = np.maximum(ratio, 0.9 * _cpdist(fuzz.token_set_ratio, a, b, workers) / 100)
        if kind == "address":  # a space typed in or left out ("yarra bee", "pacific terraces")
            low = np.flatnonzero(sim < 0.8)
            squeezed = [[text.replace(" ", "") for text in side[low]] for side in (a, b)]
            sim[low] = np.maximum(sim[low], _cpdist(fuzz.ratio, squeezed[0], squeezed[1], workers) / 100)
        return sim
    if kind in ("date", "id", "postcode"):
        return _cpdist(DamerauLevenshtein.normalized_similarity, a, b, workers)
    if kind == "phone":
        return _cpdist(Levenshtein.normalized_similarity, a, b, workers)
    if kind == "city":
        return _cpdist(JaroWinkler.normalized_similarity, a, b, workers)
    return _cpdist(fuzz.ratio, a, b, workers) / 100


_TAIL_SIMILARITY = 0.95
# Disagreement is full this far below the neutral similarity: random names still score ~0.5 (Jaro-Winkler).
_RAMP = 0.3
# A value shared by more records than this says less about a match the more records share it
# (Wang Wei, a company's switchboard): agreement loses log2(count / _COMMON) bits.
_COMMON = 8


def _digits(values: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    return pd.Series(values, dtype=object).str.replace(r"\D", "", regex=True).to_numpy(dtype=object)


class _Column:
    """One field's keys as codes, for vectorised equality over millions of pairs."""

    def __init__(self, rule: FieldRule, keys: pd.Series[str]) -> None:
        self.rule = rule
        self.values = keys.to_numpy(dtype=object)
        codes, _ = pd.factorize(self.values)
        self.codes = np.where(self.values == "", -1, codes)
        if rule.kind == "phone":
            tail = _part(pd.DataFrame({"p": self.values}), "p:tail")
            assert tail is not None
            tail_codes, _ = pd.factorize(tail)
            self.tail = np.where(tail == "", -1, tail_codes)
        self.numbers = None
        if rule.kind == "address":
            self.numbers = pd.factorize(_digits(self.values))[0]
        elif rule.kind == "email":  # the digits and the domain
            domains = pd.Series(self.values, dtype=object).str.rpartition("@")[2].to_numpy(dtype=object)
            self.numbers = pd.factorize(_digits(self.values) + "@" + domains)[0]
        counts = np.bincount(self.codes[self.codes >= 0]) if (self.codes >= 0).any() else np.zeros(1, np.int64)
        self.common = np.where(self.codes >= 0, np.log2(np.maximum(counts[self.codes] / _COMMON, 1.0)), 0.0)

    def similarity(self, left: Positions, right: Positions, workers: int) -> Floats:
        """Similarity per pair; NaN where either side is empty."""
        a, b = self.codes[left], self.codes[right]
        sim = np.where((a < 0) | (b < 0), np.nan, np.where(a == b, 1.0, 0.0))
        todo = np.flatnonzero(sim == 0.0)
        if len(todo):
            a_text, b_text = self.values[left[todo]], self.values[right[todo]]
            sim[todo] = _fuzzy(self.rule.kind, a_text, b_text, workers)
            if self.numbers is not None:
                # other house numbers, other numbers in an email (li.na2@, li.na3@) or another
                # mail domain tell people apart: no typo of the same value
                other = np.flatnonzero(self.numbers[left[todo]] != self.numbers[right[todo]])
                cap = 0.5 if self.rule.kind == "email" else self.rule.weights()[2]
                sim[todo[other]] = np.minimum(sim[todo[other]], cap)
            if self.rule.kind == "phone":
                same_tail = (self.tail[left[todo]] == self.tail[right[todo]]) & (self.tail[left[todo]] >= 0)
                sim[todo[same_tail]] = np.maximum(sim[todo[same_tail]], _TAIL_SIMILARITY)
        return sim


def _evidence(sim: Floats, rule: FieldRule, common: Floats) -> Floats:
    """Bits for (positive) or against (negative) a match, per pair; ``common`` is taken off agreement."""
    agree, disagree, neutral = rule.weights()
    up = np.maximum(agree - common, 0.0) * (sim - neutral) / (1 - neutral)
    down = -disagree * np.minimum(1.0, (neutral - sim) / _RAMP)
    return np.nan_to_num(np.where(sim >= neutral, up, down), nan=0.0)


def _vetoed(
    sims: dict[str, Floats], columns: dict[str, _Column], config: MatchConfig, size: int
) -> npt.NDArray[np.bool_]:
    vetoed = np.zeros(size, bool)
    for rule in config.must_not_match:
        if not all(name in sims for name in rule.fields):
            continue
        differ = np.ones(size, bool)
        for name in rule.fields:
            differ &= sims[name] < rule.below  # NaN (empty) compares False
        unless = [name for name, column in columns.items() if name in rule.unless or column.rule.kind in rule.unless]
        for name in unless:
            differ &= ~(sims[name] == 1.0)
        vetoed |= differ
    return vetoed


def _score(evidence: Floats, prior: float) -> Floats:
    return 1.0 / (1.0 + np.exp2(np.clip(prior - evidence, -60, 60)))


def _how(rule: FieldRule, raw_equal: bool, sim: float, same_tail: bool) -> str:
    if raw_equal:
        return "exact"
    if sim == 1.0:
        return "e164" if rule.kind == "phone" else "folded"
    if same_tail and sim == _TAIL_SIMILARITY:
        return "tail"
    return "fuzzy" if sim >= rule.weights()[2] else "differs"


_CHUNK = 1_000_000  # pairs compared at once: bounds memory at any number of rows


def find_pairs(frame: pd.DataFrame, config: MatchConfig = MatchConfig()) -> list[Pair]:
    """The pairs of records that may be one customer, strongest first, with their reasons.

    ``frame`` has one row per record, a column per field (text, ``""`` when empty) and the
    record's key as index (the sheet row number). Only pairs at or above
    ``review_threshold`` are returned; must-not-match pairs never are.
    """
    if not frame.index.is_unique:
        raise ValueError("find_pairs needs a unique index (one key per record)")
    keys = normalized(frame, config)
    left, right = candidate_pairs(keys, config)
    rules = [rule for rule in config.all_fields if rule.name in keys]
    columns = {rule.name: _Column(rule, keys[rule.name]) for rule in rules}
    raw = {rule.name: frame[rule.name].fillna("").astype(str).str.strip().to_numpy(dtype=object) for rule in rules}
    labels = frame.index.tolist()  # Python ints and strings, not numpy scalars
    pairs: list[Pair] = []
    for start in range(0, len(left), _CHUNK):
        lo, hi = left[start : start + _CHUNK], right[start : start + _CHUNK]
        sims = {name: column.similarity(lo, hi, config.workers) for name, column in columns.items()}
        evidence = np.zeros(len(lo))
        for name, column in columns.items():
            common = np.minimum(column.common[lo], column.common[hi])
            evidence += _evidence(sims[name], column.rule, common)
        score = _score(evidence, config.prior)
        keep = (score >= config.review_threshold) & ~_vetoed(sims, columns, config, len(lo))
        for k in np.flatnonzero(keep):
            i, j = int(lo[k]), int(hi[k])
            reasons = []
            for name, column in columns.items():
                sim = float(sims[name][k])
                if math.isnan(sim):
                    continue
                tail = column.rule.kind == "phone" and column.tail[i] == column.tail[j] and column.tail[i] >= 0
                how = _how(column.rule, raw[name][i] == raw[name][j], sim, bool(tail))
                reasons.append(Reason(name, how, round(sim, 3)))
            value = float(score[k])
            decision: Decision = "merge" if value >= config.merge_threshold else "review"
            pairs.append(Pair(labels[i], labels[j], round(value, 6), tuple(reasons), decision))
    pairs.sort(key=lambda pair: -pair.score)
    return pairs


# --------------------------------------------------------------------------- clustering


def cluster_pairs(pairs: Sequence[Pair], config: MatchConfig = MatchConfig()) -> list[Cluster]:
    """Merge clusters, then review clusters, of two or more records each.

    Merge clusters join merge pairs, strongest first, never past ``max_cluster_size``
    records: a link that would make a cluster bigger is left out, so one weak link cannot
    chain strangers together (the two groups stay apart). Review clusters then join what
    review pairs (and merge pairs left out) link: the merge clusters and single records a
    person should look at together, again capped. A record is in one merge cluster at most
    and one review cluster at most; a review cluster's ``pairs`` include its merge pairs.
    Clusters are ordered merge first, strongest pair first.
    """
    strongest = sorted(pairs, key=lambda pair: -pair.score)
    merge = _UnionFind(config.max_cluster_size)
    left_out = [pair for pair in strongest if pair.decision != "merge" or not merge.join(pair.left, pair.right)]
    review = _UnionFind(config.max_cluster_size)
    for group in merge.groups().values():
        for member in group[1:]:
            review.join(group[0], member)
    linked = {
        review.root(pair.left)
        for pair in left_out
        if merge.root(pair.left) != merge.root(pair.right) and review.join(pair.left, pair.right)
    }
    linked = {review.root(item) for item in linked}  # roots of groups joined later
    merge_groups = {top: group for top, group in merge.groups().items() if len(group) > 1}
    review_groups = {top: group for top, group in review.groups().items() if top in linked}
    inside: dict[tuple[str, Hashable], list[Pair]] = {}
    for pair in pairs:  # each pair goes to the clusters holding both its records
        for kind, found in (("merge", merge), ("review", review)):
            top = found.root(pair.left)
            if top == found.root(pair.right):
                inside.setdefault((kind, top), []).append(pair)
    clusters = [
        *(Cluster(tuple(group), tuple(inside[("merge", top)]), "merge") for top, group in merge_groups.items()),
        *(Cluster(tuple(group), tuple(inside[("review", top)]), "review") for top, group in review_groups.items()),
    ]
    clusters.sort(key=lambda cluster: (cluster.decision != "merge", -max(p.score for p in cluster.pairs)))
    return clusters


class _UnionFind:
    """Union-find that refuses any union past ``cap`` members."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.parent: dict[Hashable, Hashable] = {}
        self.size: dict[Hashable, int] = {}

    def root(self, item: Hashable) -> Hashable:
        parent = self.parent
        parent.setdefault(item, item)
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    def join(self, left: Hashable, right: Hashable) -> bool:
        """Put two items in one group; False when that would pass the cap."""
        a, b = self.root(left), self.root(right)
        if a == b:
            return True
        size_a, size_b = self.size.get(a, 1), self.size.get(b, 1)
        if size_a + size_b > self.cap:
            return False
        if size_a < size_b:
            a, b = b, a
        self.parent[b] = a
        self.size[a] = size_a + size_b
        return True

    def groups(self) -> dict[Hashable, list[Hashable]]:
        found: dict[Hashable, list[Hashable]] = {}
        for item in list(self.parent):
            found.setdefault(self.root(item), []).append(item)
        return found


# --------------------------------------------------------------------------- lookups


def lookup(
    query: str, frame: pd.DataFrame, keys: pd.DataFrame, config: MatchConfig = MatchConfig(), limit: int = 10
) -> list[tuple[Hashable, float, tuple[Reason, ...]]]:
    """The records a person may mean by ``query``: a name in any order or with a typo, a phone
    in any format, an email in any case, a company without its legal suffix.

    ``frame`` is the records as written (a value equal to the query is an ``exact`` reason),
    ``keys`` their :func:`normalized` frame, computed once for many lookups. Returns
    ``(record key, score 0..1, reasons)``, best first.

        >>> frame = pd.DataFrame({"name": ["Zhang San", "Li Si"], "phone": ["138 0013 8000", ""]}, index=[2, 3])
        >>> lookup("san zhang", frame, normalized(frame))
        [(2, 1.0, (Reason(field='name', how='folded', similarity=1.0),))]
    """
    text = query.strip()
    if not text:
        return []
    found: dict[int, tuple[float, list[Reason]]] = {}

    def note(position: int, score: float, reason: Reason) -> None:
        best, reasons = found.get(position, (0.0, []))
        reasons.append(reason)
        found[position] = (max(best, score), reasons)

    kinds = {rule.name: rule.kind for rule in config.all_fields if rule.name in keys}
    digits = sum(char.isdigit() for char in text)
    query_series = pd.Series([text])
    for name, kind in kinds.items():
        values = keys[name].to_numpy(dtype=object)
        if kind == "email" and "@" in text:
            wanted = fold_emails(query_series, fold_gmail=config.fold_gmail, fold_tags=config.fold_tags)[0]
            for hit in np.flatnonzero(values == wanted).tolist():
                note(hit, 1.0, Reason(name, "folded", 1.0))
        elif kind == "phone" and digits >= 6 and "@" not in text:
            wanted = fold_phones(query_series, default_region=config.default_region)[0]
            tail = "".join(char for char in wanted if char.isdigit())[-8:]
            for hit in np.flatnonzero(values == wanted).tolist():
                note(hit, 1.0, Reason(name, "e164", 1.0))
            if len(tail) >= 7:
                ends = pd.Series(values).str.endswith(tail).to_numpy(dtype=bool) & (values != wanted)
                for hit in np.flatnonzero(ends).tolist():
                    note(hit, _TAIL_SIMILARITY, Reason(name, "tail", _TAIL_SIMILARITY))
        elif kind in ("name", "company") and digits < 6 and "@" not in text:
            wanted = (fold_names if kind == "name" else fold_companies)(query_series)[0]
            if not wanted:
                continue
            choices = values.tolist()
            for _, similarity, position in process.extract(
                wanted, choices, scorer=fuzz.WRatio, limit=limit * 3, score_cutoff=75, processor=None
            ):
                sim = round(similarity / 100, 3)
                how = "folded" if sim == 1.0 else "fuzzy"
                note(int(position), sim * (1.0 if kind == "name" else 0.95), Reason(name, how, sim))
    ranked = sorted(found.items(), key=lambda item: (-item[1][0], item[0]))[:limit]
    labels = keys.index.tolist()
    return [
        (labels[position], round(score, 3), tuple(_exact(reason, frame, labels[position], text) for reason in reasons))
        for position, (score, reasons) in ranked
    ]


def _exact(reason: Reason, frame: pd.DataFrame, label: Hashable, query: str) -> Reason:
    if reason.field in frame and str(frame.at[label, reason.field]).strip() == query:
        return Reason(reason.field, "exact", 1.0)
    return reason

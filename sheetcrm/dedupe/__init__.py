"""Finding duplicate customers: matching keys, blocking, scored pairs, clusters and lookups.

    >>> from sheetcrm.dedupe import MatchConfig, cluster_pairs, find_pairs
    >>> pairs = find_pairs(customers.frame, MatchConfig(default_region="CN"))
    >>> clusters = cluster_pairs(pairs)

Merging the clusters is :mod:`sheetcrm`'s merge job; this package only says which records match and why.
"""

from sheetcrm.dedupe.match import (
    DEFAULT_BLOCKING,
    DEFAULT_FIELDS,
    DEFAULT_MUST_NOT_MATCH,
    KIND_WEIGHTS,
    BlockingKey,
    Cluster,
    Decision,
    FieldKind,
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

__all__ = [
    "DEFAULT_BLOCKING",
    "DEFAULT_FIELDS",
    "DEFAULT_MUST_NOT_MATCH",
    "KIND_WEIGHTS",
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

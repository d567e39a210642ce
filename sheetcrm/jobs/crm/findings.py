"""What the jobs' reports of findings share: a table of findings, counts, and their plain-data forms."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pandas as pd

__all__ = ["FindingsTable"]


class FindingsTable:
    """A report whose findings are rows of ``table`` (with a ``code`` column) and objects in ``findings``.

    A mixin for the jobs' report dataclasses, which hold ``table`` and ``counts`` and give
    ``findings`` (objects with ``code`` and ``to_dict()``).
    """

    table: pd.DataFrame
    counts: dict[str, int]

    @property
    def findings(self) -> Sequence[Any]:
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self.table)

    @property
    def valid(self) -> bool:
        """True when nothing was found."""
        return self.table.empty

    @property
    def stats(self) -> dict[str, Any]:
        """How many findings, by code, and the report's own counts."""
        return {
            "findings": len(self.table),
            "by_code": {str(k): int(v) for k, v in self.table["code"].value_counts().items()},
            **self.counts,
        }

    def flatten(self, spec: Sequence[str] = ("sheet", "row", "code")) -> list[list[Any]]:
        """The findings as plain lists of the named attributes, for easy assertions."""
        return [[getattr(f, k) if k != "code" else str(f.code) for k in spec] for f in self.findings]

    def to_dict(self) -> dict[str, Any]:
        return {"valid": self.valid, "stats": self.stats, "findings": [f.to_dict() for f in self.findings]}

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)

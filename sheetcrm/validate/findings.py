"""Findings as data: each bad cell (or row, or sheet) with where it is, what was seen, why and the fix.

Modelled on frictionless' errors: every kind of finding has a stable code, and each
instance carries its location, so reports can be asserted as plain lists::

    >>> report.flatten(["row", "column", "code"])
    [[14, 'phone', 'bad-phone']]
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

import pandas as pd

from sheetcrm.sync.a1 import qualified


class Code(StrEnum):
    """Stable codes of findings. They never change meaning; new ones may be added."""

    MISSING_VALUE = "missing-value"
    BAD_DATE = "bad-date"
    BAD_DATETIME = "bad-datetime"
    BAD_NUMBER = "bad-number"
    BAD_INTEGER = "bad-integer"
    BAD_BOOLEAN = "bad-boolean"
    BAD_PHONE = "bad-phone"
    BAD_EMAIL = "bad-email"
    BAD_URL = "bad-url"
    NOT_IN_CHOICES = "not-in-choices"
    BAD_PATTERN = "bad-pattern"
    OUT_OF_RANGE = "out-of-range"
    DUPLICATE_ID = "duplicate-id"
    DUPLICATE_VALUE = "duplicate-value"
    UNKNOWN_REFERENCE = "unknown-reference"
    MISSING_COLUMN = "missing-column"
    DUPLICATE_HEADER = "duplicate-header"
    UNKNOWN_COLUMN = "unknown-column"
    MISSING_SHEET = "missing-sheet"


class Severity(StrEnum):
    """How much a finding matters: errors make a report invalid, the rest inform."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Finding:
    """One problem, located: ``Customers!E14`` holds ``138 0013`` which is not a phone number."""

    sheet: str
    code: Code
    message: str
    row: int | None = None
    column: str | None = None
    cell: str | None = None
    value: str | None = None
    fix: str | None = None
    severity: Severity = Severity.ERROR

    @property
    def address(self) -> str | None:
        """``Customers!E14`` (None for a sheet- or column-level finding)."""
        return qualified(self.sheet, self.cell) if self.cell else None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["code"] = str(self.code)
        data["severity"] = str(self.severity)
        return data


@dataclass
class ValidationReport:
    """Every finding of a validation at once, with stats and exports."""

    findings: list[Finding] = field(default_factory=list)
    rows_checked: dict[str, int] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        """True when no finding is an error (info such as the team's own columns does not count)."""
        return not any(f.severity is Severity.ERROR for f in self.findings)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    @property
    def stats(self) -> dict[str, Any]:
        """Counts per code, per column (``sheet.column``) and per severity, and rows checked."""
        return {
            "findings": len(self.findings),
            "errors": len(self.errors),
            "rows": dict(self.rows_checked),
            "by_code": dict(Counter(str(f.code) for f in self.findings).most_common()),
            "by_column": dict(
                Counter(f"{f.sheet}.{f.column}" for f in self.findings if f.column is not None).most_common()
            ),
        }

    def extend(self, findings: Iterable[Finding]) -> None:
        self.findings.extend(findings)

    def flatten(self, spec: Sequence[str] = ("sheet", "row", "column", "code")) -> list[list[Any]]:
        """The findings as plain lists of the named attributes, for easy assertions."""
        return [[str(v) if isinstance(v, StrEnum) else v for v in (getattr(f, k) for k in spec)] for f in self.findings]

    def to_frame(self) -> pd.DataFrame:
        """One row per finding, in the order found."""
        columns = ["sheet", "row", "column", "cell", "value", "code", "severity", "message", "fix"]
        return pd.DataFrame([f.to_dict() for f in self.findings], columns=columns)

    def to_dict(self) -> dict[str, Any]:
        """``{"valid": …, "stats": …, "findings": [{"sheet", "row", "column", "cell", "value", "code", …}]}``."""
        return {"valid": self.valid, "stats": self.stats, "findings": [f.to_dict() for f in self.findings]}

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)

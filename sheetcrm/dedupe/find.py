"""``sheetcrm find QUERY``: look a customer up the way a person would, with dedupe's matching."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sheetcrm.config import Config, load_config
from sheetcrm.dedupe.job import match_config
from sheetcrm.dedupe.match import MatchConfig, Reason, lookup, normalized
from sheetcrm.errors import InputError
from sheetcrm.schema.custom import build_schemas
from sheetcrm.sync.workbook import Workbook

__all__ = ["FoundRecord", "find_records"]

SHOWN = ("customer_id", "name", "company", "phone", "email", "city")


@dataclass(frozen=True)
class FoundRecord:
    """One match: where it is, how well it matches and why, and the fields a person recognises it by."""

    sheet: str
    row: int
    score: float
    reasons: tuple[Reason, ...]
    values: dict[str, str]

    def describe(self) -> str:
        shown = "  ".join(value for value in self.values.values() if value)
        why = "; ".join(f"{reason.field}: {reason.how}" for reason in self.reasons)
        return f"{self.sheet}!{self.row}  {self.score:.2f}  {shown}  ({why})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "sheet": self.sheet,
            "row": self.row,
            "score": round(self.score, 4),
            "values": self.values,
            "reasons": [{"field": r.field, "how": r.how, "similarity": round(r.similarity, 4)} for r in self.reasons],
        }


def find_records(
    workbook: Workbook,
    query: str,
    *,
    table: str = "customers",
    config: Config | None = None,
    match: MatchConfig | None = None,
    limit: int = 10,
) -> list[FoundRecord]:
    """The best matches of ``query`` in a CRM table, best first, scored as dedupe scores pairs."""
    if not query.strip():
        raise InputError("find needs something to look for", hint='e.g. sheetcrm find "Zhang Wei"')
    settings = config if config is not None else load_config()
    schemas = build_schemas(settings)
    if table not in schemas:
        raise InputError(f"unknown table {table!r}", hint=f"choose from {', '.join(schemas)}")
    schema = schemas[table]
    if schema.sheet not in workbook.sheet_names:
        raise InputError(f"{workbook.source}: no sheet {schema.sheet!r} for the {table} table")
    found_table = workbook[schema.sheet]
    headers = schema.match_headers(found_table.columns).fields
    frame = found_table.frame[list(headers)].rename(columns=headers)
    match = match or match_config(settings)
    results = lookup(query, frame, normalized(frame, match), match, limit=limit)
    out: list[FoundRecord] = []
    for key, score, reasons in results:
        row = int(cast(int, key))
        values = {name: str(frame.at[key, name]) for name in SHOWN if name in frame.columns}
        out.append(FoundRecord(schema.sheet, row, score, tuple(reasons), values))
    return out

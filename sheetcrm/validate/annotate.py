"""Writing findings into the workbook: a fill and a note on each bad cell, and an ``_issues`` sheet.

A re-run replaces its own earlier annotations: cells that are fine now lose the fill and
note sheetcrm put there, and ``_issues`` is rewritten. Only what changed is written: a cell
whose findings are the ones ``_issues`` lists for it already is left alone, and so is an
``_issues`` sheet that would be rewritten as it is (a nightly validate of an unchanged
workbook writes nothing). The team's own fills and notes are never touched (the changes
are ``ours_only``).
"""

from __future__ import annotations

from collections.abc import Iterable

from sheetcrm.sync.a1 import split_address
from sheetcrm.sync.changeset import CellValue, ChangeSet
from sheetcrm.sync.values import to_text
from sheetcrm.sync.workbook import ApplyResult, Workbook
from sheetcrm.validate.findings import Finding, Severity, ValidationReport

ISSUES_SHEET = "_issues"
FILLS = {Severity.ERROR: "FFC7CE", Severity.WARNING: "FFEB9C"}  # Excel's own "bad" and "neutral" fills
ISSUES_HEADER = ("sheet", "cell", "row", "column", "value", "code", "severity", "message", "fix")
ISSUES_WIDTHS = {"A": 14, "B": 18, "C": 8, "D": 16, "E": 24, "F": 18, "G": 9, "H": 60, "I": 24}


def plan_annotations(workbook: Workbook, report: ValidationReport) -> ChangeSet:
    """The ChangeSet that marks each bad cell and lists every finding on ``_issues``."""
    changes = ChangeSet("annotate findings")
    marked = _by_cell(f for f in report.findings if f.severity is not Severity.INFO)
    before = _previous_notes(workbook)
    for (sheet, cell), findings in marked.items():
        letter, row = split_address(cell)
        note = "\n".join(_line(f) for f in findings)
        worst = Severity.ERROR if any(f.severity is Severity.ERROR for f in findings) else Severity.WARNING
        if before.get((sheet, cell)) == (note, worst):
            continue  # annotated so by the last run already: write only what changed
        changes.note(sheet, row, letter, f"sheetcrm:\n{note}", ours_only=True)
        changes.fill(sheet, row, letter, FILLS[worst], ours_only=True)
    present = set(workbook.sheet_names)
    for sheet, cell in sorted(before.keys() - marked.keys()):
        if sheet in present:
            letter, row = split_address(cell)
            changes.note(sheet, row, letter, None, ours_only=True)
            changes.fill(sheet, row, letter, None, ours_only=True)
    rows: list[tuple[CellValue, ...]] = [ISSUES_HEADER]
    links: dict[str, str] = {}
    for number, finding in enumerate(report.findings, start=2):
        rows.append(
            (
                finding.sheet,
                finding.address or "",
                finding.row,
                finding.column or "",
                finding.value or "",
                str(finding.code),
                str(finding.severity),
                finding.message,
                finding.fix or "",
            )
        )
        if finding.address:
            links[f"B{number}"] = finding.address
    if _issues_text(workbook) != [tuple(to_text(value) for value in row) for row in rows]:
        changes.replace_sheet(ISSUES_SHEET, rows, freeze="A2", column_widths=ISSUES_WIDTHS, links=links)
    return changes


def annotate(
    workbook: Workbook, report: ValidationReport, *, dry_run: bool = False, out: str | None = None
) -> ApplyResult:
    """Apply :func:`plan_annotations` as one run (undoable like any other)."""
    return workbook.apply(plan_annotations(workbook, report), dry_run=dry_run, command="validate --annotate", out=out)


def _line(finding: Finding) -> str:
    fix = f" (fix: {finding.fix})" if finding.fix else ""
    return f"{finding.code}: {finding.message}{fix}"


def _by_cell(findings: Iterable[Finding]) -> dict[tuple[str, str], list[Finding]]:
    cells: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        if finding.cell and finding.row:
            cells.setdefault((finding.sheet, finding.cell), []).append(finding)
    return cells


def _issues_text(workbook: Workbook) -> list[tuple[str, ...]] | None:
    """The ``_issues`` sheet of an earlier run as text, header first (None when there is none)."""
    if ISSUES_SHEET not in workbook.sheet_names:
        return None
    table = workbook[ISSUES_SHEET]
    return [tuple(table.columns), *(tuple(str(v) for v in row) for row in table.frame.itertuples(index=False))]


def _previous_notes(workbook: Workbook) -> dict[tuple[str, str], tuple[str, Severity | None]]:
    """What an earlier run wrote on each cell it annotated, from its ``_issues`` sheet:
    the note's lines and the worst severity (None when the sheet's columns are not ours)."""
    if ISSUES_SHEET not in workbook.sheet_names:
        return {}
    table = workbook[ISSUES_SHEET]
    if not {"sheet", "cell"} <= set(table.columns):
        return {}
    wanted = ("code", "message", "fix", "severity")
    complete = set(wanted) <= set(table.columns)
    lines: dict[tuple[str, str], list[str]] = {}
    worst: dict[tuple[str, str], Severity | None] = {}
    for record in table.frame.to_dict("records"):
        address = str(record["cell"])
        if "!" not in address:
            continue
        key = (str(record["sheet"]), address.rsplit("!", 1)[1])
        if not complete:
            lines.setdefault(key, [])
            worst[key] = None
            continue
        severity = str(record["severity"])
        if severity == str(Severity.INFO):
            continue
        fix = f" (fix: {record['fix']})" if record["fix"] else ""
        lines.setdefault(key, []).append(f"{record['code']}: {record['message']}{fix}")
        was = worst.get(key)
        worst[key] = Severity.ERROR if severity == str(Severity.ERROR) or was is Severity.ERROR else Severity.WARNING
    return {key: ("\n".join(text), worst[key]) for key, text in lines.items()}

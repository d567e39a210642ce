"""Runs LibreOffice jobs over UNO; started by libreoffice.py under a Python that has `uno` (Debian's python3-uno).

    /usr/bin/python3 lo_worker.py PIPE JOBS.json RESULTS.jsonl CONNECT_SECONDS

Connects to the soffice that libreoffice.py started (listening on the named pipe PIPE), runs every job in
JOBS.json in order and appends one JSON line per job to RESULTS.jsonl as soon as it is done, so that a crash
half-way still tells which jobs finished. It does not start or kill soffice; it asks it to terminate at the end.

Only the standard library and uno are imported: this file runs under the system Python, not the project's.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import uno
from com.sun.star.beans import PropertyValue
from com.sun.star.sheet.FormulaResult import ERROR, VALUE

EXCEL_2007 = "Calc MS Excel 2007 XML"
LOGICAL = 1024  # com.sun.star.util.NumberFormat.LOGICAL


def pv(name: str, value: Any) -> Any:
    prop = PropertyValue()
    prop.Name, prop.Value = name, value
    return prop


def connect(pipe: str, seconds: float) -> Any:
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.monotonic() + seconds
    while True:
        try:
            return resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
        except Exception:
            if time.monotonic() > deadline:
                raise RuntimeError(f"soffice did not open pipe {pipe!r} within {seconds:.0f}s") from None
            time.sleep(0.1)


def set_load_recalculation(ctx: Any, mode: int) -> None:
    """OOXMLRecalcMode: 0 always, 1 never, 2 ask. We load with 1 and recalculate explicitly with calculateAll."""
    provider = ctx.ServiceManager.createInstanceWithContext("com.sun.star.configuration.ConfigurationProvider", ctx)
    node = pv("nodepath", "/org.openoffice.Office.Calc/Formula/Load")
    access = provider.createInstanceWithArguments("com.sun.star.configuration.ConfigurationUpdateAccess", (node,))
    access.setPropertyValue("OOXMLRecalcMode", mode)
    access.setPropertyValue("ODFRecalcMode", mode)
    access.commitChanges()


def load(desktop: Any, path: str) -> Any:
    props = (pv("Hidden", True), pv("MacroExecutionMode", 0), pv("UpdateDocMode", 0))
    doc = desktop.loadComponentFromURL(Path(path).resolve().as_uri(), "_blank", 0, props)
    if doc is None:
        raise RuntimeError(f"LibreOffice could not open {path}")
    return doc


def store_xlsx(doc: Any, out: str) -> None:
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    doc.storeToURL(Path(out).resolve().as_uri(), (pv("FilterName", EXCEL_2007), pv("Overwrite", True)))


def runs(rows: list[int]) -> list[tuple[int, int]]:
    """Contiguous (first, count) runs of 1-based rows, bottom run first."""
    out: list[tuple[int, int]] = []
    for row in sorted(set(rows), reverse=True):
        if out and out[-1][0] == row + 1:
            out[-1] = (row, out[-1][1] + 1)
        else:
            out.append((row, 1))
    return out


def delete_rows(desktop: Any, job: dict[str, Any]) -> dict[str, Any]:
    doc = load(desktop, job["src"])
    try:
        sheet = doc.Sheets.getByName(job["sheet"])
        for first, count in runs(job["rows"]):  # bottom up, so the row numbers above stay valid
            sheet.getRows().removeByIndex(first - 1, count)
        store_xlsx(doc, job["out"])
    finally:
        doc.close(True)
    return {}


def resave(desktop: Any, job: dict[str, Any]) -> dict[str, Any]:
    doc = load(desktop, job["src"])
    try:
        store_xlsx(doc, job["out"])
    finally:
        doc.close(True)
    return {}


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def cells_of(ranges: Any) -> list[tuple[int, int]]:
    """(row, column), 0-based, of every cell in the ranges a queryXxxCells call returned."""
    out = []
    for address in ranges.getRangeAddresses():
        for row in range(address.StartRow, address.EndRow + 1):
            for column in range(address.StartColumn, address.EndColumn + 1):
                out.append((row, column))
    return out


def sheet_values(doc: Any, sheet: Any) -> dict[str, Any]:
    """Every non-empty cell as ["n", number] | ["b", bool] | ["s", text] | ["e", code, text]."""
    cursor = sheet.createCursor()
    cursor.gotoEndOfUsedArea(False)
    end = cursor.getRangeAddress()
    grid = sheet.getCellRangeByPosition(0, 0, end.EndColumn, end.EndRow).getDataArray()
    out: dict[str, Any] = {}
    for r, row in enumerate(grid):
        for c, value in enumerate(row):
            if isinstance(value, float):
                out[f"{column_letter(c)}{r + 1}"] = ["n", value]
            elif isinstance(value, str) and value != "":  # a formula's "" reads as an empty cell
                out[f"{column_letter(c)}{r + 1}"] = ["s", value]
    formats = doc.NumberFormats
    # Booleans arrive as formulas (=TRUE()) or comparisons; LibreOffice marks them with a logical number format.
    for r, c in cells_of(sheet.queryFormulaCells(VALUE)):
        cell = sheet.getCellByPosition(c, r)
        if formats.getByKey(cell.NumberFormat).Type & LOGICAL:
            out[f"{column_letter(c)}{r + 1}"] = ["b", cell.getValue() != 0]
    for r, c in cells_of(sheet.queryFormulaCells(ERROR)):
        cell = sheet.getCellByPosition(c, r)
        out[f"{column_letter(c)}{r + 1}"] = ["e", cell.getError(), cell.getString()]
    return out


def chart_ranges(sheet: Any) -> dict[str, list[str]]:
    """Each embedded chart's data sequences (labels and values) as LibreOffice resolves them."""
    out: dict[str, list[str]] = {}
    charts = sheet.getCharts()
    for name in charts.getElementNames():
        model = charts.getByName(name).getEmbeddedObject()
        sequences = []
        for labeled in model.getDataSequences() if model is not None else ():
            for part in (labeled.getLabel(), labeled.getValues()):
                if part is not None:
                    sequences.append(part.getSourceRangeRepresentation())
        out[name] = sequences
    return out


def names_of(doc: Any) -> dict[str, str]:
    """Defined names and what they refer to; sheet-scoped ones as 'Sheet!name'."""
    out = {}
    for name in doc.NamedRanges.getElementNames():
        out[name] = doc.NamedRanges.getByName(name).getContent()
    for sheet_name in doc.Sheets.getElementNames():
        local = doc.Sheets.getByName(sheet_name).NamedRanges
        for name in local.getElementNames():
            out[f"{sheet_name}!{name}"] = local.getByName(name).getContent()
    return out


def values(desktop: Any, job: dict[str, Any]) -> dict[str, Any]:
    doc = load(desktop, job["path"])
    try:
        doc.calculateAll()
        sheets = [doc.Sheets.getByIndex(i) for i in range(doc.Sheets.getCount())]
        return {
            "values": {sheet.getName(): sheet_values(doc, sheet) for sheet in sheets},
            "charts": {sheet.getName(): chart_ranges(sheet) for sheet in sheets},
            "names": names_of(doc),
        }
    finally:
        doc.close(True)


ACTIONS = {"delete_rows": delete_rows, "resave": resave, "values": values}


def main(pipe: str, jobs_file: str, results_file: str, connect_seconds: float) -> int:
    jobs = json.loads(Path(jobs_file).read_text(encoding="utf-8"))
    ctx = connect(pipe, connect_seconds)
    set_load_recalculation(ctx, 1)
    desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
    with Path(results_file).open("a", encoding="utf-8") as results:
        for index, job in enumerate(jobs):
            started = time.monotonic()
            try:
                record = {"index": index, "ok": True, **ACTIONS[job["kind"]](desktop, job)}
            except Exception as error:
                # a job that fails does not stop the others, unless soffice itself went away
                record = {"index": index, "ok": False, "error": f"{type(error).__name__}: {error}"}
                record["traceback"] = traceback.format_exc(limit=3)
            record["seconds"] = round(time.monotonic() - started, 3)
            results.write(json.dumps(record) + "\n")
            results.flush()
    with contextlib.suppress(Exception):  # the bridge goes away while terminate() returns
        desktop.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])))

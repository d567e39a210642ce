"""Between sheetcrm's cells and formats and the Sheets API's JSON: values, colours, number formats, ranges.

Pure functions, no I/O: the backend (:mod:`sheetcrm.sync.gsheets.backend`) sends what these build.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

from sheetcrm.sync.a1 import MAX_ROWS, column_index
from sheetcrm.sync.changeset import CellStyle, ValidationRule, _serial_text
from sheetcrm.sync.values import to_text

JSON = dict[str, Any]

SHEETS_EPOCH = dt.datetime(1899, 12, 30)
"""Day zero of Sheets' serial dates (as Excel's from 1900-03-01 on)."""

DATE_PATTERN = "yyyy-mm-dd"
DATETIME_PATTERN = 'yyyy-mm-dd"T"hh:mm:ss'  # reads back as the ISO text sheetcrm writes in files

_DATE_TYPES = frozenset({"DATE", "TIME", "DATE_TIME"})
_RANGE = re.compile(r"^\$?([A-Za-z]{1,3})?\$?(\d+)?(?::\$?([A-Za-z]{1,3})?\$?(\d+)?)?$")


def a1(sheet: str, ref: str = "") -> str:
    """A range of a sheet in A1 notation, the sheet name quoted when needed: ``'My Sheet'!A1:B2``."""
    quoted = "'" + sheet.replace("'", "''") + "'" if not re.fullmatch(r"[A-Za-z0-9_]+", sheet) else sheet
    return f"{quoted}!{ref}" if ref else quoted


def api_value(value: Any) -> tuple[Any, JSON | None]:
    """What to send for a cell value (RAW), and the number format a date needs to show as one.

    Text goes as text (RAW never parses it: ``=1+1`` stays text); dates become serial numbers
    with an ISO date format, which the reader turns back into the same ISO text.
    """
    if value is None:
        return "", None
    if isinstance(value, bool | int | float | str):
        return value, None
    if isinstance(value, dt.datetime):
        serial = (value.replace(tzinfo=None) - SHEETS_EPOCH) / dt.timedelta(days=1)
        if value.time() == dt.time(0):
            return round(serial), {"type": "DATE", "pattern": DATE_PATTERN}
        return serial, {"type": "DATE_TIME", "pattern": DATETIME_PATTERN}
    if isinstance(value, dt.date):
        return (value - SHEETS_EPOCH.date()).days, {"type": "DATE", "pattern": DATE_PATTERN}
    return to_text(value), None


def extended_value(value: Any) -> JSON:
    """A value as the ``userEnteredValue`` of ``updateCells`` (a literal, never a formula)."""
    sent, _ = api_value(value)
    if isinstance(sent, bool):
        return {"boolValue": sent}
    if isinstance(sent, int | float):
        return {"numberValue": sent}
    return {"stringValue": sent}


def read_text(value: Any) -> str:
    """The text of a value from ``values.batchGet`` (UNFORMATTED_VALUE, dates as FORMATTED_STRING)."""
    return value if isinstance(value, str) else to_text(value)


_LOCAL_DATE = re.compile(r"^\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}(?:[ T]\d{1,2}:\d{2}(?::\d{2})?(?: ?[AaPp][Mm])?)?$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2})?$")


def shown_as_local_date(text: str) -> bool:
    """Whether text looks like a date shown in a format other than ISO (``1/5/2024``, ``05.01.2024 10:30``)."""
    return not _ISO_DATE.match(text) and _LOCAL_DATE.match(text) is not None


def serial_text(serial: float) -> str:
    """A Sheets serial date as ISO text: ``45296`` → ``2024-01-05``, ``45296.4375`` → ``2024-01-05T10:30:00``."""
    moment = SHEETS_EPOCH + dt.timedelta(days=float(serial))
    moment = moment.replace(microsecond=0) + dt.timedelta(seconds=round(moment.microsecond / 1e6))
    return to_text(moment)


def cell_text(cell: Mapping[str, Any]) -> str:
    """The text of a grid-data cell, the same as the backend's read gives for it."""
    entered = cell.get("effectiveValue") or cell.get("userEnteredValue") or {}
    number_format = (cell.get("effectiveFormat") or cell.get("userEnteredFormat") or {}).get("numberFormat") or {}
    if "numberValue" in entered and number_format.get("type") in _DATE_TYPES:
        shown = str(cell.get("formattedValue", ""))
        return serial_text(entered["numberValue"]) if shown_as_local_date(shown) else shown
    for kind in ("stringValue", "numberValue", "boolValue"):
        if kind in entered:
            return to_text(entered[kind])
    if "formulaValue" in entered:
        return str(cell.get("formattedValue", ""))
    return ""


def is_formula(cell: Mapping[str, Any]) -> bool:
    return "formulaValue" in (cell.get("userEnteredValue") or {})


def api_color(hex_rgb: str) -> JSON:
    """``"FFC7CE"`` → ``{"red": 1.0, "green": 0.78, "blue": 0.81}``."""
    value = hex_rgb[-6:]
    return {name: int(value[i : i + 2], 16) / 255 for name, i in (("red", 0), ("green", 2), ("blue", 4))}


def color_hex(color: Mapping[str, Any] | None) -> str | None:
    """The RGB hex of an API colour; None for none (or white, which is how a cleared fill reads)."""
    if not color:
        return None
    parts = [round(float(color.get(name, 0)) * 255) for name in ("red", "green", "blue")]
    text = "".join(f"{part:02X}" for part in parts)
    return None if text == "FFFFFF" else text


def number_format(code: str) -> JSON:
    """An Excel number format code as a Sheets ``numberFormat`` (the pattern syntax is the same)."""
    if code == "@":
        return {"type": "TEXT"}
    bare = re.sub(r'"[^"]*"|\\.', "", code).lower()
    if re.search(r"[yd]", bare) and "h" in bare:
        kind = "DATE_TIME"
    elif re.search(r"[yd]", bare) or re.fullmatch(r"m+", bare):
        kind = "DATE"
    elif re.search(r"h|s", bare):
        kind = "TIME"
    elif "%" in bare:
        kind = "PERCENT"
    elif "e+" in bare:
        kind = "SCIENTIFIC"
    else:
        kind = "NUMBER"
    return {"type": kind, "pattern": code}


def format_code(number_format_json: Mapping[str, Any] | None) -> str | None:
    """Back from a Sheets ``numberFormat`` to an Excel code (None: General)."""
    if not number_format_json:
        return None
    if number_format_json.get("type") == "TEXT":
        return "@"
    return number_format_json.get("pattern") or None


def grid_range(sheet_id: int, ref: str) -> JSON:
    """A1 ``ref`` of one sheet (``"F2:F1048576"``, ``"B3"``, ``"A:C"``) as a GridRange; open ends stay open."""
    match = _RANGE.match(ref.strip())
    if not match:
        raise ValueError(f"{ref!r} is not a range like A2:C10")
    first_col, first_row, last_col, last_row = match.groups()
    if ":" not in ref:
        last_col, last_row = first_col, first_row
    out: JSON = {"sheetId": sheet_id}
    if first_row:
        out["startRowIndex"] = int(first_row) - 1
    if last_row and int(last_row) < MAX_ROWS:
        out["endRowIndex"] = int(last_row)
    if first_col:
        out["startColumnIndex"] = column_index(first_col) - 1
    if last_col:
        out["endColumnIndex"] = column_index(last_col)
    return out


def cell_range(sheet_id: int, row: int, column: str, *, rows: int = 1) -> JSON:
    """The GridRange of ``rows`` cells of one column from ``row`` down."""
    index = column_index(column)
    return {
        "sheetId": sheet_id,
        "startRowIndex": row - 1,
        "endRowIndex": row - 1 + rows,
        "startColumnIndex": index - 1,
        "endColumnIndex": index,
    }


def cell_format(style: CellStyle) -> tuple[JSON, list[str]]:
    """A CellStyle as ``userEnteredFormat`` and the field paths it sets (only those are written)."""
    fmt: JSON = {}
    paths: list[str] = []
    text: JSON = {}
    if style.bold:
        text["bold"] = True
    if style.italic:
        text["italic"] = True
    if style.size:
        text["fontSize"] = style.size
    if style.color:
        text["foregroundColor"] = api_color(style.color)
    if text:
        fmt["textFormat"] = text
        paths += [f"userEnteredFormat.textFormat.{name}" for name in text]
    if style.fill:
        fmt["backgroundColor"] = api_color(style.fill)
        paths.append("userEnteredFormat.backgroundColor")
    if style.number_format:
        fmt["numberFormat"] = number_format(style.number_format)
        paths.append("userEnteredFormat.numberFormat")
    if style.wrap:
        fmt["wrapStrategy"] = "WRAP"
        paths.append("userEnteredFormat.wrapStrategy")
    borders: JSON = {}
    if style.top_border:
        borders["top"] = {"style": "SOLID"}
    if style.bottom_border:
        borders["bottom"] = {"style": "SOLID"}
    if borders:
        fmt["borders"] = borders
        paths += [f"userEnteredFormat.borders.{side}" for side in borders]
    return fmt, paths


_NUMBER_CONDITIONS = {
    "between": "NUMBER_BETWEEN",
    "notBetween": "NUMBER_NOT_BETWEEN",
    "equal": "NUMBER_EQ",
    "notEqual": "NUMBER_NOT_EQ",
    "greaterThan": "NUMBER_GREATER",
    "lessThan": "NUMBER_LESS",
    "greaterThanOrEqual": "NUMBER_GREATER_THAN_EQ",
    "lessThanOrEqual": "NUMBER_LESS_THAN_EQ",
}
_DATE_CONDITIONS = {
    "between": "DATE_BETWEEN",
    "notBetween": "DATE_NOT_BETWEEN",
    "equal": "DATE_EQ",
    "greaterThan": "DATE_AFTER",
    "lessThan": "DATE_BEFORE",
    "greaterThanOrEqual": "DATE_ON_OR_AFTER",
    "lessThanOrEqual": "DATE_ON_OR_BEFORE",
}


def dropdown_rule(choices: Sequence[str] | None, source: str | None) -> JSON:
    """A dropdown as a data validation rule: a list of choices, or a range holding them."""
    if source is not None:
        condition: JSON = {"type": "ONE_OF_RANGE", "values": [{"userEnteredValue": "=" + source.lstrip("=")}]}
    else:
        condition = {"type": "ONE_OF_LIST", "values": [{"userEnteredValue": c} for c in choices or ()]}
    return {"condition": condition, "strict": True, "showCustomUi": True}


def dropdown_of(rule: Mapping[str, Any] | None) -> tuple[tuple[str, ...] | None, str | None] | None:
    """Back from a data validation rule to ``(choices, source)``; None when it is no dropdown."""
    condition = (rule or {}).get("condition") or {}
    values = [str(v.get("userEnteredValue", "")) for v in condition.get("values", [])]
    if condition.get("type") == "ONE_OF_LIST":
        return tuple(values), None
    if condition.get("type") == "ONE_OF_RANGE" and values:
        return None, values[0].lstrip("=")
    return None


def validation_rule(rule: ValidationRule, first_cell: str) -> JSON:
    """A :class:`ValidationRule` as a Sheets data validation rule.

    Sheets has no whole-number or time conditions: those, text lengths and custom
    formulas become a custom formula on the range's first cell (``first_cell``).
    """
    values = [rule.formula1] + ([rule.formula2] if rule.formula2 is not None else [])
    if rule.type == "decimal" and rule.operator in _NUMBER_CONDITIONS:
        condition: JSON = {
            "type": _NUMBER_CONDITIONS[rule.operator],
            "values": [{"userEnteredValue": v} for v in values],
        }
    elif rule.type == "date" and rule.operator in _DATE_CONDITIONS:
        condition = {
            "type": _DATE_CONDITIONS[rule.operator],
            "values": [{"userEnteredValue": _serial_text("date", v)} for v in values],
        }
    else:
        condition = {"type": "CUSTOM_FORMULA", "values": [{"userEnteredValue": "=" + _formula(rule, first_cell)}]}
    out: JSON = {"condition": condition, "strict": rule.show_error}
    if rule.error:
        out["inputMessage"] = rule.error
    return out


def _formula(rule: ValidationRule, cell: str) -> str:
    if rule.type == "custom":
        return rule.formula1
    subject = f"LEN({cell})" if rule.type == "textLength" else cell
    whole = f"INT({cell})={cell}" if rule.type == "whole" else "TRUE"
    first, second = rule.formula1, rule.formula2
    comparison = {
        "between": f"AND({subject}>={first},{subject}<={second})",
        "notBetween": f"OR({subject}<{first},{subject}>{second})",
        "equal": f"{subject}={first}",
        "notEqual": f"{subject}<>{first}",
        "greaterThan": f"{subject}>{first}",
        "lessThan": f"{subject}<{first}",
        "greaterThanOrEqual": f"{subject}>={first}",
        "lessThanOrEqual": f"{subject}<={first}",
    }[rule.operator]
    blank = f"ISBLANK({cell})," if rule.allow_blank else ""
    return f"OR({blank}AND({whole},{comparison}))" if blank else f"AND({whole},{comparison})"


def link_uri(target: str, sheet_ids: Mapping[str, int]) -> str | None:
    """An in-spreadsheet link for ``Customers!E14`` (``#gid=ID&range=E14``); None for an unknown sheet."""
    if "!" not in target:
        return None
    sheet, _, ref = target.rpartition("!")
    name = sheet[1:-1].replace("''", "'") if sheet.startswith("'") and sheet.endswith("'") else sheet
    sheet_id = sheet_ids.get(name)
    if sheet_id is None:
        return None
    return f"#gid={sheet_id}&range={ref.replace('$', '')}"


__all__ = [
    "DATETIME_PATTERN",
    "DATE_PATTERN",
    "a1",
    "api_color",
    "api_value",
    "cell_format",
    "cell_range",
    "cell_text",
    "color_hex",
    "dropdown_of",
    "dropdown_rule",
    "extended_value",
    "format_code",
    "grid_range",
    "is_formula",
    "link_uri",
    "number_format",
    "read_text",
    "serial_text",
    "shown_as_local_date",
    "validation_rule",
]

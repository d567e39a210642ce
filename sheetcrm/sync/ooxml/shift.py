"""Move references when rows of one worksheet are deleted or inserted, the way Excel moves them.

A :class:`RowShift` says which rows of which sheet go away (or come in); the functions here
rewrite every piece of reference text a workbook holds so that it keeps pointing at the same
cells: formulas, sqref lists, and the XML parts that carry references (sheet head and tail,
tables, defined names, charts, pivot caches). XML is edited as text: only the references
change, every other byte stays as it was.

    >>> shift = RowShift.deleting("Customers", [3])
    >>> shift_formula("SUM(A2:A10)+Customers!B3", shift, host_sheet="Customers")
    'SUM(A2:A9)+#REF!'

Semantics (Excel's, checked against LibreOffice where noted):

- a cell on a deleted row becomes ``#REF!``; a range shrinks to its surviving rows and
  becomes ``#REF!`` when none survive; whole-column ranges (``A:C``) never change;
- a range whose bottom is the last row (1048576) keeps that bottom ("sticky" end);
- inserted rows push down every row at or below them; a range grows when rows are
  inserted inside it (below its top row, at or above its bottom row);
- ``$`` markers are kept as written;
- a reference that becomes invalid is written as bare ``#REF!``, also when it was
  sheet-qualified: LibreOffice writes that form and reads ``Sheet2!#REF!`` as a bad name;
- relative references in conditional-format and validation formulas are relative to the
  top-left cell of their sqref; when that cell's row goes they are re-expressed from the
  new top-left cell (LibreOffice 7 writes #REF! there instead);
- a manual page break belongs to the row that starts the page and goes with it;
- hyperlink ``location`` texts are left as they are: Excel does not update them either.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import pairwise

from openpyxl.formula.tokenizer import Token, Tokenizer, TokenizerError
from openpyxl.formula.translate import Translator, TranslatorError

from sheetcrm.sync.a1 import MAX_COLUMNS, MAX_ROWS, column_index, column_letter

__all__ = [
    "CannotShift",
    "RowShift",
    "shift_chart_part",
    "shift_defined_names",
    "shift_formula",
    "shift_pivot_cache",
    "shift_range",
    "shift_sheet_head",
    "shift_sheet_tail",
    "shift_sqref",
    "shift_table_part",
    "translate_shared",
]


class CannotShift(Exception):
    """A reference that cannot be moved safely; the writer refuses the row change."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class RowShift:
    """Rows deleted from, or inserted into, one sheet: how old row numbers become new ones.

    ``deleted`` holds old row numbers; ``inserted`` the row numbers the new rows end up at
    (as :class:`~sheetcrm.sync.changeset.InsertRows` defines them). ``sheets`` is the
    workbook's sheet order, needed only to tell whether a 3-D reference spans ``sheet``::

        >>> RowShift.deleting("Customers", [5, 3]).new_row(6)
        4
        >>> RowShift.inserting("Customers", [3, 4]).new_row(3)
        5
    """

    sheet: str
    deleted: tuple[int, ...] = ()
    inserted: tuple[int, ...] = ()
    sheets: tuple[str, ...] = ()
    # derived lookup tables, so that each question is a bisect, not a loop
    _key: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _run_starts: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _run_ends: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _folded: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.deleted and self.inserted:
            raise ValueError("a RowShift either deletes or inserts rows, not both")
        rows = self.deleted or self.inserted
        if any(b <= a for a, b in pairwise(rows)):
            raise ValueError("row numbers must be strictly ascending")
        if rows and (rows[0] < 1 or rows[-1] > MAX_ROWS):
            raise ValueError(f"row numbers must be within 1..{MAX_ROWS}")
        # rows[i] - i: for deletes, the new number of the row after each deleted one; for
        # inserts, the old row number each inserted row goes in front of
        object.__setattr__(self, "_key", tuple(row - i for i, row in enumerate(rows)))
        starts: list[int] = []
        ends: list[int] = []
        for row in self.deleted:
            if ends and ends[-1] == row - 1:
                ends[-1] = row
            else:
                starts.append(row)
                ends.append(row)
        object.__setattr__(self, "_run_starts", tuple(starts))
        object.__setattr__(self, "_run_ends", tuple(ends))
        object.__setattr__(self, "_folded", self.sheet.casefold())

    @classmethod
    def deleting(cls, sheet: str, rows: Iterable[int], *, sheets: Iterable[str] = ()) -> RowShift:
        """Delete ``rows`` (old row numbers, any order, repeats ignored) from ``sheet``."""
        return cls(sheet, deleted=tuple(sorted(set(rows))), sheets=tuple(sheets))

    @classmethod
    def inserting(cls, sheet: str, rows: Iterable[int], *, sheets: Iterable[str] = ()) -> RowShift:
        """Insert rows into ``sheet`` so that each ends up at the given row number (ascending)."""
        return cls(sheet, inserted=tuple(rows), sheets=tuple(sheets))

    @property
    def first_affected(self) -> int:
        """The smallest old row number whose position changes (past the last row when none does)."""
        rows = self.deleted or self.inserted
        return rows[0] if rows else MAX_ROWS + 1

    def is_sheet(self, name: str) -> bool:
        """Whether ``name`` names the shifted sheet (case-insensitively, like Excel)."""
        return name == self.sheet or name.casefold() == self._folded

    def new_row(self, old: int) -> int | None:
        """The new number of old row ``old``; None when it is deleted.

        Raises ValueError when an insert would push the row past the last row of a sheet.
        """
        if self.deleted:
            i = bisect_left(self.deleted, old)
            if i < len(self.deleted) and self.deleted[i] == old:
                return None
            return old - i
        new = old + bisect_right(self._key, old)
        if new > MAX_ROWS:
            raise ValueError(
                f"inserting rows into {self.sheet!r} would push row {old} past row {MAX_ROWS}; Excel refuses that too"
            )
        return new

    def old_row(self, new: int) -> int | None:
        """The old number of new row ``new``; None for an inserted row."""
        if self.deleted:
            return new + bisect_right(self._key, new)
        i = bisect_left(self.inserted, new)
        if i < len(self.inserted) and self.inserted[i] == new:
            return None
        return new - i

    def span(self, top: int, bottom: int) -> tuple[int, int] | None:
        """The new rows of the range ``top..bottom``; None when none of its rows survive.

        A range ending on the last row of the sheet keeps that end, as in Excel and LibreOffice.
        """
        if self.deleted:
            first = self._surviving(top, up=False)
            if first > MAX_ROWS:
                return None
            last = MAX_ROWS if bottom == MAX_ROWS else self._surviving(bottom, up=True)
            if last < first:
                return None
            new_first = self.new_row(first)
            new_last = MAX_ROWS if bottom == MAX_ROWS else self.new_row(last)
            assert new_first is not None and new_last is not None
            return new_first, new_last
        new_top = self.new_row(top)
        new_bottom = MAX_ROWS if bottom == MAX_ROWS else self.new_row(bottom)
        assert new_top is not None and new_bottom is not None
        return new_top, new_bottom

    def view_row(self, old: int) -> int:
        """Where a view position (scroll, active cell) on ``old`` goes: deleted rows yield to the next."""
        if self.deleted:
            return max(1, old - bisect_left(self.deleted, old))
        try:
            return self.new_row(old) or old
        except ValueError:
            return MAX_ROWS

    def _surviving(self, row: int, *, up: bool) -> int:
        """The nearest row that is not deleted: at or above ``row`` when ``up``, else at or below."""
        k = bisect_right(self._run_starts, row) - 1
        if k < 0 or row > self._run_ends[k]:
            return row
        return self._run_starts[k] - 1 if up else self._run_ends[k] + 1


# --- A1 references -------------------------------------------------------------------------

_CELL_RE = re.compile(r"(\$?)([A-Za-z]{1,3})(\$?)([0-9]+)")
_CELLS_RE = re.compile(r"(\$?)([A-Za-z]{1,3})(\$?)([0-9]+):(\$?)([A-Za-z]{1,3})(\$?)([0-9]+)")
_ROWS_RE = re.compile(r"(\$?)([0-9]+):(\$?)([0-9]+)")
_AREA_RE = re.compile(
    r"(\$?)([A-Za-z]{1,3})(\$?)([0-9]+)(?::(\$?)([A-Za-z]{1,3})(\$?)([0-9]+))?"
    r"|(\$?)([0-9]+):(\$?)([0-9]+)"
    r"|\$?([A-Za-z]{1,3}):\$?([A-Za-z]{1,3})"
)


class _NotRef:
    """The type of :data:`_NOT_REF`: text that is no A1 reference (a name, a number)."""


_NOT_REF = _NotRef()


def _is_column(letters: str) -> bool:
    if len(letters) < 3:  # A..ZZ are all columns
        return True
    try:
        return column_index(letters) <= MAX_COLUMNS
    except ValueError:
        return False


def _shift_area(area: str, shift: RowShift) -> str | _NotRef | None:
    """``area`` moved by ``shift``; None when it becomes #REF!; :data:`_NOT_REF` when no reference."""
    m = _AREA_RE.fullmatch(area)
    if m is None:
        return _NOT_REF
    if m[2]:  # a cell or a range of cells
        top = int(m[4])
        if not (_is_column(m[2]) and 1 <= top <= MAX_ROWS):
            return _NOT_REF
        if not m[6]:
            row = shift.new_row(top)
            return None if row is None else f"{m[1]}{m[2]}{m[3]}{row}"
        bottom = int(m[8])
        if not (_is_column(m[6]) and 1 <= bottom <= MAX_ROWS):
            return _NOT_REF
        rows = _shift_pair(top, bottom, shift)
        return None if rows is None else f"{m[1]}{m[2]}{m[3]}{rows[0]}:{m[5]}{m[6]}{m[7]}{rows[1]}"
    if m[10]:  # whole rows
        top, bottom = int(m[10]), int(m[12])
        if not (1 <= top <= MAX_ROWS and 1 <= bottom <= MAX_ROWS):
            return _NOT_REF
        rows = _shift_pair(top, bottom, shift)
        return None if rows is None else f"{m[9]}{rows[0]}:{m[11]}{rows[1]}"
    # whole columns never move
    return area if _is_column(m[13]) and _is_column(m[14]) else _NOT_REF


def _shift_pair(first: int, second: int, shift: RowShift) -> tuple[int, int] | None:
    """The two row numbers of a range moved; a range written bottom-up stays bottom-up."""
    if first <= second:
        return shift.span(first, second)
    rows = shift.span(second, first)
    return None if rows is None else (rows[1], rows[0])


def shift_range(ref: str, shift: RowShift) -> str | None:
    """One A1 reference without sheet prefix, moved; None when Excel would make it #REF!.

    >>> shift_range("$A$2:C10", RowShift.deleting("S", [2, 3]))
    '$A$2:C8'
    """
    moved = _shift_area(ref, shift)
    if isinstance(moved, _NotRef):
        raise ValueError(f"{ref!r} is not an A1 reference like B7, A2:C10, 3:5 or A:C")
    return moved


def shift_sqref(sqref: str, shift: RowShift) -> str | None:
    """A space-separated list of ranges, moved; vanished ranges dropped, None when all vanish."""
    if not sqref.strip():
        return sqref
    moved = [shift_range(ref, shift) for ref in sqref.split()]
    kept = [ref for ref in moved if ref is not None]
    return " ".join(kept) if kept else None


def _top_left(sqref: str) -> tuple[int, int]:
    """(column, row) of the top-left corner of the box around an sqref's ranges."""
    columns: list[int] = []
    rows: list[int] = []
    for ref in sqref.split():
        for side in ref.split(":"):
            m = re.fullmatch(r"\$?([A-Za-z]{0,3})\$?([0-9]*)", side)
            if m is None:
                raise CannotShift(f"{sqref!r} is not a list of A1 ranges")
            columns.append(column_index(m[1]) if m[1] else 1)
            rows.append(int(m[2]) if m[2] else 1)
    return min(columns), min(rows)


# --- formulas ------------------------------------------------------------------------------

# A row number in a reference follows a column letter, a "$" or the ":" of a row range.
_ROW_DIGITS = re.compile(r"[A-Za-z$:]([0-9]+)")
# a sheet range ("Sheet1:Sheet3!") may hide the shifted sheet between the two names
_THREE_D = re.compile(r":[^,()!]*!")
# Without these characters (and outside string literals) every operand is a run between
# operators, which a regex finds faster than the tokenizer (the tests check that both agree).
_NEEDS_TOKENIZER = re.compile("[\\[\\]#{}\t\n\r\x0b\x0c]")
_STRING = re.compile(r'("(?:[^"]|"")*")')
# only runs with a digit can be references that move ("A:C" never does)
_RUN = re.compile(
    r"(?<![^ +\-*/^&=<>%,;()])(?:'(?:[^']|'')*'|[^ +\-*/^&=<>%,;()'0-9])*[0-9](?:'(?:[^']|'')*'|[^ +\-*/^&=<>%,;()'])*(\()?"
)


def shift_formula(formula: str, shift: RowShift, *, host_sheet: str | None) -> str:
    """A formula as stored in ``<f>`` (no leading "="), its references to ``shift.sheet`` moved.

    Unqualified references count as on ``host_sheet`` (None: on no sheet, as in defined
    names). String literals, names, table references, external references and references
    to other sheets are left alone. A 3-D reference that spans the shifted sheet raises
    :class:`CannotShift`::

        >>> shift_formula("SUM(A2:C2)*2", RowShift.inserting("S", [1]), host_sheet="S")
        'SUM(A3:C3)*2'
    """
    on_host = host_sheet is not None and shift.is_sheet(host_sheet)
    if not _may_change(formula, shift, on_host):
        return formula
    if _NEEDS_TOKENIZER.search(formula) is None:
        moved = _shift_runs(formula, shift, on_host)
    else:
        moved = _shift_tokens(formula, shift, on_host)
    return formula if moved == formula else moved


def _may_change(formula: str, shift: RowShift, on_host: bool) -> bool:
    """A cheap, conservative test: False only when no reference can move."""
    if not on_host:
        if "!" not in formula:
            return False
        if shift._folded.replace("'", "''") not in formula.casefold() and _THREE_D.search(formula) is None:
            return False
    first = shift.first_affected
    return any(int(m[1]) >= first for m in _ROW_DIGITS.finditer(formula))


def _shift_runs(formula: str, shift: RowShift, on_host: bool) -> str:
    def replace(m: re.Match[str]) -> str:
        text = m[0]
        if text[0] in "0123456789." and ":" not in text:
            return text  # a number
        if m[1]:
            return _shift_function_head(text, shift, on_host)
        return _shift_operand(text, shift, on_host)

    if '"' not in formula and formula.count("'") % 2 == 0:
        return _RUN.sub(replace, formula)
    parts = _STRING.split(formula)  # outside, "literal", outside, ...
    if any('"' in part for part in parts[::2]) or any(part.count("'") % 2 for part in parts[::2]):
        return _shift_tokens(formula, shift, on_host)  # an unclosed literal: let the tokenizer say
    parts[::2] = [_RUN.sub(replace, part) for part in parts[::2]]
    return "".join(parts)


def _shift_tokens(formula: str, shift: RowShift, on_host: bool) -> str:
    tokens = _tokens(formula)
    out: list[str] = []
    for token in tokens:
        if token.type == Token.OPERAND and token.subtype == Token.RANGE:
            out.append(_shift_operand(token.value, shift, on_host))
        elif token.type == Token.FUNC and token.subtype == Token.OPEN:
            out.append(_shift_function_head(token.value, shift, on_host))
        else:
            out.append(token.value)
    return "".join(out)


def _tokens(formula: str) -> list[Token]:
    try:
        tokens: list[Token] = Tokenizer("=" + formula).items
    except TokenizerError as error:
        raise CannotShift(f"cannot read the formula {formula!r}: {error}") from error
    if "".join(token.value for token in tokens) != formula:
        raise CannotShift(f"cannot read the formula {formula!r}: its parts do not add up to it")
    return tokens


def _shift_function_head(text: str, shift: RowShift, on_host: bool) -> str:
    # the tokenizer reads "A1:INDEX(" as one function token; the A1 is a reference
    head, colon, name = text.rpartition(":")
    if not colon:
        return text
    return _shift_operand(head, shift, on_host) + colon + name


def _split_prefix(text: str) -> tuple[str, str] | None:
    """``("'My sheet'!", "A1")`` from ``'My sheet'!A1``; ``("", text)`` when unqualified."""
    if text.startswith("'"):
        i = 1
        while i < len(text):
            if text[i] == "'":
                if text[i + 1 : i + 2] == "'":
                    i += 2
                    continue
                break
            i += 1
        if text[i + 1 : i + 2] != "!":
            return None
        return text[: i + 2], text[i + 2 :]
    bang = text.find("!")
    return ("", text) if bang < 0 else (text[: bang + 1], text[bang + 1 :])


def _prefix_sheets(prefix: str) -> list[str]:
    """The sheet names in a prefix: one, or two for a 3-D reference ("Sheet1:Sheet3!")."""
    name = prefix[:-1]
    if name.startswith("'"):
        name = name[1:-1].replace("''", "'")
    return name.split(":")  # sheet names cannot hold ":"


def _shift_operand(text: str, shift: RowShift, on_host: bool) -> str:
    """One reference operand moved; "#REF!" when it becomes invalid; anything else as it was."""
    if text.startswith(":") and len(text) > 1:  # the tokenizer reads "(...):B6" as ")" and ":B6"
        return ":" + _shift_operand(text[1:], shift, on_host)
    if "[" in text:  # an external reference ([1]Sheet1!A1) or a table reference (Table1[Col])
        return text
    split = _split_prefix(text)
    if split is None:
        return text
    prefix, area = split
    second = ""
    if prefix:
        names = _prefix_sheets(prefix)
        if "!" in area:  # Sheet1!A1:Sheet1!B2
            first_area, colon, rest = area.partition(":")
            inner = _split_prefix(rest)
            if not colon or inner is None or not inner[0]:
                return text
            second, last_area = inner
            names += _prefix_sheets(second)
            area = f"{first_area}:{last_area}"
        if len(names) > 1:
            if all(name.casefold() == names[0].casefold() for name in names):
                names = names[:1]
            else:
                return _three_d(text, names, area, shift)
        if not shift.is_sheet(names[0]):
            return text
    elif not on_host:
        return text
    moved = _shift_area(area, shift)
    if isinstance(moved, _NotRef):
        if area.count(":") > 1 and _may_change(area, shift, True):
            raise CannotShift(f"cannot move the chained range {text!r}")
        return text
    if moved is None:
        return "#REF!"
    if moved == area:
        return text
    if second:
        first_area, _, last_area = moved.partition(":")
        return f"{prefix}{first_area}:{second}{last_area}"
    return prefix + moved


def _three_d(text: str, names: list[str], area: str, shift: RowShift) -> str:
    """A reference over several sheets: left alone unless it may span the shifted sheet and move."""
    if _probe(area, shift) == area:
        return text
    if len(names) == 2 and shift.sheets and not any(shift.is_sheet(name) for name in names):
        order = [sheet.casefold() for sheet in shift.sheets]
        wanted = [name.casefold() for name in names]
        if shift._folded in order and all(name in order for name in wanted):
            start, end = sorted(order.index(name) for name in wanted)
            if not start <= order.index(shift._folded) <= end:
                return text
    raise CannotShift(f"the 3-D reference {text!r} spans sheet {shift.sheet!r}; sheetcrm cannot move its rows")


def _probe(area: str, shift: RowShift) -> str | _NotRef | None:
    try:
        return _shift_area(area, shift)
    except ValueError:
        return None


def translate_shared(formula: str, master: str, target: str) -> str:
    """The formula of a shared-formula follower: ``formula`` (the master's) moved from ``master`` to ``target``.

    >>> translate_shared("A2*$B$1+B2", "C2", "C5")
    'A5*$B$1+B5'
    """
    master_column, master_row = _cell_position(master)
    target_column, target_row = _cell_position(target)
    rows, columns = target_row - master_row, target_column - master_column
    if rows == 0 and columns == 0:
        return formula
    out: list[str] = []
    for token in _tokens(formula):
        value = token.value
        if token.type == Token.OPERAND and token.subtype == Token.RANGE:
            value = _translate_operand(value, rows, columns)
        elif token.type == Token.FUNC and token.subtype == Token.OPEN:
            head, colon, name = value.rpartition(":")
            if colon:
                value = _translate_operand(head, rows, columns) + colon + name
        out.append(value)
    return "".join(out)


def _cell_position(cell: str) -> tuple[int, int]:
    m = _CELL_RE.fullmatch(cell)
    if m is None:
        raise ValueError(f"{cell!r} is not a cell address like C5")
    return column_index(m[2]), int(m[4])


def _translate_operand(text: str, rows: int, columns: int) -> str:
    if "[" in text and not text.startswith(("[", "'[")):
        return text  # a table reference
    split = _split_prefix(text)
    pieces = [text]
    if split is not None and "!" in split[1]:
        # openpyxl's Translator would move only the last part of "Sheet1!A1:Sheet1!B2"
        first, _, rest = split[1].partition(":")
        pieces = [split[0] + first, rest]
    try:
        moved: list[str] = [Translator.translate_range(piece, rows, columns) for piece in pieces]  # type: ignore[no-untyped-call]
    except TranslatorError as error:
        raise CannotShift(f"the reference {text!r} would move off the sheet") from error
    for piece in moved:
        area = piece.rpartition("!")[2]
        is_area = _CELL_RE.fullmatch(area) or _CELLS_RE.fullmatch(area) or _ROWS_RE.fullmatch(area)
        if is_area and max(int(digits) for digits in re.findall(r"[0-9]+", area)) > MAX_ROWS:
            raise CannotShift(f"the reference {text!r} would move off the sheet")
    return ":".join(moved)


def _shift_anchored(formula: str, old_sqref: str, new_sqref: str, shift: RowShift, host_sheet: str) -> str:
    """A conditional-format or validation formula, whose relative references are relative to
    the top-left cell of its sqref: when that cell goes, they are re-expressed from the new one.
    """
    if not _may_change(formula, shift, True):
        return formula
    old_column, old_row = _top_left(old_sqref)
    new_column, new_row = _top_left(new_sqref)
    origin = shift.old_row(new_row)
    if origin is not None and (origin, new_column) != (old_row, old_column):
        formula = translate_shared(
            formula, f"{column_letter(old_column)}{old_row}", f"{column_letter(new_column)}{origin}"
        )
    return shift_formula(formula, shift, host_sheet=host_sheet)


# --- XML parts -----------------------------------------------------------------------------

_TAG_BODY = r"""(?:[^>"']|"[^"]*"|'[^']*')*?"""
_ATTR = re.compile(r"""(\s)([\w:.-]+)\s*=\s*(["'])(.*?)\3""", re.S)
_ENTITY = re.compile(r"&(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9A-Fa-f]+);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


def _element(name: str) -> re.Pattern[str]:
    """``<p:name attrs/>`` or ``<p:name attrs>body</p:name>`` with any prefix p."""
    return re.compile(
        rf"<(?P<p>(?:[\w.-]+:)?){name}(?P<attrs>(?=[\s/>]){_TAG_BODY})(?:/>|>(?P<body>.*?)</(?P=p){name}\s*>)",
        re.S,
    )


def _open_tag(name: str) -> re.Pattern[str]:
    return re.compile(rf"<(?P<p>(?:[\w.-]+:)?){name}(?P<attrs>(?=[\s/>]){_TAG_BODY})(?P<end>/?>)", re.S)


def _unescape(text: str) -> str:
    if "&" not in text:
        return text

    def replace(m: re.Match[str]) -> str:
        name = m[1]
        if name.startswith("#x"):
            return chr(int(name[2:], 16))
        if name.startswith("#"):
            return chr(int(name[1:]))
        return _ENTITIES[name]

    return _ENTITY.sub(replace, text)


def _escape(text: str, quote: str = "") -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if quote == '"':
        text = text.replace('"', "&quot;")
    elif quote == "'":
        text = text.replace("'", "&apos;")
    return text


def _attr(attrs: str, name: str) -> str | None:
    for m in _ATTR.finditer(attrs):
        if m[2] == name:
            return _unescape(m[4])
    return None


def _with_attr(attrs: str, name: str, value: str) -> str:
    """``attrs`` with attribute ``name`` (which must be there) set to ``value``, bytes kept if equal."""

    def replace(m: re.Match[str]) -> str:
        if m[2] != name or _unescape(m[4]) == value:
            return m[0]
        return m[0][: m.start(4) - m.start()] + _escape(value, m[3]) + m[3]

    return _ATTR.sub(replace, attrs)


def _rebuild(m: re.Match[str], *, attrs: str | None = None, body: str | None = None) -> str:
    """The matched element with new attributes and/or body, every other character kept."""
    whole, start = m[0], m.start()
    if body is not None and m["body"] is not None:
        whole = whole[: m.start("body") - start] + body + whole[m.end("body") - start :]
    if attrs is not None:
        whole = whole[: m.start("attrs") - start] + attrs + whole[m.end("attrs") - start :]
    return whole


def _text_edit(pattern: re.Pattern[str], text: str, edit: Callable[[str], str | None]) -> tuple[str, bool]:
    """Each matched element's text body through ``edit`` (unescaped in, escaped out).

    Returns the new text and whether an element was dropped (``edit`` gave None).
    """
    dropped = False

    def replace(m: re.Match[str]) -> str:
        nonlocal dropped
        body = m["body"]
        if body is None:
            return m[0]
        new = edit(_unescape(body))
        if new is None:
            dropped = True
            return ""
        if new == _unescape(body):
            return m[0]
        return _rebuild(m, body=_escape(new))

    return pattern.sub(replace, text), dropped


def _decode(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CannotShift(f"{what} is not UTF-8 encoded") from error


def _encode(text: str, original: str, data: bytes) -> bytes:
    return data if text == original else text.encode("utf-8")


def _edit_list(
    text: str, container: str, item: str, edit: Callable[[re.Match[str]], str | None], *, drop_empty: bool = True
) -> str:
    """Edit each ``item`` element inside each ``container``; ``edit`` returns None to drop one.

    A container's ``count`` follows the items kept; one left empty goes too (the schema wants
    at least one item).
    """
    container_re, item_re = _element(container), _element(item)

    def on_container(m: re.Match[str]) -> str:
        body = m["body"]
        if body is None:
            return m[0]
        total = kept = 0

        def on_item(im: re.Match[str]) -> str:
            nonlocal total, kept
            total += 1
            new = edit(im)
            if new is None:
                return ""
            kept += 1
            return new

        new_body = item_re.sub(on_item, body)
        if new_body == body:
            return m[0]
        if kept == 0 and total and drop_empty:
            return ""
        attrs = m["attrs"]
        if kept != total and _attr(attrs, "count") is not None:
            attrs = _with_attr(attrs, "count", str(kept))
        return _rebuild(m, attrs=attrs, body=new_body)

    return container_re.sub(on_container, text)


def _edit_attr(m: re.Match[str], name: str, change: Callable[[str], str | None]) -> str | None:
    """The element of ``m`` with attribute ``name`` changed; None when ``change`` drops it."""
    value = _attr(m["attrs"], name)
    if value is None:
        return m[0]
    new = change(value)
    if new is None:
        return None
    return _rebuild(m, attrs=_with_attr(m["attrs"], name, new))


_DIMENSION = _open_tag("dimension")
_SHEET_VIEW = _open_tag("sheetView")
_PANE = _open_tag("pane")
_SELECTION = _open_tag("selection")


def shift_sheet_head(head: bytes, shift: RowShift) -> bytes:
    """The part of the shifted sheet's part before ``<sheetData``: dimension, view positions,
    selections, frozen rows (other sheets need no change here).

    Frozen rows (a frozen pane's ``ySplit``) behave like the range ``1:ySplit``; when all of
    them are deleted the change is refused (:class:`CannotShift`).
    """
    text = _decode(head, "the worksheet")
    out = _DIMENSION.sub(lambda m: _tag_attr(m, "ref", lambda ref: shift_range(ref, shift) or "A1"), text)
    out = _SHEET_VIEW.sub(lambda m: _tag_attr(m, "topLeftCell", lambda cell: _view_cell(cell, shift)), out)
    out = _PANE.sub(lambda m: _shift_pane(m, shift), out)
    out = _SELECTION.sub(lambda m: _shift_selection(m, shift), out)
    return _encode(out, text, head)


def _tag_attr(m: re.Match[str], name: str, change: Callable[[str], str]) -> str:
    value = _attr(m["attrs"], name)
    if value is None:
        return m[0]
    return _rebuild(m, attrs=_with_attr(m["attrs"], name, change(value)))


def _view_cell(cell: str, shift: RowShift, *, floor: int = 1) -> str:
    m = _CELL_RE.fullmatch(cell)
    if m is None:
        return cell
    return f"{m[1]}{m[2]}{m[3]}{max(floor, shift.view_row(int(m[4])))}"


def _shift_pane(m: re.Match[str], shift: RowShift) -> str:
    attrs = m["attrs"]
    floor = 1
    split = _attr(attrs, "ySplit")
    if _attr(attrs, "state") in ("frozen", "frozenSplit") and split and split.isdigit() and int(split) > 0:
        rows = shift.span(1, int(split))
        if rows is None:
            raise CannotShift("every frozen row of the sheet view would be deleted")
        attrs = _with_attr(attrs, "ySplit", str(rows[1]))
        floor = rows[1] + 1
    cell = _attr(attrs, "topLeftCell")
    if cell is not None:
        attrs = _with_attr(attrs, "topLeftCell", _view_cell(cell, shift, floor=floor))
    return _rebuild(m, attrs=attrs)


def _shift_selection(m: re.Match[str], shift: RowShift) -> str:
    attrs = m["attrs"]
    active = _attr(attrs, "activeCell")
    if active is not None:
        active = _view_cell(active, shift)
        attrs = _with_attr(attrs, "activeCell", active)
    sqref = _attr(attrs, "sqref")
    if sqref is not None:
        attrs = _with_attr(attrs, "sqref", shift_sqref(sqref, shift) or active or "A1")
    return _rebuild(m, attrs=attrs)


_UNSUPPORTED_TAIL = re.compile(r"<(?:[\w.-]+:)?(scenarios|dataConsolidate|customSheetViews|smartTags)(?=[\s/>])")
_ANCHORED = re.compile(r"<(?:[\w.-]+:)?(oleObjects|controls)(?=[\s/>])")
_ANCHOR_ROW = re.compile(r"<(?:[\w.-]+:)?row>\s*([0-9]+)\s*</")
_EXTLST_TAG = re.compile(r"<(/?)(?:[\w.-]+:)?extLst(?=[\s/>])" + _TAG_BODY + r"(/?)>", re.S)
_END_OF_SHEET = re.compile(r"\s*(?:</(?:[\w.-]+:)?worksheet\s*>)?\s*")

_MERGE_CELLS, _MERGE_CELL = "mergeCells", "mergeCell"
_FORMULA = _element("formula")
_FORMULA1, _FORMULA2 = _element("formula1"), _element("formula2")
_CFVO = _open_tag("cfvo")
_CONDITIONAL = _element("conditionalFormatting")
_SORT_STATE = _element("sortState")
_AUTO_FILTER = _open_tag("autoFilter")
_EXT = _element("ext")
_SQREF = _element("sqref")
_F = _element("f")

_X14_CONDITIONAL = "{78C0D931-6437-407d-A8EE-F0AAD7539E65}"
_X14_VALIDATION = "{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}"
_X14_SPARKLINES = "{05C60535-1F16-4fd2-B633-F4F36F0B64E0}"


def shift_sheet_tail(tail: bytes, shift: RowShift, *, host_sheet: str) -> bytes:
    """The part of a worksheet after ``</sheetData>``: merges, conditional formats, validations,
    filter, hyperlinks, page breaks, ignored errors, protected ranges and their x14 extensions.

    What vanishes is dropped (a merge also when it shrinks to one cell); what this module
    cannot move (scenarios, custom views, smart tags, controls below the change, unknown
    extensions with references) raises :class:`CannotShift` naming it. On a sheet other than
    ``shift.sheet`` only the formulas change (those that refer to the shifted sheet).
    """
    text = _decode(tail, "the worksheet")
    if not shift.is_sheet(host_sheet):
        # another sheet: its ranges stay, only formulas pointing at the shifted sheet move
        out = text
        for pattern in (_FORMULA, _FORMULA1, _FORMULA2, _F):
            out, _ = _text_edit(pattern, out, lambda f: shift_formula(f, shift, host_sheet=host_sheet))
        out = _CFVO.sub(lambda m: _tag_attr(m, "val", lambda f: shift_formula(f, shift, host_sheet=host_sheet)), out)
        return _encode(out, text, tail)
    found = _UNSUPPORTED_TAIL.search(text)
    if found:
        raise CannotShift(f"the sheet has <{found[1]}>, which sheetcrm cannot move with its rows")
    for m in _ANCHORED.finditer(text):
        rows = [int(row) for row in _ANCHOR_ROW.findall(text, m.start())]
        if not rows or max(rows) + 1 >= shift.first_affected:
            raise CannotShift(f"the sheet has <{m[1]}> anchored at rows that move")
    start, end = _sheet_extlst(text)
    main = _shift_main_tail(text[:start], shift, host_sheet)
    ext = _shift_extensions(text[start:end], shift, host_sheet)
    return _encode(main + ext + text[end:], text, tail)


def _sheet_extlst(text: str) -> tuple[int, int]:
    """Where the worksheet's own ``<extLst>`` is (empty span at the end when it has none)."""
    depth = 0
    last: tuple[int, int] | None = None
    start = 0
    for m in _EXTLST_TAG.finditer(text):
        if m[2]:  # <extLst/>
            if depth == 0:
                last = (m.start(), m.end())
        elif m[1]:
            depth -= 1
            if depth == 0:
                last = (start, m.end())
        else:
            if depth == 0:
                start = m.start()
            depth += 1
    if last is not None and _END_OF_SHEET.fullmatch(text, last[1]):
        return last
    return len(text), len(text)


def _shift_main_tail(text: str, shift: RowShift, host: str) -> str:
    def merge(m: re.Match[str]) -> str | None:
        return _edit_attr(m, "ref", lambda ref: _merge(ref, shift))

    text = _edit_list(text, _MERGE_CELLS, _MERGE_CELL, merge)
    text = _CONDITIONAL.sub(lambda m: _shift_conditional(m, shift, host), text)
    text = _edit_list(text, "dataValidations", "dataValidation", lambda m: _shift_validation(m, shift, host))
    text = _SORT_STATE.sub(lambda m: _shift_sort_state(m, shift), text)
    text = _AUTO_FILTER.sub(lambda m: _tag_attr(m, "ref", lambda ref: _filter_range(ref, shift)), text)

    def hyperlink(m: re.Match[str]) -> str | None:
        return _edit_attr(m, "ref", lambda ref: shift_range(ref, shift))

    text = _edit_list(text, "hyperlinks", "hyperlink", hyperlink)
    text = _shift_breaks(text, shift)
    for container, item, name in (
        ("ignoredErrors", "ignoredError", "sqref"),
        ("protectedRanges", "protectedRange", "sqref"),
        ("cellWatches", "cellWatch", "r"),
    ):
        text = _edit_list(text, container, item, _sqref_editor(name, shift))
    return text


def _sqref_editor(name: str, shift: RowShift) -> Callable[[re.Match[str]], str | None]:
    return lambda m: _edit_attr(m, name, lambda value: shift_sqref(value, shift))


def _merge(ref: str, shift: RowShift) -> str | None:
    moved = shift_range(ref, shift)
    if moved is None:
        return None
    first, _, last = moved.replace("$", "").partition(":")
    return None if not last or first == last else moved


def _filter_range(ref: str, shift: RowShift) -> str:
    moved = shift_range(ref, shift)
    if moved is None:
        raise CannotShift(f"every row of the filter range {ref} would be deleted")
    return moved


def _shift_conditional(m: re.Match[str], shift: RowShift, host: str) -> str:
    sqref = _attr(m["attrs"], "sqref")
    if sqref is None or m["body"] is None:
        return m[0]
    new_sqref = shift_sqref(sqref, shift)
    if new_sqref is None:
        return ""

    def formula(text: str) -> str:
        return _shift_anchored(text, sqref, new_sqref, shift, host)

    body, _ = _text_edit(_FORMULA, m["body"], formula)
    body = _CFVO.sub(lambda cm: _tag_attr(cm, "val", formula), body)
    return _rebuild(m, attrs=_with_attr(m["attrs"], "sqref", new_sqref), body=body)


def _shift_validation(m: re.Match[str], shift: RowShift, host: str) -> str | None:
    sqref = _attr(m["attrs"], "sqref")
    if sqref is None:
        return m[0]
    new_sqref = shift_sqref(sqref, shift)
    if new_sqref is None:
        return None
    body = m["body"]
    if body is not None:

        def formula(text: str) -> str:
            return _shift_anchored(text, sqref, new_sqref, shift, host)

        body, _ = _text_edit(_FORMULA1, body, formula)
        body, _ = _text_edit(_FORMULA2, body, formula)
    return _rebuild(m, attrs=_with_attr(m["attrs"], "sqref", new_sqref), body=body)


def _shift_sort_state(m: re.Match[str], shift: RowShift) -> str:
    ref = _attr(m["attrs"], "ref")
    if ref is None:
        return m[0]
    moved = shift_range(ref, shift)
    if moved is None:
        return ""  # a remembered sort of rows that are gone
    body = m["body"]
    if body is not None:
        kept = 0

        def condition(cm: re.Match[str]) -> str:
            nonlocal kept
            new = _edit_attr(cm, "ref", lambda r: shift_range(r, shift))
            kept += new is not None
            return new or ""

        body = _element("sortCondition").sub(condition, body)
        if kept == 0:
            return ""
    return _rebuild(m, attrs=_with_attr(m["attrs"], "ref", moved), body=body)


def _shift_breaks(text: str, shift: RowShift) -> str:
    # a break's id is the last row of a page: the break belongs to the row after it
    def brk(m: re.Match[str]) -> str | None:
        def move(value: str) -> str | None:
            row = shift.new_row(int(value) + 1) if value.isdigit() else None
            return None if row is None else str(row - 1)

        return _edit_attr(m, "id", move)

    def fix_counts(m: re.Match[str]) -> str:
        body = m["body"] or ""
        attrs = m["attrs"]
        if _attr(attrs, "manualBreakCount") is not None:
            manual = sum(_attr(b["attrs"], "man") in ("1", "true") for b in _element("brk").finditer(body))
            attrs = _with_attr(attrs, "manualBreakCount", str(manual))
        return _rebuild(m, attrs=attrs)

    new = _edit_list(text, "rowBreaks", "brk", brk, drop_empty=False)
    return new if new == text else _element("rowBreaks").sub(fix_counts, new)


def _shift_extensions(text: str, shift: RowShift, host: str) -> str:
    def on_ext(m: re.Match[str]) -> str:
        body = m["body"]
        if body is None:
            return m[0]
        if re.search(r"<(?:[\w.-]+:)?ext[\s>]", body):
            raise CannotShift("the sheet has nested extensions (extLst) that sheetcrm cannot read")
        uri = _attr(m["attrs"], "uri") or ""
        if uri == _X14_CONDITIONAL:
            new = _edit_list(
                body, "conditionalFormattings", "conditionalFormatting", lambda i: _x14_item(i, shift, host)
            )
        elif uri == _X14_VALIDATION:
            new = _edit_list(body, "dataValidations", "dataValidation", lambda i: _x14_item(i, shift, host))
        elif uri == _X14_SPARKLINES:
            new = _edit_list(body, "sparklineGroups", "sparklineGroup", lambda g: _sparkline_group(g, shift, host))
        elif re.search(r"sqref|<(?:[\w.-]+:)?f[\s>]|\sref\s*=", body):
            raise CannotShift(f"the sheet has an extension ({uri}) with references sheetcrm cannot move")
        else:
            return m[0]
        if new == body:
            return m[0]
        if not new.strip():
            return ""  # its only list went empty
        return _rebuild(m, body=new)

    return _EXT.sub(on_ext, text)


def _x14_item(m: re.Match[str], shift: RowShift, host: str) -> str | None:
    """An x14 conditional format or validation: ``<xm:sqref>`` and its anchored ``<xm:f>`` formulas."""
    body = m["body"]
    found = _SQREF.search(body or "")
    if body is None or found is None or found["body"] is None:
        return m[0]
    sqref = _unescape(found["body"])
    new_sqref = shift_sqref(sqref, shift)
    if new_sqref is None:
        return None
    body, _ = _text_edit(_F, body, lambda f: _shift_anchored(f, sqref, new_sqref, shift, host))
    body, _ = _text_edit(_SQREF, body, lambda _: new_sqref)
    return _rebuild(m, body=body)


def _sparkline_group(m: re.Match[str], shift: RowShift, host: str) -> str | None:
    body = m["body"]
    if body is None:
        return m[0]
    cut = re.search(r"<(?:[\w.-]+:)?sparklines[\s>]", body)
    head, lines = (body[: cut.start()], body[cut.start() :]) if cut else (body, "")
    head, _ = _text_edit(_F, head, lambda f: shift_formula(f, shift, host_sheet=host))

    def sparkline(sm: re.Match[str]) -> str | None:
        inner = sm["body"] or ""
        found = _SQREF.search(inner)
        if found is None or found["body"] is None:
            return sm[0]
        new_sqref = shift_sqref(_unescape(found["body"]), shift)
        if new_sqref is None:
            return None
        inner, _ = _text_edit(_F, inner, lambda f: shift_formula(f, shift, host_sheet=host))
        inner, _ = _text_edit(_SQREF, inner, lambda _: new_sqref)
        return _rebuild(sm, body=inner)

    new_lines = _edit_list(lines, "sparklines", "sparkline", sparkline)
    if lines and not new_lines.strip():
        return None
    return _rebuild(m, body=head + new_lines)


_TABLE = _open_tag("table")
_TABLE_FORMULA_ELEMENT = re.compile(
    rf"<(?P<p>(?:[\w.-]+:)?)(?P<n>calculatedColumnFormula|totalsRowFormula)(?P<attrs>(?=[\s/>]){_TAG_BODY})"
    r"(?:/>|>(?P<body>.*?)</(?P=p)(?P=n)\s*>)",
    re.S,
)
_TABLE_FORMULA = re.compile(r"<(?:[\w.-]+:)?(calculatedColumnFormula|totalsRowFormula)\b[^>]*>(.*?)</", re.S)


def shift_table_part(table_xml: bytes, shift: RowShift, *, host_sheet: str | None = None) -> bytes:
    """A table part (``xl/tables/tableN.xml``) of a table on the shifted sheet, its ranges moved.

    Deleting the header or totals row is refused (:class:`CannotShift`). When every data
    row goes, the table keeps its header and one row below it, as Excel does: Excel clears
    the last data row rather than deleting it, so the writer must leave that row empty.
    For a table on another sheet (``host_sheet``) only column formulas that refer to the
    shifted sheet change.
    """
    text = _decode(table_xml, "the table")
    if host_sheet is not None and not shift.is_sheet(host_sheet):
        out, _ = _text_edit(_TABLE_FORMULA_ELEMENT, text, lambda f: shift_formula(f, shift, host_sheet=host_sheet))
        return _encode(out, text, table_xml)
    root = _TABLE.search(text)
    if root is None:
        raise CannotShift("the table part has no <table> element")
    name = _attr(root["attrs"], "displayName") or _attr(root["attrs"], "name") or "?"
    header = _attr(root["attrs"], "headerRowCount") != "0"
    totals = int(_attr(root["attrs"], "totalsRowCount") or "0")
    for m in _TABLE_FORMULA.finditer(text):
        formula = _unescape(m[2])
        if shift_formula(formula, shift, host_sheet=shift.sheet) != formula:
            raise CannotShift(f"a column formula of table {name} refers to rows that move")

    def table(m: re.Match[str]) -> str:
        return _tag_attr(m, "ref", lambda ref: _table_range(ref, shift, name, header=header, totals=totals))

    new_root = table(root)
    out = text[: root.start()] + new_root + text[root.end() :]
    new_ref = _attr(new_root, "ref") or ""
    # the filter covers the header and data rows: the table's rows less its totals
    rows = _CELLS_RE.fullmatch(new_ref)

    def auto_filter(ref: str) -> str:
        m = _CELLS_RE.fullmatch(ref)
        if m is None or rows is None:
            return _table_range(ref, shift, name, header=True)
        return f"{m[1]}{m[2]}{m[3]}{rows[4]}:{m[5]}{m[6]}{m[7]}{int(rows[8]) - totals}"

    out = _AUTO_FILTER.sub(lambda m: _tag_attr(m, "ref", auto_filter), out)
    out = _SORT_STATE.sub(lambda m: _shift_sort_state(m, shift), out)
    return _encode(out, text, table_xml)


def _table_range(ref: str, shift: RowShift, name: str, *, header: bool, totals: int = 0) -> str:
    m = _CELLS_RE.fullmatch(ref)
    if m is None:
        raise CannotShift(f"table {name} has the range {ref!r}, not like A1:E10")
    top, bottom = int(m[4]), int(m[8])
    if shift.deleted:
        if header and shift.new_row(top) is None:
            raise CannotShift(f"the header row of table {name} would be deleted")
        if totals and any(shift.new_row(row) is None for row in range(bottom - totals + 1, bottom + 1)):
            raise CannotShift(f"the totals row of table {name} would be deleted")
        first_data, last_data = top + header, bottom - totals
        if first_data <= last_data and shift.span(first_data, last_data) is None:
            if totals or not header:
                raise CannotShift(f"every data row of table {name} would be deleted")
            new_top = shift.new_row(top)
            assert new_top is not None
            return f"{m[1]}{m[2]}{m[3]}{new_top}:{m[5]}{m[6]}{m[7]}{new_top + 1}"
    moved = shift_range(ref, shift)
    if moved is None:
        raise CannotShift(f"every row of table {name} would be deleted")
    return moved


_DEFINED_NAME = _element("definedName")


def shift_defined_names(workbook_xml: bytes, shift: RowShift) -> bytes:
    """``xl/workbook.xml`` with the references in its ``<definedName>`` texts moved."""
    text = _decode(workbook_xml, "the workbook part")
    out, _ = _text_edit(_DEFINED_NAME, text, lambda f: shift_formula(f, shift, host_sheet=None))
    return _encode(out, text, workbook_xml)


def shift_chart_part(chart_xml: bytes, shift: RowShift) -> bytes:
    """A chart part with the references in its ``<c:f>`` texts (any prefix) moved.

    The cached values next to them are left as they were; Excel refreshes them.
    """
    text = _decode(chart_xml, "the chart")
    out, _ = _text_edit(_F, text, lambda f: shift_formula(f, shift, host_sheet=None))
    return _encode(out, text, chart_xml)


_WORKSHEET_SOURCE = _open_tag("worksheetSource")


def shift_pivot_cache(definition_xml: bytes, shift: RowShift) -> bytes:
    """A pivot cache definition whose ``<worksheetSource>`` is a range of the shifted sheet, moved."""
    text = _decode(definition_xml, "the pivot cache definition")

    def source(m: re.Match[str]) -> str:
        attrs = m["attrs"]
        sheet, ref = _attr(attrs, "sheet"), _attr(attrs, "ref")
        if sheet is None or ref is None or _attr(attrs, "r:id") is not None or not shift.is_sheet(sheet):
            return m[0]
        moved = shift_range(ref, shift)
        if moved is None:
            raise CannotShift(f"every row of the pivot table source {ref} would be deleted")
        return _rebuild(m, attrs=_with_attr(attrs, "ref", moved))

    out = _WORKSHEET_SOURCE.sub(source, text)
    return _encode(out, text, definition_xml)

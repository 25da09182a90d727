"""CSV that a spreadsheet opens as data, never as formulas, in any locale.

A cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is read as a formula (or
DDE call) by Excel, LibreOffice and Google Sheets (OWASP "CSV Injection"). A spreadsheet set up
for a locale whose list separator is `;` (or that splits on tabs) also starts a new cell after
each `;` or tab inside a value, so a formula after any separator runs too.

So every cell is quoted (a quoted `;` or tab stays inside its cell in every locale), and a cell
with a formula prefix at its start or after any separator is prefixed with `'`, which every
spreadsheet shows as text. The check runs on the NFKC form too: a full-width equals sign is `=`.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable, Iterator

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# A formula prefix at the start of the value or of any piece a spreadsheet might split off
# (at `,`, `;`, tab, CR or LF), after any blanks or quotes a spreadsheet would skip.
_FORMULA_ANYWHERE = re.compile(r"(?:^|[,;\t\r\n])[\s\"'\u00a0\u200b\ufeff]*[=+\-@\t\r]")


def is_formula_like(text: str) -> bool:
    # The pattern's `^` alternative covers FORMULA_TRIGGERS at the start; NFKC leaves ASCII
    # unchanged, so only other text is checked twice (the export runs this on every cell).
    if _FORMULA_ANYWHERE.search(text):
        return True
    return not text.isascii() and bool(
        _FORMULA_ANYWHERE.search(unicodedata.normalize("NFKC", text))
    )


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    if is_formula_like(text):
        return "'" + text
    return text


def safe_row(values: Iterable[object]) -> list[str]:
    """`safe_cell` of each value, with one search per row instead of one per cell (the export
    runs this on every row; almost no row has a formula).

    The cells joined by newlines hold a formula prefix only if some cell holds one: a newline
    is a separator in the pattern, so each cell's start is tested as its `^`, and a match that
    runs over a joining newline ends with a trigger in the next cell after nothing but blanks
    and quotes, which that cell matches on its own. So when the joined row has no match no
    cell has one; otherwise (or for non-ASCII text) every cell is checked on its own.
    """
    cells = ["" if value is None else str(value) for value in values]
    joined = "\n".join(cells)
    if joined.isascii() and not _FORMULA_ANYWHERE.search(joined):
        return cells
    return [safe_cell(cell) for cell in cells]


class _Echo:
    """A file-like whose write returns the line, for streaming."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Iterable[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    writer = csv.writer(_Echo(), quoting=csv.QUOTE_ALL)
    yield writer.writerow(safe_row(header))
    for row in rows:
        yield writer.writerow(safe_row(row))

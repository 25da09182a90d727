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


class _Echo:
    """A file-like whose write returns the line, for streaming."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Iterable[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    writer = csv.writer(_Echo(), quoting=csv.QUOTE_ALL)
    yield writer.writerow([safe_cell(cell) for cell in header])
    for row in rows:
        yield writer.writerow([safe_cell(cell) for cell in row])

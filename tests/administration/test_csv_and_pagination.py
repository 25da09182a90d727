"""The primitives: formula-safe CSV cells, and keyset cursors."""

import pytest

from aidial_portal.administration.csv_export import csv_lines, safe_cell
from aidial_portal.web.pagination import decode


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+61 2 9876 5432", "'+61 2 9876 5432"),
        ("-", "'-"),
        ("@cmd", "'@cmd"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("acme.example", "acme.example"),
        ("a=b", "a=b"),
        (None, ""),
        (3, "3"),
    ],
)
def test_cells_that_a_spreadsheet_would_run_are_quoted(value, cell):
    assert safe_cell(value) == cell


def test_header_is_protected_too():
    assert list(csv_lines(["=x"], [[1, "@y"]])) == ["'=x\r\n", "1,'@y\r\n"]


@pytest.mark.parametrize("cursor", ["", "!!!", "bnVsbA", "WyJ2IiwxXQ", "WyJ4IiwxLDJd"])
def test_foreign_cursors_are_ignored(cursor):
    assert decode(cursor) is None

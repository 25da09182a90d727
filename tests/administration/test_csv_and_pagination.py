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
    assert list(csv_lines(["=x"], [[1, "@y"]])) == ['"\'=x"\r\n', '"1","\'@y"\r\n']


@pytest.mark.parametrize(
    "value",
    [
        "acme;=1+1",
        'acme; =HYPERLINK("http://x")',
        "acme,@SUM(A1)",
        "acme\t+cmd",
        "acme\n-2+3",
        "acme\r\n=1",
        'acme;"=1+1',
        "acme;\t=1",
        "\uff1d1+1",  # full-width equals sign
        "acme\uff1b=1",  # full-width semicolon
        " =1+1",
    ],
)
def test_a_formula_after_any_separator_is_neutralised(value):
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize(
    "value", ["acme; client_staff", "a\tb", "2026-12-02T01:00:00+00:00", "x-y", "a=b; c"]
)
def test_ordinary_values_with_separators_are_kept_as_they_are(value):
    assert safe_cell(value) == value


def test_every_cell_is_quoted_so_a_separator_inside_stays_inside():
    line = "".join(csv_lines(["Account"], [["acme;=1+1", "a\tb", "plain"]]))
    assert line.splitlines()[1] == '"\'acme;=1+1","a\tb","plain"'


@pytest.mark.parametrize("cursor", ["", "!!!", "bnVsbA", "WyJ2IiwxXQ", "WyJ4IiwxLDJd"])
def test_foreign_cursors_are_ignored(cursor):
    assert decode(cursor) is None

"""The primitives: formula-safe CSV cells, and keyset cursors."""

from datetime import timedelta

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


@pytest.mark.django_db
def test_a_deep_events_page_starts_its_index_scan_at_the_cursor():
    from django.db import connection
    from django.utils import timezone

    from aidial_portal.administration.events import NEWEST_FIRST
    from aidial_portal.audit.models import SecurityEvent
    from aidial_portal.web.pagination import paginate

    now = timezone.now()
    for minutes in range(12):
        SecurityEvent.objects.create(event_type="signed_out", at=now - timedelta(minutes=minutes))
    first = paginate(SecurityEvent.objects.all(), NEWEST_FIRST, size=5)
    second = paginate(SecurityEvent.objects.all(), NEWEST_FIRST, after=first.next_cursor, size=5)
    assert [event.at for event in second.rows] == [now - timedelta(minutes=m) for m in range(5, 10)]
    value, pk = decode(first.next_cursor)
    deep = SecurityEvent.objects.filter(NEWEST_FIRST.after(value, pk)).order_by(
        *NEWEST_FIRST.order_by()
    )[:6]
    sql, params = deep.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Twelve rows: make the planner show the index plan it would choose at scale.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql, params)
            plan = " ".join(str(row[0]) for row in cursor.fetchall())
            assert "Index" in plan
            assert "Index Cond: (at <" in plan
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            plan = " ".join(str(row[-1]) for row in cursor.fetchall())
            assert "SEARCH" in plan
            assert "at<" in plan.replace(" ", "")

"""The export checks a whole row with one search (`safe_row`); it must neutralise exactly the
cells that `safe_cell` neutralises one by one, whatever the cells hold."""

from hypothesis import example, given
from hypothesis import strategies as st

from aidial_portal.administration.csv_export import safe_cell, safe_row

# Mostly the characters the rule is about, so that near-misses across cells come up often.
_PIECES = st.text(alphabet=" \t\r\n\"',;=+-@\u00a0\u200b\ufeffab1\uff1d", max_size=8)
_CELL = st.one_of(st.none(), st.integers(), _PIECES, st.text(max_size=12))


@given(st.lists(_CELL, max_size=8))
@example(["x;", "=1"])
@example(["x; ", " =1"])
@example(["ok", "\n=1"])
@example(["a", "\uff1d1"])
@example(["plain", "a=b", None, 3])
def test_a_row_is_neutralised_exactly_as_its_cells_one_by_one(values):
    assert safe_row(values) == [safe_cell(value) for value in values]

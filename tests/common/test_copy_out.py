"""`common.copy_out` (PostgreSQL only): rows read through COPY keep their NULLs as nulls."""

import polars as pl
import pytest
from django.db import connection

pytestmark = pytest.mark.skipif("connection.vendor != 'postgresql'")

ROWS = "SELECT * FROM (VALUES (1, 2.5::float8, 'a'), (2, NULL, NULL), (3, 4.0, 'c\"d')) AS t(n, x, k) ORDER BY n"


@pytest.mark.django_db
def test_text_copy_reads_nulls_and_quotes_as_they_are():
    from patron.common import copy_out

    frame = copy_out.copy_text(ROWS, [], {"n": pl.Int64, "x": pl.Float64, "k": pl.String})
    assert frame.to_dicts() == [{"n": 1, "x": 2.5, "k": "a"}, {"n": 2, "x": None, "k": None},
                                {"n": 3, "x": 4.0, "k": 'c"d'}]


@pytest.mark.django_db
def test_binary_copy_falls_back_to_text_on_a_null():
    from patron.common import copy_out

    sql = "SELECT n, x FROM (VALUES (1::int8, 2.5::float8), (2, NULL)) AS t(n, x) ORDER BY n"
    frame = copy_out.copy_binary(sql, [], {"n": "int8", "x": "float8"})
    assert frame.to_dicts() == [{"n": 1, "x": 2.5}, {"n": 2, "x": None}]

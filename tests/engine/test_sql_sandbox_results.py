"""What a sandboxed query hands back: capped in bytes in the child, shaped so a table can hold it, never a crash."""

from __future__ import annotations

import io
import struct

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine.sql_sandbox import SandboxLimits, SqlError, run_sql, to_frame
from engine.sql_sandbox.protocol import READY, FrameBuffer, FrameTooLarge
from engine.sql_sandbox.results import unique_names

SMALL = SandboxLimits(timeout_s=5, max_result_mb=1)


@pytest.fixture(scope="module")
def tables() -> dict[str, bytes]:
    buffer = io.BytesIO()
    pq.write_table(pa.table({"id": [1, 2], "name": ["a", "b"]}), buffer)
    return {"t": buffer.getvalue()}


def test_a_result_over_the_byte_cap_is_refused_in_the_child_naming_the_cap(tables):
    # 100 rows of 100 kB: 10 MB against a 1 MB cap. The refusal counts rows, which only the child knows.
    with pytest.raises(SqlError) as caught:
        run_sql("SELECT repeat('x', 100000) AS blob FROM range(100)", tables, limits=SMALL)
    message = caught.value.message
    assert "1 MB" in message and "LIMIT" in message and "GROUP BY" in message
    assert "first" in message and "rows" in message


def test_a_result_under_the_byte_cap_arrives_whole(tables):
    result = run_sql("SELECT repeat('x', 1000) AS blob FROM range(500)", tables, limits=SMALL)
    assert result.table.num_rows == 500
    assert result.table.column("blob")[0].as_py() == "x" * 1000


def test_the_cap_applies_to_the_rows_kept_not_to_the_rows_skipped(tables):
    # Many big rows, but max_rows keeps only two of them: well under the cap.
    limits = SandboxLimits(timeout_s=5, max_result_mb=1, max_rows=2)
    result = run_sql("SELECT repeat('x', 100000) AS blob FROM range(100)", tables, limits=limits)
    assert result.table.num_rows == 2 and result.truncated


def test_the_parent_refuses_a_frame_larger_than_it_accepts():
    frames = FrameBuffer(max_payload=1024)
    frames.feed(struct.pack(">cQ", READY, 10 * 1024 * 1024))
    with pytest.raises(FrameTooLarge):
        frames.pop()


def test_a_self_join_gets_unique_column_names(tables):
    result = run_sql("SELECT * FROM t p JOIN t q ON p.id = q.id ORDER BY p.id", tables, limits=SMALL)
    frame = to_frame(result.table)
    assert frame.columns == ["id", "name", "id_2", "name_2"]
    assert frame.row(0) == (1, "a", 1, "a")


@pytest.mark.parametrize(("names", "expected"), [
    (["id", "id"], ["id", "id_2"]),
    (["a", "A", "a_2"], ["a", "A_3", "a_2"]),  # SQL ignores case; an existing a_2 is not taken twice
    (["x", "", " "], ["x", "column_2", "column_3"]),
    (["n", "n", "n"], ["n", "n_2", "n_3"]),
])
def test_unique_names(names, expected):
    assert unique_names(names) == expected


@pytest.mark.parametrize(("sql", "expected"), [
    ("SELECT INTERVAL 1 DAY AS v", "1 day"),
    ("SELECT INTERVAL 1 DAY AS v UNION ALL SELECT INTERVAL 2 MONTH", "1 day"),
    ("SELECT union_value(k := 1) AS v", "1"),
    ("SELECT '101'::BIT AS v", "101"),
    ("SELECT '12:00:00+01'::TIMETZ AS v", "12:00:00+01"),
    ("SELECT {'a': INTERVAL 1 DAY} AS v", "{'a': 1 day}"),
])
def test_types_polars_cannot_hold_arrive_as_duckdb_prints_them(tables, sql, expected):
    frame = to_frame(run_sql(sql, tables, limits=SMALL).table)
    assert frame.schema["v"] == pl.String
    assert frame["v"][0] == expected


@pytest.mark.parametrize("sql", [
    "SELECT 'infinity'::TIMESTAMP AS when_",
    "SELECT '-infinity'::TIMESTAMP AS when_",
    "SELECT '290000-01-01'::TIMESTAMP AS when_",
    "SELECT 'infinity'::DATE AS when_",
    "SELECT '290000-01-01'::TIMESTAMPTZ AS when_",
    "SELECT '290000-01-01'::TIMESTAMP_MS AS when_",
])
def test_dates_outside_years_1_to_9999_are_refused_by_column(tables, sql):
    with pytest.raises(SqlError) as caught:
        run_sql(sql, tables, limits=SMALL)
    assert "when_" in caught.value.message and "9999" in caught.value.message
    assert "::VARCHAR" in caught.value.message


def test_dates_at_the_edges_of_the_range_are_kept(tables):
    sql = "SELECT TIMESTAMP '9999-12-31 23:59:59.999999' AS ts, DATE '0001-01-01' AS d"
    frame = to_frame(run_sql(sql, tables, limits=SMALL).table)
    assert frame["ts"][0].year == 9999 and frame["d"][0].year == 1


def test_to_frame_turns_what_polars_refuses_into_a_message():
    interval = pa.array([pa.MonthDayNano([1, 2, 3])], type=pa.month_day_nano_interval())
    with pytest.raises(SqlError) as caught:
        to_frame(pa.table({"span": interval}))
    assert "span" in caught.value.message and "VARCHAR" in caught.value.message
    assert "ComputeError" not in caught.value.message


def test_to_frame_renames_duplicates_of_a_raw_arrow_table():
    table = pa.Table.from_arrays([pa.array([1]), pa.array([2])], names=["x", "x"])
    assert to_frame(table).columns == ["x", "x_2"]


def test_the_result_cap_is_validated():
    with pytest.raises(ValueError, match="max_result_mb"):
        SandboxLimits(max_result_mb=0)

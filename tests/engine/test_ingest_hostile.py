"""Uploads built to hurt: zip bombs, deep or huge JSON, odd Parquet types, Excel's sep= line → a table or a clear IngestError."""

from __future__ import annotations

import datetime as dt
import decimal
import importlib
import io
import json
import re
import struct
import zipfile

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xlsxwriter

from engine.ingest import MAX_UNPACKED_MB, IngestError, IngestOptions, ingest
from engine.ingest_json import MAX_INTEGER_DIGITS

ingest_module = importlib.import_module("engine.ingest")  # `engine.ingest` the attribute is the function


def _workbook(rows: int = 3) -> bytes:
    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer) as book:
        sheet = book.add_worksheet("Data")
        sheet.write_row(0, 0, ["name", "price"])
        for row in range(1, rows + 1):
            sheet.write_row(row, 0, [f"item {row}", row])
    return buffer.getvalue()


def _declare_size(data: bytes, member: str, size: int) -> bytes:
    """The same zip with ``member``'s uncompressed size in the central directory rewritten to ``size``."""
    raw = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(member)
    entry = 0
    while True:
        entry = raw.find(b"PK\x01\x02", entry)
        assert entry >= 0, f"{member} not found"
        name_length = struct.unpack_from("<H", raw, entry + 28)[0]
        if raw[entry + 46:entry + 46 + name_length].decode() == info.filename:
            break
        entry += 4
    struct.pack_into("<I", raw, entry + 24, size)
    return bytes(raw)


def test_an_xlsx_declaring_3_gib_of_sheet_xml_is_refused_before_parsing():
    bomb = _declare_size(_workbook(), "xl/worksheets/sheet1.xml", 3 * 1024**3)
    assert len(bomb) < 10_000
    with pytest.raises(IngestError) as caught:
        ingest(bomb, "bomb.xlsx")
    message = caught.value.message
    assert f"{MAX_UNPACKED_MB} MB" in message and "unpack" in message and "3,072 MB" in message


def test_an_xlsx_whose_members_really_unpack_past_the_cap_is_refused(monkeypatch):
    # The real thing, made small: a sheet padded with 3 MB of XML whitespace, against a 1 MB cap.
    plain = _workbook()
    padded = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(plain)) as source, zipfile.ZipFile(padded, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            body = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                body = body.replace(b"<sheetData>", b"<sheetData>" + b" " * (3 * 1024 * 1024))
            out.writestr(item.filename, body)
    assert len(padded.getvalue()) < 100_000
    monkeypatch.setattr(ingest_module, "MAX_UNPACKED_MB", 1)
    with pytest.raises(IngestError, match="over the 1 MB"):
        ingest(padded.getvalue(), "padded.xlsx")


def test_an_ordinary_xlsx_is_under_the_cap():
    assert ingest(_workbook(50), "fine.xlsx").row_count == 50


def test_a_parquet_file_whose_rows_unpack_past_the_cap_is_refused(monkeypatch):
    buffer = io.BytesIO()
    pq.write_table(pa.table({"n": pa.array([7] * 300_000, pa.int64())}), buffer)  # RLE: a few kB on disk
    monkeypatch.setattr(ingest_module, "MAX_UNPACKED_MB", 1)
    with pytest.raises(IngestError) as caught:
        ingest(buffer.getvalue(), "rows.parquet")
    assert "Parquet" in caught.value.message and "1 MB" in caught.value.message


@pytest.mark.parametrize(("body", "fragment"), [
    (b"[" * 100_000 + b"]" * 100_000, "too deeply"),
    (b'[{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}]", "too deeply"),
    (b'[{"a": 1' + b"1" * 4_999 + b"}]", "5,000 digits"),
    (b'[{"a": -' + b"9" * 4_500 + b"}]", "4,500 digits"),
])
def test_json_beyond_what_python_parses_is_a_clear_error(body, fragment):
    with pytest.raises(IngestError) as caught:
        ingest(body, "hostile.json")
    assert fragment in caught.value.message
    assert "RecursionError" not in caught.value.message and "ValueError" not in caught.value.message


def test_json_lines_name_the_line_of_a_huge_number():
    body = b'{"a": 1}\n{"a": ' + b"5" * 5_000 + b"}\n"
    with pytest.raises(IngestError) as caught:
        ingest(body, "rows.jsonl")
    assert "line 2" in caught.value.message and caught.value.line == 2


def test_json_numbers_up_to_the_digit_limit_are_kept_as_text():
    big = "9" * MAX_INTEGER_DIGITS
    result = ingest(f'[{{"a": {big}}}]'.encode(), "big.json")
    assert result.table["a"][0] == big


def test_lone_surrogates_become_replacement_characters_with_a_note():
    body = b'[{"name": "x\\ud800y", "k\\udfffey": 1, "nested": ["\\udc00"]}, {"name": "\\ud83d\\ude00"}]'
    result = ingest(body, "surrogates.json")
    assert result.table["name"].to_list() == ["x\ufffdy", "\U0001f600"]
    assert result.table["nested"][0] == "\ufffd"  # arrays are joined by default
    assert any("\\ud800" in note and "3 value" in note for note in result.warnings)


@pytest.mark.parametrize(("body", "delimiter", "first"), [
    (b"sep=;\nname;price\nA;1,5\n", ";", ("A", 1.5)),
    (b"SEP=,\r\nname,price\r\nA,2\r\n", ",", ("A", 2)),
    (b'"sep=|"\nname|price\nA|3\n', "|", ("A", 3)),
    (b"\xef\xbb\xbfsep=;\nname;price\nA;4\n", ";", ("A", 4)),
    (b"\nsep=\t\nname\tprice\nA\t5\n", "\t", ("A", 5)),
])
def test_excels_sep_line_sets_the_delimiter_and_is_not_the_header(body, delimiter, first):
    result = ingest(body, "excel.csv")
    assert result.delimiter == delimiter
    assert result.table.columns == ["name", "price"]
    assert result.table.row(0) == first


def test_a_file_with_only_a_sep_line_says_so():
    with pytest.raises(IngestError, match="sep="):
        ingest(b"sep=;\n", "empty.csv")


def _parquet(**columns: pa.Array) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.table(columns), buffer)
    return buffer.getvalue()


def test_parquet_lists_structs_and_maps_are_stored_as_json_text_when_asked():
    data = _parquet(
        tags=pa.array([[1, 2], [3]], pa.list_(pa.int64())),
        place=pa.array([{"city": "Oslo", "n": 1}, {"city": None, "n": 2}]),
        pairs=pa.array([[("k", 1)], []], pa.map_(pa.string(), pa.int64())),
        days=pa.array([[dt.date(2020, 1, 2)], None], pa.list_(pa.date32())),
    )
    result = ingest(data, "nested.parquet", options=IngestOptions(flatten_depth=1, arrays="json"))
    table = result.table
    assert [json.loads(v) for v in table["tags"]] == [[1, 2], [3]]
    assert json.loads(table["place"][1]) == {"city": None, "n": 2}
    assert json.loads(table["pairs"][0]) in ({"k": 1}, [{"key": "k", "value": 1}])
    assert json.loads(table["days"][0]) == ["2020-01-02"] and table["days"][1] is None
    assert all("Series" not in (v or "") for v in table["tags"].to_list())
    assert any("JSON" in note for note in result.warnings)


def test_parquet_durations_become_exact_seconds():
    data = _parquet(wait=pa.array([dt.timedelta(days=1, hours=2, seconds=3), dt.timedelta(microseconds=5),
                                   dt.timedelta(microseconds=-5), None], pa.duration("us")))
    result = ingest(data, "durations.parquet")
    assert result.columns[0].kind == "decimal"
    assert result.table["wait"].to_list() == [93_603.0, 5e-06, -5e-06, None]


@pytest.mark.parametrize(("values", "dtype", "kind", "expected"), [
    (["123456789012345678901234567890.12", "0.10"], pa.decimal128(38, 2), "text",
     ["123456789012345678901234567890.12", "0.10"]),
    (["12", "99999999999999999999999999999999999999"], pa.decimal128(38, 0), "text",
     ["12", "99999999999999999999999999999999999999"]),
    (["12", "-7"], pa.decimal128(38, 0), "integer", [12, -7]),
    (["1.25", "0.10"], pa.decimal128(10, 2), "decimal", [1.25, 0.1]),
])
def test_parquet_decimals_stay_exact(values, dtype, kind, expected):
    data = _parquet(amount=pa.array([decimal.Decimal(v) for v in values], dtype))
    result = ingest(data, "decimals.parquet")
    assert result.columns[0].kind == kind
    assert result.table["amount"].to_list() == expected


def test_parquet_binary_that_is_not_text_is_spelled_in_hex():
    result = ingest(_parquet(raw=pa.array([b"\x05\xfd", b"ok"])), "binary.parquet")
    assert result.table["raw"].to_list() == ["0x05fd", "0x6f6b"]


@pytest.mark.parametrize("column", [
    pa.array([2**63 - 1], pa.timestamp("us")),  # DuckDB's 'infinity'
    pa.array([-(2**63) + 1], pa.timestamp("us")),
    pa.array([2**31 - 1], pa.date32()),
    pa.array([300_000 * 365 * 86_400], pa.timestamp("s")),  # the year 300,000
])
def test_parquet_dates_outside_years_1_to_9999_are_refused_by_column(column):
    with pytest.raises(IngestError) as caught:
        ingest(_parquet(when=column), "dates.parquet")
    assert "'when'" in caught.value.message and "9999" in caught.value.message


def test_parquet_dates_at_the_edges_are_kept():
    data = _parquet(when=pa.array([dt.datetime(9999, 12, 31, 23, 59, 59), dt.datetime(1, 1, 1)], pa.timestamp("us")))
    assert ingest(data, "edges.parquet").table["when"].to_list()[0].year == 9999


def test_a_polars_frame_round_trips_through_parquet_unchanged():
    frame = pl.DataFrame({"name": ["a", "b"], "n": [1, 2], "x": [0.5, None]})
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    assert ingest(buffer.getvalue(), "round.parquet").table.equals(frame)


@pytest.mark.parametrize(("data", "filename"), [
    (b'[{"na\\u0000me": "x\\u0000y"}, {"na\\u0000me": "z"}]', "nul.json"),
    (_parquet(**{"na\x00me": pa.array(["x\x00y", "z"])}), "nul.parquet"),
])
def test_nul_characters_are_taken_out_of_text_with_a_note(data, filename):
    result = ingest(data, filename)
    assert result.table.columns == ["name"] and result.columns[0].original_name == "name"
    assert result.table["name"].to_list() == ["xy", "z"]
    assert any("NUL" in note and "1 value" in note for note in result.warnings)


def test_a_parquet_dictionary_bomb_is_refused_before_it_is_decoded():
    # One 10 kB value repeated 200,000 times: a few kB on disk, 2 GB once decoded.
    column = pa.DictionaryArray.from_arrays(pa.array([0] * 200_000, pa.int32()), pa.array(["v" * 10_000]))
    buffer = io.BytesIO()
    pq.write_table(pa.table({"text": column}), buffer, store_schema=False)  # readers would decode it
    assert len(buffer.getvalue()) < 100_000
    with pytest.raises(IngestError) as caught:
        ingest(buffer.getvalue(), "dictionary.parquet")
    assert "Parquet" in caught.value.message and f"{MAX_UNPACKED_MB} MB" in caught.value.message
    assert re.search(r"unpack to 1,9\d\d MB", caught.value.message)


def test_dictionary_encoded_parquet_text_under_the_cap_is_read_as_text():
    column = pa.DictionaryArray.from_arrays(pa.array([0, 1, 0], pa.int32()), pa.array(["red", "blue"]))
    result = ingest(_parquet(colour=column, n=pa.array([1, 2, 3])), "small.parquet")
    assert result.table["colour"].to_list() == ["red", "blue", "red"] and result.columns[0].kind == "text"


def _shared_string_bomb(cells: int, length: int) -> bytes:
    """A workbook whose ``cells`` cells all point at one shared string of ``length`` characters."""
    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer) as book:
        sheet = book.add_worksheet("Data")
        sheet.write(0, 0, "text")
        for row in range(1, cells + 1):
            sheet.write_string(row, 0, "QQQ")
    bomb = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            body = source.read(item.filename)
            if item.filename == "xl/sharedStrings.xml":
                body = body.replace(b"QQQ", b"v" * length)
            out.writestr(item.filename, body)
    return bomb.getvalue()


def test_an_xlsx_whose_shared_strings_multiply_past_the_cap_is_refused(monkeypatch):
    # Every declared size is small; 3,000 cells × 1,000 characters = 3 MB of text against a 1 MB cap.
    bomb = _shared_string_bomb(3_000, 1_000)
    with zipfile.ZipFile(io.BytesIO(bomb)) as archive:
        assert sum(member.file_size for member in archive.infolist()) < 1024 * 1024
    monkeypatch.setattr(ingest_module, "MAX_UNPACKED_MB", 1)
    with pytest.raises(IngestError) as caught:
        ingest(bomb, "strings.xlsx")
    assert "Excel" in caught.value.message and "3 MB, over the 1 MB" in caught.value.message


def test_shared_string_references_are_counted_across_chunk_boundaries(monkeypatch):
    xlsx_module = importlib.import_module("engine.ingest_xlsx")
    bomb = _shared_string_bomb(500, 10)
    with zipfile.ZipFile(io.BytesIO(bomb)) as archive:
        whole = xlsx_module.decoded_text_size(archive)
        monkeypatch.setattr(xlsx_module, "_CHUNK", 37)  # cuts cells in two all along the sheet
        chunked = xlsx_module.decoded_text_size(archive)
    assert whole == chunked >= 500 * 10


@pytest.mark.parametrize("column", [
    pa.array([[2**63 - 1]], pa.list_(pa.timestamp("us"))),
    pa.array([{"when": 2**31 - 1}], pa.struct([("when", pa.date32())])),
])
def test_nested_dates_outside_years_1_to_9999_are_refused_by_column(column):
    with pytest.raises(IngestError) as caught:
        ingest(_parquet(nested=column), "nested_dates.parquet")
    assert "'nested" in caught.value.message and "9999" in caught.value.message

"""Ingest: tables of good files (→ kinds, encoding, delimiter) and bad files (→ the message a user sees)."""

from __future__ import annotations

import codecs
import datetime as dt
import io
import random
from collections.abc import Callable

import polars as pl
import pytest

from engine.errors import EngineError
from engine.ingest import (
    MAX_COLUMNS,
    SUPPORTED_EXTENSIONS,
    ColumnProfile,
    IngestError,
    IngestResult,
    NeedsSheetChoice,
    ingest,
)
from tests.sample_data import products_csv, reddit_threads_csv

# ---------------------------------------------------------------------------------------------
# Good files


def shared(name: str) -> bytes:
    """A sample file, built from the repo (tests/sample_data.py: the same bytes as ../shared/data)."""
    return {"products_2k.csv": products_csv, "reddit_threads_sample.csv": reddit_threads_csv}[name]()


PRODUCTS_KINDS = {
    "id": "integer", "product_name": "text", "brand": "text", "category": "text", "price": "decimal",
    "city": "text", "description": "text", "rating": "decimal", "stock": "integer", "seller": "text",
    "url": "url", "created_at": "date",
}
REDDIT_KINDS = {
    "product_name": "text", "category": "text", "price": "decimal", "sale_price": "decimal",
    "city": "text", "subreddit": "text", "flair": "text", "url": "url", "highlight": "text",
    "in_stock": "boolean",
}

HEADER = ["Product Name", "Price (USD)", "Stock", "In Stock", "Launch", "Updated At", "Website",
          "Contact", "Zip", "City"]
ROWS = [
    ["Trail Runner", "89.90", "12", "yes", "2024-01-08", "2024-01-08T09:30:00", "https://shop.example.com/a",
     "sales@example.com", "00123", "Zürich"],
    ["Smith, John's Tent", "120", "", "No", "2024-02-29", "2024-02-29 18:05:59", "http://example.org/b?x=1",
     "ops@example.co.uk", "04567", "São Paulo"],
    ["Line one\nline two", "-3.5", "0", "Y", "", "2024-03-01T00:00", "https://example.net",
     "a.b@example.com", "10001", "Kraków"],
]
BASE_KINDS = {
    "product_name": "text", "price_usd": "decimal", "stock": "integer", "in_stock": "boolean",
    "launch": "date", "updated_at": "datetime", "website": "url", "contact": "email", "zip": "text",
    "city": "text",
}


def delimited(delimiter: str = ",", newline: str = "\n", *, trailing: bool = True) -> str:
    """The sample table as delimited text, quoting only where needed."""
    def cell(value: str) -> str:
        if any(ch in value for ch in (delimiter, '"', "\n")):
            return '"' + value.replace('"', '""') + '"'
        return value
    lines = [delimiter.join(cell(v) for v in row) for row in [HEADER, *ROWS]]
    return newline.join(lines) + (newline if trailing else "")


GOOD_FILES: list[tuple[str, Callable[[], bytes], str, dict[str, str], str | None, str | None, int]] = [
    # id, bytes, filename, kinds, encoding, delimiter, rows
    ("products_2k", lambda: shared("products_2k.csv"), "products_2k.csv", PRODUCTS_KINDS, "utf-8", ",", 2000),
    ("reddit_sample", lambda: shared("reddit_threads_sample.csv"), "threads.csv", REDDIT_KINDS, "utf-8", ",", 60),
    ("products_as_tsv", lambda: shared("products_2k.csv").replace(b",", b"\t"), "p.tsv", PRODUCTS_KINDS,
     "utf-8", "\t", 2000),
    ("utf8", lambda: delimited().encode(), "a.csv", BASE_KINDS, "utf-8", ",", 3),
    ("utf8_bom", lambda: codecs.BOM_UTF8 + delimited().encode(), "a.csv", BASE_KINDS, "utf-8-sig", ",", 3),
    ("utf16_le_bom", lambda: delimited().encode("utf-16"), "a.csv", BASE_KINDS, "utf-16-le", ",", 3),
    ("utf16_be_bom", lambda: codecs.BOM_UTF16_BE + delimited().encode("utf-16-be"), "a.csv", BASE_KINDS,
     "utf-16-be", ",", 3),
    ("utf16_le_no_bom", lambda: delimited().encode("utf-16-le"), "a.csv", BASE_KINDS, "utf-16-le", ",", 3),
    ("cp1252", lambda: delimited(";").replace("Kraków", "Krakow – €").encode("cp1252"), "a.csv",
     BASE_KINDS, "cp1252", ";", 3),
    ("latin1", lambda: delimited().replace("Kraków", "Krakow\x81").encode("latin-1"), "a.csv", BASE_KINDS,
     "latin-1", ",", 3),
    ("semicolon", lambda: delimited(";").encode(), "a.csv", BASE_KINDS, "utf-8", ";", 3),
    ("tab_in_csv", lambda: delimited("\t").encode(), "a.csv", BASE_KINDS, "utf-8", "\t", 3),
    ("tab_tsv", lambda: delimited("\t").encode(), "a.tsv", BASE_KINDS, "utf-8", "\t", 3),
    ("pipe_txt", lambda: delimited("|").encode(), "a.txt", BASE_KINDS, "utf-8", "|", 3),
    ("crlf", lambda: delimited(newline="\r\n").encode(), "a.csv", BASE_KINDS, "utf-8", ",", 3),
    ("cr_only", lambda: delimited(newline="\r").encode(), "a.csv", BASE_KINDS, "utf-8", ",", 3),
    ("no_final_newline", lambda: delimited(trailing=False).encode(), "a.csv", BASE_KINDS, "utf-8", ",", 3),
    ("leading_and_inner_blank_lines", lambda: ("\n\n" + delimited().replace('\n"Smith', '\n\n"Smith')
                                               + "\n\n").encode(), "a.csv", BASE_KINDS, "utf-8", ",", 3),
    ("upper_case_extension", lambda: delimited().encode(), "EXPORT.CSV", BASE_KINDS, "utf-8", ",", 3),
]


@pytest.mark.parametrize(("data", "filename", "kinds", "encoding", "delimiter", "rows"),
                         [pytest.param(*case[1:], id=case[0]) for case in GOOD_FILES])
def test_good_files(data: Callable[[], bytes], filename: str, kinds: dict[str, str], encoding: str | None,
                    delimiter: str | None, rows: int) -> None:
    result = ingest(data(), filename)
    assert {c.name: c.kind for c in result.columns} == kinds
    assert result.table.columns == list(kinds)
    assert (result.encoding, result.delimiter, result.row_count, result.table.height) == (
        encoding, delimiter, rows, rows)
    for profile in result.columns:
        assert profile.null_count == result.table[profile.name].null_count()
        assert 0 < len(profile.examples) <= 3 or profile.null_count == rows
        assert len(set(profile.examples)) == len(profile.examples)


def test_generated_variants_agree_cell_for_cell() -> None:
    reference = ingest(delimited().encode(), "a.csv").table
    assert reference.row(0, named=True) == {
        "product_name": "Trail Runner", "price_usd": 89.9, "stock": 12, "in_stock": True,
        "launch": dt.date(2024, 1, 8), "updated_at": dt.datetime(2024, 1, 8, 9, 30), "website":
        "https://shop.example.com/a", "contact": "sales@example.com", "zip": "00123", "city": "Zürich"}
    assert reference["product_name"].to_list() == ["Trail Runner", "Smith, John's Tent", "Line one\nline two"]
    assert reference["stock"].to_list() == [12, None, 0]
    assert reference["launch"].to_list() == [dt.date(2024, 1, 8), dt.date(2024, 2, 29), None]
    for data, name in [(delimited().encode("utf-16"), "a.csv"), (delimited("\t").encode(), "a.tsv"),
                       (delimited("|", "\r\n").encode(), "a.txt"), (codecs.BOM_UTF8 + delimited(";").encode(), "a.csv")]:
        assert ingest(data, name).table.equals(reference)


def test_invalid_utf8_after_the_sniffed_sample_falls_back_to_cp1252() -> None:
    body = "name,city\n" + "plain,ascii\n" * 10_000 + "late,Zürich – ok\n"
    result = ingest(body.encode("cp1252"), "late.csv")
    assert result.encoding == "cp1252"
    assert result.table["city"][-1] == "Zürich – ok"
    assert result.row_count == 10_001


def test_whitespace_lines_before_the_header_are_skipped_and_counted() -> None:
    with pytest.raises(IngestError, match="Line 5 has 1 field") as caught:
        ingest(b"  \n\t\na,b\n1,2\n3\n", "a.csv")
    assert caught.value.line == 5
    result = ingest(b"  \n\t\na,b\n1,2\n", "a.csv")
    assert [c.name for c in result.columns] == ["a", "b"]


def test_plain_text_without_delimiters_is_one_column() -> None:
    result = ingest(b"Keyword\nbest running shoes\ncheap tents; near me\n", "keywords.txt")
    assert [(c.name, c.kind) for c in result.columns] == [("keyword", "text")]
    assert result.table["keyword"].to_list() == ["best running shoes", "cheap tents; near me"]


def test_profiles_keep_original_names_and_show_examples() -> None:
    result = ingest(delimited().encode(), "a.csv")
    assert [c.original_name for c in result.columns] == HEADER
    by_name = {c.name: c for c in result.columns}
    assert by_name["stock"] == ColumnProfile("stock", "Stock", "integer", 1, ("12", "0"))
    assert by_name["launch"].examples == ("2024-01-08", "2024-02-29")
    assert by_name["updated_at"].examples[0] == "2024-01-08 09:30:00"
    assert by_name["in_stock"].examples == ("true", "false")
    assert isinstance(result, IngestResult)
    assert any("zip" in warning and "leading zeros" in warning for warning in result.warnings)


def test_script_cells_are_plain_text() -> None:
    payload = '<script>alert("x")</script>'
    csv_bytes = f'name,html\nA,"{payload.replace(chr(34), chr(34) * 2)}"\n'.encode()
    result = ingest(csv_bytes, "x.csv")
    assert result.table["html"].to_list() == [payload]
    assert result.columns[1].kind == "text"
    assert result.columns[1].examples == (payload,)


# ---------------------------------------------------------------------------------------------
# Type inference, one column at a time

KIND_CASES = [
    # id, cells, kind, typed values (None = not checked)
    ("integers", ["1", "-2", "+3", "0"], "integer", [1, -2, 3, 0]),
    ("integers_with_blanks", ["1", "", "  ", "4"], "integer", [1, None, None, 4]),
    ("zero_one_stays_integer", ["0", "1", "1", "0"], "integer", [0, 1, 1, 0]),
    ("padded_integers", [" 7 ", "8"], "integer", [7, 8]),
    ("leading_zero_codes", ["00123", "04567", "10001"], "text", ["00123", "04567", "10001"]),
    ("beyond_int64", ["9223372036854775807", "9223372036854775808"], "text", None),
    ("int64_max", ["9223372036854775807", "-9223372036854775808"], "integer",
     [9223372036854775807, -9223372036854775808]),
    ("decimals", ["1.5", "-0.25", ".5", "3"], "decimal", [1.5, -0.25, 0.5, 3.0]),
    ("scientific", ["1e3", "2.5E-2"], "decimal", [1000.0, 0.025]),
    ("thousands_with_decimals", ["1,234.50", "999", "12,000.00"], "decimal", [1234.5, 999.0, 12000.0]),
    ("thousands_comma_is_a_separator", ["1,234", "5,678"], "integer", [1234, 5678]),
    ("european_decimal_proven_by_the_column", ["1.234,50", "2,5"], "decimal", [1234.5, 2.5]),
    ("bad_grouping", ["1,23.5", "4.0"], "text", None),
    ("overflowing_float", ["1e999", "1"], "text", None),
    ("nan_is_text", ["nan", "1.5"], "text", None),
    ("booleans", ["true", "FALSE", "Yes", "no", "y", "N"], "boolean", [True, False, True, False, True, False]),
    ("booleans_with_blank", ["true", "", "false"], "boolean", [True, None, False]),
    ("t_f_are_text", ["t", "f"], "text", None),
    ("iso_dates", ["2024-01-08", "1999-12-31"], "date", [dt.date(2024, 1, 8), dt.date(1999, 12, 31)]),
    ("slash_iso_dates", ["2024/1/8", "2024/12/31"], "date", [dt.date(2024, 1, 8), dt.date(2024, 12, 31)]),
    ("dotted_dates", ["8.1.2024", "31.12.2024"], "date", [dt.date(2024, 1, 8), dt.date(2024, 12, 31)]),
    ("day_first_proven", ["13/01/2024", "02/03/2024"], "date", [dt.date(2024, 1, 13), dt.date(2024, 3, 2)]),
    ("month_first_proven", ["01/13/2024", "02/03/2024"], "date", [dt.date(2024, 1, 13), dt.date(2024, 2, 3)]),
    ("dashed_day_first", ["31-12-2024", "01-02-2024"], "date", [dt.date(2024, 12, 31), dt.date(2024, 2, 1)]),
    ("same_day_and_month", ["01/01/2024", "05/05/2024"], "date", [dt.date(2024, 1, 1), dt.date(2024, 5, 5)]),
    ("ambiguous_day_month", ["01/02/2024", "03/04/2024"], "text", ["01/02/2024", "03/04/2024"]),
    ("impossible_date", ["2024-02-30", "2024-01-01"], "text", None),
    ("mixed_date_formats", ["2024-01-08", "08/01/2024"], "text", None),
    ("datetimes", ["2024-01-08T09:30:00", "2024-01-08 10:00", "2024-01-08T10:00:00.250"], "datetime",
     [dt.datetime(2024, 1, 8, 9, 30), dt.datetime(2024, 1, 8, 10), dt.datetime(2024, 1, 8, 10, 0, 0, 250000)]),
    ("datetimes_with_offsets", ["2024-01-08T09:30:00Z", "2024-01-08T09:30:00+02:00", "2024-01-08 09:30 -0500"],
     "datetime", [dt.datetime(2024, 1, 8, 9, 30, tzinfo=dt.UTC), dt.datetime(2024, 1, 8, 7, 30, tzinfo=dt.UTC),
                  dt.datetime(2024, 1, 8, 14, 30, tzinfo=dt.UTC)]),
    ("naive_and_offset_mixed", ["2024-01-08T09:30:00Z", "2024-01-08T09:30:00"], "text", None),
    ("impossible_time", ["2024-01-08T25:00:00"], "text", None),
    ("urls", ["https://example.com", "http://localhost:8000/x?y=1#z", "HTTPS://EXAMPLE.COM/A"], "url", None),
    ("url_with_text", ["https://example.com", "see https://example.com"], "text", None),
    ("ftp_is_text", ["ftp://example.com/file"], "text", None),
    ("emails", ["a@example.com", "first.last+tag@sub.example.co.uk"], "email", None),
    ("not_emails", ["a@example", "a@example.com"], "text", None),
    ("other_script_digits", ["١٢٣", "12"], "text", ["١٢٣", "12"]),
    ("mixed_number_and_word", ["1", "two"], "text", ["1", "two"]),
    ("all_blank", ["", " "], "text", [None, None]),
    ("text_keeps_spaces", [" padded ", "x"], "text", [" padded ", "x"]),
]


@pytest.mark.parametrize(("cells", "kind", "expected"), [pytest.param(*c[1:], id=c[0]) for c in KIND_CASES])
def test_column_kinds(cells: list[str], kind: str, expected: list[object] | None) -> None:
    body = "id,value\n" + "".join(f'{i},"{cell}"\n' for i, cell in enumerate(cells))
    result = ingest(body.encode(), "kinds.csv")
    profile = result.columns[1]
    assert profile.kind == kind
    if expected is not None:
        assert result.table["value"].to_list() == expected


@pytest.mark.parametrize(("cells", "kind"), [
    (["1,5", "2,25", "3"], "decimal"),
    (["1,234", "5"], "decimal"),
    (["1.5", "2"], "decimal"),
    (["1.234,5"], "decimal"),
])
def test_semicolon_files_read_a_comma_as_the_decimal_mark(cells: list[str], kind: str) -> None:
    body = "id;value\n" + "".join(f"{i};{cell}\n" for i, cell in enumerate(cells))
    result = ingest(body.encode(), "eu.csv")
    assert result.columns[1].kind == kind


def test_inference_is_over_the_whole_column_not_a_sample() -> None:
    cells = ["1"] * 5000 + ["x"]
    body = "value\n" + "\n".join(cells) + "\n"
    assert ingest(body.encode(), "a.csv").columns[0].kind == "text"


def test_examples_are_distinct_and_shortened() -> None:
    long = "word " * 100
    body = "value\n" + "a\na\nb\n" + f'"{long}"\nc\n'
    examples = ingest(body.encode(), "a.csv").columns[0].examples
    assert examples[:2] == ("a", "b")
    assert len(examples[2]) == 100 and examples[2].endswith("…")


# ---------------------------------------------------------------------------------------------
# Bad files: each one a clear message, nothing returned

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" + bytes(range(256))
GARBAGE = bytes((i * 7919 + 13) % 256 for i in range(4096))
WIDE = ",".join(f"c{i}" for i in range(MAX_COLUMNS + 1)) + "\n" + ",".join("1" * (MAX_COLUMNS + 1)) + "\n"

BAD_FILES = [
    # id, bytes, filename, kwargs, message fragments (lower-case), attributes
    ("zero_bytes", b"", "a.csv", {}, ["empty", "0 bytes"], {}),
    ("only_whitespace", b"  \n\t\r\n  ", "a.csv", {}, ["empty", "only whitespace"], {}),
    ("only_whitespace_utf16", " \n \n".encode("utf-16"), "a.csv", {}, ["only whitespace"], {}),
    ("header_only", b"a,b,c\n", "a.csv", {}, ["header row but no data rows"], {}),
    ("header_and_blank_rows", b"a,b,c\n\n,,\n  ,, \n", "a.csv", {}, ["no data rows"], {}),
    ("png_named_csv", PNG, "photo.csv", {}, ["does not look like a csv file", "binary data", "png"], {}),
    ("garbage_named_tsv", GARBAGE, "x.tsv", {}, ["does not look like a tsv file", "binary data"], {}),
    ("xlsx_named_csv", b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(100), "x.csv", {}, ["excel"], {}),
    ("garbage_named_json", GARBAGE, "x.json", {}, ["does not look like a json file", "binary"], {}),
    ("pdf", b"%PDF-1.7", "report.pdf", {}, [".pdf", "not a supported file type", ".csv", ".xlsx"], {}),
    ("exe", b"MZ\x90\x00", "setup.exe", {}, [".exe", "not a supported"], {}),
    ("no_extension", b"a,b\n1,2\n", "README", {}, ["no extension", ".parquet"], {}),
    ("ragged_short", b"a,b,c\n1,2,3\n4,5,6\n7,8,9\n1,2\n", "a.csv", {},
     ["line 5 has 2 fields, the header has 3"], {"line": 5}),
    ("ragged_long", b"a,b,c\n1,2,3\n4,5,6\n7,8,9\n1,2,3,4\n", "a.csv", {},
     ["line 5 has 4 fields, the header has 3"], {"line": 5}),
    ("ragged_after_multiline_cell", b'a,b,c\n1,"x\ny\nz",3\n4,5\n', "a.csv", {},
     ["line 5 has 2 fields, the header has 3"], {"line": 5}),
    ("ragged_after_blank_lines", b"\n\na;b\n\n1;2\n3\n", "a.csv", {},
     ["line 6 has 1 field, the header has 2", "semicolon"], {"line": 6}),
    ("ragged_crlf", b"a,b\r\n1,2\r\n3,4,5\r\n", "a.csv", {}, ["line 3 has 3 fields"], {"line": 3}),
    ("ragged_utf16", "a,b\n1,2\n3\n".encode("utf-16"), "a.csv", {}, ["line 3 has 1 field,"], {"line": 3}),
    ("unclosed_quote", b'a,b\n1,2\n3,"four\n5,6\n', "a.csv", {}, ["line 3", "never closed"], {"line": 3}),
    ("stray_quote", b'a,b\n1,"x"y\n', "a.csv", {}, ["line 2", "quote"], {"line": 2}),
    ("too_many_columns", WIDE.encode(), "wide.csv", {}, ["501 columns", "at most 500"], {}),
    ("over_size_limit", b"a,b\n" + b"1,2\n" * 400_000, "big.csv", {"max_bytes": 1024 * 1024},
     ["1.5 mb", "1.0 mb limit"], {"field": "file"}),
    ("just_over_size_limit", b"x" * (1024 * 1024 + 1), "big.csv", {"max_bytes": 1024 * 1024},
     ["1.000", "mb", "limit"], {}),
    ("size_limit_checked_first", PNG, "photo.csv", {"max_bytes": 10}, ["over the", "limit"], {}),
    ("json_syntax", b'[{"a": 1},\n {"a": 2,}]', "a.json", {}, ["line 2, column 10"], {"line": 2, "column": 10}),
    ("json_truncated", b'[{"a": 1}, {"a": ', "a.json", {}, ["could not be read", "line 1"], {"line": 1}),
    ("ndjson_bad_line", b'{"a": 1}\n{"a": 2}\n{"a": 3\n', "a.json", {}, ["line 3, column 8"],
     {"line": 3, "column": 8}),
    ("ndjson_not_object", b'{"a": 1}\n[1, 2]\n', "a.jsonl", {}, ["line 2 holds a list"], {"line": 2}),
    ("json_single_object", b'{"a": 1, "b": 2}', "a.json", {}, ["single object", "array of objects"], {}),
    ("json_scalar", b"42", "a.json", {}, ["holds a number", "array of objects"], {}),
    ("json_array_of_numbers", b"[1, 2, 3]", "a.json", {}, ["item 1", "is a number, not an object"], {"row": 1}),
    ("json_mixed_array", b'[{"a": 1}, "x"]', "a.json", {}, ["item 2", "string"], {"row": 2}),
    ("json_empty_array", b"[]", "a.json", {}, ["empty", "no rows"], {}),
    ("json_objects_without_keys", b"[{}, {}]", "a.json", {}, ["no columns"], {}),
    ("json_whitespace", b"  \n ", "a.json", {}, ["only whitespace"], {}),
    ("parquet_not_parquet", b"a,b\n1,2\n", "a.parquet", {}, ["does not look like a parquet file"], {}),
    ("parquet_markers_only", b"PAR1" + bytes(64) + b"PAR1", "a.parquet", {}, ["corrupt or unreadable"], {}),
    ("xlsx_not_zip", b"hello", "a.xlsx", {}, ["does not look like an excel"], {}),
    ("xlsx_old_xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "a.xlsx", {}, [".xls", "save it"], {}),
    ("xlsx_damaged_zip", b"PK\x03\x04" + bytes(100), "a.xlsx", {}, ["damaged"], {}),
    ("xlsx_zero_bytes", b"", "a.xlsx", {}, ["empty"], {}),
]


@pytest.mark.parametrize(("data", "filename", "kwargs", "fragments", "attributes"),
                         [pytest.param(*c[1:], id=c[0]) for c in BAD_FILES])
def test_bad_files(data: bytes, filename: str, kwargs: dict[str, int], fragments: list[str],
                   attributes: dict[str, object]) -> None:
    with pytest.raises(IngestError) as caught:
        ingest(data, filename, **kwargs)  # type: ignore[arg-type]
    message = caught.value.message.lower()
    for fragment in fragments:
        assert fragment in message, message
    for name, value in attributes.items():
        assert getattr(caught.value, name) == value
    assert "traceback" not in message and "polars" not in message


def test_errors_are_engine_errors() -> None:
    assert issubclass(IngestError, EngineError)
    assert issubclass(NeedsSheetChoice, IngestError)
    assert SUPPORTED_EXTENSIONS[:6] == (".csv", ".tsv", ".txt", ".xlsx", ".json", ".jsonl")


@pytest.mark.parametrize("seed", range(20))
def test_random_bytes_never_leak_a_library_error(seed: int) -> None:
    data = random.Random(seed).randbytes(64 + seed * 200)
    for name in ("x.csv", "x.json", "x.xlsx", "x.parquet", "x.txt"):
        with pytest.raises(IngestError):
            ingest(data, name)


# ---------------------------------------------------------------------------------------------
# Size (speed is measured in bench/, not here)

def test_a_large_csv_keeps_kinds_and_multiline_cells() -> None:
    rows = 200_000
    frame = pl.DataFrame({
        "id": range(rows), "price": [f"{i % 1000}.{i % 100:02d}" for i in range(rows)],
        "when": ["2024-01-08"] * rows, "flag": ["yes", "no"] * (rows // 2),
        "note": [f"item, {i}" if i % 3 else f"multi\nline {i}" for i in range(rows)],
    })
    buffer = io.BytesIO()
    frame.write_csv(buffer)
    result = ingest(buffer.getvalue(), "big.csv")
    assert [c.kind for c in result.columns] == ["integer", "decimal", "date", "boolean", "text"]
    assert result.row_count == rows
    assert result.table["note"][3] == "multi\nline 3"

"""Ingest of JSON, Excel and Parquet files: kinds, sheets, and the message a user sees for a bad file."""

from __future__ import annotations

import codecs
import datetime as dt
import io
import json

import polars as pl
import pytest
import xlsxwriter
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.ingest import IngestError, IngestOptions, NeedsSheetChoice, ingest, list_sheets
from tests.engine.test_ingest import delimited

# ---------------------------------------------------------------------------------------------
# JSON

def test_json_array_of_objects() -> None:
    records = [{"Name": "A", "Price": 1.5, "Tags": ["x", "y"], "Active": True},
               {"Name": "B", "Price": 2, "Extra": None, "Active": False, "Meta": {"k": "ü"}}]
    result = ingest(json.dumps(records).encode(), "a.json")
    assert {c.name: c.kind for c in result.columns} == {
        "name": "text", "price": "decimal", "tags": "text", "active": "boolean", "extra": "text", "meta.k": "text"}
    assert result.table.row(1, named=True) == {
        "name": "B", "price": 2.0, "tags": None, "active": False, "extra": None, "meta.k": "ü"}
    assert result.table["tags"][0] == "x, y"
    assert (result.encoding, result.delimiter) == ("utf-8", None)


@pytest.mark.parametrize("filename", ["a.json", "a.jsonl", "a.ndjson"])
def test_ndjson(filename: str) -> None:
    body = b'{"id": 1, "email": "a@example.com"}\n\n{"id": 2, "email": "b@example.com", "big": 99999999999999999999}\n'
    result = ingest(body, filename)
    assert {c.name: c.kind for c in result.columns} == {"id": "integer", "email": "email", "big": "text"}
    assert result.row_count == 2


def test_json_with_bom_and_utf16() -> None:
    body = json.dumps([{"city": "Zürich"}], ensure_ascii=False)
    for data, encoding in [(codecs.BOM_UTF8 + body.encode(), "utf-8-sig"), (body.encode("utf-16"), "utf-16-le")]:
        result = ingest(data, "a.json")
        assert (result.table["city"].to_list(), result.encoding) == (["Zürich"], encoding)


def test_single_json_object_is_one_row_in_a_jsonl_file() -> None:
    assert ingest(b'{"a": 1}', "a.jsonl").row_count == 1


# ---------------------------------------------------------------------------------------------
# Excel

def workbook(sheets: dict[str, pl.DataFrame | None]) -> bytes:
    """An .xlsx with the given sheets (None = a blank sheet)."""
    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer) as book:
        for name, frame in sheets.items():
            if frame is None:
                book.add_worksheet(name)
            else:
                frame.write_excel(book, worksheet=name)
    return buffer.getvalue()


PRODUCTS = pl.DataFrame({
    "Product Name": ["Tent", "Lamp", "<script>x</script>"], "Price": [99.5, 20.0, 3.25], "Stock": [1, None, 3],
    "Launch": [dt.date(2024, 1, 2), dt.date(2024, 3, 4), None],
    "Seen": [dt.datetime(2024, 1, 2, 3, 4, 5), None, dt.datetime(2024, 1, 1, 12)],
    "Active": [True, False, None], "Zip": ["00123", "04567", "10001"],
})
PRODUCT_KINDS = {"product_name": "text", "price": "decimal", "stock": "integer", "launch": "date",
                 "seen": "datetime", "active": "boolean", "zip": "text"}


def test_xlsx_with_two_sheets_asks_which_one() -> None:
    data = workbook({"Products": PRODUCTS, "Cities": pl.DataFrame({"City": ["Zürich", "Kraków"]})})
    assert list_sheets(data) == ["Products", "Cities"]
    with pytest.raises(NeedsSheetChoice) as caught:
        ingest(data, "book.xlsx")
    assert caught.value.sheets == ["Products", "Cities"]
    assert "Products" in caught.value.message and "Cities" in caught.value.message
    result = ingest(data, "book.xlsx", sheet="Products")
    assert {c.name: c.kind for c in result.columns} == PRODUCT_KINDS
    assert result.table.row(0, named=True) == {
        "product_name": "Tent", "price": 99.5, "stock": 1, "launch": dt.date(2024, 1, 2),
        "seen": dt.datetime(2024, 1, 2, 3, 4, 5), "active": True, "zip": "00123"}
    assert result.table["product_name"][2] == "<script>x</script>"
    assert (result.encoding, result.delimiter) == (None, None)
    assert ingest(data, "book.xlsx", sheet="Cities").table["city"].to_list() == ["Zürich", "Kraków"]


def test_xlsx_unknown_sheet_lists_the_sheets() -> None:
    data = workbook({"One": PRODUCTS, "Two": PRODUCTS})
    with pytest.raises(IngestError, match="no sheet named 'Three'.*'One', 'Two'") as caught:
        ingest(data, "book.xlsx", sheet="Three")
    assert caught.value.field == "sheet"


def test_xlsx_with_one_sheet_needs_no_choice() -> None:
    result = ingest(workbook({"Only": PRODUCTS}), "book.xlsx")
    assert result.row_count == 3


@pytest.mark.parametrize(("sheets", "sheet", "fragment"), [
    ({"Blank": None}, None, "is empty"),
    ({"Header": PRODUCTS.head(0)}, None, "no data rows"),
    ({"A": PRODUCTS, "Blank": None}, "Blank", "is empty"),
])
def test_xlsx_empty_sheets(sheets: dict[str, pl.DataFrame | None], sheet: str | None, fragment: str) -> None:
    with pytest.raises(IngestError, match=fragment):
        ingest(workbook(sheets), "book.xlsx", sheet=sheet)


def test_xlsx_truncated_is_an_ingest_error() -> None:
    data = workbook({"Only": PRODUCTS})
    with pytest.raises(IngestError):
        ingest(data[: len(data) // 2], "book.xlsx")


# ---------------------------------------------------------------------------------------------
# Parquet

def test_parquet_round_trip_keeps_types_and_kinds() -> None:
    first = ingest(delimited().encode(), "a.csv")
    buffer = io.BytesIO()
    first.table.write_parquet(buffer)
    second = ingest(buffer.getvalue(), "a.parquet")
    assert second.table.equals(first.table)
    assert second.table.schema == first.table.schema
    assert [(c.name, c.kind, c.null_count) for c in second.columns] == [
        (c.name, c.kind, c.null_count) for c in first.columns]
    assert (second.encoding, second.delimiter) == (None, None)


def test_parquet_native_types_map_onto_kinds() -> None:
    frame = pl.DataFrame({
        "Small Int": pl.Series([1, 2], dtype=pl.Int8), "Unsigned": pl.Series([1, 2**64 - 1], dtype=pl.UInt64),
        "Ratio": pl.Series([0.5, 1.5], dtype=pl.Float32), "Flag": [True, None],
        "Day": [dt.date(2024, 1, 1), None], "When": pl.Series([dt.datetime(2024, 1, 1), None], dtype=pl.Datetime("ns")),
        "Category": pl.Series(["a", "b"], dtype=pl.Categorical), "Codes": ["1", "2"], "Tags": [["x"], []],
        "Nothing": [None, None],
    })
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    result = ingest(buffer.getvalue(), "typed.parquet")
    assert {c.name: c.kind for c in result.columns} == {
        "small_int": "integer", "unsigned": "text", "ratio": "decimal", "flag": "boolean", "day": "date",
        "when": "datetime", "category": "text", "codes": "integer", "tags": "text", "nothing": "text"}
    assert result.table["codes"].to_list() == [1, 2]


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_corrupt_parquet_is_an_ingest_error(damage: str) -> None:
    buffer = io.BytesIO()
    pl.DataFrame({"a": list(range(1000)), "b": [str(i) for i in range(1000)]}).write_parquet(buffer)
    data = bytearray(buffer.getvalue())
    if damage == "truncate":
        data = data[:4] + data[len(data) // 2:]
    else:
        for position in range(8, len(data) - 8, 7):
            data[position] ^= 0xFF
    with pytest.raises(IngestError, match="corrupt or unreadable"):
        ingest(bytes(data), "broken.parquet")


# ---------------------------------------------------------------------------------------------
# Formatted numbers and dates: (id, cells, kind, values, format, note fragment)

FORMATTED_CASES = [
    ("dollars", ["$1,299.00", "$5", "-$3.50", ""], "decimal", [1299.0, 5.0, -3.5, None], "currency:USD", None),
    ("dollar_sign_after_minus_or_before", ["$-2", "-$2", "+$2"], "decimal", [-2.0, -2.0, 2.0], "currency:USD", None),
    ("euro_prefix_grouping_dot", ["€5", "€1.299"], "decimal", [5.0, 1299.0], "currency:EUR", None),
    ("euro_suffix_decimal_comma", ["1.299,00 €", "5,50 €", "12 €"], "decimal", [1299.0, 5.5, 12.0], "currency:EUR",
     None),
    ("pounds_and_yen", ["£3.20", "£1,000"], "decimal", [3.2, 1000.0], "currency:GBP", None),
    ("iso_code_before", ["USD 12", "USD 1,000.50"], "decimal", [12.0, 1000.5], "currency:USD", None),
    ("iso_code_after", ["12 EUR", "1.000,50 EUR"], "decimal", [12.0, 1000.5], "currency:EUR", None),
    ("swiss_apostrophe_grouping", ["CHF 1'234.50", "CHF 5"], "decimal", [1234.5, 5.0], "currency:CHF", None),
    ("space_grouping_decimal_comma", ["1 234,50 €", "5 €"], "decimal", [1234.5, 5.0], "currency:EUR", None),
    ("no_break_space_grouping", ["1\u00a0234 €", "7 €"], "decimal", [1234.0, 7.0], "currency:EUR", None),
    ("percent", ["50%", "12.5 %", "1.1%", "-5%"], "decimal", [0.5, 0.125, 0.011, -0.05], "percent", None),
    ("percent_decimal_comma", ["12,5 %", "100 %"], "decimal", [0.125, 1.0], "percent", None),
    ("thousands_separators", ["1,234", "5", "1,234,567"], "integer", [1234, 5, 1234567], "grouped", None),
    ("thousands_with_decimals", ["1,234.5", "2"], "decimal", [1234.5, 2.0], "grouped", None),
    ("european_numbers", ["1.234,5", "2,25"], "decimal", [1234.5, 2.25], "grouped", None),
    ("european_many_groups", ["1.234.567", "12"], "integer", [1234567, 12], "grouped", None),
    ("month_day_year", ["Jan 15, 2024", "Feb 1, 2023"], "date", [dt.date(2024, 1, 15), dt.date(2023, 2, 1)],
     "month_date", None),
    ("day_month_year", ["15 January 2024", "1 Feb 2023"], "date", [dt.date(2024, 1, 15), dt.date(2023, 2, 1)],
     "month_date", None),
    ("full_month_no_comma", ["January 15 2024", "december 31 1999"], "date",
     [dt.date(2024, 1, 15), dt.date(1999, 12, 31)], "month_date", None),
    ("mixed_orders_and_ordinals", ["Sept 3rd, 2024", "15-Jan-2024", "1st March 2020"], "date",
     [dt.date(2024, 9, 3), dt.date(2024, 1, 15), dt.date(2020, 3, 1)], "month_date", None),
    ("impossible_month_date", ["Feb 30, 2024", "Jan 1, 2024"], "text", None, None, "do not exist"),
    ("not_a_month", ["Foo 15, 2024"], "text", ["Foo 15, 2024"], None, None),
    ("mixed_currencies", ["$5", "€5"], "text", ["$5", "€5"], None, "mixes currencies (EUR, USD)"),
    ("plain_numbers_beside_amounts_are_amounts", ["$5", "7", "$1,000"], "decimal", [5.0, 7.0, 1000.0], "currency:USD",
     None),
    ("percent_and_plain", ["50%", "0.5"], "text", None, None, "percentages (%) and plain numbers"),
    ("percent_and_currency", ["50%", "$5"], "text", None, None, "amounts and percentages"),
    ("both_decimal_marks_proven", ["1,5", "1.5"], "text", None, None, "decimal mark is unclear"),
    ("a_comma_group_beside_a_dot_reads_as_1_234_point_5", ["1,299", "1.299"], "decimal", [1299.0, 1.299], "grouped",
     None),
    ("ambiguous_groups_with_a_currency", ["$1,299", "$1.299"], "text", None, None, "decimal mark is unclear"),
    ("version_numbers_stay_text", ["1.2.3", "2.0.1"], "text", ["1.2.3", "2.0.1"], None, None),
    ("dates_written_two_ways", ["Jan 15, 2024", "2024-01-15"], "text", None, None,
     "mixes value formats (such as 'Jan 15, 2024' and '2024-01-15')"),
    ("numbers_and_words", ["12", "yes"], "text", None, None, "mixes value formats"),
    ("a_lone_decimal_comma_stays_text", ["1,23", "12,3456"], "text", ["1,23", "12,3456"], None, None),
    ("a_decimal_comma_proven_by_a_dot_group", ["1,23", "1.012,3456"], "decimal", [1.23, 1012.3456], "grouped", None),
    ("weekday_prefix", ["Monday, January 15, 2024", "Tue 16 Jan 2024"], "date",
     [dt.date(2024, 1, 15), dt.date(2024, 1, 16)], "month_date", None),
    ("lists_of_numbers_stay_text", ["1,2,3", "4,5,6"], "text", ["1,2,3", "4,5,6"], None, None),
]


@pytest.mark.parametrize(("cells", "kind", "values", "fmt", "note"),
                         [pytest.param(*c[1:], id=c[0]) for c in FORMATTED_CASES])
def test_formatted_numbers_and_dates(cells: list[str], kind: str, values: list[object] | None, fmt: str | None,
                                     note: str | None) -> None:
    body = "id,value\n" + "".join(f'{i},"{cell}"\n' for i, cell in enumerate(cells))
    result = ingest(body.encode(), "formatted.csv")
    profile = result.columns[1]
    assert (profile.kind, profile.format) == (kind, fmt)
    if values is not None:
        assert result.table["value"].to_list() == values
    if note is not None:
        assert any(note in warning and "'value'" in warning for warning in result.warnings), result.warnings
    else:
        assert not any("'value'" in warning for warning in result.warnings), result.warnings


def test_a_semicolon_file_reads_a_lone_dot_group_as_thousands_with_a_comma_decimal() -> None:
    result = ingest("id;price\n1;1.299 €\n2;5,50 €\n".encode(), "eu.csv")
    assert result.table["price"].to_list() == [1299.0, 5.5]


def test_original_text_is_kept_beside_typed_columns_when_asked() -> None:
    body = "name,price,share,launch\nA,$1,299.00,50%,Jan 15 2024\nB,,5%,15 March 2024\n".replace(
        "$1,299.00", '"$1,299.00"')
    plain = ingest(body.encode(), "p.csv")
    assert [c.name for c in plain.columns] == ["name", "price", "share", "launch"]
    kept = ingest(body.encode(), "p.csv", options=IngestOptions(keep_text=True))
    assert [c.name for c in kept.columns] == ["name", "price", "price_text", "share", "share_text", "launch",
                                              "launch_text"]
    assert kept.table.columns == [c.name for c in kept.columns]
    by_name = {c.name: c for c in kept.columns}
    assert (by_name["price"].text_column, by_name["price_text"].kind) == ("price_text", "text")
    assert kept.table.row(0, named=True) == {
        "name": "A", "price": 1299.0, "price_text": "$1,299.00", "share": 0.5, "share_text": "50%",
        "launch": dt.date(2024, 1, 15), "launch_text": "Jan 15 2024"}
    assert kept.table["price_text"][1] is None
    assert by_name["name"].text_column is None


def test_kept_text_never_takes_an_existing_name() -> None:
    body = 'price,price_text\n"$5",x\n'
    kept = ingest(body.encode(), "p.csv", options=IngestOptions(keep_text=True))
    assert [c.name for c in kept.columns] == ["price", "price_text_2", "price_text"]


# ---------------------------------------------------------------------------------------------
# Header-less files

@pytest.mark.parametrize(("body", "filename", "rows"), [
    (b"Nike,99.5,true\nPuma,10,false\n", "a.csv", [("Nike", 99.5, True), ("Puma", 10.0, False)]),
    (b"a\tb\n", "a.tsv", [("a", "b")]),
    (b"sep=;\nx;1\ny;2\n", "a.csv", [("x", 1), ("y", 2)]),
])
def test_header_less_files_name_columns_by_position(body: bytes, filename: str, rows: list[tuple]) -> None:
    result = ingest(body, filename, options=IngestOptions(has_header=False))
    assert [c.name for c in result.columns] == [f"column_{n}" for n in range(1, len(rows[0]) + 1)]
    assert result.table.rows() == rows
    assert not any("without a usable header" in note for note in result.warnings)


def test_header_less_excel_sheet() -> None:
    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer) as book:
        sheet = book.add_worksheet("S")
        sheet.write_row(0, 0, ["Nike", 3])
        sheet.write_row(1, 0, ["Puma", 4])
    result = ingest(buffer.getvalue(), "a.xlsx", options=IngestOptions(has_header=False))
    assert result.table.to_dicts() == [{"column_1": "Nike", "column_2": 3}, {"column_1": "Puma", "column_2": 4}]


def test_a_header_less_file_with_one_line_has_one_row() -> None:
    assert ingest(b"only,line\n", "a.csv", options=IngestOptions(has_header=False)).row_count == 1


def _grouped(whole: int, group: str) -> str:
    return f"{whole:,}".replace(",", group)


@settings(max_examples=40, deadline=None)
@given(cents=st.lists(st.integers(-10**11, 10**11), min_size=1, max_size=8),
       style=st.sampled_from(["us_dollar", "eu_euro_suffix", "eu_euro_prefix", "us_code", "swiss"]))
def test_any_amount_written_in_one_style_reads_back_exactly(cents: list[int], style: str) -> None:
    def written(c: int) -> str:
        sign, whole, frac = "-" if c < 0 else "", abs(c) // 100, f"{abs(c) % 100:02d}"
        return {"us_dollar": f"{sign}${_grouped(whole, ',')}.{frac}",
                "eu_euro_suffix": f"{sign}{_grouped(whole, '.')},{frac} €",
                "eu_euro_prefix": f"{sign}€{_grouped(whole, '.')},{frac}",
                "us_code": f"USD {sign}{_grouped(whole, ',')}.{frac}",
                "swiss": f"CHF {sign}{_grouped(whole, chr(39))}.{frac}"}[style]
    body = "id;amount\n" if style == "eu_euro_prefix" else "id,amount\n"
    sep = ";" if style == "eu_euro_prefix" else ","
    body += "".join(f'{i}{sep}"{written(c)}"\n' for i, c in enumerate(cents))
    result = ingest(body.encode(), "amounts.csv")
    assert result.columns[1].kind == "decimal", result.warnings
    assert result.table["amount"].to_list() == [c / 100 for c in cents]

"""Ingest of JSON, Excel and Parquet files: kinds, sheets, and the message a user sees for a bad file."""

from __future__ import annotations

import codecs
import datetime as dt
import io
import json

import polars as pl
import pytest
import xlsxwriter

from engine.ingest import IngestError, NeedsSheetChoice, ingest, list_sheets
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

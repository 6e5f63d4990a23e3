"""The upload form offers reading options that fit the file: a header row for tables, flattening for nested data."""

from __future__ import annotations

import json

from tests.pages.conftest import sign_up, texts

NESTED = json.dumps([{"item": {"brand": "Nike", "pricing": {"msrp": 99.5}}, "tags": ["run", "road"]}]).encode()


def _open_upload(new_app, name: str, data: bytes, mime: str):
    at = new_app()
    sign_up(at)
    at.switch_page("pages/data_sources.py").run()
    at.file_uploader(key="upload_file").set_value((name, data, mime))
    at.run()
    assert not at.exception, at.exception
    return at


def test_a_csv_without_a_header_row_is_named_by_position(new_app):
    at = _open_upload(new_app, "rows.csv", b"Nike,99.5\nPuma,10\n", "text/csv")
    assert not [w for w in at.number_input if w.key == "upload_depth"]  # no nesting options for a table
    at.checkbox(key="upload_has_header").uncheck()
    at.button(key="upload_go").click()
    at.run()
    assert not at.exception, at.exception
    assert "Uploaded 'rows': 2 rows × 2 columns." in texts(at)
    assert list(at.dataframe[1].value["Column"]) == ["column_1", "column_2"]


def test_nested_json_flattens_with_the_chosen_options(new_app):
    at = _open_upload(new_app, "nested.json", NESTED, "application/json")
    assert not [w for w in at.checkbox if w.key == "upload_has_header"]
    at.number_input(key="upload_depth").set_value(2)
    at.text_input(key="upload_separator").input(" | ")
    at.checkbox(key="upload_keep_text").check()
    at.button(key="upload_go").click()
    at.run()
    assert not at.exception, at.exception
    profile = at.dataframe[1].value
    assert list(profile["Column"]) == ["item.brand", "item.pricing", "tags"]
    assert list(profile["Examples"])[2] == "run | road"


def test_rows_wrapped_in_an_object_are_read_from_the_path_given(new_app):
    wrapped = json.dumps({"data": {"items": [{"id": 1, "item": {"brand": "Nike"}}]}}).encode()
    at = _open_upload(new_app, "api.json", wrapped, "application/json")
    at.button(key="upload_go").click()
    at.run()
    assert any("seem to be under 'data.items'" in e.value for e in at.error)
    at.text_input(key="upload_data_path").input("data.items")
    at.button(key="upload_go").click()
    at.run()
    assert not at.exception, at.exception
    assert list(at.dataframe[1].value["Column"]) == ["id", "item.brand"]

"""Upload options (header-less, nested JSON, kept text) and column formats survive storage and replacement."""

from __future__ import annotations

import json
import uuid

import pytest

from engine.ingest import IngestOptions
from studio import auth, datasets
from studio.context import Context


@pytest.fixture()
def signed_in(sqlite_settings, sqlite_store, monkeypatch):
    monkeypatch.setenv("DOTORO_HOME", str(sqlite_settings.home))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    account, ws = auth.sign_up(sqlite_store, f"o{uuid.uuid4().hex[:6]}@example.com", "Opt", "longenough")
    return sqlite_store, Context(user_id=account.id, workspace_id=ws)


def test_formats_and_kept_text_are_stored_with_the_columns(signed_in) -> None:
    store, ctx = signed_in
    body = b'name,price,share\nA,"$1,299.00",50%\nB,$5,5%\n'
    ds = datasets.upload(store, ctx, "p.csv", body, options=IngestOptions(keep_text=True))
    detail = datasets.get_dataset(store, ctx, ds.id)
    by_name = {c.name: c for c in detail.columns}
    assert (by_name["price"].format, by_name["price"].text_column) == ("currency:USD", "price_text")
    assert by_name["share"].format == "percent" and by_name["name"].format is None
    assert datasets.load_table(store, ctx, ds.id)["price_text"].to_list() == ["$1,299.00", "$5"]
    assert detail.info["options"] == {"keep_text": True}


def test_a_replacement_reads_the_new_file_with_the_same_options(signed_in) -> None:
    store, ctx = signed_in
    ds = datasets.upload(store, ctx, "rows.csv", b"Nike,1\nPuma,2\n", options=IngestOptions(has_header=False))
    datasets.replace(store, ctx, ds.id, "rows.csv", b"Adidas,3\n")
    table = datasets.load_table(store, ctx, ds.id)
    assert table.to_dicts() == [{"column_1": "Adidas", "column_2": 3}]


def test_nested_json_is_stored_with_dotted_columns(signed_in) -> None:
    store, ctx = signed_in
    records = [{"item": {"brand": "Nike", "pricing": {"msrp": 99.5}}, "tags": ["a", "b"]}]
    ds = datasets.upload(store, ctx, "n.json", json.dumps(records).encode(),
                         options=IngestOptions(array_separator=" / "))
    assert datasets.load_table(store, ctx, ds.id).to_dicts() == [
        {"item.brand": "Nike", "item.pricing.msrp": 99.5, "tags": "a / b"}]
    assert [t for t in datasets.sql_tables(store, ctx) if t.dataset_id == ds.id][0].columns[0].name == "item.brand"

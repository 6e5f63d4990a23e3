"""Starters for every registered format, on products_2k and on the demo data: only the data's own columns, every
required field filled, and every row of the preview within the limits (no "missing", nothing over a limit)."""

from __future__ import annotations

import functools

import pytest

from engine.generation.plan import build_plan
from engine.generation.preview import preview
from engine.ingest import IngestResult, ingest
from engine.platforms import Format, get_format, list_formats
from engine.templates import validate_template
from studio import starters
from tests.sample_data import products_csv, reddit_threads_csv

# what a new user answers when the starter asks (a column the data does not have, or one value for every row)
ANSWERS = {"subreddit": "=deals", "parent": "=t3_abc123"}


# every text far over every short limit: the starters' cuts must hold, not the data's shortness
LONG = ("product_name,description,price,category,url\n" + "".join(
    f"{'Extraordinarily Durable Handcrafted Item ' * 8}{i},{'Words that go on and on. ' * 40},{i}9.5,"
    f"{'Kitchen and Outdoor Living Essentials ' * 3},https://shop.example.com/p/{i}\n" for i in range(20))).encode()


@functools.cache
def _data(name: str) -> IngestResult:
    data = {"products_2k": products_csv, "demo": reddit_threads_csv, "long": lambda: LONG}[name]()
    return ingest(data, f"{name}.csv")


CASES = [pytest.param(name, f.key, id=f"{name}-{f.key}") for name in ("products_2k", "demo", "long")
         for f in list_formats()]


def _fmt(key: str) -> Format:
    return get_format(*key.split("/"))


@pytest.mark.parametrize(("data", "key"), CASES)
def test_the_starter_fills_every_required_field_from_the_datas_columns(data, key):
    fmt, result = _fmt(key), _data(data)
    names = [c.name for c in result.columns]
    first = starters.build(fmt, result.columns)
    assert set(first.unsure) <= set(ANSWERS), first.unsure  # only what the data cannot say is asked
    s = starters.build(fmt, result.columns, ANSWERS)
    assert s.unsure == ()
    assert {f.name for f in fmt.fields if f.required} <= set(s.fields), s.fields
    for field, source in s.fields.items():
        report = validate_template(source, names)
        assert report.ok, (field, source, [e.message for e in report.errors])


@pytest.mark.parametrize(("data", "key"), CASES)
def test_the_starters_preview_keeps_every_row_within_the_limits(data, key):
    fmt, result = _fmt(key), _data(data)
    s = starters.build(fmt, result.columns, ANSWERS)
    plan = build_plan(result.table, {"platform": fmt.platform, "format": fmt.name, "templates": s.fields,
                                     "constraint_strategy": "skip"})
    out = preview(plan, limit=5)
    stats = out.stats
    assert stats is not None
    assert {k: v for k, v in stats.violations.items() if v} == {}, {
        k: [(v.row, str(v.value)[:60], v.reason) for v in rows[:3]] for k, rows in stats.violating_rows.items()}
    assert stats.kept == result.row_count
    first = out.variations.row(0, named=True)
    assert all(str(first[f.name] or "").strip() for f in fmt.fields if f.required)


@pytest.mark.parametrize(("columns", "key", "unsure"), [
    (b"id,price\n1,3\n", "google/responsive_search_ad", ("title", "link")),
    (b"id,label,Shop Link\n1,Trail Shoe,https://x.example/1\n", "x/post", ("title",)),
    (b"id,description\n1,Nice\n", "reddit/comment", ("parent",)),
])
def test_what_the_data_cannot_say_is_asked(columns, key, unsure):
    assert starters.build(_fmt(key), ingest(columns, "d.csv").columns).unsure == unsure


def test_a_currency_column_keeps_its_currency_and_a_literal_answer_is_cut_to_the_limit():
    cols = ingest("name,preis,link\nTasse,\"12,50 €\",https://x.example/1\n".encode(), "d.csv").columns
    price = next(c for c in cols if c.name == "preis")
    assert price.format == "currency:EUR"
    s = starters.build(_fmt("google/responsive_search_ad"), cols, {"price": "preis"})
    assert s.fields["headline_2"] == "From {{ preis | currency('EUR') }}"
    s = starters.build(_fmt("meta/feed_ad"), cols, {"title": "=" + "A very long headline for every row " * 3})
    assert len(s.fields["headline"]) <= 40 and s.fields["headline"].endswith("...")

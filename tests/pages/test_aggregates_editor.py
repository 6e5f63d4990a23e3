"""Preview's aggregates: each in words in the narrow settings column, edited in a wide table whose headers say
what each column is; a broken aggregate is explained where it is shown and cannot be saved from the table."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest


def _editor(saved: list) -> None:
    import streamlit as st

    from studio.ui import aggregates

    columns = [("brand", "text"), ("price", "decimal"), ("category", "text")]
    st.session_state["returned"] = aggregates.editor(saved, columns, "k")


def test_aggregates_read_as_words_and_the_table_has_readable_headers():
    saved = [{"name": "category_min_price", "agg": "min", "of": "price", "by": ["category"]}]
    at = AppTest.from_function(_editor, args=(saved,), default_timeout=60).run()
    assert not at.exception, at.exception
    assert at.expander[0].label == "Aggregates over the whole data set (1)"
    assert any("min(price) per category (decimal)" in m.value.replace("\\", "") for m in at.markdown)
    assert at.session_state["returned"] == [{"name": "category_min_price", "agg": "min", "of": "price",
                                             "by": ["category"]}]
    assert not at.data_editor  # no cramped table in the settings column
    at.button(key="k_edit").click().run()
    assert not at.exception, at.exception
    config = json.loads(at.data_editor[0].proto.columns)
    assert [config[c]["label"] for c in ("name", "agg", "of", "by")] == ["Name", "Figure", "Of column", "Per group of"]
    assert all(config[c].get("help") for c in ("name", "agg", "of", "by"))
    assert at.button(key="k_1_save").disabled is False


def test_a_broken_aggregate_is_explained_and_cannot_be_saved_from_the_table():
    saved = [{"name": "total", "agg": "sum", "of": "brand", "by": []}]
    at = AppTest.from_function(_editor, args=(saved,), default_timeout=60).run()
    assert [e.value for e in at.error] == ["Aggregate 'total': sum needs a number column, but 'brand' holds text values."]
    at.button(key="k_edit").click().run()
    assert at.button(key="k_1_save").disabled is True
    assert len(at.error) == 2  # under the summary and in the table's dialog


def test_no_aggregates_offer_to_add_one():
    at = AppTest.from_function(_editor, args=([],), default_timeout=60).run()
    assert not at.exception, at.exception
    assert at.expander[0].label == "Aggregates over the whole data set"
    assert [b.label for b in at.button] == ["Add an aggregate"]
    assert at.session_state["returned"] == []

"""The data-changes review of a set: our own columns have human headers, the data set's columns keep their names
(even 'key' or 'row'), and a new version that changes nothing says so instead of a row of zeros."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest


def _samples(kind: str, rows: list, total: int) -> None:
    from studio.ui import diff

    diff._samples(kind, rows, total, "sku")


def _headers(at: AppTest) -> tuple[list[str], dict]:
    assert not at.exception, at.exception
    shown = at.dataframe[0]
    return list(shown.value.columns), json.loads(shown.proto.columns)


def test_added_rows_show_our_labels_and_the_datas_own_column_names():
    rows = [{"key": "s01", "row": 1233, "values": {"key": "their key", "row": "their row", "title": "Item 1"}}]
    at = AppTest.from_function(_samples, args=("added", rows, 4), default_timeout=60).run()
    names, config = _headers(at)
    assert names[2:] == ["key", "row", "title"]  # the data's columns, under the names the data set gives them
    assert list(at.dataframe[0].value.iloc[0]) == ["s01", 1234, "their key", "their row", "Item 1"]
    labels = {name: config[name]["label"] for name in names[:2]}
    assert sorted(labels.values()) == ["Row", "Row key"]
    assert "'sku'" in config[names[0]]["help"] and config[names[1]]["type_config"]["format"] == "%,d"
    assert any("The first 1 of 4." in c.value for c in at.caption)


def test_changed_rows_show_column_before_and_after():
    rows = [{"key": "s02", "old_row": 1, "row": 4, "fields": {"title": ["Item 2", "Item two"]}}]
    at = AppTest.from_function(_samples, args=("changed", rows, 1), default_timeout=60).run()
    names, config = _headers(at)
    assert [config[n]["label"] for n in names] == ["Row key", "Row", "Column", "Before", "After"]
    assert list(at.dataframe[0].value.iloc[0]) == ["s02", 5, "title", "Item 2", "Item two"]


def test_a_kind_without_rows_says_so():
    at = AppTest.from_function(_samples, args=("removed", [], 0), default_timeout=60).run()
    assert not at.exception and not at.dataframe
    assert [c.value for c in at.caption] == ["No removed rows."]


def _diff(counts: dict) -> None:
    import datetime as dt
    import uuid

    from studio import set_follow
    from studio.ui import diff

    now = dt.datetime.now(dt.UTC)
    d = set_follow.DiffInfo(uuid.uuid4(), uuid.uuid4(), 1, 2, "sku", "applied", counts, {}, {}, ["title"],
                            {"inserted": 0}, 1, 1, "", False, now, 0)
    diff._diff(None, None, d, can_edit=True)


def test_a_version_that_changes_nothing_says_so_instead_of_zeros():
    at = AppTest.from_function(_diff, args=({"added": 0, "removed": 0, "changed": 0, "unchanged": 1200, "moved": 3},), default_timeout=60).run()
    assert not at.exception, at.exception
    assert not at.metric and not at.tabs
    (info,) = [i.value for i in at.info]
    assert "Nothing changed" in info and "all 1,200 rows are the same (3 at another position)" in info


def test_a_version_with_changes_shows_formatted_counts():
    at = AppTest.from_function(_diff, args=({"added": 1500, "removed": 2, "changed": 0, "unchanged": 8, "moved": 0},), default_timeout=60).run()
    assert not at.exception, at.exception
    assert [m.value for m in at.metric] == ["1,500", "2", "0", "8", "0"]
    assert [t.label for t in at.tabs] == ["Added (1,500)", "Removed (2)", "Changed (0)", "Unchanged (8)"]

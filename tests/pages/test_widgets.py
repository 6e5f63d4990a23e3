"""Formatting a user reads: sizes and durations."""

from __future__ import annotations

import pytest

from studio.ui import widgets


@pytest.mark.parametrize(("seconds", "text"), [
    (0.04, "0.0 s"), (4.24, "4.2 s"), (59.94, "59.9 s"), (60, "1 min 0 s"), (425.6, "7 min 6 s"),
    (3599.4, "59 min 59 s"), (3600, "1 h 0 min"), (7530, "2 h 5 min"),
])
def test_durations_read_as_minutes_and_hours(seconds: float, text: str) -> None:
    assert widgets.fmt_duration(seconds) == text


@pytest.mark.parametrize(("size", "text"), [(0, "0 bytes"), (1023, "1,023 bytes"), (1536, "1.5 KB"),
                                            (5 * 1024**3, "5.0 GB")])
def test_sizes_read_in_binary_units(size: int, text: str) -> None:
    assert widgets.fmt_bytes(size) == text


@pytest.mark.parametrize(("n", "word", "many", "expected"), [
    (0, "rule", None, "0 rules"),
    (1, "rule", None, "1 rule"),
    (2, "version", None, "2 versions"),
    (1_200, "chunk", None, "1,200 chunks"),
    (1, "entry", None, "1 entry"),
    (3, "entry", None, "3 entries"),
    (2, "match", None, "2 matches"),
    (2, "person", "people", "2 people"),
    (1, "person", "people", "1 person"),
])
def test_plural_wording(n, word, many, expected):
    from studio.ui.widgets import plural

    assert plural(n, word, many) == expected

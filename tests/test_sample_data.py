"""The tests' sample data is built in the repo and is the very file CI used to read from ../shared."""

from __future__ import annotations

import csv
import hashlib
import io

from tests.sample_data import PRODUCTS_2K_SHA256, products_csv, reddit_threads_csv


def test_products_2k_is_rebuilt_byte_for_byte():
    data = products_csv()
    assert hashlib.sha256(data).hexdigest() == PRODUCTS_2K_SHA256
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    assert len(rows) == 2000 and rows[0]["id"] == "1" and rows[-1]["id"] == "2000"
    assert any("Zürich" == r["city"] for r in rows) and sum(r["brand"] == "" for r in rows) > 100


def test_the_demo_threads_have_a_subreddit_and_flair_per_row():
    rows = list(csv.DictReader(io.StringIO(reddit_threads_csv().decode("utf-8"))))
    assert len(rows) == 60 and all(r["subreddit"] and r["flair"] for r in rows)

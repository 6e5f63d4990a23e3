"""Reddit Ads figures as a person reads them: money in the ad account's currency with 2 decimals, counts with
thousands separators, CTR in percent, and numbers that still sort as numbers."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from studio.reddit_ads.performance import money


@pytest.mark.parametrize(("amount", "currency", "shown"), [
    (1234.5, "USD", "$1,234.50"),
    (1234.5, "eur", "€1,234.50"),
    (0.456, "GBP", "£0.46"),
    (1_234_567.891, "USD", "$1,234,567.89"),
    (-5, "USD", "-$5.00"),
    (1234.5, "CAD", "1,234.50 CAD"),
    (1234.5, "", "1,234.50"),  # the studio does not know the account's currency: no symbol is made up
    (1.0, "U%S$D", "$1.00"),  # nothing but the code's letters reaches the table's printf format
])
def test_money_in_the_accounts_currency(amount, currency, shown):
    assert money(amount, currency) == shown


def _table(currencies: list[str]) -> None:
    from studio.reddit_ads.performance import AdPerformance
    from studio.ui import reddit_ads

    rows = [AdPerformance(f"a{i}", f"Trail shoes {i}", None, 123_456, 2_469, 1234.5, 7, code)
            for i, code in enumerate(currencies)]
    reddit_ads.figures(rows, "Ad", [r.name for r in rows])


def _columns(at: AppTest) -> dict:
    assert not at.exception, at.exception
    return json.loads(at.dataframe[0].proto.columns)


@pytest.mark.parametrize(("currency", "fmt"), [("USD", "$%,.2f"), ("EUR", "€%,.2f"), ("", "%,.2f")])
def test_the_table_shows_money_counts_and_ctr_formatted(currency, fmt):
    at = AppTest.from_function(_table, args=([currency],), default_timeout=60).run()
    columns = _columns(at)
    assert {c: columns[c]["type_config"]["format"] for c in ("Spend", "CPC", "CPM")} == dict.fromkeys(
        ("Spend", "CPC", "CPM"), fmt)
    assert {columns[c]["type_config"]["format"] for c in ("Impressions", "Clicks", "Conversions")} == {"%,d"}
    assert columns["CTR"]["type_config"]["format"] == "%.2f%%"  # 2.00%, the way the totals above say it
    frame = at.dataframe[0].value
    assert frame["Spend"][0] == 1234.5 and round(frame["CTR"][0], 2) == 2.0  # numbers, so the columns sort
    assert round(frame["CPM"][0], 2) == 10.0  # spend per 1,000 impressions
    unknown = [c.value for c in at.caption if "ad account's currency" in c.value]
    assert bool(unknown) is (currency == "")  # said in words when the table cannot show the currency


def test_figures_in_several_currencies_name_each_rows_currency():
    at = AppTest.from_function(_table, args=(["USD", "EUR"],), default_timeout=60).run()
    columns = _columns(at)
    assert columns["Spend"]["type_config"]["format"] == "%,.2f"
    assert list(at.dataframe[0].value["Currency"]) == ["USD", "EUR"]

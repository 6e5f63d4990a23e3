"""Cards per format: every field with its counter, missing required fields named, text escaped (issue 13)."""

from __future__ import annotations

import html

import pytest

from engine.platforms import get_format, list_formats
from studio.ui.cards import card_html, renderer_for

FULL = {  # one value per field name of the built-in formats, each within its limit
    "subreddit": "deals", "title": "Trail <Shoe> & co", "body": "**Light** shoe\n\nsecond line", "url": "https://shop.example.com/a",
    "flair": "Sale", "nsfw": "false", "spoiler": "true", "send_replies": "true", "parent": "t3_abc",
    "headline": "Trail <Shoe> & co", "destination_url": "https://shop.example.com/a", "call_to_action": "Shop Now",
    "display_url": "shop.example.com", "path_1": "shoes", "path_2": "trail", "final_url": "https://www.shop.example.com/a",
    "primary_text": "Trail <Shoe> & co for the hills", "description": "Only $99", "link": "https://shop.example.com/a",
    "caption": "New <Shoe> & co", "hashtags": "#shoes #trail", "alt_text": "A shoe", "text": "Trail <Shoe> & co",
    **{f"headline_{i}": f"Head <{i}> & co" for i in range(1, 16)}, **{f"description_{i}": f"Desc <{i}> & co" for i in range(1, 5)},
}


@pytest.mark.parametrize("fmt", list_formats(), ids=lambda f: f.key)
def test_every_format_has_its_own_card_showing_every_field_with_a_counter(fmt):
    row = {f.name: FULL[f.name] for f in fmt.fields}
    if fmt.key == "meta/feed_ad":
        row["call_to_action"] = "SHOP_NOW"
    if fmt.key == "reddit/link_ad":
        row["call_to_action"] = "Shop Now"
    out = card_html(fmt, row)
    assert renderer_for(fmt).__name__ != "_plain"
    assert "\n" not in out and "<Shoe>" not in out  # one HTML line, text escaped
    assert ("&lt;Shoe&gt; &amp; co" in out) == any("<Shoe>" in v for v in row.values())
    for spec in fmt.fields:
        assert html.escape(spec.label) in out, spec.name
        if spec.max_chars:
            assert f"/{spec.max_chars:,}" in out, spec.name
    assert "dc-count dc-bad" not in out and "missing" not in out


@pytest.mark.parametrize("fmt", list_formats(), ids=lambda f: f.key)
def test_an_empty_card_names_every_missing_required_field_and_is_never_blank(fmt):
    out = card_html(fmt, {})
    for spec in fmt.fields:
        if spec.required:
            assert f"missing: {html.escape(spec.label)}" in out, spec.name
    assert "dc-counters" in out


@pytest.mark.parametrize(("key", "row", "shown"), [
    ("google/responsive_search_ad", {"headline_1": "Trail Shoe", "headline_2": "From $99", "headline_3": "Free returns",
                                     "description_1": "Light.", "description_2": "Fast.", "path_1": "shoes", "path_2": "trail",
                                     "final_url": "https://www.shop.example.com/a"},
     ['class="dc-g-head">Trail Shoe | From $99 | Free returns<', "shop.example.com › shoes › trail", "Light. Fast."]),
    ("meta/feed_ad", {"primary_text": "x" * 130, "headline": "Trail", "link": "https://shop.example.com", "call_to_action": "LEARN_MORE"},
     ["… See more", ">Learn more<", "SHOP.EXAMPLE.COM", "over the 125 recommended", "Primary text <b>130/2,200"]),
    ("reddit/thread", {"subreddit": "deals", "title": "T", "flair": "Sale", "url": "https://x.example/a", "nsfw": "true"},
     ["<b>r/deals</b>", 'class="dc-flair">Sale<', "https://x.example/a", ">NSFW<"]),
    ("google/responsive_search_ad", {"headline_1": "Ｗｉｄｅ" * 4, "headline_3": "x"},
     ["Headline 1 <b>32/30</b> · too long", "missing: Headline 2", 'dc-count dc-bad']),
    ("instagram/post", {"caption": "Hi #a #b #c #d #e #f"}, ["6/5 hashtags", "too many hashtags"]),
])
def test_cards_read_like_the_platform(key, row, shown):
    out = card_html(get_format(*key.split("/")), row)
    for text in shown:
        assert text in out, (text, out)

"""In a real browser: Workspace settings → Word list: a bad list is refused in words, a good one is saved and
the Preview applies it (a brand's casing, a refused word) with the duplicate-words option on; screenshots looked at."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import shot, sign_up

pytestmark = pytest.mark.browser


def test_edit_the_word_list_and_see_it_in_the_preview(studio_url, page):
    sign_up(page, studio_url, "Wren Words", demo=True)
    page.goto(studio_url + "/workspace")
    expect(page.get_by_role("heading", name="Word list")).to_be_visible()
    page.get_by_role("textbox", name="Banned words (one a line)").fill("cheap\nknock-off\nportland")
    page.get_by_text("Replace the word with…").click()
    page.get_by_role("button", name="Save word list").click()
    expect(page.get_by_text("write what replaces them")).to_be_visible()  # no replacement given: refused in words
    page.wait_for_timeout(600)
    shot(page, "word-list-refused")

    page.get_by_text("Refuse the variation (it is not generated").click()
    page.get_by_role("textbox", name="Brand spellings (one a line, written as they must appear)").fill("iPhone\nTORONTO")
    page.get_by_role("button", name="Save word list").click()
    expect(page.get_by_text("Word list saved: 3 banned word(s), 2 brand spelling(s)")).to_be_visible()
    page.wait_for_timeout(600)
    shot(page, "word-list-saved")
    page.reload()
    expect(page.get_by_role("textbox", name="Banned words (one a line)")).to_have_value("cheap\nknock-off\nportland")

    page.goto(studio_url + "/preview")
    expect(page.get_by_text("Remove duplicate consecutive words")).to_be_visible()
    page.get_by_text("Remove duplicate consecutive words").click()
    expect(page.get_by_text("The workspace's word list (Workspace settings) applies too.")).to_be_visible()
    expect(page.get_by_text("Open-Back 600 in TORONTO")).to_be_visible()  # the brand spelling, in the demo's first row
    expect(page.get_by_text("Co-op Quest in Portland")).to_have_count(0)  # refused: it holds a banned word
    page.wait_for_timeout(1500)
    shot(page, "word-list-preview")

"""In a real browser: a new owner uploads products_2k (or a CSV with other column names), previews it from a
starter without a red screen, and a member sees what to ask for on Reddit accounts and Billing. Screenshots
of each screen land in tests/artifacts/ (first-hour-*.png)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ROOT, shot, sign_up

pytestmark = pytest.mark.browser
PRODUCTS_2K = ROOT.parent / "shared" / "data" / "products_2k.csv"
FALLBACK = b"sku,Item Title,Brand,Price,Shop Link\n" + b"".join(
    f"{i},Trail Shoe {i},Acme,{50 + i}.00,https://shop.example.com/p/{i}\n".encode() for i in range(1, 41))


def _no_errors(page) -> None:
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    expect(page.locator('[data-testid="stAlertContentError"]')).to_have_count(0)


def _go(page, name: str) -> None:
    page.get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", name=name).first).to_be_visible()
    page.wait_for_timeout(800)


def test_first_hour_screens_for_an_owner_and_a_member(studio_url, browser, tmp_path: Path):
    data = PRODUCTS_2K.read_bytes() if PRODUCTS_2K.is_file() else FALLBACK
    owner_ctx = browser.new_context(viewport={"width": 1400, "height": 1100})
    page = owner_ctx.new_page()
    page.set_default_timeout(45_000)
    sign_up(page, studio_url, "Olga Owner")
    shot(page, "first-hour-01-home-empty")

    _go(page, "Data sources")
    csv = tmp_path / "products_2k.csv"
    csv.write_bytes(data)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(csv))
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.get_by_text("Uploaded 'products_2k'")).to_be_visible()
    expect(page.locator('[data-testid="stFileUploaderFile"]')).to_have_count(0)  # the uploader is empty again
    _no_errors(page)
    shot(page, "first-hour-02-data-sources")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(csv))
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.get_by_text("This file is already")).to_be_visible()
    shot(page, "first-hour-03-duplicate")
    page.get_by_role("button", name="Cancel", exact=True).click()

    _go(page, "Home")
    expect(page.locator('[data-testid="stMetric"]').first).to_contain_text("1")
    shot(page, "first-hour-04-home")

    _go(page, "Preview")
    _no_errors(page)
    expect(page.get_by_text("unknown variable")).to_have_count(0)
    shot(page, "first-hour-05-preview-starter")
    if PRODUCTS_2K.is_file():  # products_2k has no subreddit column: the preview asks for one
        page.get_by_label("Which column holds the subreddit?").click()
        page.get_by_role("option", name="one value for every row…").click()
        page.get_by_label("The subreddit for every row").fill("deals")
        page.get_by_label("The subreddit for every row").press("Enter")
    expect(page.locator('[data-testid="stMetric"]').filter(has_text="Variations")).to_be_visible()
    expect(page.get_by_role("button", name="Generate")).to_be_in_viewport()
    _no_errors(page)
    page.wait_for_timeout(800)
    shot(page, "first-hour-06-preview")

    _go(page, "Reddit accounts")
    _no_errors(page)
    shot(page, "first-hour-07-accounts-owner")
    page.get_by_text(re.compile(r"^View \d+ more$")).click()
    _go(page, "Billing")
    _no_errors(page)
    shot(page, "first-hour-08-billing-owner")

    _go(page, "Team")
    member_ctx = browser.new_context(viewport={"width": 1400, "height": 1100})
    member = member_ctx.new_page()
    member.set_default_timeout(45_000)
    email = sign_up(member, studio_url, "Mia Marketer")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_role("button", name="Send invitation").click()
    link = page.locator('[data-testid="stCode"]').first.inner_text().strip()
    expect(page.get_by_text(email).first).to_be_visible()  # listed at once
    member.goto(studio_url + "/?" + link.split("?", 1)[1])
    member.get_by_role("button", name="Accept").click()
    member.wait_for_timeout(1500)
    _go(member, "Reddit accounts")
    expect(member.get_by_text("An admin has not connected Reddit yet.")).to_be_visible()
    body = member.locator('[data-testid="stMain"]').inner_text()
    assert "REDDIT_" not in body and "STRIPE_" not in body
    shot(member, "first-hour-09-accounts-member")
    member.get_by_text(re.compile(r"^View \d+ more$")).click()
    _go(member, "Billing")
    assert "STRIPE_" not in member.locator('[data-testid="stMain"]').inner_text()
    shot(member, "first-hour-10-billing-member")
    _go(member, "Home")
    shot(member, "first-hour-11-home-member")
    owner_ctx.close()
    member_ctx.close()

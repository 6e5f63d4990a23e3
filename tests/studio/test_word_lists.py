"""The workspace word list (issue 19 item 6): stored per workspace, changed by editors (audited), applied alike by
the preview and the generated set, together with the set-level hygiene options."""

from __future__ import annotations

import io
import uuid
from typing import Any

import polars as pl
import pytest

from studio import audit, auth, campaigns, datasets, invitations, previews, word_lists
from studio.context import Context, Role
from studio.errors import PermissionDenied, ValidationFailed
from studio.store.session import Store
from tests.studio.test_preview_equals_generated import FOR_LOOP, check_preview_equals_generated, generate_in_process
from tests.studio.test_preview_equals_generated import embedded as embedded  # noqa: F401  (the fixture)


def _account(store: Store) -> Context:
    account, ws = auth.sign_up(store, f"w{uuid.uuid4().hex[:8]}@example.com", "Wanda Words", "correct horse")
    return Context(user_id=account.id, workspace_id=ws)


def _member(store: Store, owner: Context, role: Role) -> Context:
    email = f"m{uuid.uuid4().hex[:8]}@example.com"
    link = invitations.invite(store, owner, email, role)
    account, _ = auth.sign_up(store, email, "Max Member", "correct horse")
    return Context(user_id=account.id, workspace_id=invitations.accept(store, link.url.split("invite=")[1], account))


def _csv(titles: list[str]) -> bytes:
    buf = io.BytesIO()
    pl.DataFrame({"a": titles, "n": list(range(len(titles)))}).write_csv(buf)
    return buf.getvalue()


TITLES = ["new iphone case", "Cheap iphone cable", "iPhone iphone stand", "cheapest IPHONE dock", "Café CAFÉ cup",
          "A cheap, cheap find", "plain title"] * 3


@pytest.mark.parametrize("template", ["{{ a }} sale", FOR_LOOP + " sale"], ids=["sql", "per_row"])
def test_the_preview_equals_the_generated_set_with_a_word_list(embedded, template: str) -> None:  # noqa: F811
    store, ctx = embedded
    word_lists.save_word_list(store, ctx, banned=["cheap"], banned_mode="refuse", brands=["iPhone", "Café"])
    config: dict[str, Any] = {"platform": "reddit", "format": "thread", "dedupe_words": True,
                              "templates": {"subreddit": "deals", "title": template}}
    checked = check_preview_equals_generated(store, ctx, _csv(TITLES), config)
    cards = previews.run_preview(store, ctx, checked.dataset_id, config, limit=7).preview.variations
    titles = cards["title"].to_list()
    assert not any("cheap " in t.lower() or "cheap," in t.lower() for t in titles)  # refused, not generated
    if template.startswith("{{"):
        assert titles[:4] == ["new iPhone case sale", "iPhone stand sale", "cheapest iPhone dock sale", "Café cup sale"]
    assert checked.figures["problems"]["title"] == 2 * 3


def test_a_run_applies_the_list_as_it_was_when_the_run_started(embedded) -> None:  # noqa: F811
    store, ctx = embedded
    ds = datasets.upload(store, ctx, "t.csv", _csv(["iphone case"]))
    config = {"platform": "reddit", "format": "thread", "templates": {"subreddit": "deals", "title": "{{ a }}"}}
    set_id = campaigns.create(store, ctx, "phones", ds.id, config)
    word_lists.save_word_list(store, ctx, banned=[], brands=["iPhone"])  # after the set was saved
    generate_in_process(store, ctx, set_id)
    with store.session_scope(ctx) as s:
        stored = campaigns.get(s, set_id).config
    assert stored["word_list"]["brands"] == ["iPhone"]
    from tests.studio.test_preview_equals_generated import stored as stored_variations

    assert [v.fields["title"] for v in stored_variations(store, ctx, set_id)] == ["iPhone case"]


def test_editors_change_the_list_viewers_read_it_and_changes_are_audited(store) -> None:
    owner = _account(store)
    viewer = _member(store, owner, Role.VIEWER)
    saved = word_lists.save_word_list(store, owner, banned=[" knock  off ", "Knock off"], banned_mode="replace",
                                      replacement="genuine", brands=["iPhone"])
    assert (saved.banned, saved.replacement) == (["knock off"], "genuine")
    assert word_lists.get_word_list(store, viewer) == saved
    with pytest.raises(PermissionDenied):
        word_lists.save_word_list(store, viewer, banned=[], brands=[])
    assert word_lists.get_word_list(store, owner).brands == ["iPhone"]  # unchanged by the refused call
    rows = audit.search(store, owner, audit.AuditFilter())
    assert [r.action for r in rows].count("word_list.update") == 1


def test_each_workspace_has_its_own_list(store) -> None:
    first, second = _account(store), _account(store)
    word_lists.save_word_list(store, first, banned=["cheap"], brands=[])
    assert word_lists.get_word_list(store, second).empty
    word_lists.save_word_list(store, second, banned=[], brands=["iPhone"])
    assert word_lists.get_word_list(store, first).banned == ["cheap"]
    assert word_lists.get_word_list(store, first).brands == []


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"banned": ["cheap"], "banned_mode": "replace", "replacement": "  "}, "write what replaces them"),
    ({"banned": ["cheap"], "banned_mode": "hide"}, "either refused"),
    ({"banned": ["cheap"], "banned_mode": "replace", "replacement": "really cheap"}, "contains the banned word"),
    ({"banned": ["Apple"], "brands": ["apple"]}, "both banned and a brand spelling"),
    ({"banned": ["x" * 101]}, "longer than 100 characters"),
])
def test_a_bad_list_is_refused_in_words_and_nothing_is_lost(store, kwargs: dict[str, Any], message: str) -> None:
    owner = _account(store)
    word_lists.save_word_list(store, owner, banned=["fake"], brands=[])
    with pytest.raises(ValidationFailed, match=message):
        word_lists.save_word_list(store, owner, **kwargs)
    assert word_lists.get_word_list(store, owner).banned == ["fake"]


def test_lines_become_words() -> None:
    assert word_lists.parse_lines("iPhone\n\n  MacBook   Pro \n") == ["iPhone", "MacBook Pro"]


def test_a_paid_set_with_stop_words_and_a_word_list_previews_what_it_generates(embedded) -> None:  # noqa: F811
    store, ctx = embedded
    word_lists.save_word_list(store, ctx, banned=["cheap"], banned_mode="replace", replacement="value",
                              brands=["iPhone"])
    templates = {"headline_1": "{{ a }}", "headline_2": "Shop the best", "headline_3": "Free returns",
                 "description_1": "Great {{ a }} for the price", "description_2": "Order today.",
                 "final_url": "https://x.co/{{ n }}"}
    structure = {"campaign": "Phones", "ad_group": "{{ a }}", "keywords": ["{{ a }}", "the best {{ a }} for you"],
                 "match_types": ["Phrase"]}
    config = {"platform": "google", "format": "responsive_search_ad", "templates": templates, "structure": structure,
              "dedupe_words": True, "keyword_stopwords": True}
    checked = check_preview_equals_generated(store, ctx, _csv(TITLES), config)
    cards = previews.run_preview(store, ctx, checked.dataset_id, config, limit=3).preview.variations.to_dicts()
    assert cards[0]["ad_group_name"] == "new iPhone case"
    assert cards[0]["keywords"] == "phrase: new iPhone case\nphrase: best new iPhone case"
    assert cards[1]["description_1"] == "Great value iPhone cable for the price"

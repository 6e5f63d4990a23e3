"""Names people chose are shown as the very text on every page that shows them: a data set, template, rule set,
feed, campaign set, webhook endpoint, API key, word list, workspace or member named with Markdown or HTML cannot
draw a link, load a remote image (a tracking pixel in every member's browser), colour text, make a heading or bold
text.

Each case seeds one entity through its service, opens the page that shows it and reads every element Streamlit
renders as Markdown (text, captions, alerts, toasts, titles, and the labels of buttons, inputs, expanders, tabs and
metrics): outside code spans, none may hold the name's markup unescaped, and what a person reads there (escapes
removed) holds the name as written."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from studio.context import Context
from studio.settings import load_settings
from studio.store.session import Store
from tests.pages.conftest import sign_up

# At most 100 characters: an API key's name may not be longer.
EVIL = "# Hi [click](https://evil.example) ![px](https://evil.example/p.png) :red[alarm] <img src=x> **b**"
ACTIVE = {  # what each piece of markup would do if it reached Markdown unescaped
    "a link": re.compile(r"(?<!\\)\[click\]"),
    "a remote image": re.compile(r"(?<!\\)\[px\]"),
    "coloured text (a directive)": re.compile(r"(?<!\\):red"),
    "a bare address Markdown links": re.compile(r"https://evil\.example"),
    "an HTML tag": re.compile(r"(?<!\\)<img"),
    "bold text": re.compile(r"\*\*b\*\*"),
    "a heading": re.compile(r"(?m)^ {0,3}#{1,6}[ \t]+Hi"),
}
CSV = b"name,price\nShoe,10\nCap,5\n"
THREAD = {"subreddit": "deals", "title": "{{ name }} for {{ price }}"}
_CODE_SPAN = re.compile(r"(?<![\\`])(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])|\u2060")


@dataclass(frozen=True)
class Case:
    page: str
    seed: Callable[[Store, Context], Any]  # returns what `act` needs
    act: Callable[[Any, Any], None] = lambda at, seeded: None  # clicks after the page is drawn
    member: str = "Ada Analyst"
    before: Callable[[Any, Any], None] = lambda at, seeded: None  # session state set before the page is drawn
    env: dict[str, str] = field(default_factory=dict)


def _dataset(store: Store, ctx: Context, name: str | None = "Products", filename: str = "products.csv") -> Any:
    from studio import datasets

    return datasets.upload(store, ctx, filename, CSV, name=name)


def _template(store: Store, ctx: Context) -> Any:
    from studio import templates

    _dataset(store, ctx)
    return templates.create_template(store, ctx, EVIL, "reddit/thread", THREAD)


def _rule_set(store: Store, ctx: Context) -> Any:
    from studio import rule_sets

    _dataset(store, ctx)
    return rule_sets.create_rule_set(store, ctx, EVIL, [])


def _campaign_set(store: Store, ctx: Context) -> Any:
    from studio import campaigns

    ds = _dataset(store, ctx)
    return campaigns.create(store, ctx, EVIL, ds.id, {"platform": "reddit", "format": "thread", "templates": THREAD})


def _feed(store: Store, ctx: Context) -> Any:
    from studio import feeds
    from tests.feed_server import FeedServer, Route

    server = FeedServer().start()
    try:
        server.routes["/p.csv"] = Route(CSV)
        return feeds.create_from_url(store, ctx, server.url("/p.csv"), name=EVIL)
    finally:
        server.stop()


def _webhook(store: Store, ctx: Context) -> Any:
    from studio import webhooks

    return webhooks.create_endpoint(store, ctx, "http://127.0.0.1:9/hook", ["generation.completed"], description=EVIL)


def _api_key(store: Store, ctx: Context) -> Any:
    from studio.api import keys

    return keys.create_key(store, ctx, EVIL, ["read"], "member")


def _workspace(store: Store, ctx: Context) -> Any:
    from studio import workspaces

    return workspaces.rename(store, ctx, EVIL)


def _notification(store: Store, ctx: Context) -> Any:
    from studio import events

    with store.session_scope(ctx) as s:
        events.emit(s, "generation.completed", {"set_name": EVIL})


def _word_list(store: Store, ctx: Context) -> Any:
    from studio import word_lists

    return word_lists.save_word_list(store, ctx, banned=[EVIL], banned_mode="replace",
                                      replacement=EVIL.replace("Hi", "Ho"))


def _clashing_word_list(at: Any, seeded: Any) -> None:
    """The same phrase banned and as a brand spelling: the refusal quotes it."""
    next(t for t in at.text_area if t.label.startswith("Brand spellings")).input(EVIL)
    next(b for b in at.button if b.label == "Save word list").click().run()
    assert any("both banned and a brand spelling" in e.value for e in at.error), [e.value for e in at.error]


def _click(label: str) -> Callable[[Any, Any], None]:
    def click(at: Any, seeded: Any) -> None:
        next(b for b in at.button if b.label == label).click().run()
    return click


def _pick(key: str) -> Callable[[Any, Any], None]:
    def pick(at: Any, seeded: Any) -> None:
        at.session_state[key] = str(seeded.id)
    return pick


CASES = {
    "data set name and file (Data sources)": Case("pages/data_sources.py",
                                                 lambda s, c: _dataset(s, c, name=None, filename=f"{EVIL}.csv")),
    "data set name (Explore)": Case("pages/explore.py", lambda s, c: _dataset(s, c, name=EVIL)),
    "data set name (Rules)": Case("pages/rules.py", lambda s, c: _dataset(s, c, name=EVIL)),
    "feed source (Data sources)": Case("pages/data_sources.py", _feed, env={"FEED_ALLOWED_NETWORKS": "127.0.0.1"}),
    "template name (Templates)": Case("pages/templates.py", _template, before=_pick("te_pick_request"),
                                      act=_click("Delete")),
    "rule set name and who saved it (Rules)": Case("pages/rules.py", _rule_set, member=EVIL,
                                                   before=_pick("rp_pick_request"), act=_click("Delete")),
    "campaign set name (Campaign sets)": Case("pages/campaigns.py", _campaign_set),
    "webhook endpoint description (Webhooks & Slack)": Case("pages/webhooks.py", _webhook,
                                                            env={"WEBHOOK_ALLOW_PRIVATE": "on"}),
    "API key name (API keys)": Case("pages/api_keys.py", _api_key),
    "workspace name (Workspace settings)": Case("pages/workspace.py", _workspace),
    "word list and its refusal (Workspace settings)": Case("pages/workspace.py", _word_list, act=_clashing_word_list),
    "campaign set name in a notification (Notifications)": Case("pages/notifications.py", _notification),
    "member name (Team and the sidebar)": Case("pages/team.py", lambda s, c: None, member=EVIL),
}


def _markdown_texts(at: Any) -> list[str]:
    """Everything Streamlit draws through its Markdown renderer."""
    texts = [str(e.value) for kind in ("markdown", "caption", "info", "warning", "error", "success", "title",
                                       "header", "subheader", "toast") for e in getattr(at, kind)]
    for kind in ("button", "text_input", "text_area", "checkbox", "toggle", "selectbox", "multiselect", "radio",
                 "number_input", "expander", "tabs", "metric"):
        texts += [str(e.label) for e in getattr(at, kind)]
    texts += [str(o) for r in at.radio for o in r.options]  # radio options are Markdown too
    return texts


def _read(text: str) -> str:
    """What a person reads of a Markdown text: escapes and invisible joiners removed."""
    return _ESCAPE.sub(lambda m: m[1] or "", text)


def _plain_texts(at: Any) -> list[str]:
    """Text shown as written whatever it holds (picker options, field values)."""
    return [str(o) for kind in ("selectbox", "multiselect") for e in getattr(at, kind) for o in e.options] + \
        [str(e.value) for kind in ("text_input", "text_area") for e in getattr(at, kind)]


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_a_hostile_name_is_shown_as_text(new_app, monkeypatch, case):
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    at = new_app()
    sign_up(at, name=case.member)
    store = Store(load_settings())
    try:
        ctx = Context(user_id=uuid.UUID(at.session_state["dotoro_account"][0]),
                      workspace_id=uuid.UUID(at.session_state["dotoro_workspace_id"]))
        seeded = case.seed(store, ctx)
    finally:
        store.dispose()
    case.before(at, seeded)
    at.switch_page(case.page).run()
    assert not at.exception, at.exception
    case.act(at, seeded)
    assert not at.exception, at.exception

    rendered = _markdown_texts(at)
    for text in rendered:
        outside_code = _CODE_SPAN.sub("`…`", text)
        for effect, pattern in ACTIVE.items():
            assert not pattern.search(outside_code), f"{effect} on {case.page}: {text!r}"
    read = "\n".join(_read(text) for text in rendered)
    shown = EVIL[:39]  # lists cut long names (API keys at 40 characters)
    assert shown in read or shown in "\n".join(_plain_texts(at)), f"the name is not shown on {case.page}"


def test_code_spans_and_escapes_read_as_written():
    """The helpers the pages use: what a person reads is the text itself, whatever backticks or markup it holds."""
    from studio.ui import widgets

    assert widgets.as_code("a `b` c") == "``a `b` c``"
    assert widgets.as_code("`x") == "`` `x ``"
    assert _read(widgets.as_text(EVIL)) == EVIL
    message = widgets.as_message(f"Column `price_eur` of {EVIL} is not a number (row 2).")
    assert message.startswith("Column `price_eur` of \\# Hi \\[click\\]\\(https:\u2060//") and message.endswith("(row 2).")
    assert widgets.as_text("product_name - 2024") == "product_name - 2024"  # nothing escaped that needs none
    from studio.ui.template_editor import reddit_markdown

    assert reddit_markdown("![px](https://evil.example/p.png) [ok](https://shop.example)") == \
        "!\\[px](https://evil.example/p.png) [ok](https://shop.example)"  # links stay: Reddit has them
    assert widgets.as_text("line\n- item\n1. first") == "line\n\\- item\n1\\. first"
    assert widgets.as_text("at 12:30: :smile: www.shop.example") == "at 12:30: \\:smile: www\u2060.shop.example"


@pytest.mark.parametrize(("stored", "link"), [
    ("/r/deals/comments/abc/", "https://www.reddit.com/r/deals/comments/abc/"),  # a post: its permalink
    ("https://www.reddit.com/r/deals/comments/abc/x/def/", "https://www.reddit.com/r/deals/comments/abc/x/def/"),
    ("javascript:alert(1)", None), ("", None), (None, None),
])
def test_the_queue_links_a_post_on_reddit_and_nothing_else(stored, link):
    from studio.ui.publishing import _reddit_link

    assert _reddit_link(stored) == link

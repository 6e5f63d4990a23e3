"""The Templates page through AppTest: empty state, write → live render + counter, errors inline, versions, viewer."""

from __future__ import annotations

import pytest

from tests.pages.conftest import ROOT, sign_up, texts

EDITOR_PAGES = {"templates": ("pages/templates.py", "Templates"), "rules": ("pages/rules.py", "Rules")}


@pytest.fixture(autouse=True)
def editor_pages(monkeypatch):
    """Add the editor pages to app.py's navigation when it does not list them (yet); a no-op once it does."""
    import streamlit as st

    original = st.navigation

    def navigation(pages, *args, **kwargs):
        if isinstance(pages, dict) and "Studio" in pages:
            present = {p.url_path for group in pages.values() for p in group}
            extra = [st.Page(path, title=title, url_path=url) for url, (path, title) in EDITOR_PAGES.items()
                     if url not in present and (ROOT / path).is_file()]
            pages = {**pages, "Studio": [*pages["Studio"], *extra]}
        return original(pages, *args, **kwargs)

    monkeypatch.setattr(st, "navigation", navigation)


def shown(at) -> str:
    """What the user reads, with Markdown escapes removed."""
    return texts(at).replace("\\", "")


def _demo(at):
    next(b for b in at.button if b.label == "Load the demo data set").click()
    at.run()


def _new(at):
    """Pick "+ New template" (the page opens on the newest saved one, the demo's here)."""
    at.selectbox(key="te_pick").set_value("new").run()


def _editor(at, field: str):
    return next(t for t in at.text_area if t.key.startswith("te_f_") and t.key.endswith(f"_{field}"))


def test_empty_workspace_is_sent_to_data_sources(new_app):
    at = new_app()
    sign_up(at)
    at.switch_page("pages/templates.py").run()
    assert not at.exception, at.exception
    assert "No data sets yet" in texts(at)
    assert not at.text_area


def test_write_a_title_see_it_rendered_counted_saved_and_versioned(new_app):
    at = new_app()
    sign_up(at)
    _demo(at)
    at.switch_page("pages/templates.py").run()
    assert not at.exception, at.exception
    pick = at.selectbox(key="te_pick")
    assert [o.split(" · ")[0] for o in pick.options] == ["+ New template", "Demo threads"]
    _new(at)
    _editor(at, "title").input("{{ product_name }} in {{ city }}").run()
    assert "Open-Back 600 in Toronto" in shown(at)  # the live card, row 1
    assert "24 / 300 characters" in texts(at)
    at.number_input(key="te_row").set_value(2).run()
    assert "Co-op Quest in Portland" in shown(at)

    next(b for b in at.button if b.label == "flair").click().run()  # click a column: insert it
    assert _editor(at, "title").value == "{{ product_name }} in {{ city }} {{ flair }}"

    at.text_input(key="te_name").input("Launch threads")
    next(b for b in at.button if b.label == "Save template").click().run()
    assert not at.exception, at.exception
    assert "Saved 'Launch threads' as version 1." in shown(at)
    assert at.selectbox(key="te_pick").format_func(at.selectbox(key="te_pick").value).endswith("· v1")
    _editor(at, "title").input("{{ product_name }}!").run()
    assert "Unsaved changes" in texts(at)
    next(b for b in at.button if b.label == "Save as version 2").click().run()
    assert "as version 2" in texts(at)
    restore = next(b for b in at.button if b.label == "Restore")
    restore.click().run()
    assert "Restored version 1 as version 3." in texts(at)
    assert _editor(at, "title").value == "{{ product_name }} in {{ city }} {{ flair }}"

    next(b for b in at.button if b.label == "Duplicate").click().run()
    assert "Duplicated as 'Launch threads (copy)'." in texts(at)
    next(b for b in at.button if b.label == "Delete").click().run()
    assert "Delete 'Launch threads (copy)' and all 1 of its versions?" in texts(at)
    next(b for b in at.button if b.label == "Yes, delete").click().run()
    assert "Deleted 'Launch threads (copy)'." in texts(at)
    assert len(at.selectbox(key="te_pick").options) == 3  # new, the demo's and the original


def test_syntax_error_and_unknown_variable_show_position_and_fix(new_app):
    at = new_app()
    sign_up(at)
    _demo(at)
    at.switch_page("pages/templates.py").run()
    _editor(at, "title").input("Hello\n{{ product_name }").run()
    assert not at.exception, at.exception
    assert any(e.value.startswith("line 2, column") for e in at.error), [e.value for e in at.error]
    _editor(at, "title").input("Hi {{ prodcut_name }}").run()
    assert any("line 1, column 7: unknown variable `prodcut_name` — did you mean `product_name`?" in e.value
               for e in at.error), [e.value for e in at.error]
    next(b for b in at.button if b.label == "Use `product_name`").click().run()
    assert _editor(at, "title").value == "Hi {{ product_name }}"
    assert not at.error
    _editor(at, "title").input("{{ product_name * 100 }}").run()
    assert "1,300 / 300 characters — 1,000 over the limit" in texts(at)


def test_reddit_body_renders_markdown_and_escapes_html(new_app):
    at = new_app()
    sign_up(at)
    _demo(at)
    at.switch_page("pages/templates.py").run()
    _editor(at, "body").input("**{{ product_name }}** <script>alert(1)</script> see r/{{ subreddit }}").run()
    body = next(m.value for m in at.markdown if "Open-Back 600" in m.value and "**" in m.value)
    assert "&lt;script>" in body and "<script>" not in body
    assert "[r/headphones](https://www.reddit.com/r/headphones)" in body


def test_viewer_reads_but_cannot_save(new_app):
    owner = new_app()
    sign_up(owner, name="Olga Owner")
    _demo(owner)
    owner.switch_page("pages/templates.py").run()
    _new(owner)
    _editor(owner, "title").input("{{ product_name }}")
    owner.text_input(key="te_name").input("Shared")
    next(b for b in owner.button if b.label == "Save template").click().run()

    viewer = new_app()
    email = sign_up(viewer, name="Vera Viewer")
    owner.switch_page("pages/team.py").run()
    owner.text_input(key="invite_email").input(email)
    owner.selectbox(key="invite_role").select("viewer")
    next(b for b in owner.button if b.label == "Send invitation").click().run()
    viewer.query_params["invite"] = owner.code[0].value.split("invite=")[1]
    viewer.run()
    next(b for b in viewer.button if b.label == "Accept").click().run()
    viewer.switch_page("pages/templates.py").run()
    assert not viewer.exception, viewer.exception
    pick = viewer.selectbox(key="te_pick")
    pick.select_index(next(i for i, o in enumerate(pick.options) if o.startswith("Shared"))).run()
    assert "you can read templates" in shown(viewer)
    assert _editor(viewer, "title").disabled and _editor(viewer, "title").value == "{{ product_name }}"
    assert "Open-Back 600" in shown(viewer)
    labels = {b.label for b in viewer.button}
    assert not labels & {"Save as version 2", "Save template", "Duplicate", "Delete", "Restore", "flair"}


@pytest.mark.parametrize(("body", "shown_as"), [
    ("<b>x</b> & <img src=x onerror=alert(1)>", "&lt;b>x&lt;/b> & &lt;img src=x onerror=alert(1)>"),
    ("costs $5 to $9", "costs \\$5 to \\$9"),
    (":red[loud] :material/home: :smile:", "\\:red[loud] \\:material/home: \\:smile:"),
    ("ask r/running or /u/bob", ("ask [r/running](https://www.reddit.com/r/running) or "
                                "[/u/bob](https://www.reddit.com/u/bob)")),
    ("https://www.reddit.com/r/running stays", "https://www.reddit.com/r/running stays"),
    ("`$HOME <b>` and\n```\n<i>$x</i>\n```", "`$HOME <b>` and\n```\n<i>$x</i>\n```"),
])
def test_reddit_markdown_is_reddit_not_streamlit(body, shown_as):
    from studio.ui.template_editor import reddit_markdown

    assert reddit_markdown(body) == shown_as


def test_flags_are_toggles_on_off_or_from_a_column(new_app):
    at = new_app()
    sign_up(at)
    _demo(at)
    at.switch_page("pages/templates.py").run()
    nsfw = next(g for g in at.button_group if g.key.endswith("_nsfw_mode"))
    assert nsfw.value == "off" and not [t for t in at.text_input if t.key.endswith("_nsfw")]  # no free-text box
    nsfw.set_value("on").run()
    assert "NSFW: yes" in shown(at)
    next(g for g in at.button_group if g.key.endswith("_nsfw_mode")).set_value("column").run()
    column = next(s for s in at.selectbox if s.key.endswith("_nsfw_column"))
    assert column.options == ["in_stock"]  # the data set's boolean columns
    assert not at.exception, at.exception
    assert "NSFW: yes" in shown(at)  # row 1 is in stock
    at.number_input(key="te_row").set_value(7).run()
    assert "NSFW: no" in shown(at)  # row 7 is not
    spoiler = next(g for g in at.button_group if g.key.endswith("_spoiler_mode"))
    assert spoiler.value == "off"


def test_the_page_opens_on_the_newest_saved_template_of_the_chosen_format(new_app):
    import uuid

    from studio import drafts, templates
    from studio.context import Context
    from studio.settings import load_settings
    from studio.store.session import Store
    from tests.pages.conftest import sign_in

    at = new_app()
    email = sign_up(at)
    _demo(at)
    at.switch_page("pages/templates.py").run()
    pick = at.selectbox(key="te_pick")
    assert pick.value != "new" and pick.format_func(pick.value).startswith("Demo threads")  # not "+ New template"
    assert "{{" in _editor(at, "title").value  # the demo's own title, ready to edit

    who = at.session_state["dotoro_account"]
    ctx = Context(user_id=uuid.UUID(who[0]), workspace_id=uuid.UUID(at.session_state["dotoro_workspace_id"]))
    store = Store(load_settings())
    templates.create_template(store, ctx, "Fresh threads", "reddit/thread",
                              {"subreddit": "{{ subreddit }}", "title": "Fresh {{ product_name }}"})
    templates.create_template(store, ctx, "Posts on X", "x/post", {"text": "{{ product_name }}"})

    def opened() -> str:
        again = new_app()
        sign_in(again, email, "s3cret-pass")
        again.switch_page("pages/templates.py").run()
        assert not again.exception, again.exception
        p = again.selectbox(key="te_pick")
        return p.format_func(p.value).split(" · ")[0]

    assert opened() == "Posts on X"  # no format chosen yet: the newest of all
    drafts.save(store, ctx, "preview", {"format": "reddit/thread"})  # the format last previewed
    assert opened() == "Fresh threads"
    drafts.save(store, ctx, "templates", {"te_f_new_reddit/thread_title": "Half-written {{ product_name }}"})
    assert opened() == "+ New template"  # an unsaved new template of that format is where the user left off
    store.dispose()


def test_the_template_picked_last_is_kept_across_pages(new_app):
    import uuid

    from studio import templates
    from studio.context import Context
    from studio.settings import load_settings
    from studio.store.session import Store

    at = new_app()
    sign_up(at)
    _demo(at)
    who = at.session_state["dotoro_account"]
    ctx = Context(user_id=uuid.UUID(who[0]), workspace_id=uuid.UUID(at.session_state["dotoro_workspace_id"]))
    store = Store(load_settings())
    templates.create_template(store, ctx, "Fresh threads", "reddit/thread", {"title": "Fresh {{ product_name }}"})
    store.dispose()
    at.switch_page("pages/templates.py").run()
    pick = at.selectbox(key="te_pick")
    assert pick.format_func(pick.value).startswith("Fresh threads")  # the newest
    pick.select_index(next(i for i, o in enumerate(pick.options) if o.startswith("Demo threads"))).run()
    at.switch_page("pages/preview.py").run()
    at.switch_page("pages/templates.py").run()
    pick = at.selectbox(key="te_pick")
    assert pick.format_func(pick.value).startswith("Demo threads")  # where the user left it, not the newest

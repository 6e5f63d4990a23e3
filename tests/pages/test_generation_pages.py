"""Preview → Generate → Campaign sets, through the studio (embedded mode: jobs run in-process)."""

from __future__ import annotations

from tests.pages.conftest import sign_in, sign_up, texts

OWN = b"sku,Item Title,Community,Shop Link,Notes\n1,Trail Shoe,running,https://x.example/1,light\n2,City Boot,boots,https://x.example/2,warm\n"
SKIP_NO_SALE = ('[{"id": "r1", "name": "No sale", "enabled": true, "priority": 1, '
                '"conditions": {"logic": "and", "items": [{"field": "sale_price", "operator": "is_empty"}]}, '
                '"actions": [{"type": "skip", "params": {}}]}]')


def _with_demo(new_app):
    at = new_app()
    sign_up(at)
    next(b for b in at.button if b.label == "Load the demo data set").click()
    at.run()
    return at


def test_preview_shows_figures_and_generate_creates_a_ready_set(new_app):
    at = _with_demo(new_app)
    at.switch_page("pages/preview.py").run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Rows"] == "60" and metrics["Variations"] == "60"
    at.selectbox(key="pv_rule_set").set_value("json").run()
    at.text_area(key="pv_rules").input(SKIP_NO_SALE).run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Skipped by rules"] == "26" and metrics["Variations"] == "34"
    next(b for b in at.button if b.label == "Generate").click()
    at.run()
    assert not at.exception, at.exception
    assert "Campaign sets" in texts(at)
    assert "34 / 34" not in texts(at)  # progress text lives in the bar
    assert "Ready · 34 variations" in texts(at)
    assert "34 variations match" in texts(at)


def _ctx_store(at):
    import uuid

    from studio.context import Context
    from studio.settings import load_settings
    from studio.store.session import Store

    who = at.session_state["dotoro_account"]
    ctx = Context(user_id=uuid.UUID(who[0]), workspace_id=uuid.UUID(at.session_state["dotoro_workspace_id"]))
    return ctx, Store(load_settings())  # the same embedded store the app uses


def test_bad_rules_json_and_bad_template_show_clear_errors(new_app):
    from studio import templates

    at = _with_demo(new_app)
    at.switch_page("pages/preview.py").run()
    at.selectbox(key="pv_rule_set").set_value("json").run()
    at.text_area(key="pv_rules").input("[{").run()
    assert any("not valid JSON" in e.value for e in at.error)
    at.text_area(key="pv_rules").input("[]").run()
    ctx, store = _ctx_store(at)
    typo = templates.create_template(store, ctx, "Typo", "reddit/thread",
                                     {"subreddit": "{{ subreddit }}", "title": "{{ prodcut_name }}"})
    store.dispose()
    at.run()
    picker = next(s for s in at.selectbox if s.key.startswith("pv_tpl_"))
    picker.set_value(f"saved:{typo.id}").run()
    assert not at.exception
    assert any("product_name" in e.value for e in at.error), [e.value for e in at.error]


def test_preview_uses_the_template_and_rule_set_just_saved(new_app):
    from studio import rule_sets, templates

    at = _with_demo(new_app)
    at.switch_page("pages/preview.py").run()  # opened before they exist: the draft holds the demo's choices
    assert {m.label: m.value for m in at.metric}["Skipped by rules"] == "0"
    at.switch_page("pages/rules.py").run()
    ctx, store = _ctx_store(at)
    templates.create_template(store, ctx, "Short", "reddit/thread",
                              {"subreddit": "{{ subreddit }}", "title": "Deal: {{ product_name }}"})
    rule_sets.create_rule_set(store, ctx, "Only sales", [
        {"id": "r1", "name": "No sale", "enabled": True, "priority": 1,
         "conditions": {"logic": "and", "items": [{"field": "sale_price", "operator": "is_empty"}]},
         "actions": [{"type": "skip", "params": {}}]}])
    store.dispose()
    at.switch_page("pages/preview.py").run()  # nothing picked: the newest template and rule set
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Skipped by rules"] == "26"
    assert "Deal: Open-Back 600" in texts(at) or any("Deal: Open-Back 600" in m.value for m in at.markdown)


def test_variation_sources_cross_every_row(new_app):
    at = _with_demo(new_app)
    at.switch_page("pages/preview.py").run()
    at.text_area(key="pv_sources").input("cta: Shop now | Learn more").run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Variations"] == "120"
    at.text_area(key="pv_sources").input("cta Shop now").run()
    assert any("Variation sources, line 1" in e.value for e in at.error)


def test_a_stalled_run_offers_resume_and_finishes(new_app):
    import datetime as dt
    import uuid

    from studio import campaigns
    from studio.context import Context
    from studio.settings import load_settings
    from studio.store.session import Store
    from tests.runs import stall_latest_run

    at = _with_demo(new_app)
    at.switch_page("pages/preview.py").run()
    next(b for b in at.button if b.label == "Generate").click()
    at.run()
    who = at.session_state["dotoro_account"]
    ctx = Context(user_id=uuid.UUID(who[0]), workspace_id=uuid.UUID(at.session_state["dotoro_workspace_id"]))
    store = Store(load_settings())
    set_id = campaigns.list_sets(store, ctx)[0].id
    stall_latest_run(store, ctx, set_id, campaigns.STALL_AFTER + dt.timedelta(minutes=2))
    store.dispose()
    at.switch_page("pages/campaigns.py").run()
    assert any("No progress for 5 minutes" in w.value for w in at.warning), [w.value for w in at.warning]
    next(b for b in at.button if b.label == "Resume generation").click()
    at.run()
    assert not at.exception, at.exception
    assert any("Queued 1 unfinished chunk again" in m.value for m in at.success)
    store = Store(load_settings())
    info = campaigns.latest_run(store, ctx, set_id)
    store.dispose()
    assert (info.status, info.rows_done, info.variations) == ("done", 60, 60)
    at.run()
    assert not any("No progress" in w.value for w in at.warning)


def test_preview_cards_show_tags_and_the_rules_that_fired(new_app):
    at = _with_demo(new_app)
    at.switch_page("pages/preview.py").run()
    at.selectbox(key="pv_rule_set").set_value("json").run()
    at.text_area(key="pv_rules").input('[{"id": "r1", "name": "On sale", "enabled": true, "priority": 1, '
                                       '"conditions": {"logic": "and", "items": [{"field": "sale_price", "operator": "is_not_empty"}]}, '
                                       '"actions": [{"type": "add_tag", "params": {"tag": "sale"}}]}]').run()
    assert not at.exception, at.exception
    captions = [c.value for c in at.caption]
    assert any("`sale`" in c and "rules: On sale" in c for c in captions), captions
    assert any(c.startswith("row ") and "rules:" not in c for c in captions)  # rows without a sale price


def _upload(at, name: str, data: bytes) -> None:
    at.switch_page("pages/data_sources.py").run()
    at.file_uploader(key=next(u.key for u in at.get("file_uploader") if u.key.startswith("upload_file"))).set_value(
        (name, data, "text/csv"))
    at.run()
    at.button(key="upload_go").click().run()


def test_own_columns_get_a_starter_without_unknown_variables(new_app):
    at = _with_demo(new_app)  # the demo's saved template names columns this data set does not have
    _upload(at, "shop.csv", OWN)
    at.switch_page("pages/preview.py").run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert next(s for s in at.selectbox if s.key.startswith("pv_tpl_")).value == "starter"
    assert {m.label: m.value for m in at.metric}["Variations"] == "2"
    fields = "\n".join(c.value for c in at.code if c.language == "django")
    assert "{{ item_title }}" in fields and "{{ community }}" in fields
    assert "subreddit" not in fields and "product_name" not in fields  # only names the data has


def test_products_2k_asks_for_the_subreddit_and_never_shows_an_unknown_variable(new_app):
    from tests.sample_data import products_csv

    at = new_app()
    sign_up(at)
    _upload(at, "products_2k.csv", products_csv())
    at.switch_page("pages/preview.py").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "do not say which holds the subreddit" in texts(at)
    question = next(s for s in at.selectbox if s.label == "Which column holds the subreddit?")
    assert question.value == ""  # asked, not guessed
    question.set_value("=").run()
    next(t for t in at.text_input if t.key.endswith("_subreddit_text")).input("deals").run()
    assert not at.error, [e.value for e in at.error]
    assert {m.label: m.value for m in at.metric}["Variations"] == "2,000"
    assert "unknown variable" not in texts(at)


def test_the_preview_draft_resumes_in_a_new_session(new_app):
    at = _with_demo(new_app)
    email = at.session_state["dotoro_account"][1]
    at.switch_page("pages/preview.py").run()
    next(s for s in at.selectbox if s.key.startswith("pv_tpl_")).set_value("starter").run()  # not the default
    at.selectbox(key="pv_rule_set").set_value("json").run()
    at.text_area(key="pv_rules").input(SKIP_NO_SALE).run()
    at.text_area(key="pv_sources").input("cta: Shop now | Learn more").run()
    at.radio(key="pv_strategy").set_value("truncate").run()
    assert {m.label: m.value for m in at.metric}["Variations"] == "68"

    again = new_app()  # a reload, or another machine: a new browser session
    sign_in(again, email, "s3cret-pass")
    again.switch_page("pages/preview.py").run()
    assert not again.exception, again.exception
    assert again.selectbox(key="pv_rule_set").value == "json"
    assert again.text_area(key="pv_sources").value == "cta: Shop now | Learn more"
    assert again.radio(key="pv_strategy").value == "truncate"
    assert next(s for s in again.selectbox if s.key.startswith("pv_tpl_")).value == "starter"
    assert {m.label: m.value for m in again.metric}["Variations"] == "68"


def test_unsaved_template_text_reaches_the_preview_and_a_new_session(new_app):
    at = _with_demo(new_app)
    email = at.session_state["dotoro_account"][1]
    at.switch_page("pages/templates.py").run()
    at.selectbox(key="te_pick").set_value("new").run()  # it opens on the demo's saved template
    title = next(t for t in at.text_area if t.key.startswith("te_f_new_") and t.key.endswith("_title"))
    title.input("Fresh: {{ product_name }}").run()
    next(t for t in at.text_input if t.key.startswith("te_f_new_") and t.key.endswith("_subreddit")).input(
        "{{ subreddit }}").run()
    at.switch_page("pages/preview.py").run()
    picker = next(s for s in at.selectbox if s.key.startswith("pv_tpl_"))
    assert picker.value == "draft:new_reddit/thread"  # the unsaved draft comes first
    assert any("Fresh: Open-Back 600" in m.value for m in at.markdown)

    again = new_app()
    sign_in(again, email, "s3cret-pass")
    again.switch_page("pages/templates.py").run()
    title = next(t for t in again.text_area if t.key.startswith("te_f_new_") and t.key.endswith("_title"))
    assert title.value == "Fresh: {{ product_name }}"


def test_the_starter_opens_on_templates_and_a_saved_template_comes_back_to_the_preview(new_app):
    at = new_app()
    sign_up(at)
    _upload(at, "shop.csv", OWN)
    at.switch_page("pages/preview.py").run()
    next(b for b in at.button if b.label == "Open this starter on Templates").click().run()
    assert not at.exception, at.exception
    title = next(t for t in at.text_area if t.key.startswith("te_f_new_reddit/thread") and t.key.endswith("_title"))
    assert title.value == "{{ item_title }}"  # the starter, ready to edit in the one editor
    at.switch_page("pages/templates.py")  # AppTest keeps the page it was told, not the one the app switched to
    title.input("Only {{ item_title }}").run()
    at.text_input(key="te_name").input("Shop threads")
    next(b for b in at.button if b.label == "Save template").click().run()
    assert "Saved 'Shop threads' as version 1." in texts(at).replace("\\\\", "")
    at.switch_page("pages/preview.py").run()
    picker = next(s for s in at.selectbox if s.key.startswith("pv_tpl_"))
    assert picker.options[picker.index] == "Shop threads · version 1"
    assert any("Only Trail Shoe" in m.value for m in at.markdown)
    assert not at.error


def test_an_earlier_saved_version_can_be_previewed_and_is_remembered(new_app):
    from studio import templates

    at = _with_demo(new_app)
    email = at.session_state["dotoro_account"][1]
    ctx, store = _ctx_store(at)
    t = templates.create_template(store, ctx, "Deals", "reddit/thread",
                                  {"subreddit": "{{ subreddit }}", "title": "First: {{ product_name }}"})
    templates.save_template(store, ctx, t.id, {"subreddit": "{{ subreddit }}", "title": "Second: {{ product_name }}"},
                            expected_version=1)
    store.dispose()
    at.switch_page("pages/preview.py").run()
    assert any("Second: Open-Back 600" in m.value for m in at.markdown)  # the current version
    version = at.selectbox(key=f"pv_ver_saved:{t.id}")
    assert version.options == ["version 2 (current)", "version 1"]
    version.select_index(1).run()
    assert any("First: Open-Back 600" in m.value for m in at.markdown)

    again = new_app()
    sign_in(again, email, "s3cret-pass")
    again.switch_page("pages/preview.py").run()
    assert any("First: Open-Back 600" in m.value for m in again.markdown)

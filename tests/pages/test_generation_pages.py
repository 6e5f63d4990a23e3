"""Preview → Generate → Campaign sets, through the studio (embedded mode: jobs run in-process)."""

from __future__ import annotations

from tests.pages.conftest import sign_up, texts


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
    at.text_area(key="pv_rules").input('[{"id": "r1", "name": "No sale", "enabled": true, "priority": 1, '
                                       '"conditions": {"logic": "and", "items": [{"field": "sale_price", "operator": "is_empty"}]}, '
                                       '"actions": [{"type": "skip", "params": {}}]}]').run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Skipped by rules"] == "26" and metrics["Variations"] == "34"
    next(b for b in at.button if b.label == "Generate").click()
    at.run()
    assert not at.exception, at.exception
    assert "Campaign sets" in texts(at)
    assert "34 / 34" not in texts(at)  # progress text lives in the bar
    assert any("· ready · 34 variations" in o for o in at.selectbox(key="cs_pick").options)
    assert "34 variations match" in texts(at)


def test_bad_rules_json_and_bad_template_show_clear_errors(new_app):
    at = _with_demo(new_app)
    at.switch_page("pages/preview.py").run()
    at.text_area(key="pv_rules").input("[{").run()
    assert any("not valid JSON" in e.value for e in at.error)
    at.text_area(key="pv_rules").input("[]").run()
    at.text_area(key="pv_tpl_reddit/thread_title_new").input("{{ prodcut_name }}").run()
    assert not at.exception
    assert any("product_name" in e.value for e in at.error), [e.value for e in at.error]


def test_preview_uses_a_saved_template_and_rule_set(new_app):
    import uuid

    from studio import rule_sets, templates
    from studio.context import Context
    from studio.settings import load_settings
    from studio.store.session import Store

    at = _with_demo(new_app)
    who = at.session_state["dotoro_account"]
    ctx = Context(user_id=uuid.UUID(who[0]), workspace_id=uuid.UUID(at.session_state["dotoro_workspace_id"]))
    store = Store(load_settings())  # the same embedded store the app uses
    templates.create_template(store, ctx, "Short", "reddit/thread",
                              {"subreddit": "{{ subreddit }}", "title": "Deal: {{ product_name }}"})
    rule_sets.create_rule_set(store, ctx, "Only sales", [
        {"id": "r1", "name": "No sale", "enabled": True, "priority": 1,
         "conditions": {"logic": "and", "items": [{"field": "sale_price", "operator": "is_empty"}]},
         "actions": [{"type": "skip", "params": {}}]}])
    store.dispose()
    at.switch_page("pages/preview.py").run()
    at.selectbox(key="pv_saved_reddit/thread").select_index(1).run()
    at.selectbox(key="pv_rule_set").select_index(1).run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Skipped by rules"] == "26"
    assert any(m.value.startswith("**Deal: ") for m in at.markdown)


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
    at.text_area(key="pv_rules").input('[{"id": "r1", "name": "On sale", "enabled": true, "priority": 1, '
                                       '"conditions": {"logic": "and", "items": [{"field": "sale_price", "operator": "is_not_empty"}]}, '
                                       '"actions": [{"type": "add_tag", "params": {"tag": "sale"}}]}]').run()
    assert not at.exception, at.exception
    captions = [c.value for c in at.caption]
    assert any("`sale`" in c and "rules: On sale" in c for c in captions), captions
    assert any(c.startswith("r/") and "rules:" not in c for c in captions)  # rows without a sale price

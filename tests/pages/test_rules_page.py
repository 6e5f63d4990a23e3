"""The Rules page through AppTest: empty state, build → match counts + trace, invalid rule, import/export, viewer."""

from __future__ import annotations

import json

from tests.pages.conftest import sign_up, texts
from tests.pages.test_templates_page import editor_pages, shown  # noqa: F401  (registers the pages' fixture)

RULE = {"id": "r1", "name": "No sale", "conditions": {"logic": "and", "items": [
    {"field": "sale_price", "operator": "is_empty"},
    {"logic": "or", "items": [{"field": "price", "operator": "greater_than", "value": 0},
                              {"logic": "and", "items": [{"field": "city", "operator": "contains", "value": "zz"}]}]}]},
        "actions": [{"type": "skip", "params": {}}]}  # three levels: deeper than the builder offers, still shown


def _rules_page(new_app, *, demo: bool = True):
    at = new_app()
    sign_up(at)
    if demo:
        next(b for b in at.button if b.label == "Load the demo data set").click().run()
    at.switch_page("pages/rules.py").run()
    assert not at.exception, at.exception
    return at


def _widget(items, suffix: str, nth: int = 0):
    return [w for w in items if w.key and w.key.startswith("rb_") and w.key.endswith(suffix)][nth]


def _button(at, label: str, nth: int = 0):
    return [b for b in at.button if b.label == label][nth]


def test_empty_workspace_is_sent_to_data_sources(new_app):
    at = _rules_page(new_app, demo=False)
    assert "No data sets yet" in texts(at)


def test_build_a_rule_and_see_its_matches_and_trace(new_app):
    at = _rules_page(new_app)
    assert "No rules yet." in texts(at)
    _button(at, "Add rule").click().run()
    _widget(at.selectbox, "_field").select("sale_price").run()
    assert _widget(at.selectbox, "_op").options == [
        "equals", "does not equal", "is greater than", "is less than", "is at least", "is at most", "is one of",
        "is none of", "is empty", "is not empty"]  # no text operators for a decimal column
    _widget(at.selectbox, "_op").select("is_empty").run()
    _widget(at.selectbox, "_type").select("skip").run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert "Matches 26 of 60 rows (43%)" in texts(at)
    table = at.dataframe[0].value
    assert list(table["Rows matched"]) == [26] and list(table["Share"].round(3)) == [0.433]
    at.number_input(key="rp_trace_row").set_value(2).run()
    assert "Rule 1** did not fire: sale_price is empty — no, it is '171.89'" in shown(at)

    _button(at, "Add rule").click().run()  # second rule: tag everything in Toronto
    _widget(at.selectbox, "_field", 1).select("city").run()
    _widget(at.text_input, "_v_scalar").input("toronto").run()
    _widget(at.selectbox, "_type", 1).select("add_tag").run()
    _widget(at.text_input, "_p_tag_text").input("north").run()
    assert not at.error, [e.value for e in at.error]
    table = at.dataframe[0].value
    assert list(table["Rule"]) == ["Rule 1", "Rule 2"]
    at.number_input(key="rp_trace_row").set_value(1).run()  # Open-Back 600 in Toronto, on sale
    assert "Rule 2** fired" in shown(at) and "tags: north" in shown(at)

    _button(at, "↑", 1).click().run()  # reorder: Rule 2 fires first
    assert list(at.dataframe[0].value["Rule"]) == ["Rule 2", "Rule 1"]
    _widget(at.toggle, "_on", 0).set_value(False).run()
    assert "disabled: it never fires" in texts(at)

    at.text_input(key="rp_name").input("Launch rules")
    _button(at, "Save rule set").click().run()
    assert not at.exception, at.exception
    assert "Saved 'Launch rules' (2 rules)." in texts(at)
    assert list(at.dataframe[0].value["Rule"]) == ["Rule 2", "Rule 1"]
    assert list(at.dataframe[0].value["On"]) == ["no", "yes"]


def test_invalid_rule_and_bad_import_show_clear_errors(new_app):
    at = _rules_page(new_app)
    _button(at, "Add rule").click().run()
    _widget(at.selectbox, "_field").select("price").run()  # once touched, what is missing is named
    assert any("Rule 'Rule 1': action 1 (set_field): parameter 'field' must not be empty" in e.value
               for e in at.error), [e.value for e in at.error]
    _widget(at.selectbox, "_type").select("skip").run()
    _widget(at.selectbox, "_op").select("greater_than").run()
    assert any("Rule 'Rule 1': condition 1 (price greater_than) needs a non-empty value" in e.value
               for e in at.error), [e.value for e in at.error]
    assert "Fix the rule marked above" in texts(at)

    at.text_area(key="rp_import_text").input("[{")
    _button(at, "Import").click().run()
    assert any("not valid JSON" in e.value and "line 1, column 3" in e.value for e in at.error)
    bad = [{**RULE, "conditions": {"items": [{"field": "prcie", "operator": "is_empty"}]}}]
    at.text_area(key="rp_import_text").input(json.dumps(bad))
    _button(at, "Import").click().run()
    assert any("Rule 'No sale': condition 1 uses unknown column 'prcie'; did you mean 'price'?" in e.value
               for e in at.error), [e.value for e in at.error]

    at.text_area(key="rp_import_text").input(json.dumps({"rules": [RULE]}))
    _button(at, "Import").click().run()
    assert "Imported 1 rule into the builder" in texts(at)
    assert [r.value for r in at.radio if r.key.startswith("rb_")] == ["and", "or", "and"]  # nested groups
    assert "Matches 26 of 60 rows" in texts(at)
    exported = json.loads(at.code[0].value)
    assert exported["rules"][0]["conditions"] == {"logic": "and", "items": [
        {"field": "sale_price", "operator": "is_empty", "value": None},
        {"logic": "or", "items": [{"field": "price", "operator": "greater_than", "value": 0},
                                  {"logic": "and", "items": [{"field": "city", "operator": "contains", "value": "zz"}]}]}]}


def test_viewer_sees_rules_read_only_and_can_test(new_app):
    owner = _rules_page(new_app)
    owner.text_area(key="rp_import_text").input(json.dumps([RULE]))
    _button(owner, "Import").click().run()
    owner.text_input(key="rp_name").input("Shared")
    _button(owner, "Save rule set").click().run()

    viewer = new_app()
    email = sign_up(viewer, name="Vera Viewer")
    owner.switch_page("pages/team.py").run()
    owner.text_input(key="invite_email").input(email)
    owner.selectbox(key="invite_role").select("viewer")
    _button(owner, "Send invitation").click().run()
    viewer.query_params["invite"] = owner.code[0].value.split("invite=")[1]
    viewer.run()
    _button(viewer, "Accept").click().run()
    viewer.switch_page("pages/rules.py").run()
    pick = viewer.selectbox(key="rp_pick")
    pick.select(pick.options[1]).run()
    assert not viewer.exception, viewer.exception
    assert "you can read rules and test them on data" in texts(viewer)
    assert all(w.disabled for w in viewer.selectbox if w.key.startswith("rb_"))
    assert "Matches 26 of 60 rows" in texts(viewer)
    labels = {b.label for b in viewer.button}
    assert not labels & {"Save", "Save rule set", "Duplicate", "Delete", "Import", "Add rule", "↑", "✕"}


def test_a_new_rule_shows_no_error_before_it_is_touched(new_app):
    at = _rules_page(new_app)
    _button(at, "Add rule").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert "New rule: pick the condition and what to do" in texts(at)
    _widget(at.selectbox, "_field").select("sale_price").run()  # touched, still incomplete: now it says what is missing
    assert at.error and "New rule:" not in texts(at)
    _widget(at.selectbox, "_type").select("skip").run()
    _widget(at.selectbox, "_op").select("is_empty").run()
    assert not at.error, [e.value for e in at.error]
    assert "Matches 26 of 60 rows (43%)" in texts(at)

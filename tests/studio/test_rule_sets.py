"""Rule sets: save/duplicate/delete, JSON import/export, "Test on data" with a trace, roles, tenant isolation."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from engine.rules import RuleError
from studio import auth, datasets, invitations, rule_sets
from studio.context import Context, Role
from studio.errors import NotFound, PermissionDenied, ValidationFailed
from studio.store.session import Store

DEMO = Path(__file__).resolve().parents[2] / "studio" / "demo" / "reddit_threads_sample.csv"
NO_SALE = {"id": "r1", "name": "No sale", "conditions": {"logic": "and", "items": [
    {"field": "sale_price", "operator": "is_empty"}]}, "actions": [{"type": "skip", "params": {}}]}
PREMIUM = {"id": "r2", "name": "Premium", "conditions": {"logic": "or", "items": [
    {"field": "price", "operator": "greater_than", "value": 300},
    {"logic": "and", "items": [{"field": "category", "operator": "equals", "value": "HEADPHONES"},
                               {"field": "in_stock", "operator": "equals", "value": True}]}]},
           "actions": [{"type": "set_field", "params": {"field": "flair", "value": "Premium {{ flair }}"}},
                       {"type": "add_tag", "params": {"tag": "premium"}}]}


def _account(store: Store, name: str = "Rita Rules") -> tuple[auth.Account, Context]:
    account, ws = auth.sign_up(store, f"r{uuid.uuid4().hex[:8]}@example.com", name, "correct horse")
    return account, Context(user_id=account.id, workspace_id=ws)


def _demo(store: Store, ctx: Context) -> uuid.UUID:
    return datasets.upload(store, ctx, DEMO.name, DEMO.read_bytes(), name="Demo").id


def test_create_save_duplicate_delete(store):
    _, ctx = _account(store)
    r = rule_sets.create_rule_set(store, ctx, "Launch rules", [NO_SALE])
    assert (r.name, r.rule_count) == ("Launch rules", 1)
    assert r.rules[0]["enabled"] is True and r.rules[0]["priority"] == 0  # normalised by the engine
    saved = rule_sets.save_rule_set(store, ctx, r.id, [NO_SALE, PREMIUM], name="Launch")
    assert (saved.name, saved.rule_count) == ("Launch", 2)
    copy = rule_sets.duplicate_rule_set(store, ctx, r.id)
    assert (copy.name, copy.rules) == ("Launch (copy)", saved.rules)
    with pytest.raises(ValidationFailed, match="already called 'Launch'"):
        rule_sets.create_rule_set(store, ctx, "Launch")
    assert [x.name for x in rule_sets.list_rule_sets(store, ctx)] == ["Launch", "Launch (copy)"]
    assert rule_sets.delete_rule_set(store, ctx, r.id) == "Launch"
    with pytest.raises(NotFound):
        rule_sets.get_rule_set(store, ctx, r.id)


@pytest.mark.parametrize(("rules", "message"), [
    ([{**NO_SALE, "actions": []}], "Rule 'No sale': has no actions"),
    ([{**NO_SALE, "conditions": {"items": [{"field": "price", "operator": "bigger"}]}}],
     "Rule 'No sale': condition 1 uses unknown operator 'bigger'"),
    ([{**NO_SALE, "actions": [{"type": "set_field", "params": {"field": "title"}}]}],
     r"Rule 'No sale': action 1 \(set_field\): parameter 'value' is required"),
    ([NO_SALE, {**PREMIUM, "id": "r1"}], "the id 'r1' is used by another rule"),
])
def test_invalid_rules_are_refused_naming_the_rule(sqlite_store, rules, message):
    _, ctx = _account(sqlite_store)
    with pytest.raises(RuleError, match=message):
        rule_sets.create_rule_set(sqlite_store, ctx, "Bad", rules)
    assert rule_sets.list_rule_sets(sqlite_store, ctx) == []


def test_export_then_import_round_trips():
    text = rule_sets.export_rules(rule_sets.validate([NO_SALE, PREMIUM]), name="Launch")
    doc = json.loads(text)
    assert doc["format"] == "dotoro.rules/1" and doc["name"] == "Launch"
    assert rule_sets.import_rules(text) == doc["rules"]
    assert rule_sets.import_rules(json.dumps({"rules": [NO_SALE]}).encode()) == rule_sets.validate([NO_SALE])
    assert rule_sets.import_rules(json.dumps([PREMIUM])) == rule_sets.validate([PREMIUM])


@pytest.mark.parametrize(("text", "error", "message"), [
    ("[{", RuleError, "not valid JSON: .* at line 1, column 3"),
    ("", ValidationFailed, "Paste the rules as JSON"),
    ('{"oops": 1}', RuleError, "rules must be a list"),
    (json.dumps([{**PREMIUM, "colour": "red"}]), RuleError, "Rule 'Premium': unknown key 'colour'"),
    (json.dumps([NO_SALE | {"conditions": {"items": [{"field": "prcie", "operator": "is_empty"}]}}]), RuleError,
     "Rule 'No sale': condition 1 uses unknown column 'prcie'; did you mean 'price'"),
])
def test_bad_imports_say_what_and_where(text, error, message):
    schema = {"price": "decimal", "sale_price": "decimal"}
    with pytest.raises(error, match=message):
        rule_sets.import_rules(text, schema)


def test_test_on_data_counts_matches_and_traces_a_row(store):
    _, ctx = _account(store)
    ds = _demo(store, ctx)
    result = rule_sets.test_on_data(store, ctx, ds, [NO_SALE, PREMIUM])
    assert result.row_count == 60
    assert result.counts["r1"] == 26
    assert 0 < result.counts["r2"] < 60
    row = result.trace(0)  # Open-Back 600, headphones, 362.60, on sale, in stock
    assert [s.matched for s in row.steps] == [False, True]
    assert "sale_price is empty — no, it is" in (row.steps[0].reason or "")
    assert row.after["flair"] == "Premium Purchase Advice" and row.tags == ["premium"] and not row.skipped
    assert [(name, c.field, c.before, c.after) for name, c in row.changes()] == [
        ("Premium", "flair", "Purchase Advice", "Premium Purchase Advice"), ("Premium", "__tags", [], ["premium"])]
    with pytest.raises(ValidationFailed, match="Row 61 does not exist: the data set has 60 rows"):
        result.trace(60)
    with pytest.raises(RuleError, match="unknown column 'prcie'; did you mean 'price'"):
        rule_sets.test_on_data(store, ctx, ds, [{**NO_SALE, "conditions": {"items": [
            {"field": "prcie", "operator": "is_empty"}]}}])
    assert rule_sets.test_on_data(store, ctx, ds, []).counts == {}


def test_viewer_can_test_but_not_save(store):
    _, owner = _account(store)
    ds = _demo(store, owner)
    r = rule_sets.create_rule_set(store, owner, "Launch", [NO_SALE])
    acc, _ = _account(store, "Vic Viewer")
    invitations.accept(store, invitations.invite(store, owner, acc.email, Role.VIEWER).url.split("invite=")[1], acc)
    viewer = Context(user_id=acc.id, workspace_id=owner.workspace_id)
    assert rule_sets.can_edit(store, owner) and not rule_sets.can_edit(store, viewer)
    assert rule_sets.test_on_data(store, viewer, ds, r.rules).counts == {"r1": 26}
    for attempt in (lambda: rule_sets.create_rule_set(store, viewer, "Mine"),
                    lambda: rule_sets.save_rule_set(store, viewer, r.id, []),
                    lambda: rule_sets.duplicate_rule_set(store, viewer, r.id),
                    lambda: rule_sets.delete_rule_set(store, viewer, r.id)):
        with pytest.raises(PermissionDenied, match="viewer"):
            attempt()


def test_another_workspace_s_rule_set_and_data_are_not_found(store):
    _, a = _account(store)
    _, b = _account(store)
    theirs = rule_sets.create_rule_set(store, b, "Secret", [NO_SALE])
    their_data = _demo(store, b)
    for attempt in (lambda: rule_sets.get_rule_set(store, a, theirs.id),
                    lambda: rule_sets.save_rule_set(store, a, theirs.id, []),
                    lambda: rule_sets.duplicate_rule_set(store, a, theirs.id),
                    lambda: rule_sets.delete_rule_set(store, a, theirs.id),
                    lambda: rule_sets.test_on_data(store, a, their_data, [NO_SALE])):
        with pytest.raises(NotFound):
            attempt()
    assert rule_sets.list_rule_sets(store, a) == []
    assert rule_sets.get_rule_set(store, b, theirs.id).rule_count == 1


def test_test_on_data_names_the_rows_a_numeric_comparison_passes_over(store):
    _, ctx = _account(store)
    data = b"name,price\nTent,150\nShoe,ask us\nCup,99\nHat,call\nMug,\n"
    ds = datasets.upload(store, ctx, "prices.csv", data, name="Prices").id
    assert rule_sets.schema_of(store, ctx, ds)["price"] == "text"
    rule = {"id": "r1", "name": "Pricey", "conditions": {"logic": "and", "items": [
        {"field": "price", "operator": "greater_than", "value": 100}]}, "actions": [{"type": "skip", "params": {}}]}
    result = rule_sets.test_on_data(store, ctx, ds, [rule])
    assert result.counts == {"r1": 1}  # only 150: "ask us" and "call" are not numbers and do not match
    (note,) = result.not_numbers
    assert (note.field, note.rows, note.examples) == ("price", 2, ((2, "ask us"), (4, "call")))
    assert note.message() == ("Rule 'Pricey': 2 rows of 'price' are not a number, so 'is greater than 100' does not "
                              "match them (row 2: 'ask us', row 4: 'call'). Clean the column or compare text.")


def test_every_change_is_a_version_and_an_old_one_can_be_restored(store):
    account, ctx = _account(store)
    r = rule_sets.create_rule_set(store, ctx, "Versioned", [NO_SALE])
    assert r.version == 1
    assert rule_sets.save_rule_set(store, ctx, r.id, [NO_SALE]).version == 1  # nothing changed: no new version
    r2 = rule_sets.save_rule_set(store, ctx, r.id, [NO_SALE, PREMIUM], note="premium flair")
    assert r2.version == 2 and r2.rule_count == 2
    kept = rule_sets.versions(store, ctx, r.id)
    assert [(v.version, len(v.rules), v.saved_by, v.note) for v in kept] == [
        (2, 2, "Rita Rules", "premium flair"), (1, 1, "Rita Rules", "")]
    back = rule_sets.restore_version(store, ctx, r.id, 1)
    assert (back.version, back.rules) == (3, kept[1].rules)
    assert rule_sets.versions(store, ctx, r.id)[0].note == "restored from version 1"
    with pytest.raises(NotFound, match="Version 9"):
        rule_sets.restore_version(store, ctx, r.id, 9)
    other = Context(user_id=account.id, workspace_id=_account(store, "Other")[1].workspace_id)
    with pytest.raises(PermissionDenied):
        rule_sets.versions(store, other, r.id)

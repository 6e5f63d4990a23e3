"""Saved templates: versions and restore, duplicate, delete, validation, roles, tenant isolation, live checks."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from engine.ingest import ColumnProfile
from engine.platforms import get_format
from studio import auth, invitations, templates
from studio.context import Context, Role
from studio.errors import NotFound, PermissionDenied, ValidationFailed
from studio.store.models import AuditEvent
from studio.store.session import Store

TITLE = "{{ product_name }} in {{ city }}"


def _account(store: Store, name: str = "Tess Template") -> tuple[auth.Account, Context]:
    account, ws = auth.sign_up(store, f"t{uuid.uuid4().hex[:8]}@example.com", name, "correct horse")
    return account, Context(user_id=account.id, workspace_id=ws)


def _viewer_of(store: Store, owner: Context) -> Context:
    acc, _ = _account(store, "Vic Viewer")
    link = invitations.invite(store, owner, acc.email, Role.VIEWER)
    invitations.accept(store, link.url.split("invite=")[1], acc)
    return Context(user_id=acc.id, workspace_id=owner.workspace_id)


def test_every_save_is_a_version_and_restore_adds_one(store):
    _, ctx = _account(store)
    t = templates.create_template(store, ctx, "  Launch   titles ", "reddit/thread", {"title": TITLE, "body": ""})
    assert (t.name, t.version, t.fields, t.format_key) == ("Launch titles", 1, {"title": TITLE}, "reddit/thread")
    t2 = templates.save_template(store, ctx, t.id, {"title": "New {{ product_name }}"}, expected_version=1)
    assert t2.version == 2
    assert templates.save_template(store, ctx, t.id, {"title": "New {{ product_name }}"}).version == 2  # no change
    t3 = templates.restore_version(store, ctx, t.id, 1)
    assert (t3.version, t3.fields) == (3, {"title": TITLE})
    history = templates.versions(store, ctx, t.id)
    assert [v.version for v in history] == [3, 2, 1]
    assert history[0].note == "restored from version 1" and history[0].saved_by == "Tess Template"
    assert history[1].fields == {"title": "New {{ product_name }}"} and history[1].saved_at is not None
    with pytest.raises(ValidationFailed, match="saved as version 3 meanwhile"):
        templates.save_template(store, ctx, t.id, {"title": "late"}, expected_version=2)
    with pytest.raises(NotFound, match="Version 9"):
        templates.restore_version(store, ctx, t.id, 9)
    with store.session_scope(ctx) as s:
        actions = list(s.scalars(select(AuditEvent.action).where(AuditEvent.action.startswith("template."))))
    assert sorted(actions) == ["template.create", "template.save", "template.save"]


@pytest.mark.parametrize(("fields", "message"), [
    ({"title": "{{ product_name }"}, "title: line 1, column"),
    ({"title": "ok", "body": "line one\n{% if %}"}, "body: line 2"),
    ({"title": "{{ x | no_such_filter }}"}, "unknown filter `no_such_filter`"),
    ({"headline": "x"}, "has no field 'headline'"),
    ({"title": "  ", "body": ""}, "Write at least one field"),
])
def test_save_refuses_what_no_data_set_can_fix(sqlite_store, fields, message):
    _, ctx = _account(sqlite_store)
    with pytest.raises(ValidationFailed, match=message):
        templates.create_template(sqlite_store, ctx, "Bad", "reddit/thread", fields)
    assert templates.list_templates(sqlite_store, ctx) == []


def test_unknown_variables_are_saved_they_depend_on_the_data_set(sqlite_store):
    _, ctx = _account(sqlite_store)
    t = templates.create_template(sqlite_store, ctx, "Later", "reddit/comment", {"body": "{{ not_a_column_yet }}"})
    assert t.fields == {"body": "{{ not_a_column_yet }}"}


def test_names_are_unique_and_duplicates_get_copy_names(sqlite_store):
    _, ctx = _account(sqlite_store)
    t = templates.create_template(sqlite_store, ctx, "Titles", "reddit/thread", {"title": TITLE})
    with pytest.raises(ValidationFailed, match="already called 'Titles'"):
        templates.create_template(sqlite_store, ctx, "Titles", "reddit/thread", {"title": "x"})
    copy = templates.duplicate_template(sqlite_store, ctx, t.id)
    again = templates.duplicate_template(sqlite_store, ctx, t.id)
    assert (copy.name, again.name) == ("Titles (copy)", "Titles (copy) (2)")
    assert (copy.version, copy.fields) == (1, t.fields)
    assert "copied from 'Titles'" in templates.versions(sqlite_store, ctx, copy.id)[0].note
    renamed = templates.rename_template(sqlite_store, ctx, copy.id, "Other titles")
    assert renamed.name == "Other titles" and renamed.version == 1
    assert [x.name for x in templates.list_templates(sqlite_store, ctx)] == ["Other titles", "Titles", "Titles (copy) (2)"]


def test_delete_and_filter_by_format(sqlite_store):
    _, ctx = _account(sqlite_store)
    a = templates.create_template(sqlite_store, ctx, "Thread", "reddit/thread", {"title": TITLE})
    templates.create_template(sqlite_store, ctx, "Comment", "reddit/comment", {"body": "hi"})
    assert [t.name for t in templates.list_templates(sqlite_store, ctx, format_key="reddit/comment")] == ["Comment"]
    assert templates.delete_template(sqlite_store, ctx, a.id) == "Thread"
    with pytest.raises(NotFound):
        templates.get_template(sqlite_store, ctx, a.id)
    with pytest.raises(NotFound):
        templates.delete_template(sqlite_store, ctx, a.id)


def test_viewer_can_look_but_not_save(store):
    _, owner = _account(store)
    t = templates.create_template(store, owner, "Titles", "reddit/thread", {"title": TITLE})
    viewer = _viewer_of(store, owner)
    assert templates.can_edit(store, owner) and not templates.can_edit(store, viewer)
    assert [x.name for x in templates.list_templates(store, viewer)] == ["Titles"]
    assert templates.versions(store, viewer, t.id)[0].version == 1
    for attempt in (lambda: templates.create_template(store, viewer, "Mine", "reddit/thread", {"title": "x"}),
                    lambda: templates.save_template(store, viewer, t.id, {"title": "changed"}),
                    lambda: templates.restore_version(store, viewer, t.id, 1),
                    lambda: templates.duplicate_template(store, viewer, t.id),
                    lambda: templates.rename_template(store, viewer, t.id, "Mine"),
                    lambda: templates.delete_template(store, viewer, t.id)):
        with pytest.raises(PermissionDenied, match="viewer"):
            attempt()
    assert templates.get_template(store, owner, t.id).fields == {"title": TITLE}


def test_another_workspace_s_template_is_not_found(store):
    _, a = _account(store)
    _, b = _account(store)
    theirs = templates.create_template(store, b, "Secret", "reddit/thread", {"title": "B only"})
    for attempt in (lambda: templates.get_template(store, a, theirs.id),
                    lambda: templates.versions(store, a, theirs.id),
                    lambda: templates.save_template(store, a, theirs.id, {"title": "pwned"}),
                    lambda: templates.restore_version(store, a, theirs.id, 1),
                    lambda: templates.duplicate_template(store, a, theirs.id),
                    lambda: templates.rename_template(store, a, theirs.id, "x"),
                    lambda: templates.delete_template(store, a, theirs.id)):
        with pytest.raises(NotFound):
            attempt()
    assert templates.list_templates(store, a) == []
    assert templates.get_template(store, b, theirs.id).fields == {"title": "B only"}


COLUMNS = (ColumnProfile("product_name", "product_name", "text", 0, ("Shoe",)),
           ColumnProfile("price", "price", "decimal", 1, ("10.5",)),
           ColumnProfile("Product Line", "Product Line", "text", 0, ("Run",)))


def test_check_field_renders_counts_and_suggests():
    title = get_format("reddit", "thread").field("title")
    ok = templates.check_field(title, "{{ product_name }} ✦ {{ price }}", COLUMNS,
                               {"product_name": "Shoe", "price": 10.5, "Product Line": "Run"}, row_count=2)
    assert (ok.rendered, ok.length, ok.limit, ok.over) == ("Shoe ✦ 10.5", 11, 300, 0)
    assert ok.report.warnings and "`price` is empty in 1 of 2 rows" in ok.report.warnings[0].message
    typo = templates.check_field(title, "Hi {{ prodcut_name }}", COLUMNS, {"product_name": "Shoe"})
    assert typo.rendered is None and typo.report.errors[0].line == 1 and typo.report.errors[0].column == 7
    assert "did you mean `product_name`?" in typo.report.errors[0].message
    long = templates.check_field(title, "{{ product_name * 400 }}", COLUMNS, {"product_name": "ab"})
    assert (long.length, long.over) == (800, 500)
    boom = templates.check_field(title, "{{ 1 / price }}", COLUMNS, {"price": 0.0})
    assert boom.rendered is None and "division by zero" in (boom.render_error or "")
    assert templates.snippet("Product Line") == '{{ row["Product Line"] }}'
    assert templates.snippet("price") == "{{ price }}"

"""The review grid of the Campaign sets page: cell edits checked against the limits, per-row status shown in
the same run, find & replace with a count first, and the workspace's approval setting (issue 13)."""

from __future__ import annotations

import uuid

from tests.pages.conftest import sign_in, sign_up, texts


def _generated(new_app):
    at = new_app()
    email = sign_up(at)
    next(b for b in at.button if b.label == "Load the demo data set").click()
    at.run()
    at.switch_page("pages/preview.py").run()
    next(b for b in at.button if b.label == "Generate").click()
    at.run()
    assert not at.exception, at.exception
    at.switch_page("pages/campaigns.py").run()  # AppTest stays on the page it was told, not st.switch_page's
    assert "60 variations match" in texts(at)
    return at, email


def _service(at):
    from studio.context import Context
    from studio.settings import load_settings
    from studio.store.session import Store

    who = at.session_state["dotoro_account"]
    ctx = Context(user_id=uuid.UUID(who[0]), workspace_id=uuid.UUID(at.session_state["dotoro_workspace_id"]))
    return ctx, Store(load_settings())


def _stored(at):
    from studio import campaigns, variations

    ctx, store = _service(at)
    try:
        set_id = campaigns.list_sets(store, ctx)[0].id
        return variations.page(store, ctx, set_id, variations.VariationFilter()).rows
    finally:
        store.dispose()


def _edit(at, cells: dict[int, dict[str, str]]):
    at.session_state[at.session_state["v_grid_key"]] = {"edited_rows": cells, "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception, at.exception


def _grid(at):
    return at.data_editor(key=at.session_state["v_grid_key"]).value


def test_a_cell_edit_is_stored_and_an_edit_over_the_limit_is_refused_with_the_reason(new_app):
    at, _ = _generated(new_app)
    before = _stored(at)
    _edit(at, {0: {"title": "Hand-written title"}})
    assert any("Saved 1 edit" in s.value for s in at.success), [s.value for s in at.success]
    assert _grid(at)["title"][0] == "Hand-written title" and bool(_grid(at)["edited"][0])
    assert _stored(at)[0]["title"] == "Hand-written title"

    _edit(at, {1: {"title": "x" * 301}})
    errors = [e.value for e in at.error]
    assert any("row 2, Title: too long: 301" in e and "limit 300" in e and "not saved" in e for e in errors), errors
    assert _stored(at)[1]["title"] == before[1]["title"]
    assert _stored(at)[1]["edited"] is False


def test_approving_one_row_shows_it_approved_in_the_same_run(new_app):
    at, _ = _generated(new_app)
    _edit(at, {2: {"status": "approved"}})
    assert list(_grid(at)["status"][:4]) == ["pending", "pending", "approved", "pending"]
    assert [r["status"] for r in _stored(at)[:4]] == ["pending", "pending", "approved", "pending"]
    next(b for b in at.button if b.label == "Reject all 60 filtered").click()
    at.run()
    assert any(s.value == "Rejected 60 variations." for s in at.success), [s.value for s in at.success]
    assert set(_grid(at)["status"]) == {"rejected"}


def test_find_and_replace_shows_the_count_then_applies(new_app):
    at, _ = _generated(new_app)
    word = _stored(at)[0]["title"].split()[0]
    matching = sum(word in " ".join(str(r.get(f) or "") for f in ("title", "body", "url", "flair", "subreddit"))
                   for r in _stored(at))
    at.text_input(key="v_fr_find").input(word)
    at.text_input(key="v_fr_repl").input(word.upper()).run()
    next(b for b in at.button if b.label == "Count matches").click()
    at.run()
    question = f"Replace {word!r} with {word.upper()!r} in {matching:,} variation{'s' if matching != 1 else ''} of 60 filtered?"
    assert any(w.value == question for w in at.warning), [w.value for w in at.warning]
    assert _stored(at)[0]["title"].startswith(word)  # nothing changed before the confirmation
    next(b for b in at.button if b.label == f"Replace in {matching:,}").click()
    at.run()
    assert not at.exception, at.exception
    assert any(s.value.startswith(f"Replaced in {matching:,} variation") for s in at.success)
    assert _grid(at)["title"][0].startswith(word.upper()) and _stored(at)[0]["title"].startswith(word.upper())


def test_admins_only_approval_keeps_a_member_from_approving(new_app):
    from studio import auth, invitations
    from studio.context import Role

    at, _ = _generated(new_app)
    at.switch_page("pages/workspace.py").run()
    at.radio(key="ws_approval").set_value("admins").run()
    assert any("admins and owners only" in s.value for s in at.success), [s.value for s in at.success]

    ctx, store = _service(at)
    member_email = f"m{uuid.uuid4().hex[:6]}@example.com"
    member, _ = auth.sign_up(store, member_email, "Mo Member", "s3cret-pass")
    invitations.accept(store, invitations.invite(store, ctx, member_email, Role.MEMBER).url.split("invite=")[1], member)
    store.dispose()

    other = new_app()
    sign_in(other, member_email, "s3cret-pass")
    other.session_state["dotoro_switch_to"] = str(ctx.workspace_id)  # as the sidebar's workspace picker does
    other.switch_page("pages/campaigns.py").run()
    assert not other.exception, other.exception
    assert next(b for b in other.button if b.label == "Approve all 60 filtered").disabled
    assert "Only admins and owners approve or reject in this workspace" in texts(other)
    _edit(other, {0: {"status": "approved", "title": "A member's edit"}})  # the status cell is not theirs to set
    assert [r["status"] for r in _stored(at)[:1]] == ["pending"] and _stored(at)[0]["title"] == "A member's edit"


def test_an_edit_whose_source_changed_is_flagged_and_can_be_kept(new_app):
    from studio import campaigns
    from studio.store.campaign_models import CampaignSet

    at, _ = _generated(new_app)
    _edit(at, {0: {"title": "Hand-written title"}})
    ctx, store = _service(at)
    set_id = campaigns.list_sets(store, ctx)[0].id
    with store.session_scope(ctx) as s:  # the template changes: every row's source text changes
        cs = s.get(CampaignSet, set_id)
        cs.config = {**cs.config, "templates": {**cs.config["templates"], "title": "NEW {{ product_name }}"}}
    store.dispose()
    next(b for b in at.button if b.label == "Regenerate").click()
    at.run()
    for _ in range(30):  # the run may finish after this draw; the page reruns itself once it has
        if "Ready · 60 variations" in texts(at) and "on this page conflict" in texts(at):
            break
        at.run()
    assert any("1 hand edit on this page conflict" in w.value for w in at.warning), [w.value for w in at.warning]
    grid = _grid(at)
    assert (grid["title"][0], bool(grid["conflict"][0])) == ("Hand-written title", True)
    assert grid["title"][1].startswith("NEW ") and not bool(grid["conflict"][1])
    next(b for b in at.button if b.label == "Keep my edits").click()
    at.run()
    assert any(s.value == "Kept 1 edit." for s in at.success), [s.value for s in at.success]
    assert not bool(_grid(at)["conflict"][0]) and _grid(at)["title"][0] == "Hand-written title"
    assert not any("conflict" in w.value for w in at.warning)

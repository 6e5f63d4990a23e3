"""Settings → Import a workspace, through the studio: preview, confirm, and the new workspace is selected."""

from __future__ import annotations

import io
import uuid
import zipfile

from studio import datasets, notebooks, webhooks, workspace_export
from studio.context import Context
from studio.settings import load_settings
from studio.store.session import Store
from tests.pages.conftest import sign_up, texts

CSV = b"name,price\nTrail Shoe,129\nCity Boot,89\n"


def _owner_context(at) -> tuple[Store, Context]:
    store = Store(load_settings())
    user_id, ws = at.session_state["dotoro_account"][0], at.session_state["dotoro_workspace_id"]
    return store, Context(user_id=uuid.UUID(user_id), workspace_id=uuid.UUID(ws))


def test_an_export_is_imported_as_a_new_selected_workspace(new_app):
    at = new_app()
    sign_up(at, name="Olga Owner")
    store, ctx = _owner_context(at)
    datasets.upload(store, ctx, "items.csv", CSV, name="Shop items")
    notebooks.add_cell(store, ctx, "sql", source="SELECT * FROM shop_items")
    webhooks.create_endpoint(store, ctx, "https://93.184.216.34/hooks", ["generation.completed"])
    archive = workspace_export.export_zip(store, ctx)

    at.switch_page("pages/workspace.py").run()
    assert "Import a workspace" in [h.value for h in at.subheader]
    at.file_uploader(key="ws_import_file_0").set_value(("olga.zip", archive, "application/zip")).run()
    assert not at.exception, at.exception
    assert "**Olga's workspace**, exported" in texts(at) and "1 data set, 1 version" in texts(at)
    assert "1 webhook endpoint" in texts(at)
    go = at.button(key="ws_import_go")
    assert go.disabled, "nothing is imported before the confirmation is ticked"
    at.text_input(key="ws_import_name_0").input("Olga copy")
    at.checkbox(key="ws_import_ok_0").check().run()
    at.button(key="ws_import_go").click().run()
    assert not at.exception, at.exception
    assert "Imported 'Olga copy': 1 data set, 1 version" in texts(at) and "You are in it now." in texts(at)
    assert "1 webhook endpoint arrived disabled without a signing secret" in texts(at), "what to do about secrets"
    picker = at.sidebar.selectbox(key="workspace_picker")
    assert picker.format_func(picker.value) == "Olga copy · owner"
    assert [t.value for t in at.text_input if t.label == "Name"] == ["Olga copy"], "the settings show the new workspace"
    assert not at.file_uploader(key="ws_import_file_1").value, "the uploader is cleared"
    store.dispose()


def test_a_bad_archive_is_refused_with_its_reason(new_app):
    at = new_app()
    sign_up(at, name="Olga Owner")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("datasets.json", "[]")
    at.switch_page("pages/workspace.py").run()
    at.file_uploader(key="ws_import_file_0").set_value(("old.zip", buf.getvalue(), "application/zip")).run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error][0].startswith("This zip has no manifest.json")
    assert not [b for b in at.button if b.key == "ws_import_go"], "nothing to confirm"

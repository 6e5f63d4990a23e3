"""Every change is followed by the new state, without a manual rerun: demo load, upload (and duplicates),
rename, replace, delete, invite; pickers never hold a stale or deleted data set."""

from __future__ import annotations

from tests.pages.conftest import sign_up, texts

CSV = b"Product Name,Price\nTrail Shoe,129.90\nCity Boot,89.00\n"
OTHER = b"City,Population\nBerlin,3700000\n"


def _uploader(at):
    return next(u for u in at.get("file_uploader") if u.key.startswith("upload_file"))


def _upload(at, name: str, data: bytes) -> None:
    at.file_uploader(key=_uploader(at).key).set_value((name, data, "text/csv"))
    at.run()
    at.button(key="upload_go").click().run()


def _button(at, label: str):
    return next(b for b in at.button if b.label == label)


def _data_sets(at) -> list[str]:
    return list(at.dataframe[0].value["Name"])


def test_loading_the_demo_shows_one_data_set_at_once(new_app):
    at = new_app()
    sign_up(at)
    assert {m.label: m.value for m in at.metric}["Data sets"] == "0"
    _button(at, "Load the demo data set").click().run()
    assert not at.exception, at.exception
    assert {m.label: m.value for m in at.metric}["Data sets"] == "1"
    assert "Loaded 'Demo products': 60 rows" in texts(at)
    assert not [b for b in at.button if b.label == "Load the demo data set"]


def test_upload_clears_the_uploader_and_opens_the_new_data_set(new_app):
    at = new_app()
    sign_up(at)
    at.switch_page("pages/data_sources.py").run()
    _upload(at, "products.csv", CSV)
    assert "Uploaded 'products': 2 rows × 2 columns." in texts(at)
    assert _uploader(at).key != "upload_file" and not _uploader(at).value  # a fresh, empty uploader
    _upload(at, "cities.csv", OTHER)
    assert _data_sets(at) == ["cities", "products"]
    assert at.selectbox(key="open_dataset").value  # the label of the picked id
    assert [h.value for h in at.markdown if h.value.startswith("### ")] == ["### cities"]


def test_the_same_file_again_asks_upload_anyway_replace_or_cancel(new_app):
    at = new_app()
    sign_up(at)
    at.switch_page("pages/data_sources.py").run()
    _upload(at, "products.csv", CSV)
    _upload(at, "copy of products.csv", CSV)
    assert any("This file is already **products**, version 1 (the current version)" in w.value for w in at.warning)
    assert _data_sets(at) == ["products"]  # nothing stored yet
    _button(at, "Cancel").click().run()
    assert _data_sets(at) == ["products"] and not _uploader(at).value
    assert not any("already" in w.value for w in at.warning)

    _upload(at, "products.csv", CSV)
    _button(at, "Upload anyway").click().run()
    assert not at.exception, at.exception
    assert sorted(_data_sets(at)) == ["products", "products (2)"]

    _upload(at, "products.csv", CSV)
    _button(at, "Replace products (2)").click().run()
    assert "Replaced 'products (2)': now version 2 (2 rows)." in texts(at)
    assert sorted(_data_sets(at)) == ["products", "products (2)"]


def test_rename_replace_and_delete_show_the_result_and_no_stale_pickers(new_app):
    at = new_app()
    sign_up(at)
    at.switch_page("pages/data_sources.py").run()
    _upload(at, "products.csv", CSV)
    _upload(at, "cities.csv", OTHER)
    ds_key = next(t.key for t in at.text_input if t.key.startswith("rename_name_"))
    at.text_input(key=ds_key).input("Capitals")
    _button(at, "Rename").click().run()
    assert "Renamed 'cities' to 'Capitals'." in texts(at)
    assert "### Capitals" in [m.value for m in at.markdown]
    assert "Capitals" in _data_sets(at)

    replace_key = next(u.key for u in at.get("file_uploader") if u.key.startswith("replace_file_"))
    at.file_uploader(key=replace_key).set_value(("cities.csv", OTHER, "text/csv"))
    at.run()
    next(b for b in at.button if b.key and b.key.startswith("replace_go_")).click().run()
    assert "already version 1 of 'Capitals'" in texts(at)  # the same bytes: nothing to replace
    at.file_uploader(key=replace_key).set_value(("cities.csv", OTHER + b"Paris,2100000\n", "text/csv"))
    at.run()
    next(b for b in at.button if b.key and b.key.startswith("replace_go_")).click().run()
    assert "Replaced 'Capitals': now version 2 (2 rows)." in texts(at)

    at.switch_page("pages/preview.py").run()
    assert "Capitals (2 rows)" in at.selectbox(key="pv_dataset").options
    at.switch_page("pages/data_sources.py").run()
    confirm = next(t.key for t in at.text_input if t.key.startswith("delete_confirm_"))
    at.text_input(key=confirm).input("Capitals").run()
    _button(at, "Delete data set").click().run()
    assert "Deleted 'Capitals'." in texts(at)
    assert _data_sets(at) == ["products"]
    assert [m.value for m in at.markdown if m.value.startswith("### ")] == ["### products"]
    at.switch_page("pages/preview.py").run()
    assert not at.exception, at.exception
    picker = at.selectbox(key="pv_dataset")
    assert picker.options == ["products (2 rows)"]  # the labels: never the deleted one


def test_an_invitation_is_listed_as_soon_as_it_is_sent(new_app):
    at = new_app()
    sign_up(at)
    at.switch_page("pages/team.py").run()
    at.text_input(key="invite_email").input("new.person@example.com")
    _button(at, "Send invitation").click().run()
    assert not at.exception, at.exception
    assert any("new.person@example.com" in m.value and "pending" in m.value for m in at.markdown)


def test_a_reload_keeps_the_workspace_it_showed(new_app):
    from tests.pages.conftest import sign_in
    from tests.pages.test_setup_messages import _member

    owner = new_app()
    sign_up(owner, name="Olga Owner")
    member, email = _member(new_app, owner)
    picker = member.sidebar.selectbox(key="workspace_picker")
    olga = next(o for o in picker.options if o.startswith("Olga's"))
    picker.select_index(picker.options.index(olga)).run()
    chosen = member.session_state["dotoro_workspace_id"]
    assert member.query_params["ws"] == [chosen] or member.query_params["ws"] == chosen

    again = new_app()  # the same browser reloaded: a new session with the same address
    again.query_params["ws"] = chosen
    sign_in(again, email, "s3cret-pass")
    assert again.session_state["dotoro_workspace_id"] == chosen
    assert again.sidebar.selectbox(key="workspace_picker").value == chosen


def test_the_preview_opens_the_data_set_just_uploaded(new_app):
    at = new_app()
    sign_up(at)
    next(b for b in at.button if b.label == "Load the demo data set").click().run()
    at.switch_page("pages/preview.py").run()
    assert at.selectbox(key="pv_dataset").value  # the demo, remembered in the draft
    at.switch_page("pages/data_sources.py").run()
    _upload(at, "cities.csv", OTHER)
    at.switch_page("pages/preview.py").run()
    assert not at.exception, at.exception
    picker = at.selectbox(key="pv_dataset")
    assert picker.options[picker.index].startswith("cities")
    picker.select_index(next(i for i, o in enumerate(picker.options) if o.startswith("Demo"))).run()
    at.switch_page("pages/home.py").run()
    at.switch_page("pages/preview.py").run()  # the user's own pick stays
    picker = at.selectbox(key="pv_dataset")
    assert picker.options[picker.index].startswith("Demo")


def test_a_workbook_with_several_sheets_asks_which_then_stores_it(new_app):
    import io

    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "Summary"
    book.active.append(["Note"])
    book.active.append(["see Products"])
    products = book.create_sheet("Products")
    products.append(["Product Name", "Price"])
    products.append(["Trail Shoe", 129.9])
    buf = io.BytesIO()
    book.save(buf)

    at = new_app()
    sign_up(at)
    at.switch_page("pages/data_sources.py").run()
    at.file_uploader(key=_uploader(at).key).set_value(("book.xlsx", buf.getvalue(),
                                                       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
    at.run()
    at.button(key="upload_go").click().run()
    assert not at.exception, at.exception
    picker = at.selectbox(key="upload_sheet")  # drawn at once, with what to do
    assert picker.options == ["Summary", "Products"]
    assert any("Pick one, then press Upload again." in i.value for i in at.info)
    picker.select("Products").run()
    at.button(key="upload_go").click().run()
    assert "Uploaded 'book': 1 row × 2 columns." in texts(at)
    assert not [s for s in at.selectbox if s.key == "upload_sheet"]

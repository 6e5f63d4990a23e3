"""A new user's preview of each format on products_2k, from the starter: no red error, no "needs …" note, cards
whose required fields are all filled, and every row kept (nothing over a limit)."""

from __future__ import annotations

import pytest

from engine.platforms import list_formats
from tests.pages.conftest import sign_up, texts
from tests.sample_data import products_csv


def _upload(at, name: str, data: bytes) -> None:
    at.switch_page("pages/data_sources.py").run()
    at.file_uploader(key=next(u.key for u in at.get("file_uploader") if u.key.startswith("upload_file"))).set_value(
        (name, data, "text/csv"))
    at.run()
    at.button(key="upload_go").click().run()


@pytest.mark.slow
def test_every_format_previews_products_2k_from_its_starter(new_app):
    at = new_app()
    sign_up(at)
    _upload(at, "products_2k.csv", products_csv())
    at.switch_page("pages/preview.py").run()
    for fmt in list_formats():
        at.selectbox(key="pv_format").set_value(fmt.key).run()
        assert not at.exception, (fmt.key, at.exception)
        assert next(s for s in at.selectbox if s.key.startswith("pv_tpl_")).value == "starter"
        for question, answer in (("subreddit", "deals"), ("parent", "t3_abc123")):  # what products_2k cannot say
            asked = [s for s in at.selectbox if s.key.endswith(f"_{question}") and s.key.startswith("pv_role_")]
            if asked and asked[0].value == "":
                asked[0].set_value("=").run()
                next(t for t in at.text_input if t.key == f"{asked[0].key}_text").input(answer).run()
        assert not at.error, (fmt.key, [e.value for e in at.error])
        shown = texts(at)
        assert "needs" not in " ".join(i.value for i in at.info), (fmt.key, [i.value for i in at.info])
        assert "missing:" not in shown and "<b>missing</b>" not in shown and "unknown variable" not in shown, fmt.key
        figures = {m.label: m.value for m in at.metric}
        assert figures["Variations"] == "2,000" and figures["Over a limit"] == "0", (fmt.key, figures)

"""Preview of a paid format: campaign-structure inputs with defaults from the data, the tree after the
figures, and Generate storing the structure with the set (issue 13 item 2)."""

from __future__ import annotations

from tests.pages.conftest import sign_up, texts
from tests.pages.test_generation_pages import _ctx_store

RSA_FIELDS = {"headline_1": "{{ product_name }}", "headline_2": "Only {{ sale_price or price }}",
              "headline_3": "Free returns", "description_1": "{{ product_name }} for {{ city }}.",
              "description_2": "Order today.", "final_url": "{{ url }}"}


def test_rsa_preview_shows_the_campaign_tree_and_generate_keeps_the_structure(new_app):
    from studio import campaigns
    from studio import templates as templates_service

    at = new_app()
    sign_up(at)
    next(b for b in at.button if b.label == "Load the demo data set").click()
    at.run()
    ctx, store = _ctx_store(at)
    templates_service.create_template(store, ctx, "Shop RSA", "google/responsive_search_ad", RSA_FIELDS)
    at.switch_page("pages/preview.py").run()
    at.selectbox(key="pv_format").set_value("google/responsive_search_ad").run()
    assert not at.exception, at.exception
    prefix = next(t.key for t in at.text_input if t.key and t.key.endswith("_campaign"))
    assert at.text_input(key=prefix).value == "{{ category | default('General') }}"  # a grouping column of the data
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Campaigns"] != "0" and metrics["Ads"] == metrics["Variations"]
    at.text_input(key=prefix).input("Demo — {{ category }}").run()
    key = prefix.removesuffix("_campaign")
    at.text_area(key=f"{key}_neg_c").input('free\n[cheap]').run()
    at.multiselect(key=f"{key}_g0_match").set_value(["Phrase", "Exact"]).run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["Negatives"]) == 2 * int(metrics["Campaigns"])
    assert "Demo — headphones" in texts(at)
    ads = int(metrics["Ads"].replace(",", ""))
    next(b for b in at.button if b.label == "Add ad group").click()  # a second ad group per row: twice the ads
    at.run()
    at.text_input(key=f"{key}_g1_name").input("{{ city | default('Online') }}").run()
    next(b for b in at.button if b.key == f"{key}_g0_add_ad").click()
    at.run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["Ads"].replace(",", "")) == 3 * ads
    next(b for b in at.button if b.label == "Generate").click()
    at.run()
    assert not at.exception, at.exception
    made = [s for s in campaigns.list_sets(store, ctx) if s.platform == "google"]
    assert made and made[0].config["structure"]["campaign"] == "Demo — {{ category }}"
    assert [n["keyword"] for n in made[0].config["structure"]["negatives"]] == ["free", "cheap"]
    groups = made[0].config["structure"]["ad_groups"]
    assert [len(g["ads"]) for g in groups] == [2, 1] and groups[1]["name"] == "{{ city | default('Online') }}"

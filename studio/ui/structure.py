"""Campaign structure of paid-ad formats: the inputs (campaign, ad groups with their keywords and ads,
negatives, settings) and the tree the preview draws (ad groups with their ads and keywords, empty ones marked)."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

import streamlit as st

from engine.errors import EngineError
from engine.generation.structure import MATCH_TYPES, CampaignStructure, Structure, parse_keyword_lines
from engine.platforms import get_format
from engine.platforms.bulk_settings import LEVELS, settings_for
from studio import campaigns
from studio.ui import widgets

_LEVEL_LABELS = {"google": {"campaign": "Campaign", "ad_group": "Ad group", "ad": "Ads and keywords"},
                 "meta": {"campaign": "Campaign", "ad_group": "Ad set", "ad": "Ads"}}
MAX_GROUPS = 10
MAX_ADS = 5


def _group_word(platform: str) -> str:
    return "ad set" if platform == "meta" else "ad group"


def _ids(key: str, default: int = 1) -> list[int]:
    """The ids of the ad groups (or ads) shown under `key`: widget keys stay with their item when one is removed."""
    ids = st.session_state.setdefault(key, list(range(default)))
    return list(ids)


def _add(key: str) -> None:
    ids = st.session_state[key]
    st.session_state[key] = [*ids, max(ids, default=-1) + 1]


def _remove(key: str, item: int) -> None:
    st.session_state[key] = [i for i in st.session_state[key] if i != item]


def inputs(fmt_key: str, columns: Sequence[tuple[str, str]], key_prefix: str) -> dict[str, Any] | None:
    """The structure inputs of a paid format (None for other formats): what goes in config["structure"]."""
    defaults = campaigns.structure_defaults(fmt_key, list(columns))
    if defaults is None:
        return None
    platform, format_name = fmt_key.split("/", 1)
    fmt = get_format(platform, format_name)
    group = _group_word(platform)
    key = f"{key_prefix}_{fmt_key}"
    first = defaults["ad_groups"][0]
    with st.expander("Campaign structure", icon=":material/account_tree:"):
        st.caption(f"Each row makes every {group} below with its ads. {group.capitalize()}s are formed by their names "
                   f"within a campaign: rows whose names match share one. Names are templates over your columns.")
        campaign = st.text_input("Campaign name", value=defaults["campaign"], key=f"{key}_campaign")
        out: dict[str, Any] = {"campaign": campaign, "ad_groups": [], "negatives": [], "settings": {},
                               "keep_case": False}
        groups_key = f"{key}_groups"
        group_ids = _ids(groups_key)
        for n, gid in enumerate(group_ids, start=1):
            gk = f"{key}_g{gid}"
            with st.container(border=True):
                head = st.columns([5, 1], vertical_alignment="bottom")
                name = head[0].text_input(f"{group.capitalize()} {n}: name", key=f"{gk}_name",
                                          value=first["name"] if n == 1 else f"{first['name']} — {group} {n}")
                if len(group_ids) > 1:
                    head[1].button("Remove", key=f"{gk}_rm", icon=":material/delete:", on_click=_remove,
                                   args=(groups_key, gid), help=f"Remove {group} {n} and its ads")
                item: dict[str, Any] = {"name": name, "keywords": [], "match_types": ["Phrase"], "negatives": [],
                                        "ads": []}
                if platform == "google":
                    text = st.text_area("Keywords (one template a line)", height=68, key=f"{gk}_keywords",
                                           value="\n".join(first["keywords"]) if n == 1 else "",
                                           help="Each line renders one keyword per row, e.g. {{ product_name }} or buy "
                                                "{{ brand }}. Trimmed, spaces collapsed, lower-cased unless you keep "
                                                "case; duplicates in the ad group removed.")
                    item["keywords"] = [line for line in text.splitlines() if line.strip()]
                    item["match_types"] = st.multiselect("Match types", list(MATCH_TYPES), default=["Phrase"],
                                                         key=f"{gk}_match")
                    negatives = st.text_area(f"Negative keywords: this {group}", height=68, key=f"{gk}_neg",
                                             help='One a line, templates allowed: used {{ brand }} (broad), "free '
                                                  '{{ category }}" (phrase), [cheap] (exact). Rendered per row.')
                    item["negatives"] = [{"keyword": n["keyword"], "match_type": n["match_type"]}
                                         for n in parse_keyword_lines(negatives, "ad_group")]
                item["ads"] = _ads(fmt, gk, platform)
                out["ad_groups"].append(item)
        if len(group_ids) < MAX_GROUPS:
            st.button(f"Add {group}", key=f"{key}_add_group", icon=":material/add:", on_click=_add, args=(groups_key,))
        if platform == "google":
            out["keep_case"] = st.checkbox("Keep the letter case of keywords", key=f"{key}_keep_case",
                                           help="Off: keywords are lower-cased, as Google compares them.")
            neg = st.columns(2)
            hint = 'One a line: free (broad), "used shoes" (phrase), [cheap] (exact).'
            campaign_neg = neg[0].text_area("Negative keywords: every campaign", height=68, key=f"{key}_neg_c", help=hint)
            group_neg = neg[1].text_area("Negative keywords: every ad group", height=68, key=f"{key}_neg_g", help=hint)
            out["negatives"] = parse_keyword_lines(campaign_neg, "campaign") + parse_keyword_lines(group_neg, "ad_group")
        out["settings"] = _settings(platform, key)
        try:
            CampaignStructure.from_dict(out).check(platform)
        except EngineError as exc:
            st.error(f"The campaign structure needs a change: {widgets.as_message(str(exc))}", icon=":material/error:")
    return out


def _ads(fmt: Any, gk: str, platform: str) -> list[dict[str, Any]]:
    """The ads of one ad group: each uses the set's templates or writes some fields itself."""
    ads_key = f"{gk}_ads"
    ad_ids = _ids(ads_key)
    names = {s.name: s.label for s in fmt.fields}
    ads = []
    for n, aid in enumerate(ad_ids, start=1):
        ak = f"{gk}_a{aid}"
        row = st.columns([5, 1], vertical_alignment="bottom")
        own = row[0].multiselect(f"Ad {n}: fields it writes itself", list(names), format_func=names.get, key=f"{ak}_own",
                                 placeholder="none: it uses the set's templates",
                                 help="Every other field uses the set's template (the template picked above).")
        if len(ad_ids) > 1:
            row[1].button("Remove", key=f"{ak}_rm", icon=":material/remove:", on_click=_remove, args=(ads_key, aid),
                          help=f"Remove ad {n}")
        ad: dict[str, Any] = {"name": "", "templates": {}}
        for name in own:
            ad["templates"][name] = st.text_input(f"Ad {n}: {names[name]}", key=f"{ak}_{name}",
                                                  placeholder="a template, e.g. Buy {{ product_name }}")
        if platform == "meta":
            ad["name"] = st.text_input(f"Ad {n}: ad name (optional)", key=f"{ak}_name",
                                       placeholder="empty: the ad set's name and the ad's number")
        ads.append(ad)
    if len(ad_ids) < MAX_ADS:
        st.button("Add an ad", key=f"{gk}_add_ad", icon=":material/add:", on_click=_add, args=(ads_key,))
    return ads


def _settings(platform: str, key: str) -> dict[str, dict[str, str]]:
    specs = settings_for(platform)
    values: dict[str, dict[str, str]] = {}
    labels = _LEVEL_LABELS.get(platform, {})
    for level in LEVELS:
        mine = [s for s in specs if s.level == level]
        if not mine:
            continue
        st.markdown(f"**{labels.get(level, level)} settings**")
        cols = st.columns(2)
        for i, spec in enumerate(mine):
            where = cols[i % 2]
            label = spec.label + (" *" if spec.required else "")
            if spec.allowed:
                value = where.selectbox(label, list(spec.allowed), index=list(spec.allowed).index(spec.default)
                                        if spec.default in spec.allowed else 0, key=f"{key}_{level}_{spec.name}")
            else:
                value = where.text_input(label, value=spec.default, key=f"{key}_{level}_{spec.name}",
                                         placeholder=spec.hint or None, help=spec.hint or None)
            values.setdefault(level, {})[spec.name] = value
    return values


def tree(structure: Structure | None, fmt_key: str = "", *, campaigns_shown: int = 3, groups_shown: int = 4) -> None:
    """The totals before and after dedup, and the first campaigns with their ad groups, ads and keywords."""
    if structure is None:
        return
    group = _group_word(fmt_key.split("/", 1)[0])
    c = st.columns(5)
    c[0].metric("Campaigns", f"{structure.campaigns:,}",
                help=f"{structure.empty_campaigns:,} left without an ad by dedup" if structure.empty_campaigns else None)
    c[1].metric(f"{group.capitalize()}s", f"{structure.ad_groups:,}",
                help=f"{structure.empty_ad_groups:,} left without an ad by dedup" if structure.empty_ad_groups else None)
    removed = structure.ads_before - structure.ads
    c[2].metric("Ads", f"{structure.ads:,}", help=f"{structure.ads_before:,} before dedup")
    c[3].metric("Keywords", f"{structure.keywords:,}",
                help=f"{structure.keywords_before:,} rendered (keyword × match type) before normalising and removing "
                     f"repeats within each {group}")
    c[4].metric("Negatives", f"{structure.negative_keywords:,}", help="Negative keywords, campaign and ad-group level")
    if not structure.branches:
        st.info("No ad survives the rules and limits, so there are no campaigns yet.")
        return
    if removed or structure.keywords_before != structure.keywords:
        empty = (f", {widgets.plural(structure.empty_ad_groups, group)} of them empty"
                 + (f" (and {widgets.plural(structure.empty_campaigns, 'campaign')})" if structure.empty_campaigns else "")
                 if structure.empty_ad_groups else "")
        st.caption(f"Before dedup: {widgets.plural(structure.ads_before, 'ad')} and "
                   f"{widgets.plural(structure.keywords_before, 'keyword')} as rendered. After: "
                   f"{widgets.plural(structure.ads, 'ad')} in {widgets.plural(structure.ad_groups, group)}{empty}, "
                   f"{widgets.plural(structure.keywords, 'distinct keyword')}.")
    if structure.empty_ad_groups:
        st.caption(f"{widgets.plural(structure.empty_ad_groups, group)} lost every ad to dedup; they stay (marked "
                   "**empty**) with their keywords. Google's file writes them; Meta's import cannot hold an ad set "
                   "without an ad, so its file leaves them out and says so.")
    lines = []
    for branch in structure.first(campaigns_shown, groups_shown):
        full = next(b for b in structure.branches if b.name == branch.name)
        mark = " <small>(empty)</small>" if full.empty else ""
        lines.append(f"<li><b>{_name(branch.name)}</b>{mark} · {widgets.plural(len(full.ad_groups), group)}, "
                     f"{widgets.plural(full.ads, 'ad')}<ul>")
        for g in branch.ad_groups:
            kws = ", ".join(f"{html.escape(k)} <small>({m})</small>" for k, m in g.keywords[:4])
            more = f" … +{len(g.keywords) - 4:,}" if len(g.keywords) > 4 else ""
            ads = "".join(f"<li><i>{html.escape(_short(a))}</i></li>" for a in g.first_ads)
            more_ads = f"<li><small>… {g.ads - len(g.first_ads):,} more</small></li>" if g.ads > len(g.first_ads) else ""
            if g.empty:
                status = f" · <b>empty</b> <small>(its {widgets.plural(g.duplicates, 'ad')} were duplicates)</small>"
            else:
                status = f" · {widgets.plural(g.ads, 'ad')}" + (
                    f" <small>({g.duplicates:,} removed as duplicates)</small>" if g.duplicates else "")
            lines.append(f"<li>{_name(g.name)}{status}"
                         + (f"<br><small>keywords:</small> {kws}{more}" if kws else "")
                         + (f"<ul>{ads}{more_ads}</ul>" if ads else "") + "</li>")
        if len(full.ad_groups) > len(branch.ad_groups):
            hidden = full.ad_groups[len(branch.ad_groups):]
            empty = sum(1 for g in hidden if g.empty)
            lines.append(f"<li><small>… {len(hidden):,} more" + (f", {empty:,} of them <b>empty</b>" if empty else "")
                         + "</small></li>")
        lines.append("</ul></li>")
    rest = structure.campaigns - min(campaigns_shown, structure.campaigns)
    if rest:
        lines.append(f"<li><small>… {rest:,} more campaign{'s' if rest != 1 else ''}</small></li>")
    # One line: a blank line in a name would end Markdown's HTML block and read the rest as Markdown.
    st.markdown(re.sub(r"[\r\n]+", " ", "<ul>" + "".join(lines) + "</ul>"), unsafe_allow_html=True)


def _name(name: str) -> str:
    return html.escape(_short(name)) if name.strip() else "<i>(empty name)</i>"


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"

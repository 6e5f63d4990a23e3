"""Campaign structure of paid-ad formats: the inputs (names, keywords, negatives, settings) and the tree."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import streamlit as st

from engine.generation.structure import MATCH_TYPES, Structure, parse_keyword_lines
from engine.platforms.bulk_settings import LEVELS, settings_for
from studio import campaigns
from studio.ui import widgets

_LEVEL_LABELS = {"google": {"campaign": "Campaign", "ad_group": "Ad group", "ad": "Ads and keywords"},
                 "meta": {"campaign": "Campaign", "ad_group": "Ad set", "ad": "Ads"}}


def _group_word(platform: str) -> str:
    return "ad set" if platform == "meta" else "ad group"


def inputs(fmt_key: str, columns: Sequence[tuple[str, str]], key_prefix: str) -> dict[str, Any] | None:
    """The structure inputs of a paid format (None for other formats): what goes in config["structure"]."""
    defaults = campaigns.structure_defaults(fmt_key, list(columns))
    if defaults is None:
        return None
    platform = fmt_key.split("/", 1)[0]
    group = _group_word(platform)
    key = f"{key_prefix}_{fmt_key}"
    with st.expander("Campaign structure", icon=":material/account_tree:"):
        st.caption(f"Ads group under {group}s under campaigns by their names. Names are templates over your columns.")
        campaign = st.text_input("Campaign name", value=defaults["campaign"], key=f"{key}_campaign")
        ad_group = st.text_input(f"{group.capitalize()} name", value=defaults["ad_group"], key=f"{key}_ad_group")
        out: dict[str, Any] = {"campaign": campaign, "ad_group": ad_group, "keywords": [], "match_types": ["Phrase"],
                               "negatives": [], "settings": {}}
        if platform == "google":
            text = st.text_area("Keywords (one template a line)", value="\n".join(defaults["keywords"]), height=68,
                                key=f"{key}_keywords", help="Each line renders one keyword per ad group, e.g. "
                                                            "{{ product_name }} or buy {{ brand }}. Trimmed, lower-cased, "
                                                            "duplicates removed.")
            out["keywords"] = [line for line in text.splitlines() if line.strip()]
            out["match_types"] = st.multiselect("Match types", list(MATCH_TYPES), default=["Phrase"], key=f"{key}_match")
            neg = st.columns(2)
            hint = 'One a line: free (broad), "used shoes" (phrase), [cheap] (exact).'
            campaign_neg = neg[0].text_area("Negative keywords: campaign", height=68, key=f"{key}_neg_c", help=hint)
            group_neg = neg[1].text_area("Negative keywords: ad group", height=68, key=f"{key}_neg_g", help=hint)
            out["negatives"] = parse_keyword_lines(campaign_neg, "campaign") + parse_keyword_lines(group_neg, "ad_group")
        out["settings"] = _settings(platform, key)
    return out


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


def tree(structure: Structure | None, fmt_key: str = "", *, campaigns_shown: int = 3, groups_shown: int = 3) -> None:
    """The counts of campaigns, ad groups, ads, keywords and negatives, and the first branches."""
    if structure is None:
        return
    group = _group_word(fmt_key.split("/", 1)[0])
    c = st.columns(5)
    c[0].metric("Campaigns", f"{structure.campaigns:,}")
    c[1].metric(f"{group.capitalize()}s", f"{structure.ad_groups:,}")
    c[2].metric("Ads", f"{structure.ads:,}")
    c[3].metric("Keywords", f"{structure.keywords:,}")
    c[4].metric("Negatives", f"{structure.negative_keywords:,}", help="Negative keywords, campaign and ad-group level")
    if not structure.branches:
        st.info("No ad survives the rules and limits, so there are no campaigns yet.")
        return
    lines = []
    for branch in structure.first(campaigns_shown, groups_shown):
        full = next(b for b in structure.branches if b.name == branch.name)
        lines.append(f"<li><b>{_name(branch.name)}</b> · {widgets.plural(len(full.ad_groups), group)}, "
                     f"{widgets.plural(full.ads, 'ad')}<ul>")
        for g in branch.ad_groups:
            kws = ", ".join(f"{html.escape(k)} <small>({m})</small>" for k, m in g.keywords[:4])
            more = f" … +{len(g.keywords) - 4:,}" if len(g.keywords) > 4 else ""
            ads = "; ".join(html.escape(_short(a)) for a in dict.fromkeys(g.first_ads))
            lines.append(f"<li>{_name(g.name)} · {widgets.plural(g.ads, 'ad')}"
                         + (f" — <i>{ads}</i>" if ads else "")
                         + (f"<br><small>keywords:</small> {kws}{more}" if kws else "") + "</li>")
        if len(full.ad_groups) > len(branch.ad_groups):
            lines.append(f"<li><small>… {len(full.ad_groups) - len(branch.ad_groups):,} more</small></li>")
        lines.append("</ul></li>")
    rest = structure.campaigns - min(campaigns_shown, structure.campaigns)
    if rest:
        lines.append(f"<li><small>… {rest:,} more campaign{'s' if rest != 1 else ''}</small></li>")
    st.markdown("<ul>" + "".join(lines) + "</ul>", unsafe_allow_html=True)


def _name(name: str) -> str:
    return html.escape(_short(name)) if name.strip() else "<i>(empty name)</i>"


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"

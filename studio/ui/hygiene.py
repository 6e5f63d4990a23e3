"""Preview settings → text hygiene: the set-level options (engine/generation/hygiene_step.py)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from studio.ui import authoring


def options(draft: dict[str, Any], *, keywords: bool) -> dict[str, bool]:
    """The set's `dedupe_words` and `keyword_stopwords` options (stop words only offered with keywords)."""
    authoring.seed("pv_dedupe_words", bool(draft.get("dedupe_words", False)))
    dedupe = st.checkbox("Remove duplicate consecutive words", key="pv_dedupe_words",
                         help="On every text field: \"Nike Nike Air\" becomes \"Nike Air\" (ignoring case).")
    stop = False
    if keywords:
        authoring.seed("pv_keyword_stopwords", bool(draft.get("keyword_stopwords", False)))
        stop = st.checkbox("Strip stop words from keywords", key="pv_keyword_stopwords",
                           help="\"shoes for the beach\" becomes \"shoes beach\"; a keyword of stop words only is "
                                "left out. Negative keywords stay as written.")
    st.caption("The workspace's word list (Workspace settings) applies too.")
    return {"dedupe_words": bool(dedupe), "keyword_stopwords": bool(stop)}

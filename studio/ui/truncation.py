"""How the "truncate" strategy shortens a value that is too long: cut, ellipsis or word, each shown on an example."""

from __future__ import annotations

import streamlit as st

from engine.platforms import get_count_method
from engine.platforms.counting import TRUNCATE_STYLES, shorten

EXAMPLE = "Lightweight trail running shoes"
EXAMPLE_LIMIT = 20
LABELS = {"cut": "Hard cut", "ellipsis": "Cut with an ellipsis", "word": "Cut at a word"}
HELP = (f"What a value over its field's limit becomes, counted the way the platform counts (X: URLs 23, emoji 2). "
        f"The examples shorten “{EXAMPLE}” to {EXAMPLE_LIMIT} characters. Cut at a word falls back to characters "
        "when a single word is longer than the limit.")


def example(style: str) -> str:
    """The example text shortened in `style`."""
    return shorten(get_count_method("code_points"), EXAMPLE, EXAMPLE_LIMIT, style)


def label(style: str) -> str:
    """A style with its one-line example: Cut at a word — “Lightweight trail…”."""
    return f"{LABELS[style]} — “{example(style)}”"


def style_picker(strategy: str, saved: str | None, key: str) -> str | None:
    """The truncate style radio, shown when the strategy is "truncate" (None otherwise)."""
    if strategy != "truncate":
        return None
    if st.session_state.get(key) not in TRUNCATE_STYLES:
        st.session_state[key] = saved if saved in TRUNCATE_STYLES else "cut"  # the engine's default
    style = str(st.radio("How to shorten", TRUNCATE_STYLES, format_func=label, key=key, help=HELP))
    st.caption(f"Examples: “{EXAMPLE}” shortened to {EXAMPLE_LIMIT} characters.")
    return style

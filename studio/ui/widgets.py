"""Small shared widgets: formatted numbers and sizes, empty states, error display."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import streamlit as st

from engine.errors import EngineError
from studio.errors import StudioError

T = TypeVar("T")


def fmt_int(n: int) -> str:
    return f"{n:,}"


_IRREGULAR = {"is": "are", "was": "were", "this": "these", "entry": "entries", "query": "queries",
              "reply": "replies", "policy": "policies", "match": "matches"}


def plural(n: int, word: str, many: str | None = None) -> str:
    """`1 rule`, `2 rules`, `1,200 chunks`, `1 entry`/`3 entries` (or give `many` for other irregulars)."""
    return f"{n:,} {word if n == 1 else (many or _IRREGULAR.get(word) or word + 's')}"


def fmt_bytes(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{n} bytes"


def fmt_duration(seconds: float) -> str:
    """4.2 s, 7 min 6 s, 2 h 5 min."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


def fmt_when(at: dt.datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M")


_MARKUP = set("\\`*_[]<>#|~$")  # links, images, HTML, directives (:red[…]), LaTeX, emphasis
_LINE_START = re.compile(r"(?m)^(\s*)([-+=])|^(\s*\d+)(\.)(?=\s|$)")
_CODE_SPAN = re.compile(r"(`[^`\n]+`)")
_AUTOLINK = re.compile(r"(?i)(?<=http:|ttps:)(?=//)|(?<=www)(?=\.)")


def _escape(text: str) -> str:
    out = []
    for i, ch in enumerate(text):
        before, after = text[i - 1] if i else "", text[i + 1] if i + 1 < len(text) else ""
        if ch == "_" and before.isalnum() and after.isalnum():
            out.append(ch)  # inside a word (product_name) an underscore emphasises nothing
        elif ch in _MARKUP or (ch in "()" and before in "[]") or (ch == "!" and after == "[") or \
                (ch == ":" and after.isalpha()):  # ( and ! only next to a bracket: elsewhere they make nothing;
            out.append("\\" + ch)  # a colon before a letter would start a directive (:red, :material/…:)
        else:
            out.append(ch)
    # nor can a line of it start a list, a numbered item or a heading's underline
    text = _LINE_START.sub(lambda m: f"{m[1] or m[3] or ''}\\{m[2] or m[4]}", "".join(out))
    return unlinked(text)


def unlinked(text: str) -> str:
    """Bare http(s):// and www. addresses as text: Markdown links them whatever escapes they hold, but not one
    with an invisible word joiner after its scheme or www."""
    return _AUTOLINK.sub("\u2060", text)


def as_text(text: str) -> str:
    """Text that may hold values people or feeds chose, for st.markdown/st.warning/…: shown as written, so it can
    draw no link, image or colour (sentence punctuation like '.' and ': ' stays as written)."""
    return _escape(text)


def as_message(text: str) -> str:
    """A message the studio wrote around values people or files chose (an error naming a column or quoting a cell):
    its `code` spans stay code (their insides are never Markdown), everything else is shown as written."""
    return "".join(part if i % 2 else _escape(part) for i, part in enumerate(_CODE_SPAN.split(text)))


def as_code(text: str) -> str:
    """Text as one inline code span, whatever backticks it holds (the fence is longer than any run inside)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def empty_state(title: str, hint: str) -> None:
    st.info(f"**{title}**  \n{hint}")


@contextmanager
def user_errors() -> Iterator[None]:
    """Show errors a user caused as a message, never as a traceback."""
    try:
        yield
    except (StudioError, EngineError) as exc:
        st.error(as_message(str(exc)))


def attempt(fn: Callable[[], T]) -> T | None:
    """Run fn; on a user-caused error show it and return None."""
    try:
        return fn()
    except (StudioError, EngineError) as exc:
        st.error(as_message(str(exc)))
        return None


def needs_setup(can_configure: bool, ask: str, how: str, guide: str) -> None:
    """Something the studio has not set up: members read whom to ask (`ask`), owners and admins how to
    enable it (`how`, and the README's section `guide` in an expander). No setting names for members."""
    if not can_configure:
        st.info(ask)
        return
    st.info(how)
    if guide:
        with st.expander("How to enable it (from the README: Set-up for owners and admins)"):
            st.markdown(guide)


def page_link(page: str, label: str, icon: str | None = None) -> None:
    """A link to another page of the studio; a page run on its own (outside the app's navigation, as AppTest runs
    one file) names the page instead of failing."""
    from streamlit.errors import StreamlitAPIException

    try:
        st.page_link(page, label=label, icon=icon)
    except StreamlitAPIException:
        st.caption(label)

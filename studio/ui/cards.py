"""Cards that look like the platform's own preview, one renderer per format (a registry, like formats).

Every card shows every field of its format with a counter against the field's limit, names a missing
required field ("missing: Headline 2") instead of leaving a gap, and escapes all text. A format without
its own renderer falls back to its platform's, then to a plain one; an extension registers a renderer
with `register_card("platform/format")` exactly as the built-ins below do.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from engine.generation import check_value
from engine.platforms import FieldSpec, Format, get_count_method

__all__ = ["CSS", "Card", "FieldView", "card_html", "register_card", "renderer_for"]


@dataclass(frozen=True)
class FieldView:
    """One field of one card: its text, how long it is by the platform's count, and what is wrong."""

    spec: FieldSpec
    text: str
    length: int
    problem: str | None
    items: int = 0  # hashtags and the like, for fields that limit them

    @property
    def empty(self) -> bool:
        return not self.text.strip()

    @property
    def missing(self) -> bool:
        return self.empty and self.spec.required

    @property
    def over(self) -> bool:
        return self.spec.max_chars is not None and self.length > self.spec.max_chars

    @property
    def counter(self) -> str:
        """'87/90' against the limit; '62 chars' when the field has none; 'ok' for a choice."""
        items = f" · {self.items}/{self.spec.max_items} {self.spec.item_label}" if self.spec.max_items else ""
        if self.spec.max_chars:
            return f"{self.length:,}/{self.spec.max_chars:,}{items}"
        return "ok" if self.spec.kind in ("enum", "bool") else f"{self.length:,} chars"


class Card:
    """What a renderer draws from: the format's fields of one variation, escaped on demand."""

    def __init__(self, fmt: Format, row: Mapping[str, Any]) -> None:
        self.format = fmt
        self.fields: dict[str, FieldView] = {}
        for spec in fmt.fields:
            value = row.get(spec.name)
            text = "" if value is None else str(value)
            length = get_count_method(spec.count).measure(text) if text else 0
            items = len(re.findall(spec.item_pattern, text)) if spec.item_pattern else 0
            self.fields[spec.name] = FieldView(spec, text, length, check_value(spec, text), items)

    def raw(self, name: str) -> str:
        view = self.fields.get(name)
        return view.text if view else ""

    def text(self, name: str, *, cls: str = "", placeholder: bool = True) -> str:
        """The field's text escaped, or 'missing: Label' when a required field is empty ('' if optional)."""
        view = self.fields.get(name)
        if view is None:
            return ""
        if view.empty:
            return f'<span class="dc-missing">missing: {html.escape(view.spec.label)}</span>' if (
                view.spec.required and placeholder) else ""
        body = _esc(view.text)
        return f'<span class="{cls}">{body}</span>' if cls else body

    def group(self, prefix: str) -> list[FieldView]:
        return [v for v in self.fields.values() if v.spec.group == prefix]


Renderer = Callable[[Card], str]
_RENDERERS: dict[str, Renderer] = {}


def register_card(key: str) -> Callable[[Renderer], Renderer]:
    """Register the card of a format ("platform/name") or of a whole platform ("platform")."""

    def decorate(fn: Renderer) -> Renderer:
        _RENDERERS[key] = fn
        return fn
    return decorate


def renderer_for(fmt: Format) -> Renderer:
    return _RENDERERS.get(fmt.key) or _RENDERERS.get(fmt.platform) or _plain


def card_html(fmt: Format, row: Mapping[str, Any]) -> str:
    """The whole card: the platform-looking preview, then every field with its counter."""
    card = Card(fmt, row)
    # One line: Markdown would read blank lines inside the HTML as paragraphs of its own.
    return _one_line(f'<div class="dc-card">{renderer_for(fmt)(card)}{_counters(card)}</div>')


def _one_line(markup: str) -> str:
    return re.sub(r"\n\s*", " ", markup).replace("\n", " ")


def _counters(card: Card) -> str:
    items: list[str] = []
    for v in card.fields.values():
        if v.empty and not v.spec.required:
            continue
        state, note = "dc-ok", ""
        if v.missing:
            state, note = "dc-bad", "missing"
        elif v.problem:
            state, note = "dc-bad", v.problem
        elif v.spec.recommended_chars and v.length > v.spec.recommended_chars:
            state, note = "dc-warn", f"over the {v.spec.recommended_chars:,} recommended"
        title = html.escape(note, quote=True)
        items.append(f'<span class="dc-count {state}" title="{title}">{html.escape(v.spec.label)} '
                     f'<b>{v.counter if not v.missing else "missing"}</b>'
                     f'{f" · {html.escape(note)}" if note and not v.missing else ""}</span>')
    empty = [v.spec.label for v in card.fields.values() if v.empty and not v.spec.required]
    if empty:
        items.append(f'<span class="dc-count dc-empty">empty (optional): {html.escape(_ranges(empty))}</span>')
    return f'<div class="dc-counters">{"".join(items)}</div>'


def _ranges(labels: list[str]) -> str:
    """'Headline 4–15, Path 2': runs of a numbered field read as one range."""
    out: list[str] = []
    run: list[tuple[str, int]] = []

    def flush() -> None:
        if run:
            base, first, last = run[0][0], run[0][1], run[-1][1]
            out.append(f"{base} {first}" if first == last else f"{base} {first}–{last}")
            run.clear()
    for label in labels:
        m = re.fullmatch(r"(.*\D) (\d+)", label)
        if m and run and run[-1][0] == m.group(1) and run[-1][1] + 1 == int(m.group(2)):
            run.append((m.group(1), int(m.group(2))))
            continue
        flush()
        if m:
            run.append((m.group(1), int(m.group(2))))
        else:
            out.append(label)
    flush()
    return ", ".join(out)


def _esc(text: str) -> str:
    """Escaped, with line breaks kept as <br> (the card is one line of HTML for Markdown's sake)."""
    return html.escape(text).replace("\r\n", "\n").replace("\n", "<br>")


def _domain(url: str) -> str:
    try:
        host = urlsplit(url.strip()).hostname or ""
    except ValueError:
        host = ""
    return host.removeprefix("www.")


def _markdown_lite(text: str) -> str:
    """Escaped text with Reddit's **bold** and *italic*; nothing else is interpreted."""
    out = html.escape(text)
    out = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", out)
    out = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<i>\1</i>", out)
    return out.replace("\r\n", "\n").replace("\n", "<br>")


def _body(card: Card, name: str, *, limit: int = 1200) -> str:
    view = card.fields.get(name)
    if view is None:
        return ""
    if view.empty:
        return card.text(name)
    text = view.text if len(view.text) <= limit else view.text[:limit] + " …"
    return f'<div class="dc-body">{_markdown_lite(text)}</div>'


def _cta(value: str) -> str:
    """SHOP_NOW → Shop now (Meta's enum); 'Shop Now' stays."""
    return value.replace("_", " ").capitalize() if value.isupper() else value


@register_card("google/responsive_search_ad")
def _google_rsa(card: Card) -> str:
    heads = [card.text(v.spec.name) for v in card.group("headline")[:3]]
    descs = " ".join(t for v in card.group("description")[:2] if (t := card.text(v.spec.name)))
    url = card.raw("final_url")
    domain = html.escape(_domain(url)) or card.text("final_url") or "example.com"
    paths = "".join(f" › {html.escape(p)}" for p in (card.raw("path_1"), card.raw("path_2")) if p.strip())
    more = [v for v in card.group("headline")[3:] + card.group("description")[2:] if not v.empty]
    extra = "".join(f'<div class="dc-alt">{html.escape(v.spec.label)}: {_esc(v.text)}</div>' for v in more)
    return (f'<div class="dc-g"><div class="dc-g-top"><span class="dc-g-spons">Sponsored</span></div>'
            f'<div class="dc-g-url"><span class="dc-g-fav"></span><span>{domain}{paths}</span></div>'
            f'<div class="dc-g-head">{" | ".join(heads)}</div>'
            f'<div class="dc-g-desc">{descs}</div>'
            f'{extra}</div>')


@register_card("meta/feed_ad")
def _meta_feed(card: Card) -> str:
    primary = card.fields["primary_text"]
    shown = _body(card, "primary_text", limit=600)
    if not primary.empty and len(primary.text) > 125:  # the feed folds after ~125 characters
        shown = f'<div class="dc-body">{_esc(primary.text[:125])}<span class="dc-more">… See more</span></div>'
    cta = card.raw("call_to_action")
    button = f'<span class="dc-btn">{html.escape(_cta(cta))}</span>' if cta.strip() else ""
    domain = html.escape(_domain(card.raw("link")).upper()) or card.text("link")
    return (f'<div class="dc-m"><div class="dc-m-top"><span class="dc-avatar"></span>'
            f'<div><b>Your page</b><div class="dc-sub">Sponsored · Public</div></div></div>{shown}'
            f'<div class="dc-img">image</div>'
            f'<div class="dc-m-bar"><div class="dc-m-texts"><div class="dc-sub">{domain}</div>'
            f'<div class="dc-m-head">{card.text("headline")}</div>'
            f'<div class="dc-sub">{card.text("description")}</div></div>{button}</div></div>')


def _reddit_actions() -> str:
    return '<div class="dc-r-actions">▲ Vote ▼ · Comment · Share</div>'


@register_card("reddit/thread")
def _reddit_thread(card: Card) -> str:
    badges = "".join(f'<span class="dc-badge dc-{name}">{label}</span>'
                     for name, label in (("nsfw", "NSFW"), ("spoiler", "Spoiler"))
                     if card.raw(name).strip().lower() == "true")
    flair = card.text("flair")
    flair_html = f'<span class="dc-flair">{flair}</span>' if flair else ""
    url = card.raw("url")
    link = f'<div class="dc-link">{html.escape(url)}</div>' if url.strip() else ""
    sub = card.text("subreddit")
    return (f'<div class="dc-r"><div class="dc-sub"><b>r/{sub}</b> · Posted by u/you · just now</div>'
            f'<div class="dc-r-title">{card.text("title")} {flair_html}{badges}</div>'
            f'{link}{_body(card, "body")}{_reddit_actions()}</div>')


@register_card("reddit/link_ad")
def _reddit_link_ad(card: Card) -> str:
    cta = card.raw("call_to_action")
    button = f'<span class="dc-btn">{html.escape(cta)}</span>' if cta.strip() else ""
    shown_url = card.raw("display_url") or _domain(card.raw("destination_url"))
    url = html.escape(shown_url) if shown_url.strip() else card.text("destination_url")
    return (f'<div class="dc-r"><div class="dc-sub"><b>u/your_brand</b> · <span class="dc-promoted">Promoted</span></div>'
            f'<div class="dc-r-title">{card.text("headline")}</div>{_body(card, "body")}'
            f'<div class="dc-img">image</div>'
            f'<div class="dc-m-bar"><div class="dc-sub">{url}</div>{button}</div>{_reddit_actions()}</div>')


@register_card("reddit/comment")
def _reddit_comment(card: Card) -> str:
    return (f'<div class="dc-r"><div class="dc-sub">Replying to {card.text("parent")}</div>'
            f'<div class="dc-r-comment"><div class="dc-sub"><b>u/you</b> · just now</div>{_body(card, "body")}'
            f'<div class="dc-r-actions">▲ ▼ · Reply · Share</div></div></div>')


@register_card("instagram")
def _instagram(card: Card) -> str:
    text = f"{card.raw('caption')} {card.raw('hashtags')}".strip()
    parts = re.split(r"(#[^\s#]+)", text)  # odd parts are hashtags
    caption_html = ("".join(f'<span class="dc-tag">{_esc(p)}</span>' if i % 2 else _esc(p) for i, p in enumerate(parts))
                    if text else '<span class="dc-sub">no caption</span>')
    alt = card.raw("alt_text")
    alt_html = f'<div class="dc-alt">Alt text: {html.escape(alt)}</div>' if alt.strip() else ""
    return (f'<div class="dc-i"><div class="dc-m-top"><span class="dc-avatar dc-ring"></span><b>your_account</b></div>'
            f'<div class="dc-img dc-square">image</div><div class="dc-i-icons">♡ Like · Comment · Share</div>'
            f'<div class="dc-body"><b>your_account</b> {caption_html}</div>{alt_html}</div>')


@register_card("x")
def _x(card: Card) -> str:
    body = card.text("text")
    text = f'<div class="dc-body">{body}</div>' if not card.fields["text"].empty else body
    return (f'<div class="dc-x"><div class="dc-m-top"><span class="dc-avatar"></span>'
            f'<div><b>Your name</b> <span class="dc-sub">@you · now</span></div></div>{text}'
            f'<div class="dc-r-actions">Reply · Repost · Like · Views</div></div>')


def _plain(card: Card) -> str:
    rows = "".join(f'<div><span class="dc-sub">{html.escape(v.spec.label)}</span><br>{card.text(name) or "—"}</div>'
                   for name, v in card.fields.items())
    return f'<div class="dc-plain">{rows}</div>'


CSS = _one_line("""<style>
.dc-card{background:#fff;color:#1c1c1c;border:1px solid #dfe1e5;border-radius:10px;padding:12px 14px;
 margin:2px 0 6px 0;font-family:Arial,Helvetica,sans-serif;font-size:14px;line-height:1.45;max-width:640px}
.dc-sub{color:#70757a;font-size:12px}
.dc-missing{color:#c5221f;background:#fce8e6;border:1px dashed #c5221f;border-radius:4px;padding:0 4px;font-size:12px}
.dc-body{word-wrap:break-word;margin:6px 0}
.dc-alt{color:#5f6368;font-size:12px;margin-top:4px}
.dc-g-spons{font-weight:bold;font-size:12px}
.dc-g-url{display:flex;align-items:center;gap:6px;font-size:13px;color:#202124;margin:4px 0}
.dc-g-fav{display:inline-block;width:18px;height:18px;border-radius:50%;background:#e8eaed}
.dc-g-head{color:#1a0dab;font-size:19px;line-height:1.3;margin:2px 0}
.dc-g-desc{color:#4d5156;font-size:14px}
.dc-m-top{display:flex;align-items:center;gap:8px;margin-bottom:6px}
.dc-avatar{display:inline-block;width:34px;height:34px;border-radius:50%;background:#d8dadf;flex:none}
.dc-ring{box-shadow:0 0 0 2px #fff,0 0 0 4px #d62976}
.dc-img{background:#eef0f3;color:#9aa0a6;text-align:center;padding:34px 0;border-radius:6px;margin:6px 0;font-size:12px}
.dc-square{padding:90px 0}
.dc-more{color:#65676b}
.dc-m-bar{display:flex;justify-content:space-between;align-items:center;background:#f0f2f5;border-radius:6px;
 padding:8px 10px;gap:10px}
.dc-m-head{font-weight:bold;font-size:15px}
.dc-btn{background:#e4e6eb;color:#050505;border-radius:6px;padding:6px 12px;font-weight:600;font-size:13px;white-space:nowrap}
.dc-r-title{font-size:18px;font-weight:600;margin:4px 0}
.dc-flair{background:#0079d3;color:#fff;border-radius:10px;padding:1px 8px;font-size:12px;font-weight:normal;margin-left:4px}
.dc-badge{border:1px solid #ff585b;color:#ff585b;border-radius:3px;padding:0 4px;font-size:11px;margin-left:4px}
.dc-link{color:#0079d3;font-size:13px;word-break:break-all}
.dc-r-actions{color:#878a8c;font-size:12px;font-weight:bold;margin-top:6px}
.dc-r-comment{border-left:2px solid #edeff1;padding-left:10px;margin-top:6px}
.dc-promoted{color:#0079d3}
.dc-i-icons{font-size:13px;font-weight:bold;margin:2px 0}
.dc-tag{color:#00376b}
.dc-counters{border-top:1px solid #eee;margin-top:10px;padding-top:6px;display:flex;flex-wrap:wrap;gap:4px}
.dc-count{font-size:11px;border-radius:4px;padding:1px 6px;background:#f1f3f4;color:#3c4043}
.dc-count.dc-bad{background:#fce8e6;color:#c5221f}
.dc-count.dc-warn{background:#fef7e0;color:#8a5a00}
.dc-count.dc-empty{background:transparent;color:#9aa0a6}
</style>""")

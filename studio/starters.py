"""A starter template built from a data set's own columns, for a data set without a template that fits it.

The starter never names a column the data does not have: each role (title, subreddit, link, body, flair, price,
category, parent) is guessed from the column names and kinds, and a role it cannot guess is left for the user to
answer (`Starter.unsure`); `answers` (role → column, "=text" for one literal value for every row, or "" for none)
override the guesses.

Every required field of a format gets a recipe (`_RECIPES`, first one whose roles are known wins): Google's three
headlines and two descriptions, Meta's primary text, headline and link, X's text… Short fields cut their column
with `truncate` to stay within the limit, and a nullable column feeding a required field falls back to another
column (`default`), so a new user's preview shows cards, not "missing" or "over the limit".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from engine.ingest import ColumnProfile
from engine.platforms import FieldSpec, Format
from studio.templates import reference, snippet

# role → (exact names, name fragments), first match wins; names compare in snake_case.
_NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "title": (("title", "headline", "name", "product_name", "product", "item_name", "item", "product_title",
               "subject"), ("title", "headline", "name")),
    "subreddit": (("subreddit", "sub", "community", "subreddit_name", "target_subreddit"), ("subreddit", "community")),
    "link": (("url", "link", "href", "website", "product_url", "landing_page"), ("url", "link", "href")),
    "body": (("body", "description", "text", "summary", "content", "details", "blurb", "copy", "notes"),
             ("description", "summary", "body", "content")),
    "flair": (("flair", "flair_text", "link_flair"), ("flair",)),
    "price": (("price", "sale_price", "current_price", "amount", "cost"), ("price",)),
    "category": (("category", "brand", "collection", "department", "product_type", "genre", "type"),
                 ("category", "brand")),
    "parent": (("parent", "parent_id", "thing_id", "parent_url", "post_id", "post_url", "reply_to"), ("parent",)),
}
ROLE_LABEL = {"title": "title", "subreddit": "subreddit", "link": "link", "parent": "parent post", "body": "body text",
              "flair": "flair", "price": "price", "category": "category"}
_TEXT_KINDS = ("text", "url", "email")
_KINDS: dict[str, tuple[str, ...]] = {"link": _TEXT_KINDS, "price": ("decimal", "integer"),
                                      "category": ("text",), "parent": _TEXT_KINDS}
_ASKED = ("title", "subreddit", "link", "parent")  # roles the user is asked about when the guess fails
LITERAL = "="  # an answer "=deals" means: the literal text "deals" for every row


@dataclass(frozen=True)
class Starter:
    fields: dict[str, str]  # field → template text
    roles: dict[str, str | None]  # role → column (or "=literal"), for the roles this format uses
    guessed: dict[str, str | None]  # role → the column guessed from the names (None: could not tell)
    unsure: tuple[str, ...]  # roles the format needs that neither a guess nor an answer fills
    candidates: dict[str, tuple[str, ...]]  # role → columns worth offering for it


def _norm(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


def guess(role: str, columns: Sequence[ColumnProfile]) -> str | None:
    """The column that most likely holds `role`, from its name and kind; None when nothing looks right."""
    exact, fragments = _NAMES[role]
    kinds = _KINDS.get(role)
    names = {_norm(c.name): c for c in columns}
    for wanted in exact:
        c = names.get(wanted)
        if c is not None and (kinds is None or c.kind in kinds):
            return c.name
    if role == "link":
        for c in columns:
            if c.kind == "url":
                return c.name
    for c in columns:
        n = _norm(c.name)
        if c.kind in (kinds or _TEXT_KINDS) and any(f in n for f in fragments) and not n.endswith(("_id", "_count")):
            return c.name
    return None


def _candidates(role: str, columns: Sequence[ColumnProfile]) -> tuple[str, ...]:
    if role == "link":
        urls = [c.name for c in columns if c.kind == "url"]
        return tuple(urls + [c.name for c in columns if c.kind == "text" and c.name not in urls])
    return tuple(c.name for c in columns if c.kind in _TEXT_KINDS) or tuple(c.name for c in columns)


# --- recipes: how a field is written from the roles ------------------------------------------------

class _Parts:
    """Builds template text from the roles that are known (column references, or an answered literal)."""

    def __init__(self, roles: Mapping[str, str | None], columns: Mapping[str, ColumnProfile]):
        self.roles, self.columns = roles, columns

    def has(self, role: str) -> bool:
        return bool(self.roles.get(role))

    def ref(self, role: str, *, cut: int | None = None, fallback: str | None = None, filters: str = "") -> str:
        """`{{ column | filters | default(other column) | truncate(cut) }}`; a literal answer is written as is.
        The fallback (a role, or "=text") guards a column with empty values: a required field never renders empty.
        A short room (under 300) is always cut to; a roomier one (under 1,000) when the column's examples are long
        (profiles keep 100 characters of an example: one that long may be any length)."""
        value = self.roles[role] or ""
        if value.startswith(LITERAL):
            text = value[len(LITERAL):]
            return text if cut is None or len(text) <= cut else text[:cut - 3].rstrip() + "..."
        column = self.columns.get(value)
        if cut is not None and cut >= 300 and column is not None:
            cut = cut if cut < 1000 and max((len(e) for e in column.examples), default=0) >= 100 else None
        expr = reference(value) + filters
        other = fallback if fallback and fallback.startswith(LITERAL) else self.roles.get(fallback) if fallback else None
        if other and other != value and self.columns.get(value) and self.columns[value].null_count:
            expr += " | default(" + (repr(other[len(LITERAL):]) if other.startswith(LITERAL) else reference(other)) + ")"
        if cut is not None:
            expr += f" | truncate({cut - 3})"  # truncate adds "..." (3 characters) when it cuts
        return snippet(value) if expr == reference(value) else "{{ " + expr + " }}"

    def money(self, role: str) -> str:
        value = self.roles[role] or ""
        if value.startswith(LITERAL):
            return value[len(LITERAL):]
        fmt = (self.columns[value].format or "") if value in self.columns else ""
        code = fmt.split(":", 1)[1] if fmt.startswith("currency:") else "USD"
        return "{{ " + reference(value) + (" | currency" if code == "USD" else f" | currency({code!r})") + " }}"


Recipe = tuple[tuple[str, ...], Callable[[_Parts, FieldSpec], str]]


def _cut(spec: FieldSpec, overhead: int = 0) -> int | None:
    """The characters a field's limit leaves for a column after `overhead` fixed characters (None: no limit)."""
    return None if spec.max_chars is None else max(spec.max_chars - overhead, 4)


def _framed(before: str, role: str, after: str, **kw: str) -> Callable[[_Parts, FieldSpec], str]:
    """`before` + the role's column (cut to what the field's limit leaves after the fixed text) + `after`."""
    return lambda p, s: before + p.ref(role, cut=_cut(s, len(before) + len(after)), **kw) + after


_TITLE: Recipe = (("title",), lambda p, s: p.ref("title", cut=_cut(s)))
_BODY: Recipe = (("body",), lambda p, s: p.ref("body", cut=_cut(s), fallback="title" if s.required else None))
_LINK: Recipe = (("link",), lambda p, s: p.ref("link"))
_RECIPES: dict[str, tuple[Recipe, ...]] = {
    "subreddit": ((("subreddit",), lambda p, s: p.ref("subreddit")),),
    "parent": ((("parent",), lambda p, s: p.ref("parent")),),
    "title": (_TITLE,),
    "headline": (_TITLE,),
    "flair": ((("flair",), lambda p, s: p.ref("flair")),),
    "body": (_BODY,),
    "url": (_LINK,), "destination_url": (_LINK,), "final_url": (_LINK,), "link": (_LINK,),
    "primary_text": (_BODY, _TITLE),
    # Google RSA: three headlines (30) and two descriptions (90), each distinct where the data allows.
    "headline_1": (_TITLE,),
    "headline_2": ((("price",), lambda p, s: "From " + p.money("price")),
                   (("category",), _framed("Shop ", "category", "", filters=" | title")),
                   ((), lambda p, s: "Order online today")),
    "headline_3": ((("category", "price"), lambda p, s: p.ref("category", cut=_cut(s), filters=" | title",
                                                             fallback="=See the full range")),
                   ((), lambda p, s: "See the full range")),
    "description_1": ((("body",), lambda p, s: p.ref("body", cut=_cut(s), fallback="title")),
                      (("title",), _framed("", "title", ", ready to order online."))),
    "description_2": ((("title",), _framed("Order ", "title", " online today, delivered to your door.")),),
    # Meta: a short line under the headline (30)
    "description": ((("price",), lambda p, s: "Only " + p.money("price")),),
    # X: the title, the price when known, and the link (a link counts 23)
    "text": ((("title", "link", "price"), lambda p, s: p.ref("title", cut=200) + " — " + p.money("price") + " "
              + p.ref("link")),
             (("title", "link"), lambda p, s: p.ref("title", cut=220) + " " + p.ref("link")),
             (("title",), lambda p, s: p.ref("title", cut=_cut(s)))),
    # Instagram
    "caption": ((("title", "body"), lambda p, s: p.ref("title", cut=300) + "\n\n" + p.ref("body", cut=1800)),
                (("title",), lambda p, s: p.ref("title", cut=_cut(s)))),
    "alt_text": ((("title",), lambda p, s: "Photo of " + p.ref("title", cut=900)),),
}


def _recipes(spec: FieldSpec) -> tuple[Recipe, ...]:
    if spec.name == "body" and spec.required:  # a comment needs words even when the data has no body column
        return (_BODY, _TITLE)
    if spec.name in _RECIPES:
        return _RECIPES[spec.name]
    if spec.kind == "url":  # a format an extension adds: its links and required text still get a start
        return (_LINK,)
    if spec.required and spec.kind in ("text", "markdown"):
        return (_BODY, _TITLE) if (spec.max_chars or 10**9) > 300 else (_TITLE,)
    return ()


def _roles_of(fmt: Format) -> list[str]:
    """The roles the format's recipes read, in field order (the order the questions are put in)."""
    return list(dict.fromkeys(r for spec in fmt.fields for needed, _ in _recipes(spec) for r in needed))


def build(fmt: Format, columns: Sequence[ColumnProfile], answers: Mapping[str, str | None] | None = None) -> Starter:
    """The starter for `fmt` over `columns`; `answers` (role → column or "=text") override the guesses."""
    answers = answers or {}
    by_name = {c.name: c for c in columns}
    used_roles = _roles_of(fmt)
    guessed = {r: guess(r, columns) for r in used_roles}
    roles: dict[str, str | None] = {}
    for role in used_roles:
        answer = answers.get(role)
        if answer == "":  # answered "none of the columns"
            roles[role] = None
            continue
        valid = answer is not None and ((answer.startswith(LITERAL) and len(answer) > 1) or answer in by_name)
        roles[role] = answer if valid else guessed[role]
    parts = _Parts(roles, by_name)
    fields: dict[str, str] = {}
    wanting: list[str] = []  # roles a required field waits for
    for spec in fmt.fields:
        recipe = next((make for needed, make in _recipes(spec) if all(parts.has(r) for r in needed)), None)
        if recipe is not None:
            fields[spec.name] = recipe(parts, spec)
        elif spec.required:
            wanting += [r for needed, _ in _recipes(spec)[:1] for r in needed if not parts.has(r)]
    if fmt.platform == "reddit" and "body" in fields and "url" in fields:  # a link post carries no body
        fields["body"] += "\n\n" + fields.pop("url")
    unsure = tuple(r for r in used_roles if r in _ASKED and r in wanting)
    return Starter(fields, roles, guessed, unsure, {r: _candidates(r, columns) for r in used_roles})


def fits(fields: Mapping[str, str], columns: Sequence[ColumnProfile], extra: Sequence[str] = ()) -> bool:
    """Whether every field of a template renders against these columns (plus `extra` names, e.g. variation
    sources): no unknown variable, no syntax error."""
    from engine.templates import validate_template

    names = [c.name for c in columns] + list(extra)
    return all(validate_template(source, names).ok for source in fields.values() if source.strip())

"""A starter template built from a data set's own columns, for a data set without a template that fits it.

The starter never names a column the data does not have: each role (title, subreddit, link, body, flair)
is guessed from the column names and kinds, and a role it cannot guess is left for the user to answer
(`Starter.unsure`); `answers` (role → column, "=text" for one literal value for every row, or "" for none) override
the guesses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from engine.ingest import ColumnProfile
from engine.platforms import Format
from studio.templates import snippet

# role → (exact names, name fragments), first match wins; names compare in snake_case.
_NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "title": (("title", "headline", "name", "product_name", "product", "item_name", "item", "product_title",
               "subject"), ("title", "headline", "name")),
    "subreddit": (("subreddit", "sub", "community", "subreddit_name", "target_subreddit"), ("subreddit", "community")),
    "link": (("url", "link", "href", "website", "product_url", "landing_page"), ("url", "link", "href")),
    "body": (("body", "description", "text", "summary", "content", "details", "blurb", "copy", "notes"),
             ("description", "summary", "body", "content")),
    "flair": (("flair", "flair_text", "link_flair"), ("flair",)),
}
ROLE_LABEL = {"title": "title", "subreddit": "subreddit", "link": "link", "body": "body text", "flair": "flair"}
_TEXT_KINDS = ("text", "url", "email")

# field of a format → the role that fills it
_FIELD_ROLE = {
    "subreddit": "subreddit", "title": "title", "headline": "title", "headline_1": "title", "text": "title",
    "caption": "title", "body": "body", "primary_text": "body", "description_1": "body", "url": "link",
    "destination_url": "link", "final_url": "link", "link": "link", "flair": "flair",
}
_ASKED = ("title", "subreddit", "link")  # roles the user is asked about when the guess fails
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
    names = {_norm(c.name): c for c in columns}
    for wanted in exact:
        c = names.get(wanted)
        if c is not None and (role != "link" or c.kind in _TEXT_KINDS):
            return c.name
    if role == "link":
        for c in columns:
            if c.kind == "url":
                return c.name
    for c in columns:
        n = _norm(c.name)
        if c.kind in _TEXT_KINDS and any(f in n for f in fragments) and not n.endswith(("_id", "_count")):
            return c.name
    return None


def _candidates(role: str, columns: Sequence[ColumnProfile]) -> tuple[str, ...]:
    if role == "link":
        urls = [c.name for c in columns if c.kind == "url"]
        return tuple(urls + [c.name for c in columns if c.kind == "text" and c.name not in urls])
    return tuple(c.name for c in columns if c.kind in _TEXT_KINDS) or tuple(c.name for c in columns)


def _text(value: str) -> str:
    return value[len(LITERAL):] if value.startswith(LITERAL) else snippet(value)


def build(fmt: Format, columns: Sequence[ColumnProfile], answers: Mapping[str, str | None] | None = None) -> Starter:
    """The starter for `fmt` over `columns`; `answers` (role → column or "=text") override the guesses."""
    answers = answers or {}
    names = {c.name for c in columns}
    used_roles = [r for r in dict.fromkeys(_FIELD_ROLE.get(f.name) for f in fmt.fields) if r]
    guessed = {r: guess(r, columns) for r in used_roles}
    roles: dict[str, str | None] = {}
    for role in used_roles:
        answer = answers.get(role)
        if answer == "":  # answered "none of the columns"
            roles[role] = None
            continue
        valid = answer is not None and ((answer.startswith(LITERAL) and len(answer) > 1) or answer in names)
        roles[role] = answer if valid else guessed[role]
    fields: dict[str, str] = {}
    for spec in fmt.fields:
        role = _FIELD_ROLE.get(spec.name)
        value = roles.get(role) if role else None
        if value:
            fields[spec.name] = _text(value)
    if fmt.platform == "reddit" and "body" in fields and "url" in fields:  # a link post carries no body
        fields["body"] += "\n\n" + fields.pop("url")
    required_roles = {_FIELD_ROLE.get(f.name) for f in fmt.fields if f.required}
    unsure = tuple(r for r in used_roles if r in _ASKED and roles[r] is None and r in required_roles)
    return Starter(fields, roles, guessed, unsure, {r: _candidates(r, columns) for r in used_roles})


def fits(fields: Mapping[str, str], columns: Sequence[ColumnProfile], extra: Sequence[str] = ()) -> bool:
    """Whether every field of a template renders against these columns (plus `extra` names, e.g. variation
    sources): no unknown variable, no syntax error."""
    from engine.templates import validate_template

    names = [c.name for c in columns] + list(extra)
    return all(validate_template(source, names).ok for source in fields.values() if source.strip())

"""What goes to Reddit, checked against the format's limits (engine.platforms) at planning and again at send time.

The same check runs twice on purpose: a variation can be hand-edited after it was planned, and the
send must never be the first place a 301-code-point or NUL-carrying title meets Reddit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.generation.constraints import check_value
from engine.platforms import get_format

FLAG_DEFAULTS = {"nsfw": False, "spoiler": False, "send_replies": True}  # Reddit's own defaults
TRUE, FALSE = frozenset({"true", "1", "yes", "on"}), frozenset({"false", "0", "no", "off"})


@dataclass(frozen=True)
class Flags:
    """The thread format's NSFW, spoiler and send-replies fields, as Reddit's submit takes them."""

    nsfw: bool = False
    spoiler: bool = False
    send_replies: bool = True


def _flag(fields: Mapping[str, Any], name: str) -> bool | str:
    """The field as a bool, or the reason it is not one."""
    value = fields.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return FLAG_DEFAULTS[name]
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE or text in FALSE:
        return text in TRUE
    return f"The {name.replace('_', '-')} field is {str(value)[:40]!r}; use true or false."


def flags(fields: Mapping[str, Any]) -> Flags | str:
    """The variation's flags, or why one of them cannot be read (never silently the default)."""
    values = {name: _flag(fields, name) for name in FLAG_DEFAULTS}
    for value in values.values():
        if isinstance(value, str):
            return value
    return Flags(**{k: bool(v) for k, v in values.items()})


def problem(kind: str, *, title: str = "", body: str = "", url: str = "", flair_text: str = "") -> str | None:
    """The first reason this thread or comment breaks the Reddit format's limits, or None."""
    fmt = get_format("reddit", "thread" if kind == "thread" else "comment")
    values = {"title": title, "body": body, "url": url, "flair": flair_text} if kind == "thread" else {"body": body}
    for name, value in values.items():
        spec = fmt.field(name)
        if "\x00" in value:
            return f"The {spec.label} field contains a NUL character (\\x00); remove it from the variation."
        if not value and not spec.required:
            continue
        why = check_value(spec, value)
        if why is not None:
            return f"The {spec.label} field is {why}; edit the variation and plan it again."
    return None

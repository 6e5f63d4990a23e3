"""The workspace word list (issue 19 item 6): banned words and brand spellings that every set of the workspace applies.

Banned words either refuse a variation (it is not generated; its problem names the word and the field) or are
replaced by a fixed text; brand spellings fix a word's casing ("iphone" → "iPhone"). Words match whole and
ignoring case. Editors change the list (audited), anyone in the workspace reads it. A preview applies the
list as it is now; a generation run copies it into the set's configuration when it starts, so every chunk
(and a later feed apply) uses the same list the run started with — the list the preview showed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from engine.errors import EngineError
from engine.generation.hygiene_step import BANNED_MODES, WordList
from studio import audit
from studio.context import Context, Permission
from studio.errors import ValidationFailed
from studio.permissions import internal, requires
from studio.store.base import utcnow
from studio.store.session import Store, TenantSession
from studio.store.wordlist_models import WordListRow

__all__ = ["WordListSettings", "get_word_list", "in_config", "parse_lines", "save_word_list"]


@dataclass(frozen=True)
class WordListSettings:
    """A workspace's word list as the settings page shows it."""

    banned: list[str] = field(default_factory=list)
    banned_mode: str = "refuse"
    replacement: str = ""
    brands: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.banned and not self.brands

    def config(self) -> dict[str, Any] | None:
        """The generation config's `word_list` (None when the list holds no words)."""
        if self.empty:
            return None
        return {"banned": list(self.banned), "banned_mode": self.banned_mode, "replacement": self.replacement,
                "brands": list(self.brands)}


def parse_lines(text: str) -> list[str]:
    """One word (or phrase) a line; blank lines dropped, spacing inside a line collapsed."""
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def _row_settings(row: WordListRow | None) -> WordListSettings:
    if row is None:
        return WordListSettings()
    return WordListSettings(list(row.banned or []), row.banned_mode, row.replacement, list(row.brands or []))


@requires(Permission.VIEW)
def get_word_list(store: Store, ctx: Context) -> WordListSettings:
    """The workspace's word list (empty when none was saved)."""
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        return _row_settings(s.scalar(select(WordListRow)))


@requires(Permission.EDIT)
def save_word_list(store: Store, ctx: Context, *, banned: Sequence[str], banned_mode: str = "refuse",
                   replacement: str = "", brands: Sequence[str] = ()) -> WordListSettings:
    """Replace the workspace's word list; a message saying what to change when it is not usable."""
    if banned_mode not in BANNED_MODES:
        raise ValidationFailed("Banned words are either refused (the variation is not generated) or replaced; "
                               f"pick one of: {', '.join(BANNED_MODES)}.")
    if banned_mode == "replace" and banned and not replacement.strip():
        raise ValidationFailed("Banned words: write what replaces them, or choose to refuse the variation instead.")
    try:
        checked = WordList(banned=tuple(banned), banned_mode=banned_mode, replacement=replacement, brands=tuple(brands))
    except EngineError as exc:
        raise ValidationFailed(f"The word list cannot be saved: {str(exc).removeprefix('word list: ')}.") from None
    settings = WordListSettings(list(checked.banned), checked.banned_mode, checked.replacement, list(checked.brands))
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        row = s.scalar(select(WordListRow))
        before = _row_settings(row)
        if row is None:
            row = WordListRow()
            s.add(row)
        row.banned, row.banned_mode, row.replacement = settings.banned, settings.banned_mode, settings.replacement
        row.brands, row.updated_by, row.updated_at = settings.brands, ctx.user_id, utcnow()
        s.flush()
        added = sorted(set(settings.banned) - set(before.banned)) + sorted(set(settings.brands) - set(before.brands))
        removed = sorted(set(before.banned) - set(settings.banned)) + sorted(set(before.brands) - set(settings.brands))
        audit.record(s, "word_list.update", object_type="word_list", object_id=row.id,
                     summary=(f"Word list: {len(settings.banned)} banned word(s) ({settings.banned_mode}), "
                              f"{len(settings.brands)} brand spelling(s)"),
                     detail={"added": added[:50], "removed": removed[:50], "banned_mode": settings.banned_mode,
                             "replacement": settings.replacement})
    return settings


@internal("the caller's unit of work already passed its own gate (a preview or a generation run)")
def in_config(s: TenantSession, config: dict[str, Any]) -> dict[str, Any]:
    """`config` with the workspace's current word list as its `word_list` (without one when the list is empty)."""
    words = _row_settings(s.scalar(select(WordListRow))).config()
    out = {k: v for k, v in config.items() if k != "word_list"}
    if words is not None:
        out["word_list"] = words
    return out

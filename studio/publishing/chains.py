"""Reply chains in a comment set: a row's `parent` may name another row of the same set ("row 3").

The reply then goes out after its parent is posted, under it (t1_…). Chains nest to any depth;
the planner sees parents before their replies, and a reply whose parent cannot be scheduled is
refused with the parent's reason instead of waiting forever.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from studio.store.campaign_models import Variation

ROW_REF = re.compile(r"\s*(?:row\s*:?\s*|#)(\d{1,9})\s*", re.IGNORECASE)


def parent_row(value: str) -> int | None:
    """`row 3`, `row:3` or `#3`: the (1-based) row of another variation of this set; None otherwise."""
    m = ROW_REF.fullmatch(value or "")
    return int(m.group(1)) if m else None


def parent_value(v: Variation) -> str:
    """The variation's parent field as written."""
    return str(v.fields.get("parent") or v.fields.get("parent_id") or "")


@dataclass
class Chains:
    """Which new item replies to which (keys are outbox dedupe keys), in an order that puts parents first."""

    parent_of: dict[str, str] = field(default_factory=dict)  # child key → parent key (new or already scheduled)
    order: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)  # key → 1-based row, for messages

    def refuse_orphans(self, refused: Mapping[str, str]) -> dict[str, str]:
        """Replies (at any depth) to items that will not be scheduled, with the reason they are refused."""
        out: dict[str, str] = {}
        changed = True
        while changed:
            changed = False
            for child, parent in self.parent_of.items():
                if child in out or child in refused:
                    continue
                why = refused.get(parent) or out.get(parent)
                if why is not None:
                    out[child] = f"It replies to row {self.rows.get(parent, '?')}, which cannot be scheduled: {why}"
                    changed = True
        return out


def resolve(variations: Sequence[Variation], scheduled: Mapping[tuple[int, int], str], key_of: dict[uuid.UUID, str]
            ) -> Chains:
    """Resolve `row N` parents among `variations` (new) and `scheduled` ((row, variation) → key, already in the outbox).

    A parent row with several variations is matched on the same variation index (parallel chains when
    variation sources are crossed), else its first variation.
    """
    out = Chains()
    by_row: dict[tuple[int, int], str] = dict(scheduled)
    for v in variations:
        by_row[(v.row_index, v.variation_index)] = key_of[v.id]
        out.rows[key_of[v.id]] = v.row_index + 1
    for (row, _), key in scheduled.items():
        out.rows.setdefault(key, row + 1)
    for v in variations:
        n = parent_row(parent_value(v))
        if n is None:
            continue
        key = key_of[v.id]
        parent = by_row.get((n - 1, v.variation_index)) or by_row.get((n - 1, 0))
        if parent is None:
            out.refused[key] = f"Its parent, row {n}, is not an approved, valid variation of this set."
        elif parent == key:
            out.refused[key] = f"Row {n} cannot reply to itself."
        else:
            out.parent_of[key] = parent
    for key in list(out.parent_of):
        loop = _loop_from(key, out.parent_of)
        if loop:
            path = " → ".join(f"row {out.rows[k]}" for k in [*loop, loop[0]])
            for k in loop:
                out.refused[k] = f"The reply chain loops: {path}."
    for key in out.refused:
        out.parent_of.pop(key, None)
    out.order = _parents_first([key_of[v.id] for v in variations], out.parent_of)
    return out


def _loop_from(key: str, parent_of: Mapping[str, str]) -> list[str]:
    seen: list[str] = []
    while key in parent_of and key not in seen:
        seen.append(key)
        key = parent_of[key]
    return seen[seen.index(key):] if key in seen else []


def _parents_first(keys: list[str], parent_of: Mapping[str, str]) -> list[str]:
    order: list[str] = []
    placed: set[str] = set()
    wanted = set(keys)
    for key in keys:
        lineage = []
        k: str | None = key
        while k is not None and k in wanted and k not in placed and k not in lineage:
            lineage.append(k)
            k = parent_of.get(k)
        for k in reversed(lineage):
            placed.add(k)
            order.append(k)
    return order

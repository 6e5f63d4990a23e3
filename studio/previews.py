"""The live preview: the first variations and whole-data-set figures for a configuration."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from engine.generation import Preview, build_plan, preview
from engine.platforms import get_format, list_formats
from studio import datasets
from studio.context import Context
from studio.errors import ValidationFailed
from studio.store.session import Store


@dataclass(frozen=True)
class PreviewResult:
    preview: Preview
    sql: str
    fallback_fields: dict[str, str]


def format_choices() -> dict[str, str]:
    """"platform/format" → label, for pickers."""
    return {f.key: f"{f.label}" for f in list_formats()}


def format_fields(key: str) -> list[tuple[str, str, int | None, bool]]:
    """(name, label, max_chars, required) of a format's fields."""
    platform, name = key.split("/", 1)
    return [(f.name, f.label, f.max_chars, f.required) for f in get_format(platform, name).fields]


def run_preview(store: Store, ctx: Context, dataset_id: uuid.UUID, config: dict[str, Any], *, limit: int = 20) -> PreviewResult:
    """Render the first `limit` variations and the figures of the whole data set (viewers may preview)."""
    table = datasets.load_table(store, ctx, dataset_id)
    try:
        with build_plan(table, config) as plan:
            result = preview(plan, limit=limit)
            return PreviewResult(result, plan.explain(), plan.fallback_fields)
    except ValidationFailed:
        raise
    except Exception as exc:  # noqa: BLE001 - engine errors name the template/rule/field to fix
        from engine.errors import EngineError

        if isinstance(exc, EngineError):
            raise
        raise ValidationFailed(f"The preview failed: {exc}") from exc

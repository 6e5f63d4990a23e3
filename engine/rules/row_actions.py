"""Built-in actions on the row's metadata: skip, groups, tags and targeting."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.rules.actions import (
    TARGET_PREFIX,
    ActionSpec,
    Assignment,
    FieldChange,
    ListEvent,
    Param,
    PrepareContext,
    PreparedAction,
    RowState,
    SqlContext,
    TextValue,
    register_action,
)


class _Skip(PreparedAction):
    def apply(self, state: RowState) -> list[FieldChange]:
        state.skipped = True
        return [FieldChange("skip", "__skipped", False, True)]

    def sql(self, ctx: SqlContext) -> list[Assignment | ListEvent]:
        return [Assignment("__skipped", "true", frozenset())]


class SkipAction(ActionSpec):
    """Drop the row; nothing after it (in this rule or later ones) runs."""

    name = "skip"
    label = "Skip the row"

    def prepare(self, params: Mapping[str, Any], ctx: PrepareContext) -> PreparedAction:
        return _Skip()


class _ListEdit(PreparedAction):
    def __init__(self, action: str, attribute: str, value: str, add: bool) -> None:
        self.action, self.attribute, self.value, self.add = action, attribute, value, add

    def apply(self, state: RowState) -> list[FieldChange]:
        items: list[str] = getattr(state, self.attribute)
        before = list(items)
        if self.add and self.value not in items:
            items.append(self.value)
        elif not self.add:
            items[:] = [item for item in items if item != self.value]
        return [FieldChange(self.action, f"__{self.attribute}", before, list(items))] if items != before else []

    def sql(self, ctx: SqlContext) -> list[Assignment | ListEvent]:
        return [ListEvent(f"__{self.attribute}", "add" if self.add else "remove", self.value)]


class _ListAction(ActionSpec):
    attribute: str
    add: bool
    param: str

    def check(self, params: dict[str, Any]) -> None:
        if not params[self.param].strip():
            raise ValueError(f"parameter {self.param!r} must not be empty")

    def prepare(self, params: Mapping[str, Any], ctx: PrepareContext) -> PreparedAction:
        return _ListEdit(self.name, self.attribute, params[self.param], self.add)


class AddToGroupAction(_ListAction):
    """Put the row in a named group (once)."""

    name = "add_to_group"
    label = "Add to group"
    params = (Param("group", "text"),)
    attribute, add, param = "groups", True, "group"


class RemoveFromGroupAction(_ListAction):
    """Take the row out of a named group."""

    name = "remove_from_group"
    label = "Remove from group"
    params = (Param("group", "text"),)
    attribute, add, param = "groups", False, "group"


class AddTagAction(_ListAction):
    """Tag the row (once)."""

    name = "add_tag"
    label = "Add tag"
    params = (Param("tag", "text"),)
    attribute, add, param = "tags", True, "tag"


class _SetTargeting(PreparedAction):
    def __init__(self, key: str, value: TextValue) -> None:
        self.key, self.value = key, value

    def apply(self, state: RowState) -> list[FieldChange]:
        before = state.targeting.get(self.key)
        after = self.value.render(state.row)
        state.targeting[self.key] = after
        return [FieldChange("set_targeting", TARGET_PREFIX + self.key, before, after)]

    def sql(self, ctx: SqlContext) -> list[Assignment | ListEvent]:
        expr, reads = self.value.sql(ctx.kinds)
        return [Assignment(TARGET_PREFIX + self.key, expr, reads)]


class SetTargetingAction(ActionSpec):
    """Set a targeting key (subreddit, flair…) for the row; the value may be a template."""

    name = "set_targeting"
    label = "Set targeting"
    params = (Param("key", "key"), Param("value", "template"))

    def prepare(self, params: Mapping[str, Any], ctx: PrepareContext) -> PreparedAction:
        return _SetTargeting(params["key"], TextValue(params["value"], ctx.kinds))


for _spec in (SkipAction(), AddToGroupAction(), RemoveFromGroupAction(), AddTagAction(), SetTargetingAction()):
    register_action(_spec)

"""The visual rule builder: rules with nested AND/OR condition groups and actions, edited as a JSON draft.

The draft (plain JSON in session state, each node tagged with a `_uid`) is the source of truth;
widgets are keyed by uid, so reordering or removing a node never mixes up another's values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from engine.rules import ACTIONS, OPERATORS, Param
from engine.rules.values import NUMERIC_KINDS, TEXT_KINDS

DRAFT = "rb_draft"
MAX_UI_DEPTH = 2  # the builder offers two levels of groups; imported JSON may nest deeper and still shows
LOGIC = {"and": "All of these (AND)", "or": "Any of these (OR)"}
PLACEHOLDER = {"template": "text or {{ column }}", "expression": "e.g. price * 0.9", "key": "e.g. country",
               "text": "", "new_field": "column (existing or new)"}
Node = dict[str, Any]


def _uid() -> str:
    st.session_state["rb_seq"] = st.session_state.get("rb_seq", 0) + 1
    return f"n{st.session_state['rb_seq']}"


def _tag(node: Any) -> Any:
    """A copy of a rule / group / condition / action dict with a fresh `_uid` on every node."""
    if isinstance(node, dict):
        out = {k: _tag(v) if k in ("conditions", "items", "actions") else v for k, v in node.items()}
        out["_uid"] = _uid()
        return out
    return [_tag(x) for x in node] if isinstance(node, list) else node


_PRIVATE = ("_uid", "_fresh", "_snapshot")  # builder bookkeeping, never part of the rule JSON


def _untag(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _untag(v) for k, v in node.items() if k not in _PRIVATE}
    return [_untag(x) for x in node] if isinstance(node, list) else node


def load(scope: str, rules: list[dict[str, Any]]) -> None:
    """Start editing `rules` (firing order) under `scope` (a rule set id or "new")."""
    ordered = sorted(enumerate(rules), key=lambda p: (p[1].get("priority", 0), p[0]))
    st.session_state[DRAFT] = {"for": scope, "rules": [_tag(dict(r)) for _, r in ordered]}


def draft(scope: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    """The draft for `scope`, loading `rules` when another scope was being edited."""
    current = st.session_state.get(DRAFT)
    if not current or current.get("for") != scope:
        load(scope, rules)
    return st.session_state[DRAFT]


def to_rules(d: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The draft as engine JSON; priorities follow the list, so rules fire top to bottom. A rule just added
    and not touched yet is left out (it would only be reported as incomplete before anyone typed)."""
    out = []
    for number, rule in enumerate((r for r in d["rules"] if not r.get("_fresh")), start=1):
        clean = _untag(rule)
        clean["priority"] = number
        out.append(clean)
    return out


def normalise(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Saved rules in the form `to_rules` produces (to tell unsaved changes apart)."""
    ordered = sorted(enumerate(rules), key=lambda p: (p[1].get("priority", 0), p[0]))
    return [{**r, "priority": n} for n, (_, r) in enumerate(ordered, start=1)]


# --- structural edits (button callbacks: they run before the next script run) ----------------

def _move(items: list[Node], index: int, step: int) -> None:
    other = index + step
    if 0 <= other < len(items):
        items[index], items[other] = items[other], items[index]


def _remove(items: list[Node], index: int) -> None:
    if 0 <= index < len(items):
        items.pop(index)


def _append(items: list[Node], make: Callable[[], Node]) -> None:
    items.append(_tag(make()))


def _condition(schema: Mapping[str, str]) -> Callable[[], Node]:
    return lambda: {"field": next(iter(schema), ""), "operator": "equals", "value": ""}


def _new_rule(rules: list[Node], schema: Mapping[str, str]) -> None:
    taken = {r.get("id") for r in rules}
    n = len(rules) + 1
    while f"r{n}" in taken:
        n += 1
    rules.append(_tag({"id": f"r{n}", "name": f"Rule {n}", "enabled": True, "_fresh": True,
                       "conditions": {"logic": "and", "items": [_condition(schema)()]},
                       "actions": [{"type": "set_field", "params": {}}]}))


def _settle(rule: Node) -> bool:
    """Whether a new rule is still untouched: its widgets' values as first drawn (kept the first time)."""
    if not rule.get("_fresh"):
        return False
    now = _untag(rule)
    if "_snapshot" not in rule:
        rule["_snapshot"] = now
    elif now != rule["_snapshot"]:
        rule.pop("_fresh", None)
        rule.pop("_snapshot", None)
    return bool(rule.get("_fresh"))


# --- widgets ---------------------------------------------------------------------------------

def _init(key: str, value: Any) -> None:
    if key not in st.session_state:
        st.session_state[key] = value


def _pick(where: DeltaGenerator, label: str, options: list[Any], current: Any, key: str, editable: bool,
          fmt: Callable[[Any], str] = str, **kw: Any) -> Any:
    """A selectbox whose state always holds one of `options` (the current value is kept if unknown)."""
    if (current not in options and current not in (None, "")) or not options:
        options = [*options, current if current is not None else ""]
    _init(key, current if current in options else options[0])
    if st.session_state[key] not in options:
        st.session_state[key] = options[0]
    return where.selectbox(label, options, key=key, format_func=fmt, disabled=not editable, **kw)


def operators_for(kind: str | None) -> list[str]:
    """Operators the builder offers for a column kind (every operator when the kind is unknown)."""
    return [name for name, spec in OPERATORS.items() if kind is None or kind in spec.kinds]


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(_as_text(v) for v in value)
    return str(value).lower() if isinstance(value, bool) else str(value)


def _typed(text: str, kind: str | None) -> Any:
    """A number for numeric columns when the text is one; the text otherwise."""
    if kind in NUMERIC_KINDS:
        for cast in (int, float):
            try:
                return cast(text.strip())
            except ValueError:
                pass
    return text


def _value(where: DeltaGenerator, node: Node, kind: str | None, value_type: str, key: str, editable: bool) -> Any:
    if value_type == "none":
        where.caption("—")
        return None
    if kind == "boolean" and value_type == "scalar":
        return _pick(where, "Value", [True, False], node.get("value") if isinstance(node.get("value"), bool) else True,
                     f"{key}_bool", editable, fmt=lambda v: "true" if v else "false", label_visibility="collapsed")
    hint = {"list": "a, b, c", "pattern": "regular expression"}.get(value_type) or \
        {"integer": "a number", "decimal": "a number", "date": "YYYY-MM-DD", "datetime": "YYYY-MM-DD HH:MM"}.get(
            kind or "", "value")
    _init(f"{key}_{value_type}", _as_text(node.get("value")))
    text = where.text_input("Value", key=f"{key}_{value_type}", placeholder=hint, disabled=not editable,
                            label_visibility="collapsed")
    if value_type == "list":
        return [_typed(part.strip(), kind) for part in text.split(",") if part.strip()]
    return text if value_type == "pattern" else _typed(text, kind)


def _condition_row(node: Node, items: list[Node], index: int, schema: Mapping[str, str], editable: bool) -> None:
    uid = node["_uid"]
    c = st.columns([3, 3, 3, 1, 1], vertical_alignment="center")
    field = _pick(c[0], "Column", list(schema), node.get("field"), f"rb_{uid}_field", editable,
                  label_visibility="collapsed")
    kind = schema.get(field)
    operator = _pick(c[1], "Operator", operators_for(kind), node.get("operator"), f"rb_{uid}_op", editable,
                     fmt=lambda o: OPERATORS[o].label if o in OPERATORS else o, label_visibility="collapsed")
    spec = OPERATORS.get(operator)
    value_type = spec.value if spec else "scalar"
    node.update(field=field, operator=operator, value=_value(c[2], node, kind, value_type, f"rb_{uid}_v", editable))
    node.pop("case_sensitive", None)
    if kind in TEXT_KINDS and value_type != "none":
        _init(f"rb_{uid}_case", bool(node.get("case_sensitive")))
        if c[3].checkbox("Aa", key=f"rb_{uid}_case", help="Match case", disabled=not editable):
            node["case_sensitive"] = True
    if editable:
        c[4].button("✕", key=f"rb_{uid}_del", help="Remove this condition", on_click=_remove, args=(items, index))


def _group(group: Node, schema: Mapping[str, str], editable: bool, depth: int,
           parent: list[Node] | None = None, index: int = 0) -> None:
    uid = group["_uid"]
    c = st.columns([4, 2, 2, 1], vertical_alignment="center")
    _init(f"rb_{uid}_logic", group.get("logic", "and"))
    group["logic"] = c[0].radio("Match", list(LOGIC), format_func=LOGIC.__getitem__, key=f"rb_{uid}_logic",
                                horizontal=True, disabled=not editable, label_visibility="collapsed")
    items: list[Node] = group.setdefault("items", [])
    if editable:
        c[1].button("Condition", icon=":material/add:", key=f"rb_{uid}_addc", on_click=_append,
                    args=(items, _condition(schema)))
        if depth < MAX_UI_DEPTH:
            c[2].button("Group", icon=":material/add:", key=f"rb_{uid}_addg", on_click=_append,
                        args=(items, lambda: {"logic": "or", "items": [_condition(schema)()]}))
        if parent is not None:
            c[3].button("✕", key=f"rb_{uid}_del", help="Remove this group", on_click=_remove, args=(parent, index))
    if not items:
        st.caption("No conditions: the rule applies to every row.")
    for i, item in enumerate(items):
        if "items" in item or "logic" in item:
            with st.container(border=True):
                _group(item, schema, editable, depth + 1, items, i)
        else:
            _condition_row(item, items, i, schema, editable)


def _param(where: DeltaGenerator, p: Param, value: Any, key: str, schema: Mapping[str, str], editable: bool) -> Any:
    label = (p.label or p.name.replace("_", " ").capitalize()) + ("" if p.required else " (optional)")
    key = f"{key}_{p.type}"
    if p.type == "field":
        return _pick(where, label, list(schema), value, key, editable)
    if p.type == "choice":
        return _pick(where, label, list(p.choices), value or p.default or p.choices[0], key, editable)
    if p.type == "bool":
        _init(key, bool(value if value is not None else p.default))
        checked = where.checkbox(label, key=key, disabled=not editable)
        return None if checked == bool(p.default) and not p.required else checked  # the default stays implicit
    if p.type == "table":
        shown = value if isinstance(value, str) else "\n".join(f"{k} = {v}" for k, v in value or [])
        _init(key, shown)
        text = where.text_area(label, key=key, height=80, disabled=not editable,
                               help="One `key = value` pair per line, or the name of a lookup data set.")
        lines = [line for line in text.splitlines() if line.strip()]
        if lines and all("=" in line for line in lines):
            return [[part.strip() for part in line.split("=", 1)] for line in lines]
        return text.strip() or None
    _init(key, "" if value is None else str(value))
    text = where.text_input(label, key=key, placeholder=PLACEHOLDER.get(p.type, ""), disabled=not editable)
    return text if text or p.required else None


def _action(node: Node, actions: list[Node], index: int, schema: Mapping[str, str], editable: bool) -> None:
    uid = node["_uid"]
    c = st.columns([2, 7, 1], vertical_alignment="bottom")
    kind = _pick(c[0], "Action", list(ACTIONS), node.get("type"), f"rb_{uid}_type", editable,
                 fmt=lambda a: ACTIONS[a].label if a in ACTIONS else a)
    spec = ACTIONS.get(kind)
    params: dict[str, Any] = {}
    if spec is not None and spec.params:
        cells = c[1].columns(len(spec.params))
        old = node.get("params") or {}
        for cell, p in zip(cells, spec.params):
            value = _param(cell, p, old.get(p.name), f"rb_{uid}_p_{p.name}", schema, editable)
            if value is not None:
                params[p.name] = value
    elif spec is not None:
        c[1].caption("No settings.")
    node.update(type=kind, params=params)
    if editable:
        c[2].button("✕", key=f"rb_{uid}_del", help="Remove this action", on_click=_remove, args=(actions, index))


def builder(d: dict[str, Any], schema: Mapping[str, str], editable: bool) -> dict[str, DeltaGenerator]:
    """Draw every rule and update the draft from the widgets; returns a message slot per rule id."""
    rules: list[Node] = d["rules"]
    slots: dict[str, DeltaGenerator] = {}
    if not rules:
        st.caption("No rules yet." + (" Add one: conditions on a row's columns, then what to do." if editable else ""))
    for i, rule in enumerate(rules):
        uid = rule["_uid"]
        with st.container(border=True):
            h = st.columns([6, 2, 1, 1, 1], vertical_alignment="center")
            _init(f"rb_{uid}_name", rule.get("name") or rule.get("id", ""))
            rule["name"] = h[0].text_input("Rule name", key=f"rb_{uid}_name", disabled=not editable,
                                           label_visibility="collapsed") or rule.get("id", "")
            _init(f"rb_{uid}_on", bool(rule.get("enabled", True)))
            rule["enabled"] = h[1].toggle("Enabled", key=f"rb_{uid}_on", disabled=not editable)
            if editable:
                h[2].button("↑", key=f"rb_{uid}_up", help="Fire earlier", disabled=i == 0, on_click=_move,
                            args=(rules, i, -1))
                h[3].button("↓", key=f"rb_{uid}_down", help="Fire later", disabled=i == len(rules) - 1,
                            on_click=_move, args=(rules, i, 1))
                h[4].button("✕", key=f"rb_{uid}_del", help="Delete this rule", on_click=_remove, args=(rules, i))
            slots[str(rule.get("id"))] = st.container()
            st.markdown("**If**")
            _group(rule.setdefault("conditions", {"logic": "and", "items": [], "_uid": _uid()}), schema, editable, 1)
            st.markdown("**Then**")
            actions: list[Node] = rule.setdefault("actions", [])
            for j, action in enumerate(actions):
                _action(action, actions, j, schema, editable)
            if editable:
                st.button("Action", icon=":material/add:", key=f"rb_{uid}_adda", on_click=_append,
                          args=(actions, lambda: {"type": "add_tag", "params": {}}))
            if _settle(rule):
                slots[str(rule.get("id"))].caption("New rule: pick the condition and what to do; it is checked and "
                                                   "tested on the data once you change it.")
    if editable:
        st.button("Add rule", icon=":material/add:", key="rb_add_rule", on_click=_new_rule, args=(rules, schema))
    return slots

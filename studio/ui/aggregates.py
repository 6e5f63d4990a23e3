"""Aggregates over the whole data set on screen: a small table editor (Preview) and a note where rules are built."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from engine.errors import EngineError
from engine.generation.aggregates import AGGS, MAX_AGGREGATES, aggregate_kinds, parse_aggregates
from studio.ui import widgets

EXPLAIN = ("Figures over **every row** of the data set, computed before any rule runs, used like columns. E.g. "
           "`category_count` = count by `category` → a rule *category_count less than 3 → skip*; `category_min_price`"
           " = min of `price` by `category` → `{{ category_min_price }}`. Empty values are skipped; no *by*: the whole "
           "data set.")
_COLUMNS = ["name", "agg", "of", "by"]


def _frame(aggregates: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    rows = [{"name": a.get("name", ""), "agg": a.get("agg", "count"), "of": a.get("of") or None,
             "by": list(a.get("by") or [])} for a in aggregates if isinstance(a, Mapping)]
    return pd.DataFrame(rows, columns=_COLUMNS)


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for rec in frame.to_dict("records"):
        name = str(rec.get("name") or "").strip()
        if not name:
            continue  # a row being typed in
        item: dict[str, Any] = {"name": name, "agg": rec.get("agg") or "count"}
        of = rec.get("of")
        if isinstance(of, str) and of:
            item["of"] = of
        by = rec.get("by")
        item["by"] = [str(b) for b in by] if isinstance(by, (list, tuple)) else []
        out.append(item)
    return out


def editor(saved: Any, columns: Sequence[tuple[str, str]], key: str) -> list[dict[str, Any]]:
    """The aggregates of a preview (a list of JSON-ready dicts), edited in a table; problems shown under it."""
    names = [c for c, _ in columns]
    if f"{key}_base" not in st.session_state:  # the editor keeps its edits against the rows it started with
        st.session_state[f"{key}_base"] = [a for a in (saved or []) if isinstance(a, Mapping)]
    base = st.session_state[f"{key}_base"]
    with st.expander(f"Aggregates over the whole data set ({len(base)})" if base else
                     "Aggregates over the whole data set", expanded=bool(base)):
        st.caption(EXPLAIN)
        edited = st.data_editor(
            _frame(base), key=key, num_rows="dynamic", hide_index=True, width="stretch",
            column_config={
                "name": st.column_config.TextColumn("Name", width=112, help="How rules and templates call it, e.g. "
                                                    "category_min_price", required=True, max_chars=60),
                "agg": st.column_config.SelectboxColumn("Agg", width=56, options=list(AGGS), default="count",
                                                        required=True, help="count, min, max, avg or sum"),
                "of": st.column_config.SelectboxColumn("Of", width=60, options=names,
                                                       help="The column it reads (count without one counts rows)"),
                "by": st.column_config.MultiselectColumn("By", width=84, options=names, default=[],
                                                         help="Rows with equal values here form a group; none: "
                                                              "the whole data set"),
            })
        rows = _rows(edited)
        if len(rows) > MAX_AGGREGATES:
            st.error(f"A set can have at most {MAX_AGGREGATES} aggregates; remove {len(rows) - MAX_AGGREGATES}.")
        problem = check(rows, dict(columns))
        if problem:
            st.error(widgets.as_message(problem))
        elif rows:
            parsed = parse_aggregates(rows)
            kinds = aggregate_kinds(parsed, dict(columns))
            st.caption("Use them as " + "; ".join(f"`{{{{ {a.name} }}}}` = {a.describe()} ({kinds[a.name]})"
                                                  for a in parsed) + ", and in rules on the Rules page.")
    return rows


def names(aggregates: Any) -> list[str]:
    """The names of drafted aggregates (whatever their state), for the columns a template may read."""
    return [str(a["name"]) for a in aggregates or [] if isinstance(a, Mapping) and a.get("name")]


def check(aggregates: Any, kinds: Mapping[str, str]) -> str | None:
    """What is wrong with the aggregates for these columns, in words (None: fine)."""
    try:
        aggregate_kinds(parse_aggregates(aggregates), kinds)
    except EngineError as exc:
        return f"{exc.message[:1].upper()}{exc.message[1:]}."
    return None


def rule_columns(aggregates: Any, schema: Mapping[str, str]) -> dict[str, str]:
    """The aggregate columns rules can use with this schema (none when they do not fit it), with a note on screen."""
    if not aggregates:
        return {}
    problem = check(aggregates, schema)
    if problem:
        st.caption("The aggregates set on Preview do not fit this data set, so rules here cannot use them: "
                   + widgets.as_message(problem))
        return {}
    kinds = aggregate_kinds(parse_aggregates(aggregates), schema)
    described = {a.name: a.describe() for a in parse_aggregates(aggregates)}
    st.caption("Aggregate columns from Preview, over every row of the data set: "
               + "; ".join(f"{widgets.as_code(n)} = {widgets.as_text(described[n])}" for n in kinds) + ". Edit them on Preview.")
    return kinds

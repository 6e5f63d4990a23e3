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
SHORT = ("Figures over **every row** of the data set (a count, min, max, avg or sum, per group of rows), computed "
         "before any rule runs and used like columns.")
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


def _problem(rows: list[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> str | None:
    if len(rows) > MAX_AGGREGATES:
        return f"A set can have at most {MAX_AGGREGATES} aggregates; remove {len(rows) - MAX_AGGREGATES}."
    return check(rows, dict(columns))


def _uses(rows: list[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> None:
    """Each aggregate in words, one a line: how templates read it, what it computes, its kind."""
    parsed = parse_aggregates(rows)
    kinds = aggregate_kinds(parsed, dict(columns))
    st.markdown("\n".join(f"- {widgets.as_code(a.name)} = {widgets.as_text(a.describe())} ({kinds[a.name]})"
                           for a in parsed))
    st.caption(f"Templates read them like columns ({widgets.as_code('{{ name }}')}); rules on the Rules page can use "
               "them too.")


def editor(saved: Any, columns: Sequence[tuple[str, str]], key: str) -> list[dict[str, Any]]:
    """The aggregates of a preview (a list of JSON-ready dicts): each in words where they are used, problems under
    them, and an Edit button opening a wide table (a narrow settings column has no room for four readable columns)."""
    if f"{key}_base" not in st.session_state:  # what the preview uses until the editor saves new rows
        st.session_state[f"{key}_base"] = [a for a in (saved or []) if isinstance(a, Mapping)]
    rows = _rows(_frame(st.session_state[f"{key}_base"]))
    with st.expander(f"Aggregates over the whole data set ({len(rows)})" if rows else
                     "Aggregates over the whole data set", expanded=bool(rows)):
        st.caption(SHORT)  # the examples are in the table's dialog: this column is narrow
        problem = _problem(rows, columns)
        if problem:
            st.error(widgets.as_message(problem))
        elif rows:
            _uses(rows, columns)
        if st.button("Edit aggregates" if rows else "Add an aggregate", key=f"{key}_edit", icon=":material/edit:"):
            st.session_state[f"{key}_opened"] = st.session_state.get(f"{key}_opened", 0) + 1  # a fresh table each time
            _edit(rows, columns, f"{key}_{st.session_state[f'{key}_opened']}", key)
    return rows


@st.dialog("Aggregates over the whole data set", width="large")
def _edit(rows: list[dict[str, Any]], columns: Sequence[tuple[str, str]], table_key: str, key: str) -> None:
    names = [c for c, _ in columns]
    st.caption(EXPLAIN)
    edited = st.data_editor(
        _frame(rows), key=table_key, num_rows="dynamic", hide_index=True, width="stretch",
        column_config={
            "name": st.column_config.TextColumn("Name", width="medium", required=True, max_chars=60,
                                                help="How templates and rules call it, e.g. category_min_price"),
            "agg": st.column_config.SelectboxColumn("Figure", width="small", options=list(AGGS), default="count",
                                                    required=True, help="count, min, max, avg or sum"),
            "of": st.column_config.SelectboxColumn("Of column", width="medium", options=names,
                                                   help="The column it reads (count without one counts rows)"),
            "by": st.column_config.MultiselectColumn("Per group of", width="large", options=names, default=[],
                                                     help="Rows with equal values in these columns form a group; "
                                                          "none: the whole data set"),
        })
    new = _rows(edited)
    problem = _problem(new, columns)
    if problem:
        st.error(widgets.as_message(problem))
    elif new:
        _uses(new, columns)
    buttons = st.container(horizontal=True)
    if buttons.button("Use these aggregates", type="primary", disabled=bool(problem), key=f"{table_key}_save",
                   help="Fix the problem above first" if problem else None):
        st.session_state[f"{key}_base"] = new
        st.rerun()
    if buttons.button("Cancel", key=f"{table_key}_cancel"):
        st.rerun()


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

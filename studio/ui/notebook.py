"""Widgets of the explore notebook: the tables list, cells (SQL, Markdown, group by), results and charts."""

from __future__ import annotations

import functools
import uuid
from typing import Any, Literal

import altair as alt
import polars as pl
import streamlit as st

from engine.errors import EngineError
from engine.transforms import OPS
from studio import notebook_outputs, notebooks
from studio.context import Context
from studio.errors import StudioError
from studio.notebook_outputs import StoredOutput
from studio.notebooks import Cell, CellResult, Notebook
from studio.store.session import Store
from studio.ui import widgets

UNDO = "nb_undo"
ROW_COUNT = "(row count)"
NONE = "(none)"
CHART_ROWS = 5_000
CHART_KEYS = {"type": "nb_ch_type_", "x": "nb_ch_x_", "y": "nb_ch_y_", "color": "nb_ch_c_"}
CSS = """<style>
[class*="st-key-nb_cell_"] textarea { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: 0.9rem; }
</style>"""


def _result_key(cell_id: uuid.UUID) -> str:
    return f"nb_result_{cell_id}"


def seconds(s: float) -> str:
    """'0.43 s', '12.5 s'."""
    return f"{s:.2f} s" if s < 10 else f"{s:,.1f} s"


def style() -> None:
    """SQL and Markdown editors in a monospace font."""
    st.html(CSS)


def _act(action: Any, *args: Any, **kwargs: Any) -> bool:
    """Call a service; show a user-caused error and return False instead of raising."""
    try:
        action(*args, **kwargs)
    except (StudioError, EngineError) as exc:
        st.error(widgets.as_message(str(exc)))
        return False
    return True


def _flash(key: str, message: str) -> None:
    st.session_state[f"nb_flash_{key}"] = message
    st.rerun()


def _show_flash(key: str) -> None:
    if message := st.session_state.pop(f"nb_flash_{key}", None):
        st.success(message)


def tables_panel(store: Store, ctx: Context, book: Notebook) -> None:
    """Every data set as a table name the SQL can use, with its columns; derived ones can be refreshed."""
    with st.expander(f"Tables you can query ({len(book.tables)})", expanded=not book.cells):
        _show_flash("tables")
        for t in book.tables:
            cols = ", ".join(widgets.as_code(c.name) for c in t.columns[:12]) + (" …" if len(t.columns) > 12 else "")
            st.markdown(f"**{widgets.as_code(t.name)}** · {widgets.as_text(t.dataset_name)} · {widgets.plural(t.row_count, 'row')}  \n{cols}")
            if t.source is None:
                continue
            left, right = st.columns([5, 1], vertical_alignment="center")
            shown = notebooks.describe_source(t.source)
            left.caption("Saved from: " + widgets.as_text(shown if len(shown) <= 160 else shown[:159] + "…"))
            if book.can_edit and right.button("Refresh", key=f"nb_refresh_{t.dataset_id}", help="Re-run its query"):
                with st.spinner(f"Refreshing {t.dataset_name}…"):
                    done = widgets.attempt(functools.partial(notebooks.refresh, store, ctx, t.dataset_id))
                if done is not None:
                    _flash("tables", f"Refreshed {widgets.as_text(repr(done.name))}: {widgets.plural(done.row_count, 'row')} "
                                     f"(version {done.version}).")


def undo_banner(store: Store, ctx: Context) -> None:
    """After a delete: say what went and offer to bring it back."""
    gone: Cell | None = st.session_state.get(UNDO)
    if gone is None:
        return
    left, right = st.columns([5, 1], vertical_alignment="center")
    left.info(f"Deleted cell {gone.position + 1} ({notebooks.CELL_KINDS[gone.kind]}).")
    if right.button("Undo", key="nb_undo_btn", icon=":material/undo:") and _act(notebooks.restore_cell, store, ctx, gone):
        st.session_state.pop(UNDO, None)
        st.rerun()


def add_buttons(store: Store, ctx: Context, book: Notebook) -> None:
    """Append a SQL, Markdown or group-by cell (over the newest data set)."""
    first = book.newest
    starters: dict[str, tuple[str, dict[str, Any]]] = {
        "sql": (f"SELECT *\nFROM {first.name}\nLIMIT 100" if first else "SELECT 1", {}),
        "markdown": ("", {}),
        "group_by": ("", {"dataset_id": str(first.dataset_id), "group_by": [], "aggregations": [{"op": "COUNT"}]}
                     if first else {}),
    }
    for col, (kind, label) in zip(st.columns(len(starters) + 2)[:3], notebooks.CELL_KINDS.items()):
        if col.button(f"{label} cell", key=f"nb_add_{kind}", icon=":material/add:", width="stretch"):
            source, config = starters[kind]
            if _act(_add_cell, store, ctx, book, kind, source, config):
                st.rerun()


def _add_cell(store: Store, ctx: Context, book: Notebook, kind: str, source: str, config: dict[str, Any]) -> None:
    if kind == "group_by" and config.get("dataset_id"):
        config = {**config, "group_by": notebooks.suggest_group_by(store, ctx, uuid.UUID(config["dataset_id"]))}
    notebooks.add_cell(store, ctx, kind, source=source, config=config, notebook_id=book.id)


def _current_config(cell: Cell, book: Notebook) -> dict[str, Any]:
    """The cell's settings as the widgets hold them now (the saved ones until first drawn)."""
    if cell.kind != "group_by":
        return cell.config
    ss = st.session_state
    aggs = ss.get(f"nb_gb_aggs_{cell.id}_value")
    return {**cell.config,
            "dataset_id": ss.get(f"nb_gb_ds_{cell.id}", cell.config.get("dataset_id")),
            "group_by": ss.get(f"nb_gb_keys_{cell.id}", cell.config.get("group_by", [])),
            "aggregations": aggs if aggs is not None else cell.config.get("aggregations", [])}


def _run(store: Store, ctx: Context, book: Notebook, cell: Cell) -> None:
    """Save what changed (editors), run, keep the result or the error for this cell."""
    source = st.session_state.get(f"nb_src_{cell.id}", cell.source)
    config = _current_config(cell, book)
    try:
        if book.can_edit and (source != cell.source or config != cell.config):
            notebooks.update_cell(store, ctx, cell.id, source=source, config=config)
        outcome: CellResult | str | None = notebooks.run_cell(store, ctx, cell.kind, source, config)
    except (StudioError, EngineError) as exc:
        outcome = str(exc)
    st.session_state[_result_key(cell.id)] = outcome
    if book.can_edit and outcome is not None:  # kept for the next visit; a viewer's runs are their own
        try:
            notebook_outputs.save(store, ctx, cell.id, cell.kind, source, config, outcome, book.tables)
        except (StudioError, EngineError) as exc:
            st.toast(f"This result was not kept for the next visit: {widgets.as_message(str(exc))}")


def run_all(store: Store, ctx: Context, book: Notebook) -> None:
    """Run every cell in order, with progress."""
    runnable = [c for c in book.cells if c.kind != "markdown"]
    bar = st.progress(0.0, text="Running…")
    for i, cell in enumerate(runnable, start=1):
        bar.progress((i - 1) / max(len(runnable), 1), text=f"Running cell {cell.position + 1} of {len(book.cells)}…")
        _run(store, ctx, book, cell)
    bar.empty()


def cell(store: Store, ctx: Context, book: Notebook, c: Cell) -> None:
    """One cell: its header (run, move, delete), its editor, and its result."""
    with st.container(border=True, key=f"nb_cell_{c.id}"):
        label, tools = st.columns([1, 1], vertical_alignment="center")
        label.caption(f"**[{c.position + 1}]** {notebooks.CELL_KINDS[c.kind]}")
        bar = tools.container(horizontal=True, horizontal_alignment="right", gap="small")
        run = c.kind != "markdown" and bar.button("Run", key=f"nb_run_{c.id}", icon=":material/play_arrow:",
                                                 type="primary")
        if book.can_edit:
            last = len(book.cells) - 1
            up = bar.button("↑", key=f"nb_up_{c.id}", help="Move up", disabled=c.position == 0, type="tertiary")
            down = bar.button("↓", key=f"nb_down_{c.id}", help="Move down", disabled=c.position >= last,
                              type="tertiary")
            if (up or down) and _act(notebooks.move_cell, store, ctx, c.id, -1 if up else 1):
                st.rerun()
            if bar.button("✕", key=f"nb_del_{c.id}", help="Delete (you can undo)", type="tertiary"):
                gone = widgets.attempt(lambda: notebooks.delete_cell(store, ctx, c.id))
                if gone is not None:
                    st.session_state[UNDO] = gone
                    st.rerun()
        if c.kind == "sql":
            st.text_area("SQL", value=c.source, key=f"nb_src_{c.id}", height=120, label_visibility="collapsed",
                         placeholder="SELECT * FROM <table> LIMIT 100")
        elif c.kind == "group_by":
            _group_by_editor(c, book)
        else:
            _markdown(store, ctx, book, c)
        outcome = st.session_state.get(_result_key(c.id))
        kept = book.outputs.get(c.id) if outcome is None and c.kind != "markdown" else None
        banner = st.empty()
        if kept is not None and (reason := _stale(book, c, kept)):
            with banner.container(horizontal=True, vertical_alignment="center"):
                st.warning(f"**Stale** — {widgets.as_message(reason)}. This is the last kept result.", icon=":material/history:",
                           width="stretch")
                run = st.button("Run again", key=f"nb_again_{c.id}", icon=":material/refresh:") or run
        if run:
            banner.empty()
            with st.spinner("Running…"):
                _run(store, ctx, book, c)
            outcome, kept = st.session_state.get(_result_key(c.id)), None
        if isinstance(outcome, str):
            st.error(widgets.as_message(outcome))
        elif isinstance(outcome, CellResult):
            _result(store, ctx, book, c, outcome)
        elif kept is not None and kept.error is not None:
            st.error(widgets.as_message(kept.error))
        elif kept is not None and kept.table is not None:
            _result(store, ctx, book, c, CellResult(kept.table, kept.truncated, kept.elapsed_s, kept.source),
                    note=_kept_note(kept))


def _stale(book: Notebook, c: Cell, kept: StoredOutput) -> str | None:
    source = st.session_state.get(f"nb_src_{c.id}", c.source)
    return kept.stale_reason(c.kind, source, _current_config(c, book), book.tables)


def _kept_note(kept: StoredOutput) -> str:
    """Where a result shown after a reload comes from, and how much of it was kept."""
    when = f"Kept from the run of {kept.ran_at:%d %b %Y, %H:%M} UTC"
    if kept.capped:
        return (f"{when} · showing the first {widgets.fmt_int(kept.rows_kept)} of {widgets.fmt_int(kept.rows_shown)} "
                f"rows (results are {notebook_outputs.KEEP_NOTE}); run it again to see them all")
    return when


def _markdown(store: Store, ctx: Context, book: Notebook, c: Cell) -> None:
    editing_key = f"nb_md_edit_{c.id}"
    editing = book.can_edit and st.session_state.get(editing_key, not c.source.strip())
    if not editing:
        st.markdown(c.source or "*(empty note)*")
        if book.can_edit and st.button("Edit", key=f"nb_md_open_{c.id}", icon=":material/edit:"):
            st.session_state[editing_key] = True
            st.rerun()
        return
    text = st.text_area("Markdown", value=c.source, key=f"nb_src_{c.id}", height=100, label_visibility="collapsed",
                        placeholder="Notes in Markdown: # headings, **bold**, lists…")
    if st.button("Done", key=f"nb_md_done_{c.id}") and _act(notebooks.update_cell, store, ctx, c.id, source=text):
        st.session_state[editing_key] = False
        st.rerun()


def _group_by_editor(c: Cell, book: Notebook) -> None:
    """Pick a data set, the columns to group by and the aggregations: no SQL needed."""
    ids = [str(t.dataset_id) for t in book.tables]
    saved = str(c.config.get("dataset_id") or "")
    left, right = st.columns(2)
    ds = left.selectbox("Data set", ids, index=ids.index(saved) if saved in ids else 0, key=f"nb_gb_ds_{c.id}",
                        format_func=lambda i: next(t.name for t in book.tables if str(t.dataset_id) == i))
    table = next(t for t in book.tables if str(t.dataset_id) == ds)
    names = [col.name for col in table.columns]
    keys = [k for k in c.config.get("group_by", []) if k in names]
    right.multiselect("Group by", names, default=keys, key=f"nb_gb_keys_{c.id}", placeholder="Choose columns")
    rows = [{"op": a.get("op", "COUNT"), "field": a.get("field"), "output": a.get("output")}
            for a in c.config.get("aggregations", [])] or [{"op": "COUNT", "field": None, "output": None}]
    edited = st.data_editor(
        pl.DataFrame(rows, schema={"op": pl.String, "field": pl.String, "output": pl.String}),
        key=f"nb_gb_aggs_{c.id}", num_rows="dynamic", width="stretch", hide_index=True, placeholder="",
        column_config={
            "op": st.column_config.SelectboxColumn("Aggregation", options=list(OPS), required=True, default="COUNT"),
            "field": st.column_config.SelectboxColumn("Column (empty = rows)", options=names),
            "output": st.column_config.TextColumn("Output name (optional)"),
        },
    )
    st.session_state[f"nb_gb_aggs_{c.id}_value"] = [
        {k: v for k, v in row.items() if isinstance(v, str) and v.strip()}
        for row in pl.DataFrame(edited).to_dicts() if isinstance(row.get("op"), str)
    ]


def _result(store: Store, ctx: Context, book: Notebook, c: Cell, res: CellResult, *, note: str = "") -> None:
    st.caption(f"{res.row_label} · {seconds(res.elapsed_s)}" + (f"  \n{note}" if note else ""))
    table_tab, chart_tab = st.tabs(["Table", "Chart"])
    with table_tab:
        ints = {col: st.column_config.NumberColumn(format="localized")
                for col, dtype in res.table.schema.items() if dtype.is_integer()}
        st.dataframe(res.table, width="stretch", hide_index=True, height=min(38 + 35 * res.table.height, 400),
                     column_config=ints)
    with chart_tab:
        _chart(store, ctx, book, c, res.table)
    if not book.can_edit:
        st.caption("Viewers can run cells but not save results as data sets.")
        return
    _show_flash(str(c.id))
    with st.expander("Save as data set"):
        left, right = st.columns([3, 1], vertical_alignment="bottom")
        name = left.text_input("Name", key=f"nb_save_name_{c.id}", placeholder="e.g. Sales per category")
        if right.button("Save as data set", key=f"nb_save_{c.id}", width="stretch"):
            with st.spinner("Running the query in full and saving it…"):
                saved = widgets.attempt(lambda: notebooks.save_as_dataset(store, ctx, name, res.source))
            if saved is not None:
                _flash(str(c.id), f"Saved {widgets.as_text(repr(saved.name))} ({widgets.plural(saved.row_count, 'row')}): it is now a "
                                  "table you can query, and it remembers this query (refresh it from the tables list).")


def _save_chart(store: Store, ctx: Context, book: Notebook, c: Cell) -> None:
    """on_change of a chart control: remember the choices with the cell."""
    choice = {name: st.session_state.get(f"{prefix}{c.id}") for name, prefix in CHART_KEYS.items()}
    try:
        notebooks.update_cell(store, ctx, c.id, config={**_current_config(c, book), "chart": choice})
    except (StudioError, EngineError) as exc:
        st.toast(f"The chart settings were not saved: {widgets.as_message(str(exc))}")


def _kind(df: pl.DataFrame, column: str) -> Literal["quantitative", "temporal", "nominal"]:
    dtype = df.schema[column]
    if dtype.is_numeric():
        return "quantitative"
    return "temporal" if dtype.is_temporal() else "nominal"


def _chart(store: Store, ctx: Context, book: Notebook, c: Cell, df: pl.DataFrame) -> None:
    """An Altair chart with chosen type, x, y and colour (remembered with the cell for editors)."""
    columns = df.columns
    if not columns or df.is_empty():
        st.caption("Nothing to chart: the result has no rows.")
        return
    numeric = [col for col in columns if df.schema[col].is_numeric()]
    saved = dict(c.config.get("chart") or {})
    ys = [ROW_COUNT, *numeric]
    colours = [NONE, *columns]

    def pick(options: list[str], wanted: Any, fallback: int) -> int:
        return options.index(wanted) if wanted in options else min(fallback, len(options) - 1)

    remember: dict[str, Any] = {"on_change": _save_chart, "args": (store, ctx, book, c)} if book.can_edit else {}
    k, x, y, colour = st.columns(4)
    kind = k.selectbox("Type", notebooks.CHART_TYPES, index=pick(list(notebooks.CHART_TYPES), saved.get("type"), 0),
                       key=f"{CHART_KEYS['type']}{c.id}", **remember)
    x_col = x.selectbox("x", columns, index=pick(columns, saved.get("x"), 0), key=f"{CHART_KEYS['x']}{c.id}",
                        **remember)
    first_y = next((i for i, name in enumerate(ys) if name != x_col and i > 0), 0)
    y_col = y.selectbox("y", ys, index=pick(ys, saved.get("y"), first_y), key=f"{CHART_KEYS['y']}{c.id}", **remember)
    colour_col = colour.selectbox("Colour", colours, index=pick(colours, saved.get("color"), 0),
                                  key=f"{CHART_KEYS['color']}{c.id}", **remember)
    data = df.head(CHART_ROWS)
    x_kind = _kind(data, x_col)
    y_enc = alt.Y("count():Q", title="rows") if y_col == ROW_COUNT else alt.Y(y_col, type=_kind(data, y_col))
    mark = {"bar": "mark_bar", "line": "mark_line", "point": "mark_point", "area": "mark_area"}[kind]
    x_enc = alt.X(x_col, type=x_kind, sort=None if x_kind == "nominal" else "ascending",  # nominal: query order
                  axis=alt.Axis(labelAngle=-40 if x_kind == "nominal" else 0, labelLimit=160))
    chart = getattr(alt.Chart(data), mark)(tooltip=True).encode(x=x_enc, y=y_enc)
    if colour_col != NONE:
        chart = chart.encode(color=alt.Color(colour_col, type=_kind(data, colour_col)))
    st.altair_chart(chart, width="stretch")
    if df.height > CHART_ROWS:
        st.caption(f"The chart shows the first {CHART_ROWS:,} rows.")

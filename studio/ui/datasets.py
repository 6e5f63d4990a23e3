"""Widgets of the data sources page: upload, column profile, preview, manage."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import polars as pl
import streamlit as st

from engine.ingest import SUPPORTED_EXTENSIONS, IngestOptions, NeedsSheetChoice
from engine.ingest_nested import ARRAY_MODES, DEFAULT_DEPTH, MAX_DEPTH, parquet_has_nested
from studio import datasets
from studio.context import Context
from studio.store.session import Store
from studio.ui import widgets

KIND_LABEL = {"integer": "Integer", "decimal": "Decimal", "boolean": "Boolean", "date": "Date",
              "datetime": "Date & time", "url": "URL", "email": "Email", "text": "Text"}
FORMAT_LABEL = {"percent": "Percent (50% → 0.5)", "grouped": "Thousands separators", "month_date": "Month-name date"}
ARRAY_LABEL = {"join": "Join the items into one text", "json": "Keep as JSON text", "first": "Keep the first item",
               "expand": "One row per item"}
_TABLE_EXTENSIONS = (".csv", ".tsv", ".txt", ".xlsx")
_NESTED_EXTENSIONS = (".json", ".jsonl", ".ndjson")


def _uploader_key(base: str) -> str:
    """The uploader's key, changed after each stored file so the uploader comes back empty."""
    n = st.session_state.get(f"{base}_gen", 0)
    return base if n == 0 else f"{base}_{n}"


def _rotate(base: str) -> None:
    st.session_state[f"{base}_gen"] = st.session_state.get(f"{base}_gen", 0) + 1


def done(message: str, dataset_id: object | None = None) -> None:
    """After a change: remember what to say and which data set to open, and draw the page again from the store."""
    st.session_state["flash"] = message
    if dataset_id is not None:
        st.session_state["selected_dataset"] = str(dataset_id)
        st.session_state["open_dataset_next"] = str(dataset_id)
    st.rerun()


def upload_form(store: Store, ctx: Context) -> None:
    """Upload a new data set; asks for a sheet when an Excel file has several, and what to do with a file
    whose bytes are already stored (upload anyway, replace that data set, or cancel)."""
    with st.expander("Upload a data set", expanded=True):
        file = st.file_uploader(
            "Data file", type=[e.lstrip(".") for e in SUPPORTED_EXTENSIONS], key=_uploader_key("upload_file"),
            help=f"Up to {store.settings.max_upload_mb} MB. CSV/TSV in UTF-8, UTF-16 or Latin-1; Excel .xlsx; JSON; Parquet; a Merchant Center product feed (RSS/Atom XML).",
        )
        name = st.text_input("Name (optional)", key=_uploader_key("upload_name"), placeholder="defaults to the file name")
        sheet = None
        sheets = st.session_state.get("upload_sheets")
        if file is not None and sheets and st.session_state.get("upload_sheets_for") == file.name:
            if note := st.session_state.get("upload_sheet_note"):
                st.info(note)
            sheet = st.selectbox("This workbook has several sheets — which one?", sheets, key="upload_sheet")
        if file is None:
            st.session_state.pop("upload_duplicate", None)
            return
        options = _ingest_options(file.name, file.getvalue)
        if options is None:
            return
        dup = st.session_state.get("upload_duplicate")
        if dup is not None and dup["file"] == file.file_id:
            anyway, replace_it = _duplicate_choice(dup)
            if not (anyway or replace_it):
                return
            st.session_state.pop("upload_duplicate", None)
        else:
            if not st.button("Upload", type="primary", key="upload_go"):
                return
            found = widgets.attempt(lambda: datasets.find_duplicate(store, ctx, file.getvalue()))
            if found is not None:
                st.session_state["upload_duplicate"] = {"file": file.file_id, "id": str(found.dataset_id),
                                                        "name": found.name, "version": found.version,
                                                        "current": found.current}
                st.rerun()
            anyway, replace_it = True, False
        progress = st.progress(0.0, text="Reading the file…")
        try:
            data = file.getvalue()
            progress.progress(0.3, text=f"Detecting types in {widgets.fmt_bytes(len(data))}…")
            if replace_it:
                summary = datasets.replace(store, ctx, uuid.UUID(dup["id"]), file.name, data, sheet=sheet,
                                           options=options)
            else:
                summary = datasets.upload(store, ctx, file.name, data, name=name or None, sheet=sheet,
                                          options=options)
        except NeedsSheetChoice as exc:
            progress.empty()
            st.session_state["upload_sheets"] = list(exc.sheets)
            st.session_state["upload_sheets_for"] = file.name
            st.session_state["upload_sheet_note"] = f"{widgets.as_message(str(exc))} Pick one, then press Upload again."
            st.rerun()  # draws the sheet picker above
        except Exception as exc:
            progress.empty()
            _show_error(exc)
            return
        progress.progress(1.0, text="Stored.")
        for key in ("upload_sheets", "upload_sheet_note", "upload_sheet"):
            st.session_state.pop(key, None)
        _rotate("upload_file")
        _rotate("upload_name")
        if replace_it:
            done(f"Replaced {widgets.as_text(repr(summary.name))}: now version {summary.version} "
                 f"({widgets.plural(summary.row_count, 'row')}).", summary.id)
        done(f"Uploaded {widgets.as_text(repr(summary.name))}: {widgets.plural(summary.row_count, 'row')} × "
             f"{widgets.plural(summary.column_count, 'column')}.", summary.id)


def _ingest_options(filename: str, content: Callable[[], bytes]) -> IngestOptions | None:
    """The reading options that fit the file: a header row for tables, flattening for nested data
    (JSON, Parquet with structs or lists), keeping formatted text for all. None (with the error shown)
    when a choice is not allowed."""
    extension = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    choices: dict[str, object] = {}
    with st.container(border=True):
        st.caption("Reading options")
        if extension in _TABLE_EXTENSIONS:
            choices["has_header"] = st.checkbox(
                "The first row holds the column names", value=True, key="upload_has_header",
                help="Untick for a file without a header row: its columns are named column_1, column_2, …")
        if extension == ".json":
            choices["data_path"] = st.text_input(
                "Rows are under (optional)", key="upload_data_path", placeholder="e.g. data.items", max_chars=200,
                help="For a file that wraps its rows in an object, such as {\"data\": {\"items\": [...]}}: "
                     "the keys to the list of rows, joined by dots.").strip()
        if extension in _NESTED_EXTENSIONS or (extension == ".parquet" and parquet_has_nested(content())):
            left, mid, right = st.columns([1, 1, 1])
            choices["flatten_depth"] = int(left.number_input(
                "Flatten nested objects to depth", min_value=1, max_value=MAX_DEPTH, value=DEFAULT_DEPTH, step=1,
                key="upload_depth", help="item.pricing.msrp is depth 3. Objects deeper than this stay JSON text; "
                                         "1 keeps every nested object as JSON."))
            choices["arrays"] = mid.selectbox("Lists", ARRAY_MODES, format_func=ARRAY_LABEL.__getitem__,
                                              key="upload_arrays")
            if choices["arrays"] == "join":
                choices["array_separator"] = right.text_input("Join list items with", value=", ", max_chars=10,
                                                              key="upload_separator")
        choices["keep_text"] = st.checkbox(
            "Also keep formatted values as written", value=False, key="upload_keep_text",
            help="Amounts ($1,299.00), percentages (50%) and dates (Jan 15, 2024) are read as numbers and dates; "
                 "this adds a <name>_text column with the original text, for templates that print it as written.")
    try:
        return IngestOptions(**choices)  # type: ignore[arg-type]
    except Exception as exc:  # noqa: BLE001 - an IngestError naming the option; shown like any upload error
        _show_error(exc)
        return None


def _duplicate_choice(dup: dict[str, object]) -> tuple[bool, bool]:
    """The same bytes are stored already: (upload anyway, replace that data set); both False until a click."""
    which = "the current version" if dup["current"] else "an earlier version"
    st.warning(f"This file is already **{widgets.as_text(str(dup['name']))}**, version {dup['version']} ({which}). "
               "Upload it anyway as a new data set, replace that data set with it, or cancel.")
    a, b, c, _ = st.columns([2, 2, 1, 3])
    anyway = a.button("Upload anyway", key="upload_dup_anyway", type="primary")
    replace_it = b.button(f"Replace {widgets.as_text(str(dup['name']))}", key="upload_dup_replace")
    if c.button("Cancel", key="upload_dup_cancel"):
        st.session_state.pop("upload_duplicate", None)
        _rotate("upload_file")
        _rotate("upload_name")
        st.rerun()
    return anyway, replace_it


def _show_error(exc: Exception) -> None:
    from engine.errors import EngineError
    from studio.errors import StudioError

    if isinstance(exc, (EngineError, StudioError)):
        st.error(widgets.as_message(str(exc)))
    else:
        st.error("Something went wrong while storing the file; nothing was saved. Try again, and tell us if it persists.")


def dataset_table(items: list[datasets.DatasetSummary]) -> None:
    st.dataframe(
        pl.DataFrame({
            "Name": [d.name for d in items],
            "Rows": [d.row_count for d in items],
            "Columns": [d.column_count for d in items],
            "Version": [d.version for d in items],
            "File": [d.filename for d in items],
            "Size": [widgets.fmt_bytes(d.size_bytes) for d in items],
            "Updated": [widgets.fmt_when(d.updated_at) for d in items],
        }),
        hide_index=True, width="stretch",
        column_config={"Rows": st.column_config.NumberColumn(format="localized")},
    )


def column_profile(detail: datasets.DatasetDetail) -> None:
    st.dataframe(
        pl.DataFrame({
            "Column": [c.name for c in detail.columns],
            "Type": [KIND_LABEL.get(c.kind, c.kind) for c in detail.columns],
            "Written as": [_format_label(c.format) for c in detail.columns],
            "Empty": [c.null_count for c in detail.columns],
            "Examples": [" · ".join(e[:40] for e in c.examples) for c in detail.columns],
            "Header in file": [c.original_name for c in detail.columns],
        }),
        hide_index=True, width="stretch",
    )


def _format_label(fmt: str | None) -> str:
    """How a typed column was written in the file ("Currency EUR", "Percent (50% → 0.5)"); "" for plain values."""
    if not fmt:
        return ""
    return f"Currency {fmt.split(':', 1)[1]}" if fmt.startswith("currency:") else FORMAT_LABEL.get(fmt, fmt)


def preview(table: pl.DataFrame, total: int) -> None:
    """The first rows; every cell shown as text (st.dataframe never interprets HTML)."""
    st.caption(f"First {min(len(table), 100):,} of {widgets.plural(total, 'row')}")
    st.dataframe(table, hide_index=True, width="stretch")


def manage(store: Store, ctx: Context, detail: datasets.DatasetDetail) -> None:
    ds = detail.summary
    rename, replace, delete = st.tabs(["Rename", "Replace", "Delete"])
    with rename, st.form(f"rename_{ds.id}"):
        new = st.text_input("New name", value=ds.name, key=f"rename_name_{ds.id}")
        if st.form_submit_button("Rename"):
            with widgets.user_errors():
                datasets.rename(store, ctx, ds.id, new)
                done(f"Renamed {widgets.as_text(repr(ds.name))} to {widgets.as_text(repr(new.strip()))}.", ds.id)
    with replace:
        st.caption("Upload a new version; earlier versions are kept.")
        base = f"replace_file_{ds.id}"
        file = st.file_uploader("New file", key=_uploader_key(base), type=[e.lstrip(".") for e in SUPPORTED_EXTENSIONS])
        if file is not None and st.button("Replace", key=f"replace_go_{ds.id}"):
            same = widgets.attempt(lambda: datasets.find_duplicate(store, ctx, file.getvalue()))
            if same is not None and same.dataset_id == ds.id and same.current:
                st.info(f"This file is already version {same.version} of {widgets.as_text(repr(ds.name))}: nothing to replace.")
            else:
                with widgets.user_errors():
                    new_summary = datasets.replace(store, ctx, ds.id, file.name, file.getvalue())
                    _rotate(base)
                    done(f"Replaced {widgets.as_text(repr(new_summary.name))}: now version {new_summary.version} "
                         f"({widgets.plural(new_summary.row_count, 'row')}).", new_summary.id)
    with delete:
        versions = widgets.plural(len(detail.versions), "version")
        st.warning(f"Deleting removes {widgets.as_text(repr(ds.name))} and {'its' if len(detail.versions) == 1 else 'all'} {versions}. "
                   "This cannot be undone.")
        typed = st.text_input(f"Type the name ({widgets.as_text(ds.name)}) to confirm", key=f"delete_confirm_{ds.id}")
        if st.button("Delete data set", key=f"delete_go_{ds.id}", disabled=typed.strip() != ds.name):
            with widgets.user_errors():
                name = datasets.delete(store, ctx, ds.id)
                st.session_state.pop("selected_dataset", None)
                st.session_state.pop("open_dataset", None)
                done(f"Deleted {widgets.as_text(repr(name))}.")


def datasets_or_stop(store: Store, ctx: Context, needs: str) -> list[datasets.DatasetSummary]:
    """The workspace's data sets; with none (or an error) the page says so and stops.

    `needs`: what the page does with a data set, for the empty state ("Rules work on a data set's columns.").
    """
    items = widgets.attempt(lambda: datasets.list_datasets(store, ctx))
    if items is None:
        st.stop()
    if not items:
        widgets.empty_state("No data sets yet", f"{needs} Upload a table on Data sources, or load the demo on Home.")
        st.page_link("pages/data_sources.py", label="Go to Data sources →")
        st.stop()
    return items


def dataset_label(d: datasets.DatasetSummary) -> str:
    """How a data set is named in a picker: its name and row count."""
    return f"{d.name} ({widgets.plural(d.row_count, 'row')})"

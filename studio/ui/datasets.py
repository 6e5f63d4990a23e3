"""Widgets of the data sources page: upload, column profile, preview, manage."""

from __future__ import annotations

import polars as pl
import streamlit as st

from engine.ingest import SUPPORTED_EXTENSIONS, NeedsSheetChoice
from studio import datasets
from studio.context import Context
from studio.store.session import Store
from studio.ui import widgets

KIND_LABEL = {"integer": "Integer", "decimal": "Decimal", "boolean": "Boolean", "date": "Date",
              "datetime": "Date & time", "url": "URL", "email": "Email", "text": "Text"}


def upload_form(store: Store, ctx: Context) -> None:
    """Upload a new data set; asks for a sheet when an Excel file has several."""
    with st.expander("Upload a data set", expanded=True):
        file = st.file_uploader(
            "Data file", type=[e.lstrip(".") for e in SUPPORTED_EXTENSIONS], key="upload_file",
            help=f"Up to {store.settings.max_upload_mb} MB. CSV/TSV in UTF-8, UTF-16 or Latin-1; Excel .xlsx; JSON; Parquet.",
        )
        name = st.text_input("Name (optional)", key="upload_name", placeholder="defaults to the file name")
        sheet = None
        sheets = st.session_state.get("upload_sheets")
        if file is not None and sheets and st.session_state.get("upload_sheets_for") == file.name:
            sheet = st.selectbox("This workbook has several sheets — which one?", sheets, key="upload_sheet")
        if file is None or not st.button("Upload", type="primary", key="upload_go"):
            return
        progress = st.progress(0.0, text="Reading the file…")
        try:
            data = file.getvalue()
            progress.progress(0.3, text=f"Detecting types in {widgets.fmt_bytes(len(data))}…")
            summary = datasets.upload(store, ctx, file.name, data, name=name or None, sheet=sheet)
        except NeedsSheetChoice as exc:
            progress.empty()
            st.session_state["upload_sheets"] = list(exc.sheets)
            st.session_state["upload_sheets_for"] = file.name
            st.warning(f"{exc} Pick a sheet above and press Upload again.")
            st.rerun()
        except Exception as exc:
            progress.empty()
            _show_error(exc)
            return
        progress.progress(1.0, text="Stored.")
        st.session_state.pop("upload_sheets", None)
        st.session_state["selected_dataset"] = str(summary.id)
        st.success(f"Uploaded {summary.name!r}: {widgets.fmt_int(summary.row_count)} rows × {summary.column_count} columns.")


def _show_error(exc: Exception) -> None:
    from engine.errors import EngineError
    from studio.errors import StudioError

    if isinstance(exc, (EngineError, StudioError)):
        st.error(str(exc))
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
            "Empty": [c.null_count for c in detail.columns],
            "Examples": [" · ".join(e[:40] for e in c.examples) for c in detail.columns],
            "Header in file": [c.original_name for c in detail.columns],
        }),
        hide_index=True, width="stretch",
    )


def preview(table: pl.DataFrame, total: int) -> None:
    """The first rows; every cell shown as text (st.dataframe never interprets HTML)."""
    st.caption(f"First {min(len(table), 100):,} of {total:,} rows")
    st.dataframe(table, hide_index=True, width="stretch")


def manage(store: Store, ctx: Context, detail: datasets.DatasetDetail) -> None:
    ds = detail.summary
    rename, replace, delete = st.tabs(["Rename", "Replace", "Delete"])
    with rename, st.form(f"rename_{ds.id}"):
        new = st.text_input("New name", value=ds.name, key=f"rename_name_{ds.id}")
        if st.form_submit_button("Rename"):
            with widgets.user_errors():
                datasets.rename(store, ctx, ds.id, new)
                st.rerun()
    with replace:
        st.caption("Upload a new version; earlier versions are kept.")
        file = st.file_uploader("New file", key=f"replace_file_{ds.id}",
                                type=[e.lstrip(".") for e in SUPPORTED_EXTENSIONS])
        if file is not None and st.button("Replace", key=f"replace_go_{ds.id}"):
            with widgets.user_errors():
                new_summary = datasets.replace(store, ctx, ds.id, file.name, file.getvalue())
                st.success(f"Now at version {new_summary.version} ({widgets.fmt_int(new_summary.row_count)} rows).")
    with delete:
        st.warning(f"Deleting removes {ds.name!r} and all {len(detail.versions)} version(s). This cannot be undone.")
        typed = st.text_input(f"Type the name ({ds.name}) to confirm", key=f"delete_confirm_{ds.id}")
        if st.button("Delete data set", key=f"delete_go_{ds.id}", disabled=typed.strip() != ds.name):
            with widgets.user_errors():
                name = datasets.delete(store, ctx, ds.id)
                st.session_state.pop("selected_dataset", None)
                st.session_state["flash"] = f"Deleted {name!r}."
                st.rerun()


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
    return f"{d.name} ({d.row_count:,} rows)"

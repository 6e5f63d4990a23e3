"""The review grid of a campaign set (like Google Ads Editor): every field of the format editable in place,
checked cell by cell; status per row; find & replace with a count first; filters that fit the format.

Every action either changes the store before the grid is read in the same run, or reruns the page,
so what the grid shows is always the stored state (never "Approved 42." above rows still pending).
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import polars as pl
import streamlit as st

from engine.platforms import Format, get_format
from studio import review, variations
from studio.context import Context, Permission, allows
from studio.store.campaign_models import CampaignSet
from studio.store.session import Store
from studio.ui import sidebar, widgets
from studio.variations import VariationFilter

PAGE_SIZE = 100
# Read-only columns shown with the fields: where a variation sits and what is known about it.
_INFO = ("row", "problems", "edited", "conflict")


def _flash(kind: str, message: str) -> None:
    st.session_state.setdefault("v_flash", []).append((kind, message))


def show_flash() -> None:
    """Messages of the action that caused this rerun, shown once above the refreshed grid."""
    for kind, message in st.session_state.pop("v_flash", []):
        getattr(st, kind)(message)


def _bump() -> None:
    """A fresh editor: its pending cell edits were saved (or a bulk action replaced what they edited)."""
    st.session_state["v_grid_nonce"] = st.session_state.get("v_grid_nonce", 0) + 1


def format_of(cs: CampaignSet) -> Format:
    return get_format(cs.platform, cs.format)


def filters(store: Store, ctx: Context, cs: CampaignSet) -> VariationFilter:
    """Filters that fit the set's format: subreddit and flair for Reddit, campaign and ad group for ads
    (when the set's variations carry them); status, validity, edits, tags and a search everywhere."""
    fmt = format_of(cs)
    options = widgets.attempt(lambda: _options(store, ctx, ctx.workspace_id, cs.id, (cs.updated_at, cs.variation_count))) \
        or variations.FilterOptions()
    tags = widgets.attempt(lambda: variations.labels(store, ctx, cs.id)) or []
    specific: list[tuple[str, str, list[str]]] = []
    if "subreddit" in fmt.field_names and options.subreddits:
        specific.append(("subreddit", "Subreddit", options.subreddits))
    if "flair" in fmt.field_names and options.flairs:
        specific.append(("flair", "Flair", options.flairs))
    if options.campaigns:
        specific.append(("campaign", "Campaign", options.campaigns))
    if options.ad_groups:
        specific.append(("ad_group", "Ad group", options.ad_groups))
    cols = st.columns(5 + len(specific) + (1 if tags else 0))
    status = cols[0].selectbox("Status", ["any", *review.STATUSES, "paused"], key="v_status",
                               help="paused: its data row left the data set (a set following its data)")
    valid = cols[1].selectbox("Validation", ["any", "valid", "invalid"], key="v_valid")
    edits = cols[2].selectbox("Edits", ["any", "edited", "conflict"], key="v_edits",
                              format_func={"any": "any", "edited": "edited by hand", "conflict": "conflicts"}.__getitem__,
                              help="A conflict is a hand edit whose source row generated different text since.")
    chosen: dict[str, str | None] = {}
    for i, (name, label, values) in enumerate(specific):
        pick = cols[3 + i].selectbox(label, ["any", *values], key=f"v_{name}_{cs.id}")
        chosen[name] = None if pick == "any" else pick
    n = 3 + len(specific)
    tag = None
    if tags:
        picked = cols[n].selectbox("Tag or group", ["any", *tags], key="v_tag",
                                   help="Labels given by the rules' add_tag and add_to_group actions")
        tag = None if picked == "any" else picked
        n += 1
    search = cols[n].text_input("Search titles", key="v_search", help=f"Finds text in the {_title_label(fmt).lower()}")
    sort = cols[n + 1].selectbox("Sort by", list(variations.SORTS), format_func=str.capitalize, key="v_sort")
    return VariationFilter(status=None if status == "any" else status, valid=None if valid == "any" else valid == "valid",
                           subreddit=chosen.get("subreddit"), flair=chosen.get("flair"), campaign=chosen.get("campaign"),
                           ad_group=chosen.get("ad_group"), edits=None if edits == "any" else edits,
                           search=search or None, tag=tag, sort=sort)


@st.cache_data(ttl=300, show_spinner=False, max_entries=200)
def _options(_store: Store, _ctx: Context, workspace_id: Any, set_id: uuid.UUID, version: Any) -> variations.FilterOptions:
    """The filters' values scan the set's JSON fields: once per set and run, not on every rerun."""
    return variations.filter_options(_store, _ctx, set_id)


def _title_label(fmt: Format) -> str:
    for name in ("title", "headline", "primary_text", "text", "caption"):
        if name in fmt.field_names:
            return fmt.field(name).label
    return fmt.fields[0].label


def permissions(store: Store, ctx: Context) -> tuple[bool, bool]:
    """(may edit, may approve) for the acting member, mirroring what the services check."""
    current = sidebar.current_membership()
    can_edit = current is not None and allows(current.role, Permission.EDIT)
    can_approve = can_edit and bool(widgets.attempt(lambda: review.may_approve(store, ctx)))
    return can_edit, can_approve


def bulk_actions(store: Store, ctx: Context, cs: CampaignSet, flt: VariationFilter, total: int, can_approve: bool) -> None:
    """Approve / reject every filtered variation (the count is on the button)."""
    a, b, note = st.columns([1, 1, 3])
    for col, status, verb in ((a, "approved", "Approve"), (b, "rejected", "Reject")):
        if col.button(f"{verb} all {total:,} filtered", key=f"v_all_{status}", disabled=not can_approve or not total):
            with widgets.user_errors():
                n = review.set_status(store, ctx, cs.id, status, f=flt)
                _flash("success", f"{status.capitalize()} {n:,} variation{'s' if n != 1 else ''}.")
                _bump()
                st.rerun()
    if not can_approve:
        note.caption("Only admins and owners approve or reject in this workspace (Workspace settings → Approval).")


def find_replace(store: Store, ctx: Context, cs: CampaignSet, flt: VariationFilter, can_edit: bool) -> None:
    """Find & replace across the filtered variations: count first, then confirm."""
    fmt = format_of(cs)
    textual = [f for f in fmt.fields if f.kind in ("text", "markdown", "url")]
    with st.expander("Find & replace", expanded=bool(st.session_state.get("v_fr_pending"))):
        c1, c2, c3, c4 = st.columns([2, 2, 2, 1])
        find = c1.text_input("Find", key="v_fr_find")
        repl = c2.text_input("Replace with", key="v_fr_repl")
        names = c3.multiselect("In fields", [f.name for f in textual], key=f"v_fr_fields_{cs.id}",
                               format_func=lambda n: fmt.field(n).label, placeholder="all text fields")
        match_case = c4.checkbox("Match case", value=True, key="v_fr_case")
        request = {"set": str(cs.id), "find": find, "repl": repl, "fields": list(names), "case": match_case, "filter": repr(flt)}
        if st.button("Count matches", key="v_fr_count", disabled=not can_edit or not find):
            counted = widgets.attempt(lambda: review.replace_count(store, ctx, cs.id, flt, find, fields=names or None,
                                                                   match_case=match_case))
            if counted is not None:
                st.session_state["v_fr_pending"] = {**request, "matching": counted.matching, "total": counted.total}
        pending = st.session_state.get("v_fr_pending")
        if not pending:
            return
        if {k: pending[k] for k in request} != request:  # the inputs or the filter changed since the count
            st.caption("The search changed since the count: count again.")
            return
        if not pending["matching"]:
            st.info(f"{widgets.as_text(repr(pending['find']))} is in none of the {pending['total']:,} filtered variations.")
            return
        st.warning(f"Replace {widgets.as_text(repr(pending['find']))} with {widgets.as_text(repr(pending['repl']))} in {pending['matching']:,} variation"
                   f"{'s' if pending['matching'] != 1 else ''} of {pending['total']:,} filtered?")
        ok, cancel, _ = st.columns([1, 1, 4])
        if ok.button(f"Replace in {pending['matching']:,}", key="v_fr_apply", type="primary"):
            with widgets.user_errors():
                out = review.replace(store, ctx, cs.id, flt, find, repl, fields=names or None, match_case=match_case)
                st.session_state.pop("v_fr_pending", None)
                _flash("success", f"Replaced in {out.edited:,} variation{'s' if out.edited != 1 else ''}.")
                if out.refused:
                    _flash("error", _refused_text(out.refused, "kept their text"))
                _bump()
                st.rerun()
        if cancel.button("Cancel", key="v_fr_cancel"):
            st.session_state.pop("v_fr_pending", None)
            st.rerun()


def _refused_text(refused: list[str], what: str) -> str:
    more = f" (and {len(refused) - 8:,} more)" if len(refused) > 8 else ""
    one = len(refused) == 1
    return (f"{widgets.plural(len(refused), 'change')} {what} because {'it breaks' if one else 'they break'} a limit: "
            + "; ".join(widgets.as_message(r) for r in refused[:8]) + more + ".")


def _columns(fmt: Format, rows: list[dict[str, Any]], show_empty: bool) -> list[str]:
    """The format's fields; empty optional ones only when asked (an RSA has 15 headlines)."""
    return [f.name for f in fmt.fields if show_empty or f.required or any(str(r.get(f.name) or "").strip() for r in rows)]


def _frame(rows: list[dict[str, Any]], names: list[str], structure: list[str]) -> pl.DataFrame:
    data = {"status": [r["status"] for r in rows], "row": [int(r["row"]) for r in rows]}
    for n in [*structure, *names]:
        data[n] = [("" if r.get(n) is None else str(r.get(n))) for r in rows]
    data["problems"] = [r.get("problems") or "" for r in rows]
    data["edited"] = [bool(r.get("edited")) for r in rows]
    data["conflict"] = [bool(r.get("conflict")) for r in rows]
    return pl.DataFrame(data, schema={"status": pl.String, "row": pl.Int64, **dict.fromkeys([*structure, *names], pl.String),
                                      "problems": pl.String, "edited": pl.Boolean, "conflict": pl.Boolean})


def _config(fmt: Format, names: list[str], structure: list[str], can_approve: bool) -> dict[str, Any]:
    cc = st.column_config
    config: dict[str, Any] = {
        "status": cc.SelectboxColumn("Status", options=[*review.STATUSES, "paused"], required=True, disabled=not can_approve,
                                     help="Approve or reject this variation" if can_approve else
                                     "Only admins and owners approve in this workspace"),
        "row": cc.NumberColumn("Row", disabled=True, format="%d"),
        "problems": cc.TextColumn("Problems", disabled=True, width="large"),
        "edited": cc.CheckboxColumn("Edited", disabled=True),
        "conflict": cc.CheckboxColumn("Conflict", disabled=True, help="Edited by hand, and the source row changed since"),
        "campaign_name": cc.TextColumn("Campaign", disabled=True),
        "ad_group_name": cc.TextColumn("Ad group", disabled=True),
    }
    for name in names:
        spec = fmt.field(name)
        label = spec.label + (f" (max {spec.max_chars:,})" if spec.max_chars else "") + (" *" if spec.required else "")
        help_text = (f"Limit {spec.max_chars:,} ({spec.count.replace('_', ' ')})" if spec.max_chars else "") + \
            (" · required" if spec.required else "")
        if spec.kind in ("enum", "bool"):
            config[name] = cc.SelectboxColumn(label, options=["", *spec.allowed_values], help=help_text or None)
        else:
            config[name] = cc.TextColumn(label, help=help_text or None, width="medium")
    return config


def _changes(state: Any, rows: list[dict[str, Any]], editable: set[str]) -> dict[uuid.UUID, dict[str, str]]:
    """The grid's cell edits that differ from what is stored: variation id → {column: value}."""
    out: dict[uuid.UUID, dict[str, str]] = {}
    edited = (state or {}).get("edited_rows") or {}
    for pos, cells in edited.items():
        i = int(pos)
        if not 0 <= i < len(rows) or not isinstance(cells, dict):
            continue
        row = rows[i]
        for col, value in cells.items():
            if col not in editable:
                continue
            text = "" if value is None else str(value)
            if text != ("" if row.get(col) is None else str(row.get(col))):
                out.setdefault(uuid.UUID(str(row["id"])), {})[col] = text
    return out


def grid(store: Store, ctx: Context, cs: CampaignSet, flt: VariationFilter, rows: list[dict[str, Any]], *,
         can_edit: bool, can_approve: bool, show_empty: bool) -> None:
    """The editable grid of one page of variations. Cell edits are saved (or refused with the reason) at the
    start of the run after they were made, then the page reruns to show the stored state."""
    fmt = format_of(cs)
    digest = hashlib.md5("".join(str(r["id"]) for r in rows).encode()).hexdigest()[:12]
    key = f"v_grid_{cs.id}_{digest}_{st.session_state.get('v_grid_nonce', 0)}"
    st.session_state["v_grid_key"] = key  # the editor of this page (tests seed its edit state through it)
    names = _columns(fmt, rows, show_empty)
    structure = [n for n in ("campaign_name", "ad_group_name") if n not in fmt.field_names and any(r.get(n) for r in rows)]
    editable = ({*names} if can_edit else set()) | ({"status"} if can_approve else set())
    changes = _changes(st.session_state.get(key), rows, editable)
    if changes:
        out = widgets.attempt(lambda: review.review(store, ctx, cs.id, changes))
        if out is not None and (out.edited or out.statuses):
            done = []
            if out.edited:
                done.append(f"saved {out.edited:,} edit{'s' if out.edited != 1 else ''}")
            if out.statuses:
                done.append(f"set the status of {out.statuses:,} variation{'s' if out.statuses != 1 else ''}")
            _flash("success", ("; ".join(done) + ".").capitalize())
            if not out.refused:
                _bump()
            st.rerun()
        if out is not None and out.refused:
            st.error(_refused_text(out.refused, "were refused") + " Your text stays in the grid: correct it, "
                     "or press 'Discard unsaved edits'.")
            if st.button("Discard unsaved edits", key="v_grid_discard"):
                _bump()
                st.rerun()
    st.data_editor(_frame(rows, names, structure), key=key, hide_index=True, width="stretch", num_rows="fixed",
                   disabled=not can_edit and not can_approve,
                   column_order=["status", "row", *(["problems"] if any(r.get("problems") for r in rows) else []),
                                 *structure, *names, *([] if any(r.get("problems") for r in rows) else ["problems"]),
                                 "edited", "conflict"],
                   column_config=_config(fmt, names, structure, can_approve))


def conflicts(store: Store, ctx: Context, cs: CampaignSet, rows: list[dict[str, Any]], can_edit: bool) -> None:
    """Edits whose source changed since: keep them, or drop them so the next Regenerate writes the new text."""
    clashing = [uuid.UUID(str(r["id"])) for r in rows if r.get("conflict")]
    if not clashing:
        return
    st.warning(f"{len(clashing):,} hand edit{'s' if len(clashing) != 1 else ''} on this page conflict: the source row "
               "generated different text since the edit was made.")
    keep, drop, _ = st.columns([1, 1, 3])
    if keep.button("Keep my edits", key="v_conflict_keep", disabled=not can_edit):
        with widgets.user_errors():
            n = review.resolve_conflicts(store, ctx, cs.id, clashing, keep_edits=True)
            _flash("success", f"Kept {n:,} edit{'s' if n != 1 else ''}.")
            st.rerun()
    if drop.button("Drop my edits", key="v_conflict_drop", disabled=not can_edit,
                   help="The next Regenerate writes the generated text into these variations."):
        with widgets.user_errors():
            n = review.resolve_conflicts(store, ctx, cs.id, clashing, keep_edits=False)
            _flash("success", f"Dropped {n:,} edit{'s' if n != 1 else ''}: Regenerate to write the new text.")
            st.rerun()

"""Bulk-import files with their campaign structure: the rows each format expects, checked before download.

Google Ads Editor CSV: one flat sheet, one entity per row — campaign, negative keyword, ad group,
keyword and responsive search ad rows, each naming its parents (AD_BULK_FORMATS.md §1, minimal
example). Meta Ads Manager import: one row per ad with its campaign and ad set columns repeated
(§2). Layouts read the ad tree (engine/platforms/ad_tree.py), the one grouping the preview uses
too, so an ad group that dedup emptied is written (Google: its ad-group and keyword rows) or named
in the file's `notes` when the format cannot hold it (Meta makes ad sets only from ad rows).
`check_rows` refuses a file that would leave a column its row type requires empty, naming the
column, the rows of the file and what to set. Every cell written goes through `safe_cell`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.errors import EngineError
from engine.platforms.ad_tree import AdTree, build_tree, keyword_lines, normalise_keyword
from engine.platforms.bulk_settings import resolved_settings, settings_for

__all__ = [
    "REQUIRED",
    "BulkFile",
    "BulkFileRefused",
    "BulkRow",
    "MissingColumn",
    "StructureInput",
    "build_bulk_file",
    "check_rows",
    "get_layout",
    "keyword_lines",
    "normalise_keyword",
    "register_layout",
    "safe_cell",
]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """A cell that no spreadsheet reads as a formula: a leading = + - @ tab or CR gets a quote in front."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


@dataclass(frozen=True)
class BulkRow:
    """One row of a bulk file: its entity type and header → value."""

    kind: str
    cells: dict[str, str]


@dataclass(frozen=True)
class MissingColumn:
    """A required column left empty on some rows (file line numbers, header = line 1)."""

    kind: str
    header: str
    lines: tuple[int, ...]
    fix: str

    def describe(self) -> str:
        shown = ", ".join(f"{n:,}" for n in self.lines[:8]) + (f" and {len(self.lines) - 8:,} more" if len(self.lines) > 8 else "")
        return f"'{self.header}' is empty on {len(self.lines):,} {self.kind} row(s) (line {shown}): {self.fix}"


class BulkFileRefused(EngineError):
    """The file would leave required columns empty; `missing` says which, where and what to do."""

    def __init__(self, label: str, missing: Sequence[MissingColumn]) -> None:
        self.missing = list(missing)
        super().__init__(f"{label} would be rejected by the platform's import: "
                         + "; ".join(m.describe() for m in self.missing) + ".")


# Row type → required columns; a tuple of headers means "one of them". From AD_BULK_FORMATS.md: §1's
# columns per row type (each filled in its minimal example), §2's "a new traffic ad needs at least".
REQUIRED: dict[str, dict[str, tuple[str | tuple[str, ...], ...]]] = {
    "google_ads_editor_csv": {
        "campaign": ("Campaign", "Campaign type", "Budget", "Budget type", "Networks", "Languages",
                     "Bid Strategy Type", "Campaign Status"),
        "ad group": ("Campaign", "Ad group", "Max CPC", "Ad group status"),
        "keyword": ("Campaign", "Ad group", "Keyword", "Criterion Type", "Status"),
        "campaign negative keyword": ("Campaign", "Keyword", "Criterion Type"),
        "ad group negative keyword": ("Campaign", "Ad group", "Keyword", "Criterion Type"),
        "ad": ("Campaign", "Ad group", "Ad type", "Headline 1", "Headline 2", "Headline 3", "Description 1",
               "Description 2", "Final URL", "Status"),
    },
    "meta_ads_manager_csv": {
        "ad": ("Campaign Name", "Campaign Objective", "Buying Type", "Ad Set Name",
               ("Campaign Daily Budget", "Ad Set Daily Budget"), "Countries", "Optimization Goal", "Billing Event",
               "Ad Name", "Link Object ID", "Body", "Title", "Link", "Call to Action",
               ("Image Hash", "Image File Name")),
    },
}

_FIELD_FIX = {
    "Campaign": "give the campaign structure a campaign name template that is never empty",
    "Campaign Name": "give the campaign structure a campaign name template that is never empty",
    "Ad group": "give the campaign structure an ad group name template that is never empty",
    "Ad Set Name": "give the campaign structure an ad set name template that is never empty",
    "Ad Name": "give the ads a name",
}


def _fix(platform: str, header: str | tuple[str, ...]) -> str:
    headers = header if isinstance(header, tuple) else (header,)
    for spec in settings_for(platform):
        if spec.header in headers:
            level = {"ad_group": "ad group / ad set", "campaign": "campaign", "ad": "ad"}[spec.level]
            return f"set {spec.label} in the {level} settings" + (f" ({spec.hint})" if spec.hint else "")
    for h in headers:
        if h in _FIELD_FIX:
            return _FIELD_FIX[h]
    return "fill the template of that field, or reject the variations concerned"


def check_rows(export: str, platform: str, rows: Sequence[BulkRow]) -> list[MissingColumn]:
    """Every required column empty anywhere, with the file lines (header = line 1) where it is."""
    required = REQUIRED.get(export, {})
    found: dict[tuple[str, str | tuple[str, ...]], list[int]] = {}
    for line, row in enumerate(rows, start=2):
        for header in required.get(row.kind, ()):
            options = header if isinstance(header, tuple) else (header,)
            if not any(row.cells.get(h, "").strip() for h in options):
                found.setdefault((row.kind, header), []).append(line)
    return [MissingColumn(kind, header if isinstance(header, str) else " or ".join(header), tuple(lines),
                          _fix(platform, header))
            for (kind, header), lines in found.items()]


@dataclass(frozen=True)
class BulkFile:
    """Rows of a bulk file and its header (the union of the columns, in the format's order)."""

    export: str
    label: str
    headers: tuple[str, ...]
    rows: tuple[BulkRow, ...]
    encoding: str = "utf-8-sig"
    delimiter: str = ","
    notes: tuple[str, ...] = ()  # what the file leaves out and why (e.g. ad sets without an ad)

    def check(self, platform: str) -> None:
        """Refuse (BulkFileRefused) when a required column would be empty."""
        missing = check_rows(self.export, platform, self.rows)
        if missing:
            raise BulkFileRefused(self.label, missing)

    def to_bytes(self) -> bytes:
        """RFC-4180 CSV, every header and cell neutralised against formulas."""
        buf = io.StringIO()
        out = csv.writer(buf, delimiter=self.delimiter, lineterminator="\r\n")
        out.writerow([safe_cell(h) for h in self.headers])
        for row in self.rows:
            out.writerow([safe_cell(row.cells.get(h, "")) for h in self.headers])
        return buf.getvalue().encode(self.encoding)


Layout = Callable[[AdTree, "StructureInput"], tuple[list[BulkRow], list[str]]]


@dataclass(frozen=True)
class StructureInput:
    """What a layout needs besides the variations: match types, negatives, per-level settings, keyword case."""

    platform: str
    match_types: tuple[str, ...] = ("Phrase",)  # for keyword lines without a match-type lead (older sets)
    negatives: tuple[tuple[str, str, str], ...] = ()  # (keyword, match type, level), normalised, fixed text
    settings: Mapping[str, Mapping[str, str]] | None = None
    keep_case: bool = False

    def resolved(self) -> dict[str, dict[str, str]]:
        return resolved_settings(self.platform, self.settings)

    def tree(self, records: Iterable[Mapping[str, Any]], duplicates: Iterable[Mapping[str, Any]] = ()) -> AdTree:
        """The ad tree of kept variations and the rows of the ads dedup removed."""
        return build_tree(records, duplicates, match_types=self.match_types, keep_case=self.keep_case,
                          campaign_negatives=[(k, m) for k, m, level in self.negatives if level == "campaign"],
                          group_negatives=[(k, m) for k, m, level in self.negatives if level == "ad_group"])


_LAYOUTS: dict[str, tuple[tuple[str, ...], Layout]] = {}


def register_layout(export: str, headers: Sequence[str], layout: Layout) -> None:
    """A bulk layout for an export name (built-ins register the same way an extension would)."""
    _LAYOUTS[export] = (tuple(headers), layout)


def get_layout(export: str) -> tuple[tuple[str, ...], Layout]:
    try:
        return _LAYOUTS[export]
    except KeyError:
        raise EngineError(f"export {export!r} has no bulk layout; known: {', '.join(sorted(_LAYOUTS))}") from None


def build_bulk_file(export: str, label: str, records: Iterable[Mapping[str, Any]], structure: StructureInput, *,
                    duplicates: Iterable[Mapping[str, Any]] = (), encoding: str = "utf-8-sig",
                    delimiter: str = ",") -> BulkFile:
    """The rows of `export` for generated variations (plain dicts of their fields and structure columns) and
    the rows of the ads dedup removed (ad_tree.skeleton_records), so emptied ad groups are kept."""
    headers, layout = get_layout(export)
    rows, notes = layout(structure.tree([dict(r) for r in records], duplicates), structure)
    return BulkFile(export, label, headers, tuple(rows), encoding, delimiter, tuple(notes))


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _names(pairs: Sequence[tuple[str, str]], limit: int = 3) -> str:
    shown = ", ".join(f"{c or '(no name)'} / {g or '(no name)'}" for c, g in pairs[:limit])
    return shown + (f" and {len(pairs) - limit:,} more" if len(pairs) > limit else "")


# -- Google Ads Editor ------------------------------------------------------------------------------

GOOGLE_HEADERS: tuple[str, ...] = (
    "Campaign", "Campaign type", "Budget", "Budget type", "Networks", "Languages", "Bid Strategy Type", "Campaign Status",
    "Ad group", "Max CPC", "Ad group status", "Keyword", "Criterion Type", "Ad type",
    *(f"Headline {i}" for i in range(1, 16)), *(f"Description {i}" for i in range(1, 5)),
    "Path 1", "Path 2", "Final URL", "Status",
)


def _google(tree: AdTree, structure: StructureInput) -> tuple[list[BulkRow], list[str]]:
    s = structure.resolved()
    c, g, a = s["campaign"], s["ad_group"], s["ad"]
    rows: list[BulkRow] = []
    empty: list[tuple[str, str]] = []
    for campaign, node in tree.campaigns.items():
        rows.append(BulkRow("campaign", {
            "Campaign": campaign, "Campaign type": c.get("campaign_type", ""), "Budget": c.get("budget", ""),
            "Budget type": c.get("budget_type", ""), "Networks": c.get("networks", ""),
            "Languages": c.get("languages", ""), "Bid Strategy Type": c.get("bid_strategy", ""),
            "Campaign Status": c.get("status", "")}))
        for kw, match in tree.campaign_negatives:
            rows.append(BulkRow("campaign negative keyword", {"Campaign": campaign, "Keyword": kw,
                                                              "Criterion Type": f"Negative {match}"}))
        for group, branch in node.groups.items():
            ads = branch.ads
            if not ads:
                empty.append((campaign, group))
            rows.append(BulkRow("ad group", {"Campaign": campaign, "Ad group": group, "Max CPC": g.get("max_cpc", ""),
                                             "Ad group status": g.get("status", "")}))
            for kw, match in branch.negatives:
                rows.append(BulkRow("ad group negative keyword", {"Campaign": campaign, "Ad group": group,
                                                                  "Keyword": kw, "Criterion Type": f"Negative {match}"}))
            url = next((_text(ad.get("final_url")) for ad in ads if ad.get("final_url")), "")
            for kw, match in branch.keywords:
                rows.append(BulkRow("keyword", {"Campaign": campaign, "Ad group": group, "Keyword": kw,
                                                "Criterion Type": match, "Final URL": url, "Status": a.get("status", "")}))
            for ad in ads:
                cells = {"Campaign": campaign, "Ad group": group, "Ad type": "Responsive search ad",
                         "Path 1": _text(ad.get("path_1")), "Path 2": _text(ad.get("path_2")),
                         "Final URL": _text(ad.get("final_url")), "Status": a.get("status", "")}
                cells.update({f"Headline {i}": _text(ad.get(f"headline_{i}")) for i in range(1, 16)})
                cells.update({f"Description {i}": _text(ad.get(f"description_{i}")) for i in range(1, 5)})
                rows.append(BulkRow("ad", cells))
    notes = [f"{len(empty):,} ad group(s) have no ad left after dedup ({_names(empty)}); they are in the file with "
             "their keywords, and Google Ads will not serve them until they get an ad."] if empty else []
    return rows, notes


# -- Meta Ads Manager -------------------------------------------------------------------------------

META_HEADERS: tuple[str, ...] = (
    "Campaign Name", "Campaign Objective", "Buying Type", "Campaign Status", "Ad Set Name", "Ad Set Run Status",
    "Ad Set Daily Budget", "Countries", "Optimization Goal", "Billing Event", "Link Object ID", "Ad Name", "Ad Status",
    "Title", "Body", "Link Description", "Link", "Call to Action", "Image File Name", "Image Hash",
)


def _meta(tree: AdTree, structure: StructureInput) -> tuple[list[BulkRow], list[str]]:
    s = structure.resolved()
    c, g, a = s["campaign"], s["ad_group"], s["ad"]
    rows: list[BulkRow] = []
    empty: list[tuple[str, str]] = []
    for campaign, node in tree.campaigns.items():
        for group, branch in node.groups.items():
            if not branch.ads:
                empty.append((campaign, group))
            for n, ad in enumerate(branch.ads, start=1):
                name = _text(ad.get("ad_name")) or (f"{group} — ad {n}" if group else "")
                rows.append(BulkRow("ad", {
                    "Campaign Name": campaign, "Campaign Objective": c.get("objective", ""),
                    "Buying Type": c.get("buying_type", ""), "Campaign Status": c.get("status", ""),
                    "Ad Set Name": group, "Ad Set Run Status": g.get("status", ""),
                    "Ad Set Daily Budget": g.get("daily_budget", ""), "Countries": g.get("countries", ""),
                    "Optimization Goal": g.get("optimization_goal", ""), "Billing Event": g.get("billing_event", ""),
                    "Link Object ID": g.get("page", ""), "Ad Name": name, "Ad Status": a.get("status", ""),
                    "Title": _text(ad.get("headline")), "Body": _text(ad.get("primary_text")),
                    "Link Description": _text(ad.get("description")), "Link": _text(ad.get("link")),
                    "Call to Action": _text(ad.get("call_to_action")) or a.get("call_to_action", ""),
                    "Image File Name": a.get("image_file_name", ""), "Image Hash": a.get("image_hash", "")}))
    notes = [f"{len(empty):,} ad set(s) have no ad left after dedup ({_names(empty)}); Meta's import makes ad sets "
             "only from ad rows, so they are not in the file."] if empty else []
    return rows, notes


register_layout("google_ads_editor_csv", GOOGLE_HEADERS, _google)
register_layout("meta_ads_manager_csv", META_HEADERS, _meta)

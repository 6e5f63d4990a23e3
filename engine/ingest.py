"""Uploaded bytes (CSV, TSV, TXT, Excel, JSON, Parquet, product feed XML) → a typed polars table with column profiles.

Everything is read as text first (except Parquet, which is typed already), empty and
whitespace-only cells become null, fully empty rows are dropped (with a warning), headers become
unique snake_case names, and each column gets a kind (rules in ``engine.column_types``). Excel
dates arrive as datetimes; a column of midnights becomes a date. Bad input raises
``IngestError`` (``NeedsSheetChoice`` for a workbook with several sheets) and returns nothing.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from xml.etree import ElementTree

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from polars.exceptions import PanicException

from engine.column_types import KINDS, blank_to_null, examples, infer_column
from engine.delimited import read_delimited
from engine.feed_xml import read_product_feed
from engine.ingest_errors import IngestError, NeedsSheetChoice
from engine.ingest_json import read_json
from engine.ingest_nested import IngestOptions, explode_frame, flatten_frame
from engine.ingest_xlsx import decoded_text_size

__all__ = ["KINDS", "MAX_COLUMNS", "SUPPORTED_EXTENSIONS", "ColumnProfile", "IngestError", "IngestOptions",
           "IngestResult", "NeedsSheetChoice", "ingest", "list_sheets", "snake_case", "unique_names"]

SUPPORTED_EXTENSIONS = (".csv", ".tsv", ".txt", ".xlsx", ".json", ".jsonl", ".ndjson", ".parquet", ".xml")
MAX_COLUMNS = 500
MAX_NAME_LENGTH = 63  # Postgres truncates identifiers beyond this.
_LABELS = {".csv": "CSV", ".tsv": "TSV", ".txt": "text", ".json": "JSON", ".jsonl": "JSON Lines",
           ".ndjson": "JSON Lines"}
_MB = 1024 * 1024
_FOLD = str.maketrans({"ß": "ss", "ẞ": "SS", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "œ": "oe",
                       "Œ": "OE", "đ": "d", "Đ": "D", "ł": "l", "Ł": "L", "þ": "th", "Þ": "TH",
                       "\u0131": "i", "%": " pct ", "#": " num ", "&": " and "})
_MAX_WORKBOOK_XML = 16 * _MB  # The sheet list; a bigger one is a zip bomb, not a workbook.
# What a compressed upload (an .xlsx is a zip; Parquet pages are compressed) may unpack to, checked
# from the sizes the file declares before anything is decompressed: a 3 MB workbook padded to 3 GB
# of sheet XML is refused here instead of exhausting the server's memory.
MAX_UNPACKED_MB = 512
_XLSX_ADVICE = "Delete unused sheets, rows or formatting, or save the sheet as CSV and upload that."
_SHEET_TAG = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}sheet"


@dataclass(frozen=True)
class ColumnProfile:
    """One column of an ingested table: its name, where it came from, its kind and a glimpse.

    ``format`` says how typed values were written in the file (engine.column_formats):
    ``currency:<ISO code>``, ``percent`` (values are fractions: 50% → 0.5), ``grouped`` (thousands
    separators), ``month_date``; None for plain values. ``text_column`` names the column holding the
    original text when the upload asked to keep it (IngestOptions.keep_text).
    """

    name: str
    original_name: str
    kind: str
    null_count: int
    examples: tuple[str, ...]
    format: str | None = None
    text_column: str | None = None


@dataclass(frozen=True)
class IngestResult:
    """A typed table with a profile per column and what was detected on the way."""

    table: pl.DataFrame
    columns: tuple[ColumnProfile, ...]
    row_count: int
    encoding: str | None
    delimiter: str | None
    warnings: tuple[str, ...]


def ingest(data: bytes, filename: str, *, sheet: str | None = None,
           max_bytes: int | None = None, options: IngestOptions | None = None) -> IngestResult:
    """Read an uploaded file into a typed table, or raise IngestError saying what is wrong.

    ``options``: a header-less file, nested-data flattening, keeping formatted text (IngestOptions).
    """
    data = bytes(data)
    options = options or IngestOptions()
    extension = _extension(filename)
    if extension not in SUPPORTED_EXTENSIONS:
        shown = f" ({extension})" if extension else " (it has no extension)"
        raise IngestError(f"'{filename}' is not a supported file type{shown}. "
                          f"Upload one of: {', '.join(SUPPORTED_EXTENSIONS)}.", field="file")
    if max_bytes is not None and len(data) > max_bytes:
        size, limit = _megabytes(len(data), max_bytes)
        raise IngestError(f"This file is {size} MB, over the {limit} MB limit. "
                          "Upload a smaller file or split it.", field="file")
    if not data:
        raise IngestError("The file is empty (0 bytes).", field="file")
    if extension in (".csv", ".tsv", ".txt"):
        text = read_delimited(data, _LABELS[extension], prefer_tab=extension == ".tsv",
                              max_columns=MAX_COLUMNS, has_header=options.has_header)
        notes = [f"Skipped {text.blank_lines} blank line(s)."] if text.blank_lines else []
        return _finish(text.frame, text.header, options, encoding=text.encoding,
                       delimiter=text.delimiter, warnings=notes,
                       decimal_comma=text.delimiter == ";")
    if extension == ".xlsx":
        frame, header = _read_xlsx(data, sheet, has_header=options.has_header)
        return _finish(frame, header, options, midnight_means_date=True)
    if extension == ".parquet":
        raw, grown = _read_parquet(data), list[str]()
        if options.arrays == "expand":  # one row per list item
            raw, grown = explode_frame(raw, options)
        columns, header = flatten_frame(raw, options)
        if len(columns) > MAX_COLUMNS:
            raise IngestError(f"The file has {len(columns)} columns once nested fields are flattened; at most "
                              f"{MAX_COLUMNS} are supported. Lower the flattening depth.", field="flatten_depth")
        return _finish(pl.DataFrame(columns), header, options, drop_empty_rows=False, dotted=True, warnings=grown)
    if extension == ".xml":  # a product feed (Merchant Center RSS/Atom): engine.feed_xml
        frame, header, notes = read_product_feed(data, max_columns=MAX_COLUMNS)
        return _finish(frame, header, options, warnings=notes)
    frame, header, encoding, notes = read_json(data, _LABELS[extension], lines=extension != ".json",
                                               max_columns=MAX_COLUMNS, options=options)
    return _finish(frame, header, options, encoding=encoding, warnings=notes, dotted=True)


def list_sheets(data: bytes) -> list[str]:
    """Names of the sheets of an .xlsx workbook, in workbook order."""
    _check_xlsx(data)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _check_unpacked(sum(member.file_size for member in archive.infolist()), "Excel file", _XLSX_ADVICE)
            if archive.getinfo("xl/workbook.xml").file_size > _MAX_WORKBOOK_XML:
                raise zipfile.BadZipFile("workbook.xml is implausibly large")
            workbook = archive.read("xl/workbook.xml")
        root = ElementTree.fromstring(workbook)
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, OSError, EOFError):
        raise IngestError("This Excel file is damaged or is not an .xlsx workbook: open it in "
                          "Excel and save it again as .xlsx.", field="file") from None
    return [element.get("name", "") for element in root.iter(_SHEET_TAG)]


def snake_case(header: str) -> str:
    """A header as a snake_case identifier; "" when nothing usable is left."""
    text = header.translate(_FOLD)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = re.sub(r"([a-z])([A-Z])", r"\1_\2", text)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)
    text = re.sub(r"[\W_]+", "_", unicodedata.normalize("NFC", text).lower()).strip("_")
    if not text.isidentifier() and not text[:1].isdigit():
        text = re.sub(r"[^0-9a-z_]+", "_", text).strip("_")
    if text[:1].isdigit():
        text = "col_" + text
    return text[:MAX_NAME_LENGTH].rstrip("_")


def dotted_name(header: str) -> str:
    """A flattened path as a name: each dotted segment snake_case (``Item.Brand`` → ``item.brand``)."""
    segments = [name for name in (snake_case(part) for part in header.split(".")) if name]
    return ".".join(segments)[:MAX_NAME_LENGTH].rstrip("_.")


def unique_names(headers: list[str], *, dotted: bool = False) -> tuple[list[str], list[str]]:
    """snake_case names made unique (``name_2``, ``name_3``; blanks → ``column_<n>``), with notes.

    ``dotted``: names of flattened nested data keep their dots (``item.brand``)."""
    normal = dotted_name if dotted else snake_case
    bases = [normal(header) or f"column_{position}" for position, header in enumerate(headers, 1)]
    reserved, taken, names, renamed = set(bases), set(), [], []
    for base in bases:
        name, suffix = base, 2
        while name in taken or (name != base and name in reserved):
            name, suffix = f"{base}_{suffix}", suffix + 1
        taken.add(name)
        names.append(name)
        if name != base:
            renamed.append(name)
    blanks = [name for name, header in zip(names, headers, strict=True) if not normal(header)]
    notes = []
    if renamed:
        notes.append(f"Duplicate column names were made unique: {', '.join(renamed)}.")
    if blanks:
        notes.append(f"Columns without a usable header were named: {', '.join(blanks)}.")
    return names, notes


def _finish(frame: pl.DataFrame, header: list[str], options: IngestOptions, *, encoding: str | None = None,
            delimiter: str | None = None, warnings: list[str] | None = None,
            decimal_comma: bool = False, midnight_means_date: bool = False,
            drop_empty_rows: bool = True, dotted: bool = False) -> IngestResult:
    """Normalise names, null the blanks, drop empty rows, type every column and profile it."""
    notes = list(warnings or [])
    if not header:
        raise IngestError("The file has no columns.", field="file")
    if len(header) > MAX_COLUMNS:
        raise IngestError(f"The file has {len(header)} columns; at most {MAX_COLUMNS} are supported.")
    header = [cell.replace("\x00", "") for cell in header]
    names, name_notes = unique_names(header, dotted=dotted)
    notes += [note for note in name_notes if options.has_header or not note.startswith("Columns without")]
    frame = frame.rename(dict(zip(frame.columns, names, strict=True)))
    frame, removed = _without_nul(frame)
    if removed:
        notes.append(f"Removed the NUL character (\\0) from {removed:,} value(s): no text can hold it.")
    frame = frame.with_columns(blank_to_null(name) for name, dtype in frame.schema.items()
                               if dtype == pl.String)
    if drop_empty_rows:
        before = frame.height
        frame = frame.filter(~pl.all_horizontal(pl.all().is_null()))
        if frame.height < before:
            notes.append(f"Skipped {before - frame.height} empty row(s).")
    if frame.height == 0:
        raise IngestError("The file has a header row but no data rows." if options.has_header else
                          "The file has no rows.", field="file")
    typed, profiles = [], []
    taken = set(names)
    for name, original in zip(names, header, strict=True):
        try:
            inferred = infer_column(frame[name], decimal_comma=decimal_comma,
                                    midnight_means_date=midnight_means_date)
            values = inferred.values.alias(name)
            shown = examples(values, inferred.kind)
        # A Rust panic inside polars is a BaseException: caught for this one column, turned into a message.
        except (pl.exceptions.PolarsError, PanicException) as exc:
            raise IngestError(f"Column '{original}' could not be read: {_first_line(exc)}. Check its values "
                              "for unusual types or dates and upload the file again.", field=name) from None
        typed.append(values)
        text_column = None
        if options.keep_text and inferred.format and frame[name].dtype == pl.String:
            text_column = _free_name(f"{name}_text", taken)
            original_text = frame[name].alias(text_column)
            typed.append(original_text)
            profiles.append(ColumnProfile(text_column, f"{original} (as written)", "text", original_text.null_count(),
                                          examples(original_text, "text")))
        profiles.insert(len(profiles) - (text_column is not None),
                        ColumnProfile(name, original, inferred.kind, values.null_count(), shown, inferred.format,
                                      text_column))
        if inferred.warning:
            notes.append(f"Column '{name}' {inferred.warning}.")
    table = pl.DataFrame(typed)
    return IngestResult(table, tuple(profiles), table.height, encoding, delimiter, tuple(notes))


def _free_name(wanted: str, taken: set[str]) -> str:
    """``wanted``, or ``wanted_2``, ``wanted_3`` … when another column has it; the name is then taken."""
    name, suffix = wanted, 2
    while name in taken:
        name, suffix = f"{wanted}_{suffix}", suffix + 1
    taken.add(name)
    return name


def _without_nul(frame: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """The frame with NUL characters taken out of its text (Postgres and most tools refuse them), and how many values had one."""
    found = [name for name, dtype in frame.schema.items()
             if dtype == pl.String and frame[name].str.contains("\x00", literal=True).any()]
    if not found:
        return frame, 0
    count = sum(int(frame[name].str.contains("\x00", literal=True).sum()) for name in found)
    return frame.with_columns(pl.col(name).str.replace_all("\x00", "", literal=True) for name in found), count


def _extension(filename: str) -> str:
    """The lower-case extension with its dot, or ""."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1].lower()
    return base[base.rindex("."):] if "." in base else ""


def _megabytes(size: int, limit: int) -> tuple[str, str]:
    """Both sizes in MB, with enough decimals to tell them apart."""
    for decimals in (1, 2, 3):
        shown = f"{size / _MB:.{decimals}f}", f"{limit / _MB:.{decimals}f}"
        if shown[0] != shown[1]:
            return shown
    return f"{size / _MB:.6f}", f"{limit / _MB:.6f}"


def _check_xlsx(data: bytes) -> None:
    """Reject bytes that are not an .xlsx (ZIP) container, naming old .xls files."""
    if not data:
        raise IngestError("The file is empty (0 bytes).", field="file")
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise IngestError("This is an old Excel 97-2003 (.xls) file: open it in Excel and save it "
                          "as .xlsx.", field="file")
    if not data.startswith(b"PK\x03\x04"):
        raise IngestError("This does not look like an Excel (.xlsx) file.", field="file")


def _read_xlsx(data: bytes, sheet: str | None, *, has_header: bool = True) -> tuple[pl.DataFrame, list[str]]:
    """Read one sheet as text; several sheets and no choice → NeedsSheetChoice."""
    sheets = list_sheets(data)
    if not sheets:
        raise IngestError("This workbook has no sheets.", field="file")
    if sheet is None:
        if len(sheets) > 1:
            raise NeedsSheetChoice(sheets)
        sheet = sheets[0]
    elif sheet not in sheets:
        raise IngestError(f"There is no sheet named '{sheet}'. The workbook has: "
                          f"{', '.join(repr(name) for name in sheets)}.", field="sheet")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            text_size = decoded_text_size(archive)
    except (zipfile.BadZipFile, ElementTree.ParseError, OSError, EOFError, ValueError):
        raise IngestError("This Excel file is damaged or is not an .xlsx workbook: open it in "
                          "Excel and save it again as .xlsx.", field="file") from None
    _check_unpacked(text_size, "Excel file", _XLSX_ADVICE)
    try:
        frame = pl.read_excel(data, sheet_name=sheet, has_header=False, infer_schema_length=0,
                              raise_if_empty=False)
    except (Exception, PanicException) as exc:
        raise IngestError(f"The sheet '{sheet}' could not be read: {_first_line(exc)}.",
                          field="sheet") from None
    if frame.height == 0 or frame.width == 0:
        raise IngestError(f"The sheet '{sheet}' is empty.", field="sheet")
    if frame.width > MAX_COLUMNS:
        raise IngestError(f"The sheet has {frame.width} columns; at most {MAX_COLUMNS} are supported.")
    frame = frame.with_columns(pl.all().cast(pl.String))
    if not has_header:
        return frame, [""] * frame.width
    header = ["" if cell is None else str(cell) for cell in frame.row(0)]
    return frame.slice(1), header


def _read_parquet(data: bytes) -> pl.DataFrame:
    """Read a Parquet file, turning damage into a clear error."""
    if not (data.startswith(b"PAR1") and data.endswith(b"PAR1") and len(data) >= 12):
        raise IngestError("This does not look like a Parquet file (it lacks the Parquet markers).",
                          field="file")
    try:
        # pyarrow rejects damaged files with exceptions where polars' reader may panic; the schema
        # metadata is dropped because polars panics on metadata that is not UTF-8.
        table = _read_parquet_table(data)
        table.validate(full=True)
        frame = pl.from_arrow(table.replace_schema_metadata(None))
    except (OSError, ValueError, pa.ArrowException, pl.exceptions.PolarsError, PanicException) as exc:
        raise IngestError(f"This Parquet file is corrupt or unreadable: {_first_line(exc)}.",
                          field="file") from None
    assert isinstance(frame, pl.DataFrame)
    if frame.width > MAX_COLUMNS:
        raise IngestError(f"The file has {frame.width} columns; at most {MAX_COLUMNS} are supported.")
    return frame.with_columns(pl.col(pl.Categorical, pl.Enum).cast(pl.String))


def _read_parquet_table(data: bytes) -> pa.Table:
    """The Parquet file as Arrow, once its declared and its decoded size are known to be under the cap.

    Text is read dictionary-encoded first: a column repeating one 10 kB value a million times is a
    few kB on disk and 10 GB decoded, so its decoded size is summed from the dictionary's lengths
    before anything is expanded.
    """
    advice = "Upload fewer rows or columns at a time, or filter the data before exporting it."
    metadata = pq.ParquetFile(io.BytesIO(data)).metadata
    _check_parquet_size(metadata)
    schema = metadata.schema.to_arrow_schema()
    texts = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
             or pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type)]
    table = pq.ParquetFile(io.BytesIO(data), read_dictionary=texts).read() if texts else pq.read_table(io.BytesIO(data))
    size = 0
    for column in table.columns:
        if not pa.types.is_dictionary(column.type):
            size += column.nbytes
            continue
        for chunk in column.chunks:
            lengths = pc.binary_length(chunk.dictionary).take(chunk.indices)
            size += (pc.sum(lengths).as_py() or 0) + len(chunk) * 8
    _check_unpacked(size, "Parquet file", advice)
    # Decode the text columns read as dictionaries; every other column stays exactly as read.
    decoded = [pc.cast(column, column.type.value_type) if pa.types.is_dictionary(column.type) else column
               for column in table.columns]
    return pa.Table.from_arrays(decoded, names=table.column_names) if texts else table


def _check_unpacked(size: int, label: str, advice: str) -> None:
    """Refuse a compressed upload that declares more than MAX_UNPACKED_MB once unpacked."""
    if size > MAX_UNPACKED_MB * _MB:
        raise IngestError(f"This {label} would unpack to {size / _MB:,.0f} MB, over the {MAX_UNPACKED_MB} MB an "
                          f"upload may unpack to. {advice}", field="file")


def _check_parquet_size(metadata: pq.FileMetaData) -> None:
    """Refuse a Parquet file whose pages unpack, or whose rows widen, beyond MAX_UNPACKED_MB."""
    pages = sum(metadata.row_group(index).total_byte_size for index in range(metadata.num_row_groups))
    cells = metadata.num_rows * max(metadata.num_columns, 1) * 8  # at least 8 bytes per value in memory
    _check_unpacked(max(pages, cells), "Parquet file",
                    "Upload fewer rows or columns at a time, or filter the data before exporting it.")


def _first_line(exc: BaseException) -> str:
    """The first line of an exception message, without a trailing period."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip(".")

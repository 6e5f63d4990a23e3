"""Delimited text (CSV, TSV, TXT): encoding and binary sniffing, delimiter detection, parsing.

Encodings, in order: a UTF-8 BOM, a UTF-16 BOM (LE/BE), BOM-less UTF-16 (NUL bytes every other
byte), UTF-8, then cp1252 if it decodes, else Latin-1. Everything is handed to polars as UTF-8.

Short rows are found without a Python loop over the file: every line gets a sentinel field
appended, so a row that polars had to pad lacks the sentinel in its last column. Only then
(or when polars rejects the file) is the csv module run, to name the offending line.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass

import polars as pl

from engine.ingest_errors import IngestError

DELIMITERS = (",", "\t", ";", "|")
DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}
SAMPLE_BYTES = 64 * 1024
_SNIFF_RECORDS = 50
_SENTINELS = (b"\x01", b"\x02", b"\x03", b"\x04", b"\x05", b"\x06")
_CONTROL = bytes([*range(9), 11, *range(14, 32), 127])
_BINARY_RATIO = 0.01
_LEADING_BLANK_LINES = re.compile(rb"(?:[ \t\f\v]*\n)+")
_SEP_HINT = re.compile(rb'(?i)"?sep=([^\n"\x80-\xff])"?[ \t]*(?:\n|$)')
_MAGIC = (
    (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"), (b"PK\x03\x04", "a ZIP archive or an Excel (.xlsx) workbook"),
    (b"\xd0\xcf\x11\xe0", "an old Office (.xls, .doc) file"), (b"\x1f\x8b", "a gzip archive"),
    (b"PAR1", "a Parquet file"), (b"MZ", "a Windows program"), (b"\x7fELF", "a program"),
    (b"SQLite format 3", "an SQLite database"),
)


class _NotUtf8(Exception):
    """polars found bytes that are not UTF-8 after the sample said they were."""


@dataclass(frozen=True)
class DelimitedTable:
    """Raw String columns (blanks still as ""), the header cells and what was detected."""

    frame: pl.DataFrame
    header: list[str]
    encoding: str
    delimiter: str
    blank_lines: int


def read_delimited(data: bytes, label: str, *, prefer_tab: bool = False,
                   max_columns: int = 500, has_header: bool = True) -> DelimitedTable:
    """Decode, sniff and parse delimited text into all-String columns.

    ``has_header=False``: the first line is data; every header cell is "" (named ``column_<n>`` later).
    """
    body, encoding, verified = _detect_encoding(data, label)
    try:
        return _parse(body, encoding, label, prefer_tab, max_columns, has_header)
    except _NotUtf8:
        if verified:
            raise IngestError(f"This {label} file could not be decoded as {encoding}.") from None
        body, encoding = _legacy(body)
        return _parse(body, encoding, label, prefer_tab, max_columns, has_header)


def decode_text(data: bytes, label: str) -> tuple[str, str]:
    """Decode a whole text file (for JSON) with the same detection as delimited files."""
    body, encoding, verified = _detect_encoding(data, label)
    if verified:
        return body.decode("utf-8"), encoding
    try:
        return body.decode("utf-8"), encoding
    except UnicodeDecodeError:
        body, encoding = _legacy(body)
        return body.decode("utf-8"), encoding


def sniff_delimiter(sample: str, *, prefer_tab: bool = False) -> str:
    """Pick the delimiter whose field count is most consistent over the first records."""
    order = ("\t", ",", ";", "|") if prefer_tab else (",", "\t", ";", "|")
    best: tuple[float, int, int] | None = None
    choice = order[0]
    for rank, delimiter in enumerate(order):
        counts = _field_counts(sample, delimiter)
        if not counts or counts[0] < 2:
            continue
        consistency = sum(count == counts[0] for count in counts) / len(counts)
        key = (consistency, counts[0], -rank)
        if best is None or key > best:
            best, choice = key, delimiter
    return choice


def _field_counts(sample: str, delimiter: str) -> list[int]:
    """Fields per non-blank record in the sample (quotes respected)."""
    counts: list[int] = []
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
    try:
        for record in reader:
            if record:
                counts.append(len(record))
            if len(counts) >= _SNIFF_RECORDS:
                break
    except csv.Error:
        pass  # A field cut off by the end of the sample; the records so far are enough.
    return counts


def _detect_encoding(data: bytes, label: str) -> tuple[bytes, str, bool]:
    """Return the body as UTF-8 bytes, the encoding name, and whether it is already verified."""
    if data.startswith(codecs.BOM_UTF8):
        _reject_binary(data[3:], label)
        return data[3:], "utf-8-sig", False
    for bom, name in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            return _transcode(data[2:], name, label), name, True
    guessed = _bomless_utf16(data[:SAMPLE_BYTES])
    if guessed:
        return _transcode(data, guessed, label), guessed, True
    _reject_binary(data, label)
    sample = data[:SAMPLE_BYTES]
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=len(sample) == len(data))
    except UnicodeDecodeError:
        body, name = _legacy(data)
        return body, name, True
    return data, "utf-8", False


def _legacy(data: bytes) -> tuple[bytes, str]:
    """Decode as cp1252 when every byte is defined there, else as Latin-1."""
    try:
        return data.decode("cp1252").encode("utf-8"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1").encode("utf-8"), "latin-1"


def _bomless_utf16(sample: bytes) -> str | None:
    """Recognise UTF-16 without a BOM: NUL bytes on one parity only, and plenty of them."""
    even, odd = sample[0::2], sample[1::2]
    if len(sample) < 4 or len(sample) % 2:
        return None
    if odd.count(0) >= 0.4 * len(odd) and even.count(0) == 0:
        return "utf-16-le"
    if even.count(0) >= 0.4 * len(even) and odd.count(0) == 0:
        return "utf-16-be"
    return None


def _transcode(data: bytes, encoding: str, label: str) -> bytes:
    """Decode UTF-16 strictly and return UTF-8, rejecting binary content."""
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        raise IngestError(f"This {label} file looks like {encoding.upper()} text but could not be "
                          "decoded: save it again as UTF-8.") from None
    body = text.encode("utf-8")
    _reject_binary(body, label)
    return body


def _reject_binary(data: bytes, label: str) -> None:
    """Raise when the bytes hold NULs or too many control characters to be text."""
    sample = data[:SAMPLE_BYTES]
    controls = len(sample) - len(sample.translate(None, _CONTROL))
    if b"\x00" not in data and controls <= _BINARY_RATIO * len(sample):
        return
    kind = next((name for magic, name in _MAGIC if data.startswith(magic)), None)
    hint = f" (it looks like {kind})" if kind else ""
    raise IngestError(f"This does not look like a {label} file: it contains binary data{hint}. "
                      "Upload a text file saved from a spreadsheet or database.")


def _parse(body: bytes, encoding: str, label: str, prefer_tab: bool,
           max_columns: int, has_header: bool = True) -> DelimitedTable:
    """Parse UTF-8 bytes into String columns, naming the line of any ragged row."""
    if b"\r" in body:
        body = body.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if not body[:SAMPLE_BYTES].strip() and not body.strip():
        raise IngestError("The file is empty: it contains only whitespace.")
    leading = _LEADING_BLANK_LINES.match(body)
    offset = body.count(b"\n", 0, leading.end()) if leading else 0
    body = body[leading.end():] if leading else body
    hint = _SEP_HINT.match(body)  # Excel's "sep=;" first line names the delimiter; it is not the header
    if hint:
        body, offset = body[hint.end():], offset + 1
        if not body.strip():
            raise IngestError(f"This {label} file holds only its 'sep=' line: there is no header and no data.")
    sample = body[:SAMPLE_BYTES]
    if len(body) > SAMPLE_BYTES and b"\n" in sample:
        sample = sample[: sample.rindex(b"\n") + 1]
    delimiter = (hint.group(1).decode("utf-8") if hint else
                 sniff_delimiter(sample.decode("utf-8", errors="replace"), prefer_tab=prefer_tab))
    header_width = next(iter(_field_counts(sample.decode("utf-8", errors="replace"), delimiter)), 1)
    if header_width > max_columns:
        raise IngestError(f"The file has {header_width} columns; at most {max_columns} are supported.")
    frame, blank_lines = _read_rows(body, delimiter, label, offset)
    if not has_header:
        return DelimitedTable(frame, [""] * frame.width, encoding, delimiter, blank_lines)
    header = ["" if cell is None else cell for cell in frame.row(0)]
    rows = frame.slice(1)
    return DelimitedTable(rows, header, encoding, delimiter, blank_lines)


def _read_rows(body: bytes, delimiter: str, label: str, offset: int) -> tuple[pl.DataFrame, int]:
    """Run polars on sentinel-marked lines; return rows (header first) and the blank lines dropped."""
    sentinel = next((s for s in _SENTINELS if s not in body), b"")
    marker = delimiter.encode() + sentinel if sentinel else b""
    marked = body.replace(b"\n", marker + b"\n") if marker else body
    if marker and not marked.endswith(b"\n"):
        marked += marker
    try:
        frame = pl.read_csv(marked, has_header=False, separator=delimiter, infer_schema=False,
                            empty_string_is_null=False, quote_char='"', raise_if_empty=False)
    except pl.exceptions.PolarsError as exc:
        if "utf-8" in str(exc).lower() or "utf8" in str(exc).lower():
            raise _NotUtf8 from exc
        raise _locate_problem(body, delimiter, offset) or IngestError(
            f"This {label} file could not be read: {str(exc).splitlines()[0]}.") from None
    if not marker:
        return frame, 0
    mark = sentinel.decode()
    *cells, last = frame.columns
    first = pl.col(cells[0]).str.strip_chars() == ""
    blank = (first & (pl.col(cells[1]) == mark)) if len(cells) > 1 else pl.lit(False)
    complete = (pl.col(last) == mark).fill_null(False)
    flags = frame.select(blank.alias("blank"), (~complete & ~blank).alias("short"))
    if flags["short"].any():
        row = int(flags["short"].arg_max() or 0)
        raise _locate_problem(body, delimiter, offset) or IngestError(
            f"Record {row + 1} has fewer fields than the header.", row=row)
    frame = frame.filter(~flags["blank"]).drop(last)
    if b'"' in body:
        # A quoted field spanning lines carries the marker inside it: take it back out.
        inner = marker.decode() + "\n"
        frame = frame.with_columns(pl.col(name).str.replace_all(inner, "\n", literal=True)
                                   for name in frame.columns
                                   if frame[name].str.contains(inner, literal=True).any())
    return frame, int(flags["blank"].sum())


def _locate_problem(body: bytes, delimiter: str, offset: int) -> IngestError | None:
    """Walk the records with the csv module to name the first ragged or badly quoted line."""
    text = body.decode("utf-8", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    expected: int | None = None
    end = 0
    try:
        for record in reader:
            start, end = end + 1, reader.line_num
            if not record or (len(record) == 1 and not record[0].strip()):
                continue
            if expected is None:
                expected = len(record)
            elif len(record) != expected:
                line = start + offset
                name = DELIMITER_NAMES.get(delimiter, repr(delimiter))
                return IngestError(
                    f"Line {line} has {_fields(len(record))}, the header has {expected}. Check that line "
                    f"for an extra or missing {name} ('{delimiter}'), or a value that needs quotes.",
                    line=line)
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            return None
        line = end + 1 + offset
        if "unexpected end of data" in str(exc):
            return IngestError(f"Line {line} opens a quoted value (\") that is never closed: check "
                               "that line for a missing or stray quote.", line=line)
        return IngestError(f"Line {line} could not be read ({exc}): check the quotes (\") on that "
                           "line.", line=line)
    return None


def _fields(count: int) -> str:
    """'1 field', '3 fields'."""
    return f"{count} field" + ("" if count == 1 else "s")

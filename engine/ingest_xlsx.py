"""How big an .xlsx becomes once read: shared strings multiply, and nothing in the zip declares it.

A sheet may point a million cells at one 10 kB entry of the shared-strings table: the file is half
a megabyte, every declared size is small, and the reader builds 10 GB of text. Before the sheet is
parsed, this counts what its cells would hold: the XML is decompressed in chunks (its size is
already capped) and every shared-string reference is looked up in a table of string lengths.
"""

from __future__ import annotations

import re
import zipfile
from collections import Counter

_CHUNK = 8 * 1024 * 1024
# A shared-string cell: <c r="A1" s="1" t="s"><v>12</v></c> (attributes in any order).
_SHARED_CELL = re.compile(rb'<c [^>]*t="s"[^>]*>\s*<v>(\d+)</v>')
# An entry of the shared-strings table, <si>…</si> or an empty <si/>.
_SHARED_ENTRY = re.compile(rb"<si(?:\s[^>]*)?(?:/>|>(.*?)</si>)", re.S)


def decoded_text_size(archive: zipfile.ZipFile) -> int:
    """Characters of text the workbook's shared-string cells expand to (the XML read is already capped)."""
    lengths = _shared_string_lengths(archive)
    if not lengths:
        return 0
    uses: Counter[bytes] = Counter()
    for name in archive.namelist():
        if name.startswith("xl/worksheets/") and name.endswith(".xml"):
            _count_references(archive, name, uses)
    return sum(lengths[int(index)] * count for index, count in uses.items() if int(index) < len(lengths))


def _shared_string_lengths(archive: zipfile.ZipFile) -> list[int]:
    """The size of every entry of xl/sharedStrings.xml, in order: its XML, so rich-text markup counts too
    (an over-estimate, which is the safe side of a cap)."""
    try:
        table = archive.read("xl/sharedStrings.xml")
    except KeyError:
        return []
    return [len(entry) for entry in _SHARED_ENTRY.findall(table)]


def _count_references(archive: zipfile.ZipFile, member: str, uses: Counter[bytes]) -> None:
    """Add how often each shared string is used by one sheet (the XML read in chunks, cut after a cell)."""
    with archive.open(member) as source:
        tail = b""
        while chunk := source.read(_CHUNK):
            text = tail + chunk
            end = text.rfind(b"</c>") + 4 if len(chunk) == _CHUNK else len(text)
            if end < 4:  # no whole cell yet: read on
                tail = text
                continue
            uses.update(_SHARED_CELL.findall(text, 0, end))  # findall and Counter run in C: ~10 M cells/s
            tail = text[end:]
        uses.update(_SHARED_CELL.findall(tail))

"""The hostile-input corpus, files and names: uploads and replacements (broken, bombs, odd encodings) and names
built to break the studio (the harness: tests/studio/hostile_support.py)."""

from __future__ import annotations

import io
import json
import re
import struct
import zipfile
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xlsxwriter

from studio import datasets, notebooks, rule_sets, templates
from studio.errors import StudioError
from studio.store.session import Store
from tests.studio.hostile_support import World, make_world, run_bounded


@pytest.fixture(scope="module")
def world(pg_store: Store) -> World:
    return make_world(pg_store)


# --- uploads --------------------------------------------------------------------------------

def _xlsx() -> bytes:
    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer) as book:
        book.add_worksheet("Data").write_row(0, 0, ["name", "price"])
    return buffer.getvalue()


def _xlsx_declaring(size: int) -> bytes:
    """A real workbook whose sheet claims ``size`` bytes unpacked (a zip bomb without the cost of building one)."""
    raw = bytearray(_xlsx())
    entry = 0
    while (entry := raw.find(b"PK\x01\x02", entry)) >= 0:
        length = struct.unpack_from("<H", raw, entry + 28)[0]
        if raw[entry + 46:entry + 46 + length] == b"xl/worksheets/sheet1.xml":
            struct.pack_into("<I", raw, entry + 24, size)
        entry += 4
    return bytes(raw)


def _xlsx_shared_string_bomb() -> bytes:
    """100,000 cells pointing at one 10 kB shared string: half a megabyte on disk, a gigabyte of text."""
    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer) as book:
        sheet = book.add_worksheet("Data")
        for row in range(100_000):
            sheet.write_string(row, 0, "QQQ")
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source:
        members = {item.filename: source.read(item.filename) for item in source.infolist()}
    members["xl/sharedStrings.xml"] = members["xl/sharedStrings.xml"].replace(b"QQQ", b"v" * 10_000)
    return _zip(members)


def _parquet_dictionary_bomb() -> bytes:
    """One 10 kB value repeated 200,000 times, dictionary-encoded: about 1 kB on disk, 2 GB decoded."""
    column = pa.DictionaryArray.from_arrays(pa.array([0] * 200_000, pa.int32()), pa.array(["v" * 10_000]))
    buffer = io.BytesIO()
    pq.write_table(pa.table({"text": column}), buffer, store_schema=False)
    return buffer.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in members.items():
            archive.writestr(name, body)
    return buffer.getvalue()


def _parquet(**columns: pa.Array) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.table(columns), buffer)
    return buffer.getvalue()


UPLOADS: list[tuple[str, bytes]] = [
    ("empty.csv", b""), ("spaces.csv", b"   \n\t\n"), ("header.csv", b"a,b,c\n"), ("dupes.csv", b"a,a,A\n1,2,3\n"),
    ("wide.csv", (",".join(f"c{i}" for i in range(600)) + "\n" + ",".join("1" * 600) + "\n").encode()),
    ("image.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10), ("nul.csv", b"a,b\n1,\x002\n"),
    ("quote.csv", b'a,b\n"1,2\n3,4\n'), ("ragged.csv", b"a,b\n1,2,3\n4\n"), ("field.csv", b"a\n" + b"x" * 5_000_000),
    ("bom.csv", b"\xef\xbb\xbf"), ("utf16.csv", "a,b\n1,2\n".encode("utf-16-le")), ("bad.csv", b"a,b\n\xff\xfe,\x80\n"),
    ("latin.csv", "name\nZürich\n".encode("latin-1")), ("newlines.csv", b"\n" * 100_000), ("cr.csv", b"a,b\r1,2\r"),
    ("sep.csv", b"sep=;\n"), ("sep2.csv", b"sep=;\na;b\n1;2\n"), ("formula.csv", b"name\n=cmd|' /C calc'!A0\n"),
    ("symbols.csv", b"!!!,???\n1,2\n"), ("longhead.csv", b"h" * 10_000 + b"\n1\n"), ("onecol.csv", b"x\n" * 100_000),
    ("truncated.xlsx", _xlsx()[:500]), ("bomb.xlsx", _xlsx_declaring(3 * 1024**3)), ("notzip.xlsx", b"hello"),
    ("old.xlsx", b"\xd0\xcf\x11\xe0" + bytes(100)), ("noworkbook.xlsx", _zip({"a.txt": b"x"})),
    ("badxml.xlsx", _zip({"xl/workbook.xml": b"<not xml"})), ("empty.xlsx", _xlsx()),
    ("deep.json", b"[" * 100_000 + b"]" * 100_000), ("longint.json", b'[{"a": 1' + b"1" * 4_999 + b"}]"),
    ("surrogate.json", b'[{"a": "\\ud800"}]'), ("object.json", b'{"a": 1}'), ("numbers.json", b"[1, 2]"),
    ("emptyarray.json", b"[]"), ("nan.json", b'[{"a": NaN, "b": Infinity}]'), ("dupkeys.json", b'[{"a": 1, "a": 2}]'),
    ("manykeys.json", json.dumps([{f"k{i}": i for i in range(600)}]).encode()), ("nul.json", b'[{"a": "\\u0000"}]'),
    ("bigstring.json", json.dumps([{"a": "s" * 5_000_000}]).encode()), ("badline.jsonl", b'{"a": 1}\n{oops}\n'),
    ("deepline.jsonl", b'{"a": 1}\n' + b"[" * 100_000 + b"]" * 100_000 + b"\n"), ("garbage.parquet", b"PAR1" + bytes(100) + b"PAR1"),
    ("truncated.parquet", _parquet(a=pa.array([1, 2]))[:40]), ("text.parquet", b"a,b\n1,2\n"),
    ("infinity.parquet", _parquet(ts=pa.array([2**63 - 1], pa.timestamp("us")))),
    ("nested.parquet", _parquet(l=pa.array([[1, 2]]), s=pa.array([{"x": 1}]))),
    ("strings.xlsx", _xlsx_shared_string_bomb()), ("dictionary.parquet", _parquet_dictionary_bomb()),
    ("program.exe", b"MZ" + bytes(100)), ("noextension", b"a,b\n1,2\n"), ("nul\x00name.csv", b"a\n1\n"),
    ("x" * 10_000 + ".csv", b"a\n1\n"), ("../../etc/passwd.csv", b"a\n1\n"), ("\u202egpj.csv", b"a\n1\n"),
    ("\ud800.csv", b"a\n1\n"),
]


@pytest.mark.parametrize(("filename", "data"), UPLOADS, ids=[f"upload-{i}" for i in range(len(UPLOADS))])
def test_hostile_uploads(world: World, filename: str, data: bytes) -> None:
    run_bounded(f"upload {filename[:40]!r}", [lambda: datasets.upload(world.store, world.ctx, filename, data)])


REPLACEMENTS = UPLOADS[::4]


@pytest.mark.parametrize(("filename", "data"), REPLACEMENTS, ids=[f"replace-{i}" for i in range(len(REPLACEMENTS))])
def test_hostile_replacements(world: World, filename: str, data: bytes) -> None:
    target = datasets.upload(world.store, world.ctx, "target.csv", b"a\n1\n").id
    run_bounded(f"replace with {filename[:40]!r}",
                [lambda: datasets.replace(world.store, world.ctx, target, filename, data)])


def test_a_long_file_name_still_makes_a_numbered_name_that_fits(world: World) -> None:
    first = datasets.upload(world.store, world.ctx, "y" * 500 + ".csv", b"a\n1\n")
    second = datasets.upload(world.store, world.ctx, "y" * 500 + ".csv", b"a\n1\n")
    assert len(first.name) <= datasets.MAX_NAME and len(second.name) <= datasets.MAX_NAME
    assert second.name.endswith(" (2)")


# --- names ----------------------------------------------------------------------------------

NAMES = ["\x00", "a\x00b", "x" * 10_000, "\u202eexe.txt", "\u2066x\u2069", "   ", "", "\t\n", "bell\x07",
         "\ud800", "名前 🚀" * 10, "<script>alert(1)</script>", "'; DROP TABLE datasets; --", "a" * 121]


def _name_targets(world: World) -> dict[str, Callable[[str], Any]]:
    csv = b"a\n1\n"
    return {
        "upload": lambda name: datasets.upload(world.store, world.ctx, "named.csv", csv, name=name),
        "rename": lambda name: datasets.rename(world.store, world.ctx, world.dataset_id, name),
        "template": lambda name: templates.create_template(world.store, world.ctx, name, "reddit/thread",
                                                           {"subreddit": "deals", "title": "{{ name }}"}),
        "rule set": lambda name: rule_sets.create_rule_set(world.store, world.ctx, name),
        "notebook": lambda name: notebooks.create_notebook(world.store, world.ctx, name),
        "cell": lambda name: notebooks.add_cell(world.store, world.ctx, "markdown", source=name),
    }


NAME_TARGETS = ["upload", "rename", "template", "rule set", "notebook", "cell"]


@pytest.mark.parametrize("target", NAME_TARGETS)
@pytest.mark.parametrize("name", NAMES, ids=[f"name-{i}" for i in range(len(NAMES))])
def test_hostile_names(world: World, target: str, name: str) -> None:
    action = _name_targets(world)[target]
    run_bounded(f"{target} named {name[:30]!r}", [lambda: action(name)])
    if target == "rename":  # put the shared data set's name back for the other cases
        datasets.rename(world.store, world.ctx, world.dataset_id, "items")


@pytest.mark.parametrize(("name", "fragment"), [
    ("a\x00b", "NUL"), ("\u202eexe.txt", "U+202E"), ("\ud800", "surrogate"), ("bell\x07", "U+0007")])
def test_unprintable_names_are_refused_saying_which_character(world: World, name: str, fragment: str) -> None:
    for target, action in _name_targets(world).items():
        if target == "cell":  # a cell's text may hold what a name may not; only NUL and surrogates are refused
            continue
        with pytest.raises(StudioError, match=re.escape(fragment)):
            action(name)
            raise AssertionError(f"{target} accepted {name!r}")

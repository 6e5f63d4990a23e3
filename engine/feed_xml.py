"""Product feeds in XML (Google Merchant Center's RSS 2.0 or Atom with the ``g:`` namespace) → a table of text.

One row per ``<item>`` (RSS) or ``<entry>`` (Atom); one column per element, named by its local name
(``g:id`` → ``id``, ``g:price`` → ``price``, ``g:custom_label_0`` → ``custom_label_0``). An element in
the Google namespace wins over a plain one of the same name (Atom's own ``<id>`` yields to ``<g:id>``);
Atom's ``<summary>`` stands in for a missing description and ``<link href=…>`` gives its address.
Repeated elements (``g:additional_image_link``, ``g:product_type``) are joined with ", "; an element
with children (``g:shipping``) becomes one column per child (``shipping_country``, ``shipping_price``).
Typing (``12.99 USD`` → a currency column) is ingest's, as for any text file.

Parsed with defusedxml: a document type declaration (DTD), entities and external references are
refused, so a feed cannot read local files or expand into gigabytes (XXE, billion laughs).
"""

from __future__ import annotations

import functools
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as safe_xml
import polars as pl

from engine.ingest_errors import IngestError

GOOGLE_NS = ("http://base.google.com/ns/1.0", "http://base.google.com/cns/1.0")
ATOM_NS = "http://www.w3.org/2005/Atom"
JOIN = ", "
_ATOM_ALIASES = {"summary": "description"}


@functools.lru_cache(maxsize=1024)
def _split(tag: str) -> tuple[str, str]:
    """(namespace, local name) of an ElementTree tag such as ``{ns}local`` (feeds repeat a few tags: cached)."""
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _text(el: Element) -> str | None:
    text = ("".join(el.itertext()) if len(el) else (el.text or "")).strip()
    if not text and el.get("href"):
        text = str(el.get("href")).strip()
    return text or None


def _fields(item: Element, atom: bool) -> dict[str, list[str]]:
    """Column → values of one item; the Google namespace outranks the others."""
    ranked: dict[str, tuple[int, list[str]]] = {}

    def put(name: str, rank: int, value: str | None) -> None:
        if value is None:
            return
        held = ranked.get(name)
        if held is None or rank < held[0]:
            ranked[name] = (rank, [value])
        elif rank == held[0]:
            held[1].append(value)

    for child in item:
        if not isinstance(child.tag, str):
            continue  # comments and processing instructions
        ns, local = _split(child.tag)
        rank = 0 if ns in GOOGLE_NS else 1
        if atom and rank and local == "link" and child.get("rel", "alternate") != "alternate":
            continue
        if atom and rank and local in _ATOM_ALIASES:
            local, rank = _ATOM_ALIASES[local], 2
        nested = [c for c in child if isinstance(c.tag, str)] if len(child) else None
        if nested:
            for sub in nested:
                put(f"{local}_{_split(sub.tag)[1]}", rank, _text(sub))
        else:
            put(local, rank, _text(child))
    return {name: values for name, (_, values) in ranked.items()}


def _items(root: Element) -> tuple[list[Element], bool]:
    ns, local = _split(root.tag)
    if ns == ATOM_NS and local == "feed":
        return root.findall(f"{{{ATOM_NS}}}entry"), True
    if local == "rss":
        return root.findall("channel/item"), False
    if local == "channel":  # RSS 1.0-like documents without the <rss> wrapper
        return root.findall("item"), False
    raise IngestError(f"This XML is not a product feed: its root element is <{local}>, not <rss> (RSS 2.0) or <feed> "
                      "(Atom). Use a Google Merchant Center feed, or export the data as CSV.", field="file")


def read_product_feed(data: bytes, *, max_columns: int = 500) -> tuple[pl.DataFrame, list[str], list[str]]:
    """A table of text (one column per element), its header, and notes for the person who loaded it; more than
    `max_columns` distinct elements are refused while reading (each item may add new ones)."""
    try:
        root = safe_xml.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException:
        raise IngestError("This XML declares a document type or entities (<!DOCTYPE …>/<!ENTITY …>), which feeds "
                          "are not allowed to do: they can read files or expand without end. Remove the "
                          "declaration from the feed.", field="file") from None
    except ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        raise IngestError(f"This XML cannot be read at line {line}, column {column + 1}: "
                          f"{str(exc).split(':')[0]}. Check that the address serves a complete feed.",
                          field="file") from None
    items, atom = _items(root)
    if not items:
        raise IngestError("This feed has no products (no <item> or <entry> elements).", field="file")
    header: dict[str, None] = {}
    rows: list[dict[str, list[str]]] = []
    repeated: set[str] = set()
    for item in items:
        fields = _fields(item, atom)
        rows.append(fields)
        for name, values in fields.items():
            header.setdefault(name, None)
            if len(values) > 1:
                repeated.add(name)
        if len(header) > max_columns:
            raise IngestError(f"The feed's items hold more than {max_columns} different elements (columns); at most "
                              f"{max_columns} are supported. Check that the address serves a product feed.",
                              field="file")
    names = list(header)
    frame = pl.DataFrame({name: [JOIN.join(r[name]) if name in r else None for r in rows] for name in names},
                         schema=dict.fromkeys(names, pl.String))
    notes = [f"Repeated elements were joined with {JOIN!r}: {', '.join(sorted(repeated))}."] if repeated else []
    return frame, names, notes

"""Merchant Center product feeds (RSS 2.0 and Atom, g: namespace) → typed tables; unsafe XML refused."""

from __future__ import annotations

import pytest

from engine.ingest import IngestError, ingest

RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0">
 <channel>
  <title>Shop</title>
  <item>
   <g:id>SKU-1</g:id>
   <title>Trail Shoe</title>
   <g:description>Light &amp; fast</g:description>
   <link>https://shop.example/1</link>
   <g:image_link>https://shop.example/1.jpg</g:image_link>
   <g:additional_image_link>https://shop.example/1b.jpg</g:additional_image_link>
   <g:additional_image_link>https://shop.example/1c.jpg</g:additional_image_link>
   <g:price>129.99 USD</g:price>
   <g:availability>in_stock</g:availability>
   <g:brand>Acme</g:brand>
   <g:gtin>00012345678905</g:gtin>
   <g:custom_label_0>summer</g:custom_label_0>
   <g:product_type>Shoes &gt; Trail</g:product_type>
   <g:google_product_category>187</g:google_product_category>
   <g:shipping><g:country>US</g:country><g:price>4.99 USD</g:price></g:shipping>
  </item>
  <item>
   <g:id>SKU-2</g:id>
   <g:title>Road Shoe</g:title>
   <title>ignored plain title</title>
   <link>https://shop.example/2</link>
   <g:price>89.00 USD</g:price>
   <g:availability>out_of_stock</g:availability>
   <g:brand><![CDATA[Acme & Co]]></g:brand>
  </item>
 </channel>
</rss>"""

ATOM = b"""<?xml version="1.0"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:g="http://base.google.com/ns/1.0">
 <title>Shop</title>
 <entry>
  <id>tag:shop.example,2026:1</id>
  <g:id>A1</g:id>
  <title>Cap</title>
  <summary>A cap</summary>
  <link rel="alternate" href="https://shop.example/a1"/>
  <link rel="self" href="https://shop.example/feed/a1"/>
  <g:price>15 EUR</g:price>
 </entry>
</feed>"""


def test_rss_feed_becomes_a_typed_table():
    result = ingest(RSS, "feed.xml")
    table = result.table
    assert table["id"].to_list() == ["SKU-1", "SKU-2"]
    assert table["title"].to_list() == ["Trail Shoe", "Road Shoe"]  # g:title wins over the plain title
    assert table["description"].to_list() == ["Light & fast", None]
    assert table["additional_image_link"][0] == "https://shop.example/1b.jpg, https://shop.example/1c.jpg"
    assert table["product_type"][0] == "Shoes > Trail"
    assert table["brand"].to_list() == ["Acme", "Acme & Co"]
    assert table["shipping_country"][0] == "US"
    profiles = {c.name: c for c in result.columns}
    assert profiles["price"].format == "currency:USD" and profiles["price"].kind == "decimal"
    assert [float(v) for v in table["price"].to_list()] == [129.99, 89.0]
    assert table["gtin"][0] == "00012345678905"  # leading zeros kept (text)
    assert any("additional_image_link" in w for w in result.warnings)


def test_atom_feed_uses_g_id_the_alternate_link_and_the_summary():
    table = ingest(ATOM, "feed.xml").table
    row = table.row(0, named=True)
    assert (row["id"], row["title"], row["description"], row["link"]) == (
        "A1", "Cap", "A cap", "https://shop.example/a1")


@pytest.mark.parametrize("body", [
    b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b'<rss xmlns:g="http://base.google.com/ns/1.0"><channel><item><g:id>&xxe;</g:id></item></channel></rss>',
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
    b'<rss><channel><item><title>&lol2;</title></item></channel></rss>',
    b'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "http://127.0.0.1:9/evil.dtd"><rss><channel/></rss>',
])
def test_xxe_and_entity_expansion_are_refused(body):
    with pytest.raises(IngestError, match="document type or entities"):
        ingest(body, "feed.xml")


@pytest.mark.parametrize(("body", "message"), [
    (b"<html><body>Sign in</body></html>", "not a product feed"),
    (b"<rss><channel><title>x</title></channel></rss>", "no products"),
    (b"<rss><channel><item><title>x</title></item>", "cannot be read at line 1"),
])
def test_other_xml_is_refused_with_a_reason(body, message):
    with pytest.raises(IngestError, match=message):
        ingest(body, "feed.xml")

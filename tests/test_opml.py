"""OPML import and export: real-world shapes, broken files, XML attacks, and a round trip."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

import pytest

from newsbrief.config.settings import FeedConfig
from newsbrief.feeds.opml import OpmlError, OpmlFeed, export_opml, parse_opml

OPML2 = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>My subscriptions</title></head>
  <body>
    <outline text="Tech" title="Tech">
      <outline text="AI">
        <outline type="rss" text="Lab blog" title="Lab blog" xmlUrl="https://lab.example/feed"
                 htmlUrl="https://lab.example/"/>
      </outline>
      <outline type="rss" text="Gadgets" xmlUrl=" https://gadgets.example/rss.xml "/>
    </outline>
    <outline type="rss" text="Chain news" xmlUrl="https://chain.example/atom"
             category="/Crypto/Markets,/Finance"/>
    <outline type="rss" xmlUrl="https://untitled.example/feed"/>
    <outline text="Again">
      <outline type="rss" text="Lab blog (dup)" xmlUrl="https://lab.example/feed"/>
    </outline>
    <outline type="link" text="A page" url="https://example.com/page"/>
  </body>
</opml>
"""

# OPML 1.0 as old readers wrote it: no folders, both title and text, an uppercase attribute.
OPML1 = b"""<?xml version="1.0" encoding="ISO-8859-1"?>
<opml version="1.0">
<head><title>Caf\xe9 feeds</title><dateCreated>Mon, 01 Jan 2007 00:00:00 GMT</dateCreated></head>
<body>
<outline title="Caf\xe9" text="Caf\xe9" type="rss" xmlUrl="http://cafe.example/rss?a=1&amp;b=2"/>
<outline text="Plain" XMLURL="http://plain.example/index.xml"/>
</body>
</opml>
"""


def test_opml2_with_nested_folders_categories_and_duplicates() -> None:
    assert parse_opml(OPML2) == [
        OpmlFeed(
            "https://lab.example/feed", "Lab blog", "https://lab.example/", "Tech/AI", ("Tech/AI",)
        ),
        OpmlFeed("https://gadgets.example/rss.xml", "Gadgets", None, "Tech", ("Tech",)),
        OpmlFeed(
            "https://chain.example/atom",
            "Chain news",
            None,
            "Crypto/Markets",
            ("Crypto/Markets", "Finance"),
        ),
        OpmlFeed("https://untitled.example/feed", None, None, None, ()),
    ]


def test_opml1() -> None:
    feeds = parse_opml(OPML1)
    assert [(f.url, f.title) for f in feeds] == [
        ("http://cafe.example/rss?a=1&b=2", "Café"),
        ("http://plain.example/index.xml", "Plain"),
    ]


def test_a_declared_encoding_python_knows_but_expat_does_not() -> None:
    data = (
        '<?xml version="1.0" encoding="GBK"?>\n<opml version="1.0"><body>'
        '<outline text="科技"><outline text="新闻" xmlUrl="https://news.example/"/></outline>'
        "</body></opml>"
    ).encode("gbk")
    assert parse_opml(data) == [OpmlFeed("https://news.example/", "新闻", None, "科技", ("科技",))]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "f.opml: empty file"),
        (
            b'<?xml version="1.0"?>\n<opml version="2.0">\n<body>\n<outline text="x">\n</body>',
            "f.opml:5: not well-formed XML: mismatched tag",
        ),
        (b"<opml><body><outline xmlUrl='&x;'/></body></opml>", "f.opml:1: not well-formed XML"),
        (
            b"<rss version='2.0'><channel/></rss>",
            "f.opml: not an OPML file (the root element is <rss>)",
        ),
        (b"<!doctype html><html></html>", "f.opml: an HTML page, not an OPML file"),
        (b"<opml version='2.0'><head/></opml>", "f.opml: OPML without a <body>"),
        (
            b"<?xml version='1.0' encoding='nope'?><opml/>",
            "f.opml:1: cannot decode the file as 'nope'",
        ),
    ],
)
def test_what_is_not_opml_is_refused_clearly(data: bytes, message: str) -> None:
    with pytest.raises(OpmlError) as caught:
        parse_opml(data, source="f.opml")
    assert str(caught.value).startswith(message)


def test_entity_expansion_and_external_entities_are_refused_before_expansion() -> None:
    laughs = b'<?xml version="1.0"?>\n<!DOCTYPE opml [\n<!ENTITY a "' + b"x" * 100 + b'">\n'
    for level in range(1, 12):
        laughs += f'<!ENTITY {chr(97 + level)} "'.encode()
        laughs += f"&{chr(96 + level)};".encode() * 10 + b'">\n'
    laughs += b']>\n<opml><body><outline text="&l;" xmlUrl="https://x.example/"/></body></opml>'
    external = (
        b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b'<opml><body><outline text="&e;" xmlUrl="https://x.example/"/></body></opml>'
    )
    for data in (laughs, external):
        started = time.monotonic()
        with pytest.raises(OpmlError, match=r"^<opml>:2?1?: refusing a DOCTYPE"):
            parse_opml(data)
        assert time.monotonic() - started < 1


def feeds() -> list[FeedConfig]:
    return [
        FeedConfig(id="ithome", url="https://www.ithome.com/rss/", topics=("tech",)),
        FeedConfig(id="odd", url="https://odd.example/feed?a=1&b=<2>", topics=("ai", "tech")),
        FeedConfig(id="plain", url="https://plain.example/feed"),
        FeedConfig(id="gadgets", url="https://gadgets.example/rss", topics=("tech", "ai")),
    ]


def test_export_groups_by_first_topic_and_round_trips() -> None:
    data = export_opml(feeds(), {"ithome": "IT之家"}, topic_names={"tech": "Tech"})
    root = ET.fromstring(data)
    assert root.tag == "opml" and root.get("version") == "2.0"
    body = root.find("body")
    assert body is not None
    groups = [(o.get("text"), [c.get("text") for c in o]) for o in body]
    assert groups == [("Tech", ["IT之家", "gadgets"]), ("ai", ["odd"]), ("plain", [])]
    for outline in root.iter("outline"):
        if outline.get("xmlUrl"):
            assert outline.get("type") == "rss" and outline.get("title") == outline.get("text")

    imported = parse_opml(data)
    assert sorted(f.url for f in imported) == sorted(f.url for f in feeds())
    by_url = {f.url: f for f in imported}
    # Every topic comes back, not just the folder's.
    assert by_url["https://odd.example/feed?a=1&b=<2>"].categories == ("ai", "tech")
    assert by_url["https://gadgets.example/rss"].categories == ("Tech", "ai")
    assert by_url["https://plain.example/feed"].categories == ()
    assert export_opml(feeds(), {"ithome": "IT之家"}, topic_names={"tech": "Tech"}) == data


def test_export_of_nothing_is_a_valid_empty_opml() -> None:
    assert parse_opml(export_opml([], {})) == []

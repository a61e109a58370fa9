"""parse_feed over every format and the charset mistakes real feeds make, on small inline feeds."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsbrief.feeds.parse import FeedParseError, ParsedFeed, entry_key, parse_feed
from newsbrief.text.encodings import decode_document

RSS_091 = b"""<?xml version="1.0" encoding="ISO-8859-1"?>
<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"
  "http://my.netscape.com/publish/formats/rss-0.91.dtd">
<rss version="0.91"><channel>
<title>Old School</title><link>https://example.com/</link><description>d</description>
<language>en-us</language>
<item><title>First post</title><link>https://example.com/1</link>
<description>Caf\xe9 &amp; more</description></item>
<item><title>Second post</title><link>https://example.com/2</link><description>two</description></item>
</channel></rss>"""

RSS_10 = b"""<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
  xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://example.org/"><title>RDF site</title><link>https://example.org/</link>
<description>d</description>
<items><rdf:Seq><rdf:li resource="https://example.org/a"/></rdf:Seq></items></channel>
<item rdf:about="https://example.org/a"><title>Resource A</title><link>https://example.org/a</link>
<description>About A</description><dc:date>2024-05-01T08:00:00+08:00</dc:date>
<dc:creator>Ann</dc:creator></item>
</rdf:RDF>"""

RSS_20 = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
  xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>
<title>科技 Daily</title><link>https://example.cn/</link><description>d</description><ttl>90</ttl>
<item><title>  AI 芯片\n 出货 </title><link>https://example.cn/1</link>
<guid isPermaLink="false"> tag:example.cn,2024:1 </guid>
<description>short</description><content:encoded><![CDATA[<p>Full <b>text</b></p>]]></content:encoded>
<pubDate>Wed, 01 May 2024 08:00:00 +0800</pubDate><dc:creator>李雷</dc:creator></item>
<item><title>No guid</title><link>https://example.cn/2</link><description>two</description></item>
<item><title>Neither guid nor link</title><description>three</description></item>
</channel></rss>""".encode()

ATOM_03 = b"""<?xml version="1.0" encoding="utf-8"?>
<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>Atom zero three</title>
<link rel="alternate" type="text/html" href="https://example.net/"/>
<modified>2004-01-02T00:00:00Z</modified>
<entry><title>Old &amp; gold</title><link rel="alternate" type="text/html" href="https://example.net/e1"/>
<id>tag:example.net,2004:1</id><issued>2004-01-01T10:00:00+01:00</issued>
<modified>2004-01-02T00:00:00Z</modified><author><name>Bob</name></author>
<content type="text/html" mode="escaped">&lt;p&gt;Hello&lt;/p&gt;</content></entry>
</feed>"""

ATOM_10 = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title type="html">Ben &amp;amp; Jerry&#8217;s</title>
<link href="https://example.org/"/><id>urn:uuid:feed</id><updated>2024-05-02T00:00:00Z</updated>
<entry><title type="html">&lt;b&gt;Bold&lt;/b&gt;   news &amp;amp; views</title>
<link rel="alternate" href="https://example.org/e1"/><id>urn:uuid:e1</id>
<updated>2024-05-02T10:30:00+02:00</updated><author><name>Cy</name></author>
<summary>Short</summary>
<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Long <i>form</i></p></div></content>
</entry></feed>"""


def one(body: bytes, content_type: str | None = None) -> ParsedFeed:
    return parse_feed("f", body, content_type=content_type)


def rss(title: str, declaration: str | None = "utf-8", items: tuple[str, ...] = ()) -> str:
    """A small RSS 2.0 document as text; encode it yourself, in whatever charset."""
    head = f'<?xml version="1.0" encoding="{declaration}"?>\n' if declaration else ""
    body = "".join(
        f"<item><title>{t}</title><link>https://example.com/{i}</link></item>"
        for i, t in enumerate(items or (title,))
    )
    return f'{head}<rss version="2.0"><channel><title>{title}</title>{body}</channel></rss>'


# -- formats -----------------------------------------------------------------------------------


def test_rss_091() -> None:
    feed = one(RSS_091)
    assert feed.format == "rss091n" and feed.title == "Old School" and feed.warning is None
    assert [(e.key, e.title) for e in feed.entries] == [
        ("https://example.com/1", "First post"),
        ("https://example.com/2", "Second post"),
    ]
    assert feed.entries[0].content_html == "Café & more"


def test_rss_10_rdf() -> None:
    feed = one(RSS_10)
    assert feed.format == "rss10" and feed.link == "https://example.org/"
    (entry,) = feed.entries
    assert entry.key == "https://example.org/a" and entry.title == "Resource A"
    assert entry.author == "Ann"
    assert entry.published_at == datetime(2024, 5, 1, 0, 0, tzinfo=UTC)


def test_rss_20() -> None:
    feed = one(RSS_20)
    assert (feed.format, feed.title, feed.ttl_minutes) == ("rss20", "科技 Daily", 90)
    first, second, third = feed.entries
    assert first.key == "tag:example.cn,2024:1" and first.title == "AI 芯片 出货"
    assert first.content_html == "<p>Full <b>text</b></p>"  # content:encoded, raw
    assert first.published_at == datetime(2024, 5, 1, 0, 0, tzinfo=UTC)
    assert first.author == "李雷"
    assert second.key == "https://example.cn/2"
    assert third.key == entry_key(None, None, "Neither guid nor link", "three")
    assert third.key.startswith("sha256:") and third.link is None


def test_atom_03() -> None:
    feed = one(ATOM_03)
    assert feed.format == "atom03" and feed.link == "https://example.net/"
    (entry,) = feed.entries
    assert (entry.key, entry.title, entry.link) == (
        "tag:example.net,2004:1",
        "Old & gold",
        "https://example.net/e1",
    )
    assert entry.content_html == "<p>Hello</p>" and entry.author == "Bob"
    assert entry.published_at == datetime(2004, 1, 1, 9, 0, tzinfo=UTC)


def test_atom_10_html_titles_become_text() -> None:
    feed = one(ATOM_10)
    assert feed.format == "atom10" and feed.title == "Ben & Jerry’s"
    (entry,) = feed.entries
    assert entry.title == "Bold news & views"
    assert "<i>form</i>" in entry.content_html  # content wins over the summary
    assert entry.published_at == datetime(2024, 5, 2, 8, 30, tzinfo=UTC)  # updated only
    assert feed.ttl_minutes is None


def test_json_feed_10() -> None:
    body = {
        "version": "https://jsonfeed.org/version/1",
        "title": "JSON one",
        "home_page_url": "https://example.io/",
        "author": {"name": "Feed Author"},
        "items": [
            {
                "id": 42,
                "title": "Numbered\n id",
                "external_url": "https://elsewhere.example/x",
                "content_text": "First <para>\n& line two\n\nSecond",
                "date_published": "2024-05-01T08:00:00+08:00",
                "author": {"name": "Dee"},
            },
            {"id": "b", "url": "https://example.io/b", "summary": "Only a summary"},
        ],
    }
    feed = one(json.dumps(body).encode(), "application/json")
    assert (feed.format, feed.title, feed.link) == ("json10", "JSON one", "https://example.io/")
    first, second = feed.entries
    assert (first.key, first.title, first.link) == (
        "42",
        "Numbered id",
        "https://elsewhere.example/x",
    )
    assert first.content_html == "<p>First &lt;para&gt;<br>&amp; line two</p><p>Second</p>"
    assert first.published_at == datetime(2024, 5, 1, 0, 0, tzinfo=UTC)
    assert first.author == "Dee"
    assert second.content_html == "<p>Only a summary</p>" and second.author == "Feed Author"
    assert second.title == ""


def test_json_feed_11() -> None:
    body = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "JSON 1.1",
        "authors": [{"name": "Ed"}, {"name": "Flo"}],
        "items": [
            {
                "id": "x1",
                "url": "https://example.io/1",
                "title": "Has HTML",
                "content_html": "<p>Hi</p>",
                "content_text": "ignored",
                "date_modified": "2024-05-01t08:00:00z",
            },
            {
                "url": "https://example.io/2",
                "content_html": "<p>no id</p>",
                "authors": [{"name": "G"}],
            },
            {"content_text": "no id, no url"},
            "not an item",
        ],
    }
    feed = parse_feed("f", b"\xef\xbb\xbf  " + json.dumps(body).encode())  # sniffed, BOM and all
    assert feed.format == "json11" and feed.link is None
    first, second, third = feed.entries
    assert first.content_html == "<p>Hi</p>" and first.author == "Ed, Flo"
    assert first.published_at == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    assert second.key == "https://example.io/2" and second.author == "G"
    assert third.key == entry_key(None, None, "", "<p>no id, no url</p>")


@pytest.mark.parametrize(
    ("body", "content_type", "says"),
    [
        (b'{"hello": "world"}', None, "without a JSON Feed version"),
        (b"[1, 2]", "application/json", "JSON list"),
        (b'{"version": "https://example.com/1", "items": []}', "application/feed+json", "version"),
        (b"{oops", None, "not valid JSON at line 1, column 2"),
    ],
)
def test_json_that_is_no_json_feed(body: bytes, content_type: str | None, says: str) -> None:
    with pytest.raises(FeedParseError) as caught:
        one(body, content_type)
    assert caught.value.kind == "not_a_feed"
    assert str(caught.value).startswith("not a feed: ") and says in str(caught.value)


def test_broken_json_feed_is_a_parse_error() -> None:
    body = b'{"version": "https://jsonfeed.org/version/1.1",\n "items": [{"id": "1",'
    with pytest.raises(FeedParseError) as caught:
        one(body)
    assert caught.value.kind == "parse_error"
    assert "line 2" in str(caught.value)


# -- charsets ----------------------------------------------------------------------------------

# 镕 is in GBK but not GB2312; 𠮷 (U+20BB7) is in GB18030 only, as a four-byte sequence.
CHINESE = "朱镕基与𠮷野家：人工智能新闻"


@pytest.mark.parametrize("declared", ["gb2312", "GBK", "x-gbk", "cp936"])
def test_gb_declared_feeds_are_read_as_gb18030(declared: str) -> None:
    feed = one(rss(CHINESE, declared).encode("gb18030"))
    assert feed.entries[0].title == CHINESE and feed.title == CHINESE
    assert feed.warning is None


def test_big5_with_hkscs_and_cp950_characters() -> None:
    for title in ("香港人講嘅話", "價格 €100 元"):  # 嘅: HKSCS only; €: cp950 only
        codec = "big5hkscs" if "嘅" in title else "cp950"
        feed = one(rss(title, "big5").encode(codec))
        assert feed.entries[0].title == title and feed.warning is None


def test_windows_1251() -> None:
    title = "Новости дня: всё о погоде"
    feed = one(rss(title, "windows-1251").encode("cp1251"))
    assert feed.entries[0].title == title


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_with_bom(codec: str) -> None:
    body = ("\ufeff" + rss("Grüße aus 北京", "utf-16")).encode(codec)
    feed = one(body, "application/xml")
    assert feed.entries[0].title == "Grüße aus 北京" and feed.warning is None


def test_utf16_declared_over_utf8_bytes() -> None:
    feed = one(rss("Grüße", "utf-16").encode())
    assert feed.entries[0].title == "Grüße"


def test_undeclared_iso_8859_1() -> None:
    feed = one(rss("Café crème brûlée", None).encode("latin-1"), "application/rss+xml")
    assert feed.entries[0].title == "Café crème brûlée"
    assert feed.warning == "no charset declared; read as cp1252"


def test_iso_8859_1_label_reads_windows_1252_punctuation() -> None:
    # 0x93/0x94/0x97 are C1 controls in ISO-8859-1, but what such feeds mean is cp1252's.
    feed = one(rss("“Quoted” — dash", "iso-8859-1").encode("cp1252"))
    assert feed.entries[0].title == "“Quoted” — dash"


def test_header_says_utf8_but_the_bytes_are_gbk() -> None:
    titles = ("人工智能公司发布新的大模型", "比特币价格今天上涨了百分之五")
    body = rss("科技新闻", None, titles).encode("gbk")
    feed = one(body, "application/rss+xml; charset=utf-8")
    assert [e.title for e in feed.entries] == list(titles)
    assert (
        feed.warning == "the HTTP header says utf-8, which does not fit the bytes; read as gb18030"
    )


def test_xml_says_iso_8859_1_but_the_bytes_are_utf8() -> None:
    # feedparser repairs such text per element, but not attributes (an Atom link's href).
    body = ATOM_10.replace(b"utf-8", b"ISO-8859-1").replace(b"/e1", "/café".encode())
    body = body.replace(b"Bold&lt;/b&gt;", "Café crème, 北京&lt;/b&gt;".encode())
    feed = one(body)
    assert feed.entries[0].title == "Café crème, 北京 news & views"
    assert feed.entries[0].link == "https://example.org/café"
    assert feed.warning == "the XML declaration says iso8859-1 but the bytes are UTF-8"


def test_gb2312_declared_over_utf8_bytes() -> None:
    # These UTF-8 bytes also decode as GB18030 (to mojibake), which is what feedparser keeps.
    title = "人工智能新闻：大模型发布"
    feed = one(rss(title, "gb2312").encode())
    assert feed.entries[0].title == title
    assert feed.warning == "the XML declaration says gb2312 but the bytes are UTF-8"
    short = "AI 芯"  # too few characters to tell: the declaration is believed
    assert one(rss(short, "gb2312").encode("gb2312")).entries[0].title == short


def test_server_default_latin1_header_over_a_gb2312_feed() -> None:
    body = rss("人工智能新闻", "gb2312").encode("gb2312")
    feed = one(body, "text/xml; charset=ISO-8859-1")
    assert feed.entries[0].title == "人工智能新闻"
    assert "the HTTP header says iso8859-1" in (feed.warning or "")


def test_undeclared_big5_and_cyrillic_are_guessed() -> None:
    big5 = "國際新聞：台灣與香港的經濟發展"
    assert one(rss(big5, None).encode("big5")).entries[0].title == big5
    russian = "Последние новости экономики и политики"
    assert one(rss(russian, None).encode("cp1251")).entries[0].title == russian


def test_utf8_with_one_bad_byte_stays_utf8() -> None:
    good = "Ünïcödé everywhere, 中文标题，很多很多字"
    body = rss(good, "utf-8", (good, "broken \xff here")).encode("utf-8", "surrogateescape")
    body = body.replace("\xff".encode(), b"\xff")
    feed = one(body)
    assert feed.entries[0].title == good
    assert feed.entries[1].title == "broken \ufffd here"


def test_pure_ascii_and_plain_utf8_need_no_work() -> None:
    assert decode_document(b"<rss/>").encoding == "ascii"
    decoded = decode_document("<rss>é</rss>".encode(), content_type="application/xml")
    assert (decoded.encoding, decoded.warning) == ("utf-8", None)


# -- broken and foreign documents --------------------------------------------------------------


@pytest.mark.parametrize("body", [b"", b" \r\n\t "])
def test_empty_body(body: bytes) -> None:
    with pytest.raises(FeedParseError) as caught:
        one(body)
    assert caught.value.kind == "not_a_feed"
    assert str(caught.value) == "not a feed: the response body is empty"


def test_html_page_is_not_a_feed() -> None:
    page = b"""<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">
    <title>Example &amp;  Domain</title></head><body><p>Hi</p></body></html>"""
    with pytest.raises(FeedParseError) as caught:
        one(page, "text/html; charset=utf-8")
    assert caught.value.kind == "not_a_feed"
    assert str(caught.value) == "not a feed: got an HTML page (<title>Example & Domain</title>)"


def test_other_documents_are_not_feeds() -> None:
    sitemap = b'<?xml version="1.0"?><urlset><url><loc>https://x/</loc></url></urlset>'
    with pytest.raises(FeedParseError) as caught:
        one(sitemap)
    assert caught.value.kind == "not_a_feed"
    assert (
        str(caught.value)
        == "not a feed: got XML whose root element is <urlset>, not RSS, Atom or RDF"
    )
    with pytest.raises(FeedParseError) as caught:
        one(b"\x00\x01 definitely not xml")
    assert caught.value.kind == "not_a_feed" and "neither XML nor JSON" in str(caught.value)


def test_pages_full_of_comments_are_sniffed_quickly() -> None:
    # A regular expression for "the first element after the comments" backtracks for minutes here.
    for tail in (b"<!-- never closed", b"<html><title>Late</title></html>"):
        with pytest.raises(FeedParseError) as caught:
            one(b"<!--a-->" * 5000 + tail)
        assert caught.value.kind == "not_a_feed"
    assert "Late" in str(caught.value)


def test_truncated_feed_keeps_its_complete_items() -> None:
    full = rss("Cut", "utf-8", ("One", "Two", "Three"))
    body = full[: full.index("<item><title>Three") + 20].encode()
    feed = one(body)
    assert [e.title for e in feed.entries][:2] == ["One", "Two"]
    assert feed.warning is not None and "XML not well-formed at line 2" in feed.warning
    assert "lenient parser" in feed.warning


def test_truncated_before_any_item_is_a_parse_error() -> None:
    body = b'<?xml version="1.0"?>\n<rss version="2.0"><channel><title>Cut</title><link>https://e'
    with pytest.raises(FeedParseError) as caught:
        one(body)
    assert caught.value.kind == "parse_error"
    assert str(caught.value).startswith("parse error: XML not well-formed at line 2, column")


def test_error_lines_are_those_of_the_original_document() -> None:
    # Blank lines before the declaration are dropped (expat refuses them); lines still count.
    body = b"\n\n\n" + rss("x", "utf-8", ("a & b",)).encode()
    feed = one(body)
    assert feed.warning is not None and "line 5," in feed.warning


def test_leading_whitespace_before_the_declaration_is_no_error() -> None:
    feed = one(b"  \n " + RSS_20)
    assert feed.warning is None and len(feed.entries) == 3


def test_ttl_must_be_a_positive_number() -> None:
    for ttl, expected in (("60", 60), (" 15 ", 15), ("soon", None), ("0", None), ("-5", None)):
        body = rss("t").replace("<channel>", f"<channel><ttl>{ttl}</ttl>").encode()
        assert one(body).ttl_minutes == expected


def test_a_valid_feed_without_items_is_no_error() -> None:
    feed = one(rss("Quiet", "utf-8").replace("<item>", "<x>").replace("</item>", "</x>").encode())
    assert feed.entries == () and feed.warning is None and feed.title == "Quiet"


def test_a_body_naming_a_local_file_is_not_read(tmp_path: Path) -> None:
    # feedparser.parse(bytes) opens bytes that name an existing file; parse_feed must not.
    local = tmp_path / "secret.xml"
    local.write_text(rss("From disk"), encoding="utf-8")
    with pytest.raises(FeedParseError) as caught:
        one(str(local).encode())
    assert caught.value.kind == "not_a_feed"


def test_feedparser_defaults_sanitise_and_ours_keep_raw_html() -> None:
    body = RSS_20.replace(b"<p>Full", b"<script>x()</script><p>Full")
    raw = parse_feed("f", body).entries[0].content_html
    clean = parse_feed("f", body, feedparser_defaults=True).entries[0].content_html
    assert "<script>" in raw and "<script>" not in clean and "Full" in clean

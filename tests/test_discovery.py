"""Feed discovery against a real loopback site: link tags, common paths, and clear failures."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from newsbrief.config.settings import FetchConfig
from newsbrief.feeds.discovery import COMMON_PATHS, DiscoveryError, discover_feed, feed_links, sniff
from newsbrief.feeds.parse import FeedParseError, parse_feed
from newsbrief.fetcher import Fetcher
from tests.servers.feeds import FeedServer, rss

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom site</title><id>urn:x</id>
<updated>2024-05-01T00:00:00Z</updated>
<entry><title>a</title><id>urn:a</id><updated>2024-05-01T00:00:00Z</updated></entry></feed>"""
JSON_FEED = (
    '{"version": "https://jsonfeed.org/version/1.1", "title": "JSON site", '
    '"items": [{"id": "1", "content_text": "x"}]}'
)


def page(head: str, body: str = "<p>Hello</p>") -> str:
    return f"<!DOCTYPE html><html><head><title>Site</title>{head}</head><body>{body}</body></html>"


@pytest.fixture(scope="module")
def site() -> Iterator[FeedServer]:
    # One server for the module: stopping one costs half a second (serve_forever's poll).
    with FeedServer() as s:
        yield s


@pytest.fixture
def server(site: FeedServer) -> FeedServer:
    with site._lock:
        site._resources.clear()
        site.log.clear()
    return site


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    f = Fetcher(FetchConfig(allow_private_networks=True, host_spacing=0))
    yield f
    await f.aclose()


def requested(server: FeedServer) -> list[str]:
    return [path for path, _ in server.log]


async def test_a_feed_url_is_its_own_feed(server: FeedServer, fetcher: Fetcher) -> None:
    server.set("/feed.xml", rss([{"title": "one", "guid": "1"}], title="My blog"))
    server.set("/atom", ATOM, "application/atom+xml")
    found = await discover_feed(fetcher, server.url("/feed.xml"))
    assert (found.url, found.title, found.format) == (server.url("/feed.xml"), "My blog", "rss")
    atom = await discover_feed(fetcher, server.url("/atom"))
    assert (atom.title, atom.format) == ("Atom site", "atom")
    assert requested(server) == ["/feed.xml", "/atom"]


async def test_page_links_are_tried_in_order_relative_and_comments_last(
    server: FeedServer, fetcher: Fetcher
) -> None:
    head = (
        # A comments feed first, WordPress' REST API link, a dead feed, then the real one.
        '<link rel="alternate" type="application/rss+xml" title="Blog » Comments Feed" '
        'href="comments/feed/">'
        '<link rel="alternate" type="application/json" href="/wp-json/wp/v2/pages/2">'
        '<link rel="Alternate Feed" type="application/rss+xml; charset=utf-8" href="gone.xml">'
        '<link REL="ALTERNATE" type="application/atom+xml" title="Posts" href="feed/?a=1&amp;b=2">'
    )
    server.set("/blog/", page(head), "text/html; charset=utf-8")
    server.set("/blog/comments/feed/", rss([], title="Comments"))
    server.set("/blog/feed/?a=1&b=2", ATOM, "application/atom+xml")
    found = await discover_feed(fetcher, server.url("/blog/"))
    assert found.url == server.url("/blog/feed/?a=1&b=2")
    assert (found.title, found.format) == ("Atom site", "atom")
    assert requested(server) == ["/blog/", "/blog/gone.xml", "/blog/feed/?a=1&b=2"]


async def test_base_href_resolves_links(server: FeedServer, fetcher: Fetcher) -> None:
    head = '<base href="/static/"><link rel="alternate" type="application/rss+xml" href="x.rss">'
    server.set("/", page(head), "text/html")
    server.set("/static/x.rss", rss([], title="Based"))
    found = await discover_feed(fetcher, server.url("/"))
    assert found.url == server.url("/static/x.rss")


async def test_a_comments_feed_is_taken_when_it_is_the_only_link(
    server: FeedServer, fetcher: Fetcher
) -> None:
    head = '<link rel="alternate" type="application/rss+xml" href="/comments/feed">'
    server.set("/post", page(head), "text/html")
    server.set("/comments/feed", rss([], title="Comments on post"))
    found = await discover_feed(fetcher, server.url("/post"))
    assert found.url == server.url("/comments/feed")


async def test_a_page_without_links_falls_back_to_common_paths(
    server: FeedServer, fetcher: Fetcher
) -> None:
    server.set("/", page(""), "text/html")
    server.set("/feed.xml", rss([{"title": "x", "guid": "1"}], title="Probed"))
    found = await discover_feed(fetcher, server.url("/"))
    assert (found.url, found.title) == (server.url("/feed.xml"), "Probed")
    assert server.log == [
        ("/", 200),
        ("/feed", 404),
        ("/rss", 404),
        ("/rss.xml", 404),
        ("/atom.xml", 404),
        ("/feed.xml", 200),
    ]


async def test_a_link_that_serves_html_is_not_a_feed(server: FeedServer, fetcher: Fetcher) -> None:
    head = '<link rel="alternate" type="application/rss+xml" href="/feed">'
    server.set("/", page(head), "text/html")
    server.set("/feed", page(""), "text/html")  # feedparser would "parse" this into a feed
    with pytest.raises(DiscoveryError) as caught:
        await discover_feed(fetcher, server.url("/"))
    message = str(caught.value)
    assert f"{server.url('/feed')}: an HTML page, not a feed" in message
    assert set(requested(server)) <= {"/", *COMMON_PATHS}


async def test_404_is_reported_as_such(server: FeedServer, fetcher: Fetcher) -> None:
    with pytest.raises(DiscoveryError) as caught:
        await discover_feed(fetcher, server.url("/missing"))
    assert str(caught.value) == f"cannot fetch {server.url('/missing')}: HTTP 404 Not Found"
    assert requested(server) == ["/missing"]  # no probing behind a wrong URL


async def test_no_feed_anywhere(server: FeedServer, fetcher: Fetcher) -> None:
    server.set("/", page(""), "text/html")
    with pytest.raises(DiscoveryError) as caught:
        await discover_feed(fetcher, server.url("/"))
    assert str(caught.value) == (
        f"no feed found at {server.url('/')}: the page links no RSS/Atom/JSON feed and none of "
        "/feed, /rss, /rss.xml, /atom.xml, /feed.xml, /index.xml answered with one"
    )
    assert requested(server) == ["/", *COMMON_PATHS]  # at most those paths


async def test_neither_html_nor_feed(server: FeedServer, fetcher: Fetcher) -> None:
    server.set("/logo.png", b"\x89PNG\r\n\x1a\n" + bytes(64), "image/png")
    server.set("/notes.txt", "just some text", "text/plain")
    for path, kind in (("/logo.png", "image/png"), ("/notes.txt", "text/plain")):
        with pytest.raises(DiscoveryError) as caught:
            await discover_feed(fetcher, server.url(path))
        assert f"it is neither a feed nor an HTML page ({kind})" in str(caught.value)


async def test_connection_failure_is_reported(fetcher: Fetcher) -> None:
    with FeedServer() as gone:
        url = gone.url("/")
    with pytest.raises(DiscoveryError, match=r"^cannot fetch http://127\.0\.0\.1:\d+/: "):
        await discover_feed(fetcher, url)


def _reads_json_feed() -> bool:
    try:
        parse_feed("", JSON_FEED.encode(), content_type="application/feed+json")
    except FeedParseError:
        return False
    return True


@pytest.mark.skipif(not _reads_json_feed(), reason="parse_feed does not read JSON Feed yet")
async def test_json_feed_link(server: FeedServer, fetcher: Fetcher) -> None:
    head = '<link rel="alternate" type="application/feed+json" href="/feed.json">'
    server.set("/", page(head), "text/html")
    server.set("/feed.json", JSON_FEED, "application/feed+json")
    found = await discover_feed(fetcher, server.url("/"))
    assert (found.url, found.format) == (server.url("/feed.json"), "json")


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b'<?xml version="1.0"?>\n<!-- hi --><rss version="2.0"><channel/></rss>', "rss"),
        (b"\xef\xbb\xbf<feed xmlns='http://www.w3.org/2005/Atom'/>", "atom"),
        (b'<?xml version="1.0"?><?xml-stylesheet href="s.xsl"?><rdf:RDF/>', "rdf"),
        ('<?xml version="1.0" encoding="utf-16"?><rss/>'.encode("utf-16"), "rss"),
        (JSON_FEED.encode(), "json"),
        (b'{"id": 1}', None),
        (b"<!doctype html><title>x</title>", "html"),
        (b"<html lang=en><body>x</body></html>", "html"),
        (b"plain text", None),
        (b"", None),
    ],
)
def test_sniff(body: bytes, kind: str | None) -> None:
    assert sniff(body) == kind


def test_feed_links_ignore_what_is_not_a_feed_link() -> None:
    html = (
        '<link rel="stylesheet alternate" type="text/css" href="/a.css">'
        '<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">'
        '<link rel="alternate" type="application/rss+xml" href="">'
        '<link rel="alternate" hreflang="en" href="/en/">'
        '<link rel="alternate" type="application/rss+xml" href="/a.rss">'
        '<link rel="alternate" type="application/rss+xml" href="https://example.org/a.rss">'
        '<link rel="alternate" type="application/json" href="/api"/>'
        '<link rel="alternate" type="application/feed+json" href="/f.json"/>'
    )
    links = feed_links(html, "https://example.org/page")
    assert [link.url for link in links] == [
        "https://example.org/a.rss",
        "https://example.org/f.json",
        "https://example.org/api",
    ]

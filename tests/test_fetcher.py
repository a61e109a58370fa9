from __future__ import annotations

import pytest

from newsbrief.config.settings import FetchConfig
from newsbrief.fetcher import AddressGuard, Fetcher, FetchError
from newsbrief.records import FeedState
from tests.servers.feeds import FeedServer, rss


@pytest.fixture
def server() -> FeedServer:
    with FeedServer() as s:
        s.set("/feed.xml", rss([{"title": "one", "link": "https://e/1", "guid": "1"}]))
        yield s


async def test_private_addresses_are_refused_unless_allowed(server: FeedServer) -> None:
    fetcher = Fetcher(FetchConfig(allow_private_networks=False))
    try:
        result = await fetcher.fetch_feed(FeedState("f", server.url("/feed.xml")))
    finally:
        await fetcher.aclose()
    assert result.status == 0 and result.body is None
    assert "non-public address (127.0.0.1)" in (result.error or "")
    assert server.log == []  # nothing was sent
    for url in (
        "http://10.0.0.1/x",
        "http://169.254.169.254/latest",
        "http://[::1]/",
        "http://224.0.0.1/",
    ):
        with pytest.raises(FetchError):
            await AddressGuard(allow_private=False).resolve(url)


async def test_conditional_get_answers_304_and_keeps_validators(server: FeedServer) -> None:
    fetcher = Fetcher(FetchConfig(allow_private_networks=True))
    try:
        first = await fetcher.fetch_feed(FeedState("f", server.url("/feed.xml")))
        assert first.status == 200 and first.body and first.etag
        second = await fetcher.fetch_feed(
            FeedState(
                "f", server.url("/feed.xml"), etag=first.etag, last_modified=first.last_modified
            )
        )
        assert second.not_modified and second.body is None and second.error is None
        missing = await fetcher.fetch_feed(FeedState("f", server.url("/gone.xml")))
        assert missing.status == 404 and missing.error == "HTTP 404 Not Found"
    finally:
        await fetcher.aclose()
    assert server.statuses("/feed.xml") == [200, 304]


async def test_body_size_is_limited_while_streaming(server: FeedServer) -> None:
    server.set("/big.xml", b"<rss>" + b"x" * 50_000 + b"</rss>")
    fetcher = Fetcher(FetchConfig(allow_private_networks=True, max_body_bytes=10_000))
    try:
        result = await fetcher.fetch_feed(FeedState("f", server.url("/big.xml")))
    finally:
        await fetcher.aclose()
    assert result.body is None and result.error_kind == "too_large"
    assert result.error == "body of 50,011 bytes is over the 10,000-byte limit"


async def test_unreachable_host_is_an_error_not_an_exception() -> None:
    fetcher = Fetcher(FetchConfig(allow_private_networks=True, timeout=2))
    try:
        result = await fetcher.fetch_feed(FeedState("f", "http://127.0.0.1:9/feed"))
    finally:
        await fetcher.aclose()
    assert result.status == 0 and result.error

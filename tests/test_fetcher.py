from __future__ import annotations

import ipaddress

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
    # A name is checked as the connection resolves it: the address checked is the one used.
    named = Fetcher(FetchConfig(allow_private_networks=False))
    try:
        by_name = await named.fetch_url(server.url("/feed.xml").replace("127.0.0.1", "localhost"))
    finally:
        await named.aclose()
    assert by_name.error_kind == "blocked", by_name.error
    assert "localhost resolves to a non-public address" in (by_name.error or "")
    assert server.log == []  # nothing was sent
    for url in (
        "http://10.0.0.1/x",
        "http://169.254.169.254/latest",
        "http://[::1]/",
        "http://224.0.0.1/",
    ):
        with pytest.raises(FetchError):
            AddressGuard(allow_private=False).check_url(url)


PRIVATE_V4 = ["10.1.2.3", "127.0.0.1", "169.254.169.254", "192.168.0.1", "172.16.5.4", "100.64.0.1"]
PUBLIC_V4 = ["8.8.8.8", "93.184.216.34"]
TEREDO_SERVER = ipaddress.IPv4Address("65.54.227.120")


def ipv6_forms(v4: str) -> dict[str, str]:
    """Every IPv6 spelling that can carry an IPv4 address to a connection."""
    n = int(ipaddress.IPv4Address(v4))
    teredo = (0x2001 << 112) | (int(TEREDO_SERVER) << 64) | (0xFFFFFFFF ^ n)
    return {
        "mapped": f"::ffff:{v4}",
        "compatible": f"::{v4}",
        "nat64": str(ipaddress.IPv6Address((0x0064FF9B << 96) | n)),
        "6to4": str(ipaddress.IPv6Address((0x2002 << 112) | (n << 80) | 1)),
        "teredo": str(ipaddress.IPv6Address(teredo)),
    }


@pytest.mark.parametrize("v4", PRIVATE_V4)
async def test_ipv6_forms_that_embed_a_private_ipv4_are_refused_like_it(v4: str) -> None:
    # Issue #14 row 10: NAT64 and 6to4 forms of private addresses passed as public.
    guard = AddressGuard(allow_private=False)
    for form, address in ipv6_forms(v4).items():
        assert ipaddress.IPv6Address(address).teredo is None or form == "teredo"
        with pytest.raises(FetchError, match="non-public address"):
            guard.check_url(f"http://[{address}]/feed.xml")
    allowed = AddressGuard(allow_private=False, allowed_networks=[f"{v4}/32"])
    for address in ipv6_forms(v4).values():
        allowed.check_url(f"http://[{address}]:8080/feed.xml")  # allowed like the IPv4


@pytest.mark.parametrize("v4", PUBLIC_V4)
async def test_ipv6_forms_of_public_ipv4_stay_public(v4: str) -> None:
    guard = AddressGuard(allow_private=False)
    for address in ipv6_forms(v4).values():
        guard.check_url(f"http://[{address}]/")
    with pytest.raises(FetchError):  # RFC 8215 local-use NAT64 is never public
        guard.check_url(f"http://[64:ff9b:1::{v4}]/")


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

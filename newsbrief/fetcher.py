"""The HTTP fetcher: the only module that talks to feed and page servers.

What it guarantees, whatever the server does:
- conditional GET (ETag, Last-Modified); scheduling hints read from the answer (Cache-Control
  max-age, Expires, Retry-After);
- connect, read and total timeouts; a raw body limit enforced while streaming and a separate
  limit on the decompressed size (we decompress ourselves, in bounded steps, so a gzip bomb
  costs at most the limit);
- at most ``MAX_REDIRECTS`` hops; every hop's host is refused if it is or resolves to a
  private, loopback, link-local, multicast or reserved address (unless allowed); the check
  sits in the connection's own resolver, so the address connected to is the one checked and
  DNS rebinding does not get through;
- politeness: a global concurrency limit, a per-host concurrency limit and a minimum spacing
  between two requests to one host;
- it never raises for a network or server failure: the result carries a classified error.

aiohttp, not httpx (which the Telegram library brings): a poll cycle of 10,000 feeds spent most
of its event loop's time in httpx's request path, about 5 times aiohttp's CPU per request.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from newsbrief.config.settings import FetchConfig
from newsbrief.feeds import FEED_ACCEPT
from newsbrief.records import ErrorKind, FeedState, FetchResult

MAX_REDIRECTS = 5
_REDIRECTS = (301, 302, 303, 307, 308)
_PERMANENT = (301, 308)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class FetchError(Exception):
    """A failure with its class and a message an admin can act on."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind


NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
"""RFC 6052's well-known prefix: the last 32 bits are the IPv4 address a translator reaches."""
NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
"""RFC 8215's local-use prefix: only meaningful inside one network, never public."""


def embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries to (mapped, compatible, NAT64, 6to4, Teredo).

    Python calls most of these forms global, but a connection to them may end at the IPv4
    address inside, so that address is the one to judge."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        server, client = address.teredo
        return client if is_public(server) else server
    value = int(address)
    if address in NAT64 or 1 < value < 1 << 32:  # NAT64, or deprecated ::a.b.c.d
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    return None


def is_public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address in NAT64_LOCAL:
        return False
    inner = embedded_ipv4(address)
    if inner is not None:
        return is_public(inner)
    return address.is_global and not address.is_multicast


class AddressGuard:
    """Decides which addresses may be fetched (SSRF protection)."""

    def __init__(self, allow_private: bool, allowed_networks: Sequence[str] = ()) -> None:
        self.allow_private = allow_private
        self.allowed: list[Network] = [
            ipaddress.ip_network(n, strict=False) for n in allowed_networks
        ]

    def check(self, host: str, address: Address) -> None:
        if self.allow_private or is_public(address):
            return
        inner = embedded_ipv4(address)
        if any(a in network for network in self.allowed for a in (address, inner) if a):
            return
        raise FetchError(
            ErrorKind.BLOCKED,
            f"{host} resolves to a non-public address ({address}); "
            "set fetch.allow_private_networks or fetch.allowed_networks to allow it",
        )

    def check_url(self, url: str) -> None:
        """Refuse a URL that is not http(s) or whose host is a refused IP address (a host
        name is checked as the connection resolves it: ``GuardedResolver``)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(ErrorKind.HTTP, f"not an http(s) URL: {url}")
        host = parts.hostname
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            return
        self.check(host, literal)


class GuardedResolver(AbstractResolver):
    """The connections' DNS: every address a name resolves to is checked before any
    connection is made to it, so a name cannot resolve to a public address for a check and
    to a private one for the connection."""

    def __init__(self, guard: AddressGuard) -> None:
        self._guard = guard
        self._inner = aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        for result in found:
            self._guard.check(host, ipaddress.ip_address(result["host"]))
        return found

    async def close(self) -> None:
        await self._inner.close()


@dataclass
class _Host:
    slots: asyncio.Semaphore
    next_start: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Politeness:
    """Per-host concurrency and spacing, plus a global concurrency limit."""

    def __init__(self, concurrency: int, per_host: int, spacing: float) -> None:
        self.global_slots = asyncio.Semaphore(concurrency)
        self.per_host = per_host
        self.spacing = spacing
        self._hosts: dict[str, _Host] = {}

    def _host(self, name: str) -> _Host:
        host = self._hosts.get(name)
        if host is None:
            host = self._hosts[name] = _Host(asyncio.Semaphore(self.per_host))
        return host

    async def acquire(self, name: str) -> _Host:
        host = self._host(name)
        await host.slots.acquire()
        try:
            async with host.lock:
                loop = asyncio.get_running_loop()
                wait = host.next_start - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                host.next_start = loop.time() + self.spacing
        except BaseException:
            host.slots.release()
            raise
        return host


class _Decoder:
    """gzip/deflate decompression in bounded steps; identity passes through."""

    def __init__(self, encoding: str) -> None:
        encoding = encoding.strip().lower()
        if encoding in ("", "identity"):
            self._z = None
        elif encoding in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._z = zlib.decompressobj()
        else:
            raise FetchError(ErrorKind.HTTP, f"unsupported Content-Encoding {encoding!r}")
        self.encoding = encoding

    def feed(self, chunk: bytes, room: int) -> bytes:
        """Decompress ``chunk``, producing at most ``room + 1`` bytes (so overflow is seen)."""
        if self._z is None:
            return chunk
        out = bytearray()
        data = chunk
        try:
            while data and len(out) <= room:
                piece = self._z.decompress(data, room + 1 - len(out))
                out += piece
                data = self._z.unconsumed_tail
                if self._z.eof and self._z.unused_data:
                    # A gzip stream may hold several members one after another.
                    data = self._z.unused_data + data
                    self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        except zlib.error as exc:
            raise FetchError(ErrorKind.HTTP, f"corrupt {self.encoding} body: {exc}") from exc
        return bytes(out)


def _seconds_until(value: str | None, now: datetime) -> float | None:
    """Retry-After / Expires: delta-seconds or an HTTP date, as seconds from ``now``."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def cache_lifetime(headers: Mapping[str, str], now: datetime) -> float | None:
    """How long the server says the answer stays fresh (max-age wins over Expires)."""
    for directive in headers.get("cache-control", "").split(","):
        name, _, value = directive.strip().partition("=")
        if name.lower() in ("max-age", "s-maxage") and value.strip('"').isdigit():
            return float(value.strip('"'))
        if name.lower() in ("no-cache", "no-store"):
            return 0.0
    return _seconds_until(headers.get("expires"), now)


def classify(exc: Exception) -> FetchError:
    """An aiohttp/OS exception as a FetchError with a message for humans."""
    if isinstance(exc, FetchError):
        return exc
    text = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return FetchError(ErrorKind.TIMEOUT, "timed out connecting")
    if isinstance(exc, TimeoutError):  # aiohttp's read timeout
        return FetchError(ErrorKind.TIMEOUT, "timed out waiting for the server")
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return FetchError(ErrorKind.DNS, f"DNS lookup failed: {text}")
    if isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError):
        return FetchError(ErrorKind.TLS, f"TLS handshake failed: {text}")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return FetchError(ErrorKind.CONNECT, f"cannot connect: {text}")
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return FetchError(ErrorKind.CONNECT, f"the server broke the connection: {text}")
    if isinstance(exc, aiohttp.ClientResponseError):
        return FetchError(ErrorKind.CONNECT, f"the server's answer is not valid HTTP: {text}")
    return FetchError(ErrorKind.CONNECT, f"{type(exc).__name__}: {text}")


class _Deadline:
    """The total time budget of one fetch; it starts with the first request actually sent,
    so time spent queueing behind the politeness limits does not count."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at: float | None = None

    def start(self) -> float:
        if self.at is None:
            self.at = asyncio.get_running_loop().time() + self.seconds
        return self.at


@dataclass(frozen=True, slots=True)
class _Answer:
    url: str
    status: int
    reason: str
    headers: Mapping[str, str]
    body: bytes | None
    permanent_redirect: str | None


KEEPALIVE = 3.0
"""Seconds an idle connection is kept for the next request to its host: enough for the next
of a host's feeds (``host_spacing`` apart), short enough that polling thousands of hosts does
not keep thousands of sockets open."""


class Fetcher:
    """One shared aiohttp session with the guards above, opened at the first fetch."""

    def __init__(self, config: FetchConfig) -> None:
        self.config = config
        self.guard = AddressGuard(config.allow_private_networks, config.allowed_networks)
        self.politeness = Politeness(
            config.concurrency, config.per_host_concurrency, config.host_spacing
        )
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=0,  # the politeness limits are the limits
                keepalive_timeout=KEEPALIVE,
                resolver=GuardedResolver(self.guard),
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    sock_connect=self.config.connect_timeout,
                    sock_read=self.config.timeout,
                ),
                headers={"User-Agent": self.config.user_agent, "Accept-Encoding": "gzip, deflate"},
                auto_decompress=False,  # we decompress, in bounded steps
                cookie_jar=aiohttp.DummyCookieJar(),  # one feed's cookies are not another's
                trust_env=False,  # no proxy: it would be the peer, whatever the feed's address
            )
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def fetch_feed(self, state: FeedState) -> FetchResult:
        headers = {"Accept": FEED_ACCEPT}
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
        return await self._fetch(state.feed_id, state.url, headers)

    async def fetch_url(self, url: str, *, accept: str = PAGE_ACCEPT) -> FetchResult:
        """A page (article, site front page for feed discovery) with the same guards."""
        return await self._fetch("", url, {"Accept": accept})

    async def _fetch(self, feed_id: str, url: str, headers: dict[str, str]) -> FetchResult:
        started = time.monotonic()
        now = datetime.now(UTC)
        try:
            answer = await self._get(url, headers, _Deadline(self.config.total_timeout))
        except (aiohttp.ServerTimeoutError, aiohttp.ConnectionTimeoutError) as exc:
            return self._failed(feed_id, url, classify(exc), started)
        except TimeoutError:
            late = FetchError(
                ErrorKind.TIMEOUT, f"took longer than {self.config.total_timeout:g}s in total"
            )
            return self._failed(feed_id, url, late, started)
        except Exception as exc:  # every failure becomes a classified result
            return self._failed(feed_id, url, classify(exc), started)
        status = answer.status
        error_kind: ErrorKind | None = None
        error: str | None = None
        if status not in (200, 304):
            error_kind, error = ErrorKind.HTTP, f"HTTP {status} {answer.reason}".strip()
        retry_after = None
        if status in (429, 503):
            retry_after = _seconds_until(answer.headers.get("retry-after"), now)
        return FetchResult(
            feed_id=feed_id,
            url=answer.url,
            status=status,
            body=answer.body if status == 200 else None,
            content_type=answer.headers.get("content-type"),
            etag=answer.headers.get("etag"),
            last_modified=answer.headers.get("last-modified"),
            error=error,
            error_kind=error_kind,
            retry_after=retry_after,
            max_age=cache_lifetime(answer.headers, now) if status in (200, 304) else None,
            permanent_redirect=answer.permanent_redirect,
            elapsed=time.monotonic() - started,
        )

    def _failed(self, feed_id: str, url: str, error: FetchError, started: float) -> FetchResult:
        return FetchResult(
            feed_id=feed_id,
            url=url,
            status=0,
            error=str(error),
            error_kind=error.kind,
            elapsed=time.monotonic() - started,
        )

    async def _get(self, url: str, headers: dict[str, str], deadline: _Deadline) -> _Answer:
        permanent: str | None = None
        all_permanent = True
        seen = {url}
        for _ in range(MAX_REDIRECTS + 1):
            self.guard.check_url(url)  # names are checked as the connection resolves them
            answer = await self._exchange(url, headers, deadline)
            location = answer.headers.get("location")
            if answer.status not in _REDIRECTS or not location:
                return _Answer(
                    url, answer.status, answer.reason, answer.headers, answer.body, permanent
                )
            all_permanent &= answer.status in _PERMANENT
            url = urljoin(url, location.strip())
            if url in seen:
                raise FetchError(ErrorKind.REDIRECT, f"redirect loop at {url}")
            seen.add(url)
            permanent = url if all_permanent else None
        raise FetchError(ErrorKind.REDIRECT, f"more than {MAX_REDIRECTS} redirects")

    async def _exchange(self, url: str, headers: dict[str, str], deadline: _Deadline) -> _Answer:
        """One request within the politeness limits; the body is read only on 200."""
        host_name = urlsplit(url).hostname or ""
        # The host slot first: a task queued behind a busy host holds no global slot.
        host = await self.politeness.acquire(host_name)
        try:
            async with self.politeness.global_slots, asyncio.timeout_at(deadline.start()):
                for attempt in (1, 2):
                    try:
                        async with self._client().get(
                            url, headers=headers, allow_redirects=False
                        ) as response:
                            body = None
                            if response.status == 200:
                                body = await self._read_limited(response)
                            return _Answer(
                                url,
                                response.status,
                                response.reason or "",
                                response.headers,
                                body,
                                None,
                            )
                    except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
                        # A pooled keep-alive connection can be dead before the server answers
                        # anything; GET is idempotent, so one fresh try is safe.
                        if attempt == 2 or isinstance(exc, aiohttp.ClientConnectorError):
                            raise
                raise AssertionError("unreachable")
        finally:
            host.slots.release()

    async def _read_limited(self, response: aiohttp.ClientResponse) -> bytes:
        raw_limit = self.config.max_body_bytes
        limit = self.config.max_decompressed_bytes
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > raw_limit:
            raise FetchError(
                ErrorKind.TOO_LARGE,
                f"body of {int(length):,} bytes is over the {raw_limit:,}-byte limit",
            )
        decoder = _Decoder(response.headers.get("content-encoding", ""))
        out = bytearray()
        raw = 0
        async for chunk in response.content.iter_chunked(65_536):
            raw += len(chunk)
            if raw > raw_limit:
                raise FetchError(ErrorKind.TOO_LARGE, f"body over the {raw_limit:,}-byte limit")
            out += decoder.feed(chunk, limit - len(out))
            if len(out) > limit:
                raise FetchError(
                    ErrorKind.TOO_LARGE,
                    f"body decompresses to over {limit:,} bytes ({decoder.encoding} bomb?)",
                )
        return bytes(out)

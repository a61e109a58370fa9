"""The HTTP fetcher: conditional GET, size limit, redirect limit, private-address guard.

The only module that talks to the network for feeds and pages (the chat senders live in ``bot``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urljoin, urlsplit

import httpx

from newsbrief.records import FeedState, FetchResult
from newsbrief.settings import FetchConfig

MAX_REDIRECTS = 5
_REDIRECTS = (301, 302, 303, 307, 308)


class FetchError(Exception):
    """A fetch that failed for a reason worth telling the admin."""


async def check_address(url: str, *, allow_private: bool) -> None:
    """Refuse hosts that resolve to private, loopback, link-local or multicast addresses."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(f"not an http(s) URL: {url}")
    if allow_private:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            parts.hostname, port, type=socket.SOCK_STREAM
        )
    except socket.gaierror as exc:
        raise FetchError(f"DNS lookup failed for {parts.hostname}: {exc.strerror}") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global or address.is_multicast:
            raise FetchError(
                f"{parts.hostname} resolves to a non-public address ({address}); "
                "set fetch.allow_private_networks to allow it"
            )


class Fetcher:
    """One shared httpx client; ``fetch_feed`` never raises, it reports errors in the result."""

    def __init__(self, config: FetchConfig, transport: httpx.AsyncBaseTransport | None = None):
        self.config = config
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(config.timeout),
            headers={"User-Agent": config.user_agent},
            follow_redirects=False,
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch_feed(self, state: FeedState) -> FetchResult:
        headers = {
            "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.8"
        }
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
        try:
            return await self._get(state.feed_id, state.url, headers)
        except FetchError as exc:
            return FetchResult(feed_id=state.feed_id, url=state.url, status=0, error=str(exc))
        except httpx.TimeoutException:
            return FetchResult(
                feed_id=state.feed_id,
                url=state.url,
                status=0,
                error=f"timed out after {self.config.timeout:g}s",
            )
        except httpx.HTTPError as exc:
            return FetchResult(
                feed_id=state.feed_id,
                url=state.url,
                status=0,
                error=f"{type(exc).__name__}: {exc}",
            )

    async def _get(self, feed_id: str, url: str, headers: dict[str, str]) -> FetchResult:
        for _ in range(MAX_REDIRECTS + 1):
            await check_address(url, allow_private=self.config.allow_private_networks)
            async with self._client.stream("GET", url, headers=headers) as response:
                if response.status_code in _REDIRECTS and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])
                    continue
                body = await self._read_limited(response)
                status = response.status_code
                error = None if status in (200, 304) else f"HTTP {status} {response.reason_phrase}"
                return FetchResult(
                    feed_id=feed_id,
                    url=url,
                    status=status,
                    body=body if status == 200 else None,
                    content_type=response.headers.get("content-type"),
                    etag=response.headers.get("etag"),
                    last_modified=response.headers.get("last-modified"),
                    error=error,
                )
        raise FetchError(f"more than {MAX_REDIRECTS} redirects")

    async def _read_limited(self, response: httpx.Response) -> bytes:
        limit = self.config.max_body_bytes
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise FetchError(f"response larger than {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

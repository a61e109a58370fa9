"""Lead image URLs a chat platform may be handed: absolute http(s), on a public host.

Platforms fetch a ``picurl`` themselves, so a URL naming a private or loopback address (or a
bare intranet name) would point their fetcher into someone's network, and anything but http(s)
shows nothing. The check is on the URL as written, without DNS: a public name is trusted.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import quote, urljoin, urlsplit

MAX_IMAGE_URL_CHARS = 2048
_PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa", ".intranet")
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}$", re.IGNORECASE)
_UNSAFE = re.compile(r"[\x00-\x20\x7f\"'<>\\^`{|}]")


def _public_host(host: str) -> bool:
    host = host.rstrip(".").lower()
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if _NUMERIC_HOST.match(host):
            return False  # 2130706433, 0x7f.1, 127.1: browsers read these as addresses
        return "." in host and host != "localhost" and not host.endswith(_PRIVATE_SUFFIXES)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_global
    return address.is_global


def public_image_url(url: str | None, base: str | None = None) -> str | None:
    """``url`` (relative ones resolved against ``base``) if it may be shown, else None."""
    if not url:
        return None
    url = url.strip()
    if base and not urlsplit(url).scheme:
        try:
            url = urljoin(base, url)
        except ValueError:
            return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018  (raises on a malformed port)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    if parts.username is not None or parts.password is not None or not _public_host(host):
        return None
    # Spaces, quotes and brackets break the markup and JSON around it: percent-encode them.
    url = _UNSAFE.sub(lambda m: quote(m.group()), url)
    return url if len(url) <= MAX_IMAGE_URL_CHARS else None

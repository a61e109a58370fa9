"""Canonical URLs and normalised titles: one key per story however a site or a share links it.

Shared links carry tracking noise (``utm_*``, ``spm``, WeChat's ``from=singlemessage&
isappinstalled=0``), WeChat articles come with a dozen session parameters around the four that
name the article, and reposted titles differ by a site suffix (``_新浪财经``, `` | Site``) and by
script. Both functions are pure and total: any string in, a string out.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

from newsbrief.text.chinese import to_simplified

# Dropped from every URL: they say how a link was shared, never which page it is. WeChat adds
# from/isappinstalled/scene/... to any link shared inside it, not only to its own articles.
TRACKING_PARAMS = frozenset(
    {
        "spm",
        "from",
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "yclid",
        "msclkid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "share_token",
        "isappinstalled",
        "scene",
        "srcid",
        "clicktime",
        "enterid",
        "ascene",
        "subscene",
        "devicetype",
        "nettype",
        "pass_ticket",
        "wx_header",
        "exportkey",
        "acctmode",
        "abtest_cookie",
        "chksm",
        "xtrack",
    }
)
TRACKING_PREFIXES = ("utm_", "sharer_")
# Generic names that mean something on other sites (``lang=en`` picks a translation) and are
# noise only on WeChat pages.
WECHAT_ONLY_PARAMS = frozenset({"version", "lang", "poc_token", "key", "uin", "sessionid"})
WECHAT_ARTICLE_PARAMS = ("__biz", "mid", "idx", "sn")
WECHAT_HOST = "mp.weixin.qq.com"
DEFAULT_PORTS = {"http": 80, "https": 443}
# Query characters left unescaped when the query is rebuilt: RFC 3986 sub-delims except "&" and
# "+"; "=" is safe because keys never hold one after parsing (WeChat's "__biz=Mz...==" stays).
_QUERY_SAFE = "!$'()*,;:=@/?~"


def canonical_url(url: str, base: str | None = None) -> str:
    """The canonical form of a link (resolved against ``base`` when relative)."""
    url = url.strip()
    if base:
        url = urljoin(base.strip(), url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url  # not a URL we can take apart (bad port, broken IPv6): keep it as given
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return urlunsplit((scheme, parts.netloc, parts.path, parts.query, ""))
    host = parts.hostname.rstrip(".")  # urlsplit lowercases it
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None or port == DEFAULT_PORTS[scheme] else f"{host}:{port}"
    if parts.username is not None:
        # Credentials select an account, not a page: keep them exactly as given.
        netloc = parts.netloc.rsplit("@", 1)[0] + "@" + netloc
    path = parts.path or "/"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if host == WECHAT_HOST:
        scheme = "https"  # WeChat serves its articles on both; links differ only by habit
        if path.startswith("/s/"):
            pairs = []  # /s/<id> names the article by itself
        elif path == "/s" and any(k == "__biz" for k, _ in pairs):
            pairs = [(k, v) for k, v in pairs if k in WECHAT_ARTICLE_PARAMS]
        else:
            pairs = [(k, v) for k, v in pairs if k not in WECHAT_ONLY_PARAMS]
    pairs = sorted((k, v) for k, v in pairs if not _is_tracking(k))
    query = urlencode(pairs, quote_via=quote, safe=_QUERY_SAFE)
    return urlunsplit((scheme, netloc, path, query, ""))


def _is_tracking(name: str) -> bool:
    name = name.lower()
    return name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES)


# A site name after the last separator: "标题 - 站点", "标题_新浪财经", "Title | Site". Dashes
# count only with spaces around them, so "GPT-4" and "2024-05-01" stay whole.
_SUFFIX = re.compile(r"^(?P<head>.+)\s*(?:\s[-–—]\s|\||_|\s::\s|\s·\s)\s*(?P<tail>[^|_]+?)\s*$")
_SUFFIX_MAX_CHARS = 24
_SUFFIX_MAX_WORDS = 4
_NON_WORD = re.compile(r"[\W_]+")


def _strip_site_suffix(title: str) -> str:
    # Twice at most: "标题_新浪财经_新浪网" carries a channel and a site.
    for _ in range(2):
        found = _SUFFIX.match(title)
        if not found:
            break
        head, tail = found["head"].strip(), found["tail"].strip()
        # A long tail or a short head means the separator is part of the title itself.
        if (
            len(tail) > _SUFFIX_MAX_CHARS
            or len(tail.split()) > _SUFFIX_MAX_WORDS
            or len(_NON_WORD.sub("", head)) < max(4, len(_NON_WORD.sub("", tail)))
        ):
            break
        title = head
    return title


def normalized_title(title: str) -> str:
    """A title as compared: NFKC, no site suffix, casefolded, Simplified, letters and digits."""
    text = " ".join(unicodedata.normalize("NFKC", title).split())
    text = _strip_site_suffix(text)
    return _NON_WORD.sub("", to_simplified(text.casefold()))

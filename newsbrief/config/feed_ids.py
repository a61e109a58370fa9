"""Feed ids made from what a feed is called: its title first, its host as the fallback.

The rule, as the README states it:

1. The title's words, lowercased and joined by ``-``: ``Hacker News`` -> ``hacker-news``,
   ``NYT > World News`` -> ``nyt-world-news`` (entities decoded, accents and emoji dropped,
   full-width characters folded). Chinese is written in pinyin without tones, a word's
   syllables run together: ``少数派`` -> ``shaoshupai``, ``IT之家`` -> ``itzhijia``.
2. A Chinese title gives way to the host when the host is the site's own romanisation of it:
   the host's name (three characters or more) starts like the pinyin and at least three
   quarters of its characters follow the pinyin in order (``sspai.com`` for 少数派,
   ``36kr.com`` for 36氪 ``36ke``). Sites pick their Latin names; ours would be a guess.
3. The host (``www.ithome.com`` -> ``ithome``) when the title gives nothing: no title, only
   emoji or a script without a romanisation here, or only words like "RSS" and "Feed".
4. At most ``MAX_LEN`` characters from a title, cut at a word (or syllable) boundary; then
   made unique with ``-2``, ``-3``… among the ids given as taken.
"""

from __future__ import annotations

import html
import ipaddress
import re
import unicodedata
from collections.abc import Iterable
from urllib.parse import urlsplit

from newsbrief.config.base import ID_MAX_LEN

MAX_LEN = 32
"""Characters of an id made from a title, before any ``-N``: short enough to type."""
HOST_MAX_LEN = ID_MAX_LEN - 8
"""Characters of an id made from a host, leaving room for ``-N``."""

_HOST_PREFIXES = ("www", "m", "feeds", "feed", "rss")
_SECOND_LEVEL = {"com", "net", "org", "gov", "edu", "ac", "co"}
# Words that name the feed's format or a kind of page, not the feed: alone they make no id,
# and a format's name is dropped from either end of a title.
_FORMATS = {"rss", "atom", "feed", "feeds", "xml", "json"}
_GENERIC = _FORMATS | {"home", "index", "untitled", "blog", "news"}
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+")
_SYLLABLE = "'"
"""Marks syllable boundaries inside a romanised word until the id is joined."""
_WORD = re.compile(r"[a-z0-9]+|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+")


def derive_id(url: str, taken: Iterable[str] = (), *, title: str | None = None) -> str:
    """An id for the feed at ``url`` called ``title`` (see the module's rule), unique among
    ``taken`` by a numeric suffix (``ithome-2``)."""
    host = host_name(url)
    words = title_words(title or "")
    base = ""
    if words and not all(w in _GENERIC for w in words):
        base = _join(words)
        if _HAN.search(title or "") and _romanises(host, base):
            base = host
    if not base:
        base = host
    used = set(taken)
    candidate, n = base, 1
    while candidate in used:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def host_name(url: str) -> str:
    """The significant part of the URL's host (``www.ithome.com`` -> ``ithome``), as an id;
    ``feed`` when nothing is left."""
    host = (urlsplit(url.strip()).hostname or "").lower().rstrip(".")
    try:
        ipaddress.ip_address(host)
        labels = [host]  # an address is all significant
    except ValueError:
        labels = host.split(".")
        while len(labels) > 1 and labels[0] in _HOST_PREFIXES:
            labels.pop(0)
        if len(labels) > 1:
            labels.pop()  # the top-level domain
        if len(labels) > 1 and labels[-1] in _SECOND_LEVEL:
            labels.pop()  # co.uk, com.cn
    # An id by ``ID_PATTERN``: its characters, a letter or digit first.
    # Hosts keep the longer cap they always had (ids derived before stay the same).
    return re.sub(r"[^a-z0-9_-]+", "-", "-".join(labels)).strip("-_")[:HOST_MAX_LEN] or "feed"


def title_words(title: str) -> list[str]:
    """The title as id words: ASCII letters and digits, Chinese as pinyin syllables run
    together; everything else (punctuation, emoji, other scripts) separates words."""
    return [word for part in _title_parts(title) if (word := _romanise(part))]


def _title_parts(title: str) -> list[str]:
    text = unicodedata.normalize("NFKC", html.unescape(html.unescape(title)))
    # Accents off (Café -> Cafe) without touching the Han characters.
    text = "".join(
        c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
    ).lower()
    text = re.sub(r"['\u2019]", "", text)  # Alice's -> alices, not alice-s
    # A word is a run of letters, digits and Han characters: "36氪" and "IT之家" stay whole.
    return re.findall(
        r"(?:[a-z0-9]|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f])+", text
    )


def _romanise(part: str) -> str:
    if not _HAN.search(part):
        return part
    # Imported here: the dictionary takes a noticeable part of a second to load, and only
    # adding a feed needs it.
    from pypinyin import lazy_pinyin

    syllables: list[str] = []
    for piece in _WORD.findall(part):
        if _HAN.fullmatch(piece):
            # A rare character without a reading is dropped, like an emoji.
            said = lazy_pinyin(piece, errors="ignore")
            syllables += [s for p in said if (s := re.sub(r"[^a-z0-9]", "", p.lower()))]
        else:
            syllables.append(piece)
    return _SYLLABLE.join(syllables)


def _join(words: list[str]) -> str:
    # "Hacker News RSS", "Feed: Lab notes": the format's name at either end says nothing.
    while len(words) > 1 and words[-1] in _FORMATS:
        words = words[:-1]
    while len(words) > 1 and words[0] in _FORMATS:
        words = words[1:]
    return _cut(words, "-")


def _cut(words: list[str], sep: str) -> str:
    """Words joined while they fit ``MAX_LEN``; a first word too long alone keeps the pinyin
    syllables (``_SYLLABLE``-separated) that fit, or its first ``MAX_LEN`` characters."""
    out = ""
    for word in words:
        joined = f"{out}{sep}{word}" if out else word
        if len(joined.replace(_SYLLABLE, "")) > MAX_LEN:
            break
        out = joined
    if not out and words:
        for syllable in words[0].split(_SYLLABLE):
            if len(out + syllable) > MAX_LEN:
                break
            out += syllable
        out = out or words[0].replace(_SYLLABLE, "")[:MAX_LEN]
    return out.replace(_SYLLABLE, "")


def _romanises(host: str, pinyin: str) -> bool:
    """Whether ``host`` reads as the site's own Latin name for the title ``pinyin``."""
    name, letters = host.replace("-", ""), pinyin.replace("-", "")
    if len(name) < 3 or not letters or name[0] != letters[0] or name == "feed":
        return False
    return _common_subsequence(name, letters) * 4 >= len(name) * 3


def _common_subsequence(a: str, b: str) -> int:
    """Length of the longest sequence of characters both strings hold in the same order."""
    row = [0] * (len(b) + 1)
    for ca in a:
        prev = 0
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], prev + 1 if ca == cb else max(row[j], row[j - 1])
    return row[-1]

"""Feed bytes -> text, choosing the charset the bytes are really in.

feedparser trusts the declared charset first (the HTTP header, then the XML declaration) and,
when that fails, falls back to windows-1252 for the whole document. Real feeds get this wrong
in a few recurring ways, which this module corrects before feedparser sees the document:

* UTF-8 bytes declared as ISO-8859-1 (or any legacy charset) decode "successfully" as mojibake;
  valid UTF-8 with non-ASCII content is practically never anything else, so UTF-8 wins.
* GB2312/GBK-declared Chinese feeds contain characters outside those sets: read as GB18030.
  Big5 feeds contain HKSCS or Microsoft extensions: read as big5, else cp950, else big5hkscs.
* A header charset that does not fit the bytes (``charset=utf-8`` over GBK bytes) or none at all:
  guess among UTF-8 with a few bad bytes, GB18030, Big5, windows-1251 and windows-1252.
* ISO-8859-1 and US-ASCII labels mean windows-1252, as in browsers (the WHATWG Encoding
  Standard): bytes 0x80-0x9F in such feeds are curly quotes and dashes, not C1 controls.

The common case (valid UTF-8, or plain ASCII) costs one ``bytes.decode``.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

# Superset codecs to read a declared charset with, in order of preference.
_SUPERSETS: dict[str, tuple[str, ...]] = {
    "gb2312": ("gb18030",),
    "gbk": ("gb18030",),
    "gb18030": ("gb18030",),
    "big5": ("big5", "cp950", "big5hkscs"),
    "cp950": ("cp950", "big5hkscs"),
    "big5hkscs": ("big5hkscs", "cp950"),
    "ascii": ("cp1252", "latin-1"),
    "iso8859-1": ("cp1252", "latin-1"),
    "cp1252": ("cp1252", "latin-1"),
    "iso8859-9": ("cp1254",),
    "shift_jis": ("cp932",),
    "euc_kr": ("cp949",),
    "tis-620": ("cp874",),
}
# Charsets with two or more bytes per character: a strict decode that succeeds is evidence.
_MULTIBYTE = frozenset(
    {"gb18030", "big5", "cp950", "big5hkscs", "cp932", "euc_jp", "cp949", "johab", "euc_jis_2004"}
)
# Label spellings Python's codec registry does not know.
_ALIASES = {"x-gbk": "gbk", "windows-31j": "cp932", "x-sjis": "shift_jis", "x-euc-jp": "euc_jp"}
_UTF16_32 = ("utf-16", "utf-32")

_XML_ENCODING = re.compile(rb"""<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._:+-]+)["']""")
_HIGH_RUNS = re.compile(rb"[\x80-\xff]+")
# Two-byte characters of GBK and Big5 (lead byte, trail byte), and byte ranges to profile them.
_PAIRS = re.compile(rb"[\x81-\xfe][\x40-\x7e\x80-\xfe]")
_GB_FREQUENT = bytes([*range(0xA1, 0xA4), *range(0xB0, 0xD8)])  # punctuation, level-1 hanzi
_BIG5_FREQUENT = bytes([*range(0xA1, 0xA4), *range(0xA4, 0xC7)])  # punctuation, level 1
_LOW = bytes(range(0x40, 0x7F))


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    encoding: str
    """The codec the text was read with (Python's name for it)."""
    warning: str | None = None
    """Set when the declared charset did not fit the bytes, or non-UTF-8 bytes declared none."""


def header_charset(content_type: str | None) -> str | None:
    """The ``charset`` parameter of a Content-Type header, if any."""
    if not content_type:
        return None
    for param in content_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip("\"'") or None
    return None


def xml_declared_encoding(head: bytes) -> str | None:
    """The ``encoding`` of the XML declaration at the start of ``head`` (ASCII-compatible bytes)."""
    start = head.lstrip()
    if not start.startswith(b"<?xml"):
        return None
    match = _XML_ENCODING.match(start, 0, 400)
    return match.group(1).decode("ascii") if match else None


def canonical(label: str | None) -> str | None:
    """Python's codec name for a charset label, or None if the label is unknown."""
    if not label:
        return None
    label = label.strip().lower()
    try:
        return codecs.lookup(_ALIASES.get(label, label)).name
    except LookupError:
        return None


def decode_document(body: bytes, *, content_type: str | None = None) -> Decoded:
    """Decode feed bytes into text, fixing the charset declarations real feeds get wrong."""
    unicode = _by_byte_order(body)
    if unicode is not None:
        return unicode
    declared: dict[str, str] = {}  # codec name -> where it was declared, header first
    for label, where in (
        (header_charset(content_type), "the HTTP header"),
        (xml_declared_encoding(body[:512]), "the XML declaration"),
    ):
        name = canonical(label)
        # UTF-16/32 without a byte order mark cannot be right for bytes that read as ASCII.
        if name is not None and not name.startswith(_UTF16_32):
            declared.setdefault(name, where)
    if body.isascii():
        return Decoded(body.decode("ascii"), "ascii")
    legacy = [name for name in declared if name != "utf-8"]
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if legacy and _family(legacy[0])[0] in _MULTIBYTE and len(body) - len(text) < 4:
            # Each GBK or Big5 character has about one chance in five of also being valid
            # UTF-8: one to three may be, four or more practically never are.
            own = _strict(body, legacy[0])
            if own is not None:
                return own
        if not legacy:
            return Decoded(text, "utf-8")
        return Decoded(
            text, "utf-8", f"{declared[legacy[0]]} says {legacy[0]} but the bytes are UTF-8"
        )
    # Multibyte charsets first: a strict decode that succeeds means something for them, while
    # single-byte ones decode anything (a server's default ISO-8859-1 over a GBK feed, say).
    for name in sorted(legacy, key=lambda n: _family(n)[0] not in _MULTIBYTE):
        found = _strict(body, name)
        if found is not None:
            first = next(iter(declared))
            if name == first:
                return found
            return Decoded(
                found.text,
                found.encoding,
                f"{declared[first]} says {first} but the bytes are {name} as {declared[name]} says",
            )
    guess = _guess(body)
    said = " and ".join(f"{where} says {name}" for name, where in declared.items())
    problem = f"{said}, which does not fit the bytes" if said else "no charset declared"
    return Decoded(guess.text, guess.encoding, f"{problem}; read as {guess.encoding}")


def _family(name: str) -> tuple[str, ...]:
    return _SUPERSETS.get(name, (name,))


def _by_byte_order(body: bytes) -> Decoded | None:
    """UTF-8/16/32 recognised by their byte order mark, or UTF-16 by ``<`` with a zero byte."""
    for bom, codec in (
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if body.startswith(bom):
            return Decoded(body[len(bom) :].decode(codec, errors="replace"), codec)
    if body[:4] == b"<\x00?\x00":
        return Decoded(body.decode("utf-16-le", errors="replace"), "utf-16-le")
    if body[:4] == b"\x00<\x00?":
        return Decoded(body.decode("utf-16-be", errors="replace"), "utf-16-be")
    return None


def _strict(body: bytes, name: str) -> Decoded | None:
    for codec in _family(name):
        try:
            return Decoded(body.decode(codec), codec)
        except (UnicodeDecodeError, LookupError):
            continue
    return None


def _guess(body: bytes) -> Decoded:
    """Non-UTF-8 bytes whose declaration (if any) did not fit: the likeliest reading."""
    text = body.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    # Valid multibyte sequences shorten the text; GBK or Latin-1 read as UTF-8 gives U+FFFD instead.
    if len(body) - len(text) >= 20 * bad:
        return Decoded(text, "utf-8")
    joined = b"".join(_PAIRS.findall(body))
    if joined:
        leads, trails = joined[::2], joined[1::2]
        pairs = len(leads)
        # Chinese text is mostly its charset's level-1 (frequent) characters; Latin or Cyrillic
        # letters read as pairs land elsewhere. GB2312 has no trail bytes below 0x80, Big5 many.
        gb = _count(leads, _GB_FREQUENT) >= 0.6 * pairs and _count(trails, _LOW) <= 0.1 * pairs
        if gb and (found := _strict(body, "gb18030")) is not None:
            return found
        if _count(leads, _BIG5_FREQUENT) >= 0.6 * pairs and (found := _strict(body, "big5")):
            return found
    runs = _HIGH_RUNS.findall(body)
    # Cyrillic words are runs of high bytes; Western accents are single high bytes among ASCII.
    if sum(map(len, runs)) >= 3 * len(runs):
        return _strict(body, "cp1251") or Decoded(body.decode("cp1251", errors="replace"), "cp1251")
    return _strict(body, "cp1252") or Decoded(body.decode("latin-1"), "latin-1")


def _count(data: bytes, members: bytes) -> int:
    """How many bytes of ``data`` are in ``members`` (at C speed)."""
    return len(data) - len(data.translate(None, members))

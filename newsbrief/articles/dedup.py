"""Near-duplicate story matching: reposts of one story across sites merge into one story.

Reposts differ from their original by ads and footers around the body, a few edited characters,
a dropped paragraph, a cut, or Traditional script. Texts are normalised (NFKC, casefold,
Simplified, letters and digits only), cut into 5-character shingles (7 for Latin-script text,
whose short letter runs recur across unrelated articles), and:

- a 128-permutation MinHash of the shingles finds candidates through ``MinHashLSH`` at a low
  Jaccard threshold (an original wrapped in ads has a modest Jaccard similarity but is wholly
  contained in its repost);
- each candidate is then confirmed by containment, |A∩B| / min(|A|, |B|), estimated on a
  coordinated sample of the shingle hashes: every hash below a fixed value (half the range),
  at least the ``SAMPLE_SIZE`` smallest, at most ``MAX_SAMPLE``. Two samples compared are cut
  at the same hash value, so they are the same random subset of each set and their
  intersection is a fair sample of the true one; short texts are compared exactly. A long
  story keeps enough of itself to check a short repost of part of it, which a fixed-size
  bottom-k sketch cannot. Memory per story: 512 B of MinHash plus about 2 bytes per character
  (at least 2 KiB, at most 32 KiB), besides the LSH tables.

Shingles are hashed with a fixed polynomial plus a 64-bit mixer, never Python's ``hash()``, so
stored signatures stay valid across processes. The MinHash is datasketch's "affine32" scheme
computed here on the whole array at once (the same values, a fifth of the time); NFKC goes
through :func:`nfkc`, which spares long Chinese texts CPython's character-by-character pass.
"""

from __future__ import annotations

import functools
import heapq
import re
import struct
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt
from datasketch import LeanMinHash, MinHash, MinHashLSH

from newsbrief.text.chinese import to_simplified

SHINGLE_K = 5
# Latin-script text repeats 5-letter runs ("ation", "there") across unrelated articles: two
# English news pages share up to a quarter of their 5-character shingles, 7% at 7 characters.
LATIN_SHINGLE_K = 7
# Texts with at least this share of CJK characters use SHINGLE_K, others LATIN_SHINGLE_K.
CJK_SHARE = 0.2
NUM_PERM = 128
SEED = 1
# Shingle hashes kept per story for the containment check: the SAMPLE_SIZE smallest, and all
# below 2**32 / SAMPLE_RATE, so a long story keeps enough of itself to check a short repost.
SAMPLE_SIZE = 512
SAMPLE_RATE = 2
MAX_SAMPLE = 8192
# Candidates: LSH tuned for Jaccard 0.3 (an 8%-edited repost sits near 0.45, a 400-character
# story inside 300 characters of ads near 0.55). Confirmation: containment of the smaller text.
LSH_THRESHOLD = 0.3
CONTAINMENT_THRESHOLD = 0.5
# Below this many normalised characters a text has too few shingles to be told apart.
MIN_CHARS = 60
DEFAULT_WINDOW = timedelta(hours=72)

_NON_WORD = re.compile(r"[\W_]+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_U32 = npt.NDArray[np.uint32]
_CHUNK = 1024
_HEADER = struct.Struct("<BBHII")  # version, k, num_perm, shingle count, sample length
_VERSION = 1
# Odd 64-bit multipliers for the rolling polynomial over code points (any fixed odd values do).
_POLY = np.array(
    [
        0x9E3779B97F4A7C15,
        0xC2B2AE3D27D4EB4F,
        0x165667B19E3779F9,
        0xD6E8FEB86659FD93,
        0xFF51AFD7ED558CCD,
        0xC4CEB9FE1A85EC53,
        0x87C37B91114253D5,
        0x4CF5AD432745937F,
    ],
    dtype=np.uint64,
)


@functools.cache
def _nfkc_tables() -> tuple[npt.NDArray[np.uint8], dict[int, str]]:
    """(kind of every code point: 0 NFKC keeps it, 1 NFKC replaces it whatever its neighbours,
    2 it may combine or reorder with a neighbour; the replacements of kind 1). One pass over the
    code space: a fraction of a second, once per process."""
    # Hangul vowel and final jamo compose with the syllable before them algorithmically.
    second = {chr(c) for c in [*range(0x1161, 0x1176), *range(0x11A8, 0x11C3)]}
    decomposable, combining = [], set()
    for char in map(chr, range(0x110000)):
        if unicodedata.combining(char):
            combining.add(char)
        decomposition = unicodedata.decomposition(char)
        if decomposition:
            decomposable.append(char)
            parts = decomposition.split()
            if len(parts) == 2 and not decomposition.startswith("<"):
                second.add(chr(int(parts[1], 16)))  # may compose with the character before it
    marks = second | combining
    kinds = np.zeros(0x110000, dtype=np.uint8)
    kinds[[ord(c) for c in marks]] = 2
    changed: dict[int, str] = {}
    for char in decomposable:
        normal = unicodedata.normalize("NFKC", char)
        if not marks.isdisjoint(normal):
            kinds[ord(char)] = 2  # its form starts or holds a mark: it interacts too
        elif normal != char:
            kinds[ord(char)] = 1
            changed[ord(char)] = normal
    return kinds, changed


def nfkc(text: str) -> str:
    """``unicodedata.normalize("NFKC", text)``, faster on long texts with a few full-width signs.

    CPython normalises a whole string character by character once one character needs it (a
    full-width comma in every Chinese sentence): a millisecond per 5,000 characters. When no
    character can combine or reorder with a neighbour (no combining marks, no jamo), NFKC is
    the concatenation of each character's NFKC form, so replacing the few that change is exact.
    """
    if unicodedata.is_normalized("NFKC", text):
        return text
    kinds, changed = _nfkc_tables()
    points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    kind = kinds[points]
    if kind.max() == 2:
        return unicodedata.normalize("NFKC", text)
    # An NFKC form never holds a character that NFKC changes, so the order of replacing is free.
    for point in np.unique(points[kind == 1]).tolist():
        text = text.replace(chr(point), changed[point])
    return text


def fingerprint_text(text: str) -> str:
    """The text as compared: NFKC, casefolded, Simplified, letters and digits only."""
    folded = nfkc(text).casefold()
    return _NON_WORD.sub("", to_simplified(folded))


@functools.cache
def _cjk_table() -> npt.NDArray[np.bool_]:
    """Which code points below U+FFFF ``_CJK`` matches (none above it does)."""
    table = np.zeros(0x10000, dtype=np.bool_)
    ranges = [(0x3040, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xAC00, 0xD7AF)]
    for start, end in [*ranges, (0xF900, 0xFAFF)]:
        table[start : end + 1] = True
    return table


def shingle_size(fingerprint: str) -> int:
    """Characters per shingle for a normalised text: 5 for Chinese/Japanese/Korean, else 7."""
    if not fingerprint:
        return SHINGLE_K
    points = np.frombuffer(fingerprint.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    # A table lookup per character: a regex findall makes a string object of each one.
    cjk = int(np.count_nonzero(_cjk_table()[np.minimum(points, 0xFFFF)]))
    return SHINGLE_K if cjk >= CJK_SHARE * len(fingerprint) else LATIN_SHINGLE_K


def _mix64(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    # splitmix64's finaliser: the polynomial alone leaves low-entropy high bits.
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def shingle_hashes(fingerprint: str, k: int = SHINGLE_K) -> _U32:
    """Sorted unique 32-bit hashes of the k-character shingles of an already normalised text."""
    if len(fingerprint) < k:
        return np.empty(0, dtype=np.uint32)
    if k > len(_POLY):
        raise ValueError(f"k must be at most {len(_POLY)}")
    points = np.frombuffer(fingerprint.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    count = len(points) - k + 1
    # sum_j points[i + j] * POLY[j], one shifted slice at a time (wrapping, as the sum did).
    with np.errstate(over="ignore"):
        total = points[:count] * _POLY[0]
        for j in range(1, k):
            total += points[j : j + count] * _POLY[j]
        mixed = _mix64(total)
    # Sort and drop repeats: numpy 2's np.unique hashes first and takes twenty times longer.
    ordered = np.sort((mixed >> np.uint64(32)).astype(np.uint32))
    fresh = np.empty(len(ordered), dtype=bool)
    fresh[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=fresh[1:])
    return ordered[fresh]


@functools.cache
def _permutations() -> tuple[_U32, _U32]:
    # datasketch's own parameters for this seed, so signatures stay what MinHash computes.
    a, b = MinHash(num_perm=NUM_PERM, seed=SEED, scheme="affine32").permutations
    return a.astype(np.uint32), b.astype(np.uint32)


def _fmix32(x: _U32) -> _U32:
    # MurmurHash3's finaliser, which datasketch's affine32 scheme applies before permuting.
    x = (x ^ (x >> np.uint32(16))) * np.uint32(0x85EBCA6B)
    x = (x ^ (x >> np.uint32(13))) * np.uint32(0xC2B2AE35)
    return x ^ (x >> np.uint32(16))


def minhash_values(hashes: _U32) -> _U32:
    """``MinHash(num_perm=NUM_PERM, seed=SEED, scheme="affine32")`` of 32-bit values, the same
    values as its ``update_batch`` gives (without its Python loop over every value)."""
    a, b = _permutations()
    values = np.full(NUM_PERM, 2**32 - 1, dtype=np.uint32)
    mixed = _fmix32(hashes.astype(np.uint32, copy=False))
    with np.errstate(over="ignore"):
        for start in range(0, len(mixed), _CHUNK):  # chunks keep the 128-row product in cache
            chunk = mixed[None, start : start + _CHUNK]
            np.minimum(values, (a[:, None] * chunk + b[:, None]).min(axis=1), out=values)
    return values


@dataclass(frozen=True, eq=False)
class StorySignature:
    """What a story's text leaves behind: MinHash values, shingle count, coordinated sample."""

    hashvalues: _U32
    shingle_count: int
    sample: _U32
    k: int = SHINGLE_K

    @classmethod
    def of(cls, text: str) -> StorySignature:
        fp = fingerprint_text(text)
        k = shingle_size(fp)
        hashes = shingle_hashes(fp, k)
        values = minhash_values(hashes)
        below = int(np.searchsorted(hashes, 2**32 // SAMPLE_RATE))
        kept = min(MAX_SAMPLE, max(SAMPLE_SIZE, below))
        return cls(values, len(hashes), hashes[:kept].copy(), k)

    def to_bytes(self) -> bytes:
        """Compact little-endian form for a database column (12 B + 4 B per value)."""
        head = _HEADER.pack(
            _VERSION, self.k, len(self.hashvalues), self.shingle_count, len(self.sample)
        )
        return head + self.hashvalues.astype("<u4").tobytes() + self.sample.astype("<u4").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> StorySignature:
        if len(data) < _HEADER.size:
            raise ValueError("truncated signature")
        version, k, num_perm, count, sample_len = _HEADER.unpack_from(data)
        if version != _VERSION:
            raise ValueError(f"unknown signature version {version}")
        if len(data) != _HEADER.size + 4 * (num_perm + sample_len):
            raise ValueError("truncated or oversized signature")
        body = np.frombuffer(data, dtype="<u4", offset=_HEADER.size).astype(np.uint32)
        return cls(body[:num_perm].copy(), count, body[num_perm:].copy(), k)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StorySignature):
            return NotImplemented
        return (
            self.shingle_count == other.shingle_count
            and self.k == other.k
            and np.array_equal(self.hashvalues, other.hashvalues)
            and np.array_equal(self.sample, other.sample)
        )

    __hash__ = None  # type: ignore[assignment]  # mutable numpy payload: no hashing

    def _known_up_to(self) -> int:
        # The sample is a prefix of the sorted set: every hash up to its last one is known.
        return int(self.sample[-1]) if len(self.sample) < self.shingle_count else 2**32

    @property
    def long_enough(self) -> bool:
        return self.shingle_count >= MIN_CHARS - self.k + 1

    def containment(self, other: StorySignature) -> float:
        """Estimated |A∩B| / min(|A|, |B|) from the two coordinated samples."""
        if self.k != other.k:
            return 0.0
        cut = min(self._known_up_to(), other._known_up_to())
        mine = self.sample[self.sample <= cut] if cut < 2**32 else self.sample
        theirs = other.sample[other.sample <= cut] if cut < 2**32 else other.sample
        smaller = min(len(mine), len(theirs))
        if not smaller:
            return 0.0
        return len(np.intersect1d(mine, theirs, assume_unique=True)) / smaller


@dataclass
class _Entry:
    story_id: int
    when: datetime
    signature: StorySignature


@dataclass
class StoryIndex:
    """Recent stories' signatures, matched by LSH candidates confirmed by containment.

    One story may hold several entries (each article merged into it), so a repost of any of
    them finds the story. Entries more than ``window`` older than the newest one added are
    dropped as others arrive, so memory follows the window, not the uptime.
    """

    window: timedelta = DEFAULT_WINDOW
    lsh_threshold: float = LSH_THRESHOLD
    containment_threshold: float = CONTAINMENT_THRESHOLD
    _lsh: MinHashLSH = field(init=False, repr=False)
    _entries: dict[int, _Entry] = field(init=False, repr=False, default_factory=dict)
    _by_time: list[tuple[datetime, int]] = field(init=False, repr=False, default_factory=list)
    _next_key: int = field(init=False, repr=False, default=0)
    _newest: datetime | None = field(init=False, repr=False, default=None)

    def __post_init__(self) -> None:
        # Missing a repost costs more than confirming a few extra candidates.
        self._lsh = MinHashLSH(threshold=self.lsh_threshold, num_perm=NUM_PERM, weights=(0.1, 0.9))

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, story_id: int, text: str, when: datetime) -> StorySignature:
        """Index a text under a story; returns its signature for storage."""
        signature = StorySignature.of(text)
        self.add_signature(story_id, signature, when)
        return signature

    def add_signature(self, story_id: int, signature: StorySignature, when: datetime) -> None:
        key = self._next_key
        self._next_key += 1
        self._entries[key] = _Entry(story_id, when, signature)
        heapq.heappush(self._by_time, (when, key))
        if signature.long_enough:
            self._lsh.insert(key, _lean(signature), check_duplication=False)
        # Relative to the newest time seen, so an out-of-order old item cannot keep stale ones.
        self._newest = when if self._newest is None else max(self._newest, when)
        self.expire(self._newest - self.window)

    def load(self, items: Iterable[tuple[int, StorySignature, datetime]]) -> None:
        """Rebuild from stored (story_id, signature, when) rows at start-up."""
        for story_id, signature, when in items:
            self.add_signature(story_id, signature, when)

    def match(self, text: str, when: datetime) -> int | None:
        """The story this text is a repost of, or None."""
        return self.match_signature(StorySignature.of(text), when)

    def match_signature(self, signature: StorySignature, when: datetime) -> int | None:
        if not signature.long_enough:
            return None
        oldest, newest = when - self.window, when + self.window
        best: tuple[float, int] | None = None
        for key in self._lsh.query(_lean(signature)):
            entry = self._entries[key]
            if not oldest <= entry.when <= newest:
                continue
            score = signature.containment(entry.signature)
            if score >= self.containment_threshold and (best is None or score > best[0]):
                best = (score, entry.story_id)
        return None if best is None else best[1]

    def expire(self, before: datetime) -> int:
        """Forget entries added for times before ``before``; returns how many."""
        removed = 0
        while self._by_time and self._by_time[0][0] < before:
            _, key = heapq.heappop(self._by_time)
            entry = self._entries.pop(key)
            if entry.signature.long_enough:
                self._lsh.remove(key)
            removed += 1
        return removed


def _lean(signature: StorySignature) -> LeanMinHash:
    return LeanMinHash(seed=SEED, hashvalues=signature.hashvalues, scheme="affine32")

"""Near-duplicate story matching: reposts of one story across sites merge into one story.

Reposts differ from their original by ads and footers around the body, a few edited characters,
a dropped paragraph, a cut, or Traditional script; a flash may carry only the headline and the
lead. Texts are normalised (NFKC, casefold, Simplified, letters and digits only), cut into
5-character shingles (7 for Latin-script text, whose short letter runs recur across unrelated
articles), and:

- candidates come from ``MinHashLSH`` at a low Jaccard threshold, probed twice: with a
  128-permutation MinHash of all the shingles (an original wrapped in ads has a modest Jaccard
  similarity but is wholly contained in its repost), and with one of the lead (the first
  ``LEAD_CHARS`` characters, title included), so a flash finds the long story it opens and a long
  story finds an earlier flash, which whole-text Jaccard cannot;
- each candidate is confirmed by the *coverage* of the smaller text: the share of its shingles
  found in the other, where a short run of unmatched shingles between two runs of matched ones
  (at most ``GAP_CHARS`` characters, and no longer than those runs: what an edited character
  or two leaves, not the words two texts share by chance) counts as found. A repost is covered
  almost wholly, edits included, while text sharing paragraphs or a site's promo and footer
  with another page is covered only where it shares them: whole stretches stay unmatched.
  Plain containment scores an 8%-edited repost near 0.55, close to a page holding two
  paragraphs of another (0.46); coverage scores them near 0.88 and 0.54.
- Both are estimated on a coordinated sample of the shingle hashes: every hash below a fixed
  value (half the range), at least the ``SAMPLE_SIZE`` smallest, at most ``MAX_SAMPLE``
  distinct, in the order of the text (a repeated shingle at each place it occurs, unless that
  would pass ``MAX_SAMPLE``). Two samples compared are cut at the same hash value, so they are
  the same random subset of each set and their intersection is a fair sample of the true one;
  short texts are compared exactly. A long story keeps enough of itself to check a short repost
  of part of it, which a fixed-size bottom-k sketch cannot. Stored: 512 B of MinHash plus about
  2 bytes per character (at least 2 KiB, at most 32 KiB); in memory the sample is kept sorted
  with each value's place (about 3 bytes per character), plus 512 B of lead MinHash, besides
  the LSH tables.

Stored signatures carry a version byte. Version 1 (before coverage) kept the sample sorted, so
the order of its text is lost: such a signature still loads and matches, by plain containment
at the threshold it was made for, and has no lead; the 72-hour window retires them.

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
from collections.abc import Iterable, Iterator
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
SAMPLE_CUT = 2**32 // SAMPLE_RATE
# Candidates: LSH tuned for Jaccard 0.3 (an 8%-edited repost sits near 0.45, a 400-character
# story inside 300 characters of ads near 0.55, a 60-character flash against its story's lead
# near 0.4).
LSH_THRESHOLD = 0.3
LEAD_CHARS = 160
# Confirmation: coverage of the smaller text, unmatched runs up to GAP_CHARS characters long
# between matched shingles counted as found (an edit spoils the k shingles around it; edits
# cluster) when no longer than the matched runs beside them. Chosen on the dev part of the
# shared pages (bench/quality_dedup.py): the lowest true variant scores 0.88 there, the highest
# hard negative 0.54, so the threshold sits between. Version 1 signatures, whose sample order
# is unknown: containment at its old threshold.
GAP_CHARS = 20
ISLAND_RATIO = 1.0
COVERAGE_THRESHOLD = 0.7
# A candidate is first checked on an eighth of the sample when that holds this many values.
ROUGH_MIN = 96
CONTAINMENT_THRESHOLD = 0.5
# Below this many normalised characters a text has too few shingles to be told apart.
MIN_CHARS = 60
DEFAULT_WINDOW = timedelta(hours=72)

_NON_WORD = re.compile(r"[\W_]+")
_SURROGATE = re.compile("[\ud800-\udfff]")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_U32 = npt.NDArray[np.uint32]
_Places = npt.NDArray[np.uint16] | npt.NDArray[np.uint32]
_CHUNK = 1024
_HEADER = struct.Struct("<BBHII")  # version, k, num_perm, shingle count, sample length
# 1: sample sorted; 2: sample in the order of the text (the same values, the same layout).
_SORTED, _IN_TEXT_ORDER = 1, 2
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
    try:
        simplified = to_simplified(folded)
    except UnicodeEncodeError:  # a lone surrogate (a JSON escape of half a pair): no letter
        simplified = to_simplified(_SURROGATE.sub("", folded))
    return _NON_WORD.sub("", simplified)


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


def shingle_values(fingerprint: str, k: int = SHINGLE_K) -> _U32:
    """32-bit hashes of the k-character shingles of an already normalised text, in text order."""
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
    return (mixed >> np.uint64(32)).astype(np.uint32)


def _first_of_runs(
    ordered: npt.NDArray[np.uint32] | npt.NDArray[np.uint64],
) -> npt.NDArray[np.bool_]:
    fresh = np.empty(len(ordered), dtype=bool)
    if len(ordered):
        fresh[0] = True
        np.not_equal(ordered[1:], ordered[:-1], out=fresh[1:])
    return fresh


def _unique_sorted(values: _U32) -> _U32:
    # Sort and drop repeats: numpy 2's np.unique hashes first and takes twenty times longer.
    ordered = np.sort(values)
    return ordered[_first_of_runs(ordered)]


def shingle_hashes(fingerprint: str, k: int = SHINGLE_K) -> _U32:
    """Sorted unique 32-bit hashes of the k-character shingles of an already normalised text."""
    return _unique_sorted(shingle_values(fingerprint, k))


def _in_text_order(values: _U32, limit: int) -> _U32:
    """The values up to ``limit`` in text order, repeats included (a repeated sentence is as
    much of the text as any other), unless they pass ``MAX_SAMPLE``: then first occurrences."""
    chosen = values[values <= limit]
    if len(chosen) <= MAX_SAMPLE:
        return chosen
    # (value, position) in one sortable word: the first position of each value sorts first.
    keys = np.sort(
        chosen.astype(np.uint64) << np.uint64(32) | np.arange(len(chosen), dtype=np.uint64)
    )
    first = np.sort(keys[_first_of_runs(keys >> np.uint64(32))] & np.uint64(0xFFFFFFFF))
    return chosen[first]


def _matched(values: _U32, reference: _U32) -> npt.NDArray[np.bool_]:
    """Which of ``values`` (sorted) ``reference`` (sorted) holds."""
    if not len(reference):
        return np.zeros(len(values), dtype=bool)
    at = np.searchsorted(reference, values)  # keys in order: the fast case of a binary search
    at[at == len(reference)] = 0
    found: npt.NDArray[np.bool_] = reference[at] == values
    return found


def _found_share(values: _U32, reference: _U32) -> float:
    return int(np.count_nonzero(_matched(values, reference))) / len(values)


def _bridged(found: npt.NDArray[np.intp], cut: int) -> int:
    """How many unmatched positions lie in gaps worth bridging between the matched ones.

    Matched positions form islands (runs of consecutive ones). A gap between two islands is
    bridged when it is at most ``GAP_CHARS`` characters long (GAP_CHARS * cut / 2**32 sampled
    shingles) and at most ``ISLAND_RATIO`` times the two islands' length together: an edited
    text is long islands with short gaps, while the words two unrelated texts share by chance
    ("according to the", "人工智能") are short islands with long gaps."""
    if len(found) < 2:
        return 0
    breaks = np.flatnonzero(np.diff(found) > 1)
    if not len(breaks):
        return 0
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [len(found) - 1]))
    sizes = ends - starts + 1
    gaps = found[starts[1:]] - found[ends[:-1]] - 1
    short = gaps <= GAP_CHARS * min(cut, 2**32) / 2**32
    bridged = short & (gaps <= ISLAND_RATIO * (sizes[:-1] + sizes[1:]))
    return int(gaps[bridged].sum())


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
    # One buffer, products and sums in place: the temporaries cost as much as the arithmetic.
    buffer = np.empty((NUM_PERM, min(_CHUNK, len(mixed))), dtype=np.uint32)
    with np.errstate(over="ignore"):
        for start in range(0, len(mixed), _CHUNK):  # chunks keep the 128-row product in cache
            chunk = mixed[None, start : start + _CHUNK]
            product = buffer[:, : chunk.shape[1]]
            np.multiply(a[:, None], chunk, out=product)
            np.add(product, b[:, None], out=product)
            np.minimum(values, product.min(axis=1), out=values)
    return values


@dataclass(frozen=True, eq=False)
class StorySignature:
    """What a story's text leaves behind: MinHash values, shingle count, coordinated sample.

    The sample is kept sorted (``values``, what comparing needs most) with where each value
    stands in the text (``places``); a version 1 signature has no ``places``: its order is
    unknown, and so are its coverage and its lead."""

    hashvalues: _U32
    shingle_count: int
    values: _U32
    places: _Places | None
    k: int = SHINGLE_K

    @classmethod
    def of(cls, text: str) -> StorySignature:
        fp = fingerprint_text(text)
        k = shingle_size(fp)
        values = shingle_values(fp, k)
        hashes = _unique_sorted(values)
        below = int(np.searchsorted(hashes, SAMPLE_CUT))
        kept = min(MAX_SAMPLE, max(SAMPLE_SIZE, below), len(hashes))
        sample = _in_text_order(values, int(hashes[kept - 1])) if kept else hashes
        return cls.sampled(minhash_values(hashes), len(hashes), sample, k)

    @classmethod
    def sampled(
        cls, hashvalues: _U32, shingle_count: int, sample: _U32, k: int, in_text_order: bool = True
    ) -> StorySignature:
        """From a sample as stored: in the order of the text, or sorted (version 1)."""
        if not in_text_order:
            return cls(hashvalues, shingle_count, sample, None, k)
        order = np.argsort(sample)
        places: _Places = (
            order.astype(np.uint16) if len(order) <= 2**16 else order.astype(np.uint32)
        )
        return cls(hashvalues, shingle_count, sample[order], places, k)

    @property
    def in_text_order(self) -> bool:
        return self.places is not None

    @property
    def sample(self) -> _U32:
        """The sample as stored: in the order of the text, or sorted for version 1."""
        if self.places is None:
            return self.values
        sample = np.empty_like(self.values)
        sample[self.places] = self.values
        return sample

    def to_bytes(self) -> bytes:
        """Compact little-endian form for a database column (12 B + 4 B per value)."""
        version = _IN_TEXT_ORDER if self.in_text_order else _SORTED
        head = _HEADER.pack(
            version, self.k, len(self.hashvalues), self.shingle_count, len(self.values)
        )
        return head + self.hashvalues.astype("<u4").tobytes() + self.sample.astype("<u4").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> StorySignature:
        if len(data) < _HEADER.size:
            raise ValueError("truncated signature")
        version, k, num_perm, count, sample_len = _HEADER.unpack_from(data)
        if version not in (_SORTED, _IN_TEXT_ORDER):
            raise ValueError(f"unknown signature version {version}")
        if len(data) != _HEADER.size + 4 * (num_perm + sample_len):
            raise ValueError("truncated or oversized signature")
        body = np.frombuffer(data, dtype="<u4", offset=_HEADER.size).astype(np.uint32)
        sample = body[num_perm:].copy()
        if version == _SORTED:
            sample.sort()  # as written; a damaged row must not break the binary searches
        return cls.sampled(body[:num_perm].copy(), count, sample, k, version == _IN_TEXT_ORDER)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StorySignature):
            return NotImplemented
        return (
            self.shingle_count == other.shingle_count
            and self.k == other.k
            and self.in_text_order == other.in_text_order
            and np.array_equal(self.hashvalues, other.hashvalues)
            and np.array_equal(self.sample, other.sample)
        )

    __hash__ = None  # type: ignore[assignment]  # mutable numpy payload: no hashing

    @functools.cached_property
    def lead(self) -> _U32 | None:
        """MinHash of the sampled shingles of the text's first ``LEAD_CHARS`` characters (below
        ``SAMPLE_CUT``, which every sample holds), or None when the order is unknown."""
        if not self.in_text_order:
            return None
        sample = self.sample
        return minhash_values(sample[sample < SAMPLE_CUT][: LEAD_CHARS // SAMPLE_RATE])

    @functools.cached_property
    def _known_up_to(self) -> int:
        """The hash up to which the sample holds every hash of the text (2**32: all of them)."""
        if np.count_nonzero(_first_of_runs(self.values)) < self.shingle_count:
            return int(self.values[-1]) if len(self.values) else 0
        return 2**32

    @property
    def long_enough(self) -> bool:
        return self.shingle_count >= MIN_CHARS - self.k + 1

    def _cut(self, other: StorySignature) -> tuple[int, int, int]:
        """The common cut of two samples and how many of each sample's values it keeps."""
        cut = min(self._known_up_to, other._known_up_to)
        if cut >= 2**32:
            return cut, len(self.values), len(other.values)
        return (
            cut,
            int(np.searchsorted(self.values, cut, side="right")),
            int(np.searchsorted(other.values, cut, side="right")),
        )

    def containment(self, other: StorySignature) -> float:
        """Estimated |A∩B| / min(|A|, |B|) from the two coordinated samples."""
        if self.k != other.k:
            return 0.0
        _, n_mine, n_theirs = self._cut(other)
        mine, theirs = self.values[:n_mine], other.values[:n_theirs]
        mine, theirs = mine[_first_of_runs(mine)], theirs[_first_of_runs(theirs)]
        smaller = min(len(mine), len(theirs))
        if not smaller:
            return 0.0
        return len(np.intersect1d(mine, theirs, assume_unique=True)) / smaller

    def coverage(self, other: StorySignature) -> float | None:
        """Estimated share of the smaller text found in the other one, unmatched runs of at most
        ``GAP_CHARS`` characters between matched shingles included; None when the smaller one
        is a version 1 signature."""
        overlap = self.overlap(other)
        return None if overlap is None else overlap[0]

    def overlap(self, other: StorySignature, floor: float = 0.0) -> tuple[float, float] | None:
        """(coverage, the share of the smaller text's shingles found, no gap bridged); None when
        the smaller one is a version 1 signature. A pair that cannot reach ``floor`` may be
        scored roughly, below it: coverage is at most 1 + 2 * ISLAND_RATIO times the share
        found (each bridged gap is at most ISLAND_RATIO times the islands beside it), so a share
        found, or estimated on an eighth of the sample, too small for the floor ends there."""
        if self.k != other.k:
            return 0.0, 0.0
        cut, n_mine, n_theirs = self._cut(other)
        smaller, n, reference = (
            (self, n_mine, other.values[:n_theirs])
            if n_mine <= n_theirs
            else (other, n_theirs, self.values[:n_mine])
        )
        if smaller.places is None:
            return None
        if not n or not len(reference):
            return 0.0, 0.0
        values, places = smaller.values[:n], smaller.places[:n]
        needed = floor / (1 + 2 * ISLAND_RATIO)
        if needed > 0:
            # Most candidates are unrelated: an eighth of the sample (the same eighth of both
            # texts) tells them, unless it is too small to tell anything.
            eighth = min(cut, 2**32) // 8
            few = values[: int(np.searchsorted(values, eighth, side="right"))]
            if len(few) >= ROUGH_MIN:
                rough = _found_share(few, reference[: np.searchsorted(reference, eighth, "right")])
                # Three standard errors at most (each at most 0.5 / sqrt(len(few))) below.
                if rough + 1.5 / np.sqrt(len(few)) < needed:
                    return rough, rough
        matched = _matched(values, reference)
        hit = np.zeros(len(smaller.values), dtype=bool)
        hit[places[matched]] = True
        if n < len(smaller.values):  # the sequence compared: the sample's values up to the cut
            in_cut = np.zeros(len(smaller.values), dtype=bool)
            in_cut[places] = True
            hit = hit[in_cut]
        found = np.flatnonzero(hit)
        share = len(found) / n
        if share * (1 + 2 * ISLAND_RATIO) < floor:
            return share, share
        return (len(found) + _bridged(found, cut)) / n, share


@dataclass
class _Entry:
    story_id: int
    when: datetime
    signature: StorySignature


@dataclass
class StoryIndex:
    """Recent stories' signatures, matched by LSH candidates confirmed by coverage.

    One story may hold several entries (each article merged into it), so a repost of any of
    them finds the story. Each entry sits in the LSH twice, by its whole text and by its lead
    (under key ``~key``). Entries more than ``window`` older than the newest one added are
    dropped as others arrive, so memory follows the window, not the uptime.
    """

    window: timedelta = DEFAULT_WINDOW
    lsh_threshold: float = LSH_THRESHOLD
    coverage_threshold: float = COVERAGE_THRESHOLD
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
        for probe, minhash in _probes(signature, key):
            self._lsh.insert(probe, minhash, check_duplication=False)
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
        oldest, newest = when - self.window, when + self.window
        best: tuple[tuple[float, float], int] | None = None
        seen: set[int] = set()
        # The lead is probed only when the whole text finds nothing: a flash, a long story
        # after its flash, a repost with most of the text dropped.
        for _, minhash in _probes(signature):
            for key in {probe if probe >= 0 else ~probe for probe in self._lsh.query(minhash)}:
                entry = self._entries[key]
                if key in seen or not oldest <= entry.when <= newest:
                    continue
                seen.add(key)
                score = self._score(signature, entry.signature)
                if score is not None and (best is None or score > best[0]):
                    best = (score, entry.story_id)
            if best is not None:
                break
        return None if best is None else best[1]

    def _score(
        self, signature: StorySignature, other: StorySignature
    ) -> tuple[float, float] | None:
        """How much the two texts share, when it is enough to be one story, else None: coverage,
        then the share found without bridging, which tells apart two stories that both hold a
        short text (a headline can be told again in another outlet's article on the event)."""
        overlap = signature.overlap(other, self.coverage_threshold)
        if overlap is not None:
            return overlap if overlap[0] >= self.coverage_threshold else None
        contained = signature.containment(other)  # a version 1 signature: its old rule
        return (contained, contained) if contained >= CONTAINMENT_THRESHOLD else None

    def expire(self, before: datetime) -> int:
        """Forget entries added for times before ``before``; returns how many."""
        removed = 0
        while self._by_time and self._by_time[0][0] < before:
            _, key = heapq.heappop(self._by_time)
            entry = self._entries.pop(key)
            if entry.signature.long_enough:
                self._lsh.remove(key)
                if entry.signature.in_text_order:  # it has a lead (see _probes)
                    self._lsh.remove(~key)
            removed += 1
        return removed


def _probes(signature: StorySignature, key: int = 0) -> Iterator[tuple[int, LeanMinHash]]:
    """LSH keys and MinHashes of a signature, made as they are asked for: its whole text under
    ``key``, its lead under ``~key``; none for a text too short to be told apart."""
    if not signature.long_enough:
        return
    yield key, _lean(signature.hashvalues)
    if signature.lead is not None:  # every signature in text order has one
        yield ~key, _lean(signature.lead)


def _lean(hashvalues: _U32) -> LeanMinHash:
    return LeanMinHash(seed=SEED, hashvalues=hashvalues, scheme="affine32")

"""Near-duplicate matching: repost variants of the shared corpora merge, hard negatives do not.

The corpora are read from ../shared/data at test time (never copied into the repository); the
variants are generated here with a seeded RNG. Run with -s to see the figures.
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from datasketch import MinHash

from newsbrief.articles.dedup import (
    MAX_SAMPLE,
    NUM_PERM,
    SEED,
    StoryIndex,
    StorySignature,
    fingerprint_text,
    minhash_values,
    nfkc,
    shingle_hashes,
    shingle_size,
)
from newsbrief.text.chinese import to_traditional
from tests.conftest import SEED_SHAPED

T0 = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)

ADS_ZH = [
    "【广告】注册币安合约交易，新用户立享首单手续费全免，扫码下载App领取百元体验金！",
    "热门推荐：比特币今日行情走势分析，点击进入直播间与万名投资者一起交流。",
    "关注我们的公众号，每天早上八点准时推送科技圈最新动态，不错过任何一条重磅消息。",
]
FOOTER_ZH = [
    "免责声明：本文仅代表作者个人观点，不构成任何投资建议，转载请注明出处。",
    "版权所有©2026 某某科技网 京ICP备12345678号 友情链接：财经头条 区块链日报 科技前线",
]
ADS_EN = [
    "ADVERTISEMENT: Trade crypto with zero fees for thirty days - sign up today and claim your bonus.",
    "Sponsored: The five gadgets every remote worker needs this year, ranked by our editors.",
    "Subscribe to our morning newsletter for the day's biggest stories in your inbox.",
]
FOOTER_EN = [
    "Copyright 2026 Example Media Group. All rights reserved. Do not republish without permission.",
    "Related links: Markets | Technology | Opinion | Contact us | Privacy policy | Terms of use",
]


def load_corpus(shared: Path) -> list[tuple[str, str]]:
    """(language, text) of every ground-truth page, Chinese then English."""
    data = shared / "data"
    zh = sorted((data / "extraction_zh" / "cleaned").glob("*.txt"))
    pages = [("zh", p.read_text(encoding="utf-8")) for p in zh]
    truth = json.loads((data / "extraction_en" / "ground-truth.json").read_text(encoding="utf-8"))
    pages += [("en", truth[key]["articleBody"]) for key in sorted(truth)]
    return [(lang, text) for lang, text in pages if len(fingerprint_text(text)) >= 150]


def paragraphs(text: str) -> list[str]:
    """Blank-line paragraphs; lines, then sentences, for pages written as one block."""
    for pattern in (r"\n\s*\n", r"\n", r"(?<=[。！？.!?])"):
        parts = [p.strip() for p in re.split(pattern, text) if p.strip()]
        if len(parts) >= 3:
            return parts
    return [text]


def with_ads(text: str, lang: str, rng: random.Random) -> str:
    ads, footer = (ADS_ZH, FOOTER_ZH) if lang == "zh" else (ADS_EN, FOOTER_EN)
    return "\n\n".join([*rng.sample(ads, 2), text, *footer])


def with_edits(text: str, lang: str, rng: random.Random) -> str:
    chars = list(text)
    rate = rng.uniform(0.02, 0.08)
    for _ in range(max(1, round(rate * len(chars)))):
        i = rng.randrange(len(chars))
        op = rng.choice(("substitute", "insert", "delete"))
        if op == "delete":
            del chars[i]
        elif op == "insert":
            chars.insert(i, rng.choice(chars))
        else:
            chars[i] = rng.choice(chars)
    return "".join(chars)


def drop_paragraph(text: str, lang: str, rng: random.Random) -> str:
    parts = paragraphs(text)
    del parts[rng.randrange(len(parts))]
    return "\n\n".join(parts)


def cut(text: str, lang: str, rng: random.Random) -> str:
    return text[: int(len(text) * 0.7)]


def traditional(text: str, lang: str, rng: random.Random) -> str:
    return to_traditional(text)


VARIANTS: dict[str, Callable[[str, str, random.Random], str]] = {
    "ads+footer": with_ads,
    "edits 2-8%": with_edits,
    "dropped paragraph": drop_paragraph,
    "cut to 70%": cut,
    "traditional": traditional,
}


def excerpts(text: str, length: int, count: int, rng: random.Random) -> list[str]:
    """`count` non-overlapping excerpts of `length` characters at random places."""
    free = len(text) - count * length
    starts = sorted(rng.sample(range(free + 1), count)) if free + 1 >= count else [0] * count
    return [text[start + n * length : start + (n + 1) * length] for n, start in enumerate(starts)]


def hard_negative(sources: list[str], rng: random.Random) -> str:
    """Five paragraphs: two from page A, two from page B, one from page C, shuffled.

    Paragraphs are excerpts of the normalised pages (what matching compares), each a fifth of
    the shortest source: every source supplies at most 40 % of the negative and the negative
    holds at most 40 % of every source, so by containment in either direction it is a repost of
    none of them, though it shares two paragraphs with two pages.
    """
    texts = [fingerprint_text(s) for s in sources]
    length = min(len(t) for t in texts) // 5
    parts = [*excerpts(texts[0], length, 2, rng), *excerpts(texts[1], length, 2, rng)]
    parts += excerpts(texts[2], length, 1, rng)
    rng.shuffle(parts)
    return "\n\n".join(parts)


def exact_containment(a: str, b: str) -> float:
    fa, fb = fingerprint_text(a), fingerprint_text(b)
    ha, hb = (
        set(shingle_hashes(fa, shingle_size(fa)).tolist()),
        set(shingle_hashes(fb, shingle_size(fb)).tolist()),
    )
    return len(ha & hb) / max(1, min(len(ha), len(hb)))


def test_reposts_merge_and_hard_negatives_do_not(shared: Path) -> None:
    corpus = load_corpus(shared)
    rng = random.Random(20260101)
    index = StoryIndex()
    for story_id, (_, text) in enumerate(corpus):
        index.add(story_id, text, T0)

    found: Counter[str] = Counter()
    wrong: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for story_id, (lang, text) in enumerate(corpus):
        for kind, make in VARIANTS.items():
            if kind == "traditional" and lang != "zh":
                continue
            got = index.match(make(text, lang, rng), T0 + timedelta(hours=1))
            total[kind] += 1
            found[kind] += got == story_id
            wrong[kind] += got is not None and got != story_id

    by_lang: dict[str, list[int]] = {}
    for story_id, (lang, _) in enumerate(corpus):
        by_lang.setdefault(lang, []).append(story_id)
    negatives = merged = skipped = 0
    for ids in by_lang.values():
        for _ in range(3 * len(ids)):
            picked = rng.sample(ids, 3)
            negative = hard_negative([corpus[i][1] for i in picked], rng)
            # Pages that repeat themselves can end up mostly inside a negative: those are
            # reposts by any measure, so only true negatives are kept.
            if max(exact_containment(negative, corpus[i][1]) for i in picked) > 0.45:
                skipped += 1
                continue
            negatives += 1
            merged += index.match(negative, T0 + timedelta(hours=1)) is not None

    print(f"\ndedup: {len(corpus)} originals indexed")
    for kind in VARIANTS:
        print(f"  {kind:18} recall {found[kind] / total[kind]:.3f} ({found[kind]}/{total[kind]})")
    recall = sum(found.values()) / sum(total.values())
    print(
        f"  overall recall {recall:.3f}; variants matched to a wrong original: {sum(wrong.values())}"
    )
    print(f"  hard negatives (2+2+1 paragraphs of 3 pages): {merged} of {negatives} merged")
    print(f"  ({skipped} candidates skipped: over 45 % of a source's shingles by exact count)")
    assert recall >= 0.95
    assert all(found[kind] / total[kind] >= 0.9 for kind in VARIANTS)
    assert sum(wrong.values()) == 0
    assert negatives >= 200 and merged == 0


def test_unrelated_articles_do_not_match(shared: Path) -> None:
    corpus = load_corpus(shared)
    index = StoryIndex()
    half = len(corpus) // 2
    for story_id, (_, text) in enumerate(corpus[:half]):
        index.add(story_id, text, T0)
    assert [index.match(text, T0) for _, text in corpus[half:]] == [None] * (len(corpus) - half)


STORY = (
    "据新华社报道，国内多家人工智能公司今日联合发布了新一代大语言模型开放平台，"
    "开发者可以免费调用模型接口，平台同时提供中文语料清洗工具和安全评测服务。"
    "业内人士认为，这一举措将显著降低中小企业接入大模型的门槛，加快应用落地。"
)


def test_a_repost_matches_and_a_fresh_story_does_not() -> None:
    index = StoryIndex()
    index.add(7, STORY, T0)
    assert index.match("【转载】" + STORY + "责任编辑：小明", T0) == 7
    assert index.match(to_traditional(STORY), T0) == 7
    assert index.match("比特币价格今日大幅上涨，" * 10, T0) is None


def test_short_texts_never_match() -> None:
    index = StoryIndex()
    short = "OpenAI 发布新模型，性能大幅提升"
    index.add(1, short, T0)
    index.add(2, STORY, T0)
    assert index.match(short, T0) is None
    assert index.match(STORY[:50], T0) is None
    assert index.match(STORY, T0) == 2


def test_expiry_by_window_and_by_call() -> None:
    index = StoryIndex(window=timedelta(hours=72))
    index.add(1, STORY, T0)
    assert index.match(STORY, T0 + timedelta(hours=71)) == 1
    # Too far from the stored story in time, even before anything is expired.
    assert index.match(STORY, T0 + timedelta(hours=73)) is None
    assert index.expire(T0 - timedelta(seconds=1)) == 0
    assert index.expire(T0 + timedelta(seconds=1)) == 1
    assert len(index) == 0 and index.match(STORY, T0) is None
    # Adding a story 72 h later drops the older ones on its own.
    index.add(2, STORY, T0)
    index.add(3, "另一条完全不同的新闻：" + "天气晴朗，适合出游。" * 10, T0 + timedelta(hours=80))
    assert len(index) == 1
    # An item older than the window, arriving late, is not kept.
    index.add(4, STORY, T0)
    assert len(index) == 1


def test_signature_round_trip_and_rebuild() -> None:
    signature = StorySignature.of(STORY * 20)
    data = signature.to_bytes()
    assert len(data) <= 12 + 4 * (128 + MAX_SAMPLE)
    again = StorySignature.from_bytes(data)
    assert again == signature and again.shingle_count == signature.shingle_count
    for broken in (data[:-1], data[:5], data + b"\0"):
        with pytest.raises(ValueError):
            StorySignature.from_bytes(broken)

    rebuilt = StoryIndex()
    rebuilt.load([(5, StorySignature.from_bytes(StorySignature.of(STORY).to_bytes()), T0)])
    assert rebuilt.match(STORY + "（完）", T0) == 5


def test_signatures_are_stable_across_processes() -> None:
    # Fixed hashing, not PYTHONHASHSEED-dependent hash(): stored signatures must stay valid.
    assert shingle_hashes("abcdefg", 5).tolist() == [305277425, 1530678953, 2139872733]
    assert shingle_size("abcdefg") == 7 and shingle_size("中文abc") == 5


def test_fingerprint_text() -> None:
    assert fingerprint_text("Ｈｅｌｌｏ, 世界！ 發展") == "hello世界发展"


def test_nfkc_is_unicodedata_nfkc() -> None:
    """The fast path must give exactly what ``unicodedata.normalize`` gives, marks and jamo
    (which combine with their neighbours) included."""
    texts = SEED_SHAPED.read_text(encoding="utf-8").splitlines()
    rng = random.Random(3)
    pool = [chr(c) for c in range(0x20, 0x3400)] + [chr(c) for c in range(0xF900, 0xFFFF)]
    pool += list("，：ｶﾞﾟ가각ᄀ하ᅡᆨ①ée\u0301Å")
    texts += ["".join(rng.choice(pool) for _ in range(rng.randint(1, 12))) for _ in range(5000)]
    texts += ["ｶﾞ", "e\u0301", "가\u11a8", "全角，标点：（１２）", "plain ascii", ""]
    assert [nfkc(t) for t in texts] == [unicodedata.normalize("NFKC", t) for t in texts]


def test_minhash_values_are_datasketch_minhash() -> None:
    """Stored signatures stay comparable: the vectorised MinHash is datasketch's affine32 one."""
    for text in ["", "短", STORY, STORY * 30, "The quick brown fox jumps over the lazy dog" * 9]:
        hashes = shingle_hashes(fingerprint_text(text), shingle_size(fingerprint_text(text)))
        reference = MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=int, scheme="affine32")
        if len(hashes):
            reference.update_batch(hashes.tolist())
        assert minhash_values(hashes).tolist() == reference.hashvalues.tolist()

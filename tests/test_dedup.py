"""Near-duplicate matching: repost variants of the shared corpora merge, hard negatives do not.

The corpora are read from ../shared/data at test time (never copied into the repository); the
variants are generated here with a seeded RNG, and bench/quality_dedup.py prints their figures
(recall per kind, scores, margin) on the dev and held-out parts. Run with -s to see the figures.

A page is its title and its main text, as the process stage signs them. Variant kinds:

- ``ads+footer``: two ad paragraphs on top, a disclaimer and a links footer below;
- ``edits 2-8%``: characters substituted, inserted or deleted at random places;
- ``dropped paragraph``, ``cut to 70%``; ``traditional`` (Chinese pages): Traditional script;
- ``promo line``: one line on top with an exchange's brand, slogan and call to sign up;
- ``摘要 echo``: a "摘要:"/"Summary:" line under the title repeating the body's opening, cut;
- ``footer``: a site's copyright, disclaimer, related-reading and friendly-links lines;
- ``seed-shaped``: all of that the way ../shared/seed has it (brands and slogans on lines of
  their own, title, date and view count, 摘要 echo, body, copyright, 友情链接), and the same in
  Traditional script for Chinese pages;
- ``flash: headline``: the title alone, where it is long enough to be matched at all;
- ``flash: headline+lead``: the title and the body's first sentences, 80 to 200 characters.

Hard negatives, none of which may merge: five paragraphs from three pages (2+2+1), and pages of
one site: different stories in the same promo lines and footer, the site's other pages indexed.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import json
import random
import re
import struct
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from datasketch import MinHash

from newsbrief.articles.dedup import (
    MAX_SAMPLE,
    MIN_CHARS,
    NUM_PERM,
    SEED,
    StoryIndex,
    StorySignature,
    fingerprint_text,
    minhash_values,
    nfkc,
    shingle_hashes,
    shingle_size,
    shingle_values,
)
from newsbrief.text.chinese import to_traditional
from tests.conftest import SEED_SHAPED, seed_parts

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

# Parts that promo lines and site footers are assembled from, so no two sites share a string.
BRANDS = {
    "zh": ["币安(Binance)", "欧易(OKX)", "火币(HTX)", "芝麻开门(Gate)", "Bitget", "抹茶(MEXC)"],
    "en": ["Binance", "OKX", "Kraken", "Bybit", "Bitget", "Gate.io"],
}
SLOGANS = {
    "zh": [
        "全球用户最多的交易所",
        "国内用户最喜爱的合约交易所",
        "全球知名的比特币交易所",
        "安全稳定的数字资产交易平台",
        "新一代智能合约交易平台",
    ],
    "en": [
        "The world's most trusted crypto exchange",
        "Trade 350+ coins with the lowest fees",
        "The home of crypto derivatives",
        "Buy Bitcoin in under a minute",
    ],
}
CALLS = {
    "zh": [
        "新人注册即送100USDT",
        "扫码下载APP领取盲盒",
        "点击注册享手续费八折",
        "立即开户领新人礼包",
    ],
    "en": ["Sign up and get a $100 bonus", "Download the app today", "Register now for zero fees"],
}
SITE_WORDS = {
    "zh": ["币圈", "链闻", "科技", "财经", "区块", "元宇宙", "数字", "创投"],
    "en": ["Crypto", "Chain", "Tech", "Coin", "Block", "Market", "Ledger", "Daily"],
}
SITE_TAILS = {
    "zh": ["社群", "日报", "头条", "前线", "之家", "快讯", "观察"],
    "en": ["News", "Wire", "Times", "Brief", "Insider", "Post", "Report"],
}

_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.S | re.I)
# Site names after a title: "标题_新浪网", "Title - Site", "Title | Site".
_SITE_SUFFIX = re.compile(r"\s*(?:\s[-|–—]\s|_|--|&raquo;).*$")


@dataclass(frozen=True)
class Page:
    key: str
    """What bench/holdout.py splits on: the page's file stem."""
    lang: str
    title: str
    text: str

    @property
    def story(self) -> str:
        """What the process stage signs: the title, then the text."""
        return f"{self.title}\n{self.text}"


def _title(raw: bytes) -> str:
    found = _TITLE.search(raw)
    if not found:
        return ""
    for encoding in ("utf-8", "gb18030"):
        try:
            title = html.unescape(found[1].decode(encoding))
            break
        except UnicodeDecodeError:
            continue
    else:
        return ""
    title = " ".join(title.split())
    head = _SITE_SUFFIX.sub("", title)
    return head if len(head) >= 6 else title


def load_corpus(shared: Path) -> list[Page]:
    """Every ground-truth page with its title, Chinese then English."""
    data = shared / "data"
    pages = []
    for path in sorted((data / "extraction_zh" / "cleaned").glob("*.txt")):
        page = data / "extraction_zh" / "original" / f"{path.stem}.html"
        title = _title(page.read_bytes()) if page.exists() else ""
        pages.append(Page(path.stem, "zh", title, path.read_text(encoding="utf-8")))
    truth = json.loads((data / "extraction_en" / "ground-truth.json").read_text(encoding="utf-8"))
    for key in sorted(truth):
        page = data / "extraction_en" / "html" / f"{key}.html.gz"
        title = _title(gzip.decompress(page.read_bytes())) if page.exists() else ""
        pages.append(Page(key, "en", title, truth[key]["articleBody"]))
    return [page for page in pages if len(fingerprint_text(page.text)) >= 150]


def paragraphs(text: str) -> list[str]:
    """Blank-line paragraphs; lines, then sentences, for pages written as one block."""
    for pattern in (r"\n\s*\n", r"\n", r"(?<=[。！？.!?])"):
        parts = [p.strip() for p in re.split(pattern, text) if p.strip()]
        if len(parts) >= 3:
            return parts
    return [text]


def sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[。！？!?])|(?<=\.)\s", text) if s.strip()]


def with_ads(page: Page, rng: random.Random) -> str:
    ads, footer = (ADS_ZH, FOOTER_ZH) if page.lang == "zh" else (ADS_EN, FOOTER_EN)
    return "\n\n".join([*rng.sample(ads, 2), page.story, *footer])


def with_edits(page: Page, rng: random.Random) -> str:
    return edited(page.story, rng.uniform(0.02, 0.08), rng)


def edited(text: str, rate: float, rng: random.Random) -> str:
    """``text`` with a share ``rate`` of its characters substituted, inserted or deleted."""
    chars = list(text)
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


def drop_paragraph(page: Page, rng: random.Random) -> str:
    parts = paragraphs(page.text)
    del parts[rng.randrange(len(parts))]
    return "\n\n".join([page.title, *parts])


def cut(page: Page, rng: random.Random) -> str:
    return page.story[: int(len(page.story) * 0.7)]


def traditional(page: Page, rng: random.Random) -> str | None:
    return to_traditional(page.story) if page.lang == "zh" else None


def promo_line(lang: str, rng: random.Random) -> str:
    """An exchange's brand, slogan and call on one line, as reposting sites put on top."""
    sep = rng.choice(["", " ", "｜", " | "] if lang == "zh" else [" ", " - ", " | "])
    return sep.join([rng.choice(BRANDS[lang]), rng.choice(SLOGANS[lang]), rng.choice(CALLS[lang])])


def site_name(lang: str, rng: random.Random) -> str:
    joiner = "" if lang == "zh" else " "
    return joiner.join([rng.choice(SITE_WORDS[lang]), rng.choice(SITE_TAILS[lang])])


def site_footer(lang: str, rng: random.Random) -> list[str]:
    """A site's footer lines: copyright, disclaimer, related reading, friendly links."""
    name, links = site_name(lang, rng), [site_name(lang, rng) for _ in range(3)]
    if lang == "zh":
        wechat = "".join(rng.choice("abcdefghkmnpqrstuvwxyz0123456789") for _ in range(7))
        lines = [
            f"版权声明：本站所有文章皆是来自互联网，如内容侵权可以联系我们（微信：{wechat}）删除！",
            f"免责声明：{name}发布的内容不代表本站观点，不构成任何投资建议。",
            f"相关阅读：{rng.choice(SLOGANS['zh'])}？{name}带你了解",
            "友情链接 " + " ".join(links),
        ]
    else:
        lines = [
            f"© {rng.randint(2015, 2026)} {name}. All rights reserved.",
            f"Disclaimer: {name} does not give investment advice. Do your own research.",
            f"Related reading: {rng.choice(SLOGANS['en'])}? {name} explains",
            "Partner sites: " + " | ".join(links),
        ]
    return rng.sample(lines, rng.randint(2, len(lines)))


def summary_echo(page: Page) -> str:
    """The "摘要" line of the seed: the body's opening cut at 100 characters (200 in English)."""
    body = " ".join(page.text.split())
    return f"摘要:{body[:100]}..." if page.lang == "zh" else f"Summary: {body[:200]}..."


def with_promo(page: Page, rng: random.Random) -> str:
    return "\n".join([promo_line(page.lang, rng), page.story])


def with_echo(page: Page, rng: random.Random) -> str:
    return "\n".join([page.title, summary_echo(page), page.text])


def with_footer(page: Page, rng: random.Random) -> str:
    return "\n".join([page.story, *site_footer(page.lang, rng)])


def seed_shaped(page: Page, rng: random.Random) -> str:
    """The page the way ../shared/seed has it."""
    lang = page.lang
    top = []
    for brand in rng.sample(BRANDS[lang], 3):
        top += [brand.split("(")[0], brand, rng.choice(SLOGANS[lang])]
    when = f"2026-0{rng.randint(1, 9)}-{rng.randint(10, 28)} {rng.randint(10, 23)}:{rng.randint(10, 59)}"
    dateline = f"{when} {rng.randint(100, 9999)}"
    return "\n\n".join(
        [*top, page.title, dateline, summary_echo(page), page.text, *site_footer(lang, rng)]
    )


def seed_shaped_traditional(page: Page, rng: random.Random) -> str | None:
    return to_traditional(seed_shaped(page, rng)) if page.lang == "zh" else None


def headline_flash(page: Page, rng: random.Random) -> str | None:
    """The title alone, where it is long enough to be told apart."""
    return page.title if len(fingerprint_text(page.title)) >= MIN_CHARS else None


def lead_flash(page: Page, rng: random.Random) -> str | None:
    """The title and the body's first sentences: 80 to 200 normalised characters."""
    parts = [page.title]
    for sentence in sentences(page.text):
        if len(fingerprint_text("".join(parts))) >= 80:
            break
        parts.append(sentence)
    flash = "\n".join(parts)
    return flash if 80 <= len(fingerprint_text(flash)) <= 200 else None


Variant = Callable[[Page, random.Random], str | None]
VARIANTS: dict[str, Variant] = {
    "ads+footer": with_ads,
    "edits 2-8%": with_edits,
    "dropped paragraph": drop_paragraph,
    "cut to 70%": cut,
    "traditional": traditional,
    "promo line": with_promo,
    "摘要 echo": with_echo,
    "footer": with_footer,
    "seed-shaped": seed_shaped,
    "seed-shaped trad.": seed_shaped_traditional,
    "flash: headline": headline_flash,
    "flash: headline+lead": lead_flash,
}
"""Repost kinds; a kind that does not apply to a page (Traditional script of an English page, a
headline too short to match) gives None."""


def variants(corpus: list[Page], seed: int) -> list[tuple[int, str, str]]:
    """(index of the original, kind, text) of every variant of every page."""
    rng = random.Random(seed)
    made = []
    for number, page in enumerate(corpus):
        for kind, make in VARIANTS.items():
            text = make(page, rng)
            if text is not None:
                made.append((number, kind, text))
    return made


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


def paragraph_negatives(corpus: list[Page], seed: int) -> tuple[list[tuple[list[int], str]], int]:
    """Hard negatives of 2+2+1 paragraphs of three pages of one language (three per page), with
    the pages they come from, and how many candidates were skipped."""
    rng = random.Random(seed)
    by_lang: dict[str, list[int]] = {}
    for number, page in enumerate(corpus):
        by_lang.setdefault(page.lang, []).append(number)
    made, skipped = [], 0
    for numbers in by_lang.values():
        for _ in range(3 * len(numbers)):
            picked = rng.sample(numbers, 3)
            negative = hard_negative([corpus[i].story for i in picked], rng)
            # Pages that repeat themselves can end up mostly inside a negative: those are
            # reposts by any measure, so only true negatives are kept.
            if max(exact_containment(negative, corpus[i].story) for i in picked) > 0.45:
                skipped += 1
                continue
            made.append((picked, negative))
    return made, skipped


@dataclass(frozen=True)
class Site:
    """One site's pages: the same promo lines and footer around different stories."""

    indexed: list[tuple[int, str]]
    """(page index, text) of the site's pages in the index."""
    queries: list[tuple[int, str]]
    """Other stories of the same site: none may merge."""


def site_negatives(corpus: list[Page], seed: int, sites: int = 12) -> list[Site]:
    """Per language, ``sites`` sites of four indexed pages and up to four new ones. The new
    pages are indexed by no site, and none is a near repost of an indexed page (over 30 % of
    its shingles: the same event told by two outlets)."""
    rng = random.Random(seed)
    made = []
    for lang in ("zh", "en"):
        numbers = [i for i, page in enumerate(corpus) if page.lang == lang]
        rng.shuffle(numbers)
        indexed, fresh = numbers[: len(numbers) // 2], numbers[len(numbers) // 2 :]
        fresh = [
            n
            for n in fresh
            if max(exact_containment(corpus[n].story, corpus[i].story) for i in indexed) < 0.3
        ]
        for _ in range(sites):
            promo = [promo_line(lang, rng) for _ in range(rng.randint(1, 2))]
            footer = site_footer(lang, rng)

            def dressed(number: int) -> tuple[int, str]:
                return number, "\n".join([*promo, corpus[number].story, *footer])  # noqa: B023

            made.append(
                Site(
                    [dressed(n) for n in rng.sample(indexed, 4)],
                    [dressed(n) for n in rng.sample(fresh, min(4, len(fresh)))],
                )
            )
    return made


def site_index(sites: list[Site]) -> StoryIndex:
    """Every site's indexed pages, each its own story (ids count on from 10,000)."""
    index = StoryIndex()
    for number, site in enumerate(sites):
        for offset, (_, text) in enumerate(site.indexed):
            index.add(10_000 + 4 * number + offset, text, T0)
    return index


def test_reposts_merge_and_hard_negatives_do_not(shared: Path) -> None:
    corpus = load_corpus(shared)
    index = StoryIndex()
    for story_id, page in enumerate(corpus):
        index.add(story_id, page.story, T0)

    found: Counter[str] = Counter()
    wrong: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for story_id, kind, text in variants(corpus, 20260101):
        got = index.match(text, T0 + timedelta(hours=1))
        total[kind] += 1
        found[kind] += got == story_id
        wrong[kind] += got is not None and got != story_id

    negatives, skipped = paragraph_negatives(corpus, 20260102)
    merged = sum(index.match(text, T0 + timedelta(hours=1)) is not None for _, text in negatives)
    sites = site_negatives(corpus, 20260103)
    by_site = site_index(sites)
    site_queries = [text for site in sites for _, text in site.queries]
    site_merged = sum(
        by_site.match(text, T0 + timedelta(hours=1)) is not None for text in site_queries
    )

    print(f"\ndedup: {len(corpus)} originals indexed")
    for kind in VARIANTS:
        print(f"  {kind:20} recall {found[kind] / total[kind]:.3f} ({found[kind]}/{total[kind]})")
    recall = sum(found.values()) / sum(total.values())
    print(
        f"  overall recall {recall:.3f}; variants matched to a wrong original: {sum(wrong.values())}"
    )
    print(f"  hard negatives (2+2+1 paragraphs of 3 pages): {merged} of {len(negatives)} merged")
    print(f"  ({skipped} candidates skipped: over 45 % of a source's shingles by exact count)")
    print(
        f"  same-site pages (promo and footer shared): {site_merged} of {len(site_queries)} merged"
    )
    assert recall >= 0.99
    assert all(found[kind] / total[kind] >= 0.95 for kind in VARIANTS)
    assert all(total[kind] >= 20 for kind in VARIANTS)
    assert sum(wrong.values()) == 0
    assert len(negatives) >= 200 and merged == 0
    assert len(site_queries) >= 60 and site_merged == 0


def test_unrelated_articles_do_not_match(shared: Path) -> None:
    corpus = load_corpus(shared)
    index = StoryIndex()
    half = len(corpus) // 2
    for story_id, page in enumerate(corpus[:half]):
        index.add(story_id, page.story, T0)
    assert [index.match(page.story, T0) for page in corpus[half:]] == [None] * (len(corpus) - half)


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


OTHER = [
    "国家统计局今天公布的数据显示，上个月全国居民消费价格同比上涨百分之零点七，环比持平，"
    "其中食品价格下降，服务价格稳中有升。",
    "分析人士认为，随着促消费政策持续发力，下半年物价将保持温和回升态势，货币政策仍有空间。",
    "与此同时，工业生产者出厂价格降幅收窄，反映出部分行业供需关系正在改善，企业利润有所修复。",
]
"""Paragraphs of another story, in the register of the seed page."""


def _version_1(signature: StorySignature) -> StorySignature:
    """The signature the code before coverage made of the same text: the sample sorted."""
    return StorySignature.sampled(
        signature.hashvalues,
        signature.shingle_count,
        np.unique(signature.sample),
        signature.k,
        in_text_order=False,
    )


def test_version_1_signatures_load_and_match() -> None:
    """Rows written before coverage (sample sorted, version byte 1) load and still match, by
    containment at their old threshold; the bytes are what that code wrote (pinned digest)."""
    old = _version_1(StorySignature.of(STORY)).to_bytes()
    assert old[0] == 1 and StorySignature.of(STORY).to_bytes()[0] == 2
    assert hashlib.sha1(old).hexdigest() == "67e7b87befe018f91d9b16eb88b15ed683b15890"
    loaded = StorySignature.from_bytes(old)
    assert not loaded.in_text_order and loaded.lead is None
    assert loaded.to_bytes() == old

    index = StoryIndex()
    index.load([(7, loaded, T0)])
    assert index.match("【转载】" + STORY + "责任编辑：小明", T0) == 7
    assert index.match(to_traditional(STORY), T0) == 7
    assert index.match("比特币价格今日大幅上涨，" * 10, T0) is None
    # A stored version 1 repost is matched by a new signature of the original, and the other way.
    reposted = _version_1(StorySignature.of("【转载】" + STORY + "责任编辑：小明"))
    index.add_signature(8, StorySignature.from_bytes(reposted.to_bytes()), T0)
    assert index.match(STORY, T0) in (7, 8)
    both = StoryIndex()
    both.add(9, STORY + "记者 王五", T0)
    assert both.match_signature(loaded, T0) == 9
    # Old and new entries leave the LSH alike (an old one has no lead key).
    assert index.expire(T0 + timedelta(seconds=1)) == 2 and index.match(STORY, T0) is None
    # A damaged row (a count but no sample) loads and matches nothing.
    header = struct.pack("<BBHII", 2, 5, NUM_PERM, 100, 0)
    empty = StorySignature.from_bytes(header + old[12 : 12 + 4 * NUM_PERM])
    assert both.match_signature(empty, T0) is None


def test_coverage_bridges_edits_but_not_shared_paragraphs(seed_page: Path) -> None:
    """Edits spoil the shingles around them: containment drops, coverage does not. A page that
    holds two of another page's paragraphs and three of its own is covered only there."""
    _, headline, body, _ = seed_parts(seed_page)
    story = "\n".join([headline, *body])
    rng = random.Random(5)
    original, repost = StorySignature.of(story), StorySignature.of(edited(story, 0.08, rng))
    assert repost.containment(original) < 0.75
    coverage = repost.coverage(original)
    assert coverage is not None and coverage > 0.85

    mixed = StorySignature.of("\n".join([body[1], OTHER[0], body[3], *OTHER[1:]]))
    shared = mixed.coverage(original)
    assert shared is not None and shared < 0.6
    index = StoryIndex()
    index.add(1, story, T0)
    assert index.match_signature(repost, T0) == 1 and index.match_signature(mixed, T0) is None


def test_a_flash_and_its_story_merge_in_either_order(seed_page: Path) -> None:
    """A flash (the headline and the opening sentence) has a small Jaccard similarity with its
    long story; the lead probe finds it whichever comes first."""
    _, headline, body, _ = seed_parts(seed_page)
    # The fixture's body is short for a story: a long one goes on in characters of its own.
    rng = random.Random(3)
    more = "".join(rng.choice("".join(body)) for _ in range(1500))
    story = "\n".join([headline, *body, more])
    flash = f"{headline}\n{sentences(body[0])[0]}"
    assert len(fingerprint_text(flash)) < len(fingerprint_text(story)) / 20
    story_first = StoryIndex()
    story_first.add(1, story, T0)
    assert story_first.match(flash, T0) == 1
    flash_first = StoryIndex()
    flash_first.add(2, flash, T0)
    assert flash_first.match(story, T0) == 2
    assert flash_first.match(STORY, T0) is None and story_first.match(STORY, T0) is None


def test_same_site_promo_and_footer_do_not_merge_stories(seed_page: Path) -> None:
    """Two short stories of one site in the same promo line and footer are two stories."""
    _, headline, body, _ = seed_parts(seed_page)
    rng = random.Random(11)
    promo = promo_line("zh", rng)
    footer = site_footer("zh", rng)
    index = StoryIndex()
    index.add(1, "\n".join([promo, headline, body[0], *footer]), T0)
    other = "\n".join([promo, STORY, *footer])
    assert index.match(other, T0) is None
    assert index.match("\n".join([promo, headline, body[0], *footer[:1]]), T0) == 1


def test_repetitive_text_keeps_the_sample_bounded() -> None:
    """Repeats stay in the sample (a repeated sentence is part of the text) up to MAX_SAMPLE,
    then only first occurrences: a hostile page cannot make a signature grow with its length."""
    once = StorySignature.of(STORY)
    twice = StorySignature.of(STORY + STORY)
    assert len(twice.sample) > len(once.sample) and twice.shingle_count <= once.shingle_count + 4
    spam = "".join(f"{STORY}第{i}次。" for i in range(3000))
    signature = StorySignature.of(spam)
    assert len(signature.sample) <= MAX_SAMPLE
    assert len(signature.to_bytes()) <= 12 + 4 * (NUM_PERM + MAX_SAMPLE)
    assert StorySignature.from_bytes(signature.to_bytes()) == signature
    # The sample is in the order of the text: its first values open the text.
    fp = fingerprint_text(STORY)
    opening = [h for h in shingle_values(fp, 5).tolist() if h <= int(once.values[-1])]
    assert once.sample.tolist() == opening


def test_signatures_are_stable_across_processes() -> None:
    # Fixed hashing, not PYTHONHASHSEED-dependent hash(): stored signatures must stay valid.
    assert shingle_hashes("abcdefg", 5).tolist() == [305277425, 1530678953, 2139872733]
    assert shingle_size("abcdefg") == 7 and shingle_size("中文abc") == 5


def test_fingerprint_text() -> None:
    assert fingerprint_text("Ｈｅｌｌｏ, 世界！ 發展") == "hello世界发展"
    # Half a surrogate pair (a JSON escape cut in two) is no letter, and no reason to fail.
    assert fingerprint_text("\ud800發展\udfff ok") == "发展ok"
    assert (
        StorySignature.of("\udc00" + STORY).shingle_count == StorySignature.of(STORY).shingle_count
    )


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

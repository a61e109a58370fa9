"""Repost variants: real article bodies dressed the way repost sites and newsletters dress them,
each variant knowing which of its parts are junk.

Bodies come from the shared corpora, read in place (``../shared/data``): the hand-cleaned texts
of ``extraction_zh`` (hard line wraps joined back into paragraphs), the ground-truth bodies of
``extraction_en`` that are English, a sample of ``summaries_zh_lcsts`` texts (one paragraph, its
human headline as the title) and of ``summaries_en_bbc`` articles (first line the title). Each
body is ``dev`` or ``held_out`` by ``bench.holdout`` (a page's file stem, else the text itself).
The junk vocabulary is split the same way: every pool below is cut in two (even items dev, odd
items held-out), so a held-out variant wears brand shapes, slogans and calls to action the
cleaner was not tuned on. Brand names are invented from syllables and random Latin letters for
every variant: no list of real brands can catch them.

Shapes (``Variant.shape``), Chinese (in Simplified and, for a third of them, Traditional script
by OpenCC, ``Variant.script``):

- ``promo_block``: an exchange ad block above the headline, as on the seed page: for one to
  three brands a line with the name, one with the name and its Latin name, one with a slogan.
- ``promo_line``: one line of brand, slogan and call to action in one of twelve layouts
  ("火币HTX｜全球领先的…，注册即送…", "【…】…", "[…] …", spaced, "·"-joined, "广告｜…", slogan
  before brand, "…官方APP｜…") on top, under the headline, between the date line and the body,
  or between a 摘要 echo and the body.
- ``promo_glued``: the same promo glued in front of the first paragraph, no line break; the
  glue is a sentence mark (。！…), a bar, a space, or nothing at all (inline markup).
- ``promo_middle``: a promo line between two paragraphs.
- ``promo_tail``: a promo line after the last paragraph or below a footer, or glued to the
  last paragraph's end.
- ``echo``: headline, a date and view-count line, then a 摘要/导读/【导读】/核心提示 line that
  repeats the body's start (cut, with or without an ellipsis).
- ``meta``: date, time, view and comment counts, source and author lines above the body.
- ``footer``: copyright, disclaimer and source notices below the body.
- ``related``: a 相关阅读/推荐阅读/友情链接 heading and a list of other headlines at the end.
- ``qr_follow``: QR-code, follow-the-account and download-the-app lines, above or below.
- ``nav``: breadcrumbs, menus, tag and print/font-size lines above (and below) the body.
- ``combo``: the seed page's whole dress: ad block, headline, meta, echo, body, footer, links.

English (``script`` "en"):

- ``en_greeting``: a newsletter greeting ("Welcome back to …, …'s new twice-weekly newsletter
  about …") and sometimes a second framing line, above the body.
- ``en_signup``: a sign-up call for the newsletter, above, between paragraphs or below.
- ``en_readmore``: "Read more: <other headline>" lines between paragraphs.
- ``en_byline``: bylines and date lines above the body.
- ``en_share``: share and follow lines above or below the body.
- ``en_combo``: greeting, byline, body with a "Read more" link, sign-up and share lines.

A variant passes its title to the cleaner when its body has one (LCSTS, BBC); the headline line
on the page is junk then, as the pipeline drops it. ``measure`` aligns a cleaned text with the
variant's parts and counts characters (whitespace ignored): precision is the share of kept
characters that come from the body, recall the share of body characters kept.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.holdout import held_out
from newsbrief.text.chinese import to_traditional
from newsbrief.text.language import detect_language

ZH_SHAPES = (
    "promo_block",
    "promo_line",
    "promo_glued",
    "promo_middle",
    "promo_tail",
    "echo",
    "meta",
    "footer",
    "related",
    "qr_follow",
    "nav",
    "combo",
)
EN_SHAPES = ("en_greeting", "en_signup", "en_readmore", "en_byline", "en_share", "en_combo")
PROMO_SHAPES = frozenset(
    {"promo_block", "promo_line", "promo_glued", "promo_middle", "promo_tail", "combo"}
)
SEED = 20260501


@dataclass(frozen=True, slots=True)
class Part:
    text: str
    kind: str = ""
    """What junk this is ("promo", "meta", …); empty for the body."""

    @property
    def junk(self) -> bool:
        return bool(self.kind)


@dataclass(frozen=True, slots=True)
class Body:
    key: str
    source: str
    lang: str
    title: str | None
    paragraphs: tuple[str, ...]
    held_out: bool


@dataclass(frozen=True, slots=True)
class Variant:
    key: str
    shape: str
    script: str
    held_out: bool
    title: str | None
    lines: tuple[tuple[Part, ...], ...]
    crypto_promo: bool = False
    """Wears an exchange promo: its topics must not gain crypto from it."""

    @property
    def text(self) -> str:
        return "\n".join("".join(part.text for part in line) for line in self.lines)

    @property
    def body(self) -> str:
        return "\n".join(
            "".join(part.text for part in line if not part.junk)
            for line in self.lines
            if any(not part.junk for part in line)
        )

    def junk(self, kind: str | None = None) -> list[str]:
        return [
            part.text
            for line in self.lines
            for part in line
            if part.junk and (kind is None or part.kind == kind)
        ]


@dataclass
class Score:
    kept_body: int = 0
    kept_junk: int = 0
    body: int = 0
    variants: int = 0
    worst: list[tuple[float, str]] = field(default_factory=list)

    def add(self, other: Score) -> None:
        self.kept_body += other.kept_body
        self.kept_junk += other.kept_junk
        self.body += other.body
        self.variants += other.variants
        self.worst.extend(other.worst)

    @property
    def precision(self) -> float:
        kept = self.kept_body + self.kept_junk
        return self.kept_body / kept if kept else 1.0

    @property
    def recall(self) -> float:
        return self.kept_body / self.body if self.body else 1.0


# ---- measuring ----------------------------------------------------------------------------


def _collapsed(parts: Sequence[Part]) -> tuple[str, list[bool]]:
    """A line as the cleaner sees it (whitespace runs as one space, stripped), with a junk flag
    per character."""
    chars: list[str] = []
    junk: list[bool] = []
    for part in parts:
        for char in part.text:
            if char.isspace():
                if chars and chars[-1] != " ":
                    chars.append(" ")
                    junk.append(part.junk)
                continue
            chars.append(char)
            junk.append(part.junk)
    while chars and chars[-1] == " ":
        chars.pop()
        junk.pop()
    return "".join(chars), junk


def measure(variant: Variant, cleaned: str) -> Score:
    """Body and junk characters kept, found by aligning each cleaned line with the variant line
    it came from (in order; a whole line before a part of one)."""
    lines = [_collapsed(line) for line in variant.lines]
    score = Score(variants=1)
    score.body = sum(
        1 for text, junk in lines for c, j in zip(text, junk, strict=True) if not j and c != " "
    )
    at = 0
    for out in cleaned.splitlines():
        out = " ".join(out.split())
        if not out:
            continue
        found = next((j for j in range(at, len(lines)) if lines[j][0] == out), None)
        if found is None:
            found = next((j for j in range(at, len(lines)) if out in lines[j][0]), None)
        if found is None:  # not from the variant at all: all of it counts as junk
            score.kept_junk += sum(1 for c in out if c != " ")
            continue
        text, junk = lines[found]
        start = text.find(out)
        for c, j in zip(out, junk[start : start + len(out)], strict=True):
            if c != " ":
                if j:
                    score.kept_junk += 1
                else:
                    score.kept_body += 1
        at = found + 1
    if score.kept_junk or score.kept_body < score.body:
        lost = score.body - score.kept_body
        score.worst.append((-(score.kept_junk + lost), f"{variant.key} {variant.shape}"))
    return score


# ---- bodies -------------------------------------------------------------------------------

_ENDS_PARAGRAPH = re.compile(r"[。！？!?”」』）：:]\s*$")


def _reflow(text: str) -> list[str]:
    """Hand-copied text wrapped at a fixed width, joined back into paragraphs: a paragraph ends
    at a sentence mark, and one starts at an indented line."""
    paragraphs: list[str] = []
    current = ""
    for raw in text.splitlines():
        if not raw.strip():
            continue
        indented = raw[:1].isspace()
        line = " ".join(raw.split())
        if current and (indented or _ENDS_PARAGRAPH.search(current)):
            paragraphs.append(current)
            current = ""
        current += line
    if current:
        paragraphs.append(current)
    return paragraphs


def bodies(data: Path, sample: int = 160) -> list[Body]:
    """The bodies variants are made of: every extraction page, ``sample`` LCSTS texts and BBC
    articles (every n-th, so the sample never changes)."""
    found: list[Body] = []
    for path in sorted((data / "extraction_zh" / "cleaned").glob("*.txt")):
        paragraphs = _reflow(path.read_text(encoding="utf-8", errors="replace"))
        if sum(map(len, paragraphs)) >= 150:
            found.append(
                Body(path.stem, "extraction_zh", "zh", None, tuple(paragraphs), held_out(path.stem))
            )
    truth = json.loads((data / "extraction_en" / "ground-truth.json").read_text("utf-8"))
    for key in sorted(truth):
        paragraphs = [" ".join(p.split()) for p in truth[key]["articleBody"].splitlines()]
        paragraphs = [p for p in paragraphs if p]
        text = "\n".join(paragraphs)
        if len(text) >= 400 and detect_language(text) == "en":
            found.append(Body(key, "extraction_en", "en", None, tuple(paragraphs), held_out(key)))
    rows = (data / "summaries_zh_lcsts" / "pairs.jsonl").read_text("utf-8").splitlines()
    for row in rows[:: max(1, len(rows) // sample)][:sample]:
        item = json.loads(row)
        text = " ".join(item["text"].split())
        found.append(
            Body(text[:40], "lcsts", "zh", item["summary"].strip(), (text,), held_out(text))
        )
    rows = (data / "summaries_en_bbc" / "articles.jsonl").read_text("utf-8").splitlines()
    for row in rows[:: max(1, len(rows) // sample)][:sample]:
        item = json.loads(row)
        title, *rest = [p.strip() for p in item["article"].splitlines() if p.strip()]
        key = item["id"]
        found.append(Body(key, "bbc", "en", title, tuple(rest), held_out(item["article"])))
    return found


# ---- junk pools ---------------------------------------------------------------------------
# Each pool is split by position: even items dress dev variants, odd items held-out ones.

_SYLLABLES = (
    "星链汇通盈达创信融数云智金宝优合鑫瑞恒泰丰源聚海天宇博弘昊嘉诚安捷迅极光速雷鸣方舟维度币界量子"
)
_SUFFIXES = ("", "", "", "交易所", "数字", "国际", "Pro", "Global", "钱包", "财经")
_TAKEN = (
    "AI",
    "BTC",
    "ETH",
    "OKX",
    "HTX",
    "FTX",
    "SEC",
    "ETF",
    "NFT",
    "SOL",
    "CZ",
    "SBF",
    "DAO",
    "GPT",
    "LLM",
    "API",
    "VR",
    "AR",
    "IPO",
    "CEO",
    "USD",
    "DEX",
    "CEX",
    "EV",
    "IT",
)
CRYPTO_SLOGANS = (
    "全球领先的数字资产交易平台",
    "全球知名的比特币交易所",
    "国内用户最喜爱的合约交易所",
    "华人首选的数字资产交易平台",
    "安全可靠的一站式加密资产服务商",
    "行业领先的合约交易平台",
    "全球用户最多的比特币交易平台",
    "千万用户信赖的数字货币交易所",
    "东南亚最大的加密货币交易平台",
    "老牌数字资产交易所，安全运营十年",
    "全球前三的现货交易平台",
    "用户量超5000万的加密钱包",
    "值得信赖的数字货币交易所",
    "最安全的加密货币钱包",
    "亚洲顶级的衍生品交易平台",
    "专业的数字资产理财平台",
)
OTHER_SLOGANS = (
    "全网最低价的正品家电商城",
    "国内领先的在线职业教育平台",
    "最受欢迎的免费阅读APP",
    "全国知名的留学咨询服务商",
    "一站式智能家居品牌",
    "老牌券商，官方正版开户入口",
    "国内知名的少儿编程课程",
    "业内口碑最好的健身APP",
)
CTAS = (
    "注册即送100USDT",
    "开户即领50U体验金",
    "立即下载APP，领取新人礼包",
    "马上注册，赢取空投奖励",
    "扫码注册领取盲盒",
    "下载客户端，首充送好礼",
    "邀请好友返佣50%",
    "手续费低至0.02%",
    "新用户专享手续费8折",
    "限时福利：注册送价值888元大礼包",
    "点击注册，立享VIP特权",
    "认准官网，谨防假冒",
    "新人注册送10U，交易返现30%",
    "APP下载：应用商店搜索即可",
    "免费领取100元红包",
    "立即开户，领取专属福利",
)
ECHO_LABELS = ("摘要：", "导读：", "【导读】", "核心提示：", "摘要:", "内容提要：")
META_LINES = (
    "{date} {time} {views}",
    "发布时间：{date} {time}  来源：{site}  阅读：{views}",
    "{date} · 阅读 {views}",
    "作者：{person} | {date} | 浏览 {views}",
    "来源：{site}",
    "{days}天前 阅读 {views} 评论 {comments}",
    "时间：{date}  编辑：{person}",
    "{date} {time} 来源：{site} 作者：{person}",
)
FOOTERS = (
    "版权声明：本站所有文章皆是来自互联网，如内容侵权可以联系我们删除！",
    "免责声明：本文仅代表作者观点，不构成任何投资建议。",
    "本文来源：{site}，转载请注明出处。",
    "©{year} {site} 版权所有",
    "声明：本文由入驻{site}的作者撰写，观点仅代表作者本人。",
    "风险提示：市场有风险，投资需谨慎。",
    "未经授权，禁止转载。",
    "Copyright © {year} {site} All Rights Reserved",
    "责任编辑：{person}",
    "如有侵权请联系删除。",
)
RELATED_HEADS = ("相关阅读", "推荐阅读", "友情链接", "相关文章", "延伸阅读", "猜你喜欢")
QR_LINES = (
    "扫码关注「{site}」公众号，获取更多资讯",
    "长按识别二维码，关注我们",
    "下载{site}APP，随时随地看快讯",
    "关注我们：微信公众号 {site} | 微博 @{site}",
    "扫一扫，加入{site}社群",
    "点击关注，第一时间获取行业动态",
    "添加微信小助手，领取行业报告",
    "更多精彩内容，请关注{site}官方账号",
)
NAV_LINES = (
    "首页 > 资讯 > 正文",
    "当前位置：首页 > 新闻中心 > {site}",
    "手机版 | 网站地图 | 联系我们",
    "首页 | 快讯 | 行情 | 专栏 | 活动",
    "{site} > 区块链 > 正文",
    "网站首页 会员中心 帮助中心",
    "热门标签：元宇宙 NFT 公链",
    "上一篇：{site}周报 下一篇：{site}月报",
    "返回{site}首页",
    "收藏 | 打印 | 字号：大 中 小",
)
SITES = (
    "币界资讯",
    "星河财经",
    "链闻快讯",
    "金色观察",
    "量子头条",
    "天宇科技网",
    "方舟区块链",
    "博弘财经",
)
PEOPLE = ("张伟", "李娜", "王磊", "刘洋", "陈静", "杨帆", "赵敏", "周杰")

NEWSLETTERS = (
    "In the Loop",
    "The Download",
    "Morning Signal",
    "Chip Notes",
    "The Ledger Brief",
    "Machine Memo",
    "Weekend Wire",
    "Frontier Letter",
)
PUBLISHERS = (
    "TIME",
    "Northwind Media",
    "The Courier",
    "Harbor Post",
    "Daily Lantern",
    "Meridian News",
)
SUBJECTS = ("AI", "technology", "climate", "money", "the business of sport", "science")
GREETINGS = (
    "Welcome back to {letter}, {pub}'s new twice-weekly newsletter about {subject}.",
    "Hello and welcome to {letter}, the weekly briefing from {pub}.",
    "Welcome back to This Week in {letter}!",
    "Good morning! This is {letter}, {pub}'s daily newsletter.",
    "Hi everyone, and welcome to {letter}.",
    "Welcome to {letter}, your guide to {subject}.",
)
FRAMES = (
    "If you're reading this in your browser, why not subscribe to have the next one delivered "
    "straight to your inbox?",
    "You're reading {letter}, a newsletter about {subject}.",
    "Forwarded this email? Subscribe here for more.",
    "This is an edition of {letter}, sent every Tuesday and Friday.",
)
SIGNUPS = (
    "Sign up to receive {letter} in your inbox every Tuesday.",
    "Enter your email to get {letter} in your inbox.",
    "Subscribe to {pub} to get {letter} every week.",
    "Not a subscriber yet? Join 40,000 readers and sign up for {letter} for free.",
    "Get {letter} delivered to your inbox. Sign up here.",
    "If you're not subscribed yet, you can sign up for {letter} here.",
)
READ_MORES = (
    "Read more: {headline}",
    "Read More: {headline}",
    "READ MORE",
    "More: {headline}",
    "Continue reading",
    "Read next: {headline}",
)
BYLINES = (
    "By {name}",
    "Written by {name}",
    "By {name} and {name2}",
    "By {upper}",
    "Updated {date_en}",
    "Published {date_en}",
)
SHARES = (
    "Share this article",
    "Follow {name} on Twitter: @{handle}",
    "Share on Facebook",
    "Click to share on LinkedIn",
    "Follow us on Twitter and Instagram",
    "Share via Email",
)
NAMES = ("Jane Doe", "Tom Alder", "Priya Raman", "Luis Ortega", "Mei Chen", "Sam Okafor")


def _half(pool: Sequence[str], held: bool) -> list[str]:
    return list(pool[1::2] if held else pool[::2])


class _Dresser:
    """Junk for one variant, from the pool halves of its split, with a seeded random source."""

    def __init__(self, rng: random.Random, held: bool) -> None:
        self.rng = rng
        self.held = held

    def pick(self, pool: Sequence[str]) -> str:
        return self.rng.choice(_half(pool, self.held))

    def fill(self, template: str, **extra: str) -> str:
        rng = self.rng
        values = {
            "date": f"20{rng.randint(18, 25)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "time": f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}",
            "views": str(rng.randint(12, 99999)),
            "comments": str(rng.randint(0, 300)),
            "days": str(rng.randint(1, 9)),
            "year": str(rng.randint(2015, 2026)),
            "site": rng.choice(SITES),
            "person": rng.choice(PEOPLE),
            "letter": rng.choice(NEWSLETTERS),
            "pub": rng.choice(PUBLISHERS),
            "subject": rng.choice(SUBJECTS),
            "name": rng.choice(NAMES),
            "name2": rng.choice(NAMES),
            "upper": rng.choice(NAMES).upper(),
            "handle": rng.choice(NAMES).replace(" ", "").lower(),
            "date_en": f"{rng.choice(('March', 'June', 'Oct.', 'Nov.'))} {rng.randint(1, 28)}, "
            f"20{rng.randint(18, 25)} {rng.randint(1, 12)}:{rng.randint(0, 59):02d} "
            f"{rng.choice(('AM', 'PM'))} ET",
            **extra,
        }
        return template.format(**values)

    def acronym(self) -> str:
        while True:
            word = "".join(self.rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(3))
            if not any(taken in word for taken in _TAKEN):
                return word

    def brand(self) -> tuple[str, str]:
        """An invented brand: its Chinese name and its Latin one."""
        name = "".join(self.rng.sample(_SYLLABLES, 2))
        suffix = self.rng.choice(_SUFFIXES)
        return name + (suffix if self.rng.random() < 0.4 else ""), self.acronym()

    def brand_label(self) -> str:
        cn, latin = self.brand()
        forms = (f"{cn}{latin}", f"{cn}({latin})", f"{cn}", f"{latin}{cn}", f"{cn}（{latin}）")
        return self.pick(forms)

    def slogan(self, crypto: bool) -> str:
        return self.pick(CRYPTO_SLOGANS if crypto else OTHER_SLOGANS)

    def promo(self, crypto: bool) -> str:
        """One promo line: brand, slogan and a call to action, in one of several layouts."""
        brand, slogan, cta = self.brand_label(), self.slogan(crypto), self.pick(CTAS)
        layouts = (
            f"{brand}｜{slogan}，{cta}",
            f"【{brand}】{slogan}，{cta}",
            f"{brand} {slogan} {cta}",
            f"{slogan}{brand}，{cta}",
            f"{brand}|{slogan}，{cta}！",
            f"【{brand}：{cta}】",
            f"{brand}——{slogan}，{cta}",
            f"[{brand}] {slogan}，{cta}",
            f"{brand}·{slogan}·{cta}",
            f"广告｜{brand}：{slogan}",
            f"{slogan}——{brand}，{cta}！",
            f"{brand}官方APP｜{cta}",
        )
        return self.pick(layouts)

    def glue(self) -> str:
        return self.pick(("！", " ", "。", "…", "｜", "！ ", " ", "！", "。 ", "｜", "", ""))

    def block(self, crypto: bool) -> list[str]:
        lines = []
        for _ in range(self.rng.randint(1, 3)):
            cn, latin = self.brand()
            lines += [
                cn,
                self.pick(
                    (f"{cn}({latin})", f"{cn}({latin} )", f"{cn}（{latin}）", f"{cn} {latin}")
                ),
                self.slogan(crypto),
            ]
        return lines

    def meta(self) -> str:
        return self.fill(self.pick(META_LINES))

    def echo(self, body: str) -> str:
        label = self.pick(ECHO_LABELS)
        cut = self.rng.randint(50, 110)
        end = self.pick(("...", "…", "", "……", "..."))
        return f"{label}{body[:cut]}{end}" if len(body) > cut else f"{label}{body}"


# ---- variants -----------------------------------------------------------------------------


def _lines(*groups: Sequence[Part] | Part) -> tuple[tuple[Part, ...], ...]:
    return tuple(tuple(g) if isinstance(g, list | tuple) else (g,) for g in groups)


def _zh(shape: str, body: Body, d: _Dresser, others: Sequence[Body]) -> tuple[list, bool]:
    """Lines (each a list of parts) of a Chinese variant, and whether it wears a crypto promo."""
    rng = d.rng
    paras = [[Part(p)] for p in body.paragraphs]
    head: list[list[Part]] = []
    tail: list[list[Part]] = []
    title_line = [[Part(body.title, "headline")]] if body.title else []
    crypto = rng.random() < 0.75
    promo = shape in PROMO_SHAPES
    if shape == "promo_block":
        head = [[Part(x, "promo")] for x in d.block(crypto)] + title_line
        if rng.random() < 0.5:
            head.append([Part(d.meta(), "meta")])
    elif shape == "promo_line":
        line = [Part(d.promo(crypto), "promo")]
        meta = [Part(d.meta(), "meta")]
        where = rng.randrange(4)
        if where == 0:  # on top
            head = [line, *title_line]
        elif where == 1:  # under the headline
            head = [*title_line, line, meta]
        elif where == 2:  # between the date line and the body
            head = [*title_line, meta, line]
        else:  # between an echo and the body
            head = [*title_line, meta, [Part(d.echo(body.paragraphs[0]), "echo")], line]
    elif shape == "promo_glued":
        head = title_line
        glued = d.promo(crypto)
        glue = "" if glued.endswith("】") else d.glue()
        paras[0] = [Part(glued + glue, "promo"), *paras[0]]
    elif shape == "promo_middle":
        head = title_line
        at = rng.randint(1, len(paras) - 1) if len(paras) > 1 else 1
        paras.insert(at, [Part(d.promo(crypto), "promo")])
    elif shape == "promo_tail":
        head = title_line
        where = rng.randrange(3)
        if where == 0:
            tail = [[Part(d.promo(crypto), "promo")]]
        elif where == 1:  # below a footer
            tail = [[Part(d.fill(d.pick(FOOTERS)), "footer")], [Part(d.promo(crypto), "promo")]]
        else:  # glued after the last sentence (a space when it has no closing mark)
            glue = "" if _ENDS_PARAGRAPH.search(body.paragraphs[-1]) else " "
            paras[-1] = [*paras[-1], Part(glue + d.promo(crypto), "promo")]
    elif shape == "echo":
        head = [*title_line, [Part(d.meta(), "meta")], [Part(d.echo(body.paragraphs[0]), "echo")]]
    elif shape == "meta":
        head = [*title_line, *([Part(d.meta(), "meta")] for _ in range(rng.randint(1, 2)))]
    elif shape == "footer":
        head = title_line
        tail = [[Part(d.fill(d.pick(FOOTERS)), "footer")] for _ in range(rng.randint(1, 2))]
    elif shape == "related":
        head = title_line
        heading = d.pick(RELATED_HEADS)
        links = [(o.title or o.paragraphs[0][:24]) for o in rng.sample(list(others), 4)]
        if rng.random() < 0.3:
            tail = [[Part(f"{heading} " + " ".join(x[:10] for x in links), "related")]]
        else:
            tail = [[Part(heading, "related")], *([Part(x, "related")] for x in links)]
    elif shape == "nav":
        lines = [[Part(d.fill(d.pick(NAV_LINES)), "nav")] for _ in range(rng.randint(1, 2))]
        head = [*lines, *title_line]
        if rng.random() < 0.5:
            tail = [[Part(d.fill(d.pick(NAV_LINES)), "nav")]]
    elif shape == "qr_follow":
        head = title_line
        lines = [[Part(d.fill(d.pick(QR_LINES)), "follow")] for _ in range(rng.randint(1, 2))]
        if rng.random() < 0.3:
            head = lines + head
        else:
            tail = lines
    elif shape == "combo":
        head = [
            *([Part(x, "promo")] for x in d.block(crypto)),
            *title_line,
            [Part(d.meta(), "meta")],
            [Part(d.echo(body.paragraphs[0]), "echo")],
        ]
        tail = [
            [Part(d.fill(d.pick(FOOTERS)), "footer")],
            [Part(d.pick(RELATED_HEADS), "related")],
            [Part(rng.choice(SITES) + d.brand()[0] + "官网", "related")],
        ]
    return [*head, *paras, *tail], promo and crypto


def _en(shape: str, body: Body, d: _Dresser, others: Sequence[Body]) -> list:
    rng = d.rng
    paras = [[Part(p)] for p in body.paragraphs]
    title_line = [[Part(body.title, "headline")]] if body.title else []
    head: list[list[Part]] = []
    tail: list[list[Part]] = []
    other = rng.choice(list(others))
    headline = other.title or other.paragraphs[0][:70]

    def one(pool: Sequence[str], kind: str) -> list[Part]:
        return [Part(d.fill(d.pick(pool), headline=headline), kind)]

    if shape == "en_greeting":
        head = [one(GREETINGS, "newsletter")]
        if rng.random() < 0.5:
            head.append(one(FRAMES, "newsletter"))
        head += title_line
    elif shape == "en_signup":
        where = rng.choice(("head", "middle", "tail"))
        if where == "head":
            head = [*title_line, one(SIGNUPS, "newsletter")]
        elif where == "middle" and len(paras) > 1:
            head = title_line
            paras.insert(rng.randint(1, len(paras) - 1), one(SIGNUPS, "newsletter"))
        else:
            head, tail = title_line, [one(SIGNUPS, "newsletter")]
    elif shape == "en_readmore":
        head = title_line
        for _ in range(rng.randint(1, 2)):
            if len(paras) > 1:
                paras.insert(rng.randint(1, len(paras) - 1), one(READ_MORES, "readmore"))
            else:
                tail.append(one(READ_MORES, "readmore"))
    elif shape == "en_byline":
        head = [*title_line, *(one(BYLINES, "byline") for _ in range(rng.randint(1, 2)))]
    elif shape == "en_share":
        lines = [one(SHARES, "share") for _ in range(rng.randint(1, 3))]
        if rng.random() < 0.3:
            head = [*title_line, *lines]
        else:
            head, tail = title_line, lines
    elif shape == "en_combo":
        head = [one(GREETINGS, "newsletter"), *title_line, one(BYLINES, "byline")]
        if len(paras) > 2:
            paras.insert(2, one(READ_MORES, "readmore"))
        tail = [one(SIGNUPS, "newsletter"), one(SHARES, "share")]
    return [*head, *paras, *tail]


def variants(data: Path, per_body: int = 3, sample: int = 160) -> list[Variant]:
    """``per_body`` variants of each body (two for English ones), shapes drawn without repeats
    by a random source seeded per body: the same data always gives the same variants."""
    found: list[Variant] = []
    every = bodies(data, sample)
    by_lang = {lang: [b for b in every if b.lang == lang] for lang in ("zh", "en")}
    for body in every:
        rng = random.Random(f"{SEED}:{body.source}:{body.key}")
        shapes = ZH_SHAPES if body.lang == "zh" else EN_SHAPES
        count = per_body if body.lang == "zh" else max(1, per_body - 1)
        others = [b for b in by_lang[body.lang] if b is not body]
        for shape in rng.sample(shapes, min(count, len(shapes))):
            dresser = _Dresser(rng, body.held_out)
            crypto = False
            if body.lang == "zh":
                lines, crypto = _zh(shape, body, dresser, others)
            else:
                lines = _en(shape, body, dresser, others)
            variant = Variant(
                key=f"{body.source}:{body.key[:16]}:{shape}",
                shape=shape,
                script="en" if body.lang == "en" else "zh-Hans",
                held_out=body.held_out,
                title=body.title,
                lines=_lines(*lines),
                crypto_promo=crypto,
            )
            if body.lang == "zh" and rng.random() < 1 / 3:
                variant = traditional(variant)
            found.append(variant)
    return found


def traditional(variant: Variant) -> Variant:
    """The variant in Traditional script, part by part (OpenCC keeps lengths and line breaks)."""
    lines = tuple(
        tuple(Part(to_traditional(p.text), p.kind) for p in line) for line in variant.lines
    )
    title = to_traditional(variant.title) if variant.title else variant.title
    return Variant(
        variant.key + ":hant",
        variant.shape,
        "zh-Hant",
        variant.held_out,
        title,
        lines,
        variant.crypto_promo,
    )


def grouped(items: Sequence[Variant]) -> Iterator[tuple[str, list[Variant]]]:
    """Variants by shape, in the order of the shape lists."""
    for shape in (*ZH_SHAPES, *EN_SHAPES):
        chosen = [v for v in items if v.shape == shape]
        if chosen:
            yield shape, chosen

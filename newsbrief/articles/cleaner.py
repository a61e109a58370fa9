"""Drop boilerplate lines from extracted or feed text: ads, navigation, meta and footers.

Extractors keep whatever a page put inside its article container; Chinese repost sites put a
lot there (exchange ads, a date and view-count line, a "摘要" that merely repeats the body, a
copyright notice, "友情链接"). The rules here favour precision: a line is dropped only when its
shape says boilerplate (short, no sentence ending, at the top or bottom of the text, a label
such as "责任编辑：" at its start), never because prose merely mentions a word like 比特币.

Line positions matter: the "head" is everything before the first body-like line and the "tail"
everything after the last one; short ad-like lines are dropped only there.
"""

from __future__ import annotations

import re

from newsbrief.articles.dedup import nfkc

# Sections whose heading ends the article: what follows is lists of other links.
_TAIL_MARKER = re.compile(
    r"^(?:友情链接|相关阅读|相关文章|相关新闻|相关推荐|推荐阅读|延伸阅读|热门文章|热门推荐|猜你喜欢"
    r"|更多精彩|分享到|分享至|Related(?: articles| stories| posts| content| coverage)?"
    r"|More from|More stories|Recommended(?: for you| stories)?|You may also like"
    r"|Share this(?: article| story| post)?|Most popular|Most read)(?![A-Za-z])",
    re.IGNORECASE,
)
# Labels that make a line boilerplate wherever it stands (checked at the line start).
_LABEL = re.compile(
    r"^[\[【(（]?\s*(?:责任编辑|责编|本文来源|文章来源|原文链接|原文地址|图片来源|图源|免责声明|版权声明"
    r"|特别声明|风险提示)\s*[]】)）]?\s*[:：]"
)
# Meta labels that also start prose or interview turns ("记者：…？"): only on short lines.
_WEAK_LABEL = re.compile(
    r"^[\[【(（]?\s*(?:编辑|作者|记者|来源|出处|声明|发布时间|发布日期|更新时间|时间|日期|阅读|浏览|浏览量"
    r"|阅读量|点击|评论|标签|关键词|关键字)\s*[]】)）]?\s*[:：]"
)
# Bylines, datelines and credits, in the forms they take ("By Jane Doe", "Photo: AP"): a bare
# "Source" heading or "image: nginx" in a code block is neither.
_SHORT_LABEL = re.compile(
    r"^(?:By\s+[A-Z]|(?:Published|Updated|Posted|Last updated)\b|Photo by\b"
    r"|(?:Photo|Image|Credit|Source|Tags|Filed under)(?:\s+(?:by|source|credit)s?)?\s*:)"
)
# Footer notices. Words that also occur in prose ("未经授权的访问", "a copyright lawsuit") count
# only in their notice form.
_COPYRIGHT = re.compile(
    r"版权所有(?![者人方])|版权归|©|\(c\)\s*\d{4}|^copyright\b|copyright\s*(?:©|\(c\)|\d{4})"
    r"|all rights reserved|转载请注明|转载请联系|未经(?:授权|许可|允许)[^。，,]{0,8}(?:转载|复制|使用|摘编)"
    r"|禁止转载|不得转载|侵权请联系|如有侵权|如内容侵权",
    re.IGNORECASE,
)
# Calls to action and navigation: alone on a short line they are never prose.
_AD_PHRASES = re.compile(
    r"扫码|扫一扫|二维码|长按识别|下载\s*APP|下载客户端|关注公众号|关注微信|关注我们|点击关注"
    r"|点击阅读原文|阅读原文|点击查看|点击进入|添加微信|加入社群|立即注册|注册领取|注册送"
    r"|返回首页|返回顶部|上一篇|下一篇|打印本页|关闭窗口|收藏本文|^advertisement$|^sponsored$",
    re.IGNORECASE,
)
# Words of banner ads that short headings may use too ("交易所的困境"): they count only in a
# block of ad-like lines above or below the body.
_AD_WORDS = re.compile(
    r"交易所|官网|客户端|社群|官方群|开户|返佣|免费领取|广告|赞助|福利|注册|下载|^comments?$",
    re.IGNORECASE,
)
# English calls to action, recognised at the start of a line that is not a long sentence.
_AD_START = re.compile(
    r"^(?=[A-Z])(?i:(?:read more|see more|more|related|watch|read next)\s*:|advertisement"
    r"|sponsored|subscribe|sign up|sign in|log in|read more|continue reading|click here"
    r"|follow us|download (?:the|our) app|share (?:on|via|this)|newsletter|skip to"
    r"|listen to (?:this|the podcast|the episode)|read next|get the app)(?![a-z])"
)
# Exchange and wallet brands that crypto repost sites advertise in banner blocks.
_BRANDS = re.compile(
    r"欧易|OKX|火币|HTX|Huobi|币安|Binance|Bybit|Bitget|Gate\.io|芝麻开门|KuCoin|库币|抹茶|MEXC"
    r"|Coinbase|Kraken",
    re.IGNORECASE,
)
_DATE = re.compile(
    r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?|\d{1,2}\s*月\s*\d{1,2}\s*日"
    r"|\d{1,2}:\d{2}(?::\d{2})?|\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?\s+\d{1,2},?\s+\d{4}"
    r"|\b\d{1,2}\s+(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?\s+\d{4}"
    r"|\d+\s*(?:分钟|小时|天)前|\b\d+\s+(?:minutes?|hours?|days?)\s+ago\b|\b\d+\s+min(?:ute)?s?\s+read\b",
    re.IGNORECASE,
)
# What may surround a date on a meta line: counters and their units, meta words, AM/PM, zones.
_META_REST = re.compile(
    r"\d+|[^\w]+|_|阅读|浏览|评论|点击|次|人|来源|作者|编辑|发布|时间|日期|更新|分享|收藏|点赞"
    r"|星期.|周.|\b(?:am|pm|et|est|edt|gmt|utc|bst|cst|pst|pdt|updated|published|posted|by|on|at"
    r"|views?|comments?|shares?|reads?|min|mon|tue|wed|thu|fri|sat|sun)[a-z]*\b",
    re.IGNORECASE,
)
# Counter lines without a date: "阅读 401", "评论 3 | 点赞 12", "1,024 views".
_COUNTER_WORD = (
    r"(?:阅读|浏览|评论|点赞|收藏|分享|转发|热度|views?|comments?|likes?|shares?|reads?)"
)
_COUNTERS = re.compile(
    rf"^(?:(?:{_COUNTER_WORD}\s*[量数]?\s*[:：]?\s*[\d,.]+\s*[次人条万kKwW]?"
    rf"|[\d,.]+\s*[次人条万kKwW]?\s*{_COUNTER_WORD})\s*[|·/，,]?\s*)+$",
    re.IGNORECASE,
)
_SUMMARY = re.compile(
    r"^[\[【(（]?\s*(?:摘要|导读|导语|简介|内容提要|提要|核心提示|Summary|Abstract|TL;?DR)\s*[]】)）]?\s*[:：]?\s*",
    re.IGNORECASE,
)
_ELLIPSIS = re.compile(r"(?:\.{2,}|…+|。{2,})\s*$")
_ELLIPSIS_ENDS = ("..", "…", "。。")
_SENTENCE_END = re.compile(r"[。！？!?.…\"'”’」』)）:：]$")
_STOP = re.compile(r"[。！？!?.…]$")
_CLOSERS = "\"'”’」』)）]】"
_TITLE_SEPARATOR = re.compile(r"\s+[-|–—·]\s+|\s*[_｜|]\s*")
_NON_WORD = re.compile(r"[\W_]+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# A CJK character, or a run of other non-space characters: the units _length counts.
_TOKEN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\s\u3400-\u9fff\uf900-\ufaff]+")

_HEAD_MAX_SHORT = 40
"""A head/tail line at most this long (characters) naming a brand or banner word may be an ad."""
_SHORT = 25
"""A line this short with an ad phrase is dropped wherever it stands."""
_SITE_LINE_MAX = 80


def clean_text(
    text: str, *, title: str | None = None, site_lines: frozenset[str] = frozenset()
) -> str:
    """The text without boilerplate lines, one paragraph per line."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return ""
    lines = _cut_tail(lines)
    keep = [True] * len(lines)
    title_keys = _title_keys(title or "")
    keys = _keys(lines)
    headline = _headline(keys, title_keys)
    # The headline is not body even when it reads like a sentence.
    body = [_is_body(line) and key not in title_keys for line, key in zip(lines, keys, strict=True)]
    first = next((i for i, b in enumerate(body) if b), len(lines))
    last = max((i for i, b in enumerate(body) if b), default=-1)
    # With no body line at all (a one-line flash item) nothing is "above or below the body".
    has_body = last >= 0
    banner = _banner_lines(lines, first, last) if has_body else set()
    for i, line in enumerate(lines):
        edge = has_body and (i < first or i > last)
        if (
            line in site_lines
            or (headline is not None and i < headline < first)
            or keys[i] in title_keys
            or _is_meta(line, head=i < first)
            or _is_copyright(line, edge)
            or _is_ad(line)
            or i in banner
            or _is_echo(i, lines, keys)
        ):
            keep[i] = False
    kept = [line for line, k in zip(lines, keep, strict=True) if k]
    return "\n".join(kept)


def site_line_candidates(text: str) -> set[str]:
    """The distinct lines of a text that could be site boilerplate: short ones, as
    :func:`clean_text` compares them (whitespace collapsed)."""
    lines = {" ".join(line.split()) for line in text.splitlines()}
    return {line for line in lines if 0 < len(line) < _SITE_LINE_MAX}


def _key(text: str) -> str:
    """Text reduced to letters, digits and CJK, case-folded: for equality and prefix tests."""
    return _NON_WORD.sub("", nfkc(text).casefold())


def _keys(lines: list[str]) -> list[str]:
    """``_key`` of each line, normalised in one pass (NFKC never joins across a line break)."""
    folded = nfkc("\n".join(lines)).casefold().split("\n")
    return [_NON_WORD.sub("", line) for line in folded]


def _length(line: str) -> int:
    """Weighted size: a CJK character carries about as much as an English word."""
    return len(_TOKEN.findall(line))


def _is_body(line: str) -> bool:
    """Paragraph-like: long enough to be prose (not a label, a link, a slogan or a headline)."""
    if len(line) < 12:  # a shorter line has fewer than 12 units: no need to count them
        return False
    size = _length(line)
    return size >= 40 or (size >= 12 and _ends_sentence(line))


def _ends_sentence(line: str) -> bool:
    """Ends like a sentence, a closing quote after the stop included (headlines end without)."""
    return _STOP.search(line.rstrip(_CLOSERS)) is not None


def _cut_tail(lines: list[str]) -> list[str]:
    """Everything from a "related links" heading on, if it stands in the last part of the text."""
    total = sum(len(line) for line in lines)
    before = 0
    for i, line in enumerate(lines):
        marker = _TAIL_MARKER.match(line) if i > 0 and len(line) <= 120 else None
        if marker and before >= total - before and _is_heading(line[marker.end() :]):
            return lines[:i]
        before += len(line)
    return lines


def _is_heading(rest: str) -> bool:
    """What follows a tail marker on its line: nothing, or run-in link titles ("友情链接 A B")
    but not one linked headline ("Related: Ten facts about …", dropped alone as an ad)."""
    rest = rest.strip(" :：|-")
    return not rest or (_CJK.search(rest) is not None and not _SENTENCE_END.search(rest))


def _title_keys(title: str) -> frozenset[str]:
    """Keys of the title and of its parts around a site-name separator ("标题_网站", "T | Site"):
    pages repeat the headline without the site name the <title> carries."""
    parts = [title, *_TITLE_SEPARATOR.split(title)]
    return frozenset(key for key in map(_key, parts) if len(key) >= 6)


def _headline(keys: list[str], title_keys: frozenset[str]) -> int | None:
    """Index of the line repeating the title, if one of the first lines does (by line keys)."""
    if not title_keys:
        return None
    for i, key in enumerate(keys[:30]):
        if key in title_keys or any(
            len(title) >= 8 and key.startswith(title) and len(key) < 1.3 * len(title)
            for title in title_keys
        ):
            return i
    return None


def _is_meta(line: str, *, head: bool) -> bool:
    """A date, time, byline or counter line ("2023-04-06 09:51:24 401", "阅读 401").

    Bare date lines count only above the body: at its end they sign a notice or cite the print
    edition ("2022年1月27日"), which belongs to the text."""
    if _LABEL.match(line):
        return True
    if len(line) > 100:
        return False
    short_phrase = len(line) <= 40 and not _SENTENCE_END.search(line)
    if short_phrase and (_WEAK_LABEL.match(line) or _SHORT_LABEL.match(line)):
        return True
    if _COUNTERS.match(line):
        return True
    if not head or not _DATE.search(line):
        return False
    rest = _META_REST.sub("", _DATE.sub("", line))
    return len(rest) <= 6


def _is_copyright(line: str, edge: bool) -> bool:
    return (edge or len(line) <= 150) and _COPYRIGHT.search(line) is not None


def _is_ad(line: str) -> bool:
    size = len(line)
    if size <= _SHORT and _AD_PHRASES.search(line) and not _SENTENCE_END.search(line):
        return True
    start = _AD_START.match(line)
    if start is None:
        return False
    # "Related: <headline>" is a link whatever its length; "Sign up for a Hulu account for
    # $11.99 a month" or "Log in as root on the device." are steps of a how-to, not buttons.
    if start.group().endswith(":"):
        return size <= 120
    return size <= 20 or (size <= 50 and not _ends_sentence(line))


def _banner_lines(lines: list[str], first: int, last: int) -> set[int]:
    """Indexes of ad blocks above and below the body: runs of two or more short lines naming an
    exchange or using banner words ("欧易" / "欧易(OKX)" / "全球知名的比特币交易所")."""
    found: set[int] = set()
    for zone in (range(first), range(last + 1, len(lines))):
        run: list[int] = []
        for i in [*zone, -1]:
            line = lines[i] if i >= 0 else ""
            if (
                i >= 0
                and len(line) <= _HEAD_MAX_SHORT
                and (_AD_WORDS.search(line) or _BRANDS.search(line))
            ):
                run.append(i)
                continue
            if len(run) >= 2:
                found.update(run)
            run = []
    return found


def _is_echo(i: int, lines: list[str], keys: list[str]) -> bool:
    """A summary line that only repeats the start of the text after it (cut, often with "...")."""
    line = lines[i]
    labelled = _SUMMARY.match(line)
    # Lines come whitespace-collapsed, so an ellipsis ends the string: no regex scan needed.
    cut = line.endswith(_ELLIPSIS_ENDS)
    if not labelled and not cut:
        return False
    stem = _key(_ELLIPSIS.sub("", line[labelled.end() :] if labelled else line))
    if len(stem) < 10:  # too short to call an echo (or a bare "Summary" heading)
        return False
    following = "".join(keys[i + 1 : i + 8])
    # The echo may skip a line (the headline) before the body it repeats.
    return stem in following[: len(stem) + 200]

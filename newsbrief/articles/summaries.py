"""Article text -> a short extractive summary: the 1-3 most telling sentences, in reading order.

The ranking leans on the lead (news puts the point first), adds how central a sentence is (how
much of its vocabulary the rest of the article repeats), and penalises overlap with sentences
already chosen, so two sentences saying the same thing are not both taken. The result fits a
budget: 120 characters for Chinese, 60 words for English, or ``max_chars`` characters.

Pages reposted from site to site carry a "摘要:"/"导读:" line that is just the body cut short and
an ellipsis; such lines and truncated echoes are never returned. Nor is the framing newsletters
and WeChat posts put around a story (greetings, sign-up and share calls, bylines), nor a
heading: a line without a final mark ends where it ends and is no summary sentence. Feed texts
arrive without page cleaning, so this holds on raw text too. A lead sentence over the budget
gives its most telling run of whole clauses, not just its first words. A Chinese sentence starts
at its statement: the clauses that date, source or set up the story before it ("据悉，",
"随着…，") are left out, and a sentence joins another only if it is whole (no source credit or
fragment fills leftover room). Summarisers are
swappable behind ``Summarizer`` (an LLM one can come later); ``summarize`` uses the extractive
default.
"""

from __future__ import annotations

import math
import operator
import re
from collections import Counter
from collections.abc import Iterator
from itertools import accumulate
from typing import Protocol

from newsbrief.articles.keywords import segment

ZH_BUDGET_CHARS = 120
EN_BUDGET_WORDS = 60
MAX_SENTENCES = 3
# Sentences further down than this are not candidates: the lead carries the story.
MAX_CANDIDATES = 40
# A sentence cut to the budget ends at a clause mark if that keeps this share of the budget.
CLAUSE_FILL = 0.7


class Summarizer(Protocol):
    def summarize(self, text: str, lang: str, max_chars: int | None = None) -> str: ...


# ---- sentence splitting -------------------------------------------------------------------

# A sentence mark, with the closing quotes and brackets that belong to the sentence it ends.
_END = re.compile(r"(?:[。！？!?；]+|…+|\.{2,}|\.)[”’」』）)》\"'】]*")
_CLOSERS = "”’」』）)》\"'】"
_FINAL = "。！？!?.…；;"
_HAN = re.compile(r"[\u3400-\u9fff]")
# Abbreviations that end with a period without ending the sentence.
_ABBREVIATIONS_TEXT = """
    mr mrs ms dr prof sr jr st mt ft rev gen col lt sgt capt cmdr adm gov sen rep pres
    inc ltd co corp plc llc bros dept univ assn est approx vs etc al eg ie cf viz
    no nos vol fig pp ed eds jan feb mar apr jun jul aug sep sept oct nov dec
    mon tue tues wed thu thur thurs fri sat sun
    """
_ABBREVIATIONS = frozenset(_ABBREVIATIONS_TEXT.split())
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)$")
_INITIALS = re.compile(r"(?:[A-Za-z]\.)*[A-Za-z]")
# A list item's number: one or two digits opening the line or following a sentence mark (not
# the decimals of "clocks up 35.86. Due next week").
_LIST_NUMBER = re.compile(r"(?:^|[。！？；;!?…]\s*|(?<!\d)\.\s+)\d{1,2}$")


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``: Chinese and Latin marks, closing quotes kept, line breaks split.

    "U.S.", "Mr." and other abbreviations, initials and decimals ("3.5") do not end a sentence;
    a line break always does, so a heading never runs into the paragraph under it.
    """
    return [sentence for sentence, _ in _sentences(text)]


def _sentences(text: str) -> Iterator[tuple[str, bool]]:
    """``split_sentences`` one at a time (a summary reads only the lead's sentences), each with
    whether it is a bare line: a whole line without a sentence mark (a heading, a byline, a
    list item or a caption, when it is short)."""
    for line in text.splitlines():
        start = 0
        for m in _END.finditer(line):
            if _ends_sentence(line, m.start(), m.end()):
                piece = line[start : m.end()].strip()
                if piece:
                    yield piece, False
                start = m.end()
        rest = line[start:].strip()
        if rest:
            yield rest, start == 0 and rest.rstrip(_CLOSERS)[-1:] not in _FINAL


def _ends_sentence(line: str, start: int, end: int) -> bool:
    mark = line[start:end].rstrip(_CLOSERS)
    if mark[0] in "。！？；…":
        return True
    after = line[end : end + 2]
    nxt = after.lstrip()[:1]
    # Latin marks end a sentence before a space, a line end or Chinese text, never inside a
    # token ("3.5", "example.com") nor before a lowercase continuation ("approx. five").
    if after and not after[0].isspace() and not _HAN.match(after[0]):
        return False
    if nxt.islower():
        return False
    if mark == "." and _LIST_NUMBER.search(line, 0, start):
        return False  # "1.编程。": the number of a list item
    if mark == "." and mark == line[start:end]:  # a closed quote ends the sentence anyway
        word = _WORD_BEFORE.search(line, 0, start)
        if word:
            token = word.group(1)
            if token.lower() in _ABBREVIATIONS or _INITIALS.fullmatch(token):
                return False
    return True


# ---- cleaning -----------------------------------------------------------------------------

# A lead-in label of reposted pages: the line after it repeats the body.
_LABEL_LINE = re.compile(
    r"^\s*[【\[]?(?:摘要|导读|导语|提要|内容提要|核心提示|编者按|简介|summary|tl;?dr)[】\]]?\s*[:：]",
    re.IGNORECASE,
)
_TRAILING_ELLIPSIS = re.compile(r"(?:\.{2,}|…+)[”’」』）)》\"'】]*$")
# A list bullet, or the dash left of a dateline ("— Mike Glass threw …").
_BULLET = re.compile(r"^[-–—•·*▪►●◆■]+\s*(?=\S)")
_HAS_CONTENT = re.compile(r"[A-Za-z0-9\u3400-\u9fff]")
_SPACES = re.compile(r"\s+")


# Clauses that open a Chinese news sentence without stating its news: the date ("日前，",
# "12月12日，"), the source ("据新华社报道，", "记者了解到，", "据悉，"), an unnamed voice
# ("业内人士认为，", "数据显示，"), a linking word ("此外，", "与此同时，") or the background
# the statement stands in ("随着…，", "由于…，", "在…中，", "自…以来，"). A summary has no room
# for them: the statement after the comma is what a reader needs first.
# "~" in these patterns: one unit of a clause, a character or a whole quotation or title (a
# comma inside one does not end the clause).
_C = r"(?:[^，,。；;：:！？!?“”「」《》]|“[^”]{0,20}”|《[^》]{0,20}》|「[^」]{0,20}」)"
_LEAD_IN_TEXT = (
    # the date
    r"(?:(?:日前|近日|昨日|昨天|今天|今日|明日|明天|今晨|昨晚|今晚|近期|近年来|今年以来|今年|去年"
    r"|上月|本月|上周|本周|下周|周[一二三四五六日末]|星期[一二三四五六日天]|当天|当日|此前|近来|目前|如今"
    r"|当前|眼下|\d{2,4}年|\d{1,2}月|\d{1,2}[日号]|[上下中]午|晚间|凌晨|早间|记者|本报讯|本报)+"
    # the source
    r"|据(?:悉|了解|介绍|报道|统计|透露)|据~{1,20}(?:报道|消息|获悉|透露|了解|介绍|统计|显示|称)"
    r"|~{0,20}(?:获悉|了解到)|记者~{0,16}采访~{0,4}"
    # a voice without a name
    r"|~{0,8}(?:人士|专家|分析师|研究员|机构|报告|数据|统计|调查|研究|消息|公告|媒体|外媒|舆论)"
    r"(?:表示|认为|称|指出|显示|透露|预计|分析|介绍|说)"
    # a linking word
    r"|此外|另外|同时|与此同时|对此|为此|不过|然而|其实|事实上|总之|可见|显然"
    # the background (never a condition: without its "如果…", a statement says something else)
    r"|(?:尤其|特别)是?~{1,30}|(?:由于|因为|随着|虽然|尽管|为了|针对|截至|截止)~{1,30}"
    r"|自~{1,20}(?:以来|起)"
    r"|在~{1,30}(?:中|上|下|后|前|时|之际|期间|背景下|之后|以来|之前|方面|当中|过程中))[，,]"
    # a conjunction tying the sentence to one the summary may not show ("但…", "而且…")
    r"|(?:但是|但|然而|可是|而且|并且|此外)(?![，,])"
)
_LEAD_IN = re.compile("^(?:" + _LEAD_IN_TEXT.replace("~", _C) + ")")
# What must remain after a lead-in for the rest to stand as a statement.
_STATEMENT = re.compile(r"[\u3400-\u9fff]{4}")


def _drop_lead_ins(sentence: str) -> str:
    """The sentence from its first clause that states something (see ``_LEAD_IN``)."""
    if not _HAN.search(sentence, 0, 6):
        return sentence  # not Chinese: spare English text the search
    while (m := _LEAD_IN.match(sentence)) and _STATEMENT.search(sentence, m.end()):
        sentence = sentence[m.end() :].lstrip()
    return sentence


def _clean_sentences(text: str, limit: int) -> list[tuple[str, bool]]:
    """The first ``limit`` sentences worth ranking (no labels, echoes or bare datelines), each
    with whether it is a bare line (see ``_sentences``)."""
    lines = [line for line in text.splitlines() if not _LABEL_LINE.match(line)]
    if not any(map(_HAS_CONTENT.search, lines)):
        # Nothing but labelled lines ("编者按：…" as the whole text): they are the text.
        lines = [_LABEL_LINE.sub("", line) for line in text.splitlines()]
    body = "\n".join(lines)
    flat = ""
    kept: list[tuple[str, bool]] = []
    for sentence, bare in _sentences(body):
        if not _HAS_CONTENT.search(sentence):
            continue
        stem = _TRAILING_ELLIPSIS.sub("", sentence)
        if stem != sentence:
            squeezed = _SPACES.sub("", stem)
            flat = flat or _SPACES.sub("", body)
            # A truncated copy of text found elsewhere: the body says it in full.
            if len(squeezed) >= 6 and flat.count(squeezed) > 1:
                continue
        sentence = _BULLET.sub("", sentence)
        kept.append((_drop_lead_ins(sentence), bare))
        if len(kept) == limit:
            break
    return kept


# ---- framing: greetings, calls to action, bylines, headings -------------------------------

# Newsletters, feeds and WeChat posts wrap the story in words addressed to the reader about the
# publication itself: a greeting, a sign-up or share call, a byline, "if you're reading this in
# your inbox", section headings. None of it is a summary sentence, and it is told by evidence,
# scored. The sentence's own words: a greeting opening it (framing on its own); talk of the
# channel ("newsletter", "inbox", "公众号": a point per distinct phrase, at most 2); a call to
# action opening it ("Sign up", "Here's", "点击": 3 points with a channel phrase); then, only
# beside one of those, the reader addressed ("you", "您", a short question) and the writer
# presenting ("we", "小编"), a point each. Three points make framing; two do when the sentence
# also stands at the edge of the text (first or last two sentences, or next to more framing) or
# shares few of its words with the rest (standing amid the story's words takes a point away).
# A news sentence that mentions subscribers or speaks to "you" stays, and so does anything in
# quotation marks. Headings are told by shape alone: a whole line without a final mark.
_GREETING = re.compile(
    r"^(?:(?:hi|hello|hey|howdy|greetings|welcome|dear|good\s+(?:morning|afternoon|evening|day)"
    r"|happy\s+(?:\w+day|weekend|holidays|new\s+year)|thanks?(?:\s+you)?\s+(?:so\s+much\s+)?for"
    r"\s+(?:reading|subscribing|joining|being|signing|listening|your\s+support)"
    r"|see\s+you\s+(?:next|tomorrow|soon|then|on|in)"
    r"|have\s+an?\s+(?:great|good|nice|wonderful|lovely)\s+(?:\w+day|weekend|week|day))\b"
    r"|大家好|各位[^，,。！!]{0,6}好|亲爱的|哈喽|你好|您好|早上好|早安|晚上好|晚安"
    r"|欢迎(?:大家|各位|您|你)?(?:来到|收看|收听|阅读|回到|关注|订阅|加入)"
    r"|感谢(?:您|你|大家|各位)?的?(?:阅读|收看|收听|关注|订阅|支持))",
    re.IGNORECASE,
)
# The publication speaking of itself and of how it reaches the reader. Searched only in
# sentences holding one of its words (``_CHANNEL_WORDS``, as ``_tokens`` gives them) or, for
# Chinese, one of its first two characters: a search through every sentence costs more than
# the rest of the summary.
_CHANNEL_EN = re.compile(
    r"\b(?:newsletters?|inbox(?:es)?|subscri(?:be|bed|bers?|bing|ptions?)|unsubscribe"
    r"|sign(?:ed|ing)?[\s-]up|(?:this|today['’]s|this\s+week['’]s|last\s+week['’]s|our)\s+"
    r"(?:edition|issue|newsletter|email|episode|installment|dispatch|briefing|digest|roundup)"
    r"|(?:this|the)\s+(?:article|story|post|piece)\s+(?:was|first|originally)"
    r"|originally\s+(?:published|appeared)|read\s+more|continue\s+reading"
    r"|click(?:ing)?\s+(?:here|the|on|below)|tap\s+(?:here|the|below)"
    r"|(?:in|on)\s+(?:your|a|the)\s+browser|web\s+version|view\s+(?:it\s+|this\s+)?online"
    r"|forward(?:ed|ing)?\s+(?:this|it|to)|share\s+(?:this|it)|(?:to|with)\s+a\s+friend"
    r"|podcasts?|(?:sponsored|compensated|paid|presented)\s+by|advertisers?"
    r"|affiliate\s+(?:links?|commissions?)|opinions\s+are\s+(?:mine|my\s+own|our\s+own)"
    r"|for\s+more\s+(?:stories|coverage|updates|articles|information|details)"
    r"|this\s+week\s+in|(?:what\s+)?you\s+need\s+to\s+know|need[\s-]to[\s-]know"
    r"|things\s+to\s+know|what\s+to\s+know)\b",
    re.IGNORECASE,
)
_CHANNEL_WORDS_TEXT = """
    newsletter inbox inboxe subscribe subscribed subscriber subscribing subscription unsubscribe
    sign signed signing edition issue email episode installment dispatch briefing digest roundup
    article story post piece originally read continue click clicking tap browser web view
    forward forwarded forwarding share friend podcast sponsored compensated paid presented
    advertiser affiliate opinion storie coverage update information detail week need know thing
    """
_CHANNEL_WORDS = frozenset(_CHANNEL_WORDS_TEXT.split())
_CHANNEL_ZH = re.compile(
    r"公众号|微信号|本期|上期|下期|本号|本刊|本栏目|小编|蓝字|星标|置顶|在看|阅读原文|扫码|扫一扫"
    r"|二维码|长按|点击(?:上方|下方|这里|链接|阅读|关注|订阅|蓝字)|关注(?:我们|本号|公众号)|转发"
    r"|分享给|订阅|推送|留言区|评论区"
)
_CHANNEL_BIGRAMS_TEXT = """
    公众 微信 本期 上期 下期 本号 本刊 本栏 小编 蓝字 星标 置顶 在看 阅读 扫码 扫一 二维 长按 点击
    关注 转发 分享 订阅 推送 留言 评论
    """
_CHANNEL_BIGRAMS = frozenset(_CHANNEL_BIGRAMS_TEXT.split())
_YOU = re.compile(r"\b(?:you|your|yours|you['’](?:re|ve|ll|d)|ya)\b|(?<!迷)你|您", re.IGNORECASE)
# The writer presenting: "we", "our" (not "US"), "小编".
_PRESENTING = re.compile(r"\b(?:[Ww]e|[Ww]e['’](?:re|ve|ll)|[Oo]ur|us)\b|小编|笔者|本号")
# A call to action (or the writer presenting: "Here's …") opens the sentence with its verb; in
# Chinese it may open a clause ("喜欢的话，请点个在看").
_CALL = re.compile(
    r"^(?:please\s+)?(?:sign\s+up|subscribe|click|tap|read|share|forward|follow|join|download"
    r"|register|upgrade|donate|reply|tell\s+us|let\s+us\s+know|e-?mail\s+us|write\s+to\s+us"
    r"|send\s+us|check\s+out|don['’]?t\s+miss|do\s+not\s+miss|listen|watch|become"
    r"|support\s+(?:us|our)|get\s+(?:the|our|it|your|more|access)|for\s+more|visit"
    r"|here['’]s|here\s+(?:is|are))\b"
    r"|^(?:请|欢迎|记得|别忘了|快来|赶紧)?(?:点击|点个|长按|扫描|扫码|关注|订阅|转发|分享|星标)"
    r"|^欢迎|^更多(?:资讯|精彩|内容|信息|新闻)",
    re.IGNORECASE,
)
_CLAUSE_CALL = re.compile(
    r"[，,：:；;](?:请|记得|别忘了|快来|赶紧|也)?(?:点击|点个|长按|扫描|扫码|关注|订阅|转发|分享|星标)"
)
# A byline on its own line: "By Jane Doe", "By JANE DOE and John Roe, Reuters".
_NAME = r"(?:[A-Z][\w'’.-]*|[A-Z]\.)"
_BYLINE = re.compile(
    rf"^(?:(?:written|reported|reporting|edited|words|text|additional\s+reporting)\s+)?[Bb]y\s+"
    rf"{_NAME}(?:\s+{_NAME}){{0,3}}(?:\s*(?:,|and|&)\s*{_NAME}(?:\s+{_NAME}){{0,3}})*"
    r"(?:\s*[,|·•—–-]\s*[^.!?。！？]{0,60})?$"
)
_QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"|「[^」]*」|『[^』]*』")
_QUOTE_MARKS = re.compile(r"[“”\"「」『』]")
FRAMING_WORDS = 2
FRAMING_POINTS = 3
# A bare line this short is a heading, a byline, a list item or a caption, not a sentence.
HEADING_MAX_WORDS = 12
HEADING_MAX_CHARS = 30
_LEADING_LABEL = re.compile(r"^[^\s:：]+(?:\s+[^\s:：]+){0,2}\s*[:：]\s*\S")
# Share of a sentence's words found in the rest of the text: below, off-topic; above, on it.
OFF_TOPIC = 0.25
ON_TOPIC = 0.5


def _address(sentence: str, tokens: frozenset[str], chinese: bool) -> int:
    """Points for the sentence's own words speaking to the reader about the publication."""
    if chinese:
        channel_words = _CHANNEL_ZH if not tokens.isdisjoint(_CHANNEL_BIGRAMS) else None
    else:
        channel_words = _CHANNEL_EN if not tokens.isdisjoint(_CHANNEL_WORDS) else None
    # Most sentences name no channel and open with neither a greeting nor a call.
    if (
        not channel_words
        and not _GREETING.match(sentence)
        and not _CALL.match(sentence)
        and not (chinese and _CLAUSE_CALL.search(sentence))
    ):
        return 0
    said = _QUOTED.sub(" ", sentence)
    if _QUOTE_MARKS.search(said):
        return 0  # a quote opened or closed here: the words are the source's, not the writer's
    points = FRAMING_POINTS if _GREETING.match(said) else 0
    found = channel_words.findall(said) if channel_words else ()
    channel = {m.lower().replace("-", "").rstrip("s") for m in found}
    points += min(len(channel), 2)
    call = _CALL.match(said) is not None or (chinese and _CLAUSE_CALL.search(said) is not None)
    if not points and not call:
        return 0  # "you" and "we" alone are prose, in commentary and reviews above all
    # A call about the channel ("Click here", "Sign up for our newsletter") is framing anywhere.
    points += 2 if call and channel else call
    # A short question to the reader ("Not a subscriber yet?"); a long one may ask the story's.
    asks = len(tokens) <= 6 and said.rstrip(_CLOSERS).endswith(("?", "？"))
    return points + asks + (_YOU.search(said) is not None) + (_PRESENTING.search(said) is not None)


def _heading(sentence: str) -> bool:
    """Whether a bare line is a heading, a list item or a caption (short), or a line of labelled
    facts ("Tested by: … RRP: …"), rather than a paragraph that lacks its full stop."""
    if _LEADING_LABEL.match(sentence):
        return True
    han = len(_HAN.findall(sentence))
    if han * 2 >= len(sentence):
        return han <= HEADING_MAX_CHARS
    return len(sentence.split()) <= HEADING_MAX_WORDS


def _story_sentences(text: str, chinese: bool) -> tuple[list[str], list[frozenset[str]]]:
    """The sentences a summary may take, with their tokens: never framing, and no heading
    unless the text has nothing else (a one-line item without a full stop)."""
    found = _clean_sentences(text, MAX_CANDIDATES)
    tokens = [_tokens(sentence, chinese) for sentence, _ in found]
    points = [
        FRAMING_POINTS if bare and _BYLINE.match(sentence) else _address(sentence, toks, chinese)
        for (sentence, bare), toks in zip(found, tokens, strict=True)
    ]
    framing = [False] * len(found)
    if any(points):
        body: set[str] = set().union(*(t for t, p in zip(tokens, points, strict=True) if not p))
        # The last sentences read are the text's end only if the text ended before the limit.
        end = len(found) - 2 if len(found) < MAX_CANDIDATES else len(found)
        for i, p in enumerate(points):
            if p:
                common = len(tokens[i] & body)
                shared = common / len(tokens[i]) if tokens[i] else 0.0
                # At the text's edge, or beside more of the same: framing comes in blocks.
                edge = i < 2 or i >= end or any(points[i - 1 : i]) or any(points[i + 1 : i + 2])
                # One word in common ("yet", "get") does not put a sentence on the story's topic.
                support = edge + (shared < OFF_TOPIC) - (shared >= ON_TOPIC and common > 1)
                framing[i] = p >= FRAMING_POINTS or (p >= FRAMING_WORDS and support > 0)
    # Sentences with a final mark; else long bare lines (a text without any full stop); else
    # whatever is left, headings included (a one-line item).
    keep = [i for i, (_, bare) in enumerate(found) if not framing[i] and not bare]
    if not keep:
        keep = [i for i, (s, _) in enumerate(found) if not framing[i] and not _heading(s)]
    if not keep:
        keep = [i for i in range(len(found)) if not framing[i]]
    return [found[i][0] for i in keep], [tokens[i] for i in keep]


# ---- ranking ------------------------------------------------------------------------------

_EN_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_NOT_ZH_UNIT = re.compile(r"[^\u3400-\u9fffA-Za-z0-9]+")
_EN_STOP_TEXT = """
    a an the and or but if of at by for with about against between into through during before
    after above below to from up down in out on off over under again further then once here
    there when where why how all any both each few more most other some such no nor not only own
    same so than too very can will just should now is are was were be been being have has had
    having do does did doing i me my we our you your he him his she her it its they them their
    what which who whom this that these those said says say would could also as
    """
_EN_STOP = frozenset(_EN_STOP_TEXT.split())


def _tokens(sentence: str, chinese: bool) -> frozenset[str]:
    if chinese:
        units = _NOT_ZH_UNIT.sub("", sentence).lower()
        return frozenset(map(operator.add, units, units[1:]))
    return frozenset(_token_list(sentence, chinese))


def _token_list(sentence: str, chinese: bool) -> list[str]:
    """A sentence's tokens in reading order: character bigrams for Chinese (a cheap stand-in for
    words, no segmenter needed), else words without stop words and plural -s."""
    if chinese:
        units = _NOT_ZH_UNIT.sub("", sentence).lower()
        return list(map(operator.add, units, units[1:]))
    words = _EN_TOKEN.findall(sentence.lower())
    return [w.removesuffix("s") for w in words if w not in _EN_STOP and len(w) > 1]


def _token_count(text: str, chinese: bool) -> int:
    """How many tokens ``text`` starts: its characters for Chinese (each starts a bigram)."""
    if chinese:
        return len(_NOT_ZH_UNIT.sub("", text))
    return len(_token_list(text, chinese))


def _similarity(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / math.sqrt(len(a) * len(b))


def _cost(sentence: str, chinese: bool, by_chars: bool) -> int:
    if by_chars:
        return len(sentence)
    return len(sentence.split()) if not chinese else len(sentence)


class ExtractiveSummarizer:
    """Lead-biased, centrality-weighted sentence extraction with redundancy control."""

    def __init__(
        self,
        lead_weight: dict[str, float] | None = None,
        redundancy_penalty: float = 0.5,
        max_similarity: float = 0.6,
        shorten_margin: float = 0.0,
    ) -> None:
        # Measured (bench/quality_text.py): Chinese news states its point in the first
        # sentence; English reports spread it, so centrality counts for more there.
        self.lead_weight = lead_weight or {"zh": 0.8, "en": 0.4}
        self.redundancy_penalty = redundancy_penalty
        self.max_similarity = max_similarity
        self.shorten_margin = shorten_margin

    def summarize(self, text: str, lang: str, max_chars: int | None = None) -> str:
        chinese = lang.startswith("zh")
        sentences, tokens = _story_sentences(text, chinese)
        if not sentences:
            return ""
        by_chars = max_chars is not None or chinese
        budget = max_chars or (ZH_BUDGET_CHARS if chinese else EN_BUDGET_WORDS)
        glue = "" if chinese else " "

        whole = _join(sentences, glue)
        if len(sentences) <= MAX_SENTENCES and _cost(whole, chinese, by_chars) <= budget:
            return whole  # short enough to be its own summary

        candidates = sentences
        lead_weight = self.lead_weight["zh" if chinese else "en"]
        df: Counter[str] = Counter()
        for toks in tokens:
            df.update(toks)
        scores = _base_scores(tokens, df, lead_weight)
        chosen: list[int] = []
        used = 0
        lead = max(range(len(candidates)), key=lambda i: scores[i])
        fits = [i for i, s in enumerate(candidates) if _cost(s, chinese, by_chars) <= budget]
        if not fits or scores[lead] - max(scores[i] for i in fits) > self.shorten_margin:
            # The sentence that matters most is over budget on its own: keep its most telling
            # clauses rather than promote a minor sentence that happens to be short.
            return _shorten(candidates[lead], budget, chinese, by_chars, df)
        # A sentence joins another only if it is whole: a line's unfinished rest (a source
        # credit, "更多内容请看这里→"), a fragment (under two words: "Congratulations!") or a
        # sentence cut off with "…" fills room without saying anything.
        complete = [
            len(tokens[i]) >= 2
            and s.rstrip(_CLOSERS)[-1:] in _FINAL
            and not _TRAILING_ELLIPSIS.search(s)
            for i, s in enumerate(candidates)
        ]
        while len(chosen) < MAX_SENTENCES:
            best, best_score = -1, -math.inf
            for i, sentence in enumerate(candidates):
                if i in chosen or (chosen and not complete[i]):
                    continue
                cost = _cost(sentence, chinese, by_chars) + (len(glue) if chosen else 0)
                if used + cost > budget:
                    continue
                overlap = max((_similarity(tokens[i], tokens[j]) for j in chosen), default=0.0)
                if overlap > self.max_similarity:
                    continue
                score = scores[i] - self.redundancy_penalty * overlap
                if score > best_score:
                    best, best_score = i, score
            if best < 0:
                break
            chosen.append(best)
            used += _cost(candidates[best], chinese, by_chars) + (
                len(glue) if len(chosen) > 1 else 0
            )
        return _join([candidates[i] for i in sorted(chosen)], glue)


# log(n) for the document frequencies a text of MAX_CANDIDATES sentences can have.
_LOG = [0.0, *(math.log(n) for n in range(1, MAX_CANDIDATES + 1))]


def _base_scores(tokens: list[frozenset[str]], df: Counter[str], lead_weight: float) -> list[float]:
    central: list[float] = []
    for toks in tokens:
        # Vocabulary other sentences repeat marks what the article is about.
        shared = sum(map(_LOG.__getitem__, map(df.__getitem__, toks)))
        central.append(shared / (len(toks) + 4))
    top = max(central) or 1.0
    scores: list[float] = []
    for i in range(len(tokens)):
        lead = 1.0 / (1.0 + i) ** 0.8
        score = lead_weight * lead + (1 - lead_weight) * central[i] / top
        if len(tokens[i]) < 3:
            score -= 0.3  # a fragment: a dateline, a caption, a lone heading
        scores.append(score)
    return scores


_CLAUSE_END = re.compile(r"[，、：:；;,]")
# A clause with the marks that close it; a comma inside a number ("1,000") closes nothing.
_CLAUSE = re.compile(r"(?:[^，,；;：:]|,(?=\d))+[，,；;：:]*")
_CLAUSE_MARKS = "，,；;：:、 "
# A run of clauses shorter than this share of the budget says too little to stand alone.
SPAN_MIN_FILL = 0.3
# What each clause skipped before a run costs it: the lead clause usually names who and what.
SPAN_SKIP_COST = 0.2
# A clause that continues the one before ("其中…", "并…", "表示…") cannot open a run: without
# its subject or its antecedent it is a fragment.
_CONTINUES = re.compile(
    r"(?:其中|并且|并|而且|而|但是|但|且|还|也|则|即|就是|以及|从而|因此|所以|于是|因而|进而|甚至"
    r"|否则|不过|然而|可是|只是|以便|以免|为此|对此|同时|表示|称|认为|指出|透露|强调|说)"
)


def _shorten(sentence: str, budget: int, chinese: bool, by_chars: bool, df: Counter[str]) -> str:
    """Within budget, a sentence's most telling run of whole clauses: the one whose words the
    rest of the text repeats most for its size. Else its leading words or characters."""
    cut = _cut(sentence, budget, chinese, by_chars)
    if not by_chars:
        return cut
    # The sentence's tokens in reading order, what each weighs (how many other sentences repeat
    # it), summed up to each point: a run's weight is one subtraction.
    tokens = _token_list(sentence, chinese)
    sums = [0, *accumulate(map(df.__getitem__, tokens))]
    # Where each clause starts among the tokens (a Chinese bigram belongs to the clause of its
    # first character, so a run also holds the bigrams across its inner boundaries).
    clauses = _CLAUSE.findall(sentence)
    starts = [0, *accumulate(_token_count(clause, chinese) for clause in clauses)]
    tail = 1 if chinese else 0  # a run of n characters holds n - 1 bigrams

    def score(first: int, end: int) -> float:
        # A piece tokenised alone may count a token more than the sentence did ('11，““').
        first = min(first, len(tokens))
        size = min(max(end - tail - first, 0), len(tokens) - first)
        return (sums[first + size] - sums[first] - size) / math.sqrt(size + 6)

    best, best_score = cut, score(0, _token_count(cut, chinese))
    for i in range(len(clauses)):
        if i and _CONTINUES.match(clauses[i]):
            continue
        run = ""
        for j in range(i, len(clauses)):
            piece = (run + clauses[j]).strip(_CLAUSE_MARKS)
            if len(piece) > budget:
                break
            run += clauses[j]
            if len(piece) < SPAN_MIN_FILL * budget:
                continue
            value = score(starts[i], starts[j + 1]) - SPAN_SKIP_COST * i
            if value > best_score:
                best, best_score = piece, value
    return best


def _cut(sentence: str, budget: int, chinese: bool, by_chars: bool) -> str:
    """The sentence's leading clauses within budget; else a cut at a word or a character."""
    if by_chars:
        cut = sentence[:budget]
        clause_ends = [m.start() for m in _CLAUSE_END.finditer(cut)]
        if clause_ends and clause_ends[-1] >= budget * CLAUSE_FILL:
            return cut[: clause_ends[-1]].rstrip()
        if not chinese and " " in cut:
            return cut.rsplit(" ", 1)[0].rstrip(" ,;:")
        return _cut_chinese(sentence, budget) if chinese else cut.rstrip()
    words = sentence.split()[:budget]
    for j in range(len(words) - 1, len(words) // 3, -1):
        if words[j].endswith((",", ";", ":")):
            return " ".join(words[: j + 1]).rstrip(",;:")
    return " ".join(words)


# Marks that open a quotation, a title or an aside (``_CLOSERS`` close them).
_OPENERS = "“「『《（(【"
# Words reaching past the budget are cut off whole; a word is rarely longer than this.
_LONGEST_WORD = 8


def _cut_chinese(sentence: str, budget: int) -> str:
    """The sentence's first ``budget`` characters, ending where a word ends and outside any
    quotation or title: "…接到了监管层的" rather than "…接到了监管层的“封卷"."""
    end = 0
    for word in segment(sentence[: budget + _LONGEST_WORD]):
        if end + len(word) > budget:
            break
        end += len(word)
    if end < budget * CLAUSE_FILL:
        end = budget  # one very long word (a URL, a run of digits): a plain cut
    depth, opened = 0, -1
    for i, char in enumerate(sentence[:end]):
        if char in _OPENERS:
            opened = i if not depth else opened
            depth += 1
        elif char in _CLOSERS:
            depth = max(depth - 1, 0)
    if depth and opened >= budget * CLAUSE_FILL:
        end = opened
    return sentence[:end].rstrip()


def _join(sentences: list[str], glue: str) -> str:
    if not glue:
        # A bare line without a mark (a heading) still needs a separator from the next one.
        out = sentences[0]
        for s in sentences[1:]:
            out += ("" if _END.search(out[-1:]) or out[-1] in _CLOSERS else " ") + s
        return out
    return glue.join(sentences)


_DEFAULT = ExtractiveSummarizer()


def summarize(text: str, lang: str, max_chars: int | None = None) -> str:
    """A 1-3 sentence summary of ``text`` within the budget, by the default summariser."""
    return _DEFAULT.summarize(text, lang, max_chars)

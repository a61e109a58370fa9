"""Drop boilerplate from extracted or feed text: ads, navigation, meta, echoes and footers.

Extractors keep whatever a page put inside its article container, and repost sites put a lot
there: exchange promos (brand and slogan on separate lines, on one line, or glued in front of
the first paragraph), a date and view-count line, a "摘要" that merely repeats the body, a
copyright notice, "友情链接"; English newsletters add a greeting, sign-up calls, "Read more"
links, bylines and share buttons. No list of brands or sites is kept: a line goes on evidence
that generalises to pages never seen, and several kinds of evidence are combined:

- position: the "head" is everything before the first body-like line and the "tail" everything
  after the last one; most shapes count only there;
- sentence shape: body paragraphs end like sentences or are long; banners, labels and slogans
  do not;
- promo shape: a superlative slogan (全球领先, 最受欢迎, 首选, 官方 …), a call to action
  (注册即送, 扫码, 下载APP, 领取, 返佣 …), a platform noun (交易所, 平台, APP …) and a brand
  token (【…】 or "…｜" at the line start, a CJK name beside a Latin one); two kinds together,
  and no sign of news reporting (宣布, 表示, 据…报道, a date), make a promo, and a promo glued
  in front of (or after) a paragraph is cut off that line;
- repetition across a site's pages (``site_lines``, learned per host by the process stage, and
  across one batch of pages of one host), line starts included;
- topic: a short head or tail line that shares no content word with the body (a brand name,
  a slogan, a byline) is not about the story.

Every removed line (or cut-off part of one) carries its reason: :func:`clean_lines` returns
them beside the kept text, and logs them at debug level; :func:`clean_text` is its text alone.
Rules are matched on a Simplified copy of the text, so Traditional pages lose the same lines.
"""

from __future__ import annotations

import functools
import logging
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from newsbrief.articles.dedup import nfkc
from newsbrief.text.chinese import to_simplified

log = logging.getLogger(__name__)

# ---- reasons ------------------------------------------------------------------------------

SITE_LINE = "site line"
"""Stands on several pages of the same site."""
HEADLINE = "headline"
"""Repeats the title (or stands above the line that does)."""
META = "meta"
"""A date, byline, counter or label line."""
COPYRIGHT = "copyright"
CALL_TO_ACTION = "call to action"
"""Navigation, share, follow and subscribe buttons; "Read more" links."""
NEWSLETTER = "newsletter framing"
"""A newsletter's greeting or sign-up call around the story."""
PROMO = "promo"
"""Brand, slogan and call-to-action shape (an ad line, or an ad cut off a paragraph)."""
AD_BLOCK = "ad block"
"""A short brand or slogan line in a run of ad lines above or below the body."""
ECHO = "summary echo"
"""A "摘要"/"导读" line that only repeats the start of the body."""
RELATED = "related links"
"""Everything from a "相关阅读"/"友情链接"/"Related" heading in the last part of the text on."""
OFF_TOPIC = "off-topic"
"""A short head or tail line sharing no content word with the body."""

MIN_PAGES = 3
"""Distinct pages of a host a line must stand on to count as that host's boilerplate."""

# ---- patterns -----------------------------------------------------------------------------

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
    r"^(?:By\s+[A-Z]|(?:Written|Reported|Words|Story|Text) by\s+[A-Z]"
    r"|(?:Published|Updated|Posted|Last updated)\b|Photo by\b"
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
# English calls to action, recognised at the start of a line that is not a long sentence.
_AD_START = re.compile(
    r"^(?=[A-Z])(?i:(?:read more|see more|more|related|watch|read next)\s*:|advertisement"
    r"|sponsored|subscribe|sign up|sign in|log in|read more|continue reading|click here"
    r"|follow us|download (?:the|our) app|share (?:on|via|this)|newsletter|skip to"
    r"|listen to (?:this|the podcast|the episode)|read next|get the app)(?![a-z])"
)
# Social buttons and follow lines ("Follow Jane on Twitter", "Follow @jane", "Share: …").
_FOLLOW = re.compile(
    r"^(?:follow\s+(?:@\w+|(?:[\w.'’-]+\s+){0,4}on\s+(?:twitter|x|facebook|instagram|linkedin"
    r"|threads|bluesky|mastodon|youtube|tiktok|telegram|weibo|wechat))\b"
    r"|(?:share|email|tweet|pin)\s*(?:this|it|on|via|:)\b|click to (?:share|tweet|email|print))",
    re.IGNORECASE,
)
# A newsletter's frame: a greeting opening the head, or a subscribe call naming the letter.
_GREETING = re.compile(
    r"^(?:welcome(?:\s+back)?\s+to\b|(?:hi|hello|hey)\s+and\s+welcome\b|(?:hi|hello|hey|greetings|good\s+(?:morning|afternoon"
    r"|evening))\b(?:\s+(?:there|everyone|all|friends|folks|readers))?\s*[,!—–-]"
    r"|happy\s+(?:mon|tues|wednes|thurs|fri|satur|sun)day\b)",
    re.IGNORECASE,
)
_FRAME_START = re.compile(
    r"^(?:you(?:'re|’re| are)\s+reading|this\s+(?:is|was)\s+(?:an?\s+)?(?:edition|excerpt"
    r"|installment|issue|the\s+\w+\s+(?:newsletter|edition))|this\s+(?:article|story|post"
    r"|piece|essay)\s+(?:is|was|first|originally)\b|forwarded\s+this|if\s+you(?:'re|’re| are)"
    r"\s+(?:reading\s+this|not\s+(?:yet\s+)?(?:a\s+)?subscri)|not\s+(?:yet\s+)?(?:a\s+)?"
    r"subscriber|get\b|sign\s+up\b|subscribe\b|enter\s+your\s+email"
    r"|want\s+(?:this|to\s+get|more)\b|to\s+(?:receive|get)\s+this|join\s+\d|don(?:'|’)t\s+miss"
    r"|never\s+miss|like\s+this\s+(?:story|article|newsletter))",
    re.IGNORECASE,
)
# "Sign up here", "subscribe now": on a short line, a button whatever it stands beside.
_SIGNUP_NOW = re.compile(
    r"\b(?:sign\s+up|subscribe|join)\s+(?:here|now|today|below|for\s+free)\b", re.IGNORECASE
)
# "Subscribe to <name>", "Sign up for our …": not "Sign up for a Hulu account" (a how-to step).
_SUBSCRIBE_TO = re.compile(r"^(?:subscribe|sign\s+up)\s+(?:to|for)\s+(?!an?\s)", re.IGNORECASE)
_FRAME_WORD = re.compile(
    r"newsletter|\bthis\s+week\s+in\b|\bedition\b|\binbox\b|subscri|\bsign(?:ed)?\s+up\b"
    r"|\bround-?up\b|\bbriefing\b|\bdigest\b|\bdispatch\b|\bpodcast\b|\bemail\b|\bin\s+the\s+loop\b"
    r"|\btwice-weekly\b|\bweekly\b|\bdaily\b|\bfree\s+trial\b|\bmembers?hip\b"
    r"|\bevery\s+(?:week|day|morning|evening|month|weekday|(?:mon|tues|wednes|thurs|fri|satur"
    r"|sun)day)\b",
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
    r"\d+|[^\w]+|_|阅读|浏览|评论|点击|次|人|来源|作者|编辑|发布|时间|日期|更新|分享|收藏|点赞|万"
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
_CLAUSE = re.compile(r"[，,、；;·]")
_WORD = re.compile(r"[^\W_]")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# A CJK character, or a run of other non-space characters: the units _length counts.
_TOKEN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\s\u3400-\u9fff\uf900-\ufaff]+")

# Promo evidence, matched on Simplified text. Each is a kind of wording, not a list of names:
# a claim to be the best or the official one ...
_SLOGAN = re.compile(
    r"(?:全球|全国|国内|全网|亚洲|世界|业内|行业|华人|中文|国际)(?:领先|最大|最早|最强|第一|首家|首个"
    r"|知名|顶级|顶尖|一流|权威|前\s?(?:\d+|[一二三四五十])|TOP|领军|排名)|最(?:受欢迎|喜爱|信赖|值得|权威|便捷|靠谱"
    r"|安全|专业|好用|多人|大的|强的|低的?手续费)|用户最多|用户量?(?:超|破)|首选|老牌|头部|一站式"
    r"|值得信赖|安全[、，,\s]?(?:可靠|稳定|合规|放心)|稳定[、，,\s]?可靠|专业(?:的|级)|官方(?:认证|授权|指定|合作|推荐"
    r"|正版|网站|入口|渠道)|认准|No\.?\s?1\b|\bTOP\s?\d+|第一品牌|领先的|知名的|顶尖的|口碑"
    r"|全网\S{0,2}[最首独]|最低价|正品|旗舰店",
    re.IGNORECASE,
)
# ... a call to act now (register, scan, download, claim a bonus) ...
_CTA = re.compile(
    r"扫码|扫一扫|二维码|长按(?:识别|扫码|关注)|(?:点击|立即|马上|免费|现在|赶快|快来|速来|一键)"
    r"(?:下载|注册|领取|领|体验|加入|开户|参与|抢|关注|预约|咨询|购买|查看|报名|交易|入驻)"
    r"|下载[^，。,]{0,10}(?:APP|客户端|应用)|注册(?:即|就|送|领|享|得|立|有礼|福利|奖励|返)"
    r"|(?:开户|入金|充值|首充|邀请好友)(?:即|就|送|领|享|得|奖励|返)|领取|返佣|返现|邀请码|推荐码"
    r"|送\s?\d|赠送|[立尊专畅]享|新人(?:福利|礼包|专享|奖励|红包)|新用户(?:福利|礼包|专享|奖励|红包)|红包|盲盒"
    r"|空投|体验金|限时|福利|优惠|折扣|手续费\s?(?:低至|减免|优惠|折扣|返还|全免|\d+(?:\.\d+)?\s?折)|(?:点击|长按|扫码)关注"
    r"|关注[^，。,]{0,12}(?:公众号|微信|微博|账号|官方|抖音|视频号|我们)|加入[^，。,]{0,8}"
    r"(?:社群|社区|官方群|电报群|交流群|我们)|添加(?:微信|客服|小助手)|咨询(?:热线|电话)"
    r"|\bAPP\b(?:下载|注册)|(?:download|register|sign\s?up|get)\b[^.]{0,20}\b(?:app|bonus)\b",
    re.IGNORECASE,
)
# ... a platform selling something ...
_PLATFORM = re.compile(
    r"交易所|交易平台|数字资产|数字货币|加密货币|合约|现货|钱包|理财|APP|客户端|平台|社区|社群"
    r"|服务商|商城|课程|网校|券商|开户|官网|客服|Exchange\b",
    re.IGNORECASE,
)
# ... and a brand standing as a label: bracketed or before a bar at the line start, or a CJK
# name beside its Latin one ("火币HTX", "欧易(OKX)").
_BRAND = re.compile(
    r"^\s*(?:【[^】]{1,20}】|\[[^]]{1,20}]|[^\s，。,.！!？?｜|]{2,16}\s*[｜|])"
    r"|[\u4e00-\u9fff]{2,6}\s*(?:[(（]\s*[A-Z][A-Za-z0-9.]{1,11}\s*[)）]|[A-Z]{2,}[A-Z0-9]*\b)"
    r"|[A-Z][A-Za-z0-9.]{1,11}\s*[(（]\s*[\u4e00-\u9fff]{2,6}\s*[)）]"
)
# A line the page itself marks as an ad: "【广告】…", "推广｜…", "(Sponsored) …".
_AD_LABEL = re.compile(
    r"^\s*(?:[【\[(（「〔]\s*(?:广告|推广|赞助|商业推广|软文|sponsored|advertisement|promoted|ad)"
    r"\s*[】\])）」〕]|(?:广告|推广|赞助)\s*[｜|:：])",
    re.IGNORECASE,
)
# Reporting: what a news sentence about an exchange's offer has and an ad does not.
_NEWS = re.compile(
    r"宣布|表示|声称|据[^，。]{0,20}(?:报道|消息|获悉|透露|了解)|报道|消息称|公告|指出|透露|显示|发布了"
    r"|记者|日电|日讯|周[一二三四五六日]|星期[一二三四五六日天]|\d+月\d+日|\d+日|今年|去年|上月|本月"
    r"|此前|目前|分析|认为|预计|同比|环比|据悉|获悉|称[，,:：]|\b(?:said|says|announced|according)\b",
    re.IGNORECASE,
)
# A brand label opening a line: "【name】", "name｜", "name：", "name - ", or "名字ABC".
_LABEL_START = re.compile(
    r"^\s*(?:[【\[]([^】\]]{1,20})[】\]]|([^\s，。,.！!？?｜|:：·]{2,16})\s*(?:[｜|:：·]|\s?[-—–]+\s?|\s))"
)
_NAME = re.compile(r"[\u4e00-\u9fff]{2,}|[A-Za-z][A-Za-z0-9.]+")
_PROMO_WORD = re.compile(f"{_SLOGAN.pattern}|{_CTA.pattern}|{_PLATFORM.pattern}", re.IGNORECASE)
# The amount after a call to action that gives ("送100USDT", "领50U", "低至0.02%"), and an arrow.
_AMOUNT = re.compile(
    r"(?:(?<=[\d送领赠返现享得至])\s*[\d.,]*\d\s*(?:[A-Za-z]+|%|元|倍|折|万))?\s*(?:>>|»|→)?"
)
# Marks after which a glued promo may end and the paragraph begin.
_CUT_MARK = re.compile(r"(?:[】\]」』”’）)｜|。！!？?…]|>>|»|→|➡)+\s*|\s+")
# Content units for topic overlap: CJK bigrams (without function characters) and Latin words.
_FUNCTION_CHARS = frozenset("的了是在和有与及或也都就而被把为这那之其着个我你他她它们从对到以于")
_LATIN_WORD = re.compile(r"[a-z0-9][a-z0-9'’]+")
_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
_EN_STOP_TEXT = """
    the and for are but not you all any can had her was one our out
    day get has him his how man new now old see two way who boy did
    its let put say she too use that with have this will your from they know
    want been good much some time very when come here just like long make many more
    only over such take than them well were what into also after about would there their
    could other which these those then said says
"""
_EN_STOP = frozenset(_EN_STOP_TEXT.split())

_HEAD_MAX_SHORT = 40
"""A line at most this long (characters) is short: it may stand in an ad block, or be a slogan
(promo wording, no sentence) in the middle of the body."""
_SHORT = 25
"""A line this short with an ad phrase is dropped wherever it stands."""
_PROMO_MAX = 80
"""A whole-line promo in the middle of the body is at most this long (characters)."""
_OFF_TOPIC_MAX = 30
"""An edge line at most this long (units) may go for sharing nothing with the body."""
_FRAME_WORDS = 25
"""A greeting or subscribe call without a newsletter word goes at an edge up to this long."""
_OFF_TOPIC_WORDS = 8
"""... and an edge line without Chinese at most this many words."""
_OUTER = 10
"""Off-topic lines are looked for among this many lines at each end of the text (beyond them
stand tables and lists that are part of the page)."""
_SITE_LINE_MAX = 80
_PARAGRAPH = 20
"""What is left of a line when a glued promo is cut off it is at least this long (units)."""
_PREFIX_MAX = 60
"""A glued promo or repeated line start is at most this long (characters)."""


@dataclass(frozen=True, slots=True)
class Removed:
    line: str
    """The line, or the part of it cut off, as it stood (whitespace collapsed)."""
    reason: str


@dataclass(frozen=True, slots=True)
class Cleaned:
    text: str
    """The kept text, one paragraph per line."""
    removed: tuple[Removed, ...]
    """What went, in text order, each with its reason."""


def clean_text(
    text: str, *, title: str | None = None, site_lines: frozenset[str] = frozenset()
) -> str:
    """The text without boilerplate lines, one paragraph per line."""
    return clean_lines(text, title=title, site_lines=site_lines).text


def clean_lines(
    text: str, *, title: str | None = None, site_lines: frozenset[str] = frozenset()
) -> Cleaned:
    """The text without boilerplate, and every removed line (or part of one) with its reason.

    ``site_lines``: lines (and line starts) that stand on several pages of the text's site."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return Cleaned("", ())
    page = _Page(lines, title, site_lines)
    cleaned = Cleaned(
        "\n".join(line for line in page.kept if line),
        tuple(Removed(line, reason) for _, line, reason in sorted(page.removed)),
    )
    if cleaned.removed and log.isEnabledFor(logging.DEBUG):
        for one in cleaned.removed:
            log.debug("removed (%s): %s", one.reason, one.line[:200])
    return cleaned


def site_line_candidates(text: str) -> set[str]:
    """What of a text could be site boilerplate, as :func:`clean_lines` compares it (whitespace
    collapsed): its short lines, and the starts of its first lines up to a mark that can end a
    glued banner ("【…】", "…｜", a sentence end), down to the first paragraph."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    found = {line for line in lines if len(line) < _SITE_LINE_MAX}
    for line in lines[:10]:
        found.update(
            line[:cut].rstrip() for cut in _cut_points(line, spaces=False, end=_PREFIX_MAX + 1)
        )
        if _is_body(line):
            break
    return found


def site_of(url: str | None) -> str | None:
    """The host pages are grouped by (lower case, without "www."), or None without a URL."""
    if not url:
        return None
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return None
    return host.removeprefix("www.")[:255] or None


def page_lines(texts: Iterable[str]) -> Counter[str]:
    """For one host's pages: on how many of them each candidate line stands (a text twice is
    one page)."""
    counts: Counter[str] = Counter()
    for text in set(texts):
        counts.update(site_line_candidates(text))
    return counts


def batch_site_lines(
    texts: Iterable[tuple[str | None, str]], min_pages: int = MIN_PAGES
) -> dict[str, frozenset[str]]:
    """Per host, the lines standing on at least ``min_pages`` of the (url, text) pages given:
    one batch read as a site's first poll is."""
    by_host: dict[str, list[str]] = {}
    for url, text in texts:
        host = site_of(url)
        if host is not None:
            by_host.setdefault(host, []).append(text)
    learned = {}
    for host, pages in by_host.items():
        counts = page_lines(pages)
        learned[host] = frozenset(line for line, n in counts.items() if n >= min_pages)
    return learned


# ---- the page -----------------------------------------------------------------------------


class _Page:
    """One text's lines, the evidence about each, and the verdicts.

    Two tiers of evidence. Some shapes are boilerplate wherever they stand (a copyright notice,
    a share button, a slogan with a call to action): :meth:`_anywhere`. Others only at the
    edges, above the first paragraph or below the last (a date line, a "Subscribe to …"
    sentence, a short line about something else): :meth:`_at_edge`. A line with evidence of
    either tier is never body, so it cannot widen the span whose edges the second tier needs;
    inside that span it stays unless the first tier takes it. A site line inside the span is
    dropped only when it is no paragraph (two copies of one story on one site share
    paragraphs, not boilerplate).
    """

    def __init__(self, lines: list[str], title: str | None, site_lines: frozenset[str]) -> None:
        self.removed: list[tuple[int, str, str]] = []
        """(order, text, reason): the order keeps a line's cut-off parts around what stays."""
        probe = _simplified(lines)
        end = _tail_start(probe)
        self.removed.extend((2 * i + 1, lines[i], RELATED) for i in range(end, len(lines)))
        self.lines, self.probe = lines[:end], probe[:end]
        count = len(self.lines)
        self.kept = list(self.lines)
        self.site_lines = site_lines
        self.keys = _keys(self.probe)
        self.title_text = to_simplified(title or "").casefold()
        self.title_keys = _title_keys(self.title_text)
        self.score = [_promo_score(p) for p in self.probe]
        self.anywhere = [self._anywhere(i) for i in range(count)]
        self.body = [self._is_body(i) for i in range(count)]
        if self._cut_glued(site_lines):  # the cut lines are new, and echoes may now show
            self.anywhere = [self._anywhere(i) for i in range(count)]
            self.body = [self._is_body(i) for i in range(count)]
        self.first = next((i for i, b in enumerate(self.body) if b), count)
        self.last = max((i for i, b in enumerate(self.body) if b), default=-1)
        has_body = self.last >= 0
        headline = _headline(self.keys, self.title_keys)
        block = self._ad_block() if has_body else set()
        for i in range(count):
            if not self.kept[i]:
                continue
            reason = self.anywhere[i]
            if reason is None and has_body and (i < self.first or i > self.last):
                reason = self._at_edge(i, head=i < self.first, tail=i > self.last)
                if reason is None and headline is not None and i < headline < self.first:
                    reason = HEADLINE
                if reason is None and i in block:
                    reason = AD_BLOCK
                if reason is None and min(i, count - 1 - i) < _OUTER and self._off_topic(i):
                    reason = OFF_TOPIC
            if reason is not None:
                self.removed.append((2 * i + 1, self.kept[i], reason))
                self.kept[i] = ""

    def _is_body(self, i: int) -> bool:
        """Paragraph-like, and no evidence of boilerplate of either tier."""
        return (
            _is_body(self.probe[i])
            and self.anywhere[i] is None
            and self._at_edge(i, head=True, tail=True) is None
        )

    @functools.cached_property
    def topic(self) -> frozenset[str]:
        """The content units of the body lines, for lines that may share none of them."""
        return frozenset().union(
            *(_units(p) for p, b in zip(self.probe, self.body, strict=True) if b)
        )

    def _anywhere(self, i: int) -> str | None:
        """The reason a line goes wherever it stands, if it has one."""
        line, probe = self.kept[i], self.probe[i]
        if line in self.site_lines and not _is_body(probe):
            return SITE_LINE
        if self.keys[i] in self.title_keys:
            return HEADLINE
        if _is_meta(probe):
            return META
        if _is_copyright(probe, edge=False):
            return COPYRIGHT
        if _is_ad(probe):
            return CALL_TO_ACTION
        if _AD_LABEL.match(probe):
            return PROMO
        if _is_frame(probe, edge=False):
            return NEWSLETTER
        score = self.score[i]
        if len(probe) <= 2 * _PROMO_MAX and (
            score >= 3
            or (score >= 2 and len(probe) <= _HEAD_MAX_SHORT and not _ends_sentence(probe))
        ):
            return PROMO
        if _is_echo(i, self.probe, self.keys):
            return ECHO
        return None

    def _at_edge(self, i: int, *, head: bool, tail: bool) -> str | None:
        """The reason a line goes when it stands above (``head``) or below (``tail``) the body."""
        line, probe = self.kept[i], self.probe[i]
        if line in self.site_lines:
            return SITE_LINE
        if _is_meta(probe, head=head, tail=tail):
            return META
        if _is_copyright(probe, edge=True):
            return COPYRIGHT
        if _is_frame(probe, edge=True):
            return NEWSLETTER
        if self.score[i] >= 2 and len(probe) <= _PROMO_MAX:
            return PROMO
        if len(probe) <= _HEAD_MAX_SHORT and not _ends_sentence(probe) and _is_brand_line(probe):
            return PROMO
        return None

    def _cut_glued(self, site_lines: frozenset[str]) -> bool:
        """Cut promos glued in front of the lines down to the first paragraph, or after the
        lines from the last one on, and line starts repeated across the site's pages; whether
        anything was cut."""
        cuts = False
        count = len(self.lines)
        first = next((i for i, b in enumerate(self.body) if b), count)
        last = max((i for i, b in enumerate(self.body) if b), default=count - 1)
        for i in range(count):
            head, tail = i <= first, i >= last
            if not head and not tail:
                continue
            line, probe = self.lines[i], self.probe[i]
            if _SUMMARY.match(probe) or _is_meta(probe):
                continue  # a label of the page's own, not a brand's
            cut, reason = (_site_prefix(line, site_lines), SITE_LINE) if head else (0, "")
            if head and not cut:
                cut = _promo_prefix(probe)
                cut, reason = max(cut, self._bare_prefix(i, cut)), PROMO
            if cut and _is_paragraph(probe[cut:]):  # cut off a paragraph, not a promo in two
                self.removed.append((2 * i, line[:cut].rstrip(), reason))
                line, probe = line[cut:], probe[cut:]
            end = _promo_suffix(probe) if tail else len(probe)
            if end < len(probe) and _is_paragraph(probe[:end]):
                self.removed.append((2 * i + 2, line[end:].strip(), PROMO))
                line, probe = line[:end].rstrip(), probe[:end].rstrip()
            if line != self.lines[i]:
                self.kept[i], self.probe[i], self.keys[i] = line, probe, _key(probe)
                self.score[i] = _promo_score(probe)
                cuts = True
        return cuts

    def _bare_prefix(self, i: int, start: int) -> int:
        """Length of a promo glued to the line with no mark between ("…注册领取100USDT手续费返现15日
        一早，…"), or 0: the line starts with a brand label whose name the rest of the text and
        the title never mention (news about a brand names it again), and the promo wording runs
        from there to the cut, which falls after its last promo word (and the amount after it)."""
        probe = self.probe[i]
        label = _LABEL_START.match(probe)
        if label is None:
            return 0
        start = max(start, label.end())
        news = _NEWS.search(probe, start)  # the body has begun by its first report
        window = probe[: min(_PREFIX_MAX + 20, news.start() if news else len(probe))]
        ends = [m.end() for m in _PROMO_WORD.finditer(window, start)]
        if not ends:
            return 0
        cut = ends[-1]
        for back in range(1, 4):  # a promo word the last one overlaps ("邀请好友返" + "返佣")
            overlap = _PROMO_WORD.match(probe, cut - back)
            if overlap is not None and overlap.end() > cut:
                cut = overlap.end()
        cut = _AMOUNT.match(probe, cut).end()  # type: ignore[union-attr]
        rest = probe[cut:]
        if (
            cut - start > _HEAD_MAX_SHORT
            or _promo_score(probe[:cut]) < 2
            or len(rest) < 10
            or _PROMO_WORD.search(rest[:12])
        ):
            return 0
        names = _NAME.findall(label.group(1) or label.group(2))
        if not names or any(self._mentions(n.casefold()) > 1 for n in names):
            return 0
        return cut

    def _mentions(self, name: str) -> int:
        """How often the text and its title name ``name`` (case-folded)."""
        return self._folded.count(name)

    @functools.cached_property
    def _folded(self) -> str:
        return "\n".join([self.title_text, *self.probe]).casefold()

    def _ad_block(self) -> set[int]:
        """Head and tail lines in a run of short non-sentence lines holding a promo: the brand
        names ("欧易", "欧易(OKX)") that stand beside its slogan, not a headline about the story
        (it shares several content words with the body)."""
        found: set[int] = set()
        for zone in (range(self.first), range(self.last + 1, len(self.lines))):
            run: list[int] = []
            for i in [*zone, -1]:
                probe = self.probe[i] if i >= 0 else ""
                short = i >= 0 and len(probe) <= _HEAD_MAX_SHORT
                if short and not _ends_sentence(probe) and not _NEWS.search(probe):
                    run.append(i)
                    continue
                if len(run) >= 2 and any(self.score[j] >= 2 for j in run):
                    found.update(j for j in run if not self._about_the_story(self.probe[j]))
                run = []
        return found

    def _about_the_story(self, probe: str) -> bool:
        if len(probe) <= 8 or _promo_score(probe) or (len(probe) <= 20 and _BRAND.search(probe)):
            return False
        units = _units(probe)
        return len(units & self.topic) >= max(2, len(units) // 3)

    def _off_topic(self, i: int) -> bool:
        """A short line that is no sentence and shares (almost) no content unit with the body.

        Without Chinese, only a few words above the body (a byline, a kicker): short English
        lines below it are credits, lists and sign-offs that belong to the text as often."""
        probe = self.probe[i]
        if _ends_sentence(probe) or _length(probe) > _OFF_TOPIC_MAX:
            return False
        if _CJK.search(probe) is None and (i > self.first or _length(probe) > _OFF_TOPIC_WORDS):
            return False
        units = _units(probe)
        if not units or len(self.topic) < 30:
            return False
        shared = len(units & self.topic)
        return shared == 0 or (shared == 1 and len(units) >= 6)


def _tail_start(lines: list[str]) -> int:
    """Where a "related links" heading in the last part of the text starts what is cut: link
    titles and notices follow it, not prose (a "Share this story" button between paragraphs)."""
    total = sum(len(line) for line in lines)
    before = 0
    for i, line in enumerate(lines):
        marker = _TAIL_MARKER.match(line) if i > 0 and len(line) <= 120 else None
        if (
            marker
            and before >= total - before
            and _is_heading(line[marker.end() :])
            and not any(_is_prose(later) for later in lines[i + 1 :])
        ):
            return i
        before += len(line)
    return len(lines)


def _is_prose(line: str) -> bool:
    """A paragraph, not a link title (those end without a full stop, or ask a question) nor a
    notice."""
    return (
        _is_body(line)
        and (_length(line) >= 40 or line.rstrip(_CLOSERS).endswith(("。", ".")))
        and not _COPYRIGHT.search(line)
        and not _LABEL.match(line)
    )


# ---- evidence -----------------------------------------------------------------------------


def _simplified(lines: list[str]) -> list[str]:
    """The lines in Simplified script, one for one (the originals if conversion joins lines)."""
    probe = to_simplified("\n".join(lines)).split("\n")
    if len(probe) != len(lines) or any(len(a) != len(b) for a, b in zip(probe, lines, strict=True)):
        return list(lines)
    return probe


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


def _units(line: str) -> frozenset[str]:
    """Content units: CJK character bigrams without function characters, and Latin words that
    are not stop words."""
    lowered = line.lower()
    units = {
        w.rstrip("s")
        for w in _LATIN_WORD.findall(lowered)
        if len(w) > 2 and w not in _EN_STOP and not w.isdigit()
    }
    pairs = {run[k : k + 2] for run in _CJK_RUN.findall(lowered) for k in range(len(run) - 1)}
    units.update(p for p in pairs if p[0] not in _FUNCTION_CHARS and p[1] not in _FUNCTION_CHARS)
    return frozenset(units)


def _is_body(line: str) -> bool:
    """Paragraph-like: long enough to be prose (not a label, a link, a slogan or a headline)."""
    if len(line) < 12:  # a shorter line has fewer than 12 units: no need to count them
        return False
    size = _length(line)
    return size >= 40 or (size >= 12 and _ends_sentence(line))


def _is_paragraph(text: str) -> bool:
    """What a glued promo may be cut off: a paragraph, or a heading without promo words, not
    the promo's own tail ("，新用户专享手续费8折！")."""
    if _PROMO_WORD.search(text) is None:
        return _length(text) >= 6
    return _is_body(text) and _length(text) >= _PARAGRAPH


def _ends_sentence(line: str) -> bool:
    """Ends like a sentence, a closing quote after the stop included (headlines end without)."""
    return _STOP.search(line.rstrip(_CLOSERS)) is not None


def _promo_score(text: str) -> int:
    """How many kinds of promo evidence a Chinese text shows (two calls to action count as
    two); none for text that reports news, or has no Chinese."""
    if _CJK.search(text) is None or _NEWS.search(text):
        return 0
    calls = {m.group() for m in _CTA.finditer(text)}
    score = min(len(calls), 2)
    if score == 0 and not _SLOGAN.search(text):
        return 0
    return (
        score
        + (_SLOGAN.search(text) is not None)
        + (_PLATFORM.search(text) is not None)
        + (_BRAND.search(text) is not None)
    )


def _is_brand_line(text: str) -> bool:
    """A brand presenting its platform ("欧易OKX：安全、可靠的数字资产交易平台"): promo shape
    without slogan or call to action, so it counts only at an edge."""
    return (
        _BRAND.search(text) is not None
        and _PLATFORM.search(text) is not None
        and _CJK.search(text) is not None
        and _NEWS.search(text) is None
    )


def _cut_points(line: str, *, spaces: bool = True, start: int = 0, end: int = -1) -> list[int]:
    """Where a glued banner may end inside a line (looked for between ``start`` and ``end``):
    after a closing bracket, a bar, a sentence mark (or a space); never at the very end."""
    marks = _CUT_MARK.finditer(line, start, len(line) if end < 0 else end)
    return [
        m.end() for m in marks if 0 < m.end() < len(line) and (spaces or not m.group().isspace())
    ]


def _promo_prefix(line: str) -> int:
    """Length of a promo glued in front of the line (0 for none): the longest run of leading
    segments, each a promo part (the first may be a bare brand label), that is a promo as a
    whole and leaves a paragraph after it."""
    best = start = 0
    for cut in _cut_points(line, end=_PREFIX_MAX + 20):
        segment = line[start:cut]
        if not (_is_promo_part(segment) or (start == 0 and _is_label(segment))):
            break
        if _promo_score(line[:cut]) >= 2 and len(line) - cut >= 8:
            best = cut
        start = cut
    return best


def _promo_suffix(line: str) -> int:
    """Where a promo glued after the last paragraph begins (``len(line)`` for none); the run
    of promo parts may start with a bare brand label."""
    best = end = len(line)
    window = max(0, len(line) - _PREFIX_MAX - 21)
    for cut in reversed([0, *_cut_points(line, start=window)]):
        if len(line) - cut > _PREFIX_MAX + 20:
            break
        segment = line[cut:end]
        label = not _is_promo_part(segment)
        if label and not _is_label(segment):
            break
        if _promo_score(line[cut:]) >= 2 and cut >= 8:
            best = cut
        if label:
            break
        end = cut
    return best


def _is_promo_part(segment: str) -> bool:
    """Part of a glued promo: no news, and every clause a few words or promo wording (slogan,
    call to action, platform, brand); punctuation alone too."""
    if _NEWS.search(segment):
        return False
    clauses = [c for c in _CLAUSE.split(segment) if _WORD.search(c)]
    return all(_length(c) <= 8 or _PROMO_WORD.search(c) or _BRAND.match(c) for c in clauses) and (
        not clauses or any(_PROMO_WORD.search(c) or _BRAND.match(c) for c in clauses)
    )


def _is_label(segment: str) -> bool:
    """A bare name, as a brand stands before its slogan: short, one clause, no news."""
    text = segment.strip()
    return 0 < len(text) <= 16 and not _CLAUSE.search(text) and not _NEWS.search(text)


def _site_prefix(line: str, site_lines: frozenset[str]) -> int:
    """Length of the longest start of the line that stands on several of the site's pages."""
    if not site_lines or line in site_lines:
        return 0
    cuts = _cut_points(line, spaces=False, end=_PREFIX_MAX + 1)
    found = [cut for cut in cuts if line[:cut].rstrip() in site_lines]
    return max(found, default=0)


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


def _is_meta(line: str, *, head: bool = False, tail: bool = False) -> bool:
    """A date, time, byline or counter line ("2023-04-06 09:51:24 401", "阅读 401").

    Bare date lines count only above the body: at its end they sign a notice or cite the print
    edition ("2022年1月27日"), which belongs to the text. Below the body, a label ("声明：",
    "来源：") starts a notice even when it reads as a sentence."""
    if _LABEL.match(line):
        return True
    if len(line) > 100:
        return False
    short_phrase = (len(line) <= 40 and not _SENTENCE_END.search(line)) or (
        tail and len(line) <= 80
    )
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
    if size <= 120 and _FOLLOW.match(line) and not _NEWS.search(line):
        return True
    start = _AD_START.match(line)
    if start is None:
        return False
    # "Related: <headline>" is a link whatever its length; "Sign up for a Hulu account for
    # $11.99 a month" or "Log in as root on the device." are steps of a how-to, not buttons.
    if start.group().endswith(":"):
        return size <= 120
    return size <= 20 or (size <= 50 and not _ends_sentence(line))


def _is_frame(line: str, edge: bool) -> bool:
    """A newsletter's greeting ("Welcome back to In the Loop, …") or subscribe call ("Sign up
    to get it in your inbox"): naming the newsletter anywhere, and as a short line in the head
    or tail a greeting or a call to subscribe to something named."""
    if len(line) > 300:
        return False
    greeting = _GREETING.match(line)
    start = greeting or _FRAME_START.match(line)
    if start is None:
        return (
            _SIGNUP_NOW.search(line) is not None
            and _length(line) <= _FRAME_WORDS
            and not _NEWS.search(line)
        )
    if _NEWS.search(line):
        return False
    if _FRAME_WORD.search(line, 0 if greeting else start.end()):
        return True
    return (
        edge
        and _length(line) <= _FRAME_WORDS
        and (greeting is not None or _SUBSCRIBE_TO.match(line) is not None)
    )


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

"""clean_text drops ads, meta lines, summary echoes and footers, and nothing of the body; by
evidence (position, shape, promo wording, repetition, topic), so unseen brands go too, and
clean_lines says why each line went."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from newsbrief.articles.cleaner import (
    PROMO,
    Removed,
    clean_lines,
    clean_text,
    site_line_candidates,
)
from newsbrief.articles.summaries import summarize
from newsbrief.text.chinese import to_traditional
from newsbrief.text.html_text import html_to_text
from tests.conftest import seed_parts

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "config" / "samples"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
AD_ITEM = "国产大模型掀起开源潮，中小团队在算力之外找突破口"


def sample_items() -> dict[str, str]:
    """Title -> content:encoded of every item of the bundled sample feeds."""
    items: dict[str, str] = {}
    for feed in sorted(SAMPLES.glob("*.xml")):
        for item in ET.parse(feed).iter("item"):
            content = item.findtext(CONTENT)
            if content:
                items[item.findtext("title") or ""] = content
    return items


BOILERPLATE = (
    "欧易",
    "火币",
    "币安",
    "交易所",
    "摘要",
    "版权声明",
    "友情链接",
    "币圈社群",
)
# Sample items that carry boilerplate of their own, and the lines clean_text must drop.
SAMPLE_DROPS = {
    "当大模型学会花钱：AI 智能体试水稳定币支付": {
        "来源：硅谷与中关村 · AI 快讯",
        "免责声明：本文仅供参考，不构成任何投资建议。转载请注明出处。",
    }
}


def test_seed_text_becomes_its_body(seed_page: Path) -> None:
    text, headline, body, junk = seed_parts(seed_page)
    cleaned = clean_text(text, title=headline)
    assert cleaned == "\n".join(body)
    for word in (*BOILERPLATE, *junk):
        assert word not in cleaned


def test_seed_text_without_a_title_still_loses_ads_meta_echo_and_footer(seed_page: Path) -> None:
    text, _, body, junk = seed_parts(seed_page)
    cleaned = clean_text(text)
    assert cleaned.endswith(body[-1])
    assert body[0] in cleaned
    for word in (*junk, "欧易", "火币", "摘要", "版权", "友情链接"):
        assert word not in cleaned


def test_sample_feed_item_loses_ads_meta_summary_and_footer() -> None:
    html = sample_items()[AD_ITEM]
    cleaned = clean_text(html_to_text(html), title=AD_ITEM)
    lines = cleaned.splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("本月以来，已有至少五家国产大模型团队")
    assert lines[-1].endswith("是国产大模型下一阶段绕不开的问题。")
    for junk in (*BOILERPLATE, "版权所有", "©", "2026-11-20", "AI 导航", "矿机行情", AD_ITEM):
        assert junk not in cleaned


@pytest.mark.parametrize("title", [t for t in sample_items() if t != AD_ITEM])
def test_sample_items_lose_only_their_boilerplate(title: str) -> None:
    lines = html_to_text(sample_items()[title]).splitlines()
    dropped = SAMPLE_DROPS.get(title, set())
    assert clean_text("\n".join(lines), title=title).splitlines() == [
        line for line in lines if line not in dropped
    ]


def test_prose_that_mentions_exchanges_and_calls_to_action_is_kept() -> None:
    prose = [
        "币安创始人周二表示，比特币价格的波动主要来自宏观环境，交易所本身并不能左右行情，欧易和火币也发布了类似的声明。",
        "记者：你怎么看这次发布？",
        "分析人士建议投资者关注公众号等官方渠道发布的公告，而不是轻信群聊中的小道消息，也不要随意扫码下载来历不明的APP。",
        "Read more carefully and you will see that the central bank never promised a rate cut this year, analysts said on Tuesday.",
        "2022年1月27日",
    ]
    text = "\n".join(prose)
    assert clean_text(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "币安宣布上线新币种",  # a one-line flash item names an exchange: it is the news
        "交易所的困境\n"
        + "多家交易所本周收紧了杠杆上限，业内人士认为这与监管部门近期的表态有关，短期内还会有更多平台跟进。",
        "OKX 与 Coinbase 同日公布季度数据",
    ],
)
def test_short_lines_naming_exchanges_are_kept(text: str) -> None:
    assert clean_text(text) == text


def test_english_prose_code_and_headings_are_kept() -> None:
    lines = [
        "Summary",
        "Sign up for a Hulu ad-free account for $11.99 a month",
        "Log in as root on the device.",
        "source: ['src/tokens/**/*.json'],",
        "image: nginx:latest",
        "Source",
        "Listen to the following scenario and help me find a proper solution.",
    ]
    text = "\n".join(lines)
    assert clean_text(text) == text


def test_english_boilerplate() -> None:
    text = "\n".join(
        [
            "Subscribe to our newsletter",
            "Chip Makers Race to Cut Power Use",
            "By Jane Doe",
            "Published March 3, 2026 10:15 AM ET",
            "Chip makers are racing to cut the power their accelerators draw, as data centres hit the limits of local grids.",
            "Advertisement",
            "Related: Ten Things to Know About Data Centres",
            "Analysts expect the next generation of parts to use forty percent less energy for the same work.",
            "Share this article",
            "Most read stories of the week",
            "© 2026 Example Media. All rights reserved.",
        ]
    )
    cleaned = clean_text(text, title="Chip Makers Race to Cut Power Use")
    assert cleaned.splitlines() == [
        "Chip makers are racing to cut the power their accelerators draw, as data centres hit the limits of local grids.",
        "Analysts expect the next generation of parts to use forty percent less energy for the same work.",
    ]


def test_summary_that_is_not_an_echo_is_kept() -> None:
    body = "今年国内 AI 芯片的累计出货量有望首次突破一百万片，训练卡依旧供不应求，推理加速卡在下半年明显放量。"
    summary = "摘要：芯片厂商开始比拼每瓦性能，能耗成为新焦点。"
    assert clean_text(f"{summary}\n{body}") == f"{summary}\n{body}"
    echo = f"导读：{body[:30]}…"
    assert clean_text(f"{echo}\n{body}") == body


def test_related_heading_in_the_middle_does_not_cut_the_article() -> None:
    first = "第一段正文，介绍了事件的来龙去脉，以及多位业内人士对此的看法和判断。" * 2
    later = "第二段正文，继续讲述后续的发展，篇幅比第一段还要长一些，内容也更加详细。" * 4
    text = f"{first}\n相关阅读\n{later}"
    assert later in clean_text(text)
    assert clean_text(f"{first}\n{later}\n相关阅读\n另一篇文章的标题") == f"{first}\n{later}"


def test_site_lines_are_dropped() -> None:
    text = "本站导航 首页 快讯\n正文第一句话很长，讲述了这件事的来龙去脉和各方的反应。"
    cleaned = clean_text(text, site_lines=frozenset({"本站导航 首页 快讯"}))
    assert cleaned == "正文第一句话很长，讲述了这件事的来龙去脉和各方的反应。"


def test_empty_and_blank() -> None:
    assert clean_text("") == ""
    assert clean_text("\n \n\t") == ""


# ---- evidence, not lists: unseen brands, promos on one line or glued, reasons ---------------

ROOT_TAXONOMY = ROOT / "config" / "topics.yaml"
CRYPTO_TOPICS = {"crypto", "exchanges", "bitcoin", "ethereum", "defi", "crypto-regulation"}
# One line of brand, slogan and call to action, as crypto repost sites put above an article.
ONE_LINE_PROMOS = [
    "火币HTX｜全球领先的数字资产交易平台，注册即送…",
    "【OKX欧易】全球前二的加密资产交易平台，立即注册>>",
    "币安Binance：全球最大的加密货币交易所 | 注册领取100USDT手续费返现",
    # Brands no rule has heard of: caught by their shape alone.
    "星澜交易所QLX｜华人首选的数字资产交易平台，扫码注册领取新人盲盒",
    "【链岳Global】国内用户最喜爱的合约交易所，开户即送50U体验金！",
    "衡舟钱包（HZW）：安全、可靠的Web3钱包",
]


def seed_article(page: Path) -> tuple[str, list[str]]:
    """The seed page's headline and body, without its dress."""
    _, headline, body, _ = seed_parts(page)
    return headline, body


def topics_of(title: str, text: str) -> set[str]:
    from newsbrief.articles.topics import TopicMatcher
    from newsbrief.config.taxonomy import load_taxonomy

    matcher = TopicMatcher(load_taxonomy(ROOT_TAXONOMY).topics)
    return set(matcher.match(f"{title}\n{text}"))


@pytest.mark.parametrize("promo", ONE_LINE_PROMOS)
@pytest.mark.parametrize("where", ["top", "under the date", "glued", "bottom"])
def test_an_ai_article_loses_a_one_line_exchange_promo(
    seed_page: Path, promo: str, where: str
) -> None:
    """The repost that failed on unseen pages: the promo line stayed, led the summary and put
    the AI article under crypto and exchanges."""
    title, body = seed_article(seed_page)
    date = "2024-11-18 10:02:37 388"
    if where == "top":
        lines = [promo, title, date, *body]
    elif where == "under the date":
        lines = [title, date, promo, *body]
    elif where == "glued":  # no line break: the promo is cut off the first paragraph
        lines = [title, date, promo + body[0], *body[1:]]
    else:
        lines = [title, date, *body, promo]
    cleaned = clean_lines("\n".join(lines), title=title)
    assert cleaned.text == "\n".join(body)
    assert (promo.strip(), PROMO) in {(r.line.strip(), r.reason) for r in cleaned.removed} or (
        # a promo with a bar inside may come off in two parts
        "".join(r.line for r in cleaned.removed if r.reason in {PROMO, "call to action"})
        .replace(" ", "")
        .startswith(promo.replace(" ", "")[:6])
    )
    summary = summarize(cleaned.text, "zh-Hans")
    assert not summary.startswith(promo[:4]) and promo[:6] not in summary
    assert topics_of(title, cleaned.text) == topics_of(title, "\n".join(body))
    assert not topics_of(title, cleaned.text) & CRYPTO_TOPICS


def test_a_traditional_repost_loses_the_same_promo(seed_page: Path) -> None:
    title, body = seed_article(seed_page)
    promo = to_traditional("【链岳Global】国内用户最喜爱的合约交易所，开户即送50U体验金！")
    lines = [to_traditional(x) for x in [title, "摘要:" + body[0][:60] + "...", *body]]
    text = "\n".join([promo, lines[0], lines[1], promo + lines[2], *lines[3:]])
    cleaned = clean_lines(text, title=lines[0])
    assert cleaned.text == "\n".join(lines[2:])
    assert [r.reason for r in cleaned.removed] == [PROMO, "headline", "summary echo", PROMO]


def test_the_seed_with_brand_and_slogan_on_one_line(seed_page: Path) -> None:
    """The seed's ad block written as one line per brand, its 摘要 echo kept in place."""
    text, headline, body, _ = seed_parts(seed_page)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    start = lines.index(headline)
    one_line = ["欧易OKX｜国内用户最喜爱的合约交易所", "火币(HTX)：全球知名的比特币交易所"]
    cleaned = clean_lines("\n".join([*one_line, *lines[start:]]), title=headline)
    assert cleaned.text == "\n".join(body)
    reasons = {r.line: r.reason for r in cleaned.removed}
    assert [reasons[line] for line in one_line] == [PROMO, PROMO]
    assert reasons[next(line for line in lines if line.startswith("摘要"))] == "summary echo"


@pytest.mark.parametrize(
    "paragraph",
    [
        "币安宣布将于下周一上线新的永续合约交易对，用户需在交易所完成身份认证后才能参与交易。",
        "据彭博社报道，全球最大的加密货币交易所币安本周表示，将在欧洲申请更多牌照。",
        "欧易OKX周二公布的储备金证明显示，平台持有的比特币储备覆盖率超过100%。",
        "火币HTX表示，新用户注册即送的体验金活动已于昨日结束，相关奖励将在三个工作日内发放。",
        "Coinbase 与 Kraken 同日发布季度报告，两家交易所的现货交易量均较上季度下降。",
    ],
)
def test_news_about_exchanges_and_their_offers_stays(paragraph: str) -> None:
    """First paragraphs, subheads and last lines that name exchanges, brands or offers are the
    news itself: they report (宣布, 表示, 据…报道, a date) instead of selling."""
    rest = [
        "分析人士认为，监管环境的变化正在推动各大平台调整业务布局，合规成本也随之上升。",
        "多家机构的研究报告指出，今年下半年加密市场的交易活跃度有望逐步回升。",
    ]
    for lines in ([paragraph, *rest], [rest[0], paragraph, rest[1]], [*rest, paragraph]):
        text = "\n".join(lines)
        assert clean_text(text, title="加密市场周报") == text


def test_subheads_naming_a_brand_stay_inside_the_body() -> None:
    body = [
        "多家交易所本周调整了合约产品的保证金规则，业内人士认为这与近期市场的剧烈波动有关。",
        "欧易OKX推出Web3钱包",
        "该钱包支持多条公链的资产管理，用户可以在同一个界面中完成转账和兑换等操作。",
    ]
    assert clean_text("\n".join(body)) == "\n".join(body)


def test_removed_lines_carry_their_reasons(caplog: pytest.LogCaptureFixture) -> None:
    title = "Chip Makers Race to Cut Power Use"
    lines = [
        "Welcome back to In the Loop, TIME's new twice-weekly newsletter about AI.",
        title,
        "By Jane Doe",
        "Chip makers are racing to cut the power their accelerators draw, as data centres hit the limits of local grids.",
        "Read more: Ten Things to Know About Data Centres",
        "Analysts expect the next generation of parts to use forty percent less energy for the same work.",
        "Sign up to receive In the Loop in your inbox every Tuesday and Friday.",
        "Follow Jane Doe on Twitter: @janedoe",
        "© 2026 Example Media. All rights reserved.",
    ]
    with caplog.at_level(logging.DEBUG, logger="newsbrief.articles.cleaner"):
        cleaned = clean_lines("\n".join(lines), title=title)
    assert cleaned.text == clean_text("\n".join(lines), title=title)
    assert cleaned.text.splitlines() == [lines[3], lines[5]]
    assert [(r.line, r.reason) for r in cleaned.removed] == [
        (lines[0], "newsletter framing"),
        (lines[1], "headline"),
        (lines[2], "meta"),
        (lines[4], "call to action"),
        (lines[6], "newsletter framing"),
        (lines[7], "call to action"),
        (lines[8], "copyright"),
    ]
    logged = [r.getMessage() for r in caplog.records]
    assert any("newsletter framing" in m and "In the Loop" in m for m in logged)


@pytest.mark.parametrize(
    "frame",
    [
        "Welcome back to This Week in Stratechery!",
        "Welcome back to In the Loop, TIME's new twice-weekly newsletter about AI.",
        "Hello and welcome to The Download, your daily dose of what's up in emerging technology.",
        "Not a subscriber yet? Sign up here.",
        "Forwarded this email? Subscribe here for more.",
        "You're reading Morning Signal, a newsletter about money.",
        "Get The Briefing delivered to your inbox every weekday. Sign up for free.",
        "Follow us on Twitter, Facebook and Instagram",
        "Read more: The chip war's next front",
        "Share this story",
        "Written by Mei Chen",
    ],
)
def test_english_newsletter_framing_goes(frame: str) -> None:
    body = [
        "The company said on Tuesday that it would spend another ten billion dollars on data centres next year, most of it in Texas.",
        "Investors cheered the plan, sending the shares up five percent in early trading.",
    ]
    for lines in ([frame, *body], [body[0], frame, body[1]], [*body, frame]):
        assert clean_text("\n".join(lines)) == "\n".join(body), lines


def test_english_prose_that_starts_like_a_frame_stays() -> None:
    lines = [
        "Welcome to the age of the chatbot, where every company claims to have one and few can say what it is for, as executives admitted at the conference on Monday.",
        "Sign up rates for the service doubled after the price cut, according to the company.",
        "Read more carefully and the filing shows a loss in every quarter since the listing.",
        "Follow the money and the story becomes clearer: most of the funding came from two investors.",
    ]
    text = "\n".join(lines)
    assert clean_text(text) == text


def test_short_head_and_tail_lines_about_something_else_go() -> None:
    """No rule names them: they share no word with the story (site slogans, navigation)."""
    body = [
        "国内多家大模型公司本周发布了新的开源模型，参数规模从七十亿到七百亿不等，吸引了大量开发者试用。",
        "业内人士认为，开源模型降低了中小企业使用人工智能的门槛，但算力成本仍是主要障碍。",
        "多位投资人表示，今年下半年将继续关注大模型在金融、教育和医疗等行业的落地情况。",
    ]
    head, tail = "首页 > 资讯 > 正文", "星河资讯每日为读者整理要闻"
    cleaned = clean_lines("\n".join([head, *body, tail]))
    assert cleaned.text == "\n".join(body)
    assert [r.reason for r in cleaned.removed] == ["off-topic", "off-topic"]
    # A heading that is about the story stays.
    kept = "开源大模型的价格战"
    assert clean_text("\n".join([kept, *body])) == "\n".join([kept, *body])


def test_a_banner_glued_to_the_first_line_is_cut_when_the_site_repeats_it() -> None:
    body = "某科技公司周二发布了新一代大语言模型，称其在推理和代码生成上有明显提升。"
    banner = "星河资讯｜"
    candidates = site_line_candidates(banner + body)
    assert banner.rstrip() in candidates
    cleaned = clean_lines(banner + body, site_lines=frozenset({banner}))
    assert cleaned.text == body
    assert cleaned.removed == (Removed(banner, "site line"),)
    assert clean_text(banner + body) == banner + body  # no rule knows it without the site

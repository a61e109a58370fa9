"""clean_text drops ads, meta lines, summary echoes and footers, and nothing of the body."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from newsbrief.articles.cleaner import clean_text
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

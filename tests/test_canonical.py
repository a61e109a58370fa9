"""Canonical URLs and normalised titles."""

from __future__ import annotations

import pytest

from newsbrief.articles.canonical import canonical_url, normalized_title
from newsbrief.text.chinese import to_traditional

WX = "https://mp.weixin.qq.com/s?__biz=MzA3MzI4MjgzMw==&mid=2650918372&idx=1&sn=9d1c5f3e2a"
WX_CANONICAL = (
    "https://mp.weixin.qq.com/s?__biz=MzA3MzI4MjgzMw==&idx=1&mid=2650918372&sn=9d1c5f3e2a"
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # scheme and host case, default ports, empty path, fragments
        ("HTTPS://WWW.Example.COM", "https://www.example.com/"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("http://example.com:443/a", "http://example.com:443/a"),
        ("https://example.com/a#comments", "https://example.com/a"),
        ("https://example.com./a", "https://example.com/a"),
        # paths are kept as they are (case, trailing slash, index pages)
        ("https://example.com/News/Index.html", "https://example.com/News/Index.html"),
        ("https://example.com/a/", "https://example.com/a/"),
        # tracking parameters dropped, the rest sorted
        ("https://example.com/a?utm_source=x&utm_medium=y&id=3", "https://example.com/a?id=3"),
        ("https://example.com/a?UTM_Campaign=x", "https://example.com/a"),
        ("https://example.com/a?b=2&a=1&fbclid=zz&gclid=q", "https://example.com/a?a=1&b=2"),
        ("https://example.com/a?yclid=1&mc_cid=2&mc_eid=3&share_token=4", "https://example.com/a"),
        (
            "https://news.example.cn/a.html?spm=a2c4g.11186623&p=2",
            "https://news.example.cn/a.html?p=2",
        ),
        # WeChat's share noise is dropped from any site's links
        (
            "https://www.36kr.com/p/123?from=singlemessage&isappinstalled=0",
            "https://www.36kr.com/p/123",
        ),
        (
            "https://example.com/a?scene=1&srcid=0101&sharer_sharetime=1&sharer_shareid=x&clicktime=9&enterid=9",
            "https://example.com/a",
        ),
        # ...but generic names keep their meaning off WeChat
        ("https://example.com/a?lang=en&version=2", "https://example.com/a?lang=en&version=2"),
        # empty values and repeated keys are kept
        ("https://example.com/a?q=&tag=b&tag=a", "https://example.com/a?q=&tag=a&tag=b"),
        ("https://example.com/search?q=a+b%26c", "https://example.com/search?q=a%20b%26c"),
        (
            "https://example.com/search?q=%E4%B8%AD%E6%96%87",
            "https://example.com/search?q=%E4%B8%AD%E6%96%87",
        ),
        # WeChat articles: the four naming parameters, nothing else, always https
        (
            WX + "&chksm=8c1&scene=21&ascene=1&devicetype=iOS&version=18&nettype=WIFI"
            "&lang=zh_CN&pass_ticket=abc&wx_header=1#rd",
            WX_CANONICAL,
        ),
        (
            "http://mp.weixin.qq.com/s?sn=9d1c5f3e2a&idx=1&mid=2650918372&__biz=MzA3MzI4MjgzMw==",
            WX_CANONICAL,
        ),
        (
            "https://mp.weixin.qq.com/s/AbC-dEf_123?scene=1&from=timeline",
            "https://mp.weixin.qq.com/s/AbC-dEf_123",
        ),
        (
            "https://mp.weixin.qq.com/mp/appmsgalbum?__biz=Mz==&album_id=7&lang=zh_CN&version=1",
            "https://mp.weixin.qq.com/mp/appmsgalbum?__biz=Mz==&album_id=7",
        ),
        # credentials, IPv6, other schemes and junk pass through
        ("https://user:pw@Example.com:443/a", "https://user:pw@example.com/a"),
        ("http://[::1]:80/a", "http://[::1]/a"),
        ("mailto:someone@example.com", "mailto:someone@example.com"),
        ("https://example.com:99999/a", "https://example.com:99999/a"),
        ("  https://example.com/a  ", "https://example.com/a"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_wechat_query_forms_agree() -> None:
    # Percent-encoded or not, the same article gets one key.
    plain = canonical_url(WX + "&chksm=1")
    assert plain == WX_CANONICAL == canonical_url(WX.replace("==", "%3D%3D"))
    assert canonical_url(plain) == plain


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        (
            "/news/1.html?utm_source=rss",
            "https://Example.com/feed.xml",
            "https://example.com/news/1.html",
        ),
        ("2.html", "https://example.com/news/1.html", "https://example.com/news/2.html"),
        ("../a", "https://example.com/x/y/z", "https://example.com/x/a"),
        ("//cdn.example.com/a", "https://example.com/", "https://cdn.example.com/a"),
        ("https://other.org/a", "https://example.com/", "https://other.org/a"),
        ("?page=2#top", "https://example.com/list", "https://example.com/list?page=2"),
    ],
)
def test_relative_links_resolve_against_base(url: str, base: str, expected: str) -> None:
    assert canonical_url(url, base) == expected


def test_canonical_url_is_idempotent() -> None:
    for url in (WX + "&scene=1", "HTTP://A.com:80?b=1&a=2&utm_x=1", "https://mp.weixin.qq.com/s/x"):
        once = canonical_url(url)
        assert canonical_url(once) == once


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("OpenAI 发布 GPT-5 - 36氪", "openai发布gpt5"),
        ("比特币突破十万美元_新浪财经_新浪网", "比特币突破十万美元"),
        ("Apple unveils Vision Pro 2 | The Verge", "appleunveilsvisionpro2"),
        ("英伟达财报超预期｜华尔街见闻", "英伟达财报超预期"),
        ("Ｂｉｔｃｏｉｎ　ＥＴＦ 获批！", "bitcoinetf获批"),
        # script only: OpenCC's t2s keeps regional words (晶片 stays 晶片)
        ("輝達發布新一代晶片 - 科技新報", "辉达发布新一代晶片"),
        # separators that belong to the title stay
        ("GPT-4 vs. Claude: a 2024-05-01 comparison", "gpt4vsclaudea20240501comparison"),
        (
            "A - Long subtitle that is clearly part of the headline itself",
            "alongsubtitlethatisclearlypartoftheheadlineitself",
        ),
        ("短 - 新浪财经", "短新浪财经"),
        ("", ""),
    ],
)
def test_normalized_title(title: str, expected: str) -> None:
    assert normalized_title(title) == expected


def test_reposted_titles_agree() -> None:
    original = "央行宣布降准0.5个百分点，释放长期资金约1万亿元"
    reposts = [
        original + " - 东方财富网",
        original + "_财经频道_腾讯网",
        to_traditional(original) + " | 香港經濟日報",
        "  " + original.replace("，", ", ") + "  ",
    ]
    assert {normalized_title(t) for t in reposts} == {normalized_title(original)}

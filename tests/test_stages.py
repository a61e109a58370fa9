"""Unit tests of the pure stages: Record in, Record out."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsbrief.articles.build import build_article, fingerprint
from newsbrief.articles.summaries import split_sentences, summarize
from newsbrief.articles.topics import TopicMatcher
from newsbrief.feeds.parse import FeedParseError, entry_key, parse_feed
from newsbrief.records import Entry, Topic, TopicNames
from newsbrief.text.html_text import html_to_text
from newsbrief.text.language import detect_language

SAMPLES = Path(__file__).resolve().parent.parent / "config" / "samples"
# A topic without aliases is matched by its names too: these have none, so only the terms count.
NAMELESS = TopicNames("", "", "")


def test_entry_identity_prefers_guid_then_link_then_content() -> None:
    assert entry_key(" g1 ", "https://x/1", "t", "c") == "g1"
    assert entry_key(None, "https://x/1", "t", "c") == "https://x/1"
    hashed = entry_key(None, None, "t", "c")
    assert hashed.startswith("sha256:") and hashed == entry_key("", "  ", "t", "c")
    assert hashed != entry_key(None, None, "t", "other")


def test_parse_sample_feeds() -> None:
    zh = parse_feed("zh-ai", (SAMPLES / "zh-ai.xml").read_bytes())
    en = parse_feed("en-tech", (SAMPLES / "en-tech.xml").read_bytes())
    assert len(zh.entries) == 3 and len(en.entries) == 3
    assert any(e.title == "AI 芯片出货量 >100 万片：算力 & 能耗之争" for e in zh.entries)
    assert all(e.link and e.link.startswith("https://") for e in zh.entries + en.entries)
    assert all(e.published_at is not None for e in en.entries)
    # content:encoded (full HTML) wins over the short description
    assert all(len(e.content_html) > 200 for e in zh.entries)


def test_garbage_is_not_a_feed() -> None:
    with pytest.raises(FeedParseError):
        parse_feed("x", b"\x00\x01 definitely not xml")


def test_html_to_text_keeps_blocks_and_drops_scripts() -> None:
    text = html_to_text("<p>One &amp; two</p><script>evil()</script><div>Three<br>four</div>")
    assert text == "One & two\nThree\nfour"
    assert html_to_text("<p>unclosed <b>bold") == "unclosed bold"


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("大模型正在改变软件开发的方式。", "zh-Hans"),
        ("Chips are getting smaller.", "en"),
        ("12345", "other"),
    ],
)
def test_detect_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang


def test_topic_keywords_match_whole_latin_words_only() -> None:
    matcher = TopicMatcher(
        [Topic("ai", NAMELESS, ("AI", "大模型")), Topic("crypto", NAMELESS, ("BTC",))]
    )
    assert matcher.match("New AI model released") == ("ai",)
    assert matcher.match("PAID subscribers in Thailand") == ()
    assert matcher.match("国产大模型开源") == ("ai",)
    assert matcher.match("BTC hits a high; AI-driven trading") == ("ai", "crypto")
    assert matcher.match("nothing here", base=("crypto",)) == ("crypto",)


def test_summary_takes_leading_sentences_within_budget() -> None:
    zh = "第一句话。第二句话！第三句话？第四句话。"
    assert summarize(zh, "zh-Hans") == "第一句话。第二句话！第三句话？"
    long_zh = "很长的句子" * 40 + "。后面的句子。"
    assert len(summarize(long_zh, "zh-Hans")) <= 120
    en = "First sentence here. Second one follows. Third closes. Fourth is dropped."
    assert summarize(en, "en") == "First sentence here. Second one follows. Third closes."
    assert split_sentences("A.\nB。C") == ["A.", "B。", "C"]
    assert summarize("", "en") == ""


def test_build_article() -> None:
    entry = Entry(
        feed_id="f",
        key="k",
        title="  GPT &  friends ",
        link="https://x/a",
        content_html="<p>OpenAI 发布了新的大模型。它更快。</p>",
    )
    article = build_article(7, entry, TopicMatcher([Topic("ai", NAMELESS, ("大模型",))]), ("tech",))
    assert article.title == "GPT & friends"
    assert article.lang == "zh-Hans"
    assert article.topics == ("ai", "tech")
    assert article.summary == "OpenAI 发布了新的大模型。它更快。"
    assert article.fingerprint == fingerprint("OpenAI发布了新的大模型 它更快")


def test_titles_are_plain_text_whatever_the_feed_escaped() -> None:
    raw = (
        '<rss version="2.0"><channel><title>t</title>'
        "<item><title>a &lt; b &amp;&amp; c &gt; d 🚀</title><link>https://e/1</link></item>"
        "<item><title>&lt;/b&gt; stray close</title><link>https://e/2</link></item>"
        "</channel></rss>"
    ).encode()
    first, second = parse_feed("f", raw).entries
    assert first.title == "a < b && c > d 🚀"
    assert second.title == "stray close"


def test_only_teasers_send_the_fetcher_to_the_article_page() -> None:
    from jobs.process import needs_page

    def entry(html: str, link: str | None = "https://x.example/a") -> Entry:
        return Entry(feed_id="f", key="k", title="t", link=link, content_html=html)

    full = "<p>" + "这是一段完整的正文。" * 60 + "</p>"
    assert not needs_page(entry(full), "auto")
    assert needs_page(entry("<p>Short teaser, read on…</p>"), "auto")
    assert needs_page(entry(full[:-4] + "阅读全文</p>"), "auto")
    assert needs_page(entry(full), "always") and not needs_page(entry(""), "never")
    assert not needs_page(entry("", link=None), "always")

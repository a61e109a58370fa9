"""The console's topics page in a real browser: story counts per topic, and the "try it" box
filing a Chinese AI headline under ``ai`` (a crypto one not), from pasted text and from a URL."""

from __future__ import annotations

from typing import Any

from tests.console_site import Site, shoot, wait_until


def stories_shown(page: Any, site: Site) -> dict[str, str]:
    page.goto(site.url("/topics"))
    return {
        topic: page.locator(f"#topic-{topic} td.stories").inner_text() for topic in ("ai", "crypto")
    }


def test_topics_show_story_counts_and_file_a_chinese_ai_headline(console: Any, site: Site) -> None:
    # The feeds hold two AI stories (one Chinese, one English) and one crypto story.
    wait_until(lambda: stories_shown(console, site) == {"ai": "2", "crypto": "1"}, what="stories")

    console.fill("#try-title", "谷歌发布新一代大模型，多模态推理能力全面升级")
    console.fill("#try-text", "谷歌今天发布了新一代大模型，在图像理解和代码生成上大幅领先上一代。")
    console.click("form[action$='/topics#try-result'] button[type=submit]")
    result = console.locator("#try-result")
    assert "zh-Hans" in result.locator(".try-lang").inner_text()
    ai = result.locator("[data-topic=ai]")
    assert ai.count() == 1
    assert "大模型" in ai.locator("mark").all_inner_texts()
    assert result.locator("[data-topic=crypto]").count() == 0
    assert console.input_value("#try-title").startswith("谷歌发布")  # the form keeps what was tried
    shoot(console, "topics")

    console.fill("#try-title", "比特币价格创下新高，以太坊同步上涨")
    console.fill("#try-text", "比特币今日突破历史高点，加密货币市场交易活跃。")
    console.click("form[action$='/topics#try-result'] button[type=submit]")
    result = console.locator("#try-result")
    assert result.locator("[data-topic=crypto]").count() == 1
    assert result.locator("[data-topic=ai]").count() == 0


def test_try_it_reads_a_page_by_url(console: Any, site: Site) -> None:
    article = (
        "<html><head><title>大模型新闻</title></head><body><nav>首页 | 科技</nav><article>"
        "<h1>Anthropic 发布新一代大语言模型</h1>"
        + "<p>Anthropic 今天发布了新一代大语言模型，在长文本理解和代码推理上显著提升。</p>" * 4
        + "</article></body></html>"
    )
    site.feeds.set("/article.html", article, "text/html; charset=utf-8")
    console.goto(site.url("/topics"))
    console.fill("#try-url", site.feeds.url("/article.html"))
    console.click("form[action$='/topics#try-result'] button[type=submit]")
    result = console.locator("#try-result")
    assert result.locator("[data-topic=ai]").count() == 1
    assert "长文本理解" in result.locator(".excerpt").inner_text()

    console.fill("#try-url", "file:///etc/passwd")
    console.click("form[action$='/topics#try-result'] button[type=submit]")
    assert "http" in console.locator("#try-result").inner_text()  # refused, nothing fetched

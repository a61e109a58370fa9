from __future__ import annotations

from bot.console import as_plain_text
from bot.telegram.limits import MAX_TEXT_UTF16
from bot.telegram.render import render_digest, utf16_len, visible_len
from newsbrief.records import Digest, DigestSection, StoryItem

NASTY = 'a < b && c > d </b><i>unclosed "quoted" 🚀'


def item(
    seq: int,
    title: str = "Title",
    summary: str = "Summary.",
    url: str | None = "https://x/?a=1&b=2",
) -> StoryItem:
    return StoryItem(
        story_id=seq,
        seq=seq,
        title=title,
        url=url,
        summary=summary,
        source="Feed <&>",
        topics=("ai",),
        source_count=2,
    )


def digest(items: list[StoryItem], lang: str = "en") -> Digest:
    return Digest(
        subscriber_id=1,
        lang=lang,
        cursor=99,
        sections=(DigestSection("ai", "AI & ML", tuple(items)),),
    )


def test_everything_from_feeds_is_escaped() -> None:
    (message,) = render_digest(digest([item(1, title=NASTY, summary=NASTY)]))
    assert NASTY not in message.text
    assert (
        "a &lt; b &amp;&amp; c &gt; d &lt;/b&gt;&lt;i&gt;unclosed &quot;quoted&quot; 🚀"
        in message.text
    )
    assert 'href="https://x/?a=1&amp;b=2"' in message.text
    assert "AI &amp; ML" in message.text and "Feed &lt;&amp;&gt;" in message.text
    plain = as_plain_text(message.text)
    assert plain.count(NASTY) == 2
    assert "also reported by 1 sources" in plain


def test_long_digests_split_between_items_within_the_limit() -> None:
    items = [item(i, title=f"标题 {i} " + "😀" * 40, summary="长" * 500) for i in range(60)]
    messages = render_digest(digest(items, "zh-Hans"))
    assert len(messages) > 1
    for message in messages:
        assert visible_len(message.text) <= MAX_TEXT_UTF16
        assert message.text.count("<a ") == message.text.count("</a>")
    titles = sum(m.text.count("标题 ") for m in messages)
    assert titles == 60
    assert messages[1].text.startswith("（续）")


def test_utf16_counts_astral_characters_twice() -> None:
    assert utf16_len("😀") == 2 and utf16_len("中") == 1
    assert visible_len("<b>a &amp; b</b>") == 5

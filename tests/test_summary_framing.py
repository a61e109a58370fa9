"""Newsletter framing never reaches a summary: a generator wraps article bodies in it.

Shapes the generator draws from, in English and Chinese (each variant takes several, at random
but reproducibly):

- greetings opening the text, on their own line or run into the first paragraph
  ("Welcome back to …, …'s newsletter about …", "Good morning! Here's what you need to know",
  "大家好，欢迎来到…第12期。");
- sign-up, subscribe and "read in your browser" lines, at the top or the bottom;
- share and forward lines, "Read more", sign-offs ("Thanks for reading! See you next week.");
- bylines ("By Jane Doe", "文 | 张三") and labelled notes ("编者按：…");
- section headings between paragraphs: short lines without a final mark, made of the next
  paragraph's own words (so only their shape, not their vocabulary, gives them away);
- WeChat follow calls ("点击上方蓝字关注我们", "喜欢本文的话，请点个在看吧。").

Bodies: a few written here (so the test runs on a fresh clone), and the dev part of the shared
corpora (``bench/holdout.py``): English page bodies with ground truth, BBC articles, and LCSTS
texts joined three to a body. The summary of a framed body must contain none of the framing,
must not start with it, and is almost always the summary of the bare body.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.holdout import held_out
from newsbrief.articles.summaries import summarize

NEWSLETTERS = ("In the Loop", "The Download", "Morning Brew", "Tech Digest", "Stratechery")
PUBLICATIONS = ("TIME", "The Verge", "Axios", "Quartz")
ZH_NAMES = ("科技早报", "AI周刊", "币圈日报", "深度观察")

EN_GREETINGS = (
    "Welcome back to {name}, {pub}'s new twice-weekly newsletter about {topic}.",
    "Welcome back to This Week in {name}!",
    "Hi everyone, and welcome to this week's edition of {name}.",
    "Good morning! Here's what you need to know today.",
    "Hello and welcome to {name}, your weekly guide to {topic}.",
    "Happy Friday! Thanks for reading {name}.",
    "Hey there, {name} readers.",
)
EN_TOP = (
    "If you're reading this in your inbox, click here to view it in your browser.",
    "Sign up to receive {name} in your inbox every Tuesday.",
    "Not a subscriber yet? Sign up here.",
    "View this email online",
    "Get {name} delivered to your inbox.",
    "By Jane Doe",
    "By JANE DOE and John Roe, {pub}",
)
EN_BOTTOM = (
    "Forward this email to a friend who might enjoy it.",
    "Know someone who would like this? Share it with them.",
    "Subscribe to our newsletter for more stories like this.",
    "Read more",
    "Read more: {name} on {topic}",
    "Thanks for reading! See you next week.",
    "Have a great weekend!",
    "Sign up for {name} to get the latest on {topic}.",
)
ZH_GREETINGS = (
    "大家好，欢迎来到{name}第{n}期。",
    "各位读者朋友们好！",
    "亲爱的读者，早上好。",
    "欢迎收看本期{name}。",
)
ZH_TOP = (
    "点击上方蓝字关注我们",
    "点击上方“{name}”，关注公众号",
    "编者按：本期我们关注{topic}。",
    "本期导读",
    "文 | 张三",
)
ZH_BOTTOM = (
    "欢迎转发分享给更多朋友！",
    "喜欢本文的话，请点个在看吧。",
    "扫码关注{name}，获取更多资讯。",
    "感谢阅读，我们下期再见。",
    "点击阅读原文，查看更多内容",
)


@dataclass(frozen=True)
class Framed:
    text: str
    body: str
    lang: str
    framing: tuple[str, ...]
    headings: tuple[str, ...]


def _paragraphs(body: str) -> list[str]:
    return [line.strip() for line in body.splitlines() if line.strip()]


def _heading(paragraph: str, chinese: bool, rng: random.Random) -> str:
    """A section heading made of the paragraph's own first words, without a final mark."""
    if chinese:
        words = paragraph[: rng.randint(4, 9)]
        head = "".join(c for c in words if c.isalnum())
        return rng.choice(("{}", "一、{}", "【{}】")).format(head)
    words = [w.strip(".,;:!?\"'“”’()") for w in paragraph.split()[: rng.randint(2, 5)]]
    return " ".join(w[:1].upper() + w[1:] for w in words if w)


def frame(body: str, lang: str, rng: random.Random) -> Framed:
    """``body`` wrapped in newsletter framing of several shapes, and the framing used."""
    chinese = lang.startswith("zh")
    fill = {
        "name": rng.choice(ZH_NAMES if chinese else NEWSLETTERS),
        "pub": rng.choice(PUBLICATIONS),
        "topic": rng.choice(("人工智能", "加密货币") if chinese else ("AI", "crypto", "tech")),
        "n": rng.randint(2, 99),
    }
    greetings, top, bottom = (
        (ZH_GREETINGS, ZH_TOP, ZH_BOTTOM) if chinese else (EN_GREETINGS, EN_TOP, EN_BOTTOM)
    )
    paragraphs = _paragraphs(body)
    framing: list[str] = []
    headings: list[str] = []
    lines: list[str] = []
    greeting = rng.choice(greetings).format(**fill)
    framing.append(greeting)
    for line in rng.sample(top, rng.randint(0, 2)):
        framing.append(line.format(**fill))
        lines.append(framing[-1])
    run_in = rng.random() < 0.4  # the greeting opens the first paragraph's line
    for i, paragraph in enumerate(paragraphs):
        if i > 0 and rng.random() < 0.5:
            heading = _heading(paragraph, chinese, rng)
            if heading and heading.lower() not in body.lower():
                headings.append(heading)
                lines.append(heading)
        if i == 0 and run_in:
            lines.append(greeting + ("" if chinese else " ") + paragraph)
        else:
            lines.append(paragraph)
    if not run_in:
        lines.insert(rng.randint(0, len(lines) - len(paragraphs)), greeting)
    for line in rng.sample(bottom, rng.randint(1, 3)):
        framing.append(line.format(**fill))
        lines.append(framing[-1])
    return Framed("\n".join(lines), body, lang, tuple(framing), tuple(headings))


def check(framed: Framed) -> str:
    """The summary of the framed text, checked to hold no framing; returns it."""
    summary = summarize(framed.text, framed.lang)
    assert summary, framed.text
    for piece in framed.framing:
        assert piece not in summary, (piece, summary)
        assert not summary.startswith(piece[:12]), (piece, summary)
    for heading in framed.headings:  # made of the body's words: only the whole is framing
        assert heading not in summary, (heading, summary)
    return summary


# ---- bodies -------------------------------------------------------------------------------

EN_BODY = """\
The European Union agreed on Tuesday to require large artificial intelligence developers to \
publish summaries of the data they train on, after talks that ran through the night.
The rules apply to models trained with more than a set amount of computing power. Companies \
that break them face fines of up to three percent of their annual turnover.
Officials said the first obligations take effect next year. Industry groups warned that the \
rules could slow the release of new models in Europe, while consumer groups welcomed them."""

ZH_BODY = """\
国家网信办周二发布生成式人工智能服务管理新规，要求服务提供者对训练数据来源进行公示。
新规明确，提供者应当建立投诉举报机制，及时处理用户关于生成内容的投诉。
业内人士认为，新规将推动大模型企业完善数据治理，短期内可能增加合规成本。"""


def own_bodies() -> Iterator[tuple[str, str]]:
    yield EN_BODY, "en"
    yield ZH_BODY, "zh-Hans"


def shared_bodies(shared: Path) -> Iterator[tuple[str, str]]:
    """Dev-part bodies of the shared corpora (the held-out part is for measuring only)."""
    data = shared / "data"
    truth = json.loads((data / "extraction_en" / "ground-truth.json").read_text("utf-8"))
    for key, page in sorted(truth.items()):
        if not held_out(key):
            yield page["articleBody"], "en"
    with (data / "summaries_en_bbc" / "articles.jsonl").open(encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    bbc = [row["article"] for row in rows if not held_out(row["article"])]
    for article in bbc[::25]:
        yield article.strip().partition("\n")[2].strip(), "en"
    with (data / "summaries_zh_lcsts" / "pairs.jsonl").open(encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f if line.strip()]
    dev = [text for text in texts if not held_out(text)]
    for i in range(0, 360, 3):
        yield "\n".join(dev[i : i + 3]), "zh-Hans"


# ---- tests --------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(30))
def test_framing_never_reaches_the_summary(seed: int) -> None:
    rng = random.Random(seed)
    for body, lang in own_bodies():
        framed = frame(body, lang, rng)
        assert check(framed) == summarize(body, lang)


def test_framing_of_shared_bodies_never_reaches_the_summary(shared: Path) -> None:
    rng = random.Random(13)
    variants = same = 0
    for body, lang in shared_bodies(shared):
        if not summarize(body, lang):
            continue
        for _ in range(2):
            framed = frame(body, lang, rng)
            same += check(framed) == summarize(body, lang)
            variants += 1
    assert variants >= 400
    # Framing removed, the text is the body again: its summary should not change.
    assert same / variants >= 0.9, (same, variants)


def test_the_generator_frames_in_every_shape() -> None:
    """The generator really produces what the module docstring lists."""
    rng = random.Random(1)
    texts = [frame(body, lang, rng) for _ in range(40) for body, lang in own_bodies()]
    joined = "\n".join(f.text for f in texts)
    for shape in (
        "Welcome back to",
        "Sign up",
        "Forward this",
        "Read more",
        "By ",
        "大家好",
        "点击上方",
    ):
        assert shape in joined, shape
    # Headings between paragraphs and greetings run into the first paragraph both occur.
    assert sum(len(f.headings) for f in texts) >= 20
    assert any(
        f.text.splitlines()[i].startswith(f.framing[0]) and len(f.text.splitlines()[i]) > 80
        for f in texts
        for i in range(len(f.text.splitlines()))
    )

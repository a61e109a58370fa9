"""``newsbrief analyze``: JSON Lines in, one line out per input, in order; bad input gets a clear
per-item error and the batch goes on; reposts share a story."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import SEED_SHAPED

ROOT = Path(__file__).resolve().parent.parent

BODY = [
    "国内多家大模型公司本周发布了新的开源模型，参数规模从七十亿到七百亿不等，吸引了大量开发者试用。",
    "业内人士认为，开源模型降低了中小企业使用人工智能的门槛，但算力成本仍是主要障碍。",
    "多位投资人表示，今年下半年将继续关注大模型在金融、教育和医疗等行业的落地情况。",
    "分析师指出，模型能力的差距正在缩小，真正的竞争将转向数据、工程和商业化能力。",
]


def page(title: str, paragraphs: list[str], extra_top: str = "", extra_bottom: str = "") -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<html><head><meta charset='utf-8'><title>{title}</title></head><body><article>"
        f"<h1>{title}</h1>{extra_top}{body}{extra_bottom}</article></body></html>"
    )


def run(lines: list[str], *flags: str) -> list[dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "jobs.main", "analyze", *flags],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_a_batch_with_good_bad_and_reposted_items() -> None:
    ads = "<div>欧易(OKX) 国内用户最喜爱的合约交易所</div><div>币安(Binance) 全球用户最多的交易所</div>"
    footer = "<p>版权声明：本文转载自网络，如有侵权请联系删除。</p><div>友情链接 <a href='#'>某某财经</a></div>"
    items = [
        {
            "id": "zh",
            "url": "https://a.example/ai?utm_source=x",
            "html": page("开源大模型迎来发布潮", BODY),
        },
        {
            "id": "en",
            "title": "Bitcoin miners turn to AI",
            "text": "<p>Bitcoin miners are leasing power to AI data centres. Revenue is steadier. "
            "Executives expect more deals next year.</p>",
        },
        {
            "id": "repost",
            "url": "https://b.example/news/1",
            "html": page("大模型开源潮来了", BODY, ads, footer),
        },
        {"id": "binary", "html": "\x00\x01\x02\ufffd\ufffd" * 1000},
        {
            "id": "huge",
            "html": "<html><body>" + "<p>很长的网页。</p>" * 1_500_000 + "</body></html>",
        },
        {"id": "empty", "html": ""},
        {"id": "nested", "html": "<div>" * 10_000 + "深" + "</div>" * 10_000},
        {"id": "mojibake", "html": page("ä¹±ç \x81", ["Ã¤Â¸Â­Ã¦Â–Â‡"])},
        {"id": "notext"},
    ]
    lines = [json.dumps(item, ensure_ascii=False) for item in items]
    lines.insert(3, "{not json")
    out = run(lines)
    assert [o["id"] for o in out] == [
        "zh",
        "en",
        "repost",
        None,
        "binary",
        "huge",
        "empty",
        "nested",
        "mojibake",
        "notext",
    ]
    by_id = {o["id"]: o for o in out if o["id"]}
    zh, en, repost = by_id["zh"], by_id["en"], by_id["repost"]
    assert zh["lang"] == "zh-Hans" and en["lang"] == "en"
    assert zh["text"].startswith(BODY[0]) and zh["text"].endswith(BODY[-1])
    assert "ai" in zh["topics"] and "crypto" in en["topics"]
    assert zh["summary"] and len(zh["summary"]) <= 120 and zh["keywords"]
    assert repost["story"] == zh["story"] != en["story"]
    assert "欧易" not in repost["text"] and "友情链接" not in repost["text"]
    assert out[3]["error"].startswith("line 4 is not JSON")
    for bad in ("huge", "empty", "notext"):
        assert by_id[bad].get("error"), bad
    assert "give 'html' or 'text'" in by_id["notext"]["error"]
    # Junk either fails with a reason or yields (little) text; it never ends the batch.
    for junk in ("binary", "nested", "mojibake"):
        assert "error" in by_id[junk] or isinstance(by_id[junk]["text"], str)


def test_summary_max_chars_is_honoured() -> None:
    seed = SEED_SHAPED.read_text(encoding="utf-8")
    (out,) = run([json.dumps({"id": 1, "text": seed, "summary_max_chars": 30}, ensure_ascii=False)])
    assert 0 < len(out["summary"]) <= 30
    assert "摘要" not in out["summary"] and "..." not in out["summary"]


def test_explain_names_removed_lines_and_where_each_topic_term_stood() -> None:
    """An AI story reposted on a crypto site: the one-line exchange promo is removed with its
    reason, the story is filed under ai by terms in its title and body, never under crypto."""
    text = "\n".join(
        [
            "火星交易所｜全球领先的数字资产交易平台，注册即送 100 USDT",
            *BODY,
            "本文版权归原作者所有。",
        ]
    )
    item = {"id": 1, "title": "开源大模型迎来发布潮", "text": text}
    (out,) = run([json.dumps(item, ensure_ascii=False)], "--explain")
    reasons = {r["line"]: r["reason"] for r in out["removed"]}
    assert any("火星交易所" in line for line in reasons), reasons
    assert "火星" not in out["text"] and "火星" not in out["summary"]
    evidence = {e["topic"]: e for e in out["evidence"]}
    assert [e["topic"] for e in out["evidence"]] == out["topics"]
    assert "ai" in evidence and "crypto" not in evidence and "exchanges" not in evidence
    places = {t["place"] for t in evidence["ai"]["terms"]}
    assert "title" in places and places <= {"title", "lead", "body"}
    # Without the flag the output keeps its plain shape.
    (plain,) = run([json.dumps(item, ensure_ascii=False)])
    assert "removed" not in plain and "evidence" not in plain and plain["topics"] == out["topics"]

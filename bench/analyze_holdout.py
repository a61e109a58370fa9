"""The held-out figures, measured the way an outsider measures them: through ``newsbrief analyze``.

Every held-out item of the shared corpora (bench/holdout.py) goes as one JSON line into the real
``newsbrief analyze`` command (a subprocess, the installed pipeline end to end), and its output
is scored against the ground truth:

- main-text F1 of ``text`` on the Chinese and English pages, trafilatura alone beside it;
- LCSTS character ROUGE of ``summary`` (``summary_max_chars`` 30), BBC word ROUGE beside lead-3;
- THUCNews headlines (``text`` = the headline) and BBC articles (``title`` + ``text``): per-class
  precision and recall of ``topics``, macro averages and the share with no topic at all.

    .venv/bin/python bench/analyze_holdout.py [--dev]   # --dev: the tuning part instead
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from holdout import held_out  # noqa: E402
from quality_extract import en_pages, f1, shingles, trafilatura_alone, words, zh_pages  # noqa: E402
from quality_text import DATA, _body, _chars, _jsonl, _words, rouge, split_sentences  # noqa: E402
from quality_topics import BBC_TOPICS, THUCNEWS_TOPICS, scores, thucnews  # noqa: E402

from newsbrief.articles.extract import decode_html  # noqa: E402


def analyze(items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``newsbrief analyze`` over ``items``, one output object per item, in order."""
    done = subprocess.run(
        [sys.executable, "-m", "jobs.main", "analyze"],
        input="".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(out) == len(items), done.stderr[-2000:]
    return out


def extraction(part: bool) -> dict[str, float]:
    figures: dict[str, float] = {}
    for name, pages, units in (("zh", zh_pages, shingles), ("en", en_pages, words)):
        chosen = [(key, html, truth) for key, html, truth in pages() if held_out(key) == part]
        # JSON carries text: the pages go decoded as newsbrief decodes bytes (GBK, GB18030, …).
        items = [{"id": key, "html": decode_html(html)} for key, html, _ in chosen]
        out = analyze(items)
        ours = [
            f1(units(o.get("text", "")), units(t))
            for o, (_, _, t) in zip(out, chosen, strict=False)
        ]
        theirs = [f1(units(trafilatura_alone(h)), units(t)) for _, h, t in chosen]
        figures[f"{name}_pages"] = len(chosen)
        figures[f"{name}_newsbrief"] = round(sum(ours) / len(ours), 3)
        figures[f"{name}_trafilatura"] = round(sum(theirs) / len(theirs), 3)
    return figures


def summaries(part: bool) -> dict[str, Any]:
    lcsts = [
        r
        for r in _jsonl(DATA / "summaries_zh_lcsts" / "pairs.jsonl")
        if held_out(r["text"]) == part
    ]
    out = analyze(
        [{"id": i, "text": r["text"], "summary_max_chars": 30} for i, r in enumerate(lcsts)]
    )
    zh = [(_chars(o["summary"]), _chars(r["summary"])) for o, r in zip(out, lcsts, strict=True)]
    bbc = [
        r
        for r in _jsonl(DATA / "summaries_en_bbc" / "articles.jsonl")
        if held_out(r["article"]) == part
    ]
    out = analyze([{"id": i, "text": _body(r["article"])} for i, r in enumerate(bbc)])
    en = [(_words(o["summary"]), _words(r["summary"])) for o, r in zip(out, bbc, strict=True)]
    lead3 = [
        (_words(" ".join(split_sentences(_body(r["article"]))[:3])), _words(r["summary"]))
        for r in bbc
    ]
    return {
        "lcsts": {"pairs": len(lcsts), "summary": rouge(zh)},
        "bbc": {"articles": len(bbc), "summary": rouge(en), "lead3": rouge(lead3)},
    }


def topics(part: bool) -> dict[str, Any]:
    rows = [(title, label) for title, label in thucnews() if held_out(title) == part]
    out = analyze([{"id": i, "text": title} for i, (title, _) in enumerate(rows)])
    thuc = scores([set(o.get("topics", [])) for o in out], rows, THUCNEWS_TOPICS)
    bbc = [
        r
        for r in _jsonl(DATA / "summaries_en_bbc" / "articles.jsonl")
        if held_out(r["article"].strip()) == part
    ]
    items = []
    for i, r in enumerate(bbc):
        head, _, rest = r["article"].strip().partition("\n")
        items.append({"id": i, "title": head.strip(), "text": rest.strip() or head})
    out = analyze(items)
    gold = [(r["article"], r["category"]) for r in bbc]
    by_section = scores([set(o.get("topics", [])) for o in out], gold, BBC_TOPICS)
    return {"thucnews": thuc, "bbc_sections": by_section}


def main() -> None:
    part = "--dev" not in sys.argv
    print(f"part: {'held-out' if part else 'dev'}, through `newsbrief analyze`")
    for title, run in (("extraction", extraction), ("summaries", summaries), ("topics", topics)):
        started = time.perf_counter()
        print(f"\n== {title}")
        print(json.dumps(run(part), ensure_ascii=False, indent=1))
        print(f"  ({time.perf_counter() - started:.1f}s)")


if __name__ == "__main__":
    main()

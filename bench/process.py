"""Article processing speed on one core: Chinese pages already fetched, through extraction,
cleaning, language, story matching, topics, summary and keywords.

Reads the 35 Chinese pages of ../shared/data/extraction_zh (repeated, each copy edited a little so
story matching sees new texts) and prints articles/s with and without extraction, the extraction
share, the one-off load time of dictionaries and peak memory. Rates are given in wall time and
in this process's CPU time: on a shared machine the second is the one-core figure. The baseline,
in the same run: trafilatura alone (``bare_extraction`` with its defaults) on the same pages.

    .venv/bin/python bench/process.py [--articles 1000]
"""

from __future__ import annotations

import argparse
import logging
import random
import resource
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

import trafilatura

from newsbrief.articles.cleaner import clean_text
from newsbrief.articles.dedup import StoryIndex, StorySignature, fingerprint_text
from newsbrief.articles.extract import extract_page
from newsbrief.articles.keywords import keywords
from newsbrief.articles.summaries import summarize
from newsbrief.articles.topics import TopicMatcher
from newsbrief.config.settings import load_config
from newsbrief.text.chinese import to_simplified
from newsbrief.text.language import detect_language

ROOT = Path(__file__).resolve().parent.parent
PAGES = ROOT.parent / "shared" / "data" / "extraction_zh" / "original"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=1000)
    args = parser.parse_args()
    pages = [p.read_bytes() for p in sorted(PAGES.glob("*.html"))]
    config = load_config(ROOT / "config" / "newsbrief.yaml")

    started = time.perf_counter()
    matcher = TopicMatcher(config.topics)
    keywords("预热词典加载", "zh-Hans")  # jieba loads its dictionary once per process
    detect_language(to_simplified("載入"))
    fingerprint_text("全角，標點")  # NFKC's character tables are built once per process
    load_seconds = time.perf_counter() - started

    rng = random.Random(7)
    extracted = []
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(args.articles):
        page = extract_page(pages[i % len(pages)])
        extracted.append((page.title, page.text))
    extract_seconds = time.perf_counter() - t0
    extract_cpu = time.process_time() - c0

    index = StoryIndex()
    now = datetime.now(UTC)
    stages = dict.fromkeys(("clean", "language", "stories", "topics", "summary", "keywords"), 0.0)
    clock = time.perf_counter
    t1, c1 = time.perf_counter(), time.process_time()
    for i, (title, raw) in enumerate(extracted):
        # Each copy differs by a marker sentence, so it is a new text for the story index.
        raw = f"{raw}\n第{i}号附记：{rng.random():.6f}。"
        a = clock()
        text = clean_text(raw, title=title)
        b = clock()
        lang = detect_language(f"{title}\n{text}")
        simple = to_simplified(f"{title}\n{text}") if lang == "zh-Hant" else f"{title}\n{text}"
        c = clock()
        # As jobs/process.py does: one signature per article, matched, then indexed if new.
        signature = StorySignature.of(simple)
        if index.match_signature(signature, now) is None:
            index.add_signature(i, signature, now)
        d = clock()
        matcher.match(simple)
        e = clock()
        summarize(text, lang)
        f = clock()
        keywords(simple, lang)
        g = clock()
        for stage, seconds in zip(stages, (b - a, c - b, d - c, e - d, f - e, g - f), strict=True):
            stages[stage] += seconds
    rest_seconds = time.perf_counter() - t1
    rest_cpu = time.process_time() - c1

    baseline_seconds, baseline_cpu = trafilatura_alone(pages, args.articles)

    total = extract_seconds + rest_seconds
    total_cpu = extract_cpu + rest_cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n = args.articles
    print(f"{n} Chinese articles ({len(pages)} distinct pages), one core")
    print(f"dictionaries and models loaded once in {load_seconds:.2f}s")
    print(
        f"with extraction:    {n / total:.0f} articles/s, CPU time {n / total_cpu:.0f}/s"
        f" (extraction {extract_seconds / total:.0%} of the time)"
    )
    print(
        f"without extraction: {n / rest_seconds:.0f} articles/s, CPU time {n / rest_cpu:.0f}/s"
        " (clean, language, stories, topics, summary, keywords)"
    )
    print(
        f"extraction alone:   {n / extract_seconds:.0f} articles/s, CPU time {n / extract_cpu:.0f}/s"
        f"; trafilatura alone (baseline): {n / baseline_seconds:.0f}/s,"
        f" CPU time {n / baseline_cpu:.0f}/s"
    )
    print("per article: " + ", ".join(f"{k} {v / n * 1e3:.2f} ms" for k, v in stages.items()))
    print(f"peak RSS {peak:.0f} MB")


def trafilatura_alone(pages: list[bytes], n: int) -> tuple[float, float]:
    """Wall and CPU seconds of bare trafilatura (its defaults) on the same ``n`` pages."""
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)  # it logs every page it rejects
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0, c0 = time.perf_counter(), time.process_time()
        for i in range(n):
            trafilatura.bare_extraction(pages[i % len(pages)])
        return time.perf_counter() - t0, time.process_time() - c0


if __name__ == "__main__":
    main()

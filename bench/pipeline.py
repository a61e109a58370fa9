"""Feed parsing and article building over the shared real-feed corpus.

Prints, per stage, the median time per feed and entries/s, and the ratio of newsbrief's parse
(feedparser without sanitising, from bytes) to feedparser's defaults in the same process.

    .venv/bin/python bench/pipeline.py [--limit N] [--repeat R]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import feedparser

from newsbrief.articles.build import build_article
from newsbrief.articles.topics import TopicMatcher
from newsbrief.config.settings import load_config
from newsbrief.feeds.parse import FeedParseError, parse_feed

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "data" / "feeds" / "real"


def timed(fn: object, *args: object) -> float:
    start = time.perf_counter()
    fn(*args)  # type: ignore[operator]
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    files = sorted(CORPUS.iterdir())[: args.limit]
    config = load_config(ROOT / "config" / "newsbrief.yaml")
    matcher = TopicMatcher(config.topics)

    ratios, ours_times, article_rates = [], [], []
    entries_total = 0
    for path in files:
        body = path.read_bytes()
        try:
            parsed = parse_feed(path.name, body)
        except FeedParseError:
            continue
        ours = min(timed(parse_feed, path.name, body) for _ in range(args.repeat))
        base = min(timed(feedparser.parse, body) for _ in range(args.repeat))
        ratios.append(ours / base)
        ours_times.append(ours)
        if parsed.entries:
            start = time.perf_counter()
            for i, entry in enumerate(parsed.entries):
                build_article(i, entry, matcher)
            article_rates.append(len(parsed.entries) / (time.perf_counter() - start))
            entries_total += len(parsed.entries)

    print(f"feeds: {len(ours_times)} of {CORPUS} ({entries_total} entries)")
    print(f"parse_feed median: {statistics.median(ours_times) * 1000:.1f} ms/feed")
    print(f"parse_feed / feedparser defaults, median ratio: {statistics.median(ratios):.2f}")
    print(f"build_article median: {statistics.median(article_rates):.0f} entries/s")


if __name__ == "__main__":
    main()

"""Cleaner quality on repost variants of the shared bodies (``tests/repost_variants.py``).

For every shape, dev and held-out apart: precision (share of kept characters that come from the
body), recall (share of body characters kept), and for promo shapes how many summaries still
quote the promo and how many variants gained a topic from it. Then the same by script.

    PYTHONPATH=$PWD .venv/bin/python bench/quality_clean.py [--worst N] [--per-body N]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
sys.path.insert(0, str(ROOT))

from newsbrief.articles.cleaner import clean_text  # noqa: E402
from newsbrief.articles.summaries import summarize  # noqa: E402
from newsbrief.articles.topics import TopicMatcher  # noqa: E402
from newsbrief.config.taxonomy import load_taxonomy  # noqa: E402
from newsbrief.text.chinese import to_simplified  # noqa: E402
from tests.repost_variants import Score, Variant, grouped, measure, variants  # noqa: E402

TAXONOMY = ROOT / "config" / "topics.yaml"


def junk_in(summary: str, variant: Variant) -> bool:
    """Whether the summary quotes promo text: an 8-character run of a promo part that the body
    does not hold."""
    flat = "".join(summary.split())
    body = "".join(variant.body.split())
    for part in variant.junk("promo"):
        text = "".join(part.split())
        for i in range(max(len(text) - 7, 0)):
            window = text[i : i + 8]
            if window not in body and window in flat:
                return True
    return False


def topics(matcher: TopicMatcher, variant: Variant, text: str) -> set[str]:
    """Topics as the pipeline matches them: on the title and text, in Simplified script."""
    joined = f"{variant.title or ''}\n{text}"
    return set(matcher.match(to_simplified(joined) if variant.script == "zh-Hant" else joined))


@dataclass
class Row:
    """One group's figures: characters (``Score``) and, for variants wearing a promo, how many
    summaries quote it and how many gained a topic from it."""

    score: Score = field(default_factory=Score)
    promo: int = 0
    in_summary: int = 0
    topic_gained: int = 0


def run(
    items: Iterable[Variant], matcher: TopicMatcher
) -> tuple[dict[tuple[str, bool], Row], list[tuple[int, str]]]:
    """Rows per (group, held_out), groups being each shape, each script and "all"; and every
    variant that lost body or kept junk, with how many characters."""
    table: dict[tuple[str, bool], Row] = {}
    worst: list[tuple[int, str]] = []
    for variant in items:
        cleaned = clean_text(variant.text, title=variant.title)
        score = measure(variant, cleaned)
        promo = bool(variant.junk("promo"))
        quoted = gained = False
        if promo:
            lang = "en" if variant.script == "en" else variant.script
            quoted = junk_in(summarize(cleaned, lang), variant)
            gained = bool(
                topics(matcher, variant, cleaned) - topics(matcher, variant, variant.body)
            )
        cost = score.kept_junk + score.body - score.kept_body
        if cost and not variant.held_out:
            worst.append((cost, variant.key))
        for group in (variant.shape, variant.script, "all"):
            row = table.setdefault((group, variant.held_out), Row())
            row.score.add(score)
            row.promo += promo
            row.in_summary += quoted
            row.topic_gained += gained
    return table, sorted(worst, reverse=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--worst",
        type=int,
        default=0,
        help="list the N worst dev variants (held-out ones are not for tuning)",
    )
    parser.add_argument("--per-body", type=int, default=3)
    args = parser.parse_args()
    if not DATA.is_dir():
        sys.exit(f"{DATA} is missing: the shared corpora are needed")
    start = time.perf_counter()
    items = variants(DATA, per_body=args.per_body)
    made = time.perf_counter() - start
    matcher = TopicMatcher(load_taxonomy(TAXONOMY).topics)
    start = time.perf_counter()
    table, worst = run(items, matcher)
    took = time.perf_counter() - start
    print(f"{len(items)} variants (made in {made:.1f} s, measured in {took:.1f} s)")
    print(
        f"{'shape':<14} {'split':<9} {'n':>5} {'precision':>10} {'recall':>8}"
        f" {'promo':>6} {'in summary':>11} {'topic gained':>13}"
    )
    order = [shape for shape, _ in grouped(items)] + ["zh-Hans", "zh-Hant", "en", "all"]
    for group in order:
        for held in (False, True):
            row = table.get((group, held))
            if row is None:
                continue
            print(
                f"{group:<14} {'held-out' if held else 'dev':<9} {row.score.variants:>5}"
                f" {row.score.precision:>10.4f} {row.score.recall:>8.4f} {row.promo:>6}"
                f" {row.in_summary:>11} {row.topic_gained:>13}"
            )
    for cost, key in worst[: args.worst]:
        print(f"worst {cost:>5} chars  {key}")


if __name__ == "__main__":
    main()

"""Article quality over ../shared/data, side by side in one run; prints every figure.

    .venv/bin/python bench/quality.py

- main-text F1 on extraction_zh (4-character shingles) and extraction_en (words):
  trafilatura alone vs newsbrief's extraction + cleaner;
- LCSTS character ROUGE-1/2/L (summary_max_chars 30) vs the first-sentence baseline;
  BBC word ROUGE-1/2/L vs the first-3-sentences baseline;
- per-class precision and recall of the sections on the THUCNews headlines and BBC articles, the
  macro averages and the no-topic share, dev and held-out, rules alone beside rules + model.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from quality_extract import extraction_figures
from quality_text import summary_figures
from quality_topics import topic_figures


def show(title: str, figures: object) -> None:
    print(f"\n== {title}")
    if isinstance(figures, dict):
        for key, value in figures.items():
            shown = f"{value:.3f}" if isinstance(value, float) else value
            print(f"  {key}: {shown}")
    else:
        print(f"  {figures}")


def main() -> None:
    for title, run in (
        ("main-text extraction", extraction_figures),
        ("summaries", summary_figures),
        ("topics (THUCNews, BBC)", topic_figures),
    ):
        started = time.perf_counter()
        show(title, run())
        print(f"  ({time.perf_counter() - started:.1f}s)")


if __name__ == "__main__":
    main()

"""Main-text extraction quality: trafilatura alone vs newsbrief's extract_page + clean_text.

Chinese set (``extraction_zh``): F1 over 4-character shingles (whitespace removed), the measure
behind the published baselines (trafilatura 0.88, readability 0.89). English set
(``extraction_en``): F1 over lower-cased words (baselines 0.95 / 0.95). Both are multiset F1,
averaged over pages; a page an extractor fails on scores 0.

Every figure is given for the ``dev`` part of each set (what rules may be tuned on) and the
``held_out`` part (bench/holdout.py: measured only). ``--pages`` lists the dev pages where
newsbrief loses most against trafilatura; held-out pages are never listed.

    .venv/bin/python bench/quality_extract.py [--pages]
"""

from __future__ import annotations

import gzip
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import trafilatura

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from holdout import held_out

from newsbrief.articles.cleaner import clean_text
from newsbrief.articles.extract import ExtractError, decode_html, extract_page

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
_WORD = re.compile(r"\w+")

Extractor = Callable[[bytes], str]


def zh_pages() -> Iterator[tuple[str, bytes, str]]:
    root = DATA / "extraction_zh"
    for page in sorted((root / "original").glob("*.html")):
        truth = root / "cleaned" / f"{page.stem}.txt"
        if truth.exists():
            yield page.stem, page.read_bytes(), truth.read_text(encoding="utf-8", errors="replace")


def en_pages() -> Iterator[tuple[str, bytes, str]]:
    root = DATA / "extraction_en"
    truth = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))
    for page in sorted((root / "html").glob("*.html.gz")):
        key = page.name.removesuffix(".html.gz")
        if key in truth:
            yield key, gzip.decompress(page.read_bytes()), truth[key]["articleBody"]


def shingles(text: str, size: int = 4) -> Counter[str]:
    flat = "".join(text.split())
    return Counter(flat[i : i + size] for i in range(max(len(flat) - size + 1, 0)))


def words(text: str) -> Counter[str]:
    return Counter(_WORD.findall(text.lower()))


def f1(found: Counter[str], truth: Counter[str]) -> float:
    common = sum((found & truth).values())
    if not common:
        return 0.0
    precision = common / sum(found.values())
    recall = common / sum(truth.values())
    return 2 * precision * recall / (precision + recall)


def trafilatura_alone(html: bytes) -> str:
    return trafilatura.extract(html) or ""


def trafilatura_decoded(html: bytes) -> str:
    """trafilatura alone, on text decoded the way newsbrief decodes it (its own charset
    detection misreads several of the GBK pages)."""
    return trafilatura.extract(decode_html(html)) or ""


def newsbrief_text(html: bytes) -> str:
    try:
        page = extract_page(html)
    except ExtractError:
        return ""
    return clean_text(page.text, title=page.title)


METHODS: dict[str, Extractor] = {
    "trafilatura": trafilatura_alone,
    "trafilatura_decoded": trafilatura_decoded,
    "newsbrief": newsbrief_text,
}
SETS: dict[
    str, tuple[Callable[[], Iterator[tuple[str, bytes, str]]], Callable[[str], Counter[str]]]
] = {
    "zh": (zh_pages, shingles),
    "en": (en_pages, words),
}


def per_page() -> dict[tuple[str, str], dict[str, float]]:
    """F1 of every page, keyed by (set, method) then page id."""
    scores: dict[tuple[str, str], dict[str, float]] = {}
    for set_name, (pages, units) in SETS.items():
        for page_id, html, truth in pages():
            expected = units(truth)
            for method, run in METHODS.items():
                scores.setdefault((set_name, method), {})[page_id] = f1(units(run(html)), expected)
    return scores


PARTS = ("dev", "held_out")
ALL = "all"
"""Both parts together: every page of the set, the figure issue #13's targets are set on."""


def part(page_id: str) -> str:
    return "held_out" if held_out(page_id) else "dev"


def extraction_figures() -> dict[str, float]:
    """Mean F1 per set, part (``dev``, ``held_out``, ``all``) and method (``zh_dev_trafilatura``,
    ``zh_held_out_newsbrief``, ``en_all_trafilatura_decoded``, …) and newsbrief's mean seconds per page
    (``seconds_per_page``)."""
    figures: dict[str, float] = {}
    for (set_name, method), scores in per_page().items():
        for part_name in (*PARTS, ALL):
            chosen = [f1 for page_id, f1 in scores.items() if part_name in (ALL, part(page_id))]
            figures[f"{set_name}_{part_name}_{method}"] = sum(chosen) / len(chosen)
    pages = [html for source, _ in SETS.values() for _, html, _ in source()]
    start = time.perf_counter()
    for html in pages:
        newsbrief_text(html)
    figures["seconds_per_page"] = (time.perf_counter() - start) / len(pages)
    return figures


def main() -> None:
    if "--pages" in sys.argv:  # worst dev pages first, to see where newsbrief loses
        scores = per_page()
        for set_name in SETS:
            ours, theirs = scores[(set_name, "newsbrief")], scores[(set_name, "trafilatura")]
            dev = [page_id for page_id in ours if part(page_id) == "dev"]
            for page_id in sorted(dev, key=lambda p: ours[p] - theirs[p])[:10]:
                print(
                    f"{set_name} {page_id} newsbrief {ours[page_id]:.3f}"
                    f" trafilatura {theirs[page_id]:.3f}"
                )
    figures = extraction_figures()
    print(f"{'set':<12} {'trafilatura':>12} {'trafilatura*':>13} {'newsbrief':>10} {'gain':>6}")
    for set_name in SETS:
        for part_name in (*PARTS, ALL):
            row = [figures[f"{set_name}_{part_name}_{method}"] for method in METHODS]
            print(
                f"{set_name + ' ' + part_name:<12} {row[0]:>12.3f} {row[1]:>13.3f} {row[2]:>10.3f}"
                f" {row[2] - row[0]:>+6.3f}"
            )
    print("trafilatura*: trafilatura on text decoded by newsbrief (GBK/GB18030 fixes)")
    print("gain: newsbrief minus trafilatura alone")
    print(f"newsbrief seconds per page: {figures['seconds_per_page']:.3f}")


if __name__ == "__main__":
    main()

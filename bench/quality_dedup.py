"""Story merging quality on repost variants of the shared pages, dev and held-out side by side.

    PYTHONPATH=$PWD .venv/bin/python bench/quality_dedup.py [--baseline COMMIT]

The variants and hard negatives are the ones tests/test_dedup.py generates (its docstring lists
the kinds). Each part of the corpus (bench/holdout.py, key: the page's file stem) gets its own
index of its own pages, its own variants and negatives, so no figure of one part depends on
the other. Printed per part and per scoring:

- recall per variant kind through the index (LSH candidates, then the threshold), variants
  matched to a wrong page, and false merges of the two hard-negative families;
- the lowest score of a true variant against its own page, and the highest score of a hard
  negative against any indexed page (every pair scored, not only LSH candidates), and the
  margin between them; beside them, the highest score between two distinct pages of the part
  (some are the same event told by two outlets, so it is shown, not counted as a negative).

The old scoring (containment, the module as of ``--baseline``, read from git) is printed beside
the new one (coverage) in the same run.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

from bench.holdout import split  # noqa: E402
from newsbrief.articles import dedup  # noqa: E402
from tests.test_dedup import (  # noqa: E402
    T0,
    VARIANTS,
    Page,
    load_corpus,
    paragraph_negatives,
    site_negatives,
    variants,
)

BASELINE = "e59faad"
"""The last commit that scored by containment alone."""
LATER = T0 + timedelta(hours=1)


def baseline_module(commit: str) -> ModuleType | None:
    """newsbrief/articles/dedup.py as of ``commit``, imported under another name."""
    try:
        source = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{commit}:newsbrief/articles/dedup.py"],
            capture_output=True,
            check=True,
            text=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    name = f"dedup_{commit}"
    spec = importlib.util.spec_from_loader(name, loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is made
    exec(compile(source, f"{commit}:dedup.py", "exec"), module.__dict__)
    return module


@dataclass(frozen=True)
class Scoring:
    name: str
    module: Any

    def score(self, a: Any, b: Any) -> float:
        if hasattr(a, "coverage"):
            covered = a.coverage(b)
            if covered is not None:
                return float(covered)
        return float(a.containment(b))

    def threshold(self) -> float:
        return float(getattr(self.module, "COVERAGE_THRESHOLD", self.module.CONTAINMENT_THRESHOLD))


def figures(scoring: Scoring, pages: list[Page], seed: int) -> dict[str, Any]:
    module = scoring.module
    index = module.StoryIndex()
    signatures = []
    for number, page in enumerate(pages):
        signatures.append(index.add(number, page.story, T0))

    found: Counter[str] = Counter()
    total: Counter[str] = Counter()
    wrong = 0
    lowest = (2.0, "")
    for number, kind, text in variants(pages, seed):
        signature = module.StorySignature.of(text)
        got = index.match_signature(signature, LATER)
        total[kind] += 1
        found[kind] += got == number
        wrong += got is not None and got != number
        lowest = min(lowest, (scoring.score(signature, signatures[number]), kind))

    negatives, _ = paragraph_negatives(pages, seed + 1)
    merged = highest = 0.0
    for _, text in negatives:
        signature = module.StorySignature.of(text)
        merged += index.match_signature(signature, LATER) is not None
        highest = max(highest, *(scoring.score(signature, s) for s in signatures))

    sites = site_negatives(pages, seed + 2, sites=8)
    site_signatures = [module.StorySignature.of(t) for site in sites for _, t in site.indexed]
    by_site = module.StoryIndex()
    for number, signature in enumerate(site_signatures):
        by_site.add_signature(10_000 + number, signature, T0)
    site_merged = site_total = 0
    site_highest = 0.0
    for site in sites:
        for _, text in site.queries:
            signature = module.StorySignature.of(text)
            site_total += 1
            site_merged += by_site.match_signature(signature, LATER) is not None
            site_highest = max(
                site_highest, *(scoring.score(signature, s) for s in site_signatures)
            )

    distinct = max(
        scoring.score(a, b) for i, a in enumerate(signatures) for b in signatures[i + 1 :]
    )
    worst_negative = max(highest, site_highest)
    return {
        "pages": len(pages),
        "recall": {kind: (found[kind], total[kind]) for kind in VARIANTS if total[kind]},
        "overall": sum(found.values()) / max(1, sum(total.values())),
        "wrong": wrong,
        "paragraph negatives merged": (int(merged), len(negatives)),
        "same-site pages merged": (site_merged, site_total),
        "lowest true": lowest,
        "highest negative (paragraphs)": highest,
        "highest negative (same site)": site_highest,
        "margin": lowest[0] - worst_negative,
        "threshold": scoring.threshold(),
        "highest distinct pages": distinct,
    }


def show(results: dict[tuple[str, str], dict[str, Any]], scorings: list[str]) -> None:
    columns = [(part, name) for part in ("dev", "held-out") for name in scorings]
    width = 17
    print(f"{'':30}" + "".join(f"{f'{part} {name}':>{width}}" for part, name in columns))

    def row(label: str, cell: Any) -> None:
        wide = sum(unicodedata.east_asian_width(char) in "WF" for char in label)
        print(f"{label:{30 - wide}}" + "".join(f"{cell(results[c]):>{width}}" for c in columns))

    row("pages", lambda r: str(r["pages"]))
    for kind in VARIANTS:

        def recall(r: dict[str, Any], kind: str = kind) -> str:
            hit, total = r["recall"].get(kind, (0, 0))
            return f"{hit / total:.3f} ({total})" if total else "-"

        row(f"  recall {kind}", recall)
    row("overall recall", lambda r: f"{r['overall']:.4f}")
    row("matched to a wrong page", lambda r: str(r["wrong"]))
    for key in ("paragraph negatives merged", "same-site pages merged"):
        row(key, lambda r, key=key: f"{r[key][0]} of {r[key][1]}")
    row("threshold", lambda r: f"{r['threshold']:.3f}")
    row("lowest true score", lambda r: f"{r['lowest true'][0]:.3f}")
    row("  (its kind)", lambda r: r["lowest true"][1][: width - 1])
    row("highest negative: paras", lambda r: f"{r['highest negative (paragraphs)']:.3f}")
    row("highest negative: site", lambda r: f"{r['highest negative (same site)']:.3f}")
    row("margin", lambda r: f"{r['margin']:.3f}")
    row("highest distinct pages", lambda r: f"{r['highest distinct pages']:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", default=BASELINE, help="commit of the old scoring")
    parser.add_argument("--seed", type=int, default=20260101)
    args = parser.parse_args()
    if not (SHARED / "data").is_dir():
        sys.exit(f"needs the shared corpora in {SHARED / 'data'}")
    corpus = load_corpus(SHARED)
    dev, held_out = split(corpus, key=lambda page: page.key)
    scorings = [Scoring("new", dedup)]
    old = baseline_module(args.baseline)
    if old is None:
        print(f"(no git or no commit {args.baseline}: the old scoring is not shown)")
    else:
        scorings.insert(0, Scoring("old", old))
    started = time.perf_counter()
    results = {
        (part, scoring.name): figures(scoring, pages, args.seed)
        for part, pages in (("dev", dev), ("held-out", held_out))
        for scoring in scorings
    }
    show(results, [s.name for s in scorings])
    print(f"({time.perf_counter() - started:.1f}s)")


if __name__ == "__main__":
    main()

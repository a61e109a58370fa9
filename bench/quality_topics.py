"""Topic (section) quality on the shared public corpora: the rules alone beside rules + model.

    .venv/bin/python bench/quality_topics.py

- THUCNews (Chinese headlines, 10,000): each class mapped to taxonomy topics
  (``THUCNEWS_TOPICS``); per-class precision and recall of the matcher on the headline, their
  macro averages and the share of headlines with no topic at all.
- BBC News (English articles, 1,112, title and body as the pipeline matches them): its five
  categories mapped the same way (``BBC_TOPICS``).

Each on the dev part (what the model was trained and its thresholds tuned on: its rules + model
column is in-sample, near 1.0; ``train_sections.py`` prints the honest out-of-fold dev figures)
and the held-out part (``holdout.py``: never used for either), the rules alone (``sections=None``) beside the
shipped matcher (rules + ``newsbrief/articles/sections.npz``). Then the model's file size, load
time and speed: headlines and 1,500-character articles per second, matcher and model alone.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from holdout import split  # noqa: E402
from quality_text import _jsonl  # noqa: E402

from newsbrief.articles.sections import MODEL_FILE, SectionModel  # noqa: E402
from newsbrief.articles.topics import TopicMatcher  # noqa: E402
from newsbrief.config.taxonomy import load_taxonomy  # noqa: E402

TAXONOMY = ROOT / "config" / "topics.yaml"
MODEL_PATH = ROOT / "newsbrief" / "articles" / MODEL_FILE
# THUCNews classes -> the taxonomy topics that stand for them. Its 科技 ("science") class is
# technology news, so it counts the tech, AI and science topics.
THUCNEWS_TOPICS: dict[str, tuple[str, ...]] = {
    "finance": ("finance",),
    "realty": ("realty",),
    "stocks": ("stocks",),
    "education": ("education",),
    "science": ("tech", "ai", "science"),
    "society": ("society",),
    "politics": ("politics",),
    "sports": ("sports",),
    "game": ("games",),
    "entertainment": ("entertainment",),
}
# BBC categories -> topics; its tech category also holds AI and science stories.
BBC_TOPICS: dict[str, tuple[str, ...]] = {
    "business": ("finance",),
    "politics": ("politics",),
    "sport": ("sports",),
    "tech": ("tech", "ai", "science"),
    "entertainment": ("entertainment",),
}

Row = tuple[str, str]  # text, gold class


# ---- corpora ------------------------------------------------------------------------------


def thucnews() -> list[Row]:
    """(headline, class) of the THUCNews sample."""
    folder = DATA / "topics_zh_thucnews"
    classes = (folder / "class.txt").read_text(encoding="utf-8").split()
    rows: list[Row] = []
    for line in (folder / "dev.txt").read_text(encoding="utf-8").splitlines():
        title, _, label = line.rpartition("\t")
        if title and label.strip().isdigit():
            rows.append((title, classes[int(label)]))
    return rows


def bbc() -> list[Row]:
    """(article, category) of the BBC set: the headline on the first line, then the body."""
    return [
        (row["article"].strip(), row["category"])
        for row in _jsonl(DATA / "summaries_en_bbc" / "articles.jsonl")
    ]


def nlpcc() -> list[Row]:
    """(headline, label) of the NLPCC 2017 headline set (18 labels)."""
    rows: list[Row] = []
    path = DATA / "topics_zh_nlpcc2017" / "test_full.tsv"
    for line in path.read_text(encoding="utf-8").splitlines():
        label, _, title = line.partition("\t")
        if label and title.strip():
            rows.append((title.strip(), label))
    return rows


# ---- figures ------------------------------------------------------------------------------


def scores(
    predicted: Sequence[set[str]], rows: Sequence[Row], class_topics: dict[str, tuple[str, ...]]
) -> dict[str, object]:
    """Per-class precision and recall of ``predicted`` topic sets, macro averages, no-topic share."""
    per_class: dict[str, dict[str, float]] = {}
    for label, topic_ids in class_topics.items():
        hit = [bool(p & set(topic_ids)) for p in predicted]
        gold = [gold_label == label for _, gold_label in rows]
        tp = sum(h and g for h, g in zip(hit, gold, strict=True))
        per_class[label] = {
            "precision": round(tp / max(sum(hit), 1), 3),
            "recall": round(tp / max(sum(gold), 1), 3),
        }
    n = len(per_class)
    return {
        "texts": len(rows),
        "macro_precision": round(sum(c["precision"] for c in per_class.values()) / n, 3),
        "macro_recall": round(sum(c["recall"] for c in per_class.values()) / n, 3),
        "no_topic": round(sum(not p for p in predicted) / max(len(rows), 1), 3),
        "per_class": per_class,
    }


def corpus_figures(
    rows: list[Row], class_topics: dict[str, tuple[str, ...]], matchers: dict[str, TopicMatcher]
) -> dict[str, object]:
    dev, held_out = split(rows, key=lambda row: row[0])
    return {
        part: {
            name: scores([set(m.match(t)) for t, _ in part_rows], part_rows, class_topics)
            for name, m in matchers.items()
        }
        for part, part_rows in (("dev", dev), ("held_out", held_out))
    }


def topic_figures() -> dict[str, object]:
    topics = load_taxonomy(TAXONOMY).topics
    matchers = {"rules": TopicMatcher(topics, sections=None), "rules+model": TopicMatcher(topics)}
    news = thucnews()
    bbc_rows = [(text, label) for text, label in bbc() if label in BBC_TOPICS]
    return {
        "thucnews": corpus_figures(news, THUCNEWS_TOPICS, matchers),
        "bbc": corpus_figures(bbc_rows, BBC_TOPICS, matchers),
        "model": model_figures(),
    }


def model_figures() -> dict[str, object]:
    """The model file's size, its load time and the speed of the matcher with and without it."""
    start = time.perf_counter()
    model = SectionModel.load(MODEL_PATH)
    load_ms = (time.perf_counter() - start) * 1000
    topics = load_taxonomy(TAXONOMY).topics
    rules, combined = TopicMatcher(topics, sections=None), TopicMatcher(topics, sections=model)
    headlines = [t for t, _ in thucnews()]
    lcsts = [row["text"] for row in _jsonl(DATA / "summaries_zh_lcsts" / "pairs.jsonl")]
    zh_articles = ["".join(lcsts[i : i + 15])[:1500] for i in range(0, len(lcsts), 15)] * 4
    en_articles = [text[:1500] for text, _ in bbc()[:300]]
    rules.match(zh_articles[0])  # jieba's dictionary loads here, not in the timing
    return {
        "file_kb": round(MODEL_PATH.stat().st_size / 1024),
        "features": model.size,
        "classes": list(model.classes),
        "thresholds": {
            s: {"pick": round(model.pick[s], 3), "veto": round(model.veto[s], 3)}
            for s in model.pick
        },
        "known": {s: sorted(c) for s, c in model.known.items()},
        "load_ms": round(load_ms, 1),
        "per_second": {
            name: {
                "headlines_zh": round(_rate(func, headlines)),
                "articles_zh_1500_chars": round(_rate(func, zh_articles)),
                "articles_en_1500_chars": round(_rate(func, en_articles)),
            }
            for name, func in (
                ("rules", rules.match),
                ("rules+model", combined.match),
                ("model_alone", model.probabilities),
            )
        },
    }


def _rate(func: Callable[[str], object], texts: Sequence[str]) -> float:
    start = time.perf_counter()
    for text in texts:
        func(text)
    return len(texts) / (time.perf_counter() - start)


def _table(figures: dict[str, object]) -> None:
    """The per-class figures as aligned text, rules beside rules + model."""
    for corpus in ("thucnews", "bbc"):
        for part, by_matcher in figures[corpus].items():  # type: ignore[attr-defined]
            names = list(by_matcher)
            note = " (the model trained on these)" if part == "dev" else ""
            print(
                f"\n{corpus} {part}{note} ({by_matcher[names[0]]['texts']} texts)   "
                + "   ".join(f"{n:>17}" for n in names)
            )
            classes = by_matcher[names[0]]["per_class"]
            for label in classes:
                cells = [by_matcher[n]["per_class"][label] for n in names]
                print(
                    f"  {label:<14}"
                    + "   ".join(f"P {c['precision']:.3f} R {c['recall']:.3f}" for c in cells)
                )
            for key in ("macro_precision", "macro_recall", "no_topic"):
                print(f"  {key:<14}" + "   ".join(f"{by_matcher[n][key]:>17.3f}" for n in names))


if __name__ == "__main__":
    result = topic_figures()
    _table(result)
    print(json.dumps(result["model"], ensure_ascii=False, indent=2))

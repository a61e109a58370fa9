"""Summary and topic quality on the shared public corpora; prints the figures.

    .venv/bin/python bench/quality_text.py

- LCSTS (Chinese, 1,000 pairs): character-level ROUGE-1/2/L F1 of ``summarize(text, "zh-Hans",
  max_chars=30)`` against the reference, beside the first-sentence baseline (published for the
  full test set: 23.7 / 13.7 / 20.4).
- BBC News Summary (English, 1,113 articles): word-level ROUGE-1/2/L F1 of ``summarize(body,
  "en")`` beside the first three sentences of the body.
- Both on the whole set and on its dev and held-out parts (``bench/holdout.py``, keyed by the
  text): rules are tuned on dev only.
- English pages (``extraction_en``): how many summaries open with a greeting or a heading, of
  the ground-truth bodies and of newsbrief's own extraction and cleaning of the pages.

Topic quality (THUCNews, BBC sections) is in ``quality_topics.py``.
"""

from __future__ import annotations

import gzip
import json
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
sys.path.insert(0, str(ROOT))

from bench.holdout import held_out  # noqa: E402
from newsbrief.articles.cleaner import clean_text  # noqa: E402
from newsbrief.articles.extract import extract_page  # noqa: E402
from newsbrief.articles.summaries import split_sentences, summarize  # noqa: E402
from newsbrief.articles.topics import TopicMatcher  # noqa: E402
from newsbrief.config.taxonomy import load_taxonomy  # noqa: E402

TAXONOMY = ROOT / "config" / "topics.yaml"


# ---- ROUGE --------------------------------------------------------------------------------


def _ngrams(units: Sequence[str], n: int) -> dict[tuple[str, ...], int]:
    counts: dict[tuple[str, ...], int] = {}
    for i in range(len(units) - n + 1):
        gram = tuple(units[i : i + n])
        counts[gram] = counts.get(gram, 0) + 1
    return counts


def _f1(overlap: int, candidate: int, reference: int) -> float:
    if not overlap or not candidate or not reference:
        return 0.0
    p, r = overlap / candidate, overlap / reference
    return 2 * p * r / (p + r)


def rouge_n(candidate: Sequence[str], reference: Sequence[str], n: int) -> float:
    c, r = _ngrams(candidate, n), _ngrams(reference, n)
    overlap = sum(min(count, r.get(gram, 0)) for gram, count in c.items())
    return _f1(overlap, sum(c.values()), sum(r.values()))


def rouge_l(candidate: Sequence[str], reference: Sequence[str]) -> float:
    if not candidate or not reference:
        return 0.0
    # Longest common subsequence, one row at a time.
    prev = [0] * (len(reference) + 1)
    for a in candidate:
        row = [0]
        for j, b in enumerate(reference):
            row.append(prev[j] + 1 if a == b else max(prev[j + 1], row[j]))
        prev = row
    return _f1(prev[-1], len(candidate), len(reference))


def rouge(pairs: Sequence[tuple[Sequence[str], Sequence[str]]]) -> dict[str, float]:
    """Mean ROUGE-1/2/L F1 in percent over (candidate, reference) unit sequences."""
    total = {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}
    for cand, ref in pairs:
        total["rouge1"] += rouge_n(cand, ref, 1)
        total["rouge2"] += rouge_n(cand, ref, 2)
        total["rougeL"] += rouge_l(cand, ref)
    return {k: round(100 * v / max(len(pairs), 1), 1) for k, v in total.items()}


def _chars(text: str) -> list[str]:
    return [c for c in text if not c.isspace()]


def _words(text: str) -> list[str]:
    out: list[str] = []
    for raw in text.lower().split():
        word = raw.strip(".,;:!?\"'()[]")
        if word:
            out.append(word)
    return out


def _jsonl(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


# ---- figures ------------------------------------------------------------------------------


def summary_figures() -> dict[str, object]:
    lcsts = list(_jsonl(DATA / "summaries_zh_lcsts" / "pairs.jsonl"))
    ours, lead1 = [], []
    start = time.perf_counter()
    for row in lcsts:
        ref = _chars(row["summary"])
        ours.append((_chars(summarize(row["text"], "zh-Hans", max_chars=30)), ref))
        first = split_sentences(row["text"])
        lead1.append((_chars(first[0] if first else ""), ref))
    zh_seconds = time.perf_counter() - start
    zh_held = [held_out(row["text"]) for row in lcsts]

    bbc = list(_jsonl(DATA / "summaries_en_bbc" / "articles.jsonl"))
    en_ours, en_lead3 = [], []
    start = time.perf_counter()
    for row in bbc:
        body = _body(row["article"])
        ref = _words(row["summary"])
        en_ours.append((_words(summarize(body, "en")), ref))
        en_lead3.append((_words(" ".join(split_sentences(body)[:3])), ref))
    en_seconds = time.perf_counter() - start
    en_held = [held_out(row["article"]) for row in bbc]
    return {
        "lcsts": {
            "pairs": len(lcsts),
            "summary": _parts(ours, zh_held),
            "first_sentence": _parts(lead1, zh_held),
            "published_first_sentence": {"rouge1": 23.7, "rouge2": 13.7, "rougeL": 20.4},
            "texts_per_second": round(len(lcsts) / zh_seconds),
        },
        "bbc": {
            "articles": len(bbc),
            "summary": _parts(en_ours, en_held),
            "lead3": _parts(en_lead3, en_held),
            "texts_per_second": round(len(bbc) / en_seconds),
        },
    }


def _parts(
    pairs: Sequence[tuple[Sequence[str], Sequence[str]]], held: Sequence[bool]
) -> dict[str, dict[str, float]]:
    """ROUGE on the whole set, on its dev part and on its held-out part."""
    dev = [pair for pair, h in zip(pairs, held, strict=True) if not h]
    kept = [pair for pair, h in zip(pairs, held, strict=True) if h]
    return {"all": rouge(pairs), "dev": rouge(dev), "held_out": rouge(kept)}


# Openings a summary must not have. Deliberately not the summariser's own rules: a greeting is
# told by its first words, a heading by being a whole line of the text without a final mark.
_GREETING_OPENING = re.compile(
    r"^(?:welcome|hi|hello|hey|greetings|dear|good\s+(?:morning|afternoon|evening)"
    r"|thanks?\s+(?:you\s+)?for|happy\s+\w+day|大家好|欢迎|各位|亲爱的)\b",
    re.IGNORECASE,
)
_FINAL_MARK = re.compile(r"[.!?。！？…;；][\"'”’」』)）]*$")


def opening_problem(text: str, summary: str) -> str | None:
    """'greeting' or 'heading' if the summary opens with one, else None."""
    if _GREETING_OPENING.match(summary):
        return "greeting"
    for line in text.splitlines():
        line = line.strip()
        if line and not _FINAL_MARK.search(line) and summary.startswith(line):
            rest = summary[len(line) :]
            if not rest or rest[0] == " ":
                return "heading"
    return None


def opening_figures() -> dict[str, object]:
    """Summaries of the shared English pages that open with a greeting or a heading."""
    root = DATA / "extraction_en"
    truth = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))
    found: dict[str, dict[str, list[str]]] = {
        source: {"dev": [], "held_out": []} for source in ("ground_truth", "extracted")
    }
    pages = 0
    for page in sorted((root / "html").glob("*.html.gz")):
        key = page.name.removesuffix(".html.gz")
        if key not in truth:
            continue
        pages += 1
        part = "held_out" if held_out(key) else "dev"
        extracted = extract_page(gzip.decompress(page.read_bytes()), truth[key].get("url"))
        texts = {
            "ground_truth": truth[key]["articleBody"],
            "extracted": clean_text(extracted.text, title=extracted.title),
        }
        for source, text in texts.items():
            summary = summarize(text, "en")
            problem = opening_problem(text, summary)
            if problem:
                found[source][part].append(f"{key[:8]} {problem}: {summary[:80]}")
    return {"english_pages": {"pages": pages, "openings_with_greeting_or_heading": found}}


def _body(article: str) -> str:
    """The BBC files start with the headline on its own line; the summary is of the body."""
    head, _, rest = article.strip().partition("\n")
    return rest.strip() or head


def speed_figures() -> dict[str, object]:
    """Matcher throughput on 1,000-character articles built from the LCSTS texts."""
    matcher = TopicMatcher(load_taxonomy(TAXONOMY).topics)
    texts = [row["text"] for row in _jsonl(DATA / "summaries_zh_lcsts" / "pairs.jsonl")]
    articles = ["".join(texts[i : i + 10])[:1000] for i in range(0, len(texts), 10)] * 3
    matcher.match(articles[0])  # jieba's dictionary loads here, not in the timing
    return {
        "articles_1000_chars_per_second": round(_rate(matcher.match, articles)),
        "summaries_1000_chars_per_second": round(
            _rate(lambda t: summarize(t, "zh-Hans"), articles)
        ),
    }


def _rate(func: Callable[[str], object], texts: Sequence[str]) -> float:
    start = time.perf_counter()
    for text in texts:
        func(text)
    return len(texts) / (time.perf_counter() - start)


if __name__ == "__main__":
    figures = {**summary_figures(), **opening_figures(), "speed": speed_figures()}
    print(json.dumps(figures, ensure_ascii=False, indent=2))

"""Trains the section model (``newsbrief/articles/sections.npz``) from ../shared/data alone.

    .venv/bin/python bench/train_sections.py [--out PATH]

Training data (the held-out part of THUCNews and BBC, see ``holdout.py``, is never read here):

- THUCNews dev headlines, their 10 classes as the taxonomy's sections (科技 is ``tech``);
- NLPCC 2017 headlines, all of them (no figure is reported on them), at weight
  ``NLPCC_WEIGHT``: entertainment, game, sports, society and tech as those sections, world and
  military news as ``politics``, discovery as ``science``; baby, essay, fashion, food, history,
  regimen, story and travel as ``*other`` (none of the sections: the model learns to say so);
  finance (see ``NLPCC_CLASS``) and car news (tech or finance, depending) are left out;
- BBC dev articles (title and body, as the pipeline matches them), and their titles again on
  their own so short English text is seen too: business as ``finance``, politics, sport as
  ``sports``, tech, entertainment.

Model: multinomial logistic regression with L2, on binary features (``sections.features``)
scaled to unit length, fitted by L-BFGS (scipy, here only; the package reads the result with
numpy). Features seen in fewer than ``MIN_DF`` training texts are dropped; weights are stored as
int8 with a scale per class.

Thresholds: the dev texts of THUCNews and BBC are split into ``FOLDS`` folds (by a hash of the
text); each fold is predicted by a model trained without it, and ``pick`` and ``veto`` are the
pair whose rules + model decisions on those out-of-fold predictions keep macro precision at
``TARGET_PRECISION`` or above with the highest recall. Every step is deterministic (sorted
vocabulary, fixed folds, no random initialisation), so the same data gives the same file.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.optimize
import scipy.sparse

sys.path.insert(0, str(Path(__file__).resolve().parent))

from holdout import split
from quality_topics import (
    BBC_TOPICS,
    MODEL_PATH,
    TAXONOMY,
    THUCNEWS_TOPICS,
    bbc,
    nlpcc,
    scores,
    thucnews,
)

from newsbrief.articles.sections import OTHER, SCRIPTS, features, save_model, script
from newsbrief.articles.topics import TopicMatcher
from newsbrief.config.taxonomy import load_taxonomy

SECTIONS = (
    "games",
    "sports",
    "entertainment",
    "realty",
    "education",
    "stocks",
    "finance",
    "tech",
    "science",
    "politics",
    "society",
)
CLASSES = (*SECTIONS, OTHER)
THUCNEWS_CLASS = {
    "finance": "finance",
    "realty": "realty",
    "stocks": "stocks",
    "education": "education",
    "science": "tech",
    "society": "society",
    "politics": "politics",
    "sports": "sports",
    "game": "games",
    "entertainment": "entertainment",
}
# NLPCC's finance class mixes market reports with money news: THUCNews keeps those apart
# (stocks, finance), and learning from it cost stocks recall on dev, so it is left out.
NLPCC_CLASS = {
    "entertainment": "entertainment",
    "game": "games",
    "sports": "sports",
    "society": "society",
    "tech": "tech",
    "world": "politics",
    "military": "politics",
    "discovery": "science",
    **dict.fromkeys(
        ("baby", "essay", "fashion", "food", "history", "regimen", "story", "travel"), OTHER
    ),
}
BBC_CLASS = {
    "business": "finance",
    "politics": "politics",
    "sport": "sports",
    "tech": "tech",
    "entertainment": "entertainment",
}

# Chosen on the dev folds (out-of-fold figures): features seen once add size, not recall;
# L2 1e-6 beat 1e-5 and 1e-4 (too flat: probabilities never reached a useful pick); NLPCC at
# weight 0.15 (0.3 and 0.5 pulled THUCNews toward NLPCC's sense of its classes, no NLPCC at all
# left science and *other without examples) keeps THUCNews recall and lifts BBC recall.
MIN_DF = 2
L2 = 1e-6
NLPCC_WEIGHT = 0.15
FOLDS = 5
# Dev precision aimed at: the held-out target is 0.90, and held-out figures wander by ~0.01.
TARGET_PRECISION = 0.92
# A class counts as known in a script with this many training texts in it; the model leaves
# the others to the rules (its English has five sections, from BBC).
MIN_KNOWN = 100
# English (pick, veto), set by hand: BBC's dev folds would have the model pick from 0.5 up,
# but they are one outlet in 2004-05. On today's world news (../shared/data/feeds/real) the
# model was confidently wrong up to 0.93 ("A Deadly Medieval Path in England Claims a Modern
# Victim: An Amazon Van" as sport, "France's Macron in India to boost Rafale deal talks" as
# finance), and its vetoes hit sound politics picks (it has never read of Zelensky or Vance):
# English picks need 0.95 and never veto.
ENGLISH = (0.95, 0.0)
MAX_ITER = 200


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    weight: float
    source: str  # thucnews, bbc, bbc-title, nlpcc
    fold: int  # -1: always trained on (NLPCC); else the dev fold it belongs to


def fold_of(text: str) -> int:
    return hashlib.sha1(b"sections-fold:" + text.encode("utf-8")).digest()[0] % FOLDS


def examples() -> list[Example]:
    found: list[Example] = []
    news_dev, _ = split(thucnews(), key=lambda row: row[0])
    for title, label in news_dev:
        found.append(Example(title, THUCNEWS_CLASS[label], 1.0, "thucnews", fold_of(title)))
    bbc_dev, _ = split(bbc(), key=lambda row: row[0])
    for article, label in bbc_dev:
        if label in BBC_CLASS:
            fold = fold_of(article)
            found.append(Example(article, BBC_CLASS[label], 1.0, "bbc", fold))
            title = article.partition("\n")[0].strip()
            found.append(Example(title, BBC_CLASS[label], 1.0, "bbc-title", fold))
    for title, label in nlpcc():
        if label in NLPCC_CLASS:
            found.append(Example(title, NLPCC_CLASS[label], NLPCC_WEIGHT, "nlpcc", -1))
    return found


# ---- the model ----------------------------------------------------------------------------


@dataclass
class Trained:
    vocab: list[str]
    weights: np.ndarray  # float64 [V, K]
    bias: np.ndarray  # [K]

    def probabilities(self, rows: Sequence[Example]) -> np.ndarray:
        index = {f: i for i, f in enumerate(self.vocab)}
        x = matrix(rows, index)
        logits = x @ self.weights + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)


def matrix(rows: Sequence[Example], index: dict[str, int]) -> scipy.sparse.csr_matrix:
    """Each text's binary features scaled to unit length (those outside ``index`` dropped), as
    ``SectionModel.probabilities`` has them."""
    indptr, indices, data = [0], [], []
    for row in rows:
        cols = sorted(index[f] for f in features(row.text) if f in index)
        indices.extend(cols)
        data.extend([1.0 / len(cols) ** 0.5] * len(cols))
        indptr.append(len(indices))
    return scipy.sparse.csr_matrix(
        (np.array(data), np.array(indices, dtype=np.int64), np.array(indptr)),
        shape=(len(rows), len(index)),
    )


def train(train_set: Sequence[Example], l2: float | None = None) -> Trained:
    l2 = L2 if l2 is None else l2
    df = Counter(f for e in train_set for f in features(e.text))
    vocab = sorted(f for f, n in df.items() if n >= MIN_DF)
    index = {f: i for i, f in enumerate(vocab)}
    x = matrix(train_set, index)
    xt = x.T.tocsr()
    y = np.array([CLASSES.index(e.label) for e in train_set])
    onehot = np.zeros((len(y), len(CLASSES)))
    onehot[np.arange(len(y)), y] = 1.0
    sample = np.array([e.weight for e in train_set])
    sample /= sample.sum()
    v, k = len(vocab), len(CLASSES)

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        w = params[: v * k].reshape(v, k)
        b = params[v * k :]
        logits = x @ w + b
        logits -= logits.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(logits).sum(axis=1, keepdims=True))
        log_p = logits - log_norm
        value = -(sample * (log_p * onehot).sum(axis=1)).sum() + 0.5 * l2 * (w * w).sum()
        residual = (np.exp(log_p) - onehot) * sample[:, None]
        grad_w = xt @ residual + l2 * w
        grad_b = residual.sum(axis=0)
        return value, np.concatenate([grad_w.ravel(), grad_b])

    result = scipy.optimize.minimize(
        loss,
        np.zeros(v * k + k),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": MAX_ITER, "maxcor": 10},
    )
    params = result.x
    return Trained(vocab, params[: v * k].reshape(v, k), params[v * k :])


def quantized(model: Trained) -> tuple[np.ndarray, np.ndarray]:
    """int8 weights and the per-class scale that restores them."""
    scale = np.abs(model.weights).max(axis=0) / 127.0
    scale[scale == 0] = 1.0
    return np.round(model.weights / scale).astype(np.int8), scale


# ---- thresholds ---------------------------------------------------------------------------


def known_classes(all_examples: Sequence[Example]) -> dict[str, frozenset[str]]:
    """Per script, the classes with at least ``MIN_KNOWN`` training texts in it."""
    counts = Counter((script(e.text), e.label) for e in all_examples)
    return {s: frozenset(c for c in CLASSES if counts[s, c] >= MIN_KNOWN) for s in SCRIPTS}


def decide(
    probs: np.ndarray, ruled: str | None, pick: float, veto: float, known: frozenset[str]
) -> str | None:
    """``SectionModel.choose`` on a probability row, every section offered."""
    if ruled is not None and ruled not in known:
        return ruled
    judged = [i for i, c in enumerate(SECTIONS) if c in known]
    best = max(judged, key=lambda i: probs[i], default=None)
    if best is not None and probs[best] >= pick:
        return SECTIONS[best]
    if ruled is not None and probs[CLASSES.index(ruled)] < veto:
        return None
    return ruled


Thresholds = dict[str, tuple[float, float]]  # script -> (pick, veto)


@dataclass
class Judged:
    """Dev texts of one corpus with their out-of-fold probabilities and the rules' topics."""

    rows: list[tuple[str, str]]  # text, gold class (the corpus's own)
    class_topics: dict[str, tuple[str, ...]]
    probs: np.ndarray
    rule_topics: list[set[str]]
    known: dict[str, frozenset[str]]

    def __post_init__(self) -> None:
        self.scripts = [script(text) for text, _ in self.rows]

    def figures(self, thresholds: Thresholds) -> dict[str, object]:
        predicted = []
        for text_script, probs, topics in zip(
            self.scripts, self.probs, self.rule_topics, strict=True
        ):
            ruled = next((t for t in topics if t in SECTIONS), None)
            pick, veto = thresholds[text_script]
            chosen = decide(probs, ruled, pick, veto, self.known[text_script])
            predicted.append(
                {t for t in topics if t not in SECTIONS} | ({chosen} if chosen else set())
            )
        return scores(predicted, self.rows, self.class_topics)


def out_of_fold(all_examples: list[Example]) -> dict[str, np.ndarray]:
    """Each dev text's probabilities from a model trained without its fold."""
    found: dict[str, np.ndarray] = {}
    for fold in range(FOLDS):
        started = time.perf_counter()
        model = train([e for e in all_examples if e.fold != fold])
        held = [e for e in all_examples if e.fold == fold and e.source in ("thucnews", "bbc")]
        for e, p in zip(held, model.probabilities(held), strict=True):
            found[e.text] = p
        print(
            f"fold {fold}: {len(model.vocab)} features, {time.perf_counter() - started:.0f}s",
            flush=True,
        )
    return found


def tune(news: Judged) -> tuple[float, float]:
    """The Chinese (pick, veto) with the best THUCNews macro recall at macro precision >=
    TARGET_PRECISION (out of fold)."""
    best: tuple[float, float, float] | None = None
    for pick in np.arange(0.30, 0.96, 0.025):
        for veto in np.arange(0.0, 0.96, 0.025):
            figures = news.figures({"zh": (pick, veto), "en": ENGLISH})
            if figures["macro_precision"] < TARGET_PRECISION:  # type: ignore[operator]
                continue
            recall = float(figures["macro_recall"])  # type: ignore[arg-type]
            if best is None or recall > best[0]:
                best = (recall, float(pick), float(veto))
    if best is None:
        raise SystemExit(f"no thresholds reach macro precision {TARGET_PRECISION} on dev")
    return best[1], best[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    args = parser.parse_args()

    all_examples = examples()
    print(Counter((e.source, e.label) for e in all_examples))
    known = known_classes(all_examples)
    print("known classes:", {s: sorted(c) for s, c in known.items()})
    oof = out_of_fold(all_examples)
    rules = TopicMatcher(load_taxonomy(TAXONOMY).topics, sections=None)
    judged = []
    for source, class_topics in (("thucnews", THUCNEWS_TOPICS), ("bbc", BBC_TOPICS)):
        rows = [(e.text, label) for e, label in _dev_rows(source, all_examples)]
        probs = np.array([oof[t] for t, _ in rows])
        rule_topics = [set(rules.match(t)) for t, _ in rows]
        judged.append(Judged(rows, class_topics, probs, rule_topics, known))
    thresholds = {"zh": tune(judged[0]), "en": ENGLISH}
    for j in judged:
        figures = j.figures(thresholds)
        print("dev, out of fold:", {k: v for k, v in figures.items() if k != "per_class"})
    print("thresholds (pick, veto):", thresholds)

    model = train(all_examples)
    weights, scale = quantized(model)
    save_model(
        args.out,
        CLASSES,
        model.vocab,
        weights,
        scale,
        model.bias,
        pick={s: p for s, (p, _) in thresholds.items()},
        veto={s: v for s, (_, v) in thresholds.items()},
        known=known,
    )
    print(f"{args.out}: {len(model.vocab)} features, {args.out.stat().st_size // 1024} KB")


def _dev_rows(source: str, all_examples: list[Example]) -> list[tuple[Example, str]]:
    """The dev examples of one corpus with their gold class in the corpus's own terms."""
    own = {v: k for k, v in (THUCNEWS_CLASS if source == "thucnews" else BBC_CLASS).items()}
    return [(e, own[e.label]) for e in all_examples if e.source == source]


if __name__ == "__main__":
    main()

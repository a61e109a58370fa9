"""Text -> newspaper section (sports, finance, ...) by a small linear model, beside the rules.

The taxonomy's rules (``topics``) file a story under a section when its terms say so; many
headlines hold no listed term, and a bare word can mislead. The model reads every character
and word: a multinomial logistic regression over Chinese character 1-3-grams and lower-cased
English words and word pairs, trained by ``bench/train_sections.py`` on the development part of
the shared corpora (THUCNews and NLPCC 2017 headlines, BBC articles) and shipped beside this
module as ``sections.npz`` (the features seen in two or more training texts, int8 weights).

How it joins the rules (``TopicMatcher`` calls ``choose`` where a group's topics compete):

- the taxonomy says which sections exist: a class whose topic is not in the competing group is
  never produced, and a section the model has no class for (an admin's own) keeps the rules'
  verdict;
- a section the model never saw in the text's script (its English comes from BBC articles in
  five sections: no English society, science, stocks, ...) keeps the rules' verdict too;
- when the model is confident (probability >= ``pick``) of a section the group has, the story
  goes there, whatever the rules found;
- otherwise the rules' section stands, unless the model gives it less than ``veto``: it is sure
  the story is something else, or nothing (its class ``*other`` learned headlines of sections
  the taxonomy lacks: food, travel, fashion, history), and then no section is kept.

``pick`` and ``veto`` are per script (``SCRIPTS``; a text is Chinese when it has at least as
many CJK characters as Latin words). English only picks when nearly sure and never vetoes:
trained on one outlet's 2004-05 stories, the model misjudges today's world news (a medieval
path in England reads as sport to it) where it has no class to say "none of these".

Callers pass Simplified Chinese, as to the matcher; only the first ``MODEL_CHARS`` count.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

MODEL_FILE = "sections.npz"
SCRIPTS = ("zh", "en")
# The class of headlines of no section the taxonomy has (not a valid topic id).
OTHER = "*other"
# Like the matcher, the model reads the title and lead; the tail adds cost, not evidence.
MODEL_CHARS = 1500

# A CJK run, a Latin word (an apostrophe's tail dropped: "dubai's" is "dubai"), or digits.
_TOKEN = re.compile(r"[\u3400-\u9fff]+|[a-z]+(?:['’][a-z]+)?|[0-9]+")
_APOSTROPHE = re.compile(r"['’][a-z]+$")
_CJK_FIRST, _CJK_LAST = 0x3400, 0x9FFF


def features(text: str) -> set[str]:
    """The model's features of ``text``: Chinese character 1-, 2- and 3-grams within each run of
    CJK, English words (lower-cased, digits as "0") and pairs of adjacent words.

    The definition the model is trained on; ``SectionModel`` finds the same ones faster.
    """
    found: set[str] = set()
    for token in _tokens(text)[0]:
        if token[0] >= "\u3400":
            found.update(token)
            found.update([token[i : i + 2] for i in range(len(token) - 1)])
            found.update([token[i : i + 3] for i in range(len(token) - 2)])
        else:
            found.add(token)
    return found


def script(text: str) -> str:
    """ "zh" when ``text`` has at least as many CJK characters as Latin words (and some), else
    "en": which of the model's thresholds apply."""
    return _tokens(text)[1]


def _tokens(text: str) -> tuple[list[str], str]:
    """CJK runs as they are, Latin words and word pairs (a pair does not span a CJK run); and
    the text's script."""
    out: list[str] = []
    prev = ""
    cjk = latin = 0
    for m in _TOKEN.finditer(text[:MODEL_CHARS].lower()):
        unit = m.group()
        if unit[0] >= "\u3400":
            out.append(unit)
            cjk += len(unit)
            prev = ""
            continue
        if unit[0].isdigit():
            unit = "0"
        else:
            latin += 1
            if "'" in unit or "’" in unit:
                unit = _APOSTROPHE.sub("", unit)
        out.append(unit)
        if prev:
            out.append(f"{prev} {unit}")
        prev = unit
    return out, "zh" if cjk and cjk >= latin else "en"


def cjk_key(gram: str) -> int | None:
    """A Chinese 1-3-gram as one integer (16 bits a character), None for any other feature.
    Lengths cannot collide: every CJK character is above 0x3400."""
    if not 1 <= len(gram) <= 3 or not all(_CJK_FIRST <= ord(c) <= _CJK_LAST for c in gram):
        return None
    key = 0
    for c in gram:
        key = key << 16 | ord(c)
    return key


def _cjk_keys(text: str) -> Any:
    """The keys of every Chinese 1-3-gram of ``text`` (``cjk_key``), computed as arrays."""
    codes = np.frombuffer(text.encode("utf-32-le", "replace"), dtype=np.uint32).astype(np.int64)
    cjk = (codes >= _CJK_FIRST) & (codes <= _CJK_LAST)
    pair = cjk[:-1] & cjk[1:]
    triple = pair[:-1] & pair[1:]
    return np.concatenate(
        [
            codes[cjk],
            codes[:-1][pair] << 16 | codes[1:][pair],
            codes[:-2][triple] << 32 | codes[1:-1][triple] << 16 | codes[2:][triple],
        ]
    )


@dataclass(frozen=True, slots=True)
class SectionModel:
    """The trained model: classes (section topic ids and ``OTHER``), features, weights.

    Rows of ``weights``: first the Chinese n-grams, in the order of their sorted keys ``cjk``,
    then the other features, numbered by ``words``.
    """

    classes: tuple[str, ...]
    cjk: Any  # int64, sorted: cjk_key of each Chinese feature
    words: dict[str, int]  # every other feature -> its row
    weights: Any  # int8 [features, classes]
    scale: Any  # float32 [classes]: a weight is weights[i, k] * scale[k]
    bias: Any  # float32 [classes]
    pick: dict[str, float]  # script -> threshold
    veto: dict[str, float]
    known: dict[str, frozenset[str]]  # script -> the classes it has training texts of

    @classmethod
    def load(cls, path: str | Path | None = None) -> SectionModel:
        """The model in the file ``path``, by default the one shipped beside this module."""
        source = Path(path) if path is not None else resources.files(__package__) / MODEL_FILE
        with source.open("rb") as f, np.load(f, allow_pickle=False) as data:
            cjk = data["cjk"]
            words = _lines(data["words"])
            classes = tuple(_lines(data["classes"]))
            weights, scale, bias = data["weights"], data["scale"], data["bias"]
            thresholds = data["thresholds"].astype(float)
            known = data["known"].astype(bool)
        if weights.shape != (len(cjk) + len(words), len(classes)):
            raise ValueError(f"{MODEL_FILE}: weights {weights.shape} do not fit its features")
        return cls(
            classes=classes,
            cjk=cjk,
            words=dict(zip(words, range(len(cjk), len(cjk) + len(words)), strict=True)),
            weights=weights,
            scale=scale.astype(np.float32),
            bias=bias.astype(np.float32),
            pick={s: thresholds[i, 0] for i, s in enumerate(SCRIPTS)},
            veto={s: thresholds[i, 1] for i, s in enumerate(SCRIPTS)},
            known={
                s: frozenset(c for c, k in zip(classes, known[i], strict=True) if k)
                for i, s in enumerate(SCRIPTS)
            },
        )

    @property
    def size(self) -> int:
        """How many features the model knows."""
        return len(self.cjk) + len(self.words)

    def rows(self, text: str) -> tuple[Any, str]:
        """The rows of ``weights`` for the features of ``text`` (``features``) the model knows,
        and the text's ``script``."""
        tokens, text_script = _tokens(text)
        keys = _cjk_keys(text[:MODEL_CHARS])
        keys.sort()  # then drop repeats: np.unique takes five times as long
        keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))] if len(keys) else keys
        at = np.searchsorted(self.cjk, keys)
        at[at == len(self.cjk)] = 0
        found = at[self.cjk[at] == keys] if len(self.cjk) else at[:0]
        words = self.words
        other = {words[t] for t in tokens if t[0] < "\u3400" and t in words}
        if other:
            found = np.concatenate([found, np.fromiter(other, np.int64, len(other))])
        return found, text_script

    def probabilities(self, text: str) -> dict[str, float]:
        """Each class's probability for ``text``; empty when no feature of it is known."""
        return self._predict(text)[0]

    def _predict(self, text: str) -> tuple[dict[str, float], str]:
        rows, text_script = self.rows(text)
        if not len(rows):
            return {}, text_script
        summed = self.weights[rows].sum(axis=0, dtype=np.int32)
        logits = summed * self.scale / math.sqrt(len(rows)) + self.bias
        exp = np.exp(logits - logits.max())
        probs = exp / exp.sum()
        return dict(zip(self.classes, probs.tolist(), strict=True)), text_script

    def choose(self, text: str, ruled: str | None, offered: Collection[str]) -> str | None:
        """The section for ``text`` among ``offered`` (the topic ids of one competing group),
        given the rules' choice ``ruled`` (None: no rule hit, or a tie)."""
        if ruled is not None and ruled not in self.classes:
            return ruled  # an admin's own section: the model knows nothing of it
        probs, text_script = self._predict(text)
        known = self.known[text_script]
        if not probs or (ruled is not None and ruled not in known):
            return ruled
        best = max((c for c in offered if c in known), key=probs.__getitem__, default=None)
        if best is not None and probs[best] >= self.pick[text_script]:
            return best
        if ruled is not None and probs[ruled] < self.veto[text_script]:
            return None
        return ruled


@functools.cache
def shipped_model() -> SectionModel:
    """The model shipped with the package, loaded once per process."""
    return SectionModel.load()


def _lines(array: Any) -> list[str]:
    text = array.tobytes().decode("utf-8")
    return text.split("\n") if text else []


def save_model(
    path: str | Path,
    classes: Iterable[str],
    vocab: Iterable[str],
    weights: Any,
    scale: Any,
    bias: Any,
    pick: dict[str, float],
    veto: dict[str, float],
    known: dict[str, Collection[str]],
) -> None:
    """Writes a model ``SectionModel.load`` reads: ``weights`` (int8) has a row per feature of
    ``vocab`` (``features`` strings), a column per class; ``pick``, ``veto`` and ``known`` (the
    classes with training texts) per script. ``bench/train_sections.py`` calls it."""
    vocab = list(vocab)
    classes = list(classes)
    weights = np.asarray(weights, dtype=np.int8)
    keyed = sorted((k, i) for i, f in enumerate(vocab) if (k := cjk_key(f)) is not None)
    words = [(f, i) for i, f in enumerate(vocab) if cjk_key(f) is None]
    if any("\n" in f for f, _ in words):
        raise ValueError("a feature holds a newline")
    order = [i for _, i in keyed] + [i for _, i in words]
    np.savez_compressed(
        path,
        cjk=np.array([k for k, _ in keyed], dtype=np.int64),
        words=_utf8("\n".join(f for f, _ in words)),
        classes=_utf8("\n".join(classes)),
        weights=weights[order],
        scale=np.asarray(scale, dtype=np.float32),
        bias=np.asarray(bias, dtype=np.float32),
        thresholds=np.array([[pick[s], veto[s]] for s in SCRIPTS], dtype=np.float32),
        known=np.array([[c in known[s] for c in classes] for s in SCRIPTS], dtype=np.uint8),
    )


def _utf8(text: str) -> Any:
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)

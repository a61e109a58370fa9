"""Article text -> a short extractive summary: the 1-3 most telling sentences, in reading order.

The ranking leans on the lead (news puts the point first), adds how central a sentence is (how
much of its vocabulary the rest of the article repeats), and penalises overlap with sentences
already chosen, so two sentences saying the same thing are not both taken. The result fits a
budget: 120 characters for Chinese, 60 words for English, or ``max_chars`` characters.

Pages reposted from site to site carry a "摘要:"/"导读:" line that is just the body cut short and
an ellipsis; such lines and truncated echoes are never returned. Summarisers are swappable
behind ``Summarizer`` (an LLM one can come later); ``summarize`` uses the extractive default.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from typing import Protocol

ZH_BUDGET_CHARS = 120
EN_BUDGET_WORDS = 60
MAX_SENTENCES = 3
# Sentences further down than this are not candidates: the lead carries the story.
MAX_CANDIDATES = 40
# A sentence cut to the budget ends at a clause mark if that keeps this share of the budget.
CLAUSE_FILL = 0.7


class Summarizer(Protocol):
    def summarize(self, text: str, lang: str, max_chars: int | None = None) -> str: ...


# ---- sentence splitting -------------------------------------------------------------------

# A sentence mark, with the closing quotes and brackets that belong to the sentence it ends.
_END = re.compile(r"(?:[。！？!?；]+|…+|\.{2,}|\.)[”’」』）)》\"'】]*")
_CLOSERS = "”’」』）)》\"'】"
_HAN = re.compile(r"[\u3400-\u9fff]")
# Abbreviations that end with a period without ending the sentence.
_ABBREVIATIONS_TEXT = """
    mr mrs ms dr prof sr jr st mt ft rev gen col lt sgt capt cmdr adm gov sen rep pres
    inc ltd co corp plc llc bros dept univ assn est approx vs etc al eg ie cf viz
    no nos vol fig pp ed eds jan feb mar apr jun jul aug sep sept oct nov dec
    mon tue tues wed thu thur thurs fri sat sun
    """
_ABBREVIATIONS = frozenset(_ABBREVIATIONS_TEXT.split())
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)$")
_INITIALS = re.compile(r"(?:[A-Za-z]\.)*[A-Za-z]")


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``: Chinese and Latin marks, closing quotes kept, line breaks split.

    "U.S.", "Mr." and other abbreviations, initials and decimals ("3.5") do not end a sentence.
    """
    return list(_sentences(text))


def _sentences(text: str) -> Iterator[str]:
    """``split_sentences`` one at a time: a summary reads only the lead's sentences."""
    for line in text.splitlines():
        start = 0
        for m in _END.finditer(line):
            if _ends_sentence(line, m.start(), m.end()):
                piece = line[start : m.end()].strip()
                if piece:
                    yield piece
                start = m.end()
        rest = line[start:].strip()
        if rest:
            yield rest


def _ends_sentence(line: str, start: int, end: int) -> bool:
    mark = line[start:end].rstrip(_CLOSERS)
    if mark[0] in "。！？；…":
        return True
    after = line[end : end + 2]
    nxt = after.lstrip()[:1]
    # Latin marks end a sentence before a space, a line end or Chinese text, never inside a
    # token ("3.5", "example.com") nor before a lowercase continuation ("approx. five").
    if after and not after[0].isspace() and not _HAN.match(after[0]):
        return False
    if nxt.islower():
        return False
    if mark == "." and mark == line[start:end]:  # a closed quote ends the sentence anyway
        word = _WORD_BEFORE.search(line, 0, start)
        if word:
            token = word.group(1)
            if token.lower() in _ABBREVIATIONS or _INITIALS.fullmatch(token):
                return False
    return True


# ---- cleaning -----------------------------------------------------------------------------

# A lead-in label of reposted pages: the line after it repeats the body.
_LABEL_LINE = re.compile(
    r"^\s*[【\[]?(?:摘要|导读|导语|提要|内容提要|核心提示|编者按|简介|summary|tl;?dr)[】\]]?\s*[:：]",
    re.IGNORECASE,
)
_TRAILING_ELLIPSIS = re.compile(r"(?:\.{2,}|…+)[”’」』）)》\"'】]*$")
_HAS_CONTENT = re.compile(r"[A-Za-z0-9\u3400-\u9fff]")
_SPACES = re.compile(r"\s+")


# A leading clause that only dates or sources the story ("日前，", "12月12日，", "据新华社报道，"):
# a summary has no room for it.
_PREAMBLE = re.compile(
    r"^(?:(?:日前|近日|昨日|昨天|今天|今日|近期|上周|本周|当天|当日|此前|近来|"
    r"\d{2,4}年|\d{1,2}月|\d{1,2}[日号]|[上下中]午|晚间|凌晨|早间|记者|本报讯|本报)+|"
    r"据[^，,。]{1,20}(?:报道|消息|获悉|透露|了解)|记者[^，,。]{0,16}(?:获悉|了解到|采访)[^，,。]{0,4})[，,]"
)


def _clean_sentences(text: str, limit: int) -> list[str]:
    """The first ``limit`` sentences worth ranking: no labels, echoes or bare datelines."""
    lines = [line for line in text.splitlines() if not _LABEL_LINE.match(line)]
    body = "\n".join(lines)
    flat = ""
    kept: list[str] = []
    for sentence in _sentences(body):
        if not _HAS_CONTENT.search(sentence):
            continue
        stem = _TRAILING_ELLIPSIS.sub("", sentence)
        if stem != sentence:
            squeezed = _SPACES.sub("", stem)
            flat = flat or _SPACES.sub("", body)
            # A truncated copy of text found elsewhere: the body says it in full.
            if len(squeezed) >= 6 and flat.count(squeezed) > 1:
                continue
        kept.append(_PREAMBLE.sub("", sentence) or sentence)
        if len(kept) == limit:
            break
    return kept


# ---- ranking ------------------------------------------------------------------------------

_EN_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_ZH_UNIT = re.compile(r"[\u3400-\u9fffA-Za-z0-9]")
_EN_STOP_TEXT = """
    a an the and or but if of at by for with about against between into through during before
    after above below to from up down in out on off over under again further then once here
    there when where why how all any both each few more most other some such no nor not only own
    same so than too very can will just should now is are was were be been being have has had
    having do does did doing i me my we our you your he him his she her it its they them their
    what which who whom this that these those said says say would could also as
    """
_EN_STOP = frozenset(_EN_STOP_TEXT.split())


def _tokens(sentence: str, chinese: bool) -> frozenset[str]:
    if chinese:
        units = "".join(_ZH_UNIT.findall(sentence)).lower()
        # Character bigrams: a cheap stand-in for words, no segmenter needed.
        return frozenset(map(str.__add__, units, units[1:]))
    words = _EN_TOKEN.findall(sentence.lower())
    return frozenset(w.removesuffix("s") for w in words if w not in _EN_STOP and len(w) > 1)


def _similarity(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / math.sqrt(len(a) * len(b))


def _cost(sentence: str, chinese: bool, by_chars: bool) -> int:
    if by_chars:
        return len(sentence)
    return len(sentence.split()) if not chinese else len(sentence)


class ExtractiveSummarizer:
    """Lead-biased, centrality-weighted sentence extraction with redundancy control."""

    def __init__(
        self,
        lead_weight: dict[str, float] | None = None,
        redundancy_penalty: float = 0.5,
        max_similarity: float = 0.6,
        shorten_margin: float = 0.0,
    ) -> None:
        # Measured (bench/quality_text.py): Chinese news states its point in the first
        # sentence; English reports spread it, so centrality counts for more there.
        self.lead_weight = lead_weight or {"zh": 0.8, "en": 0.4}
        self.redundancy_penalty = redundancy_penalty
        self.max_similarity = max_similarity
        self.shorten_margin = shorten_margin

    def summarize(self, text: str, lang: str, max_chars: int | None = None) -> str:
        chinese = lang.startswith("zh")
        sentences = _clean_sentences(text, MAX_CANDIDATES)
        if not sentences:
            return ""
        by_chars = max_chars is not None or chinese
        budget = max_chars or (ZH_BUDGET_CHARS if chinese else EN_BUDGET_WORDS)
        glue = "" if chinese else " "

        whole = _join(sentences, glue)
        if len(sentences) <= MAX_SENTENCES and _cost(whole, chinese, by_chars) <= budget:
            return whole  # short enough to be its own summary

        candidates = sentences
        tokens = [_tokens(s, chinese) for s in candidates]
        lead_weight = self.lead_weight["zh" if chinese else "en"]
        scores = _base_scores(tokens, lead_weight)
        chosen: list[int] = []
        used = 0
        lead = max(range(len(candidates)), key=lambda i: scores[i])
        fits = [i for i, s in enumerate(candidates) if _cost(s, chinese, by_chars) <= budget]
        if not fits or scores[lead] - max(scores[i] for i in fits) > self.shorten_margin:
            # The sentence that matters most is over budget on its own: keep its first clauses
            # rather than promote a minor sentence that happens to be short.
            return _shorten(candidates[lead], budget, chinese, by_chars)
        while len(chosen) < MAX_SENTENCES:
            best, best_score = -1, -math.inf
            for i, sentence in enumerate(candidates):
                if i in chosen:
                    continue
                cost = _cost(sentence, chinese, by_chars) + (len(glue) if chosen else 0)
                if used + cost > budget:
                    continue
                overlap = max((_similarity(tokens[i], tokens[j]) for j in chosen), default=0.0)
                if overlap > self.max_similarity:
                    continue
                score = scores[i] - self.redundancy_penalty * overlap
                if score > best_score:
                    best, best_score = i, score
            if best < 0:
                break
            chosen.append(best)
            used += _cost(candidates[best], chinese, by_chars) + (
                len(glue) if len(chosen) > 1 else 0
            )
        return _join([candidates[i] for i in sorted(chosen)], glue)


def _base_scores(tokens: list[frozenset[str]], lead_weight: float) -> list[float]:
    df: Counter[str] = Counter()
    for toks in tokens:
        df.update(toks)
    weight = {t: math.log(n) for t, n in df.items()}
    central: list[float] = []
    for toks in tokens:
        # Vocabulary other sentences repeat marks what the article is about.
        shared = sum(map(weight.__getitem__, toks))
        central.append(shared / (len(toks) + 4))
    top = max(central) or 1.0
    scores: list[float] = []
    for i in range(len(tokens)):
        lead = 1.0 / (1.0 + i) ** 0.8
        score = lead_weight * lead + (1 - lead_weight) * central[i] / top
        if len(tokens[i]) < 3:
            score -= 0.3  # a fragment: a dateline, a caption, a lone heading
        scores.append(score)
    return scores


_CLAUSE_END = re.compile(r"[，、：:；;,]")


def _shorten(sentence: str, budget: int, chinese: bool, by_chars: bool) -> str:
    """The sentence's leading clauses within budget; else a cut at a word or a character."""
    if by_chars:
        cut = sentence[:budget]
        clause_ends = [m.start() for m in _CLAUSE_END.finditer(cut)]
        if clause_ends and clause_ends[-1] >= budget * CLAUSE_FILL:
            return cut[: clause_ends[-1]].rstrip()
        if not chinese and " " in cut:
            return cut.rsplit(" ", 1)[0].rstrip(" ,;:")
        return cut.rstrip()
    words = sentence.split()[:budget]
    for j in range(len(words) - 1, len(words) // 3, -1):
        if words[j].endswith((",", ";", ":")):
            return " ".join(words[: j + 1]).rstrip(",;:")
    return " ".join(words)


def _join(sentences: list[str], glue: str) -> str:
    if not glue:
        # A bare line without a mark (a heading) still needs a separator from the next one.
        out = sentences[0]
        for s in sentences[1:]:
            out += ("" if _END.search(out[-1:]) or out[-1] in _CLOSERS else " ") + s
        return out
    return glue.join(sentences)


_DEFAULT = ExtractiveSummarizer()


def summarize(text: str, lang: str, max_chars: int | None = None) -> str:
    """A 1-3 sentence summary of ``text`` within the budget, by the default summariser."""
    return _DEFAULT.summarize(text, lang, max_chars)

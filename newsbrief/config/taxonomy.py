"""``config/topics.yaml`` -> ``Topic`` records, every problem reported as ``file:line: reason``.

The file is a mapping with one key, ``topics``: a list of topics, each

    id: crypto                       # lowercase, unique; used in commands and feeds
    parent: crypto                   # optional: a subtopic; its matches also file the parent
    names: {zh-Hans: 加密货币, zh-Hant: 加密貨幣, en: Crypto}
    aliases: [比特币, BTC]           # other names: matched, and accepted in commands
    keywords: [区块链, 稳定币]        # matched only
    weak: [上链]                     # also common elsewhere: half weight, never enough alone
    exclude: [比特币奖学金]          # vetoes the keyword hits it covers
    regex: ['GPT-?\\d']              # RE2 syntax (no lookaround, no backreferences)
    group: section                   # optional: topics of one group compete for a story, which
                                     # goes to the one with the most evidence (a tie: to none)

Line numbers come from ruamel's round-trip nodes, so an admin sees where to fix the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from newsbrief.articles.topics import RegexError, compile_regex
from newsbrief.config.base import ID_PATTERN
from newsbrief.config.yamlfile import YamlFileError, load_yaml
from newsbrief.records import LANGUAGES, Topic, TopicNames

_TERM_LISTS = ("aliases", "keywords", "weak", "exclude", "regex")
_KEYS = {"id", "parent", "group", "names", *_TERM_LISTS}


@dataclass(frozen=True, slots=True)
class Taxonomy:
    topics: tuple[Topic, ...]

    def get(self, topic_id: str) -> Topic | None:
        return next((t for t in self.topics if t.id == topic_id), None)

    def resolve(self, name: str) -> Topic | None:
        """The topic a subscriber means by ``name``: its id, any name or any alias."""
        wanted = name.strip().casefold()
        for topic in self.topics:
            n = topic.names
            if wanted in {s.casefold() for s in (topic.id, n.zh_hans, n.zh_hant, n.en)}:
                return topic
        for topic in self.topics:
            if wanted in {a.casefold() for a in topic.aliases}:
                return topic
        return None


Problem = tuple[int | None, str]


class TaxonomyError(Exception):
    """Everything wrong with a taxonomy file, as ``(line, reason)`` pairs."""

    def __init__(self, path: str, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        return [
            f"{self.path}:{line}: {why}" if line else f"{self.path}: {why}"
            for line, why in self.problems
        ]


def load_taxonomy(path: str | Path) -> Taxonomy:
    """Read and validate a taxonomy file; raise TaxonomyError listing every problem."""
    name = str(path)
    try:
        raw = load_yaml(Path(path))
    except YamlFileError as exc:
        raise TaxonomyError(name, [(exc.line, exc.reason)]) from exc
    problems: list[Problem] = []
    topics = list(_topics(raw, problems))
    _check_references(topics, problems)
    if problems:
        problems.sort(key=lambda p: p[0] or 0)
        raise TaxonomyError(name, problems)
    return Taxonomy(tuple(topics))


def _topics(raw: Any, problems: list[Problem]) -> Iterator[Topic]:
    if not isinstance(raw, CommentedMap) or "topics" not in raw:
        problems.append((1, "the file must be a mapping with a 'topics' list"))
        return
    for key in raw:
        if key != "topics":
            problems.append((_key_line(raw, key), f"unknown key {key!r}"))
    items = raw["topics"]
    if not isinstance(items, CommentedSeq):
        problems.append((_key_line(raw, "topics"), "'topics' must be a list"))
        return
    for i, item in enumerate(items):
        line = items.lc.item(i)[0] + 1
        if not isinstance(item, CommentedMap):
            problems.append((line, f"topics[{i}] must be a mapping"))
            continue
        topic = _topic(item, line, problems)
        if topic is not None:
            yield topic


def _topic(item: CommentedMap, line: int, problems: list[Problem]) -> Topic | None:
    before = len(problems)
    for key in item:
        if key not in _KEYS:
            problems.append((_key_line(item, key), f"unknown key {key!r}"))
    topic_id = item.get("id")
    if not isinstance(topic_id, str) or not ID_PATTERN.match(topic_id):
        where = _key_line(item, "id") if "id" in item else line
        problems.append((where, f"id must be lowercase letters, digits, '-' or '_': {topic_id!r}"))
    label = topic_id if isinstance(topic_id, str) else "?"
    names = _names(item, label, line, problems)
    parent = item.get("parent")
    if parent is not None and not isinstance(parent, str):
        problems.append((_key_line(item, "parent"), f"{label}: parent must be a topic id"))
    group = item.get("group")
    if group is not None and (not isinstance(group, str) or not ID_PATTERN.match(group)):
        problems.append((_key_line(item, "group"), f"{label}: group must be a lowercase name"))
    lists = {key: _terms(item, key, label, problems) for key in _TERM_LISTS}
    for j, pattern in enumerate(lists["regex"]):
        try:
            compile_regex(pattern)
        except RegexError as exc:
            where = _item_line(item["regex"], j)
            problems.append((where, f"{label}: regex {pattern!r} is not valid RE2: {exc}"))
    if len(problems) > before or names is None:
        return None
    return Topic(
        id=str(topic_id),
        names=names,
        aliases=lists["aliases"],
        keywords=lists["keywords"],
        weak=lists["weak"],
        exclude=lists["exclude"],
        regex=lists["regex"],
        parent=parent,
        group=group,
        line=line,
    )


def _names(item: CommentedMap, label: str, line: int, problems: list[Problem]) -> TopicNames | None:
    names = item.get("names")
    if not isinstance(names, CommentedMap):
        where = _key_line(item, "names") if "names" in item else line
        problems.append((where, f"{label}: names must map {', '.join(LANGUAGES)} to names"))
        return None
    ok = True
    for lang in LANGUAGES:
        value = names.get(lang)
        if not isinstance(value, str) or not value.strip():
            where = _key_line(names, lang) if lang in names else _key_line(item, "names")
            problems.append((where, f"{label}: names.{lang} is missing or empty"))
            ok = False
    for key in names:
        if key not in LANGUAGES:
            problems.append((_key_line(names, key), f"{label}: unknown language {key!r}"))
            ok = False
    if not ok:
        return None
    return TopicNames(names["zh-Hans"].strip(), names["zh-Hant"].strip(), names["en"].strip())


def _terms(item: CommentedMap, key: str, label: str, problems: list[Problem]) -> tuple[str, ...]:
    value = item.get(key)
    if value is None:
        return ()
    if not isinstance(value, CommentedSeq):
        problems.append((_key_line(item, key), f"{label}: {key} must be a list of strings"))
        return ()
    terms: list[str] = []
    for j, term in enumerate(value):
        if not isinstance(term, str):
            # YAML reads a bare 007 as the number 7: the admin meant the text.
            hint = "; quote it" if isinstance(term, int | float) else ""
            problems.append((_item_line(value, j), f"{label}: {key}[{j}] must be a string{hint}"))
        elif not term.strip():
            problems.append((_item_line(value, j), f"{label}: {key}[{j}] is empty"))
        else:
            terms.append(term.strip())
    return _unique(terms)


def _check_references(topics: list[Topic], problems: list[Problem]) -> None:
    seen: dict[str, int] = {}
    for topic in topics:
        if topic.id in seen:
            problems.append(
                (topic.line, f"duplicate topic id {topic.id!r} (first on line {seen[topic.id]})")
            )
        seen.setdefault(topic.id, topic.line)
    for topic in topics:
        if topic.parent is None:
            continue
        if topic.parent == topic.id:
            problems.append((topic.line, f"{topic.id}: a topic cannot be its own parent"))
        elif topic.parent not in seen:
            problems.append((topic.line, f"{topic.id}: unknown parent {topic.parent!r}"))
        elif next(t for t in topics if t.id == topic.parent).parent is not None:
            problems.append((topic.line, f"{topic.id}: parent {topic.parent!r} is a subtopic"))


def _key_line(node: CommentedMap, key: object) -> int:
    return int(node.lc.key(key)[0]) + 1


def _item_line(node: CommentedSeq, index: int) -> int:
    return int(node.lc.item(index)[0]) + 1


def _unique(terms: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(terms))

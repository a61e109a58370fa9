"""config/topics.yaml loads into typed topics; every problem is reported with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsbrief.config.taxonomy import Taxonomy, TaxonomyError, load_taxonomy

TAXONOMY = Path(__file__).resolve().parent.parent / "config" / "topics.yaml"
HOME = ("ai", "crypto", "tech", "finance", "stocks", "policy")
SECTIONS = ("realty", "education", "science", "society", "politics", "sports", "games")


def test_the_shipped_taxonomy_loads() -> None:
    taxonomy = load_taxonomy(TAXONOMY)
    ids = [t.id for t in taxonomy.topics]
    assert set(HOME + SECTIONS + ("entertainment",)) <= set(ids)
    crypto_subtopics = {t.id for t in taxonomy.topics if t.parent == "crypto"}
    assert {"bitcoin", "ethereum", "exchanges", "crypto-regulation", "defi"} <= crypto_subtopics
    terms = sum(len(t.keywords) + len(t.aliases) for t in taxonomy.topics)
    assert terms > 1000
    sports = taxonomy.get("sports")
    assert sports is not None
    assert sports.display("zh-Hant") == "體育"
    assert sports.display("en") == "Sports"
    assert sports.line > 1
    stocks = taxonomy.get("stocks")
    assert stocks is not None and "大涨" in stocks.weak and "大涨" not in stocks.keywords


def test_resolve_by_id_name_or_alias() -> None:
    taxonomy = load_taxonomy(TAXONOMY)
    for name, topic_id in [
        ("体育", "sports"),
        ("AI", "ai"),
        ("人工智慧", "ai"),
        ("大饼", "bitcoin"),
    ]:
        topic = taxonomy.resolve(name)
        assert topic is not None and topic.id == topic_id, name
    assert taxonomy.resolve("nonsense") is None
    assert isinstance(taxonomy, Taxonomy)


def _problems(tmp_path: Path, text: str) -> list[tuple[int | None, str]]:
    path = tmp_path / "topics.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TaxonomyError) as caught:
        load_taxonomy(path)
    assert str(caught.value).startswith(f"{path}:")
    return caught.value.problems


def test_problems_carry_line_numbers(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        """\
topics:
  - id: ok
    names: {zh-Hans: 好, zh-Hant: 好, en: OK}
  - id: Bad Id
    names: {zh-Hans: 坏, zh-Hant: 壞, en: Bad}
  - id: ok
    names: {zh-Hans: 重复, zh-Hant: 重複, en: Dup}
  - id: noname
    names: {zh-Hans: 无名, en: Nameless}
  - id: child
    parent: ok
    names: {zh-Hans: 子, zh-Hant: 子, en: Child}
    keywords: [fine, 007, '']
    weak: [ok, 1.5]
    regex: ['(?<=x)y']
    colour: red
  - id: orphan
    parent: missing
    names: {zh-Hans: 孤, zh-Hant: 孤, en: Orphan}
""",
    )
    reasons = dict(problems)
    assert "id must be lowercase" in reasons[4]
    assert "duplicate topic id 'ok' (first on line 2)" in reasons[6]
    assert "names.zh-Hant is missing" in reasons[9]
    assert [line for line, why in problems if "keywords[" in why] == [13, 13]
    assert "weak[1] must be a string; quote it" in reasons[14]
    assert any("quote it" in why for _, why in problems)
    assert "not valid RE2" in reasons[15]
    assert "unknown key 'colour'" in reasons[16]
    assert "unknown parent 'missing'" in reasons[17]
    assert [line for line, _ in problems] == sorted(line or 0 for line, _ in problems)


def test_syntax_errors_and_wrong_shapes(tmp_path: Path) -> None:
    [(line, why)] = _problems(tmp_path, "topics:\n  - id: a\n    names: [unclosed\n")
    assert why.startswith("YAML syntax") and line is not None
    assert _problems(tmp_path, "- just a list\n") == [
        (1, "the file must be a mapping with a 'topics' list")
    ]
    assert _problems(tmp_path, "topics: nope\nextra: 1\n") == [
        (1, "'topics' must be a list"),
        (2, "unknown key 'extra'"),
    ]
    with pytest.raises(TaxonomyError, match="cannot read"):
        load_taxonomy(tmp_path / "absent.yaml")


def test_ids_follow_the_one_id_rule(tmp_path: Path) -> None:
    """The taxonomy takes the ids the config takes: a digit first, up to 64 characters."""
    long_id = "a" * 64
    path = tmp_path / "topics.yaml"
    path.write_text(
        f"""\
topics:
  - id: 36kr
    group: 1st
    names: {{zh-Hans: 氪, zh-Hant: 氪, en: Kr}}
  - id: {long_id}
    names: {{zh-Hans: 长, zh-Hant: 長, en: Long}}
""",
        encoding="utf-8",
    )
    assert [t.id for t in load_taxonomy(path).topics] == ["36kr", long_id]
    [(line, why)] = _problems(
        tmp_path, f"topics:\n  - id: {long_id}a\n    names: {{zh-Hans: 长, zh-Hant: 長, en: L}}\n"
    )
    assert line == 2 and "id must be lowercase" in why

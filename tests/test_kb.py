"""The L0 knowledge base: bundled articles are valid, search finds the right article, org folders override."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from desktop.diagnostics import findings
from desktop.kb import (
    BUNDLED_DIR,
    LANGUAGES,
    KnowledgeBase,
    KnowledgeBaseError,
    detect_language,
    load_articles,
    parse_article,
)

FIXTURES = Path(__file__).parent / "fixtures" / "kb"


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase()


def _queries(language: str) -> list[tuple[str, str]]:
    rows = []
    for line in (FIXTURES / f"queries_{language}.tsv").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        query, expected = line.split("\t")
        rows.append((query, expected))
    return rows


def test_bundled_articles_load_in_both_languages_with_the_same_ids() -> None:
    articles = load_articles(BUNDLED_DIR)
    ids = {lang: {aid for (alang, aid) in articles if alang == lang} for lang in LANGUAGES}
    assert len(ids["en"]) >= 15
    assert ids["en"] == ids["ru"]


def test_every_linked_finding_is_a_registered_rule() -> None:
    known = set(findings.rules())
    for article in load_articles(BUNDLED_DIR).values():
        unknown = set(article.findings) - known
        assert not unknown, f"{article.path} links unknown findings {sorted(unknown)}"


def test_russian_articles_are_written_in_russian() -> None:
    for (lang, _), article in load_articles(BUNDLED_DIR).items():
        if lang == "ru":
            assert detect_language(article.title) == "ru", article.path
            cyrillic = sum("а" <= ch.lower() <= "я" for ch in article.body)
            assert cyrillic > len(article.body) / 3, article.path


@pytest.mark.parametrize("language", LANGUAGES)
def test_top3_hit_rate(kb: KnowledgeBase, language: str) -> None:
    queries = _queries(language)
    assert len(queries) >= 30
    misses = []
    for query, expected in queries:
        assert kb.get(expected, language) is not None, f"{expected!r} is not an article id"
        ids = [hit.article.id for hit in kb.search(query, language, limit=3)]
        if expected not in ids:
            misses.append((query, expected, ids))
    rate = 1 - len(misses) / len(queries)
    print(f"\nkb top-3 hit rate [{language}]: {rate:.3f} ({len(queries) - len(misses)}/{len(queries)})")
    for miss in misses:
        print("  miss:", *miss)
    assert rate >= 0.9, misses


def test_russian_inflections_match_through_stemming(kb: KnowledgeBase) -> None:
    # None of these word forms appears literally in the printer article's title or keywords.
    for query in ("принтеры", "принтером", "печатают", "принтерах", "распечатаю"):
        assert kb.search(query, "ru", limit=1)[0].article.id == "printer-offline", query
    assert kb.search("printers printed", "en", limit=1)[0].article.id == "printer-offline"


def test_search_detects_language_by_script(kb: KnowledgeBase) -> None:
    assert kb.search("принтер", None, limit=1)[0].article.language == "ru"
    assert kb.search("printer", None, limit=1)[0].article.language == "en"
    assert detect_language("123", default="ru") == "ru"


def test_search_returns_scores_best_first_and_a_snippet(kb: KnowledgeBase) -> None:
    hits = kb.search("printer paper jam", "en", limit=5)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert "paper" in hits[0].snippet.lower()
    assert not hits[0].snippet.startswith("#")
    assert kb.search("", "en") == []
    assert kb.search("!!! ...", "en") == []


def test_query_syntax_characters_are_data_not_fts_operators(kb: KnowledgeBase) -> None:
    for query in ('"printer', "printer AND OR NOT", "wifi*", "NEAR(printer)", "disk:full", "-vpn"):
        kb.search(query, "en")


def test_search_is_fast(kb: KnowledgeBase) -> None:
    queries = [q for lang in LANGUAGES for q, _ in _queries(lang)]
    started = time.perf_counter()
    for query in queries:
        kb.search(query, None, limit=3)
    per_query = (time.perf_counter() - started) / len(queries)
    assert per_query < 0.005, f"{per_query * 1000:.2f} ms per query"


def test_for_findings_lists_linked_articles(kb: KnowledgeBase) -> None:
    out = kb.for_findings(["printers.stopped", "disk.almost_full", "users.running_as_root", "nope.unknown"], "ru")
    assert [a.id for a in out["printers.stopped"]] == ["printer-offline"]
    assert out["printers.stopped"][0].language == "ru"
    assert [a.id for a in out["disk.almost_full"]] == ["disk-full"]
    assert out["nope.unknown"] == []
    assert {a.id for a in kb.for_findings(["cpu.high_load"], "en")["cpu.high_load"]} >= {"slow-computer"}


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


GOOD = "---\nid: {id}\ntitle: {title}\nlanguage: en\nkeywords: {kw}\nfindings:\n---\n{body}\n"


def test_org_folder_adds_and_overrides_articles(tmp_path: Path) -> None:
    _write(
        tmp_path / "en" / "printer.md",
        GOOD.format(id="printer-offline", title="Printing at ACME", kw="printer", body="Call extension 1234."),
    )
    _write(
        tmp_path / "en" / "badge.md",
        GOOD.format(id="door-badge", title="Door badge does not open", kw="badge, door", body="Go to reception."),
    )
    kb = KnowledgeBase(org_folder=tmp_path)
    assert kb.get("printer-offline", "en").title == "Printing at ACME"  # type: ignore[union-attr]
    assert kb.get("printer-offline", "ru").title == "Принтер не печатает"  # type: ignore[union-attr]
    assert kb.search("badge door", "en", limit=1)[0].article.id == "door-badge"
    # An org article with no Russian version is offered in English rather than not at all.
    assert kb.get("door-badge", "ru").language == "en"  # type: ignore[union-attr]
    kb.close()


def test_missing_org_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match="does not exist"):
        KnowledgeBase(org_folder=tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("id: x\n", ":1:", "must start with"),
        ("---\nid: x\ntitle: T\n", ":3:", "not closed"),
        ("---\nid: x\ntitle: T\nlanguage: en\nkeywords:\nfindings:\ncolour: red\n---\nBody\n", ":7:", "unknown"),
        ("---\nid: x\nid: y\n---\nBody\n", ":3:", "duplicate"),
        ("---\nid: Bad Id\n---\nBody\n", ":2:", "id"),
        ("---\nid: x\ntitle: T\nlanguage: de\n---\nBody\n", ":4:", "language"),
        ("---\nid: x\ntitle: T\nlanguage: en\n---\nBody\n", ":5:", "lacks keywords, findings"),
        ("---\nid: x\ntitle: T\nlanguage: en\nkeywords: a\nfindings:\n---\n\n", ":7:", "no text"),
        ("---\nid: x\njust words\n---\nBody\n", ":3:", "key: value"),
    ],
)
def test_bad_front_matter_names_file_and_line(tmp_path: Path, text: str, where: str, message: str) -> None:
    path = _write(tmp_path / "bad.md", text)
    with pytest.raises(KnowledgeBaseError, match=message) as excinfo:
        parse_article(path)
    assert f"{path}{where}" in str(excinfo.value)


def test_a_bad_org_article_stops_loading_with_its_name(tmp_path: Path) -> None:
    org = tmp_path / "org"
    shutil.copytree(BUNDLED_DIR, org)
    _write(org / "ru" / "broken.md", "---\nid: broken\n")
    with pytest.raises(KnowledgeBaseError, match="broken.md"):
        KnowledgeBase(org_folder=org)


def test_duplicate_ids_in_one_folder_and_wrong_language_folder_are_errors(tmp_path: Path) -> None:
    body = GOOD.format(id="same", title="T", kw="", body="Text.")
    _write(tmp_path / "a" / "en" / "one.md", body)
    _write(tmp_path / "a" / "en" / "two.md", body)
    with pytest.raises(KnowledgeBaseError, match="already used"):
        load_articles(tmp_path / "a")
    _write(tmp_path / "b" / "ru" / "one.md", body)
    with pytest.raises(KnowledgeBaseError, match="under ru"):
        load_articles(tmp_path / "b")

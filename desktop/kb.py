"""The L0 self-help knowledge base: bundled and organisation articles, searched with SQLite FTS5.

An article is a Markdown file with a front matter block between two ``---`` lines::

    ---
    id: printer-offline
    title: The printer does not print
    language: en
    keywords: printer, print, queue, paper jam
    findings: printers.stopped, printers.service_down
    ---
    Plain-language steps...

Keys are ``id``, ``title``, ``language`` (``en`` or ``ru``), ``keywords`` and ``findings``
(comma-separated lists, may be empty). Unknown keys, missing keys and duplicate keys are errors that
name the file and line.

Stemming is done here, not by FTS5: every token is lower-cased and reduced with the Snowball stemmer of
the article's language before it goes into the index, and a query is stemmed the same way. Title and
keywords are weighted above the body through bm25 column weights. No Qt here; the self-help screen
builds on this module.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import snowballstemmer  # type: ignore[import-untyped]  # ships no type hints

from desktop.errors import DesklineError
from desktop.paths import resource_dir

LANGUAGES = ("en", "ru")
BUNDLED_DIR = resource_dir() / "kb"  # resources/kb of a checkout, share/deskline/kb of an installation

_KEYS = ("id", "title", "language", "keywords", "findings")
_LIST_KEYS = frozenset({"keywords", "findings"})
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_TOKEN_RE = re.compile(r"[0-9a-zа-яё]+", re.IGNORECASE)
_CYRILLIC_RE = re.compile(r"[а-яё]", re.IGNORECASE)
_LATIN_RE = re.compile(r"[a-z]", re.IGNORECASE)
_STEMMER_NAMES = {"en": "english", "ru": "russian"}
# Words so common in articles and questions that they only add noise to the ranking: nearly every
# article says what does "not" work, so "не"/"not" tell articles apart no better than "the".
_STOPWORDS = frozenset(
    "a an the and or of to in on at for with is are be it my i me my we our this that my can cant can't do does "
    "doesn't dont don't not no how why what when my your you from by as has have".split()
    + "и в во на с со к по о об у за из от до для не ни но а же ли то это как что мой моя мое мои меня мне "
    "у я он она оно они мы вы ты при его ее её нет да уже очень все всё".split()
)
# bm25 weights for (title, keywords, body); the id column is unindexed.
_WEIGHTS = (8.0, 6.0, 1.0)


class KnowledgeBaseError(DesklineError):
    """An article cannot be read or is malformed; the message names the file and line."""


@dataclass(frozen=True)
class Article:
    """One knowledge-base article; ``body`` is the Markdown after the front matter."""

    id: str
    title: str
    language: str
    keywords: tuple[str, ...]
    findings: tuple[str, ...]
    body: str
    path: Path


@dataclass(frozen=True)
class Hit:
    """A search result: ``score`` is the negated bm25 rank (higher is better), ``snippet`` plain text."""

    article: Article
    score: float
    snippet: str


def detect_language(text: str, default: str = "en") -> str:
    """The language of a query by its script: any Cyrillic letter makes it ``ru``, Latin only ``en``."""
    if _CYRILLIC_RE.search(text):
        return "ru"
    if _LATIN_RE.search(text):
        return "en"
    return default


class _Stemmer:
    """Tokenises and stems text per language; caches stems since article and query words repeat a lot."""

    def __init__(self) -> None:
        self._stemmers = {lang: snowballstemmer.stemmer(name) for lang, name in _STEMMER_NAMES.items()}
        self._cache: dict[tuple[str, str], str] = {}

    def stems(self, text: str, language: str) -> list[str]:
        out = []
        for token in _TOKEN_RE.findall(text.lower().replace("ё", "е")):
            if token in _STOPWORDS:
                continue
            # A Latin word inside a Russian text ("Wi-Fi", "Outlook") is stemmed as English and vice versa.
            lang = "ru" if _CYRILLIC_RE.search(token) else ("en" if _LATIN_RE.search(token) else language)
            key = (lang, token)
            stem = self._cache.get(key)
            if stem is None:
                stem = self._stemmers[lang].stemWord(token)
                self._cache[key] = stem
            out.append(stem)
        return out


def parse_article(path: Path) -> Article:
    """Read one article file; raises KnowledgeBaseError naming the file and line of the fault."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KnowledgeBaseError(f"{path}: cannot read article: {exc}") from exc
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise KnowledgeBaseError(f"{path}:1: an article must start with a '---' front matter line")
    fields: dict[str, str] = {}
    end = None
    for number, line in enumerate(lines[1:], start=2):
        if line.strip() == "---":
            end = number
            break
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        key = key.strip()
        if not sep:
            raise KnowledgeBaseError(f"{path}:{number}: expected 'key: value', got {line.strip()!r}")
        if key not in _KEYS:
            raise KnowledgeBaseError(f"{path}:{number}: unknown front matter key {key!r} (known: {', '.join(_KEYS)})")
        if key in fields:
            raise KnowledgeBaseError(f"{path}:{number}: duplicate front matter key {key!r}")
        fields[key] = value.strip()
        if key == "id" and not _ID_RE.match(fields[key]):
            raise KnowledgeBaseError(f"{path}:{number}: id {fields[key]!r} must be lower-case letters, digits, '-'")
        if key == "language" and fields[key] not in LANGUAGES:
            raise KnowledgeBaseError(f"{path}:{number}: language {fields[key]!r} is not one of {', '.join(LANGUAGES)}")
        if key == "title" and not fields[key]:
            raise KnowledgeBaseError(f"{path}:{number}: empty title")
    if end is None:
        raise KnowledgeBaseError(f"{path}:{len(lines)}: front matter is not closed with a '---' line")
    missing = [key for key in _KEYS if key not in fields]
    if missing:
        raise KnowledgeBaseError(f"{path}:{end}: front matter lacks {', '.join(missing)}")

    def split(value: str) -> tuple[str, ...]:
        value = value.strip()
        if value.startswith("[") and value.endswith("]"):
            value = value[1:-1]
        return tuple(item.strip() for item in value.split(",") if item.strip())

    body = "\n".join(lines[end:]).strip()
    if not body:
        raise KnowledgeBaseError(f"{path}:{end}: the article has no text after its front matter")
    return Article(
        id=fields["id"],
        title=fields["title"],
        language=fields["language"],
        keywords=split(fields["keywords"]),
        findings=split(fields["findings"]),
        body=body,
        path=path,
    )


def load_articles(*folders: Path) -> dict[tuple[str, str], Article]:
    """Articles keyed by (language, id); a later folder overrides an earlier one's article with the same key.

    Each folder holds ``<language>/*.md``; a folder that does not exist is an error (an organisation
    folder named by policy that is missing should be noticed, not silently ignored).
    """
    articles: dict[tuple[str, str], Article] = {}
    for folder in folders:
        if not folder.is_dir():
            raise KnowledgeBaseError(f"{folder}: knowledge-base folder does not exist")
        seen: dict[tuple[str, str], Path] = {}
        for lang in LANGUAGES:
            for path in sorted((folder / lang).glob("*.md")):
                article = parse_article(path)
                if article.language != lang:
                    raise KnowledgeBaseError(f"{path}: language {article.language!r} but the file is under {lang}/")
                key = (lang, article.id)
                if key in seen:
                    raise KnowledgeBaseError(f"{path}: id {article.id!r} is already used by {seen[key]}")
                seen[key] = path
                articles[key] = article
    return articles


def _plain(markdown: str) -> str:
    """Markdown reduced to plain text for snippets."""
    text = re.sub(r"[#*_`>\[\]]", "", markdown)
    return re.sub(r"\s+", " ", text).strip()


class KnowledgeBase:
    """Bundled articles plus an optional organisation folder, indexed in an in-memory FTS5 table."""

    def __init__(self, org_folder: Path | None = None, bundled: Path = BUNDLED_DIR) -> None:
        folders = [bundled] + ([org_folder] if org_folder is not None else [])
        self.articles = load_articles(*folders)
        self._stemmer = _Stemmer()
        self._rows: list[Article] = []
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.execute(
            "CREATE VIRTUAL TABLE kb USING fts5(lang UNINDEXED, title, keywords, body, tokenize='unicode61')"
        )
        for rowid, article in enumerate(sorted(self.articles.values(), key=lambda a: (a.language, a.id))):
            self._rows.append(article)
            stem = self._stemmer.stems
            self._db.execute(
                "INSERT INTO kb(rowid, lang, title, keywords, body) VALUES (?, ?, ?, ?, ?)",
                (
                    rowid,
                    article.language,
                    " ".join(stem(article.title, article.language)),
                    " ".join(stem(" ".join(article.keywords), article.language)),
                    " ".join(stem(article.body, article.language)),
                ),
            )
        self._db.commit()

    def get(self, article_id: str, language: str) -> Article | None:
        """The article with this id in this language, falling back to English."""
        return self.articles.get((language, article_id)) or self.articles.get(("en", article_id))

    def search(self, query: str, language: str | None = None, limit: int = 5) -> list[Hit]:
        """Articles best matching ``query``, best first; ``language=None`` detects it from the script.

        Any query word may match (OR), so a typo in one word does not lose the others; bm25 ranks
        articles matching more and rarer words higher.
        """
        lang = language or detect_language(query)
        stems = sorted(set(self._stemmer.stems(query, lang)))
        if not stems:
            return []
        # Stems hold only letters and digits, so quoting makes each a plain term, never FTS5 syntax. A
        # stem of 4+ letters also matches as a prefix ("wi" no, "принт" yes): compounds and stems the
        # stemmer cut differently still count, while the exact term, listed too, ranks higher.
        terms = [f'"{s}"' for s in stems] + [f'"{s}"*' for s in stems if len(s) >= 4]
        match = " OR ".join(terms)
        rows = self._db.execute(
            "SELECT rowid, bm25(kb, 0.0, ?, ?, ?) AS r FROM kb WHERE kb MATCH ? AND lang = ? ORDER BY r LIMIT ?",
            (*_WEIGHTS, match, lang, limit),
        ).fetchall()
        return [Hit(self._rows[rowid], -rank, self._snippet(self._rows[rowid], stems)) for rowid, rank in rows]

    def _snippet(self, article: Article, stems: Iterable[str], width: int = 160) -> str:
        """The body sentence sharing most stems with the query, cut to ``width`` characters."""
        wanted = set(stems)
        best, best_score = "", -1
        for sentence in re.split(r"(?<=[.!?])\s+|\n+", article.body):
            if sentence.lstrip().startswith("#"):  # the heading repeats the title the screen already shows
                continue
            plain = _plain(sentence)
            if not plain:
                continue
            score = len(wanted.intersection(self._stemmer.stems(plain, article.language)))
            if score > best_score:
                best, best_score = plain, score
        return best if len(best) <= width else best[: width - 1].rstrip() + "…"

    def for_findings(self, finding_ids: Iterable[str], language: str) -> dict[str, list[Article]]:
        """For each finding id, the articles (in ``language``, else English) that say they answer it."""
        wanted = list(dict.fromkeys(finding_ids))
        out: dict[str, list[Article]] = {fid: [] for fid in wanted}
        ids = sorted({a.id for a in self.articles.values()})
        for article_id in ids:
            article = self.get(article_id, language)
            if article is None:
                continue
            for fid in article.findings:
                if fid in out:
                    out[fid].append(article)
        return out

    def close(self) -> None:
        self._db.close()

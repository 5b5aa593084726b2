"""How well and how fast does the L0 self-help search find the right article?

Runs the query sets of tests/fixtures/kb (realistic user phrasings with typos and inflections, each
with the article a person would want) against the bundled knowledge base, and prints per language:
* top-1 and top-3 hit rate (the expected article first, or among the first three results);
* the median and 95th-percentile time of one search, over several rounds of all queries;
and the time to load and index all articles (paid once, when the self-help screen opens).

Goal (issue 4): top-3 hit rate at least 0.9 per language; a search well under 5 ms.

Usage: python bench/kb.py [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from desktop.kb import LANGUAGES, KnowledgeBase  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "kb"


def queries(language: str) -> list[tuple[str, str]]:
    rows = []
    for line in (FIXTURES / f"queries_{language}.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            query, expected = line.split("\t")
            rows.append((query, expected))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20, help="times every query is timed (default 20)")
    args = parser.parse_args()

    started = time.perf_counter()
    kb = KnowledgeBase()
    load_ms = (time.perf_counter() - started) * 1000
    print(f"load + index: {len(kb.articles)} articles in {load_ms:.1f} ms")

    for language in LANGUAGES:
        rows = queries(language)
        top1 = top3 = 0
        for query, expected in rows:
            ids = [hit.article.id for hit in kb.search(query, language, limit=3)]
            top1 += bool(ids) and ids[0] == expected
            top3 += expected in ids
        times = []
        for _ in range(args.rounds):
            for query, _expected in rows:
                t0 = time.perf_counter()
                kb.search(query, None, limit=3)  # language detected from the script, as with no UI language
                times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        print(
            f"[{language}] {len(rows)} queries: top-1 {top1 / len(rows):.3f}, top-3 {top3 / len(rows):.3f}; "
            f"search median {statistics.median(times):.3f} ms, p95 {times[int(len(times) * 0.95)]:.3f} ms"
        )
    kb.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

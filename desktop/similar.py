"""Similar reports: before filing a new report, find the user's own ticket about the same problem.

Repeat requests are a KPI of support teams: when the user already reported the same problem and that
ticket is still open, or was closed only days ago, adding to it helps more than a second ticket.

The comparison is on words, not meaning: both texts are cut into words, common words dropped, each
word reduced to its stem with the Snowball stemmer of its script (Russian or English, as the knowledge
base does, so "printer"/"printing" and "принтер"/"принтера" match), and the two sets of stems compared
with the Ochiai coefficient ``|A ∩ B| / sqrt(|A| * |B|)`` (0 nothing shared, 1 the same words). Titles
are compared on their own and together with the descriptions; the better of the two counts. No Qt here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from desktop.kb import _Stemmer, detect_language
from desktop.outbox import Entry

#: A ticket closed longer ago than this (days) is not offered.
RECENT_DAYS = 14
#: The lowest score offered as "similar" (see :func:`score`).
THRESHOLD = 0.5
#: Ticket states (normalised, :data:`desktop.connectors.base.STATES`) that mean the ticket is closed.
CLOSED_STATES = frozenset({"resolved", "closed"})

# Words nearly every problem report uses ("does not work", "проблема с"): sharing them says nothing
# about sharing a problem. Stemmed at first use, like the text.
_GENERIC = {
    "en": "work works working worked problem problems issue issues error help please computer laptop pc "
          "again still anymore suddenly today yesterday since always sometimes get gets got keep keeps".split(),
    "ru": "работает работать работают работа проблема проблемы проблемой ошибка ошибку помогите пожалуйста "
          "компьютер компьютере ноутбук снова опять сегодня вчера постоянно иногда всегда перестал перестала "
          "перестало перестали".split(),
}

# "Wi-Fi" and "WiFi", "e-mail" and "email" are one word.
_HYPHENATED = re.compile(r"(?<=\w)-(?=\w)")

_stemmer: _Stemmer | None = None
_generic: frozenset[str] = frozenset()


def _words() -> tuple[_Stemmer, frozenset[str]]:
    global _stemmer, _generic  # noqa: PLW0603 - built once, on first use (the stemmers take a moment)
    if _stemmer is None:
        stemmer = _Stemmer()
        _generic = frozenset(s for lang, words in _GENERIC.items() for s in stemmer.stems(" ".join(words), lang))
        _stemmer = stemmer
    return _stemmer, _generic


def stems(text: str) -> frozenset[str]:
    """The distinctive stems of ``text``: common and generic words dropped, one-letter stems too."""
    stemmer, generic = _words()
    text = _HYPHENATED.sub("", text)
    return frozenset(s for s in stemmer.stems(text, detect_language(text)) if len(s) > 1 and s not in generic)


def overlap(a: Iterable[str], b: Iterable[str]) -> float:
    """Ochiai coefficient of two sets of stems: 0.0 (nothing shared) to 1.0 (the same set)."""
    sa, sb = set(a), set(b)
    if not sa or not sb:
        return 0.0
    return len(sa & sb) / math.sqrt(len(sa) * len(sb))


def score(title: str, description: str, other_title: str, other_description: str) -> float:
    """How alike two reports are, 0.0 to 1.0: the better of titles alone and title plus description.

    A single shared word counts only when it is all either title says ("VPN" and "VPN"): one word in
    common between longer texts ("printer" in a toner request and in a paper jam) is not enough.
    """
    ta, tb = stems(title), stems(other_title)
    aa, ab = ta | stems(description), tb | stems(other_description)
    best = 0.0
    for a, b in ((ta, tb), (aa, ab)):
        shared = len(a & b)
        if shared >= 2 or (shared == 1 and min(len(a), len(b)) == 1):
            best = max(best, overlap(a, b))
    return best


def _parse_time(text: str) -> datetime | None:
    """A ticket's ``updated`` (ISO 8601 from the backends; ``Z`` allowed) as an aware UTC time."""
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def is_candidate(entry: Entry, now: datetime, days: int = RECENT_DAYS) -> bool:
    """Whether the user could add to ``entry``: still open, or closed within ``days`` of ``now``.

    An entry not sent yet (queued) counts as open. One the helpdesk refused for good (``failed``) does
    not: there is no ticket to add to. When the ticket was closed is the later of the helpdesk's last
    update and the outbox's own record of the entry."""
    if entry.state == "failed":
        return False
    if entry.status_state not in CLOSED_STATES:
        return True
    closed = datetime.fromtimestamp(entry.updated, UTC)
    remote = _parse_time(entry.status_updated)
    if remote is not None and remote > closed:
        closed = remote
    return now - closed <= timedelta(days=days)


@dataclass(frozen=True)
class Match:
    """A similar earlier report of this user: the entry and how alike it is (see :func:`score`)."""

    entry: Entry
    score: float

    @property
    def number(self) -> int:
        return self.entry.id

    @property
    def reported(self) -> datetime:
        """When the user filed it (local time zone)."""
        return datetime.fromtimestamp(self.entry.created).astimezone()


def find_similar(entries: Sequence[Entry], title: str, description: str = "", *,
                 now: datetime | None = None, days: int = RECENT_DAYS, threshold: float = THRESHOLD,
                 exclude: Iterable[int] = ()) -> Match | None:
    """The user's report most like this one among ``entries`` (the outbox's), or None.

    Only open tickets and tickets closed within ``days`` count; ``exclude`` names incident numbers the
    user already said are a different problem. Ties go to the most recent report."""
    if not stems(title) and not stems(description):
        return None
    now = now or datetime.now(UTC)
    skip = set(exclude)
    best: Match | None = None
    for entry in entries:
        if entry.id in skip or not is_candidate(entry, now, days):
            continue
        value = score(title, description, entry.title, entry.description)
        if value < threshold:
            continue
        if best is None or (value, entry.created) > (best.score, best.entry.created):
            best = Match(entry, value)
    return best


__all__ = ["CLOSED_STATES", "RECENT_DAYS", "THRESHOLD", "Match", "find_similar", "is_candidate", "overlap",
           "score", "stems"]

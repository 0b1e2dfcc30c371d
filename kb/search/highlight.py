"""Snippets: the stretch of a text where the query's matches are densest, with them in <mark>.

What is marked is what was typed: each word wherever it matches (a stemmed English word, a Khmer
word), and a phrase only where all its words follow each other. Khmer typed without spaces is
searched as a phrase of character-cluster pairs, so it is marked only where the whole of it
occurs, never a pair of its clusters inside another word (ជនរងគ្រោះ does not mark the ជន of
ជនសង្ស័យ).

The matches' places come from the index: the body fields keep each term's positions and
character offsets, so a snippet costs what the matches shown cost, whatever the length of the
document (`match_spans`, then `snippet_at`). `snippet` finds them by analysing the text instead,
for a text the index does not describe (a resource changed since it was indexed).

Overlapping or adjacent matches become one mark. Everything that is not a mark is escaped: a
snippet is safe to put into a page as it is.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from markupsafe import Markup, escape
from whoosh import query as wq
from whoosh.reading import TermNotFound

from kb.search.analysis import english_analyzer, khmer_ngram_analyzer, khmer_word_analyzer
from kb.search.schema import BODY_FIELDS

# A snippet is about this long; `snippet` looks for matches in this much of a text.
SNIPPET_CHARS = 240
SCAN_CHARS = 60_000

Unit = tuple[str, tuple[str, ...]]  # (field, words): one word, or a phrase
Span = tuple[int, int]

_ANALYZERS = {"body": english_analyzer(), "body_km": khmer_word_analyzer(),
              "body_kmng": khmer_ngram_analyzer()}
_SPACE = re.compile(r"\s+")


def units_of(query: wq.Query | None) -> list[Unit]:
    """The words and phrases a query looks for in the body (not those it excludes)."""
    found: dict[Unit, None] = {}

    def walk(q):
        if isinstance(q, wq.AndNot):
            walk(q.a)
        elif isinstance(q, wq.Not):
            return
        elif isinstance(q, wq.Term):
            if q.fieldname in BODY_FIELDS:
                found[(q.fieldname, (q.text,))] = None
        elif isinstance(q, wq.Phrase):
            if q.fieldname in BODY_FIELDS and q.words:
                found[(q.fieldname, tuple(q.words))] = None
        elif isinstance(q, wq.CompoundQuery):
            for sub in q.subqueries:
                walk(sub)

    if query is not None:
        walk(query)
    return list(found)


def _unit_spans(occurrences: dict[str, list[tuple[int, int, int]]], words: tuple[str, ...]
                ) -> list[Span]:
    """Where a word, or a phrase (its words at consecutive positions), occurs; `occurrences`
    maps each word to its (position, start, end) in the text."""
    lists = [occurrences.get(word) for word in words]
    if not all(lists):
        return []
    if len(words) == 1:
        return [(start, end) for _pos, start, end in lists[0]]
    following = [{pos: (start, end) for pos, start, end in found} for found in lists[1:]]
    spans = []
    for pos, start, end in lists[0]:
        for offset, table in enumerate(following, 1):
            next_word = table.get(pos + offset)
            if next_word is None:
                break
            end = max(end, next_word[1])
        else:
            spans.append((start, end))
    return spans


def match_spans(searcher, docnums: Iterable[int], units: list[Unit]
                ) -> dict[int, list[Span]] | None:
    """For each document, the character spans (in its indexed body) of the units it contains,
    read from the positions and offsets the index keeps; None when the index keeps no offsets
    (one built before they were kept, until `kb reindex`)."""
    if not all(searcher.schema[f].format.supports("characters") for f, _words in units):
        return None
    docnums = sorted(set(docnums))
    occurrences: dict[int, dict[tuple[str, str], list]] = {d: {} for d in docnums}
    reader = searcher.reader()
    for fieldname, word in {(f, w) for f, words in units for w in words}:
        try:
            matcher = reader.postings(fieldname, word)  # (no scorer: only offsets are read)
        except TermNotFound:
            continue
        for docnum in docnums:  # in order: one pass along the posting list
            if not matcher.is_active():
                break
            matcher.skip_to(docnum)
            if matcher.is_active() and matcher.id() == docnum:
                occurrences[docnum][(fieldname, word)] = matcher.value_as("characters")
    out = {}
    for docnum in docnums:
        spans = []
        for fieldname, words in units:
            by_word = {w: occurrences[docnum].get((fieldname, w)) for w in words}
            spans += _unit_spans(by_word, words)
        out[docnum] = spans
    return out


def _analysed_spans(text: str, units: list[Unit]) -> list[Span]:
    """The spans of `units` in `text`, found by analysing it as the index did."""
    spans = []
    for fieldname, analyzer in _ANALYZERS.items():
        wanted = [words for f, words in units if f == fieldname]
        if not wanted:
            continue
        needed = {w for words in wanted for w in words}
        occurrences: dict[str, list] = {}
        # Index mode: the n-gram analyzer then gives single clusters as well as pairs.
        for token in analyzer(text, positions=True, chars=True, mode="index"):
            if token.text in needed:
                occurrences.setdefault(token.text, []).append(
                    (token.pos, token.startchar, token.endchar))
        for words in wanted:
            spans += _unit_spans(occurrences, words)
    return spans


def _as_units(terms) -> list[Unit]:
    """Units from (field, word) pairs or (field, words) units."""
    return [(f, (w,) if isinstance(w, str) else tuple(w)) for f, w in terms]


def snippet(text: str, terms, length: int = SNIPPET_CHARS) -> Markup:
    """A safe HTML snippet of `text` around the densest matches of `terms` ((field, word)
    pairs or (field, words) units), found by analysing the text; the start of the text when
    nothing matches."""
    text = text[:SCAN_CHARS]
    return snippet_at(text, _analysed_spans(text, _as_units(terms)) if terms else [], length)


def _merged(text: str, spans: list[Span]) -> list[Span]:
    """Sorted, with overlapping spans and those separated only by a space or two (the words
    of a phrase) made one."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        end = min(end, len(text))
        if merged and start <= merged[-1][1] + _gap(text, merged[-1][1], start):
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def _gap(text: str, end: int, start: int) -> int:
    between = text[end:start]
    return len(between) if between and not between.strip() and len(between) <= 2 else 0


def _flat(piece: str) -> str:
    return _SPACE.sub(" ", piece)


def snippet_at(text: str, spans: list[Span], length: int = SNIPPET_CHARS) -> Markup:
    """A safe HTML snippet of `text` around the densest of the given match spans (character
    offsets in `text`); the start of the text when there are none. Runs of whitespace are
    shown as one space."""
    spans = sorted(s for s in spans if s[0] < len(text))
    if not spans:
        return Markup(escape(_cut(_flat(text[:length * 4]).strip(), length)))
    # The window of `length` characters holding the most matches.
    best, best_count, j = 0, 0, 0
    for i, (start, _end) in enumerate(spans):
        j = max(j, i)
        while j < len(spans) and spans[j][1] <= start + length:
            j += 1
        if j - i > best_count:
            best, best_count = i, j - i
    window_start = max(0, spans[best][0] - length // 4)
    if window_start:  # start at a word boundary
        space = max(text.rfind(" ", 0, window_start), text.rfind("\n", 0, window_start))
        window_start = space + 1 if space >= 0 and window_start - space < 30 else window_start
    while text[window_start].isspace():  # spans start at a visible character
        window_start += 1
    window_end = min(len(text), window_start + length)
    if window_end < len(text):
        match = _SPACE.search(text, window_end, min(len(text), window_end + 30))
        window_end = match.start() if match else window_end
    out = [Markup("… ") if window_start else Markup("")]
    cursor = window_start
    # Only the matches shown are merged (a long report has hundreds of them).
    for start, end in _merged(text, [s for s in spans
                                     if s[1] > window_start and s[0] < window_end]):
        start, end = max(start, window_start), min(end, window_end)
        out.append(escape(_flat(text[cursor:start])))
        out.append(Markup("<mark>%s</mark>") % _flat(text[start:end]))
        cursor = end
    out.append(escape(_flat(text[cursor:window_end])))
    if window_end < len(text):
        out.append(Markup(" …"))
    return Markup("").join(out)


def _cut(text: str, length: int) -> str:
    piece = text[:length]
    if length < len(text):
        space = piece.rfind(" ")
        piece = (piece[:space] if space > length // 2 else piece) + " …"
    return piece

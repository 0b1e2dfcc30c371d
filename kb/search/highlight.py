"""Snippets: the stretch of a text where the query's words are densest, with them in <mark>.

The text is analysed with the same three analyzers as the index, so a stemmed English word, a
Khmer word and a run of Khmer clusters are each marked where they really are; overlapping or
adjacent matches (the clusters of one Khmer word) become one mark. Everything that is not a mark
is escaped: a snippet is safe to put into a page as it is.
"""
from __future__ import annotations

from markupsafe import Markup, escape

from kb.search.analysis import english_analyzer, khmer_ngram_analyzer, khmer_word_analyzer
from kb.search.schema import ENGLISH_FIELDS, KHMER_NGRAM_FIELDS, KHMER_WORD_FIELDS

# Matches are looked for in this much of a text; a snippet is about this long.
SCAN_CHARS = 60_000
SNIPPET_CHARS = 240

_ANALYZERS = ((english_analyzer(), ENGLISH_FIELDS), (khmer_word_analyzer(), KHMER_WORD_FIELDS),
              (khmer_ngram_analyzer(), KHMER_NGRAM_FIELDS))


def _spans(text: str, terms: set[tuple[str, str]]) -> list[tuple[int, int]]:
    spans = []
    for analyzer, fields in _ANALYZERS:
        wanted = {t for f, t in terms if f in fields}
        if not wanted:
            continue
        # Index mode: the n-gram analyzer then gives single clusters as well as pairs.
        for token in analyzer(text, chars=True, positions=False, mode="index"):
            if token.text in wanted:
                spans.append((token.startchar, token.endchar))
    spans.sort()
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1] + _gap(text, merged[-1][1], start):
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def _gap(text: str, end: int, start: int) -> int:
    """Join two matches separated only by spaces (the words of a phrase) into one mark."""
    between = text[end:start]
    return len(between) if between and not between.strip() and len(between) <= 2 else 0


def snippet(text: str, terms: set[tuple[str, str]], length: int = SNIPPET_CHARS) -> Markup:
    """A safe HTML snippet of `text` around the densest matches of `terms`; the start of the
    text when nothing matches."""
    text = " ".join(text[:SCAN_CHARS].split())
    spans = _spans(text, terms) if terms else []
    if not spans:
        return Markup(escape(_cut(text, 0, length)))
    # The window of `length` characters holding the most matches.
    best, best_count, j = 0, 0, 0
    for i, (start, _end) in enumerate(spans):
        while j < len(spans) and spans[j][1] <= start + length:
            j += 1
        if j - i > best_count:
            best, best_count = i, j - i
    window_start = max(0, spans[best][0] - length // 4)
    # Start at a word boundary.
    if window_start:
        space = text.rfind(" ", 0, window_start)
        window_start = space + 1 if space >= 0 and window_start - space < 30 else window_start
    window_end = min(len(text), window_start + length)
    if window_end < len(text):
        space = text.find(" ", window_end)
        window_end = space if 0 <= space - window_end < 30 else window_end
    out = [Markup("… ") if window_start else Markup("")]
    cursor = window_start
    for start, end in spans:
        if end <= window_start or start >= window_end:
            continue
        start, end = max(start, window_start), min(end, window_end)
        out.append(escape(text[cursor:start]))
        out.append(Markup("<mark>%s</mark>") % text[start:end])
        cursor = end
    out.append(escape(text[cursor:window_end]))
    if window_end < len(text):
        out.append(Markup(" …"))
    return Markup("").join(out)


def _cut(text: str, start: int, length: int) -> str:
    piece = text[start:start + length]
    if start + length < len(text):
        space = piece.rfind(" ")
        piece = (piece[:space] if space > length // 2 else piece) + " …"
    return piece

"""Whoosh analyzers: English (Latin script) and two for Khmer.

A document's text goes to every language field; each analyzer keeps only its own script, so
English tokens never contain Khmer and the Khmer fields never see English.

Khmer is written without spaces between words, so it is indexed twice:

- the *word* field holds words found by ICU's dictionary word breaker: precise, well ranked,
  but a word ICU does not know (a name, a new term such as វិមជ្ឈការ) may be cut differently in a
  document than in the query typed on its own;
- the *n-gram* field holds every character cluster and every pair of adjacent clusters, so a
  phrase of the query's clusters finds any run of Khmer typed without spaces, whatever ICU makes
  of it.

Both Khmer analyzers normalise with `normalise_khmer` (one spelling of each syllable) and still
report character offsets in the text they were given, for highlighting.

Whoosh pickles analyzers into the index's schema: the tokenizer classes below are part of the
index format, so keep their names and module, and keep state that cannot be pickled (ICU) out of
them.
"""
from __future__ import annotations

import functools
import itertools
import re
import threading
from collections.abc import Iterator
from typing import NamedTuple

import icu
from whoosh.analysis import (CharsetFilter, Filter, LowercaseFilter, RegexTokenizer, StemFilter,
                             StopFilter, Token, Tokenizer)
from whoosh.lang.porter import stem as porter_stem
from whoosh.support.charset import accent_map

from kb.ingest.khmer import normalise_khmer

__all__ = ["english_analyzer", "english_filter_chain", "EnglishTokenizer", "WordPartsFilter",
           "spelling_words", "khmer_word_analyzer", "khmer_ngram_analyzer", "segment_khmer",
           "khmer_clusters", "KhmerWordTokenizer", "KhmerNgramTokenizer"]

KHMER_BLOCKS = "\u1780-\u17FF\u19E0-\u19FF"  # Khmer, Khmer Symbols

# --- English ---------------------------------------------------------------------------------

# A word character that is not Khmer. Python's \w matches Khmer consonants but not the vowel signs
# and COENG between them, so plain \w would cut Khmer words into stray English tokens. Combining
# accents are allowed so that decomposed "é" stays in its word (and is folded below).
_LATIN_CHAR = f"(?:[^\\W{KHMER_BLOCKS}]|[\u0300-\u036F])"
# Words joined by &, . or _ stay one token: D&D, U.S, 3.5, No.216, www.ncdd.gov.kh (and are
# also indexed by their parts, see WordPartsFilter). Apostrophes split ("council's" ->
# council), so a possessive finds the word.
ENGLISH_TOKEN = re.compile(f"{_LATIN_CHAR}+(?:[&.]{_LATIN_CHAR}+)*")
# Whoosh's accent_map folds precomposed letters; the combining accents of decomposed letters are
# dropped outright.
_ACCENT_FOLDING = {**accent_map, **{code: None for code in range(0x0300, 0x0370)}}


class BritishSpellingFilter(Filter):
    """Folds -ise/-yse and -isation to -ize/-yze and -ization, so "decentralisation" (the usual
    spelling in Cambodian documents) finds "decentralization": Porter stems them apart. Short
    words (rise, wise, noise) are left alone, and so are the words whose -ise is part of the
    word, not the -ize suffix (precise, revise, exercise, promise, ...): folding those would
    part them from their family (precise from precision and precisely)."""

    _SUFFIX = re.compile(r"^(.{3,}[iy])s(e|ed|es|ing|ation|ations)$")
    # What comes before "ise" in English words that have no -ize spelling; and "-wise".
    _NOT_SUFFIX = re.compile(
        r"(?:^(?:prec|conc|imprec|exerc|inc|exc|circumc|rev|superv|dev|adv|telev|improv|prem"
        r"|prom|comprom|dem|surpr|compr|enterpr|appr|repr|expert|franch|merchand|chast|cru"
        r"|bru|pra|ra|po|no|treat|parad|desp|ar|disgu|tou|dispr|upr)i$|wi$)")
    KEEP_ROOT_ISE = True  # tuned on Cranfield and CISI (benchmarks/relevance.py --levers)

    def __call__(self, tokens):
        for t in tokens:
            t.text = _british(t.text)
            yield t


class WordPartsFilter(Filter):
    """A word joined by . _ or & ("Sub-Decree No.216", "www.ncdd.gov.kh", "MSO_AUTO_SIZE.NONE")
    is also indexed by its parts, so that "216", "ncdd.gov.kh" or "MSO_AUTO_SIZE" finds it, as
    Lucene's word delimiter filter does with preserveOriginal: when indexing, the whole word
    and its first part at the word's position, the other parts at the positions after it
    (later words move along); in a query, only the parts, which then make a phrase of
    consecutive positions. Parts of one letter and stop words are not parts: "D&D" and "U.S"
    stay whole, "end.The" (a missing space) is also "end"."""

    _JOINED = re.compile(r"[._&]")
    _PART = re.compile(r"[^._&]+")

    def __init__(self, stoplist=frozenset(StopFilter().stops), minsize: int = 2):
        self.stops, self.min = frozenset(stoplist), minsize

    def __call__(self, tokens):
        shift = 0
        for t in tokens:
            if t.positions:
                t.pos += shift
            text = t.text
            if not self._JOINED.search(text):
                yield t
                continue
            parts = [m.span() for m in self._PART.finditer(text)
                     if len(m.group()) >= self.min and m.group() not in self.stops]
            if not parts:
                yield t
                continue
            pos = t.pos if t.positions else 0
            start = t.startchar if t.chars else 0
            # Offsets within the word hold while it kept its length (accent folding of
            # decomposed letters shortens it: each part is then given the whole word's span).
            exact = t.chars and t.endchar - t.startchar == len(text)
            end = t.endchar if t.chars else 0
            if t.mode == "index":
                yield t
            for k, (a, b) in enumerate(parts):
                t.text = text[a:b]
                if t.positions:
                    t.pos = pos + k
                if t.chars:
                    t.startchar, t.endchar = (start + a, start + b) if exact else (start, end)
                yield t
            shift += len(parts) - 1


_STOP_WORDS = frozenset(StopFilter().stops)


def spelling_words(text: str) -> list[str]:
    """The distinct English words of `text` as "did you mean" looks for them: lowercased,
    not stemmed, without stop words, sorted (tokenized in one pass, without Whoosh's
    analyzer chain: the field needs no positions or frequencies)."""
    words = {w.lower() for w in ENGLISH_TOKEN.findall(text)}
    return sorted(w for w in words if len(w) >= 2 and w not in _STOP_WORDS)


@functools.lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    return porter_stem(word)  # Porter2 (Snowball) measured: not better on both collections


class EnglishTokenizer(Tokenizer):
    """The English analysis in one pass: exactly what RegexTokenizer(ENGLISH_TOKEN) |
    LowercaseFilter() | CharsetFilter(accent folding) | StopFilter() | WordPartsFilter() |
    BritishSpellingFilter() | StemFilter() give (tests/search/test_analysis.py compares them),
    without running seven generators for every word: indexing long reports spent most of its
    analysis time passing tokens between them."""

    def __call__(self, value, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True, mode="",
                 **kwargs):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        t.boost = 1.0
        if not tokenize:  # the whole value as one term (Whoosh asks so for range-query ends)
            t.text = _stem(_british(value.lower().translate(_ACCENT_FOLDING)))
            t.stopped = False
            if positions:
                t.pos = start_pos
            if chars:
                t.startchar, t.endchar = start_char, start_char + len(value)
            yield t
            return
        indexing = mode == "index"
        pos = None  # as StopFilter(renumber=True): the first word keeps its place, then +1
        shift = 0   # as WordPartsFilter: the parts of a joined word move later words along
        stops = _STOP_WORDS
        for raw, match in enumerate(ENGLISH_TOKEN.finditer(value)):
            word = match.group(0).lower()
            if not word.isascii():
                word = word.translate(_ACCENT_FOLDING)
            end = start_char + match.end()
            if len(word) < 2 or word in stops:
                if not removestops:  # kept, marked stopped, at its own place
                    t.text, t.stopped = word, True
                    if keeporiginal:
                        t.original = match.group(0)
                    if positions:
                        t.pos = start_pos + raw + shift
                    if chars:
                        t.startchar, t.endchar = start_char + match.start(), end
                    yield t
                continue
            pos = start_pos + raw if pos is None else pos + 1
            t.stopped = False
            if keeporiginal:
                t.original = match.group(0)
            start = start_char + match.start()
            parts = None
            if "." in word or "_" in word or "&" in word:
                parts = [m.span() for m in WordPartsFilter._PART.finditer(word)
                         if m.end() - m.start() >= 2 and m.group() not in stops]
            if indexing or not parts:
                t.text = _stem(_british(word))
                if positions:
                    t.pos = pos + shift
                if chars:
                    t.startchar, t.endchar = start, end
                yield t
            if not parts:
                continue
            exact = len(word) == match.end() - match.start()
            for k, (a, b) in enumerate(parts):
                t.text = _stem(_british(word[a:b]))
                if positions:
                    t.pos = pos + shift + k
                if chars:
                    t.startchar, t.endchar = (start + a, start + b) if exact else (start, end)
                yield t
            shift += len(parts) - 1


def _british(word: str) -> str:
    match = BritishSpellingFilter._SUFFIX.match(word)
    if match and not (BritishSpellingFilter.KEEP_ROOT_ISE
                      and BritishSpellingFilter._NOT_SUFFIX.search(match.group(1))):
        return f"{match.group(1)}z{match.group(2)}"
    return word


def english_filter_chain():
    """The English analysis as a chain of Whoosh filters (what EnglishTokenizer does)."""
    return (RegexTokenizer(ENGLISH_TOKEN) | LowercaseFilter() | CharsetFilter(_ACCENT_FOLDING)
            | StopFilter() | WordPartsFilter() | BritishSpellingFilter() | StemFilter())


def english_analyzer():
    """Latin-script words, lowercased, accents folded, English stop words removed, words
    joined by dots also by their parts, Porter stems. Khmer characters never produce a
    token."""
    return EnglishTokenizer()


# --- Khmer text, normalised with a map back to the original ----------------------------------

_BASES = "\u1780-\u17B3"                    # consonants and independent vowels
_MARKS = "\u17B4-\u17D1\u17D3\u17DD"        # vowel signs and signs, COENG (U+17D2) excluded
_DIGITS = "\u17E0-\u17E9\u17F0-\u17F9\u19E0-\u19FF"  # digits, numeric and lunar-date symbols
_OTHER_LETTERS = "\u17DC"                   # AVAKRAHASANYA
LEK_TOO = "\u17D7"                          # ៗ: "say the previous word again"
_GLUE = "\u200B-\u200D\u2060\uFEFF\u00AD"    # invisible characters found inside Khmer text

# A stretch of Khmer, with the whitespace and invisible characters inside it.
_KHMER_RUN = re.compile(f"[{KHMER_BLOCKS}](?:[\\s{_GLUE}]*[{KHMER_BLOCKS}])*")
# The pieces a run is normalised in: whitespace; or any character with the marks, subscripts and
# invisible characters that follow it (invisible characters after whitespace go with the piece
# they precede, so that normalise_khmer sees the Khmer they sit next to).
# normalise_khmer works syllable by syllable and never looks beyond what a piece holds, so
# normalising piece by piece gives the same text as normalising the run, while each normalised
# character still knows which original characters it came from.
_PIECE = re.compile(
    f"[{_GLUE}]*(?:\\s+|(?s:.)(?:[{_MARKS}{_GLUE}]|\u17D2(?:[\u17D2{_GLUE}]*[{_BASES}])?)*)")
_VISIBLE_PART = re.compile(f"[{_GLUE}]*(.*?)[{_GLUE}]*$", re.DOTALL)

# An orthographic syllable ("cluster") of normalised Khmer, per the Unicode block structure: a
# base with its robat, subscripts (COENG + consonant), register shifter, vowel and signs, in any
# order (normalisation has already put them in one order); or marks left without a base; or one
# digit. ZWJ/ZWNJ survive normalisation only inside a syllable.
_CLUSTER = re.compile(
    f"(?P<cluster>[{_BASES}{_OTHER_LETTERS}](?:[{_MARKS}\u200C\u200D]|\u17D2[\u200D]?[{_BASES}]?)*"
    f"|[{_MARKS}\u17D2]+|[{_DIGITS}])"
    # Whitespace does not separate clusters: Khmer writers put spaces where they like.
    f"|(?P<space>[\\s{LEK_TOO}\u200C\u200D]+)"
    f"|.", re.DOTALL)                # punctuation (។ ៖ ៛ ...): clusters on each side are apart
_KHMER_WORD_CHAR = re.compile(f"[{_BASES}{_OTHER_LETTERS}{_DIGITS}]")


class _Run(NamedTuple):
    """A normalised stretch of Khmer; starts[i]/ends[i] bound, in the original text, the
    characters that normalised character i came from."""
    text: str
    starts: list[int]
    ends: list[int]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original offsets of the normalised slice [start, end)."""
        return self.starts[start], self.ends[end - 1]


@functools.lru_cache(maxsize=65536)
def _normalise_piece(piece: str) -> str:
    return normalise_khmer(piece)  # syllables repeat a lot: caching makes indexing cheap


def _visible_span(piece: str) -> tuple[int, int]:
    """The span of `piece` without the invisible characters at its edges, which are not part of
    what a highlight should mark (the whole piece if it is all invisible)."""
    visible = _VISIBLE_PART.match(piece)
    return visible.span(1) if visible.group(1) else (0, len(piece))


def _khmer_runs(text: str) -> Iterator[_Run]:
    """The Khmer stretches of `text`, normalised, with their map to original offsets."""
    for run in _KHMER_RUN.finditer(text):
        normalised, starts, ends = [], [], []
        for piece in _PIECE.finditer(run.group(0)):
            piece_text = _normalise_piece(piece.group(0))
            start, end = _visible_span(piece.group(0))
            start, end = run.start() + piece.start() + start, run.start() + piece.start() + end
            normalised.append(piece_text)
            starts.extend([start] * len(piece_text))
            ends.extend([end] * len(piece_text))
        yield _Run("".join(normalised), starts, ends)


class _Piece(NamedTuple):
    """A token before it becomes a Whoosh Token: normalised text, original offsets, and whether
    it follows punctuation or non-Khmer text (phrases must not match across that)."""
    text: str
    startchar: int
    endchar: int
    after_break: bool


def _clusters(text: str) -> Iterator[_Piece]:
    for run in _khmer_runs(text):
        after_break = True
        for match in _CLUSTER.finditer(run.text):
            if match.lastgroup == "cluster":
                yield _Piece(match.group(0), *run.span(match.start(), match.end()), after_break)
                after_break = False
            elif match.lastgroup != "space":
                after_break = True


_thread = threading.local()


def _word_breaker():
    """ICU's Khmer word breaker for this thread (creating one is slow; sharing one is unsafe)."""
    breaker = getattr(_thread, "khmer_word_breaker", None)
    if breaker is None:
        breaker = icu.BreakIterator.createWordInstance(icu.Locale("km"))
        _thread.khmer_word_breaker = breaker
    return breaker


def _words(text: str) -> Iterator[_Piece]:
    for run in _khmer_runs(text):
        breaker = _word_breaker()
        breaker.setText(run.text)
        # All boundaries are read before yielding, so an interleaved analysis in this thread
        # cannot move the shared breaker under us. ICU counts UTF-16 units; a run holds only
        # BMP characters, so they are also str indices.
        boundaries = [0, *breaker]
        after_break = True
        for start, end in itertools.pairwise(boundaries):
            segment = run.text[start:end]
            if _KHMER_WORD_CHAR.search(segment):
                yield _Piece(segment, *run.span(start, end), after_break)
                after_break = False
            elif not segment.isspace() and segment != LEK_TOO:
                after_break = True


def segment_khmer(text: str) -> list[str]:
    """The Khmer words of `text`, normalised, in order (ICU dictionary segmentation); no
    punctuation, whitespace or non-Khmer text."""
    return [piece.text for piece in _words(text)]


def khmer_clusters(text: str) -> list[str]:
    """The Khmer character clusters (orthographic syllables and digits) of `text`, normalised."""
    return [piece.text for piece in _clusters(text)]


# --- Whoosh tokenizers -----------------------------------------------------------------------

class _KhmerTokenizer(Tokenizer):
    """Turns _Piece streams into Whoosh tokens, honouring Whoosh's tokenizer arguments."""

    def _tokens(self, value: str, mode: str) -> Iterator[tuple[str, int, int, int]]:
        """(text, position, startchar, endchar) for each token, positions from 0."""
        raise NotImplementedError

    def __call__(self, value, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True, mode="",
                 **kwargs):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if tokenize:
            tokens = self._tokens(value, mode)
        else:  # the whole value as one term (Whoosh asks so for range-query ends)
            tokens = iter([(normalise_khmer(value), 0, 0, len(value))])
        for text, pos, startchar, endchar in tokens:
            t.text = text
            t.boost = 1.0
            t.stopped = False
            if keeporiginal:
                t.original = value[startchar:endchar]
            if positions:
                t.pos = start_pos + pos
            if chars:
                t.startchar = start_char + startchar
                t.endchar = start_char + endchar
            yield t


def _positions(pieces: list[_Piece]) -> Iterator[int]:
    """One position per piece, skipping one after a break so that phrases do not match across
    punctuation or non-Khmer text."""
    pos = -1
    for piece in pieces:
        pos += 2 if piece.after_break and pos >= 0 else 1
        yield pos


class KhmerWordTokenizer(_KhmerTokenizer):
    """Khmer words from ICU, one position each, the same in every mode."""

    def _tokens(self, value, mode):
        pieces = list(_words(value))
        for piece, pos in zip(pieces, _positions(pieces), strict=True):
            yield piece.text, pos, piece.startchar, piece.endchar


class KhmerNgramTokenizer(_KhmerTokenizer):
    """Character clusters and pairs of adjacent clusters.

    Indexing (mode="index") puts at each cluster's position the cluster and the pair it starts:
    c0 c0c1 | c1 c1c2 | c2. Every other mode (queries; Whoosh's query parser passes "query")
    gives only the pairs, c0c1 c1c2, one position each, or the cluster alone when it has no
    neighbour. Both query forms are phrases of consecutive positions in the index, so: build a
    Phrase of the tokens of `analyzer(text, mode="query")` (a Term when there is one), or give
    the field multitoken_query="phrase" and let the query parser do it.

    Why both in the index: pairs make a phrase selective and its highlight specific; single
    clusters find a one-cluster word (ឃុំ, ស្រី) inside longer text. Why only pairs in the query:
    a phrase through every single cluster would also mark every lone "ក" or "ល" of a document
    when highlighting. (Whoosh's formatter skips a match that overlaps the previous one, so a
    phrase of an odd number of clusters is marked without its last cluster.)

    A pair is not made across punctuation or non-Khmer text; whitespace and ៗ are ignored, since
    Khmer writers put spaces where they like."""

    def _tokens(self, value, mode):
        pieces = list(_clusters(value))
        for i, (piece, pos) in enumerate(zip(pieces, _positions(pieces), strict=True)):
            following = pieces[i + 1] if i + 1 < len(pieces) else None
            if following is not None and following.after_break:
                following = None
            if mode == "index" or (following is None and piece.after_break):
                yield piece.text, pos, piece.startchar, piece.endchar
            if following is not None:
                yield piece.text + following.text, pos, piece.startchar, following.endchar


def khmer_word_analyzer():
    """Analyzer for the Khmer word field (see KhmerWordTokenizer)."""
    return KhmerWordTokenizer()


def khmer_ngram_analyzer():
    """Analyzer for the Khmer cluster n-gram field (see KhmerNgramTokenizer)."""
    return KhmerNgramTokenizer()

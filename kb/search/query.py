"""The query language members type, parsed by hand into Whoosh queries.

    words            every word must match (a long question: the more words match, the higher)
    "a phrase"       the words next to each other; an unclosed quote runs to the end
    -word -"phrase"  exclusion (also NOT word)
    a OR b           either
    title:word  tag:name  org:CARD   one field (title: takes a word or a "phrase")

There are no wildcards, regular expressions, fuzzy terms or ranges: nothing a visitor types can
expand into millions of terms. Brackets are ignored. A long query (a pasted paragraph: "find
documents like this one") is answered with its most informative words: the MAX_CLAUSES words
that the fewest documents contain, beside every phrase, field, exclusion and OR it has. Every word is looked for in English (stemmed)
and Khmer (dictionary words and character-cluster n-grams, as a phrase, so Khmer typed without
spaces is found however it is segmented), and expanded with the glossary's equivalents.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from whoosh import query as wq

from kb.ingest.khmer import contains_khmer, normalise_khmer
from kb.search.analysis import english_analyzer, khmer_ngram_analyzer, khmer_word_analyzer
from kb.search.schema import (ENGLISH_FIELDS, KHMER_NGRAM_FIELDS, KHMER_WORD_FIELDS,
                              TITLE_FIELDS)

MAX_QUERY_CHARS = 5000
MAX_CLAUSES = 64
# Up to this many words a query means "all of them"; longer ones are questions, ranked by how
# many of their words a document has (and how rare those are). Four words as "all of them"
# hid relevant documents from four-word questions (CISI "information dissemination by
# journals and periodicals"): 3 ranks better on Cranfield and CISI (benchmarks/relevance.py).
ALL_WORDS_UP_TO = 3
# Whether a hyphenated word ("boundary-layer") is its words, each on its own, rather than
# the phrase of them (tuned on Cranfield and CISI, benchmarks/relevance.py --levers).
HYPHENATED_AS_WORDS = True
_HYPHEN = re.compile(r"(?<=[^\W_])-(?=[^\W_])")

_english, _khmer_words, _khmer_ngrams = english_analyzer(), khmer_word_analyzer(), \
    khmer_ngram_analyzer()

_TOKEN = re.compile(r'(?P<neg>-)?(?:(?P<field>title|tag|org):)?(?:"(?P<phrase>[^"]*)"?|(?P<word>[^\s"]+))',
                    re.IGNORECASE)


class Or(wq.Or):
    """Whoosh's Or, always with its union matcher. On an index of 5,000 documents or fewer,
    Whoosh otherwise runs an Or of three or more parts with an "array" matcher whose maximum
    score is the best part's rather than the sum, so top-N collection stops early and returns
    the wrong documents (found by benchmarks/relevance.py; see test_search.py)."""

    matcher_type = wq.Or.DEFAULT_MATCHER


class AnyField(Or):
    """One word looked for in several fields (title and body), which the evaluator may score
    as one BM25F term (kb.search.evaluate): its frequency in each field, normalised by that
    field's length and weighted by its boost, summed before saturation. Whoosh itself (and the
    evaluator without it) adds up a BM25 score per field."""


class QueryError(ValueError):
    """The query cannot be run as typed; str() says why in English, `reason` ("too_long") and
    `limit` let the interface say it in the reader's language."""

    def __init__(self, message: str, reason: str, limit: int):
        super().__init__(message)
        self.reason, self.limit = reason, limit


@dataclass
class Clause:
    text: str
    field: str | None = None   # None: all text; "title", "tag", "org"
    phrase: bool = False
    negated: bool = False
    or_with_previous: bool = False
    weight: float = 1.0        # a word said several times in a long query: once, this heavy


@dataclass
class ParsedQuery:
    query: wq.Query | None        # None: no words (browse everything)
    clauses: list[Clause]
    english_words: list[str] = field(default_factory=list)  # as typed, for "did you mean"
    match_all: bool = True
    left_out: int = 0             # words of a long query not searched for (the commonest)

    def with_any_words(self) -> "ParsedQuery":
        """The same words, any of them (the fallback when all of them match nothing)."""
        return replace(build(self.clauses, self._glossary, match_all=False),
                       left_out=self.left_out)

    _glossary: list[list[str]] = field(default_factory=list, repr=False)


def tokenize(text: str) -> list[Clause]:
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"The search is too long: at most {MAX_QUERY_CHARS} characters.",
                         "too_long", MAX_QUERY_CHARS)
    text = text.replace("(", " ").replace(")", " ").replace("\u201c", '"').replace("\u201d", '"')
    clauses: list[Clause] = []
    pending_or = pending_not = False
    for match in _TOKEN.finditer(text):
        word, phrase = match.group("word"), match.group("phrase")
        if word in ("OR", "||"):
            pending_or = bool(clauses)
            continue
        if word in ("AND", "&&"):
            continue
        if word == "NOT":
            pending_not = True
            continue
        body = phrase if phrase is not None else word
        if not body or not body.strip("-"):
            continue  # a lone '-' or an empty pair of quotes
        parts = _HYPHEN.split(body.strip()) if phrase is None and HYPHENATED_AS_WORDS else \
            [body.strip()]
        for number, part in enumerate(parts):
            clauses.append(Clause(part, (match.group("field") or "").lower() or None,
                                  phrase is not None, bool(match.group("neg")) or pending_not,
                                  pending_or and number == 0))
        pending_or = pending_not = False
    return clauses


def _tokens(analyzer, text: str) -> list[str]:
    return [t.text for t in analyzer(text)]


def _sequence(fieldname: str, terms: list[str]) -> wq.Query:
    return wq.Term(fieldname, terms[0]) if len(terms) == 1 else wq.Phrase(fieldname, terms)


def text_query(text: str, fields: tuple[str, ...] | None = None) -> wq.Query | None:
    """`text` as one unit (a word or a phrase) in every language field of `fields` (default:
    title and body). English and Khmer parts of mixed text must both match."""
    wanted = set(fields) if fields else None
    parts = []
    english = _tokens(_english, text)
    if english:
        per_field = [_sequence(f, english) for f in ENGLISH_FIELDS
                     if wanted is None or f in wanted]
        one_word = len(english) == 1 and len(per_field) > 1
        parts.append(AnyField(per_field) if one_word else Or(per_field))
    if contains_khmer(text):
        khmer = []
        words = _tokens(_khmer_words, text)
        if words:
            khmer += [_sequence(f, words) for f in KHMER_WORD_FIELDS
                      if wanted is None or f in wanted]
        ngrams = _tokens(_khmer_ngrams, text)
        if ngrams:
            khmer += [_sequence(f, ngrams) for f in KHMER_NGRAM_FIELDS
                      if wanted is None or f in wanted]
        if khmer:
            parts.append(Or(khmer))
    if not parts:
        return None  # only stop words or punctuation
    return parts[0] if len(parts) == 1 else wq.And(parts)


@functools.lru_cache(maxsize=4096)
def _normal(text: str) -> str:
    """Text as glossary matching compares it (the same glossary terms come with every query)."""
    return " ".join(normalise_khmer(text).casefold().split())


def _glossary_alternatives(clause_texts: list[str], glossary: list[list[str]]
                           ) -> list[tuple[int, int, list[str]]]:
    """(start, end, equivalents) for each run of clauses that is a glossary expression (English
    expressions match whole words in order; a Khmer expression may sit inside a longer Khmer
    word typed without spaces)."""
    found = []
    words = [_normal(t) for t in clause_texts]
    for group in glossary:
        normals = [_normal(e) for e in group]
        for expr in normals:
            if not expr:
                continue
            others = [e for e, n in zip(group, normals) if n != expr]
            if contains_khmer(expr) and " " not in expr:
                for i, word in enumerate(words):
                    if expr in word.replace(" ", ""):
                        found.append((i, i + 1, others))
                continue
            parts = expr.split()
            for i in range(len(words) - len(parts) + 1):
                if words[i:i + len(parts)] == parts:
                    found.append((i, i + len(parts), others))
    return found


def build(clauses: list[Clause], glossary: list[list[str]] | None = None,
          match_all: bool | None = None) -> ParsedQuery:
    glossary = glossary or []
    positives = [c for c in clauses if not c.negated]
    negatives = [c for c in clauses if c.negated]

    # Plain positive words and phrases may be glossary expressions.
    expansions: dict[int, tuple[int, list[str]]] = {}
    plain = [i for i, c in enumerate(positives) if c.field is None]
    for start, end, others in _glossary_alternatives([positives[i].text for i in plain], glossary):
        first, last = plain[start], plain[end - 1]
        if last - first == end - start - 1 and first not in expansions:
            expansions[first] = (last + 1, others)

    units: list[tuple[wq.Query, bool]] = []  # (query, or_with_previous)
    i = 0
    while i < len(positives):
        clause = positives[i]
        if i in expansions:
            stop, others = expansions[i]
            group = [q for q in (_clause_query(c) for c in positives[i:stop]) if q is not None]
            alternatives = [q for q in (text_query(o) for o in others) if q is not None]
            base = group[0] if len(group) == 1 else wq.And(group) if group else None
            options = ([base] if base is not None else []) + alternatives
            if options:
                units.append((Or(options) if len(options) > 1 else options[0],
                              clause.or_with_previous))
            i = stop
            continue
        q = _clause_query(clause)
        if q is not None:
            if clause.weight != 1.0:
                q.boost *= clause.weight
            units.append((q, clause.or_with_previous))
        i += 1

    if match_all is None:
        match_all = len(units) <= ALL_WORDS_UP_TO
    # OR binds tighter than the implicit AND: `a b OR c` is a AND (b OR c).
    groups: list[list[wq.Query]] = []
    for q, or_previous in units:
        if or_previous and groups:
            groups[-1].append(q)
        else:
            groups.append([q])
    terms = [g[0] if len(g) == 1 else Or(g) for g in groups]
    if not terms:
        positive = None
    elif len(terms) == 1:
        positive = terms[0]
    elif match_all:
        positive = wq.And(terms)
    else:
        # Any of the words; a document with more (or rarer) of them gets a higher score.
        positive = Or(terms)

    excluded = [q for q in (_clause_query(c) for c in negatives) if q is not None]
    if excluded:
        positive = wq.AndNot(positive if positive is not None else wq.Every(),
                             Or(excluded) if len(excluded) > 1 else excluded[0])

    english_words = [c.text for c in positives
                     if c.field in (None, "title") and not c.phrase and _tokens(_english, c.text)
                     and not contains_khmer(c.text)]
    return ParsedQuery(positive, clauses, english_words, match_all, glossary)


def _clause_query(clause: Clause) -> wq.Query | None:
    if clause.field == "tag":
        return wq.Term("tag", clause.text.lower())
    if clause.field == "org":
        return wq.Term("org", clause.text.lower())
    if clause.field == "title":
        return text_query(clause.text, TITLE_FIELDS)
    return text_query(clause.text)


def _searchable(clause: Clause) -> bool:
    """Whether a plain word can match anything (stop words and punctuation cannot)."""
    return bool(_tokens(_english, clause.text)) or contains_khmer(clause.text)


def informative(clauses: list[Clause], frequencies: Callable[[list[str]], list[int]] | None
                ) -> tuple[list[Clause], int]:
    """At most MAX_CLAUSES clauses: every phrase, field, exclusion and OR, and the distinct
    plain words that the fewest documents contain (`frequencies(texts)`: how many documents
    contain each text; without it, the first words), in the order typed, each as heavy as the
    number of times it was typed (what repeating a word does in a short query). Returns the
    clauses and how many distinct words were left out."""
    if len(clauses) <= MAX_CLAUSES:
        return clauses, 0
    in_or = {i for i, c in enumerate(clauses) if c.or_with_previous}
    in_or |= {i - 1 for i in in_or}
    kept, plain, first_of = [], [], {}
    times: dict[int, int] = {}
    for i, clause in enumerate(clauses):
        if clause.phrase or clause.field or clause.negated or i in in_or:
            kept.append(i)
        elif _searchable(clause):
            first = first_of.setdefault(_normal(clause.text), i)
            times[first] = times.get(first, 0) + 1
            if first == i:
                plain.append(i)
    room = max(0, MAX_CLAUSES - len(kept))
    texts = [clauses[i].text for i in plain]
    counts = frequencies(texts) if frequencies is not None and len(plain) > room else \
        [1] * len(texts)
    # A word no document contains cannot match: it goes last. Ties: the first typed first.
    ranked = sorted(range(len(plain)), key=lambda k: (counts[k] == 0, counts[k], k))
    chosen = set(kept) | {plain[k] for k in ranked[:room]}
    return ([replace(c, weight=float(times.get(i, 1))) for i, c in enumerate(clauses)
             if i in chosen], max(0, len(plain) - room))


def term_groups(text: str) -> list[list[tuple[str, str]]]:
    """The index terms a word stands for: one group per token, each group the (field, term)
    pairs any of which finds it (a word is as rare as its rarest token)."""
    groups = [[(f, t) for f in ENGLISH_FIELDS] for t in _tokens(_english, text)]
    if contains_khmer(text):
        words = _tokens(_khmer_words, text)
        groups += [[(f, t) for f in KHMER_WORD_FIELDS] for t in words]
        if not words:
            groups += [[(f, t) for f in KHMER_NGRAM_FIELDS] for t in _tokens(_khmer_ngrams, text)]
    return groups


def parse(text: str, glossary: list[list[str]] | None = None,
          frequencies: Callable[[list[str]], list[int]] | None = None) -> ParsedQuery:
    """Parse what a member typed; a long query keeps its most informative words (see
    `informative`). Raises QueryError for input that cannot be run (too long to read)."""
    clauses, left_out = informative(tokenize(text or ""), frequencies)
    return replace(build(clauses, glossary), left_out=left_out)

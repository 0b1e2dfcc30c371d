"""Running searches: access, filters, facets, sorting, time limit, did-you-mean, more like this.

A query is evaluated over whole posting lists (kb.search.evaluate) into a mask of matching
documents and their scores. That evaluation depends on the query alone, so it is cached per
index generation: a facet click, the next page or another reader's identical search reuses it.
What a reader may see is applied afterwards, as a mask of its own — the reader class's mask
(anonymous, signed in, editor) is computed once per generation, a reader's own unpublished
resources are added per request — so totals, facets, the page and its snippets only ever count
what this reader may see, whatever was cached.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from whoosh import scoring
from whoosh import query as wq

from kb.search import highlight
from kb.search.evaluate import Evaluator, Matches, query_key, top
from kb.search.index import open_index
from kb.search.postings import View
from kb.search.query import Or, ParsedQuery, term_groups
from kb.search.schema import FACET_FIELDS, SPELLING_FIELD

# BM25F parameters, tuned on Cranfield and CISI (benchmarks/relevance.py): with a word's
# title and body frequencies saturated together (COMBINED_FIELDS), a higher k1 than Lucene's
# 1.2 lets a word said often in a document keep counting; b=0.85 favours shorter texts.
BM25_B, BM25_K1 = 0.85, 2.8
# The inverse document frequency: Whoosh's log(N / (df + 1)) + 1, or Lucene's (and bm25s's)
# log(1 + (N - df + 0.5) / (df + 0.5)), which gives words in most documents almost nothing.
IDF = "lucene"
# A word in the title and the body scored as one BM25F term (see query.AnyField) rather than
# as two BM25 scores added up (which counts a title word twice over and saturates each field
# on its own): nDCG@10 +0.023 on CISI alone, and with the k1 and b above better on both.
COMBINED_FIELDS = True
SORTS = {"newest": ("date", True), "oldest": ("date", False), "title": ("title_sort", False),
         "published": ("published", True)}
# Spelling candidates looked at per unknown word, closest first, before giving up on it.
SUGGESTION_CANDIDATES = 10


@dataclass(frozen=True)
class Reader:
    """Who is searching, as the index's access fields see them."""
    user_id: int | None = None
    sees_everything: bool = False   # editors and admins


@dataclass
class Filters:
    values: dict[str, list[str]] = field(default_factory=dict)  # kind, objective, tag, ...
    year_from: int | None = None
    year_to: int | None = None


@dataclass(frozen=True)
class Highlight:
    """Where a result's matches are in its body as indexed (version says which version of the
    resource that body was)."""
    version: str
    spans: tuple[tuple[int, int], ...]


@dataclass
class SearchOutcome:
    total: int
    hits: list[tuple[int, float]]            # (resource id, score), this page
    facets: dict[str, dict[str, int]]
    terms: list[tuple[str, tuple[str, ...]]]  # (field, words) looked for, for highlighting
    timed_out: bool = False
    highlights: dict[int, Highlight] = field(default_factory=dict)  # resource id -> matches


class Weighting(scoring.BM25F):
    """Whoosh's BM25F with a choice of idf (see IDF) and of combining fields (see
    COMBINED_FIELDS, applied by kb.search.evaluate)."""

    def __init__(self, B: float, K1: float, idf: str = "whoosh",
                 combined_fields: bool = False):
        super().__init__(B=B, K1=K1)
        self.idf_formula, self.combined_fields = idf, combined_fields

    def idf_from(self, df: int, n: int) -> float:
        """The idf of a term in `df` of `n` documents."""
        if self.idf_formula == "lucene":
            return math.log(1 + (n - df + 0.5) / (df + 0.5))
        return math.log(n / (df + 1)) + 1

    def idf(self, searcher, fieldname, text):
        parent = searcher.get_parent()
        return self.idf_from(parent.doc_frequency(fieldname, text), parent.doc_count_all())


def weighting() -> Weighting:
    return Weighting(BM25_B, BM25_K1, IDF, COMBINED_FIELDS)


def _access(view: View, reader: Reader) -> np.ndarray:
    """The live documents `reader` may see. Drafts and other unpublished resources: their
    owner and editors. Published ones: anyone for public resources, signed-in readers for
    members-only ones."""
    if reader.sees_everything:
        return view.live
    if reader.user_id is None:
        return view.snapshot.get(("access", "anonymous"), lambda: (
            view.live & view.term_mask("status", "published")
            & view.term_mask("visibility", "public")))
    signed_in = view.snapshot.get(("access", "signed in"), lambda: (
        view.live & view.term_mask("status", "published")))
    own = view.postings("owner", str(reader.user_id))[0]
    if not len(own):
        return signed_in
    allowed = signed_in.copy()
    allowed[own] = view.live[own]
    return allowed


def filter_query(filters: Filters) -> list[wq.Query]:
    parts = []
    for name, values in filters.values.items():
        values = [v for v in values if v not in (None, "")]
        if not values or name not in ("kind", "objective", "tag", "org", "language",
                                      "province", "district", "commune"):
            continue
        fieldname = FACET_FIELDS.get(name, name)
        normal = [str(v).lower() if name in ("tag", "org") else str(v) for v in values]
        terms = [wq.Term(fieldname, v) for v in normal]
        # Several values of one facet: any of them (kind=a&kind=b is "a or b").
        parts.append(terms[0] if len(terms) == 1 else Or(terms))
    if filters.year_from is not None or filters.year_to is not None:
        low = f"{filters.year_from:04d}" if filters.year_from is not None else None
        high = f"{filters.year_to:04d}" if filters.year_to is not None else None
        parts.append(wq.TermRange("year", low, high))
    return parts


def _restriction(view: View, evaluator: Evaluator, reader: Reader, filters: Filters
                 ) -> np.ndarray:
    allowed = _access(view, reader)
    for part in filter_query(filters):
        allowed = allowed & evaluator.evaluate(part).mask
    return allowed


def _matches(view: View, evaluator: Evaluator, query: wq.Query) -> Matches:
    """The query's evaluation, from this generation's cache when it was evaluated before."""
    w = evaluator.weighting
    key = (query_key(query), w.idf_formula, w.combined_fields, w.B, w.K1)
    cached = view.snapshot.evaluations.get(key)
    if cached is not None:
        return cached
    matches = evaluator.evaluate(query)
    if not evaluator.timed_out:  # a partial answer is not kept
        view.snapshot.evaluations.put(key, matches)
    return matches


def _holds_nothing(searcher) -> bool:
    """A new index has no segment at all (Whoosh gives an empty reader, with no segments for a
    View to read): every search of it finds nothing."""
    return searcher.doc_count_all() == 0


def search(path: str, parsed: ParsedQuery, reader: Reader, filters: Filters, *,
           sort: str = "relevance", page: int = 1, per_page: int = 20,
           time_limit: float = 5.0, with_facets: bool = True,
           with_highlights: bool = True) -> SearchOutcome:
    deadline = time.monotonic() + time_limit
    ix = open_index(path)
    w = weighting()
    with ix.searcher(weighting=w) as searcher:
        if _holds_nothing(searcher):
            return SearchOutcome(0, [], {name: {} for name in FACET_FIELDS} if with_facets
                                 else {}, highlight.units_of(parsed.query), False, {})
        view = View(path, searcher)
        evaluator = Evaluator(view, w, deadline)
        matching = _restriction(view, evaluator, reader, filters)
        scores = None
        if parsed.query is not None:
            matches = _matches(view, evaluator, parsed.query)
            matching = matching & matches.mask
            scores = matches.scores
        facets = {}
        if with_facets:
            facets = {name: view.facet_counts(fieldname, matching)
                      for name, fieldname in FACET_FIELDS.items()}
        candidates = np.flatnonzero(matching)
        limit = max(1, page * per_page)
        sortedby, descending = SORTS.get(sort, (None, False))
        if sortedby is None and scores is None:
            sortedby, descending = SORTS["newest"]
        if sortedby is None:
            ranked = top(candidates, scores[candidates], limit, descending=True)
        else:
            ranked = top(candidates, view.sort_key(sortedby)[candidates], limit, descending)
        shown = [int(d) for d in ranked[(page - 1) * per_page:page * per_page]]
        stored = {d: searcher.stored_fields(d) for d in shown}
        # Sorted results carry no score.
        hits = [(int(stored[d]["id"]), float(scores[d]) if sortedby is None else 0.0)
                for d in shown]
        units = highlight.units_of(parsed.query)
        spans = (highlight.match_spans(searcher, shown, units)
                 if units and shown and with_highlights else {})
        # Without offsets in the index, the service finds the matches in the text itself.
        highlights = {} if spans is None else {
            int(stored[d]["id"]): Highlight(stored[d].get("version", ""), tuple(spans.get(d, ())))
            for d in shown}
        return SearchOutcome(len(candidates), hits, facets, units, evaluator.timed_out,
                             highlights)


def suggest_spelling(path: str, words: list[str], reader: Reader) -> str | None:
    """"Did you mean": each word that no document the reader may see contains, replaced by the
    closest word (by edit distance, then frequency) that some document the reader may see
    contains; None when nothing was replaced. Words found only in drafts, rejected or
    members-only resources are never offered to someone who may not read those."""
    if not words:
        return None
    ix = open_index(path)
    with ix.searcher() as searcher:
        if _holds_nothing(searcher):
            return None
        view = View(path, searcher)
        allowed = _access(view, reader)

        def visible(term: str) -> bool:
            ids = view.postings(SPELLING_FIELD, term)[0]
            return bool(len(ids)) and bool(allowed[ids].any())

        corrector = searcher.corrector(SPELLING_FIELD)
        changed, out = False, []
        for word in words:
            low = word.lower()
            if not visible(low):
                options = corrector.suggest(low, limit=SUGGESTION_CANDIDATES, maxdist=2,
                                            prefix=1)
                found = next((option for option in options if visible(option)), None)
                if found is not None:
                    out.append(found)
                    changed = True
                    continue
            out.append(word)
        return " ".join(out) if changed else None


def more_like_this(path: str, resource_id: int, text: str, reader: Reader,
                   limit: int = 5) -> list[int]:
    """Resources whose words are most like `text` (the resource's own title and body)."""
    ix = open_index(path)
    w = weighting()
    with ix.searcher(weighting=w) as searcher:
        if _holds_nothing(searcher):
            return []
        wanted = []
        for fieldname in ("body", "body_km"):
            for term, _weight in searcher.key_terms_from_text(fieldname, text[:20000],
                                                              numterms=10):
                wanted.append(wq.Term(fieldname, term))
        if not wanted:
            return []
        view = View(path, searcher)
        evaluator = Evaluator(view, w)
        matches = evaluator.evaluate(Or(wanted))
        matching = matches.mask & _access(view, reader)
        matching[view.postings("id", str(resource_id))[0]] = False
        candidates = np.flatnonzero(matching)
        ranked = top(candidates, matches.scores[candidates], limit, descending=True)
        return [int(searcher.stored_fields(int(d))["id"]) for d in ranked]


def frequencies(path: str) -> Callable[[list[str]], list[int]]:
    """For kb.search.parse: how many documents contain each of some words (a word of several
    tokens: its rarest token)."""
    def count_documents(texts: list[str]) -> list[int]:
        with open_index(path).searcher() as searcher:
            reader = searcher.reader()
            out = []
            for text in texts:
                groups = term_groups(text)
                out.append(min((max(reader.doc_frequency(f, t) for f, t in group)
                                for group in groups), default=0))
            return out
    return count_documents


def count(path: str) -> int:
    with open_index(path).searcher() as searcher:
        return searcher.doc_count()

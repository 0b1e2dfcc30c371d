"""Running searches: access filter, facets, sorting, time limit, did-you-mean, more like this.

Facet counts are taken over exactly the documents the reader may see, so a hidden resource never
shows in a count. They are computed from per-generation tables of "which documents have this
value" (built once each time the index changes) intersected with the matching documents, which
costs far less than Whoosh's per-document grouping on large result sets.
"""
from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

from whoosh import collectors, scoring
from whoosh import query as wq

from kb.search.index import open_index
from kb.search.query import Or, ParsedQuery
from kb.search.schema import FACET_FIELDS, SPELLING_FIELD

# BM25F parameters, tuned on Cranfield and CISI (benchmarks/relevance.py).
BM25_B, BM25_K1 = 0.8, 1.6
SORTS = {"newest": ("date", True), "oldest": ("date", False), "title": ("title_sort", False),
         "published": ("published", True)}
# Many-valued facets (tags, organisations) are counted per document; few-valued by intersection.
_INTERSECT_UP_TO = 64
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


@dataclass
class SearchOutcome:
    total: int
    hits: list[tuple[int, float]]            # (resource id, score), this page
    facets: dict[str, dict[str, int]]
    terms: set[tuple[str, str]]              # (field, term) matched, for highlighting
    timed_out: bool = False


def weighting():
    return scoring.BM25F(B=BM25_B, K1=BM25_K1)


def access_filter(reader: Reader) -> wq.Query | None:
    """Drafts and other unpublished resources: their owner and editors. Published ones: anyone
    for public resources, signed-in readers for members-only ones."""
    if reader.sees_everything:
        return None
    published = wq.Term("status", "published")
    if reader.user_id is None:
        return wq.And([published, wq.Term("visibility", "public")])
    return Or([published, wq.Term("owner", str(reader.user_id))])


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


class _FacetTables:
    """For one index generation: value -> frozenset(docnums) per facet, and for many-valued
    facets docnum -> values."""

    def __init__(self, searcher):
        self.by_value: dict[str, dict[str, frozenset]] = {}
        self.by_doc: dict[str, dict[int, tuple]] = {}
        reader = searcher.reader()
        for name, fieldname in FACET_FIELDS.items():
            values: dict[str, frozenset] = {}
            for term in reader.lexicon(fieldname):
                value = term.decode("utf-8") if isinstance(term, bytes) else term
                if not value:
                    continue  # "no organisation", "no place": not a facet value
                docs = frozenset(searcher.docs_for_query(wq.Term(fieldname, value)))
                if docs:
                    values[value] = docs
            self.by_value[name] = values
            if len(values) > _INTERSECT_UP_TO:
                per_doc: dict[int, list] = {}
                for value, docs in values.items():
                    for docnum in docs:
                        per_doc.setdefault(docnum, []).append(value)
                self.by_doc[name] = {d: tuple(v) for d, v in per_doc.items()}

    def counts(self, name: str, matching: set[int] | frozenset) -> dict[str, int]:
        if name in self.by_doc:
            counter: Counter = Counter()
            table = self.by_doc[name]
            for docnum in matching:
                counter.update(table.get(docnum, ()))
            return dict(counter.most_common())
        counts = {value: len(docs & matching) if len(docs) > len(matching)
                  else len(matching & docs) for value, docs in self.by_value[name].items()}
        return dict(sorted(((v, c) for v, c in counts.items() if c),
                           key=lambda item: (-item[1], item[0])))


_tables: dict[tuple, _FacetTables] = {}
_tables_lock = threading.Lock()


def _facet_tables(path: str, searcher) -> _FacetTables:
    key = (path, searcher.reader().generation(), searcher.doc_count_all())
    with _tables_lock:
        tables = _tables.get(key)
        if tables is None:
            for old in [k for k in _tables if k[0] == path]:
                del _tables[old]
            tables = _tables[key] = _FacetTables(searcher)
        return tables


def search(path: str, parsed: ParsedQuery, reader: Reader, filters: Filters, *,
           sort: str = "relevance", page: int = 1, per_page: int = 20,
           time_limit: float = 5.0, with_facets: bool = True) -> SearchOutcome:
    ix = open_index(path)
    restrictions = filter_query(filters)
    allowed = access_filter(reader)
    if allowed is not None:
        restrictions.append(allowed)
    q = parsed.query if parsed.query is not None else wq.Every()
    with ix.searcher(weighting=weighting()) as searcher:
        full = wq.And([q] + restrictions) if restrictions else q
        matching = set(searcher.docs_for_query(full))
        facets = {}
        if with_facets:
            tables = _facet_tables(path, searcher)
            facets = {name: tables.counts(name, matching) for name in FACET_FIELDS}
        limit = max(1, page * per_page)
        sortedby, reverse = None, False
        if sort in SORTS:
            sortedby, reverse = SORTS[sort]
        elif parsed.query is None:
            sortedby, reverse = SORTS["newest"]
        if sortedby is None:
            # replace=0: no matcher replacement (Whoosh's top-k pruning), which returned a
            # wrong top 20 for 6 of 18 long queries checked against a full ranking.
            collector = collectors.TopCollector(limit=limit, replace=0)
        else:
            collector = searcher.collector(limit=limit, sortedby=sortedby, reverse=reverse)
        timed = collectors.TimeLimitCollector(collector, time_limit, use_alarm=False)
        timed_out = False
        try:
            searcher.search_with_collector(full, timed)
        except collectors.TimeLimit:
            timed_out = True
        results = timed.results()
        start = (page - 1) * per_page
        # Sorted results carry the sort key where the score would be.
        hits = [(int(hit["id"]), float(hit.score) if sortedby is None and hit.score else 0.0)
                for hit in results[start:start + per_page]]
        terms = {(f, t.decode("utf-8") if isinstance(t, bytes) else t)
                 for f, t in (parsed.query.iter_all_terms() if parsed.query is not None else [])}
        return SearchOutcome(len(matching), hits, facets, terms, timed_out)


def suggest_spelling(path: str, words: list[str], reader: Reader) -> str | None:
    """"Did you mean": each word that no document the reader may see contains, replaced by the
    closest word (by edit distance, then frequency) that some document the reader may see
    contains; None when nothing was replaced. Words found only in drafts, rejected or
    members-only resources are never offered to someone who may not read those."""
    if not words:
        return None
    ix = open_index(path)
    with ix.searcher() as searcher:
        allowed = access_filter(reader)

        def visible(term: str) -> bool:
            if searcher.doc_frequency(SPELLING_FIELD, term) == 0:
                return False
            if allowed is None:
                return True
            query = wq.And([wq.Term(SPELLING_FIELD, term), allowed])
            return next(iter(searcher.docs_for_query(query)), None) is not None

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
    with ix.searcher(weighting=weighting()) as searcher:
        wanted = []
        for fieldname in ("body", "body_km"):
            for term, _weight in searcher.key_terms_from_text(fieldname, text[:20000],
                                                              numterms=10):
                wanted.append(wq.Term(fieldname, term))
        if not wanted:
            return []
        q = Or(wanted)
        restrictions = [wq.Not(wq.Term("id", str(resource_id)))]
        allowed = access_filter(reader)
        if allowed is not None:
            restrictions.append(allowed)
        results = searcher.search(wq.And([q] + restrictions), limit=limit)
        return [int(hit["id"]) for hit in results]


def count(path: str) -> int:
    with open_index(path).searcher() as searcher:
        return searcher.doc_count()


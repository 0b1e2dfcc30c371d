"""Evaluating a query over whole posting lists: which documents match, and their scores.

The result is the one Whoosh's matchers would give with the same weighting (BM25F: the same
idf, field lengths and weights, a phrase scored as the sum of its words, an Or as the sum of
what matches), computed with array operations instead of one posting at a time: an Or of many
words is one `bincount` over their postings. (Whoosh's coordination bonus, an Or's `scale`,
is not applied: measured on Cranfield and CISI it changed nothing, and no query uses it.)
Phrases are matched by Whoosh's own phrase matcher (positions), only their scoring is done here.
A query type not handled here is run through Whoosh's matcher, so every query gets an answer.

Every array has one entry per document number of the index, deleted documents included: the
caller intersects the result with the live documents (and the reader's access, and filters).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from whoosh import query as wq

from kb.search.postings import View
from kb.search.query import AnyField

# A phrase's Whoosh matcher checks the time limit this often (documents).
_CHECK_EVERY = 256


@dataclass
class Matches:
    mask: np.ndarray        # bool: the document matches
    scores: np.ndarray      # float64: its score (0 where it does not match)


class TimeUp(Exception):
    pass


def query_key(q: wq.Query) -> tuple:
    """A hashable description of a query, for caching its evaluation."""
    boost = getattr(q, "boost", 1.0)
    if isinstance(q, wq.Term):
        return ("T", q.fieldname, q.text, boost)
    if isinstance(q, wq.Phrase):
        return ("P", q.fieldname, tuple(q.words), q.slop, boost)
    if isinstance(q, wq.AndNot):
        return ("N", query_key(q.a), query_key(q.b), boost)
    if isinstance(q, wq.Not):
        return ("!", query_key(q.query), boost)
    if isinstance(q, wq.Or):
        return ("O", boost, q.scale, tuple(query_key(s) for s in q.subqueries))
    if isinstance(q, wq.And):
        return ("A", boost, tuple(query_key(s) for s in q.subqueries))
    return ("X", type(q).__name__, repr(q))


class Evaluator:
    """Evaluates queries on one view, with one weighting (a whoosh BM25F), until `deadline`
    (time.monotonic()); `timed_out` says whether it was reached (results are then partial)."""

    def __init__(self, view: View, weighting, deadline: float | None = None):
        self.view, self.weighting, self.deadline = view, weighting, deadline
        self.searcher = view.searcher
        self.n = view.doc_count
        self.timed_out = False

    # --- leaves ---------------------------------------------------------------------------

    def term_scores(self, fieldname: str, text: str, boost: float = 1.0
                    ) -> tuple[np.ndarray, np.ndarray]:
        """(document numbers, scores) of one term, scored as Whoosh's BM25F scorer does."""
        ids, weights = self.view.postings(fieldname, text)
        if not len(ids):
            return ids, weights.astype(np.float64)
        weights = weights.astype(np.float64)
        field = self.searcher.schema[fieldname]
        if not field.scorable:
            scores = weights.copy()
        else:
            w = self.weighting
            b, k1 = w._field_B.get(fieldname, w.B), w.K1
            idf = w.idf_from(self.view.doc_frequency(fieldname, text), self.n)
            average = self.searcher.avg_field_length(fieldname) or 1
            lengths = self.view.lengths(fieldname)[ids]
            scores = idf * (weights * (k1 + 1)) / (weights + k1 * ((1 - b) + b * lengths
                                                                  / average))
        if boost != 1.0:
            scores *= boost
        return ids, scores

    def _phrase(self, q: wq.Phrase) -> tuple[np.ndarray, np.ndarray]:
        """(document numbers, scores) of a phrase: where Whoosh's phrase matcher finds the
        words in order, the sum of the words' scores."""
        words = list(q.words)
        per_word = [self.term_scores(q.fieldname, word) for word in words]
        nothing = np.zeros(0, dtype=np.int64), np.zeros(0)
        if any(not len(ids) for ids, _s in per_word):
            return nothing
        candidates = np.ones(self.n, dtype=bool)
        for ids, _scores in per_word:
            present = np.zeros(self.n, dtype=bool)
            present[ids] = True
            candidates &= present
        if not candidates.any():
            return nothing
        matcher = wq.Phrase(q.fieldname, words, slop=q.slop).matcher(
            self.searcher, self.searcher.context(weighting=self.weighting))
        found, seen = [], 0
        while matcher.is_active():
            found.append(matcher.id())
            matcher.next()
            seen += 1
            if seen % _CHECK_EVERY == 0 and self._late():
                self.timed_out = True
                break
        ids = np.asarray(found, dtype=np.int64)
        total = np.zeros(self.n)
        for word_ids, word_scores in per_word:  # a word's ids are distinct: += adds each once
            total[word_ids] += word_scores
        return ids, total[ids] * q.boost

    def _combined(self, q: AnyField) -> tuple[np.ndarray, np.ndarray] | None:
        """One word in several fields as one BM25F term: each field's frequency (weighted by
        the field's boost, as the index stores it) normalised by that field's length, added
        up, then saturated once, with the idf of the documents having it in any field. None
        when the Or is not of terms of one word."""
        terms = q.subqueries
        if not all(isinstance(t, wq.Term) and t.text == terms[0].text for t in terms):
            return None
        w = self.weighting
        k1, parts_ids, parts_tf = w.K1, [], []
        for term in terms:
            ids, weights = self.view.postings(term.fieldname, term.text)
            if not len(ids):
                continue
            b = w._field_B.get(term.fieldname, w.B)
            average = self.searcher.avg_field_length(term.fieldname) or 1
            lengths = self.view.lengths(term.fieldname)[ids]
            parts_ids.append(ids)
            parts_tf.append(weights.astype(np.float64) * term.boost
                            / ((1 - b) + b * lengths / average))
        if not parts_ids:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        all_ids = np.concatenate(parts_ids)
        tf = np.bincount(all_ids, weights=np.concatenate(parts_tf), minlength=self.n)
        ids = np.flatnonzero(np.bincount(all_ids, minlength=self.n))
        idf = w.idf_from(len(ids), self.searcher.doc_count_all())
        tf = tf[ids]
        return ids, idf * tf * (k1 + 1) / (tf + k1) * q.boost

    def _sparse(self, q: wq.Query) -> tuple[np.ndarray, np.ndarray] | None:
        """(document numbers, scores) for a term or a phrase, else None."""
        if isinstance(q, AnyField) and getattr(self.weighting, "combined_fields", False):
            combined = self._combined(q)
            if combined is not None:
                return combined
        if isinstance(q, wq.Term):
            return self.term_scores(q.fieldname, q.text, q.boost)
        if isinstance(q, wq.Phrase) and len(q.words) > 1:
            return self._phrase(q)
        if isinstance(q, wq.Phrase) and q.words:
            return self.term_scores(q.fieldname, q.words[0], q.boost)
        return None

    # --- the tree -------------------------------------------------------------------------

    def _late(self) -> bool:
        return self.deadline is not None and time.monotonic() > self.deadline

    def empty(self) -> Matches:
        return Matches(np.zeros(self.n, dtype=bool), np.zeros(self.n))

    def evaluate(self, q: wq.Query | None) -> Matches:
        if q is None:
            return self.empty()
        if self._late():
            self.timed_out = True
            return self.empty()
        sparse = self._sparse(q)
        if sparse is not None:
            return self._dense(*sparse)
        if isinstance(q, wq.Or):
            return self._or(q)
        if isinstance(q, wq.AndNot):
            positive = self.evaluate(q.a)
            excluded = self.evaluate(q.b).mask
            keep = positive.mask & ~excluded
            return Matches(keep, np.where(keep, positive.scores * q.boost, 0.0))
        if isinstance(q, wq.And):
            return self._and(q)
        if isinstance(q, wq.Not):
            mask = ~self.evaluate(q.query).mask
            return Matches(mask, mask * q.boost)
        if isinstance(q, wq.Every):
            mask = np.ones(self.n, dtype=bool)
            return Matches(mask, mask * q.boost)
        if isinstance(q, wq.TermRange):
            return self._range(q)
        if isinstance(q, type(wq.NullQuery)):
            return self.empty()
        return self._whoosh(q)

    def _dense(self, ids: np.ndarray, scores: np.ndarray) -> Matches:
        mask = np.zeros(self.n, dtype=bool)
        mask[ids] = True
        dense = np.zeros(self.n)
        dense[ids] = scores
        return Matches(mask, dense)

    def _or(self, q: wq.Or) -> Matches:
        ids, scores, dense = [], [], []
        for sub in q.subqueries:
            sparse = self._sparse(sub)
            if sparse is None:
                dense.append(self.evaluate(sub))
            else:
                ids.append(sparse[0])
                scores.append(sparse[1])
        if ids:
            all_ids = np.concatenate(ids)
            # (bincount of nothing is integer, whatever its weights: hence the astype)
            total = np.bincount(all_ids, weights=np.concatenate(scores),
                                minlength=self.n).astype(np.float64, copy=False)
            mask = np.bincount(all_ids, minlength=self.n) > 0
        else:
            total, mask = np.zeros(self.n), np.zeros(self.n, dtype=bool)
        for part in dense:
            total += part.scores
            mask |= part.mask
        if q.boost != 1.0:
            total *= q.boost
        return Matches(mask, total)

    def _and(self, q: wq.And) -> Matches:
        parts = []
        for sub in q.subqueries:
            part = self.evaluate(sub)
            if not part.mask.any():
                return self.empty()
            parts.append(part)
        if not parts:
            return self.empty()
        mask = parts[0].mask.copy()
        for part in parts[1:]:
            mask &= part.mask
        total = sum(part.scores for part in parts) * q.boost
        return Matches(mask, np.where(mask, total, 0.0))

    def _range(self, q: wq.TermRange) -> Matches:
        mask = np.zeros(self.n, dtype=bool)
        field = self.searcher.schema[q.fieldname]
        low = field.to_bytes(q.start) if q.start is not None else None
        high = field.to_bytes(q.end) if q.end is not None else None
        for term in self.searcher.reader().lexicon(q.fieldname):
            if low is not None and (term < low or (q.startexcl and term == low)):
                continue
            if high is not None and (term > high or (q.endexcl and term == high)):
                continue
            mask[self.view.postings(q.fieldname, term.decode("utf-8"))[0]] = True
        return Matches(mask, mask * q.boost)

    def _whoosh(self, q: wq.Query) -> Matches:
        """Any other query, through Whoosh's own matcher."""
        matcher = q.matcher(self.searcher, self.searcher.context(weighting=self.weighting))
        ids, scores = [], []
        while matcher.is_active():
            ids.append(matcher.id())
            scores.append(matcher.score())
            matcher.next()
            if len(ids) % _CHECK_EVERY == 0 and self._late():
                self.timed_out = True
                break
        return self._dense(np.asarray(ids, dtype=np.int64), np.asarray(scores, dtype=float))


def top(candidates: np.ndarray, keys: np.ndarray, limit: int, descending: bool) -> np.ndarray:
    """The first `limit` of `candidates` (document numbers) ordered by `keys` (one per
    candidate), ties by document number, as Whoosh's collectors order them."""
    if not len(candidates):
        return candidates
    order_keys = -keys if descending else keys
    if len(candidates) > 4 * limit:
        # Only what can reach the first `limit` places (all ties at the border included).
        border = np.partition(order_keys, limit - 1)[limit - 1]
        keep = order_keys <= border
        candidates, order_keys = candidates[keep], order_keys[keep]
    order = np.lexsort((candidates, order_keys))
    return candidates[order[:limit]]

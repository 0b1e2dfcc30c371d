"""Whole posting lists and per-document columns as NumPy arrays, cached.

Whoosh answers a query by walking a tree of matchers in Python, one posting at a time, and
counting all matches walks it again. Here a term's posting list is decoded once, block by block,
into two arrays (document numbers and weights), so that a query is answered with a few array
operations over whole lists (kb.search.evaluate).

What is cached, and why it is safe:

- per *segment*: a term's postings, each field's document lengths, the values of each facet
  field, sort keys. A Whoosh segment never changes once written (deletions aside, which are
  applied as a mask), so these are kept across index generations, in a cache bounded in bytes;
- per *index generation* (a `Snapshot`): the same arrays for the whole index (segments placed
  at their document offsets), which documents are live, the access masks of each reader class
  (anonymous, signed in), facet tables and recent query evaluations. A new generation (any
  write) gets a new snapshot; the old one is dropped.

Nothing cached depends on who is searching except the access masks, which are keyed by reader
class; a reader's own drafts are added per request (kb.search.searcher).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, W3PerDocReader, _lenfield
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import TermNotFound
from whoosh.util.numeric import byte_to_length

# Decoded segment postings and columns kept, at most (bytes of the arrays).
SEGMENT_CACHE_BYTES = 96 * 2**20
# Query evaluations kept per snapshot (a facet click or the next page reuses one), at most.
EVALUATIONS_KEPT = 24
EVALUATION_CACHE_BYTES = 48 * 2**20
# Document frequencies of terms kept per snapshot, at most (then forgotten all at once).
FREQUENCIES_KEPT = 200_000

_LENGTH_OF_BYTE = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)
# Postings are kept compact: 32-bit document numbers, and weights as Whoosh stores them (32-bit
# floats); scores are computed in 64 bits (kb.search.evaluate).
_EMPTY_IDS = np.zeros(0, dtype=np.int32)
_EMPTY_WEIGHTS = np.zeros(0, dtype=np.float32)


class _BoundedCache:
    """A least-recently-used mapping bounded by the bytes of the arrays it holds."""

    def __init__(self, max_bytes: int, max_items: int | None = None):
        self.max_bytes, self.max_items = max_bytes, max_items
        self._items: OrderedDict = OrderedDict()
        self._sizes: dict = {}
        self._bytes = 0
        self._lock = threading.Lock()

    def get_or_make(self, key, make: Callable):
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = make()  # outside the lock: two threads may both make it; both are equal
        self.put(key, value)
        return value

    def get(self, key):
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def put(self, key, value) -> None:
        size = _nbytes(value)
        if size > self.max_bytes:
            return
        with self._lock:
            if key in self._items:
                self._bytes -= self._sizes.pop(key)
                del self._items[key]
            self._items[key] = value
            self._sizes[key] = size
            self._bytes += size
            while self._items and (self._bytes > self.max_bytes or (
                    self.max_items is not None and len(self._items) > self.max_items)):
                old, _value = self._items.popitem(last=False)
                self._bytes -= self._sizes.pop(old)


def _nbytes(value) -> int:
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, (tuple, list)):
        return sum(_nbytes(v) for v in value) + 64
    if isinstance(value, dict):
        return sum(_nbytes(v) for v in value.values()) + 64
    return 64


_segment_cache = _BoundedCache(SEGMENT_CACHE_BYTES)


def _segment_key(path: str, segreader) -> tuple:
    return (path, segreader.segment().segment_id())


def _decode_postings(segreader, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
    """(document numbers, weights) of a term in one segment, deleted documents included (a
    snapshot's live mask removes them)."""
    try:
        matcher = segreader.postings(fieldname, text)
    except TermNotFound:
        return _EMPTY_IDS, _EMPTY_WEIGHTS
    if isinstance(matcher, FilterMatcher):  # the segment's deletions: applied as a mask instead
        matcher = matcher.child
    ids, weights = [], []
    if isinstance(matcher, W3LeafMatcher):
        # Block by block: each block's ids and weights are arrays already (Whoosh's private
        # block interface; tests/search/test_evaluate.py checks the result against Whoosh).
        while matcher.is_active():
            matcher._read_ids()
            matcher._read_weights()
            ids.append(np.asarray(matcher._ids, dtype=np.int32))
            weights.append(np.asarray(matcher._weights, dtype=np.float32))
            matcher._next_block()
        if not ids:
            return _EMPTY_IDS, _EMPTY_WEIGHTS
        return np.concatenate(ids), np.concatenate(weights)
    while matcher.is_active():  # inlined postings of a rare term, or another codec
        ids.append(matcher.id())
        weights.append(matcher.weight())
        matcher.next()
    return np.asarray(ids, dtype=np.int32), np.asarray(weights, dtype=np.float32)


def _decode_lengths(segreader, fieldname: str) -> np.ndarray:
    """Each document's length in the field, as Whoosh stores it (one byte, approximate: exact
    lengths, measured on Cranfield and CISI, did not rank better) and as its BM25F scorer
    reads it."""
    count = segreader.doc_count_all()
    if not segreader.schema[fieldname].scorable:
        return np.ones(count)
    perdoc = getattr(segreader, "_perdoc", None)
    if isinstance(perdoc, W3PerDocReader):
        # The length column is one byte per document: read it whole (Whoosh's private column
        # interface; tests/search/test_evaluate.py checks it against doc_field_length).
        column = perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
        codes = np.zeros(count, dtype=np.uint8)
        if column is not None and column._count:
            stored = np.frombuffer(column._dbfile.get(column._basepos, column._count),
                                   dtype=np.uint8)
            codes[:len(stored)] = stored[:count]
        return _LENGTH_OF_BYTE[codes]
    return np.fromiter((segreader.doc_field_length(d, fieldname, 0) or 0
                        for d in range(count)), dtype=np.float64, count=count)


def _decode_column(segreader, fieldname: str) -> list:
    return list(segreader.column_reader(fieldname, translate=False))


def _decode_values(segreader, fieldname: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """A facet field in one segment: its values, and (document, value index) pairs."""
    values, docs, codes = [], [], []
    for term in segreader.lexicon(fieldname):
        value = term.decode("utf-8") if isinstance(term, bytes) else term
        if not value:
            continue  # "no organisation", "no place": not a facet value
        ids, _weights = _decode_postings(segreader, fieldname, value)
        if len(ids):
            docs.append(ids)
            codes.append(np.full(len(ids), len(values), dtype=np.int32))
            values.append(value)
    if not values:
        return [], _EMPTY_IDS, _EMPTY_IDS
    return values, np.concatenate(docs), np.concatenate(codes)


class Snapshot:
    """One generation of one index: arrays over all its documents, built when first asked for
    by any searcher of that generation."""

    def __init__(self, path: str, key: tuple, doc_count: int):
        self.path, self.key, self.doc_count = path, key, doc_count
        self._arrays: dict = {}
        self._lock = threading.Lock()
        self.evaluations = _BoundedCache(EVALUATION_CACHE_BYTES, EVALUATIONS_KEPT)
        self.frequencies: dict[tuple[str, str], int] = {}  # (field, term) -> documents

    def get(self, key, make: Callable):
        """The snapshot-wide array (or table) `key`, made once with `make()`."""
        with self._lock:
            if key in self._arrays:
                return self._arrays[key]
        value = make()
        with self._lock:
            return self._arrays.setdefault(key, value)


_snapshots: dict[str, Snapshot] = {}
_snapshots_lock = threading.Lock()


class View:
    """A request's view of a snapshot through its own Whoosh searcher (Whoosh's file readers
    are not shared between threads; the arrays are)."""

    def __init__(self, path: str, searcher):
        self.path, self.searcher = path, searcher
        reader = searcher.reader()
        self.leaves = list(reader.leaf_readers())
        key = (reader.generation(), tuple((r.segment().segment_id(), r.segment().deleted_count())
                                          for r, _offset in self.leaves))
        with _snapshots_lock:
            snapshot = _snapshots.get(path)
            if snapshot is None or snapshot.key != key:
                snapshot = Snapshot(path, key, reader.doc_count_all())
                _snapshots[path] = snapshot
        self.snapshot = snapshot
        self.doc_count = snapshot.doc_count

    # Per segment, assembled per snapshot.

    def _segments(self, kind: str, name: str, decode: Callable) -> list:
        return [_segment_cache.get_or_make(_segment_key(self.path, r) + (kind, name),
                                           lambda r=r: decode(r, name))
                for r, _offset in self.leaves]

    def postings(self, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(document numbers, weights) of a term over the whole index; deleted documents
        included, so combine with `live`."""
        parts = [_segment_cache.get_or_make(
            _segment_key(self.path, r) + ("postings", fieldname, text),
            lambda r=r: _decode_postings(r, fieldname, text)) for r, _offset in self.leaves]
        if len(parts) == 1:
            return parts[0]
        offsets = [offset for _r, offset in self.leaves]
        return (np.concatenate([ids + np.int32(offset)
                                for (ids, _w), offset in zip(parts, offsets)]),
                np.concatenate([w for _ids, w in parts]))

    def doc_frequency(self, fieldname: str, text: str) -> int:
        """How many documents have the term, deleted ones included (as Whoosh counts for
        idf), kept in the snapshot."""
        frequencies = self.snapshot.frequencies
        found = frequencies.get((fieldname, text))
        if found is None:
            if len(frequencies) > FREQUENCIES_KEPT:
                frequencies.clear()
            found = frequencies[(fieldname, text)] = self.searcher.reader().doc_frequency(
                fieldname, text)
        return found

    def term_mask(self, fieldname: str, text: str) -> np.ndarray:
        mask = np.zeros(self.doc_count, dtype=bool)
        mask[self.postings(fieldname, text)[0]] = True
        return mask

    def cached_term_mask(self, fieldname: str, text: str) -> np.ndarray:
        """term_mask, kept in the snapshot (for the few terms every search needs)."""
        return self.snapshot.get(("term_mask", fieldname, text),
                                 lambda: self.term_mask(fieldname, text))

    @property
    def live(self) -> np.ndarray:
        def make():
            mask = np.ones(self.doc_count, dtype=bool)
            for r, offset in self.leaves:
                deleted = list(r.segment().deleted_docs() or ())
                if deleted:
                    mask[np.asarray(deleted, dtype=np.int64) + offset] = False
            return mask
        return self.snapshot.get(("live",), make)

    def lengths(self, fieldname: str) -> np.ndarray:
        return self.snapshot.get(("lengths", fieldname), lambda: np.concatenate(
            self._segments("lengths", fieldname, _decode_lengths)))

    def sort_key(self, fieldname: str) -> np.ndarray:
        """Each document's rank in the order of the field's sortable column."""
        def make():
            raw = [v for part in self._segments("column", fieldname, _decode_column)
                   for v in part]
            if raw and all(isinstance(v, int) for v in raw):
                return np.asarray(raw, dtype=np.int64)
            keys = [v if isinstance(v, bytes) else str(v).encode("utf-8") for v in raw]
            _unique, ranks = np.unique(np.asarray(keys, dtype=object), return_inverse=True)
            return ranks.astype(np.int64)
        return self.snapshot.get(("sort", fieldname), make)

    def facet_table(self, fieldname: str) -> tuple[list[str], np.ndarray, np.ndarray]:
        """(values, document of each pair, value index of each pair) over the whole index."""
        def make():
            index: dict[str, int] = {}
            docs, codes = [], []
            for (values, seg_docs, seg_codes), (_r, offset) in zip(
                    self._segments("values", fieldname, _decode_values), self.leaves):
                mapping = np.asarray([index.setdefault(v, len(index)) for v in values],
                                     dtype=np.int32)
                if len(seg_docs):
                    docs.append(seg_docs + offset)
                    codes.append(mapping[seg_codes])
            if not docs:
                return [], _EMPTY_IDS, _EMPTY_IDS
            return list(index), np.concatenate(docs), np.concatenate(codes)
        return self.snapshot.get(("facet", fieldname), make)

    def facet_counts(self, fieldname: str, matching: np.ndarray) -> dict[str, int]:
        """value -> number of documents in `matching` (a mask) with it, most first, then by
        value; values no matching document has are left out."""
        values, docs, codes = self.facet_table(fieldname)
        if not values:
            return {}
        counts = np.bincount(codes[matching[docs]], minlength=len(values))
        found = [(values[i], int(counts[i])) for i in np.flatnonzero(counts)]
        return dict(sorted(found, key=lambda item: (-item[1], item[0])))

    def stored_fields(self, docnum: int) -> dict:
        return self.searcher.stored_fields(int(docnum))


def forget(path: str) -> None:
    """Drop the snapshot of `path` (its folder was replaced)."""
    with _snapshots_lock:
        _snapshots.pop(str(path), None)

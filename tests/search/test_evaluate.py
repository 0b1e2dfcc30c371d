"""The array evaluation of queries (kb.search.evaluate) gives Whoosh's own answer: the same
documents with the same scores, on an index of several segments with deleted documents; and a
word looked for in title and body, scored as one BM25F term, gives the formula's score."""
import math
import re
from collections import defaultdict

import numpy as np
import pytest
from whoosh import collectors

from kb import search
from kb.search import searcher as kb_searcher
from kb.search.evaluate import Evaluator, top
from kb.search.index import open_index
from kb.search.postings import View
from kb.search.query import AnyField
from tests.conftest import SHARED_DATA
from tests.factories import index_document

CRANFIELD = SHARED_DATA / "ir-cranfield"
pytestmark = pytest.mark.skipif(not CRANFIELD.is_dir(), reason="shared data missing")

QUERIES = [
    "what similarity laws must be obeyed when constructing aeroelastic models of heated high "
    "speed aircraft",
    "boundary layer", "heat", '"boundary layer" transition', "flow -heat", "title:wing pressure",
    "shock OR wave", "supersonic flow OR hypersonic flow past a blunt body", "xyzzy",
    "xyzzy OR heat", '"shock wave" -"boundary layer"',
]


def cranfield_documents():
    raw = (CRANFIELD / "cran.all.1400").read_text()
    for record in re.split(r"^\.I ", raw, flags=re.M)[1:]:
        number, _, rest = record.partition("\n")
        fields = dict(re.findall(r"^\.([TABW])\s*\n(.*?)(?=^\.[TABW]\s*$|\Z)", rest,
                                 flags=re.M | re.S))
        yield index_document(int(number), title=fields.get("T", "").strip(),
                             body=fields.get("W", ""))


@pytest.fixture(scope="module")
def index_path(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("evaluate") / "index")
    search.create_index(path)
    documents = list(cranfield_documents())
    for part in (documents[:500], documents[500:1000], documents[1000:]):
        ix = open_index(path)
        writer = ix.writer()
        for document in part:
            writer.add_document(**document.fields())
        writer.commit(merge=False)  # several segments
    search.write(path, [], deleted_ids=[5, 77, 900, 1399])
    return path


def whoosh_scores(searcher, query) -> dict[int, float]:
    collector = collectors.TopCollector(limit=10_000, replace=0)
    searcher.search_with_collector(query, collector)
    return {hit.docnum: hit.score for hit in collector.results()}


def test_the_index_has_several_segments_and_deletions(index_path):
    with open_index(index_path).searcher() as searcher:
        assert len(list(searcher.reader().leaf_readers())) == 3
        assert searcher.doc_count() == searcher.doc_count_all() - 4


@pytest.mark.parametrize("typed", QUERIES)
def test_the_same_documents_and_scores_as_whoosh(index_path, typed):
    query = search.parse(typed).query
    # Each field scored on its own, as Whoosh scores it (the combined scoring: see below).
    weighting = kb_searcher.Weighting(kb_searcher.BM25_B, kb_searcher.BM25_K1, kb_searcher.IDF,
                                      combined_fields=False)
    with open_index(index_path).searcher(weighting=weighting) as searcher:
        expected = whoosh_scores(searcher, query)
        view = View(index_path, searcher)
        matches = Evaluator(view, weighting).evaluate(query)
        found = np.flatnonzero(matches.mask & view.live)
        assert set(found.tolist()) == set(expected)
        for docnum, score in expected.items():
            assert matches.scores[docnum] == pytest.approx(score, rel=1e-9)


@pytest.fixture(scope="module")
def whole_index(tmp_path_factory):
    """One segment, nothing deleted: Whoosh's public postings are then every posting."""
    path = str(tmp_path_factory.mktemp("combined") / "index")
    search.create_index(path)
    search.write(path, list(cranfield_documents())[:400])
    return path


def test_a_word_in_title_and_body_is_scored_as_one_bm25f_term(whole_index):
    """Each field's frequency normalised by that field's length, added up, saturated once,
    with the idf of the documents having the word in any field (Lucene's idf)."""
    b, k1 = kb_searcher.BM25_B, kb_searcher.BM25_K1
    weighting = kb_searcher.Weighting(b, k1, "lucene", combined_fields=True)
    query = search.parse("similarity laws aeroelastic models heated aircraft").query
    assert len(query.subqueries) == 6 and all(isinstance(q, AnyField) for q in query.subqueries)
    with open_index(whole_index).searcher(weighting=weighting) as searcher:
        reader = searcher.reader()
        expected: dict[int, float] = defaultdict(float)
        for word in query.subqueries:
            frequency: dict[int, float] = defaultdict(float)
            for term in word.subqueries:
                if (term.fieldname, term.text) not in reader:
                    continue
                average = searcher.avg_field_length(term.fieldname)
                for docnum, weight in reader.postings(term.fieldname, term.text).items_as(
                        "weight"):
                    length = reader.doc_field_length(docnum, term.fieldname)
                    frequency[docnum] += weight / ((1 - b) + b * length / average)
            n, df = reader.doc_count_all(), len(frequency)
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            for docnum, tf in frequency.items():
                expected[docnum] += idf * tf * (k1 + 1) / (tf + k1)
        assert len(expected) > 50
        matches = Evaluator(View(whole_index, searcher), weighting).evaluate(query)
        assert set(np.flatnonzero(matches.mask).tolist()) == set(expected)
        for docnum, score in expected.items():
            assert matches.scores[docnum] == pytest.approx(score, rel=1e-9)


def test_lengths_and_postings_read_whole_agree_with_whoosh(index_path):
    with open_index(index_path).searcher() as searcher:
        view = View(index_path, searcher)
        reader = searcher.reader()
        lengths = view.lengths("body")
        for docnum in range(0, searcher.doc_count_all(), 37):
            assert lengths[docnum] == (reader.doc_field_length(docnum, "body", 0) or 0)
        for term in ("flow", "aeroelast", "heat", "xyzzy"):
            ids, weights = view.postings("body", term)
            live = view.live[ids]
            expected = [] if not reader.doc_frequency("body", term) else list(
                reader.postings("body", term).items_as("weight"))
            assert list(zip(ids[live].tolist(), weights[live].tolist())) == [
                (docnum, pytest.approx(weight)) for docnum, weight in expected]


def test_top_orders_by_key_then_document_number():
    candidates = np.array([3, 9, 1, 7, 5, 2, 8])
    keys = np.array([1.0, 2.0, 2.0, 0.5, 2.0, 1.0, 0.1])
    assert top(candidates, keys, 4, descending=True).tolist() == [1, 5, 9, 2]
    assert top(candidates, keys, 2, descending=False).tolist() == [8, 7]
    assert top(candidates[:0], keys[:0], 3, descending=True).tolist() == []


def test_an_or_of_terms_no_document_has_can_be_weighted(index_path):
    """A long query's words are weighted by how often they were typed: an Or of words the
    index does not have, weighted, is an empty result, not an error."""
    query = search.parse("xyzzy plugh").with_any_words().query
    query.boost = 2.0
    weighting = kb_searcher.weighting()
    with open_index(index_path).searcher(weighting=weighting) as searcher:
        matches = Evaluator(View(index_path, searcher), weighting).evaluate(query)
        assert not matches.mask.any() and not matches.scores.any()


def test_an_index_without_offsets_gives_no_spans(tmp_path):
    """An index built before the body kept character offsets (until `kb reindex`): the
    snippets' matches are then found in the text instead (kb.services.search)."""
    from whoosh.fields import ID, TEXT, Schema
    from whoosh.filedb.filestore import FileStorage

    from kb.search import highlight

    ix = FileStorage(str(tmp_path)).create_index(Schema(id=ID(stored=True), body=TEXT))
    with ix.writer() as writer:
        writer.add_document(id="1", body="irrigation canals")
    with ix.searcher() as searcher:
        assert highlight.match_spans(searcher, [0], [("body", ("irrig",))]) is None

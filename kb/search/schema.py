"""The one search schema. Every indexed field is defined here and nowhere else.

Each piece of text (the title; the body: summary, files' text, authors, event, organisation and
place names) goes into three fields, one per analyzer: English words, Khmer words, Khmer cluster
n-grams. Each analyzer keeps only its own script, so mixed-script text is handled run by run.
"""
from whoosh.fields import DATETIME, ID, KEYWORD, TEXT, Schema

from kb.search.analysis import english_analyzer, khmer_ngram_analyzer, khmer_word_analyzer

# Bump when the fields or analyzers change: `kb check` then reports the index as outdated and
# `kb reindex` (or `kb check --repair`) rebuilds it.
SCHEMA_VERSION = 5

# Text fields by the part of a resource they hold; each is searched for every query word.
TITLE_FIELDS = ("title", "title_km", "title_kmng")
BODY_FIELDS = ("body", "body_km", "body_kmng")
ENGLISH_FIELDS = ("title", "body")
KHMER_WORD_FIELDS = ("title_km", "body_km")
KHMER_NGRAM_FIELDS = ("title_kmng", "body_kmng")
SPELLING_FIELD = "spell"

# Filter and facet fields: the name used in the API and the index field behind it.
FACET_FIELDS = {"kind": "kind", "objective": "objective", "language": "language", "tag": "tag",
                "org": "org", "year": "year", "province": "province"}
MULTI_VALUED = frozenset({"objective", "language", "tag"})

# Field weights, tuned on the Cranfield and CISI collections (benchmarks/relevance.py).
TITLE_BOOST = 1.0
KHMER_NGRAM_BOOST = 0.5  # n-grams find what words miss; words rank better when both match


def build_schema() -> Schema:
    english, khmer_words, khmer_ngrams = (english_analyzer(), khmer_word_analyzer(),
                                          khmer_ngram_analyzer())
    return Schema(
        id=ID(stored=True, unique=True),
        title=TEXT(analyzer=english, field_boost=TITLE_BOOST),
        title_km=TEXT(analyzer=khmer_words, field_boost=TITLE_BOOST),
        title_kmng=TEXT(analyzer=khmer_ngrams, field_boost=TITLE_BOOST * KHMER_NGRAM_BOOST),
        # The body keeps each term's character offsets as well as its positions: snippets are
        # cut and marked from them (kb.search.highlight), without analysing the text again.
        body=TEXT(analyzer=english, chars=True),
        body_km=TEXT(analyzer=khmer_words, chars=True),
        body_kmng=TEXT(analyzer=khmer_ngrams, field_boost=KHMER_NGRAM_BOOST, chars=True),
        # Unstemmed English words, for "did you mean": which documents have them, nothing more
        # (no positions, frequencies or lengths: the cheapest postings to write). Given as
        # lists of words (kb.search.analysis.spelling_words), so the analyzer is not run.
        spell=KEYWORD(scorable=False),
        tag=KEYWORD(commas=True, lowercase=True, scorable=True),
        kind=ID(sortable=True),
        objective=KEYWORD,
        language=KEYWORD,
        org=ID(sortable=True),
        year=ID(sortable=True),  # four digits: a term range is a range of years
        date=DATETIME(sortable=True),
        published=DATETIME(sortable=True),  # when it was published (feeds: newest first)
        title_sort=ID(sortable=True),
        province=ID(sortable=True),
        district=ID,
        commune=ID,
        # What access checks need.
        status=ID,
        visibility=ID,
        owner=ID,
        # The resource's updated_at when it was indexed: `kb check` finds stale entries with it.
        version=ID(stored=True),
    )


# --- consultation responses: a separate, small index (kb/search/responses.py) --------------------

# Bump when the response fields or analyzers change (`kb reindex` rebuilds).
RESPONSE_SCHEMA_VERSION = 1


def build_response_schema() -> Schema:
    """Members' responses: the same three analyzers over the response (body: the comment and
    the proposed wording; title: the section heading or question it answers), the consultation
    as a facet, and what the access filter needs."""
    english, khmer_words, khmer_ngrams = (english_analyzer(), khmer_word_analyzer(),
                                          khmer_ngram_analyzer())
    return Schema(
        id=ID(stored=True, unique=True),
        title=TEXT(analyzer=english), title_km=TEXT(analyzer=khmer_words),
        title_kmng=TEXT(analyzer=khmer_ngrams, field_boost=KHMER_NGRAM_BOOST),
        body=TEXT(analyzer=english), body_km=TEXT(analyzer=khmer_words),
        body_kmng=TEXT(analyzer=khmer_ngrams, field_boost=KHMER_NGRAM_BOOST),
        consultation=ID(stored=True),
        hidden=ID,
        author=ID,
        created=DATETIME(sortable=True),
        version=ID(stored=True),
    )

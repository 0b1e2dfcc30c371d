"""Search analyzers: English tokens, Khmer words and cluster n-grams, and the character offsets
that highlighting relies on."""
from __future__ import annotations

import pickle
import re

import pytest
from whoosh import highlight
from whoosh.fields import ID, TEXT, Schema
from whoosh.filedb.filestore import RamStorage
from whoosh.qparser import QueryParser
from whoosh.query import Phrase, Term

from kb.ingest.khmer import normalise_khmer
from kb.search.analysis import (english_analyzer, khmer_clusters, khmer_ngram_analyzer,
                                khmer_word_analyzer, segment_khmer)
from tests.conftest import SHARED_DATA

COMMUNE_COUNCIL = "ក្រុមប្រឹក្សាឃុំ"
# "Today the commune council met the citizens."
SENTENCE = "ថ្ងៃនេះ ក្រុមប្រឹក្សាឃុំបានប្រជុំជាមួយប្រជាពលរដ្ឋ។"
# Words as real documents have them ("commune council", "met", "Mr", "woman", "Khmer"), typed
# badly: the vowel of ប្រឹ before its subscript, េ + ា for ោ in លោក, subscript RO before
# subscript TA in ស្ត្រី, the vowel of ខ្មែរ before its subscript, and zero width spaces
# between words and inside a syllable (ល​ោ).
MESSY = ("ក្រុមប\u17B9\u17D2\u179Aក្សា\u200Bឃុំ បាន\u200Bជួប"
         "ល\u200B\u17C1\u17B6ក\u200Bស\u17D2\u179A\u17D2\u178F\u17B8 ខ\u17C2\u17D2\u1798រ")
MESSY_NORMALISED = "ក្រុមប្រឹក្សាឃុំ បានជួបលោកស្ត្រី ខ្មែរ"
KHMER_CHAR = re.compile("[\u1780-\u17FF\u19E0-\u19FF]")
INVISIBLE_OR_SPACE = re.compile("[\\s\u200B-\u200D]")


def english(text: str) -> list[str]:
    return [t.text for t in english_analyzer()(text)]


def query_tokens(analyzer, text: str) -> list[str]:
    return [t.text for t in analyzer(text, mode="query")]


def index_tokens(analyzer, text: str) -> list[tuple[str, int, int, int]]:
    return [(t.text, t.pos, t.startchar, t.endchar)
            for t in analyzer(text, positions=True, chars=True, mode="index")]


def search(docs: dict[str, str], query) -> list[str]:
    schema = Schema(id=ID(stored=True), words=TEXT(analyzer=khmer_word_analyzer()),
                    ngrams=TEXT(analyzer=khmer_ngram_analyzer()))
    ix = RamStorage().create_index(schema)
    with ix.writer() as writer:
        for doc_id, text in docs.items():
            writer.add_document(id=doc_id, words=text, ngrams=text)
    with ix.searcher() as searcher:
        return sorted(hit["id"] for hit in searcher.search(query))


def phrase(field: str, analyzer, text: str):
    words = query_tokens(analyzer, text)
    return Term(field, words[0]) if len(words) == 1 else Phrase(field, words)


# --- English ---------------------------------------------------------------------------------

def test_domain_tokens_stay_whole():
    assert english("D&D and d&d reform, IP3, SNA and CSO.") == [
        "d&d", "d&d", "reform", "ip3", "sna", "cso"]


@pytest.mark.parametrize("variant, base", [
    ("councils", "council"), ("Councils", "council"), ("CSOs", "CSO"),
    ("Café", "cafe"), ("cafe\u0301", "cafe"), ("Décentralisation", "decentralization"),
    ("organised", "organized"), ("analysing", "analyzing"),
])
def test_variants_share_a_token(variant, base):
    assert english(variant) == english(base) and english(base)


def test_stop_words_go_but_short_domain_words_stay():
    assert english("the role of the D&D in an IP3") == ["role", "d&d", "ip3"]


def test_khmer_never_makes_english_tokens():
    khmer = "".join(map(chr, [*range(0x1780, 0x1800), *range(0x19E0, 0x1A00)]))
    assert english(khmer + SENTENCE + MESSY) == []
    for ch in khmer:  # no Khmer character sticks to, or splits off from, a Latin word
        assert english(f"budget{ch}plan") == ["budget", "plan"]


# --- Khmer words and clusters ----------------------------------------------------------------

def test_commune_council_segments_into_words():
    assert segment_khmer(COMMUNE_COUNCIL) == ["ក្រុមប្រឹក្សា", "ឃុំ"]
    assert segment_khmer(SENTENCE) == ["ថ្ងៃនេះ", "ក្រុមប្រឹក្សា", "ឃុំ", "បាន", "ប្រជុំ",
                                       "ជាមួយ", "ប្រជាពលរដ្ឋ"]


@pytest.mark.parametrize("text, clusters", [
    (COMMUNE_COUNCIL, ["ក្រុ", "ម", "ប្រឹ", "ក្សា", "ឃុំ"]),
    ("ស្ត្រី", ["ស្ត្រី"]),                       # two subscripts and a vowel: one cluster
    ("កម្ពុជា", ["ក", "ម្ពុ", "ជា"]),
    ("ធម៌ ប៊ីចេង", ["ធ", "ម៌", "ប៊ី", "ចេ", "ង"]),  # robat; register shifter
    ("ព្រះរាជាណាចក្រ", ["ព្រះ", "រា", "ជា", "ណា", "ច", "ក្រ"]),
    ("ឆ្នាំ២០២៤។ ABC", ["ឆ្នាំ", "២", "០", "២", "៤"]),  # digits one by one; no punctuation
])
def test_clusters(text, clusters):
    assert khmer_clusters(text) == clusters


def test_normalised_piecewise_as_a_whole():
    """Offsets come from normalising piece by piece; the tokens must be those of the
    normalised whole text."""
    assert normalise_khmer(MESSY) == MESSY_NORMALISED
    assert segment_khmer(MESSY) == segment_khmer(MESSY_NORMALISED)
    assert khmer_clusters(MESSY) == khmer_clusters(MESSY_NORMALISED)
    assert segment_khmer(MESSY)[:2] == ["ក្រុមប្រឹក្សា", "ឃុំ"]


def test_ngram_query_tokens_recur_inside_a_sentence():
    analyzer = khmer_ngram_analyzer()
    query = query_tokens(analyzer, COMMUNE_COUNCIL)
    assert query == ["ក្រុម", "មប្រឹ", "ប្រឹក្សា", "ក្សាឃុំ"]
    assert query == query_tokens(analyzer, "ក្រុមប្រឹក្សា ឃុំ")  # spaces do not matter
    # in the index, the query's pairs sit at consecutive positions
    positions = {}
    for text, pos, _, _ in index_tokens(analyzer, SENTENCE):
        positions.setdefault(text, set()).add(pos)
    start = positions[query[0]]
    assert any(all(p + k in positions[word] for k, word in enumerate(query)) for p in start)


def test_index_holds_single_clusters_and_pairs_at_one_position():
    tokens = [(text, pos) for text, pos, _, _ in index_tokens(khmer_ngram_analyzer(), "ឃុំថ្មី។ស្រី")]
    assert tokens == [("ឃុំ", 0), ("ឃុំថ្មី", 0), ("ថ្មី", 1), ("ស្រី", 3)]  # gap at ។


def test_one_cluster_query_is_the_cluster():
    assert query_tokens(khmer_ngram_analyzer(), "ឃុំ") == ["ឃុំ"]


def test_khmer_analyzers_ignore_other_scripts():
    mixed = "The D&D reform: ក្រុមប្រឹក្សាឃុំ meets CSOs (IP3) in ខេត្តសៀមរាប."
    assert english(mixed) == ["d&d", "reform", "meet", "cso", "ip3"]
    for analyzer in (khmer_word_analyzer(), khmer_ngram_analyzer()):
        tokens = [t.text for t in analyzer(mixed, mode="index")]
        assert tokens and all(KHMER_CHAR.fullmatch(ch) for token in tokens for ch in token)
    assert "".join(segment_khmer(mixed)) == "ក្រុមប្រឹក្សាឃុំខេត្តសៀមរាប"


@pytest.mark.parametrize("make_analyzer", [khmer_word_analyzer, khmer_ngram_analyzer])
def test_offsets_point_into_the_original_text(make_analyzer):
    prefix = "Report 2024: "  # offsets are in the text given, not in its Khmer part
    text = prefix + MESSY
    tokens = index_tokens(make_analyzer(), text)
    assert tokens
    for token, _, start, end in tokens:
        source = text[start:end]
        assert INVISIBLE_OR_SPACE.sub("", normalise_khmer(source)) == token
        assert not INVISIBLE_OR_SPACE.match(source[0]) and not INVISIBLE_OR_SPACE.match(source[-1])
    # លោក typed as ល, zero width space, េ + ា: its token still starts at ល
    assert [text[start:end] for token, _, start, end in tokens if token.startswith("លោ")][0] \
        .startswith("ល\u200B\u17C1\u17B6")


# --- In an index -----------------------------------------------------------------------------

DOCS = {
    "council": "ថ្ងៃនេះ ក្រុមប្រឹក្សា ឃុំ\u200Bបានប្រជុំ។",
    "apart": "ក្រុមការងារ​ឃុំ និង​ក្រុមប្រឹក្សា​ខេត្ត",  # the words, but not together
    "reform": "វិមជ្ឈការនិងវិសហមជ្ឈការ",              # decentralisation and deconcentration
}


def test_khmer_typed_without_spaces_is_found_by_ngram_phrase():
    analyzer = khmer_ngram_analyzer()
    assert search(DOCS, phrase("ngrams", analyzer, COMMUNE_COUNCIL)) == ["council"]
    assert search(DOCS, phrase("ngrams", analyzer, "ឃុំ")) == ["apart", "council"]
    # ICU cuts this word in context (វិស ហម ជ្ឈ ការ) as it pleases; the clusters do not care
    assert search(DOCS, phrase("ngrams", analyzer, "វិសហមជ្ឈការ")) == ["reform"]
    assert search(DOCS, phrase("words", khmer_word_analyzer(), COMMUNE_COUNCIL)) == ["council"]


def test_query_parser_makes_the_phrase_when_the_field_asks():
    field = TEXT(analyzer=khmer_ngram_analyzer(), multitoken_query="phrase")
    parser = QueryParser("ngrams", Schema(ngrams=field))
    assert parser.parse(COMMUNE_COUNCIL) == phrase("ngrams", khmer_ngram_analyzer(),
                                                   COMMUNE_COUNCIL)


@pytest.mark.parametrize("make_analyzer", [english_analyzer, khmer_word_analyzer,
                                           khmer_ngram_analyzer])
def test_analyzers_survive_the_schema_pickle(make_analyzer):
    analyzer = pickle.loads(pickle.dumps(make_analyzer()))
    assert [t.text for t in analyzer(SENTENCE + " D&D")] == \
        [t.text for t in make_analyzer()(SENTENCE + " D&D")]


def highlighted(field: str, analyzer, text: str, query_text: str) -> list[str]:
    """The marked stretches of `text` when it is found by the phrase of `query_text`."""
    schema = Schema(body=TEXT(analyzer=analyzer, stored=True))
    ix = RamStorage().create_index(schema)
    with ix.writer() as writer:
        writer.add_document(body=text)
    with ix.searcher() as searcher:
        results = searcher.search(phrase("body", analyzer, query_text))
        results.fragmenter = highlight.WholeFragmenter()
        results.formatter = highlight.HtmlFormatter(tagname="mark")
        marked = results[0].highlights("body")
    return re.findall(r"<mark[^>]*>(.*?)</mark>", marked)


def test_highlight_marks_the_original_text():
    text = "Minutes: " + MESSY
    council = text[text.index("ក្រុម"):text.index("\u200Bឃុំ")]  # as typed, vowel first
    assert highlighted("words", khmer_word_analyzer(), text, COMMUNE_COUNCIL) == [council, "ឃុំ"]
    # a query of four clusters (an odd number of pairs: Whoosh's formatter keeps every other)
    assert "".join(highlighted("ngrams", khmer_ngram_analyzer(), text, "ក្រុមប្រឹក្សា")) == council
    # the marks cover the syllable as typed: ល, zero width space, េ + ា
    assert highlighted("ngrams", khmer_ngram_analyzer(), text, "ជួបលោក") == [
        "ជួប", "ល\u200B\u17C1\u17B6ក"]


def test_words_joined_by_dots_are_indexed_whole_and_by_their_parts():
    assert index_tokens(english_analyzer(), "Sub-Decree No.216 of councils") == [
        ("sub", 0, 0, 3), ("decre", 1, 4, 10), ("no.216", 2, 11, 17), ("no", 2, 11, 13),
        ("216", 3, 14, 17), ("council", 4, 21, 29)]
    # A query has only the parts, which make a phrase of the positions above.
    assert english("ncdd.gov.kh") == ["ncdd", "gov", "kh"]
    assert english("MSO_AUTO_SIZE") == ["mso", "auto", "size"]
    # One-letter parts are no parts; a stop word is skipped.
    assert english("D&D U.S end.The") == ["d&d", "u.", "end"]


@pytest.mark.parametrize("options", [
    {"positions": True, "chars": True, "mode": "index"}, {"positions": True, "chars": True},
    {}, {"positions": True, "chars": True, "removestops": False, "mode": "query"},
    {"positions": True, "chars": True, "start_pos": 5, "start_char": 3, "mode": "index"}])
def test_the_english_tokenizer_gives_what_the_chain_of_filters_gave(options):
    from kb.search.analysis import english_filter_chain

    samples = [
        "The commune budget; www.ncdd.gov.kh No.216 D&D U.S end.The café naïve Éé e\u0301t\u00e9 "
        "MSO_AUTO_SIZE.NONE state.of.art the of decentralisation precise organised",
        SENTENCE + " Commune councils (ក្រុមប្រឹក្សាឃុំ) plan D&D " + MESSY]
    cranfield = SHARED_DATA / "ir-cranfield" / "cran.all.1400"
    if cranfield.is_file():
        samples.append(cranfield.read_text()[:100_000])
    for text in samples:
        def seen(analyzer):
            return [(t.text, t.pos if options.get("positions") else None,
                     (t.startchar, t.endchar) if options.get("chars") else None, t.stopped)
                    for t in analyzer(text, **options)]
        assert seen(english_analyzer()) == seen(english_filter_chain())

"""Khmer search benchmark: how well ICU segments Khmer, and whether typed Khmer finds its document.

a. Word segmentation (`segment_khmer`, ICU's dictionary breaker) against the manual segmentation
   of the khPOS open test set. Gold words are the space-separated tokens; inside a token `_`
   joins the parts of a compound and `~` marks a prefix or suffix compound; the data also use
   `^` (62 times in OPEN-TEST, undocumented) before suffixes such as ភាព and កម្ម, taken here
   like `~`. Scored twice: "compounds as one word" (markers dropped) and "compound parts as
   words" (split at the markers); ICU's dictionary sits between the two. Only tokens with a Khmer
   letter or digit count, on both sides: punctuation and Latin text are not the Khmer analyzers'
   business. A word is right when its character span in the raw sentence (gold without spaces
   and markers) is exactly a gold span: precision, recall and F1 over spans.
b. Known-item search over 100 Khmer news articles, indexed in a word field and a cluster n-gram
   field. Per article, seeded: rare words (two clusters or more), rare adjacent word pairs and
   rare one-cluster words, taken from the reference segmentation (silver, see its SOURCE.md),
   rarity judged after normalisation. Each is typed without spaces and searched as a phrase in
   both fields (OR); success: the article is in the top 10. Each field alone is reported too,
   and so is an n-gram index without single clusters ("pairs only"), the usual CJK design.

Run: .venv/bin/python benchmarks/khmer.py [--json out.json]. Data are read in place from the
shared data folder (override with KB_SHARED_DATA).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

import icu  # noqa: E402
from whoosh.fields import ID, TEXT, Schema  # noqa: E402
from whoosh.filedb.filestore import RamStorage  # noqa: E402
from whoosh.query import Or, Phrase, Term  # noqa: E402

from kb.ingest.khmer import normalise_khmer  # noqa: E402
from kb.search.analysis import (LEK_TOO, KhmerNgramTokenizer, khmer_clusters,  # noqa: E402
                                khmer_ngram_analyzer, khmer_word_analyzer)

DATA = Path(os.environ.get("KB_SHARED_DATA")
            or Path(__file__).resolve().parents[1].parent / "shared" / "data")
KHPOS_OPEN_TEST = DATA / "khmer-khpos" / "OPEN-TEST.word"
NEWS = DATA / "khmer-news-100"

SEED = 20240601
PER_ARTICLE = 5          # queries of each kind per article
TOP = 10
COMPOUND_MARKERS = re.compile("[_~^]")
KHMER_WORD_CHAR = re.compile("[\u1780-\u17B3\u17DC\u17E0-\u17E9\u17F0-\u17F9\u19E0-\u19FF]")
# A word to type as a query: Khmer letters and signs only (no digits, punctuation, Latin).
KHMER_LETTERS_ONLY = re.compile("[\u1780-\u17D3\u17DD]+")


# --- a. Segmentation ---------------------------------------------------------------------------

def gold_spans(tokens: list[str], split_compounds: bool) -> set[tuple[int, int]]:
    """Character spans, in the raw sentence, of the gold words that contain Khmer."""
    spans, offset = set(), 0
    for token in tokens:
        parts = COMPOUND_MARKERS.split(token)
        if not split_compounds:
            parts = ["".join(parts)]
        for part in parts:
            if part and KHMER_WORD_CHAR.search(part):
                spans.add((offset, offset + len(part)))
            offset += len(part)
    return spans


def score(found: int, predicted: int, gold: int) -> dict:
    precision = found / predicted if predicted else 0.0
    recall = found / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "correct": found,
            "predicted": predicted, "gold": gold}


def segmentation_benchmark() -> dict:
    """P/R/F1 of segment_khmer on khPOS OPEN-TEST, compounds whole and split. The word
    analyzer's character offsets give the spans (its tokens are segment_khmer's words)."""
    analyzer = khmer_word_analyzer()
    counts = {mode: [0, 0, 0] for mode in ("compounds_as_one_word", "compound_parts_as_words")}
    sentences = 0
    for line in KHPOS_OPEN_TEST.read_text(encoding="utf-8").splitlines():
        tokens = [token for token in line.split(" ") if token.strip()]
        if not tokens:
            continue
        sentences += 1
        raw = COMPOUND_MARKERS.sub("", "".join(tokens))
        predicted = {(t.startchar, t.endchar) for t in analyzer(raw, chars=True)}
        for mode, split in (("compounds_as_one_word", False), ("compound_parts_as_words", True)):
            gold = gold_spans(tokens, split)
            counts[mode][0] += len(predicted & gold)
            counts[mode][1] += len(predicted)
            counts[mode][2] += len(gold)
    return {"sentences": sentences, **{mode: score(*c) for mode, c in counts.items()}}


# --- b. Known-item search ----------------------------------------------------------------------

def load_articles() -> dict[str, tuple[str, list[list[str]]]]:
    """docId -> (article text, reference segmentation as lines of words)."""
    articles = {}
    for original in sorted(NEWS.glob("*_orig.txt")):
        doc_id = original.name.removesuffix("_orig.txt")
        segmented = NEWS / f"{doc_id}_seg.txt"
        lines = [line.split() for line in segmented.read_text(encoding="utf-8").splitlines()]
        articles[doc_id] = (original.read_text(encoding="utf-8"), lines)
    return articles


def is_query_word(word: str) -> bool:
    return KHMER_LETTERS_ONLY.fullmatch(word) is not None


def pick_queries(articles, rng: random.Random) -> list[tuple[str, str, str]]:
    """(kind, query text typed without spaces, docId). Per article, PER_ARTICLE of each kind:
    "word", a word of two clusters or more; "pair", two adjacent words; "short", a word of one
    cluster. The rarest across articles come first (by the number of articles that have them),
    chosen at random among equally rare ones. Rarity is judged on normalised spelling: a rare
    misspelling of a common word is a common word."""
    def article_items(lines) -> dict[str, dict]:
        items = {"word": {}, "pair": {}, "short": {}}
        for line in lines:
            line = [(word, normalise_khmer(word)) for word in line]
            for i, (word, key) in enumerate(line):
                if not is_query_word(word):
                    continue
                items["word" if len(khmer_clusters(word)) >= 2 else "short"][key] = word
                if i + 1 < len(line) and is_query_word(line[i + 1][0]):
                    items["pair"][(key, line[i + 1][1])] = word + line[i + 1][0]
        return items

    per_article = {doc_id: article_items(lines) for doc_id, (_, lines) in articles.items()}
    spread = defaultdict(int)  # normalised word or pair -> number of articles having it
    for items in per_article.values():
        for candidates in items.values():
            for key in candidates:
                spread[key] += 1

    queries = []
    for doc_id, items in per_article.items():
        for kind, candidates in items.items():
            keys = sorted(candidates)
            rng.shuffle(keys)
            keys.sort(key=spread.__getitem__)  # stable: random among equally rare
            queries += [(kind, candidates[key], doc_id) for key in keys[:PER_ARTICLE]]
    return queries


class PairsOnlyTokenizer(KhmerNgramTokenizer):
    """The alternative design without single clusters in the index (documents analysed as
    queries are: pairs, and a cluster alone only where it has no neighbour), to measure what
    the single clusters add."""

    def __call__(self, value, mode="", **kwargs):
        return super().__call__(value, mode="query", **kwargs)


def field_query(field: str, analyzer, text: str):
    """The query text analysed like the field, as a phrase (a term when it is one token)."""
    words = [t.text for t in analyzer(text, mode="query")]
    if not words:
        return None
    return Term(field, words[0]) if len(words) == 1 else Phrase(field, words)


STRATEGIES = {  # name -> fields searched (OR)
    "word OR ngram": ("khmer_word", "khmer_ngram"),
    "word field": ("khmer_word",),
    "ngram field": ("khmer_ngram",),
    "ngram pairs only": ("khmer_pairs",),
    "word OR pairs": ("khmer_word", "khmer_pairs"),
}
KINDS = {"word": "rare words", "pair": "word pairs", "short": "1-cluster"}


def search_benchmark() -> dict:
    """Known-item success rates per strategy and kind of query (see the module docstring)."""
    analyzers = {"khmer_word": khmer_word_analyzer(), "khmer_ngram": khmer_ngram_analyzer(),
                 "khmer_pairs": PairsOnlyTokenizer()}
    schema = Schema(id=ID(stored=True, unique=True),
                    **{field: TEXT(analyzer=analyzer) for field, analyzer in analyzers.items()})
    articles = load_articles()
    started = time.perf_counter()
    ix = RamStorage().create_index(schema)
    with ix.writer() as writer:
        for doc_id, (text, _) in articles.items():
            writer.add_document(id=doc_id, **{field: text for field in analyzers})
    index_seconds = time.perf_counter() - started

    queries = pick_queries(articles, random.Random(SEED))
    successes = {strategy: defaultdict(int) for strategy in STRATEGIES}
    totals = defaultdict(int)
    failures = []
    with ix.searcher() as searcher:
        for kind, text, doc_id in queries:
            totals[kind] += 1
            by_field = {field: field_query(field, analyzer, text)
                        for field, analyzer in analyzers.items()}
            for strategy, fields in STRATEGIES.items():
                subqueries = [by_field[field] for field in fields if by_field[field] is not None]
                if not subqueries:
                    continue
                found = {hit["id"] for hit in searcher.search(Or(subqueries), limit=TOP)}
                if doc_id in found:
                    successes[strategy][kind] += 1
                elif strategy == "word OR ngram":
                    failures.append({"kind": kind, "query": text, "doc": doc_id})
    rates = {}
    for strategy, by_kind in successes.items():
        rates[strategy] = {kind: by_kind[kind] / totals[kind] for kind in KINDS}
        # "overall" is words and pairs, the queries the design is meant for
        rates[strategy]["overall"] = ((by_kind["word"] + by_kind["pair"])
                                      / (totals["word"] + totals["pair"]))
    return {"articles": len(articles), "queries": dict(totals), "top": TOP,
            "index_seconds": index_seconds, "success": rates, "failures": failures}


# --- c. Offsets through normalisation ---------------------------------------------------------

def offsets_check(texts: list[str]) -> dict:
    """On real text: the n-gram tokens of the raw text equal those of the normalised text (the
    analyzers normalise piece by piece to keep offsets), and every token's offsets slice the raw
    text back to what normalises to the token."""
    analyzer = khmer_ngram_analyzer()
    agree = tokens = sliced = 0
    for text in texts:
        agree += khmer_clusters(text) == khmer_clusters(normalise_khmer(text))
        for token in analyzer(text, chars=True, mode="index"):
            tokens += 1
            source = normalise_khmer(text[token.startchar:token.endchar])
            sliced += re.sub(f"[\\s{LEK_TOO}]", "", source) == token.text
    return {"texts": len(texts), "texts_agreeing": agree, "tokens": tokens,
            "tokens_slicing_back": sliced}


# --- Report ------------------------------------------------------------------------------------

def print_report(result: dict) -> None:
    seg = result["segmentation"]
    print(f"Khmer word segmentation: ICU {icu.ICU_VERSION} vs khPOS OPEN-TEST "
          f"({seg['sentences']} sentences)")
    print(f"  {'gold words':<26}{'precision':>10}{'recall':>10}{'F1':>10}{'gold':>8}")
    for mode in ("compounds_as_one_word", "compound_parts_as_words"):
        s = seg[mode]
        print(f"  {mode.replace('_', ' '):<26}{s['precision']:>10.3f}{s['recall']:>10.3f}"
              f"{s['f1']:>10.3f}{s['gold']:>8}")
    search = result["search"]
    queries = search["queries"]
    print(f"\nKnown-item search: {search['articles']} news articles, success = in top "
          f"{search['top']} (index of 3 fields built in {search['index_seconds']:.2f} s)")
    columns = [*KINDS.values(), "overall"]
    print(f"  {'strategy':<18}" + "".join(f"{column:>12}" for column in columns))
    counts = [queries[kind] for kind in KINDS] + [queries["word"] + queries["pair"]]
    print(f"  {'(queries)':<18}" + "".join(f"{count:>12}" for count in counts))
    for strategy, rate in search["success"].items():
        print(f"  {strategy:<18}"
              + "".join(f"{rate[key]:>12.1%}" for key in [*KINDS, "overall"]))
    print("  overall = rare words and word pairs; 1-cluster words are reported apart")
    for failure in search["failures"]:
        if failure["kind"] != "short":
            print(f"  missed ({failure['kind']}): {failure['query']} in {failure['doc']}")
    check = result["offsets"]
    print(f"\nOffsets through normalisation: {check['texts_agreeing']}/{check['texts']} texts "
          f"give the same clusters raw and normalised;\n  {check['tokens_slicing_back']}/"
          f"{check['tokens']} n-gram tokens slice the raw text back to their source")
    print(f"\nTotal run time: {result['seconds']:.1f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if not KHPOS_OPEN_TEST.exists() or not NEWS.is_dir():
        parser.error(f"shared data not found under {DATA} (set KB_SHARED_DATA)")
    started = time.perf_counter()
    texts = [text for text, _ in load_articles().values()]
    texts += KHPOS_OPEN_TEST.read_text(encoding="utf-8").splitlines()
    result = {"icu_version": icu.ICU_VERSION, "segmentation": segmentation_benchmark(),
              "search": search_benchmark(), "offsets": offsets_check(texts)}
    result["seconds"] = time.perf_counter() - started
    print_report(result)
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Ranking quality of our search against other BM25 engines, on Cranfield and CISI.

Each collection is searched by five systems, on the same texts (a document is its title and its
abstract; authors, sources and CISI's cross-references are left out) and the same queries:

  ours            the knowledge base itself, filled as a real collection would be and searched
                  as the API does: a temporary instance (`kb init`), each document written as a
                  text file (its title on the first line, then its abstract) and imported with
                  `kb import --publish` (which titles a text file by its first line); then
                  kb.services.search.run, the function the search page and the API call, as an
                  anonymous reader, 100 results per query (the two empty Cranfield documents,
                  471 and 995, are the file "untitled": an empty file is refused)
  bm25s           bm25s's Lucene BM25 (k1=1.5, b=0.75), English stop words, Snowball stemmer
  fts5            SQLite FTS5, tokenizer "porter unicode61", columns title and body, ranked by
                  bm25() (k1=1.2, b=0.75, no stop words), query: the quoted words joined by OR
  whoosh-or       bare Whoosh: Schema(id, title=TEXT, body=TEXT), StandardAnalyzer (no stemming),
                  MultifieldParser over title and body with OrGroup, BM25F defaults
  whoosh-and      the same with the parser's default AndGroup (every word must match: long
                  questions find little, shown so that the comparison is honest)

Queries. Cranfield queries are the .W text; CISI queries are their .T title (55 article-style
requests have one) followed by the .W text; only the 76 CISI queries with judgments are run.
Every system gets the same plain words: the text is lowercased (so OR, AND and NOT are words,
not operators) and cut into runs of letters and digits, joined inside a word by - . / or & as
in "boundary-layer" or "3.5"; everything else (quotes, brackets, a leading '-', ':' of a field
prefix, '?', '*', other punctuation) separates words. Every query is run whole: our search
answers a long one (more than kb.search.query.MAX_CLAUSES distinct words) with its most
informative words; the table says how many queries were long, and how many were answered.

Relevance. Cranfield codes 1 (complete answer) to 4 (minimum interest) give the graded gain
5 - code for nDCG (4, 3, 2, 1); code -1 (one per query, on documents near 486) is ignored.
CISI judgments are binary (gain 1). MAP and recall count every judged document as relevant.

Metrics, averaged over the queries that have a relevant document:
  nDCG@10     linear gains, discount log2(rank + 1), ideal ranking from all judgments
  MAP@100     precision at each relevant document in the top 100, summed, divided by the
              number of relevant documents (trec_eval's AP cut at 100)
  Recall@100  relevant documents in the top 100 over all relevant documents

Tuning (--tune), on our system only, the collections in parallel:
  a grid over TITLE_BOOST (kb.search.schema), BM25_B and BM25_K1 (kb.search.searcher), set in
  those modules before the index is built and before searching; each point scored through
  kb.search.search as the service calls it (without the snippets, facets and database loads
  of a service call).

Levers (--levers), on our system only: each lever of LEVERS switched from its current setting
alone, through the service as the comparison runs it (an index-time lever rebuilds the index),
nDCG@10 and MAP@100 per collection against the current settings; a lever is worth keeping
only where it helps on both collections. Measured and left out (issue #12): exact document
lengths instead of Whoosh's one-byte ones (Cranfield -0.0013, CISI +0.0001), Porter2 instead
of Porter (-0.0005, +0.0013), Whoosh's coordination bonus (0.0000, 0.0000). Kept: a word's
title and body scored as one BM25F term (CISI +0.023 alone, Cranfield -0.005 alone), "all of
the words" only up to three words (kb.search.query.ALL_WORDS_UP_TO, was four: Cranfield
+0.006, CISI +0.004 alone), and with both, b=0.85 and k1=2.8 (from 0.8 and 1.6: the grid's
best mean of the two collections' nDCG@10, at Whoosh's one-byte lengths).

Run: .venv/bin/python benchmarks/relevance.py [--collections cranfield,cisi] [--json out.json]
     [--tune | --levers]. The data are read in place from the shared data folder (KB_SHARED_DATA).
"""
from __future__ import annotations

import argparse
import itertools
import json
import math
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the helpers next to this file

import bm25s  # noqa: E402
import Stemmer  # noqa: E402
from whoosh import qparser  # noqa: E402
from whoosh.fields import ID, TEXT, Schema  # noqa: E402
from whoosh.filedb.filestore import RamStorage  # noqa: E402
from whoosh.query import Or  # noqa: E402

from _common import create_editor, shared_data, temporary_instance  # noqa: E402
from kb import search as kb_search  # noqa: E402
from kb.search import analysis as kb_analysis  # noqa: E402
from kb.search import query as kb_query, schema as kb_schema, searcher as kb_searcher  # noqa: E402
from kb.search.index import open_index  # noqa: E402
from kb.services import indexing  # noqa: E402
from kb.services import search as search_service  # noqa: E402
from kb.services.errors import ValidationError  # noqa: E402

DEPTH = 100        # results asked of every system
NDCG_DEPTH = 10
MAX_WORDS = kb_query.MAX_CLAUSES
# Our resources need a title; Cranfield 471 and 995 have no text at all.
UNTITLED = "untitled"
SYSTEM_LABELS = {"ours": "ours (kb.services.search)", "bm25s": "bm25s (Lucene BM25)",
                 "fts5": "SQLite FTS5 bm25()", "whoosh-or": "bare Whoosh, OrGroup",
                 "whoosh-and": "bare Whoosh, AndGroup"}
METRICS = ("nDCG@10", "MAP@100", "Recall@100")

# The --tune grid (TITLE_BOOST is baked into the index: each of its values is a rebuild).
GRID = {"TITLE_BOOST": (0.0, 0.5, 1.0, 1.5, 2.0),
        "BM25_B": (0.6, 0.7, 0.75, 0.8, 0.85, 0.9),
        "BM25_K1": (1.2, 1.5, 1.8, 2.1, 2.4, 2.8, 3.2)}

_WORD = re.compile(r"[^\W_]+(?:[-./&][^\W_]+)*")


# --- Collections ---------------------------------------------------------------------------------

@dataclass
class Document:
    title: str
    abstract: str

    @property
    def text(self) -> str:
        return f"{self.title}\n{self.abstract}"


@dataclass
class Collection:
    name: str
    documents: dict[str, Document]          # collection doc id -> text
    queries: dict[str, str]                 # query id -> text, judged queries only
    judgments: dict[str, dict[str, int]]    # query id -> {doc id: gain > 0}


def read_records(path: Path, fields: tuple[str, ...]) -> Iterator[tuple[str, dict[str, str]]]:
    """(id, {marker: text}) for each `.I` record of a SMART-format file; the text of a marker
    runs to the next marker line, a repeated marker adds to it, markers not in `fields` (such as
    .A, .B, .X) are dropped."""
    record_id, fields_text, current = None, {}, None
    for line in path.read_text(encoding="ascii").splitlines():
        marker = line.rstrip()
        if marker.startswith(".I "):
            if record_id is not None:
                yield record_id, fields_text
            record_id, fields_text, current = marker[3:].strip(), {}, None
        elif re.fullmatch(r"\.[A-Z]", marker):
            current = marker[1] if marker[1] in fields else None
            if current is not None:
                fields_text.setdefault(current, "")
        elif current is not None:
            fields_text[current] += line + "\n"
    if record_id is not None:
        yield record_id, fields_text


def _clean(text: str) -> str:
    return " ".join(text.split())


def _documents(path: Path) -> dict[str, Document]:
    return {str(int(doc_id)): Document(_clean(f.get("T", "")), _clean(f.get("W", "")))
            for doc_id, f in read_records(path, ("T", "W"))}


def load_cranfield(folder: Path) -> Collection:
    """Cranfield 1400: the qrels number queries by their position in cran.qry, not by .I."""
    queries = {str(position): _clean(f.get("W", "")) for position, (_id, f)
               in enumerate(read_records(folder / "cran.qry", ("W",)), start=1)}
    judgments: dict[str, dict[str, int]] = {}
    for line in (folder / "cranqrel").read_text(encoding="ascii").splitlines():
        if line.strip():
            query, doc, code = line.split()
            if int(code) in (1, 2, 3, 4):  # -1: ignored
                judgments.setdefault(query, {})[str(int(doc))] = 5 - int(code)
    return Collection("cranfield", _documents(folder / "cran.all.1400"),
                      {q: t for q, t in queries.items() if q in judgments}, judgments)


def load_cisi(folder: Path) -> Collection:
    """CISI: binary judgments; a query is its title (when it has one) and its text."""
    queries = {str(int(qid)): _clean(f.get("T", "") + " " + f.get("W", ""))
               for qid, f in read_records(folder / "CISI.QRY", ("T", "W"))}
    judgments: dict[str, dict[str, int]] = {}
    for line in (folder / "CISI.REL").read_text(encoding="ascii").splitlines():
        if line.strip():
            query, doc = line.split()[:2]
            judgments.setdefault(str(int(query)), {})[str(int(doc))] = 1
    return Collection("cisi", _documents(folder / "CISI.ALL"),
                      {q: t for q, t in queries.items() if q in judgments}, judgments)


LOADERS = {"cranfield": ("ir-cranfield", load_cranfield), "cisi": ("ir-cisi", load_cisi)}


# --- Queries -------------------------------------------------------------------------------------

def plain_query(text: str) -> tuple[list[str], bool]:
    """The query's plain words; and whether it has more distinct words than our search
    looks for at once (it then keeps the most informative ones)."""
    words = _WORD.findall(text.lower())
    return words, len(set(words)) > MAX_WORDS


# --- Metrics -------------------------------------------------------------------------------------

def query_scores(ranking: list[str], gains: dict[str, int]) -> dict[str, float]:
    """nDCG@10, AP@100 and recall@100 of one ranking (duplicates are not expected)."""
    dcg = sum(gains.get(doc, 0) / math.log2(rank + 1)
              for rank, doc in enumerate(ranking[:NDCG_DEPTH], start=1))
    ideal = sum(gain / math.log2(rank + 1) for rank, gain
                in enumerate(sorted(gains.values(), reverse=True)[:NDCG_DEPTH], start=1))
    found, precision_sum = 0, 0.0
    for rank, doc in enumerate(ranking[:DEPTH], start=1):
        if doc in gains:
            found += 1
            precision_sum += found / rank
    return {"nDCG@10": dcg / ideal, "MAP@100": precision_sum / len(gains),
            "Recall@100": found / len(gains)}


def evaluate(rankings: dict[str, list[str]], collection: Collection) -> dict[str, float]:
    """Each metric's mean over the collection's judged queries."""
    per_query = [query_scores(rankings.get(qid, []), collection.judgments[qid])
                 for qid in collection.queries]
    return {metric: statistics.fmean(s[metric] for s in per_query) for metric in METRICS}


# --- The other systems ---------------------------------------------------------------------------

Rankings = dict[str, list[str]]


def run_bm25s(collection: Collection, queries: dict[str, list[str]]) -> Rankings:
    """bm25s with its defaults (method "lucene"), English stop words, Snowball stemmer; a
    query's tokens unknown to the corpus are dropped (bm25s cannot look them up)."""
    ids = list(collection.documents)
    stemmer = Stemmer.Stemmer("english")
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize([d.text for d in collection.documents.values()],
                                   stopwords="en", stemmer=stemmer, show_progress=False),
                    show_progress=False)
    known = set(retriever.vocab_dict)
    out = {}
    for qid, words in queries.items():
        tokens = [t for t in bm25s.tokenize(" ".join(words), stopwords="en", stemmer=stemmer,
                                            return_ids=False, show_progress=False)[0]
                  if t in known]
        if not tokens:
            out[qid] = []
            continue
        docs, scores = retriever.retrieve([tokens], k=min(DEPTH, len(ids)), show_progress=False)
        out[qid] = [ids[i] for i, score in zip(docs[0], scores[0]) if score > 0]
    return out


def run_fts5(collection: Collection, queries: dict[str, list[str]]) -> Rankings:
    """SQLite FTS5 in memory, bm25() with equal column weights; each word quoted (a quoted
    "boundary-layer" is FTS5's phrase of its tokens), the words joined by OR."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE docs USING fts5(title, body, "
               "tokenize='porter unicode61')")
    db.executemany("INSERT INTO docs(rowid, title, body) VALUES (?, ?, ?)",
                   [(int(i), d.title, d.abstract) for i, d in collection.documents.items()])
    out = {}
    for qid, words in queries.items():
        match = " OR ".join('"' + w.replace('"', '""') + '"' for w in words)
        rows = db.execute("SELECT rowid FROM docs WHERE docs MATCH ? ORDER BY bm25(docs) "
                          "LIMIT ?", (match, DEPTH)) if match else []
        out[qid] = [str(rowid) for (rowid,) in rows]
    db.close()
    return out


def run_whoosh(collection: Collection, queries: dict[str, list[str]], group) -> Rankings:
    """Whoosh as it comes: default analyzer and BM25F, the parser's `group` between words."""
    ix = RamStorage().create_index(Schema(id=ID(stored=True), title=TEXT, body=TEXT))
    with ix.writer() as writer:
        for doc_id, document in collection.documents.items():
            writer.add_document(id=doc_id, title=document.title, body=document.abstract)
    parser = qparser.MultifieldParser(["title", "body"], ix.schema, group=group)
    with ix.searcher() as searcher:
        return {qid: [hit["id"] for hit in searcher.search(parser.parse(" ".join(words)),
                                                           limit=DEPTH)]
                for qid, words in queries.items()}


# --- Ours ----------------------------------------------------------------------------------------

@contextmanager
def our_instance(collection: Collection) -> Iterator[dict[int, str]]:
    """A temporary instance holding the collection, imported as text files with `kb import
    --publish` and indexed; yields resource id -> collection doc id (the app context stays on
    inside the block)."""
    from flask import current_app
    from sqlalchemy import select

    from kb.cli import import_command
    from kb.extensions import db
    from kb.models import ResourceFile

    with temporary_instance(prefix=f"kb-relevance-{collection.name}-") as app, \
            tempfile.TemporaryDirectory(prefix=f"kb-relevance-{collection.name}-files-") as tmp:
        editor = create_editor()
        folder = Path(tmp)
        copies: dict[str, int] = {}
        for doc_id, document in collection.documents.items():
            text = document.text.strip() or UNTITLED
            # Documents with the same text (Cranfield 471 and 995, CISI 234 and 1440, 1084 and
            # 1447) would be refused as copies: trailing newlines, which extraction drops,
            # make their bytes differ.
            copies[text] = copies.get(text, -1) + 1
            (folder / f"{doc_id}.txt").write_text(text + "\n" * (1 + copies[text]),
                                                  encoding="utf-8")
        outcome = app.test_cli_runner().invoke(import_command, [
            str(folder), "--publish", "--as", editor.email, "--kind", "reform_document",
            "--objective", "1"])
        if outcome.exit_code != 0 or f"Imported: {len(collection.documents)}" not in \
                outcome.output:
            raise RuntimeError(f"kb import failed:\n{outcome.output}") from outcome.exception
        assert current_app  # the import ran in this application
        yield {resource_id: name.rsplit(".", 1)[0] for resource_id, name in db.session.execute(
            select(ResourceFile.resource_id, ResourceFile.original_name))}


def run_ours(queries: dict[str, list[str]], doc_of: dict[int, str]) -> tuple[Rankings, int]:
    """Our ranking as the search service returns it to an anonymous reader; and how many
    queries were answered (a refused query counts as an empty ranking)."""
    out, answered = {}, 0
    for qid, words in queries.items():
        try:
            page = search_service.run(None, search_service.SearchParams(q=" ".join(words),
                                                                        per_page=DEPTH))
        except ValidationError:
            out[qid] = []
            continue
        answered += 1
        out[qid] = [doc_of[item.resource.id] for item in page.items]
    return out, answered


# --- Tuning --------------------------------------------------------------------------------------

@contextmanager
def module_values(**values) -> Iterator[None]:
    """Set TITLE_BOOST, BM25_B and BM25_K1 in the search modules for the block."""
    modules = {"TITLE_BOOST": kb_schema, "BM25_B": kb_searcher, "BM25_K1": kb_searcher}
    before = {name: getattr(modules[name], name) for name in values}
    for name, value in values.items():
        setattr(modules[name], name, value)
    try:
        yield
    finally:
        for name, value in before.items():
            setattr(modules[name], name, value)


def parse_all(queries: dict[str, list[str]]) -> dict[str, kb_search.ParsedQuery]:
    """The queries parsed as the service parses them (with the instance's glossary)."""
    glossary = search_service.glossary_groups()
    frequencies = kb_search.frequencies(search_service._index_path())
    return {qid: kb_search.parse(" ".join(words), glossary, frequencies)
            for qid, words in queries.items()}


def service_rankings(parsed: dict[str, kb_search.ParsedQuery], doc_of: dict[int, str]
                     ) -> Rankings:
    """Our rankings as kb.services.search.run makes them: kb.search.search for an anonymous
    reader, and any of the words when a short query has nothing with all of them."""
    index_path = search_service._index_path()
    out = {}
    for qid, query in parsed.items():
        options = dict(per_page=DEPTH, with_facets=False, with_highlights=False)
        outcome = kb_search.search(index_path, query, kb_search.Reader(), kb_search.Filters(),
                                   **options)
        if outcome.total == 0 and query.match_all and len(query.clauses) > 1:
            outcome = kb_search.search(index_path, query.with_any_words(), kb_search.Reader(),
                                       kb_search.Filters(), **options)
        out[qid] = [doc_of[rid] for rid, _score in outcome.hits]
    return out


def tune_collection(collection: Collection, queries: dict[str, list[str]],
                    points: list[tuple[float, float, float]]) -> dict[tuple, dict[str, float]]:
    """Our scores on one collection at each (TITLE_BOOST, BM25_B, BM25_K1) point, keyed by
    the point, through kb.search.search as the service calls it."""
    out = {}
    with our_instance(collection) as doc_of:
        parsed = parse_all(queries)
        for boost, group in itertools.groupby(sorted(points), key=lambda p: p[0]):
            with module_values(TITLE_BOOST=boost):
                indexing.reindex()
            for point in group:
                with module_values(BM25_B=point[1], BM25_K1=point[2]):
                    out[point] = evaluate(service_rankings(parsed, doc_of), collection)
            print(f"  {collection.name}: TITLE_BOOST={boost} done", file=sys.stderr, flush=True)
    return out


def tune(collections: list[Collection], queries: dict[str, dict[str, list[str]]]
         ) -> list[dict]:
    """Grid rows, best mean first: nDCG@10 and MAP@100 per collection and their mean. The
    collections are tuned in parallel."""
    current = (kb_schema.TITLE_BOOST, kb_searcher.BM25_B, kb_searcher.BM25_K1)
    points = sorted(set(itertools.product(*GRID.values())) | {current})
    with ProcessPoolExecutor(max_workers=len(collections)) as pool:
        results = dict(zip((c.name for c in collections), pool.map(
            tune_collection, collections, [queries[c.name] for c in collections],
            itertools.repeat(points))))

    def row(key: tuple, labels: dict) -> dict:
        out = dict(labels)
        for name, scores in results.items():
            for metric in METRICS[:2]:
                out[f"{name} {metric}"] = scores[key][metric]
        out["mean"] = statistics.fmean(v for k, v in out.items() if "@" in k)
        return out

    return sorted((row(p, dict(zip(GRID, p))) for p in points), key=lambda r: -r["mean"])


# --- Levers --------------------------------------------------------------------------------------

# name -> (object holding the setting, attribute, the two values, whether the index must be
# rebuilt after switching it).
LEVERS = {
    "idf": (kb_searcher, "IDF", ("whoosh", "lucene"), False),
    "title and body as one BM25F term": (kb_searcher, "COMBINED_FIELDS", (False, True), False),
    "hyphenated words as words": (kb_query, "HYPHENATED_AS_WORDS", (False, True), False),
    "-ise of the root kept (precise)": (kb_analysis.BritishSpellingFilter, "KEEP_ROOT_ISE",
                                        (False, True), True),
    "distinct words of a long query": (kb_query, "MAX_CLAUSES", (64, 256), False),
    "all of the words up to": (kb_query, "ALL_WORDS_UP_TO", (3, 4), False),
}


def lever_collection(collection: Collection, queries: dict[str, list[str]]) -> dict:
    """nDCG@10 and MAP@100 at the current settings ("current") and with each lever switched."""
    out = {}
    with our_instance(collection) as doc_of:
        out["current"] = evaluate(run_ours(queries, doc_of)[0], collection)
        for name, (holder, attribute, values, reindex) in LEVERS.items():
            before = getattr(holder, attribute)
            setattr(holder, attribute, values[1] if before == values[0] else values[0])
            try:
                if reindex:
                    indexing.reindex()
                out[name] = evaluate(run_ours(queries, doc_of)[0], collection)
                out[name]["setting"] = repr(getattr(holder, attribute))
            finally:
                setattr(holder, attribute, before)
                if reindex:
                    indexing.reindex()
            print(f"  {collection.name}: {name} done", file=sys.stderr, flush=True)
    return out


def levers(collections: list[Collection], queries: dict[str, dict[str, list[str]]]) -> dict:
    with ProcessPoolExecutor(max_workers=len(collections)) as pool:
        return dict(zip((c.name for c in collections), pool.map(
            lever_collection, collections, [queries[c.name] for c in collections])))


def print_levers(results: dict) -> None:
    names = list(results)
    print("\nLevers, each switched alone from the current settings (nDCG@10 / MAP@100; "
          "change against current):")
    print(f"  {'lever':<34}{'switched to':<14}" + "".join(f"{n:>30}" for n in names)
          + "  helps on all")
    for lever in ["current", *LEVERS]:
        cells, helps = [], True
        for name in names:
            scores, base = results[name][lever], results[name]["current"]
            delta = scores["nDCG@10"] - base["nDCG@10"]
            helps = helps and delta > 0
            cells.append(f"{scores['nDCG@10']:.4f} / {scores['MAP@100']:.4f} ({delta:+.4f})")
        setting = results[names[0]][lever].get("setting", "")
        print(f"  {lever:<34}{setting:<14}" + "".join(f"{c:>30}" for c in cells)
              + ("" if lever == "current" else f"  {'yes' if helps else 'no'}"))


# --- Report --------------------------------------------------------------------------------------

def print_table(result: dict) -> None:
    for name, part in result["collections"].items():
        print(f"\n{name}: {part['documents']} documents, {part['queries']} queries, "
              f"{part['answered']} answered by ours ({part['long_queries']} with more than "
              f"{MAX_WORDS} distinct words: searched for by their most informative ones)")
        print(f"  {'system':<28}" + "".join(f"{m:>12}" for m in METRICS) + f"{'seconds':>10}")
        for system, scores in part["systems"].items():
            print(f"  {SYSTEM_LABELS[system]:<28}"
                  + "".join(f"{scores[m]:>12.4f}" for m in METRICS)
                  + f"{scores['seconds']:>10.1f}")


def print_tuning(grid: list[dict], top: int = 20) -> None:
    """The best `top` grid points and the current constants' row."""
    current = (kb_schema.TITLE_BOOST, kb_searcher.BM25_B, kb_searcher.BM25_K1)
    columns = [k for k in grid[0] if k not in GRID]
    print("\nGrid (through kb.search.search):")
    print("".join(f"{k:>12}" for k in GRID) + "".join(f"{k:>20}" for k in columns))
    for position, row in enumerate(grid):
        is_current = tuple(row[k] for k in GRID) == current
        if position < top or is_current:
            print("".join(f"{row[k]:>12}" for k in GRID)
                  + "".join(f"{row[k]:>20.4f}" for k in columns)
                  + ("   <- current constants" if is_current else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--collections", default="cranfield,cisi",
                        help="comma-separated: cranfield, cisi")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--tune", action="store_true",
                        help="grid over our ranking constants instead of the comparison")
    parser.add_argument("--levers", action="store_true",
                        help="switch each of our ranking levers alone instead of the comparison")
    args = parser.parse_args()
    names = [n.strip() for n in args.collections.split(",") if n.strip()]
    unknown = set(names) - set(LOADERS)
    if unknown:
        parser.error(f"unknown collections: {', '.join(sorted(unknown))}")

    started = time.perf_counter()
    data = shared_data()
    collections = [LOADERS[n][1](data / LOADERS[n][0]) for n in names]
    queries, truncated = {}, {}
    for collection in collections:
        cut = {qid: plain_query(text) for qid, text in collection.queries.items()}
        queries[collection.name] = {qid: words for qid, (words, _) in cut.items()}
        truncated[collection.name] = sum(was_cut for _, was_cut in cut.values())

    if args.levers:
        results = levers(collections, queries)
        print_levers(results)
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
        print(f"\nTotal time: {time.perf_counter() - started:.0f} s")
        return
    if args.tune:
        grid = tune(collections, queries)
        print_tuning(grid)
        if args.json:
            args.json.write_text(json.dumps({"grid": grid}, indent=2))
        print(f"\nTotal time: {time.perf_counter() - started:.0f} s")
        return

    result = {"constants": {"TITLE_BOOST": kb_schema.TITLE_BOOST,
                            "KHMER_NGRAM_BOOST": kb_schema.KHMER_NGRAM_BOOST,
                            "BM25_B": kb_searcher.BM25_B, "BM25_K1": kb_searcher.BM25_K1,
                            "ALL_WORDS_UP_TO": kb_query.ALL_WORDS_UP_TO},
              "collections": {}}
    for collection in collections:
        qs = queries[collection.name]
        others = {"bm25s": lambda: run_bm25s(collection, qs),
                  "fts5": lambda: run_fts5(collection, qs),
                  "whoosh-or": lambda: run_whoosh(collection, qs, qparser.OrGroup),
                  "whoosh-and": lambda: run_whoosh(collection, qs, qparser.AndGroup)}
        systems = {}
        clock = time.perf_counter()
        with our_instance(collection) as doc_of:
            rankings, answered = run_ours(qs, doc_of)
            systems["ours"] = evaluate(rankings, collection)
        systems["ours"]["seconds"] = time.perf_counter() - clock
        for system, run in others.items():
            clock = time.perf_counter()
            systems[system] = evaluate(run(), collection)
            systems[system]["seconds"] = time.perf_counter() - clock
        result["collections"][collection.name] = {
            "documents": len(collection.documents), "queries": len(qs),
            "long_queries": truncated[collection.name], "answered": answered,
            "systems": systems}
    result["seconds"] = time.perf_counter() - started
    print_table(result)
    print(f"\nTotal time: {result['seconds']:.0f} s (index building included; "
          f"Python {sys.version.split()[0]})")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

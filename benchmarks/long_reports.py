"""Long reports: importing and searching a collection of ~40 KB text reports, against bare
Whoosh and SQLite FTS5 on the same texts, in the same run.

Documents. Reports are built from the 5,183 SciFact abstracts (shared data folder, scifact-csv;
override with KB_SHARED_DATA): the abstracts in a seeded shuffled order, reused in turn, each
report taking abstracts until it holds --report-kb kilobytes (default 40). A report is a UTF-8
.txt file: its title on the first line ("Report 17: " and its first abstract's title), a blank
line, then one section per abstract (the abstract's title as a heading line, then its text). The
default 285 reports hold about 11.6 MB, like the collection measured in issue #12.

Import. `kb import FOLDER --publish` (the real command, in its own process) into a new instance
(`kb init`, an admin made with `kb users create`), timed end to end with indexing, its CPU time
taken from the children's rusage. Beside it, a bare Whoosh writer reads the same files and
indexes them into Schema(id, title, body) with StemmingAnalyzer, title and body stored (for its
highlights), one writer, one commit: documents/s and our ratio to it.

Queries. A seeded sample of SciFact claims (English questions of about 12 words) and ten one-
and two-word queries, after warm-up claims, one at a time; each engine answers each query in
turn, so that a change in the machine's load touches them alike:

  ours   GET /api/v1/search?q=...&per_page=20 on the real server (`kb run`, Waitress, its own
         process), anonymous: total, facets, 20 results with snippets
  whoosh bare Whoosh in this process on its own index: QueryParser over title and body
         (MultifieldParser) with OrGroup, BM25F defaults, the top 20, each hit's
         `highlights("body")` (Whoosh re-reads the stored text), and the total (len(results))
  fts5   SQLite FTS5 in a database file, tokenizer "porter unicode61": the words quoted and
         joined by OR, the top 20 by bm25() with snippet(), and the total (count(*))

The server's CPU time per query (from /proc) and its peak memory (VmHWM) are reported too, with
the load average of the machine at the start and the end of the run.

Targets (issue #12): our p95 at most 1.2x bare Whoosh's p95, our p50 at or below bare Whoosh's;
`kb import` at least half as fast as the bare writer.

Run: .venv/bin/python benchmarks/long_reports.py [--quick] [--reports 285] [--report-kb 40]
     [--queries 200] [--json out.json] [--profile DIR]
--quick: 60 claims and 10 warm-up queries (a few minutes). --profile also runs the queries
through the application in this process under cProfile (DIR/long-reports.prof and .txt).
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import re
import resource
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from benchmarks._speed_support import (SEED, VENV_BIN, Client, load_abstracts,  # noqa: E402
                                       load_claims, running_server, summary,
                                       temporary_instance)

ADMIN, PASSWORD = "reports-admin@example.org", "long reports benchmark password"
SHORT_QUERIES = ["cancer", "insulin", "mortality", "macrophages", "vaccination",
                 "breast cancer", "stem cells", "blood pressure", "gene expression",
                 "immune response"]
PER_PAGE = 20
P95_TARGET, IMPORT_TARGET = 1.2, 0.5
_WORD = re.compile(r"[^\W_]+")


# --- The reports -------------------------------------------------------------------------------

def build_reports(count: int, report_kb: int) -> list[tuple[str, str]]:
    """(title, text) of each report; the text starts with the title line."""
    abstracts = load_abstracts()
    order = list(range(len(abstracts)))
    random.Random(SEED).shuffle(order)
    reports, position = [], 0
    for number in range(1, count + 1):
        first = abstracts[order[position % len(order)]]
        title = f"Report {number}: {first.title}"
        parts, size = [title, ""], len(title)
        while size < report_kb * 1000:
            abstract = abstracts[order[position % len(order)]]
            position += 1
            parts += [abstract.title, abstract.text, ""]
            size += len(abstract.title) + len(abstract.text) + 3
        reports.append((title, "\n".join(parts)))
    return reports


def write_reports(folder: Path, reports: list[tuple[str, str]]) -> list[Path]:
    folder.mkdir(parents=True)
    paths = []
    for number, (_title, text) in enumerate(reports, 1):
        path = folder / f"report-{number:04d}.txt"
        path.write_text(text + "\n", encoding="utf-8")
        paths.append(path)
    return paths


# --- Import: ours and a bare writer --------------------------------------------------------------

def kb(instance: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([str(VENV_BIN / "kb"), *args], input=stdin, capture_output=True,
                          text=True, env={**os.environ, "KB_INSTANCE_PATH": str(instance)})
    if done.returncode:
        raise RuntimeError(f"kb {' '.join(args)} failed: {done.stdout[-1000:]}"
                           f"{done.stderr[-2000:]}")
    return done


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def import_ours(instance: Path, folder: Path, expected: int) -> dict:
    kb(instance, "users", "create", ADMIN, "--name", "Admin", "--role", "admin",
       "--password-stdin", stdin=PASSWORD + "\n")
    cpu_before, started = children_cpu(), time.perf_counter()
    done = kb(instance, "import", str(folder), "--publish")
    seconds, cpu = time.perf_counter() - started, children_cpu() - cpu_before
    if f"Imported: {expected}" not in done.stdout:
        raise RuntimeError(f"kb import did not import {expected} reports:\n{done.stdout}")
    return {"documents": expected, "seconds": seconds, "cpu_seconds": cpu,
            "docs_per_s": expected / seconds}


def bare_whoosh_schema():
    from whoosh.analysis import StemmingAnalyzer
    from whoosh.fields import ID, TEXT, Schema

    return Schema(id=ID(stored=True), title=TEXT(analyzer=StemmingAnalyzer(), stored=True),
                  body=TEXT(analyzer=StemmingAnalyzer(), stored=True))


def import_bare(paths: list[Path], folder: Path) -> dict:
    """A bare Whoosh writer reading the same files: documents/s (wall-clock and CPU)."""
    from whoosh import index as whoosh_index

    folder.mkdir(parents=True)
    ix = whoosh_index.create_in(str(folder), bare_whoosh_schema())
    cpu_before, started = time.process_time(), time.perf_counter()
    writer = ix.writer(limitmb=256)
    for number, path in enumerate(paths, 1):
        text = path.read_text(encoding="utf-8")
        writer.add_document(id=str(number), title=text.split("\n", 1)[0], body=text)
    writer.commit()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_before
    ix.close()
    return {"documents": len(paths), "seconds": seconds, "cpu_seconds": cpu,
            "docs_per_s": len(paths) / seconds}


def build_fts5(paths: list[Path], database: Path) -> sqlite3.Connection:
    db = sqlite3.connect(str(database), check_same_thread=False)
    db.execute("CREATE VIRTUAL TABLE docs USING fts5(title, body, tokenize='porter unicode61')")
    for number, path in enumerate(paths, 1):
        text = path.read_text(encoding="utf-8")
        db.execute("INSERT INTO docs(rowid, title, body) VALUES (?, ?, ?)",
                   (number, text.split("\n", 1)[0], text))
    db.commit()
    return db


# --- Engines ---------------------------------------------------------------------------------------

class BareWhoosh:
    """Whoosh as it comes, with its own highlights: what a developer would write first."""

    def __init__(self, folder: Path):
        from whoosh import index as whoosh_index
        from whoosh import qparser

        self.ix = whoosh_index.open_dir(str(folder))
        self.parser = qparser.MultifieldParser(["title", "body"], self.ix.schema,
                                               group=qparser.OrGroup)

    def search(self, q: str) -> int:
        from whoosh import query as wq

        with self.ix.searcher() as searcher:
            parsed = self.parser.parse(q) if q.strip() else wq.Every()
            results = searcher.search(parsed, limit=PER_PAGE)
            for hit in results:
                hit["id"]
                hit.highlights("body")
            return len(results)

    def close(self) -> None:
        self.ix.close()


class Fts5:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def search(self, q: str) -> int:
        words = _WORD.findall(q)
        if not words:
            return self.db.execute("SELECT count(*) FROM docs").fetchone()[0]
        match = " OR ".join('"' + w.replace('"', '""') + '"' for w in words)
        rows = self.db.execute(
            "SELECT rowid, snippet(docs, 1, '<mark>', '</mark>', '…', 32) FROM docs "
            "WHERE docs MATCH ? ORDER BY bm25(docs) LIMIT ?", (match, PER_PAGE)).fetchall()
        total = self.db.execute("SELECT count(*) FROM docs WHERE docs MATCH ?",
                                (match,)).fetchone()[0]
        if total and not rows:
            raise RuntimeError(f"FTS5: no rows for {q!r}")
        return total


def api_path(q: str) -> str:
    return "/api/v1/search?" + urlencode({"q": q, "per_page": PER_PAGE})


def measure(queries: list[str], engines: dict, cpu: dict) -> dict:
    """Each engine answers each query in turn: latency summary, CPU ms per query, mean total."""
    wall = {name: [] for name in engines}
    cpu_used = {name: 0.0 for name in engines}
    totals = {name: 0 for name in engines}
    for q in queries:
        for name, run in engines.items():
            cpu_before, started = cpu[name](), time.perf_counter()
            totals[name] += run(q)
            wall[name].append(time.perf_counter() - started)
            cpu_used[name] += cpu[name]() - cpu_before
    return {name: {**summary(wall[name]), "cpu_ms": cpu_used[name] / len(queries) * 1000,
                   "mean_total": totals[name] / len(queries)} for name in engines}


def profile_in_process(instance: Path, queries: list[str], out_dir: Path) -> None:
    from kb import create_app

    out_dir.mkdir(parents=True, exist_ok=True)
    app = create_app(instance_path=str(instance))
    with app.app_context():
        client = app.test_client()
        client.get(api_path(queries[0]))
        profiler = cProfile.Profile()
        profiler.enable()
        for q in queries:
            client.get(api_path(q))
        profiler.disable()
    profiler.dump_stats(str(out_dir / "long-reports.prof"))
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text).strip_dirs()
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(25)
    (out_dir / "long-reports.txt").write_text(text.getvalue())


# --- Run and report ------------------------------------------------------------------------------

def run(args) -> dict:
    reports = build_reports(args.reports, args.report_kb)
    claims = load_claims()
    picked = random.Random(SEED).sample(range(len(claims)), args.queries + args.warm_up)
    warm_up = [claims[i] for i in picked[:args.warm_up]]
    queries = [claims[i] for i in sorted(picked[args.warm_up:])] + SHORT_QUERIES
    result: dict = {"reports": len(reports),
                    "megabytes": sum(len(t.encode()) for _t, t in reports) / 1e6,
                    "claims": args.queries, "short_queries": len(SHORT_QUERIES)}
    # The reports and the peers' indexes sit beside the instance: `kb import` never enters it.
    with temporary_instance() as instance, tempfile.TemporaryDirectory(
            prefix="kb-long-reports-") as work_folder:
        work = Path(work_folder)
        paths = write_reports(work / "reports", reports)
        result["import_ours"] = import_ours(instance, work / "reports", len(paths))
        result["import_bare"] = import_bare(paths, work / "bare-index")
        result["import_ratio"] = (result["import_ours"]["docs_per_s"]
                                  / result["import_bare"]["docs_per_s"])
        fts5 = Fts5(build_fts5(paths, work / "fts5.sqlite"))
        bare = BareWhoosh(work / "bare-index")
        try:
            with running_server(instance) as server:
                client = Client(server.port)
                try:
                    def ours(q: str) -> int:
                        page = client.search(api_path(q))
                        if page["total"] and not page["results"]:
                            raise RuntimeError(f"no results on the page for {q!r}")
                        return page["total"]

                    engines = {"ours": ours, "whoosh": bare.search, "fts5": fts5.search}
                    cpu = {"ours": server.cpu_seconds, "whoosh": time.process_time,
                           "fts5": time.process_time}
                    measure(warm_up, engines, cpu)
                    result.update(measure(queries, engines, cpu))
                finally:
                    client.close()
                result["server_memory_kb"] = server.memory_kb()
        finally:
            bare.close()
            fts5.db.close()
        if args.profile:
            profile_in_process(instance, queries, args.profile)
    for peer in ("whoosh", "fts5"):
        for cut in ("p50", "p95"):
            result[f"{cut}_ratio_{peer}"] = (result["ours"][f"{cut}_ms"]
                                             / result[peer][f"{cut}_ms"])
    return result


def report(result: dict, seconds: float, load: tuple) -> str:
    memory = result["server_memory_kb"]
    lines = [f"Long reports: {result['reports']} reports, {result['megabytes']:.1f} MB; "
             f"{result['claims']} claims and {result['short_queries']} short queries. Run time "
             f"{seconds / 60:.1f} min; load average (1/5/15 min) "
             + " at start, ".join("/".join(f"{x:.1f}" for x in avg) for avg in load) + " at end",
             "", f"{'Import':<44}{'docs':>8}{'seconds':>10}{'docs/s':>10}{'CPU s':>10}"]
    for key, label in (("import_ours", "ours: kb import --publish (with indexing)"),
                       ("import_bare", "bare Whoosh writer, same files")):
        r = result[key]
        lines.append(f"  {label:<42}{r['documents']:>8}{r['seconds']:>10.1f}"
                     f"{r['docs_per_s']:>10.1f}{r['cpu_seconds']:>10.1f}")
    verdict = "meets" if result["import_ratio"] >= IMPORT_TARGET else "misses"
    lines += [f"  ours / bare: {result['import_ratio']:.2f} ({verdict} the {IMPORT_TARGET} "
              "target)", "",
              f"{'Queries, one at a time, taking turns':<44}{'p50 ms':>9}{'p95 ms':>9}"
              f"{'max ms':>9}{'CPU ms':>9}{'matches':>9}"]
    for key, label in (("ours", "ours: GET /api/v1/search (HTTP)"),
                       ("whoosh", "bare Whoosh with highlights"),
                       ("fts5", "SQLite FTS5 with snippet()")):
        s = result[key]
        lines.append(f"  {label:<42}{s['p50_ms']:>9.1f}{s['p95_ms']:>9.1f}{s['max_ms']:>9.1f}"
                     f"{s['cpu_ms']:>9.1f}{s['mean_total']:>9.0f}")
    verdict = ("meets" if result["p95_ratio_whoosh"] <= P95_TARGET
               and result["p50_ratio_whoosh"] <= 1.0 else "misses")
    lines += [f"  ours / bare Whoosh: p50 {result['p50_ratio_whoosh']:.2f}x, p95 "
              f"{result['p95_ratio_whoosh']:.2f}x ({verdict} the targets p50 <= 1x, p95 <= "
              f"{P95_TARGET}x); ours / FTS5: p50 {result['p50_ratio_fts5']:.2f}x, p95 "
              f"{result['p95_ratio_fts5']:.2f}x",
              f"  server memory: peak (VmHWM) {memory['VmHWM'] / 1024:,.0f} MiB; resident "
              f"{memory['VmRSS'] / 1024:,.0f} MiB (heap {memory['RssAnon'] / 1024:,.0f} MiB, "
              f"mapped files {memory['RssFile'] / 1024:,.0f} MiB)"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="60 claims, 10 warm-up queries")
    parser.add_argument("--reports", type=int, default=285)
    parser.add_argument("--report-kb", type=int, default=40)
    parser.add_argument("--queries", type=int, default=None, help="claims to run [200]")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--profile", type=Path, metavar="DIR")
    args = parser.parse_args(argv)
    args.queries = args.queries or (60 if args.quick else 200)
    args.warm_up = 10 if args.quick else 20
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    started, load_before = time.perf_counter(), os.getloadavg()
    result = run(args)
    seconds, load = time.perf_counter() - started, (load_before, os.getloadavg())
    print(report(result, seconds, load))
    if args.json:
        args.json.write_text(json.dumps({**result, "run_seconds": seconds,
                                         "load_average": load}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Search speed benchmark: indexing rate, query latency and server memory at 10k and 50k documents.

Documents. The 5,183 SciFact abstracts (shared data folder, scifact-csv; override the folder with
KB_SHARED_DATA) are reused deterministically: document i has the title and abstract (as its
summary) of abstract i % 5,183, the title followed by " (copy k)" for k = i // 5,183 > 0. Its
facets come from a generator seeded with i, so document i is the same at every size: kind
(weighted over the six kinds), one to three objectives, a date in 1995-2024 (later years more
frequent), one to four tags from the 240 commonest title words (Zipf-like), an organisation for
80% and a commune (so district and province) for 50% of documents; language en, public,
published. The first 50 are created through the services (create_resource + publish, inside
indexing.deferred()), and checked to have exactly the rows the bulk path writes; the rest are
bulk inserts of those same rows (resources, languages, objectives, tags, history and audit
events), because the services create about 35 documents/s.

For each size, in a temporary instance made with `kb init` and removed afterwards:

- indexing: `kb.services.indexing.reindex()` (ours) against a bare Whoosh writer indexing the same
  titles and abstracts into Schema(id, title, body) with default analyzers, in docs per second
  and per CPU second (the latter is steadier on a shared machine), and both indexes' sizes;
- queries, one at a time: `GET /api/v1/search?q=...&per_page=20` on the real server (`kb run`,
  Waitress, a separate process; anonymous, so with facets and snippets) against, in this
  process: bare Whoosh on our index folder (field "body", our word semantics, see
  BareSearcher; no highlights: our index keeps no text); bare Whoosh on its own plain index
  (StemmingAnalyzer, body stored) with the same word semantics and each hit's Whoosh
  highlights, the peer of the target; and SQLite FTS5 (bm25() with snippet(), the words
  joined by OR, and the total). The queries: N SciFact claims (a seeded sample), five one-word and five
  two-word queries, and the empty query (browse all, newest first), after 20 warm-up claims;
  then the first 50 of them again, filtered by kind and sorted newest first (ours and bare on
  our index). The engines take turns on each query, so a change in the machine's load touches
  them alike; besides latency, the CPU time of the process doing the search is recorded (the
  server's, from /proc, for ours);
- ours with 4 concurrent clients on the first 40 claims (throughput under load);
- the API floor: an anonymous GET /api/v1/me (401), i.e. HTTP, Flask and the API's hooks;
- the server's peak (VmHWM) and current resident memory after all of it, the latter split into
  heap and mapped files.

Targets (issue #12): our API's p95 at most 1.2 x bare Whoosh's p95 with highlights, p50 at or
below its p50; no query reaching the time limit.

Run: .venv/bin/python benchmarks/search_speed.py [--quick] [--sizes 10000,50000]
     [--queries 200] [--json out.json] [--profile DIR]
--quick: 10,000 documents and 60 claims (under 10 minutes on a quiet machine).
--profile also runs the query set through the application in this process under cProfile and
writes DIR/search-<size>.prof and a text summary beside it.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from benchmarks._speed_support import (SEED, BareSearcher, Client, Filler,  # noqa: E402
                                       Fts5Searcher, build_plain_index, folder_mib, load_abstracts,
                                       load_claims, running_server, summary, tag_pool,
                                       temporary_instance)

SERVICE_DOCS = 50
WARM_UP = 20
FILTERED = 50
CLIENTS = 4
CONCURRENT_QUERIES = 40
FLOOR_REQUESTS = 50
PROFILE_CLAIMS = 40
FILTER_KIND = "best_practice"
TARGET_RATIO = 1.2
QUICK_SIZES, QUICK_QUERIES = "10000", 60
TIME_LIMIT = 5.0  # SEARCH_TIME_LIMIT: a search this long was cut short
SHORT_QUERIES = ["cancer", "insulin", "mortality", "macrophages", "vaccination",
                 "breast cancer", "stem cells", "blood pressure", "gene expression",
                 "immune response"]


class QuerySet:
    """The query texts: warm-up claims, measured claims, short queries and the empty query."""

    def __init__(self, claims: list[str], count: int):
        picked = random.Random(SEED).sample(range(len(claims)), count + WARM_UP)
        self.warm_up = [claims[i] for i in picked[:WARM_UP]]
        self.claims = [claims[i] for i in sorted(picked[WARM_UP:])]
        self.main = self.claims + SHORT_QUERIES + [""]
        self.filtered = self.main[:FILTERED]


def api_path(q: str, **extra) -> str:
    return "/api/v1/search?" + urlencode({"q": q, "per_page": 20, **extra})


@dataclass
class Engine:
    """One way of answering a query."""
    name: str
    run: Callable[[str], int]    # answers one query, returns the number of matches
    cpu: Callable[[], float]     # CPU seconds used so far by the process doing the work


def api_engine(name: str, client: Client, server, **extra) -> Engine:
    def run(q: str) -> int:
        page = client.search(api_path(q, **extra))
        if page["total"] and not page["results"]:
            raise RuntimeError(f"no results on the page for {q!r}")
        return page["total"]
    return Engine(name, run, server.cpu_seconds)


def bare_engine(name: str, bare: BareSearcher, **options) -> Engine:
    return Engine(name, lambda q: bare.search(q, **options), time.process_time)


def interleaved(queries: list[str], engines: list[Engine]) -> dict[str, dict]:
    """Every engine answers each query in turn, so that a change in the machine's load touches
    them alike. Per engine: latency summary, mean CPU ms per query, mean matches."""
    wall = {e.name: [] for e in engines}
    cpu = {e.name: 0.0 for e in engines}
    totals = {e.name: 0 for e in engines}
    for q in queries:
        for engine in engines:
            cpu_before, started = engine.cpu(), time.perf_counter()
            totals[engine.name] += engine.run(q)
            wall[engine.name].append(time.perf_counter() - started)
            cpu[engine.name] += engine.cpu() - cpu_before
    return {e.name: {**summary(wall[e.name]), "cpu_ms": cpu[e.name] / len(queries) * 1000,
                     "mean_total": totals[e.name] / len(queries),
                     "over_time_limit": sum(1 for t in wall[e.name] if t >= TIME_LIMIT)}
            for e in engines}


def concurrent_qps(port: int, queries: list[str], clients: int) -> float:
    """Queries per second with `clients` connections asking at once."""
    pending = list(reversed(queries))
    lock, errors = threading.Lock(), []

    def work():
        client = Client(port)
        try:
            while True:
                with lock:
                    if not pending:
                        return
                    q = pending.pop()
                client.search(api_path(q))
        except Exception as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            client.close()

    threads = [threading.Thread(target=work) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return len(queries) / (time.perf_counter() - started)


def api_floor(client: Client) -> dict:
    """Latency of an anonymous GET /api/v1/me (401): what any API request costs."""
    latencies = []
    for _ in range(FLOOR_REQUESTS):
        started = time.perf_counter()
        status, _body = client.get("/api/v1/me")
        latencies.append(time.perf_counter() - started)
        if status != 401:
            raise RuntimeError(f"GET /api/v1/me: HTTP {status}, expected 401")
    return summary(latencies)


def profile_in_process(app, queries: QuerySet, out_dir: Path, size: int) -> None:
    """The first claims, the short queries and the empty query through the application in this
    process, under cProfile."""
    out_dir.mkdir(parents=True, exist_ok=True)
    client = app.test_client()
    for q in queries.warm_up:
        client.get(api_path(q))
    profiler = cProfile.Profile()
    profiler.enable()
    for q in queries.claims[:PROFILE_CLAIMS] + SHORT_QUERIES + [""]:
        client.get(api_path(q))
    profiler.disable()
    profiler.dump_stats(str(out_dir / f"search-{size}.prof"))
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text).strip_dirs()
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(25)
    (out_dir / f"search-{size}.txt").write_text(text.getvalue())


def run_size(size: int, abstracts, tags, queries: QuerySet, profile_dir: Path | None) -> dict:
    from kb import create_app
    from kb.services import indexing

    result: dict = {"size": size}
    with temporary_instance() as instance:
        app = create_app(instance_path=str(instance))
        with app.app_context():
            filler = Filler(abstracts, tags)
            result["create_services_dps"] = filler.create_with_services(SERVICE_DOCS)
            result["create_bulk_dps"] = filler.bulk_insert(SERVICE_DOCS, size)
            started, cpu_before = time.perf_counter(), time.process_time()
            indexed = indexing.reindex()
            result["index_ours_dps"] = indexed / (time.perf_counter() - started)
            result["index_ours_cpu_dps"] = indexed / (time.process_time() - cpu_before)
            if indexed != size:
                raise RuntimeError(f"reindex indexed {indexed} resources, expected {size}")
            specs = [filler.spec(i) for i in range(size)]
            index_path = Path(app.config["SEARCH_INDEX_PATH"])
        plain_path = instance / "plain-index"
        result["index_bare_dps"], result["index_bare_cpu_dps"] = build_plain_index(
            plain_path, abstracts, specs)
        result["index_mib"] = {"ours": folder_mib(index_path), "bare": folder_mib(plain_path)}
        fts5 = Fts5Searcher(instance / "fts5.sqlite",
                            [(spec.title, abstracts[spec.abstract].text) for spec in specs])

        bare_ours, bare_own = BareSearcher(index_path, "MAIN"), BareSearcher(plain_path)
        try:
            with running_server(instance) as server:
                client = Client(server.port)
                try:
                    main_engines = [api_engine("ours", client, server),
                                    bare_engine("bare_our_index", bare_ours),
                                    bare_engine("bare_highlights", bare_own, highlights=True),
                                    Engine("fts5", fts5.search, time.process_time)]
                    interleaved(queries.warm_up, main_engines)
                    result.update(interleaved(queries.main, main_engines))
                    filtered = interleaved(queries.filtered, [
                        api_engine("ours", client, server, kind=FILTER_KIND, sort="newest"),
                        bare_engine("bare", bare_ours, kind=FILTER_KIND, newest=True)])
                    result["ours_filtered"], result["bare_filtered"] = (filtered["ours"],
                                                                        filtered["bare"])
                    result["api_floor"] = api_floor(client)
                finally:
                    client.close()
                result["ours_concurrent_qps"] = concurrent_qps(
                    server.port, queries.claims[:CONCURRENT_QUERIES], CLIENTS)
                result["server_memory_kb"] = server.memory_kb()
        finally:
            bare_ours.close()
            bare_own.close()
            fts5.close()
        if profile_dir is not None:
            with app.app_context():
                profile_in_process(app, queries, profile_dir, size)
    for key, ours, bare in (("main", "ours", "bare_highlights"),
                            ("our_index", "ours", "bare_our_index"),
                            ("fts5", "ours", "fts5"),
                            ("filtered", "ours_filtered", "bare_filtered")):
        result[f"p50_ratio_{key}"] = result[ours]["p50_ms"] / result[bare]["p50_ms"]
        result[f"p95_ratio_{key}"] = result[ours]["p95_ms"] / result[bare]["p95_ms"]
        result[f"cpu_ratio_{key}"] = result[ours]["cpu_ms"] / result[bare]["cpu_ms"]
    return result


# --- Report ------------------------------------------------------------------------------------

def report(results: list[dict], queries: QuerySet, seconds: float,
           load: tuple[tuple[float, ...], tuple[float, ...]]) -> str:
    sizes = [r["size"] for r in results]
    lines = [f"Search speed: SciFact abstracts reused up to {', '.join(f'{s:,}' for s in sizes)} "
             f"documents. Run time {seconds / 60:.1f} min; load average (1/5/15 min) "
             + " at start, ".join("/".join(f"{x:.1f}" for x in avg) for avg in load) + " at end",
             ""]

    def row(label: str, values: list[str], width: int = 12) -> str:
        return f"{label:<46}" + "".join(f"{v:>{width}}" for v in values)

    lines.append(row("Indexing (docs/s)", [f"{s:,} docs" for s in sizes]))
    for key, label in (("create_services_dps", f"create via services (first {SERVICE_DOCS})"),
                       ("create_bulk_dps", "create via bulk insert (the rest)"),
                       ("index_ours_dps", "ours: indexing.reindex()"),
                       ("index_ours_cpu_dps", "  the same per CPU second"),
                       ("index_bare_dps", "bare Whoosh, plain schema"),
                       ("index_bare_cpu_dps", "  the same per CPU second")):
        lines.append(row("  " + label, [f"{r[key]:,.0f}" for r in results]))
    lines.append(row("  index size, ours / bare (MiB)",
                     [f"{r['index_mib']['ours']:,.0f} / {r['index_mib']['bare']:,.0f}"
                      for r in results]))
    lines.append(row("  bare / ours (per CPU second)",
                     [f"{r['index_bare_dps'] / r['index_ours_dps']:.1f}x "
                      f"({r['index_bare_cpu_dps'] / r['index_ours_cpu_dps']:.1f}x)"
                      for r in results], 14))
    lines += ["", f"Queries, one at a time, engines taking turns: {len(queries.claims)} claims, "
              f"{len(SHORT_QUERIES)} one- and two-word queries and the empty query (after "
              f"{WARM_UP} warm-up claims); filtered: the first {FILTERED} of them. "
              "CPU: mean per query, of the process doing the search (the server for ours)."]
    head = ["p50 ms", "p95 ms", "max ms", "q/s", "CPU ms", "matches"]
    for r in results:
        lines.append(row(f"  {r['size']:,} documents", head, 9))
        for key, label in (("ours", "ours: GET /api/v1/search (HTTP)"),
                           ("bare_our_index", "bare Whoosh on our index"),
                           ("bare_highlights", "bare Whoosh, own index, with highlights"),
                           ("fts5", "SQLite FTS5 with snippet()"),
                           ("ours_filtered", f"ours, kind={FILTER_KIND}, sort=newest"),
                           ("bare_filtered", "bare on our index, same filter and sort"),
                           ("api_floor", "API floor: GET /api/v1/me (401)")):
            s = r[key]
            lines.append(row("    " + label, [
                f"{s['p50_ms']:.1f}", f"{s['p95_ms']:.1f}", f"{s['max_ms']:.1f}",
                f"{s['qps']:.1f}", f"{s['cpu_ms']:.1f}" if "cpu_ms" in s else "-",
                f"{s['mean_total']:,.0f}" if "mean_total" in s else "-"], 9))
        verdict = ("meets" if r["p95_ratio_main"] <= TARGET_RATIO and r["p50_ratio_main"] <= 1
                   else "misses")
        memory = r["server_memory_kb"]
        lines += [f"    ours / bare Whoosh with highlights: p50 {r['p50_ratio_main']:.2f}x, p95 "
                  f"{r['p95_ratio_main']:.2f}x ({verdict} the targets p50 <= 1x, p95 <= "
                  f"{TARGET_RATIO}x), CPU {r['cpu_ratio_main']:.2f}x",
                  f"    ours / bare on our index: p95 {r['p95_ratio_our_index']:.2f}x, CPU "
                  f"{r['cpu_ratio_our_index']:.2f}x; ours / FTS5: p95 {r['p95_ratio_fts5']:.2f}x;"
                  f" filtered and sorted: p95 {r['p95_ratio_filtered']:.2f}x, CPU "
                  f"{r['cpu_ratio_filtered']:.2f}x",
                  f"    ours, {CLIENTS} clients at once ({CONCURRENT_QUERIES} claims): "
                  f"{r['ours_concurrent_qps']:.1f} q/s",
                  f"    server memory after the run: peak (VmHWM) {memory['VmHWM'] / 1024:,.0f} "
                  f"MiB; resident (VmRSS) {memory['VmRSS'] / 1024:,.0f} MiB, of which heap "
                  f"{memory['RssAnon'] / 1024:,.0f} MiB and mapped files "
                  f"{memory['RssFile'] / 1024:,.0f} MiB"]
        cut = r["ours"]["over_time_limit"] + r["ours_filtered"]["over_time_limit"]
        if cut:
            lines.append(f"    ours: {cut} queries took {TIME_LIMIT:.0f} s or more: the search "
                         "time limit (SEARCH_TIME_LIMIT) cut them short")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"{int(QUICK_SIZES):,} documents, {QUICK_QUERIES} claims")
    parser.add_argument("--sizes", default=None,
                        help="document counts, comma separated [10000,50000]")
    parser.add_argument("--queries", type=int, default=None,
                        help="SciFact claims to run [200]")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="also profile the request path in-process (cProfile) into DIR")
    args = parser.parse_args(argv)
    args.sizes = args.sizes or (QUICK_SIZES if args.quick else "10000,50000")
    args.queries = args.queries or (QUICK_QUERIES if args.quick else 200)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if any(s < SERVICE_DOCS for s in sizes) or args.queries < FILTERED:
        parser.error(f"sizes must be at least {SERVICE_DOCS}, queries at least {FILTERED}")

    # A SIGTERM unwinds like Ctrl+C, so the server is stopped and the temporary folders go.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    started, load_before = time.perf_counter(), os.getloadavg()
    abstracts = load_abstracts()
    tags = tag_pool(abstracts)
    queries = QuerySet(load_claims(), args.queries)
    results = []
    for size in sizes:
        print(f"{size:,} documents…", file=sys.stderr, flush=True)
        result = run_size(size, abstracts, tags, queries, args.profile)
        results.append(result)
        print(f"  indexed {result['index_ours_dps']:,.0f} docs/s (bare "
              f"{result['index_bare_dps']:,.0f}); p95 {result['ours']['p95_ms']:,.0f} ms (bare "
              f"on our index {result['bare_our_index']['p95_ms']:,.0f} ms)", file=sys.stderr,
              flush=True)
    seconds = time.perf_counter() - started
    load = (load_before, os.getloadavg())
    print(report(results, queries, seconds, load))
    if args.json:
        args.json.write_text(json.dumps({"run_seconds": seconds, "load_average": load,
                                         "claims": len(queries.claims),
                                         "short_queries": SHORT_QUERIES,
                                         "filter": {"kind": FILTER_KIND, "sort": "newest",
                                                    "queries": FILTERED},
                                         "clients": CLIENTS, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

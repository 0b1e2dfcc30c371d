"""Several application servers: replication lag under a steady stream of writes, and search
throughput with one node against two.

Set-up, all on 127.0.0.1 and removed afterwards: a private PostgreSQL server (tests/postgres.py;
or --database-url for one of yours, in which a new database is made and dropped), `kb init`,
N published resources (SciFact abstracts from the shared data folder; made through the
services), and two `kb run --no-worker` nodes as separate processes, each with its own instance
folder and search index, one shared file folder, INDEX_POLL_SECONDS=0.2.

- Lag: a writer publishes resources through node A's API at a steady rate (--rate per second,
  for --seconds); for each, the time until node B's /api/v1/search finds it (other nodes'
  changes: NOTIFY wakes B's follower) and, as the peer in the same run, until node A's own
  search finds it (its own commit, applied at once). Reported: p50, p95 and max, and B/A.
- Throughput: --clients threads send anonymous searches (words of the abstracts, with facets
  and snippets) for --seconds to node A alone, then spread over A and B; requests per second,
  and two/one as the ratio. Reads scale with nodes only while there are cores to run them:
  on a machine of two cores (with the benchmark's clients on them too) expect well under 2.

Run: .venv/bin/python benchmarks/cluster.py [--quick] [--documents 2000] [--clients 8]
Not while others run tests on a shared machine, except --quick.
"""
from __future__ import annotations

import argparse
import csv
import itertools
import json
import random
import secrets
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests  # noqa: E402

from benchmarks._common import shared_data  # noqa: E402
from kb import create_app  # noqa: E402
from kb.cli import init_command  # noqa: E402
from kb.models import Role  # noqa: E402
from kb.services import accounts, indexing, resources, workflow  # noqa: E402
from tests.nodes import start_node  # noqa: E402
from tests.postgres import Cluster, start_cluster  # noqa: E402


def abstracts(limit: int) -> list[tuple[str, str]]:
    path = shared_data() / "scifact-csv"
    found = sorted(path.rglob("*.csv"))
    rows: list[tuple[str, str]] = []
    csv.field_size_limit(10**8)
    for table in found:
        with open(table, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or "title" not in reader.fieldnames:
                continue
            text_field = next((f for f in ("abstract", "text", "body") if f in reader.fieldnames),
                              None)
            for row in reader:
                rows.append((row["title"], (row.get(text_field) or "") if text_field else ""))
                if len(rows) >= limit:
                    return rows
    if not rows:
        raise SystemExit(f"no SciFact CSV with a title column under {path}")
    return rows


def seed(instance: Path, settings: dict, documents: int) -> tuple[str, list[str]]:
    """kb init, an editor with a token, `documents` published resources; returns the token
    and words to search for."""
    app = create_app(config=dict(settings), instance_path=str(instance))
    outcome = app.test_cli_runner().invoke(init_command)
    if outcome.exit_code != 0:
        raise RuntimeError(f"kb init failed:\n{outcome.output}")
    records = abstracts(documents)
    with app.app_context():
        editor = accounts.create_user("bench@example.org", "Benchmark editor", Role.EDITOR,
                                      password=secrets.token_urlsafe(16))
        token = accounts.create_token(editor)
        with indexing.deferred():
            for title, summary in records:
                resource = resources.create_resource(editor, {
                    "title": title[:300], "summary": summary[:4000], "kind": "reform_document",
                    "objectives": ["1"], "language": ["en"], "visibility": "public"})
                workflow.publish(editor, resource)
        indexing.catch_up()
        from kb.extensions import db

        db.session.remove()
        db.engine.dispose()
    words = sorted({w.lower() for title, _ in records for w in title.split()
                    if w.isalpha() and len(w) > 5})
    return token, words


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def wait_until_built(node, documents: int, timeout: float = 600) -> None:
    """A new node builds its index from the database after it starts answering: measure from
    when it holds every document."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = requests.get(node.url + "/api/v1/search", params={"q": ""}, timeout=30)
        if answer.status_code == 200 and answer.json()["total"] >= documents:
            return
        time.sleep(0.2)
    raise RuntimeError(f"{node.name} did not build its index within {timeout} s")


def measure_lag(node_a, node_b, token: str, rate: float, seconds: float) -> dict:
    """Publish through A at `rate` per second; one reader per node refreshes the newest results
    every 0.1 s (as a person would, and light enough that reading is not the load) and notes
    when each new resource first shows."""
    headers = {"Authorization": f"Bearer {token}"}
    written: dict[str, float] = {}
    seen = {"own node (A)": {}, "other node (B)": {}}
    writing_done = threading.Event()

    def watch(url: str, label: str) -> None:
        session = requests.Session()
        deadline = None
        while True:
            if writing_done.is_set():
                deadline = deadline or time.monotonic() + 30
                if len(seen[label]) == len(written) or time.monotonic() > deadline:
                    return
            answer = session.get(url + "/api/v1/search", headers=headers, timeout=30,
                                 params={"q": "stream", "sort": "newest", "per_page": 100})
            now = time.monotonic()
            if answer.status_code == 200:
                for result in answer.json()["results"]:
                    marker = result["title"].rsplit(" ", 1)[-1]
                    if marker in written and marker not in seen[label]:
                        seen[label][marker] = now - written[marker]
            time.sleep(0.1)

    watchers = [threading.Thread(target=watch, args=(url, label)) for url, label in
                ((node_a.url, "own node (A)"), (node_b.url, "other node (B)"))]
    for watcher in watchers:
        watcher.start()
    session = requests.Session()
    started = time.monotonic()
    for number in itertools.count():
        due = started + number / rate
        if due - started >= seconds:
            break
        time.sleep(max(0.0, due - time.monotonic()))
        marker = "".join(random.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(12))
        answer = session.post(node_a.url + "/api/v1/resources", headers=headers, data={
            "title": f"Steady stream {marker}", "kind": "reform_document", "objectives": ["1"],
            "publish": "true"}, files={"file": ("note.txt", f"stream {marker}\n".encode())},
            timeout=60)
        assert answer.status_code == 201, answer.text[:300]
        written[marker] = time.monotonic()
    writing_done.set()
    for watcher in watchers:
        watcher.join()
    summary = {"writes": len(written), "rate_per_s": rate}
    for label, lags in seen.items():
        values = list(lags.values())
        summary[label] = {"found": len(values), "p50_s": round(statistics.median(values), 3),
                          "p95_s": round(percentile(values, 95), 3),
                          "max_s": round(max(values), 3)}
    summary["ratio_p50_B_over_A"] = round(summary["other node (B)"]["p50_s"]
                                          / max(summary["own node (A)"]["p50_s"], 1e-6), 2)
    return summary


def measure_throughput(urls: list[str], words: list[str], clients: int, seconds: float) -> dict:
    done, latencies, lock = [0], [], threading.Lock()
    stop = time.monotonic() + seconds
    rng = random.Random(7)
    queries = [" ".join(rng.sample(words, 2)) if i % 3 else rng.choice(words)
               for i in range(5000)]

    def client(number: int) -> None:
        session = requests.Session()
        for i in itertools.count(number):
            if time.monotonic() >= stop:
                return
            url = urls[i % len(urls)]
            began = time.monotonic()
            answer = session.get(url + "/api/v1/search",
                                 params={"q": queries[i % len(queries)]}, timeout=60)
            assert answer.status_code == 200, answer.status_code
            with lock:
                done[0] += 1
                latencies.append(time.monotonic() - began)

    threads = [threading.Thread(target=client, args=(n * 101,)) for n in range(clients)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    return {"nodes": len(urls), "requests": done[0],
            "per_second": round(done[0] / elapsed, 1),
            "p50_ms": round(statistics.median(latencies) * 1000, 1),
            "p95_ms": round(percentile(latencies, 95) * 1000, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="small and short: 300 documents, 6 s phases")
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=5.0, help="writes per second")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each phase")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--database-url", help="a PostgreSQL server to use (admin URL)")
    args = parser.parse_args()
    if args.quick:
        args.documents, args.seconds = min(args.documents, 300), min(args.seconds, 6.0)

    server = Cluster(args.database_url) if args.database_url else start_cluster()
    name = server.new_name("bench_")
    try:
        with tempfile.TemporaryDirectory(prefix="kb-cluster-bench-") as folder:
            print(json.dumps(run(args, server, name, Path(folder)), indent=2))
    finally:
        server.drop_database(name)
        server.stop()


def run(args, server: Cluster, name: str, root: Path) -> dict:
    settings = {"SQLALCHEMY_DATABASE_URI": server.create_database(name),
                "SECRET_KEY": secrets.token_hex(32), "SESSION_COOKIE_SECURE": False,
                "FILE_STORE_URL": f"file://{root / 'files'}", "INDEX_POLL_SECONDS": 0.2,
                "SIGNIN_RATE_LIMIT": "1000 per minute"}
    began = time.monotonic()
    token, words = seed(root / "node-a", settings, args.documents)
    print(f"seeded {args.documents} documents in {time.monotonic() - began:.0f} s",
          file=sys.stderr)
    nodes = []
    try:
        for label in ("node-a", "node-b"):
            nodes.append(start_node(label, root / label, settings, root, threads=8))
        node_a, node_b = nodes
        wait_until_built(node_b, args.documents)
        lag = measure_lag(node_a, node_b, token, args.rate, args.seconds)
        for url in (node_a.url, node_b.url):  # warm both nodes' caches alike
            measure_throughput([url], words, 2, 1.0)
        one = measure_throughput([node_a.url], words, args.clients, args.seconds)
        two = measure_throughput([node_a.url, node_b.url], words, args.clients, args.seconds)
    finally:
        for node in nodes:
            node.stop()
    return {"documents": args.documents, "clients": args.clients, "replication_lag": lag,
            "search_one_node": one, "search_two_nodes": two,
            "throughput_ratio_two_over_one": round(two["per_second"]
                                                   / max(one["per_second"], 1e-6), 2)}


if __name__ == "__main__":
    main()

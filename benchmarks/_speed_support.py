"""Support for benchmarks/search_speed.py: the SciFact data, the synthetic document sets, filling
a temporary instance, bare Whoosh baselines, the server process and latency statistics.

Nothing here writes outside the temporary folders it is given.
"""
from __future__ import annotations

import ast
import csv
import http.client
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Iterator

from whoosh import index as whoosh_index
from whoosh import query as wq
from whoosh.analysis import StemmingAnalyzer
from whoosh.fields import ID, TEXT, Schema
from whoosh.qparser import AndGroup, FieldsPlugin, OrGroup, QueryParser, WildcardPlugin

DATA = Path(os.environ.get("KB_SHARED_DATA")
            or Path(__file__).resolve().parents[1].parent / "shared" / "data")
SCIFACT = DATA / "scifact-csv"
VENV_BIN = Path(sys.executable).parent
SEED = 20240917

# Facet spread of the synthetic documents (kind codes are those `kb init` seeds).
KIND_WEIGHTS = {"reform_document": 30, "best_practice": 20, "expert_presentation": 15,
                "training_material": 15, "meeting_record": 10, "policy_feedback": 10}
YEARS = range(1995, 2025)
TAG_POOL = 240           # distinct tags: more than kb/search's 64, so tags are counted per doc
WITH_ORG, WITH_PLACE = 0.8, 0.5


# --- SciFact ----------------------------------------------------------------------------------

_STRING_LITERAL = re.compile(r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*\"""", re.DOTALL)


@dataclass(frozen=True)
class Abstract:
    title: str
    text: str


def _sentences(printed: str) -> list[str]:
    """The sentences of a NumPy-printed list of strings (`['One.'\\n 'Two.']`)."""
    return [ast.literal_eval(literal) for literal in _STRING_LITERAL.findall(printed)]


def load_abstracts() -> list[Abstract]:
    """The 5,183 SciFact abstracts, in file order, sentences joined by spaces."""
    csv.field_size_limit(sys.maxsize)
    with open(SCIFACT / "corpus_train.csv", newline="", encoding="utf-8") as f:
        return [Abstract(" ".join(row["title"].split()), " ".join(_sentences(row["abstract"])))
                for row in csv.DictReader(f)]


def load_claims() -> list[str]:
    """Every distinct SciFact claim (train, validation, test), in file order."""
    seen: dict[str, None] = {}
    for name in ("claims_train.csv", "claims_validation.csv", "claims_test.csv"):
        with open(SCIFACT / name, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                seen.setdefault(" ".join(row["claim"].split()), None)
    return list(seen)


_WORD = re.compile(r"[a-z]{4,}")
_COMMON = frozenset("""with from that this were have been than which their these into other
between during after both more associated effects effect study using cells cell patients human
role among without through against versus under does studies analysis""".split())


def tag_pool(abstracts: list[Abstract], size: int = TAG_POOL) -> list[str]:
    """The most frequent longer words of the titles, most frequent first: tags that read like
    real ones and that also occur in the text."""
    counts = Counter(w for a in abstracts for w in set(_WORD.findall(a.title.lower()))
                     if w not in _COMMON)
    return [w for w, _n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:size]]


# --- The synthetic document set ---------------------------------------------------------------

@dataclass(frozen=True)
class DocSpec:
    """One synthetic resource: which abstract it reuses and its facet values."""
    abstract: int
    title: str
    kind: str
    objectives: tuple[int, ...]
    day: date
    tags: tuple[str, ...]
    org: str | None          # short name
    commune: str | None      # commune code

    def service_data(self, abstracts: list[Abstract]) -> dict:
        """The same resource as kb.services.resources.create_resource takes it."""
        data = {"title": self.title, "summary": abstracts[self.abstract].text,
                "kind": self.kind, "objectives": list(self.objectives), "language": ["en"],
                "date": self.day.isoformat(), "tags": list(self.tags), "visibility": "public",
                "org": self.org or ""}
        if self.commune:
            data["commune_code"] = self.commune
        return data


def doc_spec(i: int, abstracts: list[Abstract], tags: list[str], orgs: list[str],
             communes: list[str]) -> DocSpec:
    """Document i reuses abstract i % N; copies after the first get " (copy k)" in the title.
    Facets come from a generator seeded with i, so document i is the same at every size."""
    rng = random.Random(SEED * 1_000_003 + i)
    n = len(abstracts)
    copy = i // n
    title = abstracts[i % n].title + (f" (copy {copy})" if copy else "")
    year = rng.choices(YEARS, weights=[1 + k for k in range(len(YEARS))])[0]  # more recent: more
    picked_tags = rng.choices(tags, weights=[1 / (r + 1) for r in range(len(tags))],
                              k=rng.randint(1, 4))                     # Zipf-like popularity
    return DocSpec(
        abstract=i % n, title=title,
        kind=rng.choices(list(KIND_WEIGHTS), weights=list(KIND_WEIGHTS.values()))[0],
        objectives=tuple(sorted(rng.sample((1, 2, 3), rng.choice((1, 1, 2, 3))))),
        day=date(year, rng.randint(1, 12), rng.randint(1, 28)),
        tags=tuple(dict.fromkeys(picked_tags)),
        org=rng.choice(orgs) if rng.random() < WITH_ORG else None,
        commune=rng.choice(communes) if rng.random() < WITH_PLACE else None)


# --- Filling an instance ----------------------------------------------------------------------

@contextmanager
def temporary_instance() -> Iterator[Path]:
    """A new instance folder, set up with `kb init`, removed afterwards whatever happens."""
    folder = Path(tempfile.mkdtemp(prefix="kb-speed-"))
    try:
        done = subprocess.run([str(VENV_BIN / "kb"), "init"], capture_output=True, text=True,
                              env={**os.environ, "KB_INSTANCE_PATH": str(folder)})
        if done.returncode:
            raise RuntimeError(f"kb init failed: {done.stderr[-2000:]}")
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class Filler:
    """Creates published resources in the application of the current app context: the first ones
    through the services (create_resource + publish), the rest as bulk inserts of the same rows
    the services write (resources, languages, objectives, tags, history and audit events)."""

    SERVICE_FIELDS = ("title", "title_from_file", "alt_title", "summary_source", "summary_html",
                      "event", "source_url", "kind_id", "organisation_id", "date", "visibility",
                      "status", "owner_id", "province_code", "district_code", "commune_code")

    def __init__(self, abstracts: list[Abstract], tags: list[str]):
        from sqlalchemy import select

        from kb.extensions import db
        from kb.models import Commune, District, Organisation, ResourceKind, Role
        from kb.services import accounts

        self.abstracts, self.tags = abstracts, tags
        self.user = accounts.create_user("speed-bench@example.org", "Speed benchmark",
                                         Role.EDITOR, password="speed-benchmark-password-0123")
        self.kind_ids = dict(db.session.execute(select(ResourceKind.code, ResourceKind.id)).all())
        self.org_ids = dict(db.session.execute(
            select(Organisation.short_name, Organisation.id).order_by(Organisation.short_name)
        ).all())
        self.places = {code: (district, province) for code, district, province in
                       db.session.execute(select(Commune.code, Commune.district_code,
                                                 District.province_code)
                                          .join(District).order_by(Commune.code))}
        self._html: dict[int, str] = {}

    def spec(self, i: int) -> DocSpec:
        return doc_spec(i, self.abstracts, self.tags, list(self.org_ids), list(self.places))

    def create_with_services(self, count: int) -> float:
        """Documents 0..count-1 through the services, each then checked to have the rows
        bulk_insert writes; returns docs/s (of the creation alone)."""
        from kb.services import indexing, resources, workflow

        started = time.perf_counter()
        made = []
        with indexing.deferred():
            for i in range(count):
                resource = resources.create_resource(self.user,
                                                     self.spec(i).service_data(self.abstracts))
                workflow.publish(self.user, resource)
                made.append(resource.id)
        rate = count / (time.perf_counter() - started)
        for i, resource_id in enumerate(made):
            self._check_same_shape(resource_id, self.spec(i))
        return rate

    def _summary_html(self, abstract: int) -> str:
        """render_summary of an abstract, once per abstract (copies share it)."""
        from kb.ingest.sanitize import render_summary

        if abstract not in self._html:
            self._html[abstract] = render_summary(self.abstracts[abstract].text)
        return self._html[abstract]

    def resource_row(self, spec: DocSpec) -> dict:
        """The resources row the services write for `spec` (without id and timestamps)."""
        from kb.models import Status, Visibility

        district, province = self.places[spec.commune] if spec.commune else (None, None)
        return {"title": " ".join(spec.title.split())[:500], "title_from_file": False,
                "alt_title": "", "summary_source": self.abstracts[spec.abstract].text,
                "summary_html": self._summary_html(spec.abstract), "event": "",
                "source_url": "", "kind_id": self.kind_ids[spec.kind],
                "organisation_id": self.org_ids[spec.org] if spec.org else None,
                "date": spec.day, "visibility": Visibility.PUBLIC, "status": Status.PUBLISHED,
                "owner_id": self.user.id, "province_code": province, "district_code": district,
                "commune_code": spec.commune}

    def _check_same_shape(self, resource_id: int, spec: DocSpec) -> None:
        """Fail unless a resource made by the services has exactly the rows bulk_insert makes."""
        from kb.extensions import db
        from kb.models import Resource

        resource = db.session.get(Resource, resource_id)
        made = {name: getattr(resource, name) for name in self.SERVICE_FIELDS}
        expected = self.resource_row(spec)
        links = ([o.number for o in resource.objectives], resource.languages,
                 sorted(t.name for t in resource.tags), [e.action for e in resource.history])
        expected_links = (list(spec.objectives), ["en"], sorted(spec.tags),
                          ["created", "published"])
        if made != expected or links != expected_links:
            raise AssertionError(f"bulk rows differ from the services' for resource "
                                 f"{resource_id}: {made} {links} != {expected} {expected_links}")

    def bulk_insert(self, start: int, stop: int, batch: int = 5000) -> float:
        """Documents start..stop-1 as bulk inserts; returns docs/s."""
        from sqlalchemy import func, insert, select

        from kb.extensions import db
        from kb.models import (AuditEvent, Resource, ResourceEvent, ResourceLanguage, Tag,
                               resource_objectives, resource_tags, utcnow)
        from kb.services.rows import folded

        started = time.perf_counter()
        # A tag's name_key is what makes two spellings one tag (kb.services.rows.folded).
        have = set(db.session.scalars(select(Tag.name_key)))
        db.session.execute(insert(Tag), [{"name": t, "name_key": folded(t)} for t in self.tags
                                         if folded(t) not in have])
        tag_ids = dict(db.session.execute(select(Tag.name_key, Tag.id)).all())
        next_id = (db.session.scalar(select(func.max(Resource.id))) or 0) + 1
        for low in range(start, stop, batch):
            now = utcnow()
            resources, languages, objectives, tags, events, audits = [], [], [], [], [], []
            for i in range(low, min(stop, low + batch)):
                spec, rid = self.spec(i), next_id
                next_id += 1
                resources.append({**self.resource_row(spec), "id": rid, "created_at": now,
                                  "updated_at": now, "published_at": now})
                languages.append({"resource_id": rid, "code": "en"})
                objectives += [{"resource_id": rid, "objective_id": n} for n in spec.objectives]
                tags += [{"resource_id": rid, "tag_id": tag_ids[folded(t)]} for t in spec.tags]
                events += [{"resource_id": rid, "actor_id": self.user.id, "at": now,
                            "action": "created", "from_status": None, "to_status": "draft",
                            "comment": ""},
                           {"resource_id": rid, "actor_id": self.user.id, "at": now,
                            "action": "published", "from_status": "draft",
                            "to_status": "published", "comment": ""}]
                audits += [{"at": now, "actor_id": self.user.id, "action": "resource.create",
                            "target_type": "resources", "target_id": str(rid), "details": {}},
                           {"at": now, "actor_id": self.user.id, "action": "resource.published",
                            "target_type": "resources", "target_id": str(rid),
                            "details": {"before": "draft", "after": "published"}}]
            db.session.execute(insert(Resource), resources)
            db.session.execute(insert(ResourceLanguage), languages)
            db.session.execute(resource_objectives.insert(), objectives)
            db.session.execute(resource_tags.insert(), tags)
            db.session.execute(insert(ResourceEvent), events)
            db.session.execute(insert(AuditEvent), audits)
            db.session.commit()
        return (stop - start) / (time.perf_counter() - started)


# --- Bare Whoosh --------------------------------------------------------------------------------

def build_plain_index(folder: Path, abstracts: list[Abstract], specs: list[DocSpec],
                      limitmb: int = 256) -> tuple[float, float]:
    """A plain Whoosh index of the same titles and abstracts (StemmingAnalyzer; the body
    stored, for Whoosh's own highlights); docs per second and per CPU second."""
    folder.mkdir(parents=True)
    schema = Schema(id=ID(stored=True), title=TEXT(analyzer=StemmingAnalyzer(), stored=True),
                    body=TEXT(analyzer=StemmingAnalyzer(), stored=True))
    ix = whoosh_index.create_in(str(folder), schema)
    started, cpu_before = time.perf_counter(), time.process_time()
    writer = ix.writer(limitmb=limitmb)
    for number, spec in enumerate(specs, 1):
        writer.add_document(id=str(number), title=spec.title, body=abstracts[spec.abstract].text)
    writer.commit()
    rates = (len(specs) / (time.perf_counter() - started),
             len(specs) / (time.process_time() - cpu_before))
    ix.close()
    return rates


class BareSearcher:
    """Bare Whoosh on one index folder, with the word semantics of kb/search/query.py: up to
    ALL_WORDS_UP_TO words must all match (any of them when that finds nothing); longer queries
    match any word, with coordination (OrGroup scale 0.9, as our wq.Or(scale=0.9)). Each search
    opens a searcher, as each request of the application does."""

    def __init__(self, folder: Path, indexname: str | None = None):
        from kb.search.query import ALL_WORDS_UP_TO

        self.all_words_up_to = ALL_WORDS_UP_TO
        self.ix = whoosh_index.open_dir(str(folder), indexname=indexname)
        self.analyzer = self.ix.schema["body"].analyzer
        self.sortable = "date" in self.ix.schema.names()
        self.parsers = {}
        for name, group in (("all", AndGroup), ("any", OrGroup.factory(0.9))):
            parser = QueryParser("body", self.ix.schema, group=group)
            parser.remove_plugin_class(FieldsPlugin)    # our syntax has no fields but ours
            parser.remove_plugin_class(WildcardPlugin)  # and no wildcards
            self.parsers[name] = parser

    def _words(self, text: str) -> int:
        return sum(1 for word in text.split() if any(True for _t in self.analyzer(word)))

    def search(self, text: str, kind: str | None = None, newest: bool = False,
               limit: int = 20, highlights: bool = False) -> int:
        """Run one query; returns the number of matching documents. `highlights`: each hit's
        Whoosh highlights of its stored body too (what a results page needs)."""
        match_all = self._words(text) <= self.all_words_up_to
        options = {"limit": limit}
        if kind is not None:
            options["filter"] = wq.Term("kind", kind)
        if (newest or not text.strip()) and self.sortable:
            options.update(sortedby="date", reverse=True)
        with self.ix.searcher() as searcher:
            q = self.parsers["all" if match_all else "any"].parse(text) if text.strip() \
                else wq.Every()
            results = searcher.search(q, **options)
            if results.is_empty() and match_all and text.strip():
                results = searcher.search(self.parsers["any"].parse(text), **options)
            for hit in results:  # read the stored ids, as the application does
                hit["id"]
                if highlights:
                    hit.highlights("body")
            return len(results)

    def close(self) -> None:
        self.ix.close()


# --- SQLite FTS5 --------------------------------------------------------------------------------

_FTS_WORD = re.compile(r"[^\W_]+")


class Fts5Searcher:
    """SQLite FTS5 (tokenizer "porter unicode61") on a database file: a query's words quoted
    and joined by OR, the top `limit` by bm25() with snippet(), and the total (count(*))."""

    def __init__(self, database: Path, documents: list[tuple[str, str]]):
        import sqlite3

        self.db = sqlite3.connect(str(database), check_same_thread=False)
        self.db.execute("CREATE VIRTUAL TABLE docs USING fts5(title, body, "
                        "tokenize='porter unicode61')")
        self.db.executemany("INSERT INTO docs(rowid, title, body) VALUES (?, ?, ?)",
                            [(n, title, body) for n, (title, body) in enumerate(documents, 1)])
        self.db.commit()

    def search(self, q: str, limit: int = 20) -> int:
        words = _FTS_WORD.findall(q)
        if not words:
            return self.db.execute("SELECT count(*) FROM docs").fetchone()[0]
        match = " OR ".join('"' + w.replace('"', '""') + '"' for w in words)
        rows = self.db.execute(
            "SELECT rowid, snippet(docs, 1, '<mark>', '</mark>', '…', 32) FROM docs "
            "WHERE docs MATCH ? ORDER BY bm25(docs) LIMIT ?", (match, limit)).fetchall()
        total = self.db.execute("SELECT count(*) FROM docs WHERE docs MATCH ?",
                                (match,)).fetchone()[0]
        if total and not rows:
            raise RuntimeError(f"FTS5: no rows for {q!r}")
        return total

    def close(self) -> None:
        self.db.close()


# --- The server process ------------------------------------------------------------------------

def folder_mib(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`kb run` (Waitress) on an instance, as a separate process."""

    def __init__(self, instance: Path):
        self.port = free_port()
        self.log_path = instance / "server.log"
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [str(VENV_BIN / "kb"), "run", "--port", str(self.port)],
            env={**os.environ, "KB_INSTANCE_PATH": str(instance),
                 "KB_SESSION_COOKIE_SECURE": "0"},
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Wait until GET /healthz answers 200."""
        deadline, answer = time.monotonic() + timeout, "nothing"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited: {self.log_path.read_text()[-2000:]}")
            client = Client(self.port)
            try:
                status, body = client.get("/healthz")
                if status == 200:
                    return
                answer = f"HTTP {status}: {body[:300]!r}"
            except OSError:
                pass
            finally:
                client.close()
            time.sleep(0.2)
        raise RuntimeError(f"the server did not become healthy in {timeout:.0f} s; /healthz "
                           f"answered {answer}")

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the server process has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def memory_kb(self) -> dict[str, int]:
        """The server's peak resident memory (VmHWM) and resident memory now (VmRSS), split into
        anonymous (the heap) and file-backed (mostly the index files Whoosh maps), in kB."""
        out = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
                out[key] = int(value.split()[0])
        return out

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


@contextmanager
def running_server(instance: Path) -> Iterator[Server]:
    server = Server(instance)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


class Client:
    """One keep-alive HTTP connection to the server."""

    def __init__(self, port: int):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def get(self, path: str) -> tuple[int, bytes]:
        self.connection.request("GET", path)
        response = self.connection.getresponse()
        return response.status, response.read()

    def search(self, path: str) -> dict:
        status, body = self.get(path)
        if status != 200:
            raise RuntimeError(f"GET {path}: HTTP {status}: {body[:300]!r}")
        return json.loads(body)

    def close(self) -> None:
        self.connection.close()


# --- Statistics -------------------------------------------------------------------------------

def summary(seconds: list[float]) -> dict:
    """p50, p95, max and mean latency in ms; throughput (queries/s, one at a time)."""
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return {"n": len(seconds), "p50_ms": cuts[49] * 1000, "p95_ms": cuts[94] * 1000,
            "max_ms": max(seconds) * 1000, "mean_ms": statistics.fmean(seconds) * 1000,
            "qps": len(seconds) / sum(seconds)}

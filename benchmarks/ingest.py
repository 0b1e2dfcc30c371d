"""Ingestion benchmark: how fast files are read, and how fast a folder is imported.

a. Extraction, per sniffed content type, on the real office documents in office-docs/ (docx,
   khmer, odt, pdf, pptx; see its SOURCE.md): files/s and MB/s through
   `kb.ingest.extract.extract_file` (the limited child process the application uses; each file
   `--repeat` times, files that needed OCR once, and reported on their own rows since OCR is slow
   by nature). Plain text is measured on a sample of the SciFact abstracts below, both through
   the child process and in-process (`kb.ingest.extract.extract_text_in_process`, used for small
   text, Markdown and HTML files). Then the same office documents end to end through the upload
   service (`ingestion.contribute` + `processing.process_file`: store, sniff, database rows,
   extraction and thumbnail; search indexing excluded), once each, on a fresh instance.
b. Bulk import: the 5,183 SciFact abstracts (scifact-csv/corpus_train.csv, see its SOURCE.md),
   written as UTF-8 .txt files (title on the first line, then the abstract) into a temporary
   folder, imported with the real command (`kb import FOLDER --publish`, in a subprocess) into a
   fresh instance (`kb init`, an admin made with `kb users create`), timed end to end, search
   indexing included. Then `kb check` must report everything indexed, and a search through
   `GET /api/v1/search` must find a known abstract. Beside it, in the same run, a bare Whoosh
   writer (Schema(id=ID(stored=True), title=TEXT(stored=True), body=TEXT), default analyzer, one
   writer, one commit) indexes the same 5,183 texts, read from the same files: documents/s, and
   the ratio of ours to it. For scale, our own index is also built alone from the imported
   resources (`kb.search.rebuild`, one writer, the documents read from the database): no import
   can be faster than that. Times are wall-clock; CPU seconds (of the `kb import` process and
   its children, of this process for the others) are shown too, since on a shared machine the
   wall-clock time also measures the other users.

Run: .venv/bin/python benchmarks/ingest.py [--json out.json] [--only extract|import]
Data are read in place from the shared data folder (override with KB_SHARED_DATA); everything
written goes to a temporary folder that is removed afterwards (--keep keeps it).
"""
from __future__ import annotations

import argparse
import ast
import csv
import io
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tokenize
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere

DATA = Path(os.environ.get("KB_SHARED_DATA") or REPO.parent / "shared" / "data")
OFFICE = DATA / "office-docs"
OFFICE_FOLDERS = ("docx", "khmer", "odt", "pdf", "pptx")
SCIFACT = DATA / "scifact-csv" / "corpus_train.csv"
VENV_BIN = Path(sys.executable).parent
KB = str(VENV_BIN / "kb")
MB = 1024 * 1024
KNOWN_DOC = ("4983", "newborn cerebral white matter diffusion tensor")  # doc id, query
ADMIN = "admin@x.org"
PASSWORD = "benchmark admin password"

# Exactly what the CLI does, but with INFO logging on, so the importer's phase timings (if it
# logs them) reach stderr. It is still the real `kb import` in its own process.
CLI_WITH_LOGGING = ("import logging, sys; logging.basicConfig(level=logging.WARNING, "
                    "stream=sys.stderr, format='%(name)s: %(message)s'); "
                    "logging.getLogger('kb.services.importer').setLevel(logging.INFO); "
                    "from kb.cli import main; sys.argv[0] = 'kb'; main()")


# --- helpers -----------------------------------------------------------------------------------

def table(title: str, header: list[str], rows: list[list], note: str = "") -> None:
    cells = [[str(c) for c in header]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    line = "  ".join("-" * w for w in widths)
    for n, row in enumerate(cells):
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                        for i, (c, w) in enumerate(zip(row, widths))))
        if n == 0:
            print(line)
    if note:
        print(note)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if value < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def kb_env(instance: Path) -> dict:
    return dict(os.environ, KB_INSTANCE_PATH=str(instance))


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_kb(instance: Path, *args: str, input: str | None = None, logging: bool = False,
           check: bool = True) -> subprocess.CompletedProcess:
    command = ([sys.executable, "-c", CLI_WITH_LOGGING, *args] if logging else [KB, *args])
    instance.parent.mkdir(parents=True, exist_ok=True)  # also the working folder
    done = subprocess.run(command, env=kb_env(instance), input=input, capture_output=True,
                          text=True, cwd=str(instance.parent))
    if check and done.returncode != 0:
        raise SystemExit(f"kb {' '.join(args)} failed ({done.returncode}):\n"
                         f"{done.stdout}\n{done.stderr}")
    return done


def fresh_instance(root: Path) -> Path:
    instance = root / "instance"
    run_kb(instance, "init")
    run_kb(instance, "users", "create", ADMIN, "--name", "A", "--role", "admin",
           "--password-stdin", input=PASSWORD + "\n")
    return instance


def scifact_rows() -> list[tuple[str, str, str]]:
    """(doc id, title, abstract) for each row; the abstract is a NumPy-printed list of sentence
    literals, read token by token (adjacent literals must not be run together)."""
    csv.field_size_limit(sys.maxsize)
    rows = []
    with SCIFACT.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            tokens = tokenize.generate_tokens(io.StringIO(row["abstract"]).readline)
            sentences = [ast.literal_eval(t.string) for t in tokens if t.type == tokenize.STRING]
            rows.append((row["doc_id"].strip(), " ".join(row["title"].split()),
                         " ".join(sentences)))
    return rows


def write_texts(folder: Path, rows) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for doc_id, title, abstract in rows:
        path = folder / f"{doc_id}.txt"
        path.write_text(f"{title}\n{abstract}\n", encoding="utf-8")
        paths.append(path)
    return paths


# --- a. extraction -----------------------------------------------------------------------------

def office_files() -> list[tuple[Path, str]]:
    from kb.ingest.sniff import FileTypeError, sniff_type

    found = []
    for folder in OFFICE_FOLDERS:
        for path in sorted((OFFICE / folder).iterdir()):
            if not path.is_file():
                continue
            try:
                found.append((path, sniff_type(path, path.name)))
            except FileTypeError as error:
                print(f"  (skipped {path.name}: refused by the sniffer, {error})")
    return found


def _type_name(content_type: str) -> str:
    from kb.ingest.extract.registry import FORMATS

    return {"text file": "TXT", "Markdown file": "MD", "HTML file": "HTML",
            "RTF file": "RTF"}.get(FORMATS.get(content_type, content_type),
                                   FORMATS.get(content_type, content_type))


def _rate_rows(groups: dict) -> list[dict]:
    rows = []
    for name, runs in sorted(groups.items()):
        files = len({r["path"] for r in runs})
        size = sum(r["bytes"] for r in runs)
        seconds = sum(r["seconds"] for r in runs)
        rows.append({
            "type": name, "files": files, "runs": len(runs),
            "mb": sum({r["path"]: r["bytes"] for r in runs}.values()) / MB,
            "failed": len({r["path"] for r in runs if r["state"] != "ok"}),
            "seconds": seconds, "files_per_s": len(runs) / seconds,
            "mb_per_s": size / MB / seconds,
            "median_ms": statistics.median(r["seconds"] for r in runs) * 1000,
        })
    return rows


def _print_rates(title: str, rows: list[dict], note: str = "") -> None:
    table(title, ["type", "files", "runs", "MB", "not ok", "seconds", "files/s", "MB/s",
                  "median ms/file"],
          [[r["type"], r["files"], r["runs"], r["mb"], r["failed"], r["seconds"],
            r["files_per_s"], r["mb_per_s"], r["median_ms"]] for r in rows], note)


def bench_extraction(args, root: Path) -> dict:
    from kb.ingest import extract

    limits = {"timeout": 120, "memory_mb": 1536, "ocr": True}  # the application's defaults
    files = office_files()
    groups = defaultdict(list)
    for path, content_type in files:
        size = path.stat().st_size
        repeat = args.repeat
        n = 0
        while n < repeat:
            started = time.perf_counter()
            result = extract.extract_file(path, content_type, **limits)
            seconds = time.perf_counter() - started
            n += 1
            if result.ocr_used:
                repeat = 1  # OCR is slow by nature: once is enough
            name = _type_name(content_type) + (" (OCR)" if result.ocr_used else "")
            groups[name].append({"path": str(path), "bytes": size, "seconds": seconds,
                                 "state": result.state})
    # Plain text: a sample of the SciFact abstracts.
    sample = write_texts(root / "text-sample", scifact_rows()[:args.text_sample])
    in_process = getattr(extract, "extract_text_in_process", None)
    for path in sample:
        size = path.stat().st_size
        started = time.perf_counter()
        result = extract.extract_file(path, "text/plain", **limits)
        groups["TXT (SciFact, child)"].append({"path": str(path), "bytes": size, "state":
                                               result.state,
                                               "seconds": time.perf_counter() - started})
        if in_process is not None:
            started = time.perf_counter()
            result = in_process(path, "text/plain")
            groups["TXT (SciFact, in-process)"].append({
                "path": str(path), "bytes": size, "state": result.state,
                "seconds": time.perf_counter() - started})
    rows = _rate_rows(groups)
    _print_rates("a. Extraction through kb.ingest.extract (child process unless said otherwise)",
                 rows, f"   office documents {args.repeat}x each (OCR'd files once); "
                       f"{len(sample)} SciFact abstracts once each")
    e2e = bench_upload_service(files, root)
    return {"extract": rows, "upload_service": e2e}


def bench_upload_service(files, root: Path) -> list[dict]:
    """store + sniff + rows + extraction + thumbnail through the upload service, once each."""
    from kb import create_app
    from kb.extensions import db
    from kb.services import accounts, indexing, ingestion, processing

    instance = fresh_instance(root / "upload-service")
    app = create_app(instance_path=str(instance))
    groups = defaultdict(list)
    with app.app_context(), indexing.deferred():
        actor = accounts.get_user_by_email(ADMIN)
        for path, content_type in files:
            started = time.perf_counter()
            try:
                with path.open("rb") as handle:
                    resource = ingestion.contribute(
                        actor, {"kind": "reform_document"},
                        [ingestion.Upload(path.name, handle)], process=False)
                stored = processing.process_file(resource.current_files[0].id)
                state = stored.extraction_state.value
                ocr = bool((stored.properties or {}).get("ocr_pages"))
            except Exception as error:  # a refusal is a result too
                state, ocr = f"refused: {error}", False
            seconds = time.perf_counter() - started
            name = _type_name(content_type) + (" (OCR)" if ocr else "")
            groups[name].append({"path": str(path), "bytes": path.stat().st_size,
                                 "seconds": seconds, "state": state})
        db.session.remove()
    rows = _rate_rows(groups)
    _print_rates("a'. End to end through the upload service (store, sniff, rows, extraction, "
                 "thumbnail; no indexing)", rows, "   each file once")
    return rows


# --- b. bulk import ----------------------------------------------------------------------------

def bare_whoosh(paths: list[Path], folder: Path) -> dict:
    from whoosh import index
    from whoosh.fields import ID, TEXT, Schema

    folder.mkdir(parents=True)
    started, cpu = time.perf_counter(), time.process_time()
    ix = index.create_in(str(folder), Schema(id=ID(stored=True), title=TEXT(stored=True),
                                             body=TEXT))
    writer = ix.writer()
    for path in paths:
        title, _, body = path.read_text(encoding="utf-8").partition("\n")
        writer.add_document(id=path.stem, title=title, body=body)
    writer.commit()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    with ix.searcher() as searcher:
        count = searcher.doc_count()
    ix.close()
    return {"documents": count, "seconds": seconds, "cpu_seconds": cpu,
            "docs_per_s": count / seconds}


def our_index_alone(instance: Path, folder: Path) -> dict:
    """Our schema and analyzers, one writer, the imported resources read from the database."""
    from kb import create_app
    from kb.extensions import db
    from kb.search import rebuild
    from kb.services import indexing

    app = create_app(config={"TESTING": True}, instance_path=str(instance))
    with app.app_context():
        started, cpu = time.perf_counter(), time.process_time()
        count = rebuild(str(folder), indexing.all_documents())
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        db.session.remove()
        db.engine.dispose()
    return {"documents": count, "seconds": seconds, "cpu_seconds": cpu,
            "docs_per_s": count / seconds}


def verify(instance: Path) -> dict:
    """`kb check` says all is indexed, and a search finds the known abstract."""
    from kb import create_app
    from kb.extensions import db

    check = run_kb(instance, "check", check=False)
    app = create_app(config={"TESTING": True}, instance_path=str(instance))
    with app.app_context():
        response = app.test_client().get("/api/v1/search", query_string={"q": KNOWN_DOC[1]})
        body = response.get_json() or {}
        titles = [r["title"] for r in body.get("results", [])][:10]
        db.session.remove()
        db.engine.dispose()
    return {"check_exit": check.returncode, "check_output": check.stdout.strip(),
            "search_status": response.status_code, "search_total": body.get("total"),
            "known_found": KNOWN_DOC[0] in titles,
            "known_rank": titles.index(KNOWN_DOC[0]) + 1 if KNOWN_DOC[0] in titles else None}


PHASE = re.compile(r"kb\.services\.importer: (.+?) in ([\d.]+) s")


def bench_import(args, root: Path) -> dict:
    rows = scifact_rows()
    if args.limit:
        rows = rows[:args.limit]
    started = time.perf_counter()
    paths = write_texts(root / "scifact", rows)
    written = time.perf_counter() - started
    size = sum(p.stat().st_size for p in paths)
    print(f"\nb. Bulk import: {len(paths):,} SciFact abstracts written as .txt "
          f"({size / MB:.1f} MB) in {written:.1f} s")
    instance = fresh_instance(root / "import")
    load_before = os.getloadavg()
    started, cpu = time.perf_counter(), children_cpu()
    done = run_kb(instance, "import", str(root / "scifact"), "--publish", logging=True)
    ours, ours_cpu = time.perf_counter() - started, children_cpu() - cpu
    load_after = os.getloadavg()
    output = done.stdout
    imported = int(re.search(r"Imported: (\d+)", output).group(1))
    phases = [(m.group(1), float(m.group(2))) for m in PHASE.finditer(done.stderr)]
    checked = verify(instance)
    again_started = time.perf_counter()
    again = run_kb(instance, "import", str(root / "scifact"), "--publish")
    again_seconds = time.perf_counter() - again_started
    bare = bare_whoosh(paths, root / "bare-index")
    alone = our_index_alone(instance, root / "our-index-alone")
    result = {
        "files": len(paths), "mb": size / MB, "imported": imported,
        "summary": output.strip(), "seconds": ours, "cpu_seconds": ours_cpu,
        "docs_per_s": imported / ours, "phases": phases, "verify": checked, "bare": bare,
        "our_index_alone": alone, "ratio": (imported / ours) / bare["docs_per_s"],
        "ratio_cpu": (bare["cpu_seconds"] / bare["documents"]) / (ours_cpu / imported),
        "load_average": {"before": load_before, "after": load_after},
        "rerun": {"seconds": again_seconds, "summary": again.stdout.strip()},
    }
    rows = [["kb import --publish (end to end)", imported, ours, imported / ours,
             size / MB / ours, ours_cpu, imported / ours_cpu],
            ["bare Whoosh writer", bare["documents"], bare["seconds"], bare["docs_per_s"],
             size / MB / bare["seconds"], bare["cpu_seconds"],
             bare["documents"] / bare["cpu_seconds"]],
            ["our index alone (kb.search.rebuild)", alone["documents"], alone["seconds"],
             alone["docs_per_s"], size / MB / alone["seconds"], alone["cpu_seconds"],
             alone["documents"] / alone["cpu_seconds"]]]
    table("   ours vs a bare Whoosh writer", ["", "documents", "seconds", "docs/s", "MB/s",
                                             "CPU s", "docs/CPU s"], rows,
          f"   ratio ours/bare: {result['ratio']:.0%} wall-clock, {result['ratio_cpu']:.0%} "
          f"per CPU second (target >= 80%); our index alone/bare: "
          f"{alone['docs_per_s'] / bare['docs_per_s']:.0%}\n"
          f"   load average during the import: {load_before[0]:.1f} -> {load_after[0]:.1f} "
          f"({os.cpu_count()} CPUs)")
    if phases:
        print("   phases (from the importer's log): "
              + "; ".join(f"{name} {seconds:.1f} s" for name, seconds in phases))
    print("   summary: " + " | ".join(output.strip().splitlines()[:4]))
    print(f"   kb check: exit {checked['check_exit']}: "
          + " | ".join(checked["check_output"].splitlines()))
    print(f"   search {KNOWN_DOC[1]!r}: HTTP {checked['search_status']}, "
          f"{checked['search_total']} results, doc {KNOWN_DOC[0]} "
          + (f"at rank {checked['known_rank']}" if checked["known_found"] else "NOT in the top 10"))
    print(f"   run again: {again_seconds:.1f} s: "
          + " | ".join(again.stdout.strip().splitlines()[:2]))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="Also write the results here.")
    parser.add_argument("--only", choices=["extract", "import"])
    parser.add_argument("--repeat", type=int, default=3,
                        help="Extractions of each office document [3].")
    parser.add_argument("--text-sample", type=int, default=200,
                        help="SciFact abstracts for the plain-text rows [200].")
    parser.add_argument("--limit", type=int, default=0, help="Import only this many abstracts.")
    parser.add_argument("--keep", action="store_true", help="Keep the temporary folder.")
    args = parser.parse_args()
    for needed in (OFFICE, SCIFACT):
        if not needed.exists():
            raise SystemExit(f"Missing {needed} (set KB_SHARED_DATA).")
    root = Path(tempfile.mkdtemp(prefix="kb-ingest-bench-"))
    started = time.perf_counter()
    results = {"python": platform.python_version(), "cpus": os.cpu_count(),
               "platform": platform.platform()}
    print(f"Ingestion benchmark ({os.cpu_count()} CPUs, Python {platform.python_version()}); "
          f"work folder {root}")
    try:
        if args.only in (None, "extract"):
            results["extraction"] = bench_extraction(args, root)
        if args.only in (None, "import"):
            results["import"] = bench_import(args, root)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    results["total_seconds"] = time.perf_counter() - started
    print(f"\nBenchmark run time: {results['total_seconds']:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()

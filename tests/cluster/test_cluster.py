"""The deployment of several servers, for real: PostgreSQL (the suite's private server),
SeaweedFS as the S3 store, Redis for the rate limits, two `kb run --no-worker` nodes and one
`kb worker` — separate processes, each with an instance folder and search index of its own,
sharing only the settings an operator would give every machine (README "Running on several
servers"). Runs on the PostgreSQL run of the suite only: SQLite is one machine's database.
"""
from __future__ import annotations

import random
import re
import secrets
import statistics
import string
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from kb.extensions import db
from kb.models import ExtractionState, Job, JobState, Resource, ResourceFile
from kb.services import accounts
from tests.conftest import PASSWORD
from tests.nodes import Node, Process, restart, run_kb, start_node, start_worker

PDF_FOLDER = Path(__file__).resolve().parents[3] / "shared" / "data" / "office-docs" / "pdf"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
FOUND_WITHIN = 5.0  # seconds: an upload on one node is found by the other's search by then


@pytest.fixture
def only_on_postgresql(database_kind):
    if database_kind != "postgresql":
        pytest.skip("several application servers share a PostgreSQL database; SQLite is one "
                    "machine's file (run with --database=postgresql)")


def word() -> str:
    """A word no document has but the one it is put in."""
    return "".join(random.choice(string.ascii_lowercase) for _ in range(12))


@dataclass
class Cluster:
    folder: Path
    settings: dict
    nodes: dict[str, Node] = field(default_factory=dict)
    worker: Process | None = None
    editor_token: str = ""
    editor_email: str = ""

    def node(self, name: str) -> Node:
        return self.nodes[name]

    def start(self, name: str) -> Node:
        self.nodes[name] = start_node(name, self.folder / name, self.settings, self.folder)
        return self.nodes[name]

    def start_worker(self) -> Process:
        self.worker = start_worker("worker", self.folder / "worker", self.settings, self.folder)
        return self.worker

    def stop(self) -> None:
        for process in [*self.nodes.values(), self.worker]:
            if process is not None:
                process.stop()

    # --- the API, as an outside client calls it ---

    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.editor_token}"}

    def upload(self, name: str, title: str, content: bytes, filename: str = "note.txt",
               **fields) -> int:
        answer = requests.post(self.node(name).url + "/api/v1/resources", headers=self.headers(),
                               data={"title": title, "kind": "reform_document",
                                     "objectives": ["1"], "publish": "true", **fields},
                               files={"file": (filename, content)}, timeout=60)
        assert answer.status_code == 201, (answer.status_code, answer.text[:500])
        return answer.json()["id"]

    def search(self, name: str, q: str = "", signed_in: bool = True, **params) -> dict:
        answer = requests.get(self.node(name).url + "/api/v1/search",
                              params={"q": q, "per_page": 100, **params},
                              headers=self.headers() if signed_in else {}, timeout=30)
        assert answer.status_code == 200, (answer.status_code, answer.text[:500])
        return answer.json()

    def found(self, name: str, q: str, signed_in: bool = True) -> list[int]:
        return [r["id"] for r in self.search(name, q, signed_in)["results"]]

    def wait_for(self, condition, what: str, timeout: float = FOUND_WITHIN) -> float:
        """Seconds until `condition()` held; fails after `timeout`."""
        started = time.monotonic()
        while not condition():
            if time.monotonic() - started > timeout:
                raise AssertionError(f"not within {timeout} s: {what}")
            time.sleep(0.05)
        return time.monotonic() - started

    def check(self, name: str) -> None:
        """`kb check` on this node's folder (its own index) finds nothing wrong."""
        result = run_kb(self.folder / name, self.settings, "check")
        assert result.returncode == 0, f"kb check on {name}:\n{result.stdout}{result.stderr}"

    def caught_up(self, name: str) -> bool:
        return self.node(name).health()["index_lag"] == 0


@pytest.fixture
def cluster(only_on_postgresql, app, tmp_path, s3_settings, redis_url):
    """Two nodes and a worker on one PostgreSQL database, one S3 bucket, one Redis; an editor
    with an API token (made through the services, as `kb tokens create` does)."""
    settings = {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                "SECRET_KEY": secrets.token_hex(32), "SESSION_COOKIE_SECURE": "0",
                "RATELIMIT_STORAGE_URI": redis_url, "INDEX_POLL_SECONDS": "0.2",
                "JOB_LEASE_SECONDS": "3", "JOB_POLL_SECONDS": "0.5", **s3_settings}
    editor = accounts.create_user("editor@example.org", "Cluster Editor", "editor",
                                  password=PASSWORD)
    made = Cluster(tmp_path, settings, editor_token=accounts.create_token(editor),
                   editor_email=editor.email)
    db.session.remove()
    try:
        made.start("node-a")
        made.start("node-b")
        made.start_worker()
        yield made
    finally:
        made.stop()


def test_two_nodes_serve_one_knowledge_base(cluster, app):
    # Concurrent clients upload through both nodes; each upload is found by the other node.
    lags: list[float] = []
    lock = threading.Lock()

    def one_upload(number: int) -> tuple[int, str, bytes]:
        on, other = ("node-a", "node-b") if number % 2 else ("node-b", "node-a")
        marker = word()
        content = f"Cluster upload {number}: commune budget {marker}\n".encode()
        resource_id = cluster.upload(on, f"Commune budget {marker}", content)
        lag = cluster.wait_for(lambda: cluster.found(other, marker) == [resource_id],
                               f"upload {resource_id} on {on} found by {other}")
        with lock:
            lags.append(lag)
        return resource_id, marker, content

    with ThreadPoolExecutor(max_workers=4) as pool:
        uploads = list(pool.map(one_upload, range(16)))
    print(f"\nreplication lag over {len(lags)} uploads: p50 {statistics.median(lags):.3f} s, "
          f"max {max(lags):.3f} s")
    assert max(lags) < FOUND_WITHIN

    # Every file downloads from both nodes (from the shared store), byte for byte.
    for resource_id, _marker, content in uploads[:4]:
        files = requests.get(f"{cluster.node('node-a').url}/api/v1/resources/{resource_id}",
                             headers=cluster.headers(), timeout=30).json()["files"]
        for name in ("node-a", "node-b"):
            answer = requests.get(f"{cluster.node(name).url}/api/v1/files/{files[0]['id']}",
                                  headers=cluster.headers(), timeout=30)
            assert answer.status_code == 200 and answer.content == content, name

    # A deletion on A and a visibility change on B reach the other's results, totals, facets.
    before = cluster.search("node-b", signed_in=False)
    deleted_id, deleted_marker, _ = uploads[0]
    gone = requests.delete(f"{cluster.node('node-a').url}/api/v1/resources/{deleted_id}",
                           headers=cluster.headers(), timeout=30)
    assert gone.status_code == 204
    hidden_id, hidden_marker, _ = uploads[1]
    changed = requests.patch(f"{cluster.node('node-b').url}/api/v1/resources/{hidden_id}",
                             json={"visibility": "members"}, headers=cluster.headers(),
                             timeout=30)
    assert changed.status_code == 200, changed.text[:300]
    cluster.wait_for(lambda: cluster.found("node-b", deleted_marker) == [],
                     "a deletion on A leaves B's search")
    cluster.wait_for(lambda: cluster.found("node-a", hidden_marker, signed_in=False) == [],
                     "hidden on B, A's visitors stop finding it")
    assert cluster.found("node-a", hidden_marker) == [hidden_id]  # members still do
    for name in ("node-a", "node-b"):
        after = cluster.search(name, signed_in=False)
        assert after["total"] == before["total"] - 2, name
        assert after["facets"]["kind"]["reform_document"] == \
            before["facets"]["kind"]["reform_document"] - 2, name

    # The worker read every file: the text is found on both nodes.
    text_marker = uploads[5][1]
    for name in ("node-a", "node-b"):
        cluster.wait_for(lambda name=name: cluster.found(name, f"cluster upload {text_marker}")
                         == [uploads[5][0]], f"the file's text on {name}", timeout=60)

    # A browser session signed in on A is valid on B (one key on every node).
    browser = requests.Session()
    form = browser.get(cluster.node("node-a").url + "/signin", timeout=30)
    signed = browser.post(cluster.node("node-a").url + "/signin",
                          data={"email": cluster.editor_email, "password": PASSWORD,
                                "csrf_token": CSRF.search(form.text).group(1)},
                          allow_redirects=False, timeout=30)
    assert signed.status_code == 302, signed.status_code
    account = browser.get(cluster.node("node-b").url + "/account", allow_redirects=False,
                          timeout=30)
    assert account.status_code == 200 and cluster.editor_email in account.text

    # A third node, started with an empty folder, builds its index and catches up.
    third = cluster.start("node-c")
    cluster.wait_for(lambda: cluster.caught_up("node-c"), "node C caught up", timeout=60)
    assert cluster.search("node-c")["total"] == cluster.search("node-a")["total"]
    assert cluster.found("node-c", uploads[7][1]) == [uploads[7][0]]
    assert third.health()["status"] == "ok"
    for name in ("node-a", "node-b", "node-c"):
        cluster.wait_for(lambda name=name: cluster.caught_up(name), f"{name} caught up")
        cluster.check(name)


def _count(model, *where) -> int:
    db.session.remove()
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_nodes_and_the_worker_killed_mid_work_lose_nothing(cluster, app, tmp_path):
    # kill -9 of node B (the machine) in the middle of a `kb import` on it.
    folder = tmp_path / "to-import"
    folder.mkdir()
    marker = word()
    count = 30
    for number in range(count):
        (folder / f"report-{number:02d}.txt").write_text(
            f"Imported report {number} {marker}\n" + f"Paragraph {number} {word()}\n" * 50)
    present = _count(Resource)
    importing = Process("import", [str(Path(cluster.node("node-b").command[0])), "import",
                                   str(folder), "--publish", "--as", cluster.editor_email],
                        cluster.node("node-b").env, tmp_path / "import.log").start()
    cluster.wait_for(lambda: _count(Resource) >= present + 3
                     or importing.process.poll() is not None, "the import under way",
                     timeout=120)
    importing.kill()
    cluster.node("node-b").kill()
    partial = _count(Resource) - present
    assert importing.process.returncode != 0, "the import ended before it could be killed"
    restart(cluster.node("node-b"))
    again = run_kb(cluster.folder / "node-b", cluster.settings, "import", str(folder),
                   "--publish", "--as", cluster.editor_email)
    assert again.returncode == 0, again.stdout + again.stderr
    imported = int(re.search(r"Imported: (\d+)", again.stdout).group(1))
    already = int(re.search(r"Already present: (\d+)", again.stdout).group(1))
    assert already >= 3 and imported + already == count, again.stdout
    assert _count(Resource) - present == count  # each report once: none lost, none twice
    print(f"\nkb import killed with {partial} resources in the database; the second run "
          f"completed it: {again.stdout.strip().splitlines()[-3:]}")
    for name in ("node-a", "node-b"):
        cluster.wait_for(lambda name=name: cluster.search(name, marker)["total"] == count,
                         f"all {count} imported reports found on {name}", timeout=60)

    # kill -9 of the worker in the middle of an extraction.
    cluster.worker.kill()
    pdfs = sorted(PDF_FOLDER.glob("*.pdf"))[:4]
    ids = [cluster.upload("node-a", f"Scanned report {pdf.stem}", pdf.read_bytes(),
                          filename=pdf.name) for pdf in pdfs]
    cluster.start_worker()
    theirs = Job.file_id.in_(select(ResourceFile.id).where(ResourceFile.resource_id.in_(ids)))
    cluster.wait_for(lambda: _count(Job, theirs, Job.state == JobState.RUNNING) > 0,
                     "the worker claimed a file", timeout=60)
    cluster.worker.kill()
    assert _count(Job, theirs, Job.state == JobState.RUNNING) > 0  # the dead worker's lease
    cluster.start_worker()
    cluster.wait_for(lambda: _count(ResourceFile, ResourceFile.resource_id.in_(ids),
                                    ResourceFile.extraction_state == ExtractionState.PENDING)
                     == 0, "every file read after the worker came back", timeout=180)
    assert _count(Job, Job.state.in_([JobState.RUNNING, JobState.QUEUED])) == 0
    for name in ("node-a", "node-b"):
        cluster.wait_for(lambda name=name: cluster.caught_up(name), f"{name} caught up")
        cluster.check(name)

"""Several processes writing at once (server workers, a `kb import`): no lock error reaches
anyone, nothing is lost, and `kb check` finds the index and the database in agreement."""
import os
import subprocess
import sys
import textwrap

from kb import search
from kb.services import indexing
from tests.conftest import run_kb
from tests.factories import index_document

WRITER = textwrap.dedent("""
    import sys
    from kb import create_app
    from kb.models import Role
    from kb.services import accounts, resources, workflow

    app = create_app()
    with app.app_context():
        editor = accounts.create_user(f"editor{sys.argv[1]}@example.org", "Editor", Role.EDITOR,
                                      password="a long enough password")
        for n in range(int(sys.argv[2])):
            resource = resources.create_resource(editor, {
                "title": f"Writer {sys.argv[1]} budget report {n}", "kind": "reform_document",
                "objectives": ["1"], "language": ["en"]})
            workflow.publish(editor, resource)
    print("done")
""")


def test_concurrent_writers_lose_nothing(app, instance):
    env = {**os.environ, "KB_INSTANCE_PATH": str(instance)}
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(i), "10"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for i in range(3)]
    for writer in writers:
        out, err = writer.communicate(timeout=240)
        assert writer.returncode == 0 and out.strip() == "done", err
        assert "LockError" not in err and "locked" not in err, err
    assert search.count(app.config["SEARCH_INDEX_PATH"]) == 30
    report = indexing.check()
    assert report.ok, report.lines()
    assert run_kb(instance, "check").exit_code == 0


def test_a_parallel_write_indexes_every_document_and_replaces_older_ones(tmp_path):
    """Bulk writes from commands share the analysis among processes (Whoosh's MpWriter, each
    child writing its own segment); the result is the same index."""
    from kb import search
    from kb.search.index import open_index

    def document(number: int, version: str) -> search.IndexDocument:
        return index_document(number, version=version, kind="k", objectives=[],
                              body=f"Commune {number} planning, version {version}.")

    path = str(tmp_path / "index")
    search.create_index(path)
    search.write(path, [document(n, "old") for n in range(10)])
    count = search.PARALLEL_FROM + 36
    search.write_latest(path, lambda: ([document(n, "new") for n in range(count)], [3]),
                        procs=2)
    assert search.entries(path) == {n: "new" for n in range(count)}
    with open_index(path).searcher() as searcher:
        assert len(list(searcher.reader().leaf_readers())) >= 2  # the children's segments
    parsed = search.parse("planning")
    outcome = search.search(path, parsed, search.Reader(), search.Filters(), per_page=200)
    assert sorted(rid for rid, _ in outcome.hits) == list(range(count))


def test_documents_a_parallel_writer_lost_are_written_again(tmp_path, monkeypatch, caplog):
    """Whoosh's parallel writer drops the documents of a child that fails, silently."""
    from whoosh import multiproc

    from kb import search

    def lose_every_job(self, filename, doc_count):  # runs in the (forked) child
        self.writer.temp_storage().delete_file(filename)

    monkeypatch.setattr(multiproc.SubWriterTask, "_process_file", lose_every_job)
    documents = [index_document(n, body="Commune planning.", kind="k", objectives=[])
        for n in range(search.PARALLEL_FROM)]
    path = str(tmp_path / "index")
    search.create_index(path)
    search.write_latest(path, lambda: (documents, []), procs=2)
    assert search.entries(path) == {n: "1" for n in range(search.PARALLEL_FROM)}
    assert "lost 64 of 64 documents" in caplog.text

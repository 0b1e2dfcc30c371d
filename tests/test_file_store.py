"""Stored files through the real application, on a folder and on a real S3 server (SeaweedFS):
upload -> background extraction -> thumbnail -> download -> workshop pack -> `kb check`, two
nodes sharing one database and one store, and what readers and writers see when the store
cannot be reached.
"""
from __future__ import annotations

import hashlib
import io
import shutil
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kb.extensions import db
from kb.ingest.storage import blob_key, thumbnail_key
from kb.models import ExtractionState, Job, JobState, Resource, ResourceFile
from kb.services import accounts, filestore
from tests import seaweedfs
from tests.conftest import (SHARED_DATA, finish_background_work, kb_environment, run_kb,
                            running_app, sign_in)

PDF = SHARED_DATA / "office-docs" / "pdf" / "pdflatex-4-pages.pdf"
DOCX = SHARED_DATA / "office-docs" / "docx" / "test.docx"
ROLES = ("member", "contributor", "editor", "admin")


@pytest.fixture(params=["local", "s3"])
def store_settings(request) -> dict:
    """The settings of the backend under test: none for the default folder."""
    if request.param == "local":
        return {}
    return request.getfixturevalue("s3_settings")


@pytest.fixture
def app(instance, store_settings):
    """The conftest `app`, on the backend under test (so `client` and `make_user` use it)."""
    with running_app(instance, **store_settings) as app:
        yield app


def bearer(user) -> dict:
    return {"Authorization": f"Bearer {accounts.create_token(user)}"}


def upload(client, user, files, **fields):
    data = {"kind": "reform_document", "objectives": ["1"], **fields,
            "file": [(io.BytesIO(content), name) for name, content in files]}
    return client.post("/api/v1/resources", data=data, headers=bearer(user),
                       content_type="multipart/form-data")


def stored_keys(store) -> dict[str, int]:
    return dict(store.listing())


def test_upload_read_thumbnail_download_export_and_check(app, client, make_user, instance,
                                                         store_settings):
    editor, trainer = make_user("editor"), make_user("contributor")
    pdf, docx = PDF.read_bytes(), DOCX.read_bytes()
    created = upload(client, editor, [(PDF.name, pdf), (DOCX.name, docx)],
                     title="Commune budget guide", publish="true")
    assert created.status_code == 201, created.get_json()
    finish_background_work(app)  # read by the background worker, from the store

    resource = db.session.get(Resource, created.get_json()["id"])
    by_name = {f.original_name: f for f in resource.current_files}
    first = by_name[PDF.name]
    assert first.extraction_state == ExtractionState.OK and first.text.strip()
    assert first.has_thumbnail is True
    store = filestore.store()
    keys = stored_keys(store)
    assert keys[blob_key(hashlib.sha256(pdf).hexdigest())] == len(pdf)
    assert keys[blob_key(hashlib.sha256(docx).hexdigest())] == len(docx)
    assert thumbnail_key(first.sha256) in keys
    if store_settings:  # nothing of the files on this node's disk
        assert not (instance / "files").exists() or not any((instance / "files").rglob("*"))

    # The thumbnail, from the store.
    thumb = client.get(f"/files/{first.id}/thumbnail.png")
    assert thumb.status_code == 200 and thumb.mimetype == "image/png"
    assert thumb.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert client.get(f"/files/{first.id}/thumbnail.png",
                      headers={"If-None-Match": thumb.headers["ETag"]}).status_code == 304

    # The download: the bytes, the headers, 304, ranges.
    download = client.get(f"/api/v1/files/{first.id}")
    assert download.status_code == 200 and download.data == pdf
    assert download.headers["Content-Length"] == str(len(pdf))
    assert download.headers["Content-Disposition"] == f"attachment; filename={PDF.name}"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert download.headers["ETag"] == f'"{first.sha256}"'
    assert download.headers["Accept-Ranges"] == "bytes"
    again = client.get(f"/files/{first.id}/download",
                       headers={"If-None-Match": f'"{first.sha256}"'})
    assert again.status_code == 304 and again.data == b""
    part = client.get(f"/files/{first.id}/download", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.data == pdf[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(pdf)}"
    tail = client.get(f"/files/{first.id}/download", headers={"Range": "bytes=-16"})
    assert tail.status_code == 206 and tail.data == pdf[-16:]
    head = client.head(f"/files/{first.id}/download")
    assert head.status_code == 200 and head.data == b""
    assert head.headers["Content-Length"] == str(len(pdf))
    stale = client.get(f"/files/{first.id}/download", headers={"If-Match": '"not-this"'})
    assert stale.status_code == 412 and stale.data == b""
    beyond = client.get(f"/api/v1/files/{first.id}", headers={"Range": f"bytes={len(pdf)}-"})
    assert beyond.status_code == 416
    assert beyond.get_json()["error"]["code"] == "range_not_satisfiable"

    # A workshop pack streams the files out of the store.
    headers = bearer(trainer)
    workshop = client.post("/api/v1/workshops", headers=headers,
                           json={"title": "Budget day", "visibility": "public"}).get_json()
    assert client.post(f"/api/v1/workshops/{workshop['id']}/items", headers=headers,
                       json={"resource_id": resource.id}).status_code == 201
    export = client.get(f"/api/v1/workshops/{workshop['id']}/export", headers=headers)
    assert export.status_code == 200 and export.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(export.data))
    packed = {n: archive.read(n) for n in archive.namelist() if n.startswith("files/")}
    assert sorted(packed.values(), key=len) == sorted([pdf, docx], key=len)

    # kb check agrees, on this store.
    environment = kb_environment(store_settings)
    result = run_kb(instance, "check", env=environment)
    assert result.exit_code == 0, result.output
    assert f"File store: {store.url}" in result.output and "Everything agrees." in result.output
    health = client.get("/healthz")
    assert health.status_code == 200 and health.get_json()["files"] == "ok"


def test_kb_check_reports_missing_wrong_size_and_unreferenced_blobs(app, client, make_user,
                                                                    instance, store_settings,
                                                                    tmp_path):
    editor = make_user("editor")
    kept = upload(client, editor, [("kept.txt", b"kept for ever\n")], publish="true")
    lost = upload(client, editor, [("lost.txt", b"this one is lost\n")], publish="true")
    cut = upload(client, editor, [("cut.txt", b"this one is truncated\n")], publish="true")
    finish_background_work(app)
    file_of = {name: db.session.get(Resource, r.get_json()["id"]).current_files[0]
               for name, r in (("kept", kept), ("lost", lost), ("cut", cut))}
    store = filestore.store()
    store.delete(blob_key(file_of["lost"].sha256))
    truncated = tmp_path / "truncated"
    truncated.write_bytes(b"this one")
    store.delete(blob_key(file_of["cut"].sha256))
    store.put_file(blob_key(file_of["cut"].sha256), truncated)
    stray = tmp_path / "stray"
    stray.write_bytes(b"bytes no file refers to")
    store.put_file(blob_key(hashlib.sha256(b"bytes no file refers to").hexdigest()), stray)

    result = run_kb(instance, "check", env=kb_environment(store_settings))
    assert result.exit_code == 1
    assert f"Stored file missing (file ids): 1 ({file_of['lost'].id})" in result.output
    assert f"Stored file of the wrong size (file ids): 1 ({file_of['cut'].id})" in result.output
    assert "Stored files no resource refers to: 1" in result.output
    # Repair cannot make the bytes again: they stay reported, the exit code says so.
    repaired = run_kb(instance, "check", "--repair", env=kb_environment(store_settings))
    assert repaired.exit_code == 1 and "Stored file missing (file ids): 1" in repaired.output

    missing = client.get(f"/api/v1/files/{file_of['lost'].id}")
    assert missing.status_code == 404
    assert "missing from the file store" in missing.get_json()["error"]["message"]
    page = client.get(f"/files/{file_of['lost'].id}/download")
    assert page.status_code == 404 and b"missing from the file store" in page.data
    khmer = app.test_client()
    khmer.get("/language/km")
    page = khmer.get(f"/files/{file_of['lost'].id}/download")
    assert page.status_code == 404
    assert "ខ្លឹមសាររបស់ឯកសារនេះបាត់ពីកន្លែងរក្សាទុកឯកសារ" in page.get_data(as_text=True)
    assert client.get(f"/api/v1/files/{file_of['kept'].id}").data == b"kept for ever\n"


def test_kb_import_copies_files_into_the_store(app, make_user, instance, store_settings,
                                              tmp_path):
    make_user("admin")
    folder = tmp_path / "drive"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(PDF, folder / "guide.pdf")
    (folder / "sub" / "notes.txt").write_text("Commune council notes\n", encoding="utf-8")
    environment = kb_environment(store_settings)
    result = run_kb(instance, "import", str(folder), "--kind", "reform_document",
                    "--publish", env=environment)
    assert result.exit_code == 0, result.output
    assert "Imported: 2" in result.output
    db.session.expire_all()
    files = list(db.session.scalars(select(ResourceFile)))
    assert {f.original_name for f in files} == {"guide.pdf", "notes.txt"}
    assert all(f.extraction_state == ExtractionState.OK for f in files)
    keys = stored_keys(filestore.store())
    assert all(keys.get(blob_key(f.sha256)) == f.size for f in files)
    again = run_kb(instance, "import", str(folder), "--kind", "reform_document", env=environment)
    assert again.exit_code == 0 and "Already present: 2" in again.output
    assert run_kb(instance, "check", env=environment).exit_code == 0


@pytest.mark.parametrize("role", (None,) + ROLES)
def test_pages_with_stored_files_open_for_every_role(app, client, make_user, role):
    """The resource page, list pages with previews, the download and the thumbnail, as a
    visitor and each role, in English and Khmer."""
    editor = make_user("editor")
    created = upload(client, editor, [(PDF.name, PDF.read_bytes())], title="Budget guide",
                     publish="true")
    finish_background_work(app)
    stored = db.session.get(Resource, created.get_json()["id"]).current_files[0]
    reader = app.test_client()
    if role is not None:
        assert sign_in(reader, make_user(role).email).status_code == 302
    for language in ("en", "km"):
        reader.get(f"/language/{language}")
        page = reader.get(f"/resources/{stored.resource_id}")
        assert page.status_code == 200
        assert f"/files/{stored.id}/thumbnail.png" in page.get_data(as_text=True)
        listing = reader.get("/search?q=budget")
        assert listing.status_code == 200
        assert f"/files/{stored.id}/thumbnail.png" in listing.get_data(as_text=True)
    assert reader.get(f"/files/{stored.id}/thumbnail.png").status_code == 200
    download = reader.get(f"/files/{stored.id}/download")
    assert download.status_code == 200 and download.data == PDF.read_bytes()


@pytest.mark.parametrize("role", ("editor", "admin"))
def test_the_review_queue_shows_previews_from_the_store(app, client, make_user, role):
    contributor = make_user("contributor")
    created = upload(client, contributor, [(PDF.name, PDF.read_bytes())],
                     title="Draft budget guide", submit="true")
    assert created.status_code == 201, created.get_json()
    finish_background_work(app)
    stored = db.session.get(Resource, created.get_json()["id"]).current_files[0]
    reviewer = app.test_client()
    assert sign_in(reviewer, make_user(role).email).status_code == 302
    for language in ("en", "km"):
        reviewer.get(f"/language/{language}")
        queue = reviewer.get("/review")
        assert queue.status_code == 200
        assert f"/files/{stored.id}/thumbnail.png" in queue.get_data(as_text=True)


def test_kb_init_moves_old_thumbnails_into_the_store(app, client, make_user, instance,
                                                    store_settings):
    """Thumbnails used to be PNGs in instance/thumbnails/: an upgraded instance's `kb init` moves
    them into the store and records which files have one."""
    editor = make_user("editor")
    created = upload(client, editor, [("notes.txt", b"no preview for text\n")], publish="true")
    finish_background_work(app)
    stored = db.session.get(Resource, created.get_json()["id"]).current_files[0]
    old = instance / "thumbnails"
    old.mkdir()
    (old / f"{stored.sha256}.png").write_bytes(b"\x89PNG\r\n\x1a\nan old thumbnail")
    stored.has_thumbnail = None  # as the migration leaves files read before it
    db.session.commit()

    result = run_kb(instance, "init", env=kb_environment(store_settings))
    assert result.exit_code == 0, result.output
    assert "1 thumbnails moved into it" in result.output
    assert not old.exists()
    db.session.expire_all()
    assert db.session.get(ResourceFile, stored.id).has_thumbnail is True
    thumb = client.get(f"/files/{stored.id}/thumbnail.png")
    assert thumb.status_code == 200 and thumb.data == b"\x89PNG\r\n\x1a\nan old thumbnail"
    again = run_kb(instance, "init", env=kb_environment(store_settings))
    assert again.exit_code == 0 and "thumbnails moved" not in again.output


# --- two nodes ----------------------------------------------------------------------------------

def second_instance(template_instance, tmp_path) -> Path:
    node = tmp_path / "node-b"
    shutil.copytree(template_instance, node)
    (node / "secret_key").unlink(missing_ok=True)
    return node


def test_a_file_uploaded_through_one_node_is_read_and_served_by_the_other(
        instance, template_instance, tmp_path, s3_settings):
    """Two nodes, each with its own instance folder (index, scratch), sharing one database and
    one S3 store: node A takes the upload and leaves the reading to others; node B's worker
    reads it from the store and makes its thumbnail; both serve the file and the thumbnail."""
    with running_app(instance, EXTRACTION_MODE="off", **s3_settings) as node_a:
        database = node_a.config["SQLALCHEMY_DATABASE_URI"]
        editor = accounts.create_user("editor@example.org", "Editor", "editor",
                                      password="correct horse battery")
        headers = bearer(editor)
        created = upload(node_a.test_client(), editor, [(PDF.name, PDF.read_bytes())],
                         title="Uploaded on A", publish="true")
        assert created.status_code == 201, created.get_json()
        file_id = db.session.scalar(select(ResourceFile.id).where(
            ResourceFile.resource_id == created.get_json()["id"]))
        node_b_folder = second_instance(template_instance, tmp_path)
        with running_app(node_b_folder, SQLALCHEMY_DATABASE_URI=database,
                         **s3_settings) as node_b:
            from kb.services.worker import Worker

            worker = Worker(node_b).start()
            try:
                assert worker.drain(timeout=120)
            finally:
                worker.stop()
            b = node_b.test_client()
            download = b.get(f"/api/v1/files/{file_id}", headers=headers)
            assert download.status_code == 200 and download.data == PDF.read_bytes()
            assert b.get(f"/files/{file_id}/thumbnail.png").status_code == 200
            # B's local copy for reading, and the thumbnail it rendered, are gone.
            assert not [p for p in (node_b_folder / "tmp").glob("*") if p.is_file()]
        with node_a.app_context():
            stored = db.session.get(ResourceFile, file_id)
            assert stored.extraction_state == ExtractionState.OK and stored.has_thumbnail
            a = node_a.test_client()
            thumb = a.get(f"/files/{file_id}/thumbnail.png")
            assert thumb.status_code == 200 and thumb.data.startswith(b"\x89PNG")
            assert a.get(f"/files/{file_id}/download").data == PDF.read_bytes()


def test_nodes_with_separate_folders_say_the_file_is_missing_instead_of_failing(
        instance, template_instance, tmp_path):
    """The misconfiguration the README warns of (each node its own folder store): the other
    node answers 404 with the reason, not 500 (it raised FileNotFoundError before)."""
    with running_app(instance, EXTRACTION_MODE="inline") as node_a:
        database = node_a.config["SQLALCHEMY_DATABASE_URI"]
        editor = accounts.create_user("editor@example.org", "Editor", "editor",
                                      password="correct horse battery")
        created = upload(node_a.test_client(), editor, [("a.txt", b"only on node A\n")],
                         publish="true")
        file_id = db.session.scalar(select(ResourceFile.id).where(
            ResourceFile.resource_id == created.get_json()["id"]))
        with running_app(second_instance(template_instance, tmp_path),
                         SQLALCHEMY_DATABASE_URI=database) as node_b:
            answer = node_b.test_client().get(f"/api/v1/files/{file_id}")
            assert answer.status_code == 404
            assert "missing from the file store" in answer.get_json()["error"]["message"]


# --- when the store cannot be reached -----------------------------------------------------------

def test_an_unreachable_store_is_503_and_loses_nothing(instance, s3_settings, s3_server,
                                                       monkeypatch):
    with running_app(instance, EXTRACTION_MODE="off", **s3_settings) as app:
        editor = accounts.create_user("editor@example.org", "Editor", "editor",
                                      password="correct horse battery")
        created = upload(app.test_client(), editor, [("kept.txt", b"stored while up\n")],
                         publish="true")
        assert created.status_code == 201
        file_id = db.session.scalar(select(ResourceFile.id).where(
            ResourceFile.resource_id == created.get_json()["id"]))
        token_headers = bearer(editor)

    # The same instance, its credentials now refused by the store.
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not the secret")
    with running_app(instance, EXTRACTION_MODE="off", **s3_settings) as app:
        client = app.test_client()
        resources_before = db.session.scalar(select(func.count(Resource.id)))
        refused = upload(client, editor, [("new.txt", b"sent while refused\n")],
                         publish="true")
        assert refused.status_code == 503, refused.get_json()
        assert refused.get_json()["error"]["code"] == "unavailable"
        assert db.session.scalar(select(func.count(Resource.id))) == resources_before
        assert not any(filestore.store().scratch.glob("upload-*"))
        download = client.get(f"/api/v1/files/{file_id}", headers=token_headers)
        assert download.status_code == 503 and download.get_json()["error"]["code"] == \
            "unavailable"
        health = client.get("/healthz")
        assert health.status_code == 503
        assert health.get_json()["files"].startswith("the object store refused the request")

        # The background work waits for the store instead of failing the file.
        from kb.services.worker import Worker

        worker = Worker(app)
        assert worker.run_one() is False
        job = db.session.scalar(select(Job).where(Job.file_id == file_id))
        db.session.refresh(job)
        assert (job.state, job.attempts) == (JobState.QUEUED, 0)
        assert db.session.get(ResourceFile, file_id).extraction_state == \
            ExtractionState.PENDING

    # No server at all: the health check names it.
    (port,) = seaweedfs.free_ports(1)
    with running_app(instance, **{**s3_settings,
                                  "S3_ENDPOINT_URL": f"http://127.0.0.1:{port}"}) as app:
        health = app.test_client().get("/healthz")
        assert health.status_code == 503
        assert "cannot be reached" in health.get_json()["files"]


def test_a_missing_store_folder_makes_healthz_say_so(instance):
    with running_app(instance) as app:
        shutil.rmtree(app.config["FILE_STORE_PATH"])
        health = app.test_client().get("/healthz")
        assert health.status_code == 503
        assert health.get_json()["files"] == "the file store folder is missing"
        assert health.get_json()["status"] == "unavailable"


def test_a_large_download_is_streamed_not_loaded(app, client, make_user, tmp_path):
    """48 MB out through the real view, read as a client reads it: the server's Python memory
    grows by a few chunks, not by the file."""
    import tracemalloc

    from kb.services import ingestion

    size = 48 * 1024 * 1024
    big = tmp_path / "big.pdf"
    with open(big, "wb") as out:
        out.write(PDF.read_bytes())
        out.write(b"\n%" + b"x" * (size - PDF.stat().st_size - 2))
    editor = make_user("editor")
    with open(big, "rb") as handle:
        resource = ingestion.contribute(editor, {"title": "Big", "kind": "reform_document",
                                                 "objectives": ["1"]},
                                        [ingestion.Upload("big.pdf", handle)], publish=True,
                                        process=False)
    stored = resource.current_files[0]
    client.get(f"/files/{stored.id}/download", headers={"Range": "bytes=0-0"})  # warm up
    digest = hashlib.sha256()
    tracemalloc.start()
    try:
        response = client.get(f"/files/{stored.id}/download", buffered=False)
        assert response.status_code == 200
        for chunk in response.response:
            digest.update(chunk)
        response.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert digest.hexdigest() == stored.sha256
    assert peak < size / 4, peak

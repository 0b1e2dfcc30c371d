"""Uploads through the API and the page, downloads, and `kb import`, with real files."""
import hashlib
import io
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import text

from kb.extensions import db
from kb.models import Resource, ResourceFile
from kb.services import accounts
from kb.services.errors import PermissionDenied
from tests.conftest import (SHARED_DATA, csrf_token, database_connection,
                            finish_background_work, run_kb, sign_in)

OFFICE = SHARED_DATA / "office-docs"
PDF = OFFICE / "pdf" / "002-trivial-libre-office-writer.pdf"
DOCX = OFFICE / "docx" / "test.docx"
PPTX = OFFICE / "pptx" / "test.pptx"
ODT = OFFICE / "odt" / "simpletable.odt"


@pytest.fixture
def inline_app(app):
    """Extraction in the request, so a test can look at the result at once."""
    app.config["EXTRACTION_MODE"] = "inline"
    return app


def bearer(user):
    return {"Authorization": f"Bearer {accounts.create_token(user)}"}


def upload(client, user, files, **fields):
    data = {"kind": "reform_document", "objectives": ["1"], **fields,
            "file": [(io.BytesIO(content), name) for name, content in files]}
    return client.post("/api/v1/resources", data=data, headers=bearer(user),
                       content_type="multipart/form-data")


@pytest.mark.parametrize("path", [PDF, DOCX, PPTX, ODT])
def test_office_file_round_trip(inline_app, client, make_user, path):
    user = make_user("contributor")
    content = path.read_bytes()
    response = upload(client, user, [(path.name, content)], title="Round trip")
    assert response.status_code == 201, response.get_json()
    body = client.get(f"/api/v1/resources/{response.get_json()['id']}",
                      headers=bearer(user)).get_json()
    (stored,) = body["files"]
    assert stored["sha256"] == hashlib.sha256(content).hexdigest()
    assert stored["size"] == len(content) and stored["extraction"] == "ok"
    download = client.get(stored["url"], headers=bearer(user))
    assert download.status_code == 200 and download.data == content
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Disposition"].startswith("attachment")


def test_upload_is_prompt_and_text_arrives_in_the_background(app, client, make_user):
    user = make_user("contributor")
    response = upload(client, user, [("guide.txt", "Commune council budget guide".encode())])
    resource = db.session.get(Resource, response.get_json()["id"])
    finish_background_work(app)
    (stored,) = resource.current_files
    assert stored.extraction_state.value == "ok"
    assert "Commune council budget guide" in stored.text


def test_the_title_defaults_from_the_file_its_author_and_date_are_only_offered(
        inline_app, client, make_user):
    from tests.conftest import csrf_token, sign_in

    user = make_user("contributor")
    core = OFFICE / "docx" / "doc-coreprops.docx"
    response = upload(client, user, [(core.name, core.read_bytes())])
    resource_id = response.get_json()["id"]
    body = client.get(f"/api/v1/resources/{resource_id}", headers=bearer(user)).get_json()
    assert body["title"] == "Title"
    assert body["authors"] == [] and body["date"] is None  # not filled in unseen

    sign_in(client, user.email)
    page = client.get(f"/resources/{resource_id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "The file suggests" in text and "Steve Canny" in text
    token = csrf_token(client, f"/resources/{resource_id}")
    nothing = client.post(f"/resources/{resource_id}/suggestions", data={"csrf_token": token},
                          follow_redirects=True)
    assert nothing.status_code == 200 and "Choose what to take" in nothing.get_data(as_text=True)
    taken = client.post(f"/resources/{resource_id}/suggestions",
                        data={"csrf_token": token, "take": "authors"}, follow_redirects=True)
    assert taken.status_code == 200 and "Taken from the file." in taken.get_data(as_text=True)
    body = client.get(f"/api/v1/resources/{resource_id}", headers=bearer(user)).get_json()
    assert body["authors"] == ["Steve Canny"]
    from kb.services import suggestions

    assert suggestions.for_resource(user, db.session.get(Resource, resource_id)).authors == []


def test_a_program_is_never_offered_as_an_author(inline_app, client, make_user):
    from kb.services import suggestions

    import docx

    user, member = make_user("contributor"), make_user("member")
    document = docx.Document()  # python-docx's own template names itself as the author
    document.add_paragraph("Commune budget hearing notes")
    made = io.BytesIO()
    document.save(made)
    response = upload(client, user, [("notes.docx", made.getvalue())])
    resource = db.session.get(Resource, response.get_json()["id"])
    assert (resource.current_files[0].properties or {}).get("author") == "python-docx"
    assert suggestions.for_resource(user, resource).authors == []
    assert not suggestions.for_resource(member, resource)  # nothing for who may not edit
    with pytest.raises(PermissionDenied):
        suggestions.accept(member, resource, ["authors"])


def test_contributors_draft_editors_may_publish(inline_app, client, make_user):
    contributor, editor = make_user("contributor"), make_user("editor")
    draft = upload(client, contributor, [("a.txt", b"alpha text")])
    assert draft.status_code == 201 and draft.get_json()["status"] == "draft"
    submitted = upload(client, contributor, [("b.txt", b"beta text")], submit="true")
    assert submitted.get_json()["status"] == "submitted"
    refused = upload(client, contributor, [("c.txt", b"gamma text")], publish="true")
    assert refused.status_code == 403
    published = upload(client, editor, [("d.txt", b"delta text")], publish="true")
    assert published.get_json()["status"] == "published"
    member = make_user("member")
    assert upload(client, member, [("e.txt", b"epsilon text")]).status_code == 403
    anonymous = client.post("/api/v1/resources", data={"file": (io.BytesIO(b"x"), "x.txt")},
                            content_type="multipart/form-data")
    assert anonymous.status_code == 401


@pytest.mark.parametrize("hostile", [
    "../../x.txt", "/etc/passwd.txt", "C:\\Windows\\evil.txt", "a\x00b.txt",
    ("ក" * 120) + ".txt", "x" * 300 + ".txt", "<script>alert(1)</script>.txt",
])
def test_hostile_file_names_are_kept_only_as_safe_metadata(inline_app, client, make_user,
                                                          instance, hostile):
    user = make_user("contributor")
    content = f"content for {hostile!r}".encode()
    response = upload(client, user, [(hostile, content)], title="Hostile name")
    assert response.status_code == 201, response.get_json()
    body = client.get(f"/api/v1/resources/{response.get_json()['id']}",
                      headers=bearer(user)).get_json()
    name = body["files"][0]["filename"]
    assert "/" not in name and "\\" not in name and "\x00" not in name
    assert len(name.encode()) <= 255 and name.endswith(".txt")
    digest = hashlib.sha256(content).hexdigest()
    stored = instance / "files" / digest[:2] / digest[2:4] / digest
    assert stored.read_bytes() == content
    assert not (instance.parent / "x.txt").exists() and not Path("/etc/passwd.txt").exists()
    page = client.get(f"/resources/{response.get_json()['id']}", headers=bearer(user))
    assert "<script>alert(1)</script>" not in page.get_data(as_text=True)


def test_khmer_file_name_is_downloaded_with_its_name(inline_app, client, make_user):
    editor = make_user("editor")
    name = "ក្រុមប្រឹក្សាឃុំ.txt"
    response = upload(client, editor, [(name, "សេចក្ដីណែនាំ".encode())], publish="true")
    body = client.get(f"/api/v1/resources/{response.get_json()['id']}").get_json()
    download = client.get(body["files"][0]["url"])
    assert f"filename*=UTF-8''{quote(name)}" in download.headers["Content-Disposition"]


@pytest.mark.parametrize("name,content", [
    ("report.pdf", b"PK\x03\x04not really a pdf" + b"\x00" * 100),
    ("slides.docx", PDF.read_bytes() if PDF.exists() else b"%PDF-1.4"),
    ("virus.pdf", b"MZ\x90\x00\x03" + b"\x00" * 200),
    ("program", b"\x7fELF\x02\x01\x01" + b"\x00" * 200),
])
def test_mismatched_and_disallowed_types_are_refused_clearly(client, make_user, instance,
                                                             name, content):
    user = make_user("contributor")
    response = upload(client, user, [(name, content)], title="Bad")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["field"] == "file" and name in error["message"]
    assert db.session.scalar(db.select(db.func.count(Resource.id))) == 0
    assert not list((instance / "files").glob("??/??/*"))  # nothing kept
    assert not list((instance / "files" / "tmp").glob("*"))


def test_oversized_upload_is_413_with_a_clear_message(app, client, make_user, instance):
    user = make_user("contributor")
    app.config["MAX_FILE_SIZE"] = 1000
    response = upload(client, user, [("big.txt", b"a" * 5000)], title="Big")
    assert response.status_code == 413
    assert "big.txt is larger than the limit" in response.get_json()["error"]["message"]
    app.config["MAX_CONTENT_LENGTH"] = 2000
    response = upload(client, user, [("bigger.txt", b"a" * 5000)], title="Bigger")
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "too_large"
    assert not list((instance / "files").glob("??/??/*"))


def test_duplicate_upload_says_where_it_already_is(inline_app, client, make_user):
    editor = make_user("editor")
    first = upload(client, editor, [("guide.txt", b"the same bytes")], title="First home",
                   publish="true")
    again = upload(client, make_user("contributor"), [("copy.txt", b"the same bytes")],
                   title="Second")
    assert again.status_code == 409
    message = again.get_json()["error"]["message"]
    assert "First home" in message and str(first.get_json()["id"]) in message
    assert db.session.scalar(db.select(db.func.count(ResourceFile.id))) == 1


def test_duplicate_of_a_hidden_draft_does_not_reveal_it(inline_app, client, make_user):
    upload(client, make_user("contributor"), [("a.txt", b"secret draft bytes")],
           title="Secret draft title")
    again = upload(client, make_user("contributor"), [("b.txt", b"secret draft bytes")])
    assert again.status_code == 409
    assert "Secret draft title" not in again.get_json()["error"]["message"]


def test_patch_and_delete(inline_app, client, make_user):
    owner, other = make_user("contributor"), make_user("contributor")
    created = upload(client, owner, [("p.txt", b"patch me")], title="Before").get_json()
    url = f"/api/v1/resources/{created['id']}"
    changed = client.patch(url, json={"title": "After", "tags": "budget, NCDD",
                                      "objectives": ["2", "3"], "commune_code": "010201"},
                           headers=bearer(owner))
    assert changed.status_code == 200
    body = changed.get_json()
    assert body["title"] == "After" and body["objectives"] == ["2", "3"]
    assert body["place"]["district"]["code"] == "0102"
    bad = client.patch(url, json={"date": "31/12/2024"}, headers=bearer(owner))
    assert bad.status_code == 400 and bad.get_json()["error"]["field"] == "date"
    assert client.patch(url, json={"title": "Theirs"}, headers=bearer(other)).status_code == 404
    assert client.delete(url, headers=bearer(other)).status_code == 404
    assert client.delete(url, headers=bearer(owner)).status_code == 204
    assert client.get(url, headers=bearer(owner)).status_code == 404


def test_submit_through_the_api(inline_app, client, make_user):
    owner = make_user("contributor")
    created = upload(client, owner, [("s.txt", b"submit me")], title="S").get_json()
    response = client.post(f"/api/v1/resources/{created['id']}/submit", headers=bearer(owner))
    assert response.status_code == 200 and response.get_json()["status"] == "submitted"
    twice = client.post(f"/api/v1/resources/{created['id']}/submit", headers=bearer(owner))
    assert twice.status_code == 409  # its state forbids it
    assert twice.get_json()["error"]["field"] == "status"


def test_contribute_page_uploads_several_files(inline_app, client, make_user):
    user = make_user("contributor")
    sign_in(client, user.email)
    token = csrf_token(client, "/contribute")
    response = client.post("/contribute", data={
        "csrf_token": token, "title": "Commune planning workshop", "kind": "training_material",
        "objectives": ["1", "3"], "language": ["en"], "tags": "planning", "org": "CARD",
        "commune_code": "010201", "action": "submit",
        "file": [(io.BytesIO(DOCX.read_bytes()), DOCX.name),
                 (io.BytesIO(PPTX.read_bytes()), PPTX.name)],
    }, content_type="multipart/form-data")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Commune planning workshop" in page and DOCX.name in page and PPTX.name in page
    assert "Read the text" in page
    resource = db.session.scalar(db.select(Resource))
    assert resource.status.value == "submitted" and len(resource.current_files) == 2


def test_contribute_page_shows_errors_next_to_fields(client, make_user):
    user = make_user("contributor")
    sign_in(client, user.email)
    token = csrf_token(client, "/contribute")
    no_file = client.post("/contribute", data={"csrf_token": token, "kind": "reform_document"},
                          content_type="multipart/form-data")
    assert no_file.status_code == 400
    assert "Choose at least one file." in no_file.get_data(as_text=True)
    no_kind = client.post("/contribute", data={
        "csrf_token": token, "title": "T", "file": [(io.BytesIO(b"hello"), "h.txt")]},
        content_type="multipart/form-data")
    assert no_kind.status_code == 400
    assert 'id="kind-error"' in no_kind.get_data(as_text=True)


def test_members_cannot_open_the_contribute_page(client, make_user):
    sign_in(client, make_user("member").email)
    assert client.get("/contribute").status_code == 403


def test_failed_extraction_is_stored_and_shown(inline_app, client, make_user):
    user = make_user("contributor")
    encrypted = OFFICE / "pdf" / "libreoffice-writer-password.pdf"
    created = upload(client, user, [(encrypted.name, encrypted.read_bytes())],
                     title="Locked").get_json()
    body = client.get(f"/api/v1/resources/{created['id']}", headers=bearer(user)).get_json()
    (stored,) = body["files"]
    assert stored["extraction"] == "failed" and "encrypted" in stored["extraction_error"]
    assert client.get(stored["url"], headers=bearer(user)).data == encrypted.read_bytes()


def test_kb_import_with_manifest_is_safe_to_run_again(instance, tmp_path):
    folder = tmp_path / "drive"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(DOCX, folder / "note.docx")
    shutil.copy(PDF, folder / "sub" / "report.pdf")
    (folder / "plain.txt").write_text("Kampong Cham commune practice", encoding="utf-8")
    (folder / "bad.pdf").write_bytes(b"MZ not a pdf")
    (folder / "manifest.csv").write_text(
        "filename,title,kind,objectives,tags,language,date,org,commune_code\n"
        "note.docx,Note on D&D,policy_feedback,2;3,\"budget, NCDD\",en,2024-05-01,CARD,010201\n",
        encoding="utf-8")
    assert run_kb(instance, "users", "create", "a@example.org", "--name", "A", "--role", "admin",
                  "--password-stdin", input="long enough password\n").exit_code == 0
    first = run_kb(instance, "import", str(folder), "--objective", "1", "--lang", "en",
                   "--tag", "imported", "--publish")
    assert "Imported: 3" in first.output and "Failed: 1" in first.output
    assert "bad.pdf" in first.output
    assert first.exit_code == 0
    second = run_kb(instance, "import", str(folder))
    assert "Imported: 0" in second.output and "Already present: 3" in second.output
    with database_connection(instance) as conn:
        row = conn.execute(text(
            "SELECT r.title, k.code, CAST(r.date AS VARCHAR(10)), o.short_name, r.commune_code, "
            "r.status FROM resources r JOIN resource_kinds k ON k.id = r.kind_id "
            "JOIN organisations o ON o.id = r.organisation_id WHERE r.title = 'Note on D&D'"
        )).one()
        objectives = conn.execute(text(
            "SELECT ob.number FROM resource_objectives ro "
            "JOIN objectives ob ON ob.id = ro.objective_id "
            "JOIN resources r ON r.id = ro.resource_id WHERE r.title = 'Note on D&D'"
        )).scalars().all()
        texts = conn.execute(text("SELECT text FROM resource_files")).scalars().all()
    assert row == ("Note on D&D", "policy_feedback", "2024-05-01", "CARD", "010201", "published")
    assert sorted(str(number) for number in objectives) == ["2", "3"]
    assert any("Kampong Cham commune practice" in t for t in texts)


def test_imported_text_files_take_their_title_and_language_from_the_text(app, make_user,
                                                                         tmp_path):
    """The first line of a text file is its title (not "313328 orig"), and its language is
    read from its script; a file whose first line is a paragraph keeps its file name."""
    folder = tmp_path / "drive"
    folder.mkdir()
    news = SHARED_DATA / "khmer-news-100" / "313328_orig.txt"
    shutil.copy(news, folder / news.name)
    (folder / "annual_report.txt").write_text(
        "Annual report of the Siem Reap provincial council\n\nThe council met twelve times "
        "and approved the commune investment plans.\n", encoding="utf-8")
    (folder / "notes.txt").write_text("word " * 100 + "\nsecond line", encoding="utf-8")
    summary = _import(make_user("editor"), folder, publish=True)
    assert len(summary.imported) == 3
    db.session.expire_all()
    resources = {r.current_files[0].original_name: r
                 for r in db.session.scalars(db.select(Resource))}
    headline = news.read_text(encoding="utf-8").split("\n")[0].strip()
    assert resources[news.name].title == headline
    assert resources[news.name].languages == ["km"]
    assert resources["annual_report.txt"].title == (
        "Annual report of the Siem Reap provincial council")
    assert resources["annual_report.txt"].languages == ["en"]
    assert resources["notes.txt"].title == "notes"


def test_kb_import_exits_non_zero_when_nothing_could_be_imported(instance, tmp_path):
    (tmp_path / "only.exe").write_bytes(b"MZ\x90\x00" + b"\x00" * 100)
    run_kb(instance, "users", "create", "a@example.org", "--name", "A", "--role", "admin",
           "--password-stdin", input="long enough password\n")
    result = run_kb(instance, "import", str(tmp_path))
    assert result.exit_code == 1 and "Failed: 1" in result.output


# --- Bulk import in batches, and small plain text read in process ---------------------------

TEXT_SAMPLES = {
    "english.txt": "Commune budget guide\r\nThe council\tmeets   monthly.\n\n\n\nEnd.".encode(),
    "khmer.txt": "ខែ្មរ ស្រ្តី ធ្វេីការ ឃុំ សង្កាត់ ក្រុមប្រឹក្សាឃុំ\n".encode() * 20,
    "cp1252.txt": "Caf\xe9 na\xefve \u201cquoted\u201d d\xe9centralisation\n".encode("cp1252") * 10,
    "utf16.txt": "Decentralisation and deconcentration ឃុំ\n".encode("utf-16") * 5,
    "controls.txt": b"a\x00b\x01c\x7f line\x0cbreak \xef\xbf\xbe" + b"word " * 10,
    "invalid-utf8.txt": b"abc \xff\xfe\xfd def " * 30,
    "tiny.txt": b"x",
}


@pytest.mark.parametrize("name", sorted(TEXT_SAMPLES))
def test_text_read_in_process_is_what_the_child_reads(tmp_path, name):
    from kb.ingest.extract import extract, extract_file, extract_text_in_process

    path = tmp_path / name
    path.write_bytes(TEXT_SAMPLES[name])
    here = extract_text_in_process(path, "text/plain")
    child = extract_file(path, "text/plain")
    assert here == child and here.state == "ok"
    assert extract(path, "text/plain") == child


def test_only_small_plain_text_is_read_in_process(tmp_path, monkeypatch):
    from kb.ingest import extract as extraction
    from kb.ingest.extract import runner

    children = []
    real_run_child = runner.run_child

    def counting_run_child(request, timeout, memory_mb):
        children.append(Path(request["path"]).name)
        return real_run_child(request, timeout, memory_mb)

    monkeypatch.setattr(extraction, "run_child", counting_run_child)
    small = tmp_path / "small.txt"
    small.write_text("small text " * 100)
    big = tmp_path / "big.txt"
    big.write_text("big text " * (extraction.IN_PROCESS_MAX_BYTES // 9 + 10))
    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\n\nsmall markdown\n")
    page = tmp_path / "page.html"
    page.write_text("<title>Page</title><p>small html</p>")
    assert extraction.extract(small, "text/plain").ok and children == []
    assert extraction.extract(big, "text/plain").ok and children == ["big.txt"]
    assert extraction.extract(notes, "text/markdown").properties["title"] == "Notes"
    assert extraction.extract(page, "text/html").properties["title"] == "Page"
    assert children == ["big.txt", "notes.md", "page.html"]
    # In-process reading refuses what it is not for, and never raises.
    assert extraction.extract_text_in_process(notes, "text/markdown").state == "failed"
    assert extraction.extract_text_in_process(tmp_path / "gone.txt", "text/plain").error == \
        "The file is missing."


def test_html_whitespace_is_collapsed_in_linear_time():
    import random
    import re
    import time

    from kb.ingest.extract.text import _LINE_BREAKS, html_text

    def collapse(match):
        return "\n\n" if match.group().count("\n") > 1 else "\n"

    before = re.compile(r"[ \t]*\n[ \t\n]*")  # what it was: quadratic on runs of spaces
    rng = random.Random(7)
    for _ in range(5000):
        text = "".join(rng.choice(" \t\nab") for _ in range(rng.randint(0, 40)))
        assert _LINE_BREAKS.sub(collapse, text) == before.sub(collapse, text)
    started = time.monotonic()
    text, _ = html_text("<p>a" + " " * 500_000 + "b</p>" + " \t" * 200_000 + "<br>c")
    assert time.monotonic() - started < 5
    assert text.split() == ["a", "b", "c"]


def _import(actor, folder, **options):
    from kb.services import importer

    return importer.import_files(actor, importer.collect_files([folder]),
                                 {"kind": "reform_document", "visibility": "public"},
                                 **options)


def _write_texts(folder, count, start=0):
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(start, start + count):
        (folder / f"doc{n:03d}.txt").write_text(f"Document {n} about commune planning "
                                                f"number{n}", encoding="utf-8")


def test_bulk_import_in_batches_stores_reads_and_indexes_everything(app, make_user, instance,
                                                                     tmp_path, monkeypatch):
    from kb.services import importer, indexing
    from kb.services import search as search_service
    from werkzeug.datastructures import MultiDict

    monkeypatch.setattr(importer, "BATCH_FILES", 3)
    folder = tmp_path / "drive"
    _write_texts(folder, 8)
    (folder / "z-copy.txt").write_text("Document 2 about commune planning number2",
                                       encoding="utf-8")  # the same bytes as doc002.txt
    shutil.copy(PDF, folder / "report.pdf")
    (folder / "program.exe").write_bytes(b"MZ\x90\x00" + b"\x00" * 100)
    editor = make_user("editor")
    editor_email = editor.email
    seen = []
    summary = _import(editor, folder, publish=True,
                      on_progress=lambda path, outcome: seen.append((path.name, outcome)))
    assert len(summary.imported) == 9 and not summary.extraction_failed
    assert [Path(p).name for p, _ in summary.duplicates] == ["z-copy.txt"]
    # Says where: in the same batch (a text file is titled by its first line).
    assert '"Document 2 about commune planning number2"' in summary.duplicates[0][1]
    assert [Path(p).name for p, _ in summary.failed] == ["program.exe"]
    assert sorted(seen) == sorted([(Path(p).name, "imported") for p, _ in summary.imported]
                                  + [("z-copy.txt", "duplicate"), ("program.exe", "failed")])
    db.session.expire_all()
    files = db.session.scalars(db.select(ResourceFile)).all()
    assert len(files) == 9 and all(f.extraction_state.value == "ok" for f in files)
    for stored in files:
        assert (instance / "files" / stored.sha256[:2] / stored.sha256[2:4]
                / stored.sha256).exists()
        assert stored.resource.status.value == "published"
    assert {r.languages[0] for r in db.session.scalars(db.select(Resource))} == {"en"}
    assert not list((instance / "files" / "tmp").glob("*"))
    assert indexing.check().ok
    page = search_service.run(None, search_service.params_from(MultiDict({"q": "number7"})))
    assert [item.resource.title for item in page.items] == [
        "Document 7 about commune planning number7"]
    again = _import(accounts.get_user_by_email(editor_email), folder, publish=True)
    assert not again.imported and len(again.duplicates) == 10


def test_a_file_failing_within_a_batch_costs_the_others_nothing(app, make_user, tmp_path,
                                                                 monkeypatch):
    from kb.services import importer

    monkeypatch.setattr(importer, "BATCH_FILES", 4)
    folder = tmp_path / "drive"
    _write_texts(folder, 6)
    encrypted = OFFICE / "pdf" / "libreoffice-writer-password.pdf"
    shutil.copy(encrypted, folder / "locked.pdf")
    (folder / "manifest.csv").write_text(
        "filename,title,commune_code\n"
        "doc002.txt,Bad place,999999\n"       # refused once its rows are in the batch
        "doc004.txt,Good title,010201\n", encoding="utf-8")
    summary = _import(make_user("editor"), folder, publish=True)
    assert sorted(Path(p).name for p, _ in summary.imported) == [
        "doc000.txt", "doc001.txt", "doc003.txt", "doc004.txt", "doc005.txt", "locked.pdf"]
    ((failed, reason),) = summary.failed
    assert Path(failed).name == "doc002.txt" and reason == "Unknown commune code."
    ((unread, why),) = summary.extraction_failed
    assert Path(unread).name == "locked.pdf" and "encrypted" in why
    db.session.expire_all()
    titles = {r.title for r in db.session.scalars(db.select(Resource))}
    assert "Good title" in titles and "Bad place" not in titles
    locked = db.session.scalar(db.select(ResourceFile).where(
        ResourceFile.original_name == "locked.pdf"))
    assert locked.extraction_state.value == "failed" and "encrypted" in locked.extraction_error
    assert db.session.scalar(db.select(db.func.count(ResourceFile.id))) == 6


def test_a_batch_that_cannot_be_committed_is_stored_one_by_one(app, make_user, tmp_path,
                                                                monkeypatch):
    from sqlalchemy.exc import OperationalError

    from kb.services import importer

    monkeypatch.setattr(importer, "BATCH_FILES", 3)
    folder = tmp_path / "drive"
    _write_texts(folder, 7)
    editor = make_user("editor")
    real_commit, failures = db.session.commit, []

    def commit_failing_once():
        if not failures:
            failures.append(1)
            raise OperationalError("COMMIT", {}, Exception("database is locked"))
        return real_commit()

    monkeypatch.setattr(db.session, "commit", commit_failing_once)
    summary = _import(editor, folder, publish=True)
    assert failures and len(summary.imported) == 7 and not summary.failed
    assert not summary.duplicates
    db.session.expire_all()
    files = db.session.scalars(db.select(ResourceFile)).all()
    assert len(files) == 7 and all(f.extraction_state.value == "ok" and f.text for f in files)
    assert sorted(rid for _, rid in summary.imported) == sorted(f.resource_id for f in files)


@pytest.mark.parametrize("role", ["contributor", "editor", "admin"])
def test_contribute_page_opens_for_every_role_that_may_contribute(client, make_user, role):
    """The empty form renders (it once answered 500: the template read a list from a dict)."""
    sign_in(client, make_user(role).email)
    page = client.get("/contribute")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="objectives"' in html and 'name="file"' in html

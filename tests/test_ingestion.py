"""Uploads through the API and the page, downloads, and `kb import`, with real files."""
import hashlib
import io
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest

from kb.extensions import db
from kb.models import Resource, ResourceFile
from kb.services import accounts
from tests.conftest import SHARED_DATA, csrf_token, run_kb, sign_in

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
    executor = app.extensions["kb_processing"]
    executor.submit(lambda: None).result(timeout=60)  # the queue runs in order: wait for it
    db.session.expire_all()
    (stored,) = resource.current_files
    assert stored.extraction_state.value == "ok"
    assert "Commune council budget guide" in stored.text


def test_title_and_author_default_from_the_file(inline_app, client, make_user):
    user = make_user("contributor")
    core = OFFICE / "docx" / "doc-coreprops.docx"
    response = upload(client, user, [(core.name, core.read_bytes())])
    body = client.get(f"/api/v1/resources/{response.get_json()['id']}",
                      headers=bearer(user)).get_json()
    assert body["title"] == "Title"
    assert body["authors"] == ["Steve Canny"]


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
    assert twice.status_code == 400


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
    import sqlite3
    with sqlite3.connect(instance / "kb.sqlite3") as conn:
        row = conn.execute(
            "SELECT r.title, k.code, r.date, o.short_name, r.commune_code, r.status "
            "FROM resources r JOIN resource_kinds k ON k.id = r.kind_id "
            "JOIN organisations o ON o.id = r.organisation_id WHERE r.title = 'Note on D&D'"
        ).fetchone()
        objectives = conn.execute(
            "SELECT group_concat(ob.number) FROM resource_objectives ro "
            "JOIN objectives ob ON ob.id = ro.objective_id JOIN resources r ON r.id = ro.resource_id "
            "WHERE r.title = 'Note on D&D'").fetchone()[0]
        texts = [r[0] for r in conn.execute("SELECT text FROM resource_files")]
    assert row == ("Note on D&D", "policy_feedback", "2024-05-01", "CARD", "010201", "published")
    assert sorted(objectives.split(",")) == ["2", "3"]
    assert any("Kampong Cham commune practice" in t for t in texts)


def test_kb_import_exits_non_zero_when_nothing_could_be_imported(instance, tmp_path):
    (tmp_path / "only.exe").write_bytes(b"MZ\x90\x00" + b"\x00" * 100)
    run_kb(instance, "users", "create", "a@example.org", "--name", "A", "--role", "admin",
           "--password-stdin", input="long enough password\n")
    result = run_kb(instance, "import", str(tmp_path))
    assert result.exit_code == 1 and "Failed: 1" in result.output

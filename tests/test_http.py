"""What responses say about themselves: compression, caching for signed-in readers, Vary for
the reader's language, and cookies that work on a plain-HTTP LAN install."""
from __future__ import annotations

import gzip
import io

import pytest

from kb import create_app
from kb.extensions import db
from kb.services import ingestion
from tests.conftest import CSRF_RE, PASSWORD, sign_in
from tests.factories import make_resource


def vary(response) -> set[str]:
    return {part.strip().lower() for part in response.headers.get("Vary", "").split(",")}


@pytest.mark.parametrize("path", ["/", "/search?q=commune", "/feeds/resources.atom",
                                  "/static/css/kb.css", "/api/v1/openapi.json"])
def test_pages_feeds_and_assets_are_compressed(client, path):
    plain = client.get(path)
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    packed = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert packed.status_code == 200
    if path.startswith("/static/"):
        # Static files are streamed: compressed on the fly with a streaming algorithm.
        streamed = client.get(path, headers={"Accept-Encoding": "br, gzip"})
        assert streamed.headers["Content-Encoding"] == "br"
        return
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data) == plain.data
    assert len(packed.data) < len(plain.data)
    assert "accept-encoding" in vary(packed)


def test_a_stored_file_is_sent_as_it_was_given(client, make_user):
    editor = make_user("editor")
    body = b"Commune water notes. " * 200
    resource = ingestion.contribute(editor, {"title": "Notes", "kind": "best_practice",
                                             "objectives": ["2"], "language": ["en"]},
                                    [ingestion.Upload("notes.txt", io.BytesIO(body))],
                                    publish=True, process=False)
    stored = resource.current_files[0]
    response = client.get(f"/files/{stored.id}/download", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers
    assert response.data == body and response.headers["ETag"] == f'"{stored.sha256}"'


def test_signed_in_pages_are_never_stored(app, client, make_user):
    editor = make_user("editor")
    draft = make_resource(editor, title="A draft for the editor only")
    anonymous = client.get("/")
    assert anonymous.status_code == 200
    assert "no-store" not in anonymous.headers.get("Cache-Control", "")
    sign_in(client, editor.email)
    for path in ("/", f"/resources/{draft.id}", "/account", "/review", "/search?q=draft"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store", path
    # What a view decides for itself stays (a file's own validators).
    assert client.get("/static/css/kb.css").headers.get("Cache-Control") != "no-store"


@pytest.mark.parametrize("path", ["/", "/search?q=commune", "/new", "/feeds/resources.atom",
                                  "/signin"])
def test_what_varies_with_the_language_says_so(client, path):
    english = client.get(path, headers={"Accept-Language": "en"})
    khmer = client.get(path, headers={"Accept-Language": "km"})
    assert english.status_code == khmer.status_code == 200
    assert english.data != khmer.data  # it does vary
    assert {"accept-language", "cookie"} <= vary(english)
    assert {"accept-language", "cookie"} <= vary(khmer)


def remember_cookie(client, email):
    page = client.get("/signin")
    token = CSRF_RE.search(page.get_data(as_text=True)).group(1)
    response = client.post("/signin", data={"email": email, "password": PASSWORD,
                                            "remember": "on", "csrf_token": token})
    assert response.status_code == 302
    cookies = [value for name, value in response.headers.items() if name == "Set-Cookie"]
    remember = [c for c in cookies if c.startswith("remember_token=")]
    assert remember, cookies
    return remember[0].lower()


@pytest.mark.parametrize("secure", [True, False])
def test_the_remember_me_cookie_follows_session_cookie_secure(instance, secure):
    app = create_app(config={"TESTING": True, "SIGNIN_RATE_LIMIT": "1000 per minute",
                             "SESSION_COOKIE_SECURE": secure}, instance_path=str(instance))
    with app.app_context():
        from kb.models import Role
        from kb.services import accounts

        accounts.create_user("lan@example.org", "LAN user", Role.MEMBER, password=PASSWORD)
        cookie = remember_cookie(app.test_client(), "lan@example.org")
        assert ("; secure" in cookie) is secure
        assert app.config["REMEMBER_COOKIE_SECURE"] is secure
        db.session.remove()
        db.engine.dispose()


def test_remember_cookie_secure_can_still_be_set_on_its_own(instance, monkeypatch):
    monkeypatch.setenv("KB_SESSION_COOKIE_SECURE", "0")
    monkeypatch.setenv("KB_REMEMBER_COOKIE_SECURE", "1")
    app = create_app(instance_path=str(instance))
    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert app.config["REMEMBER_COOKIE_SECURE"] is True

"""Input at the edge: no input reaches a 500 — not a huge id, not a NUL byte, not a lone
surrogate, not a deep JSON body, not a JSON value of the wrong type."""
from __future__ import annotations

import io
import itertools
import json
import re

import pytest

from kb.extensions import db
from kb.models import Resource
from kb.services import accounts, workshops
from tests.conftest import csrf_token, sign_in
from tests.factories import make_resource

HUGE_IDS = (2**31, 2**31 + 7, 2**63, 2**63 + 1, 10**30)
INT_PARAM = re.compile(r"<int:(\w+)>")


def bearer(user) -> dict:
    return {"Authorization": f"Bearer {accounts.create_token(user)}"}


def id_routes(app):
    """(rule, methods) of every route that takes an id in its path."""
    for rule in app.url_map.iter_rules():
        if INT_PARAM.search(rule.rule):
            yield rule.rule, sorted(rule.methods - {"HEAD", "OPTIONS"})


def with_id(rule: str, number: int) -> str:
    url = INT_PARAM.sub(str(number), rule)
    return re.sub(r"<(?:\w+:)?\w+>", "x", url)


@pytest.mark.parametrize("number", HUGE_IDS)
def test_every_route_answers_404_for_an_id_beyond_the_database(app, client, make_user, number):
    admin = make_user("admin")
    api = bearer(admin)
    sign_in(client, admin.email)
    token = csrf_token(client, "/account")
    checked = 0
    for rule, methods in id_routes(app):
        url = with_id(rule, number)
        for method in methods:
            if url.startswith("/api/"):
                response = client.open(url, method=method, headers=api, json={"title": "x"})
            else:
                response = client.open(url, method=method, data={"csrf_token": token})
            assert response.status_code == 404, (method, url, response.status_code)
            checked += 1
    assert checked >= 30, checked


def test_ids_in_forms_and_query_strings_beyond_the_database_are_not_found(client, make_user):
    admin = make_user("admin")
    sign_in(client, admin.email)
    token = csrf_token(client, "/account")
    for huge in (str(2**31), str(2**63), "9" * 5000, "-1", "1.5", "x"):
        revoke = client.post("/account", data={"action": "revoke", "token_id": huge,
                                               "csrf_token": token})
        assert revoke.status_code in (302, 400, 404), huge
        assert client.post("/admin/vocabularies", data={
            "type": "kind", "id": huge, "csrf_token": token}).status_code == 404
        assert client.get("/browse/kinds/reform_document", query_string={
            "page": huge}).status_code in (200, 404)
        assert client.get("/oai", query_string={
            "verb": "GetRecord", "metadataPrefix": "oai_dc",
            "identifier": f"oai:kb:resource/{huge}"}).status_code == 200


@pytest.mark.parametrize("path", ["/signin", "/join"])
@pytest.mark.parametrize("bad", ["\x00", "a\x00b"])
def test_a_nul_byte_in_any_form_field_is_a_clear_400_even_without_an_account(client, path,
                                                                              bad):
    token = csrf_token(client, path)
    fields = {"email": f"someone{bad}@example.org", "password": "long enough password",
              "name": "Someone", "message": "hello"}
    for name in fields:
        response = client.post(path, data={**fields, name: fields[name] + bad,
                                           "csrf_token": token})
        assert response.status_code == 400, name
        assert "cannot be stored" in response.get_data(as_text=True), name


def test_nul_bytes_in_query_strings_and_paths_are_refused(client):
    assert client.get("/search", query_string={"q": "budget\x00"}).status_code == 400
    assert client.get("/api/v1/search", query_string={"q": "a\x00"}).get_json()["error"][
        "field"] == "q"
    assert client.get("/workshops/shared/abc%00def").status_code == 400


@pytest.fixture
def owner_and_resource(make_user):
    owner = make_user("contributor")
    return owner, make_resource(owner, title="A draft to change")


@pytest.mark.parametrize("value", ["\ud800", "a\udfffb", "\x00"])
def test_lone_surrogates_and_nul_in_json_are_refused_naming_the_field(client,
                                                                      owner_and_resource, value):
    owner, resource = owner_and_resource
    raw = json.dumps({"title": f"Changed {value}"})  # json.dumps writes them as \\u escapes
    response = client.patch(f"/api/v1/resources/{resource.id}", data=raw,
                            content_type="application/json", headers=bearer(owner))
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "title"
    nested = client.post("/api/v1/workshops", data=json.dumps({"title": "ok", value: 1}),
                         content_type="application/json", headers=bearer(owner))
    assert nested.status_code == 400
    db.session.expire_all()
    assert db.session.get(Resource, resource.id).title == "A draft to change"


@pytest.mark.parametrize("depth", [33, 1000, 100_000])
def test_deeply_nested_json_is_refused(client, owner_and_resource, depth):
    owner, resource = owner_and_resource
    body = '{"title": ' + "[" * depth + "]" * depth + "}"
    response = client.patch(f"/api/v1/resources/{resource.id}", data=body,
                            content_type="application/json", headers=bearer(owner))
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] in ("invalid", "bad_request")


PATCH_FIELDS = ("title", "alt_title", "kind", "objectives", "language", "summary", "tags", "org",
                "date", "visibility", "commune_code", "event", "source_url", "authors")
WRONG_VALUES = {"number": 7, "float": 1.5, "true": True, "object": {"a": 1},
                "list of numbers": [1, 2], "nested list": [["1"]], "huge": 10**400}


@pytest.mark.parametrize("field,kind", itertools.product(PATCH_FIELDS, WRONG_VALUES))
def test_patch_refuses_every_wrong_json_type_with_the_field(client, owner_and_resource, field,
                                                            kind):
    owner, resource = owner_and_resource
    value = WRONG_VALUES[kind]
    if field in ("objectives", "language") and kind == "list of numbers":
        value = [4, 5]
    response = client.patch(f"/api/v1/resources/{resource.id}", json={field: value},
                            headers=bearer(owner))
    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == "invalid" and error["field"] == field
    db.session.expire_all()
    assert db.session.get(Resource, resource.id).title == "A draft to change"


def test_workshop_fields_are_never_stored_as_their_python_spelling(client, make_user):
    trainer = make_user("contributor")
    response = client.post("/api/v1/workshops", json={"title": {"a": 1}},
                           headers=bearer(trainer))
    assert response.status_code == 400 and response.get_json()["error"]["field"] == "title"
    assert workshops.own_workshops(trainer) == []


def test_the_api_export_is_built_as_the_token_user_not_as_a_visitor(app, client, make_user):
    """The owner's export of their own pack keeps their drafts and members-only items; an
    anonymous one of the same (public) pack holds only what the public may see; a browser
    session never stands in for a token."""
    import zipfile

    trainer, editor = make_user("contributor"), make_user("editor")
    public = make_resource(trainer, publisher=editor, title="Public guide")
    members = make_resource(trainer, publisher=editor, title="Members guide",
                            visibility="members")
    draft = make_resource(trainer, title="My own draft")
    pack = workshops.create_workshop(trainer, {"title": "Training day", "visibility": "public"})
    for resource in (public, members, draft):
        workshops.add_item(trainer, pack, resource.id)

    def exported(**kwargs) -> set[str]:
        response = client.get(f"/api/v1/workshops/{pack.id}/export", **kwargs)
        assert response.status_code == 200
        manifest = json.loads(zipfile.ZipFile(io.BytesIO(response.data)).read("manifest.json"))
        return {item["title"] for item in manifest["items"]}

    assert exported(headers=bearer(trainer)) == {"Public guide", "Members guide", "My own draft"}
    assert exported() == {"Public guide"}
    sign_in(client, trainer.email)  # a session cookie alone does not make the API call his
    assert exported() == {"Public guide"}


def test_patterns_mean_what_the_document_says(client, make_user):
    """The document's patterns are JSON Schema's (ECMA-262): found anywhere unless anchored,
    `$` the very end, `\\s` without \\x1c-\\x1f. A title starting with \\x1c but holding a
    letter is not blank (it was refused: marshmallow matched at the start, with Python's \\s);
    a title of spaces alone is; a start time with a newline after it is refused."""
    headers = bearer(make_user("editor"))
    day = {"opens": "2030-01-01", "closes": "2030-01-31", "resource_id": 2_000_000}
    for title, status in (("\x1c³ draft", 404), ("\x1c\u3000 ", 400), (" \t", 400)):
        answer = client.post("/api/v1/consultations", headers=headers,
                             json={"title": title, **day})
        assert answer.status_code == status, (title, answer.get_json())
        if status == 400:
            assert answer.get_json()["error"]["field"] == "title"
    contributor = make_user("contributor")
    trainer = bearer(contributor)
    made = client.post("/api/v1/workshops", headers=trainer, json={"title": "Budget day"})
    assert made.status_code == 201
    items = f"/api/v1/workshops/{made.get_json()['id']}/items"
    resource = make_resource(contributor, publisher=make_user("editor"), title="Budget guide")
    for start, status in (("09:30\n", 400), ("\x1c09:30", 400), ("09:30", 201)):
        answer = client.post(items, headers=trainer,
                             json={"resource_id": resource.id, "start_time": start})
        assert answer.status_code == status, (start, answer.get_json())
        if status == 400:
            assert answer.get_json()["error"]["field"] == "start_time"

"""The JSON API skeleton: bearer tokens, errors in the contract's shape, the OpenAPI document."""
import pytest
from openapi_spec_validator import validate

from kb.services import accounts
from tests.factories import make_resource


def bearer(user):
    return {"Authorization": f"Bearer {accounts.create_token(user)}"}


def assert_error(response, status, code):
    assert response.status_code == status
    assert response.is_json, response.get_data(as_text=True)[:200]
    body = response.get_json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def test_openapi_document_validates_and_lists_the_endpoints(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    validate(document)
    for path in ("/me", "/users", "/vocabularies", "/resources/{resource_id}",
                 "/files/{file_id}", "/search", "/workshops/{workshop_id}/export"):
        assert path in document["paths"]


def test_every_api_route_and_method_is_in_the_openapi_document(app, client):
    """The document is generated from the routes' own declarations: nothing is left out."""
    documented = {(path, method.upper())
                  for path, operations in client.get("/api/v1/openapi.json").get_json()[
                      "paths"].items() for method in operations}
    routes = {(rule.rule.removeprefix("/api/v1").replace("<int:", "{").replace(">", "}"), method)
              for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes - {("/openapi.json", "GET")} == documented


def test_bearer_token_identifies_the_caller(client, make_user):
    user = make_user("editor", org="CARD")
    body = client.get("/api/v1/me", headers=bearer(user)).get_json()
    assert body["email"] == user.email and body["role"] == "editor" and body["org"] == "CARD"


@pytest.mark.parametrize("header", ["Bearer nonsense", "Basic dXNlcjpwYXNz", "Bearer "])
def test_bad_credentials_are_401(client, header):
    assert_error(client.get("/api/v1/vocabularies", headers={"Authorization": header}),
                 401, "unauthenticated")


def test_deactivated_users_token_stops_working(client, make_user):
    user, admin = make_user("member"), make_user("admin")
    headers = bearer(user)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    accounts.deactivate_user(admin, user)
    assert_error(client.get("/api/v1/me", headers=headers), 401, "unauthenticated")


def test_error_shapes(app, client, make_user):
    assert_error(client.get("/api/v1/no-such-thing"), 404, "not_found")
    assert_error(client.delete("/api/v1/openapi.json"), 405, "method_not_allowed")
    assert_error(client.get("/api/v1/me"), 401, "unauthenticated")
    assert_error(client.get("/api/v1/users", headers=bearer(make_user("editor"))), 403, "forbidden")
    bad = client.get("/api/v1/users?role=king", headers=bearer(make_user("admin")))
    assert_error(bad, 400, "invalid")
    assert bad.get_json()["error"]["field"] == "role"


def test_oversized_body_is_413_json(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = client.post("/api/v1/me", data=b"x" * 4096,
                           headers={"Content-Type": "application/octet-stream"})
    assert_error(response, 413, "too_large")


def test_unexpected_failure_is_a_json_500_without_details(app, client):
    def explode():
        raise RuntimeError("secret internal detail")

    app.add_url_rule("/api/v1/_explode", "explode", explode)
    response = client.get("/api/v1/_explode")
    assert_error(response, 500, "internal_error")
    assert "secret internal detail" not in response.get_data(as_text=True)


def test_resource_visibility_through_the_api(client, make_user):
    owner, editor, member = make_user("contributor"), make_user("editor"), make_user("member")
    draft = make_resource(owner, title="Draft guide")
    members_only = make_resource(owner, publisher=editor, title="Members guide",
                                 visibility="members")
    public = make_resource(owner, publisher=editor, title="Public guide", tags="budget, CIP",
                           org="COWS", commune_code="010201", summary="**Bold** <script>x</script>")

    body = client.get(f"/api/v1/resources/{public.id}").get_json()
    assert body["title"] == "Public guide" and body["status"] == "published"
    assert sorted(body["tags"]) == ["CIP", "budget"] and body["org"] == "COWS"
    assert body["place"]["commune"]["code"] == "010201"
    assert body["place"]["province"]["name_en"] == "Banteay Meanchey"
    assert "<strong>Bold</strong>" in body["summary"] and "<script>" not in body["summary"]

    hidden = client.get(f"/api/v1/resources/{members_only.id}")
    missing = client.get("/api/v1/resources/999999")
    assert_error(hidden, 404, "not_found")
    assert hidden.get_json() == missing.get_json()  # the same answer: nothing to detect
    assert client.get(f"/api/v1/resources/{members_only.id}",
                      headers=bearer(member)).status_code == 200
    assert_error(client.get(f"/api/v1/resources/{draft.id}", headers=bearer(member)),
                 404, "not_found")
    assert client.get(f"/api/v1/resources/{draft.id}", headers=bearer(owner)).status_code == 200
    assert client.get(f"/api/v1/resources/{draft.id}", headers=bearer(editor)).status_code == 200


def test_api_ignores_the_session_cookie(client, make_user):
    """The API is CSRF-exempt because only a bearer token can identify a caller there."""
    from tests.conftest import sign_in

    user = make_user("member")
    sign_in(client, user.email)
    assert_error(client.get("/api/v1/me"), 401, "unauthenticated")


def test_healthz(client, app):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "index": "ok", "files": "ok",
                                   "resources": 0, "index_lag": 0, "index_lag_seconds": 0.0}
    import shutil
    shutil.rmtree(app.config["SEARCH_INDEX_PATH"])
    broken = client.get("/healthz")
    assert broken.status_code == 503 and broken.get_json()["index"] == "missing"


def test_vocabularies_in_both_languages(client):
    body = client.get("/api/v1/vocabularies").get_json()
    assert [o["id"] for o in body["objectives"]] == ["1", "2", "3"]
    assert {k["id"] for k in body["kinds"]} == {
        "reform_document", "expert_presentation", "best_practice", "training_material",
        "meeting_record", "policy_feedback"}
    assert len(body["provinces"]) == 25 and all(p["name_km"] for p in body["provinces"])
    assert len(body["organisations"]) == 22

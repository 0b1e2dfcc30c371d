"""The consultation and calendar API, as fixed in API.md: paths, shapes, permissions, errors."""
from __future__ import annotations

import io

import docx
import pytest
from openapi_spec_validator import validate

from kb.services import accounts, consultations, responses, workflow
from tests.consultations.conftest import SHORT_DRAFT, days, open_consultation, publish_draft
from tests.test_api import assert_error


def bearer(user) -> dict:
    return {"Authorization": f"Bearer {accounts.create_token(user)}"}


def new_consultation(draft, **changes) -> dict:
    return {"resource_id": draft.id, "title": "Commune planning", "title_km": "ផែនការឃុំ",
            "questions": ["Is thirty days enough?"], "opens": days(-1), "closes": days(9),
            "visibility": "public", **changes}


def test_an_editor_opens_a_consultation_and_members_respond(client, people, draft):
    editor, card = bearer(people["editor"]), bearer(people["card"])
    created = client.post("/api/v1/consultations", json=new_consultation(draft), headers=editor)
    assert created.status_code == 201, created.get_json()
    consultation_id = created.get_json()["id"]
    assert created.get_json()["url"].endswith(f"/consultations/{consultation_id}")
    body = client.get(f"/api/v1/consultations/{consultation_id}").get_json()
    assert body["state"] == "open" and body["resource_id"] == draft.id
    assert [q["text"] for q in body["questions"]] == ["Is thirty days enough?"]
    article = next(s for s in body["sections"] if s["anchor"] == "article-2")
    assert article["heading"] == "Article 2" and "thirty days" in article["text"]
    made = client.post(f"/api/v1/consultations/{consultation_id}/responses", headers=card, json={
        "text": "សាមសិបថ្ងៃខ្លីពេក", "section_id": article["id"],
        "proposed_wording": "ហុកសិបថ្ងៃ", "on_behalf_of_org": True})
    assert made.status_code == 201, made.get_json()
    response_id = made.get_json()["id"]
    endorsed = client.post(f"/api/v1/consultations/{consultation_id}/responses/{response_id}"
                           "/endorse", headers=bearer(people["cows"]))
    assert endorsed.status_code == 200 and endorsed.get_json()["endorsements"] == 1
    again = client.post(f"/api/v1/consultations/{consultation_id}/responses/{response_id}"
                        "/endorse", headers=bearer(people["cows"]))
    assert again.status_code == 200 and again.get_json()["endorsements"] == 1
    (shown,) = client.get(f"/api/v1/consultations/{consultation_id}").get_json()["responses"]
    assert {k: shown[k] for k in ("id", "section_id", "question_id", "text", "proposed_wording",
                                  "org", "endorsements")} == {
        "id": response_id, "section_id": article["id"], "question_id": None,
        "text": "សាមសិបថ្ងៃខ្លីពេក", "proposed_wording": "ហុកសិបថ្ងៃ", "org": "CARD",
        "endorsements": 1}
    assert shown["created_at"].endswith("Z")
    listing = client.get("/api/v1/consultations").get_json()["consultations"]
    assert [c["id"] for c in listing] == [consultation_id]


@pytest.mark.parametrize("changes, field", [
    ({"resource_id": "1"}, "resource_id"), ({"resource_id": True}, "resource_id"),
    ({"resource_id": 2**40}, "resource_id"), ({"title": 5}, "title"),
    ({"title": "x" * 301}, "title"), ({"questions": "one"}, "questions"),
    ({"questions": [1, 2]}, "questions"), ({"opens": "yesterday"}, "opens"),
    ({"closes": None}, "closes"), ({"visibility": ["public"]}, "visibility"),
    ({"responses_shared": "yes"}, "responses_shared"), ({"responses_shared": 0},
                                                         "responses_shared"),
    ({"organisations": [None]},
                                                        "organisations"),
])
def test_bad_consultation_bodies_are_400_naming_the_field(client, people, draft, changes,
                                                         field):
    body = new_consultation(draft, **changes)
    response = client.post("/api/v1/consultations", json=body, headers=bearer(people["editor"]))
    assert_error(response, 400, "invalid")
    assert response.get_json()["error"]["field"] == field


def test_an_unknown_or_unpublished_draft(client, people, draft):
    editor = bearer(people["editor"])
    missing = client.post("/api/v1/consultations", headers=editor,
                          json=new_consultation(draft, resource_id=999999))
    assert_error(missing, 404, "not_found")
    unpublished = publish_draft(people["editor"], SHORT_DRAFT + "\nLater.")
    workflow.unpublish(people["editor"], unpublished)
    assert_error(client.post("/api/v1/consultations", headers=editor,
                             json=new_consultation(unpublished)), 409, "conflict")
    members = publish_draft(people["editor"], SHORT_DRAFT + "\nMembers.", visibility="members")
    assert_error(client.post("/api/v1/consultations", headers=editor,
                             json=new_consultation(members, visibility="public")), 409,
                 "conflict")


def test_permissions_and_errors(client, people, draft, consultation):
    member = bearer(people["card"])
    assert_error(client.post("/api/v1/consultations", json=new_consultation(draft),
                             headers=member), 403, "forbidden")
    assert_error(client.post("/api/v1/consultations", json=new_consultation(draft)), 401,
                 "unauthenticated")
    assert_error(client.post("/api/v1/consultations", data="{", headers={
        **bearer(people["editor"]), "Content-Type": "application/json"}), 400, "bad_request")
    path = f"/api/v1/consultations/{consultation.id}/responses"
    assert_error(client.post(path, json={"text": "hello"}), 401, "unauthenticated")
    for body, field in (({"text": 5}, "text"), ({}, "text"), ({"text": "x", "section_id": "1"},
                                                              "section_id"),
                        ({"text": "x", "on_behalf_of_org": "true"}, "on_behalf_of_org"),
                        ({"text": "x\x00", "section_id": 2**31}, "text")):
        refused = client.post(path, json=body, headers=member)
        assert_error(refused, 400, "invalid")
        assert refused.get_json()["error"]["field"] == field, body
    assert_error(client.post(path, json=["x"], headers=member), 400, "invalid")
    assert_error(client.get("/api/v1/consultations/99999"), 404, "not_found")
    assert_error(client.get("/api/v1/consultations/99999999999999999"), 404, "not_found")
    assert_error(client.post(f"{path}/99999/endorse", headers=member), 404, "not_found")
    closed = open_consultation(people["editor"], draft, opens=days(-9), closes=days(-1))
    assert_error(client.post(f"/api/v1/consultations/{closed.id}/responses",
                             json={"text": "late"}, headers=member), 409, "conflict")
    assert_error(client.get(f"/api/v1/consultations/{consultation.id}/submission",
                            headers=bearer(people["editor"])), 409, "conflict")
    assert_error(client.get(f"/api/v1/consultations/{closed.id}/submission", headers=member),
                 403, "forbidden")


def test_a_members_only_consultation_is_invisible_to_visitors(client, people):
    draft = publish_draft(people["editor"], SHORT_DRAFT + "\nMembers.", visibility="members")
    hidden = open_consultation(people["editor"], draft, visibility="members")
    assert_error(client.get(f"/api/v1/consultations/{hidden.id}"), 404, "not_found")
    assert client.get("/api/v1/consultations").get_json()["consultations"] == []
    assert client.get(f"/api/v1/consultations/{hidden.id}",
                      headers=bearer(people["card"])).status_code == 200
    events = client.get(f"/api/v1/calendar?from={days(0)}&days=30").get_json()["events"]
    assert all(e["uid"] != f"consultation-{hidden.id}-deadline" for e in events)
    member_events = client.get(f"/api/v1/calendar?from={days(0)}&days=30",
                               headers=bearer(people["card"])).get_json()["events"]
    assert any(e["uid"] == f"consultation-{hidden.id}-deadline" for e in member_events)
    for bad in ("days=0", "days=401", "days=x", "from=2025-02-30", "dayz=3"):
        assert_error(client.get(f"/api/v1/calendar?{bad}"), 400, "invalid")


def test_the_editor_exports_and_stores_the_submission(client, people, consultation):
    responses.respond(people["card"], consultation, {"text": "ត្រូវពន្យារពេល",
                                                     "on_behalf_of_org": True})
    consultations.update_consultation(people["editor"], consultation,
                                      {"opens": days(-9), "closes": days(-1)})
    editor = bearer(people["editor"])
    path = f"/api/v1/consultations/{consultation.id}/submission"
    document = client.get(f"{path}?format=docx&lang=km", headers=editor)
    assert document.status_code == 200 and "attachment" in document.headers[
        "Content-Disposition"]
    assert "ត្រូវពន្យារពេល" in "\n".join(p.text for p in
                                         docx.Document(io.BytesIO(document.data)).paragraphs)
    assert client.get(f"{path}?format=pdf", headers=editor).mimetype == "application/pdf"
    assert_error(client.get(f"{path}?format=odt", headers=editor), 400, "invalid")
    assert_error(client.get(f"{path}?formt=docx", headers=editor), 400, "invalid")
    assert_error(client.post(f"{path}?lang=fr", headers=editor), 400, "invalid")
    stored = client.post(f"{path}?lang=km", headers=editor)
    assert stored.status_code == 201
    resource = client.get(f"/api/v1/resources/{stored.get_json()['resource_id']}",
                          headers=editor).get_json()
    assert resource["kind"] == "policy_feedback" and resource["status"] == "submitted"
    assert_error(client.post(path, headers=editor), 409, "conflict")


def test_the_openapi_document_describes_the_consultation_api(client):
    document = client.get("/api/v1/openapi.json").get_json()
    validate(document)
    for path in ("/consultations", "/consultations/{consultation_id}",
                 "/consultations/{consultation_id}/responses",
                 "/consultations/{consultation_id}/responses/{response_id}/endorse",
                 "/consultations/{consultation_id}/submission", "/calendar"):
        assert path in document["paths"], path
    assert document["components"]["schemas"]["NewResponse"]["required"] == ["text"]

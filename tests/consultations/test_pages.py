"""Consultation pages, opened as each role that can reach them (in English and in Khmer), and
the forms behind them: responding, changing a response, endorsing, moderating, the editor's
forms. Refused input comes back with the page, the error and what was typed."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from kb.extensions import db
from kb.models import ConsultationResponse
from kb.services import consultations, responses
from tests.conftest import csrf_token, sign_in
from tests.consultations.conftest import SHORT_DRAFT, days, open_consultation, publish_draft

ROLES = ("anonymous", "member", "editor")


def client_for(app, people, who: str, language: str = "en"):
    client = app.test_client()
    client.set_cookie("kb_lang", language)
    if who != "anonymous":
        assert sign_in(client, people[who].email).status_code == 302
    return client


def as_role(people, role: str) -> str:
    return {"member": "card", "editor": "editor"}.get(role, role)


@pytest.fixture
def closed(consultation, people):
    responses.respond(people["card"], consultation, {
        "text": "ត្រូវពន្យារពេល", "section_id": consultation.sections[1].id,
        "on_behalf_of_org": True})
    consultations.update_consultation(people["editor"], consultation,
                                      {"opens": days(-9), "closes": days(-1)})
    return consultation


@pytest.mark.parametrize("language", ["en", "km"])
def test_consultation_pages_as_each_role(app, people, draft, closed, language):
    members_only = open_consultation(people["editor"], publish_draft(
        people["editor"], SHORT_DRAFT + "\nFor members.", title="Members' draft",
        visibility="members"),
        visibility="members", title="Members-only consultation")
    expected = {
        "/consultations/": {"anonymous": 200, "member": 200, "editor": 200},
        f"/consultations/{closed.id}": {"anonymous": 200, "member": 200, "editor": 200},
        f"/consultations/{members_only.id}": {"anonymous": 404, "member": 200, "editor": 200},
        "/consultations/new": {"anonymous": 302, "member": 403, "editor": 200},
        f"/consultations/new?resource_id={draft.id}": {"anonymous": 302, "member": 403,
                                                        "editor": 200},
        f"/consultations/{closed.id}/edit": {"anonymous": 302, "member": 403, "editor": 200},
        f"/consultations/{closed.id}/divide": {"anonymous": 302, "member": 403, "editor": 200},
        f"/consultations/{closed.id}/submission": {"anonymous": 302, "member": 403,
                                                   "editor": 200},
        f"/consultations/{closed.id}/submission?lang=km": {"anonymous": 302, "member": 403,
                                                           "editor": 200},
        f"/consultations/{closed.id}/submission.docx?lang={language}": {
            "anonymous": 302, "member": 403, "editor": 200},
        f"/consultations/{closed.id}/submission.pdf?lang={language}": {
            "anonymous": 302, "member": 403, "editor": 200},
        f"/consultations/{members_only.id}/submission": {"anonymous": 302, "member": 403,
                                                         "editor": 409},  # still open
        f"/consultations/{closed.id}/follow-up": {"anonymous": 302, "member": 403,
                                                  "editor": 200},
        f"/resources/{draft.id}": {"anonymous": 200, "member": 200, "editor": 200},
        "/consultations/99999999999999999999": {"anonymous": 404, "member": 404, "editor": 404},
        "/consultations/2147483648": {"anonymous": 404, "member": 404, "editor": 404},
    }
    for role in ROLES:
        client = client_for(app, people, as_role(people, role), language)
        for path, statuses in expected.items():
            response = client.get(path)
            assert response.status_code == statuses[role], (role, path, response.status_code)
    editor = client_for(app, people, "editor", language)
    page = editor.get(f"/consultations/{closed.id}").get_data(as_text=True)
    assert 'id="article-1"' in page and "ត្រូវពន្យារពេល" in page
    assert ("Compile the submission" if language == "en" else "ចងក្រងឯកសារដាក់ជូន") in page
    draft_page = editor.get(f"/resources/{draft.id}").get_data(as_text=True)
    assert f"/consultations/{closed.id}" in draft_page and "resource_id=" in draft_page


def test_a_member_responds_to_a_section_and_changes_it(app, people, consultation):
    member = client_for(app, people, "card")
    section = consultation.sections[2]
    token = csrf_token(member, f"/consultations/{consultation.id}")
    response = member.post(f"/consultations/{consultation.id}/responses", data={
        "csrf_token": token, "section_id": section.id, "text": "ថ្ងៃសាមសិបខ្លីពេក",
        "proposed_wording": "ហុកសិបថ្ងៃ", "on_behalf_of_org": "1"})
    assert response.status_code == 302
    saved = db.session.scalar(select(ConsultationResponse))
    assert response.headers["Location"].endswith(
        f"/consultations/{consultation.id}#response-{saved.id}")
    assert (saved.section_id, saved.organisation.short_name) == (section.id, "CARD")
    page = member.get(f"/consultations/{consultation.id}").get_data(as_text=True)
    assert f'id="response-{saved.id}"' in page and "ថ្ងៃសាមសិបខ្លីពេក" in page
    edit_path = f"/consultations/{consultation.id}/responses/{saved.id}/edit"
    assert member.get(edit_path).status_code == 200
    other = client_for(app, people, "cows")
    assert other.get(edit_path).status_code == 403
    assert member.post(edit_path, data={"csrf_token": csrf_token(member, edit_path),
                                        "text": "Changed"}).status_code == 302
    db.session.refresh(saved)
    assert saved.text == "Changed" and saved.organisation_id is None  # box unticked


@pytest.mark.parametrize("data, field, status", [
    ({"text": ""}, "text", 400), ({"text": "x", "section_id": "99999999"}, "section_id", 404),
    ({"text": "x", "section_id": "abc"}, "section_id", 400),
    ({"text": "x", "question_id": "99999999999999999999999"}, "question_id", 400),
    ({"text": "x y", "question_id": "0"}, "question_id", 400),
])
def test_a_refused_response_keeps_what_was_typed(app, people, consultation, data, field,
                                                 status):
    member = client_for(app, people, "card")
    token = csrf_token(member, f"/consultations/{consultation.id}")
    response = member.post(f"/consultations/{consultation.id}/responses",
                           data={"csrf_token": token, "proposed_wording": "my careful wording",
                                 **data})
    assert response.status_code == status
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page
    if "proposed_wording" not in data:
        assert "my careful wording" in page
    assert db.session.scalar(select(ConsultationResponse)) is None


def test_responses_are_refused_when_closed_or_not_invited(app, people, draft):
    invited = open_consultation(people["editor"], draft, participation="organisations",
                                organisations=["COWS"])
    member = client_for(app, people, "card")
    token = csrf_token(member, f"/consultations/{invited.id}")
    assert "open to the organisations invited only" in member.get(
        f"/consultations/{invited.id}").get_data(as_text=True)
    refused = member.post(f"/consultations/{invited.id}/responses",
                          data={"csrf_token": token, "text": "let us in"})
    assert refused.status_code == 403
    anonymous = app.test_client()
    assert anonymous.post(f"/consultations/{invited.id}/responses",
                          data={"text": "x"}).status_code == 400  # no CSRF token


def test_endorsing_and_moderating_through_the_page(app, people, consultation):
    proposal = responses.respond(people["cows"], consultation, {
        "text": "Post plans at the pagoda", "on_behalf_of_org": True})
    path = f"/consultations/{consultation.id}"
    member = client_for(app, people, "card")
    assert "My organisation supports this" in member.get(path).get_data(as_text=True)
    assert member.post(f"{path}/responses/{proposal.id}/endorse",
                       data={"csrf_token": csrf_token(member, path)}).status_code == 302
    assert [e.organisation.short_name for e in proposal.endorsements] == ["CARD"]
    page = member.get(path).get_data(as_text=True)
    assert "Supported by 1 organisation" in page and "2 organisations" in page
    assert member.post(f"{path}/responses/{proposal.id}/moderate", data={
        "csrf_token": csrf_token(member, path), "reason": "no"}).status_code == 403
    editor = client_for(app, people, "editor")
    assert editor.post(f"{path}/responses/{proposal.id}/moderate", data={
        "csrf_token": csrf_token(editor, path), "reason": "Names a private person"}
    ).status_code == 302
    assert "Post plans at the pagoda" not in member.get(path).get_data(as_text=True)
    author_view = client_for(app, people, "cows").get(path).get_data(as_text=True)
    assert "Post plans at the pagoda" in author_view and "Names a private person" in author_view
    assert member.post(f"{path}/responses/{proposal.id}/endorse",
                       data={"csrf_token": csrf_token(member, path)}).status_code == 404


def test_an_editor_opens_edits_and_divides_through_the_forms(app, people, draft):
    editor = client_for(app, people, "editor")
    token = csrf_token(editor, f"/consultations/new?resource_id={draft.id}")
    refused = editor.post("/consultations/new", data={
        "csrf_token": token, "resource_id": draft.id, "title": "Planning", "opens": days(0),
        "closes": days(-3), "questions": "Is it clear?"})
    assert refused.status_code == 400 and 'id="closes-error"' in refused.get_data(as_text=True)
    assert "Is it clear?" in refused.get_data(as_text=True)
    created = editor.post("/consultations/new", data={
        "csrf_token": token, "resource_id": draft.id, "title": "Planning", "opens": days(0),
        "closes": days(7), "questions": "Is it clear?\nWhat is missing?",
        "visibility": "public", "responses_shared": "1"})
    assert created.status_code == 302
    consultation_id = int(re.search(r"/consultations/(\d+)", created.headers["Location"])[1])
    consultation = consultations.get_consultation(people["editor"], consultation_id)
    assert [q.text for q in consultation.questions] == ["Is it clear?", "What is missing?"]
    divide = f"/consultations/{consultation_id}/divide"
    division = "## Article 1\nOne.\n\n## ជំពូក ២\nពីរ\n"
    assert editor.post(divide, data={"csrf_token": csrf_token(editor, divide),
                                     "division": division}).status_code == 302
    db.session.refresh(consultation)
    assert [(s.anchor, s.heading) for s in consultation.sections] == [
        ("article-1", "Article 1"), ("chapter-2", "ជំពូក ២")]
    edit = f"/consultations/{consultation_id}/edit"
    assert editor.post(edit, data={"csrf_token": csrf_token(editor, edit), "title": "Renamed",
                                   "opens": days(0), "closes": days(8),
                                   "visibility": "members", "participation": "organisations",
                                   "organisations": ["CARD", "COWS"],
                                   "questions": "Is it clear?"}).status_code == 302
    db.session.refresh(consultation)
    assert consultation.title == "Renamed" and not consultation.responses_shared
    assert [o.short_name for o in consultation.organisations] == ["CARD", "COWS"]


def test_the_editor_compiles_stores_and_records_the_follow_up(app, people, closed):
    editor = client_for(app, people, "editor")
    page = f"/consultations/{closed.id}/submission"
    assert editor.post(page, data={"csrf_token": csrf_token(editor, page),
                                   "cover_note": "Dear Minister"}).status_code == 302
    assert "Dear Minister" in editor.get(page).get_data(as_text=True)
    pdf = editor.get(f"{page}.pdf?lang=km")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert editor.get(f"{page}.odt").status_code == 400
    assert editor.get(f"{page}.pdf?lang=fr").status_code == 400
    stored = editor.post(f"{page}/store", data={"csrf_token": csrf_token(editor, page),
                                                "lang": "en"})
    assert stored.status_code == 302
    db.session.refresh(closed)
    assert stored.headers["Location"] == f"/resources/{closed.feedback_resource_id}"
    follow = f"/consultations/{closed.id}/follow-up"
    assert editor.post(follow, data={"csrf_token": csrf_token(editor, follow),
                                     "sent_to": "Ministry of Interior", "sent_on": days(0),
                                     "government_response_id": "abc"}).status_code == 400
    assert editor.post(follow, data={"csrf_token": csrf_token(editor, follow),
                                     "sent_to": "Ministry of Interior", "sent_on": days(0),
                                     "follow_up": "Acknowledged."}).status_code == 302
    detail = app.test_client().get(f"/consultations/{closed.id}").get_data(as_text=True)
    assert "Ministry of Interior" in detail and "Acknowledged." in detail
    assert "Submitted" in detail


def test_a_nul_character_in_a_response_is_refused_and_nothing_is_saved(app, people,
                                                                       consultation):
    member = client_for(app, people, "card")
    token = csrf_token(member, f"/consultations/{consultation.id}")
    refused = member.post(f"/consultations/{consultation.id}/responses",
                          data={"csrf_token": token, "text": "x\x00y"})
    assert refused.status_code == 400
    assert db.session.scalar(select(ConsultationResponse)) is None


@pytest.mark.parametrize("language", ["en", "km"])
def test_a_personal_response_is_named_to_members_only(app, people, consultation, language):
    """A public consultation shows visitors the organisations that responded, never the name of
    a person who responded personally; members see who it was."""
    loner = people["loner"]
    loner.name = "Sokha Chanthy"
    db.session.commit()
    responses.respond(loner, consultation, {"text": "Thirty days is too short for us.",
                                            "on_behalf_of_org": False})
    consultations.update_consultation(people["editor"], consultation,
                                      {"opens": days(-9), "closes": days(-1)})
    page = client_for(app, people, "anonymous", language).get(f"/consultations/{consultation.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Thirty days is too short for us." in text
    assert "Sokha Chanthy" not in text
    member = client_for(app, people, "card", language).get(f"/consultations/{consultation.id}")
    assert member.status_code == 200
    assert "Sokha Chanthy" in member.get_data(as_text=True)

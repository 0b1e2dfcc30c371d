"""Consultations through the services: every state change and who may make it."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from kb.extensions import db
from kb.models import ConsultationState, Notification, ResponseEndorsement
from kb.services import consultations, responses
from kb.services.errors import Conflict, NotFound, PermissionDenied, ValidationError
from tests.consultations.conftest import days, open_consultation


def test_an_editor_opens_a_consultation_divided_into_articles(consultation, people, draft):
    assert consultations.state(consultation) == ConsultationState.OPEN
    assert [s.anchor for s in consultation.sections] == ["intro", "article-1", "article-2",
                                                         "article-3"]
    assert consultation.sections[2].heading == "Article 2"
    assert "thirty days" in consultation.sections[2].text
    assert [q.text for q in consultation.questions] == ["Is thirty days enough?",
                                                        "Who should be consulted?"]
    assert consultation.language == "en" and consultation.resource_id == draft.id


@pytest.mark.parametrize("role", ["card", "card2"])
def test_only_editors_open_consultations(people, draft, role):
    with pytest.raises(PermissionDenied):
        open_consultation(people[role], draft)


@pytest.mark.parametrize("data, field", [
    ({"title": "  "}, "title"), ({"opens": "01/02/2025"}, "opens"),
    ({"closes": "2025-02-30"}, "closes"), ({"opens": days(5), "closes": days(1)}, "closes"),
    ({"visibility": "everyone"}, "visibility"), ({"participation": "organisations"},
                                                 "organisations"),
    ({"organisations": ["NOSUCH"]}, "org"), ({"questions": "x" * 10 + "\n" * 0 + "y"}, None),
])
def test_consultation_details_are_validated(people, draft, data, field):
    if field is None:  # a text of questions is one question per line: accepted
        assert open_consultation(people["editor"], draft, **data).questions
        return
    with pytest.raises(ValidationError) as raised:
        open_consultation(people["editor"], draft, **data)
    assert raised.value.field == field


def test_a_members_only_draft_cannot_get_a_public_consultation(people, app):
    from tests.consultations.conftest import SHORT_DRAFT, publish_draft

    draft = publish_draft(people["editor"], SHORT_DRAFT + "\nMembers only.", visibility="members")
    with pytest.raises(Conflict) as raised:
        open_consultation(people["editor"], draft, visibility="public")
    assert raised.value.field == "visibility"
    assert open_consultation(people["editor"], draft, visibility="members").id


def test_states_follow_the_dates_and_the_follow_up(people, draft):
    upcoming = open_consultation(people["editor"], draft, opens=days(2), closes=days(9))
    assert consultations.state(upcoming) == ConsultationState.UPCOMING
    closed = open_consultation(people["editor"], draft, opens=days(-9), closes=days(-1))
    assert consultations.state(closed) == ConsultationState.CLOSED
    with pytest.raises(ValidationError):  # not sent before the deadline
        consultations.record_follow_up(people["editor"], upcoming, {"sent_on": days(0)})
    consultations.record_follow_up(people["editor"], closed, {
        "sent_to": "Ministry of Interior, NCDD-S", "sent_on": days(0)})
    assert consultations.state(closed) == ConsultationState.SUBMITTED
    with pytest.raises(PermissionDenied):
        consultations.record_follow_up(people["card"], closed, {"sent_to": "x"})


def test_members_respond_by_section_question_and_whole(consultation, people):
    article = consultation.sections[1]
    question = consultation.questions[0]
    by_card = responses.respond(people["card"], consultation, {
        "text": "ត្រូវបន្ថែមរយៈពេល", "section_id": article.id,
        "proposed_wording": "ក្នុងរយៈពេលហុកសិបថ្ងៃ", "on_behalf_of_org": True})
    by_cows = responses.respond(people["cows"], consultation, {
        "text": "Thirty days is too short.", "question_id": str(question.id)})
    whole = responses.respond(people["loner"], consultation, {"text": "Good draft overall."})
    # A question about one section: an answer to the question (listed with it).
    both = responses.respond(people["pact"], consultation, {
        "text": "Sixty days here", "question_id": question.id, "section_id": article.id})
    threads = responses.threads(people["card"], consultation)
    assert both in threads.by_question[question.id] and both not in threads.by_section[article.id]
    assert (by_card.section_id, by_card.organisation.short_name, by_card.language) == \
        (article.id, "CARD", "km")
    assert (by_cows.question_id, by_cows.organisation_id, by_cows.language) == \
        (question.id, None, "en")
    assert whole.section_id is None and whole.question_id is None
    assert consultations.organisations_taking_part(consultation) == 1


@pytest.mark.parametrize("data, field, error", [
    ({"text": ""}, "text", ValidationError),
    ({"text": "x", "section_id": 999999}, "section_id", NotFound),
    ({"text": "x", "question_id": 999999}, "question_id", NotFound),
    ({"text": "x", "question_id": "abc"}, "question_id", ValidationError),
    ({"text": "x", "section_id": 2**40}, "section_id", ValidationError),
    ({"text": "x", "on_behalf_of_org": True}, "on_behalf_of_org", ValidationError),
])
def test_responses_are_validated(consultation, people, data, field, error):
    with pytest.raises(error) as raised:
        responses.respond(people["loner"], consultation, data)
    assert raised.value.field == field


def test_no_responses_outside_the_dates_or_the_invited_organisations(people, draft):
    upcoming = open_consultation(people["editor"], draft, opens=days(2), closes=days(9))
    closed = open_consultation(people["editor"], draft, opens=days(-9), closes=days(-1))
    for shut in (upcoming, closed):
        with pytest.raises(Conflict):
            responses.respond(people["card"], shut, {"text": "late"})
    invited = open_consultation(people["editor"], draft, participation="organisations",
                                organisations=["CARD", "COWS"])
    assert responses.respond(people["card"], invited, {"text": "we are invited"})
    for outsider in ("pact", "loner"):
        with pytest.raises(PermissionDenied):
            responses.respond(people[outsider], invited, {"text": "let us in"})


def test_authors_edit_until_the_deadline_only(consultation, people):
    mine = responses.respond(people["card"], consultation, {"text": "first"})
    responses.update_response(people["card"], mine, {"text": "second thoughts"})
    assert mine.text == "second thoughts"
    with pytest.raises(PermissionDenied):
        responses.update_response(people["cows"], mine, {"text": "not yours"})
    consultations.update_consultation(people["editor"], consultation,
                                      {"opens": days(-5), "closes": days(-1)})
    with pytest.raises(Conflict):
        responses.update_response(people["card"], mine, {"text": "too late"})


def test_editors_hide_with_a_reason_and_never_delete(consultation, people):
    rude = responses.respond(people["cows"], consultation, {"text": "Something offensive"})
    with pytest.raises(PermissionDenied):
        responses.hide_response(people["card"], rude, "I dislike it")
    with pytest.raises(ValidationError):
        responses.hide_response(people["editor"], rude, "  ")
    responses.hide_response(people["editor"], rude, "Personal attack")
    assert rude not in responses.visible_responses(people["card"], consultation)
    assert rude not in responses.visible_responses(None, consultation)
    assert rude in responses.visible_responses(people["cows"], consultation)  # its author
    assert rude in responses.visible_responses(people["editor"], consultation)
    with pytest.raises(NotFound):
        responses.get_response(people["card"], consultation, rude.id)
    with pytest.raises(Conflict):
        responses.update_response(people["cows"], rude, {"text": "edited"})
    responses.unhide_response(people["editor"], rude)
    assert rude in responses.visible_responses(people["card"], consultation)


def test_unshared_responses_stay_private_until_the_deadline(people, draft):
    private = open_consultation(people["editor"], draft, responses_shared=False)
    mine = responses.respond(people["card"], private, {"text": "ours"})
    assert responses.visible_responses(people["cows"], private) == []
    assert responses.visible_responses(people["card"], private) == [mine]
    assert responses.visible_responses(people["editor"], private) == [mine]
    consultations.update_consultation(people["editor"], private,
                                      {"opens": days(-5), "closes": days(-1)})
    assert responses.visible_responses(people["cows"], private) == [mine]


def test_endorsements_are_one_per_organisation(consultation, people):
    proposal = responses.respond(people["cows"], consultation, {
        "text": "Publish plans on the commune notice board", "on_behalf_of_org": True})
    first = responses.endorse(people["card"], proposal)
    again = responses.endorse(people["card2"], proposal)  # the same organisation
    assert first.id == again.id
    responses.endorse(people["pact"], proposal)
    assert db.session.scalar(select(func.count(ResponseEndorsement.id))) == 2
    assert consultations.organisations_taking_part(consultation) == 3
    with pytest.raises(Conflict):
        responses.endorse(people["cows"], proposal)  # its own organisation's response
    with pytest.raises(PermissionDenied):
        responses.endorse(people["loner"], proposal)  # no organisation
    responses.withdraw_endorsement(people["pact"], proposal)
    assert db.session.scalar(select(func.count(ResponseEndorsement.id))) == 1


def test_members_are_told_when_a_consultation_opens(people, draft):
    before = db.session.scalar(select(func.count(Notification.id)))
    open_consultation(people["editor"], draft, participation="organisations",
                      organisations=["CARD"])
    told = db.session.scalars(select(Notification).where(Notification.id > (before or 0)))
    assert sorted(n.user_id for n in told) == sorted([people["card"].id, people["card2"].id])


def test_two_members_of_one_organisation_endorsing_at_once_make_one_endorsement(
        consultation, people, monkeypatch):
    """The second insert hits the unique constraint (as when both requests checked before
    either wrote): it is answered with the endorsement that won, not an error."""
    proposal = responses.respond(people["cows"], consultation, {"text": "Publish the plans",
                                                               "on_behalf_of_org": True})
    first = responses.endorse(people["card"], proposal)
    looked = []
    real = responses._endorsement

    def not_yet_seen(response, organisation_id):  # the check ran before the other's commit
        looked.append(organisation_id)
        return None if len(looked) == 1 else real(response, organisation_id)

    monkeypatch.setattr(responses, "_endorsement", not_yet_seen)
    second = responses.endorse(people["card2"], proposal)
    assert second.id == first.id and len(looked) == 2
    assert db.session.scalar(select(func.count(ResponseEndorsement.id))) == 1


def test_deleting_the_draft_keeps_the_consultation_and_its_responses(consultation, people):
    from kb.services import resources as resource_service

    said = responses.respond(people["card"], consultation, {
        "text": "Keep this", "section_id": consultation.sections[1].id})
    resource_service.delete_resource(people["editor"], consultation.resource)
    db.session.expire_all()
    kept = consultations.get_consultation(people["card"], consultation.id)
    assert kept.resource_id is None and len(kept.sections) == 4
    assert [r.text for r in responses.visible_responses(people["card"], kept)] == [said.text]
